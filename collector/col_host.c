/* host: names and identifiers of the machine and its kernel. */
#include "collector.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "err.h"
#include "caps.h"

/* Add the first line of a file as a string, or an unknown. */
static int col_host_line(const struct col_ctx *ctx, cJSON *obj, const char *key, const char *rel)
{
    char line[1024];
    int e = col_read_line(ctx, rel, line, sizeof(line));

    if (e < 0)
        return col_add_unknown_err(obj, key, e, rel);
    return col_add_str(obj, key, line);
}

/* Value of KEY in an os-release buffer, unquoted; "" when absent. */
static void col_os_release_value(const char *text, const char *key, char *out, size_t n)
{
    size_t klen = strlen(key);
    const char *p = text;

    out[0] = '\0';
    while (*p != '\0') {
        size_t len = strcspn(p, "\n");

        if (len > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
            size_t vlen = len - klen - 1;

            if (vlen >= n)
                vlen = n - 1;
            memcpy(out, p + klen + 1, vlen);
            out[vlen] = '\0';
            col_unquote(out);
        }
        p += len;
        if (*p == '\n')
            p++;
    }
}

static int col_host_os(const struct col_ctx *ctx, cJSON *area)
{
    static const char *const keys[][2] = {
        {"ID", "id"}, {"VERSION_ID", "version_id"}, {"PRETTY_NAME", "pretty_name"}};
    struct da_buf b;
    cJSON *os = NULL;
    char val[256];
    size_t i;
    int e, r;

    da_buf_init(&b, DA_MAX_SMALL_SYSFILE);
    e = col_read_file(ctx, "/etc/os-release", &b);
    if (e == DA_ERR_NOT_FOUND) {
        da_buf_reset(&b);
        e = col_read_file(ctx, "/usr/lib/os-release", &b);
    }
    if (e < 0) {
        r = col_add_unknown_err(area, "os", e,
                                e == DA_ERR_NOT_FOUND ? "os-release" : da_rootfs_err_path());
        goto out;
    }
    os = cJSON_CreateObject();
    if (os == NULL) {
        r = DA_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        col_os_release_value(da_buf_str(&b), keys[i][0], val, sizeof(val));
        if (val[0] != '\0')
            COL_TRY(col_add_str(os, keys[i][1], val));
        else
            COL_TRY(col_add_unknown(os, keys[i][1], COL_R_NOT_PRESENT, keys[i][0]));
    }
    r = col_add_item(area, "os", os);
    os = NULL; /* transferred */
out:
    cJSON_Delete(os);
    da_buf_free(&b);
    return r;
}

static int col_host_uptime(const struct col_ctx *ctx, cJSON *area)
{
    char line[128];
    char *dot;
    uint64_t secs;
    int e = col_read_line(ctx, "/proc/uptime", line, sizeof(line));

    if (e < 0)
        return col_add_unknown_err(area, "uptime_s", e, "/proc/uptime");
    line[strcspn(line, " ")] = '\0';
    dot = strchr(line, '.');
    if (dot != NULL)
        *dot = '\0';
    if (col_parse_u64(line, &secs) != 0)
        return col_add_unknown(area, "uptime_s", COL_R_PARSE, "/proc/uptime");
    return col_add_num(area, "uptime_s", (double)secs);
}

static int col_host_arch(const struct col_ctx *ctx, cJSON *area)
{
    char line[64];
    struct utsname u;
    int e = col_read_line(ctx, "/proc/sys/kernel/arch", line, sizeof(line));

    if (e == 0)
        return col_add_str(area, "arch", line);
    if (ctx->live && uname(&u) == 0)
        return col_add_str(area, "arch", u.machine);
    return col_add_unknown_err(area, "arch", e, "/proc/sys/kernel/arch");
}

static int col_host_collect(const struct col_ctx *ctx, cJSON *area)
{
    cJSON *kernel = NULL;
    char line[256];
    int r;

    if (col_read_line(ctx, "/proc/sys/kernel/hostname", line, sizeof(line)) == 0)
        COL_TRY(col_add_str(area, "hostname", line));
    else
        COL_TRY(col_host_line(ctx, area, "hostname", "/etc/hostname"));
    COL_TRY(col_host_line(ctx, area, "machine_id", "/etc/machine-id"));
    COL_TRY(col_host_os(ctx, area));
    kernel = cJSON_CreateObject();
    COL_TRY(col_add_item(area, "kernel", kernel));
    COL_TRY(col_host_line(ctx, kernel, "release", "/proc/sys/kernel/osrelease"));
    COL_TRY(col_host_line(ctx, kernel, "version", "/proc/sys/kernel/version"));
    COL_TRY(col_host_arch(ctx, area));
    COL_TRY(col_host_line(ctx, area, "boot_id", "/proc/sys/kernel/random/boot_id"));
    COL_TRY(col_host_uptime(ctx, area));
out:
    return r;
}

const struct da_collector col_host = {"host", col_host_collect};

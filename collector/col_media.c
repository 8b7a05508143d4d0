/* media: whether USB mass storage can be used. The usb-storage module kept
 * from loading through modprobe.d(5) ("blacklist" stops loading by device
 * alias, an "install" command of false or true stops every load) or the
 * kernel command line, whether it is built into the kernel (then neither
 * helps) or already loaded, whether the kernel can load modules at all, and
 * USBGuard's daemon. */
#include "collector.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "caps.h"
#include "err.h"
#include "posture.h"

static const char col_usb_module[] = "usb-storage";

static int col_modprobe_dirs(const struct col_ctx *ctx, struct col_modprobe *m, char *detail,
                             size_t n)
{
    /* kmod's order: a file in an earlier directory hides one of the same name */
    static const char *const dirs[] = {"/etc/modprobe.d",           "/run/modprobe.d",
                                       "/usr/local/lib/modprobe.d", "/lib/modprobe.d",
                                       "/usr/lib/modprobe.d",       NULL};
    struct col_names files = {0};
    struct da_buf b;
    const char *bad = NULL;
    int e;

    da_buf_init(&b, DA_MAX_CONFIG);
    e = col_dropins(ctx, dirs, ".conf", &files, &bad);
    if (e < 0)
        col_err_detail(e, bad != NULL ? bad : "modprobe.d", detail, n);
    for (size_t i = 0; e == 0 && i < files.n; i++) {
        da_buf_reset(&b);
        e = col_read_file(ctx, files.v[i], &b);
        if (e == 0)
            e = col_modprobe_parse(da_buf_str(&b), da_buf_len(&b), col_usb_module, m);
        if (e == DA_ERR_COLLECT_PARSE)
            e = DA_ERR_COLLECT_PARSE;
        if (e < 0)
            col_err_detail(e, files.v[i], detail, n);
    }
    col_names_free(&files);
    da_buf_free(&b);
    return e;
}

/* Built in: modules.builtin of the running kernel lists it. */
static int col_usb_builtin(const struct col_ctx *ctx, cJSON *o)
{
    char release[256], rel[512];
    struct da_buf b;
    const char *p;
    int r = 0, e, found = 0;

    da_buf_init(&b, DA_MAX_SYSFILE);
    e = col_read_line(ctx, "/proc/sys/kernel/osrelease", release, sizeof(release));
    if (e < 0) {
        r = e == DA_ERR_NOT_FOUND && !ctx->live
                ? col_add_unknown(o, "builtin", COL_R_NOT_LIVE, "no running kernel below the root")
                : col_add_unknown_err(o, "builtin", e, "/proc/sys/kernel/osrelease");
        goto out;
    }
    if (strchr(release, '/') != NULL || strcmp(release, "..") == 0) {
        r = col_add_unknown(o, "builtin", COL_R_PARSE, "kernel release");
        goto out;
    }
    snprintf(rel, sizeof(rel), "/lib/modules/%s/modules.builtin", release);
    e = col_read_file(ctx, rel, &b);
    if (e < 0) {
        r = col_add_unknown_err(o, "builtin", e, rel);
        goto out;
    }
    for (p = da_buf_str(&b); *p != '\0' && !found;) {
        size_t len = strcspn(p, "\n");

        found = len >= 15 && memcmp(p + len - 15, "/usb-storage.ko", 15) == 0;
        p += len + (p[len] == '\n');
    }
    r = col_add_bool(o, "builtin", found);
out:
    da_buf_free(&b);
    return r;
}

/* Can the running kernel load a module at all? Not without module support
 * (no /proc/modules) nor after kernel.modules_disabled = 1. */
static int col_module_loading(const struct col_ctx *ctx, cJSON *o)
{
    char line[32];
    struct stat st;
    int e;

    e = col_stat(ctx, "/proc/modules", &st);
    if (e == DA_ERR_NOT_FOUND && !ctx->live &&
        col_stat(ctx, "/proc/sys/kernel", &st) == DA_ERR_NOT_FOUND)
        return col_add_unknown(o, "module_loading", COL_R_NOT_LIVE, "no /proc below the root");
    if (e == DA_ERR_NOT_FOUND)
        return col_add_bool(o, "module_loading", 0);
    if (e < 0)
        return col_add_unknown_err(o, "module_loading", e, "/proc/modules");
    e = col_read_line(ctx, "/proc/sys/kernel/modules_disabled", line, sizeof(line));
    if (e == 0)
        return col_add_bool(o, "module_loading", strcmp(line, "1") != 0);
    if (e == DA_ERR_NOT_FOUND)
        return col_add_bool(o, "module_loading", 1);
    return col_add_unknown_err(o, "module_loading", e, "/proc/sys/kernel/modules_disabled");
}

static int col_usb_storage(const struct col_ctx *ctx, cJSON *area)
{
    struct col_modprobe m = {0};
    char detail[512] = "", cmdline[4096];
    struct stat st;
    cJSON *o = NULL;
    int r, e;

    e = col_modprobe_dirs(ctx, &m, detail, sizeof(detail));
    if (e < 0) {
        r = col_add_unknown(area, "usb_storage", col_err_reason(e), detail);
        goto out;
    }
    o = cJSON_CreateObject();
    COL_TRY(col_add_item(area, "usb_storage", o));
    /* kmod also takes modprobe.blacklist= from the kernel command line */
    e = col_read_line(ctx, "/proc/cmdline", cmdline, sizeof(cmdline));
    if (e == 0 && col_cmdline_blacklists(cmdline, col_usb_module))
        m.blacklisted = 1;
    if (m.blacklisted || e == 0 || (e == DA_ERR_NOT_FOUND && !ctx->live))
        COL_TRY(col_add_bool(o, "blacklisted", m.blacklisted));
    else
        COL_TRY(col_add_unknown_err(o, "blacklisted", e, "/proc/cmdline"));
    COL_TRY(col_add_bool(o, "install_disabled", m.install_disabled));
    COL_TRY(col_usb_builtin(ctx, o));
    COL_TRY(col_module_loading(ctx, o));
    e = col_stat(ctx, "/sys/module", &st);
    if (e == DA_ERR_NOT_FOUND && !ctx->live)
        COL_TRY(col_add_unknown(o, "loaded", COL_R_NOT_LIVE, "no /sys/module below the root"));
    else if (e < 0)
        COL_TRY(col_add_unknown_err(o, "loaded", e, "/sys/module"));
    else {
        e = col_stat(ctx, "/sys/module/usb_storage", &st);
        if (e == 0 || e == DA_ERR_NOT_FOUND)
            COL_TRY(col_add_bool(o, "loaded", e == 0));
        else
            COL_TRY(col_add_unknown_err(o, "loaded", e, "/sys/module/usb_storage"));
    }
out:
    return r;
}

static int col_usbguard(const struct col_ctx *ctx, cJSON *area)
{
    static const char *const bins[] = {"/usr/sbin/usbguard-daemon", "/sbin/usbguard-daemon", NULL};
    static const char conf[] = "/etc/usbguard/usbguard-daemon.conf";
    struct da_buf b;
    char target[64] = "block"; /* the daemon's default ImplicitPolicyTarget */
    cJSON *o = NULL;
    int r = 0, e;

    da_buf_init(&b, DA_MAX_CONFIG);
    e = col_any_exists(ctx, bins);
    if (e < 0) {
        r = col_add_unknown_err(area, "usbguard", e, bins[0]);
        goto out;
    }
    o = cJSON_CreateObject();
    COL_TRY(col_add_item(area, "usbguard", o));
    COL_TRY(col_add_bool(o, "installed", e));
    if (e == 0)
        goto out;
    e = col_unit_enabled(ctx, "usbguard.service");
    if (e < 0)
        COL_TRY(col_add_unknown_err(o, "enabled", e, "/etc/systemd/system"));
    else
        COL_TRY(col_add_bool(o, "enabled", e));
    e = col_process_running(ctx, "usbguard-daemon");
    if (e == DA_ERR_COLLECT_NOT_LIVE)
        COL_TRY(col_add_unknown(o, "running", COL_R_NOT_LIVE, "no processes below the root"));
    else if (e < 0)
        COL_TRY(col_add_unknown_err(o, "running", e, "/proc"));
    else
        COL_TRY(col_add_bool(o, "running", e));
    e = col_read_file(ctx, conf, &b);
    if (e == 0)
        e = col_ini_value(da_buf_str(&b), da_buf_len(&b), NULL, "ImplicitPolicyTarget", target,
                          sizeof(target));
    if (e == DA_ERR_COLLECT_PARSE)
        COL_TRY(col_add_unknown(o, "implicit_policy", COL_R_PARSE, conf));
    else if (e < 0 && e != DA_ERR_NOT_FOUND)
        COL_TRY(col_add_unknown_err(o, "implicit_policy", e, conf));
    else
        COL_TRY(col_add_str(o, "implicit_policy", target));
out:
    da_buf_free(&b);
    return r;
}

static int col_media_collect(const struct col_ctx *ctx, cJSON *area)
{
    int r;

    COL_TRY(col_usb_storage(ctx, area));
    COL_TRY(col_usbguard(ctx, area));
out:
    return r;
}

const struct da_collector col_media = {"media", col_media_collect};

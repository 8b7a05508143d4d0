/* access: the SSH server's effective global PasswordAuthentication and
 * PermitRootLogin (first value wins, Include followed, Match blocks not
 * global), and the accounts with uid 0. */
#include "collector.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "caps.h"

struct col_sshd {
    char password_authentication[32];
    char permit_root_login[32];
    char err[512];
    int files;
};

static int col_sshd_file(const struct col_ctx *ctx, const char *rel, struct col_sshd *s, int depth);

/* Include PATTERN...: relative patterns are below /etc/ssh; sorted glob
 * with GLOB_ERR semantics, as sshd reads them: a directory of the pattern
 * that cannot be read makes the result unknown, never "no files". */
static int col_sshd_include(const struct col_ctx *ctx, const char *args, struct col_sshd *s,
                            int depth)
{
    char pat[1024];
    size_t i;
    int r = 0;

    while (r == 0 && *args != '\0') {
        size_t len = strcspn(args, " \t");
        struct da_rootfs_glob g;

        if (len == 0) {
            args++;
            continue;
        }
        if (args[0] == '/')
            snprintf(pat, sizeof(pat), "%.*s", (int)len, args);
        else
            snprintf(pat, sizeof(pat), "/etc/ssh/%.*s", (int)len, args);
        args += len;
        r = col_glob(ctx, pat, &g);
        if (r < 0) {
            col_err_detail(r, da_rootfs_err_path()[0] != '\0' ? da_rootfs_err_path() : pat, s->err,
                           sizeof(s->err));
            return r;
        }
        for (i = 0; r == 0 && i < g.n; i++)
            r = col_sshd_file(ctx, g.paths[i], s, depth + 1);
        da_rootfs_glob_free(&g);
    }
    return r;
}

static void col_sshd_set(char *slot, size_t n, const char *v)
{
    if (slot[0] == '\0') /* sshd keeps the first value it reads */
        snprintf(slot, n, "%s", v);
}

static int col_sshd_file(const struct col_ctx *ctx, const char *rel, struct col_sshd *s, int depth)
{
    struct da_buf b;
    const char *p;
    int r = 0, e;

    if (depth > DA_MAX_SSHD_INCLUDE) {
        snprintf(s->err, sizeof(s->err), "Include nesting deeper than %d", DA_MAX_SSHD_INCLUDE);
        return DA_ERR_TOO_LARGE;
    }
    da_buf_init(&b, DA_MAX_CONFIG);
    e = col_read_file(ctx, rel, &b);
    if (e < 0) {
        col_err_detail(e, rel, s->err, sizeof(s->err));
        da_buf_free(&b);
        return e;
    }
    s->files++;
    for (p = da_buf_str(&b); r == 0 && *p != '\0';) {
        size_t len = strcspn(p, "\n"), kl;
        char line[1024], *k, *v;

        snprintf(line, sizeof(line), "%.*s", (int)len, p);
        p += len + (p[len] == '\n');
        k = line + strspn(line, " \t");
        if (*k == '#' || *k == '\0')
            continue;
        kl = strcspn(k, " \t=");
        v = k + kl;
        v += strspn(v, " \t=");
        k[kl] = '\0';
        v[strcspn(v, "\r#")] = '\0';
        for (size_t n = strlen(v); n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'); n--)
            v[n - 1] = '\0';
        col_unquote(v);
        if (strcasecmp(k, "Match") == 0)
            break; /* the rest of this file is conditional */
        if (strcasecmp(k, "Include") == 0)
            r = col_sshd_include(ctx, v, s, depth);
        else if (strcasecmp(k, "PasswordAuthentication") == 0)
            col_sshd_set(s->password_authentication, sizeof(s->password_authentication), v);
        else if (strcasecmp(k, "PermitRootLogin") == 0)
            col_sshd_set(s->permit_root_login, sizeof(s->permit_root_login), v);
    }
    da_buf_free(&b);
    return r;
}

static int col_sshd(const struct col_ctx *ctx, cJSON *area)
{
    struct col_sshd s;
    cJSON *o = NULL;
    int r, e;

    memset(&s, 0, sizeof(s));
    e = col_sshd_file(ctx, "/etc/ssh/sshd_config", &s, 0);
    if (e == DA_ERR_NOT_FOUND && s.files == 0) {
        o = cJSON_CreateObject();
        COL_TRY(col_add_item(area, "sshd", o));
        COL_TRY(col_add_bool(o, "configured", 0));
        goto out;
    }
    if (e < 0) {
        r = col_add_unknown(area, "sshd", col_err_reason(e), s.err);
        goto out;
    }
    o = cJSON_CreateObject();
    COL_TRY(col_add_item(area, "sshd", o));
    COL_TRY(col_add_bool(o, "configured", 1));
    /* OpenSSH's compiled-in defaults apply when nothing sets them */
    COL_TRY(col_add_str(o, "password_authentication",
                        s.password_authentication[0] != '\0' ? s.password_authentication : "yes"));
    COL_TRY(
        col_add_str(o, "permit_root_login",
                    s.permit_root_login[0] != '\0' ? s.permit_root_login : "prohibit-password"));
out:
    return r;
}

static int col_uid0(const struct col_ctx *ctx, cJSON *area)
{
    struct da_buf b;
    cJSON *arr = NULL;
    const char *p;
    int r = 0, e;

    da_buf_init(&b, DA_MAX_SYSFILE);
    e = col_read_file(ctx, "/etc/passwd", &b);
    if (e < 0) {
        r = col_add_unknown_err(area, "uid0", e, "/etc/passwd");
        goto out;
    }
    arr = cJSON_CreateArray();
    COL_TRY(col_add_item(area, "uid0", arr));
    for (p = da_buf_str(&b); *p != '\0';) {
        size_t len = strcspn(p, "\n");
        char line[1024], *pw, *uid, *end;

        snprintf(line, sizeof(line), "%.*s", (int)len, p);
        p += len + (p[len] == '\n');
        /* name:password:uid:... */
        pw = strchr(line, ':');
        uid = pw != NULL ? strchr(pw + 1, ':') : NULL;
        end = uid != NULL ? strchr(uid + 1, ':') : NULL;
        if (end == NULL || pw == line)
            continue;
        *pw = '\0';
        *end = '\0';
        if (strcmp(uid + 1, "0") == 0)
            COL_TRY(col_push_str(arr, line));
    }
out:
    da_buf_free(&b);
    return r;
}

static int col_access_collect(const struct col_ctx *ctx, cJSON *area)
{
    int r;

    COL_TRY(col_sshd(ctx, area));
    COL_TRY(col_uid0(ctx, area));
out:
    return r;
}

const struct da_collector col_access = {"access", col_access_collect};

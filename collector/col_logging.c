/* logging: whether the machine keeps an audit trail. The audit daemon
 * (installed, running, rules it loads), whether journald keeps its journal
 * across reboots (journald.conf(5) with its drop-ins, and /var/log/journal
 * for Storage=auto), and whether logs are sent to another host (rsyslog,
 * syslog-ng, systemd-journal-upload). */
#include "collector.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "caps.h"
#include "err.h"
#include "posture.h"

/* Read rel and hand it to fn; 0 or a DA_ERR_* with detail set. */
typedef int (*col_text_fn)(const char *text, size_t len, void *arg);

static int col_with_file(const struct col_ctx *ctx, const char *rel, col_text_fn fn, void *arg,
                         char *detail, size_t n)
{
    struct da_buf b;
    int e;

    da_buf_init(&b, DA_MAX_SECURITY_CONF);
    e = col_read_file(ctx, rel, &b);
    if (e == 0) {
        e = fn(da_buf_str(&b), da_buf_len(&b), arg);
    }
    if (e < 0 && detail[0] == '\0')
        col_err_detail(e, rel, detail, n);
    da_buf_free(&b);
    return e;
}

/* ---- auditd ---- */

static int col_audit_count(const char *text, size_t len, void *arg)
{
    return col_audit_rules_parse(text, len, arg);
}

static int col_auditd(const struct col_ctx *ctx, cJSON *area)
{
    static const char *const bins[] = {"/sbin/auditd", "/usr/sbin/auditd", NULL};
    struct col_audit_rules rules;
    char detail[512] = "";
    cJSON *o = NULL;
    int r, e;

    e = col_any_exists(ctx, bins);
    if (e < 0) {
        r = col_add_unknown_err(area, "auditd", e, "/usr/sbin/auditd");
        goto out;
    }
    o = cJSON_CreateObject();
    COL_TRY(col_add_item(area, "auditd", o));
    COL_TRY(col_add_bool(o, "installed", e));
    if (e == 0)
        goto out;
    e = col_process_running(ctx, "auditd");
    if (e == DA_ERR_COLLECT_NOT_LIVE)
        COL_TRY(col_add_unknown(o, "running", COL_R_NOT_LIVE, "no processes below the root"));
    else if (e < 0)
        COL_TRY(col_add_unknown_err(o, "running", e, "/proc"));
    else
        COL_TRY(col_add_bool(o, "running", e));
    /* what auditctl -R (augenrules --load) gives the kernel at start */
    e = col_with_file(ctx, "/etc/audit/audit.rules", col_audit_count, &rules, detail,
                      sizeof(detail));
    if (e == DA_ERR_NOT_FOUND) {
        COL_TRY(col_add_num(o, "configured_rules", 0));
    } else if (e < 0) {
        COL_TRY(col_add_unknown(o, "configured_rules", col_err_reason(e), detail));
    } else {
        COL_TRY(col_add_num(o, "configured_rules", rules.rules));
        if (rules.enabled >= 0)
            COL_TRY(col_add_num(o, "enabled_flag", rules.enabled));
    }
out:
    return r;
}

/* ---- journald ---- */

struct col_storage {
    char value[64];
};

static int col_storage_valid(const char *v)
{
    return strcmp(v, "persistent") == 0 || strcmp(v, "volatile") == 0 || strcmp(v, "auto") == 0 ||
           strcmp(v, "none") == 0;
}

/* A value journald does not accept is ignored, the earlier one stays. */
static int col_storage_file(const char *text, size_t len, void *arg)
{
    struct col_storage *s = arg;
    char v[64];
    int e = col_ini_value(text, len, "Journal", "Storage", v, sizeof(v));

    if (e == 1 && col_storage_valid(v))
        snprintf(s->value, sizeof(s->value), "%s", v);
    return e < 0 ? e : 0;
}

static int col_journald(const struct col_ctx *ctx, cJSON *area)
{
    static const char *const bins[] = {"/lib/systemd/systemd-journald",
                                       "/usr/lib/systemd/systemd-journald", NULL};
    static const char *const mains[] = {"/etc/systemd/journald.conf", "/run/systemd/journald.conf",
                                        "/usr/local/lib/systemd/journald.conf",
                                        "/usr/lib/systemd/journald.conf", NULL};
    static const char *const dirs[] = {
        "/etc/systemd/journald.conf.d", "/run/systemd/journald.conf.d",
        "/usr/local/lib/systemd/journald.conf.d", "/usr/lib/systemd/journald.conf.d", NULL};
    struct col_storage s = {"auto"}; /* the compiled-in default */
    struct col_names drop = {0};
    char detail[512] = "";
    const char *bad = NULL;
    struct stat st;
    cJSON *o = NULL;
    int r = 0, e;
    size_t i;

    e = col_any_exists(ctx, bins);
    if (e < 0) {
        r = col_add_unknown_err(area, "journald", e, "systemd-journald");
        goto out;
    }
    o = cJSON_CreateObject();
    COL_TRY(col_add_item(area, "journald", o));
    COL_TRY(col_add_bool(o, "present", e));
    if (e == 0)
        goto out;
    /* the first main file found, then every drop-in in file-name order */
    for (i = 0, e = DA_ERR_NOT_FOUND; mains[i] != NULL && e == DA_ERR_NOT_FOUND; i++) {
        detail[0] = '\0';
        e = col_with_file(ctx, mains[i], col_storage_file, &s, detail, sizeof(detail));
    }
    if (e == DA_ERR_NOT_FOUND)
        e = 0;
    if (e == 0) {
        e = col_dropins(ctx, dirs, ".conf", &drop, &bad);
        if (e < 0)
            col_err_detail(e, bad != NULL ? bad : "", detail, sizeof(detail));
    }
    for (i = 0; e == 0 && i < drop.n; i++)
        e = col_with_file(ctx, drop.v[i], col_storage_file, &s, detail, sizeof(detail));
    if (e < 0) {
        COL_TRY(col_add_unknown(o, "storage", col_err_reason(e), detail));
        COL_TRY(col_add_unknown(o, "persistent", col_err_reason(e), detail));
        goto out;
    }
    COL_TRY(col_add_str(o, "storage", s.value));
    if (strcmp(s.value, "persistent") == 0) {
        COL_TRY(col_add_bool(o, "persistent", 1));
    } else if (strcmp(s.value, "auto") == 0) {
        /* auto: persistent exactly when /var/log/journal exists */
        e = col_stat(ctx, "/var/log/journal", &st);
        if (e == 0)
            COL_TRY(col_add_bool(o, "persistent", S_ISDIR(st.st_mode)));
        else if (e == DA_ERR_NOT_FOUND)
            COL_TRY(col_add_bool(o, "persistent", 0));
        else
            COL_TRY(col_add_unknown_err(o, "persistent", e, "/var/log/journal"));
    } else {
        COL_TRY(col_add_bool(o, "persistent", 0));
    }
out:
    col_names_free(&drop);
    return r;
}

/* ---- forwarding to another host ---- */

struct col_fwd {
    const struct col_ctx *ctx;
    int (*parse)(const char *, size_t, col_syslog_fn, void *);
    const char *base; /* directory relative includes are taken from */
    int forward;
    int depth;
    char detail[512];
};

static int col_fwd_file(struct col_fwd *f, const char *rel);

/* An include names a file, a directory (every file in it) or a pattern
 * whose last component holds the wildcards. */
static int col_fwd_include(struct col_fwd *f, const char *pattern)
{
    char rel[4096], dir[4096], *slash;
    struct col_names d;
    struct stat st;
    int e;

    if (pattern[0] == '/')
        snprintf(rel, sizeof(rel), "%s", pattern);
    else
        snprintf(rel, sizeof(rel), "%s/%s", f->base, pattern);
    if (strpbrk(rel, "*?[") == NULL) {
        e = col_stat(f->ctx, rel, &st);
        if (e == DA_ERR_NOT_FOUND)
            return 0; /* outside the configuration directory (syslog-ng's scl) */
        if (e == 0 && !S_ISDIR(st.st_mode))
            return col_fwd_file(f, rel);
        snprintf(dir, sizeof(dir), "%s", rel);
        snprintf(rel, sizeof(rel), "%.4000s/*", dir);
    }
    snprintf(dir, sizeof(dir), "%s", rel);
    slash = strrchr(dir, '/');
    *slash = '\0';
    e = col_list_dir(f->ctx, dir[0] != '\0' ? dir : "/", DA_MAX_CONF_DIR, &d);
    if (e == DA_ERR_NOT_FOUND)
        return 0;
    if (e < 0) {
        col_err_detail(e, dir, f->detail, sizeof(f->detail));
        return e;
    }
    for (size_t i = 0; i < d.n && e == 0; i++) {
        char file[4096];

        if (d.v[i][0] == '.' || fnmatch(slash + 1, d.v[i], FNM_PERIOD) != 0)
            continue;
        snprintf(file, sizeof(file), "%.3000s/%.1000s", dir, d.v[i]);
        if (col_stat(f->ctx, file, &st) == 0 && S_ISDIR(st.st_mode))
            continue;
        e = col_fwd_file(f, file);
    }
    col_names_free(&d);
    return e;
}

static int col_fwd_rule(void *arg, enum col_syslog_kind kind, const char *name)
{
    struct col_fwd *f = arg;
    int e;

    if (kind == COL_SYSLOG_FORWARD) {
        f->forward = 1;
        return 0;
    }
    if (f->depth >= DA_MAX_CONF_INCLUDE) {
        snprintf(f->detail, sizeof(f->detail), "%.400s: includes nested deeper than %d", name,
                 DA_MAX_CONF_INCLUDE);
        return DA_ERR_TOO_LARGE;
    }
    f->depth++;
    e = col_fwd_include(f, name);
    f->depth--;
    return e;
}

static int col_fwd_text(const char *text, size_t len, void *arg)
{
    struct col_fwd *f = arg;

    return f->parse(text, len, col_fwd_rule, f);
}

static int col_fwd_file(struct col_fwd *f, const char *rel)
{
    return col_with_file(f->ctx, rel, col_fwd_text, f, f->detail, sizeof(f->detail));
}

struct col_upload {
    int url;
};

static int col_upload_text(const char *text, size_t len, void *arg)
{
    struct col_upload *u = arg;
    char v[1024];
    int e = col_ini_value(text, len, "Upload", "URL", v, sizeof(v));

    if (e == 1)
        u->url = v[0] != '\0';
    return e < 0 ? e : 0;
}

/* systemd-journal-upload: enabled, with a URL= to send to. */
static int col_journal_upload(const struct col_ctx *ctx, char *detail, size_t n)
{
    static const char *const dirs[] = {"/etc/systemd/journal-upload.conf.d",
                                       "/run/systemd/journal-upload.conf.d",
                                       "/usr/lib/systemd/journal-upload.conf.d", NULL};
    struct col_upload u = {0};
    struct col_names drop = {0};
    const char *bad = NULL;
    int e;

    e = col_unit_enabled(ctx, "systemd-journal-upload.service");
    if (e <= 0) {
        if (e < 0)
            col_err_detail(e, "/etc/systemd/system", detail, n);
        return e;
    }
    e = col_with_file(ctx, "/etc/systemd/journal-upload.conf", col_upload_text, &u, detail, n);
    if (e == DA_ERR_NOT_FOUND)
        e = 0;
    if (e == 0)
        e = col_dropins(ctx, dirs, ".conf", &drop, &bad);
    for (size_t i = 0; e == 0 && i < drop.n; i++)
        e = col_with_file(ctx, drop.v[i], col_upload_text, &u, detail, n);
    if (e < 0 && detail[0] == '\0')
        col_err_detail(e, bad != NULL ? bad : "journal-upload.conf", detail, n);
    col_names_free(&drop);
    return e < 0 ? e : u.url;
}

static int col_forwarding(const struct col_ctx *ctx, cJSON *area)
{
    static const char *const rsyslogd[] = {"/usr/sbin/rsyslogd", "/sbin/rsyslogd", NULL};
    static const char *const syslogng[] = {"/usr/sbin/syslog-ng", "/sbin/syslog-ng", NULL};
    struct col_fwd f;
    char detail[512] = "";
    cJSON *o = NULL, *via = NULL;
    int r = 0, e;

    via = cJSON_CreateArray();
    if (via == NULL)
        return DA_ERR_NOMEM;
    memset(&f, 0, sizeof(f));
    f.ctx = ctx;
    e = col_any_exists(ctx, rsyslogd);
    if (e > 0) {
        f.parse = col_rsyslog_parse;
        f.base = "/etc";
        e = col_fwd_file(&f, "/etc/rsyslog.conf");
        if (e == DA_ERR_NOT_FOUND)
            e = 0;
        if (e == 0 && f.forward)
            e = col_push_str(via, "rsyslog") == 0 ? 0 : DA_ERR_NOMEM;
    }
    if (e >= 0) {
        memset(&f, 0, sizeof(f));
        f.ctx = ctx;
        e = col_any_exists(ctx, syslogng);
    }
    if (e > 0) {
        f.parse = col_syslogng_parse;
        f.base = "/etc/syslog-ng";
        e = col_fwd_file(&f, "/etc/syslog-ng/syslog-ng.conf");
        if (e == DA_ERR_NOT_FOUND)
            e = 0;
        if (e == 0 && f.forward)
            e = col_push_str(via, "syslog-ng") == 0 ? 0 : DA_ERR_NOMEM;
    }
    if (e >= 0) {
        e = col_journal_upload(ctx, detail, sizeof(detail));
        if (e > 0)
            e = col_push_str(via, "systemd-journal-upload") == 0 ? 0 : DA_ERR_NOMEM;
    }
    if (e == DA_ERR_NOMEM) {
        r = DA_ERR_NOMEM;
        goto out;
    }
    if (e < 0) {
        r = col_add_unknown(area, "forwarding", col_err_reason(e),
                            f.detail[0] != '\0' ? f.detail : detail);
        goto out;
    }
    o = cJSON_CreateObject();
    COL_TRY(col_add_item(area, "forwarding", o));
    COL_TRY(col_add_bool(o, "configured", cJSON_GetArraySize(via) > 0));
    r = col_add_item(o, "via", via);
    via = NULL; /* transferred */
out:
    cJSON_Delete(via);
    return r;
}

/* What the kernel itself has loaded (auditctl -s, auditctl -l). */
static int col_audit_kernel(const struct col_ctx *ctx, cJSON *area)
{
    struct col_audit_status st;
    cJSON *o;
    int r, e;

    if (ctx->ops == NULL || ctx->ops->audit == NULL)
        return col_add_unknown(area, "audit_kernel", COL_R_NOT_LIVE,
                               "the kernel's audit state is read on the running machine only");
    e = ctx->ops->audit(&st);
    if (e < 0)
        return col_add_unknown_sys(area, "audit_kernel", e, "NETLINK_AUDIT");
    o = cJSON_CreateObject();
    COL_TRY(col_add_item(area, "audit_kernel", o));
    COL_TRY(col_add_num(o, "enabled", st.enabled));
    COL_TRY(col_add_bool(o, "daemon_registered", st.daemon_pid != 0));
    COL_TRY(col_add_num(o, "rules", st.rules));
out:
    return r;
}

static int col_logging_collect(const struct col_ctx *ctx, cJSON *area)
{
    int r;

    COL_TRY(col_auditd(ctx, area));
    COL_TRY(col_audit_kernel(ctx, area));
    COL_TRY(col_journald(ctx, area));
    COL_TRY(col_forwarding(ctx, area));
out:
    return r;
}

const struct da_collector col_logging = {"logging", col_logging_collect};

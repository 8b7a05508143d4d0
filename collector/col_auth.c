/* auth: how local accounts authenticate. The PAM stacks of password changes
 * and logins (password quality and lockout modules, includes followed),
 * accounts without a password and whether root's password is locked
 * (/etc/shadow: the password field is classified, never copied), and who
 * may use sudo without a password (/etc/sudoers and its includes). Only
 * account and group names leave this file. */
#include "collector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "caps.h"
#include "err.h"
#include "posture.h"

/* ---- PAM ---- */

struct col_pam_walk {
    const struct col_ctx *ctx;
    const char *type;
    const char *const *modules; /* NULL-terminated file names */
    int found;
    int depth;
    char err[512];
};

static int col_pam_service(struct col_pam_walk *w, const char *service);

static int col_pam_line(void *arg, enum col_pam_kind kind, const char *name)
{
    struct col_pam_walk *w = arg;
    int r;

    if (kind == COL_PAM_MODULE) {
        for (const char *const *m = w->modules; *m != NULL; m++)
            w->found |= strcmp(name, *m) == 0;
        return 0;
    }
    if (w->depth >= DA_MAX_CONF_INCLUDE) {
        snprintf(w->err, sizeof(w->err), "%.400s: includes nested deeper than %d", name,
                 DA_MAX_CONF_INCLUDE);
        return DA_ERR_TOO_LARGE;
    }
    w->depth++;
    r = col_pam_service(w, name);
    w->depth--;
    return r;
}

/* /etc/pam.d/SERVICE, else the vendor's /usr/lib/pam.d/SERVICE (Linux-PAM);
 * an include may also name a file by its absolute path. */
static int col_pam_service(struct col_pam_walk *w, const char *service)
{
    char rel[1024];
    struct da_buf b;
    int e;

    da_buf_init(&b, DA_MAX_CONFIG);
    if (service[0] == '/')
        snprintf(rel, sizeof(rel), "%s", service);
    else if (strchr(service, '/') != NULL || strcmp(service, "..") == 0) {
        snprintf(w->err, sizeof(w->err), "%.400s: not a service name", service);
        return DA_ERR_COLLECT_PARSE;
    } else
        snprintf(rel, sizeof(rel), "/etc/pam.d/%s", service);
    e = col_read_file(w->ctx, rel, &b);
    if (e == DA_ERR_NOT_FOUND && service[0] != '/') {
        da_buf_reset(&b);
        snprintf(rel, sizeof(rel), "/usr/lib/pam.d/%s", service);
        e = col_read_file(w->ctx, rel, &b);
        if (e == DA_ERR_NOT_FOUND)
            snprintf(rel, sizeof(rel), "/etc/pam.d/%s", service);
    }
    if (e == 0) {
        e = col_pam_parse(da_buf_str(&b), da_buf_len(&b), w->type, col_pam_line, w);
        if (e == DA_ERR_COLLECT_PARSE && w->err[0] == '\0')
            snprintf(w->err, sizeof(w->err), "%.400s: line too long", rel);
    } else {
        col_err_detail(e, rel, w->err, sizeof(w->err));
    }
    da_buf_free(&b);
    return e;
}

/* Does every existing service of services[] have one of modules in its
 * `type` stack? 1, 0, or a DA_ERR_* (detail in err). */
static int col_pam_stacks_have(const struct col_ctx *ctx, const char *const *services,
                               const char *type, const char *const *modules, char *err, size_t n)
{
    int present = 0, all = 1, e;

    for (; *services != NULL; services++) {
        struct col_pam_walk w = {ctx, type, modules, 0, 0, ""};
        char etc[256], vendor[256];
        struct stat st;

        snprintf(etc, sizeof(etc), "/etc/pam.d/%s", *services);
        snprintf(vendor, sizeof(vendor), "/usr/lib/pam.d/%s", *services);
        if (col_stat(ctx, etc, &st) == DA_ERR_NOT_FOUND &&
            col_stat(ctx, vendor, &st) == DA_ERR_NOT_FOUND)
            continue; /* this service is not installed */
        e = col_pam_service(&w, *services);
        if (e < 0) {
            snprintf(err, n, "%s", w.err);
            return e;
        }
        present = 1;
        all &= w.found;
    }
    if (!present) {
        snprintf(err, n, "no PAM configuration for %s", type);
        return DA_ERR_NOT_FOUND;
    }
    return all;
}

static int col_pam(const struct col_ctx *ctx, cJSON *area)
{
    static const char *const quality[] = {"pam_pwquality.so", "pam_cracklib.so", "pam_passwdqc.so",
                                          NULL};
    static const char *const lockout[] = {"pam_faillock.so", "pam_tally2.so", NULL};
    static const char *const passwd[] = {"passwd", NULL};
    static const char *const logins[] = {"login", "sshd", NULL};
    char err[512];
    cJSON *o = cJSON_CreateObject();
    int r, v;

    COL_TRY(col_add_item(area, "pam", o));
    v = col_pam_stacks_have(ctx, passwd, "password", quality, err, sizeof(err));
    if (v < 0)
        COL_TRY(col_add_unknown(o, "password_quality", col_err_reason(v), err));
    else
        COL_TRY(col_add_bool(o, "password_quality", v));
    v = col_pam_stacks_have(ctx, logins, "auth", lockout, err, sizeof(err));
    if (v < 0)
        COL_TRY(col_add_unknown(o, "lockout", col_err_reason(v), err));
    else
        COL_TRY(col_add_bool(o, "lockout", v));
out:
    return r;
}

/* ---- accounts ---- */

struct col_names_out {
    cJSON *arr;
    int count;
    int root; /* root's state, -1 when not seen */
};

static int col_shadow_entry(void *arg, const char *name, enum col_pw_state st)
{
    struct col_names_out *o = arg;

    if (strcmp(name, "root") == 0 && o->root < 0)
        o->root = (int)st;
    if (st != COL_PW_EMPTY)
        return 0;
    o->count++;
    return col_push_str(o->arr, name);
}

static int col_accounts(const struct col_ctx *ctx, cJSON *area)
{
    struct col_names_out o = {NULL, 0, -1};
    struct da_buf b;
    int r = 0, e;

    da_buf_init(&b, DA_MAX_SYSFILE);
    e = col_read_file(ctx, "/etc/shadow", &b);
    if (e < 0) {
        COL_TRY(col_add_unknown_err(area, "empty_password_accounts", e, "/etc/shadow"));
        COL_TRY(col_add_unknown_err(area, "empty_password_count", e, "/etc/shadow"));
        COL_TRY(col_add_unknown_err(area, "root_locked", e, "/etc/shadow"));
        goto out;
    }
    o.arr = cJSON_CreateArray();
    COL_TRY(col_add_item(area, "empty_password_accounts", o.arr));
    e = col_pw_parse(da_buf_str(&b), da_buf_len(&b), col_shadow_entry, &o);
    da_buf_reset(&b);
    if (e == DA_ERR_NOMEM) {
        r = e;
        goto out;
    }
    if (e < 0) {
        cJSON_DeleteItemFromObject(area, "empty_password_accounts");
        COL_TRY(col_add_unknown(area, "empty_password_accounts", COL_R_PARSE, "/etc/shadow"));
        COL_TRY(col_add_unknown(area, "empty_password_count", COL_R_PARSE, "/etc/shadow"));
        COL_TRY(col_add_unknown(area, "root_locked", COL_R_PARSE, "/etc/shadow"));
        goto out;
    }
    COL_TRY(col_add_num(area, "empty_password_count", o.count));
    if (o.root < 0)
        COL_TRY(col_add_unknown(area, "root_locked", COL_R_NOT_PRESENT,
                                "/etc/shadow has no entry for root"));
    else
        COL_TRY(col_add_bool(area, "root_locked", o.root == COL_PW_LOCKED));
out:
    da_buf_free(&b);
    return r;
}

/* ---- sudo ---- */

struct col_sudo_walk {
    const struct col_ctx *ctx;
    struct col_names *names; /* principals, unsorted, may repeat */
    const char *dir;         /* directory of the file being read */
    int depth;
    char err[512];
};

static int col_sudo_file(struct col_sudo_walk *w, const char *rel, int must_exist);

static int col_sudo_keep(struct col_sudo_walk *w, const char *name)
{
    char **grown;

    if (w->names->n >= DA_MAX_RUNTIME_NAMES)
        return 0;
    grown = realloc(w->names->v, (w->names->n + 1) * sizeof(*grown));
    if (grown == NULL)
        return DA_ERR_NOMEM;
    w->names->v = grown;
    w->names->v[w->names->n] = strdup(name);
    if (w->names->v[w->names->n] == NULL)
        return DA_ERR_NOMEM;
    w->names->n++;
    return 0;
}

/* sudo skips files of an include directory whose names end in "~" or
 * contain a "." (editor backups, package manager leftovers), and entries
 * that are not regular files. */
static int col_sudo_dir(struct col_sudo_walk *w, const char *dir)
{
    struct stat st;
    struct col_names files;
    char rel[4096];
    int e;

    e = col_list_dir(w->ctx, dir, DA_MAX_CONF_DIR, &files);
    if (e == DA_ERR_NOT_FOUND)
        return 0;
    if (e < 0) {
        col_err_detail(e, dir, w->err, sizeof(w->err));
        return e;
    }
    for (size_t i = 0; e == 0 && i < files.n; i++) {
        size_t n = strlen(files.v[i]);

        if (strchr(files.v[i], '.') != NULL || files.v[i][n - 1] == '~')
            continue;
        snprintf(rel, sizeof(rel), "%.2000s/%.1000s", dir, files.v[i]);
        e = col_stat(w->ctx, rel, &st);
        if (e == DA_ERR_NOT_FOUND || (e == 0 && !S_ISREG(st.st_mode))) {
            e = 0;
            continue;
        }
        if (e == 0)
            e = col_sudo_file(w, rel, 0);
        else
            col_err_detail(e, rel, w->err, sizeof(w->err));
    }
    col_names_free(&files);
    return e;
}

static int col_sudo_line(void *arg, enum col_sudo_kind kind, const char *name)
{
    struct col_sudo_walk *w = arg;
    char rel[4096];
    const char *saved = w->dir;
    int r;

    if (kind == COL_SUDO_NOPASSWD)
        return col_sudo_keep(w, name);
    if (kind == COL_SUDO_NOAUTH) {
        snprintf(rel, sizeof(rel), "%s !authenticate", name);
        return col_sudo_keep(w, rel);
    }
    if (w->depth >= DA_MAX_CONF_INCLUDE) {
        snprintf(w->err, sizeof(w->err), "%.400s: includes nested deeper than %d", name,
                 DA_MAX_CONF_INCLUDE);
        return DA_ERR_TOO_LARGE;
    }
    /* relative paths are taken from the directory of the including file */
    if (name[0] == '/')
        snprintf(rel, sizeof(rel), "%s", name);
    else
        snprintf(rel, sizeof(rel), "%.2000s/%.2000s", w->dir, name);
    w->depth++;
    r = kind == COL_SUDO_INCLUDEDIR ? col_sudo_dir(w, rel) : col_sudo_file(w, rel, 0);
    w->depth--;
    w->dir = saved;
    return r;
}

static int col_sudo_file(struct col_sudo_walk *w, const char *rel, int must_exist)
{
    char dir[4096];
    struct da_buf b;
    int e;

    da_buf_init(&b, DA_MAX_SECURITY_CONF);
    e = col_read_file(w->ctx, rel, &b);
    if (e == DA_ERR_NOT_FOUND && !must_exist) {
        da_buf_free(&b);
        return 0;
    }
    if (e < 0) {
        col_err_detail(e, rel, w->err, sizeof(w->err));
        da_buf_free(&b);
        return e;
    }
    snprintf(dir, sizeof(dir), "%s", rel);
    *strrchr(dir, '/') = '\0';
    w->dir = dir;
    e = col_sudoers_parse(da_buf_str(&b), da_buf_len(&b), col_sudo_line, w);
    if (e == DA_ERR_COLLECT_PARSE && w->err[0] == '\0')
        snprintf(w->err, sizeof(w->err), "%.400s: line too long", rel);
    da_buf_free(&b);
    return e;
}

static int col_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int col_sudo(const struct col_ctx *ctx, cJSON *area)
{
    struct col_names names = {0};
    struct col_sudo_walk w = {ctx, &names, "/etc", 0, ""};
    struct stat st;
    cJSON *o = NULL, *arr;
    size_t i, count = 0;
    int r = 0, e;

    if (col_stat(ctx, "/etc/sudoers", &st) == DA_ERR_NOT_FOUND) {
        o = cJSON_CreateObject();
        COL_TRY(col_add_item(area, "sudo", o));
        COL_TRY(col_add_bool(o, "configured", 0));
        COL_TRY(col_add_item(o, "nopasswd", cJSON_CreateArray()));
        COL_TRY(col_add_num(o, "nopasswd_count", 0));
        goto out;
    }
    e = col_sudo_file(&w, "/etc/sudoers", 1);
    if (e == DA_ERR_NOMEM) {
        r = DA_ERR_NOMEM;
        goto out;
    }
    if (e < 0) {
        r = col_add_unknown(area, "sudo", col_err_reason(e), w.err);
        goto out;
    }
    o = cJSON_CreateObject();
    COL_TRY(col_add_item(area, "sudo", o));
    COL_TRY(col_add_bool(o, "configured", 1));
    arr = cJSON_CreateArray();
    COL_TRY(col_add_item(o, "nopasswd", arr));
    if (names.n > 1)
        qsort(names.v, names.n, sizeof(*names.v), col_name_cmp);
    for (i = 0; i < names.n; i++) {
        if (i > 0 && strcmp(names.v[i], names.v[i - 1]) == 0)
            continue;
        count++;
        COL_TRY(col_push_str(arr, names.v[i]));
    }
    COL_TRY(col_add_num(o, "nopasswd_count", (double)count));
out:
    col_names_free(&names);
    return r;
}

static int col_auth_collect(const struct col_ctx *ctx, cJSON *area)
{
    int r;

    COL_TRY(col_pam(ctx, area));
    COL_TRY(col_accounts(ctx, area));
    COL_TRY(col_sudo(ctx, area));
out:
    return r;
}

const struct da_collector col_auth = {"auth", col_auth_collect};

/* runtime: whether installed updates are in effect. A process keeps running
 * the old code of a library or program replaced by an upgrade (the kernel
 * marks such a mapping " (deleted)" in /proc/PID/maps, and /proc/PID/exe
 * likewise) until it restarts; some updates ask for a reboot through
 * /run/reboot-required and name their packages in reboot-required.pkgs. */
#include "collector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "caps.h"
#include "err.h"
#include "posture.h"

/* A sorted set of strings, at most DA_MAX_RUNTIME_NAMES kept; DA_ERR_NOMEM. */
struct col_set {
    char **v;
    size_t n;
    int truncated;
};

static int col_set_add(struct col_set *s, const char *name)
{
    size_t lo = 0, hi = s->n;
    char **grown, *copy;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->v[mid], name);

        if (c == 0)
            return 0;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (s->n >= DA_MAX_RUNTIME_NAMES) {
        s->truncated = 1;
        return 0;
    }
    grown = realloc(s->v, (s->n + 1) * sizeof(*s->v));
    if (grown == NULL)
        return DA_ERR_NOMEM;
    s->v = grown;
    copy = strdup(name);
    if (copy == NULL)
        return DA_ERR_NOMEM;
    memmove(s->v + lo + 1, s->v + lo, (s->n - lo) * sizeof(*s->v));
    s->v[lo] = copy;
    s->n++;
    return 0;
}

static void col_set_free(struct col_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static int col_set_json(cJSON *obj, const char *key, const struct col_set *s)
{
    cJSON *arr = cJSON_CreateArray();
    int r;

    COL_TRY(col_add_item(obj, key, arr));
    for (size_t i = 0; i < s->n; i++)
        COL_TRY(col_push_str(arr, s->v[i]));
out:
    return r;
}

/* ---- reboot-required ---- */

static int col_pkg_add(void *arg, const char *name)
{
    return col_set_add(arg, name);
}

static int col_reboot(const struct col_ctx *ctx, cJSON *area)
{
    static const char *const flags[] = {"/run/reboot-required", "/var/run/reboot-required"};
    struct col_set pkgs = {0};
    struct da_buf b;
    struct stat st;
    const char *flag = NULL;
    char pkgs_path[64];
    size_t i;
    int r = 0, e;

    da_buf_init(&b, DA_MAX_SMALL_SYSFILE);
    for (i = 0; i < 2 && flag == NULL; i++) {
        /* /var/run is normally a link to /run, already looked at */
        if (i == 1 && (col_lstat(ctx, "/var/run", &st) != 0 || !S_ISDIR(st.st_mode)))
            break;
        e = col_stat(ctx, flags[i], &st);
        if (e == 0)
            flag = flags[i];
        else if (e != DA_ERR_NOT_FOUND) {
            COL_TRY(col_add_unknown_err(area, "reboot_required", e, flags[i]));
            COL_TRY(col_add_unknown_err(area, "reboot_required_packages", e, flags[i]));
            goto out;
        }
    }
    COL_TRY(col_add_bool(area, "reboot_required", flag != NULL));
    if (flag != NULL) {
        snprintf(pkgs_path, sizeof(pkgs_path), "%s.pkgs", flag);
        e = col_read_file(ctx, pkgs_path, &b);
        if (e < 0 && e != DA_ERR_NOT_FOUND) {
            COL_TRY(col_add_unknown_err(area, "reboot_required_packages", e, pkgs_path));
            goto out;
        }
        if (e == 0)
            e = col_pkgs_parse(da_buf_str(&b), da_buf_len(&b), col_pkg_add, &pkgs);
        else
            e = 0; /* no list: no package named */
        if (e == DA_ERR_NOMEM) {
            r = DA_ERR_NOMEM;
            goto out;
        }
        if (e < 0) {
            COL_TRY(col_add_unknown(area, "reboot_required_packages", COL_R_PARSE, pkgs_path));
            goto out;
        }
    }
    COL_TRY(col_set_json(area, "reboot_required_packages", &pkgs));
out:
    col_set_free(&pkgs);
    da_buf_free(&b);
    return r;
}

/* ---- processes running replaced code ---- */

/* Only code installed by packages counts (and only its paths are shown):
 * files below these directories. */
static int col_system_path(const char *p)
{
    static const char *const prefixes[] = {"/usr/",    "/lib/", "/lib32/", "/lib64/",
                                           "/libx32/", "/bin/", "/sbin/",  "/opt/"};

    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        if (strncmp(p, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    }
    return 0;
}

struct col_stale {
    struct col_set files; /* deleted code files still mapped */
    struct col_set exes;  /* programs of the processes that map them */
    int hit;              /* this process maps one */
};

static int col_stale_map(void *arg, const char *path, int deleted)
{
    struct col_stale *s = arg;

    if (!deleted || !col_system_path(path))
        return 0;
    s->hit = 1;
    return col_set_add(&s->files, path);
}

/* One process: 1 when it runs replaced code, 0 when not (or gone), or a
 * DA_ERR_* when it could not be read. */
static int col_stale_pid(const struct col_ctx *ctx, const char *pid, struct col_stale *s,
                         struct da_buf *b)
{
    static const char deleted[] = " (deleted)";
    char rel[64], exe[4096];
    size_t n;
    int e, exe_deleted = 0;

    s->hit = 0;
    snprintf(rel, sizeof(rel), "/proc/%s/exe", pid);
    e = col_readlink(ctx, rel, exe, sizeof(exe));
    if (col_process_gone(e))
        return 0; /* gone */
    /* a kernel thread's exe link has no target: the layer reports it as not
     * a link; such a process maps no file either */
    if (e == DA_ERR_NOT_REGULAR)
        exe[0] = '\0';
    else if (e < 0)
        return e;
    n = strlen(exe);
    if (n > sizeof(deleted) - 1 && strcmp(exe + n - (sizeof(deleted) - 1), deleted) == 0) {
        exe[n - (sizeof(deleted) - 1)] = '\0';
        exe_deleted = col_system_path(exe);
        if (exe_deleted && (e = col_set_add(&s->files, exe)) < 0)
            return e;
    }
    snprintf(rel, sizeof(rel), "/proc/%s/maps", pid);
    da_buf_reset(b);
    e = col_read_file(ctx, rel, b);
    if (col_process_gone(e))
        return 0;
    if (e < 0)
        return e;
    e = col_maps_parse(da_buf_str(b), da_buf_len(b), col_stale_map, s);
    if (e < 0)
        return e == DA_ERR_NOMEM ? e : DA_ERR_COLLECT_PARSE;
    if (!exe_deleted && !s->hit)
        return 0;
    if (col_system_path(exe) && (e = col_set_add(&s->exes, exe)) < 0)
        return e;
    return 1;
}

static int col_is_pid(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return 0;
    }
    return 1;
}

/* ---- the packages that own the replaced files ---- */

static int col_set_has(const struct col_set *s, const char *name)
{
    size_t lo = 0, hi = s->n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->v[mid], name);

        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* Does the dpkg file list in b name one of files? Paths are compared as
 * listed and with /usr in front, since on a merged-/usr system a package
 * lists /lib/... while the kernel names the file /usr/lib/.... */
static int col_list_owns(const char *text, const struct col_set *files)
{
    char path[4096];

    for (const char *p = text; *p != '\0';) {
        size_t len = strcspn(p, "\n");

        if (len > 0 && len < sizeof(path) - 4) {
            memcpy(path, p, len);
            path[len] = '\0';
            if (col_set_has(files, path))
                return 1;
            memmove(path + 4, path, len + 1);
            memcpy(path, "/usr", 4);
            if (col_set_has(files, path))
                return 1;
        }
        p += len + (p[len] == '\n');
    }
    return 0;
}

/* The packages (dpkg's /var/lib/dpkg/info/NAME[:ARCH].list) listing one of
 * files, into pkgs. Read only when some file was replaced. */
static int col_owners(const struct col_ctx *ctx, const struct col_set *files, struct col_set *pkgs,
                      char *detail, size_t n)
{
    static const char info[] = "/var/lib/dpkg/info";
    struct col_names lists = {0};
    struct da_buf b;
    int e;

    da_buf_init(&b, DA_MAX_SYSFILE);
    e = col_list_dir(ctx, info, DA_MAX_PACKAGES, &lists);
    if (e < 0)
        snprintf(detail, n, "%s", info);
    for (size_t i = 0; e == 0 && i < lists.n; i++) {
        size_t len = strlen(lists.v[i]);
        char rel[4200];

        if (len <= 5 || strcmp(lists.v[i] + len - 5, ".list") != 0)
            continue;
        snprintf(rel, sizeof(rel), "%s/%s", info, lists.v[i]);
        da_buf_reset(&b);
        e = col_read_file(ctx, rel, &b);
        if (e < 0) {
            snprintf(detail, n, "%s", rel);
            break;
        }
        if (col_list_owns(da_buf_str(&b), files)) {
            lists.v[i][len - 5] = '\0';
            lists.v[i][strcspn(lists.v[i], ":")] = '\0';
            e = col_set_add(pkgs, lists.v[i]);
        }
    }
    col_names_free(&lists);
    da_buf_free(&b);
    return e;
}

static int col_stale_processes(const struct col_ctx *ctx, cJSON *area)
{
    struct col_stale s;
    struct col_names pids = {0};
    struct da_buf b;
    char detail[128];
    cJSON *o;
    size_t i, seen = 0, count = 0, failed = 0;
    int r = 0, e = 0, first_err = 0;

    memset(&s, 0, sizeof(s));
    da_buf_init(&b, DA_MAX_PROC_MAPS);
    e = col_list_dir(ctx, "/proc", DA_MAX_PROCESSES, &pids);
    /* read every process, so that the unknown can say how many failed */
    for (i = 0; e == 0 && i < pids.n; i++) {
        int p;

        if (!col_is_pid(pids.v[i]))
            continue;
        seen++;
        p = col_stale_pid(ctx, pids.v[i], &s, &b);
        if (p > 0)
            count++;
        else if (p == DA_ERR_NOMEM)
            e = p;
        else if (p < 0 && failed++ == 0) {
            first_err = p;
            snprintf(detail, sizeof(detail), "/proc/%s", pids.v[i]);
        }
    }
    if (e == 0 && failed > 0) {
        e = first_err;
        snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
                 " (%zu of %zu processes could not be read)", failed, seen);
    }
    if (e == DA_ERR_NOMEM) {
        r = DA_ERR_NOMEM;
        goto out;
    }
    if (e == 0 && seen == 0 && !ctx->live) {
        r = col_add_unknown(area, "outdated_processes", COL_R_NOT_LIVE,
                            "no processes in /proc below the root");
        goto out;
    }
    if (e < 0) {
        if (pids.n == 0 && !ctx->live && e == DA_ERR_NOT_FOUND)
            r = col_add_unknown(area, "outdated_processes", COL_R_NOT_LIVE,
                                "no /proc below the root");
        else
            r = col_add_unknown_err(area, "outdated_processes", e, pids.n == 0 ? "/proc" : detail);
        goto out;
    }
    o = cJSON_CreateObject();
    COL_TRY(col_add_item(area, "outdated_processes", o));
    COL_TRY(col_add_num(o, "count", (double)count));
    COL_TRY(col_set_json(o, "executables", &s.exes));
    COL_TRY(col_set_json(o, "files", &s.files));
    if (s.files.n > 0) {
        struct col_set pkgs = {0};
        char where[4300] = "";

        e = col_owners(ctx, &s.files, &pkgs, where, sizeof(where));
        if (e == DA_ERR_NOMEM)
            r = e;
        else if (e < 0)
            r = col_add_unknown_err(o, "packages", e, where);
        else
            r = col_set_json(o, "packages", &pkgs);
        col_set_free(&pkgs);
        if (r < 0)
            goto out;
    } else {
        COL_TRY(col_add_item(o, "packages", cJSON_CreateArray()));
    }
    if (s.exes.truncated || s.files.truncated)
        COL_TRY(col_add_bool(o, "truncated", 1));
out:
    col_names_free(&pids);
    col_set_free(&s.files);
    col_set_free(&s.exes);
    da_buf_free(&b);
    return r;
}

static int col_runtime_collect(const struct col_ctx *ctx, cJSON *area)
{
    int r;

    COL_TRY(col_reboot(ctx, area));
    COL_TRY(col_stale_processes(ctx, area));
out:
    return r;
}

const struct da_collector col_runtime = {"runtime", col_runtime_collect};

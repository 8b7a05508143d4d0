/* patches: installed packages and pending upgrades (Debian family), computed
 * offline from dpkg's status and apt's lists; cached in the state directory
 * keyed by (inode, size, mtime, ctime) of every input file. */
#include "collector.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deb.h"
#include "err.h"
#include "rpm.h"
#include "caps.h"

#define COL_LISTS_DIR   "/var/lib/apt/lists"
#define COL_DPKG_STATUS "/var/lib/dpkg/status"
#define COL_CACHE_NAME  COL_STATE_PATCHES_CACHE
#define COL_SEEN_NAME   COL_STATE_PENDING_SEEN

struct col_list {
    char name[256];
    char release[256]; /* "" when no Release file was found */
    int release_err;   /* a Release name that exists but cannot be used */
    char release_err_path[512];
    int priority;
    int security;
    struct col_release rel;
    char host[128], component[64], arch[32];
};

struct col_lists {
    struct col_list *v;
    size_t n;
};

static int col_is_list_name(const char *n)
{
    static const char *const ends[] = {"_Packages", "_Packages.lz4", "_Packages.gz", "_Packages.xz",
                                       "_Packages.zst"};
    size_t len = strlen(n), i;

    for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
        size_t m = strlen(ends[i]);

        if (len > m && strcmp(n + len - m, ends[i]) == 0)
            return 1;
    }
    return 0;
}

static int col_list_cmp(const void *a, const void *b)
{
    return strcmp(((const struct col_list *)a)->name, ((const struct col_list *)b)->name);
}

/* The Release file of a list: the longest "_"-prefix of its name that has an
 * InRelease or Release file next to it. */
static void col_list_find_release(const struct col_ctx *ctx, struct col_list *l)
{
    char prefix[256], rel[512];
    struct stat st;
    char *us;

    snprintf(prefix, sizeof(prefix), "%s", l->name);
    while ((us = strrchr(prefix, '_')) != NULL) {
        static const char *const kinds[] = {"InRelease", "Release"};

        *us = '\0';
        for (size_t k = 0; k < 2; k++) {
            int e;

            snprintf(rel, sizeof(rel), COL_LISTS_DIR "/%s_%s", prefix, kinds[k]);
            e = col_stat(ctx, rel, &st);
            if (e == 0 && S_ISREG(st.st_mode))
                goto found;
            if (e == 0 && !S_ISDIR(st.st_mode))
                e = DA_ERR_NOT_REGULAR;
            if (e < 0 && e != DA_ERR_NOT_FOUND && l->release_err == 0) {
                /* there is one, and it cannot be read: the priority is unknown */
                l->release_err = e;
                snprintf(l->release_err_path, sizeof(l->release_err_path), "%s", rel);
            }
        }
    }
    return;
found:
    if (strlen(rel + sizeof(COL_LISTS_DIR)) < sizeof(l->release))
        memcpy(l->release, rel + sizeof(COL_LISTS_DIR), strlen(rel + sizeof(COL_LISTS_DIR)) + 1);
}

/* Host, component and architecture from the list's file name:
 * HOST_PATH_dists_SUITE_COMPONENT_binary-ARCH_Packages[.EXT] */
static void col_list_names(struct col_list *l)
{
    const char *bin = strstr(l->name, "_binary-"), *us = strchr(l->name, '_'), *c;

    snprintf(l->host, sizeof(l->host), "%.*s", (int)(us != NULL ? us - l->name : 0), l->name);
    l->component[0] = l->arch[0] = '\0';
    if (bin == NULL)
        return;
    snprintf(l->arch, sizeof(l->arch), "%.*s", (int)strcspn(bin + 8, "_"), bin + 8);
    for (c = bin; c > l->name && c[-1] != '_'; c--)
        ;
    snprintf(l->component, sizeof(l->component), "%.*s", (int)(bin - c), c);
}

static void col_list_match_of(const struct col_list *l, struct col_list_match *m)
{
    m->host = l->host;
    m->rel = &l->rel;
    m->component = l->component;
    m->arch = l->arch;
}

static int col_release_read(const struct col_ctx *ctx, struct col_list *l,
                            const struct col_pins *pins)
{
    struct col_list_match m;
    struct da_buf b;
    char path[512];
    int r = 0;

    memset(&l->rel, 0, sizeof(l->rel));
    col_list_names(l);
    if (l->release[0] != '\0') { /* apt treats a list without Release as priority 500 */
        snprintf(path, sizeof(path), COL_LISTS_DIR "/%s", l->release);
        da_buf_init(&b, DA_MAX_SMALL_SYSFILE * 64);
        r = col_read_file(ctx, path, &b);
        if (r == 0)
            r = col_release_parse(da_buf_str(&b), da_buf_len(&b), &l->rel);
        da_buf_free(&b);
        if (r < 0)
            return r;
    }
    col_list_match_of(l, &m);
    l->priority = col_pins_list_priority(pins, &m, col_release_priority(&l->rel));
    l->security = col_release_is_security(&l->rel);
    return 0;
}

static int col_lists_scan(const struct col_ctx *ctx, struct col_lists *out)
{
    struct da_rootfs_dir *d = NULL;
    struct da_rootfs_dirent e;
    int r;

    out->v = NULL;
    out->n = 0;
    r = col_opendir(ctx, COL_LISTS_DIR, &d);
    if (r < 0)
        return r;
    while ((r = da_rootfs_readdir(d, &e)) == 1) {
        struct col_list *nv;

        if (!col_is_list_name(e.name) || strlen(e.name) >= sizeof(nv->name))
            continue;
        if (out->n >= COL_DEB_MAX_LISTS) {
            r = DA_ERR_TOO_LARGE;
            break;
        }
        nv = realloc(out->v, (out->n + 1) * sizeof(*nv));
        if (nv == NULL) {
            r = DA_ERR_NOMEM;
            break;
        }
        out->v = nv;
        memset(&nv[out->n], 0, sizeof(nv[0]));
        memcpy(nv[out->n].name, e.name, strlen(e.name) + 1);
        out->n++;
    }
    da_rootfs_closedir(d);
    if (r == 0 && out->n > 0)
        qsort(out->v, out->n, sizeof(*out->v), col_list_cmp);
    for (size_t i = 0; r == 0 && i < out->n; i++)
        col_list_find_release(ctx, &out->v[i]);
    return r;
}

/* One key line per input file: any change to any of them invalidates. */
static int col_key_add(const struct col_ctx *ctx, struct da_buf *key, const char *rel)
{
    struct stat st;
    int e = col_stat(ctx, rel, &st);

    if (e < 0)
        return da_buf_printf(key, "key %s missing\n", rel);
    return da_buf_printf(key, "key %s %llu %llu %lld.%09ld %lld.%09ld\n", rel,
                         (unsigned long long)st.st_ino, (unsigned long long)st.st_size,
                         (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                         (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

static int col_cache_key(const struct col_ctx *ctx, const struct col_lists *lists,
                         char prefs[][300], size_t n_prefs, struct da_buf *key)
{
    char rel[512];
    size_t i;
    int r;

    r = da_buf_printf(key, "root %s\n", ctx->root[0] != '\0' ? ctx->root : "/");
    if (r == 0)
        r = col_key_add(ctx, key, COL_DPKG_STATUS);
    if (r == 0)
        r = col_key_add(ctx, key, "/etc/apt/preferences.d");
    for (i = 0; r == 0 && i < n_prefs; i++)
        r = col_key_add(ctx, key, prefs[i]);
    for (i = 0; r == 0 && i < lists->n; i++) {
        snprintf(rel, sizeof(rel), COL_LISTS_DIR "/%s", lists->v[i].name);
        r = col_key_add(ctx, key, rel);
        if (r == 0 && lists->v[i].release[0] != '\0') {
            snprintf(rel, sizeof(rel), COL_LISTS_DIR "/%s", lists->v[i].release);
            r = col_key_add(ctx, key, rel);
        }
    }
    return r;
}

/* Read the cache; 0 and *hit = 1 when its key equals key. */
static int col_cache_load(const struct col_ctx *ctx, const struct da_buf *key,
                          struct col_patch_facts *f, int *hit)
{
    struct da_buf b;

    *hit = 0;
    da_buf_init(&b, DA_MAX_COL_CACHE);
    if (col_read_state(ctx, COL_CACHE_NAME, &b) == 0 && da_buf_len(&b) > da_buf_len(key) &&
        memcmp(da_buf_data(&b), da_buf_data(key), da_buf_len(key)) == 0 &&
        col_patch_cache_parse(da_buf_str(&b) + da_buf_len(key), da_buf_len(&b) - da_buf_len(key),
                              f) == 0)
        *hit = 1;
    da_buf_free(&b);
    return 0;
}

/* Write the cache atomically; failure only costs the next run time. */
static void col_cache_store(const struct col_ctx *ctx, const struct da_buf *key,
                            const struct col_patch_facts *f)
{
    struct da_buf all;
    char *body = NULL;
    size_t blen = 0;

    if (col_patch_cache_format(f, &body, &blen) != 0)
        return;
    da_buf_init(&all, DA_MAX_COL_CACHE);
    if (da_buf_append(&all, da_buf_data(key), da_buf_len(key)) == 0 &&
        da_buf_append(&all, body, blen) == 0)
        (void)col_state_put(ctx, COL_CACHE_NAME, da_buf_data(&all), da_buf_len(&all));
    da_buf_free(&all);
    free(body);
}

struct col_list_feed {
    struct col_pkgdb *db;
    int priority, security;
    struct col_list_match m;
};

static int col_list_stanza(const char *p, size_t n, void *arg)
{
    struct col_list_feed *f = arg;

    return col_pkgdb_add_list_stanza(f->db, p, n, f->priority, f->security, &f->m);
}

/* Map the status file and build the installed database. */
static int col_status_load(const struct col_ctx *ctx, struct col_pkgdb **db)
{
    struct stat st;
    void *map;
    int fd, r;

    r = col_open_file(ctx, COL_DPKG_STATUS, &fd, &st);
    if (r < 0)
        return r;
    if ((uint64_t)st.st_size > DA_MAX_DPKG_STATUS) {
        close(fd);
        return DA_ERR_TOO_LARGE;
    }
    if (st.st_size == 0) {
        close(fd);
        return col_pkgdb_from_status("", 0, db);
    }
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return da_rootfs_sys_error(errno, COL_DPKG_STATUS);
    r = col_pkgdb_from_status(map, (size_t)st.st_size, db);
    munmap(map, (size_t)st.st_size);
    return r;
}

/* Compute the facts from scratch. *list_err reports a list that could not
 * be read (the pending set is then unknown). */
static int col_patches_compute(const struct col_ctx *ctx, struct col_lists *lists,
                               const struct col_pins *pins, struct col_patch_facts *f,
                               char *list_err, size_t list_err_n, const char **list_reason)
{
    struct col_pkgdb *db = NULL;
    char rel[512];
    size_t i;
    int r;

    r = col_status_load(ctx, &db);
    if (r < 0)
        return r;
    col_pkgdb_set_pins(db, pins);
    for (i = 0; i < lists->n; i++) {
        struct col_list_feed feed;
        int e = col_release_read(ctx, &lists->v[i], pins);

        memset(&feed, 0, sizeof(feed));
        feed.db = db;

        snprintf(rel, sizeof(rel), COL_LISTS_DIR "/%s", lists->v[i].name);
        if (e == 0) {
            feed.priority = lists->v[i].priority;
            feed.security = lists->v[i].security;
            col_list_match_of(&lists->v[i], &feed.m);
            e = col_deb_list_read(ctx->fs, rel, col_list_stanza, &feed);
        }
        if (e == DA_ERR_NOMEM) {
            r = e;
            goto out;
        }
        if (e < 0 && list_err[0] == '\0') {
            col_err_detail(e, rel, list_err, list_err_n);
            *list_reason = col_err_reason(e);
        }
    }
    r = col_pkgdb_facts(db, f);
out:
    col_pkgdb_free(db);
    return r;
}

/* apt's naming rule for preferences.d: letters, digits, _ - . and either no
 * extension or ".pref". */
static int col_pref_name_ok(const char *n)
{
    const char *dot = strrchr(n, '.');

    if (n[0] == '.' ||
        strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != strlen(n))
        return 0;
    return dot == NULL || strcmp(dot, ".pref") == 0;
}

static int col_str_cmp(const void *a, const void *b);

/* The preferences files apt reads, in its order: the parts, then the file.
 * *err is 0 or the DA_ERR_* of a directory or file that could not be read
 * (a missing one is not an error), with its detail in why. */
static size_t col_pref_files(const struct col_ctx *ctx, char files[][300], size_t max, int *err,
                             char *why, size_t why_n)
{
    static const char dir[] = "/etc/apt/preferences.d";
    char *names[128];
    struct da_rootfs_dir *d = NULL;
    struct da_rootfs_dirent e;
    size_t n = 0, i, out = 0;
    struct stat st;
    int r;

    *err = 0;
    r = col_opendir(ctx, dir, &d);
    if (r == 0) {
        while (n < sizeof(names) / sizeof(names[0]) && (r = da_rootfs_readdir(d, &e)) == 1)
            if (col_pref_name_ok(e.name) && strlen(e.name) < 256 &&
                (names[n] = strdup(e.name)) != NULL)
                n++;
        da_rootfs_closedir(d);
    }
    if (r < 0 && r != DA_ERR_NOT_FOUND) {
        *err = r;
        col_err_detail(r, dir, why, why_n);
    }
    if (n > 1)
        qsort(names, n, sizeof(names[0]), col_str_cmp);
    for (i = 0; i < n; i++) {
        if (out < max)
            snprintf(files[out++], 300, "/etc/apt/preferences.d/%s", names[i]);
        free(names[i]);
    }
    r = col_stat(ctx, "/etc/apt/preferences", &st);
    if (out < max && r == 0)
        snprintf(files[out++], 300, "/etc/apt/preferences");
    else if (r < 0 && r != DA_ERR_NOT_FOUND && *err == 0) {
        *err = r;
        col_err_detail(r, "/etc/apt/preferences", why, why_n);
    }
    return out;
}

/* Parse every preferences file; *why names the one that does not parse. */
static int col_pins_load(const struct col_ctx *ctx, char files[][300], size_t n,
                         struct col_pins **out, char *why, size_t why_n)
{
    struct col_pins *pins = col_pins_new();
    struct da_buf b;
    size_t i;
    int r = 0;

    *out = NULL;
    if (pins == NULL)
        return DA_ERR_NOMEM;
    for (i = 0; r == 0 && i < n; i++) {
        da_buf_init(&b, DA_MAX_CONFIG * 16);
        r = col_read_file(ctx, files[i], &b);
        if (r == 0)
            r = col_pins_parse(pins, da_buf_str(&b), da_buf_len(&b));
        da_buf_free(&b);
        if (r < 0 && r != DA_ERR_NOMEM)
            col_err_detail(r, files[i], why, why_n);
    }
    if (r < 0) {
        col_pins_free(pins);
        return r;
    }
    *out = pins;
    return 0;
}

/* The first-seen times of this collection, or why they are unknown. */
struct col_seen_state {
    struct col_seen seen; /* used only when reason is NULL */
    const char *reason;
    char detail[700];
};

/* Read the record into s (raw keeps its bytes): 0, DA_ERR_NOT_FOUND when
 * there is none, another file layer error, DA_ERR_COLLECT_PARSE,
 * DA_ERR_NOMEM. */
static int col_seen_load(const struct col_ctx *ctx, int64_t now, struct col_seen *s,
                         struct da_buf *raw)
{
    int r;

    memset(s, 0, sizeof(*s));
    r = col_read_state(ctx, COL_SEEN_NAME, raw);
    if (r == 0)
        r = col_seen_parse(da_buf_str(raw), da_buf_len(raw), now, s);
    return r;
}

static void col_seen_why(struct col_seen_state *st, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void col_seen_why(struct col_seen_state *st, const char *reason, const char *fmt, ...)
{
    va_list ap;

    if (st->reason != NULL)
        return; /* the first cause is the one reported */
    st->reason = reason;
    va_start(ap, fmt);
    vsnprintf(st->detail, sizeof(st->detail), fmt, ap);
    va_end(ap);
}

static const char *col_seen_err(int e)
{
    if (e == DA_ERR_COLLECT_PARSE)
        return "does not parse";
    if (e == DA_ERR_SYSTEM && da_rootfs_errno() != 0)
        return strerror(da_rootfs_errno());
    return da_strerror(e);
}

/* Bring the record up to date with the pending set of f and say when each
 * upgrade was first seen. A record that cannot be read or parsed is rebuilt
 * from this collection, whose times are then unknown; one that cannot be
 * written leaves them unknown too, since the next run would not find them. */
static int col_pending_seen(const struct col_ctx *ctx, const struct col_patch_facts *f,
                            struct col_seen_state *st)
{
    const char *root = ctx->root[0] != '\0' ? ctx->root : "/";
    struct col_seen old, cur;
    struct da_buf raw;
    char path[4096], *text = NULL;
    size_t len = 0;
    int e, r = 0, have_old = 0;

    memset(st, 0, sizeof(*st));
    memset(&old, 0, sizeof(old));
    memset(&cur, 0, sizeof(cur));
    da_buf_init(&raw, DA_MAX_PENDING_SEEN);
    if (ctx->state_dir == NULL) {
        col_seen_why(st, COL_R_NOT_PRESENT,
                     "no state directory: first-seen times of pending upgrades are not kept");
        goto out;
    }
    if (snprintf(path, sizeof(path), "%s/%s", ctx->state_dir, COL_SEEN_NAME) >= (int)sizeof(path)) {
        col_seen_why(st, COL_R_LIMIT, "%s: path too long", ctx->state_dir);
        goto out;
    }
    e = col_seen_load(ctx, (int64_t)ctx->now, &old, &raw);
    if (e == DA_ERR_NOMEM) {
        r = e;
        goto out;
    }
    if (e == 0)
        have_old = 1;
    else if (e != DA_ERR_NOT_FOUND)
        col_seen_why(st, col_err_reason(e), "%s: %s; rebuilt from this collection", path,
                     col_seen_err(e));
    if (have_old && strcmp(old.root, root) != 0) {
        /* another root's record: leave it alone */
        col_seen_why(st, COL_R_NOT_PRESENT, "%s holds the record of root %s", path, old.root);
        goto out;
    }
    e = col_seen_update(have_old ? &old : NULL, f, root, (int64_t)ctx->now, &cur);
    if (e == 0)
        e = col_seen_format(&cur, &text, &len);
    if (e == DA_ERR_NOMEM) {
        r = e;
        goto out;
    }
    if (e < 0) {
        col_seen_why(st, e == DA_ERR_TOO_LARGE ? COL_R_LIMIT : COL_R_UNSUPPORTED,
                     "%s: cannot be recorded (%s)", path, col_seen_err(e));
        goto out;
    }
    if (!have_old || len != da_buf_len(&raw) || memcmp(text, da_buf_data(&raw), len) != 0) {
        e = col_state_put(ctx, COL_SEEN_NAME, text, len);
        if (e < 0)
            col_seen_why(st, col_err_reason(e), "%s: cannot be written: %s", path, col_seen_err(e));
    }
    if (st->reason == NULL) {
        st->seen = cur;
        memset(&cur, 0, sizeof(cur)); /* transferred */
    }
out:
    free(text);
    col_seen_free(&cur);
    col_seen_free(&old);
    da_buf_free(&raw);
    return r;
}

/* first_seen and age_s of one pending upgrade. */
static int col_pending_age(cJSON *o, const struct col_ctx *ctx, const struct col_seen_state *st,
                           const struct col_pending *p)
{
    const struct col_seen_entry *e = NULL;
    char when[32];
    struct tm tm;
    time_t t;
    int r;

    if (st->reason != NULL) {
        COL_TRY(col_add_unknown(o, "first_seen", st->reason, st->detail));
        return col_add_unknown(o, "age_s", st->reason, st->detail);
    }
    e = col_seen_find(&st->seen, p->name, p->candidate);
    t = e != NULL ? (time_t)e->first_seen : 0;
    if (e == NULL || gmtime_r(&t, &tm) == NULL ||
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        static const char why[] = "name or version cannot be recorded in " COL_SEEN_NAME;

        COL_TRY(col_add_unknown(o, "first_seen", COL_R_UNSUPPORTED, why));
        return col_add_unknown(o, "age_s", COL_R_UNSUPPORTED, why);
    }
    COL_TRY(col_add_str(o, "first_seen", when));
    r = col_add_num(o, "age_s", (double)((int64_t)ctx->now - e->first_seen));
out:
    return r;
}

int col_patches_pending(const struct col_ctx *ctx, cJSON *area, const struct col_patch_facts *f)
{
    struct col_seen_state st;
    cJSON *arr;
    size_t i, sec = 0;
    int r;

    COL_TRY(col_pending_seen(ctx, f, &st));
    arr = cJSON_CreateArray();

    COL_TRY(col_add_item(area, "pending", arr));
    for (i = 0; i < f->n_pending; i++) {
        cJSON *o = cJSON_CreateObject();

        COL_TRY(col_push(arr, o));
        COL_TRY(col_add_str(o, "name", f->pending[i].name));
        COL_TRY(col_add_str(o, "arch", f->pending[i].arch));
        COL_TRY(col_add_str(o, "installed", f->pending[i].installed));
        COL_TRY(col_add_str(o, "candidate", f->pending[i].candidate));
        COL_TRY(col_add_bool(o, "security", f->pending[i].security));
        if (f->pending[i].adv != NULL) {
            cJSON *advs = cJSON_CreateArray();

            COL_TRY(col_add_item(o, "advisories", advs));
            for (size_t k = 0; k < f->pending[i].n_adv; k++) {
                cJSON *a = cJSON_CreateObject();

                COL_TRY(col_push(advs, a));
                COL_TRY(col_add_str(a, "id", f->pending[i].adv[k].id));
                if (f->pending[i].adv[k].severity != NULL)
                    COL_TRY(col_add_str(a, "severity", f->pending[i].adv[k].severity));
                else
                    COL_TRY(cJSON_AddNullToObject(a, "severity") != NULL ? 0 : DA_ERR_NOMEM);
            }
        }
        COL_TRY(col_pending_age(o, ctx, &st, &f->pending[i]));
        sec += f->pending[i].security ? 1 : 0;
    }
    COL_TRY(col_add_num(area, "pending_count", (double)f->n_pending));
    COL_TRY(col_add_num(area, "security_pending_count", (double)sec));
out:
    col_seen_free(&st.seen);
    return r;
}

/* Newest of the stamps apt touches when it refreshes its lists. */
static int col_patches_lists_age(const struct col_ctx *ctx, cJSON *area)
{
    static const char *const stamps[] = {"/var/lib/apt/periodic/update-success-stamp",
                                         COL_LISTS_DIR "/partial", COL_LISTS_DIR};
    static const int want_dir[] = {0, 1, 1};
    time_t newest = 0;
    struct stat st;
    size_t i;

    for (i = 0; i < sizeof(stamps) / sizeof(stamps[0]); i++) {
        int e = col_stat(ctx, stamps[i], &st);

        if (e == 0 && (want_dir[i] ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))
            e = DA_ERR_NOT_REGULAR; /* not what apt touches: its time says nothing */
        if (e < 0 && e != DA_ERR_NOT_FOUND)
            return col_add_unknown_err(area, "lists_age_s", e, stamps[i]);
        if (e == 0 && st.st_mtime > newest)
            newest = st.st_mtime;
    }
    if (newest == 0)
        return col_add_unknown(area, "lists_age_s", COL_R_NOT_PRESENT, COL_LISTS_DIR);
    return col_add_num(area, "lists_age_s", newest > ctx->now ? 0 : (double)(ctx->now - newest));
}

static int col_aptconf_ignored(const char *n)
{
    static const char *const ends[] = {"~",         ".disabled", ".bak",        ".save",
                                       ".orig",     ".dpkg-old", ".dpkg-new",   ".dpkg-dist",
                                       ".ucf-dist", ".ucf-old",  ".distUpgrade"};
    size_t len = strlen(n), i;

    if (n[0] == '.' ||
        strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != len)
        return 1;
    for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
        size_t m = strlen(ends[i]);

        if (len >= m && strcmp(n + len - m, ends[i]) == 0)
            return 1;
    }
    return 0;
}

static int col_str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Apply one apt.conf file to the two APT::Periodic values. */
static int col_aptconf_file(const struct col_ctx *ctx, const char *rel, char *upl, char *uu)
{
    struct da_buf b;
    char v[64];
    int r;

    da_buf_init(&b, DA_MAX_CONFIG * 16);
    r = col_read_file(ctx, rel, &b);
    if (r == DA_ERR_NOT_FOUND) {
        r = 0;
        goto out;
    }
    if (r < 0)
        goto out;
    r = col_aptconf_value(da_buf_str(&b), da_buf_len(&b), "APT::Periodic::Update-Package-Lists", v,
                          sizeof(v));
    if (r == 1)
        snprintf(upl, 64, "%s", v);
    if (r >= 0)
        r = col_aptconf_value(da_buf_str(&b), da_buf_len(&b), "APT::Periodic::Unattended-Upgrade",
                              v, sizeof(v));
    if (r == 1)
        snprintf(uu, 64, "%s", v);
out:
    da_buf_free(&b);
    return r < 0 ? r : 0;
}

static int col_patches_auto(const struct col_ctx *ctx, cJSON *area, int uu_installed)
{
    char rel[600], upl[64] = "", uu[64] = "", why[700] = "";
    char *names[256];
    size_t n = 0, i;
    struct da_rootfs_dir *d = NULL;
    struct da_rootfs_dirent e;
    cJSON *o = NULL;
    int r = 0, bad = 0;

    bad = col_opendir(ctx, "/etc/apt/apt.conf.d", &d);
    if (bad == 0) {
        while (n < sizeof(names) / sizeof(names[0]) && (bad = da_rootfs_readdir(d, &e)) == 1)
            if (!col_aptconf_ignored(e.name) && (names[n] = strdup(e.name)) != NULL)
                n++;
        da_rootfs_closedir(d);
    }
    if (bad == 1 || bad == DA_ERR_NOT_FOUND)
        bad = 0;
    if (bad < 0)
        col_err_detail(bad, "/etc/apt/apt.conf.d", why, sizeof(why));
    qsort(names, n, sizeof(names[0]), col_str_cmp);
    for (i = 0; i <= n && bad == 0; i++) {
        if (i < n)
            snprintf(rel, sizeof(rel), "/etc/apt/apt.conf.d/%s", names[i]);
        else
            snprintf(rel, sizeof(rel), "/etc/apt/apt.conf");
        bad = col_aptconf_file(ctx, rel, upl, uu);
        if (bad < 0)
            col_err_detail(bad, rel, why, sizeof(why));
    }
    for (i = 0; i < n; i++)
        free(names[i]);
    if (bad < 0)
        return col_add_unknown(area, "auto_updates",
                               bad == DA_ERR_COLLECT_PARSE ? COL_R_PARSE : col_err_reason(bad),
                               why);
    o = cJSON_CreateObject();
    COL_TRY(col_add_item(area, "auto_updates", o));
    COL_TRY(col_add_bool(o, "enabled",
                         uu_installed && upl[0] != '\0' && strcmp(upl, "0") != 0 && uu[0] != '\0' &&
                             strcmp(uu, "0") != 0));
    COL_TRY(col_add_bool(o, "unattended_upgrades_installed", uu_installed));
    COL_TRY(col_add_str(o, "update_package_lists", upl[0] != '\0' ? upl : "0"));
    COL_TRY(col_add_str(o, "unattended_upgrade", uu[0] != '\0' ? uu : "0"));
out:
    return r;
}

static int col_patches_kernel(const struct col_ctx *ctx, cJSON *area,
                              const struct col_patch_facts *f)
{
    const struct col_kernel_pkg *newest = NULL;
    char running[256], rel[600];
    struct stat st;
    size_t i;
    int e, running_found = 0;

    e = col_read_line(ctx, "/proc/sys/kernel/osrelease", running, sizeof(running));
    if (e < 0)
        return col_add_unknown_err(area, "running_kernel_is_newest", e,
                                   "/proc/sys/kernel/osrelease");
    for (i = 0; i < f->n_kernels; i++) {
        const struct col_kernel_pkg *k = &f->kernels[i];

        /* meta packages (linux-image-amd64) have no kernel of that name */
        snprintf(rel, sizeof(rel), "/boot/vmlinuz-%s", k->release);
        if (col_stat(ctx, rel, &st) != 0) {
            snprintf(rel, sizeof(rel), "/lib/modules/%s", k->release);
            if (col_stat(ctx, rel, &st) != 0)
                continue;
        }
        if (strcmp(k->release, running) == 0)
            running_found = 1;
        if (newest == NULL || col_debver_cmp(k->version, newest->version) > 0)
            newest = k;
    }
    if (newest == NULL)
        return col_add_unknown(area, "running_kernel_is_newest", COL_R_NOT_PRESENT,
                               "no installed linux-image package (kernel not packaged here)");
    if (!running_found)
        return col_add_unknown(area, "running_kernel_is_newest", COL_R_NOT_PRESENT,
                               "running kernel is not from an installed package");
    return col_add_bool(area, "running_kernel_is_newest", strcmp(newest->release, running) == 0);
}

static int col_patches_reboot(const struct col_ctx *ctx, cJSON *area)
{
    struct stat st;
    int e = col_stat(ctx, "/run/reboot-required", &st);

    if (e == 0 || e == DA_ERR_NOT_FOUND)
        return col_add_bool(area, "reboot_required", e == 0);
    return col_add_unknown_err(area, "reboot_required", e, "/run/reboot-required");
}

/* Stanzas of dpkg's status that dpkg itself warns about or refuses: the
 * rest of the installed set stands, and what was odd is said. */
static int col_patches_status_notes(cJSON *area, const struct col_patch_facts *f)
{
    cJSON *arr;
    size_t i;
    int r;

    if (f->status_warnings == 0 && f->status_skipped == 0)
        return 0;
    COL_TRY(col_add_num(area, "status_warnings", (double)f->status_warnings));
    COL_TRY(col_add_num(area, "status_skipped", (double)f->status_skipped));
    arr = cJSON_CreateArray();
    COL_TRY(col_add_item(area, "status_notes", arr));
    for (i = 0; i < f->n_status_notes; i++)
        COL_TRY(col_push_str(arr, f->status_notes[i]));
out:
    return r;
}

/* dpkg's status exists but cannot be read or parsed: the facts that come
 * from it are unknown too, and the rest is still said. */
static int col_patches_status_unknown(cJSON *area, int err)
{
    static const char *const keys[] = {"lists_count",     "apt_pins",
                                       "lists_age_s",     "auto_updates",
                                       "reboot_required", "running_kernel_is_newest"};
    size_t i;
    int r = 0;

    for (i = 0; r == 0 && i < sizeof(keys) / sizeof(keys[0]); i++)
        if (cJSON_GetObjectItemCaseSensitive(area, keys[i]) == NULL)
            r = col_add_unknown_err(area, keys[i], err, COL_DPKG_STATUS);
    return r;
}

static int col_patches_collect(const struct col_ctx *ctx, cJSON *area)
{
    struct col_patch_facts f;
    struct col_lists lists = {NULL, 0};
    struct col_pins *pins = NULL;
    struct da_buf key;
    static char prefs[64][300];
    size_t n_prefs;
    char list_err[512] = "", pins_err[400] = "", where[600];
    const char *list_reason = COL_R_IO, *pins_reason = COL_R_PARSE;
    struct stat st;
    int r, e, hit = 0, lists_scan_err = 0;

    memset(&f, 0, sizeof(f));
    da_buf_init(&key, DA_MAX_COL_CACHE);
    e = col_stat(ctx, COL_DPKG_STATUS, &st);
    if (e == DA_ERR_NOT_FOUND) {
        char dir[64];
        int re = col_rpmdb_find(ctx, dir, sizeof(dir), where, sizeof(where));

        if (re == 0) {
            r = col_rpm_patches(ctx, area, dir);
            goto out;
        }
        if (re != DA_ERR_NOT_FOUND) {
            /* an rpm database that cannot be looked at: say why */
            r = col_rpm_patches_err(area, re, where);
            goto out;
        }
    }
    if (e < 0) {
        static const char *const keys[] = {"manager", "installed_count", "inventory_sha256",
                                           "pending", "pending_count",   "security_pending_count"};

        /* neither dpkg's status nor an rpm database: every patch fact is unknown */
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            COL_TRY(col_add_unknown_err(area, keys[i], e, COL_DPKG_STATUS));
        if (e != DA_ERR_NOT_FOUND) {
            char dir[64];

            COL_TRY(col_patches_status_unknown(area, e));
            /* it may be an rpm machine too: its own facts are unknown as well */
            if (col_rpmdb_find(ctx, dir, sizeof(dir), where, sizeof(where)) != DA_ERR_NOT_FOUND)
                COL_TRY(col_add_unknown_err(area, "repos_count", e, COL_DPKG_STATUS));
        }
        r = 0;
        goto out;
    }
    COL_TRY(col_add_str(area, "manager", "dpkg"));
    e = col_lists_scan(ctx, &lists);
    lists_scan_err = e == DA_ERR_NOT_FOUND ? 0 : e;
    if (e == DA_ERR_NOMEM) {
        r = e;
        goto out;
    }
    if (e < 0 && e != DA_ERR_NOT_FOUND) {
        col_err_detail(e, COL_LISTS_DIR, list_err, sizeof(list_err));
        list_reason = col_err_reason(e);
    }
    for (size_t i = 0; list_err[0] == '\0' && i < lists.n; i++) {
        if (lists.v[i].release_err < 0) {
            col_err_detail(lists.v[i].release_err, lists.v[i].release_err_path, list_err,
                           sizeof(list_err));
            list_reason = col_err_reason(lists.v[i].release_err);
        }
    }
    n_prefs = col_pref_files(ctx, prefs, sizeof(prefs) / sizeof(prefs[0]), &e, pins_err,
                             sizeof(pins_err));
    if (e == 0)
        e = col_pins_load(ctx, prefs, n_prefs, &pins, pins_err, sizeof(pins_err));
    if (e == DA_ERR_NOMEM) {
        r = e;
        goto out;
    }
    pins_reason =
        e == DA_ERR_COLLECT_PARSE || e == DA_ERR_VERSION_SYNTAX ? COL_R_PARSE : col_err_reason(e);
    if (e < 0 && list_err[0] == '\0') {
        snprintf(list_err, sizeof(list_err), "%s", pins_err);
        list_reason = pins_reason;
    }
    if (ctx->state_dir != NULL && list_err[0] == '\0' &&
        col_cache_key(ctx, &lists, prefs, n_prefs, &key) == 0)
        col_cache_load(ctx, &key, &f, &hit);
    if (!hit) {
        e = col_patches_compute(ctx, &lists, pins, &f, list_err, sizeof(list_err), &list_reason);
        if (e == DA_ERR_NOMEM) {
            r = e;
            goto out;
        }
        if (e < 0) {
            static const char *const keys[] = {"installed_count", "inventory_sha256", "pending",
                                               "pending_count", "security_pending_count"};

            for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                COL_TRY(col_add_unknown_err(area, keys[i], e, COL_DPKG_STATUS));
            r = col_patches_status_unknown(area, e);
            goto out;
        }
        if (ctx->state_dir != NULL && list_err[0] == '\0' && da_buf_len(&key) > 0 &&
            f.status_warnings == 0 && f.status_skipped == 0)
            col_cache_store(ctx, &key, &f);
    }
    COL_TRY(col_add_num(area, "installed_count", (double)f.installed_count));
    COL_TRY(col_patches_status_notes(area, &f));
    COL_TRY(col_add_str(area, "inventory_sha256", f.inventory_sha256));
    if (lists_scan_err < 0)
        COL_TRY(col_add_unknown_err(area, "lists_count", lists_scan_err, COL_LISTS_DIR));
    else
        COL_TRY(col_add_num(area, "lists_count", (double)lists.n));
    if (pins != NULL) {
        size_t npins = col_pins_count(pins);

        COL_TRY(col_add_num(area, "apt_pins", (double)npins));
    } else
        COL_TRY(col_add_unknown(area, "apt_pins", pins_reason, pins_err));
    COL_TRY(col_patches_lists_age(ctx, area));
    if (list_err[0] != '\0') {
        COL_TRY(col_add_unknown(area, "pending", list_reason, list_err));
        COL_TRY(col_add_unknown(area, "pending_count", list_reason, list_err));
        COL_TRY(col_add_unknown(area, "security_pending_count", list_reason, list_err));
    } else if (lists.n == 0) {
        static const char why[] = "no apt lists in " COL_LISTS_DIR;

        COL_TRY(col_add_unknown(area, "pending", COL_R_NOT_PRESENT, why));
        COL_TRY(col_add_unknown(area, "pending_count", COL_R_NOT_PRESENT, why));
        COL_TRY(col_add_unknown(area, "security_pending_count", COL_R_NOT_PRESENT, why));
    } else {
        COL_TRY(col_patches_pending(ctx, area, &f));
    }
    COL_TRY(col_patches_auto(ctx, area, f.unattended_upgrades_installed));
    COL_TRY(col_patches_reboot(ctx, area));
    COL_TRY(col_patches_kernel(ctx, area, &f));
out:
    col_pins_free(pins);
    col_patch_facts_free(&f);
    free(lists.v);
    da_buf_free(&key);
    return r;
}

int col_patches_inventory(const struct col_ctx *base, struct da_buf *out)
{
    struct col_ctx run = *base;
    struct da_rootfs *own = NULL;
    struct col_pkgdb *db = NULL;
    int r = 0;

    if (run.fs == NULL && (r = da_rootfs_open(run.root, 0, &own)) == 0)
        run.fs = own;
    if (r == 0)
        r = col_status_load(&run, &db);
    if (r == DA_ERR_NOT_FOUND) {
        char dir[64], where[600];

        if (col_rpmdb_find(&run, dir, sizeof(dir), where, sizeof(where)) == 0) {
            r = col_rpm_inventory(&run, dir, out);
            da_rootfs_free(own);
            return r;
        }
    }
    if (r == 0)
        r = col_pkgdb_inventory(db, out);
    col_pkgdb_free(db);
    da_rootfs_free(own);
    return r;
}

const struct da_collector col_patches = {"patches", col_patches_collect};

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
#include "caps.h"

#define COL_LISTS_DIR   "/var/lib/apt/lists"
#define COL_DPKG_STATUS "/var/lib/dpkg/status"
#define COL_CACHE_NAME  COL_STATE_PATCHES_CACHE
#define COL_SEEN_NAME   COL_STATE_PENDING_SEEN

struct col_list {
    char name[256];
    char release[256]; /* "" when no Release file was found */
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
        *us = '\0';
        snprintf(rel, sizeof(rel), COL_LISTS_DIR "/%s_InRelease", prefix);
        if (col_stat(ctx, rel, &st) == 0 && S_ISREG(st.st_mode))
            goto found;
        snprintf(rel, sizeof(rel), COL_LISTS_DIR "/%s_Release", prefix);
        if (col_stat(ctx, rel, &st) == 0 && S_ISREG(st.st_mode))
            goto found;
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
    char path[4096];
    struct dirent *e;
    DIR *d;
    int r = 0;

    out->v = NULL;
    out->n = 0;
    if (col_path(ctx, COL_LISTS_DIR, path, sizeof(path)) != 0)
        return -ENAMETOOLONG;
    d = opendir(path);
    if (d == NULL)
        return -errno;
    while ((e = readdir(d)) != NULL) {
        struct col_list *nv;

        if (!col_is_list_name(e->d_name) || strlen(e->d_name) >= sizeof(nv->name))
            continue;
        if (out->n >= COL_DEB_MAX_LISTS) {
            r = -EFBIG;
            break;
        }
        nv = realloc(out->v, (out->n + 1) * sizeof(*nv));
        if (nv == NULL) {
            r = DA_ERR_NOMEM;
            break;
        }
        out->v = nv;
        memset(&nv[out->n], 0, sizeof(nv[0]));
        memcpy(nv[out->n].name, e->d_name, strlen(e->d_name) + 1);
        out->n++;
    }
    closedir(d);
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
    char path[4096];
    struct da_buf b;
    int fd, r = 0;

    *hit = 0;
    if (snprintf(path, sizeof(path), "%s/%s", ctx->state_dir, COL_CACHE_NAME) >= (int)sizeof(path))
        return 0;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    da_buf_init(&b, DA_MAX_COL_CACHE);
    for (;;) {
        char chunk[8192];
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || da_buf_append(&b, chunk, (size_t)n) != 0) {
            if (n != 0)
                r = -1;
            break;
        }
    }
    close(fd);
    if (r == 0 && da_buf_len(&b) > da_buf_len(key) &&
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
    char path[4096];
    struct stat st;
    void *map;
    int fd, r;

    if (col_path(ctx, COL_DPKG_STATUS, path, sizeof(path)) != 0)
        return -ENAMETOOLONG;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    if ((uint64_t)st.st_size > DA_MAX_DPKG_STATUS) {
        close(fd);
        return -EFBIG;
    }
    if (st.st_size == 0) {
        close(fd);
        return col_pkgdb_from_status("", 0, db);
    }
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return -errno;
    r = col_pkgdb_from_status(map, (size_t)st.st_size, db);
    munmap(map, (size_t)st.st_size);
    return r;
}

/* Compute the facts from scratch. *list_err reports a list that could not
 * be read (the pending set is then unknown). */
static int col_patches_compute(const struct col_ctx *ctx, struct col_lists *lists,
                               const struct col_pins *pins, struct col_patch_facts *f,
                               char *list_err, size_t list_err_n)
{
    struct col_pkgdb *db = NULL;
    char path[4096], rel[512];
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
        if (e == 0 && col_path(ctx, rel, path, sizeof(path)) != 0)
            e = -ENAMETOOLONG;
        if (e == 0) {
            feed.priority = lists->v[i].priority;
            feed.security = lists->v[i].security;
            col_list_match_of(&lists->v[i], &feed.m);
            e = col_deb_list_read(path, col_list_stanza, &feed);
        }
        if (e == DA_ERR_NOMEM) {
            r = e;
            goto out;
        }
        if (e < 0 && list_err[0] == '\0')
            snprintf(list_err, list_err_n, "%s: %s", lists->v[i].name,
                     e > -200 && e < 0 && e != DA_ERR_TOO_LARGE ? strerror(-e) : da_strerror(e));
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

/* The preferences files apt reads, in its order: the parts, then the file. */
static size_t col_pref_files(const struct col_ctx *ctx, char files[][300], size_t max)
{
    char path[4096], *names[128];
    struct dirent *e;
    size_t n = 0, i, out = 0;
    struct stat st;
    DIR *d;

    if (col_path(ctx, "/etc/apt/preferences.d", path, sizeof(path)) == 0 &&
        (d = opendir(path)) != NULL) {
        while ((e = readdir(d)) != NULL && n < sizeof(names) / sizeof(names[0]))
            if (col_pref_name_ok(e->d_name) && strlen(e->d_name) < 256 &&
                (names[n] = strdup(e->d_name)) != NULL)
                n++;
        closedir(d);
    }
    if (n > 1)
        qsort(names, n, sizeof(names[0]), col_str_cmp);
    for (i = 0; i < n; i++) {
        if (out < max)
            snprintf(files[out++], 300, "/etc/apt/preferences.d/%s", names[i]);
        free(names[i]);
    }
    if (out < max && col_stat(ctx, "/etc/apt/preferences", &st) == 0)
        snprintf(files[out++], 300, "/etc/apt/preferences");
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
            snprintf(why, why_n, "%.290s does not read or parse", files[i]);
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

/* Read the record at path into s (raw keeps its bytes): 0, -ENOENT when
 * there is none, another negative errno, DA_ERR_COLLECT_PARSE, DA_ERR_NOMEM. */
static int col_seen_load(const char *path, int64_t now, struct col_seen *s, struct da_buf *raw)
{
    struct stat st;
    int fd, r = 0;

    memset(s, 0, sizeof(*s));
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    for (;;) {
        char chunk[8192];
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            break;
        }
        if (n == 0)
            break;
        if (da_buf_append(raw, chunk, (size_t)n) != 0) {
            r = -EFBIG;
            break;
        }
    }
    close(fd);
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
    return e == DA_ERR_COLLECT_PARSE ? "does not parse"
           : e > -200 && e < 0       ? strerror(-e)
                                     : da_strerror(e);
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
    e = col_seen_load(path, (int64_t)ctx->now, &old, &raw);
    if (e == DA_ERR_NOMEM) {
        r = e;
        goto out;
    }
    if (e == 0)
        have_old = 1;
    else if (e != -ENOENT)
        col_seen_why(st, e == DA_ERR_COLLECT_PARSE ? COL_R_PARSE : col_errno_reason(e),
                     "%s: %s; rebuilt from this collection", path, col_seen_err(e));
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
            col_seen_why(st, col_errno_reason(e), "%s: cannot be written: %s", path, strerror(-e));
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

static int col_patches_pending(const struct col_ctx *ctx, cJSON *area,
                               const struct col_patch_facts *f)
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
    time_t newest = 0;
    struct stat st;
    size_t i;

    for (i = 0; i < sizeof(stamps) / sizeof(stamps[0]); i++)
        if (col_stat(ctx, stamps[i], &st) == 0 && st.st_mtime > newest)
            newest = st.st_mtime;
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
    if (r == -ENOENT) {
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
    char path[4096], rel[600], upl[64] = "", uu[64] = "", why[700] = "";
    char *names[256];
    size_t n = 0, i;
    struct dirent *e;
    cJSON *o = NULL;
    DIR *d;
    int r = 0, bad = 0;

    if (col_path(ctx, "/etc/apt/apt.conf.d", path, sizeof(path)) == 0 &&
        (d = opendir(path)) != NULL) {
        while ((e = readdir(d)) != NULL && n < sizeof(names) / sizeof(names[0]))
            if (!col_aptconf_ignored(e->d_name) && (names[n] = strdup(e->d_name)) != NULL)
                n++;
        closedir(d);
    }
    qsort(names, n, sizeof(names[0]), col_str_cmp);
    for (i = 0; i <= n && !bad; i++) {
        if (i < n)
            snprintf(rel, sizeof(rel), "/etc/apt/apt.conf.d/%s", names[i]);
        else
            snprintf(rel, sizeof(rel), "/etc/apt/apt.conf");
        if (col_aptconf_file(ctx, rel, upl, uu) < 0) {
            bad = 1;
            snprintf(why, sizeof(why), "%s does not parse or read", rel);
        }
    }
    for (i = 0; i < n; i++)
        free(names[i]);
    if (bad)
        return col_add_unknown(area, "auto_updates", COL_R_PARSE, why);
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
        return col_add_unknown_errno(area, "running_kernel_is_newest", e, "kernel release");
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

    if (e == 0 || e == -ENOENT)
        return col_add_bool(area, "reboot_required", e == 0);
    return col_add_unknown_errno(area, "reboot_required", e, "/run/reboot-required");
}

static int col_patches_collect(const struct col_ctx *ctx, cJSON *area)
{
    struct col_patch_facts f;
    struct col_lists lists = {NULL, 0};
    struct col_pins *pins = NULL;
    struct da_buf key;
    static char prefs[64][300];
    size_t n_prefs;
    char list_err[512] = "", pins_err[400] = "";
    struct stat st;
    int r, e, hit = 0;

    memset(&f, 0, sizeof(f));
    da_buf_init(&key, DA_MAX_COL_CACHE);
    e = col_stat(ctx, COL_DPKG_STATUS, &st);
    if (e < 0) {
        static const char *const keys[] = {"manager", "installed_count", "inventory_sha256",
                                           "pending", "pending_count",   "security_pending_count"};

        /* rpm-based systems come later: every patch fact is unknown here */
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            COL_TRY(col_add_unknown_errno(area, keys[i], e, COL_DPKG_STATUS));
        r = 0;
        goto out;
    }
    COL_TRY(col_add_str(area, "manager", "dpkg"));
    e = col_lists_scan(ctx, &lists);
    if (e == DA_ERR_NOMEM) {
        r = e;
        goto out;
    }
    if (e < 0 && e != -ENOENT)
        snprintf(list_err, sizeof(list_err), "%s: %s", COL_LISTS_DIR, strerror(-e));
    n_prefs = col_pref_files(ctx, prefs, sizeof(prefs) / sizeof(prefs[0]));
    e = col_pins_load(ctx, prefs, n_prefs, &pins, pins_err, sizeof(pins_err));
    if (e == DA_ERR_NOMEM) {
        r = e;
        goto out;
    }
    if (e < 0 && list_err[0] == '\0')
        snprintf(list_err, sizeof(list_err), "%s", pins_err);
    if (ctx->state_dir != NULL && list_err[0] == '\0' &&
        col_cache_key(ctx, &lists, prefs, n_prefs, &key) == 0)
        col_cache_load(ctx, &key, &f, &hit);
    if (!hit) {
        e = col_patches_compute(ctx, &lists, pins, &f, list_err, sizeof(list_err));
        if (e == DA_ERR_NOMEM) {
            r = e;
            goto out;
        }
        if (e < 0) {
            char what[64];

            snprintf(what, sizeof(what), "%s", COL_DPKG_STATUS);
            r = e > -200 ? col_add_unknown_errno(area, "installed_count", e, what)
                         : col_add_unknown(area, "installed_count", COL_R_PARSE, da_strerror(e));
            goto out;
        }
        if (ctx->state_dir != NULL && list_err[0] == '\0' && da_buf_len(&key) > 0)
            col_cache_store(ctx, &key, &f);
    }
    COL_TRY(col_add_num(area, "installed_count", (double)f.installed_count));
    COL_TRY(col_add_str(area, "inventory_sha256", f.inventory_sha256));
    COL_TRY(col_add_num(area, "lists_count", (double)lists.n));
    if (pins != NULL)
        COL_TRY(col_add_num(area, "apt_pins", (double)col_pins_count(pins)));
    else
        COL_TRY(col_add_unknown(area, "apt_pins", COL_R_PARSE, pins_err));
    COL_TRY(col_patches_lists_age(ctx, area));
    if (list_err[0] != '\0') {
        COL_TRY(col_add_unknown(area, "pending", COL_R_IO, list_err));
        COL_TRY(col_add_unknown(area, "pending_count", COL_R_IO, list_err));
        COL_TRY(col_add_unknown(area, "security_pending_count", COL_R_IO, list_err));
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

int col_patches_inventory(const struct col_ctx *ctx, struct da_buf *out)
{
    struct col_pkgdb *db = NULL;
    int r = col_status_load(ctx, &db);

    if (r < 0)
        return r > -200 ? DA_ERR_COLLECT : r; /* -errno from the loader */
    r = col_pkgdb_inventory(db, out);
    col_pkgdb_free(db);
    return r;
}

const struct da_collector col_patches = {"patches", col_patches_collect};

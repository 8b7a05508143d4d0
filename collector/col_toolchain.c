/* toolchain: each configured tool resolved on PATH (below the root) to its
 * real file; SHA-256 and size; the dpkg package that owns it and whether
 * the file still matches that package's md5sums. Hashes are cached by
 * (device, inode, size, mtime, ctime) in the state directory. */
#include "collector.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "err.h"
#include "caps.h"
#include "deb.h"
#include "rpm.h"
#include "toolcache.h"

#define COL_TOOLCACHE_NAME  COL_STATE_TOOLCHAIN_CACHE
#define COL_AGENTCACHE_NAME COL_STATE_AGENT_CACHE
#define COL_DPKG_INFO       "/var/lib/dpkg/info"
#define COL_DPKG_DIVERSIONS "/var/lib/dpkg/diversions"
#define COL_MAX_LINKS       40

struct col_tool {
    const char *name;
    char path[1024];      /* as found on PATH, below the root */
    char realpath[1024];  /* symlinks resolved below the root */
    char dpkg_path[1024]; /* the name dpkg records, when owned */
    struct col_toolcache_entry h;
    int found, hashed, hash_err;
    int find_err; /* a PATH directory that could not be searched (DA_ERR_*) */
    char find_where[1024];
    int owner_err; /* dpkg's database could not be read for the owner */
    char owner_where[600];
    int local_divert;     /* realpath locally diverted (dpkg-divert --local) ... */
    char divert_to[1024]; /* ... to this path */
    char package[256];
    char version[256];
    int rpm;          /* owner and verification from the rpm database */
    int rpm_verified; /* 1, 0, or -1: the header has no digest we compute */
};

/* The first executable regular file of that name on PATH, as execvp finds
 * it. A PATH entry that cannot be searched (permission, I/O) is kept in
 * find_err: the tool may be there, so "absent" would not be true. */
static int col_find_on_path(const struct col_ctx *ctx, struct col_tool *t)
{
    const char *p = ctx->cfg->path_env != NULL ? ctx->cfg->path_env : "";
    struct stat st;

    while (*p != '\0') {
        size_t len = strcspn(p, ":");

        if (len > 0 && p[0] == '/' &&
            snprintf(t->path, sizeof(t->path), "%.*s/%s", (int)len, p, t->name) <
                (int)sizeof(t->path)) {
            int e = col_stat(ctx, t->path, &st);

            if (e == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0)
                return 1;
            /* a FIFO, socket or device of that name: execvp would not run it,
             * but "absent" is not what is there */
            if (e == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
                e = DA_ERR_NOT_REGULAR;
            if (e < 0 && e != DA_ERR_NOT_FOUND && t->find_err == 0) {
                t->find_err = e;
                snprintf(t->find_where, sizeof(t->find_where), "%s", t->path);
            }
        }
        p += len;
        if (*p == ':')
            p++;
    }
    t->path[0] = '\0';
    return 0;
}

static void col_tool_key(const struct stat *st, struct col_toolcache_entry *e)
{
    memset(e, 0, sizeof(*e));
    e->dev = st->st_dev;
    e->ino = st->st_ino;
    e->size = (uint64_t)st->st_size;
    e->mtime_s = st->st_mtim.tv_sec;
    e->mtime_ns = st->st_mtim.tv_nsec;
    e->ctime_s = st->st_ctim.tv_sec;
    e->ctime_ns = st->st_ctim.tv_nsec;
}

/* SHA-256 and MD5 (for dpkg's md5sums) in one pass of large reads. */
static int col_hash_fd(int fd, struct col_toolcache_entry *e)
{
    EVP_MD_CTX *s = EVP_MD_CTX_new(), *m = EVP_MD_CTX_new();
    unsigned char *buf = malloc(1u << 20), ds[32], dm[16];
    unsigned ls = 0, lm = 0;
    uint64_t total = 0;
    int r = DA_ERR_CRYPTO;

    if (s == NULL || m == NULL || buf == NULL) {
        r = DA_ERR_NOMEM;
        goto out;
    }
    if (!EVP_DigestInit_ex(s, EVP_sha256(), NULL) || !EVP_DigestInit_ex(m, EVP_md5(), NULL))
        goto out;
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    for (;;) {
        ssize_t n = read(fd, buf, 1u << 20);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = da_rootfs_sys_error(errno, "");
            goto out;
        }
        if (n == 0)
            break;
        total += (uint64_t)n;
        if (total > DA_MAX_TOOL_SIZE) {
            r = DA_ERR_TOO_LARGE;
            goto out;
        }
        if (!EVP_DigestUpdate(s, buf, (size_t)n) || !EVP_DigestUpdate(m, buf, (size_t)n))
            goto out;
    }
    if (total != e->size) {
        r = da_rootfs_sys_error(EAGAIN, ""); /* changed while read */
        goto out;
    }
    if (!EVP_DigestFinal_ex(s, ds, &ls) || !EVP_DigestFinal_ex(m, dm, &lm))
        goto out;
    col_hex(ds, 32, e->sha256);
    col_hex(dm, 16, e->md5);
    r = 0;
out:
    free(buf);
    EVP_MD_CTX_free(s);
    EVP_MD_CTX_free(m);
    return r;
}

static void col_hash_tool(const struct col_ctx *ctx, struct col_tool *t, struct col_toolcache *c,
                          int *dirty)
{
    const struct col_toolcache_entry *hit;
    struct stat st;
    int fd;

    t->hash_err = col_open_file(ctx, t->realpath, &fd, &st);
    if (t->hash_err < 0)
        return;
    if ((uint64_t)st.st_size > DA_MAX_TOOL_SIZE) {
        t->hash_err = DA_ERR_TOO_LARGE;
        close(fd);
        return;
    }
    col_tool_key(&st, &t->h);
    hit = col_toolcache_find(c, &t->h);
    if (hit != NULL) {
        t->h = *hit;
        t->hashed = 1;
    } else {
        t->hash_err = col_hash_fd(fd, &t->h);
        if (t->hash_err == 0) {
            t->hashed = 1;
            if (col_toolcache_put(c, &t->h) == 0)
                *dirty = 1;
        }
    }
    close(fd);
}

/* The names dpkg may record for a file (usr-merged systems keep /bin/x). */
static void col_dpkg_names(const char *real, const char **names, size_t *n)
{
    *n = 0;
    names[(*n)++] = real;
    if (strncmp(real, "/usr/", 5) == 0)
        names[(*n)++] = real + 4;
}

/* The names to look for in dpkg's .list files, with a filter on length.
 * A diverted name is owned only by its diverting package (only); the file
 * at a diversion's new name is the one other packages list under the
 * diverted name, owned by any package but the diverting one (not). */
struct col_owner_query {
    const char *name[2 * DA_MAX_TOOLS];
    size_t len[2 * DA_MAX_TOOLS];
    size_t tool[2 * DA_MAX_TOOLS];
    const char *only[2 * DA_MAX_TOOLS];
    const char * not [2 * DA_MAX_TOOLS];
    size_t n;
    unsigned char by_len[1024 / 8];
};

/* Is pkg ("name" or "name:arch", from a .list file name) the package name? */
static int col_pkg_is(const char *pkg, const char *name)
{
    size_t n = strcspn(pkg, ":");

    return strlen(name) == n && memcmp(pkg, name, n) == 0;
}

/* Does one .list file name any of the tools' paths? */
static void col_scan_list(const char *text, size_t len, const char *pkg, struct col_tool *tools,
                          const struct col_owner_query *q)
{
    const char *p = text, *end = text + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = (size_t)((nl != NULL ? nl : end) - p), i;

        if (ll < 1024 && (q->by_len[ll / 8] & (1u << (ll % 8))) != 0) {
            for (i = 0; i < q->n; i++) {
                struct col_tool *t = &tools[q->tool[i]];

                if (q->len[i] != ll || t->package[0] != '\0' || memcmp(q->name[i], p, ll) != 0 ||
                    (q->only[i] != NULL && !col_pkg_is(pkg, q->only[i])) ||
                    (q->not [i] != NULL && col_pkg_is(pkg, q->not [i])))
                    continue;
                snprintf(t->package, sizeof(t->package), "%s", pkg);
                snprintf(t->dpkg_path, sizeof(t->dpkg_path), "%s", q->name[i]);
            }
        }
        p += ll + 1;
    }
}

/* Map a file below the root read-only; *len 0 for an empty file. */
static int col_map(const struct col_ctx *ctx, const char *rel, const char **p, size_t *len)
{
    struct stat st;
    void *m;
    int fd, r;

    *p = NULL;
    *len = 0;
    r = col_open_file(ctx, rel, &fd, &st);
    if (r < 0)
        return r;
    if ((uint64_t)st.st_size > DA_MAX_SYSFILE) {
        close(fd);
        return DA_ERR_TOO_LARGE;
    }
    if (st.st_size == 0) {
        close(fd);
        return 0;
    }
    m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        r = da_rootfs_sys_error(errno, rel);
        close(fd);
        return r;
    }
    close(fd);
    *p = m;
    *len = (size_t)st.st_size;
    return 0;
}

static void col_unmap(const char *p, size_t len)
{
    if (p != NULL)
        munmap((void *)(uintptr_t)p, len);
}

static void col_owner_query_add(struct col_owner_query *q, size_t tool, const char *name,
                                const char *only, const char * not )
{
    size_t l = strlen(name);

    if (l >= 1024 || q->n >= 2 * DA_MAX_TOOLS)
        return;
    q->name[q->n] = name;
    q->len[q->n] = l;
    q->tool[q->n] = tool;
    q->only[q->n] = only;
    q->not [q->n] = not ;
    q->by_len[l / 8] |= (unsigned char)(1u << (l % 8));
    q->n++;
}

static int col_str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .list files of dpkg's database, sorted: the owner found does not
 * depend on the order the directory lists them in. */
static int col_list_names(const struct col_ctx *ctx, char ***out, size_t *n)
{
    struct da_rootfs_dir *d = NULL;
    struct da_rootfs_dirent e;
    char **v = NULL;
    size_t cap = 0;
    int r;

    *out = NULL;
    *n = 0;
    r = col_opendir(ctx, COL_DPKG_INFO, &d);
    if (r < 0)
        return r;
    while ((r = da_rootfs_readdir(d, &e)) == 1) {
        size_t len = strlen(e.name);

        if (len <= 5 || len >= 256 || strcmp(e.name + len - 5, ".list") != 0)
            continue;
        if (*n == cap) {
            char **nv =
                cap < DA_MAX_PACKAGES ? realloc(v, (cap ? cap * 2 : 256) * sizeof(*v)) : NULL;

            if (nv == NULL) {
                r = cap < DA_MAX_PACKAGES ? DA_ERR_NOMEM : DA_ERR_TOO_LARGE;
                break;
            }
            v = nv;
            cap = cap ? cap * 2 : 256;
        }
        if ((v[*n] = strdup(e.name)) == NULL) {
            r = DA_ERR_NOMEM;
            break;
        }
        (*n)++;
    }
    da_rootfs_closedir(d);
    if (*n > 1)
        qsort(v, *n, sizeof(*v), col_str_cmp);
    *out = v;
    return r < 0 ? r : 0;
}

/* Owners by a scan of dpkg's .list files, diversions applied as dpkg -S and
 * dpkg --verify apply them. A file or directory of the database that cannot
 * be read makes the owner of every tool not found yet unknown. */
static void col_find_owners(const struct col_ctx *ctx, struct col_tool *tools, size_t ntools,
                            const struct col_diversions *dv)
{
    char rel[600];
    char **lists = NULL;
    size_t nlists = 0;
    struct col_owner_query q;
    size_t i, k;
    int err = 0;

    memset(&q, 0, sizeof(q));
    for (i = 0; i < ntools && i < DA_MAX_TOOLS; i++) {
        const char *names[2];
        size_t nn;

        if (!tools[i].hashed)
            continue;
        col_dpkg_names(tools[i].realpath, names, &nn);
        for (k = 0; k < nn; k++) {
            const struct col_diversion *from = col_diversion_from(dv, names[k]);
            const struct col_diversion *to = col_diversion_to(dv, names[k]);

            if (from != NULL && from->package == NULL) {
                tools[i].local_divert = 1; /* the administrator's own file */
                snprintf(tools[i].divert_to, sizeof(tools[i].divert_to), "%s", from->to);
                break;
            }
            if (from != NULL)
                col_owner_query_add(&q, i, names[k], from->package, NULL);
            else if (to != NULL)
                col_owner_query_add(&q, i, to->from, NULL, to->package);
            else
                col_owner_query_add(&q, i, names[k], NULL, NULL);
        }
    }
    if (q.n == 0)
        return;
    err = col_list_names(ctx, &lists, &nlists);
    if (err < 0)
        snprintf(rel, sizeof(rel), "%s", COL_DPKG_INFO);
    for (i = 0; err == 0 && i < nlists; i++) {
        size_t mlen, len = strlen(lists[i]);
        const char *m;
        char pkg[256];
        int e;

        memcpy(pkg, lists[i], len - 5);
        pkg[len - 5] = '\0';
        snprintf(rel, sizeof(rel), COL_DPKG_INFO "/%s", lists[i]);
        e = col_map(ctx, rel, &m, &mlen);
        if (e == 0 && m != NULL) {
            col_scan_list(m, mlen, pkg, tools, &q);
            col_unmap(m, mlen);
        } else if (e < 0 && e != DA_ERR_NOT_FOUND) {
            err = e; /* removed since listed: not an error */
        }
    }
    for (i = 0; i < nlists; i++)
        free(lists[i]);
    free(lists);
    for (i = 0; err < 0 && i < ntools && i < DA_MAX_TOOLS; i++) {
        if (!tools[i].hashed || tools[i].package[0] != '\0' || tools[i].local_divert)
            continue;
        tools[i].owner_err = err;
        snprintf(tools[i].owner_where, sizeof(tools[i].owner_where), "%s", rel);
    }
}

/* dpkg's diversions; *err is 0 or why they could not be read (a missing
 * file is no diversion). */
static void col_load_diversions(const struct col_ctx *ctx, struct col_diversions *dv, int *err)
{
    struct da_buf b;

    memset(dv, 0, sizeof(*dv));
    da_buf_init(&b, DA_MAX_DPKG_DIVERSIONS);
    *err = col_read_file(ctx, COL_DPKG_DIVERSIONS, &b);
    if (*err == DA_ERR_NOT_FOUND)
        *err = 0;
    else if (*err == 0)
        *err = col_diversions_parse(da_buf_str(&b), da_buf_len(&b), dv);
    da_buf_free(&b);
}

/* dpkg's database state: the info directory changes with every package
 * installed or removed, the status file with every state change. */
static void col_dpkg_key(const struct col_ctx *ctx, char *key, size_t n)
{
    struct stat a, b, c;
    int e;

    key[0] = '\0';
    e = col_stat(ctx, COL_DPKG_DIVERSIONS, &c);
    if (e == DA_ERR_NOT_FOUND)
        memset(&c, 0, sizeof(c));
    else if (e < 0)
        return;
    if (col_stat(ctx, COL_DPKG_INFO, &a) == 0 && col_stat(ctx, "/var/lib/dpkg/status", &b) == 0)
        snprintf(key, n, "%llu.%lld.%ld.%lld.%ld-%llu.%llu.%lld.%ld-%llu.%lld.%ld",
                 (unsigned long long)a.st_ino, (long long)a.st_mtim.tv_sec, a.st_mtim.tv_nsec,
                 (long long)a.st_ctim.tv_sec, a.st_ctim.tv_nsec, (unsigned long long)b.st_ino,
                 (unsigned long long)b.st_size, (long long)b.st_mtim.tv_sec, b.st_mtim.tv_nsec,
                 (unsigned long long)c.st_ino, (long long)c.st_ctim.tv_sec, c.st_ctim.tv_nsec);
}

static void col_pkg_version(const char *status, size_t n, const char *pkg, char *out, size_t out_n);

/* Versions of the owning packages, from dpkg's status. */
static void col_versions(const struct col_ctx *ctx, struct col_tool *tools, size_t n)
{
    const char *status = NULL;
    size_t len = 0, i;

    if (col_map(ctx, "/var/lib/dpkg/status", &status, &len) != 0 || status == NULL)
        return;
    for (i = 0; i < n; i++)
        if (tools[i].package[0] != '\0' && tools[i].version[0] == '\0')
            col_pkg_version(status, len, tools[i].package, tools[i].version,
                            sizeof(tools[i].version));
    col_unmap(status, len);
}

/* Owners from the cache when dpkg's database is unchanged, else a scan. */
static void col_owners(const struct col_ctx *ctx, struct col_tool *tools, size_t n,
                       struct col_toolcache *c, int *dirty)
{
    struct col_diversions dv;
    char key[256];
    size_t i, missing = 0;
    int dv_err;

    col_load_diversions(ctx, &dv, &dv_err);
    if (dv_err < 0) {
        /* without the diversions no owner can be told */
        for (i = 0; i < n; i++) {
            tools[i].owner_err = dv_err;
            snprintf(tools[i].owner_where, sizeof(tools[i].owner_where), COL_DPKG_DIVERSIONS);
        }
        return;
    }
    col_dpkg_key(ctx, key, sizeof(key));
    if (key[0] == '\0' || strcmp(key, c->dpkg_key) != 0) {
        free(c->o);
        c->o = NULL;
        c->n_owners = 0;
        snprintf(c->dpkg_key, sizeof(c->dpkg_key), "%s", key);
    }
    for (i = 0; i < n; i++) {
        const struct col_toolcache_owner *o;

        if (!tools[i].hashed)
            continue;
        {
            const char *names[2];
            size_t nn, k;

            col_dpkg_names(tools[i].realpath, names, &nn);
            for (k = 0; k < nn; k++) {
                const struct col_diversion *dvf = col_diversion_from(&dv, names[k]);

                if (dvf != NULL && dvf->package == NULL) {
                    tools[i].local_divert = 1;
                    snprintf(tools[i].divert_to, sizeof(tools[i].divert_to), "%s", dvf->to);
                }
            }
        }
        o = col_toolcache_find_owner(c, tools[i].realpath);
        if (o == NULL) {
            missing++;
            continue;
        }
        if (strcmp(o->package, "-") != 0) {
            snprintf(tools[i].package, sizeof(tools[i].package), "%s", o->package);
            snprintf(tools[i].dpkg_path, sizeof(tools[i].dpkg_path), "%s", o->dpkg_path);
            if (strcmp(o->version, "-") != 0)
                snprintf(tools[i].version, sizeof(tools[i].version), "%s", o->version);
        }
    }
    if (missing == 0)
        goto out;
    col_find_owners(ctx, tools, n, &dv);
    col_versions(ctx, tools, n);
    for (i = 0; i < n && key[0] != '\0'; i++) {
        struct col_toolcache_owner o;

        if (!tools[i].hashed || tools[i].owner_err < 0 ||
            col_toolcache_find_owner(c, tools[i].realpath) != NULL)
            continue;
        snprintf(o.package, sizeof(o.package), "%s",
                 tools[i].package[0] != '\0' ? tools[i].package : "-");
        snprintf(o.version, sizeof(o.version), "%s",
                 tools[i].version[0] != '\0' ? tools[i].version : "-");
        snprintf(o.dpkg_path, sizeof(o.dpkg_path), "%s", tools[i].dpkg_path);
        snprintf(o.path, sizeof(o.path), "%s", tools[i].realpath);
        if (col_toolcache_put_owner(c, &o) == 0)
            *dirty = 1;
    }
out:
    col_diversions_free(&dv);
}

/* Version of an installed package from dpkg's status ("name" or "name:arch"). */
static void col_pkg_version(const char *status, size_t n, const char *pkg, char *out, size_t out_n)
{
    char needle[300], name[256], *colon;
    const char *p = status, *end = status + n;

    out[0] = '\0';
    snprintf(name, sizeof(name), "%s", pkg);
    colon = strchr(name, ':');
    if (colon != NULL)
        *colon = '\0';
    snprintf(needle, sizeof(needle), "Package: %s\n", name);
    while (p < end) {
        const char *hit = memmem(p, (size_t)(end - p), needle, strlen(needle)), *stop, *v;

        if (hit == NULL)
            return;
        p = hit + strlen(needle);
        if (hit != status && hit[-1] != '\n')
            continue;
        stop = memmem(hit, (size_t)(end - hit), "\n\n", 2);
        if (stop == NULL)
            stop = end;
        if (colon != NULL) {
            char arch[64];

            snprintf(arch, sizeof(arch), "\nArchitecture: %s\n", colon + 1);
            if (memmem(hit, (size_t)(stop - hit), arch, strlen(arch)) == NULL)
                continue;
        }
        v = memmem(hit, (size_t)(stop - hit), "\nVersion: ", 10);
        if (v == NULL)
            return;
        v += 10;
        snprintf(out, out_n, "%.*s", (int)strcspn(v, "\n"), v);
        return;
    }
}

/* 1 verified, 0 mismatch; DA_ERR_NOT_FOUND when the md5sums file has no
 * entry for the file, another DA_ERR_* when it cannot be read (rel names
 * it). */
static int col_verify_md5(const struct col_ctx *ctx, const struct col_tool *t, char *rel,
                          size_t rel_n)
{
    struct da_buf b;
    const char *p, *want = t->dpkg_path + 1;
    int r;

    snprintf(rel, rel_n, COL_DPKG_INFO "/%s.md5sums", t->package);
    da_buf_init(&b, DA_MAX_SYSFILE);
    r = col_read_file(ctx, rel, &b);
    if (r < 0)
        goto out;
    r = DA_ERR_NOT_FOUND;
    for (p = da_buf_str(&b); *p != '\0';) {
        size_t len = strcspn(p, "\n");

        if (len == 34 + strlen(want) && p[32] == ' ' && p[33] == ' ' &&
            memcmp(p + 34, want, strlen(want)) == 0) {
            r = memcmp(p, t->h.md5, 32) == 0 ? 1 : 0;
            break;
        }
        p += len;
        if (*p == '\n')
            p++;
    }
out:
    da_buf_free(&b);
    return r;
}

/* Owners and digests from the rpm database (an rpm root has no dpkg
 * status): the header's file digest is what `rpm -V` compares. */
static int col_rpm_owners(const struct col_ctx *ctx, struct col_tool *tools, size_t n)
{
    struct col_rpmdb *db = NULL;
    char dir[64], where[600];
    int e;

    int found;

    e = found = col_rpmdb_find(ctx, dir, sizeof(dir), where, sizeof(where));
    if (e == DA_ERR_NOT_FOUND)
        return 0;
    if (e == 0)
        e = col_rpmdb_open(ctx, dir, &db, where, sizeof(where));
    for (size_t i = 0; i < n; i++) {
        struct col_rpm_owner o;
        int oe = e;

        if (!tools[i].hashed)
            continue;
        tools[i].rpm = 1;
        if (oe == 0)
            oe = col_rpmdb_owner(db, tools[i].realpath, tools[i].h.sha256, tools[i].h.md5, &o);
        if (oe == DA_ERR_NOMEM) {
            col_rpmdb_close(db);
            return oe;
        }
        if (oe < 0) {
            tools[i].owner_err = oe;
            snprintf(tools[i].owner_where, sizeof(tools[i].owner_where), "%.500s",
                     found < 0 ? where : dir);
            continue;
        }
        if (o.owned) {
            snprintf(tools[i].package, sizeof(tools[i].package), "%s", o.name);
            snprintf(tools[i].version, sizeof(tools[i].version), "%s", o.evr);
            tools[i].rpm_verified = o.verified;
        }
    }
    col_rpmdb_close(db);
    return 0;
}

static int col_tool_json(const struct col_ctx *ctx, const struct col_tool *t, cJSON *arr)
{
    cJSON *o = cJSON_CreateObject();
    char md5rel[600];
    int r, v;

    COL_TRY(col_push(arr, o));
    COL_TRY(col_add_str(o, "name", t->name));
    if (!t->found && t->find_err < 0) {
        static const char *const keys[] = {
            "present", "path",    "realpath",        "sha256",
            "size",    "package", "package_version", "package_verified"};

        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            COL_TRY(col_add_unknown_err(o, keys[i], t->find_err, t->find_where));
        goto out;
    }
    COL_TRY(col_add_bool(o, "present", t->found));
    if (!t->found)
        goto out;
    COL_TRY(col_add_str(o, "path", t->path));
    COL_TRY(col_add_str(o, "realpath", t->realpath));
    if (!t->hashed) {
        /* the file that was not read is not known to be any package's either */
        static const char *const keys[] = {"sha256", "size", "package", "package_version",
                                           "package_verified"};

        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            COL_TRY(col_add_unknown_err(o, keys[i], t->hash_err,
                                        t->realpath[0] != '\0' ? t->realpath : t->path));
        goto out;
    }
    COL_TRY(col_add_str(o, "sha256", t->h.sha256));
    COL_TRY(col_add_num(o, "size", (double)t->h.size));
    if (t->local_divert) {
        char why[1200];

        snprintf(why, sizeof(why), "%.500s is locally diverted (dpkg-divert --local) to %.500s",
                 t->realpath, t->divert_to);
        COL_TRY(col_add_unknown(o, "package", COL_R_NOT_PRESENT, why));
        COL_TRY(col_add_unknown(o, "package_verified", COL_R_NOT_PRESENT, why));
        goto out;
    }
    if (t->package[0] == '\0' && t->owner_err < 0) {
        COL_TRY(col_add_unknown_err(o, "package", t->owner_err, t->owner_where));
        COL_TRY(col_add_unknown_err(o, "package_version", t->owner_err, t->owner_where));
        COL_TRY(col_add_unknown_err(o, "package_verified", t->owner_err, t->owner_where));
        goto out;
    }
    if (t->package[0] == '\0') {
        COL_TRY(cJSON_AddNullToObject(o, "package") != NULL ? 0 : DA_ERR_NOMEM);
        COL_TRY(col_add_unknown(o, "package_verified", COL_R_NOT_PRESENT,
                                t->rpm ? "no rpm package owns this file"
                                       : "no dpkg package owns this file"));
        goto out;
    }
    if (t->rpm) {
        COL_TRY(col_add_str(o, "package", t->package));
        COL_TRY(col_add_str(o, "package_version", t->version));
        if (t->rpm_verified >= 0)
            COL_TRY(col_add_bool(o, "package_verified", t->rpm_verified));
        else
            COL_TRY(col_add_unknown(o, "package_verified", COL_R_NOT_PRESENT,
                                    "the package header has no digest of this file"));
        goto out;
    }
    COL_TRY(col_add_str(o, "package", t->package));
    if (t->version[0] != '\0')
        COL_TRY(col_add_str(o, "package_version", t->version));
    else
        COL_TRY(col_add_unknown(o, "package_version", COL_R_NOT_PRESENT, "not in dpkg status"));
    v = col_verify_md5(ctx, t, md5rel, sizeof(md5rel));
    if (v >= 0)
        COL_TRY(col_add_bool(o, "package_verified", v));
    else if (v == DA_ERR_NOT_FOUND)
        COL_TRY(col_add_unknown(o, "package_verified", COL_R_NOT_PRESENT,
                                "no md5sums entry for this file"));
    else
        COL_TRY(col_add_unknown_err(o, "package_verified", v, md5rel));
out:
    return r;
}

static void col_toolcache_load_named(const struct col_ctx *ctx, struct col_toolcache *c,
                                     const char *name)
{
    struct da_buf b;

    memset(c, 0, sizeof(*c));
    da_buf_init(&b, DA_MAX_COL_CACHE);
    if (col_read_state(ctx, name, &b) == 0 &&
        col_toolcache_parse(da_buf_str(&b), da_buf_len(&b), c) != 0)
        col_toolcache_free(c); /* unusable cache: hash again */
    da_buf_free(&b);
}

static void col_toolcache_store_named(const struct col_ctx *ctx, const struct col_toolcache *c,
                                      const char *name)
{
    char *text = NULL;
    size_t len = 0;

    if (col_toolcache_format(c, &text, &len) != 0)
        return;
    (void)col_state_put(ctx, name, text, len);
    free(text);
}

/* Does the cache hold entries this run did not use? */
static int col_cache_used(const struct col_tool *tools, size_t n, const struct col_toolcache *c)
{
    size_t i, used = 0, j;

    for (j = 0; j < c->n; j++) {
        for (i = 0; i < n; i++) {
            if (tools[i].hashed && tools[i].h.dev == c->v[j].dev && tools[i].h.ino == c->v[j].ino) {
                used++;
                break;
            }
        }
    }
    return used != c->n;
}

int col_binary_sha256(const char *state_dir, const char *path, char hex[65])
{
    struct col_ctx ctx;

    memset(&ctx, 0, sizeof(ctx));
    ctx.root = "";
    ctx.state_dir = state_dir;
    return col_binary_sha256_ctx(&ctx, path, hex);
}

int col_binary_sha256_ctx(const struct col_ctx *base, const char *path, char hex[65])
{
    struct col_ctx ctx;
    struct col_toolcache cache;
    struct col_toolcache_entry e;
    const struct col_toolcache_entry *hit;
    struct da_rootfs *host = NULL;
    struct stat st;
    int fd, r;

    ctx = *base;
    ctx.root = "";
    /* the agent's own binary of the running machine: /proc/self/exe is a
     * magic link, which only this handle follows */
    r = da_rootfs_open("/", DA_ROOTFS_MAGICLINKS, &host);
    if (r == 0)
        r = da_rootfs_open_file(host, path, &fd, &st);
    da_rootfs_free(host);
    if (r < 0)
        return r;
    col_tool_key(&st, &e);
    col_toolcache_load_named(&ctx, &cache, COL_AGENTCACHE_NAME);
    hit = col_toolcache_find(&cache, &e);
    if (hit != NULL) {
        memcpy(hex, hit->sha256, 65);
        r = 0;
    } else {
        r = col_hash_fd(fd, &e);
        if (r == 0) {
            struct col_toolcache fresh;

            memcpy(hex, e.sha256, 65);
            memset(&fresh, 0, sizeof(fresh));
            if (col_toolcache_put(&fresh, &e) == 0)
                col_toolcache_store_named(&ctx, &fresh, COL_AGENTCACHE_NAME);
            col_toolcache_free(&fresh);
        }
    }
    close(fd);
    col_toolcache_free(&cache);
    return r;
}

static void col_toolcache_load(const struct col_ctx *ctx, struct col_toolcache *c)
{
    col_toolcache_load_named(ctx, c, COL_TOOLCACHE_NAME);
}

static void col_toolcache_store(const struct col_ctx *ctx, const struct col_toolcache *c)
{
    col_toolcache_store_named(ctx, c, COL_TOOLCACHE_NAME);
}

static int col_any_rpm(const struct col_tool *tools, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tools[i].rpm)
            return 1;
    return 0;
}

static int col_toolchain_collect(const struct col_ctx *ctx, cJSON *area)
{
    struct col_toolcache cache;
    struct col_tool *tools = NULL;
    cJSON *arr = NULL;
    size_t n = ctx->cfg->n_toolchain, i;
    int r, dirty = 0;

    col_toolcache_load(ctx, &cache);
    if (n > DA_MAX_TOOLS)
        n = DA_MAX_TOOLS;
    tools = calloc(n + 1, sizeof(*tools));
    if (tools == NULL) {
        r = DA_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        tools[i].name = ctx->cfg->toolchain[i];
        tools[i].found = strchr(tools[i].name, '/') == NULL && col_find_on_path(ctx, &tools[i]);
        if (!tools[i].found)
            continue;
        tools[i].hash_err =
            col_resolve_in_root(ctx, tools[i].path, tools[i].realpath, sizeof(tools[i].realpath));
        if (tools[i].hash_err == 0)
            col_hash_tool(ctx, &tools[i], &cache, &dirty);
    }
    {
        struct stat st;
        int de = col_stat(ctx, "/var/lib/dpkg/status", &st);

        if (de == DA_ERR_NOT_FOUND)
            COL_TRY(col_rpm_owners(ctx, tools, n));
        if (de != DA_ERR_NOT_FOUND || !col_any_rpm(tools, n))
            col_owners(ctx, tools, n, &cache, &dirty);
    }
    arr = cJSON_CreateArray();
    COL_TRY(col_add_item(area, "tools", arr));
    for (i = 0; i < n; i++)
        COL_TRY(col_tool_json(ctx, &tools[i], arr));
    if (dirty || col_cache_used(tools, n, &cache)) {
        struct col_toolcache fresh;

        /* keep only the files hashed this run, so the cache cannot grow */
        memset(&fresh, 0, sizeof(fresh));
        for (i = 0; i < n; i++)
            if (tools[i].hashed && col_toolcache_put(&fresh, &tools[i].h) != 0)
                break;
        memcpy(fresh.dpkg_key, cache.dpkg_key, sizeof(fresh.dpkg_key));
        for (i = 0; i < n; i++) {
            const struct col_toolcache_owner *o =
                tools[i].hashed ? col_toolcache_find_owner(&cache, tools[i].realpath) : NULL;

            if (o != NULL && col_toolcache_put_owner(&fresh, o) != 0)
                break;
        }
        col_toolcache_store(ctx, &fresh);
        col_toolcache_free(&fresh);
    }
out:
    free(tools);
    col_toolcache_free(&cache);
    return r;
}

const struct da_collector col_toolchain = {"toolchain", col_toolchain_collect};

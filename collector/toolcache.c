/* Toolchain hash cache text form:
 *   devattest-toolchain-cache 1
 *   f DEV INO SIZE MTIME_S MTIME_NS CTIME_S CTIME_NS SHA256 MD5   (0..COL_TOOLCACHE_MAX)
 *   dpkg KEY                                                       (optional)
 *   o PACKAGE VERSION DPKG_PATH REALPATH  (PACKAGE, VERSION, DPKG_PATH "-" when unowned)
 *   end
 * Paths have no spaces or control characters (others are not cached).
 */
#include "toolcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "caps.h"

#define COL_TOOLCACHE_MAGIC "devattest-toolchain-cache 1\n"

static int col_tc_u64(const char **pp, const char *end, uint64_t *out, char stop)
{
    const char *p = *pp;
    uint64_t v = 0;

    if (p >= end || *p < '0' || *p > '9' ||
        (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9'))
        return -1;
    while (p < end && *p >= '0' && *p <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
    }
    if (p >= end || *p != stop)
        return -1;
    *pp = p + 1;
    *out = v;
    return 0;
}

static int col_tc_hex(const char **pp, const char *end, char *out, size_t len, char stop)
{
    const char *p = *pp;
    size_t i;

    if ((size_t)(end - p) < len + 1)
        return -1;
    for (i = 0; i < len; i++) {
        if (strchr("0123456789abcdef", p[i]) == NULL || p[i] == '\0')
            return -1;
        out[i] = p[i];
    }
    out[len] = '\0';
    if (p[len] != stop)
        return -1;
    *pp = p + len + 1;
    return 0;
}

static int col_tc_line(const char **pp, const char *end, struct col_toolcache_entry *e)
{
    uint64_t t[7];
    int i;

    if (end - *pp < 2 || (*pp)[0] != 'f' || (*pp)[1] != ' ')
        return -1;
    *pp += 2;
    for (i = 0; i < 7; i++)
        if (col_tc_u64(pp, end, &t[i], ' ') != 0)
            return -1;
    if (t[4] >= 1000000000u || t[6] >= 1000000000u || t[3] > INT64_MAX || t[5] > INT64_MAX)
        return -1;
    e->dev = t[0];
    e->ino = t[1];
    e->size = t[2];
    e->mtime_s = (int64_t)t[3];
    e->mtime_ns = (int64_t)t[4];
    e->ctime_s = (int64_t)t[5];
    e->ctime_ns = (int64_t)t[6];
    if (col_tc_hex(pp, end, e->sha256, 64, ' ') != 0 || col_tc_hex(pp, end, e->md5, 32, '\n') != 0)
        return -1;
    return 0;
}

/* Printable ASCII; spaces allowed only when spaces != 0. */
static int col_tc_printable(const char *p, size_t n, int spaces)
{
    size_t i;

    for (i = 0; i < n; i++)
        if ((unsigned char)p[i] < 32 || (unsigned char)p[i] >= 127 || (!spaces && p[i] == ' '))
            return 0;
    return 1;
}

/* One space-terminated (or newline-terminated) word into out. */
static int col_tc_word(const char **pp, const char *end, char *out, size_t n, char stop)
{
    const char *p = *pp, *e = memchr(p, stop, (size_t)(end - p));

    if (e == NULL || e == p || (size_t)(e - p) >= n || !col_tc_printable(p, (size_t)(e - p), 0))
        return -1;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
    *pp = e + 1;
    return 0;
}

static int col_tc_owner(const char **pp, const char *end, struct col_toolcache *c)
{
    struct col_toolcache_owner o;
    const char *nl = memchr(*pp, '\n', (size_t)(end - *pp));

    if (nl == NULL)
        return -1;
    *pp += 2;
    if (col_tc_word(pp, nl + 1, o.package, sizeof(o.package), ' ') != 0 ||
        col_tc_word(pp, nl + 1, o.version, sizeof(o.version), ' ') != 0 ||
        col_tc_word(pp, nl + 1, o.dpkg_path, sizeof(o.dpkg_path), ' ') != 0 ||
        col_tc_word(pp, nl + 1, o.path, sizeof(o.path), '\n') != 0 || o.path[0] != '/')
        return -1;
    if ((strcmp(o.package, "-") == 0) != (strcmp(o.dpkg_path, "-") == 0))
        return -1;
    if (strcmp(o.package, "-") == 0 && strcmp(o.version, "-") != 0)
        return -1;
    if (strcmp(o.dpkg_path, "-") == 0)
        o.dpkg_path[0] = '\0';
    else if (o.dpkg_path[0] != '/')
        return -1;
    if (col_toolcache_find_owner(c, o.path) != NULL)
        return -1; /* one entry per path */
    return col_toolcache_put_owner(c, &o);
}

int col_toolcache_parse(const char *p, size_t n, struct col_toolcache *out)
{
    const char *end = p + n;
    size_t mlen = sizeof(COL_TOOLCACHE_MAGIC) - 1;

    memset(out, 0, sizeof(*out));
    if (n > DA_MAX_COL_CACHE || n < mlen || memcmp(p, COL_TOOLCACHE_MAGIC, mlen) != 0)
        return DA_ERR_COLLECT_PARSE;
    p += mlen;
    while (p < end && *p == 'f') {
        struct col_toolcache_entry e;

        size_t i;

        if (col_tc_line(&p, end, &e) != 0) {
            col_toolcache_free(out);
            return DA_ERR_COLLECT_PARSE;
        }
        for (i = 0; i < out->n; i++) {
            if (out->v[i].dev == e.dev && out->v[i].ino == e.ino) {
                col_toolcache_free(out); /* one entry per file */
                return DA_ERR_COLLECT_PARSE;
            }
        }
        if (col_toolcache_put(out, &e) != 0) {
            col_toolcache_free(out);
            return DA_ERR_COLLECT_PARSE;
        }
    }
    if (end - p > 5 && memcmp(p, "dpkg ", 5) == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) - 5 : 0;

        if (nl == NULL || len == 0 || len >= sizeof(out->dpkg_key) ||
            !col_tc_printable(p + 5, len, 1)) {
            col_toolcache_free(out);
            return DA_ERR_COLLECT_PARSE;
        }
        memcpy(out->dpkg_key, p + 5, len);
        out->dpkg_key[len] = '\0';
        p = nl + 1;
        while (end - p > 2 && memcmp(p, "o ", 2) == 0) {
            if (col_tc_owner(&p, end, out) != 0) {
                col_toolcache_free(out);
                return DA_ERR_COLLECT_PARSE;
            }
        }
    }
    if ((size_t)(end - p) != 4 || memcmp(p, "end\n", 4) != 0) {
        col_toolcache_free(out);
        return DA_ERR_COLLECT_PARSE;
    }
    return 0;
}

int col_toolcache_format(const struct col_toolcache *c, char **out, size_t *out_len)
{
    struct da_buf b;
    size_t i;
    int r;

    *out = NULL;
    da_buf_init(&b, DA_MAX_COL_CACHE);
    r = da_buf_append_str(&b, COL_TOOLCACHE_MAGIC);
    for (i = 0; r == 0 && i < c->n; i++) {
        const struct col_toolcache_entry *e = &c->v[i];

        r = da_buf_printf(&b, "f %llu %llu %llu %lld %lld %lld %lld %s %s\n",
                          (unsigned long long)e->dev, (unsigned long long)e->ino,
                          (unsigned long long)e->size, (long long)e->mtime_s,
                          (long long)e->mtime_ns, (long long)e->ctime_s, (long long)e->ctime_ns,
                          e->sha256, e->md5);
    }
    if (r == 0 && c->dpkg_key[0] != '\0') {
        r = da_buf_printf(&b, "dpkg %s\n", c->dpkg_key);
        for (i = 0; r == 0 && i < c->n_owners; i++) {
            const struct col_toolcache_owner *o = &c->o[i];

            if (!col_tc_printable(o->path, strlen(o->path), 0) ||
                !col_tc_printable(o->dpkg_path, strlen(o->dpkg_path), 0))
                continue;
            if (!col_tc_printable(o->version, strlen(o->version), 0) || o->version[0] == '\0')
                continue;
            r = da_buf_printf(&b, "o %s %s %s %s\n", o->package, o->version,
                              o->dpkg_path[0] != '\0' ? o->dpkg_path : "-", o->path);
        }
    }
    if (r == 0)
        r = da_buf_append_str(&b, "end\n");
    if (r == 0 && (*out = (char *)da_buf_take(&b, out_len)) == NULL)
        r = DA_ERR_NOMEM;
    da_buf_free(&b);
    return r;
}

static int col_tc_same_key(const struct col_toolcache_entry *a, const struct col_toolcache_entry *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_s == b->mtime_s &&
           a->mtime_ns == b->mtime_ns && a->ctime_s == b->ctime_s && a->ctime_ns == b->ctime_ns;
}

const struct col_toolcache_entry *col_toolcache_find(const struct col_toolcache *c,
                                                     const struct col_toolcache_entry *key)
{
    size_t i;

    for (i = 0; i < c->n; i++)
        if (col_tc_same_key(&c->v[i], key))
            return &c->v[i];
    return NULL;
}

int col_toolcache_put(struct col_toolcache *c, const struct col_toolcache_entry *e)
{
    struct col_toolcache_entry *nv;
    size_t i;

    for (i = 0; i < c->n; i++) {
        if (c->v[i].dev == e->dev && c->v[i].ino == e->ino) {
            c->v[i] = *e; /* the same file changed: replace */
            return 0;
        }
    }
    if (c->n >= COL_TOOLCACHE_MAX)
        return DA_ERR_TOO_LARGE;
    nv = realloc(c->v, (c->n + 1) * sizeof(*nv));
    if (nv == NULL)
        return DA_ERR_NOMEM;
    c->v = nv;
    c->v[c->n++] = *e;
    return 0;
}

int col_toolcache_put_owner(struct col_toolcache *c, const struct col_toolcache_owner *o)
{
    struct col_toolcache_owner *nv;

    if (col_toolcache_find_owner(c, o->path) != NULL)
        return 0;
    if (c->n_owners >= COL_TOOLCACHE_MAX)
        return DA_ERR_TOO_LARGE;
    nv = realloc(c->o, (c->n_owners + 1) * sizeof(*nv));
    if (nv == NULL)
        return DA_ERR_NOMEM;
    c->o = nv;
    c->o[c->n_owners++] = *o;
    return 0;
}

const struct col_toolcache_owner *col_toolcache_find_owner(const struct col_toolcache *c,
                                                           const char *path)
{
    size_t i;

    for (i = 0; i < c->n_owners; i++)
        if (strcmp(c->o[i].path, path) == 0)
            return &c->o[i];
    return NULL;
}

void col_toolcache_free(struct col_toolcache *c)
{
    if (c == NULL)
        return;
    free(c->v);
    free(c->o);
    c->v = NULL;
    c->o = NULL;
    c->n = 0;
    c->n_owners = 0;
    c->dpkg_key[0] = '\0';
}

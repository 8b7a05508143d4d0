/* The first-seen record of pending upgrades: when the agent first saw each
 * (package name, candidate version) pending. It lives in the state
 * directory, which is outside input like every file there: the parser is
 * strict and a record that deviates in any way is refused whole. */
#include "deb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "caps.h"
#include "err.h"

#define COL_SEEN_MAGIC    "devattest-pending-seen 1"
#define COL_SEEN_MAX_ROOT 4096

void col_seen_free(struct col_seen *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->n; i++) {
        free(s->v[i].name);
        free(s->v[i].candidate);
    }
    free(s->v);
    free(s->root);
    memset(s, 0, sizeof(*s));
}

static int col_seen_key_cmp(const char *name_a, const char *cand_a, const char *name_b,
                            const char *cand_b)
{
    int c = strcmp(name_a, name_b);

    return c != 0 ? c : strcmp(cand_a, cand_b);
}

static int col_seen_entry_cmp(const void *a, const void *b)
{
    const struct col_seen_entry *x = a, *y = b;

    return col_seen_key_cmp(x->name, x->candidate, y->name, y->candidate);
}

/* A name or version we can write on one space-separated line. */
static int col_seen_token_ok(const char *p, size_t n)
{
    size_t i;

    if (n == 0 || n >= COL_DEB_MAX_FIELD)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
            return 0;
    return 1;
}

/* Decimal seconds without sign or leading zero, in [1, max]. */
static int col_seen_time(const char *p, size_t n, int64_t max, int64_t *out)
{
    int64_t v = 0;
    size_t i;

    if (n == 0 || n > 12 || p[0] == '0')
        return -1;
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    if (v > max || v > COL_SEEN_MAX_TIME)
        return -1;
    *out = v;
    return 0;
}

static char *col_seen_dup(const char *p, size_t n)
{
    char *s = malloc(n + 1);

    if (s != NULL) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/* "seen NAME CANDIDATE TIME", appended in strictly increasing key order. */
static int col_seen_entry_line(const char *p, size_t n, int64_t now, struct col_seen *out,
                               size_t *alloc)
{
    const char *name, *cand, *t, *end = p + n;
    struct col_seen_entry e;

    if (n < 5 || memcmp(p, "seen ", 5) != 0)
        return DA_ERR_COLLECT_PARSE;
    name = p + 5;
    cand = memchr(name, ' ', (size_t)(end - name));
    if (cand == NULL)
        return DA_ERR_COLLECT_PARSE;
    cand++;
    t = memchr(cand, ' ', (size_t)(end - cand));
    if (t == NULL)
        return DA_ERR_COLLECT_PARSE;
    t++;
    if (!col_seen_token_ok(name, (size_t)(cand - 1 - name)) ||
        !col_seen_token_ok(cand, (size_t)(t - 1 - cand)) ||
        col_debver_check(cand, (size_t)(t - 1 - cand)) < 0 ||
        col_seen_time(t, (size_t)(end - t), now, &e.first_seen) != 0)
        return DA_ERR_COLLECT_PARSE;
    if (out->n >= COL_DEB_MAX_PENDING)
        return DA_ERR_COLLECT_PARSE;
    if (out->n == *alloc) {
        size_t na = *alloc == 0 ? 16 : *alloc * 2;
        struct col_seen_entry *nv = realloc(out->v, na * sizeof(*nv));

        if (nv == NULL)
            return DA_ERR_NOMEM;
        out->v = nv;
        *alloc = na;
    }
    e.name = col_seen_dup(name, (size_t)(cand - 1 - name));
    e.candidate = col_seen_dup(cand, (size_t)(t - 1 - cand));
    if (e.name == NULL || e.candidate == NULL) {
        free(e.name);
        free(e.candidate);
        return DA_ERR_NOMEM;
    }
    if (out->n > 0 && col_seen_entry_cmp(&out->v[out->n - 1], &e) >= 0) {
        free(e.name);
        free(e.candidate);
        return DA_ERR_COLLECT_PARSE; /* out of order or repeated */
    }
    out->v[out->n++] = e;
    return 0;
}

/* "root PATH": any bytes but control characters, as the agent was given it. */
static int col_seen_root_line(const char *p, size_t n, struct col_seen *out)
{
    size_t i;

    if (n < 6 || memcmp(p, "root ", 5) != 0 || n - 5 >= COL_SEEN_MAX_ROOT)
        return DA_ERR_COLLECT_PARSE;
    for (i = 5; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] == 0x7f)
            return DA_ERR_COLLECT_PARSE;
    out->root = col_seen_dup(p + 5, n - 5);
    return out->root != NULL ? 0 : DA_ERR_NOMEM;
}

int col_seen_parse(const char *p, size_t n, int64_t now, struct col_seen *out)
{
    const char *end = p + n;
    size_t alloc = 0;
    int line = 0, done = 0, r = 0;

    memset(out, 0, sizeof(*out));
    if (n > DA_MAX_PENDING_SEEN)
        return DA_ERR_COLLECT_PARSE;
    while (p < end && r == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len;

        if (nl == NULL || done) {
            r = DA_ERR_COLLECT_PARSE; /* unterminated line or data after "end" */
            break;
        }
        len = (size_t)(nl - p);
        if (memchr(p, '\0', len) != NULL)
            r = DA_ERR_COLLECT_PARSE;
        else if (line == 0)
            r = len == strlen(COL_SEEN_MAGIC) && memcmp(p, COL_SEEN_MAGIC, len) == 0
                    ? 0
                    : DA_ERR_COLLECT_PARSE;
        else if (line == 1)
            r = col_seen_root_line(p, len, out);
        else if (len == 3 && memcmp(p, "end", 3) == 0)
            done = 1;
        else
            r = col_seen_entry_line(p, len, now, out, &alloc);
        line++;
        p = nl + 1;
    }
    if (r == 0 && !done)
        r = DA_ERR_COLLECT_PARSE;
    if (r < 0)
        col_seen_free(out);
    return r;
}

int col_seen_format(const struct col_seen *s, char **out, size_t *out_len)
{
    struct da_buf b;
    size_t i;
    int r;

    *out = NULL;
    *out_len = 0;
    da_buf_init(&b, DA_MAX_PENDING_SEEN);
    r = da_buf_printf(&b, COL_SEEN_MAGIC "\nroot %s\n", s->root != NULL ? s->root : "");
    for (i = 0; r == 0 && i < s->n; i++)
        r = da_buf_printf(&b, "seen %s %s %lld\n", s->v[i].name, s->v[i].candidate,
                          (long long)s->v[i].first_seen);
    if (r == 0)
        r = da_buf_append_str(&b, "end\n");
    if (r == 0) {
        *out = (char *)da_buf_take(&b, out_len);
        if (*out == NULL)
            r = DA_ERR_NOMEM;
    }
    da_buf_free(&b);
    return r;
}

const struct col_seen_entry *col_seen_find(const struct col_seen *s, const char *name,
                                           const char *candidate)
{
    size_t lo = 0, hi = s->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = col_seen_key_cmp(name, candidate, s->v[mid].name, s->v[mid].candidate);

        if (c == 0)
            return &s->v[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

int col_seen_update(const struct col_seen *old, const struct col_patch_facts *f, const char *root,
                    int64_t now, struct col_seen *out)
{
    size_t i, k;
    int r = DA_ERR_NOMEM;

    memset(out, 0, sizeof(*out));
    for (i = 0; root[i] != '\0'; i++)
        if ((unsigned char)root[i] < 0x20 || (unsigned char)root[i] == 0x7f)
            return DA_ERR_COLLECT_PARSE;
    if (i == 0 || i >= COL_SEEN_MAX_ROOT)
        return DA_ERR_COLLECT_PARSE;
    out->root = strdup(root);
    if (out->root == NULL)
        goto out;
    if (f->n_pending > 0) {
        out->v = calloc(f->n_pending, sizeof(*out->v));
        if (out->v == NULL)
            goto out;
    }
    for (i = 0; i < f->n_pending; i++) {
        const struct col_pending *p = &f->pending[i];
        struct col_seen_entry *e = &out->v[out->n];
        const struct col_seen_entry *was;

        if (!col_seen_token_ok(p->name, strlen(p->name)) ||
            !col_seen_token_ok(p->candidate, strlen(p->candidate)) ||
            col_debver_check(p->candidate, strlen(p->candidate)) < 0)
            continue;
        e->name = strdup(p->name);
        e->candidate = strdup(p->candidate);
        out->n++;
        if (e->name == NULL || e->candidate == NULL)
            goto out;
        was = old != NULL ? col_seen_find(old, p->name, p->candidate) : NULL;
        e->first_seen = was != NULL ? was->first_seen : now;
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), col_seen_entry_cmp);
    /* several architectures of one package share a key */
    for (i = 0, k = 0; i < out->n; i++) {
        if (k > 0 && col_seen_entry_cmp(&out->v[k - 1], &out->v[i]) == 0) {
            free(out->v[i].name);
            free(out->v[i].candidate);
            continue;
        }
        out->v[k++] = out->v[i];
    }
    out->n = k;
    r = 0;
out:
    if (r < 0)
        col_seen_free(out);
    return r;
}

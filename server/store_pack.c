/* Compact report storage: zstd frames, JSON member spans, the per-report
 * record and the evidence set's area list (store_pack.h). */
#include "store_pack.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "err.h"
#include "picky.h"

#define PACK_MAGIC     "DAP2"
#define AREAS_MAGIC    "DAE2"
#define PACK_ABSENT    0xffffffffu
#define ZSTD_LEVEL     3
#define JSON_MAX_DEPTH 512

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(const char *t, size_t len, size_t i)
{
    while (i < len && is_ws(t[i]))
        i++;
    return i;
}

/* t[i] is '"': the index after the closing quote, or 0. */
static size_t scan_string(const char *t, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (t[i] == '\\') {
            i++;
            continue;
        }
        if (t[i] == '"')
            return i + 1;
        if ((unsigned char)t[i] < 0x20)
            return 0;
    }
    return 0;
}

/* The index after the value starting at t[i], or 0. */
static size_t scan_value(const char *t, size_t len, size_t i)
{
    char stack[JSON_MAX_DEPTH];
    size_t depth = 0;

    if (i >= len)
        return 0;
    if (t[i] == '"')
        return scan_string(t, len, i);
    if (t[i] != '{' && t[i] != '[') {
        size_t s = i;

        while (i < len && !is_ws(t[i]) && t[i] != ',' && t[i] != '}' && t[i] != ']' &&
               t[i] != ':' && t[i] != '"' && t[i] != '{' && t[i] != '[')
            i++;
        return i > s ? i : 0;
    }
    while (i < len) {
        char c = t[i];

        if (c == '"') {
            i = scan_string(t, len, i);
            if (i == 0)
                return 0;
            continue;
        }
        if (c == '{' || c == '[') {
            if (depth >= JSON_MAX_DEPTH)
                return 0;
            stack[depth++] = c == '{' ? '}' : ']';
        } else if (c == '}' || c == ']') {
            if (depth == 0 || stack[depth - 1] != c)
                return 0;
            if (--depth == 0)
                return i + 1;
        }
        i++;
    }
    return 0;
}

bool srv_json_members(const char *text, size_t len, struct srv_json_member *m, size_t max,
                      size_t *n)
{
    size_t i = skip_ws(text, len, 0), e;

    *n = 0;
    if (i >= len || text[i] != '{')
        return false;
    i = skip_ws(text, len, i + 1);
    if (i < len && text[i] == '}')
        return skip_ws(text, len, i + 1) == len;
    for (;;) {
        if (*n >= max || i >= len || text[i] != '"')
            return false;
        e = scan_string(text, len, i);
        if (e == 0)
            return false;
        m[*n].key_off = i;
        m[*n].key_len = e - i;
        i = skip_ws(text, len, e);
        if (i >= len || text[i] != ':')
            return false;
        i = skip_ws(text, len, i + 1);
        e = scan_value(text, len, i);
        if (e == 0)
            return false;
        m[*n].val_off = i;
        m[*n].val_len = e - i;
        (*n)++;
        i = skip_ws(text, len, e);
        if (i < len && text[i] == ',') {
            i = skip_ws(text, len, i + 1);
            continue;
        }
        if (i < len && text[i] == '}')
            return skip_ws(text, len, i + 1) == len;
        return false;
    }
}

/* ---- zstd ---- */

/* One compression and one decompression context per thread, kept (making
 * one costs more than compressing a record), freed when the thread ends. */
static pthread_once_t zstd_once = PTHREAD_ONCE_INIT;
static pthread_key_t zstd_ckey, zstd_dkey;

static void free_cctx(void *p)
{
    ZSTD_freeCCtx(p);
}

static void free_dctx(void *p)
{
    ZSTD_freeDCtx(p);
}

static void make_keys(void)
{
    pthread_key_create(&zstd_ckey, free_cctx);
    pthread_key_create(&zstd_dkey, free_dctx);
}

static ZSTD_CCtx *thread_cctx(void)
{
    ZSTD_CCtx *c;

    pthread_once(&zstd_once, make_keys);
    c = pthread_getspecific(zstd_ckey);
    if (c == NULL) {
        c = ZSTD_createCCtx();
        if (c != NULL && pthread_setspecific(zstd_ckey, c) != 0) {
            ZSTD_freeCCtx(c);
            c = NULL;
        }
    } else if (ZSTD_isError(ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters))) {
        c = NULL;
    }
    return c;
}

static ZSTD_DCtx *thread_dctx(void)
{
    ZSTD_DCtx *d;

    pthread_once(&zstd_once, make_keys);
    d = pthread_getspecific(zstd_dkey);
    if (d == NULL) {
        d = ZSTD_createDCtx();
        if (d != NULL && pthread_setspecific(zstd_dkey, d) != 0) {
            ZSTD_freeDCtx(d);
            d = NULL;
        }
    } else if (ZSTD_isError(ZSTD_DCtx_reset(d, ZSTD_reset_session_and_parameters))) {
        d = NULL;
    }
    return d;
}

int srv_zstd_compress(const void *src, size_t len, const void *prefix, size_t prefix_len,
                      unsigned char **out, size_t *out_len)
{
    ZSTD_CCtx *c = thread_cctx();
    size_t cap = ZSTD_compressBound(len), n;
    int rc = 0;

    *out = NULL;
    *out_len = 0;
    if (c == NULL)
        return DA_ERR_NOMEM;
    *out = malloc(cap > 0 ? cap : 1);
    if (*out == NULL)
        return DA_ERR_NOMEM;
    if (ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, ZSTD_LEVEL)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1)) ||
        (prefix != NULL && prefix_len > 0 &&
         ZSTD_isError(ZSTD_CCtx_refPrefix(c, prefix, prefix_len))))
        rc = DA_ERR_INTERNAL;
    if (rc == 0) {
        n = ZSTD_compress2(c, *out, cap, src, len);
        if (ZSTD_isError(n))
            rc = DA_ERR_INTERNAL;
        else
            *out_len = n;
    }
    if (rc != 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

int srv_zstd_decompress(const void *src, size_t len, const void *prefix, size_t prefix_len,
                        size_t max, unsigned char **out, size_t *out_len)
{
    unsigned long long size = ZSTD_getFrameContentSize(src, len);
    ZSTD_DCtx *d;
    size_t n;
    int rc = 0;

    *out = NULL;
    *out_len = 0;
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > max)
        return DA_ERR_STORE_CORRUPT;
    d = thread_dctx();
    if (d == NULL)
        return DA_ERR_NOMEM;
    *out = malloc((size_t)size + 1);
    if (*out == NULL)
        return DA_ERR_NOMEM;
    if (prefix != NULL && prefix_len > 0 &&
        ZSTD_isError(ZSTD_DCtx_refPrefix(d, prefix, prefix_len)))
        rc = DA_ERR_INTERNAL;
    if (rc == 0) {
        n = ZSTD_decompressDCtx(d, *out, (size_t)size, src, len);
        if (ZSTD_isError(n) || n != (size_t)size)
            rc = DA_ERR_STORE_CORRUPT;
    }
    if (rc != 0) {
        free(*out);
        *out = NULL;
        return rc;
    }
    (*out)[size] = '\0';
    *out_len = (size_t)size;
    return 0;
}

/* ---- the per-report record ---- */

struct wbuf {
    unsigned char *p;
    size_t len, cap;
    int rc;
};

static void put(struct wbuf *b, const void *p, size_t n)
{
    if (b->rc != 0)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap > 0 ? b->cap : 256;
        unsigned char *np;

        while (cap < b->len + n)
            cap *= 2;
        np = realloc(b->p, cap);
        if (np == NULL) {
            b->rc = DA_ERR_NOMEM;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void put_u32(struct wbuf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};

    put(b, x, 4);
}

static void put_text(struct wbuf *b, const char *t, size_t n)
{
    if (t == NULL) {
        put_u32(b, PACK_ABSENT);
        return;
    }
    if (n >= PACK_ABSENT) {
        b->rc = DA_ERR_INVALID_ARG;
        return;
    }
    put_u32(b, (uint32_t)n);
    put(b, t, n);
}

static int finish(struct wbuf *b, unsigned char **out, size_t *out_len)
{
    if (b->rc != 0) {
        free(b->p);
        return b->rc;
    }
    *out = b->p;
    *out_len = b->len;
    return 0;
}

int srv_pack_rec_write(const struct srv_pack_rec *r, unsigned char **out, size_t *out_len)
{
    struct wbuf b = {NULL, 0, 0, 0};
    size_t i;

    *out = NULL;
    *out_len = 0;
    if (r->n_subs > SRV_PACK_MAX_SUBS)
        return DA_ERR_INVALID_ARG;
    put(&b, PACK_MAGIC, 4);
    put_text(&b, (const char *)r->areas, r->areas_len);
    put_text(&b, r->transcript, r->transcript_len);
    put_text(&b, r->receipt, r->receipt_len);
    put_text(&b, r->skeleton, r->skeleton_len);
    put_u32(&b, (uint32_t)r->n_subs);
    for (i = 0; i < r->n_subs; i++) {
        put_u32(&b, r->subs[i].offset);
        put(&b, &r->subs[i].kind, 1);
        if (r->subs[i].kind == SRV_PACK_SUB_BLOB)
            put(&b, r->subs[i].digest, 32);
    }
    return finish(&b, out, out_len);
}

struct rbuf {
    const unsigned char *p;
    size_t len, off;
    bool bad;
};

static uint32_t get_u32(struct rbuf *b)
{
    uint32_t v;

    if (b->bad || b->len - b->off < 4) {
        b->bad = true;
        return 0;
    }
    v = (uint32_t)b->p[b->off] | (uint32_t)b->p[b->off + 1] << 8 |
        (uint32_t)b->p[b->off + 2] << 16 | (uint32_t)b->p[b->off + 3] << 24;
    b->off += 4;
    return v;
}

static const unsigned char *get(struct rbuf *b, size_t n)
{
    const unsigned char *p;

    if (b->bad || b->len - b->off < n) {
        b->bad = true;
        return NULL;
    }
    p = b->p + b->off;
    b->off += n;
    return p;
}

static void get_text(struct rbuf *b, const char **t, size_t *n)
{
    uint32_t l = get_u32(b);

    *t = NULL;
    *n = 0;
    if (b->bad || l == PACK_ABSENT)
        return;
    *t = (const char *)get(b, l);
    *n = l;
}

int srv_pack_rec_read(const unsigned char *raw, size_t len, struct srv_pack_rec *r)
{
    struct rbuf b = {raw, len, 0, false};
    const unsigned char *magic = get(&b, 4);
    uint32_t i, n, prev = 0;

    memset(r, 0, sizeof(*r));
    if (magic == NULL || memcmp(magic, PACK_MAGIC, 4) != 0)
        return DA_ERR_STORE_CORRUPT;
    {
        const char *areas = NULL;

        get_text(&b, &areas, &r->areas_len);
        r->areas = (const unsigned char *)areas;
    }
    get_text(&b, &r->transcript, &r->transcript_len);
    get_text(&b, &r->receipt, &r->receipt_len);
    get_text(&b, &r->skeleton, &r->skeleton_len);
    n = get_u32(&b);
    if (b.bad || n > SRV_PACK_MAX_SUBS || (n > 0 && r->skeleton == NULL))
        return DA_ERR_STORE_CORRUPT;
    for (i = 0; i < n; i++) {
        const unsigned char *k, *d;

        r->subs[i].offset = get_u32(&b);
        k = get(&b, 1);
        if (k == NULL || r->subs[i].offset < prev || r->subs[i].offset > r->skeleton_len)
            return DA_ERR_STORE_CORRUPT;
        prev = r->subs[i].offset;
        r->subs[i].kind = *k;
        if (*k == SRV_PACK_SUB_BLOB) {
            d = get(&b, 32);
            if (d == NULL)
                return DA_ERR_STORE_CORRUPT;
            memcpy(r->subs[i].digest, d, 32);
        } else if (*k != SRV_PACK_SUB_EVIDENCE) {
            return DA_ERR_STORE_CORRUPT;
        }
    }
    r->n_subs = n;
    return b.bad || b.off != len ? DA_ERR_STORE_CORRUPT : 0;
}

/* ---- the evidence's area list ---- */

int srv_pack_areas_write(const struct srv_pack_area *a, size_t n, unsigned char **out,
                         size_t *out_len)
{
    struct wbuf b = {NULL, 0, 0, 0};
    size_t i;

    *out = NULL;
    *out_len = 0;
    put(&b, AREAS_MAGIC, 4);
    put_u32(&b, (uint32_t)n);
    for (i = 0; i < n; i++) {
        put_text(&b, a[i].key, a[i].key_len);
        put(&b, &a[i].kind, 1);
        if (a[i].kind == SRV_PACK_AREA_INLINE)
            put_text(&b, a[i].value, a[i].value_len);
        else if (a[i].kind == SRV_PACK_AREA_BLOB)
            put(&b, a[i].digest, 32);
        else
            b.rc = DA_ERR_INVALID_ARG;
    }
    return finish(&b, out, out_len);
}

int srv_pack_areas_read(const unsigned char *raw, size_t len, struct srv_pack_area *a, size_t max,
                        size_t *n)
{
    struct rbuf b = {raw, len, 0, false};
    const unsigned char *magic = get(&b, 4), *k;
    uint32_t i, count;

    *n = 0;
    if (magic == NULL || memcmp(magic, AREAS_MAGIC, 4) != 0)
        return DA_ERR_STORE_CORRUPT;
    count = get_u32(&b);
    if (b.bad || count > max || count == 0)
        return DA_ERR_STORE_CORRUPT;
    for (i = 0; i < count; i++) {
        memset(&a[i], 0, sizeof(a[i]));
        get_text(&b, &a[i].key, &a[i].key_len);
        k = get(&b, 1);
        if (b.bad || a[i].key == NULL || k == NULL)
            return DA_ERR_STORE_CORRUPT;
        a[i].kind = *k;
        if (*k == SRV_PACK_AREA_INLINE) {
            get_text(&b, &a[i].value, &a[i].value_len);
            if (a[i].value == NULL)
                return DA_ERR_STORE_CORRUPT;
        } else if (*k == SRV_PACK_AREA_BLOB) {
            a[i].digest = get(&b, 32);
        } else {
            return DA_ERR_STORE_CORRUPT;
        }
        if (b.bad || (a[i].key_len == 0 && count != 1))
            return DA_ERR_STORE_CORRUPT;
    }
    *n = count;
    return b.off == len ? 0 : DA_ERR_STORE_CORRUPT;
}

#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "err.h"

void da_buf_init(struct da_buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

/* Make room for need more bytes plus the terminator. */
static int da_buf_reserve(struct da_buf *b, size_t need)
{
    size_t want, nalloc;
    unsigned char *n;

    if (need > b->cap || b->len > b->cap - need)
        return DA_ERR_TOO_LARGE;
    want = b->len + need + 1;
    if (want <= b->alloc)
        return 0;
    nalloc = b->alloc != 0 ? b->alloc : 64;
    while (nalloc < want)
        nalloc = nalloc > ((size_t)-1) / 2 ? want : nalloc * 2;
    if (nalloc > b->cap + 1)
        nalloc = b->cap + 1;
    /* No realloc: the old block may hold secrets and must be wiped. */
    n = malloc(nalloc);
    if (n == NULL)
        return DA_ERR_NOMEM;
    if (b->data != NULL) {
        memcpy(n, b->data, b->len + 1);
        OPENSSL_cleanse(b->data, b->alloc);
        free(b->data);
    }
    b->data = n;
    b->alloc = nalloc;
    return 0;
}

int da_buf_append(struct da_buf *b, const void *p, size_t n)
{
    int r;

    if (n == 0) {
        r = da_buf_reserve(b, 0);
        if (r == 0)
            b->data[b->len] = '\0';
        return r;
    }
    if (p == NULL)
        return DA_ERR_INVALID_ARG;
    r = da_buf_reserve(b, n);
    if (r != 0)
        return r;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int da_buf_append_str(struct da_buf *b, const char *s)
{
    if (s == NULL)
        return DA_ERR_INVALID_ARG;
    return da_buf_append(b, s, strlen(s));
}

int da_buf_append_byte(struct da_buf *b, unsigned char c)
{
    return da_buf_append(b, &c, 1);
}

int da_buf_vprintf(struct da_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n, r;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return DA_ERR_INVALID_ARG;
    r = da_buf_reserve(b, (size_t)n);
    if (r != 0)
        return r;
    if (vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap) != n)
        return DA_ERR_INTERNAL;
    b->len += (size_t)n;
    return 0;
}

int da_buf_printf(struct da_buf *b, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = da_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

const unsigned char *da_buf_data(const struct da_buf *b)
{
    return b->data != NULL ? b->data : (const unsigned char *)"";
}

const char *da_buf_str(const struct da_buf *b)
{
    return (const char *)da_buf_data(b);
}

size_t da_buf_len(const struct da_buf *b)
{
    return b->len;
}

size_t da_buf_cap(const struct da_buf *b)
{
    return b->cap;
}

unsigned char *da_buf_take(struct da_buf *b, size_t *len)
{
    unsigned char *p;

    if (b->data == NULL) {
        p = calloc(1, 1);
        if (p == NULL)
            return NULL;
    } else {
        p = b->data;
    }
    if (len != NULL)
        *len = b->len;
    b->data = NULL; /* transferred */
    b->len = 0;
    b->alloc = 0;
    return p;
}

void da_buf_reset(struct da_buf *b)
{
    if (b->data != NULL)
        OPENSSL_cleanse(b->data, b->alloc);
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

void da_buf_free(struct da_buf *b)
{
    if (b == NULL)
        return;
    if (b->data != NULL) {
        OPENSSL_cleanse(b->data, b->alloc);
        free(b->data);
    }
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
}

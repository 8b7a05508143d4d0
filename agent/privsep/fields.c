#include "fields.h"

#include <string.h>

#include "err.h"

int agent_fields_put(struct da_buf *b, const void *p, size_t n)
{
    unsigned char len[4];
    int r;

    if (n > 0xffffffffu)
        return DA_ERR_TOO_LARGE;
    len[0] = (unsigned char)(n >> 24);
    len[1] = (unsigned char)(n >> 16);
    len[2] = (unsigned char)(n >> 8);
    len[3] = (unsigned char)n;
    r = da_buf_append(b, len, 4);
    if (r == 0 && n != 0)
        r = da_buf_append(b, p, n);
    return r;
}

int agent_fields_put_str(struct da_buf *b, const char *s)
{
    return agent_fields_put(b, s, strlen(s));
}

int agent_fields_put_u64(struct da_buf *b, uint64_t v)
{
    unsigned char x[8];
    int i;

    for (i = 7; i >= 0; i--) {
        x[i] = (unsigned char)v;
        v >>= 8;
    }
    return agent_fields_put(b, x, 8);
}

int agent_fields_split(const unsigned char *payload, size_t len, size_t n, const size_t *caps,
                       struct agent_field *out)
{
    size_t i, pos = 0;

    for (i = 0; i < n; i++) {
        size_t flen;

        out[i].data = NULL;
        out[i].len = 0;
        if (len - pos < 4)
            return DA_ERR_TRUNCATED;
        flen = ((size_t)payload[pos] << 24) | ((size_t)payload[pos + 1] << 16) |
               ((size_t)payload[pos + 2] << 8) | payload[pos + 3];
        pos += 4;
        if (flen > caps[i])
            return DA_ERR_TOO_LARGE;
        if (len - pos < flen)
            return DA_ERR_TRUNCATED;
        out[i].data = payload + pos;
        out[i].len = flen;
        pos += flen;
    }
    return pos == len ? 0 : DA_ERR_TRAILING_DATA;
}

int agent_field_u64(const struct agent_field *f, uint64_t *v)
{
    size_t i;

    *v = 0;
    if (f->len != 8)
        return DA_ERR_INVALID_ARG;
    for (i = 0; i < 8; i++)
        *v = (*v << 8) | f->data[i];
    return 0;
}

int agent_field_str(const struct agent_field *f, char *out, size_t size)
{
    if (size == 0)
        return DA_ERR_INVALID_ARG;
    out[0] = '\0';
    if (f->len >= size || (f->len != 0 && memchr(f->data, '\0', f->len) != NULL))
        return DA_ERR_INVALID_ARG;
    if (f->len != 0)
        memcpy(out, f->data, f->len);
    out[f->len] = '\0';
    return 0;
}

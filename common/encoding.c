#include "encoding.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "err.h"

enum da_b64_pad { PAD_REQUIRED, PAD_FORBIDDEN, PAD_OPTIONAL };

static const char da_b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char da_b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char da_hex_digits[] = "0123456789abcdef";

static bool b64_is_url(enum da_base64_variant v)
{
    return v == DA_BASE64_URL || v == DA_BASE64_URL_NOPAD;
}

static bool b64_writes_pad(enum da_base64_variant v)
{
    return v == DA_BASE64_STD || v == DA_BASE64_URL;
}

static enum da_b64_pad b64_pad_rule(enum da_base64_variant v)
{
    if (v == DA_BASE64_STD)
        return PAD_REQUIRED;
    if (v == DA_BASE64_URL)
        return PAD_OPTIONAL;
    return PAD_FORBIDDEN;
}

static bool b64_variant_ok(enum da_base64_variant v)
{
    return v == DA_BASE64_STD || v == DA_BASE64_STD_NOPAD || v == DA_BASE64_URL ||
           v == DA_BASE64_URL_NOPAD;
}

/* Value of one base64 character, or -1 outside the variant's alphabet. */
static int b64_value(unsigned char c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

size_t da_base64_encoded_len(size_t n, enum da_base64_variant v)
{
    size_t full = n / 3, rem = n % 3;

    if (full > (SIZE_MAX - 4) / 4)
        return 0;
    if (rem == 0)
        return full * 4;
    return full * 4 + (b64_writes_pad(v) ? 4 : rem + 1);
}

size_t da_base64_decoded_max(size_t len)
{
    return len / 4 * 3 + (len % 4 > 1 ? len % 4 - 1 : 0);
}

static void b64_encode_raw(const unsigned char *in, size_t len, enum da_base64_variant v, char *out)
{
    const char *abc = b64_is_url(v) ? da_b64_url : da_b64_std;
    size_t i, o = 0;
    uint32_t w;

    for (i = 0; i + 3 <= len; i += 3) {
        w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = abc[w >> 18];
        out[o++] = abc[(w >> 12) & 63];
        out[o++] = abc[(w >> 6) & 63];
        out[o++] = abc[w & 63];
    }
    if (i == len)
        return;
    w = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
    out[o++] = abc[w >> 18];
    out[o++] = abc[(w >> 12) & 63];
    if (i + 1 < len)
        out[o++] = abc[(w >> 6) & 63];
    else if (b64_writes_pad(v))
        out[o++] = '=';
    if (b64_writes_pad(v))
        out[o++] = '=';
}

/* Append n bytes produced by fill() without ever leaving out half-written. */
static int append_generated(struct da_buf *out, size_t n, void (*fill)(void *, unsigned char *),
                            void *ctx)
{
    unsigned char *tmp;
    int r;

    if (n > da_buf_cap(out) - da_buf_len(out))
        return DA_ERR_TOO_LARGE;
    if (n == 0)
        return da_buf_append(out, "", 0);
    tmp = malloc(n);
    if (tmp == NULL)
        return DA_ERR_NOMEM;
    fill(ctx, tmp);
    r = da_buf_append(out, tmp, n);
    OPENSSL_cleanse(tmp, n);
    free(tmp);
    return r;
}

struct b64_encode_job {
    const unsigned char *in;
    size_t len;
    enum da_base64_variant v;
};

static void b64_encode_fill(void *ctx, unsigned char *dst)
{
    struct b64_encode_job *j = ctx;

    b64_encode_raw(j->in, j->len, j->v, (char *)dst);
}

int da_base64_encode(const void *data, size_t len, enum da_base64_variant v, struct da_buf *out)
{
    struct b64_encode_job j = {data, len, v};
    size_t n;

    if (out == NULL || (data == NULL && len > 0) || !b64_variant_ok(v))
        return DA_ERR_INVALID_ARG;
    n = da_base64_encoded_len(len, v);
    if (n == 0 && len > 0)
        return DA_ERR_TOO_LARGE;
    return append_generated(out, n, b64_encode_fill, &j);
}

/* Checks length and padding; *data_len gets the number of alphabet
 * characters and *outlen the decoded size. */
static int b64_check_shape(const char *in, size_t len, enum da_base64_variant v, size_t *data_len,
                           size_t *outlen)
{
    enum da_b64_pad rule = b64_pad_rule(v);
    size_t pad = 0, n, rem;

    while (pad < len && pad < 3 && in[len - 1 - pad] == '=')
        pad++;
    n = len - pad;
    rem = n % 4;
    if (rem == 1 || pad > 2)
        return DA_ERR_BASE64;
    if (pad > 0 && (rule == PAD_FORBIDDEN || len % 4 != 0 || pad != 4 - rem))
        return DA_ERR_BASE64;
    if (pad == 0 && rule == PAD_REQUIRED && rem != 0)
        return DA_ERR_BASE64;
    *data_len = n;
    *outlen = n / 4 * 3 + (rem == 0 ? 0 : rem - 1);
    return 0;
}

/* Decodes n alphabet characters; rejects other characters and non-zero
 * bits left over in the last character. */
static int b64_decode_raw(const char *in, size_t n, bool url, unsigned char *out)
{
    uint32_t w = 0;
    size_t i, o = 0;
    int val, bits = 0;

    for (i = 0; i < n; i++) {
        val = b64_value((unsigned char)in[i], url);
        if (val < 0)
            return DA_ERR_BASE64;
        w = (w << 6 | (uint32_t)val) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(w >> bits);
        }
    }
    if ((w & ((1u << bits) - 1)) != 0)
        return DA_ERR_BASE64;
    return 0;
}

static int b64_validate(const char *in, size_t n, bool url)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (b64_value((unsigned char)in[i], url) < 0)
            return DA_ERR_BASE64;
    }
    return 0;
}

int da_base64_decode_to(const char *in, size_t len, enum da_base64_variant v, unsigned char *out,
                        size_t outsize, size_t *outlen)
{
    size_t n, need;
    int r;

    if (outlen != NULL)
        *outlen = 0;
    if ((in == NULL && len > 0) || !b64_variant_ok(v) || (out == NULL && outsize > 0))
        return DA_ERR_INVALID_ARG;
    r = b64_check_shape(in, len, v, &n, &need);
    if (r == 0)
        r = b64_validate(in, n, b64_is_url(v));
    if (r != 0)
        return r;
    if (need > outsize)
        return DA_ERR_TOO_LARGE;
    r = b64_decode_raw(in, n, b64_is_url(v), out);
    if (r != 0) {
        OPENSSL_cleanse(out, need);
        return r;
    }
    if (outlen != NULL)
        *outlen = need;
    return 0;
}

int da_base64_decode(const char *in, size_t len, enum da_base64_variant v, struct da_buf *out)
{
    unsigned char *tmp = NULL;
    size_t n, need, got;
    int r;

    if (out == NULL || (in == NULL && len > 0) || !b64_variant_ok(v))
        return DA_ERR_INVALID_ARG;
    r = b64_check_shape(in, len, v, &n, &need);
    if (r != 0)
        return r;
    if (need > da_buf_cap(out) - da_buf_len(out))
        return DA_ERR_TOO_LARGE;
    tmp = malloc(need + 1);
    if (tmp == NULL)
        return DA_ERR_NOMEM;
    r = da_base64_decode_to(in, len, v, tmp, need, &got);
    if (r == 0)
        r = da_buf_append(out, tmp, got);
    OPENSSL_cleanse(tmp, need + 1);
    free(tmp);
    return r;
}

static void hex_encode_raw(const unsigned char *in, size_t len, char *out)
{
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = da_hex_digits[in[i] >> 4];
        out[2 * i + 1] = da_hex_digits[in[i] & 15];
    }
}

struct hex_encode_job {
    const unsigned char *in;
    size_t len;
};

static void hex_encode_fill(void *ctx, unsigned char *dst)
{
    struct hex_encode_job *j = ctx;

    hex_encode_raw(j->in, j->len, (char *)dst);
}

int da_hex_encode(const void *data, size_t len, struct da_buf *out)
{
    struct hex_encode_job j = {data, len};

    if (out == NULL || (data == NULL && len > 0))
        return DA_ERR_INVALID_ARG;
    if (len > SIZE_MAX / 2)
        return DA_ERR_TOO_LARGE;
    return append_generated(out, 2 * len, hex_encode_fill, &j);
}

int da_hex_encode_to(const void *data, size_t len, char *out, size_t outsize)
{
    if (out == NULL || (data == NULL && len > 0))
        return DA_ERR_INVALID_ARG;
    if (len > (SIZE_MAX - 1) / 2 || outsize < 2 * len + 1)
        return DA_ERR_TOO_LARGE;
    hex_encode_raw(data, len, out);
    out[2 * len] = '\0';
    return 0;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int hex_validate(const char *in, size_t len)
{
    size_t i;

    if (len % 2 != 0)
        return DA_ERR_HEX;
    for (i = 0; i < len; i++) {
        if (hex_value((unsigned char)in[i]) < 0)
            return DA_ERR_HEX;
    }
    return 0;
}

int da_hex_decode_to(const char *in, size_t len, unsigned char *out, size_t outsize, size_t *outlen)
{
    size_t i;
    int r;

    if (outlen != NULL)
        *outlen = 0;
    if ((in == NULL && len > 0) || (out == NULL && outsize > 0))
        return DA_ERR_INVALID_ARG;
    r = hex_validate(in, len);
    if (r != 0)
        return r;
    if (len / 2 > outsize)
        return DA_ERR_TOO_LARGE;
    for (i = 0; i < len / 2; i++)
        out[i] = (unsigned char)(hex_value((unsigned char)in[2 * i]) << 4 |
                                 hex_value((unsigned char)in[2 * i + 1]));
    if (outlen != NULL)
        *outlen = len / 2;
    return 0;
}

struct hex_decode_job {
    const char *in;
    size_t len;
};

static void hex_decode_fill(void *ctx, unsigned char *dst)
{
    struct hex_decode_job *j = ctx;

    (void)da_hex_decode_to(j->in, j->len, dst, j->len / 2, NULL);
}

int da_hex_decode(const char *in, size_t len, struct da_buf *out)
{
    struct hex_decode_job j = {in, len};
    int r;

    if (out == NULL || (in == NULL && len > 0))
        return DA_ERR_INVALID_ARG;
    r = hex_validate(in, len);
    if (r != 0)
        return r;
    return append_generated(out, len / 2, hex_decode_fill, &j);
}

bool da_hex_is_lower(const char *s, size_t len)
{
    size_t i;

    if (s == NULL || len == 0 || len % 2 != 0)
        return false;
    for (i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

size_t da_utf8_seq_len(const unsigned char *p, size_t n)
{
    unsigned char c, lo = 0x80, hi = 0xbf;
    size_t need, i;

    if (p == NULL || n == 0)
        return 0;
    c = p[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        need = 2;
    else if (c >= 0xe0 && c <= 0xef)
        need = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        need = 4;
    else
        return 0;
    /* Second-byte ranges that exclude overlongs, surrogates and > U+10FFFF. */
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (n < need || p[1] < lo || p[1] > hi)
        return 0;
    for (i = 2; i < need; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    }
    return need;
}

bool da_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, n;

    if (s == NULL)
        return len == 0;
    while (i < len) {
        if (p[i] < 0x80) { /* the common case, without a call */
            i++;
            continue;
        }
        n = da_utf8_seq_len(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

#include "digest.h"

#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "encoding.h"
#include "err.h"

struct da_digest_ctx {
    EVP_MD_CTX *md;
    enum da_digest_alg alg;
    bool finished;
};

static const EVP_MD *da_digest_md(enum da_digest_alg alg)
{
    switch (alg) {
    case DA_DIGEST_SHA256:
        return EVP_sha256();
    case DA_DIGEST_SHA384:
        return EVP_sha384();
    }
    return NULL;
}

size_t da_digest_len(enum da_digest_alg alg)
{
    switch (alg) {
    case DA_DIGEST_SHA256:
        return DA_SHA256_LEN;
    case DA_DIGEST_SHA384:
        return DA_SHA384_LEN;
    }
    return 0;
}

const char *da_digest_name(enum da_digest_alg alg)
{
    switch (alg) {
    case DA_DIGEST_SHA256:
        return "sha256";
    case DA_DIGEST_SHA384:
        return "sha384";
    }
    return NULL;
}

int da_digest(enum da_digest_alg alg, const void *data, size_t len, unsigned char *out)
{
    const EVP_MD *md = da_digest_md(alg);
    unsigned int n = 0;

    if (md == NULL || out == NULL || (data == NULL && len > 0))
        return DA_ERR_INVALID_ARG;
    if (EVP_Digest(len > 0 ? data : "", len, out, &n, md, NULL) != 1)
        return DA_ERR_CRYPTO;
    return n == da_digest_len(alg) ? 0 : DA_ERR_CRYPTO;
}

int da_sha256(const void *data, size_t len, unsigned char out[DA_SHA256_LEN])
{
    return da_digest(DA_DIGEST_SHA256, data, len, out);
}

int da_sha384(const void *data, size_t len, unsigned char out[DA_SHA384_LEN])
{
    return da_digest(DA_DIGEST_SHA384, data, len, out);
}

int da_digest_hex(enum da_digest_alg alg, const void *data, size_t len, char *out, size_t outsize)
{
    unsigned char d[DA_DIGEST_MAX_LEN];
    size_t n = da_digest_len(alg);
    int r;

    if (out == NULL || n == 0)
        return DA_ERR_INVALID_ARG;
    if (outsize < 2 * n + 1)
        return DA_ERR_TOO_LARGE;
    r = da_digest(alg, data, len, d);
    if (r == 0)
        r = da_hex_encode_to(d, n, out, outsize);
    return r;
}

int da_sha256_hex(const void *data, size_t len, char out[DA_SHA256_HEX_SIZE])
{
    return da_digest_hex(DA_DIGEST_SHA256, data, len, out, DA_SHA256_HEX_SIZE);
}

int da_digest_new(enum da_digest_alg alg, struct da_digest_ctx **out)
{
    const EVP_MD *md = da_digest_md(alg);
    struct da_digest_ctx *c = NULL;
    int r = DA_ERR_NOMEM;

    if (out != NULL)
        *out = NULL;
    if (out == NULL || md == NULL)
        return DA_ERR_INVALID_ARG;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        goto out;
    c->alg = alg;
    c->md = EVP_MD_CTX_new();
    if (c->md == NULL)
        goto out;
    r = DA_ERR_CRYPTO;
    if (EVP_DigestInit_ex(c->md, md, NULL) != 1)
        goto out;
    *out = c;
    c = NULL; /* transferred */
    r = 0;
out:
    da_digest_free(c);
    return r;
}

int da_digest_update(struct da_digest_ctx *ctx, const void *data, size_t len)
{
    if (ctx == NULL || ctx->finished || (data == NULL && len > 0))
        return DA_ERR_INVALID_ARG;
    if (len == 0)
        return 0;
    return EVP_DigestUpdate(ctx->md, data, len) == 1 ? 0 : DA_ERR_CRYPTO;
}

int da_digest_final(struct da_digest_ctx *ctx, unsigned char *out, size_t outsize)
{
    unsigned int n = 0;

    if (ctx == NULL || ctx->finished || out == NULL)
        return DA_ERR_INVALID_ARG;
    if (outsize < da_digest_len(ctx->alg))
        return DA_ERR_TOO_LARGE;
    ctx->finished = true;
    if (EVP_DigestFinal_ex(ctx->md, out, &n) != 1 || n != da_digest_len(ctx->alg))
        return DA_ERR_CRYPTO;
    return 0;
}

void da_digest_free(struct da_digest_ctx *ctx)
{
    if (ctx == NULL)
        return;
    EVP_MD_CTX_free(ctx->md);
    free(ctx);
}

bool da_ct_equal(const void *a, const void *b, size_t n)
{
    if (n == 0)
        return true;
    if (a == NULL || b == NULL)
        return false;
    return CRYPTO_memcmp(a, b, n) == 0;
}

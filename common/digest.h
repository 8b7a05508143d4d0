/* SHA-256 and SHA-384 over OpenSSL EVP, and a constant-time comparison.
 *
 * One-shot helpers for whole buffers, an incremental context for streams
 * (files, request bodies), and lower-case hex output for documents that
 * carry digests as text (evidence, in-toto subjects).
 */
#ifndef DA_DIGEST_H
#define DA_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#define DA_SHA256_LEN      32
#define DA_SHA384_LEN      48
#define DA_DIGEST_MAX_LEN  48
#define DA_SHA256_HEX_SIZE (2 * DA_SHA256_LEN + 1) /* with the NUL */
#define DA_SHA384_HEX_SIZE (2 * DA_SHA384_LEN + 1)
#define DA_DIGEST_HEX_SIZE (2 * DA_DIGEST_MAX_LEN + 1)

enum da_digest_alg {
    DA_DIGEST_SHA256 = 0,
    DA_DIGEST_SHA384 = 1,
};

/* Incremental hashing; opaque. */
struct da_digest_ctx;

/* Digest size in bytes, or 0 for an unknown algorithm. */
size_t da_digest_len(enum da_digest_alg alg);
/* "sha256", "sha384" (the names used in in-toto digest sets), or NULL. */
const char *da_digest_name(enum da_digest_alg alg);

/* One-shot digest of data[0..len) into out (da_digest_len(alg) bytes). */
int da_digest(enum da_digest_alg alg, const void *data, size_t len, unsigned char *out);
int da_sha256(const void *data, size_t len, unsigned char out[DA_SHA256_LEN]);
int da_sha384(const void *data, size_t len, unsigned char out[DA_SHA384_LEN]);
/* One-shot digest as lower-case hex with a NUL; outsize >= 2 * len + 1. */
int da_digest_hex(enum da_digest_alg alg, const void *data, size_t len, char *out, size_t outsize);
int da_sha256_hex(const void *data, size_t len, char out[DA_SHA256_HEX_SIZE]);

/* Incremental: new, update any number of times, final once, free. */
int da_digest_new(enum da_digest_alg alg, struct da_digest_ctx **out);
int da_digest_update(struct da_digest_ctx *ctx, const void *data, size_t len);
/* Writes da_digest_len() bytes to out; outsize must be at least that.
 * After final the context accepts no more updates (DA_ERR_INVALID_ARG). */
int da_digest_final(struct da_digest_ctx *ctx, unsigned char *out, size_t outsize);
void da_digest_free(struct da_digest_ctx *ctx);

/* Equality of two n-byte regions in time independent of their contents
 * (CRYPTO_memcmp). For MACs, digests, challenge answers. */
bool da_ct_equal(const void *a, const void *b, size_t n);

#endif

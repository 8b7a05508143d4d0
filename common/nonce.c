#include "nonce.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "err.h"

#define DA_NONCE_BODY_LEN (DA_NONCE_RANDOM_LEN + 8)

/* HMAC over body || binding. The binding has no length field of its own:
 * the body is fixed-size, so body || binding is unambiguous. */
static int nonce_mac(const uint8_t *key, size_t key_len, const uint8_t *body, const uint8_t *bind,
                     size_t bind_len, uint8_t mac[32])
{
    uint8_t msg[DA_NONCE_BODY_LEN + DA_NONCE_BIND_MAX];
    unsigned int len = 0;
    int rc = 0;

    if (bind_len > DA_NONCE_BIND_MAX || (bind == NULL && bind_len > 0))
        return DA_ERR_INVALID_ARG;
    memcpy(msg, body, DA_NONCE_BODY_LEN);
    if (bind_len > 0)
        memcpy(msg + DA_NONCE_BODY_LEN, bind, bind_len);
    if (HMAC(EVP_sha256(), key, (int)key_len, msg, DA_NONCE_BODY_LEN + bind_len, mac, &len) ==
            NULL ||
        len != 32)
        rc = DA_ERR_CRYPTO;
    OPENSSL_cleanse(msg, sizeof(msg));
    return rc;
}

int da_nonce_make(const uint8_t *key, size_t key_len, const uint8_t *bind, size_t bind_len,
                  uint64_t now, uint32_t lifetime_s, uint8_t out[DA_NONCE_LEN])
{
    uint64_t expiry = now + lifetime_s;
    int i;

    if (key == NULL || key_len < DA_NONCE_KEY_MIN || key_len > 1024 || lifetime_s == 0 ||
        out == NULL || expiry < now || bind_len > DA_NONCE_BIND_MAX ||
        (bind == NULL && bind_len > 0))
        return DA_ERR_INVALID_ARG;
    if (RAND_bytes(out, DA_NONCE_RANDOM_LEN) != 1)
        return DA_ERR_CRYPTO;
    for (i = 0; i < 8; i++)
        out[DA_NONCE_RANDOM_LEN + i] = (uint8_t)(expiry >> (56 - 8 * i));
    return nonce_mac(key, key_len, out, bind, bind_len, out + DA_NONCE_BODY_LEN);
}

int da_nonce_verify(const uint8_t *key, size_t key_len, const uint8_t *bind, size_t bind_len,
                    const uint8_t *nonce, size_t len, uint64_t now, da_nonce_mark_used_fn mark_used,
                    void *ctx, uint64_t *expiry)
{
    uint8_t mac[32];
    uint64_t exp = 0;
    int i, rc;

    if (expiry != NULL)
        *expiry = 0;
    if (key == NULL || key_len < DA_NONCE_KEY_MIN || key_len > 1024)
        return DA_ERR_INVALID_ARG;
    if (nonce == NULL || len != DA_NONCE_LEN)
        return DA_ERR_VERIFY_NONCE;
    if ((rc = nonce_mac(key, key_len, nonce, bind, bind_len, mac)) != 0)
        return rc;
    rc = CRYPTO_memcmp(mac, nonce + DA_NONCE_BODY_LEN, sizeof(mac)) == 0 ? 0 : DA_ERR_VERIFY_NONCE;
    OPENSSL_cleanse(mac, sizeof(mac));
    if (rc != 0)
        return rc;
    for (i = 0; i < 8; i++)
        exp = exp << 8 | nonce[DA_NONCE_RANDOM_LEN + i];
    if (expiry != NULL)
        *expiry = exp;
    if (now >= exp)
        return DA_ERR_VERIFY_NONCE_EXPIRED;
    if (mark_used != NULL)
        return mark_used(nonce, len, ctx);
    return 0;
}

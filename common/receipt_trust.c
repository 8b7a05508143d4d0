/* Receipt key lookup and trust (receipt_trust.h). */
#include "receipt_trust.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "bundle.h"
#include "digest.h"
#include "err.h"
#include "json.h"

int da_key_id(EVP_PKEY *key, char out[65])
{
    unsigned char *der = NULL;
    int n = key != NULL ? i2d_PUBKEY(key, &der) : -1, rc;

    if (n <= 0)
        return DA_ERR_CRYPTO;
    rc = da_sha256_hex(der, (size_t)n, out);
    OPENSSL_free(der);
    return rc;
}

int da_cert_verify_at(X509 *ca, X509 *x, STACK_OF(X509) * untrusted, int64_t t, const char **why)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rc = DA_ERR_NOMEM;

    *why = "";
    if (store == NULL || ctx == NULL || X509_STORE_add_cert(store, ca) != 1 ||
        X509_STORE_CTX_init(ctx, store, x, untrusted) != 1)
        goto out;
    X509_STORE_CTX_set_time(ctx, 0, (time_t)t);
    if (X509_verify_cert(ctx) == 1) {
        rc = 0;
    } else {
        *why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
        rc = DA_ERR_BUNDLE_CHAIN;
    }
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return rc;
}

int da_receipt_keys_parse(const char *text, size_t len, cJSON **out)
{
    const cJSON *keys;

    *out = NULL;
    if (len > DA_MAX_KEYS_FILE || da_json_parse(text, len, DA_MAX_KEYS_FILE, out) != 0)
        return DA_ERR_BUNDLE_KEYS;
    keys = cJSON_GetObjectItemCaseSensitive(*out, "receipt_keys");
    if (!cJSON_IsObject(*out) || !cJSON_IsArray(keys) ||
        cJSON_GetArraySize(keys) > DA_MAX_RECEIPT_KEYS) {
        cJSON_Delete(*out);
        *out = NULL;
        return DA_ERR_BUNDLE_KEYS;
    }
    return 0;
}

static X509 *pem_cert(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

    BIO_free(bio);
    return x;
}

/* The certificate lists DA_OID_RECEIPT_KEY_EKU among its key purposes. */
static bool has_receipt_eku(X509 *x)
{
    ASN1_OBJECT *want = OBJ_txt2obj(DA_OID_RECEIPT_KEY_EKU, 1);
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
    bool found = false;

    for (int i = 0; want != NULL && eku != NULL && !found && i < sk_ASN1_OBJECT_num(eku); i++)
        found = OBJ_cmp(sk_ASN1_OBJECT_value(eku, i), want) == 0;
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    ASN1_OBJECT_free(want);
    return found;
}

int da_receipt_key_find(const cJSON *keys, X509 *ca, const char *keyid, int64_t t, X509 **out,
                        const char **why)
{
    const cJSON *k;
    char id[65];
    X509 *x = NULL;
    int rc = DA_ERR_BUNDLE_RECEIPT_KEY;

    *out = NULL;
    *why = "no receipt keys given";
    if (keys == NULL || ca == NULL)
        return rc;
    *why = "the key id is not among the receipt keys";
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(keys, "receipt_keys"))
    {
        const char *kid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "keyid"));
        const char *pem = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "certificate"));

        if (kid != NULL && pem != NULL && keyid != NULL && strcmp(kid, keyid) == 0) {
            x = pem_cert(pem);
            break;
        }
    }
    if (x == NULL)
        goto out;
    *why = "the listed certificate is not for that key id";
    if (da_key_id(X509_get0_pubkey(x), id) != 0 || strcmp(id, keyid) != 0)
        goto out;
    *why = "the key's certificate is not a receipt key certificate";
    if (!has_receipt_eku(x))
        goto out;
    if (da_cert_verify_at(ca, x, NULL, t, why) != 0)
        goto out;
    *out = x;
    x = NULL; /* transferred */
    rc = 0;
out:
    X509_free(x);
    return rc;
}

/* The ustar reader of evidence packs (common/tar.h), and the receipt key
 * list a pack carries as keys/keys.json (common/receipt_trust.h): every
 * member named so is parsed as a key list and each listed key looked up
 * against a CA made here. No certificate in the input can chain to that
 * CA, so a key that is accepted is a bug. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "fuzz_target.h"
#include "receipt_trust.h"
#include "tar.h"

/* A moment inside any validity period the input may state. */
#define LOOKUP_TIME 1800000000

static X509 *ca;

static X509 *make_ca(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *n = X509_get_subject_name(x);

    if (key == NULL || x == NULL ||
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"fuzz CA", -1, -1,
                                   0) != 1 ||
        X509_set_issuer_name(x, n) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -86400) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(x), 36500, 0, NULL) == NULL ||
        X509_set_pubkey(x, key) != 1 || X509_sign(x, key, EVP_sha256()) <= 0)
        abort();
    EVP_PKEY_free(key);
    return x;
}

static void key_list(const struct da_tar_member *m)
{
    cJSON *keys = NULL;
    const cJSON *k;

    if (da_receipt_keys_parse((const char *)m->data, m->len, &keys) != 0)
        return;
    if (ca == NULL)
        ca = make_ca();
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(keys, "receipt_keys"))
    {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "keyid"));
        const char *why = NULL;
        X509 *x = NULL;

        if (da_receipt_key_find(keys, ca, id, LOOKUP_TIME, &x, &why) == 0 || x != NULL ||
            why == NULL)
            abort();
    }
    cJSON_Delete(keys);
}

static int touch(const struct da_tar_member *m, void *ctx)
{
    unsigned *sum = ctx;

    /* read every byte the reader hands out: ASan sees any overrun */
    for (size_t i = 0; i < m->len; i++)
        *sum += m->data[i];
    *sum += (unsigned)strlen(m->name);
    if (strcmp(m->name, "keys/keys.json") == 0)
        key_list(m);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned sum = 0;

    (void)da_tar_read(data, size, touch, &sum);
    return 0;
}

/* common/receipt_trust.c: the key id against the openssl command's SHA-256
 * of the DER public key; the key list's refusals; each reason a listed key
 * is not trusted, with certificates made here with OpenSSL (the evidence
 * pack and bundle integration tests cover the same against a real server). */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "bundle.h"
#include "err.h"
#include "receipt_trust.h"

static X509 *cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                  const char *eku, long nb, long na)
{
    X509 *x = X509_new();
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(rand() & 0xffff) + 1);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(issuer != NULL ? issuer : x));
    X509_gmtime_adj(X509_getm_notBefore(x), nb);
    X509_gmtime_adj(X509_getm_notAfter(x), na);
    X509_set_pubkey(x, key);
    X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, eku != NULL ? NID_ext_key_usage : NID_basic_constraints,
                              eku != NULL ? eku : "critical,CA:TRUE");
    assert_non_null(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
    return x;
}

static char *pem(X509 *x)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL, *out;
    long n;

    assert_int_equal(PEM_write_bio_X509(bio, x), 1);
    n = BIO_get_mem_data(bio, &data);
    /* a memory BIO's contents are not NUL-terminated: copy by length
     * (strndup may read past them looking for a NUL) */
    out = malloc((size_t)n + 1);
    assert_non_null(out);
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    BIO_free(bio);
    return out;
}

/* da_key_id equals `openssl pkey -pubout -outform DER | sha256sum`. */
static void test_key_id_oracle(void **state)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    const char *tmp = getenv("TMPDIR");
    char id[65], path[512], cmd[700], want[80] = "";
    FILE *f;
    int fd;

    (void)state;
    snprintf(path, sizeof(path), "%s/receipt-trust-XXXXXX", tmp != NULL ? tmp : "/tmp");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_int_equal(PEM_write_PUBKEY(f, k), 1);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "openssl pkey -pubin -in %s -outform DER | sha256sum", path);
    f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(want, sizeof(want), f));
    pclose(f);
    unlink(path);
    want[64] = '\0';
    assert_int_equal(da_key_id(k, id), 0);
    assert_string_equal(id, want);
    assert_int_equal(da_key_id(NULL, id), DA_ERR_CRYPTO);
    EVP_PKEY_free(k);
}

static void test_keys_parse_refusals(void **state)
{
    static const char *const bad[] = {"",
                                      "[]",
                                      "{}",
                                      "{\"receipt_keys\": {}}",
                                      "{\"receipt_keys\": []} x",
                                      "{\"receipt_keys\": 1}"};
    cJSON *out = NULL;
    char *many;
    size_t n = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(da_receipt_keys_parse(bad[i], strlen(bad[i]), &out), DA_ERR_BUNDLE_KEYS);
        assert_null(out);
    }
    /* DA_MAX_RECEIPT_KEYS entries are read, one more is refused */
    many = malloc(32 + 3 * (DA_MAX_RECEIPT_KEYS + 1));
    n = (size_t)snprintf(many, 32, "{\"receipt_keys\": [{}");
    for (int i = 1; i < DA_MAX_RECEIPT_KEYS; i++)
        n += (size_t)snprintf(many + n, 4, ",{}");
    snprintf(many + n, 4, "]}");
    assert_int_equal(da_receipt_keys_parse(many, strlen(many), &out), 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(out, "receipt_keys")),
                     DA_MAX_RECEIPT_KEYS);
    cJSON_Delete(out);
    snprintf(many + n, 8, ",{}]}");
    assert_int_equal(da_receipt_keys_parse(many, strlen(many), &out), DA_ERR_BUNDLE_KEYS);
    assert_null(out);
    free(many);
}

/* One key list entry per case, each looked up at now. */
static void test_key_find_reasons(void **state)
{
    EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *other_key = EVP_EC_gen("P-256");
    EVP_PKEY *rk = EVP_EC_gen("P-256"), *rk2 = EVP_EC_gen("P-256");
    X509 *ca = cert(ca_key, "CA", NULL, ca_key, NULL, -86400, 86400);
    X509 *other = cert(other_key, "other CA", NULL, other_key, NULL, -86400, 86400);
    struct {
        X509 *c;
        EVP_PKEY *listed_as; /* the key whose id the entry names */
        const char *why;
    } cases[] = {
        {cert(rk, "ok", ca, ca_key, DA_OID_RECEIPT_KEY_EKU, -60, 3600), rk, NULL},
        {cert(rk, "from another CA", other, other_key, DA_OID_RECEIPT_KEY_EKU, -60, 3600), rk,
         "unable to get local issuer certificate"},
        {cert(rk, "no usage", ca, ca_key, "serverAuth", -60, 3600), rk,
         "the key's certificate is not a receipt key certificate"},
        {cert(rk, "expired", ca, ca_key, DA_OID_RECEIPT_KEY_EKU, -3600, -60), rk,
         "certificate has expired"},
        {cert(rk, "not yet", ca, ca_key, DA_OID_RECEIPT_KEY_EKU, 60, 3600), rk,
         "certificate is not yet valid"},
        {cert(rk2, "another key", ca, ca_key, DA_OID_RECEIPT_KEY_EKU, -60, 3600), rk,
         "the listed certificate is not for that key id"},
    };
    int64_t now = (int64_t)time(NULL);

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *keys = cJSON_CreateObject(), *e = cJSON_CreateObject();
        char id[65], *p = pem(cases[i].c);
        const char *why = NULL;
        X509 *found = NULL;
        int rc;

        assert_int_equal(da_key_id(cases[i].listed_as, id), 0);
        cJSON_AddStringToObject(e, "keyid", id);
        cJSON_AddStringToObject(e, "certificate", p);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(keys, "receipt_keys"), e);
        rc = da_receipt_key_find(keys, ca, id, now, &found, &why);
        if (cases[i].why == NULL) {
            assert_int_equal(rc, 0);
            assert_int_equal(X509_cmp(found, cases[i].c), 0);
            /* the same certificate at a time outside its period */
            X509_free(found);
            assert_int_equal(da_receipt_key_find(keys, ca, id, now + 7200, &found, &why),
                             DA_ERR_BUNDLE_RECEIPT_KEY);
            assert_string_equal(why, "certificate has expired");
            /* a key id that is not listed; no list at all */
            assert_int_equal(da_receipt_key_find(keys, ca, "00", now, &found, &why),
                             DA_ERR_BUNDLE_RECEIPT_KEY);
            assert_string_equal(why, "the key id is not among the receipt keys");
            assert_int_equal(da_receipt_key_find(NULL, ca, id, now, &found, &why),
                             DA_ERR_BUNDLE_RECEIPT_KEY);
            assert_int_equal(da_receipt_key_find(keys, ca, NULL, now, &found, &why),
                             DA_ERR_BUNDLE_RECEIPT_KEY);
        } else {
            assert_int_equal(rc, DA_ERR_BUNDLE_RECEIPT_KEY);
            assert_string_equal(why, cases[i].why);
        }
        assert_null(found);
        free(p);
        cJSON_Delete(keys);
        X509_free(cases[i].c);
    }
    X509_free(ca);
    X509_free(other);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_key);
    EVP_PKEY_free(rk);
    EVP_PKEY_free(rk2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_id_oracle),
        cmocka_unit_test(test_keys_parse_refusals),
        cmocka_unit_test(test_key_find_reasons),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

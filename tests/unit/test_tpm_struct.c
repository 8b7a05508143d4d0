/* PCR selection text, key blobs, TPM public keys <-> OpenSSL keys, ECDSA
 * signature forms: the pure-data parts of the agent's key module. */
#include "da_test.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <tss2/tss2_mu.h>

#include "caps.h"
#include "err.h"
#include "tpm.h"
#include "tpm_internal.h"

static void test_pcr_selection_parse(void **state)
{
    TPML_PCR_SELECTION s;
    char text[256];

    (void)state;
    assert_int_equal(agent_pcr_selection_parse("sha256:0,1,2,3,4,5,6,7", &s), 0);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.pcrSelections[0].hash, TPM2_ALG_SHA256);
    assert_int_equal(s.pcrSelections[0].sizeofSelect, 3);
    assert_int_equal(s.pcrSelections[0].pcrSelect[0], 0xff);
    assert_int_equal(s.pcrSelections[0].pcrSelect[1], 0);

    assert_int_equal(agent_pcr_selection_parse("sha256:0-3,16,23+sha1:7", &s), 0);
    assert_int_equal(s.count, 2);
    assert_int_equal(s.pcrSelections[0].pcrSelect[0], 0x0f);
    assert_int_equal(s.pcrSelections[0].pcrSelect[2], 0x81);
    assert_int_equal(s.pcrSelections[1].hash, TPM2_ALG_SHA1);
    assert_int_equal(s.pcrSelections[1].pcrSelect[0], 0x80);
    assert_int_equal(agent_pcr_selection_format(&s, text, sizeof(text)), 0);
    assert_string_equal(text, "sha256:0,1,2,3,16,23+sha1:7");
    assert_int_equal(agent_pcr_selection_format(&s, text, 10), DA_ERR_TOO_LARGE);
}

static void test_pcr_selection_refusals(void **state)
{
    static const char *const bad[] = {
        "",
        "sha256",
        "sha256:",
        "sha256:24",
        "sha256:1,",
        "sha256:,1",
        "sha256:3-1",
        "sha256:01",
        "md5:0",
        "sha256:0+sha256:1",
        "sha256:0+",
        "sha256:0 ",
        " sha256:0",
        "sha256:-1",
        "sha256:0-24",
        "sha256:99999999999999999999",
        "SHA256:0",
    };
    TPML_PCR_SELECTION s;
    char longer[400];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(agent_pcr_selection_parse(bad[i], &s), DA_ERR_INVALID_ARG);
        assert_int_equal(s.count, 0);
    }
    assert_int_equal(agent_pcr_selection_parse(NULL, &s), DA_ERR_INVALID_ARG);
    memset(longer, 0, sizeof(longer));
    for (i = 0; i + 9 < sizeof(longer) - 1; i += 9)
        memcpy(longer + i, "sha256:0+", 9);
    assert_int_equal(agent_pcr_selection_parse(longer, &s), DA_ERR_INVALID_ARG);
}

static void test_hash_names(void **state)
{
    (void)state;
    assert_string_equal(da_tpm_hash_name(TPM2_ALG_SHA384), "sha384");
    assert_null(da_tpm_hash_name(0x1234));
    assert_int_equal(da_tpm_hash_size(TPM2_ALG_SHA1), 20);
    assert_int_equal(da_tpm_hash_size(0x1234), 0);
    assert_int_equal(da_tpm_hash_by_name("sha512", 6), TPM2_ALG_SHA512);
    assert_int_equal(da_tpm_hash_by_name("sha256:0", 6), TPM2_ALG_SHA256);
    assert_int_equal(da_tpm_hash_by_name("sha25", 5), TPM2_ALG_NULL);
    assert_int_equal(da_tpm_hash_by_name("SHA256", 6), TPM2_ALG_NULL);
    assert_int_equal(da_tpm_hash_by_name(NULL, 0), TPM2_ALG_NULL);
}

static void test_keyblob_round_trip_and_refusals(void **state)
{
    TPM2B_PRIVATE priv, priv2;
    TPM2B_PUBLIC pub, pub2;
    struct da_buf blob = {0};
    unsigned char buf[DA_MAX_KEY_FILE + 2];
    size_t cut;

    (void)state;
    memset(&priv, 0, sizeof(priv));
    memset(&pub, 0, sizeof(pub));
    priv.size = 40;
    memset(priv.buffer, 0x5a, priv.size);
    pub.publicArea.type = TPM2_ALG_ECC;
    pub.publicArea.nameAlg = TPM2_ALG_SHA256;
    pub.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    pub.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
    pub.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    pub.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    assert_int_equal(agent_keyblob_encode(&priv, &pub, &blob), 0);
    assert_int_equal(agent_keyblob_decode(da_buf_data(&blob), da_buf_len(&blob), &priv2, &pub2), 0);
    assert_int_equal(priv2.size, 40);
    assert_memory_equal(priv2.buffer, priv.buffer, 40);
    assert_int_equal(pub2.publicArea.parameters.eccDetail.curveID, TPM2_ECC_NIST_P256);
    for (cut = 0; cut < da_buf_len(&blob); cut++)
        assert_int_equal(agent_keyblob_decode(da_buf_data(&blob), cut, &priv2, &pub2),
                         DA_ERR_TPM_KEY_BLOB);
    memcpy(buf, da_buf_data(&blob), da_buf_len(&blob));
    buf[da_buf_len(&blob)] = 0;
    assert_int_equal(agent_keyblob_decode(buf, da_buf_len(&blob) + 1, &priv2, &pub2),
                     DA_ERR_TPM_KEY_BLOB);
    assert_int_equal(agent_keyblob_decode(buf, sizeof(buf), &priv2, &pub2), DA_ERR_TPM_KEY_BLOB);
    da_buf_free(&blob);
}

/* An OpenSSL P-256 key -> TPM2B_PUBLIC -> OpenSSL key is the same key; its
 * signature converted to the TPM form and back still verifies. */
static void test_ec_key_and_signature_forms(void **state)
{
    EVP_PKEY *key = EVP_EC_gen("P-256"), *back = NULL;
    TPM2B_PUBLIC pub;
    TPM2B_NAME name;
    TPMS_SIGNATURE_ECC ts;
    struct da_buf der = {0}, pub_bytes = {0};
    unsigned char digest[32], sig[80], area[sizeof(TPMT_PUBLIC)], expect[32];
    size_t sig_len = sizeof(sig), off = 0;
    EVP_PKEY_CTX *ctx;
    char *pem = NULL;

    (void)state;
    assert_non_null(key);
    assert_int_equal(agent_tpm_public_from_pkey(key, TPMA_OBJECT_SIGN_ENCRYPT, &pub), 0);
    assert_int_equal(agent_tpm_public_to_pkey(&pub, &back), 0);
    assert_int_equal(EVP_PKEY_eq(key, back), 1);

    assert_int_equal(agent_tpm_public_name(&pub, &name), 0);
    assert_int_equal(Tss2_MU_TPMT_PUBLIC_Marshal(&pub.publicArea, area, sizeof(area), &off),
                     TSS2_RC_SUCCESS);
    SHA256(area, off, expect);
    assert_int_equal(name.size, 34);
    assert_memory_equal(name.name + 2, expect, 32);

    SHA256((const unsigned char *)"m", 1, digest);
    ctx = EVP_PKEY_CTX_new(key, NULL);
    assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
    assert_int_equal(EVP_PKEY_sign(ctx, sig, &sig_len, digest, sizeof(digest)), 1);
    EVP_PKEY_CTX_free(ctx);
    assert_int_equal(agent_ecdsa_der_to_tpm(sig, sig_len, 32, &ts), 0);
    assert_int_equal(ts.signatureR.size, 32);
    assert_int_equal(agent_ecdsa_tpm_to_der(&ts, &der), 0);
    ctx = EVP_PKEY_CTX_new(back, NULL);
    assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
    assert_int_equal(
        EVP_PKEY_verify(ctx, da_buf_data(&der), da_buf_len(&der), digest, sizeof(digest)), 1);
    EVP_PKEY_CTX_free(ctx);
    /* Trailing bytes after the DER are refused. */
    sig[sig_len] = 0;
    assert_int_equal(agent_ecdsa_der_to_tpm(sig, sig_len + 1, 32, &ts), DA_ERR_CRYPTO);

    /* PEM export of the marshalled public. */
    assert_int_equal(agent_mu_public(&pub, &pub_bytes), 0);
    assert_int_equal(agent_tpm_public_pem(da_buf_data(&pub_bytes), da_buf_len(&pub_bytes), &pem),
                     0);
    assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));
    free(pem);
    assert_int_equal(
        agent_tpm_public_pem(da_buf_data(&pub_bytes), da_buf_len(&pub_bytes) - 1, &pem),
        DA_ERR_INVALID_ARG);
    assert_null(pem);

    /* A point off the curve is not a key. */
    pub.publicArea.unique.ecc.y.buffer[31] ^= 1;
    EVP_PKEY_free(back);
    back = NULL;
    assert_int_not_equal(agent_tpm_public_to_pkey(&pub, &back), 0);
    assert_null(back);

    da_buf_free(&der);
    da_buf_free(&pub_bytes);
    EVP_PKEY_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pcr_selection_parse),
        cmocka_unit_test(test_pcr_selection_refusals),
        cmocka_unit_test(test_hash_names),
        cmocka_unit_test(test_keyblob_round_trip_and_refusals),
        cmocka_unit_test(test_ec_key_and_signature_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

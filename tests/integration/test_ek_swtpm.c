/* EK certificates provisioned into a real swtpm chain to the test CA and
 * match the EK the TPM derives; certificates from elsewhere do not. */
#include "da_test.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "ek.h"
#include "err.h"
#include "oaep_cert.h"
#include "swtpm_harness.h"
#include "tpm_public.h"
#include "tpm_soft.h"
#include "verify_support.h"
#include "verify_swtpm.h"

struct fixture {
    struct da_test_swtpm tpm;
    char out[PATH_MAX];
    struct da_tpm_public *ek_rsa, *ek_ecc, *soft;
    EVP_PKEY *soft_key;
    struct da_ek_trust *trust; /* the swtpm's CA root and issuer */
    uint8_t *issuer_der;
    size_t issuer_der_len;
};

static int pem_to_der(const char *path, uint8_t **der, size_t *len)
{
    FILE *f = fopen(path, "r");
    X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    unsigned char *p = NULL;
    int n;

    if (f != NULL)
        fclose(f);
    if (x == NULL)
        return -1;
    n = i2d_X509(x, &p);
    X509_free(x);
    if (n <= 0)
        return -1;
    *der = p;
    *len = (size_t)n;
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct soft_public d = {SOFT_EK_ATTRS, TPM2_ALG_SHA256, TPM2_ALG_NULL, TPM2_ALG_NULL, 128};
    uint8_t pub[512];
    size_t pub_len;
    FILE *pem;

    if (f == NULL || vs_swtpm_with_keys(&f->tpm, f->out, sizeof(f->out)) != 0)
        return -1;
    f->soft_key = soft_key("P-256");
    if (f->soft_key == NULL || soft_tpm_public(f->soft_key, &d, pub, sizeof(pub), &pub_len) != 0 ||
        da_tpm_public_parse(pub, pub_len, &f->soft) != 0)
        return -1;
    pem = fopen(vs_path(f->out, "soft_pub.pem"), "w");
    if (pem == NULL || PEM_write_PUBKEY(pem, f->soft_key) != 1)
        return -1;
    fclose(pem);
    if (vs_fixture("certs", f->out, vs_path(f->out, "soft_pub.pem"), NULL) != 0)
        return -1;
    f->ek_rsa = vs_load_public(f->out, "ek_rsa.pub");
    f->ek_ecc = vs_load_public(f->out, "ek_ecc.pub");
    if (da_ek_trust_new(&f->trust) != 0 ||
        da_ek_trust_add_roots_file(f->trust, f->tpm.ca_root) != 0 ||
        pem_to_der(f->tpm.ca_issuer, &f->issuer_der, &f->issuer_der_len) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    da_tpm_public_free(f->ek_rsa);
    da_tpm_public_free(f->ek_ecc);
    da_tpm_public_free(f->soft);
    EVP_PKEY_free(f->soft_key);
    da_ek_trust_free(f->trust);
    OPENSSL_free(f->issuer_der);
    da_test_swtpm_stop(&f->tpm);
    free(f);
    return 0;
}

/* Verify OUT/file against ek with the issuer sent along, as an agent would. */
static int verify_file(struct fixture *f, const struct da_ek_trust *t, const char *file,
                       const struct da_tpm_public *ek, const char **reason)
{
    const uint8_t *chain[1] = {f->issuer_der};
    size_t chain_len[1] = {f->issuer_der_len}, n;
    uint8_t *cert;
    int rc;

    assert_int_equal(vs_read_file(vs_path(f->out, file), &cert, &n), 0);
    rc = da_ek_cert_verify(t, cert, n, chain, chain_len, 1, ek, 0, reason);
    free(cert);
    return rc;
}

static void test_swtpm_ek_certs_verify(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(da_tpm_public_check_ek(f->ek_rsa), 0);
    assert_int_equal(verify_file(f, f->trust, "ek_rsa.der", f->ek_rsa, NULL), 0);
    assert_int_equal(verify_file(f, f->trust, "ek_ecc.der", f->ek_ecc, NULL), 0);
}

/* The intermediate may come from configuration instead of the agent. */
static void test_configured_intermediate(void **state)
{
    struct fixture *f = *state;
    struct da_ek_trust *t = NULL;
    uint8_t *cert;
    size_t n;

    assert_int_equal(da_ek_trust_new(&t), 0);
    assert_int_equal(da_ek_trust_add_roots_file(t, f->tpm.ca_root), 0);
    assert_int_equal(vs_read_file(vs_path(f->out, "ek_rsa.der"), &cert, &n), 0);
    assert_int_equal(da_ek_cert_verify(t, cert, n, NULL, NULL, 0, f->ek_rsa, 0, NULL),
                     DA_ERR_VERIFY_EK_CHAIN);
    assert_int_equal(da_ek_trust_add_intermediates_file(t, f->tpm.ca_issuer), 0);
    assert_int_equal(da_ek_cert_verify(t, cert, n, NULL, NULL, 0, f->ek_rsa, 0, NULL), 0);
    free(cert);
    da_ek_trust_free(t);
}

static void test_untrusted_ca(void **state)
{
    struct fixture *f = *state;
    struct da_ek_trust *other = NULL;
    const char *reason = NULL;

    /* The real EK key, certified by a CA nobody configured. */
    assert_int_equal(verify_file(f, f->trust, "forged_ek.der", f->ek_rsa, &reason),
                     DA_ERR_VERIFY_EK_CHAIN);
    assert_non_null(reason);
    /* The genuine certificate, checked against another set of roots. */
    assert_int_equal(da_ek_trust_new(&other), 0);
    assert_int_equal(da_ek_trust_add_roots_file(other, vs_path(f->out, "other_root.pem")), 0);
    assert_int_equal(verify_file(f, other, "ek_rsa.der", f->ek_rsa, NULL), DA_ERR_VERIFY_EK_CHAIN);
    da_ek_trust_free(other);
}

static void test_broken_signature(void **state)
{
    struct fixture *f = *state;
    const uint8_t *chain[1] = {f->issuer_der};
    size_t chain_len[1] = {f->issuer_der_len}, n;
    uint8_t *cert;

    assert_int_equal(vs_read_file(vs_path(f->out, "ek_rsa.der"), &cert, &n), 0);
    cert[n - 5] ^= 0x10; /* inside the signature value */
    assert_int_equal(da_ek_cert_verify(f->trust, cert, n, chain, chain_len, 1, f->ek_rsa, 0, NULL),
                     DA_ERR_VERIFY_EK_CHAIN);
    free(cert);
}

static void test_key_mismatch(void **state)
{
    struct fixture *f = *state;
    struct da_tpm_public *other = NULL;
    uint8_t *pub;
    size_t n;

    assert_int_equal(verify_file(f, f->trust, "ek_rsa.der", f->ek_ecc, NULL),
                     DA_ERR_VERIFY_EK_KEY_MISMATCH);
    assert_int_equal(verify_file(f, f->trust, "ek_ecc.der", f->ek_rsa, NULL),
                     DA_ERR_VERIFY_EK_KEY_MISMATCH);
    /* Same type and size, one bit of the modulus different. */
    assert_int_equal(vs_read_file(vs_path(f->out, "ek_rsa.pub"), &pub, &n), 0);
    pub[n - 1] ^= 0x02;
    assert_int_equal(da_tpm_public_parse(pub, n, &other), 0);
    assert_int_equal(verify_file(f, f->trust, "ek_rsa.der", other, NULL),
                     DA_ERR_VERIFY_EK_KEY_MISMATCH);
    da_tpm_public_free(other);
    free(pub);
}

/* A critical subject directory attributes extension (TPM specification) is
 * tolerated on the EK certificate; another unknown critical one is not. */
static void test_critical_extensions(void **state)
{
    struct fixture *f = *state;
    struct da_ek_trust *t = NULL;
    const char *reason = NULL;
    uint8_t *cert;
    size_t n;

    assert_int_equal(da_ek_trust_new(&t), 0);
    assert_int_equal(da_ek_trust_add_roots_file(t, vs_path(f->out, "other_root.pem")), 0);
    assert_int_equal(vs_read_file(vs_path(f->out, "leaf_sda.der"), &cert, &n), 0);
    assert_int_equal(da_ek_cert_verify(t, cert, n, NULL, NULL, 0, f->soft, 0, NULL), 0);
    /* Tolerating the extension does not skip the signature check. */
    cert[n - 3] ^= 0x01;
    assert_int_equal(da_ek_cert_verify(t, cert, n, NULL, NULL, 0, f->soft, 0, NULL),
                     DA_ERR_VERIFY_EK_CHAIN);
    free(cert);
    assert_int_equal(vs_read_file(vs_path(f->out, "leaf_unknown.der"), &cert, &n), 0);
    assert_int_equal(da_ek_cert_verify(t, cert, n, NULL, NULL, 0, f->soft, 0, &reason),
                     DA_ERR_VERIFY_EK_CHAIN);
    assert_string_equal(reason, "unhandled critical extension");
    free(cert);
    da_ek_trust_free(t);
}

/* An EK certificate whose RSA key names id-RSAES-OAEP (as some TPM
 * manufacturers issue them) verifies and matches the EK. openssl cannot issue
 * one: the test rewrites a certificate openssl issued for the swtpm's RSA EK
 * (tests/support/oaep_cert.c); openssl asn1parse is the oracle that the
 * result names rsaesOaep, and openssl verify that its chain holds. */
static void test_oaep_ek_certificate(void **state)
{
    struct fixture *f = *state;
    char pem[PATH_MAX], plain[PATH_MAX], oaep[PATH_MAX], key[PATH_MAX], cmd[6 * PATH_MAX];
    FILE *out;

    snprintf(pem, sizeof(pem), "%s", vs_path(f->out, "ek_rsa_key.pem"));
    snprintf(plain, sizeof(plain), "%s", vs_path(f->out, "ek_rsa_openssl.der"));
    snprintf(oaep, sizeof(oaep), "%s", vs_path(f->out, "ek_rsa_oaep.der"));
    snprintf(key, sizeof(key), "%s", vs_path(f->tpm.dir, "ca/signkey.pem"));
    out = fopen(pem, "w");
    assert_non_null(out);
    assert_int_equal(PEM_write_PUBKEY(out, da_tpm_public_pkey(f->ek_rsa)), 1);
    fclose(out);
    {
        const char *argv[] = {"/usr/bin/openssl",
                              "x509",
                              "-new",
                              "-subj",
                              "/CN=devattest test EK",
                              "-force_pubkey",
                              pem,
                              "-CA",
                              f->tpm.ca_issuer,
                              "-CAkey",
                              key,
                              "-days",
                              "2",
                              "-outform",
                              "der",
                              "-out",
                              plain,
                              NULL};
        assert_int_equal(vs_run(argv), 0);
    }
    assert_int_equal(tt_oaep_cert(plain, key, oaep), 0);
    /* openssl verify itself cannot check a certificate whose key it cannot
     * decode; OpenSSL's X509_verify checks the signature with the issuer's
     * key, and openssl verify the issuer's chain. */
    snprintf(cmd, sizeof(cmd),
             "openssl asn1parse -inform der -in '%s' | grep -q ':rsaesOaep' && "
             "! openssl asn1parse -inform der -in '%s' | grep -q ':rsaEncryption' && "
             "openssl verify -CAfile '%s' '%s' >/dev/null",
             oaep, oaep, f->tpm.ca_root, f->tpm.ca_issuer);
    {
        const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
        assert_int_equal(vs_run(argv), 0);
    }
    {
        FILE *in = fopen(f->tpm.ca_issuer, "r");
        X509 *issuer = in != NULL ? PEM_read_X509(in, NULL, NULL, NULL) : NULL;
        uint8_t *der;
        const uint8_t *p;
        size_t n;
        X509 *x;
        assert_non_null(issuer);
        fclose(in);
        assert_int_equal(vs_read_file(oaep, &der, &n), 0);
        p = der;
        x = d2i_X509(NULL, &p, (long)n);
        assert_non_null(x);
        assert_int_equal(X509_verify(x, X509_get0_pubkey(issuer)), 1);
        /* A flipped bit in the signature is caught by the verifier. */
        der[n - 5] ^= 0x01;
        assert_int_equal(da_ek_cert_verify(f->trust, der, n,
                                           (const uint8_t *const[]){f->issuer_der},
                                           &f->issuer_der_len, 1, f->ek_rsa, 0, NULL),
                         DA_ERR_VERIFY_EK_CHAIN);
        X509_free(x);
        X509_free(issuer);
        free(der);
    }
    assert_int_equal(verify_file(f, f->trust, "ek_rsa_openssl.der", f->ek_rsa, NULL), 0);
    assert_int_equal(verify_file(f, f->trust, "ek_rsa_oaep.der", f->ek_rsa, NULL), 0);
    assert_int_equal(verify_file(f, f->trust, "ek_rsa_oaep.der", f->ek_ecc, NULL),
                     DA_ERR_VERIFY_EK_KEY_MISMATCH);
}

static void test_malformed_input(void **state)
{
    struct fixture *f = *state;
    uint8_t *cert, *padded;
    size_t n, der_len;

    assert_int_equal(vs_read_file(vs_path(f->out, "ek_rsa.der"), &cert, &n), 0);
    padded = calloc(1, n + 64);
    assert_non_null(padded);
    memcpy(padded, cert, n);
    memset(padded + n, 0xff, 32);
    /* Trailing bytes are refused by the verifier, trimmed by the helper. */
    assert_int_equal(da_ek_cert_verify(f->trust, padded, n + 64, NULL, NULL, 0, f->ek_rsa, 0, NULL),
                     DA_ERR_TRAILING_DATA);
    assert_int_equal(da_ek_cert_trim(padded, n + 64, &der_len), 0);
    assert_int_equal(der_len, n);
    padded[n + 40] = 0x42;
    assert_int_equal(da_ek_cert_trim(padded, n + 64, &der_len), DA_ERR_TRAILING_DATA);
    assert_int_equal(da_ek_cert_trim(padded + 1, n, &der_len), DA_ERR_VERIFY_EK_CHAIN);
    assert_int_equal(da_ek_cert_trim(padded, n - 1, &der_len), DA_ERR_VERIFY_EK_CHAIN);
    assert_int_equal(da_ek_cert_verify(f->trust, cert, n - 1, NULL, NULL, 0, f->ek_rsa, 0, NULL),
                     DA_ERR_VERIFY_EK_CHAIN);
    assert_int_equal(da_ek_trust_add_root(f->trust, (const uint8_t *)"not a cert", 10),
                     DA_ERR_CONFIG);
    free(padded);
    free(cert);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_swtpm_ek_certs_verify),
        cmocka_unit_test(test_configured_intermediate),
        cmocka_unit_test(test_untrusted_ca),
        cmocka_unit_test(test_broken_signature),
        cmocka_unit_test(test_key_mismatch),
        cmocka_unit_test(test_critical_extensions),
        cmocka_unit_test(test_oaep_ek_certificate),
        cmocka_unit_test(test_malformed_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

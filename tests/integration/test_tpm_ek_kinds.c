/* Which EK the agent picks, on one swtpm whose EK certificates the tests
 * change in order: an ECC P-256 certificate is added (issued by the test CA)
 * and the RSA one removed, then the P-256 one, then the P-384 one, then a
 * certificate for a foreign key is planted. Each kind must give a working
 * identity: EK equal to its certificate and activation with tpm2-tools. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "oaep_cert.h"
#include "tpm.h"
#include "tpm_test_util.h"

/* The identity on the current certificates: EK kind, certificate, EK public
 * equal to reference (a TPM2B_PUBLIC file made by tpm2-tools or swtpm_setup),
 * activation and a verified quote. */
static void check_identity(struct tt_env *env, uint32_t index, const char *label,
                           const char *cert_der, const char *reference_pub)
{
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct agent_tpm_quote *q = NULL;
    TPML_PCR_SELECTION sel;
    unsigned char *ref, *cert;
    size_t ref_len, cert_len;
    const unsigned char nonce[8] = "devattst";
    char out[8192];

    assert_int_equal(tt_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);
    assert_int_equal(id->ek_cert_index, index);
    assert_string_equal(id->ek_template, label);
    if (cert_der != NULL) {
        assert_int_equal(tt_read(cert_der, &cert, &cert_len), 0);
        assert_int_equal(id->ek_cert.len, cert_len);
        assert_memory_equal(id->ek_cert.data, cert, cert_len);
        free(cert);
    } else {
        assert_int_equal(id->ek_cert.len, 0);
    }
    assert_int_equal(tt_read(reference_pub, &ref, &ref_len), 0);
    assert_int_equal(id->ek_public.len, ref_len);
    assert_memory_equal(id->ek_public.data, ref, ref_len);
    free(ref);
    tt_assert_activation(env, t, id);
    assert_int_equal(agent_pcr_selection_parse(AGENT_TPM_DEFAULT_PCRS, &sel), 0);
    assert_int_equal(agent_tpm_quote(t, &sel, nonce, sizeof(nonce), &q), 0);
    agent_tpm_close(t);
    assert_int_equal(
        tt_checkquote(env, &id->ak_public, 0, q, nonce, sizeof(nonce), out, sizeof(out)), 0);
    agent_tpm_quote_free(q);
    agent_tpm_identity_free(id);
}

static void read_persisted(const struct tt_env *env, const char *handle, const char *file)
{
    const char *argv[] = {"tpm2_readpublic", "-T", env->tpm.tcti, "-c", handle, "-o", file, NULL};

    tt_run_ok(argv);
}

/* An RSA EK certificate whose key names id-RSAES-OAEP: openssl issues the
 * certificate for the EK swtpm_setup certified, the test rewrites its key's
 * algorithm identifier (tests/support/oaep_cert.c) and stores it at
 * 0x01C00002. The agent must take it as the RSA EK's certificate. */
static void test_oaep_rsa_certificate(void **state)
{
    struct tt_env *env = *state;
    char pub[PATH_MAX], pem[PATH_MAX], plain[PATH_MAX], der[PATH_MAX], key[PATH_MAX];
    char out[8192];

    read_persisted(env, "0x81010001", tt_path(pub, sizeof(pub), env->work, "ekrsa.pub"));
    tt_tools_public_pem(pub, tt_path(pem, sizeof(pem), env->work, "ekrsa.pem"));
    tt_issue_cert(env, pem, tt_path(plain, sizeof(plain), env->work, "ekrsa-openssl.der"));
    assert_int_equal(tt_oaep_cert(plain, tt_path(key, sizeof(key), env->tpm.dir, "ca/signkey.pem"),
                                  tt_path(der, sizeof(der), env->work, "ekrsa-oaep.der")),
                     0);
    {
        const char *argv[] = {"openssl", "asn1parse", "-inform", "der", "-in", der, NULL};
        assert_int_equal(tt_run(argv, out, sizeof(out)), 0);
        assert_non_null(strstr(out, ":rsaesOaep"));
        assert_null(strstr(out, ":rsaEncryption"));
    }
    tt_nv_undefine(env, "0x01C00002");
    tt_nv_store(env, "0x01C00002", der);
    check_identity(env, 0x01C00002, "L-1", der, pub);
}

static void test_ecc_p256_certificate_preferred_over_p384(void **state)
{
    struct tt_env *env = *state;
    char pub[PATH_MAX], pem[PATH_MAX], der[PATH_MAX];

    /* The P-256 EK public by tpm2-tools' own default template. */
    tt_path(pub, sizeof(pub), env->work, "ek256.pub");
    {
        const char *argv[] = {"tpm2_createek",
                              "-T",
                              env->tpm.tcti,
                              "-G",
                              "ecc",
                              "-c",
                              tt_path(der, sizeof(der), env->work, "ek256.ctx"),
                              "-u",
                              pub,
                              NULL};
        const char *flush[] = {"tpm2_flushcontext", "-T", env->tpm.tcti, "-t", NULL};
        tt_run_ok(argv);
        tt_run_ok(flush);
    }
    tt_tools_public_pem(pub, tt_path(pem, sizeof(pem), env->work, "ek256.pem"));
    tt_issue_cert(env, pem, tt_path(der, sizeof(der), env->work, "ek256.der"));
    tt_nv_store(env, "0x01C0000A", der);
    tt_nv_undefine(env, "0x01C00002");
    check_identity(env, 0x01C0000A, "L-2", der, pub);
}

static void test_ecc_p384_certificate(void **state)
{
    struct tt_env *env = *state;
    char pub[PATH_MAX], der[PATH_MAX];

    tt_nv_undefine(env, "0x01C0000A");
    /* swtpm_setup persisted the EK it certified at 0x81010016. */
    read_persisted(env, "0x81010016", tt_path(pub, sizeof(pub), env->work, "ek384.pub"));
    {
        const char *argv[] = {"tpm2_nvread",
                              "-T",
                              env->tpm.tcti,
                              "-C",
                              "o",
                              "-o",
                              tt_path(der, sizeof(der), env->work, "ek384.der"),
                              "0x01C00016",
                              NULL};
        tt_run_ok(argv);
    }
    check_identity(env, 0x01C00016, "H-3", der, pub);
}

static void test_no_certificate_uses_rsa_ek(void **state)
{
    struct tt_env *env = *state;
    char pub[PATH_MAX];

    tt_nv_undefine(env, "0x01C00016");
    read_persisted(env, "0x81010001", tt_path(pub, sizeof(pub), env->work, "ekrsa.pub"));
    check_identity(env, 0, "L-1", NULL, pub);
}

/* A certificate whose key is not the TPM's EK is an error, not a fallback. */
static void test_certificate_for_another_key_refused(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    char key[PATH_MAX], pem[PATH_MAX], der[PATH_MAX];

    {
        const char *gen[] = {"openssl",    "genpkey",
                             "-algorithm", "RSA",
                             "-pkeyopt",   "rsa_keygen_bits:2048",
                             "-out",       tt_path(key, sizeof(key), env->work, "other.key"),
                             NULL};
        const char *pub[] = {"openssl",
                             "pkey",
                             "-in",
                             key,
                             "-pubout",
                             "-out",
                             tt_path(pem, sizeof(pem), env->work, "other.pem"),
                             NULL};
        tt_run_ok(gen);
        tt_run_ok(pub);
    }
    tt_issue_cert(env, pem, tt_path(der, sizeof(der), env->work, "other.der"));
    tt_nv_store(env, "0x01C00002", der);
    tt_log_capture_start();
    assert_int_equal(tt_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), DA_ERR_TPM_EK_MISMATCH);
    assert_true(tt_log_contains("differs from the key in the EK certificate at 0x01c00002"));
    tt_log_capture_stop();
    assert_null(id);
    agent_tpm_close(t);
}

int main(void)
{
    /* In this order: each test changes the swtpm's certificates. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_oaep_rsa_certificate, tt_test_setup),
        cmocka_unit_test_setup(test_ecc_p256_certificate_preferred_over_p384, tt_test_setup),
        cmocka_unit_test_setup(test_ecc_p384_certificate, tt_test_setup),
        cmocka_unit_test_setup(test_no_certificate_uses_rsa_ek, tt_test_setup),
        cmocka_unit_test_setup(test_certificate_for_another_key_refused, tt_test_setup),
    };
    return cmocka_run_group_tests(tests, tt_group_setup, tt_group_teardown);
}

/* The agent's TPM identity on a real swtpm: EK from its certificate, AK and
 * SK attributes and names, the certify of the SK, persistence across agent
 * restarts and TPM resets, and the state directory. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <tss2/tss2_mu.h>

#include "err.h"
#include "tpm.h"
#include "tpm_test_util.h"

#define AK_ATTRS                                                                                   \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |            \
     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

static void unmarshal_public(const struct da_buf *b, TPM2B_PUBLIC *pub)
{
    size_t off = 0;

    memset(pub, 0, sizeof(*pub));
    assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Unmarshal(da_buf_data(b), da_buf_len(b), &off, pub),
                     TSS2_RC_SUCCESS);
    assert_int_equal(off, da_buf_len(b));
}

/* The name computed here, independently of the agent: 0x000b || SHA-256 of
 * the marshalled TPMT_PUBLIC. */
static void assert_name(const struct da_buf *pub_bytes, const struct da_buf *name)
{
    TPM2B_PUBLIC pub;
    unsigned char area[sizeof(TPMT_PUBLIC)], digest[32];
    size_t off = 0;

    unmarshal_public(pub_bytes, &pub);
    assert_int_equal(Tss2_MU_TPMT_PUBLIC_Marshal(&pub.publicArea, area, sizeof(area), &off),
                     TSS2_RC_SUCCESS);
    SHA256(area, off, digest);
    assert_int_equal(da_buf_len(name), 34);
    assert_int_equal(name->data[0], 0x00);
    assert_int_equal(name->data[1], 0x0b);
    assert_memory_equal(da_buf_data(name) + 2, digest, 32);
}

static void assert_state_file_0600(const struct tt_env *env, const char *name)
{
    char path[PATH_MAX];
    struct stat st;

    assert_int_equal(stat(tt_path(path, sizeof(path), env->state, name), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void assert_no_transient_objects(const struct tt_env *env)
{
    char out[4096];
    const char *argv[] = {"tpm2_getcap", "-T", env->tpm.tcti, "handles-transient", NULL};

    assert_int_equal(tt_run(argv, out, sizeof(out)), 0);
    assert_null(strstr(out, "0x80"));
}

/* Verify the certify's signature with OpenSSL from a PEM that tpm2-tools
 * makes of the AK public (not the agent's conversion). */
static void assert_certify_signature(const struct tt_env *env, const struct agent_tpm_identity *id)
{
    char pub[PATH_MAX], pem[PATH_MAX], att[PATH_MAX], sig[PATH_MAX], out[4096];
    TPMT_SIGNATURE s;
    ECDSA_SIG *es = ECDSA_SIG_new();
    unsigned char *der = NULL;
    size_t off = 0;
    int n;

    assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Unmarshal(da_buf_data(&id->sk_certify_signature),
                                                      da_buf_len(&id->sk_certify_signature), &off,
                                                      &s),
                     TSS2_RC_SUCCESS);
    assert_int_equal(off, da_buf_len(&id->sk_certify_signature));
    assert_int_equal(s.sigAlg, TPM2_ALG_ECDSA);
    assert_int_equal(s.signature.ecdsa.hash, TPM2_ALG_SHA256);
    assert_int_equal(ECDSA_SIG_set0(es,
                                    BN_bin2bn(s.signature.ecdsa.signatureR.buffer,
                                              s.signature.ecdsa.signatureR.size, NULL),
                                    BN_bin2bn(s.signature.ecdsa.signatureS.buffer,
                                              s.signature.ecdsa.signatureS.size, NULL)),
                     1);
    n = i2d_ECDSA_SIG(es, &der);
    assert_true(n > 0);
    assert_int_equal(tt_write(tt_path(pub, sizeof(pub), env->work, "ak.tss"),
                              da_buf_data(&id->ak_public), da_buf_len(&id->ak_public)),
                     0);
    assert_int_equal(tt_write(tt_path(att, sizeof(att), env->work, "certify.bin"),
                              da_buf_data(&id->sk_certify_attest),
                              da_buf_len(&id->sk_certify_attest)),
                     0);
    assert_int_equal(tt_write(tt_path(sig, sizeof(sig), env->work, "certify.der"), der, (size_t)n),
                     0);
    tt_path(pem, sizeof(pem), env->work, "ak-tools.pem");
    {
        const char *argv[] = {"tpm2_print", "-t", "TPM2B_PUBLIC", "-f", "pem", pub, NULL};
        char text[4096];
        assert_int_equal(tt_run(argv, text, sizeof(text)), 0);
        assert_non_null(strstr(text, "-----BEGIN PUBLIC KEY-----"));
        assert_int_equal(
            tt_write(pem, strstr(text, "-----BEGIN"), strlen(strstr(text, "-----BEGIN"))), 0);
    }
    {
        const char *argv[] = {"openssl",    "dgst", "-sha256", "-verify", pem,
                              "-signature", sig,    att,       NULL};
        assert_int_equal(tt_run(argv, out, sizeof(out)), 0);
        assert_non_null(strstr(out, "Verified OK"));
    }
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
}

static void assert_certify_content(const struct agent_tpm_identity *id)
{
    TPMS_ATTEST a;
    size_t off = 0;

    assert_int_equal(Tss2_MU_TPMS_ATTEST_Unmarshal(da_buf_data(&id->sk_certify_attest),
                                                   da_buf_len(&id->sk_certify_attest), &off, &a),
                     TSS2_RC_SUCCESS);
    assert_int_equal(off, da_buf_len(&id->sk_certify_attest));
    assert_int_equal(a.magic, TPM2_GENERATED_VALUE);
    assert_int_equal(a.type, TPM2_ST_ATTEST_CERTIFY);
    assert_int_equal(a.attested.certify.name.size, da_buf_len(&id->sk_name));
    assert_memory_equal(a.attested.certify.name.name, da_buf_data(&id->sk_name),
                        da_buf_len(&id->sk_name));
}

static void test_identity_from_rsa_ek_certificate(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct agent_tpm_info info;
    TPM2B_PUBLIC ak, sk;
    char der[PATH_MAX], pem[PATH_MAX], persisted[PATH_MAX], out[4096];
    unsigned char *ek = NULL;
    size_t ek_len;

    assert_int_equal(tt_open(env, &t), 0);
    assert_string_equal(agent_tpm_trust(t), "tpm");
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);
    assert_string_equal(id->trust, "tpm");
    assert_int_equal(id->ek_cert_index, 0x01C00002);
    assert_string_equal(id->ek_template, "L-1");
    assert_true(da_buf_len(&id->ek_cert) > 500);

    /* AK: restricted ECDSA P-256 signing key with exactly the attributes
     * the server requires; SK: the same but unrestricted. */
    unmarshal_public(&id->ak_public, &ak);
    assert_int_equal(ak.publicArea.type, TPM2_ALG_ECC);
    assert_int_equal(ak.publicArea.objectAttributes, AK_ATTRS);
    assert_int_equal(ak.publicArea.parameters.eccDetail.curveID, TPM2_ECC_NIST_P256);
    assert_int_equal(ak.publicArea.parameters.eccDetail.scheme.scheme, TPM2_ALG_ECDSA);
    assert_int_equal(ak.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg,
                     TPM2_ALG_SHA256);
    unmarshal_public(&id->sk_public, &sk);
    assert_int_equal(sk.publicArea.objectAttributes, AK_ATTRS & ~TPMA_OBJECT_RESTRICTED);
    assert_name(&id->ak_public, &id->ak_name);
    assert_name(&id->sk_public, &id->sk_name);
    assert_certify_content(id);

    /* The agent holds the AK and SK, nothing else. */
    assert_int_equal(agent_tpm_info(t, &info), 0);
    assert_int_equal(info.transient_objects, 2);
    agent_tpm_close(t);
    t = NULL;
    assert_no_transient_objects(env);

    /* The certificate chains to the test CA, according to openssl. */
    assert_int_equal(tt_write(tt_path(der, sizeof(der), env->work, "ek.der"),
                              da_buf_data(&id->ek_cert), da_buf_len(&id->ek_cert)),
                     0);
    tt_path(pem, sizeof(pem), env->work, "ek.pem");
    {
        const char *conv[] = {"openssl", "x509", "-inform", "der", "-in", der, "-out", pem, NULL};
        const char *verify[] = {"openssl",    "verify",           "-CAfile", env->tpm.ca_root,
                                "-untrusted", env->tpm.ca_issuer, pem,       NULL};
        assert_int_equal(tt_run(conv, out, sizeof(out)), 0);
        assert_int_equal(tt_run(verify, out, sizeof(out)), 0);
    }
    /* The EK the agent made from the TCG template is byte for byte the EK
     * that swtpm_setup persisted when it issued the certificate. */
    tt_path(persisted, sizeof(persisted), env->work, "ek-persisted.pub");
    {
        const char *argv[] = {"tpm2_readpublic", "-T", env->tpm.tcti, "-c",
                              "0x81010001",      "-o", persisted,     NULL};
        assert_int_equal(tt_run(argv, out, sizeof(out)), 0);
    }
    assert_int_equal(tt_read(persisted, &ek, &ek_len), 0);
    assert_int_equal(ek_len, da_buf_len(&id->ek_public));
    assert_memory_equal(ek, da_buf_data(&id->ek_public), ek_len);
    free(ek);

    assert_certify_signature(env, id);
    assert_state_file_0600(env, "ak.key");
    assert_state_file_0600(env, "sk.key");
    assert_state_file_0600(env, "ek.pub");
    {
        struct stat st;
        assert_int_equal(stat(env->state, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
    }
    agent_tpm_identity_free(id);
}

static void test_certify_with_qualifying_data(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct da_buf attest = {0}, sig = {0};
    const unsigned char challenge[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    TPMS_ATTEST a;
    size_t off = 0;

    assert_int_equal(tt_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);
    assert_int_equal(agent_tpm_certify_sk(t, challenge, sizeof(challenge), &attest, &sig), 0);
    assert_int_equal(
        Tss2_MU_TPMS_ATTEST_Unmarshal(da_buf_data(&attest), da_buf_len(&attest), &off, &a),
        TSS2_RC_SUCCESS);
    assert_int_equal(a.extraData.size, sizeof(challenge));
    assert_memory_equal(a.extraData.buffer, challenge, sizeof(challenge));
    assert_memory_equal(a.attested.certify.name.name, da_buf_data(&id->sk_name),
                        da_buf_len(&id->sk_name));
    /* Too much qualifying data is refused before the TPM sees it. */
    {
        unsigned char big[AGENT_TPM_MAX_QUALIFYING + 1] = {0};
        struct da_buf a2 = {0}, s2 = {0};
        assert_int_equal(agent_tpm_certify_sk(t, big, sizeof(big), &a2, &s2), DA_ERR_INVALID_ARG);
        assert_int_equal(da_buf_len(&a2), 0);
    }
    da_buf_free(&attest);
    da_buf_free(&sig);
    agent_tpm_identity_free(id);
    agent_tpm_close(t);
}

static void quote_reset_count(struct agent_tpm *t, uint32_t *reset_count,
                              struct agent_tpm_quote **out)
{
    TPML_PCR_SELECTION sel;
    const unsigned char nonce[32] = {0x42};
    TPMS_ATTEST a;
    size_t off = 0;

    assert_int_equal(agent_pcr_selection_parse(AGENT_TPM_DEFAULT_PCRS, &sel), 0);
    assert_int_equal(agent_tpm_quote(t, &sel, nonce, sizeof(nonce), out), 0);
    assert_int_equal(
        Tss2_MU_TPMS_ATTEST_Unmarshal((*out)->attest.data, (*out)->attest.len, &off, &a),
        TSS2_RC_SUCCESS);
    *reset_count = a.clockInfo.resetCount;
}

static void test_identity_survives_restart_and_tpm_reset(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *first = NULL, *again = NULL;
    struct agent_tpm_quote *q = NULL;
    const unsigned char nonce[32] = {0x42};
    uint32_t reset_before, reset_after;
    char out[4096];

    assert_int_equal(tt_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &first), 0);
    quote_reset_count(t, &reset_before, &q);
    agent_tpm_quote_free(q);
    agent_tpm_close(t);

    /* Agent restart: a new context loads the same keys. */
    assert_int_equal(tt_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_LOAD, &again), 0);
    assert_int_equal(da_buf_len(&again->ak_name), da_buf_len(&first->ak_name));
    assert_memory_equal(da_buf_data(&again->ak_name), da_buf_data(&first->ak_name),
                        da_buf_len(&first->ak_name));
    assert_memory_equal(da_buf_data(&again->sk_name), da_buf_data(&first->sk_name),
                        da_buf_len(&first->sk_name));
    agent_tpm_identity_free(again);
    again = NULL;
    agent_tpm_close(t);

    /* TPM reset: swtpm stops and starts with Startup(CLEAR); every transient
     * object is gone, the blobs are reloaded under the re-created EK. */
    assert_int_equal(da_test_swtpm_restart(&env->tpm), 0);
    assert_int_equal(tt_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_LOAD, &again), 0);
    assert_memory_equal(da_buf_data(&again->ak_name), da_buf_data(&first->ak_name),
                        da_buf_len(&first->ak_name));
    assert_memory_equal(da_buf_data(&again->sk_name), da_buf_data(&first->sk_name),
                        da_buf_len(&first->sk_name));
    assert_memory_equal(da_buf_data(&again->ak_public), da_buf_data(&first->ak_public),
                        da_buf_len(&first->ak_public));
    quote_reset_count(t, &reset_after, &q);
    assert_true(reset_after > reset_before);
    agent_tpm_close(t);
    /* ... and the quote after the reset verifies with the AK enrolled before. */
    assert_int_equal(
        tt_checkquote(env, &first->ak_public, 0, q, nonce, sizeof(nonce), out, sizeof(out)), 0);
    agent_tpm_quote_free(q);
    agent_tpm_identity_free(first);
    agent_tpm_identity_free(again);
}

static void test_load_without_identity(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct agent_tpm_quote *q = NULL;
    TPML_PCR_SELECTION sel;
    struct stat st;

    assert_int_equal(tt_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_LOAD, &id), DA_ERR_NOT_FOUND);
    assert_null(id);
    assert_int_equal(agent_pcr_selection_parse("sha256:0", &sel), 0);
    assert_int_equal(agent_tpm_quote(t, &sel, NULL, 0, &q), DA_ERR_NOT_FOUND);
    assert_null(q);
    /* The EK part needs no keys, and reading it creates nothing. */
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_EK_ONLY, &id), 0);
    assert_int_equal(id->ek_cert_index, 0x01C00002);
    assert_true(da_buf_len(&id->ek_public) > 256);
    assert_int_equal(da_buf_len(&id->ak_public), 0);
    assert_int_not_equal(stat(env->state, &st), 0);
    agent_tpm_identity_free(id);
    agent_tpm_close(t);
}

static void copy_file(const char *from_dir, const char *to_dir, const char *name)
{
    char a[PATH_MAX], b[PATH_MAX];
    unsigned char *data;
    size_t len;

    assert_int_equal(tt_read(tt_path(a, sizeof(a), from_dir, name), &data, &len), 0);
    assert_int_equal(tt_write(tt_path(b, sizeof(b), to_dir, name), data, len), 0);
    assert_int_equal(chmod(b, 0600), 0);
    free(data);
}

/* Key blobs of one TPM are refused by another: first by the recorded EK,
 * then (without that record) by the TPM itself. */
static void test_foreign_key_blobs_refused(void **state)
{
    struct tt_env *env = *state, other;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    char path[PATH_MAX];

    assert_int_equal(tt_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);
    agent_tpm_identity_free(id);
    id = NULL;
    agent_tpm_close(t);

    assert_int_equal(tt_start(&other), 0);
    assert_int_equal(mkdir(other.state, 0700), 0);
    copy_file(env->state, other.state, "ak.key");
    copy_file(env->state, other.state, "sk.key");
    copy_file(env->state, other.state, "ek.pub");
    tt_log_capture_start();
    assert_int_equal(tt_open(&other, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_LOAD, &id), DA_ERR_TPM_KEY_BLOB);
    assert_true(tt_log_contains("made under another EK"));
    agent_tpm_close(t);

    assert_int_equal(unlink(tt_path(path, sizeof(path), other.state, "ek.pub")), 0);
    assert_int_equal(tt_open(&other, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_LOAD, &id), DA_ERR_TPM_KEY_BLOB);
    assert_true(tt_log_contains("Esys_Load"));
    assert_true(tt_log_contains("was not made by this TPM"));
    tt_log_capture_stop();
    assert_null(id);
    agent_tpm_close(t);
    assert_no_transient_objects(&other);
    tt_stop(&other);
}

static void test_state_files_must_be_private(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    char path[PATH_MAX];

    assert_int_equal(tt_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);
    agent_tpm_identity_free(id);
    id = NULL;
    agent_tpm_close(t);

    assert_int_equal(chmod(tt_path(path, sizeof(path), env->state, "ak.key"), 0644), 0);
    tt_log_capture_start();
    assert_int_equal(tt_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_LOAD, &id), DA_ERR_PERMISSION);
    assert_true(tt_log_contains("must be 0600"));
    tt_log_capture_stop();
    agent_tpm_close(t);

    /* A state directory others may write is refused at open. */
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(chmod(env->state, 0777), 0);
    t = NULL;
    assert_int_equal(tt_open(env, &t), DA_ERR_PERMISSION);
    assert_null(t);
    assert_int_equal(chmod(env->state, 0700), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_identity_from_rsa_ek_certificate, tt_test_setup),
        cmocka_unit_test_setup(test_certify_with_qualifying_data, tt_test_setup),
        cmocka_unit_test_setup(test_identity_survives_restart_and_tpm_reset, tt_test_setup),
        cmocka_unit_test_setup(test_load_without_identity, tt_test_setup),
        cmocka_unit_test_setup(test_foreign_key_blobs_refused, tt_test_setup),
        cmocka_unit_test_setup(test_state_files_must_be_private, tt_test_setup),
    };
    return cmocka_run_group_tests(tests, tt_group_setup, tt_group_teardown);
}

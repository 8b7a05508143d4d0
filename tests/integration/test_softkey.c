/* Software-key mode: the same interface on OpenSSL keys in files, marked
 * trust "software" everywhere, its attestations verified by the same
 * independent tools as the TPM's. Chosen only explicitly. */
#include "da_test.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <tss2/tss2_mu.h>

#include "caps.h"
#include "err.h"
#include "tpm.h"
#include "tpm_test_util.h"
#include "tmp_tree.h"

static int setup(void **state)
{
    struct tt_env *env = calloc(1, sizeof(*env));
    char dir[PATH_MAX];

    setenv("TSS2_LOG", "all+NONE", 1);
    if (env == NULL || da_test_tmpdir("da-softkey", dir, sizeof(dir)) != 0)
        return -1;
    snprintf(env->tpm.dir, sizeof(env->tpm.dir), "%s", dir);
    tt_path(env->state, sizeof(env->state), dir, "state");
    tt_path(env->work, sizeof(env->work), dir, "work");
    if (mkdir(env->work, 0700) != 0)
        return -1;
    *state = env;
    return 0;
}

static int teardown(void **state)
{
    struct tt_env *env = *state;
    (void)da_test_rmtree(env->tpm.dir);
    free(env);
    return 0;
}

static int soft_open(const struct tt_env *env, struct agent_tpm **t)
{
    struct agent_tpm_settings s = {.mode = AGENT_TPM_MODE_SOFTWARE, .state_dir = env->state};

    return agent_tpm_open(&s, t);
}

static void tools_pem(const struct tt_env *env, const struct da_buf *pub, const char *name,
                      char *pem, size_t size)
{
    char file[PATH_MAX], text[4096];
    const char *argv[] = {"tpm2_print", "-t", "TPM2B_PUBLIC", "-f", "pem", file, NULL};
    const char *begin;

    assert_int_equal(
        tt_write(tt_path(file, sizeof(file), env->work, name), da_buf_data(pub), da_buf_len(pub)),
        0);
    assert_int_equal(tt_run(argv, text, sizeof(text)), 0);
    begin = strstr(text, "-----BEGIN");
    assert_non_null(begin);
    snprintf(file, sizeof(file), "%s.pem", name);
    assert_int_equal(tt_write(tt_path(pem, size, env->work, file), begin, strlen(begin)), 0);
}

static void openssl_verify(const char *pem, const char *sig, const char *data, int expect_ok)
{
    const char *argv[] = {"openssl",    "dgst", "-sha256", "-verify", pem,
                          "-signature", sig,    data,      NULL};
    char out[4096];

    if (expect_ok) {
        assert_int_equal(tt_run(argv, out, sizeof(out)), 0);
        assert_non_null(strstr(out, "Verified OK"));
    } else {
        assert_int_not_equal(tt_run(argv, out, sizeof(out)), 0);
    }
}

static void test_identity_is_marked_software(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL, *again = NULL;
    struct agent_tpm_info info;
    TPM2B_PUBLIC ak;
    TPMS_ATTEST a;
    size_t off = 0;
    char path[PATH_MAX], out[4096];
    struct stat st;

    assert_int_equal(soft_open(env, &t), 0);
    assert_string_equal(agent_tpm_trust(t), "software");
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);
    assert_string_equal(id->trust, "software");
    assert_int_equal(da_buf_len(&id->ek_cert), 0);
    assert_int_equal(da_buf_len(&id->ek_public), 0);
    assert_null(id->ek_template);
    assert_int_equal(agent_tpm_info(t, &info), 0);
    assert_string_equal(info.trust, "software");
    agent_tpm_close(t);

    /* The AK public says it is not a TPM key: no fixedTPM, no fixedParent,
     * no sensitiveDataOrigin. */
    assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Unmarshal(da_buf_data(&id->ak_public),
                                                    da_buf_len(&id->ak_public), &off, &ak),
                     TSS2_RC_SUCCESS);
    assert_int_equal(
        ak.publicArea.objectAttributes &
            (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN),
        0);
    assert_true(ak.publicArea.objectAttributes & TPMA_OBJECT_RESTRICTED);
    assert_int_equal(ak.publicArea.parameters.eccDetail.curveID, TPM2_ECC_NIST_P256);

    /* Private keys in PKCS#8 PEM files, 0600, that openssl reads. */
    assert_int_equal(stat(tt_path(path, sizeof(path), env->state, "soft-ak.pem"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    {
        const char *argv[] = {"openssl", "pkey", "-in", path, "-noout", "-text", NULL};
        assert_int_equal(tt_run(argv, out, sizeof(out)), 0);
        assert_non_null(strstr(out, "P-256"));
    }
    assert_int_equal(stat(tt_path(path, sizeof(path), env->state, "soft-sk.pem"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* The certify of the SK by the AK, checked with openssl. */
    off = 0;
    assert_int_equal(Tss2_MU_TPMS_ATTEST_Unmarshal(da_buf_data(&id->sk_certify_attest),
                                                   da_buf_len(&id->sk_certify_attest), &off, &a),
                     TSS2_RC_SUCCESS);
    assert_int_equal(a.type, TPM2_ST_ATTEST_CERTIFY);
    assert_memory_equal(a.attested.certify.name.name, da_buf_data(&id->sk_name),
                        da_buf_len(&id->sk_name));

    /* Reopened, the same keys. */
    assert_int_equal(soft_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_LOAD, &again), 0);
    assert_memory_equal(da_buf_data(&again->ak_name), da_buf_data(&id->ak_name),
                        da_buf_len(&id->ak_name));
    assert_memory_equal(da_buf_data(&again->sk_public), da_buf_data(&id->sk_public),
                        da_buf_len(&id->sk_public));
    agent_tpm_close(t);
    agent_tpm_identity_free(again);
    agent_tpm_identity_free(id);
}

static void test_software_quote_verifies_with_checkquote(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct agent_tpm_quote *q = NULL;
    TPML_PCR_SELECTION sel;
    TPMS_ATTEST a;
    unsigned char nonce[32], other[32];
    size_t off = 0;
    char out[8192];

    SHA256((const unsigned char *)"nonce", 5, nonce);
    memcpy(other, nonce, sizeof(other));
    other[31] ^= 0x80;
    assert_int_equal(soft_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);
    assert_int_equal(agent_pcr_selection_parse(AGENT_TPM_DEFAULT_PCRS, &sel), 0);
    assert_int_equal(agent_tpm_quote(t, &sel, nonce, sizeof(nonce), &q), 0);
    agent_tpm_close(t);
    assert_string_equal(q->trust, "software");
    /* No PCRs: a software key has none to quote. */
    assert_int_equal(da_buf_len(&q->pcr_values), 0);
    assert_int_equal(
        Tss2_MU_TPMS_ATTEST_Unmarshal(da_buf_data(&q->attest), da_buf_len(&q->attest), &off, &a),
        TSS2_RC_SUCCESS);
    assert_int_equal(off, da_buf_len(&q->attest));
    assert_int_equal(a.type, TPM2_ST_ATTEST_QUOTE);
    assert_int_equal(a.attested.quote.pcrSelect.count, 0);
    assert_memory_equal(a.qualifiedSigner.name, da_buf_data(&id->ak_name),
                        da_buf_len(&id->ak_name));
    assert_int_equal(
        tt_checkquote(env, &id->ak_public, 0, q, nonce, sizeof(nonce), out, sizeof(out)), 0);
    assert_int_not_equal(
        tt_checkquote(env, &id->ak_public, 0, q, other, sizeof(other), out, sizeof(out)), 0);
    agent_tpm_quote_free(q);
    agent_tpm_identity_free(id);
}

static void test_software_certify_and_sign(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct da_buf attest = {0}, sig = {0}, got = {0};
    const unsigned char challenge[16] = "enroll-challenge";
    const char payload[] = "artifact statement";
    unsigned char digest[32];
    char ak_pem[PATH_MAX], sk_pem[PATH_MAX], sigf[PATH_MAX], data[PATH_MAX];
    TPMT_SIGNATURE ts;
    size_t off = 0;

    assert_int_equal(soft_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);
    tools_pem(env, &id->ak_public, "ak", ak_pem, sizeof(ak_pem));
    tools_pem(env, &id->sk_public, "sk", sk_pem, sizeof(sk_pem));

    /* Digest signing with the SK. */
    SHA256((const unsigned char *)payload, strlen(payload), digest);
    assert_int_equal(agent_tpm_sign_digest(t, digest, sizeof(digest), &sig), 0);
    assert_int_equal(tt_write(tt_path(sigf, sizeof(sigf), env->work, "p.sig"), da_buf_data(&sig),
                              da_buf_len(&sig)),
                     0);
    assert_int_equal(
        tt_write(tt_path(data, sizeof(data), env->work, "p"), payload, strlen(payload)), 0);
    openssl_verify(sk_pem, sigf, data, 1);
    openssl_verify(ak_pem, sigf, data, 0); /* not the AK's signature */
    da_buf_free(&sig);

    /* Certify with a challenge, signed by the AK (the signature is a
     * TPMT_SIGNATURE; its r and s go to DER through OpenSSL here). */
    assert_int_equal(agent_tpm_certify_sk(t, challenge, sizeof(challenge), &attest, &sig), 0);
    assert_int_equal(
        Tss2_MU_TPMT_SIGNATURE_Unmarshal(da_buf_data(&sig), da_buf_len(&sig), &off, &ts),
        TSS2_RC_SUCCESS);
    assert_int_equal(ts.sigAlg, TPM2_ALG_ECDSA);
    {
        char out[8192];
        struct agent_tpm_quote as_quote = {.attest = attest, .signature = sig};
        unsigned char empty_sel[4] = {0, 0, 0, 0};
        da_buf_init(&as_quote.pcr_selection, DA_MAX_TPM_STRUCT);
        assert_int_equal(da_buf_append(&as_quote.pcr_selection, empty_sel, sizeof(empty_sel)), 0);
        /* tpm2_checkquote checks signature and qualifying data of any
         * TPMS_ATTEST; a certify is one. */
        assert_int_equal(tt_checkquote(env, &id->ak_public, 0, &as_quote, challenge,
                                       sizeof(challenge), out, sizeof(out)),
                         0);
        da_buf_free(&as_quote.pcr_selection);
    }

    /* No EK: credential activation is not available. */
    {
        unsigned char cred[4] = {0, 2, 0, 0}, enc[4] = {0, 2, 0, 0};
        assert_int_equal(
            agent_tpm_activate_credential(t, cred, sizeof(cred), enc, sizeof(enc), &got),
            DA_ERR_UNSUPPORTED);
    }
    agent_tpm_close(t);
    da_buf_free(&attest);
    da_buf_free(&sig);
    agent_tpm_identity_free(id);
}

/* Software keys in the state directory are never used by TPM mode. */
static void test_no_fallback_to_software_keys(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct agent_tpm_settings s = {
        .mode = AGENT_TPM_MODE_TPM, .tcti = "device:/nonexistent/tpmrm0", .state_dir = env->state};
    char path[PATH_MAX];

    assert_int_equal(soft_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);
    agent_tpm_identity_free(id);
    id = NULL;
    agent_tpm_close(t);
    t = NULL;
    assert_int_equal(agent_tpm_open(&s, &t), DA_ERR_TPM_ABSENT);
    assert_null(t);

    /* And a key file others may read is refused. */
    assert_int_equal(chmod(tt_path(path, sizeof(path), env->state, "soft-sk.pem"), 0640), 0);
    assert_int_equal(soft_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_LOAD, &id), DA_ERR_PERMISSION);
    agent_tpm_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identity_is_marked_software, setup, teardown),
        cmocka_unit_test_setup_teardown(test_software_quote_verifies_with_checkquote, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_software_certify_and_sign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_fallback_to_software_keys, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

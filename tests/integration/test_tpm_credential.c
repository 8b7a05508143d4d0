/* Credential activation against tpm2_makecredential --tcti none output, and
 * digest signing with the SK, on a real swtpm. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "err.h"
#include "tpm.h"
#include "tpm_test_util.h"

static void test_activate_credential_round_trip(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct agent_tpm_info info;

    assert_int_equal(tt_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);
    tt_assert_activation(env, t, id);
    /* Twice: the EK and its policy session are gone after each activation. */
    tt_assert_activation(env, t, id);
    assert_int_equal(agent_tpm_info(t, &info), 0);
    assert_int_equal(info.transient_objects, 2);
    agent_tpm_close(t);

    /* After an agent restart the reloaded AK still activates. */
    assert_int_equal(tt_open(env, &t), 0);
    tt_assert_activation(env, t, id);
    agent_tpm_close(t);
    agent_tpm_identity_free(id);
}

/* A credential made for another name (here the SK's) does not open with the
 * AK; nor does a tampered one; malformed input never reaches the TPM. */
static void test_activate_credential_refusals(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct da_buf cred, enc, got = {0};
    const unsigned char secret[32] = {7, 7, 7};
    unsigned char longer[1024];

    assert_int_equal(tt_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);

    assert_int_equal(
        tt_make_credential(env, &id->ek_public, &id->sk_name, secret, sizeof(secret), &cred, &enc),
        0);
    tt_log_capture_start();
    assert_int_equal(agent_tpm_activate_credential(t, da_buf_data(&cred), da_buf_len(&cred),
                                                   da_buf_data(&enc), da_buf_len(&enc), &got),
                     DA_ERR_TPM_ACTIVATE);
    assert_true(tt_log_contains("Esys_ActivateCredential failed"));
    tt_log_capture_stop();
    assert_int_equal(da_buf_len(&got), 0);
    da_buf_free(&cred);
    da_buf_free(&enc);

    assert_int_equal(
        tt_make_credential(env, &id->ek_public, &id->ak_name, secret, sizeof(secret), &cred, &enc),
        0);
    enc.data[da_buf_len(&enc) / 2] ^= 0x40;
    assert_int_equal(agent_tpm_activate_credential(t, da_buf_data(&cred), da_buf_len(&cred),
                                                   da_buf_data(&enc), da_buf_len(&enc), &got),
                     DA_ERR_TPM_ACTIVATE);
    enc.data[da_buf_len(&enc) / 2] ^= 0x40;

    /* Trailing bytes and truncation are refused before the TPM sees them. */
    memcpy(longer, da_buf_data(&cred), da_buf_len(&cred));
    longer[da_buf_len(&cred)] = 0;
    assert_int_equal(agent_tpm_activate_credential(t, longer, da_buf_len(&cred) + 1,
                                                   da_buf_data(&enc), da_buf_len(&enc), &got),
                     DA_ERR_TRAILING_DATA);
    assert_int_equal(agent_tpm_activate_credential(t, da_buf_data(&cred), da_buf_len(&cred),
                                                   da_buf_data(&enc), da_buf_len(&enc) - 1, &got),
                     DA_ERR_INVALID_ARG);
    /* The untouched credential still activates: nothing was left behind. */
    assert_int_equal(agent_tpm_activate_credential(t, da_buf_data(&cred), da_buf_len(&cred),
                                                   da_buf_data(&enc), da_buf_len(&enc), &got),
                     0);
    assert_memory_equal(da_buf_data(&got), secret, sizeof(secret));
    da_buf_free(&got);
    da_buf_free(&cred);
    da_buf_free(&enc);
    agent_tpm_close(t);
    agent_tpm_identity_free(id);
}

/* The SK's DER signature over a SHA-256 digest verifies with openssl, using
 * a PEM of the SK public made by tpm2-tools. */
static void test_sign_digest_with_sk(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct da_buf sig = {0};
    const char payload[] = "DSSEv1 28 application/vnd.in-toto+json 2 {}";
    unsigned char digest[32];
    char pub[PATH_MAX], pem[PATH_MAX], sigf[PATH_MAX], data[PATH_MAX], out[4096];

    SHA256((const unsigned char *)payload, strlen(payload), digest);
    assert_int_equal(tt_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);
    assert_int_equal(agent_tpm_sign_digest(t, digest, sizeof(digest), &sig), 0);
    assert_true(da_buf_len(&sig) >= 8 && sig.data[0] == 0x30);
    da_buf_free(&sig);
    assert_int_equal(agent_tpm_sign_digest(t, digest, 20, &sig), DA_ERR_INVALID_ARG);
    assert_int_equal(da_buf_len(&sig), 0);
    assert_int_equal(agent_tpm_sign_digest(t, digest, sizeof(digest), &sig), 0);
    agent_tpm_close(t);

    assert_int_equal(tt_write(tt_path(pub, sizeof(pub), env->work, "sk.pub"),
                              da_buf_data(&id->sk_public), da_buf_len(&id->sk_public)),
                     0);
    assert_int_equal(tt_write(tt_path(sigf, sizeof(sigf), env->work, "payload.sig"),
                              da_buf_data(&sig), da_buf_len(&sig)),
                     0);
    assert_int_equal(
        tt_write(tt_path(data, sizeof(data), env->work, "payload"), payload, strlen(payload)), 0);
    tt_tools_public_pem(pub, tt_path(pem, sizeof(pem), env->work, "sk.pem"));
    {
        const char *argv[] = {"openssl",    "dgst", "-sha256", "-verify", pem,
                              "-signature", sigf,   data,      NULL};
        assert_int_equal(tt_run(argv, out, sizeof(out)), 0);
        assert_non_null(strstr(out, "Verified OK"));
    }
    /* A different payload does not verify. */
    assert_int_equal(tt_write(data, payload, strlen(payload) - 1), 0);
    {
        const char *argv[] = {"openssl",    "dgst", "-sha256", "-verify", pem,
                              "-signature", sigf,   data,      NULL};
        assert_int_not_equal(tt_run(argv, out, sizeof(out)), 0);
    }
    da_buf_free(&sig);
    agent_tpm_identity_free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_activate_credential_round_trip, tt_test_setup),
        cmocka_unit_test_setup(test_activate_credential_refusals, tt_test_setup),
        cmocka_unit_test_setup(test_sign_digest_with_sk, tt_test_setup),
    };
    return cmocka_run_group_tests(tests, tt_group_setup, tt_group_teardown);
}

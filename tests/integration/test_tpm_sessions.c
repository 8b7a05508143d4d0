/* What crosses the TPM "bus": a recording proxy sits between the agent's
 * swtpm TCTI and swtpm and keeps every byte both ways. With the agent's
 * sessions (HMAC, salted with the EK, parameter encryption) neither the
 * activated credential secret nor the endorsement password appears in the
 * capture, and an altered response is refused. The control runs the same
 * steps with the agent switched to password and unsalted policy sessions:
 * then the capture holds both secrets and the altered quote goes unnoticed,
 * so the checks can fail. The oracle for the secret is tpm2_makecredential
 * (tpm2-tools, --tcti none), which wraps it for the EK. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "err.h"
#include "tcti_capture.h"
#include "tpm.h"
#include "tpm_internal.h"
#include "tpm_test_util.h"

/* The endorsement hierarchy password the test sets with tpm2_changeauth. */
#define EH_PASSWORD "da-endorsement-5f2c81e7"

struct run {
    struct tt_capture *cap;
    struct agent_tpm *t;
    struct agent_tpm_identity *id;
};

static int sessions_group_setup(void **state)
{
    struct tt_env *env;
    char out[4096];

    if (tt_group_setup(state) != 0)
        return -1;
    env = *state;
    {
        const char *argv[] = {"tpm2_changeauth", "--tcti", env->tpm.tcti, "-c", "e",
                              EH_PASSWORD,       NULL};
        if (tt_run(argv, out, sizeof(out)) != 0) {
            fprintf(stderr, "tpm2_changeauth: %s\n", out);
            return -1;
        }
    }
    return 0;
}

/* Open the agent's keys through a fresh proxy and create the identity. */
static void run_open(struct tt_env *env, int plain, struct run *r)
{
    char tcti[128];
    struct agent_tpm_settings s = {
        .mode = AGENT_TPM_MODE_TPM,
        .tcti = tcti,
        .state_dir = env->state,
        .endorsement_auth = EH_PASSWORD,
    };

    memset(r, 0, sizeof(*r));
    assert_int_equal(tt_capture_start(env->tpm.port, tcti, sizeof(tcti), &r->cap), 0);
    assert_int_equal(agent_tpm_open(&s, &r->t), 0);
    if (plain)
        assert_int_equal(agent_tpm_test_plain_sessions(r->t), 0);
    assert_int_equal(agent_tpm_identity(r->t, AGENT_IDENTITY_CREATE, &r->id), 0);
}

static void run_close(struct run *r)
{
    agent_tpm_close(r->t);
    agent_tpm_identity_free(r->id);
    tt_capture_free(r->cap);
}

/* Enrollment's activation and a quote through the proxy; the secret is
 * checked against what the tool wrapped. */
static void run_activation(struct tt_env *env, int plain, const unsigned char *secret, size_t n,
                           struct run *r)
{
    struct da_buf cred, enc, got = {0};
    struct agent_tpm_quote *q = NULL;
    TPML_PCR_SELECTION sel;
    unsigned char qual[32] = {1, 2, 3};

    run_open(env, plain, r);
    assert_int_equal(
        tt_make_credential(env, &r->id->ek_public, &r->id->ak_name, secret, n, &cred, &enc), 0);
    assert_int_equal(agent_tpm_activate_credential(r->t, da_buf_data(&cred), da_buf_len(&cred),
                                                   da_buf_data(&enc), da_buf_len(&enc), &got),
                     0);
    assert_int_equal(da_buf_len(&got), n);
    assert_memory_equal(da_buf_data(&got), secret, n);
    assert_int_equal(agent_pcr_selection_parse(AGENT_TPM_DEFAULT_PCRS, &sel), 0);
    assert_int_equal(agent_tpm_quote(r->t, &sel, qual, sizeof(qual), &q), 0);
    agent_tpm_quote_free(q);
    agent_tpm_close(r->t);
    r->t = NULL;
    tt_capture_stop(r->cap);
    da_buf_free(&got);
    da_buf_free(&cred);
    da_buf_free(&enc);
}

/* The capture is real: the AK's public area goes to the TPM in the clear
 * (TPM2_Load), and a good amount of traffic went each way. */
static void assert_capture_works(const struct run *r)
{
    size_t to, from;

    (void)tt_capture_to_tpm(r->cap, &to);
    (void)tt_capture_from_tpm(r->cap, &from);
    assert_true(to > 1000 && from > 1000);
    assert_true(
        tt_capture_contains(r->cap, da_buf_data(&r->id->ak_public), da_buf_len(&r->id->ak_public)));
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Walk the commands sent to the TPM (tag, size, command code, ...) and count
 * the TPM2_StartAuthSession commands whose tpmKey is TPM_RH_NULL (no salt).
 * -1 when the stream does not parse as commands. */
static int unsalted_sessions(const struct tt_capture *c)
{
    size_t len, off = 0, n = 0, count = 0;
    const unsigned char *p = tt_capture_to_tpm(c, &len);

    while (off < len) {
        if (len - off < 14)
            return -1;
        n = be32(p + off + 2);
        if (n < 14 || n > len - off)
            return -1;
        if (be32(p + off + 6) == TPM2_CC_StartAuthSession && be32(p + off + 10) == TPM2_RH_NULL)
            count++;
        off += n;
    }
    return (int)count;
}

static void test_secrets_absent_from_tpm_traffic(void **state)
{
    struct tt_env *env = *state;
    unsigned char secret[32];
    struct run r;

    assert_int_equal(RAND_bytes(secret, sizeof(secret)), 1);
    run_activation(env, 0, secret, sizeof(secret), &r);
    assert_capture_works(&r);
    assert_false(tt_capture_contains(r.cap, secret, sizeof(secret)));
    /* Not even half of it. */
    assert_false(tt_capture_contains(r.cap, secret, sizeof(secret) / 2));
    assert_false(tt_capture_contains(r.cap, EH_PASSWORD, strlen(EH_PASSWORD)));
    /* swtpm_setup persisted the certified EK: every session is salted, the
     * one that authorizes the first EK creation too. */
    assert_int_equal(unsalted_sessions(r.cap), 0);
    run_close(&r);
}

/* Control: the same steps with password and unsalted policy sessions show
 * both secrets in the capture. */
static void test_control_plain_sessions_leak(void **state)
{
    struct tt_env *env = *state;
    unsigned char secret[32];
    struct run r;

    assert_int_equal(RAND_bytes(secret, sizeof(secret)), 1);
    run_activation(env, 1, secret, sizeof(secret), &r);
    assert_capture_works(&r);
    assert_true(tt_capture_contains(r.cap, secret, sizeof(secret)));
    assert_true(tt_capture_contains(r.cap, EH_PASSWORD, strlen(EH_PASSWORD)));
    /* The walk finds the unsalted policy sessions of this mode. */
    assert_true(unsalted_sessions(r.cap) >= 3);
    run_close(&r);
}

/* One bit of the quote's response flipped on the way (inside the
 * TPMS_ATTEST: 10 bytes of header, 4 of parameter size, 2 of TPM2B size,
 * then magic, type and the signer's name). */
#define QUOTE_TAMPER_OFFSET 40

static int quote_through_tamper(struct run *r)
{
    struct agent_tpm_quote *q = NULL;
    TPML_PCR_SELECTION sel;
    unsigned char qual[32] = {9, 8, 7};
    int rc;

    assert_int_equal(agent_pcr_selection_parse(AGENT_TPM_DEFAULT_PCRS, &sel), 0);
    /* A first quote loads nothing more; then the next one is altered. */
    assert_int_equal(agent_tpm_quote(r->t, &sel, qual, sizeof(qual), &q), 0);
    agent_tpm_quote_free(q);
    q = NULL;
    tt_capture_tamper(r->cap, TPM2_CC_Quote, QUOTE_TAMPER_OFFSET);
    rc = agent_tpm_quote(r->t, &sel, qual, sizeof(qual), &q);
    assert_int_equal(tt_capture_tampered(r->cap), 1);
    agent_tpm_quote_free(q);
    return rc;
}

static void test_altered_response_refused(void **state)
{
    struct tt_env *env = *state;
    struct run r;

    run_open(env, 0, &r);
    tt_log_capture_start();
    assert_int_equal(quote_through_tamper(&r), DA_ERR_TPM_RESPONSE_AUTH);
    assert_true(tt_log_contains("Esys_Quote failed"));
    tt_log_capture_stop();
    /* The handle stays refused, with the same code, until it is reopened. */
    {
        struct agent_tpm_quote *q = NULL;
        struct agent_tpm_info info;
        TPML_PCR_SELECTION sel;
        unsigned char qual[32] = {4};
        assert_int_equal(agent_pcr_selection_parse(AGENT_TPM_DEFAULT_PCRS, &sel), 0);
        assert_int_equal(agent_tpm_quote(r.t, &sel, qual, sizeof(qual), &q),
                         DA_ERR_TPM_RESPONSE_AUTH);
        assert_null(q);
        assert_int_equal(agent_tpm_info(r.t, &info), DA_ERR_TPM_RESPONSE_AUTH);
    }
    run_close(&r);
    /* ESYS refuses further use of a context whose response failed the check,
     * so the handle could not flush its objects; swtpm has no resource
     * manager to do it. */
    {
        char out[4096];
        const char *objects[] = {"tpm2_flushcontext", "--tcti", env->tpm.tcti, "-t", NULL};
        const char *sessions[] = {"tpm2_flushcontext", "--tcti", env->tpm.tcti, "-s", NULL};
        assert_int_equal(tt_run(objects, out, sizeof(out)), 0);
        assert_int_equal(tt_run(sessions, out, sizeof(out)), 0);
    }
}

/* The EK's policy session is salted too, so the response to TPM2_Load
 * (authorized by it alone) is checked: one bit flipped in the returned name
 * (10 bytes of header, the handle, the parameter size, the TPM2B size). */
static void test_altered_policy_session_response_refused(void **state)
{
    struct tt_env *env = *state;
    char tcti[128];
    struct tt_capture *cap = NULL;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct agent_tpm_settings s = {
        .mode = AGENT_TPM_MODE_TPM,
        .tcti = tcti,
        .state_dir = env->state,
        .endorsement_auth = EH_PASSWORD,
    };

    assert_int_equal(tt_capture_start(env->tpm.port, tcti, sizeof(tcti), &cap), 0);
    assert_int_equal(agent_tpm_open(&s, &t), 0);
    tt_capture_tamper(cap, TPM2_CC_Load, 30);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), DA_ERR_TPM_RESPONSE_AUTH);
    assert_int_equal(tt_capture_tampered(cap), 1);
    assert_null(id);
    agent_tpm_close(t);
    tt_capture_free(cap);
    {
        char out[4096];
        const char *objects[] = {"tpm2_flushcontext", "--tcti", env->tpm.tcti, "-t", NULL};
        const char *sessions[] = {"tpm2_flushcontext", "--tcti", env->tpm.tcti, "-s", NULL};
        assert_int_equal(tt_run(objects, out, sizeof(out)), 0);
        assert_int_equal(tt_run(sessions, out, sizeof(out)), 0);
    }
}

/* Control: without an HMAC session the altered quote is taken as is. */
static void test_control_plain_sessions_miss_alteration(void **state)
{
    struct tt_env *env = *state;
    struct run r;

    run_open(env, 1, &r);
    assert_int_equal(quote_through_tamper(&r), 0);
    run_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_secrets_absent_from_tpm_traffic, tt_test_setup),
        cmocka_unit_test_setup(test_control_plain_sessions_leak, tt_test_setup),
        cmocka_unit_test_setup(test_altered_response_refused, tt_test_setup),
        cmocka_unit_test_setup(test_control_plain_sessions_miss_alteration, tt_test_setup),
        cmocka_unit_test_setup(test_altered_policy_session_response_refused, tt_test_setup),
    };
    return cmocka_run_group_tests(tests, sessions_group_setup, tt_group_teardown);
}

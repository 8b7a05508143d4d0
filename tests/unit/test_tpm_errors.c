/* Error paths of agent/keys/tpm.c with -Wl,--wrap doubles of Esys_* functions.
 *
 * Every double passes through to the real ESYS (on a swtpm) unless a fault
 * is armed for it, so each test fails exactly one TPM command in an
 * otherwise real exchange, and checks the DA_ERR_* code, the message, and
 * that nothing is left loaded in the TPM afterwards. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_esys.h>

#include "err.h"
#include "tpm.h"
#include "tpm_test_util.h"

struct fault {
    TSS2_RC rc; /* what to answer; 0: pass through */
    int skip;   /* real calls before the first fault */
    int times;  /* faults to inject; -1: every call */
    int calls;
};

static struct fault f_nv_read, f_load, f_create_primary, f_policy_secret, f_activate, f_getcap,
    f_initialize, f_quote, f_start_session;
static int startup_calls, pcr_read_calls, pcr_tamper_calls, pcr_counter_bump_call;

static void faults_reset(void)
{
    memset(&f_nv_read, 0, sizeof(f_nv_read));
    f_load = f_create_primary = f_policy_secret = f_activate = f_getcap = f_initialize = f_quote =
        f_start_session = f_nv_read;
    startup_calls = pcr_read_calls = pcr_tamper_calls = pcr_counter_bump_call = 0;
}

static int fault_fires(struct fault *f)
{
    f->calls++;
    if (f->rc == 0 || f->calls <= f->skip || f->times == 0)
        return 0;
    if (f->times > 0)
        f->times--;
    return 1;
}

static void arm(struct fault *f, TSS2_RC rc, int skip, int times)
{
    f->rc = rc;
    f->skip = skip;
    f->times = times;
    f->calls = 0;
}

/* --- the doubles ----------------------------------------------------- */

TSS2_RC __real_Esys_StartAuthSession(ESYS_CONTEXT *c, ESYS_TR key, ESYS_TR bind, ESYS_TR s1,
                                     ESYS_TR s2, ESYS_TR s3, const TPM2B_NONCE *nonce, TPM2_SE type,
                                     const TPMT_SYM_DEF *sym, TPMI_ALG_HASH hash, ESYS_TR *session);
TSS2_RC __wrap_Esys_StartAuthSession(ESYS_CONTEXT *c, ESYS_TR key, ESYS_TR bind, ESYS_TR s1,
                                     ESYS_TR s2, ESYS_TR s3, const TPM2B_NONCE *nonce, TPM2_SE type,
                                     const TPMT_SYM_DEF *sym, TPMI_ALG_HASH hash, ESYS_TR *session);
TSS2_RC __wrap_Esys_StartAuthSession(ESYS_CONTEXT *c, ESYS_TR key, ESYS_TR bind, ESYS_TR s1,
                                     ESYS_TR s2, ESYS_TR s3, const TPM2B_NONCE *nonce, TPM2_SE type,
                                     const TPMT_SYM_DEF *sym, TPMI_ALG_HASH hash, ESYS_TR *session)
{
    if (fault_fires(&f_start_session))
        return f_start_session.rc;
    return __real_Esys_StartAuthSession(c, key, bind, s1, s2, s3, nonce, type, sym, hash, session);
}

TSS2_RC __real_Esys_NV_Read(ESYS_CONTEXT *c, ESYS_TR a, ESYS_TR nv, ESYS_TR s1, ESYS_TR s2,
                            ESYS_TR s3, UINT16 size, UINT16 off, TPM2B_MAX_NV_BUFFER **data);
TSS2_RC __wrap_Esys_NV_Read(ESYS_CONTEXT *c, ESYS_TR a, ESYS_TR nv, ESYS_TR s1, ESYS_TR s2,
                            ESYS_TR s3, UINT16 size, UINT16 off, TPM2B_MAX_NV_BUFFER **data);
TSS2_RC __wrap_Esys_NV_Read(ESYS_CONTEXT *c, ESYS_TR a, ESYS_TR nv, ESYS_TR s1, ESYS_TR s2,
                            ESYS_TR s3, UINT16 size, UINT16 off, TPM2B_MAX_NV_BUFFER **data)
{
    if (fault_fires(&f_nv_read))
        return f_nv_read.rc;
    return __real_Esys_NV_Read(c, a, nv, s1, s2, s3, size, off, data);
}

TSS2_RC __real_Esys_Load(ESYS_CONTEXT *c, ESYS_TR parent, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3,
                         const TPM2B_PRIVATE *priv, const TPM2B_PUBLIC *pub, ESYS_TR *h);
TSS2_RC __wrap_Esys_Load(ESYS_CONTEXT *c, ESYS_TR parent, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3,
                         const TPM2B_PRIVATE *priv, const TPM2B_PUBLIC *pub, ESYS_TR *h);
TSS2_RC __wrap_Esys_Load(ESYS_CONTEXT *c, ESYS_TR parent, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3,
                         const TPM2B_PRIVATE *priv, const TPM2B_PUBLIC *pub, ESYS_TR *h)
{
    if (fault_fires(&f_load))
        return f_load.rc;
    return __real_Esys_Load(c, parent, s1, s2, s3, priv, pub, h);
}

TSS2_RC __real_Esys_CreatePrimary(ESYS_CONTEXT *c, ESYS_TR h, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3,
                                  const TPM2B_SENSITIVE_CREATE *sens, const TPM2B_PUBLIC *tmpl,
                                  const TPM2B_DATA *outside, const TPML_PCR_SELECTION *pcrs,
                                  ESYS_TR *obj, TPM2B_PUBLIC **pub, TPM2B_CREATION_DATA **cd,
                                  TPM2B_DIGEST **ch, TPMT_TK_CREATION **ct);
TSS2_RC __wrap_Esys_CreatePrimary(ESYS_CONTEXT *c, ESYS_TR h, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3,
                                  const TPM2B_SENSITIVE_CREATE *sens, const TPM2B_PUBLIC *tmpl,
                                  const TPM2B_DATA *outside, const TPML_PCR_SELECTION *pcrs,
                                  ESYS_TR *obj, TPM2B_PUBLIC **pub, TPM2B_CREATION_DATA **cd,
                                  TPM2B_DIGEST **ch, TPMT_TK_CREATION **ct);
TSS2_RC __wrap_Esys_CreatePrimary(ESYS_CONTEXT *c, ESYS_TR h, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3,
                                  const TPM2B_SENSITIVE_CREATE *sens, const TPM2B_PUBLIC *tmpl,
                                  const TPM2B_DATA *outside, const TPML_PCR_SELECTION *pcrs,
                                  ESYS_TR *obj, TPM2B_PUBLIC **pub, TPM2B_CREATION_DATA **cd,
                                  TPM2B_DIGEST **ch, TPMT_TK_CREATION **ct)
{
    if (fault_fires(&f_create_primary))
        return f_create_primary.rc;
    return __real_Esys_CreatePrimary(c, h, s1, s2, s3, sens, tmpl, outside, pcrs, obj, pub, cd, ch,
                                     ct);
}

TSS2_RC __real_Esys_PolicySecret(ESYS_CONTEXT *c, ESYS_TR auth, ESYS_TR session, ESYS_TR s1,
                                 ESYS_TR s2, ESYS_TR s3, const TPM2B_NONCE *nonce,
                                 const TPM2B_DIGEST *cp, const TPM2B_NONCE *ref, INT32 exp,
                                 TPM2B_TIMEOUT **timeout, TPMT_TK_AUTH **ticket);
TSS2_RC __wrap_Esys_PolicySecret(ESYS_CONTEXT *c, ESYS_TR auth, ESYS_TR session, ESYS_TR s1,
                                 ESYS_TR s2, ESYS_TR s3, const TPM2B_NONCE *nonce,
                                 const TPM2B_DIGEST *cp, const TPM2B_NONCE *ref, INT32 exp,
                                 TPM2B_TIMEOUT **timeout, TPMT_TK_AUTH **ticket);
TSS2_RC __wrap_Esys_PolicySecret(ESYS_CONTEXT *c, ESYS_TR auth, ESYS_TR session, ESYS_TR s1,
                                 ESYS_TR s2, ESYS_TR s3, const TPM2B_NONCE *nonce,
                                 const TPM2B_DIGEST *cp, const TPM2B_NONCE *ref, INT32 exp,
                                 TPM2B_TIMEOUT **timeout, TPMT_TK_AUTH **ticket)
{
    if (fault_fires(&f_policy_secret))
        return f_policy_secret.rc;
    return __real_Esys_PolicySecret(c, auth, session, s1, s2, s3, nonce, cp, ref, exp, timeout,
                                    ticket);
}

TSS2_RC __real_Esys_ActivateCredential(ESYS_CONTEXT *c, ESYS_TR act, ESYS_TR key, ESYS_TR s1,
                                       ESYS_TR s2, ESYS_TR s3, const TPM2B_ID_OBJECT *cred,
                                       const TPM2B_ENCRYPTED_SECRET *secret, TPM2B_DIGEST **info);
TSS2_RC __wrap_Esys_ActivateCredential(ESYS_CONTEXT *c, ESYS_TR act, ESYS_TR key, ESYS_TR s1,
                                       ESYS_TR s2, ESYS_TR s3, const TPM2B_ID_OBJECT *cred,
                                       const TPM2B_ENCRYPTED_SECRET *secret, TPM2B_DIGEST **info);
TSS2_RC __wrap_Esys_ActivateCredential(ESYS_CONTEXT *c, ESYS_TR act, ESYS_TR key, ESYS_TR s1,
                                       ESYS_TR s2, ESYS_TR s3, const TPM2B_ID_OBJECT *cred,
                                       const TPM2B_ENCRYPTED_SECRET *secret, TPM2B_DIGEST **info)
{
    if (fault_fires(&f_activate))
        return f_activate.rc;
    return __real_Esys_ActivateCredential(c, act, key, s1, s2, s3, cred, secret, info);
}

TSS2_RC __real_Esys_GetCapability(ESYS_CONTEXT *c, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3, TPM2_CAP cap,
                                  UINT32 prop, UINT32 count, TPMI_YES_NO *more,
                                  TPMS_CAPABILITY_DATA **data);
TSS2_RC __wrap_Esys_GetCapability(ESYS_CONTEXT *c, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3, TPM2_CAP cap,
                                  UINT32 prop, UINT32 count, TPMI_YES_NO *more,
                                  TPMS_CAPABILITY_DATA **data);
TSS2_RC __wrap_Esys_GetCapability(ESYS_CONTEXT *c, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3, TPM2_CAP cap,
                                  UINT32 prop, UINT32 count, TPMI_YES_NO *more,
                                  TPMS_CAPABILITY_DATA **data)
{
    if (fault_fires(&f_getcap))
        return f_getcap.rc;
    return __real_Esys_GetCapability(c, s1, s2, s3, cap, prop, count, more, data);
}

TSS2_RC __real_Esys_Initialize(ESYS_CONTEXT **c, TSS2_TCTI_CONTEXT *tcti, TSS2_ABI_VERSION *abi);
TSS2_RC __wrap_Esys_Initialize(ESYS_CONTEXT **c, TSS2_TCTI_CONTEXT *tcti, TSS2_ABI_VERSION *abi);
TSS2_RC __wrap_Esys_Initialize(ESYS_CONTEXT **c, TSS2_TCTI_CONTEXT *tcti, TSS2_ABI_VERSION *abi)
{
    if (fault_fires(&f_initialize))
        return f_initialize.rc;
    return __real_Esys_Initialize(c, tcti, abi);
}

/* The swtpm is started already: a Startup(CLEAR) would be refused, so the
 * double only records that the agent asked for it. */
TSS2_RC __wrap_Esys_Startup(ESYS_CONTEXT *c, TPM2_SU type);
TSS2_RC __wrap_Esys_Startup(ESYS_CONTEXT *c, TPM2_SU type)
{
    (void)c;
    startup_calls += type == TPM2_SU_CLEAR;
    return TSS2_RC_SUCCESS;
}

TSS2_RC __real_Esys_Quote(ESYS_CONTEXT *c, ESYS_TR key, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3,
                          const TPM2B_DATA *q, const TPMT_SIG_SCHEME *scheme,
                          const TPML_PCR_SELECTION *sel, TPM2B_ATTEST **quoted,
                          TPMT_SIGNATURE **sig);
TSS2_RC __wrap_Esys_Quote(ESYS_CONTEXT *c, ESYS_TR key, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3,
                          const TPM2B_DATA *q, const TPMT_SIG_SCHEME *scheme,
                          const TPML_PCR_SELECTION *sel, TPM2B_ATTEST **quoted,
                          TPMT_SIGNATURE **sig);
TSS2_RC __wrap_Esys_Quote(ESYS_CONTEXT *c, ESYS_TR key, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3,
                          const TPM2B_DATA *q, const TPMT_SIG_SCHEME *scheme,
                          const TPML_PCR_SELECTION *sel, TPM2B_ATTEST **quoted,
                          TPMT_SIGNATURE **sig)
{
    if (fault_fires(&f_quote))
        return f_quote.rc;
    return __real_Esys_Quote(c, key, s1, s2, s3, q, scheme, sel, quoted, sig);
}

/* PCRs that change between the read and the quote: the double alters the
 * value read (as if an extend landed right after it) for the first
 * pcr_tamper_calls reads, and can move the update counter on one call. */
TSS2_RC __real_Esys_PCR_Read(ESYS_CONTEXT *c, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3,
                             const TPML_PCR_SELECTION *in, UINT32 *counter,
                             TPML_PCR_SELECTION **out, TPML_DIGEST **values);
TSS2_RC __wrap_Esys_PCR_Read(ESYS_CONTEXT *c, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3,
                             const TPML_PCR_SELECTION *in, UINT32 *counter,
                             TPML_PCR_SELECTION **out, TPML_DIGEST **values);
TSS2_RC __wrap_Esys_PCR_Read(ESYS_CONTEXT *c, ESYS_TR s1, ESYS_TR s2, ESYS_TR s3,
                             const TPML_PCR_SELECTION *in, UINT32 *counter,
                             TPML_PCR_SELECTION **out, TPML_DIGEST **values)
{
    TSS2_RC rc = __real_Esys_PCR_Read(c, s1, s2, s3, in, counter, out, values);

    pcr_read_calls++;
    if (rc != TSS2_RC_SUCCESS)
        return rc;
    if (pcr_tamper_calls < 0 || pcr_read_calls <= pcr_tamper_calls)
        (*values)->digests[0].buffer[0] ^= 0xff;
    if (pcr_read_calls == pcr_counter_bump_call)
        *counter += 1;
    return rc;
}

/* --- tests ----------------------------------------------------------- */

static int test_setup(void **state)
{
    faults_reset();
    tt_log_capture_stop();
    return tt_test_setup(state);
}

static void assert_nothing_loaded(struct agent_tpm *t, uint32_t expected)
{
    struct agent_tpm_info info;

    faults_reset();
    assert_int_equal(agent_tpm_info(t, &info), 0);
    assert_int_equal(info.transient_objects, expected);
}

static void create_identity(const struct tt_env *env)
{
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;

    assert_int_equal(tt_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);
    agent_tpm_identity_free(id);
    agent_tpm_close(t);
}

static void test_tpm_absent(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;

    tt_log_capture_start();
    arm(&f_initialize, TSS2_TCTI_RC_IO_ERROR, 0, 1);
    assert_int_equal(tt_open(env, &t), DA_ERR_TPM_ABSENT);
    assert_null(t);
    assert_true(tt_log_contains("Esys_Initialize failed"));
    assert_true(tt_log_contains("no TPM answers"));

    /* The connection opens but the TPM does not answer. */
    arm(&f_getcap, TSS2_TCTI_RC_NO_CONNECTION, 0, 1);
    assert_int_equal(tt_open(env, &t), DA_ERR_TPM_ABSENT);
    assert_null(t);
    tt_log_capture_stop();
}

static void test_tpm_not_started_gets_startup(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;

    arm(&f_getcap, TPM2_RC_INITIALIZE, 0, 1);
    assert_int_equal(tt_open(env, &t), 0);
    assert_int_equal(startup_calls, 1);
    agent_tpm_close(t);
}

static void test_nv_read_denied(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;

    assert_int_equal(tt_open(env, &t), 0);
    tt_log_capture_start();
    arm(&f_nv_read, TPM2_RC_NV_AUTHORIZATION, 0, 1);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), DA_ERR_TPM_NV_READ);
    assert_null(id);
    assert_true(tt_log_contains("Esys_NV_Read failed"));
    assert_true(tt_log_contains("EK certificate at NV index 0x01c00002 could not be read"));
    tt_log_capture_stop();
    assert_nothing_loaded(t, 0);
    /* No fault: the same handle now works. */
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);
    agent_tpm_identity_free(id);
    agent_tpm_close(t);
}

static void test_object_memory_full(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;

    create_identity(env);
    assert_int_equal(tt_open(env, &t), 0);
    tt_log_capture_start();
    /* The AK loads, the SK does not fit. */
    arm(&f_load, TPM2_RC_OBJECT_MEMORY, 1, 1);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_LOAD, &id), DA_ERR_TPM_OBJECT_MEMORY);
    assert_true(tt_log_contains("Esys_Load failed"));
    assert_true(tt_log_contains("out of memory for objects"));
    tt_log_capture_stop();
    assert_null(id);
    /* The EK was flushed; the AK stays held for the next attempt. */
    assert_nothing_loaded(t, 1);

    arm(&f_create_primary, TPM2_RC_OBJECT_MEMORY, 0, 1);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_LOAD, &id), DA_ERR_TPM_OBJECT_MEMORY);
    assert_nothing_loaded(t, 1);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_LOAD, &id), 0);
    assert_nothing_loaded(t, 2);
    agent_tpm_identity_free(id);
    agent_tpm_close(t);
}

static void test_wrong_auth(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct da_buf cred, enc, secret = {0};
    const unsigned char value[32] = {1};

    assert_int_equal(tt_open(env, &t), 0);
    tt_log_capture_start();
    /* BAD_AUTH for session 1, as the TPM reports it. */
    arm(&f_policy_secret, TPM2_RC_BAD_AUTH | TPM2_RC_S | TPM2_RC_1, 0, 1);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), DA_ERR_TPM_AUTH);
    assert_true(tt_log_contains("Esys_PolicySecret(endorsement) failed"));
    assert_true(tt_log_contains("endorsement_auth"));
    tt_log_capture_stop();
    assert_null(id);
    assert_nothing_loaded(t, 0);

    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);
    assert_int_equal(
        tt_make_credential(env, &id->ek_public, &id->ak_name, value, sizeof(value), &cred, &enc),
        0);
    arm(&f_activate, TPM2_RC_POLICY_FAIL | TPM2_RC_S | TPM2_RC_2, 0, 1);
    assert_int_equal(agent_tpm_activate_credential(t, da_buf_data(&cred), da_buf_len(&cred),
                                                   da_buf_data(&enc), da_buf_len(&enc), &secret),
                     DA_ERR_TPM_AUTH);
    assert_int_equal(da_buf_len(&secret), 0);
    assert_nothing_loaded(t, 2);
    assert_int_equal(agent_tpm_activate_credential(t, da_buf_data(&cred), da_buf_len(&cred),
                                                   da_buf_data(&enc), da_buf_len(&enc), &secret),
                     0);
    assert_memory_equal(da_buf_data(&secret), value, sizeof(value));
    da_buf_free(&secret);
    da_buf_free(&cred);
    da_buf_free(&enc);
    agent_tpm_identity_free(id);
    agent_tpm_close(t);
}

/* The sessions salted with the EK: when the persisted EK cannot salt one,
 * the first EK creation goes unsalted and the EK made then salts the rest;
 * when no session can be started, the identity fails cleanly. */
static void test_session_start_refused(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;

    assert_int_equal(tt_open(env, &t), 0);
    tt_log_capture_start();
    arm(&f_start_session, TPM2_RC_VALUE | TPM2_RC_P | TPM2_RC_1, 0, 1);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);
    assert_int_equal(f_start_session.calls > 3, 1);
    assert_true(tt_log_contains("Esys_StartAuthSession(HMAC, salted with the EK) failed"));
    assert_true(tt_log_contains("authorized without a salt"));
    tt_log_capture_stop();
    agent_tpm_identity_free(id);
    id = NULL;
    agent_tpm_close(t);

    tt_fresh_state(env);
    assert_int_equal(tt_open(env, &t), 0);
    arm(&f_start_session, TPM2_RC_SESSION_MEMORY, 0, -1);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), DA_ERR_TPM_OBJECT_MEMORY);
    assert_null(id);
    assert_nothing_loaded(t, 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);
    assert_nothing_loaded(t, 2);
    agent_tpm_identity_free(id);
    agent_tpm_close(t);
}

static void quote_with(struct agent_tpm *t, const char *sel_text, struct agent_tpm_quote **q,
                       int expect)
{
    TPML_PCR_SELECTION sel;
    const unsigned char nonce[32] = {3};

    assert_int_equal(agent_pcr_selection_parse(sel_text, &sel), 0);
    assert_int_equal(agent_tpm_quote(t, &sel, nonce, sizeof(nonce), q), expect);
}

static void test_pcrs_change_during_quote(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_quote *q = NULL;
    struct agent_tpm_identity *id = NULL;
    char out[8192];
    const unsigned char nonce[32] = {3};

    create_identity(env);
    assert_int_equal(tt_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_LOAD, &id), 0);

    /* Changed once: the second attempt gives a consistent quote. */
    pcr_tamper_calls = 1;
    quote_with(t, AGENT_TPM_DEFAULT_PCRS, &q, 0);
    assert_int_equal(q->attempts, 2);
    assert_int_equal(pcr_read_calls, 2);
    assert_int_equal(
        tt_checkquote(env, &id->ak_public, 0, q, nonce, sizeof(nonce), out, sizeof(out)), 0);
    agent_tpm_quote_free(q);
    q = NULL;

    /* The update counter moves between the reads of a long selection. */
    faults_reset();
    pcr_counter_bump_call = 2;
    quote_with(t, "sha256:0-23", &q, 0);
    assert_int_equal(q->attempts, 2);
    agent_tpm_quote_free(q);
    q = NULL;

    /* Changing all the time: bounded, then a clear error. */
    faults_reset();
    pcr_tamper_calls = -1;
    tt_log_capture_start();
    quote_with(t, AGENT_TPM_DEFAULT_PCRS, &q, DA_ERR_TPM_PCR_CHANGED);
    assert_null(q);
    assert_int_equal(pcr_read_calls, AGENT_TPM_QUOTE_ATTEMPTS);
    assert_true(tt_log_contains("PCRs changed during each of 4 quote attempts"));
    tt_log_capture_stop();

    /* A failing quote command. */
    faults_reset();
    arm(&f_quote, TPM2_RC_FAILURE, 0, 1);
    quote_with(t, AGENT_TPM_DEFAULT_PCRS, &q, DA_ERR_TPM);
    assert_nothing_loaded(t, 2);
    agent_tpm_identity_free(id);
    agent_tpm_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_tpm_absent, test_setup),
        cmocka_unit_test_setup(test_tpm_not_started_gets_startup, test_setup),
        cmocka_unit_test_setup(test_nv_read_denied, test_setup),
        cmocka_unit_test_setup(test_object_memory_full, test_setup),
        cmocka_unit_test_setup(test_wrong_auth, test_setup),
        cmocka_unit_test_setup(test_pcrs_change_during_quote, test_setup),
        cmocka_unit_test_setup(test_session_start_refused, test_setup),
    };
    return cmocka_run_group_tests(tests, tt_group_setup, tt_group_teardown);
}

/* Quotes by the agent's AK on a real swtpm, verified by tpm2_checkquote
 * (tpm2-tools) with the exported AK public, the qualifying data and the PCR
 * values. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>
#include <tss2/tss2_mu.h>

#include "err.h"
#include "tpm.h"
#include "tpm_test_util.h"

static void open_with_identity(struct tt_env *env, struct agent_tpm **t,
                               struct agent_tpm_identity **id)
{
    assert_int_equal(tt_open(env, t), 0);
    assert_int_equal(agent_tpm_identity(*t, AGENT_IDENTITY_CREATE, id), 0);
}

static void quote(struct agent_tpm *t, const char *sel_text, const unsigned char *nonce,
                  size_t nonce_len, struct agent_tpm_quote **q)
{
    TPML_PCR_SELECTION sel;

    assert_int_equal(agent_pcr_selection_parse(sel_text, &sel), 0);
    assert_int_equal(agent_tpm_quote(t, &sel, nonce, nonce_len, q), 0);
}

static void test_quote_verifies_with_checkquote(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct agent_tpm_quote *q = NULL;
    unsigned char nonce[32], other[32];
    TPMS_ATTEST a;
    TPML_PCR_SELECTION asked;
    size_t off = 0;
    char out[8192];

    SHA256((const unsigned char *)"nonce || evidence digest", 24, nonce);
    memcpy(other, nonce, sizeof(other));
    other[0] ^= 1;
    open_with_identity(env, &t, &id);
    quote(t, AGENT_TPM_DEFAULT_PCRS, nonce, sizeof(nonce), &q);
    agent_tpm_close(t);

    assert_string_equal(q->trust, "tpm");
    assert_int_equal(q->attempts, 1);
    assert_int_equal(q->pcr_values.len, 8 * 32);
    assert_int_equal(Tss2_MU_TPMS_ATTEST_Unmarshal(q->attest.data, q->attest.len, &off, &a),
                     TSS2_RC_SUCCESS);
    assert_int_equal(off, q->attest.len);
    assert_int_equal(a.type, TPM2_ST_ATTEST_QUOTE);
    assert_int_equal(a.extraData.size, sizeof(nonce));
    assert_memory_equal(a.extraData.buffer, nonce, sizeof(nonce));
    assert_int_equal(agent_pcr_selection_parse(AGENT_TPM_DEFAULT_PCRS, &asked), 0);
    assert_int_equal(a.attested.quote.pcrSelect.count, 1);
    assert_int_equal(a.attested.quote.pcrSelect.pcrSelections[0].hash, TPM2_ALG_SHA256);
    assert_memory_equal(a.attested.quote.pcrSelect.pcrSelections[0].pcrSelect,
                        asked.pcrSelections[0].pcrSelect, 3);

    /* tpm2_checkquote accepts it with the TSS public and with the PEM... */
    assert_int_equal(
        tt_checkquote(env, &id->ak_public, 0, q, nonce, sizeof(nonce), out, sizeof(out)), 0);
    assert_int_equal(
        tt_checkquote(env, &id->ak_public, 1, q, nonce, sizeof(nonce), out, sizeof(out)), 0);
    /* ...and refuses other qualifying data, other PCR values, another message. */
    assert_int_not_equal(
        tt_checkquote(env, &id->ak_public, 0, q, other, sizeof(other), out, sizeof(out)), 0);
    q->pcr_values.data[7 * 32] ^= 0x01;
    assert_int_not_equal(
        tt_checkquote(env, &id->ak_public, 0, q, nonce, sizeof(nonce), out, sizeof(out)), 0);
    q->pcr_values.data[7 * 32] ^= 0x01;
    q->attest.data[q->attest.len - 1] ^= 0x01;
    assert_int_not_equal(
        tt_checkquote(env, &id->ak_public, 0, q, nonce, sizeof(nonce), out, sizeof(out)), 0);
    agent_tpm_quote_free(q);
    agent_tpm_identity_free(id);
}

/* Extending a PCR shows in the next quote, with the value the extend rule
 * gives, computed here. */
static void test_quote_sees_pcr_extend(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct agent_tpm_quote *before = NULL, *after = NULL;
    const unsigned char nonce[4] = {1, 2, 3, 4};
    unsigned char measurement[32], chain[64], expected[32];
    char *hex, arg[128], out[4096];

    open_with_identity(env, &t, &id);
    quote(t, "sha256:7,16", nonce, sizeof(nonce), &before);
    agent_tpm_close(t);

    SHA256((const unsigned char *)"a measurement", 13, measurement);
    hex = tt_hex(measurement, sizeof(measurement));
    snprintf(arg, sizeof(arg), "16:sha256=%s", hex);
    free(hex);
    {
        const char *argv[] = {"tpm2_pcrextend", "-T", env->tpm.tcti, arg, NULL};
        assert_int_equal(tt_run(argv, out, sizeof(out)), 0);
    }
    memcpy(chain, before->pcr_values.data + 32, 32);
    memcpy(chain + 32, measurement, 32);
    SHA256(chain, sizeof(chain), expected);

    assert_int_equal(tt_open(env, &t), 0);
    quote(t, "sha256:7,16", nonce, sizeof(nonce), &after);
    agent_tpm_close(t);
    assert_memory_equal(after->pcr_values.data, before->pcr_values.data, 32);
    assert_memory_equal(after->pcr_values.data + 32, expected, 32);
    assert_int_equal(
        tt_checkquote(env, &id->ak_public, 0, after, nonce, sizeof(nonce), out, sizeof(out)), 0);
    /* The old values do not verify against the new quote. */
    memcpy(after->pcr_values.data, before->pcr_values.data, before->pcr_values.len);
    assert_int_not_equal(
        tt_checkquote(env, &id->ak_public, 0, after, nonce, sizeof(nonce), out, sizeof(out)), 0);
    agent_tpm_quote_free(before);
    agent_tpm_quote_free(after);
    agent_tpm_identity_free(id);
}

/* All 24 PCRs take three PCR_Read commands (eight digests each). */
static void test_quote_all_pcrs(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct agent_tpm_quote *q = NULL;
    const unsigned char nonce[32] = {9};
    char out[8192];

    open_with_identity(env, &t, &id);
    quote(t, "sha256:0-23", nonce, sizeof(nonce), &q);
    agent_tpm_close(t);
    assert_int_equal(q->pcr_values.len, 24 * 32);
    assert_int_equal(
        tt_checkquote(env, &id->ak_public, 0, q, nonce, sizeof(nonce), out, sizeof(out)), 0);
    agent_tpm_quote_free(q);
    agent_tpm_identity_free(id);
}

static void test_quote_inactive_bank_refused(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct agent_tpm_quote *q = NULL;
    TPML_PCR_SELECTION sel;

    open_with_identity(env, &t, &id);
    /* The harness activates only the sha256 bank. */
    assert_int_equal(agent_pcr_selection_parse("sha1:0-7", &sel), 0);
    tt_log_capture_start();
    assert_int_equal(agent_tpm_quote(t, &sel, NULL, 0, &q), DA_ERR_INVALID_ARG);
    assert_true(tt_log_contains("not active"));
    tt_log_capture_stop();
    assert_null(q);
    /* A bad selection is refused before the TPM sees it. */
    memset(&sel, 0, sizeof(sel));
    assert_int_equal(agent_tpm_quote(t, &sel, NULL, 0, &q), DA_ERR_INVALID_ARG);
    agent_tpm_close(t);
    agent_tpm_identity_free(id);
}

/* A long run of quotes must not leave objects behind in the TPM: swtpm holds
 * only three transient objects, so one leaked object per quote would fail
 * within a few quotes with "out of memory for object contexts". */
static void test_quote_loop_keeps_object_memory(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct agent_tpm_quote *q = NULL;
    struct agent_tpm_info info;
    TPML_PCR_SELECTION sel;
    const char *count_env = getenv("DA_TPM_QUOTE_LOOP");
    long count = count_env != NULL ? strtol(count_env, NULL, 10) : 1000, i;
    unsigned char nonce[32] = {0};
    char out[8192];

    assert_true(count > 0 && count <= 100000);
    open_with_identity(env, &t, &id);
    assert_int_equal(agent_pcr_selection_parse(AGENT_TPM_DEFAULT_PCRS, &sel), 0);
    for (i = 0; i < count; i++) {
        memcpy(nonce, &i, sizeof(i));
        agent_tpm_quote_free(q);
        q = NULL;
        assert_int_equal(agent_tpm_quote(t, &sel, nonce, sizeof(nonce), &q), 0);
    }
    assert_int_equal(agent_tpm_info(t, &info), 0);
    assert_int_equal(info.transient_objects, 2); /* the AK and the SK */
    agent_tpm_close(t);
    fprintf(stderr, "%ld quotes made\n", count);
    assert_int_equal(
        tt_checkquote(env, &id->ak_public, 0, q, nonce, sizeof(nonce), out, sizeof(out)), 0);
    {
        const char *argv[] = {"tpm2_getcap", "-T", env->tpm.tcti, "handles-transient", NULL};
        assert_int_equal(tt_run(argv, out, sizeof(out)), 0);
        assert_null(strstr(out, "0x80"));
    }
    agent_tpm_quote_free(q);
    agent_tpm_identity_free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_quote_verifies_with_checkquote, tt_test_setup),
        cmocka_unit_test_setup(test_quote_sees_pcr_extend, tt_test_setup),
        cmocka_unit_test_setup(test_quote_all_pcrs, tt_test_setup),
        cmocka_unit_test_setup(test_quote_inactive_bank_refused, tt_test_setup),
        cmocka_unit_test_setup(test_quote_loop_keeps_object_memory, tt_test_setup),
    };
    return cmocka_run_group_tests(tests, tt_group_setup, tt_group_teardown);
}

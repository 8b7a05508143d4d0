/* The evidence path, from the side of a compromised uploader. The signer
 * (on a fresh swtpm) quotes only what the collector gave it over their own
 * channel, and quotes a spooled report again only when the report carries
 * the signer's MAC. The test is the uploader: it asks for a quote and
 * checks (tpm2-tss unmarshals the attestation, OpenSSL hashes) that the
 * TPM signed SHA-256(nonce || SHA-256(evidence)); then it tries to get
 * forged evidence quoted: in a QUOTE frame, as a re-quote with a MAC of its
 * own, as a planted spool entry with the MAC of a genuine report. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/sha.h>
#include <tss2/tss2_mu.h>

#include "agent_config.h"
#include "agent_test_dir.h"
#include "err.h"
#include "fields.h"
#include "privsep.h"
#include "spool.h"
#include "swtpm_harness.h"
#include "tpm.h"

#define PCRS "sha256:0,1,2,3,4,5,6,7"

struct world {
    struct da_test_swtpm tpm;
    struct agent_config cfg;
    struct agent_child signer, collector;
    char dir[300];
};

static int setup_mode(void **state, enum agent_sandbox_mode mode)
{
    struct world *w = calloc(1, sizeof(*w));
    struct agent_spawn_opts o;
    int ev[2];

    if (w == NULL || da_test_swtpm_start(&w->tpm) != 0 ||
        da_test_agent_dir(w->dir, sizeof(w->dir)) != 0 || agent_config_defaults(&w->cfg) != 0)
        return -1;
    snprintf(w->cfg.tcti, sizeof(w->cfg.tcti), "%s", w->tpm.tcti);
    w->cfg.sandbox = (int)mode;
    snprintf(w->cfg.state_dir, sizeof(w->cfg.state_dir), "%s/state", w->dir);
    snprintf(w->cfg.spool_dir, sizeof(w->cfg.spool_dir), "%s/spool", w->dir);
    /* The evidence channel, as the runtime makes it: the test (the
     * uploader) keeps no end of it. */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ev) != 0)
        return -1;
    memset(&o, 0, sizeof(o));
    o.firewall_fd = -1;
    o.evidence_fd = ev[0];
    if (agent_signer_spawn_opts(&w->cfg, AGENT_IDENTITY_CREATE, &o, &w->signer) != 0)
        return -1;
    o.evidence_fd = ev[1];
    if (agent_collector_spawn_opts(&w->cfg, "", &o, &w->collector) != 0)
        return -1;
    close(ev[0]);
    close(ev[1]);
    *state = w;
    return 0;
}

static int setup(void **state)
{
    return setup_mode(state, AGENT_SANDBOX_ENFORCE);
}

static int setup_log(void **state)
{
    return setup_mode(state, AGENT_SANDBOX_LOG);
}

static int teardown(void **state)
{
    struct world *w = *state;
    char cmd[400];

    if (w == NULL)
        return 0;
    agent_child_kill(&w->signer);
    agent_child_kill(&w->collector);
    da_test_swtpm_stop(&w->tpm);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
    (void)!system(cmd);
    agent_config_free(&w->cfg);
    free(w);
    return 0;
}

/* extraData of the attestation == SHA-256(nonce || SHA-256(evidence)). */
static void expect_bound(const struct agent_quote_result *q, const unsigned char *nonce,
                         size_t nonce_len)
{
    TPMS_ATTEST a;
    size_t off = 0;
    unsigned char d[32], qd[32], msg[256 + 32];

    memset(&a, 0, sizeof(a));
    assert_int_equal(
        Tss2_MU_TPMS_ATTEST_Unmarshal(da_buf_data(&q->attest), da_buf_len(&q->attest), &off, &a),
        TSS2_RC_SUCCESS);
    SHA256((const unsigned char *)da_buf_data(&q->evidence), da_buf_len(&q->evidence), d);
    assert_true(nonce_len <= 256);
    memcpy(msg, nonce, nonce_len);
    memcpy(msg + nonce_len, d, sizeof(d));
    SHA256(msg, nonce_len + sizeof(d), qd);
    assert_int_equal(a.extraData.size, 32);
    assert_memory_equal(a.extraData.buffer, qd, 32);
}

static void test_quote_is_of_collected_evidence(void **state)
{
    struct world *w = *state;
    static const unsigned char nonce[16] = "nonce-0123456789";
    struct agent_quote_result q;
    cJSON *ev, *agent;

    assert_int_equal(
        agent_signer_quote(&w->signer, &w->collector, nonce, sizeof(nonce), PCRS, 7, &q), 0);
    expect_bound(&q, nonce, sizeof(nonce));
    ev = cJSON_ParseWithLength(da_buf_str(&q.evidence), da_buf_len(&q.evidence));
    assert_non_null(ev);
    assert_string_equal(cJSON_GetObjectItem(ev, "schema")->valuestring, "devattest.evidence/v1");
    agent = cJSON_GetObjectItem(ev, "agent");
    assert_int_equal(cJSON_GetObjectItem(agent, "spool_dropped")->valueint, 7);
    assert_string_equal(cJSON_GetObjectItem(agent, "sandbox")->valuestring, "enforce");
    cJSON_Delete(ev);
    agent_quote_result_free(&q);
}

/* sandbox = log travels in the quoted evidence (the policy fails it). */
static void test_log_mode_is_in_the_evidence(void **state)
{
    struct world *w = *state;
    static const unsigned char nonce[8] = "nonce-03";
    struct agent_quote_result q;
    cJSON *ev;

    assert_int_equal(
        agent_signer_quote(&w->signer, &w->collector, nonce, sizeof(nonce), PCRS, 0, &q), 0);
    expect_bound(&q, nonce, sizeof(nonce));
    ev = cJSON_ParseWithLength(da_buf_str(&q.evidence), da_buf_len(&q.evidence));
    assert_non_null(ev);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "agent"), "sandbox")->valuestring, "log");
    cJSON_Delete(ev);
    agent_quote_result_free(&q);
}

/* The genuine re-quote works; the same evidence with one byte changed, or
 * with a MAC the uploader made up, is refused. */
static void test_requote_needs_the_signers_mac(void **state)
{
    struct world *w = *state;
    static const unsigned char nonce[8] = "nonce-01", nonce2[8] = "nonce-02";
    struct agent_quote_result q, again;
    unsigned char mac[AGENT_SPOOL_MAC_LEN];
    char *forged;
    char *p;

    assert_int_equal(
        agent_signer_quote(&w->signer, &w->collector, nonce, sizeof(nonce), PCRS, 0, &q), 0);
    assert_int_equal(agent_signer_requote(&w->signer, nonce2, sizeof(nonce2), PCRS,
                                          da_buf_str(&q.evidence), da_buf_len(&q.evidence), q.mac,
                                          &again),
                     0);
    expect_bound(&again, nonce2, sizeof(nonce2));
    assert_memory_equal(again.mac, q.mac, sizeof(q.mac));
    agent_quote_result_free(&again);

    /* Forged evidence, the genuine MAC: a planted spool entry. */
    forged = strndup(da_buf_str(&q.evidence), da_buf_len(&q.evidence));
    assert_non_null(forged);
    p = strstr(forged, "\"enforce\"");
    assert_non_null(p);
    memcpy(p, "\"enforcf\"", 9);
    assert_int_equal(agent_signer_requote(&w->signer, nonce2, sizeof(nonce2), PCRS, forged,
                                          strlen(forged), q.mac, &again),
                     DA_ERR_SPOOL_MAC);
    /* Forged evidence, a MAC of the uploader's making. */
    memset(mac, 0x5a, sizeof(mac));
    assert_int_equal(agent_signer_requote(&w->signer, nonce2, sizeof(nonce2), PCRS, forged,
                                          strlen(forged), mac, &again),
                     DA_ERR_SPOOL_MAC);
    /* The signer is still serving after the refusals. */
    assert_int_equal(agent_signer_requote(&w->signer, nonce, sizeof(nonce), PCRS,
                                          da_buf_str(&q.evidence), da_buf_len(&q.evidence), q.mac,
                                          &again),
                     0);
    agent_quote_result_free(&again);
    free(forged);
    agent_quote_result_free(&q);
}

/* A QUOTE frame that carries a document (the old layout: nonce, evidence,
 * PCRs) does not fit the message: the signer treats it as a protocol
 * violation and ends, never quoting it. */
static void test_quote_frame_with_evidence(void **state)
{
    struct world *w = *state;
    const struct agent_ipc_handler answers[] = {AGENT_MSG_ROW(QUOTE_OK, NULL),
                                                AGENT_MSG_ROW(ERROR, NULL)};
    const char *doc = "{\"schema\":\"devattest.evidence/v1\",\"forged\":true}";
    struct da_buf req, ans;
    uint32_t got = 0;
    int r;

    da_buf_init(&req, 4096);
    da_buf_init(&ans, 0);
    assert_int_equal(agent_fields_put(&req, "nonce", 5), 0);
    assert_int_equal(agent_fields_put_str(&req, doc), 0);
    assert_int_equal(agent_fields_put_str(&req, PCRS), 0);
    r = agent_ipc_call(w->signer.fd, AGENT_MSG_QUOTE, da_buf_data(&req), da_buf_len(&req), answers,
                       2, 30000, &got, &ans);
    assert_int_equal(r, DA_ERR_IPC_CLOSED);
    assert_int_not_equal(got, AGENT_MSG_QUOTE_OK);
    da_buf_free(&req);
    da_buf_free(&ans);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_quote_is_of_collected_evidence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requote_needs_the_signers_mac, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quote_frame_with_evidence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_mode_is_in_the_evidence, setup_log, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

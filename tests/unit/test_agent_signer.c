/* The signer process is the privilege boundary: it quotes only what it has
 * checked is a devattest evidence document and hashed itself. Here the real
 * signer is forked with the software key (agent/keys/softkey.c) and sent REQUOTE
 * requests over its channel (the only message that carries a document from
 * the uploader; a genuine one carries the signer's MAC, computed here from
 * its key file with OpenSSL): a 32-byte digest, JSON that is not an object,
 * and objects whose schema is missing, of the wrong type or another name are
 * refused, and the signer keeps serving. The quote it makes binds
 * SHA-256(nonce || the RFC 8785 digest of the document). */
#include "da_test.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "err.h"
#include "jcs.h"
#include "json.h"
#include "privsep.h"
#include "quote.h"
#include "sandbox.h"
#include "tmp_tree.h"
#include "tpm_attest.h"

#define EVIDENCE "{\"schema\":\"devattest.evidence/v1\",\"host\":{\"name\":\"b\"},\"a\":1}"

struct fixture {
    char dir[PATH_MAX];
    struct agent_config cfg;
    struct agent_child signer;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL || da_test_tmpdir("da-signer", f->dir, sizeof(f->dir)) != 0 ||
        agent_config_defaults(&f->cfg) != 0)
        return -1;
    *state = f;
    f->cfg.tpm_mode = 1; /* software key in the state directory */
    snprintf(f->cfg.state_dir, sizeof(f->cfg.state_dir), "%s", f->dir);
    /* The filter itself is tested in test_agent_sandbox. */
    f->cfg.sandbox = AGENT_SANDBOX_LOG;
    if (agent_signer_spawn(&f->cfg, 1 /* AGENT_IDENTITY_CREATE */, &f->signer) != 0)
        return -1;
    da_test_track_pid(f->signer.pid);
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    if (f == NULL)
        return 0;
    da_test_untrack_pid(f->signer.pid);
    agent_child_kill(&f->signer);
    agent_config_free(&f->cfg);
    (void)da_test_rmtree(f->dir);
    free(f);
    return 0;
}

/* HMAC-SHA-256(spool key, "devattest spool entry v1\0" || D) of a valid
 * document; zeros for anything else (refused before the MAC is looked at). */
static void spool_mac(struct fixture *f, const char *doc, size_t len, unsigned char mac[32])
{
    static const char label[] = "devattest spool entry v1";
    unsigned char key[64], msg[sizeof(label) + 32], d[32];
    char path[PATH_MAX + 32];
    unsigned int n = 0;
    cJSON *j = NULL;
    size_t klen;
    FILE *kf;

    memset(mac, 0, 32);
    if (da_json_parse(doc, len, 4096, &j) != 0)
        return;
    assert_int_equal(da_jcs_digest_sha256(j, d), 0);
    cJSON_Delete(j);
    snprintf(path, sizeof(path), "%s/signer/spool.key", f->dir);
    kf = fopen(path, "rb");
    assert_non_null(kf);
    klen = fread(key, 1, sizeof(key), kf);
    fclose(kf);
    assert_int_equal(klen, 32);
    memcpy(msg, label, sizeof(label));
    memcpy(msg + sizeof(label), d, 32);
    assert_non_null(HMAC(EVP_sha256(), key, (int)klen, msg, sizeof(msg), mac, &n));
}

static int quote(struct fixture *f, const char *doc, size_t len, struct agent_quote_result *q)
{
    static const unsigned char nonce[] = "a-nonce-of-the-server";
    unsigned char mac[32];

    spool_mac(f, doc, len, mac);
    memset(q, 0, sizeof(*q));
    return agent_signer_requote(&f->signer, nonce, sizeof(nonce) - 1, "sha256:0-7", doc, len, mac,
                                q);
}

static void expect_refused(struct fixture *f, const char *doc, size_t len)
{
    struct agent_quote_result q;
    int rc = quote(f, doc, len, &q);

    if (rc == 0)
        fail_msg("the signer quoted %zu bytes that are not evidence", len);
    assert_non_null(strstr(agent_privsep_last_error(), "not evidence"));
    agent_quote_result_free(&q);
}

static void test_quotes_evidence(void **state)
{
    static const unsigned char nonce[] = "a-nonce-of-the-server";
    struct fixture *f = *state;
    struct agent_quote_result q;
    uint8_t d[32], qd[DA_QUOTE_QD_LEN];
    TPMS_ATTEST a;
    cJSON *doc = NULL;

    assert_int_equal(quote(f, EVIDENCE, strlen(EVIDENCE), &q), 0);
    assert_int_equal(da_json_parse(EVIDENCE, strlen(EVIDENCE), 4096, &doc), 0);
    assert_int_equal(da_jcs_digest_sha256(doc, d), 0);
    cJSON_Delete(doc);
    assert_int_equal(da_quote_qualifying_data(nonce, sizeof(nonce) - 1, d, qd), 0);
    assert_int_equal(da_tpm_attest_parse(da_buf_data(&q.attest), da_buf_len(&q.attest),
                                         TPM2_ST_ATTEST_QUOTE, &a),
                     0);
    assert_int_equal(a.extraData.size, sizeof(qd));
    assert_memory_equal(a.extraData.buffer, qd, sizeof(qd));
    agent_quote_result_free(&q);
}

/* The digest of a document, sent instead of the document. */
static void test_refuses_digest(void **state)
{
    struct fixture *f = *state;
    cJSON *doc = NULL;
    uint8_t d[32];
    char hex[65];
    size_t i;

    assert_int_equal(da_json_parse(EVIDENCE, strlen(EVIDENCE), 4096, &doc), 0);
    assert_int_equal(da_jcs_digest_sha256(doc, d), 0);
    cJSON_Delete(doc);
    expect_refused(f, (const char *)d, sizeof(d));
    for (i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    expect_refused(f, hex, 64);
    expect_refused(f, hex, 32);
    /* still serving */
    test_quotes_evidence(state);
}

static void test_refuses_other_json(void **state)
{
    static const char *const docs[] = {
        "[\"devattest.evidence/v1\"]",
        "\"devattest.evidence/v1\"",
        "{}",
        "{\"host\":{\"name\":\"b\"}}",
        "{\"schema\":null}",
        "{\"schema\":1}",
        "{\"schema\":\"\"}",
        "{\"schema\":\"devattest.evidence/v2\"}",
        "{\"schema\":\"devattest.evidence/v1 \"}",
        "{\"schema\":\"devattest.report/v1\"}",
        "{\"Schema\":\"devattest.evidence/v1\"}",
        "{\"schema\":\"devattest.evidence/v1\"} x",
    };
    struct fixture *f = *state;
    size_t i;

    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
        expect_refused(f, docs[i], strlen(docs[i]));
    test_quotes_evidence(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quotes_evidence),
        cmocka_unit_test(test_refuses_digest),
        cmocka_unit_test(test_refuses_other_json),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* Webhooks end to end: the real server posts signed events to a receiver
 * in this test (plain HTTP on 127.0.0.1, tests/support/webhook_rx.h), which
 * checks every signature with OpenSSL's HMAC over "t.body" independently of
 * the server's code, answers
 * 500 to the first two test deliveries and sees the retries; the delivery
 * log in the API shows each attempt; a delivery still pending when the
 * server stops is made after it starts again; a slow receiver does not slow
 * report handling. Reports are real quotes of a software AK
 * (tests/support/soft_ak.h) verified by the server. */
#include "da_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "bundle.h"
#include "encoding.h"
#include "err.h"
#include "server_harness.h"
#include "soft_ak.h"
#include "webhook_rx.h"
#include "store.h"
#include "picky.h"

struct world {
    struct da_test_server srv;
    struct da_webhook_rx rx;
    struct da_soft_ak ak[3];
    char agent[3][SRV_ID_HEX];
    char hook[SRV_ID_HEX];
    unsigned seq;
};

static void seed_agents(struct world *w)
{
    struct srv_store *st = NULL;
    struct srv_agent a;
    int i;

    assert_int_equal(srv_store_open(w->srv.db, 1, 86400, &st), 0);
    for (i = 0; i < 3; i++) {
        assert_int_equal(da_soft_ak_new(&w->ak[i]), 0);
        snprintf(w->agent[i], sizeof(w->agent[i]), "feed00%026d", i);
        memset(&a, 0, sizeof(a));
        snprintf(a.id, sizeof(a.id), "%s", w->agent[i]);
        assert_int_equal(srv_store_vendor_ensure(st, "acme", &a.vendor_id), 0);
        snprintf(a.ek_name, sizeof(a.ek_name), "000b10%02d", i);
        snprintf(a.ak_name, sizeof(a.ak_name), "000b11%02d", i);
        a.ak_public = w->ak[i].pub;
        a.ak_public_len = w->ak[i].pub_len;
        a.host_json = (char *)DA_UNCONST("{}");
        /* agent 2 enrolled two days ago and never reported: stale */
        a.created_at = (int64_t)time(NULL) - (i == 2 ? 2 * 86400 : 0);
        assert_int_equal(srv_store_agent_create(st, &a), 0);
    }
    srv_store_close(st);
}

/* A report of agent i; corrupt flips a byte of the quote's signature. */
static long post_report(struct world *w, int i, int encrypted, int corrupt)
{
    char path[128], *body = NULL;
    unsigned char nonce[128];
    size_t nlen = 0;
    struct da_test_http r;
    cJSON *doc, *ev, *q;
    long status;

    snprintf(path, sizeof(path), "/v1/agents/%s/nonce", w->agent[i]);
    assert_int_equal(da_test_http(&w->srv, "POST", path, NULL, "application/json", "{}", 2, &r), 0);
    assert_int_equal(r.status, 200);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    assert_non_null(doc);
    assert_int_equal(da_base64_decode_to(cJSON_GetObjectItem(doc, "nonce")->valuestring,
                                         strlen(cJSON_GetObjectItem(doc, "nonce")->valuestring),
                                         DA_BASE64_STD, nonce, sizeof(nonce), &nlen),
                     0);
    cJSON_Delete(doc);
    ev = da_soft_ak_evidence(w->seq++, encrypted);
    assert_int_equal(da_soft_ak_report(&w->ak[i], nonce, nlen, ev, &body), 0);
    cJSON_Delete(ev);
    if (corrupt) {
        doc = cJSON_Parse(body);
        q = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "quote"), "signature");
        assert_true(cJSON_IsString(q));
        q->valuestring[10] = q->valuestring[10] == 'A' ? 'B' : 'A';
        free(body);
        body = cJSON_PrintUnformatted(doc);
        cJSON_Delete(doc);
    }
    snprintf(path, sizeof(path), "/v1/agents/%s/reports", w->agent[i]);
    assert_int_equal(
        da_test_http(&w->srv, "POST", path, NULL, "application/json", body, strlen(body), &r), 0);
    status = r.status;
    da_test_http_clear(&r);
    free(body);
    return status;
}

static void expect_refused(struct world *w, const char *body, const char *code)
{
    struct da_test_http r;

    assert_int_equal(da_test_http(&w->srv, "POST", "/v1/webhooks", w->srv.admin, "application/json",
                                  body, strlen(body), &r),
                     0);
    assert_int_equal(r.status, 400);
    assert_string_equal(da_test_error_code(&r), code);
    da_test_http_clear(&r);
}

static void add_hook(struct world *w)
{
    struct da_test_http r;

    /* refused, nothing stored */
    expect_refused(w, "{\"url\":\"http://example.com/hook\",\"events\":[\"agent.stale\"]}",
                   "webhook_invalid");
    expect_refused(w, "{\"url\":\"ftp://127.0.0.1/hook\",\"events\":[\"agent.stale\"]}",
                   "webhook_invalid");
    expect_refused(w, "{\"url\":\"https://hooks.example/x\",\"events\":[\"agent.nope\"]}",
                   "webhook_invalid");
    expect_refused(w, "{\"url\":\"https://hooks.example/x\",\"events\":[]}", "webhook_invalid");
    expect_refused(w, "{\"url\":\"https://hooks.example/x\",\"events\":[\"agent.stale\"],\"x\":1}",
                   "invalid_argument");
    assert_int_equal(da_test_http(&w->srv, "GET", "/v1/webhooks", w->srv.admin, NULL, NULL, 0, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"webhooks\":[]}");
    da_test_http_clear(&r);
    /* auditors may not manage webhooks */
    assert_int_equal(
        da_test_http(&w->srv, "GET", "/v1/webhooks", w->srv.auditor, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 403);
    da_test_http_clear(&r);

    da_webhook_rx_register(&w->rx, &w->srv, w->srv.admin, w->hook);
    /* the list never shows the secret again */
    assert_int_equal(da_test_http(&w->srv, "GET", "/v1/webhooks", w->srv.admin, NULL, NULL, 0, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, w->rx.secret));
    assert_non_null(strstr(r.body, w->hook));
    da_test_http_clear(&r);
}

/* The delivery log of the hook: the webhook.test delivery's attempts. */
static void check_test_log(struct world *w)
{
    char path[160];
    struct da_test_http r;
    cJSON *doc, *d;
    int64_t at[3];
    int found = 0;

    snprintf(path, sizeof(path), "/v1/webhooks/%s/deliveries?limit=50", w->hook);
    assert_int_equal(da_test_http(&w->srv, "GET", path, w->srv.admin, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    assert_non_null(doc);
    cJSON_ArrayForEach(d, cJSON_GetObjectItem(doc, "deliveries"))
    {
        cJSON *a = cJSON_GetObjectItem(d, "attempts");

        if (strcmp(cJSON_GetObjectItem(d, "event")->valuestring, "webhook.test") != 0)
            continue;
        found++;
        assert_string_equal(cJSON_GetObjectItem(d, "state")->valuestring, "delivered");
        assert_int_equal(cJSON_GetArraySize(a), 3);
        assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(a, 0), "status")->valueint, 500);
        assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(a, 1), "status")->valueint, 500);
        assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(a, 2), "status")->valueint, 200);
        /* exponential backoff from webhook_retry_base = 1s: the second
         * retry waits at least 2 s after the first, not the base again */
        for (int i = 0; i < 3; i++)
            assert_int_equal(
                da_time_rfc3339_parse(
                    cJSON_GetObjectItem(cJSON_GetArrayItem(a, i), "at")->valuestring, &at[i]),
                0);
        assert_true(at[1] - at[0] >= 1);
        assert_true(at[2] - at[1] >= 2);
    }
    cJSON_Delete(doc);
    assert_int_equal(found, 1);
}

static void test_webhooks(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    char policy[PATH_MAX], cmd[PATH_MAX * 2 + 32], path[160];
    struct da_test_http r;

    (void)state;
    assert_non_null(w);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    da_webhook_rx_start(&w->rx);
    assert_int_equal(da_test_server_setup(&w->srv, "webhook_retry_base = 1s\n"
                                                   "webhook_failure_threshold = 2\n"
                                                   "sweep_interval = 1s\n"),
                     0);
    snprintf(policy, sizeof(policy), "%s/tests/fixtures/server/policy-test.json", DA_SOURCE_ROOT);
    snprintf(cmd, sizeof(cmd), "cp %s %s/policy.json", policy, w->srv.state);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(da_test_server_start(&w->srv), 0);
    seed_agents(w);
    add_hook(w);

    /* the stale machine: one event from the server's own sweep, not repeated */
    assert_int_equal(da_webhook_rx_wait(&w->rx, "agent.stale", w->agent[2], 200, 1), 1);

    /* compliant, then not: one compliance_changed event */
    assert_int_equal(post_report(w, 0, 1, 0), 201);
    assert_int_equal(post_report(w, 0, 0, 0), 201);
    assert_int_equal(da_webhook_rx_wait(&w->rx, "agent.compliance_changed", w->agent[0], 200, 1),
                     1);

    /* two refused quotes reach the threshold of 2: one event */
    assert_int_equal(post_report(w, 1, 1, 1), 400);
    assert_int_equal(post_report(w, 1, 1, 1), 400);
    assert_int_equal(post_report(w, 1, 1, 1), 400);
    assert_int_equal(da_webhook_rx_wait(&w->rx, "agent.verification_failures", w->agent[1], 200, 1),
                     1);

    /* revocation */
    snprintf(path, sizeof(path), "/v1/agents/%s/revoke", w->agent[1]);
    assert_int_equal(da_test_http(&w->srv, "POST", path, w->srv.admin, "application/json",
                                  "{\"reason\":\"lost\"}", 17, &r),
                     0);
    assert_int_equal(r.status, 200);
    da_test_http_clear(&r);
    assert_int_equal(da_webhook_rx_wait(&w->rx, "agent.revoked", w->agent[1], 200, 1), 1);

    /* the test delivery: 500, 500, then 200 after backoff */
    pthread_mutex_lock(&w->rx.mu);
    w->rx.test_failures_left = 2;
    pthread_mutex_unlock(&w->rx.mu);
    snprintf(path, sizeof(path), "/v1/webhooks/%s/test", w->hook);
    assert_int_equal(
        da_test_http(&w->srv, "POST", path, w->srv.admin, "application/json", "{}", 2, &r), 0);
    assert_int_equal(r.status, 202);
    da_test_http_clear(&r);
    assert_int_equal(da_webhook_rx_wait(&w->rx, "webhook.test", NULL, 200, 1), 1);
    assert_int_equal(da_webhook_rx_count(&w->rx, "webhook.test", NULL, 500), 2);
    check_test_log(w);

    /* a receiver that does not answer does not hold up reports: the
     * second report is answered while the first one's delivery is still
     * held by the receiver (no clock involved) */
    da_webhook_rx_hold(&w->rx);
    assert_int_equal(post_report(w, 0, 1, 0), 201); /* back to compliant: an event */
    assert_int_equal(da_webhook_rx_hold_one(&w->rx), 1);
    assert_int_equal(post_report(w, 0, 1, 0), 201);
    assert_int_equal(da_webhook_rx_holding(&w->rx), 1);
    da_webhook_rx_release(&w->rx);
    assert_int_equal(da_webhook_rx_wait(&w->rx, "agent.compliance_changed", w->agent[0], 200, 2),
                     2);

    /* a delivery pending across a restart is made after it */
    pthread_mutex_lock(&w->rx.mu);
    w->rx.refuse_all = 1;
    pthread_mutex_unlock(&w->rx.mu);
    assert_int_equal(post_report(w, 0, 0, 0), 201);
    assert_true(da_webhook_rx_wait(&w->rx, "agent.compliance_changed", w->agent[0], 503, 1) >= 1);
    assert_int_equal(da_test_server_stop(&w->srv), 0);
    pthread_mutex_lock(&w->rx.mu);
    w->rx.refuse_all = 0;
    pthread_mutex_unlock(&w->rx.mu);
    assert_int_equal(da_test_server_start(&w->srv), 0);
    assert_int_equal(da_webhook_rx_wait(&w->rx, "agent.compliance_changed", w->agent[0], 200, 3),
                     3);
    /* /metrics counts it: the one delivery made since this start */
    assert_int_equal(da_test_http(&w->srv, "GET", "/metrics", w->srv.admin, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\ndevattest_webhook_deliveries_total 1\n"));
    assert_non_null(strstr(r.body, "\ndevattest_webhook_failures_total 0\n"));
    da_test_http_clear(&r);

    /* the stale machine was announced once, however many sweeps ran */
    assert_int_equal(da_webhook_rx_count(&w->rx, "agent.stale", w->agent[2], 0), 1);

    /* remove; an unknown id is refused */
    snprintf(path, sizeof(path), "/v1/webhooks/%s", w->hook);
    assert_int_equal(da_test_http(&w->srv, "DELETE", path, w->srv.admin, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    da_test_http_clear(&r);
    assert_int_equal(da_test_http(&w->srv, "DELETE", path, w->srv.admin, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 404);
    assert_string_equal(da_test_error_code(&r), "webhook_unknown");
    da_test_http_clear(&r);

    assert_int_equal(da_test_server_stop(&w->srv), 0);
    da_test_server_cleanup(&w->srv);
    da_webhook_rx_stop(&w->rx);
    for (int i = 0; i < 3; i++)
        da_soft_ak_free(&w->ak[i]);
    free(w);
    curl_global_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_webhooks)};

    return cmocka_run_group_tests(tests, NULL, NULL);
}

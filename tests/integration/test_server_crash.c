/* Crash safety: the server is killed with SIGKILL while reports are being
 * posted. After a restart every report that was answered 201 is there, and
 * SQLite's integrity check passes. Quotes come from a software stand-in for
 * the AK (tests/support/soft_ak.h) so that hundreds are made quickly; the
 * server verifies them exactly as it verifies TPM quotes. */
#include "da_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "encoding.h"
#include "err.h"
#include "server_harness.h"
#include "soft_ak.h"
#include "store.h"
#include "picky.h"

#define POSTERS    4
#define KILL_AFTER 120 /* acknowledged reports before the kill */
#define MAX_ACKED  4096

struct shared;

/* One machine per poster: its own AK, so the posters really run at once. */
struct poster {
    struct shared *s;
    struct da_soft_ak ak;
    char agent_id[SRV_ID_HEX];
};

struct shared {
    struct da_test_server srv;
    struct poster posters[POSTERS];
    pthread_mutex_t mu;
    char acked[MAX_ACKED][40];
    int nacked;
    int stop;
    unsigned seq;
};

static int post_one(struct shared *s, struct poster *p)
{
    char path[128];
    struct da_test_http r;
    unsigned char nonce[128];
    size_t nlen = 0;
    char *body = NULL;
    cJSON *doc, *ev;
    unsigned seq;
    int rc = -1;

    snprintf(path, sizeof(path), "/v1/agents/%s/nonce", p->agent_id);
    if (da_test_http(&s->srv, "POST", path, NULL, "application/json", "{}", 2, &r) != 0)
        return -1;
    doc = r.status == 200 ? cJSON_Parse(r.body) : NULL;
    da_test_http_clear(&r);
    if (doc == NULL)
        return -1;
    if (da_base64_decode_to(cJSON_GetObjectItem(doc, "nonce")->valuestring,
                            strlen(cJSON_GetObjectItem(doc, "nonce")->valuestring), DA_BASE64_STD,
                            nonce, sizeof(nonce), &nlen) != 0) {
        cJSON_Delete(doc);
        return -1;
    }
    cJSON_Delete(doc);
    pthread_mutex_lock(&s->mu);
    seq = s->seq++;
    pthread_mutex_unlock(&s->mu);
    ev = da_soft_ak_evidence(seq, 1);
    snprintf(path, sizeof(path), "/v1/agents/%s/reports", p->agent_id);
    if (da_soft_ak_report(&p->ak, nonce, nlen, ev, &body) == 0 &&
        da_test_http(&s->srv, "POST", path, NULL, "application/json", body, strlen(body), &r) ==
            0) {
        if (r.status == 201 && (doc = cJSON_Parse(r.body)) != NULL) {
            pthread_mutex_lock(&s->mu);
            if (s->nacked < MAX_ACKED)
                snprintf(s->acked[s->nacked++], 40, "%s",
                         cJSON_GetObjectItem(doc, "report_id")->valuestring);
            pthread_mutex_unlock(&s->mu);
            cJSON_Delete(doc);
            rc = 0;
        }
        da_test_http_clear(&r);
    }
    free(body);
    cJSON_Delete(ev);
    return rc;
}

static void *poster(void *arg)
{
    struct poster *p = arg;
    struct shared *s = p->s;

    for (;;) {
        int stop, rc;

        pthread_mutex_lock(&s->mu);
        stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            break;
        rc = post_one(s, p);
        if (rc != 0) {
            pthread_mutex_lock(&s->mu);
            stop = s->stop;
            pthread_mutex_unlock(&s->mu);
            if (stop)
                break;
        }
    }
    return NULL;
}

static void seed(struct shared *s)
{
    struct srv_store *st = NULL;
    struct srv_agent a;
    int i;

    assert_int_equal(srv_store_open(s->srv.db, 1, 86400, &st), 0);
    for (i = 0; i < POSTERS; i++) {
        struct poster *p = &s->posters[i];

        p->s = s;
        assert_int_equal(da_soft_ak_new(&p->ak), 0);
        snprintf(p->agent_id, sizeof(p->agent_id), "c0ffee00c0ffee00c0ffee00c0ffee%02d", i);
        memset(&a, 0, sizeof(a));
        snprintf(a.id, sizeof(a.id), "%s", p->agent_id);
        assert_int_equal(srv_store_vendor_ensure(st, "acme", &a.vendor_id), 0);
        snprintf(a.ek_name, sizeof(a.ek_name), "000b00%02d", i);
        snprintf(a.ak_name, sizeof(a.ak_name), "000b01%02d", i);
        a.ak_public = p->ak.pub;
        a.ak_public_len = p->ak.pub_len;
        a.host_json = (char *)DA_UNCONST("{}");
        a.created_at = (int64_t)time(NULL);
        assert_int_equal(srv_store_agent_create(st, &a), 0);
    }
    srv_store_close(st);
}

static void test_sigkill_during_ingestion(void **state)
{
    struct shared *s = calloc(1, sizeof(*s));
    char policy[PATH_MAX], cmd[PATH_MAX * 2 + 32], path[128];
    struct timespec ts = {0, 20 * 1000 * 1000};
    struct srv_store *st = NULL;
    pthread_t t[POSTERS];
    int i, waited = 0;

    (void)state;
    assert_non_null(s);
    pthread_mutex_init(&s->mu, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    assert_int_equal(da_test_server_setup(&s->srv, "rate_per_agent = 100000\n"
                                                   "burst_per_agent = 100000\n"),
                     0);
    snprintf(policy, sizeof(policy), "%s/tests/fixtures/server/policy-test.json", DA_SOURCE_ROOT);
    snprintf(cmd, sizeof(cmd), "cp %s %s/policy.json", policy, s->srv.state);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(da_test_server_start(&s->srv), 0);
    seed(s);

    for (i = 0; i < POSTERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, poster, &s->posters[i]), 0);
    for (;;) {
        int n;

        pthread_mutex_lock(&s->mu);
        n = s->nacked;
        pthread_mutex_unlock(&s->mu);
        if (n >= KILL_AFTER || waited++ > 3000)
            break;
        nanosleep(&ts, NULL);
    }
    da_test_server_kill(&s->srv); /* SIGKILL, mid-stream */
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
    for (i = 0; i < POSTERS; i++)
        pthread_join(t[i], NULL);
    assert_true(s->nacked >= KILL_AFTER);

    /* the database file survives as SQLite left it */
    assert_int_equal(srv_store_open(s->srv.db, 1, 86400, &st), 0);
    assert_int_equal(srv_store_integrity_check(st), 0);
    srv_store_close(st);
    assert_int_equal(da_test_server_start(&s->srv), 0);
    for (i = 0; i < s->nacked; i++) {
        struct da_test_http r;

        snprintf(path, sizeof(path), "/v1/reports/%s", s->acked[i]);
        assert_int_equal(da_test_http(&s->srv, "GET", path, s->srv.auditor, NULL, NULL, 0, &r), 0);
        if (r.status != 200)
            fail_msg("report %s acknowledged but missing after the crash", s->acked[i]);
        da_test_http_clear(&r);
    }
    assert_int_equal(da_test_server_stop(&s->srv), 0);
    da_test_server_cleanup(&s->srv);
    for (i = 0; i < POSTERS; i++)
        da_soft_ak_free(&s->posters[i].ak);
    pthread_mutex_destroy(&s->mu);
    free(s);
    curl_global_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_during_ingestion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

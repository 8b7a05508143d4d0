/* Webhooks end to end: the real server posts signed events to a receiver
 * in this test (plain HTTP on 127.0.0.1), which checks every signature with
 * OpenSSL's HMAC over "t.body" independently of the server's code, answers
 * 500 to the first two test deliveries and sees the retries; the delivery
 * log in the API shows each attempt; a delivery still pending when the
 * server stops is made after it starts again; a slow receiver does not slow
 * report handling. Reports are real quotes of a software AK
 * (tests/support/soft_ak.h) verified by the server. */
#include "da_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "encoding.h"
#include "err.h"
#include "server_harness.h"
#include "soft_ak.h"
#include "store.h"
#include "picky.h"

#define MAX_SEEN      64
#define REPLAY_WINDOW 300 /* seconds a receiver accepts, as docs/internals/webhooks.md says */

struct seen {
    char event[48];
    char agent_id[SRV_ID_HEX];
    char path[64];
    int answered;
    int signature_ok;
    long long t;
};

struct receiver {
    int fd;
    int port;
    pthread_t thread;
    pthread_mutex_t mu;
    int stop;
    char secret[128];
    int test_failures_left; /* webhook.test deliveries still answered 500 */
    int refuse_all;         /* answer 503 to everything */
    int slow_ms;            /* hold each answer this long */
    struct seen seen[MAX_SEEN];
    int nseen;
};

/* Verify "t=T,v1=HEX" against HMAC-SHA256(secret, "T." body). */
static int signature_valid(const char *secret, const char *header, const char *body, size_t len,
                           long long *t)
{
    unsigned char mac[32];
    unsigned int mac_len = 0;
    char hex[65], *msg;
    const char *v1 = strstr(header, ",v1=");
    int n;

    if (strncmp(header, "t=", 2) != 0 || v1 == NULL)
        return 0;
    *t = strtoll(header + 2, NULL, 10);
    msg = malloc(32 + len);
    if (msg == NULL)
        return 0;
    n = snprintf(msg, 32, "%lld.", *t);
    memcpy(msg + n, body, len);
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)msg, (size_t)n + len, mac,
         &mac_len);
    free(msg);
    for (n = 0; n < 32; n++)
        snprintf(hex + 2 * n, 3, "%02x", mac[n]);
    return strlen(v1 + 4) == 64 && CRYPTO_memcmp(hex, v1 + 4, 64) == 0;
}

static const char *header_value(const char *head, const char *name, char *out, size_t size)
{
    const char *p = head;
    size_t nl = strlen(name);

    out[0] = '\0';
    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1, *e = strstr(v, "\r\n");

            while (*v == ' ')
                v++;
            snprintf(out, size, "%.*s", e != NULL ? (int)(e - v) : (int)strlen(v), v);
            return out;
        }
    }
    return NULL;
}

static void serve_one(struct receiver *r, int c)
{
    char buf[65536], val[256], path[64] = "";
    size_t got = 0, clen;
    char *end = NULL;
    struct seen s;
    cJSON *doc;
    int status = 200;
    ssize_t n;

    memset(&s, 0, sizeof(s));
    while (got < sizeof(buf) - 1 &&
           (end == NULL || got < (size_t)(end - buf) + 4 + strtoul(val, NULL, 10))) {
        n = recv(c, buf + got, sizeof(buf) - 1 - got, 0);
        if (n <= 0)
            return;
        got += (size_t)n;
        buf[got] = '\0';
        if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            *end = '\0';
            if (header_value(buf, "Content-Length", val, sizeof(val)) == NULL)
                return;
            *end = '\r';
        }
    }
    if (end == NULL)
        return;
    *end = '\0';
    clen = strtoul(header_value(buf, "Content-Length", val, sizeof(val)), NULL, 10);
    sscanf(buf, "POST %63s ", path);
    snprintf(s.path, sizeof(s.path), "%s", path);
    header_value(buf, "Devattest-Event", s.event, sizeof(s.event));
    pthread_mutex_lock(&r->mu);
    if (header_value(buf, "Devattest-Signature", val, sizeof(val)) != NULL)
        s.signature_ok = signature_valid(r->secret, val, end + 4, clen, &s.t);
    if (r->refuse_all)
        status = 503;
    else if (strcmp(s.event, "webhook.test") == 0 && r->test_failures_left > 0) {
        r->test_failures_left--;
        status = 500;
    }
    pthread_mutex_unlock(&r->mu);
    end[4 + clen] = '\0';
    doc = cJSON_Parse(end + 4);
    if (cJSON_IsString(cJSON_GetObjectItem(doc, "agent_id")))
        snprintf(s.agent_id, sizeof(s.agent_id), "%s",
                 cJSON_GetObjectItem(doc, "agent_id")->valuestring);
    /* the body's type names the same event as the header */
    if (!cJSON_IsString(cJSON_GetObjectItem(doc, "type")) ||
        strcmp(cJSON_GetObjectItem(doc, "type")->valuestring, s.event) != 0)
        s.signature_ok = 0;
    cJSON_Delete(doc);
    if (r->slow_ms > 0)
        usleep((useconds_t)r->slow_ms * 1000);
    s.answered = status;
    n = snprintf(buf, sizeof(buf),
                 "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);
    if (send(c, buf, (size_t)n, MSG_NOSIGNAL) < 0)
        return;
    pthread_mutex_lock(&r->mu);
    if (r->nseen < MAX_SEEN)
        r->seen[r->nseen++] = s;
    pthread_mutex_unlock(&r->mu);
}

static void *receiver_main(void *arg)
{
    struct receiver *r = arg;

    for (;;) {
        struct pollfd p = {r->fd, POLLIN, 0};
        int stop, c;

        pthread_mutex_lock(&r->mu);
        stop = r->stop;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            break;
        if (poll(&p, 1, 100) <= 0)
            continue;
        c = accept(r->fd, NULL, NULL);
        if (c < 0)
            continue;
        serve_one(r, c);
        close(c);
    }
    return NULL;
}

static void receiver_start(struct receiver *r)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(r->fd >= 0);
    assert_int_equal(bind(r->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(r->fd, 16), 0);
    assert_int_equal(getsockname(r->fd, (struct sockaddr *)&a, &alen), 0);
    r->port = ntohs(a.sin_port);
    pthread_mutex_init(&r->mu, NULL);
    assert_int_equal(pthread_create(&r->thread, NULL, receiver_main, r), 0);
}

static void receiver_stop(struct receiver *r)
{
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    close(r->fd);
    pthread_mutex_destroy(&r->mu);
}

/* How many deliveries of event (about agent_id unless NULL) were answered
 * with status (0: any). Every one seen must have carried a valid signature. */
static int count_seen(struct receiver *r, const char *event, const char *agent_id, int status)
{
    int i, n = 0;

    pthread_mutex_lock(&r->mu);
    for (i = 0; i < r->nseen; i++) {
        const struct seen *s = &r->seen[i];

        if (!s->signature_ok)
            fail_msg("delivery %d (%s) without a valid signature", i, s->event);
        if (llabs(s->t - (long long)time(NULL)) > REPLAY_WINDOW)
            fail_msg("delivery %d signed outside the replay window", i);
        if (strcmp(s->event, event) == 0 &&
            (agent_id == NULL || strcmp(s->agent_id, agent_id) == 0) &&
            (status == 0 || s->answered == status))
            n++;
    }
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* Wait (bounded) until count_seen reaches want. */
static int wait_seen(struct receiver *r, const char *event, const char *agent_id, int status,
                     int want)
{
    int i, n = 0;

    for (i = 0; i < 300; i++) {
        n = count_seen(r, event, agent_id, status);
        if (n >= want)
            return n;
        usleep(100 * 1000);
    }
    return n;
}

struct world {
    struct da_test_server srv;
    struct receiver rx;
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
    char body[512];
    struct da_test_http r;
    cJSON *doc;

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

    snprintf(body, sizeof(body),
             "{\"url\":\"http://127.0.0.1:%d/hook\",\"events\":[\"agent.compliance_changed\","
             "\"agent.stale\",\"agent.identity_changed\",\"agent.boot_changed\","
             "\"agent.revoked\",\"agent.verification_failures\",\"webhook.test\"]}",
             w->rx.port);
    assert_int_equal(da_test_http(&w->srv, "POST", "/v1/webhooks", w->srv.admin, "application/json",
                                  body, strlen(body), &r),
                     0);
    assert_int_equal(r.status, 201);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    assert_non_null(doc);
    snprintf(w->hook, sizeof(w->hook), "%s", cJSON_GetObjectItem(doc, "id")->valuestring);
    pthread_mutex_lock(&w->rx.mu);
    snprintf(w->rx.secret, sizeof(w->rx.secret), "%s",
             cJSON_GetObjectItem(doc, "secret")->valuestring);
    pthread_mutex_unlock(&w->rx.mu);
    assert_int_equal(strlen(w->rx.secret), 64);
    cJSON_Delete(doc);
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
    }
    cJSON_Delete(doc);
    assert_int_equal(found, 1);
}

static void test_webhooks(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    char policy[PATH_MAX], cmd[PATH_MAX * 2 + 32], path[160];
    struct da_test_http r;
    struct timespec t0, t1;
    double ms;

    (void)state;
    assert_non_null(w);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    receiver_start(&w->rx);
    assert_int_equal(da_test_server_setup(&w->srv, "webhook_retry_base_s = 1\n"
                                                   "webhook_failure_threshold = 2\n"
                                                   "sweep_interval_s = 1\n"),
                     0);
    snprintf(policy, sizeof(policy), "%s/tests/fixtures/server/policy-test.json", DA_SOURCE_ROOT);
    snprintf(cmd, sizeof(cmd), "cp %s %s/policy.json", policy, w->srv.state);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(da_test_server_start(&w->srv), 0);
    seed_agents(w);
    add_hook(w);

    /* the stale machine: one event from the server's own sweep, not repeated */
    assert_int_equal(wait_seen(&w->rx, "agent.stale", w->agent[2], 200, 1), 1);

    /* compliant, then not: one compliance_changed event */
    assert_int_equal(post_report(w, 0, 1, 0), 201);
    assert_int_equal(post_report(w, 0, 0, 0), 201);
    assert_int_equal(wait_seen(&w->rx, "agent.compliance_changed", w->agent[0], 200, 1), 1);

    /* two refused quotes reach the threshold of 2: one event */
    assert_int_equal(post_report(w, 1, 1, 1), 400);
    assert_int_equal(post_report(w, 1, 1, 1), 400);
    assert_int_equal(post_report(w, 1, 1, 1), 400);
    assert_int_equal(wait_seen(&w->rx, "agent.verification_failures", w->agent[1], 200, 1), 1);

    /* revocation */
    snprintf(path, sizeof(path), "/v1/agents/%s/revoke", w->agent[1]);
    assert_int_equal(da_test_http(&w->srv, "POST", path, w->srv.admin, "application/json",
                                  "{\"reason\":\"lost\"}", 17, &r),
                     0);
    assert_int_equal(r.status, 200);
    da_test_http_clear(&r);
    assert_int_equal(wait_seen(&w->rx, "agent.revoked", w->agent[1], 200, 1), 1);

    /* the test delivery: 500, 500, then 200 after backoff */
    pthread_mutex_lock(&w->rx.mu);
    w->rx.test_failures_left = 2;
    pthread_mutex_unlock(&w->rx.mu);
    snprintf(path, sizeof(path), "/v1/webhooks/%s/test", w->hook);
    assert_int_equal(
        da_test_http(&w->srv, "POST", path, w->srv.admin, "application/json", "{}", 2, &r), 0);
    assert_int_equal(r.status, 202);
    da_test_http_clear(&r);
    assert_int_equal(wait_seen(&w->rx, "webhook.test", NULL, 200, 1), 1);
    assert_int_equal(count_seen(&w->rx, "webhook.test", NULL, 500), 2);
    check_test_log(w);

    /* a slow receiver does not hold up reports */
    pthread_mutex_lock(&w->rx.mu);
    w->rx.slow_ms = 3000;
    pthread_mutex_unlock(&w->rx.mu);
    assert_int_equal(post_report(w, 0, 1, 0), 201); /* back to compliant: an event */
    usleep(300 * 1000);                             /* its delivery is now held */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(post_report(w, 0, 1, 0), 201);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    print_message("report answered in %.0f ms while a delivery was held 3000 ms\n", ms);
    assert_true(ms < 2000);
    assert_int_equal(wait_seen(&w->rx, "agent.compliance_changed", w->agent[0], 200, 2), 2);

    /* a delivery pending across a restart is made after it */
    pthread_mutex_lock(&w->rx.mu);
    w->rx.slow_ms = 0;
    w->rx.refuse_all = 1;
    pthread_mutex_unlock(&w->rx.mu);
    assert_int_equal(post_report(w, 0, 0, 0), 201);
    assert_true(wait_seen(&w->rx, "agent.compliance_changed", w->agent[0], 503, 1) >= 1);
    assert_int_equal(da_test_server_stop(&w->srv), 0);
    pthread_mutex_lock(&w->rx.mu);
    w->rx.refuse_all = 0;
    pthread_mutex_unlock(&w->rx.mu);
    assert_int_equal(da_test_server_start(&w->srv), 0);
    assert_int_equal(wait_seen(&w->rx, "agent.compliance_changed", w->agent[0], 200, 3), 3);

    /* the stale machine was announced once, however many sweeps ran */
    assert_int_equal(count_seen(&w->rx, "agent.stale", w->agent[2], 0), 1);

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
    receiver_stop(&w->rx);
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

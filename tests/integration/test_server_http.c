/* devattest-server over real TLS on loopback: routing, limits, errors,
 * authorization, bad input, graceful shutdown. Agents for the
 * authorization matrix are written to the server's SQLite file through the
 * store before the server starts. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <string.h>

#include <curl/curl.h>

#include "db_digest.h"
#include "err.h"
#include "raw_tls.h"
#include "server_harness.h"
#include "store.h"
#include "picky.h"

struct world {
    struct da_test_server srv;
    char vendor_acme[80];
    char vendor_globex[80];
};

static void seed_agent(struct srv_store *st, const char *id, const char *vendor, const char *ek)
{
    unsigned char ak[4] = {1, 2, 3, 4};
    struct srv_agent a;

    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", id);
    assert_int_equal(srv_store_vendor_ensure(st, vendor, &a.vendor_id), 0);
    snprintf(a.ek_name, sizeof(a.ek_name), "%s", ek);
    snprintf(a.ak_name, sizeof(a.ak_name), "ak%s", ek);
    a.ak_public = ak;
    a.ak_public_len = sizeof(ak);
    a.host_json = (char *)DA_UNCONST("{\"hostname\":\"builder\"}");
    a.created_at = (int64_t)time(NULL);
    assert_int_equal(srv_store_agent_create(st, &a), 0);
}

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    struct srv_store *st = NULL;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (w == NULL || da_test_server_setup(&w->srv, "nonce_rate_per_address = 1\n"
                                                   "nonce_burst_per_address = 5\n"
                                                   "connection_timeout = 1s\n") != 0)
        return -1;
    if (da_test_server_cli(&w->srv, w->vendor_acme, sizeof(w->vendor_acme), "token", "create",
                           "--role", "vendor", "--vendor", "acme", NULL) != 0 ||
        da_test_server_cli(&w->srv, w->vendor_globex, sizeof(w->vendor_globex), "token", "create",
                           "--role", "vendor", "--vendor", "globex", NULL) != 0)
        return -1;
    if (srv_store_open(w->srv.db, 1, 86400, &st) != 0)
        return -1;
    seed_agent(st, "agentacme1", "acme", "000b11");
    seed_agent(st, "agentglobex1", "globex", "000b22");
    srv_store_close(st);
    if (da_test_server_start(&w->srv) != 0)
        return -1;
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;

    if (w == NULL)
        return 0;
    da_test_server_cleanup(&w->srv);
    free(w);
    curl_global_cleanup();
    return 0;
}

/* Request and check status and (when code != NULL) the error code. */
static void expect(struct world *w, const char *method, const char *path, const char *token,
                   const char *ctype, const char *body, size_t len, long status, const char *code)
{
    struct da_test_http r;

    assert_int_equal(da_test_http(&w->srv, method, path, token, ctype, body, len, &r), 0);
    if (r.status != status || (code != NULL && strcmp(da_test_error_code(&r), code) != 0))
        fail_msg("%s %s: got %ld %s, want %ld %s", method, path, r.status, r.body, status,
                 code != NULL ? code : "");
    if (code != NULL)
        assert_non_null(strstr(r.content_type, "application/json"));
    da_test_http_clear(&r);
}

static void test_public_routes(void **state)
{
    struct world *w = *state;
    struct da_test_http r;

    assert_int_equal(da_test_http(&w->srv, "GET", "/healthz", NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"status\":\"ok\""));
    da_test_http_clear(&r);
    assert_int_equal(da_test_http(&w->srv, "GET", "/v1/openapi.yaml", NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(strncmp(r.body, "openapi: 3", 10) == 0);
    assert_string_equal(r.content_type, "application/yaml");
    da_test_http_clear(&r);
    expect(w, "GET", "/nothing", NULL, NULL, NULL, 0, 404, "not_found");
    expect(w, "DELETE", "/healthz", NULL, NULL, NULL, 0, 405, "method_not_allowed");
    expect(w, "GET", "/v1/agents/a%27b", w->srv.admin, NULL, NULL, 0, 404, "not_found");
}

static void test_authorization_matrix(void **state)
{
    struct world *w = *state;
    const char *json = "application/json";

    /* no token, a wrong token, a malformed header */
    expect(w, "GET", "/v1/agents", NULL, NULL, NULL, 0, 401, "unauthenticated");
    expect(w, "GET", "/v1/agents", "dat_0000", NULL, NULL, 0, 401, "bad_credentials");
    /* auditors read everything, change nothing */
    expect(w, "GET", "/v1/agents", w->srv.auditor, NULL, NULL, 0, 200, NULL);
    expect(w, "GET", "/v1/agents/agentglobex1", w->srv.auditor, NULL, NULL, 0, 200, NULL);
    expect(w, "GET", "/v1/audit", w->srv.auditor, NULL, NULL, 0, 200, NULL);
    expect(w, "POST", "/v1/agents/agentacme1/revoke", w->srv.auditor, json, "{}", 2, 403,
           "forbidden");
    expect(w, "PUT", "/v1/policy", w->srv.auditor, json, "{}", 2, 403, "forbidden");
    /* a vendor sees its own machines only; another vendor's is "not found" */
    expect(w, "GET", "/v1/agents/agentacme1", w->vendor_acme, NULL, NULL, 0, 200, NULL);
    expect(w, "GET", "/v1/agents/agentglobex1", w->vendor_acme, NULL, NULL, 0, 404,
           "agent_unknown");
    expect(w, "GET", "/v1/agents/agentglobex1/reports", w->vendor_acme, NULL, NULL, 0, 404,
           "agent_unknown");
    expect(w, "GET", "/v1/agents/agentacme1", w->vendor_globex, NULL, NULL, 0, 404,
           "agent_unknown");
    expect(w, "GET", "/v1/audit", w->vendor_acme, NULL, NULL, 0, 403, "forbidden");
    expect(w, "POST", "/v1/agents/agentacme1/revoke", w->vendor_acme, json, "{}", 2, 403,
           "forbidden");
    /* admins change */
    expect(w, "POST", "/v1/agents/agentacme1/revoke", w->srv.admin, json,
           "{\"reason\":\"lost laptop\"}", 24, 200, NULL);
    expect(w, "POST", "/v1/agents/nosuchagent/revoke", w->srv.admin, json, "{}", 2, 404,
           "agent_unknown");
    expect(w, "POST", "/v1/agents/agentacme1/readmit", w->srv.admin, json, "", 0, 200, NULL);
}

static void test_vendor_lists_are_scoped(void **state)
{
    struct world *w = *state;
    struct da_test_http r;

    assert_int_equal(da_test_http(&w->srv, "GET", "/v1/agents", w->vendor_acme, NULL, NULL, 0, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "agentacme1"));
    assert_null(strstr(r.body, "agentglobex1"));
    da_test_http_clear(&r);
    assert_int_equal(
        da_test_http(&w->srv, "GET", "/v1/agents?vendor=globex", w->vendor_acme, NULL, NULL, 0, &r),
        0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"agents\":[]}");
    da_test_http_clear(&r);
    assert_int_equal(da_test_http(&w->srv, "GET", "/v1/vendors", w->vendor_acme, NULL, NULL, 0, &r),
                     0);
    assert_non_null(strstr(r.body, "acme"));
    assert_null(strstr(r.body, "globex"));
    da_test_http_clear(&r);
    assert_int_equal(
        da_test_http(&w->srv, "GET", "/v1/agents?status=pending", w->srv.admin, NULL, NULL, 0, &r),
        0);
    assert_non_null(strstr(r.body, "agentacme1"));
    assert_non_null(strstr(r.body, "agentglobex1"));
    da_test_http_clear(&r);
    expect(w, "GET", "/v1/agents?status=bogus", w->srv.admin, NULL, NULL, 0, 400,
           "invalid_argument");
}

/* Nothing that is refused may be stored: the policy stays unset. */
static void assert_no_policy(struct world *w)
{
    expect(w, "GET", "/v1/policy", NULL, NULL, NULL, 0, 404, "not_found");
}

static void test_bad_input(void **state)
{
    struct world *w = *state;
    const char *json = "application/json";
    char deep[200], *big;
    size_t i;

    /* wrong or missing content type */
    expect(w, "PUT", "/v1/policy", w->srv.admin, "text/plain", "{}", 2, 415, "content_type");
    expect(w, "PUT", "/v1/policy", w->srv.admin, NULL, "{}", 2, 415, "content_type");
    expect(w, "PUT", "/v1/policy", w->srv.admin, "application/jsonx", "{}", 2, 415, "content_type");
    /* malformed JSON of every kind */
    expect(w, "PUT", "/v1/policy", w->srv.admin, json, "{\"a\":", 5, 400, "bad_json");
    expect(w, "PUT", "/v1/policy", w->srv.admin, json, "{\"a\":1,\"a\":2}", 13, 400,
           "json_duplicate_key");
    expect(w, "PUT", "/v1/policy", w->srv.admin, json, "{\"a\":\"\xff\"}", 9, 400,
           "json_invalid_utf8");
    expect(w, "PUT", "/v1/policy", w->srv.admin, json, "{\"a\":1e999}", 11, 400, "json_bad_number");
    expect(w, "PUT", "/v1/policy", w->srv.admin, json, "{} x", 4, 400, "trailing_data");
    for (i = 0; i < 100; i++)
        deep[i] = '[';
    for (; i < 200; i++)
        deep[i] = ']';
    expect(w, "PUT", "/v1/policy", w->srv.admin, json, deep, sizeof(deep), 400, "json_too_deep");
    assert_no_policy(w);
    /* unknown fields in admin bodies */
    expect(w, "POST", "/v1/agents/agentacme1/revoke", w->srv.admin, json, "{\"why\":\"x\"}", 11,
           400, "invalid_argument");
    /* oversized: refused from Content-Length before the body is read */
    big = malloc(70 * 1024);
    assert_non_null(big);
    memset(big, ' ', 70 * 1024);
    big[0] = '{';
    big[70 * 1024 - 1] = '}';
    expect(w, "POST", "/v1/enroll", NULL, json, big, 70 * 1024, 413, "too_large");
    expect(w, "POST", "/v1/agents/agentacme1/revoke", w->srv.admin, json, big, 70 * 1024, 413,
           "too_large");
    free(big);
    /* SQL metacharacters are data, never SQL */
    expect(w, "GET", "/v1/agents?vendor=x%27%20OR%20%271%27%3D%271", w->srv.admin, NULL, NULL, 0,
           200, NULL);
    expect(w, "GET", "/v1/agents?status=stale%27--", w->srv.admin, NULL, NULL, 0, 400,
           "invalid_argument");
    assert_no_policy(w);
}

static void test_policy_rotation_audited(void **state)
{
    struct world *w = *state;
    const char *json = "application/json";
    char path[PATH_MAX], p[8192];
    struct da_test_http r;
    size_t n;
    FILE *f;

    /* a policy the engine refuses is not stored */
    expect(w, "PUT", "/v1/policy", w->srv.admin, json, "{\"id\":\"p1\"}", 11, 400, "policy_field");
    assert_no_policy(w);
    snprintf(path, sizeof(path), "%s/tests/fixtures/server/policy-test.json", DA_SOURCE_ROOT);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(p, 1, sizeof(p) - 1, f);
    p[n] = '\0';
    fclose(f);
    expect(w, "PUT", "/v1/policy", w->srv.admin, json, p, n, 200, NULL);
    assert_int_equal(da_test_http(&w->srv, "GET", "/v1/policy", NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, p);
    da_test_http_clear(&r);
    assert_int_equal(da_test_http(&w->srv, "GET", "/v1/audit?action=policy_rotated", w->srv.auditor,
                                  NULL, NULL, 0, &r),
                     0);
    assert_non_null(strstr(r.body, "admin:test-admin"));
    da_test_http_clear(&r);
}

/* A nonce request over a raw TLS connection from loopback source address
 * src: one answer with the given status and, when code != NULL, error
 * code; a 200 carries a nonce. */
static void expect_nonce_from(struct world *w, const char *src, const char *agent, int status,
                              const char *code)
{
    struct da_raw_tls t;
    struct da_test_http r;
    char req[256], want[32], *text = NULL;
    const char *body;
    bool closed = false;

    snprintf(req, sizeof(req),
             "POST /v1/agents/%s/nonce HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Content-Type: application/json\r\nContent-Length: 2\r\n"
             "Connection: close\r\n\r\n{}",
             agent);
    assert_int_equal(da_raw_tls_connect(&t, src, w->srv.port, w->srv.ca, 5000), 0);
    assert_int_equal(da_raw_tls_send(&t, req, strlen(req)), 0);
    assert_true(da_raw_tls_read_all(&t, &text, 10000, &closed) >= 0);
    da_raw_tls_close(&t);
    snprintf(want, sizeof(want), "HTTP/1.1 %d ", status);
    body = strstr(text, "\r\n\r\n");
    if (strncmp(text, want, strlen(want)) != 0 || da_raw_http_responses(text) != 1 || body == NULL)
        fail_msg("nonce from %s for %s: want %d, got:\n%s", src, agent, status, text);
    memset(&r, 0, sizeof(r));
    r.body = (char *)DA_UNCONST(body) + 4;
    if (code != NULL && strcmp(da_test_error_code(&r), code) != 0)
        fail_msg("nonce from %s for %s: want %s, got:\n%s", src, agent, code, text);
    if (status == 200 && strstr(r.body, "\"nonce\":\"") == NULL)
        fail_msg("nonce from %s: no nonce in %s", src, r.body);
    free(text);
}

/* Nonce requests carry no credentials, so they are limited per client
 * address whatever agent id they name: the sixth within the burst is
 * refused with 429 before any work is done, for any agent id. */
static void test_rate_limit_nonce_per_address(void **state)
{
    struct world *w = *state;
    char path[64], before[65], after[65];
    int i;

    for (i = 0; i < 5; i++) {
        snprintf(path, sizeof(path), "/v1/agents/limited%d/nonce", i);
        expect(w, "POST", path, NULL, "application/json", "{}", 2, 404, "agent_unknown");
    }
    assert_int_equal(da_test_db_digest(w->srv.db, before), 0);
    expect(w, "POST", "/v1/agents/limited9/nonce", NULL, "application/json", "{}", 2, 429,
           "rate_limited");
    expect(w, "POST", "/v1/agents/agentacme1/nonce", NULL, "application/json", "{}", 2, 429,
           "rate_limited");
    assert_int_equal(da_test_db_digest(w->srv.db, after), 0);
    assert_string_equal(before, after);
    /* the budget is the address's: another address is still served */
    expect_nonce_from(w, "127.0.0.2", "agentacme1", 200, NULL);
    expect_nonce_from(w, "127.0.0.2", "limited9", 404, "agent_unknown");
    expect(w, "POST", "/v1/agents/agentacme1/nonce", NULL, "application/json", "{}", 2, 429,
           "rate_limited");
}

/* A client that connects and sends nothing does not keep its thread: the
 * server closes the connection after connection_timeout. */
static void test_slow_client_closed(void **state)
{
    struct world *w = *state;
    struct sockaddr_in sa;
    struct timeval tv = {10, 0};
    char buf[16];
    time_t t0;
    ssize_t n;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)w->srv.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    t0 = time(NULL);
    /* at most a TLS alert, then EOF (or a reset) once the server gives up */
    do
        n = read(fd, buf, sizeof(buf));
    while (n > 0);
    assert_true(n == 0 || errno == ECONNRESET);
    assert_true(time(NULL) - t0 < 8);
    close(fd);
}

static void test_graceful_sigterm(void **state)
{
    struct world *w = *state;

    assert_int_equal(da_test_server_stop(&w->srv), 0);
    /* and it comes back on the same database */
    assert_int_equal(da_test_server_start(&w->srv), 0);
    expect(w, "GET", "/v1/agents/agentacme1", w->srv.admin, NULL, NULL, 0, 200, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_routes),
        cmocka_unit_test(test_authorization_matrix),
        cmocka_unit_test(test_vendor_lists_are_scoped),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_policy_rotation_audited),
        cmocka_unit_test(test_rate_limit_nonce_per_address),
        cmocka_unit_test(test_slow_client_closed),
        cmocka_unit_test(test_graceful_sigterm),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

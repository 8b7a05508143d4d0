/* devattest-server over real TLS: request framing (RFC 9112 section 6),
 * control characters in the request target and query parameters. Exact
 * bytes go over a raw OpenSSL connection; every refusal is checked for its
 * status, its JSON error code, the number of answers on the connection, that
 * the connection was closed where it must be, and that the SQLite file holds
 * the same rows as before. */
#include "da_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "db_digest.h"
#include "raw_tls.h"
#include "server_harness.h"
#include "store.h"
#include "picky.h"

struct world {
    struct da_test_server srv;
};

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    struct srv_store *st = NULL;
    unsigned char ak[4] = {1, 2, 3, 4};
    struct srv_agent a;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (w == NULL || da_test_server_setup(&w->srv, "rate_per_agent = 1000\n"
                                                   "burst_per_agent = 1000\n"
                                                   "request_body_timeout_s = 2\n"
                                                   "request_body_min_rate = 65536\n") != 0)
        return -1;
    if (srv_store_open(w->srv.db, 1, 86400, &st) != 0)
        return -1;
    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", "agentacme1");
    if (srv_store_vendor_ensure(st, "acme", &a.vendor_id) != 0)
        return -1;
    snprintf(a.ek_name, sizeof(a.ek_name), "%s", "000b11");
    snprintf(a.ak_name, sizeof(a.ak_name), "%s", "000b12");
    a.ak_public = ak;
    a.ak_public_len = sizeof(ak);
    a.host_json = (char *)DA_UNCONST("{\"hostname\":\"builder\"}");
    a.created_at = (int64_t)time(NULL);
    if (srv_store_agent_create(st, &a) != 0)
        return -1;
    srv_store_close(st);
    if (da_test_server_start(&w->srv) != 0)
        return -1;
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;

    if (w != NULL)
        da_test_server_cleanup(&w->srv);
    free(w);
    curl_global_cleanup();
    return 0;
}

static void db_digest(struct world *w, char out[65])
{
    assert_int_equal(da_test_db_digest(w->srv.db, out), 0);
}

/* The JSON error code in the body of a raw answer, or "". */
static const char *raw_error_code(const char *text)
{
    static char code[64];
    const char *body = strstr(text, "\r\n\r\n");
    struct da_test_http r;

    code[0] = '\0';
    if (body == NULL)
        return code;
    memset(&r, 0, sizeof(r));
    r.body = (char *)DA_UNCONST(body) + 4;
    snprintf(code, sizeof(code), "%s", da_test_error_code(&r));
    return code;
}

/* Send bytes on a fresh TLS connection and read until the server closes
 * it (at most 10 s). Checks: exactly one answer, its status and code, the
 * connection closed by the server, and the database unchanged. */
static void expect_one_answer_and_close(struct world *w, const char *bytes, size_t len, int status,
                                        const char *code)
{
    struct da_raw_tls t;
    char before[65], after[65], want[32];
    char *text = NULL, method[8] = "", path[128] = "";
    bool closed = false;

    db_digest(w, before);
    assert_int_equal(da_raw_tls_connect(&t, NULL, w->srv.port, w->srv.ca, 5000), 0);
    assert_int_equal(da_raw_tls_send(&t, bytes, len), 0);
    assert_true(da_raw_tls_read_all(&t, &text, 10000, &closed) >= 0);
    da_raw_tls_close(&t);
    snprintf(want, sizeof(want), "HTTP/1.1 %d ", status);
    if (strncmp(text, want, strlen(want)) != 0 || da_raw_http_responses(text) != 1 || !closed ||
        strcmp(raw_error_code(text), code) != 0)
        fail_msg("want one %d %s and a close; got (closed=%d, %d answers):\n%s", status, code,
                 closed, da_raw_http_responses(text), text);
    assert_non_null(strstr(text, "\r\nConnection: close\r\n"));
    if (sscanf(bytes, "%7s %127s", method, path) == 2)
        da_test_capture_raw(method, path, text);
    free(text);
    db_digest(w, after);
    assert_string_equal(before, after);
}

#define HEAD_NONCE                                                                                 \
    "POST /v1/agents/agentacme1/nonce HTTP/1.1\r\nHost: 127.0.0.1\r\n"                             \
    "Content-Type: application/json\r\n"
#define HIDDEN "GET /v1/policy HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

/* RFC 9112 6.3: Content-Length together with Transfer-Encoding is refused
 * with 400 and the connection closed; the request hidden behind the first
 * one is never answered. Both orders of the two headers. */
static void test_smuggling_cl_te(void **state)
{
    struct world *w = *state;
    static const char cl_te[] = HEAD_NONCE "Content-Length: 49\r\n"
                                           "Transfer-Encoding: chunked\r\n"
                                           "\r\n"
                                           "0\r\n"
                                           "\r\n" HIDDEN;
    static const char te_cl[] = HEAD_NONCE "Transfer-Encoding: chunked\r\n"
                                           "Content-Length: 4\r\n"
                                           "\r\n"
                                           "2\r\n{}\r\n"
                                           "0\r\n"
                                           "\r\n" HIDDEN;

    expect_one_answer_and_close(w, cl_te, sizeof(cl_te) - 1, 400, "bad_framing");
    expect_one_answer_and_close(w, te_cl, sizeof(te_cl) - 1, 400, "bad_framing");
}

/* Only one lone "chunked" is a transfer coding the server accepts. */
static void test_transfer_codings(void **state)
{
    struct world *w = *state;
    static const char gzip[] = HEAD_NONCE "Transfer-Encoding: gzip\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
    static const char gzip_chunked[] = HEAD_NONCE "Transfer-Encoding: gzip, chunked\r\n\r\n"
                                                  "2\r\n{}\r\n0\r\n\r\n";
    static const char chunked_twice[] = HEAD_NONCE "Transfer-Encoding: chunked, chunked\r\n\r\n"
                                                   "2\r\n{}\r\n0\r\n\r\n";
    static const char two_lines[] = HEAD_NONCE "Transfer-Encoding: chunked\r\n"
                                               "Transfer-Encoding: identity\r\n\r\n"
                                               "2\r\n{}\r\n0\r\n\r\n";
    static const char empty_item[] = HEAD_NONCE "Transfer-Encoding: ,chunked\r\n\r\n"
                                                "2\r\n{}\r\n0\r\n\r\n";
    static const char two_lengths[] = HEAD_NONCE "Content-Length: 2\r\nContent-Length: 7\r\n\r\n"
                                                 "{}" HIDDEN;
    static const char http10[] = "POST /v1/agents/agentacme1/nonce HTTP/1.0\r\n"
                                 "Content-Type: application/json\r\n"
                                 "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";

    static const char space_colon[] = HEAD_NONCE "Content-Length: 5\r\n"
                                                 "Transfer-Encoding : chunked\r\n\r\n"
                                                 "0\r\n\r\n" HIDDEN;
    static const char folded[] = HEAD_NONCE "Content-Length: 5\r\nX-Note: a\r\n"
                                            " Transfer-Encoding: chunked\r\n\r\n"
                                            "0\r\n\r\n" HIDDEN;

    /* whitespace before the colon, or a folded line (RFC 9112 5.1, 5.2) */
    expect_one_answer_and_close(w, space_colon, sizeof(space_colon) - 1, 400, "bad_framing");
    expect_one_answer_and_close(w, folded, sizeof(folded) - 1, 400, "bad_framing");
    expect_one_answer_and_close(w, gzip, sizeof(gzip) - 1, 400, "bad_framing");
    expect_one_answer_and_close(w, gzip_chunked, sizeof(gzip_chunked) - 1, 501,
                                "unsupported_transfer_coding");
    expect_one_answer_and_close(w, chunked_twice, sizeof(chunked_twice) - 1, 400, "bad_framing");
    expect_one_answer_and_close(w, two_lines, sizeof(two_lines) - 1, 400, "bad_framing");
    expect_one_answer_and_close(w, empty_item, sizeof(empty_item) - 1, 400, "bad_framing");
    expect_one_answer_and_close(w, two_lengths, sizeof(two_lengths) - 1, 400, "bad_framing");
    /* HTTP/1.0 answers say HTTP/1.1 too (the server's version) */
    expect_one_answer_and_close(w, http10, sizeof(http10) - 1, 400, "bad_framing");
}

/* A chunked body over the route's cap gets 413 once it has been read, and
 * the connection is closed; the request behind it is not answered. */
static void test_oversized_chunked_body(void **state)
{
    struct world *w = *state;
    static const char head[] = "POST /v1/enroll HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Content-Type: application/json\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n";
    size_t sizes[] = {70 * 1024, 3u * 1024 * 1024}, chunk = 16384, i, off;

    for (i = 0; i < 2; i++) {
        size_t cap = strlen(head) + sizes[i] + (sizes[i] / chunk + 1) * 16 + 64;
        char *req = malloc(cap), *p;

        assert_non_null(req);
        p = req + snprintf(req, cap, "%s", head);
        for (off = 0; off < sizes[i]; off += chunk) {
            size_t n = sizes[i] - off < chunk ? sizes[i] - off : chunk;

            p += snprintf(p, 16, "%zx\r\n", n);
            memset(p, off == 0 ? '{' : ' ', n);
            p += n;
            memcpy(p, "\r\n", 2);
            p += 2;
        }
        p += snprintf(p, (size_t)(req + cap - p), "0\r\n\r\n%s", HIDDEN);
        expect_one_answer_and_close(w, req, (size_t)(p - req), 413, "too_large");
        free(req);
    }
}

/* The same server accepts a well-formed chunked body (the refusals above
 * are about framing, not about chunked as such). */
static void test_chunked_body_accepted(void **state)
{
    struct world *w = *state;
    struct da_raw_tls t;
    char req[512], *text = NULL;
    bool closed = false;
    const char *body = "{\"reason\":\"lost laptop\"}";

    snprintf(req, sizeof(req),
             "POST /v1/agents/agentacme1/revoke HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
             "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n%zx\r\n%s\r\n0\r\n\r\n",
             w->srv.admin, strlen(body), body);
    assert_int_equal(da_raw_tls_connect(&t, NULL, w->srv.port, w->srv.ca, 5000), 0);
    assert_int_equal(da_raw_tls_send(&t, req, strlen(req)), 0);
    assert_true(da_raw_tls_read_all(&t, &text, 10000, &closed) >= 0);
    da_raw_tls_close(&t);
    if (strncmp(text, "HTTP/1.1 200 ", 13) != 0 || strstr(text, "\"revoked\":true") == NULL)
        fail_msg("chunked revoke: %s", text);
    free(text);
}

/* Status and error code of a request through libcurl, and the database
 * unchanged by it. */
static void expect_refused(struct world *w, const char *method, const char *path, const char *token,
                           long status, const char *code)
{
    char before[65], after[65];
    struct da_test_http r;
    const char *ctype = strcmp(method, "POST") == 0 ? "application/json" : NULL;

    db_digest(w, before);
    assert_int_equal(
        da_test_http(&w->srv, method, path, token, ctype, ctype != NULL ? "{}" : NULL, 2, &r), 0);
    if (r.status != status || strcmp(da_test_error_code(&r), code) != 0)
        fail_msg("%s %s: got %ld %s, want %ld %s", method, path, r.status, r.body, status, code);
    da_test_http_clear(&r);
    db_digest(w, after);
    assert_string_equal(before, after);
}

static void expect_status(struct world *w, const char *path, const char *token, long status)
{
    struct da_test_http r;

    assert_int_equal(da_test_http(&w->srv, "GET", path, token, NULL, NULL, 0, &r), 0);
    if (r.status != status)
        fail_msg("GET %s: got %ld %s, want %ld", path, r.status, r.body, status);
    da_test_http_clear(&r);
}

/* %00 and other control characters in the decoded path or query: 400, not
 * a shortened URL routed to a handler. */
static void test_control_characters_in_target(void **state)
{
    struct world *w = *state;
    const char *paths[] = {
        "/healthz%00",
        "/healthz%00/x",
        "/v1/agents/agentacme1%00",
        "/v1/agents/agentacme1%00/reports",
        "/v1/agents/agentacme1%0a",
        "/v1/agents/agentacme1%7f",
        "/v1/agents%1f",
        "/v1/agents?vendor=acme%00x",
        "/v1/agents?ven%01dor=acme",
    };
    size_t i;

    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        expect_refused(w, "GET", paths[i], w->srv.admin, 400, "bad_request_target");
    expect_refused(w, "POST", "/v1/agents/agentacme1%00/nonce", NULL, 400, "bad_request_target");
    /* the same paths without the control character are routed */
    expect_status(w, "/v1/agents/agentacme1/reports", w->srv.admin, 200);
    expect_status(w, "/v1/agents?vendor=acme", w->srv.admin, 200);
    /* an encoded character that is not a control character is fine */
    expect_status(w, "/v1/agents?vendor=ac%6de", w->srv.admin, 200);
}

/* Query parameters a route does not take, or one given twice: 400. */
static void test_query_parameters(void **state)
{
    struct world *w = *state;

    expect_refused(w, "GET", "/v1/agents?foo=1", w->srv.admin, 400, "bad_query_parameter");
    expect_refused(w, "GET", "/v1/agents?offset=5", w->srv.admin, 400, "bad_query_parameter");
    expect_refused(w, "GET", "/v1/agents?cursor=1.a&cursor=2.b", w->srv.admin, 400,
                   "bad_query_parameter");
    expect_refused(w, "GET", "/v1/tokens?limit=1", w->srv.admin, 400, "bad_query_parameter");
    expect_refused(w, "GET", "/v1/agents?status=pending&status=stale", w->srv.admin, 400,
                   "bad_query_parameter");
    expect_refused(w, "GET", "/v1/audit?limit=1&limit=1000", w->srv.admin, 400,
                   "bad_query_parameter");
    expect_refused(w, "GET", "/v1/audit?actor=x", w->srv.admin, 400, "bad_query_parameter");
    expect_refused(w, "GET", "/healthz?verbose", NULL, 400, "bad_query_parameter");
    expect_refused(w, "GET", "/readyz?check=store", NULL, 400, "bad_query_parameter");
    expect_refused(w, "GET", "/readyz%00", NULL, 400, "bad_request_target");
    expect_refused(w, "GET", "/v1/policy?v=2", NULL, 400, "bad_query_parameter");
    expect_refused(w, "POST", "/v1/agents/agentacme1/nonce?debug=1", NULL, 400,
                   "bad_query_parameter");
    /* bad values of known parameters keep their own code */
    expect_refused(w, "GET", "/v1/audit?limit=0", w->srv.admin, 400, "invalid_argument");
    expect_refused(w, "GET", "/v1/audit?cursor=12.x", w->srv.admin, 400, "bad_cursor");
    expect_refused(w, "GET", "/v1/agents?cursor=12", w->srv.admin, 400, "bad_cursor");
    expect_refused(w, "GET", "/v1/audit?from=yesterday", w->srv.admin, 400, "bad_time");
    expect_refused(w, "GET", "/v1/agents/agentacme1/reports?to=2026-02-30T00:00:00Z", w->srv.admin,
                   400, "bad_time");
    expect_refused(w, "GET", "/v1/audit?from=2026-12-06T00:00:00Z&to=2026-12-05T00:00:00Z",
                   w->srv.admin, 400, "invalid_argument");
    /* and the ones a route takes still work */
    expect_status(w, "/v1/agents?vendor=acme&status=pending", w->srv.admin, 200);
    expect_status(w, "/v1/audit?action=policy_rotated&limit=5", w->srv.admin, 200);
    expect_status(w, "/v1/agents/agentacme1/reports?limit=10", w->srv.admin, 200);
    expect_status(w, "/v1/agents?limit=1&cursor=0.a", w->srv.admin, 200);
    expect_status(w, "/v1/audit?from=2026-01-01T00:00:00Z&to=2100-01-01T00:00:00%2B01:00",
                  w->srv.admin, 200);
}

static long mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A body that trickles (a byte every 200 ms, never idle long enough for the
 * idle timeout) is cut at its deadline: request_body_timeout_s = 2 plus
 * 65,000 bytes at request_body_min_rate = 65,536 B/s, about 3 s after the
 * head; no answer, nothing stored. The same body sent at once is read and
 * answered. */
static long long deadline_closed(struct world *w)
{
    const char *name = "\ndevattest_http_deadline_closed_total ";
    struct da_test_http r;
    const char *p;
    long long n;

    assert_int_equal(da_test_http(&w->srv, "GET", "/metrics", w->srv.auditor, NULL, NULL, 0, &r),
                     0);
    assert_int_equal(r.status, 200);
    p = strstr(r.body, name);
    assert_non_null(p);
    n = strtoll(p + strlen(name), NULL, 10);
    da_test_http_clear(&r);
    return n;
}

static void test_slow_body_cut(void **state)
{
    struct world *w = *state;
    long long closed_before = deadline_closed(w), closed_after;
    char head[256], before[65], after[65], *text = NULL;
    struct da_raw_tls t;
    bool closed = false;
    long t0, life = 0;
    int i, n;

    n = snprintf(head, sizeof(head),
                 "POST /v1/enroll HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 "Content-Type: application/json\r\nContent-Length: 65000\r\n\r\n{");
    db_digest(w, before);
    assert_int_equal(da_raw_tls_connect(&t, NULL, w->srv.port, w->srv.ca, 5000), 0);
    assert_int_equal(da_raw_tls_send(&t, head, (size_t)n), 0);
    t0 = mono_ms();
    for (i = 0; i < 100 && !closed; i++) {
        free(text);
        text = NULL;
        if (da_raw_tls_send(&t, " ", 1) != 0)
            break;
        da_raw_tls_read_all(&t, &text, 200, &closed);
    }
    life = mono_ms() - t0;
    da_raw_tls_close(&t);
    if (!closed && i < 100)
        closed = true; /* the write failed: the server is gone */
    print_message("slow body cut after %ld ms\n", life);
    assert_true(closed);
    assert_true(text == NULL || da_raw_http_responses(text) == 0);
    free(text);
    assert_true(life >= 2500 && life <= 6000);
    closed_after = deadline_closed(w);
    if (closed_after != closed_before + 1)
        fail_msg("deadline closes: %lld before, %lld after", closed_before, closed_after);
    db_digest(w, after);
    assert_string_equal(before, after);
    {
        struct da_test_http r;
        char *body = malloc(65000);

        assert_non_null(body);
        memset(body, ' ', 65000);
        body[0] = '{';
        body[64999] = '}';
        assert_int_equal(
            da_test_http(&w->srv, "POST", "/v1/enroll", NULL, "application/json", body, 65000, &r),
            0);
        free(body);
        /* read whole and answered: {} lacks the enrollment fields */
        assert_int_equal(r.status, 400);
        assert_string_equal(da_test_error_code(&r), "json_missing_field");
        da_test_http_clear(&r);
    }
}

/* /metrics is for staff: no token is 401, the others as documented. */
static void test_metrics_needs_a_token(void **state)
{
    struct world *w = *state;

    expect_refused(w, "GET", "/metrics", NULL, 401, "unauthenticated");
    expect_refused(w, "GET", "/metrics", "dat_0000", 401, "bad_credentials");
    expect_refused(w, "GET", "/metrics?format=json", w->srv.auditor, 400, "bad_query_parameter");
    expect_status(w, "/metrics", w->srv.auditor, 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smuggling_cl_te),
        cmocka_unit_test(test_transfer_codings),
        cmocka_unit_test(test_oversized_chunked_body),
        cmocka_unit_test(test_control_characters_in_target),
        cmocka_unit_test(test_query_parameters),
        cmocka_unit_test(test_metrics_needs_a_token),
        cmocka_unit_test(test_slow_body_cut),
        cmocka_unit_test(test_chunked_body_accepted),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, setup, teardown);
}

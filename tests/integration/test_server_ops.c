/* Operating devattest-server: /metrics after real traffic (checked by
 * Prometheus' own promtool), the access log, API token and vendor
 * administration, and paged lists. The real server over TLS on loopback;
 * reports are quoted by a software AK (tests/support/soft_ak.h) whose
 * quotes the server verifies with the same code as a TPM's. */
#include "da_test.h"

#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "db_digest.h"
#include "picky.h"
#include "encoding.h"
#include "raw_tls.h"
#include "server_harness.h"
#include "soft_ak.h"
#include "store.h"

#define SERVER_BIN DA_BINARY_ROOT "/server/devattest-server"
#define AGENTS     3                                  /* two report, the third stays pending */
#define STALE_ID   "0de5a9e00000000000000000000057a1" /* enrolled days ago, never reported */

struct world {
    struct da_test_server srv;
    struct da_soft_ak ak[AGENTS];
    char agent[AGENTS][SRV_ID_HEX];
    char access_log[256];
    char vendor_token[80];
    unsigned seq;
};

/* ---- helpers ---- */

static void http(struct world *w, const char *method, const char *path, const char *token,
                 const char *body, struct da_test_http *r)
{
    assert_int_equal(da_test_http(&w->srv, method, path, token,
                                  body != NULL ? "application/json" : NULL, body,
                                  body != NULL ? strlen(body) : 0, r),
                     0);
}

static long status_of(struct world *w, const char *method, const char *path, const char *token,
                      const char *body, char code[48])
{
    struct da_test_http r;
    long st;

    http(w, method, path, token, body, &r);
    st = r.status;
    if (code != NULL)
        snprintf(code, 48, "%s", da_test_error_code(&r));
    da_test_http_clear(&r);
    return st;
}

/* Run the server binary on this configuration; stdout and stderr together
 * into out. Exit status. */
static int cli(struct world *w, char *out, size_t size, const char *args)
{
    char cmd[1024];
    FILE *p;
    size_t n = 0;
    int status;

    snprintf(cmd, sizeof(cmd), "%s -c %s %s 2>&1", SERVER_BIN, w->srv.config, args);
    p = popen(cmd, "r");
    assert_non_null(p);
    if (out != NULL && size > 0) {
        n = fread(out, 1, size - 1, p);
        out[n] = '\0';
    } else {
        char sink[512];

        while (fread(sink, 1, sizeof(sink), p) > 0)
            ;
    }
    status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void scrape(struct world *w, struct da_test_http *r)
{
    http(w, "GET", "/metrics", w->srv.auditor, NULL, r);
    assert_int_equal(r->status, 200);
    assert_non_null(strstr(r->content_type, "text/plain"));
}

/* The value text of the sample whose name and labels are exactly series,
 * or NULL. */
static const char *sample_text(const char *text, const char *series)
{
    size_t n = strlen(series);
    const char *p = text;

    while ((p = strstr(p, series)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return p + n + 1;
        p += n;
    }
    return NULL;
}

/* A counter's or gauge's value, or -1 when the series is absent. */
static long long sample(const char *text, const char *series)
{
    const char *v = sample_text(text, series);

    return v != NULL ? strtoll(v, NULL, 10) : -1;
}

/* A value with a fraction (a histogram's sum), or -1. */
static double fsample(const char *text, const char *series)
{
    const char *v = sample_text(text, series);

    return v != NULL ? strtod(v, NULL) : -1;
}

/* An absent series counts as 0. */
static long long nonneg(long long v)
{
    return v < 0 ? 0 : v;
}

/* The nonce for an agent, raw bytes. */
static size_t get_nonce(struct world *w, const char *agent, unsigned char *out, size_t size)
{
    char path[128];
    struct da_test_http r;
    cJSON *doc;
    const cJSON *n;
    size_t len = 0;

    snprintf(path, sizeof(path), "/v1/agents/%s/nonce", agent);
    http(w, "POST", path, NULL, "{}", &r);
    assert_int_equal(r.status, 200);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    n = cJSON_GetObjectItem(doc, "nonce");
    assert_true(cJSON_IsString(n));
    assert_int_equal(
        da_base64_decode_to(n->valuestring, strlen(n->valuestring), DA_BASE64_STD, out, size, &len),
        0);
    cJSON_Delete(doc);
    return len;
}

/* A report of agent i, with an inventory digest when inventory is not
 * NULL; the inventory itself is attached when attach is set. */
static char *report_body(struct world *w, int i, const unsigned char *nonce, size_t nlen,
                         const char *inventory, bool attach)
{
    cJSON *ev = da_soft_ak_evidence(w->seq++, 1), *doc;
    char *body = NULL, *out;

    if (inventory != NULL) {
        unsigned char d[32];
        char hex[65];
        unsigned dl = 0;

        /* the digest from OpenSSL, not from the code under test */
        assert_int_equal(EVP_Digest(inventory, strlen(inventory), d, &dl, EVP_sha256(), NULL), 1);
        assert_int_equal(da_hex_encode_to(d, sizeof(d), hex, sizeof(hex)), 0);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(ev, "patches"), "inventory_sha256", hex);
    }
    assert_int_equal(da_soft_ak_report(&w->ak[i], nonce, nlen, ev, &body), 0);
    cJSON_Delete(ev);
    if (!attach)
        return body;
    doc = cJSON_Parse(body);
    free(body);
    cJSON_AddStringToObject(doc, "inventory", inventory);
    out = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return out;
}

static long post_report(struct world *w, const char *agent, const char *body, char code[48])
{
    char path[128];

    snprintf(path, sizeof(path), "/v1/agents/%s/reports", agent);
    return status_of(w, "POST", path, NULL, body, code);
}

/* ---- setup ---- */

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    char extra[512], cmd[PATH_MAX * 2 + 32];
    struct srv_store *st = NULL;
    int i;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (w == NULL || da_test_server_setup(&w->srv, "") != 0)
        return -1;
    snprintf(w->access_log, sizeof(w->access_log), "%s/access.log", w->srv.dir);
    snprintf(extra, sizeof(extra),
             "access_log = %s\nrate_per_agent = 1000\nburst_per_agent = 1000\n"
             "stale_after = 1h\nsweep_interval = 1s\n",
             w->access_log);
    if (da_test_server_reconfigure(&w->srv, extra) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "cp %s/tests/fixtures/server/policy-test.json %s/policy.json",
             DA_SOURCE_ROOT, w->srv.state);
    if (system(cmd) != 0)
        return -1;
    if (da_test_server_cli(&w->srv, w->vendor_token, sizeof(w->vendor_token), "token", "create",
                           "--role", "vendor", "--vendor", "acme", "--label", "acme-ci", NULL) != 0)
        return -1;
    if (srv_store_open(w->srv.db, 1, 86400, &st) != 0)
        return -1;
    for (i = 0; i < AGENTS; i++) {
        struct srv_agent a;

        if (da_soft_ak_new(&w->ak[i]) != 0)
            return -1;
        snprintf(w->agent[i], sizeof(w->agent[i]), "0de5a9e0000000000000000000000%03d", i);
        memset(&a, 0, sizeof(a));
        snprintf(a.id, sizeof(a.id), "%s", w->agent[i]);
        if (srv_store_vendor_ensure(st, "acme", &a.vendor_id) != 0)
            return -1;
        snprintf(a.ek_name, sizeof(a.ek_name), "000b0e%02d", i);
        snprintf(a.ak_name, sizeof(a.ak_name), "000b0a%02d", i);
        a.ak_public = w->ak[i].pub;
        a.ak_public_len = w->ak[i].pub_len;
        a.host_json = (char *)DA_UNCONST("{}");
        a.created_at = (int64_t)time(NULL) - i; /* distinct, so paging order is known */
        if (srv_store_agent_create(st, &a) != 0)
            return -1;
    }
    {
        struct srv_agent a;

        memset(&a, 0, sizeof(a));
        snprintf(a.id, sizeof(a.id), "%s", STALE_ID);
        if (srv_store_vendor_ensure(st, "acme", &a.vendor_id) != 0)
            return -1;
        snprintf(a.ek_name, sizeof(a.ek_name), "000b0e57");
        snprintf(a.ak_name, sizeof(a.ak_name), "000b0a57");
        a.ak_public = w->ak[0].pub;
        a.ak_public_len = w->ak[0].pub_len;
        a.host_json = (char *)DA_UNCONST("{}");
        a.created_at = (int64_t)time(NULL) - 3 * 86400;
        if (srv_store_agent_create(st, &a) != 0)
            return -1;
    }
    srv_store_close(st);
    if (da_test_server_start(&w->srv) != 0)
        return -1;
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    int i;

    if (w == NULL)
        return 0;
    da_test_server_cleanup(&w->srv);
    for (i = 0; i < AGENTS; i++)
        da_soft_ak_free(&w->ak[i]);
    free(w);
    curl_global_cleanup();
    return 0;
}

/* ---- metrics ---- */

static int promtool_check(const char *dir, const char *text, char *out, size_t size)
{
    char path[256], cmd[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/metrics.txt", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
    f = popen(cmd, "r");
    assert_non_null(f);
    out[fread(out, 1, size - 1, f)] = '\0';
    return pclose(f);
}

/* Every sample's family has HELP and TYPE lines. */
static void every_family_described(const char *text)
{
    const char *line = text;
    int samples = 0;

    while (*line != '\0') {
        const char *end = strchr(line, '\n');
        char name[128], want[160];
        size_t n = strcspn(line, "{ ");

        assert_non_null(end);
        if (line[0] != '#') {
            assert_true(n < sizeof(name));
            memcpy(name, line, n);
            name[n] = '\0';
            /* a histogram's samples belong to the family without the suffix */
            snprintf(want, sizeof(want), "# TYPE %s histogram\n", name);
            if (strstr(text, want) == NULL) {
                char *s = strstr(name, "_bucket");

                if (s == NULL)
                    s = strstr(name, "_sum");
                if (s == NULL)
                    s = strstr(name, "_count");
                if (s != NULL)
                    *s = '\0';
            }
            snprintf(want, sizeof(want), "# HELP %s ", name);
            if (strstr(text, want) == NULL)
                fail_msg("no HELP for %s", name);
            snprintf(want, sizeof(want), "# TYPE %s ", name);
            if (strstr(text, want) == NULL)
                fail_msg("no TYPE for %s", name);
            samples++;
        }
        line = end + 1;
    }
    assert_true(samples > 40);
}

static void test_metrics_after_traffic(void **state)
{
    struct world *w = *state;
    struct da_test_http m0, m1;
    unsigned char nonce[128];
    size_t nlen;
    char *body, code[48], bad_code[48], series[128], out[8192];
    long long v0;
    long st;

    scrape(w, &m0);

    /* agent 0: one report accepted */
    nlen = get_nonce(w, w->agent[0], nonce, sizeof(nonce));
    body = report_body(w, 0, nonce, nlen, NULL, false);
    assert_int_equal(post_report(w, w->agent[0], body, code), 201);
    free(body);

    /* agent 1: the inventory round trip, then accepted */
    nlen = get_nonce(w, w->agent[1], nonce, sizeof(nonce));
    body = report_body(w, 1, nonce, nlen, "libc6 2.36-9+deb12u4 amd64\n", false);
    assert_int_equal(post_report(w, w->agent[1], body, code), 409);
    assert_string_equal(code, "inventory_needed");
    free(body);
    body = report_body(w, 1, nonce, nlen, "libc6 2.36-9+deb12u4 amd64\n", true);
    assert_int_equal(post_report(w, w->agent[1], body, code), 201);
    free(body);

    /* two refusals: an agent that is not enrolled, a body that is no report */
    nlen = get_nonce(w, w->agent[0], nonce, sizeof(nonce));
    body = report_body(w, 0, nonce, nlen, NULL, false);
    assert_int_equal(post_report(w, "0de5a9e0000000000000000000000999", body, code), 404);
    assert_string_equal(code, "agent_unknown");
    free(body);
    st = post_report(w, w->agent[0], "{\"nonce\":1}", bad_code);
    assert_true(st >= 400 && st < 500);
    assert_true(bad_code[0] != '\0');

    /* authentication: none, an unknown token, a token without the role */
    assert_int_equal(status_of(w, "GET", "/metrics", NULL, NULL, NULL), 401);
    assert_int_equal(status_of(w, "GET", "/metrics",
                               "dat_00000000000000000000000000000000000000000000000000000000000000"
                               "00",
                               NULL, NULL),
                     401);
    assert_int_equal(status_of(w, "GET", "/metrics", w->vendor_token, NULL, code), 403);

    scrape(w, &m1);
    /* counters moved exactly as the traffic implies */
    assert_true(sample(m1.body, "devattest_reports_accepted_total") ==
                sample(m0.body, "devattest_reports_accepted_total") + 2);
    assert_true(sample(m1.body, "devattest_reports_inventory_requested_total") ==
                sample(m0.body, "devattest_reports_inventory_requested_total") + 1);
    assert_true(sample(m1.body, "devattest_reports_refused_total{code=\"agent_unknown\"}") == 1);
    snprintf(series, sizeof(series), "devattest_reports_refused_total{code=\"%s\"}", bad_code);
    assert_true(sample(m1.body, series) == 1);
    /* the inventory round trip is no refusal */
    assert_true(sample(m1.body, "devattest_reports_refused_total{code=\"inventory_needed\"}") < 0);
    v0 = sample(m0.body, "devattest_report_verification_seconds_count");
    assert_true(sample(m1.body, "devattest_report_verification_seconds_count") == v0 + 5);
    assert_true(fsample(m1.body, "devattest_report_verification_seconds_sum") > 0);
    assert_true(sample(m1.body, "devattest_auth_failures_total{reason=\"missing\"}") ==
                sample(m0.body, "devattest_auth_failures_total{reason=\"missing\"}") + 1);
    assert_true(sample(m1.body, "devattest_auth_failures_total{reason=\"denied\"}") ==
                sample(m0.body, "devattest_auth_failures_total{reason=\"denied\"}") + 1);
    assert_true(sample(m1.body, "devattest_auth_failures_total{reason=\"forbidden\"}") ==
                sample(m0.body, "devattest_auth_failures_total{reason=\"forbidden\"}") + 1);
    /* a request is counted when it arrives: 3 nonces, 5 reports, 3 refused
     * scrapes and this scrape */
    assert_true(sample(m1.body, "devattest_http_requests_total") ==
                sample(m0.body, "devattest_http_requests_total") + 12);
    /* agents by vendor and status: two reported, one never did */
    assert_true(sample(m1.body, "devattest_agents{vendor=\"acme\",status=\"pending\"}") == 1);
    assert_true(sample(m1.body, "devattest_agents{vendor=\"acme\",status=\"stale\"}") == 1);
    assert_true(
        nonneg(sample(m1.body, "devattest_agents{vendor=\"acme\",status=\"compliant\"}")) +
            nonneg(sample(m1.body, "devattest_agents{vendor=\"acme\",status=\"non_compliant\"}")) ==
        2);
    assert_true(sample(m1.body, "devattest_store_operation_seconds_count{operation=\"write\"}") >
                sample(m0.body, "devattest_store_operation_seconds_count{operation=\"write\"}"));
    assert_true(sample(m1.body, "devattest_store_operation_seconds_count{operation=\"read\"}") >
                sample(m0.body, "devattest_store_operation_seconds_count{operation=\"read\"}"));
    snprintf(series, sizeof(series), "devattest_build_info{version=\"%s\"}", DA_VERSION);
    assert_true(sample(m1.body, series) == 1);
    assert_true(sample(m1.body, "devattest_webhook_deliveries_total") == 0);
    assert_true(sample(m1.body, "devattest_webhook_failures_total") == 0);
    every_family_described(m1.body);
    /* Prometheus' own checker: format and lint */
    if (promtool_check(w->srv.dir, m1.body, out, sizeof(out)) != 0)
        fail_msg("promtool check metrics: %s", out);
    da_test_http_clear(&m0);
    da_test_http_clear(&m1);
}

/* ---- access log ---- */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The line of the access log matching method, route and status, parsed. */
static cJSON *find_line(const char *log, const char *method, const char *route, int status)
{
    const char *line = log;

    while (*line != '\0') {
        const char *end = strchr(line, '\n');
        cJSON *o = cJSON_ParseWithLength(line, (size_t)(end - line));

        assert_non_null(end);
        assert_non_null(o); /* every line is one JSON object */
        if (strcmp(cJSON_GetObjectItem(o, "method")->valuestring, method) == 0 &&
            strcmp(cJSON_GetObjectItem(o, "route")->valuestring, route) == 0 &&
            cJSON_GetObjectItem(o, "status")->valueint == status)
            return o;
        cJSON_Delete(o);
        line = end + 1;
    }
    return NULL;
}

static void test_access_log(void **state)
{
    struct world *w = *state;
    static const char bad_framing[] = "POST /v1/enroll HTTP/1.1\r\nHost: x\r\n"
                                      "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n"
                                      "Content-Type: application/json\r\n\r\n0\r\n\r\n";
    const char *denied = "dat_feedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedface";
    struct da_raw_tls t;
    char *text = NULL, *log;
    bool closed = false;
    cJSON *o;
    int i, lines = 0;

    /* authenticated traffic with every token, and some that fails */
    assert_int_equal(status_of(w, "GET", "/v1/agents", w->srv.admin, NULL, NULL), 200);
    assert_int_equal(status_of(w, "GET", "/v1/audit?limit=3", w->srv.auditor, NULL, NULL), 200);
    assert_int_equal(status_of(w, "GET", "/v1/agents", w->vendor_token, NULL, NULL), 200);
    assert_int_equal(status_of(w, "GET", "/v1/audit", denied, NULL, NULL), 401);
    assert_int_equal(status_of(w, "GET", "/v1/nosuch", w->srv.admin, NULL, NULL), 404);
    assert_int_equal(status_of(w, "GET", "/v1/audit?token=x", w->srv.admin, NULL, NULL), 400);
    assert_int_equal(status_of(w, "PUT", "/v1/policy", w->srv.admin, "{", NULL), 400);
    /* a malformed request over raw TLS: refused before any handler */
    assert_int_equal(da_raw_tls_connect(&t, NULL, w->srv.port, w->srv.ca, 5000), 0);
    assert_int_equal(da_raw_tls_send(&t, bad_framing, sizeof(bad_framing) - 1), 0);
    assert_true(da_raw_tls_read_all(&t, &text, 10000, &closed) >= 0);
    assert_non_null(strstr(text, " 400 "));
    free(text);
    da_raw_tls_close(&t);
    /* lines are written when a request completes: give the last a moment */
    for (i = 0; i < 50; i++) {
        struct timespec ts = {0, 20 * 1000 * 1000};

        log = read_file(w->access_log);
        o = find_line(log, "POST", "/v1/enroll", 400);
        if (o != NULL)
            break;
        free(log);
        log = NULL;
        nanosleep(&ts, NULL);
    }
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "code")->valuestring, "bad_framing");
    assert_string_equal(cJSON_GetObjectItem(o, "address")->valuestring, "127.0.0.1");
    cJSON_Delete(o);

    /* no token ever reaches the log, not even one that was refused */
    assert_null(strstr(log, w->srv.admin));
    assert_null(strstr(log, w->srv.auditor));
    assert_null(strstr(log, w->vendor_token));
    assert_null(strstr(log, denied));
    assert_null(strstr(log, "dat_"));
    assert_null(strstr(log, "Bearer"));

    o = find_line(log, "GET", "/v1/agents", 200);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "principal")->valuestring, "admin:test-admin");
    assert_true(cJSON_GetObjectItem(o, "bytes")->valuedouble > 0);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(o, "duration_ms")));
    assert_true(cJSON_IsString(cJSON_GetObjectItem(o, "time")));
    cJSON_Delete(o);
    o = find_line(log, "GET", "/v1/audit", 401);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "code")->valuestring, "bad_credentials");
    assert_string_equal(cJSON_GetObjectItem(o, "principal")->valuestring, "");
    assert_string_equal(cJSON_GetObjectItem(o, "address")->valuestring, "127.0.0.1");
    cJSON_Delete(o);
    o = find_line(log, "GET", "-", 404);
    assert_non_null(o);
    cJSON_Delete(o);
    o = find_line(log, "GET", "/v1/audit", 400);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "code")->valuestring, "bad_query_parameter");
    cJSON_Delete(o);
    o = find_line(log, "PUT", "/v1/policy", 400);
    assert_non_null(o);
    cJSON_Delete(o);
    o = find_line(log, "POST", "/v1/agents/{}/reports", 409);
    assert_non_null(o); /* the inventory round trip of the metrics test */
    cJSON_Delete(o);
    for (i = 0; log[i] != '\0'; i++)
        lines += log[i] == '\n';
    assert_true(lines >= 20);
    free(log);
}

/* logrotate moves the file and sends SIGHUP: later lines go to a new file at
 * the configured path, earlier ones stay in the moved file, none is lost. */
static void test_access_log_reopened(void **state)
{
    struct world *w = *state;
    char moved[300], *old_text = NULL, *new_text = NULL;
    cJSON *o = NULL;
    struct stat st;
    int i;

    snprintf(moved, sizeof(moved), "%s.1", w->access_log);
    assert_int_equal(rename(w->access_log, moved), 0);
    /* before the signal the server still writes to the moved file */
    assert_int_equal(status_of(w, "GET", "/v1/tokens", w->srv.admin, NULL, NULL), 200);
    /* its line is written when the request completes: wait for it */
    for (i = 0; i < 50 && o == NULL; i++) {
        struct timespec ts = {0, 20 * 1000 * 1000};

        free(old_text);
        old_text = read_file(moved);
        o = find_line(old_text, "GET", "/v1/tokens", 200);
        if (o == NULL)
            nanosleep(&ts, NULL);
    }
    assert_non_null(o);
    cJSON_Delete(o);
    o = NULL;
    assert_int_equal(kill(w->srv.pid, SIGHUP), 0);
    /* the reopen happens in the server's signal loop: wait until the
     * path exists again (bounded) */
    for (i = 0; i < 100 && stat(w->access_log, &st) != 0; i++) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(stat(w->access_log, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(status_of(w, "GET", "/v1/vendors", w->srv.admin, NULL, NULL), 200);
    for (i = 0; i < 50 && o == NULL; i++) {
        struct timespec ts = {0, 20 * 1000 * 1000};

        free(new_text);
        new_text = read_file(w->access_log);
        o = find_line(new_text, "GET", "/v1/vendors", 200);
        if (o == NULL)
            nanosleep(&ts, NULL);
    }
    assert_non_null(o);
    cJSON_Delete(o);
    /* the request before the signal stayed in the moved file only */
    assert_null(strstr(new_text, "/v1/tokens"));
    /* and the server is still up and answering after the signal */
    assert_int_equal(status_of(w, "GET", "/v1/agents", w->srv.admin, NULL, NULL), 200);
    free(old_text);
    free(new_text);
}

/* ---- token and vendor administration ---- */

/* The public id of a token: hex of the first 8 bytes of its SHA-256,
 * computed here with OpenSSL. */
static void token_id(const char *token, char out[17])
{
    unsigned char d[32];
    unsigned dl = 0;

    assert_int_equal(EVP_Digest(token, strlen(token), d, &dl, EVP_sha256(), NULL), 1);
    assert_int_equal(da_hex_encode_to(d, 8, out, 17), 0);
}

static cJSON *token_in_list(struct world *w, const char *id)
{
    struct da_test_http r;
    cJSON *doc, *t, *found = NULL;

    http(w, "GET", "/v1/tokens", w->srv.admin, NULL, &r);
    assert_int_equal(r.status, 200);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(doc, "tokens"))
    {
        if (strcmp(cJSON_GetObjectItem(t, "id")->valuestring, id) == 0)
            found = cJSON_Duplicate(t, 1);
    }
    cJSON_Delete(doc);
    return found;
}

static void new_token(struct world *w, const char *args, char *token, size_t size, char id[17])
{
    char cmd[256];

    snprintf(cmd, sizeof(cmd), "token create %s", args);
    assert_int_equal(cli(w, token, size, cmd), 0);
    token[strcspn(token, "\n")] = '\0';
    assert_int_equal(strncmp(token, "dat_", 4), 0);
    token_id(token, id);
}

static void expect_db_unchanged_by(struct world *w, const char *method, const char *path,
                                   const char *token, const char *body, long status,
                                   const char *code)
{
    char before[65], after[65], got[48];

    assert_int_equal(da_test_db_digest(w->srv.db, before), 0);
    if (status_of(w, method, path, token, body, got) != status || strcmp(got, code) != 0)
        fail_msg("%s %s: got %s, want %ld %s", method, path, got, status, code);
    assert_int_equal(da_test_db_digest(w->srv.db, after), 0);
    assert_string_equal(before, after);
}

/* The current time as RFC 3339 UTC text, to the second. */
static void utc_now(char out[32])
{
    time_t now = time(NULL);
    struct tm tm;

    assert_non_null(gmtime_r(&now, &tm));
    assert_true(strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
}

static void test_token_revoke_and_expire(void **state)
{
    struct world *w = *state;
    char t1[128], t2[128], t3[128], id1[17], id2[17], id3[17], path[128], out[4096], code[48];
    char before[32], after[32], used[32];
    cJSON *o;

    new_token(w, "--role auditor --label temp-1 --expires-in 1h", t1, sizeof(t1), id1);
    new_token(w, "--role auditor --label temp-2", t2, sizeof(t2), id2);
    new_token(w, "--role vendor --vendor acme --label temp-3", t3, sizeof(t3), id3);
    /* never used yet: no last use */
    o = token_in_list(w, id1);
    assert_non_null(o);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "last_used_at")));
    cJSON_Delete(o);
    utc_now(before);
    assert_int_equal(status_of(w, "GET", "/v1/audit?limit=1", t1, NULL, NULL), 200);
    utc_now(after);
    assert_int_equal(status_of(w, "GET", "/v1/audit?limit=1", t2, NULL, NULL), 200);
    assert_int_equal(status_of(w, "GET", "/v1/agents", t3, NULL, NULL), 200);

    /* listed by id with expiry and last use; the token text nowhere */
    o = token_in_list(w, id1);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "state")->valuestring, "active");
    assert_string_equal(cJSON_GetObjectItem(o, "label")->valuestring, "temp-1");
    assert_true(cJSON_IsString(cJSON_GetObjectItem(o, "expires_at")));
    /* the last use is the time of that request (same-width UTC texts
     * compare in time order) */
    assert_true(cJSON_IsString(cJSON_GetObjectItem(o, "last_used_at")));
    snprintf(used, sizeof(used), "%s", cJSON_GetObjectItem(o, "last_used_at")->valuestring);
    if (strcmp(used, before) < 0 || strcmp(used, after) > 0)
        fail_msg("last_used_at %s not within %s .. %s", used, before, after);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "revoked_at")));
    cJSON_Delete(o);
    /* a further use never moves it backwards */
    assert_int_equal(status_of(w, "GET", "/v1/audit?limit=1", t1, NULL, NULL), 200);
    o = token_in_list(w, id1);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(o, "last_used_at")));
    assert_true(strcmp(cJSON_GetObjectItem(o, "last_used_at")->valuestring, used) >= 0);
    cJSON_Delete(o);
    o = token_in_list(w, id3);
    assert_string_equal(cJSON_GetObjectItem(o, "vendor")->valuestring, "acme");
    cJSON_Delete(o);
    assert_int_equal(cli(w, out, sizeof(out), "token list"), 0);
    assert_non_null(strstr(out, id1));
    assert_non_null(strstr(out, "temp-2"));
    assert_null(strstr(out, t1));
    assert_null(strstr(out, "dat_"));

    /* only an admin administers tokens */
    assert_int_equal(status_of(w, "GET", "/v1/tokens", w->srv.auditor, NULL, NULL), 403);
    snprintf(path, sizeof(path), "/v1/tokens/%s/revoke", id1);
    assert_int_equal(status_of(w, "POST", path, t1, "{}", NULL), 403);

    /* bad input: its own code, nothing changed */
    expect_db_unchanged_by(w, "POST", "/v1/tokens/0000000000000000/revoke", w->srv.admin, "{}", 404,
                           "api_token_unknown");
    snprintf(path, sizeof(path), "/v1/tokens/%s/expire", id2);
    expect_db_unchanged_by(w, "POST", path, w->srv.admin, "{\"at\":\"tomorrow\"}", 400, "bad_time");
    expect_db_unchanged_by(w, "POST", path, w->srv.admin, "{\"when\":\"2000-01-01T00:00:00Z\"}",
                           400, "invalid_argument");

    /* revoked through the API: refused on the next request */
    snprintf(path, sizeof(path), "/v1/tokens/%s/revoke", id1);
    assert_int_equal(status_of(w, "POST", path, w->srv.admin, "{}", NULL), 200);
    assert_int_equal(status_of(w, "GET", "/v1/audit?limit=1", t1, NULL, code), 401);
    assert_string_equal(code, "api_token_revoked");
    o = token_in_list(w, id1);
    assert_string_equal(cJSON_GetObjectItem(o, "state")->valuestring, "revoked");
    cJSON_Delete(o);

    /* expired through the API (a time in the past) */
    snprintf(path, sizeof(path), "/v1/tokens/%s/expire", id2);
    assert_int_equal(
        status_of(w, "POST", path, w->srv.admin, "{\"at\":\"2000-01-01T00:00:00Z\"}", NULL), 200);
    assert_int_equal(status_of(w, "GET", "/v1/audit?limit=1", t2, NULL, code), 401);
    assert_string_equal(code, "api_token_expired");
    /* and given a future expiry again by the CLI, while the server runs */
    snprintf(out, sizeof(out), "token expire %s --in 1h", id2);
    assert_int_equal(cli(w, NULL, 0, out), 0);
    assert_int_equal(status_of(w, "GET", "/v1/audit?limit=1", t2, NULL, NULL), 200);

    /* expired by the CLI (now): refused by the running server */
    snprintf(out, sizeof(out), "token expire %s", id3);
    assert_int_equal(cli(w, NULL, 0, out), 0);
    assert_int_equal(status_of(w, "GET", "/v1/agents", t3, NULL, code), 401);
    assert_string_equal(code, "api_token_expired");
    /* revoked by the CLI */
    snprintf(out, sizeof(out), "token revoke %s", id2);
    assert_int_equal(cli(w, NULL, 0, out), 0);
    assert_int_equal(status_of(w, "GET", "/v1/audit?limit=1", t2, NULL, code), 401);
    assert_string_equal(code, "api_token_revoked");
    assert_int_equal(cli(w, out, sizeof(out), "token revoke 0000000000000000"), 1);
    assert_non_null(strstr(out, "api_token_unknown"));
    assert_int_equal(cli(w, out, sizeof(out), "token expire 0123 --at yesterday"), 1);
    assert_non_null(strstr(out, "bad_time"));
}

static void test_vendor_administration(void **state)
{
    struct world *w = *state;
    char out[4096], before[65], after[65];

    /* a typo in the vendor makes no vendor and no token */
    assert_int_equal(da_test_db_digest(w->srv.db, before), 0);
    assert_int_equal(cli(w, out, sizeof(out), "token create --role vendor --vendor acmee"), 1);
    assert_non_null(strstr(out, "vendor_unknown"));
    assert_null(strstr(out, "dat_"));
    assert_int_equal(cli(w, out, sizeof(out), "token create --vendor acmee --ttl 1h"), 1);
    assert_non_null(strstr(out, "vendor_unknown"));
    assert_int_equal(cli(w, out, sizeof(out), "vendor create 'bad name'"), 1);
    assert_non_null(strstr(out, "vendor_name"));
    assert_int_equal(cli(w, out, sizeof(out), "vendor create acme"), 1);
    assert_non_null(strstr(out, "vendor_exists"));
    assert_int_equal(cli(w, out, sizeof(out), "vendor rename acme globex"), 1);
    assert_non_null(strstr(out, "vendor_exists"));
    assert_int_equal(cli(w, out, sizeof(out), "vendor rename nosuch other"), 1);
    assert_non_null(strstr(out, "vendor_unknown"));
    assert_int_equal(cli(w, out, sizeof(out), "vendor frobnicate"), 2);
    assert_int_equal(da_test_db_digest(w->srv.db, after), 0);
    assert_string_equal(before, after);

    assert_int_equal(cli(w, out, sizeof(out), "vendor create initech"), 0);
    assert_int_equal(cli(w, out, sizeof(out), "token create --role vendor --vendor initech"), 0);
    assert_int_equal(strncmp(out, "dat_", 4), 0);
    assert_int_equal(cli(w, out, sizeof(out), "vendor rename initech initrode"), 0);
    assert_int_equal(cli(w, out, sizeof(out), "vendor list"), 0);
    assert_non_null(strstr(out, "initrode\t"));
    assert_null(strstr(out, "initech\t"));
    assert_non_null(strstr(out, "acme\t"));
    /* the API sees the rename at once */
    {
        struct da_test_http r;

        http(w, "GET", "/v1/vendors", w->srv.admin, NULL, &r);
        assert_int_equal(r.status, 200);
        assert_non_null(strstr(r.body, "\"initrode\""));
        da_test_http_clear(&r);
    }
}

/* ---- paged lists ---- */

/* Walk a list page by page; the ids (or subjects) joined into out. */
static int walk(struct world *w, const char *base, const char *array, const char *key, char *out,
                size_t size)
{
    char path[512], cursor[160] = "";
    int pages = 0;

    out[0] = '\0';
    for (;;) {
        struct da_test_http r;
        cJSON *doc, *e, *next;

        snprintf(path, sizeof(path), "%s%scursor=%s", base, strchr(base, '?') ? "&" : "?", cursor);
        if (cursor[0] == '\0')
            snprintf(path, sizeof(path), "%s", base);
        http(w, "GET", path, w->srv.admin, NULL, &r);
        if (r.status != 200)
            fail_msg("%s: %ld %s", path, r.status, r.body);
        doc = cJSON_Parse(r.body);
        da_test_http_clear(&r);
        pages++;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, array))
        {
            const cJSON *v = cJSON_GetObjectItem(e, key);

            if (cJSON_IsNumber(v))
                snprintf(out + strlen(out), size - strlen(out), "%.0f,", v->valuedouble);
            else
                snprintf(out + strlen(out), size - strlen(out), "%s,", v->valuestring);
        }
        next = cJSON_GetObjectItem(doc, "next_cursor");
        if (next == NULL) {
            cJSON_Delete(doc);
            return pages;
        }
        snprintf(cursor, sizeof(cursor), "%s", next->valuestring);
        cJSON_Delete(doc);
        assert_true(pages < 100);
    }
}

static void test_paged_lists(void **state)
{
    struct world *w = *state;
    char all[4096], paged[4096], path[256];
    unsigned char nonce[128];
    size_t nlen;
    char *body;
    int i;

    /* agents: one per page gives the same list as one page */
    assert_int_equal(walk(w, "/v1/agents?limit=1000", "agents", "id", all, sizeof(all)), 1);
    assert_int_equal(walk(w, "/v1/agents?limit=1", "agents", "id", paged, sizeof(paged)),
                     AGENTS + 1);
    assert_string_equal(all, paged);
    /* oldest first: the stale agent, then agent 2 */
    assert_int_equal(strncmp(all, STALE_ID ",", strlen(STALE_ID) + 1), 0);
    assert_int_equal(strncmp(all + strlen(STALE_ID) + 1, w->agent[2], strlen(w->agent[2])), 0);

    /* reports of agent 0: three more, in pages of two */
    for (i = 0; i < 3; i++) {
        nlen = get_nonce(w, w->agent[0], nonce, sizeof(nonce));
        body = report_body(w, 0, nonce, nlen, NULL, false);
        assert_int_equal(post_report(w, w->agent[0], body, NULL), 201);
        free(body);
    }
    snprintf(path, sizeof(path), "/v1/agents/%s/reports?limit=1000", w->agent[0]);
    assert_int_equal(walk(w, path, "reports", "id", all, sizeof(all)), 1);
    snprintf(path, sizeof(path), "/v1/agents/%s/reports?limit=2", w->agent[0]);
    assert_int_equal(walk(w, path, "reports", "id", paged, sizeof(paged)), 2);
    assert_string_equal(all, paged);
    /* a window in the future, or ending at the epoch, holds nothing */
    snprintf(path, sizeof(path), "/v1/agents/%s/reports?from=2100-01-01T00:00:00Z", w->agent[0]);
    assert_int_equal(walk(w, path, "reports", "id", paged, sizeof(paged)), 1);
    assert_string_equal(paged, "");
    snprintf(path, sizeof(path), "/v1/agents/%s/reports?to=1970-01-01T00:00:00Z", w->agent[0]);
    assert_int_equal(walk(w, path, "reports", "id", paged, sizeof(paged)), 1);
    assert_string_equal(paged, "");
    snprintf(path, sizeof(path), "/v1/agents/%s/reports?from=2000-01-01T00:00:00%%2B02:00",
             w->agent[0]);
    walk(w, path, "reports", "id", paged, sizeof(paged));
    assert_string_equal(all, paged);

    /* audit: pages of 3 give what one page gives */
    assert_int_equal(walk(w, "/v1/audit?limit=1000", "events", "id", all, sizeof(all)), 1);
    assert_true(walk(w, "/v1/audit?limit=3", "events", "id", paged, sizeof(paged)) > 2);
    assert_string_equal(all, paged);
    assert_int_equal(
        walk(w, "/v1/audit?to=2000-01-01T00:00:00Z", "events", "id", paged, sizeof(paged)), 1);
    assert_string_equal(paged, "");
}

/* Events of an action for a subject in the audit log. */
static int audit_count(struct world *w, const char *action, const char *subject)
{
    char path[128];
    struct da_test_http r;
    cJSON *doc, *e;
    int n = 0;

    snprintf(path, sizeof(path), "/v1/audit?action=%s&limit=1000", action);
    http(w, "GET", path, w->srv.auditor, NULL, &r);
    assert_int_equal(r.status, 200);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "events"))
    {
        n += strcmp(cJSON_GetObjectItem(e, "subject")->valuestring, subject) == 0;
    }
    cJSON_Delete(doc);
    return n;
}

/* The server finds a stale machine on its own clock (nobody reads that
 * agent) and records the transition once, however many sweeps follow. */
static void test_stale_found_by_the_sweep(void **state)
{
    struct world *w = *state;
    struct timespec ts = {0, 100 * 1000 * 1000};
    int i, n = 0;

    for (i = 0; i < 100 && n == 0; i++) {
        n = audit_count(w, "agent_stale", STALE_ID);
        if (n == 0)
            nanosleep(&ts, NULL);
    }
    assert_int_equal(n, 1);
    /* three more sweeps (sweep_interval = 1s) */
    for (i = 0; i < 30; i++)
        nanosleep(&ts, NULL);
    assert_int_equal(audit_count(w, "agent_stale", STALE_ID), 1);
    /* an agent enrolled just now is not stale */
    assert_int_equal(audit_count(w, "agent_stale", w->agent[0]), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* first: its one write must not fall into a test that compares
         * the database before and after a refusal */
        cmocka_unit_test(test_stale_found_by_the_sweep),
        cmocka_unit_test(test_metrics_after_traffic),
        cmocka_unit_test(test_access_log),
        cmocka_unit_test(test_access_log_reopened),
        cmocka_unit_test(test_token_revoke_and_expire),
        cmocka_unit_test(test_vendor_administration),
        cmocka_unit_test(test_paged_lists),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

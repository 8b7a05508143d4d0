/* Evidence pack round trip: real reports (quotes of a software AK,
 * tests/support/soft_ak.h, verified by the real server) exported through
 * the API and through `devattest-server export`; GNU tar lists the archive
 * (an independent reader); `devattest-verify pack` verifies every report,
 * then flags exactly the report one byte of which was changed, and refuses
 * the whole pack against another CA (made with the openssl command). */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "encoding.h"
#include "server_harness.h"
#include "soft_ak.h"
#include "store.h"
#include "picky.h"

#define AGENTS  3 /* two of vendor acme, one of vendor other */
#define REPORTS 3 /* per agent */

struct world {
    struct da_test_server srv;
    struct da_soft_ak ak[AGENTS];
    char agent[AGENTS][SRV_ID_HEX];
    char report[AGENTS * REPORTS][SRV_ID_HEX];
    int nreport;
    unsigned seq;
    char pack[256], cli_pack[256];
};

static void seed_agents(struct world *w)
{
    struct srv_store *st = NULL;
    struct srv_agent a;
    int i;

    assert_int_equal(srv_store_open(w->srv.db, 1, 86400, &st), 0);
    for (i = 0; i < AGENTS; i++) {
        assert_int_equal(da_soft_ak_new(&w->ak[i]), 0);
        snprintf(w->agent[i], sizeof(w->agent[i]), "beef00%026d", i);
        memset(&a, 0, sizeof(a));
        snprintf(a.id, sizeof(a.id), "%s", w->agent[i]);
        assert_int_equal(srv_store_vendor_ensure(st, i < 2 ? "acme" : "other", &a.vendor_id), 0);
        snprintf(a.ek_name, sizeof(a.ek_name), "000b20%02d", i);
        snprintf(a.ak_name, sizeof(a.ak_name), "000b21%02d", i);
        a.ak_public = w->ak[i].pub;
        a.ak_public_len = w->ak[i].pub_len;
        a.host_json = (char *)DA_UNCONST("{}");
        a.created_at = (int64_t)time(NULL);
        assert_int_equal(srv_store_agent_create(st, &a), 0);
    }
    srv_store_close(st);
}

static void post_report(struct world *w, int i, int encrypted)
{
    char path[128], *body = NULL;
    unsigned char nonce[128];
    size_t nlen = 0;
    struct da_test_http r;
    cJSON *doc, *ev;

    snprintf(path, sizeof(path), "/v1/agents/%s/nonce", w->agent[i]);
    assert_int_equal(da_test_http(&w->srv, "POST", path, NULL, "application/json", "{}", 2, &r), 0);
    assert_int_equal(r.status, 200);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    assert_int_equal(da_base64_decode_to(cJSON_GetObjectItem(doc, "nonce")->valuestring,
                                         strlen(cJSON_GetObjectItem(doc, "nonce")->valuestring),
                                         DA_BASE64_STD, nonce, sizeof(nonce), &nlen),
                     0);
    cJSON_Delete(doc);
    ev = da_soft_ak_evidence(w->seq++, encrypted);
    assert_int_equal(da_soft_ak_report(&w->ak[i], nonce, nlen, ev, &body), 0);
    cJSON_Delete(ev);
    snprintf(path, sizeof(path), "/v1/agents/%s/reports", w->agent[i]);
    assert_int_equal(
        da_test_http(&w->srv, "POST", path, NULL, "application/json", body, strlen(body), &r), 0);
    assert_int_equal(r.status, 201);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    if (i < 2)
        snprintf(w->report[w->nreport++], SRV_ID_HEX, "%s",
                 cJSON_GetObjectItem(doc, "report_id")->valuestring);
    cJSON_Delete(doc);
    free(body);
}

/* Run a shell command; its exit status, stdout into out. */
static int run(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int run(char *out, size_t size, const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    FILE *p;
    size_t n = 0;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    p = popen(cmd, "r");
    assert_non_null(p);
    if (out != NULL) {
        n = fread(out, 1, size - 1, p);
        out[n] = '\0';
    } else {
        char sink[4096];

        while (fread(sink, 1, sizeof(sink), p) > 0)
            ;
    }
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void get_pack(struct world *w, const char *query, long want, const char *code)
{
    char path[256];
    struct da_test_http r;

    snprintf(path, sizeof(path), "/v1/vendors/%s/evidence-pack%s", want == 404 ? "nobody" : "acme",
             query);
    assert_int_equal(da_test_http(&w->srv, "GET", path, w->srv.auditor, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, want);
    if (code != NULL) {
        assert_string_equal(da_test_error_code(&r), code);
    } else {
        FILE *f = fopen(w->pack, "wb");

        assert_string_equal(r.content_type, "application/x-tar");
        assert_non_null(f);
        assert_int_equal(fwrite(r.body, 1, r.len, f), r.len);
        assert_int_equal(fclose(f), 0);
        print_message("evidence pack of %d reports: %zu bytes\n", w->nreport, r.len);
    }
    da_test_http_clear(&r);
}

/* Change one letter of the evidence inside reports/ID/report.json, walking
 * the ustar headers here rather than with the code under test. */
static void tamper(const char *src, const char *dst, const char *report_id)
{
    FILE *f = fopen(src, "rb");
    unsigned char *b;
    long len;
    size_t off = 0;
    char want[128];
    int done = 0;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)len);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    snprintf(want, sizeof(want), "reports/%s/report.json", report_id);
    while (off + 512 <= (size_t)len && b[off] != 0) {
        size_t size = strtoul((const char *)b + off + 124, NULL, 8);

        if (strcmp((const char *)b + off, want) == 0) {
            unsigned char *data = b + off + 512;
            unsigned char *hit = memmem(data, size, "luks2", 5);

            if (hit == NULL)
                hit = memmem(data, size, "none", 4);
            assert_non_null(hit);
            *hit = (unsigned char)(*hit ^ 0x20); /* one letter's case: one byte */
            done = 1;
        }
        off += 512 + (size + 511) / 512 * 512;
    }
    assert_true(done);
    f = fopen(dst, "wb");
    assert_int_equal(fwrite(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    free(b);
}

static void test_pack_round_trip(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    char policy[PATH_MAX], cmd[PATH_MAX * 2 + 32], out[65536], day[16], next[16], q[96];
    char tampered[300], otherca[300];
    time_t now = time(NULL), tom = now + 86400;
    struct tm tm;
    int i, j;

    (void)state;
    assert_non_null(w);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    assert_int_equal(da_test_server_setup(&w->srv, NULL), 0);
    snprintf(policy, sizeof(policy), "%s/tests/fixtures/server/policy-test.json", DA_SOURCE_ROOT);
    snprintf(cmd, sizeof(cmd), "cp %s %s/policy.json", policy, w->srv.state);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(da_test_server_start(&w->srv), 0);
    seed_agents(w);
    for (j = 0; j < REPORTS; j++) {
        for (i = 0; i < AGENTS; i++)
            post_report(w, i, (i + j) % 2 == 0);
    }
    snprintf(w->pack, sizeof(w->pack), "%s/api.tar", w->srv.dir);
    snprintf(w->cli_pack, sizeof(w->cli_pack), "%s/cli.tar", w->srv.dir);
    gmtime_r(&now, &tm);
    strftime(day, sizeof(day), "%Y-%m-%d", &tm);
    gmtime_r(&tom, &tm);
    strftime(next, sizeof(next), "%Y-%m-%d", &tm);

    /* refusals: nothing exported */
    snprintf(q, sizeof(q), "?from=%s&to=%s", next, day);
    get_pack(w, q, 400, "pack_range");
    get_pack(w, "?from=2026-02-30", 400, "pack_range");
    get_pack(w, "?since=2026-01-01", 400, "bad_query_parameter");
    get_pack(w, "", 404, "vendor_unknown");

    snprintf(q, sizeof(q), "?from=%s&to=%s", day, next);
    get_pack(w, q, 200, NULL);
    assert_int_equal(da_test_server_cli(&w->srv, out, sizeof(out), "export", "--vendor", "acme",
                                        "--from", day, "--to", next, "-o", w->cli_pack, NULL),
                     0);

    /* GNU tar reads both archives and finds every report's members */
    for (int k = 0; k < 2; k++) {
        const char *f = k == 0 ? w->pack : w->cli_pack;

        assert_int_equal(run(out, sizeof(out), "tar -tf %s", f), 0);
        assert_int_equal(count(out, "/report.json\n"), w->nreport);
        assert_int_equal(count(out, "/receipt.json\n"), w->nreport);
        assert_int_equal(count(out, "agents/"), 2);
        assert_int_equal(count(out, "policies/"), 1);
        assert_non_null(strstr(out, "keys/ca.pem\n"));
        assert_non_null(strstr(out, "keys/receipt.pub\n"));
        assert_non_null(strstr(out, "pack.dsse.json\n"));
        assert_null(strstr(out, w->agent[2])); /* vendor other is not in acme's pack */
    }
    /* the HTML report: self-contained, charts as SVG, no script */
    assert_int_equal(run(out, sizeof(out), "tar -xOf %s report.html", w->pack), 0);
    assert_non_null(strstr(out, "<svg"));
    assert_null(strstr(out, "<script"));
    assert_null(strstr(out, "src=\"http")); /* nothing loaded from elsewhere */
    assert_non_null(strstr(out, "8.31"));
    assert_non_null(strstr(out, "disk.encrypted"));

    /* every report verifies offline, from both archives */
    for (int k = 0; k < 2; k++) {
        assert_int_equal(run(out, sizeof(out), "%s/server/devattest-verify pack %s --ca %s",
                             DA_BINARY_ROOT, k == 0 ? w->pack : w->cli_pack, w->srv.ca),
                         0);
        assert_int_equal(count(out, ": ok\n"), w->nreport);
        assert_int_equal(count(out, "FAIL"), 0);
    }

    /* one byte of one report changed: that report, and only it, fails */
    snprintf(tampered, sizeof(tampered), "%s/tampered.tar", w->srv.dir);
    tamper(w->pack, tampered, w->report[2]);
    assert_int_equal(run(out, sizeof(out), "%s/server/devattest-verify pack %s --ca %s",
                         DA_BINARY_ROOT, tampered, w->srv.ca),
                     1);
    print_message("%s", out);
    assert_int_equal(count(out, "FAIL"), 1);
    assert_int_equal(count(out, ": ok\n"), w->nreport - 1);
    snprintf(q, sizeof(q), "report %s: FAIL", w->report[2]);
    assert_non_null(strstr(out, q));

    /* another CA: the manifest is not trusted and nothing is called ok */
    snprintf(otherca, sizeof(otherca), "%s/other-ca.pem", w->srv.dir);
    assert_int_equal(run(NULL, 0,
                         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                         "-keyout %s/other-ca.key -out %s -subj /CN=other -days 1 2>/dev/null",
                         w->srv.dir, otherca),
                     0);
    assert_int_equal(run(out, sizeof(out), "%s/server/devattest-verify pack %s --ca %s",
                         DA_BINARY_ROOT, w->pack, otherca),
                     1);
    assert_non_null(strstr(out, "pack: FAIL"));
    assert_int_equal(count(out, ": ok\n"), 0);

    assert_int_equal(da_test_server_stop(&w->srv), 0);
    da_test_server_cleanup(&w->srv);
    for (i = 0; i < AGENTS; i++)
        da_soft_ak_free(&w->ak[i]);
    free(w);
    curl_global_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_pack_round_trip)};

    return cmocka_run_group_tests(tests, NULL, NULL);
}

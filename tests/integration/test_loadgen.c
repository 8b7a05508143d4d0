/* devattest-loadgen against a real devattest-server (TLS on loopback, real
 * SQLite file). What the load generator prints is checked against what the
 * server counted on its own: /metrics read by the test, and the database
 * read with SQLite directly. Software agents are refused unless the server
 * allows them, and every report of one says "software" in the stored
 * transcript and in the signed receipt. */
#include "da_test.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "loadgen.h"
#include "picky.h"
#include "server_harness.h"
#include "soft_ak.h"

#define LOADGEN_BIN DA_BINARY_ROOT "/loadgen/devattest-loadgen"
#define DATA_DIR    DA_SOURCE_ROOT "/tests/data/loadgen"
#define POLICY      DA_SOURCE_ROOT "/common/policies/iso27001-2022-devenv.json"

#define OPEN_LIMITS                                                                                \
    "policy_file = " POLICY "\n"                                                                   \
    "rate_per_address = 100000\nburst_per_address = 100000\n"                                      \
    "nonce_rate_per_address = 100000\nnonce_burst_per_address = 100000\n"                          \
    "rate_per_agent = 100000\nburst_per_agent = 100000\n"

struct world {
    struct da_test_server srv;
    char token_file[256];
};

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    FILE *f;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (w == NULL || da_test_server_setup(&w->srv, OPEN_LIMITS) != 0)
        return -1;
    snprintf(w->token_file, sizeof(w->token_file), "%s/admin.token", w->srv.dir);
    f = fopen(w->token_file, "w");
    if (f == NULL || fprintf(f, "%s\n", w->srv.admin) < 0 || fclose(f) != 0)
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

static void restart(struct world *w, const char *extra)
{
    if (w->srv.pid > 0)
        assert_int_equal(da_test_server_stop(&w->srv), 0);
    assert_int_equal(da_test_server_reconfigure(&w->srv, extra), 0);
    assert_int_equal(da_test_server_start(&w->srv), 0);
}

/* Run the load generator with --json; its exit status, its figures in *out
 * (NULL when it printed none). */
static int loadgen(struct world *w, const char *evidence, const char *args, cJSON **out)
{
    char cmd[2048], text[65536];
    size_t n;
    FILE *p;
    int status;

    snprintf(cmd, sizeof(cmd),
             "%s --url %s --ca %s --token-file %s --vendor acme --evidence %s/%s "
             "--inventory %s/inventory-debian12.txt --json %s",
             LOADGEN_BIN, w->srv.base, w->srv.ca, w->token_file, DATA_DIR, evidence, DATA_DIR,
             args);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(text, 1, sizeof(text) - 1, p);
    text[n] = '\0';
    status = pclose(p);
    *out = n > 0 ? cJSON_Parse(text) : NULL;
    if (n > 0 && *out == NULL)
        fail_msg("loadgen printed no JSON: %s", text);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const cJSON *number_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

    if (b != NULL)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    if (!cJSON_IsNumber(v))
        fail_msg("no number at %s%s%s", a, b != NULL ? "." : "", b != NULL ? b : "");
    return v;
}

static double num(const cJSON *o, const char *a, const char *b)
{
    return number_at(o, a, b)->valuedouble;
}

static long long count(const cJSON *o, const char *a, const char *b)
{
    return (long long)number_at(o, a, b)->valuedouble;
}

/* A sample of the server's /metrics, read by the test itself. */
static double metric(struct world *w, const char *sample)
{
    struct da_test_http r;
    const char *at;
    double v = -1;
    size_t len = strlen(sample);

    assert_int_equal(da_test_http(&w->srv, "GET", "/metrics", w->srv.admin, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    for (at = r.body; at != NULL; at = strchr(at, '\n')) {
        at += at[0] == '\n';
        if (strncmp(at, sample, len) == 0 && at[len] == ' ') {
            v = strtod(at + len + 1, NULL);
            break;
        }
    }
    da_test_http_clear(&r);
    return v < 0 ? 0 : v; /* a labelled family not yet moved has no sample */
}

static long long db_count(struct world *w, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long n = -1;

    assert_int_equal(sqlite3_open_v2(w->srv.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static long enroll_software(struct world *w, const unsigned char *pub, size_t len, cJSON **answer)
{
    struct da_test_http r;
    char b64[1024], body[1200];
    long status;

    assert_true(EVP_EncodeBlock((unsigned char *)b64, pub, (int)len) > 0);
    snprintf(body, sizeof(body), "{\"vendor\":\"acme\",\"ak_public\":\"%s\"}", b64);
    assert_int_equal(da_test_http(&w->srv, "POST", "/v1/enroll/software", w->srv.admin,
                                  "application/json", body, strlen(body), &r),
                     0);
    status = r.status;
    *answer = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    assert_non_null(*answer);
    return status;
}

static const char *error_code(const cJSON *answer)
{
    const cJSON *c =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(answer, "error"), "code");

    return cJSON_IsString(c) ? c->valuestring : "";
}

/* Without test_software_agents the route refuses and nothing is enrolled;
 * with it, only a key that claims no TPM is taken, once. */
static void test_software_enrollment(void **state)
{
    struct world *w = *state;
    struct lg_identity id;
    struct da_soft_ak tpm_like;
    cJSON *out = NULL, *ans = NULL;

    assert_int_equal(lg_identity_new(&id), 0);
    assert_int_equal(da_soft_ak_new(&tpm_like), 0);
    restart(w, OPEN_LIMITS);
    assert_int_equal(
        loadgen(w, "evidence-small.json", "--agents 2 --concurrency 1 --count 4", &out), 1);
    assert_null(out);
    assert_int_equal(enroll_software(w, id.pub, id.pub_len, &ans), 403);
    assert_string_equal(error_code(ans), "software_agents_disabled");
    cJSON_Delete(ans);
    assert_int_equal(db_count(w, "SELECT count(*) FROM agents"), 0);

    restart(w, OPEN_LIMITS "test_software_agents = yes\n");
    /* fixedTPM, fixedParent, sensitiveDataOrigin: a software key may not say so */
    assert_int_equal(enroll_software(w, tpm_like.pub, tpm_like.pub_len, &ans), 400);
    assert_string_equal(error_code(ans), "software_ak");
    cJSON_Delete(ans);
    assert_int_equal(db_count(w, "SELECT count(*) FROM agents"), 0);
    assert_int_equal(enroll_software(w, id.pub, id.pub_len, &ans), 201);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(ans, "trust")->valuestring, "software");
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(ans, "agent_id")));
    cJSON_Delete(ans);
    assert_int_equal(db_count(w, "SELECT count(*) FROM agents WHERE ek_trust = 'software'"), 1);
    assert_int_equal(enroll_software(w, id.pub, id.pub_len, &ans), 409);
    assert_string_equal(error_code(ans), "identity_conflict");
    cJSON_Delete(ans);
    assert_int_equal(db_count(w, "SELECT count(*) FROM agents"), 1);
    lg_identity_free(&id);
    da_soft_ak_free(&tpm_like);
}

/* The receipt's payload (base64 in the DSSE envelope), parsed. */
static cJSON *receipt_payload(const cJSON *receipt)
{
    const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(receipt, "payload");
    unsigned char *raw;
    cJSON *payload;
    int n;

    assert_true(cJSON_IsString(b64));
    raw = calloc(1, strlen(b64->valuestring) + 4);
    assert_non_null(raw);
    n = EVP_DecodeBlock(raw, (const unsigned char *)b64->valuestring,
                        (int)strlen(b64->valuestring));
    assert_true(n > 0);
    payload = cJSON_Parse((const char *)raw); /* the padding decodes to NULs */
    free(raw);
    assert_non_null(payload);
    return payload;
}

/* The verdict of one policy check in a report's verdict. */
static const char *check_verdict(const cJSON *rep, const char *id)
{
    const cJSON *checks = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(rep, "verdict"), "checks");
    const cJSON *c;

    cJSON_ArrayForEach(c, checks)
    {
        const cJSON *cid = cJSON_GetObjectItemCaseSensitive(c, "id");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "verdict");
        if (cJSON_IsString(cid) && strcmp(cid->valuestring, id) == 0 && cJSON_IsString(v))
            return v->valuestring;
    }
    fail_msg("no check %s in the verdict", id);
    return "";
}

struct seen {
    long long reports;
    char machine_ids[16][40];
    size_t n_machines;
    double pending_counts[64];
    size_t n_pending;
};

static void note(char (*list)[40], size_t *n, size_t cap, const char *v)
{
    size_t i;

    for (i = 0; i < *n; i++) {
        if (strcmp(list[i], v) == 0)
            return;
    }
    assert_true(*n < cap);
    snprintf(list[(*n)++], 40, "%s", v);
}

/* Every stored report, read through the API: the transcript and the signed
 * receipt say "software"; which machines and pending counts were sent. */
static void read_reports(struct world *w, struct seen *seen)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;

    memset(seen, 0, sizeof(*seen));
    assert_int_equal(sqlite3_open_v2(w->srv.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT id FROM reports", -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char path[128];
        struct da_test_http r;
        cJSON *rep, *payload;
        const cJSON *ev, *v;
        size_t i;

        snprintf(path, sizeof(path), "/v1/reports/%s", (const char *)sqlite3_column_text(st, 0));
        assert_int_equal(da_test_http(&w->srv, "GET", path, w->srv.admin, NULL, NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        rep = cJSON_Parse(r.body);
        da_test_http_clear(&r);
        assert_non_null(rep);
        v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rep, "transcript"),
                                             "ek_trust");
        assert_true(cJSON_IsString(v));
        assert_string_equal(v->valuestring, "software");
        payload = receipt_payload(cJSON_GetObjectItemCaseSensitive(rep, "receipt"));
        v = cJSON_GetObjectItemCaseSensitive(payload, "trust");
        assert_true(cJSON_IsString(v));
        assert_string_equal(v->valuestring, "software");
        /* the shipped policy's critical EK trust check fails without a TPM */
        assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(payload, "compliant")));
        cJSON_Delete(payload);
        assert_string_equal(check_verdict(rep, "attestation.tpm"), "fail");
        assert_string_equal(check_verdict(rep, "attestation.ek-trust"), "fail");
        ev = cJSON_GetObjectItemCaseSensitive(rep, "evidence");
        v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev, "host"),
                                             "machine_id");
        assert_true(cJSON_IsString(v));
        note(seen->machine_ids, &seen->n_machines, 16, v->valuestring);
        v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev, "patches"),
                                             "pending_count");
        assert_true(cJSON_IsNumber(v));
        for (i = 0;
             i < seen->n_pending && !da_double_exact(seen->pending_counts[i], v->valuedouble); i++)
            ;
        if (i == seen->n_pending && seen->n_pending < 64)
            seen->pending_counts[seen->n_pending++] = v->valuedouble;
        cJSON_Delete(rep);
        seen->reports++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* The realistic document: every figure the load generator prints about
 * the reports matches the server's own counts. */
static void test_counts_match_server(void **state)
{
    struct world *w = *state;
    double accepted0, inventory0;
    struct seen seen;
    long long rows0, agents0;
    cJSON *out = NULL;

    restart(w, OPEN_LIMITS "test_software_agents = yes\n");
    accepted0 = metric(w, "devattest_reports_accepted_total");
    inventory0 = metric(w, "devattest_reports_inventory_requested_total");
    rows0 = db_count(w, "SELECT count(*) FROM reports");
    agents0 = db_count(w, "SELECT count(*) FROM agents WHERE ek_trust = 'software'");
    assert_int_equal(loadgen(w, "evidence-debian12.json",
                             "--agents 6 --concurrency 3 --count 60 --duration 120 "
                             "--change-rate 0.25 --seed 7",
                             &out),
                     0);
    assert_non_null(out);
    assert_int_equal(count(out, "cycles", NULL), 60);
    assert_int_equal(count(out, "accepted", NULL), 60);
    assert_int_equal(count(out, "failed", NULL), 0);
    /* the server's counts, read by the test */
    assert_int_equal((long long)(metric(w, "devattest_reports_accepted_total") - accepted0), 60);
    assert_int_equal(db_count(w, "SELECT count(*) FROM reports") - rows0, 60);
    assert_int_equal(count(out, "server", "reports_accepted"), 60);
    assert_int_equal(
        count(out, "inventory_sent", NULL),
        (long long)(metric(w, "devattest_reports_inventory_requested_total") - inventory0));
    assert_true(num(out, "inventory_sent", NULL) >= 1);
    /* six software agents, each with its own document, changing over time
     * (at 25 %, none of 60 reports changing has p < 1e-7) */
    assert_int_equal(
        db_count(w, "SELECT count(*) FROM agents WHERE ek_trust = 'software'") - agents0, 6);
    read_reports(w, &seen);
    assert_int_equal(seen.reports, 60);
    assert_int_equal(seen.n_machines, 6);
    assert_true(num(out, "document_changes", NULL) > 0);
    assert_true(seen.n_pending > 1);
    assert_true(num(out, "document_bytes", NULL) > 20000);
    assert_true(num(out, "server", "bytes_per_report") > 0);
    assert_true(num(out, "latency_ms", "p50") <= num(out, "latency_ms", "p99"));
    assert_true(num(out, "latency_ms", "p99") <= num(out, "latency_ms", "max"));
    cJSON_Delete(out);
}

/* Refusals are counted by their API code, as the server counts them. */
static void test_errors_by_code(void **state)
{
    struct world *w = *state;
    const char *sample = "devattest_reports_refused_total{code=\"rate_limited\"}";
    double refused0, accepted0;
    cJSON *out = NULL;
    long long failed;

    restart(w, "policy_file = " POLICY "\n"
               "rate_per_address = 100000\nburst_per_address = 100000\n"
               "nonce_rate_per_address = 100000\nnonce_burst_per_address = 100000\n"
               "rate_per_agent = 1\nburst_per_agent = 1\ntest_software_agents = yes\n");
    refused0 = metric(w, sample);
    accepted0 = metric(w, "devattest_reports_accepted_total");
    assert_int_equal(loadgen(w, "evidence-small.json",
                             "--agents 2 --concurrency 2 --count 20 --change-rate 0", &out),
                     1);
    assert_non_null(out);
    failed = count(out, "failed", NULL);
    assert_true(failed > 0);
    assert_int_equal(count(out, "errors", "rate_limited"), failed);
    assert_int_equal(failed, (long long)(metric(w, sample) - refused0));
    assert_int_equal(count(out, "accepted", NULL),
                     (long long)(metric(w, "devattest_reports_accepted_total") - accepted0));
    assert_int_equal(count(out, "accepted", NULL) + failed, 20);
    cJSON_Delete(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_software_enrollment),
        cmocka_unit_test(test_counts_match_server),
        cmocka_unit_test(test_errors_by_code),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

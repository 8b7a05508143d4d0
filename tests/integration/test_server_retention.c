/* Retention through the real server: reports verified by it (quotes of a
 * software AK, tests/support/soft_ak.h) lose their evidence once older than
 * evidence_retention, by the retention sweep on its own clock (the
 * staleness sweep's interval stays at its 5 minutes), in batches of one;
 * the report answer keeps verdict and receipt and says when, and an
 * evidence read (the diff) is 410 evidence_pruned. The retention run gives
 * the database file's free pages back to the file system: pages freed
 * while the server was stopped (a table of 8 MiB dropped) are gone from
 * SQLite's freelist and from the file's size once the sweep ran. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <curl/curl.h>

#include "encoding.h"
#include "server_harness.h"
#include "soft_ak.h"
#include "store.h"
#include "picky.h"

#define REPORTS 3

static void seed_agent(struct da_test_server *srv, struct da_soft_ak *ak, char *id)
{
    struct srv_store *st = NULL;
    struct srv_agent a;

    assert_int_equal(srv_store_open(srv->db, 1, 86400, &st), 0);
    assert_int_equal(da_soft_ak_new(ak), 0);
    snprintf(id, SRV_ID_HEX, "feed%028d", 1);
    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", id);
    assert_int_equal(srv_store_vendor_ensure(st, "acme", &a.vendor_id), 0);
    snprintf(a.ek_name, sizeof(a.ek_name), "000b3001");
    snprintf(a.ak_name, sizeof(a.ak_name), "000b3101");
    a.ak_public = ak->pub;
    a.ak_public_len = ak->pub_len;
    a.host_json = (char *)DA_UNCONST("{}");
    a.created_at = (int64_t)time(NULL);
    assert_int_equal(srv_store_agent_create(st, &a), 0);
    srv_store_close(st);
}

static void post_report(struct da_test_server *srv, struct da_soft_ak *ak, const char *agent,
                        unsigned seq, char *report_id)
{
    char path[128], *body = NULL;
    unsigned char nonce[128];
    size_t nlen = 0;
    struct da_test_http r;
    cJSON *doc, *ev;

    snprintf(path, sizeof(path), "/v1/agents/%s/nonce", agent);
    assert_int_equal(da_test_http(srv, "POST", path, NULL, "application/json", "{}", 2, &r), 0);
    assert_int_equal(r.status, 200);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    assert_int_equal(da_base64_decode_to(cJSON_GetObjectItem(doc, "nonce")->valuestring,
                                         strlen(cJSON_GetObjectItem(doc, "nonce")->valuestring),
                                         DA_BASE64_STD, nonce, sizeof(nonce), &nlen),
                     0);
    cJSON_Delete(doc);
    ev = da_soft_ak_evidence(seq, 1);
    assert_int_equal(da_soft_ak_report(ak, nonce, nlen, ev, &body), 0);
    cJSON_Delete(ev);
    snprintf(path, sizeof(path), "/v1/agents/%s/reports", agent);
    assert_int_equal(
        da_test_http(srv, "POST", path, NULL, "application/json", body, strlen(body), &r), 0);
    assert_int_equal(r.status, 201);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    snprintf(report_id, SRV_ID_HEX, "%s", cJSON_GetObjectItem(doc, "report_id")->valuestring);
    cJSON_Delete(doc);
    free(body);
}

static cJSON *get_report(struct da_test_server *srv, const char *id)
{
    char path[128];
    struct da_test_http r;
    cJSON *doc;

    snprintf(path, sizeof(path), "/v1/reports/%s", id);
    assert_int_equal(da_test_http(srv, "GET", path, srv->admin, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    assert_non_null(doc);
    return doc;
}

static int64_t db_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    switch (sqlite3_step(st)) {
    case SQLITE_ROW:
        v = sqlite3_column_int64(st, 0);
        break;
    case SQLITE_DONE:
        v = 0;
        break;
    default:
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static int64_t file_size(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return (int64_t)st.st_size;
}

static void test_retention_through_server(void **state)
{
    struct da_test_server srv;
    struct da_soft_ak ak;
    char agent[SRV_ID_HEX], report[REPORTS][SRV_ID_HEX], policy[PATH_MAX], cmd[PATH_MAX + 300],
        path[256];
    struct da_test_http r;
    cJSON *doc;
    int i, tries, pruned = 0;
    int64_t big;

    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* nothing is older than a day yet: evidence stays */
    assert_int_equal(da_test_server_setup(&srv, "evidence_retention = 1d\nretention_interval = 1s\n"
                                                "retention_batch = 1\n"),
                     0);
    snprintf(policy, sizeof(policy), "%s/tests/fixtures/server/policy-test.json", DA_SOURCE_ROOT);
    snprintf(cmd, sizeof(cmd), "cp %s %s/policy.json", policy, srv.state);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(da_test_server_start(&srv), 0);
    seed_agent(&srv, &ak, agent);
    for (i = 0; i < REPORTS; i++)
        post_report(&srv, &ak, agent, (unsigned)i, report[i]);
    sleep(2); /* two retention sweeps */
    for (i = 0; i < REPORTS; i++) {
        doc = get_report(&srv, report[i]);
        assert_non_null(cJSON_GetObjectItemCaseSensitive(doc, "evidence"));
        assert_non_null(cJSON_GetObjectItemCaseSensitive(doc, "transcript"));
        assert_null(cJSON_GetObjectItemCaseSensitive(doc, "evidence_pruned_at"));
        cJSON_Delete(doc);
    }
    /* one second of retention: the sweep takes them, one per batch */
    assert_int_equal(da_test_server_stop(&srv), 0);
    /* free pages in the file, as deletions leave them */
    assert_int_equal(db_int(srv.db, "PRAGMA auto_vacuum"), 2);
    db_int(srv.db, "CREATE TABLE junk AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1"
                   " FROM n WHERE i < 2048) SELECT randomblob(4000) AS b FROM n");
    db_int(srv.db, "DROP TABLE junk");
    db_int(srv.db, "PRAGMA wal_checkpoint(TRUNCATE)");
    assert_true(db_int(srv.db, "PRAGMA freelist_count") >= 2048);
    big = file_size(srv.db);
    assert_int_equal(da_test_server_reconfigure(&srv, "evidence_retention = 1s\n"
                                                      "retention_interval = 1s\n"
                                                      "retention_batch = 1\n"),
                     0);
    assert_int_equal(da_test_server_start(&srv), 0);
    for (tries = 0; tries < 100 && pruned < REPORTS; tries++) {
        usleep(200 * 1000);
        pruned = 0;
        for (i = 0; i < REPORTS; i++) {
            doc = get_report(&srv, report[i]);
            pruned += cJSON_GetObjectItemCaseSensitive(doc, "evidence_pruned_at") != NULL;
            cJSON_Delete(doc);
        }
    }
    assert_int_equal(pruned, REPORTS);
    /* the retention run gave them back (the file shrinks at a checkpoint) */
    for (tries = 0; tries < 100 && db_int(srv.db, "PRAGMA freelist_count") != 0; tries++)
        usleep(100 * 1000);
    assert_int_equal(db_int(srv.db, "PRAGMA freelist_count"), 0);
    for (tries = 0; tries < 100 && file_size(srv.db) > big - 2048 * 4096; tries++) {
        db_int(srv.db, "PRAGMA wal_checkpoint(PASSIVE)");
        usleep(100 * 1000);
    }
    assert_true(file_size(srv.db) <= big - 2048 * 4096);
    for (i = 0; i < REPORTS; i++) {
        doc = get_report(&srv, report[i]);
        assert_null(cJSON_GetObjectItemCaseSensitive(doc, "evidence"));
        assert_null(cJSON_GetObjectItemCaseSensitive(doc, "transcript"));
        assert_non_null(cJSON_GetObjectItemCaseSensitive(doc, "verdict"));
        assert_non_null(cJSON_GetObjectItemCaseSensitive(doc, "receipt"));
        assert_non_null(cJSON_GetObjectItemCaseSensitive(doc, "evidence_sha256"));
        cJSON_Delete(doc);
    }
    /* reading the evidence: a clear refusal */
    snprintf(path, sizeof(path), "/v1/reports/%s/diff/%s", report[0], report[1]);
    assert_int_equal(da_test_http(&srv, "GET", path, srv.admin, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 410);
    assert_string_equal(da_test_error_code(&r), "evidence_pruned");
    da_test_http_clear(&r);
    da_soft_ak_free(&ak);
    da_test_server_cleanup(&srv);
    curl_global_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_retention_through_server)};

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* /healthz (liveness) and /readyz (readiness) of devattest-server, over TLS
 * on loopback. /healthz answers whenever the process serves; /readyz says
 * whether a report could be verified and kept now: the store takes a write,
 * a policy is loaded, EK roots are loaded, and the database's file system
 * keeps its free-space floor. Each missing part is named in "checks". */
#include "da_test.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sqlite3.h>

#include "server_harness.h"

struct world {
    struct da_test_server srv;
};

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));

    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* no policy file, no ek_roots */
    if (w == NULL || da_test_server_setup(&w->srv, NULL) != 0 || da_test_server_start(&w->srv) != 0)
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

/* GET path; the status, and the parsed body (caller deletes). */
static cJSON *get(struct world *w, const char *path, long *status)
{
    struct da_test_http r;
    cJSON *doc;

    assert_int_equal(da_test_http(&w->srv, "GET", path, NULL, NULL, NULL, 0, &r), 0);
    assert_non_null(strstr(r.content_type, "application/json"));
    *status = r.status;
    doc = cJSON_Parse(r.body);
    if (doc == NULL)
        fail_msg("%s: not JSON: %s", path, r.body);
    da_test_http_clear(&r);
    return doc;
}

static const char *str(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

    if (b != NULL)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    if (!cJSON_IsString(v))
        fail_msg("no string at %s%s%s", a, b != NULL ? "." : "", b != NULL ? b : "");
    return v->valuestring;
}

/* /readyz: status and, for each check, whether it is "ok". */
static void expect_ready(struct world *w, bool store, bool policy, bool ek_roots, bool disk)
{
    bool all = store && policy && ek_roots && disk;
    long status = 0;
    cJSON *doc = get(w, "/readyz", &status);

    if (status != (all ? 200 : 503))
        fail_msg("readyz: %ld, want %d", status, all ? 200 : 503);
    assert_string_equal(str(doc, "status", NULL), all ? "ready" : "not_ready");
    assert_int_equal(strcmp(str(doc, "checks", "store"), "ok") == 0, store);
    assert_int_equal(strcmp(str(doc, "checks", "policy"), "ok") == 0, policy);
    assert_int_equal(strcmp(str(doc, "checks", "ek_roots"), "ok") == 0, ek_roots);
    assert_int_equal(strcmp(str(doc, "checks", "disk"), "ok") == 0, disk);
    if (all)
        assert_null(cJSON_GetObjectItemCaseSensitive(doc, "error"));
    else
        assert_string_equal(str(doc, "error", "code"), "not_ready");
    cJSON_Delete(doc);
}

static void expect_live(struct world *w)
{
    long status = 0;
    cJSON *doc = get(w, "/healthz", &status);

    assert_int_equal(status, 200);
    assert_string_equal(str(doc, "status", NULL), "ok");
    cJSON_Delete(doc);
}

static void restart_with(struct world *w, const char *extra)
{
    assert_int_equal(da_test_server_stop(&w->srv), 0);
    assert_int_equal(da_test_server_reconfigure(&w->srv, extra), 0);
    assert_int_equal(da_test_server_start(&w->srv), 0);
}

static void put_policy(struct world *w)
{
    char path[PATH_MAX];
    static char buf[65536];
    struct da_test_http r;
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "%s/tests/fixtures/server/policy-test.json", DA_SOURCE_ROOT);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_int_equal(
        da_test_http(&w->srv, "PUT", "/v1/policy", w->srv.admin, "application/json", buf, n, &r),
        0);
    assert_int_equal(r.status, 200);
    da_test_http_clear(&r);
}

/* Without policy and EK roots the server is alive but not ready; each part
 * that arrives turns its check to ok, and only all of them make it ready. */
static void test_ready_needs_policy_and_roots(void **state)
{
    struct world *w = *state;
    char extra[512];

    expect_live(w);
    expect_ready(w, true, false, false, true);
    put_policy(w);
    expect_live(w);
    expect_ready(w, true, true, false, true);
    /* any PEM bundle of CA certificates will do as roots */
    snprintf(extra, sizeof(extra), "ek_roots = %s\n", w->srv.ca);
    restart_with(w, extra);
    expect_ready(w, true, true, true, true);
    expect_live(w);
}

/* Free space under the floor: not ready, still alive. */
static void test_ready_needs_disk_space(void **state)
{
    struct world *w = *state;
    char extra[512];

    snprintf(extra, sizeof(extra), "ek_roots = %s\nready_min_free = 1000000000M\n", w->srv.ca);
    restart_with(w, extra);
    expect_live(w);
    expect_ready(w, true, true, true, false);
    snprintf(extra, sizeof(extra), "ek_roots = %s\nready_min_free = 0M\n", w->srv.ca);
    restart_with(w, extra);
    expect_ready(w, true, true, true, true);
}

/* Another process holds the database's write lock past the server's busy
 * timeout: the store takes no write, so the server is not ready; once the
 * lock is gone it is ready again. (A probe's result is reused for a second:
 * the test waits that long before each change is expected to show.) */
static void test_ready_needs_writable_store(void **state)
{
    struct world *w = *state;
    struct timespec reuse = {1, 100 * 1000 * 1000};
    sqlite3 *db = NULL;
    time_t t0;

    assert_int_equal(sqlite3_open(w->srv.db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    nanosleep(&reuse, NULL);
    t0 = time(NULL);
    expect_live(w);
    expect_ready(w, false, true, true, true);
    assert_true(time(NULL) - t0 < 30);
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    nanosleep(&reuse, NULL);
    expect_ready(w, true, true, true, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_needs_policy_and_roots),
        cmocka_unit_test(test_ready_needs_disk_space),
        cmocka_unit_test(test_ready_needs_writable_store),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

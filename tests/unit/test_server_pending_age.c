/* The server's own age of pending upgrades (server/pending_age.c) on a real
 * SQLite store: first seen in the first verified report that listed a
 * (package, architecture, candidate), kept across reports, across reports
 * that leave it out and across a restart of the store, never reset by what
 * the agent's own record says; and the shipped policy's grace period judged
 * on the server's age through srv_verdict_evaluate. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "file.h"
#include "caps.h"
#include "pending_age.h"
#include "pg_test.h"
#include "policy_state.h"
#include "store.h"
#include "tmptree.h"
#include "verdict.h"
#include "picky.h"

#include <sqlite3.h>

#define SHIPPED DA_SOURCE_ROOT "/common/policies/iso27001-2022-devenv.json"
#define CHECK   "patches.security-updates"
#define T0      1767225600 /* 2026-01-01T00:00:00Z */
#define DAY     86400
#define GRACE   (7 * DAY) /* security_grace_s of the shipped policy */

struct world {
    char dir[512];
    char db[1024]; /* SQLite file or PostgreSQL URI */
    struct srv_store *s;
    struct srv_policy *policy;
    int nonce;
};

static void make_agent(struct srv_store *s, const char *id, const char *ek)
{
    struct srv_agent a;
    unsigned char ak[4] = {1, 2, 3, 4};

    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", id);
    assert_int_equal(srv_store_vendor_ensure(s, "acme", &a.vendor_id), 0);
    snprintf(a.ek_name, sizeof(a.ek_name), "%s", ek);
    snprintf(a.ak_name, sizeof(a.ak_name), "ak-%s", ek);
    a.ak_public = ak;
    a.ak_public_len = sizeof(ak);
    a.host_json = (char *)DA_UNCONST("{}");
    a.created_at = T0 - DAY;
    assert_int_equal(srv_store_agent_create(s, &a), 0);
}

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    struct da_buf b;
    char msg[256];

    if (w == NULL)
        return -1;
    da_tmptree_make("da-pending-age", w->dir, sizeof(w->dir));
    if (da_test_store_target(w->dir, "devattest.db", w->db, sizeof(w->db)) != 0 ||
        srv_store_open(w->db, 16, 3600, &w->s) != 0)
        return -1;
    make_agent(w->s, "agent-a", "ek-a");
    make_agent(w->s, "agent-b", "ek-b");
    if (da_file_read(SHIPPED, DA_MAX_POLICY, &b) != 0 ||
        srv_policy_new(da_buf_str(&b), da_buf_len(&b), &w->policy, msg, sizeof(msg)) != 0)
        return -1;
    da_buf_free(&b);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;

    srv_store_close(w->s);
    srv_policy_put(w->policy);
    da_test_store_target_drop(w->db);
    da_tmptree_remove(w->dir);
    free(w);
    return 0;
}

/* Evidence with one pending upgrade per "name=candidate:security:age" item
 * (age: the agent's own hint). */
static cJSON *evidence(const char *const *items, size_t n)
{
    cJSON *doc = cJSON_CreateObject(), *patches = cJSON_AddObjectToObject(doc, "patches");
    cJSON *arr = cJSON_AddArrayToObject(patches, "pending");
    size_t i;

    for (i = 0; i < n; i++) {
        char name[64], cand[64];
        int sec = 0, age = 0;
        cJSON *o = cJSON_CreateObject();

        assert_int_equal(sscanf(items[i], "%63[^=]=%63[^:]:%d:%d", name, cand, &sec, &age), 4);
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "arch", "amd64");
        cJSON_AddStringToObject(o, "installed", "0.1-1");
        cJSON_AddStringToObject(o, "candidate", cand);
        cJSON_AddBoolToObject(o, "security", sec);
        cJSON_AddNumberToObject(o, "age_s", age);
        cJSON_AddItemToArray(arr, o);
    }
    return doc;
}

/* One report as api_report.c handles it: the server's ages, the verdict of
 * the shipped policy on them, the report stored with the new first-seen
 * times. Returns the grace-period check's verdict; ages[i] gets the
 * server's age of item i. */
static const char *report(struct world *w, const char *agent, int64_t now, const cJSON *doc,
                          int64_t *ages, size_t n)
{
    static char verdict_of_check[32];
    struct srv_pending_set set;
    struct srv_report r;
    cJSON *facts = NULL, *verdict = NULL, *c, *it;
    const cJSON *controls;
    bool compliant;
    size_t i = 0;

    assert_int_equal(srv_pending_load(w->s, agent, doc, now, &set), 0);
    assert_int_equal(srv_pending_facts(&set, now, &facts), 0);
    assert_int_equal(srv_verdict_evaluate(w->policy, doc, facts, &verdict, &controls, &compliant),
                     0);
    cJSON_ArrayForEach(it, facts)
    {
        if (i < n)
            ages[i] = (int64_t)cJSON_GetObjectItem(it, "age_s")->valuedouble;
        i++;
    }
    verdict_of_check[0] = '\0';
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(verdict, "checks"))
    {
        if (strcmp(cJSON_GetObjectItem(c, "id")->valuestring, CHECK) == 0)
            snprintf(verdict_of_check, sizeof(verdict_of_check), "%s",
                     cJSON_GetObjectItem(c, "verdict")->valuestring);
    }
    memset(&r, 0, sizeof(r));
    snprintf(r.id, sizeof(r.id), "r%d", ++w->nonce);
    snprintf(r.agent_id, sizeof(r.agent_id), "%s", agent);
    memcpy(r.nonce_hash, &w->nonce, sizeof(w->nonce));
    r.nonce_expires_at = now + 300;
    snprintf(r.evidence_sha256, sizeof(r.evidence_sha256), "%064d", w->nonce);
    r.evidence_json = (char *)DA_UNCONST("{}");
    r.verdict_json = (char *)DA_UNCONST("{}");
    r.transcript_json = (char *)DA_UNCONST("{}");
    r.receipt_json = (char *)DA_UNCONST("{}");
    r.received_at = now;
    r.pending = set.fresh;
    r.n_pending = set.n_fresh;
    r.pending_gone = set.gone;
    r.n_pending_gone = set.n_gone;
    r.pending_back = set.back;
    r.n_pending_back = set.n_back;
    assert_int_equal(srv_store_report_put(w->s, &r), 0);
    srv_pending_set_free(&set);
    cJSON_Delete(facts);
    cJSON_Delete(verdict);
    return verdict_of_check;
}

static void test_age_counts_from_first_verified_report(void **state)
{
    struct world *w = *state;
    static const char *const day0[] = {"openssl=3.0.13-1:1:0", "tzdata=2025a-1:0:0"};
    /* the vendor's root deleted the agent's record: its hint says 0 */
    static const char *const day8[] = {"openssl=3.0.13-1:1:0", "tzdata=2025a-1:0:0",
                                       "curl=7.88.1-10:1:0"};
    static const char *const day9[] = {"tzdata=2025a-1:0:0"};
    static const char *const day10[] = {"openssl=3.0.13-1:1:0", "openssl-new=3.0.14-1:1:0"};
    int64_t ages[4];
    cJSON *doc;

    doc = evidence(day0, 2);
    assert_string_equal(report(w, "agent-a", T0, doc, ages, 2), "pass");
    assert_int_equal(ages[0], 0);
    cJSON_Delete(doc);

    doc = evidence(day8, 3);
    assert_string_equal(report(w, "agent-a", T0 + 8 * DAY, doc, ages, 3), "fail");
    assert_int_equal(ages[0], 8 * DAY); /* the server's age, not the agent's 0 */
    assert_int_equal(ages[1], 8 * DAY);
    assert_int_equal(ages[2], 0); /* curl: new today */
    cJSON_Delete(doc);

    /* a report that leaves openssl out does not restart its age */
    doc = evidence(day9, 1);
    assert_string_equal(report(w, "agent-a", T0 + 9 * DAY, doc, ages, 1), "pass");
    cJSON_Delete(doc);
    doc = evidence(day10, 2);
    assert_string_equal(report(w, "agent-a", T0 + 10 * DAY, doc, ages, 2), "fail");
    assert_int_equal(ages[0], 10 * DAY);
    cJSON_Delete(doc);

    /* another agent has its own history */
    doc = evidence(day0, 2);
    assert_string_equal(report(w, "agent-b", T0 + 10 * DAY, doc, ages, 2), "pass");
    assert_int_equal(ages[0], 0);
    cJSON_Delete(doc);
}

static void test_new_candidate_is_new_and_history_survives_restart(void **state)
{
    struct world *w = *state;
    static const char *const v1[] = {"bash=5.2.15-2+b7:1:0"};
    static const char *const v2[] = {"bash=5.2.15-2+b8:1:600000"};
    int64_t ages[1];
    cJSON *doc;

    doc = evidence(v1, 1);
    assert_string_equal(report(w, "agent-a", T0, doc, ages, 1), "pass");
    cJSON_Delete(doc);
    /* restart: close and reopen the database file */
    srv_store_close(w->s);
    assert_int_equal(srv_store_open(w->db, 16, 3600, &w->s), 0);
    doc = evidence(v1, 1);
    assert_string_equal(report(w, "agent-a", T0 + GRACE + 1, doc, ages, 1), "fail");
    assert_int_equal(ages[0], GRACE + 1);
    cJSON_Delete(doc);
    /* a newer candidate of the same package starts its own age, whatever
     * the agent's hint claims */
    doc = evidence(v2, 1);
    assert_string_equal(report(w, "agent-a", T0 + GRACE + 2, doc, ages, 1), "pass");
    assert_int_equal(ages[0], 0);
    cJSON_Delete(doc);
}

/* Many entries in any order: names that sort differently by byte and by
 * letter, the same entry listed twice, rows of another agent for the same
 * names, and stored rows the report no longer lists; each entry gets the
 * time of the first report that listed it for this agent. */
static void test_first_seen_of_many_entries(void **state)
{
    struct world *w = *state;
    static const char *const first[] = {
        "zlib=1:0:0",        "Zlib=1:0:0", "lib=1:0:0", "lib-x=1:0:0", "lib+x=1:0:0",
        "lib\xc3\xa4=1:0:0", "a=2:0:0",    "a=10:0:0",  "b=1:0:0",
    };
    static const char *const other[] = {"a=3:0:0", "m=1:0:0", "lib=1:0:0"};
    static const char *const second[] = {
        "m=1:0:0",   "lib\xc3\xa4=1:0:0", "lib=1:0:0",   "a=10:0:0",   "a=3:0:0",
        "lib=1:0:0", "Zlib=1:0:0",        "lib+x=1:0:0", "zlib=1:0:0",
    };
    static const int64_t second_ages[] = {0, 100, 100, 100, 0, 100, 100, 100, 100};
    static const char *const third[] = {"aa=1:0:0", "zlib=1:0:0", "a=3:0:0", "m=1:0:0",
                                        "lib-x=1:0:0"};
    static const int64_t third_ages[] = {0, 200, 100, 100, 200};
    int64_t ages[9];
    cJSON *doc;
    size_t i;

    doc = evidence(first, 9);
    report(w, "agent-a", T0, doc, ages, 9);
    for (i = 0; i < 9; i++)
        assert_int_equal(ages[i], 0);
    cJSON_Delete(doc);
    doc = evidence(other, 3);
    report(w, "agent-b", T0 + 50, doc, ages, 3);
    cJSON_Delete(doc);
    doc = evidence(second, 9);
    report(w, "agent-a", T0 + 100, doc, ages, 9);
    for (i = 0; i < 9; i++)
        if (ages[i] != second_ages[i])
            fail_msg("second report, %s: age %lld, want %lld", second[i], (long long)ages[i],
                     (long long)second_ages[i]);
    cJSON_Delete(doc);
    doc = evidence(third, 5);
    report(w, "agent-a", T0 + 200, doc, ages, 5);
    for (i = 0; i < 5; i++)
        if (ages[i] != third_ages[i])
            fail_msg("third report, %s: age %lld, want %lld", third[i], (long long)ages[i],
                     (long long)third_ages[i]);
    cJSON_Delete(doc);
}

/* More entries than one statement inserts (16 rows each): 37 entries in
 * the first report, one of them listed twice in two statements and one
 * twice in the same statement, then 45 (8 new), then 20 of them; every
 * entry keeps the time of the first report that listed it. */
static void test_first_seen_across_statements(void **state)
{
    struct world *w = *state;
    static char text[46][32];
    const char *items[46];
    int64_t ages[46];
    cJSON *doc;
    size_t i;

    for (i = 0; i < 46; i++) {
        snprintf(text[i], sizeof(text[i]), "pkg%02zu=1.%zu:0:0", i, i);
        items[i] = text[i];
    }
    items[37] = text[3]; /* the first report: 0..36, then 3 and 36 again */
    items[38] = text[36];
    doc = evidence(items, 39);
    report(w, "agent-a", T0, doc, ages, 39);
    for (i = 0; i < 39; i++)
        assert_int_equal(ages[i], 0);
    cJSON_Delete(doc);
    items[37] = text[37];
    items[38] = text[38];
    doc = evidence(items, 45);
    report(w, "agent-a", T0 + 100, doc, ages, 45);
    for (i = 0; i < 45; i++)
        if (ages[i] != (i < 37 ? 100 : 0))
            fail_msg("second report, %s: age %lld", items[i], (long long)ages[i]);
    cJSON_Delete(doc);
    doc = evidence(items + 25, 20);
    report(w, "agent-a", T0 + 300, doc, ages, 20);
    for (i = 0; i < 20; i++)
        if (ages[i] != (25 + i < 37 ? 300 : 200))
            fail_msg("third report, %s: age %lld", items[25 + i], (long long)ages[i]);
    cJSON_Delete(doc);
    /* the other agent has none of these */
    doc = evidence(items, 2);
    report(w, "agent-b", T0 + 300, doc, ages, 2);
    assert_int_equal(ages[0], 0);
    assert_int_equal(ages[1], 0);
    cJSON_Delete(doc);
}

/* The rows of pending_seen, "agent:name:candidate:first_seen:gone_at;" in
 * order, read from the database itself. */
static void rows(struct world *w, char *out, size_t size)
{
    static const char sql[] = "SELECT agent_id || ':' || name || ':' || candidate || ':' ||"
                              " first_seen || ':' || gone_at || ';' FROM pending_seen"
                              " ORDER BY agent_id, name, candidate";
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    size_t o = 0;

    out[0] = '\0';
    if (da_test_store_is_pg()) {
        assert_int_equal(da_test_pg_exec(w->db, sql, out, size), 0);
        for (char *p = out; *p != '\0'; p++) /* drop the column separators */
            if (*p == '|')
                memmove(p, p + 1, strlen(p));
        return;
    }
    assert_int_equal(sqlite3_open_v2(w->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW && o < size)
        o += (size_t)snprintf(out + o, size - o, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_true(o < size);
}

#define ROW(agent, name, cand, first, gone) agent ":" name ":" cand ":" #first ":" #gone ";"

/* Rows of upgrades no report lists any more go, and the grace-period check
 * judges every report as it would with every row kept. The scenario (its
 * own ground truth, from the shipped policy's 7-day grace): openssl's
 * security update is pending from day 0, installed on day 2, pending again
 * on day 8 (the machine was restored from an older image; 8 days since the
 * server first saw it: fail) and installed again on day 9; tzdata stays
 * pending throughout. A report whose pending list is unknown marks nothing.
 * The sweep deletes openssl's row only 30 days after the last report that
 * left it out; tzdata's row, listed by every report, stays. */
static void test_rows_no_longer_pending_go(void **state)
{
    struct world *w = *state;
    static const char *const both[] = {"openssl=3.0.13-1:1:0", "tzdata=2025a-1:0:0"};
    static const char *const tz[] = {"tzdata=2025a-1:0:0"};
    cJSON *unknown = cJSON_Parse("{\"patches\":{\"pending\":{\"unknown\":\"io_error\","
                                 "\"detail\":\"x\"}}}");
    int64_t ages[2], t9 = T0 + 9 * DAY;
    char got[1024];
    int changed = 0;
    cJSON *d2 = evidence(both, 2), *d1 = evidence(tz, 1);

    assert_string_equal(report(w, "agent-a", T0, d2, ages, 2), "pass");
    assert_string_equal(report(w, "agent-b", T0, d2, ages, 2), "pass");
    assert_string_equal(report(w, "agent-a", T0 + 2 * DAY, d1, ages, 1), "pass");
    rows(w, got, sizeof(got));
    assert_string_equal(got, ROW("agent-a", "openssl", "3.0.13-1", 1767225600, 1767398400)
                                 ROW("agent-a", "tzdata", "2025a-1", 1767225600, 0)
                                     ROW("agent-b", "openssl", "3.0.13-1", 1767225600, 0)
                                         ROW("agent-b", "tzdata", "2025a-1", 1767225600, 0));
    /* listed again: the age counts from day 0, and the row is pending again */
    assert_string_equal(report(w, "agent-a", T0 + 8 * DAY, d2, ages, 2), "fail");
    assert_int_equal(ages[0], 8 * DAY);
    rows(w, got, sizeof(got));
    assert_non_null(strstr(got, ROW("agent-a", "openssl", "3.0.13-1", 1767225600, 0)));
    assert_string_equal(report(w, "agent-a", t9, d1, ages, 1), "pass");
    /* an unknown list says nothing about what is pending: nothing marked */
    assert_string_equal(report(w, "agent-b", t9, unknown, ages, 0), "unknown");
    rows(w, got, sizeof(got));
    assert_string_equal(got, ROW("agent-a", "openssl", "3.0.13-1", 1767225600, 1768003200)
                                 ROW("agent-a", "tzdata", "2025a-1", 1767225600, 0)
                                     ROW("agent-b", "openssl", "3.0.13-1", 1767225600, 0)
                                         ROW("agent-b", "tzdata", "2025a-1", 1767225600, 0));
    /* a sweep just before the end of the keep period leaves every row */
    assert_int_equal(srv_store_sweep_stale(w->s, t9 + SRV_PENDING_GONE_KEEP_S - 1, &changed), 0);
    rows(w, got, sizeof(got));
    assert_non_null(strstr(got, ROW("agent-a", "openssl", "3.0.13-1", 1767225600, 1768003200)));
    /* nor at its end; the row goes once it has passed */
    assert_int_equal(srv_store_sweep_stale(w->s, t9 + SRV_PENDING_GONE_KEEP_S, &changed), 0);
    rows(w, got, sizeof(got));
    assert_non_null(strstr(got, ROW("agent-a", "openssl", "3.0.13-1", 1767225600, 1768003200)));
    assert_int_equal(srv_store_sweep_stale(w->s, t9 + SRV_PENDING_GONE_KEEP_S + 1, &changed), 0);
    rows(w, got, sizeof(got));
    assert_string_equal(got, ROW("agent-a", "tzdata", "2025a-1", 1767225600, 0)
                                 ROW("agent-b", "openssl", "3.0.13-1", 1767225600, 0)
                                     ROW("agent-b", "tzdata", "2025a-1", 1767225600, 0));
    /* tzdata, listed throughout, keeps its day-0 time after the sweep */
    assert_string_equal(report(w, "agent-a", t9 + SRV_PENDING_GONE_KEEP_S + 2, d1, ages, 1),
                        "pass");
    assert_int_equal(ages[0], 9 * DAY + SRV_PENDING_GONE_KEEP_S + 2);
    cJSON_Delete(d2);
    cJSON_Delete(d1);
    cJSON_Delete(unknown);
}

/* Pending upgrades the evidence could not establish stay unknown. */
static void test_unknown_pending(void **state)
{
    struct world *w = *state;
    struct srv_pending_set set;
    cJSON *doc = cJSON_Parse("{\"patches\":{\"pending\":{\"unknown\":\"io_error\","
                             "\"detail\":\"/var/lib/apt/lists: Permission denied\"}}}");
    cJSON *bad = cJSON_Parse("{\"patches\":{\"pending\":[{\"name\":\"x\",\"arch\":\"amd64\"}]}}");
    cJSON *facts = NULL, *verdict = NULL, *c;
    const cJSON *controls;
    bool compliant;
    const char *got = NULL;

    assert_int_equal(srv_pending_load(w->s, "agent-a", doc, T0, &set), 0);
    assert_int_equal(srv_pending_facts(&set, T0, &facts), 0);
    assert_string_equal(cJSON_GetObjectItem(facts, "unknown")->valuestring, "io_error");
    assert_int_equal(srv_verdict_evaluate(w->policy, doc, facts, &verdict, &controls, &compliant),
                     0);
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(verdict, "checks"))
    {
        if (strcmp(cJSON_GetObjectItem(c, "id")->valuestring, CHECK) == 0)
            got = cJSON_GetObjectItem(c, "verdict")->valuestring;
    }
    assert_non_null(got);
    assert_string_equal(got, "unknown");
    assert_false(compliant);
    srv_pending_set_free(&set);
    cJSON_Delete(facts);
    cJSON_Delete(verdict);
    /* an entry without candidate or security flag is not guessed at */
    assert_int_equal(srv_pending_load(w->s, "agent-a", bad, T0, &set), 0);
    assert_string_equal(set.unknown, "parse_error");
    assert_int_equal(set.n, 0);
    srv_pending_set_free(&set);
    cJSON_Delete(doc);
    cJSON_Delete(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_age_counts_from_first_verified_report, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_new_candidate_is_new_and_history_survives_restart,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_seen_across_statements, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_no_longer_pending_go, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_seen_of_many_entries, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

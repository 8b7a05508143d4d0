/* Enrollments held for approval in the store (an SQLite file, or a
 * PostgreSQL database with DA_TEST_STORE=postgresql): the token is spent
 * and the enrollment stored together or not at all; a decision moves a
 * pending enrollment once; every refusal has its code and changes nothing. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "err.h"
#include "pg_test.h"
#include "store.h"
#include "tmp_tree.h"

struct fixture {
    char dir[64], path[1024];
    struct srv_store *s;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    int64_t vendor = 0;

    if (f == NULL || da_test_tmpdir("da-enrollments", f->dir, sizeof(f->dir)) != 0)
        return -1;
    if (da_test_store_target(f->dir, "t.db", f->path, sizeof(f->path)) != 0 ||
        srv_store_open(f->path, 16, 3600, &f->s) != 0)
        return -1;
    /* Enrollment tokens name a vendor that exists. */
    if (srv_store_vendor_ensure(f->s, "acme", &vendor) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    srv_store_close(f->s);
    if (da_test_store_target_drop(f->path) != 0 || da_test_rmtree(f->dir) != 0)
        return -1;
    free(f);
    return 0;
}

static void fill(struct srv_enrollment *e, const char *id, int64_t now)
{
    static unsigned char ek[3] = {1, 2, 3}, ak[3] = {4, 5, 6};
    static char host[] = "{\"hostname\":\"b1\"}";

    memset(e, 0, sizeof(*e));
    snprintf(e->id, sizeof(e->id), "%s", id);
    e->ek_public = ek;
    e->ek_public_len = sizeof(ek);
    e->ak_public = ak;
    e->ak_public_len = sizeof(ak);
    snprintf(e->ek_name, sizeof(e->ek_name), "000b%s", "ee");
    snprintf(e->ak_name, sizeof(e->ak_name), "000b%s", "aa");
    memset(e->ek_sha256, 'a', 64);
    e->host_json = host;
    e->created_at = now;
}

static int count(const struct srv_enrollment *e, void *ctx)
{
    (void)e;
    (*(int *)ctx)++;
    return 0;
}

static int listed(struct srv_store *s, const char *state)
{
    int n = 0;

    assert_int_equal(srv_store_enrollments_list(s, state, count, &n), 0);
    return n;
}

static void test_hold_spends_token_atomically(void **state)
{
    struct fixture *f = *state;
    unsigned char good[SRV_HASH_LEN], bad[SRV_HASH_LEN];
    struct srv_enrollment e, *got = NULL;
    int64_t now = 1000;

    memset(good, 1, sizeof(good));
    memset(bad, 2, sizeof(bad));
    assert_int_equal(srv_store_enroll_token_put(f->s, good, "acme", now + 60), 0);
    fill(&e, "0123456789abcdef0123456789abcdef", now);
    /* Unknown token: nothing stored. */
    assert_int_equal(srv_store_enrollment_hold(f->s, bad, &e), DA_ERR_TOKEN_INVALID);
    assert_int_equal(listed(f->s, NULL), 0);
    assert_int_equal(srv_store_enrollment_hold(f->s, good, &e), 0);
    assert_int_equal(listed(f->s, "pending"), 1);
    /* The spent token again: refused, nothing stored. */
    assert_int_equal(srv_store_enrollment_hold(f->s, good, &e), DA_ERR_TOKEN_USED);
    assert_int_equal(listed(f->s, NULL), 1);
    assert_int_equal(srv_store_enrollment_get(f->s, e.id, &got), 0);
    assert_string_equal(got->state, "pending");
    assert_string_equal(got->vendor, "acme");
    assert_int_equal(got->decided_at, 0);
    assert_memory_equal(got->ek_public, e.ek_public, 3);
    assert_string_equal(got->host_json, "{\"hostname\":\"b1\"}");
    srv_enrollment_free(got);
}

/* A duplicate id rolls the token back: it can still be used. */
static void test_failed_insert_keeps_token(void **state)
{
    struct fixture *f = *state;
    unsigned char t1[SRV_HASH_LEN], t2[SRV_HASH_LEN];
    struct srv_enrollment e;
    int64_t vendor = 0;

    memset(t1, 3, sizeof(t1));
    memset(t2, 4, sizeof(t2));
    assert_int_equal(srv_store_enroll_token_put(f->s, t1, "acme", 5000), 0);
    assert_int_equal(srv_store_enroll_token_put(f->s, t2, "acme", 5000), 0);
    fill(&e, "11111111111111111111111111111111", 1000);
    assert_int_equal(srv_store_enrollment_hold(f->s, t1, &e), 0);
    fill(&e, "11111111111111111111111111111111", 1000);
    assert_int_equal(srv_store_enrollment_hold(f->s, t2, &e), DA_ERR_STORE_CONFLICT);
    assert_int_equal(listed(f->s, NULL), 1);
    assert_int_equal(srv_store_enroll_token_consume(f->s, t2, 1000, &vendor), 0);
}

static void test_decide_once(void **state)
{
    struct fixture *f = *state;
    unsigned char t[SRV_HASH_LEN];
    struct srv_enrollment e, *got = NULL;

    memset(t, 5, sizeof(t));
    assert_int_equal(srv_store_enroll_token_put(f->s, t, "acme", 5000), 0);
    fill(&e, "22222222222222222222222222222222", 1000);
    assert_int_equal(srv_store_enrollment_hold(f->s, t, &e), 0);
    assert_int_equal(srv_store_enrollment_decide(f->s, e.id, "pending", "x", 1100),
                     DA_ERR_INVALID_ARG);
    assert_int_equal(srv_store_enrollment_decide(f->s, "33333333333333333333333333333333",
                                                 "approved", "x", 1100),
                     DA_ERR_ENROLL_UNKNOWN);
    assert_int_equal(srv_store_enrollment_decide(f->s, e.id, "approved", "admin:a", 1100), 0);
    assert_int_equal(srv_store_enrollment_decide(f->s, e.id, "rejected", "admin:b", 1200),
                     DA_ERR_ENROLL_STATE);
    assert_int_equal(srv_store_enrollment_decide(f->s, e.id, "approved", "admin:b", 1200),
                     DA_ERR_ENROLL_STATE);
    assert_int_equal(srv_store_enrollment_get(f->s, e.id, &got), 0);
    assert_string_equal(got->state, "approved");
    assert_string_equal(got->decided_by, "admin:a");
    assert_int_equal(got->decided_at, 1100);
    srv_enrollment_free(got);
    assert_int_equal(listed(f->s, "approved"), 1);
    assert_int_equal(listed(f->s, "pending"), 0);
    assert_int_equal(srv_store_enrollment_get(f->s, "nope", &got), DA_ERR_ENROLL_UNKNOWN);
    assert_null(got);
}

/* A database of schema 6 with an agent: after the migration the agent's
 * EK counts as trusted by the manufacturer chain (the only way before). */
static void migration_from_6_sqlite(void **state);

/* (SQLite's upgrade path; a PostgreSQL database begins at schema 8.) */
static void test_migration_from_6(void **state)
{
    if (da_test_store_is_pg())
        skip();
    migration_from_6_sqlite(state);
}

static void migration_from_6_sqlite(void **state)
{
    struct fixture *f = *state;
    struct srv_agent a, *got = NULL;
    unsigned char ak[4] = {1, 2, 3, 4};
    sqlite3 *db = NULL;
    int version = 0;

    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "a1");
    assert_int_equal(srv_store_vendor_ensure(f->s, "acme", &a.vendor_id), 0);
    snprintf(a.ek_name, sizeof(a.ek_name), "ek1");
    snprintf(a.ak_name, sizeof(a.ak_name), "ak1");
    a.ak_public = ak;
    a.ak_public_len = sizeof(ak);
    a.created_at = 900;
    assert_int_equal(srv_store_agent_create(f->s, &a), 0);
    srv_store_close(f->s);
    f->s = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "BEGIN; DROP TABLE enrollments;"
                                  " ALTER TABLE agents DROP COLUMN ek_trust;"
                                  " ALTER TABLE challenges DROP COLUMN ek_trust;"
                                  " ALTER TABLE agents DROP COLUMN ek_issuer;"
                                  " ALTER TABLE agents DROP COLUMN ek_serial;"
                                  " ALTER TABLE agents DROP COLUMN ek_root;"
                                  " ALTER TABLE challenges DROP COLUMN ek_issuer;"
                                  " ALTER TABLE challenges DROP COLUMN ek_serial;"
                                  " ALTER TABLE challenges DROP COLUMN ek_root;"
                                  " DROP TABLE webhook_attempts; DROP TABLE webhook_deliveries;"
                                  " DROP TABLE webhooks; DROP TABLE report_bodies;"
                                  " DROP TABLE blobs;"
                                  " ALTER TABLE reports DROP COLUMN format;"
                                  " ALTER TABLE reports DROP COLUMN packed;"
                                  " ALTER TABLE reports DROP COLUMN verdict_sha256;"
                                  " ALTER TABLE reports DROP COLUMN pack_base;"
                                  " ALTER TABLE reports DROP COLUMN evidence_digest;"
                                  " ALTER TABLE reports DROP COLUMN pruned_at;"
                                  " ALTER TABLE agents DROP COLUMN pack_base;"
                                  " ALTER TABLE agents DROP COLUMN pruned_through;"
                                  " DROP INDEX pending_seen_gone;"
                                  " ALTER TABLE pending_seen DROP COLUMN gone_at;"
                                  " DELETE FROM schema_version WHERE version >= 7; COMMIT;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(srv_store_open(f->path, 8, 3600, &f->s), 0);
    assert_int_equal(srv_store_schema_version(f->s, &version), 0);
    assert_int_equal(version, 13);
    assert_int_equal(srv_store_agent_get(f->s, "a1", 1000, &got), 0);
    assert_string_equal(got->ek_trust, "manufacturer_chain");
    srv_agent_free(got);
    assert_int_equal(listed(f->s, NULL), 0);
}

static void fill_agent(struct srv_agent *a, struct fixture *f)
{
    static unsigned char ak[4] = {1, 2, 3, 4};

    memset(a, 0, sizeof(*a));
    snprintf(a->id, sizeof(a->id), "a1");
    assert_int_equal(srv_store_vendor_ensure(f->s, "acme", &a->vendor_id), 0);
    snprintf(a->ek_name, sizeof(a->ek_name), "ek1");
    snprintf(a->ak_name, sizeof(a->ak_name), "ak1");
    a->ak_public = ak;
    a->ak_public_len = sizeof(ak);
    a->created_at = 900;
}

/* The EK certificate's issuer, serial and root are kept with the agent and
 * the challenge, replaced by a re-enrollment, and "" (NULL) without one. */
static void test_ek_cert_kept(void **state)
{
    struct fixture *f = *state;
    struct srv_agent a, *got = NULL;
    struct srv_challenge c, *taken = NULL;
    struct srv_ek_cert cert;
    unsigned char pub[3] = {7, 8, 9};

    fill_agent(&a, f);
    snprintf(a.ek_cert.issuer, sizeof(a.ek_cert.issuer), "CN=Maker EK CA,O=Maker\\, Inc.");
    snprintf(a.ek_cert.serial, sizeof(a.ek_cert.serial), "01AB");
    snprintf(a.ek_cert.root, sizeof(a.ek_cert.root), "CN=Maker Root");
    assert_int_equal(srv_store_agent_create(f->s, &a), 0);
    assert_int_equal(srv_store_agent_get(f->s, "a1", 1000, &got), 0);
    assert_string_equal(got->ek_cert.issuer, "CN=Maker EK CA,O=Maker\\, Inc.");
    assert_string_equal(got->ek_cert.serial, "01AB");
    assert_string_equal(got->ek_cert.root, "CN=Maker Root");
    srv_agent_free(got);

    /* enrolled again without a certificate (administrator's approval) */
    assert_int_equal(
        srv_store_agent_reenroll(f->s, "a1", pub, sizeof(pub), "{}", SRV_EK_TRUST_APPROVAL, NULL),
        0);
    assert_int_equal(srv_store_agent_get(f->s, "a1", 1000, &got), 0);
    assert_string_equal(got->ek_trust, SRV_EK_TRUST_APPROVAL);
    assert_string_equal(got->ek_cert.issuer, "");
    assert_string_equal(got->ek_cert.serial, "");
    assert_string_equal(got->ek_cert.root, "");
    srv_agent_free(got);
    memset(&cert, 0, sizeof(cert));
    snprintf(cert.issuer, sizeof(cert.issuer), "CN=Other CA");
    snprintf(cert.serial, sizeof(cert.serial), "02");
    snprintf(cert.root, sizeof(cert.root), "CN=Other Root");
    assert_int_equal(
        srv_store_agent_reenroll(f->s, "a1", pub, sizeof(pub), "{}", SRV_EK_TRUST_CHAIN, &cert), 0);
    assert_int_equal(srv_store_agent_get(f->s, "a1", 1000, &got), 0);
    assert_string_equal(got->ek_cert.issuer, "CN=Other CA");
    assert_string_equal(got->ek_cert.serial, "02");
    assert_string_equal(got->ek_cert.root, "CN=Other Root");
    srv_agent_free(got);

    memset(&c, 0, sizeof(c));
    snprintf(c.id, sizeof(c.id), "c1");
    c.vendor_id = a.vendor_id;
    c.ek_public = pub;
    c.ek_public_len = sizeof(pub);
    c.ak_public = pub;
    c.ak_public_len = sizeof(pub);
    snprintf(c.ek_name, sizeof(c.ek_name), "ek2");
    snprintf(c.ak_name, sizeof(c.ak_name), "ak2");
    c.expires_at = 2000;
    c.ek_cert = cert;
    assert_int_equal(srv_store_challenge_put(f->s, &c), 0);
    assert_int_equal(srv_store_challenge_take(f->s, "c1", 1000, &taken), 0);
    assert_string_equal(taken->ek_cert.issuer, "CN=Other CA");
    assert_string_equal(taken->ek_cert.serial, "02");
    assert_string_equal(taken->ek_cert.root, "CN=Other Root");
    srv_challenge_free(taken);
}

static int count_rows(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = -1;

    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static int sqlite_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(path, &db) == SQLITE_OK ? sqlite3_exec(db, sql, NULL, NULL, NULL) : -1;

    sqlite3_close(db);
    return rc;
}

/* Schema 9 on a database without it: an agent enrolled before has no EK
 * issuer (NULL, shown as not recorded). */
static void test_migration_to_9(void **state)
{
    struct fixture *f = *state;
    struct srv_agent a, *got = NULL;
    int version = 0;

    if (da_test_store_is_pg()) /* the downgrade is written in SQLite's SQL */
        skip();

    fill_agent(&a, f);
    assert_int_equal(srv_store_agent_create(f->s, &a), 0);
    srv_store_close(f->s);
    f->s = NULL;
    assert_int_equal(sqlite_exec(f->path, "BEGIN; ALTER TABLE agents DROP COLUMN ek_issuer;"
                                          " ALTER TABLE agents DROP COLUMN ek_serial;"
                                          " ALTER TABLE agents DROP COLUMN ek_root;"
                                          " ALTER TABLE challenges DROP COLUMN ek_issuer;"
                                          " ALTER TABLE challenges DROP COLUMN ek_serial;"
                                          " ALTER TABLE challenges DROP COLUMN ek_root;"
                                          " DELETE FROM schema_version WHERE version = 9; COMMIT;"),
                     0);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM schema_version WHERE version = 9"),
                     0);
    assert_int_equal(srv_store_open(f->path, 8, 3600, &f->s), 0);
    assert_int_equal(srv_store_schema_version(f->s, &version), 0);
    assert_int_equal(version, 13);
    assert_int_equal(srv_store_agent_get(f->s, "a1", 1000, &got), 0);
    assert_string_equal(got->ek_cert.issuer, "");
    assert_string_equal(got->ek_cert.serial, "");
    assert_string_equal(got->ek_cert.root, "");
    srv_agent_free(got);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM agents WHERE ek_issuer IS NULL"
                                         " AND ek_serial IS NULL AND ek_root IS NULL"),
                     1);
}

/* A database that took 9 while 8 was not defined yet (1..7 and 9): on
 * open it takes 8, and 9 is not run again (its ALTERs would fail). */
static void test_migration_fills_gap(void **state)
{
    struct fixture *f = *state;
    struct srv_agent a, *got = NULL;
    int version = 0;

    if (da_test_store_is_pg()) /* the downgrade is written in SQLite's SQL */
        skip();

    fill_agent(&a, f);
    snprintf(a.ek_cert.issuer, sizeof(a.ek_cert.issuer), "CN=Kept");
    assert_int_equal(srv_store_agent_create(f->s, &a), 0);
    srv_store_close(f->s);
    f->s = NULL;
    assert_int_equal(sqlite_exec(f->path, "BEGIN; DROP TABLE webhook_attempts;"
                                          " DROP TABLE webhook_deliveries; DROP TABLE webhooks;"
                                          " DROP TABLE report_bodies;"
                                          " DELETE FROM schema_version WHERE version = 8; COMMIT;"),
                     0);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM schema_version WHERE version = 8"),
                     0);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(srv_store_open(f->path, 8, 3600, &f->s), 0);
        assert_int_equal(srv_store_schema_version(f->s, &version), 0);
        assert_int_equal(version, 13);
        assert_int_equal(srv_store_agent_get(f->s, "a1", 1000, &got), 0);
        assert_string_equal(got->ek_cert.issuer, "CN=Kept");
        srv_agent_free(got);
        srv_store_close(f->s);
        f->s = NULL;
        assert_int_equal(
            count_rows(f->path, "SELECT count(*) FROM schema_version WHERE version IN (8, 9)"), 2);
        assert_int_equal(count_rows(f->path, "SELECT count(*) FROM sqlite_schema"
                                             " WHERE name IN ('webhooks', 'webhook_deliveries',"
                                             " 'webhook_attempts', 'report_bodies')"),
                         4);
    }
    assert_int_equal(srv_store_open(f->path, 8, 3600, &f->s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hold_spends_token_atomically, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_insert_keeps_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decide_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ek_cert_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_to_9, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_fills_gap, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The store on a real database: migrations, single use of tokens,
 * challenges and nonces, status on read, writes under concurrency. The
 * same tests run on an SQLite file and, with DA_TEST_STORE=postgresql, on a
 * database of the test PostgreSQL cluster (tests/support/pg_test.h). */
#include "da_test.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "err.h"
#include "ima.h"
#include "pg_test.h"
#include "store.h"
#include "tmp_tree.h"
#include "picky.h"

struct fixture {
    char dir[64];
    char path[1024]; /* SQLite file or PostgreSQL URI */
    struct srv_store *s;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (da_test_tmpdir("da-store", f->dir, sizeof(f->dir)) != 0)
        return -1;
    if (da_test_store_target(f->dir, "t.db", f->path, sizeof(f->path)) != 0)
        return -1;
    if (srv_store_open(f->path, 64, 3600, &f->s) != 0)
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

static void hash_of(unsigned char h[SRV_HASH_LEN], int seed)
{
    memset(h, 0, SRV_HASH_LEN);
    memcpy(h, &seed, sizeof(seed));
}

static void make_agent(struct srv_store *s, const char *id, const char *vendor, const char *ek,
                       int64_t created)
{
    struct srv_agent a;
    unsigned char ak[4] = {1, 2, 3, 4};

    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", id);
    assert_int_equal(srv_store_vendor_ensure(s, vendor, &a.vendor_id), 0);
    snprintf(a.ek_name, sizeof(a.ek_name), "%s", ek);
    snprintf(a.ak_name, sizeof(a.ak_name), "ak-%s", ek);
    a.ak_public = ak;
    a.ak_public_len = sizeof(ak);
    a.host_json = (char *)DA_UNCONST("{\"hostname\":\"b1\"}");
    a.created_at = created;
    assert_int_equal(srv_store_agent_create(s, &a), 0);
}

static void table_text(const char *path, const char *sql, char *out, size_t size);

static void test_migration_and_reopen(void **state)
{
    struct fixture *f = *state;
    int version = 0;
    int64_t id1 = 0, id2 = 0;
    char idx[256];

    assert_int_equal(srv_store_schema_version(f->s, &version), 0);
    assert_int_equal(version, 13);
    assert_int_equal(srv_store_vendor_ensure(f->s, "acme", &id1), 0);
    srv_store_close(f->s);
    assert_int_equal(srv_store_open(f->path, 8, 3600, &f->s), 0);
    assert_int_equal(srv_store_schema_version(f->s, &version), 0);
    assert_int_equal(version, 13);
    assert_int_equal(srv_store_vendor_ensure(f->s, "acme", &id2), 0);
    assert_int_equal(id1, id2);
    /* schema 11: the agent list's and the vendor view's ordering indexes */
    table_text(f->path,
               da_test_store_is_pg()
                   ? "SELECT indexdef FROM pg_indexes WHERE indexname LIKE 'agents%created'"
                     " ORDER BY indexname"
                   : "SELECT sql FROM sqlite_master WHERE name LIKE 'agents%created' ORDER BY name",
               idx, sizeof(idx));
    assert_non_null(strstr(idx, "agents_created ON "));
    assert_non_null(strstr(idx, "(created_at, id)|"));
    assert_non_null(strstr(idx, "agents_vendor_created ON "));
    assert_non_null(strstr(idx, "(vendor_id, created_at, id)|"));
    assert_int_equal(srv_store_integrity_check(f->s), 0);
}

static void test_tokens(void **state)
{
    struct fixture *f = *state;
    unsigned char h[SRV_HASH_LEN];
    struct srv_principal p;
    int64_t vid = 0, acme = 0;

    hash_of(h, 1);
    /* an unknown vendor is refused, and not created */
    assert_int_equal(srv_store_api_token_put(f->s, h, SRV_ROLE_VENDOR, "acme", "l"),
                     DA_ERR_VENDOR_UNKNOWN);
    assert_int_equal(srv_store_api_token_find(f->s, h, &p), DA_ERR_AUTH_DENIED);
    assert_int_equal(srv_store_vendor_find(f->s, "acme", &(struct srv_vendor){0}),
                     DA_ERR_NOT_FOUND);
    hash_of(h, 3);
    assert_int_equal(srv_store_enroll_token_put(f->s, h, "acme", 1000), DA_ERR_VENDOR_UNKNOWN);
    assert_int_equal(srv_store_enroll_token_consume(f->s, h, 999, &vid), DA_ERR_TOKEN_INVALID);
    assert_int_equal(srv_store_vendor_create(f->s, "acme", &acme), 0);
    hash_of(h, 1);
    assert_int_equal(srv_store_api_token_put(f->s, h, SRV_ROLE_VENDOR, "acme", "l"), 0);
    assert_int_equal(srv_store_api_token_find(f->s, h, &p), 0);
    assert_int_equal(p.role, SRV_ROLE_VENDOR);
    assert_true(p.vendor_id > 0);
    acme = p.vendor_id;
    hash_of(h, 2);
    assert_int_equal(srv_store_api_token_find(f->s, h, &p), DA_ERR_AUTH_DENIED);
    assert_int_equal(srv_store_api_token_put(f->s, h, SRV_ROLE_VENDOR, NULL, "l"),
                     DA_ERR_INVALID_ARG);

    hash_of(h, 3);
    assert_int_equal(srv_store_enroll_token_put(f->s, h, "acme", 1000), 0);
    assert_int_equal(srv_store_enroll_token_consume(f->s, h, 1000, &vid), DA_ERR_TOKEN_EXPIRED);
    assert_int_equal(srv_store_enroll_token_consume(f->s, h, 999, &vid), 0);
    assert_int_equal(vid, acme);
    assert_int_equal(srv_store_enroll_token_consume(f->s, h, 999, &vid), DA_ERR_TOKEN_USED);
    hash_of(h, 4);
    assert_int_equal(srv_store_enroll_token_consume(f->s, h, 1, &vid), DA_ERR_TOKEN_INVALID);
}

static void test_challenge_single_use(void **state)
{
    struct fixture *f = *state;
    struct srv_challenge c, *got = NULL;
    unsigned char ek[3] = {9, 9, 9}, ak[2] = {7, 7};

    memset(&c, 0, sizeof(c));
    snprintf(c.id, sizeof(c.id), "00112233445566778899aabbccddeeff");
    assert_int_equal(srv_store_vendor_ensure(f->s, "acme", &c.vendor_id), 0);
    memset(c.secret, 0x5a, sizeof(c.secret));
    c.ek_public = ek;
    c.ek_public_len = sizeof(ek);
    c.ak_public = ak;
    c.ak_public_len = sizeof(ak);
    snprintf(c.ek_name, sizeof(c.ek_name), "000b01");
    snprintf(c.ak_name, sizeof(c.ak_name), "000b02");
    c.expires_at = 500;
    assert_int_equal(srv_store_challenge_put(f->s, &c), 0);
    assert_int_equal(srv_store_challenge_take(f->s, c.id, 100, &got), 0);
    assert_memory_equal(got->secret, c.secret, SRV_HASH_LEN);
    assert_int_equal(got->ak_public_len, 2);
    srv_challenge_free(got);
    assert_int_equal(srv_store_challenge_take(f->s, c.id, 100, &got), DA_ERR_CHALLENGE_INVALID);
    assert_null(got);
    /* expired: refused, and gone afterwards */
    assert_int_equal(srv_store_challenge_put(f->s, &c), 0);
    assert_int_equal(srv_store_challenge_take(f->s, c.id, 500, &got), DA_ERR_CHALLENGE_INVALID);
    assert_int_equal(srv_store_challenge_take(f->s, c.id, 1, &got), DA_ERR_CHALLENGE_INVALID);
}

static void fill_report(struct srv_report *r, const char *id, const char *agent, int nonce_seed)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->id, sizeof(r->id), "%s", id);
    snprintf(r->agent_id, sizeof(r->agent_id), "%s", agent);
    hash_of(r->nonce_hash, nonce_seed);
    r->nonce_expires_at = 2000;
    snprintf(r->evidence_sha256, sizeof(r->evidence_sha256), "%064d", nonce_seed);
    r->evidence_json = (char *)DA_UNCONST("{\"schema\":\"x\"}");
    r->verdict_json = (char *)DA_UNCONST("{\"compliant\":true}");
    r->transcript_json = (char *)DA_UNCONST("{}");
    r->receipt_json = (char *)DA_UNCONST("{\"payload\":\"\"}");
    r->compliant = true;
    r->received_at = 1000;
    r->reset_count = 3;
}

static int count_agent(const struct srv_agent *a, void *ctx)
{
    (*(int *)ctx)++;
    return 0;
}

static void test_agents_reports_status(void **state)
{
    struct fixture *f = *state;
    struct srv_agent *a = NULL;
    struct srv_report r, *got = NULL;
    int n = 0, changed = 0;

    make_agent(f->s, "a1", "acme", "ek1", 900);
    make_agent(f->s, "a2", "globex", "ek2", 900);
    /* EK is unique */
    {
        struct srv_agent dup;

        memset(&dup, 0, sizeof(dup));
        snprintf(dup.id, sizeof(dup.id), "a3");
        dup.vendor_id = 1;
        snprintf(dup.ek_name, sizeof(dup.ek_name), "ek1");
        dup.created_at = 1;
        assert_int_equal(srv_store_agent_create(f->s, &dup), DA_ERR_STORE_CONFLICT);
    }
    assert_int_equal(srv_store_agent_get(f->s, "a1", 1000, &a), 0);
    assert_string_equal(a->status, "pending");
    assert_string_equal(a->vendor, "acme");
    srv_agent_free(a);
    assert_int_equal(srv_store_agent_get(f->s, "zz", 1000, &a), DA_ERR_AGENT_UNKNOWN);

    fill_report(&r, "r1", "a1", 11);
    assert_int_equal(srv_store_report_put(f->s, &r), 0);
    assert_int_equal(srv_store_agent_get(f->s, "a1", 1000, &a), 0);
    assert_string_equal(a->status, "compliant");
    assert_int_equal(a->reset_count, 3);
    srv_agent_free(a);
    /* the same nonce again is a replay, and nothing of it is stored */
    fill_report(&r, "r2", "a1", 11);
    assert_int_equal(srv_store_report_put(f->s, &r), DA_ERR_VERIFY_NONCE_REPLAY);
    assert_int_equal(srv_store_report_get(f->s, "r2", &got), DA_ERR_NOT_FOUND);
    assert_int_equal(srv_store_report_find_by_nonce(f->s, "a1", r.nonce_hash, &got), 0);
    assert_string_equal(got->id, "r1");
    assert_string_equal(got->evidence_json, "{\"schema\":\"x\"}");
    srv_report_free(got);

    /* stale an hour after the last verified report; the sweep marks it once */
    assert_int_equal(srv_store_agent_get(f->s, "a1", 1000 + 3601, &a), 0);
    assert_string_equal(a->status, "stale");
    srv_agent_free(a);
    n = 0;
    assert_int_equal(srv_store_agents_list(f->s, 0, "stale", 1000 + 3601, count_agent, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(srv_store_sweep_stale(f->s, 1000 + 3601, &changed), 0);
    assert_int_equal(changed, 2);
    assert_int_equal(srv_store_sweep_stale(f->s, 1000 + 3601, &changed), 0);
    assert_int_equal(changed, 0);

    /* revoked: status and no more reports */
    assert_int_equal(srv_store_agent_set_revoked(f->s, "a1", true), 0);
    fill_report(&r, "r3", "a1", 12);
    assert_int_equal(srv_store_report_put(f->s, &r), DA_ERR_AGENT_REVOKED);
    assert_int_equal(srv_store_report_get(f->s, "r3", &got), DA_ERR_NOT_FOUND);
    n = 0;
    assert_int_equal(srv_store_agents_list(f->s, 0, "revoked", 1000, count_agent, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(srv_store_agent_set_revoked(f->s, "nope", true), DA_ERR_AGENT_UNKNOWN);
}

static void test_identity_event(void **state)
{
    struct fixture *f = *state;
    unsigned char ak2[3] = {4, 5, 6}, *got = NULL;
    size_t len = 0;
    char name[69];
    struct srv_agent *a = NULL;

    make_agent(f->s, "a1", "acme", "ek1", 900);
    assert_int_equal(srv_store_identity_event_latest(f->s, "a1", &got, &len, name),
                     DA_ERR_NOT_FOUND);
    assert_int_equal(srv_store_identity_event_put(f->s, "a1", ak2, sizeof(ak2), "ak-new", "d"), 0);
    assert_int_equal(srv_store_identity_event_latest(f->s, "a1", &got, &len, name), 0);
    assert_string_equal(name, "ak-new");
    assert_int_equal(srv_store_agent_replace_ak(f->s, "a1", got, len, name), 0);
    free(got);
    assert_int_equal(srv_store_agent_get(f->s, "a1", 1000, &a), 0);
    assert_string_equal(a->ak_name, "ak-new");
    assert_memory_equal(a->ak_public, ak2, 3);
    srv_agent_free(a);
    assert_int_equal(srv_store_identity_event_latest(f->s, "a1", &got, &len, name),
                     DA_ERR_NOT_FOUND);
}

#define WRITERS    8
#define PER_WRITER 50

struct writer_arg {
    struct srv_store *s;
    int base;
    int failures;
};

static void *writer(void *p)
{
    struct writer_arg *w = p;
    struct srv_report r;
    char id[SRV_ID_HEX];
    int i;

    for (i = 0; i < PER_WRITER; i++) {
        snprintf(id, sizeof(id), "w%d-%d", w->base, i);
        fill_report(&r, id, "a1", w->base * 1000 + i + 100);
        if (srv_store_report_put(w->s, &r) != 0)
            w->failures++;
    }
    return NULL;
}

/* Many threads writing at once: every write commits exactly once. */
static void test_group_commit_concurrency(void **state)
{
    struct fixture *f = *state;
    struct writer_arg args[WRITERS];
    pthread_t t[WRITERS];
    int64_t count = 0;
    int i;

    make_agent(f->s, "a1", "acme", "ek1", 900);
    for (i = 0; i < WRITERS; i++) {
        args[i].s = f->s;
        args[i].base = i + 1;
        args[i].failures = 0;
        assert_int_equal(pthread_create(&t[i], NULL, writer, &args[i]), 0);
    }
    for (i = 0; i < WRITERS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    assert_int_equal(srv_store_reports_count(f->s, &count), 0);
    assert_int_equal(count, WRITERS * PER_WRITER);
    assert_int_equal(srv_store_integrity_check(f->s), 0);
}

static int count_audit(const struct srv_audit_entry *e, void *ctx)
{
    assert_string_equal(e->code, "bad_signature");
    (*(int *)ctx)++;
    return 0;
}

static void test_audit_and_policy(void **state)
{
    struct fixture *f = *state;
    char *json = NULL, sha[65];
    int n = 0;

    assert_int_equal(srv_store_audit(f->s, "x", "report_rejected", "a1", "bad_signature",
                                     "'; DROP TABLE agents; --"),
                     0);
    assert_int_equal(srv_store_audit_list(f->s, "report_rejected", 10, count_audit, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(srv_store_policy_current(f->s, &json, sha), DA_ERR_NOT_FOUND);
    assert_int_equal(srv_store_policy_put(f->s, "{\"v\":1}", "aa", "admin"), 0);
    assert_int_equal(srv_store_policy_put(f->s, "{\"v\":2}", "bb", "admin"), 0);
    assert_int_equal(srv_store_policy_current(f->s, &json, sha), 0);
    assert_string_equal(json, "{\"v\":2}");
    assert_string_equal(sha, "bb");
    free(json);
    assert_int_equal(srv_store_integrity_check(f->s), 0);
}

/* Database rows as text, to show that a refused change left them alone. */
static void table_text(const char *path, const char *sql, char *out, size_t size)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    size_t o = 0;
    int i;

    out[0] = '\0';
    if (da_test_store_is_pg()) {
        assert_int_equal(da_test_pg_exec(path, sql, out, size), 0);
        return;
    }
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (i = 0; i < sqlite3_column_count(st) && o < size; i++) {
            const unsigned char *t = sqlite3_column_text(st, i);

            o += (size_t)snprintf(out + o, size - o, "%s|", t != NULL ? (const char *)t : "NULL");
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_true(o < size);
}

static void test_vendor_admin(void **state)
{
    struct fixture *f = *state;
    char before[2048], after[2048];
    struct srv_vendor v;
    int64_t id = 0, id2 = 0;

    assert_int_equal(srv_store_vendor_create(f->s, "acme", &id), 0);
    assert_true(id > 0);
    table_text(f->path, "SELECT * FROM vendors ORDER BY id", before, sizeof(before));
    /* every refusal has its code and leaves the table as it was */
    assert_int_equal(srv_store_vendor_create(f->s, "acme", &id2), DA_ERR_VENDOR_EXISTS);
    assert_int_equal(srv_store_vendor_create(f->s, "", &id2), DA_ERR_VENDOR_NAME);
    assert_int_equal(srv_store_vendor_create(f->s, "-acme", &id2), DA_ERR_VENDOR_NAME);
    assert_int_equal(srv_store_vendor_create(f->s, "ac me", &id2), DA_ERR_VENDOR_NAME);
    assert_int_equal(srv_store_vendor_create(f->s, "acme\n", &id2), DA_ERR_VENDOR_NAME);
    assert_int_equal(
        srv_store_vendor_create(
            f->s, "a234567890123456789012345678901234567890123456789012345678901234", &id2),
        DA_ERR_VENDOR_NAME);
    assert_int_equal(srv_store_vendor_rename(f->s, "nosuch", "other"), DA_ERR_VENDOR_UNKNOWN);
    assert_int_equal(srv_store_vendor_rename(f->s, "acme", "bad name"), DA_ERR_VENDOR_NAME);
    assert_int_equal(srv_store_vendor_create(f->s, "globex", &id2), 0);
    table_text(f->path, "SELECT * FROM vendors ORDER BY id", before, sizeof(before));
    assert_int_equal(srv_store_vendor_rename(f->s, "acme", "globex"), DA_ERR_VENDOR_EXISTS);
    table_text(f->path, "SELECT * FROM vendors ORDER BY id", after, sizeof(after));
    assert_string_equal(before, after);
    /* a rename keeps the id, so agents and tokens follow it */
    assert_int_equal(srv_store_vendor_rename(f->s, "acme", "acme-corp.eu_1"), 0);
    assert_int_equal(srv_store_vendor_find(f->s, "acme", &v), DA_ERR_NOT_FOUND);
    assert_int_equal(srv_store_vendor_find(f->s, "acme-corp.eu_1", &v), 0);
    assert_int_equal(v.id, id);
}

static int collect_token(const struct srv_api_token *t, void *arg)
{
    struct srv_api_token *out = arg;
    int i;

    for (i = 0; i < 4 && out[i].id[0] != '\0'; i++)
        ;
    assert_true(i < 4);
    out[i] = *t;
    return 0;
}

static void test_api_token_admin(void **state)
{
    struct fixture *f = *state;
    unsigned char h1[SRV_HASH_LEN], h2[SRV_HASH_LEN];
    struct srv_api_token got[4], t;
    struct srv_principal p;
    int64_t id = 0, now = (int64_t)time(NULL);
    char before[4096], after[4096];

    hash_of(h1, 0x11);
    hash_of(h2, 0x22);
    assert_int_equal(srv_store_vendor_create(f->s, "acme", &id), 0);
    assert_int_equal(srv_store_api_token_add(f->s, h1, SRV_ROLE_ADMIN, NULL, "ops", 0), 0);
    assert_int_equal(srv_store_api_token_add(f->s, h2, SRV_ROLE_VENDOR, "acme", "ci", now + 3600),
                     0);
    memset(got, 0, sizeof(got));
    assert_int_equal(srv_store_api_tokens_list(f->s, collect_token, got), 0);
    assert_string_equal(got[0].id, "1100000000000000");
    assert_int_equal(got[0].role, SRV_ROLE_ADMIN);
    assert_int_equal(got[0].expires_at, 0);
    assert_string_equal(got[1].id, "2200000000000000");
    assert_string_equal(got[1].vendor, "acme");
    assert_int_equal(got[1].expires_at, now + 3600);
    assert_int_equal(got[1].last_used_at, 0);
    assert_int_equal(got[2].id[0], '\0');

    /* last use only moves forward */
    assert_int_equal(srv_store_api_token_touch(f->s, "2200000000000000", 500), 0);
    assert_int_equal(srv_store_api_token_touch(f->s, "2200000000000000", 400), 0);
    assert_int_equal(srv_store_api_token_find(f->s, h2, &p), 0);
    assert_int_equal(p.last_used_at, 500);
    assert_string_equal(p.token_id, "2200000000000000");

    /* unknown or malformed ids change nothing */
    table_text(f->path, "SELECT * FROM api_tokens ORDER BY token_id", before, sizeof(before));
    assert_int_equal(srv_store_api_token_revoke(f->s, "3300000000000000", now, &t),
                     DA_ERR_API_TOKEN_UNKNOWN);
    assert_int_equal(srv_store_api_token_revoke(f->s, "11000000000000", now, &t),
                     DA_ERR_API_TOKEN_UNKNOWN);
    assert_int_equal(srv_store_api_token_revoke(f->s, "1100000000000000' OR 1=1", now, &t),
                     DA_ERR_API_TOKEN_UNKNOWN);
    assert_int_equal(srv_store_api_token_expire(f->s, "3300000000000000", now, &t),
                     DA_ERR_API_TOKEN_UNKNOWN);
    assert_int_equal(srv_store_api_token_expire(f->s, "1100000000000000", 0, &t),
                     DA_ERR_INVALID_ARG);
    table_text(f->path, "SELECT * FROM api_tokens ORDER BY token_id", after, sizeof(after));
    assert_string_equal(before, after);

    /* expiry: at or before now refuses; revocation: refuses, keeps its first time */
    assert_int_equal(srv_store_api_token_expire(f->s, "2200000000000000", now - 1, &t), 0);
    assert_int_equal(t.expires_at, now - 1);
    assert_int_equal(srv_store_api_token_find(f->s, h2, &p), DA_ERR_API_TOKEN_EXPIRED);
    assert_int_equal(p.role, SRV_ROLE_NONE);
    assert_int_equal(srv_store_api_token_expire(f->s, "2200000000000000", now + 60, &t), 0);
    assert_int_equal(srv_store_api_token_find(f->s, h2, &p), 0);
    assert_int_equal(srv_store_api_token_revoke(f->s, "1100000000000000", 777, &t), 0);
    assert_int_equal(t.revoked_at, 777);
    assert_int_equal(srv_store_api_token_revoke(f->s, "1100000000000000", 888, &t), 0);
    assert_int_equal(t.revoked_at, 777);
    assert_int_equal(srv_store_api_token_find(f->s, h1, &p), DA_ERR_API_TOKEN_REVOKED);
}

#define PAGE_TEXT 256

static int page_agent(const struct srv_agent *a, void *arg)
{
    char *out = arg;

    snprintf(out + strlen(out), PAGE_TEXT - strlen(out), "%s,", a->id);
    return 0;
}

static int page_report(const struct srv_report *r, void *arg)
{
    char *out = arg;

    snprintf(out + strlen(out), PAGE_TEXT - strlen(out), "%s,", r->id);
    return 0;
}

static int page_audit(const struct srv_audit_entry *e, void *arg)
{
    char *out = arg;

    snprintf(out + strlen(out), PAGE_TEXT - strlen(out), "%s,", e->subject);
    return 0;
}

/* Pages follow the sort key, including rows that share its time. */
static void test_paging(void **state)
{
    struct fixture *f = *state;
    struct srv_page pg;
    struct srv_report r;
    char got[PAGE_TEXT];
    int i;

    make_agent(f->s, "b", "acme", "ek-b", 100);
    make_agent(f->s, "a", "acme", "ek-a", 100);
    make_agent(f->s, "c", "acme", "ek-c", 50);
    memset(&pg, 0, sizeof(pg));
    pg.limit = 2;
    got[0] = '\0';
    assert_int_equal(srv_store_agents_page(f->s, 0, NULL, 100, &pg, page_agent, got), 0);
    assert_string_equal(got, "c,a,");
    pg.has_after = true;
    pg.after_n = 100;
    snprintf(pg.after_id, sizeof(pg.after_id), "a");
    got[0] = '\0';
    assert_int_equal(srv_store_agents_page(f->s, 0, NULL, 100, &pg, page_agent, got), 0);
    assert_string_equal(got, "b,");

    for (i = 0; i < 4; i++) {
        char id[8];

        snprintf(id, sizeof(id), "r%d", i);
        fill_report(&r, id, "a", 40 + i);
        r.received_at = i < 2 ? 1000 : 2000; /* r0 r1 at 1000, r2 r3 at 2000 */
        r.clock = 1000u * (unsigned)(i + 1);
        assert_int_equal(srv_store_report_put(f->s, &r), 0);
    }
    memset(&pg, 0, sizeof(pg));
    pg.limit = 3;
    got[0] = '\0';
    /* newest first: ids are time-ordered, so within a second too */
    assert_int_equal(srv_store_reports_page(f->s, "a", &pg, page_report, got), 0);
    assert_string_equal(got, "r3,r2,r1,");
    pg.has_after = true;
    pg.after_n = 1000;
    snprintf(pg.after_id, sizeof(pg.after_id), "r1");
    got[0] = '\0';
    assert_int_equal(srv_store_reports_page(f->s, "a", &pg, page_report, got), 0);
    assert_string_equal(got, "r0,");
    /* the window is [from, to) */
    memset(&pg, 0, sizeof(pg));
    pg.limit = 10;
    pg.from = 1000;
    pg.to = 2000;
    got[0] = '\0';
    assert_int_equal(srv_store_reports_page(f->s, "a", &pg, page_report, got), 0);
    assert_string_equal(got, "r1,r0,");
    pg.from = 2000;
    pg.to = 0;
    got[0] = '\0';
    assert_int_equal(srv_store_reports_page(f->s, "a", &pg, page_report, got), 0);
    assert_string_equal(got, "r3,r2,");

    for (i = 0; i < 3; i++) {
        char subject[8];

        snprintf(subject, sizeof(subject), "s%d", i);
        assert_int_equal(srv_store_audit(f->s, "t", "paging", subject, "ok", ""), 0);
    }
    memset(&pg, 0, sizeof(pg));
    pg.limit = 2;
    got[0] = '\0';
    assert_int_equal(srv_store_audit_page(f->s, "paging", &pg, page_audit, got), 0);
    assert_string_equal(got, "s2,s1,");
}

static void exec_raw(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* A database of schema 1 (nonces keyed by hash alone) with a used nonce:
 * the migration keys it by its report's agent, and the store finds it. */
static void migration_from_1_sqlite(void **state);

/* SQLite's own upgrade path: a PostgreSQL database begins at the schema of
 * its first migration (8), so there is no older one to upgrade. */
static void test_migration_from_1(void **state)
{
    if (da_test_store_is_pg())
        skip();
    migration_from_1_sqlite(state);
}

static void migration_from_1_sqlite(void **state)
{
    struct fixture *f = *state;
    struct srv_report r, *got = NULL;
    bool used = false;
    int version = 0;

    make_agent(f->s, "a1", "acme", "ek1", 900);
    fill_report(&r, "r1", "a1", 11);
    srv_store_write_format(f->s, 0); /* as a server of that schema wrote it */
    assert_int_equal(srv_store_report_put(f->s, &r), 0);
    srv_store_close(f->s);
    f->s = NULL;
    exec_raw(f->path,
             "BEGIN;"
             "CREATE TABLE n1 (hash BLOB PRIMARY KEY, expires_at BIGINT NOT NULL,"
             " report_id TEXT NOT NULL) WITHOUT ROWID;"
             "INSERT INTO n1 SELECT hash, expires_at, report_id FROM nonces_used;"
             "DROP TABLE nonces_used; ALTER TABLE n1 RENAME TO nonces_used;"
             "DROP TABLE readiness_probe; DROP TABLE pending_seen;"
             "DROP TABLE webhook_attempts; DROP TABLE webhook_deliveries; DROP TABLE webhooks;"
             "DROP TABLE report_bodies;"
             "DROP INDEX audit_at; DROP INDEX api_tokens_token_id; DROP TABLE api_tokens;"
             "CREATE TABLE api_tokens (hash BLOB PRIMARY KEY, role INTEGER NOT NULL,"
             " vendor_id INTEGER REFERENCES vendors(id), label TEXT NOT NULL,"
             " created_at BIGINT NOT NULL);"
             "INSERT INTO api_tokens VALUES (x'0a0b0c0d0e0f1011"
             "000000000000000000000000000000000000000000000000', 1,"
             " NULL, 'old', 5);"
             "DROP TABLE boot_references; DROP TABLE boot_changes;"
             "DROP TABLE boot_pins; DROP TABLE ima_state;"
             "DROP TABLE enrollments; ALTER TABLE agents DROP COLUMN ek_trust;"
             "ALTER TABLE challenges DROP COLUMN ek_trust;"
             " ALTER TABLE agents DROP COLUMN ek_issuer;"
             " ALTER TABLE agents DROP COLUMN ek_serial;"
             " ALTER TABLE agents DROP COLUMN ek_root;"
             " ALTER TABLE challenges DROP COLUMN ek_issuer;"
             " ALTER TABLE challenges DROP COLUMN ek_serial;"
             " ALTER TABLE challenges DROP COLUMN ek_root;"
             "DROP TABLE blobs;"
             "ALTER TABLE reports DROP COLUMN format; ALTER TABLE reports DROP COLUMN packed;"
             "ALTER TABLE reports DROP COLUMN verdict_sha256;"
             "ALTER TABLE reports DROP COLUMN pack_base;"
             "ALTER TABLE reports DROP COLUMN evidence_digest;"
             "ALTER TABLE reports DROP COLUMN pruned_at;"
             "ALTER TABLE agents DROP COLUMN pack_base;"
             "ALTER TABLE agents DROP COLUMN pruned_through;"
             "DELETE FROM schema_version WHERE version >= 2;"
             "COMMIT;");
    assert_int_equal(srv_store_open(f->path, 8, 3600, &f->s), 0);
    assert_int_equal(srv_store_schema_version(f->s, &version), 0);
    assert_int_equal(version, 13);
    {
        /* a token from before the migration still works, under the id the
         * migration gave it (the first 8 bytes of its hash) */
        unsigned char h[SRV_HASH_LEN] = {0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11};
        struct srv_principal p;

        assert_int_equal(srv_store_api_token_find(f->s, h, &p), 0);
        assert_int_equal(p.role, SRV_ROLE_ADMIN);
        assert_string_equal(p.token_id, "0a0b0c0d0e0f1011");
        assert_int_equal(p.last_used_at, 0);
    }
    assert_int_equal(srv_store_nonce_used(f->s, "a1", r.nonce_hash, &used), 0);
    assert_true(used);
    assert_int_equal(srv_store_report_find_by_nonce(f->s, "a1", r.nonce_hash, &got), 0);
    assert_string_equal(got->id, "r1");
    srv_report_free(got);
    assert_int_equal(srv_store_integrity_check(f->s), 0);
    assert_int_equal(srv_store_probe_write(f->s, 1234), 0);
}

struct changes_seen {
    int n;
    char what[4][32];
    char old_json[4][256];
    char report[4][SRV_ID_HEX];
};

static int collect_change(const struct srv_boot_change *c, void *ctx)
{
    struct changes_seen *cs = ctx;

    assert_true(cs->n < 4);
    snprintf(cs->what[cs->n], sizeof(cs->what[0]), "%s", c->what);
    snprintf(cs->old_json[cs->n], sizeof(cs->old_json[0]), "%s", c->reference_json);
    snprintf(cs->report[cs->n], sizeof(cs->report[0]), "%s", c->report_id);
    cs->n++;
    return 0;
}

/* A database of schema 3, whose reports carried the reference boot state
 * and the changes only in their transcripts: the migration to 4 records
 * the first report's state as the reference and each change as a row. */
static void migration_from_3_sqlite(void **state);

static void test_migration_from_3(void **state)
{
    if (da_test_store_is_pg())
        skip();
    migration_from_3_sqlite(state);
}

static void migration_from_3_sqlite(void **state)
{
    struct fixture *f = *state;
    struct srv_report r;
    struct changes_seen cs;
    char *ref = NULL, rid[SRV_ID_HEX];
    int64_t at = 0;
    int version = 0;

    make_agent(f->s, "a1", "acme", "ek1", 900);
    make_agent(f->s, "a2", "acme", "ek2", 900);
    srv_store_write_format(f->s, 0); /* as a server of that schema wrote them */
    fill_report(&r, "r0", "a1", 10); /* no log: no boot state */
    r.received_at = 1000;
    assert_int_equal(srv_store_report_put(f->s, &r), 0);
    fill_report(&r, "r1", "a1", 11);
    r.received_at = 1001;
    r.clock = 10;
    r.transcript_json = (char *)DA_UNCONST("{\"event_log\":{\"state\":\"replays\",\"boot_state\":"
                                           "{\"boot_applications\":[\"aa\"]}}}");
    assert_int_equal(srv_store_report_put(f->s, &r), 0);
    fill_report(&r, "r2", "a1", 12);
    r.received_at = 1002;
    r.clock = 20;
    r.transcript_json = (char *)DA_UNCONST(
        "{\"event_log\":{\"state\":\"replays\",\"boot_state\":"
        "{\"boot_applications\":[\"aa\",\"bb\"]},\"boot_changed\":{\"reference_report\":"
        "\"r1\",\"changes\":[{\"what\":\"boot_applications\",\"reference\":[\"aa\"],"
        "\"now\":[\"aa\",\"bb\"]},{\"what\":\"secure_boot\",\"reference\":"
        "{\"SecureBoot\":true},\"now\":{\"SecureBoot\":false}}]}}}");
    assert_int_equal(srv_store_report_put(f->s, &r), 0);
    srv_store_close(f->s);
    f->s = NULL;
    exec_raw(f->path, "BEGIN; DROP TABLE boot_references; DROP TABLE boot_changes;"
                      " DROP TABLE boot_pins; DROP TABLE ima_state; DROP TABLE enrollments;"
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
                      " DROP INDEX audit_at; DROP INDEX api_tokens_token_id; DROP TABLE api_tokens;"
                      " CREATE TABLE api_tokens (hash BLOB PRIMARY KEY, role INTEGER NOT NULL,"
                      " vendor_id INTEGER REFERENCES vendors(id), label TEXT NOT NULL,"
                      " created_at BIGINT NOT NULL);"
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
                      " DELETE FROM schema_version WHERE version >= 4;"
                      " COMMIT;");
    assert_int_equal(srv_store_open(f->path, 8, 3600, &f->s), 0);
    assert_int_equal(srv_store_schema_version(f->s, &version), 0);
    assert_int_equal(version, 13);
    assert_int_equal(srv_store_boot_reference(f->s, "a1", &ref, rid, &at), 0);
    assert_string_equal(ref, "{\"boot_applications\":[\"aa\"]}");
    assert_string_equal(rid, "r1");
    assert_int_equal(at, 1001);
    free(ref);
    assert_int_equal(srv_store_boot_reference(f->s, "a2", &ref, rid, &at), DA_ERR_NOT_FOUND);
    memset(&cs, 0, sizeof(cs));
    assert_int_equal(srv_store_boot_changes_list(f->s, "a1", 10, collect_change, &cs), 0);
    assert_int_equal(cs.n, 2);
    /* newest first: the second change of r2 was inserted last */
    assert_string_equal(cs.what[0], "secure_boot");
    assert_string_equal(cs.old_json[0], "{\"SecureBoot\":true}");
    assert_string_equal(cs.what[1], "boot_applications");
    assert_string_equal(cs.old_json[1], "[\"aa\"]");
    assert_string_equal(cs.report[1], "r2");
    assert_int_equal(srv_store_integrity_check(f->s), 0);
}

/* A report's boot state becomes the reference only when the agent has
 * none; its changes are stored with it, in the same transaction. */
static void test_boot_reference_put(void **state)
{
    struct fixture *f = *state;
    struct srv_report r;
    struct srv_boot_change ch = {0, "", 0, "keys", "{\"dbx\":\"11\"}", "{\"dbx\":\"22\"}"};
    struct changes_seen cs;
    char *ref = NULL, rid[SRV_ID_HEX];
    int64_t at = 0;

    make_agent(f->s, "a1", "acme", "ek1", 900);
    fill_report(&r, "r1", "a1", 11);
    r.boot_state_json = "{\"keys\":{\"dbx\":\"11\"}}";
    assert_int_equal(srv_store_report_put(f->s, &r), 0);
    fill_report(&r, "r2", "a1", 12);
    r.clock = 10;
    r.received_at = 1005;
    r.boot_state_json = "{\"keys\":{\"dbx\":\"22\"}}"; /* not the first: ignored */
    r.boot_changes = &ch;
    r.n_boot_changes = 1;
    assert_int_equal(srv_store_report_put(f->s, &r), 0);
    assert_int_equal(srv_store_boot_reference(f->s, "a1", &ref, rid, &at), 0);
    assert_string_equal(ref, "{\"keys\":{\"dbx\":\"11\"}}");
    assert_string_equal(rid, "r1");
    free(ref);
    memset(&cs, 0, sizeof(cs));
    assert_int_equal(srv_store_boot_changes_list(f->s, "a1", 10, collect_change, &cs), 0);
    assert_int_equal(cs.n, 1);
    assert_string_equal(cs.report[0], "r2");
    assert_string_equal(cs.what[0], "keys");
    /* a report refused (nonce replay) leaves no change behind */
    fill_report(&r, "r3", "a1", 12);
    r.clock = 20;
    r.boot_changes = &ch;
    r.n_boot_changes = 1;
    assert_int_equal(srv_store_report_put(f->s, &r), DA_ERR_VERIFY_NONCE_REPLAY);
    memset(&cs, 0, sizeof(cs));
    assert_int_equal(srv_store_boot_changes_list(f->s, "a1", 10, collect_change, &cs), 0);
    assert_int_equal(cs.n, 1);
}

static int count_pin(const struct srv_boot_pin *p, void *ctx)
{
    assert_string_equal(p->actor, "admin:t");
    (*(int *)ctx)++;
    return 0;
}

static void test_boot_pins(void **state)
{
    struct fixture *f = *state;
    static const char d1[] = "sha256:"
                             "0000000000000000000000000000000000000000000000000000000000000001";
    int64_t vid = 0, other = 0;
    int n = 0;

    assert_int_equal(srv_store_vendor_ensure(f->s, "acme", &vid), 0);
    assert_int_equal(srv_store_vendor_ensure(f->s, "other", &other), 0);
    assert_int_equal(srv_store_boot_pin_add(f->s, "acme", d1, "shim", "admin:t"), 0);
    assert_int_equal(srv_store_boot_pin_add(f->s, "acme", d1, "kernel", "admin:t"),
                     DA_ERR_BOOT_PIN_EXISTS);
    assert_int_equal(srv_store_boot_pin_add(f->s, "nobody", d1, "shim", "admin:t"),
                     DA_ERR_VENDOR_UNKNOWN);
    assert_int_equal(srv_store_boot_pins_list(f->s, vid, count_pin, &n), 0);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(srv_store_boot_pins_list(f->s, other, count_pin, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(srv_store_boot_pin_remove(f->s, "other", d1), DA_ERR_BOOT_PIN_UNKNOWN);
    assert_int_equal(srv_store_boot_pin_remove(f->s, "acme", d1), 0);
    assert_int_equal(srv_store_boot_pin_remove(f->s, "acme", d1), DA_ERR_BOOT_PIN_UNKNOWN);
    assert_int_equal(srv_store_boot_pins_list(f->s, 0, count_pin, &n), 0);
    assert_int_equal(n, 0);
}

/* Used nonces are keyed by (agent, nonce): one agent's use is not
 * another's, and lookups need both. */
static void test_nonce_keyed_by_agent(void **state)
{
    struct fixture *f = *state;
    struct srv_report r, *got = NULL;
    bool used = true;

    make_agent(f->s, "a1", "acme", "ek1", 900);
    make_agent(f->s, "a2", "acme", "ek2", 900);
    fill_report(&r, "r1", "a1", 11);
    assert_int_equal(srv_store_report_put(f->s, &r), 0);
    assert_int_equal(srv_store_nonce_used(f->s, "a2", r.nonce_hash, &used), 0);
    assert_false(used);
    assert_int_equal(srv_store_report_find_by_nonce(f->s, "a2", r.nonce_hash, &got),
                     DA_ERR_NOT_FOUND);
    fill_report(&r, "r2", "a2", 11);
    assert_int_equal(srv_store_report_put(f->s, &r), 0);
    assert_int_equal(srv_store_report_find_by_nonce(f->s, "a2", r.nonce_hash, &got), 0);
    assert_string_equal(got->id, "r2");
    srv_report_free(got);
    assert_int_equal(srv_store_report_find_by_nonce(f->s, "a1", r.nonce_hash, &got), 0);
    assert_string_equal(got->id, "r1");
    srv_report_free(got);
    fill_report(&r, "r3", "a2", 11);
    assert_int_equal(srv_store_report_put(f->s, &r), DA_ERR_VERIFY_NONCE_REPLAY);
    assert_int_equal(srv_store_report_find_by_nonce(f->s, NULL, r.nonce_hash, &got),
                     DA_ERR_INVALID_ARG);
}

static void expect_counters(struct fixture *f, const char *id, uint32_t reset, uint32_t restart,
                            uint64_t clock, const char *last)
{
    struct srv_agent *a = NULL;

    assert_int_equal(srv_store_agent_get(f->s, id, 1000, &a), 0);
    assert_int_equal(a->reset_count, reset);
    assert_int_equal(a->restart_count, restart);
    assert_true(a->clock == clock);
    assert_string_equal(a->last_report_id, last);
    srv_agent_free(a);
}

static void ima_fill(struct srv_ima_state *st, uint32_t reset, uint64_t entries, int seed,
                     const char *kept)
{
    memset(st, 0, sizeof(*st));
    st->reset_count = reset;
    st->agg.entries = entries;
    st->agg.banks = 3;
    memset(st->agg.sha1, 0x10 + seed, sizeof(st->agg.sha1));
    memset(st->agg.sha256, 0x20 + seed, sizeof(st->agg.sha256));
    st->kept_json = DA_UNCONST(kept);
}

static void expect_ima(struct fixture *f, const struct srv_ima_state *want)
{
    struct srv_ima_state got;

    assert_int_equal(srv_store_ima_get(f->s, "a1", &got), 0);
    assert_int_equal(got.reset_count, want->reset_count);
    assert_true(got.agg.entries == want->agg.entries);
    assert_int_equal(got.agg.banks, want->agg.banks);
    assert_memory_equal(got.agg.sha1, want->agg.sha1, sizeof(want->agg.sha1));
    assert_memory_equal(got.agg.sha256, want->agg.sha256, sizeof(want->agg.sha256));
    assert_string_equal(got.kept_json, want->kept_json);
    srv_ima_state_clear(&got);
}

/* A report refused by the IMA compare-and-set leaves nothing: no report,
 * its nonce unused, the IMA state as it was. */
static void expect_ima_refused(struct fixture *f, struct srv_report *r,
                               const struct srv_ima_state *kept)
{
    struct srv_report *got = NULL;
    bool used = true;

    assert_int_equal(srv_store_report_put(f->s, r), DA_ERR_STORE_CONFLICT);
    assert_int_equal(srv_store_report_get(f->s, r->id, &got), DA_ERR_NOT_FOUND);
    assert_int_equal(srv_store_nonce_used(f->s, "a1", r->nonce_hash, &used), 0);
    assert_false(used);
    expect_ima(f, kept);
}

/* The IMA state moves only from the state the report was replayed from:
 * from none only while there is none, from a state only while the stored
 * one has the same boot, entry count, banks and both aggregates (the kept
 * file list is not compared). */
static void test_ima_compare_and_set(void **state)
{
    struct fixture *f = *state;
    struct srv_ima_state s1, s2, s3, prev;
    struct srv_report r;

    make_agent(f->s, "a1", "acme", "ek1", 900);
    ima_fill(&s1, 1, 5, 1, "{\"n\":1}");
    ima_fill(&s2, 1, 9, 2, "{\"n\":2}");
    ima_fill(&s3, 1, 12, 3, "{\"n\":3}");
    assert_int_equal(srv_store_ima_get(f->s, "a1", &prev), DA_ERR_NOT_FOUND);
    fill_report(&r, "r1", "a1", 1);
    r.ima = &s1;
    assert_int_equal(srv_store_report_put(f->s, &r), 0);
    expect_ima(f, &s1);
    /* from none again: there is one now */
    fill_report(&r, "r2", "a1", 2);
    r.ima = &s2;
    expect_ima_refused(f, &r, &s1);
    /* from a state that differs in one field each */
    prev = s1;
    prev.agg.sha256[31] ^= 1;
    fill_report(&r, "r3", "a1", 3);
    r.ima = &s2;
    r.ima_prev = &prev;
    expect_ima_refused(f, &r, &s1);
    prev = s1;
    prev.agg.sha1[0] ^= 1;
    r.ima_prev = &prev;
    expect_ima_refused(f, &r, &s1);
    prev = s1;
    prev.agg.entries = 4;
    r.ima_prev = &prev;
    expect_ima_refused(f, &r, &s1);
    prev = s1;
    prev.reset_count = 0;
    r.ima_prev = &prev;
    expect_ima_refused(f, &r, &s1);
    prev = s1;
    prev.agg.banks = 1;
    r.ima_prev = &prev;
    expect_ima_refused(f, &r, &s1);
    /* from the stored state (its kept list is another text: not compared) */
    prev = s1;
    prev.kept_json = DA_UNCONST("{}");
    r.ima_prev = &prev;
    assert_int_equal(srv_store_report_put(f->s, &r), 0);
    expect_ima(f, &s2);
    /* the state it came from is stale now */
    fill_report(&r, "r4", "a1", 4);
    r.ima = &s3;
    r.ima_prev = &s1;
    expect_ima_refused(f, &r, &s2);
    r.ima_prev = &s2;
    assert_int_equal(srv_store_report_put(f->s, &r), 0);
    expect_ima(f, &s3);
}

/* The store orders TPM counters itself, inside the write: a report whose
 * counters are older than the stored ones is refused with nothing of it
 * kept (its nonce stays unused), whatever the caller checked before. */
static void test_counters_checked_in_store(void **state)
{
    struct fixture *f = *state;
    struct srv_report r, *got = NULL;
    bool used = true;

    make_agent(f->s, "a1", "acme", "ek1", 900);
    fill_report(&r, "r1", "a1", 1);
    r.reset_count = 3;
    r.restart_count = 2;
    r.clock = 50000000;
    assert_int_equal(srv_store_report_put(f->s, &r), 0);
    /* the same tuple again is no rollback */
    fill_report(&r, "r2", "a1", 2);
    r.reset_count = 3;
    r.restart_count = 2;
    r.clock = 50000000;
    assert_int_equal(srv_store_report_put(f->s, &r), 0);
    /* Clock back within the reset cycle */
    fill_report(&r, "r3", "a1", 3);
    r.reset_count = 3;
    r.restart_count = 2;
    r.clock = 49999999;
    assert_int_equal(srv_store_report_put(f->s, &r), DA_ERR_VERIFY_COUNTER_ROLLBACK);
    assert_int_equal(srv_store_report_get(f->s, "r3", &got), DA_ERR_NOT_FOUND);
    assert_int_equal(srv_store_nonce_used(f->s, "a1", r.nonce_hash, &used), 0);
    assert_false(used);
    expect_counters(f, "a1", 3, 2, 50000000, "r2");
    /* restartCount back */
    fill_report(&r, "r4", "a1", 4);
    r.reset_count = 3;
    r.restart_count = 1;
    r.clock = 60000000;
    assert_int_equal(srv_store_report_put(f->s, &r), DA_ERR_VERIFY_COUNTER_ROLLBACK);
    /* resetCount back */
    fill_report(&r, "r5", "a1", 5);
    r.reset_count = 2;
    r.clock = 60000000;
    assert_int_equal(srv_store_report_put(f->s, &r), DA_ERR_VERIFY_COUNTER_ROLLBACK);
    /* a TPM Reset with Clock back but called safe */
    fill_report(&r, "r6", "a1", 6);
    r.reset_count = 4;
    r.clock = 49000000;
    assert_int_equal(srv_store_report_put(f->s, &r), DA_ERR_VERIFY_COUNTER_ROLLBACK);
    expect_counters(f, "a1", 3, 2, 50000000, "r2");
    /* power lost: a TPM Reset, Clock back within one NV interval, unsafe */
    fill_report(&r, "r7", "a1", 7);
    r.reset_count = 4;
    r.clock = 49000000;
    r.clock_unsafe = true;
    assert_int_equal(srv_store_report_put(f->s, &r), 0);
    expect_counters(f, "a1", 4, 0, 49000000, "r7");
    /* the older cycle's report, held back, is now refused */
    fill_report(&r, "r8", "a1", 8);
    r.reset_count = 3;
    r.restart_count = 2;
    r.clock = 50000001;
    assert_int_equal(srv_store_report_put(f->s, &r), DA_ERR_VERIFY_COUNTER_ROLLBACK);
    expect_counters(f, "a1", 4, 0, 49000000, "r7");
    /* 64-bit values keep every bit through the store */
    fill_report(&r, "r9", "a1", 9);
    r.reset_count = UINT32_MAX;
    r.restart_count = UINT32_MAX;
    r.clock = UINT64_MAX;
    r.firmware_version = UINT64_MAX;
    assert_int_equal(srv_store_report_put(f->s, &r), 0);
    expect_counters(f, "a1", UINT32_MAX, UINT32_MAX, UINT64_MAX, "r9");
    assert_int_equal(srv_store_report_get(f->s, "r9", &got), 0);
    assert_true(got->clock == UINT64_MAX && got->firmware_version == UINT64_MAX);
    srv_report_free(got);
    fill_report(&r, "r10", "a1", 10);
    r.reset_count = UINT32_MAX;
    r.restart_count = UINT32_MAX;
    r.clock = UINT64_MAX - 1;
    assert_int_equal(srv_store_report_put(f->s, &r), DA_ERR_VERIFY_COUNTER_ROLLBACK);
}

struct race {
    struct srv_store *s;
    struct srv_report r;
    int rc;
};

static void *race_put(void *arg)
{
    struct race *x = arg;

    x->rc = srv_store_report_put(x->s, &x->r);
    return NULL;
}

/* An older and a newer report of one agent written at the same time, many
 * times: the stored counters are always the newer ones, and the older is
 * stored only when it was written first. */
static void test_counters_race(void **state)
{
    struct fixture *f = *state;
    struct race older, newer;
    pthread_t t1, t2;
    int i, both = 0, only_newer = 0;

    make_agent(f->s, "a1", "acme", "ek1", 900);
    for (i = 0; i < 100; i++) {
        struct srv_report *got = NULL;
        char id[32];

        memset(&older, 0, sizeof(older));
        memset(&newer, 0, sizeof(newer));
        older.s = newer.s = f->s;
        snprintf(id, sizeof(id), "o%d", i);
        fill_report(&older.r, id, "a1", 1000 + 2 * i);
        older.r.clock = 1000000 + 10 * (uint64_t)i;
        snprintf(id, sizeof(id), "n%d", i);
        fill_report(&newer.r, id, "a1", 1001 + 2 * i);
        newer.r.clock = 1000000 + 10 * (uint64_t)i + 5;
        assert_int_equal(pthread_create(&t1, NULL, race_put, &older), 0);
        assert_int_equal(pthread_create(&t2, NULL, race_put, &newer), 0);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        assert_int_equal(newer.rc, 0);
        if (older.rc == 0) {
            both++;
        } else {
            assert_int_equal(older.rc, DA_ERR_VERIFY_COUNTER_ROLLBACK);
            assert_int_equal(srv_store_report_get(f->s, older.r.id, &got), DA_ERR_NOT_FOUND);
            only_newer++;
        }
        expect_counters(f, "a1", 3, 0, newer.r.clock, newer.r.id);
    }
    assert_int_equal(both + only_newer, 100);
}

/* First-seen times of many pending upgrades (more than one lookup's worth
 * of package names), some recorded, some not, one package under two
 * candidates and two architectures, another agent's alike. */
static void test_pending_seen_many(void **state)
{
    struct fixture *f = *state;
    struct srv_pending_seen put[40], get[45];
    char names[40][16];
    struct srv_report r;

    make_agent(f->s, "a1", "acme", "ek1", 900);
    make_agent(f->s, "a2", "acme", "ek2", 900);
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof(names[i]), "pkg%02d", i);
        put[i].name = names[i];
        put[i].arch = "amd64";
        put[i].candidate = "1.0";
        put[i].first_seen = 5000 + i;
    }
    fill_report(&r, "r1", "a1", 1);
    r.pending = put;
    r.n_pending = 40;
    assert_int_equal(srv_store_report_put(f->s, &r), 0);
    fill_report(&r, "r2", "a2", 2);
    put[3].first_seen = 7777;
    r.pending = put + 3;
    r.n_pending = 1;
    assert_int_equal(srv_store_report_put(f->s, &r), 0);
    for (int i = 0; i < 40; i++) {
        get[i].name = names[39 - i]; /* another order than stored */
        get[i].arch = "amd64";
        get[i].candidate = "1.0";
        get[i].first_seen = -1;
    }
    get[40] = (struct srv_pending_seen){"pkg05", "amd64", "2.0", -1, 0}; /* newer candidate */
    get[41] = (struct srv_pending_seen){"pkg05", "arm64", "1.0", -1, 0}; /* other arch */
    get[42] = (struct srv_pending_seen){"never", "amd64", "1.0", -1, 0};
    get[43] = (struct srv_pending_seen){"pkg17", "amd64", "1.0", -1, 0}; /* listed twice */
    get[44] = (struct srv_pending_seen){"pkg00", "amd64", "1.0", -1, 0};
    assert_int_equal(srv_store_pending_seen_get(f->s, "a1", get, 45), 0);
    for (int i = 0; i < 40; i++)
        assert_int_equal(get[i].first_seen, 5000 + 39 - i);
    assert_int_equal(get[40].first_seen, 0);
    assert_int_equal(get[41].first_seen, 0);
    assert_int_equal(get[42].first_seen, 0);
    assert_int_equal(get[43].first_seen, 5017);
    assert_int_equal(get[44].first_seen, 5000);
    /* the other agent's own time, not a1's */
    assert_int_equal(srv_store_pending_seen_get(f->s, "a2", get, 45), 0);
    for (int i = 0; i < 45; i++)
        assert_int_equal(get[i].first_seen, strcmp(get[i].name, "pkg03") == 0 &&
                                                    strcmp(get[i].candidate, "1.0") == 0 &&
                                                    strcmp(get[i].arch, "amd64") == 0
                                                ? 7777
                                                : 0);
    assert_int_equal(srv_store_pending_seen_get(f->s, "a1", get, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migration_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_challenge_single_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_agents_reports_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_concurrency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_and_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vendor_admin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_token_admin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boot_reference_put, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boot_pins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonce_keyed_by_agent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters_checked_in_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ima_compare_and_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters_race, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_seen_many, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

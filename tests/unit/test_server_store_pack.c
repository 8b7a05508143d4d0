/* Compact report storage (schema 10) on real SQLite files (and, with
 * DA_TEST_STORE=postgresql, on PostgreSQL databases) with real agent
 * documents: byte-identical round trips of evidence, verdict, transcript,
 * receipt and body; areas stored once per agent and never shared between
 * agents; migration of full reports from schemas 8 and 9; retention that
 * prunes exactly what is older; damaged blobs refused, never misread. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <openssl/sha.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "caps.h"
#include "digest.h"
#include "encoding.h"
#include "err.h"
#include "file.h"
#include "jcs.h"
#include "json.h"
#include "pg_test.h"
#include "render.h"
#include "store.h"
#include "store_pack.h"
#include "tmp_tree.h"
#include "picky.h"

#define DAY 86400

static const char *const docs[] = {
    "tests/fixtures/expected/fscrypt_home.json",   "tests/fixtures/expected/lvm_luks2.json",
    "tests/fixtures/expected/none_container.json", "tests/fixtures/expected/opal_luks2.json",
    "tests/fixtures/expected/plain_dmcrypt.json",  "tests/unit/data/evidence-typical.json",
};
#define NDOCS (sizeof(docs) / sizeof(docs[0]))

struct fixture {
    char dir[64];
    char path[1024]; /* SQLite file or PostgreSQL URI */
    struct srv_store *s;
    char *pretty[NDOCS]; /* the file as it is */
    char *canon[NDOCS];  /* RFC 8785 */
    char *eventlog_b64;  /* a real firmware event log */
};

static char *read_text(const char *rel)
{
    char path[512];
    struct da_buf b;
    char *t;

    snprintf(path, sizeof(path), "%s/%s", DA_SOURCE_ROOT, rel);
    if (da_file_read(path, DA_MAX_EVIDENCE, &b) != 0)
        return NULL;
    t = strdup(da_buf_str(&b));
    da_buf_free(&b);
    return t;
}

static char *canonical(const char *text)
{
    cJSON *v = cJSON_Parse(text);
    struct da_buf b;
    char *t = NULL;

    da_buf_init(&b, DA_MAX_EVIDENCE);
    if (v != NULL && da_jcs_serialize(v, &b) == 0)
        t = strdup(da_buf_str(&b));
    cJSON_Delete(v);
    da_buf_free(&b);
    return t;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char path[512];
    struct da_buf log, b64;
    size_t i;

    if (f == NULL || da_test_tmpdir("da-pack", f->dir, sizeof(f->dir)) != 0)
        return -1;
    if (da_test_store_target(f->dir, "t.db", f->path, sizeof(f->path)) != 0 ||
        srv_store_open(f->path, 64, 3600, &f->s) != 0)
        return -1;
    for (i = 0; i < NDOCS; i++) {
        f->pretty[i] = read_text(docs[i]);
        f->canon[i] = f->pretty[i] != NULL ? canonical(f->pretty[i]) : NULL;
        if (f->canon[i] == NULL)
            return -1;
    }
    snprintf(path, sizeof(path), "%s/tests/data/eventlogs/event-moklisttrusted.bin",
             DA_SOURCE_ROOT);
    if (da_file_read(path, 1u << 20, &log) != 0)
        return -1;
    da_buf_init(&b64, 4u << 20);
    if (da_base64_encode(da_buf_data(&log), da_buf_len(&log), DA_BASE64_STD, &b64) != 0)
        return -1;
    f->eventlog_b64 = strdup(da_buf_str(&b64));
    da_buf_free(&log);
    da_buf_free(&b64);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    size_t i;

    srv_store_close(f->s);
    if (da_test_store_target_drop(f->path) != 0 || da_test_rmtree(f->dir) != 0)
        return -1;
    for (i = 0; i < NDOCS; i++) {
        free(f->pretty[i]);
        free(f->canon[i]);
    }
    free(f->eventlog_b64);
    free(f);
    return 0;
}

static void make_agent(struct srv_store *s, const char *id, const char *ek)
{
    struct srv_agent a;
    unsigned char ak[4] = {1, 2, 3, 4};

    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", id);
    assert_int_equal(srv_store_vendor_ensure(s, "acme", &a.vendor_id), 0);
    snprintf(a.ek_name, sizeof(a.ek_name), "%s", ek);
    snprintf(a.ak_name, sizeof(a.ak_name), "ak-%s", id);
    a.ak_public = ak;
    a.ak_public_len = sizeof(ak);
    a.created_at = 1;
    assert_int_equal(srv_store_agent_create(s, &a), 0);
}

/* One stored report's texts, as the server would hand them to the store. */
struct rep {
    struct srv_report r;
    char verdict[256], transcript[256], receipt[256];
    char *body;
};

static void rep_fill(struct rep *p, const char *id, const char *agent, int seq, int64_t at,
                     const char *evidence, const char *body_evidence, const char *eventlog)
{
    unsigned char d[32];
    size_t n;

    memset(p, 0, sizeof(*p));
    snprintf(p->r.id, sizeof(p->r.id), "%s", id);
    snprintf(p->r.agent_id, sizeof(p->r.agent_id), "%s", agent);
    memset(p->r.nonce_hash, 0, sizeof(p->r.nonce_hash));
    memcpy(p->r.nonce_hash, &seq, sizeof(seq));
    memcpy(p->r.nonce_hash + 8, agent, strlen(agent) < 8 ? strlen(agent) : 8);
    p->r.nonce_expires_at = at + 600;
    assert_int_equal(da_sha256(evidence, strlen(evidence), d), 0);
    da_hex_encode_to(d, sizeof(d), p->r.evidence_sha256, sizeof(p->r.evidence_sha256));
    snprintf(p->verdict, sizeof(p->verdict),
             "{\"verdict\":\"fail\",\"controls\":{\"8.8\":\"%s\"},\"checks\":[]}",
             seq % 2 != 0 ? "pass" : "fail");
    snprintf(p->transcript, sizeof(p->transcript),
             "{\"checks\":[\"body\",\"agent\"],\"tpm\":{\"clock\":\"%d\"}}", seq * 1000);
    snprintf(p->receipt, sizeof(p->receipt),
             "{\"payload\":\"eyJyZXBvcnQiOiIlcyJ9%d\",\"signatures\":[{\"sig\":\"MEU%d\"}]}", seq,
             seq);
    if (body_evidence != NULL) {
        n = strlen(body_evidence) + (eventlog != NULL ? strlen(eventlog) : 0) + 512;
        p->body = malloc(n);
        assert_non_null(p->body);
        snprintf(p->body, n,
                 "{\"nonce\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\",\n"
                 "  \"evidence\": %s,\"quote\":{\"attest\":\"/1RDR4AYACIAC%04d\",\"signature\":"
                 "\"ABgACwAgS%04d\",\"pcr_values\":\"AAAAAQ==\"}%s%s%s}",
                 body_evidence, seq, seq, eventlog != NULL ? ",\"event_log\":\"" : "",
                 eventlog != NULL ? eventlog : "", eventlog != NULL ? "\"" : "");
    }
    p->r.evidence_json = DA_UNCONST(evidence);
    p->r.verdict_json = p->verdict;
    p->r.transcript_json = p->transcript;
    p->r.receipt_json = p->receipt;
    p->r.body_json = p->body;
    p->r.received_at = at;
    p->r.reset_count = 1;
    p->r.clock = (uint64_t)seq * 1000u;
}

static void put(struct fixture *f, struct rep *p)
{
    assert_int_equal(srv_store_report_put(f->s, &p->r), 0);
}

static void check_get(struct fixture *f, const struct rep *p)
{
    struct srv_report *got = NULL;

    assert_int_equal(srv_store_report_get(f->s, p->r.id, &got), 0);
    assert_int_equal(got->pruned_at, 0);
    assert_string_equal(got->evidence_json, p->r.evidence_json);
    assert_string_equal(got->verdict_json, p->verdict);
    assert_string_equal(got->transcript_json, p->transcript);
    assert_string_equal(got->receipt_json, p->receipt);
    assert_string_equal(got->evidence_sha256, p->r.evidence_sha256);
    srv_report_free(got);
}

/* Bodies as the evidence pack export reads them. */
struct bodies {
    int n;
    char id[16][SRV_ID_HEX];
    char *body[16];
    char *transcript[16];
    char *verdict[16];
};

static int collect_body(const struct srv_pack_report *r, void *ctx)
{
    struct bodies *b = ctx;

    assert_true(b->n < 16);
    snprintf(b->id[b->n], sizeof(b->id[0]), "%s", r->id);
    b->body[b->n] = r->body_json != NULL ? strdup(r->body_json) : NULL;
    b->transcript[b->n] = r->transcript_json != NULL ? strdup(r->transcript_json) : NULL;
    b->verdict[b->n] = strdup(r->verdict_json);
    b->n++;
    return 0;
}

static void bodies_free(struct bodies *b)
{
    int i;

    for (i = 0; i < b->n; i++) {
        free(b->body[i]);
        free(b->transcript[i]);
        free(b->verdict[i]);
    }
    memset(b, 0, sizeof(*b));
}

static const char *body_of(const struct bodies *b, const char *id)
{
    int i;

    for (i = 0; i < b->n; i++)
        if (strcmp(b->id[i], id) == 0)
            return b->body[i];
    fail_msg("report %s not in the pack", id);
    return NULL;
}

/* The same SQL for PostgreSQL: blob literals x'..' as '\x..'::bytea,
 * CAST(.. AS BLOB) as BYTEA. */
static void sql_for_pg(const char *in, char *out, size_t size)
{
    size_t o = 0;

    for (const char *p = in; *p != '\0' && o + 16 < size; p++) {
        if (p[0] == 'x' && p[1] == '\'' && (p == in || p[-1] == ' ' || p[-1] == '(')) {
            const char *end = strchr(p + 2, '\'');

            assert_non_null(end);
            o += (size_t)snprintf(out + o, size - o, "'\\x%.*s'::bytea", (int)(end - p - 2), p + 2);
            p = end;
        } else if (strncmp(p, " AS BLOB)", 9) == 0) {
            o += (size_t)snprintf(out + o, size - o, " AS BYTEA)");
            p += 8;
        } else {
            out[o++] = *p;
        }
    }
    assert_true(o + 16 < size);
    out[o] = '\0';
}

static int64_t count(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t n = -1;

    if (da_test_store_is_pg()) {
        char out[64];

        assert_int_equal(da_test_pg_exec(path, sql, out, sizeof(out)), 0);
        return strcmp(out, "NULL|") == 0 ? 0 : strtoll(out, NULL, 10);
    }
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void exec_raw(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;

    if (da_test_store_is_pg()) {
        char pg[4096];

        sql_for_pg(sql, pg, sizeof(pg));
        assert_int_equal(da_test_pg_exec(path, pg, NULL, 0), 0);
        return;
    }
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* Every real document comes back byte for byte: the canonical evidence,
 * the verdict, transcript and receipt, and the body as posted (with the
 * canonical evidence in it, with an indented one, with a firmware event
 * log, and without a body at all). */
static void test_roundtrip_real_documents(void **state)
{
    struct fixture *f = *state;
    struct rep p[NDOCS + 3];
    struct bodies b;
    char id[16];
    size_t i;

    make_agent(f->s, "a1", "ek1");
    for (i = 0; i < NDOCS; i++) {
        snprintf(id, sizeof(id), "r%zu", i);
        rep_fill(&p[i], id, "a1", (int)i + 1, 1000 + (int64_t)i, f->canon[i], f->canon[i], NULL);
        put(f, &p[i]);
    }
    rep_fill(&p[NDOCS], "rp", "a1", 20, 2000, f->canon[0], f->pretty[0], NULL);
    put(f, &p[NDOCS]);
    rep_fill(&p[NDOCS + 1], "rl", "a1", 21, 2001, f->canon[1], f->canon[1], f->eventlog_b64);
    put(f, &p[NDOCS + 1]);
    rep_fill(&p[NDOCS + 2], "rn", "a1", 22, 2002, f->canon[2], NULL, NULL);
    put(f, &p[NDOCS + 2]);
    for (i = 0; i < NDOCS + 3; i++)
        check_get(f, &p[i]);
    memset(&b, 0, sizeof(b));
    assert_int_equal(srv_store_pack_reports(f->s, 1, 0, 10000, collect_body, &b), 0);
    assert_int_equal(b.n, (int)NDOCS + 3);
    for (i = 0; i < NDOCS + 2; i++)
        assert_string_equal(body_of(&b, p[i].r.id), p[i].body);
    assert_null(body_of(&b, "rn"));
    bodies_free(&b);
    /* stored compressed, the evidence once (not again in the body): the
     * records and blobs hold less than a third of the texts put */
    {
        int64_t texts = 0, stored;

        for (i = 0; i < NDOCS + 3; i++)
            texts += (int64_t)(strlen(p[i].r.evidence_json) + strlen(p[i].verdict) +
                               strlen(p[i].transcript) + strlen(p[i].receipt) +
                               (p[i].body != NULL ? strlen(p[i].body) : 0));
        stored = count(f->path, "SELECT sum(length(packed)) FROM reports") +
                 count(f->path, "SELECT sum(length(data)) FROM blobs");
        print_message("%lld bytes of texts stored as %lld\n", (long long)texts, (long long)stored);
        assert_true(stored * 3 < texts);
    }
    assert_int_equal(count(f->path, "SELECT count(*) FROM report_bodies"), 0);
    for (i = 0; i < NDOCS + 3; i++)
        free(p[i].body);
}

/* A caller that hashed the evidence hands the digest over: the store keys
 * the evidence set by it without hashing the text again, and the reports
 * read back exactly as when the store hashed the text itself. The digests
 * come from OpenSSL's one-shot SHA256, not from the store. */
static void test_caller_digest(void **state)
{
    struct fixture *f = *state;
    struct rep p[3];
    unsigned char d[3][SHA256_DIGEST_LENGTH];
    size_t i;

    make_agent(f->s, "a1", "ek1");
    for (i = 0; i < 3; i++) {
        char id[16];

        snprintf(id, sizeof(id), "r%zu", i);
        rep_fill(&p[i], id, "a1", (int)i + 1, 1000 + (int64_t)i, f->canon[i], f->canon[i], NULL);
        SHA256((const unsigned char *)f->canon[i], strlen(f->canon[i]), d[i]);
    }
    /* the digest given, evidence_sha256 its hex: keyed by evidence_sha256 */
    p[0].r.evidence_digest = d[0];
    put(f, &p[0]);
    /* none given: the store hashes, the same outcome */
    put(f, &p[1]);
    assert_int_equal(count(f->path, "SELECT count(*) FROM reports WHERE evidence_digest IS NULL"),
                     2);
    /* given while evidence_sha256 names something else: the given digest is
     * the set's own key, stored beside the report, and the text reads back */
    p[2].r.evidence_digest = d[2];
    memset(p[2].r.evidence_sha256, 'e', 64);
    put(f, &p[2]);
    assert_int_equal(count(f->path, "SELECT count(*) FROM reports WHERE id = 'r2' AND"
                                    " evidence_digest IS NOT NULL"),
                     1);
    for (i = 0; i < 3; i++) {
        check_get(f, &p[i]);
        free(p[i].body);
    }
    /* the digest is taken as given, not computed again: a wrong one is
     * caught when the report is read (never other data) */
    {
        struct rep w;
        struct srv_report *got = NULL;

        rep_fill(&w, "r3", "a1", 4, 1003, f->canon[3], f->canon[3], NULL);
        memset(w.r.evidence_sha256, 'f', 64);
        w.r.evidence_digest = d[0];
        put(f, &w);
        assert_int_equal(srv_store_report_get(f->s, "r3", &got), DA_ERR_STORE_CORRUPT);
        assert_null(got);
        free(w.body);
    }
}

/* The store compresses a report's record before its write against the
 * agent's base as this process last saw it. When the base changed in the
 * database meanwhile (removed, or another base named by the agent's row, as
 * another instance or the retention leaves it), the report is still stored
 * against the base the database holds and reads back byte for byte. */
static void test_base_changed_behind_store(void **state)
{
    struct fixture *f = *state;
    struct rep p[4];
    size_t i;

    make_agent(f->s, "a1", "ek1");
    make_agent(f->s, "a2", "ek2");
    rep_fill(&p[0], "r0", "a1", 1, 1000, f->canon[0], f->canon[0], NULL);
    put(f, &p[0]);
    rep_fill(&p[1], "r1", "a1", 2, 1001, f->canon[0], f->canon[0], NULL);
    put(f, &p[1]); /* against r0's base */
    assert_int_equal(
        count(f->path, "SELECT count(*) FROM blobs WHERE agent_id = 'a1' AND kind = 3"), 1);
    /* the base gone (as the retention removes it once no kept report
     * needs it) while the store is open */
    exec_raw(f->path, "DELETE FROM blobs WHERE agent_id = 'a1' AND kind = 3");
    rep_fill(&p[2], "r2", "a1", 3, 1002, f->canon[0], f->canon[0], NULL);
    put(f, &p[2]);
    assert_int_equal(
        count(f->path, "SELECT count(*) FROM blobs WHERE agent_id = 'a1' AND kind = 3"), 1);
    check_get(f, &p[2]);
    /* the agent's row names another base (a2's, of the same document,
     * copied under a1): the record is compressed against that one */
    rep_fill(&p[3], "r3", "a2", 4, 1003, f->canon[0], f->canon[0], NULL);
    put(f, &p[3]);
    exec_raw(f->path, "INSERT INTO blobs (agent_id, sha256, kind, size, data, last_used_at)"
                      " SELECT 'a1', sha256, kind, size, data, last_used_at FROM blobs"
                      " WHERE agent_id = 'a2' AND kind = 3");
    exec_raw(f->path, "UPDATE agents SET pack_base = (SELECT pack_base FROM agents WHERE id = 'a2')"
                      " WHERE id = 'a1'");
    free(p[2].body);
    rep_fill(&p[2], "r4", "a1", 5, 1004, f->canon[0], f->canon[0], NULL);
    put(f, &p[2]);
    assert_int_equal(count(f->path, "SELECT count(*) FROM reports r JOIN agents a ON a.id = 'a2'"
                                    " WHERE r.id = 'r4' AND r.pack_base = a.pack_base"),
                     1);
    check_get(f, &p[2]);
    check_get(f, &p[3]);
    for (i = 0; i < 4; i++)
        free(p[i].body); /* r0 and r1 went with their base */
}

/* Areas of at least SRV_PACK_CUT_MIN bytes (canonical value), and the
 * first of them. */
static size_t large_areas(const cJSON *doc, const cJSON **first)
{
    const cJSON *c;
    size_t n = 0;

    *first = NULL;
    cJSON_ArrayForEach(c, doc)
    {
        struct da_buf b;

        da_buf_init(&b, DA_MAX_EVIDENCE);
        assert_int_equal(da_jcs_serialize(c, &b), 0);
        if (da_buf_len(&b) >= SRV_PACK_CUT_MIN) {
            if (*first == NULL && cJSON_IsObject(c))
                *first = c;
            n++;
        }
        da_buf_free(&b);
    }
    return n;
}

/* A large area unchanged is stored once per agent, a changed one once more,
 * a short one goes with the report's record; two agents with the same
 * document each have their own copy. */
static void test_dedupe_per_agent_only(void **state)
{
    struct fixture *f = *state;
    struct rep p;
    int64_t a1, a2;
    const cJSON *big = NULL;
    cJSON *doc;
    char *changed;
    size_t areas;

    make_agent(f->s, "a1", "ek1");
    make_agent(f->s, "a2", "ek2");
    doc = cJSON_Parse(f->canon[1]);
    assert_non_null(doc);
    areas = large_areas(doc, &big);
    assert_true(areas >= 3);
    assert_true((size_t)cJSON_GetArraySize(doc) > areas); /* some are short */
    assert_non_null(big);
    rep_fill(&p, "r1", "a1", 1, 1000, f->canon[1], NULL, NULL);
    put(f, &p);
    a1 = count(f->path, "SELECT count(*) FROM blobs WHERE agent_id = 'a1' AND kind = 1");
    assert_int_equal(a1, (int64_t)areas);
    assert_int_equal(
        count(f->path, "SELECT count(*) FROM blobs WHERE agent_id = 'a1' AND kind = 2"), 1);
    rep_fill(&p, "r2", "a1", 3, 1001, f->canon[1], NULL, NULL); /* same verdict text */
    put(f, &p);
    assert_int_equal(
        count(f->path, "SELECT count(*) FROM blobs WHERE agent_id = 'a1' AND kind = 1"), a1);
    assert_int_equal(
        count(f->path, "SELECT count(*) FROM blobs WHERE agent_id = 'a1' AND kind = 2"), 1);
    /* a short area changes (the time): no blob */
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "time"),
                                           "synchronized", cJSON_CreateString("changed"));
    changed = cJSON_PrintUnformatted(doc);
    assert_non_null(changed);
    {
        char *c = canonical(changed);

        free(changed);
        changed = c;
    }
    rep_fill(&p, "r3", "a1", 5, 1002, changed, NULL, NULL);
    put(f, &p);
    check_get(f, &p);
    assert_int_equal(
        count(f->path, "SELECT count(*) FROM blobs WHERE agent_id = 'a1' AND kind = 1"), a1);
    /* a large area changes: one more blob */
    cJSON_AddStringToObject(DA_UNCONST(big), "zz_changed", "yes");
    free(changed);
    changed = cJSON_PrintUnformatted(doc);
    assert_non_null(changed);
    {
        char *c = canonical(changed);

        free(changed);
        changed = c;
    }
    rep_fill(&p, "r5", "a1", 7, 1003, changed, NULL, NULL);
    put(f, &p);
    check_get(f, &p);
    assert_int_equal(
        count(f->path, "SELECT count(*) FROM blobs WHERE agent_id = 'a1' AND kind = 1"), a1 + 1);
    /* the second agent, same document: its own blobs, none shared */
    rep_fill(&p, "r4", "a2", 1, 1000, f->canon[1], NULL, NULL);
    put(f, &p);
    check_get(f, &p);
    a2 = count(f->path, "SELECT count(*) FROM blobs WHERE agent_id = 'a2' AND kind = 1");
    assert_int_equal(a2, (int64_t)areas);
    assert_int_equal(count(f->path, "SELECT count(*) FROM blobs b JOIN blobs c ON"
                                    " c.sha256 = b.sha256 AND c.agent_id = 'a2' AND c.kind = 1"
                                    " WHERE b.agent_id = 'a1' AND b.kind = 1"),
                     (int64_t)areas); /* the same digests, each agent its own rows */
    free(changed);
    cJSON_Delete(doc);
}

/* The blobs of one report are looked up together: an area whose value
 * repeats another area's, and a body member equal to an area, are stored
 * once; a blob's last use moves when it is more than a day old and not
 * before; every report reads back byte for byte. */
static void test_blobs_of_one_report(void **state)
{
    struct fixture *f = *state;
    char big[600], evidence[2048], verdict_sql[160];
    struct rep p;
    size_t i;

    make_agent(f->s, "a1", "ek1");
    for (i = 0; i + 1 < sizeof(big); i++)
        big[i] = (char)('a' + i % 26);
    big[sizeof(big) - 1] = '\0';
    /* canonical: keys sorted, two large areas with the same value */
    snprintf(evidence, sizeof(evidence), "{\"a\":\"%s\",\"b\":\"%s\",\"c\":1}", big, big);
    rep_fill(&p, "r1", "a1", 1, 10 * DAY, evidence, evidence, NULL);
    put(f, &p);
    check_get(f, &p);
    free(p.body);
    /* one area blob for both areas (the body's evidence is the report's) */
    assert_int_equal(
        count(f->path, "SELECT count(*) FROM blobs WHERE agent_id = 'a1' AND kind = 1"), 1);
    assert_int_equal(count(f->path, "SELECT count(*) FROM blobs WHERE agent_id = 'a1'"
                                    " AND last_used_at = 864000"),
                     count(f->path, "SELECT count(*) FROM blobs WHERE agent_id = 'a1'"));
    /* half a day later: nothing moves */
    rep_fill(&p, "r2", "a1", 3, 10 * DAY + DAY / 2, evidence, evidence, NULL);
    put(f, &p);
    check_get(f, &p);
    free(p.body);
    assert_int_equal(count(f->path, "SELECT count(*) FROM blobs WHERE agent_id = 'a1' AND kind = 1"
                                    " AND last_used_at = 864000"),
                     1);
    /* more than a day after its last use: the area and the verdict move */
    rep_fill(&p, "r3", "a1", 5, 11 * DAY + 1, evidence, evidence, NULL);
    put(f, &p);
    check_get(f, &p);
    free(p.body);
    assert_int_equal(count(f->path, "SELECT count(*) FROM blobs WHERE agent_id = 'a1' AND kind = 1"
                                    " AND last_used_at = 950401"),
                     1);
    snprintf(verdict_sql, sizeof(verdict_sql),
             "SELECT count(*) FROM blobs WHERE agent_id = 'a1' AND kind = 2"
             " AND last_used_at = %d",
             11 * DAY + 1);
    assert_int_equal(count(f->path, verdict_sql), 1); /* seq 1, 5: the same verdict text */
    assert_int_equal(
        count(f->path, "SELECT count(*) FROM blobs WHERE agent_id = 'a1' AND kind = 1"), 1);
    assert_int_equal(srv_store_integrity_check(f->s), 0);
}

struct put_arg {
    struct fixture *f;
    struct rep *p;
    int rc;
};

static void *put_thread(void *arg)
{
    struct put_arg *a = arg;

    a->rc = srv_store_report_put(a->f->s, &a->p->r);
    return NULL;
}

static void pq_ok(PGconn *c, const char *sql, ExecStatusType want)
{
    PGresult *r = PQexec(c, sql);

    if (PQresultStatus(r) != want)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

/* PostgreSQL runs a report's transaction at READ COMMITTED with the agent's
 * row locked: a blob the report found, then found gone when it moves its
 * last use (another transaction deleted it in between, as the retention
 * sweep does), makes the report run again and store the blob anew; no
 * report is left naming a blob that is not there. */
static void test_blob_gone_under_report(void **state)
{
    struct fixture *f = *state;
    struct rep p1, p2;
    struct put_arg a;
    pthread_t t;
    PGconn *x;
    int64_t areas;
    char waiting[32] = "";

    if (!da_test_store_is_pg())
        skip(); /* one writer: nothing can come between */
    make_agent(f->s, "a1", "ek1");
    rep_fill(&p1, "r1", "a1", 1, 10 * DAY, f->canon[1], NULL, NULL);
    put(f, &p1);
    areas = count(f->path, "SELECT count(*) FROM blobs WHERE agent_id = 'a1' AND kind = 1");
    assert_true(areas >= 3);
    /* another transaction deletes the area blobs and holds them locked */
    x = PQconnectdb(f->path);
    assert_int_equal(PQstatus(x), CONNECTION_OK);
    pq_ok(x, "BEGIN", PGRES_COMMAND_OK);
    pq_ok(x, "DELETE FROM blobs WHERE agent_id = 'a1' AND kind = 1", PGRES_COMMAND_OK);
    /* two days later: the report finds them (the delete is not committed)
     * and moves their last use, which waits for the delete */
    rep_fill(&p2, "r2", "a1", 3, 12 * DAY, f->canon[1], NULL, NULL);
    a.f = f;
    a.p = &p2;
    a.rc = -1;
    assert_int_equal(pthread_create(&t, NULL, put_thread, &a), 0);
    for (int i = 0; i < 400 && strcmp(waiting, "1|") != 0; i++) {
        struct timespec ts = {0, 25 * 1000000L};

        nanosleep(&ts, NULL);
        assert_int_equal(da_test_pg_exec(f->path,
                                         "SELECT count(*) FROM pg_stat_activity WHERE"
                                         " datname = current_database() AND wait_event_type ="
                                         " 'Lock' AND query LIKE 'UPDATE blobs%'",
                                         waiting, sizeof(waiting)),
                         0);
    }
    assert_string_equal(waiting, "1|"); /* the report waits on the deleted row */
    pq_ok(x, "COMMIT", PGRES_COMMAND_OK);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(a.rc, 0);
    PQfinish(x);
    /* stored anew: both reports read back byte for byte */
    assert_int_equal(
        count(f->path, "SELECT count(*) FROM blobs WHERE agent_id = 'a1' AND kind = 1"), areas);
    check_get(f, &p2);
    check_get(f, &p1);
    assert_int_equal(srv_store_integrity_check(f->s), 0);
}

/* Drops what schemas 10, 11 and 13 added, as a database of 8 (or 9) has it
 * (12 builds its tables afresh when it runs again). */
#define DOWNGRADE_10                                                                               \
    "DROP INDEX pending_seen_gone; ALTER TABLE pending_seen DROP COLUMN gone_at;"                  \
    "DELETE FROM schema_version WHERE version = 13;"                                               \
    "DELETE FROM schema_version WHERE version = 12;"                                               \
    "DROP INDEX agents_created; DROP INDEX agents_vendor_created;"                                 \
    "DELETE FROM schema_version WHERE version = 11;"                                               \
    "DROP TABLE blobs;"                                                                            \
    "ALTER TABLE reports DROP COLUMN format; ALTER TABLE reports DROP COLUMN packed;"              \
    "ALTER TABLE reports DROP COLUMN verdict_sha256; ALTER TABLE reports DROP COLUMN pack_base;"   \
    "ALTER TABLE reports DROP COLUMN evidence_digest; ALTER TABLE reports DROP COLUMN pruned_at;"  \
    "ALTER TABLE agents DROP COLUMN pack_base; ALTER TABLE agents DROP COLUMN pruned_through;"     \
    "DELETE FROM schema_version WHERE version = 10;"

static void migrate_from(void **state, bool with_9)
{
    struct fixture *f = *state;
    struct rep p[3], q;
    struct bodies b;
    int version = 0, i;

    make_agent(f->s, "a1", "ek1");
    srv_store_write_format(f->s, 0); /* full texts, as servers of schema 8 wrote */
    for (i = 0; i < 3; i++) {
        char id[8];

        snprintf(id, sizeof(id), "old%d", i);
        rep_fill(&p[i], id, "a1", i + 1, 1000 + i, f->canon[i], f->pretty[i],
                 i == 2 ? f->eventlog_b64 : NULL);
        put(f, &p[i]);
    }
    srv_store_close(f->s);
    f->s = NULL;
    exec_raw(f->path, with_9 ? "BEGIN;" DOWNGRADE_10 "COMMIT;"
                             : "BEGIN;" DOWNGRADE_10 "ALTER TABLE agents DROP COLUMN ek_issuer;"
                               "ALTER TABLE agents DROP COLUMN ek_serial;"
                               "ALTER TABLE agents DROP COLUMN ek_root;"
                               "ALTER TABLE challenges DROP COLUMN ek_issuer;"
                               "ALTER TABLE challenges DROP COLUMN ek_serial;"
                               "ALTER TABLE challenges DROP COLUMN ek_root;"
                               "DELETE FROM schema_version WHERE version = 9; COMMIT;");
    assert_int_equal(count(f->path, "SELECT max(version) FROM schema_version"), with_9 ? 9 : 8);
    assert_int_equal(srv_store_open(f->path, 8, 3600, &f->s), 0);
    assert_int_equal(srv_store_schema_version(f->s, &version), 0);
    assert_int_equal(version, 13);
    assert_int_equal(srv_store_integrity_check(f->s), 0);
    /* the full reports read as before, bodies byte for byte */
    for (i = 0; i < 3; i++)
        check_get(f, &p[i]);
    memset(&b, 0, sizeof(b));
    assert_int_equal(srv_store_pack_reports(f->s, 1, 0, 10000, collect_body, &b), 0);
    for (i = 0; i < 3; i++)
        assert_string_equal(body_of(&b, p[i].r.id), p[i].body);
    bodies_free(&b);
    /* new reports are compact, beside them */
    rep_fill(&q, "new1", "a1", 9, 2000, f->canon[3], f->canon[3], NULL);
    put(f, &q);
    check_get(f, &q);
    assert_int_equal(count(f->path, "SELECT count(*) FROM reports WHERE format = 1"), 1);
    assert_int_equal(count(f->path, "SELECT count(*) FROM reports WHERE format = 0"), 3);
    for (i = 0; i < 3; i++)
        free(p[i].body);
    free(q.body);
}

/* (SQLite's upgrade path; a PostgreSQL database begins at schema 8 with
 * no reports stored in the old format.) */
static void test_migration_from_8(void **state)
{
    if (da_test_store_is_pg())
        skip();
    migrate_from(state, false);
}

static void test_migration_from_9(void **state)
{
    if (da_test_store_is_pg())
        skip();
    migrate_from(state, true);
}

/* Retention: exactly the reports received before the cutoff lose evidence,
 * transcript and body, in bounded batches; their verdict, digests and
 * receipt remain; what only they used is deleted, what newer reports use
 * is kept; format 0 rows from before the migration are pruned alike. */
static void test_retention_prunes_exactly_older(void **state)
{
    struct fixture *f = *state;
    struct rep old[3], young[3], gone[3], legacy;
    struct srv_report *got = NULL;
    struct bodies b;
    cJSON *o = NULL;
    int pruned = 0, total = 0, i, calls = 0;
    bool more = true;
    int64_t now = 20 * DAY, cutoff = 10 * DAY, blobs_before;

    make_agent(f->s, "a1", "ek1");
    make_agent(f->s, "a2", "ek2");
    srv_store_write_format(f->s, 0);
    rep_fill(&legacy, "legacy", "a2", 1, 1 * DAY, f->canon[4], f->canon[4], NULL);
    put(f, &legacy);
    srv_store_write_format(f->s, 1);
    for (i = 0; i < 3; i++) {
        char id[8];

        /* doc 0 only before the cutoff; doc 1 before and after */
        snprintf(id, sizeof(id), "old%d", i);
        rep_fill(&old[i], id, "a1", i + 1, 2 * DAY + i, f->canon[i == 0 ? 0 : 1],
                 f->canon[i == 0 ? 0 : 1], i == 0 ? f->eventlog_b64 : NULL);
        put(f, &old[i]);
    }
    for (i = 0; i < 3; i++) {
        char id[8];

        snprintf(id, sizeof(id), "young%d", i);
        rep_fill(&young[i], id, "a1", i + 11, cutoff + i, f->canon[1], f->canon[1], NULL);
        put(f, &young[i]);
    }
    /* an agent silent since before the cutoff: every piece of it goes, but
     * only after each of its reports was shortened (each needs its base) */
    make_agent(f->s, "a3", "ek3");
    for (i = 0; i < 3; i++) {
        char id[8];

        snprintf(id, sizeof(id), "gone%d", i);
        rep_fill(&gone[i], id, "a3", i + 1, 3 * DAY + i * DAY, f->canon[3 + i], f->canon[3 + i],
                 NULL);
        put(f, &gone[i]);
    }
    blobs_before = count(f->path, "SELECT count(*) FROM blobs");
    /* batches of 2: 7 old reports take at least four transactions */
    while (more && calls < 200) {
        assert_int_equal(srv_store_retention_sweep(f->s, cutoff, now, 2, &pruned, &more), 0);
        assert_true(pruned <= 2);
        total += pruned;
        calls++;
    }
    assert_false(more);
    assert_true(calls >= 4);
    assert_int_equal(total, 7);
    assert_int_equal(count(f->path, "SELECT count(*) FROM reports WHERE pruned_at <> 0"), 7);
    assert_int_equal(count(f->path, "SELECT count(*) FROM reports WHERE pruned_at <> 0"
                                    " AND received_at >= 864000"),
                     0);
    for (i = 0; i < 3; i++) {
        check_get(f, &young[i]);
        assert_int_equal(srv_store_report_get(f->s, old[i].r.id, &got), 0);
        assert_int_equal(got->pruned_at, now);
        assert_null(got->evidence_json);
        assert_null(got->transcript_json);
        assert_string_equal(got->verdict_json, old[i].verdict);
        assert_string_equal(got->receipt_json, old[i].receipt);
        assert_string_equal(got->evidence_sha256, old[i].r.evidence_sha256);
        /* the API shows when, not the evidence */
        assert_int_equal(srv_render_report(got, true, &o), 0);
        assert_null(cJSON_GetObjectItemCaseSensitive(o, "evidence"));
        assert_null(cJSON_GetObjectItemCaseSensitive(o, "transcript"));
        assert_non_null(cJSON_GetObjectItemCaseSensitive(o, "evidence_pruned_at"));
        assert_non_null(cJSON_GetObjectItemCaseSensitive(o, "receipt"));
        cJSON_Delete(o);
        srv_report_free(got);
    }
    for (i = 0; i < 3; i++) {
        assert_int_equal(srv_store_report_get(f->s, gone[i].r.id, &got), 0);
        assert_int_equal(got->pruned_at, now);
        assert_string_equal(got->verdict_json, gone[i].verdict);
        assert_string_equal(got->receipt_json, gone[i].receipt);
        srv_report_free(got);
    }
    /* of the silent agent only its verdicts remain (pruned reports name them) */
    assert_int_equal(count(f->path, "SELECT count(*) FROM blobs WHERE agent_id = 'a3'"
                                    " AND kind <> 2"),
                     0);
    assert_int_equal(srv_store_report_get(f->s, "legacy", &got), 0);
    assert_int_equal(got->pruned_at, now);
    assert_null(got->evidence_json);
    assert_string_equal(got->receipt_json, legacy.receipt);
    srv_report_free(got);
    /* the export has no body or transcript for pruned reports */
    memset(&b, 0, sizeof(b));
    assert_int_equal(srv_store_pack_reports(f->s, 1, 0, 30 * DAY, collect_body, &b), 0);
    assert_int_equal(b.n, 10);
    for (i = 0; i < 3; i++) {
        assert_null(body_of(&b, old[i].r.id));
        assert_string_equal(body_of(&b, young[i].r.id), young[i].body);
    }
    bodies_free(&b);
    /* doc 0's own areas and the event log went; doc 1's stay (young use them) */
    assert_true(count(f->path, "SELECT count(*) FROM blobs") < blobs_before);
    /* a second run finds nothing more */
    assert_int_equal(srv_store_retention_sweep(f->s, cutoff, now, 2, &pruned, &more), 0);
    assert_int_equal(pruned, 0);
    assert_int_equal(srv_store_integrity_check(f->s), 0);
    for (i = 0; i < 3; i++) {
        free(old[i].body);
        free(young[i].body);
        free(gone[i].body);
    }
    free(legacy.body);
}

static int64_t file_size(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return (int64_t)st.st_size;
}

/* Space that retention frees goes back to the file system: reports of 40
 * agents (every document, with a firmware event log), all pruned but one
 * agent's newest; the free pages stay in the file (SQLite's own count,
 * PRAGMA freelist_count, and the file's size as the file system reports
 * it, after the checkpoint of a close) until srv_store_reclaim gives them
 * back in bounded steps; then the file is smaller by those pages, nothing
 * is free, and what was kept reads back. PostgreSQL reuses free space
 * itself: nothing to do there. */
static void test_retention_gives_space_back(void **state)
{
    struct fixture *f = *state;
    static struct rep reps[40][NDOCS];
    int64_t now = 2000 * DAY, cutoff = 1000 * DAY, left = -1, page, s1, s2, s3, f1, f2;
    int pruned = 0, steps = 0, a;
    bool more = true;
    size_t i;

    for (a = 0; a < 40; a++) {
        char agent[8], ek[8];

        snprintf(agent, sizeof(agent), "a%02d", a);
        snprintf(ek, sizeof(ek), "ek%02d", a);
        make_agent(f->s, agent, ek);
        for (i = 0; i < NDOCS; i++) {
            char id[16];

            snprintf(id, sizeof(id), "r%02d_%zu", a, i);
            rep_fill(&reps[a][i], id, agent, (int)i + 1,
                     (a == 0 && i == NDOCS - 1 ? cutoff + DAY : DAY) + (int64_t)i, f->canon[i],
                     f->canon[i], f->eventlog_b64);
            put(f, &reps[a][i]);
        }
    }
    if (da_test_store_is_pg()) {
        assert_int_equal(srv_store_reclaim(f->s, 64, &left), 0);
        assert_int_equal(left, 0);
        goto out;
    }
    assert_int_equal(count(f->path, "PRAGMA auto_vacuum"), 2); /* incremental */
    page = count(f->path, "PRAGMA page_size");
    srv_store_close(f->s); /* the last close checkpoints: the file has every page */
    f->s = NULL;
    s1 = file_size(f->path);
    f1 = count(f->path, "PRAGMA freelist_count");
    assert_int_equal(srv_store_open(f->path, 8, 3600, &f->s), 0);
    while (more && pruned < 10000) {
        int n = 0;

        assert_int_equal(srv_store_retention_sweep(f->s, cutoff, now, 1000, &n, &more), 0);
        pruned += n;
    }
    assert_int_equal(pruned, 40 * (int)NDOCS - 1);
    srv_store_close(f->s);
    f->s = NULL;
    s2 = file_size(f->path);
    f2 = count(f->path, "PRAGMA freelist_count");
    /* pruning alone frees pages inside the file, the file keeps its size */
    assert_true(s2 >= s1);
    assert_true(f2 > f1 + 100);
    assert_true(f2 * page > s1 / 2);
    print_message("retention: file %lld bytes, %lld of its %lld-byte pages free\n", (long long)s2,
                  (long long)f2, (long long)page);
    assert_int_equal(srv_store_open(f->path, 8, 3600, &f->s), 0);
    assert_int_equal(srv_store_reclaim(f->s, 0, &left), DA_ERR_INVALID_ARG);
    assert_int_equal(srv_store_reclaim(f->s, SRV_RECLAIM_PAGES_MAX + 1, &left), DA_ERR_INVALID_ARG);
    left = -1;
    do { /* 64 pages a step: each step gives back at most that many */
        int64_t before = left;

        assert_int_equal(srv_store_reclaim(f->s, 64, &left), 0);
        assert_true(before < 0 || (left < before && before - left <= 64));
        steps++;
    } while (left > 0 && steps < 100000);
    assert_int_equal(left, 0);
    assert_true(steps >= (int)(f2 / 64));
    /* nothing free: a step is no write at all and says 0 */
    assert_int_equal(srv_store_reclaim(f->s, 64, &left), 0);
    assert_int_equal(left, 0);
    assert_int_equal(srv_store_integrity_check(f->s), 0);
    check_get(f, &reps[0][NDOCS - 1]);
    srv_store_close(f->s);
    f->s = NULL;
    s3 = file_size(f->path);
    print_message("after %d steps: file %lld bytes (%lld before), %lld pages free\n", steps,
                  (long long)s3, (long long)s2, (long long)count(f->path, "PRAGMA freelist_count"));
    assert_int_equal(count(f->path, "PRAGMA freelist_count"), 0);
    assert_true(s3 <= s2 - (f2 - f2 / 50) * page);
    assert_int_equal(srv_store_open(f->path, 8, 3600, &f->s), 0);
    check_get(f, &reps[0][NDOCS - 1]);
out:
    for (a = 0; a < 40; a++)
        for (i = 0; i < NDOCS; i++)
            free(reps[a][i].body);
}

/* A database file made before the store set auto-vacuum (none) is
 * converted once when it is opened: every report reads back, the file
 * passes its integrity check, and later opens leave it as it is. */
static void test_auto_vacuum_converted(void **state)
{
    struct fixture *f = *state;
    struct rep p;

    if (da_test_store_is_pg())
        skip();
    make_agent(f->s, "a1", "ek1");
    rep_fill(&p, "r1", "a1", 1, 1000, f->canon[1], f->canon[1], f->eventlog_b64);
    put(f, &p);
    srv_store_close(f->s);
    f->s = NULL;
    exec_raw(f->path, "PRAGMA auto_vacuum = NONE; VACUUM;");
    assert_int_equal(count(f->path, "PRAGMA auto_vacuum"), 0);
    assert_int_equal(srv_store_open(f->path, 8, 3600, &f->s), 0);
    srv_store_close(f->s);
    f->s = NULL;
    assert_int_equal(count(f->path, "PRAGMA auto_vacuum"), 2);
    assert_int_equal(srv_store_open(f->path, 8, 3600, &f->s), 0);
    assert_int_equal(srv_store_integrity_check(f->s), 0);
    check_get(f, &p);
    free(p.body);
}

/* SQL: the column with its middle byte changed. */
#define FLIP(c)                                                                                    \
    "substr(" c ", 1, length(" c ") / 2) || CASE WHEN substr(" c ", length(" c ") / 2 + 1, 1)"     \
    " = x'00' THEN x'01' ELSE x'00' END || substr(" c ", length(" c ") / 2 + 2)"

static void corrupt_and_expect(struct fixture *f, const char *sql, const char *report)
{
    struct srv_report *got = NULL;

    srv_store_close(f->s);
    f->s = NULL;
    exec_raw(f->path, sql);
    assert_int_equal(srv_store_open(f->path, 8, 3600, &f->s), 0);
    assert_int_equal(srv_store_report_get(f->s, report, &got), DA_ERR_STORE_CORRUPT);
    assert_null(got);
}

/* A blob whose content no longer hashes to its digest, a damaged frame, a
 * damaged record or a missing blob is DA_ERR_STORE_CORRUPT, never other
 * data. */
static void test_corrupt_blob_detected(void **state)
{
    struct fixture *f = *state;
    struct rep p;
    unsigned char *z = NULL;
    size_t zlen = 0, i;
    char sql[1536], hex[1024];
    const char *other = "{\"other\":\"content\"}";

    make_agent(f->s, "a1", "ek1");
    make_agent(f->s, "a2", "ek2");
    make_agent(f->s, "a3", "ek3");
    make_agent(f->s, "a4", "ek4");
    rep_fill(&p, "r1", "a1", 1, 1000, f->canon[2], f->canon[2], NULL);
    put(f, &p);
    check_get(f, &p);
    /* a well-formed frame of other content under an area's digest */
    assert_int_equal(srv_zstd_compress(other, strlen(other), NULL, 0, &z, &zlen), 0);
    assert_true(2 * zlen < sizeof(hex));
    for (i = 0; i < zlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", z[i]);
    free(z);
    snprintf(sql, sizeof(sql),
             "UPDATE blobs SET data = x'%s' WHERE agent_id = 'a1' AND kind = 1 AND"
             " sha256 = (SELECT sha256 FROM blobs WHERE agent_id = 'a1' AND kind = 1"
             " ORDER BY sha256 LIMIT 1)",
             hex);
    corrupt_and_expect(f, sql, "r1");

    free(p.body);
    rep_fill(&p, "r2", "a2", 2, 1001, f->canon[3], f->canon[3], NULL);
    put(f, &p);
    check_get(f, &p);
    /* one byte of the verdict's frame flipped */
    corrupt_and_expect(
        f,
        "UPDATE blobs SET data = CAST(" FLIP("data") " AS BLOB)"
                                                     " WHERE agent_id = 'a2' AND kind = 2",
        "r2");

    free(p.body);
    rep_fill(&p, "r3", "a3", 3, 1002, f->canon[3], f->canon[3], NULL);
    put(f, &p);
    check_get(f, &p);
    /* the report's own record damaged */
    corrupt_and_expect(f,
                       "UPDATE reports SET packed = CAST(" FLIP("packed") " AS BLOB)"
                                                                          " WHERE id = 'r3'",
                       "r3");
    /* and a blob gone */
    free(p.body);
    rep_fill(&p, "r4", "a4", 4, 1003, f->canon[4], f->canon[4], NULL);
    put(f, &p);
    check_get(f, &p);
    corrupt_and_expect(f, "DELETE FROM blobs WHERE agent_id = 'a4' AND kind = 3", "r4");
    free(p.body);
}

/* The span scanner and the record format on their own. */
static void test_pack_formats(void **state)
{
    struct srv_json_member m[8];
    struct srv_pack_rec rec, back;
    unsigned char *raw = NULL;
    size_t n = 0, len = 0;
    const char *t = " { \"a\" : [1,{\"x\":\"}]\\\"\"}] , \"b\":\"q\\\\\",\"c\":-1.5e3 } ";

    (void)state;
    assert_true(srv_json_members(t, strlen(t), m, 8, &n));
    assert_int_equal(n, 3);
    assert_int_equal(m[0].val_len, strlen("[1,{\"x\":\"}]\\\"\"}]"));
    assert_memory_equal(t + m[1].val_off, "\"q\\\\\"", m[1].val_len);
    assert_memory_equal(t + m[2].val_off, "-1.5e3", m[2].val_len);
    assert_false(srv_json_members("{\"a\":[}", 7, m, 8, &n));
    assert_false(srv_json_members("{\"a\":1}x", 8, m, 8, &n));
    assert_false(srv_json_members("[1]", 3, m, 8, &n));
    assert_false(srv_json_members("{\"a\":1,\"b\":2}", 13, m, 1, &n));
    assert_true(srv_json_members("{}", 2, m, 8, &n));
    assert_int_equal(n, 0);

    memset(&rec, 0, sizeof(rec));
    rec.receipt = "R";
    rec.receipt_len = 1;
    rec.skeleton = "{\"e\":}";
    rec.skeleton_len = 6;
    rec.subs[0].offset = 5;
    rec.subs[0].kind = SRV_PACK_SUB_EVIDENCE;
    rec.n_subs = 1;
    assert_int_equal(srv_pack_rec_write(&rec, &raw, &len), 0);
    assert_int_equal(srv_pack_rec_read(raw, len, &back), 0);
    assert_null(back.transcript);
    assert_int_equal(back.receipt_len, 1);
    assert_int_equal(back.n_subs, 1);
    assert_int_equal(back.subs[0].offset, 5);
    assert_int_equal(srv_pack_rec_read(raw, len - 1, &back), DA_ERR_STORE_CORRUPT);
    raw[len - 1] = 9; /* an unknown kind */
    assert_int_equal(srv_pack_rec_read(raw, len, &back), DA_ERR_STORE_CORRUPT);
    free(raw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip_real_documents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedupe_per_agent_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blobs_of_one_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blob_gone_under_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_caller_digest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_base_changed_behind_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_9, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_prunes_exactly_older, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_gives_space_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_vacuum_converted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_blob_detected, setup, teardown),
        cmocka_unit_test(test_pack_formats),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

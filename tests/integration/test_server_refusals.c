/* devattest-server refusals through the API, over TLS on loopback.
 *
 * Quotes come from a software key in the TPM's wire format
 * (tests/support/tpm_soft.h), so that every check of the verification core
 * can be failed on purpose: each refusal must answer its code, leave every
 * table but the audit log as it was, keep the nonce usable, and be audited.
 * Then SQL metacharacters in every string field and path segment, and a
 * report that is still being uploaded when SIGTERM arrives. */
#include "da_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <sqlite3.h>

#include "digest.h"
#include "encoding.h"
#include "err.h"
#include "jcs.h"
#include "nonce.h"
#include "quote.h"
#include "server_harness.h"
#include "store.h"
#include "tpm_public.h"
#include "tpm_soft.h"
#include "picky.h"

#define AGENT_ID   "5afe5afe5afe5afe5afe5afe5afe5afe"
#define UNRESTR_ID "0b5e0b5e0b5e0b5e0b5e0b5e0b5e0b5e"
#define SPARE_ID   "5ba7e5ba7e5ba7e5ba7e5ba7e5ba7e00"

#define BASE_CONFIG "rate_per_agent = 10000\nburst_per_agent = 10000\n"

struct world {
    struct da_test_server srv;
    EVP_PKEY *ak;      /* the enrolled AK of AGENT_ID */
    EVP_PKEY *unrestr; /* an unrestricted signing key seeded as UNRESTR_ID's AK */
    EVP_PKEY *spare;   /* SPARE_ID's AK */
    EVP_PKEY *signer;  /* the key report_body signs with: ak unless a test says */
    uint32_t reset, restart;
    uint64_t clock; /* the TPM counters of the next good quote */
};

/* ---- helpers ---- */

static char *b64(const void *p, size_t n)
{
    struct da_buf b;
    char *s;

    da_buf_init(&b, 4 * n + 16);
    assert_int_equal(da_base64_encode(p, n, DA_BASE64_STD, &b), 0);
    s = (char *)da_buf_take(&b, NULL);
    da_buf_free(&b);
    return s;
}

static void add_b64(cJSON *o, const char *key, const void *p, size_t n)
{
    char *s = b64(p, n);

    assert_non_null(cJSON_AddStringToObject(o, key, s));
    free(s);
}

static void seed_agent(struct srv_store *st, const char *id, EVP_PKEY *k, TPMA_OBJECT attrs)
{
    struct soft_public d = {attrs, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, TPM2_ALG_SHA256, 0};
    uint8_t pub[1024];
    size_t len = 0, name_len = 0;
    struct da_tpm_public *p = NULL;
    const uint8_t *name;
    struct srv_agent a;

    assert_int_equal(soft_tpm_public(k, &d, pub, sizeof(pub), &len), 0);
    assert_int_equal(da_tpm_public_parse(pub, len, &p), 0);
    name = da_tpm_public_name(p, &name_len);
    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", id);
    assert_int_equal(srv_store_vendor_ensure(st, "acme", &a.vendor_id), 0);
    snprintf(a.ek_name, sizeof(a.ek_name), "000bee%.8s", id);
    assert_int_equal(da_hex_encode_to(name, name_len, a.ak_name, sizeof(a.ak_name)), 0);
    a.ak_public = pub;
    a.ak_public_len = len;
    a.host_json = (char *)DA_UNCONST("{}");
    a.created_at = (int64_t)time(NULL);
    assert_int_equal(srv_store_agent_create(st, &a), 0);
    da_tpm_public_free(p);
}

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    char cmd[PATH_MAX * 2 + 32];
    struct srv_store *st = NULL;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (w == NULL || da_test_server_setup(&w->srv, BASE_CONFIG) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "cp %s/tests/fixtures/server/policy-test.json %s/policy.json",
             DA_SOURCE_ROOT, w->srv.state);
    if (system(cmd) != 0)
        return -1;
    w->ak = soft_key("P-256");
    w->unrestr = soft_key("P-256");
    if (w->ak == NULL || w->unrestr == NULL || srv_store_open(w->srv.db, 1, 86400, &st) != 0)
        return -1;
    seed_agent(st, AGENT_ID, w->ak, SOFT_AK_ATTRS);
    seed_agent(st, UNRESTR_ID, w->unrestr, SOFT_AK_ATTRS & ~TPMA_OBJECT_RESTRICTED);
    w->spare = soft_key("P-256");
    if (w->spare == NULL)
        return -1;
    seed_agent(st, SPARE_ID, w->spare, SOFT_AK_ATTRS);
    srv_store_close(st);
    w->signer = w->ak;
    w->reset = 3;
    w->restart = 1;
    w->clock = 100000000;
    if (da_test_server_start(&w->srv) != 0)
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
    EVP_PKEY_free(w->ak);
    EVP_PKEY_free(w->unrestr);
    EVP_PKEY_free(w->spare);
    free(w);
    curl_global_cleanup();
    return 0;
}

static void http(struct world *w, const char *method, const char *path, const char *token,
                 const char *body, struct da_test_http *r)
{
    assert_int_equal(da_test_http(&w->srv, method, path, token,
                                  body != NULL ? "application/json" : NULL, body,
                                  body != NULL ? strlen(body) : 0, r),
                     0);
}

/* A SHA-256 over every row of every table but the audit log: equal before
 * and after a request means the request changed nothing else. */
static void db_fingerprint(struct world *w, unsigned char out[32])
{
    static const char *const tables[] = {
        "vendors",         "api_tokens",  "enroll_tokens",     "challenges", "agents",
        "identity_events", "nonces_used", "inventory_digests", "policies",   "reports"};
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    sqlite3 *db = NULL;
    size_t i;

    assert_int_equal(sqlite3_open_v2(w->srv.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
    for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        char sql[96];
        sqlite3_stmt *s = NULL;
        int rc, c;

        snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY 1", tables[i]);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
        EVP_DigestUpdate(md, tables[i], strlen(tables[i]) + 1);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            for (c = 0; c < sqlite3_column_count(s); c++) {
                const void *v = sqlite3_column_blob(s, c);
                int n = sqlite3_column_bytes(s, c);

                EVP_DigestUpdate(md, &n, sizeof(n));
                if (v != NULL)
                    EVP_DigestUpdate(md, v, (size_t)n);
            }
        }
        assert_int_equal(rc, SQLITE_DONE);
        sqlite3_finalize(s);
    }
    assert_int_equal(EVP_DigestFinal_ex(md, out, NULL), 1);
    EVP_MD_CTX_free(md);
    sqlite3_close(db);
}

static long long db_count(struct world *w, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    long long n;

    assert_int_equal(sqlite3_open_v2(w->srv.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

/* PRAGMA integrity_check says ok and every table is still there. */
static void db_intact(struct world *w)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;

    assert_int_equal(sqlite3_open_v2(w->srv.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "ok");
    sqlite3_finalize(s);
    sqlite3_close(db);
    assert_int_equal(db_count(w, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                                 "name IN ('vendors', 'api_tokens', 'enroll_tokens', "
                                 "'challenges', 'agents', 'identity_events', 'nonces_used', "
                                 "'reports', 'audit_log', 'inventory_digests', 'policies')"),
                     11);
}

static long long metric(struct world *w, const char *name)
{
    struct da_test_http r;
    const char *p;
    long long v;

    http(w, "GET", "/metrics", w->srv.auditor, NULL, &r);
    assert_int_equal(r.status, 200);
    p = strstr(r.body, name);
    assert_non_null(p);
    v = strtoll(p + strlen(name), NULL, 10);
    da_test_http_clear(&r);
    return v;
}

/* A counter of a label set that has not been seen yet is not exported. */
static long long metric_or_zero(struct world *w, const char *name)
{
    struct da_test_http r;
    const char *p;
    long long v = 0;

    http(w, "GET", "/metrics", w->srv.auditor, NULL, &r);
    assert_int_equal(r.status, 200);
    p = strstr(r.body, name);
    if (p != NULL)
        v = strtoll(p + strlen(name), NULL, 10);
    da_test_http_clear(&r);
    return v;
}

static void expect_audited(struct world *w, const char *code)
{
    struct da_test_http r;
    char want[64];

    snprintf(want, sizeof(want), "\"code\":\"%s\"", code);
    http(w, "GET", "/v1/audit?action=report_rejected&limit=1", w->srv.auditor, NULL, &r);
    assert_int_equal(r.status, 200);
    if (strstr(r.body, want) == NULL)
        fail_msg("no audit event with %s: %s", code, r.body);
    da_test_http_clear(&r);
}

static size_t get_nonce(struct world *w, const char *agent, unsigned char *nonce, size_t size)
{
    struct da_test_http r;
    char path[128];
    size_t n = 0;
    cJSON *doc;
    const char *s;

    snprintf(path, sizeof(path), "/v1/agents/%s/nonce", agent);
    http(w, "POST", path, NULL, "{}", &r);
    if (r.status != 200)
        fail_msg("nonce: %ld %s", r.status, r.body);
    doc = cJSON_Parse(r.body);
    s = cJSON_GetObjectItem(doc, "nonce")->valuestring;
    assert_int_equal(da_base64_decode_to(s, strlen(s), DA_BASE64_STD, nonce, size, &n), 0);
    cJSON_Delete(doc);
    da_test_http_clear(&r);
    return n;
}

static cJSON *evidence(const char *hostname)
{
    cJSON *e = cJSON_CreateObject(), *host, *disk, *vols, *v;

    cJSON_AddStringToObject(e, "schema", "devattest.evidence/v1");
    cJSON_AddStringToObject(e, "collected_at", "2026-11-28T12:00:00Z");
    host = cJSON_AddObjectToObject(e, "host");
    cJSON_AddStringToObject(host, "hostname", hostname);
    disk = cJSON_AddObjectToObject(e, "disk");
    vols = cJSON_AddArrayToObject(disk, "volumes");
    v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "mountpoint", "/");
    cJSON_AddBoolToObject(v, "encrypted", true);
    cJSON_AddItemToArray(vols, v);
    return e;
}

/* ---- quotes with chosen defects ---- */

enum defect {
    D_NONE,
    D_MAGIC,           /* TPMS_ATTEST magic not 0xFF544347 */
    D_TYPE,            /* a certify structure, not a quote */
    D_FORMAT,          /* the structure cut short */
    D_UNSAFE_BACK,     /* safe = NO and Clock lower, no TPM Reset */
    D_SCHEME,          /* ECSCHNORR where the AK says ECDSA */
    D_HASH_SHA1,       /* signed over SHA-1: a downgrade */
    D_HASH_SHA384,     /* another hash than the AK's scheme */
    D_PCR_VALUES,      /* one PCR value too few */
    D_OVERSIZED,       /* an attest larger than any TPM structure */
    D_RESET_BACK,      /* resetCount lower than the last accepted */
    D_RESTART_BACK,    /* same resetCount, lower restartCount */
    D_CLOCK_BACK,      /* Clock lower than the last accepted */
    D_UNRESTRICTED,    /* signed by the unrestricted key of UNRESTR_ID */
    D_SAFE_RESET_BACK, /* a TPM Reset, Clock lower, but safe = YES */
    D_UNSAFE_FAR,      /* a TPM Reset, safe = NO, Clock lower than the TPM can lose */
    D_UNSAFE_RESET,    /* a TPM Reset after power loss: safe = NO, Clock one NV interval back */
    D_MAX64,           /* every counter at its largest value (no defect) */
    D_MAX64_LESS,      /* the same, Clock one less */
};

static bool is_reset(enum defect d)
{
    return d == D_SAFE_RESET_BACK || d == D_UNSAFE_FAR || d == D_UNSAFE_RESET;
}

/* The Clock of a quote with defect d; the last accepted had w->clock - 1000. */
static uint64_t quote_clock(const struct world *w, enum defect d)
{
    if (d == D_CLOCK_BACK || d == D_UNSAFE_BACK || d == D_SAFE_RESET_BACK)
        return w->clock - 1001;
    if (d == D_UNSAFE_FAR)
        return w->clock - 1000 - DA_TPM_CLOCK_NV_INTERVAL_MS - 1;
    if (d == D_UNSAFE_RESET)
        return w->clock - 1000 - DA_TPM_CLOCK_NV_INTERVAL_MS;
    return w->clock;
}

/* A report body over nonce and ev, quoted by the right key (or the
 * unrestricted one) with one defect. malloc'd text. */
static char *report_body(struct world *w, const unsigned char *nonce, size_t nonce_len,
                         const cJSON *ev, enum defect d)
{
    static uint8_t pcrs[256];
    TPMI_ALG_HASH hash = d == D_HASH_SHA1     ? TPM2_ALG_SHA1
                         : d == D_HASH_SHA384 ? TPM2_ALG_SHA384
                                              : TPM2_ALG_SHA256;
    uint8_t dg[32], qd[32], attest[8192], sig[1024];
    size_t alen = 0, slen = 0;
    TPMS_ATTEST a;
    cJSON *o = cJSON_CreateObject(), *q;
    char *text;

    assert_int_equal(da_jcs_digest_sha256(ev, dg), 0);
    assert_int_equal(da_quote_qualifying_data(nonce, nonce_len, dg, qd), 0);
    soft_quote_info(&a, qd, sizeof(qd), TPM2_ALG_SHA256, 0xff, pcrs, sizeof(pcrs), TPM2_ALG_SHA256);
    a.clockInfo.resetCount = w->reset - (d == D_RESET_BACK) + is_reset(d);
    a.clockInfo.restartCount = is_reset(d) ? 0 : w->restart - (d == D_RESTART_BACK);
    a.clockInfo.clock = quote_clock(w, d);
    if (d == D_MAX64 || d == D_MAX64_LESS) {
        a.clockInfo.resetCount = UINT32_MAX;
        a.clockInfo.restartCount = UINT32_MAX;
        a.clockInfo.clock = UINT64_MAX - (d == D_MAX64_LESS);
        a.firmwareVersion = UINT64_MAX;
    }
    if (d == D_MAGIC)
        a.magic = 0xFF544348;
    if (d == D_TYPE)
        a.type = TPM2_ST_ATTEST_CERTIFY;
    if (d == D_UNSAFE_BACK || d == D_UNSAFE_FAR || d == D_UNSAFE_RESET)
        a.clockInfo.safe = TPM2_NO;
    assert_int_equal(soft_attest(&a, attest, sizeof(attest), &alen), 0);
    if (d == D_FORMAT)
        alen -= 5;
    if (d == D_OVERSIZED) {
        memset(attest + alen, 0, sizeof(attest) - alen);
        alen = sizeof(attest);
    }
    assert_int_equal(soft_sign(d == D_UNRESTRICTED ? w->unrestr : w->signer, TPM2_ALG_ECDSA, hash,
                               attest, alen, sig, sizeof(sig), &slen),
                     0);
    if (d == D_SCHEME) { /* sigAlg is the first field, big-endian */
        sig[0] = (uint8_t)(TPM2_ALG_ECSCHNORR >> 8);
        sig[1] = (uint8_t)TPM2_ALG_ECSCHNORR;
    }
    add_b64(o, "nonce", nonce, nonce_len);
    assert_true(cJSON_AddItemReferenceToObject(o, "evidence", (cJSON *)DA_UNCONST(ev)));
    q = cJSON_AddObjectToObject(o, "quote");
    add_b64(q, "attest", attest, alen);
    add_b64(q, "signature", sig, slen);
    add_b64(q, "pcr_values", pcrs, d == D_PCR_VALUES ? sizeof(pcrs) - 32 : sizeof(pcrs));
    text = cJSON_PrintUnformatted(o);
    assert_non_null(text);
    cJSON_Delete(o);
    return text;
}

static void post_report(struct world *w, const char *agent, const char *body,
                        struct da_test_http *r)
{
    char path[128];

    snprintf(path, sizeof(path), "/v1/agents/%s/reports", agent);
    http(w, "POST", path, NULL, body, r);
}

/* A good report with this nonce is accepted: the refusal before it did not
 * consume the nonce. The counters of the next good quote move forward. */
static void accept_with(struct world *w, const unsigned char *nonce, size_t nonce_len)
{
    struct da_test_http r;
    cJSON *ev = evidence("builder-ok");
    char *body = report_body(w, nonce, nonce_len, ev, D_NONE);

    post_report(w, AGENT_ID, body, &r);
    if (r.status != 201)
        fail_msg("good report after a refusal: %ld %s", r.status, r.body);
    da_test_http_clear(&r);
    free(body);
    cJSON_Delete(ev);
    w->clock += 1000;
}

/* Post the report with defect d and check the refusal. */
static void refuse(struct world *w, const char *agent, enum defect d, long status, const char *code)
{
    unsigned char nonce[DA_NONCE_LEN], before[32], after[32];
    size_t nlen = get_nonce(w, agent, nonce, sizeof(nonce));
    char name[96];
    long long rejected;
    struct da_test_http r;
    cJSON *ev = evidence("builder-1");
    char *body = report_body(w, nonce, nlen, ev, d);

    snprintf(name, sizeof(name), "devattest_reports_refused_total{code=\"%s\"} ", code);
    rejected = metric_or_zero(w, name);
    db_fingerprint(w, before);
    post_report(w, agent, body, &r);
    if (r.status != status || strcmp(da_test_error_code(&r), code) != 0)
        fail_msg("defect %d: got %ld %s, want %ld %s", d, r.status, r.body, status, code);
    assert_non_null(strstr(r.content_type, "application/json"));
    da_test_http_clear(&r);
    db_fingerprint(w, after);
    assert_memory_equal(before, after, sizeof(before));
    assert_int_equal(metric(w, name), rejected + 1);
    expect_audited(w, code);
    if (strcmp(agent, AGENT_ID) == 0)
        accept_with(w, nonce, nlen);
    free(body);
    cJSON_Delete(ev);
}

/* ---- tests ---- */

static void test_quote_refusals(void **state)
{
    static const struct {
        enum defect d;
        long status;
        const char *code;
    } cases[] = {
        {D_MAGIC, 400, "attest_magic"},       {D_TYPE, 400, "attest_type"},
        {D_FORMAT, 400, "attest_format"},     {D_SCHEME, 400, "signature_scheme"},
        {D_HASH_SHA1, 400, "hash_algorithm"}, {D_HASH_SHA384, 400, "hash_algorithm"},
        {D_PCR_VALUES, 400, "pcr_digest"},    {D_OVERSIZED, 413, "too_large"},
    };
    struct world *w = *state;
    size_t i;

    /* a first report sets the counters the later ones are compared with */
    {
        unsigned char nonce[DA_NONCE_LEN];
        size_t n = get_nonce(w, AGENT_ID, nonce, sizeof(nonce));

        accept_with(w, nonce, n);
    }
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        refuse(w, AGENT_ID, cases[i].d, cases[i].status, cases[i].code);
}

static void test_counter_rollback(void **state)
{
    struct world *w = *state;

    refuse(w, AGENT_ID, D_RESET_BACK, 400, "counter_rollback");
    refuse(w, AGENT_ID, D_RESTART_BACK, 400, "counter_rollback");
    refuse(w, AGENT_ID, D_CLOCK_BACK, 400, "counter_rollback");
    refuse(w, AGENT_ID, D_UNSAFE_BACK, 400, "counter_rollback");
    refuse(w, AGENT_ID, D_SAFE_RESET_BACK, 400, "counter_rollback");
    refuse(w, AGENT_ID, D_UNSAFE_FAR, 400, "counter_rollback");
    /* power lost without TPM2_Shutdown: a TPM Reset, Clock resumed one NV
     * interval back and not safe. Accepted; the stored Clock is now the
     * lower one and the agent's quotes order from there. */
    {
        unsigned char nonce[DA_NONCE_LEN];
        size_t n = get_nonce(w, AGENT_ID, nonce, sizeof(nonce));
        struct da_test_http r;
        cJSON *ev = evidence("builder-ok"), *doc;
        char *body = report_body(w, nonce, n, ev, D_UNSAFE_RESET);
        uint64_t fell_to = quote_clock(w, D_UNSAFE_RESET);
        char want[32];

        post_report(w, AGENT_ID, body, &r);
        if (r.status != 201)
            fail_msg("quote after power loss: %ld %s", r.status, r.body);
        da_test_http_clear(&r);
        free(body);
        cJSON_Delete(ev);
        http(w, "GET", "/v1/agents/" AGENT_ID, w->srv.auditor, NULL, &r);
        assert_int_equal(r.status, 200);
        doc = cJSON_Parse(r.body);
        snprintf(want, sizeof(want), "%llu", (unsigned long long)fell_to);
        assert_string_equal(
            cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "tpm"), "clock")->valuestring, want);
        cJSON_Delete(doc);
        da_test_http_clear(&r);
        w->reset++;
        w->restart = 0;
        w->clock = fell_to + 1000;
        refuse(w, AGENT_ID, D_CLOCK_BACK, 400, "counter_rollback");
    }
    /* a reboot (resetCount up, restartCount down) is no rollback */
    w->reset++;
    w->restart = 0;
    {
        unsigned char nonce[DA_NONCE_LEN];
        size_t n = get_nonce(w, AGENT_ID, nonce, sizeof(nonce));

        accept_with(w, nonce, n);
    }
}

/* Only a key planted in the database gets past enrollment unrestricted;
 * the report path still refuses its quotes. */
static void test_unrestricted_signer(void **state)
{
    refuse(*state, UNRESTR_ID, D_UNRESTRICTED, 400, "signer_unrestricted");
}

/* A nonce with this server's MAC whose lifetime is over: made with the
 * server's nonce key as the server made it 10 minutes ago. */
static void test_nonce_expired(void **state)
{
    struct world *w = *state;
    unsigned char key[64], nonce[DA_NONCE_LEN], before[32], after[32];
    struct da_pcr_selection sel;
    char path[PATH_MAX];
    struct da_test_http r;
    cJSON *ev = evidence("builder-1");
    char *body;
    size_t klen;
    FILE *f;

    snprintf(path, sizeof(path), "%s/nonce.key", w->srv.state);
    f = fopen(path, "rb");
    assert_non_null(f);
    klen = fread(key, 1, sizeof(key), f);
    fclose(f);
    assert_true(klen >= DA_NONCE_KEY_MIN);
    assert_int_equal(da_pcr_selection_parse("sha256:0-7", &sel), 0);
    assert_int_equal(
        da_report_nonce_make(key, klen, AGENT_ID, &sel, (uint64_t)time(NULL) - 600, 120, nonce), 0);
    body = report_body(w, nonce, sizeof(nonce), ev, D_NONE);
    db_fingerprint(w, before);
    post_report(w, AGENT_ID, body, &r);
    if (r.status != 400 || strcmp(da_test_error_code(&r), "nonce_expired") != 0)
        fail_msg("expired nonce: %ld %s", r.status, r.body);
    da_test_http_clear(&r);
    db_fingerprint(w, after);
    assert_memory_equal(before, after, sizeof(before));
    expect_audited(w, "nonce_expired");
    /* the same key with the time of now is good: only the expiry differed */
    assert_int_equal(
        da_report_nonce_make(key, klen, AGENT_ID, &sel, (uint64_t)time(NULL), 120, nonce), 0);
    accept_with(w, nonce, sizeof(nonce));
    OPENSSL_cleanse(key, sizeof(key));
    free(body);
    cJSON_Delete(ev);
}

/* A nonce issued to one agent, in another agent's report quoted by that
 * agent's own AK: bad_nonce, nothing stored or spent; the agent it was
 * issued to then reports with it. And the other way round. */
static void test_nonce_of_another_agent(void **state)
{
    struct world *w = *state;
    unsigned char nonce[DA_NONCE_LEN], before[32], after[32];
    size_t n = get_nonce(w, AGENT_ID, nonce, sizeof(nonce));
    cJSON *ev = evidence("builder-1");
    struct da_test_http r;
    char *body;

    w->signer = w->spare;
    body = report_body(w, nonce, n, ev, D_NONE);
    w->signer = w->ak;
    db_fingerprint(w, before);
    post_report(w, SPARE_ID, body, &r);
    if (r.status != 400 || strcmp(da_test_error_code(&r), "bad_nonce") != 0)
        fail_msg("nonce of another agent: %ld %s", r.status, r.body);
    da_test_http_clear(&r);
    db_fingerprint(w, after);
    assert_memory_equal(before, after, sizeof(before));
    expect_audited(w, "bad_nonce");
    free(body);
    accept_with(w, nonce, n);

    n = get_nonce(w, SPARE_ID, nonce, sizeof(nonce));
    body = report_body(w, nonce, n, ev, D_NONE);
    db_fingerprint(w, before);
    post_report(w, AGENT_ID, body, &r);
    if (r.status != 400 || strcmp(da_test_error_code(&r), "bad_nonce") != 0)
        fail_msg("nonce of another agent: %ld %s", r.status, r.body);
    da_test_http_clear(&r);
    db_fingerprint(w, after);
    assert_memory_equal(before, after, sizeof(before));
    free(body);
    cJSON_Delete(ev);
}

/* 2^64-1 in a quote's Clock and firmwareVersion comes back from the API
 * exactly, as decimal strings, in the agent record and in the stored
 * transcript; one less is then a rollback (compared unsigned). */
static void test_u64_round_trip(void **state)
{
    struct world *w = *state;
    unsigned char nonce[DA_NONCE_LEN];
    size_t n = get_nonce(w, SPARE_ID, nonce, sizeof(nonce));
    cJSON *ev = evidence("builder-max"), *doc, *tpm;
    struct da_test_http r;
    char path[128], id[64], *body;

    w->signer = w->spare;
    body = report_body(w, nonce, n, ev, D_MAX64);
    post_report(w, SPARE_ID, body, &r);
    if (r.status != 201)
        fail_msg("report with 2^64-1: %ld %s", r.status, r.body);
    doc = cJSON_Parse(r.body);
    snprintf(id, sizeof(id), "%s", cJSON_GetObjectItem(doc, "report_id")->valuestring);
    cJSON_Delete(doc);
    da_test_http_clear(&r);
    free(body);

    http(w, "GET", "/v1/agents/" SPARE_ID, w->srv.auditor, NULL, &r);
    assert_int_equal(r.status, 200);
    doc = cJSON_Parse(r.body);
    tpm = cJSON_GetObjectItem(doc, "tpm");
    assert_true(cJSON_IsString(cJSON_GetObjectItem(tpm, "clock")));
    assert_string_equal(cJSON_GetObjectItem(tpm, "clock")->valuestring, "18446744073709551615");
    assert_string_equal(cJSON_GetObjectItem(tpm, "firmware_version")->valuestring,
                        "18446744073709551615");
    assert_true(
        da_double_exact(cJSON_GetObjectItem(tpm, "reset_count")->valuedouble, 4294967295.0));
    cJSON_Delete(doc);
    da_test_http_clear(&r);

    snprintf(path, sizeof(path), "/v1/reports/%s", id);
    http(w, "GET", path, w->srv.auditor, NULL, &r);
    assert_int_equal(r.status, 200);
    doc = cJSON_Parse(r.body);
    tpm = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "transcript"), "tpm");
    assert_string_equal(cJSON_GetObjectItem(tpm, "clock")->valuestring, "18446744073709551615");
    assert_string_equal(cJSON_GetObjectItem(tpm, "firmware_version")->valuestring,
                        "18446744073709551615");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(tpm, "clock_safe")));
    cJSON_Delete(doc);
    da_test_http_clear(&r);
    assert_int_equal(db_count(w, "SELECT count(*) FROM agents WHERE id = '" SPARE_ID
                                 "' AND clock = -1 AND firmware_version = -1"),
                     1);

    refuse(w, SPARE_ID, D_MAX64_LESS, 400, "counter_rollback");
    w->signer = w->ak;
    cJSON_Delete(ev);
}

static void restart_with(struct world *w, const char *extra)
{
    assert_int_equal(da_test_server_stop(&w->srv), 0);
    assert_int_equal(da_test_server_reconfigure(&w->srv, extra), 0);
    assert_int_equal(da_test_server_start(&w->srv), 0);
}

/* An agent's report budget is spent only by reports that verified: forged
 * reports in its name (and the nonce requests for them) leave it whole.
 * Once it is spent, a good report is refused with 429, changes nothing,
 * and its nonce stays usable. */
static void test_agent_budget_spent_only_by_verified(void **state)
{
    struct world *w = *state;
    unsigned char nonce[DA_NONCE_LEN], before[32], after[32];
    struct timespec pause = {1, 200 * 1000 * 1000};
    struct da_test_http r;
    cJSON *ev = evidence("builder-ok");
    char *body;
    size_t n;
    int i, accepted = 0;

    restart_with(w, "rate_per_agent = 1\nburst_per_agent = 2\n");
    for (i = 0; i < 30; i++) {
        n = get_nonce(w, AGENT_ID, nonce, sizeof(nonce));
        body = report_body(w, nonce, n, ev, i % 2 == 0 ? D_MAGIC : D_HASH_SHA1);
        post_report(w, AGENT_ID, body, &r);
        if (r.status != 400)
            fail_msg("forged report %d: %ld %s", i, r.status, r.body);
        da_test_http_clear(&r);
        free(body);
    }
    /* the whole burst is there for the real agent */
    for (i = 0; i < 2; i++) {
        n = get_nonce(w, AGENT_ID, nonce, sizeof(nonce));
        accept_with(w, nonce, n);
        accepted++;
    }
    /* within a few more (the bucket refills at 1/s) one is refused */
    for (i = 0; i < 6; i++) {
        n = get_nonce(w, AGENT_ID, nonce, sizeof(nonce));
        body = report_body(w, nonce, n, ev, D_NONE);
        db_fingerprint(w, before);
        post_report(w, AGENT_ID, body, &r);
        free(body);
        if (r.status == 201) {
            w->clock += 1000;
            accepted++;
            da_test_http_clear(&r);
            continue;
        }
        if (r.status != 429 || strcmp(da_test_error_code(&r), "rate_limited") != 0)
            fail_msg("over budget: %ld %s", r.status, r.body);
        da_test_http_clear(&r);
        db_fingerprint(w, after);
        assert_memory_equal(before, after, sizeof(before));
        expect_audited(w, "rate_limited");
        break;
    }
    assert_true(i < 6);
    assert_true(accepted >= 2 && accepted <= 2 + 6);
    /* a moment later the refused report's nonce is still good */
    nanosleep(&pause, NULL);
    accept_with(w, nonce, n);
    cJSON_Delete(ev);
    restart_with(w, BASE_CONFIG);
}

/* ---- SQL metacharacters ---- */

#define LONG_LEN 3000

static const char *const nasty_fixed[] = {
    "'; DROP TABLE reports; --",
    "\" OR 1=1 --",
    "x' OR '1'='1",
    "\\'; DELETE FROM agents WHERE '%' LIKE '%_%\\_",
    "%%%s%n_\\%_\\\\'\"",
    "Robert'); DROP TABLE agents;--",
};
#define N_NASTY (sizeof(nasty_fixed) / sizeof(nasty_fixed[0]) + 1)

/* The fixed strings and one long one of metacharacters. */
static const char *nasty(size_t i)
{
    static char long_one[LONG_LEN + 1];

    if (i < N_NASTY - 1)
        return nasty_fixed[i];
    if (long_one[0] == '\0') {
        static const char unit[] = "';\"--%_\\";
        size_t k;

        for (k = 0; k < LONG_LEN; k++)
            long_one[k] = unit[k % (sizeof(unit) - 1)];
        long_one[LONG_LEN] = '\0';
    }
    return long_one;
}

/* A request that must be refused: 4xx with a JSON error code, and nothing
 * in the database but the audit log changed. */
static void refused(struct world *w, const char *method, const char *path, const char *token,
                    cJSON *doc)
{
    unsigned char before[32], after[32];
    char *body = doc != NULL ? cJSON_PrintUnformatted(doc) : NULL;
    struct da_test_http r;

    db_fingerprint(w, before);
    assert_int_equal(da_test_http(&w->srv, method, path, token, "application/json", body,
                                  body != NULL ? strlen(body) : 0, &r),
                     0);
    if (r.status < 400 || r.status > 499 || da_test_error_code(&r)[0] == '\0')
        fail_msg("%s %.80s with ...%.300s: got %ld %.100s", method, path,
                 body != NULL && strlen(body) > 300 ? body + strlen(body) - 300
                 : body != NULL                     ? body
                                                    : "",
                 r.status, r.body);
    da_test_http_clear(&r);
    db_fingerprint(w, after);
    assert_memory_equal(before, after, sizeof(before));
    free(body);
}

/* Replace the string at obj.key with v and send. */
static void refused_with(struct world *w, const char *method, const char *path, const char *token,
                         cJSON *doc, cJSON *obj, const char *key, const char *v)
{
    cJSON *old = cJSON_Duplicate(cJSON_GetObjectItem(obj, key), 1);

    assert_true(cJSON_ReplaceItemInObject(obj, key, cJSON_CreateString(v)));
    refused(w, method, path, token, doc);
    assert_true(cJSON_ReplaceItemInObject(obj, key, old));
}

/* prefix + the percent-encoded segment + suffix. */
static char *escaped_path(const char *prefix, const char *seg, const char *suffix)
{
    char *e = curl_easy_escape(NULL, seg, 0), *p;
    size_t n = strlen(prefix) + strlen(e) + strlen(suffix) + 1;

    p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s%s%s", prefix, e, suffix);
    curl_free(e);
    return p;
}

static void enroll_and_activate_fields(struct world *w, const char *v)
{
    static const char activate[] = "/v1/enroll/c0ffee00c0ffee00c0ffee00c0ffee00/activate";
    cJSON *e = cJSON_CreateObject(), *chain, *host, *a, *cert;
    char *path;

    cJSON_AddStringToObject(e, "token", "det_0000");
    cJSON_AddStringToObject(e, "ek_public", "AAAA");
    cJSON_AddStringToObject(e, "ek_certificate", "AAAA");
    chain = cJSON_AddArrayToObject(e, "ek_chain");
    cJSON_AddItemToArray(chain, cJSON_CreateString("AAAA"));
    cJSON_AddStringToObject(e, "ak_public", "AAAA");
    host = cJSON_AddObjectToObject(e, "host");
    cJSON_AddStringToObject(host, "hostname", "builder");
    refused_with(w, "POST", "/v1/enroll", NULL, e, e, "token", v);
    refused_with(w, "POST", "/v1/enroll", NULL, e, e, "ek_public", v);
    refused_with(w, "POST", "/v1/enroll", NULL, e, e, "ek_certificate", v);
    refused_with(w, "POST", "/v1/enroll", NULL, e, e, "ak_public", v);
    refused_with(w, "POST", "/v1/enroll", NULL, e, host, "hostname", v);
    assert_true(cJSON_ReplaceItemInArray(chain, 0, cJSON_CreateString(v)));
    refused(w, "POST", "/v1/enroll", NULL, e);
    cJSON_AddStringToObject(e, v, "x");
    refused(w, "POST", "/v1/enroll", NULL, e);
    cJSON_Delete(e);

    a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "proof", "AAAA");
    cJSON_AddStringToObject(a, "sk_public", "AAAA");
    cert = cJSON_AddObjectToObject(a, "sk_certify");
    cJSON_AddStringToObject(cert, "attest", "AAAA");
    cJSON_AddStringToObject(cert, "signature", "AAAA");
    path = escaped_path("/v1/enroll/", v, "/activate");
    refused(w, "POST", path, NULL, a);
    free(path);
    refused_with(w, "POST", activate, NULL, a, a, "proof", v);
    refused_with(w, "POST", activate, NULL, a, a, "sk_public", v);
    refused_with(w, "POST", activate, NULL, a, cert, "attest", v);
    refused_with(w, "POST", activate, NULL, a, cert, "signature", v);
    cJSON_Delete(a);
}

static void path_segments(struct world *w, const char *v)
{
    static const struct {
        const char *method, *prefix, *suffix;
        int auth; /* 0 none, 1 auditor, 2 admin */
    } routes[] = {
        {"POST", "/v1/agents/", "/nonce", 0},   {"POST", "/v1/agents/", "/reports", 0},
        {"GET", "/v1/agents/", "", 1},          {"GET", "/v1/agents/", "/reports", 1},
        {"GET", "/v1/reports/", "", 1},         {"POST", "/v1/agents/", "/revoke", 2},
        {"POST", "/v1/agents/", "/readmit", 2},
    };
    cJSON *empty = cJSON_CreateObject();
    size_t i;

    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        char *path = escaped_path(routes[i].prefix, v, routes[i].suffix);
        const char *tok = routes[i].auth == 0   ? NULL
                          : routes[i].auth == 1 ? w->srv.auditor
                                                : w->srv.admin;

        refused(w, routes[i].method, path, tok,
                strcmp(routes[i].method, "POST") == 0 ? empty : NULL);
        free(path);
    }
    cJSON_Delete(empty);
}

static void nonce_and_admin_bodies(struct world *w, const char *v)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "x", v);
    refused(w, "POST", "/v1/agents/" AGENT_ID "/nonce", NULL, o);
    refused(w, "POST", "/v1/agents/" SPARE_ID "/revoke", w->srv.admin, o);
    cJSON_Delete(o);
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, v, "x");
    refused(w, "POST", "/v1/agents/" AGENT_ID "/nonce", NULL, o);
    refused(w, "POST", "/v1/agents/" SPARE_ID "/readmit", w->srv.admin, o);
    cJSON_Delete(o);
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "reason", 1);
    refused(w, "POST", "/v1/agents/" SPARE_ID "/revoke", w->srv.admin, o);
    cJSON_Delete(o);
}

static void report_fields(struct world *w, const char *v)
{
    unsigned char nonce[DA_NONCE_LEN], d[32];
    size_t nlen = get_nonce(w, AGENT_ID, nonce, sizeof(nonce));
    cJSON *ev = evidence("builder-1"), *doc, *quote, *patches;
    char *text, hex[65];

    text = report_body(w, nonce, nlen, ev, D_NONE);
    doc = cJSON_Parse(text);
    free(text);
    quote = cJSON_GetObjectItem(doc, "quote");
    refused_with(w, "POST", "/v1/agents/" AGENT_ID "/reports", NULL, doc, doc, "nonce", v);
    refused_with(w, "POST", "/v1/agents/" AGENT_ID "/reports", NULL, doc, quote, "attest", v);
    refused_with(w, "POST", "/v1/agents/" AGENT_ID "/reports", NULL, doc, quote, "signature", v);
    refused_with(w, "POST", "/v1/agents/" AGENT_ID "/reports", NULL, doc, quote, "pcr_values", v);
    refused_with(w, "POST", "/v1/agents/" AGENT_ID "/reports", NULL, doc,
                 cJSON_GetObjectItem(doc, "evidence"), "schema", v);
    cJSON_AddStringToObject(doc, "event_log", v);
    refused(w, "POST", "/v1/agents/" AGENT_ID "/reports", NULL, doc);
    cJSON_DeleteItemFromObject(doc, "event_log");
    cJSON_AddStringToObject(quote, v, "AAAA");
    refused(w, "POST", "/v1/agents/" AGENT_ID "/reports", NULL, doc);
    cJSON_DeleteItemFromObject(quote, v);
    /* an inventory that does not hash to the evidence's digest */
    assert_int_equal(da_sha256("other", 5, d), 0);
    assert_int_equal(da_hex_encode_to(d, sizeof(d), hex, sizeof(hex)), 0);
    patches = cJSON_AddObjectToObject(cJSON_GetObjectItem(doc, "evidence"), "patches");
    cJSON_AddStringToObject(patches, "inventory_sha256", hex);
    cJSON_AddStringToObject(doc, "inventory", v);
    refused(w, "POST", "/v1/agents/" AGENT_ID "/reports", NULL, doc);
    cJSON_Delete(doc);
    cJSON_Delete(ev);
    /* the nonce is still good */
    accept_with(w, nonce, nlen);
}

/* Free text in evidence (values, member names) and the inventory are data:
 * stored verbatim and given back verbatim. */
static void stored_verbatim(struct world *w, const char *v)
{
    unsigned char nonce[DA_NONCE_LEN], d[32];
    size_t nlen = get_nonce(w, AGENT_ID, nonce, sizeof(nonce));
    long long reports = db_count(w, "SELECT count(*) FROM reports");
    long long invs = db_count(w, "SELECT count(*) FROM inventory_digests");
    cJSON *ev = evidence(v), *doc, *got;
    char *body, *inv, path[128], hex[65];
    size_t n = strlen(v) + 32;
    struct da_test_http r;

    inv = malloc(n);
    assert_non_null(inv);
    snprintf(inv, n, "%s:amd64=1\n", v);
    assert_int_equal(da_sha256(inv, strlen(inv), d), 0);
    assert_int_equal(da_hex_encode_to(d, sizeof(d), hex, sizeof(hex)), 0);
    cJSON_AddStringToObject(cJSON_GetObjectItem(ev, "host"), v, v);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(ev, "patches"), "inventory_sha256", hex);
    body = report_body(w, nonce, nlen, ev, D_NONE);
    doc = cJSON_Parse(body);
    free(body);
    cJSON_AddStringToObject(doc, "inventory", inv);
    body = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    post_report(w, AGENT_ID, body, &r);
    if (r.status != 201)
        fail_msg("report with metacharacters in free text: %ld %.300s", r.status, r.body);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    w->clock += 1000;
    snprintf(path, sizeof(path), "/v1/reports/%s",
             cJSON_GetObjectItem(doc, "report_id")->valuestring);
    cJSON_Delete(doc);
    http(w, "GET", path, w->srv.auditor, NULL, &r);
    assert_int_equal(r.status, 200);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    got = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "evidence"), "host"),
                              "hostname");
    assert_true(cJSON_IsString(got));
    assert_string_equal(got->valuestring, v);
    got = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "evidence"), "host"), v);
    assert_true(cJSON_IsString(got));
    assert_string_equal(got->valuestring, v);
    cJSON_Delete(doc);
    assert_int_equal(db_count(w, "SELECT count(*) FROM reports"), reports + 1);
    assert_int_equal(db_count(w, "SELECT count(*) FROM inventory_digests"), invs + 1);
    free(body);
    free(inv);
    cJSON_Delete(ev);
}

/* An admin's free-text reason is kept verbatim in the audit log. */
static void reason_verbatim(struct world *w, const char *v)
{
    cJSON *o = cJSON_CreateObject(), *doc;
    struct da_test_http r;
    char *body;
    int found = 0;

    cJSON_AddStringToObject(o, "reason", v);
    if (strlen(v) > 255) { /* refused whole, never cut */
        refused(w, "POST", "/v1/agents/" SPARE_ID "/revoke", w->srv.admin, o);
        refused(w, "POST", "/v1/agents/" SPARE_ID "/readmit", w->srv.admin, o);
        cJSON_Delete(o);
        return;
    }
    body = cJSON_PrintUnformatted(o);
    http(w, "POST", "/v1/agents/" SPARE_ID "/revoke", w->srv.admin, body, &r);
    assert_int_equal(r.status, 200);
    da_test_http_clear(&r);
    http(w, "POST", "/v1/agents/" SPARE_ID "/readmit", w->srv.admin, body, &r);
    assert_int_equal(r.status, 200);
    da_test_http_clear(&r);
    http(w, "GET", "/v1/audit?action=agent_revoked&limit=1", w->srv.auditor, NULL, &r);
    assert_int_equal(r.status, 200);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    assert_non_null(doc);
    /* wherever the list puts it: one event's detail is the reason, byte for byte */
    {
        char *flat = cJSON_PrintUnformatted(doc);
        char *want = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, "reason"));

        found = strstr(flat, want) != NULL;
        free(flat);
        free(want);
    }
    assert_true(found);
    cJSON_Delete(doc);
    cJSON_Delete(o);
    free(body);
}

static void test_sql_metacharacters(void **state)
{
    struct world *w = *state;
    long long agents = db_count(w, "SELECT count(*) FROM agents");
    size_t i;

    for (i = 0; i < N_NASTY; i++) {
        const char *v = nasty(i);

        enroll_and_activate_fields(w, v);
        path_segments(w, v);
        nonce_and_admin_bodies(w, v);
        report_fields(w, v);
        stored_verbatim(w, v);
        reason_verbatim(w, v);
        db_intact(w);
    }
    assert_int_equal(db_count(w, "SELECT count(*) FROM agents"), agents);
    {
        struct da_test_http r;

        http(w, "GET", "/healthz", NULL, NULL, &r);
        assert_int_equal(r.status, 200);
        da_test_http_clear(&r);
    }
}

/* ---- SIGTERM with a request in flight ---- */

static SSL *tls_connect(struct world *w, SSL_CTX **ctx_out, int *fd_out)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    SSL *ssl;

    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_load_verify_locations(ctx, w->srv.ca, NULL), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)w->srv.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ssl = SSL_new(ctx);
    assert_non_null(ssl);
    SSL_set_fd(ssl, fd);
    assert_int_equal(SSL_connect(ssl), 1);
    *ctx_out = ctx;
    *fd_out = fd;
    return ssl;
}

/* The upload has begun (headers and half the body) when SIGTERM arrives:
 * the server finishes it, answers 201, commits the report and exits 0. */
static void test_sigterm_with_upload_in_flight(void **state)
{
    struct world *w = *state;
    struct timespec pause = {0, 300 * 1000 * 1000};
    unsigned char nonce[DA_NONCE_LEN];
    size_t nlen = get_nonce(w, AGENT_ID, nonce, sizeof(nonce)), half, got = 0;
    cJSON *ev = evidence("builder-in-flight"), *doc;
    char *body = report_body(w, nonce, nlen, ev, D_NONE), head[256], resp[16384], sql[160];
    const char *json;
    SSL_CTX *ctx;
    SSL *ssl;
    int fd, status = 0, n;

    n = snprintf(head, sizeof(head),
                 "POST /v1/agents/" AGENT_ID "/reports HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n",
                 strlen(body));
    half = strlen(body) / 2;
    ssl = tls_connect(w, &ctx, &fd);
    assert_int_equal(SSL_write(ssl, head, n), n);
    assert_int_equal(SSL_write(ssl, body, (int)half), (int)half);
    nanosleep(&pause, NULL);
    assert_int_equal(kill(w->srv.pid, SIGTERM), 0);
    nanosleep(&pause, NULL);
    /* still there, waiting for the rest */
    assert_int_equal(waitpid(w->srv.pid, &status, WNOHANG), 0);
    n = (int)(strlen(body) - half);
    assert_int_equal(SSL_write(ssl, body + half, n), n);
    while (got < sizeof(resp) - 1 &&
           (n = SSL_read(ssl, resp + got, (int)(sizeof(resp) - 1 - got))) > 0)
        got += (size_t)n;
    resp[got] = '\0';
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    if (strncmp(resp, "HTTP/1.1 201", 12) != 0)
        fail_msg("in-flight report: %.300s", resp);
    assert_int_equal(waitpid(w->srv.pid, &status, 0), w->srv.pid);
    w->srv.pid = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* the answered report is in the database */
    json = strstr(resp, "\r\n\r\n");
    assert_non_null(json);
    doc = cJSON_Parse(json + 4);
    assert_non_null(doc);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM reports WHERE id = '%.40s'",
             cJSON_GetObjectItem(doc, "report_id")->valuestring);
    assert_int_equal(
        strspn(cJSON_GetObjectItem(doc, "report_id")->valuestring, "0123456789abcdef-"),
        strlen(cJSON_GetObjectItem(doc, "report_id")->valuestring));
    assert_int_equal(db_count(w, sql), 1);
    db_intact(w);
    cJSON_Delete(doc);
    free(body);
    cJSON_Delete(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_refusals),
        cmocka_unit_test(test_counter_rollback),
        cmocka_unit_test(test_unrestricted_signer),
        cmocka_unit_test(test_nonce_expired),
        cmocka_unit_test(test_nonce_of_another_agent),
        cmocka_unit_test(test_u64_round_trip),
        cmocka_unit_test(test_sql_metacharacters),
        cmocka_unit_test(test_agent_budget_spent_only_by_verified),
        cmocka_unit_test(test_sigterm_with_upload_in_flight),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

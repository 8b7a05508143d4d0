/* Two devattest-server instances on one PostgreSQL database, as behind a
 * load balancer: the same configuration and keys, each its own process,
 * port and connection pool.
 *
 * - stores opened at once on a new database migrate it once;
 * - a policy rotated through one instance becomes current at the other;
 * - the staleness sweep and the webhook worker run on one instance at a
 *   time (leases: session advisory locks), and another takes over; events
 *   raised at both are delivered once;
 * - a real agent (swtpm, the agent binary) enrolled through one instance
 *   reports through the other; the enrollment token and the challenge it
 *   used are spent for both;
 * - a challenge taken concurrently through two store handles (two pools,
 *   as two instances hold) is taken exactly once;
 * - a nonce issued by one instance is accepted at the other once, and a
 *   second report with it is refused at either;
 * - concurrent reports of one agent through both never move its stored
 *   TPM clock backwards, and the clock ends at the newest accepted report;
 * - killing one instance with SIGKILL under load loses no acknowledged
 *   report, and the database passes its checks (amcheck on every index and
 *   heap of the schema, and the consistency queries below).
 *
 * Quotes for load come from a software stand-in for the AK (soft_ak.h),
 * which the server verifies exactly as TPM quotes. One world for the
 * group; the tests run in order. */
#include "agent_run.h"
#include "da_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "agent_test_dir.h"
#include "encoding.h"
#include "err.h"
#include "pg_test.h"
#include "server_harness.h"
#include "soft_ak.h"
#include "store.h"
#include "swtpm_harness.h"
#include "tmp_tree.h"
#include "webhook_rx.h"
#include "picky.h"

#define SOFT_AGENTS 6
#define RACE_POSTS  30 /* reports per poster in the counter race */
#define KILL_AFTER  120
#define MAX_ACKED   4096

struct world {
    char uri[1024];
    struct da_test_server a, b;
    struct da_test_swtpm tpm;
    char dir[192], conf[256], state[256], spool[256];
    char agent_id[64];
    struct da_soft_ak ak[SOFT_AGENTS];
    pthread_mutex_t ak_mu[SOFT_AGENTS];
    char soft_id[SOFT_AGENTS][SRV_ID_HEX];
    unsigned seq;
    pthread_mutex_t mu;
};

static int write_agent_conf(struct world *w, const struct da_test_server *s)
{
    FILE *f = fopen(w->conf, "w");

    if (f == NULL)
        return -1;
    fprintf(f,
            "server_url = %s\nserver_ca = %s\ntcti = %s\nstate_dir = %s\nspool_dir = %s\n"
            "interval = 30s\njitter = 0s\nenvironment_role = build\nlog_level = info\n"
            "sandbox = enforce\nuser = %s\n",
            s->base, s->ca, w->tpm.tcti, w->state, w->spool, DA_TEST_AGENT_USER);
    return fclose(f) == 0 ? 0 : -1;
}

/* Software agents, created in the shared database. */
static int seed_soft_agents(struct world *w)
{
    struct srv_store *st = NULL;
    int rc = srv_store_open(w->uri, 1, 86400, &st);

    for (int i = 0; rc == 0 && i < SOFT_AGENTS; i++) {
        struct srv_agent a;

        rc = da_soft_ak_new(&w->ak[i]);
        pthread_mutex_init(&w->ak_mu[i], NULL);
        snprintf(w->soft_id[i], sizeof(w->soft_id[i]), "5eed0000aaaabbbbccccdddd000000%02d", i);
        memset(&a, 0, sizeof(a));
        snprintf(a.id, sizeof(a.id), "%s", w->soft_id[i]);
        if (rc == 0)
            rc = srv_store_vendor_ensure(st, "acme", &a.vendor_id);
        snprintf(a.ek_name, sizeof(a.ek_name), "000b5e%02d", i);
        snprintf(a.ak_name, sizeof(a.ak_name), "000b5f%02d", i);
        a.ak_public = w->ak[i].pub;
        a.ak_public_len = w->ak[i].pub_len;
        a.host_json = (char *)DA_UNCONST("{}");
        a.created_at = (int64_t)time(NULL);
        if (rc == 0)
            rc = srv_store_agent_create(st, &a);
    }
    srv_store_close(st);
    return rc;
}

static int group_setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    char extra[8192];

    if (w == NULL || da_test_pg_create(w->uri, sizeof(w->uri)) != 0)
        return -1;
    pthread_mutex_init(&w->mu, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (da_test_swtpm_start(&w->tpm) != 0)
        return -1;
    snprintf(extra, sizeof(extra),
             "store = %s\nstore_connections = 8\nek_roots = %s\nsweep_interval = 1s\n"
             "policy_file = %s/tests/fixtures/server/policy-test.json\n"
             "rate_per_agent = 100000\nburst_per_agent = 100000\n"
             "rate_per_address = 100000\nburst_per_address = 100000\n"
             "nonce_rate_per_address = 100000\nnonce_burst_per_address = 100000\n",
             w->uri, w->tpm.ca_root, DA_SOURCE_ROOT);
    if (da_test_server_setup(&w->a, extra) != 0 || da_test_server_twin(&w->b, &w->a) != 0)
        return -1;
    if (da_test_server_start(&w->a) != 0 || da_test_server_start(&w->b) != 0)
        return -1;
    if (seed_soft_agents(w) != 0)
        return -1;
    if (da_test_agent_dir(w->dir, sizeof(w->dir)) != 0)
        return -1;
    snprintf(w->conf, sizeof(w->conf), "%s/agent.conf", w->dir);
    snprintf(w->state, sizeof(w->state), "%s/state", w->dir);
    snprintf(w->spool, sizeof(w->spool), "%s/spool", w->dir);
    *state = w;
    return 0;
}

static int group_teardown(void **state)
{
    struct world *w = *state;

    if (w == NULL)
        return 0;
    (void)da_test_rmtree(w->dir);
    da_test_server_cleanup(&w->b);
    da_test_server_cleanup(&w->a);
    da_test_swtpm_stop(&w->tpm);
    for (int i = 0; i < SOFT_AGENTS; i++)
        da_soft_ak_free(&w->ak[i]);
    da_test_pg_drop(w->uri);
    curl_global_cleanup();
    free(w);
    return 0;
}

static cJSON *http_json(const struct da_test_server *s, const char *method, const char *path,
                        const char *token, const char *body, long *status)
{
    struct da_test_http r;
    cJSON *j = NULL;

    *status = 0;
    if (da_test_http(s, method, path, token, body != NULL ? "application/json" : NULL, body,
                     body != NULL ? strlen(body) : 0, &r) != 0)
        return NULL;
    *status = r.status;
    j = cJSON_Parse(r.body != NULL ? r.body : "");
    da_test_http_clear(&r);
    return j;
}

static const char *jstr(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

    return cJSON_IsString(v) ? v->valuestring : "";
}

static const char *err_code(const cJSON *j)
{
    return jstr(cJSON_GetObjectItemCaseSensitive(j, "error"), "code");
}

/* One value from the shared database. */
static int64_t db_int(struct world *w, const char *sql)
{
    char out[64];

    assert_int_equal(da_test_pg_exec(w->uri, sql, out, sizeof(out)), 0);
    return strtoll(out, NULL, 10);
}

/* ---- migrations when instances start together ---- */

struct opener {
    const char *uri;
    int rc;
};

static void *open_store(void *arg)
{
    struct opener *o = arg;
    struct srv_store *s = NULL;

    o->rc = srv_store_open(o->uri, 1, 86400, &s);
    srv_store_close(s);
    return NULL;
}

/* Six stores open a new database at the same moment: the migration
 * (under its advisory lock) runs once; each version is recorded once. */
static void test_migrate_concurrently(void **state)
{
    char uri[1024], out[256];
    struct opener o[6];
    pthread_t th[6];

    (void)state;
    assert_int_equal(da_test_pg_create(uri, sizeof(uri)), 0);
    for (int i = 0; i < 6; i++) {
        o[i].uri = uri;
        assert_int_equal(pthread_create(&th[i], NULL, open_store, &o[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(o[i].rc, 0);
    }
    assert_int_equal(da_test_pg_exec(uri,
                                     "SELECT count(*), count(DISTINCT version) FROM schema_version",
                                     out, sizeof(out)),
                     0);
    {
        long n = strtol(out, NULL, 10);
        const char *bar = strchr(out, '|');

        assert_true(n >= 1);
        assert_non_null(bar);
        assert_int_equal(strtol(bar + 1, NULL, 10), n);
    }
    assert_int_equal(da_test_pg_drop(uri), 0);
}

/* ---- the policy ---- */

/* A policy rotated through A becomes B's current policy within a few
 * seconds: B looks the newest stored one up every 5 s. */
static void test_policy_reaches_other(void **state)
{
    struct world *w = *state;
    char path[PATH_MAX], *text = NULL, sha_a[80] = "";
    FILE *f;
    long size, status;
    cJSON *j, *doc;

    snprintf(path, sizeof(path), "%s/tests/fixtures/server/policy-test.json", DA_SOURCE_ROOT);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    rewind(f);
    text = calloc(1, (size_t)size + 1);
    assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    /* the same checks under another version: another digest */
    doc = cJSON_Parse(text);
    free(text);
    assert_non_null(doc);
    cJSON_ReplaceItemInObject(doc, "version", cJSON_CreateString("multi-instance-2"));
    text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    j = http_json(&w->a, "PUT", "/v1/policy", w->a.admin, text, &status);
    free(text);
    assert_int_equal(status, 200);
    snprintf(sha_a, sizeof(sha_a), "%s", jstr(j, "sha256"));
    cJSON_Delete(j);
    assert_int_equal(strlen(sha_a), 64);
    for (int i = 0; i < 100; i++) {
        bool now_b;

        /* GET /v1/policy answers with the current document itself */
        j = http_json(&w->b, "GET", "/v1/policy", NULL, NULL, &status);
        assert_int_equal(status, 200);
        now_b = strcmp(jstr(j, "version"), "multi-instance-2") == 0;
        cJSON_Delete(j);
        if (now_b)
            return;
        usleep(100000);
    }
    fail_msg("B still measures against its old policy 10 s after the rotation at A");
}

/* ---- one worker at a time ---- */

/* Whether s gets the lease within 5 s: a lock held by a process that just
 * died or closed its connection goes when its PostgreSQL backend has seen
 * the connection end, a moment later. */
static bool lease_soon(struct srv_store *s, enum srv_lease kind)
{
    bool held = false;

    for (int i = 0; i < 100 && !held; i++) {
        if (srv_store_lease(s, kind, &held) != 0)
            return false;
        if (!held)
            usleep(50000);
    }
    return held;
}

/* The sweep's and the webhook worker's leases: held by the first store
 * that asks, refused to a second one on the same database while the first
 * lives, taken over by the second once the first is gone; an SQLite
 * store always holds them. */
static void test_leases(void **state)
{
    struct world *w = *state;
    struct srv_store *s1 = NULL, *s2 = NULL;
    bool held = false;

    assert_int_equal(srv_store_open(w->uri, 1, 86400, &s1), 0);
    assert_int_equal(srv_store_open(w->uri, 1, 86400, &s2), 0);
    /* the running servers took them at their first sweep and webhook pass
     * (sweep_interval = 1s): neither store gets them */
    sleep(2);
    assert_int_equal(srv_store_lease(s1, SRV_LEASE_SWEEP, &held), 0);
    assert_false(held);
    assert_int_equal(srv_store_lease(s2, SRV_LEASE_WEBHOOKS, &held), 0);
    assert_false(held);
    da_test_server_kill(&w->a);
    da_test_server_kill(&w->b);
    for (int k = SRV_LEASE_SWEEP; k <= SRV_LEASE_WEBHOOKS; k++) {
        assert_true(lease_soon(s1, (enum srv_lease)k));
        assert_int_equal(srv_store_lease(s1, (enum srv_lease)k, &held), 0);
        assert_true(held); /* kept */
        assert_int_equal(srv_store_lease(s2, (enum srv_lease)k, &held), 0);
        assert_false(held);
    }
    srv_store_close(s1);
    assert_true(lease_soon(s2, SRV_LEASE_WEBHOOKS));
    srv_store_close(s2);
    assert_int_equal(da_test_server_start(&w->a), 0);
    assert_int_equal(da_test_server_start(&w->b), 0);
}

/* ---- an agent enrolled through one instance reports through the other ---- */

static void test_enroll_at_a_report_at_b(void **state)
{
    struct world *w = *state;
    char token[128], out[8192], token_line[160], path[160];
    cJSON *j;
    long status;
    int rc;

    assert_int_equal(write_agent_conf(w, &w->a), 0);
    assert_int_equal(da_test_server_cli(&w->a, token, sizeof(token), "token", "create", "--vendor",
                                        "acme", "--ttl", "1h", NULL),
                     0);
    snprintf(token_line, sizeof(token_line), "%s\n", token);
    rc = da_test_agent_input(token_line, out, sizeof(out), "enroll", "--config", w->conf,
                             "--ek-chain", w->tpm.ca_issuer, "--json", NULL);
    if (rc != 0)
        fail_msg("enroll through A exited %d: %s", rc, out);
    j = cJSON_Parse(out);
    assert_non_null(j);
    snprintf(w->agent_id, sizeof(w->agent_id), "%s", jstr(j, "agent_id"));
    cJSON_Delete(j);
    assert_int_equal(strlen(w->agent_id), 32);

    /* The same token, spent through A, is refused through B. */
    assert_int_equal(write_agent_conf(w, &w->b), 0);
    assert_int_equal(da_test_agent_input(token_line, out, sizeof(out), "enroll", "--config",
                                         w->conf, "--ek-chain", w->tpm.ca_issuer, NULL),
                     1);

    /* Reports through B: nonce and report both at B, for an agent A made. */
    rc = da_test_agent(out, sizeof(out), "report", "--config", w->conf, "--json", NULL);
    if (rc != 0 && rc != 4)
        fail_msg("report through B exited %d: %s", rc, out);
    j = cJSON_Parse(out);
    assert_non_null(j);
    assert_int_equal((int)cJSON_GetObjectItem(j, "delivered")->valuedouble, 1);
    cJSON_Delete(j);
    /* ... and A shows it. */
    snprintf(path, sizeof(path), "/v1/agents/%s/reports?limit=10", w->agent_id);
    j = http_json(&w->a, "GET", path, w->a.auditor, NULL, &status);
    assert_int_equal(status, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "reports")), 1);
    cJSON_Delete(j);
}

/* ---- a challenge is single use across instances ---- */

static const char activate_body[] =
    "{\"proof\":\"AAAA\",\"sk_public\":\"AAAA\",\"sk_certify\":{\"attest\":\"AAAA\","
    "\"signature\":\"AAAA\"}}";

/* The challenge the agent answered through A is gone for B as well: an
 * answer to it at either is refused (challenge_invalid). */
static void test_challenge_spent_for_both(void **state)
{
    struct world *w = *state;
    char path[256], id[128];
    cJSON *j, *ev;
    long status;

    j = http_json(&w->b, "GET", "/v1/audit?action=enroll_challenged&limit=10", w->b.auditor, NULL,
                  &status);
    assert_int_equal(status, 200);
    ev = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "events"), 0);
    assert_non_null(ev);
    snprintf(id, sizeof(id), "%s", jstr(ev, "subject"));
    cJSON_Delete(j);
    assert_true(strlen(id) > 0);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "/v1/enroll/%s/activate", id);
        j = http_json(i == 0 ? &w->b : &w->a, "POST", path, NULL, activate_body, &status);
        assert_int_equal(status, 400);
        assert_string_equal(err_code(j), "challenge_invalid");
        cJSON_Delete(j);
    }
}

struct take_arg {
    struct srv_store *s;
    char id[SRV_ID_HEX];
    int rc;
};

static void *take_one(void *arg)
{
    struct take_arg *t = arg;
    struct srv_challenge *c = NULL;

    t->rc = srv_store_challenge_take(t->s, t->id, (int64_t)time(NULL), &c);
    srv_challenge_free(c);
    return NULL;
}

/* Two store handles on the database (each with its own pool, as each
 * instance has): a challenge put through one and taken by eight threads
 * through both at once is taken exactly once. */
static void test_challenge_race_two_pools(void **state)
{
    struct world *w = *state;
    struct srv_store *s1 = NULL, *s2 = NULL;
    unsigned char blob[4] = {1, 2, 3, 4};
    int64_t vendor = 0;

    assert_int_equal(srv_store_open(w->uri, 1, 86400, &s1), 0);
    assert_int_equal(srv_store_open(w->uri, 1, 86400, &s2), 0);
    assert_int_equal(srv_store_vendor_ensure(s1, "acme", &vendor), 0);
    for (int round = 0; round < 20; round++) {
        struct srv_challenge c;
        struct take_arg t[8];
        pthread_t th[8];
        int won = 0;

        memset(&c, 0, sizeof(c));
        snprintf(c.id, sizeof(c.id), "c4a11e00%024d", round);
        c.vendor_id = vendor;
        memset(c.secret, 7, sizeof(c.secret));
        c.ek_public = blob;
        c.ek_public_len = sizeof(blob);
        c.ak_public = blob;
        c.ak_public_len = sizeof(blob);
        snprintf(c.ek_name, sizeof(c.ek_name), "ek-race-%d", round);
        snprintf(c.ak_name, sizeof(c.ak_name), "ak-race-%d", round);
        c.host_json = (char *)DA_UNCONST("{}");
        snprintf(c.ek_trust, sizeof(c.ek_trust), "%s", "manufacturer_chain");
        c.expires_at = (int64_t)time(NULL) + 300;
        assert_int_equal(srv_store_challenge_put(round % 2 ? s1 : s2, &c), 0);
        for (int i = 0; i < 8; i++) {
            t[i].s = i % 2 ? s1 : s2;
            snprintf(t[i].id, sizeof(t[i].id), "%s", c.id);
            assert_int_equal(pthread_create(&th[i], NULL, take_one, &t[i]), 0);
        }
        for (int i = 0; i < 8; i++) {
            pthread_join(th[i], NULL);
            if (t[i].rc == 0)
                won++;
            else
                assert_int_equal(t[i].rc, DA_ERR_CHALLENGE_INVALID);
        }
        assert_int_equal(won, 1);
    }
    srv_store_close(s2);
    srv_store_close(s1);
}

/* ---- nonces ---- */

/* A nonce from s for soft agent i; the raw bytes into nonce. */
static int get_nonce(struct world *w, const struct da_test_server *s, int i, unsigned char *nonce,
                     size_t size, size_t *len)
{
    char path[128];
    long status;
    cJSON *j;
    int rc = -1;

    snprintf(path, sizeof(path), "/v1/agents/%s/nonce", w->soft_id[i]);
    j = http_json(s, "POST", path, NULL, "{}", &status);
    if (status == 200 && j != NULL) {
        const char *b64 = jstr(j, "nonce");

        rc = da_base64_decode_to(b64, strlen(b64), DA_BASE64_STD, nonce, size, len) == 0 ? 0 : -1;
    }
    cJSON_Delete(j);
    return rc;
}

/* A report of soft agent i over nonce (quoted under the agent's lock, so
 * that each quote has its own clock); *clock gets the quote's clock. */
static char *make_report(struct world *w, int i, const unsigned char *nonce, size_t nlen,
                         uint64_t *clock)
{
    cJSON *ev;
    char *body = NULL;
    unsigned seq;

    pthread_mutex_lock(&w->mu);
    seq = w->seq++;
    pthread_mutex_unlock(&w->mu);
    ev = da_soft_ak_evidence(seq, 1);
    pthread_mutex_lock(&w->ak_mu[i]);
    if (clock != NULL)
        *clock = w->ak[i].clock;
    if (da_soft_ak_report(&w->ak[i], nonce, nlen, ev, &body) != 0)
        body = NULL;
    pthread_mutex_unlock(&w->ak_mu[i]);
    cJSON_Delete(ev);
    return body;
}

static void test_nonce_across_instances(void **state)
{
    struct world *w = *state;
    unsigned char nonce[128];
    size_t nlen = 0;
    char path[128], first_id[64], sql[256];
    char *body, *other;
    cJSON *j;
    long status;

    assert_int_equal(get_nonce(w, &w->a, 0, nonce, sizeof(nonce), &nlen), 0);
    body = make_report(w, 0, nonce, nlen, NULL);
    other = make_report(w, 0, nonce, nlen, NULL); /* other evidence, same nonce */
    assert_non_null(body);
    assert_non_null(other);
    snprintf(path, sizeof(path), "/v1/agents/%s/reports", w->soft_id[0]);
    /* issued by A, used at B: accepted */
    j = http_json(&w->b, "POST", path, NULL, body, &status);
    assert_int_equal(status, 201);
    snprintf(first_id, sizeof(first_id), "%s", jstr(j, "report_id"));
    cJSON_Delete(j);
    /* a second report with it is refused at either instance */
    for (int i = 0; i < 2; i++) {
        j = http_json(i == 0 ? &w->a : &w->b, "POST", path, NULL, other, &status);
        assert_int_equal(status, 409);
        assert_string_equal(err_code(j), "nonce_replayed");
        cJSON_Delete(j);
    }
    /* the very same report again (a retry whose answer was lost) gets the
     * stored answer, from either, and is not stored twice */
    j = http_json(&w->a, "POST", path, NULL, body, &status);
    assert_int_equal(status, 200);
    assert_string_equal(jstr(j, "report_id"), first_id);
    cJSON_Delete(j);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM reports WHERE agent_id = '%s'", w->soft_id[0]);
    assert_int_equal(db_int(w, sql), 1);
    free(body);
    free(other);
}

/* ---- counters under concurrent reports through both ---- */

struct racer {
    struct world *w;
    const struct da_test_server *s;
    int agent;
    int accepted, rollback, conflict, other;
};

static void *race_posts(void *arg)
{
    struct racer *r = arg;
    char path[128];

    snprintf(path, sizeof(path), "/v1/agents/%s/reports", r->w->soft_id[r->agent]);
    for (int n = 0; n < RACE_POSTS; n++) {
        unsigned char nonce[128];
        size_t nlen = 0;
        char *body;
        cJSON *j;
        long status = 0;

        if (get_nonce(r->w, r->s, r->agent, nonce, sizeof(nonce), &nlen) != 0) {
            r->other++;
            continue;
        }
        body = make_report(r->w, r->agent, nonce, nlen, NULL);
        j = body != NULL ? http_json(r->s, "POST", path, NULL, body, &status) : NULL;
        if (status == 201)
            r->accepted++;
        else if (strcmp(err_code(j), "counter_rollback") == 0)
            r->rollback++;
        else if (strcmp(err_code(j), "conflict") == 0)
            r->conflict++;
        else
            r->other++;
        cJSON_Delete(j);
        free(body);
    }
    return NULL;
}

struct watcher {
    struct world *w;
    char sql[160];
    volatile int stop;
    int samples, backwards;
};

/* Reads the agent's stored clock over and over: it must never decrease. */
static void *watch_clock(void *arg)
{
    struct watcher *wt = arg;
    int64_t last = 0;

    while (!wt->stop) {
        char out[64];

        if (da_test_pg_exec(wt->w->uri, wt->sql, out, sizeof(out)) == 0) {
            int64_t now = strtoll(out, NULL, 10);

            if (now < last)
                wt->backwards++;
            last = now;
            wt->samples++;
        }
        usleep(2000);
    }
    return NULL;
}

static void test_counters_concurrent(void **state)
{
    struct world *w = *state;
    struct racer r[4];
    struct watcher wt;
    pthread_t th[4], watch;
    char sql[384];
    int accepted = 0, refused = 0;

    memset(&wt, 0, sizeof(wt));
    wt.w = w;
    snprintf(wt.sql, sizeof(wt.sql), "SELECT clock FROM agents WHERE id = '%s'", w->soft_id[1]);
    assert_int_equal(pthread_create(&watch, NULL, watch_clock, &wt), 0);
    for (int i = 0; i < 4; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        r[i].w = w;
        r[i].s = i % 2 ? &w->b : &w->a;
        r[i].agent = 1;
        assert_int_equal(pthread_create(&th[i], NULL, race_posts, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        accepted += r[i].accepted;
        refused += r[i].rollback + r[i].conflict;
        assert_int_equal(r[i].other, 0);
    }
    wt.stop = 1;
    pthread_join(watch, NULL);
    print_message("counter race: %d accepted, %d refused (rollback or conflict), %d samples\n",
                  accepted, refused, wt.samples);
    assert_int_equal(accepted + refused, 4 * RACE_POSTS);
    assert_true(accepted > 0);
    assert_true(wt.samples > 0);
    assert_int_equal(wt.backwards, 0);
    /* every accepted report is stored; the agent's clock is the newest of
     * them and its last report is the one with that clock */
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM reports WHERE agent_id = '%s'", w->soft_id[1]);
    assert_int_equal(db_int(w, sql), accepted);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM agents a JOIN reports r ON r.id = a.last_report_id"
             " WHERE a.id = '%s' AND a.clock = r.clock"
             " AND r.clock = (SELECT max(clock) FROM reports WHERE agent_id = a.id)",
             w->soft_id[1]);
    assert_int_equal(db_int(w, sql), 1);
}

/* ---- SIGKILL of one instance under load ---- */

struct killrun {
    struct world *w;
    pthread_mutex_t mu;
    char (*acked)[40];
    int nacked, acked_a;
    volatile int stop;
};

struct poster {
    struct killrun *k;
    const struct da_test_server *s;
    int agent;
};

static void *post_loop(void *arg)
{
    struct poster *p = arg;
    struct killrun *k = p->k;
    char path[128];

    snprintf(path, sizeof(path), "/v1/agents/%s/reports", k->w->soft_id[p->agent]);
    for (int n = 0; !k->stop && n < 100000; n++) {
        unsigned char nonce[128];
        size_t nlen = 0;
        char *body;
        cJSON *j;
        long status = 0;

        if (get_nonce(k->w, p->s, p->agent, nonce, sizeof(nonce), &nlen) != 0) {
            usleep(10000); /* this instance is gone: wait for the end */
            continue;
        }
        body = make_report(k->w, p->agent, nonce, nlen, NULL);
        j = body != NULL ? http_json(p->s, "POST", path, NULL, body, &status) : NULL;
        if (status == 201) {
            pthread_mutex_lock(&k->mu);
            if (k->nacked < MAX_ACKED) {
                snprintf(k->acked[k->nacked++], 40, "%s", jstr(j, "report_id"));
                if (p->s == &k->w->a)
                    k->acked_a++;
            }
            pthread_mutex_unlock(&k->mu);
        }
        cJSON_Delete(j);
        free(body);
    }
    return NULL;
}

/* Consistency of what the reports wrote, each query counting violations:
 * a used nonce without its report; a report without its used nonce (none
 * expired during the test); a report body without its report (PostgreSQL
 * has no foreign key there, see server/store_pg.c); an agent whose counters are not those of its
 * last report; an agent whose clock is not its newest report's. */
static const char *const consistency[] = {
    "SELECT count(*) FROM nonces_used n WHERE NOT EXISTS"
    " (SELECT 1 FROM reports r WHERE r.id = n.report_id AND r.agent_id = n.agent_id)",
    "SELECT count(*) FROM reports r WHERE NOT EXISTS (SELECT 1 FROM nonces_used n"
    " WHERE n.agent_id = r.agent_id AND n.hash = r.nonce_hash AND n.report_id = r.id)",
    "SELECT count(*) FROM report_bodies b WHERE NOT EXISTS"
    " (SELECT 1 FROM reports r WHERE r.id = b.report_id)",
    "SELECT count(*) FROM agents a WHERE a.last_report_id IS NOT NULL AND NOT EXISTS"
    " (SELECT 1 FROM reports r WHERE r.id = a.last_report_id AND r.agent_id = a.id"
    " AND r.reset_count = a.reset_count AND r.restart_count = a.restart_count"
    " AND r.clock = a.clock)",
    "SELECT count(*) FROM agents a WHERE a.last_verified_at > 0 AND a.clock <>"
    " (SELECT max(r.clock) FROM reports r WHERE r.agent_id = a.id"
    " AND r.reset_count = a.reset_count AND r.restart_count = a.restart_count)",
};

static void test_sigkill_one_instance(void **state)
{
    struct world *w = *state;
    struct killrun k;
    struct poster p[4];
    pthread_t th[4];
    struct srv_store *st = NULL;
    int waited = 0;

    memset(&k, 0, sizeof(k));
    k.w = w;
    k.acked = calloc(MAX_ACKED, sizeof(*k.acked));
    assert_non_null(k.acked);
    pthread_mutex_init(&k.mu, NULL);
    for (int i = 0; i < 4; i++) {
        p[i].k = &k;
        p[i].s = i % 2 ? &w->b : &w->a;
        p[i].agent = 2 + i;
        assert_int_equal(pthread_create(&th[i], NULL, post_loop, &p[i]), 0);
    }
    for (;;) {
        int n;

        pthread_mutex_lock(&k.mu);
        n = k.acked_a;
        pthread_mutex_unlock(&k.mu);
        if (n >= KILL_AFTER / 2 || waited++ > 3000)
            break;
        usleep(20000);
    }
    da_test_server_kill(&w->a); /* SIGKILL, mid-stream */
    usleep(500000);             /* B carries on alone for a while */
    k.stop = 1;
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    print_message("acknowledged: %d (%d through the killed instance)\n", k.nacked, k.acked_a);
    assert_true(k.acked_a >= KILL_AFTER / 2);

    /* Every acknowledged report is there, seen through the survivor. */
    for (int i = 0; i < k.nacked; i++) {
        char path[128];
        long status;
        cJSON *j;

        snprintf(path, sizeof(path), "/v1/reports/%s", k.acked[i]);
        j = http_json(&w->b, "GET", path, w->b.auditor, NULL, &status);
        if (status != 200)
            fail_msg("report %s acknowledged but missing after the kill", k.acked[i]);
        cJSON_Delete(j);
    }
    /* The database: amcheck on every index and heap, then consistency. */
    assert_int_equal(srv_store_open(w->uri, 1, 86400, &st), 0);
    assert_int_equal(srv_store_integrity_check(st), 0);
    srv_store_close(st);
    /* (the check ran amcheck: the cluster's superuser could create it) */
    assert_int_equal(db_int(w, "SELECT count(*) FROM pg_extension WHERE extname = 'amcheck'"), 1);
    for (size_t i = 0; i < sizeof(consistency) / sizeof(consistency[0]); i++) {
        if (db_int(w, consistency[i]) != 0)
            fail_msg("inconsistent: %s", consistency[i]);
    }
    /* The killed instance comes back on the same database. */
    assert_int_equal(da_test_server_start(&w->a), 0);
    {
        char path[128];
        long status;
        cJSON *j;

        snprintf(path, sizeof(path), "/v1/reports/%s", k.acked[0]);
        j = http_json(&w->a, "GET", path, w->a.auditor, NULL, &status);
        assert_int_equal(status, 200);
        cJSON_Delete(j);
    }
    pthread_mutex_destroy(&k.mu);
    free(k.acked);
}

/* ---- webhooks ---- */

/* Events raised at both instances are delivered once each: only the
 * instance holding the webhook lease delivers. The receiver holds its
 * first answer for 3 s, so a second worker polling the queue meanwhile
 * would find the delivery still pending and send it again (the receiver
 * takes it after the held one, and counts it). */
static void test_webhooks_once(void **state)
{
    struct world *w = *state;
    struct da_webhook_rx rx;
    char hook[SRV_ID_HEX], path[160];

    da_webhook_rx_start(&rx);
    da_webhook_rx_hold(&rx);
    da_webhook_rx_register(&rx, &w->a, w->a.admin, hook);
    for (int i = 0; i < 2; i++) {
        long status;
        cJSON *j;

        snprintf(path, sizeof(path), "/v1/agents/%s/revoke", w->soft_id[i]);
        j = http_json(i == 0 ? &w->a : &w->b, "POST", path, w->a.admin, "{}", &status);
        assert_int_equal(status, 200);
        cJSON_Delete(j);
    }
    assert_int_equal(da_webhook_rx_hold_one(&rx), 1);
    sleep(3); /* both workers poll every second */
    da_webhook_rx_release(&rx);
    for (int i = 0; i < 2; i++)
        assert_int_equal(da_webhook_rx_wait(&rx, "agent.revoked", w->soft_id[i], 200, 1), 1);
    sleep(3); /* a duplicate would be here by now */
    for (int i = 0; i < 2; i++)
        assert_int_equal(da_webhook_rx_count(&rx, "agent.revoked", w->soft_id[i], 0), 1);
    da_webhook_rx_stop(&rx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrate_concurrently),
        cmocka_unit_test(test_leases),
        cmocka_unit_test(test_policy_reaches_other),
        cmocka_unit_test(test_enroll_at_a_report_at_b),
        cmocka_unit_test(test_challenge_spent_for_both),
        cmocka_unit_test(test_challenge_race_two_pools),
        cmocka_unit_test(test_nonce_across_instances),
        cmocka_unit_test(test_counters_concurrent),
        cmocka_unit_test(test_sigkill_one_instance),
        cmocka_unit_test(test_webhooks_once),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

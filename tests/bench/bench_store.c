/* Store write path: durable report puts per second through store.h, with
 * real evidence documents, and the bytes the database holds per report.
 *
 *   bench_store DIR AGENTS THREADS REPORTS CHANGE_PERMILLE POLICY EVIDENCE...
 *
 * AGENTS agents (split over THREADS writer threads; each thread owns its
 * agents so their TPM counters move forward) put REPORTS reports in all,
 * after a warm-up of one report per agent. Agent i reports EVIDENCE[i % n]
 * with its own host name and machine id; CHANGE_PERMILLE reports in a
 * thousand carry a changed pending-upgrade list (the patches area, the
 * largest). Each report carries what the server stores for one: the
 * verdict of POLICY on the document (da_policy_eval), a transcript and a
 * receipt of the server's shape (a DSSE envelope whose payload names the
 * report, the digests and the controls; a 72-byte signature), and the body
 * as posted: the canonical evidence beside a fresh nonce and a quote whose
 * attest structure changes in its nonce digest and clock. Prints:
 *   reports_per_s R us_per_put U cpu_us_per_report C bytes_per_report B
 *   db_bytes N
 * where bytes_per_report is the growth of the database file (after the
 * store's close, which checkpoints the WAL) divided by REPORTS. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/sha.h>

#include "caps.h"
#include "encoding.h"
#include "file.h"
#include "jcs.h"
#include "json.h"
#include "policy.h"
#include "err.h"
#include "store.h"
#include "picky.h"

struct doc {
    char *canon;   /* per agent: host name and machine id replaced */
    char *verdict; /* the policy's verdict on it */
    char controls[1024];
};

struct ctx {
    struct srv_store *s;
    struct da_policy *policy;
    struct doc *docs; /* one per agent */
    size_t ndocs;
    unsigned agents, threads, reports, permille;
    unsigned tid;
    unsigned seq0;
    uint64_t *clock;
    int rc;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The document with its pending-upgrade list changed: a marker before the
 * first string value inside the patches area (same shape). */
static char *changed_doc(const char *doc, unsigned seq)
{
    const char *area = strstr(doc, "\"patches\":"), *q = area != NULL ? strstr(area, ":\"") : NULL;
    size_t n = strlen(doc);
    char *out = malloc(n + 32);

    if (out == NULL)
        return NULL;
    if (q == NULL) {
        memcpy(out, doc, n + 1);
        return out;
    }
    q += 2;
    memcpy(out, doc, (size_t)(q - doc));
    snprintf(out + (q - doc), 32, "c%u-", seq);
    memcpy(out + strlen(out), q, n - (size_t)(q - doc) + 1);
    return out;
}

static int verdict_of(const struct da_policy *p, const char *canon, char **verdict, char *controls,
                      size_t csize)
{
    cJSON *doc = cJSON_Parse(canon), *facts = cJSON_Parse("{\"trust\":\"tpm\"}"), *v = NULL;
    struct da_policy_result *r = NULL;
    int rc = doc != NULL && facts != NULL ? da_policy_eval(p, doc, facts, &r) : DA_ERR_JSON_PARSE;

    if (rc == 0)
        rc = da_policy_result_to_json(r, &v);
    if (rc == 0) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(v, "controls");
        char *ct = c != NULL ? cJSON_PrintUnformatted(c) : NULL;

        snprintf(controls, csize, "%s", ct != NULL ? ct : "{}");
        free(ct);
        *verdict = cJSON_PrintUnformatted(v);
        rc = *verdict != NULL ? 0 : DA_ERR_NOMEM;
    }
    cJSON_Delete(v);
    da_policy_result_free(r);
    cJSON_Delete(doc);
    cJSON_Delete(facts);
    return rc;
}

static void fill_random(unsigned char *p, size_t n, uint64_t *x)
{
    size_t i;

    for (i = 0; i < n; i++) {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        p[i] = (unsigned char)*x;
    }
}

static char *b64(const void *p, size_t n)
{
    struct da_buf b;
    char *out;

    da_buf_init(&b, 4 * n + 16);
    if (da_base64_encode(p, n, DA_BASE64_STD, &b) != 0) {
        da_buf_free(&b);
        return NULL;
    }
    out = strdup(da_buf_str(&b));
    da_buf_free(&b);
    return out;
}

static int put_one(struct ctx *c, unsigned agent, unsigned seq)
{
    struct srv_report r;
    struct doc *d = &c->docs[agent];
    char *ev = d->canon, *mod = NULL, *verdict = d->verdict, *own_verdict = NULL;
    char *nonce_b64 = NULL, *attest_b64 = NULL, *sig_b64 = NULL, *pcr_b64 = NULL,
         *payload_b64 = NULL, *rsig_b64 = NULL, *body = NULL;
    const char *controls = d->controls;
    char own_controls[1024];
    unsigned char digest[SHA256_DIGEST_LENGTH], nonce[32], attest[145], sig[72], pcrs[388],
        rsig[72];
    char transcript[1024], payload[2048], *receipt = NULL;
    uint64_t x = ((uint64_t)seq << 20) ^ agent ^ 0x9e3779b97f4a7c15ull, y = agent + 1u;
    size_t blen;
    int rc = DA_ERR_NOMEM;

    if (c->permille > 0 && (seq * 2654435761u) % 1000u < c->permille) {
        mod = changed_doc(ev, seq);
        if (mod == NULL ||
            verdict_of(c->policy, mod, &own_verdict, own_controls, sizeof(own_controls)) != 0)
            goto out;
        ev = mod;
        verdict = own_verdict;
        controls = own_controls;
    }
    memset(&r, 0, sizeof(r));
    snprintf(r.id, sizeof(r.id), "%012x%04x%016x", seq, agent & 0xffff, seq * 2654435761u);
    snprintf(r.agent_id, sizeof(r.agent_id), "agent%06u", agent);
    fill_random(nonce, sizeof(nonce), &x);
    SHA256(nonce, sizeof(nonce), r.nonce_hash);
    r.nonce_expires_at = (int64_t)time(NULL) + 600;
    SHA256((const unsigned char *)ev, strlen(ev), digest);
    da_hex_encode_to(digest, sizeof(digest), r.evidence_sha256, sizeof(r.evidence_sha256));
    c->clock[agent] += 900000;
    /* the quote: per agent constant but for the nonce digest and the clock */
    fill_random(attest, sizeof(attest), &y);
    fill_random(pcrs, sizeof(pcrs), &y);
    SHA256(nonce, sizeof(nonce), attest + 40);
    memcpy(attest + 74, &c->clock[agent], sizeof(c->clock[agent]));
    fill_random(sig, sizeof(sig), &x);
    fill_random(rsig, sizeof(rsig), &x);
    nonce_b64 = b64(nonce, sizeof(nonce));
    attest_b64 = b64(attest, sizeof(attest));
    sig_b64 = b64(sig, sizeof(sig));
    pcr_b64 = b64(pcrs, sizeof(pcrs));
    rsig_b64 = b64(rsig, sizeof(rsig));
    if (nonce_b64 == NULL || attest_b64 == NULL || sig_b64 == NULL || pcr_b64 == NULL ||
        rsig_b64 == NULL)
        goto out;
    snprintf(transcript, sizeof(transcript),
             "{\"checks\":[\"body\",\"agent\",\"nonce\",\"quote_signature\",\"qualifying_data\","
             "\"pcr_selection\",\"pcr_digest\",\"counters\",\"inventory\",\"policy\"],\"tpm\":{"
             "\"clock\":\"%llu\",\"clock_safe\":true,\"reset_count\":1,\"restart_count\":0,"
             "\"firmware_version\":\"538513443\",\"firmware_changed\":false},\"ak_name\":"
             "\"000b%08x4efa1fe9e77287ab11f3d3660fe27a6b68c9f754ffbd095717b08dba1e\","
             "\"ek_trust\":\"manufacturer_chain\",\"pcr_selection\":\"sha256:0-10,12,14\","
             "\"ima\":{\"state\":\"inactive\",\"from\":-1,\"entries\":0,\"facts\":{\"log\":"
             "\"inactive\",\"active\":false,\"boot\":0,\"entries\":0,\"new_entries\":0}}}",
             (unsigned long long)c->clock[agent], agent);
    snprintf(payload, sizeof(payload),
             "{\"_type\":\"https://devattest.dev/receipt/v1\",\"agent_id\":\"%s\","
             "\"compliant\":false,\"controls\":%s,\"evidence_sha256\":\"%s\",\"issued_at\":"
             "\"2026-12-06T08:%02u:%02uZ\",\"policy_sha256\":"
             "\"966c6479430a96fcc6e35c33f02c3f2ce790a7982dc3996fa01a2593d5c43e8b\","
             "\"report_id\":\"%s\",\"valid_until\":\"2026-12-07T08:%02u:%02uZ\",\"vendor\":"
             "\"bench\"}",
             r.agent_id, controls, r.evidence_sha256, seq / 60 % 60, seq % 60, r.id, seq / 60 % 60,
             seq % 60);
    payload_b64 = b64(payload, strlen(payload));
    if (payload_b64 == NULL)
        goto out;
    {
        size_t rlen = strlen(payload_b64) + strlen(rsig_b64) + 256;

        receipt = malloc(rlen);
        if (receipt == NULL)
            goto out;
        snprintf(receipt, rlen,
                 "{\"payload\":\"%s\",\"payloadType\":\"application/vnd.devattest.receipt+json\","
                 "\"signatures\":[{\"keyid\":\"3f2a9c1d5e7b8a60\",\"sig\":\"%s\"}]}",
                 payload_b64, rsig_b64);
    }
    blen = strlen(ev) + 2048;
    body = malloc(blen);
    if (body == NULL)
        goto out;
    snprintf(body, blen,
             "{\"nonce\":\"%s\",\"evidence\":%s,\"quote\":{\"attest\":\"%s\",\"signature\":\"%s\","
             "\"pcr_values\":\"%s\"}}",
             nonce_b64, ev, attest_b64, sig_b64, pcr_b64);
    r.evidence_json = ev;
    r.verdict_json = verdict;
    r.transcript_json = transcript;
    r.receipt_json = receipt;
    r.body_json = body;
    r.compliant = false;
    r.received_at = (int64_t)time(NULL);
    r.reset_count = 1;
    r.clock = c->clock[agent];
    rc = srv_store_report_put(c->s, &r);
out:
    free(mod);
    free(own_verdict);
    free(nonce_b64);
    free(attest_b64);
    free(sig_b64);
    free(pcr_b64);
    free(payload_b64);
    free(rsig_b64);
    free(receipt);
    free(body);
    return rc;
}

static void *worker(void *arg)
{
    struct ctx *c = arg;
    unsigned i, mine = 0;

    for (i = c->tid; i < c->reports && c->rc == 0; i += c->threads) {
        unsigned agent =
            c->tid + c->threads * (mine % ((c->agents + c->threads - 1 - c->tid) / c->threads));

        c->rc = put_one(c, agent, c->seq0 + i);
        mine++;
    }
    return NULL;
}

static unsigned arg_u(const char *s)
{
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 10);

    return end != s && *end == '\0' && v <= 10000000ul ? (unsigned)v : 0;
}

static double cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long long file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

static long long db_bytes(const char *db)
{
    char p[600];

    snprintf(p, sizeof(p), "%s-wal", db);
    return file_size(db) + file_size(p);
}

static int run_phase(struct ctx *base, unsigned reports, unsigned seq0, double *secs)
{
    pthread_t th[256];
    struct ctx c[256];
    unsigned t;
    double t0 = now_s();
    int rc = 0;

    for (t = 0; t < base->threads; t++) {
        c[t] = *base;
        c[t].tid = t;
        c[t].reports = reports;
        c[t].seq0 = seq0;
        if (pthread_create(&th[t], NULL, worker, &c[t]) != 0)
            return DA_ERR_INTERNAL;
    }
    for (t = 0; t < base->threads; t++) {
        pthread_join(th[t], NULL);
        if (c[t].rc != 0)
            rc = c[t].rc;
    }
    *secs = now_s() - t0;
    return rc;
}

/* Agent i's document: the file's, with its own host name and machine id,
 * in canonical form, and the policy's verdict on it. */
static int load_doc(struct ctx *c, const char *path, unsigned agent, struct doc *d)
{
    struct da_buf b, out;
    cJSON *doc = NULL, *host;
    char name[32], mid[33];
    int rc = da_file_read(path, DA_MAX_EVIDENCE, &b);

    if (rc != 0)
        return rc;
    doc = cJSON_Parse(da_buf_str(&b));
    da_buf_free(&b);
    if (doc == NULL)
        return DA_ERR_JSON_PARSE;
    host = cJSON_GetObjectItemCaseSensitive(doc, "host");
    snprintf(name, sizeof(name), "builder-%06u", agent);
    snprintf(mid, sizeof(mid), "%032x", agent * 2654435761u);
    if (cJSON_IsObject(host)) {
        cJSON_DeleteItemFromObjectCaseSensitive(host, "hostname");
        cJSON_DeleteItemFromObjectCaseSensitive(host, "machine_id");
        cJSON_AddStringToObject(host, "hostname", name);
        cJSON_AddStringToObject(host, "machine_id", mid);
    }
    da_buf_init(&out, DA_MAX_EVIDENCE);
    rc = da_jcs_serialize(doc, &out);
    cJSON_Delete(doc);
    if (rc == 0) {
        d->canon = strdup(da_buf_str(&out));
        rc = d->canon != NULL ? 0 : DA_ERR_NOMEM;
    }
    da_buf_free(&out);
    if (rc == 0)
        rc = verdict_of(c->policy, d->canon, &d->verdict, d->controls, sizeof(d->controls));
    return rc;
}

int main(int argc, char **argv)
{
    struct ctx c;
    char db[512];
    unsigned i;
    int64_t vendor = 0;
    double secs = 0, cpu0, cpu1;
    long long before, after;
    int rc;

    struct da_policy_error perr;
    size_t ndocs;

    if (argc < 8) {
        fprintf(stderr, "usage: bench_store DIR AGENTS THREADS REPORTS CHANGE_PERMILLE POLICY"
                        " EVIDENCE...\n");
        return 2;
    }
    memset(&c, 0, sizeof(c));
    snprintf(db, sizeof(db), "%s/bench.db", argv[1]);
    c.agents = arg_u(argv[2]);
    c.threads = arg_u(argv[3]);
    c.reports = arg_u(argv[4]);
    c.permille = arg_u(argv[5]);
    ndocs = (size_t)(argc - 7);
    if (c.agents == 0 || c.threads == 0 || c.threads > 256 || c.threads > c.agents)
        return 2;
    if (da_policy_load_file(argv[6], &c.policy, &perr) != 0) {
        fprintf(stderr, "cannot load policy %s\n", argv[6]);
        return 1;
    }
    c.docs = calloc(c.agents, sizeof(*c.docs));
    c.clock = calloc(c.agents, sizeof(uint64_t));
    if (c.docs == NULL || c.clock == NULL)
        return 1;
    for (i = 0; i < c.agents; i++) {
        if (load_doc(&c, argv[7 + i % ndocs], i, &c.docs[i]) != 0) {
            fprintf(stderr, "cannot read %s\n", argv[7 + i % ndocs]);
            return 1;
        }
    }
    if (srv_store_open(db, 256, 3600, &c.s) != 0 ||
        srv_store_vendor_ensure(c.s, "bench", &vendor) != 0)
        return 1;
    for (i = 0; i < c.agents; i++) {
        struct srv_agent a;
        unsigned char ak[64];

        memset(&a, 0, sizeof(a));
        memset(ak, (int)i, sizeof(ak));
        snprintf(a.id, sizeof(a.id), "agent%06u", i);
        a.vendor_id = vendor;
        snprintf(a.ek_name, sizeof(a.ek_name), "ek%06u", i);
        snprintf(a.ak_name, sizeof(a.ak_name), "ak%06u", i);
        a.ak_public = ak;
        a.ak_public_len = sizeof(ak);
        a.host_json = (char *)DA_UNCONST("{\"hostname\":\"builder\"}");
        a.created_at = (int64_t)time(NULL);
        snprintf(a.ek_trust, sizeof(a.ek_trust), "%s", SRV_EK_TRUST_CHAIN);
        if (srv_store_agent_create(c.s, &a) != 0)
            return 1;
    }
    /* warm-up: every agent's first report */
    rc = run_phase(&c, c.agents, 0, &secs);
    srv_store_close(c.s);
    before = db_bytes(db);
    if (rc == 0)
        rc = srv_store_open(db, 256, 3600, &c.s);
    cpu0 = cpu_s();
    if (rc == 0)
        rc = run_phase(&c, c.reports, c.agents, &secs);
    cpu1 = cpu_s();
    srv_store_close(c.s);
    after = db_bytes(db);
    if (rc != 0) {
        fprintf(stderr, "bench_store: %s\n", da_strerror(rc));
        return 1;
    }
    printf("reports_per_s %.0f us_per_put %.1f cpu_us_per_report %.1f bytes_per_report %.0f"
           " db_bytes %lld\n",
           c.reports / secs, 1e6 * secs * c.threads / c.reports, 1e6 * (cpu1 - cpu0) / c.reports,
           (double)(after - before) / c.reports, after);
    for (i = 0; i < c.agents; i++) {
        free(c.docs[i].canon);
        free(c.docs[i].verdict);
    }
    free(c.docs);
    da_policy_free(c.policy);
    free(c.clock);
    return 0;
}

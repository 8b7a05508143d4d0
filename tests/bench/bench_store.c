/* Store write path: durable report puts per second through store.h, with
 * real evidence documents, and the bytes the database holds per report.
 *
 *   bench_store DIR AGENTS THREADS REPORTS CHANGE_PERMILLE EVIDENCE.json...
 *
 * AGENTS agents (split over THREADS writer threads, each thread owns its
 * agents so their TPM counters move forward) put REPORTS reports in all.
 * Agent i reports EVIDENCE[i % n] each time; with CHANGE_PERMILLE > 0 that
 * many reports in a thousand carry a changed posture (a different
 * top-level area: the document's "collected_at"-like fields are left alone,
 * one area's text gets a per-report marker). Prints one line of figures:
 *   reports_per_s <r> us_per_put <u> cpu_us_per_report <c> bytes_per_report <b>
 *   db_bytes <n>
 * where bytes_per_report is the growth of the database files (main file
 * and WAL after a full checkpoint on close) divided by REPORTS, measured
 * after a warm-up of one report per agent. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/sha.h>

#include "encoding.h"
#include "err.h"
#include "store.h"
#include "picky.h"

struct ctx {
    struct srv_store *s;
    char **docs;
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

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    buf = malloc((size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf != NULL)
        buf[n] = '\0';
out:
    if (f != NULL)
        fclose(f);
    return buf;
}

/* The document with one area changed: the first string value after the
 * first top-level key gets a marker in front (same JSON shape). */
static char *changed_doc(const char *doc, unsigned seq)
{
    const char *q = strstr(doc, ":\"");
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

static int put_one(struct ctx *c, unsigned agent, unsigned seq)
{
    struct srv_report r;
    char *ev = c->docs[agent % c->ndocs], *mod = NULL;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    char verdict[512], transcript[1024], receipt[1024];
    int rc;

    if (c->permille > 0 && (seq * 2654435761u) % 1000u < c->permille) {
        mod = changed_doc(ev, seq);
        if (mod == NULL)
            return DA_ERR_NOMEM;
        ev = mod;
    }
    memset(&r, 0, sizeof(r));
    snprintf(r.id, sizeof(r.id), "r%08x%08x", agent, seq);
    snprintf(r.agent_id, sizeof(r.agent_id), "agent%06u", agent);
    SHA256((const unsigned char *)&seq, sizeof(seq), r.nonce_hash);
    r.nonce_hash[0] ^= (unsigned char)agent;
    r.nonce_hash[1] ^= (unsigned char)(agent >> 8);
    r.nonce_expires_at = (int64_t)time(NULL) + 600;
    SHA256((const unsigned char *)ev, strlen(ev), digest);
    da_hex_encode_to(digest, sizeof(digest), r.evidence_sha256, sizeof(r.evidence_sha256));
    snprintf(verdict, sizeof(verdict),
             "{\"compliant\":true,\"policy_sha256\":\"%s\",\"controls\":[{\"id\":\"A.8.30\","
             "\"result\":\"pass\"},{\"id\":\"A.8.31\",\"result\":\"pass\"}]}",
             r.evidence_sha256);
    snprintf(transcript, sizeof(transcript),
             "{\"evidence_sha256\":\"%s\",\"tpm\":{\"clock\":\"%llu\",\"reset_count\":1,"
             "\"restart_count\":0},\"steps\":[\"ak\",\"quote\",\"pcrs\",\"nonce\",\"evidence\"]}",
             r.evidence_sha256, (unsigned long long)c->clock[agent] + 1000);
    snprintf(receipt, sizeof(receipt),
             "{\"payloadType\":\"application/vnd.devattest.receipt+json\",\"payload\":\"%s%s\","
             "\"signatures\":[{\"keyid\":\"k1\",\"sig\":\"MEUCIQ%s\"}]}",
             r.evidence_sha256, r.evidence_sha256, r.evidence_sha256);
    r.evidence_json = ev;
    r.verdict_json = verdict;
    r.transcript_json = transcript;
    r.receipt_json = receipt;
    r.compliant = true;
    r.received_at = (int64_t)time(NULL);
    r.reset_count = 1;
    c->clock[agent] += 1000;
    r.clock = c->clock[agent];
    rc = srv_store_report_put(c->s, &r);
    free(mod);
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

int main(int argc, char **argv)
{
    struct ctx c;
    char db[512];
    unsigned i;
    int64_t vendor = 0;
    double secs = 0, cpu0, cpu1;
    long long before, after;
    int rc;

    if (argc < 7) {
        fprintf(stderr,
                "usage: bench_store DIR AGENTS THREADS REPORTS CHANGE_PERMILLE EVIDENCE...\n");
        return 2;
    }
    memset(&c, 0, sizeof(c));
    snprintf(db, sizeof(db), "%s/bench.db", argv[1]);
    c.agents = arg_u(argv[2]);
    c.threads = arg_u(argv[3]);
    c.reports = arg_u(argv[4]);
    c.permille = arg_u(argv[5]);
    c.ndocs = (size_t)(argc - 6);
    if (c.agents == 0 || c.threads == 0 || c.threads > 256 || c.threads > c.agents)
        return 2;
    c.docs = calloc(c.ndocs, sizeof(char *));
    c.clock = calloc(c.agents, sizeof(uint64_t));
    for (i = 0; i < c.ndocs; i++) {
        c.docs[i] = slurp(argv[6 + i]);
        if (c.docs[i] == NULL) {
            fprintf(stderr, "cannot read %s\n", argv[6 + i]);
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
    for (i = 0; i < c.ndocs; i++)
        free(c.docs[i]);
    free(c.docs);
    free(c.clock);
    return 0;
}

/* Benchmark of the verification core, for scripts/bench.d/verify.sh.
 *
 *   bench_verify quote SECONDS     quote verifications per CPU second (one core)
 *                                  (parse + ECDSA P-256 verify + all checks),
 *                                  with the AK parsed once, and with the AK
 *                                  parsed for every quote
 *   bench_verify policy POLICY EVIDENCE RUNS
 *                                  median microseconds of one evaluation
 *   bench_verify eventlog LOG KIB RUNS
 *                                  median CPU microseconds the server spends
 *                                  on a firmware event log per report: replay
 *                                  against the quoted sha256 PCRs and the
 *                                  measured facts. The real LOG is grown to
 *                                  KIB KiB with copies of its own events.
 *   bench_verify ima LOG KIB ENTRIES RUNS
 *                                  median CPU microseconds for one report that
 *                                  carries the firmware event log (as above)
 *                                  and an IMA increment of ENTRIES ima-ng
 *                                  entries, replayed from zero against the
 *                                  quoted sha256 PCR 10 with the IMA facts
 *                                  (srv_ima_evaluate, as the server runs it).
 *
 * The quote is made by a software key posing as the AK (tests/support/
 * tpm_soft.c): the verifier does the same work as for a TPM's quote. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caps.h"
#include "eventlog_facts.h"
#include "file.h"
#include "ima.h"
#include "ima_build.h"
#include "json.h"
#include "policy.h"
#include "quote.h"
#include "tcg_eventlog.h"
#include "tpm_public.h"
#include "tpm_soft.h"

/* CPU time of this process: like openssl speed (which divides by user CPU
 * time), so that other load on the machine does not skew the comparison. */
static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct quote_fixture {
    uint8_t ak[256], attest[512], sig[256], values[8 * 32], qd[32];
    size_t ak_len, attest_len, sig_len;
    struct da_pcr_selection sel;
};

static int make_quote(struct quote_fixture *q)
{
    struct soft_public d = {SOFT_AK_ATTRS, TPM2_ALG_SHA256, TPM2_ALG_ECDSA, TPM2_ALG_SHA256, 0};
    EVP_PKEY *k = soft_key("P-256");
    TPMS_ATTEST a;
    size_t i;
    int rc = -1;

    for (i = 0; i < sizeof(q->values); i++)
        q->values[i] = (uint8_t)(i * 7);
    memset(q->qd, 0x5a, sizeof(q->qd));
    soft_quote_info(&a, q->qd, sizeof(q->qd), TPM2_ALG_SHA256, 0xff, q->values, sizeof(q->values),
                    TPM2_ALG_SHA256);
    if (k != NULL && soft_tpm_public(k, &d, q->ak, sizeof(q->ak), &q->ak_len) == 0 &&
        soft_attest(&a, q->attest, sizeof(q->attest), &q->attest_len) == 0 &&
        soft_sign(k, TPM2_ALG_ECDSA, TPM2_ALG_SHA256, q->attest, q->attest_len, q->sig,
                  sizeof(q->sig), &q->sig_len) == 0 &&
        da_pcr_selection_parse("sha256:0-7", &q->sel) == 0)
        rc = 0;
    EVP_PKEY_free(k);
    return rc;
}

static int verify_once(const struct quote_fixture *q, const struct da_tpm_public *ak)
{
    struct da_quote_expect e = {ak,   q->qd, sizeof(q->qd), &q->sel, q->values, sizeof(q->values),
                                false};
    struct da_tpm_clock c;

    return da_quote_verify(q->attest, q->attest_len, q->sig, q->sig_len, &e, &c);
}

static int bench_quote(double seconds)
{
    struct quote_fixture q;
    struct da_tpm_public *ak = NULL;
    double t0, t;
    long n;

    if (make_quote(&q) != 0 || da_tpm_public_parse(q.ak, q.ak_len, &ak) != 0 ||
        verify_once(&q, ak) != 0) {
        fprintf(stderr, "bench: fixture quote does not verify\n");
        return 1;
    }
    for (n = 0, t0 = now_s(); (t = now_s()) - t0 < seconds; n++) {
        if (verify_once(&q, ak) != 0)
            return 1;
    }
    printf("quote_verify_per_s %.0f\n", (double)n / (t - t0));
    for (n = 0, t0 = now_s(); (t = now_s()) - t0 < seconds; n++) {
        struct da_tpm_public *p = NULL;
        if (da_tpm_public_parse(q.ak, q.ak_len, &p) != 0 || verify_once(&q, p) != 0)
            return 1;
        da_tpm_public_free(p);
    }
    printf("quote_verify_with_ak_parse_per_s %.0f\n", (double)n / (t - t0));
    da_tpm_public_free(ak);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int bench_policy(const char *policy_path, const char *evidence_path, int runs)
{
    struct da_policy *p = NULL;
    struct da_policy_error err;
    struct da_buf b;
    cJSON *doc, *facts = cJSON_Parse("{\"trust\":\"tpm\"}");
    double *us = calloc((size_t)runs, sizeof(double));
    int i;

    if (us == NULL || da_policy_load_file(policy_path, &p, &err) != 0 ||
        da_file_read(evidence_path, DA_MAX_EVIDENCE, &b) != 0) {
        fprintf(stderr, "bench: cannot load policy or evidence\n");
        return 1;
    }
    doc = cJSON_Parse(da_buf_str(&b));
    da_buf_free(&b);
    if (doc == NULL)
        return 1;
    for (i = 0; i < runs; i++) {
        struct da_policy_result *r = NULL;
        double t0 = now_s();
        if (da_policy_eval(p, doc, facts, &r) != 0)
            return 1;
        da_policy_result_free(r);
        us[i] = (now_s() - t0) * 1e6;
    }
    qsort(us, (size_t)runs, sizeof(double), cmp_double);
    printf("policy_checks %zu\n", da_policy_check_count(p));
    printf("policy_eval_median_us %.2f\n", us[runs / 2]);
    printf("policy_eval_p99_us %.2f\n", us[runs * 99 / 100]);
    free(us);
    cJSON_Delete(doc);
    cJSON_Delete(facts);
    da_policy_free(p);
    return 0;
}

struct grow {
    const unsigned char *base;
    size_t ends[4096];
    size_t n;
};

static int note_end(const struct da_eventlog_event *ev, void *ctx)
{
    struct grow *g = ctx;

    if (g->n < sizeof(g->ends) / sizeof(g->ends[0]))
        g->ends[g->n++] = (size_t)(ev->data - g->base) + ev->data_size;
    return 0;
}

/* The firmware log of the eventlog bench, grown to kib KiB, and its
 * quoted sha256 PCRs 0-9, 12, 14. */
struct elog_fixture {
    unsigned char log[DA_MAX_EVENT_LOG / 64];
    size_t len, events;
    struct da_pcr_selection sel;
    unsigned char values[24 * 32];
    size_t nvalues;
};

static int elog_fixture(const char *path, size_t kib, struct elog_fixture *f)
{
    unsigned char pcrs[DA_EVENTLOG_PCRS][DA_EVENTLOG_MAX_DIGEST];
    struct da_eventlog_summary s;
    struct grow g;
    struct da_buf b;
    size_t k = 0;
    uint32_t extended;

    if (da_file_read(path, sizeof(f->log), &b) != 0 || da_buf_len(&b) > sizeof(f->log))
        return 1;
    f->len = da_buf_len(&b);
    memcpy(f->log, da_buf_data(&b), f->len);
    da_buf_free(&b);
    memset(&g, 0, sizeof(g));
    g.base = f->log;
    if (da_eventlog_walk(f->log, f->len, &s, note_end, &g) != 0 || g.n < 2)
        return 1;
    while (f->len < kib * 1024) {
        size_t i = 1 + k % (g.n - 1), from = g.ends[i - 1], size = g.ends[i] - from;
        if (f->len + size > sizeof(f->log))
            return 1;
        memmove(f->log + f->len, f->log + from, size);
        f->len += size;
        k++;
    }
    if (da_eventlog_walk(f->log, f->len, &s, NULL, NULL) != 0 ||
        da_eventlog_replay(f->log, f->len, TPM2_ALG_SHA256, pcrs, &extended) != 0 ||
        da_pcr_selection_parse("sha256:0-9,12,14", &f->sel) != 0)
        return 1;
    f->events = s.events;
    f->nvalues = 0;
    for (int i = 0; i < 24; i++) {
        if ((f->sel.banks[0].pcrs & (1u << i)) != 0)
            memcpy(f->values + 32 * f->nvalues++, pcrs[i], 32);
    }
    return 0;
}

static int bench_eventlog(const char *path, size_t kib, int runs)
{
    static struct elog_fixture f;
    struct da_eventlog_mismatch m;
    double *us = calloc((size_t)runs, sizeof(double));

    if (us == NULL || elog_fixture(path, kib, &f) != 0)
        return 1;
    for (int i = 0; i < runs; i++) {
        double t0 = now_s();
        if (da_eventlog_match(f.log, f.len, &f.sel, f.values, 32 * f.nvalues, &m) != 0)
            return 1;
        us[i] = (now_s() - t0) * 1e6;
    }
    qsort(us, (size_t)runs, sizeof(double), cmp_double);
    printf("eventlog_replay_median_us %.1f\n", us[runs / 2]);
    for (int i = 0; i < runs; i++) {
        cJSON *facts = NULL;
        double t0 = now_s();
        if (da_eventlog_match(f.log, f.len, &f.sel, f.values, 32 * f.nvalues, &m) != 0 ||
            da_eventlog_facts(f.log, f.len, TPM2_ALG_SHA256, &facts) != 0)
            return 1;
        cJSON_Delete(facts);
        us[i] = (now_s() - t0) * 1e6;
    }
    qsort(us, (size_t)runs, sizeof(double), cmp_double);
    printf("eventlog_bytes %zu\n", f.len);
    printf("eventlog_events %zu\n", f.events);
    printf("eventlog_median_us %.1f\n", us[runs / 2]);
    printf("eventlog_p99_us %.1f\n", us[runs * 99 / 100]);
    free(us);
    return 0;
}

/* An IMA list of n ima-ng entries with library-like paths, and PCR 10 as a
 * TPM would hold it after them (extended here from the builder's digests). */
static int ima_fixture(struct da_test_ima *l, size_t n, unsigned char pcr10[32])
{
    unsigned char d[32], ext[32], buf[64];
    unsigned int len = 0;

    memset(pcr10, 0, 32);
    for (size_t i = 0; i < n; i++) {
        char path[96];
        memset(d, (int)(i & 0xff), sizeof(d));
        snprintf(path, sizeof(path),
                 i == 0 ? "boot_aggregate" : "/usr/lib/x86_64-linux-gnu/libbench-%zu.so.1", i);
        if (da_test_ima_add(l, 10, "sha256", d, sizeof(d), path, NULL, 0, 0) != 0)
            return 1;
        for (int k = 0; k < 32; k++)
            sscanf(l->extend_sha256 + 2 * k, "%2hhx", &ext[k]);
        memcpy(buf, pcr10, 32);
        memcpy(buf + 32, ext, 32);
        if (EVP_Digest(buf, sizeof(buf), pcr10, &len, EVP_sha256(), NULL) != 1)
            return 1;
    }
    return 0;
}

static int bench_ima(const char *path, size_t kib, size_t entries, int runs)
{
    static struct elog_fixture f;
    static struct da_test_ima l;
    unsigned char pcr10[32], values[25 * 32];
    struct da_pcr_selection sel;
    struct da_eventlog_mismatch m;
    struct da_buf evb;
    cJSON *evidence = NULL;
    double *us = calloc((size_t)runs, sizeof(double)),
           *ima_us = calloc((size_t)runs, sizeof(double));
    struct srv_ima_allowlist allow = {0, NULL};

    if (us == NULL || ima_us == NULL || elog_fixture(path, kib, &f) != 0 ||
        ima_fixture(&l, entries, pcr10) != 0 ||
        da_pcr_selection_parse("sha256:0-10,12,14", &sel) != 0 ||
        da_file_read(DA_SOURCE_ROOT "/tests/unit/data/evidence-typical.json", DA_MAX_EVIDENCE,
                     &evb) != 0 ||
        da_json_parse(da_buf_str(&evb), da_buf_len(&evb), DA_MAX_EVIDENCE, &evidence) != 0)
        return 1;
    da_buf_free(&evb);
    /* the quoted values of sha256:0-10,12,14: the log's, with PCR 10 */
    memcpy(values, f.values, 32 * 10);
    memcpy(values + 32 * 10, pcr10, 32);
    memcpy(values + 32 * 11, f.values + 32 * 10, 32 * 2);
    for (int i = 0; i < runs; i++) {
        struct srv_ima_in in;
        struct srv_ima_state *next = NULL;
        cJSON *facts = NULL, *ima = NULL;
        double t0, t1;

        memset(&in, 0, sizeof(in));
        in.sel = &sel;
        in.pcr_values = values;
        in.pcr_values_len = sizeof(values);
        in.reset_count = 1;
        in.has_increment = 1;
        in.log = l.data;
        in.log_len = l.len;
        in.evidence = evidence;
        in.allowlist = &allow;
        t0 = now_s();
        if (da_eventlog_match(f.log, f.len, &f.sel, f.values, 32 * f.nvalues, &m) != 0 ||
            da_eventlog_facts(f.log, f.len, TPM2_ALG_SHA256, &facts) != 0)
            return 1;
        t1 = now_s();
        if (srv_ima_evaluate(&in, &ima, &next) != 0 || next == NULL || next->agg.entries != entries)
            return 1;
        us[i] = (now_s() - t0) * 1e6;
        ima_us[i] = (now_s() - t1) * 1e6;
        cJSON_Delete(facts);
        cJSON_Delete(ima);
        srv_ima_state_clear(next);
        free(next);
    }
    qsort(us, (size_t)runs, sizeof(double), cmp_double);
    qsort(ima_us, (size_t)runs, sizeof(double), cmp_double);
    printf("eventlog_bytes %zu\n", f.len);
    printf("ima_entries %zu\n", entries);
    printf("ima_bytes %zu\n", l.len);
    printf("ima_median_us %.1f\n", ima_us[runs / 2]);
    printf("report_median_us %.1f\n", us[runs / 2]);
    printf("report_p99_us %.1f\n", us[runs * 99 / 100]);
    cJSON_Delete(evidence);
    free(us);
    free(ima_us);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "ima") == 0)
        return bench_ima(argv[2], (size_t)strtoul(argv[3], NULL, 10),
                         (size_t)strtoul(argv[4], NULL, 10), (int)strtol(argv[5], NULL, 10));
    if (argc == 3 && strcmp(argv[1], "quote") == 0)
        return bench_quote(strtod(argv[2], NULL));
    if (argc == 5 && strcmp(argv[1], "policy") == 0)
        return bench_policy(argv[2], argv[3], (int)strtol(argv[4], NULL, 10));
    if (argc == 5 && strcmp(argv[1], "eventlog") == 0)
        return bench_eventlog(argv[2], (size_t)strtoul(argv[3], NULL, 10),
                              (int)strtol(argv[4], NULL, 10));
    fprintf(stderr, "usage: bench_verify quote SECONDS | policy POLICY EVIDENCE RUNS | "
                    "eventlog LOG KIB RUNS | ima LOG KIB ENTRIES RUNS\n");
    return 2;
}

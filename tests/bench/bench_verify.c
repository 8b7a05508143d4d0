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

static int bench_eventlog(const char *path, size_t kib, int runs)
{
    static unsigned char log[DA_MAX_EVENT_LOG / 64];
    unsigned char pcrs[DA_EVENTLOG_PCRS][DA_EVENTLOG_MAX_DIGEST], values[24 * 32];
    struct da_eventlog_summary s;
    struct da_eventlog_mismatch m;
    struct da_pcr_selection sel;
    struct grow g;
    struct da_buf b;
    size_t len, k = 0, n = 0, events;
    uint32_t extended;
    double *us = calloc((size_t)runs, sizeof(double));

    if (us == NULL || da_file_read(path, sizeof(log), &b) != 0 || da_buf_len(&b) > sizeof(log))
        return 1;
    len = da_buf_len(&b);
    memcpy(log, da_buf_data(&b), len);
    da_buf_free(&b);
    memset(&g, 0, sizeof(g));
    g.base = log;
    if (da_eventlog_walk(log, len, &s, note_end, &g) != 0 || g.n < 2)
        return 1;
    /* append the log's own events (after the header) in turn */
    while (len < kib * 1024) {
        size_t i = 1 + k % (g.n - 1), from = g.ends[i - 1], size = g.ends[i] - from;
        if (len + size > sizeof(log))
            return 1;
        memmove(log + len, log + from, size);
        len += size;
        k++;
    }
    if (da_eventlog_walk(log, len, &s, NULL, NULL) != 0 ||
        da_eventlog_replay(log, len, TPM2_ALG_SHA256, pcrs, &extended) != 0 ||
        da_pcr_selection_parse("sha256:0-9,12,14", &sel) != 0)
        return 1;
    events = s.events;
    for (int i = 0; i < 24; i++) {
        if ((sel.banks[0].pcrs & (1u << i)) != 0)
            memcpy(values + 32 * n++, pcrs[i], 32);
    }
    for (int i = 0; i < runs; i++) {
        double t0 = now_s();
        if (da_eventlog_match(log, len, &sel, values, 32 * n, &m) != 0)
            return 1;
        us[i] = (now_s() - t0) * 1e6;
    }
    qsort(us, (size_t)runs, sizeof(double), cmp_double);
    printf("eventlog_replay_median_us %.1f\n", us[runs / 2]);
    for (int i = 0; i < runs; i++) {
        cJSON *facts = NULL;
        double t0 = now_s();
        if (da_eventlog_match(log, len, &sel, values, 32 * n, &m) != 0 ||
            da_eventlog_facts(log, len, TPM2_ALG_SHA256, &facts) != 0)
            return 1;
        cJSON_Delete(facts);
        us[i] = (now_s() - t0) * 1e6;
    }
    qsort(us, (size_t)runs, sizeof(double), cmp_double);
    printf("eventlog_bytes %zu\n", len);
    printf("eventlog_events %zu\n", events);
    printf("eventlog_median_us %.1f\n", us[runs / 2]);
    printf("eventlog_p99_us %.1f\n", us[runs * 99 / 100]);
    free(us);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "quote") == 0)
        return bench_quote(strtod(argv[2], NULL));
    if (argc == 5 && strcmp(argv[1], "policy") == 0)
        return bench_policy(argv[2], argv[3], (int)strtol(argv[4], NULL, 10));
    if (argc == 5 && strcmp(argv[1], "eventlog") == 0)
        return bench_eventlog(argv[2], (size_t)strtoul(argv[3], NULL, 10),
                              (int)strtol(argv[4], NULL, 10));
    fprintf(stderr, "usage: bench_verify quote SECONDS | policy POLICY EVIDENCE RUNS | "
                    "eventlog LOG KIB RUNS\n");
    return 2;
}

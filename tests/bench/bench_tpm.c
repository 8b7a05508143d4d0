/* Benchmark driver for scripts/bench.d/tpm.sh (not a test): a fresh swtpm,
 * the agent's identity, then N rounds of PCR read + quote over sha256:0-7,
 * each timed on the wall clock (the TPM works in another process).
 *   bench_tpm [N]   (default 500) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "swtpm_harness.h"
#include "tpm.h"

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int bench(const struct da_test_swtpm *tpm, const char *state_dir, long n, double *t)
{
    struct agent_tpm_settings s = {
        .mode = AGENT_TPM_MODE_TPM, .tcti = tpm->tcti, .state_dir = state_dir};
    struct agent_tpm *a = NULL;
    struct agent_tpm_identity *id = NULL;
    struct agent_tpm_quote *q = NULL;
    TPML_PCR_SELECTION sel;
    unsigned char nonce[32] = {0};
    double t0;
    long i;

    t0 = now_ms();
    if (agent_tpm_open(&s, &a) != 0 || agent_tpm_identity(a, AGENT_IDENTITY_CREATE, &id) != 0)
        return -1;
    printf("identity created (EK, AK, SK, certify): %.1f ms\n", now_ms() - t0);
    agent_tpm_identity_free(id);
    agent_tpm_close(a);
    a = NULL;
    id = NULL;
    t0 = now_ms();
    if (agent_tpm_open(&s, &a) != 0 || agent_tpm_identity(a, AGENT_IDENTITY_LOAD, &id) != 0)
        return -1;
    printf("agent start: open + identity load (EK, AK, SK, certify): %.1f ms\n", now_ms() - t0);
    agent_tpm_identity_free(id);
    if (agent_pcr_selection_parse(AGENT_TPM_DEFAULT_PCRS, &sel) != 0)
        return -1;
    for (i = 0; i < n; i++) {
        memcpy(nonce, &i, sizeof(i));
        t0 = now_ms();
        if (agent_tpm_quote(a, &sel, nonce, sizeof(nonce), &q) != 0)
            return -1;
        t[i] = now_ms() - t0;
        agent_tpm_quote_free(q);
        q = NULL;
    }
    agent_tpm_close(a);
    return 0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 500;
    struct da_test_swtpm tpm;
    char state[sizeof(tpm.dir) + 16];
    double *t, sum = 0;
    long i;
    int rc;

    if (n < 1 || n > 100000) {
        fprintf(stderr, "usage: bench_tpm [N]\n");
        return 2;
    }
    setenv("TSS2_LOG", "all+NONE", 1);
    da_log_set_level(DA_LOG_WARN);
    t = calloc((size_t)n, sizeof(*t));
    if (t == NULL || da_test_swtpm_start(&tpm) != 0) {
        fprintf(stderr, "bench_tpm: cannot start swtpm\n");
        return 1;
    }
    snprintf(state, sizeof(state), "%s/agent-state", tpm.dir);
    rc = bench(&tpm, state, n, t);
    da_test_swtpm_stop(&tpm);
    if (rc != 0) {
        fprintf(stderr, "bench_tpm: a TPM operation failed\n");
        return 1;
    }
    qsort(t, (size_t)n, sizeof(*t), cmp_double);
    for (i = 0; i < n; i++)
        sum += t[i];
    printf("PCR read + quote (sha256:0-7), %ld rounds: median %.2f ms, p90 %.2f ms, "
           "min %.2f ms, max %.2f ms, mean %.2f ms\n",
           n, t[n / 2], t[(n * 9) / 10], t[0], t[n - 1], sum / (double)n);
    free(t);
    return 0;
}

#include "metrics.h"

#include <string.h>

#include "err.h"

/* Seconds: from a cached read to a slow verification or a stalled fsync. */
static const double hist_bounds[SRV_HIST_BOUNDS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,    0.25,  0.5,    1,     2.5,  5,     10};

void srv_histogram_observe_us(struct srv_histogram *h, uint64_t us)
{
    double s = (double)us / 1e6;
    size_t i = 0;

    if (h == NULL)
        return;
    while (i < SRV_HIST_BOUNDS && s > hist_bounds[i])
        i++;
    atomic_fetch_add(&h->slot[i], 1);
    atomic_fetch_add(&h->sum_us, us);
}

void srv_code_counters_add(struct srv_code_counters *c, int err)
{
    const char *code = da_err_code(err);
    size_t i;

    for (i = 0; i < SRV_METRICS_CODES; i++) {
        const char *have = atomic_load(&c->code[i]);

        if (have == NULL) {
            const char *expected = NULL;

            /* claim the free slot; another thread may have taken it first */
            if (!atomic_compare_exchange_strong(&c->code[i], &expected, code))
                have = expected;
            else
                have = code;
        }
        if (strcmp(have, code) == 0) {
            atomic_fetch_add(&c->n[i], 1);
            return;
        }
    }
    atomic_fetch_add(&c->overflow, 1);
}

int srv_metrics_put_label_value(struct da_buf *b, const char *value)
{
    int rc = 0;

    for (; rc == 0 && *value != '\0'; value++) {
        if (*value == '\\')
            rc = da_buf_append_str(b, "\\\\");
        else if (*value == '"')
            rc = da_buf_append_str(b, "\\\"");
        else if (*value == '\n')
            rc = da_buf_append_str(b, "\\n");
        else
            rc = da_buf_append_byte(b, (unsigned char)*value);
    }
    return rc;
}

int srv_metrics_put_histogram(struct da_buf *b, const char *name, const char *help,
                              const char *labels, const struct srv_histogram *h, bool header)
{
    uint64_t cum = 0;
    size_t i;
    int rc = 0;
    const char *sep = labels[0] != '\0' ? "," : "";

    if (header)
        rc = da_buf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (i = 0; rc == 0 && i < SRV_HIST_SLOTS; i++) {
        cum += atomic_load(&h->slot[i]);
        if (i < SRV_HIST_BOUNDS)
            rc = da_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
                               hist_bounds[i], (unsigned long long)cum);
        else
            rc = da_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
                               (unsigned long long)cum);
    }
    /* the count is the +Inf bucket, so the two always agree in a scrape */
    if (rc == 0)
        rc =
            da_buf_printf(b, "%s_sum%s%s%s %.6f\n%s_count%s%s%s %llu\n", name,
                          labels[0] != '\0' ? "{" : "", labels, labels[0] != '\0' ? "}" : "",
                          (double)atomic_load(&h->sum_us) / 1e6, name, labels[0] != '\0' ? "{" : "",
                          labels, labels[0] != '\0' ? "}" : "", (unsigned long long)cum);
    return rc;
}

int srv_metrics_put_codes(struct da_buf *b, const char *name, const char *help,
                          const struct srv_code_counters *c)
{
    size_t i;
    int rc = da_buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);

    for (i = 0; rc == 0 && i < SRV_METRICS_CODES; i++) {
        const char *code = atomic_load(&c->code[i]);

        if (code == NULL)
            break;
        rc = da_buf_printf(b, "%s{code=\"%s\"} %llu\n", name, code,
                           (unsigned long long)atomic_load(&c->n[i]));
    }
    if (rc == 0 && atomic_load(&c->overflow) > 0)
        rc = da_buf_printf(b, "%s{code=\"other\"} %llu\n", name,
                           (unsigned long long)atomic_load(&c->overflow));
    return rc;
}

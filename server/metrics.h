/* Counters and histograms exported at /metrics (Prometheus text format).
 *
 * Everything here is lock-free: handlers and the store's threads update
 * atomics; a scrape reads them and renders one text document. Families are
 * listed in docs/operations.md.
 */
#ifndef SRV_METRICS_H
#define SRV_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

/* Upper bounds of the latency buckets, in seconds, then +Inf. */
#define SRV_HIST_BOUNDS 14
#define SRV_HIST_SLOTS  (SRV_HIST_BOUNDS + 1)

struct srv_histogram {
    atomic_uint_fast64_t slot[SRV_HIST_SLOTS]; /* per bucket, not cumulative */
    atomic_uint_fast64_t sum_us;
};

/* Record one observation of us microseconds. Accepts NULL. */
void srv_histogram_observe_us(struct srv_histogram *h, uint64_t us);

/* A counter per stable API error code (err.h), claimed on first use. */
#define SRV_METRICS_CODES 64

struct srv_code_counters {
    _Atomic(const char *) code[SRV_METRICS_CODES];
    atomic_uint_fast64_t n[SRV_METRICS_CODES];
    atomic_uint_fast64_t overflow; /* codes past the table: counted as "other" */
};

/* Count one refusal with DA_ERR_* err under its API code. */
void srv_code_counters_add(struct srv_code_counters *c, int err);

/* Append one family in the text format. name and help are constants. */
int srv_metrics_put_histogram(struct da_buf *b, const char *name, const char *help,
                              const char *labels, const struct srv_histogram *h, bool header);
int srv_metrics_put_codes(struct da_buf *b, const char *name, const char *help,
                          const struct srv_code_counters *c);
/* A label value escaped as the text format wants (\\, \", \n). */
int srv_metrics_put_label_value(struct da_buf *b, const char *value);

#endif

/* One report cycle (docs/ARCHITECTURE.md): collect, nonce, quote, spool, deliver.
 *
 * Every report goes through the spool: it is written there signed, then the
 * spool is delivered oldest first (agent/uploader/deliver.h). When the server cannot
 * be reached for a nonce, the report is quoted over a local random nonce and
 * spooled; the server refuses that nonce later and the report is re-quoted
 * with a fresh one, keeping its collection time. The evidence carries
 * agent.spool_dropped, the number of reports the bounded spool had to drop.
 * The outcome of each attempt is recorded in status.json for `status`.
 */
#ifndef AGENT_REPORT_H
#define AGENT_REPORT_H

#include <stdbool.h>

#include "runtime.h"

#define AGENT_REPORT_MAX_CONTROLS 32

struct agent_report_outcome {
    unsigned delivered; /* reports the server accepted in this cycle */
    bool pending;       /* reports wait in the spool for the server */
    int compliant;      /* of the last accepted report: 1, 0, -1 none */
    char report_id[80]; /* of the last accepted report */
    /* The server's verdict per control for the last accepted report. */
    size_t n_controls;
    struct {
        char id[24];
        char verdict[16];
    } controls[AGENT_REPORT_MAX_CONTROLS];
    int error;         /* 0 or the DA_ERR_* that stopped the cycle */
    char message[640]; /* what happened, in words */
};

/* Collect, quote and spool a new report, then deliver the spool. Returns 0
 * when the cycle ran (see out->pending), or a DA_ERR_* that ends it (the
 * agent is revoked or unknown, a child failed). */
int agent_report_cycle(struct agent_runtime *rt, struct agent_report_outcome *out);

/* Deliver what the spool holds, without a new report. */
int agent_report_deliver(struct agent_runtime *rt, struct agent_report_outcome *out);

#endif

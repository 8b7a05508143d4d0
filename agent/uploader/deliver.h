/* Sending the spool: every report is spooled first and delivered from the
 * spool, oldest first, so that order is kept and nothing is lost when the
 * server is away.
 *
 * For each entry, oldest first, ops->send says what the server did:
 *   AGENT_SEND_ACCEPTED - remove the entry; the drops it carried are
 *                         acknowledged;
 *   AGENT_SEND_STALE    - its nonce expired: ops->requote builds the same
 *                         evidence (same collection time) with a fresh nonce
 *                         and quote, the entry is replaced in place and sent
 *                         again (twice at most, then treated as RETRY);
 *   AGENT_SEND_RETRY    - the server cannot be reached or is failing: stop,
 *                         keep this and all later entries;
 *   AGENT_SEND_REFUSED  - the server will never accept it (it says why):
 *                         discard it, count it as dropped, go on.
 * A crash between an acceptance and the removal sends that report again on
 * the next run; the server recognises it by its report id (idempotent).
 */
#ifndef AGENT_DELIVER_H
#define AGENT_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "spool.h"

enum agent_send_result {
    AGENT_SEND_ACCEPTED = 0,
    AGENT_SEND_STALE = 1,
    AGENT_SEND_RETRY = 2,
    AGENT_SEND_REFUSED = 3,
};

struct agent_deliver_ops {
    /* Returns an enum agent_send_result, or a negative error that stops
     * delivery and is returned (e.g. the agent was revoked). On ACCEPTED,
     * *acked_drops is the drop count the report carried. */
    int (*send)(void *ctx, uint64_t seq, const unsigned char *report, size_t len, uint64_t created,
                uint64_t *acked_drops);
    /* A fresh nonce and quote for the same evidence; out receives the new
     * report. 0 or a negative error (which counts as RETRY). */
    int (*requote)(void *ctx, const unsigned char *report, size_t len, uint64_t created,
                   struct da_buf *out);
    void *ctx;
};

struct agent_deliver_result {
    unsigned sent;     /* accepted in this call */
    unsigned refused;  /* discarded as refused */
    unsigned requoted; /* re-quoted because their nonce expired */
    bool pending;      /* entries remain because the server was unavailable */
};

/* Deliver what the spool holds. 0 (see res->pending), or the negative error
 * send returned. */
int agent_deliver_spool(struct agent_spool *s, const struct agent_deliver_ops *ops,
                        struct agent_deliver_result *res);

#endif

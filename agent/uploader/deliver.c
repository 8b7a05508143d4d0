#include "deliver.h"

#include <string.h>

#include "err.h"
#include "log.h"

#define REQUOTE_ATTEMPTS 2

/* Send one entry, re-quoting while its nonce is stale. Returns an
 * enum agent_send_result or a negative error. */
static int send_entry(struct agent_spool *s, const struct agent_deliver_ops *ops, uint64_t seq,
                      uint64_t created, struct da_buf *report, struct agent_deliver_result *res)
{
    struct da_buf fresh;
    uint64_t acked = 0;
    int attempt, r;

    for (attempt = 0;; attempt++) {
        r = ops->send(ops->ctx, seq, da_buf_data(report), da_buf_len(report), created, &acked);
        if (r < 0 || r != AGENT_SEND_STALE)
            break;
        if (attempt == REQUOTE_ATTEMPTS)
            return AGENT_SEND_RETRY;
        da_buf_init(&fresh, 0);
        if (ops->requote(ops->ctx, da_buf_data(report), da_buf_len(report), created, &fresh) != 0 ||
            agent_spool_replace(s, seq, da_buf_data(&fresh), da_buf_len(&fresh)) != 0) {
            da_buf_free(&fresh);
            return AGENT_SEND_RETRY;
        }
        res->requoted++;
        da_buf_free(report);
        *report = fresh;
    }
    if (r == AGENT_SEND_ACCEPTED && acked != 0)
        (void)agent_spool_ack_dropped(s, acked);
    return r;
}

int agent_deliver_spool(struct agent_spool *s, const struct agent_deliver_ops *ops,
                        struct agent_deliver_result *res)
{
    struct da_buf report;
    uint64_t seq, created;
    int r = 0;

    memset(res, 0, sizeof(*res));
    da_buf_init(&report, 0);
    for (;;) {
        r = agent_spool_peek(s, &seq, &created, &report);
        if (r == DA_ERR_NOT_FOUND) {
            r = 0;
            break;
        }
        if (r != 0)
            break;
        r = send_entry(s, ops, seq, created, &report, res);
        if (r < 0)
            break;
        if (r == AGENT_SEND_RETRY) {
            res->pending = true;
            r = 0;
            break;
        }
        if (r == AGENT_SEND_ACCEPTED) {
            res->sent++;
            r = agent_spool_remove(s, seq);
        } else {
            da_warn_f("spooled report %llu refused by the server; discarded",
                      (unsigned long long)seq);
            res->refused++;
            r = agent_spool_discard(s, seq);
        }
        if (r != 0)
            break;
    }
    da_buf_free(&report);
    return r;
}

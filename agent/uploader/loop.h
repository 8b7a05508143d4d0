/* The daemon's main loop for `devattest-agent run`.
 *
 * It runs a report cycle, then waits for the next one: the interval plus
 * jitter after a success, a capped exponential backoff after a failure that
 * may pass (server unreachable). While it waits it answers signals:
 *   SIGTERM, SIGINT  - leave the loop (a cycle in progress is finished first:
 *                      signals are only read between cycles);
 *   SIGHUP           - reload the configuration, then go on waiting;
 * and, under systemd, sends READY=1 once, WATCHDOG=1 at half the watchdog
 * interval, STOPPING=1 at the end. Signals are taken through a signalfd, so
 * no handler runs at an arbitrary point of a cycle.
 */
#ifndef AGENT_LOOP_H
#define AGENT_LOOP_H

#include <stdint.h>

/* What a cycle returns besides 0 (success) and negative errors (which end
 * the loop: configuration gone, sandbox violation, not enrolled...). */
#define AGENT_CYCLE_RETRY 1 /* failed for now (unreachable, 5xx): back off */

struct agent_loop_ops {
    int (*cycle)(void *ctx);
    /* 0, or a negative error that ends the loop; NULL: reload unsupported. */
    int (*reload)(void *ctx);
    /* Called when the loop starts waiting; may be NULL. For tests and
     * status lines. */
    void (*waiting)(void *ctx, uint64_t delay_ms);
    void *ctx;
};

struct agent_loop_opts {
    uint64_t interval_ms;
    uint64_t jitter_ms;
    uint64_t backoff_base_ms; /* 0: 30 s */
    uint64_t backoff_cap_ms;  /* 0: 1 h */
    uint64_t max_cycles;      /* 0: no limit (tests stop after n cycles) */
};

/* Run until SIGTERM/SIGINT, a fatal cycle error or max_cycles. Returns 0
 * after a signal or max_cycles, or the fatal error. SIGTERM, SIGINT and
 * SIGHUP are blocked in the calling thread for the duration and restored. */
int agent_loop_run(const struct agent_loop_opts *opts, const struct agent_loop_ops *ops);

#endif

/* When the daemon acts next: the report interval with jitter, and an
 * exponential backoff with a cap after failures. Pure functions of their
 * inputs and a caller-supplied random value, so they can be tested. */
#ifndef AGENT_SCHEDULE_H
#define AGENT_SCHEDULE_H

#include <stdint.h>

#define AGENT_BACKOFF_BASE_S 30        /* first retry after a failure */
#define AGENT_BACKOFF_CAP_S  (60 * 60) /* retries never further apart */

/* interval + a delay in [0, jitter], chosen by rnd (uniform 64-bit). */
uint64_t agent_schedule_next_s(uint64_t interval_s, uint64_t jitter_s, uint64_t rnd);

/* After `failures` consecutive failures (>= 1): min(cap, base * 2^(f-1)),
 * then "equal jitter": half of it fixed, half random, so that a fleet that
 * lost its server does not come back in step. Never more than cap and never
 * more than interval (a report is due then anyway; 0: no such limit); never
 * 0. Unit-free: the caller picks seconds or milliseconds. */
uint64_t agent_schedule_backoff(unsigned failures, uint64_t base, uint64_t cap, uint64_t interval,
                                uint64_t rnd);
/* The same with AGENT_BACKOFF_BASE_S and AGENT_BACKOFF_CAP_S. */
uint64_t agent_schedule_backoff_s(unsigned failures, uint64_t interval_s, uint64_t rnd);

/* A uniform random 64-bit value from the kernel (getrandom). */
uint64_t agent_schedule_random(void);

#endif

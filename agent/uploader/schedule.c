#include "schedule.h"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

uint64_t agent_schedule_next_s(uint64_t interval_s, uint64_t jitter_s, uint64_t rnd)
{
    uint64_t extra = jitter_s == 0 ? 0 : rnd % (jitter_s + 1);

    return interval_s + extra;
}

uint64_t agent_schedule_backoff(unsigned failures, uint64_t base, uint64_t cap, uint64_t interval,
                                uint64_t rnd)
{
    uint64_t d = base != 0 ? base : 1, half;
    unsigned i;

    for (i = 1; i < failures && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    if (interval != 0 && d > interval)
        d = interval;
    half = d / 2;
    d = half + (d - half == 0 ? 0 : rnd % (d - half + 1));
    return d == 0 ? 1 : d;
}

uint64_t agent_schedule_backoff_s(unsigned failures, uint64_t interval_s, uint64_t rnd)
{
    return agent_schedule_backoff(failures, AGENT_BACKOFF_BASE_S, AGENT_BACKOFF_CAP_S, interval_s,
                                  rnd);
}

uint64_t agent_schedule_random(void)
{
    uint64_t v = 0;

    /* getrandom never fails for 8 bytes once the pool is ready; fall back
     * to the clock only so that a failure cannot stop the daemon. */
    if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v)) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        v = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)getpid();
    }
    return v;
}

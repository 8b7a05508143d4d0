#include "schedule.h"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

uint64_t agent_schedule_next_s(uint64_t interval_s, uint64_t jitter_s, uint64_t rnd)
{
    uint64_t extra = jitter_s == 0 ? 0 : rnd % (jitter_s + 1);

    return interval_s + extra;
}

uint64_t agent_schedule_backoff_s(unsigned failures, uint64_t interval_s, uint64_t rnd)
{
    uint64_t d = AGENT_BACKOFF_BASE_S, half;
    unsigned i;

    for (i = 1; i < failures && d < AGENT_BACKOFF_CAP_S; i++)
        d *= 2;
    if (d > AGENT_BACKOFF_CAP_S)
        d = AGENT_BACKOFF_CAP_S;
    if (interval_s != 0 && d > interval_s)
        d = interval_s;
    half = d / 2;
    d = half + (d - half == 0 ? 0 : rnd % (d - half + 1));
    return d == 0 ? 1 : d;
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

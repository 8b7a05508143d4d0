#include "loop.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "notify.h"
#include "schedule.h"

enum wait_result { WAIT_TIMEOUT, WAIT_STOP, WAIT_ERROR };

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait delay_ms, handling signals and the watchdog meanwhile. */
static enum wait_result wait_for(int sfd, uint64_t delay_ms, uint64_t watchdog_ms,
                                 const struct agent_loop_ops *ops, int *err)
{
    uint64_t end = now_ms() + delay_ms, next_ping = now_ms() + watchdog_ms;

    for (;;) {
        struct signalfd_siginfo si;
        struct pollfd p = {sfd, POLLIN, 0};
        uint64_t now = now_ms(), until = end;
        int r;

        if (now >= end)
            return WAIT_TIMEOUT;
        if (watchdog_ms != 0) {
            if (now >= next_ping) {
                agent_notify("WATCHDOG=1");
                next_ping = now + watchdog_ms;
            }
            if (next_ping < until)
                until = next_ping;
        }
        r = poll(&p, 1, (int)(until - now > 0x7fffffff ? 0x7fffffff : until - now));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *err = DA_ERR_IO;
            return WAIT_ERROR;
        }
        if (r == 0)
            continue;
        if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
            continue;
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            da_info_f("signal %u: stopping", si.ssi_signo);
            return WAIT_STOP;
        }
        if (si.ssi_signo == SIGHUP) {
            da_info_f("SIGHUP: reloading the configuration");
            agent_notify("RELOADING=1");
            if (ops->reload != NULL) {
                r = ops->reload(ops->ctx);
                if (r < 0) {
                    *err = r;
                    return WAIT_ERROR;
                }
            }
            agent_notify("READY=1");
        }
    }
}

int agent_loop_run(const struct agent_loop_opts *o, const struct agent_loop_ops *ops)
{
    uint64_t base = o->backoff_base_ms != 0 ? o->backoff_base_ms : AGENT_BACKOFF_BASE_S * 1000;
    uint64_t cap = o->backoff_cap_ms != 0 ? o->backoff_cap_ms : AGENT_BACKOFF_CAP_S * 1000;
    uint64_t watchdog_ms = agent_notify_watchdog_usec() / 2000, cycles = 0;
    sigset_t set, old;
    unsigned failures = 0;
    int sfd, r = 0, ready = 0;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, &old) != 0)
        return DA_ERR_INTERNAL;
    sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        return DA_ERR_IO;
    }
    for (;;) {
        uint64_t delay;
        int c = ops->cycle(ops->ctx);

        cycles++;
        if (!ready) {
            agent_notify("READY=1"); /* up once the first cycle has run */
            ready = 1;
        }
        if (c < 0) {
            r = c;
            da_error_f("report cycle failed: %s; stopping", da_strerror(c));
            break;
        }
        if (o->max_cycles != 0 && cycles >= o->max_cycles)
            break;
        if (c == AGENT_CYCLE_RETRY) {
            failures++;
            delay = agent_schedule_backoff(failures, base, cap, o->interval_ms,
                                           agent_schedule_random());
        } else {
            failures = 0;
            delay = agent_schedule_next_s(o->interval_ms, o->jitter_ms, agent_schedule_random());
        }
        if (ops->waiting != NULL)
            ops->waiting(ops->ctx, delay);
        switch (wait_for(sfd, delay, watchdog_ms, ops, &r)) {
        case WAIT_TIMEOUT:
            continue;
        case WAIT_STOP:
            r = 0;
            break;
        case WAIT_ERROR:
            break;
        }
        break;
    }
    agent_notify("STOPPING=1");
    {
        /* Take what is still pending, so that unblocking below does not
         * deliver it with its default action. */
        struct signalfd_siginfo si;

        while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
            ;
    }
    close(sfd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return r;
}

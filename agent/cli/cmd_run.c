/* devattest-agent run: the daemon. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "err.h"
#include "log.h"
#include "loop.h"
#include "memtrim.h"
#include "report.h"
#include "runtime.h"

static const char run_usage[] =
    "usage: devattest-agent run [--config FILE]\n"
    "Report every interval (plus jitter) until SIGTERM or SIGINT; when the server\n"
    "cannot be reached, reports are spooled and retried with exponential backoff.\n"
    "A cycle in progress is finished before the agent stops. SIGHUP re-reads the\n"
    "interval, jitter and log level from the configuration (other keys need a\n"
    "restart). Under systemd (Type=notify) it reports readiness and feeds the\n"
    "watchdog.\n"
    "  --config FILE  agent configuration (default " AGENT_CONFIG_DEFAULT_PATH ")\n"
    "exit codes: 0 stopped by a signal, 1 stopped by an error, 2 usage error,\n"
    "            3 unusable configuration\n";

struct daemon_ctx {
    struct agent_runtime *rt;
    struct agent_loop_opts *opts;
};

static int run_cycle(void *vctx)
{
    struct daemon_ctx *d = vctx;
    struct agent_report_outcome out;
    int r = agent_report_cycle(d->rt, &out);

    if (out.message[0] != '\0')
        da_info_f("%s", out.message);
    if (r == DA_ERR_AGENT_REVOKED || r == DA_ERR_AGENT_UNKNOWN) {
        /* The server refuses this agent; keep trying at the regular pace so
         * that a re-admission is noticed, without hammering it. */
        return AGENT_CYCLE_RETRY;
    }
    /* A child that failed cannot be replaced from inside the sandbox: stop,
     * and let the service manager start a fresh agent. */
    if (r == DA_ERR_IPC || r == DA_ERR_IPC_CLOSED || r == DA_ERR_TRUNCATED || r == DA_ERR_NOMEM)
        return r;
    return out.pending || r != 0 ? AGENT_CYCLE_RETRY : 0;
}

/* SIGHUP: the settings the uploader itself uses can change in place. */
static int run_reload(void *vctx)
{
    struct daemon_ctx *d = vctx;
    struct agent_config fresh;
    struct da_kvconf_error err;
    char msg[640];

    if (agent_config_load(&fresh, d->rt->config_path, &err) != 0) {
        da_kvconf_error_format(&err, msg, sizeof(msg));
        da_error_f("reload refused, keeping the running configuration: %s", msg);
        agent_config_free(&fresh);
        return 0;
    }
    d->rt->cfg.interval_s = fresh.interval_s;
    d->rt->cfg.jitter_s = fresh.jitter_s;
    d->rt->cfg.log_level = fresh.log_level;
    d->opts->interval_ms = fresh.interval_s * 1000;
    d->opts->jitter_ms = fresh.jitter_s * 1000;
    da_log_set_level((enum da_log_level)fresh.log_level);
    da_info_f("configuration reloaded: interval %llus, jitter %llus",
              (unsigned long long)fresh.interval_s, (unsigned long long)fresh.jitter_s);
    agent_config_free(&fresh);
    return 0;
}

/* Between cycles: hand back what the cycle used (memtrim.h). */
static void run_waiting(void *vctx, uint64_t delay_ms)
{
    (void)vctx;
    da_debug_f("next report in %llu s", (unsigned long long)(delay_ms / 1000));
    agent_memory_trim();
}

static int run_run(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config = NULL;
    struct agent_runtime rt;
    struct agent_loop_opts lo;
    struct daemon_ctx d;
    struct agent_loop_ops ops;
    int c, r;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'c') {
            config = optarg;
        } else if (c == 'h') {
            fputs(run_usage, stdout);
            return AGENT_EXIT_OK;
        } else {
            fputs(run_usage, stderr);
            return AGENT_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fputs(run_usage, stderr);
        return AGENT_EXIT_USAGE;
    }
    r = agent_runtime_config(&rt, config, 0);
    if (r != AGENT_EXIT_OK)
        return r;
    if (rt.cfg.log_target == DA_LOG_SYSLOG)
        da_log_init("devattest-agent", (enum da_log_level)rt.cfg.log_level, DA_LOG_SYSLOG);
    r = agent_runtime_start(&rt, AGENT_RT_ENROLLED | AGENT_RT_SIGNER | AGENT_RT_COLLECTOR |
                                     AGENT_RT_SPOOL | AGENT_RT_TRANSPORT | AGENT_RT_CONFINE |
                                     AGENT_RT_ATTEST);
    if (r != 0) {
        agent_runtime_stop(&rt);
        return r == DA_ERR_CONFIG ? AGENT_EXIT_CONFIG : AGENT_EXIT_FAILURE;
    }
    memset(&lo, 0, sizeof(lo));
    lo.interval_ms = rt.cfg.interval_s * 1000;
    lo.jitter_ms = rt.cfg.jitter_s * 1000;
    d.rt = &rt;
    d.opts = &lo;
    ops.cycle = run_cycle;
    ops.reload = run_reload;
    ops.waiting = run_waiting;
    ops.ctx = &d;
    da_info_f("running: agent %s, every %llus (+ up to %llus)", rt.enr.agent_id,
              (unsigned long long)rt.cfg.interval_s, (unsigned long long)rt.cfg.jitter_s);
    r = agent_loop_run(&lo, &ops);
    agent_runtime_stop(&rt);
    if (r != 0) {
        da_error_f("stopped: %s", da_strerror(r));
        return AGENT_EXIT_FAILURE;
    }
    return AGENT_EXIT_OK;
}

const struct agent_command agent_cmd_run = {
    .name = "run",
    .summary = "run as a daemon: report every interval, spool and retry",
    .usage = run_usage,
    .run = run_run,
};

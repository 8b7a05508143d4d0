#include "runtime.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "err.h"
#include "log.h"
#include "privsep.h"
#include "sandbox.h"
#include "tpm.h"

int agent_runtime_config(struct agent_runtime *rt, const char *path, int allow_missing)
{
    struct da_kvconf_error err;
    char msg[640];
    int r;

    memset(rt, 0, sizeof(*rt));
    rt->signer.pid = rt->collector.pid = -1;
    rt->signer.fd = rt->collector.fd = -1;
    snprintf(rt->config_path, sizeof(rt->config_path), "%s",
             path != NULL ? path : AGENT_CONFIG_DEFAULT_PATH);
    r = agent_config_load(&rt->cfg, rt->config_path, &err);
    if (r == DA_ERR_NOT_FOUND && allow_missing) {
        agent_config_free(&rt->cfg);
        r = agent_config_defaults(&rt->cfg);
        if (r == 0)
            r = agent_config_parse(&rt->cfg, "", 0, rt->config_path, &err);
    }
    if (r != 0) {
        da_kvconf_error_format(&err, msg, sizeof(msg));
        fprintf(stderr, "devattest-agent: %s\n", msg);
        return AGENT_EXIT_CONFIG;
    }
    da_log_set_level((enum da_log_level)rt->cfg.log_level);
    return AGENT_EXIT_OK;
}

const char *agent_runtime_server(const struct agent_runtime *rt)
{
    if (rt->cfg.server_url[0] != '\0')
        return rt->cfg.server_url;
    return rt->have_enrollment ? rt->enr.server_url : NULL;
}

static int start_transport(struct agent_runtime *rt)
{
    struct agent_transport_opts o;
    const char *url = agent_runtime_server(rt);

    if (url == NULL) {
        fprintf(stderr, "devattest-agent: no server: set server_url in %s\n", rt->config_path);
        return DA_ERR_CONFIG;
    }
    memset(&o, 0, sizeof(o));
    o.base_url = url;
    o.ca_file = rt->cfg.server_ca;
    o.allow_http = rt->cfg.allow_http_loopback;
    if (strcmp(rt->cfg.server_ca, "system") != 0 && access(rt->cfg.server_ca, R_OK) != 0) {
        fprintf(stderr, "devattest-agent: server_ca %s: %s\n", rt->cfg.server_ca, strerror(errno));
        return DA_ERR_CONFIG;
    }
    return agent_transport_new(&o, &rt->transport);
}

static int child_failed(const char *what, int r)
{
    const char *why = agent_privsep_last_error();

    fprintf(stderr, "devattest-agent: %s: %s\n", what, why[0] != '\0' ? why : da_strerror(r));
    return r;
}

int agent_runtime_start(struct agent_runtime *rt, unsigned parts)
{
    int r;

    r = agent_enrollment_load(rt->cfg.state_dir, &rt->enr);
    rt->have_enrollment = r == 0;
    if (r != 0 && r != DA_ERR_NOT_ENROLLED)
        return r;
    if ((parts & AGENT_RT_ENROLLED) && !rt->have_enrollment) {
        fprintf(stderr,
                "devattest-agent: this machine is not enrolled (state directory %s); "
                "run 'devattest-agent enroll' first\n",
                rt->cfg.state_dir);
        return DA_ERR_NOT_ENROLLED;
    }
    /* Children first: the uploader cannot fork once it is confined. */
    if (parts & AGENT_RT_SIGNER) {
        r = agent_signer_spawn(&rt->cfg,
                               (parts & AGENT_RT_SIGNER_CREATE) ? AGENT_IDENTITY_CREATE
                                                                : AGENT_IDENTITY_LOAD,
                               &rt->signer);
        if (r != 0)
            return child_failed("signer", r);
    }
    if (parts & AGENT_RT_COLLECTOR) {
        r = agent_collector_spawn(&rt->cfg, rt->cfg.collect_root, &rt->collector);
        if (r != 0)
            return child_failed("collector", r);
    }
    if (parts & AGENT_RT_SPOOL) {
        r = agent_spool_open(rt->cfg.spool_dir, rt->cfg.spool_max_reports, rt->cfg.spool_max_bytes,
                             &rt->spool);
        if (r != 0) {
            fprintf(stderr, "devattest-agent: spool %s: %s\n", rt->cfg.spool_dir, da_strerror(r));
            return r;
        }
    }
    if (parts & AGENT_RT_TRANSPORT) {
        r = start_transport(rt);
        if (r != 0)
            return r;
    }
    if (parts & AGENT_RT_CONFINE) {
        r = agent_sandbox_enter(AGENT_SANDBOX_UPLOADER, rt->cfg.sandbox);
        if (r != 0) {
            fprintf(stderr, "devattest-agent: the uploader's sandbox could not be set up\n");
            return r;
        }
    }
    return 0;
}

void agent_runtime_stop(struct agent_runtime *rt)
{
    if (rt->signer.pid > 0)
        agent_child_stop(&rt->signer, 10000, NULL);
    if (rt->collector.pid > 0)
        agent_child_stop(&rt->collector, 10000, NULL);
    agent_transport_free(rt->transport);
    rt->transport = NULL;
    agent_spool_close(rt->spool);
    rt->spool = NULL;
    agent_config_free(&rt->cfg);
}

int agent_parse_config_opts(int argc, char **argv, const char *usage, const char **config,
                            int *json)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'c') {
            *config = optarg;
        } else if (c == 'j') {
            *json = 1;
        } else if (c == 'h') {
            fputs(usage, stdout);
            return AGENT_EXIT_OK;
        } else {
            fputs(usage, stderr);
            return AGENT_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fputs(usage, stderr);
        return AGENT_EXIT_USAGE;
    }
    return -1;
}

/* The running agent as the commands assemble it: configuration, the signer
 * and collector processes, the transport, the spool, the enrollment record,
 * and the uploader's own sandbox (entered last, after every child is
 * forked and every file it needs is reachable). */
#ifndef AGENT_RUNTIME_H
#define AGENT_RUNTIME_H

#include <limits.h>

#include "agent_config.h"
#include "agent_state.h"
#include "child.h"
#include "privdrop.h"
#include "spool.h"
#include "tpm.h"
#include "transport.h"

enum agent_runtime_part {
    AGENT_RT_SIGNER = 1 << 0,
    AGENT_RT_SIGNER_CREATE = 1 << 1, /* make the keys if missing (enroll) */
    AGENT_RT_COLLECTOR = 1 << 2,
    AGENT_RT_TRANSPORT = 1 << 3,
    AGENT_RT_SPOOL = 1 << 4,
    AGENT_RT_ENROLLED = 1 << 5, /* the enrollment record must exist */
    AGENT_RT_CONFINE = 1 << 6,  /* the uploader enters its sandbox */
    AGENT_RT_ATTEST = 1 << 7,   /* serve attest_socket (the attest listener) */
};

struct agent_runtime {
    struct agent_config cfg;
    char config_path[PATH_MAX];
    struct agent_user user; /* who the processes become (privdrop.h) */
    struct agent_child signer, collector, firewall, listener;
    struct agent_transport *transport;
    struct agent_spool *spool;
    struct agent_enrollment enr;
    int have_enrollment;
    /* The firmware event log, read before the uploader drops (root-only
     * readable; unchanged until the next boot), or why it could not be. */
    struct da_buf event_log;
    int event_log_error;
    /* The IMA measurement list, opened before the uploader drops (root-only
     * readable) and read again for each report (ima_increment.h). */
    int have_ima_fd;
    int ima_fd;
};

/* Load the configuration file (defaults when it is missing and
 * allow_missing). Prints what is wrong; returns an enum agent_exit. */
int agent_runtime_config(struct agent_runtime *rt, const char *path, int allow_missing);

/* Options shared by report, check and status: --config FILE, --json, --help.
 * Returns -1 to go on, or the exit code the command returns now (usage
 * printed to stdout for --help, to stderr for a bad command line). */
int agent_parse_config_opts(int argc, char **argv, const char *usage, const char **config,
                            int *json);

/* Start the parts (after agent_runtime_config and any command-line
 * overrides). Prints what failed; returns 0 or a DA_ERR_*. */
int agent_runtime_start(struct agent_runtime *rt, unsigned parts);

/* The server URL: the configuration's, else the one enrolled with. */
const char *agent_runtime_server(const struct agent_runtime *rt);

void agent_runtime_stop(struct agent_runtime *rt);

#endif

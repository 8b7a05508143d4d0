/* devattest-agent configuration: /etc/devattest/agent.conf.
 *
 * The syntax is common/kvconf.h (key = value, # comment lines, optional
 * double quotes). Every key is documented in docs/configuration.md under
 * "agent.conf". Unknown keys, duplicate keys and invalid values are errors
 * that name file:line and the reason; nothing is silently ignored or guessed.
 */
#ifndef AGENT_AGENT_CONFIG_H
#define AGENT_AGENT_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "kvconf.h"
#include "log.h"
#include "sandbox.h"

#define AGENT_CONFIG_DEFAULT_PATH "/etc/devattest/agent.conf"

enum agent_env_role {
    AGENT_ROLE_DEVELOPMENT = 0,
    AGENT_ROLE_TEST = 1,
    AGENT_ROLE_BUILD = 2,
    AGENT_ROLE_PRODUCTION = 3,
};

struct agent_config {
    char server_url[1024]; /* empty until configured (enroll may pass --server) */
    struct da_kv_url server;
    bool allow_http_loopback;
    char server_ca[PATH_MAX]; /* pinned CA file; "system" = system trust store */
    char tcti[256];
    int tpm_mode; /* enum agent_tpm_mode of tpm.h: 0 tpm, 1 software */
    char state_dir[PATH_MAX];
    char spool_dir[PATH_MAX]; /* default <state_dir>/spool */
    uint64_t interval_s;
    uint64_t jitter_s;
    uint64_t spool_max_reports;
    uint64_t spool_max_bytes;
    struct da_kv_list toolchain;           /* tool names or absolute paths */
    struct da_kv_list production_patterns; /* shell globs (fnmatch, any case) */
    struct da_kv_list production_networks; /* CIDRs, checked */
    int environment_role;                  /* enum agent_env_role */
    struct da_kv_list source_dirs;         /* absolute paths */
    int log_level;                         /* enum da_log_level */
    int log_target;                        /* enum da_log_target */
    char attest_socket[108];               /* sun_path size */
    char attest_group[64];
    uint64_t attest_max_receipt_age_s; /* attest refuses an older last receipt */
    bool attest_allow_noncompliant;    /* attest after a non-compliant verdict */
    char tsa_url[1024];                /* RFC 3161 time-stamp authority ("": none) */
    int sandbox;                       /* enum agent_sandbox_mode */
    char user[64]; /* the processes' user after setup (agent/privsep/privdrop.h) */
    int privacy;   /* enum da_privacy_mode: 0 standard, 1 minimal */
    /* the system the collectors read: "" for the running machine, else a
     * directory holding another system's root (a container's view of the
     * host, a fixture) */
    char collect_root[PATH_MAX];
    /* Tests only: read the firmware event log from this file instead of
     * securityfs (empty: the real log). */
    char test_only_event_log_file[PATH_MAX];
    /* Tests only: read the IMA runtime measurement list from this file
     * instead of securityfs (empty: the real list). */
    char test_only_ima_file[PATH_MAX];
};

/* Defaults for every key (documented in docs/configuration.md). */
int agent_config_defaults(struct agent_config *cfg);

/* Parse text over the values already in cfg, then check the rules that tie
 * keys together. DA_ERR_CONFIG (or DA_ERR_TOO_LARGE) with err filled. */
int agent_config_parse(struct agent_config *cfg, const char *text, size_t len, const char *file,
                       struct da_kvconf_error *err);

/* Defaults, then the file at path. */
int agent_config_load(struct agent_config *cfg, const char *path, struct da_kvconf_error *err);

/* Release the lists. Accepts NULL; cfg may be freed twice. */
void agent_config_free(struct agent_config *cfg);

const char *agent_env_role_name(int role);
const char *agent_tpm_mode_name(int mode);

#endif

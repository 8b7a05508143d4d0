/* devattest-server configuration: /etc/devattest/server.conf.
 *
 * The dialect of agent.conf (common/kvconf.h): `key = value` lines, the
 * same booleans, durations and sizes, one parser. Every key is documented
 * in docs/configuration.md. Unknown keys, duplicate keys, malformed lines
 * and out-of-range values are errors (DA_ERR_CONFIG) as FILE:LINE: reason,
 * never silently ignored.
 */
#ifndef SRV_CONFIG_H
#define SRV_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvconf.h"
#include "log.h"

/* The TPM makers' EK CA certificates shipped with the server, and the
 * directory where an operator adds more (docs/enrollment.md). The build may
 * set the first to its data directory. */
#ifndef SRV_EK_ROOTS_DEFAULT
#define SRV_EK_ROOTS_DEFAULT "/usr/share/devattest/ek-roots"
#endif
#define SRV_EK_ROOTS_LOCAL_DEFAULT "/etc/devattest/ek-roots.d"

struct srv_config {
    char listen_address[64];  /* numeric IPv4 or IPv6 address */
    unsigned port;            /* 0 picks a free port (tests) */
    char state_dir[PATH_MAX]; /* keys, certificates, the database */
    char database[PATH_MAX];  /* SQLite file; default <state_dir>/devattest.db */
    char tls_cert[PATH_MAX];  /* default <state_dir>/server.pem */
    char tls_key[PATH_MAX];   /* default <state_dir>/server.key */
    bool plain_http;          /* allowed only on a loopback address */
    unsigned max_connections; /* concurrent connections */
    unsigned connection_timeout_s;
    unsigned max_connections_per_address; /* concurrent connections from one address */
    unsigned request_head_timeout_s;      /* TLS handshake and request head, whole */
    unsigned request_body_timeout_s;      /* body: this much plus its length at the rate */
    unsigned request_body_min_rate;       /* bytes per second a body must at least arrive at */
    unsigned http_threads;                /* 0: a thread per connection; N: N polling threads */
    unsigned stale_after_s;               /* no verified report for this long -> stale */
    unsigned sweep_interval_s;            /* periodic staleness sweep */
    unsigned evidence_retention_s;        /* full evidence kept this long; 0: forever */
    unsigned retention_interval_s;        /* period of the retention sweep */
    unsigned retention_batch;             /* reports per retention transaction */
    unsigned webhook_retry_base_s;        /* first retry delay; doubles each attempt */
    unsigned webhook_max_attempts;        /* attempts per delivery */
    unsigned webhook_max_age_s;           /* no attempt after a delivery is this old */
    unsigned webhook_timeout_s;           /* one attempt, connect to answer */
    unsigned webhook_queue_max;           /* pending deliveries kept */
    unsigned webhook_failure_threshold;   /* refused reports of an agent that make an event */
    unsigned webhook_failure_window_s;    /* ... within this many seconds */
    unsigned nonce_ttl_s;                 /* lifetime of a report nonce */
    unsigned challenge_ttl_s;             /* lifetime of an enrollment challenge */
    unsigned receipt_ttl_s;               /* validity stated in receipts */
    char pcr_selection[64];               /* e.g. "sha256:0-7" or "sha256:0,1,2,7" */
    char policy_file[PATH_MAX];           /* empty: <state_dir>/policy.json */
    char ek_roots[PATH_MAX];              /* PEM file or directory of TPM makers' EK CAs */
    char ek_roots_local[PATH_MAX];        /* more of them, added by the operator */
    char dbx_reference[PATH_MAX];         /* dated dbx revocation list; empty: none */
    char ima_agent_allowlist[PATH_MAX];   /* SHA-256 of released agent builds; empty: none */
    unsigned rate_per_address;            /* requests per second per client address */
    unsigned burst_per_address;
    unsigned rate_per_agent; /* verified reports per second per agent */
    unsigned burst_per_agent;
    unsigned nonce_rate_per_address; /* nonce requests per second per client address */
    unsigned nonce_burst_per_address;
    unsigned ready_min_free_mb; /* /readyz: free space the database's file system must keep */
    unsigned commit_batch_max;  /* most write transactions in one group commit */
    enum da_log_level log_level;
    char access_log[PATH_MAX]; /* "": off; "stderr"; or an absolute path */
    /* POST /v1/enroll/software: agents without a TPM, for load tests only */
    bool test_software_agents;
};

/* Defaults for every key; state_dir-relative paths are filled in by
 * srv_config_finish. */
void srv_config_defaults(struct srv_config *cfg);

/* Parse text[0..len) over the values already in cfg, in the dialect of
 * common/kvconf.h (the agent's too). DA_ERR_TOO_LARGE past DA_MAX_CONFIG;
 * DA_ERR_CONFIG for any bad line, with file (named `file`), line and
 * reason in err. Nothing in cfg changes unless the whole text is good. */
int srv_config_parse_named(struct srv_config *cfg, const char *text, size_t len, const char *file,
                           struct da_kvconf_error *err);
/* The same, logging the error as "server.conf:LINE: reason". */
int srv_config_parse(struct srv_config *cfg, const char *text, size_t len);

/* Read and parse a file (capped at DA_MAX_CONFIG; refused when others may
 * write it), errors as above. */
int srv_config_load(struct srv_config *cfg, const char *path, struct da_kvconf_error *err);

/* Fill paths that default to the state directory and check the cross-key
 * rules (plain_http only on loopback). DA_ERR_CONFIG when they fail. */
int srv_config_finish(struct srv_config *cfg);

/* Parse "sha256:0-7" / "sha256:0,2,4-7" into a 24-bit PCR mask. */
int srv_pcr_selection_parse(const char *text, uint32_t *mask);

#endif

/* The running server: configuration, store, keys, limits, counters.
 *
 * srv_ctx_open loads everything `serve` needs; srv_http_start/stop (http.h)
 * put it on the network. Handlers receive the context through the request.
 */
#ifndef SRV_SERVER_H
#define SRV_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ak_cache.h"
#include "config.h"
#include "access_log.h"
#include "ek.h"
#include "eventlog_facts.h"
#include "ima.h"
#include "metrics.h"
#include "pki.h"
#include "quote.h"
#include "ratelimit.h"
#include "store.h"
#include "webhook.h"

/* Counters exported at /metrics. */
struct srv_metrics {
    atomic_uint_fast64_t requests;
    atomic_uint_fast64_t responses_4xx;
    atomic_uint_fast64_t responses_5xx;
    atomic_uint_fast64_t reports_accepted;
    atomic_uint_fast64_t reports_rejected;
    atomic_uint_fast64_t enrollments;
    atomic_uint_fast64_t enrollments_rejected;
    atomic_uint_fast64_t rate_limited;
    atomic_uint_fast64_t responses_2xx;
    atomic_uint_fast64_t inventory_requested; /* the normal inventory round trip */
    atomic_uint_fast64_t auth_missing;        /* no bearer token */
    atomic_uint_fast64_t auth_denied;         /* unknown, revoked or expired token */
    atomic_uint_fast64_t auth_forbidden;      /* a token without the route's role */
    struct srv_code_counters reports_refused; /* by API error code */
    struct srv_histogram verify_latency;      /* a report from its body to the answer */
    struct srv_histogram store_write_latency;
    struct srv_histogram store_read_latency;
};

struct srv_policy;

/* A PCR selection as the server asks for it: text, mask of PCR numbers over
 * all banks, and the parsed banks. */
struct srv_selection {
    char text[128];
    uint32_t mask;
    struct da_pcr_selection sel;
};

/* The selection a policy needs: the configured one (text), grown by PCRs 8,
 * 9, 12 and 14 in every bank when the policy reads measured boot facts
 * (/attestation/boot/). DA_ERR_CONFIG when it cannot be written. */
int srv_selection_for_policy(const char *configured, const char *policy_json,
                             struct srv_selection *out);

struct srv_ctx {
    struct srv_config cfg;
    struct srv_store *store;
    struct srv_keys *keys;
    struct srv_ratelimit *rl_address;
    struct srv_ratelimit *rl_agent; /* verified reports, per agent */
    struct srv_ratelimit *rl_nonce; /* nonce requests, per client address */
    struct srv_ak_cache *ak_cache;
    struct da_ek_trust *ek_trust; /* NULL: no root configured, enrollment refused */
    /* The selection asked for in every nonce is the current policy's
     * (policy_state.h, srv_policy_selection); this is the configured one,
     * used while no policy is set. */
    struct srv_selection configured;
    char receipt_keyid[65]; /* hex SHA-256 of the receipt public key (DER) */

    pthread_rwlock_t policy_lock;
    struct srv_policy *policy;          /* current policy; see policy_state.h */
    struct da_dbx_reference dbx_ref;    /* cfg.dbx_reference, else the shipped one */
    struct srv_ima_allowlist ima_allow; /* cfg.ima_agent_allowlist loaded; n 0: none */

    struct srv_metrics metrics;
    /* /readyz's store probe: start (monotonic ms, 0: never) and result of
     * the last one, reused for a second so that the public route cannot
     * drive durable writes. */
    atomic_uint_fast64_t ready_probe_ms;
    atomic_int ready_probe_rc;
    struct srv_access_log *access_log; /* NULL: off */
    void *http;                        /* struct srv_http, owned by http.c */
    atomic_int inflight;
    atomic_bool stopping;
    struct srv_webhooks *webhooks; /* delivery worker (webhook.h) */
};

/* Load keys, open the store, set up limits and the policy. */
int srv_ctx_open(const struct srv_config *cfg, struct srv_ctx **out);
void srv_ctx_close(struct srv_ctx *ctx);

/* Unix seconds, and milliseconds of a monotonic clock. */
int64_t srv_now(void);
uint64_t srv_mono_ms(void);
uint64_t srv_mono_us(void);

/* Record an audit event in the store and the log. */
void srv_audit(struct srv_ctx *ctx, const char *actor, const char *action, const char *subject,
               int code, const char *detail);

#endif

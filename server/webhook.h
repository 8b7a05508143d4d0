/* Webhooks: signed JSON events to configured endpoints.
 *
 * Events are queued in the store (srv_store_webhook_enqueue), one delivery
 * per subscribed endpoint, so that a restart loses nothing; one worker
 * thread posts due deliveries with libcurl, never on a request's thread.
 * Each attempt carries
 *
 *   Devattest-Signature: t=UNIX-SECONDS,v1=HEX(HMAC-SHA256(secret, t "." body))
 *
 * and a delivery that is not answered 2xx is tried again after
 * retry_base * 2^(attempts-1) seconds until max_attempts or max_age.
 * docs/internals/webhooks.md describes the events and the receiver's checks.
 */
#ifndef SRV_WEBHOOK_H
#define SRV_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct srv_ctx;
struct srv_webhooks;

/* Event kinds (the "type" of an event body). */
#define SRV_EVENT_COMPLIANCE "agent.compliance_changed"
#define SRV_EVENT_STALE      "agent.stale"
#define SRV_EVENT_IDENTITY   "agent.identity_changed"
#define SRV_EVENT_BOOT       "agent.boot_changed"
#define SRV_EVENT_REVOKED    "agent.revoked"
#define SRV_EVENT_FAILURES   "agent.verification_failures"
#define SRV_EVENT_TEST       "webhook.test"

/* Start the delivery worker. */
int srv_webhooks_start(struct srv_ctx *ctx, struct srv_webhooks **out);
/* Stop it (a delivery in flight finishes first). Accepts NULL. */
void srv_webhooks_stop(struct srv_webhooks *w);

/* Queue an event about agent_id for every endpoint subscribed to kind
 * (webhook_id NULL) or for one endpoint; data is taken (may be NULL).
 * Errors are logged and returned; the caller's work is not undone. */
int srv_webhook_emit(struct srv_ctx *ctx, const char *webhook_id, const char *kind,
                     const char *agent_id, cJSON *data);
/* A refused report of agent_id: emits SRV_EVENT_FAILURES once when the
 * agent's refusals within the window reach the configured threshold. */
void srv_webhook_note_failure(struct srv_ctx *ctx, const char *agent_id, int code);

/* Whether kind is one of the event kinds above. */
bool srv_webhook_kind_known(const char *kind);
/* https://, or http:// to a loopback address (127.0.0.0/8, [::1]); no user
 * information, no fragment. DA_ERR_WEBHOOK_INVALID otherwise. */
int srv_webhook_url_check(const char *url);
/* The signature header value for body at time t, into out. */
int srv_webhook_sign(const char *secret, int64_t t, const char *body, size_t body_len, char *out,
                     size_t size);

/* Deliveries that succeeded, and attempts that failed plus events that
 * could not be queued, since start (the /metrics counters). */
void srv_webhook_counts(const struct srv_webhooks *w, uint64_t *delivered, uint64_t *failed);

#endif

/* Handlers of the /v1 API, one per route (see the table in http.c). */
#ifndef SRV_API_H
#define SRV_API_H

#include "http.h"

typedef int (*srv_handler_fn)(struct srv_request *req, struct srv_response *resp);

int srv_api_healthz(struct srv_request *req, struct srv_response *resp);
int srv_api_readyz(struct srv_request *req, struct srv_response *resp);
int srv_api_openapi(struct srv_request *req, struct srv_response *resp);
int srv_api_keys(struct srv_request *req, struct srv_response *resp);
int srv_api_metrics(struct srv_request *req, struct srv_response *resp);

int srv_api_enroll(struct srv_request *req, struct srv_response *resp);
int srv_api_enroll_activate(struct srv_request *req, struct srv_response *resp);
int srv_api_enroll_software(struct srv_request *req, struct srv_response *resp);
int srv_api_enrollment_challenge(struct srv_request *req, struct srv_response *resp);
int srv_api_enrollments(struct srv_request *req, struct srv_response *resp);
int srv_api_enrollment(struct srv_request *req, struct srv_response *resp);
int srv_api_enrollment_approve(struct srv_request *req, struct srv_response *resp);
int srv_api_enrollment_reject(struct srv_request *req, struct srv_response *resp);
int srv_api_nonce(struct srv_request *req, struct srv_response *resp);
int srv_api_report_post(struct srv_request *req, struct srv_response *resp);

int srv_api_vendors(struct srv_request *req, struct srv_response *resp);
int srv_api_agents(struct srv_request *req, struct srv_response *resp);
/* The machine list's filters (query vendor and status) as the caller may
 * use them: vendor_id 0 for all, -1 for none (an unknown vendor, or one a
 * vendor token may not see); status NULL for all. DA_ERR_INVALID_ARG for an
 * unknown status (api_read.c). */
int srv_api_agents_filter(struct srv_request *req, struct srv_response *resp, int64_t *vendor_id,
                          const char **status);
/* The machine list with its verdicts as CSV (api_agents_csv.c). */
int srv_api_agents_csv(struct srv_request *req, struct srv_response *resp);
int srv_api_agent(struct srv_request *req, struct srv_response *resp);
int srv_api_agent_reports(struct srv_request *req, struct srv_response *resp);
int srv_api_report_get(struct srv_request *req, struct srv_response *resp);
int srv_api_policy_get(struct srv_request *req, struct srv_response *resp);
int srv_api_audit(struct srv_request *req, struct srv_response *resp);

int srv_api_agent_revoke(struct srv_request *req, struct srv_response *resp);
int srv_api_agent_readmit(struct srv_request *req, struct srv_response *resp);
int srv_api_policy_put(struct srv_request *req, struct srv_response *resp);

struct da_tpm_public;
/* Hex SHA-256 of the EK's DER SubjectPublicKeyInfo: what an administrator
 * compares before approving an enrollment without an EK certificate. */
int srv_ek_public_sha256(const struct da_tpm_public *ek, char out[65]);
int srv_api_tokens(struct srv_request *req, struct srv_response *resp);
int srv_api_token_revoke(struct srv_request *req, struct srv_response *resp);
int srv_api_token_expire(struct srv_request *req, struct srv_response *resp);
/* An API token as the API and the CLI show it. */
int srv_api_token_render(const struct srv_api_token *t, int64_t now, cJSON **out);

/* The dashboard (api_ui.c) and the views it needs (api_fleet.c). */
int srv_api_ui_index(struct srv_request *req, struct srv_response *resp);
int srv_api_ui_file(struct srv_request *req, struct srv_response *resp);
int srv_api_fleet(struct srv_request *req, struct srv_response *resp);
/* The fleet summary of GET /v1/fleet into doc (an object): one vendor's
 * machines or all (vendor_id 0), at now; ctx gives the controls' and
 * checks' titles from the current policy (NULL: titles ""). */
int srv_fleet_doc(struct srv_store *store, struct srv_ctx *ctx, int64_t vendor_id, int64_t now,
                  cJSON *doc);
int srv_api_report_diff(struct srv_request *req, struct srv_response *resp);
/* The diff's "checks", "fields", "fields_changed" and "fields_truncated"
 * members added to doc: evidence a -> b field by field (JSON pointers),
 * verdict checks of b that differ from a. DA_ERR_DIFF_TOO_LARGE past the
 * caps (api_fleet.c). */
int srv_report_diff_docs(const cJSON *evidence_a, const cJSON *evidence_b, const cJSON *verdict_a,
                         const cJSON *verdict_b, cJSON *doc);

int srv_api_agent_boot_changes(struct srv_request *req, struct srv_response *resp);
int srv_api_boot_pins_get(struct srv_request *req, struct srv_response *resp);
int srv_api_boot_pin_add(struct srv_request *req, struct srv_response *resp);
int srv_api_boot_pin_remove(struct srv_request *req, struct srv_response *resp);
/* The vendor's OSCAL assessment results (api_oscal.c, oscal.h). */
int srv_api_oscal(struct srv_request *req, struct srv_response *resp);
int srv_api_webhooks(struct srv_request *req, struct srv_response *resp);
int srv_api_webhook_add(struct srv_request *req, struct srv_response *resp);
int srv_api_webhook_remove(struct srv_request *req, struct srv_response *resp);
int srv_api_webhook_test(struct srv_request *req, struct srv_response *resp);
int srv_api_webhook_deliveries(struct srv_request *req, struct srv_response *resp);
int srv_api_evidence_pack(struct srv_request *req, struct srv_response *resp);
/* Adds the agent's "boot_reference" and newest "boot_changes" to o. */
int srv_api_boot_view(struct srv_request *req, const char *agent_id, cJSON *o);

/* Parse a JSON request body strictly (caps, depth, UTF-8, duplicates);
 * on failure resp->message says where. */
int srv_parse_body(const struct srv_request *req, struct srv_response *resp, cJSON **out);
/* Reject members of obj not in the NULL-terminated list allowed. */
int srv_json_only_keys(const cJSON *obj, const char *const *allowed, struct srv_response *resp);

#endif

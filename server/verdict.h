/* Policy evaluation of one evidence document, as the server records it.
 *
 * verdict: {"policy_id", "policy_version", "policy_sha256", "verdict",
 *           "controls": {control id: pass|fail|unknown|not_applicable},
 *           "checks": [{"id", "verdict", "provenance"} and, for fail/unknown, "severity",
 *                      "pointer", "observed", "reason"]}
 * Titles, rationale and remediation stay in the policy, which the digest
 * names (GET /v1/policy). controls is the "controls" member (borrowed from
 * verdict), which the receipt states. A report is compliant when the
 * overall verdict is pass (or nothing applied). pending is the verifier
 * fact /attestation/pending (srv_pending_facts), or NULL. Each check carries
 * the provenance of the fact that decided it (srv_provenance). */
#ifndef SRV_VERDICT_H
#define SRV_VERDICT_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "policy_state.h"

int srv_verdict_evaluate(const struct srv_policy *p, const cJSON *evidence, const cJSON *pending,
                         cJSON **verdict, const cJSON **controls, bool *compliant);
/* The same with the measured boot facts (measured.h) as /attestation/boot
 * (NULL: none). */
int srv_verdict_evaluate_boot(const struct srv_policy *p, const cJSON *evidence,
                              const cJSON *pending, const cJSON *boot, cJSON **verdict,
                              const cJSON **controls, bool *compliant);
/* The same with the IMA facts (ima.h) as /attestation/ima (NULL: none). */
int srv_verdict_evaluate_attested(const struct srv_policy *p, const cJSON *evidence,
                                  const cJSON *pending, const cJSON *boot, const cJSON *ima,
                                  cJSON **verdict, const cJSON **controls, bool *compliant);
/* "measured" for a fact the server established from the TPM (the quote,
 * a replayed event log: /attestation/trust, /attestation/boot/...),
 * "reported" for everything the agent's software states. */
const char *srv_provenance(const char *pointer);

#endif

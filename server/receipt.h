/* Receipts: what the server tells an agent (and anyone it shows the receipt
 * to) about one accepted report, as a DSSE envelope signed by the receipt key.
 *
 * payloadType: application/vnd.devattest.receipt+json
 * payload (canonical JSON, RFC 8785):
 *   {"_type": "https://devattest.dev/receipt/v1", "agent_id", "report_id",
 *    "evidence_sha256", "policy_sha256", "compliant", "controls": {id: result},
 *    "issued_at", "valid_until"}
 * signature: ECDSA P-256 / SHA-256 over DSSE PAE, DER; keyid = hex SHA-256
 * of the receipt public key (DER SubjectPublicKeyInfo).
 */
#ifndef SRV_RECEIPT_H
#define SRV_RECEIPT_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "server.h"

#define SRV_RECEIPT_TYPE "application/vnd.devattest.receipt+json"

struct srv_receipt_in {
    const char *agent_id;
    const char *report_id;
    const char *evidence_sha256;
    const char *policy_sha256;
    bool compliant;
    const cJSON *controls; /* object: control id -> result string */
    const char *vendor;    /* the agent's vendor name */
    const cJSON *boot;     /* /attestation/boot, or NULL (only a summary is copied) */
    const cJSON *ima;      /* /attestation/ima, or NULL */
    int64_t issued_at;
    int64_t valid_until;
    const char *trust; /* "software" for an agent without a TPM; NULL otherwise */
};

/* The envelope as JSON text in *out (free()). */
int srv_receipt_make(const struct srv_ctx *ctx, const struct srv_receipt_in *in, char **out);

#endif

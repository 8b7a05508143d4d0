/* The statements of one attest invocation, as the signer assembles them
 * (docs/evidence.md, "Delivery attestations"): the accompanying statements
 * from the checked request, the SLSA provenance, the quote over
 *
 *   Q = SHA-256(JCS({"evidence_digest": E, "statements": S, "subject": J}))
 *
 * and the main build-machine statement, each signed as a DSSE envelope and
 * written as one bundle line. The TPM work goes through callbacks, so the
 * assembly can be tested without one. */
#ifndef AGENT_ATTEST_STMT_H
#define AGENT_ATTEST_STMT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "attest_req.h"
#include "buf.h"
#include "digest.h"

/* A receipt as the agent keeps it (<state_dir>/receipt.json): the DSSE
 * envelope object and its decoded payload. */
struct agent_receipt {
    cJSON *envelope;
    cJSON *payload;
    const char *agent_id, *report_id, *evidence_sha256;
    int compliant;
    time_t issued_at;
};

/* Parse and check a receipt envelope (its signature is the verifier's to
 * check). DA_ERR_ATTEST_NO_RECEIPT when it does not follow the receipt
 * format. */
int agent_receipt_parse(const char *text, size_t len, struct agent_receipt *out);
void agent_receipt_free(struct agent_receipt *r);

/* "YYYY-MM-DDTHH:MM:SSZ" to seconds since the epoch; DA_ERR_INVALID_ARG. */
int agent_rfc3339_parse(const char *s, time_t *out);

struct agent_attest_in {
    const struct agent_attest_req *req;
    uint64_t uid;
    const cJSON *caller; /* {"cmdline": [...], "cmdline_truncated": true (optional)} */
    const cJSON *evidence;
    const char *evidence_hex;
    const struct agent_receipt *receipt;
    const char *agent_id;
    const char *trust;
    const unsigned char *ak_public;
    size_t ak_public_len;
    const char *pcr_selection;
    time_t created;
    const char *keyid_hex;
    const char *cert_pem;
    const char *ca_pem;
    /* quote(ctx, Q, &{attest, signature, pcr_selection, pcr_values}) */
    int (*quote)(void *ctx, const unsigned char qd[DA_SHA256_LEN], cJSON **quote);
    /* sign(ctx, SHA-256 of the PAE, DER signature out) */
    int (*sign)(void *ctx, const unsigned char digest[DA_SHA256_LEN], struct da_buf *der);
    void *cb;
};

/* Check the caller description the listener made. DA_ERR_ATTEST_REQUEST. */
int agent_attest_caller_check(const cJSON *caller);

/* The quote's qualifying data for a statement's subject array J, its
 * statements list S and evidence digest E (hex). */
int agent_attest_qualifying_data(const cJSON *subject, const cJSON *statements,
                                 const char *evidence_hex, unsigned char qd[DA_SHA256_LEN]);

/* Append the bundle lines (main statement first) to lines. */
int agent_attest_build(const struct agent_attest_in *in, struct da_buf *lines);

#endif

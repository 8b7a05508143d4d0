/* Parsing of a report POST body (the wire format is in docs/api.md).
 *
 * {"nonce": std-base64 (the nonce as issued),
 *  "evidence": {...the evidence document, any key order...},
 *  "quote": {"attest": std-base64 TPMS_ATTEST, "signature": std-base64
 *            TPMT_SIGNATURE, "pcr_values": std-base64 concatenated PCR values
 *            in selection order},
 *  "inventory": "name:arch=version\n..." (optional; only when asked for),
 *  "event_log": std-base64 firmware event log (optional; canonical base64
 *               within DA_MAX_EVENT_LOG; replayed against the quote by
 *               measured.c),
 *  "ima": {"from": entries of this boot's IMA list the increment skips,
 *          "entries": std-base64 of the binary list from there
 *          (optional; within DA_MAX_IMA_INCREMENT; replayed by ima.c)}}
 *
 * Unknown members are refused (DA_ERR_INVALID_ARG). The evidence is
 * serialized canonically (RFC 8785, at most DA_MAX_EVIDENCE) and hashed:
 * that digest is what the quote's qualifying data must cover.
 */
#ifndef SRV_REPORT_PARSE_H
#define SRV_REPORT_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "digest.h"

#define SRV_EVIDENCE_SCHEMA "devattest.evidence/v1"

struct srv_report_in {
    cJSON *root;           /* read only (DA_JSON_COMPACT): never changed or duplicated */
    const cJSON *evidence; /* borrowed from root */
    struct da_buf nonce;
    struct da_buf attest;
    struct da_buf signature;
    struct da_buf pcr_values;
    struct da_buf evidence_canonical;
    unsigned char evidence_digest[DA_SHA256_LEN];
    char evidence_sha256[DA_SHA256_HEX_SIZE];
    char inventory_sha256[DA_SHA256_HEX_SIZE]; /* "" when the evidence names none */
    const char *inventory;                     /* borrowed; NULL when absent */
    size_t inventory_len;
    struct da_buf event_log; /* decoded; empty when absent */
    int has_event_log;
    struct da_buf ima_log; /* decoded IMA increment; empty when absent */
    uint64_t ima_from;
    int has_ima;
};

/* The largest entry count a report may claim to skip (2^53: exact in JSON). */
#define SRV_IMA_MAX_FROM (1ull << 53)

/* Parse body[0..len). On failure *message (when not NULL) gets a short
 * static explanation. */
int srv_report_parse(const char *body, size_t len, struct srv_report_in **out,
                     const char **message);
void srv_report_in_free(struct srv_report_in *r);

#endif

/* Delivery bundles: JSON Lines of DSSE envelopes, each an in-toto Statement
 * v1 signed by an agent's signing key (SK), read and verified offline
 * (docs/evidence.md, "Delivery bundles"; docs/delivery.md).
 *
 * da_bundle_parse splits the text into lines and parses each one as far as
 * it goes; a line that does not parse is kept with its error, so that the
 * other lines are still verified and reported. da_bundle_verify runs every
 * check on every envelope and then the checks over the whole bundle, and
 * describes each outcome in a JSON report:
 *
 *   {"verified": bool,
 *    "envelopes": [{"line": n, "predicateType": string, "verified": bool,
 *                   "checks": [{"check", "ok", "code", "message", "detail"}]}],
 *    "bundle": [{"check", "ok", "code", "message", "detail"}]}
 *
 * Verification is per envelope: the order of the lines does not matter, a
 * line seen twice is reported, and a main statement whose listed statements
 * are not all present fails, as does a statement no main statement lists.
 */
#ifndef DA_BUNDLE_H
#define DA_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <openssl/x509.h>

#include "digest.h"
#include "dsse.h"
#include "intoto.h"
#include "policy.h"

#define DA_BUILD_PREDICATE_TYPE "https://devattest.dev/build-machine/v1"
#define DA_SCAN_PREDICATE_TYPE  "https://devattest.dev/scan/v1"
#define DA_RECEIPT_PAYLOAD_TYPE "application/vnd.devattest.receipt+json"
#define DA_RECEIPT_TYPE         "https://devattest.dev/receipt/v1"

/* Object identifiers under the project's arc, a UUID OID (ITU-T X.667):
 * 2.25.142076670702272177775493678230990192634 (UUID
 * 6ae2f8b0-f9c8-4cf7-b76d-75d5b3df7ffa). */
#define DA_OID_ARC "2.25.142076670702272177775493678230990192634"
/* SK certificate extension (non-critical): an OCTET STRING holding the TPM
 * name of the AK that certified the SK (nameAlg || digest). */
#define DA_OID_AK_NAME DA_OID_ARC ".1.1"
/* Extended key usage of a receipt key's certificate. */
#define DA_OID_RECEIPT_KEY_EKU DA_OID_ARC ".1.2"
#define DA_MAX_TPM_NAME        66

#define DA_MAX_BUNDLE       (64u * 1024 * 1024) /* a whole bundle file */
#define DA_MAX_BUNDLE_LINES 4096                /* envelopes in one bundle */
#define DA_MAX_RECEIPT_KEYS 64                  /* keys in a /v1/keys answer */
#define DA_MAX_KEYS_FILE    (1u * 1024 * 1024)  /* a /v1/keys answer */

/* Kinds of accompanying statements --require can ask for. */
enum da_bundle_kind {
    DA_BUNDLE_SBOM = 1u << 0,       /* SPDX 2.3 or CycloneDX 1.5 */
    DA_BUNDLE_TESTS = 1u << 1,      /* in-toto test result v0.1 */
    DA_BUNDLE_SCAN = 1u << 2,       /* DA_SCAN_PREDICATE_TYPE */
    DA_BUNDLE_PROVENANCE = 1u << 3, /* SLSA provenance v1 */
};

struct da_bundle_entry {
    size_t line; /* 1-based */
    int parse_rc;
    cJSON *root; /* the line's JSON */
    struct da_dsse_envelope *env;
    struct da_intoto_statement *st;
    const char *certificate; /* PEM, borrowed from root */
    const cJSON *chain;      /* array of PEM strings, or NULL */
    const char *timestamp;   /* base64 TimeStampToken, or NULL */
    unsigned char payload_sha256[DA_SHA256_LEN];
};

struct da_bundle {
    size_t n;
    struct da_bundle_entry *e;
};

/* Parse text[0..len): one envelope per line ('\n'; a last line without one
 * is accepted; blank lines are refused as lines that do not parse).
 * DA_ERR_TOO_LARGE past DA_MAX_BUNDLE or DA_MAX_BUNDLE_LINES, DA_ERR_NOMEM;
 * a line's own errors are kept in its parse_rc (DA_ERR_BUNDLE_FORMAT and the
 * errors of the JSON, DSSE and in-toto parsers). An empty text has no lines. */
int da_bundle_parse(const char *text, size_t len, struct da_bundle **out);
void da_bundle_free(struct da_bundle *b);

/* A file's digests, for --artifact. */
struct da_bundle_artifact {
    const char *name;
    char sha256[2 * 32 + 1];
    char sha512[2 * 64 + 1];
};

struct da_bundle_options {
    X509 *ca;                       /* the server CA: required */
    const cJSON *keys;              /* a GET /v1/keys answer, or NULL */
    X509_STORE *tsa_roots;          /* roots for timestamp tokens, or NULL */
    const struct da_policy *policy; /* re-evaluate embedded evidence, or NULL */
    int64_t max_age_s;              /* receipt age at the statement's time; 0: none */
    unsigned require;               /* enum da_bundle_kind bits */
    int64_t now;                    /* Unix seconds */
    const struct da_bundle_artifact *artifacts;
    size_t nartifacts;
};

/* Verify every envelope and the bundle as a whole. *report gets the JSON
 * report above (also when verification fails). 0 when every check held,
 * otherwise the code of the first failed check; DA_ERR_NOMEM,
 * DA_ERR_INVALID_ARG without a report. */
int da_bundle_verify(const struct da_bundle *b, const struct da_bundle_options *o, cJSON **report);

/* "sbom,tests,scan,provenance" (any subset, comma separated) to bits.
 * DA_ERR_INVALID_ARG for an unknown or repeated name. */
int da_bundle_kinds_parse(const char *text, unsigned *out);

/* RFC 3339 UTC with a 'Z' and optional fractional seconds (dropped), e.g.
 * 2026-12-06T04:48:15Z, to Unix seconds. DA_ERR_INVALID_ARG otherwise. */
int da_time_rfc3339_parse(const char *text, int64_t *out);

#endif

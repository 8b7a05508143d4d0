/* Evidence about a deliverable, turned into in-toto predicates
 * (docs/evidence.md, "Delivery attestations"): an SBOM (SPDX 2.3 or
 * CycloneDX 1.5 JSON), JUnit XML test results and scanner output (grype or
 * trivy JSON, a clamscan log).
 *
 * The attest command parses these files as the build user that made them;
 * the signer checks the predicates it receives again with the *_check
 * functions before it signs them. Every parser is strict and capped: the
 * whole input is read or it is refused, never used in part. */
#ifndef AGENT_ATTEST_INPUT_H
#define AGENT_ATTEST_INPUT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "digest.h"

#define AGENT_PT_BUILD_MACHINE "https://devattest.dev/build-machine/v1"
#define AGENT_PT_SPDX          "https://spdx.dev/Document/v2.3"
#define AGENT_PT_CYCLONEDX     "https://cyclonedx.org/bom/v1.5"
#define AGENT_PT_TEST_RESULT   "https://in-toto.io/attestation/test-result/v0.1"
#define AGENT_PT_SCAN          "https://devattest.dev/scan/v1"
#define AGENT_PT_PROVENANCE    "https://slsa.dev/provenance/v1"

/* The accompanying statements a caller may bring, in bundle order. */
enum agent_attest_kind {
    AGENT_ATTEST_SBOM = 0,
    AGENT_ATTEST_TESTS = 1,
    AGENT_ATTEST_SCAN = 2,
    AGENT_ATTEST_N_INPUTS = 3,
};

/* The kind of a caller's predicate type, or -1 for a type a caller may not
 * bring (the build-machine and provenance predicates are the signer's). */
int agent_attest_kind_of(const char *predicate_type);

/* SBOM: text[0..len) as JSON; *type is AGENT_PT_SPDX or AGENT_PT_CYCLONEDX
 * and *pred the document. DA_ERR_SBOM_FORMAT, DA_ERR_TOO_LARGE or a JSON
 * parser error. */
int agent_sbom_predicate(const char *text, size_t len, const char **type, cJSON **pred);

/* JUnit XML into the in-toto Test Result predicate; name and sha256_hex
 * describe the file (its configuration entry). DA_ERR_JUNIT_FORMAT,
 * DA_ERR_TOO_LARGE. */
int agent_junit_predicate(const char *xml, size_t len, const char *name,
                          const char sha256_hex[DA_SHA256_HEX_SIZE], cJSON **pred);

/* grype JSON, trivy JSON or a clamscan log into https://devattest.dev/scan/v1.
 * DA_ERR_SCAN_FORMAT, DA_ERR_TOO_LARGE. */
int agent_scan_predicate(const char *text, size_t len, const char *name,
                         const char sha256_hex[DA_SHA256_HEX_SIZE], cJSON **pred);

/* The signer's check of a predicate of a caller's type: its shape as the
 * parsers above make it (an SBOM: the version markers). 0, or
 * DA_ERR_SBOM_FORMAT, DA_ERR_JUNIT_FORMAT, DA_ERR_SCAN_FORMAT. */
int agent_attest_predicate_check(const char *predicate_type, const cJSON *pred);

#endif

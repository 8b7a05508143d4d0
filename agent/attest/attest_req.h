/* The attest request: what a build user's `attest` sends over attest_socket
 * (docs/agent.md, "attest"), and what the listener hands to the signer.
 *
 *   {"subject": [{"name": N, "digest": {"sha256": H, "sha512": H}}, ...],
 *    "git": {"commit": H, "remote": URL|null, "clean": BOOL},     (optional)
 *    "statements": [{"predicateType": T, "predicate": {...}}, ...]}
 *
 * Strict: no other member, 1..DA_MAX_ATTEST_SUBJECTS subjects with unique
 * names (no '/', no control characters), lower-case hex digests of their
 * exact length, at most one statement of each kind (attest_input.h) in the
 * order SBOM, test results, scan, and every predicate passing its check.
 * The request carries nothing to be signed as it is: the signer builds the
 * statements from it. */
#ifndef AGENT_ATTEST_REQ_H
#define AGENT_ATTEST_REQ_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct agent_attest_req {
    cJSON *root;
    const cJSON *subject;    /* array, as in the statements */
    const cJSON *git;        /* object or NULL */
    const cJSON *statements; /* array of {predicateType, predicate} */
};

/* Parse and check text[0..len). DA_ERR_ATTEST_REQUEST for any violation
 * (DA_ERR_TOO_LARGE past AGENT_MAX_ATTEST_REQUEST); the predicate checks'
 * own codes for a predicate that does not pass. */
int agent_attest_req_parse(const char *text, size_t len, struct agent_attest_req *out);

/* Check a tree built by the caller (the same rules); on success it is
 * owned by out. */
int agent_attest_req_adopt(cJSON *root, struct agent_attest_req *out);

void agent_attest_req_free(struct agent_attest_req *req);

#endif

/* in-toto Statement v1: build and parse.
 *
 * {"_type": "https://in-toto.io/Statement/v1",
 *  "subject": [{"name": string, "digest": {alg: lower-case hex, ...}}, ...],
 *  "predicateType": string, "predicate": object}
 *
 * Every subject needs a name and at least one digest of a known algorithm
 * (sha224, sha256, sha384, sha512, sha512_224, sha512_256, sha3_224,
 * sha3_256, sha3_384, sha3_512) whose value is lower-case hex of exactly that
 * algorithm's length; a known algorithm with a malformed value is rejected.
 * Digests of other algorithms are kept but do not count.
 * Statements travel in DSSE envelopes with DA_INTOTO_PAYLOAD_TYPE.
 */
#ifndef DA_INTOTO_H
#define DA_INTOTO_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"

#define DA_INTOTO_STATEMENT_TYPE "https://in-toto.io/Statement/v1"
#define DA_INTOTO_PAYLOAD_TYPE   "application/vnd.in-toto+json"

struct da_intoto_digest {
    const char *alg;
    const char *hex;
};

struct da_intoto_subject {
    const char *name;
    const struct da_intoto_digest *digests;
    size_t ndigests;
};

/* A parsed statement. All strings and the predicate belong to the statement. */
struct da_intoto_statement {
    const struct da_intoto_subject *subjects;
    size_t nsubjects;
    const char *predicate_type;
    const cJSON *predicate;
    /* private */
    cJSON *tree;
    struct da_intoto_subject *subject_store;
    struct da_intoto_digest *digest_store;
};

/* Build a statement tree (predicate is copied). The subjects are validated
 * as the parser validates them: DA_ERR_INTOTO_SUBJECT, DA_ERR_INTOTO_FORMAT. */
int da_intoto_statement_build(const struct da_intoto_subject *subjects, size_t nsubjects,
                              const char *predicate_type, const cJSON *predicate, cJSON **out);
/* Build and append the canonical JSON (the DSSE payload) to out. */
int da_intoto_statement_encode(const struct da_intoto_subject *subjects, size_t nsubjects,
                               const char *predicate_type, const cJSON *predicate,
                               struct da_buf *out);

/* Parse a DSSE payload (at most DA_MAX_DSSE_PAYLOAD bytes) as a statement.
 * DA_ERR_INTOTO_FORMAT (wrong _type, missing or mistyped predicateType or
 * predicate), DA_ERR_INTOTO_SUBJECT (no subjects, a subject without name or
 * valid known digest), DA_ERR_TOO_LARGE, and the errors of da_json_parse. */
int da_intoto_statement_parse(const void *payload, size_t len, struct da_intoto_statement **out);
void da_intoto_statement_free(struct da_intoto_statement *st);

/* The statement's "subject" array as parsed (for canonical comparison). */
const cJSON *da_intoto_statement_subject_json(const struct da_intoto_statement *st);

/* The hex digest of subject s for alg ("sha256"), or NULL. */
const char *da_intoto_subject_digest(const struct da_intoto_subject *s, const char *alg);

#endif

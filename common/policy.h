/* The policy engine (docs/ARCHITECTURE.md; the format is in docs/policy.md
 * and docs/policy.schema.json).
 *
 * A policy is loaded completely or not at all: every expression is checked,
 * every JSON Pointer parsed and every regular expression compiled at load, so
 * evaluation cannot fail on the policy's account. A load error names the
 * source, the line and column (syntax errors) or the JSON Pointer into the
 * policy (semantic errors), and the reason.
 *
 * Evaluation reads the evidence document and, for pointers under
 * /attestation, a separate object of facts established by the verifier (for
 * example {"trust": "tpm"}); the evidence's own "attestation" member, if any,
 * is never consulted, so an agent cannot vouch for itself.
 *
 * Verdicts are ordered fail > unknown > pass > not_applicable: a control's
 * verdict is the worst of its checks' verdicts, the overall verdict the worst
 * of all checks.
 */
#ifndef DA_POLICY_H
#define DA_POLICY_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"

#define DA_POLICY_SCHEMA "devattest.policy/v1"

/* In increasing order of severity, so that the worst is the largest. */
enum da_verdict {
    DA_VERDICT_NOT_APPLICABLE = 0,
    DA_VERDICT_PASS = 1,
    DA_VERDICT_UNKNOWN = 2,
    DA_VERDICT_FAIL = 3,
};

/* "pass", "fail", "unknown", "not_applicable". */
const char *da_verdict_name(enum da_verdict v);

struct da_policy;

struct da_policy_error {
    char source[256];  /* file name, or the name given to da_policy_load */
    int line;          /* 1-based line of a syntax error; 0 when not known */
    int column;        /* 1-based column (bytes) of a syntax error; 0 when not known */
    char pointer[256]; /* JSON Pointer into the policy of a semantic error, or "" */
    char reason[256];
};

/* Load a policy from text[0..len) (at most DA_MAX_POLICY). source names it in
 * errors. On failure *out stays NULL and *err (when not NULL) says where and
 * why. Errors: DA_ERR_POLICY_PARSE (not JSON, too deep, duplicate key, wrong
 * schema), DA_ERR_POLICY_FIELD (a field missing, of the wrong type or
 * unknown), DA_ERR_POLICY_OPERATOR (unknown operator or expression form),
 * DA_ERR_POLICY_POINTER, DA_ERR_POLICY_REGEX, DA_ERR_TOO_LARGE, DA_ERR_NOMEM. */
int da_policy_load(const char *text, size_t len, const char *source, struct da_policy **out,
                   struct da_policy_error *err);
/* The same from a file; DA_ERR_NOT_FOUND, DA_ERR_IO as well. */
int da_policy_load_file(const char *path, struct da_policy **out, struct da_policy_error *err);
/* Load path and, only on success, free *slot and put the new policy there. */
int da_policy_reload_file(const char *path, struct da_policy **slot, struct da_policy_error *err);
void da_policy_free(struct da_policy *p);

const char *da_policy_id(const struct da_policy *p);
const char *da_policy_version(const struct da_policy *p);
size_t da_policy_check_count(const struct da_policy *p);

/* One check's outcome. Strings point into the policy (id, title, ...) or are
 * owned by the result (pointer, observed, reason). */
struct da_check_result {
    const char *id;
    const char *title;
    const char *severity;
    const char *remediation;
    const char *const *controls;
    size_t n_controls;
    enum da_verdict verdict;
    /* The fact that decided the verdict: the pointer as resolved (with array
     * indices, "" when no fact was read), its value as JSON text ("" when the
     * fact is missing), and for unknown results the reason. */
    char pointer[256];
    char *observed;
    char reason[160];
};

struct da_control_result {
    const char *id;
    const char *title;
    enum da_verdict verdict;
    size_t n_checks; /* checks that name this control */
};

struct da_policy_result {
    const char *policy_id;
    const char *policy_version;
    enum da_verdict verdict;
    size_t n_checks;
    struct da_check_result *checks;
    size_t n_controls;
    struct da_control_result *controls;
};

/* Evaluate p on evidence (an object) with the verifier's attestation facts
 * (an object, or NULL when there are none: every /attestation fact is then
 * missing). The result does not refer to evidence or attestation afterwards
 * but does refer to p: free it before the policy. DA_ERR_INVALID_ARG,
 * DA_ERR_NOMEM. */
int da_policy_eval(const struct da_policy *p, const cJSON *evidence, const cJSON *attestation,
                   struct da_policy_result **out);
void da_policy_result_free(struct da_policy_result *r);

/* Provenance of the fact at a resolved pointer: "measured" for what the
 * verifier established from the TPM (/attestation/trust,
 * /attestation/quote_verified, /attestation/boot/...), "reported" for what
 * the agent's software states (the evidence, /attestation/pending). A check
 * with "require": "measured" fails when its verdict rests on a reported
 * value. */
const char *da_policy_provenance(const char *pointer);

/* Human-readable report: overall verdict, controls, then each check with its
 * observed value and, when it does not pass, the remediation. Appends to out. */
int da_policy_result_render_text(const struct da_policy_result *r, struct da_buf *out);
/* The same as a JSON object (see docs/policy.md, "Result"). */
int da_policy_result_to_json(const struct da_policy_result *r, cJSON **out);

#endif

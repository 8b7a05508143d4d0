/* The compiled form of a policy, shared by policy.c (loading) and
 * policy_eval.c (evaluation and rendering). */
#ifndef DA_POLICY_INTERNAL_H
#define DA_POLICY_INTERNAL_H

#include <regex.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "policy.h"

#define DA_POLICY_MAX_NEST   4   /* every/some inside every/some */
#define DA_POLICY_MAX_TOKENS 16  /* tokens in one JSON Pointer */
#define DA_POLICY_MAX_EXPR   256 /* expressions in one check */

enum da_policy_op {
    DA_OP_EQ,
    DA_OP_NE,
    DA_OP_LT,
    DA_OP_LE,
    DA_OP_GT,
    DA_OP_GE,
    DA_OP_IN,
    DA_OP_NOT_IN,
    DA_OP_MATCHES,
    DA_OP_EXISTS,
};

enum da_expr_kind {
    DA_EXPR_LEAF,
    DA_EXPR_ALL,
    DA_EXPR_ANY,
    DA_EXPR_NONE,
    DA_EXPR_EVERY,
    DA_EXPR_SOME,
};

/* A parsed RFC 6901 pointer. index[i] is the array index token i denotes, or
 * -1 when it cannot be one. */
struct da_pointer {
    const char *text; /* as written in the policy */
    size_t n;
    char *tokens[DA_POLICY_MAX_TOKENS];
    long index[DA_POLICY_MAX_TOKENS];
    int attestation; /* top level and first token "attestation" */
};

struct da_expr {
    enum da_expr_kind kind;
    /* leaf: the operand is a fact (pointer) or a policy parameter */
    struct da_pointer ptr;
    const cJSON *param; /* the parameter's value when the operand is one */
    const char *param_name;
    enum da_policy_op op;
    const cJSON *value; /* literal or parameter value; NULL for exists */
    regex_t re;
    int has_re;
    /* all, any, none: children; every, some: the array and the inner expr */
    struct da_expr *children;
    size_t n_children;
};

struct da_check {
    const char *id, *title, *rationale, *remediation, *severity;
    const char **controls;
    size_t n_controls;
    size_t *control_index;
    int unknown_passes;
    int require_measured;       /* "require": "measured" */
    struct da_expr *applies_if; /* NULL: always applies */
    struct da_expr *expr;
};

struct da_control {
    const char *id;
    const char *title;
};

struct da_policy {
    cJSON *root; /* owns every string and literal the compiled form points to */
    const char *id, *version;
    struct da_control *controls;
    size_t n_controls;
    struct da_check *checks;
    size_t n_checks;
};

void da_expr_free(struct da_expr *e);

#endif

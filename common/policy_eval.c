/* Evaluating a compiled policy on an evidence document, and rendering the
 * result. Three-valued logic: a fact that is missing or reported as
 * {"unknown": REASON} makes a comparison unknown rather than false. */
#include "policy.h"
#include "policy_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define DA_POLICY_MAX_OBSERVED 512 /* bytes of an observed value kept in a result */

/* The fact that decided an expression's verdict. */
struct witness {
    const struct da_pointer *leaf;
    const struct da_expr *leaf_expr;
    const struct da_pointer *arrays[DA_POLICY_MAX_NEST];
    long index[DA_POLICY_MAX_NEST];
    int depth;
    const cJSON *value; /* NULL when missing */
    const char *reason; /* for unknown */
};

struct eval {
    const cJSON *evidence;
    const cJSON *attestation;
    /* the array elements that nested every/some are looking at */
    const struct da_pointer *arrays[DA_POLICY_MAX_NEST];
    long index[DA_POLICY_MAX_NEST];
    const cJSON *elements[DA_POLICY_MAX_NEST];
    int depth;
};

const char *da_verdict_name(enum da_verdict v)
{
    switch (v) {
    case DA_VERDICT_PASS:
        return "pass";
    case DA_VERDICT_FAIL:
        return "fail";
    case DA_VERDICT_UNKNOWN:
        return "unknown";
    default:
        return "not_applicable";
    }
}

/* The collectors' convention: {"unknown": REASON[, "detail": TEXT]}. */
static const char *unknown_reason(const cJSON *v)
{
    const cJSON *m, *reason = NULL;

    if (!cJSON_IsObject(v) || v->child == NULL)
        return NULL;
    for (m = v->child; m != NULL; m = m->next) {
        if (strcmp(m->string, "unknown") == 0 && cJSON_IsString(m))
            reason = m;
        else if (strcmp(m->string, "detail") != 0)
            return NULL;
    }
    return reason != NULL ? reason->valuestring : NULL;
}

static const cJSON *pointer_resolve(const struct da_pointer *ptr, const cJSON *base, size_t from)
{
    const cJSON *cur = base;
    size_t i;

    for (i = from; i < ptr->n && cur != NULL; i++) {
        /* Below an unknown fact everything is unknown, for the same reason. */
        if (unknown_reason(cur) != NULL)
            return cur;
        if (cJSON_IsObject(cur))
            cur = cJSON_GetObjectItemCaseSensitive(cur, ptr->tokens[i]);
        else if (cJSON_IsArray(cur) && ptr->index[i] >= 0 && ptr->index[i] <= 0x7fffffff)
            cur = cJSON_GetArrayItem(cur, (int)ptr->index[i]);
        else
            cur = NULL;
    }
    return cur;
}

/* A pointer is relative to the innermost array element, or to the evidence
 * (the verifier's facts for /attestation/...) at the top level. */
static const cJSON *resolve(const struct eval *ev, const struct da_pointer *ptr)
{
    if (ev->depth > 0)
        return pointer_resolve(ptr, ev->elements[ev->depth - 1], 0);
    if (ptr->attestation)
        return ev->attestation != NULL ? pointer_resolve(ptr, ev->attestation, 1) : NULL;
    return pointer_resolve(ptr, ev->evidence, 0);
}

static void witness_leaf(const struct eval *ev, const struct da_expr *e, const cJSON *value,
                         const char *reason, struct witness *w)
{
    w->leaf = e->param != NULL ? NULL : &e->ptr;
    w->leaf_expr = e;
    w->depth = ev->depth;
    if (ev->depth > 0) {
        memcpy(w->arrays, ev->arrays, sizeof(w->arrays[0]) * (size_t)ev->depth);
        memcpy(w->index, ev->index, sizeof(w->index[0]) * (size_t)ev->depth);
    }
    w->value = value;
    w->reason = reason;
}

static int value_in(const cJSON *v, const cJSON *set)
{
    const cJSON *m;

    cJSON_ArrayForEach(m, set)
    {
        if (cJSON_Compare(v, m, 1))
            return 1;
    }
    return 0;
}

static enum da_verdict compare(const struct da_expr *e, const cJSON *v)
{
    int ok;

    switch (e->op) {
    case DA_OP_EQ:
        ok = cJSON_Compare(v, e->value, 1);
        break;
    case DA_OP_NE:
        ok = !cJSON_Compare(v, e->value, 1);
        break;
    case DA_OP_LT:
    case DA_OP_LE:
    case DA_OP_GT:
    case DA_OP_GE: {
        double a = v->valuedouble, b = e->value->valuedouble;
        if (!cJSON_IsNumber(v))
            return DA_VERDICT_FAIL;
        ok = e->op == DA_OP_LT   ? a < b
             : e->op == DA_OP_LE ? a <= b
             : e->op == DA_OP_GT ? a > b
                                 : a >= b;
        break;
    }
    case DA_OP_IN:
        ok = cJSON_IsArray(e->value) && value_in(v, e->value);
        break;
    case DA_OP_NOT_IN:
        ok = !cJSON_IsArray(e->value) || !value_in(v, e->value);
        break;
    case DA_OP_MATCHES:
        ok = cJSON_IsString(v) && regexec(&e->re, v->valuestring, 0, NULL, 0) == 0;
        break;
    default:
        ok = 0;
    }
    return ok ? DA_VERDICT_PASS : DA_VERDICT_FAIL;
}

static enum da_verdict eval_leaf(const struct eval *ev, const struct da_expr *e, struct witness *w)
{
    const cJSON *v = e->param != NULL ? e->param : resolve(ev, &e->ptr);
    const char *why = v != NULL ? unknown_reason(v) : NULL;

    witness_leaf(ev, e, v, why, w);
    if (e->op == DA_OP_EXISTS) {
        if (v == NULL || (e->param != NULL && cJSON_IsNull(v)))
            return DA_VERDICT_FAIL;
        return why != NULL ? DA_VERDICT_UNKNOWN : DA_VERDICT_PASS;
    }
    if (v == NULL) {
        w->reason = "not reported";
        return DA_VERDICT_UNKNOWN;
    }
    if (why != NULL)
        return DA_VERDICT_UNKNOWN;
    return compare(e, v);
}

static enum da_verdict eval_expr(struct eval *ev, const struct da_expr *e, struct witness *w);

/* Rank of a child verdict for a combinator: the verdict it settles on first.
 * all/every: fail, then unknown, then pass. any/some/none: pass, unknown,
 * fail. */
static int rank(enum da_verdict v, int conjunctive)
{
    if (conjunctive)
        return v == DA_VERDICT_FAIL ? 3 : v == DA_VERDICT_UNKNOWN ? 2 : 1;
    return v == DA_VERDICT_PASS ? 3 : v == DA_VERDICT_UNKNOWN ? 2 : 1;
}

/* Whether a child's witness replaces the one kept so far: the first child of
 * the best rank, except that when every alternative of a disjunction fails
 * the last one is shown, since policies list exemptions first and the
 * requirement last. */
static int takes_witness(int r, int best, int conjunctive)
{
    return r > best || (!conjunctive && r == 1 && best == 1);
}

static enum da_verdict combine(struct eval *ev, const struct da_expr *e, struct witness *w)
{
    int conj = e->kind == DA_EXPR_ALL, best = 0;
    enum da_verdict out = DA_VERDICT_PASS;
    struct witness tmp;
    size_t i;

    for (i = 0; i < e->n_children; i++) {
        enum da_verdict v = eval_expr(ev, &e->children[i], &tmp);
        int r = rank(v, conj);

        if (takes_witness(r, best, conj)) {
            best = r;
            out = v;
            *w = tmp;
        }
        if (r == 3)
            break; /* settled: a fail for all, a pass for any and none */
    }
    if (e->kind == DA_EXPR_NONE)
        return out == DA_VERDICT_PASS   ? DA_VERDICT_FAIL
               : out == DA_VERDICT_FAIL ? DA_VERDICT_PASS
                                        : DA_VERDICT_UNKNOWN;
    return out;
}

/* every/some: the inner expression on each element of an array. */
static enum da_verdict quantify(struct eval *ev, const struct da_expr *e, struct witness *w)
{
    const cJSON *arr = resolve(ev, &e->ptr), *el;
    int conj = e->kind == DA_EXPR_EVERY, best = 0;
    enum da_verdict out = conj ? DA_VERDICT_PASS : DA_VERDICT_FAIL;
    const char *why = arr != NULL ? unknown_reason(arr) : NULL;
    struct witness tmp;
    long i = 0;

    witness_leaf(ev, e, arr, why, w);
    if (arr == NULL || why != NULL) {
        if (arr == NULL)
            w->reason = "not reported";
        return DA_VERDICT_UNKNOWN;
    }
    if (!cJSON_IsArray(arr))
        return DA_VERDICT_FAIL;
    /* Empty: every holds, some does not. */
    cJSON_ArrayForEach(el, arr)
    {
        enum da_verdict v;
        int r;

        ev->arrays[ev->depth] = &e->ptr;
        ev->index[ev->depth] = i++;
        ev->elements[ev->depth++] = el;
        v = eval_expr(ev, e->children, &tmp);
        ev->depth--;
        r = rank(v, conj);
        if (takes_witness(r, best, conj)) {
            best = r;
            out = v;
            *w = tmp;
        }
        if (r == 3)
            break;
    }
    return out;
}

static enum da_verdict eval_expr(struct eval *ev, const struct da_expr *e, struct witness *w)
{
    switch (e->kind) {
    case DA_EXPR_LEAF:
        return eval_leaf(ev, e, w);
    case DA_EXPR_EVERY:
    case DA_EXPR_SOME:
        return quantify(ev, e, w);
    default:
        return combine(ev, e, w);
    }
}

/* "/disk/volumes/2/encrypted" from the arrays walked and the leaf pointer. */
static void witness_path(const struct witness *w, char *out, size_t cap)
{
    size_t n = 0;
    int i, k;

    out[0] = '\0';
    for (i = 0; i < w->depth; i++) {
        k = snprintf(out + n, cap - n, "%s/%ld", w->arrays[i]->text, w->index[i]);
        if (k < 0 || (size_t)k >= cap - n)
            return;
        n += (size_t)k;
    }
    if (w->leaf != NULL)
        snprintf(out + n, cap - n, "%s", w->leaf->text);
    else if (w->leaf_expr != NULL && w->leaf_expr->param_name != NULL)
        snprintf(out, cap, "param:%s", w->leaf_expr->param_name);
}

/* The observed value as JSON text, summarised when large. */
static char *observed_text(const cJSON *v)
{
    char *s;

    if (v == NULL)
        return strdup("");
    if ((cJSON_IsArray(v) || cJSON_IsObject(v)) && cJSON_GetArraySize(v) > 16) {
        char buf[64];
        snprintf(buf, sizeof(buf), "\"(%s of %d members)\"", cJSON_IsArray(v) ? "array" : "object",
                 cJSON_GetArraySize(v));
        return strdup(buf);
    }
    s = cJSON_PrintUnformatted(v);
    if (s != NULL && strlen(s) > DA_POLICY_MAX_OBSERVED) {
        cJSON_free(s);
        return strdup("\"(value too long to show)\"");
    }
    if (s != NULL) {
        char *copy = strdup(s);
        cJSON_free(s);
        return copy;
    }
    return NULL;
}

static int eval_check(const struct da_check *c, struct eval *ev, struct da_check_result *r)
{
    struct witness w;
    enum da_verdict v = DA_VERDICT_PASS;

    memset(&w, 0, sizeof(w));
    r->id = c->id;
    r->title = c->title;
    r->severity = c->severity;
    r->remediation = c->remediation;
    r->controls = c->controls;
    r->n_controls = c->n_controls;
    /* A check applies unless applies_if is false; unknown does not exempt. */
    if (c->applies_if != NULL && eval_expr(ev, c->applies_if, &w) == DA_VERDICT_FAIL) {
        v = DA_VERDICT_NOT_APPLICABLE;
    } else {
        memset(&w, 0, sizeof(w));
        v = eval_expr(ev, c->expr, &w);
    }
    if (v == DA_VERDICT_UNKNOWN && c->unknown_passes) {
        v = DA_VERDICT_PASS;
        snprintf(r->reason, sizeof(r->reason), "unknown (%s), accepted by on_unknown",
                 w.reason != NULL ? w.reason : "not reported");
    } else if (v == DA_VERDICT_UNKNOWN) {
        snprintf(r->reason, sizeof(r->reason), "%s", w.reason != NULL ? w.reason : "unknown");
    }
    witness_path(&w, r->pointer, sizeof(r->pointer));
    /* "require": "measured": a verdict decided by a reported value (or by
     * nothing) does not count. */
    if (c->require_measured && v != DA_VERDICT_NOT_APPLICABLE &&
        strcmp(da_policy_provenance(r->pointer), "measured") != 0) {
        v = DA_VERDICT_FAIL;
        snprintf(r->reason, sizeof(r->reason),
                 "requires a measured fact; only a reported value exists%s%.96s",
                 r->pointer[0] != '\0' ? " at " : "", r->pointer);
    }
    r->verdict = v;
    r->observed = observed_text(w.value);
    return r->observed != NULL ? 0 : DA_ERR_NOMEM;
}

const char *da_policy_provenance(const char *pointer)
{
    static const char boot[] = "/attestation/boot/", ima[] = "/attestation/ima/";

    if (pointer != NULL && (strncmp(pointer, boot, sizeof(boot) - 1) == 0 ||
                            strncmp(pointer, ima, sizeof(ima) - 1) == 0 ||
                            strcmp(pointer, "/attestation/trust") == 0 ||
                            strcmp(pointer, "/attestation/quote_verified") == 0))
        return "measured";
    return "reported";
}

void da_policy_result_free(struct da_policy_result *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->n_checks; i++)
        free(r->checks[i].observed);
    free(r->checks);
    free(r->controls);
    free(r);
}

static int result_new(const struct da_policy *p, struct da_policy_result **out)
{
    struct da_policy_result *r = calloc(1, sizeof(*r));
    size_t i;

    *out = NULL;
    if (r == NULL)
        return DA_ERR_NOMEM;
    r->checks = calloc(p->n_checks, sizeof(*r->checks));
    r->controls = calloc(p->n_controls, sizeof(*r->controls));
    if (r->checks == NULL || r->controls == NULL) {
        da_policy_result_free(r);
        return DA_ERR_NOMEM;
    }
    r->policy_id = p->id;
    r->policy_version = p->version;
    r->n_controls = p->n_controls;
    for (i = 0; i < p->n_controls; i++) {
        r->controls[i].id = p->controls[i].id;
        r->controls[i].title = p->controls[i].title;
    }
    *out = r;
    return 0;
}

int da_policy_eval(const struct da_policy *p, const cJSON *evidence, const cJSON *attestation,
                   struct da_policy_result **out)
{
    struct da_policy_result *r = NULL;
    struct eval ev;
    size_t i, k;
    int rc;

    *out = NULL;
    if (p == NULL || !cJSON_IsObject(evidence) ||
        (attestation != NULL && !cJSON_IsObject(attestation)))
        return DA_ERR_INVALID_ARG;
    if ((rc = result_new(p, &r)) != 0)
        return rc;
    memset(&ev, 0, sizeof(ev));
    ev.evidence = evidence;
    ev.attestation = attestation;
    r->verdict = DA_VERDICT_NOT_APPLICABLE;
    for (i = 0; i < p->n_checks; i++) {
        struct da_check_result *cr = &r->checks[i];

        r->n_checks = i + 1;
        if ((rc = eval_check(&p->checks[i], &ev, cr)) != 0) {
            da_policy_result_free(r);
            return rc;
        }
        if (cr->verdict > r->verdict)
            r->verdict = cr->verdict;
        for (k = 0; k < p->checks[i].n_controls; k++) {
            struct da_control_result *ctl = &r->controls[p->checks[i].control_index[k]];
            ctl->n_checks++;
            if (cr->verdict > ctl->verdict)
                ctl->verdict = cr->verdict;
        }
    }
    *out = r;
    return 0;
}

/* ---- rendering ---- */

static const char *verdict_upper(enum da_verdict v)
{
    switch (v) {
    case DA_VERDICT_PASS:
        return "PASS";
    case DA_VERDICT_FAIL:
        return "FAIL";
    case DA_VERDICT_UNKNOWN:
        return "UNKNOWN";
    default:
        return "N/A";
    }
}

static int render_check(const struct da_check_result *c, struct da_buf *out)
{
    size_t k;
    int rc;

    rc = da_buf_printf(out, "[%s] %s (%s; ", verdict_upper(c->verdict), c->id, c->severity);
    for (k = 0; rc == 0 && k < c->n_controls; k++)
        rc = da_buf_printf(out, "%s%s", k > 0 ? ", " : "", c->controls[k]);
    if (rc == 0)
        rc = da_buf_printf(out, ") %s\n", c->title);
    if (rc == 0 && c->pointer[0] != '\0')
        rc = da_buf_printf(out, "    observed %s = %s\n", c->pointer,
                           c->observed[0] != '\0' ? c->observed : "(missing)");
    if (rc == 0 && c->reason[0] != '\0')
        rc = da_buf_printf(out, "    reason: %s\n", c->reason);
    if (rc == 0 && (c->verdict == DA_VERDICT_FAIL || c->verdict == DA_VERDICT_UNKNOWN))
        rc = da_buf_printf(out, "    fix: %s\n", c->remediation);
    return rc;
}

int da_policy_result_render_text(const struct da_policy_result *r, struct da_buf *out)
{
    size_t i;
    int rc;

    rc = da_buf_printf(out, "policy %s %s: %s\n", r->policy_id, r->policy_version,
                       verdict_upper(r->verdict));
    for (i = 0; rc == 0 && i < r->n_controls; i++)
        rc = da_buf_printf(out, "  control %-5s %-8s %s\n", r->controls[i].id,
                           verdict_upper(r->controls[i].verdict), r->controls[i].title);
    for (i = 0; rc == 0 && i < r->n_checks; i++)
        rc = render_check(&r->checks[i], out);
    return rc;
}

static cJSON *check_json(const struct da_check_result *c)
{
    cJSON *o = cJSON_CreateObject(), *ctl, *obs = NULL;
    size_t k;

    if (o == NULL)
        return NULL;
    if (c->observed[0] != '\0' && (obs = cJSON_Parse(c->observed)) == NULL)
        goto fail;
    if (cJSON_AddStringToObject(o, "id", c->id) == NULL ||
        cJSON_AddStringToObject(o, "title", c->title) == NULL ||
        cJSON_AddStringToObject(o, "severity", c->severity) == NULL ||
        (ctl = cJSON_AddArrayToObject(o, "controls")) == NULL ||
        cJSON_AddStringToObject(o, "verdict", da_verdict_name(c->verdict)) == NULL ||
        cJSON_AddStringToObject(o, "pointer", c->pointer) == NULL)
        goto fail;
    for (k = 0; k < c->n_controls; k++) {
        if (!cJSON_AddItemToArray(ctl, cJSON_CreateString(c->controls[k])))
            goto fail;
    }
    if (obs != NULL && !cJSON_AddItemToObject(o, "observed", obs))
        goto fail;
    obs = NULL; /* transferred */
    if ((c->reason[0] != '\0' && cJSON_AddStringToObject(o, "reason", c->reason) == NULL) ||
        cJSON_AddStringToObject(o, "remediation", c->remediation) == NULL)
        goto fail;
    return o;
fail:
    cJSON_Delete(obs);
    cJSON_Delete(o);
    return NULL;
}

int da_policy_result_to_json(const struct da_policy_result *r, cJSON **out)
{
    cJSON *o = cJSON_CreateObject(), *ctls, *checks, *c;
    size_t i;

    *out = NULL;
    if (o == NULL || cJSON_AddStringToObject(o, "policy", r->policy_id) == NULL ||
        cJSON_AddStringToObject(o, "version", r->policy_version) == NULL ||
        cJSON_AddStringToObject(o, "verdict", da_verdict_name(r->verdict)) == NULL ||
        (ctls = cJSON_AddArrayToObject(o, "controls")) == NULL ||
        (checks = cJSON_AddArrayToObject(o, "checks")) == NULL)
        goto fail;
    for (i = 0; i < r->n_controls; i++) {
        c = cJSON_CreateObject();
        if (!cJSON_AddItemToArray(ctls, c) ||
            cJSON_AddStringToObject(c, "id", r->controls[i].id) == NULL ||
            cJSON_AddStringToObject(c, "title", r->controls[i].title) == NULL ||
            cJSON_AddStringToObject(c, "verdict", da_verdict_name(r->controls[i].verdict)) ==
                NULL ||
            cJSON_AddNumberToObject(c, "checks", (double)r->controls[i].n_checks) == NULL)
            goto fail;
    }
    for (i = 0; i < r->n_checks; i++) {
        if (!cJSON_AddItemToArray(checks, check_json(&r->checks[i])))
            goto fail;
    }
    *out = o;
    return 0;
fail:
    cJSON_Delete(o);
    return DA_ERR_NOMEM;
}

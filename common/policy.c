/* Loading a policy: parse, validate every field, compile every expression.
 * Nothing is returned unless all of it succeeded. */
#include "policy.h"
#include "policy_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "err.h"
#include "file.h"
#include "policy_json.h"

/* State of one load: the policy being built and where we are in it. */
struct loader {
    struct da_policy *p;
    struct da_policy_error *err;
    const cJSON *params;
    char path[256]; /* JSON Pointer of the node being compiled */
    size_t path_len;
    int nest; /* every/some depth */
    size_t n_expr;
};

static int fail(struct loader *l, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct loader *l, int code, const char *fmt, ...)
{
    va_list ap;

    if (l->err != NULL) {
        snprintf(l->err->pointer, sizeof(l->err->pointer), "%s", l->path);
        va_start(ap, fmt);
        vsnprintf(l->err->reason, sizeof(l->err->reason), fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Enter a member (key) or an element (key == NULL, index i) of the path. */
static size_t path_push(struct loader *l, const char *key, size_t i)
{
    size_t mark = l->path_len, n = l->path_len;
    char *p = l->path;

    if (key == NULL) {
        int w = snprintf(p + n, sizeof(l->path) - n, "/%zu", i);
        n = w > 0 && (size_t)w < sizeof(l->path) - n ? n + (size_t)w : sizeof(l->path) - 1;
    } else if (n + 1 < sizeof(l->path)) {
        p[n++] = '/';
        for (; *key != '\0' && n + 2 < sizeof(l->path); key++) {
            if (*key == '~' || *key == '/') {
                p[n++] = '~';
                p[n++] = *key == '~' ? '0' : '1';
            } else {
                p[n++] = *key;
            }
        }
    }
    p[n] = '\0';
    l->path_len = n;
    return mark;
}

static void path_pop(struct loader *l, size_t mark)
{
    l->path_len = mark;
    l->path[mark] = '\0';
}

/* Every member of obj must be one of the allowed names. */
static int only_keys(struct loader *l, const cJSON *obj, const char *const *allowed)
{
    const cJSON *m;
    size_t i;

    cJSON_ArrayForEach(m, obj)
    {
        for (i = 0; allowed[i] != NULL; i++) {
            if (strcmp(m->string, allowed[i]) == 0)
                break;
        }
        if (allowed[i] == NULL) {
            size_t mark = path_push(l, m->string, 0);
            int rc = fail(l, DA_ERR_POLICY_FIELD, "unknown field \"%s\"", m->string);
            path_pop(l, mark);
            return rc;
        }
    }
    return 0;
}

static int get_string(struct loader *l, const cJSON *obj, const char *key, int required,
                      const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    size_t mark;
    int rc = 0;

    *out = NULL;
    if (v == NULL)
        return required ? fail(l, DA_ERR_POLICY_FIELD, "missing field \"%s\"", key) : 0;
    mark = path_push(l, key, 0);
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
        rc = fail(l, DA_ERR_POLICY_FIELD, "\"%s\" must be a non-empty string", key);
    else
        *out = v->valuestring;
    path_pop(l, mark);
    return rc;
}

/* ---- JSON Pointers ---- */

static long pointer_index(const char *t)
{
    long v = 0;

    if (t[0] == '\0' || (t[0] == '0' && t[1] != '\0'))
        return -1;
    for (; *t != '\0'; t++) {
        if (*t < '0' || *t > '9' || v > 100000000L)
            return -1;
        v = v * 10 + (*t - '0');
    }
    return v;
}

static void pointer_free(struct da_pointer *ptr)
{
    size_t i;

    for (i = 0; i < ptr->n; i++)
        free(ptr->tokens[i]);
    ptr->n = 0;
}

/* Parse an RFC 6901 pointer: "" or "/a/b~1c"; ~ only as ~0 or ~1. */
static int pointer_parse(struct loader *l, const char *text, int top_level, struct da_pointer *ptr)
{
    const char *s = text;

    memset(ptr, 0, sizeof(*ptr));
    ptr->text = text;
    if (*s != '\0' && *s != '/')
        return fail(l, DA_ERR_POLICY_POINTER, "JSON Pointer must be empty or start with '/'");
    while (*s == '/') {
        const char *end = strchr(s + 1, '/');
        size_t n = end != NULL ? (size_t)(end - s - 1) : strlen(s + 1), i, o = 0;
        char *tok;

        if (ptr->n == DA_POLICY_MAX_TOKENS)
            return fail(l, DA_ERR_POLICY_POINTER, "JSON Pointer has more than %d tokens",
                        DA_POLICY_MAX_TOKENS);
        tok = malloc(n + 1);
        if (tok == NULL)
            return DA_ERR_NOMEM;
        ptr->tokens[ptr->n++] = tok;
        for (i = 0; i < n; i++) {
            char c = s[1 + i];
            if (c == '~') {
                if (i + 1 == n || (s[2 + i] != '0' && s[2 + i] != '1'))
                    return fail(l, DA_ERR_POLICY_POINTER, "'~' must be followed by 0 or 1");
                c = s[2 + i] == '0' ? '~' : '/';
                i++;
            }
            tok[o++] = c;
        }
        tok[o] = '\0';
        ptr->index[ptr->n - 1] = pointer_index(tok);
        s += 1 + n;
    }
    ptr->attestation = top_level && ptr->n > 0 && strcmp(ptr->tokens[0], "attestation") == 0;
    return 0;
}

/* ---- expressions ---- */

static const struct {
    const char *name;
    enum da_policy_op op;
} op_names[] = {
    {"eq", DA_OP_EQ},         {"ne", DA_OP_NE},         {"lt", DA_OP_LT},
    {"le", DA_OP_LE},         {"gt", DA_OP_GT},         {"ge", DA_OP_GE},
    {"in", DA_OP_IN},         {"not_in", DA_OP_NOT_IN}, {"matches", DA_OP_MATCHES},
    {"exists", DA_OP_EXISTS},
};

static int compile_expr(struct loader *l, const cJSON *j, struct da_expr *e);

void da_expr_free(struct da_expr *e)
{
    size_t i;

    if (e == NULL)
        return;
    for (i = 0; i < e->n_children; i++)
        da_expr_free(&e->children[i]);
    free(e->children);
    pointer_free(&e->ptr);
    if (e->has_re)
        regfree(&e->re);
    memset(e, 0, sizeof(*e));
}

/* The value of the parameter named by the string node n. */
static int param_lookup(struct loader *l, const cJSON *n, const cJSON **out, const char **name)
{
    if (!cJSON_IsString(n))
        return fail(l, DA_ERR_POLICY_FIELD, "\"param\" must name a parameter");
    *out = cJSON_GetObjectItemCaseSensitive(l->params, n->valuestring);
    if (*out == NULL)
        return fail(l, DA_ERR_POLICY_FIELD, "unknown parameter \"%s\"", n->valuestring);
    if (name != NULL)
        *name = n->valuestring;
    return 0;
}

/* A parameter reference {"param": NAME}: 0 with its value in *out, 1 when v
 * is not a reference, or an error. */
static int param_ref(struct loader *l, const cJSON *v, const cJSON **out)
{
    const cJSON *n;

    *out = NULL;
    if (!cJSON_IsObject(v) || cJSON_GetArraySize(v) != 1 ||
        (n = cJSON_GetObjectItemCaseSensitive(v, "param")) == NULL)
        return 1;
    return param_lookup(l, n, out, NULL);
}

static int check_value_type(struct loader *l, enum da_policy_op op, const cJSON *v)
{
    switch (op) {
    case DA_OP_LT:
    case DA_OP_LE:
    case DA_OP_GT:
    case DA_OP_GE:
        return cJSON_IsNumber(v) ? 0 : fail(l, DA_ERR_POLICY_FIELD, "operator needs a number");
    case DA_OP_IN:
    case DA_OP_NOT_IN:
        /* null: an optional parameter nobody set, which matches nothing */
        return cJSON_IsArray(v) || cJSON_IsNull(v)
                   ? 0
                   : fail(l, DA_ERR_POLICY_FIELD, "operator needs an array");
    case DA_OP_MATCHES:
        return cJSON_IsString(v) ? 0 : fail(l, DA_ERR_POLICY_FIELD, "\"matches\" needs a string");
    default:
        return 0;
    }
}

static int compile_value(struct loader *l, const cJSON *j, struct da_expr *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "value");
    size_t mark;
    int rc;

    if (e->op == DA_OP_EXISTS)
        return v == NULL ? 0 : fail(l, DA_ERR_POLICY_FIELD, "\"exists\" takes no value");
    if (v == NULL)
        return fail(l, DA_ERR_POLICY_FIELD, "missing field \"value\"");
    mark = path_push(l, "value", 0);
    rc = param_ref(l, v, &e->value);
    if (rc == 1) {
        e->value = v;
        rc = 0;
    }
    if (rc == 0)
        rc = check_value_type(l, e->op, e->value);
    if (rc == 0 && e->op == DA_OP_MATCHES) {
        if (regcomp(&e->re, e->value->valuestring, REG_EXTENDED | REG_NOSUB) != 0)
            rc = fail(l, DA_ERR_POLICY_REGEX, "not a POSIX extended regular expression");
        else
            e->has_re = 1;
    }
    path_pop(l, mark);
    return rc;
}

static int compile_leaf(struct loader *l, const cJSON *j, struct da_expr *e)
{
    static const char *const keys[] = {"pointer", "param", "op", "value", NULL};
    const cJSON *ptr = cJSON_GetObjectItemCaseSensitive(j, "pointer");
    const cJSON *par = cJSON_GetObjectItemCaseSensitive(j, "param");
    const char *op = NULL;
    size_t i, mark;
    int rc;

    e->kind = DA_EXPR_LEAF;
    if ((rc = only_keys(l, j, keys)) != 0 || (rc = get_string(l, j, "op", 1, &op)) != 0)
        return rc;
    for (i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++) {
        if (strcmp(op, op_names[i].name) == 0)
            break;
    }
    mark = path_push(l, "op", 0);
    rc = i == sizeof(op_names) / sizeof(op_names[0])
             ? fail(l, DA_ERR_POLICY_OPERATOR, "unknown operator \"%s\"", op)
             : 0;
    path_pop(l, mark);
    if (rc != 0)
        return rc;
    e->op = op_names[i].op;
    if ((ptr == NULL) == (par == NULL))
        return fail(l, DA_ERR_POLICY_FIELD, "give exactly one of \"pointer\" and \"param\"");
    if (ptr != NULL) {
        mark = path_push(l, "pointer", 0);
        rc = cJSON_IsString(ptr) ? pointer_parse(l, ptr->valuestring, l->nest == 0, &e->ptr)
                                 : fail(l, DA_ERR_POLICY_FIELD, "\"pointer\" must be a string");
        path_pop(l, mark);
    } else {
        mark = path_push(l, "param", 0);
        rc = param_lookup(l, par, &e->param, &e->param_name);
        path_pop(l, mark);
    }
    if (rc != 0)
        return rc;
    return compile_value(l, j, e);
}

static int compile_list(struct loader *l, const cJSON *arr, struct da_expr *e)
{
    const cJSON *c;
    size_t i = 0, mark;
    int rc = 0;

    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
        return fail(l, DA_ERR_POLICY_FIELD, "a combinator needs a non-empty array");
    e->children = calloc((size_t)cJSON_GetArraySize(arr), sizeof(*e->children));
    if (e->children == NULL)
        return DA_ERR_NOMEM;
    cJSON_ArrayForEach(c, arr)
    {
        mark = path_push(l, NULL, i);
        e->n_children = ++i;
        rc = compile_expr(l, c, &e->children[i - 1]);
        path_pop(l, mark);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int compile_quantifier(struct loader *l, const cJSON *j, struct da_expr *e)
{
    static const char *const keys[] = {"pointer", "expr", NULL};
    const cJSON *ptr = cJSON_GetObjectItemCaseSensitive(j, "pointer");
    const cJSON *inner = cJSON_GetObjectItemCaseSensitive(j, "expr");
    size_t mark;
    int rc;

    if (!cJSON_IsObject(j))
        return fail(l, DA_ERR_POLICY_FIELD, "\"every\"/\"some\" need {\"pointer\", \"expr\"}");
    if ((rc = only_keys(l, j, keys)) != 0)
        return rc;
    if (!cJSON_IsString(ptr) || inner == NULL)
        return fail(l, DA_ERR_POLICY_FIELD, "\"every\"/\"some\" need {\"pointer\", \"expr\"}");
    if (l->nest == DA_POLICY_MAX_NEST)
        return fail(l, DA_ERR_POLICY_FIELD, "\"every\"/\"some\" nested more than %d deep",
                    DA_POLICY_MAX_NEST);
    mark = path_push(l, "pointer", 0);
    rc = pointer_parse(l, ptr->valuestring, l->nest == 0, &e->ptr);
    path_pop(l, mark);
    if (rc != 0)
        return rc;
    e->children = calloc(1, sizeof(*e->children));
    if (e->children == NULL)
        return DA_ERR_NOMEM;
    e->n_children = 1;
    mark = path_push(l, "expr", 0);
    l->nest++;
    rc = compile_expr(l, inner, e->children);
    l->nest--;
    path_pop(l, mark);
    return rc;
}

static int compile_expr(struct loader *l, const cJSON *j, struct da_expr *e)
{
    static const struct {
        const char *name;
        enum da_expr_kind kind;
    } forms[] = {{"all", DA_EXPR_ALL},
                 {"any", DA_EXPR_ANY},
                 {"none", DA_EXPR_NONE},
                 {"every", DA_EXPR_EVERY},
                 {"some", DA_EXPR_SOME}};
    size_t i, mark;
    int rc;

    if (!cJSON_IsObject(j))
        return fail(l, DA_ERR_POLICY_FIELD, "an expression must be an object");
    if (++l->n_expr > DA_POLICY_MAX_EXPR)
        return fail(l, DA_ERR_POLICY_FIELD, "more than %d expressions in one check",
                    DA_POLICY_MAX_EXPR);
    if (cJSON_GetObjectItemCaseSensitive(j, "op") != NULL)
        return compile_leaf(l, j, e);
    if (cJSON_GetArraySize(j) != 1)
        return fail(l, DA_ERR_POLICY_OPERATOR,
                    "an expression is {\"pointer\"|\"param\", \"op\", \"value\"} or one of "
                    "all, any, none, every, some");
    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        if (strcmp(j->child->string, forms[i].name) == 0)
            break;
    }
    if (i == sizeof(forms) / sizeof(forms[0]))
        return fail(l, DA_ERR_POLICY_OPERATOR, "unknown expression form \"%s\"", j->child->string);
    e->kind = forms[i].kind;
    mark = path_push(l, forms[i].name, 0);
    if (e->kind == DA_EXPR_EVERY || e->kind == DA_EXPR_SOME)
        rc = compile_quantifier(l, j->child, e);
    else
        rc = compile_list(l, j->child, e);
    path_pop(l, mark);
    return rc;
}

/* A compiled expression in its own allocation, under member key of check. */
static int compile_member(struct loader *l, const cJSON *check, const char *key, int required,
                          struct da_expr **out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(check, key);
    size_t mark;
    int rc;

    *out = NULL;
    if (j == NULL)
        return required ? fail(l, DA_ERR_POLICY_FIELD, "missing field \"%s\"", key) : 0;
    *out = calloc(1, sizeof(**out));
    if (*out == NULL)
        return DA_ERR_NOMEM;
    mark = path_push(l, key, 0);
    l->nest = 0;
    l->n_expr = 0;
    rc = compile_expr(l, j, *out);
    path_pop(l, mark);
    return rc;
}

/* ---- checks and controls ---- */

static int find_control(const struct da_policy *p, const char *id, size_t *idx)
{
    size_t i;

    for (i = 0; i < p->n_controls; i++) {
        if (strcmp(p->controls[i].id, id) == 0) {
            *idx = i;
            return 1;
        }
    }
    return 0;
}

static int compile_check_controls(struct loader *l, const cJSON *j, struct da_check *c)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "controls"), *v;
    size_t i = 0, mark, k;
    int rc = 0;

    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
        return fail(l, DA_ERR_POLICY_FIELD, "\"controls\" must be a non-empty array");
    c->controls = calloc((size_t)cJSON_GetArraySize(arr), sizeof(*c->controls));
    c->control_index = calloc((size_t)cJSON_GetArraySize(arr), sizeof(*c->control_index));
    if (c->controls == NULL || c->control_index == NULL)
        return DA_ERR_NOMEM;
    mark = path_push(l, "controls", 0);
    cJSON_ArrayForEach(v, arr)
    {
        size_t m2 = path_push(l, NULL, i);
        if (!cJSON_IsString(v))
            rc = fail(l, DA_ERR_POLICY_FIELD, "a control is a string such as \"8.30\"");
        else if (!find_control(l->p, v->valuestring, &c->control_index[i]))
            rc = fail(l, DA_ERR_POLICY_FIELD, "control \"%s\" is not declared in \"controls\"",
                      v->valuestring);
        for (k = 0; rc == 0 && k < i; k++) {
            if (c->control_index[k] == c->control_index[i])
                rc = fail(l, DA_ERR_POLICY_FIELD, "control \"%s\" listed twice", v->valuestring);
        }
        path_pop(l, m2);
        if (rc != 0)
            break;
        c->controls[i++] = v->valuestring;
        c->n_controls = i;
    }
    path_pop(l, mark);
    return rc;
}

static int compile_check(struct loader *l, const cJSON *j, struct da_check *c)
{
    static const char *const keys[] = {"id",       "title",       "rationale",  "remediation",
                                       "severity", "controls",    "applies_if", "on_unknown",
                                       "expr",     "description", "require",    NULL};
    static const char *const severities[] = {"low", "medium", "high", "critical"};
    const char *on_unknown = NULL, *require = NULL;
    size_t i;
    int rc;

    if (!cJSON_IsObject(j))
        return fail(l, DA_ERR_POLICY_FIELD, "a check must be an object");
    if ((rc = only_keys(l, j, keys)) != 0 || (rc = get_string(l, j, "id", 1, &c->id)) != 0 ||
        (rc = get_string(l, j, "title", 1, &c->title)) != 0 ||
        (rc = get_string(l, j, "rationale", 1, &c->rationale)) != 0 ||
        (rc = get_string(l, j, "remediation", 1, &c->remediation)) != 0 ||
        (rc = get_string(l, j, "severity", 1, &c->severity)) != 0 ||
        (rc = get_string(l, j, "on_unknown", 0, &on_unknown)) != 0 ||
        (rc = get_string(l, j, "require", 0, &require)) != 0)
        return rc;
    if (require != NULL && strcmp(require, "measured") != 0)
        return fail(l, DA_ERR_POLICY_FIELD, "require must be \"measured\"");
    c->require_measured = require != NULL;
    for (i = 0; i < 4 && strcmp(c->severity, severities[i]) != 0; i++)
        ;
    if (i == 4)
        return fail(l, DA_ERR_POLICY_FIELD, "severity must be low, medium, high or critical");
    if (on_unknown != NULL && strcmp(on_unknown, "pass") != 0 && strcmp(on_unknown, "fail") != 0)
        return fail(l, DA_ERR_POLICY_FIELD, "on_unknown must be \"pass\" or \"fail\"");
    c->unknown_passes = on_unknown != NULL && strcmp(on_unknown, "pass") == 0;
    if ((rc = compile_check_controls(l, j, c)) != 0)
        return rc;
    if ((rc = compile_member(l, j, "applies_if", 0, &c->applies_if)) != 0)
        return rc;
    return compile_member(l, j, "expr", 1, &c->expr);
}

static int compile_checks(struct loader *l, const cJSON *arr)
{
    const cJSON *j;
    size_t i = 0, k, mark;
    int rc = 0;

    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
        return fail(l, DA_ERR_POLICY_FIELD, "\"checks\" must be a non-empty array");
    l->p->checks = calloc((size_t)cJSON_GetArraySize(arr), sizeof(*l->p->checks));
    if (l->p->checks == NULL)
        return DA_ERR_NOMEM;
    mark = path_push(l, "checks", 0);
    cJSON_ArrayForEach(j, arr)
    {
        size_t m2 = path_push(l, NULL, i);
        l->p->n_checks = i + 1;
        rc = compile_check(l, j, &l->p->checks[i]);
        for (k = 0; rc == 0 && k < i; k++) {
            if (strcmp(l->p->checks[k].id, l->p->checks[i].id) == 0)
                rc = fail(l, DA_ERR_POLICY_FIELD, "check id \"%s\" used twice", l->p->checks[i].id);
        }
        path_pop(l, m2);
        if (rc != 0)
            break;
        i++;
    }
    path_pop(l, mark);
    return rc;
}

static int compile_controls(struct loader *l, const cJSON *obj)
{
    static const char *const keys[] = {"title", "description", NULL};
    const cJSON *c;
    size_t i = 0, mark;
    int rc = 0;

    if (!cJSON_IsObject(obj) || cJSON_GetArraySize(obj) == 0)
        return fail(l, DA_ERR_POLICY_FIELD, "\"controls\" must be a non-empty object");
    l->p->controls = calloc((size_t)cJSON_GetArraySize(obj), sizeof(*l->p->controls));
    if (l->p->controls == NULL)
        return DA_ERR_NOMEM;
    mark = path_push(l, "controls", 0);
    cJSON_ArrayForEach(c, obj)
    {
        size_t m2 = path_push(l, c->string, 0);
        if (!cJSON_IsObject(c))
            rc = fail(l, DA_ERR_POLICY_FIELD, "a control is an object with a \"title\"");
        else if ((rc = only_keys(l, c, keys)) == 0)
            rc = get_string(l, c, "title", 1, &l->p->controls[i].title);
        path_pop(l, m2);
        if (rc != 0)
            break;
        l->p->controls[i++].id = c->string;
        l->p->n_controls = i;
    }
    path_pop(l, mark);
    return rc;
}

static int compile_policy(struct loader *l)
{
    static const char *const keys[] = {"schema",   "id",     "version", "title", "description",
                                       "controls", "params", "checks",  NULL};
    const cJSON *root = l->p->root;
    const char *schema = NULL, *title = NULL;
    int rc;

    if (!cJSON_IsObject(root))
        return fail(l, DA_ERR_POLICY_PARSE, "a policy is a JSON object");
    if ((rc = only_keys(l, root, keys)) != 0 ||
        (rc = get_string(l, root, "schema", 1, &schema)) != 0)
        return rc;
    if (strcmp(schema, DA_POLICY_SCHEMA) != 0) {
        size_t mark = path_push(l, "schema", 0);
        rc = fail(l, DA_ERR_POLICY_PARSE, "schema must be \"%s\"", DA_POLICY_SCHEMA);
        path_pop(l, mark);
        return rc;
    }
    if ((rc = get_string(l, root, "id", 1, &l->p->id)) != 0 ||
        (rc = get_string(l, root, "version", 1, &l->p->version)) != 0 ||
        (rc = get_string(l, root, "title", 1, &title)) != 0)
        return rc;
    l->params = cJSON_GetObjectItemCaseSensitive(root, "params");
    if (l->params != NULL && !cJSON_IsObject(l->params))
        return fail(l, DA_ERR_POLICY_FIELD, "\"params\" must be an object");
    if ((rc = compile_controls(l, cJSON_GetObjectItemCaseSensitive(root, "controls"))) != 0)
        return rc;
    return compile_checks(l, cJSON_GetObjectItemCaseSensitive(root, "checks"));
}

void da_policy_free(struct da_policy *p)
{
    size_t i;

    if (p == NULL)
        return;
    for (i = 0; i < p->n_checks; i++) {
        da_expr_free(p->checks[i].applies_if);
        free(p->checks[i].applies_if);
        da_expr_free(p->checks[i].expr);
        free(p->checks[i].expr);
        free(p->checks[i].controls);
        free(p->checks[i].control_index);
    }
    free(p->checks);
    free(p->controls);
    cJSON_Delete(p->root);
    free(p);
}

int da_policy_load(const char *text, size_t len, const char *source, struct da_policy **out,
                   struct da_policy_error *err)
{
    struct loader l;
    int rc;

    *out = NULL;
    memset(&l, 0, sizeof(l));
    l.err = err;
    if (err != NULL) {
        memset(err, 0, sizeof(*err));
        snprintf(err->source, sizeof(err->source), "%s", source != NULL ? source : "policy");
    }
    if (text == NULL)
        return fail(&l, DA_ERR_INVALID_ARG, "no policy text");
    if (len > DA_MAX_POLICY)
        return fail(&l, DA_ERR_TOO_LARGE, "policy larger than %u bytes", DA_MAX_POLICY);
    l.p = calloc(1, sizeof(*l.p));
    if (l.p == NULL)
        return DA_ERR_NOMEM;
    rc = da_policy_json_parse(text, len, &l.p->root, err);
    if (rc == 0)
        rc = compile_policy(&l);
    if (rc != 0) {
        da_policy_free(l.p);
        return rc;
    }
    *out = l.p;
    return 0;
}

int da_policy_load_file(const char *path, struct da_policy **out, struct da_policy_error *err)
{
    struct da_buf b;
    int rc;

    *out = NULL;
    rc = da_file_read(path, DA_MAX_POLICY, &b);
    if (rc == 0) {
        rc = da_policy_load(da_buf_str(&b), da_buf_len(&b), path, out, err);
    } else if (err != NULL) {
        memset(err, 0, sizeof(*err));
        snprintf(err->source, sizeof(err->source), "%s", path != NULL ? path : "");
        snprintf(err->reason, sizeof(err->reason), "%s", da_strerror(rc));
    }
    da_buf_free(&b);
    return rc;
}

int da_policy_reload_file(const char *path, struct da_policy **slot, struct da_policy_error *err)
{
    struct da_policy *fresh = NULL;
    int rc = da_policy_load_file(path, &fresh, err);

    if (rc != 0)
        return rc;
    da_policy_free(*slot);
    *slot = fresh;
    return 0;
}

const char *da_policy_id(const struct da_policy *p)
{
    return p->id;
}

const char *da_policy_version(const struct da_policy *p)
{
    return p->version;
}

size_t da_policy_check_count(const struct da_policy *p)
{
    return p->n_checks;
}

/* The policy engine: loading (and refusing), operators and combinators with
 * three-valued logic, per-control verdicts, renderings, and the shipped
 * ISO 27001 policy on a typical evidence document. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "err.h"
#include "file.h"
#include "policy.h"

#define SHIPPED  DA_SOURCE_ROOT "/common/policies/iso27001-2022-devenv.json"
#define EVIDENCE DA_SOURCE_ROOT "/tests/unit/data/evidence-typical.json"

static const char doc_text[] =
    "{\"a\":{\"n\":5,\"s\":\"hello-42\",\"t\":true,\"nul\":null,\"arr\":[1,2,3],"
    "\"objs\":[{\"x\":1,\"tags\":[\"p\"]},{\"x\":2,\"tags\":[]}],\"empty\":[],"
    "\"u\":{\"unknown\":\"permission\",\"detail\":\"/etc/x\"},"
    "\"mixed\":[{\"x\":1},{\"x\":{\"unknown\":\"parse\"}}],\"sl~a/sh\":7}}";

/* A policy of one check with the given expression (and extra check fields). */
static int load_one(const char *expr, const char *extra, struct da_policy **p,
                    struct da_policy_error *err)
{
    char text[4096];
    int n = snprintf(text, sizeof(text),
                     "{\"schema\":\"devattest.policy/v1\",\"id\":\"t\",\"version\":\"1\","
                     "\"title\":\"t\",\"controls\":{\"8.30\":{\"title\":\"Outsourced\"},"
                     "\"8.31\":{\"title\":\"Separation\"}},"
                     "\"params\":{\"list\":[\"a\",\"hello-42\"],\"five\":5,\"none\":null,"
                     "\"yes\":true},"
                     "\"checks\":[{\"id\":\"c\",\"title\":\"c\",\"rationale\":\"r\","
                     "\"remediation\":\"m\",\"severity\":\"low\",\"controls\":[\"8.30\"],%s"
                     "\"expr\":%s}]}",
                     extra != NULL ? extra : "", expr);

    assert_true(n > 0 && (size_t)n < sizeof(text));
    return da_policy_load(text, (size_t)n, "test.json", p, err);
}

static cJSON *parse(const char *text)
{
    cJSON *j = cJSON_Parse(text);

    assert_non_null(j);
    return j;
}

/* Verdict of the single check of load_one(expr) on doc_text. */
static enum da_verdict verdict_of(const char *expr, const char *extra, char *pointer, size_t cap)
{
    struct da_policy *p = NULL;
    struct da_policy_result *r = NULL;
    struct da_policy_error err;
    cJSON *doc = parse(doc_text);
    enum da_verdict v;

    if (load_one(expr, extra, &p, &err) != 0)
        fail_msg("policy does not load: %s at %s: %s", expr, err.pointer, err.reason);
    assert_int_equal(da_policy_eval(p, doc, NULL, &r), 0);
    v = r->checks[0].verdict;
    if (pointer != NULL)
        snprintf(pointer, cap, "%s", r->checks[0].pointer);
    da_policy_result_free(r);
    da_policy_free(p);
    cJSON_Delete(doc);
    return v;
}

#define P DA_VERDICT_PASS
#define F DA_VERDICT_FAIL
#define U DA_VERDICT_UNKNOWN

static void test_operators(void **state)
{
    static const struct {
        const char *expr;
        enum da_verdict want;
    } cases[] = {
        {"{\"pointer\":\"/a/n\",\"op\":\"eq\",\"value\":5}", P},
        {"{\"pointer\":\"/a/n\",\"op\":\"eq\",\"value\":\"5\"}", F},
        {"{\"pointer\":\"/a/n\",\"op\":\"ne\",\"value\":4}", P},
        {"{\"pointer\":\"/a/n\",\"op\":\"lt\",\"value\":6}", P},
        {"{\"pointer\":\"/a/n\",\"op\":\"lt\",\"value\":5}", F},
        {"{\"pointer\":\"/a/n\",\"op\":\"le\",\"value\":5}", P},
        {"{\"pointer\":\"/a/n\",\"op\":\"gt\",\"value\":5}", F},
        {"{\"pointer\":\"/a/n\",\"op\":\"ge\",\"value\":5}", P},
        {"{\"pointer\":\"/a/s\",\"op\":\"lt\",\"value\":5}", F}, /* not a number */
        {"{\"pointer\":\"/a/s\",\"op\":\"in\",\"value\":[\"x\",\"hello-42\"]}", P},
        {"{\"pointer\":\"/a/s\",\"op\":\"in\",\"value\":{\"param\":\"list\"}}", P},
        {"{\"pointer\":\"/a/s\",\"op\":\"not_in\",\"value\":[\"x\"]}", P},
        {"{\"pointer\":\"/a/s\",\"op\":\"in\",\"value\":{\"param\":\"none\"}}", F},
        {"{\"pointer\":\"/a/s\",\"op\":\"not_in\",\"value\":{\"param\":\"none\"}}", P},
        {"{\"pointer\":\"/a/s\",\"op\":\"matches\",\"value\":\"^hello-[0-9]+$\"}", P},
        {"{\"pointer\":\"/a/s\",\"op\":\"matches\",\"value\":\"^[0-9]+$\"}", F},
        {"{\"pointer\":\"/a/n\",\"op\":\"matches\",\"value\":\"5\"}", F},
        {"{\"pointer\":\"/a/t\",\"op\":\"exists\"}", P},
        {"{\"pointer\":\"/a/nul\",\"op\":\"exists\"}", P},
        {"{\"pointer\":\"/a/missing\",\"op\":\"exists\"}", F},
        {"{\"pointer\":\"/a/u\",\"op\":\"exists\"}", U},
        {"{\"pointer\":\"/a/missing\",\"op\":\"eq\",\"value\":1}", U},
        {"{\"pointer\":\"/a/u\",\"op\":\"eq\",\"value\":1}", U},
        {"{\"pointer\":\"/a/u/deeper\",\"op\":\"eq\",\"value\":1}", U},
        {"{\"pointer\":\"/a/arr/1\",\"op\":\"eq\",\"value\":2}", P},
        {"{\"pointer\":\"/a/arr/01\",\"op\":\"exists\"}", F},
        {"{\"pointer\":\"/a/sl~0a~1sh\",\"op\":\"eq\",\"value\":7}", P},
        {"{\"pointer\":\"/a/arr\",\"op\":\"eq\",\"value\":[1,2,3]}", P},
        {"{\"pointer\":\"/a/empty\",\"op\":\"eq\",\"value\":[]}", P},
        {"{\"param\":\"yes\",\"op\":\"eq\",\"value\":true}", P},
        {"{\"param\":\"none\",\"op\":\"exists\"}", F},
        {"{\"param\":\"five\",\"op\":\"exists\"}", P},
        {"{\"pointer\":\"/a/n\",\"op\":\"le\",\"value\":{\"param\":\"five\"}}", P},
        /* combinators, three-valued */
        {"{\"all\":[{\"pointer\":\"/a/t\",\"op\":\"eq\",\"value\":true},"
         "{\"pointer\":\"/a/n\",\"op\":\"eq\",\"value\":5}]}",
         P},
        {"{\"all\":[{\"pointer\":\"/a/u\",\"op\":\"eq\",\"value\":1},"
         "{\"pointer\":\"/a/n\",\"op\":\"eq\",\"value\":4}]}",
         F},
        {"{\"all\":[{\"pointer\":\"/a/u\",\"op\":\"eq\",\"value\":1},"
         "{\"pointer\":\"/a/n\",\"op\":\"eq\",\"value\":5}]}",
         U},
        {"{\"any\":[{\"pointer\":\"/a/u\",\"op\":\"eq\",\"value\":1},"
         "{\"pointer\":\"/a/n\",\"op\":\"eq\",\"value\":5}]}",
         P},
        {"{\"any\":[{\"pointer\":\"/a/u\",\"op\":\"eq\",\"value\":1},"
         "{\"pointer\":\"/a/n\",\"op\":\"eq\",\"value\":4}]}",
         U},
        {"{\"any\":[{\"pointer\":\"/a/n\",\"op\":\"eq\",\"value\":3},"
         "{\"pointer\":\"/a/n\",\"op\":\"eq\",\"value\":4}]}",
         F},
        {"{\"none\":[{\"pointer\":\"/a/n\",\"op\":\"eq\",\"value\":3}]}", P},
        {"{\"none\":[{\"pointer\":\"/a/n\",\"op\":\"eq\",\"value\":5}]}", F},
        {"{\"none\":[{\"pointer\":\"/a/u\",\"op\":\"eq\",\"value\":5}]}", U},
        /* quantifiers: pointers inside are relative to the element */
        {"{\"every\":{\"pointer\":\"/a/objs\",\"expr\":{\"pointer\":\"/x\",\"op\":\"ge\","
         "\"value\":1}}}",
         P},
        {"{\"every\":{\"pointer\":\"/a/objs\",\"expr\":{\"pointer\":\"/x\",\"op\":\"eq\","
         "\"value\":1}}}",
         F},
        {"{\"some\":{\"pointer\":\"/a/objs\",\"expr\":{\"pointer\":\"/x\",\"op\":\"eq\","
         "\"value\":2}}}",
         P},
        {"{\"some\":{\"pointer\":\"/a/objs\",\"expr\":{\"pointer\":\"/x\",\"op\":\"eq\","
         "\"value\":3}}}",
         F},
        {"{\"every\":{\"pointer\":\"/a/empty\",\"expr\":{\"pointer\":\"\",\"op\":\"eq\","
         "\"value\":0}}}",
         P},
        {"{\"some\":{\"pointer\":\"/a/empty\",\"expr\":{\"pointer\":\"\",\"op\":\"eq\","
         "\"value\":0}}}",
         F},
        {"{\"every\":{\"pointer\":\"/a/arr\",\"expr\":{\"pointer\":\"\",\"op\":\"gt\","
         "\"value\":0}}}",
         P},
        {"{\"every\":{\"pointer\":\"/a/mixed\",\"expr\":{\"pointer\":\"/x\",\"op\":\"eq\","
         "\"value\":1}}}",
         U},
        {"{\"some\":{\"pointer\":\"/a/mixed\",\"expr\":{\"pointer\":\"/x\",\"op\":\"eq\","
         "\"value\":1}}}",
         P},
        {"{\"every\":{\"pointer\":\"/a/u\",\"expr\":{\"pointer\":\"/x\",\"op\":\"eq\","
         "\"value\":1}}}",
         U},
        {"{\"every\":{\"pointer\":\"/a/missing\",\"expr\":{\"pointer\":\"/x\",\"op\":\"eq\","
         "\"value\":1}}}",
         U},
        {"{\"every\":{\"pointer\":\"/a/n\",\"expr\":{\"pointer\":\"/x\",\"op\":\"eq\","
         "\"value\":1}}}",
         F},
        {"{\"every\":{\"pointer\":\"/a/objs\",\"expr\":{\"some\":{\"pointer\":\"/tags\","
         "\"expr\":{\"pointer\":\"\",\"op\":\"eq\",\"value\":\"p\"}}}}}",
         F},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum da_verdict got = verdict_of(cases[i].expr, NULL, NULL, 0);
        if (got != cases[i].want)
            fail_msg("case %zu %s: got %s, want %s", i, cases[i].expr, da_verdict_name(got),
                     da_verdict_name(cases[i].want));
    }
}

/* The verdict names the fact that decided it, with array indices. */
static void test_witness(void **state)
{
    char ptr[256];

    (void)state;
    assert_int_equal(verdict_of("{\"every\":{\"pointer\":\"/a/objs\",\"expr\":{\"pointer\":"
                                "\"/x\",\"op\":\"eq\",\"value\":1}}}",
                                NULL, ptr, sizeof(ptr)),
                     F);
    assert_string_equal(ptr, "/a/objs/1/x");
    assert_int_equal(verdict_of("{\"all\":[{\"pointer\":\"/a/t\",\"op\":\"eq\",\"value\":true},"
                                "{\"pointer\":\"/a/u\",\"op\":\"eq\",\"value\":1}]}",
                                NULL, ptr, sizeof(ptr)),
                     U);
    assert_string_equal(ptr, "/a/u");
    assert_int_equal(verdict_of("{\"every\":{\"pointer\":\"/a/objs\",\"expr\":{\"some\":{"
                                "\"pointer\":\"/tags\",\"expr\":{\"pointer\":\"\",\"op\":\"eq\","
                                "\"value\":\"p\"}}}}}",
                                NULL, ptr, sizeof(ptr)),
                     F);
    assert_string_equal(ptr, "/a/objs/1/tags");
}

static void test_on_unknown_and_applies_if(void **state)
{
    const char *unknown = "{\"pointer\":\"/a/u\",\"op\":\"eq\",\"value\":1}";

    (void)state;
    assert_int_equal(verdict_of(unknown, NULL, NULL, 0), U);
    assert_int_equal(verdict_of(unknown, "\"on_unknown\":\"fail\",", NULL, 0), U);
    assert_int_equal(verdict_of(unknown, "\"on_unknown\":\"pass\",", NULL, 0), P);
    /* on_unknown does not turn a failure into a pass */
    assert_int_equal(verdict_of("{\"pointer\":\"/a/n\",\"op\":\"eq\",\"value\":1}",
                                "\"on_unknown\":\"pass\",", NULL, 0),
                     F);
    assert_int_equal(verdict_of(unknown,
                                "\"applies_if\":{\"pointer\":\"/a/t\",\"op\":\"eq\","
                                "\"value\":false},",
                                NULL, 0),
                     DA_VERDICT_NOT_APPLICABLE);
    assert_int_equal(verdict_of(unknown,
                                "\"applies_if\":{\"pointer\":\"/a/t\",\"op\":\"eq\","
                                "\"value\":true},",
                                NULL, 0),
                     U);
    /* Not knowing whether a check applies does not exempt from it. */
    assert_int_equal(verdict_of(unknown,
                                "\"applies_if\":{\"pointer\":\"/a/u\",\"op\":\"eq\",\"value\":1},",
                                NULL, 0),
                     U);
}

struct bad_policy {
    const char *expr;
    const char *extra;
    int code;
    const char *pointer;
};

static void test_load_errors(void **state)
{
    static const struct bad_policy cases[] = {
        {"{\"pointer\":\"/a\",\"op\":\"like\",\"value\":1}", NULL, DA_ERR_POLICY_OPERATOR,
         "/checks/0/expr/op"},
        {"{\"xor\":[]}", NULL, DA_ERR_POLICY_OPERATOR, "/checks/0/expr"},
        {"{\"all\":[{\"pointer\":\"/a\",\"op\":\"eq\",\"value\":1},{\"pointer\":\"/a\","
         "\"op\":\"eq\"}]}",
         NULL, DA_ERR_POLICY_FIELD, "/checks/0/expr/all/1"},
        {"{\"pointer\":\"a\",\"op\":\"eq\",\"value\":1}", NULL, DA_ERR_POLICY_POINTER,
         "/checks/0/expr/pointer"},
        {"{\"pointer\":\"/a~2\",\"op\":\"eq\",\"value\":1}", NULL, DA_ERR_POLICY_POINTER,
         "/checks/0/expr/pointer"},
        {"{\"pointer\":\"/a\",\"op\":\"matches\",\"value\":\"(unclosed\"}", NULL,
         DA_ERR_POLICY_REGEX, "/checks/0/expr/value"},
        {"{\"pointer\":\"/a\",\"op\":\"lt\",\"value\":\"x\"}", NULL, DA_ERR_POLICY_FIELD,
         "/checks/0/expr/value"},
        {"{\"pointer\":\"/a\",\"op\":\"in\",\"value\":3}", NULL, DA_ERR_POLICY_FIELD,
         "/checks/0/expr/value"},
        {"{\"pointer\":\"/a\",\"op\":\"exists\",\"value\":3}", NULL, DA_ERR_POLICY_FIELD,
         "/checks/0/expr"},
        {"{\"pointer\":\"/a\",\"op\":\"eq\",\"value\":{\"param\":\"nope\"}}", NULL,
         DA_ERR_POLICY_FIELD, "/checks/0/expr/value"},
        {"{\"pointer\":\"/a\",\"param\":\"five\",\"op\":\"exists\"}", NULL, DA_ERR_POLICY_FIELD,
         "/checks/0/expr"},
        {"{\"pointer\":\"/a\",\"op\":\"eq\",\"value\":1,\"comment\":1}", NULL, DA_ERR_POLICY_FIELD,
         "/checks/0/expr/comment"},
        {"{\"every\":{\"pointer\":\"/a\"}}", NULL, DA_ERR_POLICY_FIELD, "/checks/0/expr/every"},
        {"{\"any\":[]}", NULL, DA_ERR_POLICY_FIELD, "/checks/0/expr/any"},
        {"{\"pointer\":\"/a\",\"op\":\"eq\",\"value\":1}", "\"on_unkown\":\"pass\",",
         DA_ERR_POLICY_FIELD, "/checks/0/on_unkown"},
        {"{\"pointer\":\"/a\",\"op\":\"eq\",\"value\":1}", "\"on_unknown\":\"maybe\",",
         DA_ERR_POLICY_FIELD, "/checks/0"},
        {"{\"pointer\":\"/a\",\"op\":\"eq\",\"value\":1}",
         "\"applies_if\":{\"pointer\":\"/a\",\"op\":\"is\",\"value\":1},", DA_ERR_POLICY_OPERATOR,
         "/checks/0/applies_if/op"},
    };
    struct da_policy *p = NULL;
    struct da_policy_error err;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = load_one(cases[i].expr, cases[i].extra, &p, &err);
        if (rc != cases[i].code || strcmp(err.pointer, cases[i].pointer) != 0)
            fail_msg("case %zu: got %d at \"%s\" (%s), want %d at \"%s\"", i, rc, err.pointer,
                     err.reason, cases[i].code, cases[i].pointer);
        assert_null(p);
        assert_string_equal(err.source, "test.json");
        assert_true(err.reason[0] != '\0');
    }
}

static void test_syntax_errors_have_line_and_column(void **state)
{
    static const char broken[] = "{\n  \"schema\": \"devattest.policy/v1\",\n  \"id\": tru\n}";
    static const char dup[] = "{\"schema\":\"devattest.policy/v1\",\"id\":\"a\",\"id\":\"b\"}";
    static const char trailing[] = "{\"schema\":\"devattest.policy/v1\"} x";
    struct da_policy *p = NULL;
    struct da_policy_error err;
    char deep[200];
    size_t i;

    (void)state;
    assert_int_equal(da_policy_load(broken, strlen(broken), "b.json", &p, &err),
                     DA_ERR_POLICY_PARSE);
    assert_null(p);
    assert_int_equal(err.line, 3);
    assert_true(err.column >= 9 && err.column <= 12);
    assert_int_equal(da_policy_load(dup, strlen(dup), "d.json", &p, &err), DA_ERR_POLICY_PARSE);
    assert_non_null(strstr(err.reason, "duplicate"));
    assert_int_equal(da_policy_load(trailing, strlen(trailing), "t.json", &p, &err),
                     DA_ERR_POLICY_PARSE);
    assert_int_equal(err.line, 1);
    assert_int_equal(err.column, 34);
    for (i = 0; i < 100; i++)
        deep[i] = '[';
    for (; i < 200; i++)
        deep[i] = ']';
    assert_int_equal(da_policy_load(deep, sizeof(deep), "deep.json", &p, &err),
                     DA_ERR_POLICY_PARSE);
    assert_non_null(strstr(err.reason, "deep"));
    assert_int_equal(da_policy_load("{\n\"id\": \"\xff\"}", 12, "u.json", &p, &err),
                     DA_ERR_POLICY_PARSE);
    assert_int_equal(err.line, 2);
    assert_non_null(strstr(err.reason, "UTF-8"));
    assert_int_equal(da_policy_load("{\"schema\":\"other/v2\"}", 21, "s.json", &p, &err),
                     DA_ERR_POLICY_PARSE);
    assert_string_equal(err.pointer, "/schema");
}

static void test_control_declarations(void **state)
{
    struct da_policy *p = NULL;
    struct da_policy_error err;
    const char *expr = "{\"pointer\":\"/a\",\"op\":\"exists\"}";
    char text[1024];
    int n;

    (void)state;
    /* A control that is not declared. */
    n = snprintf(text, sizeof(text),
                 "{\"schema\":\"devattest.policy/v1\",\"id\":\"t\",\"version\":\"1\",\"title\":"
                 "\"t\",\"controls\":{\"8.30\":{\"title\":\"O\"}},\"checks\":[{\"id\":\"c\","
                 "\"title\":\"c\",\"rationale\":\"r\",\"remediation\":\"m\",\"severity\":\"low\","
                 "\"controls\":[\"8.30\",\"5.1\"],\"expr\":%s}]}",
                 expr);
    assert_int_equal(da_policy_load(text, (size_t)n, "c.json", &p, &err), DA_ERR_POLICY_FIELD);
    assert_string_equal(err.pointer, "/checks/0/controls/1");
    /* Two checks with one id. */
    n = snprintf(text, sizeof(text),
                 "{\"schema\":\"devattest.policy/v1\",\"id\":\"t\",\"version\":\"1\",\"title\":"
                 "\"t\",\"controls\":{\"8.30\":{\"title\":\"O\"}},\"checks\":[{\"id\":\"c\","
                 "\"title\":\"c\",\"rationale\":\"r\",\"remediation\":\"m\",\"severity\":\"low\","
                 "\"controls\":[\"8.30\"],\"expr\":%s},{\"id\":\"c\",\"title\":\"c\","
                 "\"rationale\":\"r\",\"remediation\":\"m\",\"severity\":\"low\","
                 "\"controls\":[\"8.30\"],\"expr\":%s}]}",
                 expr, expr);
    assert_int_equal(da_policy_load(text, (size_t)n, "c.json", &p, &err), DA_ERR_POLICY_FIELD);
    assert_string_equal(err.pointer, "/checks/1");
    assert_null(p);
}

/* ---- the shipped policy ---- */

struct shipped {
    struct da_policy *policy;
    cJSON *evidence;
    cJSON *tpm;
};

static int shipped_setup(void **state)
{
    struct shipped *s = calloc(1, sizeof(*s));
    struct da_policy_error err;
    struct da_buf b;

    if (s == NULL || da_policy_load_file(SHIPPED, &s->policy, &err) != 0) {
        fprintf(stderr, "%s:%d:%d %s: %s\n", err.source, err.line, err.column, err.pointer,
                err.reason);
        return -1;
    }
    if (da_file_read(EVIDENCE, DA_MAX_EVIDENCE, &b) != 0)
        return -1;
    s->evidence = cJSON_Parse(da_buf_str(&b));
    da_buf_free(&b);
    s->tpm = cJSON_Parse("{\"trust\":\"tpm\",\"boot\":{\"log\":\"absent\"}}");
    *state = s;
    return s->evidence != NULL && s->tpm != NULL ? 0 : -1;
}

static int shipped_teardown(void **state)
{
    struct shipped *s = *state;

    da_policy_free(s->policy);
    cJSON_Delete(s->evidence);
    cJSON_Delete(s->tpm);
    free(s);
    return 0;
}

static const struct da_check_result *find_check(const struct da_policy_result *r, const char *id)
{
    size_t i;

    for (i = 0; i < r->n_checks; i++) {
        if (strcmp(r->checks[i].id, id) == 0)
            return &r->checks[i];
    }
    fail_msg("no check %s", id);
    return NULL;
}

static enum da_verdict control_verdict(const struct da_policy_result *r, const char *id)
{
    size_t i;

    for (i = 0; i < r->n_controls; i++) {
        if (strcmp(r->controls[i].id, id) == 0)
            return r->controls[i].verdict;
    }
    fail_msg("no control %s", id);
    return DA_VERDICT_FAIL;
}

/* Every check of the shipped policy serves 8.30 or 8.31 and says why and how. */
static void test_shipped_policy_shape(void **state)
{
    struct shipped *s = *state;
    struct da_buf b;
    cJSON *root, *check;
    int n = 0;

    assert_string_equal(da_policy_id(s->policy), "iso27001-2022-devenv");
    assert_int_equal(da_file_read(SHIPPED, DA_MAX_POLICY, &b), 0);
    root = cJSON_Parse(da_buf_str(&b));
    cJSON_ArrayForEach(check, cJSON_GetObjectItem(root, "checks"))
    {
        cJSON *controls = cJSON_GetObjectItem(check, "controls"), *c;
        int core = 0;

        cJSON_ArrayForEach(c, controls)
        {
            core |= strcmp(c->valuestring, "8.30") == 0 || strcmp(c->valuestring, "8.31") == 0;
        }
        if (!core)
            fail_msg("check %s is tied to neither 8.30 nor 8.31",
                     cJSON_GetObjectItem(check, "id")->valuestring);
        assert_true(strlen(cJSON_GetObjectItem(check, "rationale")->valuestring) > 40);
        assert_true(strlen(cJSON_GetObjectItem(check, "remediation")->valuestring) > 40);
        n++;
    }
    assert_int_equal((size_t)n, da_policy_check_count(s->policy));
    assert_true(n >= 15);
    cJSON_Delete(root);
    da_buf_free(&b);
}

/* The verifier's facts for doc: the TPM facts, and the pending upgrades
 * with the ages the document reports (as the agent's check takes them; the
 * server puts its own ages there). */
static cJSON *facts_for(const struct shipped *s, const cJSON *doc)
{
    cJSON *f = cJSON_Duplicate(s->tpm, 1);
    const cJSON *p = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "patches"), "pending");

    assert_non_null(f);
    if (p != NULL)
        assert_true(cJSON_AddItemToObject(f, "pending", cJSON_Duplicate(p, 1)));
    return f;
}

static void test_shipped_policy_typical_machine_passes(void **state)
{
    struct shipped *s = *state;
    struct da_policy_result *r = NULL;
    cJSON *facts = facts_for(s, s->evidence);
    size_t i;

    assert_int_equal(da_policy_eval(s->policy, s->evidence, facts, &r), 0);
    cJSON_Delete(facts);
    for (i = 0; i < r->n_checks; i++) {
        if (r->checks[i].verdict != DA_VERDICT_PASS &&
            r->checks[i].verdict != DA_VERDICT_NOT_APPLICABLE)
            fail_msg("%s: %s at %s = %s (%s)", r->checks[i].id,
                     da_verdict_name(r->checks[i].verdict), r->checks[i].pointer,
                     r->checks[i].observed, r->checks[i].reason);
    }
    assert_int_equal(r->verdict, DA_VERDICT_PASS);
    /* No allowlist configured: that check does not apply. */
    assert_int_equal(find_check(r, "toolchain.allowlist")->verdict, DA_VERDICT_NOT_APPLICABLE);
    for (i = 0; i < r->n_controls; i++)
        assert_int_equal(r->controls[i].verdict, DA_VERDICT_PASS);
    da_policy_result_free(r);
}

/* Change one fact, expect one check (and its controls) to turn. */
struct mutation {
    const char *path; /* object path in the evidence, "." separated, index as number */
    const char *json; /* new value */
    const char *check;
    enum da_verdict verdict;
    const char *pointer;
};

static cJSON *walk(cJSON *root, const char *path, char *last, size_t cap)
{
    char buf[256], *save = NULL, *tok, *next;
    cJSON *cur = root;

    snprintf(buf, sizeof(buf), "%s", path);
    tok = strtok_r(buf, ".", &save);
    while (tok != NULL) {
        next = strtok_r(NULL, ".", &save);
        if (next == NULL) {
            snprintf(last, cap, "%s", tok);
            return cur;
        }
        cur = cJSON_IsArray(cur) ? cJSON_GetArrayItem(cur, (int)strtol(tok, NULL, 10))
                                 : cJSON_GetObjectItem(cur, tok);
        assert_non_null(cur);
        tok = next;
    }
    return NULL;
}

static void apply(cJSON *doc, const char *path, const char *json)
{
    char last[64];
    cJSON *parent = walk(doc, path, last, sizeof(last));

    assert_non_null(parent);
    if (cJSON_IsArray(parent))
        assert_true(
            cJSON_ReplaceItemInArray(parent, (int)strtol(last, NULL, 10), cJSON_Parse(json)));
    else if (cJSON_GetObjectItem(parent, last) != NULL)
        assert_true(cJSON_ReplaceItemInObject(parent, last, cJSON_Parse(json)));
    else
        assert_true(cJSON_AddItemToObject(parent, last, cJSON_Parse(json)));
}

static void test_shipped_policy_each_check_bites(void **state)
{
    static const struct mutation cases[] = {
        {"disk.volumes.5.encrypted", "false", "disk.volumes-encrypted", F,
         "/disk/volumes/5/encrypted"},
        {"disk.volumes.0.encrypted", "{\"unknown\":\"unsupported\"}", "disk.volumes-encrypted", U,
         "/disk/volumes/0/encrypted"},
        {"disk.swap.0.persistent", "true", "disk.swap-encrypted", F, "/disk/swap/0/encrypted"},
        {"patches.pending.1.security", "true", "patches.security-updates", U,
         "/attestation/pending/1/age_s"},
        {"patches.pending.1",
         "{\"name\":\"tzdata\",\"arch\":\"all\",\"candidate\":\"2024b\","
         "\"security\":true,\"age_s\":9999999}",
         "patches.security-updates", F, "/attestation/pending/1/age_s"},
        {"patches.lists_age_s", "999999", "patches.lists-fresh", F, "/patches/lists_age_s"},
        {"patches.running_kernel_is_newest", "false", "patches.kernel-reboot", F,
         "/patches/running_kernel_is_newest"},
        /* SELinux is not present on that machine (unknown), AppArmor no longer
         * enforces: not shown to be enforcing, so unknown, which fails. */
        {"isolation.apparmor.profiles_enforce", "0", "isolation.mac-enforcing", U,
         "/isolation/selinux/mode"},
        {"isolation.selinux", "{\"enabled\":true,\"mode\":\"permissive\"}",
         "isolation.mac-enforcing", P, NULL},
        {"isolation.firewall.ipv6.inbound_default", "\"accept\"", "isolation.firewall", F,
         "/isolation/firewall/ipv6/inbound_default"},
        {"isolation.firewall.ipv4.inbound_default",
         "{\"unknown\":\"iptables_legacy\",\"detail\":\"/proc/net/ip_tables_names\"}",
         "isolation.firewall", U, "/isolation/firewall/ipv4/inbound_default"},
        {"isolation.firewall", "{\"active\":{\"unknown\":\"permission\"}}", "isolation.firewall", U,
         "/isolation/firewall/active"},
        {"isolation.secure_boot.enabled", "false", "isolation.secure-boot", F,
         "/isolation/secure_boot/enabled"},
        {"isolation.secure_boot", "{\"uefi\":false,\"enabled\":false}", "isolation.secure-boot",
         DA_VERDICT_NOT_APPLICABLE, "/isolation/secure_boot/uefi"},
        {"antimalware.clamav.present", "false", "antimalware.installed", F, NULL},
        {"antimalware.clamav.running", "false", "antimalware.running", F, NULL},
        {"antimalware.clamav.running", "{\"unknown\":\"not_present\"}", "antimalware.running", U,
         NULL},
        {"antimalware.clamav.signatures.age_s", "999999", "antimalware.signatures-current", F,
         "/antimalware/clamav/signatures/age_s"},
        {"antimalware.clamav.signatures", "{\"unknown\":\"parse_error\"}",
         "antimalware.signatures-current", U, "/antimalware/clamav/signatures/age_s"},
        /* an endpoint agent that runs covers for ClamAV's signatures */
        {"antimalware",
         "{\"clamav\":{\"present\":false,\"running\":false},\"agents\":["
         "{\"kind\":\"edr\",\"active\":true}]}",
         "antimalware.signatures-current", DA_VERDICT_NOT_APPLICABLE, NULL},
        {"toolchain.tools.3.package_verified", "false", "toolchain.package-verified", F,
         "/toolchain/tools/3/package_verified"},
        {"separation.findings.1.production", "true", "separation.no-production-credentials", F,
         "/separation/findings/1/production"},
        {"separation.environment_role", "\"production\"", "separation.role", F,
         "/separation/environment_role"},
        {"separation.networks.0.connections", "[{\"remote\":\"10.20.1.5:5432\"}]",
         "separation.production-network", F, "/separation/networks/0/connections"},
        {"time.synchronized", "false", "time.synchronized", F, "/time/synchronized"},
        {"agent.sandbox", "\"log\"", "attestation.agent-sandbox", F, "/agent/sandbox"},
        {"access.sshd.permit_root_login", "\"prohibit-password\"", "access.sshd", F,
         "/access/sshd/permit_root_login"},
        {"access.sshd", "{\"configured\":false}", "access.sshd", DA_VERDICT_NOT_APPLICABLE,
         "/access/sshd/configured"},
        {"runtime.outdated_processes.count", "2", "runtime.restarted", F,
         "/runtime/outdated_processes/count"},
        {"runtime.outdated_processes", "{\"unknown\":\"permission\"}", "runtime.restarted", U,
         "/runtime/outdated_processes/count"},
        {"runtime.reboot_required", "true", "runtime.reboot", F, "/runtime/reboot_required"},
        {"logging.auditd.running", "false", "logging.audit", F, "/logging/auditd/running"},
        {"logging.auditd.configured_rules", "0", "logging.audit", F,
         "/logging/auditd/configured_rules"},
        {"logging.journald.persistent", "false", "logging.journal-persistent", F,
         "/logging/journald/persistent"},
        {"logging.journald", "{\"present\":false}", "logging.journal-persistent",
         DA_VERDICT_NOT_APPLICABLE, "/logging/journald/present"},
        {"logging.forwarding.configured", "false", "logging.forwarding", F,
         "/logging/forwarding/configured"},
        {"hardening.sysctl",
         "{\"kernel.yama.ptrace_scope\":1,\"kernel.kptr_restrict\":0,\"kernel.dmesg_restrict\":1,"
         "\"kernel.unprivileged_bpf_disabled\":2,\"fs.protected_symlinks\":1,"
         "\"fs.protected_hardlinks\":1}",
         "hardening.kernel", F, "/hardening/sysctl/kernel.kptr_restrict"},
        {"hardening.sysctl",
         "{\"kernel.yama.ptrace_scope\":{\"unknown\":\"not_present\"},\"kernel.kptr_restrict\":1,"
         "\"kernel.dmesg_restrict\":1,\"kernel.unprivileged_bpf_disabled\":1,"
         "\"fs.protected_symlinks\":1,\"fs.protected_hardlinks\":1}",
         "hardening.kernel", U, "/hardening/sysctl/kernel.yama.ptrace_scope"},
        {"hardening.unprivileged_userns_allowed", "true", "hardening.user-namespaces", F,
         "/hardening/unprivileged_userns_allowed"},
        {"auth.pam.password_quality", "false", "auth.password-quality", F,
         "/auth/pam/password_quality"},
        {"auth.pam.lockout", "false", "auth.lockout", F, "/auth/pam/lockout"},
        {"auth.empty_password_count", "1", "auth.no-empty-passwords", F,
         "/auth/empty_password_count"},
        {"auth.root_locked", "false", "auth.root-locked", F, "/auth/root_locked"},
        {"auth.sudo.nopasswd", "[\"ci-runner\"]", "auth.sudo-nopasswd", F, "/auth/sudo/nopasswd/0"},
        {"media.usb_storage.loaded", "true", "media.usb-storage", F, "/media/usb_storage/loaded"},
        {"media.usb_storage",
         "{\"blacklisted\":false,\"install_disabled\":false,"
         "\"builtin\":false,\"loaded\":false,\"module_loading\":true}",
         "media.usb-storage", F, NULL},
        {"media.usbguard", "{\"installed\":true,\"running\":true,\"implicit_policy\":\"block\"}",
         "media.usb-storage", P, NULL},
        {"media.usb_storage",
         "{\"blacklisted\":false,\"install_disabled\":false,\"builtin\":{\"unknown\":"
         "\"not_present\"},\"loaded\":false,\"module_loading\":false}",
         "media.usb-storage", P, NULL},
    };
    struct shipped *s = *state;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *doc = cJSON_Duplicate(s->evidence, 1), *facts;
        struct da_policy_result *r = NULL;
        const struct da_check_result *c;
        size_t k;

        apply(doc, cases[i].path, cases[i].json);
        facts = facts_for(s, doc);
        assert_int_equal(da_policy_eval(s->policy, doc, facts, &r), 0);
        cJSON_Delete(facts);
        c = find_check(r, cases[i].check);
        if (c->verdict != cases[i].verdict ||
            (cases[i].pointer != NULL && strcmp(c->pointer, cases[i].pointer) != 0))
            fail_msg("case %zu (%s): %s at %s, want %s at %s", i, cases[i].path,
                     da_verdict_name(c->verdict), c->pointer, da_verdict_name(cases[i].verdict),
                     cases[i].pointer != NULL ? cases[i].pointer : "*");
        /* Only that check moved; its controls carry its verdict when worse. */
        for (k = 0; k < r->n_checks; k++) {
            if (&r->checks[k] != c)
                assert_true(r->checks[k].verdict == P ||
                            r->checks[k].verdict == DA_VERDICT_NOT_APPLICABLE);
        }
        for (k = 0; k < c->n_controls; k++)
            assert_int_equal(control_verdict(r, c->controls[k]), c->verdict > P ? c->verdict : P);
        assert_int_equal(r->verdict, c->verdict > P ? c->verdict : P);
        da_policy_result_free(r);
        cJSON_Delete(doc);
    }
}

static void test_shipped_policy_trust(void **state)
{
    struct shipped *s = *state;
    struct da_policy_result *r = NULL;
    cJSON *soft = parse("{\"trust\":\"software\"}"), *forged = cJSON_Duplicate(s->evidence, 1);

    assert_int_equal(da_policy_eval(s->policy, s->evidence, soft, &r), 0);
    assert_int_equal(find_check(r, "attestation.tpm")->verdict, F);
    assert_int_equal(control_verdict(r, "8.30"), F);
    assert_int_equal(control_verdict(r, "8.31"), P);
    da_policy_result_free(r);
    /* The evidence cannot speak for the verifier. */
    cJSON_AddItemToObject(forged, "attestation", parse("{\"trust\":\"tpm\"}"));
    assert_int_equal(da_policy_eval(s->policy, forged, NULL, &r), 0);
    assert_int_equal(find_check(r, "attestation.tpm")->verdict, U);
    da_policy_result_free(r);
    cJSON_Delete(soft);
    cJSON_Delete(forged);
}

static void test_renderings(void **state)
{
    struct shipped *s = *state;
    struct da_policy_result *r = NULL;
    cJSON *doc = cJSON_Duplicate(s->evidence, 1), *j = NULL, *checks, *c, *facts;
    struct da_buf text;
    int found = 0;

    apply(doc, "disk.volumes.5.encrypted", "false");
    facts = facts_for(s, doc);
    assert_int_equal(da_policy_eval(s->policy, doc, facts, &r), 0);
    cJSON_Delete(facts);
    da_buf_init(&text, 1u << 20);
    assert_int_equal(da_policy_result_render_text(r, &text), 0);
    assert_non_null(strstr(da_buf_str(&text), "policy iso27001-2022-devenv 1.0.0: FAIL"));
    assert_non_null(
        strstr(da_buf_str(&text), "[FAIL] disk.volumes-encrypted (high; 8.30, 8.24, 8.1)"));
    assert_non_null(strstr(da_buf_str(&text), "observed /disk/volumes/5/encrypted = false"));
    assert_non_null(strstr(da_buf_str(&text), "fix: Put the listed file systems on LUKS2"));
    assert_non_null(strstr(da_buf_str(&text), "[PASS] time.synchronized"));
    assert_int_equal(da_policy_result_to_json(r, &j), 0);
    assert_string_equal(cJSON_GetObjectItem(j, "verdict")->valuestring, "fail");
    checks = cJSON_GetObjectItem(j, "checks");
    cJSON_ArrayForEach(c, checks)
    {
        if (strcmp(cJSON_GetObjectItem(c, "id")->valuestring, "disk.volumes-encrypted") == 0) {
            assert_string_equal(cJSON_GetObjectItem(c, "verdict")->valuestring, "fail");
            assert_true(cJSON_IsFalse(cJSON_GetObjectItem(c, "observed")));
            found = 1;
        }
    }
    assert_true(found);
    da_buf_free(&text);
    cJSON_Delete(j);
    da_policy_result_free(r);
    cJSON_Delete(doc);
}

/* A reload that fails leaves the policy in force untouched. */
static void test_reload_is_all_or_nothing(void **state)
{
    struct da_policy *slot = NULL, *before;
    struct da_policy_error err;
    char path[] = "/tmp/da-policy-XXXXXX";
    int fd = mkstemp(path);
    FILE *f;

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(da_policy_reload_file(SHIPPED, &slot, &err), 0);
    before = slot;
    f = fopen(path, "w");
    fputs("{\"schema\":\"devattest.policy/v1\",\"id\":\"x\",\"version\":\"2\",\"title\":\"x\","
          "\"controls\":{\"8.30\":{\"title\":\"O\"}},\"checks\":[{\"id\":\"ok\",\"title\":\"t\","
          "\"rationale\":\"r\",\"remediation\":\"m\",\"severity\":\"low\",\"controls\":[\"8.30\"],"
          "\"expr\":{\"pointer\":\"/a\",\"op\":\"exists\"}},{\"id\":\"bad\",\"title\":\"t\","
          "\"rationale\":\"r\",\"remediation\":\"m\",\"severity\":\"low\",\"controls\":[\"8.30\"],"
          "\"expr\":{\"pointer\":\"/a\",\"op\":\"approx\",\"value\":1}}]}\n",
          f);
    fclose(f);
    assert_int_equal(da_policy_reload_file(path, &slot, &err), DA_ERR_POLICY_OPERATOR);
    assert_ptr_equal(slot, before);
    assert_string_equal(da_policy_version(slot), "1.0.0");
    assert_string_equal(err.source, path);
    assert_string_equal(err.pointer, "/checks/1/expr/op");
    assert_int_equal(da_policy_reload_file("/nonexistent/policy.json", &slot, &err),
                     DA_ERR_NOT_FOUND);
    assert_ptr_equal(slot, before);
    unlink(path);
    da_policy_free(slot);
}

/* "require": "measured": a reported value cannot satisfy the check. */
static void test_require_measured(void **state)
{
    struct da_policy *p = NULL;
    struct da_policy_error err;
    struct da_policy_result *r = NULL;
    cJSON *doc = parse("{\"sb\":true}");
    cJSON *att = parse("{\"boot\":{\"log\":\"replays\",\"measured\":{\"sb\":true}}}");

    (void)state;
    assert_int_equal(load_one("{\"pointer\":\"/sb\",\"op\":\"eq\",\"value\":true}",
                              "\"require\":\"measured\",", &p, &err),
                     0);
    assert_int_equal(da_policy_eval(p, doc, att, &r), 0);
    assert_int_equal(r->checks[0].verdict, DA_VERDICT_FAIL);
    assert_non_null(strstr(r->checks[0].reason, "only a reported value exists at /sb"));
    assert_string_equal(da_policy_provenance(r->checks[0].pointer), "reported");
    da_policy_result_free(r);
    da_policy_free(p);
    assert_int_equal(
        load_one("{\"pointer\":\"/attestation/boot/measured/sb\",\"op\":\"eq\",\"value\":true}",
                 "\"require\":\"measured\",", &p, &err),
        0);
    assert_int_equal(da_policy_eval(p, doc, att, &r), 0);
    assert_int_equal(r->checks[0].verdict, DA_VERDICT_PASS);
    assert_string_equal(da_policy_provenance(r->checks[0].pointer), "measured");
    da_policy_result_free(r);
    da_policy_free(p);
    assert_int_equal(
        load_one("{\"pointer\":\"/sb\",\"op\":\"exists\"}", "\"require\":\"signed\",", &p, &err),
        DA_ERR_POLICY_FIELD);
    cJSON_Delete(doc);
    cJSON_Delete(att);
}

/* The shipped policy with measured boot facts: the measured Secure Boot
 * state decides over the reported one, a log that does not replay and a
 * contradiction each fail their critical check. */
static void test_shipped_policy_measured_boot(void **state)
{
    static const struct {
        const char *boot;
        const char *reported_sb; /* isolation.secure_boot.enabled */
        const char *check;
        enum da_verdict verdict;
    } cases[] = {
        {"{\"log\":\"replays\",\"measured\":{\"secure_boot\":{\"SecureBoot\":true}},"
         "\"contradictions\":[]}",
         "false", "isolation.secure-boot", DA_VERDICT_PASS},
        {"{\"log\":\"replays\",\"measured\":{\"secure_boot\":{\"SecureBoot\":false}},"
         "\"contradictions\":[]}",
         "true", "isolation.secure-boot", DA_VERDICT_FAIL},
        {"{\"log\":\"does_not_replay\",\"detail\":\"sha256 PCR 4\"}", "true",
         "boot.log-matches-quote", DA_VERDICT_FAIL},
        {"{\"log\":\"malformed\"}", "true", "boot.log-matches-quote", DA_VERDICT_FAIL},
        {"{\"log\":\"withheld\",\"detail\":\"sha256 PCR 0\"}", "true", "boot.log-matches-quote",
         DA_VERDICT_FAIL},
        {"{\"log\":\"absent\"}", "true", "boot.log-matches-quote", DA_VERDICT_NOT_APPLICABLE},
        {"{\"log\":\"replays\",\"measured\":{\"secure_boot\":{\"SecureBoot\":true}},"
         "\"contradictions\":[{\"verdict\":\"claim_contradicts_measurement\"}]}",
         "true", "boot.claims-match-measurements", DA_VERDICT_FAIL},
        {"{\"log\":\"replays\",\"measured\":{\"secure_boot\":{\"SecureBoot\":true}},"
         "\"contradictions\":[]}",
         "true", "boot.log-matches-quote", DA_VERDICT_PASS},
        {"{\"log\":\"replays\",\"measured\":{\"secure_boot\":{\"SecureBoot\":true}},"
         "\"contradictions\":[],\"dbx\":{\"missing\":3,\"current\":false}}",
         "true", "boot.dbx-current", DA_VERDICT_FAIL},
        {"{\"log\":\"replays\",\"measured\":{\"secure_boot\":{\"SecureBoot\":true}},"
         "\"contradictions\":[],\"dbx\":{\"unknown\":\"not_present\"}}",
         "true", "boot.dbx-current", DA_VERDICT_UNKNOWN},
        {"{\"log\":\"replays\",\"measured\":{\"secure_boot\":{\"SecureBoot\":true}},"
         "\"contradictions\":[]}",
         "true", "boot.dbx-current", DA_VERDICT_NOT_APPLICABLE},
        {"{\"log\":\"replays\",\"measured\":{\"secure_boot\":{\"SecureBoot\":true}},"
         "\"contradictions\":[],\"pins\":{\"vendor_pins\":2,\"unpinned\":[{\"digest\":"
         "\"sha256:00\"}]}}",
         "true", "boot.components-pinned", DA_VERDICT_FAIL},
        {"{\"log\":\"replays\",\"measured\":{\"secure_boot\":{\"SecureBoot\":true}},"
         "\"contradictions\":[],\"pins\":{\"vendor_pins\":2,\"unpinned\":[]}}",
         "true", "boot.components-pinned", DA_VERDICT_PASS},
        {"{\"log\":\"replays\",\"measured\":{\"secure_boot\":{\"SecureBoot\":true}},"
         "\"contradictions\":[]}",
         "true", "boot.components-pinned", DA_VERDICT_NOT_APPLICABLE},
    };
    struct shipped *s = *state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *doc = cJSON_Duplicate(s->evidence, 1), *facts;
        struct da_policy_result *r = NULL;
        const struct da_check_result *c;

        apply(doc, "isolation.secure_boot.enabled", cases[i].reported_sb);
        facts = facts_for(s, doc);
        cJSON_DeleteItemFromObject(facts, "boot");
        assert_true(cJSON_AddItemToObject(facts, "boot", parse(cases[i].boot)));
        assert_int_equal(da_policy_eval(s->policy, doc, facts, &r), 0);
        c = find_check(r, cases[i].check);
        if (c->verdict != cases[i].verdict)
            fail_msg("case %zu: %s is %s at %s", i, cases[i].check, da_verdict_name(c->verdict),
                     c->pointer);
        if (strcmp(cases[i].check, "isolation.secure-boot") != 0 || c->verdict == DA_VERDICT_PASS)
            assert_string_equal(da_policy_provenance(c->pointer), "measured");
        cJSON_Delete(facts);
        cJSON_Delete(doc);
        da_policy_result_free(r);
    }
}

int main(void)
{
    const struct CMUnitTest engine[] = {
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_witness),
        cmocka_unit_test(test_on_unknown_and_applies_if),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_syntax_errors_have_line_and_column),
        cmocka_unit_test(test_control_declarations),
        cmocka_unit_test(test_reload_is_all_or_nothing),
        cmocka_unit_test(test_require_measured),
    };
    const struct CMUnitTest shipped[] = {
        cmocka_unit_test(test_shipped_policy_shape),
        cmocka_unit_test(test_shipped_policy_typical_machine_passes),
        cmocka_unit_test(test_shipped_policy_each_check_bites),
        cmocka_unit_test(test_shipped_policy_trust),
        cmocka_unit_test(test_shipped_policy_measured_boot),
        cmocka_unit_test(test_renderings),
    };
    int failed = cmocka_run_group_tests(engine, NULL, NULL);

    return failed + cmocka_run_group_tests(shipped, shipped_setup, shipped_teardown);
}

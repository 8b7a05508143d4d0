#include "da_test.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "json.h"
#include "caps.h"

/* Allocation double through cJSON's hooks: fail the allocation numbered
 * fail_at (0: none); count every one. */
static size_t alloc_count, fail_at;

static void *counting_malloc(size_t n)
{
    if (++alloc_count == fail_at)
        return NULL;
    return malloc(n);
}

static void counting_hooks(size_t fail)
{
    cJSON_Hooks h = {counting_malloc, free};

    alloc_count = 0;
    fail_at = fail;
    cJSON_InitHooks(&h);
}

/* Parses s from an exactly sized heap copy (no terminator to lean on). */
static int parse_n(const char *s, size_t n, cJSON **out, struct da_json_error *err)
{
    char *copy = malloc(n != 0 ? n : 1);
    int r;

    assert_non_null(copy);
    memcpy(copy, s, n);
    r = da_json_parse_ex(copy, n, 1 << 20, out, err);
    free(copy);
    return r;
}

static int parse_err(const char *s, struct da_json_error *err)
{
    cJSON *v = NULL;
    int r = parse_n(s, strlen(s), &v, err);

    if (r != 0)
        assert_null(v);
    cJSON_Delete(v);
    return r;
}

static int parse_rc(const char *s)
{
    struct da_json_error err;
    int r = parse_err(s, &err);

    if (r != 0)
        assert_non_null(err.reason);
    return r;
}

static void test_valid_documents(void **state)
{
    static const char *ok[] = {
        "{}",
        "[]",
        "0",
        "-0",
        "1.5e3",
        "-12.25E-2",
        "\"s\"",
        "true",
        "false",
        "null",
        " \t\r\n{ \"a\" : [ 1 , 2 , { \"b\" : null } ] } \n ",
        "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
        "\"\\u00e9\\u20AC\\ud83d\\ude00\"",
        "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
        "[[[[[]]]]]",
        "{\"a\":{\"a\":{\"a\":1}}}",
        "[{\"a\":1},{\"a\":1}]",
        "1e-999",
        "1.7976931348623157e308",
        "{\"\":1}",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (parse_rc(ok[i]) != 0)
            fail_msg("rejected valid JSON: %s", ok[i]);
    }
}

static void test_values_are_read(void **state)
{
    const char *s = "{\"name\":\"caf\\u00e9 \\ud83d\\ude00\",\"n\":-42,\"ok\":true,"
                    "\"list\":[1,2],\"obj\":{\"k\":\"v\"}}";
    const cJSON *arr = NULL, *obj = NULL;
    const char *name = NULL;
    cJSON *v = NULL;
    int64_t n = 0;
    bool b = false;

    (void)state;
    assert_int_equal(da_json_parse(s, strlen(s), 1024, &v), 0);
    assert_int_equal(da_json_get_string(v, "name", &name), 0);
    assert_string_equal(name, "caf\xc3\xa9 \xf0\x9f\x98\x80");
    assert_int_equal(da_json_get_int64(v, "n", &n), 0);
    assert_int_equal(n, -42);
    assert_int_equal(da_json_get_bool(v, "ok", &b), 0);
    assert_true(b);
    assert_int_equal(da_json_get_array(v, "list", &arr), 0);
    assert_int_equal(cJSON_GetArraySize(arr), 2);
    assert_int_equal(da_json_get_object(v, "obj", &obj), 0);
    assert_int_equal(da_json_get_string(obj, "k", &name), 0);
    assert_string_equal(name, "v");
    cJSON_Delete(v);
}

static void test_size_cap(void **state)
{
    struct da_json_error err;
    cJSON *v = (cJSON *)&v;

    (void)state;
    assert_int_equal(da_json_parse_ex("[1,2]", 5, 4, &v, &err), DA_ERR_TOO_LARGE);
    assert_null(v);
    assert_non_null(err.reason);
    assert_int_equal(da_json_parse("[1,2]", 5, 5, &v), 0);
    cJSON_Delete(v);
    assert_int_equal(da_json_parse("[]", 2, 5, NULL), DA_ERR_INVALID_ARG);
    assert_int_equal(da_json_parse(NULL, 2, 5, &v), DA_ERR_INVALID_ARG);
}

static char *nested(int depth, char open, char close, const char *inner)
{
    size_t n = strlen(inner);
    char *s = malloc(2 * (size_t)depth + n + 1);
    int i;

    assert_non_null(s);
    for (i = 0; i < depth; i++)
        s[i] = open;
    memcpy(s + depth, inner, n);
    for (i = 0; i < depth; i++)
        s[(size_t)depth + n + (size_t)i] = close;
    s[2 * (size_t)depth + n] = '\0';
    return s;
}

static void test_depth(void **state)
{
    struct da_json_error err;
    char *s;

    (void)state;
    s = nested(DA_MAX_JSON_DEPTH, '[', ']', "1");
    assert_int_equal(parse_rc(s), 0);
    free(s);
    s = nested(DA_MAX_JSON_DEPTH + 1, '[', ']', "1");
    assert_int_equal(parse_err(s, &err), DA_ERR_JSON_DEPTH);
    assert_int_equal(err.line, 1);
    assert_int_equal(err.col, DA_MAX_JSON_DEPTH + 1);
    free(s);
    /* far deeper than cJSON's own recursion limit: refused before cJSON */
    s = nested(100000, '[', ']', "");
    assert_int_equal(parse_rc(s), DA_ERR_JSON_DEPTH);
    free(s);
    s = malloc(5 * 40 + 3);
    assert_non_null(s);
    s[0] = '\0';
    for (int i = 0; i < 40; i++)
        memcpy(s + 5 * i, "{\"a\":", 6);
    assert_int_equal(parse_rc(s), DA_ERR_JSON_DEPTH);
    free(s);
    /* brackets inside strings do not nest */
    assert_int_equal(parse_rc("[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"]"), 0);
}

static void test_invalid_utf8(void **state)
{
    static const char *bad[] = {
        "\"\xc0\xaf\"",
        "\"\xe0\x80\xaf\"",
        "\"\xf0\x80\x80\xaf\"",
        "\"\xed\xa0\x80\"",
        "\"\xed\xbf\xbf\"",
        "\"\xf4\x90\x80\x80\"",
        "\"\xf8\x88\x80\x80\x80\"",
        "\"\x80\"",
        "\"\xc3\"",
        "{\"k\xff\":1}",
        "[1,\xc3]",
        "\xef\xbb\xbf{}\xc3",
    };
    struct da_json_error err;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse_rc(bad[i]) != DA_ERR_JSON_UTF8)
            fail_msg("case %zu not refused as invalid UTF-8", i);
    }
    /* well-formed UTF-8 outside a string is a syntax error instead */
    assert_int_equal(parse_rc("[1,\xc3\xa9]"), DA_ERR_JSON_PARSE);
    assert_int_equal(parse_rc("\xef\xbb\xbf{}"), DA_ERR_JSON_PARSE);
    assert_int_equal(parse_err("{\n  \"a\": \"ok\",\n  \"b\": \"x\xed\xa0\x80\"\n}", &err),
                     DA_ERR_JSON_UTF8);
    assert_int_equal(err.line, 3);
    assert_int_equal(err.col, 10);
}

static void test_surrogate_escapes(void **state)
{
    cJSON *v = NULL;

    (void)state;
    assert_int_equal(parse_rc("\"\\ud83d\\ude00\""), 0);
    assert_int_equal(parse_rc("\"\\ud83d\""), DA_ERR_JSON_UTF8);
    assert_int_equal(parse_rc("\"\\ude00\""), DA_ERR_JSON_UTF8);
    assert_int_equal(parse_rc("\"\\ude00\\ud83d\""), DA_ERR_JSON_UTF8);
    assert_int_equal(parse_rc("\"\\ud83d\\u0041\""), DA_ERR_JSON_UTF8);
    assert_int_equal(parse_rc("\"\\ud83dx\""), DA_ERR_JSON_UTF8);
    assert_int_equal(parse_rc("\"\\ud83d\\ud83d\""), DA_ERR_JSON_UTF8);
    assert_int_equal(parse_rc("{\"\\udfff\":1}"), DA_ERR_JSON_UTF8);
    assert_int_equal(parse_rc("\"\\u0000\""), DA_ERR_JSON_PARSE);
    assert_int_equal(parse_rc("\"\\u12\""), DA_ERR_JSON_PARSE);
    assert_int_equal(parse_rc("\"\\u12g4\""), DA_ERR_JSON_PARSE);
    assert_int_equal(da_json_parse("\"\\uD83D\\uDE00\"", 14, 64, &v), 0);
    assert_string_equal(v->valuestring, "\xf0\x9f\x98\x80");
    cJSON_Delete(v);
}

static void test_duplicate_keys(void **state)
{
    struct da_json_error err;

    (void)state;
    assert_int_equal(parse_rc("{\"a\":1,\"a\":2}"), DA_ERR_JSON_DUP_KEY);
    assert_int_equal(parse_rc("{\"a\":1,\"\\u0061\":2}"), DA_ERR_JSON_DUP_KEY);
    assert_int_equal(parse_rc("{\"a/b\":1,\"a\\/b\":2}"), DA_ERR_JSON_DUP_KEY);
    assert_int_equal(parse_rc("{\"\xc3\xa9\":1,\"\\u00e9\":2}"), DA_ERR_JSON_DUP_KEY);
    assert_int_equal(parse_rc("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}"),
                     DA_ERR_JSON_DUP_KEY);
    assert_int_equal(parse_rc("{\"x\":{\"c\":1,\"c\":[]}}"), DA_ERR_JSON_DUP_KEY);
    assert_int_equal(parse_rc("{\"b\":1,\"a\":2,\"c\":3,\"d\":4,\"a\":5}"), DA_ERR_JSON_DUP_KEY);
    /* the same key in different objects, or keys that only look alike */
    assert_int_equal(parse_rc("{\"a\":{\"a\":1},\"b\":{\"a\":1}}"), 0);
    assert_int_equal(parse_rc("[{\"a\":1},{\"a\":1}]"), 0);
    assert_int_equal(parse_rc("{\"a\":1,\"A\":2,\"a \":3,\"\":4}"), 0);
    assert_int_equal(parse_rc("{\"ab\":1,\"a\":2,\"abc\":3}"), 0);
    assert_int_equal(parse_err("{\n\"k\": 1,\n\"z\": {\"q\": 2},\n  \"k\": 3}", &err),
                     DA_ERR_JSON_DUP_KEY);
    assert_int_equal(err.line, 4);
    assert_int_equal(err.col, 3);
}

static void test_many_keys(void **state)
{
    char *s = malloc(20 * 5000 + 16);
    size_t o = 0;
    int i;

    (void)state;
    assert_non_null(s);
    s[o++] = '{';
    for (i = 0; i < 5000; i++)
        o += (size_t)snprintf(s + o, 20, "%s\"k%d\":%d", i ? "," : "", (i * 7919) % 5000, i);
    s[o++] = '}';
    s[o] = '\0';
    assert_int_equal(parse_rc(s), 0);
    memcpy(s + 1, "\"k1\"", 4); /* first key "k0" becomes a second "k1" */
    assert_int_equal(parse_rc(s), DA_ERR_JSON_DUP_KEY);
    free(s);
}

static void test_numbers(void **state)
{
    char longnum[80];

    (void)state;
    assert_int_equal(parse_rc("1e999"), DA_ERR_JSON_NUMBER);
    assert_int_equal(parse_rc("[-1e999]"), DA_ERR_JSON_NUMBER);
    assert_int_equal(parse_rc("{\"a\":1.7976931348623159e308}"), DA_ERR_JSON_NUMBER);
    assert_int_equal(parse_rc("1e-999"), 0);
    memset(longnum, '1', 64);
    longnum[64] = '\0';
    assert_int_equal(parse_rc(longnum), DA_ERR_JSON_NUMBER);
    longnum[63] = '\0';
    assert_int_equal(parse_rc(longnum), 0);
    static const char *bad[] = {"01",       "1.",        ".5",    "+1",   "-",
                                "1e",       "1e+",       "-01",   "0x10", "NaN",
                                "Infinity", "-Infinity", "1.5.2", "--1",  "1E+-2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = parse_rc(bad[i]);
        if (r != DA_ERR_JSON_PARSE && r != DA_ERR_TRAILING_DATA)
            fail_msg("number %s gave %d", bad[i], r);
    }
}

static void test_trailing_data(void **state)
{
    struct da_json_error err;

    (void)state;
    assert_int_equal(parse_rc("{} x"), DA_ERR_TRAILING_DATA);
    assert_int_equal(parse_rc("{}}"), DA_ERR_TRAILING_DATA);
    assert_int_equal(parse_rc("1 2"), DA_ERR_TRAILING_DATA);
    assert_int_equal(parse_rc("[] []"), DA_ERR_TRAILING_DATA);
    assert_int_equal(parse_err("{}\n\n  ,", &err), DA_ERR_TRAILING_DATA);
    assert_int_equal(err.line, 3);
    assert_int_equal(err.col, 3);
    assert_int_equal(parse_rc("{}  \r\n\t"), 0);
}

static void test_embedded_nul(void **state)
{
    static const char in_string[] = "{\"a\":\"b\0c\"}";
    static const char after[] = "{\"a\":1}\0";
    static const char in_key[] = "{\"a\0\":1}";
    static const char between[] = "[1,\0 2]";
    cJSON *v = NULL;

    (void)state;
    assert_int_equal(parse_n(in_string, sizeof(in_string) - 1, &v, NULL), DA_ERR_JSON_PARSE);
    assert_int_equal(parse_n(after, sizeof(after) - 1, &v, NULL), DA_ERR_TRAILING_DATA);
    assert_int_equal(parse_n(in_key, sizeof(in_key) - 1, &v, NULL), DA_ERR_JSON_PARSE);
    assert_int_equal(parse_n(between, sizeof(between) - 1, &v, NULL), DA_ERR_JSON_PARSE);
    assert_null(v);
}

static void test_grammar_errors(void **state)
{
    static const char *bad[] = {
        "",          "   ",       "{",         "[",           "[1,]",     "{\"a\":1,}",
        "{\"a\" 1}", "{a:1}",     "{'a':1}",   "['a']",       "[1 2]",    "{\"a\":1 \"b\":2}",
        "[1,,2]",    "{,}",       "tru",       "nul",         "True",     "\"abc",
        "\"a\nb\"",  "\"a\tb\"",  "\"\\x\"",   "\"\\",        "[1]]",     "{\"a\":1]",
        "[1}",       "// c\n1",   "/*c*/1",    "{\"a\":}",    "{\"a\"}",  "{1:2}",
        "[\"a\",]",  "\"\\u00\"", "{\"a\":1,", "{\"a\":1 , ", "\"\x01\"", "\"\x1f\"",
    };
    size_t i;
    int r;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = parse_rc(bad[i]);
        if (r != DA_ERR_JSON_PARSE && r != DA_ERR_TRAILING_DATA)
            fail_msg("case %zu (%s) gave %d", i, bad[i], r);
    }
    assert_int_equal(parse_rc("\"\x7f\""), 0);
}

static void test_error_position(void **state)
{
    struct da_json_error err;

    (void)state;
    assert_int_equal(parse_err("{\n  \"a\": 1,\n  \"b\": tru\n}", &err), DA_ERR_JSON_PARSE);
    assert_int_equal(err.line, 3);
    assert_int_equal(err.col, 8);
    assert_string_equal(err.reason, "unexpected character");
    assert_int_equal(parse_err("[1,\n2,\n3,\n", &err), DA_ERR_JSON_PARSE);
    assert_int_equal(err.line, 4);
    assert_int_equal(err.col, 1);
    assert_int_equal(parse_err("[1e999]", &err), DA_ERR_JSON_NUMBER);
    assert_int_equal(err.line, 1);
    assert_int_equal(err.col, 2);
    assert_int_equal(parse_err("{\"a\":\"unterminated}", &err), DA_ERR_JSON_PARSE);
    assert_int_equal(err.col, 6);
    assert_int_equal(parse_err("[]", &err), 0);
    assert_int_equal(err.line, 0);
    assert_null(err.reason);
}

static bool same_text(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* a and b, with their following siblings, are the same nodes, down to the
 * bits of each number and cJSON's prev link of each first member. */
static bool same_tree(const cJSON *a, const cJSON *b)
{
    for (; a != NULL && b != NULL; a = a->next, b = b->next) {
        if ((a->type & 0xff) != (b->type & 0xff) || !same_text(a->string, b->string) ||
            !same_text(a->valuestring, b->valuestring) || a->valueint != b->valueint ||
            memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) != 0 ||
            (a->child == NULL) != (b->child == NULL))
            return false;
        if (a->child != NULL && (a->child->prev == NULL || a->child->prev->next != NULL ||
                                 b->child->prev == NULL || b->child->prev->next != NULL))
            return false;
        if (a->next != NULL && a->next->prev != a)
            return false;
        if (!same_tree(a->child, b->child))
            return false;
    }
    return a == NULL && b == NULL;
}

static const char *const tree_docs[] = {
    "{}",
    "[]",
    "0",
    "-0",
    "1.5e3",
    "-12.25E-2",
    "3000000000",
    "-3000000000",
    "2147483647",
    "-2147483648",
    "[0.5,-0.5,1e-999,1.7976931348623157e308,123456789012345678901234567890]",
    "\"\"",
    "{\"\":\"\"}",
    "[true,false,null,{\"t\":true,\"f\":false,\"n\":null}]",
    "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
    "\"\\u00e9\\u20AC\\ud83d\\ude00\\u0001\\u007f\\u0080\\u07ff\\u0800\\uffff\"",
    "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
    "{\"k\\u00e9y\":1,\"k\\ty\":[\"a\\nb\",\"\"],\"\\ud83d\\ude00\":{}}",
    " \t\r\n{ \"a\" : [ 1 , 2 , { \"b\" : null } ] } \n ",
    "[[[[[]]]]]",
    "[[1,[2,[3]]],{\"a\":{\"b\":{\"c\":[4,5,6]}}},\"tail\"]",
    "{\"b\":1,\"a\":2,\"c\":{\"z\":[],\"y\":{}}}",
};

/* The tree the scan builds, plain and compact, is the one cJSON's own
 * parser makes of the same text. */
static void test_tree_matches_cjson(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(tree_docs) / sizeof(tree_docs[0]); i++) {
        const char *d = tree_docs[i], *end = NULL;
        cJSON *plain = NULL, *compact = NULL;
        cJSON *ref = cJSON_ParseWithLengthOpts(d, strlen(d), &end, 0);

        assert_non_null(ref);
        assert_int_equal(da_json_parse_ex(d, strlen(d), 1 << 20, &plain, NULL), 0);
        assert_int_equal(da_json_parse_opts(d, strlen(d), 1 << 20, DA_JSON_COMPACT, &compact, NULL),
                         0);
        if (!same_tree(plain, ref) || !same_tree(compact, ref))
            fail_msg("tree differs from cJSON's for %s", d);
        cJSON_Delete(ref);
        cJSON_Delete(plain);
        cJSON_Delete(compact);
    }
}

/* Compact or not, a refused text gets the same code, place and reason. */
static void test_compact_refusals(void **state)
{
    static const char *const bad[] = {
        "",          "{",     "[1,]",         "{\"a\":1,\"a\":2}",         "\"\\ud800\"",
        "1e999",     "[1] x", "\"\xc0\xaf\"", "{\"a\":[1,2,{\"b\":tru}]}", "[\"a\",\"\\u0000\"]",
        "{\"a\" 1}", "01",
    };
    struct da_json_error e1, e2;
    cJSON *unknown_flag = NULL;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *v1 = NULL, *v2 = NULL;
        int r1 = da_json_parse_ex(bad[i], strlen(bad[i]), 1 << 20, &v1, &e1);
        int r2 = da_json_parse_opts(bad[i], strlen(bad[i]), 1 << 20, DA_JSON_COMPACT, &v2, &e2);

        assert_int_not_equal(r1, 0);
        assert_int_equal(r1, r2);
        assert_null(v1);
        assert_null(v2);
        assert_int_equal(e1.line, e2.line);
        assert_int_equal(e1.col, e2.col);
        assert_string_equal(e1.reason, e2.reason);
    }
    assert_int_equal(da_json_parse_opts("[]", 2, 16, 2, &unknown_flag, NULL), DA_ERR_INVALID_ARG);
    assert_null(unknown_flag);
}

/* The trees' memory goes through cJSON's hooks: compact, one block and two
 * work buffers (the nodes being built, their texts); plain, a node, key
 * and string each (as cJSON's parser allocates).
 * Any failed allocation gives DA_ERR_NOMEM and no tree (ASan: nothing
 * leaks), and leaves a refusal of the text its own code. */
static void test_allocations(void **state)
{
    const char *d = "{\"a\":\"x\",\"b\":[1,\"y\",{\"c\":null}]}"; /* 7 values, 3 keys, 2 strings */
    const char *bad = "{\"a\":\"x\",\"b\":[1,\"y\",{\"c\":nul}]}";
    unsigned flags[] = {0, DA_JSON_COMPACT};
    size_t want[] = {7 + 3 + 2, 3}, i, k;
    cJSON *v = NULL;

    (void)state;
    for (k = 0; k < 2; k++) {
        counting_hooks(0);
        assert_int_equal(da_json_parse_opts(d, strlen(d), 1024, flags[k], &v, NULL), 0);
        assert_int_equal(alloc_count, want[k]);
        cJSON_Delete(v);
        for (i = 1; i <= want[k]; i++) {
            counting_hooks(i);
            v = NULL;
            assert_int_equal(da_json_parse_opts(d, strlen(d), 1024, flags[k], &v, NULL),
                             DA_ERR_NOMEM);
            assert_null(v);
            counting_hooks(i);
            assert_int_equal(da_json_parse_opts(bad, strlen(bad), 1024, flags[k], &v, NULL),
                             DA_ERR_JSON_PARSE);
            assert_null(v);
        }
    }
    cJSON_InitHooks(NULL);
}

static void test_getters(void **state)
{
    const char *s = "{\"s\":\"x\",\"i\":9007199254740991,\"neg\":-9007199254740991,"
                    "\"big\":9007199254740992,\"frac\":1.5,\"exp\":1e3,\"t\":false,"
                    "\"nul\":null,\"a\":[],\"o\":{},\"str_num\":\"1\",\"huge\":1e300}";
    const cJSON *c = NULL;
    const char *str = NULL;
    cJSON *v = NULL;
    int64_t n = 0;
    bool b = true;

    (void)state;
    assert_int_equal(da_json_parse(s, strlen(s), 4096, &v), 0);
    assert_int_equal(da_json_get_int64(v, "i", &n), 0);
    assert_int_equal(n, 9007199254740991LL);
    assert_int_equal(da_json_get_int64(v, "neg", &n), 0);
    assert_int_equal(n, -9007199254740991LL);
    assert_int_equal(da_json_get_int64(v, "exp", &n), 0);
    assert_int_equal(n, 1000);
    n = 7;
    assert_int_equal(da_json_get_int64(v, "big", &n), DA_ERR_JSON_TYPE);
    assert_int_equal(da_json_get_int64(v, "frac", &n), DA_ERR_JSON_TYPE);
    assert_int_equal(da_json_get_int64(v, "huge", &n), DA_ERR_JSON_TYPE);
    assert_int_equal(da_json_get_int64(v, "str_num", &n), DA_ERR_JSON_TYPE);
    assert_int_equal(da_json_get_int64(v, "missing", &n), DA_ERR_JSON_MISSING);
    assert_int_equal(n, 7);
    assert_int_equal(da_json_get_bool(v, "t", &b), 0);
    assert_false(b);
    assert_int_equal(da_json_get_bool(v, "nul", &b), DA_ERR_JSON_TYPE);
    assert_int_equal(da_json_get_string(v, "nul", &str), DA_ERR_JSON_TYPE);
    assert_int_equal(da_json_get_string(v, "S", &str), DA_ERR_JSON_MISSING);
    str = "stale";
    assert_int_equal(da_json_get_string(v, "i", &str), DA_ERR_JSON_TYPE);
    assert_null(str);
    c = v;
    assert_int_equal(da_json_get_array(v, "o", &c), DA_ERR_JSON_TYPE);
    assert_null(c);
    assert_int_equal(da_json_get_object(v, "a", &c), DA_ERR_JSON_TYPE);
    assert_int_equal(da_json_get_object(v, "nul", &c), DA_ERR_JSON_TYPE);
    assert_int_equal(da_json_get_array(v, "a", &c), 0);
    assert_int_equal(da_json_get_object(v, "o", &c), 0);
    assert_int_equal(da_json_get_object(c, "x", &c), DA_ERR_JSON_MISSING);
    assert_int_equal(da_json_get_string(cJSON_GetObjectItem(v, "a"), "x", &str), DA_ERR_JSON_TYPE);
    assert_int_equal(da_json_get_string(NULL, "x", &str), DA_ERR_JSON_TYPE);
    cJSON_Delete(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_documents),  cmocka_unit_test(test_values_are_read),
        cmocka_unit_test(test_size_cap),         cmocka_unit_test(test_depth),
        cmocka_unit_test(test_invalid_utf8),     cmocka_unit_test(test_surrogate_escapes),
        cmocka_unit_test(test_duplicate_keys),   cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_numbers),          cmocka_unit_test(test_trailing_data),
        cmocka_unit_test(test_embedded_nul),     cmocka_unit_test(test_grammar_errors),
        cmocka_unit_test(test_error_position),   cmocka_unit_test(test_tree_matches_cjson),
        cmocka_unit_test(test_compact_refusals), cmocka_unit_test(test_allocations),
        cmocka_unit_test(test_getters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

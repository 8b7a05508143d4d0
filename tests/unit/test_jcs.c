#include "da_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "err.h"
#include "jcs.h"
#include "json.h"
#include "caps.h"
#include "picky.h"

static char *canon_text(const char *json)
{
    struct da_buf b;
    cJSON *v = NULL;
    char *s;

    assert_int_equal(da_json_parse(json, strlen(json), 1 << 20, &v), 0);
    da_buf_init(&b, 1 << 20);
    assert_int_equal(da_jcs_serialize(v, &b), 0);
    s = (char *)da_buf_take(&b, NULL);
    da_buf_free(&b);
    cJSON_Delete(v);
    return s;
}

/* The one-pass check agrees with the writer: it takes the writer's output,
 * and takes an input text only when the writer gives exactly that text. */
static void check_one_pass(const char *json, const char *want)
{
    if (!da_jcs_is_canonical(want, strlen(want)))
        fail_msg("writer output not taken as canonical: %s", want);
    assert_int_equal(da_jcs_is_canonical(json, strlen(json)), strcmp(json, want) == 0);
}

static void check_canon(const char *json, const char *want)
{
    char *got = canon_text(json);

    assert_string_equal(got, want);
    check_one_pass(json, want);
    free(got);
}

static int canon_tree_rc(const cJSON *v)
{
    struct da_buf b;
    int r;

    da_buf_init(&b, 1 << 20);
    r = da_jcs_serialize(v, &b);
    if (r != 0)
        assert_int_equal(da_buf_len(&b), 0);
    da_buf_free(&b);
    return r;
}

/* RFC 8785 §3.2.2: numbers, literals and string escapes together. */
static void test_rfc8785_structure_example(void **state)
{
    (void)state;
    check_canon("{\n  \"numbers\": [333333333.33333329, 1E30, 4.50,\n"
                "              2e-3, 0.000000000000000000000000001],\n"
                "  \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\",\n"
                "  \"literals\": [null, true, false]\n}",
                "{\"literals\":[null,true,false],"
                "\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
                "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

/* RFC 8785 §3.2.3: members sorted by UTF-16 code units of the key. */
static void test_rfc8785_sorting_example(void **state)
{
    (void)state;
    check_canon("{\"\\u20ac\": \"euro\", \"\\r\": \"cr\", \"\\ufb33\": \"dalet\", \"1\": \"one\","
                " \"\\ud83d\\ude00\": \"grin\", \"\\u0080\": \"ctl\", \"\\u00f6\": \"o\"}",
                "{\"\\r\":\"cr\",\"1\":\"one\",\"\xc2\x80\":\"ctl\",\"\xc3\xb6\":\"o\","
                "\"\xe2\x82\xac\":\"euro\",\"\xf0\x9f\x98\x80\":\"grin\","
                "\"\xef\xac\xb3\":\"dalet\"}");
}

/* U+10000 is D800 DC00 in UTF-16 and sorts before U+E000, although its
 * UTF-8 bytes (F0 ..) sort after EE 80 80. */
static void test_sort_is_utf16_not_utf8(void **state)
{
    (void)state;
    check_canon("{\"\\ue000\":1,\"\\ud800\\udc00\":2,\"\\uffff\":3,\"\\udbff\\udfff\":4}",
                "{\"\xf0\x90\x80\x80\":2,\"\xf4\x8f\xbf\xbf\":4,\"\xee\x80\x80\":1,"
                "\"\xef\xbf\xbf\":3}");
    check_canon("{\"b\":1,\"a\":2,\"ab\":3,\"\":4,\"B\":5,\"aa\":6}",
                "{\"\":4,\"B\":5,\"a\":2,\"aa\":6,\"ab\":3,\"b\":1}");
    check_canon("{\"z\":{\"y\":[{\"b\":1,\"a\":2}],\"x\":null}}",
                "{\"z\":{\"x\":null,\"y\":[{\"a\":2,\"b\":1}]}}");
}

struct num_vector {
    unsigned long long bits;
    const char *want;
};

/* IEEE 754 bit patterns and their ECMAScript Number::toString forms:
 * zero signs, subnormals, the largest double, 2^53, binade starts, and
 * neighbours of powers of ten where the shortest digits change. */
static const struct num_vector bit_vectors[] = {
    {0x0000000000000000ULL, "0"},
    {0x8000000000000000ULL, "0"},
    {0x0000000000000001ULL, "5e-324"},
    {0x8000000000000001ULL, "-5e-324"},
    {0x7fefffffffffffffULL, "1.7976931348623157e+308"},
    {0xffefffffffffffffULL, "-1.7976931348623157e+308"},
    {0x4340000000000000ULL, "9007199254740992"},
    {0x4430000000000000ULL, "295147905179352830000"},
    {0x44b52d02c7e14af5ULL, "9.999999999999997e+22"},
    {0x44b52d02c7e14af6ULL, "1e+23"},
    {0x44b52d02c7e14af7ULL, "1.0000000000000001e+23"},
    {0x444b1ae4d6e2ef4eULL, "999999999999999700000"},
    {0x444b1ae4d6e2ef4fULL, "999999999999999900000"},
    {0x444b1ae4d6e2ef50ULL, "1e+21"},
    {0x3eb0c6f7a0b5ed8cULL, "9.999999999999997e-7"},
    {0x3eb0c6f7a0b5ed8dULL, "0.000001"},
    {0x41b3de4355555553ULL, "333333333.3333332"},
    {0x41b3de4355555554ULL, "333333333.33333325"},
    {0x41b3de4355555555ULL, "333333333.3333333"},
    {0x41b3de4355555556ULL, "333333333.3333334"},
    {0x43143ff3c1cb0959ULL, "1424953923781206.2"},
    {0x3ff0000000000001ULL, "1.0000000000000002"},
    {0x0010000000000000ULL, "2.2250738585072014e-308"},
    {0x000fffffffffffffULL, "2.225073858507201e-308"},
    {0x7fe0000000000000ULL, "8.98846567431158e+307"},
    {0xc350000000000000ULL, "-18014398509481984"},
    {0x3fb999999999999aULL, "0.1"},
    {0x3fd5555555555555ULL, "0.3333333333333333"},
    {0x4197d78400000000ULL, "100000000"},
    {0xbfefffffffffffffULL, "-0.9999999999999999"},
    /* powers of two where the correctly rounded 16 digits do not read back
     * but their neighbour above (inside the wider upper half-gap) does */
    {0x0060000000000000ULL, "7.120236347223045e-307"},
    {0x0100000000000000ULL, "7.291122019556398e-304"},
    {0x0e80000000000000ULL, "7.678447687145631e-239"},
};

struct text_vector {
    double d;
    const char *want;
};

/* Layout rules of Number::toString: integers up to 21 digits, fixed
 * notation down to 1e-6, exponent notation outside. */
static const struct text_vector text_vectors[] = {
    {1e21, "1e+21"},
    {1e20, "100000000000000000000"},
    {123456789012345678901.0, "123456789012345680000"},
    {1e-7, "1e-7"},
    {-1e-7, "-1e-7"},
    {1e-6, "0.000001"},
    {0.000001234, "0.000001234"},
    {1.5e-7, "1.5e-7"},
    {123e-20, "1.23e-18"},
    {0.1, "0.1"},
    {-0.0, "0"},
    {4.5, "4.5"},
    {2e-3, "0.002"},
    {1e30, "1e+30"},
    {1e-27, "1e-27"},
    {100, "100"},
    {1e22, "1e+22"},
    {12345.678, "12345.678"},
    {-1.25, "-1.25"},
    {0.5, "0.5"},
    {9007199254740993.0, "9007199254740992"},
    {5e-324, "5e-324"},
    {1.7976931348623157e308, "1.7976931348623157e+308"},
};

static double from_bits(unsigned long long bits)
{
    double d;

    memcpy(&d, &bits, sizeof(d));
    return d;
}

static void test_number_vectors(void **state)
{
    char out[DA_JCS_NUMBER_SIZE];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bit_vectors) / sizeof(bit_vectors[0]); i++) {
        assert_int_equal(da_jcs_format_number(from_bits(bit_vectors[i].bits), out, sizeof(out)), 0);
        if (strcmp(out, bit_vectors[i].want) != 0)
            fail_msg("%016llx: got %s want %s", bit_vectors[i].bits, out, bit_vectors[i].want);
    }
    for (i = 0; i < sizeof(text_vectors) / sizeof(text_vectors[0]); i++) {
        assert_int_equal(da_jcs_format_number(text_vectors[i].d, out, sizeof(out)), 0);
        if (strcmp(out, text_vectors[i].want) != 0)
            fail_msg("%.17g: got %s want %s", text_vectors[i].d, out, text_vectors[i].want);
    }
}

/* Significant digits of an ECMAScript number text and its decimal exponent
 * n (value = 0.digits * 10^n). */
static int text_digits(const char *t, char *digits, int *n)
{
    const char *p = t[0] == '-' ? t + 1 : t, *e = strchr(p, 'e');
    size_t mlen = e != NULL ? (size_t)(e - p) : strlen(p), i;
    char raw[40];
    int k = 0, point = (int)mlen, z = 0;

    for (i = 0; i < mlen; i++) {
        if (p[i] == '.')
            point = (int)i;
        else
            raw[k++] = p[i];
    }
    while (z < k - 1 && raw[z] == '0')
        z++;
    k -= z;
    memcpy(digits, raw + z, (size_t)k);
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = '\0';
    *n = point - z + (e != NULL ? (int)strtol(e + 1, NULL, 10) : 0);
    return k;
}

static bool reads_back(const char *digits, int n, double d)
{
    char txt[48];

    snprintf(txt, sizeof(txt), "0.%se%d", digits, n);
    return da_double_exact(strtod(txt, NULL), d);
}

/* No value with one digit fewer, near the output, reads back as d. */
static void check_minimal(double d, const char *out)
{
    char digits[32], shorter[32];
    int n, k, delta;
    long long v;

    k = text_digits(out, digits, &n);
    if (k <= 1)
        return;
    memcpy(shorter, digits, (size_t)k - 1);
    shorter[k - 1] = '\0';
    v = strtoll(shorter, NULL, 10);
    for (delta = -1; delta <= 1; delta++) {
        snprintf(shorter, sizeof(shorter), "%lld", v + delta);
        if (reads_back(shorter, n + (int)strlen(shorter) - (k - 1), fabs(d)))
            fail_msg("%s is not the shortest form of %.17g (%s works)", out, d, shorter);
    }
}

/* Property check over random doubles: the text reads back exactly, follows
 * the ECMAScript layout and has no shorter digit string that reads back. */
static void test_number_round_trip_and_shortest(void **state)
{
    char out[DA_JCS_NUMBER_SIZE];
    unsigned long long bits;
    double d, back;
    int i, j;

    (void)state;
    srand(8785);
    for (i = 0; i < 20000; i++) {
        for (bits = 0, j = 0; j < 4; j++)
            bits = bits << 16 | (unsigned long long)(rand() & 0xffff);
        if (i % 4 == 1)
            bits &= 0xfff0000000000000ULL; /* binade starts */
        d = from_bits(bits);
        if (!isfinite(d))
            continue;
        assert_int_equal(da_jcs_format_number(d, out, sizeof(out)), 0);
        back = strtod(out, NULL);
        if (!da_double_exact(back, d) || (da_double_exact(d, 0.0) && strcmp(out, "0") != 0))
            fail_msg("%016llx -> %s does not read back", bits, out);
        check_minimal(d, out);
    }
}

static void test_number_errors(void **state)
{
    char out[DA_JCS_NUMBER_SIZE];
    cJSON *v;

    (void)state;
    assert_int_equal(da_jcs_format_number((double)NAN, out, sizeof(out)), DA_ERR_JSON_NUMBER);
    assert_int_equal(da_jcs_format_number((double)INFINITY, out, sizeof(out)), DA_ERR_JSON_NUMBER);
    assert_int_equal(da_jcs_format_number(-(double)INFINITY, out, sizeof(out)), DA_ERR_JSON_NUMBER);
    assert_int_equal(da_jcs_format_number(1.5, out, 3), DA_ERR_TOO_LARGE);
    assert_string_equal(out, "");
    assert_int_equal(da_jcs_format_number(1.5, NULL, 3), DA_ERR_INVALID_ARG);
    v = cJSON_CreateArray();
    cJSON_AddItemToArray(v, cJSON_CreateNumber(1));
    cJSON_AddItemToArray(v, cJSON_CreateNumber((double)NAN));
    assert_int_equal(canon_tree_rc(v), DA_ERR_JSON_NUMBER);
    cJSON_Delete(v);
    v = cJSON_CreateObject();
    cJSON_AddNumberToObject(v, "x", (double)INFINITY);
    assert_int_equal(canon_tree_rc(v), DA_ERR_JSON_NUMBER);
    cJSON_Delete(v);
}

static void test_string_escaping(void **state)
{
    (void)state;
    check_canon("\"\\u0001\\u001f\\u0008\\u0009\\u000a\\u000b\\u000c\\u000d \\\" \\\\ / \x7f\"",
                "\"\\u0001\\u001f\\b\\t\\n\\u000b\\f\\r \\\" \\\\ / \x7f\"");
    check_canon("\"\\u2028\\u2029\\u00e9\\ud83d\\ude00<>&'\"",
                "\"\xe2\x80\xa8\xe2\x80\xa9\xc3\xa9\xf0\x9f\x98\x80<>&'\"");
    check_canon("[\"\",{},[],true,false,null,-0,1.0]", "[\"\",{},[],true,false,null,0,1]");
    check_canon("  \"top\"  ", "\"top\"");
    check_canon("\n-12.50e+1 ", "-125");
}

static void test_duplicate_keys_refused(void **state)
{
    cJSON *v = cJSON_CreateObject();

    (void)state;
    cJSON_AddNumberToObject(v, "a", 1);
    cJSON_AddNumberToObject(v, "b", 2);
    assert_int_equal(canon_tree_rc(v), 0);
    cJSON_AddNumberToObject(v, "a", 3);
    assert_int_equal(canon_tree_rc(v), DA_ERR_JSON_DUP_KEY);
    cJSON_Delete(v);
}

static void test_invalid_utf8_refused(void **state)
{
    cJSON *v = cJSON_CreateObject();

    (void)state;
    cJSON_AddStringToObject(v, "ok", "\xed\xa0\x80");
    assert_int_equal(canon_tree_rc(v), DA_ERR_JSON_UTF8);
    cJSON_Delete(v);
    v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "\xc0\xaf", "value");
    assert_int_equal(canon_tree_rc(v), DA_ERR_JSON_UTF8);
    cJSON_Delete(v);
    v = cJSON_CreateString("\xf4\x90\x80\x80");
    assert_int_equal(canon_tree_rc(v), DA_ERR_JSON_UTF8);
    cJSON_Delete(v);
}

static void test_other_trees_refused(void **state)
{
    cJSON *v, *inner, *raw;
    int i;

    (void)state;
    v = cJSON_CreateArray();
    cJSON_AddItemToArray(v, cJSON_CreateRaw("{\"b\":1,\"a\":2}"));
    assert_int_equal(canon_tree_rc(v), DA_ERR_JSON_TYPE);
    cJSON_Delete(v);
    raw = cJSON_CreateObject();
    raw->type = cJSON_Invalid;
    assert_int_equal(canon_tree_rc(raw), DA_ERR_JSON_TYPE);
    raw->type = cJSON_Object;
    cJSON_Delete(raw);
    /* DA_MAX_JSON_DEPTH containers are fine, one more is not */
    v = cJSON_CreateArray();
    inner = v;
    for (i = 1; i < DA_MAX_JSON_DEPTH; i++) {
        cJSON *next = cJSON_CreateArray();
        cJSON_AddItemToArray(inner, next);
        inner = next;
    }
    assert_int_equal(canon_tree_rc(v), 0);
    cJSON_AddItemToArray(inner, cJSON_CreateObject());
    assert_int_equal(canon_tree_rc(v), DA_ERR_JSON_DEPTH);
    cJSON_Delete(v);
    assert_int_equal(da_jcs_serialize(NULL, NULL), DA_ERR_INVALID_ARG);
}

static void test_output_cap(void **state)
{
    struct da_buf b;
    cJSON *v = NULL;

    (void)state;
    assert_int_equal(da_json_parse("{\"key\":\"value\"}", 15, 64, &v), 0);
    da_buf_init(&b, 14);
    assert_int_equal(da_jcs_serialize(v, &b), DA_ERR_TOO_LARGE);
    assert_int_equal(da_buf_len(&b), 0);
    da_buf_free(&b);
    da_buf_init(&b, 15);
    assert_int_equal(da_jcs_serialize(v, &b), 0);
    assert_string_equal(da_buf_str(&b), "{\"key\":\"value\"}");
    da_buf_free(&b);
    cJSON_Delete(v);
}

static void test_idempotent_and_digest(void **state)
{
    const char *doc = "{ \"b\": [1e2, 0.10, \"\\u00e9\"], \"a\": {\"y\": true, \"x\": -0.0},"
                      " \"\\ud83d\\ude00\": null }";
    unsigned char d1[DA_SHA256_LEN], d2[DA_SHA256_LEN];
    char *once = canon_text(doc), *twice = canon_text(once);
    cJSON *v = NULL;

    (void)state;
    assert_string_equal(once, twice);
    assert_string_equal(once, "{\"a\":{\"x\":0,\"y\":true},\"b\":[100,0.1,\"\xc3\xa9\"],"
                              "\"\xf0\x9f\x98\x80\":null}");
    assert_int_equal(da_json_parse(doc, strlen(doc), 1024, &v), 0);
    assert_int_equal(da_jcs_digest_sha256(v, d1), 0);
    assert_int_equal(da_sha256(once, strlen(once), d2), 0);
    assert_memory_equal(d1, d2, sizeof(d1));
    assert_int_equal(da_jcs_digest_sha256(v, NULL), DA_ERR_INVALID_ARG);
    cJSON_Delete(v);
    free(once);
    free(twice);
}

/* Texts da_json_parse accepts whose writer output differs: each is refused
 * by the one-pass check, and the writer's output is taken. */
static void test_one_pass_refuses(void **state)
{
    static const char *const texts[] = {
        "1.0",
        "1E30",
        "1e30",
        "-0",
        "0.0",
        "1e2",
        "100e-2",
        " 1",
        "1 ",
        "{\"b\":1,\"a\":2}",
        "{\"a\":1, \"b\":2}",
        "{ }",
        "[1,2 ]",
        "\"\\u0041\"",
        "\"\\/\"",
        "\"\\u000A\"",
        "\"\\u000a\"",
        "\"\\u0008\"",
        "\"\\u000B\"",
        "\"\\u001F\"",
        "\"\\u00e9\"",
        "\"\\ud83d\\ude00\"",
        "{\"\\u0061\":1}",
        "{\"\\r\":1,\"\\n\":2}",
        "{\"\xef\xac\xb3\":1,\"\xf0\x9f\x98\x80\":2}",
        "[333333333.33333329]",
        "[4.50]",
        "[0.0000010]",
        "[0.0000001]",
        "[1e21]",
        "[123456789012345678901]",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        char *want = canon_text(texts[i]);

        if (da_jcs_is_canonical(texts[i], strlen(texts[i])))
            fail_msg("taken as canonical: %s (writer: %s)", texts[i], want);
        assert_true(da_jcs_is_canonical(want, strlen(want)));
        free(want);
    }
    /* texts that are not JSON at all, or that the writer refuses */
    assert_false(da_jcs_is_canonical("", 0));
    assert_false(da_jcs_is_canonical(NULL, 0));
    assert_false(da_jcs_is_canonical("{\"a\":1,\"a\":1}", 13));
    assert_false(da_jcs_is_canonical("{\"a\":1", 7));
    assert_false(da_jcs_is_canonical("[1,]", 4));
    assert_false(da_jcs_is_canonical("\"\\u0000\"", 8));
    assert_false(da_jcs_is_canonical("\"\xed\xa0\x80\"", 5));
    assert_false(da_jcs_is_canonical("\"\x01\"", 3));
    assert_false(da_jcs_is_canonical("nul", 3));
    assert_false(da_jcs_is_canonical("01", 2));
    assert_false(da_jcs_is_canonical("NaN", 3));
    assert_false(da_jcs_is_canonical("1e999", 5));
    assert_true(da_jcs_is_canonical("[1,2]x", 5));
    assert_false(da_jcs_is_canonical("[1,2]x", 6));
}

/* DA_MAX_JSON_DEPTH containers are canonical, one more is not (the writer
 * refuses it). */
static void test_one_pass_depth(void **state)
{
    char text[2 * DA_MAX_JSON_DEPTH + 3];
    size_t n = DA_MAX_JSON_DEPTH;

    (void)state;
    memset(text, '[', n);
    memset(text + n, ']', n);
    assert_true(da_jcs_is_canonical(text, 2 * n));
    memset(text, '[', n + 1);
    memset(text + n + 1, ']', n + 1);
    assert_false(da_jcs_is_canonical(text, 2 * n + 2));
}

/* Every number test vector's text is canonical; its variants are not. */
static void test_one_pass_numbers(void **state)
{
    char txt[64];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bit_vectors) / sizeof(bit_vectors[0]); i++) {
        const char *w = bit_vectors[i].want;

        assert_true(da_jcs_is_canonical(w, strlen(w)));
        snprintf(txt, sizeof(txt), "%s0", w);
        if (strchr(w, '.') != NULL && strchr(w, 'e') == NULL)
            assert_false(da_jcs_is_canonical(txt, strlen(txt)));
        snprintf(txt, sizeof(txt), "[%s, %s]", w, w);
        assert_false(da_jcs_is_canonical(txt, strlen(txt)));
        snprintf(txt, sizeof(txt), "[%s,%s]", w, w);
        assert_true(da_jcs_is_canonical(txt, strlen(txt)));
    }
    for (i = 0; i < sizeof(text_vectors) / sizeof(text_vectors[0]); i++)
        assert_true(da_jcs_is_canonical(text_vectors[i].want, strlen(text_vectors[i].want)));
}

/* The evidence captured on a Debian machine: its canonical text is taken
 * whole, its captured (indented) text is not. */
static void test_one_pass_realistic(void **state)
{
    FILE *f = fopen(DA_SOURCE_ROOT "/tests/data/loadgen/evidence-debian12.json", "rb");
    static char text[1 << 17];
    size_t n;
    char *canon;

    (void)state;
    assert_non_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_true(n > 1000);
    canon = canon_text(text);
    assert_false(da_jcs_is_canonical(text, n));
    assert_true(da_jcs_is_canonical(canon, strlen(canon)));
    free(canon);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8785_structure_example),
        cmocka_unit_test(test_rfc8785_sorting_example),
        cmocka_unit_test(test_sort_is_utf16_not_utf8),
        cmocka_unit_test(test_number_vectors),
        cmocka_unit_test(test_number_round_trip_and_shortest),
        cmocka_unit_test(test_number_errors),
        cmocka_unit_test(test_string_escaping),
        cmocka_unit_test(test_duplicate_keys_refused),
        cmocka_unit_test(test_invalid_utf8_refused),
        cmocka_unit_test(test_other_trees_refused),
        cmocka_unit_test(test_output_cap),
        cmocka_unit_test(test_idempotent_and_digest),
        cmocka_unit_test(test_one_pass_refuses),
        cmocka_unit_test(test_one_pass_depth),
        cmocka_unit_test(test_one_pass_numbers),
        cmocka_unit_test(test_one_pass_realistic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

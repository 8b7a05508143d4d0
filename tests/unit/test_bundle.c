/* Delivery bundle parsing without keys: lines, their own errors, caps, and
 * the option parsers of devattest-verify bundle. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "err.h"

static const char envelope_no_cert[] =
    "{\"payload\":\""
    "eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEiLCJzdWJqZWN0IjpbeyJuYW1lIjoiYSIs"
    "ImRpZ2VzdCI6eyJzaGEyNTYiOiIwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw"
    "MDAwMDAwMDAwMDAwMDAwMDAwIn19XSwicHJlZGljYXRlVHlwZSI6InQiLCJwcmVkaWNhdGUiOnt9fQ=="
    "\",\"payloadType\":\"application/vnd.in-toto+json\",\"signatures\":[{\"keyid\":\"k\","
    "\"sig\":\"AA==\"}]}";

static void test_lines_keep_their_errors(void **state)
{
    struct da_bundle *b = NULL;
    char *text;

    (void)state;
    assert_int_equal(da_bundle_parse("", 0, &b), 0);
    assert_int_equal(b->n, 0);
    da_bundle_free(b);

    /* A statement without a certificate, a blank line, text, and a last
     * line without a newline: four lines, each with its own error. */
    text = malloc(strlen(envelope_no_cert) + 64);
    assert_non_null(text);
    snprintf(text, strlen(envelope_no_cert) + 64, "%s\n\nnot json\n{\"payload\":1}",
             envelope_no_cert);
    assert_int_equal(da_bundle_parse(text, strlen(text), &b), 0);
    assert_int_equal(b->n, 4);
    assert_int_equal(b->e[0].parse_rc, DA_ERR_BUNDLE_FORMAT);
    assert_non_null(b->e[0].st); /* the statement itself parsed */
    assert_int_not_equal(b->e[1].parse_rc, 0);
    assert_int_not_equal(b->e[2].parse_rc, 0);
    assert_int_not_equal(b->e[3].parse_rc, 0);
    assert_int_equal(b->e[3].line, 4);
    da_bundle_free(b);
    free(text);
}

static void test_caps(void **state)
{
    size_t n = DA_MAX_BUNDLE_LINES + 1;
    char *text = malloc(n);
    struct da_bundle *b = (struct da_bundle *)1;

    (void)state;
    assert_non_null(text);
    memset(text, '\n', n);
    assert_int_equal(da_bundle_parse(text, n, &b), DA_ERR_TOO_LARGE);
    assert_null(b);
    assert_int_equal(da_bundle_parse(text, n - 1, &b), 0);
    assert_int_equal(b->n, DA_MAX_BUNDLE_LINES);
    da_bundle_free(b);
    free(text);
    assert_int_equal(da_bundle_parse("x", (size_t)DA_MAX_BUNDLE + 1, &b), DA_ERR_TOO_LARGE);
}

static void test_kinds(void **state)
{
    unsigned k = 0;

    (void)state;
    assert_int_equal(da_bundle_kinds_parse("sbom,tests,scan,provenance", &k), 0);
    assert_int_equal(k, DA_BUNDLE_SBOM | DA_BUNDLE_TESTS | DA_BUNDLE_SCAN | DA_BUNDLE_PROVENANCE);
    assert_int_equal(da_bundle_kinds_parse("scan", &k), 0);
    assert_int_equal(k, DA_BUNDLE_SCAN);
    assert_int_equal(da_bundle_kinds_parse("", &k), DA_ERR_INVALID_ARG);
    assert_int_equal(da_bundle_kinds_parse("sbom,", &k), DA_ERR_INVALID_ARG);
    assert_int_equal(da_bundle_kinds_parse("sbom,sbom", &k), DA_ERR_INVALID_ARG);
    assert_int_equal(da_bundle_kinds_parse("sboms", &k), DA_ERR_INVALID_ARG);
    assert_int_equal(da_bundle_kinds_parse(",scan", &k), DA_ERR_INVALID_ARG);
}

static void test_times(void **state)
{
    int64_t t = 0;

    (void)state;
    assert_int_equal(da_time_rfc3339_parse("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(da_time_rfc3339_parse("2026-12-06T04:48:15Z", &t), 0);
    assert_int_equal(t, 1796532495);
    assert_int_equal(da_time_rfc3339_parse("2026-12-06T04:48:15.250Z", &t), 0);
    assert_int_equal(t, 1796532495);
    assert_int_equal(da_time_rfc3339_parse("2026-12-06T04:48:15+01:00", &t), DA_ERR_INVALID_ARG);
    assert_int_equal(da_time_rfc3339_parse("2026-12-06 04:48:15Z", &t), DA_ERR_INVALID_ARG);
    assert_int_equal(da_time_rfc3339_parse("2026-12-06T04:48:15.Z", &t), DA_ERR_INVALID_ARG);
    assert_int_equal(da_time_rfc3339_parse("2026-12-06T04:48:15Zx", &t), DA_ERR_INVALID_ARG);
    assert_int_equal(da_time_rfc3339_parse(NULL, &t), DA_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_keep_their_errors),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_times),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

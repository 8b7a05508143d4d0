#include "da_test.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "report_parse.h"

/* 56 zero bytes, base64 */
#define NONCE "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define QUOTE "{\"attest\":\"AAEC\",\"signature\":\"AAEC\",\"pcr_values\":\"AAEC\"}"

static int parse(const char *body, struct srv_report_in **r)
{
    const char *msg = NULL;

    return srv_report_parse(body, strlen(body), r, &msg);
}

static void test_valid_and_digest(void **state)
{
    struct srv_report_in *a = NULL, *b = NULL;

    (void)state;
    /* the same evidence in another key order and spacing: the same digest */
    assert_int_equal(parse("{\"nonce\":\"" NONCE "\",\"quote\":" QUOTE
                           ",\"evidence\":{\"schema\":\"devattest.evidence/v1\",\"b\":1.50,"
                           "\"a\":[true,null]}}",
                           &a),
                     0);
    assert_int_equal(parse("{\"evidence\":{ \"a\" : [ true , null ] , \"schema\":"
                           "\"devattest.evidence/v1\",\"b\":1.5},\"nonce\":\"" NONCE
                           "\",\"quote\":" QUOTE "}",
                           &b),
                     0);
    assert_string_equal(a->evidence_sha256, b->evidence_sha256);
    assert_string_equal(da_buf_str(&a->evidence_canonical),
                        "{\"a\":[true,null],\"b\":1.5,\"schema\":\"devattest.evidence/v1\"}");
    assert_int_equal(da_buf_len(&a->nonce), 56);
    assert_int_equal(da_buf_len(&a->attest), 3);
    assert_string_equal(a->inventory_sha256, "");
    assert_null(a->inventory);
    srv_report_in_free(a);
    srv_report_in_free(b);
}

static void test_rejections(void **state)
{
    static const struct {
        const char *body;
        int err;
    } cases[] = {
        {"[]", DA_ERR_INVALID_ARG},
        {"{\"nonce\":\"" NONCE "\",\"quote\":" QUOTE ",\"evidence\":{\"schema\":\"other\"}}",
         DA_ERR_INVALID_ARG},
        {"{\"nonce\":\"" NONCE "\",\"quote\":" QUOTE
         ",\"evidence\":{\"schema\":\"devattest.evidence/v1\"},\"extra\":1}",
         DA_ERR_INVALID_ARG},
        {"{\"nonce\":\"" NONCE "\",\"quote\":{\"attest\":\"AAEC\",\"signature\":\"AAEC\","
         "\"pcr_values\":\"AAEC\",\"x\":1},\"evidence\":{\"schema\":\"devattest.evidence/v1\"}}",
         DA_ERR_INVALID_ARG},
        {"{\"nonce\":\"AAE=\\n\",\"quote\":" QUOTE
         ",\"evidence\":{\"schema\":\"devattest.evidence/v1\"}}",
         DA_ERR_BASE64},
        {"{\"nonce\":5,\"quote\":" QUOTE ",\"evidence\":{\"schema\":\"devattest.evidence/v1\"}}",
         DA_ERR_JSON_TYPE},
        {"{\"quote\":" QUOTE ",\"evidence\":{\"schema\":\"devattest.evidence/v1\"}}",
         DA_ERR_JSON_MISSING},
        {"{\"nonce\":\"" NONCE "\",\"quote\":" QUOTE
         ",\"evidence\":{\"schema\":\"devattest.evidence/v1\",\"patches\":"
         "{\"inventory_sha256\":\"ABC\"}}}",
         DA_ERR_JSON_TYPE},
        {"{\"nonce\":\"" NONCE "\",\"quote\":" QUOTE
         ",\"evidence\":{\"schema\":\"devattest.evidence/v1\",\"n\":1e400}}",
         DA_ERR_JSON_NUMBER},
        {"{\"nonce\":\"" NONCE "\",\"quote\":" QUOTE
         ",\"evidence\":{\"schema\":\"devattest.evidence/v1\"}} {}",
         DA_ERR_TRAILING_DATA},
    };
    struct srv_report_in *r = NULL;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = parse(cases[i].body, &r);

        if (rc != cases[i].err)
            fail_msg("case %zu: got %d want %d", i, rc, cases[i].err);
        assert_null(r);
    }
}

static void test_inventory(void **state)
{
    struct srv_report_in *r = NULL;
    char body[1024];

    (void)state;
    snprintf(body, sizeof(body),
             "{\"nonce\":\"" NONCE "\",\"quote\":" QUOTE
             ",\"evidence\":{\"schema\":\"devattest.evidence/v1\",\"patches\":"
             "{\"inventory_sha256\":\"%064d\"}},\"inventory\":\"bash:amd64=5.2\\n\"}",
             7);
    assert_int_equal(parse(body, &r), 0);
    assert_int_equal(strlen(r->inventory_sha256), 64);
    assert_string_equal(r->inventory, "bash:amd64=5.2\n");
    srv_report_in_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_and_digest),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_inventory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "dsse.h"
#include "err.h"
#include "intoto.h"
#include "caps.h"

#define SHA_A "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447"
#define SHA_B "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c"
#define PRED  "https://devattest.example/predicate/build-env/v1"

static cJSON *predicate(void)
{
    cJSON *p = cJSON_CreateObject();

    cJSON_AddStringToObject(p, "agent", "agent-7");
    cJSON_AddNumberToObject(p, "n", 2);
    return p;
}

static void test_build_canonical_exact(void **state)
{
    static const struct da_intoto_digest da[] = {{"sha256", SHA_A}};
    static const struct da_intoto_digest db[] = {{"sha512", SHA_B SHA_B}, {"sha256", SHA_B}};
    const struct da_intoto_subject subj[] = {{"out/app.tar", da, 1}, {"out/lib.so", db, 2}};
    cJSON *pred = predicate();
    struct da_buf b;

    (void)state;
    da_buf_init(&b, 4096);
    assert_int_equal(da_intoto_statement_encode(subj, 2, PRED, pred, &b), 0);
    assert_string_equal(da_buf_str(&b),
                        "{\"_type\":\"https://in-toto.io/Statement/v1\","
                        "\"predicate\":{\"agent\":\"agent-7\",\"n\":2},"
                        "\"predicateType\":\"" PRED "\","
                        "\"subject\":[{\"digest\":{\"sha256\":\"" SHA_A "\"},"
                        "\"name\":\"out/app.tar\"},"
                        "{\"digest\":{\"sha256\":\"" SHA_B "\",\"sha512\":\"" SHA_B SHA_B "\"},"
                        "\"name\":\"out/lib.so\"}]}");
    da_buf_free(&b);
    cJSON_Delete(pred);
}

static void test_parse_round_trip(void **state)
{
    static const struct da_intoto_digest da[] = {{"sha256", SHA_A}, {"gitCommit", "abc"}};
    const struct da_intoto_subject subj[] = {{"app", da, 2}};
    struct da_intoto_statement *st = NULL;
    cJSON *pred = predicate();
    struct da_buf b;

    (void)state;
    da_buf_init(&b, 4096);
    assert_int_equal(da_intoto_statement_encode(subj, 1, PRED, pred, &b), 0);
    assert_int_equal(da_intoto_statement_parse(da_buf_data(&b), da_buf_len(&b), &st), 0);
    assert_int_equal(st->nsubjects, 1);
    assert_string_equal(st->subjects[0].name, "app");
    assert_int_equal(st->subjects[0].ndigests, 2);
    assert_string_equal(da_intoto_subject_digest(&st->subjects[0], "sha256"), SHA_A);
    assert_string_equal(da_intoto_subject_digest(&st->subjects[0], "gitCommit"), "abc");
    assert_null(da_intoto_subject_digest(&st->subjects[0], "sha384"));
    assert_string_equal(st->predicate_type, PRED);
    assert_string_equal(cJSON_GetObjectItem(st->predicate, "agent")->valuestring, "agent-7");
    da_intoto_statement_free(st);
    da_intoto_statement_free(NULL);
    da_buf_free(&b);
    cJSON_Delete(pred);
}

static int parse_rc(const char *json)
{
    struct da_intoto_statement *st = (struct da_intoto_statement *)&st;
    int r = da_intoto_statement_parse(json, strlen(json), &st);

    if (r != 0)
        assert_null(st);
    da_intoto_statement_free(st);
    return r;
}

/* A statement around the given subject array text. */
static int parse_subjects(const char *subjects)
{
    char buf[1024];

    snprintf(buf, sizeof(buf),
             "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":%s,"
             "\"predicateType\":\"p\",\"predicate\":{}}",
             subjects);
    return parse_rc(buf);
}

static void test_parse_header_errors(void **state)
{
    (void)state;
    assert_int_equal(parse_rc("{\"_type\":\"https://in-toto.io/Statement/v0.1\",\"subject\":"
                              "[{\"name\":\"a\",\"digest\":{\"sha256\":\"" SHA_A "\"}}],"
                              "\"predicateType\":\"p\",\"predicate\":{}}"),
                     DA_ERR_INTOTO_FORMAT);
    assert_int_equal(parse_rc("{\"subject\":[{\"name\":\"a\",\"digest\":{\"sha256\":\"" SHA_A
                              "\"}}],\"predicateType\":\"p\",\"predicate\":{}}"),
                     DA_ERR_INTOTO_FORMAT);
    assert_int_equal(parse_rc("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":"
                              "[{\"name\":\"a\",\"digest\":{\"sha256\":\"" SHA_A "\"}}],"
                              "\"predicate\":{}}"),
                     DA_ERR_INTOTO_FORMAT);
    assert_int_equal(parse_rc("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":"
                              "[{\"name\":\"a\",\"digest\":{\"sha256\":\"" SHA_A "\"}}],"
                              "\"predicateType\":\"\",\"predicate\":{}}"),
                     DA_ERR_INTOTO_FORMAT);
    assert_int_equal(parse_rc("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":"
                              "[{\"name\":\"a\",\"digest\":{\"sha256\":\"" SHA_A "\"}}],"
                              "\"predicateType\":7,\"predicate\":{}}"),
                     DA_ERR_INTOTO_FORMAT);
    assert_int_equal(parse_rc("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":"
                              "[{\"name\":\"a\",\"digest\":{\"sha256\":\"" SHA_A "\"}}],"
                              "\"predicateType\":\"p\"}"),
                     DA_ERR_INTOTO_FORMAT);
    assert_int_equal(parse_rc("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":"
                              "[{\"name\":\"a\",\"digest\":{\"sha256\":\"" SHA_A "\"}}],"
                              "\"predicateType\":\"p\",\"predicate\":[]}"),
                     DA_ERR_INTOTO_FORMAT);
    assert_int_equal(parse_rc("{\"_type\":\"https://in-toto.io/Statement/v1\","
                              "\"predicateType\":\"p\",\"predicate\":{}}"),
                     DA_ERR_INTOTO_FORMAT);
    assert_int_equal(parse_rc("[]"), DA_ERR_INTOTO_FORMAT);
    assert_int_equal(parse_rc("{\"_type\":1,\"_type\":2}"), DA_ERR_JSON_DUP_KEY);
    assert_int_equal(parse_rc("{"), DA_ERR_JSON_PARSE);
}

static void test_parse_subject_errors(void **state)
{
    (void)state;
    assert_int_equal(parse_subjects("[{\"name\":\"a\",\"digest\":{\"sha256\":\"" SHA_A "\"}}]"), 0);
    assert_int_equal(parse_subjects("[]"), DA_ERR_INTOTO_SUBJECT);
    assert_int_equal(parse_subjects("{}"), DA_ERR_INTOTO_FORMAT);
    assert_int_equal(parse_subjects("[1]"), DA_ERR_INTOTO_SUBJECT);
    assert_int_equal(parse_subjects("[{\"digest\":{\"sha256\":\"" SHA_A "\"}}]"),
                     DA_ERR_INTOTO_SUBJECT);
    assert_int_equal(parse_subjects("[{\"name\":5,\"digest\":{\"sha256\":\"" SHA_A "\"}}]"),
                     DA_ERR_INTOTO_SUBJECT);
    assert_int_equal(parse_subjects("[{\"name\":\"a\"}]"), DA_ERR_INTOTO_SUBJECT);
    assert_int_equal(parse_subjects("[{\"name\":\"a\",\"digest\":{}}]"), DA_ERR_INTOTO_SUBJECT);
    assert_int_equal(parse_subjects("[{\"name\":\"a\",\"digest\":[]}]"), DA_ERR_INTOTO_SUBJECT);
    /* sha256 must be 64 lower-case hex digits */
    assert_int_equal(parse_subjects("[{\"name\":\"a\",\"digest\":{\"sha256\":"
                                    "\"A948904F2F0F479B8F8197694B30184B0D2ED1C1CD2A1EC0FB85D299A192"
                                    "A447\"}}]"),
                     DA_ERR_INTOTO_SUBJECT);
    assert_int_equal(parse_subjects("[{\"name\":\"a\",\"digest\":{\"sha256\":\"" SHA_A "0\"}}]"),
                     DA_ERR_INTOTO_SUBJECT);
    assert_int_equal(parse_subjects("[{\"name\":\"a\",\"digest\":{\"sha256\":\"abc\"}}]"),
                     DA_ERR_INTOTO_SUBJECT);
    assert_int_equal(parse_subjects("[{\"name\":\"a\",\"digest\":{\"sha256\":\"g948904f2f0f479b8f"
                                    "8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447\"}}]"),
                     DA_ERR_INTOTO_SUBJECT);
    assert_int_equal(parse_subjects("[{\"name\":\"a\",\"digest\":{\"sha256\":64}}]"),
                     DA_ERR_INTOTO_SUBJECT);
    /* a valid sha256 does not excuse a malformed sha512 */
    assert_int_equal(parse_subjects("[{\"name\":\"a\",\"digest\":{\"sha256\":\"" SHA_A
                                    "\",\"sha512\":\"00\"}}]"),
                     DA_ERR_INTOTO_SUBJECT);
    /* unknown algorithms do not count */
    assert_int_equal(parse_subjects("[{\"name\":\"a\",\"digest\":{\"md5\":"
                                    "\"d41d8cd98f00b204e9800998ecf8427e\"}}]"),
                     DA_ERR_INTOTO_SUBJECT);
    /* the second subject is the bad one */
    assert_int_equal(parse_subjects("[{\"name\":\"a\",\"digest\":{\"sha256\":\"" SHA_A "\"}},"
                                    "{\"name\":\"b\",\"digest\":{\"sha1\":\"00\"}}]"),
                     DA_ERR_INTOTO_SUBJECT);
}

static void test_parse_caps(void **state)
{
    struct da_buf b;
    size_t i;

    (void)state;
    da_buf_init(&b, 1 << 20);
    assert_int_equal(da_buf_append_str(&b, "{\"_type\":\"https://in-toto.io/Statement/v1\","
                                           "\"predicateType\":\"p\",\"predicate\":{},"
                                           "\"subject\":[{\"name\":\"a\",\"digest\":{"),
                     0);
    for (i = 0; i <= DA_MAX_INTOTO_DIGESTS; i++)
        assert_int_equal(da_buf_printf(&b, "%s\"x%zu\":\"0\"", i ? "," : "", i), 0);
    assert_int_equal(da_buf_append_str(&b, ",\"sha256\":\"" SHA_A "\"}}]}"), 0);
    assert_int_equal(parse_rc(da_buf_str(&b)), DA_ERR_TOO_LARGE);
    da_buf_reset(&b);
    assert_int_equal(da_buf_append_str(&b, "{\"_type\":\"https://in-toto.io/Statement/v1\","
                                           "\"predicateType\":\"p\",\"predicate\":{},"
                                           "\"subject\":["),
                     0);
    for (i = 0; i <= DA_MAX_INTOTO_SUBJECTS; i++)
        assert_int_equal(da_buf_printf(&b,
                                       "%s{\"name\":\"%zu\",\"digest\":{\"sha256\":\"" SHA_A "\"}}",
                                       i ? "," : "", i),
                         0);
    assert_int_equal(da_buf_append_str(&b, "]}"), 0);
    assert_int_equal(parse_rc(da_buf_str(&b)), DA_ERR_TOO_LARGE);
    da_buf_free(&b);
    {
        struct da_intoto_statement *st = NULL;
        assert_int_equal(da_intoto_statement_parse("{}", DA_MAX_DSSE_PAYLOAD + 1, &st),
                         DA_ERR_TOO_LARGE);
        assert_null(st);
        assert_int_equal(da_intoto_statement_parse("{}", 2, NULL), DA_ERR_INVALID_ARG);
    }
}

static void test_build_errors(void **state)
{
    static const struct da_intoto_digest good[] = {{"sha256", SHA_A}};
    static const struct da_intoto_digest upper[] = {{"sha256", "A948904F"}};
    static const struct da_intoto_digest unknown[] = {{"md5", "00"}};
    static const struct da_intoto_digest twice[] = {{"sha256", SHA_A}, {"sha256", SHA_B}};
    static const struct da_intoto_digest null_hex[] = {{"sha256", NULL}};
    const struct da_intoto_subject ok = {"a", good, 1};
    const struct da_intoto_subject bad[] = {
        {NULL, good, 1}, {"a", upper, 1}, {"a", unknown, 1},
        {"a", twice, 2}, {"a", NULL, 0},  {"a", null_hex, 1},
    };
    cJSON *pred = predicate(), *arr = cJSON_CreateArray(), *out = (cJSON *)&out;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (da_intoto_statement_build(&bad[i], 1, PRED, pred, &out) != DA_ERR_INTOTO_SUBJECT)
            fail_msg("bad subject %zu accepted", i);
        assert_null(out);
    }
    assert_int_equal(da_intoto_statement_build(&ok, 0, PRED, pred, &out), DA_ERR_INTOTO_SUBJECT);
    assert_int_equal(da_intoto_statement_build(&ok, 1, "", pred, &out), DA_ERR_INTOTO_FORMAT);
    assert_int_equal(da_intoto_statement_build(&ok, 1, NULL, pred, &out), DA_ERR_INTOTO_FORMAT);
    assert_int_equal(da_intoto_statement_build(&ok, 1, PRED, arr, &out), DA_ERR_INTOTO_FORMAT);
    assert_int_equal(da_intoto_statement_build(&ok, 1, PRED, NULL, &out), DA_ERR_INTOTO_FORMAT);
    assert_int_equal(da_intoto_statement_build(&ok, DA_MAX_INTOTO_SUBJECTS + 1, PRED, pred, &out),
                     DA_ERR_TOO_LARGE);
    assert_int_equal(da_intoto_statement_build(&ok, 1, PRED, pred, &out), 0);
    assert_non_null(out);
    cJSON_Delete(out);
    cJSON_Delete(pred);
    cJSON_Delete(arr);
}

/* The delivery path end to end: statement, DSSE signature, envelope text,
 * decode, verify, parse the payload. */
static void test_statement_in_signed_envelope(void **state)
{
    static const struct da_intoto_digest d[] = {{"sha256", SHA_A}};
    const struct da_intoto_subject subj = {"artifact.bin", d, 1};
    struct da_dsse_envelope *env = NULL, *back = NULL;
    struct da_intoto_statement *st = NULL;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    cJSON *pred = predicate();
    struct da_buf payload, line;

    (void)state;
    assert_non_null(key);
    da_buf_init(&payload, DA_MAX_DSSE_PAYLOAD);
    da_buf_init(&line, DA_MAX_DSSE_ENVELOPE);
    assert_int_equal(da_intoto_statement_encode(&subj, 1, PRED, pred, &payload), 0);
    assert_int_equal(da_dsse_envelope_new(DA_INTOTO_PAYLOAD_TYPE, da_buf_data(&payload),
                                          da_buf_len(&payload), &env),
                     0);
    assert_int_equal(da_dsse_sign_ecdsa_p256(key, "sk", env), 0);
    assert_int_equal(da_dsse_envelope_encode(env, &line), 0);
    assert_null(strchr(da_buf_str(&line), '\n'));
    assert_int_equal(da_dsse_envelope_decode(da_buf_str(&line), da_buf_len(&line), &back), 0);
    assert_int_equal(da_dsse_verify(back, key, NULL), 0);
    assert_string_equal(back->payload_type, DA_INTOTO_PAYLOAD_TYPE);
    assert_int_equal(da_intoto_statement_parse(back->payload, back->payload_len, &st), 0);
    assert_string_equal(st->subjects[0].name, "artifact.bin");
    da_intoto_statement_free(st);
    da_dsse_envelope_free(back);
    da_dsse_envelope_free(env);
    da_buf_free(&payload);
    da_buf_free(&line);
    cJSON_Delete(pred);
    EVP_PKEY_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_canonical_exact),
        cmocka_unit_test(test_parse_round_trip),
        cmocka_unit_test(test_parse_header_errors),
        cmocka_unit_test(test_parse_subject_errors),
        cmocka_unit_test(test_parse_caps),
        cmocka_unit_test(test_build_errors),
        cmocka_unit_test(test_statement_in_signed_envelope),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

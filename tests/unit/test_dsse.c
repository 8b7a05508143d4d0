#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "digest.h"
#include "dsse.h"
#include "encoding.h"
#include "err.h"
#include "caps.h"

/* Error-path double: when set, signing fails inside OpenSSL. */
static int fail_sign_init;

int __real_EVP_DigestSignInit(EVP_MD_CTX *ctx, EVP_PKEY_CTX **pctx, const EVP_MD *type, ENGINE *e,
                              EVP_PKEY *pkey);
int __wrap_EVP_DigestSignInit(EVP_MD_CTX *ctx, EVP_PKEY_CTX **pctx, const EVP_MD *type, ENGINE *e,
                              EVP_PKEY *pkey);
int __wrap_EVP_DigestSignInit(EVP_MD_CTX *ctx, EVP_PKEY_CTX **pctx, const EVP_MD *type, ENGINE *e,
                              EVP_PKEY *pkey)
{
    if (fail_sign_init) {
        fail_sign_init = 0;
        return 0;
    }
    return __real_EVP_DigestSignInit(ctx, pctx, type, e, pkey);
}

#define HELLO_TYPE "http://example.com/HelloWorld"

static EVP_PKEY *ec_key(const char *curve)
{
    EVP_PKEY *k = EVP_EC_gen(curve);

    assert_non_null(k);
    return k;
}

static void test_pae_vector(void **state)
{
    static const char want[] = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";
    unsigned char d[DA_SHA256_LEN], e[DA_SHA256_LEN];
    struct da_buf b;

    (void)state;
    da_buf_init(&b, 256);
    assert_int_equal(da_dsse_pae(HELLO_TYPE, "hello world", 11, &b), 0);
    assert_int_equal(da_buf_len(&b), sizeof(want) - 1);
    assert_memory_equal(da_buf_data(&b), want, sizeof(want) - 1);
    da_buf_free(&b);
    assert_int_equal(da_dsse_pae_sha256(HELLO_TYPE, "hello world", 11, d), 0);
    assert_int_equal(da_sha256(want, sizeof(want) - 1, e), 0);
    assert_memory_equal(d, e, sizeof(d));
}

static void test_pae_edges(void **state)
{
    static const unsigned char bin[] = {0, 1, ' ', 0xff};
    struct da_buf b;

    (void)state;
    da_buf_init(&b, 64);
    assert_int_equal(da_dsse_pae("", NULL, 0, &b), 0);
    assert_memory_equal(da_buf_data(&b), "DSSEv1 0  0 ", 12);
    assert_int_equal(da_buf_len(&b), 12);
    da_buf_reset(&b);
    assert_int_equal(da_dsse_pae("t", bin, sizeof(bin), &b), 0);
    assert_int_equal(da_buf_len(&b), 17);
    assert_memory_equal(da_buf_data(&b), "DSSEv1 1 t 4 \0\1 \xff", 17);
    da_buf_free(&b);
    da_buf_init(&b, 10);
    assert_int_equal(da_dsse_pae("t", "x", 1, &b), DA_ERR_TOO_LARGE);
    assert_int_equal(da_dsse_pae(NULL, "x", 1, &b), DA_ERR_INVALID_ARG);
    da_buf_free(&b);
}

static struct da_dsse_envelope *hello_envelope(void)
{
    struct da_dsse_envelope *env = NULL;

    assert_int_equal(da_dsse_envelope_new(HELLO_TYPE, "hello world", 11, &env), 0);
    return env;
}

static void test_encode_exact_and_round_trip(void **state)
{
    static const char want[] =
        "{\"payload\":\"aGVsbG8gd29ybGQ=\",\"payloadType\":\"http://example.com/HelloWorld\","
        "\"signatures\":[{\"keyid\":\"k1\",\"sig\":\"AQID\"},{\"sig\":\"/w==\"}]}";
    struct da_dsse_envelope *env = hello_envelope(), *back = NULL;
    struct da_buf b;

    (void)state;
    da_buf_init(&b, 4096);
    assert_int_equal(da_dsse_envelope_encode(env, &b), DA_ERR_DSSE_NO_SIGNATURE);
    assert_int_equal(da_dsse_add_signature(env, "k1", (const unsigned char *)"\1\2\3", 3), 0);
    assert_int_equal(da_dsse_add_signature(env, NULL, (const unsigned char *)"\xff", 1), 0);
    assert_int_equal(da_dsse_envelope_encode(env, &b), 0);
    assert_string_equal(da_buf_str(&b), want);
    assert_int_equal(da_dsse_envelope_decode(da_buf_str(&b), da_buf_len(&b), &back), 0);
    assert_string_equal(back->payload_type, HELLO_TYPE);
    assert_int_equal(back->payload_len, 11);
    assert_memory_equal(back->payload, "hello world", 11);
    assert_int_equal(back->nsigs, 2);
    assert_string_equal(back->sigs[0].keyid, "k1");
    assert_int_equal(back->sigs[0].sig_len, 3);
    assert_memory_equal(back->sigs[0].sig, "\1\2\3", 3);
    assert_null(back->sigs[1].keyid);
    assert_int_equal(back->sigs[1].sig[0], 0xff);
    da_buf_free(&b);
    da_dsse_envelope_free(back);
    da_dsse_envelope_free(env);
    da_dsse_envelope_free(NULL);
}

static void test_sign_and_verify_p256(void **state)
{
    struct da_dsse_envelope *env = hello_envelope();
    EVP_PKEY *key = ec_key("P-256"), *other = ec_key("P-256");
    const unsigned char *p;
    ECDSA_SIG *sig;
    size_t idx = 99;

    (void)state;
    assert_int_equal(da_dsse_verify(env, key, &idx), DA_ERR_DSSE_NO_SIGNATURE);
    assert_int_equal(da_dsse_sign_ecdsa_p256(key, "server-2024", env), 0);
    assert_int_equal(env->nsigs, 1);
    assert_string_equal(env->sigs[0].keyid, "server-2024");
    /* a DER ECDSA-Sig-Value with nothing after it */
    p = env->sigs[0].sig;
    sig = d2i_ECDSA_SIG(NULL, &p, (long)env->sigs[0].sig_len);
    assert_non_null(sig);
    assert_ptr_equal(p, env->sigs[0].sig + env->sigs[0].sig_len);
    ECDSA_SIG_free(sig);
    assert_int_equal(da_dsse_verify(env, key, &idx), 0);
    assert_int_equal(idx, 0);
    assert_int_equal(da_dsse_verify(env, other, &idx), DA_ERR_VERIFY_SIGNATURE);
    /* the signature covers payload and type */
    env->payload[0] ^= 1;
    assert_int_equal(da_dsse_verify(env, key, NULL), DA_ERR_VERIFY_SIGNATURE);
    env->payload[0] ^= 1;
    env->payload_type[0] = 'H';
    assert_int_equal(da_dsse_verify(env, key, NULL), DA_ERR_VERIFY_SIGNATURE);
    env->payload_type[0] = 'h';
    env->sigs[0].sig[env->sigs[0].sig_len - 1] ^= 1;
    assert_int_equal(da_dsse_verify(env, key, NULL), DA_ERR_VERIFY_SIGNATURE);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
    da_dsse_envelope_free(env);
}

static void test_verify_picks_any_signature(void **state)
{
    struct da_dsse_envelope *env = hello_envelope();
    EVP_PKEY *a = ec_key("P-256"), *b = ec_key("P-256");
    size_t idx = 99;

    (void)state;
    assert_int_equal(da_dsse_sign_ecdsa_p256(a, "a", env), 0);
    assert_int_equal(da_dsse_sign_ecdsa_p256(b, NULL, env), 0);
    assert_int_equal(da_dsse_verify(env, b, &idx), 0);
    assert_int_equal(idx, 1);
    assert_int_equal(da_dsse_verify(env, a, &idx), 0);
    assert_int_equal(idx, 0);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
    da_dsse_envelope_free(env);
}

/* Signature over PAE made directly with OpenSSL, for the verify-only key types. */
static void add_openssl_signature(struct da_dsse_envelope *env, EVP_PKEY *key, const EVP_MD *md)
{
    unsigned char sig[512];
    size_t sig_len = sizeof(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    struct da_buf pae;

    da_buf_init(&pae, 1024);
    assert_int_equal(da_dsse_pae(env->payload_type, env->payload, env->payload_len, &pae), 0);
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, md, NULL, key), 1);
    assert_int_equal(EVP_DigestSign(ctx, sig, &sig_len, da_buf_data(&pae), da_buf_len(&pae)), 1);
    assert_int_equal(da_dsse_add_signature(env, NULL, sig, sig_len), 0);
    EVP_MD_CTX_free(ctx);
    da_buf_free(&pae);
}

static void test_verify_p384_and_ed25519(void **state)
{
    struct da_dsse_envelope *env = hello_envelope();
    EVP_PKEY *p384 = ec_key("P-384");
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);

    (void)state;
    assert_non_null(ed);
    assert_non_null(rsa);
    assert_int_equal(da_dsse_sign_ecdsa_p256(p384, NULL, env), DA_ERR_VERIFY_KEY_TYPE);
    assert_int_equal(da_dsse_sign_ecdsa_p256(ed, NULL, env), DA_ERR_VERIFY_KEY_TYPE);
    assert_int_equal(da_dsse_sign_ecdsa_p256(rsa, NULL, env), DA_ERR_VERIFY_KEY_TYPE);
    add_openssl_signature(env, p384, EVP_sha384());
    assert_int_equal(da_dsse_verify(env, p384, NULL), 0);
    add_openssl_signature(env, ed, NULL);
    assert_int_equal(da_dsse_verify(env, ed, NULL), 0);
    add_openssl_signature(env, rsa, EVP_sha256());
    assert_int_equal(da_dsse_verify(env, rsa, NULL), DA_ERR_VERIFY_KEY_TYPE);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(rsa);
    da_dsse_envelope_free(env);
}

static void test_sign_failure_is_reported(void **state)
{
    struct da_dsse_envelope *env = hello_envelope();
    EVP_PKEY *key = ec_key("P-256");

    (void)state;
    fail_sign_init = 1;
    assert_int_equal(da_dsse_sign_ecdsa_p256(key, "k", env), DA_ERR_CRYPTO);
    assert_int_equal(env->nsigs, 0);
    assert_int_equal(da_dsse_sign_ecdsa_p256(key, "k", env), 0);
    EVP_PKEY_free(key);
    da_dsse_envelope_free(env);
}

static void test_signature_limits(void **state)
{
    struct da_dsse_envelope *env = hello_envelope();
    unsigned char big[DA_MAX_DSSE_SIG_LEN + 1];
    char keyid[DA_MAX_DSSE_KEYID + 2];
    EVP_PKEY *key = ec_key("P-256");
    int i;

    (void)state;
    memset(big, 7, sizeof(big));
    memset(keyid, 'k', sizeof(keyid) - 1);
    keyid[sizeof(keyid) - 1] = '\0';
    assert_int_equal(da_dsse_add_signature(env, NULL, big, sizeof(big)), DA_ERR_TOO_LARGE);
    assert_int_equal(da_dsse_add_signature(env, keyid, big, 8), DA_ERR_TOO_LARGE);
    assert_int_equal(da_dsse_add_signature(env, NULL, big, 0), DA_ERR_INVALID_ARG);
    for (i = 0; i < DA_MAX_DSSE_SIGS; i++)
        assert_int_equal(da_dsse_add_signature(env, NULL, big, 8), 0);
    assert_int_equal(da_dsse_add_signature(env, NULL, big, 8), DA_ERR_TOO_LARGE);
    assert_int_equal(da_dsse_sign_ecdsa_p256(key, NULL, env), DA_ERR_TOO_LARGE);
    EVP_PKEY_free(key);
    da_dsse_envelope_free(env);
}

static int decode_rc(const char *json)
{
    struct da_dsse_envelope *env = (struct da_dsse_envelope *)&env;
    int r = da_dsse_envelope_decode(json, strlen(json), &env);

    if (r != 0)
        assert_null(env);
    da_dsse_envelope_free(env);
    return r;
}

#define ENV_PREFIX "{\"payloadType\":\"t\",\"payload\":\"aGk=\","

static void test_decode_errors(void **state)
{
    (void)state;
    assert_int_equal(decode_rc(ENV_PREFIX "\"signatures\":[{\"sig\":\"AQ==\"}]}"), 0);
    assert_int_equal(decode_rc("{\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AQ==\"}]}"),
                     DA_ERR_DSSE_FORMAT);
    assert_int_equal(decode_rc("{\"payload\":\"aGk=\",\"signatures\":[{\"sig\":\"AQ==\"}]}"),
                     DA_ERR_DSSE_FORMAT);
    assert_int_equal(decode_rc("{\"payloadType\":\"t\",\"payload\":\"aGk=\"}"), DA_ERR_DSSE_FORMAT);
    assert_int_equal(decode_rc(ENV_PREFIX "\"signatures\":[]}"), DA_ERR_DSSE_NO_SIGNATURE);
    assert_int_equal(decode_rc(ENV_PREFIX "\"signatures\":{}}"), DA_ERR_DSSE_FORMAT);
    assert_int_equal(decode_rc(ENV_PREFIX "\"signatures\":[1]}"), DA_ERR_DSSE_FORMAT);
    assert_int_equal(decode_rc(ENV_PREFIX "\"signatures\":[{}]}"), DA_ERR_DSSE_FORMAT);
    assert_int_equal(decode_rc(ENV_PREFIX "\"signatures\":[{\"sig\":1}]}"), DA_ERR_DSSE_FORMAT);
    assert_int_equal(decode_rc(ENV_PREFIX "\"signatures\":[{\"sig\":\"\"}]}"), DA_ERR_DSSE_FORMAT);
    assert_int_equal(decode_rc(ENV_PREFIX "\"signatures\":[{\"sig\":\"AQ==\",\"keyid\":5}]}"),
                     DA_ERR_DSSE_FORMAT);
    assert_int_equal(decode_rc("{\"payloadType\":1,\"payload\":\"aGk=\",\"signatures\":[]}"),
                     DA_ERR_DSSE_FORMAT);
    assert_int_equal(decode_rc("{\"payloadType\":\"t\",\"payload\":null,\"signatures\":[]}"),
                     DA_ERR_DSSE_FORMAT);
    assert_int_equal(decode_rc("[]"), DA_ERR_DSSE_FORMAT);
    assert_int_equal(decode_rc("\"x\""), DA_ERR_DSSE_FORMAT);
    assert_int_equal(decode_rc(ENV_PREFIX "\"signatures\":[{\"sig\":\"AQ==\"}]} x"),
                     DA_ERR_TRAILING_DATA);
    assert_int_equal(decode_rc(ENV_PREFIX "\"signatures\":[{\"sig\":\"AQ==\"}],\"payload\":\"\"}"),
                     DA_ERR_JSON_DUP_KEY);
}

static void test_decode_base64_strictness(void **state)
{
    (void)state;
    /* payload "hi" is aGk= ; each variant below is refused */
    assert_int_equal(decode_rc("{\"payloadType\":\"t\",\"payload\":\"aGk\","
                               "\"signatures\":[{\"sig\":\"AQ==\"}]}"),
                     DA_ERR_BASE64);
    assert_int_equal(decode_rc("{\"payloadType\":\"t\",\"payload\":\"aGl=\","
                               "\"signatures\":[{\"sig\":\"AQ==\"}]}"),
                     DA_ERR_BASE64);
    assert_int_equal(decode_rc("{\"payloadType\":\"t\",\"payload\":\"aG k=\","
                               "\"signatures\":[{\"sig\":\"AQ==\"}]}"),
                     DA_ERR_BASE64);
    assert_int_equal(decode_rc("{\"payloadType\":\"t\",\"payload\":\"aGk=\\n\","
                               "\"signatures\":[{\"sig\":\"AQ==\"}]}"),
                     DA_ERR_BASE64);
    assert_int_equal(decode_rc(ENV_PREFIX "\"signatures\":[{\"sig\":\"-_8=\"}]}"), DA_ERR_BASE64);
    assert_int_equal(decode_rc(ENV_PREFIX "\"signatures\":[{\"sig\":\"AQ\"}]}"), DA_ERR_BASE64);
    assert_int_equal(decode_rc(ENV_PREFIX "\"signatures\":[{\"sig\":\"+/8=\"}]}"), 0);
}

static void test_decode_ignores_unknown_members(void **state)
{
    const char *json = "{\"extra\":{\"deep\":[1,2]},\"payloadType\":\"t\",\"payload\":\"aGk=\","
                       "\"signatures\":[{\"sig\":\"AQ==\",\"cert\":\"PEM\",\"keyid\":\"\"}]}";
    struct da_dsse_envelope *env = NULL;

    (void)state;
    assert_int_equal(da_dsse_envelope_decode(json, strlen(json), &env), 0);
    assert_int_equal(env->payload_len, 2);
    assert_memory_equal(env->payload, "hi", 2);
    assert_string_equal(env->sigs[0].keyid, "");
    da_dsse_envelope_free(env);
}

/* An envelope with n signatures of one byte each. */
static char *envelope_with_sigs(int n)
{
    size_t size = 64 + (size_t)n * 16;
    char *s = malloc(size);
    size_t o;
    int i;

    assert_non_null(s);
    o = (size_t)snprintf(s, size, "%s\"signatures\":[", ENV_PREFIX);
    for (i = 0; i < n; i++)
        o += (size_t)snprintf(s + o, size - o, "%s{\"sig\":\"AQ==\"}", i ? "," : "");
    snprintf(s + o, size - o, "]}");
    return s;
}

static void test_decode_caps(void **state)
{
    char *s;
    size_t n;
    cJSON *root;
    struct da_dsse_envelope *env = NULL;
    struct da_buf b;

    (void)state;
    s = envelope_with_sigs(DA_MAX_DSSE_SIGS);
    assert_int_equal(decode_rc(s), 0);
    free(s);
    s = envelope_with_sigs(DA_MAX_DSSE_SIGS + 1);
    assert_int_equal(decode_rc(s), DA_ERR_TOO_LARGE);
    free(s);
    assert_int_equal(da_dsse_envelope_decode("{}", DA_MAX_DSSE_ENVELOPE + 1, &env),
                     DA_ERR_TOO_LARGE);

    /* payload one byte over its cap, given as a tree (the text cap is bigger) */
    n = da_base64_encoded_len(DA_MAX_DSSE_PAYLOAD + 1, DA_BASE64_STD);
    s = malloc(n + 1);
    assert_non_null(s);
    memset(s, 'A', n);
    s[n] = '\0';
    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "payloadType", "t");
    cJSON_AddStringToObject(root, "payload", s);
    cJSON_AddItemToObject(root, "signatures", cJSON_CreateArray());
    cJSON_AddItemToArray(cJSON_GetObjectItem(root, "signatures"), cJSON_CreateObject());
    cJSON_AddStringToObject(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "signatures"), 0), "sig",
                            "AQ==");
    assert_int_equal(da_dsse_envelope_from_json(root, &env), DA_ERR_TOO_LARGE);
    assert_null(env);
    cJSON_Delete(root);
    free(s);

    /* oversized signature, key id and payload type */
    da_buf_init(&b, 4096);
    {
        unsigned char big[DA_MAX_DSSE_SIG_LEN + 3];
        memset(big, 1, sizeof(big));
        assert_int_equal(da_buf_append_str(&b, ENV_PREFIX "\"signatures\":[{\"sig\":\""), 0);
        assert_int_equal(da_base64_encode(big, sizeof(big), DA_BASE64_STD, &b), 0);
        assert_int_equal(da_buf_append_str(&b, "\"}]}"), 0);
    }
    assert_int_equal(decode_rc(da_buf_str(&b)), DA_ERR_TOO_LARGE);
    da_buf_reset(&b);
    assert_int_equal(da_buf_append_str(&b, ENV_PREFIX "\"signatures\":[{\"sig\":\"AQ==\","
                                                      "\"keyid\":\""),
                     0);
    for (n = 0; n <= DA_MAX_DSSE_KEYID; n++)
        assert_int_equal(da_buf_append_byte(&b, 'k'), 0);
    assert_int_equal(da_buf_append_str(&b, "\"}]}"), 0);
    assert_int_equal(decode_rc(da_buf_str(&b)), DA_ERR_TOO_LARGE);
    da_buf_reset(&b);
    assert_int_equal(da_buf_append_str(&b, "{\"payloadType\":\""), 0);
    for (n = 0; n <= DA_MAX_DSSE_TYPE; n++)
        assert_int_equal(da_buf_append_byte(&b, 't'), 0);
    assert_int_equal(
        da_buf_append_str(&b, "\",\"payload\":\"\",\"signatures\":[{\"sig\":\"AQ==\"}]}"), 0);
    assert_int_equal(decode_rc(da_buf_str(&b)), DA_ERR_TOO_LARGE);
    da_buf_free(&b);
}

static void test_to_json_allows_extra_members(void **state)
{
    struct da_dsse_envelope *env = hello_envelope(), *back = NULL;
    cJSON *root = NULL;
    char *text;

    (void)state;
    assert_int_equal(da_dsse_add_signature(env, "k", (const unsigned char *)"s", 1), 0);
    assert_int_equal(da_dsse_envelope_to_json(env, &root), 0);
    cJSON_AddStringToObject(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "signatures"), 0), "cert",
                            "chain");
    text = cJSON_PrintUnformatted(root);
    assert_non_null(text);
    assert_int_equal(da_dsse_envelope_decode(text, strlen(text), &back), 0);
    assert_int_equal(back->nsigs, 1);
    assert_string_equal(back->sigs[0].keyid, "k");
    free(text);
    cJSON_Delete(root);
    da_dsse_envelope_free(back);
    da_dsse_envelope_free(env);
    assert_int_equal(da_dsse_envelope_to_json(NULL, &root), DA_ERR_INVALID_ARG);
    assert_null(root);
}

static void test_new_arguments(void **state)
{
    struct da_dsse_envelope *env = NULL;
    char type[DA_MAX_DSSE_TYPE + 2];

    (void)state;
    memset(type, 't', sizeof(type) - 1);
    type[sizeof(type) - 1] = '\0';
    assert_int_equal(da_dsse_envelope_new(type, "", 0, &env), DA_ERR_TOO_LARGE);
    assert_int_equal(da_dsse_envelope_new("t", NULL, 1, &env), DA_ERR_INVALID_ARG);
    assert_int_equal(da_dsse_envelope_new(NULL, "x", 1, &env), DA_ERR_INVALID_ARG);
    assert_int_equal(da_dsse_envelope_new("t", "x", DA_MAX_DSSE_PAYLOAD + 1, &env),
                     DA_ERR_TOO_LARGE);
    assert_null(env);
    assert_int_equal(da_dsse_envelope_new("t", NULL, 0, &env), 0);
    assert_int_equal(env->payload_len, 0);
    da_dsse_envelope_free(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pae_vector),
        cmocka_unit_test(test_pae_edges),
        cmocka_unit_test(test_encode_exact_and_round_trip),
        cmocka_unit_test(test_sign_and_verify_p256),
        cmocka_unit_test(test_verify_picks_any_signature),
        cmocka_unit_test(test_verify_p384_and_ed25519),
        cmocka_unit_test(test_sign_failure_is_reported),
        cmocka_unit_test(test_signature_limits),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_decode_base64_strictness),
        cmocka_unit_test(test_decode_ignores_unknown_members),
        cmocka_unit_test(test_decode_caps),
        cmocka_unit_test(test_to_json_allows_extra_members),
        cmocka_unit_test(test_new_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

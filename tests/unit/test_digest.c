#include "da_test.h"

#include <string.h>

#include <openssl/evp.h>

#include "digest.h"
#include "err.h"

/* Error-path doubles: when set, the wrapped EVP call fails once. */
static int fail_digest_init;
static int fail_digest_oneshot;

int __real_EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl);
int __wrap_EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl);
int __wrap_EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl)
{
    if (fail_digest_init) {
        fail_digest_init = 0;
        return 0;
    }
    return __real_EVP_DigestInit_ex(ctx, type, impl);
}

int __real_EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size,
                      const EVP_MD *type, ENGINE *impl);
int __wrap_EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size,
                      const EVP_MD *type, ENGINE *impl);
int __wrap_EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size,
                      const EVP_MD *type, ENGINE *impl)
{
    if (fail_digest_oneshot) {
        fail_digest_oneshot = 0;
        return 0;
    }
    return __real_EVP_Digest(data, count, md, size, type, impl);
}

/* FIPS 180-2 example messages. */
#define ABC_SHA256 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define ABC_SHA384                                                                                 \
    "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c8" \
    "25a7"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define LONG_MSG     "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
#define LONG_SHA256  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"

static void test_one_shot_vectors(void **state)
{
    char hex[DA_DIGEST_HEX_SIZE];

    (void)state;
    assert_int_equal(da_sha256_hex("abc", 3, hex), 0);
    assert_string_equal(hex, ABC_SHA256);
    assert_int_equal(da_sha256_hex("", 0, hex), 0);
    assert_string_equal(hex, EMPTY_SHA256);
    assert_int_equal(da_sha256_hex(NULL, 0, hex), 0);
    assert_string_equal(hex, EMPTY_SHA256);
    assert_int_equal(da_sha256_hex(LONG_MSG, strlen(LONG_MSG), hex), 0);
    assert_string_equal(hex, LONG_SHA256);
    assert_int_equal(da_digest_hex(DA_DIGEST_SHA384, "abc", 3, hex, sizeof(hex)), 0);
    assert_string_equal(hex, ABC_SHA384);
}

static void test_binary_matches_hex(void **state)
{
    unsigned char d256[DA_SHA256_LEN], d384[DA_SHA384_LEN];

    (void)state;
    assert_int_equal(da_sha256("abc", 3, d256), 0);
    assert_int_equal(d256[0], 0xba);
    assert_int_equal(d256[31], 0xad);
    assert_int_equal(da_sha384("abc", 3, d384), 0);
    assert_int_equal(d384[0], 0xcb);
    assert_int_equal(d384[47], 0xa7);
}

static void test_incremental_equals_one_shot(void **state)
{
    static const enum da_digest_alg algs[] = {DA_DIGEST_SHA256, DA_DIGEST_SHA384};
    unsigned char whole[DA_DIGEST_MAX_LEN], parts[DA_DIGEST_MAX_LEN];
    struct da_digest_ctx *ctx = NULL;
    unsigned char data[1000];
    size_t i, a, off, step;

    (void)state;
    for (i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 7 + 3);
    for (a = 0; a < 2; a++) {
        assert_int_equal(da_digest(algs[a], data, sizeof(data), whole), 0);
        assert_int_equal(da_digest_new(algs[a], &ctx), 0);
        for (off = 0, step = 1; off < sizeof(data); off += step, step = step * 2 + 1) {
            if (step > sizeof(data) - off)
                step = sizeof(data) - off;
            assert_int_equal(da_digest_update(ctx, data + off, step), 0);
        }
        assert_int_equal(da_digest_update(ctx, NULL, 0), 0);
        assert_int_equal(da_digest_final(ctx, parts, sizeof(parts)), 0);
        assert_memory_equal(whole, parts, da_digest_len(algs[a]));
        da_digest_free(ctx);
        ctx = NULL;
    }
}

static void test_context_misuse(void **state)
{
    unsigned char out[DA_DIGEST_MAX_LEN];
    struct da_digest_ctx *ctx = (struct da_digest_ctx *)&ctx;

    (void)state;
    assert_int_equal(da_digest_new((enum da_digest_alg)7, &ctx), DA_ERR_INVALID_ARG);
    assert_null(ctx);
    assert_int_equal(da_digest_new(DA_DIGEST_SHA384, NULL), DA_ERR_INVALID_ARG);
    assert_int_equal(da_digest_new(DA_DIGEST_SHA384, &ctx), 0);
    assert_int_equal(da_digest_update(ctx, NULL, 3), DA_ERR_INVALID_ARG);
    assert_int_equal(da_digest_final(ctx, out, DA_SHA384_LEN - 1), DA_ERR_TOO_LARGE);
    assert_int_equal(da_digest_final(ctx, out, sizeof(out)), 0);
    assert_int_equal(da_digest_final(ctx, out, sizeof(out)), DA_ERR_INVALID_ARG);
    assert_int_equal(da_digest_update(ctx, "x", 1), DA_ERR_INVALID_ARG);
    da_digest_free(ctx);
    da_digest_free(NULL);
    assert_int_equal(da_digest_update(NULL, "x", 1), DA_ERR_INVALID_ARG);
    assert_int_equal(da_digest_final(NULL, out, sizeof(out)), DA_ERR_INVALID_ARG);
}

static void test_bad_arguments(void **state)
{
    unsigned char out[DA_DIGEST_MAX_LEN];
    char hex[DA_DIGEST_HEX_SIZE];

    (void)state;
    assert_int_equal(da_digest_len((enum da_digest_alg)7), 0);
    assert_null(da_digest_name((enum da_digest_alg)7));
    assert_string_equal(da_digest_name(DA_DIGEST_SHA256), "sha256");
    assert_string_equal(da_digest_name(DA_DIGEST_SHA384), "sha384");
    assert_int_equal(da_digest((enum da_digest_alg)7, "a", 1, out), DA_ERR_INVALID_ARG);
    assert_int_equal(da_sha256(NULL, 1, out), DA_ERR_INVALID_ARG);
    assert_int_equal(da_sha256("a", 1, NULL), DA_ERR_INVALID_ARG);
    assert_int_equal(da_digest_hex(DA_DIGEST_SHA384, "a", 1, hex, DA_SHA384_HEX_SIZE - 1),
                     DA_ERR_TOO_LARGE);
    assert_int_equal(da_digest_hex(DA_DIGEST_SHA256, "a", 1, NULL, 65), DA_ERR_INVALID_ARG);
}

static void test_crypto_failures_are_reported(void **state)
{
    unsigned char out[DA_DIGEST_MAX_LEN];
    struct da_digest_ctx *ctx = NULL;

    (void)state;
    fail_digest_oneshot = 1;
    assert_int_equal(da_sha256("abc", 3, out), DA_ERR_CRYPTO);
    fail_digest_init = 1;
    assert_int_equal(da_digest_new(DA_DIGEST_SHA256, &ctx), DA_ERR_CRYPTO);
    assert_null(ctx);
    assert_int_equal(da_sha256("abc", 3, out), 0);
}

static void test_ct_equal(void **state)
{
    (void)state;
    assert_true(da_ct_equal("abcdef", "abcdef", 6));
    assert_false(da_ct_equal("abcdef", "abcdeg", 6));
    assert_false(da_ct_equal("xbcdef", "abcdef", 6));
    assert_true(da_ct_equal("abc", "abd", 2));
    assert_true(da_ct_equal(NULL, NULL, 0));
    assert_false(da_ct_equal(NULL, "a", 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_shot_vectors),
        cmocka_unit_test(test_binary_matches_hex),
        cmocka_unit_test(test_incremental_equals_one_shot),
        cmocka_unit_test(test_context_misuse),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_crypto_failures_are_reported),
        cmocka_unit_test(test_ct_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

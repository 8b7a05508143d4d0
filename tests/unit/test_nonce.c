/* Stateless report nonces: MAC, expiry, single use through the store. */
#include "da_test.h"

#include <string.h>

#include "err.h"
#include "nonce.h"

static const uint8_t key[32] = "server-secret-server-secret-0123";
static const uint8_t other_key[32] = "server-secret-server-secret-9999";

struct store {
    uint8_t seen[4][DA_NONCE_LEN];
    int n;
    int fail;
};

static int mark(const uint8_t *nonce, size_t len, void *ctx)
{
    struct store *s = ctx;
    int i;

    if (s->fail)
        return DA_ERR_STORE;
    for (i = 0; i < s->n; i++) {
        if (memcmp(s->seen[i], nonce, len) == 0)
            return DA_ERR_VERIFY_NONCE_REPLAY;
    }
    memcpy(s->seen[s->n++], nonce, len);
    return 0;
}

static void test_make_and_verify(void **state)
{
    uint8_t a[DA_NONCE_LEN], b[DA_NONCE_LEN];
    struct store s = {.n = 0};
    uint64_t expiry = 0;

    (void)state;
    assert_int_equal(da_nonce_make(key, sizeof(key), NULL, 0, 1000, 60, a), 0);
    assert_int_equal(da_nonce_make(key, sizeof(key), NULL, 0, 1000, 60, b), 0);
    assert_memory_not_equal(a, b, DA_NONCE_LEN);
    assert_int_equal(
        da_nonce_verify(key, sizeof(key), NULL, 0, a, sizeof(a), 1059, mark, &s, &expiry), 0);
    assert_int_equal(expiry, 1060);
    assert_int_equal(da_nonce_verify(key, sizeof(key), NULL, 0, a, sizeof(a), 1059, mark, &s, NULL),
                     DA_ERR_VERIFY_NONCE_REPLAY);
    assert_int_equal(da_nonce_verify(key, sizeof(key), NULL, 0, b, sizeof(b), 1060, mark, &s, NULL),
                     DA_ERR_VERIFY_NONCE_EXPIRED);
    assert_int_equal(s.n, 1); /* the expired one was not recorded */
    s.fail = 1;
    assert_int_equal(da_nonce_verify(key, sizeof(key), NULL, 0, b, sizeof(b), 1001, mark, &s, NULL),
                     DA_ERR_STORE);
}

static void test_forgeries(void **state)
{
    uint8_t n[DA_NONCE_LEN];
    size_t i;

    (void)state;
    assert_int_equal(da_nonce_make(key, sizeof(key), NULL, 0, 1000, 60, n), 0);
    assert_int_equal(da_nonce_verify(other_key, sizeof(other_key), NULL, 0, n, sizeof(n), 1001,
                                     NULL, NULL, NULL),
                     DA_ERR_VERIFY_NONCE);
    /* Any changed byte (random part, expiry, MAC) breaks it. */
    for (i = 0; i < DA_NONCE_LEN; i++) {
        n[i] ^= 0x01;
        assert_int_equal(
            da_nonce_verify(key, sizeof(key), NULL, 0, n, sizeof(n), 1001, NULL, NULL, NULL),
            DA_ERR_VERIFY_NONCE);
        n[i] ^= 0x01;
    }
    assert_int_equal(
        da_nonce_verify(key, sizeof(key), NULL, 0, n, sizeof(n) - 1, 1001, NULL, NULL, NULL),
        DA_ERR_VERIFY_NONCE);
    /* A genuine nonce with a byte appended is not that nonce. */
    {
        uint8_t longer[DA_NONCE_LEN + 1];

        memcpy(longer, n, sizeof(n));
        longer[DA_NONCE_LEN] = 0;
        assert_int_equal(da_nonce_verify(key, sizeof(key), NULL, 0, longer, sizeof(longer), 1001,
                                         NULL, NULL, NULL),
                         DA_ERR_VERIFY_NONCE);
    }
    assert_int_equal(
        da_nonce_verify(key, sizeof(key), NULL, 0, n, sizeof(n), 1001, NULL, NULL, NULL), 0);
}

static void test_arguments(void **state)
{
    uint8_t n[DA_NONCE_LEN];

    (void)state;
    assert_int_equal(da_nonce_make(key, 16, NULL, 0, 1000, 60, n), DA_ERR_INVALID_ARG);
    assert_int_equal(da_nonce_make(key, sizeof(key), NULL, 0, 1000, 0, n), DA_ERR_INVALID_ARG);
    assert_int_equal(da_nonce_make(key, sizeof(key), NULL, 0, UINT64_MAX - 5, 60, n),
                     DA_ERR_INVALID_ARG);
    assert_int_equal(da_nonce_verify(key, 16, NULL, 0, n, sizeof(n), 0, NULL, NULL, NULL),
                     DA_ERR_INVALID_ARG);
}

/* The MAC covers the binding: the same nonce checked for another binding,
 * one byte longer or shorter, or with none, is not this server's nonce. */
static void test_binding(void **state)
{
    static const uint8_t bind_a[] = "agent-a|sha256:0-7";
    static const uint8_t bind_b[] = "agent-b|sha256:0-7";
    uint8_t n[DA_NONCE_LEN], big[DA_NONCE_BIND_MAX + 1];

    (void)state;
    assert_int_equal(da_nonce_make(key, sizeof(key), bind_a, sizeof(bind_a), 1000, 60, n), 0);
    assert_int_equal(da_nonce_verify(key, sizeof(key), bind_a, sizeof(bind_a), n, sizeof(n), 1001,
                                     NULL, NULL, NULL),
                     0);
    assert_int_equal(da_nonce_verify(key, sizeof(key), bind_b, sizeof(bind_b), n, sizeof(n), 1001,
                                     NULL, NULL, NULL),
                     DA_ERR_VERIFY_NONCE);
    assert_int_equal(da_nonce_verify(key, sizeof(key), bind_a, sizeof(bind_a) - 1, n, sizeof(n),
                                     1001, NULL, NULL, NULL),
                     DA_ERR_VERIFY_NONCE);
    assert_int_equal(
        da_nonce_verify(key, sizeof(key), NULL, 0, n, sizeof(n), 1001, NULL, NULL, NULL),
        DA_ERR_VERIFY_NONCE);
    /* a nonce made without a binding does not verify with one */
    assert_int_equal(da_nonce_make(key, sizeof(key), NULL, 0, 1000, 60, n), 0);
    assert_int_equal(da_nonce_verify(key, sizeof(key), bind_a, sizeof(bind_a), n, sizeof(n), 1001,
                                     NULL, NULL, NULL),
                     DA_ERR_VERIFY_NONCE);
    memset(big, 'x', sizeof(big));
    assert_int_equal(da_nonce_make(key, sizeof(key), big, sizeof(big), 1000, 60, n),
                     DA_ERR_INVALID_ARG);
    assert_int_equal(da_nonce_make(key, sizeof(key), big, DA_NONCE_BIND_MAX, 1000, 60, n), 0);
    assert_int_equal(da_nonce_verify(key, sizeof(key), big, DA_NONCE_BIND_MAX, n, sizeof(n), 1001,
                                     NULL, NULL, NULL),
                     0);
    assert_int_equal(da_nonce_make(key, sizeof(key), NULL, 4, 1000, 60, n), DA_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_make_and_verify),
        cmocka_unit_test(test_forgeries),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_binding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

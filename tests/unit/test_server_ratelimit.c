#include "da_test.h"

#include <stdio.h>

#include "ratelimit.h"

static void test_bucket(void **state)
{
    struct srv_ratelimit *rl = NULL;
    int i;

    (void)state;
    assert_int_equal(srv_ratelimit_new(10, 3, &rl), 0);
    for (i = 0; i < 3; i++)
        assert_true(srv_ratelimit_take(rl, "10.0.0.1", 1000));
    assert_false(srv_ratelimit_take(rl, "10.0.0.1", 1000));
    /* another key has its own bucket */
    assert_true(srv_ratelimit_take(rl, "10.0.0.2", 1000));
    /* 10 per second: one token back after 100 ms, not before */
    assert_false(srv_ratelimit_take(rl, "10.0.0.1", 1050));
    assert_true(srv_ratelimit_take(rl, "10.0.0.1", 1150));
    assert_false(srv_ratelimit_take(rl, "10.0.0.1", 1150));
    /* refill stops at the burst */
    for (i = 0; i < 3; i++)
        assert_true(srv_ratelimit_take(rl, "10.0.0.1", 100000));
    assert_false(srv_ratelimit_take(rl, "10.0.0.1", 100000));
    srv_ratelimit_free(rl);
}

static void test_many_keys_bounded(void **state)
{
    struct srv_ratelimit *rl = NULL;
    char key[32];
    int i;

    (void)state;
    assert_int_equal(srv_ratelimit_new(1, 1, &rl), 0);
    for (i = 0; i < 50000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_true(srv_ratelimit_take(rl, key, (uint64_t)i));
    }
    srv_ratelimit_free(rl);
    assert_int_equal(srv_ratelimit_new(0, 1, &rl), -2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket),
        cmocka_unit_test(test_many_keys_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

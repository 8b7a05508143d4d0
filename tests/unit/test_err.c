#include "da_test.h"

#include <string.h>

#include "err.h"

static void test_known_codes(void **state)
{
    (void)state;
    assert_string_equal(da_strerror(DA_OK), "success");
    assert_string_equal(da_err_code(DA_ERR_TOO_LARGE), "too_large");
    assert_int_equal(da_err_http_status(DA_ERR_TOO_LARGE), 413);
    assert_string_equal(da_err_code(DA_ERR_VERIFY_SIGNATURE), "bad_signature");
    assert_int_equal(da_err_http_status(DA_ERR_RATE_LIMITED), 429);
    assert_int_equal(da_err_http_status(DA_ERR_AUTH_MISSING), 401);
    assert_int_equal(da_err_http_status(DA_ERR_FORBIDDEN), 403);
}

static void test_unknown_code_is_not_success(void **state)
{
    (void)state;
    assert_string_equal(da_strerror(-9999), "unknown error");
    assert_string_equal(da_err_code(-9999), "internal");
    assert_int_equal(da_err_http_status(-9999), 500);
}

/* Every code in the ranges has a distinct message: no copy-paste entries. */
static void test_messages_distinct(void **state)
{
    const char *seen[1000];
    int n = 0, c, i;

    (void)state;
    for (c = -1; c > -1000; c--) {
        const char *m = da_strerror(c);
        if (strcmp(m, "unknown error") == 0)
            continue;
        for (i = 0; i < n; i++)
            assert_string_not_equal(seen[i], m);
        seen[n++] = m;
    }
    assert_true(n > 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_codes),
        cmocka_unit_test(test_unknown_code_is_not_success),
        cmocka_unit_test(test_messages_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

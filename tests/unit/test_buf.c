#include "da_test.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"

static void test_append_within_cap(void **state)
{
    struct da_buf b;

    (void)state;
    da_buf_init(&b, 16);
    assert_int_equal(da_buf_len(&b), 0);
    assert_string_equal(da_buf_str(&b), "");
    assert_int_equal(da_buf_append_str(&b, "hello"), 0);
    assert_int_equal(da_buf_append_byte(&b, ' '), 0);
    assert_int_equal(da_buf_printf(&b, "%d-%s", 42, "x"), 0);
    assert_string_equal(da_buf_str(&b), "hello 42-x");
    assert_int_equal(da_buf_len(&b), 10);
    da_buf_free(&b);
}

static void test_cap_is_enforced_and_buffer_unchanged(void **state)
{
    struct da_buf b;

    (void)state;
    da_buf_init(&b, 8);
    assert_int_equal(da_buf_append_str(&b, "12345678"), 0);
    assert_int_equal(da_buf_append_byte(&b, '9'), DA_ERR_TOO_LARGE);
    assert_int_equal(da_buf_printf(&b, "%s", "z"), DA_ERR_TOO_LARGE);
    assert_string_equal(da_buf_str(&b), "12345678");
    assert_int_equal(da_buf_len(&b), 8);
    da_buf_free(&b);

    da_buf_init(&b, 4);
    assert_int_equal(da_buf_append(&b, "12345", 5), DA_ERR_TOO_LARGE);
    assert_int_equal(da_buf_len(&b), 0);
    assert_int_equal(da_buf_append(&b, NULL, 1), DA_ERR_INVALID_ARG);
    assert_int_equal(da_buf_append_str(&b, NULL), DA_ERR_INVALID_ARG);
    da_buf_free(&b);
}

static void test_growth_keeps_content(void **state)
{
    struct da_buf b;
    size_t i;

    (void)state;
    da_buf_init(&b, 100000);
    for (i = 0; i < 10000; i++)
        assert_int_equal(da_buf_append_byte(&b, (unsigned char)('a' + i % 26)), 0);
    assert_int_equal(da_buf_len(&b), 10000);
    for (i = 0; i < 10000; i++)
        assert_int_equal(da_buf_data(&b)[i], 'a' + i % 26);
    assert_int_equal(da_buf_data(&b)[10000], '\0');
    da_buf_free(&b);
}

static void test_take_transfers_ownership(void **state)
{
    struct da_buf b;
    unsigned char *p;
    size_t n = 99;

    (void)state;
    da_buf_init(&b, 32);
    p = da_buf_take(&b, &n);
    assert_non_null(p);
    assert_int_equal(n, 0);
    assert_string_equal((char *)p, "");
    free(p);

    assert_int_equal(da_buf_append_str(&b, "secret"), 0);
    p = da_buf_take(&b, &n);
    assert_int_equal(n, 6);
    assert_string_equal((char *)p, "secret");
    assert_int_equal(da_buf_len(&b), 0);
    assert_int_equal(da_buf_cap(&b), 32);
    assert_int_equal(da_buf_append_str(&b, "again"), 0);
    assert_string_equal(da_buf_str(&b), "again");
    free(p);
    da_buf_free(&b);
}

static void test_reset_and_free_null(void **state)
{
    struct da_buf b;

    (void)state;
    da_buf_init(&b, 32);
    assert_int_equal(da_buf_append_str(&b, "abc"), 0);
    da_buf_reset(&b);
    assert_int_equal(da_buf_len(&b), 0);
    assert_string_equal(da_buf_str(&b), "");
    da_buf_free(&b);
    da_buf_free(&b);
    da_buf_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_within_cap),
        cmocka_unit_test(test_cap_is_enforced_and_buffer_unchanged),
        cmocka_unit_test(test_growth_keeps_content),
        cmocka_unit_test(test_take_transfers_ownership),
        cmocka_unit_test(test_reset_and_free_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

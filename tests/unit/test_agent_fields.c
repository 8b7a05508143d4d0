#include "da_test.h"

#include <string.h>

#include "err.h"
#include "fields.h"

static void test_roundtrip_and_errors(void **state)
{
    static const size_t caps[3] = {8, 64, 8};
    struct agent_field f[3];
    struct da_buf b;
    char s[16];
    uint64_t v;

    (void)state;
    da_buf_init(&b, 1024);
    assert_int_equal(agent_fields_put_str(&b, "nonce"), 0);
    assert_int_equal(agent_fields_put(&b, NULL, 0), 0);
    assert_int_equal(agent_fields_put_u64(&b, 0x0102030405060708ull), 0);
    assert_int_equal(agent_fields_split(da_buf_data(&b), da_buf_len(&b), 3, caps, f), 0);
    assert_int_equal(agent_field_str(&f[0], s, sizeof(s)), 0);
    assert_string_equal(s, "nonce");
    assert_int_equal(f[1].len, 0);
    assert_int_equal(agent_field_u64(&f[2], &v), 0);
    assert_true(v == 0x0102030405060708ull);
    /* Fewer fields than the type has, more, or a field over its cap. */
    assert_int_equal(agent_fields_split(da_buf_data(&b), da_buf_len(&b) - 1, 3, caps, f),
                     DA_ERR_TRUNCATED);
    assert_int_equal(agent_fields_split(da_buf_data(&b), da_buf_len(&b), 2, caps, f),
                     DA_ERR_TRAILING_DATA);
    {
        static const size_t small[3] = {4, 64, 8};

        assert_int_equal(agent_fields_split(da_buf_data(&b), da_buf_len(&b), 3, small, f),
                         DA_ERR_TOO_LARGE);
    }
    assert_null(f[0].data); /* a failed split leaves nothing to use */
    assert_int_equal(agent_fields_split(da_buf_data(&b), da_buf_len(&b), 3, caps, f), 0);
    assert_int_equal(agent_field_u64(&f[0], &v), DA_ERR_INVALID_ARG);
    assert_int_equal(agent_field_str(&f[0], s, 3), DA_ERR_INVALID_ARG);
    da_buf_reset(&b);
    assert_int_equal(agent_fields_put(&b, "a\0b", 3), 0);
    assert_int_equal(agent_fields_split(da_buf_data(&b), da_buf_len(&b), 1, caps, f), 0);
    assert_int_equal(agent_field_str(&f[0], s, sizeof(s)), DA_ERR_INVALID_ARG);
    da_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_and_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

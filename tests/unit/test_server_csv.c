/* CSV fields (server/csv.h): RFC 4180 quoting and the formula defence,
 * field by field, and the cap of the buffer they go into. */
#include "da_test.h"

#include <string.h>

#include "buf.h"
#include "csv.h"
#include "err.h"

static void expect_field(const char *text, const char *want)
{
    struct da_buf b;

    da_buf_init(&b, 1024);
    assert_int_equal(srv_csv_field(&b, text, true), 0);
    if (strcmp(da_buf_str(&b), want) != 0)
        fail_msg("field [%s] written as [%s], want [%s]", text, da_buf_str(&b), want);
    da_buf_free(&b);
}

static void test_rfc4180_quoting(void **state)
{
    (void)state;
    expect_field("", "");
    expect_field("build-01", "build-01");
    expect_field("a,b", "\"a,b\"");
    expect_field("say \"hi\"", "\"say \"\"hi\"\"\"");
    expect_field("\"", "\"\"\"\"");
    expect_field("two\nlines", "\"two\nlines\"");
    expect_field("cr\rhere", "\"cr\rhere\"");
    expect_field("2026-12-06T08:00:00Z", "2026-12-06T08:00:00Z");
    expect_field("x=1", "x=1"); /* only a leading sign counts */
}

static void test_formula_defence(void **state)
{
    (void)state;
    expect_field("=1+1", "\"'=1+1\"");
    expect_field("+1", "\"'+1\"");
    expect_field("-1", "\"'-1\"");
    expect_field("@SUM(A1)", "\"'@SUM(A1)\"");
    expect_field("\tx", "\"'\tx\"");
    expect_field("\rx", "\"'\rx\"");
    expect_field("=HYPERLINK(\"http://x\",\"y\"),z",
                 "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\"),z\"");
    assert_true(srv_csv_formula_like("=a"));
    assert_false(srv_csv_formula_like("a="));
    assert_false(srv_csv_formula_like(""));
}

static void test_rows_and_cap(void **state)
{
    struct da_buf b;

    (void)state;
    da_buf_init(&b, 64);
    assert_int_equal(srv_csv_field(&b, "a", true), 0);
    assert_int_equal(srv_csv_field(&b, "b,c", false), 0);
    assert_int_equal(srv_csv_field(&b, "", false), 0);
    assert_int_equal(srv_csv_end_row(&b), 0);
    assert_string_equal(da_buf_str(&b), "a,\"b,c\",\r\n");
    da_buf_free(&b);

    da_buf_init(&b, 8);
    assert_int_equal(srv_csv_field(&b, "12345678", true), 0);
    assert_int_equal(srv_csv_end_row(&b), DA_ERR_TOO_LARGE);
    da_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4180_quoting),
        cmocka_unit_test(test_formula_defence),
        cmocka_unit_test(test_rows_and_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Query values of the list routes: RFC 3339 times against GNU date(1) as
 * the oracle, cursors round trip, and everything else refused with its
 * code. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "listing.h"

/* Seconds since the epoch of text, by `date -u -d TEXT +%s`. */
static long long date_oracle(const char *text)
{
    char cmd[256], out[64] = "";
    FILE *p;

    snprintf(cmd, sizeof(cmd), "date -u -d '%s' +%%s", text);
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(out, sizeof(out), p));
    assert_int_equal(pclose(p), 0);
    return strtoll(out, NULL, 10);
}

static void test_times_match_date(void **state)
{
    static const char *const times[] = {
        "1970-01-01T00:00:00Z",        "2026-12-06T05:00:00Z",      "2026-12-06T05:00:00.999Z",
        "2024-02-29T23:59:59Z",        "2000-03-01T00:00:00+00:00", "2026-12-06T07:30:00+02:30",
        "2026-12-05T22:00:00-07:00",   "1969-12-31T23:59:59Z",      "2100-01-01T00:00:00Z",
        "2026-06-30T12:00:00.5-00:00",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        int64_t got = 0;

        assert_int_equal(srv_time_parse_rfc3339(times[i], &got), 0);
        if ((long long)got != date_oracle(times[i]))
            fail_msg("%s: %lld, date says %lld", times[i], (long long)got, date_oracle(times[i]));
    }
}

static void test_times_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "yesterday",
        "2026-12-06",
        "2026-12-06 05:00:00Z",
        "2026-12-06T05:00:00",
        "2026-12-06T05:00Z",
        "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2026-12-06T24:00:00Z",
        "2026-12-06T05:60:00Z",
        "2026-12-06T05:00:61Z",
        "2026-12-06T05:00:00.Z",
        "2026-12-06T05:00:00.1234567890Z",
        "2026-12-06T05:00:00+2:00",
        "2026-12-06T05:00:00+24:00",
        "2026-12-06T05:00:00Z ",
        "+2026-12-06T05:00:00Z",
        "2026-12-06T05:00:00ZZ",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t t = 1;

        if (srv_time_parse_rfc3339(bad[i], &t) != DA_ERR_TIME_FORMAT)
            fail_msg("'%s' accepted", bad[i]);
    }
}

static void test_cursors(void **state)
{
    char id[80], out[SRV_CURSOR_SIZE];
    int64_t n = 0;

    (void)state;
    srv_cursor_format(1733450000, "0de5a9e0", out);
    assert_string_equal(out, "1733450000.0de5a9e0");
    assert_int_equal(srv_cursor_parse(out, true, &n, id, sizeof(id)), 0);
    assert_int_equal(n, 1733450000);
    assert_string_equal(id, "0de5a9e0");
    assert_int_equal(srv_cursor_parse("0", false, &n, NULL, 0), 0);
    assert_int_equal(srv_cursor_parse("9223372036854775807", false, &n, NULL, 0), 0);
    assert_int_equal(n, INT64_MAX);
    /* refused: overflow, signs, leading zeros, the wrong shape, bad ids */
    assert_int_equal(srv_cursor_parse("9223372036854775808", false, &n, NULL, 0),
                     DA_ERR_HTTP_CURSOR);
    assert_int_equal(srv_cursor_parse("-1", false, &n, NULL, 0), DA_ERR_HTTP_CURSOR);
    assert_int_equal(srv_cursor_parse("01", false, &n, NULL, 0), DA_ERR_HTTP_CURSOR);
    assert_int_equal(srv_cursor_parse("", false, &n, NULL, 0), DA_ERR_HTTP_CURSOR);
    assert_int_equal(srv_cursor_parse("12.ab", false, &n, NULL, 0), DA_ERR_HTTP_CURSOR);
    assert_int_equal(srv_cursor_parse("12", true, &n, id, sizeof(id)), DA_ERR_HTTP_CURSOR);
    assert_int_equal(srv_cursor_parse("12.", true, &n, id, sizeof(id)), DA_ERR_HTTP_CURSOR);
    assert_int_equal(srv_cursor_parse("12.a'b", true, &n, id, sizeof(id)), DA_ERR_HTTP_CURSOR);
    assert_int_equal(srv_cursor_parse("12.a.b", true, &n, id, sizeof(id)), DA_ERR_HTTP_CURSOR);
    assert_int_equal(srv_cursor_parse("12.abcd", true, &n, id, 4), DA_ERR_HTTP_CURSOR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_times_match_date),
        cmocka_unit_test(test_times_refused),
        cmocka_unit_test(test_cursors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

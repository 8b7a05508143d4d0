#include "da_test.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "log.h"

struct capture {
    int calls;
    enum da_log_level level;
    char line[4096];
};

static void capture_sink(enum da_log_level level, const char *line, void *ctx)
{
    struct capture *c = ctx;

    c->calls++;
    c->level = level;
    snprintf(c->line, sizeof(c->line), "%s", line);
}

static void test_prefix_and_level_filter(void **state)
{
    struct capture c = {0};

    (void)state;
    da_log_init("test", DA_LOG_INFO, DA_LOG_STDERR);
    da_log_set_sink(capture_sink, &c);
    da_info_f("value %d", 7);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.level, DA_LOG_INFO);
    assert_string_equal(c.line, "test_prefix_and_level_filter: value 7");
    da_debug_f("hidden");
    assert_int_equal(c.calls, 1);
    da_log_set_level(DA_LOG_DEBUG);
    da_debug_f("shown");
    assert_int_equal(c.calls, 2);
    da_log_set_sink(NULL, NULL);
}

static void test_long_line_truncated_not_overflowed(void **state)
{
    struct capture c = {0};
    char big[8000];

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    da_log_init("test", DA_LOG_DEBUG, DA_LOG_STDERR);
    da_log_set_sink(capture_sink, &c);
    da_error_f("%s", big);
    assert_int_equal(c.calls, 1);
    assert_true(strlen(c.line) < 2048);
    da_log_set_sink(NULL, NULL);
}

static void test_parse_level(void **state)
{
    enum da_log_level l;

    (void)state;
    assert_int_equal(da_log_parse_level("debug", &l), 0);
    assert_int_equal(l, DA_LOG_DEBUG);
    assert_int_equal(da_log_parse_level("warn", &l), 0);
    assert_int_equal(l, DA_LOG_WARN);
    assert_int_equal(da_log_parse_level("loud", &l), DA_ERR_INVALID_ARG);
    assert_int_equal(da_log_parse_level(NULL, &l), DA_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_and_level_filter),
        cmocka_unit_test(test_long_line_truncated_not_overflowed),
        cmocka_unit_test(test_parse_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

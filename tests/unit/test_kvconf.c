#include "da_test.h"

#include <limits.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps.h"
#include "err.h"
#include "kvconf.h"
#include "tmp_tree.h"

struct seen_entries {
    int n;
    char keys[8][64];
    char values[8][256];
    unsigned lines[8];
};

static int record(void *ctx, const char *key, const char *raw, unsigned line, char *reason,
                  size_t rs)
{
    struct seen_entries *s = ctx;

    (void)reason;
    (void)rs;
    if (s->n >= 8)
        return DA_ERR_TOO_LARGE;
    snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key);
    snprintf(s->values[s->n], sizeof(s->values[0]), "%s", raw);
    s->lines[s->n] = line;
    s->n++;
    return 0;
}

static void test_tokenizer_lines(void **state)
{
    const char *text = "# comment\n\n  a = 1\nb_2=two words  \r\n\tc =  # not a comment\n"
                       "d = \"quoted # too\"\ne =";
    struct seen_entries s;
    struct da_kvconf_error err;

    (void)state;
    memset(&s, 0, sizeof(s));
    assert_int_equal(da_kvconf_parse(text, strlen(text), "t.conf", record, &s, &err), 0);
    assert_int_equal(s.n, 5);
    assert_string_equal(s.keys[0], "a");
    assert_string_equal(s.values[0], "1");
    assert_int_equal(s.lines[0], 3);
    assert_string_equal(s.keys[1], "b_2");
    assert_string_equal(s.values[1], "two words");
    assert_string_equal(s.values[2], "# not a comment");
    assert_string_equal(s.values[3], "\"quoted # too\"");
    assert_string_equal(s.keys[4], "e");
    assert_string_equal(s.values[4], "");
    assert_int_equal(s.lines[4], 7);
}

static void expect_syntax_error(const char *text, size_t len, unsigned line, const char *needle)
{
    struct seen_entries s;
    struct da_kvconf_error err;
    char msg[512];

    memset(&s, 0, sizeof(s));
    assert_int_equal(da_kvconf_parse(text, len, "bad.conf", record, &s, &err), DA_ERR_CONFIG);
    assert_int_equal(err.line, line);
    da_kvconf_error_format(&err, msg, sizeof(msg));
    if (strstr(msg, needle) == NULL)
        fail_msg("'%s' does not contain '%s'", msg, needle);
    assert_true(strncmp(msg, "bad.conf:", 9) == 0);
}

static void test_tokenizer_errors(void **state)
{
    char big[DA_KVCONF_MAX_LINE + 16];
    struct seen_entries s;
    struct da_kvconf_error err;

    (void)state;
    expect_syntax_error("a = 1\nnovalue\n", 14, 2, "expected 'key = value'");
    expect_syntax_error("Upper = 1\n", 10, 1, "invalid character 'U'");
    expect_syntax_error("a-b = 1\n", 8, 1, "invalid character '-'");
    expect_syntax_error("= 1\n", 4, 1, "expected a key");
    expect_syntax_error("a = x\001y\n", 8, 1, "control character 0x01");
    expect_syntax_error("a = 1\nb = x\0y\n", 13, 2, "NUL byte");
    memset(big, 'x', sizeof(big));
    memcpy(big, "k = ", 4);
    expect_syntax_error(big, sizeof(big), 1, "line longer");
    /* Over the file cap as a whole. */
    {
        char *huge = calloc(1, DA_MAX_CONFIG + 2);

        assert_non_null(huge);
        memset(huge, '\n', DA_MAX_CONFIG + 1);
        assert_int_equal(da_kvconf_parse(huge, DA_MAX_CONFIG + 1, "huge.conf", record, &s, &err),
                         DA_ERR_TOO_LARGE);
        free(huge);
    }
}

static void test_unquote(void **state)
{
    char out[32], why[128];

    (void)state;
    assert_int_equal(da_kv_unquote("plain \"x\"", out, sizeof(out), why, sizeof(why)), 0);
    assert_string_equal(out, "plain \"x\"");
    assert_int_equal(da_kv_unquote("\"a \\\"b\\\" \\\\ c\"", out, sizeof(out), why, sizeof(why)),
                     0);
    assert_string_equal(out, "a \"b\" \\ c");
    assert_int_equal(da_kv_unquote("\"\"", out, sizeof(out), why, sizeof(why)), 0);
    assert_string_equal(out, "");
    assert_int_equal(da_kv_unquote("\"abc", out, sizeof(out), why, sizeof(why)), DA_ERR_CONFIG);
    assert_non_null(strstr(why, "unterminated"));
    assert_int_equal(da_kv_unquote("\"a\\.b\"", out, sizeof(out), why, sizeof(why)), 0);
    assert_string_equal(out, "a\\.b"); /* other backslashes stay as written */
    assert_int_equal(da_kv_unquote("\"a\" b", out, sizeof(out), why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_unquote("0123456789012345678901234567890123456789", out, sizeof(out),
                                   why, sizeof(why)),
                     DA_ERR_CONFIG);
}

static void test_numbers_durations_sizes(void **state)
{
    uint64_t v;
    char why[128];

    (void)state;
    assert_int_equal(da_kv_parse_u64("42", 1, 100, &v, why, sizeof(why)), 0);
    assert_int_equal(v, 42);
    assert_int_equal(da_kv_parse_u64("0", 1, 100, &v, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_u64("-1", 0, 100, &v, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_u64("+1", 0, 100, &v, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_u64("1 ", 0, 100, &v, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_u64("18446744073709551616", 0, UINT64_MAX, &v, why, sizeof(why)),
                     DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_u64("18446744073709551615", 0, UINT64_MAX, &v, why, sizeof(why)),
                     0);
    assert_true(v == UINT64_MAX);

    assert_int_equal(da_kv_parse_duration("30s", 0, 86400, &v, why, sizeof(why)), 0);
    assert_int_equal(v, 30);
    assert_int_equal(da_kv_parse_duration("15m", 0, 86400, &v, why, sizeof(why)), 0);
    assert_int_equal(v, 900);
    assert_int_equal(da_kv_parse_duration("1h", 0, 86400, &v, why, sizeof(why)), 0);
    assert_int_equal(v, 3600);
    assert_int_equal(da_kv_parse_duration("1d", 0, 86400, &v, why, sizeof(why)), 0);
    assert_int_equal(v, 86400);
    assert_int_equal(da_kv_parse_duration("2d", 0, 86400, &v, why, sizeof(why)), DA_ERR_CONFIG);
    assert_non_null(strstr(why, "outside"));
    assert_int_equal(da_kv_parse_duration("30", 0, 86400, &v, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_duration("1w", 0, 86400, &v, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_duration("1hm", 0, 86400, &v, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_duration("s", 0, 86400, &v, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(
        da_kv_parse_duration("999999999999999999d", 0, UINT64_MAX, &v, why, sizeof(why)),
        DA_ERR_CONFIG);

    assert_int_equal(da_kv_parse_size("512", 0, UINT64_MAX, &v, why, sizeof(why)), 0);
    assert_int_equal(v, 512);
    assert_int_equal(da_kv_parse_size("64M", 0, UINT64_MAX, &v, why, sizeof(why)), 0);
    assert_int_equal(v, 64u * 1024 * 1024);
    assert_int_equal(da_kv_parse_size("2G", 0, UINT64_MAX, &v, why, sizeof(why)), 0);
    assert_true(v == 2ull * 1024 * 1024 * 1024);
    assert_int_equal(da_kv_parse_size("1T", 0, UINT64_MAX, &v, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_size("1k", 0, UINT64_MAX, &v, why, sizeof(why)), DA_ERR_CONFIG);
}

static void test_paths_enum_bool(void **state)
{
    static const char *const names[] = {"one", "two", NULL};
    char out[64], why[128];
    bool b = false;
    int idx = -1;

    (void)state;
    assert_int_equal(da_kv_parse_abs_path("/var/lib/x", out, sizeof(out), why, sizeof(why)), 0);
    assert_string_equal(out, "/var/lib/x");
    assert_int_equal(da_kv_parse_abs_path("/", out, sizeof(out), why, sizeof(why)), 0);
    assert_int_equal(da_kv_parse_abs_path("var/x", out, sizeof(out), why, sizeof(why)),
                     DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_abs_path("/a//b", out, sizeof(out), why, sizeof(why)),
                     DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_abs_path("/a/../b", out, sizeof(out), why, sizeof(why)),
                     DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_abs_path("/a/./b", out, sizeof(out), why, sizeof(why)),
                     DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_abs_path("/a/", out, sizeof(out), why, sizeof(why)),
                     DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_abs_path("/a/..b/.c", out, sizeof(out), why, sizeof(why)), 0);

    assert_int_equal(da_kv_parse_enum("two", names, &idx, why, sizeof(why)), 0);
    assert_int_equal(idx, 1);
    assert_int_equal(da_kv_parse_enum("Two", names, &idx, why, sizeof(why)), DA_ERR_CONFIG);
    assert_non_null(strstr(why, "one|two"));

    assert_int_equal(da_kv_parse_bool("yes", &b, why, sizeof(why)), 0);
    assert_true(b);
    assert_int_equal(da_kv_parse_bool("false", &b, why, sizeof(why)), 0);
    assert_false(b);
    assert_int_equal(da_kv_parse_bool("1", &b, why, sizeof(why)), DA_ERR_CONFIG);
}

static void test_lists(void **state)
{
    struct da_kv_list l;
    char why[128];

    (void)state;
    assert_int_equal(da_kv_parse_list("", &l, why, sizeof(why)), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(da_kv_parse_list(" a , b,c ", &l, why, sizeof(why)), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.items[0], "a");
    assert_string_equal(l.items[1], "b");
    assert_string_equal(l.items[2], "c");
    da_kv_list_free(&l);
    assert_int_equal(da_kv_parse_list("\"x{1,3}\", \"a\\\"b\" ,plain", &l, why, sizeof(why)), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.items[0], "x{1,3}");
    assert_string_equal(l.items[1], "a\"b");
    assert_string_equal(l.items[2], "plain");
    da_kv_list_free(&l);
    da_kv_list_free(&l); /* twice is fine */
    assert_int_equal(da_kv_parse_list("a,,b", &l, why, sizeof(why)), DA_ERR_CONFIG);
    assert_non_null(strstr(why, "empty list element"));
    assert_int_equal(da_kv_parse_list("a,", &l, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_list("\"a\" b", &l, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_list("a\"b", &l, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(l.n, 0);
    {
        char many[DA_KVCONF_MAX_LIST * 2 + 8];
        size_t i, n = 0;

        for (i = 0; i <= DA_KVCONF_MAX_LIST; i++) {
            many[n++] = 'x';
            many[n++] = ',';
        }
        many[n - 1] = '\0';
        assert_int_equal(da_kv_parse_list(many, &l, why, sizeof(why)), DA_ERR_CONFIG);
        assert_non_null(strstr(why, "more than"));
    }
}

static void test_urls(void **state)
{
    struct da_kv_url u;
    char why[128];

    (void)state;
    assert_int_equal(da_kv_parse_url("https://att.example.com/v1", &u, why, sizeof(why)), 0);
    assert_true(u.https);
    assert_string_equal(u.host, "att.example.com");
    assert_int_equal(u.port, 443);
    assert_false(u.loopback);
    assert_int_equal(da_kv_parse_url("https://127.0.0.1:8443", &u, why, sizeof(why)), 0);
    assert_int_equal(u.port, 8443);
    assert_true(u.loopback);
    assert_int_equal(da_kv_parse_url("http://[::1]:80/", &u, why, sizeof(why)), 0);
    assert_false(u.https);
    assert_true(u.loopback);
    assert_string_equal(u.host, "::1");
    assert_int_equal(da_kv_parse_url("http://localhost:9", &u, why, sizeof(why)), 0);
    assert_true(u.loopback);
    assert_int_equal(da_kv_parse_url("ftp://x", &u, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_url("https://", &u, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_url("https://u:p@host", &u, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_url("https://host:0", &u, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_url("https://host:65536", &u, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_url("https://host:", &u, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_url("https://host/a?b", &u, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_url("https://host/a#b", &u, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_url("https://ho st", &u, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_url("https://[::1", &u, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_url("https://[zz]", &u, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_url("https://128.0.0.1", &u, why, sizeof(why)), 0);
    assert_false(u.loopback);
}

static void test_cidrs(void **state)
{
    struct da_kv_cidr c;
    char why[128];

    (void)state;
    assert_int_equal(da_kv_parse_cidr("10.0.0.0/8", &c, why, sizeof(why)), 0);
    assert_int_equal(c.family, AF_INET);
    assert_int_equal(c.prefix, 8);
    assert_int_equal(da_kv_parse_cidr("2001:db8::/32", &c, why, sizeof(why)), 0);
    assert_int_equal(c.family, AF_INET6);
    assert_int_equal(da_kv_parse_cidr("0.0.0.0/0", &c, why, sizeof(why)), 0);
    assert_int_equal(da_kv_parse_cidr("10.0.0.1/8", &c, why, sizeof(why)), DA_ERR_CONFIG);
    assert_non_null(strstr(why, "host bits"));
    assert_int_equal(da_kv_parse_cidr("10.0.0.0/33", &c, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_cidr("10.0.0.0/08", &c, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_cidr("10.0.0.0", &c, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_cidr("10.0.0/8", &c, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(da_kv_parse_cidr("::/129", &c, why, sizeof(why)), DA_ERR_CONFIG);
}

struct sample {
    char name[16];
    uint64_t count;
    struct da_kv_list items;
};

static void test_schema_unknown_and_duplicate(void **state)
{
    static const struct da_kvconf_key keys[] = {
        {"name", DA_KV_STRING, offsetof(struct sample, name), 16, 0, 0, NULL, NULL},
        {"count", DA_KV_U64, offsetof(struct sample, count), 0, 1, 10, NULL, NULL},
        {"items", DA_KV_LIST, offsetof(struct sample, items), 0, 0, 0, NULL, NULL},
    };
    struct sample s;
    struct da_kvconf_error err;
    unsigned seen[3];
    char msg[512];
    const char *good = "name = \"x y\"\ncount = 3\nitems = a, b\n";
    const char *unknown = "name = a\n\ncolour = red\n";
    const char *dup = "count = 1\nname = a\ncount = 2\n";
    const char *range = "count = 11\n";

    (void)state;
    memset(&s, 0, sizeof(s));
    assert_int_equal(da_kvconf_apply(keys, 3, &s, good, strlen(good), "s.conf", seen, &err), 0);
    assert_string_equal(s.name, "x y");
    assert_int_equal(s.count, 3);
    assert_int_equal(s.items.n, 2);
    assert_int_equal(seen[0], 1);
    assert_int_equal(seen[2], 3);
    da_kv_list_free(&s.items);

    assert_int_equal(da_kvconf_apply(keys, 3, &s, unknown, strlen(unknown), "s.conf", NULL, &err),
                     DA_ERR_CONFIG);
    da_kvconf_error_format(&err, msg, sizeof(msg));
    assert_string_equal(msg, "s.conf:3: unknown key 'colour'");

    assert_int_equal(da_kvconf_apply(keys, 3, &s, dup, strlen(dup), "s.conf", NULL, &err),
                     DA_ERR_CONFIG);
    da_kvconf_error_format(&err, msg, sizeof(msg));
    assert_string_equal(msg, "s.conf:3: duplicate key 'count' (first set on line 1)");

    assert_int_equal(da_kvconf_apply(keys, 3, &s, range, strlen(range), "s.conf", NULL, &err),
                     DA_ERR_CONFIG);
    da_kvconf_error_format(&err, msg, sizeof(msg));
    assert_string_equal(msg, "s.conf:1: count: 11 is outside 1..10");
}

static void test_load_file_rules(void **state)
{
    static const struct da_kvconf_key keys[] = {
        {"name", DA_KV_STRING, offsetof(struct sample, name), 16, 0, 0, NULL, NULL},
    };
    char dir[PATH_MAX];
    char path[PATH_MAX + 16];
    struct sample s;
    struct da_kvconf_error err;
    FILE *f;

    (void)state;
    memset(&s, 0, sizeof(s));
    assert_int_equal(da_test_tmpdir("da-kvconf", dir, sizeof(dir)), 0);
    snprintf(path, sizeof(path), "%s/a.conf", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("name = file\n", f);
    fclose(f);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(da_kvconf_apply_file(keys, 1, &s, path, NULL, &err), 0);
    assert_string_equal(s.name, "file");
    assert_int_equal(chmod(path, 0666), 0);
    assert_int_equal(da_kvconf_apply_file(keys, 1, &s, path, NULL, &err), DA_ERR_PERMISSION);
    assert_non_null(strstr(err.reason, "writable by any user"));
    unlink(path);
    assert_int_equal(da_kvconf_apply_file(keys, 1, &s, path, NULL, &err), DA_ERR_NOT_FOUND);
    assert_string_equal(err.file, path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenizer_lines),
        cmocka_unit_test(test_tokenizer_errors),
        cmocka_unit_test(test_unquote),
        cmocka_unit_test(test_numbers_durations_sizes),
        cmocka_unit_test(test_paths_enum_bool),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_cidrs),
        cmocka_unit_test(test_schema_unknown_and_duplicate),
        cmocka_unit_test(test_load_file_rules),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

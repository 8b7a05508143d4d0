/* agent.conf and server.conf speak one dialect: the same bad input in
 * either file gives the same error (DA_ERR_CONFIG, the same file:line, the
 * same reason after the key's name), and the same good spellings of
 * booleans, durations and sizes give the same values. Both files are read
 * from disk through their real loaders. */
#include "da_test.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "agent_config.h"
#include "config.h"
#include "err.h"
#include "kvconf.h"
#include "log.h"
#include "tmp_tree.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    return da_test_tmpdir("da-dialect", dir, sizeof(dir));
}

static int teardown(void **state)
{
    (void)state;
    return da_test_rmtree(dir);
}

static const char *write_file(const char *name, const char *text)
{
    static char path[2][320];
    static int turn;
    char *p = path[turn++ % 2];

    snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
    assert_int_equal(da_test_write(dir, name, text), 0);
    assert_int_equal(chmod(p, 0600), 0);
    return p;
}

/* "FILE:LINE: reason" with the file's directory cut, and the key's name
 * (the text before the first ": " of the reason) replaced by KEY. */
static void normalized(const struct da_kvconf_error *err, char *out, size_t size)
{
    const char *colon = strstr(err->reason, ": ");
    const char *base = strrchr(err->file, '/');

    if (colon != NULL && strchr(err->reason, ' ') == colon + 1 &&
        strspn(err->reason, "abcdefghijklmnopqrstuvwxyz0123456789_") ==
            (size_t)(colon - err->reason))
        snprintf(out, size, "%s:%u: KEY%s", base != NULL ? base + 1 : err->file, err->line, colon);
    else
        snprintf(out, size, "%s:%u: %s", base != NULL ? base + 1 : err->file, err->line,
                 err->reason);
}

struct bad {
    const char *what, *agent, *server;
};

static void test_same_bad_input_same_error(void **state)
{
    /* Line 2 holds the bad entry in both files; line 1 is a comment (or, for
     * the duplicate, the same entry). */
    static const struct bad bad[] = {
        {"boolean", "allow_http_loopback = maybe", "plain_http = maybe"},
        {"boolean, number", "allow_http_loopback = 1", "plain_http = 1"},
        {"duration without unit", "interval = 900", "stale_after = 900"},
        {"duration, unknown unit", "interval = 15w", "stale_after = 15w"},
        {"duration, two units", "interval = 1h30m", "stale_after = 1h30m"},
        {"duration, negative", "interval = -5m", "stale_after = -5m"},
        {"size, unknown unit", "spool_max_bytes = 12Q", "request_body_min_rate = 12Q"},
        {"size, fraction", "spool_max_bytes = 1.5M", "request_body_min_rate = 1.5M"},
        {"path, relative", "state_dir = var/lib/x", "state_dir = var/lib/x"},
        {"path, dot-dot", "state_dir = /var/../x", "state_dir = /var/../x"},
        {"path, trailing slash", "state_dir = /var/lib/", "state_dir = /var/lib/"},
        {"unterminated quote", "state_dir = \"/var/lib", "state_dir = \"/var/lib"},
        {"text after quote", "state_dir = \"/var\"x", "state_dir = \"/var\"x"},
        {"unknown key", "colour = blue", "colour = blue"},
        {"no equals sign", "state_dir /var/lib", "state_dir /var/lib"},
        {"key with capitals", "State_dir = /var/lib", "State_dir = /var/lib"},
        {"duplicate key", "log_level = info", "log_level = info"},
        {"log level", "log_level = loud", "log_level = loud"},
        {"control character", "log_level = in\001fo", "log_level = in\001fo"},
    };
    struct da_kvconf_error ea, es;
    char a[512], s[512], text[256], na[DA_KVCONF_MAX_REASON + 300], ns[sizeof(na)];
    struct agent_config ac;
    struct srv_config sc;
    size_t i;
    int ra, rs;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bool dup = strcmp(bad[i].what, "duplicate key") == 0;

        snprintf(text, sizeof(text), "%s\n%s\n", dup ? bad[i].agent : "# a comment", bad[i].agent);
        snprintf(a, sizeof(a), "%s", write_file("bad.conf", text));
        memset(&ea, 0, sizeof(ea));
        ra = agent_config_load(&ac, a, &ea);
        agent_config_free(&ac);
        snprintf(text, sizeof(text), "%s\n%s\n", dup ? bad[i].server : "# a comment",
                 bad[i].server);
        snprintf(s, sizeof(s), "%s", write_file("bad.conf", text));
        memset(&es, 0, sizeof(es));
        srv_config_defaults(&sc);
        rs = srv_config_load(&sc, s, &es);
        normalized(&ea, na, sizeof(na));
        normalized(&es, ns, sizeof(ns));
        if (ra != DA_ERR_CONFIG || rs != DA_ERR_CONFIG || ea.line != 2 || strcmp(na, ns) != 0)
            fail_msg("%s: agent %d '%s', server %d '%s'", bad[i].what, ra, na, rs, ns);
        print_message("%-24s %s\n", bad[i].what, ns);
    }
}

static void test_same_spellings_same_values(void **state)
{
    struct da_kvconf_error err;
    struct agent_config ac;
    struct srv_config sc;

    (void)state;
    assert_int_equal(agent_config_load(&ac,
                                       write_file("agent.conf", "interval = 1h\njitter = 30s\n"
                                                                "spool_max_bytes = 8M\n"
                                                                "allow_http_loopback = yes\n"),
                                       &err),
                     0);
    srv_config_defaults(&sc);
    assert_int_equal(srv_config_load(&sc,
                                     write_file("server.conf",
                                                "stale_after = 1h\nnonce_ttl = 30s\n"
                                                "request_body_min_rate = 64K\nready_min_free = 8M\n"
                                                "plain_http = yes\nlisten_address = 127.0.0.1\n"),
                                     &err),
                     0);
    assert_int_equal(ac.interval_s, 3600);
    assert_int_equal(sc.stale_after_s, 3600);
    assert_int_equal(ac.jitter_s, 30);
    assert_int_equal(sc.nonce_ttl_s, 30);
    assert_int_equal(ac.spool_max_bytes, 8u << 20);
    assert_int_equal(sc.request_body_min_rate, 64u << 10);
    assert_int_equal(sc.ready_min_free_mb, 8);
    assert_true(ac.allow_http_loopback);
    assert_true(sc.plain_http);
    agent_config_free(&ac);
    /* A file others may write is refused by both. */
    assert_int_equal(chmod(write_file("open.conf", "log_level = info\n"), 0666), 0);
    {
        char p[320];

        snprintf(p, sizeof(p), "%s/open.conf", dir);
        assert_int_equal(agent_config_load(&ac, p, &err), DA_ERR_PERMISSION);
        agent_config_free(&ac);
        srv_config_defaults(&sc);
        assert_int_equal(srv_config_load(&sc, p, &err), DA_ERR_PERMISSION);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bad_input_same_error),
        cmocka_unit_test(test_same_spellings_same_values),
    };

    da_log_init("test", DA_LOG_ERROR, DA_LOG_STDERR);
    return cmocka_run_group_tests(tests, setup, teardown);
}

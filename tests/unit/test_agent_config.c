#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_config.h"
#include "err.h"

static void test_defaults(void **state)
{
    struct agent_config c;
    struct da_kvconf_error err;

    (void)state;
    assert_int_equal(agent_config_defaults(&c), 0);
    assert_int_equal(agent_config_parse(&c, "", 0, "empty.conf", &err), 0);
    assert_string_equal(c.tcti, "device:/dev/tpmrm0");
    assert_string_equal(agent_tpm_mode_name(c.tpm_mode), "tpm");
    assert_string_equal(c.state_dir, "/var/lib/devattest");
    assert_string_equal(c.spool_dir, "/var/lib/devattest/spool");
    assert_int_equal(c.interval_s, 900);
    assert_int_equal(c.jitter_s, 60);
    assert_int_equal(c.sandbox, AGENT_SANDBOX_ENFORCE);
    assert_true(c.toolchain.n > 3);
    assert_string_equal(c.toolchain.items[0], "cc");
    assert_string_equal(c.server_url, "");
    agent_config_free(&c);
    agent_config_free(&c);
    agent_config_free(NULL);
}

static void test_full_file(void **state)
{
    const char *text = "# devattest agent\n"
                       "server_url = https://attest.example.com:8443\n"
                       "server_ca = /etc/devattest/ca.pem\n"
                       "tcti = \"swtpm:host=127.0.0.1,port=2321\"\n"
                       "tpm_mode = software\n"
                       "state_dir = /srv/da\n"
                       "interval = 1h\n"
                       "jitter = 5m\n"
                       "spool_max_reports = 50\n"
                       "spool_max_bytes = 32M\n"
                       "toolchain = gcc, /opt/cross/bin/arm-gcc\n"
                       "production_patterns = prod-*, \"*.db.prod\"\n"
                       "production_networks = 10.20.0.0/16, 2001:db8::/48\n"
                       "environment_role = build\n"
                       "source_dirs = /home/build/src\n"
                       "log_level = debug\n"
                       "log_target = syslog\n"
                       "attest_socket = /run/da.sock\n"
                       "attest_group = builders\n"
                       "sandbox = log\n";
    struct agent_config c;
    struct da_kvconf_error err;

    (void)state;
    assert_int_equal(agent_config_defaults(&c), 0);
    assert_int_equal(agent_config_parse(&c, text, strlen(text), "agent.conf", &err), 0);
    assert_string_equal(c.server.host, "attest.example.com");
    assert_int_equal(c.server.port, 8443);
    assert_string_equal(c.tcti, "swtpm:host=127.0.0.1,port=2321");
    assert_int_equal(c.tpm_mode, 1);
    assert_string_equal(c.spool_dir, "/srv/da/spool");
    assert_int_equal(c.interval_s, 3600);
    assert_int_equal(c.jitter_s, 300);
    assert_int_equal(c.spool_max_bytes, 32u * 1024 * 1024);
    assert_int_equal(c.toolchain.n, 2);
    assert_int_equal(c.production_patterns.n, 2);
    assert_string_equal(c.production_patterns.items[0], "prod-*");
    assert_int_equal(c.production_networks.n, 2);
    assert_int_equal(c.environment_role, AGENT_ROLE_BUILD);
    assert_int_equal(c.log_level, DA_LOG_DEBUG);
    assert_int_equal(c.log_target, DA_LOG_SYSLOG);
    assert_string_equal(c.attest_group, "builders");
    assert_int_equal(c.sandbox, AGENT_SANDBOX_LOG);
    assert_string_equal(agent_env_role_name(c.environment_role), "build");
    assert_string_equal(agent_tpm_mode_name(c.tpm_mode), "software");
    agent_config_free(&c);
}

/* Each bad file must fail with exactly this "file:line: reason" text. */
static void expect_error(const char *text, const char *expected)
{
    struct agent_config c;
    struct da_kvconf_error err;
    char msg[512];

    assert_int_equal(agent_config_defaults(&c), 0);
    assert_int_equal(agent_config_parse(&c, text, strlen(text), "agent.conf", &err), DA_ERR_CONFIG);
    da_kvconf_error_format(&err, msg, sizeof(msg));
    if (strcmp(msg, expected) != 0)
        fail_msg("got '%s', expected '%s'", msg, expected);
    agent_config_free(&c);
}

static void test_errors_name_line_and_reason(void **state)
{
    (void)state;
    expect_error("interval = 1h\nserver = https://x\n", "agent.conf:2: unknown key 'server'");
    expect_error("jitter = 1m\n\njitter = 2m\n",
                 "agent.conf:3: duplicate key 'jitter' (first set on line 1)");
    expect_error("server_url = http://attest.example.com\n",
                 "agent.conf:1: server_url: plain http is allowed only to a loopback address; "
                 "use https://");
    expect_error("server_url = http://127.0.0.1:8080\n",
                 "agent.conf:1: server_url: plain http needs allow_http_loopback = yes (and a "
                 "loopback host)");
    expect_error("server_url = ftp://x\n", "agent.conf:1: server_url: 'ftp://x' is not an "
                                           "https:// URL");
    expect_error("interval = 10s\n", "agent.conf:1: interval: 10s is outside 30s..604800s");
    expect_error("interval = 5\n", "agent.conf:1: interval: '5' is not a duration (a number "
                                   "followed by s, m, h or d, e.g. 15m)");
    expect_error("interval = 1m\njitter = 2m\n",
                 "agent.conf:2: jitter: 120s is longer than interval (60s)");
    expect_error("state_dir = var/lib\n", "agent.conf:1: state_dir: 'var/lib' is not an "
                                          "absolute path");
    expect_error("tpm_mode = soft\n", "agent.conf:1: tpm_mode: 'soft' is not one of tpm|software");
    expect_error("environment_role = prod\n",
                 "agent.conf:1: environment_role: 'prod' is not one of "
                 "development|test|build|production");
    expect_error("production_networks = 10.0.0.1/8\n",
                 "agent.conf:1: production_networks: '10.0.0.1/8' has host bits set");
    expect_error("source_dirs = /a, b\n", "agent.conf:1: source_dirs: 'b' is not an absolute "
                                          "path");
    expect_error("toolchain = gcc, ../x\n", "agent.conf:1: toolchain: '../x' is neither a "
                                            "program name nor an absolute path");
    expect_error("tcti = tpm0\n", "agent.conf:1: tcti: 'tpm0' does not start with device:, "
                                  "swtpm:, mssim: or tabrmd:");
    expect_error("attest_group = Wheel\n", "agent.conf:1: attest_group: 'Wheel' is not a group "
                                           "name ([a-z_][a-z0-9_-]*)");
    expect_error("sandbox = off\n", "agent.conf:1: sandbox: 'off' is not one of enforce|log");
    expect_error("spool_max_bytes = 10K\n",
                 "agent.conf:1: spool_max_bytes: 10K is outside 1048576..17179869184 bytes");
    expect_error("server_ca = relative.pem\n",
                 "agent.conf:1: server_ca: 'relative.pem' is not an absolute path");
    expect_error("server_url = \"https://x\n",
                 "agent.conf:1: server_url: unterminated quoted string");
}

/* Production patterns are globs: any text is one (brackets included). */
static void test_patterns_are_globs(void **state)
{
    struct agent_config c;
    struct da_kvconf_error err;
    const char *text = "production_patterns = prod-*, \"*.prod.example.com\", \"db[0-9\"\n";

    (void)state;
    assert_int_equal(agent_config_defaults(&c), 0);
    assert_int_equal(agent_config_parse(&c, text, strlen(text), "agent.conf", &err), 0);
    assert_int_equal(c.production_patterns.n, 3);
    assert_string_equal(c.production_patterns.items[2], "db[0-9");
    agent_config_free(&c);
}

static void test_privacy_and_root(void **state)
{
    struct agent_config c;
    struct da_kvconf_error err;
    const char *ok = "privacy = minimal\ncollect_root = /srv/host\n";
    const char *slash = "collect_root = /\n";
    const char *bad = "privacy = secret\n";

    (void)state;
    assert_int_equal(agent_config_defaults(&c), 0);
    assert_int_equal(c.privacy, 0);
    assert_string_equal(c.collect_root, "");
    assert_int_equal(agent_config_parse(&c, ok, strlen(ok), "agent.conf", &err), 0);
    assert_int_equal(c.privacy, 1);
    assert_string_equal(c.collect_root, "/srv/host");
    agent_config_free(&c);
    assert_int_equal(agent_config_defaults(&c), 0);
    assert_int_equal(agent_config_parse(&c, slash, strlen(slash), "agent.conf", &err), 0);
    assert_string_equal(c.collect_root, ""); /* the running machine */
    agent_config_free(&c);
    assert_int_equal(agent_config_defaults(&c), 0);
    assert_int_equal(agent_config_parse(&c, bad, strlen(bad), "agent.conf", &err), DA_ERR_CONFIG);
    assert_int_equal(err.line, 1);
    agent_config_free(&c);
}

static void test_http_loopback_explicit(void **state)
{
    const char *text = "allow_http_loopback = yes\nserver_url = http://[::1]:8080/\n"
                       "server_ca = system\n";
    struct agent_config c;
    struct da_kvconf_error err;

    (void)state;
    assert_int_equal(agent_config_defaults(&c), 0);
    assert_int_equal(agent_config_parse(&c, text, strlen(text), "agent.conf", &err), 0);
    assert_false(c.server.https);
    assert_true(c.server.loopback);
    assert_string_equal(c.server_ca, "system");
    agent_config_free(&c);
}

static void test_load_from_file(void **state)
{
    char path[] = "/tmp/da-agent-conf-XXXXXX";
    struct agent_config c;
    struct da_kvconf_error err;
    int fd;
    const char *text = "interval = 2h\nstate_dir = /tmp/x\nspool_dir = /tmp/y\n";

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(agent_config_load(&c, path, &err), 0);
    assert_int_equal(c.interval_s, 7200);
    assert_string_equal(c.spool_dir, "/tmp/y");
    agent_config_free(&c);
    unlink(path);
    assert_int_equal(agent_config_load(&c, path, &err), DA_ERR_NOT_FOUND);
    agent_config_free(&c);
}

/* The shipped default file parses as it is and with every key uncommented. */
static void test_shipped_default_file(void **state)
{
    char path[4096], *text, *p;
    struct agent_config c;
    struct da_kvconf_error err;
    FILE *f;
    long n;

    (void)state;
    snprintf(path, sizeof(path), "%s/packaging/agent.conf", DA_SOURCE_ROOT);
    assert_int_equal(agent_config_load(&c, path, &err), 0);
    agent_config_free(&c);
    f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    /* "#key = value" at the start of a line becomes "key = value". */
    for (p = text; *p != '\0'; p++) {
        if ((p == text || p[-1] == '\n') && p[0] == '#' && p[1] >= 'a' && p[1] <= 'z')
            memmove(p, p + 1, strlen(p + 1) + 1);
    }
    assert_int_equal(agent_config_defaults(&c), 0);
    if (agent_config_parse(&c, text, strlen(text), "agent.conf (uncommented)", &err) != 0) {
        char msg[600];

        da_kvconf_error_format(&err, msg, sizeof(msg));
        fail_msg("%s", msg);
    }
    assert_true(c.production_patterns.n == 2);
    assert_string_equal(c.production_patterns.items[1], "*.prod.example.com");
    agent_config_free(&c);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_errors_name_line_and_reason),
        cmocka_unit_test(test_patterns_are_globs),
        cmocka_unit_test(test_privacy_and_root),
        cmocka_unit_test(test_http_loopback_explicit),
        cmocka_unit_test(test_load_from_file),
        cmocka_unit_test(test_shipped_default_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

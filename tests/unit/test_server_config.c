#include "da_test.h"

#include <string.h>

#include "config.h"
#include "err.h"

static int parse(struct srv_config *c, const char *text)
{
    srv_config_defaults(c);
    return srv_config_parse(c, text, strlen(text));
}

static void test_defaults_and_values(void **state)
{
    struct srv_config c;
    uint32_t mask = 0;

    (void)state;
    assert_int_equal(parse(&c, "# comment\n\n  listen_address = ::1 \nport=9443\n"
                               "state_dir = /var/lib/x\nplain_http = yes\n"
                               "pcr_selection = sha256:0,2,4-7\nlog_level = debug\r\n"),
                     0);
    assert_string_equal(c.listen_address, "::1");
    assert_int_equal(c.port, 9443);
    assert_true(c.plain_http);
    assert_int_equal(c.log_level, DA_LOG_DEBUG);
    assert_int_equal(c.nonce_ttl_s, 120); /* default kept */
    assert_int_equal(parse(&c, "stale_after = 2d\nnonce_ttl = 5m\nreceipt_ttl = 1h\n"
                               "request_body_min_rate = 8K\nready_min_free = 1G\n"),
                     0);
    assert_int_equal(c.stale_after_s, 2 * 86400);
    assert_int_equal(c.nonce_ttl_s, 300);
    assert_int_equal(c.receipt_ttl_s, 3600);
    assert_int_equal(c.request_body_min_rate, 8192);
    assert_int_equal(c.ready_min_free_mb, 1024);
    /* retention: off by default, then days */
    assert_int_equal(c.evidence_retention_s, 0);
    assert_int_equal(c.retention_interval_s, 3600);
    assert_int_equal(c.retention_batch, 1000);
    assert_int_equal(parse(&c, "evidence_retention = 90d\nretention_interval = 10m\n"
                               "retention_batch = 200\n"),
                     0);
    assert_int_equal(c.evidence_retention_s, 90 * 86400);
    assert_int_equal(c.retention_interval_s, 600);
    assert_int_equal(c.retention_batch, 200);
    assert_int_equal(parse(&c, "# comment\n\n  listen_address = ::1 \nport=9443\n"
                               "state_dir = /var/lib/x\nplain_http = yes\n"
                               "pcr_selection = sha256:0,2,4-7\nlog_level = debug\r\n"),
                     0);
    assert_int_equal(srv_config_finish(&c), 0);
    assert_string_equal(c.database, "/var/lib/x/devattest.db");
    assert_string_equal(c.tls_key, "/var/lib/x/server.key");
    assert_int_equal(srv_pcr_selection_parse(c.pcr_selection, &mask), 0);
    assert_int_equal(mask, 0xf5u);
}

static void test_http_limits(void **state)
{
    struct srv_config c;

    (void)state;
    srv_config_defaults(&c);
    /* the HTTP limits' defaults */
    assert_int_equal(c.max_connections_per_address, 64);
    assert_int_equal(c.request_head_timeout_s, 10);
    assert_int_equal(c.request_body_timeout_s, 10);
    assert_int_equal(c.request_body_min_rate, 16384);
    assert_int_equal(c.http_threads, 0);
    assert_int_equal(parse(&c, "max_connections_per_address = 8\nrequest_head_timeout = 3s\n"
                               "request_body_timeout = 20s\nrequest_body_min_rate = 1024\n"
                               "http_threads = 2\n"),
                     0);
    assert_int_equal(c.max_connections_per_address, 8);
    assert_int_equal(c.request_head_timeout_s, 3);
    assert_int_equal(c.request_body_timeout_s, 20);
    assert_int_equal(c.request_body_min_rate, 1024);
    assert_int_equal(c.http_threads, 2);
}

static void test_rejections(void **state)
{
    static const char *const bad[] = {
        "bogus = 1\n",                    /* unknown key */
        "port = 1\nport = 2\n",           /* duplicate */
        "port\n",                         /* no '=' */
        "port = 70000\n",                 /* range */
        "port = -1\n",                    /* sign */
        "port = 12abc\n",                 /* trailing */
        "port = \n",                      /* empty */
        "plain_http = maybe\n",           /* bool */
        "listen_address = example.org\n", /* not numeric */
        "state_dir = relative/path\n",    /* not absolute */
        "pcr_selection = sha1:0-7\n",     /* bank */
        "pcr_selection = sha256:7-3\n",   /* range */
        "pcr_selection = sha256:0-24\n",  /* index */
        "log_level = loud\n",
        "stale_after = 10s\n", /* below minimum */
        "max_connections_per_address = 0\n",
        "request_head_timeout = 0s\n",
        "request_body_timeout = 3601s\n",
        "request_body_min_rate = 0\n",
        "http_threads = 1025\n",
        "stale_after = 86400\n",    /* a duration needs its unit */
        "stale_after_s = 86400\n",  /* the old spelling is not a key */
        "ready_min_free_mb = 64\n", /* likewise */
        "request_body_min_rate = 1.5K\n",
        "plain_http = 1\n",
        "access_log = access.log\n", /* neither stderr nor absolute */
        "access_log = STDERR\n",
        "evidence_retention = 90\n",    /* a duration needs its unit */
        "evidence_retention = 3661d\n", /* above ten years */
        "retention_batch = 0\n",
        "retention_interval = 0s\n",
    };
    struct srv_config c;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse(&c, bad[i]), DA_ERR_CONFIG);
    /* a NUL byte inside the text */
    srv_config_defaults(&c);
    assert_int_equal(srv_config_parse(&c, "port = 1\0\n", 10), DA_ERR_CONFIG);
}

static void test_plain_http_needs_loopback(void **state)
{
    struct srv_config c;

    (void)state;
    assert_int_equal(parse(&c, "plain_http = true\nlisten_address = 0.0.0.0\n"), 0);
    assert_int_equal(srv_config_finish(&c), DA_ERR_CONFIG);
    assert_int_equal(parse(&c, "plain_http = true\nlisten_address = 127.0.0.2\n"), 0);
    assert_int_equal(srv_config_finish(&c), 0);
}

static void test_oversized(void **state)
{
    static char big[70 * 1024];
    struct srv_config c;

    (void)state;
    memset(big, '#', sizeof(big));
    srv_config_defaults(&c);
    assert_int_equal(srv_config_parse(&c, big, sizeof(big)), DA_ERR_TOO_LARGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_values),
        cmocka_unit_test(test_http_limits),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_plain_http_needs_loopback),
        cmocka_unit_test(test_oversized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The transport against real TLS servers on loopback, each behaving badly in
 * one way; every case must end in a clear error, never a crash or a hang. */
#include "da_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
#include "sandbox.h"
#include "spool.h"
#include "log.h"
#include "tls_server.h"
#include "transport.h"

static struct agent_transport *open_transport(const char *url, const char *ca, long total_ms)
{
    struct agent_transport_opts o;
    struct agent_transport *t = NULL;

    memset(&o, 0, sizeof(o));
    o.base_url = url;
    o.ca_file = ca;
    o.connect_timeout_ms = 3000;
    o.total_timeout_ms = total_ms;
    o.low_speed_time_s = 2;
    assert_int_equal(agent_transport_new(&o, &t), 0);
    return t;
}

static void expect_text(const char *text, const char *needle)
{
    if (strstr(text, needle) == NULL)
        fail_msg("'%s' does not contain '%s'", text, needle);
}

static void test_ok_and_keepalive(void **state)
{
    struct da_test_tls_server s;
    struct agent_transport *t;
    cJSON *a = NULL;
    int64_t conn = 0, req = 0, len = 0;
    long status;

    (void)state;
    assert_int_equal(da_test_tls_server_start(&s, DA_TLS_OK), 0);
    t = open_transport(s.url, s.ca, 10000);
    assert_int_equal(agent_transport_json(t, "POST", "/v1/reports", NULL, "{\"a\":1}", &status, &a),
                     0);
    assert_int_equal(status, 200);
    assert_int_equal(da_json_get_int64(a, "conn", &conn), 0);
    assert_int_equal(da_json_get_int64(a, "req", &req), 0);
    assert_int_equal(da_json_get_int64(a, "len", &len), 0);
    assert_int_equal(conn, 1);
    assert_int_equal(req, 1);
    assert_int_equal(len, 7);
    cJSON_Delete(a);
    /* The same connection serves the next request. */
    assert_int_equal(agent_transport_json(t, "GET", "/v1/policy", NULL, NULL, &status, &a), 0);
    assert_int_equal(da_json_get_int64(a, "conn", &conn), 0);
    assert_int_equal(da_json_get_int64(a, "req", &req), 0);
    assert_int_equal(conn, 1);
    assert_int_equal(req, 2);
    assert_string_equal(agent_transport_error(t), "");
    cJSON_Delete(a);
    agent_transport_free(t);
    da_test_tls_server_stop(&s);
}

static void test_wrong_ca(void **state)
{
    struct da_test_tls_server s;
    struct agent_transport *t;
    cJSON *a = NULL;
    long status;

    (void)state;
    assert_int_equal(da_test_tls_server_start(&s, DA_TLS_OK), 0);
    t = open_transport(s.url, s.other_ca, 10000);
    assert_int_equal(agent_transport_json(t, "GET", "/v1/policy", NULL, NULL, &status, &a),
                     DA_ERR_TLS);
    assert_null(a);
    expect_text(agent_transport_error(t), "TLS with https://127.0.0.1:");
    expect_text(agent_transport_error(t), "server_ca");
    assert_int_equal(status, 0);
    agent_transport_free(t);
    da_test_tls_server_stop(&s);
}

static void test_tls_below_1_2_refused(void **state)
{
    struct da_test_tls_server s;
    struct agent_transport *t;
    cJSON *a = NULL;
    long status;

    (void)state;
    assert_int_equal(da_test_tls_server_start(&s, DA_TLS_OLD_PROTOCOL), 0);
    t = open_transport(s.url, s.ca, 10000);
    assert_int_equal(agent_transport_json(t, "GET", "/v1/policy", NULL, NULL, &status, &a),
                     DA_ERR_TLS);
    agent_transport_free(t);
    da_test_tls_server_stop(&s);
}

static void test_http_500(void **state)
{
    struct da_test_tls_server s;
    struct agent_transport *t;
    cJSON *a = NULL;
    long status;

    (void)state;
    assert_int_equal(da_test_tls_server_start(&s, DA_TLS_HTTP_500), 0);
    t = open_transport(s.url, s.ca, 10000);
    assert_int_equal(agent_transport_json(t, "POST", "/v1/reports", NULL, "{}", &status, &a),
                     DA_ERR_SERVER_REJECTED);
    assert_int_equal(status, 500);
    assert_string_equal(agent_transport_error(t),
                        "server rejected the request: HTTP 500 internal: database unavailable");
    assert_string_equal(agent_transport_server_code(t), "internal");
    assert_true(agent_transport_retryable(t, DA_ERR_SERVER_REJECTED));
    agent_transport_free(t);
    da_test_tls_server_stop(&s);
}

static void test_http_403_final(void **state)
{
    struct da_test_tls_server s;
    struct agent_transport *t;
    cJSON *a = NULL;
    long status;

    (void)state;
    assert_int_equal(da_test_tls_server_start(&s, DA_TLS_HTTP_403), 0);
    t = open_transport(s.url, s.ca, 10000);
    assert_int_equal(agent_transport_json(t, "POST", "/v1/reports", NULL, "{}", &status, &a),
                     DA_ERR_SERVER_REJECTED);
    assert_int_equal(status, 403);
    assert_string_equal(agent_transport_server_code(t), "agent_revoked");
    expect_text(agent_transport_error(t), "agent has been revoked");
    assert_false(agent_transport_retryable(t, DA_ERR_SERVER_REJECTED));
    agent_transport_free(t);
    da_test_tls_server_stop(&s);
}

static void test_garbage_body(void **state)
{
    struct da_test_tls_server s;
    struct agent_transport *t;
    cJSON *a = NULL;
    long status;

    (void)state;
    assert_int_equal(da_test_tls_server_start(&s, DA_TLS_GARBAGE), 0);
    t = open_transport(s.url, s.ca, 10000);
    assert_int_equal(agent_transport_json(t, "GET", "/v1/nonce", NULL, NULL, &status, &a),
                     DA_ERR_SERVER_RESPONSE);
    assert_null(a);
    assert_int_equal(status, 200);
    expect_text(agent_transport_error(t), "is not valid JSON (1:1:");
    agent_transport_free(t);
    da_test_tls_server_stop(&s);
}

static void test_truncated_answer(void **state)
{
    struct da_test_tls_server s;
    struct agent_transport *t;
    cJSON *a = NULL;
    long status;
    int r;

    (void)state;
    assert_int_equal(da_test_tls_server_start(&s, DA_TLS_TRUNCATE), 0);
    t = open_transport(s.url, s.ca, 10000);
    r = agent_transport_json(t, "GET", "/v1/nonce", NULL, NULL, &status, &a);
    assert_int_equal(r, DA_ERR_TRANSPORT);
    assert_null(a);
    expect_text(agent_transport_error(t), "closed before the answer was complete");
    assert_true(agent_transport_retryable(t, r));
    agent_transport_free(t);
    da_test_tls_server_stop(&s);
}

static void test_silent_server_times_out(void **state)
{
    struct da_test_tls_server s;
    struct agent_transport *t;
    struct timespec t0, t1;
    cJSON *a = NULL;
    long status;
    double secs;

    (void)state;
    assert_int_equal(da_test_tls_server_start(&s, DA_TLS_SILENT), 0);
    t = open_transport(s.url, s.ca, 1500);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(agent_transport_json(t, "GET", "/v1/nonce", NULL, NULL, &status, &a),
                     DA_ERR_TIMEOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    /* Ends by the deadline, not by waiting for the server. */
    assert_true(secs < 10.0);
    expect_text(agent_transport_error(t), "no complete answer from");
    agent_transport_free(t);
    da_test_tls_server_stop(&s);
}

static void test_answer_over_cap(void **state)
{
    struct da_test_tls_server s;
    struct agent_transport *t;
    cJSON *a = NULL;
    long status;

    (void)state;
    assert_int_equal(da_test_tls_server_start(&s, DA_TLS_BIG), 0);
    t = open_transport(s.url, s.ca, 20000);
    assert_int_equal(agent_transport_json(t, "GET", "/v1/policy", NULL, NULL, &status, &a),
                     DA_ERR_SERVER_RESPONSE);
    expect_text(agent_transport_error(t), "is larger than 2097152 bytes");
    agent_transport_free(t);
    da_test_tls_server_stop(&s);
}

/* The pinned CA is read when the transport is made (the uploader cannot
 * reach the file later): a missing one is refused then. */
static void test_missing_ca(void **state)
{
    struct agent_transport_opts o;
    struct agent_transport *t = NULL;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.base_url = "https://127.0.0.1:1";
    o.ca_file = "/nonexistent-ca.pem";
    assert_int_equal(agent_transport_new(&o, &t), DA_ERR_NOT_FOUND);
    assert_null(t);
}

static void test_unreachable(void **state)
{
    struct agent_transport *t;
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    char url[64];
    cJSON *ans = NULL;
    long status;
    int fd;

    (void)state;
    /* A port that was free a moment ago: nobody listens there. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    snprintf(url, sizeof(url), "https://127.0.0.1:%d", ntohs(a.sin_port));
    t = open_transport(url, "system", 5000);
    assert_int_equal(agent_transport_json(t, "GET", "/v1/nonce", NULL, NULL, &status, &ans),
                     DA_ERR_TRANSPORT);
    expect_text(agent_transport_error(t), "cannot reach https://127.0.0.1:");
    assert_true(agent_transport_retryable(t, DA_ERR_TRANSPORT));
    agent_transport_free(t);
}

static void test_configuration_errors(void **state)
{
    struct agent_transport_opts o;
    struct agent_transport *t = NULL;
    struct da_test_tls_server s;
    struct da_buf b;
    long status;
    const char *bad_header[] = {"X-Evil: a\r\nInjected: b", NULL};

    (void)state;
    memset(&o, 0, sizeof(o));
    o.base_url = "https://127.0.0.1:1";
    assert_int_equal(agent_transport_new(&o, &t), DA_ERR_CONFIG); /* no CA: never implicit */
    assert_null(t);
    assert_int_equal(da_test_tls_server_start(&s, DA_TLS_OK), 0);
    /* Plain http is refused unless allowed. */
    {
        char url[80];

        snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
        t = open_transport(url, s.ca, 5000);
        da_buf_init(&b, 0);
        assert_int_equal(agent_transport_request(t, "GET", "/x", NULL, NULL, 0, &status, &b),
                         DA_ERR_CONFIG);
        agent_transport_free(t);
    }
    t = open_transport(s.url, s.ca, 5000);
    assert_int_equal(agent_transport_request(t, "GET", "x", NULL, NULL, 0, &status, &b),
                     DA_ERR_INVALID_ARG);
    assert_int_equal(agent_transport_request(t, "GET", "/x", bad_header, NULL, 0, &status, &b),
                     DA_ERR_INVALID_ARG);
    assert_int_equal(agent_transport_request(t, "GET", "/x", NULL, NULL, 0, &status, &b), 0);
    assert_int_equal(status, 200);
    da_buf_free(&b);
    agent_transport_free(t);
    agent_transport_free(NULL);
    da_test_tls_server_stop(&s);
}

/* https_proxy from the environment is used (libcurl's own handling). */
static void test_proxy_from_environment(void **state)
{
    struct da_test_tls_server s;
    struct da_test_proxy p;
    struct agent_transport *t;
    char logged[256] = "", want[64];
    cJSON *a = NULL;
    long status;
    FILE *f;

    (void)state;
    assert_int_equal(da_test_tls_server_start(&s, DA_TLS_OK), 0);
    assert_int_equal(da_test_proxy_start(&p), 0);
    setenv("https_proxy", p.url, 1);
    unsetenv("HTTPS_PROXY");
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    t = open_transport(s.url, s.ca, 10000);
    assert_int_equal(agent_transport_json(t, "GET", "/v1/policy", NULL, NULL, &status, &a), 0);
    cJSON_Delete(a);
    agent_transport_free(t);
    unsetenv("https_proxy");
    f = fopen(p.log, "r");
    assert_non_null(f);
    assert_non_null(fgets(logged, sizeof(logged), f));
    fclose(f);
    snprintf(want, sizeof(want), "CONNECT 127.0.0.1:%d\n", s.port);
    assert_string_equal(logged, want);
    da_test_proxy_stop(&p);
    da_test_tls_server_stop(&s);
}

/* The uploader's sandbox leaves it able to do its job: resolve a name, TLS
 * to the server, spool files; run in a forked child that entered it. */
static int uploader_job(const struct da_test_tls_server *s, const char *spool_dir)
{
    struct agent_transport *t = NULL;
    struct agent_transport_opts o;
    struct agent_spool *sp = NULL;
    struct da_buf b;
    char url[64];
    cJSON *a = NULL;
    uint64_t seq, created;
    long status;

    /* As the runtime does: the spool is opened and kept before the filter,
     * which allows writing only relative to kept directories. */
    if (agent_spool_open(spool_dir, 10, 1 << 20, &sp) != 0 ||
        agent_spool_keep_dirs(sp, spool_dir) != 0)
        return 11;
    if (agent_sandbox_enter(AGENT_SANDBOX_UPLOADER, AGENT_SANDBOX_ENFORCE) != 0)
        return 10;
    if (agent_spool_put(sp, "report", 6, 1, &seq) != 0)
        return 11;
    snprintf(url, sizeof(url), "https://localhost:%d", s->port);
    memset(&o, 0, sizeof(o));
    o.base_url = url;
    o.ca_file = s->ca;
    if (agent_transport_new(&o, &t) != 0)
        return 12;
    if (agent_transport_json(t, "POST", "/v1/reports", NULL, "{}", &status, &a) != 0)
        return 13;
    cJSON_Delete(a);
    da_buf_init(&b, 0);
    if (agent_spool_peek(sp, &seq, &created, &b) != 0 || agent_spool_remove(sp, seq) != 0)
        return 14;
    da_buf_free(&b);
    agent_transport_free(t);
    agent_spool_close(sp);
    return 0;
}

static void test_inside_the_uploader_sandbox(void **state)
{
    struct da_test_tls_server s;
    char spool_dir[128];
    int status;
    pid_t pid;

    (void)state;
    assert_int_equal(da_test_tls_server_start(&s, DA_TLS_OK), 0);
    snprintf(spool_dir, sizeof(spool_dir), "%s/spool", s.dir);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        exit(uploader_job(&s, spool_dir));
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("uploader job: %s %d", WIFSIGNALED(status) ? "signal" : "exit",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    rmdir(spool_dir);
    da_test_tls_server_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_and_keepalive),
        cmocka_unit_test(test_wrong_ca),
        cmocka_unit_test(test_tls_below_1_2_refused),
        cmocka_unit_test(test_http_500),
        cmocka_unit_test(test_http_403_final),
        cmocka_unit_test(test_garbage_body),
        cmocka_unit_test(test_truncated_answer),
        cmocka_unit_test(test_silent_server_times_out),
        cmocka_unit_test(test_answer_over_cap),
        cmocka_unit_test(test_missing_ca),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_configuration_errors),
        cmocka_unit_test(test_inside_the_uploader_sandbox),
        cmocka_unit_test(test_proxy_from_environment),
    };

    da_log_set_level(DA_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Slow clients against the real devattest-server over TLS: 600 connections
 * from one loopback address (127.0.0.2) that trickle a TLS handshake or a
 * request head one piece per second, while the real agent binary (its
 * collector, signer and uploader, swtpm as its TPM) enrolls and reports
 * from 127.0.0.1.
 *
 * What protects the agent here is the per-address connection limit: the
 * slow address holds at most max_connections_per_address connections, far
 * below max_connections. What ends every slow connection is the request
 * deadline: each is cut request_head_timeout after it was accepted even
 * though it is never idle long enough for the idle timeout. */
#include "agent_run.h"
#include "da_test.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent_test_dir.h"
#include "raw_tls.h"
#include "server_harness.h"
#include "swtpm_harness.h"
#include "picky.h"

#define SLOW_ADDRESS     "127.0.0.2"
#define SLOW_CONNS       600
#define PER_ADDRESS      32
#define HEAD_S           3
#define ATTACK_MAX_S     60
#define REOPEN_PER_ROUND 48

struct slow_conn {
    struct da_raw_tls t;
    bool open, tls;
    long opened_ms;
    unsigned sent;
};

struct attack {
    struct da_test_server *srv;
    struct slow_conn c[SLOW_CONNS];
    volatile bool stop, ready;
    unsigned attempts, cut, held_max;
    unsigned cut_kind[2]; /* [0] in the handshake, [1] in the request head */
    long longest_ms;      /* longest life of a slow connection the server cut */
    long shortest_ms;     /* shortest life of an accepted one (TLS done) held past 1 s */
};

struct world {
    struct da_test_swtpm tpm;
    struct da_test_server srv;
    char dir[300], conf[320], state[320], spool[320];
};

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One slow connection: half of them stop inside the TLS handshake (a
 * ClientHello record header sent a byte at a time), half complete TLS and
 * then send a request head a line at a time. */
static void slow_open(struct attack *a, unsigned i)
{
    static const char head[] = "POST /v1/agents/x/reports HTTP/1.1\r\n";
    struct slow_conn *c = &a->c[i];
    /* Timed from before the connect: the server's deadline runs from its
     * accept, which comes later, so a life measured from here is never
     * shorter than the server's (a handshake slowed by load would
     * otherwise make a correct cut look early). */
    long t0 = now_ms();

    a->attempts++;
    c->tls = i % 2 == 0;
    if (da_raw_tls_connect(&c->t, SLOW_ADDRESS, a->srv->port, c->tls ? a->srv->ca : NULL, 2000) !=
        0)
        return;
    if (c->tls && da_raw_tls_send(&c->t, head, strlen(head)) != 0) {
        da_raw_tls_close(&c->t);
        return;
    }
    c->open = true;
    c->opened_ms = t0;
    c->sent = 0;
}

static void slow_trickle(struct slow_conn *c)
{
    static const unsigned char hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc};
    char line[32];
    int n;

    if (!c->tls) {
        if (c->sent < sizeof(hello))
            (void)!write(c->t.fd, &hello[c->sent], 1);
        else
            (void)!write(c->t.fd, "\x03", 1);
    } else {
        n = snprintf(line, sizeof(line), "X-Slow-%u: 1\r\n", c->sent);
        (void)da_raw_tls_send(&c->t, line, (size_t)n);
    }
    c->sent++;
}

/* The server closed it (EOF, reset or a TLS alert followed by EOF)? */
static bool slow_closed(struct slow_conn *c)
{
    struct pollfd pf = {c->t.fd, POLLIN, 0};
    char buf[256];
    ssize_t n;

    if (poll(&pf, 1, 0) <= 0)
        return false;
    do
        n = recv(c->t.fd, buf, sizeof(buf), MSG_DONTWAIT);
    while (n > 0);
#if EAGAIN == EWOULDBLOCK
    return n == 0 || errno != EAGAIN;
#else
    return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
#endif
}

static void *attack_run(void *arg)
{
    struct attack *a = arg;
    long start = now_ms(), last_trickle = 0;
    unsigned i, reopened = 0;

    a->shortest_ms = -1;
    for (i = 0; i < SLOW_CONNS; i++)
        slow_open(a, i);
    a->ready = true;
    while (!a->stop && now_ms() - start < ATTACK_MAX_S * 1000L) {
        unsigned held = 0;
        long t = now_ms();

        for (i = 0; i < SLOW_CONNS; i++) {
            struct slow_conn *c = &a->c[i];
            long life;

            if (!c->open) {
                /* a persistent attacker comes back, a few at a time so
                 * that this loop keeps noticing cuts promptly */
                if (t - last_trickle >= 1000 && reopened < REOPEN_PER_ROUND) {
                    slow_open(a, i);
                    reopened++;
                }
                continue;
            }
            if (!slow_closed(c)) {
                if (t - c->opened_ms > 500)
                    held++;
                continue;
            }
            life = now_ms() - c->opened_ms;
            if (life > 1000) {
                a->cut++;
                a->cut_kind[c->tls]++;
                if (life > a->longest_ms)
                    a->longest_ms = life;
                /* Only a connection whose TLS handshake finished is known
                 * to have been accepted: one still in the kernel's backlog
                 * when the address is at its limit is closed at accept,
                 * which on a loaded machine can come a second later. */
                if (c->tls && (a->shortest_ms < 0 || life < a->shortest_ms))
                    a->shortest_ms = life;
            }
            da_raw_tls_close(&c->t);
            c->open = false;
        }
        if (held > a->held_max)
            a->held_max = held;
        if (t - last_trickle >= 1000) {
            for (i = 0; i < SLOW_CONNS; i++) {
                if (a->c[i].open)
                    slow_trickle(&a->c[i]);
            }
            last_trickle = t;
            reopened = 0;
        }
        poll(NULL, 0, 50);
    }
    for (i = 0; i < SLOW_CONNS; i++) {
        if (a->c[i].open)
            da_raw_tls_close(&a->c[i].t);
    }
    return NULL;
}

static int write_conf(struct world *w)
{
    FILE *f = fopen(w->conf, "w");

    if (f == NULL)
        return -1;
    fprintf(f,
            "server_url = %s\nserver_ca = %s\ntcti = %s\nstate_dir = %s\nspool_dir = %s\n"
            "interval = 30s\njitter = 0s\nenvironment_role = build\nlog_level = warn\n"
            "sandbox = enforce\nuser = %s\n",
            w->srv.base, w->srv.ca, w->tpm.tcti, w->state, w->spool, DA_TEST_AGENT_USER);
    return fclose(f) == 0 ? 0 : -1;
}

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    char extra[8192 + 512];

    if (w == NULL || da_test_swtpm_start(&w->tpm) != 0)
        return -1;
    snprintf(extra, sizeof(extra),
             "ek_roots = %s\n"
             "policy_file = %s/common/policies/iso27001-2022-devenv.json\n"
             "max_connections_per_address = %d\nrequest_head_timeout = %ds\n",
             w->tpm.ca_root, DA_SOURCE_ROOT, PER_ADDRESS, HEAD_S);
    if (da_test_server_setup(&w->srv, extra) != 0 || da_test_server_start(&w->srv) != 0)
        return -1;
    /* The agent refuses directories below one others may write (/tmp). */
    if (da_test_agent_dir(w->dir, sizeof(w->dir)) != 0)
        return -1;
    snprintf(w->conf, sizeof(w->conf), "%s/agent.conf", w->dir);
    snprintf(w->state, sizeof(w->state), "%s/state", w->dir);
    snprintf(w->spool, sizeof(w->spool), "%s/spool", w->dir);
    if (write_conf(w) != 0)
        return -1;
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;

    if (w == NULL)
        return 0;
    if (w->dir[0] != '\0') {
        char cmd[340];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
        (void)!system(cmd);
    }
    da_test_server_cleanup(&w->srv);
    da_test_swtpm_stop(&w->tpm);
    free(w);
    return 0;
}

static void enroll(struct world *w)
{
    char token[128], out[8192], token_file[320];
    FILE *f;
    int rc;

    assert_int_equal(da_test_server_cli(&w->srv, token, sizeof(token), "token", "create",
                                        "--vendor", "acme", "--ttl", "1h", NULL),
                     0);
    snprintf(token_file, sizeof(token_file), "%s/token", w->dir);
    f = fopen(token_file, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", token);
    assert_int_equal(fclose(f), 0);
    rc = da_test_agent(out, sizeof(out), "enroll", "--config", w->conf, "--token-file", token_file,
                       "--ek-chain", w->tpm.ca_issuer, "--json", NULL);
    if (rc != 0)
        fail_msg("enroll exited %d: %s", rc, out);
}

static void test_agent_reports_through_slow_clients(void **state)
{
    struct world *w = *state;
    struct attack *a = calloc(1, sizeof(*a));
    pthread_t th;
    char out[16384];
    cJSON *j;
    long t0, took;
    int rc, i;

    assert_non_null(a);
    a->srv = &w->srv;
    enroll(w);
    assert_int_equal(pthread_create(&th, NULL, attack_run, a), 0);
    for (i = 0; i < 600 && !a->ready; i++)
        poll(NULL, 0, 50);
    assert_true(a->ready);
    poll(NULL, 0, 1000); /* the slow connections are in place and trickling */
    t0 = now_ms();
    rc = da_test_agent(out, sizeof(out), "report", "--config", w->conf, "--json", NULL);
    took = now_ms() - t0;
    /* keep the attack up long enough for every held connection to meet
     * its deadline at least once */
    poll(NULL, 0, (HEAD_S + 2) * 1000);
    a->stop = true;
    pthread_join(th, NULL);
    print_message("slow clients: %u connection attempts, at most %u held at once, %u cut by the "
                  "server (%u in the handshake, %u in the head) after %ld..%ld ms; agent report "
                  "took %ld ms\n",
                  a->attempts, a->held_max, a->cut, a->cut_kind[0], a->cut_kind[1], a->shortest_ms,
                  a->longest_ms, took);
    /* the genuine agent delivered its report, and promptly */
    if (rc != 0 && rc != 4)
        fail_msg("report exited %d: %s", rc, out);
    j = cJSON_Parse(out);
    assert_non_null(j);
    assert_int_equal((int)cJSON_GetObjectItem(j, "delivered")->valuedouble, 1);
    cJSON_Delete(j);
    assert_true(took < 30000);
    /* the slow address never held more than its share */
    assert_true(a->attempts >= SLOW_CONNS);
    assert_true(a->held_max > 0);
    assert_true(a->held_max <= PER_ADDRESS);
    /* every slow connection was cut by its deadline, not by idleness (the
     * idle timeout is 15 s and they were never idle for 1 s); the upper
     * bound leaves room for this loop's own delay on a loaded machine */
    assert_true(a->cut >= PER_ADDRESS);
    assert_true(a->cut_kind[0] > 0 && a->cut_kind[1] > 0);
    assert_true(a->shortest_ms >= HEAD_S * 1000 - 600);
    assert_true(a->longest_ms <= HEAD_S * 1000 + 3000);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agent_reports_through_slow_clients),
    };
    signal(SIGPIPE, SIG_IGN); /* writes to connections the server cut */
    return cmocka_run_group_tests(tests, setup, teardown);
}

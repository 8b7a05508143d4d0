/* The daemon loop with real signals and a real notify socket; the cycle is a
 * function of the test that records what the loop asked of it. */
#include "da_test.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "loop.h"
#include "tmp_tree.h"

struct record {
    int cycles, reloads, finished;
    int results[16];  /* what cycle n returns (0 after the list) */
    int raise_at[16]; /* signal to raise during cycle n, 0: none */
    uint64_t delays[16];
    int ndelays;
};

static int cycle(void *ctx)
{
    struct record *r = ctx;
    int n = r->cycles++;

    if (n < 16 && r->raise_at[n] != 0)
        raise(r->raise_at[n]); /* blocked: pending until the cycle ends */
    r->finished++;
    return n < 16 ? r->results[n] : 0;
}

static int reload(void *ctx)
{
    ((struct record *)ctx)->reloads++;
    return 0;
}

static void waiting(void *ctx, uint64_t delay_ms)
{
    struct record *r = ctx;

    if (r->ndelays < 16)
        r->delays[r->ndelays++] = delay_ms;
}

static void test_max_cycles_and_interval(void **state)
{
    struct agent_loop_opts o = {10, 5, 0, 0, 3};
    struct record r;
    struct agent_loop_ops ops = {cycle, reload, waiting, &r};
    int i;

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(agent_loop_run(&o, &ops), 0);
    assert_int_equal(r.cycles, 3);
    assert_int_equal(r.ndelays, 2);
    for (i = 0; i < r.ndelays; i++)
        assert_true(r.delays[i] >= 10 && r.delays[i] <= 15);
}

static void test_sigterm_finishes_the_cycle(void **state)
{
    struct agent_loop_opts o = {60000, 0, 0, 0, 0};
    struct record r;
    struct agent_loop_ops ops = {cycle, reload, waiting, &r};
    sigset_t now;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.raise_at[0] = SIGTERM;
    assert_int_equal(agent_loop_run(&o, &ops), 0);
    assert_int_equal(r.cycles, 1);
    assert_int_equal(r.finished, 1);
    /* The signal mask is as before and nothing is left pending. */
    sigprocmask(SIG_BLOCK, NULL, &now);
    assert_false(sigismember(&now, SIGTERM));
    sigpending(&now);
    assert_false(sigismember(&now, SIGTERM));
}

static void test_sighup_reloads(void **state)
{
    struct agent_loop_opts o = {10, 0, 0, 0, 0};
    struct record r;
    struct agent_loop_ops ops = {cycle, reload, waiting, &r};

    (void)state;
    memset(&r, 0, sizeof(r));
    r.raise_at[0] = SIGHUP;
    r.raise_at[2] = SIGINT;
    assert_int_equal(agent_loop_run(&o, &ops), 0);
    assert_int_equal(r.reloads, 1);
    assert_int_equal(r.cycles, 3);
}

static void test_backoff_then_recovery(void **state)
{
    struct agent_loop_opts o = {1000, 0, 20, 80, 6};
    struct record r;
    struct agent_loop_ops ops = {cycle, reload, waiting, &r};

    (void)state;
    memset(&r, 0, sizeof(r));
    r.results[0] = r.results[1] = r.results[2] = r.results[3] = AGENT_CYCLE_RETRY;
    assert_int_equal(agent_loop_run(&o, &ops), 0);
    assert_int_equal(r.ndelays, 5);
    assert_true(r.delays[0] >= 10 && r.delays[0] <= 20);
    assert_true(r.delays[1] >= 20 && r.delays[1] <= 40);
    assert_true(r.delays[2] >= 40 && r.delays[2] <= 80);
    assert_true(r.delays[3] >= 40 && r.delays[3] <= 80); /* capped */
    assert_int_equal(r.delays[4], 1000);                 /* back to the interval */
}

static void test_fatal_error_ends(void **state)
{
    struct agent_loop_opts o = {10, 0, 0, 0, 0};
    struct record r;
    struct agent_loop_ops ops = {cycle, reload, waiting, &r};

    (void)state;
    memset(&r, 0, sizeof(r));
    r.results[1] = DA_ERR_NOT_ENROLLED;
    assert_int_equal(agent_loop_run(&o, &ops), DA_ERR_NOT_ENROLLED);
    assert_int_equal(r.cycles, 2);
}

static void test_signal_from_outside_while_waiting(void **state)
{
    struct agent_loop_opts o = {600000, 0, 0, 0, 0};
    struct record r;
    struct agent_loop_ops ops = {cycle, reload, waiting, &r};
    pid_t me = getpid(), pid;
    int status;

    (void)state;
    memset(&r, 0, sizeof(r));
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        usleep(100 * 1000);
        kill(me, SIGTERM);
        _exit(0);
    }
    assert_int_equal(agent_loop_run(&o, &ops), 0); /* not after ten minutes */
    assert_int_equal(r.cycles, 1);
    assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void test_systemd_notifications(void **state)
{
    struct agent_loop_opts o = {150, 0, 0, 0, 2};
    struct record r;
    struct agent_loop_ops ops = {cycle, reload, waiting, &r};
    char dir[96], path[108], msg[64], pid[16];
    struct sockaddr_un a;
    int fd, ready = 0, watchdog = 0, stopping = 0;
    ssize_t n;

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(da_test_tmpdir("da-loop", dir, sizeof(dir)), 0);
    snprintf(path, sizeof(path), "%s/notify", dir);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    memcpy(a.sun_path, path, strlen(path));
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    setenv("NOTIFY_SOCKET", path, 1);
    setenv("WATCHDOG_USEC", "40000", 1); /* ping every 20 ms */
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    assert_int_equal(agent_loop_run(&o, &ops), 0);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    while ((n = recv(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT)) > 0) {
        msg[n] = '\0';
        ready += strcmp(msg, "READY=1") == 0;
        watchdog += strcmp(msg, "WATCHDOG=1") == 0;
        stopping += strcmp(msg, "STOPPING=1") == 0;
    }
    assert_int_equal(ready, 1);
    assert_int_equal(stopping, 1);
    assert_true(watchdog >= 2); /* 150 ms of waiting, pings every 20 ms */
    close(fd);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_cycles_and_interval),
        cmocka_unit_test(test_sigterm_finishes_the_cycle),
        cmocka_unit_test(test_sighup_reloads),
        cmocka_unit_test(test_backoff_then_recovery),
        cmocka_unit_test(test_fatal_error_ends),
        cmocka_unit_test(test_signal_from_outside_while_waiting),
        cmocka_unit_test(test_systemd_notifications),
    };

    da_log_set_level(DA_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

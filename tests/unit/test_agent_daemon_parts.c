/* The pieces the daemon is made of: sd_notify, scheduling, child processes. */
#include "da_test.h"

#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "child.h"
#include "curl_dl.h"
#include "digest.h"
#include "json.h"
#include "memtrim.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "notify.h"
#include "schedule.h"
#include "tmp_tree.h"

/* ---- notify ---- */

static int bind_dgram(const char *name, int abstract)
{
    struct sockaddr_un a;
    socklen_t len;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    if (abstract) {
        memcpy(a.sun_path + 1, name, strlen(name));
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
    } else {
        memcpy(a.sun_path, name, strlen(name));
        len = (socklen_t)sizeof(a);
    }
    assert_int_equal(bind(fd, (struct sockaddr *)&a, len), 0);
    return fd;
}

static void test_notify_path_and_abstract(void **state)
{
    char path[96], sock[108], got[64], env[160];
    ssize_t n;
    int fd;

    (void)state;
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(agent_notify("READY=1"), 0); /* not under systemd: nothing to do */

    assert_int_equal(da_test_tmpdir("da-notify", path, sizeof(path)), 0);
    snprintf(sock, sizeof(sock), "%s/notify", path);
    fd = bind_dgram(sock, 0);
    setenv("NOTIFY_SOCKET", sock, 1);
    assert_int_equal(agent_notify("READY=1"), 0);
    n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
    assert_int_equal(n, 7);
    got[n] = '\0';
    assert_string_equal(got, "READY=1");
    close(fd);
    unlink(sock);
    rmdir(path);

    snprintf(sock, sizeof(sock), "da-notify-%d", (int)getpid());
    fd = bind_dgram(sock, 1);
    snprintf(env, sizeof(env), "@%s", sock);
    setenv("NOTIFY_SOCKET", env, 1);
    assert_int_equal(agent_notify("WATCHDOG=1"), 0);
    n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
    assert_int_equal(n, 10);
    close(fd);

    setenv("NOTIFY_SOCKET", "relative/path", 1);
    assert_int_equal(agent_notify("READY=1"), DA_ERR_INVALID_ARG);
    unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog_env(void **state)
{
    char pid[32];

    (void)state;
    unsetenv("WATCHDOG_PID");
    unsetenv("WATCHDOG_USEC");
    assert_int_equal(agent_notify_watchdog_usec(), 0);
    setenv("WATCHDOG_USEC", "30000000", 1);
    assert_int_equal(agent_notify_watchdog_usec(), 30000000);
    setenv("WATCHDOG_PID", "1", 1); /* meant for another process */
    assert_int_equal(agent_notify_watchdog_usec(), 0);
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    assert_int_equal(agent_notify_watchdog_usec(), 30000000);
    setenv("WATCHDOG_USEC", "30s", 1);
    assert_int_equal(agent_notify_watchdog_usec(), 0);
    unsetenv("WATCHDOG_PID");
    unsetenv("WATCHDOG_USEC");
}

/* ---- schedule ---- */

static void test_next_with_jitter(void **state)
{
    uint64_t lo = UINT64_MAX, hi = 0, v;
    int i;

    (void)state;
    assert_int_equal(agent_schedule_next_s(900, 0, 12345), 900);
    assert_int_equal(agent_schedule_next_s(900, 60, 0), 900);
    assert_int_equal(agent_schedule_next_s(900, 60, 60), 960);
    assert_int_equal(agent_schedule_next_s(900, 60, 61), 900);
    for (i = 0; i < 2000; i++) {
        v = agent_schedule_next_s(900, 60, agent_schedule_random());
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    assert_true(lo >= 900 && hi <= 960);
    assert_true(hi - lo > 40); /* spread out, not constant */
}

static void test_backoff(void **state)
{
    unsigned f;
    uint64_t prev_max = 0;

    (void)state;
    /* rnd = 0 gives the lower half, a huge rnd modulo gives within range. */
    assert_int_equal(agent_schedule_backoff_s(1, 86400, 0), 15);
    assert_int_equal(agent_schedule_backoff_s(1, 86400, 15), 30);
    assert_int_equal(agent_schedule_backoff_s(2, 86400, 30), 60);
    assert_int_equal(agent_schedule_backoff_s(3, 86400, 60), 120);
    for (f = 1; f < 40; f++) {
        uint64_t max = agent_schedule_backoff_s(f, 86400, (AGENT_BACKOFF_CAP_S / 2));

        assert_true(max <= AGENT_BACKOFF_CAP_S);
        assert_true(max >= prev_max);
        prev_max = max;
    }
    assert_int_equal(prev_max, AGENT_BACKOFF_CAP_S);
    /* Never past the next regular report, never 0. */
    assert_true(agent_schedule_backoff_s(10, 120, UINT64_MAX) <= 120);
    assert_true(agent_schedule_backoff_s(1, 1, 0) >= 1);
    assert_true(agent_schedule_backoff_s(100000, 86400, UINT64_MAX) <= AGENT_BACKOFF_CAP_S);
}

/* ---- child processes ---- */

enum { T_ECHO = 1, T_CRASH = 2 };

static int echo(void *ctx, int fd, const unsigned char *p, size_t n)
{
    (void)ctx;
    return agent_ipc_send(fd, T_ECHO, p, n);
}

static int crash(void *ctx, int fd, const unsigned char *p, size_t n)
{
    (void)ctx;
    (void)fd;
    (void)p;
    (void)n;
    raise(SIGKILL);
    return 0;
}

static const struct agent_ipc_handler child_table[] = {
    {T_ECHO, 64, AGENT_IPC_MANY, echo},
    {T_CRASH, 0, AGENT_IPC_MANY, crash},
};
static const struct agent_ipc_handler answers[] = {{T_ECHO, 64, AGENT_IPC_MANY, NULL}};

static int child_main(int fd, void *ctx)
{
    int *extra = ctx;

    /* Only the socket, stdio and the kept descriptor survive. */
    if (fcntl(*extra, F_GETFD) < 0)
        return 20;
    if (fcntl(extra[1], F_GETFD) >= 0)
        return 21;
    return agent_ipc_serve(fd, child_table, 2, NULL) == 0 ? 0 : 22;
}

static void test_child_lifecycle(void **state)
{
    struct agent_child c;
    struct da_buf b;
    uint32_t type;
    int fds[2], status;

    (void)state;
    da_buf_init(&b, 0);
    fds[0] = dup(2);
    fds[1] = dup(2);
    assert_int_equal(agent_child_spawn("echo child", child_main, fds, &fds[0], 1, &c), 0);
    assert_true(c.pid > 0);
    assert_int_equal(agent_ipc_call(c.fd, T_ECHO, "abc", 3, answers, 1, 5000, &type, &b), 0);
    assert_string_equal(da_buf_str(&b), "abc");
    /* Closing the channel is how a child is told to finish. */
    assert_int_equal(agent_child_stop(&c, 5000, &status), 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(c.pid, -1);
    assert_int_equal(c.fd, -1);

    /* A child that dies is seen on the channel and reported by stop. */
    assert_int_equal(agent_child_spawn("echo child", child_main, fds, &fds[0], 1, &c), 0);
    assert_int_equal(agent_ipc_call(c.fd, T_CRASH, NULL, 0, answers, 1, 5000, &type, &b),
                     DA_ERR_IPC_CLOSED);
    assert_int_equal(agent_child_stop(&c, 5000, &status), DA_ERR_IPC);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    /* kill works on a live child and on one already gone. */
    assert_int_equal(agent_child_spawn("echo child", child_main, fds, &fds[0], 1, &c), 0);
    agent_child_kill(&c);
    agent_child_kill(&c);
    assert_int_equal(c.pid, -1);
    close(fds[0]);
    close(fds[1]);
    da_buf_free(&b);
}

static int sleeper(int fd, void *ctx)
{
    (void)fd;
    (void)ctx;
    for (;;)
        pause();
    return 0;
}

/* Answers one message, then never reads again: only a signal ends it. */
static int echo_once_then_sleep(int fd, void *ctx)
{
    struct da_buf b;
    uint32_t type;

    (void)ctx;
    da_buf_init(&b, 0);
    if (agent_ipc_recv(fd, answers, 1, 5000, &type, &b) != 0 ||
        agent_ipc_send(fd, T_ECHO, da_buf_data(&b), da_buf_len(&b)) != 0)
        return 1;
    da_buf_free(&b);
    for (;;)
        pause();
    return 0;
}

static void test_child_stop_kills_a_stuck_child(void **state)
{
    struct agent_child c;
    int status;

    (void)state;
    assert_int_equal(agent_child_spawn("stuck child", sleeper, NULL, NULL, 0, &c), 0);
    assert_int_equal(agent_child_stop(&c, 100, &status), DA_ERR_TIMEOUT);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* A child never outlives the agent: when the parent is killed, the child
 * gets SIGKILL. This process becomes the subreaper to see it happen. */
static void test_child_dies_with_parent(void **state)
{
    int pipefd[2], status;
    pid_t middle, grandchild = 0, got;

    (void)state;
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    assert_int_equal(pipe(pipefd), 0);
    middle = fork();
    assert_true(middle >= 0);
    if (middle == 0) {
        struct agent_child c;
        struct da_buf b;
        uint32_t type;

        /* One round trip: the child is past its set-up when the pid is
         * handed out. */
        da_buf_init(&b, 0);
        if (agent_child_spawn("orphan", echo_once_then_sleep, NULL, NULL, 0, &c) != 0 ||
            agent_ipc_call(c.fd, T_ECHO, "x", 1, answers, 1, 5000, &type, &b) != 0)
            _exit(1);
        if (write(pipefd[1], &c.pid, sizeof(c.pid)) != (ssize_t)sizeof(c.pid))
            _exit(1);
        for (;;)
            pause();
    }
    assert_int_equal(read(pipefd[0], &grandchild, sizeof(grandchild)), (ssize_t)sizeof(grandchild));
    kill(middle, SIGKILL);
    assert_int_equal(waitpid(middle, &status, 0), middle);
    got = waitpid(grandchild, &status, 0);
    assert_int_equal(got, grandchild);
    if (!WIFSIGNALED(status))
        fail_msg("grandchild status %#x", status);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    close(pipefd[0]);
    close(pipefd[1]);
}

/* After the idle trim, code and libraries work as before (their pages come
 * back from the page cache) and written data is intact. */
static void test_memory_trim_keeps_everything_working(void **state)
{
    static char written[8192];
    unsigned char before[32], after[32];
    const char *doc = "{\"a\":[1,2,3],\"b\":\"x\"}";
    cJSON *j = NULL;
    const struct agent_curl *c;
    int i;

    (void)state;
    /* libcurl is loaded at run time; its code must survive the trim too. */
    assert_int_equal(agent_curl_load(&c), 0);
    memset(written, 'w', sizeof(written));
    assert_int_equal(da_sha256(doc, strlen(doc), before), 0);
    for (i = 0; i < 3; i++) {
        agent_memory_trim();
        assert_int_equal(da_sha256(doc, strlen(doc), after), 0);
        assert_memory_equal(before, after, sizeof(before));
        assert_int_equal(da_json_parse(doc, strlen(doc), 1024, &j), 0);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "a")), 3);
        cJSON_Delete(j);
        assert_int_equal(written[0], 'w');
        assert_int_equal(written[sizeof(written) - 1], 'w');
        assert_non_null(c->easy_strerror(CURLE_OK));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notify_path_and_abstract),
        cmocka_unit_test(test_watchdog_env),
        cmocka_unit_test(test_next_with_jitter),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_child_lifecycle),
        cmocka_unit_test(test_child_stop_kills_a_stuck_child),
        cmocka_unit_test(test_child_dies_with_parent),
        cmocka_unit_test(test_memory_trim_keeps_everything_working),
    };

    da_log_set_level(DA_LOG_ERROR + 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

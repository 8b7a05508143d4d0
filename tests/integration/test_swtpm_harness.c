#include "da_test.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "swtpm_harness.h"
#include "tmp_tree.h"

static int tcp_connects(int port)
{
    struct sockaddr_in sa = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

static void test_start_restart_stop(void **state)
{
    struct da_test_swtpm t;
    struct stat st;
    char dir[sizeof(t.dir)];

    (void)state;
    assert_int_equal(da_test_swtpm_start(&t), 0);
    assert_true(t.port > 0);
    assert_true(tcp_connects(t.port));
    assert_int_equal(stat(t.ca_root, &st), 0);
    assert_int_equal(stat(t.ca_issuer, &st), 0);
    assert_non_null(strstr(t.tcti, "swtpm:host=127.0.0.1,port="));

    assert_int_equal(da_test_swtpm_restart(&t), 0);
    assert_true(tcp_connects(t.port));

    memcpy(dir, t.dir, sizeof(dir));
    da_test_swtpm_stop(&t);
    assert_int_not_equal(stat(dir, &st), 0);
    da_test_swtpm_stop(&t);
}

/* swtpm is a daemon: once killed it is reaped by init, or lingers as a
 * zombie until then. Either way it no longer runs. */
static int runs(pid_t pid)
{
    char path[64], st[512], *p;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    n = fread(st, 1, sizeof(st) - 1, f);
    fclose(f);
    st[n] = '\0';
    p = strrchr(st, ')');
    return p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static int gone_within(pid_t pid, int ms)
{
    struct timespec ts = {0, 10 * 1000 * 1000};
    int i;

    for (i = 0; i < ms / 10; i++) {
        if (!runs(pid))
            return 1;
        nanosleep(&ts, NULL);
    }
    return !runs(pid);
}

/* A test process that starts a TPM and then ends without stopping it:
 * by exit (a failed cmocka group ends so) or by abort. Returns the child's
 * wait status; *pid and dir are the TPM's. */
static int child_leaves_tpm(int how, pid_t *pid, char *dir, size_t n)
{
    int fds[2], status = 0;
    pid_t c;
    struct da_test_swtpm t;

    assert_int_equal(pipe(fds), 0);
    c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        close(fds[0]);
        if (da_test_swtpm_start(&t) != 0)
            _exit(3);
        if (write(fds[1], &t, sizeof(t)) != (ssize_t)sizeof(t))
            _exit(4);
        close(fds[1]);
        if (how == SIGABRT)
            abort();
        exit(0);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], &t, sizeof(t)), (ssize_t)sizeof(t));
    close(fds[0]);
    assert_int_equal(waitpid(c, &status, 0), c);
    *pid = t.pid;
    snprintf(dir, n, "%s", t.dir);
    return status;
}

static void test_exit_without_stop(void **state)
{
    char dir[PATH_MAX];
    struct stat st;
    pid_t pid;
    int status;

    (void)state;
    status = child_leaves_tpm(0, &pid, dir, sizeof(dir));
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(gone_within(pid, 2000));
    assert_int_not_equal(stat(dir, &st), 0);
}

/* On abort only the process is killed (async-signal-safe); the directory
 * is left for the suite's last step to report, so the test removes it. */
static void test_abort_kills_swtpm(void **state)
{
    char dir[PATH_MAX];
    struct stat st;
    pid_t pid;
    int status;

    (void)state;
    status = child_leaves_tpm(SIGABRT, &pid, dir, sizeof(dir));
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    assert_true(gone_within(pid, 2000));
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(da_test_rmtree(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_restart_stop),
        cmocka_unit_test(test_exit_without_stop),
        cmocka_unit_test(test_abort_kills_swtpm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

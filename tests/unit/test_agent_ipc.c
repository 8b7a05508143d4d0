#include "da_test.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "ipc.h"
#include "log.h"

enum { T_HELLO = 1, T_DATA = 2, T_BIG = 3, T_BYE = 4 };

struct served {
    int hello, data, bye;
    size_t bytes;
};

static int on_hello(void *ctx, int fd, const unsigned char *p, size_t n)
{
    struct served *s = ctx;

    (void)fd;
    (void)p;
    (void)n;
    s->hello++;
    return 0;
}

static int on_data(void *ctx, int fd, const unsigned char *p, size_t n)
{
    struct served *s = ctx;

    (void)fd;
    (void)p;
    s->data++;
    s->bytes += n;
    return 0;
}

static int on_bye(void *ctx, int fd, const unsigned char *p, size_t n)
{
    struct served *s = ctx;

    (void)fd;
    (void)p;
    (void)n;
    s->bye++;
    return AGENT_IPC_STOP;
}

static const struct agent_ipc_handler table[] = {
    {T_HELLO, 16, AGENT_IPC_ONCE, on_hello},
    {T_DATA, 64, AGENT_IPC_MANY, on_data},
    {T_BIG, 4u * 1024 * 1024, AGENT_IPC_MANY, on_data},
    {T_BYE, 0, AGENT_IPC_MANY, on_bye},
};
#define NT (sizeof(table) / sizeof(table[0]))

static void pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void raw(int fd, const void *p, size_t n)
{
    assert_int_equal(write(fd, p, n), (ssize_t)n);
}

static void header(unsigned char h[8], uint32_t type, uint32_t len)
{
    h[0] = (unsigned char)(type >> 24);
    h[1] = (unsigned char)(type >> 16);
    h[2] = (unsigned char)(type >> 8);
    h[3] = (unsigned char)type;
    h[4] = (unsigned char)(len >> 24);
    h[5] = (unsigned char)(len >> 16);
    h[6] = (unsigned char)(len >> 8);
    h[7] = (unsigned char)len;
}

static void test_roundtrip(void **state)
{
    int sv[2];
    struct da_buf b;
    uint32_t type;

    (void)state;
    pair(sv);
    da_buf_init(&b, 0);
    assert_int_equal(agent_ipc_send(sv[0], T_HELLO, "hi", 2), 0);
    assert_int_equal(agent_ipc_send(sv[0], T_BYE, NULL, 0), 0);
    assert_int_equal(agent_ipc_recv(sv[1], table, NT, 1000, &type, &b), 0);
    assert_int_equal(type, T_HELLO);
    assert_int_equal(da_buf_len(&b), 2);
    assert_memory_equal(da_buf_data(&b), "hi", 2);
    assert_int_equal(agent_ipc_recv(sv[1], table, NT, 1000, &type, &b), 0);
    assert_int_equal(type, T_BYE);
    assert_int_equal(da_buf_len(&b), 0);
    close(sv[0]);
    assert_int_equal(agent_ipc_recv(sv[1], table, NT, 1000, &type, &b), DA_ERR_IPC_CLOSED);
    close(sv[1]);
    da_buf_free(&b);
}

static void test_unknown_type_and_oversize(void **state)
{
    int sv[2];
    unsigned char h[8];
    struct da_buf b;
    uint32_t type;

    (void)state;
    da_buf_init(&b, 0);
    pair(sv);
    header(h, 99, 0);
    raw(sv[0], h, 8);
    assert_int_equal(agent_ipc_recv(sv[1], table, NT, 1000, &type, &b), DA_ERR_IPC);
    assert_int_equal(type, 0);
    /* Over its cap: refused from the header alone, before any payload is
     * read (none is sent; a reader that waited for it would time out). */
    header(h, T_HELLO, 17);
    raw(sv[0], h, 8);
    assert_int_equal(agent_ipc_recv(sv[1], table, NT, 1000, &type, &b), DA_ERR_TOO_LARGE);
    header(h, T_DATA, 0xffffffffu);
    raw(sv[0], h, 8);
    assert_int_equal(agent_ipc_recv(sv[1], table, NT, 1000, &type, &b), DA_ERR_TOO_LARGE);
    close(sv[0]);
    close(sv[1]);
    da_buf_free(&b);
}

static void test_truncated_frames(void **state)
{
    int sv[2];
    unsigned char h[8];
    struct da_buf b;
    uint32_t type;

    (void)state;
    da_buf_init(&b, 0);
    /* Half a header, then the peer is gone. */
    pair(sv);
    header(h, T_DATA, 10);
    raw(sv[0], h, 3);
    close(sv[0]);
    assert_int_equal(agent_ipc_recv(sv[1], table, NT, 1000, &type, &b), DA_ERR_TRUNCATED);
    close(sv[1]);
    /* Whole header, part of the payload. */
    pair(sv);
    raw(sv[0], h, 8);
    raw(sv[0], "12345", 5);
    close(sv[0]);
    assert_int_equal(agent_ipc_recv(sv[1], table, NT, 1000, &type, &b), DA_ERR_TRUNCATED);
    assert_int_equal(da_buf_len(&b), 0);
    close(sv[1]);
    /* Part of the payload and the peer still there: a timeout, not a hang. */
    pair(sv);
    raw(sv[0], h, 8);
    raw(sv[0], "12345", 5);
    assert_int_equal(agent_ipc_recv(sv[1], table, NT, 50, &type, &b), DA_ERR_TIMEOUT);
    close(sv[0]);
    close(sv[1]);
    da_buf_free(&b);
}

static void test_frame_decode(void **state)
{
    unsigned char f[16];
    const unsigned char *p;
    size_t n;
    uint32_t type;

    (void)state;
    header(f, T_DATA, 4);
    memcpy(f + 8, "abcd", 4);
    assert_int_equal(agent_ipc_frame_decode(f, 12, table, NT, &type, &p, &n), 0);
    assert_int_equal(type, T_DATA);
    assert_int_equal(n, 4);
    assert_ptr_equal(p, f + 8);
    assert_int_equal(agent_ipc_frame_decode(f, 11, table, NT, &type, &p, &n), DA_ERR_TRUNCATED);
    assert_null(p);
    assert_int_equal(agent_ipc_frame_decode(f, 13, table, NT, &type, &p, &n), DA_ERR_TRAILING_DATA);
    assert_int_equal(agent_ipc_frame_decode(f, 7, table, NT, &type, &p, &n), DA_ERR_TRUNCATED);
    header(f, 5, 0);
    assert_int_equal(agent_ipc_frame_decode(f, 8, table, NT, &type, &p, &n), DA_ERR_IPC);
    header(f, T_BYE, 1);
    assert_int_equal(agent_ipc_frame_decode(f, 9, table, NT, &type, &p, &n), DA_ERR_TOO_LARGE);
}

static void test_serve_dispatch(void **state)
{
    int sv[2];
    struct served s;

    (void)state;
    memset(&s, 0, sizeof(s));
    pair(sv);
    assert_int_equal(agent_ipc_send(sv[0], T_HELLO, "x", 1), 0);
    assert_int_equal(agent_ipc_send(sv[0], T_DATA, "abc", 3), 0);
    assert_int_equal(agent_ipc_send(sv[0], T_DATA, "de", 2), 0);
    close(sv[0]);
    /* The peer ending at a frame boundary is a clean end. */
    assert_int_equal(agent_ipc_serve(sv[1], table, NT, &s), 0);
    assert_int_equal(s.hello, 1);
    assert_int_equal(s.data, 2);
    assert_int_equal(s.bytes, 5);
    close(sv[1]);

    /* A type allowed once, sent twice, is fatal; nothing after it is served. */
    memset(&s, 0, sizeof(s));
    pair(sv);
    assert_int_equal(agent_ipc_send(sv[0], T_HELLO, "x", 1), 0);
    assert_int_equal(agent_ipc_send(sv[0], T_HELLO, "y", 1), 0);
    assert_int_equal(agent_ipc_send(sv[0], T_DATA, "abc", 3), 0);
    assert_int_equal(agent_ipc_serve(sv[1], table, NT, &s), DA_ERR_IPC);
    assert_int_equal(s.hello, 1);
    assert_int_equal(s.data, 0);
    close(sv[0]);
    close(sv[1]);

    /* A handler can end serving; frames after it stay unread. */
    memset(&s, 0, sizeof(s));
    pair(sv);
    assert_int_equal(agent_ipc_send(sv[0], T_BYE, NULL, 0), 0);
    assert_int_equal(agent_ipc_send(sv[0], T_DATA, "abc", 3), 0);
    assert_int_equal(agent_ipc_serve(sv[1], table, NT, &s), 0);
    assert_int_equal(s.bye, 1);
    assert_int_equal(s.data, 0);
    close(sv[0]);
    close(sv[1]);

    /* An unknown type in the middle of a session is fatal. */
    memset(&s, 0, sizeof(s));
    pair(sv);
    assert_int_equal(agent_ipc_send(sv[0], T_DATA, "abc", 3), 0);
    assert_int_equal(agent_ipc_send(sv[0], 77, "abc", 3), 0);
    assert_int_equal(agent_ipc_serve(sv[1], table, NT, &s), DA_ERR_IPC);
    assert_int_equal(s.data, 1);
    close(sv[0]);
    close(sv[1]);
}

static void test_peer_death(void **state)
{
    int sv[2], status;
    struct da_buf b;
    uint32_t type;
    pid_t pid;

    (void)state;
    da_buf_init(&b, 0);
    pair(sv);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[1]);
        pause();
        _exit(0);
    }
    close(sv[0]);
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(agent_ipc_recv(sv[1], table, NT, 1000, &type, &b), DA_ERR_IPC_CLOSED);
    /* Writing to a dead peer reports it and raises no SIGPIPE (this process
     * would die of it). */
    assert_int_equal(agent_ipc_send(sv[1], T_DATA, "abc", 3), DA_ERR_IPC_CLOSED);
    close(sv[1]);
    da_buf_free(&b);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

/* A big frame written by another process in pieces while this one is
 * interrupted by signals all the time: short reads and EINTR are resumed. */
static void test_large_frame_with_signals(void **state)
{
    const size_t size = 3u * 1024 * 1024 + 17;
    struct sigaction sa, old;
    struct itimerval it, off;
    unsigned char *data;
    struct da_buf b;
    uint32_t type;
    int sv[2], status;
    pid_t pid;
    size_t i;

    (void)state;
    data = malloc(size);
    assert_non_null(data);
    for (i = 0; i < size; i++)
        data[i] = (unsigned char)(i * 7 + 3);
    pair(sv);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[1]);
        usleep(50 * 1000);
        _exit(agent_ipc_send(sv[0], T_BIG, data, size) == 0 ? 0 : 1);
    }
    close(sv[0]);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm; /* no SA_RESTART: reads and polls see EINTR */
    sigaction(SIGALRM, &sa, &old);
    memset(&it, 0, sizeof(it));
    it.it_interval.tv_usec = 500;
    it.it_value.tv_usec = 500;
    setitimer(ITIMER_REAL, &it, NULL);
    da_buf_init(&b, 0);
    assert_int_equal(agent_ipc_recv(sv[1], table, NT, 10000, &type, &b), 0);
    memset(&off, 0, sizeof(off));
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &old, NULL);
    assert_true(alarms > 0);
    assert_int_equal(type, T_BIG);
    assert_int_equal(da_buf_len(&b), size);
    assert_memory_equal(da_buf_data(&b), data, size);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(sv[1]);
    da_buf_free(&b);
    free(data);
}

static void test_send_limits(void **state)
{
    int sv[2];

    (void)state;
    pair(sv);
    assert_int_equal(agent_ipc_send(sv[0], T_DATA, NULL, 3), DA_ERR_INVALID_ARG);
    assert_int_equal(agent_ipc_send(sv[0], T_DATA, "x", (size_t)AGENT_IPC_MAX_PAYLOAD + 1),
                     DA_ERR_INVALID_ARG);
    close(sv[0]);
    close(sv[1]);
}

static void test_call(void **state)
{
    static const struct agent_ipc_handler answers[] = {{T_DATA, 64, AGENT_IPC_MANY, NULL}};
    int sv[2], status;
    struct da_buf b;
    uint32_t type;
    pid_t pid;

    (void)state;
    pair(sv);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct da_buf req;
        uint32_t t;

        close(sv[0]);
        da_buf_init(&req, 0);
        if (agent_ipc_recv(sv[1], table, NT, 5000, &t, &req) != 0 || t != T_DATA)
            _exit(1);
        if (agent_ipc_send(sv[1], T_DATA, da_buf_data(&req), da_buf_len(&req)) != 0)
            _exit(2);
        da_buf_free(&req);
        _exit(0);
    }
    close(sv[1]);
    da_buf_init(&b, 0);
    assert_int_equal(agent_ipc_call(sv[0], T_DATA, "ping", 4, answers, 1, 5000, &type, &b), 0);
    assert_int_equal(type, T_DATA);
    assert_string_equal(da_buf_str(&b), "ping");
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(sv[0]);
    da_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_unknown_type_and_oversize),
        cmocka_unit_test(test_truncated_frames),
        cmocka_unit_test(test_frame_decode),
        cmocka_unit_test(test_serve_dispatch),
        cmocka_unit_test(test_peer_death),
        cmocka_unit_test(test_large_frame_with_signals),
        cmocka_unit_test(test_send_limits),
        cmocka_unit_test(test_call),
    };

    da_log_set_level(DA_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

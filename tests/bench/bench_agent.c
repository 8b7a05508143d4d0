/* Benchmarks of the agent's plumbing: spool writes (atomic, fsync'ed),
 * spool read + remove, IPC round trips to a child process, and installing a
 * sandbox. Wall-clock times per operation; medians and p90 printed.
 *   bench_agent [ROUNDS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "ipc.h"
#include "log.h"
#include "sandbox.h"
#include "spool.h"

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, int n)
{
    qsort(t, (size_t)n, sizeof(*t), cmp_double);
    printf("%-44s median %9.1f us   p90 %9.1f us   min %9.1f us   (n=%d)\n", what, t[n / 2],
           t[n * 9 / 10], t[0], n);
}

static void bench_spool(const char *dir, size_t size, int rounds)
{
    struct agent_spool *s = NULL;
    unsigned char *payload = malloc(size);
    double *put = calloc((size_t)rounds, sizeof(double));
    double *take = calloc((size_t)rounds, sizeof(double));
    struct da_buf b;
    char label[64];
    int i;

    if (payload == NULL || put == NULL || take == NULL ||
        agent_spool_open(dir, (uint64_t)rounds + 1, 1ull << 40, &s) != 0) {
        fprintf(stderr, "spool set-up failed\n");
        exit(1);
    }
    memset(payload, 'r', size);
    da_buf_init(&b, 0);
    for (i = 0; i < rounds; i++) {
        double t0 = now_us();

        if (agent_spool_put(s, payload, size, 1, NULL) != 0)
            exit(1);
        put[i] = now_us() - t0;
    }
    for (i = 0; i < rounds; i++) {
        uint64_t seq, created;
        double t0 = now_us();

        if (agent_spool_peek(s, &seq, &created, &b) != 0 || agent_spool_remove(s, seq) != 0)
            exit(1);
        take[i] = now_us() - t0;
    }
    snprintf(label, sizeof(label), "spool put, %zu KiB", size / 1024);
    report(label, put, rounds);
    snprintf(label, sizeof(label), "spool peek + remove, %zu KiB", size / 1024);
    report(label, take, rounds);
    da_buf_free(&b);
    agent_spool_close(s);
    free(payload);
    free(put);
    free(take);
}

static int echo_one(void *ctx, int fd, const unsigned char *p, size_t n)
{
    (void)ctx;
    return agent_ipc_send(fd, 1, p, n);
}

static const struct agent_ipc_handler table[] = {{1, 65536, AGENT_IPC_MANY, echo_one}};

static int echo_main(int fd, void *ctx)
{
    (void)ctx;
    return agent_ipc_serve(fd, table, 1, NULL) == 0 ? 0 : 1;
}

static void bench_ipc(size_t size, int rounds)
{
    unsigned char *msg = calloc(1, size);
    double *t = calloc((size_t)rounds, sizeof(double));
    struct agent_child c;
    struct da_buf b;
    uint32_t type;
    char label[64];
    int i;

    if (msg == NULL || t == NULL || agent_child_spawn("echo", echo_main, NULL, NULL, 0, &c) != 0)
        exit(1);
    da_buf_init(&b, 0);
    for (i = 0; i < rounds; i++) {
        double t0 = now_us();

        if (agent_ipc_call(c.fd, 1, msg, size, table, 1, 5000, &type, &b) != 0)
            exit(1);
        t[i] = now_us() - t0;
    }
    snprintf(label, sizeof(label), "IPC round trip to a child, %zu B", size);
    report(label, t, rounds);
    agent_child_stop(&c, 1000, NULL);
    da_buf_free(&b);
    free(msg);
    free(t);
}

static void bench_sandbox(int rounds)
{
    static const enum agent_sandbox_profile profiles[] = {
        AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_SIGNER, AGENT_SANDBOX_UPLOADER};
    double *t = calloc((size_t)rounds, sizeof(double));
    size_t p;
    int i;

    if (t == NULL)
        exit(1);
    for (p = 0; p < 3; p++) {
        char label[64];

        for (i = 0; i < rounds; i++) {
            int pipefd[2], status;
            double v = -1;
            pid_t pid;

            if (pipe(pipefd) != 0)
                exit(1);
            pid = fork();
            if (pid == 0) {
                double t0 = now_us();

                if (agent_sandbox_enter(profiles[p], AGENT_SANDBOX_ENFORCE) == 0)
                    v = now_us() - t0;
                _exit(write(pipefd[1], &v, sizeof(v)) == (ssize_t)sizeof(v) ? 0 : 1);
            }
            if (read(pipefd[0], &v, sizeof(v)) != (ssize_t)sizeof(v) || v < 0)
                exit(1);
            waitpid(pid, &status, 0);
            close(pipefd[0]);
            close(pipefd[1]);
            t[i] = v;
        }
        snprintf(label, sizeof(label), "enter the %s sandbox",
                 agent_sandbox_profile_name(profiles[p]));
        report(label, t, rounds);
    }
    free(t);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 200;
    char dir[] = "/tmp/da-bench-spool-XXXXXX";

    if (rounds < 10)
        rounds = 10;
    /* Children are forked below: nothing may sit in a stdio buffer then. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    da_log_set_level(DA_LOG_ERROR);
    if (mkdtemp(dir) == NULL)
        return 1;
    bench_spool(dir, 16 * 1024, rounds);
    bench_spool(dir, 1024 * 1024, rounds / 4);
    {
        char f[128];

        snprintf(f, sizeof(f), "%s/dropped", dir);
        unlink(f);
    }
    rmdir(dir);
    bench_ipc(1024, rounds * 10);
    bench_ipc(65536, rounds * 2);
    bench_sandbox(rounds / 4);
    return 0;
}

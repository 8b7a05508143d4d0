/* Benchmark of the whole agent against a local server with swtpm:
 *   - one `devattest-agent report` cycle (collect, nonce, quote, spool,
 *     deliver): wall time, and the peak RSS of the uploader and of the
 *     largest of its processes;
 *   - `devattest-agent run` between cycles: resident memory of its three
 *     processes and the CPU time they use while idle.
 *   bench_agent_cycle [CYCLES] [IDLE_SECONDS] */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "server_harness.h"
#include "swtpm_harness.h"
#include "picky.h"

#define AGENT_BIN DA_BINARY_ROOT "/agent/devattest-agent"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Run the agent quietly; wait4 gives its own rusage. */
static int run_agent(const char *const *argv, struct rusage *ru)
{
    int status;
    pid_t pid = fork();

    if (pid == 0) {
        if (freopen("/dev/null", "w", stdout) == NULL || freopen("/dev/null", "w", stderr) == NULL)
            _exit(126);
        execv(AGENT_BIN, (char *const *)DA_UNCONST(argv));
        _exit(127);
    }
    if (pid < 0 || wait4(pid, &status, 0, ru) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* VmRSS (KiB) and utime + stime (clock ticks) of one process. */
static int proc_sample(pid_t pid, long *rss_kib, long long *ticks)
{
    char path[64], line[512];
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    *rss_kib = -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "VmRSS: %ld kB", rss_kib) == 1)
            continue;
        if (getenv("DA_BENCH_VERBOSE") != NULL && strncmp(line, "Rss", 3) == 0)
            printf("    %d %s", (int)pid, line);
    }
    fclose(f);
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
        if (f != NULL)
            fclose(f);
        return -1;
    }
    fclose(f);
    {
        char *p = strrchr(line, ')');
        unsigned long long ut = 0, st = 0;

        if (p == NULL ||
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
            return -1;
        *ticks = (long long)(ut + st);
    }
    return 0;
}

/* The daemon's processes: itself and its children. */
static int family(pid_t parent, pid_t *out, int max)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;

    out[n++] = parent;
    while (d != NULL && (e = readdir(d)) != NULL && n < max) {
        char path[64], line[512];
        FILE *f;
        int pid = (int)strtol(e->d_name, NULL, 10), ppid = 0;

        if (pid <= 0)
            continue;
        snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        f = fopen(path, "r");
        if (f == NULL)
            continue;
        if (fgets(line, sizeof(line), f) != NULL) {
            char *p = strrchr(line, ')');

            if (p != NULL && sscanf(p + 2, "%*c %d", &ppid) == 1 && ppid == (int)parent)
                out[n++] = pid;
        }
        fclose(f);
    }
    if (d != NULL)
        closedir(d);
    return n;
}

static void bench_idle(const char *conf, int idle_s)
{
    char dir[] = "/tmp/da-bench-notify-XXXXXX", sock[96], env[128], msg[64];
    pid_t pids[8];
    long rss[8];
    long long t0[8], t1[8];
    struct sockaddr_un a;
    struct timeval tv = {120, 0};
    int fd, n, i, ready = 0, status;
    long total = 0;
    pid_t pid;
    ssize_t got;

    if (mkdtemp(dir) == NULL)
        exit(1);
    snprintf(sock, sizeof(sock), "%s/notify", dir);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    memcpy(a.sun_path, sock, strlen(sock));
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        exit(1);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    snprintf(env, sizeof(env), "NOTIFY_SOCKET=%s", sock);
    pid = fork();
    if (pid == 0) {
        putenv(env);
        if (freopen("/dev/null", "w", stderr) == NULL)
            _exit(126);
        execl(AGENT_BIN, AGENT_BIN, "run", "--config", conf, (char *)NULL);
        _exit(127);
    }
    while (!ready && (got = recv(fd, msg, sizeof(msg) - 1, 0)) > 0) {
        msg[got] = '\0';
        ready = strcmp(msg, "READY=1") == 0;
    }
    if (!ready) {
        fprintf(stderr, "the daemon did not become ready\n");
        exit(1);
    }
    sleep(1);
    n = family(pid, pids, 8);
    for (i = 0; i < n; i++)
        proc_sample(pids[i], &rss[i], &t0[i]);
    sleep((unsigned)idle_s);
    if (getenv("DA_BENCH_SMAPS") != NULL) {
        char c2[128];

        snprintf(c2, sizeof(c2), "%s %d", getenv("DA_BENCH_SMAPS"), (int)pid);
        (void)!system(c2);
    }
    for (i = 0; i < n; i++) {
        long r2;

        proc_sample(pids[i], &r2, &t1[i]);
        printf("run, idle: process %d (%s)   RSS %6ld KiB   CPU during %d s idle: %lld ticks\n",
               (int)pids[i], i == 0 ? "uploader" : "child", rss[i], idle_s, t1[i] - t0[i]);
        total += rss[i];
    }
    printf("run, idle: uploader RSS %ld KiB, all %d processes %ld KiB\n", rss[0], n, total);
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    close(fd);
    unlink(sock);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    int cycles = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 20;
    int idle_s = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 10;
    struct da_test_swtpm tpm;
    struct da_test_server srv;
    char extra[8192 + 512], dir[160], conf[192], token[128], cmd[256];
    double *t;
    long peak_uploader = 0, peak_any = 0;
    struct rusage ru, children;
    FILE *f;
    int i;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (cycles < 3)
        cycles = 3;
    t = calloc((size_t)cycles, sizeof(*t));
    if (t == NULL || da_test_swtpm_start(&tpm) != 0)
        return 1;
    snprintf(extra, sizeof(extra),
             "ek_roots = %s\nrate_per_agent = 1000\nburst_per_agent = 1000\n"
             "policy_file = %s/common/policies/iso27001-2022-devenv.json\n",
             tpm.ca_root, DA_SOURCE_ROOT);
    if (da_test_server_setup(&srv, extra) != 0 || da_test_server_start(&srv) != 0)
        return 1;
    snprintf(dir, sizeof(dir), "%s/agent", srv.dir);
    snprintf(conf, sizeof(conf), "%s/agent.conf", dir);
    mkdir(dir, 0700);
    f = fopen(conf, "w");
    if (f == NULL)
        return 1;
    fprintf(f,
            "server_url = %s\nserver_ca = %s\ntcti = %s\nstate_dir = %s/state\n"
            "interval = 1h\njitter = 0s\n",
            srv.base, srv.ca, tpm.tcti, dir);
    fclose(f);
    if (da_test_server_cli(&srv, NULL, 0, "vendor", "create", "bench", NULL) != 0 ||
        da_test_server_cli(&srv, token, sizeof(token), "token", "create", "--vendor", "bench",
                           "--ttl", "1h", NULL) != 0)
        return 1;
    {
        const char *args[] = {AGENT_BIN, "enroll",     "--config",    conf, "--token",
                              token,     "--ek-chain", tpm.ca_issuer, NULL};

        if (run_agent(args, &ru) != 0) {
            fprintf(stderr, "enroll failed\n");
            return 1;
        }
    }
    for (i = 0; i < cycles; i++) {
        const char *args[] = {AGENT_BIN, "report", "--config", conf, NULL};
        double t0 = now_s();
        int rc = run_agent(args, &ru);

        t[i] = now_s() - t0;
        if (rc != 0 && rc != 4) {
            fprintf(stderr, "report %d failed (%d)\n", i, rc);
            return 1;
        }
        if (ru.ru_maxrss > peak_uploader)
            peak_uploader = ru.ru_maxrss;
    }
    getrusage(RUSAGE_CHILDREN, &children);
    peak_any = children.ru_maxrss;
    qsort(t, (size_t)cycles, sizeof(*t), cmp_double);
    printf("report cycle: median %.3f s   p90 %.3f s   min %.3f s   (n=%d)\n", t[cycles / 2],
           t[cycles * 9 / 10], t[0], cycles);
    printf("report cycle: peak RSS uploader %ld KiB, largest agent process %ld KiB\n",
           peak_uploader, peak_any);
    bench_idle(conf, idle_s);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    (void)!system(cmd);
    da_test_server_cleanup(&srv);
    da_test_swtpm_stop(&tpm);
    free(t);
    return 0;
}

/* Each restriction of the sandbox is proved by making the forbidden call from
 * inside it, in a forked child, and watching the child die of SIGSYS
 * (enforce mode) or get EPERM (log mode). Every test also checks that what
 * the profile must still do works, so a filter that refused everything
 * would fail here too. */
#include "da_test.h"

#include <limits.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "rootfs.h"
#include "sandbox.h"
#include "tmp_tree.h"
#include "picky.h"

/* Exit codes of the children. */
enum { OK = 0, UNEXPECTED_SUCCESS = 10, WRONG_ERRNO = 11, SETUP_FAILED = 12, SKIPPED = 13 };

static char tmpdir[200];
static char readable[256]; /* a regular file */
static char fake_tpm[256]; /* a character device node (the numbers of /dev/null) */
static int have_fake_tpm;
static char layer_root[200]; /* a root for the file layer */

typedef int (*child_fn)(void *arg);

/* Fork; the child enters the profile, runs fn and exits with its result.
 * Returns the raw wait status. */
static int run_sandboxed(enum agent_sandbox_profile p, enum agent_sandbox_mode mode, child_fn fn,
                         void *arg)
{
    struct rlimit nocore = {0, 0};
    int status = 0;
    pid_t pid;

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setrlimit(RLIMIT_CORE, &nocore);
        alarm(30); /* a child that blocks (a FIFO opened for reading) dies of SIGALRM */
        if (agent_sandbox_enter(p, mode) != 0)
            _exit(SETUP_FAILED);
        _exit(fn(arg));
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void expect_sigsys(int status)
{
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
        fail_msg("expected death by SIGSYS, got %s %d", WIFSIGNALED(status) ? "signal" : "exit",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

static void expect_exit(int status, int code)
{
    if (!WIFEXITED(status) || WEXITSTATUS(status) != code)
        fail_msg("expected exit %d, got %s %d", code, WIFSIGNALED(status) ? "signal" : "exit",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

static int expect_errno(int ret, int e)
{
    if (ret >= 0)
        return UNEXPECTED_SUCCESS;
    return errno == e ? OK : WRONG_ERRNO;
}

static const char *const layer_dirs[] = {"/etc", "/etc/d"};
static const char *const layer_files[] = {"/etc/os-release", "/etc/d/a.conf", "/etc/d/b.conf"};

static int setup(void **state)
{
    char path[300];
    FILE *f;

    (void)state;
    assert_int_equal(da_test_tmpdir("da-sandbox", tmpdir, sizeof(tmpdir)), 0);
    snprintf(readable, sizeof(readable), "%s/readable", tmpdir);
    f = fopen(readable, "w");
    assert_non_null(f);
    fputs("evidence\n", f);
    fclose(f);
    snprintf(fake_tpm, sizeof(fake_tpm), "%s/tpmrm0", tmpdir);
    have_fake_tpm =
        mknod(fake_tpm, S_IFCHR | 0666, makedev(1, 3)) == 0 && chmod(fake_tpm, 0666) == 0;
    /* lroot/etc/os-release, links to it that would leave a chroot if
     * followed naively (absolute, and by more ".." than there are levels),
     * a FIFO in place of a file, and a directory to list and glob */
    assert_int_equal(da_test_tmpdir("da-sandbox-root", layer_root, sizeof(layer_root)), 0);
    for (size_t i = 0; i < sizeof(layer_dirs) / sizeof(layer_dirs[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", layer_root, layer_dirs[i]);
        assert_int_equal(mkdir(path, 0755), 0);
    }
    for (size_t i = 0; i < sizeof(layer_files) / sizeof(layer_files[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", layer_root, layer_files[i]);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs("ID=inside-the-root\n", f);
        fclose(f);
    }
    snprintf(path, sizeof(path), "%s/abs", layer_root);
    assert_int_equal(symlink("/etc/os-release", path), 0);
    snprintf(path, sizeof(path), "%s/up", layer_root);
    assert_int_equal(symlink("../../../../../../../../etc/os-release", path), 0);
    snprintf(path, sizeof(path), "%s/fifo", layer_root);
    assert_int_equal(mkfifo(path, 0644), 0);
    return 0;
}

static int teardown(void **state)
{
    char path[300];

    (void)state;
    unlink(readable);
    unlink(fake_tpm);
    snprintf(path, sizeof(path), "%s/made", tmpdir);
    rmdir(path);
    rmdir(tmpdir);
    for (size_t i = 0; i < sizeof(layer_files) / sizeof(layer_files[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", layer_root, layer_files[i]);
        unlink(path);
    }
    for (const char *const *n = (const char *const[]){"/abs", "/up", "/fifo", NULL}; *n; n++) {
        snprintf(path, sizeof(path), "%s%s", layer_root, *n);
        unlink(path);
    }
    for (size_t i = sizeof(layer_dirs) / sizeof(layer_dirs[0]); i > 0; i--) {
        snprintf(path, sizeof(path), "%s%s", layer_root, layer_dirs[i - 1]);
        rmdir(path);
    }
    rmdir(layer_root);
    return 0;
}

/* ---- collector ---- */

static int do_execve(void *arg)
{
    char *const argv[] = {(char *)DA_UNCONST("true"), NULL};

    (void)arg;
    execve("/bin/true", argv, NULL);
    return expect_errno(-1, EPERM);
}

static int do_open_write(void *arg)
{
    int flags = *(int *)arg;

    return expect_errno(open(readable, flags | O_CLOEXEC, 0600), EPERM);
}

static int do_read_file(void *arg)
{
    char b[16];
    int fd, found = 0;
    ssize_t n;
    DIR *d;
    struct dirent *e;

    (void)arg;
    d = opendir(tmpdir); /* O_DIRECTORY must stay allowed */
    if (d == NULL)
        return SETUP_FAILED;
    while ((e = readdir(d)) != NULL)
        found |= strcmp(e->d_name, "readable") == 0;
    closedir(d);
    if (!found)
        return SETUP_FAILED;
    fd = open(readable, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return SETUP_FAILED;
    n = read(fd, b, sizeof(b));
    close(fd);
    return n == 9 && memcmp(b, "evidence\n", 9) == 0 ? OK : SETUP_FAILED;
}

/* The rooted file layer as the collectors use it, under the collector's
 * profile (which answers openat2 with ENOSYS, so the layer resolves in user
 * space): reads stay inside the root, a FIFO is refused without blocking,
 * listing and glob work. */
static int do_rootfs_layer(void *arg)
{
    static const char *const inside[] = {"/etc/os-release", "/abs", "/up"};
    struct da_rootfs *fs = NULL;
    struct da_rootfs_dir *d = NULL;
    struct da_rootfs_dirent ent;
    struct da_rootfs_glob g = {NULL, 0};
    struct da_buf b;
    char real[256];
    int r = OK, n = 0, e;

    (void)arg;
    if (da_rootfs_open(layer_root, 0, &fs) != 0)
        return SETUP_FAILED;
    for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]) && r == OK; i++) {
        da_buf_init(&b, 4096);
        if (da_rootfs_read(fs, inside[i], &b) != 0 ||
            strcmp(da_buf_str(&b), "ID=inside-the-root\n") != 0)
            r = WRONG_ERRNO;
        da_buf_free(&b);
    }
    if (r == OK && (da_rootfs_realpath(fs, "/up", real, sizeof(real)) != 0 ||
                    strcmp(real, "/etc/os-release") != 0))
        r = WRONG_ERRNO;
    da_buf_init(&b, 4096);
    if (r == OK && da_rootfs_read(fs, "/fifo", &b) != DA_ERR_NOT_REGULAR)
        r = WRONG_ERRNO;
    da_buf_free(&b);
    if (r == OK && da_rootfs_opendir(fs, "/etc/d", &d) == 0) {
        while ((e = da_rootfs_readdir(d, &ent)) == 1)
            n++;
        da_rootfs_closedir(d);
        if (e != 0 || n != 2)
            r = WRONG_ERRNO;
    } else if (r == OK) {
        r = WRONG_ERRNO;
    }
    if (r == OK && (da_rootfs_glob(fs, "/etc/d/*.conf", &g) != 0 || g.n != 2 ||
                    strcmp(g.paths[0], "/etc/d/a.conf") != 0))
        r = WRONG_ERRNO;
    da_rootfs_glob_free(&g);
    if (r == OK && da_rootfs_uses_openat2(fs))
        r = UNEXPECTED_SUCCESS; /* the profile refuses openat2 */
    da_rootfs_free(fs);
    return r;
}

static int do_inet_socket(void *arg)
{
    (void)arg;
    return expect_errno(socket(AF_INET, SOCK_STREAM, 0), EPERM);
}

static int do_netlink_socket(void *arg)
{
    struct sockaddr_nl a;
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

    (void)arg;
    if (fd < 0)
        return SETUP_FAILED;
    memset(&a, 0, sizeof(a));
    a.nl_family = AF_NETLINK;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        return SETUP_FAILED;
    close(fd);
    return OK;
}

static int do_connect(void *arg)
{
    struct sockaddr_in a;

    (void)arg;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(9);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return expect_errno(connect(0, (struct sockaddr *)&a, sizeof(a)), EPERM);
}

static int do_mkdir(void *arg)
{
    char path[300];

    (void)arg;
    snprintf(path, sizeof(path), "%s/made", tmpdir);
    return mkdir(path, 0700) == 0 ? OK : SETUP_FAILED;
}

/* no_new_privs and filter mode, as the kernel reports them. */
static int do_flags(void *arg)
{
    char b[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    ssize_t n;

    (void)arg;
    if (fd < 0)
        return SETUP_FAILED;
    n = read(fd, b, sizeof(b) - 1);
    close(fd);
    if (n <= 0)
        return SETUP_FAILED;
    b[n] = '\0';
    return strstr(b, "NoNewPrivs:\t1") != NULL && strstr(b, "Seccomp:\t2") != NULL ? OK
                                                                                   : SETUP_FAILED;
}

static void test_collector_enforce(void **state)
{
    int wr = O_WRONLY, rdwr = O_RDWR, creat = O_RDONLY | O_CREAT, trunc = O_RDONLY | O_TRUNC;
    int append = O_RDONLY | O_APPEND;

    (void)state;
    expect_exit(run_sandboxed(AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_ENFORCE, do_read_file, NULL),
                OK);
    expect_exit(
        run_sandboxed(AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_ENFORCE, do_netlink_socket, NULL), OK);
    expect_exit(run_sandboxed(AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_ENFORCE, do_flags, NULL), OK);
    expect_exit(
        run_sandboxed(AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_ENFORCE, do_rootfs_layer, NULL), OK);
    expect_sigsys(run_sandboxed(AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_ENFORCE, do_execve, NULL));
    expect_sigsys(
        run_sandboxed(AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_ENFORCE, do_open_write, &wr));
    expect_sigsys(
        run_sandboxed(AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_ENFORCE, do_open_write, &rdwr));
    expect_sigsys(
        run_sandboxed(AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_ENFORCE, do_open_write, &creat));
    expect_sigsys(
        run_sandboxed(AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_ENFORCE, do_open_write, &trunc));
    expect_sigsys(
        run_sandboxed(AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_ENFORCE, do_open_write, &append));
    expect_sigsys(
        run_sandboxed(AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_ENFORCE, do_inet_socket, NULL));
    expect_sigsys(run_sandboxed(AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_ENFORCE, do_connect, NULL));
    /* Not on any list: the default action. */
    expect_sigsys(run_sandboxed(AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_ENFORCE, do_mkdir, NULL));
}

static void test_collector_log_mode(void **state)
{
    int wr = O_WRONLY;

    (void)state;
    expect_exit(run_sandboxed(AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_LOG, do_execve, NULL), OK);
    expect_exit(run_sandboxed(AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_LOG, do_open_write, &wr), OK);
    expect_exit(run_sandboxed(AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_LOG, do_inet_socket, NULL),
                OK);
    expect_exit(run_sandboxed(AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_LOG, do_connect, NULL), OK);
    expect_exit(run_sandboxed(AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_LOG, do_read_file, NULL), OK);
    /* A call missing from the allow list is logged and allowed: that is what
     * the mode is for. */
    expect_exit(run_sandboxed(AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_LOG, do_mkdir, NULL), OK);
}

#if defined(__x86_64__)
/* getpid through the i386 system call gate. */
static int do_i386_call(void *arg)
{
    long ret = 20; /* __NR_getpid on i386 */

    (void)arg;
    __asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
    return ret > 0 ? OK : SETUP_FAILED;
}

static void test_foreign_architecture(void **state)
{
    struct rlimit nocore = {0, 0};
    int status;
    pid_t pid;

    (void)state;
    /* Without a sandbox: find out whether the kernel runs i386 calls at all. */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setrlimit(RLIMIT_CORE, &nocore);
        _exit(do_i386_call(NULL));
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != OK) {
        skip(); /* no IA32 emulation in this kernel: nothing to prove */
    }
    expect_sigsys(
        run_sandboxed(AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_ENFORCE, do_i386_call, NULL));
    expect_sigsys(run_sandboxed(AGENT_SANDBOX_SIGNER, AGENT_SANDBOX_ENFORCE, do_i386_call, NULL));
    /* In log mode too: a foreign ABI is never allowed. */
    expect_sigsys(run_sandboxed(AGENT_SANDBOX_SIGNER, AGENT_SANDBOX_LOG, do_i386_call, NULL));
}
#endif

/* ---- signer ---- */

struct tcp_peer {
    int listener;
    int conn; /* connected before the filter, as the swtpm TCTI is */
};

static int do_signer_io(void *arg)
{
    struct tcp_peer *t = arg;
    char b[4];

    if (write(t->conn, "ping", 4) != 4)
        return SETUP_FAILED;
    return read(t->conn, b, 4) == 4 && memcmp(b, "pong", 4) == 0 ? OK : SETUP_FAILED;
}

static int do_unix_socket(void *arg)
{
    (void)arg;
    return expect_errno(socket(AF_UNIX, SOCK_STREAM, 0), EPERM);
}

static int do_socketpair(void *arg)
{
    int sv[2];

    (void)arg;
    return expect_errno(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), EPERM);
}

static void tcp_pair(struct tcp_peer *t)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);

    t->listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(t->listener >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(t->listener, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(t->listener, 1), 0);
    assert_int_equal(getsockname(t->listener, (struct sockaddr *)&a, &len), 0);
    t->conn = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(t->conn, (struct sockaddr *)&a, sizeof(a)), 0);
}

static void test_signer(void **state)
{
    struct tcp_peer t;
    pid_t pid;
    int status, srv;
    char b[4];

    (void)state;
    tcp_pair(&t);
    srv = accept(t.listener, NULL, NULL);
    assert_true(srv >= 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (agent_sandbox_enter(AGENT_SANDBOX_SIGNER, AGENT_SANDBOX_ENFORCE) != 0)
            _exit(SETUP_FAILED);
        _exit(do_signer_io(&t));
    }
    assert_int_equal(read(srv, b, 4), 4);
    assert_int_equal(write(srv, "pong", 4), 4);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    expect_exit(status, OK);
    close(srv);
    close(t.conn);
    close(t.listener);

    expect_exit(run_sandboxed(AGENT_SANDBOX_SIGNER, AGENT_SANDBOX_ENFORCE, do_flags, NULL), OK);
    expect_sigsys(run_sandboxed(AGENT_SANDBOX_SIGNER, AGENT_SANDBOX_ENFORCE, do_inet_socket, NULL));
    expect_sigsys(run_sandboxed(AGENT_SANDBOX_SIGNER, AGENT_SANDBOX_ENFORCE, do_unix_socket, NULL));
    expect_sigsys(run_sandboxed(AGENT_SANDBOX_SIGNER, AGENT_SANDBOX_ENFORCE, do_socketpair, NULL));
    expect_sigsys(run_sandboxed(AGENT_SANDBOX_SIGNER, AGENT_SANDBOX_ENFORCE, do_connect, NULL));
    expect_sigsys(run_sandboxed(AGENT_SANDBOX_SIGNER, AGENT_SANDBOX_ENFORCE, do_execve, NULL));
    expect_exit(run_sandboxed(AGENT_SANDBOX_SIGNER, AGENT_SANDBOX_LOG, do_inet_socket, NULL), OK);
    expect_exit(run_sandboxed(AGENT_SANDBOX_SIGNER, AGENT_SANDBOX_LOG, do_socketpair, NULL), OK);
    expect_exit(run_sandboxed(AGENT_SANDBOX_SIGNER, AGENT_SANDBOX_LOG, do_execve, NULL), OK);
}

static int do_udp_socket(void *arg)
{
    (void)arg;
    return expect_errno(socket(AF_INET, SOCK_DGRAM, 0), EPERM);
}

/* A new TCP connection, as the swtpm TCTI makes for every command. */
static int do_tcp_connect(void *arg)
{
    struct tcp_peer *t = arg;
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd;

    if (getsockname(t->listener, (struct sockaddr *)&a, &len) != 0)
        return SETUP_FAILED;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        return SETUP_FAILED;
    close(fd);
    return OK;
}

static void test_signer_simulator_profile(void **state)
{
    const enum agent_sandbox_profile p = AGENT_SANDBOX_SIGNER_SIMULATOR;
    struct tcp_peer t;

    (void)state;
    assert_int_equal(agent_sandbox_signer_profile("swtpm:host=127.0.0.1,port=1"), p);
    assert_int_equal(agent_sandbox_signer_profile("mssim:port=1"), p);
    assert_int_equal(agent_sandbox_signer_profile("device:/dev/tpmrm0"), AGENT_SANDBOX_SIGNER);
    assert_int_equal(agent_sandbox_signer_profile(NULL), AGENT_SANDBOX_SIGNER);
    tcp_pair(&t);
    expect_exit(run_sandboxed(p, AGENT_SANDBOX_ENFORCE, do_tcp_connect, &t), OK);
    expect_sigsys(run_sandboxed(p, AGENT_SANDBOX_ENFORCE, do_unix_socket, NULL));
    expect_sigsys(run_sandboxed(p, AGENT_SANDBOX_ENFORCE, do_udp_socket, NULL));
    expect_sigsys(run_sandboxed(p, AGENT_SANDBOX_ENFORCE, do_socketpair, NULL));
    expect_sigsys(run_sandboxed(p, AGENT_SANDBOX_ENFORCE, do_execve, NULL));
    expect_exit(run_sandboxed(p, AGENT_SANDBOX_LOG, do_unix_socket, NULL), OK);
    expect_exit(run_sandboxed(p, AGENT_SANDBOX_LOG, do_udp_socket, NULL), OK);
    /* The strict signer refuses the same connection. */
    expect_sigsys(run_sandboxed(AGENT_SANDBOX_SIGNER, AGENT_SANDBOX_ENFORCE, do_tcp_connect, &t));
    close(t.conn);
    close(t.listener);
}

/* ---- uploader ---- */

/* Read-only: the filter lets any open for reading through, so what refuses
 * is the mount namespace (nodev, empty /dev) or the kernel's checks. */
static int do_open_device(void *arg)
{
    const char *path = arg;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd >= 0)
        return UNEXPECTED_SUCCESS;
    return errno == EACCES || errno == ENOENT ? OK : WRONG_ERRNO;
}

static int do_open_missing(void *arg)
{
    return expect_errno(open((const char *)arg, O_RDONLY | O_CLOEXEC), ENOENT);
}

/* For reading and writing by name: the filter stops it first. */
static int do_open_device_rw(void *arg)
{
    int fd = open((const char *)arg, O_RDWR | O_CLOEXEC);

    return fd >= 0 ? UNEXPECTED_SUCCESS : WRONG_ERRNO;
}

static int do_mknod(void *arg)
{
    char path[300];

    (void)arg;
    snprintf(path, sizeof(path), "%s/made", tmpdir);
    return expect_errno(mknod(path, S_IFCHR | 0600, makedev(10, 224)), EPERM);
}

static int do_mount(void *arg)
{
    (void)arg;
    return expect_errno(mount("none", tmpdir, "tmpfs", 0, NULL), EPERM);
}

static void *thread_main(void *arg)
{
    return arg;
}

/* What the uploader must keep: TCP, threads (the resolver), its files. */
static int do_uploader_work(void *arg)
{
    struct tcp_peer *t = arg;
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    pthread_t th;
    void *ret = NULL;
    int fd;

    if (getsockname(t->listener, (struct sockaddr *)&a, &len) != 0)
        return SETUP_FAILED;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        return SETUP_FAILED;
    close(fd);
    if (pthread_create(&th, NULL, thread_main, t) != 0 || pthread_join(th, &ret) != 0 || ret != t)
        return SETUP_FAILED;
    return do_read_file(NULL);
}

static void test_uploader_cannot_open_tpm(void **state)
{
    (void)state;
    if (!have_fake_tpm)
        skip(); /* mknod needs root */
    /* Outside the sandbox the node works... */
    {
        int fd = open(fake_tpm, O_RDWR | O_CLOEXEC);

        assert_true(fd >= 0);
        close(fd);
    }
    /* ...inside, no device node opens, wherever it is. */
    expect_exit(
        run_sandboxed(AGENT_SANDBOX_UPLOADER, AGENT_SANDBOX_ENFORCE, do_open_device, fake_tpm), OK);
    expect_sigsys(
        run_sandboxed(AGENT_SANDBOX_UPLOADER, AGENT_SANDBOX_ENFORCE, do_open_device_rw, fake_tpm));
    expect_exit(run_sandboxed(AGENT_SANDBOX_UPLOADER, AGENT_SANDBOX_ENFORCE, do_open_missing,
                              (void *)DA_UNCONST("/dev/tpmrm0")),
                OK);
    expect_exit(run_sandboxed(AGENT_SANDBOX_UPLOADER, AGENT_SANDBOX_ENFORCE, do_open_missing,
                              (void *)DA_UNCONST("/dev/tpm0")),
                OK);
    expect_exit(run_sandboxed(AGENT_SANDBOX_UPLOADER, AGENT_SANDBOX_ENFORCE, do_open_missing,
                              (void *)DA_UNCONST("/dev/null")),
                OK);
    if (access("/dev/tpmrm0", F_OK) == 0)
        print_message("host has /dev/tpmrm0; it is hidden from the uploader\n");
    /* The host's view is untouched: propagation was private. */
    {
        int fd = open(fake_tpm, O_RDWR | O_CLOEXEC);

        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(access("/dev/null", F_OK), 0);
    }
}

static void test_uploader_cannot_undo(void **state)
{
    (void)state;
    expect_sigsys(run_sandboxed(AGENT_SANDBOX_UPLOADER, AGENT_SANDBOX_ENFORCE, do_mknod, NULL));
    expect_sigsys(run_sandboxed(AGENT_SANDBOX_UPLOADER, AGENT_SANDBOX_ENFORCE, do_mount, NULL));
    expect_sigsys(run_sandboxed(AGENT_SANDBOX_UPLOADER, AGENT_SANDBOX_ENFORCE, do_execve, NULL));
    expect_exit(run_sandboxed(AGENT_SANDBOX_UPLOADER, AGENT_SANDBOX_LOG, do_mknod, NULL), OK);
    expect_exit(run_sandboxed(AGENT_SANDBOX_UPLOADER, AGENT_SANDBOX_LOG, do_mount, NULL), OK);
    if (have_fake_tpm)
        expect_exit(
            run_sandboxed(AGENT_SANDBOX_UPLOADER, AGENT_SANDBOX_LOG, do_open_device, fake_tpm), OK);
}

static void test_uploader_keeps_network_and_files(void **state)
{
    struct tcp_peer t;

    (void)state;
    tcp_pair(&t);
    expect_exit(run_sandboxed(AGENT_SANDBOX_UPLOADER, AGENT_SANDBOX_ENFORCE, do_uploader_work, &t),
                OK);
    close(t.conn);
    close(t.listener);
}

/* A signer-like process holds the device open and is not dumpable; the
 * uploader cannot reach that descriptor through /proc/PID/fd. */
static int do_open_proc_fd(void *arg)
{
    return do_open_device(arg);
}

static void test_uploader_cannot_borrow_signer_fd(void **state)
{
    char path[64];
    int sync[2], status;
    pid_t holder;
    char c;

    (void)state;
    if (!have_fake_tpm)
        skip();
    assert_int_equal(pipe(sync), 0);
    holder = fork();
    assert_true(holder >= 0);
    if (holder == 0) {
        int fd = open(fake_tpm, O_RDWR);

        if (fd != 100 && dup2(fd, 100) < 0)
            _exit(SETUP_FAILED);
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        if (write(sync[1], "r", 1) != 1)
            _exit(SETUP_FAILED);
        pause();
        _exit(0);
    }
    assert_int_equal(read(sync[0], &c, 1), 1);
    snprintf(path, sizeof(path), "/proc/%d/fd/100", (int)holder);
    expect_exit(run_sandboxed(AGENT_SANDBOX_UPLOADER, AGENT_SANDBOX_ENFORCE, do_open_proc_fd, path),
                OK);
    kill(holder, SIGKILL);
    assert_int_equal(waitpid(holder, &status, 0), holder);
    close(sync[0]);
    close(sync[1]);
}

/* The agent running as an ordinary user: the mount namespace comes from a
 * user namespace of its own; device nodes are still unusable. */
static void test_uploader_unprivileged(void **state)
{
    int status;
    pid_t pid;

    (void)state;
    if (!have_fake_tpm || geteuid() != 0)
        skip();
    assert_int_equal(chmod(tmpdir, 0755), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit nocore = {0, 0};

        setrlimit(RLIMIT_CORE, &nocore);
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
            _exit(SETUP_FAILED);
        /* The node is world-writable: an unconfined user opens it. */
        {
            int fd = open(fake_tpm, O_RDWR);

            if (fd < 0)
                _exit(SETUP_FAILED);
            close(fd);
        }
        if (agent_sandbox_enter(AGENT_SANDBOX_UPLOADER, AGENT_SANDBOX_ENFORCE) != 0)
            _exit(SKIPPED); /* no unprivileged user namespaces on this host */
        _exit(do_open_device(fake_tpm));
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status) && WEXITSTATUS(status) == SKIPPED)
        skip();
    expect_exit(status, OK);
}

/* A sandboxed process ends through exit(), running atexit handlers (in
 * sanitizer builds: the leak check, which needs its own system calls). */
static void test_normal_exit(void **state)
{
    enum agent_sandbox_profile p;
    struct rlimit nocore = {0, 0};
    int status;
    pid_t pid;

    (void)state;
    for (p = AGENT_SANDBOX_COLLECTOR; p <= AGENT_SANDBOX_SIGNER_SIMULATOR; p++) {
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            setrlimit(RLIMIT_CORE, &nocore);
            if (agent_sandbox_enter(p, AGENT_SANDBOX_ENFORCE) != 0)
                _exit(SETUP_FAILED);
            exit(OK);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        expect_exit(status, OK);
    }
}

/* ---- attest listener ---- */

static int do_listener_work(void *arg)
{
    int lfd = *(int *)arg, conn, fd;
    struct ucred uc;
    socklen_t len = sizeof(uc);
    char b[64];

    conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0 || getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0 ||
        uc.pid != getppid())
        return SETUP_FAILED;
    fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, b, sizeof(b)) <= 0)
        return SETUP_FAILED;
    close(fd);
    close(conn);
    return OK;
}

/* The listener accepts on the socket it was handed, reads peer credentials
 * and /proc, and can make no socket, connect, exec or write. */
static void test_attest_listener(void **state)
{
    struct sockaddr_un a;
    int lfd, c, status;
    int wr = O_WRONLY;
    pid_t pid;

    (void)state;
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "devattest-test-%ld", (long)getpid());
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(lfd, 1), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(30);
        if (agent_sandbox_enter(AGENT_SANDBOX_ATTEST, AGENT_SANDBOX_ENFORCE) != 0)
            _exit(SETUP_FAILED);
        _exit(do_listener_work(&lfd));
    }
    c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    expect_exit(status, OK);
    close(c);
    close(lfd);
    expect_sigsys(run_sandboxed(AGENT_SANDBOX_ATTEST, AGENT_SANDBOX_ENFORCE, do_unix_socket, NULL));
    expect_sigsys(run_sandboxed(AGENT_SANDBOX_ATTEST, AGENT_SANDBOX_ENFORCE, do_socketpair, NULL));
    expect_sigsys(run_sandboxed(AGENT_SANDBOX_ATTEST, AGENT_SANDBOX_ENFORCE, do_connect, NULL));
    expect_sigsys(run_sandboxed(AGENT_SANDBOX_ATTEST, AGENT_SANDBOX_ENFORCE, do_execve, NULL));
    expect_sigsys(run_sandboxed(AGENT_SANDBOX_ATTEST, AGENT_SANDBOX_ENFORCE, do_open_write, &wr));
    assert_string_equal(agent_sandbox_profile_name(AGENT_SANDBOX_ATTEST), "attest listener");
}

static void test_profile_names(void **state)
{
    (void)state;
    assert_string_equal(agent_sandbox_profile_name(AGENT_SANDBOX_COLLECTOR), "collector");
    assert_string_equal(agent_sandbox_profile_name(AGENT_SANDBOX_SIGNER), "signer");
    assert_string_equal(agent_sandbox_profile_name(AGENT_SANDBOX_UPLOADER), "uploader");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_names),
        cmocka_unit_test(test_normal_exit),
        cmocka_unit_test(test_collector_enforce),
        cmocka_unit_test(test_collector_log_mode),
#if defined(__x86_64__)
        cmocka_unit_test(test_foreign_architecture),
#endif
        cmocka_unit_test(test_signer),
        cmocka_unit_test(test_attest_listener),
        cmocka_unit_test(test_signer_simulator_profile),
        cmocka_unit_test(test_uploader_cannot_open_tpm),
        cmocka_unit_test(test_uploader_cannot_undo),
        cmocka_unit_test(test_uploader_keeps_network_and_files),
        cmocka_unit_test(test_uploader_cannot_borrow_signer_fd),
        cmocka_unit_test(test_uploader_unprivileged),
    };

    da_log_set_level(DA_LOG_WARN);
    return cmocka_run_group_tests(tests, setup, teardown);
}

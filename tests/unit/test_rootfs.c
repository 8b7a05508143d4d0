/* The rooted file layer (common/rootfs.h), with the kernel's openat2 and
 * with the user-space resolver on its own: the same tree and the same
 * expectations for both. The expectations are those of a chroot: what
 * `chroot ROOT cat PATH` would read, or fail to. */
#include "da_test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "caps.h"
#include "err.h"
#include "rootfs.h"
#include "tmp_tree.h"

static char base[200];
static char root[256], outside[256];

static void put(const char *rel, const char *text)
{
    char p[512];
    FILE *f;

    snprintf(p, sizeof(p), "%s%s", root, rel);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void dir(const char *rel)
{
    char p[512];

    snprintf(p, sizeof(p), "%s%s", root, rel);
    assert_int_equal(mkdir(p, 0755), 0);
}

static void link_to(const char *target, const char *rel)
{
    char p[512];

    snprintf(p, sizeof(p), "%s%s", root, rel);
    assert_int_equal(symlink(target, p), 0);
}

static int setup(void **state)
{
    char p[512];
    struct sockaddr_un sa;
    int s;
    FILE *f;

    (void)state;
    if (da_test_tmpdir("da-rootfs", base, sizeof(base)) != 0)
        return -1;
    chmod(base, 0755);
    snprintf(root, sizeof(root), "%s/root", base);
    snprintf(outside, sizeof(outside), "%s/outside", base);
    mkdir(root, 0755);
    mkdir(outside, 0755);
    snprintf(p, sizeof(p), "%s/secret", outside);
    f = fopen(p, "w");
    if (f == NULL)
        return -1;
    fputs("CANARY-OUTSIDE\n", f);
    fclose(f);
    dir("/etc");
    dir("/usr");
    dir("/usr/bin");
    dir("/opt");
    dir("/a");
    dir("/a/b");
    dir("/etc/ssh");
    dir("/etc/ssh/sshd_config.d");
    dir("/locked");
    put("/etc/os-release", "ID=inside\n");
    put("/usr/bin/gcc-12", "ELF");
    put("/opt/tool", "tool");
    put("/etc/ssh/sshd_config.d/b.conf", "b\n");
    put("/etc/ssh/sshd_config.d/a.conf", "a\n");
    put("/etc/ssh/sshd_config.d/.hidden.conf", "h\n");
    put("/locked/x.conf", "x\n");
    put("/big", "0123456789abcdef");
    link_to("gcc-12", "/usr/bin/cc");
    link_to("/opt/tool", "/usr/bin/tool");
    /* escapes: an absolute link to the outside file, a relative one that
     * climbs out, and one to the host's own os-release */
    snprintf(p, sizeof(p), "%s/secret", outside);
    link_to(p, "/abs-escape");
    link_to("../../../../../../../../../../../../../../../../../..", "/a/b/up");
    snprintf(p, sizeof(p), "../../../../../../../../../..%s/secret", outside);
    link_to(p, "/a/b/rel-escape");
    link_to("/etc/os-release", "/a/osrel");
    link_to("loop2", "/loop1");
    link_to("loop1", "/loop2");
    link_to("/proc/self/root/etc/hostname", "/magic");
    snprintf(p, sizeof(p), "%s/fifo", root);
    assert_int_equal(mkfifo(p, 0644), 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(root) + 6 > sizeof(sa.sun_path))
        return -1;
    memcpy(sa.sun_path, root, strlen(root));
    memcpy(sa.sun_path + strlen(root), "/sock", 6);
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(s >= 0);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(s);
    snprintf(p, sizeof(p), "%s/locked", root);
    chmod(p, 0700);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return da_test_rmtree(base);
}

static struct da_rootfs *open_mode(unsigned flags)
{
    struct da_rootfs *fs = NULL;

    assert_int_equal(da_rootfs_open(root, flags, &fs), 0);
    assert_int_equal(da_rootfs_uses_openat2(fs), flags & DA_ROOTFS_USERSPACE ? 0 : 1);
    return fs;
}

static int read_str(struct da_rootfs *fs, const char *path, char *out, size_t n)
{
    struct da_buf b;
    int r;

    da_buf_init(&b, 4096);
    r = da_rootfs_read(fs, path, &b);
    snprintf(out, n, "%s", r == 0 ? da_buf_str(&b) : "");
    da_buf_free(&b);
    return r;
}

static void check_chroot(unsigned flags)
{
    struct da_rootfs *fs = open_mode(flags);
    char text[256];
    struct stat st;

    alarm(10); /* a FIFO that blocked would end the test here */
    assert_int_equal(read_str(fs, "/etc/os-release", text, sizeof(text)), 0);
    assert_string_equal(text, "ID=inside\n");
    /* an absolute link is taken inside the root, as chroot(2) does */
    assert_int_equal(read_str(fs, "/a/osrel", text, sizeof(text)), 0);
    assert_string_equal(text, "ID=inside\n");
    assert_int_equal(read_str(fs, "/abs-escape", text, sizeof(text)), DA_ERR_NOT_FOUND);
    assert_int_equal(read_str(fs, "/a/b/rel-escape", text, sizeof(text)), DA_ERR_NOT_FOUND);
    /* ".." stops at the root */
    assert_int_equal(read_str(fs, "/../../../../etc/os-release", text, sizeof(text)), 0);
    assert_string_equal(text, "ID=inside\n");
    assert_int_equal(read_str(fs, "/a/b/up/etc/os-release", text, sizeof(text)), 0);
    assert_string_equal(text, "ID=inside\n");
    /* loops, FIFOs, sockets, directories */
    assert_int_equal(read_str(fs, "/loop1", text, sizeof(text)), DA_ERR_SYSTEM);
    assert_int_equal(da_rootfs_errno(), ELOOP);
    assert_int_equal(read_str(fs, "/fifo", text, sizeof(text)), DA_ERR_NOT_REGULAR);
    assert_string_equal(da_rootfs_err_path(), "/fifo");
    assert_int_equal(read_str(fs, "/sock", text, sizeof(text)), DA_ERR_NOT_REGULAR);
    assert_int_equal(read_str(fs, "/etc", text, sizeof(text)), DA_ERR_NOT_REGULAR);
    assert_int_equal(read_str(fs, "/nope", text, sizeof(text)), DA_ERR_NOT_FOUND);
    assert_int_equal(da_rootfs_errno(), ENOENT);
    /* a file where a directory is needed is not absence */
    assert_int_equal(read_str(fs, "/etc/os-release/x", text, sizeof(text)), DA_ERR_NOT_REGULAR);
    /* the magic link is refused (openat2) or taken as an ordinary link
     * inside the root (user space): never the host's file */
    assert_int_not_equal(read_str(fs, "/magic", text, sizeof(text)), 0);
    alarm(0);
    /* stat, lstat, readlink, realpath */
    assert_int_equal(da_rootfs_stat(fs, "/usr/bin/cc", &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(da_rootfs_lstat(fs, "/usr/bin/cc", &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(da_rootfs_stat(fs, "/abs-escape", &st), DA_ERR_NOT_FOUND);
    assert_int_equal(da_rootfs_readlink(fs, "/usr/bin/cc", text, sizeof(text)), 0);
    assert_string_equal(text, "gcc-12");
    assert_int_equal(da_rootfs_readlink(fs, "/usr/bin/cc", text, 3), DA_ERR_TOO_LARGE);
    assert_int_equal(da_rootfs_readlink(fs, "/etc/os-release", text, sizeof(text)),
                     DA_ERR_NOT_REGULAR);
    assert_int_equal(da_rootfs_realpath(fs, "/usr/bin/cc", text, sizeof(text)), 0);
    assert_string_equal(text, "/usr/bin/gcc-12");
    assert_int_equal(da_rootfs_realpath(fs, "/usr/bin/tool", text, sizeof(text)), 0);
    assert_string_equal(text, "/opt/tool");
    assert_int_equal(da_rootfs_realpath(fs, "/a/b/up/usr/./bin/../bin/cc", text, sizeof(text)), 0);
    assert_string_equal(text, "/usr/bin/gcc-12");
    assert_int_equal(da_rootfs_realpath(fs, "/", text, sizeof(text)), 0);
    assert_string_equal(text, "/");
    assert_int_equal(da_rootfs_realpath(fs, "/loop1", text, sizeof(text)), DA_ERR_SYSTEM);
    assert_int_equal(da_rootfs_realpath(fs, "/abs-escape", text, sizeof(text)), DA_ERR_NOT_FOUND);
    da_rootfs_free(fs);
}

static void test_chroot_openat2(void **state)
{
    (void)state;
    check_chroot(0);
}

static void test_chroot_userspace(void **state)
{
    (void)state;
    check_chroot(DA_ROOTFS_USERSPACE);
}

static void check_cap(unsigned flags)
{
    struct da_rootfs *fs = open_mode(flags);
    struct da_buf b;
    char line[8];

    da_buf_init(&b, 10);
    assert_int_equal(da_rootfs_read(fs, "/big", &b), DA_ERR_TOO_LARGE);
    assert_int_equal(da_buf_len(&b), 0); /* never a partial read */
    da_buf_free(&b);
    da_buf_init(&b, 16);
    assert_int_equal(da_rootfs_read(fs, "/big", &b), 0);
    assert_int_equal(da_buf_len(&b), 16);
    da_buf_free(&b);
    assert_int_equal(da_rootfs_read_line(fs, "/big", line, sizeof(line)), DA_ERR_TOO_LARGE);
    assert_int_equal(da_rootfs_read_line(fs, "/etc/os-release", line, sizeof(line)),
                     DA_ERR_TOO_LARGE);
    da_rootfs_free(fs);
}

static void test_cap(void **state)
{
    (void)state;
    check_cap(0);
    check_cap(DA_ROOTFS_USERSPACE);
}

static void check_dir_glob(unsigned flags)
{
    struct da_rootfs *fs = open_mode(flags);
    struct da_rootfs_dir *d = NULL;
    struct da_rootfs_dirent e;
    struct da_rootfs_glob g;
    int n = 0, r;

    assert_int_equal(da_rootfs_opendir(fs, "/etc/ssh/sshd_config.d", &d), 0);
    while ((r = da_rootfs_readdir(d, &e)) == 1)
        n++;
    assert_int_equal(r, 0);
    assert_int_equal(n, 3);
    da_rootfs_closedir(d);
    assert_int_equal(da_rootfs_opendir(fs, "/etc/os-release", &d), DA_ERR_NOT_REGULAR);
    assert_int_equal(da_rootfs_opendir(fs, "/fifo", &d), DA_ERR_NOT_REGULAR);
    assert_int_equal(da_rootfs_opendir(fs, "/none", &d), DA_ERR_NOT_FOUND);
    /* sorted, dot files only by an explicit dot, like glob(3) */
    assert_int_equal(da_rootfs_glob(fs, "/etc/ssh/sshd_config.d/*.conf", &g), 0);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.paths[0], "/etc/ssh/sshd_config.d/a.conf");
    assert_string_equal(g.paths[1], "/etc/ssh/sshd_config.d/b.conf");
    da_rootfs_glob_free(&g);
    assert_int_equal(da_rootfs_glob(fs, "/etc/*/sshd_config.d/.*.conf", &g), 0);
    assert_int_equal(g.n, 1);
    da_rootfs_glob_free(&g);
    assert_int_equal(da_rootfs_glob(fs, "/nothing/*.conf", &g), 0);
    assert_int_equal(g.n, 0);
    assert_int_equal(da_rootfs_glob(fs, "/etc/ssh/sshd_config.d/a.conf", &g), 0);
    assert_int_equal(g.n, 1);
    da_rootfs_glob_free(&g);
    assert_int_equal(da_rootfs_glob(fs, "relative/*", &g), DA_ERR_INVALID_ARG);
    da_rootfs_free(fs);
}

static void test_dir_glob(void **state)
{
    (void)state;
    check_dir_glob(0);
    check_dir_glob(DA_ROOTFS_USERSPACE);
}

/* As an unprivileged user: an unreadable directory fails the glob (GLOB_ERR)
 * and names itself; an unreadable file is DA_ERR_PERMISSION. */
static int unprivileged_child(unsigned flags)
{
    struct da_rootfs *fs = NULL;
    struct da_rootfs_glob g;
    struct da_buf b;
    int r;

    if (setgid(65534) != 0 || setuid(65534) != 0)
        return 10;
    if (da_rootfs_open(root, flags, &fs) != 0)
        return 11;
    if (da_rootfs_glob(fs, "/locked/*.conf", &g) != DA_ERR_PERMISSION)
        return 12;
    if (strcmp(da_rootfs_err_path(), "/locked") != 0 || da_rootfs_errno() != EACCES)
        return 13;
    da_buf_init(&b, 64);
    r = da_rootfs_read(fs, "/locked/x.conf", &b);
    da_buf_free(&b);
    if (r != DA_ERR_PERMISSION)
        return 14;
    if (da_rootfs_glob(fs, "/locked/x.conf", &g) != DA_ERR_PERMISSION)
        return 15;
    da_rootfs_free(fs);
    return 0;
}

static void test_unprivileged(void **state)
{
    unsigned modes[] = {0, DA_ROOTFS_USERSPACE};
    size_t i;

    (void)state;
    if (geteuid() != 0)
        skip(); /* needs to become another user */
    for (i = 0; i < 2; i++) {
        int status;
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0)
            _exit(unprivileged_child(modes[i]));
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}

static int traced;

static void trace(void *arg, const char *op, const char *path)
{
    (void)arg;
    if (strcmp(op, "stat") == 0 && strcmp(path, "/etc") == 0)
        traced++;
}

static void test_trace_and_sys_error(void **state)
{
    struct da_rootfs *fs = open_mode(0);
    struct stat st;

    (void)state;
    da_rootfs_set_trace(trace, NULL);
    assert_int_equal(da_rootfs_stat(fs, "/etc", &st), 0);
    da_rootfs_set_trace(NULL, NULL);
    assert_int_equal(da_rootfs_stat(fs, "/etc", &st), 0);
    assert_int_equal(traced, 1);
    assert_int_equal(da_rootfs_sys_error(EACCES, "/x"), DA_ERR_PERMISSION);
    /* EPERM is a permission, never DA_ERR_NOMEM (-1, the same number) */
    assert_int_equal(da_rootfs_sys_error(EPERM, "/x"), DA_ERR_PERMISSION);
    assert_int_equal(da_rootfs_sys_error(-EIO, "/x"), DA_ERR_SYSTEM);
    assert_int_equal(da_rootfs_errno(), EIO);
    assert_string_equal(da_rootfs_err_path(), "/x");
    assert_int_equal(da_rootfs_sys_error(ENOENT, "/x"), DA_ERR_NOT_FOUND);
    assert_int_equal(da_rootfs_sys_error(ENOTDIR, "/x"), DA_ERR_NOT_REGULAR);
    /* a successful call clears the saved error */
    assert_int_equal(da_rootfs_stat(fs, "/etc", &st), 0);
    assert_int_equal(da_rootfs_errno(), 0);
    da_rootfs_free(fs);
    assert_int_equal(da_rootfs_open("/nonexistent-root-dir", 0, &fs), DA_ERR_NOT_FOUND);
    assert_null(fs);
    assert_int_equal(da_rootfs_open(root, DA_ROOTFS_MAGICLINKS, &fs), DA_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chroot_openat2),
        cmocka_unit_test(test_chroot_userspace),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_dir_glob),
        cmocka_unit_test(test_unprivileged),
        cmocka_unit_test(test_trace_and_sys_error),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

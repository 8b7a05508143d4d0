/* The agent's processes once they have switched to the agent's user
 * (agent/privdrop.h) inside each sandbox profile: every forbidden action
 * is tried from inside - write a root-owned file, make a file setuid,
 * connect to a root-only unix socket, signal an unrelated process, change
 * another process's limits, read another process's memory - and must be
 * refused (an errno) or kill the process (SIGSYS). The victim process and
 * the files are checked afterwards. Needs root (skipped otherwise); the
 * user is uid 65534. Also: the directory and file ownership rules. */
#include "da_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "file.h"
#include "privdrop.h"
#include "sandbox.h"

enum { REFUSED = 0, UNEXPECTED_SUCCESS = 10, SETUP_FAILED = 12, WRONG_USER = 14 };

static char top[] = "/tmp/da-privdrop-XXXXXX";
static char root_file[256], own_file[256], sock_path[100], state_dir[256], open_dir[256],
    spool_dir[256];
static int listener = -1;
static pid_t victim = -1, own_child = -1, same_user = -1;
static struct agent_user user;

static const char *const profile_names[] = {"collector", "signer", "uploader", "signer (simulator)",
                                            "firewall reader"};

/* A process that waits to be killed, as uid (0: stays root). */
static pid_t sleeper(uid_t uid)
{
    pid_t p = fork();

    if (p == 0) {
        if (uid != 0 && (setgid(uid) != 0 || setuid(uid) != 0))
            _exit(1);
        for (;;)
            pause();
    }
    return p;
}

static int group_setup(void **state)
{
    struct sockaddr_un a;
    char why[512];
    FILE *f;

    (void)state;
    if (geteuid() != 0)
        return 0;
    if (mkdtemp(top) == NULL || chmod(top, 0755) != 0)
        return -1;
    snprintf(root_file, sizeof(root_file), "%s/root-file", top);
    snprintf(own_file, sizeof(own_file), "%s/own-file", top);
    snprintf(sock_path, sizeof(sock_path), "%s/root.sock", top);
    snprintf(state_dir, sizeof(state_dir), "%s/state", top);
    snprintf(open_dir, sizeof(open_dir), "%s/open", top);
    snprintf(spool_dir, sizeof(spool_dir), "%s/state/spool", top);
    f = fopen(root_file, "w");
    if (f == NULL || fputs("root\n", f) < 0 || fclose(f) != 0 || chmod(root_file, 0644) != 0)
        return -1;
    f = fopen(own_file, "w");
    if (f == NULL || fclose(f) != 0 || chown(own_file, 65534, 65534) != 0 ||
        chmod(own_file, 0755) != 0)
        return -1;
    /* A directory anyone may write: the read-only mount namespace must
     * still keep the uploader out of it. */
    if (mkdir(open_dir, 0777) != 0 || chmod(open_dir, 0777) != 0)
        return -1;
    listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
    if (listener < 0 || bind(listener, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        chmod(sock_path, 0600) != 0 || listen(listener, 4) != 0)
        return -1;
    victim = sleeper(0);
    own_child = sleeper(65534); /* the agent's children run as its user */
    same_user = sleeper(65534); /* not a child: only the filter keeps it safe */
    if (victim < 0 || own_child < 0 || same_user < 0)
        return -1;
    if (agent_user_resolve("nobody", &user, why, sizeof(why)) != 0 || user.uid != 65534)
        return -1;
    if (mkdir(state_dir, 0700) != 0 || chown(state_dir, user.uid, user.gid) != 0)
        return -1;
    if (mkdir(spool_dir, 0700) != 0 || chown(spool_dir, user.uid, user.gid) != 0)
        return -1;
    snprintf(why, sizeof(why), "%s/keep-me", spool_dir);
    f = fopen(why, "w");
    if (f == NULL || fclose(f) != 0 || chown(why, user.uid, user.gid) != 0)
        return -1;
    return 0;
}

static void reap(pid_t *p)
{
    if (*p > 0) {
        kill(*p, SIGKILL);
        waitpid(*p, NULL, 0);
        *p = -1;
    }
}

static int group_teardown(void **state)
{
    char cmd[300];

    (void)state;
    reap(&victim);
    reap(&own_child);
    reap(&same_user);
    if (listener >= 0)
        close(listener);
    if (geteuid() == 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
        (void)!system(cmd);
    }
    return 0;
}

/* Entries of a directory other than . and .. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* The actions; each returns REFUSED when the call failed with one of the
 * errnos that mean "not allowed", UNEXPECTED_SUCCESS otherwise. */
static int refused(int ret)
{
    return ret < 0 && (errno == EACCES || errno == EPERM || errno == EROFS) ? REFUSED
                                                                            : UNEXPECTED_SUCCESS;
}

static int write_root_file(void)
{
    int fd = open(root_file, O_WRONLY | O_APPEND | O_CLOEXEC);

    if (fd >= 0) {
        close(fd);
        return UNEXPECTED_SUCCESS;
    }
    return refused(fd);
}

static int chmod_setuid(void)
{
    return refused(chmod(own_file, 04755));
}

static int fchmod_setgid(void)
{
    int fd = open(own_file, O_RDONLY | O_CLOEXEC), r;

    if (fd < 0)
        return refused(fd);
    r = refused(fchmod(fd, 02755));
    close(fd);
    return r;
}

static int connect_root_socket(void)
{
    struct sockaddr_un a;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

    if (fd < 0)
        return refused(fd);
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
    r = refused(connect(fd, (struct sockaddr *)&a, sizeof(a)));
    close(fd);
    return r;
}

static int kill_unrelated(void)
{
    return refused(kill(victim, SIGTERM));
}

static int kill_same_user(void)
{
    return refused(kill(same_user, SIGTERM));
}

static int prlimit_other(void)
{
    struct rlimit rl = {1, 1};

    return refused(prlimit(victim, RLIMIT_NOFILE, &rl, NULL));
}

static int read_other_memory(void)
{
    char path[64], b[16];
    struct iovec local = {b, sizeof(b)}, remote = {(void *)0x400000, sizeof(b)};
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/mem", (int)victim);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return UNEXPECTED_SUCCESS;
    }
    if (refused(fd) != REFUSED)
        return UNEXPECTED_SUCCESS;
    return refused((int)process_vm_readv(victim, &local, 1, &remote, 1, 0));
}

static int create_in_open_dir(void)
{
    char path[300];
    int fd;

    snprintf(path, sizeof(path), "%s/planted", open_dir);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        close(fd);
        unlink(path);
        return UNEXPECTED_SUCCESS;
    }
    return refused(fd);
}

/* Writing outside the kept directories, where the file permissions allow
 * it (the 0777 directory, also the process's cwd). */
static int open_at_absolute(void)
{
    char path[300];

    snprintf(path, sizeof(path), "%s/planted-abs", open_dir);
    return refused(openat(AT_FDCWD, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
}

static int open_at_cwd(void)
{
    return refused(openat(AT_FDCWD, "planted-cwd", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
}

static int open_existing_for_append(void)
{
    return refused(open(own_file, O_WRONLY | O_APPEND | O_CLOEXEC));
}

#ifdef SYS_creat
static int creat_by_name(void)
{
    char path[300];

    snprintf(path, sizeof(path), "%s/planted-creat", open_dir);
    return refused((int)syscall(SYS_creat, path, 0600));
}
#endif

/* A descriptor of the 0777 directory opened inside the sandbox (reading is
 * allowed): its number is not a kept one. */
static int open_at_fresh_dirfd(void)
{
    int dfd = open(open_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dfd < 0)
        return UNEXPECTED_SUCCESS;
    return refused(openat(dfd, "planted-fd", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
}

static int rename_into_open_dir(void)
{
    char from[300], to[300];

    snprintf(from, sizeof(from), "%s/keep-me", spool_dir);
    snprintf(to, sizeof(to), "%s/planted-rename", open_dir);
    return refused(renameat(AT_FDCWD, from, AT_FDCWD, to));
}

static int link_into_open_dir(void)
{
    char to[300];

    snprintf(to, sizeof(to), "%s/planted-link", open_dir);
    return refused(linkat(AT_FDCWD, own_file, AT_FDCWD, to, 0));
}

static int symlink_in_open_dir(void)
{
    char to[300];

    snprintf(to, sizeof(to), "%s/planted-symlink", open_dir);
    return refused(symlinkat(root_file, AT_FDCWD, to));
}

static int mkdir_in_open_dir(void)
{
    return refused(mkdirat(AT_FDCWD, "planted-dir", 0700));
}

/* Allowed everywhere: shows that the harness itself does not die. */
static int harmless(void)
{
    return getpid() > 0 ? REFUSED : UNEXPECTED_SUCCESS;
}

typedef int (*action_fn)(void);

static const struct {
    const char *name;
    action_fn fn;
} actions[] = {
    {"write a root-owned file", write_root_file},
    {"chmod a file setuid", chmod_setuid},
    {"fchmod a file setgid", fchmod_setgid},
    {"connect to a root-only unix socket", connect_root_socket},
    {"kill an unrelated process", kill_unrelated},
    {"kill a process of the same user", kill_same_user},
    {"prlimit another process", prlimit_other},
    {"read another process's memory", read_other_memory},
};

/* Refused by the filter itself (the file permissions would allow them). */
static const struct {
    const char *name;
    action_fn fn;
} write_actions[] = {
    {"create by absolute path (AT_FDCWD)", open_at_absolute},
    {"create relative to the cwd (AT_FDCWD)", open_at_cwd},
    {"open a 0755 own file for appending", open_existing_for_append},
#ifdef SYS_creat
    {"creat() by name", creat_by_name},
#endif
    {"create through a new directory fd", open_at_fresh_dirfd},
    {"rename into the 0777 directory", rename_into_open_dir},
    {"hard link into the 0777 directory", link_into_open_dir},
    {"symlink in the 0777 directory", symlink_in_open_dir},
    {"mkdir in the 0777 directory", mkdir_in_open_dir},
};

static int run_as(enum agent_sandbox_profile p, action_fn fn)
{
    struct rlimit nocore = {0, 0};
    int status = 0;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        setrlimit(RLIMIT_CORE, &nocore);
        agent_sandbox_set_children(&own_child, 1);
        agent_sandbox_set_uploader_dirs(state_dir, NULL);
        /* As the agent does before its sandbox: the writing processes keep
         * their directories open (the uploader its state directory inside
         * agent_sandbox_enter_as); cwd is the 0777 directory. */
        if (p != AGENT_SANDBOX_COLLECTOR && p != AGENT_SANDBOX_FIREWALL &&
            da_file_dir_keep(spool_dir, -1) < 0)
            _exit(SETUP_FAILED);
        if ((p == AGENT_SANDBOX_SIGNER || p == AGENT_SANDBOX_SIGNER_SIMULATOR) &&
            da_file_dir_keep(state_dir, -1) < 0)
            _exit(SETUP_FAILED);
        if (chdir(open_dir) != 0)
            _exit(SETUP_FAILED);
        if (agent_sandbox_enter_as(p, AGENT_SANDBOX_ENFORCE, &user) != 0)
            _exit(SETUP_FAILED);
        /* (prctl is outside most filters: no_new_privs is read from
         * /proc/PID/status by test_agent_e2e.) */
        if (getuid() != user.uid || geteuid() != user.uid || getgid() != user.gid)
            _exit(WRONG_USER);
        _exit(fn());
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

/* Refused (exit REFUSED) or killed by the filter (SIGSYS): nothing else. */
static void expect_refused(enum agent_sandbox_profile p, const char *what, int status)
{
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
        print_message("  %-18s %-36s killed (SIGSYS)\n", profile_names[p], what);
        return;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == REFUSED) {
        print_message("  %-18s %-36s refused\n", profile_names[p], what);
        return;
    }
    fail_msg("%s: \"%s\" was not refused (%s %d)", profile_names[p], what,
             WIFSIGNALED(status) ? "signal" : "exit",
             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

/* Killed by the filter (SIGSYS), not refused by the kernel's checks. */
static void expect_killed(enum agent_sandbox_profile p, const char *what, int status)
{
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
        print_message("  %-18s %-38s killed (SIGSYS)\n", profile_names[p], what);
        return;
    }
    fail_msg("%s: \"%s\" was not stopped by the filter (%s %d)", profile_names[p], what,
             WIFSIGNALED(status) ? "signal" : "exit",
             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

static void test_forbidden_actions(void **state)
{
    static const enum agent_sandbox_profile profiles[] = {
        AGENT_SANDBOX_COLLECTOR, AGENT_SANDBOX_SIGNER, AGENT_SANDBOX_SIGNER_SIMULATOR,
        AGENT_SANDBOX_UPLOADER, AGENT_SANDBOX_FIREWALL};
    struct stat st;
    size_t i, k;
    char buf[16], path[300];
    FILE *f;

    (void)state;
    if (geteuid() != 0)
        skip();
    for (i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
        int hs = run_as(profiles[i], harmless);

        if (!WIFEXITED(hs) || WEXITSTATUS(hs) != REFUSED)
            fail_msg("%s: the harness itself fails (%d)", profile_names[profiles[i]], hs);
    }
    for (i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
        for (k = 0; k < sizeof(actions) / sizeof(actions[0]); k++)
            expect_refused(profiles[i], actions[k].name, run_as(profiles[i], actions[k].fn));
    for (i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
        for (k = 0; k < sizeof(write_actions) / sizeof(write_actions[0]); k++)
            expect_killed(profiles[i], write_actions[k].name,
                          run_as(profiles[i], write_actions[k].fn));
    /* Nothing happened to the victims. */
    assert_int_equal(kill(victim, 0), 0);
    assert_int_equal(waitpid(victim, NULL, WNOHANG), 0);
    assert_int_equal(waitpid(same_user, NULL, WNOHANG), 0);
    f = fopen(root_file, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    assert_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, "root\n");
    assert_int_equal(stat(own_file, &st), 0);
    assert_int_equal(st.st_mode & 07000, 0);
    assert_int_equal(st.st_size, 0);
    /* Nothing was made in the 0777 directory; the spool file is still there. */
    assert_int_equal(count_entries(open_dir), 0);
    snprintf(path, sizeof(path), "%s/keep-me", spool_dir);
    assert_int_equal(stat(path, &st), 0);
}

/* Writing, renaming, linking, making and removing relative to a kept
 * directory: what the signer and the uploader do. */
static int write_in_spool(void)
{
    int dfd = da_file_dir_fd(spool_dir);
    char name[32];

    if (dfd < 0)
        return SETUP_FAILED;
    snprintf(name, sizeof(name), "written-%d", (int)getpid());
    if (da_file_write_at(dfd, name, "spooled\n", 8, DA_WRITE_REPLACE) != 0 ||
        da_file_write_at(dfd, "new-once", "x", 1, DA_WRITE_NEW) != 0 ||
        unlinkat(dfd, "new-once", 0) != 0 || mkdirat(dfd, "sub", 0700) != 0 ||
        unlinkat(dfd, "sub", AT_REMOVEDIR) != 0)
        return UNEXPECTED_SUCCESS; /* here: the expected success failed */
    return REFUSED;
}

static void test_write_in_kept_dirs(void **state)
{
    static const enum agent_sandbox_profile writers[] = {
        AGENT_SANDBOX_SIGNER, AGENT_SANDBOX_SIGNER_SIMULATOR, AGENT_SANDBOX_UPLOADER};
    char path[600], buf[16];
    struct stat st;
    size_t i;
    FILE *f;

    (void)state;
    if (geteuid() != 0)
        skip();
    for (i = 0; i < sizeof(writers) / sizeof(writers[0]); i++) {
        int before = count_entries(spool_dir);
        int s = run_as(writers[i], write_in_spool);

        if (!WIFEXITED(s) || WEXITSTATUS(s) != REFUSED)
            fail_msg("%s: writing in the spool directory failed (%s %d)", profile_names[writers[i]],
                     WIFSIGNALED(s) ? "signal" : "exit",
                     WIFSIGNALED(s) ? WTERMSIG(s) : WEXITSTATUS(s));
        /* Exactly one new entry, the agent user's, with the content. */
        assert_int_equal(count_entries(spool_dir), before + 1);
    }
    assert_int_equal(count_entries(spool_dir), 1 + 3);
    {
        DIR *d = opendir(spool_dir);
        struct dirent *e;

        assert_non_null(d);
        while ((e = readdir(d)) != NULL) {
            if (strncmp(e->d_name, "written-", 8) != 0)
                continue;
            snprintf(path, sizeof(path), "%s/%s", spool_dir, e->d_name);
            assert_int_equal(stat(path, &st), 0);
            assert_int_equal(st.st_uid, user.uid);
            assert_int_equal(st.st_mode & 0777, 0600);
            f = fopen(path, "r");
            assert_non_null(f);
            assert_non_null(fgets(buf, sizeof(buf), f));
            fclose(f);
            assert_string_equal(buf, "spooled\n");
            assert_int_equal(unlink(path), 0);
        }
        closedir(d);
    }
}

/* The uploader's mount namespace: read-only outside the state directory,
 * even where the permissions would let it write. */
static void test_uploader_read_only_namespace(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    expect_refused(AGENT_SANDBOX_UPLOADER, "create a file in a 0777 directory",
                   run_as(AGENT_SANDBOX_UPLOADER, create_in_open_dir));
}

static int write_state_file(void)
{
    int dfd = da_file_dir_fd(state_dir), fd;

    fd = openat(dfd, "status.json", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, "{}", 2) != 2)
        return UNEXPECTED_SUCCESS; /* here: the expected success failed */
    close(fd);
    return unlinkat(dfd, "status.json", 0) == 0 ? REFUSED : UNEXPECTED_SUCCESS;
}

static int kill_own_child(void)
{
    return kill(own_child, 0) == 0 ? REFUSED : UNEXPECTED_SUCCESS;
}

static int read_root_only(void)
{
    int fd = open("/etc/shadow", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return UNEXPECTED_SUCCESS;
    close(fd);
    return REFUSED;
}

/* What each profile must still do as the agent's user. */
static void test_what_stays_possible(void **state)
{
    int st;

    (void)state;
    if (geteuid() != 0)
        skip();
    st = run_as(AGENT_SANDBOX_UPLOADER, write_state_file);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == REFUSED);
    st = run_as(AGENT_SANDBOX_UPLOADER, kill_own_child);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == REFUSED);
    /* CAP_DAC_READ_SEARCH: the collector reads what only root may read. */
    st = run_as(AGENT_SANDBOX_COLLECTOR, read_root_only);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == REFUSED);
    st = run_as(AGENT_SANDBOX_SIGNER, read_root_only);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == UNEXPECTED_SUCCESS);
}

/* A child still dies with its parent after the switch (the kernel clears
 * the parent-death signal when the ids change). The test process adopts
 * the orphan (subreaper) to see how it ended. */
static void test_child_dies_with_parent(void **state)
{
    int fds[2], status = 0;
    pid_t mid, child = -1;
    int waited;

    (void)state;
    if (geteuid() != 0)
        skip();
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    assert_int_equal(pipe(fds), 0);
    mid = fork();
    assert_true(mid >= 0);
    if (mid == 0) {
        pid_t c = fork();

        if (c == 0) {
            if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || agent_user_switch(&user, 0) != 0)
                _exit(SETUP_FAILED);
            for (;;)
                pause();
        }
        (void)!write(fds[1], &c, sizeof(c));
        sleep(1); /* the child has switched */
        _exit(0);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], &child, sizeof(child)), (int)sizeof(child));
    close(fds[0]);
    assert_int_equal(waitpid(mid, NULL, 0), mid);
    for (waited = 0; waited < 5000; waited += 10) {
        if (waitpid(child, &status, WNOHANG) == child)
            break;
        usleep(10000);
    }
    if (waited >= 5000) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        fail_msg("the switched child outlived its parent");
    }
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
}

/* The ownership rules, against directories made here. */
static void test_dir_rules(void **state)
{
    struct agent_user me;
    char base[] = "/tmp/da-dirs-XXXXXX", d[400], sub[500], why[512];
    char safe[300];

    (void)state;
    memset(&me, 0, sizeof(me));
    me.uid = geteuid();
    me.gid = getegid();
    snprintf(me.name, sizeof(me.name), "test");
    assert_non_null(mkdtemp(base));
    /* Below /tmp (world-writable): refused, the reason names /tmp. */
    snprintf(d, sizeof(d), "%s/state", base);
    assert_int_equal(agent_dir_check(d, &me, 1, why, sizeof(why)), DA_ERR_UNSAFE_PATH);
    assert_non_null(strstr(why, "/tmp "));
    /* Below a directory owned by this user with mode 0755: made, 0700. */
    snprintf(safe, sizeof(safe), "%s/test-agent", DA_BINARY_ROOT);
    (void)mkdir(safe, 0755);
    assert_int_equal(chmod(safe, 0755), 0);
    snprintf(d, sizeof(d), "%s/dirs-%d", safe, (int)getpid());
    assert_int_equal(agent_dir_check(d, &me, 1, why, sizeof(why)), 0);
    /* Group-readable: refused. */
    assert_int_equal(chmod(d, 0750), 0);
    assert_int_equal(agent_dir_check(d, &me, 0, why, sizeof(why)), DA_ERR_UNSAFE_PATH);
    assert_int_equal(chmod(d, 0700), 0);
    /* A spool inside it: its parent is the user's own 0700 directory. */
    snprintf(sub, sizeof(sub), "%s/spool", d);
    assert_int_equal(agent_dir_check(sub, &me, 1, why, sizeof(why)), 0);
    /* A world-writable parent in the middle: refused. */
    assert_int_equal(chmod(d, 0777), 0);
    assert_int_equal(agent_dir_check(sub, &me, 0, why, sizeof(why)), DA_ERR_UNSAFE_PATH);
    assert_int_equal(chmod(d, 0700), 0);
    /* Named through "..": refused. */
    snprintf(sub, sizeof(sub), "%s/spool/../spool", d);
    assert_int_equal(agent_dir_check(sub, &me, 0, why, sizeof(why)), DA_ERR_UNSAFE_PATH);
    /* Another owner (root's directory checked for uid 65534). */
    if (geteuid() == 0) {
        struct agent_user other = me;

        other.uid = 65534;
        assert_int_equal(agent_dir_check(d, &other, 0, why, sizeof(why)), DA_ERR_UNSAFE_PATH);
    }
    snprintf(sub, sizeof(sub), "%s/spool", d);
    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(rmdir(d), 0);
    assert_int_equal(rmdir(base), 0);
}

static void test_file_rules(void **state)
{
    struct agent_user me;
    char path[] = "/tmp/da-conf-XXXXXX", why[512];
    int fd;

    (void)state;
    memset(&me, 0, sizeof(me));
    me.uid = geteuid();
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(agent_file_check(path, &me, why, sizeof(why)), 0);
    assert_int_equal(chmod(path, 0664), 0);
    assert_int_equal(agent_file_check(path, &me, why, sizeof(why)), DA_ERR_UNSAFE_PATH);
    assert_int_equal(chmod(path, 0646), 0);
    assert_int_equal(agent_file_check(path, &me, why, sizeof(why)), DA_ERR_UNSAFE_PATH);
    if (geteuid() == 0) {
        assert_int_equal(chmod(path, 0644), 0);
        assert_int_equal(chown(path, 1234, 0), 0); /* neither root nor the user */
        assert_int_equal(agent_file_check(path, &me, why, sizeof(why)), DA_ERR_UNSAFE_PATH);
    }
    unlink(path);
}

static void test_user_resolve(void **state)
{
    struct agent_user u;
    char why[256];

    (void)state;
    if (geteuid() != 0) {
        assert_int_equal(agent_user_resolve("nobody", &u, why, sizeof(why)), 0);
        assert_int_equal(u.switch_ids, 0);
        assert_int_equal(u.uid, geteuid());
        return;
    }
    assert_int_equal(agent_user_resolve("no-such-user-here", &u, why, sizeof(why)), DA_ERR_CONFIG);
    assert_non_null(strstr(why, "no-such-user-here"));
    assert_int_equal(agent_user_resolve("root", &u, why, sizeof(why)), DA_ERR_CONFIG);
    assert_int_equal(agent_user_resolve("nobody", &u, why, sizeof(why)), 0);
    assert_int_equal(u.switch_ids, 1);
    assert_int_equal(u.uid, getpwnam("nobody")->pw_uid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forbidden_actions),
        cmocka_unit_test(test_uploader_read_only_namespace),
        cmocka_unit_test(test_write_in_kept_dirs),
        cmocka_unit_test(test_what_stays_possible),
        cmocka_unit_test(test_child_dies_with_parent),
        cmocka_unit_test(test_dir_rules),
        cmocka_unit_test(test_file_rules),
        cmocka_unit_test(test_user_resolve),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

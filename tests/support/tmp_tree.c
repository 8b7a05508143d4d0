#define _GNU_SOURCE 1
#include "tmp_tree.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TREES 64
#define MAX_PIDS  32

static char trees[MAX_TREES][PATH_MAX];
static volatile pid_t pids[MAX_PIDS];
static pid_t owner;

static void kill_tracked(void)
{
    size_t i;

    for (i = 0; i < MAX_PIDS; i++) {
        if (pids[i] > 0)
            kill(pids[i], SIGKILL);
    }
}

/* Only kill(2) here: it is async-signal-safe; the trees are left to the
 * suite's last step. */
static void on_fatal(int sig)
{
    if (getpid() == owner)
        kill_tracked();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void at_exit(void)
{
    if (getpid() == owner)
        da_test_cleanup();
}

static void arm(void)
{
    static const int fatal[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTERM, SIGINT};
    struct sigaction sa, old;
    size_t i;

    if (owner == getpid())
        return;
    /* A child forked by a test starts with its parent's records: they are
     * the parent's to clean, not the child's. */
    if (owner != 0) {
        memset(trees, 0, sizeof(trees));
        for (i = 0; i < MAX_PIDS; i++)
            pids[i] = 0;
    }
    owner = getpid();
    atexit(at_exit);
    /* A handler already there (the sanitizers' reports) is kept. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fatal;
    sigemptyset(&sa.sa_mask);
    for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
        if (sigaction(fatal[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
            (old.sa_flags & SA_SIGINFO) == 0)
            (void)sigaction(fatal[i], &sa, NULL);
    }
}

int da_test_tmpdir(const char *prefix, char *out, size_t n)
{
    const char *tmp = getenv("TMPDIR");
    size_t i;

    arm();
    if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    /* ctest's per-build directory may not exist yet when a test is run alone. */
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -1;
    if ((size_t)snprintf(out, n, "%s/%s-XXXXXX", tmp, prefix) >= n || mkdtemp(out) == NULL)
        return -1;
    for (i = 0; i < MAX_TREES; i++) {
        if (trees[i][0] == '\0') {
            snprintf(trees[i], sizeof(trees[i]), "%s", out);
            return 0;
        }
    }
    return 0; /* more trees than records: the test removes this one itself */
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
    return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

int da_test_rmtree(const char *path)
{
    struct stat st;
    size_t i;
    int rc = 0;

    for (i = 0; i < MAX_TREES; i++) {
        if (strcmp(trees[i], path) == 0)
            trees[i][0] = '\0';
    }
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    /* Directories the test made unreadable (permission tests) still go. */
    if (S_ISDIR(st.st_mode))
        (void)chmod(path, 0700);
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        rc = -1;
    return rc;
}

static int mkparents(const char *path)
{
    char buf[PATH_MAX];
    char *p;

    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -1;
    for (p = buf + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

int da_test_write(const char *dir, const char *rel, const char *text)
{
    char path[PATH_MAX];
    FILE *f;
    size_t len = strlen(text);
    int ok;

    if (snprintf(path, sizeof(path), "%s/%s", dir, rel) >= (int)sizeof(path) ||
        mkparents(path) != 0)
        return -1;
    f = fopen(path, "w");
    if (f == NULL)
        return -1;
    ok = fwrite(text, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

int da_test_symlink(const char *dir, const char *rel, const char *target)
{
    char path[PATH_MAX];

    if (snprintf(path, sizeof(path), "%s/%s", dir, rel) >= (int)sizeof(path) ||
        mkparents(path) != 0)
        return -1;
    (void)unlink(path);
    return symlink(target, path) == 0 ? 0 : -1;
}

void da_test_track_pid(pid_t pid)
{
    size_t i;

    arm();
    for (i = 0; i < MAX_PIDS; i++) {
        if (pids[i] == 0) {
            pids[i] = pid;
            return;
        }
    }
}

void da_test_die_with_parent(void)
{
    /* owner is the test process whenever it recorded anything; otherwise the
     * parent at fork time is whoever getppid says before the prctl. */
    pid_t parent = getppid();

    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
}

void da_test_untrack_pid(pid_t pid)
{
    size_t i;

    for (i = 0; i < MAX_PIDS; i++) {
        if (pids[i] == pid)
            pids[i] = 0;
    }
}

void da_test_cleanup(void)
{
    size_t i;

    kill_tracked();
    for (i = 0; i < MAX_PIDS; i++) {
        if (pids[i] > 0)
            (void)waitpid(pids[i], NULL, WNOHANG);
        pids[i] = 0;
    }
    for (i = 0; i < MAX_TREES; i++) {
        if (trees[i][0] != '\0') {
            char path[PATH_MAX];

            memcpy(path, trees[i], sizeof(path));
            (void)da_test_rmtree(path);
        }
    }
}

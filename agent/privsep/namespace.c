/* The uploader's mount namespace and the descriptors a process keeps. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <linux/fs.h>
#include <linux/netlink.h>
#include <linux/fscrypt.h>
#include <seccomp.h>

#include "err.h"
#include "file.h"
#include "log.h"
#include "privdrop.h"

/* ---- the uploader's mount namespace ---- */

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    size_t n = strlen(text);
    ssize_t w;

    if (fd < 0)
        return -1;
    w = write(fd, text, n);
    close(fd);
    return w == (ssize_t)n ? 0 : -1;
}

/* Not root: a user namespace in which this uid and gid map to themselves,
 * so that the mount namespace below can be made. */
static int enter_user_namespace(void)
{
    char map[64];
    uid_t uid = geteuid();
    gid_t gid = getegid();

    /* A process that changed its uid is not dumpable, which makes its
     * /proc/self/uid_map root's; the id maps below need it to be ours.
     * agent_sandbox_enter clears the flag again before any input is read. */
    if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) {
        da_error_f("PR_SET_DUMPABLE: %s", strerror(errno));
        return DA_ERR_SANDBOX;
    }
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
        da_error_f("unshare(user+mount namespace): %s", strerror(errno));
        return DA_ERR_SANDBOX;
    }
    snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
    if (write_file("/proc/self/uid_map", map) != 0)
        goto fail;
    if (write_file("/proc/self/setgroups", "deny") != 0)
        goto fail;
    snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
    if (write_file("/proc/self/gid_map", map) != 0)
        goto fail;
    return 0;
fail:
    da_error_f("user namespace id maps: %s", strerror(errno));
    return DA_ERR_SANDBOX;
}

/* Cover /dev with an empty, read-only tmpfs; keep /dev/log reachable. */
static int hide_dev(void)
{
    struct stat st;
    int old = open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
    int have_log, fd, r = DA_ERR_SANDBOX;
    char src[64];

    if (old < 0) {
        da_error_f("/dev: %s", strerror(errno));
        return DA_ERR_SANDBOX;
    }
    have_log = fstatat(old, "log", &st, 0) == 0 && S_ISSOCK(st.st_mode);
    if (mount("devattest-nodev", "/dev", "tmpfs", MS_NODEV | MS_NOSUID | MS_NOEXEC,
              "mode=0755,size=16k") != 0) {
        da_error_f("mount tmpfs on /dev: %s", strerror(errno));
        goto out;
    }
    if (have_log) {
        fd = open("/dev/log", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0)
            close(fd);
        snprintf(src, sizeof(src), "/proc/self/fd/%d/log", old);
        if (fd < 0 || mount(src, "/dev/log", NULL, MS_BIND, NULL) != 0)
            da_warn_f("/dev/log could not be carried over: %s", strerror(errno));
    }
    if (mount(NULL, "/dev", NULL, MS_REMOUNT | MS_RDONLY | MS_NODEV | MS_NOSUID | MS_NOEXEC,
              NULL) != 0) {
        da_error_f("remount /dev read-only: %s", strerror(errno));
        goto out;
    }
    r = 0;
out:
    close(old);
    return r;
}

static char uploader_state[PATH_MAX], uploader_spool[PATH_MAX];

void agent_sandbox_set_uploader_dirs(const char *state, const char *spool)
{
    size_t n;

    snprintf(uploader_state, sizeof(uploader_state), "%s", state != NULL ? state : "");
    snprintf(uploader_spool, sizeof(uploader_spool), "%s", spool != NULL ? spool : "");
    n = strlen(uploader_state);
    /* A spool inside the state directory stays writable with it. */
    if (n > 0 && strncmp(uploader_spool, uploader_state, n) == 0 && uploader_spool[n] == '/')
        uploader_spool[0] = '\0';
}

/* A detached copy of the mount at dir, still writable, to be put back on
 * top of the read-only tree. -1 with nothing to keep. */
static int clone_dir(const char *dir, int *fd)
{
    struct mount_attr attr;

    struct stat st;

    *fd = -1;
    if (dir[0] == '\0' || (lstat(dir, &st) != 0 && errno == ENOENT))
        return 0; /* not used by this command: it stays read-only */
    *fd = open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    memset(&attr, 0, sizeof(attr));
    attr.attr_set = MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
    if (*fd < 0 || mount_setattr(*fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) != 0) {
        da_error_f("%s: cannot be kept writable: %s", dir, strerror(errno));
        return DA_ERR_SANDBOX;
    }
    return 0;
}

static int put_back(int fd, const char *dir)
{
    int r = 0;

    if (fd < 0)
        return 0;
    if (move_mount(fd, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH) != 0) {
        da_error_f("%s: cannot be mounted writable: %s", dir, strerror(errno));
        r = DA_ERR_SANDBOX;
    }
    close(fd);
    return r;
}

/* The signer's files (its spool key) under the state directory: covered by
 * an empty, read-only tmpfs that no one may enter. */
static int hide_signer_dir(void)
{
    char dir[PATH_MAX + 16];
    struct stat st;

    if (uploader_state[0] == '\0')
        return 0;
    snprintf(dir, sizeof(dir), "%s/signer", uploader_state);
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return 0; /* nothing to hide yet: the runtime makes it first */
    if (mount("devattest-hidden", dir, "tmpfs", MS_RDONLY | MS_NODEV | MS_NOSUID | MS_NOEXEC,
              "mode=0000,size=4k") != 0) {
        da_error_f("%s: cannot be hidden: %s", dir, strerror(errno));
        return DA_ERR_SANDBOX;
    }
    return 0;
}

int agent_sandbox_isolate_uploader(void)
{
    struct mount_attr attr;
    int state_fd = -1, spool_fd = -1, r;

    if (geteuid() == 0) {
        if (unshare(CLONE_NEWNS) != 0) {
            da_error_f("unshare(mount namespace): %s", strerror(errno));
            return DA_ERR_SANDBOX;
        }
    } else {
        r = enter_user_namespace();
        if (r != 0)
            return r;
    }
    /* Private propagation first: nothing done here may reach the host's
     * mounts. */
    memset(&attr, 0, sizeof(attr));
    attr.propagation = MS_PRIVATE;
    if (mount_setattr(-1, "/", AT_RECURSIVE, &attr, sizeof(attr)) != 0) {
        da_error_f("mount_setattr(private) on /: %s", strerror(errno));
        return DA_ERR_SANDBOX;
    }
    /* Then the spool and state directories are set aside, every mount made
     * read-only and nodev, and the two put back writable. */
    r = clone_dir(uploader_state, &state_fd);
    if (r == 0)
        r = clone_dir(uploader_spool, &spool_fd);
    if (r == 0) {
        memset(&attr, 0, sizeof(attr));
        attr.attr_set = MOUNT_ATTR_NODEV | (uploader_state[0] != '\0' ? MOUNT_ATTR_RDONLY : 0);
        if (mount_setattr(-1, "/", AT_RECURSIVE, &attr, sizeof(attr)) != 0) {
            da_error_f("mount_setattr(nodev, read-only) on /: %s", strerror(errno));
            r = DA_ERR_SANDBOX;
        }
    }
    if (r == 0) {
        r = put_back(state_fd, uploader_state);
        state_fd = -1;
    }
    if (r == 0) {
        r = put_back(spool_fd, uploader_spool);
        spool_fd = -1;
    }
    if (state_fd >= 0)
        close(state_fd);
    if (spool_fd >= 0)
        close(spool_fd);
    if (r == 0)
        r = hide_signer_dir();
    return r == 0 ? hide_dev() : r;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return x < y ? -1 : x > y;
}

/* close_range over the gaps between the kept descriptors; a kernel without
 * it (before 5.9) gets the loop. */
static void close_from_to(unsigned lo, unsigned hi)
{
    unsigned fd;

    if (lo > hi)
        return;
    if (close_range(lo, hi, 0) == 0)
        return;
    for (fd = lo; fd <= hi && fd < 65536; fd++)
        (void)close((int)fd);
}

int agent_sandbox_close_fds(const int *keep, size_t n)
{
    int sorted[64];
    unsigned next = 3;
    size_t i;

    if (n > sizeof(sorted) / sizeof(sorted[0]))
        return DA_ERR_INVALID_ARG;
    if (n != 0)
        memcpy(sorted, keep, n * sizeof(*keep));
    qsort(sorted, n, sizeof(sorted[0]), cmp_int);
    for (i = 0; i < n; i++) {
        if (sorted[i] < (int)next)
            continue;
        close_from_to(next, (unsigned)sorted[i] - 1);
        next = (unsigned)sorted[i] + 1;
    }
    close_from_to(next, ~0u);
    return 0;
}

int agent_sandbox_keep_uploader_state(void)
{
    if (uploader_state[0] != '\0' && da_file_dir_keep(uploader_state, -1) < 0) {
        da_error_f("state directory %s: %s", uploader_state, strerror(errno));
        return DA_ERR_SANDBOX;
    }
    return 0;
}

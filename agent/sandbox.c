#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
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
#include <linux/fscrypt.h>
#include <seccomp.h>

#include "err.h"
#include "log.h"

const char *agent_sandbox_profile_name(enum agent_sandbox_profile p)
{
    switch (p) {
    case AGENT_SANDBOX_COLLECTOR:
        return "collector";
    case AGENT_SANDBOX_SIGNER:
        return "signer";
    case AGENT_SANDBOX_UPLOADER:
        return "uploader";
    case AGENT_SANDBOX_SIGNER_SIMULATOR:
        return "signer (TPM simulator)";
    }
    return "unknown";
}

enum agent_sandbox_profile agent_sandbox_signer_profile(const char *tcti)
{
    if (tcti != NULL && (strncmp(tcti, "swtpm", 5) == 0 || strncmp(tcti, "mssim", 5) == 0))
        return AGENT_SANDBOX_SIGNER_SIMULATOR;
    return AGENT_SANDBOX_SIGNER;
}

/* ---- seccomp ---- */

/* Calls every process makes: memory, signals, time, I/O on open descriptors,
 * exit. */
static const char *const base_allow[] = {
    "read",
    "readv",
    "pread64",
    "preadv",
    "preadv2",
    "write",
    "writev",
    "close",
    "fstat",
    "newfstatat",
    "statx",
    "lseek",
    "mmap",
    "munmap",
    "mremap",
    "mprotect",
    "madvise",
    "brk",
    "rt_sigreturn",
    "rt_sigaction",
    "rt_sigprocmask",
    "sigaltstack",
    "rt_sigtimedwait",
    "exit",
    "exit_group",
    "getpid",
    "gettid",
    "getppid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getgroups",
    "getresuid",
    "getresgid",
    "clock_gettime",
    "clock_getres",
    "gettimeofday",
    "time",
    "nanosleep",
    "clock_nanosleep",
    "futex",
    "getrandom",
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "uname",
    "fcntl",
    "dup",
    "dup2",
    "dup3",
    "restart_syscall",
    "sched_yield",
    "getrlimit",
    "prlimit64",
    "set_robust_list",
    "rseq",
    "sysinfo",
    "getrusage",
    "sendto",
    "sendmsg",
    "recvfrom",
    "recvmsg",
    "shutdown",
    "getsockopt",
    "getsockname",
    "getpeername",
    "fsync",
    "fdatasync",
    "getcwd",
    "readlink",
    "readlinkat",
    "access",
    "faccessat",
    "faccessat2",
    "getdents64",
    "statfs",
    "fstatfs",
    "close_range",
    "membarrier",
    "sched_getaffinity",
    "set_tid_address",
    NULL,
};

/* What the sanitizer runtime needs for its leak check and reports. */
#ifdef DA_SANITIZE
static const char *const sanitizer_allow[] = {
    "clone", "ptrace", "wait4", "waitid", "prctl", "pipe2", "arch_prctl", "getdents", NULL,
};
#endif

/* The reading-only collector. */
/* adjtimex/clock_adjtime read the kernel clock state (time collector); a
 * change would need CAP_SYS_TIME, which the collector no longer has. */
static const char *const collector_allow[] = {
    "getxattr",   "lgetxattr", "fgetxattr",     "listxattr", "llistxattr",
    "flistxattr", "bind",      "setsockopt",    "chdir",     "fchdir",
    "umask",      "adjtimex",  "clock_adjtime", "fadvise64", NULL,
};
static const char *const collector_deny[] = {
    "execve",
    "execveat",
    "socketpair",
    "connect",
    "creat",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "mknod",
    "mknodat",
    "mount",
    "unshare",
    "setns",
    "kill",
    NULL,
};

/* The signer: I/O on its existing descriptors, files in the state directory. */
static const char *const signer_allow[] = {
    "open",    "openat",    "rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir",
    "mkdirat", "ftruncate", "fchmod", "umask",    "flock",     "link",   "linkat",   NULL,
};
static const char *const signer_deny[] = {

    "socketpair",

    "bind",
    "listen",
    "accept",
    "accept4",
    "execve",
    "execveat",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "mknod",
    "mknodat",
    "mount",
    "unshare",
    "setns",
    NULL,
};

/* The uploader: network, spool and its own files, threads for the resolver,
 * reaping its children. */
static const char *const uploader_allow[] = {
    "open",
    "openat",
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
    "mkdir",
    "mkdirat",
    "ftruncate",
    "fchmod",
    "umask",
    "flock",
    "socket",
    "socketpair",
    "connect",
    "bind",
    "setsockopt",
    "sendmmsg",
    "recvmmsg",
    "pipe2",
    "eventfd2",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "wait4",
    "waitid",
    "kill",
    "alarm",
    "setitimer",
    "getitimer",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_gettime",
    "signalfd4",
    "chmod",
    "fchown",
    NULL,
};
static const char *const uploader_deny[] = {
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "mknod",
    "mknodat",
    "open_by_handle_at",
    "name_to_handle_at",
    "fsopen",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "pidfd_open",
    "execve",
    "execveat",
    "init_module",
    "finit_module",
    "kexec_load",
    "bpf",
    NULL,
};

/* One argument comparison, every field set (the SCMP_A* macros leave
 * datum_b out for two-operand comparisons). */
static struct scmp_arg_cmp arg_cmp(unsigned arg, enum scmp_compare op, scmp_datum_t a,
                                   scmp_datum_t b)
{
    struct scmp_arg_cmp c;

    c.arg = arg;
    c.op = op;
    c.datum_a = a;
    c.datum_b = b;
    return c;
}

static int resolve(const char *name)
{
    int nr = seccomp_syscall_resolve_name(name);

    return nr == __NR_SCMP_ERROR ? -1 : nr;
}

/* Names that do not exist on this architecture (e.g. open on aarch64) are
 * skipped: they cannot be called there either. */
static int rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
                const struct scmp_arg_cmp *cmp)
{
    int nr = resolve(name), r;

    if (nr < 0)
        return 0;
    r = seccomp_rule_add_array(ctx, action, nr, n, cmp);
    if (r != 0) {
        da_error_f("seccomp rule for %s: %s", name, strerror(-r));
        return DA_ERR_SANDBOX;
    }
    return 0;
}

static int allow_list(scmp_filter_ctx ctx, const char *const *names)
{
    int r;

    for (; *names != NULL; names++) {
        r = rule(ctx, SCMP_ACT_ALLOW, *names, 0, NULL);
        if (r != 0)
            return r;
    }
    return 0;
}

/* Explicit denials matter only in log mode: there they fail with EPERM
 * instead of being logged and allowed. In enforce mode the default action
 * already kills. */
static int deny_list(scmp_filter_ctx ctx, enum agent_sandbox_mode mode, const char *const *names)
{
    int r;

    if (mode != AGENT_SANDBOX_LOG)
        return 0;
    for (; *names != NULL; names++) {
        r = rule(ctx, SCMP_ACT_ERRNO(EPERM), *names, 0, NULL);
        if (r != 0)
            return r;
    }
    return 0;
}

/* __O_TMPFILE includes O_DIRECTORY, which reading code uses (opendir):
 * test only the bit of its own. O_TMPFILE needs O_WRONLY or O_RDWR anyway. */
#define OPEN_TMPFILE_BIT (__O_TMPFILE & ~O_DIRECTORY)
#define OPEN_WRITE_FLAGS (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | OPEN_TMPFILE_BIT)

/* open/openat only without any flag that writes or creates. */
static int collector_open_rules(scmp_filter_ctx ctx, enum agent_sandbox_mode mode)
{
    static const unsigned long bits[] = {O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND, __O_TMPFILE};
    struct scmp_arg_cmp c;
    size_t i;
    int r;

    c = arg_cmp(1, SCMP_CMP_MASKED_EQ, OPEN_WRITE_FLAGS, 0);
    r = rule(ctx, SCMP_ACT_ALLOW, "open", 1, &c);
    c = arg_cmp(2, SCMP_CMP_MASKED_EQ, OPEN_WRITE_FLAGS, 0);
    if (r == 0)
        r = rule(ctx, SCMP_ACT_ALLOW, "openat", 1, &c);
    /* openat2 passes its flags in a structure seccomp cannot read: refuse
     * it in a way that makes the C library fall back to openat. */
    if (r == 0)
        r = rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "openat2", 0, NULL);
    for (i = 0; r == 0 && mode == AGENT_SANDBOX_LOG && i < sizeof(bits) / sizeof(bits[0]); i++) {
        c = arg_cmp(1, SCMP_CMP_MASKED_EQ, bits[i], bits[i]);
        r = rule(ctx, SCMP_ACT_ERRNO(EPERM), "open", 1, &c);
        c = arg_cmp(2, SCMP_CMP_MASKED_EQ, bits[i], bits[i]);
        if (r == 0)
            r = rule(ctx, SCMP_ACT_ERRNO(EPERM), "openat", 1, &c);
    }
    return r;
}

static int collector_socket_rules(scmp_filter_ctx ctx, enum agent_sandbox_mode mode)
{
    struct scmp_arg_cmp c = arg_cmp(0, SCMP_CMP_MASKED_EQ, 0xffffffffu, AF_NETLINK);
    int r;

    r = rule(ctx, SCMP_ACT_ALLOW, "socket", 1, &c);
    if (r == 0 && mode == AGENT_SANDBOX_LOG) {
        c = arg_cmp(0, SCMP_CMP_NE, AF_NETLINK, 0);
        r = rule(ctx, SCMP_ACT_ERRNO(EPERM), "socket", 1, &c);
    }
    return r;
}

static int ioctl_rules(scmp_filter_ctx ctx, const unsigned long *cmds, size_t n)
{
    struct scmp_arg_cmp c;
    size_t i;
    int r = 0;

    for (i = 0; r == 0 && i < n; i++) {
        c = arg_cmp(1, SCMP_CMP_MASKED_EQ, 0xffffffffu, cmds[i]);
        r = rule(ctx, SCMP_ACT_ALLOW, "ioctl", 1, &c);
    }
    return r;
}

static int collector_rules(scmp_filter_ctx ctx, enum agent_sandbox_mode mode)
{
    static const unsigned long ioctls[] = {FS_IOC_GET_ENCRYPTION_POLICY_EX,
                                           FS_IOC_GET_ENCRYPTION_POLICY, FS_IOC_GETFLAGS, TCGETS};
    int r;

    r = allow_list(ctx, collector_allow);
    if (r == 0)
        r = collector_open_rules(ctx, mode);
    if (r == 0)
        r = collector_socket_rules(ctx, mode);
    if (r == 0)
        r = ioctl_rules(ctx, ioctls, sizeof(ioctls) / sizeof(ioctls[0]));
    if (r == 0)
        r = deny_list(ctx, mode, collector_deny);
    return r;
}

/* The simulator TCTIs connect anew for every command: TCP sockets only. */
static int simulator_socket_rules(scmp_filter_ctx ctx, enum agent_sandbox_mode mode)
{
    static const int families[] = {AF_INET, AF_INET6};
    struct scmp_arg_cmp c[2];
    size_t i;
    int r = 0;

    for (i = 0; r == 0 && i < 2; i++) {
        c[0] = arg_cmp(0, SCMP_CMP_MASKED_EQ, 0xffffffffu, (scmp_datum_t)families[i]);
        c[1] = arg_cmp(1, SCMP_CMP_MASKED_EQ, 0xffu, SOCK_STREAM); /* flags above the type */
        r = rule(ctx, SCMP_ACT_ALLOW, "socket", 2, c);
    }
    if (r == 0)
        r = rule(ctx, SCMP_ACT_ALLOW, "connect", 0, NULL);
    /* Log mode: every other family, and non-stream TCP/IP sockets, fail
     * with EPERM (one comparison per argument and rule: ranges around 2 and
     * 10 are spelled out). */
    for (i = 0; r == 0 && mode == AGENT_SANDBOX_LOG && i < 12; i++) {
        if (i == AF_INET || i == AF_INET6)
            continue;
        c[0] = arg_cmp(0, i < 11 ? SCMP_CMP_EQ : SCMP_CMP_GT, i < 11 ? i : 10, 0);
        r = rule(ctx, SCMP_ACT_ERRNO(EPERM), "socket", 1, c);
    }
    for (i = 0; r == 0 && mode == AGENT_SANDBOX_LOG && i < 2; i++) {
        c[0] = arg_cmp(0, SCMP_CMP_MASKED_EQ, 0xffffffffu, (scmp_datum_t)families[i]);
        c[1] = arg_cmp(1, SCMP_CMP_MASKED_EQ, 0xffu, SOCK_DGRAM);
        r = rule(ctx, SCMP_ACT_ERRNO(EPERM), "socket", 2, c);
        c[1] = arg_cmp(1, SCMP_CMP_MASKED_EQ, 0xffu, SOCK_RAW);
        if (r == 0)
            r = rule(ctx, SCMP_ACT_ERRNO(EPERM), "socket", 2, c);
    }
    return r;
}

static int signer_rules(scmp_filter_ctx ctx, enum agent_sandbox_mode mode, int simulator)
{
    static const unsigned long ioctls[] = {TCGETS, FIONREAD};
    static const char *const no_network[] = {"socket", "connect", NULL};
    int r;

    r = allow_list(ctx, signer_allow);
    if (r == 0)
        r = ioctl_rules(ctx, ioctls, sizeof(ioctls) / sizeof(ioctls[0]));
    if (r == 0)
        r = deny_list(ctx, mode, signer_deny);
    if (r == 0)
        r = simulator ? simulator_socket_rules(ctx, mode) : deny_list(ctx, mode, no_network);
    return r;
}

static int uploader_rules(scmp_filter_ctx ctx, enum agent_sandbox_mode mode)
{
    static const unsigned long ioctls[] = {TCGETS, FIONREAD, FIONBIO};
    struct scmp_arg_cmp c;
    int r;

    r = allow_list(ctx, uploader_allow);
    if (r == 0)
        r = ioctl_rules(ctx, ioctls, sizeof(ioctls) / sizeof(ioctls[0]));
        /* Threads (the resolver) but no new processes: clone only with
         * CLONE_THREAD; clone3 hides its flags, so it is refused with ENOSYS and
         * the C library falls back to clone. */
#ifndef DA_SANITIZE
    c = arg_cmp(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
    if (r == 0)
        r = rule(ctx, SCMP_ACT_ALLOW, "clone", 1, &c);
#else
    (void)c;
#endif
    if (r == 0)
        r = rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);
    if (r == 0)
        r = deny_list(ctx, mode, uploader_deny);
    return r;
}

/* tgkill on this process only: abort() and raise() stay possible. */
static int self_signal_rule(scmp_filter_ctx ctx)
{
    struct scmp_arg_cmp c = arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0);

    return rule(ctx, SCMP_ACT_ALLOW, "tgkill", 1, &c);
}

int agent_sandbox_install_filter(enum agent_sandbox_profile p, enum agent_sandbox_mode mode)
{
    uint32_t def = mode == AGENT_SANDBOX_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
    scmp_filter_ctx ctx = NULL;
    int r, rc = DA_ERR_SANDBOX;

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
        da_error_f("no_new_privs: %s", strerror(errno));
        return DA_ERR_SANDBOX;
    }
    ctx = seccomp_init(def);
    if (ctx == NULL) {
        da_error_f("seccomp_init failed");
        return DA_ERR_SANDBOX;
    }
    /* Only the native architecture is in the filter; calls made through any
     * other ABI (i386 int 0x80 on x86_64, x32) hit the bad-arch action. */
    if (seccomp_arch_exist(ctx, seccomp_arch_native()) != 0 ||
        seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) != 0 ||
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) != 0) {
        da_error_f("seccomp attributes could not be set");
        goto out;
    }
    if (mode == AGENT_SANDBOX_LOG && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1) != 0) {
        da_error_f("seccomp log mode is not supported by this kernel");
        goto out;
    }
    r = allow_list(ctx, base_allow);
#ifdef DA_SANITIZE
    if (r == 0)
        r = allow_list(ctx, sanitizer_allow);
#endif
    if (r == 0)
        r = self_signal_rule(ctx);
    if (r == 0) {
        switch (p) {
        case AGENT_SANDBOX_COLLECTOR:
            r = collector_rules(ctx, mode);
            break;
        case AGENT_SANDBOX_SIGNER:
            r = signer_rules(ctx, mode, 0);
            break;
        case AGENT_SANDBOX_SIGNER_SIMULATOR:
            r = signer_rules(ctx, mode, 1);
            break;
        case AGENT_SANDBOX_UPLOADER:
            r = uploader_rules(ctx, mode);
            break;
        default:
            r = DA_ERR_INVALID_ARG;
        }
    }
    if (r != 0)
        goto out;
    r = seccomp_load(ctx);
    if (r != 0) {
        da_error_f("seccomp_load: %s", strerror(-r));
        goto out;
    }
    rc = 0;
out:
    seccomp_release(ctx);
    return rc;
}

/* ---- capabilities ---- */

static int last_cap(void)
{
    int c;

    for (c = 0; c < 64; c++) {
        if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) < 0)
            return c - 1;
    }
    return 63;
}

int agent_sandbox_drop_caps(uint64_t keep)
{
    struct __user_cap_header_struct hdr;
    struct __user_cap_data_struct data[2];
    int c, last = last_cap();

    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
        da_error_f("clearing ambient capabilities: %s", strerror(errno));
        return DA_ERR_SANDBOX;
    }
    for (c = 0; c <= last; c++) {
        if ((keep >> c) & 1)
            continue;
        if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1 && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 &&
            errno != EPERM) {
            da_error_f("dropping capability %d from the bounding set: %s", c, strerror(errno));
            return DA_ERR_SANDBOX;
        }
    }
    memset(&hdr, 0, sizeof(hdr));
    memset(data, 0, sizeof(data));
    hdr.version = _LINUX_CAPABILITY_VERSION_3;
    hdr.pid = 0;
    if (syscall(SYS_capget, &hdr, data) != 0) {
        da_error_f("capget: %s", strerror(errno));
        return DA_ERR_SANDBOX;
    }
    data[0].effective &= (uint32_t)keep;
    data[0].permitted &= (uint32_t)keep;
    data[1].effective &= (uint32_t)(keep >> 32);
    data[1].permitted &= (uint32_t)(keep >> 32);
    data[0].inheritable = 0;
    data[1].inheritable = 0;
    if (syscall(SYS_capset, &hdr, data) != 0) {
        da_error_f("capset: %s", strerror(errno));
        return DA_ERR_SANDBOX;
    }
    return 0;
}

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

int agent_sandbox_isolate_uploader(void)
{
    struct mount_attr attr;
    int r;

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
     * mounts. Then nodev on every mount of this namespace, recursively. */
    memset(&attr, 0, sizeof(attr));
    attr.attr_set = MOUNT_ATTR_NODEV;
    attr.propagation = MS_PRIVATE;
    if (mount_setattr(-1, "/", AT_RECURSIVE, &attr, sizeof(attr)) != 0) {
        da_error_f("mount_setattr(nodev, private) on /: %s", strerror(errno));
        return DA_ERR_SANDBOX;
    }
    return hide_dev();
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

int agent_sandbox_enter(enum agent_sandbox_profile p, enum agent_sandbox_mode mode)
{
    uint64_t keep = 0;
    int r;

    if (p == AGENT_SANDBOX_UPLOADER) {
        r = agent_sandbox_isolate_uploader();
        if (r != 0)
            return r;
    }
    if (p == AGENT_SANDBOX_COLLECTOR)
        keep = (1ull << CAP_DAC_READ_SEARCH) | (1ull << CAP_SYS_PTRACE);
    r = agent_sandbox_drop_caps(keep);
    if (r != 0)
        return r;
#ifndef DA_SANITIZE
    /* Not dumpable: no process of the same uid can ptrace it or open its
     * descriptors through /proc/PID/fd. LSan needs to ptrace its own
     * process, so sanitizer builds skip this (see sandbox.h). */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        da_error_f("PR_SET_DUMPABLE: %s", strerror(errno));
        return DA_ERR_SANDBOX;
    }
#endif
    r = agent_sandbox_install_filter(p, mode);
    if (r == 0)
        da_debug_f("%s sandbox in place (%s)", agent_sandbox_profile_name(p),
                   mode == AGENT_SANDBOX_LOG ? "log" : "enforce");
    return r;
}

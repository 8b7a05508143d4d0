/* The seccomp filters of the agent's process profiles. */
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

/* ---- seccomp ---- */

/* Calls every process makes: memory, signals, time, I/O on open descriptors,
 * exit. */
static const int base_allow[] = {
    SCMP_SYS(read),
    SCMP_SYS(readv),
    SCMP_SYS(pread64),
    SCMP_SYS(preadv),
    SCMP_SYS(preadv2),
    SCMP_SYS(write),
    SCMP_SYS(writev),
    SCMP_SYS(close),
    SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(statx),
    SCMP_SYS(lseek),
    SCMP_SYS(mmap),
    SCMP_SYS(munmap),
    SCMP_SYS(mremap),
    SCMP_SYS(mprotect),
    SCMP_SYS(madvise),
    SCMP_SYS(brk),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigaction),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(sigaltstack),
    SCMP_SYS(rt_sigtimedwait),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    SCMP_SYS(getpid),
    SCMP_SYS(gettid),
    SCMP_SYS(getppid),
    SCMP_SYS(getuid),
    SCMP_SYS(geteuid),
    SCMP_SYS(getgid),
    SCMP_SYS(getegid),
    SCMP_SYS(getgroups),
    SCMP_SYS(getresuid),
    SCMP_SYS(getresgid),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_getres),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(time),
    SCMP_SYS(nanosleep),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(futex),
    SCMP_SYS(getrandom),
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
    SCMP_SYS(select),
    SCMP_SYS(pselect6),
    SCMP_SYS(uname),
    SCMP_SYS(fcntl),
    SCMP_SYS(dup),
    SCMP_SYS(dup2),
    SCMP_SYS(dup3),
    SCMP_SYS(restart_syscall),
    SCMP_SYS(sched_yield),
    SCMP_SYS(getrlimit),
    SCMP_SYS(set_robust_list),
    SCMP_SYS(rseq),
    SCMP_SYS(sysinfo),
    SCMP_SYS(getrusage),
    SCMP_SYS(sendto),
    SCMP_SYS(sendmsg),
    SCMP_SYS(recvfrom),
    SCMP_SYS(recvmsg),
    SCMP_SYS(shutdown),
    SCMP_SYS(getsockopt),
    SCMP_SYS(getsockname),
    SCMP_SYS(getpeername),
    SCMP_SYS(fsync),
    SCMP_SYS(fdatasync),
    SCMP_SYS(getcwd),
    SCMP_SYS(readlink),
    SCMP_SYS(readlinkat),
    SCMP_SYS(access),
    SCMP_SYS(faccessat),
    SCMP_SYS(faccessat2),
    SCMP_SYS(getdents64),
    SCMP_SYS(statfs),
    SCMP_SYS(fstatfs),
    SCMP_SYS(close_range),
    SCMP_SYS(membarrier),
    SCMP_SYS(sched_getaffinity),
    SCMP_SYS(set_tid_address),
};

/* What the sanitizer runtime needs for its leak check and reports. */
#ifdef DA_SANITIZE
static const int sanitizer_allow[] = {
    SCMP_SYS(clone), SCMP_SYS(ptrace), SCMP_SYS(wait4),      SCMP_SYS(waitid),
    SCMP_SYS(prctl), SCMP_SYS(pipe2),  SCMP_SYS(arch_prctl), SCMP_SYS(getdents),
};
#endif

/* The reading-only collector. */
/* adjtimex/clock_adjtime read the kernel clock state (time collector); a
 * change would need CAP_SYS_TIME, which the collector no longer has. */
static const int collector_allow[] = {
    SCMP_SYS(getxattr),      SCMP_SYS(lgetxattr),  SCMP_SYS(fgetxattr), SCMP_SYS(listxattr),
    SCMP_SYS(llistxattr),    SCMP_SYS(flistxattr), SCMP_SYS(bind),      SCMP_SYS(setsockopt),
    SCMP_SYS(chdir),         SCMP_SYS(fchdir),     SCMP_SYS(umask),     SCMP_SYS(adjtimex),
    SCMP_SYS(clock_adjtime), SCMP_SYS(fadvise64),
};
static const int collector_deny[] = {
    SCMP_SYS(execve),
    SCMP_SYS(execveat),
    SCMP_SYS(socketpair),
    SCMP_SYS(connect),
    SCMP_SYS(creat),
    SCMP_SYS(ptrace),
    SCMP_SYS(process_vm_readv),
    SCMP_SYS(process_vm_writev),
    SCMP_SYS(mknod),
    SCMP_SYS(mknodat),
    SCMP_SYS(mount),
    SCMP_SYS(unshare),
    SCMP_SYS(setns),
    SCMP_SYS(kill),
};

/* The signer: I/O on its existing descriptors, files in the state directory. */
static const int signer_allow[] = {
    SCMP_SYS(ftruncate),
    SCMP_SYS(umask),
    SCMP_SYS(flock),
};
static const int signer_deny[] = {
    SCMP_SYS(socketpair),
    SCMP_SYS(bind),
    SCMP_SYS(listen),
    SCMP_SYS(accept),
    SCMP_SYS(accept4),
    SCMP_SYS(execve),
    SCMP_SYS(execveat),
    SCMP_SYS(ptrace),
    SCMP_SYS(process_vm_readv),
    SCMP_SYS(process_vm_writev),
    SCMP_SYS(mknod),
    SCMP_SYS(mknodat),
    SCMP_SYS(mount),
    SCMP_SYS(unshare),
    SCMP_SYS(setns),
};

/* The uploader: network, spool and its own files, threads for the resolver,
 * reaping its children. */
static const int uploader_allow[] = {
    SCMP_SYS(ftruncate),       SCMP_SYS(umask),           SCMP_SYS(flock),
    SCMP_SYS(socketpair),      SCMP_SYS(connect),         SCMP_SYS(bind),
    SCMP_SYS(setsockopt),      SCMP_SYS(sendmmsg),        SCMP_SYS(recvmmsg),
    SCMP_SYS(pipe2),           SCMP_SYS(eventfd2),        SCMP_SYS(epoll_create1),
    SCMP_SYS(epoll_ctl),       SCMP_SYS(epoll_wait),      SCMP_SYS(epoll_pwait),
    SCMP_SYS(wait4),           SCMP_SYS(waitid),          SCMP_SYS(alarm),
    SCMP_SYS(setitimer),       SCMP_SYS(getitimer),       SCMP_SYS(timerfd_create),
    SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime), SCMP_SYS(signalfd4),
    SCMP_SYS(fchown),
};
static const int uploader_deny[] = {
    SCMP_SYS(mount),
    SCMP_SYS(umount2),
    SCMP_SYS(pivot_root),
    SCMP_SYS(chroot),
    SCMP_SYS(unshare),
    SCMP_SYS(setns),
    SCMP_SYS(mknod),
    SCMP_SYS(mknodat),
    SCMP_SYS(open_by_handle_at),
    SCMP_SYS(name_to_handle_at),
    SCMP_SYS(fsopen),
    SCMP_SYS(fsmount),
    SCMP_SYS(fspick),
    SCMP_SYS(move_mount),
    SCMP_SYS(open_tree),
    SCMP_SYS(mount_setattr),
    SCMP_SYS(ptrace),
    SCMP_SYS(process_vm_readv),
    SCMP_SYS(process_vm_writev),
    SCMP_SYS(pidfd_getfd),
    SCMP_SYS(pidfd_open),
    SCMP_SYS(execve),
    SCMP_SYS(execveat),
    SCMP_SYS(init_module),
    SCMP_SYS(finit_module),
    SCMP_SYS(kexec_load),
    SCMP_SYS(bpf),
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

#define NSYS(a) (sizeof(a) / sizeof((a)[0]))

/* nr comes from SCMP_SYS(name), resolved at compile time: a misspelled name
 * fails the build. A call that does not exist on this architecture (e.g.
 * open on aarch64) has a negative pseudo number and is skipped: it cannot
 * be called there either. */
static int rule(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned n,
                const struct scmp_arg_cmp *cmp)
{
    int r;

    if (nr < 0)
        return 0;
    r = seccomp_rule_add_array(ctx, action, nr, n, cmp);
    if (r != 0) {
        char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

        da_error_f("seccomp rule for %s: %s", name != NULL ? name : "?", strerror(-r));
        free(name);
        return DA_ERR_SANDBOX;
    }
    return 0;
}

static int allow_list(scmp_filter_ctx ctx, const int *nrs, size_t n)
{
    size_t i;
    int r;

    for (i = 0; i < n; i++) {
        r = rule(ctx, SCMP_ACT_ALLOW, nrs[i], 0, NULL);
        if (r != 0)
            return r;
    }
    return 0;
}

/* Explicit denials matter only in log mode: there they fail with EPERM
 * instead of being logged and allowed. In enforce mode the default action
 * already kills. */
static int deny_list(scmp_filter_ctx ctx, enum agent_sandbox_mode mode, const int *nrs, size_t n)
{
    size_t i;
    int r;

    if (mode != AGENT_SANDBOX_LOG)
        return 0;
    for (i = 0; i < n; i++) {
        r = rule(ctx, SCMP_ACT_ERRNO(EPERM), nrs[i], 0, NULL);
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
    r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1, &c);
    c = arg_cmp(2, SCMP_CMP_MASKED_EQ, OPEN_WRITE_FLAGS, 0);
    if (r == 0)
        r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1, &c);
    /* openat2 passes its flags in a structure seccomp cannot read: refuse
     * it in a way that makes the C library fall back to openat. */
    if (r == 0)
        r = rule(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0, NULL);
    for (i = 0; r == 0 && mode == AGENT_SANDBOX_LOG && i < sizeof(bits) / sizeof(bits[0]); i++) {
        c = arg_cmp(1, SCMP_CMP_MASKED_EQ, bits[i], bits[i]);
        r = rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(open), 1, &c);
        c = arg_cmp(2, SCMP_CMP_MASKED_EQ, bits[i], bits[i]);
        if (r == 0)
            r = rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(openat), 1, &c);
    }
    return r;
}

/* The processes that write (signer, uploader): opening for reading
 * anywhere; opening for writing or creating, renaming, removing, making
 * directories and linking only relative to the directories kept before the
 * filter (common/file.h da_file_dir_keep), compared by descriptor number.
 * open/creat by name and AT_FDCWD never write; rename, unlink, mkdir, link,
 * symlink by name are not allowed at all. Log mode: the refused forms are
 * logged and allowed (one comparison per argument and rule cannot say "none
 * of these descriptors"). */
static int dir_write_rules(scmp_filter_ctx ctx)
{
    int fds[DA_FILE_MAX_DIRS];
    size_t n = da_file_dir_fds(fds, DA_FILE_MAX_DIRS), i, j;
    struct scmp_arg_cmp c[2];
    int r;

    c[0] = arg_cmp(1, SCMP_CMP_MASKED_EQ, OPEN_WRITE_FLAGS, 0);
    r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1, c);
    c[0] = arg_cmp(2, SCMP_CMP_MASKED_EQ, OPEN_WRITE_FLAGS, 0);
    if (r == 0)
        r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1, c);
    if (r == 0)
        r = rule(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0, NULL);
    for (i = 0; r == 0 && i < n; i++) {
        c[0] = arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)fds[i], 0);
        r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1, c);
        if (r == 0)
            r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(unlinkat), 1, c);
        if (r == 0)
            r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mkdirat), 1, c);
        for (j = 0; r == 0 && j < n; j++) {
            c[1] = arg_cmp(2, SCMP_CMP_EQ, (scmp_datum_t)fds[j], 0);
            r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(renameat), 2, c);
            if (r == 0)
                r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(renameat2), 2, c);
        }
        /* linkat (DA_WRITE_NEW: a new name for a file just written) within
         * one kept directory, never following a symbolic link (flags 0). */
        c[1] = arg_cmp(2, SCMP_CMP_EQ, (scmp_datum_t)fds[i], 0);
        if (r == 0)
            r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(linkat), 2, c);
    }
    return r;
}

static int collector_socket_rules(scmp_filter_ctx ctx, enum agent_sandbox_mode mode)
{
    struct scmp_arg_cmp c = arg_cmp(0, SCMP_CMP_MASKED_EQ, 0xffffffffu, AF_NETLINK);
    int r;

    r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, &c);
    if (r == 0 && mode == AGENT_SANDBOX_LOG) {
        c = arg_cmp(0, SCMP_CMP_NE, AF_NETLINK, 0);
        r = rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1, &c);
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
        r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, &c);
    }
    return r;
}

static int collector_rules(scmp_filter_ctx ctx, enum agent_sandbox_mode mode)
{
    static const unsigned long ioctls[] = {FS_IOC_GET_ENCRYPTION_POLICY_EX,
                                           FS_IOC_GET_ENCRYPTION_POLICY, FS_IOC_GETFLAGS, TCGETS};
    int r;

    r = allow_list(ctx, collector_allow, NSYS(collector_allow));
    if (r == 0)
        r = collector_open_rules(ctx, mode);
    if (r == 0)
        r = collector_socket_rules(ctx, mode);
    if (r == 0)
        r = ioctl_rules(ctx, ioctls, sizeof(ioctls) / sizeof(ioctls[0]));
    if (r == 0)
        r = deny_list(ctx, mode, collector_deny, NSYS(collector_deny));
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
        r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2, c);
    }
    if (r == 0)
        r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(connect), 0, NULL);
    /* Log mode: every other family, and non-stream TCP/IP sockets, fail
     * with EPERM (one comparison per argument and rule: ranges around 2 and
     * 10 are spelled out). */
    for (i = 0; r == 0 && mode == AGENT_SANDBOX_LOG && i < 12; i++) {
        if (i == AF_INET || i == AF_INET6)
            continue;
        c[0] = arg_cmp(0, i < 11 ? SCMP_CMP_EQ : SCMP_CMP_GT, i < 11 ? i : 10, 0);
        r = rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1, c);
    }
    for (i = 0; r == 0 && mode == AGENT_SANDBOX_LOG && i < 2; i++) {
        c[0] = arg_cmp(0, SCMP_CMP_MASKED_EQ, 0xffffffffu, (scmp_datum_t)families[i]);
        c[1] = arg_cmp(1, SCMP_CMP_MASKED_EQ, 0xffu, SOCK_DGRAM);
        r = rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 2, c);
        c[1] = arg_cmp(1, SCMP_CMP_MASKED_EQ, 0xffu, SOCK_RAW);
        if (r == 0)
            r = rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 2, c);
    }
    return r;
}

/* chmod, fchmod and fchmodat never with the setuid or setgid bit. */
static int mode_rules(scmp_filter_ctx ctx, enum agent_sandbox_mode mode)
{
    static const unsigned long bits[] = {S_ISUID, S_ISGID};
    struct scmp_arg_cmp c;
    size_t i;
    int r;

    c = arg_cmp(1, SCMP_CMP_MASKED_EQ, S_ISUID | S_ISGID, 0);
    r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(chmod), 1, &c);
    if (r == 0)
        r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fchmod), 1, &c);
    c = arg_cmp(2, SCMP_CMP_MASKED_EQ, S_ISUID | S_ISGID, 0);
    if (r == 0)
        r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fchmodat), 1, &c);
    for (i = 0; r == 0 && mode == AGENT_SANDBOX_LOG && i < NSYS(bits); i++) {
        c = arg_cmp(1, SCMP_CMP_MASKED_EQ, bits[i], bits[i]);
        r = rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(chmod), 1, &c);
        if (r == 0)
            r = rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(fchmod), 1, &c);
        c = arg_cmp(2, SCMP_CMP_MASKED_EQ, bits[i], bits[i]);
        if (r == 0)
            r = rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(fchmodat), 1, &c);
    }
    return r;
}

/* socket() only in the listed families. */
static int socket_family_rules(scmp_filter_ctx ctx, enum agent_sandbox_mode mode,
                               const int *families, size_t n)
{
    struct scmp_arg_cmp c;
    size_t i;
    int r = 0;

    (void)mode; /* log mode: other families are logged and allowed */
    for (i = 0; r == 0 && i < n; i++) {
        c = arg_cmp(0, SCMP_CMP_MASKED_EQ, 0xffffffffu, (scmp_datum_t)families[i]);
        r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, &c);
    }
    return r;
}

/* The agent's children, whom the uploader may signal (set before its
 * filter is installed). */
static pid_t sandbox_children[AGENT_SANDBOX_MAX_CHILDREN];
static size_t sandbox_n_children;

void agent_sandbox_set_children(const pid_t *pids, size_t n)
{
    size_t i;

    sandbox_n_children = 0;
    for (i = 0; i < n && sandbox_n_children < AGENT_SANDBOX_MAX_CHILDREN; i++) {
        if (pids[i] > 0)
            sandbox_children[sandbox_n_children++] = pids[i];
    }
}

/* kill() only on the agent's own children, by their pid. */
static int child_kill_rules(scmp_filter_ctx ctx)
{
    struct scmp_arg_cmp c;
    size_t i;
    int r = 0;

    for (i = 0; r == 0 && i < sandbox_n_children; i++) {
        c = arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)sandbox_children[i], 0);
        r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1, &c);
    }
    return r;
}

/* prlimit64 on this process only (pid 0 or its own pid). */
static int self_prlimit_rules(scmp_filter_ctx ctx)
{
    struct scmp_arg_cmp c = arg_cmp(0, SCMP_CMP_EQ, 0, 0);
    int r;

    r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, &c);
    c = arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0);
    if (r == 0)
        r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, &c);
    return r;
}

static int signer_rules(scmp_filter_ctx ctx, enum agent_sandbox_mode mode, int simulator)
{
    static const unsigned long ioctls[] = {TCGETS, FIONREAD};
    static const int no_network[] = {
        SCMP_SYS(socket),
        SCMP_SYS(connect),
    };
    int r;

    r = allow_list(ctx, signer_allow, NSYS(signer_allow));
    if (r == 0)
        r = dir_write_rules(ctx);
    if (r == 0)
        r = ioctl_rules(ctx, ioctls, sizeof(ioctls) / sizeof(ioctls[0]));
    if (r == 0)
        r = deny_list(ctx, mode, signer_deny, NSYS(signer_deny));
    if (r == 0)
        r = simulator ? simulator_socket_rules(ctx, mode)
                      : deny_list(ctx, mode, no_network, NSYS(no_network));
    if (r == 0)
        r = mode_rules(ctx, mode);
    return r;
}

/* The resolver may use a local socket (nscd, systemd-resolved); syslog. */
static const int uploader_families[] = {AF_UNIX, AF_INET, AF_INET6};

static int uploader_rules(scmp_filter_ctx ctx, enum agent_sandbox_mode mode)
{
    static const unsigned long ioctls[] = {TCGETS, FIONREAD, FIONBIO};
    struct scmp_arg_cmp c;
    int r;

    r = allow_list(ctx, uploader_allow, NSYS(uploader_allow));
    if (r == 0)
        r = dir_write_rules(ctx);
    if (r == 0)
        r = ioctl_rules(ctx, ioctls, sizeof(ioctls) / sizeof(ioctls[0]));
        /* Threads (the resolver) but no new processes: clone only with
         * CLONE_THREAD; clone3 hides its flags, so it is refused with ENOSYS and
         * the C library falls back to clone. */
#ifndef DA_SANITIZE
    c = arg_cmp(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
    if (r == 0)
        r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, &c);
#else
    (void)c;
#endif
    if (r == 0)
        r = rule(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0, NULL);
    if (r == 0)
        r = deny_list(ctx, mode, uploader_deny, NSYS(uploader_deny));
    if (r == 0)
        r = mode_rules(ctx, mode);
    if (r == 0)
        r = socket_family_rules(ctx, mode, uploader_families, NSYS(uploader_families));
    if (r == 0)
        r = child_kill_rules(ctx);
    return r;
}

/* The firewall reader: netfilter netlink sockets, nothing else. */
static int firewall_rules(scmp_filter_ctx ctx, enum agent_sandbox_mode mode)
{
    static const int allow[] = {SCMP_SYS(bind), SCMP_SYS(setsockopt)};
    static const int deny[] = {SCMP_SYS(open),   SCMP_SYS(openat),     SCMP_SYS(connect),
                               SCMP_SYS(execve), SCMP_SYS(execveat),   SCMP_SYS(ptrace),
                               SCMP_SYS(kill),   SCMP_SYS(socketpair), SCMP_SYS(process_vm_readv),
                               SCMP_SYS(mount),  SCMP_SYS(unshare),    SCMP_SYS(setns)};
    struct scmp_arg_cmp c[2];
    int r;

    r = allow_list(ctx, allow, NSYS(allow));
    c[0] = arg_cmp(0, SCMP_CMP_MASKED_EQ, 0xffffffffu, AF_NETLINK);
    c[1] = arg_cmp(2, SCMP_CMP_MASKED_EQ, 0xffffffffu, NETLINK_NETFILTER);
    if (r == 0)
        r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2, c);
    if (r == 0)
        r = deny_list(ctx, mode, deny, NSYS(deny));
    return r;
}

/* The attest listener: accept on the socket it was handed, read-only
 * open, nothing that makes a socket or a process. */
static int attest_rules(scmp_filter_ctx ctx, enum agent_sandbox_mode mode)
{
    static const int allow[] = {SCMP_SYS(accept4), SCMP_SYS(setsockopt)};
    static const int deny[] = {SCMP_SYS(socket), SCMP_SYS(connect),    SCMP_SYS(bind),
                               SCMP_SYS(execve), SCMP_SYS(execveat),   SCMP_SYS(ptrace),
                               SCMP_SYS(kill),   SCMP_SYS(socketpair), SCMP_SYS(process_vm_readv),
                               SCMP_SYS(mount),  SCMP_SYS(unshare),    SCMP_SYS(setns)};
    int r;

    r = allow_list(ctx, allow, NSYS(allow));
    if (r == 0)
        r = collector_open_rules(ctx, mode);
    if (r == 0)
        r = deny_list(ctx, mode, deny, NSYS(deny));
    return r;
}

/* tgkill on this process only: abort() and raise() stay possible. */
static int self_signal_rule(scmp_filter_ctx ctx)
{
    struct scmp_arg_cmp c = arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0);

    return rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, &c);
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
    r = allow_list(ctx, base_allow, NSYS(base_allow));
#ifdef DA_SANITIZE
    if (r == 0)
        r = allow_list(ctx, sanitizer_allow, NSYS(sanitizer_allow));
#endif
    if (r == 0)
        r = self_signal_rule(ctx);
    if (r == 0)
        r = self_prlimit_rules(ctx);
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
        case AGENT_SANDBOX_FIREWALL:
            r = firewall_rules(ctx, mode);
            break;
        case AGENT_SANDBOX_ATTEST:
            r = attest_rules(ctx, mode);
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

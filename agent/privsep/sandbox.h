/* Confinement of the agent's three processes (docs/ARCHITECTURE.md).
 *
 * Each process calls agent_sandbox_enter() once, after it has opened what it
 * needs and before it reads any outside input:
 *
 * - collector: seccomp allows reading files (open/openat are allowed only
 *   without O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND, O_TMPFILE), netlink
 *   sockets (socket() with any other family is refused; connect() is refused
 *   altogether; netlink needs only bind/sendto/recvmsg), a few read-only
 *   ioctls (fscrypt policy, inode flags, TCGETS); no exec, no fork.
 *   Capabilities: only CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE remain (read
 *   any file, read other processes' /proc entries).
 * - signer: the ESYS context and its TCTI (the TPM device) are opened
 *   before; the filter then allows I/O on existing descriptors and writing
 *   only relative to the directories kept with da_file_dir_keep (state and
 *   key directory; docs/internals/sandbox.md), but no socket(), socketpair(), connect(), bind(),
 *   listen(), accept(), no exec, no fork. All capabilities are dropped.
 *   With a simulator TCTI see AGENT_SANDBOX_SIGNER_SIMULATOR.
 * - uploader: may not open a TPM device. seccomp cannot compare path names,
 *   so this is enforced structurally: the uploader enters a mount namespace
 *   of its own in which every mount carries MS_NODEV (no device node can be
 *   opened, wherever it lives) and /dev is an empty read-only tmpfs (the
 *   names do not exist; /dev/log is carried over for syslog). It then drops
 *   all capabilities, so it cannot mount, mknod or reach another process's
 *   descriptors through /proc/PID/fd of a non-dumpable process; seccomp
 *   refuses mount, umount2, pivot_root, chroot, unshare, setns, mknod,
 *   mknodat, open_by_handle_at, the new mount API, ptrace, process_vm_*,
 *   pidfd_getfd, execve and execveat. Not root: the namespace is created
 *   inside a user namespace of its own. Like the signer it writes only
 *   relative to kept directories (spool, quarantine, state).
 *
 * Every filter starts with the architecture check (only the native
 * architecture; any other, including i386 calls on x86_64, kills), sets
 * no_new_privs and denies by default: SCMP_ACT_KILL_PROCESS. In log mode
 * (`sandbox = log`) the default becomes SCMP_ACT_LOG (the call is allowed and
 * the kernel logs it) and the explicitly forbidden calls above fail with
 * EPERM (and are logged), so a missing entry in an allow list can be found
 * without weakening the restrictions the design promises.
 *
 * Sanitizer builds (DA_SANITIZE): the ASan/LSan runtime needs clone, ptrace,
 * wait4, prctl, sched_getaffinity and a few more for its leak check at exit;
 * they are added to every profile only in such builds, and processes stay
 * dumpable there (LSan attaches to its own process with ptrace).
 */
#ifndef AGENT_SANDBOX_H
#define AGENT_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum agent_sandbox_mode {
    AGENT_SANDBOX_ENFORCE = 0, /* a forbidden system call kills the process */
    AGENT_SANDBOX_LOG = 1,     /* debugging: logged; explicit denials give EPERM */
};

/* The mode a configuration value (agent_config.sandbox) names; anything but
 * AGENT_SANDBOX_LOG enforces. */
static inline enum agent_sandbox_mode agent_sandbox_mode_of(int v)
{
    return v == (int)AGENT_SANDBOX_LOG ? AGENT_SANDBOX_LOG : AGENT_SANDBOX_ENFORCE;
}

enum agent_sandbox_profile {
    AGENT_SANDBOX_COLLECTOR = 0,
    AGENT_SANDBOX_SIGNER = 1,
    AGENT_SANDBOX_UPLOADER = 2,
    /* The signer with a TPM simulator (swtpm:, mssim: TCTI): those TCTIs
     * open a new TCP connection for every command, so this profile also
     * allows socket(AF_INET or AF_INET6, SOCK_STREAM) and connect(); every
     * other restriction of the signer stays. Never used with device:. */
    AGENT_SANDBOX_SIGNER_SIMULATOR = 3,
    /* The firewall reader: CAP_NET_ADMIN, netfilter netlink sockets only. */
    AGENT_SANDBOX_FIREWALL = 4,
    /* The attest listener: no capabilities; accept on the listening socket
     * it was handed, read-only open (the caller's /proc/PID/cmdline), no
     * socket(), connect(), bind(), exec or fork. */
    AGENT_SANDBOX_ATTEST = 5,
};

struct agent_user;

/* The signer profile a TCTI string needs (see above). */
enum agent_sandbox_profile agent_sandbox_signer_profile(const char *tcti);

const char *agent_sandbox_profile_name(enum agent_sandbox_profile p);

/* Everything for one profile: structural isolation (uploader), capability
 * drop, non-dumpable, no_new_privs, seccomp. 0 or DA_ERR_SANDBOX (logged);
 * the caller must exit on failure, never continue unconfined. */
int agent_sandbox_enter(enum agent_sandbox_profile p, enum agent_sandbox_mode mode);
/* The same, switching to user (agent/privsep/privdrop.h; NULL: no switch) after the
 * structural isolation and before the capability drop. */
int agent_sandbox_enter_as(enum agent_sandbox_profile p, enum agent_sandbox_mode mode,
                           const struct agent_user *user);
/* The capabilities a profile keeps (bit n = capability n). */
uint64_t agent_sandbox_profile_caps(enum agent_sandbox_profile p);

/* The uploader's filter lets it kill() only these pids (its children).
 * Call before it enters its sandbox. */
#define AGENT_SANDBOX_MAX_CHILDREN 8
void agent_sandbox_set_children(const pid_t *pids, size_t n);
/* The directories that stay writable in the uploader's otherwise read-only
 * mount namespace (spool may be NULL or inside state), and state/signer is
 * covered by an empty read-only tmpfs. NULL state: nothing stays writable. */
void agent_sandbox_set_uploader_dirs(const char *state, const char *spool);

/* The pieces, for tests and for callers that need a different order. */
int agent_sandbox_isolate_uploader(void);
/* Keep <state> (opened inside the uploader's namespace) as a directory the
 * filter lets the uploader write in. 0 or DA_ERR_SANDBOX. */
int agent_sandbox_keep_uploader_state(void);
/* Keep only the capabilities in the mask (bit n = capability n) in the
 * effective, permitted and bounding sets; clear inheritable and ambient. */
int agent_sandbox_drop_caps(uint64_t keep);
int agent_sandbox_install_filter(enum agent_sandbox_profile p, enum agent_sandbox_mode mode);

/* Close every descriptor above 2 that is not in keep[0..n). */
int agent_sandbox_close_fds(const int *keep, size_t n);

#endif

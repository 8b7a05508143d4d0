/* Entering a process's sandbox: the order of the steps (mount namespace,
 * user switch, capabilities, not dumpable, seccomp filter) and the profile
 * names. The steps themselves: seccomp.c, caps.c, namespace.c. */
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
    case AGENT_SANDBOX_FIREWALL:
        return "firewall reader";
    case AGENT_SANDBOX_ATTEST:
        return "attest listener";
    }
    return "unknown";
}

enum agent_sandbox_profile agent_sandbox_signer_profile(const char *tcti)
{
    if (tcti != NULL && (strncmp(tcti, "swtpm", 5) == 0 || strncmp(tcti, "mssim", 5) == 0))
        return AGENT_SANDBOX_SIGNER_SIMULATOR;
    return AGENT_SANDBOX_SIGNER;
}

uint64_t agent_sandbox_profile_caps(enum agent_sandbox_profile p)
{
    if (p == AGENT_SANDBOX_COLLECTOR)
        return 1ull << CAP_DAC_READ_SEARCH;
    if (p == AGENT_SANDBOX_FIREWALL)
        return 1ull << CAP_NET_ADMIN;
    return 0;
}

int agent_sandbox_enter_as(enum agent_sandbox_profile p, enum agent_sandbox_mode mode,
                           const struct agent_user *user)
{
    uint64_t keep = agent_sandbox_profile_caps(p);
    int r;

    if (p == AGENT_SANDBOX_UPLOADER) {
        r = agent_sandbox_isolate_uploader();
        if (r != 0)
            return r;
        /* Opened inside the new mount namespace, where <state>/signer is
         * covered: the filter allows writes only relative to kept
         * descriptors. */
        r = agent_sandbox_keep_uploader_state();
        if (r != 0)
            return r;
    }
    if (user != NULL) {
        r = agent_user_switch(user, keep);
        if (r != 0)
            return DA_ERR_SANDBOX;
    }
    r = agent_sandbox_drop_caps(keep);
    if (r != 0)
        return r;
#ifndef DA_SANITIZE
    /* Not dumpable: no process of the same uid can ptrace it or open its
     * descriptors through /proc/PID/fd. LSan needs to ptrace its own
     * process, so sanitizer builds skip this (see sandbox.h). */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
#else
    /* The uid switch cleared the flag; LSan needs it. */
    if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) {
#endif
        da_error_f("PR_SET_DUMPABLE: %s", strerror(errno));
        return DA_ERR_SANDBOX;
    }
    r = agent_sandbox_install_filter(p, mode);
    if (r == 0)
        da_debug_f("%s sandbox in place (%s)", agent_sandbox_profile_name(p),
                   mode == AGENT_SANDBOX_LOG ? "log" : "enforce");
    return r;
}

int agent_sandbox_enter(enum agent_sandbox_profile p, enum agent_sandbox_mode mode)
{
    return agent_sandbox_enter_as(p, mode, NULL);
}

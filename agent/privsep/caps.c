/* Capabilities: the bounding, permitted and effective sets a profile keeps. */
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
    /* Effective from permitted: a uid switch with PR_SET_KEEPCAPS leaves
     * the kept ones permitted but not effective. */
    data[0].permitted &= (uint32_t)keep;
    data[1].permitted &= (uint32_t)(keep >> 32);
    data[0].effective = data[0].permitted;
    data[1].effective = data[1].permitted;
    data[0].inheritable = 0;
    data[1].inheritable = 0;
    if (syscall(SYS_capset, &hdr, data) != 0) {
        da_error_f("capset: %s", strerror(errno));
        return DA_ERR_SANDBOX;
    }
    return 0;
}

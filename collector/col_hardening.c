/* hardening: kernel settings that narrow what a local user or a compromised
 * build step can do (ptrace, kernel pointers, the kernel log, unprivileged
 * BPF and user namespaces, sticky-directory links, module loading), read
 * from /proc/sys. The baseline they are checked against is in
 * docs/evidence.md. */
#include "collector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"

struct col_sysctl {
    const char *name; /* sysctl(8) name, the evidence key */
    const char *path;
};

static const struct col_sysctl col_sysctls[] = {
    {"kernel.yama.ptrace_scope", "/proc/sys/kernel/yama/ptrace_scope"},
    {"kernel.kptr_restrict", "/proc/sys/kernel/kptr_restrict"},
    {"kernel.dmesg_restrict", "/proc/sys/kernel/dmesg_restrict"},
    {"kernel.unprivileged_bpf_disabled", "/proc/sys/kernel/unprivileged_bpf_disabled"},
    {"kernel.unprivileged_userns_clone", "/proc/sys/kernel/unprivileged_userns_clone"},
    {"kernel.apparmor_restrict_unprivileged_userns",
     "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"},
    {"user.max_user_namespaces", "/proc/sys/user/max_user_namespaces"},
    {"fs.protected_symlinks", "/proc/sys/fs/protected_symlinks"},
    {"fs.protected_hardlinks", "/proc/sys/fs/protected_hardlinks"},
    {"kernel.modules_disabled", "/proc/sys/kernel/modules_disabled"},
};
#define COL_N_SYSCTL (sizeof(col_sysctls) / sizeof(col_sysctls[0]))

enum { COL_USERNS_CLONE = 4, COL_USERNS_APPARMOR = 5, COL_USERNS_MAX = 6 };

/* One value: 0 with *v, or a DA_ERR_* (DA_ERR_COLLECT_PARSE when not a number). */
static int col_sysctl_read(const struct col_ctx *ctx, const char *path, long *v)
{
    char line[64], *end;
    int e = col_read_line(ctx, path, line, sizeof(line));

    if (e < 0)
        return e;
    errno = 0;
    *v = strtol(line, &end, 10);
    if (line[0] == '\0' || *end != '\0' || errno != 0)
        return DA_ERR_COLLECT_PARSE;
    return 0;
}

/* Unprivileged users may create user namespaces unless one of the switches
 * the kernel has says no: Debian's unprivileged_userns_clone = 0,
 * max_user_namespaces = 0, or Ubuntu's AppArmor restriction = 1. A switch
 * the kernel does not have (ENOENT on a live root) does not restrict. */
static int col_userns_allowed(cJSON *area, const long v[], const int e[])
{
    static const int idx[] = {COL_USERNS_CLONE, COL_USERNS_APPARMOR, COL_USERNS_MAX};
    static const long deny[] = {0, 1, 0};
    int first_err = 0;
    size_t i;

    for (i = 0; i < 3; i++) {
        if (e[idx[i]] == 0 && v[idx[i]] == deny[i])
            return col_add_bool(area, "unprivileged_userns_allowed", 0);
    }
    for (i = 0; i < 3; i++) {
        if (e[idx[i]] != 0 && (e[idx[i]] != DA_ERR_NOT_FOUND || idx[i] == COL_USERNS_MAX)) {
            first_err = e[idx[i]];
            return col_add_unknown_err(area, "unprivileged_userns_allowed", first_err,
                                       col_sysctls[idx[i]].path);
        }
    }
    return col_add_bool(area, "unprivileged_userns_allowed", 1);
}

static int col_hardening_collect(const struct col_ctx *ctx, cJSON *area)
{
    long v[COL_N_SYSCTL];
    int e[COL_N_SYSCTL];
    struct stat st;
    cJSON *o = NULL;
    int r, live_proc;
    size_t i;

    /* an image without a mounted /proc describes no running kernel */
    live_proc = ctx->live || col_stat(ctx, "/proc/sys/kernel", &st) == 0;
    o = cJSON_CreateObject();
    COL_TRY(col_add_item(area, "sysctl", o));
    for (i = 0; i < COL_N_SYSCTL; i++) {
        e[i] =
            live_proc ? col_sysctl_read(ctx, col_sysctls[i].path, &v[i]) : DA_ERR_COLLECT_NOT_LIVE;
        if (e[i] == 0)
            COL_TRY(col_add_num(o, col_sysctls[i].name, (double)v[i]));
        else if (!live_proc)
            COL_TRY(col_add_unknown(o, col_sysctls[i].name, COL_R_NOT_LIVE,
                                    "no /proc/sys below the root"));
        else
            COL_TRY(col_add_unknown_err(o, col_sysctls[i].name, e[i], col_sysctls[i].path));
    }
    if (!live_proc)
        r = col_add_unknown(area, "unprivileged_userns_allowed", COL_R_NOT_LIVE,
                            "no /proc/sys below the root");
    else
        r = col_userns_allowed(area, v, e);
out:
    return r;
}

const struct da_collector col_hardening = {"hardening", col_hardening_collect};

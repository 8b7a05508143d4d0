#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

int agent_user_resolve(const char *name, struct agent_user *out, char *why, size_t why_size)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    int e;

    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", name != NULL ? name : "");
    if (geteuid() != 0) {
        out->uid = geteuid();
        out->gid = getegid();
        return 0;
    }
    e = getpwnam_r(out->name, &pw, buf, sizeof(buf), &res);
    if (e != 0 || res == NULL) {
        snprintf(why, why_size, "user %s: %s", out->name,
                 e != 0 ? strerror(e) : "no such user (create it, or set user in agent.conf)");
        return DA_ERR_CONFIG;
    }
    if (pw.pw_uid == 0 || pw.pw_gid == 0) {
        snprintf(why, why_size, "user %s: uid or gid 0; the agent needs an unprivileged user",
                 out->name);
        return DA_ERR_CONFIG;
    }
    out->switch_ids = 1;
    out->uid = pw.pw_uid;
    out->gid = pw.pw_gid;
    return 0;
}

int agent_user_switch(const struct agent_user *u, uint64_t keep)
{
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    pid_t parent = getppid();
    int pdeath = 0;

    if (!u->switch_ids)
        return 0;
    /* The kernel clears the parent-death signal when the ids change: a
     * child must still die with the uploader, so it is set again below. */
    if (prctl(PR_GET_PDEATHSIG, &pdeath, 0, 0, 0) != 0)
        pdeath = 0;
    if (keep != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
        da_error_f("PR_SET_KEEPCAPS: %s", strerror(errno));
        return DA_ERR_PRIVDROP;
    }
    if (setgroups(1, &u->gid) != 0 || setresgid(u->gid, u->gid, u->gid) != 0 ||
        setresuid(u->uid, u->uid, u->uid) != 0) {
        da_error_f("switch to user %s (%u:%u): %s", u->name, (unsigned)u->uid, (unsigned)u->gid,
                   strerror(errno));
        return DA_ERR_PRIVDROP;
    }
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0 || getresuid(&ru, &eu, &su) != 0 ||
        getresgid(&rg, &eg, &sg) != 0 || ru != u->uid || eu != u->uid || su != u->uid ||
        rg != u->gid || eg != u->gid || sg != u->gid || setuid(0) == 0) {
        da_error_f("switch to user %s: the ids did not all change", u->name);
        return DA_ERR_PRIVDROP;
    }
    if (pdeath != 0 && (prctl(PR_SET_PDEATHSIG, pdeath, 0, 0, 0) != 0 || getppid() != parent)) {
        da_error_f("the parent-death signal could not be kept, or the parent is gone");
        return DA_ERR_PRIVDROP;
    }
    return 0;
}

static int owner_ok(const struct stat *st, const struct agent_user *u)
{
    return st->st_uid == 0 || st->st_uid == u->uid;
}

/* Every directory above path (path itself excluded): owner root or u, not
 * writable by group or others. */
static int parents_check(const char *path, const struct agent_user *u, char *why, size_t why_size)
{
    char p[PATH_MAX];
    struct stat st;
    char *slash;

    snprintf(p, sizeof(p), "%s", path);
    for (;;) {
        slash = strrchr(p, '/');
        if (slash == NULL)
            return 0;
        if (slash == p)
            slash[1] = '\0';
        else
            *slash = '\0';
        if (lstat(p, &st) != 0) {
            snprintf(why, why_size, "%s: %s", p, strerror(errno));
            return DA_ERR_IO;
        }
        if (!S_ISDIR(st.st_mode) || !owner_ok(&st, u) || (st.st_mode & 022) != 0) {
            snprintf(why, why_size,
                     "%s (above %s) is owned by uid %u with mode %04o: every directory above "
                     "the agent's directories must be owned by root (or %s) and not writable "
                     "by group or others",
                     p, path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), u->name);
            return DA_ERR_UNSAFE_PATH;
        }
        if (strcmp(p, "/") == 0)
            return 0;
    }
}

static int make_dir(const char *path, const struct agent_user *u, char *why, size_t why_size)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        snprintf(why, why_size, "%s: cannot be created: %s", path, strerror(errno));
        return DA_ERR_IO;
    }
    if (u->switch_ids && chown(path, u->uid, u->gid) != 0) {
        snprintf(why, why_size, "%s: cannot be given to %s: %s", path, u->name, strerror(errno));
        return DA_ERR_IO;
    }
    return 0;
}

int agent_dir_check(const char *path, const struct agent_user *u, int create, char *why,
                    size_t why_size)
{
    char real[PATH_MAX];
    struct stat st;
    int r;

    why[0] = '\0';
    if (path[0] != '/') {
        snprintf(why, why_size, "%s: not an absolute path", path);
        return DA_ERR_UNSAFE_PATH;
    }
    if (lstat(path, &st) != 0) {
        if (errno != ENOENT || !create) {
            snprintf(why, why_size, "%s: %s", path, strerror(errno));
            return errno == ENOENT ? DA_ERR_NOT_FOUND : DA_ERR_IO;
        }
        r = parents_check(path, u, why, why_size);
        if (r == 0)
            r = make_dir(path, u, why, why_size);
        if (r != 0)
            return r;
        if (lstat(path, &st) != 0) {
            snprintf(why, why_size, "%s: %s", path, strerror(errno));
            return DA_ERR_IO;
        }
    }
    if (realpath(path, real) == NULL || strcmp(real, path) != 0) {
        snprintf(why, why_size, "%s: must be named without symbolic links, \".\" or \"..\"", path);
        return DA_ERR_UNSAFE_PATH;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != u->uid || (st.st_mode & 077) != 0) {
        snprintf(why, why_size,
                 "%s is owned by uid %u with mode %04o: it must be a directory owned by %s "
                 "(uid %u) with mode 0700",
                 path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), u->name,
                 (unsigned)u->uid);
        return DA_ERR_UNSAFE_PATH;
    }
    return parents_check(path, u, why, why_size);
}

int agent_file_check(const char *path, const struct agent_user *u, char *why, size_t why_size)
{
    struct stat st;

    why[0] = '\0';
    if (stat(path, &st) != 0) {
        snprintf(why, why_size, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? DA_ERR_NOT_FOUND : DA_ERR_IO;
    }
    if (!owner_ok(&st, u) || (st.st_mode & 022) != 0) {
        snprintf(why, why_size,
                 "%s is owned by uid %u with mode %04o: it must be owned by root (or %s) and "
                 "not writable by group or others",
                 path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), u->name);
        return DA_ERR_UNSAFE_PATH;
    }
    return 0;
}

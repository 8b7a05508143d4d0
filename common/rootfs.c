#include "rootfs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"
#include "err.h"

#define RS_MAX_LINKS 40 /* symlinks followed in one resolution, as the kernel */
#define RS_RETRIES   8  /* openat2 EAGAIN retries (a rename raced with "..") */

struct da_rootfs {
    int rootfd; /* O_PATH | O_DIRECTORY */
    int openat2_ok;
    int magiclinks;
    char *root;
};

struct da_rootfs_dir {
    DIR *dir;
};

static __thread int rs_errno;
static __thread char rs_errpath[PATH_MAX];
static da_rootfs_trace_fn rs_trace;
static void *rs_trace_arg;

void da_rootfs_set_trace(da_rootfs_trace_fn fn, void *arg)
{
    rs_trace = fn;
    rs_trace_arg = arg;
}

/* Every public call starts here: the saved error belongs to the last call
 * that failed, and a call that succeeds clears it. */
static void rs_note(const char *op, const char *path)
{
    rs_errno = 0;
    rs_errpath[0] = '\0';
    if (rs_trace != NULL)
        rs_trace(rs_trace_arg, op, path);
}

int da_rootfs_errno(void)
{
    return rs_errno;
}

const char *da_rootfs_err_path(void)
{
    return rs_errpath;
}

/* Record an error (errno e at path) and give its code. */
static int rs_fail(int code, int e, const char *path)
{
    rs_errno = e;
    snprintf(rs_errpath, sizeof(rs_errpath), "%s", path != NULL ? path : "");
    errno = e;
    return code;
}

static int rs_errno_code(int e)
{
    switch (e) {
    case ENOENT:
        return DA_ERR_NOT_FOUND;
    case ENOTDIR: /* a file where the path needs a directory: not absence */
        return DA_ERR_NOT_REGULAR;
    case EACCES:
    case EPERM:
        return DA_ERR_PERMISSION;
    case ENOMEM:
        return DA_ERR_NOMEM;
    case EFBIG:
        return DA_ERR_TOO_LARGE;
    default:
        return DA_ERR_SYSTEM;
    }
}

static int rs_sys(int e, const char *path)
{
    return rs_fail(rs_errno_code(e), e, path);
}

int da_rootfs_sys_error(int errnum, const char *path)
{
    return rs_sys(errnum < 0 ? -errnum : errnum, path);
}

int da_rootfs_open(const char *root, unsigned flags, struct da_rootfs **out)
{
    struct da_rootfs *fs;
    const char *r = (root == NULL || strcmp(root, "/") == 0) ? "" : root;

    *out = NULL;
    if ((flags & DA_ROOTFS_MAGICLINKS) && r[0] != '\0')
        return rs_fail(DA_ERR_INVALID_ARG, EINVAL, r);
    fs = calloc(1, sizeof(*fs));
    if (fs == NULL || (fs->root = strdup(r)) == NULL) {
        free(fs);
        return rs_fail(DA_ERR_NOMEM, ENOMEM, r);
    }
    fs->rootfd = open(r[0] != '\0' ? r : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fs->rootfd < 0) {
        int e = errno;

        free(fs->root);
        free(fs);
        return rs_sys(e, "/");
    }
    fs->openat2_ok = (flags & DA_ROOTFS_USERSPACE) ? 0 : 1;
    fs->magiclinks = (flags & DA_ROOTFS_MAGICLINKS) ? 1 : 0;
    *out = fs;
    return 0;
}

void da_rootfs_free(struct da_rootfs *fs)
{
    if (fs == NULL)
        return;
    close(fs->rootfd);
    free(fs->root);
    free(fs);
}

const char *da_rootfs_root(const struct da_rootfs *fs)
{
    return fs->root;
}

int da_rootfs_uses_openat2(const struct da_rootfs *fs)
{
    return fs->openat2_ok;
}

/* ---- the user-space resolver ----
 *
 * The resolved part is kept as a list of names below the root (canon) and
 * an O_PATH descriptor of the directory it names (cur). Each component is
 * opened with O_PATH | O_NOFOLLOW from cur: a symlink's target is spliced
 * in front of the rest (an absolute target restarts at the root), ".." drops
 * the last name and reopens the parent from the root, so nothing above the
 * root is ever reached. A component replaced during the walk only makes the
 * walk fail (O_NOFOLLOW), never leave the root. */

struct rs_walk {
    int cur;              /* O_PATH directory of canon */
    char canon[PATH_MAX]; /* "" for the root, else "/a/b" */
    size_t clen;
};

static int rs_reopen(const struct da_rootfs *fs, struct rs_walk *w)
{
    char tmp[PATH_MAX];
    char *save = NULL, *name;
    int fd = openat(fs->rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);

    memcpy(tmp, w->canon, w->clen + 1);
    for (name = strtok_r(tmp, "/", &save); fd >= 0 && name != NULL;
         name = strtok_r(NULL, "/", &save)) {
        int next = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        close(fd);
        fd = next;
    }
    if (fd < 0)
        return -errno;
    if (w->cur >= 0)
        close(w->cur);
    w->cur = fd;
    return 0;
}

static int rs_push(struct rs_walk *w, const char *name, size_t n)
{
    if (w->clen + 1 + n >= sizeof(w->canon))
        return -ENAMETOOLONG;
    w->canon[w->clen++] = '/';
    memcpy(w->canon + w->clen, name, n);
    w->clen += n;
    w->canon[w->clen] = '\0';
    return 0;
}

/* Resolve path. On success *dirfd is an O_PATH descriptor of the directory
 * holding the last component, last its name ("." for the root itself) and
 * w->canon the whole canonical path. follow: resolve a symlink in the last
 * component too. Returns 0 or -errno. */
static int rs_resolve(const struct da_rootfs *fs, const char *path, int follow, int *dirfd,
                      char *last, size_t lastn, struct rs_walk *w)
{
    char rest[2 * PATH_MAX], link[PATH_MAX];
    size_t rlen = strlen(path);
    int links = 0, e;

    *dirfd = -1;
    w->cur = -1;
    w->canon[0] = '\0';
    w->clen = 0;
    if (rlen >= sizeof(rest))
        return -ENAMETOOLONG;
    memcpy(rest, path, rlen + 1);
    if ((e = rs_reopen(fs, w)) != 0)
        return e;
    for (;;) {
        char *p = rest, *end;
        size_t n;
        int is_last, fd;
        struct stat st;
        ssize_t tl;

        while (*p == '/')
            p++;
        if (*p == '\0') {
            /* the directory itself */
            *dirfd = w->cur;
            snprintf(last, lastn, ".");
            return 0;
        }
        end = strchr(p, '/');
        n = end != NULL ? (size_t)(end - p) : strlen(p);
        is_last = end == NULL || end[strspn(end, "/")] == '\0';
        if (n >= NAME_MAX + 1) {
            e = -ENAMETOOLONG;
            goto fail;
        }
        if (n == 1 && p[0] == '.') {
            memmove(rest, p + n, strlen(p + n) + 1);
            continue;
        }
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            while (w->clen > 0 && w->canon[w->clen - 1] != '/')
                w->clen--;
            if (w->clen > 0)
                w->clen--;
            w->canon[w->clen] = '\0';
            memmove(rest, p + n, strlen(p + n) + 1);
            if ((e = rs_reopen(fs, w)) != 0)
                goto fail;
            continue;
        }
        if (is_last && !follow && end == NULL) {
            if (n >= lastn) {
                e = -ENAMETOOLONG;
                goto fail;
            }
            memcpy(last, p, n);
            last[n] = '\0';
            if ((e = rs_push(w, p, n)) != 0)
                goto fail;
            *dirfd = w->cur;
            return 0;
        }
        {
            char name[NAME_MAX + 1];

            memcpy(name, p, n);
            name[n] = '\0';
            fd = openat(w->cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) {
                e = -errno;
                goto fail;
            }
            if (fstat(fd, &st) != 0) {
                e = -errno;
                close(fd);
                goto fail;
            }
            if (S_ISLNK(st.st_mode)) {
                size_t restlen = strlen(p + n);

                tl = readlinkat(fd, "", link, sizeof(link));
                close(fd);
                if (tl < 0) {
                    e = -errno;
                    goto fail;
                }
                if (++links > RS_MAX_LINKS) {
                    e = -ELOOP;
                    goto fail;
                }
                if ((size_t)tl >= sizeof(link) || (size_t)tl + restlen + 1 >= sizeof(rest)) {
                    e = -ENAMETOOLONG;
                    goto fail;
                }
                memmove(rest + tl, p + n, restlen + 1);
                memcpy(rest, link, (size_t)tl);
                if (link[0] == '/') {
                    w->clen = 0;
                    w->canon[0] = '\0';
                    if ((e = rs_reopen(fs, w)) != 0)
                        goto fail;
                }
                continue;
            }
            if (is_last) {
                close(fd);
                if (end != NULL && !S_ISDIR(st.st_mode)) {
                    e = -ENOTDIR;
                    goto fail;
                }
                snprintf(last, lastn, "%s", name);
                if ((e = rs_push(w, p, n)) != 0)
                    goto fail;
                *dirfd = w->cur;
                return 0;
            }
            if (!S_ISDIR(st.st_mode)) {
                close(fd);
                e = -ENOTDIR;
                goto fail;
            }
            if ((e = rs_push(w, p, n)) != 0) {
                close(fd);
                goto fail;
            }
            close(w->cur);
            w->cur = fd;
            memmove(rest, p + n, strlen(p + n) + 1);
        }
    }
fail:
    if (w->cur >= 0)
        close(w->cur);
    w->cur = -1;
    return e;
}

/* Open path inside the root with flags (O_PATH or O_RDONLY...), following
 * the last symlink unless nofollow. Returns the descriptor or -errno. */
static int rs_openat(struct da_rootfs *fs, const char *path, int flags, int nofollow)
{
    struct rs_walk w;
    char last[NAME_MAX + 1];
    int dirfd, fd, e, i;

    /* openat2 refuses any flag O_PATH ignores (O_NOCTTY, O_NONBLOCK) */
    flags |= O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOCTTY);
    if (fs->openat2_ok) {
        struct open_how how;

        memset(&how, 0, sizeof(how));
        how.flags = (unsigned long long)(flags | (nofollow ? O_NOFOLLOW : 0));
        /* the kernel follows no magic link under RESOLVE_IN_ROOT; a handle
         * on "/" that must follow them resolves as the host does */
        how.resolve = fs->magiclinks ? 0 : RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
        for (i = 0; i < RS_RETRIES; i++) {
            fd = (int)syscall(SYS_openat2, fs->rootfd, path, &how, sizeof(how));
            if (fd >= 0)
                return fd;
            if (errno != EAGAIN && errno != EINTR)
                break;
        }
        if (errno != ENOSYS)
            return -errno;
        fs->openat2_ok = 0; /* old kernel or a filter that refuses it */
    }
    e = rs_resolve(fs, path, !nofollow, &dirfd, last, sizeof(last), &w);
    if (e != 0)
        return e;
    /* the last component is no symlink now (or nofollow asked for it) */
    fd = openat(dirfd, last, flags | O_NOFOLLOW);
    e = fd < 0 ? -errno : 0;
    close(dirfd);
    return fd >= 0 ? fd : e;
}

static int rs_fd_regular(int fd, struct stat *st, const char *path)
{
    if (fstat(fd, st) != 0)
        return rs_sys(errno, path);
    if (!S_ISREG(st->st_mode))
        return rs_fail(DA_ERR_NOT_REGULAR, S_ISDIR(st->st_mode) ? EISDIR : ENXIO, path);
    return 0;
}

int da_rootfs_open_file(struct da_rootfs *fs, const char *path, int *fd, struct stat *st)
{
    struct stat s1, s2;
    int pfd, r;

    *fd = -1;
    rs_note("open", path);
    /* O_PATH first: opening a device or FIFO for reading may have effects
     * of its own (a watchdog, a tape), so only regular files get a real
     * open, and the second fstat checks it is still the same file. */
    pfd = rs_openat(fs, path, O_PATH, 0);
    if (pfd < 0)
        return rs_sys(-pfd, path);
    r = rs_fd_regular(pfd, &s1, path);
    close(pfd);
    if (r != 0)
        return r;
    pfd = rs_openat(fs, path, O_RDONLY | O_NONBLOCK, 0);
    if (pfd < 0)
        return rs_sys(-pfd, path);
    r = rs_fd_regular(pfd, &s2, path);
    if (r == 0 && (s1.st_dev != s2.st_dev || s1.st_ino != s2.st_ino))
        r = rs_fail(DA_ERR_SYSTEM, ESTALE, path);
    if (r != 0) {
        close(pfd);
        return r;
    }
    if (st != NULL)
        *st = s2;
    *fd = pfd;
    return 0;
}

int da_rootfs_open_dirfd(struct da_rootfs *fs, const char *path, int *fd)
{
    struct stat st;
    int pfd;

    *fd = -1;
    rs_note("opendir", path);
    pfd = rs_openat(fs, path, O_PATH, 0);
    if (pfd < 0)
        return rs_sys(-pfd, path);
    if (fstat(pfd, &st) != 0) {
        int e = errno;

        close(pfd);
        return rs_sys(e, path);
    }
    if (!S_ISDIR(st.st_mode)) {
        close(pfd);
        return rs_fail(DA_ERR_NOT_REGULAR, ENOTDIR, path);
    }
    close(pfd);
    pfd = rs_openat(fs, path, O_RDONLY | O_DIRECTORY | O_NONBLOCK, 0);
    if (pfd < 0)
        return rs_sys(-pfd, path);
    *fd = pfd;
    return 0;
}

int da_rootfs_read(struct da_rootfs *fs, const char *path, struct da_buf *b)
{
    unsigned char chunk[16384];
    struct stat st;
    int fd, r;

    da_buf_reset(b);
    r = da_rootfs_open_file(fs, path, &fd, &st);
    if (r != 0)
        return r;
    rs_note("read", path);
    if ((size_t)st.st_size > da_buf_cap(b)) {
        close(fd);
        return rs_fail(DA_ERR_TOO_LARGE, EFBIG, path);
    }
    for (;;) {
        ssize_t got = read(fd, chunk, sizeof(chunk));

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            r = rs_sys(errno, path);
            break;
        }
        if (got == 0)
            break;
        if (da_buf_append(b, chunk, (size_t)got) != 0) {
            r = rs_fail(DA_ERR_TOO_LARGE, EFBIG, path);
            break;
        }
    }
    close(fd);
    if (r != 0)
        da_buf_reset(b);
    return r;
}

int da_rootfs_read_line(struct da_rootfs *fs, const char *path, char *out, size_t n)
{
    struct da_buf b;
    const char *s;
    size_t len;
    int r;

    da_buf_init(&b, DA_MAX_SMALL_SYSFILE);
    if (n > 0)
        out[0] = '\0';
    r = da_rootfs_read(fs, path, &b);
    if (r == 0) {
        s = da_buf_str(&b);
        len = strcspn(s, "\n");
        while (len > 0 && isspace((unsigned char)s[len - 1]))
            len--;
        if (len >= n) {
            r = rs_fail(DA_ERR_TOO_LARGE, EFBIG, path);
        } else {
            memcpy(out, s, len);
            out[len] = '\0';
        }
    }
    da_buf_free(&b);
    return r;
}

static int rs_stat(struct da_rootfs *fs, const char *op, const char *path, int nofollow,
                   struct stat *st)
{
    int fd;

    rs_note(op, path);
    fd = rs_openat(fs, path, O_PATH, nofollow);
    if (fd < 0)
        return rs_sys(-fd, path);
    if (fstat(fd, st) != 0) {
        int e = errno;

        close(fd);
        return rs_sys(e, path);
    }
    close(fd);
    return 0;
}

int da_rootfs_stat(struct da_rootfs *fs, const char *path, struct stat *st)
{
    return rs_stat(fs, "stat", path, 0, st);
}

int da_rootfs_lstat(struct da_rootfs *fs, const char *path, struct stat *st)
{
    return rs_stat(fs, "lstat", path, 1, st);
}

int da_rootfs_readlink(struct da_rootfs *fs, const char *path, char *out, size_t n)
{
    ssize_t len;
    int fd, e;

    rs_note("readlink", path);
    if (n == 0)
        return rs_fail(DA_ERR_TOO_LARGE, ENAMETOOLONG, path);
    fd = rs_openat(fs, path, O_PATH, 1);
    if (fd < 0)
        return rs_sys(-fd, path);
    len = readlinkat(fd, "", out, n);
    e = errno;
    close(fd);
    if (len < 0)
        return e == EINVAL || e == ENOENT ? rs_fail(DA_ERR_NOT_REGULAR, EINVAL, path)
                                          : rs_sys(e, path);
    if ((size_t)len >= n)
        return rs_fail(DA_ERR_TOO_LARGE, ENAMETOOLONG, path);
    out[len] = '\0';
    return 0;
}

int da_rootfs_realpath(struct da_rootfs *fs, const char *path, char *out, size_t n)
{
    struct rs_walk w;
    char last[NAME_MAX + 1];
    struct stat st;
    int dirfd, e;

    rs_note("realpath", path);
    e = rs_resolve(fs, path, 1, &dirfd, last, sizeof(last), &w);
    if (e != 0)
        return rs_sys(-e, path);
    if (strcmp(last, ".") != 0 && fstatat(dirfd, last, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        e = errno;
        close(dirfd);
        return rs_sys(e, path);
    }
    close(dirfd);
    if (snprintf(out, n, "%s", w.clen > 0 ? w.canon : "/") >= (int)n)
        return rs_fail(DA_ERR_TOO_LARGE, ENAMETOOLONG, path);
    return 0;
}

int da_rootfs_opendir(struct da_rootfs *fs, const char *path, struct da_rootfs_dir **out)
{
    struct da_rootfs_dir *d;
    int fd, r;

    *out = NULL;
    r = da_rootfs_open_dirfd(fs, path, &fd);
    if (r != 0)
        return r;
    d = calloc(1, sizeof(*d));
    if (d == NULL || (d->dir = fdopendir(fd)) == NULL) {
        int e = d == NULL ? ENOMEM : errno;

        free(d);
        close(fd);
        return rs_sys(e, path);
    }
    *out = d;
    return 0;
}

int da_rootfs_readdir(struct da_rootfs_dir *d, struct da_rootfs_dirent *ent)
{
    struct dirent *de;

    for (;;) {
        errno = 0;
        de = readdir(d->dir);
        if (de == NULL)
            return errno != 0 ? rs_sys(errno, "") : 0;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        ent->name = de->d_name;
        ent->type = de->d_type;
        return 1;
    }
}

void da_rootfs_closedir(struct da_rootfs_dir *d)
{
    if (d == NULL)
        return;
    closedir(d->dir);
    free(d);
}

/* ---- glob ---- */

struct rs_glob {
    struct da_rootfs *fs;
    struct da_rootfs_glob *g;
    size_t alloc;
};

static int rs_glob_add(struct rs_glob *s, const char *path)
{
    char *copy;

    if (s->g->n >= DA_MAX_GLOB_MATCHES)
        return rs_fail(DA_ERR_TOO_LARGE, E2BIG, path);
    if (s->g->n == s->alloc) {
        size_t na = s->alloc ? s->alloc * 2 : 16;
        char **np = realloc(s->g->paths, na * sizeof(*np));

        if (np == NULL)
            return rs_fail(DA_ERR_NOMEM, ENOMEM, path);
        s->g->paths = np;
        s->alloc = na;
    }
    if ((copy = strdup(path)) == NULL)
        return rs_fail(DA_ERR_NOMEM, ENOMEM, path);
    s->g->paths[s->g->n++] = copy;
    return 0;
}

static int rs_has_magic(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] == '*' || s[i] == '?' || s[i] == '[' || s[i] == '\\')
            return 1;
    return 0;
}

/* Match the rest of the pattern (pat, no leading '/') below dir ("" is
 * the root). */
static int rs_glob_at(struct rs_glob *s, const char *dir, const char *pat)
{
    char path[PATH_MAX], comp[NAME_MAX + 1];
    const char *end;
    size_t n;
    struct stat st;
    struct da_rootfs_dir *d = NULL;
    struct da_rootfs_dirent ent;
    int r;

    while (*pat == '/')
        pat++;
    if (*pat == '\0') {
        /* the whole pattern matched a name: it must exist */
        r = da_rootfs_lstat(s->fs, dir[0] != '\0' ? dir : "/", &st);
        if (r == DA_ERR_NOT_FOUND)
            return 0;
        return r != 0 ? r : rs_glob_add(s, dir[0] != '\0' ? dir : "/");
    }
    end = strchr(pat, '/');
    n = end != NULL ? (size_t)(end - pat) : strlen(pat);
    if (n > NAME_MAX)
        return rs_fail(DA_ERR_SYSTEM, ENAMETOOLONG, pat);
    memcpy(comp, pat, n);
    comp[n] = '\0';
    if (!rs_has_magic(comp, n)) {
        if (snprintf(path, sizeof(path), "%s/%s", dir, comp) >= (int)sizeof(path))
            return rs_fail(DA_ERR_SYSTEM, ENAMETOOLONG, dir);
        return rs_glob_at(s, path, pat + n);
    }
    r = da_rootfs_opendir(s->fs, dir[0] != '\0' ? dir : "/", &d);
    if (r == DA_ERR_NOT_FOUND)
        return 0; /* nothing below a missing directory */
    if (r == DA_ERR_NOT_REGULAR && da_rootfs_lstat(s->fs, dir[0] != '\0' ? dir : "/", &st) == 0 &&
        (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
        return 0; /* nor below a file, as glob(3) ignores ENOTDIR; a FIFO, socket or
                   * device there is an error */
    if (r == DA_ERR_NOT_REGULAR)
        return rs_fail(DA_ERR_NOT_REGULAR, ENOTDIR, dir[0] != '\0' ? dir : "/");
    if (r != 0)
        return r;
    {
        char **names = NULL;
        size_t nn = 0, na = 0, i;

        while ((r = da_rootfs_readdir(d, &ent)) == 1) {
            if (fnmatch(comp, ent.name, FNM_PERIOD) != 0)
                continue;
            if (nn == na) {
                size_t nna = na ? na * 2 : 16;
                char **np = nna <= DA_MAX_GLOB_MATCHES ? realloc(names, nna * sizeof(*np)) : NULL;

                if (np == NULL) {
                    r = nna <= DA_MAX_GLOB_MATCHES ? rs_fail(DA_ERR_NOMEM, ENOMEM, dir)
                                                   : rs_fail(DA_ERR_TOO_LARGE, E2BIG, dir);
                    break;
                }
                names = np;
                na = nna;
            }
            if ((names[nn] = strdup(ent.name)) == NULL) {
                r = rs_fail(DA_ERR_NOMEM, ENOMEM, dir);
                break;
            }
            nn++;
        }
        if (r < 0 && da_rootfs_err_path()[0] == '\0')
            rs_fail(r, da_rootfs_errno(), dir[0] != '\0' ? dir : "/");
        da_rootfs_closedir(d);
        for (i = 0; r == 0 && i < nn; i++) {
            if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path))
                r = rs_fail(DA_ERR_SYSTEM, ENAMETOOLONG, dir);
            else if (end != NULL && end[strspn(end, "/")] != '\0') {
                /* a directory is needed below: skip what is not one */
                int sr = da_rootfs_stat(s->fs, path, &st);

                if (sr == 0 && S_ISDIR(st.st_mode))
                    r = rs_glob_at(s, path, pat + n);
                else if (sr != 0 && sr != DA_ERR_NOT_FOUND)
                    r = sr;
            } else {
                r = rs_glob_add(s, path);
            }
        }
        for (i = 0; i < nn; i++)
            free(names[i]);
        free(names);
    }
    return r;
}

static int rs_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int da_rootfs_glob(struct da_rootfs *fs, const char *pattern, struct da_rootfs_glob *g)
{
    struct rs_glob s = {fs, g, 0};
    int r;

    g->paths = NULL;
    g->n = 0;
    rs_note("glob", pattern);
    rs_errpath[0] = '\0';
    if (pattern[0] != '/')
        return rs_fail(DA_ERR_INVALID_ARG, EINVAL, pattern);
    r = rs_glob_at(&s, "", pattern);
    if (r != 0) {
        int e = rs_errno;
        char p[PATH_MAX];

        snprintf(p, sizeof(p), "%s", rs_errpath);
        da_rootfs_glob_free(g);
        return rs_fail(r, e, p);
    }
    if (g->n > 1)
        qsort(g->paths, g->n, sizeof(*g->paths), rs_cmp);
    return 0;
}

void da_rootfs_glob_free(struct da_rootfs_glob *g)
{
    size_t i;

    if (g == NULL)
        return;
    for (i = 0; i < g->n; i++)
        free(g->paths[i]);
    free(g->paths);
    g->paths = NULL;
    g->n = 0;
}

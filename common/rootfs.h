/* Reading a file tree as if it were chrooted: rooted, non-blocking, bounded.
 *
 * A struct da_rootfs is opened on a root directory. Every path given to it
 * is taken inside that root the way a chroot would take it: absolute
 * symlinks and ".." never leave the root, and /proc "magic" links (fd/N,
 * exe, cwd, root) are refused. The kernel does the resolution with openat2
 * (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) where it has it; otherwise (old
 * kernels, or a seccomp filter that answers ENOSYS) a resolver in user space
 * walks one component at a time with O_PATH | O_NOFOLLOW.
 *
 * Files are opened with O_NONBLOCK and checked with fstat before a byte is
 * read: a FIFO, socket or device in place of a file is DA_ERR_NOT_REGULAR,
 * never a hang and never a side effect of opening a device. Reads are
 * bounded by the cap of the caller's buffer; a file over its cap is
 * DA_ERR_TOO_LARGE and the buffer is left empty (never a partial read).
 *
 * Errors (every function returns 0 or a negative DA_ERR_*):
 *   DA_ERR_NOT_FOUND     ENOENT
 *   DA_ERR_PERMISSION    EACCES, EPERM
 *   DA_ERR_NOT_REGULAR   not a regular file, ENOTDIR (or, for a directory call, not
 *                        a directory)
 *   DA_ERR_TOO_LARGE     over the caller's cap
 *   DA_ERR_NOMEM
 *   DA_ERR_SYSTEM        any other errno (EIO, ELOOP, ENAMETOOLONG, ...)
 * The errno behind every error is kept beside the code, as OpenSSH keeps it
 * beside SSH_ERR_SYSTEM_ERROR: da_rootfs_errno() gives it until the next
 * call of this thread (EFBIG for a cap, ENXIO/EISDIR/ENOTDIR for a file of
 * the wrong type; 0 after a call that succeeded), and errno itself is set
 * to it on return.
 */
#ifndef DA_ROOTFS_H
#define DA_ROOTFS_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "buf.h"

struct da_rootfs;
struct da_rootfs_dir;

/* Flags of da_rootfs_open. */
#define DA_ROOTFS_USERSPACE  1u /* never use openat2: always the user-space resolver */
#define DA_ROOTFS_MAGICLINKS 2u /* root "/" only: follow /proc magic links (/proc/self/exe) */

/* Open the tree at root ("", NULL and "/" mean the running machine's "/").
 * root itself is resolved by the host (it is the caller's choice). */
int da_rootfs_open(const char *root, unsigned flags, struct da_rootfs **out);
void da_rootfs_free(struct da_rootfs *fs);
/* The root as given ("" for "/"), for messages. */
const char *da_rootfs_root(const struct da_rootfs *fs);
/* 1 when paths are resolved by openat2, 0 when by the user-space resolver. */
int da_rootfs_uses_openat2(const struct da_rootfs *fs);

/* The errno behind the last error this thread's calls returned. */
int da_rootfs_errno(void);
/* The path (inside the root) of the last error this thread's calls
 * returned; "" when none. For searches (glob, directory walks) this names
 * the directory or file that failed, not the pattern. */
const char *da_rootfs_err_path(void);

/* Record errnum (positive) at path as this thread's last error and give
 * its DA_ERR_* by the table above: for the few system calls made next to
 * the layer (mmap of a file it opened, writes to the state directory). */
int da_rootfs_sys_error(int errnum, const char *path);

/* A regular file opened for reading (O_RDONLY | O_NONBLOCK | O_CLOEXEC),
 * following symlinks inside the root; st is filled when not NULL. The
 * caller closes *fd. */
int da_rootfs_open_file(struct da_rootfs *fs, const char *path, int *fd, struct stat *st);
/* A directory opened O_RDONLY | O_DIRECTORY for fd-based calls (ioctl). */
int da_rootfs_open_dirfd(struct da_rootfs *fs, const char *path, int *fd);

/* Read the whole regular file into b, bounded by b's cap (initialised by
 * the caller with a named cap from caps.h). Works for procfs and sysfs
 * files, whose size is 0. On any error b is left empty. */
int da_rootfs_read(struct da_rootfs *fs, const char *path, struct da_buf *b);
/* The first line (trailing whitespace removed) into out; DA_ERR_TOO_LARGE
 * when the file is over DA_MAX_SMALL_SYSFILE or the line does not fit. */
int da_rootfs_read_line(struct da_rootfs *fs, const char *path, char *out, size_t n);

/* stat (following symlinks inside the root) and lstat (not following the
 * last component). */
int da_rootfs_stat(struct da_rootfs *fs, const char *path, struct stat *st);
int da_rootfs_lstat(struct da_rootfs *fs, const char *path, struct stat *st);
/* The target of the symlink path, NUL-terminated; DA_ERR_TOO_LARGE when it
 * does not fit, DA_ERR_NOT_REGULAR (EINVAL) when path is not a symlink. */
int da_rootfs_readlink(struct da_rootfs *fs, const char *path, char *out, size_t n);
/* The canonical absolute path inside the root ("/" for the root itself),
 * every symlink resolved inside the root. The last component must exist. */
int da_rootfs_realpath(struct da_rootfs *fs, const char *path, char *out, size_t n);

/* Directory iteration. Entries "." and ".." are skipped. */
struct da_rootfs_dirent {
    const char *name;   /* valid until the next readdir or closedir */
    unsigned char type; /* DT_* as the file system reports it (may be DT_UNKNOWN) */
};
int da_rootfs_opendir(struct da_rootfs *fs, const char *path, struct da_rootfs_dir **out);
/* 1 and *ent for an entry, 0 at the end, or an error (EIO from getdents is
 * an error, never a short listing). */
int da_rootfs_readdir(struct da_rootfs_dir *d, struct da_rootfs_dirent *ent);
void da_rootfs_closedir(struct da_rootfs_dir *d);

/* Shell glob of an absolute pattern inside the root (fnmatch with
 * FNM_PERIOD per component, sorted), with GLOB_ERR semantics: a directory
 * the match has to read and cannot (permission, I/O) fails the whole
 * glob, naming it in da_rootfs_err_path(). No match is 0 with n == 0.
 * More than DA_MAX_GLOB_MATCHES matches is DA_ERR_TOO_LARGE. */
struct da_rootfs_glob {
    char **paths;
    size_t n;
};
int da_rootfs_glob(struct da_rootfs *fs, const char *pattern, struct da_rootfs_glob *g);
void da_rootfs_glob_free(struct da_rootfs_glob *g);

/* Debug hook: called with every path a call is given (op is "read",
 * "open", "stat", "lstat", "readlink", "realpath", "opendir", "glob") in
 * this process. NULL turns it off. For tests that list what is read. */
typedef void (*da_rootfs_trace_fn)(void *arg, const char *op, const char *path);
void da_rootfs_set_trace(da_rootfs_trace_fn fn, void *arg);

#endif

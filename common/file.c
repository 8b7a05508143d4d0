#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

int da_file_read(const char *path, size_t cap, struct da_buf *out)
{
    unsigned char chunk[8192];
    FILE *f;
    size_t n;
    int rc = 0;

    da_buf_init(out, cap);
    if (path == NULL)
        return DA_ERR_INVALID_ARG;
    f = fopen(path, "rb");
    if (f == NULL)
        return errno == ENOENT ? DA_ERR_NOT_FOUND : errno == EACCES ? DA_ERR_PERMISSION : DA_ERR_IO;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if ((rc = da_buf_append(out, chunk, n)) != 0)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = DA_ERR_IO;
    fclose(f);
    if (rc != 0)
        da_buf_reset(out);
    return rc;
}

int da_write_all(int fd, const void *data, size_t n)
{
    const unsigned char *p = data;

    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return DA_ERR_IO;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int errno_code(int e)
{
    if (e == EEXIST)
        return DA_ERR_EXISTS;
    return e == EACCES || e == EPERM ? DA_ERR_PERMISSION : DA_ERR_IO;
}

int da_file_write_at(int dfd, const char *name, const void *data, size_t len,
                     enum da_write_mode mode)
{
    char tmp[300];
    int fd, r = 0, e = 0;

    if (snprintf(tmp, sizeof(tmp), ".tmp-%s-%ld", name, (long)getpid()) >= (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return DA_ERR_INVALID_ARG;
    }
    (void)unlinkat(dfd, tmp, 0); /* left by a process of the same pid that died */
    fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return errno_code(errno);
    if (da_write_all(fd, data, len) != 0 || fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && e == 0)
        e = errno;
    if (e == 0 && mode == DA_WRITE_NEW && linkat(dfd, tmp, dfd, name, 0) != 0)
        e = errno;
    if (e == 0 && mode == DA_WRITE_REPLACE && renameat(dfd, tmp, dfd, name) != 0)
        e = errno;
    if (e != 0 || mode == DA_WRITE_NEW)
        (void)unlinkat(dfd, tmp, 0);
    if (e == 0 && fsync(dfd) != 0)
        e = errno;
    if (e != 0) {
        r = errno_code(e);
        errno = e;
    }
    return r;
}

static struct {
    char *dir;
    int fd;
} kept_dirs[DA_FILE_MAX_DIRS];
static size_t n_kept_dirs;

int da_file_dir_fd(const char *dir)
{
    size_t i;

    for (i = 0; dir != NULL && i < n_kept_dirs; i++) {
        if (strcmp(kept_dirs[i].dir, dir) == 0)
            return kept_dirs[i].fd;
    }
    return -1;
}

int da_file_dir_keep(const char *dir, int fd)
{
    int have = da_file_dir_fd(dir);
    char *copy;

    if (have >= 0)
        return have;
    if (n_kept_dirs >= DA_FILE_MAX_DIRS)
        return DA_ERR_TOO_LARGE;
    copy = strdup(dir);
    if (copy == NULL)
        return DA_ERR_NOMEM;
    if (fd < 0)
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        free(copy);
        return DA_ERR_IO;
    }
    kept_dirs[n_kept_dirs].dir = copy;
    kept_dirs[n_kept_dirs].fd = fd;
    n_kept_dirs++;
    return fd;
}

size_t da_file_dir_fds(int *out, size_t max)
{
    size_t i;

    for (i = 0; i < n_kept_dirs && i < max; i++)
        out[i] = kept_dirs[i].fd;
    return i;
}

int da_file_write(const char *dir, const char *name, const void *data, size_t len,
                  enum da_write_mode mode)
{
    int dfd = da_file_dir_fd(dir), r, e;

    if (dfd >= 0)
        return da_file_write_at(dfd, name, data, len, mode);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dfd < 0)
        return errno_code(errno);
    r = da_file_write_at(dfd, name, data, len, mode);
    e = errno;
    close(dfd);
    errno = e;
    return r;
}

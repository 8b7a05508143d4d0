/* Files in the agent's state directory: key blobs and key files, 0600. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "err.h"
#include "file.h"
#include "log.h"
#include "tpm_internal.h"

static int agent_state_path(char *path, size_t size, const char *dir, const char *name)
{
    int n = snprintf(path, size, "%s/%s", dir, name);

    if (n < 0 || (size_t)n >= size) {
        da_error_f("state path too long: %s/%s", dir, name);
        return DA_ERR_INVALID_ARG;
    }
    return 0;
}

int agent_state_prepare(const char *dir, int create)
{
    struct stat st;

    if (dir == NULL || dir[0] == '\0') {
        da_error_f("no state directory configured (--state-dir)");
        return DA_ERR_CONFIG;
    }
    if (create && da_file_dir_fd(dir) < 0 && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        da_error_f("cannot create state directory %s: %s", dir, strerror(errno));
        return errno == EACCES ? DA_ERR_PERMISSION : DA_ERR_IO;
    }
    if (stat(dir, &st) != 0 && errno == ENOENT && !create)
        return 0; /* made when the identity is created */
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        da_error_f("state directory %s is not a directory", dir);
        return DA_ERR_CONFIG;
    }
    if ((st.st_mode & 0022) != 0) {
        da_error_f("state directory %s is writable by group or others (mode %04o)", dir,
                   (unsigned)(st.st_mode & 07777));
        return DA_ERR_PERMISSION;
    }
    return 0;
}

static int agent_read_fd(int fd, const char *path, size_t size, struct da_buf *out)
{
    unsigned char chunk[4096];
    size_t got = 0;
    int rc = 0;

    while (rc == 0 && got < size) {
        size_t want = size - got < sizeof(chunk) ? size - got : sizeof(chunk);
        ssize_t n = read(fd, chunk, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            da_error_f("cannot read %s: %s", path, n < 0 ? strerror(errno) : "short read");
            rc = DA_ERR_IO;
            break;
        }
        rc = da_buf_append(out, chunk, (size_t)n);
        got += (size_t)n;
    }
    OPENSSL_cleanse(chunk, sizeof(chunk));
    if (rc != 0)
        da_buf_free(out);
    return rc;
}

int agent_state_read(const char *dir, const char *name, size_t cap, struct da_buf *out)
{
    char path[PATH_MAX];
    struct stat st;
    int fd, rc;

    da_buf_init(out, cap);
    rc = agent_state_path(path, sizeof(path), dir, name);
    if (rc != 0)
        return rc;
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return DA_ERR_NOT_FOUND;
        da_error_f("cannot open %s: %s", path, strerror(errno));
        return errno == EACCES ? DA_ERR_PERMISSION : DA_ERR_IO;
    }
    rc = DA_ERR_IO;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        da_error_f("%s is not a regular file", path);
        goto out;
    }
    if ((st.st_mode & 0077) != 0) {
        da_error_f("%s may be read by group or others (mode %04o); it must be 0600", path,
                   (unsigned)(st.st_mode & 07777));
        rc = DA_ERR_PERMISSION;
        goto out;
    }
    if ((size_t)st.st_size > cap) {
        da_error_f("%s is larger than %zu bytes", path, cap);
        rc = DA_ERR_TOO_LARGE;
        goto out;
    }
    rc = agent_read_fd(fd, path, (size_t)st.st_size, out);
out:
    close(fd);
    return rc;
}

int agent_state_write_new(const char *dir, const char *name, const void *data, size_t len)
{
    char path[PATH_MAX];
    int rc;

    /* Never replaces: two agents starting at once cannot end up with
     * different keys. */
    rc = agent_state_path(path, sizeof(path), dir, name);
    if (rc == 0)
        rc = da_file_write(dir, name, data, len, DA_WRITE_NEW);
    if (rc != 0 && rc != DA_ERR_EXISTS)
        da_error_f("cannot create %s/%s: %s", dir, name, strerror(errno));
    return rc;
}

/* Reading a whole file into a capped buffer; writing one atomically. */
#ifndef DA_FILE_H
#define DA_FILE_H

#include "buf.h"

/* Read path into out, which is initialised here with the given cap (free it
 * with da_buf_free, also after an error). DA_ERR_NOT_FOUND, DA_ERR_PERMISSION,
 * DA_ERR_IO, DA_ERR_TOO_LARGE (the file is larger than cap), DA_ERR_NOMEM. */
int da_file_read(const char *path, size_t cap, struct da_buf *out);

/* Write all n bytes (EINTR and short writes resumed). 0 or DA_ERR_IO, errno
 * kept. */
int da_write_all(int fd, const void *p, size_t n);

enum da_write_mode {
    DA_WRITE_REPLACE = 0, /* the new content replaces the file atomically */
    DA_WRITE_NEW = 1,     /* never replaces: DA_ERR_EXISTS when name exists */
};

/* Write name in the directory dfd (mode 0600, no symbolic link followed)
 * so that a reader sees the old content or the new, never a part: a
 * temporary ".tmp-NAME-PID" in the same directory, fsync, rename (or link
 * for DA_WRITE_NEW), fsync of the directory. 0, DA_ERR_EXISTS,
 * DA_ERR_PERMISSION, DA_ERR_INVALID_ARG (name too long) or DA_ERR_IO; on
 * failure errno says why and no temporary is left. */
int da_file_write_at(int dfd, const char *name, const void *data, size_t len,
                     enum da_write_mode mode);
/* The same in the directory named dir (its kept descriptor when it has
 * one, see below). */
int da_file_write(const char *dir, const char *name, const void *data, size_t len,
                  enum da_write_mode mode);

/* Directories a process writes in, opened once before a seccomp filter that
 * allows creating, renaming and removing only relative to these descriptors
 * (agent/sandbox.c). fd < 0: open dir here (O_RDONLY | O_DIRECTORY, no
 * symbolic link followed); else keep fd, which stays the caller's. Returns
 * the descriptor, or DA_ERR_IO / DA_ERR_TOO_LARGE (more than DA_FILE_MAX_DIRS). */
#define DA_FILE_MAX_DIRS 8
int da_file_dir_keep(const char *dir, int fd);
/* The kept descriptor of dir (same spelling as given to da_file_dir_keep), or -1. */
int da_file_dir_fd(const char *dir);
/* The kept descriptors; their number (at most max written). */
size_t da_file_dir_fds(int *out, size_t max);

#endif

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
/* The same in the directory named dir. */
int da_file_write(const char *dir, const char *name, const void *data, size_t len,
                  enum da_write_mode mode);

#endif

/* A small POSIX ustar writer and a strict reader, for evidence packs.
 *
 * Only regular files are written or read: names up to 100 bytes (no
 * prefix field), mode 0644, owner 0, sizes in octal. The reader refuses
 * anything else it meets (links, directories, devices, pax or GNU
 * extensions), a bad header checksum, a name that is absolute, contains
 * "..", or is not NUL-terminated within its field, a size that runs past
 * the data, a name seen twice, non-zero padding, more than
 * DA_MAX_TAR_MEMBERS members, and anything after the two zero blocks that
 * end the archive: DA_ERR_PACK_INVALID.
 */
#ifndef DA_TAR_H
#define DA_TAR_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define DA_TAR_BLOCK       512
#define DA_TAR_NAME_MAX    100
#define DA_MAX_TAR_MEMBERS 100000

/* Append one regular file to the archive in out. DA_ERR_INVALID_ARG for a
 * name that does not fit or is not relative; buffer errors as da_buf. */
int da_tar_add(struct da_buf *out, const char *name, const void *data, size_t len, int64_t mtime)
    __attribute__((warn_unused_result));
/* Append the two zero blocks that end an archive. */
int da_tar_finish(struct da_buf *out) __attribute__((warn_unused_result));

struct da_tar_member {
    char name[DA_TAR_NAME_MAX + 1];
    const unsigned char *data; /* inside the archive given to da_tar_read */
    size_t len;
    int64_t mtime;
};

/* Call cb for each member, in order; a non-zero return of cb stops and is
 * returned. The whole archive is checked before the first call. */
typedef int (*da_tar_cb)(const struct da_tar_member *m, void *ctx);
int da_tar_read(const unsigned char *tar, size_t len, da_tar_cb cb, void *ctx);

#endif

/* Reading a whole file into a capped buffer. */
#ifndef DA_FILE_H
#define DA_FILE_H

#include "buf.h"

/* Read path into out, which is initialised here with the given cap (free it
 * with da_buf_free, also after an error). DA_ERR_NOT_FOUND, DA_ERR_PERMISSION,
 * DA_ERR_IO, DA_ERR_TOO_LARGE (the file is larger than cap), DA_ERR_NOMEM. */
int da_file_read(const char *path, size_t cap, struct da_buf *out);

#endif

#include "file.h"

#include <errno.h>
#include <stdio.h>

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

/* The IMA list's increment (ima_increment.h). */
#include "ima_increment.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "err.h"
#include "ima_log.h"
#include "log.h"

/* Room for the largest entry the parser accepts, and some. */
#define IMA_READ_WINDOW (4 * DA_IMA_MAX_TEMPLATE_DATA)

int agent_ima_open(const char *path, int *fd)
{
    if (path == NULL)
        path = AGENT_IMA_DEFAULT_PATH;
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd >= 0)
        return 0;
    if (errno == ENOENT) {
        da_debug_f("no IMA measurement list at %s", path);
        return DA_ERR_NOT_FOUND;
    }
    da_error_f("cannot open the IMA measurement list %s: %s", path, strerror(errno));
    return errno == EACCES || errno == EPERM ? DA_ERR_PERMISSION : DA_ERR_IO;
}

static int fill(int fd, unsigned char *buf, size_t *have, int *eof)
{
    ssize_t n;

    do {
        n = read(fd, buf + *have, IMA_READ_WINDOW - *have);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        da_error_f("cannot read the IMA measurement list: %s", strerror(errno));
        return DA_ERR_IO;
    }
    if (n == 0)
        *eof = 1;
    *have += (size_t)n;
    return 0;
}

/* Skip whole entries at the front of the window. */
static int skip_entries(unsigned char *buf, size_t *have, int eof, uint64_t *left)
{
    size_t n = 0, used = 0;
    int rc = da_ima_walk(buf, *have, 0, *left > SIZE_MAX ? SIZE_MAX : (size_t)*left, NULL, NULL, &n,
                         &used);

    *left -= n;
    memmove(buf, buf + used, *have - used);
    *have -= used;
    /* an entry cut by the window's end is read on; one cut by the list's
     * end, or larger than the window, is malformed */
    if (rc != 0 && (eof || (n == 0 && *have == IMA_READ_WINDOW)))
        return DA_ERR_TPM_IMA_LOG;
    if (eof && *have == 0 && *left > 0)
        return DA_ERR_NOT_FOUND;
    return 0;
}

int agent_ima_increment(int fd, uint64_t skip, struct da_buf *out)
{
    unsigned char *buf = malloc(IMA_READ_WINDOW);
    size_t have = 0;
    int eof = 0, rc = 0;

    da_buf_init(out, DA_MAX_IMA_INCREMENT);
    if (buf == NULL)
        return DA_ERR_NOMEM;
    if (lseek(fd, 0, SEEK_SET) != 0) {
        da_error_f("cannot rewind the IMA measurement list: %s", strerror(errno));
        rc = DA_ERR_IO;
    }
    while (rc == 0) {
        if (!eof && have < IMA_READ_WINDOW)
            rc = fill(fd, buf, &have, &eof);
        if (rc == 0 && skip > 0) {
            rc = skip_entries(buf, &have, eof, &skip);
            continue;
        }
        if (rc == 0 && have > 0)
            rc = da_buf_append(out, buf, have);
        have = 0;
        if (rc != 0 || eof)
            break;
    }
    free(buf);
    if (rc != 0)
        da_buf_free(out);
    return rc;
}

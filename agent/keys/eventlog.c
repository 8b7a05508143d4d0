/* The firmware TPM event log: reading it whole. */
#include "eventlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "caps.h"
#include "err.h"
#include "log.h"

int agent_eventlog_read(const char *path, struct da_buf *out)
{
    unsigned char chunk[16384];
    ssize_t n;
    int fd, rc = 0;

    da_buf_init(out, DA_MAX_EVENT_LOG);
    if (path == NULL)
        path = AGENT_EVENTLOG_DEFAULT_PATH;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            da_debug_f("no firmware event log at %s", path);
            return DA_ERR_NOT_FOUND;
        }
        da_error_f("cannot open the event log %s: %s", path, strerror(errno));
        return errno == EACCES || errno == EPERM ? DA_ERR_PERMISSION : DA_ERR_IO;
    }
    /* securityfs reports size 0: read to the end through a capped buffer. */
    while (rc == 0) {
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            da_error_f("cannot read the event log %s: %s", path, strerror(errno));
            rc = DA_ERR_IO;
        } else if (n == 0) {
            break;
        } else {
            rc = da_buf_append(out, chunk, (size_t)n);
            if (rc == DA_ERR_TOO_LARGE)
                da_error_f("event log %s is larger than %u bytes", path, DA_MAX_EVENT_LOG);
        }
    }
    close(fd);
    OPENSSL_cleanse(chunk, sizeof(chunk));
    if (rc != 0)
        da_buf_free(out);
    return rc;
}

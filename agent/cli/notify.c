#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

int agent_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un addr;
    socklen_t alen;
    size_t plen;
    ssize_t w;
    int fd;

    if (path == NULL || path[0] == '\0')
        return 0;
    plen = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(addr.sun_path)) {
        da_warn_f("NOTIFY_SOCKET is not a usable socket address");
        return DA_ERR_INVALID_ARG;
    }
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, path, plen);
    if (path[0] == '@')
        addr.sun_path[0] = '\0'; /* abstract namespace */
    alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + (path[0] == '/'));
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return DA_ERR_IO;
    do {
        w = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr, alen);
    } while (w < 0 && errno == EINTR);
    close(fd);
    if (w != (ssize_t)strlen(state)) {
        da_warn_f("notifying the service manager: %s", strerror(errno));
        return DA_ERR_IO;
    }
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (s == NULL || *s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

uint64_t agent_notify_watchdog_usec(void)
{
    uint64_t usec = 0, pid = 0;
    const char *p = getenv("WATCHDOG_PID");

    if (parse_u64(getenv("WATCHDOG_USEC"), &usec) != 0)
        return 0;
    if (p != NULL && (parse_u64(p, &pid) != 0 || pid != (uint64_t)getpid()))
        return 0; /* meant for another process */
    return usec;
}

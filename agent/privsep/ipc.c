#include "ipc.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "picky.h"

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get_u32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int errno_to_err(int e)
{
    return (e == EPIPE || e == ECONNRESET) ? DA_ERR_IPC_CLOSED : DA_ERR_IO;
}

/* Write all of iov; sendmsg so that a dead peer gives EPIPE, not SIGPIPE. */
static int write_all(int fd, struct iovec *iov, int iovcnt)
{
    struct msghdr msg;

    while (iovcnt > 0) {
        ssize_t w;

        memset(&msg, 0, sizeof(msg));
        msg.msg_iov = iov;
        msg.msg_iovlen = (size_t)iovcnt;
        w = sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno_to_err(errno);
        while (iovcnt > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

int agent_ipc_send(int fd, uint32_t type, const void *payload, size_t len)
{
    unsigned char hdr[AGENT_IPC_HEADER_LEN];
    struct iovec iov[2];

    if (len > AGENT_IPC_MAX_PAYLOAD || (len != 0 && payload == NULL))
        return DA_ERR_INVALID_ARG;
    put_u32(hdr, type);
    put_u32(hdr + 4, (uint32_t)len);
    iov[0].iov_base = hdr;
    iov[0].iov_len = sizeof(hdr);
    iov[1].iov_base = DA_UNCONST(payload); /* writev only reads */
    iov[1].iov_len = len;
    return write_all(fd, iov, len != 0 ? 2 : 1);
}

static const struct agent_ipc_handler *find_type(const struct agent_ipc_handler *table, size_t n,
                                                 uint32_t type)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (table[i].type == type)
            return &table[i];
    }
    return NULL;
}

int agent_ipc_header_check(const unsigned char hdr[AGENT_IPC_HEADER_LEN],
                           const struct agent_ipc_handler *table, size_t n,
                           const struct agent_ipc_handler **entry, uint32_t *len)
{
    uint32_t type = get_u32(hdr), l = get_u32(hdr + 4);
    const struct agent_ipc_handler *e = find_type(table, n, type);

    *entry = NULL;
    *len = 0;
    if (e == NULL) {
        da_error_f("message of unknown type %u", type);
        return DA_ERR_IPC;
    }
    if (l > e->max_len || l > AGENT_IPC_MAX_PAYLOAD) {
        da_error_f("message of type %u claims %u bytes, more than its cap %u", type, l, e->max_len);
        return DA_ERR_TOO_LARGE;
    }
    *entry = e;
    *len = l;
    return 0;
}

int agent_ipc_frame_decode(const unsigned char *data, size_t len,
                           const struct agent_ipc_handler *table, size_t n, uint32_t *type,
                           const unsigned char **payload, size_t *plen)
{
    const struct agent_ipc_handler *e;
    uint32_t l;
    int r;

    *type = 0;
    *payload = NULL;
    *plen = 0;
    if (len < AGENT_IPC_HEADER_LEN)
        return DA_ERR_TRUNCATED;
    r = agent_ipc_header_check(data, table, n, &e, &l);
    if (r != 0)
        return r;
    if (len - AGENT_IPC_HEADER_LEN < l)
        return DA_ERR_TRUNCATED;
    if (len - AGENT_IPC_HEADER_LEN > l)
        return DA_ERR_TRAILING_DATA;
    *type = e->type;
    *payload = data + AGENT_IPC_HEADER_LEN;
    *plen = l;
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is readable or the deadline (< 0: none) passes. */
static int wait_readable(int fd, long long deadline)
{
    struct pollfd p;
    int timeout, r;

    if (deadline < 0)
        return 0;
    for (;;) {
        long long left = deadline - now_ms();

        if (left <= 0)
            return DA_ERR_TIMEOUT;
        timeout = left > 0x7fffffff ? 0x7fffffff : (int)left;
        p.fd = fd;
        p.events = POLLIN;
        p.revents = 0;
        r = poll(&p, 1, timeout);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return DA_ERR_IO;
        if (r == 0)
            return DA_ERR_TIMEOUT;
        return 0; /* readable, hung up or in error: read() tells which */
    }
}

/* Read exactly n bytes. *got counts what arrived before an error. */
static int read_full(int fd, unsigned char *p, size_t n, long long deadline, size_t *got)
{
    *got = 0;
    while (*got < n) {
        ssize_t r;
        int w = wait_readable(fd, deadline);

        if (w != 0)
            return w;
        r = read(fd, p + *got, n - *got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno_to_err(errno);
        if (r == 0)
            return DA_ERR_IPC_CLOSED;
        *got += (size_t)r;
    }
    return 0;
}

/* Payload straight into the capped buffer, in bounded chunks. */
static int read_payload(int fd, uint32_t len, long long deadline, struct da_buf *out)
{
    unsigned char chunk[16384];
    size_t left = len, got;
    int r;

    while (left > 0) {
        size_t want = left < sizeof(chunk) ? left : sizeof(chunk);

        r = read_full(fd, chunk, want, deadline, &got);
        if (r == 0)
            r = da_buf_append(out, chunk, got);
        if (r != 0)
            return r == DA_ERR_IPC_CLOSED ? DA_ERR_TRUNCATED : r;
        left -= got;
    }
    return 0;
}

static int recv_frame(int fd, const struct agent_ipc_handler *table, size_t n, int timeout_ms,
                      const struct agent_ipc_handler **entry, struct da_buf *out)
{
    unsigned char hdr[AGENT_IPC_HEADER_LEN];
    long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    size_t got;
    uint32_t len;
    int r;

    *entry = NULL;
    da_buf_free(out);
    r = read_full(fd, hdr, sizeof(hdr), deadline, &got);
    if (r == DA_ERR_IPC_CLOSED && got != 0)
        r = DA_ERR_TRUNCATED;
    if (r != 0)
        return r;
    r = agent_ipc_header_check(hdr, table, n, entry, &len);
    if (r != 0)
        return r;
    da_buf_init(out, (*entry)->max_len);
    r = read_payload(fd, len, deadline, out);
    if (r != 0) {
        da_buf_free(out);
        if (r == DA_ERR_TRUNCATED)
            da_error_f("peer closed the channel inside a frame of type %u", (*entry)->type);
    }
    return r;
}

int agent_ipc_recv(int fd, const struct agent_ipc_handler *table, size_t n, int timeout_ms,
                   uint32_t *type, struct da_buf *out)
{
    const struct agent_ipc_handler *e;
    int r;

    *type = 0;
    r = recv_frame(fd, table, n, timeout_ms, &e, out);
    if (r == 0)
        *type = e->type;
    return r;
}

#define SERVE_CLOSED (AGENT_IPC_STOP + 1)

/* One frame from a channel through its table. SERVE_CLOSED: the peer closed
 * at a frame boundary; AGENT_IPC_STOP; 0 to go on; or an error. */
static int serve_frame(const struct agent_ipc_channel *ch, unsigned char *used, struct da_buf *msg,
                       void *ctx)
{
    const struct agent_ipc_handler *e;
    size_t idx;
    int r;

    r = recv_frame(ch->fd, ch->table, ch->n, -1, &e, msg);
    if (r == DA_ERR_IPC_CLOSED)
        return SERVE_CLOSED;
    if (r != 0)
        return r;
    idx = (size_t)(e - ch->table);
    if (e->allowed == AGENT_IPC_ONCE && used[idx]) {
        da_error_f("second message of type %u, which is allowed once", e->type);
        return DA_ERR_IPC;
    }
    used[idx] = 1;
    if (e->handle == NULL)
        return DA_ERR_IPC;
    r = e->handle(ctx, ch->fd, da_buf_data(msg), da_buf_len(msg));
    da_buf_reset(msg);
    return r;
}

int agent_ipc_serve_channels(const struct agent_ipc_channel *ch, size_t nch, void *ctx)
{
    unsigned char used[AGENT_IPC_MAX_CHANNELS][AGENT_IPC_MAX_TYPES];
    struct pollfd p[AGENT_IPC_MAX_CHANNELS];
    struct da_buf msg;
    size_t i;
    int r = 0;

    if (nch == 0 || nch > AGENT_IPC_MAX_CHANNELS)
        return DA_ERR_INVALID_ARG;
    for (i = 0; i < nch; i++) {
        if (ch[i].n > AGENT_IPC_MAX_TYPES)
            return DA_ERR_INVALID_ARG;
        p[i].fd = ch[i].fd;
        p[i].events = POLLIN;
    }
    memset(used, 0, sizeof(used));
    da_buf_init(&msg, 0);
    while (r == 0) {
        int k;

        for (i = 0; i < nch; i++)
            p[i].revents = 0;
        k = nch == 1 ? 1 : poll(p, nch, -1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            r = DA_ERR_IO;
            break;
        }
        for (i = 0; r == 0 && i < nch; i++) {
            if (nch > 1 && p[i].revents == 0)
                continue;
            r = serve_frame(&ch[i], used[i], &msg, ctx);
            if (r == SERVE_CLOSED && i > 0) {
                p[i].fd = -1; /* a side channel closed: stop watching it */
                r = 0;
            }
        }
    }
    da_buf_free(&msg);
    return r == SERVE_CLOSED || r == AGENT_IPC_STOP ? 0 : r;
}

int agent_ipc_serve(int fd, const struct agent_ipc_handler *table, size_t n, void *ctx)
{
    const struct agent_ipc_channel ch = {fd, table, n};

    return agent_ipc_serve_channels(&ch, 1, ctx);
}

int agent_ipc_call(int fd, uint32_t type, const void *payload, size_t len,
                   const struct agent_ipc_handler *answers, size_t n, int timeout_ms,
                   uint32_t *answer_type, struct da_buf *answer)
{
    int r;

    *answer_type = 0;
    r = agent_ipc_send(fd, type, payload, len);
    if (r != 0)
        return r;
    return agent_ipc_recv(fd, answers, n, timeout_ms, answer_type, answer);
}

/* The attest listener: the process that owns attest_socket for the daemon.
 * It is not in the uploader's user namespace (peer credentials there would
 * read as the overflow uid), holds no capability and nothing secret: it
 * accepts one connection at a time, checks the caller's peer credentials
 * (SO_PEERCRED, SO_PEERGROUPS) against attest_group, reads the caller's
 * command line from /proc/PID/cmdline, checks the request strictly and
 * passes it to the signer over their own channel (ATTEST_SIGN); the
 * signer's answer, or its refusal, goes back to the caller. It never opens
 * a file a caller names. A caller that misbehaves only loses its
 * connection; a broken signer channel ends the listener. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "attest_req.h"
#include "caps.h"
#include "encoding.h"
#include "err.h"
#include "file.h"
#include "jcs.h"
#include "json.h"
#include "log.h"
#include "privsep.h"
#include "privsep_internal.h"
#include "sandbox.h"

#define CALLER_TIMEOUT_MS 30000
#define MAX_PEER_GROUPS   1024

struct listener {
    const struct agent_config *cfg;
    struct agent_spawn_opts opts;
};

static int caller_in_group(int conn, const struct ucred *uc, unsigned gid)
{
    gid_t groups[MAX_PEER_GROUPS];
    socklen_t len = sizeof(groups);
    size_t i;

    if ((unsigned)uc->gid == gid)
        return 1;
    if (getsockopt(conn, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0)
        return 0; /* more groups than we look at, or no answer: not shown to be in */
    for (i = 0; i < len / sizeof(gid_t); i++) {
        if ((unsigned)groups[i] == gid)
            return 1;
    }
    return 0;
}

/* The first DA_MAX_CMDLINE bytes of the caller's /proc/PID/cmdline; *cut
 * when there was more. */
static int cmdline_read(pid_t pid, unsigned char *buf, size_t *n, int *cut)
{
    char path[64];
    ssize_t got;
    int fd;

    *n = 0;
    *cut = 0;
    snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return DA_ERR_IO;
    while (*n < DA_MAX_CMDLINE + 1) {
        got = read(fd, buf + *n, DA_MAX_CMDLINE + 1 - *n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        *n += (size_t)got;
    }
    close(fd);
    if (*n > DA_MAX_CMDLINE) {
        *n = DA_MAX_CMDLINE;
        *cut = 1;
    }
    return 0;
}

/* One argument as a JSON string: invalid UTF-8 bytes become U+FFFD. */
static int add_arg(cJSON *args, const unsigned char *p, size_t n)
{
    char out[3 * DA_MAX_CMDLINE + 1];
    size_t i = 0, o = 0, k;

    while (i < n) {
        k = da_utf8_seq_len(p + i, n - i);
        if (k == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        }
    }
    out[o] = '\0';
    return cJSON_AddItemToArray(args, cJSON_CreateString(out)) ? 0 : DA_ERR_NOMEM;
}

/* The caller's command line as {"cmdline": [...]}, at most
 * DA_MAX_CMDLINE_ARGS arguments and DA_MAX_CMDLINE bytes
 * ("cmdline_truncated": true when cut). */
static int caller_json(pid_t pid, struct da_buf *out)
{
    static unsigned char raw[DA_MAX_CMDLINE + 1];
    cJSON *o = cJSON_CreateObject(), *args;
    size_t n = 0, i, start = 0, nargs = 0;
    int r, cut = 0;

    r = cmdline_read(pid, raw, &n, &cut);
    args = o != NULL ? cJSON_AddArrayToObject(o, "cmdline") : NULL;
    if (r == 0 && args == NULL)
        r = DA_ERR_NOMEM;
    for (i = 0; r == 0 && i < n; i++) {
        if (raw[i] != '\0' && i + 1 < n)
            continue;
        if (nargs == DA_MAX_CMDLINE_ARGS) {
            cut = 1;
            break;
        }
        r = add_arg(args, raw + start, (raw[i] == '\0' ? i : i + 1) - start);
        nargs++;
        start = i + 1;
    }
    if (r == 0 && cut && cJSON_AddTrueToObject(o, "cmdline_truncated") == NULL)
        r = DA_ERR_NOMEM;
    if (r == 0)
        r = da_jcs_serialize(o, out);
    cJSON_Delete(o);
    return r;
}

/* The code a refused request is answered with: the input format's own,
 * else attest_request. */
static int request_code(int r)
{
    if (r == DA_ERR_SBOM_FORMAT || r == DA_ERR_JUNIT_FORMAT || r == DA_ERR_SCAN_FORMAT ||
        r == DA_ERR_TOO_LARGE || r == DA_ERR_NOMEM)
        return r;
    return DA_ERR_ATTEST_REQUEST;
}

static void refuse(int conn, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void refuse(int conn, int err, const char *fmt, ...)
{
    char text[AGENT_MAX_ERROR_TEXT];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    (void)agent_privsep_send_error(conn, err, "%s", text);
}

/* Ask the signer; forward its answer. Returns nonzero only when the
 * signer's channel broke. */
static int sign_and_answer(struct listener *l, int conn, const struct da_buf *req, uint64_t uid,
                           const struct da_buf *caller)
{
    static const struct agent_ipc_handler answers[] = {
        AGENT_MSG_ROW(ATTEST_SIGNED, NULL),
        AGENT_MSG_ROW(ERROR, NULL),
    };
    static const size_t caps[] = AGENT_MSG_CAPS(ATTEST_SIGNED);
    struct agent_field f[AGENT_MSG_N(ATTEST_SIGNED)];
    struct da_buf b, ans, ok;
    uint32_t got = 0;
    int r;

    da_buf_init(&b, AGENT_MSG_LEN(ATTEST_SIGN));
    da_buf_init(&ans, 0);
    da_buf_init(&ok, AGENT_MSG_LEN(ATTEST_OK));
    r = agent_fields_put(&b, da_buf_data(req), da_buf_len(req));
    if (r == 0)
        r = agent_fields_put_u64(&b, uid);
    if (r == 0)
        r = agent_fields_put(&b, da_buf_data(caller), da_buf_len(caller));
    if (r == 0)
        r = agent_ipc_call(l->opts.attest_fd, AGENT_MSG_ATTEST_SIGN, da_buf_data(&b),
                           da_buf_len(&b), answers, 2, AGENT_CHILD_TIMEOUT, &got, &ans);
    if (r != 0) {
        refuse(conn, DA_ERR_ATTEST_UNAVAILABLE, "the agent's signer does not answer");
        goto out;
    }
    if (got == AGENT_MSG_ERROR) {
        (void)agent_ipc_send(conn, AGENT_MSG_ERROR, da_buf_data(&ans), da_buf_len(&ans));
        goto out;
    }
    if (agent_fields_split(da_buf_data(&ans), da_buf_len(&ans), AGENT_MSG_N(ATTEST_SIGNED), caps,
                           f) != 0) {
        r = DA_ERR_IPC;
        goto out;
    }
    if (agent_fields_put(&ok, f[0].data, f[0].len) != 0 ||
        agent_fields_put_str(&ok, l->cfg->tsa_url) != 0 ||
        agent_ipc_send(conn, AGENT_MSG_ATTEST_OK, da_buf_data(&ok), da_buf_len(&ok)) != 0)
        da_warn_f("attest: the answer could not be sent to uid %llu", (unsigned long long)uid);
out:
    da_buf_free(&b);
    da_buf_free(&ans);
    da_buf_free(&ok);
    return r;
}

/* After an answer: stop writing and read what the caller still sends
 * (bounded by time and size) before closing, so that the answer is not
 * lost to a reset when the caller's request was left unread. */
static void drain_and_close(int conn)
{
    static unsigned char sink[65536];
    size_t total = 0;

    (void)shutdown(conn, SHUT_WR);
    while (total < AGENT_MAX_ATTEST_REQUEST + AGENT_IPC_HEADER_LEN) {
        struct pollfd p = {conn, POLLIN, 0};
        ssize_t n;

        if (poll(&p, 1, 2000) <= 0)
            break;
        n = read(conn, sink, sizeof(sink));
        if (n <= 0)
            break;
        total += (size_t)n;
    }
    close(conn);
}

static int serve_caller(struct listener *l, int conn)
{
    static const struct agent_ipc_handler table[] = {AGENT_MSG_ROW(ATTEST, NULL)};
    static const size_t caps[] = AGENT_MSG_CAPS(ATTEST);
    struct timeval tv = {CALLER_TIMEOUT_MS / 1000, 0};
    struct agent_field f[AGENT_MSG_N(ATTEST)];
    struct agent_attest_req req;
    struct da_buf in, canon, caller;
    struct ucred uc;
    socklen_t len = sizeof(uc);
    uint32_t type = 0;
    int r, broken = 0;

    memset(&req, 0, sizeof(req));
    da_buf_init(&in, 0);
    da_buf_init(&canon, AGENT_MAX_ATTEST_REQUEST);
    da_buf_init(&caller, AGENT_MAX_CMDLINE_JSON);
    (void)setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0 || len != sizeof(uc)) {
        refuse(conn, DA_ERR_ATTEST_DENIED, "the caller's credentials cannot be read");
        goto out;
    }
    if (!caller_in_group(conn, &uc, l->opts.attest_gid)) {
        da_warn_f("attest: uid %u (pid %ld) refused: not in group %s", (unsigned)uc.uid,
                  (long)uc.pid, l->cfg->attest_group);
        refuse(conn, DA_ERR_ATTEST_DENIED, "uid %u is not in the group %s", (unsigned)uc.uid,
               l->cfg->attest_group);
        goto out;
    }
    r = agent_ipc_recv(conn, table, 1, CALLER_TIMEOUT_MS, &type, &in);
    if (r == 0)
        r = agent_fields_split(da_buf_data(&in), da_buf_len(&in), AGENT_MSG_N(ATTEST), caps, f);
    if (r == 0)
        r = agent_attest_req_parse((const char *)f[0].data, f[0].len, &req);
    if (r == 0)
        r = da_jcs_serialize(req.root, &canon);
    if (r != 0) {
        refuse(conn, request_code(r), "the request is refused: %s", da_strerror(r));
        goto out;
    }
    r = caller_json(uc.pid, &caller);
    if (r != 0) {
        refuse(conn, DA_ERR_ATTEST_REQUEST, "the caller's command line cannot be read");
        goto out;
    }
    broken = sign_and_answer(l, conn, &canon, (uint64_t)uc.uid, &caller) != 0;
out:
    agent_attest_req_free(&req);
    da_buf_free(&in);
    da_buf_free(&canon);
    da_buf_free(&caller);
    return broken ? DA_ERR_IPC : 0;
}

static int listener_loop(int parent, struct listener *l)
{
    for (;;) {
        struct pollfd p[2] = {{parent, POLLIN, 0}, {l->opts.attest_listen_fd, POLLIN, 0}};
        int conn, r;

        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return DA_ERR_IO;
        }
        if (p[0].revents != 0)
            return 0; /* the parent closed our channel: the agent stops */
        if ((p[1].revents & POLLIN) == 0)
            continue;
        conn = accept4(l->opts.attest_listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0)
            continue;
        r = serve_caller(l, conn);
        drain_and_close(conn);
        if (r != 0)
            return r;
    }
}

static int listener_main(int fd, void *vctx)
{
    struct listener *l = vctx;
    int r;

    da_json_memory_cap(AGENT_JSON_MEMORY);
    if (agent_sandbox_enter_as(AGENT_SANDBOX_ATTEST, agent_sandbox_mode_of(l->cfg->sandbox),
                               l->opts.user) != 0) {
        agent_privsep_send_error(fd, DA_ERR_SANDBOX, "the attest listener's sandbox failed");
        return 1;
    }
    r = agent_ipc_send(fd, AGENT_MSG_READY, NULL, 0);
    if (r == 0)
        r = listener_loop(fd, l);
    if (r != 0)
        da_error_f("attest listener: %s", da_strerror(r));
    return r == 0 ? 0 : 1;
}

int agent_attest_listener_spawn(const struct agent_config *cfg, const struct agent_spawn_opts *o,
                                struct agent_child *out)
{
    struct listener l;
    int keep[2], r;

    memset(&l, 0, sizeof(l));
    l.cfg = cfg;
    l.opts = *o;
    if (!o->attest || o->attest_fd < 0 || o->attest_listen_fd < 0)
        return DA_ERR_INVALID_ARG;
    keep[0] = o->attest_fd;
    keep[1] = o->attest_listen_fd;
    r = agent_child_spawn("attest listener", listener_main, &l, keep, 2, out);
    return r == 0 ? agent_privsep_wait_ready(out) : r;
}

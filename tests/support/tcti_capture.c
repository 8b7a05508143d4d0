#include "tcti_capture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CAP_PAIRS     16
#define CAP_MAX_BYTES (64u << 20) /* far above what one test sends */
#define CAP_POLL_MS   100
/* The proxy ends by itself after this many idle or busy polls (10 min). */
#define CAP_MAX_POLLS 6000

struct cap_buf {
    unsigned char *data;
    size_t len, cap;
};

struct cap_pair {
    int client, server; /* -1 when unused */
    int ctrl;           /* the control channel, not TPM commands */
};

struct tt_capture {
    int listen[2];   /* command and control ports */
    int target_port; /* swtpm's command port */
    int wake[2];     /* pipe: stop request */
    pthread_t thread;
    int running;
    struct cap_pair pair[CAP_PAIRS];
    struct cap_buf to_tpm, from_tpm, ctrl;
    int overflow;
    pthread_mutex_t lock; /* the tamper fields */
    unsigned tamper_cc;   /* 0: none */
    size_t tamper_offset;
    int tamper_armed; /* the command went out; alter its response */
    unsigned tampered;
};

static int cap_append(struct tt_capture *c, struct cap_buf *b, const unsigned char *p, size_t n)
{
    if (b->len + n > CAP_MAX_BYTES) {
        c->overflow = 1;
        return -1;
    }
    if (b->len + n > b->cap) {
        size_t want = b->cap == 0 ? 65536 : b->cap;
        unsigned char *q;
        while (want < b->len + n)
            want *= 2;
        q = realloc(b->data, want);
        if (q == NULL)
            return -1;
        b->data = q;
        b->cap = want;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static int cap_write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int cap_listen(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 4) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int cap_port_of(int fd)
{
    struct sockaddr_in a;
    socklen_t n = sizeof(a);

    if (getsockname(fd, (struct sockaddr *)&a, &n) != 0)
        return -1;
    return ntohs(a.sin_port);
}

static int cap_connect(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void cap_pair_close(struct cap_pair *p)
{
    if (p->client >= 0)
        close(p->client);
    if (p->server >= 0)
        close(p->server);
    p->client = p->server = -1;
}

static void cap_accept(struct tt_capture *c, int which)
{
    int client = accept4(c->listen[which], NULL, NULL, SOCK_CLOEXEC), server, i;

    if (client < 0)
        return;
    server = cap_connect(c->target_port + which);
    for (i = 0; server >= 0 && i < CAP_PAIRS; i++) {
        if (c->pair[i].client < 0) {
            c->pair[i].client = client;
            c->pair[i].server = server;
            c->pair[i].ctrl = which;
            return;
        }
    }
    close(client);
    if (server >= 0)
        close(server);
}

/* A command (tag, size, code: 10 bytes) arrives in one piece from the TCTI,
 * and so does its response from swtpm. */
static void cap_tamper(struct tt_capture *c, unsigned char *buf, size_t n, int from_client)
{
    pthread_mutex_lock(&c->lock);
    if (from_client && c->tamper_cc != 0 && n >= 10 &&
        ((unsigned)buf[6] << 24 | (unsigned)buf[7] << 16 | (unsigned)buf[8] << 8 | buf[9]) ==
            c->tamper_cc) {
        c->tamper_armed = 1;
    } else if (!from_client && c->tamper_armed && n > c->tamper_offset) {
        buf[c->tamper_offset] ^= 0x01;
        c->tamper_armed = 0;
        c->tamper_cc = 0;
        c->tampered++;
    }
    pthread_mutex_unlock(&c->lock);
}

void tt_capture_tamper(struct tt_capture *c, unsigned cc, size_t offset)
{
    pthread_mutex_lock(&c->lock);
    c->tamper_cc = cc;
    c->tamper_offset = offset;
    c->tamper_armed = 0;
    pthread_mutex_unlock(&c->lock);
}

unsigned tt_capture_tampered(struct tt_capture *c)
{
    unsigned n;

    pthread_mutex_lock(&c->lock);
    n = c->tampered;
    pthread_mutex_unlock(&c->lock);
    return n;
}

/* Move what one side sent to the other and record it. */
static void cap_forward(struct tt_capture *c, struct cap_pair *p, int from_client)
{
    unsigned char buf[65536];
    int src = from_client ? p->client : p->server, dst = from_client ? p->server : p->client;
    ssize_t n = recv(src, buf, sizeof(buf), 0);

    if (n <= 0 || cap_append(c,
                             p->ctrl       ? &c->ctrl
                             : from_client ? &c->to_tpm
                                           : &c->from_tpm,
                             buf, (size_t)n) != 0) {
        cap_pair_close(p);
        return;
    }
    if (!p->ctrl)
        cap_tamper(c, buf, (size_t)n, from_client);
    if (cap_write_all(dst, buf, (size_t)n) != 0)
        cap_pair_close(p);
}

static void *cap_thread(void *arg)
{
    struct tt_capture *c = arg;
    struct pollfd fds[3 + 2 * CAP_PAIRS];
    int polls, i, n;

    for (polls = 0; polls < CAP_MAX_POLLS; polls++) {
        fds[0] = (struct pollfd){.fd = c->wake[0], .events = POLLIN};
        fds[1] = (struct pollfd){.fd = c->listen[0], .events = POLLIN};
        fds[2] = (struct pollfd){.fd = c->listen[1], .events = POLLIN};
        for (i = 0; i < CAP_PAIRS; i++) {
            fds[3 + 2 * i] = (struct pollfd){.fd = c->pair[i].client, .events = POLLIN};
            fds[4 + 2 * i] = (struct pollfd){.fd = c->pair[i].server, .events = POLLIN};
        }
        n = poll(fds, 3 + 2 * CAP_PAIRS, CAP_POLL_MS);
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        if (fds[0].revents != 0)
            break;
        for (i = 0; i < CAP_PAIRS; i++) {
            if (fds[3 + 2 * i].revents != 0 && c->pair[i].client >= 0)
                cap_forward(c, &c->pair[i], 1);
            if (fds[4 + 2 * i].revents != 0 && c->pair[i].server >= 0)
                cap_forward(c, &c->pair[i], 0);
        }
        if (fds[1].revents != 0)
            cap_accept(c, 0);
        if (fds[2].revents != 0)
            cap_accept(c, 1);
    }
    for (i = 0; i < CAP_PAIRS; i++)
        cap_pair_close(&c->pair[i]);
    return NULL;
}

/* Two adjacent free loopback ports: bind the first anywhere, then try the
 * next one; a bounded number of attempts. */
static int cap_listen_pair(struct tt_capture *c)
{
    int attempt, port;

    for (attempt = 0; attempt < 50; attempt++) {
        c->listen[0] = cap_listen(0);
        if (c->listen[0] < 0)
            return -1;
        port = cap_port_of(c->listen[0]);
        c->listen[1] = port > 0 && port < 65535 ? cap_listen(port + 1) : -1;
        if (c->listen[1] >= 0)
            return port;
        close(c->listen[0]);
        c->listen[0] = -1;
    }
    return -1;
}

int tt_capture_start(int swtpm_port, char *tcti, size_t tcti_size, struct tt_capture **out)
{
    struct tt_capture *c = calloc(1, sizeof(*c));
    int port, i;

    *out = NULL;
    if (c == NULL)
        return -1;
    c->listen[0] = c->listen[1] = c->wake[0] = c->wake[1] = -1;
    for (i = 0; i < CAP_PAIRS; i++)
        c->pair[i].client = c->pair[i].server = -1;
    c->target_port = swtpm_port;
    pthread_mutex_init(&c->lock, NULL);
    port = cap_listen_pair(c);
    if (port < 0 || pipe2(c->wake, O_CLOEXEC) != 0 ||
        pthread_create(&c->thread, NULL, cap_thread, c) != 0) {
        tt_capture_free(c);
        return -1;
    }
    c->running = 1;
    snprintf(tcti, tcti_size, "swtpm:host=127.0.0.1,port=%d", port);
    *out = c;
    return 0;
}

void tt_capture_stop(struct tt_capture *c)
{
    if (c == NULL || !c->running)
        return;
    if (write(c->wake[1], "x", 1) != 1)
        pthread_cancel(c->thread);
    pthread_join(c->thread, NULL);
    c->running = 0;
}

void tt_capture_free(struct tt_capture *c)
{
    int i;

    if (c == NULL)
        return;
    tt_capture_stop(c);
    for (i = 0; i < 2; i++) {
        if (c->listen[i] >= 0)
            close(c->listen[i]);
        if (c->wake[i] >= 0)
            close(c->wake[i]);
    }
    free(c->to_tpm.data);
    free(c->from_tpm.data);
    free(c->ctrl.data);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

const unsigned char *tt_capture_to_tpm(const struct tt_capture *c, size_t *len)
{
    *len = c->to_tpm.len;
    return c->to_tpm.data;
}

const unsigned char *tt_capture_from_tpm(const struct tt_capture *c, size_t *len)
{
    *len = c->from_tpm.len;
    return c->from_tpm.data;
}

int tt_capture_contains(const struct tt_capture *c, const void *needle, size_t len)
{
    return (c->to_tpm.len > 0 && memmem(c->to_tpm.data, c->to_tpm.len, needle, len) != NULL) ||
           (c->from_tpm.len > 0 &&
            memmem(c->from_tpm.data, c->from_tpm.len, needle, len) != NULL) ||
           (c->ctrl.len > 0 && memmem(c->ctrl.data, c->ctrl.len, needle, len) != NULL);
}

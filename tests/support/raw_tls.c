#include "raw_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_timeouts(int fd, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int da_raw_tls_connect(struct da_raw_tls *t, const char *src, int port, const char *ca,
                       int timeout_ms)
{
    struct sockaddr_in sa;

    memset(t, 0, sizeof(*t));
    t->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (t->fd < 0)
        return -1;
    set_timeouts(t->fd, timeout_ms);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    if (src != NULL) {
        if (inet_pton(AF_INET, src, &sa.sin_addr) != 1 ||
            bind(t->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
            goto fail;
    }
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(t->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        goto fail;
    if (ca == NULL)
        return 0;
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (t->ctx == NULL || SSL_CTX_load_verify_locations(t->ctx, ca, NULL) != 1)
        goto fail;
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    t->ssl = SSL_new(t->ctx);
    if (t->ssl == NULL || SSL_set_fd(t->ssl, t->fd) != 1 ||
        SSL_set1_host(t->ssl, "127.0.0.1") != 1 || SSL_connect(t->ssl) != 1)
        goto fail;
    return 0;
fail:
    da_raw_tls_close(t);
    return -1;
}

int da_raw_tls_send(struct da_raw_tls *t, const void *p, size_t n)
{
    size_t done = 0;

    while (done < n) {
        int w = t->ssl != NULL ? SSL_write(t->ssl, (const char *)p + done, (int)(n - done))
                               : (int)write(t->fd, (const char *)p + done, n - done);

        if (w <= 0)
            return -1;
        done += (size_t)w;
    }
    return 0;
}

long da_raw_tls_read_all(struct da_raw_tls *t, char **out, int timeout_ms, bool *closed)
{
    long deadline = now_ms() + timeout_ms;
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap + 1);

    *out = NULL;
    *closed = false;
    if (buf == NULL)
        return -1;
    while (now_ms() < deadline) {
        struct pollfd pf = {t->fd, POLLIN, 0};
        int r;

        if ((t->ssl == NULL || SSL_pending(t->ssl) == 0) &&
            poll(&pf, 1, (int)(deadline - now_ms())) <= 0)
            continue;
        if (len == cap) {
            char *b = realloc(buf, 2 * cap + 1);

            if (b == NULL)
                break;
            buf = b;
            cap *= 2;
        }
        r = t->ssl != NULL ? SSL_read(t->ssl, buf + len, (int)(cap - len))
                           : (int)read(t->fd, buf + len, cap - len);
        if (r > 0) {
            len += (size_t)r;
            continue;
        }
        if (t->ssl != NULL) {
            int e = SSL_get_error(t->ssl, r);

            if (e == SSL_ERROR_WANT_READ)
                continue;
        } else if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        *closed = true; /* close_notify, EOF or reset */
        break;
    }
    buf[len] = '\0';
    *out = buf;
    return (long)len;
}

void da_raw_tls_close(struct da_raw_tls *t)
{
    if (t->ssl != NULL)
        SSL_free(t->ssl);
    if (t->ctx != NULL)
        SSL_CTX_free(t->ctx);
    if (t->fd >= 0)
        close(t->fd);
    memset(t, 0, sizeof(*t));
    t->fd = -1;
}

int da_raw_http_responses(const char *text)
{
    int n = 0;
    const char *p = text;

    while ((p = strstr(p, "HTTP/1.")) != NULL) {
        if ((p == text || p[-1] == '\n') && p[7] != '\0' && p[8] == ' ')
            n++;
        p += 7;
    }
    return n;
}

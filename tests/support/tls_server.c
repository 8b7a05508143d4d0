#include "tls_server.h"
#include "tmp_tree.h"

#include <limits.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return -1;
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

/* A certificate for key, signed by issuer_key (self-signed when issuer is
 * NULL). */
static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, int ca)
{
    X509 *x = X509_new();
    unsigned char serial[8];
    BIGNUM *bn = NULL;
    X509_NAME *name;

    if (x == NULL || RAND_bytes(serial, sizeof(serial)) != 1)
        goto fail;
    serial[0] &= 0x7f;
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
        goto fail;
    if (X509_set_version(x, 2) != 1 || X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL || X509_set_pubkey(x, key) != 1)
        goto fail;
    name = X509_get_subject_name(x);
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                   0) != 1)
        goto fail;
    if (X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name) != 1)
        goto fail;
    if (issuer == NULL)
        issuer = x;
    if (add_ext(x, issuer, NID_subject_key_identifier, "hash") != 0 ||
        add_ext(x, issuer, NID_authority_key_identifier, "keyid:always") != 0)
        goto fail;
    if (ca) {
        if (add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE") != 0 ||
            add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign") != 0)
            goto fail;
    } else {
        if (add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
            add_ext(x, issuer, NID_key_usage, "critical,digitalSignature") != 0 ||
            add_ext(x, issuer, NID_ext_key_usage, "serverAuth") != 0 ||
            add_ext(x, issuer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost") != 0)
            goto fail;
    }
    if (X509_sign(x, issuer_key, EVP_sha256()) == 0)
        goto fail;
    BN_free(bn);
    return x;
fail:
    BN_free(bn);
    X509_free(x);
    return NULL;
}

static int write_cert(const char *path, X509 *x)
{
    FILE *f = fopen(path, "w");
    int ok;

    if (f == NULL)
        return -1;
    ok = PEM_write_X509(f, x);
    fclose(f);
    return ok == 1 ? 0 : -1;
}

static int write_all_ssl(SSL *ssl, const char *p, size_t n)
{
    while (n > 0) {
        int w = SSL_write(ssl, p, n > 65536 ? 65536 : (int)n);

        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int respond(SSL *ssl, int code, const char *reason, const char *body, size_t len,
                   size_t announced)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: keep-alive\r\n\r\n",
                     code, reason, announced);

    if (write_all_ssl(ssl, head, (size_t)n) != 0)
        return -1;
    return write_all_ssl(ssl, body, len);
}

/* Read one request (headers and Content-Length body). Returns the body
 * length, or -1 when the connection ended. */
static long read_request(SSL *ssl)
{
    static char buf[1u << 20];
    size_t used = 0;
    char *end = NULL, *cl;
    long body = 0, have;

    while (end == NULL) {
        int n;

        if (used >= sizeof(buf) - 1)
            return -1;
        n = SSL_read(ssl, buf + used, (int)(sizeof(buf) - 1 - used));
        if (n <= 0)
            return -1;
        used += (size_t)n;
        buf[used] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    for (cl = buf; (cl = strchr(cl, '\n')) != NULL; cl++) {
        if (strncasecmp(cl + 1, "Content-Length:", 15) == 0) {
            body = strtol(cl + 16, NULL, 10);
            break;
        }
    }
    have = (long)(used - (size_t)(end + 4 - buf));
    while (have < body) {
        int n = SSL_read(ssl, buf, (int)sizeof(buf));

        if (n <= 0)
            return -1;
        have += n;
    }
    return body;
}

static void serve(int listener, SSL_CTX *ctx, enum da_test_tls_mode mode)
{
    static const char garbage[] = "<html><body>Proxy login required</body></html>";
    static const char e500[] = "{\"error\":{\"code\":\"internal\",\"message\":\"database "
                               "unavailable\"}}";
    static const char e403[] = "{\"error\":{\"code\":\"agent_revoked\",\"message\":\"agent has "
                               "been revoked\"}}";
    int conn = 0;

    signal(SIGPIPE, SIG_IGN);
    for (;;) {
        int fd = accept(listener, NULL, NULL), req = 0;
        SSL *ssl;

        if (fd < 0)
            continue;
        conn++;
        ssl = SSL_new(ctx);
        if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
            SSL_free(ssl);
            close(fd);
            continue;
        }
        for (;;) {
            long len = read_request(ssl);
            char ok[128];
            int n, rc = 0;

            if (len < 0)
                break;
            req++;
            switch (mode) {
            case DA_TLS_OK:
            case DA_TLS_OLD_PROTOCOL:
                n = snprintf(ok, sizeof(ok), "{\"ok\":true,\"conn\":%d,\"req\":%d,\"len\":%ld}",
                             conn, req, len);
                rc = respond(ssl, 200, "OK", ok, (size_t)n, (size_t)n);
                break;
            case DA_TLS_HTTP_500:
                rc = respond(ssl, 500, "Internal Server Error", e500, strlen(e500), strlen(e500));
                break;
            case DA_TLS_HTTP_403:
                rc = respond(ssl, 403, "Forbidden", e403, strlen(e403), strlen(e403));
                break;
            case DA_TLS_GARBAGE:
                rc = respond(ssl, 200, "OK", garbage, strlen(garbage), strlen(garbage));
                break;
            case DA_TLS_TRUNCATE:
                (void)respond(ssl, 200, "OK", "{\"ok\":tru", 10, 1000);
                rc = -1; /* cut: no close_notify, just the socket */
                break;
            case DA_TLS_SILENT:
                for (;;)
                    pause();
            case DA_TLS_BIG: {
                size_t big = 3u << 20;
                char *b = malloc(big);

                if (b == NULL)
                    _exit(1);
                memset(b, 'x', big);
                rc = respond(ssl, 200, "OK", b, big, big);
                free(b);
                break;
            }
            }
            if (rc != 0)
                break;
        }
        SSL_free(ssl);
        close(fd);
    }
}

static int make_pki(struct da_test_tls_server *s, X509 **cert, EVP_PKEY **key)
{
    EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *other_key = EVP_EC_gen("P-256");
    X509 *ca = NULL, *other = NULL;
    int r = -1;

    *key = EVP_EC_gen("P-256");
    *cert = NULL;
    if (ca_key == NULL || other_key == NULL || *key == NULL)
        goto out;
    ca = make_cert("devattest test CA", ca_key, NULL, ca_key, 1);
    other = make_cert("unrelated CA", other_key, NULL, other_key, 1);
    *cert = make_cert("127.0.0.1", *key, ca, ca_key, 0);
    if (ca == NULL || other == NULL || *cert == NULL)
        goto out;
    snprintf(s->ca, sizeof(s->ca), "%s/ca.pem", s->dir);
    snprintf(s->other_ca, sizeof(s->other_ca), "%s/other-ca.pem", s->dir);
    if (write_cert(s->ca, ca) != 0 || write_cert(s->other_ca, other) != 0)
        goto out;
    r = 0;
out:
    X509_free(ca);
    X509_free(other);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_key);
    return r;
}

static SSL_CTX *make_ctx(X509 *cert, EVP_PKEY *key, enum da_test_tls_mode mode)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (ctx == NULL || SSL_CTX_use_certificate(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, key) != 1)
        goto fail;
    if (mode == DA_TLS_OLD_PROTOCOL) {
        SSL_CTX_set_security_level(ctx, 0);
        if (SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION) != 1 ||
            SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION) != 1 ||
            SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0") != 1)
            goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

int da_test_tls_server_start(struct da_test_tls_server *s, enum da_test_tls_mode mode)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    SSL_CTX *ctx = NULL;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    int listener = -1, r = -1;

    memset(s, 0, sizeof(*s));
    s->pid = -1;
    if (da_test_tmpdir("da-tls", s->dir, sizeof(s->dir)) != 0)
        return -1;
    if (make_pki(s, &cert, &key) != 0 || (ctx = make_ctx(cert, key, mode)) == NULL)
        goto out;
    listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listener < 0 || bind(listener, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(listener, 16) != 0 || getsockname(listener, (struct sockaddr *)&a, &alen) != 0)
        goto out;
    s->port = ntohs(a.sin_port);
    snprintf(s->url, sizeof(s->url), "https://127.0.0.1:%d", s->port);
    s->pid = fork();
    if (s->pid < 0)
        goto out;
    if (s->pid > 0)
        da_test_track_pid(s->pid);
    if (s->pid == 0) {
        da_test_die_with_parent();
        serve(listener, ctx, mode);
        _exit(0);
    }
    r = 0;
out:
    if (listener >= 0)
        close(listener);
    SSL_CTX_free(ctx);
    X509_free(cert);
    EVP_PKEY_free(key);
    if (r != 0)
        da_test_tls_server_stop(s);
    return r;
}

void da_test_tls_server_stop(struct da_test_tls_server *s)
{
    int status;

    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &status, 0);
        da_test_untrack_pid(s->pid);
        s->pid = -1;
    }
    if (s->dir[0] != '\0') {
        if (s->ca[0] != '\0')
            unlink(s->ca);
        if (s->other_ca[0] != '\0')
            unlink(s->other_ca);
        rmdir(s->dir);
        s->dir[0] = '\0';
    }
}

/* ---- CONNECT proxy ---- */

static int listen_loopback(int *port)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static void relay(int a, int b)
{
    char buf[16384];

    for (;;) {
        struct pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
        int i;

        if (poll(p, 2, -1) <= 0)
            return;
        for (i = 0; i < 2; i++) {
            ssize_t n;

            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            n = read(p[i].fd, buf, sizeof(buf));
            if (n <= 0 || write(i == 0 ? b : a, buf, (size_t)n) != n)
                return;
        }
    }
}

static int send_text(int fd, const char *t)
{
    size_t n = strlen(t);

    return write(fd, t, n) == (ssize_t)n ? 0 : -1;
}

static void proxy_one(int c, const char *log)
{
    char req[4096], host[64];
    size_t used = 0;
    unsigned port = 0;
    struct sockaddr_in a;
    int up, n, lf;

    while (used < sizeof(req) - 1) {
        ssize_t r = read(c, req + used, sizeof(req) - 1 - used);

        if (r <= 0)
            return;
        used += (size_t)r;
        req[used] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL)
            break;
    }
    if (sscanf(req, "CONNECT %63[^:]:%u HTTP/1.", host, &port) != 2 ||
        strcmp(host, "127.0.0.1") != 0 || port == 0 || port > 65535) {
        send_text(c, "HTTP/1.1 403 Forbidden\r\n\r\n");
        return;
    }
    lf = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (lf >= 0) {
        n = snprintf(req, sizeof(req), "CONNECT %s:%u\n", host, port);
        (void)!write(lf, req, (size_t)n);
        close(lf);
    }
    up = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (up < 0 || connect(up, (struct sockaddr *)&a, sizeof(a)) != 0) {
        send_text(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n");
        if (up >= 0)
            close(up);
        return;
    }
    if (send_text(c, "HTTP/1.1 200 Connection established\r\n\r\n") == 0)
        relay(c, up);
    close(up);
}

int da_test_proxy_start(struct da_test_proxy *p)
{
    int listener;

    memset(p, 0, sizeof(*p));
    p->pid = -1;
    if (da_test_tmpdir("da-proxy", p->dir, sizeof(p->dir)) != 0)
        return -1;
    snprintf(p->log, sizeof(p->log), "%s/connects.log", p->dir);
    listener = listen_loopback(&p->port);
    if (listener < 0) {
        rmdir(p->dir);
        return -1;
    }
    snprintf(p->url, sizeof(p->url), "http://127.0.0.1:%d", p->port);
    p->pid = fork();
    if (p->pid > 0)
        da_test_track_pid(p->pid);
    if (p->pid == 0) {
        da_test_die_with_parent();
        signal(SIGPIPE, SIG_IGN);
        for (;;) {
            int c = accept(listener, NULL, NULL);

            if (c < 0)
                continue;
            proxy_one(c, p->log);
            close(c);
        }
    }
    close(listener);
    if (p->pid < 0) {
        rmdir(p->dir);
        return -1;
    }
    return 0;
}

void da_test_proxy_stop(struct da_test_proxy *p)
{
    int status;

    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, &status, 0);
        da_test_untrack_pid(p->pid);
        p->pid = -1;
    }
    if (p->dir[0] != '\0') {
        unlink(p->log);
        rmdir(p->dir);
        p->dir[0] = '\0';
    }
}

/* A small HTTPS responder for tests: a real TLS server (OpenSSL) on
 * 127.0.0.1, a free port, a certificate from a CA made for the test, and a
 * behaviour chosen per test (good answers, rejections, garbage, a connection
 * cut in the middle, silence). It runs in a child process until stopped. */
#ifndef DA_TEST_TLS_SERVER_H
#define DA_TEST_TLS_SERVER_H

#include <limits.h>
#include <sys/types.h>

enum da_test_tls_mode {
    DA_TLS_OK,          /* 200 {"ok":true,"conn":C,"req":R,"len":N} */
    DA_TLS_HTTP_500,    /* 500 {"error":{"code":"internal","message":"database unavailable"}} */
    DA_TLS_HTTP_403,    /* 403 {"error":{"code":"agent_revoked",...}} */
    DA_TLS_GARBAGE,     /* 200 with a body that is not JSON */
    DA_TLS_TRUNCATE,    /* headers announce 1000 bytes, 10 are sent, the socket is closed */
    DA_TLS_SILENT,      /* the request is read, nothing is ever answered */
    DA_TLS_BIG,         /* 200 with a 3 MiB body */
    DA_TLS_OLD_PROTOCOL /* the server speaks at most TLS 1.1 */
};

struct da_test_tls_server {
    char dir[96];
    char ca[PATH_MAX];       /* CA that issued the server certificate */
    char other_ca[PATH_MAX]; /* an unrelated CA */
    char url[64];            /* "https://127.0.0.1:PORT" */
    int port;
    pid_t pid;
};

/* 0 or -1. */
int da_test_tls_server_start(struct da_test_tls_server *s, enum da_test_tls_mode mode);
void da_test_tls_server_stop(struct da_test_tls_server *s);

/* An HTTP CONNECT proxy on 127.0.0.1 (tunnels only to 127.0.0.1); every
 * tunnel it opens is recorded as a line "CONNECT host:port" in log. */
struct da_test_proxy {
    char dir[96];
    char log[256];
    char url[64]; /* "http://127.0.0.1:PORT" */
    int port;
    pid_t pid;
};

int da_test_proxy_start(struct da_test_proxy *p);
void da_test_proxy_stop(struct da_test_proxy *p);

#endif

/* A raw TLS client for tests that must send exact bytes (request smuggling,
 * slow clients): OpenSSL over a TCP socket to 127.0.0.1, optionally from a
 * chosen loopback source address, trusting the test server's CA. */
#ifndef DA_TEST_RAW_TLS_H
#define DA_TEST_RAW_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

struct da_raw_tls {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
};

/* TCP connect to 127.0.0.1:port (from source address src unless NULL) and,
 * when ca != NULL, a TLS handshake verifying the server against it; every
 * step bounded by timeout_ms. 0 or -1 (t is cleaned up on -1). */
int da_raw_tls_connect(struct da_raw_tls *t, const char *src, int port, const char *ca,
                       int timeout_ms);
/* Write all n bytes. 0 or -1. */
int da_raw_tls_send(struct da_raw_tls *t, const void *p, size_t n);
/* Read until the server closes the connection or timeout_ms passes.
 * *out is malloc'd and NUL-terminated; *closed tells whether the server
 * closed (close_notify, EOF or reset) within the time. Bytes read, or -1. */
long da_raw_tls_read_all(struct da_raw_tls *t, char **out, int timeout_ms, bool *closed);
/* Free; the socket is closed. */
void da_raw_tls_close(struct da_raw_tls *t);
/* Number of HTTP responses (status lines "HTTP/1.x NNN") in a byte stream. */
int da_raw_http_responses(const char *text);

#endif

/* A real devattest-server process for tests: fresh state directory, CA and
 * keys from `devattest-server init`, API tokens from `token create`, TLS on
 * 127.0.0.1 on a free port, and a libcurl client that pins the test CA. */
#ifndef DA_SERVER_HARNESS_H
#define DA_SERVER_HARNESS_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

struct da_test_server {
    char dir[96];     /* temporary directory, removed by cleanup */
    char state[192];  /* dir/state */
    char config[192]; /* dir/server.conf */
    char ca[256];     /* dir/state/ca.pem */
    char db[256];
    char admin[80], auditor[80]; /* bearer tokens */
    char base[64];               /* "https://127.0.0.1:PORT" */
    int port;
    pid_t pid;
};

struct da_test_http {
    long status;
    char *body; /* NUL-terminated; free with da_test_http_clear */
    size_t len;
    char content_type[128];
};

/* Prepare a state directory, write server.conf (extra lines appended), make
 * admin and auditor tokens and the vendors "acme" and "globex". Does not
 * start the server. 0 or -1. */
int da_test_server_setup(struct da_test_server *s, const char *extra_config);
/* Write server.conf again with other extra lines (the server must be
 * stopped; start it again to apply). 0 or -1. */
int da_test_server_reconfigure(struct da_test_server *s, const char *extra_config);
/* A second instance of the server of a (set up, with a PostgreSQL store):
 * the same configuration, state directory (keys, CA) and database, its
 * own directory for its port file, and the same tokens. Cleaning it up
 * leaves a's files alone. 0 or -1. */
int da_test_server_twin(struct da_test_server *b, const struct da_test_server *a);
/* Start `serve` and wait until it listens. 0 or -1. */
int da_test_server_start(struct da_test_server *s);
/* SIGTERM and wait; the exit status (0 on a clean shutdown), or -1. */
int da_test_server_stop(struct da_test_server *s);
/* SIGKILL and reap. */
void da_test_server_kill(struct da_test_server *s);
/* Stop if running and remove the directory. */
void da_test_server_cleanup(struct da_test_server *s);
/* Run the server binary with arguments (NULL-terminated) against this
 * config; stdout (first line) into out. Exit status or -1. */
int da_test_server_cli(struct da_test_server *s, char *out, size_t outsize, ...)
    __attribute__((sentinel));

/* One HTTPS request. token NULL: no Authorization; ctype NULL: no
 * Content-Type; body NULL: no body. 0 when a response arrived, -1 otherwise. */
int da_test_http(const struct da_test_server *s, const char *method, const char *path,
                 const char *token, const char *ctype, const char *body, size_t body_len,
                 struct da_test_http *out);
void da_test_http_clear(struct da_test_http *r);
/* When DA_TEST_API_CAPTURE names a file, every answer da_test_http gets is
 * appended to it as a JSON line {method, path, status, content_type, body}
 * (the file is emptied by the first one of a process); tests/api checks
 * them against docs/api/openapi.yaml. This records an answer read some
 * other way: raw is the whole HTTP answer (status line, headers, body). */
void da_test_capture_raw(const char *method, const char *path, const char *raw);
/* Value of "error"."code" in a JSON error body, or "" (static buffer). */
const char *da_test_error_code(const struct da_test_http *r);

#endif

/* HTTPS to the devattest server (libcurl).
 *
 * - TLS 1.2 or newer; the server certificate must chain to the pinned CA
 *   file (CURLOPT_CAINFO; CURLOPT_CAPATH is cleared so the system store is
 *   not consulted) and match the host. ca_file "system" uses the system
 *   trust store instead, only when configured so.
 * - Connect and total timeouts, and a low-speed limit that ends transfers
 *   which trickle.
 * - One handle per transport, reused: connections are kept alive between
 *   requests.
 * - Proxies come from the usual environment variables (https_proxy,
 *   HTTPS_PROXY, no_proxy), which libcurl reads itself.
 * - No redirects are followed, no compressed answers are accepted, and the
 *   answer body is capped.
 *
 * Errors: DA_ERR_TRANSPORT (unreachable, connection closed early),
 * DA_ERR_TIMEOUT, DA_ERR_TLS (handshake, certificate), DA_ERR_SERVER_REJECTED
 * (HTTP 4xx/5xx; the server's error code and message are kept),
 * DA_ERR_SERVER_RESPONSE (answer malformed, over the cap, unexpected
 * status). agent_transport_error() says what happened in words.
 */
#ifndef AGENT_TRANSPORT_H
#define AGENT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"

#define AGENT_TRANSPORT_MAX_ANSWER (2u * 1024 * 1024) /* default answer cap */

struct agent_transport_opts {
    const char *base_url;    /* "https://host[:port][/prefix]" */
    const char *ca_file;     /* pinned CA (PEM); "system" for the system store */
    bool allow_http;         /* plain http (loopback only; checked by config) */
    long connect_timeout_ms; /* 0: 10 s */
    long total_timeout_ms;   /* 0: 60 s */
    long low_speed_bytes;    /* 0: 64 bytes/s ... */
    long low_speed_time_s;   /* ... for 0: 15 s */
    size_t max_answer;       /* 0: AGENT_TRANSPORT_MAX_ANSWER */
};

struct agent_transport;

int agent_transport_new(const struct agent_transport_opts *opts, struct agent_transport **out);
void agent_transport_free(struct agent_transport *t);

/* One request. path is appended to base_url; body may be NULL for GET.
 * headers: NULL or a NULL-terminated list of "Name: value". On return
 * *status is the HTTP status (0 if none arrived) and answer holds the body
 * (reset; capped). An HTTP status >= 400 gives DA_ERR_SERVER_REJECTED. */
int agent_transport_request(struct agent_transport *t, const char *method, const char *path,
                            const char *const *headers, const void *body, size_t len, long *status,
                            struct da_buf *answer);

/* A JSON request (body may be NULL) and a JSON answer: *answer is the parsed
 * object (free with cJSON_Delete). A 2xx answer that is not a JSON object is
 * DA_ERR_SERVER_RESPONSE. */
int agent_transport_json(struct agent_transport *t, const char *method, const char *path,
                         const char *const *headers, const char *json_body, long *status,
                         cJSON **answer);

/* The last failure in words ("" after a success). */
const char *agent_transport_error(const struct agent_transport *t);
/* The server's machine-readable error code of the last rejection ("" if
 * none), e.g. "nonce_expired", "agent_revoked". */
const char *agent_transport_server_code(const struct agent_transport *t);
/* Whether an error means "try again later" (unreachable, timeout, 5xx,
 * 429) rather than "this request will never succeed". */
bool agent_transport_retryable(const struct agent_transport *t, int err);

#endif

/* HTTP layer over libmicrohttpd: TLS, limits, routing, errors.
 *
 * The route table in http.c maps {method, path pattern} to a handler, the
 * roles that may call it and the largest body it accepts. Before a handler
 * runs the layer has: matched the route (404/405), applied the per-address
 * rate limit (429), authenticated a bearer token against the route's roles
 * (401/403), checked Content-Type (415) and received the body within the
 * route's cap (413). A handler fills a response or returns a DA_ERR_* code,
 * which becomes {"error": {"code", "message"}} with the table's HTTP status.
 */
#ifndef SRV_HTTP_H
#define SRV_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "server.h"

#define SRV_MAX_PARAM   80
#define SRV_MAX_MESSAGE 200

struct srv_request {
    struct srv_ctx *srv;
    const char *method;
    const char *url;
    char param[2][SRV_MAX_PARAM]; /* {…} segments of the pattern, in order */
    const char *body;             /* NUL-terminated, body_len bytes */
    size_t body_len;
    struct srv_principal who; /* role SRV_ROLE_NONE for public routes */
    char address[64];
    void *conn;
};

struct srv_response {
    int status;
    char *body; /* malloc'd; freed by the layer */
    size_t body_len;
    const char *content_type;
    const char *disposition;       /* Content-Disposition, or NULL */
    char message[SRV_MAX_MESSAGE]; /* detail for an error answer */
};

/* Value of a query argument, or NULL. */
const char *srv_request_query(const struct srv_request *r, const char *name);

/* Serialize doc (consumed) as the response body. */
int srv_respond_json(struct srv_response *resp, int status, cJSON *doc);
/* Body for an error answer: {"error": {"code", "message"}}. */
char *srv_error_body(int err, const char *message, size_t *len);

/* Connections closed because their request head or body missed its
 * deadline (server/http_guard.h), since the start. */
uint64_t srv_http_deadline_closed(struct srv_ctx *ctx);

/* Bind, listen and start serving. The bound port is in *port. */
int srv_http_start(struct srv_ctx *ctx, unsigned *port);
/* Stop accepting, wait up to grace_ms for requests in flight, stop. */
void srv_http_stop(struct srv_ctx *ctx, unsigned grace_ms);

#endif

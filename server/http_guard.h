/* Defences of the HTTP layer that libmicrohttpd leaves to the application:
 * request framing (RFC 9112 section 6), control characters in the request
 * target, and a deadline for the whole request head and body of every
 * connection, enforced by a watchdog thread that shuts the socket down.
 *
 * Each connection gets a slot (MHD's socket context) from srv_guard_notify;
 * the HTTP layer moves its deadline as a request goes through its phases:
 *   accepted / previous request done -> head_ms for TLS handshake and head
 *   head received -> body_base_ms + length / body_min_rate for the body
 *   body received -> no deadline while the handler works and answers
 * The idle timeout of libmicrohttpd (connection_timeout_s) still applies.
 */
#ifndef SRV_HTTP_GUARD_H
#define SRV_HTTP_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

struct srv_guard;

struct srv_guard_limits {
    unsigned head_ms;       /* handshake and request head, from accept or the last answer */
    unsigned body_base_ms;  /* every body gets this much ... */
    unsigned body_min_rate; /* ... plus its length at this many bytes per second */
};

/* Allocate and start the watchdog. 0, DA_ERR_NOMEM or DA_ERR_INTERNAL. */
int srv_guard_new(const struct srv_guard_limits *lim, struct srv_guard **out);
/* Stop the watchdog and free. Call after the daemon has stopped. NULL ok. */
void srv_guard_free(struct srv_guard *g);

/* MHD_OPTION_NOTIFY_CONNECTION callback (cls: the guard). */
void srv_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                      enum MHD_ConnectionNotificationCode code);
/* MHD_OPTION_UNESCAPE_CALLBACK (cls: the guard): decodes %HH like
 * libmicrohttpd and marks the request when the decoded path, a query name
 * or a query value holds a control character (below 0x20, or 0x7f). */
size_t srv_guard_unescape(void *cls, struct MHD_Connection *c, char *s);

/* At the first call for a request, before MHD reads any body: refuse
 * ambiguous framing (DA_ERR_HTTP_FRAMING: Content-Length with
 * Transfer-Encoding, repeated framing headers, a coding list not ending in
 * one chunked, Transfer-Encoding in HTTP/1.0, a field name that is not a
 * token, as whitespace before the colon or a folded line leave it), codings other than chunked
 * (DA_ERR_HTTP_CODING) and a marked target (DA_ERR_HTTP_TARGET). On 0 the
 * body deadline is armed for body_cap (chunked) or Content-Length bytes;
 * *chunked tells which framing the body uses. */
int srv_guard_request_head(struct srv_guard *g, struct MHD_Connection *c, const char *version,
                           size_t body_cap, bool *chunked);
/* A Transfer-Encoding value (a comma-separated list of codings): 0 for one
 * lone "chunked" (any case), DA_ERR_HTTP_CODING for a list that ends in
 * chunked after other codings, DA_ERR_HTTP_FRAMING for anything else. */
int srv_guard_codings_check(const char *value);
/* The request is complete or answered early: no deadline until it is done. */
void srv_guard_request_received(struct srv_guard *g, struct MHD_Connection *c);
/* An answer was sent; a keep-alive connection has head_ms for the next head. */
void srv_guard_request_done(struct srv_guard *g, struct MHD_Connection *c);
/* Connections the watchdog has shut down so far. */
uint64_t srv_guard_cut_count(struct srv_guard *g);

#endif

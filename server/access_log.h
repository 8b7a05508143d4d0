/* The access log: one JSON object per line and request, written with one
 * write(2) to a file opened O_APPEND (or to standard error), so that lines
 * from concurrent requests never interleave. What a line holds is in
 * docs/operations.md; it never holds a header, a query string or a body,
 * so a bearer token cannot reach it.
 */
#ifndef SRV_ACCESS_LOG_H
#define SRV_ACCESS_LOG_H

#include <stddef.h>
#include <stdint.h>

struct srv_access_log;

struct srv_access_entry {
    int64_t time_ms; /* Unix milliseconds when the request arrived */
    const char *address;
    const char *method;
    const char *route; /* the route's pattern, e.g. /v1/agents/{}; "-" when none matched */
    int status;
    uint64_t bytes; /* body bytes of the answer */
    uint64_t duration_us;
    const char *principal; /* "role:label", "" for public routes and failed authentication */
    const char *code;      /* API error code of a refusal, "" on success */
};

/* target: "" (off: *out is NULL), "stderr", or an absolute file path. */
int srv_access_log_open(const char *target, struct srv_access_log **out);
/* Accepts a NULL log (off). Failures to write are counted, not fatal. */
void srv_access_log_write(struct srv_access_log *log, const struct srv_access_entry *e);
/* Open the file's path again (after logrotate moved it; SIGHUP) and write
 * there from now on. A log to standard error or off: nothing to do. On
 * failure the log keeps writing to the file it had, and DA_ERR_IO. */
int srv_access_log_reopen(struct srv_access_log *log);
/* Lines that could not be written, since open. */
uint64_t srv_access_log_failures(const struct srv_access_log *log);
void srv_access_log_close(struct srv_access_log *log);

#endif

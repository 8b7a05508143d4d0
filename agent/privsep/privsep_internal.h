/* Shared by privsep.c (the parent's side) and the children (signer.c,
 * collector_proc.c). */
#ifndef AGENT_PRIVSEP_INTERNAL_H
#define AGENT_PRIVSEP_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>

#include "buf.h"
#include "child.h"
#include "fields.h"

/* A child's answer to a request it cannot serve. */
int agent_privsep_send_error(int fd, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Send a request, receive ok_type (at most ok_cap bytes) or an error
 * message (returned as its DA_ERR_* code). A broken channel kills c. */
int agent_privsep_call(struct agent_child *c, uint32_t type, const struct da_buf *req,
                       uint32_t ok_type, uint32_t ok_cap, struct da_buf *answer);

/* After spawning: wait for READY; an ERROR is returned as its code (and the
 * child reaped). */
int agent_privsep_wait_ready(struct agent_child *c);

/* Copy a field into a fresh buffer with the given cap. */
int agent_privsep_take(const struct agent_field *f, struct da_buf *out, size_t cap);

#endif

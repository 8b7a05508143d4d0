/* Typed messages between the agent's processes (collector, signer, uploader).
 *
 * A frame is an 8-byte header — u32 type, u32 payload length, both big
 * endian — followed by the payload. The receiver knows, from a table, every
 * type it accepts and the largest payload for each; a frame of any other
 * type, or longer than its type allows, is refused before its payload is
 * read. Such a refusal is fatal for the process that receives it (the caller
 * turns the error into exit): a peer that sends it is broken or compromised.
 *
 * Sends and receives are blocking, restart on EINTR, and move whole frames
 * (short reads and writes are continued). A peer that exits is seen as
 * DA_ERR_IPC_CLOSED: at a frame boundary that is a normal end; in the middle
 * of a frame it is DA_ERR_TRUNCATED.
 */
#ifndef AGENT_IPC_H
#define AGENT_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define AGENT_IPC_HEADER_LEN  8
#define AGENT_IPC_MAX_PAYLOAD (16u * 1024 * 1024) /* no table may allow more */
#define AGENT_IPC_MAX_TYPES   32                  /* entries in one table */

enum agent_ipc_allowed {
    AGENT_IPC_ONCE = 1, /* a second frame of this type is fatal */
    AGENT_IPC_MANY = 2,
};

/* Positive handler result: stop serving, successfully. */
#define AGENT_IPC_STOP 1

/* One accepted message type. handle may be NULL in tables that are only used
 * to receive (agent_ipc_recv). handle returns 0 to go on, AGENT_IPC_STOP, or
 * a negative DA_ERR_* that ends serving with that error. */
struct agent_ipc_handler {
    uint32_t type;
    uint32_t max_len;
    enum agent_ipc_allowed allowed;
    int (*handle)(void *ctx, int fd, const unsigned char *payload, size_t len);
};

/* Send one frame. DA_ERR_INVALID_ARG for a payload over AGENT_IPC_MAX_PAYLOAD,
 * DA_ERR_IPC_CLOSED when the peer is gone, DA_ERR_IO otherwise. Never raises
 * SIGPIPE. */
int agent_ipc_send(int fd, uint32_t type, const void *payload, size_t len);

/* Check a header against a table: *entry is the table row, *len the payload
 * length. DA_ERR_IPC for an unknown type, DA_ERR_TOO_LARGE over the cap. */
int agent_ipc_header_check(const unsigned char hdr[AGENT_IPC_HEADER_LEN],
                           const struct agent_ipc_handler *table, size_t n,
                           const struct agent_ipc_handler **entry, uint32_t *len);

/* Decode exactly one frame held in data[0..len): the header is checked as
 * above, then DA_ERR_TRUNCATED if the payload is short, DA_ERR_TRAILING_DATA
 * if bytes follow it. *payload points into data. */
int agent_ipc_frame_decode(const unsigned char *data, size_t len,
                           const struct agent_ipc_handler *table, size_t n, uint32_t *type,
                           const unsigned char **payload, size_t *plen);

/* Receive one frame whose type is in the table. The payload goes into out,
 * which is reset and given the type's cap. timeout_ms < 0 waits forever;
 * DA_ERR_TIMEOUT when nothing complete arrived in time (the channel is then
 * out of step and must be abandoned). */
int agent_ipc_recv(int fd, const struct agent_ipc_handler *table, size_t n, int timeout_ms,
                   uint32_t *type, struct da_buf *out);

/* Serve frames from fd through the table's handlers until the peer closes the
 * channel at a frame boundary (returns 0), a handler returns AGENT_IPC_STOP
 * (returns 0) or anything goes wrong (returns the error: unknown type, over
 * the cap, a second ONCE frame, truncated frame, handler error). */
int agent_ipc_serve(int fd, const struct agent_ipc_handler *table, size_t n, void *ctx);

/* Several channels served by one process (the collector: its parent, and
 * the signer's evidence channel). Serving ends when the first channel's
 * peer closes (0), a handler returns AGENT_IPC_STOP (0) or on any error; a
 * later channel that closes is only no longer watched. ONCE counts per
 * channel. */
#define AGENT_IPC_MAX_CHANNELS 4
struct agent_ipc_channel {
    int fd;
    const struct agent_ipc_handler *table;
    size_t n;
};
int agent_ipc_serve_channels(const struct agent_ipc_channel *ch, size_t nch, void *ctx);

/* Send a request and wait for its answer, which must be of a type in the
 * answer table. */
int agent_ipc_call(int fd, uint32_t type, const void *payload, size_t len,
                   const struct agent_ipc_handler *answers, size_t n, int timeout_ms,
                   uint32_t *answer_type, struct da_buf *answer);

#endif

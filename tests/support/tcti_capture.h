/* A recording TCP proxy between a TCTI and swtpm, for tests that look at
 * what crosses the TPM "bus": it listens on two adjacent loopback ports
 * (command and control, as the swtpm TCTI expects), forwards every byte to
 * swtpm's pair and keeps a copy of both directions. */
#ifndef DA_TCTI_CAPTURE_H
#define DA_TCTI_CAPTURE_H

#include <stddef.h>

struct tt_capture;

/* Start forwarding to swtpm on 127.0.0.1:swtpm_port (and swtpm_port + 1).
 * tcti receives the TCTI string that goes through the proxy. 0 or -1. */
int tt_capture_start(int swtpm_port, char *tcti, size_t tcti_size, struct tt_capture **out);
/* Stop the proxy thread and close every connection; the capture stays
 * readable until tt_capture_free. */
void tt_capture_stop(struct tt_capture *c);
void tt_capture_free(struct tt_capture *c);
/* Bytes sent to the TPM and bytes received from it on the command channel,
 * in order (valid after tt_capture_stop): the TPM commands and responses one
 * after the other. The control channel is kept apart. */
const unsigned char *tt_capture_to_tpm(const struct tt_capture *c, size_t *len);
const unsigned char *tt_capture_from_tpm(const struct tt_capture *c, size_t *len);
/* Flip one bit at byte offset of the response to the next command with
 * command code cc (TPM2_CC_*) that passes through the proxy; what is
 * recorded is what the TPM sent. tt_capture_tampered tells how many
 * responses were altered. */
void tt_capture_tamper(struct tt_capture *c, unsigned cc, size_t offset);
unsigned tt_capture_tampered(struct tt_capture *c);
/* Whether needle occurs in either direction, control channel included. */
int tt_capture_contains(const struct tt_capture *c, const void *needle, size_t len);

#endif

/* The signer's part of attest (signer_attest.c). */
#ifndef AGENT_SIGNER_ATTEST_H
#define AGENT_SIGNER_ATTEST_H

#include <stddef.h>

#include "agent_config.h"
#include "buf.h"
#include "tpm.h"

/* The receipt of the last verified report, kept by the uploader. */
#define AGENT_RECEIPT_FILE "receipt.json"

/* Record the canonical evidence just quoted (the last two are kept in
 * <state_dir>/signer/); a failure is only logged. */
void agent_signer_record_quoted(const char *state_dir, const struct da_buf *canon);

/* Serve one ATTEST_SIGN: ATTEST_SIGNED with the bundle lines, or an ERROR
 * with the reason; DA_ERR_IPC for a malformed frame (fatal). */
int agent_signer_attest(const struct agent_config *cfg, struct agent_tpm *tpm,
                        const struct agent_tpm_identity *id, int fd, const unsigned char *p,
                        size_t n);

#endif

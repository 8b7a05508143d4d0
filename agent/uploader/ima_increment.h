/* The IMA runtime measurement list the agent sends: the entries after the
 * ones the server already replayed (docs/evidence.md "ima").
 *
 * The list (root-only readable in securityfs) is opened once by the agent's
 * root parent before the uploader drops its privileges; the uploader keeps
 * the descriptor and reads the list again after each quote, so a report
 * never carries entries older than the quote is missing (the server stops
 * its replay at the point the quote covers). */
#ifndef AGENT_IMA_INCREMENT_H
#define AGENT_IMA_INCREMENT_H

#include <stdint.h>

#include "buf.h"

#define AGENT_IMA_DEFAULT_PATH "/sys/kernel/security/ima/binary_runtime_measurements"

/* Open the list (path NULL: AGENT_IMA_DEFAULT_PATH). DA_ERR_NOT_FOUND when
 * the kernel has no IMA, DA_ERR_PERMISSION when it may not be read. */
int agent_ima_open(const char *path, int *fd);

/* Read the list from its start and put into out (capped at
 * DA_MAX_IMA_INCREMENT) the bytes of the entries after the first skip.
 * Entries are walked with the common parser (ima_log.h) while skipping;
 * what follows is copied unchecked: the server checks it. DA_ERR_NOT_FOUND
 * when the list has fewer than skip entries (another boot: send it whole),
 * DA_ERR_TPM_IMA_LOG when a skipped entry is malformed, DA_ERR_TOO_LARGE
 * when the increment is over the cap, DA_ERR_IO. */
int agent_ima_increment(int fd, uint64_t skip, struct da_buf *out);

#endif

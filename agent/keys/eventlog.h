/* Reading the firmware's TPM event log for the server and tpm-info; the
 * parser and replay are common/eventlog.h. */
#ifndef AGENT_EVENTLOG_H
#define AGENT_EVENTLOG_H

#include <stddef.h>
#include <stdint.h>

#include "tcg_eventlog.h"
#include "tpm.h"

#define AGENT_EVENTLOG_DEFAULT_PATH "/sys/kernel/security/tpm0/binary_bios_measurements"

/* Read the event log whole (path NULL: AGENT_EVENTLOG_DEFAULT_PATH).
 * DA_ERR_NOT_FOUND when there is none (no TPM or no firmware log),
 * DA_ERR_PERMISSION when it may not be read, DA_ERR_TOO_LARGE past
 * DA_MAX_EVENT_LOG. The bytes are not checked here. */
int agent_eventlog_read(const char *path, struct da_buf *out);

#endif

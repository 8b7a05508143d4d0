/* Readiness and watchdog notifications to systemd (sd_notify protocol)
 * without libsystemd: one datagram to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace). When the
 * variable is unset the agent is not under systemd and nothing is sent. */
#ifndef AGENT_NOTIFY_H
#define AGENT_NOTIFY_H

#include <stdint.h>

/* Send state, e.g. "READY=1", "WATCHDOG=1", "STOPPING=1", "RELOADING=1",
 * "STATUS=...". 0 when sent or when there is no NOTIFY_SOCKET; DA_ERR_IO. */
int agent_notify(const char *state);

/* The watchdog interval systemd asked for ($WATCHDOG_USEC, honouring
 * $WATCHDOG_PID), in microseconds; 0 when there is none. */
uint64_t agent_notify_watchdog_usec(void);

#endif

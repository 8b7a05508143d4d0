/* The firmware's TPM event log (TCG PC Client Platform Firmware Profile):
 * read it as bytes for the server, and walk it to summarize and replay it.
 * The parser is strict: truncated events, trailing bytes, unknown digest
 * algorithms in an event and PCR indices above 23 are refused with
 * DA_ERR_TPM_EVENTLOG. */
#ifndef AGENT_EVENTLOG_H
#define AGENT_EVENTLOG_H

#include <stddef.h>
#include <stdint.h>

#include "tpm.h"

#define AGENT_EVENTLOG_DEFAULT_PATH "/sys/kernel/security/tpm0/binary_bios_measurements"
#define AGENT_EVENTLOG_MAX_ALGS     8
#define AGENT_EVENTLOG_PCRS         24
#define AGENT_EVENTLOG_MAX_DIGEST   64

struct agent_eventlog_summary {
    int crypto_agile;                       /* 1: TCG_PCR_EVENT2 events after a Spec ID Event03 */
    size_t events;                          /* all events, the header event included */
    size_t alg_count;                       /* digest algorithms the log carries */
    uint16_t algs[AGENT_EVENTLOG_MAX_ALGS]; /* TPM2_ALG_* */
    uint16_t alg_sizes[AGENT_EVENTLOG_MAX_ALGS]; /* their digest sizes */
    uint32_t extended_pcrs;                      /* bitmask of PCRs the log extends */
};

/* Read the event log whole (path NULL: AGENT_EVENTLOG_DEFAULT_PATH).
 * DA_ERR_NOT_FOUND when there is none (no TPM or no firmware log),
 * DA_ERR_PERMISSION when it may not be read, DA_ERR_TOO_LARGE past
 * DA_MAX_EVENT_LOG. The bytes are not checked here. */
int agent_eventlog_read(const char *path, struct agent_bytes *out);

/* Walk the log and summarize it. */
int agent_eventlog_parse(const unsigned char *data, size_t len, struct agent_eventlog_summary *out);

/* Replay the extends of one bank: pcrs[i] receives PCR i as the log says it
 * should be (all PCRs start at zero; a StartupLocality event sets PCR 0's
 * locality). *extended gets the bitmask of PCRs the log extends in that bank.
 * DA_ERR_NOT_FOUND when the log has no digests of that algorithm. */
int agent_eventlog_replay(const unsigned char *data, size_t len, uint16_t alg,
                          unsigned char pcrs[AGENT_EVENTLOG_PCRS][AGENT_EVENTLOG_MAX_DIGEST],
                          uint32_t *extended);

#endif

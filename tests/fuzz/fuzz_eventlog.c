/* The firmware event log parser and replay (agent/eventlog.c). */
#include <stddef.h>
#include <stdint.h>

#include "eventlog.h"
#include "log.h"

static void quiet(enum da_log_level level, const char *line, void *ctx)
{
    (void)level;
    (void)line;
    (void)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned char pcrs[DA_EVENTLOG_PCRS][DA_EVENTLOG_MAX_DIGEST];
    struct da_eventlog_summary s;
    uint32_t extended;

    da_log_set_sink(quiet, NULL);
    if (da_eventlog_parse(data, size, &s) == 0) {
        (void)da_eventlog_replay(data, size, 0x000b, pcrs, &extended);
        (void)da_eventlog_replay(data, size, 0x0004, pcrs, &extended);
    }
    return 0;
}

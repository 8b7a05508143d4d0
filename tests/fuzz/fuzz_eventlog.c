/* The firmware event log parser, replay, comparison with a quote and the
 * measured facts (common/tcg_eventlog.c, common/eventlog_facts.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "eventlog_facts.h"
#include "log.h"
#include "quote.h"
#include "tcg_eventlog.h"

static void quiet(enum da_log_level level, const char *line, void *ctx)
{
    (void)level;
    (void)line;
    (void)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned char pcrs[DA_EVENTLOG_PCRS][DA_EVENTLOG_MAX_DIGEST];
    static unsigned char values[24 * 32];
    struct da_eventlog_summary s;
    struct da_eventlog_mismatch m;
    struct da_pcr_selection sel;
    cJSON *facts = NULL;
    uint32_t extended;

    da_log_set_sink(quiet, NULL);
    if (da_eventlog_parse(data, size, &s) == 0) {
        (void)da_eventlog_replay(data, size, 0x000b, pcrs, &extended);
        (void)da_eventlog_replay(data, size, 0x0004, pcrs, &extended);
        if (da_pcr_selection_parse("sha256:0-23", &sel) == 0) {
            memset(values, 0, sizeof(values));
            (void)da_eventlog_match(data, size, &sel, values, sizeof(values), &m);
        }
        unsigned char(*dbx)[32] = NULL;
        size_t n = 0;
        if (da_eventlog_facts(data, size, 0x000b, &facts) == 0)
            cJSON_Delete(facts);
        if (da_eventlog_dbx_sha256(data, size, &dbx, &n) == 0)
            free(dbx);
    }
    return 0;
}

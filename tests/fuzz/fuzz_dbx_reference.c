/* The dated dbx reference the server loads (common/eventlog_facts.c). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_target.h"
#include "eventlog_facts.h"
#include "log.h"

static void quiet(enum da_log_level level, const char *line, void *ctx)
{
    (void)level;
    (void)line;
    (void)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct da_dbx_reference ref;

    da_log_set_sink(quiet, NULL);
    if (da_dbx_reference_parse((const char *)data, size, &ref) == 0)
        da_dbx_reference_free(&ref);
    return 0;
}

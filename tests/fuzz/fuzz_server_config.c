/* The server configuration file parser. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_target.h"
#include "config.h"
#include "log.h"

static void drop(enum da_log_level level, const char *line, void *ctx)
{
    (void)level;
    (void)line;
    (void)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct srv_config cfg;

    da_log_set_sink(drop, NULL);
    srv_config_defaults(&cfg);
    if (srv_config_parse(&cfg, (const char *)data, size) == 0)
        (void)srv_config_finish(&cfg);
    return 0;
}

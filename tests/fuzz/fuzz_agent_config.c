/* The agent configuration parser on arbitrary input: it must accept or reject
 * with a file:line reason, never crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_target.h"
#include "agent_config.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    da_log_set_level(DA_LOG_ERROR);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct agent_config cfg;
    struct da_kvconf_error err;
    char msg[600];

    if (agent_config_defaults(&cfg) != 0)
        return 0;
    if (agent_config_parse(&cfg, (const char *)data, size, "fuzz.conf", &err) != 0) {
        da_kvconf_error_format(&err, msg, sizeof(msg));
        if (memchr(msg, '\0', sizeof(msg)) == NULL)
            __builtin_trap();
    }
    agent_config_free(&cfg);
    return 0;
}

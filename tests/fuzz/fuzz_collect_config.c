/* The collectors' JSON configuration: parsed strictly or refused. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_target.h"
#include "collector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct col_config_file *f = NULL;

    if (col_config_parse((const char *)data, size, &f) == 0) {
        const struct col_config *c = col_config_get(f);
        size_t i;

        for (i = 0; i < c->n_production_cidrs; i++)
            if (col_cidr_check(c->production_cidrs[i]) != 0)
                __builtin_trap();
        col_config_free(f);
    }
    return 0;
}

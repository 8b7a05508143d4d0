/* dpkg's diversions database parser and its lookups. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_target.h"
#include "deb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct col_diversions d;

    if (col_diversions_parse((const char *)data, size, &d) == 0) {
        (void)col_diversion_from(&d, "/usr/bin/gcc");
        (void)col_diversion_to(&d, "/usr/bin/gcc.real");
        col_diversions_free(&d);
    }
    return 0;
}

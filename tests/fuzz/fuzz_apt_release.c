/* apt Release / InRelease first paragraph. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_target.h"
#include "deb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct col_release rel;

    if (col_release_parse((const char *)data, size, &rel) == 0) {
        (void)col_release_priority(&rel);
        (void)col_release_is_security(&rel);
    }
    return 0;
}

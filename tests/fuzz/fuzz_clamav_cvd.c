/* ClamAV signature database header parser. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_target.h"
#include "clamav.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct col_cvd c;

    (void)col_cvd_header_parse((const char *)data, size, &c);
    return 0;
}

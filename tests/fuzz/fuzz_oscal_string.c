/* Values of the OSCAL export that come from outside (observed values,
 * host names; srv_oscal_string, server/oscal.c) must always be a valid
 * OSCAL string: not empty, no line break, no white space at either end,
 * and valid UTF-8 when the input was. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "encoding.h"
#include "oscal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in, out[SRV_OSCAL_STRING_SIZE];
    size_t n;
    unsigned char first, last;

    if (size > 4 * SRV_OSCAL_STRING_MAX)
        return 0;
    in = malloc(size + 1);
    if (in == NULL)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    srv_oscal_string(in, out);
    n = strlen(out);
    if (n == 0 || n >= SRV_OSCAL_STRING_SIZE)
        abort();
    first = (unsigned char)out[0];
    last = (unsigned char)out[n - 1];
    if (first < 0x21 || first > 0x7e || last < 0x21 || last > 0x7e)
        abort();
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];

        if (c < 0x20 || c == 0x7f)
            abort();
        if (c == 0xe2 && i + 2 < n && (unsigned char)out[i + 1] == 0x80 &&
            ((unsigned char)out[i + 2] == 0xa8 || (unsigned char)out[i + 2] == 0xa9))
            abort();
    }
    if (da_utf8_valid(in, strlen(in)) && !da_utf8_valid(out, n))
        abort();
    free(in);
    return 0;
}

/* Query values of the list routes (server/listing.h): RFC 3339 times and
 * cursors. The first byte picks the parser; the rest is the value. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "listing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text, id[80], out[SRV_CURSOR_SIZE], id2[80];
    int64_t n = 0, n2 = 0;

    if (size < 1)
        return 0;
    text = malloc(size);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (data[0] % 3 == 0) {
        (void)srv_time_parse_rfc3339(text, &n);
    } else if (srv_cursor_parse(text, data[0] % 3 == 1, &n, id, sizeof(id)) == 0) {
        /* a cursor that parses prints back to itself */
        srv_cursor_format(n, data[0] % 3 == 1 ? id : NULL, out);
        if (strcmp(out, text) != 0 ||
            srv_cursor_parse(out, data[0] % 3 == 1, &n2, id2, sizeof(id2)) != 0 || n2 != n)
            abort();
    }
    free(text);
    return 0;
}

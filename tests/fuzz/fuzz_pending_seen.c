/* The first-seen record of pending upgrades (state directory): a strict
 * parser. A parsed record formats back to exactly the same bytes, and every
 * entry it keeps can be found again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "deb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct col_seen s;
    char *text = NULL;
    size_t len = 0, i;

    /* "now" well after every time in the corpus, before the record's limit */
    if (col_seen_parse((const char *)data, size, INT64_C(4102444800), &s) != 0)
        return 0;
    if (col_seen_format(&s, &text, &len) == 0 && (len != size || memcmp(text, data, size) != 0))
        abort();
    for (i = 0; i < s.n; i++)
        if (col_seen_find(&s, s.v[i].name, s.v[i].candidate) != &s.v[i])
            abort();
    free(text);
    col_seen_free(&s);
    return 0;
}

/* Debian version syntax and comparison: input is "A\nB"; valid versions
 * must compare antisymmetrically and reflexively. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "deb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    char *a, *b;
    size_t an;

    if (nl == NULL || size > 4096)
        return 0;
    an = (size_t)(nl - (const char *)data);
    a = malloc(an + 1);
    b = malloc(size - an);
    if (a != NULL && b != NULL) {
        memcpy(a, data, an);
        a[an] = '\0';
        memcpy(b, nl + 1, size - an - 1);
        b[size - an - 1] = '\0';
    }
    if (a != NULL && b != NULL && strlen(a) == an && strlen(b) == size - an - 1 &&
        col_debver_check(a, an) >= 0 && col_debver_check(b, strlen(b)) >= 0) {
        int x = col_debver_cmp(a, b), y = col_debver_cmp(b, a);

        if ((x < 0) != (y > 0) || (x == 0) != (y == 0) || col_debver_cmp(a, a) != 0)
            abort();
    }
    free(a);
    free(b);
    return 0;
}

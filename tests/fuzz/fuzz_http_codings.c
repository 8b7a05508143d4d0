/* The Transfer-Encoding value parser of the HTTP layer (server/http_guard.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "err.h"
#include "http_guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *v = malloc(size + 1);
    int rc;

    if (v == NULL)
        return 0;
    memcpy(v, data, size);
    v[size] = '\0';
    rc = srv_guard_codings_check(v);
    if (rc != 0 && rc != DA_ERR_HTTP_CODING && rc != DA_ERR_HTTP_FRAMING)
        abort();
    free(v);
    return 0;
}

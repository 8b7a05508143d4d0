/* UEFI dbx update files converted into a dbx reference
 * (da_dbx_update_sha256, common/eventlog_facts.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "err.h"
#include "eventlog_facts.h"
#include "log.h"

static void quiet(enum da_log_level level, const char *line, void *ctx)
{
    (void)level;
    (void)line;
    (void)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char(*h)[32] = NULL;
    size_t n = 0;
    int rc;

    da_log_set_sink(quiet, NULL);
    rc = da_dbx_update_sha256(data, size, &h, &n);
    /* an accepted file gives sorted entries, at most one per 48 bytes */
    if (rc == 0 && (n > size / 48 || (n > 1 && memcmp(h[0], h[n - 1], 32) > 0)))
        abort();
    if (rc != 0 && (h != NULL || n != 0 || (rc != DA_ERR_DBX_UPDATE && rc != DA_ERR_NOMEM)))
        abort();
    free(h);
    return 0;
}

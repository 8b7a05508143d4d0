/* The spool entry parser on arbitrary bytes (a spool file can be damaged in
 * any way): accept only an exact, intact entry; never crash or over-read.
 * Accepted entries must re-encode to the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_target.h"
#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const unsigned char *payload;
    uint64_t seq, created;
    struct da_buf again;
    size_t n;

    if (agent_spool_entry_parse(data, size, &seq, &created, &payload, &n) != 0)
        return 0;
    da_buf_init(&again, 0);
    if (agent_spool_entry_encode(seq, created, payload, n, &again) != 0 ||
        da_buf_len(&again) != size || memcmp(da_buf_data(&again), data, size) != 0)
        __builtin_trap();
    da_buf_free(&again);
    return 0;
}

/* The field splitter of privilege-separation payloads on arbitrary bytes:
 * split into 1..4 fields with small caps; accepted payloads re-encode to
 * the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_target.h"
#include "fields.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[4] = {16, 64, 4096, 8};
    struct agent_field f[4];
    struct da_buf again;
    size_t n, i;
    uint64_t v;
    char s[17];

    for (n = 1; n <= 4; n++) {
        if (agent_fields_split(data, size, n, caps, f) != 0)
            continue;
        da_buf_init(&again, 8192);
        for (i = 0; i < n; i++) {
            if (agent_fields_put(&again, f[i].data, f[i].len) != 0)
                __builtin_trap();
        }
        if (da_buf_len(&again) != size || (size != 0 && memcmp(da_buf_data(&again), data, size)))
            __builtin_trap();
        da_buf_free(&again);
        (void)agent_field_str(&f[0], s, sizeof(s));
        (void)agent_field_u64(&f[n - 1], &v);
    }
    return 0;
}

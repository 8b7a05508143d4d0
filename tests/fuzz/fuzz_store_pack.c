/* What the compact store reads: a report body's top-level members
 * (srv_json_members, on the body as posted) and the per-report record and
 * evidence-set formats it reads back from the database. The input is
 * tried as all three. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "err.h"
#include "store_pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct srv_json_member m[SRV_PACK_MAX_AREAS];
    struct srv_pack_area a[SRV_PACK_MAX_AREAS];
    struct srv_pack_rec rec, back;
    unsigned char *raw = NULL;
    size_t n = 0, i, len = 0;

    if (srv_json_members((const char *)data, size, m, SRV_PACK_MAX_AREAS, &n)) {
        /* spans lie inside the text, in order, and start with a quote */
        for (i = 0; i < n; i++) {
            if (m[i].key_off + m[i].key_len > size || m[i].val_off + m[i].val_len > size ||
                data[m[i].key_off] != '"' || m[i].val_off < m[i].key_off + m[i].key_len ||
                (i > 0 && m[i].key_off < m[i - 1].val_off + m[i - 1].val_len))
                abort();
        }
    }
    if (srv_pack_rec_read(data, size, &rec) == 0) {
        /* what parses writes back to the same bytes */
        if (srv_pack_rec_write(&rec, &raw, &len) != 0 || len != size ||
            memcmp(raw, data, size) != 0)
            abort();
        if (srv_pack_rec_read(raw, len, &back) != 0 || back.n_subs != rec.n_subs)
            abort();
        free(raw);
    }
    if (srv_pack_areas_read(data, size, a, SRV_PACK_MAX_AREAS, &n) == 0) {
        for (i = 0; i < n; i++)
            if (a[i].key < (const char *)data ||
                a[i].key + a[i].key_len > (const char *)data + size)
                abort();
    }
    return 0;
}

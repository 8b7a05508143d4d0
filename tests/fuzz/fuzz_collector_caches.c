/* The files collectors read back from the state directory (patches cache,
 * toolchain cache) and apt.conf syntax: strict parsers. A parsed cache must
 * format back to exactly the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "deb.h"
#include "toolcache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct col_patch_facts f;
    struct col_toolcache c;
    char val[64], *text = NULL;
    size_t len = 0;

    if (col_patch_cache_parse((const char *)data, size, &f) == 0) {
        if (col_patch_cache_format(&f, &text, &len) == 0 &&
            (len != size || memcmp(text, data, size) != 0))
            abort();
        free(text);
        text = NULL;
        col_patch_facts_free(&f);
    }
    if (col_toolcache_parse((const char *)data, size, &c) == 0) {
        if (col_toolcache_format(&c, &text, &len) == 0 &&
            (len != size || memcmp(text, data, size) != 0))
            abort();
        free(text);
        col_toolcache_free(&c);
    }
    (void)col_aptconf_value((const char *)data, size, "APT::Periodic::Unattended-Upgrade", val,
                            sizeof(val));
    return 0;
}

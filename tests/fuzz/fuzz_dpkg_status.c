/* dpkg status parser: any input is parsed or rejected, never crashes. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_target.h"
#include "deb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct col_pkgdb *db = NULL;
    struct col_patch_facts f;

    if (col_pkgdb_from_status((const char *)data, size, &db) == 0) {
        if (col_pkgdb_facts(db, &f) == 0)
            col_patch_facts_free(&f);
        col_pkgdb_free(db);
    }
    return 0;
}

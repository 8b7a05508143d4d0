/* dnf's .solv freshness mark: the input is a whole .solv file (its header
 * read with libsolv's solv_read_userdata, then our check against a mark),
 * and the same bytes as a bare user data block checked against a mark taken
 * from its own checksum field, so that the fresh answer is reachable. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <solv/solvversion.h>

#include "fuzz_target.h"
#include "err.h"
#include "rpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char mark[32];
    int r;

    if (size == 0)
        return 0;
    if (col_rpm_repomd_mark(data, size, mark) != 0)
        abort();
    {
        unsigned char *copy = malloc(size);
        FILE *fp = NULL;

        if (copy == NULL)
            return 0;
        memcpy(copy, data, size);
        fp = fmemopen(copy, size, "r");
        if (fp != NULL) {
            r = col_rpm_solv_fresh(fp, mark);
            /* a mark over the whole file cannot be inside the file */
            if (r != 0 && r != DA_ERR_COLLECT_PARSE)
                abort();
            fclose(fp);
        }
        free(copy);
    }
    if (size >= 48)
        memcpy(mark, data + 16, 32);
    r = col_rpm_solv_userdata_check(data, size, mark, solv_toolversion);
    if (r != 1 && r != 0 && r != DA_ERR_COLLECT_PARSE)
        abort();
    if (r == 1 && (size != COL_RPM_SOLV_USERDATA || memcmp(data + 16, mark, 32) != 0 ||
                   memcmp(data + 16 - strlen(solv_toolversion), solv_toolversion,
                          strlen(solv_toolversion)) != 0))
        abort();
    return 0;
}

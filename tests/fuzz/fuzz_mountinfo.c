/* /proc/self/mountinfo parser and the mount lookup. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_target.h"
#include "mountinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct col_mounts m;

    if (col_mountinfo_parse((const char *)data, size, &m) == 0) {
        (void)col_mounts_find(&m, "/home/user");
        (void)col_mounts_find(&m, "/");
        col_mounts_free(&m);
    }
    return 0;
}

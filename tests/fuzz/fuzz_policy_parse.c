/* Policy loader: any text either loads completely or is refused. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_target.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct da_policy *p = NULL;
    struct da_policy_error err;

    if (da_policy_load((const char *)data, size, "fuzz", &p, &err) == 0)
        da_policy_free(p);
    return 0;
}

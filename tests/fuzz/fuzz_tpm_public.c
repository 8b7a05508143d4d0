/* TPM2B_PUBLIC parser, name computation and the key profile checks. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_target.h"
#include "tpm_public.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct da_tpm_public *p = NULL;
    size_t n;

    if (da_tpm_public_parse(data, size, &p) != 0)
        return 0;
    (void)da_tpm_public_name(p, &n);
    (void)da_tpm_public_check_ak(p);
    (void)da_tpm_public_check_sk(p);
    (void)da_tpm_public_check_ek(p);
    da_tpm_public_free(p);
    return 0;
}

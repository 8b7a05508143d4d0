/* Setup shared by the verification-core tests against a real swtpm: a fresh
 * swtpm with the "keys" fixture of tests/integration/verify-tpm-fixture, and
 * the TPM2B_PUBLIC files it writes, parsed. */
#ifndef DA_VERIFY_SWTPM_H
#define DA_VERIFY_SWTPM_H

#include <stddef.h>

#include "swtpm_harness.h"
#include "tpm_public.h"

/* Start a swtpm and run the fixture "keys" into out = TPM_DIR/fx (out_size
 * bytes). 0 or -1; the caller stops the swtpm in either case. */
int vs_swtpm_with_keys(struct da_test_swtpm *tpm, char *out, size_t out_size);
/* Parse dir/name as a TPM2B_PUBLIC; the test fails when it cannot. */
struct da_tpm_public *vs_load_public(const char *dir, const char *name);

#endif

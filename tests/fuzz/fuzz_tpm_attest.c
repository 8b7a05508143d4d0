/* TPMS_ATTEST and TPMT_SIGNATURE parsers, and quote/certify verification
 * with the AK that signed the seed corpus.
 *
 * Input: either a bare structure (parsed as quote, certify and signature),
 * or a bundle: one byte n, then n bytes of TPMT_SIGNATURE, then the
 * TPMS_ATTEST, fed to da_quote_verify and da_certify_verify. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_target.h"
#include "quote.h"
#include "tpm_attest.h"
#include "tpm_public.h"

#include "corpus_keys.h" /* corpus_ak: the AK of the corpus quotes */

static struct da_tpm_public *ak;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    (void)corpus_ek_rsa;
    return da_tpm_public_parse(corpus_ak, sizeof(corpus_ak), &ak);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    TPMS_ATTEST a;
    TPMT_SIGNATURE s;
    struct da_pcr_selection sel;
    struct da_quote_expect e;
    uint8_t values[8 * 32], qd[32];
    size_t n;

    (void)da_tpm_attest_parse(data, size, TPM2_ST_ATTEST_QUOTE, &a);
    (void)da_tpm_attest_parse(data, size, TPM2_ST_ATTEST_CERTIFY, &a);
    (void)da_tpm_signature_parse(data, size, &s);
    if (ak == NULL || size < 1 || (n = data[0]) > size - 1)
        return 0;
    memset(values, 0, sizeof(values));
    memset(qd, 0, sizeof(qd));
    qd[31] = 7;
    if (da_pcr_selection_parse("sha256:0-7", &sel) != 0)
        return 0;
    memset(&e, 0, sizeof(e));
    e.ak = ak;
    e.qualifying_data = qd;
    e.qualifying_data_len = sizeof(qd);
    e.selection = &sel;
    e.pcr_values = values;
    e.pcr_values_len = sizeof(values);
    (void)da_quote_verify(data + 1 + n, size - 1 - n, data + 1, n, &e, NULL);
    (void)da_certify_verify(data + 1 + n, size - 1 - n, data + 1, n, ak, ak, NULL, 0, NULL);
    return 0;
}

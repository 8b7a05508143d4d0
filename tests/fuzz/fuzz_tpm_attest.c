/* TPMS_ATTEST and TPMT_SIGNATURE parsers, and quote/certify verification
 * with the AK that signed the seed corpus.
 *
 * Input: either a bare structure (parsed as quote, certify and signature),
 * or a bundle: one byte n, then n bytes of TPMT_SIGNATURE, then the
 * TPMS_ATTEST, fed to da_quote_verify and da_certify_verify. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "quote.h"
#include "tpm_attest.h"
#include "tpm_public.h"

/* tests/fuzz/corpus/tpm_public/ak.pub, the AK of the corpus quotes */
static const uint8_t corpus_ak[] = {
    0x00, 0x58, 0x00, 0x23, 0x00, 0x0b, 0x00, 0x05, 0x00, 0x72, 0x00, 0x00, 0x00, 0x10, 0x00,
    0x18, 0x00, 0x0b, 0x00, 0x03, 0x00, 0x10, 0x00, 0x20, 0x72, 0x92, 0x2b, 0x34, 0xbe, 0x1d,
    0xd8, 0x2b, 0x98, 0xb0, 0xdf, 0x10, 0xa7, 0x85, 0xc9, 0xcf, 0xa1, 0x78, 0xdc, 0xa9, 0x5d,
    0x6e, 0x16, 0xe1, 0xa6, 0x7b, 0x52, 0x06, 0x4d, 0xda, 0xf0, 0x26, 0x00, 0x20, 0x90, 0xd4,
    0xc2, 0xdd, 0xbc, 0x56, 0xc7, 0xd6, 0x50, 0x6e, 0xff, 0x7a, 0x48, 0x87, 0x3d, 0x29, 0xfe,
    0xd7, 0x59, 0xc3, 0xfb, 0x28, 0x28, 0x51, 0x2d, 0x7f, 0x4c, 0xd7, 0x51, 0xc0, 0x36, 0x02};

static struct da_tpm_public *ak;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
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

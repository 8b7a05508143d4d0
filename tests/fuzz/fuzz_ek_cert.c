/* EK certificates from agents: NV trimming, DER parsing and chain building
 * against a root that signed none of them, and the key comparison with a
 * fixed EK public. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_target.h"
#include "ek.h"
#include "tpm_public.h"

#include "corpus_keys.h"

static struct da_ek_trust *trust;
static struct da_tpm_public *ek;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    (void)corpus_ak;
    if (da_tpm_public_parse(corpus_ek_rsa, sizeof(corpus_ek_rsa), &ek) != 0)
        return 0;
    return da_ek_trust_new(&trust);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t der_len = 0;
    const char *reason;
    struct da_ek_cert_info info;
    const uint8_t *chain[1];
    size_t chain_len[1];

    if (trust == NULL || ek == NULL)
        return 0;
    if (da_ek_cert_trim(data, size, &der_len) == 0)
        size = der_len;
    /* The input is both the certificate and its own intermediate. */
    chain[0] = data;
    chain_len[0] = size;
    (void)da_ek_cert_verify_info(trust, data, size, chain, chain_len, 1, ek, 0, &reason, &info);
    (void)da_ek_trust_add_intermediate(trust, data, size);
    return 0;
}

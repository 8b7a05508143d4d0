/* Key blobs and TPM2B_PUBLIC from the state directory (agent/keys/tpm_struct.c):
 * strict decoding, then conversion of the public key to OpenSSL and PEM. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_target.h"
#include "log.h"
#include "tpm_internal.h"

static void quiet(enum da_log_level level, const char *line, void *ctx)
{
    (void)level;
    (void)line;
    (void)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    TPM2B_PRIVATE priv;
    TPM2B_PUBLIC pub;
    TPM2B_NAME name;
    EVP_PKEY *key = NULL;
    char *pem = NULL;

    da_log_set_sink(quiet, NULL);
    if (agent_keyblob_decode(data, size, &priv, &pub) == 0) {
        (void)agent_tpm_public_name(&pub, &name);
        if (agent_tpm_public_to_pkey(&pub, &key) == 0)
            EVP_PKEY_free(key);
    }
    if (agent_tpm_public_pem(data, size, &pem) == 0)
        free(pem);
    return 0;
}

/* EK templates and nonces read from a TPM's NV (agent/keys/tpm_struct.c): strict
 * TPMT_PUBLIC decoding against the profile's default templates, then the
 * nonce put into the unique field. The input is tried as a template of both
 * kinds and, whole, as a nonce. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_target.h"
#include "log.h"
#include "tpm_internal.h"

static void quiet(enum da_log_level level, const char *line, void *ctx)
{
    (void)level;
    (void)line;
    (void)ctx;
}

static void default_template(TPMI_ALG_PUBLIC type, TPM2B_PUBLIC *t)
{
    static const BYTE policy_a[32] = {0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8,
                                      0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
                                      0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64,
                                      0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa};
    TPMT_PUBLIC *a = &t->publicArea;

    memset(t, 0, sizeof(*t));
    a->type = type;
    a->nameAlg = TPM2_ALG_SHA256;
    a->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                          TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
                          TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
    a->authPolicy.size = sizeof(policy_a);
    memcpy(a->authPolicy.buffer, policy_a, sizeof(policy_a));
    if (type == TPM2_ALG_RSA)
        a->parameters.rsaDetail.keyBits = 2048;
    else
        a->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const TPMI_ALG_PUBLIC types[] = {TPM2_ALG_RSA, TPM2_ALG_ECC};
    TPM2B_PUBLIC dflt, out;
    size_t i;

    da_log_set_sink(quiet, NULL);
    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        default_template(types[i], &dflt);
        if (agent_ek_template_decode(data, size, &dflt, &out) == 0)
            (void)agent_ek_nonce_apply(&out, data, size > 16 ? 16 : size);
        (void)agent_ek_nonce_apply(&dflt, data, size);
    }
    return 0;
}

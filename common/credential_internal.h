/* The deterministic parts of credential.c, exposed for known-answer tests. */
#ifndef DA_CREDENTIAL_INTERNAL_H
#define DA_CREDENTIAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tpm_public.h"

/* KDFa of TPM 2.0 Part 1 (SP 800-108 counter mode with HMAC): label is a
 * C string whose terminating zero is part of the input. bits is a multiple
 * of 8; out receives bits / 8 bytes. */
int da_tpm_kdfa(TPMI_ALG_HASH hash, const uint8_t *key, size_t key_len, const char *label,
                const uint8_t *context_u, size_t u_len, const uint8_t *context_v, size_t v_len,
                size_t bits, uint8_t *out);

/* KDFe of TPM 2.0 Part 1 (SP 800-56A concatenation KDF). */
int da_tpm_kdfe(TPMI_ALG_HASH hash, const uint8_t *z, size_t z_len, const char *label,
                const uint8_t *party_u, size_t u_len, const uint8_t *party_v, size_t v_len,
                size_t bits, uint8_t *out);

/* The TPM2B_ID_OBJECT for a given seed (seed_len = digest size of the EK's
 * nameAlg), written to out (cap bytes), its length in *len. */
int da_credential_wrap(const struct da_tpm_public *ek, const uint8_t *name, size_t name_len,
                       const uint8_t *secret, size_t secret_len, const uint8_t *seed,
                       size_t seed_len, uint8_t *out, size_t cap, size_t *len);

#endif

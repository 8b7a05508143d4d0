/* Software stand-ins for TPM output in unit tests: TPM2B_PUBLIC areas for
 * keys held by the test, TPMT_SIGNATUREs made with them, and TPMS_ATTEST
 * structures with chosen fields. They let a test reach each check of the
 * verifier on purpose; the integration tests use a real swtpm. */
#ifndef DA_TPM_SOFT_H
#define DA_TPM_SOFT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#define SOFT_AK_ATTRS                                                                              \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |            \
     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)
#define SOFT_EK_ATTRS                                                                              \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |            \
     TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT)

/* "P-256", "P-384" or "RSA2048". NULL on failure. */
EVP_PKEY *soft_key(const char *kind);

struct soft_public {
    TPMA_OBJECT attrs;
    TPMI_ALG_HASH name_alg;
    TPMI_ALG_SIG_SCHEME scheme; /* TPM2_ALG_NULL for none */
    TPMI_ALG_HASH scheme_hash;
    uint16_t sym_bits; /* 0: no symmetric, else AES-CFB with these bits */
};

/* The marshalled TPM2B_PUBLIC of k with the given description. 0 or -1. */
int soft_tpm_public(EVP_PKEY *k, const struct soft_public *d, uint8_t *out, size_t cap,
                    size_t *len);

/* A marshalled TPMT_SIGNATURE by k over H_hash(msg). 0 or -1. */
int soft_sign(EVP_PKEY *k, TPMI_ALG_SIG_SCHEME scheme, TPMI_ALG_HASH hash, const uint8_t *msg,
              size_t msg_len, uint8_t *out, size_t cap, size_t *len);

/* Marshal a TPMS_ATTEST. 0 or -1. */
int soft_attest(const TPMS_ATTEST *a, uint8_t *out, size_t cap, size_t *len);

/* A plausible quote: magic, type, extraData = qd, safe clock, the
 * selection and pcrDigest = H_hash(values). */
void soft_quote_info(TPMS_ATTEST *a, const uint8_t *qd, size_t qd_len, TPMI_ALG_HASH bank,
                     uint32_t pcr_mask, const uint8_t *values, size_t values_len,
                     TPMI_ALG_HASH hash);

#endif

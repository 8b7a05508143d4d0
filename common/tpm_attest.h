/* TPMS_ATTEST and TPMT_SIGNATURE from outside, parsed strictly.
 *
 * The attestation structure is the exact byte string the TPM signed (the
 * contents of TPM2B_ATTEST without its size field, as tpm2_quote -m and
 * tpm2_certify -o write it). Checks, in this order so that each defect has
 * its own code: the magic is TPM_GENERATED_VALUE (0xFF544347), the type is
 * the one expected, every field unmarshals with each TPM2B within its
 * bounds, and no byte follows the structure.
 */
#ifndef DA_TPM_ATTEST_H
#define DA_TPM_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

/* Parse attest[0..len) (at most DA_MAX_TPM_STRUCT) into *out.
 * expected_type is TPM2_ST_ATTEST_QUOTE or TPM2_ST_ATTEST_CERTIFY.
 * Errors: DA_ERR_VERIFY_ATTEST_MAGIC, DA_ERR_VERIFY_ATTEST_TYPE,
 * DA_ERR_VERIFY_ATTEST_FORMAT (truncated, a TPM2B or a PCR selection out of
 * bounds), DA_ERR_TRAILING_DATA, DA_ERR_TOO_LARGE, DA_ERR_INVALID_ARG. */
int da_tpm_attest_parse(const uint8_t *attest, size_t len, TPM2_ST expected_type, TPMS_ATTEST *out);

/* Parse a marshalled TPMT_SIGNATURE (as tpm2_quote -s writes it by default).
 * Only ECDSA, RSASSA and RSAPSS signatures are accepted. Errors:
 * DA_ERR_VERIFY_SIG_SCHEME (another algorithm), DA_ERR_VERIFY_SIGNATURE
 * (malformed), DA_ERR_TRAILING_DATA, DA_ERR_TOO_LARGE. */
int da_tpm_signature_parse(const uint8_t *sig, size_t len, TPMT_SIGNATURE *out);

/* DER ECDSA-Sig-Value of a TPM ECDSA signature's (r, s), as OpenSSL verifies
 * it, into der[0..cap); its length in *der_len. DA_ERR_NOMEM when it cannot be
 * made or does not fit in cap (2 * (TPM2_MAX_ECC_KEY_BYTES + 4) + 4 always
 * fits). */
int da_tpm_ecdsa_to_der(const TPMS_SIGNATURE_ECC *sig, uint8_t *der, size_t cap, size_t *der_len);

#endif

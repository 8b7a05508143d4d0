/* TPM2B_PUBLIC from outside: strict parsing, the object name, key checks.
 *
 * A public area arrives as the marshalled TPM2B_PUBLIC (2-byte size, then
 * TPMT_PUBLIC), exactly as tpm2_readpublic/Esys_ReadPublic produce it. The
 * parser accepts only input that unmarshals completely, whose size field
 * agrees with the length, and that marshals back to the same bytes, so that
 * the name computed here is the name the TPM computes.
 *
 * A parsed public owns an OpenSSL key built from it (EVP_PKEY, ECC P-256,
 * P-384 or RSA 2048..4096), made once at parse time so verifications do not
 * rebuild it. The object is read-only after parsing and may be shared by
 * threads.
 */
#ifndef DA_TPM_PUBLIC_H
#define DA_TPM_PUBLIC_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

/* Largest object name: 2-byte algorithm id plus a SHA-512 digest. */
#define DA_TPM_NAME_MAX 66

struct da_tpm_public;

/* Parse a marshalled TPM2B_PUBLIC of len bytes (at most DA_MAX_TPM_STRUCT).
 * Errors: DA_ERR_VERIFY_TPM_PUBLIC (malformed, size field disagrees,
 * not canonical), DA_ERR_TRAILING_DATA (bytes after the structure),
 * DA_ERR_TOO_LARGE, DA_ERR_VERIFY_KEY_TYPE (not an ECC P-256/P-384 or
 * RSA 2048..4096 key), DA_ERR_VERIFY_HASH_ALG (nameAlg not SHA-256/384/512),
 * DA_ERR_NOMEM. */
int da_tpm_public_parse(const uint8_t *buf, size_t len, struct da_tpm_public **out);
void da_tpm_public_free(struct da_tpm_public *pub);

/* The TPMT_PUBLIC as unmarshalled. */
const TPMT_PUBLIC *da_tpm_public_area(const struct da_tpm_public *pub);
/* The marshalled TPM2B_PUBLIC as given to da_tpm_public_parse. */
const uint8_t *da_tpm_public_bytes(const struct da_tpm_public *pub, size_t *len);
/* The object name, nameAlg (2 bytes, big endian) || H_nameAlg(TPMT_PUBLIC),
 * computed here, never taken from the sender. */
const uint8_t *da_tpm_public_name(const struct da_tpm_public *pub, size_t *len);
/* The OpenSSL public key (borrowed; up-ref it to keep it longer). */
EVP_PKEY *da_tpm_public_pkey(const struct da_tpm_public *pub);

/* An attestation key as docs/ARCHITECTURE.md requires: ECC NIST P-256,
 * nameAlg SHA-256, scheme ECDSA with SHA-256, no symmetric or KDF, and the
 * attributes fixedTPM, fixedParent, sensitiveDataOrigin, restricted, sign,
 * not decrypt. Errors: DA_ERR_VERIFY_AK_ATTRIBUTES, DA_ERR_VERIFY_KEY_TYPE,
 * DA_ERR_VERIFY_HASH_ALG, DA_ERR_VERIFY_SIG_SCHEME. */
int da_tpm_public_check_ak(const struct da_tpm_public *pub);

/* A signing key certified by the AK (the SK of docs/ARCHITECTURE.md): ECC
 * NIST P-256, nameAlg SHA-256, fixedTPM, fixedParent, sensitiveDataOrigin,
 * sign, not decrypt, not restricted (it signs digests the agent computes);
 * scheme NULL or ECDSA/SHA-256. Same error codes as da_tpm_public_check_ak. */
int da_tpm_public_check_sk(const struct da_tpm_public *pub);

/* An endorsement key as the TCG EK templates make it: fixedTPM, fixedParent,
 * sensitiveDataOrigin, restricted, decrypt, not sign; RSA 2048..4096 or ECC
 * P-256/P-384; symmetric AES-128 or AES-256 in CFB mode; nameAlg SHA-256 or
 * SHA-384. Errors: DA_ERR_VERIFY_EK_ATTRIBUTES, DA_ERR_VERIFY_KEY_TYPE. */
int da_tpm_public_check_ek(const struct da_tpm_public *pub);

/* The name of an object from its marshalled TPMT_PUBLIC (tpmt[0..len), no
 * size field): name_alg (2 bytes, big endian) || H_name_alg(tpmt) into name
 * (DA_TPM_NAME_MAX bytes), its length in *name_len. Any of the hashes below is
 * computed; callers that refuse SHA-1 check name_alg first. Errors:
 * DA_ERR_UNSUPPORTED (unknown name_alg), DA_ERR_CRYPTO. */
int da_tpm_name_compute(TPMI_ALG_HASH name_alg, const uint8_t *tpmt, size_t len,
                        uint8_t name[DA_TPM_NAME_MAX], size_t *name_len);

/* Digest size in bytes for a TPM hash algorithm id (SHA-1, SHA-256, SHA-384,
 * SHA-512), 0 for any other. */
size_t da_tpm_hash_size(TPMI_ALG_HASH alg);
/* The OpenSSL digest for a TPM hash algorithm id, NULL for any other. */
const EVP_MD *da_tpm_hash_md(TPMI_ALG_HASH alg);
/* The text name of a TPM hash algorithm id ("sha1", "sha256", "sha384",
 * "sha512"; the names of tpm2-tools), NULL for any other. */
const char *da_tpm_hash_name(TPMI_ALG_HASH alg);
/* The hash algorithm id named by name[0..len) (exactly one of the names
 * above, case-sensitive; name need not be NUL-terminated), TPM2_ALG_NULL for
 * anything else. */
TPMI_ALG_HASH da_tpm_hash_by_name(const char *name, size_t len);

#endif

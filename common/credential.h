/* TPM2_MakeCredential in software (TPM 2.0 Part 1, "Credential Protection";
 * Part 3, TPM2_MakeCredential): wraps a secret so that only the TPM holding
 * the EK, and only for an object with the given name loaded in it, releases
 * it with TPM2_ActivateCredential.
 *
 *   seed      RSA EK: random, encrypted with RSA-OAEP (hash = EK nameAlg,
 *             label "IDENTITY\0"); ECC EK: ECDH with an ephemeral key on the
 *             EK's curve, seed = KDFe(nameAlg, Z, "IDENTITY", ephemeral.x,
 *             EK.x); the encrypted secret is then the ephemeral point
 *   symKey    KDFa(nameAlg, seed, "STORAGE", name, "", EK symmetric key bits)
 *   encIdentity  AES-CFB(symKey, IV 0, TPM2B_DIGEST(secret))
 *   hmacKey   KDFa(nameAlg, seed, "INTEGRITY", "", "", digest bits)
 *   integrity HMAC(hmacKey, encIdentity || name)
 */
#ifndef DA_CREDENTIAL_H
#define DA_CREDENTIAL_H

#include <stddef.h>
#include <stdint.h>

#include "tpm_public.h"

/* Make a credential for the object called name (nameAlg || digest, as
 * da_tpm_public_name gives it) under ek, which must pass
 * da_tpm_public_check_ek. secret is 1..digest-size-of-EK-nameAlg bytes.
 * Outputs, malloc'd: the marshalled TPM2B_ID_OBJECT (credentialBlob) and
 * the marshalled TPM2B_ENCRYPTED_SECRET (secret), each with its 2-byte size,
 * ready for Esys_ActivateCredential after unmarshalling. Errors:
 * DA_ERR_INVALID_ARG, DA_ERR_VERIFY_EK_ATTRIBUTES, DA_ERR_VERIFY_KEY_TYPE,
 * DA_ERR_VERIFY_CREDENTIAL (a cryptographic step failed), DA_ERR_NOMEM. */
int da_credential_make(const struct da_tpm_public *ek, const uint8_t *name, size_t name_len,
                       const uint8_t *secret, size_t secret_len, uint8_t **id_object,
                       size_t *id_object_len, uint8_t **encrypted_secret,
                       size_t *encrypted_secret_len);

#endif

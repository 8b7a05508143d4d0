/* Inside the agent's key module: the backend interface that agent/keys/tpm.c
 * (ESYS) and agent/keys/softkey.c (OpenSSL) both implement, and the helpers they
 * share. Not for use outside agent/tpm*.c, agent/keys/softkey.c, agent/keys/statefile.c
 * and their tests. */
#ifndef AGENT_TPM_INTERNAL_H
#define AGENT_TPM_INTERNAL_H

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include "tpm.h"
#include "tpm_attest.h"
#include "tpm_public.h"

/* State directory file names. */
#define AGENT_STATE_EK_PUBLIC "ek.pub"      /* TPM2B_PUBLIC of the EK the keys live under */
#define AGENT_STATE_AK_BLOB   "ak.key"      /* TPM2B_PRIVATE || TPM2B_PUBLIC */
#define AGENT_STATE_SK_BLOB   "sk.key"      /* TPM2B_PRIVATE || TPM2B_PUBLIC */
#define AGENT_STATE_SOFT_AK   "soft-ak.pem" /* PKCS#8 PEM, software mode */
#define AGENT_STATE_SOFT_SK   "soft-sk.pem" /* PKCS#8 PEM, software mode */

/* One backend. impl is the backend's own state. The front end (tpm_api.c)
 * checks arguments, allocates the result structures and frees them when a
 * backend call fails; a backend fills only what it is given. */
struct agent_tpm_backend {
    const char *trust;
    int (*open)(const struct agent_tpm_settings *s, void **impl);
    void (*close)(void *impl);
    int (*identity)(void *impl, int flags, struct agent_tpm_identity *id);
    int (*certify_sk)(void *impl, const TPM2B_DATA *qualifying, struct da_buf *attest,
                      struct da_buf *signature);
    int (*quote)(void *impl, const TPML_PCR_SELECTION *sel, const TPM2B_DATA *qualifying,
                 struct agent_tpm_quote *q);
    int (*activate_credential)(void *impl, const TPM2B_ID_OBJECT *credential,
                               const TPM2B_ENCRYPTED_SECRET *secret, struct da_buf *out);
    int (*sign_digest)(void *impl, const TPM2B_DIGEST *digest, struct da_buf *der);
    int (*info)(void *impl, struct agent_tpm_info *info);
};

extern const struct agent_tpm_backend agent_tpm_esys_backend; /* agent/keys/tpm.c */
extern const struct agent_tpm_backend agent_softkey_backend;  /* agent/keys/softkey.c */

/* For tests only: make the TPM backend use password sessions and unsalted
 * policy sessions without parameter encryption (what the agent did before it
 * salted its sessions), so a test can show that its capture of the TPM
 * traffic would see the secrets. Call right after agent_tpm_open.
 * DA_ERR_UNSUPPORTED in software mode. */
int agent_tpm_test_plain_sessions(struct agent_tpm *t);
void agent_esys_plain_sessions(void *impl); /* agent/keys/tpm.c */

/* --- agent/keys/tpm_struct.c: TPM structures <-> bytes and OpenSSL keys --- */

/* Start out with the given cap and copy len bytes into it (nothing when len
 * is 0). out need not be initialised; DA_ERR_TOO_LARGE past the cap. */
int agent_buf_copy(struct da_buf *out, size_t cap, const void *data, size_t len);

/* Marshal into a fresh buffer capped at DA_MAX_TPM_STRUCT. */
int agent_mu_public(const TPM2B_PUBLIC *pub, struct da_buf *out);
int agent_mu_attest(const TPMS_ATTEST *attest, struct da_buf *out);
int agent_mu_signature(const TPMT_SIGNATURE *sig, struct da_buf *out);
int agent_mu_pcr_selection(const TPML_PCR_SELECTION *sel, struct da_buf *out);
/* Put the AK and SK publics (marshalled) and names into an identity; the
 * same for both backends. */
int agent_identity_put_keys(struct agent_tpm_identity *id, const TPM2B_PUBLIC *ak_pub,
                            const TPM2B_NAME *ak_name, const TPM2B_PUBLIC *sk_pub,
                            const TPM2B_NAME *sk_name);

/* Strict unmarshalling: the whole input, nothing left over. */
int agent_unmu_public(const unsigned char *data, size_t len, TPM2B_PUBLIC *out);
int agent_unmu_attest(const unsigned char *data, size_t len, TPMS_ATTEST *out);

/* Name of an object: nameAlg (big endian) || H_nameAlg(TPMT_PUBLIC). */
int agent_tpm_public_name(const TPM2B_PUBLIC *pub, TPM2B_NAME *name);
/* RSA or ECC (P-256, P-384) public key as an OpenSSL key. */
int agent_tpm_public_to_pkey(const TPM2B_PUBLIC *pub, EVP_PKEY **out);
/* A P-256 OpenSSL key as an ECC TPMT_PUBLIC with ECDSA/SHA-256 and attrs. */
int agent_tpm_public_from_pkey(EVP_PKEY *pkey, TPMA_OBJECT attrs, TPM2B_PUBLIC *out);

/* ECDSA signatures between the TPM form and DER ECDSA-Sig-Value. */
int agent_ecdsa_tpm_to_der(const TPMS_SIGNATURE_ECC *sig, struct da_buf *der);
int agent_ecdsa_der_to_tpm(const unsigned char *der, size_t len, size_t coord_size,
                           TPMS_SIGNATURE_ECC *sig);

/* Key blob files: TPM2B_PRIVATE || TPM2B_PUBLIC, strict. */
int agent_keyblob_encode(const TPM2B_PRIVATE *priv, const TPM2B_PUBLIC *pub, struct da_buf *out);
int agent_keyblob_decode(const unsigned char *data, size_t len, TPM2B_PRIVATE *priv,
                         TPM2B_PUBLIC *pub);

/* An EK template from NV (0x01C00004, 0x01C0000C): a TPMT_PUBLIC with only
 * zero padding after it, of the same type, nameAlg, key size or curve and
 * authPolicy as the profile's default template dflt, restricted decryption.
 * DA_ERR_TPM_EK_TEMPLATE otherwise. */
int agent_ek_template_decode(const unsigned char *nv, size_t len, const TPM2B_PUBLIC *dflt,
                             TPM2B_PUBLIC *out);
/* Put an EK nonce from NV (0x01C00003, 0x01C0000B) into the template's unique
 * field as the TCG EK Credential Profile says: RSA: the nonce padded with
 * zeros to the modulus size; ECC: x is the nonce padded with zeros to the
 * coordinate size, y that many zeros. DA_ERR_TPM_EK_TEMPLATE when too long. */
int agent_ek_nonce_apply(TPM2B_PUBLIC *tmpl, const unsigned char *nonce, size_t len);

/* Digest of concatenated PCR values with hash alg (TPM2_ALG_*). */
int agent_tpm_digest(uint16_t alg, const unsigned char *data, size_t len, TPM2B_DIGEST *out);

/* --- agent/keys/statefile.c: files in the state directory --- */

/* Check the directory: refuse one that is not a directory or that others
 * may write. With create, make it (0700) when missing; without, a missing
 * directory is fine (it holds nothing yet). */
int agent_state_prepare(const char *dir, int create);
/* Read dir/name whole. DA_ERR_NOT_FOUND when absent (the caller decides whether to log),
 * DA_ERR_PERMISSION when group or others may read it, DA_ERR_TOO_LARGE. */
int agent_state_read(const char *dir, const char *name, size_t cap, struct da_buf *out);
/* Write dir/name atomically with mode 0600, never replacing an existing file
 * (DA_ERR_EXISTS then: another process made it first). */
int agent_state_write_new(const char *dir, const char *name, const void *data, size_t len);

#endif

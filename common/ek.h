/* Endorsement key certificates: chain to the configured manufacturer roots
 * and match the EK public the agent sent (docs/ARCHITECTURE.md, enrollment).
 *
 * EK certificates from TPM vendors carry a subject alternative name with a
 * directoryName of TPM manufacturer, model and version attributes (TCG OIDs
 * 2.23.133.2.1-3), often critical with an empty subject, and a subject
 * directory attributes extension with the TPM specification. OpenSSL knows
 * the SAN but not subject directory attributes; when that one is marked
 * critical on the EK certificate itself it is tolerated. Any other unknown
 * critical extension, and any bad signature anywhere, fails the chain.
 */
#ifndef DA_EK_H
#define DA_EK_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "caps.h"
#include "tpm_public.h"

/* Do not check validity periods (some manufacturer intermediates expire
 * while their TPMs are still in service). */
#define DA_EK_NO_TIME_CHECK 0x1u

struct da_ek_trust;

int da_ek_trust_new(struct da_ek_trust **out);
void da_ek_trust_free(struct da_ek_trust *t);
/* Add every certificate of a PEM file (at most DA_MAX_CONFIG * 16 bytes) as a
 * trusted root. DA_ERR_IO, DA_ERR_CONFIG (no certificate, unparsable),
 * DA_ERR_TOO_LARGE, DA_ERR_NOMEM. */
int da_ek_trust_add_roots_file(struct da_ek_trust *t, const char *path);
/* Add every certificate of a PEM file as an untrusted intermediate that
 * chains may use. Same errors. */
int da_ek_trust_add_intermediates_file(struct da_ek_trust *t, const char *path);
/* The same from memory: PEM text, or a single DER certificate. */
int da_ek_trust_add_root(struct da_ek_trust *t, const uint8_t *cert, size_t len);
int da_ek_trust_add_intermediate(struct da_ek_trust *t, const uint8_t *cert, size_t len);

/* Verify an EK certificate (DER, exactly one certificate, no trailing bytes)
 * against the trusted roots, using the trust's intermediates plus the
 * chain_count DER certificates in chain[] (as the agent may send them), at
 * the current time unless DA_EK_NO_TIME_CHECK; then check that its key is the
 * key of ek (RSA modulus and exponent, or ECC curve and point). Errors:
 * DA_ERR_VERIFY_EK_CHAIN (unparsable certificate, no path to a root, bad
 * signature, expired, unknown critical extension), DA_ERR_TRAILING_DATA,
 * DA_ERR_TOO_LARGE, DA_ERR_VERIFY_EK_KEY_MISMATCH, DA_ERR_NOMEM. On
 * DA_ERR_VERIFY_EK_CHAIN, reason (when not NULL) receives OpenSSL's reason. */
int da_ek_cert_verify(const struct da_ek_trust *t, const uint8_t *cert, size_t cert_len,
                      const uint8_t *const *chain, const size_t *chain_lens, size_t chain_count,
                      const struct da_tpm_public *ek, unsigned flags, const char **reason);

/* What an accepted EK certificate says about where it came from: its
 * issuer's name and the subject of the configured root its chain ended at,
 * both in the one-line RFC 4514 form OpenSSL prints (XN_FLAG_RFC2253, as
 * `openssl x509 -nameopt RFC2253` shows them; bytes outside ASCII escaped),
 * and its serial number in upper-case hex (as `openssl x509 -serial`). A
 * name longer than DA_MAX_EK_DN - 1 is cut and ends in "...". */
struct da_ek_cert_info {
    char issuer[DA_MAX_EK_DN];
    char serial[DA_MAX_EK_SERIAL];
    char root[DA_MAX_EK_DN];
};

/* da_ek_cert_verify, and on success info filled in (info may be NULL). */
int da_ek_cert_verify_info(const struct da_ek_trust *t, const uint8_t *cert, size_t cert_len,
                           const uint8_t *const *chain, const size_t *chain_lens,
                           size_t chain_count, const struct da_tpm_public *ek, unsigned flags,
                           const char **reason, struct da_ek_cert_info *info);

/* The public key of an EK certificate (a new reference; free it), or NULL.
 * Besides the keys OpenSSL decodes, an RSA key whose SubjectPublicKeyInfo
 * names id-RSAES-OAEP (1.2.840.113549.1.1.7, as some TPM manufacturers issue
 * EK certificates) is read as the RSAPublicKey it holds, nothing after it. */
EVP_PKEY *da_ek_cert_public_key(X509 *cert);

/* EK certificates in NV indexes are often padded: the length of the DER
 * certificate at the start of nv, when everything after it is 0x00 or 0xFF
 * padding. DA_ERR_VERIFY_EK_CHAIN when nv does not start with a DER
 * SEQUENCE, DA_ERR_TRAILING_DATA when something other than padding follows. */
int da_ek_cert_trim(const uint8_t *nv, size_t nv_len, size_t *der_len);

#endif

/* Receipt signing keys over time, and what GET /v1/keys answers.
 *
 * The state directory keeps, next to receipt.key (the key that signs
 * receipts now), receipt-keys.json:
 *
 *   {"keys": [{"keyid": hex SHA-256 of the public key (DER SPKI),
 *              "certificate": PEM, issued by the server CA for this key,
 *              "valid_from": RFC 3339, "valid_until": RFC 3339 (retired only)}]}
 *
 * oldest first, the current key last. Each certificate's notBefore and
 * notAfter are the period in which the key signed receipts (notAfter of the
 * current key: the CA's own notAfter) and its extended key usage is
 * DA_OID_RECEIPT_KEY_EKU, so a verifier holding only the CA certificate
 * can tell a receipt key from any other certificate the CA issued, and can
 * tell which key was valid when a receipt was issued. The JSON dates repeat
 * the certificate's for readers; verifiers use the certificate.
 *
 * `devattest-server receipt-key rotate` retires the current key (its
 * certificate is issued again, ending now), makes a new one and lists it;
 * a running server uses the new key after a restart.
 */
#ifndef SRV_RECEIPT_KEYS_H
#define SRV_RECEIPT_KEYS_H

#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "pki.h"

#define SRV_RECEIPT_KEYS_FILE "receipt-keys.json"
/* Receipt keys listed at most (rotations beyond it are refused). */
#define SRV_RECEIPT_KEYS_MAX 64

/* hex SHA-256 of the DER SubjectPublicKeyInfo of key. */
int srv_key_id(EVP_PKEY *key, char out[65]);

/* Read receipt-keys.json into k->receipt_keys, creating it for the current
 * key when an older state directory has none (valid from the time
 * receipt.key was written). DA_ERR_CONFIG when the file is malformed or its
 * last key is not receipt.key. */
int srv_receipt_keys_load(const char *dir, struct srv_keys *k);

/* Retire the current receipt key and make a new one (the server must be
 * restarted to use it). Prints the new key id to out. */
int srv_receipt_key_rotate(const char *dir, int64_t now, FILE *out);

/* The answer of GET /v1/keys:
 *   {"ca_certificate": PEM, "receipt_keys": [{"keyid", "algorithm",
 *    "public_key" (PEM), "certificate", "valid_from", "valid_until"?,
 *    "current": bool}]} */
int srv_keys_answer(const struct srv_keys *k, cJSON **out);

#endif

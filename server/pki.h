/* The server's key material in its state directory.
 *
 *   ca.key / ca.pem          private CA (ECDSA P-256) that agents pin
 *   server.key / server.pem  TLS certificate for the configured names
 *   receipt.key / receipt.pub  ECDSA P-256 key that signs receipts (DSSE)
 *   receipt-keys.json        every receipt key with its period and a CA
 *                            certificate for it (receipt_keys.h)
 *   nonce.key                32 random bytes, HMAC key of stateless nonces
 *   privacy.key              32 random bytes, the deployment's pseudonym key
 *                            that agents get at enrollment (created on first
 *                            load when an older state directory lacks it)
 *
 * All files are created with mode 0600 and never overwritten, except by a
 * receipt key rotation (receipt_keys.h).
 */
#ifndef SRV_PKI_H
#define SRV_PKI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "bundle.h" /* the project's object identifiers */

#define SRV_NONCE_KEY_LEN   32
#define SRV_PRIVACY_KEY_LEN 32

struct srv_keys {
    EVP_PKEY *ca_key;
    X509 *ca_cert;
    char *ca_pem; /* the CA certificate as PEM text */
    EVP_PKEY *receipt_key;
    cJSON *receipt_keys; /* receipt-keys.json (receipt_keys.h) */
    unsigned char nonce_key[SRV_NONCE_KEY_LEN];
    unsigned char privacy_key[SRV_PRIVACY_KEY_LEN];
    char *tls_cert_pem; /* PEM text handed to the TLS layer */
    char *tls_key_pem;  /* secret: wiped on free */
};

/* Create the state directory (0700) and every file above; names are DNS
 * names or IP addresses for the server certificate's subjectAltName.
 * DA_ERR_EXISTS when a file is already there. Writes the CA PEM to ca_out. */
int srv_pki_init(const char *dir, const char *const *names, size_t nnames, FILE *ca_out);

/* Load the keys of an initialised state directory. tls_cert/tls_key may be
 * NULL when no TLS is used (plain HTTP on loopback). */
int srv_keys_load(const char *dir, const char *tls_cert, const char *tls_key,
                  struct srv_keys **out);
void srv_keys_free(struct srv_keys *k);

/* Issue a certificate for an agent's signing key (SK), subject CN=agent_id,
 * signed by the CA, valid for days, carrying the AK's TPM name (ak_name,
 * ak_name_len bytes) in the DA_OID_AK_NAME extension so that a verifier can
 * tell which AK's quotes go with this SK. PEM text in *pem_out (free()). */
int srv_pki_issue_sk_cert(const struct srv_keys *k, EVP_PKEY *sk, const char *agent_id,
                          const unsigned char *ak_name, size_t ak_name_len, unsigned days,
                          char **pem_out);

/* Issue a receipt key's certificate (receipt_keys.h): valid from not_before
 * to not_after (Unix seconds; not_after 0: the CA's notAfter). */
int srv_pki_issue_receipt_cert(EVP_PKEY *ca_key, X509 *ca, EVP_PKEY *key, int64_t not_before,
                               int64_t not_after, char **pem_out);

/* PEM of a public key (free()). */
int srv_pki_public_pem(EVP_PKEY *key, char **pem_out);

/* Read a whole file (capped) into a NUL-terminated malloc'd buffer. */
int srv_read_file(const char *path, size_t cap, char **out, size_t *len);

#endif

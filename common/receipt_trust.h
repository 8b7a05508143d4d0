/* Which receipt key signed a receipt, and whether to trust it: shared by
 * the offline verifiers of delivery bundles (bundle_verify.c) and of
 * evidence packs (server/pack_verify.c).
 *
 * A receipt's DSSE signature names its key by keyid (hex SHA-256 of the
 * DER SubjectPublicKeyInfo). The key list is a GET /v1/keys answer
 * ({"receipt_keys": [{"keyid", "certificate" (PEM), ...}]}); a key from it
 * is trusted only through its certificate, never as a bare public key. */
#ifndef DA_RECEIPT_TRUST_H
#define DA_RECEIPT_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* hex SHA-256 of key's DER SubjectPublicKeyInfo (the DSSE keyid). */
int da_key_id(EVP_PKEY *key, char out[65]);

/* x verified against the single trust anchor ca at Unix time t (untrusted:
 * intermediates, may be NULL). 0, or DA_ERR_BUNDLE_CHAIN with OpenSSL's
 * reason in *why. */
int da_cert_verify_at(X509 *ca, X509 *x, STACK_OF(X509) * untrusted, int64_t t, const char **why);

/* Parse a /v1/keys answer: a JSON object whose "receipt_keys" is an array
 * of at most DA_MAX_RECEIPT_KEYS entries, text at most DA_MAX_KEYS_FILE
 * bytes. DA_ERR_BUNDLE_KEYS otherwise. */
int da_receipt_keys_parse(const char *text, size_t len, cJSON **out);

/* The certificate of the receipt key keyid in keys (a /v1/keys answer,
 * may be NULL), accepted only when it is for that key, carries the
 * DA_OID_RECEIPT_KEY_EKU extended key usage and chains to ca at t (the
 * receipt's issued_at). 0 with the certificate in *out (the caller frees
 * it), else DA_ERR_BUNDLE_RECEIPT_KEY and the reason in *why. The caller
 * still verifies the signature with the certificate's key. */
int da_receipt_key_find(const cJSON *keys, X509 *ca, const char *keyid, int64_t t, X509 **out,
                        const char **why);

#endif

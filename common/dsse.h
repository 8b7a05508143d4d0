/* DSSE v1.0 envelopes: pre-authentication encoding, JSON form, signatures.
 *
 * A signature covers PAE(payloadType, payload) =
 *   "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 * with lengths in ASCII decimal, never the JSON or base64 text, so the
 * envelope's encoding can change without touching what was signed.
 *
 * JSON form: {"payload": std-base64, "payloadType": string,
 *             "signatures": [{"keyid": string (optional), "sig": std-base64}]}
 * Unknown members are ignored on input; base64 must be canonical; payload,
 * signatures, key ids and the envelope itself are capped (caps.h).
 */
#ifndef DA_DSSE_H
#define DA_DSSE_H

#include <stddef.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "buf.h"
#include "digest.h"
#include "caps.h"

struct da_dsse_sig {
    char *keyid;        /* NULL when the signature has none */
    unsigned char *sig; /* raw signature bytes (DER for ECDSA) */
    size_t sig_len;
};

struct da_dsse_envelope {
    char *payload_type;
    unsigned char *payload;
    size_t payload_len;
    struct da_dsse_sig sigs[DA_MAX_DSSE_SIGS];
    size_t nsigs;
};

/* Append PAE(type, payload) to out. */
int da_dsse_pae(const char *payload_type, const void *payload, size_t payload_len,
                struct da_buf *out);
/* SHA-256 of PAE(type, payload): what an ECDSA P-256 signer (e.g. the TPM)
 * signs. */
int da_dsse_pae_sha256(const char *payload_type, const void *payload, size_t payload_len,
                       unsigned char out[DA_SHA256_LEN]);

/* A new envelope holding copies of type and payload, no signatures yet. */
int da_dsse_envelope_new(const char *payload_type, const void *payload, size_t payload_len,
                         struct da_dsse_envelope **out);
/* Add a signature (copied). keyid may be NULL. DA_ERR_TOO_LARGE after
 * DA_MAX_DSSE_SIGS signatures or for oversized values. */
int da_dsse_add_signature(struct da_dsse_envelope *env, const char *keyid, const unsigned char *sig,
                          size_t sig_len);
void da_dsse_envelope_free(struct da_dsse_envelope *env);

/* Parse an envelope from JSON text (at most DA_MAX_DSSE_ENVELOPE bytes).
 * DA_ERR_DSSE_FORMAT for missing or mistyped members, DA_ERR_DSSE_NO_SIGNATURE
 * for an empty signature list, DA_ERR_TOO_LARGE past any cap, DA_ERR_BASE64,
 * and the errors of da_json_parse. */
int da_dsse_envelope_decode(const char *json, size_t len, struct da_dsse_envelope **out);
/* The same from an already parsed tree, for callers that also read other
 * members (for example a certificate chain next to a signature). */
int da_dsse_envelope_from_json(const cJSON *root, struct da_dsse_envelope **out);
/* JSON tree of the envelope (members in canonical order when serialized
 * with da_jcs_serialize); callers may add members before writing it. */
int da_dsse_envelope_to_json(const struct da_dsse_envelope *env, cJSON **out);
/* Append the envelope as one line of canonical JSON (no newline) to out. */
int da_dsse_envelope_encode(const struct da_dsse_envelope *env, struct da_buf *out);

/* Sign PAE with an ECDSA P-256 key over SHA-256, DER signature, and add it
 * to env with keyid (may be NULL). DA_ERR_VERIFY_KEY_TYPE for other keys. */
int da_dsse_sign_ecdsa_p256(EVP_PKEY *key, const char *keyid, struct da_dsse_envelope *env);
/* Succeeds when at least one signature of env verifies under key over
 * PAE(env): ECDSA P-256/SHA-256, ECDSA P-384/SHA-384 (DER) or Ed25519.
 * *index (may be NULL) gets the first signature that verified.
 * DA_ERR_VERIFY_SIGNATURE when none does, DA_ERR_DSSE_NO_SIGNATURE when
 * there are none, DA_ERR_VERIFY_KEY_TYPE for other keys. */
int da_dsse_verify(const struct da_dsse_envelope *env, EVP_PKEY *key, size_t *index);

#endif

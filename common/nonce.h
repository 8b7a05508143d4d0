/* Server nonces for reports (docs/ARCHITECTURE.md, step 1).
 *
 * A nonce is stateless: 16 random bytes || 8-byte big-endian expiry (Unix
 * seconds) || HMAC-SHA256 under a server secret over those 24 bytes and a
 * binding: bytes naming what the nonce was issued for (for reports, the
 * agent and the PCR selection: da_report_nonce_make in quote.h). The binding
 * does not travel in the nonce; the verifier recomputes it, so a nonce
 * presented for anything else fails its MAC. Any server instance holding the
 * secret can check it. Single use needs a store: da_nonce_verify calls the
 * caller's mark_used callback, which records the nonce (for example as a
 * unique key in the database) and answers DA_ERR_VERIFY_NONCE_REPLAY when it
 * was already recorded.
 */
#ifndef DA_NONCE_H
#define DA_NONCE_H

#include <stddef.h>
#include <stdint.h>

#define DA_NONCE_RANDOM_LEN 16
#define DA_NONCE_LEN        (DA_NONCE_RANDOM_LEN + 8 + 32)
#define DA_NONCE_KEY_MIN    32  /* bytes of server secret at least */
#define DA_NONCE_BIND_MAX   512 /* bytes of binding at most */

/* Record nonce as used; 0 the first time, DA_ERR_VERIFY_NONCE_REPLAY when it
 * was used before, another negative DA_ERR_* when the store fails. */
typedef int (*da_nonce_mark_used_fn)(const uint8_t *nonce, size_t len, void *ctx);

/* Make a nonce valid until now + lifetime_s for the binding bind[0..bind_len)
 * (may be empty). DA_ERR_INVALID_ARG for a key shorter than DA_NONCE_KEY_MIN,
 * a zero lifetime or a binding over DA_NONCE_BIND_MAX, DA_ERR_CRYPTO when the
 * random generator fails. */
int da_nonce_make(const uint8_t *key, size_t key_len, const uint8_t *bind, size_t bind_len,
                  uint64_t now, uint32_t lifetime_s, uint8_t out[DA_NONCE_LEN]);

/* Check a nonce from outside: length and MAC over the nonce and the binding
 * it must have been made for (DA_ERR_VERIFY_NONCE), expiry
 * against now (DA_ERR_VERIFY_NONCE_EXPIRED), then, only when both hold,
 * mark_used (when not NULL) whose error is returned as is. The MAC is
 * compared in constant time. *expiry (when not NULL) receives the expiry of
 * a nonce whose MAC is good. */
int da_nonce_verify(const uint8_t *key, size_t key_len, const uint8_t *bind, size_t bind_len,
                    const uint8_t *nonce, size_t len, uint64_t now, da_nonce_mark_used_fn mark_used,
                    void *ctx, uint64_t *expiry);

#endif

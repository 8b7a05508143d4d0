/* Token buckets keyed by a short string (a client address or an agent id).
 *
 * A fixed table: memory does not grow with the number of clients. When the
 * table is full, the bucket idle longest in the probe window is reused,
 * which can only make a limit more lenient for a forgotten client, never
 * stricter. Thread-safe.
 */
#ifndef SRV_RATELIMIT_H
#define SRV_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct srv_ratelimit;

/* rate tokens per second, burst tokens at most. */
int srv_ratelimit_new(unsigned rate, unsigned burst, struct srv_ratelimit **out);
void srv_ratelimit_free(struct srv_ratelimit *rl);
/* Take one token for key at time now_ms; false when the bucket is empty. */
bool srv_ratelimit_take(struct srv_ratelimit *rl, const char *key, uint64_t now_ms);

#endif

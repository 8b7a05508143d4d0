/* Parsed attestation keys of recently reporting agents.
 *
 * Parsing a TPM2B_PUBLIC into an OpenSSL key costs about a tenth of a
 * report's CPU time; the AK of an agent changes only when an admin
 * re-admits it, so parsed keys are kept, keyed by agent id and AK name (a
 * new AK has a new name, so a stale entry is never used). Entries are
 * reference counted: an entry evicted while a report uses it is freed by
 * the last user. Thread-safe; fixed size. */
#ifndef SRV_AK_CACHE_H
#define SRV_AK_CACHE_H

#include <stddef.h>

#include "tpm_public.h"

struct srv_ak_cache;
struct srv_ak_ref;

int srv_ak_cache_new(struct srv_ak_cache **out);
void srv_ak_cache_free(struct srv_ak_cache *c);
/* The parsed AK for agent_id/ak_name, parsing ak_public when it is not
 * cached. *ref must be given back with srv_ak_cache_put. */
int srv_ak_cache_get(struct srv_ak_cache *c, const char *agent_id, const char *ak_name,
                     const unsigned char *ak_public, size_t ak_public_len, struct srv_ak_ref **ref);
const struct da_tpm_public *srv_ak_ref_key(const struct srv_ak_ref *ref);
void srv_ak_cache_put(struct srv_ak_cache *c, struct srv_ak_ref *ref);

#endif

/* Secrets the server hands out: bearer tokens, enrollment tokens, ids.
 *
 * Tokens are "dat_" (API) or "det_" (enrollment) followed by 64 hex digits
 * of fresh randomness; only their SHA-256 is stored. */
#ifndef SRV_TOKEN_H
#define SRV_TOKEN_H

#include <stddef.h>

#include "store.h"

#define SRV_TOKEN_SIZE (4 + 64 + 1)

/* prefix is "dat_" or "det_"; out gets the token text, hash its SHA-256. */
int srv_token_new(const char *prefix, char out[SRV_TOKEN_SIZE], unsigned char hash[SRV_HASH_LEN]);
/* 16 random bytes as 32 lower-case hex digits. */
int srv_random_id(char out[SRV_ID_HEX]);
/* 6 bytes of milliseconds since the epoch then 10 random bytes, as 32 hex
 * digits: unique, and new ids sort after old ones (append-only indexes). */
int srv_time_ordered_id(char out[SRV_ID_HEX]);
/* "admin", "auditor", "vendor" -> role; DA_ERR_INVALID_ARG otherwise. */
int srv_role_parse(const char *name, enum srv_role *out);
const char *srv_role_name(enum srv_role role);
/* "24h", "30m", "3600s", "7d" or plain seconds -> seconds (1 s .. 366 d). */
int srv_duration_parse(const char *text, long *seconds);

#endif

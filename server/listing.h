/* Query values of the list routes: RFC 3339 times (`from`, `to`) and the
 * cursors that continue a list. Both come from outside; both are strict
 * (whole value, no spaces, no signs where none belong) and fuzzed by
 * tests/fuzz/fuzz_server_listing.c.
 *
 * A cursor is "N" (audit: the id of the last event given) or "N.ID"
 * (agents: created_at and id; reports: received_at and id of the last row
 * given). Clients treat it as opaque and pass it back unchanged.
 */
#ifndef SRV_LISTING_H
#define SRV_LISTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SRV_CURSOR_SIZE 112

/* "2026-12-06T05:00:00Z", "2026-12-06T07:00:00.25+02:00" -> Unix seconds
 * (fractions are dropped). DA_ERR_TIME_FORMAT otherwise. */
int srv_time_parse_rfc3339(const char *text, int64_t *out);

/* with_id: "N.ID" with ID of [A-Za-z0-9_-] (id gets it, idsize at most
 * 80); else "N". N is 0..2^63-1 in decimal without leading zeros.
 * DA_ERR_HTTP_CURSOR otherwise. */
int srv_cursor_parse(const char *text, bool with_id, int64_t *n, char *id, size_t idsize);
/* The cursor for a row; id NULL for "N". */
void srv_cursor_format(int64_t n, const char *id, char out[SRV_CURSOR_SIZE]);

#endif

/* Canonical JSON (RFC 8785, JSON Canonicalization Scheme) from a cJSON tree.
 *
 * Object members are sorted by the UTF-16 code units of their keys, numbers
 * are written as ECMAScript's Number.prototype.toString writes them (the
 * shortest digits that read back to the same double), strings escape only
 * what JSON requires, and there is no whitespace. Two trees holding the same
 * data therefore give the same bytes, which is what evidence digests, quote
 * qualifying data and DSSE payloads are computed over.
 *
 * Trees that have no canonical form are refused: NaN or Infinity
 * (DA_ERR_JSON_NUMBER), two members with the same key (DA_ERR_JSON_DUP_KEY),
 * invalid UTF-8 in a string or key (DA_ERR_JSON_UTF8), nesting deeper than
 * DA_MAX_JSON_DEPTH (DA_ERR_JSON_DEPTH), raw or invalid cJSON items
 * (DA_ERR_JSON_TYPE).
 */
#ifndef DA_JCS_H
#define DA_JCS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "digest.h"

/* Size of the longest number text da_jcs_format_number writes, with NUL. */
#define DA_JCS_NUMBER_SIZE 32

/* Append the canonical form of v to out (whose cap the caller chose).
 * On any error out is emptied (da_buf_reset). */
int da_jcs_serialize(const cJSON *v, struct da_buf *out);
/* SHA-256 of the canonical form (built within DA_MAX_CANONICAL_JSON). */
int da_jcs_digest_sha256(const cJSON *v, unsigned char out[DA_SHA256_LEN]);
/* ECMAScript Number::toString of d into out[0..outsize), NUL-terminated.
 * DA_ERR_JSON_NUMBER for NaN and infinities. */
int da_jcs_format_number(double d, char *out, size_t outsize);
/* Whether text[0..len) is exactly what da_jcs_serialize writes for the tree
 * cJSON reads from it, checked in one pass over the bytes without building a
 * tree; when it is not, the caller canonicalizes the tree. Meant for text
 * that da_json_parse accepted (for other text the answer is false or says
 * what the writer would make of cJSON's reading of it). */
bool da_jcs_is_canonical(const char *text, size_t len);
/* The same check for the value text starts with: its length when it is
 * canonical (what follows is not looked at), else 0. */
size_t da_jcs_canonical_span(const char *text, size_t len);

#endif

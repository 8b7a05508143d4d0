/* The JSON reader of the policy loader: strict parsing with the position of
 * an error. */
#ifndef DA_POLICY_JSON_H
#define DA_POLICY_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "policy.h"

/* Parse text[0..len) into *root with da_json_parse_ex. On failure fills
 * err->line, err->column and err->reason (err may be NULL) and returns
 * DA_ERR_POLICY_PARSE (or DA_ERR_NOMEM). Refused: invalid JSON or UTF-8,
 * nesting deeper than DA_MAX_JSON_DEPTH, duplicate keys, NUL bytes,
 * non-finite numbers, anything after the value. */
int da_policy_json_parse(const char *text, size_t len, cJSON **root, struct da_policy_error *err);

#endif

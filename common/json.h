/* The JSON input path: every JSON document from outside enters through here.
 *
 * da_json_parse validates the text completely, in one
 * non-recursive pass: size cap, strict RFC 8259 grammar, well-formed UTF-8
 * (no overlong forms, no UTF-8-encoded surrogates, nothing above U+10FFFF),
 * \u escapes that form valid code points (no lone surrogates, no \u0000),
 * nesting depth at most DA_MAX_JSON_DEPTH, finite numbers (1e999 is
 * rejected), no duplicate object keys (compared after unescaping), no NUL
 * bytes, and nothing but whitespace after the value. The same pass builds
 * the cJSON tree (the nodes cJSON's own parser would make of an accepted
 * text), which is handed out only when the whole text was accepted; the
 * scan never recurses.
 *
 * Errors carry a 1-based line and column (in bytes) of the offending place and
 * a static reason, for messages such as "policy.json:12:7: duplicate key".
 */
#ifndef DA_JSON_H
#define DA_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Largest integer magnitude da_json_get_int64 accepts: 2^53 - 1, the last
 * integer that every double-based JSON reader represents exactly. */
#define DA_JSON_MAX_SAFE_INT 9007199254740991LL

struct da_json_error {
    int line;           /* 1-based; 0 when no position applies */
    int col;            /* 1-based byte column within the line; 0 if none */
    const char *reason; /* static text, never NULL after a failed parse */
};

/* Parse text[0..len) into *out (free with cJSON_Delete). Errors:
 * DA_ERR_TOO_LARGE (len > cap), DA_ERR_JSON_PARSE (grammar, NUL byte),
 * DA_ERR_JSON_DEPTH, DA_ERR_JSON_UTF8 (also lone surrogate escapes),
 * DA_ERR_JSON_DUP_KEY, DA_ERR_JSON_NUMBER (not finite as a double, or longer
 * than cJSON can read), DA_ERR_TRAILING_DATA, DA_ERR_NOMEM. */
int da_json_parse(const char *text, size_t len, size_t cap, cJSON **out);

/* The memory of a process's JSON trees. da_json_memory_hooks, called once
 * at the start of a program before any tree exists, routes cJSON's
 * allocations through a counter; da_json_memory_cap then bounds what all
 * live trees together may hold (0: no bound), so a parse that would need
 * more fails with DA_ERR_TOO_LARGE instead of growing the process.
 * da_json_memory_peak: the most held at once (reset: start again from now). */
void da_json_memory_hooks(void);
void da_json_memory_cap(size_t cap);
size_t da_json_memory_peak(int reset);
/* Same, and fills *err (when not NULL) with where and why it failed. */
int da_json_parse_ex(const char *text, size_t len, size_t cap, cJSON **out,
                     struct da_json_error *err);

/* da_json_parse_opts flags. DA_JSON_COMPACT: the whole tree is one
 * allocation (nodes, keys and strings), made once the text is accepted;
 * every node is flagged cJSON_IsReference and every key
 * cJSON_StringIsConst, so cJSON_Delete of the root frees the block and
 * nothing else. Such a tree is read only: only its root may be deleted;
 * nothing in it may be changed, detached, replaced or deleted, nor copied
 * with cJSON_Duplicate (the copy would keep pointing at the block's keys).
 * While it is built, two work buffers (nodes as indices, texts) hold it;
 * they go through the same hooks and bound as the tree. */
#define DA_JSON_COMPACT 1u

/* da_json_parse_ex with flags (0 or DA_JSON_COMPACT); other bits:
 * DA_ERR_INVALID_ARG. The same text is accepted or refused, with the same
 * error, whatever the flags. */
int da_json_parse_opts(const char *text, size_t len, size_t cap, unsigned flags, cJSON **out,
                       struct da_json_error *err);

/* Typed members of an object. DA_ERR_JSON_MISSING when obj has no member
 * key (case-sensitive), DA_ERR_JSON_TYPE when it has another type (null is a
 * type too) or obj is not an object. Pointer out-params are set to NULL on
 * entry, numeric ones are written only on success; returned pointers belong
 * to the tree. */
/* Where the value of member key of the object text[0..len) starts
 * (text[*off]); text must be what da_json_parse accepted, key must hold no
 * '"' or '\\'. Only a key written without escapes is found
 * (DA_ERR_NOT_FOUND otherwise, or when there is no such member);
 * DA_ERR_JSON_TYPE when the text is not an object. */
int da_json_member_start(const char *text, size_t len, const char *key, size_t *off);

int da_json_get_string(const cJSON *obj, const char *key, const char **out);
/* An integer-valued number with |v| <= DA_JSON_MAX_SAFE_INT; 1.5 and 2^53
 * are DA_ERR_JSON_TYPE. */
int da_json_get_int64(const cJSON *obj, const char *key, int64_t *out);
int da_json_get_bool(const cJSON *obj, const char *key, bool *out);
int da_json_get_object(const cJSON *obj, const char *key, const cJSON **out);
int da_json_get_array(const cJSON *obj, const char *key, const cJSON **out);

#endif

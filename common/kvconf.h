/* Strict `key = value` configuration files, shared by the agent and the server.
 *
 * Grammar (one entry per line):
 *   line    = ws* ( comment | entry )? ws*
 *   comment = '#' any*            -- only as the first non-blank character
 *   entry   = key ws* '=' ws* value
 *   key     = [a-z0-9_]+
 *   value   = the rest of the line, blanks trimmed at both ends
 * A `#` inside a value is part of the value. Values may be written between
 * double quotes; inside quotes `\"` and `\\` are the only escapes and any
 * other backslash is kept as it is (regular expressions need no doubling).
 * NUL bytes,
 * control characters other than tab, and lines over DA_KVCONF_MAX_LINE are
 * errors.
 *
 * Two layers:
 * - the tokenizer (da_kvconf_parse) hands each entry to a callback with its
 *   line number;
 * - the schema layer (da_kvconf_apply) checks a table of keys: unknown and
 *   duplicate keys are errors, each value goes through a typed parser below.
 * Every error carries file:line and a reason in words (struct da_kvconf_error).
 */
#ifndef DA_KVCONF_H
#define DA_KVCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DA_KVCONF_MAX_LINE     4096 /* one line, including the value */
#define DA_KVCONF_MAX_KEY      64
#define DA_KVCONF_MAX_REASON   256
#define DA_KVCONF_MAX_LIST     64  /* elements in one list value */
#define DA_KVCONF_MAX_ELEMENT  512 /* bytes in one list element */
#define DA_KVCONF_MAX_URL_HOST 256

struct da_kvconf_error {
    char file[256];
    unsigned line; /* 0: not tied to a line (e.g. a cross-key rule) */
    char reason[DA_KVCONF_MAX_REASON];
};

/* Record an error; used by the parsers and by schema validators. */
void da_kvconf_error_set(struct da_kvconf_error *err, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "file:line: reason" (or "file: reason" when line is 0) into out. */
void da_kvconf_error_format(const struct da_kvconf_error *err, char *out, size_t size);

/* Called once per entry with the raw value (quotes not yet removed). Return 0
 * to go on, or a negative DA_ERR_* after writing a reason into `reason`. */
typedef int (*da_kvconf_entry_fn)(void *ctx, const char *key, const char *raw_value, unsigned line,
                                  char *reason, size_t reason_size);

/* Tokenize text[0..len). `file` names the source in errors. DA_ERR_TOO_LARGE
 * past DA_MAX_CONFIG, DA_ERR_CONFIG for a malformed line, or whatever the
 * callback returned; err is filled on failure. */
int da_kvconf_parse(const char *text, size_t len, const char *file, da_kvconf_entry_fn fn,
                    void *ctx, struct da_kvconf_error *err);

/* Read a file (capped at DA_MAX_CONFIG) and tokenize it. A file that others
 * may write is refused (DA_ERR_PERMISSION): configuration decides what the
 * agent trusts. */
int da_kvconf_load(const char *path, da_kvconf_entry_fn fn, void *ctx, struct da_kvconf_error *err);

/* ---- typed value parsers. Each returns 0 or DA_ERR_CONFIG and writes a
 * reason (without the key name) on failure. ---- */

/* Remove optional surrounding quotes. out receives the value; DA_ERR_CONFIG
 * for a bad escape, an unterminated quote or text after the closing quote. */
int da_kv_unquote(const char *raw, char *out, size_t out_size, char *reason, size_t reason_size);
/* Decimal integer in [min, max]. */
int da_kv_parse_u64(const char *v, uint64_t min, uint64_t max, uint64_t *out, char *reason,
                    size_t reason_size);
/* yes|no|true|false. */
int da_kv_parse_bool(const char *v, bool *out, char *reason, size_t reason_size);
/* <n>s|m|h|d, e.g. 30s, 15m, 1h, 1d; result in seconds within [min, max]. */
int da_kv_parse_duration(const char *v, uint64_t min_s, uint64_t max_s, uint64_t *out_s,
                         char *reason, size_t reason_size);
/* Bytes: <n>, <n>K, <n>M, <n>G (binary multiples), within [min, max]. */
int da_kv_parse_size(const char *v, uint64_t min, uint64_t max, uint64_t *out, char *reason,
                     size_t reason_size);
/* Absolute, normalized path: starts with '/', no "//", no "." or ".."
 * components, no trailing '/' (except "/" itself), fits out_size. */
int da_kv_parse_abs_path(const char *v, char *out, size_t out_size, char *reason,
                         size_t reason_size);
/* One of the NULL-terminated names; *out is its index. */
int da_kv_parse_enum(const char *v, const char *const *names, int *out, char *reason,
                     size_t reason_size);

/* A comma-separated list. Each element is trimmed; an element may be quoted
 * to hold commas. Empty elements are errors; an empty value is an empty list.
 * Up to DA_KVCONF_MAX_LIST elements of DA_KVCONF_MAX_ELEMENT bytes. */
struct da_kv_list {
    size_t n;
    char **items; /* n NUL-terminated strings */
};
int da_kv_parse_list(const char *raw, struct da_kv_list *out, char *reason, size_t reason_size);
void da_kv_list_free(struct da_kv_list *l);

/* An http(s) URL with a host, optional port and path; no user info, query
 * or fragment. */
struct da_kv_url {
    bool https;
    char host[DA_KVCONF_MAX_URL_HOST]; /* without brackets for IPv6 */
    unsigned port;                     /* the scheme's default when absent */
    bool loopback;                     /* localhost, 127.0.0.0/8 or ::1 */
};
int da_kv_parse_url(const char *v, struct da_kv_url *out, char *reason, size_t reason_size);

/* An IPv4 or IPv6 network in CIDR notation with no host bits set. */
struct da_kv_cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned prefix;
};
int da_kv_parse_cidr(const char *v, struct da_kv_cidr *out, char *reason, size_t reason_size);

/* ---- schema layer ---- */

enum da_kvconf_type {
    DA_KV_STRING,   /* unquoted text into char[size] */
    DA_KV_PATH,     /* absolute path into char[size] */
    DA_KV_U64,      /* uint64_t within [min, max] */
    DA_KV_BOOL,     /* bool */
    DA_KV_DURATION, /* uint64_t seconds within [min, max] */
    DA_KV_SIZE,     /* uint64_t bytes within [min, max] */
    DA_KV_ENUM,     /* int index into names */
    DA_KV_LIST,     /* struct da_kv_list (replaced, old one freed) */
    DA_KV_CUSTOM,   /* parse(raw value, field) */
};

struct da_kvconf_key {
    const char *name;
    enum da_kvconf_type type;
    size_t offset; /* of the field in the caller's structure */
    size_t size;   /* DA_KV_STRING, DA_KV_PATH: size of the char array */
    uint64_t min, max;
    const char *const *names; /* DA_KV_ENUM */
    /* DA_KV_CUSTOM, and an extra check after any other type. */
    int (*check)(void *field, const char *value, char *reason, size_t reason_size);
};

/* Parse text against keys[0..nkeys) into obj. seen (nkeys entries, may be
 * NULL) receives the line on which each key was set, 0 if not set. */
int da_kvconf_apply(const struct da_kvconf_key *keys, size_t nkeys, void *obj, const char *text,
                    size_t len, const char *file, unsigned *seen, struct da_kvconf_error *err);
int da_kvconf_apply_file(const struct da_kvconf_key *keys, size_t nkeys, void *obj,
                         const char *path, unsigned *seen, struct da_kvconf_error *err);

#endif

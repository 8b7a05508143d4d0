/* The evidence's data inventory and its minimal mode.
 *
 * One table lists every evidence field by a JSON pointer pattern ("*"
 * stands for any array index or object key; a pattern also covers every
 * field below it): whether it can point to a person, what it is for, which
 * checks of the shipped policy read it, and what minimal mode does with it
 * (keep, replace by a keyed pseudonym, or leave out because no check reads
 * it). docs/privacy.md is the same table for people; a test holds the two
 * and the collectors' real output together.
 *
 * Pseudonyms are "p:" and the first 12 bytes, in hex, of HMAC-SHA-256 over
 * the original string with the deployment's privacy key, so equal names
 * give equal pseudonyms for as long as the key stays the same. Paths that
 * cannot name a person stay as they are: "/", "/home", "/var", "/tmp",
 * "/boot", "/srv", "/opt", "/usr", "/root" and files below /usr/, /bin/,
 * /sbin/, /lib/, /lib64/.
 */
#ifndef DA_PRIVACY_H
#define DA_PRIVACY_H

#include <stddef.h>

#include "cjson/cJSON.h"

#define DA_PRIVACY_KEY_LEN        32
#define DA_PRIVACY_KEY_HEX_SIZE   (2 * DA_PRIVACY_KEY_LEN + 1)
#define DA_PRIVACY_PSEUDONYM_SIZE (2 + 24 + 1) /* "p:", 24 hex digits, NUL */

enum da_privacy_mode {
    DA_PRIVACY_STANDARD = 0,
    DA_PRIVACY_MINIMAL = 1,
};

enum da_privacy_class {
    DA_PRIVACY_TECHNICAL = 0, /* says nothing about a person */
    DA_PRIVACY_MACHINE = 1,   /* identifies the machine, not a person */
    DA_PRIVACY_PERSONAL = 2,  /* can point to a person (names, home paths) */
};

enum da_privacy_action {
    DA_PRIVACY_KEEP = 0,
    DA_PRIVACY_PSEUDONYMIZE = 1,
    DA_PRIVACY_DROP = 2,
};

struct da_privacy_field {
    const char *pattern;
    enum da_privacy_class cls;
    enum da_privacy_action minimal;
    const char *checks; /* check ids separated by ", "; "" when none reads it */
    const char *purpose;
};

/* The whole table, in document order. */
const struct da_privacy_field *da_privacy_fields(size_t *n);
/* The entry covering a concrete pointer ("/disk/volumes/3/path"): the
 * longest pattern that matches the pointer or one of its ancestors; NULL
 * when the table does not list the field. */
const struct da_privacy_field *da_privacy_lookup(const char *pointer);
/* Whether some pattern lies at or below pointer (a container the table
 * describes field by field). */
int da_privacy_covers_below(const char *pointer);

const char *da_privacy_mode_name(enum da_privacy_mode mode);
/* "standard" or "minimal"; DA_ERR_INVALID_ARG otherwise. */
int da_privacy_mode_parse(const char *name, enum da_privacy_mode *out);
const char *da_privacy_class_name(enum da_privacy_class cls);
const char *da_privacy_action_name(enum da_privacy_action a);

/* HMAC-SHA-256 (RFC 2104) of value under key, as a pseudonym. */
int da_privacy_pseudonym(const unsigned char key[DA_PRIVACY_KEY_LEN], const char *value,
                         char out[DA_PRIVACY_PSEUDONYM_SIZE]);
/* Parse a key written as 64 hex digits (surrounding white space allowed). */
int da_privacy_key_parse(const char *text, size_t len, unsigned char key[DA_PRIVACY_KEY_LEN]);

/* Apply mode to an evidence document in place and record it as
 * /agent/privacy. Standard mode changes nothing else. Minimal mode
 * pseudonymizes, leaves out the fields the table says, leaves out every
 * field the table does not list, and drops the `detail` of unknown objects
 * (it names paths). key may be NULL in standard mode; in minimal mode a
 * NULL key is an error (DA_ERR_INVALID_ARG). DA_ERR_NOMEM. */
int da_privacy_apply(cJSON *evidence, enum da_privacy_mode mode,
                     const unsigned char key[DA_PRIVACY_KEY_LEN]);

#endif

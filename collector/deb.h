/* Debian package metadata: version comparison, deb822 stanzas (dpkg status,
 * apt Packages lists), apt Release files, compressed lists, and the offline
 * computation of pending upgrades. Every parser here reads outside input:
 * it is strict, capped, and has a fuzz target in tests/fuzz. */
#ifndef COL_DEB_H
#define COL_DEB_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "rootfs.h"

#define COL_DEB_MAX_STANZA  (1u * 1024 * 1024) /* one deb822 paragraph */
#define COL_DEB_MAX_FIELD   1024               /* one value we keep (name, version, arch) */
#define COL_DEB_MAX_LISTS   256                /* apt list files considered */
#define COL_DEB_MAX_PENDING 65536              /* pending upgrades kept */
#define COL_DEB_MAX_NOTES   32                 /* odd status stanzas described */

/* Debian version syntax as dpkg's parser has it: 0 for a valid version,
 * COL_DEBVER_WARN for one dpkg accepts with a warning (upstream part not
 * starting with a digit, a character outside the allowed set; dpkg uses it
 * and so do we), DA_ERR_VERSION_SYNTAX for one dpkg refuses (empty, blanks,
 * bad epoch, empty upstream or revision). *why is dpkg's message (static). */
#define COL_DEBVER_WARN 1
int col_debver_check_why(const char *v, size_t n, const char **why);
int col_debver_check(const char *v, size_t n);
/* Compare two valid NUL-terminated versions: <0, 0, >0 (dpkg semantics). */
int col_debver_cmp(const char *a, const char *b);

struct col_span {
    const char *p;
    size_t n;
};

/* Find the named fields in one stanza (no blank line inside). vals[i] gets
 * the value of names[i] (first line, trimmed; {NULL,0} when absent).
 * Rejects lines that are neither "Name: value" nor continuations and
 * repeated requested fields: DA_ERR_COLLECT_PARSE. */
int col_deb822_get(const char *p, size_t n, const char *const *names, size_t count,
                   struct col_span *vals);

/* Call fn for each stanza of a buffer. fn returns 0 or a negative error that
 * stops the walk and is returned. */
typedef int (*col_stanza_fn)(const char *p, size_t n, void *arg);
int col_deb822_each(const char *p, size_t n, col_stanza_fn fn, void *arg);

/* Read a list file (path inside fs), decompressing by its name (.lz4, .gz,
 * .xz, .zst or none), and call fn for each stanza. Returns 0, the file
 * layer's DA_ERR_* for the file, DA_ERR_DECOMPRESS, DA_ERR_TOO_LARGE or
 * fn's error. */
int col_deb_list_read(struct da_rootfs *fs, const char *path, col_stanza_fn fn, void *arg);

struct col_release {
    char origin[128];
    char label[128];
    char suite[128];
    char codename[128];
    char version[128];
    int not_automatic;
    int but_automatic_upgrades;
};

/* Parse the first paragraph of a Release or InRelease file (clearsigned
 * wrapper accepted; the signature is apt's business, checked when it
 * downloaded the file). */
int col_release_parse(const char *p, size_t n, struct col_release *out);
/* Default pin priority of the packages of a release (500, 100 or 1). */
int col_release_priority(const struct col_release *rel);
/* 1 when the release is a security suite. */
int col_release_is_security(const struct col_release *rel);

/* ---- apt preferences (pins) ---- */

/* What a pin can match of one list file. */
struct col_list_match {
    const char *host; /* the repository's host ("origin" pins) */
    const struct col_release *rel;
    const char *component; /* "main", or "" */
    const char *arch;      /* "amd64", or "" */
};

struct col_pins;
struct col_pins *col_pins_new(void);
void col_pins_free(struct col_pins *p);
size_t col_pins_count(const struct col_pins *p);
/* Append the stanzas of one preferences file. DA_ERR_COLLECT_PARSE for a
 * stanza apt would refuse. */
int col_pins_parse(struct col_pins *pins, const char *text, size_t n);
/* Priority of a list: the first generic pin matching it, else the default. */
int col_pins_list_priority(const struct col_pins *pins, const struct col_list_match *m,
                           int default_priority);
/* Index of the first specific pin for pkg matching version (or the list m
 * holding it; m NULL for dpkg's status), with its priority; -1 when none. */
int col_pins_version_pin(const struct col_pins *pins, const char *pkg, const char *version,
                         const struct col_list_match *m, int *priority);

/* ---- installed packages and pending upgrades ---- */

struct col_pkgdb; /* opaque: installed packages with a hash index */

struct col_advisory {
    char *id;
    char *severity; /* NULL: the advisory gives none */
};

struct col_pending {
    char *name;
    char *arch;
    char *installed;
    char *candidate;
    int security;
    /* rpm only: the security advisories that apply (NULL, 0 on Debian) */
    struct col_advisory *adv;
    size_t n_adv;
};

struct col_kernel_pkg {
    char *release; /* linux-image-RELEASE */
    char *version;
};

struct col_patch_facts {
    uint64_t installed_count;
    char inventory_sha256[65];
    struct col_pending *pending;
    size_t n_pending;
    struct col_kernel_pkg *kernels;
    size_t n_kernels;
    int unattended_upgrades_installed;
    /* status stanzas dpkg warns about (kept) and refuses (skipped), the first
     * COL_DEB_MAX_NOTES described; never cached (a cache is written only
     * when both counts are 0) */
    uint64_t status_warnings, status_skipped;
    char **status_notes;
    size_t n_status_notes;
};

void col_patch_facts_free(struct col_patch_facts *f);

/* Parse a dpkg status file held in memory into a new database. */
int col_pkgdb_from_status(const char *p, size_t n, struct col_pkgdb **out);
void col_pkgdb_free(struct col_pkgdb *db);
size_t col_pkgdb_count(const struct col_pkgdb *db);

/* Use these pins (not owned; NULL for none) for the lists fed after. */
void col_pkgdb_set_pins(struct col_pkgdb *db, const struct col_pins *pins);

/* Feed one list's stanza with the list's priority (generic pins applied),
 * security flag and, for specific pins, what the list is (m may be NULL). */
int col_pkgdb_add_list_stanza(struct col_pkgdb *db, const char *p, size_t n, int priority,
                              int security, const struct col_list_match *m);

/* The package inventory the server asks for (409 inventory_needed): one line
 * "name:arch=version\n" per installed package, in the order whose SHA-256 is
 * the facts' inventory_sha256. Appends to out. */
int col_pkgdb_inventory(const struct col_pkgdb *db, struct da_buf *out);

/* Derive the facts (pending sorted by name, arch) from a database. */
int col_pkgdb_facts(const struct col_pkgdb *db, struct col_patch_facts *out);

/* Cache of facts: text form (key lines then body) written to the state dir.
 * col_patch_cache_parse is strict: any deviation is DA_ERR_COLLECT_PARSE. */
int col_patch_cache_parse(const char *p, size_t n, struct col_patch_facts *out);
int col_patch_cache_format(const struct col_patch_facts *f, char **out, size_t *out_len);

/* ---- first-seen times of pending upgrades (state directory) ---- */

/* When the agent first saw a (package name, candidate version) pending. */
struct col_seen_entry {
    char *name;
    char *candidate;
    int64_t first_seen; /* seconds since the epoch */
};

/* The record: the root it describes and its entries, sorted by name then
 * candidate (strcmp), each key once. */
struct col_seen {
    char *root;
    struct col_seen_entry *v;
    size_t n;
};

/* Latest first-seen time the record accepts (9999-12-31T23:59:59Z). */
#define COL_SEEN_MAX_TIME INT64_C(253402300799)

/* Parse the record (at most DA_MAX_PENDING_SEEN bytes). Strict: the magic
 * line, one root line, entries in strictly increasing order with printable
 * names, valid Debian versions and times in [1, now], then "end" and nothing
 * after it. Anything else is DA_ERR_COLLECT_PARSE and *out stays empty: the
 * record is never used in part. */
int col_seen_parse(const char *p, size_t n, int64_t now, struct col_seen *out);
/* The exact bytes col_seen_parse reads back; DA_ERR_TOO_LARGE past the cap. */
int col_seen_format(const struct col_seen *s, char **out, size_t *out_len);
void col_seen_free(struct col_seen *s);
/* The entry for (name, candidate), or NULL. */
const struct col_seen_entry *col_seen_find(const struct col_seen *s, const char *name,
                                           const char *candidate);
/* The record for the pending set of f: times kept from old (NULL for none)
 * for upgrades still pending, now for new ones; upgrades no longer pending
 * are dropped. A pending upgrade whose name or version cannot be recorded
 * (not printable, not a valid version) is left out, so col_seen_find does
 * not find it. DA_ERR_COLLECT_PARSE for a root the record cannot hold
 * (empty, too long, control characters), DA_ERR_NOMEM. */
int col_seen_update(const struct col_seen *old, const struct col_patch_facts *f, const char *root,
                    int64_t now, struct col_seen *out);

/* ---- dpkg diversions (/var/lib/dpkg/diversions) ---- */

struct col_diversion {
    char *from;    /* the diverted path: files of other packages are not installed there */
    char *to;      /* where the other packages' file is installed instead */
    char *package; /* the diverting package, whose own file is at from; NULL: local */
};

struct col_diversions {
    struct col_diversion *v;
    size_t n;
};

/* Parse the database strictly (triples of newline-terminated lines, absolute
 * paths, a package name or ":"; each path diverted once). Anything else is
 * DA_ERR_COLLECT_PARSE and *out stays empty. */
int col_diversions_parse(const char *p, size_t n, struct col_diversions *out);
void col_diversions_free(struct col_diversions *d);
/* The diversion of path (d may be NULL), by its diverted or its new name. */
const struct col_diversion *col_diversion_from(const struct col_diversions *d, const char *path);
const struct col_diversion *col_diversion_to(const struct col_diversions *d, const char *path);

/* apt.conf syntax: the value of a fully qualified key ("APT::Periodic::
 * Unattended-Upgrade") in one file's text, later assignments winning.
 * Returns 1 when found (value copied), 0 when absent, DA_ERR_COLLECT_PARSE. */
int col_aptconf_value(const char *p, size_t n, const char *key, char *val, size_t val_n);

#endif

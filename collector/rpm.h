/* RPM-family package facts: the rpm database (through librpm, read-only and
 * confined to one directory below the root), dnf's configuration (strict
 * INI parser, fuzzed) and the pending computation over dnf's metadata cache
 * (libsolv reads the XML from descriptors the file layer opened). */
#ifndef COL_RPM_H
#define COL_RPM_H

#include <stddef.h>
#include <stdint.h>

#include "collector.h"
#include "deb.h"

/* ---- the rpm database (rpm_db.c) ---- */

struct col_rpmdb;

/* One installed package. evr is "[E:]V-R" with the epoch only when set. */
struct col_rpm_pkg {
    char *name;
    char *arch;
    char *evr;
};

struct col_rpm_pkgs {
    struct col_rpm_pkg *v;
    size_t n;
};

/* The database directories looked for, in order (the first holding a
 * database wins). */
#define COL_RPMDB_DIRS                                                                             \
    {                                                                                              \
        "/usr/lib/sysimage/rpm", "/var/lib/rpm"                                                    \
    }

/* Find the database below the root: DA_ERR_NOT_FOUND when there is none
 * (no rpm here), another file-layer code when a directory or file cannot be
 * read (*where names it). dir gets the directory as found. */
int col_rpmdb_find(const struct col_ctx *ctx, char *dir, size_t dir_n, char *where, size_t where_n);

/* Open the database of dir (from col_rpmdb_find) read-only: 0,
 * DA_ERR_RPMDB_WOULD_WRITE (librpm or SQLite would have to create or change
 * a file: no database file, a WAL with frames), DA_ERR_RPMDB (librpm refuses
 * it: corrupt, unsupported format), DA_ERR_UNSUPPORTED (ndb) or a file
 * layer code. why gets a sentence. */
int col_rpmdb_open(const struct col_ctx *ctx, const char *dir, struct col_rpmdb **out, char *why,
                   size_t why_n);
void col_rpmdb_close(struct col_rpmdb *db);
/* Every installed package (gpg-pubkey pseudo packages left out), sorted by
 * name, arch, evr. */
int col_rpmdb_packages(struct col_rpmdb *db, struct col_rpm_pkgs *out);
void col_rpm_pkgs_free(struct col_rpm_pkgs *p);

/* The owner of an absolute path and whether the file's digest equals the
 * one its header records (what rpm -V checks with its "5" column).
 * *owned 0 when no package owns it. verified: 1, 0, or -1 when the header
 * has no digest for it (a ghost, a directory) or an algorithm we do not
 * compute. sha256/md5 are the file's digests in lowercase hex. */
struct col_rpm_owner {
    int owned;
    char name[256];
    char evr[256];
    int verified;
};
int col_rpmdb_owner(struct col_rpmdb *db, const char *path, const char *sha256, const char *md5,
                    struct col_rpm_owner *o);

/* ---- dnf configuration (rpm_conf.c): parsers of outside input ---- */

#define COL_RPM_MAX_REPOS    256
#define COL_RPM_MAX_PATTERNS 256
#define COL_RPM_MAX_VALUE    4096

/* INI as dnf reads it: "[section]", "key = value" or "key: value",
 * continuation lines starting with blanks, comments "#" and ";" on their
 * own line. Calls fn(section, key, value) for each assignment ("" section
 * before the first header); a repeated key calls again (the later wins).
 * Strict: a line that is none of these, an empty or over-long name, a
 * value over COL_RPM_MAX_VALUE, is DA_ERR_COLLECT_PARSE. */
typedef int (*col_ini_fn)(void *arg, const char *section, const char *key, const char *value);
int col_rpm_ini_parse(const char *p, size_t n, col_ini_fn fn, void *arg);

/* dnf's boolean words: 1, 0, or DA_ERR_COLLECT_PARSE. */
int col_rpm_bool(const char *v);

/* A list option ("a, b c"): split on commas and blanks. */
struct col_rpm_list {
    char **v;
    size_t n;
};
int col_rpm_list_add(struct col_rpm_list *l, const char *value);
void col_rpm_list_free(struct col_rpm_list *l);

struct col_rpm_repo {
    char id[128];
    char *baseurl; /* the first baseurl, variables substituted (NULL: none) */
    char *metalink, *mirrorlist;
    int enabled;
    int priority;
    int unresolved_vars; /* a $variable we could not substitute */
    struct col_rpm_list exclude, include;
};

struct col_rpm_conf {
    struct col_rpm_repo *repos;
    size_t n_repos;
    struct col_rpm_list exclude, include; /* [main] */
    struct col_rpm_list installonly;      /* [main] installonlypkgs (added to dnf's) */
    struct col_rpm_list reposdir;         /* [main] reposdir, or dnf's default */
    char cachedir[1024];                  /* [main] cachedir, or /var/cache/dnf */
    int reposdir_set;
};

/* Variables ($name, ${name}) for substitution; NULL values are unknown. */
struct col_rpm_vars {
    char *names[64];
    char *values[64];
    size_t n;
};
int col_rpm_vars_set(struct col_rpm_vars *v, const char *name, const char *value);
void col_rpm_vars_free(struct col_rpm_vars *v);
/* Substitute into a new string; *unresolved set when a $name has no value. */
int col_rpm_subst(const struct col_rpm_vars *v, const char *in, char **out, int *unresolved);

/* Apply one file's text (dnf.conf when main is 1, else a .repo file). A
 * repository id defined twice, an unknown boolean, a priority that is not
 * a number, more than COL_RPM_MAX_REPOS repositories: DA_ERR_COLLECT_PARSE. */
int col_rpm_conf_parse(struct col_rpm_conf *c, const struct col_rpm_vars *vars, const char *p,
                       size_t n, int main);
void col_rpm_conf_free(struct col_rpm_conf *c);

/* dnf's cache directory name of a repository: ID-HASH, HASH the first 16
 * hex digits of the SHA-256 of its metalink, else mirrorlist, else first
 * baseurl, else its id. */
int col_rpm_cache_name(const struct col_rpm_repo *r, char *out, size_t n);

/* 1 when a package (name, evr, arch) matches one of the patterns as dnf
 * matches exclude/includepkgs (fnmatch on name, name.arch, name-version,
 * name-version-release, name-version-release.arch, name-epoch:version-
 * release.arch). */
int col_rpm_pattern_match(const struct col_rpm_list *pats, const char *name, const char *evr,
                          const char *arch);

/* rpm's version comparison (rpmvercmp) of two EVR strings. */
int col_rpm_evrcmp(const char *a, const char *b);

/* ---- the pending cache (rpm_conf.c): outside input, fuzzed ---- */

/* The cached result of the pending computation, after the key lines of
 * patches.cache: one JSON object {"oldest_repomd": N, "pending": [{"name",
 * "arch", "installed", "candidate", "advisories": [{"id", "severity"}]}]}
 * (severity a string or null). col_rpm_cache_parse is strict: any other
 * member, type or an over-long string is DA_ERR_COLLECT_PARSE and *f stays
 * empty. */
int col_rpm_cache_parse(const char *p, size_t n, struct col_patch_facts *f, int64_t *oldest);
int col_rpm_cache_format(const struct col_patch_facts *f, int64_t oldest, struct da_buf *out);

/* ---- the patches area for an rpm root (col_rpm.c) ---- */

/* Fill the patches area for an rpm database found at dir. */
int col_rpm_patches(const struct col_ctx *ctx, cJSON *area, const char *dir);
/* Every fact of the area unknown: the rpm database could not be looked
 * for (err, a file-layer code, at where). */
int col_rpm_patches_err(cJSON *area, int err, const char *where);
/* The inventory lines of an rpm root, as col_patches_inventory gives them. */
int col_rpm_inventory(const struct col_ctx *ctx, const char *dir, struct da_buf *out);

/* Shared with col_patches.c: the pending list with first-seen ages. */
int col_patches_pending(const struct col_ctx *ctx, cJSON *area, const struct col_patch_facts *f);

#endif

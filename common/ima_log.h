/* The kernel's IMA runtime measurement list in its binary form
 * (/sys/kernel/security/ima/binary_runtime_measurements): one strict
 * parser and the replay of PCR 10, shared by the agent (which sends the
 * entries the server has not seen) and the server (which replays them
 * against the quote, docs/evidence.md "ima").
 *
 * Each entry, as the kernel prints it (little-endian, the byte order of
 * the machines served; a big-endian kernel must be booted with
 * ima_canonical_fmt):
 *   u32 PCR | 20-byte SHA-1 template hash | u32 name length | template name
 *   | u32 template data length | template data
 * except the legacy "ima" template, whose data has no length in front and
 * is a 20-byte digest followed by u32 length + path (without NUL).
 * The data of every other template is a sequence of fields, each a u32
 * length and that many bytes; "ima-ng" is d-ng|n-ng, "ima-sig"
 * d-ng|n-ng|sig. A d-ng field is "ALGO:" NUL DIGEST, an n-ng field a path
 * with its terminating NUL.
 *
 * Refused with DA_ERR_TPM_IMA_LOG: a truncated entry, a PCR above 23, a
 * template name that is empty, longer than DA_IMA_MAX_TEMPLATE_NAME or not
 * printable, template data over DA_IMA_MAX_TEMPLATE_DATA, fields that do not
 * fill the template data exactly, and for the decoded templates a wrong
 * field count, a digest whose length does not fit its algorithm, a path
 * without its NUL or with one inside. Other templates (ima-buf,
 * ima-modsig, ...) are walked field by field and replayed, not decoded. */
#ifndef DA_IMA_LOG_H
#define DA_IMA_LOG_H

#include <stddef.h>
#include <stdint.h>

#define DA_IMA_PCR               10
#define DA_IMA_SHA1_LEN          20
#define DA_IMA_MAX_TEMPLATE_NAME 32
#define DA_IMA_MAX_TEMPLATE_DATA (64u * 1024)
#define DA_IMA_LEGACY_NAME_MAX   255 /* the "ima" template's path cap */
#define DA_IMA_MAX_DIGEST        64
#define DA_IMA_BANKS             2 /* SHA-1 and SHA-256, the banks IMA's PCR 10 is read in */

/* One entry as the walk hands it out; pointers reach into the list. */
struct da_ima_entry {
    uint64_t index; /* position in the boot's list (the walk's first index + n) */
    uint32_t pcr;
    const unsigned char *template_hash; /* DA_IMA_SHA1_LEN bytes as listed */
    int violation;                      /* the listed template hash is all zero */
    const char *template_name;          /* not NUL-terminated */
    size_t template_name_len;
    const unsigned char *template_data; /* as listed */
    size_t template_data_len;
    int legacy; /* the "ima" template */
    /* decoded for ima, ima-ng and ima-sig (decoded 1), else left empty */
    int decoded;
    char digest_alg[16];         /* "sha256", "sha1", ... ("sha1" for "ima") */
    const unsigned char *digest; /* the file's digest */
    size_t digest_len;
    const char *path; /* not NUL-terminated; path_len bytes */
    size_t path_len;
    const unsigned char *sig; /* ima-sig: the signature field (may be empty) */
    size_t sig_len;
};

/* Called for every entry in list order; a nonzero return stops the walk
 * and is returned. */
typedef int (*da_ima_visit_fn)(const struct da_ima_entry *e, void *ctx);

/* Walk at most max entries of the list (SIZE_MAX: all), numbering them from
 * first_index; visit may be NULL. *count (may be NULL) gets the entries
 * walked, *used (may be NULL) the bytes they take. The whole list is
 * checked only when max is not reached. */
int da_ima_walk(const unsigned char *data, size_t len, uint64_t first_index, size_t max,
                da_ima_visit_fn visit, void *ctx, size_t *count, size_t *used);

/* The running PCR 10 of the banks a quote covers, after a number of entries
 * of one boot. banks: bit 0 SHA-1, bit 1 SHA-256. A new boot starts at
 * entries 0 with every PCR zero (da_ima_aggregate_init). */
#define DA_IMA_BANK_SHA1   1u
#define DA_IMA_BANK_SHA256 2u
struct da_ima_aggregate {
    uint64_t entries;
    unsigned banks;
    unsigned char sha1[20];
    unsigned char sha256[32];
};

void da_ima_aggregate_init(struct da_ima_aggregate *a, unsigned banks);

/* Replay an increment of the list (the entries after agg->entries) from the
 * aggregate as the kernel extends PCR 10: in each bank with the template
 * hash computed in that bank's algorithm over the template data (the
 * legacy "ima" template: digest then the path zero-padded to 256 bytes;
 * the others: every field's u32 length and bytes), and with all 0xff bytes
 * for a violation (a listed template hash of zeros). Entries of other PCRs
 * are counted, not extended.
 *
 * quoted_sha1 / quoted_sha256 are the quoted PCR 10 values of the banks in
 * agg->banks. The quote was made before the agent read the list, so the
 * list may end with entries the quote does not cover: the replay stops at
 * the first point (before any entry or after one) where every bank equals
 * the quote, *out gets the aggregate there and *used the number of entries
 * of the increment it covers. DA_ERR_VERIFY_IMA_REPLAY (*out the aggregate
 * at the end) when no point matches; DA_ERR_TPM_IMA_LOG for a malformed
 * increment (nothing replayed).
 *
 * visit (may be NULL) sees each entry replayed, up to and including the one
 * where the quote matched, before it is extended; what it gathered counts
 * only when the replay returns 0. A nonzero return from it stops the replay
 * and is returned (a positive one as DA_ERR_INVALID_ARG). */
int da_ima_replay(const unsigned char *data, size_t len, const struct da_ima_aggregate *agg,
                  const unsigned char *quoted_sha1, const unsigned char *quoted_sha256,
                  da_ima_visit_fn visit, void *ctx, struct da_ima_aggregate *out, size_t *used);

/* The byte offset in data of the entry numbered skip (the first entry is 0);
 * DA_ERR_NOT_FOUND when the list has fewer entries, DA_ERR_TPM_IMA_LOG when
 * the entries before it are malformed. For the agent: it sends the list
 * from there. */
int da_ima_skip(const unsigned char *data, size_t len, uint64_t skip, size_t *offset);

#endif

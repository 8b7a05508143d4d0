/* How the store keeps a report compactly (engine-neutral, no SQL).
 *
 * - zstd frames with a content checksum; decompression is capped.
 * - A JSON object's top-level members as spans of its text (no parse tree):
 *   the canonical evidence document is split into its areas, and a report
 *   body into what is kept per report and what is stored once per agent.
 * - A report's per-report texts (transcript, receipt, the body with its
 *   large members cut out) as one record, compressed against the agent's
 *   base record (a zstd prefix) so that what repeats costs nearly nothing.
 * docs/internals/server-store.md, "Evidence storage".
 */
#ifndef SRV_STORE_PACK_H
#define SRV_STORE_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SRV_PACK_MAX_RAW   (64u << 20) /* no stored text decompresses beyond this */
#define SRV_PACK_MAX_AREAS 64
#define SRV_PACK_MAX_SUBS  8
#define SRV_PACK_CUT_MIN   256 /* body members at least this long are stored by digest */

/* One top-level member: key (with its quotes) and value, as spans. */
struct srv_json_member {
    size_t key_off, key_len;
    size_t val_off, val_len;
};

/* Members of the object text (whitespace allowed between tokens); false
 * when it is not one object or has more than max members. */
bool srv_json_members(const char *text, size_t len, struct srv_json_member *m, size_t max,
                      size_t *n);

/* zstd with the frame checksum; prefix (may be NULL) is a raw dictionary
 * both sides must use. *out is malloc'ed. */
int srv_zstd_compress(const void *src, size_t len, const void *prefix, size_t prefix_len,
                      unsigned char **out, size_t *out_len);
/* DA_ERR_STORE_CORRUPT when the frame is damaged, its checksum fails, or it
 * is larger than max. *out is malloc'ed with a NUL after the data. */
int srv_zstd_decompress(const void *src, size_t len, const void *prefix, size_t prefix_len,
                        size_t max, unsigned char **out, size_t *out_len);

/* A substitution in a stored body: at offset of the skeleton, the canonical
 * evidence (kind 1) or the blob with this digest (kind 2). */
struct srv_pack_sub {
    uint32_t offset;
    unsigned char kind;
    unsigned char digest[32];
};

#define SRV_PACK_SUB_EVIDENCE 1
#define SRV_PACK_SUB_BLOB     2

/* The per-report record. NULL text: absent (a pruned report's transcript,
 * evidence list and body, or a report stored without a body). */
struct srv_pack_rec {
    const unsigned char *areas; /* the evidence's area list (srv_pack_areas_write) */
    size_t areas_len;
    const char *transcript;
    size_t transcript_len;
    const char *receipt;
    size_t receipt_len;
    const char *skeleton; /* the body with its cut members removed */
    size_t skeleton_len;
    struct srv_pack_sub subs[SRV_PACK_MAX_SUBS];
    size_t n_subs;
};

/* Serialize (raw, before compression) and parse back. Parsing points into
 * raw; DA_ERR_STORE_CORRUPT on any inconsistency. */
int srv_pack_rec_write(const struct srv_pack_rec *r, unsigned char **out, size_t *out_len);
int srv_pack_rec_read(const unsigned char *raw, size_t len, struct srv_pack_rec *r);

/* The evidence's area list: in order, each top-level member's key (with
 * its quotes, as in the canonical text) and its value, inline (kind 1) or
 * stored apart under its SHA-256 (kind 2). key_len 0 and one entry: the
 * whole text (not split). */
#define SRV_PACK_AREA_INLINE 1
#define SRV_PACK_AREA_BLOB   2
struct srv_pack_area {
    const char *key;
    size_t key_len;
    unsigned char kind;
    const char *value; /* kind 1 */
    size_t value_len;
    const unsigned char *digest; /* kind 2 */
};
int srv_pack_areas_write(const struct srv_pack_area *a, size_t n, unsigned char **out,
                         size_t *out_len);
int srv_pack_areas_read(const unsigned char *raw, size_t len, struct srv_pack_area *a, size_t max,
                        size_t *n);

#endif

/* The spool: signed reports that could not be delivered yet.
 *
 * One directory, one file per report, named by a zero-padded sequence number
 * (00000000000000000042.entry) so that names sort in the order reports were
 * made. Each file is written atomically: a temporary file in the same
 * directory, fsync, rename, fsync of the directory. A reader therefore sees
 * a whole entry or none, even when the writer is killed at any point.
 *
 * Entry format (integers big endian):
 *   "DASPOOL1" | u64 sequence | u64 created (Unix seconds) | u32 length |
 *   32-byte SHA-256 over everything before it and the payload | payload
 * An entry that does not parse, whose digest does not match, or whose
 * sequence differs from its name is corrupt: it is moved to quarantine/ (at
 * most AGENT_SPOOL_MAX_QUARANTINE files are kept), counted as dropped, and
 * never sent.
 *
 * The spool is bounded by a count and a byte total; putting a report that
 * would pass either bound first drops the oldest entries. Drops are counted
 * in a file of their own (written atomically) so that the next report can
 * carry the number, and cleared when a report carrying it was accepted.
 *
 * One process owns a spool at a time (flock on the directory).
 */
#ifndef AGENT_SPOOL_H
#define AGENT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "caps.h"

#define AGENT_SPOOL_MAGIC          "DASPOOL1"
#define AGENT_SPOOL_HEADER_LEN     60
#define AGENT_SPOOL_MAX_PAYLOAD    DA_MAX_REPORT
#define AGENT_SPOOL_MAX_QUARANTINE 32

struct agent_spool;

/* Open (creating the directory, mode 0700, if missing; its parent must
 * exist). Removes temporary files left by a killed writer. DA_ERR_SPOOL when
 * another process holds the spool, DA_ERR_IO / DA_ERR_PERMISSION otherwise. */
int agent_spool_open(const char *dir, uint64_t max_reports, uint64_t max_bytes,
                     struct agent_spool **out);
/* Before the sandbox: make the quarantine directory and keep both
 * descriptors (common/file.h da_file_dir_keep) so the filter lets this
 * process write only there. dir is the path agent_spool_open was given. */
int agent_spool_keep_dirs(struct agent_spool *s, const char *dir);
void agent_spool_close(struct agent_spool *s);

/* Store a payload as the newest entry, dropping the oldest entries first if
 * the bounds require it. *seq (may be NULL) receives its sequence number.
 * DA_ERR_TOO_LARGE if the entry alone passes max_bytes or the payload passes
 * AGENT_SPOOL_MAX_PAYLOAD. created is the report's collection time. */
int agent_spool_put(struct agent_spool *s, const void *payload, size_t len, uint64_t created,
                    uint64_t *seq);

/* Sequence numbers of the entries, oldest first (free *seqs). Corruption is
 * not checked here. */
int agent_spool_list(struct agent_spool *s, uint64_t **seqs, size_t *n);

/* The oldest entry that is intact: payload into out (reset, cap
 * AGENT_SPOOL_MAX_PAYLOAD). Corrupt entries met on the way are quarantined.
 * DA_ERR_NOT_FOUND when the spool holds no intact entry. */
int agent_spool_peek(struct agent_spool *s, uint64_t *seq, uint64_t *created, struct da_buf *out);

/* One entry by sequence. DA_ERR_NOT_FOUND, or DA_ERR_SPOOL_CORRUPT (and the
 * entry is quarantined). */
int agent_spool_read(struct agent_spool *s, uint64_t seq, uint64_t *created, struct da_buf *out);

/* Replace an entry's payload (a re-quoted report keeps its sequence and
 * creation time). Atomic like put. */
int agent_spool_replace(struct agent_spool *s, uint64_t seq, const void *payload, size_t len);

/* Remove a delivered entry. DA_ERR_NOT_FOUND if it is not there. */
int agent_spool_remove(struct agent_spool *s, uint64_t seq);

/* Remove an entry that will never be accepted and count it as dropped. */
int agent_spool_discard(struct agent_spool *s, uint64_t seq);

/* Entries and bytes held now. */
void agent_spool_usage(const struct agent_spool *s, uint64_t *count, uint64_t *bytes);

/* Reports dropped (bounds, corruption) and not yet reported. */
uint64_t agent_spool_dropped(const struct agent_spool *s);
/* A report that carried n drops was accepted: subtract n (persisted). */
int agent_spool_ack_dropped(struct agent_spool *s, uint64_t n);

/* Entry format, exposed for the fuzz target and tests. */
int agent_spool_entry_encode(uint64_t seq, uint64_t created, const void *payload, size_t len,
                             struct da_buf *out);
/* Parse exactly one entry: DA_ERR_SPOOL_CORRUPT for a wrong magic, a length
 * that disagrees with the data (short or trailing), a payload over the cap
 * or a digest mismatch. *payload points into data. */
int agent_spool_entry_parse(const unsigned char *data, size_t len, uint64_t *seq, uint64_t *created,
                            const unsigned char **payload, size_t *plen);

#endif

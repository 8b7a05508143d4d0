/* The fleet summary's tables (schema 12), kept inside the store's write
 * transactions: fleet_current (one row per agent: vendor, enrollment time,
 * freshness time, revoked, state, the shape of its newest verdict),
 * fleet_shapes (shape text by digest), fleet_counts (signed deltas of the
 * number of agents per vendor, state and shape, summed on read and folded
 * by the staleness sweep) and fleet_changes (compliance and check changes
 * with their time). Internal to the store: server/store.c calls these with
 * the connection of the transaction it runs. Docs:
 * docs/internals/server-store.md, "Fleet summary". */
#ifndef SRV_STORE_FLEET_H
#define SRV_STORE_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "store.h"
#include "store_engine.h"

/* fleet_current.state: the agent's state without time (stale is computed on
 * read); a revoked agent is counted under FLEET_REVOKED and keeps its state
 * for re-admission. */
enum { FLEET_PENDING = 0, FLEET_COMPLIANT = 1, FLEET_NON_COMPLIANT = 2, FLEET_REVOKED = 3 };

/* The shape of a verdict: its controls (string members) and its checks' id
 * and verdict, as compact JSON, and the SHA-256 (hex) of that text. */
int srv_fleet_shape(const char *verdict_json, char **shape_json, char digest[65]);
/* The same of the verdict's tree (the one its text was printed from): the
 * same bytes, without reading the text again. */
int srv_fleet_shape_tree(const cJSON *verdict, char **shape_json, char digest[65]);

/* An agent was created: its row, counted as pending. */
int srv_fleet_agent_created(struct srv_conn *db, const char *agent_id, int64_t vendor_id,
                            int64_t created_at);
/* An agent was revoked or re-admitted: its row and the counts. */
int srv_fleet_agent_revoked(struct srv_conn *db, const char *agent_id, bool revoked);
/* A report was stored (same transaction): the agent's row, the counts, and
 * the changes from its previous report. shape_json/digest from
 * srv_fleet_shape of the report's verdict. */
int srv_fleet_report(struct srv_conn *db, const struct srv_report *r, const char *shape_json,
                     const char *digest);
/* Fill the rows the migration left unfilled (batch agents per call, inside
 * one write, in agent id order after `after`, which it advances), from the
 * stored reports: the newest report's shape and the changes of the reports
 * at or after since. *filled: agents read (0: none left). cache keeps the
 * shapes of verdicts already read across calls (one fill). */
struct srv_fleet_cache;
int srv_fleet_cache_new(struct srv_fleet_cache **out);
void srv_fleet_cache_free(struct srv_fleet_cache *c);
int srv_fleet_fill_batch(struct srv_conn *db, struct srv_fleet_cache *cache, int64_t since,
                         unsigned batch, char *after, size_t after_size, int *filled);
/* Fold the count deltas and drop changes older than before. */
int srv_fleet_fold(struct srv_conn *db, int64_t before);

/* Reads on a reader connection (store.h: srv_store_fleet_*). */
int srv_fleet_read_status(struct srv_conn *db, int64_t vendor_id, int64_t cutoff,
                          srv_agent_count_cb cb, void *ctx);
int srv_fleet_read_shapes(struct srv_conn *db, int64_t vendor_id, srv_fleet_shape_cb cb, void *ctx);
int srv_fleet_read_changes(struct srv_conn *db, int64_t vendor_id, int64_t since, unsigned limit,
                           srv_fleet_change_cb cb, void *ctx);

/* From server/store.c, for the fill: the reports of the unfilled agents
 * with ids in (after, last] received at or after since, and each one's
 * newest report before since, ordered by agent, then newest first; the
 * verdict is given by its key (the SHA-256 of its text), with its text only
 * for a report stored before schema 10. srv_store_fleet_verdict reads the
 * text of a key (DA_ERR_STORE_CORRUPT when missing or damaged). */
struct srv_fleet_scan_row {
    const char *agent_id, *id;
    int64_t at;
    bool compliant;
    unsigned char verdict_key[32];
    const char *verdict_json; /* NULL: read it with srv_store_fleet_verdict */
};
typedef int (*srv_fleet_scan_cb)(struct srv_conn *db, const struct srv_fleet_scan_row *row,
                                 void *ctx);
int srv_store_fleet_scan(struct srv_conn *db, const char *after, const char *last, int64_t since,
                         srv_fleet_scan_cb cb, void *ctx);
int srv_store_fleet_verdict(struct srv_conn *db, const char *agent_id, const unsigned char key[32],
                            char **verdict_json);

#endif

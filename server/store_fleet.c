/* The fleet summary's tables, kept on write (server/store_fleet.h). */
#include "store_fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "err.h"
#include "json.h"
#include "picky.h"

#define FLEET_SCAN_MAX  5000 /* reports read per agent when filling */
#define FLEET_AUDIT_MAX 500  /* newest audit events read per status action */
#define FLEET_FILL_MAX  1024
#define FLEET_KEY_MAX   256 /* agent ids as stored (the server makes SRV_ID_HEX) */

/* ---- shapes ---- */

int srv_fleet_shape(const char *verdict_json, char **shape_json, char digest[65])
{
    cJSON *v = verdict_json != NULL ? cJSON_Parse(verdict_json) : NULL;
    int rc = srv_fleet_shape_tree(v, shape_json, digest);

    cJSON_Delete(v);
    return rc;
}

int srv_fleet_shape_tree(const cJSON *v, char **shape_json, char digest[65])
{
    cJSON *out = cJSON_CreateObject(), *ctl = NULL, *chk = NULL;
    const cJSON *c;
    int rc = 0;

    *shape_json = NULL;
    if (out == NULL || (ctl = cJSON_AddObjectToObject(out, "controls")) == NULL ||
        (chk = cJSON_AddArrayToObject(out, "checks")) == NULL)
        rc = DA_ERR_NOMEM;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "controls"))
    {
        if (rc == 0 && cJSON_IsString(c) && c->string != NULL &&
            cJSON_AddStringToObject(ctl, c->string, c->valuestring) == NULL)
            rc = DA_ERR_NOMEM;
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "checks"))
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
        const cJSON *vd = cJSON_GetObjectItemCaseSensitive(c, "verdict");
        cJSON *o;

        if (rc != 0 || !cJSON_IsString(id))
            continue;
        o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddItemToArray(chk, o) ||
            cJSON_AddStringToObject(o, "id", id->valuestring) == NULL ||
            (cJSON_IsString(vd) ? cJSON_AddStringToObject(o, "verdict", vd->valuestring)
                                : cJSON_AddNullToObject(o, "verdict")) == NULL)
            rc = DA_ERR_NOMEM;
    }
    if (rc == 0 && (*shape_json = cJSON_PrintUnformatted(out)) == NULL)
        rc = DA_ERR_NOMEM;
    if (rc == 0)
        rc = da_sha256_hex(*shape_json, strlen(*shape_json), digest) == 0 ? 0 : DA_ERR_NOMEM;
    if (rc != 0) {
        free(*shape_json);
        *shape_json = NULL;
    }
    cJSON_Delete(out);
    return rc;
}

/* ---- rows and counts ---- */

struct fleet_row {
    bool found;
    int64_t vendor_id, created_at;
    int revoked, state, filled;
    char shape[65];
};

static int row_read(struct srv_conn *db, const char *agent_id, struct fleet_row *row)
{
    struct srv_stmt *st = NULL;
    int rc, src;

    memset(row, 0, sizeof(*row));
    rc =
        srv_prepare(db, &st,
                    "SELECT vendor_id, created_at, revoked, state, shape, filled FROM fleet_current"
                    " WHERE agent_id = ?1",
                    "t", agent_id);
    if (rc != 0)
        return rc;
    src = srv_step(st);
    if (src == SRV_ROW) {
        row->found = true;
        row->vendor_id = srv_col_int64(st, 0);
        row->created_at = srv_col_int64(st, 1);
        row->revoked = srv_col_int(st, 2);
        row->state = srv_col_int(st, 3);
        srv_col_copy(st, 4, row->shape, sizeof(row->shape));
        row->filled = srv_col_int(st, 5);
    } else if (src < 0) {
        rc = src;
    }
    srv_release(st);
    return rc;
}

static int count_key(int revoked, int state)
{
    return revoked != 0 ? FLEET_REVOKED : state;
}

static int count_add(struct srv_conn *db, int64_t vendor_id, int key, const char *shape, int64_t n)
{
    return srv_exec_later(
        db, -1, 0, "INSERT INTO fleet_counts (vendor_id, state, shape, n) VALUES (?1, ?2, ?3, ?4)",
        "iiti", vendor_id, (int64_t)key, shape, n);
}

/* One agent moves from one count to another. */
static int count_move(struct srv_conn *db, int64_t vendor_id, int from_key, const char *from_shape,
                      int to_key, const char *to_shape)
{
    int rc;

    if (from_key == to_key && strcmp(from_shape, to_shape) == 0)
        return 0;
    rc = count_add(db, vendor_id, from_key, from_shape, -1);
    return rc != 0 ? rc : count_add(db, vendor_id, to_key, to_shape, 1);
}

int srv_fleet_agent_created(struct srv_conn *db, const char *agent_id, int64_t vendor_id,
                            int64_t created_at)
{
    int rc =
        srv_exec(db, NULL,
                 "INSERT INTO fleet_current (agent_id, vendor_id, created_at, fresh_at, revoked,"
                 " state, shape, report_id, filled) VALUES (?1, ?2, ?3, ?3, 0, 0, '', NULL, 1)",
                 "tii", agent_id, vendor_id, created_at);

    return rc != 0 ? rc : count_add(db, vendor_id, FLEET_PENDING, "", 1);
}

int srv_fleet_agent_revoked(struct srv_conn *db, const char *agent_id, bool revoked)
{
    struct fleet_row row;
    int rc = row_read(db, agent_id, &row), now = revoked ? 1 : 0;

    if (rc != 0 || !row.found || row.revoked == now)
        return rc;
    rc = srv_exec(db, NULL, "UPDATE fleet_current SET revoked = ?2 WHERE agent_id = ?1", "ti",
                  agent_id, (int64_t)now);
    if (rc == 0)
        rc = count_move(db, row.vendor_id, count_key(row.revoked, row.state), row.shape,
                        count_key(now, row.state), row.shape);
    return rc;
}

/* ---- changes ---- */

struct emit {
    struct srv_conn *db;
    int64_t at, vendor_id, seq;
    const char *agent_id, *report_id;
};

static int emit_change(struct emit *e, const char *kind, const char *subject, const char *from,
                       const char *to)
{
    return srv_exec_later(
        e->db, -1, 0,
        "INSERT INTO fleet_changes (at, vendor_id, agent_id, report_id, seq, kind,"
        " subject, from_v, to_v) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        "iittitttt", e->at, e->vendor_id, e->agent_id, e->report_id, e->seq++, kind, subject, from,
        to);
}

/* The verdict of check id in shape (the first entry with that id), or NULL. */
static const char *shape_check(const cJSON *shape, const char *id)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(shape, "checks"))
    {
        const cJSON *cid = cJSON_GetObjectItemCaseSensitive(c, "id");

        if (cJSON_IsString(cid) && strcmp(cid->valuestring, id) == 0) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "verdict");
            return cJSON_IsString(v) ? v->valuestring : NULL;
        }
    }
    return NULL;
}

static const char *state_name(bool compliant)
{
    return compliant ? "compliant" : "non_compliant";
}

/* What changed from the previous report (prev_shape NULL: this is the
 * agent's first) to this one: compliance, then each check whose verdict is
 * new or differs, in the order of the report's checks. */
static int report_diff(struct emit *e, const char *prev_shape, bool prev_compliant,
                       const char *shape, bool compliant)
{
    cJSON *a, *b;
    const cJSON *c, *checks;
    int rc = 0;

    if (prev_shape == NULL)
        return emit_change(e, "compliance", "first report", NULL, state_name(compliant));
    if (prev_compliant != compliant)
        rc = emit_change(e, "compliance", "compliance", state_name(prev_compliant),
                         state_name(compliant));
    if (rc != 0 || strcmp(prev_shape, shape) == 0)
        return rc;
    a = cJSON_Parse(prev_shape);
    b = cJSON_Parse(shape);
    if (a == NULL || b == NULL)
        rc = DA_ERR_STORE;
    checks = rc == 0 ? cJSON_GetObjectItemCaseSensitive(b, "checks") : NULL;
    cJSON_ArrayForEach(c, checks)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "verdict");
        const char *before;

        if (rc != 0 || !cJSON_IsString(id) || !cJSON_IsString(v))
            continue;
        before = shape_check(a, id->valuestring);
        if (before == NULL || strcmp(before, v->valuestring) != 0)
            rc = emit_change(e, "check", id->valuestring, before, v->valuestring);
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
    return rc;
}

static int shape_put(struct srv_conn *db, const char *digest, const char *shape_json)
{
    return srv_exec_later(db, -1, 0,
                          "INSERT INTO fleet_shapes (digest, shape) VALUES (?1, ?2)"
                          " ON CONFLICT DO NOTHING",
                          "tt", digest, shape_json);
}

static int shape_get(struct srv_conn *db, const char *digest, char **out)
{
    struct srv_stmt *st = NULL;
    int rc = srv_prepare(db, &st, "SELECT shape FROM fleet_shapes WHERE digest = ?1", "t", digest);

    *out = NULL;
    if (rc == 0) {
        int src = srv_step(st);

        if (src == SRV_ROW)
            rc = (*out = srv_col_strdup(st, 0)) != NULL ? 0 : DA_ERR_NOMEM;
        else
            rc = src < 0 ? src : DA_ERR_STORE;
    }
    srv_release(st);
    return rc;
}

int srv_fleet_report(struct srv_conn *db, const struct srv_report *r, const char *shape_json,
                     const char *digest)
{
    struct fleet_row row;
    struct emit e = {db, r->received_at, 0, 0, r->agent_id, r->id};
    int rc = row_read(db, r->agent_id, &row), state;
    const char *shape;

    if (rc == 0 && !row.found) { /* an agent written without its row */
        rc = srv_exec(db, NULL,
                      "INSERT INTO fleet_current (agent_id, vendor_id, created_at, fresh_at,"
                      " revoked, state, shape, report_id, filled) SELECT id, vendor_id,"
                      " created_at, created_at, revoked, 0, '', NULL, 1 FROM agents WHERE id = ?1",
                      "t", r->agent_id);
        if (rc == 0)
            rc = row_read(db, r->agent_id, &row);
        if (rc == 0 && !row.found)
            rc = DA_ERR_AGENT_UNKNOWN;
        if (rc == 0)
            rc = count_add(db, row.vendor_id, count_key(row.revoked, FLEET_PENDING), "", 1);
    }
    if (rc != 0)
        return rc;
    e.vendor_id = row.vendor_id;
    state = r->compliant ? FLEET_COMPLIANT : FLEET_NON_COMPLIANT;
    /* a row the migration has not filled yet keeps no shape and gets no
     * changes: filling it reads this report too */
    shape = row.filled != 0 ? digest : row.shape;
    if (row.filled != 0 && row.shape[0] == '\0') {
        rc = report_diff(&e, NULL, false, shape_json, r->compliant);
    } else if (row.filled != 0) {
        char *prev = NULL;

        if (strcmp(row.shape, digest) != 0)
            rc = shape_get(db, row.shape, &prev);
        if (rc == 0)
            rc = report_diff(&e, prev != NULL ? prev : shape_json, row.state == FLEET_COMPLIANT,
                             shape_json, r->compliant);
        free(prev);
    }
    if (rc == 0 && strcmp(row.shape, shape) != 0)
        rc = shape_put(db, digest, shape_json);
    if (rc == 0)
        rc = srv_exec_later(db, -1, 0,
                            "UPDATE fleet_current SET fresh_at = ?2, state = ?3, shape = ?4,"
                            " report_id = ?5 WHERE agent_id = ?1",
                            "tiitt", r->agent_id,
                            r->received_at > row.created_at ? r->received_at : row.created_at,
                            (int64_t)state, shape, r->id);
    if (rc == 0)
        rc = count_move(db, row.vendor_id, count_key(row.revoked, row.state), row.shape,
                        count_key(row.revoked, state), shape);
    return rc;
}

/* ---- filling after the migration ---- */

#define CACHE_MAX 8192 /* verdict shapes kept; a fuller cache is emptied at a batch's start */
#define MOVES_MAX 256  /* count moves summed per batch before they are written */

struct cache_entry {
    unsigned char key[32]; /* SHA-256 of the verdict's text */
    char digest[65];       /* of its shape */
    char *shape;
    unsigned put_batch; /* the batch that last wrote its fleet_shapes row */
};

/* Shapes by verdict: verdicts repeat across an agent's reports (posture
 * unchanged) and across agents, so each distinct verdict is read,
 * decompressed and reduced once per fill instead of once per report. An
 * open-addressing table of entries that stay where they are while it
 * grows (the batch's reports point at them). */
struct srv_fleet_cache {
    struct cache_entry **slot;
    size_t cap, n;
    unsigned batch;
};

static size_t key_hash(const unsigned char key[32], size_t cap)
{
    size_t h = 0;

    memcpy(&h, key, sizeof(h)); /* a SHA-256: its bytes are spread already */
    return h & (cap - 1);
}

static int cache_init(struct srv_fleet_cache *c, size_t cap)
{
    c->slot = calloc(cap, sizeof(*c->slot));
    c->cap = cap;
    c->n = 0;
    return c->slot != NULL ? 0 : DA_ERR_NOMEM;
}

int srv_fleet_cache_new(struct srv_fleet_cache **out)
{
    struct srv_fleet_cache *c = calloc(1, sizeof(*c));

    *out = NULL;
    if (c == NULL || cache_init(c, 1024) != 0) {
        free(c);
        return DA_ERR_NOMEM;
    }
    *out = c;
    return 0;
}

static void cache_clear(struct srv_fleet_cache *c)
{
    for (size_t i = 0; i < c->cap; i++) {
        if (c->slot[i] != NULL)
            free(c->slot[i]->shape);
        free(c->slot[i]);
        c->slot[i] = NULL;
    }
    c->n = 0;
}

void srv_fleet_cache_free(struct srv_fleet_cache *c)
{
    if (c == NULL)
        return;
    cache_clear(c);
    free(c->slot);
    free(c);
}

/* The slot of key: its entry, or the empty slot where it goes. */
static size_t cache_slot(const struct srv_fleet_cache *c, const unsigned char key[32])
{
    size_t i = key_hash(key, c->cap);

    while (c->slot[i] != NULL && memcmp(c->slot[i]->key, key, 32) != 0)
        i = (i + 1) & (c->cap - 1);
    return i;
}

/* Twice the slots, the same entries. */
static int cache_grow(struct srv_fleet_cache *c)
{
    struct srv_fleet_cache g;
    size_t i;

    if (cache_init(&g, c->cap * 2) != 0)
        return DA_ERR_NOMEM;
    for (i = 0; i < c->cap; i++)
        if (c->slot[i] != NULL)
            g.slot[cache_slot(&g, c->slot[i]->key)] = c->slot[i];
    free(c->slot);
    c->slot = g.slot;
    c->cap = g.cap;
    return 0;
}

struct scanned {
    int64_t at;
    char id[SRV_ID_HEX];
    bool compliant;
    const struct cache_entry *shape; /* borrowed from the cache for the batch */
};

struct scan {
    char id[FLEET_KEY_MAX];
    int64_t vendor_id;
    int revoked, state;
    struct scanned *v;
    size_t n, cap;
    bool capped;
};

struct count_sum {
    int64_t vendor_id;
    int key;
    const char *shape; /* a cache entry's digest */
    int64_t n;
};

struct fill_batch {
    struct srv_fleet_cache *cache;
    struct scan *agents;
    size_t n;
    struct count_sum moves[MOVES_MAX];
    size_t n_moves;
};

static int by_id(const void *x, const void *y)
{
    return strcmp(((const struct scan *)x)->id, ((const struct scan *)y)->id);
}

/* The shape of a row's verdict, from the cache or read and reduced now. */
static int cache_shape(struct srv_conn *db, struct srv_fleet_cache *c,
                       const struct srv_fleet_scan_row *row, const struct cache_entry **out)
{
    size_t i = cache_slot(c, row->verdict_key);
    struct cache_entry *e = c->slot[i];
    char *text = NULL;
    int rc = 0;

    if (e == NULL) {
        if ((c->n + 1) * 4 > c->cap * 3) { /* at most three quarters full */
            rc = cache_grow(c);
            i = cache_slot(c, row->verdict_key);
        }
        if (rc == 0 && (e = calloc(1, sizeof(*e))) == NULL)
            rc = DA_ERR_NOMEM;
        if (rc == 0 && row->verdict_json == NULL)
            rc = srv_store_fleet_verdict(db, row->agent_id, row->verdict_key, &text);
        if (rc == 0)
            rc = srv_fleet_shape(row->verdict_json != NULL ? row->verdict_json : text, &e->shape,
                                 e->digest);
        free(text);
        if (rc != 0) {
            free(e);
            return rc;
        }
        memcpy(e->key, row->verdict_key, 32);
        c->slot[i] = e;
        c->n++;
    }
    *out = e;
    return 0;
}

static int scan_row(struct srv_conn *db, const struct srv_fleet_scan_row *row, void *arg)
{
    struct fill_batch *b = arg;
    struct scan key, *sc;
    struct scanned *x;

    if (strlen(row->agent_id) >= sizeof(key.id))
        return DA_ERR_STORE;
    snprintf(key.id, sizeof(key.id), "%s", row->agent_id);
    sc = bsearch(&key, b->agents, b->n, sizeof(*b->agents), by_id);
    if (sc == NULL) /* filled meanwhile by another instance, or outside the batch */
        return 0;
    if (sc->n == FLEET_SCAN_MAX) {
        sc->capped = true;
        return 0;
    }
    if (sc->n == sc->cap) {
        size_t cap = sc->cap != 0 ? sc->cap * 2 : 16;
        struct scanned *nv = realloc(sc->v, cap * sizeof(*nv));

        if (nv == NULL)
            return DA_ERR_NOMEM;
        sc->v = nv;
        sc->cap = cap;
    }
    x = &sc->v[sc->n];
    memset(x, 0, sizeof(*x));
    x->at = row->at;
    x->compliant = row->compliant;
    snprintf(x->id, sizeof(x->id), "%s", row->id);
    sc->n++;
    return cache_shape(db, b->cache, row, &x->shape);
}

/* One agent's move from its state without a shape to the same state with
 * its newest shape, summed with the batch's others. */
static int move_add(struct srv_conn *db, struct fill_batch *b, int64_t vendor_id, int key,
                    const char *shape)
{
    size_t i;
    int rc = 0;

    for (i = 0; i < b->n_moves; i++) {
        struct count_sum *m = &b->moves[i];

        if (m->vendor_id == vendor_id && m->key == key && strcmp(m->shape, shape) == 0) {
            m->n++;
            return 0;
        }
    }
    if (b->n_moves == MOVES_MAX) {
        for (i = 0; rc == 0 && i < b->n_moves; i++) {
            const struct count_sum *m = &b->moves[i];

            rc = count_add(db, m->vendor_id, m->key, "", -m->n);
            if (rc == 0)
                rc = count_add(db, m->vendor_id, m->key, m->shape, m->n);
        }
        b->n_moves = 0;
    }
    b->moves[b->n_moves++] = (struct count_sum){vendor_id, key, shape, 1};
    return rc;
}

static int fill_one(struct srv_conn *db, struct fill_batch *b, const struct scan *sc, int64_t since)
{
    struct cache_entry *newest = sc->n > 0 ? DA_UNCONST(sc->v[0].shape) : NULL;
    int rc = 0, changes = 0;

    if (newest != NULL && newest->put_batch != b->cache->batch) {
        rc = shape_put(db, newest->digest, newest->shape);
        newest->put_batch = b->cache->batch;
    }
    if (rc == 0)
        rc = srv_exec(db, &changes,
                      "UPDATE fleet_current SET shape = ?2, filled = 1, report_id = ?3"
                      " WHERE agent_id = ?1 AND filled = 0",
                      "ttt", sc->id, newest != NULL ? newest->digest : "",
                      sc->n > 0 ? sc->v[0].id : NULL);
    if (rc == 0 && changes == 1 && newest != NULL)
        rc = move_add(db, b, sc->vendor_id, count_key(sc->revoked, sc->state), newest->digest);
    /* oldest first, as they were written */
    for (size_t i = sc->n; rc == 0 && changes == 1 && i-- > 0;) {
        struct emit e = {db, sc->v[i].at, sc->vendor_id, 0, sc->id, sc->v[i].id};
        const struct scanned *prev = i + 1 < sc->n ? &sc->v[i + 1] : NULL;

        if (sc->v[i].at < since || (prev == NULL && sc->capped))
            continue;
        rc =
            report_diff(&e, prev != NULL ? prev->shape->shape : NULL,
                        prev != NULL && prev->compliant, sc->v[i].shape->shape, sc->v[i].compliant);
    }
    return rc;
}

int srv_fleet_fill_batch(struct srv_conn *db, struct srv_fleet_cache *cache, int64_t since,
                         unsigned batch, char *after, size_t after_size, int *filled)
{
    struct fill_batch *b;
    struct srv_stmt *st = NULL;
    char last[FLEET_KEY_MAX] = "";
    size_t i;
    int rc, src = SRV_DONE;

    *filled = 0;
    if (batch == 0 || batch > FLEET_FILL_MAX)
        batch = FLEET_FILL_MAX;
    b = calloc(1, sizeof(*b));
    if (b == NULL || (b->agents = calloc(batch, sizeof(*b->agents))) == NULL) {
        free(b);
        return DA_ERR_NOMEM;
    }
    /* shapes written by an earlier batch's transaction are written again
     * once in this one (that transaction may have been rolled back) */
    cache->batch++;
    if (cache->n >= CACHE_MAX)
        cache_clear(cache);
    b->cache = cache;
    /* in key order after the last one seen, so that an agent that cannot
     * be filled is passed over instead of read again */
    rc = srv_prepare(db, &st,
                     "SELECT agent_id, vendor_id, revoked, state FROM fleet_current"
                     " WHERE filled = 0 AND agent_id > ?2 ORDER BY agent_id LIMIT ?1",
                     "it", (int64_t)batch, after);
    while (rc == 0 && b->n < batch && (src = srv_step(st)) == SRV_ROW) {
        struct scan *sc = &b->agents[b->n];
        const char *id = srv_col_text(st, 0);

        if (id == NULL || strlen(id) >= sizeof(sc->id)) {
            rc = DA_ERR_STORE;
            break;
        }
        snprintf(sc->id, sizeof(sc->id), "%s", id);
        sc->vendor_id = srv_col_int64(st, 1);
        sc->revoked = srv_col_int(st, 2);
        sc->state = srv_col_int(st, 3);
        b->n++;
    }
    if (rc == 0 && src < 0)
        rc = src;
    srv_release(st);
    if (rc == 0 && b->n > 0) {
        /* the last id in the database's order bounds the range; lookups
         * go by byte order */
        snprintf(last, sizeof(last), "%s", b->agents[b->n - 1].id);
        qsort(b->agents, b->n, sizeof(*b->agents), by_id);
        rc = srv_store_fleet_scan(db, after, last, since, scan_row, b);
    }
    for (i = 0; rc == 0 && i < b->n; i++)
        rc = fill_one(db, b, &b->agents[i], since);
    for (i = 0; rc == 0 && i < b->n_moves; i++) {
        const struct count_sum *m = &b->moves[i];

        rc = count_add(db, m->vendor_id, m->key, "", -m->n);
        if (rc == 0)
            rc = count_add(db, m->vendor_id, m->key, m->shape, m->n);
    }
    if (rc == 0 && b->n > 0)
        snprintf(after, after_size, "%s", last);
    if (rc == 0)
        *filled = (int)b->n;
    for (i = 0; i < b->n; i++)
        free(b->agents[i].v);
    free(b->agents);
    free(b);
    return rc;
}

/* The sum and the delete see the same rows: SQLite has one writer, and the
 * sweep runs SERIALIZABLE on PostgreSQL (one snapshot for both statements),
 * so a delta a report commits meanwhile is neither summed nor deleted and
 * waits for the next fold. */
int srv_fleet_fold(struct srv_conn *db, int64_t before)
{
    int64_t top = 0;
    int rc = srv_exec(db, NULL, "DELETE FROM fleet_changes WHERE at < ?1", "i", before);

    if (rc == 0)
        rc = srv_one_int64(db, &top, "SELECT coalesce(max(id), 0) FROM fleet_counts", "");
    /* only the groups with something to fold (several rows, or a zero sum):
     * a folded table is left as it is, so a sweep over a quiet fleet writes
     * no count row */
    if (rc == 0)
        rc = srv_exec(db, NULL,
                      "INSERT INTO fleet_counts (vendor_id, state, shape, n)"
                      " SELECT vendor_id, state, shape, sum(n) FROM fleet_counts WHERE id <= ?1"
                      " GROUP BY vendor_id, state, shape HAVING count(*) > 1 AND sum(n) <> 0",
                      "i", top);
    if (rc == 0)
        rc = srv_exec(db, NULL,
                      "DELETE FROM fleet_counts WHERE id <= ?1 AND (vendor_id, state, shape) IN"
                      " (SELECT vendor_id, state, shape FROM fleet_counts WHERE id <= ?1"
                      " GROUP BY vendor_id, state, shape HAVING count(*) > 1 OR sum(n) = 0)",
                      "i", top);
    return rc;
}

/* ---- reads ---- */

static const char *const status_names[] = {"compliant", "non_compliant", "pending", "revoked",
                                           "stale"};
enum { ST_COMPLIANT, ST_NON_COMPLIANT, ST_PENDING, ST_REVOKED, ST_STALE, ST_N };

struct vendor_tally {
    char name[SRV_MAX_NAME];
    int64_t n[ST_N];
};

struct tallies {
    struct vendor_tally *v;
    size_t n, cap;
};

static struct vendor_tally *tally_of(struct tallies *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->v[i].name, name) == 0)
            return &t->v[i];
    }
    if (t->n == t->cap) {
        size_t cap = t->cap != 0 ? t->cap * 2 : 32;
        struct vendor_tally *nv = realloc(t->v, cap * sizeof(*nv));

        if (nv == NULL)
            return NULL;
        t->v = nv;
        t->cap = cap;
    }
    memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
    snprintf(t->v[t->n].name, sizeof(t->v[t->n].name), "%s", name);
    return &t->v[t->n++];
}

static int state_status(int64_t state)
{
    switch (state) {
    case FLEET_COMPLIANT:
        return ST_COMPLIANT;
    case FLEET_NON_COMPLIANT:
        return ST_NON_COMPLIANT;
    case FLEET_REVOKED:
        return ST_REVOKED;
    default:
        return ST_PENDING;
    }
}

/* Rows (vendor name, state, n) added to (sign 1) or moved to stale from
 * (sign -1) the tallies. */
static int tally_rows(struct srv_stmt *st, struct tallies *t, int sign)
{
    int src;

    while ((src = srv_step(st)) == SRV_ROW) {
        const char *name = srv_col_text(st, 0);
        struct vendor_tally *vt = tally_of(t, name != NULL ? name : "");
        int64_t n = srv_col_int64(st, 2);

        if (vt == NULL)
            return DA_ERR_NOMEM;
        if (sign > 0) {
            vt->n[state_status(srv_col_int64(st, 1))] += n;
        } else {
            vt->n[state_status(srv_col_int64(st, 1))] -= n;
            vt->n[ST_STALE] += n;
        }
    }
    return src < 0 ? src : 0;
}

static int by_name(const void *x, const void *y)
{
    return strcmp(((const struct vendor_tally *)x)->name, ((const struct vendor_tally *)y)->name);
}

int srv_fleet_read_status(struct srv_conn *db, int64_t vendor_id, int64_t cutoff,
                          srv_agent_count_cb cb, void *ctx)
{
    struct tallies t = {NULL, 0, 0};
    struct srv_stmt *st = NULL;
    int rc;

    rc = vendor_id == 0
             ? srv_prepare(db, &st,
                           "SELECT v.name, c.state, sum(c.n) FROM fleet_counts c"
                           " JOIN vendors v ON v.id = c.vendor_id GROUP BY v.name, c.state",
                           "")
             : srv_prepare(db, &st,
                           "SELECT v.name, c.state, sum(c.n) FROM fleet_counts c"
                           " JOIN vendors v ON v.id = c.vendor_id WHERE c.vendor_id = ?1"
                           " GROUP BY v.name, c.state",
                           "i", vendor_id);
    if (rc == 0)
        rc = tally_rows(st, &t, 1);
    srv_release(st);
    st = NULL;
    /* staleness: the agents whose last verified report (or enrollment) is
     * older than the cutoff, from the index on fresh_at */
    if (rc == 0)
        rc = vendor_id == 0
                 ? srv_prepare(db, &st,
                               "SELECT v.name, f.state, count(*) FROM fleet_current f"
                               " JOIN vendors v ON v.id = f.vendor_id"
                               " WHERE f.revoked = 0 AND f.fresh_at < ?1 GROUP BY v.name, f.state",
                               "i", cutoff)
                 : srv_prepare(db, &st,
                               "SELECT v.name, f.state, count(*) FROM fleet_current f"
                               " JOIN vendors v ON v.id = f.vendor_id"
                               " WHERE f.revoked = 0 AND f.fresh_at < ?1 AND f.vendor_id = ?2"
                               " GROUP BY v.name, f.state",
                               "ii", cutoff, vendor_id);
    if (rc == 0)
        rc = tally_rows(st, &t, -1);
    srv_release(st);
    if (t.n > 1)
        qsort(t.v, t.n, sizeof(*t.v), by_name);
    for (size_t i = 0; rc == 0 && i < t.n; i++) {
        for (int k = 0; rc == 0 && k < ST_N; k++) {
            if (t.v[i].n[k] != 0)
                rc = cb(t.v[i].name, status_names[k], t.v[i].n[k], ctx);
        }
    }
    free(t.v);
    return rc;
}

struct shape_group {
    char digest[65];
    int64_t n, first_at;
    char first_id[FLEET_KEY_MAX];
};

static int by_first(const void *x, const void *y)
{
    const struct shape_group *a = x, *b = y;

    if (a->first_at != b->first_at)
        return a->first_at < b->first_at ? -1 : 1;
    return strcmp(a->first_id, b->first_id);
}

int srv_fleet_read_shapes(struct srv_conn *db, int64_t vendor_id, srv_fleet_shape_cb cb, void *ctx)
{
    struct shape_group *g = NULL;
    struct srv_stmt *st = NULL;
    size_t n = 0, cap = 0, k = 0;
    int rc, src = SRV_DONE;

    rc = vendor_id == 0 ? srv_prepare(db, &st,
                                      "SELECT shape, sum(n) FROM fleet_counts WHERE state <> 3"
                                      " AND shape <> '' GROUP BY shape HAVING sum(n) <> 0",
                                      "")
                        : srv_prepare(db, &st,
                                      "SELECT shape, sum(n) FROM fleet_counts WHERE state <> 3"
                                      " AND shape <> '' AND vendor_id = ?1 GROUP BY shape"
                                      " HAVING sum(n) <> 0",
                                      "i", vendor_id);
    while (rc == 0 && (src = srv_step(st)) == SRV_ROW) {
        if (n == cap) {
            size_t nc = cap != 0 ? cap * 2 : 16;
            struct shape_group *ng = realloc(g, nc * sizeof(*ng));

            if (ng == NULL) {
                rc = DA_ERR_NOMEM;
                break;
            }
            g = ng;
            cap = nc;
        }
        memset(&g[n], 0, sizeof(g[n]));
        srv_col_copy(st, 0, g[n].digest, sizeof(g[n].digest));
        g[n].n = srv_col_int64(st, 1);
        n++;
    }
    if (rc == 0 && src < 0)
        rc = src;
    srv_release(st);
    /* each group's first machine, for the order the summary lists them in */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        st = NULL;
        rc = vendor_id == 0
                 ? srv_prepare(db, &st,
                               "SELECT created_at, agent_id FROM fleet_current WHERE revoked = 0"
                               " AND shape = ?1 ORDER BY created_at, agent_id LIMIT 1",
                               "t", g[i].digest)
                 : srv_prepare(db, &st,
                               "SELECT created_at, agent_id FROM fleet_current WHERE revoked = 0"
                               " AND vendor_id = ?2 AND shape = ?1 ORDER BY created_at, agent_id"
                               " LIMIT 1",
                               "ti", g[i].digest, vendor_id);
        src = rc == 0 ? srv_step(st) : SRV_DONE;
        if (rc == 0 && src == SRV_ROW) {
            g[i].first_at = srv_col_int64(st, 0);
            srv_col_copy(st, 1, g[i].first_id, sizeof(g[i].first_id));
            g[k++] = g[i];
        } else if (rc == 0 && src < 0) {
            rc = src;
        }
        srv_release(st);
    }
    if (rc == 0 && k > 1)
        qsort(g, k, sizeof(*g), by_first);
    for (size_t i = 0; rc == 0 && i < k; i++) {
        char *shape = NULL;

        rc = shape_get(db, g[i].digest, &shape);
        if (rc == 0)
            rc = cb(shape, g[i].n, ctx);
        free(shape);
    }
    free(g);
    return rc;
}

static int change_rows(struct srv_stmt *st, int what, srv_fleet_change_cb cb, void *ctx)
{
    static const char *const audit_to[][2] = {
        {"agent_stale", "stale"}, {"agent_revoked", "revoked"}, {"agent_readmitted", "readmitted"}};
    int src, rc = 0;

    while (rc == 0 && (src = srv_step(st)) == SRV_ROW) {
        struct srv_fleet_change c;

        memset(&c, 0, sizeof(c));
        c.at = srv_col_int64(st, 0);
        c.agent_id = srv_col_text(st, 1);
        c.vendor = srv_col_text(st, 2);
        c.host_json = srv_col_text(st, 3);
        c.report_id = srv_col_text(st, 4);
        c.subject = srv_col_text(st, 5);
        if (what == 0) {
            c.kind = srv_col_text(st, 6);
            c.from = srv_col_text(st, 7);
            c.to = srv_col_text(st, 8);
        } else if (what == 1) {
            c.kind = "boot";
            c.to = "changed";
        } else {
            c.kind = "status";
            c.report_id = "";
            for (size_t i = 0; i < sizeof(audit_to) / sizeof(audit_to[0]); i++) {
                if (c.subject != NULL && strcmp(c.subject, audit_to[i][0]) == 0)
                    c.to = audit_to[i][1];
            }
        }
        if (c.agent_id == NULL || c.vendor == NULL || c.host_json == NULL || c.report_id == NULL ||
            c.subject == NULL || c.kind == NULL || c.to == NULL)
            return DA_ERR_STORE;
        rc = cb(&c, ctx);
    }
    return rc != 0 ? rc : src < 0 ? src : 0;
}

int srv_fleet_read_changes(struct srv_conn *db, int64_t vendor_id, int64_t since, unsigned limit,
                           srv_fleet_change_cb cb, void *ctx)
{
    static const char *const actions[] = {"agent_stale", "agent_revoked", "agent_readmitted"};
    struct srv_stmt *st = NULL;
    int rc;

    /* compliance and check changes, written with each report */
    rc =
        vendor_id == 0
            ? srv_prepare(db, &st,
                          "SELECT c.at, c.agent_id, v.name, a.host_json, c.report_id, c.subject,"
                          " c.kind, c.from_v, c.to_v FROM fleet_changes c"
                          " JOIN agents a ON a.id = c.agent_id JOIN vendors v ON v.id = a.vendor_id"
                          " WHERE c.at >= ?1 ORDER BY c.at DESC, c.id DESC LIMIT ?2",
                          "ii", since, (int64_t)limit)
            : srv_prepare(db, &st,
                          "SELECT c.at, c.agent_id, v.name, a.host_json, c.report_id, c.subject,"
                          " c.kind, c.from_v, c.to_v FROM fleet_changes c"
                          " JOIN agents a ON a.id = c.agent_id JOIN vendors v ON v.id = a.vendor_id"
                          " WHERE c.vendor_id = ?3 AND c.at >= ?1 ORDER BY c.at DESC, c.id DESC"
                          " LIMIT ?2",
                          "iii", since, (int64_t)limit, vendor_id);
    if (rc == 0)
        rc = change_rows(st, 0, cb, ctx);
    srv_release(st);
    st = NULL;
    /* boot changes (written with each report since schema 4) */
    if (rc == 0)
        rc = srv_prepare(db, &st,
                         "SELECT b.at, b.agent_id, v.name, a.host_json, b.report_id, b.what"
                         " FROM boot_changes b JOIN agents a ON a.id = b.agent_id"
                         " JOIN vendors v ON v.id = a.vendor_id"
                         " WHERE b.at >= ?1 AND (?3 = 0 OR a.vendor_id = ?3)"
                         " ORDER BY b.at DESC, b.id DESC LIMIT ?2",
                         "iii", since, (int64_t)limit, vendor_id);
    if (rc == 0)
        rc = change_rows(st, 1, cb, ctx);
    srv_release(st);
    /* staleness, revocation and re-admission from the audit log: of all
     * vendors, the newest of each action (index audit_action_id); of one,
     * its own agents' newest, each agent's events found by the index
     * audit_subject_action, so other vendors' events never crowd them out */
    for (size_t i = 0; rc == 0 && i < sizeof(actions) / sizeof(actions[0]); i++) {
        st = NULL;
        rc = vendor_id == 0
                 ? srv_prepare(db, &st,
                               "SELECT l.at, l.subject, v.name, a.host_json, '', l.action FROM"
                               " (SELECT id, at, subject, action FROM audit_log WHERE action = ?1"
                               " ORDER BY id DESC LIMIT ?3) l JOIN agents a ON a.id = l.subject"
                               " JOIN vendors v ON v.id = a.vendor_id WHERE l.at >= ?2",
                               "tii", actions[i], since, (int64_t)FLEET_AUDIT_MAX)
                 : srv_prepare(db, &st,
                               "SELECT l.at, l.subject, v.name, a.host_json, '', l.action FROM"
                               " agents a JOIN vendors v ON v.id = a.vendor_id"
                               " JOIN audit_log l ON l.subject = a.id AND l.action = ?1"
                               " AND l.at >= ?2 WHERE a.vendor_id = ?3"
                               " ORDER BY l.id DESC LIMIT ?4",
                               "tiii", actions[i], since, vendor_id, (int64_t)FLEET_AUDIT_MAX);
        if (rc == 0)
            rc = change_rows(st, 2, cb, ctx);
        srv_release(st);
    }
    return rc;
}

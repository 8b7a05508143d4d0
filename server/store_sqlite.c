/* SQLite engine of store_engine.h.
 *
 * One writer thread owns the only writing connection. A write is a job
 * (a function run against that connection); the writer takes every queued
 * job (up to batch_max), runs each inside its own SAVEPOINT of one
 * transaction, commits once (synchronous=FULL: fsync before COMMIT returns)
 * and then wakes all their callers. A job that fails is rolled back to its
 * savepoint without disturbing the others in the batch. Reads use a small
 * pool of separate connections; WAL lets them run beside the writer. The
 * schema's DDL and its migrations are this engine's; the queries are in
 * store.c.
 */
#include "store_engine.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "err.h"
#include "log.h"
#include "picky.h"

#define STORE_READERS       8
#define STORE_CKPT_MS       30000 /* periodic PASSIVE checkpoint */
#define STORE_CKPT_GAP_MS   250
#define STORE_CKPT_PAGES    16384 /* 64 MiB of 4 KiB pages: checkpoint early */
#define STORE_BUSY_MS       10000
#define STORE_WRITER_CACHE  "-65536" /* KiB: 64 MiB */
#define STORE_READER_CACHE  "-16384" /* KiB: 16 MiB each */
#define STORE_SCHEMA_LATEST 13
#define STMT_BUCKETS        64

/* A statement prepared on a connection, kept for the next use. */
struct sq_stmt {
    struct srv_stmt base;
    struct sq_conn *conn;
    sqlite3_stmt *st;
    const char *sql; /* sqlite3_sql(st) */
    uint32_t hash;
    bool busy;
    struct sq_stmt *next; /* in its bucket */
};

/* A connection and its statement cache (one thread at a time). */
struct sq_conn {
    struct srv_conn base;
    sqlite3 *db;
    struct sq_stmt *bucket[STMT_BUCKETS];
};

struct wjob {
    srv_write_fn fn;
    void *arg;
    int rc;
    bool done;
    pthread_cond_t cv; /* its own: a commit wakes only its callers */
    struct wjob *next;
};

struct srv_engine {
    struct sq_conn w;
    pthread_t writer;
    bool writer_started;
    pthread_mutex_t mu;
    pthread_cond_t cv_work;
    struct wjob *head, *tail;
    bool stop;
    unsigned batch_max;

    /* checkpoints run beside the writer, not inside its commits */
    sqlite3 *ckdb;
    pthread_t ckpt;
    bool ckpt_started;
    bool ckpt_stop;
    bool ckpt_wanted;
    pthread_mutex_t ckmu;
    pthread_cond_t ckcv;

    struct sq_conn r[STORE_READERS];
    bool rbusy[STORE_READERS];
    pthread_mutex_t rmu;
    pthread_cond_t rcv;
};

/* Migrations, in order; entry i brings the schema from version i to i+1.
 * The DML elsewhere is portable SQL; DDL is per backend. */
static const char *const migrations[] = {
    "CREATE TABLE vendors (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " created_at BIGINT NOT NULL);"
    "CREATE TABLE api_tokens (hash BLOB PRIMARY KEY, role INTEGER NOT NULL,"
    " vendor_id INTEGER REFERENCES vendors(id), label TEXT NOT NULL, created_at BIGINT NOT NULL);"
    "CREATE TABLE enroll_tokens (hash BLOB PRIMARY KEY,"
    " vendor_id INTEGER NOT NULL REFERENCES vendors(id), expires_at BIGINT NOT NULL,"
    " used_at BIGINT);"
    "CREATE TABLE challenges (id TEXT PRIMARY KEY, vendor_id INTEGER NOT NULL REFERENCES "
    "vendors(id),"
    " secret BLOB NOT NULL, ek_public BLOB NOT NULL, ak_public BLOB NOT NULL, ek_name TEXT NOT "
    "NULL,"
    " ak_name TEXT NOT NULL, host_json TEXT NOT NULL, expires_at BIGINT NOT NULL);"
    "CREATE TABLE agents (id TEXT PRIMARY KEY, vendor_id INTEGER NOT NULL REFERENCES vendors(id),"
    " ek_name TEXT NOT NULL UNIQUE, ak_name TEXT NOT NULL, ak_public BLOB NOT NULL, sk_public BLOB,"
    " host_json TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, created_at BIGINT NOT NULL,"
    " last_verified_at BIGINT NOT NULL DEFAULT 0, last_compliant INTEGER NOT NULL DEFAULT 0,"
    " last_report_id TEXT, reset_count BIGINT NOT NULL DEFAULT 0,"
    " restart_count BIGINT NOT NULL DEFAULT 0, clock BIGINT NOT NULL DEFAULT 0,"
    " firmware_version BIGINT NOT NULL DEFAULT 0, stale_marked INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX agents_vendor ON agents(vendor_id);"
    "CREATE TABLE identity_events (id INTEGER PRIMARY KEY,"
    " agent_id TEXT NOT NULL REFERENCES agents(id), at BIGINT NOT NULL, ak_public BLOB NOT NULL,"
    " ak_name TEXT NOT NULL, detail TEXT NOT NULL, resolved INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE nonces_used (hash BLOB PRIMARY KEY, expires_at BIGINT NOT NULL,"
    " report_id TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE reports (id TEXT PRIMARY KEY, agent_id TEXT NOT NULL REFERENCES agents(id),"
    " nonce_hash BLOB NOT NULL, evidence_sha256 TEXT NOT NULL, evidence_json TEXT NOT NULL,"
    " verdict_json TEXT NOT NULL, transcript_json TEXT NOT NULL, receipt_json TEXT NOT NULL,"
    " compliant INTEGER NOT NULL, received_at BIGINT NOT NULL, reset_count BIGINT NOT NULL,"
    " restart_count BIGINT NOT NULL, clock BIGINT NOT NULL, firmware_version BIGINT NOT NULL,"
    " inventory_sha256 TEXT NOT NULL);"
    "CREATE INDEX reports_agent ON reports(agent_id, received_at);"
    "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL,"
    " action TEXT NOT NULL, subject TEXT NOT NULL, code TEXT NOT NULL, detail TEXT NOT NULL);"
    "CREATE INDEX audit_action ON audit_log(action);"
    "CREATE TABLE inventory_digests (sha256 TEXT PRIMARY KEY, first_seen BIGINT NOT NULL);"
    "CREATE TABLE policies (id INTEGER PRIMARY KEY, json TEXT NOT NULL, sha256 TEXT NOT NULL,"
    " actor TEXT NOT NULL, created_at BIGINT NOT NULL);",
    /* 2: a used nonce is keyed by its agent and its hash; a row for the
     * readiness probe's write. */
    "CREATE TABLE nonces_used_2 (agent_id TEXT NOT NULL, hash BLOB NOT NULL,"
    " expires_at BIGINT NOT NULL, report_id TEXT NOT NULL, PRIMARY KEY (agent_id, hash))"
    " WITHOUT ROWID;"
    "INSERT INTO nonces_used_2 (agent_id, hash, expires_at, report_id)"
    " SELECT r.agent_id, n.hash, n.expires_at, n.report_id FROM nonces_used n"
    " JOIN reports r ON r.id = n.report_id;"
    "DROP TABLE nonces_used;"
    "ALTER TABLE nonces_used_2 RENAME TO nonces_used;"
    "CREATE TABLE readiness_probe (id INTEGER PRIMARY KEY, at BIGINT NOT NULL);",
    /* 3: first-seen times of pending upgrades, per agent */
    "CREATE TABLE pending_seen (agent_id TEXT NOT NULL REFERENCES agents(id),"
    " name TEXT NOT NULL, arch TEXT NOT NULL, candidate TEXT NOT NULL,"
    " first_seen BIGINT NOT NULL, PRIMARY KEY (agent_id, name, arch, candidate));",
    /* 4: each agent's reference boot state and its later changes, carried
     * over from the transcripts of the reports already stored; boot
     * components an admin pinned per vendor */
    "CREATE TABLE boot_references (agent_id TEXT PRIMARY KEY REFERENCES agents(id),"
    " report_id TEXT NOT NULL, state_json TEXT NOT NULL, recorded_at BIGINT NOT NULL);"
    "CREATE TABLE boot_changes (id INTEGER PRIMARY KEY,"
    " agent_id TEXT NOT NULL REFERENCES agents(id), report_id TEXT NOT NULL,"
    " at BIGINT NOT NULL, what TEXT NOT NULL, reference_json TEXT NOT NULL,"
    " now_json TEXT NOT NULL);"
    "CREATE INDEX boot_changes_agent ON boot_changes(agent_id, id);"
    "CREATE TABLE boot_pins (vendor_id INTEGER NOT NULL REFERENCES vendors(id),"
    " digest TEXT NOT NULL, what TEXT NOT NULL, actor TEXT NOT NULL,"
    " created_at BIGINT NOT NULL, PRIMARY KEY (vendor_id, digest));"
    "INSERT INTO boot_references (agent_id, report_id, state_json, recorded_at)"
    " SELECT r.agent_id, r.id, r.transcript_json -> '$.event_log.boot_state', r.received_at"
    " FROM reports r WHERE r.id = (SELECT f.id FROM reports f WHERE f.agent_id = r.agent_id"
    " AND f.transcript_json -> '$.event_log.boot_state' IS NOT NULL"
    " ORDER BY f.received_at, f.id LIMIT 1);"
    "INSERT INTO boot_changes (agent_id, report_id, at, what, reference_json, now_json)"
    " SELECT r.agent_id, r.id, r.received_at, c.value ->> '$.what',"
    " c.value -> '$.reference', c.value -> '$.now'"
    " FROM reports r, json_each(r.transcript_json, '$.event_log.boot_changed.changes') c"
    " WHERE r.transcript_json LIKE '%\"boot_changed\":%' ORDER BY r.received_at, r.id, c.key;",
    /* 5: API tokens get a public id, an expiry, a last-used time and a
     * revocation time; audit events are found by time */
    "ALTER TABLE api_tokens ADD COLUMN token_id TEXT;"
    "ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE api_tokens ADD COLUMN revoked_at BIGINT NOT NULL DEFAULT 0;"
    "UPDATE api_tokens SET token_id = lower(hex(substr(hash, 1, 8)));"
    "CREATE UNIQUE INDEX api_tokens_token_id ON api_tokens(token_id);"
    "CREATE INDEX audit_at ON audit_log(at);",
    /* 6: the replayed IMA PCR 10 of each agent's current boot */
    "CREATE TABLE ima_state (agent_id TEXT PRIMARY KEY REFERENCES agents(id),"
    " reset_count BIGINT NOT NULL, entries BIGINT NOT NULL, banks INTEGER NOT NULL,"
    " sha1 BLOB NOT NULL, sha256 BLOB NOT NULL, kept_json TEXT NOT NULL);",
    /* 7: how each EK was trusted; enrollments held for an administrator */
    "ALTER TABLE agents ADD COLUMN ek_trust TEXT NOT NULL DEFAULT 'manufacturer_chain';"
    "ALTER TABLE challenges ADD COLUMN ek_trust TEXT NOT NULL DEFAULT 'manufacturer_chain';"
    "CREATE TABLE enrollments (id TEXT PRIMARY KEY,"
    " vendor_id INTEGER NOT NULL REFERENCES vendors(id), ek_public BLOB NOT NULL,"
    " ak_public BLOB NOT NULL, ek_name TEXT NOT NULL, ak_name TEXT NOT NULL,"
    " ek_sha256 TEXT NOT NULL, host_json TEXT NOT NULL, state TEXT NOT NULL,"
    " created_at BIGINT NOT NULL, decided_at BIGINT NOT NULL DEFAULT 0,"
    " decided_by TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX enrollments_state ON enrollments(state, created_at);",
    /* 8: webhook endpoints, their delivery queue and each attempt */
    "CREATE TABLE webhooks (id TEXT PRIMARY KEY, url TEXT NOT NULL, secret TEXT NOT NULL,"
    " events TEXT NOT NULL, created_at BIGINT NOT NULL);"
    "CREATE TABLE webhook_deliveries (id INTEGER PRIMARY KEY,"
    " webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,"
    " event TEXT NOT NULL, body TEXT NOT NULL, created_at BIGINT NOT NULL,"
    " state TEXT NOT NULL, attempts INTEGER NOT NULL, next_at BIGINT NOT NULL);"
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_at);"
    "CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, id);"
    "CREATE TABLE webhook_attempts (delivery_id INTEGER NOT NULL"
    " REFERENCES webhook_deliveries(id) ON DELETE CASCADE, n INTEGER NOT NULL,"
    " at BIGINT NOT NULL, status INTEGER NOT NULL, error TEXT NOT NULL,"
    " PRIMARY KEY (delivery_id, n));"
    /* the signed report as it arrived (evidence, quote, event log), for
     * evidence packs that an auditor verifies offline */
    "CREATE TABLE report_bodies (report_id TEXT PRIMARY KEY REFERENCES reports(id),"
    " body TEXT NOT NULL);",
    /* 9: the issuer, serial and root of each EK certificate (NULL: none,
     * or enrolled before they were kept) */
    "ALTER TABLE agents ADD COLUMN ek_issuer TEXT;"
    "ALTER TABLE agents ADD COLUMN ek_serial TEXT;"
    "ALTER TABLE agents ADD COLUMN ek_root TEXT;"
    "ALTER TABLE challenges ADD COLUMN ek_issuer TEXT;"
    "ALTER TABLE challenges ADD COLUMN ek_serial TEXT;"
    "ALTER TABLE challenges ADD COLUMN ek_root TEXT;",
    /* 10: compact reports. Large evidence areas, body members and verdicts
     * stored once per agent under their SHA-256 (blobs, zstd); the rest of
     * a report (its area list, transcript, receipt, body skeleton) as one
     * zstd record against the agent's base record; a retention sweep
     * removes old evidence. Rows written before keep their text columns
     * (format 0). */
    "ALTER TABLE reports ADD COLUMN format INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE reports ADD COLUMN packed BLOB;"
    "ALTER TABLE reports ADD COLUMN verdict_sha256 BLOB;"
    "ALTER TABLE reports ADD COLUMN pack_base BLOB;"
    "ALTER TABLE reports ADD COLUMN evidence_digest BLOB;"
    "ALTER TABLE reports ADD COLUMN pruned_at BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE agents ADD COLUMN pack_base BLOB;"
    "ALTER TABLE agents ADD COLUMN pruned_through BIGINT NOT NULL DEFAULT 0;"
    "CREATE TABLE blobs (agent_id TEXT NOT NULL REFERENCES agents(id), sha256 BLOB NOT NULL,"
    " kind INTEGER NOT NULL, size BIGINT NOT NULL, data BLOB NOT NULL, last_used_at BIGINT NOT "
    "NULL,"
    " PRIMARY KEY (agent_id, sha256)) WITHOUT ROWID;"
    "CREATE INDEX blobs_used ON blobs(last_used_at);",
    /* 11: the agent list and the vendor view page in (created_at, id)
     * order, read from these indexes instead of sorting every agent */
    ("CREATE INDEX IF NOT EXISTS agents_created ON agents(created_at, id);"
     "CREATE INDEX IF NOT EXISTS agents_vendor_created ON agents(vendor_id, created_at, id);"),
    /* 12: the fleet summary kept on write: each agent's present state and
     * the shape of its newest verdict, counts per (vendor, state, shape) as
     * deltas, and the changes of compliance and checks with their time;
     * rows of existing agents are filled from their reports when the store
     * opens (server/store_fleet.c). The status events and boot changes the
     * summary lists are read by time. Built afresh when run again. */
    ("DROP TABLE IF EXISTS fleet_current; DROP TABLE IF EXISTS fleet_shapes;"
     "DROP TABLE IF EXISTS fleet_counts; DROP TABLE IF EXISTS fleet_changes;"
     "CREATE TABLE fleet_current (agent_id TEXT PRIMARY KEY, vendor_id INTEGER NOT NULL,"
     " created_at BIGINT NOT NULL, fresh_at BIGINT NOT NULL, revoked INTEGER NOT NULL,"
     " state INTEGER NOT NULL, shape TEXT NOT NULL, report_id TEXT, filled INTEGER NOT NULL);"
     "CREATE INDEX fleet_current_fresh ON fleet_current(fresh_at) WHERE revoked = 0;"
     "CREATE INDEX fleet_current_shape ON fleet_current(shape, created_at, agent_id)"
     " WHERE revoked = 0;"
     "CREATE INDEX fleet_current_vendor_shape ON fleet_current(vendor_id, shape, created_at,"
     " agent_id) WHERE revoked = 0;"
     "CREATE TABLE fleet_shapes (digest TEXT PRIMARY KEY, shape TEXT NOT NULL);"
     "CREATE TABLE fleet_counts (id INTEGER PRIMARY KEY, vendor_id INTEGER NOT NULL,"
     " state INTEGER NOT NULL, shape TEXT NOT NULL, n BIGINT NOT NULL);"
     "CREATE TABLE fleet_changes (id INTEGER PRIMARY KEY, at BIGINT NOT NULL,"
     " vendor_id INTEGER NOT NULL, agent_id TEXT NOT NULL, report_id TEXT NOT NULL,"
     " seq INTEGER NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, from_v TEXT,"
     " to_v TEXT NOT NULL);"
     "CREATE INDEX fleet_changes_at ON fleet_changes(at, id);"
     "CREATE INDEX fleet_changes_vendor_at ON fleet_changes(vendor_id, at, id);"
     "CREATE INDEX IF NOT EXISTS audit_action_id ON audit_log(action, id);"
     "CREATE INDEX IF NOT EXISTS boot_changes_at ON boot_changes(at);"
     "INSERT INTO fleet_current (agent_id, vendor_id, created_at, fresh_at, revoked, state,"
     " shape, report_id, filled) SELECT id, vendor_id, created_at, CASE WHEN last_verified_at"
     " > created_at THEN last_verified_at ELSE created_at END, CASE WHEN revoked = 1 THEN 1"
     " ELSE 0 END, CASE WHEN last_verified_at = 0 THEN 0 WHEN last_compliant = 1 THEN 1"
     " ELSE 2 END, '', NULL, 0 FROM agents;"
     "INSERT INTO fleet_counts (vendor_id, state, shape, n) SELECT vendor_id, CASE WHEN"
     " revoked = 1 THEN 3 ELSE state END, '', count(*) FROM fleet_current GROUP BY vendor_id,"
     " CASE WHEN revoked = 1 THEN 3 ELSE state END;"),
    /* 13: when an agent's reports stopped listing a pending upgrade (0:
     * still listed), so that the sweep deletes first-seen times no report
     * needs any more (existing rows are marked by the agent's next report);
     * and each agent's audit events by action and time, for one vendor's
     * status events in the fleet summary */
    ("ALTER TABLE pending_seen ADD COLUMN gone_at BIGINT NOT NULL DEFAULT 0;"
     "CREATE INDEX pending_seen_gone ON pending_seen(gone_at) WHERE gone_at <> 0;"
     "CREATE INDEX IF NOT EXISTS audit_subject_action ON audit_log(subject, action, at);"),
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_LATEST,
               "STORE_SCHEMA_LATEST names the last migration");

static int sql_err(sqlite3 *db, const char *what, int src)
{
    if ((src & 0xff) == SQLITE_CONSTRAINT)
        return DA_ERR_STORE_CONFLICT;
    da_error_f("sqlite %s: %s", what, sqlite3_errmsg(db));
    return DA_ERR_STORE;
}

/* ---- statements ---- */

static uint32_t sql_hash(const char *sql)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (; *sql != '\0'; sql++)
        h = (h ^ (unsigned char)*sql) * 16777619u;
    return h;
}

/* Statements stay prepared on their connection: one that is not running is
 * found again by its text, reset and rebound. */
static int sq_prepare(struct srv_conn *c, const char *sql, const struct srv_param *p, unsigned n,
                      struct srv_stmt **out)
{
    struct sq_conn *conn = (struct sq_conn *)c;
    uint32_t h = sql_hash(sql);
    struct sq_stmt *s;
    unsigned i;
    int src = SQLITE_OK;

    *out = NULL;
    for (s = conn->bucket[h % STMT_BUCKETS]; s != NULL; s = s->next) {
        if (!s->busy && s->hash == h && strcmp(s->sql, sql) == 0)
            break;
    }
    if (s != NULL) {
        sqlite3_clear_bindings(s->st);
    } else {
        s = calloc(1, sizeof(*s));
        if (s == NULL)
            return DA_ERR_NOMEM;
        src = sqlite3_prepare_v3(conn->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st, NULL);
        if (src != SQLITE_OK) {
            free(s);
            return sql_err(conn->db, "prepare", src);
        }
        s->base.ops = &srv_engine_sqlite;
        s->conn = conn;
        s->sql = sqlite3_sql(s->st);
        s->hash = h;
        s->next = conn->bucket[h % STMT_BUCKETS];
        conn->bucket[h % STMT_BUCKETS] = s;
    }
    for (i = 0; i < n && src == SQLITE_OK; i++) {
        if (p[i].type == 't')
            src = p[i].p != NULL
                      ? sqlite3_bind_text(s->st, (int)i + 1, p[i].p, -1, SQLITE_TRANSIENT)
                      : sqlite3_bind_null(s->st, (int)i + 1);
        else if (p[i].type == 'i')
            src = sqlite3_bind_int64(s->st, (int)i + 1, p[i].i);
        else
            src = sqlite3_bind_blob64(s->st, (int)i + 1, p[i].p, p[i].n, SQLITE_TRANSIENT);
    }
    if (src != SQLITE_OK) {
        sqlite3_reset(s->st);
        return sql_err(conn->db, "bind", src);
    }
    s->busy = true;
    *out = &s->base;
    return 0;
}

static int sq_step(struct srv_stmt *st)
{
    struct sq_stmt *s = (struct sq_stmt *)st;
    int src = sqlite3_step(s->st);

    if (src == SQLITE_ROW)
        return SRV_ROW;
    if (src == SQLITE_DONE)
        return SRV_DONE;
    return sql_err(s->conn->db, "step", src);
}

static int sq_changes(struct srv_stmt *st)
{
    return sqlite3_changes(((struct sq_stmt *)st)->conn->db);
}

static void sq_release(struct srv_stmt *st)
{
    struct sq_stmt *s = (struct sq_stmt *)st;

    sqlite3_reset(s->st);
    s->busy = false;
}

static bool sq_col_null(struct srv_stmt *st, int col)
{
    return sqlite3_column_type(((struct sq_stmt *)st)->st, col) == SQLITE_NULL;
}

static int64_t sq_col_int64(struct srv_stmt *st, int col)
{
    return sqlite3_column_int64(((struct sq_stmt *)st)->st, col);
}

static const char *sq_col_text(struct srv_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(((struct sq_stmt *)st)->st, col);
}

static const void *sq_col_blob(struct srv_stmt *st, int col, size_t *len)
{
    sqlite3_stmt *s = ((struct sq_stmt *)st)->st;
    const void *p = sqlite3_column_blob(s, col);
    int n = sqlite3_column_bytes(s, col);

    *len = p != NULL && n > 0 ? (size_t)n : 0;
    return *len > 0 ? p : NULL;
}

static void conn_close(struct sq_conn *c)
{
    size_t b;

    for (b = 0; b < STMT_BUCKETS; b++) {
        while (c->bucket[b] != NULL) {
            struct sq_stmt *s = c->bucket[b];

            c->bucket[b] = s->next;
            sqlite3_finalize(s->st);
            free(s);
        }
    }
    sqlite3_close(c->db);
    c->db = NULL;
}

/* ---- writer ---- */

static int exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int src = sqlite3_exec(db, sql, NULL, NULL, &msg);

    if (src != SQLITE_OK) {
        da_error_f("sqlite: %s: %s", sql, msg != NULL ? msg : "?");
        sqlite3_free(msg);
        return src == SQLITE_CONSTRAINT ? DA_ERR_STORE_CONFLICT : DA_ERR_STORE;
    }
    return 0;
}

/* A fixed statement on the writer, prepared once. */
static int exec_cached(struct sq_conn *c, const char *sql)
{
    return srv_exec(&c->base, NULL, sql, "");
}

static void run_batch(struct srv_engine *s, struct wjob *batch)
{
    struct wjob *j;
    int rc = exec_cached(&s->w, "BEGIN IMMEDIATE");

    for (j = batch; j != NULL; j = j->next) {
        if (rc != 0) {
            j->rc = rc;
            continue;
        }
        if (exec_cached(&s->w, "SAVEPOINT job") != 0) {
            j->rc = DA_ERR_STORE;
            continue;
        }
        j->rc = j->fn(&s->w.base, j->arg);
        if (j->rc != 0)
            exec_cached(&s->w, "ROLLBACK TO job");
        exec_cached(&s->w, "RELEASE job");
    }
    if (rc == 0 && exec_cached(&s->w, "COMMIT") != 0) {
        exec_sql(s->w.db, "ROLLBACK");
        for (j = batch; j != NULL; j = j->next)
            j->rc = DA_ERR_STORE;
    }
}

static void *writer_main(void *arg)
{
    struct srv_engine *s = arg;

    pthread_mutex_lock(&s->mu);
    for (;;) {
        struct wjob *batch, *last;
        unsigned n = 1;

        while (s->head == NULL && !s->stop)
            pthread_cond_wait(&s->cv_work, &s->mu);
        if (s->head == NULL)
            break;
        batch = last = s->head;
        while (last->next != NULL && n < s->batch_max) {
            last = last->next;
            n++;
        }
        s->head = last->next;
        if (s->head == NULL)
            s->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&s->mu);

        run_batch(s, batch);

        pthread_mutex_lock(&s->mu);
        while (batch != NULL) {
            struct wjob *next = batch->next;

            batch->done = true; /* the caller may free the job after this */
            pthread_cond_signal(&batch->cv);
            batch = next;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Queue fn as one transaction and wait until it is committed (or failed). */
static int sq_write(struct srv_engine *s, srv_write_fn fn, void *arg)
{
    struct wjob job;

    memset(&job, 0, sizeof(job));
    job.fn = fn;
    job.arg = arg;
    pthread_cond_init(&job.cv, NULL);
    pthread_mutex_lock(&s->mu);
    if (s->stop) {
        pthread_mutex_unlock(&s->mu);
        pthread_cond_destroy(&job.cv);
        return DA_ERR_UNAVAILABLE;
    }
    if (s->tail != NULL)
        s->tail->next = &job;
    else
        s->head = &job;
    s->tail = &job;
    pthread_cond_signal(&s->cv_work);
    while (!job.done)
        pthread_cond_wait(&job.cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    pthread_cond_destroy(&job.cv);
    return job.rc;
}

/* ---- readers ---- */

static struct srv_conn *sq_reader_get(struct srv_engine *s, int *slot)
{
    int i;

    pthread_mutex_lock(&s->rmu);
    for (;;) {
        for (i = 0; i < STORE_READERS; i++) {
            if (!s->rbusy[i]) {
                s->rbusy[i] = true;
                pthread_mutex_unlock(&s->rmu);
                *slot = i;
                return &s->r[i].base;
            }
        }
        pthread_cond_wait(&s->rcv, &s->rmu);
    }
}

static void sq_reader_put(struct srv_engine *s, int slot)
{
    pthread_mutex_lock(&s->rmu);
    s->rbusy[slot] = false;
    pthread_cond_signal(&s->rcv);
    pthread_mutex_unlock(&s->rmu);
}

/* ---- open / close ---- */

static int open_db(const char *path, bool writer, sqlite3 **out)
{
    sqlite3 *db = NULL;
    int src, rc;

    *out = NULL;
    src = sqlite3_open_v2(path, &db,
                          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (src != SQLITE_OK) {
        da_error_f("sqlite open %s: %s", path, db != NULL ? sqlite3_errmsg(db) : "?");
        sqlite3_close(db);
        return DA_ERR_STORE;
    }
    sqlite3_busy_timeout(db, STORE_BUSY_MS);
    rc = exec_sql(db, "PRAGMA foreign_keys = ON");
    /* free pages can go back to the file system (sq_reclaim): set before
     * the first table of a new database; an older one is converted once
     * by sq_open */
    if (rc == 0 && writer)
        rc = exec_sql(db, "PRAGMA auto_vacuum = INCREMENTAL");
    /* Page caches large enough for the pages every report touches (the
     * default 2 MiB made the writer read the same pages again with pread) */
    if (rc == 0 && writer)
        rc =
            exec_sql(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                         " PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = " STORE_WRITER_CACHE);
    if (rc == 0 && !writer)
        rc = exec_sql(db, "PRAGMA query_only = ON; PRAGMA cache_size = " STORE_READER_CACHE);
    if (rc != 0) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

static int open_conn(const char *path, bool writer, struct sq_conn *c)
{
    memset(c, 0, sizeof(*c));
    c->base.ops = &srv_engine_sqlite;
    return open_db(path, writer, &c->db);
}

/* Brings the schema to STORE_SCHEMA_LATEST, one transaction per version.
 * Each version not yet recorded is applied, in order, so a version whose
 * migration arrives later than a higher one (an empty entry: reserved, not
 * recorded) is applied when it arrives. */
static int migrate(struct sq_conn *c)
{
    int64_t version = 0;
    int rc;
    size_t i;

    rc = exec_sql(c->db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    if (rc == 0)
        rc = srv_one_int64(&c->base, &version,
                           "SELECT coalesce(max(version), 0) FROM schema_version", "");
    if (rc != 0)
        return rc;
    if (version > STORE_SCHEMA_LATEST) {
        da_error_f("database schema %d is newer than this server (%d)", (int)version,
                   STORE_SCHEMA_LATEST);
        return DA_ERR_STORE;
    }
    for (i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++) {
        char ins[96];
        int64_t have = 0;

        if (migrations[i][0] == '\0')
            continue;
        rc =
            srv_one_int64(&c->base, &have, "SELECT count(*) FROM schema_version WHERE version = ?1",
                          "i", (int64_t)(i + 1));
        if (rc != 0)
            return rc;
        if (have > 0)
            continue;
        snprintf(ins, sizeof(ins), "INSERT INTO schema_version (version) VALUES (%zu)", i + 1);
        rc = exec_sql(c->db, "BEGIN IMMEDIATE");
        if (rc == 0)
            rc = exec_sql(c->db, migrations[i]);
        if (rc == 0)
            rc = exec_sql(c->db, ins);
        if (rc == 0)
            rc = exec_sql(c->db, "COMMIT");
        if (rc != 0) {
            exec_sql(c->db, "ROLLBACK");
            return rc;
        }
        da_info_f("database migrated to schema version %zu", i + 1);
    }
    return 0;
}

/* After each commit: a large WAL wakes the checkpointer early. */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
    struct srv_engine *s = arg;

    (void)db;
    (void)name;
    if (pages >= STORE_CKPT_PAGES) {
        pthread_mutex_lock(&s->ckmu);
        s->ckpt_wanted = true;
        pthread_cond_signal(&s->ckcv);
        pthread_mutex_unlock(&s->ckmu);
    }
    return SQLITE_OK;
}

/* Checkpoints every STORE_CKPT_MS, or when the WAL grew large, but never
 * more often than every STORE_CKPT_GAP_MS. */
static void *checkpoint_main(void *arg)
{
    struct srv_engine *s = arg;
    struct timespec ts, gap = {0, STORE_CKPT_GAP_MS * 1000000L};

    pthread_mutex_lock(&s->ckmu);
    while (!s->ckpt_stop) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += STORE_CKPT_MS / 1000;
        while (!s->ckpt_stop && !s->ckpt_wanted) {
            if (pthread_cond_timedwait(&s->ckcv, &s->ckmu, &ts) != 0)
                break;
        }
        if (s->ckpt_stop)
            break;
        s->ckpt_wanted = false;
        pthread_mutex_unlock(&s->ckmu);
        sqlite3_wal_checkpoint_v2(s->ckdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        nanosleep(&gap, NULL);
        pthread_mutex_lock(&s->ckmu);
    }
    pthread_mutex_unlock(&s->ckmu);
    return NULL;
}

/* A database made before the store set auto_vacuum keeps its free pages
 * inside the file; converting it rewrites the file once (VACUUM: time and
 * free disk space in proportion to its size), before any reader opens. */
static int auto_vacuum_convert(struct sq_conn *c)
{
    int64_t mode = 0;
    struct timespec t0, t1;
    int rc = srv_one_int64(&c->base, &mode, "PRAGMA auto_vacuum", "");

    if (rc != 0 || mode == 2)
        return rc;
    da_info_f("database: converting the file to incremental auto-vacuum (once; it is rewritten)");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = exec_sql(c->db, "PRAGMA auto_vacuum = INCREMENTAL; VACUUM");
    if (rc == 0)
        rc = srv_one_int64(&c->base, &mode, "PRAGMA auto_vacuum", "");
    if (rc == 0 && mode != 2)
        rc = DA_ERR_STORE;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc == 0)
        da_info_f("database: converted in %.1f s",
                  (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return rc;
}

static void sq_close(struct srv_engine *s);

static int sq_open(const char *path, unsigned batch_max, unsigned connections,
                   struct srv_engine **out)
{
    (void)connections; /* one writer and STORE_READERS readers */
    struct srv_engine *s;
    int rc, i;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return DA_ERR_NOMEM;
    s->batch_max = batch_max > 0 ? batch_max : 1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv_work, NULL);
    pthread_mutex_init(&s->rmu, NULL);
    pthread_cond_init(&s->rcv, NULL);
    pthread_mutex_init(&s->ckmu, NULL);
    pthread_cond_init(&s->ckcv, NULL);
    rc = open_conn(path, true, &s->w);
    if (rc == 0)
        rc = migrate(&s->w);
    if (rc == 0)
        rc = auto_vacuum_convert(&s->w);
    for (i = 0; rc == 0 && i < STORE_READERS; i++)
        rc = open_conn(path, false, &s->r[i]);
    if (rc == 0)
        rc = open_db(path, false, &s->ckdb);
    if (rc == 0)
        sqlite3_wal_hook(s->w.db, on_wal_commit, s);
    if (rc == 0 && pthread_create(&s->writer, NULL, writer_main, s) != 0)
        rc = DA_ERR_INTERNAL;
    if (rc == 0) {
        s->writer_started = true;
        pthread_setname_np(s->writer, "da-store-writer"); /* for top -H and profiles */
    }
    if (rc == 0 && pthread_create(&s->ckpt, NULL, checkpoint_main, s) != 0)
        rc = DA_ERR_INTERNAL;
    if (rc != 0) {
        sq_close(s);
        return rc;
    }
    s->ckpt_started = true;
    *out = s;
    return 0;
}

static void sq_close(struct srv_engine *s)
{
    int i;

    if (s == NULL)
        return;
    if (s->writer_started) {
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_signal(&s->cv_work);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->writer, NULL);
    }
    if (s->ckpt_started) {
        pthread_mutex_lock(&s->ckmu);
        s->ckpt_stop = true;
        pthread_cond_signal(&s->ckcv);
        pthread_mutex_unlock(&s->ckmu);
        pthread_join(s->ckpt, NULL);
    }
    for (i = 0; i < STORE_READERS; i++)
        conn_close(&s->r[i]);
    sqlite3_close(s->ckdb);
    conn_close(&s->w);
    pthread_mutex_destroy(&s->ckmu);
    pthread_cond_destroy(&s->ckcv);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv_work);
    pthread_mutex_destroy(&s->rmu);
    pthread_cond_destroy(&s->rcv);
    free(s);
}

static int sq_integrity_check(struct srv_engine *s)
{
    struct srv_stmt *st = NULL;
    int slot, rc;
    struct srv_conn *c = sq_reader_get(s, &slot);

    rc = srv_prepare(c, &st, "PRAGMA integrity_check", "");
    if (rc == 0) {
        const char *t = srv_step(st) == SRV_ROW ? srv_col_text(st, 0) : NULL;

        if (t == NULL || strcmp(t, "ok") != 0)
            rc = DA_ERR_STORE;
        srv_release(st);
    }
    sq_reader_put(s, slot);
    return rc;
}

/* Pages in use times the page size, as of the last commit. */
static int sq_bytes(struct srv_engine *s, int64_t *bytes)
{
    int slot, rc;
    struct srv_conn *c = sq_reader_get(s, &slot);

    rc = srv_one_int64(c, bytes,
                       "SELECT (p.page_count - f.freelist_count) * z.page_size"
                       " FROM pragma_page_count() p, pragma_freelist_count() f,"
                       " pragma_page_size() z",
                       "");
    if (rc == DA_ERR_NOT_FOUND)
        rc = DA_ERR_STORE;
    sq_reader_put(s, slot);
    return rc;
}

struct reclaim_job {
    unsigned pages;
    int64_t left;
};

static int reclaim_job(struct srv_conn *c, void *arg)
{
    struct reclaim_job *j = arg;
    char sql[64];
    int rc;

    snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%u)", j->pages);
    rc = srv_exec(c, NULL, sql, "");
    return rc != 0 ? rc : srv_one_int64(c, &j->left, "PRAGMA freelist_count", "");
}

/* One bounded step of giving free pages back (store.h, srv_store_reclaim):
 * a write job of its own, so reports queue behind it for one step only. */
static int sq_reclaim(struct srv_engine *s, unsigned pages, int64_t *left)
{
    struct reclaim_job j = {pages, 0};
    int slot, rc;
    struct srv_conn *c = sq_reader_get(s, &slot);

    /* nothing free: no write at all */
    rc = srv_one_int64(c, &j.left, "PRAGMA freelist_count", "");
    sq_reader_put(s, slot);
    if (rc == 0 && j.left > 0)
        rc = sq_write(s, reclaim_job, &j);

    *left = rc == 0 ? j.left : 0;
    return rc;
}

const struct srv_engine_ops srv_engine_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .write = sq_write,
    .for_update = "", /* one writer: nothing to lock */
    .reader_get = sq_reader_get,
    .reader_put = sq_reader_put,
    .prepare = sq_prepare,
    .step = sq_step,
    .changes = sq_changes,
    .release = sq_release,
    .col_null = sq_col_null,
    .col_int64 = sq_col_int64,
    .col_text = sq_col_text,
    .col_blob = sq_col_blob,
    .integrity_check = sq_integrity_check,
    .bytes = sq_bytes,
    .reclaim = sq_reclaim,
};

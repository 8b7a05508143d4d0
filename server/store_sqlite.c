/* SQLite backend of store.h.
 *
 * One writer thread owns the only writing connection. A write is a job
 * (a function run against that connection); the writer takes every queued
 * job (up to batch_max), runs each inside its own SAVEPOINT of one
 * transaction, commits once (synchronous=FULL: fsync before COMMIT returns)
 * and then wakes all their callers. A job that fails is rolled back to its
 * savepoint without disturbing the others in the batch. Reads use a small
 * pool of separate connections; WAL lets them run beside the writer.
 */
#include "store.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "encoding.h"
#include "err.h"
#include "ima.h"
#include "log.h"
#include "metrics.h"
#include "quote.h"
#include "picky.h"

#define STORE_READERS       8
#define STORE_CKPT_MS       30000 /* periodic PASSIVE checkpoint */
#define STORE_CKPT_GAP_MS   250
#define STORE_CKPT_PAGES    16384 /* 64 MiB of 4 KiB pages: checkpoint early */
#define STORE_BUSY_MS       10000
#define STORE_SCHEMA_LATEST 9

struct wjob {
    int (*fn)(sqlite3 *db, void *arg);
    void *arg;
    int rc;
    bool done;
    pthread_cond_t cv; /* its own: a commit wakes only its callers */
    struct wjob *next;
};

struct srv_store {
    sqlite3 *wdb;
    pthread_t writer;
    bool writer_started;
    pthread_mutex_t mu;
    pthread_cond_t cv_work;
    struct wjob *head, *tail;
    bool stop;
    unsigned batch_max;
    unsigned stale_after;

    /* checkpoints run beside the writer, not inside its commits */
    sqlite3 *ckdb;
    pthread_t ckpt;
    bool ckpt_started;
    bool ckpt_stop;
    bool ckpt_wanted;
    pthread_mutex_t ckmu;
    pthread_cond_t ckcv;

    sqlite3 *rdb[STORE_READERS];
    bool rbusy[STORE_READERS];
    uint64_t rstart_us[STORE_READERS];
    struct srv_histogram *lat_write, *lat_read;
    pthread_mutex_t rmu;
    pthread_cond_t rcv;
};

/* Migrations, in order; entry i brings the schema from version i to i+1.
 * The DML elsewhere is portable SQL; DDL is per backend. A NULL entry
 * reserves a number defined later: migrate() applies every defined version
 * a database lacks, not only those above its highest, so a database that
 * took a later version first still takes the reserved one once it exists
 * (each migration must therefore stand on its own). */
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
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_LATEST,
               "STORE_SCHEMA_LATEST names the last migration");
_Static_assert(STORE_SCHEMA_LATEST < 64, "applied versions are kept in a 64-bit mask");

/* Staleness and status computed on read, from the same columns everywhere. */
#define AGENT_STATUS_SQL                                                                           \
    "CASE WHEN a.revoked = 1 THEN 'revoked'"                                                       \
    " WHEN (CASE WHEN a.last_verified_at > a.created_at THEN a.last_verified_at"                   \
    " ELSE a.created_at END) < ?1 THEN 'stale'"                                                    \
    " WHEN a.last_verified_at = 0 THEN 'pending'"                                                  \
    " WHEN a.last_compliant = 1 THEN 'compliant' ELSE 'non_compliant' END"

#define AGENT_COLUMNS                                                                              \
    "a.id, a.vendor_id, v.name, a.ek_name, a.ak_name, a.ak_public, a.sk_public, a.host_json,"      \
    " a.revoked, " AGENT_STATUS_SQL                                                                \
    " AS status, a.created_at, a.last_verified_at, a.last_compliant,"                              \
    " a.last_report_id, a.reset_count, a.restart_count, a.clock, a.firmware_version,"              \
    " a.ek_trust, a.ek_issuer, a.ek_serial, a.ek_root"

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static uint64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int sql_err(sqlite3 *db, const char *what, int src)
{
    if ((src & 0xff) == SQLITE_CONSTRAINT)
        return DA_ERR_STORE_CONFLICT;
    da_error_f("sqlite %s: %s", what, sqlite3_errmsg(db));
    return DA_ERR_STORE;
}

/* Statements stay prepared on their connection (each connection is used by
 * one thread at a time): a statement that is not running is found again by
 * its text, reset and rebound. */
static sqlite3_stmt *cached_stmt(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;

    while ((st = sqlite3_next_stmt(db, st)) != NULL) {
        if (!sqlite3_stmt_busy(st) && strcmp(sqlite3_sql(st), sql) == 0) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return st;
        }
    }
    return NULL;
}

/* Done with a statement: keep it prepared for the next use. */
static void release(sqlite3_stmt *st)
{
    if (st != NULL)
        sqlite3_reset(st);
}

/* Prepare sql and bind arguments described by types:
 *   t text (const char *, NULL binds NULL)   i int64   b blob (ptr, size_t)
 * Parameters are numbered in order from ?1. */
static int prepare(sqlite3 *db, sqlite3_stmt **st, const char *sql, const char *types, ...)
{
    va_list ap;
    int i, src = SQLITE_OK;

    *st = cached_stmt(db, sql);
    if (*st == NULL) {
        src = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
        if (src != SQLITE_OK)
            return sql_err(db, "prepare", src);
    }
    va_start(ap, types);
    for (i = 0; types[i] != '\0'; i++) {
        if (types[i] == 't') {
            const char *t = va_arg(ap, const char *);
            src = t != NULL ? sqlite3_bind_text(*st, i + 1, t, -1, SQLITE_TRANSIENT)
                            : sqlite3_bind_null(*st, i + 1);
        } else if (types[i] == 'i') {
            src = sqlite3_bind_int64(*st, i + 1, va_arg(ap, int64_t));
        } else {
            const void *p = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);
            src = sqlite3_bind_blob64(*st, i + 1, p, n, SQLITE_TRANSIENT);
        }
        if (src != SQLITE_OK)
            break;
    }
    va_end(ap);
    if (src != SQLITE_OK) {
        release(*st);
        *st = NULL;
        return sql_err(db, "bind", src);
    }
    return 0;
}

/* Run a statement to completion; changes gets the rows changed. */
static int run(sqlite3 *db, sqlite3_stmt *st, int *changes)
{
    int src = sqlite3_step(st), rc = 0;

    while (src == SQLITE_ROW)
        src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = sql_err(db, "step", src);
    else if (changes != NULL)
        *changes = sqlite3_changes(db);
    release(st);
    return rc;
}

static char *col_strdup(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);

    return strdup(t != NULL ? (const char *)t : "");
}

static void col_copy(sqlite3_stmt *st, int col, char *dst, size_t size)
{
    const unsigned char *t = sqlite3_column_text(st, col);

    snprintf(dst, size, "%s", t != NULL ? (const char *)t : "");
}

/* "" is stored as NULL (nothing recorded) */
static const char *or_null(const char *text)
{
    return text[0] != '\0' ? text : NULL;
}

/* issuer, serial and root from columns col..col+2 */
static void ek_cert_from_row(sqlite3_stmt *st, int col, struct srv_ek_cert *out)
{
    col_copy(st, col, out->issuer, sizeof(out->issuer));
    col_copy(st, col + 1, out->serial, sizeof(out->serial));
    col_copy(st, col + 2, out->root, sizeof(out->root));
}

static int col_blob(sqlite3_stmt *st, int col, unsigned char **out, size_t *len)
{
    const void *p = sqlite3_column_blob(st, col);
    int n = sqlite3_column_bytes(st, col);

    *out = NULL;
    *len = 0;
    if (p == NULL || n <= 0)
        return 0;
    *out = malloc((size_t)n);
    if (*out == NULL)
        return DA_ERR_NOMEM;
    memcpy(*out, p, (size_t)n);
    *len = (size_t)n;
    return 0;
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
static int exec_cached(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(db, &st, sql, "");

    return rc != 0 ? rc : run(db, st, NULL);
}

static void finalize_all(sqlite3 *db)
{
    sqlite3_stmt *st;

    while (db != NULL && (st = sqlite3_next_stmt(db, NULL)) != NULL)
        sqlite3_finalize(st);
}

static void run_batch(struct srv_store *s, struct wjob *batch)
{
    struct wjob *j;
    int rc = exec_cached(s->wdb, "BEGIN IMMEDIATE");

    for (j = batch; j != NULL; j = j->next) {
        if (rc != 0) {
            j->rc = rc;
            continue;
        }
        if (exec_cached(s->wdb, "SAVEPOINT job") != 0) {
            j->rc = DA_ERR_STORE;
            continue;
        }
        j->rc = j->fn(s->wdb, j->arg);
        if (j->rc != 0)
            exec_cached(s->wdb, "ROLLBACK TO job");
        exec_cached(s->wdb, "RELEASE job");
    }
    if (rc == 0 && exec_cached(s->wdb, "COMMIT") != 0) {
        exec_sql(s->wdb, "ROLLBACK");
        for (j = batch; j != NULL; j = j->next)
            j->rc = DA_ERR_STORE;
    }
}

static void *writer_main(void *arg)
{
    struct srv_store *s = arg;

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
static int submit(struct srv_store *s, int (*fn)(sqlite3 *, void *), void *arg)
{
    struct wjob job;
    uint64_t t0 = mono_us();

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
    srv_histogram_observe_us(s->lat_write, mono_us() - t0);
    return job.rc;
}

/* ---- readers ---- */

static sqlite3 *reader_get(struct srv_store *s, int *slot)
{
    int i;

    pthread_mutex_lock(&s->rmu);
    for (;;) {
        for (i = 0; i < STORE_READERS; i++) {
            if (!s->rbusy[i]) {
                s->rbusy[i] = true;
                s->rstart_us[i] = mono_us();
                pthread_mutex_unlock(&s->rmu);
                *slot = i;
                return s->rdb[i];
            }
        }
        pthread_cond_wait(&s->rcv, &s->rmu);
    }
}

static void reader_put(struct srv_store *s, int slot)
{
    srv_histogram_observe_us(s->lat_read, mono_us() - s->rstart_us[slot]);
    pthread_mutex_lock(&s->rmu);
    s->rbusy[slot] = false;
    pthread_cond_signal(&s->rcv);
    pthread_mutex_unlock(&s->rmu);
}

/* ---- open / close ---- */

static int open_conn(const char *path, bool writer, sqlite3 **out)
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
    if (rc == 0 && writer)
        rc = exec_sql(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                          " PRAGMA wal_autocheckpoint = 0");
    if (rc == 0 && !writer)
        rc = exec_sql(db, "PRAGMA query_only = ON");
    if (rc != 0) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

static int migrate(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    uint64_t applied = 0;
    int version = 0, rc;
    size_t i;

    rc = exec_sql(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    if (rc != 0)
        return rc;
    rc = prepare(db, &st, "SELECT version FROM schema_version", "");
    if (rc != 0)
        return rc;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int v = sqlite3_column_int(st, 0);

        if (v > version)
            version = v;
        if (v >= 1 && v <= STORE_SCHEMA_LATEST)
            applied |= UINT64_C(1) << v;
    }
    release(st);
    if (version > STORE_SCHEMA_LATEST) {
        da_error_f("database schema %d is newer than this server (%d)", version,
                   STORE_SCHEMA_LATEST);
        return DA_ERR_STORE;
    }
    /* every defined version not applied yet, in order (not only those
     * above the highest: a reserved number may be defined later) */
    for (i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++) {
        char ins[96];

        if (migrations[i] == NULL || (applied & (UINT64_C(1) << (i + 1))) != 0)
            continue;
        snprintf(ins, sizeof(ins), "INSERT INTO schema_version (version) VALUES (%zu)", i + 1);
        rc = exec_sql(db, "BEGIN IMMEDIATE");
        if (rc == 0)
            rc = exec_sql(db, migrations[i]);
        if (rc == 0)
            rc = exec_sql(db, ins);
        if (rc == 0)
            rc = exec_sql(db, "COMMIT");
        if (rc != 0) {
            exec_sql(db, "ROLLBACK");
            return rc;
        }
        da_info_f("database migrated to schema version %zu", i + 1);
    }
    return 0;
}

/* After each commit: a large WAL wakes the checkpointer early. */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
    struct srv_store *s = arg;

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
    struct srv_store *s = arg;
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

int srv_store_open(const char *path, unsigned batch_max, unsigned stale_after,
                   struct srv_store **out)
{
    struct srv_store *s;
    int rc, i;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return DA_ERR_NOMEM;
    s->batch_max = batch_max > 0 ? batch_max : 1;
    s->stale_after = stale_after;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv_work, NULL);
    pthread_mutex_init(&s->rmu, NULL);
    pthread_cond_init(&s->rcv, NULL);
    pthread_mutex_init(&s->ckmu, NULL);
    pthread_cond_init(&s->ckcv, NULL);
    rc = open_conn(path, true, &s->wdb);
    if (rc == 0)
        rc = migrate(s->wdb);
    for (i = 0; rc == 0 && i < STORE_READERS; i++)
        rc = open_conn(path, false, &s->rdb[i]);
    if (rc == 0)
        rc = open_conn(path, false, &s->ckdb);
    if (rc == 0)
        sqlite3_wal_hook(s->wdb, on_wal_commit, s);
    if (rc == 0 && pthread_create(&s->writer, NULL, writer_main, s) != 0)
        rc = DA_ERR_INTERNAL;
    if (rc == 0)
        s->writer_started = true;
    if (rc == 0 && pthread_create(&s->ckpt, NULL, checkpoint_main, s) != 0)
        rc = DA_ERR_INTERNAL;
    if (rc != 0) {
        srv_store_close(s);
        return rc;
    }
    s->ckpt_started = true;
    *out = s;
    return 0;
}

void srv_store_close(struct srv_store *s)
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
    for (i = 0; i < STORE_READERS; i++) {
        finalize_all(s->rdb[i]);
        sqlite3_close(s->rdb[i]);
    }
    finalize_all(s->ckdb);
    sqlite3_close(s->ckdb);
    finalize_all(s->wdb);
    sqlite3_close(s->wdb);
    pthread_mutex_destroy(&s->ckmu);
    pthread_cond_destroy(&s->ckcv);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv_work);
    pthread_mutex_destroy(&s->rmu);
    pthread_cond_destroy(&s->rcv);
    free(s);
}

/* A one-row integer query on a reader. */
static int read_int64(struct srv_store *s, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int slot, rc;
    sqlite3 *db = reader_get(s, &slot);

    *out = 0;
    rc = prepare(db, &st, sql, "");
    if (rc == 0) {
        if (sqlite3_step(st) == SQLITE_ROW)
            *out = sqlite3_column_int64(st, 0);
        else
            rc = sql_err(db, "step", sqlite3_errcode(db));
        release(st);
    }
    reader_put(s, slot);
    return rc;
}

int srv_store_schema_version(struct srv_store *s, int *version)
{
    int64_t v = 0;
    int rc = read_int64(s, "SELECT max(version) FROM schema_version", &v);

    *version = (int)v;
    return rc;
}

int srv_store_integrity_check(struct srv_store *s)
{
    sqlite3_stmt *st = NULL;
    int slot, rc;
    sqlite3 *db = reader_get(s, &slot);

    rc = prepare(db, &st, "PRAGMA integrity_check", "");
    if (rc == 0) {
        const unsigned char *t = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;

        if (t == NULL || strcmp((const char *)t, "ok") != 0)
            rc = DA_ERR_STORE;
        release(st);
    }
    reader_put(s, slot);
    return rc;
}

/* ---- vendors ---- */

struct vendor_job {
    const char *name;
    int64_t id;
};

static int vendor_lookup(sqlite3 *db, const char *name, int64_t *id)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(db, &st, "SELECT id FROM vendors WHERE name = ?1", "t", name);

    if (rc != 0)
        return rc;
    rc = sqlite3_step(st) == SQLITE_ROW ? 0 : DA_ERR_NOT_FOUND;
    if (rc == 0)
        *id = sqlite3_column_int64(st, 0);
    release(st);
    return rc;
}

static int vendor_ensure_job(sqlite3 *db, void *arg)
{
    struct vendor_job *j = arg;
    sqlite3_stmt *st = NULL;
    int rc;

    if (vendor_lookup(db, j->name, &j->id) == 0)
        return 0;
    rc = prepare(db, &st, "INSERT INTO vendors (name, created_at) VALUES (?1, ?2)", "ti", j->name,
                 now_s());
    if (rc == 0)
        rc = run(db, st, NULL);
    if (rc == 0)
        j->id = sqlite3_last_insert_rowid(db);
    return rc;
}

int srv_store_vendor_ensure(struct srv_store *s, const char *name, int64_t *id)
{
    struct vendor_job j = {name, 0};
    int rc;

    if (name == NULL || name[0] == '\0' || strlen(name) >= SRV_MAX_NAME)
        return DA_ERR_INVALID_ARG;
    rc = submit(s, vendor_ensure_job, &j);
    *id = j.id;
    return rc;
}

int srv_store_vendor_find(struct srv_store *s, const char *name, struct srv_vendor *out)
{
    sqlite3_stmt *st = NULL;
    int slot, rc;
    sqlite3 *db = reader_get(s, &slot);

    memset(out, 0, sizeof(*out));
    rc = prepare(db, &st, "SELECT id, name, created_at FROM vendors WHERE name = ?1", "t", name);
    if (rc == 0) {
        rc = sqlite3_step(st) == SQLITE_ROW ? 0 : DA_ERR_NOT_FOUND;
        if (rc == 0) {
            out->id = sqlite3_column_int64(st, 0);
            col_copy(st, 1, out->name, sizeof(out->name));
            out->created_at = sqlite3_column_int64(st, 2);
        }
        release(st);
    }
    reader_put(s, slot);
    return rc;
}

int srv_store_vendors_list(struct srv_store *s, srv_vendor_cb cb, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int slot, rc, src;
    sqlite3 *db = reader_get(s, &slot);

    rc = prepare(db, &st, "SELECT id, name, created_at FROM vendors ORDER BY name", "");
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct srv_vendor v;

        v.id = sqlite3_column_int64(st, 0);
        col_copy(st, 1, v.name, sizeof(v.name));
        v.created_at = sqlite3_column_int64(st, 2);
        rc = cb(&v, ctx);
    }
    release(st);
    reader_put(s, slot);
    return rc;
}

/* ---- tokens ---- */

struct token_job {
    const unsigned char *hash;
    int role;
    const char *vendor;
    const char *label;
    int64_t expires_at;
    int64_t now;
    int64_t vendor_id;
};

static int api_token_put_job(sqlite3 *db, void *arg)
{
    struct token_job *j = arg;
    sqlite3_stmt *st = NULL;
    int64_t vid = 0;
    int rc;

    char id[SRV_TOKEN_ID_SIZE];

    if (j->vendor != NULL) {
        rc = vendor_lookup(db, j->vendor, &vid);
        if (rc != 0)
            return rc == DA_ERR_NOT_FOUND ? DA_ERR_VENDOR_UNKNOWN : rc;
    }
    rc = da_hex_encode_to(j->hash, 8, id, sizeof(id));
    if (rc == 0)
        rc = prepare(db, &st,
                     "INSERT INTO api_tokens (hash, role, vendor_id, label, created_at, token_id,"
                     " expires_at) VALUES (?1, ?2, CASE WHEN ?3 = 0 THEN NULL ELSE ?3 END, ?4, ?5,"
                     " ?6, ?7)",
                     "biititi", j->hash, (size_t)SRV_HASH_LEN, (int64_t)j->role, vid, j->label,
                     now_s(), id, j->expires_at);
    return rc != 0 ? rc : run(db, st, NULL);
}

int srv_store_api_token_add(struct srv_store *s, const unsigned char hash[SRV_HASH_LEN],
                            enum srv_role role, const char *vendor, const char *label,
                            int64_t expires_at)
{
    struct token_job j = {hash, (int)role, vendor, label != NULL ? label : "", expires_at, 0, 0};

    if ((role == SRV_ROLE_VENDOR) != (vendor != NULL) || expires_at < 0 ||
        strlen(j.label) >= SRV_MAX_NAME)
        return DA_ERR_INVALID_ARG;
    return submit(s, api_token_put_job, &j);
}

int srv_store_api_token_put(struct srv_store *s, const unsigned char hash[SRV_HASH_LEN],
                            enum srv_role role, const char *vendor, const char *label)
{
    return srv_store_api_token_add(s, hash, role, vendor, label, 0);
}

int srv_store_api_token_find(struct srv_store *s, const unsigned char hash[SRV_HASH_LEN],
                             struct srv_principal *out)
{
    sqlite3_stmt *st = NULL;
    int slot, rc;
    sqlite3 *db = reader_get(s, &slot);

    memset(out, 0, sizeof(*out));
    rc = prepare(db, &st,
                 "SELECT role, coalesce(vendor_id, 0), label, token_id, last_used_at, expires_at,"
                 " revoked_at FROM api_tokens WHERE hash = ?1",
                 "b", hash, (size_t)SRV_HASH_LEN);
    if (rc == 0) {
        rc = sqlite3_step(st) == SQLITE_ROW ? 0 : DA_ERR_AUTH_DENIED;
        if (rc == 0) {
            int role = sqlite3_column_int(st, 0);

            /* only the roles this server knows; anything else denies */
            rc = role == SRV_ROLE_ADMIN || role == SRV_ROLE_AUDITOR || role == SRV_ROLE_VENDOR
                     ? 0
                     : DA_ERR_AUTH_DENIED;
            out->role = rc == 0 ? (enum srv_role)role : SRV_ROLE_NONE;
        }
        if (rc == 0) {
            int64_t expires_at = sqlite3_column_int64(st, 5);

            out->vendor_id = sqlite3_column_int64(st, 1);
            col_copy(st, 2, out->label, sizeof(out->label));
            col_copy(st, 3, out->token_id, sizeof(out->token_id));
            out->last_used_at = sqlite3_column_int64(st, 4);
            if (sqlite3_column_int64(st, 6) != 0)
                rc = DA_ERR_API_TOKEN_REVOKED;
            else if (expires_at != 0 && expires_at <= now_s())
                rc = DA_ERR_API_TOKEN_EXPIRED;
        }
        release(st);
    }
    if (rc != 0)
        out->role = SRV_ROLE_NONE;
    reader_put(s, slot);
    return rc;
}

static int enroll_token_put_job(sqlite3 *db, void *arg)
{
    struct token_job *j = arg;
    struct vendor_job vj = {j->vendor, 0};
    sqlite3_stmt *st = NULL;
    int rc = vendor_lookup(db, vj.name, &vj.id);

    if (rc == DA_ERR_NOT_FOUND)
        rc = DA_ERR_VENDOR_UNKNOWN;
    if (rc == 0)
        rc = prepare(db, &st,
                     "INSERT INTO enroll_tokens (hash, vendor_id, expires_at) VALUES (?1, ?2, ?3)",
                     "bii", j->hash, (size_t)SRV_HASH_LEN, vj.id, j->expires_at);
    return rc != 0 ? rc : run(db, st, NULL);
}

int srv_store_enroll_token_put(struct srv_store *s, const unsigned char hash[SRV_HASH_LEN],
                               const char *vendor, int64_t expires_at)
{
    struct token_job j = {hash, 0, vendor, NULL, expires_at, 0, 0};

    if (vendor == NULL || vendor[0] == '\0' || strlen(vendor) >= SRV_MAX_NAME)
        return DA_ERR_INVALID_ARG;
    return submit(s, enroll_token_put_job, &j);
}

static int enroll_token_consume_job(sqlite3 *db, void *arg)
{
    struct token_job *j = arg;
    sqlite3_stmt *st = NULL;
    int rc;

    rc =
        prepare(db, &st, "SELECT vendor_id, expires_at, used_at FROM enroll_tokens WHERE hash = ?1",
                "b", j->hash, (size_t)SRV_HASH_LEN);
    if (rc != 0)
        return rc;
    if (sqlite3_step(st) != SQLITE_ROW)
        rc = DA_ERR_TOKEN_INVALID;
    else if (sqlite3_column_type(st, 2) != SQLITE_NULL)
        rc = DA_ERR_TOKEN_USED;
    else if (sqlite3_column_int64(st, 1) <= j->now)
        rc = DA_ERR_TOKEN_EXPIRED;
    else
        j->vendor_id = sqlite3_column_int64(st, 0);
    release(st);
    if (rc != 0)
        return rc;
    rc = prepare(db, &st,
                 "UPDATE enroll_tokens SET used_at = ?2 WHERE hash = ?1 AND used_at IS NULL", "bi",
                 j->hash, (size_t)SRV_HASH_LEN, j->now);
    return rc != 0 ? rc : run(db, st, NULL);
}

int srv_store_enroll_token_consume(struct srv_store *s, const unsigned char hash[SRV_HASH_LEN],
                                   int64_t now, int64_t *vendor_id)
{
    struct token_job j = {hash, 0, NULL, NULL, 0, now, 0};
    int rc = submit(s, enroll_token_consume_job, &j);

    *vendor_id = rc == 0 ? j.vendor_id : 0;
    return rc;
}

/* ---- challenges ---- */

static int challenge_put_job(sqlite3 *db, void *arg)
{
    const struct srv_challenge *c = arg;
    sqlite3_stmt *st = NULL;
    int rc;

    rc = prepare(db, &st,
                 "INSERT INTO challenges (id, vendor_id, secret, ek_public, ak_public, ek_name,"
                 " ak_name, host_json, expires_at, ek_trust, ek_issuer, ek_serial, ek_root)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                 "tibbbtttitttt", c->id, c->vendor_id, c->secret, (size_t)SRV_HASH_LEN,
                 c->ek_public, c->ek_public_len, c->ak_public, c->ak_public_len, c->ek_name,
                 c->ak_name, c->host_json != NULL ? c->host_json : "{}", c->expires_at,
                 c->ek_trust[0] != '\0' ? c->ek_trust : "manufacturer_chain",
                 or_null(c->ek_cert.issuer), or_null(c->ek_cert.serial), or_null(c->ek_cert.root));
    return rc != 0 ? rc : run(db, st, NULL);
}

int srv_store_challenge_put(struct srv_store *s, const struct srv_challenge *c)
{
    return submit(s, challenge_put_job, DA_UNCONST(c)); /* the job only reads */
}

struct challenge_take_job {
    const char *id;
    int64_t now;
    struct srv_challenge *c;
};

static int challenge_take_job(sqlite3 *db, void *arg)
{
    struct challenge_take_job *j = arg;
    sqlite3_stmt *st = NULL;
    struct srv_challenge *c;
    int rc;

    rc = prepare(db, &st,
                 "SELECT vendor_id, secret, ek_public, ak_public, ek_name, ak_name, host_json,"
                 " expires_at, ek_trust, ek_issuer, ek_serial, ek_root FROM challenges"
                 " WHERE id = ?1",
                 "t", j->id);
    if (rc != 0)
        return rc;
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_bytes(st, 1) != SRV_HASH_LEN) {
        release(st);
        return DA_ERR_CHALLENGE_INVALID;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        release(st);
        return DA_ERR_NOMEM;
    }
    snprintf(c->id, sizeof(c->id), "%s", j->id);
    c->vendor_id = sqlite3_column_int64(st, 0);
    memcpy(c->secret, sqlite3_column_blob(st, 1), SRV_HASH_LEN);
    rc = col_blob(st, 2, &c->ek_public, &c->ek_public_len);
    if (rc == 0)
        rc = col_blob(st, 3, &c->ak_public, &c->ak_public_len);
    col_copy(st, 4, c->ek_name, sizeof(c->ek_name));
    col_copy(st, 5, c->ak_name, sizeof(c->ak_name));
    c->host_json = col_strdup(st, 6);
    c->expires_at = sqlite3_column_int64(st, 7);
    col_copy(st, 8, c->ek_trust, sizeof(c->ek_trust));
    ek_cert_from_row(st, 9, &c->ek_cert);
    release(st);
    if (rc == 0 && c->host_json == NULL)
        rc = DA_ERR_NOMEM;
    if (rc == 0)
        rc = prepare(db, &st, "DELETE FROM challenges WHERE id = ?1", "t", j->id);
    if (rc == 0)
        rc = run(db, st, NULL);
    if (rc == 0 && c->expires_at <= j->now)
        rc = DA_ERR_CHALLENGE_INVALID;
    if (rc != 0) {
        srv_challenge_free(c);
        /* An expired challenge is deleted all the same. */
        return rc == DA_ERR_CHALLENGE_INVALID ? 0 : rc;
    }
    j->c = c;
    return 0;
}

int srv_store_challenge_take(struct srv_store *s, const char *id, int64_t now,
                             struct srv_challenge **out)
{
    struct challenge_take_job j = {id, now, NULL};
    int rc;

    *out = NULL;
    rc = submit(s, challenge_take_job, &j);
    if (rc == 0 && j.c == NULL)
        rc = DA_ERR_CHALLENGE_INVALID;
    if (rc == 0)
        *out = j.c;
    else
        srv_challenge_free(j.c);
    return rc;
}

void srv_challenge_free(struct srv_challenge *c)
{
    if (c == NULL)
        return;
    OPENSSL_cleanse(c->secret, sizeof(c->secret));
    free(c->ek_public);
    free(c->ak_public);
    free(c->host_json);
    free(c);
}

/* ---- enrollments held for approval ---- */

struct enrollment_put_job {
    struct srv_enrollment *e;
    const unsigned char *token_hash;
};

/* The token is spent and the enrollment stored in one transaction: a
 * failure leaves the token unspent. */
static int enrollment_put_job(sqlite3 *db, void *arg)
{
    struct enrollment_put_job *j = arg;
    struct srv_enrollment *e = j->e;
    struct token_job t = {j->token_hash, 0, NULL, NULL, 0, e->created_at, 0};
    sqlite3_stmt *st = NULL;
    int rc = enroll_token_consume_job(db, &t);

    if (rc != 0)
        return rc;
    e->vendor_id = t.vendor_id;
    rc = prepare(db, &st,
                 "INSERT INTO enrollments (id, vendor_id, ek_public, ak_public, ek_name, ak_name,"
                 " ek_sha256, host_json, state, created_at)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9)",
                 "tibbtttti", e->id, e->vendor_id, e->ek_public, e->ek_public_len, e->ak_public,
                 e->ak_public_len, e->ek_name, e->ak_name, e->ek_sha256,
                 e->host_json != NULL ? e->host_json : "{}", e->created_at);
    return rc != 0 ? rc : run(db, st, NULL);
}

int srv_store_enrollment_hold(struct srv_store *s, const unsigned char token_hash[SRV_HASH_LEN],
                              struct srv_enrollment *e)
{
    struct enrollment_put_job j = {e, token_hash};

    return submit(s, enrollment_put_job, &j);
}

#define ENROLLMENT_COLUMNS                                                                         \
    "e.id, e.vendor_id, v.name, e.ek_public, e.ak_public, e.ek_name, e.ak_name, e.ek_sha256,"      \
    " e.host_json, e.state, e.created_at, e.decided_at, e.decided_by"

static int enrollment_from_row(sqlite3_stmt *st, struct srv_enrollment **out)
{
    struct srv_enrollment *e = calloc(1, sizeof(*e));
    int rc;

    *out = NULL;
    if (e == NULL)
        return DA_ERR_NOMEM;
    col_copy(st, 0, e->id, sizeof(e->id));
    e->vendor_id = sqlite3_column_int64(st, 1);
    col_copy(st, 2, e->vendor, sizeof(e->vendor));
    rc = col_blob(st, 3, &e->ek_public, &e->ek_public_len);
    if (rc == 0)
        rc = col_blob(st, 4, &e->ak_public, &e->ak_public_len);
    col_copy(st, 5, e->ek_name, sizeof(e->ek_name));
    col_copy(st, 6, e->ak_name, sizeof(e->ak_name));
    col_copy(st, 7, e->ek_sha256, sizeof(e->ek_sha256));
    e->host_json = col_strdup(st, 8);
    col_copy(st, 9, e->state, sizeof(e->state));
    e->created_at = sqlite3_column_int64(st, 10);
    e->decided_at = sqlite3_column_int64(st, 11);
    col_copy(st, 12, e->decided_by, sizeof(e->decided_by));
    if (rc == 0 && e->host_json == NULL)
        rc = DA_ERR_NOMEM;
    if (rc != 0) {
        srv_enrollment_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

int srv_store_enrollment_get(struct srv_store *s, const char *id, struct srv_enrollment **out)
{
    sqlite3_stmt *st = NULL;
    int slot, rc;
    sqlite3 *db = reader_get(s, &slot);

    *out = NULL;
    rc = prepare(db, &st,
                 "SELECT " ENROLLMENT_COLUMNS " FROM enrollments e JOIN vendors v"
                 " ON v.id = e.vendor_id WHERE e.id = ?1",
                 "t", id);
    if (rc == 0) {
        rc = sqlite3_step(st) == SQLITE_ROW ? enrollment_from_row(st, out) : DA_ERR_ENROLL_UNKNOWN;
        release(st);
    }
    reader_put(s, slot);
    return rc;
}

int srv_store_enrollments_list(struct srv_store *s, const char *state, srv_enrollment_cb cb,
                               void *ctx)
{
    sqlite3_stmt *st = NULL;
    int slot, rc;
    sqlite3 *db = reader_get(s, &slot);

    rc = prepare(db, &st,
                 "SELECT " ENROLLMENT_COLUMNS " FROM enrollments e JOIN vendors v"
                 " ON v.id = e.vendor_id WHERE (?1 IS NULL OR e.state = ?1)"
                 " ORDER BY e.created_at, e.id",
                 "t", state);
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        struct srv_enrollment *e = NULL;

        rc = enrollment_from_row(st, &e);
        if (rc == 0)
            rc = cb(e, ctx);
        srv_enrollment_free(e);
    }
    release(st);
    reader_put(s, slot);
    return rc;
}

struct enrollment_decide_job {
    const char *id, *state, *actor;
    int64_t now;
};

static int enrollment_decide_job(sqlite3 *db, void *arg)
{
    struct enrollment_decide_job *j = arg;
    sqlite3_stmt *st = NULL;
    int changes = 0, rc;

    rc = prepare(db, &st,
                 "UPDATE enrollments SET state = ?2, decided_at = ?3, decided_by = ?4"
                 " WHERE id = ?1 AND state = 'pending'",
                 "ttit", j->id, j->state, j->now, j->actor);
    if (rc == 0)
        rc = run(db, st, &changes);
    if (rc != 0 || changes == 1)
        return rc;
    rc = prepare(db, &st, "SELECT state FROM enrollments WHERE id = ?1", "t", j->id);
    if (rc != 0)
        return rc;
    rc = sqlite3_step(st) == SQLITE_ROW ? DA_ERR_ENROLL_STATE : DA_ERR_ENROLL_UNKNOWN;
    release(st);
    return rc;
}

int srv_store_enrollment_decide(struct srv_store *s, const char *id, const char *state,
                                const char *actor, int64_t now)
{
    struct enrollment_decide_job j = {id, state, actor, now};

    if (strcmp(state, "approved") != 0 && strcmp(state, "rejected") != 0)
        return DA_ERR_INVALID_ARG;
    return submit(s, enrollment_decide_job, &j);
}

void srv_enrollment_free(struct srv_enrollment *e)
{
    if (e == NULL)
        return;
    free(e->ek_public);
    free(e->ak_public);
    free(e->host_json);
    free(e);
}

/* ---- agents ---- */

static int agent_create_job(sqlite3 *db, void *arg)
{
    const struct srv_agent *a = arg;
    sqlite3_stmt *st = NULL;
    int rc;

    rc = prepare(db, &st,
                 "INSERT INTO agents (id, vendor_id, ek_name, ak_name, ak_public, sk_public,"
                 " host_json, created_at, ek_trust, ek_issuer, ek_serial, ek_root)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                 "tittbbtitttt", a->id, a->vendor_id, a->ek_name, a->ak_name, a->ak_public,
                 a->ak_public_len, a->sk_public, a->sk_public_len,
                 a->host_json != NULL ? a->host_json : "{}", a->created_at,
                 a->ek_trust[0] != '\0' ? a->ek_trust : "manufacturer_chain",
                 or_null(a->ek_cert.issuer), or_null(a->ek_cert.serial), or_null(a->ek_cert.root));
    return rc != 0 ? rc : run(db, st, NULL);
}

int srv_store_agent_create(struct srv_store *s, const struct srv_agent *a)
{
    return submit(s, agent_create_job, DA_UNCONST(a)); /* the job only reads */
}

static int agent_from_row(sqlite3_stmt *st, struct srv_agent **out)
{
    struct srv_agent *a = calloc(1, sizeof(*a));
    int rc;

    *out = NULL;
    if (a == NULL)
        return DA_ERR_NOMEM;
    col_copy(st, 0, a->id, sizeof(a->id));
    a->vendor_id = sqlite3_column_int64(st, 1);
    col_copy(st, 2, a->vendor, sizeof(a->vendor));
    col_copy(st, 3, a->ek_name, sizeof(a->ek_name));
    col_copy(st, 4, a->ak_name, sizeof(a->ak_name));
    rc = col_blob(st, 5, &a->ak_public, &a->ak_public_len);
    if (rc == 0)
        rc = col_blob(st, 6, &a->sk_public, &a->sk_public_len);
    a->host_json = col_strdup(st, 7);
    a->revoked = sqlite3_column_int(st, 8) != 0;
    col_copy(st, 9, a->status, sizeof(a->status));
    a->created_at = sqlite3_column_int64(st, 10);
    a->last_verified_at = sqlite3_column_int64(st, 11);
    a->last_compliant = sqlite3_column_int(st, 12) != 0;
    col_copy(st, 13, a->last_report_id, sizeof(a->last_report_id));
    a->reset_count = (uint32_t)sqlite3_column_int64(st, 14);
    a->restart_count = (uint32_t)sqlite3_column_int64(st, 15);
    a->clock = (uint64_t)sqlite3_column_int64(st, 16);
    a->firmware_version = (uint64_t)sqlite3_column_int64(st, 17);
    col_copy(st, 18, a->ek_trust, sizeof(a->ek_trust));
    ek_cert_from_row(st, 19, &a->ek_cert);
    if (rc == 0 && a->host_json == NULL)
        rc = DA_ERR_NOMEM;
    if (rc != 0) {
        srv_agent_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

static int agent_get_by(struct srv_store *s, const char *column_sql, const char *key, int64_t now,
                        int missing, struct srv_agent **out)
{
    char sql[2048];
    sqlite3_stmt *st = NULL;
    int slot, rc;
    sqlite3 *db;

    *out = NULL;
    snprintf(sql, sizeof(sql),
             "SELECT " AGENT_COLUMNS " FROM agents a JOIN vendors v ON v.id = a.vendor_id"
             " WHERE %s = ?2",
             column_sql);
    db = reader_get(s, &slot);
    rc = prepare(db, &st, sql, "it", now - (int64_t)s->stale_after, key);
    if (rc == 0) {
        rc = sqlite3_step(st) == SQLITE_ROW ? agent_from_row(st, out) : missing;
        release(st);
    }
    reader_put(s, slot);
    return rc;
}

int srv_store_agent_get(struct srv_store *s, const char *id, int64_t now, struct srv_agent **out)
{
    return agent_get_by(s, "a.id", id, now, DA_ERR_AGENT_UNKNOWN, out);
}

int srv_store_agent_find_by_ek(struct srv_store *s, const char *ek_name, int64_t now,
                               struct srv_agent **out)
{
    return agent_get_by(s, "a.ek_name", ek_name, now, DA_ERR_NOT_FOUND, out);
}

int srv_store_agents_list(struct srv_store *s, int64_t vendor_id, const char *status, int64_t now,
                          srv_agent_cb cb, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int slot, rc, src;
    sqlite3 *db = reader_get(s, &slot);

    rc = prepare(db, &st,
                 "SELECT * FROM (SELECT " AGENT_COLUMNS
                 " FROM agents a JOIN vendors v ON v.id = a.vendor_id"
                 " WHERE (?2 = 0 OR a.vendor_id = ?2)) t"
                 " WHERE (?3 IS NULL OR t.status = ?3) ORDER BY t.created_at, t.id",
                 "iit", now - (int64_t)s->stale_after, vendor_id, status);
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct srv_agent *a = NULL;

        rc = agent_from_row(st, &a);
        if (rc == 0)
            rc = cb(a, ctx);
        srv_agent_free(a);
    }
    release(st);
    reader_put(s, slot);
    return rc;
}

struct agent_update_job {
    const char *id;
    int64_t revoked;
    const unsigned char *ak_public;
    size_t ak_public_len;
    const char *ak_name;
};

static int agent_set_revoked_job(sqlite3 *db, void *arg)
{
    struct agent_update_job *j = arg;
    sqlite3_stmt *st = NULL;
    int changes = 0, rc;

    rc = prepare(db, &st, "UPDATE agents SET revoked = ?2 WHERE id = ?1", "ti", j->id, j->revoked);
    if (rc == 0)
        rc = run(db, st, &changes);
    if (rc == 0 && changes == 0)
        rc = DA_ERR_AGENT_UNKNOWN;
    return rc;
}

int srv_store_agent_set_revoked(struct srv_store *s, const char *id, bool revoked)
{
    struct agent_update_job j = {id, revoked ? 1 : 0, NULL, 0, NULL};

    return submit(s, agent_set_revoked_job, &j);
}

static int agent_replace_ak_job(sqlite3 *db, void *arg)
{
    struct agent_update_job *j = arg;
    sqlite3_stmt *st = NULL;
    int changes = 0, rc;

    rc = prepare(db, &st,
                 "UPDATE agents SET ak_public = ?2, ak_name = ?3, reset_count = 0,"
                 " restart_count = 0, clock = 0 WHERE id = ?1",
                 "tbt", j->id, j->ak_public, j->ak_public_len, j->ak_name);
    if (rc == 0)
        rc = run(db, st, &changes);
    if (rc == 0 && changes == 0)
        return DA_ERR_AGENT_UNKNOWN;
    if (rc == 0)
        rc = prepare(db, &st, "UPDATE identity_events SET resolved = 1 WHERE agent_id = ?1", "t",
                     j->id);
    return rc != 0 ? rc : run(db, st, NULL);
}

int srv_store_agent_replace_ak(struct srv_store *s, const char *id, const unsigned char *ak_public,
                               size_t ak_public_len, const char *ak_name)
{
    struct agent_update_job j = {id, 0, ak_public, ak_public_len, ak_name};

    return submit(s, agent_replace_ak_job, &j);
}

struct reenroll_job {
    const char *id;
    const unsigned char *sk;
    size_t sk_len;
    const char *host;
    const char *ek_trust;
    const struct srv_ek_cert *ek_cert;
};

static int agent_reenroll_job(sqlite3 *db, void *arg)
{
    struct reenroll_job *j = arg;
    sqlite3_stmt *st = NULL;
    int changes = 0, rc;

    rc = prepare(db, &st,
                 "UPDATE agents SET sk_public = ?2, host_json = ?3, ek_trust = ?4,"
                 " ek_issuer = ?5, ek_serial = ?6, ek_root = ?7 WHERE id = ?1",
                 "tbttttt", j->id, j->sk, j->sk_len, j->host, j->ek_trust,
                 j->ek_cert != NULL ? or_null(j->ek_cert->issuer) : NULL,
                 j->ek_cert != NULL ? or_null(j->ek_cert->serial) : NULL,
                 j->ek_cert != NULL ? or_null(j->ek_cert->root) : NULL);
    if (rc == 0)
        rc = run(db, st, &changes);
    return rc == 0 && changes == 0 ? DA_ERR_AGENT_UNKNOWN : rc;
}

int srv_store_agent_reenroll(struct srv_store *s, const char *id, const unsigned char *sk_public,
                             size_t sk_public_len, const char *host_json, const char *ek_trust,
                             const struct srv_ek_cert *ek_cert)
{
    struct reenroll_job j = {id,
                             sk_public,
                             sk_public_len,
                             host_json,
                             ek_trust != NULL && ek_trust[0] != '\0' ? ek_trust
                                                                     : SRV_EK_TRUST_CHAIN,
                             ek_cert};

    return submit(s, agent_reenroll_job, &j);
}

struct sweep_job {
    int64_t cutoff;
    int64_t now;
    int changed;
};

static int sweep_job(sqlite3 *db, void *arg)
{
    struct sweep_job *j = arg;
    sqlite3_stmt *st = NULL;
    int rc;

    rc =
        prepare(db, &st,
                "INSERT INTO audit_log (at, actor, action, subject, code, detail)"
                " SELECT ?2, 'server', 'agent_stale', id, 'stale', 'no verified report' FROM agents"
                " WHERE revoked = 0 AND stale_marked = 0 AND (CASE WHEN last_verified_at >"
                " created_at THEN last_verified_at ELSE created_at END) < ?1",
                "ii", j->cutoff, j->now);
    if (rc == 0)
        rc = run(db, st, NULL);
    if (rc == 0)
        rc = prepare(db, &st,
                     "UPDATE agents SET stale_marked = 1 WHERE revoked = 0 AND stale_marked = 0"
                     " AND (CASE WHEN last_verified_at > created_at THEN last_verified_at"
                     " ELSE created_at END) < ?1",
                     "i", j->cutoff);
    if (rc == 0)
        rc = run(db, st, &j->changed);
    if (rc == 0)
        rc = prepare(db, &st, "DELETE FROM nonces_used WHERE expires_at < ?1", "i", j->now - 3600);
    return rc != 0 ? rc : run(db, st, NULL);
}

int srv_store_sweep_stale(struct srv_store *s, int64_t now, int *changed)
{
    struct sweep_job j = {now - (int64_t)s->stale_after, now, 0};
    int rc = submit(s, sweep_job, &j);

    *changed = j.changed;
    return rc;
}

void srv_agent_free(struct srv_agent *a)
{
    if (a == NULL)
        return;
    free(a->ak_public);
    free(a->sk_public);
    free(a->host_json);
    free(a);
}

/* ---- identity events ---- */

struct identity_job {
    const char *agent_id;
    const unsigned char *ak_public;
    size_t ak_public_len;
    const char *ak_name;
    const char *detail;
};

static int identity_put_job(sqlite3 *db, void *arg)
{
    struct identity_job *j = arg;
    sqlite3_stmt *st = NULL;
    int rc;

    rc = prepare(db, &st,
                 "INSERT INTO identity_events (agent_id, at, ak_public, ak_name, detail)"
                 " VALUES (?1, ?2, ?3, ?4, ?5)",
                 "tibtt", j->agent_id, now_s(), j->ak_public, j->ak_public_len, j->ak_name,
                 j->detail);
    return rc != 0 ? rc : run(db, st, NULL);
}

int srv_store_identity_event_put(struct srv_store *s, const char *agent_id,
                                 const unsigned char *ak_public, size_t ak_public_len,
                                 const char *ak_name, const char *detail)
{
    struct identity_job j = {agent_id, ak_public, ak_public_len, ak_name, detail};

    return submit(s, identity_put_job, &j);
}

int srv_store_identity_event_latest(struct srv_store *s, const char *agent_id,
                                    unsigned char **ak_public, size_t *ak_public_len,
                                    char ak_name[2 * 34 + 1])
{
    sqlite3_stmt *st = NULL;
    int slot, rc;
    sqlite3 *db = reader_get(s, &slot);

    *ak_public = NULL;
    *ak_public_len = 0;
    rc = prepare(db, &st,
                 "SELECT ak_public, ak_name FROM identity_events WHERE agent_id = ?1"
                 " AND resolved = 0 ORDER BY id DESC LIMIT 1",
                 "t", agent_id);
    if (rc == 0) {
        rc = sqlite3_step(st) == SQLITE_ROW ? 0 : DA_ERR_NOT_FOUND;
        if (rc == 0)
            rc = col_blob(st, 0, ak_public, ak_public_len);
        if (rc == 0)
            col_copy(st, 1, ak_name, 2 * 34 + 1);
        release(st);
    }
    reader_put(s, slot);
    return rc;
}

/* ---- reports ---- */

/* The agent's counters as stored, read inside the write transaction. */
static int agent_counters_read(sqlite3 *db, const char *agent_id, struct da_tpm_clock *prev,
                               bool *have_prev)
{
    sqlite3_stmt *st = NULL;
    int rc, src;

    *have_prev = false;
    rc = prepare(db, &st,
                 "SELECT last_verified_at, reset_count, restart_count, clock, firmware_version,"
                 " revoked FROM agents WHERE id = ?1",
                 "t", agent_id);
    if (rc != 0)
        return rc;
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        memset(prev, 0, sizeof(*prev));
        *have_prev = sqlite3_column_int64(st, 0) != 0;
        prev->reset_count = (uint32_t)sqlite3_column_int64(st, 1);
        prev->restart_count = (uint32_t)sqlite3_column_int64(st, 2);
        prev->clock = (uint64_t)sqlite3_column_int64(st, 3);
        prev->firmware_version = (uint64_t)sqlite3_column_int64(st, 4);
        rc = sqlite3_column_int(st, 5) != 0 ? DA_ERR_AGENT_REVOKED : 0;
    } else {
        rc = src == SQLITE_DONE ? DA_ERR_AGENT_UNKNOWN : sql_err(db, "step", src);
    }
    release(st);
    return rc;
}

/* Compare and set the agent's counters: the TPM ordering rule runs against
 * the row as stored in this transaction, and the UPDATE only applies while
 * the row still holds the tuple that was checked. Under SQLite's single
 * writer that always holds; a backend whose transactions run side by side
 * (PostgreSQL, READ COMMITTED) gets DA_ERR_STORE_CONFLICT instead of a lost
 * update, and the report is refused without a trace. */
static int agent_counters_advance(sqlite3 *db, const struct srv_report *r)
{
    struct da_tpm_clock prev, cur;
    sqlite3_stmt *st = NULL;
    bool have_prev = false;
    int rc, changes = 0;

    rc = agent_counters_read(db, r->agent_id, &prev, &have_prev);
    if (rc != 0)
        return rc;
    memset(&cur, 0, sizeof(cur));
    cur.reset_count = r->reset_count;
    cur.restart_count = r->restart_count;
    cur.clock = r->clock;
    cur.firmware_version = r->firmware_version;
    cur.unsafe = r->clock_unsafe;
    if (have_prev && (rc = da_tpm_clock_check(&prev, &cur, NULL)) != 0)
        return rc;
    if (!have_prev)
        memset(&prev, 0, sizeof(prev));
    rc = prepare(db, &st,
                 "UPDATE agents SET last_verified_at = ?2, last_compliant = ?3,"
                 " last_report_id = ?4, reset_count = ?5, restart_count = ?6, clock = ?7,"
                 " firmware_version = ?8, stale_marked = 0 WHERE id = ?1 AND revoked = 0"
                 " AND (last_verified_at = 0 OR (reset_count = ?9 AND restart_count = ?10"
                 " AND clock = ?11))",
                 "tiitiiiiiii", r->agent_id, r->received_at, (int64_t)(r->compliant ? 1 : 0), r->id,
                 (int64_t)r->reset_count, (int64_t)r->restart_count, (int64_t)r->clock,
                 (int64_t)r->firmware_version, (int64_t)prev.reset_count,
                 (int64_t)prev.restart_count, (int64_t)prev.clock);
    if (rc == 0)
        rc = run(db, st, &changes);
    if (rc == 0 && changes != 1)
        return DA_ERR_STORE_CONFLICT;
    return rc;
}

static int ima_row_read(sqlite3 *db, const char *agent_id, struct srv_ima_state *out)
{
    sqlite3_stmt *st = NULL;
    int rc, src;

    memset(out, 0, sizeof(*out));
    rc = prepare(db, &st,
                 "SELECT reset_count, entries, banks, sha1, sha256, kept_json FROM ima_state"
                 " WHERE agent_id = ?1",
                 "t", agent_id);
    if (rc != 0)
        return rc;
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        out->reset_count = (uint32_t)sqlite3_column_int64(st, 0);
        out->agg.entries = (uint64_t)sqlite3_column_int64(st, 1);
        out->agg.banks = (unsigned)sqlite3_column_int(st, 2);
        if (sqlite3_column_bytes(st, 3) == (int)sizeof(out->agg.sha1))
            memcpy(out->agg.sha1, sqlite3_column_blob(st, 3), sizeof(out->agg.sha1));
        if (sqlite3_column_bytes(st, 4) == (int)sizeof(out->agg.sha256))
            memcpy(out->agg.sha256, sqlite3_column_blob(st, 4), sizeof(out->agg.sha256));
        out->kept_json = col_strdup(st, 5);
        rc = out->kept_json != NULL ? 0 : DA_ERR_NOMEM;
    } else {
        rc = src == SQLITE_DONE ? DA_ERR_NOT_FOUND : sql_err(db, "step", src);
    }
    release(st);
    return rc;
}

int srv_store_ima_get(struct srv_store *s, const char *agent_id, struct srv_ima_state *out)
{
    int slot, rc;
    sqlite3 *db = reader_get(s, &slot);

    rc = ima_row_read(db, agent_id, out);
    reader_put(s, slot);
    return rc;
}

static int ima_same(const struct srv_ima_state *a, const struct srv_ima_state *b)
{
    return a->reset_count == b->reset_count && a->agg.entries == b->agg.entries &&
           a->agg.banks == b->agg.banks &&
           memcmp(a->agg.sha1, b->agg.sha1, sizeof(a->agg.sha1)) == 0 &&
           memcmp(a->agg.sha256, b->agg.sha256, sizeof(a->agg.sha256)) == 0;
}

/* Compare and set: the IMA state moves only from the one the report was
 * replayed from, so two reports of one boot cannot both extend it. */
static int ima_state_advance(sqlite3 *db, const struct srv_report *r)
{
    struct srv_ima_state cur;
    sqlite3_stmt *st = NULL;
    int rc = ima_row_read(db, r->agent_id, &cur);

    if (rc == 0 && (r->ima_prev == NULL || !ima_same(&cur, r->ima_prev)))
        rc = DA_ERR_STORE_CONFLICT;
    else if (rc == DA_ERR_NOT_FOUND)
        rc = r->ima_prev == NULL ? 0 : DA_ERR_STORE_CONFLICT;
    srv_ima_state_clear(&cur);
    if (rc == 0)
        rc = prepare(db, &st, "DELETE FROM ima_state WHERE agent_id = ?1", "t", r->agent_id);
    if (rc == 0)
        rc = run(db, st, NULL);
    if (rc == 0)
        rc = prepare(db, &st,
                     "INSERT INTO ima_state (agent_id, reset_count, entries, banks, sha1, sha256,"
                     " kept_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                     "tiiibbt", r->agent_id, (int64_t)r->ima->reset_count,
                     (int64_t)r->ima->agg.entries, (int64_t)r->ima->agg.banks, r->ima->agg.sha1,
                     sizeof(r->ima->agg.sha1), r->ima->agg.sha256, sizeof(r->ima->agg.sha256),
                     r->ima->kept_json);
    if (rc == 0)
        rc = run(db, st, NULL);
    return rc;
}

/* The report's boot state becomes the agent's reference when it has none
 * yet; its differences from the reference are recorded one row each. */
static int boot_state_put(sqlite3 *db, const struct srv_report *r)
{
    sqlite3_stmt *st = NULL;
    int rc = 0;

    if (r->boot_state_json != NULL) {
        rc = prepare(db, &st,
                     "INSERT INTO boot_references (agent_id, report_id, state_json, recorded_at)"
                     " SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM boot_references"
                     " WHERE agent_id = ?1)",
                     "ttti", r->agent_id, r->id, r->boot_state_json, r->received_at);
        if (rc == 0)
            rc = run(db, st, NULL);
    }
    for (size_t i = 0; rc == 0 && i < r->n_boot_changes; i++) {
        const struct srv_boot_change *c = &r->boot_changes[i];

        rc = prepare(db, &st,
                     "INSERT INTO boot_changes (agent_id, report_id, at, what, reference_json,"
                     " now_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                     "ttittt", r->agent_id, r->id, r->received_at, c->what, c->reference_json,
                     c->now_json);
        if (rc == 0)
            rc = run(db, st, NULL);
    }
    return rc;
}

static int report_put_job(sqlite3 *db, void *arg)
{
    const struct srv_report *r = arg;
    sqlite3_stmt *st = NULL;
    int rc;

    rc = prepare(db, &st,
                 "INSERT INTO nonces_used (agent_id, hash, expires_at, report_id)"
                 " VALUES (?1, ?2, ?3, ?4)",
                 "tbit", r->agent_id, r->nonce_hash, (size_t)SRV_HASH_LEN, r->nonce_expires_at,
                 r->id);
    if (rc == 0)
        rc = run(db, st, NULL);
    if (rc == DA_ERR_STORE_CONFLICT)
        return DA_ERR_VERIFY_NONCE_REPLAY;
    if (rc == 0)
        rc = agent_counters_advance(db, r);
    if (rc == 0)
        rc = prepare(db, &st,
                     "INSERT INTO reports (id, agent_id, nonce_hash, evidence_sha256,"
                     " evidence_json, verdict_json, transcript_json, receipt_json, compliant,"
                     " received_at, reset_count, restart_count, clock, firmware_version,"
                     " inventory_sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
                     " ?12, ?13, ?14, ?15)",
                     "ttbtttttiiiiiit", r->id, r->agent_id, r->nonce_hash, (size_t)SRV_HASH_LEN,
                     r->evidence_sha256, r->evidence_json, r->verdict_json, r->transcript_json,
                     r->receipt_json, (int64_t)(r->compliant ? 1 : 0), r->received_at,
                     (int64_t)r->reset_count, (int64_t)r->restart_count, (int64_t)r->clock,
                     (int64_t)r->firmware_version, r->inventory_sha256);
    if (rc == 0)
        rc = run(db, st, NULL);
    if (rc == 0 && r->inventory_sha256[0] != '\0') {
        rc = prepare(db, &st,
                     "INSERT INTO inventory_digests (sha256, first_seen) SELECT ?1, ?2"
                     " WHERE NOT EXISTS (SELECT 1 FROM inventory_digests WHERE sha256 = ?1)",
                     "ti", r->inventory_sha256, r->received_at);
        if (rc == 0)
            rc = run(db, st, NULL);
    }
    if (rc == 0 && r->ima != NULL)
        rc = ima_state_advance(db, r);
    if (rc == 0)
        rc = boot_state_put(db, r);
    if (rc == 0 && r->body_json != NULL) {
        rc = prepare(db, &st, "INSERT INTO report_bodies (report_id, body) VALUES (?1, ?2)", "tt",
                     r->id, r->body_json);
        if (rc == 0)
            rc = run(db, st, NULL);
    }
    for (size_t i = 0; rc == 0 && i < r->n_pending; i++) {
        const struct srv_pending_seen *p = &r->pending[i];

        rc = prepare(db, &st,
                     "INSERT INTO pending_seen (agent_id, name, arch, candidate, first_seen)"
                     " SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM pending_seen"
                     " WHERE agent_id = ?1 AND name = ?2 AND arch = ?3 AND candidate = ?4)",
                     "tttti", r->agent_id, p->name, p->arch, p->candidate, p->first_seen);
        if (rc == 0)
            rc = run(db, st, NULL);
    }
    return rc;
}

int srv_store_pending_seen_get(struct srv_store *s, const char *agent_id,
                               struct srv_pending_seen *v, size_t n)
{
    sqlite3_stmt *st = NULL;
    int slot, rc = 0;
    sqlite3 *db = reader_get(s, &slot);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = prepare(db, &st,
                     "SELECT first_seen FROM pending_seen WHERE agent_id = ?1 AND name = ?2"
                     " AND arch = ?3 AND candidate = ?4",
                     "tttt", agent_id, v[i].name, v[i].arch, v[i].candidate);
        if (rc != 0)
            break;
        v[i].first_seen = 0;
        switch (sqlite3_step(st)) {
        case SQLITE_ROW:
            v[i].first_seen = sqlite3_column_int64(st, 0);
            break;
        case SQLITE_DONE:
            break;
        default:
            rc = sql_err(db, "step", sqlite3_errcode(db));
        }
        release(st);
    }
    reader_put(s, slot);
    return rc;
}

int srv_store_report_put(struct srv_store *s, const struct srv_report *r)
{
    return submit(s, report_put_job, DA_UNCONST(r)); /* the job only reads */
}

#define REPORT_COLUMNS                                                                             \
    "id, agent_id, nonce_hash, evidence_sha256, verdict_json, compliant, received_at,"             \
    " reset_count, restart_count, clock, firmware_version, inventory_sha256"

static int report_from_row(sqlite3_stmt *st, bool full, struct srv_report **out)
{
    struct srv_report *r = calloc(1, sizeof(*r));

    *out = NULL;
    if (r == NULL)
        return DA_ERR_NOMEM;
    col_copy(st, 0, r->id, sizeof(r->id));
    col_copy(st, 1, r->agent_id, sizeof(r->agent_id));
    if (sqlite3_column_bytes(st, 2) == SRV_HASH_LEN)
        memcpy(r->nonce_hash, sqlite3_column_blob(st, 2), SRV_HASH_LEN);
    col_copy(st, 3, r->evidence_sha256, sizeof(r->evidence_sha256));
    r->verdict_json = col_strdup(st, 4);
    r->compliant = sqlite3_column_int(st, 5) != 0;
    r->received_at = sqlite3_column_int64(st, 6);
    r->reset_count = (uint32_t)sqlite3_column_int64(st, 7);
    r->restart_count = (uint32_t)sqlite3_column_int64(st, 8);
    r->clock = (uint64_t)sqlite3_column_int64(st, 9);
    r->firmware_version = (uint64_t)sqlite3_column_int64(st, 10);
    col_copy(st, 11, r->inventory_sha256, sizeof(r->inventory_sha256));
    if (full) {
        r->evidence_json = col_strdup(st, 12);
        r->transcript_json = col_strdup(st, 13);
        r->receipt_json = col_strdup(st, 14);
    }
    if (r->verdict_json == NULL ||
        (full &&
         (r->evidence_json == NULL || r->transcript_json == NULL || r->receipt_json == NULL))) {
        srv_report_free(r);
        return DA_ERR_NOMEM;
    }
    *out = r;
    return 0;
}

/* The one report matching where; its parameters are ?1 (text or blob key)
 * and, when agent_id is not NULL, ?2 = agent_id. */
static int report_get_by(struct srv_store *s, const char *where, const char *types, const void *key,
                         size_t keylen, const char *agent_id, struct srv_report **out)
{
    char sql[512];
    sqlite3_stmt *st = NULL;
    int slot, rc;
    sqlite3 *db;

    *out = NULL;
    snprintf(sql, sizeof(sql),
             "SELECT " REPORT_COLUMNS ", evidence_json, transcript_json, receipt_json"
             " FROM reports WHERE %s",
             where);
    db = reader_get(s, &slot);
    if (types[0] == 't')
        rc = prepare(db, &st, sql, "t", (const char *)key);
    else if (agent_id != NULL)
        rc = prepare(db, &st, sql, "bt", key, keylen, agent_id);
    else
        rc = prepare(db, &st, sql, "b", key, keylen);
    if (rc == 0) {
        rc = sqlite3_step(st) == SQLITE_ROW ? report_from_row(st, true, out) : DA_ERR_NOT_FOUND;
        release(st);
    }
    reader_put(s, slot);
    return rc;
}

int srv_store_report_get(struct srv_store *s, const char *id, struct srv_report **out)
{
    return report_get_by(s, "id = ?1", "t", id, 0, NULL, out);
}

int srv_store_report_find_by_nonce(struct srv_store *s, const char *agent_id,
                                   const unsigned char hash[SRV_HASH_LEN], struct srv_report **out)
{
    if (agent_id == NULL)
        return DA_ERR_INVALID_ARG;
    return report_get_by(s,
                         "id = (SELECT report_id FROM nonces_used WHERE hash = ?1"
                         " AND agent_id = ?2)",
                         "b", hash, SRV_HASH_LEN, agent_id, out);
}

int srv_store_reports_list(struct srv_store *s, const char *agent_id, unsigned limit,
                           srv_report_cb cb, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int slot, rc, src;
    sqlite3 *db = reader_get(s, &slot);

    rc = prepare(db, &st,
                 "SELECT " REPORT_COLUMNS " FROM reports WHERE agent_id = ?1"
                 " ORDER BY received_at DESC, id DESC LIMIT ?2",
                 "ti", agent_id, (int64_t)limit);
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct srv_report *r = NULL;

        rc = report_from_row(st, false, &r);
        if (rc == 0)
            rc = cb(r, ctx);
        srv_report_free(r);
    }
    release(st);
    reader_put(s, slot);
    return rc;
}

void srv_report_free(struct srv_report *r)
{
    if (r == NULL)
        return;
    free(r->evidence_json);
    free(r->verdict_json);
    free(r->transcript_json);
    free(r->receipt_json);
    free(r);
}

int srv_store_reports_count(struct srv_store *s, int64_t *count)
{
    return read_int64(s, "SELECT count(*) FROM reports", count);
}

static int exists_query(struct srv_store *s, const char *sql, const char *types, const void *key,
                        size_t keylen, bool *found)
{
    sqlite3_stmt *st = NULL;
    int slot, rc;
    sqlite3 *db = reader_get(s, &slot);

    *found = false;
    if (types[0] == 't')
        rc = prepare(db, &st, sql, "t", (const char *)key);
    else
        rc = prepare(db, &st, sql, "b", key, keylen);
    if (rc == 0) {
        *found = sqlite3_step(st) == SQLITE_ROW;
        release(st);
    }
    reader_put(s, slot);
    return rc;
}

int srv_store_nonce_used(struct srv_store *s, const char *agent_id,
                         const unsigned char hash[SRV_HASH_LEN], bool *used)
{
    sqlite3_stmt *st = NULL;
    int slot, rc;
    sqlite3 *db = reader_get(s, &slot);

    *used = false;
    rc = prepare(db, &st, "SELECT 1 FROM nonces_used WHERE agent_id = ?1 AND hash = ?2", "tb",
                 agent_id, hash, (size_t)SRV_HASH_LEN);
    if (rc == 0) {
        *used = sqlite3_step(st) == SQLITE_ROW;
        release(st);
    }
    reader_put(s, slot);
    return rc;
}

/* ---- readiness ---- */

static int probe_write_job(sqlite3 *db, void *arg)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(db, &st, "INSERT OR REPLACE INTO readiness_probe (id, at) VALUES (1, ?1)", "i",
                     *(const int64_t *)arg);

    if (rc == 0)
        rc = run(db, st, NULL);
    return rc;
}

int srv_store_probe_write(struct srv_store *s, int64_t now)
{
    return submit(s, probe_write_job, &now);
}

int srv_store_inventory_known(struct srv_store *s, const char *sha256_hex, bool *known)
{
    return exists_query(s, "SELECT 1 FROM inventory_digests WHERE sha256 = ?1", "t", sha256_hex, 0,
                        known);
}

/* ---- policy ---- */

struct policy_job {
    const char *json;
    const char *sha256;
    const char *actor;
};

static int policy_put_job(sqlite3 *db, void *arg)
{
    struct policy_job *j = arg;
    sqlite3_stmt *st = NULL;
    int rc;

    rc = prepare(db, &st,
                 "INSERT INTO policies (json, sha256, actor, created_at) VALUES (?1, ?2, ?3, ?4)",
                 "ttti", j->json, j->sha256, j->actor, now_s());
    return rc != 0 ? rc : run(db, st, NULL);
}

int srv_store_policy_put(struct srv_store *s, const char *json, const char *sha256_hex,
                         const char *actor)
{
    struct policy_job j = {json, sha256_hex, actor};

    return submit(s, policy_put_job, &j);
}

int srv_store_policy_current(struct srv_store *s, char **json, char sha256_hex[65])
{
    sqlite3_stmt *st = NULL;
    int slot, rc;
    sqlite3 *db = reader_get(s, &slot);

    *json = NULL;
    rc = prepare(db, &st, "SELECT json, sha256 FROM policies ORDER BY id DESC LIMIT 1", "");
    if (rc == 0) {
        rc = sqlite3_step(st) == SQLITE_ROW ? 0 : DA_ERR_NOT_FOUND;
        if (rc == 0) {
            *json = col_strdup(st, 0);
            col_copy(st, 1, sha256_hex, 65);
            if (*json == NULL)
                rc = DA_ERR_NOMEM;
        }
        release(st);
    }
    reader_put(s, slot);
    return rc;
}

/* ---- reference boot state, its changes, boot pins ---- */

int srv_store_boot_reference(struct srv_store *s, const char *agent_id, char **state_json,
                             char report_id[SRV_ID_HEX], int64_t *recorded_at)
{
    sqlite3_stmt *st = NULL;
    int slot, rc;
    sqlite3 *db = reader_get(s, &slot);

    *state_json = NULL;
    rc = prepare(db, &st,
                 "SELECT state_json, report_id, recorded_at FROM boot_references"
                 " WHERE agent_id = ?1",
                 "t", agent_id);
    if (rc == 0) {
        rc = sqlite3_step(st) == SQLITE_ROW ? 0 : DA_ERR_NOT_FOUND;
        if (rc == 0) {
            *state_json = col_strdup(st, 0);
            col_copy(st, 1, report_id, SRV_ID_HEX);
            *recorded_at = sqlite3_column_int64(st, 2);
            if (*state_json == NULL)
                rc = DA_ERR_NOMEM;
        }
        release(st);
    }
    reader_put(s, slot);
    return rc;
}

int srv_store_boot_changes_list(struct srv_store *s, const char *agent_id, unsigned limit,
                                srv_boot_change_cb cb, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int slot, rc, src = SQLITE_DONE;
    sqlite3 *db = reader_get(s, &slot);

    rc = prepare(db, &st,
                 "SELECT id, report_id, at, what, reference_json, now_json FROM boot_changes"
                 " WHERE agent_id = ?1 ORDER BY id DESC LIMIT ?2",
                 "ti", agent_id, (int64_t)limit);
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct srv_boot_change c;

        memset(&c, 0, sizeof(c));
        c.id = sqlite3_column_int64(st, 0);
        col_copy(st, 1, c.report_id, sizeof(c.report_id));
        c.at = sqlite3_column_int64(st, 2);
        c.what = (const char *)sqlite3_column_text(st, 3);
        c.reference_json = (const char *)sqlite3_column_text(st, 4);
        c.now_json = (const char *)sqlite3_column_text(st, 5);
        if (c.what == NULL || c.reference_json == NULL || c.now_json == NULL)
            rc = DA_ERR_STORE;
        else
            rc = cb(&c, ctx);
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = sql_err(db, "step", src);
    release(st);
    reader_put(s, slot);
    return rc;
}

/* ---- webhooks ---- */

static int webhook_add_job(sqlite3 *db, void *arg)
{
    const struct srv_webhook *w = arg;
    sqlite3_stmt *st = NULL;
    int rc = prepare(db, &st,
                     "INSERT INTO webhooks (id, url, secret, events, created_at)"
                     " VALUES (?1, ?2, ?3, ?4, ?5)",
                     "tttti", w->id, w->url, w->secret, w->events, w->created_at);

    return rc != 0 ? rc : run(db, st, NULL);
}

int srv_store_webhook_add(struct srv_store *s, const struct srv_webhook *w)
{
    return submit(s, webhook_add_job, DA_UNCONST(w));
}

static int webhook_remove_job(sqlite3 *db, void *arg)
{
    const char *id = arg;
    sqlite3_stmt *st = NULL;
    int rc, n = 0;

    rc = prepare(db, &st,
                 "DELETE FROM webhook_attempts WHERE delivery_id IN"
                 " (SELECT id FROM webhook_deliveries WHERE webhook_id = ?1)",
                 "t", id);
    if (rc == 0)
        rc = run(db, st, NULL);
    if (rc == 0)
        rc = prepare(db, &st, "DELETE FROM webhook_deliveries WHERE webhook_id = ?1", "t", id);
    if (rc == 0)
        rc = run(db, st, NULL);
    if (rc == 0)
        rc = prepare(db, &st, "DELETE FROM webhooks WHERE id = ?1", "t", id);
    if (rc == 0)
        rc = run(db, st, &n);
    return rc != 0 ? rc : n == 1 ? 0 : DA_ERR_WEBHOOK_UNKNOWN;
}

int srv_store_webhook_remove(struct srv_store *s, const char *id)
{
    return submit(s, webhook_remove_job, DA_UNCONST(id));
}

static void webhook_from_row(sqlite3_stmt *st, struct srv_webhook *w)
{
    memset(w, 0, sizeof(*w));
    col_copy(st, 0, w->id, sizeof(w->id));
    col_copy(st, 1, w->url, sizeof(w->url));
    col_copy(st, 2, w->secret, sizeof(w->secret));
    col_copy(st, 3, w->events, sizeof(w->events));
    w->created_at = sqlite3_column_int64(st, 4);
}

int srv_store_webhook_get(struct srv_store *s, const char *id, struct srv_webhook *out)
{
    sqlite3_stmt *st = NULL;
    int slot, rc;
    sqlite3 *db = reader_get(s, &slot);

    rc = prepare(db, &st, "SELECT id, url, secret, events, created_at FROM webhooks WHERE id = ?1",
                 "t", id);
    if (rc == 0) {
        if (sqlite3_step(st) == SQLITE_ROW)
            webhook_from_row(st, out);
        else
            rc = DA_ERR_WEBHOOK_UNKNOWN;
        release(st);
    }
    reader_put(s, slot);
    return rc;
}

int srv_store_webhooks_list(struct srv_store *s, srv_webhook_cb cb, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int slot, rc, src = SQLITE_DONE;
    sqlite3 *db = reader_get(s, &slot);

    rc = prepare(db, &st,
                 "SELECT id, url, secret, events, created_at FROM webhooks ORDER BY created_at, id",
                 "");
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct srv_webhook w;

        webhook_from_row(st, &w);
        rc = cb(&w, ctx);
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = sql_err(db, "step", src);
    release(st);
    reader_put(s, slot);
    return rc;
}

struct webhook_enqueue_job {
    const char *webhook_id;
    const char *event;
    const char *body;
    int64_t now;
    unsigned queue_max;
    int queued;
};

static int webhook_enqueue_job(sqlite3 *db, void *arg)
{
    struct webhook_enqueue_job *j = arg;
    sqlite3_stmt *st = NULL;
    int64_t pending = 0;
    int rc;

    rc = prepare(db, &st, "SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'", "");
    if (rc == 0) {
        if (sqlite3_step(st) == SQLITE_ROW)
            pending = sqlite3_column_int64(st, 0);
        release(st);
    }
    if (rc == 0 && pending >= (int64_t)j->queue_max)
        return DA_ERR_WEBHOOK_QUEUE_FULL;
    /* endpoints subscribed to the event: its name in the comma list */
    if (rc == 0)
        rc = prepare(db, &st,
                     "INSERT INTO webhook_deliveries (webhook_id, event, body, created_at, state,"
                     " attempts, next_at) SELECT id, ?2, ?3, ?4, 'pending', 0, ?4 FROM webhooks"
                     " WHERE (?1 IS NULL AND instr(',' || events || ',', ',' || ?2 || ',') > 0)"
                     " OR id = ?1",
                     "ttti", j->webhook_id, j->event, j->body, j->now);
    return rc != 0 ? rc : run(db, st, &j->queued);
}

int srv_store_webhook_enqueue(struct srv_store *s, const char *webhook_id, const char *event,
                              const char *body, int64_t now, unsigned queue_max, int *queued)
{
    struct webhook_enqueue_job j = {webhook_id, event, body, now, queue_max, 0};
    int rc = submit(s, webhook_enqueue_job, &j);

    *queued = j.queued;
    return rc;
}

/* Columns of a delivery joined with its endpoint; attempts are column 10. */
#define DELIVERY_COLUMNS                                                                           \
    "d.id, d.webhook_id, w.url, w.secret, d.event, d.state, d.created_at, d.next_at,"              \
    " d.attempts, d.body"

static int deliveries_each(sqlite3 *db, sqlite3_stmt *st, srv_webhook_delivery_cb cb, void *ctx)
{
    int rc = 0, src;

    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct srv_webhook_delivery d;

        memset(&d, 0, sizeof(d));
        d.id = sqlite3_column_int64(st, 0);
        col_copy(st, 1, d.webhook_id, sizeof(d.webhook_id));
        col_copy(st, 2, d.url, sizeof(d.url));
        col_copy(st, 3, d.secret, sizeof(d.secret));
        col_copy(st, 4, d.event, sizeof(d.event));
        col_copy(st, 5, d.state, sizeof(d.state));
        d.created_at = sqlite3_column_int64(st, 6);
        d.next_at = sqlite3_column_int64(st, 7);
        d.attempts = sqlite3_column_int(st, 8);
        d.body = (const char *)sqlite3_column_text(st, 9);
        if (sqlite3_column_count(st) > 10)
            d.attempts_json = (const char *)sqlite3_column_text(st, 10);
        rc = d.body != NULL ? cb(&d, ctx) : DA_ERR_STORE;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = sql_err(db, "step", src);
    release(st);
    return rc;
}

int srv_store_webhook_due(struct srv_store *s, int64_t now, unsigned limit,
                          srv_webhook_delivery_cb cb, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int slot, rc;
    sqlite3 *db = reader_get(s, &slot);

    rc = prepare(db, &st,
                 "SELECT " DELIVERY_COLUMNS " FROM webhook_deliveries d JOIN webhooks w"
                 " ON w.id = d.webhook_id WHERE d.state = 'pending' AND d.next_at <= ?1"
                 " ORDER BY d.next_at, d.id LIMIT ?2",
                 "ii", now, (int64_t)limit);
    if (rc == 0)
        rc = deliveries_each(db, st, cb, ctx);
    reader_put(s, slot);
    return rc;
}

struct webhook_attempt_job {
    int64_t delivery_id;
    int64_t at;
    int status;
    const char *error;
    const char *state;
    int64_t next_at;
};

static int webhook_attempt_job(sqlite3 *db, void *arg)
{
    struct webhook_attempt_job *j = arg;
    sqlite3_stmt *st = NULL;
    int rc, n = 0;

    rc = prepare(db, &st,
                 "INSERT INTO webhook_attempts (delivery_id, n, at, status, error)"
                 " SELECT id, attempts + 1, ?2, ?3, ?4 FROM webhook_deliveries WHERE id = ?1",
                 "iiit", j->delivery_id, j->at, (int64_t)j->status, j->error);
    if (rc == 0)
        rc = run(db, st, &n);
    if (rc == 0 && n != 1)
        return DA_ERR_NOT_FOUND;
    if (rc == 0)
        rc = prepare(db, &st,
                     "UPDATE webhook_deliveries SET attempts = attempts + 1, state = ?2,"
                     " next_at = ?3 WHERE id = ?1",
                     "iti", j->delivery_id, j->state, j->next_at);
    return rc != 0 ? rc : run(db, st, NULL);
}

int srv_store_webhook_attempt(struct srv_store *s, int64_t delivery_id, int64_t at, int status,
                              const char *error, const char *state, int64_t next_at)
{
    struct webhook_attempt_job j = {delivery_id, at, status, error, state, next_at};

    return submit(s, webhook_attempt_job, &j);
}

int srv_store_webhook_deliveries(struct srv_store *s, const char *webhook_id, unsigned limit,
                                 srv_webhook_delivery_cb cb, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int slot, rc;
    sqlite3 *db = reader_get(s, &slot);

    rc = prepare(db, &st,
                 "SELECT " DELIVERY_COLUMNS ", (SELECT json_group_array(json_object('at', a.at,"
                 " 'status', a.status, 'error', a.error)) FROM (SELECT * FROM webhook_attempts"
                 " WHERE delivery_id = d.id ORDER BY n) a) FROM webhook_deliveries d"
                 " JOIN webhooks w ON w.id = d.webhook_id WHERE d.webhook_id = ?1"
                 " ORDER BY d.id DESC LIMIT ?2",
                 "ti", webhook_id, (int64_t)limit);
    if (rc == 0)
        rc = deliveries_each(db, st, cb, ctx);
    reader_put(s, slot);
    return rc;
}

int srv_store_sweep_stale_ids(struct srv_store *s, int64_t now, srv_agent_id_cb cb, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int slot, rc, src = SQLITE_DONE;
    sqlite3 *db = reader_get(s, &slot);

    rc = prepare(db, &st,
                 "SELECT id FROM agents WHERE revoked = 0 AND stale_marked = 0"
                 " AND (CASE WHEN last_verified_at > created_at THEN last_verified_at"
                 " ELSE created_at END) < ?1 ORDER BY id",
                 "i", now - (int64_t)s->stale_after);
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);

        rc = id != NULL ? cb(id, ctx) : DA_ERR_STORE;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = sql_err(db, "step", src);
    release(st);
    reader_put(s, slot);
    return rc;
}

/* ---- evidence packs ---- */

int srv_store_pack_reports(struct srv_store *s, int64_t vendor_id, int64_t from, int64_t to,
                           srv_pack_report_cb cb, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int slot, rc, src = SQLITE_DONE;
    sqlite3 *db = reader_get(s, &slot);

    rc = prepare(db, &st,
                 "SELECT r.id, r.agent_id, r.received_at, r.compliant, r.evidence_sha256,"
                 " r.verdict_json, r.transcript_json, r.receipt_json, b.body FROM reports r"
                 " JOIN agents a ON a.id = r.agent_id LEFT JOIN report_bodies b"
                 " ON b.report_id = r.id WHERE a.vendor_id = ?1 AND r.received_at >= ?2"
                 " AND r.received_at < ?3 ORDER BY r.received_at, r.id",
                 "iii", vendor_id, from, to);
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct srv_pack_report p;

        memset(&p, 0, sizeof(p));
        col_copy(st, 0, p.id, sizeof(p.id));
        col_copy(st, 1, p.agent_id, sizeof(p.agent_id));
        p.received_at = sqlite3_column_int64(st, 2);
        p.compliant = sqlite3_column_int(st, 3) != 0;
        col_copy(st, 4, p.evidence_sha256, sizeof(p.evidence_sha256));
        p.verdict_json = (const char *)sqlite3_column_text(st, 5);
        p.transcript_json = (const char *)sqlite3_column_text(st, 6);
        p.receipt_json = (const char *)sqlite3_column_text(st, 7);
        p.body_json = (const char *)sqlite3_column_text(st, 8);
        rc = p.verdict_json != NULL && p.transcript_json != NULL && p.receipt_json != NULL
                 ? cb(&p, ctx)
                 : DA_ERR_STORE;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = sql_err(db, "step", src);
    release(st);
    reader_put(s, slot);
    return rc;
}

int srv_store_policy_by_sha256(struct srv_store *s, const char *sha256_hex, char **json,
                               int64_t *created_at)
{
    sqlite3_stmt *st = NULL;
    int slot, rc;
    sqlite3 *db = reader_get(s, &slot);

    *json = NULL;
    rc = prepare(db, &st,
                 "SELECT json, created_at FROM policies WHERE sha256 = ?1 ORDER BY id LIMIT 1", "t",
                 sha256_hex);
    if (rc == 0) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            *json = col_strdup(st, 0);
            *created_at = sqlite3_column_int64(st, 1);
            rc = *json != NULL ? 0 : DA_ERR_NOMEM;
        } else {
            rc = DA_ERR_NOT_FOUND;
        }
        release(st);
    }
    reader_put(s, slot);
    return rc;
}

struct boot_pin_job {
    const char *vendor;
    const char *digest;
    const char *what;
    const char *actor;
    int64_t now;
};

static int boot_pin_vendor(sqlite3 *db, const char *name, int64_t *id)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(db, &st, "SELECT id FROM vendors WHERE name = ?1", "t", name);

    if (rc != 0)
        return rc;
    rc = sqlite3_step(st) == SQLITE_ROW ? 0 : DA_ERR_VENDOR_UNKNOWN;
    if (rc == 0)
        *id = sqlite3_column_int64(st, 0);
    release(st);
    return rc;
}

static int boot_pin_add_job(sqlite3 *db, void *arg)
{
    struct boot_pin_job *j = arg;
    sqlite3_stmt *st = NULL;
    int64_t vid = 0;
    int rc = boot_pin_vendor(db, j->vendor, &vid);

    if (rc == 0)
        rc = prepare(db, &st,
                     "INSERT INTO boot_pins (vendor_id, digest, what, actor, created_at)"
                     " VALUES (?1, ?2, ?3, ?4, ?5)",
                     "ittti", vid, j->digest, j->what, j->actor, j->now);
    if (rc == 0)
        rc = run(db, st, NULL);
    return rc == DA_ERR_STORE_CONFLICT ? DA_ERR_BOOT_PIN_EXISTS : rc;
}

int srv_store_boot_pin_add(struct srv_store *s, const char *vendor, const char *digest,
                           const char *what, const char *actor)
{
    struct boot_pin_job j = {vendor, digest, what, actor != NULL ? actor : "", now_s()};

    return submit(s, boot_pin_add_job, &j);
}

static int boot_pin_remove_job(sqlite3 *db, void *arg)
{
    struct boot_pin_job *j = arg;
    sqlite3_stmt *st = NULL;
    int64_t vid = 0;
    int changes = 0, rc = boot_pin_vendor(db, j->vendor, &vid);

    if (rc == 0)
        rc = prepare(db, &st, "DELETE FROM boot_pins WHERE vendor_id = ?1 AND digest = ?2", "it",
                     vid, j->digest);
    if (rc == 0)
        rc = run(db, st, &changes);
    return rc == 0 && changes != 1 ? DA_ERR_BOOT_PIN_UNKNOWN : rc;
}

int srv_store_boot_pin_remove(struct srv_store *s, const char *vendor, const char *digest)
{
    struct boot_pin_job j = {vendor, digest, NULL, NULL, 0};

    return submit(s, boot_pin_remove_job, &j);
}

int srv_store_boot_pins_list(struct srv_store *s, int64_t vendor_id, srv_boot_pin_cb cb, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int slot, rc, src = SQLITE_DONE;
    sqlite3 *db = reader_get(s, &slot);

    rc = prepare(db, &st,
                 "SELECT v.name, p.digest, p.what, p.actor, p.created_at FROM boot_pins p"
                 " JOIN vendors v ON v.id = p.vendor_id WHERE ?1 = 0 OR p.vendor_id = ?1"
                 " ORDER BY v.name, p.what, p.digest",
                 "i", vendor_id);
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct srv_boot_pin p;

        memset(&p, 0, sizeof(p));
        col_copy(st, 0, p.vendor, sizeof(p.vendor));
        col_copy(st, 1, p.digest, sizeof(p.digest));
        col_copy(st, 2, p.what, sizeof(p.what));
        col_copy(st, 3, p.actor, sizeof(p.actor));
        p.created_at = sqlite3_column_int64(st, 4);
        rc = cb(&p, ctx);
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = sql_err(db, "step", src);
    release(st);
    reader_put(s, slot);
    return rc;
}

/* ---- audit ---- */

struct audit_job {
    const char *actor, *action, *subject, *code, *detail;
};

static int audit_job(sqlite3 *db, void *arg)
{
    struct audit_job *j = arg;
    sqlite3_stmt *st = NULL;
    int rc;

    rc = prepare(db, &st,
                 "INSERT INTO audit_log (at, actor, action, subject, code, detail)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                 "ittttt", now_s(), j->actor, j->action, j->subject, j->code, j->detail);
    return rc != 0 ? rc : run(db, st, NULL);
}

int srv_store_audit(struct srv_store *s, const char *actor, const char *action, const char *subject,
                    const char *code, const char *detail)
{
    struct audit_job j = {actor != NULL ? actor : "", action, subject != NULL ? subject : "",
                          code != NULL ? code : "", detail != NULL ? detail : ""};

    return submit(s, audit_job, &j);
}

int srv_store_audit_list(struct srv_store *s, const char *action, unsigned limit, srv_audit_cb cb,
                         void *ctx)
{
    sqlite3_stmt *st = NULL;
    int slot, rc, src;
    sqlite3 *db = reader_get(s, &slot);

    rc = prepare(db, &st,
                 "SELECT id, at, actor, action, subject, code, detail FROM audit_log"
                 " WHERE (?1 IS NULL OR action = ?1) ORDER BY id DESC LIMIT ?2",
                 "ti", action, (int64_t)limit);
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct srv_audit_entry e;

        e.id = sqlite3_column_int64(st, 0);
        e.at = sqlite3_column_int64(st, 1);
        col_copy(st, 2, e.actor, sizeof(e.actor));
        col_copy(st, 3, e.action, sizeof(e.action));
        col_copy(st, 4, e.subject, sizeof(e.subject));
        col_copy(st, 5, e.code, sizeof(e.code));
        e.detail = col_strdup(st, 6);
        rc = e.detail != NULL ? cb(&e, ctx) : DA_ERR_NOMEM;
        free(e.detail);
    }
    release(st);
    reader_put(s, slot);
    return rc;
}

int srv_store_audit_count(struct srv_store *s, int64_t *count)
{
    return read_int64(s, "SELECT count(*) FROM audit_log", count);
}

/* ---- administration: vendors, API tokens, paged lists ---- */

bool srv_vendor_name_valid(const char *name)
{
    size_t i, n = strlen(name);

    if (n == 0 || n > 63)
        return false;
    for (i = 0; i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return false;
    }
    return true;
}

static int vendor_create_job(sqlite3 *db, void *arg)
{
    struct vendor_job *j = arg;
    sqlite3_stmt *st = NULL;
    int rc;

    if (vendor_lookup(db, j->name, &j->id) == 0)
        return DA_ERR_VENDOR_EXISTS;
    rc = prepare(db, &st, "INSERT INTO vendors (name, created_at) VALUES (?1, ?2)", "ti", j->name,
                 now_s());
    if (rc == 0)
        rc = run(db, st, NULL);
    if (rc == 0)
        j->id = sqlite3_last_insert_rowid(db);
    return rc;
}

int srv_store_vendor_create(struct srv_store *s, const char *name, int64_t *id)
{
    struct vendor_job j = {name, 0};
    int rc;

    *id = 0;
    if (!srv_vendor_name_valid(name))
        return DA_ERR_VENDOR_NAME;
    rc = submit(s, vendor_create_job, &j);
    if (rc == 0)
        *id = j.id;
    return rc;
}

struct vendor_rename_job {
    const char *name, *new_name;
};

static int vendor_rename_job(sqlite3 *db, void *arg)
{
    struct vendor_rename_job *j = arg;
    sqlite3_stmt *st = NULL;
    int64_t id = 0;
    int changes = 0, rc;

    rc = vendor_lookup(db, j->name, &id);
    if (rc == DA_ERR_NOT_FOUND)
        return DA_ERR_VENDOR_UNKNOWN;
    if (rc == 0 && vendor_lookup(db, j->new_name, &id) == 0)
        return DA_ERR_VENDOR_EXISTS;
    if (rc == 0)
        rc = prepare(db, &st, "UPDATE vendors SET name = ?2 WHERE name = ?1", "tt", j->name,
                     j->new_name);
    if (rc == 0)
        rc = run(db, st, &changes);
    return rc == 0 && changes != 1 ? DA_ERR_VENDOR_UNKNOWN : rc;
}

int srv_store_vendor_rename(struct srv_store *s, const char *name, const char *new_name)
{
    struct vendor_rename_job j = {name, new_name};

    if (!srv_vendor_name_valid(new_name))
        return DA_ERR_VENDOR_NAME;
    if (strlen(name) >= SRV_MAX_NAME)
        return DA_ERR_VENDOR_UNKNOWN;
    return submit(s, vendor_rename_job, &j);
}

#define API_TOKEN_SQL                                                                              \
    "SELECT t.token_id, t.role, coalesce(v.name, ''), t.label, t.created_at, t.expires_at,"        \
    " t.last_used_at, t.revoked_at FROM api_tokens t LEFT JOIN vendors v ON v.id = t.vendor_id"

static void api_token_from_row(sqlite3_stmt *st, struct srv_api_token *t)
{
    int role = sqlite3_column_int(st, 1);

    memset(t, 0, sizeof(*t));
    col_copy(st, 0, t->id, sizeof(t->id));
    t->role = (enum srv_role)role;
    col_copy(st, 2, t->vendor, sizeof(t->vendor));
    col_copy(st, 3, t->label, sizeof(t->label));
    t->created_at = sqlite3_column_int64(st, 4);
    t->expires_at = sqlite3_column_int64(st, 5);
    t->last_used_at = sqlite3_column_int64(st, 6);
    t->revoked_at = sqlite3_column_int64(st, 7);
}

int srv_store_api_tokens_list(struct srv_store *s, srv_api_token_cb cb, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int slot, rc, src;
    sqlite3 *db = reader_get(s, &slot);

    rc = prepare(db, &st, API_TOKEN_SQL " ORDER BY t.created_at, t.token_id", "");
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct srv_api_token t;

        api_token_from_row(st, &t);
        rc = cb(&t, ctx);
    }
    release(st);
    reader_put(s, slot);
    return rc;
}

struct api_token_update_job {
    const char *id;
    const char *sql; /* ?1 token id, ?2 time */
    int64_t at;
    struct srv_api_token *out;
};

static int api_token_update_job(sqlite3 *db, void *arg)
{
    struct api_token_update_job *j = arg;
    sqlite3_stmt *st = NULL;
    int changes = 0, rc;

    rc = prepare(db, &st, j->sql, "ti", j->id, j->at);
    if (rc == 0)
        rc = run(db, st, &changes);
    if (rc != 0 || j->out == NULL)
        return rc;
    rc = prepare(db, &st, API_TOKEN_SQL " WHERE t.token_id = ?1", "t", j->id);
    if (rc != 0)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        api_token_from_row(st, j->out);
    else
        rc = DA_ERR_API_TOKEN_UNKNOWN;
    release(st);
    return rc;
}

static bool token_id_valid(const char *id)
{
    size_t i;

    for (i = 0; id[i] != '\0'; i++) {
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    }
    return i == SRV_TOKEN_ID_SIZE - 1;
}

int srv_store_api_token_revoke(struct srv_store *s, const char *id, int64_t now,
                               struct srv_api_token *out)
{
    struct api_token_update_job j = {
        id, "UPDATE api_tokens SET revoked_at = ?2 WHERE token_id = ?1 AND revoked_at = 0", now,
        out};

    if (!token_id_valid(id))
        return DA_ERR_API_TOKEN_UNKNOWN;
    return submit(s, api_token_update_job, &j);
}

int srv_store_api_token_expire(struct srv_store *s, const char *id, int64_t at,
                               struct srv_api_token *out)
{
    struct api_token_update_job j = {
        id, "UPDATE api_tokens SET expires_at = ?2 WHERE token_id = ?1", at, out};

    if (!token_id_valid(id))
        return DA_ERR_API_TOKEN_UNKNOWN;
    if (at <= 0)
        return DA_ERR_INVALID_ARG;
    return submit(s, api_token_update_job, &j);
}

int srv_store_api_token_touch(struct srv_store *s, const char *id, int64_t now)
{
    struct api_token_update_job j = {
        id, "UPDATE api_tokens SET last_used_at = ?2 WHERE token_id = ?1 AND last_used_at < ?2",
        now, NULL};

    return submit(s, api_token_update_job, &j);
}

static int64_t page_to(const struct srv_page *pg)
{
    return pg->to != 0 ? pg->to : INT64_MAX;
}

int srv_store_agents_page(struct srv_store *s, int64_t vendor_id, const char *status, int64_t now,
                          const struct srv_page *pg, srv_agent_cb cb, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int slot, rc, src;
    sqlite3 *db = reader_get(s, &slot);

    rc = prepare(db, &st,
                 "SELECT * FROM (SELECT " AGENT_COLUMNS
                 " FROM agents a JOIN vendors v ON v.id = a.vendor_id"
                 " WHERE (?2 = 0 OR a.vendor_id = ?2)"
                 " AND (?4 = 0 OR a.created_at > ?5 OR (a.created_at = ?5 AND a.id > ?6))) t"
                 " WHERE (?3 IS NULL OR t.status = ?3) ORDER BY t.created_at, t.id LIMIT ?7",
                 "iitiiti", now - (int64_t)s->stale_after, vendor_id, status,
                 (int64_t)pg->has_after, pg->after_n, pg->after_id, (int64_t)pg->limit);
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct srv_agent *a = NULL;

        rc = agent_from_row(st, &a);
        if (rc == 0)
            rc = cb(a, ctx);
        srv_agent_free(a);
    }
    release(st);
    reader_put(s, slot);
    return rc;
}

int srv_store_reports_page(struct srv_store *s, const char *agent_id, const struct srv_page *pg,
                           srv_report_cb cb, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int slot, rc, src;
    sqlite3 *db = reader_get(s, &slot);

    rc = prepare(db, &st,
                 "SELECT " REPORT_COLUMNS " FROM reports WHERE agent_id = ?1"
                 " AND received_at >= ?2 AND received_at < ?3"
                 " AND (?4 = 0 OR received_at < ?5 OR (received_at = ?5 AND id < ?6))"
                 " ORDER BY received_at DESC, id DESC LIMIT ?7",
                 "tiiiiti", agent_id, pg->from, page_to(pg), (int64_t)pg->has_after, pg->after_n,
                 pg->after_id, (int64_t)pg->limit);
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct srv_report *r = NULL;

        rc = report_from_row(st, false, &r);
        if (rc == 0)
            rc = cb(r, ctx);
        srv_report_free(r);
    }
    release(st);
    reader_put(s, slot);
    return rc;
}

int srv_store_audit_page(struct srv_store *s, const char *action, const struct srv_page *pg,
                         srv_audit_cb cb, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int slot, rc, src;
    sqlite3 *db = reader_get(s, &slot);

    rc = prepare(db, &st,
                 "SELECT id, at, actor, action, subject, code, detail FROM audit_log"
                 " WHERE (?1 IS NULL OR action = ?1) AND at >= ?2 AND at < ?3"
                 " AND (?4 = 0 OR id < ?5) ORDER BY id DESC LIMIT ?6",
                 "tiiiii", action, pg->from, page_to(pg), (int64_t)pg->has_after, pg->after_n,
                 (int64_t)pg->limit);
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct srv_audit_entry e;

        e.id = sqlite3_column_int64(st, 0);
        e.at = sqlite3_column_int64(st, 1);
        col_copy(st, 2, e.actor, sizeof(e.actor));
        col_copy(st, 3, e.action, sizeof(e.action));
        col_copy(st, 4, e.subject, sizeof(e.subject));
        col_copy(st, 5, e.code, sizeof(e.code));
        e.detail = col_strdup(st, 6);
        rc = e.detail != NULL ? cb(&e, ctx) : DA_ERR_NOMEM;
        free(e.detail);
    }
    release(st);
    reader_put(s, slot);
    return rc;
}

int srv_store_agent_counts(struct srv_store *s, int64_t now, srv_agent_count_cb cb, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int slot, rc, src;
    sqlite3 *db = reader_get(s, &slot);

    rc = prepare(db, &st,
                 "SELECT v.name, " AGENT_STATUS_SQL " AS status, count(*)"
                 " FROM agents a JOIN vendors v ON v.id = a.vendor_id"
                 " GROUP BY v.name, status ORDER BY v.name, status",
                 "i", now - (int64_t)s->stale_after);
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(st, 0), *stt = sqlite3_column_text(st, 1);

        rc = cb(v != NULL ? (const char *)v : "", stt != NULL ? (const char *)stt : "",
                sqlite3_column_int64(st, 2), ctx);
    }
    release(st);
    reader_put(s, slot);
    return rc;
}

int srv_store_bytes(struct srv_store *s, int64_t *bytes)
{
    sqlite3_stmt *st = NULL;
    int slot, rc;
    sqlite3 *db = reader_get(s, &slot);

    *bytes = 0;
    rc = prepare(db, &st,
                 "SELECT (p.page_count - f.freelist_count) * z.page_size"
                 " FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() z",
                 "");
    if (rc == 0 && sqlite3_step(st) == SQLITE_ROW)
        *bytes = sqlite3_column_int64(st, 0);
    else if (rc == 0)
        rc = DA_ERR_STORE;
    release(st);
    reader_put(s, slot);
    return rc;
}

void srv_store_set_latency(struct srv_store *s, struct srv_histogram *writes,
                           struct srv_histogram *reads)
{
    s->lat_write = writes;
    s->lat_read = reads;
}

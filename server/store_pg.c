/* PostgreSQL engine of store_engine.h (libpq).
 *
 * Several server instances may share one database, so nothing here relies
 * on being the only writer. Each instance keeps a pool of connections; a
 * write is one transaction on one of them at SERIALIZABLE isolation:
 * PostgreSQL guarantees that the committed transactions have the effect of
 * some one-at-a-time order, which is what the queries were written for
 * (SQLite runs them one at a time on its writer thread). A transaction that
 * PostgreSQL aborts to keep that promise (serialization failure, deadlock)
 * is run again from the start, so a write job must not change anything but
 * the database and the out-parameters it rewrites on every run. COMMIT
 * returns after the WAL is flushed (synchronous_commit on, the default);
 * PostgreSQL groups the flushes of concurrent commits itself.
 *
 * Statements are prepared once per connection and found again by their
 * text and parameter types; `?N` and `?` are rewritten to `$N`. A statement
 * runs when it is prepared (the parameters are sent then, so nothing the
 * caller bound needs to outlive the call) and its rows are read from the
 * result. Results come as text; BYTEA arrives as "\x" and hex.
 *
 * The schema is created by this engine's migrations, under a transaction
 * advisory lock so that instances starting together migrate one after the
 * other. Workers that must run on one instance only take a session
 * advisory lock on a connection of their own (pg_lease).
 */
#include "store_engine.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>

#include "err.h"
#include "log.h"
#include "picky.h"

#define PG_CONNS_DEFAULT 16
#define PG_WRITE_TRIES   64
#define PG_STMT_BUCKETS  64
#define PG_SQL_MAX       16384

/* Advisory lock keys (bigint), one per purpose: "devattst" and a number. */
#define PG_LOCK_MIGRATE INT64_C(0x6465766174747301)
#define PG_LOCK_LEASE   INT64_C(0x6465766174747310) /* + the lease kind */

/* Parameter types as PostgreSQL's type OIDs (pg_type.dat): int8, text,
 * bytea. Given explicitly so that a parameter used only in an expression
 * such as `?1 IS NULL` still has a type. */
#define PG_OID_INT8  20
#define PG_OID_TEXT  25
#define PG_OID_BYTEA 17
#define PG_OID_BOOL  16

/* A statement prepared on a connection, found again by its key. */
struct pg_prep {
    char *key; /* types, '|', the SQL as the queries wrote it */
    uint32_t hash;
    char name[16];
    struct pg_prep *next;
};

/* One connection and its prepared statements (one thread at a time). */
struct pg_conn {
    struct srv_conn base;
    PGconn *pq;
    struct pg_prep *bucket[PG_STMT_BUCKETS];
    unsigned next_id;
    bool retry; /* a statement of this transaction hit a serialization failure */
};

/* A statement that has run: its result, read row by row. */
struct pg_stmt {
    struct srv_stmt base;
    PGresult *res;
    int rc; /* the run's error, returned by the first step */
    int row, nrows, changes;
    bool stepped;
    int nblob;
    unsigned char **blob; /* decoded BYTEA of the current row, per column */
    size_t *blob_len;
};

struct srv_engine {
    char *uri;
    unsigned n;
    struct pg_conn *conn;
    bool *busy;
    pthread_mutex_t mu;
    pthread_cond_t cv;

    /* session advisory locks held for workers (pg_lease) */
    pthread_mutex_t lmu;
    PGconn *lease_pq;
    bool held[8];
};

/* ---- statements ---- */

static uint32_t key_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* `?N` -> `$N`, `?` -> the next number (as SQLite numbers them), outside
 * quoted literals and identifiers. */
static int rewrite_params(const char *sql, char *out, size_t size)
{
    size_t o = 0;
    unsigned highest = 0;
    char quote = 0;

    for (const char *p = sql; *p != '\0'; p++) {
        if (o + 12 >= size)
            return DA_ERR_TOO_LARGE;
        if (quote != 0) {
            if (*p == quote)
                quote = 0;
            out[o++] = *p;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
            out[o++] = *p;
        } else if (*p == '?') {
            unsigned n = 0;

            while (p[1] >= '0' && p[1] <= '9' && n < 1000)
                n = n * 10 + (unsigned)(*++p - '0');
            if (n == 0)
                n = highest + 1;
            if (n > highest)
                highest = n;
            o += (size_t)snprintf(out + o, size - o, "$%u", n);
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
    return 0;
}

static bool sqlstate_is(const PGresult *r, const char *state)
{
    const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);

    return s != NULL && strcmp(s, state) == 0;
}

/* A failed command's code. Constraint violations (class 23) are conflicts,
 * as SQLite's are; serialization failures and deadlocks mark the
 * transaction for another run. */
static int result_err(struct pg_conn *c, const PGresult *r, const char *what)
{
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);

    if (state != NULL && strncmp(state, "23", 2) == 0)
        return DA_ERR_STORE_CONFLICT;
    if (sqlstate_is(r, "40001") || sqlstate_is(r, "40P01")) {
        c->retry = true;
        da_debug_f("postgresql: serialization failure at %.60s: run again", what);
        return DA_ERR_STORE_CONFLICT;
    }
    /* a statement after the one that failed: the transaction is lost
     * already, and that failure was reported */
    if (sqlstate_is(r, "25P02"))
        return DA_ERR_STORE;
    da_error_f("postgresql %s: %s", what, PQresultErrorMessage(r));
    return DA_ERR_STORE;
}

/* A command without parameters or rows (BEGIN, COMMIT, DDL). */
static int simple(struct pg_conn *c, const char *sql)
{
    PGresult *r = PQexec(c->pq, sql);
    int rc = 0;

    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = result_err(c, r, sql);
    PQclear(r);
    return rc;
}

static void prep_forget_all(struct pg_conn *c)
{
    for (int i = 0; i < PG_STMT_BUCKETS; i++) {
        while (c->bucket[i] != NULL) {
            struct pg_prep *p = c->bucket[i];

            c->bucket[i] = p->next;
            free(p->key);
            free(p);
        }
    }
}

/* The statement prepared for key on c, preparing it on first use. */
static int prep_find(struct pg_conn *c, const char *sql, const struct srv_param *p, unsigned n,
                     struct pg_prep **out)
{
    char types[SRV_PARAMS_MAX + 2], pgsql[PG_SQL_MAX];
    Oid oids[SRV_PARAMS_MAX];
    struct pg_prep *e;
    size_t klen;
    uint32_t h;
    PGresult *r;
    int rc;

    for (unsigned i = 0; i < n; i++) {
        types[i] = p[i].type;
        oids[i] = p[i].type == 'i' ? PG_OID_INT8 : p[i].type == 'b' ? PG_OID_BYTEA : PG_OID_TEXT;
    }
    types[n] = '|';
    types[n + 1] = '\0';
    h = key_hash(sql) ^ key_hash(types);
    for (e = c->bucket[h % PG_STMT_BUCKETS]; e != NULL; e = e->next) {
        if (e->hash == h && strncmp(e->key, types, n + 1) == 0 &&
            strcmp(e->key + n + 1, sql) == 0) {
            *out = e;
            return 0;
        }
    }
    rc = rewrite_params(sql, pgsql, sizeof(pgsql));
    if (rc != 0)
        return rc;
    e = calloc(1, sizeof(*e));
    klen = n + 1 + strlen(sql) + 1;
    if (e == NULL || (e->key = malloc(klen)) == NULL) {
        free(e);
        return DA_ERR_NOMEM;
    }
    snprintf(e->key, klen, "%s%s", types, sql);
    e->hash = h;
    snprintf(e->name, sizeof(e->name), "da%u", c->next_id++);
    r = PQprepare(c->pq, e->name, pgsql, (int)n, oids);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = result_err(c, r, pgsql);
        PQclear(r);
        free(e->key);
        free(e);
        return rc;
    }
    PQclear(r);
    e->next = c->bucket[h % PG_STMT_BUCKETS];
    c->bucket[h % PG_STMT_BUCKETS] = e;
    *out = e;
    return 0;
}

static void stmt_blobs_clear(struct pg_stmt *st)
{
    for (int i = 0; i < st->nblob; i++) {
        free(st->blob[i]);
        st->blob[i] = NULL;
        st->blob_len[i] = 0;
    }
}

static void pg_release(struct srv_stmt *base)
{
    struct pg_stmt *st = (struct pg_stmt *)base;

    stmt_blobs_clear(st);
    free(st->blob);
    free(st->blob_len);
    PQclear(st->res);
    free(st);
}

static int pg_prepare(struct srv_conn *base, const char *sql, const struct srv_param *p, unsigned n,
                      struct srv_stmt **out)
{
    struct pg_conn *c = (struct pg_conn *)base;
    const char *values[SRV_PARAMS_MAX];
    int lengths[SRV_PARAMS_MAX], formats[SRV_PARAMS_MAX];
    char ints[SRV_PARAMS_MAX][24];
    struct pg_prep *prep = NULL;
    struct pg_stmt *st;
    ExecStatusType status;
    int rc;

    *out = NULL;
    if (n > SRV_PARAMS_MAX)
        return DA_ERR_INTERNAL;
    rc = prep_find(c, sql, p, n, &prep);
    if (rc != 0)
        return rc == DA_ERR_STORE_CONFLICT ? DA_ERR_STORE : rc;
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return DA_ERR_NOMEM;
    st->base.ops = &srv_engine_pg;
    for (unsigned i = 0; i < n; i++) {
        lengths[i] = 0;
        formats[i] = 0;
        values[i] = NULL;
        if (p[i].type == 'i') {
            snprintf(ints[i], sizeof(ints[i]), "%lld", (long long)p[i].i);
            values[i] = ints[i];
        } else if (p[i].type == 'b') {
            /* binary format: the bytes as they are; no pointer is SQL NULL */
            values[i] = p[i].p;
            lengths[i] = (int)p[i].n;
            formats[i] = 1;
            if (p[i].p == NULL)
                values[i] = NULL;
            else if (p[i].n == 0)
                values[i] = "";
        } else {
            values[i] = p[i].p;
        }
    }
    st->res = PQexecPrepared(c->pq, prep->name, (int)n, values, lengths, formats, 0);
    status = PQresultStatus(st->res);
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
        const char *ch = PQcmdTuples(st->res);

        st->nrows = PQntuples(st->res);
        st->changes = ch != NULL ? (int)strtol(ch, NULL, 10) : 0;
        st->nblob = PQnfields(st->res);
        if (st->nblob > 0) {
            st->blob = calloc((size_t)st->nblob, sizeof(*st->blob));
            st->blob_len = calloc((size_t)st->nblob, sizeof(*st->blob_len));
            if (st->blob == NULL || st->blob_len == NULL) {
                pg_release(&st->base);
                return DA_ERR_NOMEM;
            }
        }
    } else {
        st->rc = result_err(c, st->res, sql);
    }
    st->row = -1;
    *out = &st->base;
    return 0;
}

static int pg_step(struct srv_stmt *base)
{
    struct pg_stmt *st = (struct pg_stmt *)base;

    if (st->rc != 0)
        return st->rc;
    stmt_blobs_clear(st);
    if (st->row + 1 >= st->nrows) {
        st->row = st->nrows;
        return SRV_DONE;
    }
    st->row++;
    return SRV_ROW;
}

static int pg_changes(struct srv_stmt *base)
{
    return ((struct pg_stmt *)base)->changes;
}

static bool col_ok(const struct pg_stmt *st, int col)
{
    return st->row >= 0 && st->row < st->nrows && col >= 0 && col < st->nblob;
}

static bool pg_col_null(struct srv_stmt *base, int col)
{
    struct pg_stmt *st = (struct pg_stmt *)base;

    return !col_ok(st, col) || PQgetisnull(st->res, st->row, col);
}

static int64_t pg_col_int64(struct srv_stmt *base, int col)
{
    struct pg_stmt *st = (struct pg_stmt *)base;
    const char *v;

    if (pg_col_null(base, col))
        return 0;
    v = PQgetvalue(st->res, st->row, col);
    if (PQftype(st->res, col) == PG_OID_BOOL)
        return v[0] == 't' ? 1 : 0;
    return strtoll(v, NULL, 10);
}

static const char *pg_col_text(struct srv_stmt *base, int col)
{
    struct pg_stmt *st = (struct pg_stmt *)base;

    if (pg_col_null(base, col))
        return NULL;
    return PQgetvalue(st->res, st->row, col);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* BYTEA in text form ("\x" and hex, bytea_output = hex, set per
 * connection), decoded once per row and column. */
static const void *pg_col_blob(struct srv_stmt *base, int col, size_t *len)
{
    struct pg_stmt *st = (struct pg_stmt *)base;
    const char *v;
    size_t n;

    *len = 0;
    if (pg_col_null(base, col))
        return NULL;
    if (st->blob[col] == NULL) {
        v = PQgetvalue(st->res, st->row, col);
        n = strlen(v);
        if (n < 2 || v[0] != '\\' || v[1] != 'x' || n % 2 != 0 || n == 2)
            return NULL;
        st->blob[col] = malloc((n - 2) / 2);
        if (st->blob[col] == NULL)
            return NULL;
        for (size_t i = 0; i < (n - 2) / 2; i++) {
            int hi = hexval(v[2 + 2 * i]), lo = hexval(v[3 + 2 * i]);

            if (hi < 0 || lo < 0) {
                free(st->blob[col]);
                st->blob[col] = NULL;
                return NULL;
            }
            st->blob[col][i] = (unsigned char)(hi << 4 | lo);
        }
        st->blob_len[col] = (n - 2) / 2;
    }
    *len = st->blob_len[col];
    return st->blob[col];
}

/* ---- connections ---- */

static void notice_quiet(void *arg, const char *msg)
{
    (void)arg;
    da_debug_f("postgresql: %s", msg);
}

static int conn_open(const char *uri, PGconn **out)
{
    PGconn *pq = PQconnectdb(uri);

    *out = NULL;
    if (PQstatus(pq) != CONNECTION_OK) {
        /* the message names host and port, never the password */
        da_error_f("postgresql connect: %s", PQerrorMessage(pq));
        PQfinish(pq);
        return DA_ERR_STORE;
    }
    PQsetNoticeProcessor(pq, notice_quiet, NULL);
    *out = pq;
    return 0;
}

static int conn_setup(struct pg_conn *c)
{
    return simple(c, "SET bytea_output = 'hex'; SET client_min_messages = warning;"
                     " SET TIME ZONE 'UTC'");
}

/* A connection of the pool, reconnected first when it was lost. */
static struct pg_conn *conn_get(struct srv_engine *e, int *slot)
{
    struct pg_conn *c;
    unsigned i;

    pthread_mutex_lock(&e->mu);
    for (;;) {
        for (i = 0; i < e->n && e->busy[i]; i++)
            ;
        if (i < e->n)
            break;
        pthread_cond_wait(&e->cv, &e->mu);
    }
    e->busy[i] = true;
    pthread_mutex_unlock(&e->mu);
    c = &e->conn[i];
    if (PQstatus(c->pq) != CONNECTION_OK) {
        prep_forget_all(c);
        PQreset(c->pq);
        if (PQstatus(c->pq) == CONNECTION_OK && conn_setup(c) == 0)
            da_info_f("postgresql: connection %u re-established", i);
    }
    c->retry = false;
    *slot = (int)i;
    return c;
}

static void conn_put(struct srv_engine *e, int slot)
{
    pthread_mutex_lock(&e->mu);
    e->busy[slot] = false;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

static struct srv_conn *pg_reader_get(struct srv_engine *e, int *slot)
{
    return &conn_get(e, slot)->base;
}

static void pg_reader_put(struct srv_engine *e, int slot)
{
    struct pg_conn *c = &e->conn[slot];

    /* a read never leaves a transaction open; if one did, end it */
    if (PQstatus(c->pq) == CONNECTION_OK && PQtransactionStatus(c->pq) != PQTRANS_IDLE)
        simple(c, "ROLLBACK");
    conn_put(e, slot);
}

/* Wait a little, more after each failed run, jittered so that two
 * transactions that collided do not collide again. */
static void backoff(unsigned attempt)
{
    static _Thread_local unsigned seed;
    unsigned cap = 1u << (attempt < 7 ? attempt : 7); /* up to 128 ms */
    unsigned ms;
    struct timespec ts;

    if (seed == 0)
        seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&seed;
    ms = (unsigned)rand_r(&seed) % cap + 1;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

static int pg_run(struct srv_engine *e, srv_write_fn fn, void *arg, const char *begin)
{
    int rc = DA_ERR_STORE;

    for (unsigned attempt = 0; attempt < PG_WRITE_TRIES; attempt++) {
        int slot;
        struct pg_conn *c = conn_get(e, &slot);
        bool again;

        rc = simple(c, begin);
        if (rc != 0 && PQstatus(c->pq) != CONNECTION_OK && attempt == 0)
            c->retry = true; /* nothing reached the database: reconnect, run again */
        if (rc == 0) {
            rc = fn(&c->base, arg);
            if (rc == DA_ERR_STORE_RETRY)
                c->retry = true; /* a row it read went away before it wrote it */
            if (rc == 0 && !c->retry)
                rc = simple(c, "COMMIT");
        }
        if (PQstatus(c->pq) == CONNECTION_OK && PQtransactionStatus(c->pq) != PQTRANS_IDLE)
            simple(c, "ROLLBACK");
        again = c->retry;
        conn_put(e, slot);
        if (!again)
            return rc;
        backoff(attempt);
    }
    da_warn_f("postgresql: a write gave up after %d runs", PG_WRITE_TRIES);
    return rc == DA_ERR_STORE_RETRY ? rc : DA_ERR_STORE_CONFLICT;
}

/* Every job that does not lock its rows itself: SERIALIZABLE. */
static int pg_write(struct srv_engine *e, srv_write_fn fn, void *arg)
{
    return pg_run(e, fn, arg, "BEGIN ISOLATION LEVEL SERIALIZABLE");
}

/* A job that locks the rows it relies on (store_engine.h): READ COMMITTED,
 * which tracks no predicate locks and aborts nothing for a read that a
 * concurrent transaction's write would have changed. */
static int pg_write_locked(struct srv_engine *e, srv_write_fn fn, void *arg)
{
    return pg_run(e, fn, arg, "BEGIN ISOLATION LEVEL READ COMMITTED");
}

/* ---- schema ---- */

/* Migrations: version and DDL. A new database is created at the first
 * entry's version (the SQLite engine's schema of that version, in
 * PostgreSQL's types); every later version adds one entry here and one in
 * store_sqlite.c. */
struct pg_migration {
    int version;
    const char *sql;
};

static const struct pg_migration pg_migrations[] = {
    {8,
     "CREATE TABLE vendors (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     " name TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL);"
     "CREATE TABLE api_tokens (hash BYTEA PRIMARY KEY, role BIGINT NOT NULL,"
     " vendor_id BIGINT REFERENCES vendors(id), label TEXT NOT NULL,"
     " created_at BIGINT NOT NULL, token_id TEXT, expires_at BIGINT NOT NULL DEFAULT 0,"
     " last_used_at BIGINT NOT NULL DEFAULT 0, revoked_at BIGINT NOT NULL DEFAULT 0);"
     "CREATE UNIQUE INDEX api_tokens_token_id ON api_tokens(token_id);"
     "CREATE TABLE enroll_tokens (hash BYTEA PRIMARY KEY,"
     " vendor_id BIGINT NOT NULL REFERENCES vendors(id), expires_at BIGINT NOT NULL,"
     " used_at BIGINT);"
     "CREATE TABLE challenges (id TEXT PRIMARY KEY,"
     " vendor_id BIGINT NOT NULL REFERENCES vendors(id), secret BYTEA NOT NULL,"
     " ek_public BYTEA NOT NULL, ak_public BYTEA NOT NULL, ek_name TEXT NOT NULL,"
     " ak_name TEXT NOT NULL, host_json TEXT NOT NULL, expires_at BIGINT NOT NULL,"
     " ek_trust TEXT NOT NULL DEFAULT 'manufacturer_chain');"
     "CREATE TABLE agents (id TEXT PRIMARY KEY, vendor_id BIGINT NOT NULL REFERENCES vendors(id),"
     " ek_name TEXT NOT NULL UNIQUE, ak_name TEXT NOT NULL, ak_public BYTEA NOT NULL,"
     " sk_public BYTEA, host_json TEXT NOT NULL, revoked BIGINT NOT NULL DEFAULT 0,"
     " created_at BIGINT NOT NULL, last_verified_at BIGINT NOT NULL DEFAULT 0,"
     " last_compliant BIGINT NOT NULL DEFAULT 0, last_report_id TEXT,"
     " reset_count BIGINT NOT NULL DEFAULT 0, restart_count BIGINT NOT NULL DEFAULT 0,"
     " clock BIGINT NOT NULL DEFAULT 0, firmware_version BIGINT NOT NULL DEFAULT 0,"
     " stale_marked BIGINT NOT NULL DEFAULT 0,"
     " ek_trust TEXT NOT NULL DEFAULT 'manufacturer_chain');"
     "CREATE INDEX agents_vendor ON agents(vendor_id);"
     "CREATE TABLE identity_events (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     " agent_id TEXT NOT NULL REFERENCES agents(id), at BIGINT NOT NULL,"
     " ak_public BYTEA NOT NULL, ak_name TEXT NOT NULL, detail TEXT NOT NULL,"
     " resolved BIGINT NOT NULL DEFAULT 0);"
     "CREATE TABLE reports (id TEXT PRIMARY KEY, agent_id TEXT NOT NULL REFERENCES agents(id),"
     " nonce_hash BYTEA NOT NULL, evidence_sha256 TEXT NOT NULL, evidence_json TEXT NOT NULL,"
     " verdict_json TEXT NOT NULL, transcript_json TEXT NOT NULL,"
     " receipt_json TEXT NOT NULL, compliant BIGINT NOT NULL, received_at BIGINT NOT NULL,"
     " reset_count BIGINT NOT NULL, restart_count BIGINT NOT NULL, clock BIGINT NOT NULL,"
     " firmware_version BIGINT NOT NULL, inventory_sha256 TEXT NOT NULL);"
     "CREATE INDEX reports_agent ON reports(agent_id, received_at);"
     "CREATE TABLE nonces_used (agent_id TEXT NOT NULL, hash BYTEA NOT NULL,"
     " expires_at BIGINT NOT NULL, report_id TEXT NOT NULL, PRIMARY KEY (agent_id, hash));"
     "CREATE TABLE audit_log (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     " at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL,"
     " code TEXT NOT NULL, detail TEXT NOT NULL);"
     "CREATE INDEX audit_action ON audit_log(action);"
     "CREATE INDEX audit_at ON audit_log(at);"
     "CREATE TABLE inventory_digests (sha256 TEXT PRIMARY KEY, first_seen BIGINT NOT NULL);"
     "CREATE TABLE policies (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     " json TEXT NOT NULL, sha256 TEXT NOT NULL, actor TEXT NOT NULL,"
     " created_at BIGINT NOT NULL);"
     "CREATE TABLE readiness_probe (id BIGINT PRIMARY KEY, at BIGINT NOT NULL);"
     "CREATE TABLE pending_seen (agent_id TEXT NOT NULL REFERENCES agents(id),"
     " name TEXT NOT NULL, arch TEXT NOT NULL, candidate TEXT NOT NULL,"
     " first_seen BIGINT NOT NULL, PRIMARY KEY (agent_id, name, arch, candidate));"
     "CREATE TABLE boot_references (agent_id TEXT PRIMARY KEY REFERENCES agents(id),"
     " report_id TEXT NOT NULL, state_json TEXT NOT NULL, recorded_at BIGINT NOT NULL);"
     "CREATE TABLE boot_changes (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     " agent_id TEXT NOT NULL REFERENCES agents(id), report_id TEXT NOT NULL,"
     " at BIGINT NOT NULL, what TEXT NOT NULL, reference_json TEXT NOT NULL,"
     " now_json TEXT NOT NULL);"
     "CREATE INDEX boot_changes_agent ON boot_changes(agent_id, id);"
     "CREATE TABLE boot_pins (vendor_id BIGINT NOT NULL REFERENCES vendors(id),"
     " digest TEXT NOT NULL, what TEXT NOT NULL, actor TEXT NOT NULL,"
     " created_at BIGINT NOT NULL, PRIMARY KEY (vendor_id, digest));"
     "CREATE TABLE ima_state (agent_id TEXT PRIMARY KEY REFERENCES agents(id),"
     " reset_count BIGINT NOT NULL, entries BIGINT NOT NULL, banks BIGINT NOT NULL,"
     " sha1 BYTEA NOT NULL, sha256 BYTEA NOT NULL, kept_json TEXT NOT NULL);"
     "CREATE TABLE enrollments (id TEXT PRIMARY KEY,"
     " vendor_id BIGINT NOT NULL REFERENCES vendors(id), ek_public BYTEA NOT NULL,"
     " ak_public BYTEA NOT NULL, ek_name TEXT NOT NULL, ak_name TEXT NOT NULL,"
     " ek_sha256 TEXT NOT NULL, host_json TEXT NOT NULL, state TEXT NOT NULL,"
     " created_at BIGINT NOT NULL, decided_at BIGINT NOT NULL DEFAULT 0,"
     " decided_by TEXT NOT NULL DEFAULT '');"
     "CREATE INDEX enrollments_state ON enrollments(state, created_at);"
     "CREATE TABLE webhooks (id TEXT PRIMARY KEY, url TEXT NOT NULL, secret TEXT NOT NULL,"
     " events TEXT NOT NULL, created_at BIGINT NOT NULL);"
     "CREATE TABLE webhook_deliveries (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     " webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,"
     " event TEXT NOT NULL, body TEXT NOT NULL, created_at BIGINT NOT NULL,"
     " state TEXT NOT NULL, attempts BIGINT NOT NULL, next_at BIGINT NOT NULL);"
     "CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_at);"
     "CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, id);"
     "CREATE TABLE webhook_attempts (delivery_id BIGINT NOT NULL"
     " REFERENCES webhook_deliveries(id) ON DELETE CASCADE, n BIGINT NOT NULL,"
     " at BIGINT NOT NULL, status BIGINT NOT NULL, error TEXT NOT NULL,"
     " PRIMARY KEY (delivery_id, n));"
     /* No foreign key to reports here: under SERIALIZABLE the key's
      * check takes a predicate lock on the newest page of the reports
      * index, where every concurrent report inserts its time-ordered
      * id, and nearly every pair of reports would then be aborted as
      * a conflict. The body is written in its report's transaction. */
     "CREATE TABLE report_bodies (report_id TEXT PRIMARY KEY, body TEXT NOT NULL);"},
    /* 9: the issuer, serial and root of each EK certificate (NULL: none,
     * or enrolled before they were kept), as in store_sqlite.c */
    {9, "ALTER TABLE agents ADD COLUMN ek_issuer TEXT;"
        "ALTER TABLE agents ADD COLUMN ek_serial TEXT;"
        "ALTER TABLE agents ADD COLUMN ek_root TEXT;"
        "ALTER TABLE challenges ADD COLUMN ek_issuer TEXT;"
        "ALTER TABLE challenges ADD COLUMN ek_serial TEXT;"
        "ALTER TABLE challenges ADD COLUMN ek_root TEXT;"},
    /* 10: compact reports (store_pack.c): large evidence areas, body
     * members and verdicts once per agent under their SHA-256, the rest as
     * a record against the agent's base record; the retention sweep's
     * columns */
    {10, "ALTER TABLE reports ADD COLUMN format BIGINT NOT NULL DEFAULT 0;"
         "ALTER TABLE reports ADD COLUMN packed BYTEA;"
         "ALTER TABLE reports ADD COLUMN verdict_sha256 BYTEA;"
         "ALTER TABLE reports ADD COLUMN pack_base BYTEA;"
         "ALTER TABLE reports ADD COLUMN evidence_digest BYTEA;"
         "ALTER TABLE reports ADD COLUMN pruned_at BIGINT NOT NULL DEFAULT 0;"
         "ALTER TABLE agents ADD COLUMN pack_base BYTEA;"
         "ALTER TABLE agents ADD COLUMN pruned_through BIGINT NOT NULL DEFAULT 0;"
         "CREATE TABLE blobs (agent_id TEXT NOT NULL REFERENCES agents(id),"
         " sha256 BYTEA NOT NULL, kind BIGINT NOT NULL, size BIGINT NOT NULL,"
         " data BYTEA NOT NULL, last_used_at BIGINT NOT NULL, PRIMARY KEY (agent_id, sha256));"
         "CREATE INDEX blobs_used ON blobs(last_used_at);"},
    /* 11: the agent list and the vendor view in (created_at, id) order from
     * an index, as in store_sqlite.c */
    {11, "CREATE INDEX IF NOT EXISTS agents_created ON agents(created_at, id);"
         "CREATE INDEX IF NOT EXISTS agents_vendor_created ON agents(vendor_id, created_at, id);"},
    /* 12: the fleet summary kept on write (server/store_fleet.c), as in
     * store_sqlite.c */
    {12,
     "DROP TABLE IF EXISTS fleet_current; DROP TABLE IF EXISTS fleet_shapes;"
     "DROP TABLE IF EXISTS fleet_counts; DROP TABLE IF EXISTS fleet_changes;"
     "CREATE TABLE fleet_current (agent_id TEXT PRIMARY KEY, vendor_id BIGINT NOT NULL,"
     " created_at BIGINT NOT NULL, fresh_at BIGINT NOT NULL, revoked BIGINT NOT NULL,"
     " state BIGINT NOT NULL, shape TEXT NOT NULL, report_id TEXT, filled BIGINT NOT NULL);"
     "CREATE INDEX fleet_current_fresh ON fleet_current(fresh_at) WHERE revoked = 0;"
     "CREATE INDEX fleet_current_shape ON fleet_current(shape, created_at, agent_id)"
     " WHERE revoked = 0;"
     "CREATE INDEX fleet_current_vendor_shape ON fleet_current(vendor_id, shape, created_at,"
     " agent_id) WHERE revoked = 0;"
     "CREATE TABLE fleet_shapes (digest TEXT PRIMARY KEY, shape TEXT NOT NULL);"
     "CREATE TABLE fleet_counts (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     " vendor_id BIGINT NOT NULL, state BIGINT NOT NULL, shape TEXT NOT NULL, n BIGINT NOT NULL);"
     "CREATE TABLE fleet_changes (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     " at BIGINT NOT NULL,"
     " vendor_id BIGINT NOT NULL, agent_id TEXT NOT NULL, report_id TEXT NOT NULL,"
     " seq BIGINT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, from_v TEXT,"
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
     " CASE WHEN revoked = 1 THEN 3 ELSE state END;"},
    /* 13: when an agent's reports stopped listing a pending upgrade, and
     * audit events by agent, as in store_sqlite.c */
    {13, "ALTER TABLE pending_seen ADD COLUMN IF NOT EXISTS gone_at BIGINT NOT NULL DEFAULT 0;"
         "CREATE INDEX IF NOT EXISTS pending_seen_gone ON pending_seen(gone_at)"
         " WHERE gone_at <> 0;"
         "CREATE INDEX IF NOT EXISTS audit_subject_action ON audit_log(subject, action, at);"},
};

#define PG_SCHEMA_LATEST 13
#define PG_MIGRATIONS    (sizeof(pg_migrations) / sizeof(pg_migrations[0]))

static int one_int(struct pg_conn *c, const char *sql, int64_t *out)
{
    PGresult *r = PQexec(c->pq, sql);
    int rc = 0;

    *out = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        rc = result_err(c, r, sql);
    else if (!PQgetisnull(r, 0, 0))
        *out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return rc;
}

/* One transaction: the advisory lock first, so that an instance starting at
 * the same time waits here and then finds the schema migrated. Every
 * version not yet recorded is applied, in order (as the SQLite engine
 * does), so a version whose migration arrives after a higher one is
 * applied when it arrives. */
static int migrate(struct pg_conn *c)
{
    char sql[160];
    int64_t newest = 0;
    int rc;

    rc = simple(c, "BEGIN");
    if (rc == 0) {
        snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%lld)",
                 (long long)PG_LOCK_MIGRATE);
        rc = simple(c, sql);
    }
    if (rc == 0)
        rc = simple(c, "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)");
    if (rc == 0)
        rc = one_int(c, "SELECT coalesce(max(version), 0) FROM schema_version", &newest);
    if (rc == 0 && newest > PG_SCHEMA_LATEST) {
        da_error_f("database schema %lld is newer than this server (%d)", (long long)newest,
                   PG_SCHEMA_LATEST);
        rc = DA_ERR_STORE;
    }
    for (size_t i = 0; rc == 0 && i < PG_MIGRATIONS; i++) {
        int64_t have = 0;

        snprintf(sql, sizeof(sql), "SELECT count(*) FROM schema_version WHERE version = %d",
                 pg_migrations[i].version);
        rc = one_int(c, sql, &have);
        if (rc != 0 || have > 0)
            continue;
        rc = simple(c, pg_migrations[i].sql);
        snprintf(sql, sizeof(sql), "INSERT INTO schema_version (version) VALUES (%d)",
                 pg_migrations[i].version);
        if (rc == 0)
            rc = simple(c, sql);
        if (rc == 0)
            da_info_f("database migrated to schema version %d", pg_migrations[i].version);
    }
    if (rc == 0)
        rc = simple(c, "COMMIT");
    else
        simple(c, "ROLLBACK");
    return rc;
}

/* ---- open / close ---- */

static void pg_close(struct srv_engine *e)
{
    if (e == NULL)
        return;
    for (unsigned i = 0; e->conn != NULL && i < e->n; i++) {
        prep_forget_all(&e->conn[i]);
        PQfinish(e->conn[i].pq);
    }
    PQfinish(e->lease_pq);
    free(e->conn);
    free(e->busy);
    if (e->uri != NULL)
        OPENSSL_cleanse(e->uri, strlen(e->uri)); /* it may carry a password */
    free(e->uri);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    pthread_mutex_destroy(&e->lmu);
    free(e);
}

static int pg_open(const char *target, unsigned connections, struct srv_engine **out)
{
    struct srv_engine *e;
    int rc = 0;

    *out = NULL;
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return DA_ERR_NOMEM;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    pthread_mutex_init(&e->lmu, NULL);
    e->n = connections > 0 ? connections : PG_CONNS_DEFAULT;
    e->uri = strdup(target);
    e->conn = calloc(e->n, sizeof(*e->conn));
    e->busy = calloc(e->n, sizeof(*e->busy));
    if (e->uri == NULL || e->conn == NULL || e->busy == NULL)
        rc = DA_ERR_NOMEM;
    for (unsigned i = 0; rc == 0 && i < e->n; i++) {
        e->conn[i].base.ops = &srv_engine_pg;
        rc = conn_open(target, &e->conn[i].pq);
        if (rc == 0)
            rc = conn_setup(&e->conn[i]);
        if (rc == 0 && i == 0)
            rc = migrate(&e->conn[0]);
    }
    if (rc != 0) {
        pg_close(e);
        return rc;
    }
    *out = e;
    return 0;
}

/* ---- integrity ---- */

/* amcheck, when the extension is installed or can be created here (its
 * absence is logged, not an error): bt_index_check with heapallindexed
 * (the index is well formed and every heap tuple has its entry) on every
 * B-tree index of the schema, and verify_heapam (PostgreSQL 14 and newer:
 * every page and tuple of the tables is well formed), which must report
 * nothing. PostgreSQL enforces the foreign keys itself. */
static int pg_integrity_check(struct srv_engine *e)
{
    static const char check[] =
        "SELECT c.relname, bt_index_check(c.oid, true) FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE am.amname = 'btree' AND n.nspname = current_schema()";
    static const char heap_check[] =
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,"
        " LATERAL verify_heapam(c.oid) v WHERE c.relkind = 'r' AND n.nspname = current_schema()";
    int slot, rc = 0;
    int64_t have = 0, heap = 0;
    struct pg_conn *c = conn_get(e, &slot);
    PGresult *r;

    rc = one_int(c, "SELECT count(*) FROM pg_extension WHERE extname = 'amcheck'", &have);
    if (rc == 0 && have == 0) {
        r = PQexec(c->pq, "CREATE EXTENSION IF NOT EXISTS amcheck");
        have = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!have)
            da_warn_f("postgresql: amcheck is not available (%s); indexes not checked",
                      PQresultErrorMessage(r));
        PQclear(r);
    }
    if (rc == 0 && have) {
        r = PQexec(c->pq, check);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            rc = result_err(c, r, "amcheck");
        PQclear(r);
    }
    if (rc == 0 && have)
        rc = one_int(c, "SELECT count(*) FROM pg_proc WHERE proname = 'verify_heapam'", &heap);
    if (rc == 0 && heap > 0) {
        int64_t bad = 0;

        rc = one_int(c, heap_check, &bad);
        if (rc == 0 && bad != 0) {
            da_error_f("postgresql: verify_heapam found %lld damaged tuples", (long long)bad);
            rc = DA_ERR_STORE;
        }
    }
    conn_put(e, slot);
    return rc;
}

/* ---- one worker at a time across instances ---- */

/* Whether this instance holds the lease of kind: a session advisory lock
 * on a connection kept for it. The lock goes with the connection, so an
 * instance that dies or loses its connection frees the lease for another;
 * an instance that holds it keeps it. */
static int pg_lease(struct srv_engine *e, unsigned kind, bool *held)
{
    char sql[96];
    int rc = 0;

    *held = false;
    if (kind >= sizeof(e->held) / sizeof(e->held[0]))
        return DA_ERR_INVALID_ARG;
    pthread_mutex_lock(&e->lmu);
    if (e->lease_pq != NULL && PQstatus(e->lease_pq) != CONNECTION_OK) {
        PQfinish(e->lease_pq);
        e->lease_pq = NULL;
        memset(e->held, 0, sizeof(e->held));
    }
    if (e->lease_pq == NULL) {
        rc = conn_open(e->uri, &e->lease_pq);
        /* A holder whose machine vanishes must not keep the lease for the
         * hours of TCP's default keepalive: the server side of this
         * connection gives up after about a minute of silence. */
        if (rc == 0) {
            PGresult *r = PQexec(e->lease_pq, "SET tcp_keepalives_idle = 30;"
                                              " SET tcp_keepalives_interval = 10;"
                                              " SET tcp_keepalives_count = 3");

            PQclear(r);
        }
    }
    if (rc == 0 && !e->held[kind]) {
        PGresult *r;

        snprintf(sql, sizeof(sql), "SELECT pg_try_advisory_lock(%lld)",
                 (long long)(PG_LOCK_LEASE + (int64_t)kind));
        r = PQexec(e->lease_pq, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            e->held[kind] = PQgetvalue(r, 0, 0)[0] == 't';
        else
            rc = DA_ERR_STORE;
        PQclear(r);
    }
    *held = rc == 0 && e->held[kind];
    pthread_mutex_unlock(&e->lmu);
    return rc;
}

static int pg_bytes(struct srv_engine *e, int64_t *bytes)
{
    int slot, rc;
    struct pg_conn *c = conn_get(e, &slot);

    rc = one_int(c, "SELECT pg_database_size(current_database())", bytes);
    conn_put(e, slot);
    return rc;
}

static int pg_open_ops(const char *target, unsigned batch_max, unsigned connections,
                       struct srv_engine **out)
{
    (void)batch_max; /* PostgreSQL groups the WAL flushes of concurrent commits itself */
    return pg_open(target, connections, out);
}

const struct srv_engine_ops srv_engine_pg = {
    .name = "postgresql",
    .open = pg_open_ops,
    .close = pg_close,
    .write = pg_write,
    .write_locked = pg_write_locked,
    .for_update = " FOR UPDATE",
    .reader_get = pg_reader_get,
    .reader_put = pg_reader_put,
    .prepare = pg_prepare,
    .step = pg_step,
    .changes = pg_changes,
    .release = pg_release,
    .col_null = pg_col_null,
    .col_int64 = pg_col_int64,
    .col_text = pg_col_text,
    .col_blob = pg_col_blob,
    .integrity_check = pg_integrity_check,
    .lease = pg_lease,
    .bytes = pg_bytes,
};

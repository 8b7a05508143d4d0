/* Storage engines under store.h, and the statement runner the queries use.
 *
 * The queries (server/store.c) are written once, in SQL that SQLite and
 * PostgreSQL both accept, and run on whichever engine the configuration
 * names. An engine owns the connections, the transactions and the schema
 * (its migrations, its DDL); it knows nothing about agents or reports.
 *
 * SQL rules for the queries: parameters are written `?N` (numbered from 1,
 * a number may repeat) or `?` (the next number); an engine that needs
 * another form rewrites them (PostgreSQL: `$N`). No engine-only syntax:
 * "INSERT ... ON CONFLICT DO NOTHING" instead of "INSERT OR IGNORE",
 * "RETURNING id" instead of last_insert_rowid(), no rowid, no JSON
 * functions. Booleans are integers 0/1, times and counters BIGINT, binary
 * values blobs (BLOB in SQLite, BYTEA in PostgreSQL: the DDL is the
 * engine's). Docs: docs/internals/server-store.md.
 */
#ifndef SRV_STORE_ENGINE_H
#define SRV_STORE_ENGINE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct srv_engine; /* an engine's state: connections, threads */

/* One connection, used by one thread at a time. An engine's connection
 * struct begins with this. */
struct srv_conn {
    const struct srv_engine_ops *ops;
};

/* A statement prepared on a connection with its parameters bound, between
 * srv_prepare and srv_release. An engine's statement struct begins with
 * this. */
struct srv_stmt {
    const struct srv_engine_ops *ops;
};

/* One bound parameter. type: 't' text (NULL p binds SQL NULL), 'i' int64,
 * 'b' blob (p, n). */
struct srv_param {
    char type;
    int64_t i;
    const void *p;
    size_t n;
};

#define SRV_PARAMS_MAX 72

/* srv_step results; errors are negative DA_ERR_* codes. */
#define SRV_DONE 0
#define SRV_ROW  1

/* A write: runs inside one transaction of the engine's choosing (SQLite:
 * a savepoint of a group commit). Nonzero rolls back everything it did. */
typedef int (*srv_write_fn)(struct srv_conn *c, void *arg);

struct srv_engine_ops {
    const char *name;
    /* Open (creating and migrating to the engine's latest schema) the
     * database named by target; batch_max bounds a group commit,
     * connections the pool of an engine that keeps one (0: its default). */
    int (*open)(const char *target, unsigned batch_max, unsigned connections,
                struct srv_engine **out);
    /* Finish queued writes, stop threads, close connections. */
    void (*close)(struct srv_engine *e);
    /* Run fn as one transaction; returns once it is durable or failed
     * (then nothing of it remains). */
    int (*write)(struct srv_engine *e, srv_write_fn fn, void *arg);
    /* The same for a job that takes the row locks it relies on itself (its
     * first read of a row it depends on ends in for_update) and returns
     * DA_ERR_STORE_RETRY when a row it read is gone by the time it writes
     * it: the engine may run it at a weaker isolation (PostgreSQL: READ
     * COMMITTED, every statement sees what is committed when it starts)
     * and runs it again on DA_ERR_STORE_RETRY. NULL: write. */
    int (*write_locked)(struct srv_engine *e, srv_write_fn fn, void *arg);
    /* Appended to a SELECT to lock the rows it reads until the end of the
     * transaction (" FOR UPDATE"; "" where the engine has one writer). */
    const char *for_update;
    /* A connection for reads (no writes on it), and giving it back. */
    struct srv_conn *(*reader_get)(struct srv_engine *e, int *slot);
    void (*reader_put)(struct srv_engine *e, int slot);
    /* Prepare sql (cached per connection, found again by its text) and bind
     * n parameters. DA_ERR_STORE on failure. */
    int (*prepare)(struct srv_conn *c, const char *sql, const struct srv_param *p, unsigned n,
                   struct srv_stmt **out);
    /* Next row: SRV_ROW, SRV_DONE, or a negative DA_ERR_* (a constraint
     * violation is DA_ERR_STORE_CONFLICT). */
    int (*step)(struct srv_stmt *st);
    /* Rows changed by the statement that just reached SRV_DONE. */
    int (*changes)(struct srv_stmt *st);
    /* Done with the statement (it stays prepared for the next use). */
    void (*release)(struct srv_stmt *st);
    /* Columns of the current row, numbered from 0. col_text is NULL for SQL
     * NULL; col_blob gives NULL and 0 for NULL or empty. */
    bool (*col_null)(struct srv_stmt *st, int col);
    int64_t (*col_int64)(struct srv_stmt *st, int col);
    const char *(*col_text)(struct srv_stmt *st, int col);
    const void *(*col_blob)(struct srv_stmt *st, int col, size_t *len);
    /* The engine's own consistency check of the database: 0 when sound. */
    int (*integrity_check)(struct srv_engine *e);
    /* Whether this process holds the lease of kind (store.h, enum
     * srv_lease), taking it when it is free. NULL: one process per
     * database, which always holds every lease. */
    int (*lease)(struct srv_engine *e, unsigned kind, bool *held);
    /* Bytes the stored data occupies (SQLite: pages in use times the page
     * size; PostgreSQL: pg_database_size or the tables' sizes). */
    int (*bytes)(struct srv_engine *e, int64_t *out);
    /* Give back to the file system up to pages pages of the database's
     * free space, as one write; *left gets the free pages still kept.
     * NULL: the engine reuses free space itself (PostgreSQL: VACUUM). */
    int (*reclaim)(struct srv_engine *e, unsigned pages, int64_t *left);
};

extern const struct srv_engine_ops srv_engine_sqlite;
extern const struct srv_engine_ops srv_engine_pg; /* server/store_pg.c */

/* ---- statement runner (server/store_runner.c) ---- */

/* Prepare sql on c and bind the arguments that types lists, in order from
 * ?1: 't' const char * (NULL binds NULL), 'i' int64_t, 'b' const void *
 * then size_t. */
int srv_prepare(struct srv_conn *c, struct srv_stmt **st, const char *sql, const char *types, ...);
int srv_vprepare(struct srv_conn *c, struct srv_stmt **st, const char *sql, const char *types,
                 va_list ap);

/* Prepare sql on c and bind n parameters given as an array (a statement
 * whose parameter count is known only at run time, such as a multi-row
 * INSERT). */
int srv_prepare_params(struct srv_conn *c, struct srv_stmt **st, const char *sql,
                       const struct srv_param *p, unsigned n);

/* Run a prepared statement to completion and release it; changes (may be
 * NULL) gets the rows it changed. */
int srv_run(struct srv_stmt *st, int *changes);

/* Prepare, bind, run to completion, release. */
int srv_exec(struct srv_conn *c, int *changes, const char *sql, const char *types, ...);

/* Prepare, bind, call row for each row (a nonzero return stops the walk and
 * is returned), release. */
typedef int (*srv_row_fn)(struct srv_stmt *st, void *ctx);
int srv_each(struct srv_conn *c, srv_row_fn row, void *ctx, const char *sql, const char *types,
             ...);

/* One row, one BIGINT column: DA_ERR_NOT_FOUND when there is no row. */
int srv_one_int64(struct srv_conn *c, int64_t *out, const char *sql, const char *types, ...);

static inline int srv_step(struct srv_stmt *st)
{
    return st->ops->step(st);
}

static inline void srv_release(struct srv_stmt *st)
{
    if (st != NULL)
        st->ops->release(st);
}

static inline int64_t srv_col_int64(struct srv_stmt *st, int col)
{
    return st->ops->col_int64(st, col);
}

static inline int srv_col_int(struct srv_stmt *st, int col)
{
    return (int)st->ops->col_int64(st, col);
}

static inline bool srv_col_null(struct srv_stmt *st, int col)
{
    return st->ops->col_null(st, col);
}

static inline const char *srv_col_text(struct srv_stmt *st, int col)
{
    return st->ops->col_text(st, col);
}

static inline const void *srv_col_blob(struct srv_stmt *st, int col, size_t *len)
{
    return st->ops->col_blob(st, col, len);
}

/* Copies a blob column of exactly size bytes into dst; false (dst
 * untouched) when it is NULL or of another length. */
static inline bool srv_col_fixed(struct srv_stmt *st, int col, void *dst, size_t size)
{
    size_t n = 0;
    const void *p = st->ops->col_blob(st, col, &n);

    if (p == NULL || n != size)
        return false;
    for (size_t i = 0; i < size; i++)
        ((unsigned char *)dst)[i] = ((const unsigned char *)p)[i];
    return true;
}

/* Copies of columns: a NUL-terminated text ("" for NULL; NULL only when out
 * of memory), a bounded text, a blob (NULL and 0 for NULL or empty). */
char *srv_col_strdup(struct srv_stmt *st, int col);
void srv_col_copy(struct srv_stmt *st, int col, char *dst, size_t size);
int srv_col_blobdup(struct srv_stmt *st, int col, unsigned char **out, size_t *len);

#endif

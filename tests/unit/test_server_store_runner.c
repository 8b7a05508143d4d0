/* Statements sent without waiting (srv_exec_later) on a real engine: what a
 * write defers is visible to its own later reads, is committed with it, and
 * a deferred failure is the write's failure wherever it surfaces (at the
 * next statement or at the commit), with nothing of the write kept and
 * the connection still usable. The same tests run on an SQLite file and,
 * with DA_TEST_STORE=postgresql, on a database of the test PostgreSQL
 * cluster, whose engine sends deferred statements in pipeline mode. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "pg_test.h"
#include "store_engine.h"
#include "tmp_tree.h"
#include "picky.h"

struct fixture {
    char dir[64];
    char path[1024];
    const struct srv_engine_ops *ops;
    struct srv_engine *e;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL || da_test_tmpdir("da-runner", f->dir, sizeof(f->dir)) != 0)
        return -1;
    if (da_test_store_target(f->dir, "t.db", f->path, sizeof(f->path)) != 0)
        return -1;
    f->ops = da_test_store_is_pg() ? &srv_engine_pg : &srv_engine_sqlite;
    /* one connection: every job below runs on the same one */
    if (f->ops->open(f->path, 8, 1, &f->e) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    f->ops->close(f->e);
    if (da_test_store_target_drop(f->path) != 0 || da_test_rmtree(f->dir) != 0)
        return -1;
    free(f);
    return 0;
}

static int run(struct fixture *f, srv_write_fn fn, void *arg)
{
    return f->ops->write_locked != NULL ? f->ops->write_locked(f->e, fn, arg)
                                        : f->ops->write(f->e, fn, arg);
}

/* How many vendors have this name, read on a reader connection. */
static int64_t vendors_named(struct fixture *f, const char *name)
{
    int slot;
    int64_t n = -1;
    struct srv_conn *c = f->ops->reader_get(f->e, &slot);

    assert_int_equal(
        srv_one_int64(c, &n, "SELECT count(*) FROM vendors WHERE name = ?1", "t", name), 0);
    f->ops->reader_put(f->e, slot);
    return n;
}

static int add_vendor(struct srv_conn *c, const char *name, int fail)
{
    return srv_exec_later(c, 1, fail, "INSERT INTO vendors (name, created_at) VALUES (?1, 5)", "t",
                          name);
}

/* Deferred inserts, then a read in the same write that sees them. */
static int job_defer_then_read(struct srv_conn *c, void *arg)
{
    int64_t *seen = arg;
    int rc = add_vendor(c, "v1", 0);

    if (rc == 0)
        rc = add_vendor(c, "v2", 0);
    if (rc == 0)
        rc = srv_one_int64(c, seen, "SELECT count(*) FROM vendors WHERE name IN ('v1', 'v2')", "");
    if (rc == 0) /* and one more, committed with the write */
        rc = add_vendor(c, "v3", 0);
    return rc;
}

static void test_deferred_visible_and_committed(void **state)
{
    struct fixture *f = *state;
    int64_t seen = 0;

    assert_int_equal(run(f, job_defer_then_read, &seen), 0);
    assert_int_equal(seen, 2);
    assert_int_equal(vendors_named(f, "v1"), 1);
    assert_int_equal(vendors_named(f, "v2"), 1);
    assert_int_equal(vendors_named(f, "v3"), 1);
}

/* The last statement of the write fails: the commit reports it with the
 * caller's code, and the statements before it are rolled back. */
static int job_fail_last(struct srv_conn *c, void *arg)
{
    int rc = add_vendor(c, "w1", 0);

    (void)arg;
    if (rc == 0) /* a name that exists: a constraint violation */
        rc = add_vendor(c, "v1", DA_ERR_VERIFY_NONCE_REPLAY);
    return rc;
}

/* A deferred failure surfaces at the next read, as the read's result. */
static int job_fail_then_read(struct srv_conn *c, void *arg)
{
    int64_t n = 0;
    int rc = add_vendor(c, "v1", DA_ERR_VERIFY_NONCE_REPLAY);

    (void)arg;
    if (rc == 0)
        rc = add_vendor(c, "w2", 0);
    if (rc == 0)
        rc = srv_one_int64(c, &n, "SELECT count(*) FROM vendors", "");
    return rc;
}

/* expect: an UPDATE that changes no row is the caller's failure. */
static int job_expect(struct srv_conn *c, void *arg)
{
    int rc = add_vendor(c, "w3", 0);

    (void)arg;
    if (rc == 0)
        rc = srv_exec_later(c, 1, DA_ERR_STORE_CONFLICT,
                            "UPDATE vendors SET created_at = 6 WHERE name = ?1", "t", "nobody");
    return rc;
}

/* A statement first prepared behind a failure (its preparation never ran),
 * then used by the next write on the same connection. */
static int job_new_statement_behind_failure(struct srv_conn *c, void *arg)
{
    int rc = add_vendor(c, "v1", DA_ERR_STORE_CONFLICT);

    (void)arg;
    if (rc == 0)
        rc = srv_exec_later(c, -1, 0,
                            "INSERT INTO vendors (name, created_at) VALUES (?1, 7)"
                            " ON CONFLICT DO NOTHING",
                            "t", "w4");
    return rc;
}

static int job_new_statement(struct srv_conn *c, void *arg)
{
    (void)arg;
    return srv_exec_later(c, 1, 0,
                          "INSERT INTO vendors (name, created_at) VALUES (?1, 7)"
                          " ON CONFLICT DO NOTHING",
                          "t", "w4");
}

static void test_deferred_failures(void **state)
{
    struct fixture *f = *state;
    int64_t seen = 0;

    assert_int_equal(run(f, job_defer_then_read, &seen), 0);
    assert_int_equal(run(f, job_fail_last, NULL), DA_ERR_VERIFY_NONCE_REPLAY);
    assert_int_equal(vendors_named(f, "w1"), 0);
    assert_int_equal(run(f, job_fail_then_read, NULL), DA_ERR_VERIFY_NONCE_REPLAY);
    assert_int_equal(vendors_named(f, "w2"), 0);
    assert_int_equal(run(f, job_expect, NULL), DA_ERR_STORE_CONFLICT);
    assert_int_equal(vendors_named(f, "w3"), 0);
    assert_int_equal(run(f, job_new_statement_behind_failure, NULL), DA_ERR_STORE_CONFLICT);
    assert_int_equal(vendors_named(f, "w4"), 0);
    /* the connection works on: the statement is prepared again */
    assert_int_equal(run(f, job_new_statement, NULL), 0);
    assert_int_equal(vendors_named(f, "w4"), 1);
    assert_int_equal(vendors_named(f, "v1"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_deferred_visible_and_committed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_failures, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

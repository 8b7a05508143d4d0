/* Databases in the tests' throwaway PostgreSQL cluster (tests/support/
 * pg-cluster, started by the ctest fixture da_pg or by scripts/test).
 *
 * Each test makes its own database, so tests run side by side; databases
 * are dropped when the test ends (da_test_pg_drop, or at exit for those a
 * failed test left). The store tests run against either backend: with
 * DA_TEST_STORE=postgresql their store is a fresh database of the cluster,
 * else an SQLite file in a temporary directory. */
#ifndef DA_PG_TEST_H
#define DA_PG_TEST_H

#include <stdbool.h>
#include <stddef.h>

/* Whether this run's store tests use PostgreSQL (DA_TEST_STORE). */
bool da_test_store_is_pg(void);
/* The store for a test: dir/name as an SQLite file, or a new PostgreSQL
 * database's URI. 0 or -1. */
int da_test_store_target(const char *dir, const char *name, char *out, size_t n);
/* Drop the database of a target made by da_test_store_target (nothing for
 * an SQLite file, which goes with its directory). 0 or -1. */
int da_test_store_target_drop(const char *target);

/* The cluster's URI (a superuser, database postgres): DA_TEST_PG, else the
 * file the fixture wrote. 0, or -1 when no cluster runs. */
int da_test_pg_base(char *out, size_t n);
/* A new, empty database; its URI into out. 0 or -1. */
int da_test_pg_create(char *out, size_t n);
/* Drop a database made by da_test_pg_create (connections to it are
 * ended). 0 or -1. */
int da_test_pg_drop(const char *uri);
/* Run sql (one or more statements) on the database of uri. When out is
 * not NULL, the rows of the last statement are written there as text, each
 * value followed by '|' ("NULL" for NULL). 0 or -1 (the error is printed). */
int da_test_pg_exec(const char *uri, const char *sql, char *out, size_t size);

#endif

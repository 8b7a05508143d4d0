/* The content of a SQLite database as one digest: every row of every table,
 * read through SQLite itself, so a test can show that a refused request
 * changed nothing. fleet_counts counts by its sums per group: the server's
 * sweep folds its signed deltas at any time and keeps the sums. */
#ifndef DA_TEST_DB_DIGEST_H
#define DA_TEST_DB_DIGEST_H

/* Hex SHA-256 of the rows of all tables into out. 0 or -1. */
int da_test_db_digest(const char *path, char out[65]);

#endif

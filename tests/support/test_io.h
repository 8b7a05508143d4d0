/* Small file and shell helpers that many tests need. Each one fails the
 * running cmocka test (assert) when the file system or the shell does not
 * do what was asked, so a test never goes on with a half-read file. */
#ifndef DA_TEST_IO_H
#define DA_TEST_IO_H

#include <stddef.h>

/* Run a shell command made from fmt; its stdout (up to size - 1 bytes,
 * NUL-terminated) into out, or read and dropped when out is NULL. The
 * command's exit status, or -1 when it did not exit normally. */
int da_test_sh(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The whole file at path, NUL-terminated (the NUL not counted in *len,
 * which may be NULL). The caller frees it. */
char *da_test_slurp(const char *path, size_t *len);
/* Write len bytes of data to path, replacing it. */
void da_test_spill(const char *path, const void *data, size_t len);
/* How many times needle occurs in hay, not overlapping. */
int da_test_count(const char *hay, const char *needle);

#endif

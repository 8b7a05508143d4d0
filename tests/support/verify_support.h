/* Small helpers for the verification-core tests: files and child processes. */
#ifndef DA_VERIFY_SUPPORT_H
#define DA_VERIFY_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/* Read a whole file (at most 1 MiB) into a malloc'd buffer. 0 or -1. */
int vs_read_file(const char *path, uint8_t **data, size_t *len);
/* Write len bytes to path. 0 or -1. */
int vs_write_file(const char *path, const void *data, size_t len);
/* Run argv (argv[0] is a path) and wait; its exit status, or -1. */
int vs_run(const char *const *argv);
/* Run tests/integration/verify-tpm-fixture with up to 8 arguments
 * (NULL-terminated). Its exit status, or -1. */
int vs_fixture(const char *arg, ...) __attribute__((sentinel));
/* Lowercase hex of len bytes into out (2 * len + 1 bytes). */
void vs_hex(const uint8_t *p, size_t len, char *out);
/* "dir/name" into a static rotating buffer (valid for 8 further calls). */
const char *vs_path(const char *dir, const char *name);

#endif

/* Temporary directory trees for tests: create a directory, write files into
 * it (parents made as needed) and remove the whole tree afterwards, without
 * shelling out. Failures abort the test through cmocka's assertions. */
#ifndef DA_TEST_TMPTREE_H
#define DA_TEST_TMPTREE_H

#include <stddef.h>

/* mkdtemp under $TMPDIR (or /tmp) with the given name prefix into out. */
void da_tmptree_make(const char *prefix, char *out, size_t n);
/* Write text to dir/rel (rel starts with '/'), creating its parents. */
void da_tmptree_write(const char *dir, const char *rel, const char *text);
/* mkdir -p dir/rel. */
void da_tmptree_mkdir(const char *dir, const char *rel);
/* Remove dir and everything below it (symlinks are removed, not followed). */
void da_tmptree_remove(const char *dir);

#endif

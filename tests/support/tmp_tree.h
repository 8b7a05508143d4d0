/* Temporary trees and helper processes that a test makes, removed when the
 * test process ends however its tests went.
 *
 * Trees are made under $TMPDIR (ctest sets it to <build>/test-tmp for every
 * test; /tmp otherwise). Each tree and process is recorded; at exit of the
 * process that made them (a failed cmocka test included), and on a fatal
 * signal, recorded processes are killed and recorded trees removed. A child
 * forked by a test does not clean its parent's records. What a test killed
 * by SIGKILL leaves is found by the suite's last step (tests/tmp-check). */
#ifndef DA_TMP_TREE_H
#define DA_TMP_TREE_H

#include <stddef.h>
#include <sys/types.h>

/* Make $TMPDIR/<prefix>-XXXXXX (mode 0700) into out and record it. 0 or -1. */
int da_test_tmpdir(const char *prefix, char *out, size_t n);
/* Remove a tree (no symlink is followed) and forget it. 0 or -1; a missing
 * path is 0. */
int da_test_rmtree(const char *path);
/* Write text to dir/rel, making the parent directories. 0 or -1. */
int da_test_write(const char *dir, const char *rel, const char *text);
/* Make the symlink dir/rel -> target, making the parent directories. 0 or -1. */
int da_test_symlink(const char *dir, const char *rel, const char *target);
/* Record a process to be killed (SIGKILL) and reaped at exit. */
void da_test_track_pid(pid_t pid);
/* In a child just forked by a test (before exec): die with SIGKILL when
 * the test process ends, however it ends. */
void da_test_die_with_parent(void);
/* Forget a process the test has ended itself. */
void da_test_untrack_pid(pid_t pid);
/* Kill every recorded process and remove every recorded tree now (a cmocka
 * group teardown may call it). */
void da_test_cleanup(void);

#endif

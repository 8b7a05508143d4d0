/* Temporary directory trees for tests (see tmptree.h). */
#define _XOPEN_SOURCE 700
#include "tmptree.h"

#include "da_test.h"
#include "tmp_tree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Made and removed through tmp_tree.h, so that a test that fails before
 * its own removal still leaves nothing behind. */
void da_tmptree_make(const char *prefix, char *out, size_t n)
{
    assert_int_equal(da_test_tmpdir(prefix, out, n), 0);
}

void da_tmptree_mkdir(const char *dir, const char *rel)
{
    char path[4096];
    size_t i, base = strlen(dir);

    assert_true((size_t)snprintf(path, sizeof(path), "%s%s", dir, rel) < sizeof(path));
    for (i = base + 1; path[i] != '\0'; i++) {
        if (path[i] != '/')
            continue;
        path[i] = '\0';
        assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
        path[i] = '/';
    }
    assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

void da_tmptree_write(const char *dir, const char *rel, const char *text)
{
    char path[4096], parent[4096];
    char *slash;
    FILE *f;

    assert_true((size_t)snprintf(path, sizeof(path), "%s%s", dir, rel) < sizeof(path));
    snprintf(parent, sizeof(parent), "%s", rel);
    slash = strrchr(parent, '/');
    if (slash != NULL && slash != parent) {
        *slash = '\0';
        da_tmptree_mkdir(dir, parent);
    }
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

void da_tmptree_remove(const char *dir)
{
    assert_int_equal(da_test_rmtree(dir), 0);
}

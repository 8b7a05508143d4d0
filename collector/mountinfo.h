/* /proc/self/mountinfo and /proc/swaps parsing (outside input: strict,
 * capped, fuzzed by tests/fuzz/fuzz_mountinfo.c). */
#ifndef COL_MOUNTINFO_H
#define COL_MOUNTINFO_H

#include <stddef.h>

#define COL_MAX_MOUNTS 65536

struct col_mount {
    unsigned id, parent, major, minor;
    char *root;
    char *mountpoint;
    char *fstype;
    char *source;
};

struct col_mounts {
    struct col_mount *v;
    size_t n;
};

/* Parse mountinfo text (octal escapes decoded). DA_ERR_COLLECT_PARSE for a
 * line that is not one mount, DA_ERR_TOO_LARGE past COL_MAX_MOUNTS. */
int col_mountinfo_parse(const char *p, size_t n, struct col_mounts *out);
void col_mounts_free(struct col_mounts *m);
/* The mount that holds path: longest mountpoint prefix, latest mount wins. */
const struct col_mount *col_mounts_find(const struct col_mounts *m, const char *path);

#endif

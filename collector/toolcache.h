/* The toolchain hash cache: one entry per file, keyed by (device, inode,
 * size, mtime, ctime) so that an unchanged file is not read again. The file
 * lives in the state directory and is parsed strictly (fuzzed by
 * tests/fuzz/fuzz_toolcache.c). */
#ifndef COL_TOOLCACHE_H
#define COL_TOOLCACHE_H

#include <stddef.h>
#include <stdint.h>

#define COL_TOOLCACHE_MAX 1024

struct col_toolcache_entry {
    uint64_t dev, ino, size;
    int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
    char sha256[65];
    char md5[33];
};

/* Owner of a real path according to dpkg; package "-" when none. */
struct col_toolcache_owner {
    char package[256];
    char version[256];    /* the package version ("-" when unowned) */
    char path[1024];      /* the real path looked up */
    char dpkg_path[1024]; /* the name dpkg records ("" when none) */
};

struct col_toolcache {
    struct col_toolcache_entry *v;
    size_t n;
    char dpkg_key[256]; /* state of dpkg's database the owners belong to */
    struct col_toolcache_owner *o;
    size_t n_owners;
};

int col_toolcache_parse(const char *p, size_t n, struct col_toolcache *out);
/* Text form; *out is malloc'd. */
int col_toolcache_format(const struct col_toolcache *c, char **out, size_t *out_len);
const struct col_toolcache_entry *col_toolcache_find(const struct col_toolcache *c,
                                                     const struct col_toolcache_entry *key);
int col_toolcache_put(struct col_toolcache *c, const struct col_toolcache_entry *e);
int col_toolcache_put_owner(struct col_toolcache *c, const struct col_toolcache_owner *o);
const struct col_toolcache_owner *col_toolcache_find_owner(const struct col_toolcache *c,
                                                           const char *path);
void col_toolcache_free(struct col_toolcache *c);

#endif

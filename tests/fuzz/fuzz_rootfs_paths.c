/* The rooted file layer's path resolution and glob on paths and patterns
 * from outside (symlink targets, sshd Include patterns), over a small tree
 * with absolute, climbing and looping links, made once in a temporary
 * directory. First byte: bit 0 selects the user-space resolver, the rest of
 * the input is one path or pattern. Whatever the input, a canonical path
 * is absolute and holds no "." or ".." component, every glob match is
 * absolute, and nothing is read outside the tree. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_target.h"
#include "buf.h"
#include "err.h"
#include "rootfs.h"

static char fz_root[64];
static struct da_rootfs *fz_fs[2];

static void fz_cleanup(void)
{
    static const char *const files[] = {"/etc/ssh/d/x.conf", "/a/up",  "/a/abs", "/loop", "/a/b/c",
                                        "/a/b/c2",           "/escape"};
    static const char *const dirs[] = {"/etc/ssh/d", "/etc/ssh", "/etc", "/a/b", "/a", ""};
    char p[256];
    size_t i;

    da_rootfs_free(fz_fs[0]);
    da_rootfs_free(fz_fs[1]);
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", fz_root, files[i]);
        unlink(p);
    }
    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", fz_root, dirs[i]);
        rmdir(p);
    }
}

static void fz_tree(void)
{
    static const char *const dirs[] = {"/a", "/a/b", "/etc", "/etc/ssh", "/etc/ssh/d"};
    static const char *const links[][2] = {
        {"/a/up", "../../../../.."}, {"/a/abs", "/etc"},  {"/loop", "loop"},
        {"/a/b/c", "../../a/b/c2"},  {"/a/b/c2", "../c"}, {"/escape", "/../../tmp"},
    };
    char p[256];
    size_t i;
    FILE *f;

    snprintf(fz_root, sizeof(fz_root), "/tmp/da-fuzz-rootfs-%ld", (long)getpid());
    mkdir(fz_root, 0755);
    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", fz_root, dirs[i]);
        mkdir(p, 0755);
    }
    for (i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", fz_root, links[i][0]);
        if (symlink(links[i][1], p) != 0)
            (void)0; /* already there */
    }
    snprintf(p, sizeof(p), "%s/etc/ssh/d/x.conf", fz_root);
    f = fopen(p, "w");
    if (f != NULL) {
        fputs("Port 22\n", f);
        fclose(f);
    }
    if (da_rootfs_open(fz_root, 0, &fz_fs[0]) != 0 ||
        da_rootfs_open(fz_root, DA_ROOTFS_USERSPACE, &fz_fs[1]) != 0)
        abort();
    atexit(fz_cleanup);
}

static void fz_check_canonical(const char *p)
{
    if (p[0] != '/' || strstr(p, "/./") != NULL || strstr(p, "/../") != NULL ||
        (strlen(p) >= 2 && strcmp(p + strlen(p) - 2, "/.") == 0) ||
        (strlen(p) >= 3 && strcmp(p + strlen(p) - 3, "/..") == 0) || strstr(p, "//") != NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[4200], out[4200];
    struct da_rootfs *fs;
    struct da_rootfs_glob g;
    struct stat st;
    struct da_buf b;
    size_t i;

    if (fz_fs[0] == NULL)
        fz_tree();
    if (size == 0 || size > 4096)
        return 0;
    fs = fz_fs[data[0] & 1];
    memcpy(path, data + 1, size - 1);
    path[size - 1] = '\0';
    if (da_rootfs_realpath(fs, path, out, sizeof(out)) == 0)
        fz_check_canonical(out);
    (void)da_rootfs_stat(fs, path, &st);
    (void)da_rootfs_lstat(fs, path, &st);
    (void)da_rootfs_readlink(fs, path, out, sizeof(out));
    da_buf_init(&b, 64);
    (void)da_rootfs_read(fs, path, &b);
    da_buf_free(&b);
    if (da_rootfs_glob(fs, path, &g) == 0) {
        for (i = 0; i < g.n; i++)
            if (g.paths[i][0] != '/')
                abort();
        da_rootfs_glob_free(&g);
    }
    return 0;
}

#include "memtrim.h"

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

struct vma {
    unsigned long start, end, inode;
    char perms[8];
    long anon_kib; /* "Anonymous:" of the mapping, -1 until read */
};

/* Executable code that was never written (no anonymous, copy-on-write pages)
 * is dropped from this process with MADV_DONTNEED: for a private file
 * mapping the next access maps the page again from the page cache.
 * Anything else file-backed (read-only data) gets MADV_PAGEOUT, which never
 * discards contents. Writable or written mappings are left alone. */
static void release(const struct vma *v)
{
    void *p = (void *)(uintptr_t)v->start;
    size_t len = v->end - v->start;

    if (v->inode == 0 || v->end <= v->start || v->perms[1] == 'w')
        return;
    if (strcmp(v->perms, "r-xp") == 0 && v->anon_kib == 0)
        (void)madvise(p, len, MADV_DONTNEED);
    else if (v->anon_kib == 0)
        (void)madvise(p, len, MADV_PAGEOUT);
}

void agent_memory_trim(void)
{
    struct vma cur = {0, 0, 0, "", -1};
    char line[512];
    FILE *f;

    (void)malloc_trim(0);
    f = fopen("/proc/self/smaps", "re");
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        struct vma next;
        long kib;

        if (sscanf(line, "%lx-%lx %7s %*s %*s %lu", &next.start, &next.end, next.perms,
                   &next.inode) == 4) {
            if (cur.end != 0)
                release(&cur);
            next.anon_kib = -1;
            cur = next;
        } else if (sscanf(line, "Anonymous: %ld kB", &kib) == 1) {
            cur.anon_kib = kib;
        }
    }
    if (cur.end != 0)
        release(&cur);
    fclose(f);
}

#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "err.h"
#include "file.h"
#include "log.h"

#define ENTRY_SUFFIX   ".entry"
#define ENTRY_NAME_LEN 26 /* 20 digits + ".entry" */
#define TMP_PREFIX     ".tmp-"
#define DROPPED_FILE   "dropped"
#define QUARANTINE_DIR "quarantine"

struct spool_item {
    uint64_t seq;
    uint64_t size;
};

struct agent_spool {
    int dirfd;
    int qfd; /* the quarantine directory, once agent_spool_keep_dirs made it */
    uint64_t max_reports;
    uint64_t max_bytes;
    struct spool_item *items; /* oldest first */
    size_t n, alloc;
    uint64_t bytes;
    uint64_t dropped;
};

/* ---- entry format ---- */

static void put_be(unsigned char *p, uint64_t v, int bytes)
{
    int i;

    for (i = bytes - 1; i >= 0; i--) {
        p[i] = (unsigned char)v;
        v >>= 8;
    }
}

static uint64_t get_be(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < bytes; i++)
        v = (v << 8) | p[i];
    return v;
}

/* SHA-256 over the 28 bytes before the digest and the payload. */
static int entry_digest(const unsigned char *head, const void *payload, size_t len,
                        unsigned char out[DA_SHA256_LEN])
{
    struct da_digest_ctx *d = NULL;
    int r;

    r = da_digest_new(DA_DIGEST_SHA256, &d);
    if (r == 0)
        r = da_digest_update(d, head, 28);
    if (r == 0 && len != 0)
        r = da_digest_update(d, payload, len);
    if (r == 0)
        r = da_digest_final(d, out, DA_SHA256_LEN);
    da_digest_free(d);
    return r;
}

int agent_spool_entry_encode(uint64_t seq, uint64_t created, const void *payload, size_t len,
                             struct da_buf *out)
{
    unsigned char head[AGENT_SPOOL_HEADER_LEN];
    int r;

    if (len > AGENT_SPOOL_MAX_PAYLOAD || (len != 0 && payload == NULL))
        return DA_ERR_TOO_LARGE;
    memcpy(head, AGENT_SPOOL_MAGIC, 8);
    put_be(head + 8, seq, 8);
    put_be(head + 16, created, 8);
    put_be(head + 24, len, 4);
    r = entry_digest(head, payload, len, head + 28);
    if (r != 0)
        return r;
    da_buf_free(out);
    da_buf_init(out, AGENT_SPOOL_HEADER_LEN + AGENT_SPOOL_MAX_PAYLOAD);
    r = da_buf_append(out, head, sizeof(head));
    if (r == 0)
        r = da_buf_append(out, payload, len);
    return r;
}

int agent_spool_entry_parse(const unsigned char *data, size_t len, uint64_t *seq, uint64_t *created,
                            const unsigned char **payload, size_t *plen)
{
    unsigned char want[DA_SHA256_LEN];
    uint64_t l;

    *seq = 0;
    *created = 0;
    *payload = NULL;
    *plen = 0;
    if (len < AGENT_SPOOL_HEADER_LEN || memcmp(data, AGENT_SPOOL_MAGIC, 8) != 0)
        return DA_ERR_SPOOL_CORRUPT;
    l = get_be(data + 24, 4);
    if (l > AGENT_SPOOL_MAX_PAYLOAD || l != len - AGENT_SPOOL_HEADER_LEN)
        return DA_ERR_SPOOL_CORRUPT;
    if (entry_digest(data, data + AGENT_SPOOL_HEADER_LEN, (size_t)l, want) != 0)
        return DA_ERR_CRYPTO;
    if (!da_ct_equal(want, data + 28, DA_SHA256_LEN))
        return DA_ERR_SPOOL_CORRUPT;
    *seq = get_be(data + 8, 8);
    *created = get_be(data + 16, 8);
    *payload = data + AGENT_SPOOL_HEADER_LEN;
    *plen = (size_t)l;
    return 0;
}

/* ---- files ---- */

static void entry_name(uint64_t seq, char name[ENTRY_NAME_LEN + 1])
{
    snprintf(name, ENTRY_NAME_LEN + 1, "%020" PRIu64 ENTRY_SUFFIX, seq);
}

/* 1 and *seq for a well-formed entry name, else 0. */
static int parse_entry_name(const char *name, uint64_t *seq)
{
    uint64_t v = 0;
    int i;

    if (strlen(name) != ENTRY_NAME_LEN || strcmp(name + 20, ENTRY_SUFFIX) != 0)
        return 0;
    for (i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        if (v > (UINT64_MAX - (uint64_t)(name[i] - '0')) / 10)
            return 0;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    *seq = v;
    return 1;
}

/* Write data as name in the spool directory (common/file.h: temp file,
 * fsync, rename, fsync of the directory). */
static int atomic_write(int dfd, const char *name, const unsigned char *data, size_t len)
{
    int r = da_file_write_at(dfd, name, data, len, DA_WRITE_REPLACE);

    if (r != 0)
        da_error_f("spool: write %s: %s", name, strerror(errno));
    return r == 0 ? 0 : DA_ERR_IO;
}

static int read_file_at(int dfd, const char *name, size_t cap, struct da_buf *out)
{
    unsigned char chunk[65536];
    struct stat st;
    int fd, r = 0;

    fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? DA_ERR_NOT_FOUND : DA_ERR_IO;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return DA_ERR_SPOOL_CORRUPT;
    }
    if ((uint64_t)st.st_size > cap) {
        close(fd);
        return DA_ERR_SPOOL_CORRUPT;
    }
    da_buf_free(out);
    da_buf_init(out, cap);
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = DA_ERR_IO;
            break;
        }
        if (n == 0)
            break;
        if (da_buf_append(out, chunk, (size_t)n) != 0) {
            r = DA_ERR_SPOOL_CORRUPT; /* grew past the cap while read */
            break;
        }
    }
    close(fd);
    return r;
}

/* ---- the dropped counter ---- */

static int save_dropped(struct agent_spool *s, uint64_t v)
{
    char text[32];
    int n = snprintf(text, sizeof(text), "%" PRIu64 "\n", v);
    int r = atomic_write(s->dirfd, DROPPED_FILE, (const unsigned char *)text, (size_t)n);

    if (r == 0)
        s->dropped = v;
    return r;
}

static void load_dropped(struct agent_spool *s)
{
    struct da_buf b;
    const char *t;
    uint64_t v = 0;
    size_t i, len;
    int ok;

    s->dropped = 0;
    da_buf_init(&b, 32);
    if (read_file_at(s->dirfd, DROPPED_FILE, 32, &b) != 0) {
        da_buf_free(&b);
        return;
    }
    t = da_buf_str(&b);
    len = da_buf_len(&b);
    ok = len >= 2 && len <= 20 && t[len - 1] == '\n';
    for (i = 0; ok && i + 1 < len; i++) {
        ok = t[i] >= '0' && t[i] <= '9';
        v = v * 10 + (uint64_t)(t[i] - '0');
    }
    if (ok)
        s->dropped = v;
    else
        da_warn_f("spool: drop counter is unreadable; starting again from 0");
    da_buf_free(&b);
}

/* ---- the in-memory index ---- */

static int cmp_item(const void *a, const void *b)
{
    const struct spool_item *x = a, *y = b;

    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int index_push(struct agent_spool *s, uint64_t seq, uint64_t size)
{
    if (s->n == s->alloc) {
        size_t na = s->alloc != 0 ? s->alloc * 2 : 64;
        struct spool_item *ni = realloc(s->items, na * sizeof(*ni));

        if (ni == NULL)
            return DA_ERR_NOMEM;
        s->items = ni;
        s->alloc = na;
    }
    s->items[s->n].seq = seq;
    s->items[s->n].size = size;
    s->n++;
    s->bytes += size;
    return 0;
}

static void index_remove_at(struct agent_spool *s, size_t i)
{
    s->bytes -= s->items[i].size;
    memmove(&s->items[i], &s->items[i + 1], (s->n - i - 1) * sizeof(s->items[0]));
    s->n--;
}

static int index_find(const struct agent_spool *s, uint64_t seq, size_t *at)
{
    size_t lo = 0, hi = s->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (s->items[mid].seq == seq) {
            *at = mid;
            return 1;
        }
        if (s->items[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* Read the directory: index entries, remove what a killed writer left. */
static int scan(struct agent_spool *s)
{
    int fd = dup(s->dirfd);
    struct dirent *e;
    struct stat st;
    uint64_t seq;
    DIR *d;
    int r = 0;

    if (fd < 0)
        return DA_ERR_IO;
    d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return DA_ERR_IO;
    }
    rewinddir(d);
    while (r == 0 && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0) {
            (void)unlinkat(s->dirfd, e->d_name, 0);
            continue;
        }
        if (!parse_entry_name(e->d_name, &seq))
            continue;
        if (fstatat(s->dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        r = index_push(s, seq, (uint64_t)st.st_size);
    }
    closedir(d);
    if (r == 0 && s->n > 1)
        qsort(s->items, s->n, sizeof(s->items[0]), cmp_item);
    return r;
}

int agent_spool_open(const char *dir, uint64_t max_reports, uint64_t max_bytes,
                     struct agent_spool **out)
{
    struct agent_spool *s;
    int r;

    *out = NULL;
    if (max_reports == 0 || max_bytes < AGENT_SPOOL_HEADER_LEN)
        return DA_ERR_INVALID_ARG;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        da_error_f("spool: mkdir %s: %s", dir, strerror(errno));
        return errno == EACCES ? DA_ERR_PERMISSION : DA_ERR_IO;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return DA_ERR_NOMEM;
    s->dirfd = -1;
    s->qfd = -1;
    s->max_reports = max_reports;
    s->max_bytes = max_bytes;
    s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s->dirfd < 0) {
        da_error_f("spool: open %s: %s", dir, strerror(errno));
        r = errno == EACCES ? DA_ERR_PERMISSION : DA_ERR_IO;
        goto fail;
    }
    if (flock(s->dirfd, LOCK_EX | LOCK_NB) != 0) {
        da_error_f("spool: %s is in use by another process", dir);
        r = DA_ERR_SPOOL;
        goto fail;
    }
    r = scan(s);
    if (r != 0)
        goto fail;
    load_dropped(s);
    *out = s;
    return 0;
fail:
    agent_spool_close(s);
    return r;
}

int agent_spool_keep_dirs(struct agent_spool *s, const char *dir)
{
    char qdir[4096];
    int r;

    if (s->qfd < 0) {
        if (mkdirat(s->dirfd, QUARANTINE_DIR, 0700) != 0 && errno != EEXIST)
            return DA_ERR_IO;
        s->qfd = openat(s->dirfd, QUARANTINE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s->qfd < 0)
            return DA_ERR_IO;
    }
    if (snprintf(qdir, sizeof(qdir), "%s/" QUARANTINE_DIR, dir) >= (int)sizeof(qdir))
        return DA_ERR_INVALID_ARG;
    r = da_file_dir_keep(dir, s->dirfd);
    if (r >= 0)
        r = da_file_dir_keep(qdir, s->qfd);
    return r < 0 ? r : 0;
}

void agent_spool_close(struct agent_spool *s)
{
    if (s == NULL)
        return;
    if (s->qfd >= 0)
        close(s->qfd);
    if (s->dirfd >= 0)
        close(s->dirfd); /* releases the lock */
    free(s->items);
    free(s);
}

/* Move a corrupt entry aside (or delete it when quarantine is full). */
static void quarantine(struct agent_spool *s, uint64_t seq)
{
    char name[ENTRY_NAME_LEN + 1], qname[128];
    int qfd, kept = 0;
    struct dirent *e;
    DIR *d;
    size_t at;

    entry_name(seq, name);
    if (mkdirat(s->dirfd, QUARANTINE_DIR, 0700) != 0 && errno != EEXIST)
        goto remove;
    qfd = s->qfd >= 0
              ? dup(s->qfd)
              : openat(s->dirfd, QUARANTINE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (qfd < 0)
        goto remove;
    d = fdopendir(qfd);
    if (d == NULL) {
        close(qfd);
        goto remove;
    }
    while ((e = readdir(d)) != NULL)
        kept += e->d_name[0] != '.';
    if (kept < AGENT_SPOOL_MAX_QUARANTINE) {
        snprintf(qname, sizeof(qname), "%s.%lld", name, (long long)time(NULL));
        /* Through the kept descriptor when there is one: the sandbox allows
         * renameat only between kept directories. */
        if (renameat(s->dirfd, name, s->qfd >= 0 ? s->qfd : dirfd(d), qname) == 0) {
            closedir(d);
            da_warn_f("spool: entry %s is corrupt; moved to %s/%s", name, QUARANTINE_DIR, qname);
            goto done;
        }
    }
    closedir(d);
remove:
    da_warn_f("spool: entry %s is corrupt; deleted", name);
    (void)unlinkat(s->dirfd, name, 0);
done:
    (void)fsync(s->dirfd);
    if (index_find(s, seq, &at))
        index_remove_at(s, at);
    (void)save_dropped(s, s->dropped + 1);
}

/* ---- operations ---- */

static int drop_oldest(struct agent_spool *s, uint64_t need_bytes)
{
    char name[ENTRY_NAME_LEN + 1];
    size_t k = 0, i;
    uint64_t count = s->n, bytes = s->bytes;
    int r;

    while (k < s->n && (count + 1 > s->max_reports || bytes + need_bytes > s->max_bytes)) {
        count--;
        bytes -= s->items[k].size;
        k++;
    }
    if (k == 0)
        return 0;
    /* Count first: a crash between the two steps over-counts, never hides
     * a loss. */
    r = save_dropped(s, s->dropped + k);
    if (r != 0)
        return r;
    for (i = 0; i < k; i++) {
        entry_name(s->items[0].seq, name);
        if (unlinkat(s->dirfd, name, 0) != 0 && errno != ENOENT)
            return DA_ERR_IO;
        index_remove_at(s, 0);
    }
    da_warn_f("spool: full, dropped the %zu oldest report(s)", k);
    return fsync(s->dirfd) == 0 ? 0 : DA_ERR_IO;
}

int agent_spool_put(struct agent_spool *s, const void *payload, size_t len, uint64_t created,
                    uint64_t *seq)
{
    char name[ENTRY_NAME_LEN + 1];
    struct da_buf e;
    uint64_t next = s->n != 0 ? s->items[s->n - 1].seq + 1 : 1;
    int r;

    if (seq != NULL)
        *seq = 0;
    if (len > AGENT_SPOOL_MAX_PAYLOAD || len + AGENT_SPOOL_HEADER_LEN > s->max_bytes)
        return DA_ERR_TOO_LARGE;
    da_buf_init(&e, 0);
    r = agent_spool_entry_encode(next, created, payload, len, &e);
    if (r == 0)
        r = drop_oldest(s, da_buf_len(&e));
    if (r != 0)
        goto out;
    entry_name(next, name);
    r = atomic_write(s->dirfd, name, da_buf_data(&e), da_buf_len(&e));
    if (r == 0)
        r = index_push(s, next, da_buf_len(&e));
    if (r == 0 && seq != NULL)
        *seq = next;
out:
    da_buf_free(&e);
    return r;
}

int agent_spool_list(struct agent_spool *s, uint64_t **seqs, size_t *n)
{
    size_t i;

    *seqs = NULL;
    *n = 0;
    if (s->n == 0)
        return 0;
    *seqs = malloc(s->n * sizeof(**seqs));
    if (*seqs == NULL)
        return DA_ERR_NOMEM;
    for (i = 0; i < s->n; i++)
        (*seqs)[i] = s->items[i].seq;
    *n = s->n;
    return 0;
}

int agent_spool_read(struct agent_spool *s, uint64_t seq, uint64_t *created, struct da_buf *out)
{
    char name[ENTRY_NAME_LEN + 1];
    const unsigned char *p;
    struct da_buf raw;
    uint64_t got_seq;
    size_t plen;
    int r;

    *created = 0;
    da_buf_free(out);
    da_buf_init(out, AGENT_SPOOL_MAX_PAYLOAD);
    entry_name(seq, name);
    da_buf_init(&raw, 0);
    r = read_file_at(s->dirfd, name, AGENT_SPOOL_HEADER_LEN + AGENT_SPOOL_MAX_PAYLOAD, &raw);
    if (r == 0)
        r = agent_spool_entry_parse(da_buf_data(&raw), da_buf_len(&raw), &got_seq, created, &p,
                                    &plen);
    if (r == 0 && got_seq != seq)
        r = DA_ERR_SPOOL_CORRUPT;
    if (r == 0)
        r = da_buf_append(out, p, plen);
    if (r == DA_ERR_SPOOL_CORRUPT) {
        *created = 0;
        quarantine(s, seq);
    }
    da_buf_free(&raw);
    return r;
}

int agent_spool_peek(struct agent_spool *s, uint64_t *seq, uint64_t *created, struct da_buf *out)
{
    int r;

    *seq = 0;
    while (s->n > 0) {
        uint64_t first = s->items[0].seq;

        r = agent_spool_read(s, first, created, out);
        if (r == DA_ERR_SPOOL_CORRUPT)
            continue; /* quarantined; removed from the index */
        if (r == DA_ERR_NOT_FOUND) {
            index_remove_at(s, 0); /* removed behind our back */
            continue;
        }
        if (r == 0)
            *seq = first;
        return r;
    }
    return DA_ERR_NOT_FOUND;
}

int agent_spool_replace(struct agent_spool *s, uint64_t seq, const void *payload, size_t len)
{
    char name[ENTRY_NAME_LEN + 1];
    struct da_buf old, e;
    uint64_t created;
    size_t at;
    int r;

    if (!index_find(s, seq, &at))
        return DA_ERR_NOT_FOUND;
    da_buf_init(&old, 0);
    da_buf_init(&e, 0);
    r = agent_spool_read(s, seq, &created, &old);
    if (r == 0)
        r = agent_spool_entry_encode(seq, created, payload, len, &e);
    if (r == 0 && s->bytes - s->items[at].size + da_buf_len(&e) > s->max_bytes)
        r = DA_ERR_TOO_LARGE;
    if (r == 0) {
        entry_name(seq, name);
        r = atomic_write(s->dirfd, name, da_buf_data(&e), da_buf_len(&e));
    }
    if (r == 0) {
        s->bytes = s->bytes - s->items[at].size + da_buf_len(&e);
        s->items[at].size = da_buf_len(&e);
    }
    da_buf_free(&old);
    da_buf_free(&e);
    return r;
}

int agent_spool_remove(struct agent_spool *s, uint64_t seq)
{
    char name[ENTRY_NAME_LEN + 1];
    size_t at;

    if (!index_find(s, seq, &at))
        return DA_ERR_NOT_FOUND;
    entry_name(seq, name);
    if (unlinkat(s->dirfd, name, 0) != 0 && errno != ENOENT)
        return DA_ERR_IO;
    index_remove_at(s, at);
    return fsync(s->dirfd) == 0 ? 0 : DA_ERR_IO;
}

int agent_spool_discard(struct agent_spool *s, uint64_t seq)
{
    size_t at;
    int r;

    if (!index_find(s, seq, &at))
        return DA_ERR_NOT_FOUND;
    r = save_dropped(s, s->dropped + 1);
    if (r == 0)
        r = agent_spool_remove(s, seq);
    return r;
}

void agent_spool_usage(const struct agent_spool *s, uint64_t *count, uint64_t *bytes)
{
    *count = s->n;
    *bytes = s->bytes;
}

uint64_t agent_spool_dropped(const struct agent_spool *s)
{
    return s->dropped;
}

int agent_spool_ack_dropped(struct agent_spool *s, uint64_t n)
{
    return save_dropped(s, n >= s->dropped ? 0 : s->dropped - n);
}

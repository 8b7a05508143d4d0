/* deb822 paragraphs (dpkg status, apt Packages lists, Release files) and
 * reading apt lists in whichever compression apt keeps them. */
#include "deb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lz4frame.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "buf.h"
#include "err.h"
#include "caps.h"

static int col_field_name_ok(const char *p, size_t n)
{
    size_t i;

    if (n == 0 || p[0] == '#' || p[0] == '-')
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)p[i] <= 32 || (unsigned char)p[i] >= 127)
            return 0;
    return 1;
}

int col_deb822_get(const char *p, size_t n, const char *const *names, size_t count,
                   struct col_span *vals)
{
    const char *end = p + n, *line = p;
    size_t i;

    for (i = 0; i < count; i++) {
        vals[i].p = NULL;
        vals[i].n = 0;
    }
    while (line < end) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *le = nl != NULL ? nl : end, *colon, *v, *ve;
        size_t name_len;

        if (*line == ' ' || *line == '\t') {
            if (line == p)
                return DA_ERR_COLLECT_PARSE; /* continuation without a field */
            line = le + 1;
            continue;
        }
        colon = memchr(line, ':', (size_t)(le - line));
        if (colon == NULL || !col_field_name_ok(line, (size_t)(colon - line)))
            return DA_ERR_COLLECT_PARSE;
        name_len = (size_t)(colon - line);
        for (i = 0; i < count; i++) {
            if (strlen(names[i]) != name_len || strncasecmp(names[i], line, name_len) != 0)
                continue;
            if (vals[i].p != NULL)
                return DA_ERR_COLLECT_PARSE; /* repeated field */
            v = colon + 1;
            ve = le;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r'))
                ve--;
            vals[i].p = v;
            vals[i].n = (size_t)(ve - v);
            break;
        }
        line = le + 1;
    }
    return 0;
}

int col_deb822_each(const char *p, size_t n, col_stanza_fn fn, void *arg)
{
    const char *end = p + n;
    int r;

    while (p < end) {
        const char *sep;
        size_t len;

        while (p < end && *p == '\n')
            p++;
        if (p == end)
            break;
        sep = memmem(p, (size_t)(end - p), "\n\n", 2);
        len = sep != NULL ? (size_t)(sep - p) + 1 : (size_t)(end - p);
        if (len > COL_DEB_MAX_STANZA)
            return DA_ERR_TOO_LARGE;
        if (memchr(p, '\0', len) != NULL)
            return DA_ERR_COLLECT_PARSE;
        r = fn(p, len, arg);
        if (r < 0)
            return r;
        p += len;
    }
    return 0;
}

/* ---- streaming decompression feeding complete stanzas ---- */

#define COL_CHUNK (256u * 1024)

struct col_stream {
    struct da_buf win; /* decompressed bytes not yet handed out */
    col_stanza_fn fn;
    void *arg;
    uint64_t total;
};

/* Hand out every complete stanza in the window; keep the tail. */
static int col_stream_drain(struct col_stream *s, int final)
{
    const char *p = da_buf_str(&s->win), *end = p + da_buf_len(&s->win), *cut;
    struct da_buf rest;
    int r;

    if (final) {
        cut = end;
    } else {
        const char *q = end;

        cut = NULL;
        while (q > p + 1) {
            q--;
            if (q[0] == '\n' && q[-1] == '\n') {
                cut = q + 1;
                break;
            }
        }
        if (cut == NULL) {
            if (da_buf_len(&s->win) > COL_DEB_MAX_STANZA)
                return DA_ERR_TOO_LARGE;
            return 0;
        }
    }
    r = col_deb822_each(p, (size_t)(cut - p), s->fn, s->arg);
    if (r < 0)
        return r;
    da_buf_init(&rest, COL_DEB_MAX_STANZA + COL_CHUNK * 2);
    if (cut < end && da_buf_append(&rest, cut, (size_t)(end - cut)) != 0) {
        da_buf_free(&rest);
        return DA_ERR_TOO_LARGE;
    }
    da_buf_free(&s->win);
    s->win = rest;
    return 0;
}

static int col_stream_push(struct col_stream *s, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    s->total += n;
    if (s->total > DA_MAX_APT_LIST)
        return DA_ERR_TOO_LARGE;
    if (da_buf_append(&s->win, p, n) != 0)
        return DA_ERR_TOO_LARGE;
    if (da_buf_len(&s->win) >= COL_CHUNK)
        return col_stream_drain(s, 0);
    return 0;
}

static int col_inflate_lz4(const unsigned char *in, size_t n, struct col_stream *s,
                           unsigned char *out)
{
    LZ4F_dctx *d = NULL;
    size_t ret = 1;
    int r = 0;

    if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
        return DA_ERR_NOMEM;
    while (n > 0 || ret != 0) {
        size_t out_n = COL_CHUNK, in_n = n;

        ret = LZ4F_decompress(d, out, &out_n, in, &in_n, NULL);
        if (LZ4F_isError(ret)) {
            r = DA_ERR_DECOMPRESS;
            break;
        }
        in += in_n;
        n -= in_n;
        r = col_stream_push(s, out, out_n);
        if (r < 0)
            break;
        if (ret == 0 && n > 0) {
            /* another frame follows: lz4 allows concatenated frames */
            LZ4F_resetDecompressionContext(d);
            ret = 1;
            continue;
        }
        if (n == 0 && in_n == 0 && out_n == 0 && ret != 0) {
            r = DA_ERR_DECOMPRESS; /* truncated frame */
            break;
        }
    }
    LZ4F_freeDecompressionContext(d);
    return r;
}

static int col_inflate_gz(const unsigned char *in, size_t n, struct col_stream *s,
                          unsigned char *out)
{
    z_stream z;
    int zr = Z_OK, r = 0;

    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return DA_ERR_NOMEM;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    while (zr != Z_STREAM_END) {
        z.next_out = out;
        z.avail_out = COL_CHUNK;
        zr = inflate(&z, Z_NO_FLUSH);
        if (zr != Z_OK && zr != Z_STREAM_END) {
            r = DA_ERR_DECOMPRESS;
            break;
        }
        r = col_stream_push(s, out, COL_CHUNK - z.avail_out);
        if (r < 0)
            break;
        if (zr == Z_STREAM_END && z.avail_in > 0) {
            r = DA_ERR_TRAILING_DATA;
            break;
        }
        if (zr == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
            r = DA_ERR_DECOMPRESS; /* truncated */
            break;
        }
    }
    inflateEnd(&z);
    return r;
}

static int col_inflate_xz(const unsigned char *in, size_t n, struct col_stream *s,
                          unsigned char *out)
{
    lzma_stream z = LZMA_STREAM_INIT;
    lzma_ret lr = LZMA_OK;
    int r = 0;

    if (lzma_stream_decoder(&z, 256u * 1024 * 1024, 0) != LZMA_OK)
        return DA_ERR_NOMEM;
    z.next_in = in;
    z.avail_in = n;
    while (lr != LZMA_STREAM_END) {
        z.next_out = out;
        z.avail_out = COL_CHUNK;
        lr = lzma_code(&z, z.avail_in == 0 ? LZMA_FINISH : LZMA_RUN);
        if (lr != LZMA_OK && lr != LZMA_STREAM_END) {
            r = DA_ERR_DECOMPRESS;
            break;
        }
        r = col_stream_push(s, out, COL_CHUNK - z.avail_out);
        if (r < 0)
            break;
        if (lr == LZMA_STREAM_END && z.avail_in > 0)
            r = DA_ERR_TRAILING_DATA;
    }
    lzma_end(&z);
    return r;
}

static int col_inflate_zst(const unsigned char *in, size_t n, struct col_stream *s,
                           unsigned char *out)
{
    ZSTD_DStream *d = ZSTD_createDStream();
    ZSTD_inBuffer ib = {in, n, 0};
    size_t ret = 1;
    int r = 0;

    if (d == NULL)
        return DA_ERR_NOMEM;
    while (ib.pos < ib.size || ret != 0) {
        ZSTD_outBuffer ob = {out, COL_CHUNK, 0};
        size_t before = ib.pos;

        ret = ZSTD_decompressStream(d, &ob, &ib);
        if (ZSTD_isError(ret)) {
            r = DA_ERR_DECOMPRESS;
            break;
        }
        r = col_stream_push(s, out, ob.pos);
        if (r < 0)
            break;
        if (ib.pos == ib.size && ob.pos == 0 && before == ib.pos && ret != 0) {
            r = DA_ERR_DECOMPRESS; /* truncated */
            break;
        }
    }
    ZSTD_freeDStream(d);
    return r;
}

static int col_has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int col_deb_list_read(struct da_rootfs *fs, const char *path, col_stanza_fn fn, void *arg)
{
    struct col_stream s;
    unsigned char *map = NULL, *out = NULL;
    struct stat st;
    size_t size = 0;
    int fd, r;

    r = da_rootfs_open_file(fs, path, &fd, &st);
    if (r < 0)
        return r;
    if ((uint64_t)st.st_size > DA_MAX_APT_LIST) {
        r = DA_ERR_TOO_LARGE;
        goto out;
    }
    size = (size_t)st.st_size;
    if (size == 0) {
        r = 0;
        goto out;
    }
    map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        map = NULL;
        r = da_rootfs_sys_error(errno, path);
        goto out;
    }
    (void)madvise(map, size, MADV_SEQUENTIAL);
    if (!col_has_suffix(path, ".lz4") && !col_has_suffix(path, ".gz") &&
        !col_has_suffix(path, ".xz") && !col_has_suffix(path, ".zst")) {
        r = col_deb822_each((const char *)map, size, fn, arg);
        goto out;
    }
    out = malloc(COL_CHUNK);
    if (out == NULL) {
        r = DA_ERR_NOMEM;
        goto out;
    }
    memset(&s, 0, sizeof(s));
    da_buf_init(&s.win, COL_DEB_MAX_STANZA + COL_CHUNK * 2);
    s.fn = fn;
    s.arg = arg;
    if (col_has_suffix(path, ".lz4"))
        r = col_inflate_lz4(map, size, &s, out);
    else if (col_has_suffix(path, ".gz"))
        r = col_inflate_gz(map, size, &s, out);
    else if (col_has_suffix(path, ".xz"))
        r = col_inflate_xz(map, size, &s, out);
    else
        r = col_inflate_zst(map, size, &s, out);
    if (r == 0)
        r = col_stream_drain(&s, 1);
    da_buf_free(&s.win);
out:
    free(out);
    if (map != NULL)
        munmap(map, size);
    close(fd);
    return r;
}

/* ---- Release files ---- */

static void col_span_copy(const struct col_span *v, char *out, size_t n)
{
    size_t len = v->p != NULL ? v->n : 0;

    if (len >= n)
        len = n - 1;
    if (len > 0)
        memcpy(out, v->p, len);
    out[len] = '\0';
}

static int col_span_is(const struct col_span *v, const char *s)
{
    return v->p != NULL && v->n == strlen(s) && strncasecmp(v->p, s, v->n) == 0;
}

int col_release_parse(const char *p, size_t n, struct col_release *out)
{
    static const char *const names[] = {
        "Origin", "Label", "Suite", "Codename", "NotAutomatic", "ButAutomaticUpgrades", "Version"};
    static const char pgp[] = "-----BEGIN PGP SIGNED MESSAGE-----";
    struct col_span v[7];
    const char *end = p + n, *sig;
    int r;

    memset(out, 0, sizeof(*out));
    if (n > DA_MAX_SMALL_SYSFILE * 64 || memchr(p, '\0', n) != NULL)
        return DA_ERR_COLLECT_PARSE;
    if (n >= sizeof(pgp) - 1 && memcmp(p, pgp, sizeof(pgp) - 1) == 0) {
        const char *body = memmem(p, n, "\n\n", 2);

        if (body == NULL)
            return DA_ERR_COLLECT_PARSE;
        p = body + 2;
        sig = memmem(p, (size_t)(end - p), "\n-----BEGIN PGP SIGNATURE-----", 30);
        if (sig == NULL)
            return DA_ERR_COLLECT_PARSE;
        end = sig + 1;
    }
    sig = memmem(p, (size_t)(end - p), "\n\n", 2);
    if (sig != NULL)
        end = sig + 1; /* the first paragraph carries the fields */
    if (end <= p)
        return DA_ERR_COLLECT_PARSE;
    r = col_deb822_get(p, (size_t)(end - p), names, 7, v);
    if (r < 0)
        return r;
    col_span_copy(&v[0], out->origin, sizeof(out->origin));
    col_span_copy(&v[1], out->label, sizeof(out->label));
    col_span_copy(&v[2], out->suite, sizeof(out->suite));
    col_span_copy(&v[3], out->codename, sizeof(out->codename));
    col_span_copy(&v[6], out->version, sizeof(out->version));
    out->not_automatic = col_span_is(&v[4], "yes");
    out->but_automatic_upgrades = col_span_is(&v[5], "yes");
    return 0;
}

int col_release_priority(const struct col_release *rel)
{
    if (rel->not_automatic)
        return rel->but_automatic_upgrades ? 100 : 1;
    return 500;
}

int col_release_is_security(const struct col_release *rel)
{
    return col_has_suffix(rel->suite, "-security") || col_has_suffix(rel->codename, "-security") ||
           strcmp(rel->label, "Debian-Security") == 0;
}

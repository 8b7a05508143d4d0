/* The rpm database below the root, read through librpm.
 *
 * librpm opens the database files itself, by path. To keep it inside the
 * root and read-only:
 *  - the database directory is opened through the file layer (symlinks and
 *    ".." resolved inside the root) and librpm is given "/proc/self/fd/N"
 *    as %_dbpath with "/" as its root directory, so the only names it
 *    resolves itself are the database file names in that directory
 *    (rpmdb.sqlite, Packages); each is checked first (lstat through the
 *    layer) to be a regular file, not a symlink;
 *  - the backend (%_db_backend) is set from the file that exists, since
 *    librpm's SQLite backend creates a missing database even when asked
 *    for read-only access;
 *  - SQLite opens the database through a VFS shim registered as the
 *    default only while the database is open: it refuses every file but
 *    the main database, refuses any open that could write or create, and
 *    opens the database with "immutable=1", so SQLite takes no locks and
 *    never creates or touches the -wal and -shm files. A WAL that still
 *    holds frames (a transaction not yet checkpointed) is refused instead
 *    of read without them;
 *  - signatures are not checked (that would read keys), header digests
 *    are; every message librpm logs during a read makes the read fail, so a
 *    skipped header is never a short package list.
 * librpm also reads the host's own rpm configuration (/usr/lib/rpm/rpmrc,
 * macros), never the root's. */
#include "rpm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmfi.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmpgp.h>
#include <rpm/rpmts.h>
#include <sqlite3.h>

#include "caps.h"
#include "err.h"

struct col_rpmdb {
    int dirfd;
    rpmts ts;
    int vfs_registered;
};

/* ---- SQLite: main database only, read-only, immutable ---- */

static sqlite3_vfs col_vfs;
static sqlite3_vfs *col_vfs_base;
static sqlite3_filename col_vfs_names[8];
static size_t col_vfs_n_names;
static sqlite3_io_methods col_io;
static int (*col_io_base_dc)(sqlite3_file *);

/* The database says it cannot change: SQLite's pager then reads it like a
 * temporary file, without locks, journal, WAL or shared memory. */
static int col_io_device(sqlite3_file *f)
{
    return col_io_base_dc(f) | SQLITE_IOCAP_IMMUTABLE;
}

/* The name as given: the unix VFS would resolve symlinks in it by path,
 * outside the file layer, and "/proc/self/fd/N" must stay the directory
 * the layer opened. */
static int col_vfs_fullpath(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    if (name[0] != '/' || (int)strlen(name) >= n)
        return SQLITE_CANTOPEN;
    memcpy(out, name, strlen(name) + 1);
    return SQLITE_OK;
}

static int col_vfs_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                        int *out_flags)
{
    static const char *params[] = {"immutable", "1"};
    sqlite3_filename fn;
    int rc;

    (void)vfs;
    if (name == NULL || (flags & SQLITE_OPEN_MAIN_DB) == 0 ||
        (flags & (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) != 0 ||
        col_vfs_n_names >= sizeof(col_vfs_names) / sizeof(col_vfs_names[0]))
        return SQLITE_CANTOPEN;
    fn = sqlite3_create_filename(name, "", "", 1, params);
    if (fn == NULL)
        return SQLITE_NOMEM;
    /* the base VFS keeps the name for the life of the file */
    col_vfs_names[col_vfs_n_names++] = fn;
    rc = col_vfs_base->xOpen(col_vfs_base, fn, f, flags, out_flags);
    if (rc == SQLITE_OK && f->pMethods != NULL) {
        col_io = *f->pMethods;
        col_io_base_dc = f->pMethods->xDeviceCharacteristics;
        col_io.xDeviceCharacteristics = col_io_device;
        f->pMethods = &col_io;
    }
    return rc;
}

static int col_vfs_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
    (void)vfs;
    (void)name;
    (void)sync;
    return SQLITE_READONLY;
}

static int col_vfs_register(void)
{
    col_vfs_base = sqlite3_vfs_find("unix");
    if (col_vfs_base == NULL)
        return DA_ERR_RPMDB;
    col_vfs = *col_vfs_base;
    col_vfs.zName = "devattest-readonly";
    col_vfs.pAppData = NULL;
    col_vfs.xOpen = col_vfs_open;
    col_vfs.xDelete = col_vfs_delete;
    col_vfs.xFullPathname = col_vfs_fullpath;
    return sqlite3_vfs_register(&col_vfs, 1) == SQLITE_OK ? 0 : DA_ERR_RPMDB;
}

static void col_vfs_unregister(void)
{
    sqlite3_vfs_unregister(&col_vfs);
    sqlite3_vfs_register(col_vfs_base, 1);
    for (size_t i = 0; i < col_vfs_n_names; i++)
        sqlite3_free_filename(col_vfs_names[i]);
    col_vfs_n_names = 0;
}

/* ---- librpm's messages: captured, never printed ---- */

static char col_rpm_msg[300];
static int col_rpm_msgs;

static int col_rpmlog(rpmlogRec rec, rpmlogCallbackData data)
{
    const char *m = rpmlogRecMessage(rec);

    (void)data;
    if (rpmlogRecPriority(rec) <= RPMLOG_WARNING) {
        if (col_rpm_msgs++ == 0 && m != NULL)
            snprintf(col_rpm_msg, sizeof(col_rpm_msg), "%.*s", (int)strcspn(m, "\n"), m);
    }
    return 0; /* handled: not printed */
}

static void col_rpm_init(void)
{
    static int done;

    if (!done) {
        done = 1;
        (void)rpmReadConfigFiles(NULL, NULL);
    }
    rpmlogSetCallback(col_rpmlog, NULL);
    col_rpm_msgs = 0;
    col_rpm_msg[0] = '\0';
}

/* ---- finding and opening ---- */

static int col_is_regular_nolink(const struct col_ctx *ctx, const char *path)
{
    struct stat st;
    int e = col_lstat(ctx, path, &st);

    if (e < 0)
        return e;
    return S_ISREG(st.st_mode) ? 0 : DA_ERR_NOT_REGULAR;
}

int col_rpmdb_find(const struct col_ctx *ctx, char *dir, size_t dir_n, char *where, size_t where_n)
{
    static const char *const dirs[] = COL_RPMDB_DIRS;
    static const char *const files[] = {"rpmdb.sqlite", "Packages.db", "Packages"};
    char path[512];
    struct stat st;
    int first_err = 0;

    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
            int e;

            snprintf(path, sizeof(path), "%s/%s", dirs[i], files[k]);
            e = col_lstat(ctx, path, &st);
            if (e == 0) {
                snprintf(dir, dir_n, "%s", dirs[i]);
                return 0;
            }
            if (e != DA_ERR_NOT_FOUND && first_err == 0) {
                first_err = e;
                snprintf(where, where_n, "%s", path);
            }
        }
    }
    if (first_err == 0)
        snprintf(where, where_n, "%s", "/var/lib/rpm/rpmdb.sqlite");
    return first_err != 0 ? first_err : DA_ERR_NOT_FOUND;
}

/* The SQLite header: is the file in WAL mode? */
static int col_sqlite_wal(const struct col_ctx *ctx, const char *path, int *wal)
{
    unsigned char h[100];
    struct stat st;
    ssize_t n;
    int fd, e;

    e = col_open_file(ctx, path, &fd, &st);
    if (e < 0)
        return e;
    n = pread(fd, h, sizeof(h), 0);
    close(fd);
    if (n != (ssize_t)sizeof(h) || memcmp(h, "SQLite format 3", 16) != 0)
        return DA_ERR_RPMDB;
    *wal = h[18] == 2 || h[19] == 2;
    return 0;
}

/* Read the schema through the shim before librpm opens the database: a
 * database SQLite calls malformed is refused here, with SQLite's words
 * (librpm's own failure path would keep the connection it opened). */
static int col_sqlite_probe(const char *dbpath, const char *shown, char *why, size_t why_n)
{
    char file[96];
    sqlite3 *sdb = NULL;
    int rc;

    snprintf(file, sizeof(file), "%s/rpmdb.sqlite", dbpath);
    rc = sqlite3_open_v2(file, &sdb, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(sdb, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        snprintf(why, why_n, "%s: SQLite cannot read the database: %s", shown,
                 sdb != NULL ? sqlite3_errmsg(sdb) : sqlite3_errstr(rc));
    sqlite3_close(sdb);
    return rc == SQLITE_OK ? 0 : DA_ERR_RPMDB;
}

int col_rpmdb_open(const struct col_ctx *ctx, const char *dir, struct col_rpmdb **out, char *why,
                   size_t why_n)
{
    char path[600], dbpath[64];
    const char *backend = NULL;
    struct col_rpmdb *db = NULL;
    struct stat st;
    int e, wal = 0;

    *out = NULL;
    why[0] = '\0';
    snprintf(path, sizeof(path), "%s/rpmdb.sqlite", dir);
    e = col_lstat(ctx, path, &st);
    if (e == 0) {
        backend = "sqlite";
        e = S_ISREG(st.st_mode) ? col_sqlite_wal(ctx, path, &wal) : DA_ERR_NOT_REGULAR;
        if (e == 0 && wal) {
            snprintf(path, sizeof(path), "%s/rpmdb.sqlite-wal", dir);
            e = col_lstat(ctx, path, &st);
            if (e == DA_ERR_NOT_FOUND)
                e = 0;
            else if (e == 0 && !S_ISREG(st.st_mode))
                e = DA_ERR_NOT_REGULAR;
            else if (e == 0 && st.st_size > 0) {
                snprintf(why, why_n,
                         "%s holds changes not yet checkpointed (an rpm transaction is open); "
                         "reading them would need SQLite's shared-memory file",
                         path);
                return DA_ERR_RPMDB_WOULD_WRITE;
            }
            if (e == 0)
                snprintf(path, sizeof(path), "%s/rpmdb.sqlite", dir);
        }
    } else if (e == DA_ERR_NOT_FOUND) {
        snprintf(path, sizeof(path), "%s/Packages.db", dir);
        e = col_lstat(ctx, path, &st);
        if (e == 0) {
            snprintf(why, why_n, "%s: the ndb format is not readable by this librpm", path);
            return DA_ERR_UNSUPPORTED;
        }
        if (e == DA_ERR_NOT_FOUND) {
            backend = "bdb_ro";
            snprintf(path, sizeof(path), "%s/Packages", dir);
            e = col_is_regular_nolink(ctx, path);
        }
    }
    if (e == DA_ERR_NOT_FOUND) {
        snprintf(why, why_n,
                 "%s: no rpm database file (librpm would create an empty one; not opened)", dir);
        return DA_ERR_RPMDB_WOULD_WRITE;
    }
    if (e == DA_ERR_RPMDB) {
        snprintf(why, why_n, "%s: not an SQLite database", path);
        return e;
    }
    if (e < 0) {
        col_err_detail(e, path, why, why_n);
        return e;
    }
    db = calloc(1, sizeof(*db));
    if (db == NULL)
        return DA_ERR_NOMEM;
    db->dirfd = -1;
    e = da_rootfs_open_dirfd(ctx->fs, dir, &db->dirfd);
    if (e < 0) {
        col_err_detail(e, dir, why, why_n);
        free(db);
        return e;
    }
    snprintf(dbpath, sizeof(dbpath), "/proc/self/fd/%d", db->dirfd);
    col_rpm_init();
    rpmPushMacro(NULL, "_dbpath", NULL, dbpath, RMIL_CMDLINE);
    rpmPushMacro(NULL, "_db_backend", NULL, backend, RMIL_CMDLINE);
    e = col_vfs_register();
    db->vfs_registered = e == 0;
    if (e == 0 && strcmp(backend, "sqlite") == 0)
        e = col_sqlite_probe(dbpath, path, why, why_n);
    if (e == 0) {
        db->ts = rpmtsCreate();
        if (db->ts == NULL)
            e = DA_ERR_NOMEM;
    }
    if (e == 0) {
        rpmtsSetRootDir(db->ts, "/");
        rpmtsSetVSFlags(db->ts, rpmtsVSFlags(db->ts) | RPMVSF_MASK_NOSIGNATURES);
        if (rpmtsOpenDB(db->ts, O_RDONLY) != 0 || col_rpm_msgs > 0)
            e = DA_ERR_RPMDB;
    }
    rpmPopMacro(NULL, "_db_backend");
    rpmPopMacro(NULL, "_dbpath");
    if (e < 0 && why[0] != '\0') {
        col_rpmdb_close(db);
        return e;
    }
    if (e < 0) {
        snprintf(why, why_n, "%s: librpm cannot open the database%s%s", path,
                 col_rpm_msg[0] != '\0' ? ": " : "", col_rpm_msg);
        col_rpmdb_close(db);
        return e;
    }
    *out = db;
    return 0;
}

void col_rpmdb_close(struct col_rpmdb *db)
{
    if (db == NULL)
        return;
    if (db->ts != NULL) {
        rpmtsCloseDB(db->ts);
        rpmtsFree(db->ts);
    }
    if (db->vfs_registered)
        col_vfs_unregister();
    if (db->dirfd >= 0)
        close(db->dirfd);
    rpmlogSetCallback(NULL, NULL);
    free(db);
}

/* ---- reading ---- */

static char *col_hdr_evr(Header h)
{
    const char *v = headerGetString(h, RPMTAG_VERSION), *r = headerGetString(h, RPMTAG_RELEASE);
    uint64_t epoch = headerGetNumber(h, RPMTAG_EPOCH);
    char *out = NULL;
    int n;

    if (v == NULL || r == NULL)
        return NULL;
    if (headerIsEntry(h, RPMTAG_EPOCH) && epoch > 0)
        n = asprintf(&out, "%llu:%s-%s", (unsigned long long)epoch, v, r);
    else
        n = asprintf(&out, "%s-%s", v, r);
    return n < 0 ? NULL : out;
}

static int col_pkg_cmp(const void *a, const void *b)
{
    const struct col_rpm_pkg *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    if (c == 0)
        c = strcmp(x->arch, y->arch);
    if (c == 0)
        c = col_rpm_evrcmp(x->evr, y->evr);
    return c;
}

void col_rpm_pkgs_free(struct col_rpm_pkgs *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].name);
        free(p->v[i].arch);
        free(p->v[i].evr);
    }
    free(p->v);
    p->v = NULL;
    p->n = 0;
}

int col_rpmdb_packages(struct col_rpmdb *db, struct col_rpm_pkgs *out)
{
    rpmdbMatchIterator mi;
    size_t cap = 0;
    Header h;
    int r = 0;

    out->v = NULL;
    out->n = 0;
    col_rpm_msgs = 0;
    mi = rpmtsInitIterator(db->ts, RPMDBI_PACKAGES, NULL, 0);
    if (mi == NULL)
        return col_rpm_msgs > 0 ? DA_ERR_RPMDB : 0;
    while ((h = rpmdbNextIterator(mi)) != NULL) {
        const char *name = headerGetString(h, RPMTAG_NAME), *arch = headerGetString(h, RPMTAG_ARCH);
        struct col_rpm_pkg *p;

        if (name == NULL || strcmp(name, "gpg-pubkey") == 0)
            continue;
        if (out->n >= DA_MAX_PACKAGES) {
            r = DA_ERR_TOO_LARGE;
            break;
        }
        if (out->n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            struct col_rpm_pkg *nv = realloc(out->v, nc * sizeof(*nv));

            if (nv == NULL) {
                r = DA_ERR_NOMEM;
                break;
            }
            out->v = nv;
            cap = nc;
        }
        p = &out->v[out->n];
        p->name = strdup(name);
        p->arch = strdup(arch != NULL ? arch : "noarch");
        p->evr = col_hdr_evr(h);
        out->n++;
        if (p->name == NULL || p->arch == NULL || p->evr == NULL) {
            r = DA_ERR_NOMEM;
            break;
        }
    }
    rpmdbFreeIterator(mi);
    if (r == 0 && col_rpm_msgs > 0)
        r = DA_ERR_RPMDB;
    if (r < 0) {
        col_rpm_pkgs_free(out);
        return r;
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(out->v[0]), col_pkg_cmp);
    return 0;
}

const char *col_rpmdb_last_message(void);
const char *col_rpmdb_last_message(void)
{
    return col_rpm_msg;
}

/* The header numbers whose files include one named base: from the
 * Basenames index, read key by key. (Looking a path up with
 * RPMDBI_BASENAMES or RPMDBI_INSTFILENAMES would compare directory
 * fingerprints, made by stat calls on the host's directories.) */
static int col_rpmdb_by_basename(struct col_rpmdb *db, const char *base, unsigned *offs, size_t max,
                                 size_t *n)
{
    rpmdbIndexIterator ii = rpmdbIndexIteratorInit(rpmtsGetRdb(db->ts), RPMDBI_BASENAMES);
    size_t blen = strlen(base);
    const void *key;
    size_t keylen;

    *n = 0;
    if (ii == NULL)
        return col_rpm_msgs > 0 ? DA_ERR_RPMDB : 0;
    while (rpmdbIndexIteratorNext(ii, &key, &keylen) == 0) {
        if (keylen != blen || memcmp(key, base, blen) != 0)
            continue;
        for (unsigned k = 0; k < rpmdbIndexIteratorNumPkgs(ii) && *n < max; k++)
            offs[(*n)++] = rpmdbIndexIteratorPkgOffset(ii, k);
    }
    rpmdbIndexIteratorFree(ii);
    return col_rpm_msgs > 0 ? DA_ERR_RPMDB : 0;
}

int col_rpmdb_owner(struct col_rpmdb *db, const char *path, const char *sha256, const char *md5,
                    struct col_rpm_owner *o)
{
    unsigned offs[64];
    const char *base;
    size_t n_offs = 0;
    int e;

    memset(o, 0, sizeof(*o));
    o->verified = -1;
    col_rpm_msgs = 0;
    base = strrchr(path, '/');
    if (base == NULL || base[1] == '\0')
        return 0;
    e = col_rpmdb_by_basename(db, base + 1, offs, sizeof(offs) / sizeof(offs[0]), &n_offs);
    for (size_t i = 0; e == 0 && !o->owned && i < n_offs; i++) {
        rpmdbMatchIterator mi =
            rpmtsInitIterator(db->ts, RPMDBI_PACKAGES, &offs[i], sizeof(offs[i]));
        Header h = mi != NULL ? rpmdbNextIterator(mi) : NULL;
        rpmfi fi = h != NULL ? rpmfiNew(db->ts, h, RPMTAG_BASENAMES, RPMFI_KEEPHEADER) : NULL;
        const char *name = h != NULL ? headerGetString(h, RPMTAG_NAME) : NULL;
        char *evr = h != NULL ? col_hdr_evr(h) : NULL;
        int fx = fi != NULL ? rpmfiFindFN(fi, path) : -1;

        if (fx >= 0 && name != NULL && evr != NULL && rpmfiSetFX(fi, fx) == fx) {
            int algo = 0;
            char *hex = NULL;

            o->owned = 1;
            snprintf(o->name, sizeof(o->name), "%s", name);
            snprintf(o->evr, sizeof(o->evr), "%s", evr);
            if ((rpmfiFFlags(fi) & RPMFILE_GHOST) == 0 && rpmfiFState(fi) == RPMFILE_STATE_NORMAL)
                hex = rpmfiFDigestHex(fi, &algo);
            if (hex != NULL && hex[0] != '\0') {
                if (algo == PGPHASHALGO_SHA256 && sha256 != NULL)
                    o->verified = strcmp(hex, sha256) == 0;
                else if (algo == PGPHASHALGO_MD5 && md5 != NULL)
                    o->verified = strcmp(hex, md5) == 0;
            }
            free(hex);
        }
        free(evr);
        rpmfiFree(fi);
        rpmdbFreeIterator(mi);
    }
    return e == 0 && col_rpm_msgs > 0 ? DA_ERR_RPMDB : e;
}

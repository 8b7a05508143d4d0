/* patches on an rpm root (RHEL, Rocky, AlmaLinux, Fedora, Amazon Linux):
 * installed packages from the rpm database (rpm_db.c), pending upgrades
 * computed offline from the repository metadata dnf has cached, with dnf's
 * rules (enabled repositories, excludes and includepkgs, priorities, the
 * upgrade and "latest" filters of `dnf check-update`, installonly packages
 * compared with the newest installed), and the security flag with the
 * semantics of `dnf updateinfo list --security`. libsolv parses the XML
 * from streams over descriptors the file layer opened. */
#include "rpm.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <solv/dataiterator.h>
#include <solv/knownid.h>
#include <solv/pool.h>
#include <solv/poolid.h>
#include <solv/repo.h>
#include <solv/repo_repomdxml.h>
#include <solv/repo_rpmmd.h>
#include <solv/repo_updateinfoxml.h>
#include <solv/solv_xfopen.h>

#include "caps.h"
#include "err.h"

#define COL_DNF_CONF       "/etc/dnf/dnf.conf"
#define COL_DNF_VARS       "/etc/dnf/vars"
#define COL_DNF_CACHE      "/var/cache/dnf"
#define COL_VERSIONLOCK    "/etc/dnf/plugins/versionlock.conf"
#define COL_MAX_RPM_REPOMD (4u * 1024 * 1024)

/* The files the pending set was computed from (the cache's key). */
#define COL_RPM_MAX_INPUTS 1024
struct col_inputs {
    char (*v)[600];
    size_t n;
    int over; /* more than COL_RPM_MAX_INPUTS: no cache */
};

static void col_input(struct col_inputs *in, const char *path)
{
    if (in == NULL)
        return;
    if (in->v == NULL)
        in->v = calloc(COL_RPM_MAX_INPUTS, sizeof(*in->v));
    if (in->v == NULL || in->n >= COL_RPM_MAX_INPUTS || strlen(path) >= sizeof(in->v[0])) {
        in->over = 1;
        return;
    }
    memcpy(in->v[in->n++], path, strlen(path) + 1);
}

/* Why the pending set is unknown (the first cause), and what was read. */
struct col_why {
    const char *reason;
    char detail[700];
    struct col_inputs *in;
};

static void col_why_set(struct col_why *w, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void col_why_set(struct col_why *w, const char *reason, const char *fmt, ...)
{
    va_list ap;

    if (w->reason != NULL)
        return;
    w->reason = reason;
    va_start(ap, fmt);
    vsnprintf(w->detail, sizeof(w->detail), fmt, ap);
    va_end(ap);
}

static void col_why_err(struct col_why *w, int e, const char *path)
{
    char d[700];

    if (w->reason != NULL)
        return;
    col_err_detail(e, path, d, sizeof(d));
    col_why_set(w, e == DA_ERR_COLLECT_PARSE ? COL_R_PARSE : col_err_reason(e), "%s", d);
}

static const char *col_rpmdb_reason(int e)
{
    if (e == DA_ERR_RPMDB_WOULD_WRITE || e == DA_ERR_UNSUPPORTED)
        return COL_R_UNSUPPORTED;
    if (e == DA_ERR_RPMDB)
        return COL_R_IO;
    return col_err_reason(e);
}

/* ---- installed packages ---- */

static int col_rpm_installed(const struct col_ctx *ctx, const char *dir, struct col_rpm_pkgs *pk,
                             char *why, size_t why_n)
{
    struct col_rpmdb *db = NULL;
    int e = col_rpmdb_open(ctx, dir, &db, why, why_n);

    if (e < 0)
        return e;
    e = col_rpmdb_packages(db, pk);
    if (e == DA_ERR_RPMDB)
        snprintf(why, why_n, "%s: librpm cannot read the database", dir);
    else if (e < 0)
        col_err_detail(e, dir, why, why_n);
    col_rpmdb_close(db);
    return e;
}

static int col_inventory_lines(const struct col_rpm_pkgs *pk, struct da_buf *out)
{
    int r = 0;

    for (size_t i = 0; r == 0 && i < pk->n; i++)
        r = da_buf_printf(out, "%s:%s=%s\n", pk->v[i].name, pk->v[i].arch, pk->v[i].evr);
    return r;
}

int col_rpm_inventory(const struct col_ctx *ctx, const char *dir, struct da_buf *out)
{
    struct col_rpm_pkgs pk = {NULL, 0};
    char why[700];
    int r = col_rpm_installed(ctx, dir, &pk, why, sizeof(why));

    if (r == 0)
        r = col_inventory_lines(&pk, out);
    col_rpm_pkgs_free(&pk);
    return r == DA_ERR_NOMEM || r == 0 ? r : DA_ERR_COLLECT;
}

/* Index of the first installed package named name (pk sorted by name). */
static size_t col_find_name(const struct col_rpm_pkgs *pk, const char *name)
{
    size_t lo = 0, hi = pk->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(pk->v[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int col_arch_compat(const char *a, const char *b)
{
    return strcmp(a, b) == 0 || strcmp(a, "noarch") == 0 || strcmp(b, "noarch") == 0;
}

/* dnf's upgrade test: the installed package (newest of that name with a
 * compatible architecture) that cand upgrades, or NULL when no such package
 * is installed or one of them is as new as cand or newer. */
static const struct col_rpm_pkg *col_upgrades(const struct col_rpm_pkgs *pk, const char *name,
                                              const char *evr, const char *arch)
{
    const struct col_rpm_pkg *best = NULL;

    for (size_t i = col_find_name(pk, name); i < pk->n && strcmp(pk->v[i].name, name) == 0; i++) {
        const struct col_rpm_pkg *p = &pk->v[i];

        if (!col_arch_compat(p->arch, arch))
            continue;
        if (col_rpm_evrcmp(p->evr, evr) >= 0)
            return NULL;
        if (best == NULL || col_rpm_evrcmp(p->evr, best->evr) > 0)
            best = p;
    }
    return best;
}

/* ---- configuration ---- */

static int col_conf_file(const struct col_ctx *ctx, struct col_rpm_conf *c,
                         const struct col_rpm_vars *vars, const char *path, int main,
                         struct col_why *w)
{
    struct da_buf b;
    int e;

    da_buf_init(&b, DA_MAX_CONFIG * 4);
    col_input(w->in, path);
    e = col_read_file(ctx, path, &b);
    if (e == 0)
        e = col_rpm_conf_parse(c, vars, da_buf_str(&b), da_buf_len(&b), main);
    da_buf_free(&b);
    if (e < 0 && e != DA_ERR_NOMEM && !(main && e == DA_ERR_NOT_FOUND))
        col_why_err(w, e, path);
    return e == DA_ERR_NOMEM ? e : 0;
}

/* /etc/dnf/vars/NAME (first line) and the variables dnf derives itself. */
static int col_load_vars(const struct col_ctx *ctx, const struct col_rpm_pkgs *pk,
                         struct col_rpm_vars *vars, struct col_why *w)
{
    struct col_names names = {NULL, 0};
    char arch[64] = "", path[600], line[256];
    size_t best = 0;
    int e;

    /* the architecture most installed packages are built for */
    for (size_t i = 0; i < pk->n; i++) {
        size_t cnt = 0;

        if (strcmp(pk->v[i].arch, "noarch") == 0 || strcmp(pk->v[i].arch, arch) == 0)
            continue;
        for (size_t k = 0; k < pk->n; k++)
            cnt += strcmp(pk->v[k].arch, pk->v[i].arch) == 0;
        if (cnt > best) {
            best = cnt;
            snprintf(arch, sizeof(arch), "%s", pk->v[i].arch);
        }
        if (best > pk->n / 2)
            break;
    }
    e = col_rpm_vars_set(vars, "basearch", arch[0] != '\0' ? arch : NULL);
    if (e == 0)
        e = col_rpm_vars_set(vars, "arch", arch[0] != '\0' ? arch : NULL);
    if (e == 0)
        e = col_rpm_vars_set(vars, "releasever", NULL);
    if (e < 0)
        return e;
    col_input(w->in, COL_DNF_VARS);
    e = col_list_dir(ctx, COL_DNF_VARS, 64, &names);
    if (e == DA_ERR_NOT_FOUND)
        return 0;
    if (e < 0) {
        col_why_err(w, e, COL_DNF_VARS);
        return e == DA_ERR_NOMEM ? e : 0;
    }
    for (size_t i = 0; e == 0 && i < names.n; i++) {
        if (strspn(names.v[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
            strlen(names.v[i]))
            continue;
        snprintf(path, sizeof(path), COL_DNF_VARS "/%s", names.v[i]);
        col_input(w->in, path);
        e = col_read_line(ctx, path, line, sizeof(line));
        if (e == 0)
            e = col_rpm_vars_set(vars, names.v[i], line);
        else if (e != DA_ERR_NOMEM) {
            col_why_err(w, e, path);
            e = 0;
        }
    }
    col_names_free(&names);
    return e;
}

static int col_load_conf(const struct col_ctx *ctx, const struct col_rpm_vars *vars,
                         struct col_rpm_conf *c, struct col_why *w)
{
    static const char *const def_dirs[] = {"/etc/yum.repos.d", "/etc/yum/repos.d",
                                           "/etc/distro.repos.d"};
    int e;

    snprintf(c->cachedir, sizeof(c->cachedir), "%s", COL_DNF_CACHE);
    e = col_conf_file(ctx, c, vars, COL_DNF_CONF, 1, w);
    if (e < 0)
        return e;
    if (!c->reposdir_set)
        for (size_t i = 0; e == 0 && i < 3; i++)
            e = col_rpm_list_add(&c->reposdir, def_dirs[i]);
    for (size_t d = 0; e == 0 && d < c->reposdir.n; d++) {
        struct col_names names = {NULL, 0};
        const char *dir = c->reposdir.v[d];
        char path[1200];

        if (dir[0] != '/') {
            col_why_set(w, COL_R_PARSE, "%s: reposdir %s is not absolute", COL_DNF_CONF, dir);
            continue;
        }
        col_input(w->in, dir);
        e = col_list_dir(ctx, dir, DA_MAX_CONF_DIR, &names);
        if (e == DA_ERR_NOT_FOUND) {
            e = 0;
            continue;
        }
        if (e < 0) {
            col_why_err(w, e, dir);
            e = e == DA_ERR_NOMEM ? e : 0;
            continue;
        }
        for (size_t i = 0; e == 0 && i < names.n; i++) {
            size_t len = strlen(names.v[i]);

            if (len <= 5 || strcmp(names.v[i] + len - 5, ".repo") != 0)
                continue;
            snprintf(path, sizeof(path), "%s/%s", dir, names.v[i]);
            e = col_conf_file(ctx, c, vars, path, 0, w);
        }
        col_names_free(&names);
    }
    return e;
}

/* ---- metadata of one repository ---- */

static int col_location_ok(const char *loc)
{
    if (loc == NULL || loc[0] == '\0' || loc[0] == '/' || strlen(loc) > 512)
        return 0;
    for (const char *s = loc; *s != '\0';) {
        size_t n = strcspn(s, "/");

        if ((n == 2 && s[0] == '.' && s[1] == '.') || n == 0)
            return 0;
        s += n;
        if (*s == '/')
            s++;
    }
    return 1;
}

/* Feed one metadata file below the cache directory to a libsolv reader. */
static int col_solv_read(const struct col_ctx *ctx, const char *path, const char *loc, Repo *repo,
                         int kind)
{
    struct stat st;
    FILE *fp;
    int fd, e, rr;

    e = col_open_file(ctx, path, &fd, &st);
    if (e < 0)
        return e;
    if ((uint64_t)st.st_size > DA_MAX_RPM_METADATA) {
        close(fd);
        return da_rootfs_sys_error(EFBIG, path);
    }
    fp = solv_xfopen_fd(loc, fd, "r");
    if (fp == NULL) {
        close(fd);
        return DA_ERR_DECOMPRESS;
    }
    if (kind == 0)
        rr = repo_add_repomdxml(repo, fp, 0);
    else if (kind == 1)
        rr = repo_add_rpmmd(repo, fp, NULL, 0);
    else
        rr = repo_add_updateinfoxml(repo, fp, 0);
    fclose(fp);
    return rr != 0 ? DA_ERR_RPM_METADATA : 0;
}

struct col_repo_md {
    char dir[1400];
    char primary[600], updateinfo[600];
    int modules;
    time_t repomd_mtime;
};

/* The cache directory of an enabled repository, as dnf names it. */
static int col_repo_cache(const struct col_ctx *ctx, const struct col_rpm_conf *c,
                          const struct col_rpm_repo *repo, struct col_repo_md *md,
                          struct col_why *w)
{
    char name[200], path[1600];
    struct da_rootfs_glob g = {NULL, 0};
    struct stat st;
    int e;

    if (!repo->unresolved_vars && col_rpm_cache_name(repo, name, sizeof(name)) == 0) {
        snprintf(md->dir, sizeof(md->dir), "%s/%s", c->cachedir, name);
        snprintf(path, sizeof(path), "%s/repodata/repomd.xml", md->dir);
        e = col_stat(ctx, path, &st);
        if (e == 0)
            return 0;
        if (e != DA_ERR_NOT_FOUND) {
            col_why_err(w, e, path);
            return e;
        }
    }
    /* a variable we cannot substitute: the one cache of that repository */
    snprintf(path, sizeof(path),
             "%s/%s-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]"
             "[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-"
             "9a-f]/repodata/repomd.xml",
             c->cachedir, repo->id);
    e = col_glob(ctx, path, &g);
    if (e < 0) {
        col_why_err(w, e, da_rootfs_err_path());
        return e;
    }
    if (g.n == 1 && repo->unresolved_vars) {
        snprintf(md->dir, sizeof(md->dir), "%.*s", (int)(strlen(g.paths[0]) - 20), g.paths[0]);
        da_rootfs_glob_free(&g);
        return 0;
    }
    if (g.n > 1)
        col_why_set(w, COL_R_UNSUPPORTED,
                    "%s: %zu metadata caches for repository %s and its URL has a variable "
                    "that cannot be substituted",
                    c->cachedir, g.n, repo->id);
    else
        col_why_set(w, COL_R_NOT_PRESENT,
                    "%s: no cached metadata for the enabled repository %s (dnf makecache has not "
                    "run for it)",
                    c->cachedir, repo->id);
    da_rootfs_glob_free(&g);
    return DA_ERR_NOT_FOUND;
}

static int col_repomd(const struct col_ctx *ctx, const struct col_rpm_repo *repo,
                      struct col_repo_md *md, struct col_why *w)
{
    char path[1600];
    struct stat st;
    Pool *pool = pool_create();
    Repo *r = repo_create(pool, "repomd");
    Dataiterator di;
    int e;

    snprintf(path, sizeof(path), "%s/repodata/repomd.xml", md->dir);
    e = col_stat(ctx, path, &st);
    if (e == 0 && (uint64_t)st.st_size > COL_MAX_RPM_REPOMD)
        e = da_rootfs_sys_error(EFBIG, path);
    if (e == 0) {
        md->repomd_mtime = st.st_mtime;
        e = col_solv_read(ctx, path, "repomd.xml", r, 0);
    }
    if (e < 0) {
        if (e == DA_ERR_RPM_METADATA)
            col_why_set(w, COL_R_PARSE, "%s: %s", path, pool_errstr(pool));
        else
            col_why_err(w, e, path);
        pool_free(pool);
        return e;
    }
    dataiterator_init(&di, pool, r, SOLVID_META, REPOSITORY_REPOMD_TYPE, 0, 0);
    dataiterator_prepend_keyname(&di, REPOSITORY_REPOMD);
    while (dataiterator_step(&di)) {
        const char *type, *loc;

        dataiterator_setpos_parent(&di);
        type = pool_lookup_str(pool, SOLVID_POS, REPOSITORY_REPOMD_TYPE);
        loc = pool_lookup_str(pool, SOLVID_POS, REPOSITORY_REPOMD_LOCATION);
        if (type == NULL)
            continue;
        if (strcmp(type, "modules") == 0)
            md->modules = 1;
        if (strcmp(type, "primary") != 0 && strcmp(type, "updateinfo") != 0)
            continue;
        if (!col_location_ok(loc)) {
            col_why_set(w, COL_R_PARSE, "%s: %s location %s leaves the repository", path, type,
                        loc != NULL ? loc : "(none)");
            e = DA_ERR_RPM_METADATA;
            break;
        }
        snprintf(strcmp(type, "primary") == 0 ? md->primary : md->updateinfo, sizeof(md->primary),
                 "%s", loc);
    }
    dataiterator_free(&di);
    pool_free(pool);
    if (e == 0 && md->primary[0] == '\0') {
        col_why_set(w, COL_R_PARSE, "%s: no primary metadata listed", path);
        e = DA_ERR_RPM_METADATA;
    }
    (void)repo;
    return e;
}

/* ---- the computation ---- */

struct col_cand {
    Id solvable;
    int priority;
    const struct col_rpm_pkg *inst;
};

struct col_rpm_run {
    const struct col_ctx *ctx;
    struct col_rpm_pkgs pk;
    struct col_rpm_conf conf;
    struct col_rpm_vars vars;
    struct col_why why;
    Pool *pool;
    struct col_repo_md *md; /* per configured repository */
    struct col_inputs in;
    time_t oldest_repomd;
    size_t n_enabled, n_repos;
    int modular;
};

static int col_excluded(const struct col_rpm_conf *c, const struct col_rpm_repo *repo,
                        const char *name, const char *evr, const char *arch)
{
    if (col_rpm_pattern_match(&c->exclude, name, evr, arch) ||
        col_rpm_pattern_match(&repo->exclude, name, evr, arch))
        return 1;
    if (c->include.n > 0 && !col_rpm_pattern_match(&c->include, name, evr, arch))
        return 1;
    if (repo->include.n > 0 && !col_rpm_pattern_match(&repo->include, name, evr, arch))
        return 1;
    return 0;
}

static Pool *col_sort_pool;

static int col_cand_cmp(const void *a, const void *b)
{
    const struct col_cand *x = a, *y = b;
    Solvable *sx = pool_id2solvable(col_sort_pool, x->solvable);
    Solvable *sy = pool_id2solvable(col_sort_pool, y->solvable);
    int c = strcmp(pool_id2str(col_sort_pool, sx->name), pool_id2str(col_sort_pool, sy->name));

    if (c == 0)
        c = strcmp(pool_id2str(col_sort_pool, sx->arch), pool_id2str(col_sort_pool, sy->arch));
    if (c == 0)
        c = -col_rpm_evrcmp(pool_id2str(col_sort_pool, sx->evr),
                            pool_id2str(col_sort_pool, sy->evr));
    return c;
}

/* A security advisory that applies to an installed package. */
struct col_sec {
    const struct col_rpm_pkg *inst;
    char *id, *severity;
};

static int col_sec_cmp(const void *a, const void *b)
{
    const struct col_sec *x = a, *y = b;

    if (x->inst != y->inst)
        return x->inst < y->inst ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* The newest installed package of name.arch (dnf's installed().latest()). */
static const struct col_rpm_pkg *col_latest_installed(const struct col_rpm_pkgs *pk,
                                                      const char *name, const char *arch)
{
    const struct col_rpm_pkg *best = NULL;

    for (size_t i = col_find_name(pk, name); i < pk->n && strcmp(pk->v[i].name, name) == 0; i++)
        if (strcmp(pk->v[i].arch, arch) == 0 &&
            (best == NULL || col_rpm_evrcmp(pk->v[i].evr, best->evr) > 0))
            best = &pk->v[i];
    return best;
}

/* Security advisories of every loaded repository: for each advisory of type
 * security, each listed package whose name and architecture are installed
 * with an older version in its newest installed copy. */
static int col_security(struct col_rpm_run *run, struct col_sec **out, size_t *n_out)
{
    Pool *pool = run->pool;
    struct col_sec *v = NULL;
    size_t n = 0;
    Id p;

    *out = NULL;
    *n_out = 0;
    for (p = 2; p < pool->nsolvables; p++) {
        Solvable *s = pool_id2solvable(pool, p);
        const char *name, *cat, *sev;
        Dataiterator di;

        if (s->repo == NULL)
            continue;
        name = pool_id2str(pool, s->name);
        if (strncmp(name, "patch:", 6) != 0)
            continue;
        cat = solvable_lookup_str(s, SOLVABLE_PATCHCATEGORY);
        if (cat == NULL || strcmp(cat, "security") != 0)
            continue;
        sev = solvable_lookup_str(s, UPDATE_SEVERITY);
        dataiterator_init(&di, pool, s->repo, p, UPDATE_COLLECTION_NAME, 0, 0);
        dataiterator_prepend_keyname(&di, UPDATE_COLLECTION);
        while (dataiterator_step(&di)) {
            const char *cn, *cevr, *carch;
            const struct col_rpm_pkg *inst;

            dataiterator_setpos_parent(&di);
            cn = pool_lookup_str(pool, SOLVID_POS, UPDATE_COLLECTION_NAME);
            cevr = pool_lookup_str(pool, SOLVID_POS, UPDATE_COLLECTION_EVR);
            carch = pool_lookup_str(pool, SOLVID_POS, UPDATE_COLLECTION_ARCH);
            if (cn == NULL || cevr == NULL || carch == NULL)
                continue;
            inst = col_latest_installed(&run->pk, cn, carch);
            if (inst == NULL || col_rpm_evrcmp(cevr, inst->evr) <= 0)
                continue;
            if (n % 64 == 0) {
                struct col_sec *nv = realloc(v, (n + 64) * sizeof(*nv));

                if (nv == NULL) {
                    dataiterator_free(&di);
                    goto nomem;
                }
                v = nv;
            }
            v[n].inst = inst;
            v[n].id = strdup(name + 6);
            v[n].severity = sev != NULL && sev[0] != '\0' ? strdup(sev) : NULL;
            n++;
            if (v[n - 1].id == NULL ||
                (sev != NULL && sev[0] != '\0' && v[n - 1].severity == NULL)) {
                dataiterator_free(&di);
                goto nomem;
            }
        }
        dataiterator_free(&di);
    }
    if (n > 1)
        qsort(v, n, sizeof(v[0]), col_sec_cmp);
    *out = v;
    *n_out = n;
    return 0;
nomem:
    for (size_t i = 0; i < n; i++) {
        free(v[i].id);
        free(v[i].severity);
    }
    free(v);
    return DA_ERR_NOMEM;
}

static int col_pending_add(struct col_patch_facts *f, Pool *pool, const struct col_cand *c,
                           const struct col_sec *sec, size_t n_sec)
{
    Solvable *s = pool_id2solvable(pool, c->solvable);
    struct col_pending *nv, *p;

    if (f->n_pending >= COL_DEB_MAX_PENDING)
        return DA_ERR_TOO_LARGE;
    nv = realloc(f->pending, (f->n_pending + 1) * sizeof(*nv));
    if (nv == NULL)
        return DA_ERR_NOMEM;
    f->pending = nv;
    p = &nv[f->n_pending++];
    memset(p, 0, sizeof(*p));
    p->name = strdup(pool_id2str(pool, s->name));
    p->arch = strdup(pool_id2str(pool, s->arch));
    p->installed = strdup(c->inst->evr);
    p->candidate = strdup(pool_id2str(pool, s->evr));
    if (p->name == NULL || p->arch == NULL || p->installed == NULL || p->candidate == NULL)
        return DA_ERR_NOMEM;
    p->adv = calloc(1, sizeof(*p->adv)); /* non-NULL: the list is written, even empty */
    if (p->adv == NULL)
        return DA_ERR_NOMEM;
    for (size_t i = 0; i < n_sec; i++) {
        struct col_advisory *na;

        if (sec[i].inst != c->inst)
            continue;
        na = realloc(p->adv, (p->n_adv + 1) * sizeof(*na));
        if (na == NULL)
            return DA_ERR_NOMEM;
        p->adv = na;
        p->adv[p->n_adv].id = strdup(sec[i].id);
        p->adv[p->n_adv].severity = sec[i].severity != NULL ? strdup(sec[i].severity) : NULL;
        p->n_adv++;
        if (p->adv[p->n_adv - 1].id == NULL)
            return DA_ERR_NOMEM;
    }
    p->security = p->n_adv > 0;
    return 0;
}

/* Find every enabled repository's cache and read its repomd.xml; failures
 * go to run->why. */
static int col_find_repos(struct col_rpm_run *run)
{
    const struct col_ctx *ctx = run->ctx;

    run->md = calloc(run->conf.n_repos + 1, sizeof(*run->md));
    if (run->md == NULL)
        return DA_ERR_NOMEM;
    for (size_t i = 0; i < run->conf.n_repos && run->why.reason == NULL; i++) {
        const struct col_rpm_repo *repo = &run->conf.repos[i];
        struct col_repo_md *md = &run->md[i];
        char path[2200];

        if (!repo->enabled)
            continue;
        run->n_enabled++;
        if (col_repo_cache(ctx, &run->conf, repo, md, &run->why) < 0 ||
            col_repomd(ctx, repo, md, &run->why) < 0)
            break;
        if (md->modules) {
            col_why_set(&run->why, COL_R_UNSUPPORTED,
                        "%s: repository %s has module metadata (module streams filter its "
                        "packages; not evaluated)",
                        md->dir, repo->id);
            break;
        }
        snprintf(path, sizeof(path), "%s/repodata/repomd.xml", md->dir);
        col_input(&run->in, path);
        snprintf(path, sizeof(path), "%s/%s", md->dir, md->primary);
        col_input(&run->in, path);
        if (md->updateinfo[0] != '\0') {
            snprintf(path, sizeof(path), "%s/%s", md->dir, md->updateinfo);
            col_input(&run->in, path);
        }
        if (run->oldest_repomd == 0 || md->repomd_mtime < run->oldest_repomd)
            run->oldest_repomd = md->repomd_mtime;
    }
    return 0;
}

/* Read every enabled repository's packages and advisories into the pool;
 * 0 or DA_ERR_NOMEM (other failures go to run->why). */
static int col_load_repos(struct col_rpm_run *run)
{
    const struct col_ctx *ctx = run->ctx;

    for (size_t i = 0; i < run->conf.n_repos && run->why.reason == NULL; i++) {
        struct col_rpm_repo *repo = &run->conf.repos[i];
        const struct col_repo_md *md = &run->md[i];
        char path[2200];
        Repo *r;
        int e;

        if (!repo->enabled)
            continue;
        r = repo_create(run->pool, repo->id);
        r->appdata = repo;
        r->subpriority = 0;
        r->priority = -repo->priority;
        snprintf(path, sizeof(path), "%s/%s", md->dir, md->primary);
        e = col_solv_read(ctx, path, md->primary, r, 1);
        if (e == 0 && md->updateinfo[0] != '\0') {
            snprintf(path, sizeof(path), "%s/%s", md->dir, md->updateinfo);
            e = col_solv_read(ctx, path, md->updateinfo, r, 2);
        }
        if (e == DA_ERR_NOMEM)
            return e;
        if (e == DA_ERR_RPM_METADATA)
            col_why_set(&run->why, COL_R_PARSE, "%s: %s", path, pool_errstr(run->pool));
        else if (e == DA_ERR_DECOMPRESS)
            col_why_set(&run->why, COL_R_PARSE, "%s: cannot be decompressed", path);
        else if (e < 0)
            col_why_err(&run->why, e, path);
        run->n_repos++;
    }
    return 0;
}

/* The cache's key: the root, the installed set and the identity of every
 * file the computation reads. */
static int col_rpm_key(struct col_rpm_run *run, const char *inventory, struct da_buf *key)
{
    const struct col_ctx *ctx = run->ctx;
    int r;

    r = da_buf_printf(key, "devattest-rpm-pending 1\nroot %s\ninventory %s\n",
                      ctx->root[0] != '\0' ? ctx->root : "/", inventory);
    for (size_t i = 0; r == 0 && i < run->in.n; i++) {
        struct stat st;

        if (col_stat(ctx, run->in.v[i], &st) < 0)
            r = da_buf_printf(key, "key %s missing\n", run->in.v[i]);
        else
            r = da_buf_printf(key, "key %s %llu %llu %lld.%09ld %lld.%09ld\n", run->in.v[i],
                              (unsigned long long)st.st_ino, (unsigned long long)st.st_size,
                              (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                              (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
    }
    return r;
}

static int col_rpm_cache_load(struct col_rpm_run *run, const struct da_buf *key,
                              struct col_patch_facts *f)
{
    struct da_buf b;
    int64_t oldest = 0;
    int hit = 0;

    da_buf_init(&b, DA_MAX_COL_CACHE);
    if (col_read_state(run->ctx, COL_STATE_PATCHES_CACHE, &b) == 0 &&
        da_buf_len(&b) > da_buf_len(key) &&
        memcmp(da_buf_data(&b), da_buf_data(key), da_buf_len(key)) == 0 &&
        col_rpm_cache_parse(da_buf_str(&b) + da_buf_len(key), da_buf_len(&b) - da_buf_len(key), f,
                            &oldest) == 0) {
        if (oldest == (int64_t)run->oldest_repomd)
            hit = 1;
        else
            col_patch_facts_free(f);
    }
    da_buf_free(&b);
    return hit;
}

static void col_rpm_cache_store(struct col_rpm_run *run, const struct da_buf *key,
                                const struct col_patch_facts *f)
{
    struct da_buf all;

    da_buf_init(&all, DA_MAX_COL_CACHE);
    if (da_buf_append(&all, da_buf_data(key), da_buf_len(key)) == 0 &&
        col_rpm_cache_format(f, (int64_t)run->oldest_repomd, &all) == 0)
        (void)col_state_put(run->ctx, COL_STATE_PATCHES_CACHE, da_buf_data(&all), da_buf_len(&all));
    da_buf_free(&all);
}

static int col_compute(struct col_rpm_run *run, struct col_patch_facts *f)
{
    Pool *pool = run->pool;
    struct col_cand *c = NULL;
    struct col_sec *sec = NULL;
    size_t n = 0, n_sec = 0, i;
    int r = 0, *name_prio = NULL;
    Id p;

    /* dnf's priority rule: of the packages of one name, only those of the
     * repositories with the best priority among all available ones count,
     * whether they are upgrades or not */
    name_prio = malloc((size_t)pool->ss.nstrings * sizeof(*name_prio));
    if (name_prio == NULL)
        return DA_ERR_NOMEM;
    for (i = 0; i < (size_t)pool->ss.nstrings; i++)
        name_prio[i] = INT_MAX;
    for (p = 2; p < pool->nsolvables; p++) {
        Solvable *s = pool_id2solvable(pool, p);
        const struct col_rpm_repo *repo;
        const char *name, *arch;

        if (s->repo == NULL || s->name <= 0 || s->name >= pool->ss.nstrings)
            continue;
        repo = s->repo->appdata;
        name = pool_id2str(pool, s->name);
        arch = pool_id2str(pool, s->arch);
        if (strncmp(name, "patch:", 6) == 0 || strcmp(arch, "src") == 0 ||
            strcmp(arch, "nosrc") == 0 ||
            col_excluded(&run->conf, repo, name, pool_id2str(pool, s->evr), arch))
            continue;
        if (repo->priority < name_prio[s->name])
            name_prio[s->name] = repo->priority;
    }
    for (p = 2; p < pool->nsolvables; p++) {
        Solvable *s = pool_id2solvable(pool, p);
        const struct col_rpm_repo *repo;
        const char *name, *evr, *arch;
        const struct col_rpm_pkg *inst;

        if (s->repo == NULL || s->name <= 0 || s->name >= pool->ss.nstrings)
            continue;
        repo = s->repo->appdata;
        name = pool_id2str(pool, s->name);
        evr = pool_id2str(pool, s->evr);
        arch = pool_id2str(pool, s->arch);
        if (strncmp(name, "patch:", 6) == 0 || strcmp(arch, "src") == 0 ||
            strcmp(arch, "nosrc") == 0)
            continue;
        if (repo->priority != name_prio[s->name] || col_excluded(&run->conf, repo, name, evr, arch))
            continue;
        inst = col_upgrades(&run->pk, name, evr, arch);
        if (inst == NULL)
            continue;
        if (n % 256 == 0) {
            struct col_cand *nv = realloc(c, (n + 256) * sizeof(*nv));

            if (nv == NULL) {
                r = DA_ERR_NOMEM;
                goto out;
            }
            c = nv;
        }
        c[n].solvable = p;
        c[n].priority = repo->priority;
        c[n].inst = inst;
        n++;
    }
    col_sort_pool = pool;
    if (n > 1)
        qsort(c, n, sizeof(c[0]), col_cand_cmp);
    r = col_security(run, &sec, &n_sec);
    if (r < 0)
        goto out;
    /* per name: only the best priority; per name.arch: the newest */
    for (i = 0; i < n;) {
        Solvable *s = pool_id2solvable(pool, c[i].solvable);
        size_t end = i, k;
        int best = c[i].priority;

        while (end < n && pool_id2solvable(pool, c[end].solvable)->name == s->name) {
            if (c[end].priority < best)
                best = c[end].priority;
            end++;
        }
        for (k = i; k < end; k++) {
            Solvable *t = pool_id2solvable(pool, c[k].solvable);

            if (c[k].priority != best)
                continue;
            /* the first of each arch is its newest (sorted newest first) */
            if (k > i) {
                size_t j;
                int seen = 0;

                for (j = i; j < k; j++)
                    if (c[j].priority == best &&
                        pool_id2solvable(pool, c[j].solvable)->arch == t->arch)
                        seen = 1;
                if (seen)
                    continue;
            }
            r = col_pending_add(f, pool, &c[k], sec, n_sec);
            if (r < 0)
                goto out;
        }
        i = end;
    }
out:
    for (i = 0; i < n_sec; i++) {
        free(sec[i].id);
        free(sec[i].severity);
    }
    free(sec);
    free(c);
    free(name_prio);
    return r;
}

/* versionlock: a lock list dnf's plugin applies changes the candidates. */
static void col_versionlock(const struct col_ctx *ctx, struct col_why *w)
{
    struct da_buf b;
    int e;

    da_buf_init(&b, DA_MAX_CONFIG);
    col_input(w->in, COL_VERSIONLOCK);
    e = col_read_file(ctx, COL_VERSIONLOCK, &b);
    if (e == 0) {
        const char *t = da_buf_str(&b);
        const char *en = strstr(t, "enabled");

        if (en != NULL) {
            en += 7;
            en += strspn(en, " \t=");
            if (*en == '1' || strncasecmp(en, "yes", 3) == 0 || strncasecmp(en, "true", 4) == 0)
                col_why_set(w, COL_R_UNSUPPORTED,
                            "%s: the versionlock plugin is enabled (its locks are not evaluated)",
                            COL_VERSIONLOCK);
        }
    } else if (e != DA_ERR_NOT_FOUND)
        col_why_err(w, e, COL_VERSIONLOCK);
    da_buf_free(&b);
}

/* ---- the other facts ---- */

static int col_kernel_name(const char *n)
{
    return strcmp(n, "kernel") == 0 || strcmp(n, "kernel-core") == 0 ||
           strcmp(n, "kernel-uek") == 0 || strcmp(n, "kernel-uek-core") == 0 ||
           strcmp(n, "kernel-rt-core") == 0 || strcmp(n, "kernel-64k-core") == 0;
}

static int col_rpm_kernel(const struct col_ctx *ctx, cJSON *area, const struct col_rpm_pkgs *pk)
{
    const struct col_rpm_pkg *newest = NULL;
    char running[256], rel[700];
    struct stat st;
    int e, running_found = 0;

    e = col_read_line(ctx, "/proc/sys/kernel/osrelease", running, sizeof(running));
    if (e < 0)
        return col_add_unknown_err(area, "running_kernel_is_newest", e,
                                   "/proc/sys/kernel/osrelease");
    for (size_t i = 0; i < pk->n; i++) {
        const struct col_rpm_pkg *k = &pk->v[i];
        char kr[600];

        if (!col_kernel_name(k->name))
            continue;
        /* the release a kernel package installs: VERSION-RELEASE.ARCH */
        snprintf(kr, sizeof(kr), "%s.%s", strchr(k->evr, ':') ? strchr(k->evr, ':') + 1 : k->evr,
                 k->arch);
        snprintf(rel, sizeof(rel), "/lib/modules/%s", kr);
        if (col_stat(ctx, rel, &st) != 0) {
            snprintf(rel, sizeof(rel), "/boot/vmlinuz-%s", kr);
            if (col_stat(ctx, rel, &st) != 0)
                continue;
        }
        if (strcmp(kr, running) == 0)
            running_found = 1;
        if (newest == NULL || col_rpm_evrcmp(k->evr, newest->evr) > 0)
            newest = k;
    }
    if (newest == NULL)
        return col_add_unknown(area, "running_kernel_is_newest", COL_R_NOT_PRESENT,
                               "no installed kernel package (kernel not packaged here)");
    if (!running_found)
        return col_add_unknown(area, "running_kernel_is_newest", COL_R_NOT_PRESENT,
                               "running kernel is not from an installed package");
    {
        char nr[600];

        snprintf(nr, sizeof(nr), "%s.%s",
                 strchr(newest->evr, ':') ? strchr(newest->evr, ':') + 1 : newest->evr,
                 newest->arch);
        return col_add_bool(area, "running_kernel_is_newest", strcmp(nr, running) == 0);
    }
}

/* dnf-automatic's timers enabled in systemd, or yum-cron; and whether the
 * configuration applies updates. */
static int col_rpm_auto(const struct col_ctx *ctx, cJSON *area, const struct col_rpm_pkgs *pk)
{
    static const char *const timers[] = {"dnf-automatic.timer", "dnf-automatic-install.timer",
                                         "dnf5-automatic.timer"};
    static const char *const wants[] = {"/etc/systemd/system/timers.target.wants",
                                        "/etc/systemd/system/multi-user.target.wants"};
    const char *timer = NULL, *conf = NULL;
    char path[600], line[8];
    int apply = 0, installed = 0, e, r;
    struct stat st;
    struct da_buf b;
    cJSON *o;

    for (size_t i = 0; i < pk->n; i++)
        if (strcmp(pk->v[i].name, "dnf-automatic") == 0 || strcmp(pk->v[i].name, "yum-cron") == 0)
            installed = 1;
    for (size_t i = 0; timer == NULL && i < sizeof(timers) / sizeof(timers[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", wants[0], timers[i]);
        e = col_lstat(ctx, path, &st);
        if (e == 0)
            timer = timers[i];
        else if (e != DA_ERR_NOT_FOUND)
            return col_add_unknown_err(area, "auto_updates", e, path);
    }
    if (timer == NULL) {
        snprintf(path, sizeof(path), "%s/yum-cron.service", wants[1]);
        e = col_lstat(ctx, path, &st);
        if (e == 0)
            timer = "yum-cron.service";
        else if (e != DA_ERR_NOT_FOUND)
            return col_add_unknown_err(area, "auto_updates", e, path);
    }
    /* dnf-automatic-install.timer applies updates whatever the file says */
    conf = timer != NULL && strcmp(timer, "yum-cron.service") == 0 ? "/etc/yum/yum-cron.conf"
                                                                   : "/etc/dnf/automatic.conf";
    da_buf_init(&b, DA_MAX_CONFIG);
    e = col_read_file(ctx, conf, &b);
    if (e == 0) {
        const char *t = da_buf_str(&b), *a = t;

        while ((a = strstr(a, "apply_updates")) != NULL) {
            const char *v = a + 13;

            if (a == t || a[-1] == '\n') {
                v += strspn(v, " \t");
                if (*v == '=') {
                    v++;
                    v += strspn(v, " \t");
                    snprintf(line, sizeof(line), "%.*s", (int)strcspn(v, " \t\r\n#"), v);
                    apply = col_rpm_bool(line) == 1;
                }
            }
            a = v;
        }
    }
    da_buf_free(&b);
    if (e < 0 && e != DA_ERR_NOT_FOUND)
        return col_add_unknown_err(area, "auto_updates", e, conf);
    if (timer != NULL && strcmp(timer, "dnf-automatic-install.timer") == 0)
        apply = 1;
    o = cJSON_CreateObject();
    COL_TRY(col_add_item(area, "auto_updates", o));
    COL_TRY(col_add_bool(o, "enabled", installed && timer != NULL && apply));
    COL_TRY(col_add_bool(o, "dnf_automatic_installed", installed));
    if (timer != NULL)
        COL_TRY(col_add_str(o, "timer", timer));
    else
        COL_TRY(cJSON_AddNullToObject(o, "timer") != NULL ? 0 : DA_ERR_NOMEM);
    COL_TRY(col_add_bool(o, "apply_updates", apply));
out:
    return r;
}

static int col_rpm_all_unknown(cJSON *area, const char *reason, const char *detail)
{
    static const char *const keys[] = {"installed_count",
                                       "inventory_sha256",
                                       "pending",
                                       "pending_count",
                                       "security_pending_count",
                                       "repos_count",
                                       "lists_age_s",
                                       "auto_updates",
                                       "reboot_required",
                                       "running_kernel_is_newest"};
    int r = 0;

    for (size_t i = 0; r == 0 && i < sizeof(keys) / sizeof(keys[0]); i++)
        r = col_add_unknown(area, keys[i], reason, detail);
    return r;
}

int col_rpm_patches_err(cJSON *area, int err, const char *where)
{
    char d[700];
    int r;

    col_err_detail(err, where, d, sizeof(d));
    r = col_add_unknown(area, "manager", col_err_reason(err), d);
    return r < 0 ? r : col_rpm_all_unknown(area, col_err_reason(err), d);
}

int col_rpm_patches(const struct col_ctx *ctx, cJSON *area, const char *dir)
{
    struct col_rpm_run run;
    struct col_patch_facts f;
    struct da_buf inv, key;
    char why[700];
    int r, e, hit = 0;

    memset(&run, 0, sizeof(run));
    da_buf_init(&key, DA_MAX_COL_CACHE);
    memset(&f, 0, sizeof(f));
    run.ctx = ctx;
    da_buf_init(&inv, DA_MAX_DPKG_STATUS);
    COL_TRY(col_add_str(area, "manager", "rpm"));
    e = col_rpm_installed(ctx, dir, &run.pk, why, sizeof(why));
    if (e == DA_ERR_NOMEM) {
        r = e;
        goto out;
    }
    if (e < 0) {
        r = col_rpm_all_unknown(area, col_rpmdb_reason(e), why);
        goto out;
    }
    COL_TRY(col_add_num(area, "installed_count", (double)run.pk.n));
    {
        unsigned char md[SHA256_DIGEST_LENGTH];

        COL_TRY(col_inventory_lines(&run.pk, &inv));
        SHA256((const unsigned char *)da_buf_data(&inv), da_buf_len(&inv), md);
        col_hex(md, sizeof(md), f.inventory_sha256);
        COL_TRY(col_add_str(area, "inventory_sha256", f.inventory_sha256));
    }
    run.why.in = &run.in;
    COL_TRY(col_load_vars(ctx, &run.pk, &run.vars, &run.why));
    COL_TRY(col_load_conf(ctx, &run.vars, &run.conf, &run.why));
    col_versionlock(ctx, &run.why);
    run.pool = pool_create();
    if (run.pool == NULL) {
        r = DA_ERR_NOMEM;
        goto out;
    }
    if (run.why.reason == NULL)
        COL_TRY(col_find_repos(&run));
    if (run.why.reason == NULL && run.n_enabled == 0)
        col_why_set(&run.why, COL_R_NOT_PRESENT, "no enabled dnf repository");
    if (run.why.reason == NULL && ctx->state_dir != NULL && !run.in.over) {
        COL_TRY(col_rpm_key(&run, f.inventory_sha256, &key));
        hit = col_rpm_cache_load(&run, &key, &f);
    }
    if (run.why.reason == NULL && !hit)
        COL_TRY(col_load_repos(&run));
    if (run.why.reason == NULL)
        COL_TRY(col_add_num(area, "repos_count", (double)run.n_enabled));
    else
        COL_TRY(col_add_unknown(area, "repos_count", run.why.reason, run.why.detail));
    if (run.why.reason == NULL && run.oldest_repomd > 0)
        COL_TRY(
            col_add_num(area, "lists_age_s",
                        run.oldest_repomd > ctx->now ? 0 : (double)(ctx->now - run.oldest_repomd)));
    else
        COL_TRY(col_add_unknown(area, "lists_age_s", run.why.reason, run.why.detail));
    if (run.why.reason == NULL && !hit) {
        COL_TRY(col_compute(&run, &f));
        if (da_buf_len(&key) > 0)
            col_rpm_cache_store(&run, &key, &f);
    }
    if (run.why.reason != NULL) {
        COL_TRY(col_add_unknown(area, "pending", run.why.reason, run.why.detail));
        COL_TRY(col_add_unknown(area, "pending_count", run.why.reason, run.why.detail));
        COL_TRY(col_add_unknown(area, "security_pending_count", run.why.reason, run.why.detail));
    } else {
        COL_TRY(col_patches_pending(ctx, area, &f));
    }
    COL_TRY(col_rpm_auto(ctx, area, &run.pk));
    COL_TRY(col_add_unknown(area, "reboot_required", COL_R_UNSUPPORTED,
                            "rpm systems keep no reboot-required marker file"));
    COL_TRY(col_rpm_kernel(ctx, area, &run.pk));
out:
    if (run.pool != NULL)
        pool_free(run.pool);
    col_rpm_conf_free(&run.conf);
    col_rpm_vars_free(&run.vars);
    col_rpm_pkgs_free(&run.pk);
    col_patch_facts_free(&f);
    da_buf_free(&inv);
    da_buf_free(&key);
    free(run.md);
    free(run.in.v);
    return r;
}

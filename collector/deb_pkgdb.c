/* Installed packages (dpkg status) with a hash index, and the offline
 * candidate computation apt's policy does:
 *   - a version's priority is that of the first specific pin matching it;
 *     otherwise the highest priority of the lists holding it (500, or 100 /
 *     1 for NotAutomatic releases, or what a generic pin gives the list);
 *     the installed version also has the status file's 100;
 *   - going from the newest version down, a version becomes the candidate
 *     when its priority is higher than the candidate's so far (and not 0);
 *     versions older than the installed one are skipped unless their
 *     priority is 1000 or more;
 *   - a pending upgrade is a candidate newer than the installed version; it
 *     is security when apt, given only the security suites' lists, would
 *     also upgrade the package: the same selection run over the versions
 *     found in security suites (with those lists' priorities and pins) and
 *     the installed version yields a version newer than the installed one.
 *     So a security fix masked by a newer candidate from -updates or a
 *     point release still counts, as Ubuntu's apt-check counts it. */
#include "deb.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "caps.h"
#include "err.h"

/* What one view of the lists (all of them, or the security suites only)
 * says of a version: present in it, its highest list priority there, and the
 * first specific pin matching it there. */
struct col_prio {
    int present;
    int priority;     /* highest list priority */
    int pin;          /* index of the first specific pin matching, -1 none */
    int pin_priority; /* its priority */
};

enum { COL_VIEW_ALL, COL_VIEW_SECURITY, COL_VIEWS };

struct col_ver {
    char *version;
    struct col_prio view[COL_VIEWS];
};

struct col_pkg {
    char *name;
    char *arch; /* as dpkg records it */
    char *version;
    uint32_t hash;
    struct col_prio inst[COL_VIEWS]; /* the installed version */
    struct col_ver *newer;           /* versions other than the installed one */
    size_t n_newer;
};

struct col_pkgdb {
    struct col_pkg *pkgs;
    size_t n, cap;
    uint32_t *slots; /* index + 1; 0 is empty */
    size_t nslots;
    char native[64];
    int uu_installed;
    const struct col_pins *pins;
    /* stanzas dpkg warns about (kept) or refuses (skipped), with the first
     * COL_DEB_MAX_NOTES of them described */
    uint64_t status_warnings, status_skipped, stanza_no;
    char **notes;
    size_t n_notes;
};

/* Describe one odd stanza of the status file. */
static int col_pkgdb_note(struct col_pkgdb *db, const struct col_span *name,
                          const struct col_span *version, const char *what, const char *why)
{
    char text[512], **nn;

    if (db->n_notes >= COL_DEB_MAX_NOTES)
        return 0;
    snprintf(text, sizeof(text), "stanza %llu (package '%.*s', version '%.*s'): %s; %s",
             (unsigned long long)db->stanza_no,
             name->p != NULL ? (int)(name->n > 100 ? 100 : name->n) : 0,
             name->p != NULL ? name->p : "",
             version->p != NULL ? (int)(version->n > 100 ? 100 : version->n) : 0,
             version->p != NULL ? version->p : "", why, what);
    nn = realloc(db->notes, (db->n_notes + 1) * sizeof(*nn));
    if (nn == NULL)
        return DA_ERR_NOMEM;
    db->notes = nn;
    if ((nn[db->n_notes] = strdup(text)) == NULL)
        return DA_ERR_NOMEM;
    db->n_notes++;
    return 0;
}

void col_pkgdb_set_pins(struct col_pkgdb *db, const struct col_pins *pins)
{
    db->pins = pins;
}

static uint32_t col_hash(const char *name, size_t nn, const char *arch, size_t an)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < nn; i++)
        h = (h ^ (unsigned char)name[i]) * 16777619u;
    h = (h ^ 0xff) * 16777619u;
    for (i = 0; i < an; i++)
        h = (h ^ (unsigned char)arch[i]) * 16777619u;
    return h;
}

/* "all" packages belong to the native architecture, as apt treats them. */
static void col_norm_arch(const struct col_pkgdb *db, const char **a, size_t *an)
{
    if (*an == 3 && memcmp(*a, "all", 3) == 0 && db->native[0] != '\0') {
        *a = db->native;
        *an = strlen(db->native);
    }
}

static char *col_strndup_checked(const char *p, size_t n)
{
    char *s;

    if (n >= COL_DEB_MAX_FIELD)
        return NULL;
    s = malloc(n + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static struct col_pkg *col_pkgdb_find(const struct col_pkgdb *db, const char *name, size_t nn,
                                      const char *arch, size_t an)
{
    uint32_t h;
    size_t i;

    if (db->nslots == 0)
        return NULL;
    col_norm_arch(db, &arch, &an);
    h = col_hash(name, nn, arch, an);
    for (i = h & (db->nslots - 1);; i = (i + 1) & (db->nslots - 1)) {
        struct col_pkg *p;
        const char *pa;
        size_t pan;

        if (db->slots[i] == 0)
            return NULL;
        p = &db->pkgs[db->slots[i] - 1];
        if (p->hash != h || strlen(p->name) != nn || memcmp(p->name, name, nn) != 0)
            continue;
        pa = p->arch;
        pan = strlen(pa);
        col_norm_arch(db, &pa, &pan);
        if (pan == an && memcmp(pa, arch, an) == 0)
            return p;
    }
}

static int col_pkgdb_index(struct col_pkgdb *db)
{
    size_t i, j;

    db->nslots = 64;
    while (db->nslots < db->n * 2)
        db->nslots *= 2;
    free(db->slots);
    db->slots = calloc(db->nslots, sizeof(*db->slots));
    if (db->slots == NULL)
        return DA_ERR_NOMEM;
    for (i = 0; i < db->n; i++) {
        const char *a = db->pkgs[i].arch;
        size_t an = strlen(a);

        col_norm_arch(db, &a, &an);
        db->pkgs[i].hash = col_hash(db->pkgs[i].name, strlen(db->pkgs[i].name), a, an);
        for (j = db->pkgs[i].hash & (db->nslots - 1); db->slots[j] != 0;
             j = (j + 1) & (db->nslots - 1))
            ;
        db->slots[j] = (uint32_t)(i + 1);
    }
    return 0;
}

/* Is this dpkg Status one where a version is present on disk? */
static int col_status_installed(const struct col_span *st)
{
    const char *sp;
    size_t n;

    if (st->p == NULL)
        return -1;
    sp = memrchr(st->p, ' ', st->n);
    if (sp == NULL)
        return -1;
    n = (size_t)(st->p + st->n - sp - 1);
    if ((n == 13 && memcmp(sp + 1, "not-installed", 13) == 0) ||
        (n == 12 && memcmp(sp + 1, "config-files", 12) == 0))
        return 0;
    return 1;
}

static int col_status_stanza(const char *p, size_t n, void *arg)
{
    static const char *const names[] = {"Package", "Version", "Architecture", "Status"};
    struct col_pkgdb *db = arg;
    static const struct col_span none = {NULL, 0};
    struct col_span v[4];
    struct col_pkg *pkg;
    const char *why = NULL;
    int r, inst;

    db->stanza_no++;
    /* a stanza dpkg would refuse is skipped and described, never the end
     * of the whole installed set */
    r = col_deb822_get(p, n, names, 4, v);
    if (r == DA_ERR_NOMEM)
        return r;
    if (r < 0) {
        db->status_skipped++;
        return col_pkgdb_note(db, &none, &none, "skipped", "malformed fields");
    }
    if (v[0].p == NULL || v[0].n == 0) {
        db->status_skipped++;
        return col_pkgdb_note(db, &v[0], &v[1], "skipped", "no Package field");
    }
    inst = col_status_installed(&v[3]);
    if (inst < 0) {
        db->status_skipped++;
        return col_pkgdb_note(db, &v[0], &v[1], "skipped", "Status field does not parse");
    }
    if (inst == 0)
        return 0;
    if (v[1].p == NULL || v[2].p == NULL || v[2].n == 0 || v[2].n >= sizeof(db->native)) {
        db->status_skipped++;
        return col_pkgdb_note(db, &v[0], &v[1], "skipped", "no Version or Architecture field");
    }
    r = col_debver_check_why(v[1].p, v[1].n, &why);
    if (r < 0) {
        db->status_skipped++;
        return col_pkgdb_note(db, &v[0], &v[1], "skipped", why);
    }
    if (r == COL_DEBVER_WARN) {
        db->status_warnings++;
        r = col_pkgdb_note(db, &v[0], &v[1], "accepted, as dpkg does", why);
        if (r < 0)
            return r;
    }
    if (db->n >= DA_MAX_PACKAGES)
        return DA_ERR_TOO_LARGE;
    if (db->n == db->cap) {
        size_t ncap = db->cap != 0 ? db->cap * 2 : 1024;
        struct col_pkg *np = realloc(db->pkgs, ncap * sizeof(*np));

        if (np == NULL)
            return DA_ERR_NOMEM;
        db->pkgs = np;
        db->cap = ncap;
    }
    pkg = &db->pkgs[db->n];
    memset(pkg, 0, sizeof(*pkg));
    pkg->name = col_strndup_checked(v[0].p, v[0].n);
    pkg->version = col_strndup_checked(v[1].p, v[1].n);
    pkg->arch = col_strndup_checked(v[2].p, v[2].n);
    for (int w = 0; w < COL_VIEWS; w++) { /* dpkg's status gives 100 in every view */
        pkg->inst[w].present = 1;
        pkg->inst[w].priority = 100;
        pkg->inst[w].pin = -1;
    }
    db->n++; /* counted now so that free releases a partial entry */
    if (pkg->name == NULL || pkg->version == NULL || pkg->arch == NULL)
        return DA_ERR_NOMEM;
    if (strcmp(pkg->name, "dpkg") == 0 && strcmp(pkg->arch, "all") != 0)
        memcpy(db->native, pkg->arch, strlen(pkg->arch) + 1);
    if (strcmp(pkg->name, "unattended-upgrades") == 0)
        db->uu_installed = 1;
    return 0;
}

void col_pkgdb_free(struct col_pkgdb *db)
{
    size_t i, j;

    if (db == NULL)
        return;
    for (i = 0; i < db->n; i++) {
        free(db->pkgs[i].name);
        free(db->pkgs[i].arch);
        free(db->pkgs[i].version);
        for (j = 0; j < db->pkgs[i].n_newer; j++)
            free(db->pkgs[i].newer[j].version);
        free(db->pkgs[i].newer);
    }
    free(db->pkgs);
    free(db->slots);
    for (i = 0; i < db->n_notes; i++)
        free(db->notes[i]);
    free(db->notes);
    free(db);
}

static int col_pkg_cmp(const void *a, const void *b)
{
    const struct col_pkg *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c != 0 ? c : strcmp(x->arch, y->arch);
}

int col_pkgdb_from_status(const char *p, size_t n, struct col_pkgdb **out)
{
    struct col_pkgdb *db;
    size_t i;
    int r;

    *out = NULL;
    db = calloc(1, sizeof(*db));
    if (db == NULL)
        return DA_ERR_NOMEM;
    r = col_deb822_each(p, n, col_status_stanza, db);
    if (r < 0)
        goto out;
    if (db->n > 1)
        qsort(db->pkgs, db->n, sizeof(*db->pkgs), col_pkg_cmp);
    for (i = 1; i < db->n; i++) {
        if (col_pkg_cmp(&db->pkgs[i - 1], &db->pkgs[i]) == 0) {
            r = DA_ERR_COLLECT_PARSE; /* the same package twice */
            goto out;
        }
    }
    r = col_pkgdb_index(db);
    if (r < 0)
        goto out;
    *out = db;
    db = NULL; /* transferred */
out:
    col_pkgdb_free(db);
    return r;
}

size_t col_pkgdb_count(const struct col_pkgdb *db)
{
    return db->n;
}

/* Keep the first (lowest-index) specific pin matching a version. */
static void col_take_pin(int *pin, int *prio, int idx, int idx_prio)
{
    if (idx >= 0 && (*pin < 0 || idx < *pin)) {
        *pin = idx;
        *prio = idx_prio;
    }
}

/* A list holding the version, seen by the views it belongs to. */
static void col_prio_offer(struct col_prio *views, int priority, int security, int pin,
                           int pin_prio)
{
    int w;

    for (w = 0; w < COL_VIEWS; w++) {
        struct col_prio *v = &views[w];

        if (w == COL_VIEW_SECURITY && !security)
            continue;
        if (!v->present || priority > v->priority)
            v->priority = priority;
        if (!v->present)
            v->pin = -1;
        v->present = 1;
        col_take_pin(&v->pin, &v->pin_priority, pin, pin_prio);
    }
}

/* Record that version v of pkg exists in a list of this priority. */
static int col_pkg_offer(const struct col_pkgdb *db, struct col_pkg *pkg, const char *v, size_t vn,
                         int priority, int security, const struct col_list_match *m)
{
    char *ver;
    size_t i;
    struct col_ver *nv;
    int pin = -1, pin_prio = 0;

    ver = col_strndup_checked(v, vn);
    if (ver == NULL)
        return vn >= COL_DEB_MAX_FIELD ? DA_ERR_VERSION_SYNTAX : DA_ERR_NOMEM;
    if (db->pins != NULL)
        pin = col_pins_version_pin(db->pins, pkg->name, ver, m, &pin_prio);
    if (strcmp(ver, pkg->version) == 0 || col_debver_cmp(ver, pkg->version) == 0) {
        col_prio_offer(pkg->inst, priority, security, pin, pin_prio);
        free(ver);
        return 0;
    }
    for (i = 0; i < pkg->n_newer; i++) {
        if (strcmp(pkg->newer[i].version, ver) == 0) {
            col_prio_offer(pkg->newer[i].view, priority, security, pin, pin_prio);
            free(ver);
            return 0;
        }
    }
    if (pkg->n_newer >= 256) {
        free(ver);
        return DA_ERR_TOO_LARGE;
    }
    nv = realloc(pkg->newer, (pkg->n_newer + 1) * sizeof(*nv));
    if (nv == NULL) {
        free(ver);
        return DA_ERR_NOMEM;
    }
    pkg->newer = nv;
    memset(&nv[pkg->n_newer], 0, sizeof(nv[0]));
    nv[pkg->n_newer].version = ver;
    col_prio_offer(nv[pkg->n_newer].view, priority, security, pin, pin_prio);
    pkg->n_newer++;
    return 0;
}

int col_pkgdb_add_list_stanza(struct col_pkgdb *db, const char *p, size_t n, int priority,
                              int security, const struct col_list_match *m)
{
    static const char *const names[] = {"Package", "Version", "Architecture"};
    struct col_span v[3];
    struct col_pkg *pkg;
    int r;

    r = col_deb822_get(p, n, names, 3, v);
    if (r < 0)
        return r;
    if (v[0].p == NULL || v[1].p == NULL || v[2].p == NULL || v[0].n == 0)
        return DA_ERR_COLLECT_PARSE;
    pkg = col_pkgdb_find(db, v[0].p, v[0].n, v[2].p, v[2].n);
    if (pkg == NULL)
        return 0;
    if (col_debver_check(v[1].p, v[1].n) < 0)
        return 0; /* a version apt cannot hold is not a candidate */
    return col_pkg_offer(db, pkg, v[1].p, v[1].n, priority, security, m);
}

static int col_prio_effective(const struct col_prio *p)
{
    return p->pin >= 0 ? p->pin_priority : p->priority;
}

/* apt's candidate in one view of the lists: NULL when it is the installed
 * version, or when the candidate is not newer (a pinned downgrade is not an
 * upgrade). */
static const struct col_ver *col_pkg_candidate(const struct col_pkgdb *db,
                                               const struct col_pkg *pkg, int view)
{
    const struct col_ver *cand = NULL;
    struct col_prio inst = pkg->inst[view];
    int cand_prio = -1, inst_prio, cand_is_installed = 0, inst_done = 0;
    size_t i, done = 0;
    unsigned char used[256];

    /* version pins also apply to the installed version seen in the status file */
    if (db->pins != NULL) {
        int pp = 0, idx = col_pins_version_pin(db->pins, pkg->name, pkg->version, NULL, &pp);

        col_take_pin(&inst.pin, &inst.pin_priority, idx, pp);
    }
    inst_prio = col_prio_effective(&inst);
    memset(used, 0, sizeof(used));
    for (i = 0; i < pkg->n_newer; i++)
        if (!pkg->newer[i].view[view].present) {
            used[i] = 1; /* not in this view's lists */
            done++;
        }
    /* walk all versions from the newest down (n is small: a selection walk) */
    while (done < pkg->n_newer + 1) {
        const struct col_ver *best = NULL;
        size_t bi = 0;
        int prio;

        for (i = 0; i < pkg->n_newer; i++)
            if (!used[i] &&
                (best == NULL || col_debver_cmp(pkg->newer[i].version, best->version) > 0)) {
                best = &pkg->newer[i];
                bi = i;
            }
        if (!inst_done && (best == NULL || col_debver_cmp(pkg->version, best->version) > 0)) {
            inst_done = 1;
            done++;
            if (inst_prio != 0 && inst_prio > cand_prio) {
                cand_prio = inst_prio;
                cand_is_installed = 1;
                cand = NULL;
            }
            continue;
        }
        used[bi] = 1;
        done++;
        prio = col_prio_effective(&best->view[view]);
        if (prio == 0 || prio <= cand_prio)
            continue;
        if (prio < 1000 && col_debver_cmp(best->version, pkg->version) < 0)
            continue;
        cand_prio = prio;
        cand = best;
        cand_is_installed = 0;
    }
    if (cand_is_installed || cand == NULL || col_debver_cmp(cand->version, pkg->version) <= 0)
        return NULL;
    return cand;
}

void col_patch_facts_free(struct col_patch_facts *f)
{
    size_t i;

    if (f == NULL)
        return;
    for (i = 0; i < f->n_pending; i++) {
        free(f->pending[i].name);
        free(f->pending[i].arch);
        free(f->pending[i].installed);
        free(f->pending[i].candidate);
        for (size_t k = 0; k < f->pending[i].n_adv; k++) {
            free(f->pending[i].adv[k].id);
            free(f->pending[i].adv[k].severity);
        }
        free(f->pending[i].adv);
    }
    free(f->pending);
    for (i = 0; i < f->n_kernels; i++) {
        free(f->kernels[i].release);
        free(f->kernels[i].version);
    }
    free(f->kernels);
    for (i = 0; i < f->n_status_notes; i++)
        free(f->status_notes[i]);
    free(f->status_notes);
    memset(f, 0, sizeof(*f));
}

static int col_facts_inventory(const struct col_pkgdb *db, struct col_patch_facts *out)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char dig[32];
    unsigned int dlen = 0;
    size_t i;
    int ok;

    if (md == NULL)
        return DA_ERR_NOMEM;
    ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    /* pkgs are sorted by (name, arch): the digest is stable */
    for (i = 0; ok && i < db->n; i++) {
        const struct col_pkg *p = &db->pkgs[i];

        ok = EVP_DigestUpdate(md, p->name, strlen(p->name)) && EVP_DigestUpdate(md, ":", 1) &&
             EVP_DigestUpdate(md, p->arch, strlen(p->arch)) && EVP_DigestUpdate(md, "=", 1) &&
             EVP_DigestUpdate(md, p->version, strlen(p->version)) && EVP_DigestUpdate(md, "\n", 1);
    }
    ok = ok && EVP_DigestFinal_ex(md, dig, &dlen);
    EVP_MD_CTX_free(md);
    if (!ok || dlen != 32)
        return DA_ERR_CRYPTO;
    for (i = 0; i < 32; i++) {
        static const char hx[] = "0123456789abcdef";

        out->inventory_sha256[2 * i] = hx[dig[i] >> 4];
        out->inventory_sha256[2 * i + 1] = hx[dig[i] & 15];
    }
    out->inventory_sha256[64] = '\0';
    return 0;
}

static int col_facts_kernels(const struct col_pkgdb *db, struct col_patch_facts *out)
{
    static const char prefix[] = "linux-image-";
    size_t i, plen = sizeof(prefix) - 1;

    for (i = 0; i < db->n; i++) {
        const struct col_pkg *p = &db->pkgs[i];
        struct col_kernel_pkg *nk;

        if (strncmp(p->name, prefix, plen) != 0 || p->name[plen] == '\0')
            continue;
        nk = realloc(out->kernels, (out->n_kernels + 1) * sizeof(*nk));
        if (nk == NULL)
            return DA_ERR_NOMEM;
        out->kernels = nk;
        nk[out->n_kernels].release = strdup(p->name + plen);
        nk[out->n_kernels].version = strdup(p->version);
        out->n_kernels++;
        if (nk[out->n_kernels - 1].release == NULL || nk[out->n_kernels - 1].version == NULL)
            return DA_ERR_NOMEM;
    }
    return 0;
}

int col_pkgdb_inventory(const struct col_pkgdb *db, struct da_buf *out)
{
    size_t i;
    int r = 0;

    /* the lines whose SHA-256 col_facts_inventory computes, in its order */
    for (i = 0; r == 0 && i < db->n; i++) {
        const struct col_pkg *p = &db->pkgs[i];

        r = da_buf_printf(out, "%s:%s=%s\n", p->name, p->arch, p->version);
    }
    return r;
}

int col_pkgdb_facts(const struct col_pkgdb *db, struct col_patch_facts *out)
{
    size_t i;
    int r;

    memset(out, 0, sizeof(*out));
    out->installed_count = db->n;
    out->unattended_upgrades_installed = db->uu_installed;
    out->status_warnings = db->status_warnings;
    out->status_skipped = db->status_skipped;
    r = 0;
    if (db->n_notes > 0) {
        out->status_notes = calloc(db->n_notes, sizeof(char *));
        r = out->status_notes == NULL ? DA_ERR_NOMEM : 0;
    }
    for (i = 0; r == 0 && i < db->n_notes; i++) {
        out->status_notes[i] = strdup(db->notes[i]);
        out->n_status_notes++;
        if (out->status_notes[i] == NULL)
            r = DA_ERR_NOMEM;
    }
    if (r == 0)
        r = col_facts_inventory(db, out);
    if (r == 0)
        r = col_facts_kernels(db, out);
    for (i = 0; r == 0 && i < db->n; i++) {
        const struct col_pkg *p = &db->pkgs[i];
        const struct col_ver *c = col_pkg_candidate(db, p, COL_VIEW_ALL);
        struct col_pending *np, *e;

        if (c == NULL)
            continue;
        np = realloc(out->pending, (out->n_pending + 1) * sizeof(*np));
        if (np == NULL) {
            r = DA_ERR_NOMEM;
            break;
        }
        out->pending = np;
        e = &np[out->n_pending++];
        memset(e, 0, sizeof(*e));
        e->name = strdup(p->name);
        e->arch = strdup(p->arch);
        e->installed = strdup(p->version);
        e->candidate = strdup(c->version);
        e->security = col_pkg_candidate(db, p, COL_VIEW_SECURITY) != NULL;
        if (e->name == NULL || e->arch == NULL || e->installed == NULL || e->candidate == NULL)
            r = DA_ERR_NOMEM;
    }
    if (r < 0)
        col_patch_facts_free(out);
    return r;
}

/* RPM-family roots against dnf and rpm themselves.
 *
 * tests/fixtures/build-rpm-root.sh builds a root with Debian's rpmbuild,
 * rpm, createrepo_c and dnf: packages installed into the root's rpm
 * database, repositories with newer versions and an updateinfo.xml, a dnf
 * configuration (enabled and disabled repositories, excludes, a priority)
 * and dnf's own metadata cache from `dnf makecache`. The oracles run on the
 * same root:
 *   - `dnf --installroot=ROOT -C check-update`: the pending set (name.arch
 *     and candidate version) must be ours exactly;
 *   - `dnf --installroot=ROOT -C updateinfo list --security`: a pending
 *     upgrade is security exactly when dnf lists a security advisory for
 *     the package, with the same advisory ids;
 *   - `rpm --root=ROOT -V --nodeps PACKAGE`: a tool whose digest column
 *     shows "5" is package_verified false, a silent one true.
 * The configuration is then changed (a disabled repository enabled, the
 * exclude dropped) and the comparison made again. Other tests: the root is
 * unchanged by a collection (a listing of every name, size, mode and mtime
 * before and after, also without SQLite's -wal/-shm files), a corrupt
 * database and missing metadata are unknown with a reason (never an empty
 * pending list), and the shipped policy evaluates an rpm root. */
#include "da_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "collector.h"
#include "file.h"
#include "policy.h"
#include "rootfs.h"
#include "tmptree.h"

#define SHIPPED DA_SOURCE_ROOT "/common/policies/iso27001-2022-devenv.json"
#define MAX_ENT 64

static char base[256], root[400], repos[400], home[400], state_path[400];
static const char *state_dir; /* NULL: no caches */

struct ent {
    char key[160]; /* name.arch */
    char evr[128];
    char ids[256]; /* advisory ids, space separated, sorted */
};

struct set {
    struct ent v[MAX_ENT];
    size_t n;
};

static char *run(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    size_t len = 0, cap = 1 << 16;
    char *out = malloc(cap);
    size_t k;
    int st;

    assert_non_null(p);
    assert_non_null(out);
    while ((k = fread(out + len, 1, cap - 1 - len, p)) > 0)
        len += k;
    out[len] = '\0';
    st = pclose(p);
    if (status != NULL)
        *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

static struct ent *find(struct set *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].key, key) == 0)
            return &s->v[i];
    return NULL;
}

static struct ent *add(struct set *s, const char *key)
{
    struct ent *e = find(s, key);

    if (e != NULL)
        return e;
    assert_true(s->n < MAX_ENT);
    e = &s->v[s->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->key, sizeof(e->key), "%s", key);
    return e;
}

/* Add an advisory id to the space-separated, sorted list of e. */
static void add_id(struct ent *e, const char *id)
{
    char ids[16][64], out[256] = "";
    size_t n = 0, i, len = 0;
    const char *s = e->ids;

    while (*s != '\0' && n < 15) {
        size_t k = strcspn(s, " ");

        snprintf(ids[n++], sizeof(ids[0]), "%.*s", (int)k, s);
        s += k;
        s += strspn(s, " ");
    }
    for (i = n; i > 0 && strcmp(ids[i - 1], id) > 0; i--)
        memcpy(ids[i], ids[i - 1], sizeof(ids[0]));
    snprintf(ids[i], sizeof(ids[0]), "%s", id);
    n++;
    for (i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s", i ? " " : "", ids[i]);
    assert_true(len < sizeof(out));
    snprintf(e->ids, sizeof(e->ids), "%s", out);
}

static const char *dnf_env(void)
{
    static char env[600];

    snprintf(env, sizeof(env), "HOME='%s' LC_ALL=C.UTF-8 COLUMNS=200", home);
    return env;
}

/* dnf -C check-update: "name.arch  evr  repo" lines. */
static void dnf_pending(struct set *s)
{
    char cmd[1200], *out, *save = NULL, *line;
    int st;

    memset(s, 0, sizeof(*s));
    snprintf(cmd, sizeof(cmd), "%s dnf --installroot='%s' --releasever=1 -q -C check-update",
             dnf_env(), root);
    out = run(cmd, &st);
    assert_true(st == 0 || st == 100);
    for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char na[160], evr[128], repo[128];

        if (strncmp(line, "Obsoleting", 10) == 0)
            break;
        if (sscanf(line, "%159s %127s %127s", na, evr, repo) != 3 || strchr(na, '.') == NULL)
            continue;
        snprintf(add(s, na)->evr, sizeof(s->v[0].evr), "%s", evr);
    }
    free(out);
}

/* dnf -C updateinfo list --security: "ID SEVERITY/Sec. NEVRA" lines, keyed
 * by name.arch of the NEVRA. */
static void dnf_security(struct set *s)
{
    char cmd[1200], *out, *save = NULL, *line;
    int st;

    memset(s, 0, sizeof(*s));
    snprintf(cmd, sizeof(cmd),
             "%s dnf --installroot='%s' --releasever=1 -q -C updateinfo list --security", dnf_env(),
             root);
    out = run(cmd, &st);
    assert_int_equal(st, 0);
    for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char id[128], sev[64], nevra[256], name[600], *dot, *d1, *d2;

        if (sscanf(line, "%127s %63s %255s", id, sev, nevra) != 3)
            continue;
        dot = strrchr(nevra, '.');
        assert_non_null(dot);
        *dot = '\0';
        d1 = strrchr(nevra, '-');
        assert_non_null(d1);
        *d1 = '\0';
        d2 = strrchr(nevra, '-');
        assert_non_null(d2);
        *d2 = '\0';
        snprintf(name, sizeof(name), "%s.%s", nevra, dot + 1);
        assert_true(strlen(name) < sizeof(s->v[0].key));
        add_id(add(s, name), id);
    }
    free(out);
}

static cJSON *collect(const char *r, const char *only, const struct col_config *cfg)
{
    struct col_ctx ctx;
    cJSON *doc = NULL;

    memset(&ctx, 0, sizeof(ctx));
    ctx.root = r;
    ctx.now = time(NULL);
    ctx.cfg = cfg != NULL ? cfg : col_default_config();
    ctx.ops = &col_root_ops;
    ctx.state_dir = state_dir;
    assert_int_equal(col_collect_evidence(&ctx, only, &doc), 0);
    return doc;
}

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static void our_pending(const cJSON *doc, struct set *pend, struct set *sec)
{
    const cJSON *it, *arr = get(get(doc, "patches"), "pending");
    size_t n_sec = 0;

    memset(pend, 0, sizeof(*pend));
    memset(sec, 0, sizeof(*sec));
    if (!cJSON_IsArray(arr))
        fail_msg("pending is not a list: %s", cJSON_PrintUnformatted(arr));
    cJSON_ArrayForEach(it, arr)
    {
        char key[160];
        const cJSON *a;

        snprintf(key, sizeof(key), "%s.%s", get(it, "name")->valuestring,
                 get(it, "arch")->valuestring);
        snprintf(add(pend, key)->evr, sizeof(pend->v[0].evr), "%s",
                 get(it, "candidate")->valuestring);
        if (!cJSON_IsTrue(get(it, "security"))) {
            assert_int_equal(cJSON_GetArraySize(get(it, "advisories")), 0);
            continue;
        }
        n_sec++;
        cJSON_ArrayForEach(a, get(it, "advisories"))
            add_id(add(sec, key), get(a, "id")->valuestring);
    }
    assert_int_equal((int)get(get(doc, "patches"), "pending_count")->valuedouble, (int)pend->n);
    assert_int_equal((int)get(get(doc, "patches"), "security_pending_count")->valuedouble,
                     (int)n_sec);
}

/* Ours against dnf's, both ways; returns the sizes compared. Collected
 * without a state directory, then twice with one (computed and cached,
 * then from the cache): the three must be the same. */
static void compare_with_dnf(size_t *n_pending, size_t *n_security)
{
    struct set dp, ds, op, os;
    cJSON *doc;
    char *texts[3];
    size_t i, expect_sec = 0;

    dnf_pending(&dp);
    dnf_security(&ds);
    for (i = 0; i < 3; i++) {
        state_dir = i == 0 ? NULL : state_path;
        doc = collect(root, "patches", NULL);
        state_dir = NULL;
        texts[i] = cJSON_PrintUnformatted(get(get(doc, "patches"), "pending"));
        if (i == 0)
            our_pending(doc, &op, &os);
        cJSON_Delete(doc);
    }
    /* first_seen/age_s differ without a state directory: compare the rest */
    {
        cJSON *a = cJSON_Parse(texts[1]), *b = cJSON_Parse(texts[2]), *c = cJSON_Parse(texts[0]),
              *it;
        char *ta, *tb, *tc;

        cJSON_ArrayForEach(it, a) cJSON_DeleteItemFromObject(it, "first_seen"),
            cJSON_DeleteItemFromObject(it, "age_s");
        cJSON_ArrayForEach(it, b) cJSON_DeleteItemFromObject(it, "first_seen"),
            cJSON_DeleteItemFromObject(it, "age_s");
        cJSON_ArrayForEach(it, c) cJSON_DeleteItemFromObject(it, "first_seen"),
            cJSON_DeleteItemFromObject(it, "age_s");
        ta = cJSON_PrintUnformatted(a);
        tb = cJSON_PrintUnformatted(b);
        tc = cJSON_PrintUnformatted(c);
        if (strcmp(ta, tc) != 0 || strcmp(tb, tc) != 0)
            fail_msg("cached results differ:\n%s\n%s\n%s", tc, ta, tb);
        free(ta);
        free(tb);
        free(tc);
        cJSON_Delete(a);
        cJSON_Delete(b);
        cJSON_Delete(c);
    }
    for (i = 0; i < 3; i++)
        free(texts[i]);
    for (i = 0; i < dp.n; i++) {
        struct ent *o = find(&op, dp.v[i].key);

        if (o == NULL)
            fail_msg("dnf has %s %s pending, we do not", dp.v[i].key, dp.v[i].evr);
        if (strcmp(o->evr, dp.v[i].evr) != 0)
            fail_msg("%s: dnf's candidate %s, ours %s", dp.v[i].key, dp.v[i].evr, o->evr);
    }
    for (i = 0; i < op.n; i++)
        if (find(&dp, op.v[i].key) == NULL)
            fail_msg("we have %s %s pending, dnf does not", op.v[i].key, op.v[i].evr);
    /* security: dnf's advisories of the pending packages */
    for (i = 0; i < dp.n; i++) {
        struct ent *d = find(&ds, dp.v[i].key), *o = find(&os, dp.v[i].key);

        if (d == NULL && o != NULL)
            fail_msg("%s: security for us (%s), not for dnf", dp.v[i].key, o->ids);
        if (d != NULL && o == NULL)
            fail_msg("%s: security for dnf (%s), not for us", dp.v[i].key, d->ids);
        if (d != NULL && strcmp(d->ids, o->ids) != 0)
            fail_msg("%s: dnf's advisories %s, ours %s", dp.v[i].key, d->ids, o->ids);
        expect_sec += d != NULL;
    }
    assert_int_equal(os.n, expect_sec);
    *n_pending = dp.n;
    *n_security = expect_sec;
}

static int setup(void **state)
{
    char cmd[1400], p[600];
    FILE *f;

    (void)state;
    da_tmptree_make("da-rpm", base, sizeof(base));
    snprintf(root, sizeof(root), "%s/root", base);
    snprintf(repos, sizeof(repos), "%s/repos", base);
    snprintf(home, sizeof(home), "%s/home", base);
    snprintf(state_path, sizeof(state_path), "%s/state", base);
    if (mkdir(state_path, 0700) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "bash '%s/tests/fixtures/build-rpm-root.sh' '%s' '%s'",
             DA_SOURCE_ROOT, root, repos);
    if (system(cmd) != 0)
        return -1;
    if (mkdir(home, 0700) != 0)
        return -1;
    snprintf(p, sizeof(p), "%s/.rpmmacros", home);
    f = fopen(p, "w");
    if (f == NULL)
        return -1;
    fputs("%_dbpath /var/lib/rpm\n", f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    da_tmptree_remove(base);
    return 0;
}

static void test_pending_matches_dnf(void **state)
{
    size_t np, ns;

    (void)state;
    compare_with_dnf(&np, &ns);
    print_message("dnf and we: %zu pending, %zu security\n", np, ns);
    /* the fixture's scenarios, so that the comparison is not vacuous */
    assert_int_equal(np, 6);
    assert_int_equal(ns, 3);
}

static void write_file(const char *rel, const char *text)
{
    char p[800];
    FILE *f;

    snprintf(p, sizeof(p), "%s%s", root, rel);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_pending_after_config_change(void **state)
{
    char text[2000], cmd[1200];
    size_t np, ns;

    (void)state;
    /* the disabled repository enabled, the global exclude dropped, a new
     * repository-level include list */
    write_file("/etc/dnf/dnf.conf", "[main]\ngpgcheck=0\n");
    snprintf(text, sizeof(text),
             "[base]\nname=b\nbaseurl=file://%s/base\ngpgcheck=0\n\n"
             "[updates]\nname=u\nbaseurl=file://%s/updates\nexcludepkgs=epsilon zeta\n"
             "gpgcheck=0\n\n[testing]\nname=t\nbaseurl=file://%s/testing\nenabled=yes\n"
             "gpgcheck=0\n",
             repos, repos, repos);
    write_file("/etc/yum.repos.d/fixture.repo", text);
    snprintf(cmd, sizeof(cmd), "%s dnf --installroot='%s' --releasever=1 -q makecache >/dev/null",
             dnf_env(), root);
    assert_int_equal(system(cmd), 0);
    compare_with_dnf(&np, &ns);
    print_message("after the change: %zu pending, %zu security\n", np, ns);
    /* gamma (security) and delta are now pending, zeta is excluded */
    assert_int_equal(np, 7);
    assert_int_equal(ns, 4);
}

/* Every name below dir with type, mode, size and mtime, one line each. */
static void listing(const char *dir, const char *rel, FILE *out)
{
    char p[2400];
    DIR *d;
    struct dirent *e;

    snprintf(p, sizeof(p), "%s%s", dir, rel);
    d = opendir(p);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char r2[1800];
        struct stat st;

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(r2, sizeof(r2), "%s/%s", rel, e->d_name);
        snprintf(p, sizeof(p), "%s%s", dir, r2);
        assert_int_equal(lstat(p, &st), 0);
        fprintf(out, "%s %o %lld %lld.%09ld\n", r2, st.st_mode, (long long)st.st_size,
                (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        if (S_ISDIR(st.st_mode))
            listing(dir, r2, out);
    }
    closedir(d);
}

static char *tree_text(const char *dir)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    listing(dir, "", f);
    fclose(f);
    return buf;
}

static void check_unchanged(const char *what)
{
    char *before = tree_text(root), *after;
    cJSON *doc = collect(root, NULL, NULL);
    const cJSON *ic = get(get(doc, "patches"), "installed_count");

    after = tree_text(root);
    if (strcmp(before, after) != 0)
        fail_msg("%s: the root changed:\n--- before\n%s\n--- after\n%s", what, before, after);
    assert_true(cJSON_IsNumber(ic));
    assert_int_equal((int)ic->valuedouble, 14);
    cJSON_Delete(doc);
    free(before);
    free(after);
}

static void test_root_unchanged(void **state)
{
    char p[800];

    (void)state;
    check_unchanged("with -wal and -shm");
    /* SQLite would create these for a reader in WAL mode */
    snprintf(p, sizeof(p), "%s/var/lib/rpm/rpmdb.sqlite-shm", root);
    assert_int_equal(unlink(p), 0);
    snprintf(p, sizeof(p), "%s/var/lib/rpm/rpmdb.sqlite-wal", root);
    assert_int_equal(unlink(p), 0);
    check_unchanged("without -wal and -shm");
}

static const cJSON *tool(const cJSON *doc, const char *name)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, get(get(doc, "toolchain"), "tools"))
    {
        if (strcmp(get(it, "name")->valuestring, name) == 0)
            return it;
    }
    fail_msg("no tool %s", name);
    return NULL;
}

/* rpm -V's verdict on one package's file: 1 unchanged, 0 digest differs. */
static int rpm_verify(const char *pkg)
{
    char cmd[1200], *out;
    int st, v;

    snprintf(cmd, sizeof(cmd), "%s rpm --root='%s' --dbpath=/var/lib/rpm -V --nodeps '%s'",
             dnf_env(), root, pkg);
    out = run(cmd, &st);
    v = strstr(out, "/usr/bin/") == NULL ? 1 : (out[2] == '5' ? 0 : -1);
    assert_true(v >= 0);
    assert_int_equal(st != 0, v == 0);
    free(out);
    return v;
}

static void test_toolchain_rpm_verify(void **state)
{
    static const char *const names[] = {"gcc", "make", "alpha"};
    static const struct col_config *def;
    struct col_config cfg;
    char p[800];
    cJSON *doc;
    FILE *f;

    (void)state;
    def = col_default_config();
    cfg = *def;
    cfg.toolchain = names;
    cfg.n_toolchain = 3;
    cfg.path_env = "/usr/bin";
    /* make's file replaced after installation */
    snprintf(p, sizeof(p), "%s/usr/bin/make", root);
    f = fopen(p, "a");
    assert_non_null(f);
    fputs("echo replaced\n", f);
    fclose(f);
    doc = collect(root, "toolchain", &cfg);
    for (size_t i = 0; i < 3; i++) {
        const cJSON *t = tool(doc, names[i]);
        int v = rpm_verify(names[i]);

        assert_string_equal(get(t, "package")->valuestring, names[i]);
        assert_true(cJSON_IsBool(get(t, "package_verified")));
        if (cJSON_IsTrue(get(t, "package_verified")) != v)
            fail_msg("%s: rpm -V says %d, we say %d", names[i], v,
                     cJSON_IsTrue(get(t, "package_verified")));
    }
    assert_false(cJSON_IsTrue(get(tool(doc, "make"), "package_verified")));
    assert_string_equal(get(tool(doc, "make"), "package_version")->valuestring, "4.3-1");
    cJSON_Delete(doc);
}

static void expect_unknown(const cJSON *j, const char *reason)
{
    const cJSON *u = get(j, "unknown");

    if (!cJSON_IsString(u))
        fail_msg("not unknown: %s", cJSON_PrintUnformatted(j));
    if (reason != NULL && strcmp(u->valuestring, reason) != 0)
        fail_msg("reason %s, want %s (%s)", u->valuestring, reason,
                 cJSON_GetStringValue(get(j, "detail")));
}

static void test_missing_metadata(void **state)
{
    char cmd[1400];
    cJSON *doc;

    (void)state;
    /* the cache of an enabled repository gone */
    snprintf(cmd, sizeof(cmd),
             "d=$(ls -d '%s'/var/cache/dnf/updates-*/) && echo \"$d\" >'%s/aside.name' && "
             "mv \"$d\" '%s/aside'",
             root, base, base);
    assert_int_equal(system(cmd), 0);
    doc = collect(root, "patches", NULL);
    expect_unknown(get(get(doc, "patches"), "pending"), "not_present");
    expect_unknown(get(get(doc, "patches"), "security_pending_count"), "not_present");
    print_message("%s\n", get(get(get(doc, "patches"), "pending"), "detail")->valuestring);
    cJSON_Delete(doc);
    snprintf(cmd, sizeof(cmd), "mv '%s/aside' \"$(cat '%s/aside.name')\"", base, base);
    assert_int_equal(system(cmd), 0);
    /* the primary list gone, repomd.xml still naming it */
    snprintf(cmd, sizeof(cmd), "mv '%s'/var/cache/dnf/base-*/repodata/*-primary.xml.* '%s/'", root,
             base);
    assert_int_equal(system(cmd), 0);
    doc = collect(root, "patches", NULL);
    expect_unknown(get(get(doc, "patches"), "pending"), "not_present");
    cJSON_Delete(doc);
    snprintf(cmd, sizeof(cmd), "mv '%s'/*-primary.xml.* '%s'/var/cache/dnf/base-*/repodata/", base,
             root);
    assert_int_equal(system(cmd), 0);
    /* junk instead of repomd.xml */
    snprintf(cmd, sizeof(cmd),
             "f=$(ls '%s'/var/cache/dnf/base-*/repodata/repomd.xml); cp \"$f\" '%s/repomd.xml' && "
             "printf '<repomd><data type=\"primary\"><location href=\"../../../etc/passwd\"/>"
             "</data></repomd>' >\"$f\"",
             root, base);
    assert_int_equal(system(cmd), 0);
    doc = collect(root, "patches", NULL);
    expect_unknown(get(get(doc, "patches"), "pending"), "parse_error");
    cJSON_Delete(doc);
    snprintf(cmd, sizeof(cmd), "cp '%s/repomd.xml' '%s'/var/cache/dnf/base-*/repodata/repomd.xml",
             base, root);
    assert_int_equal(system(cmd), 0);
    doc = collect(root, "patches", NULL);
    assert_true(cJSON_IsArray(get(get(doc, "patches"), "pending")));
    cJSON_Delete(doc);
}

static void test_corrupt_database(void **state)
{
    char db[800], aside[800], cmd[4000];
    cJSON *doc;
    int fd;

    (void)state;
    snprintf(db, sizeof(db), "%s/var/lib/rpm/rpmdb.sqlite", root);
    snprintf(aside, sizeof(aside), "%s/rpmdb.sqlite", base);
    snprintf(cmd, sizeof(cmd), "cp -p '%s' '%s'", db, aside);
    assert_int_equal(system(cmd), 0);
    /* every page after the first overwritten */
    snprintf(cmd, sizeof(cmd),
             "dd if=/dev/urandom of='%s' bs=4096 seek=1 count=200 conv=notrunc status=none", db);
    assert_int_equal(system(cmd), 0);
    doc = collect(root, "patches", NULL);
    expect_unknown(get(get(doc, "patches"), "installed_count"), NULL);
    expect_unknown(get(get(doc, "patches"), "pending"), NULL);
    print_message("%s\n", get(get(get(doc, "patches"), "pending"), "detail")->valuestring);
    cJSON_Delete(doc);
    /* a database file that is not SQLite at all */
    fd = open(db, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not a database\n", 15), 15);
    close(fd);
    doc = collect(root, "patches", NULL);
    expect_unknown(get(get(doc, "patches"), "pending"), NULL);
    cJSON_Delete(doc);
    /* no database file in the directory: librpm would create one */
    assert_int_equal(unlink(db), 0);
    snprintf(cmd, sizeof(cmd), "touch '%s/var/lib/rpm/Packages.x'", root);
    assert_int_equal(system(cmd), 0);
    doc = collect(root, "patches", NULL);
    {
        struct stat st;

        assert_int_not_equal(stat(db, &st), 0);
    }
    cJSON_Delete(doc);
    snprintf(cmd, sizeof(cmd), "cp -p '%s' '%s' && rm -f '%s/var/lib/rpm/Packages.x'", aside, db,
             root);
    assert_int_equal(system(cmd), 0);
}

static int primary_reads;

static void count_primary(void *arg, const char *op, const char *path)
{
    (void)arg;
    if (strcmp(op, "open") == 0 && strstr(path, "-primary.xml") != NULL)
        primary_reads++;
}

/* The cache: a warm collection reads no package list; a damaged cache is
 * ignored and rewritten; a changed list is read again. */
static void test_cache(void **state)
{
    char p[800], cmd[1200];
    cJSON *doc;
    FILE *f;

    (void)state;
    state_dir = state_path;
    da_rootfs_set_trace(count_primary, NULL);
    primary_reads = 0;
    doc = collect(root, "patches", NULL); /* computes or refreshes */
    cJSON_Delete(doc);
    primary_reads = 0;
    doc = collect(root, "patches", NULL);
    assert_int_equal(primary_reads, 0);
    assert_true(cJSON_IsArray(get(get(doc, "patches"), "pending")));
    assert_int_equal(cJSON_GetArraySize(get(get(doc, "patches"), "pending")), 6);
    cJSON_Delete(doc);
    /* a damaged body: computed again */
    snprintf(p, sizeof(p), "%s/patches.cache", state_path);
    f = fopen(p, "a");
    assert_non_null(f);
    fputs("junk", f);
    fclose(f);
    primary_reads = 0;
    doc = collect(root, "patches", NULL);
    assert_true(primary_reads > 0);
    assert_int_equal(cJSON_GetArraySize(get(get(doc, "patches"), "pending")), 6);
    cJSON_Delete(doc);
    /* a package list touched: read again */
    snprintf(cmd, sizeof(cmd), "touch '%s'/var/cache/dnf/base-*/repodata/*-primary.xml.*", root);
    assert_int_equal(system(cmd), 0);
    primary_reads = 0;
    doc = collect(root, "patches", NULL);
    assert_true(primary_reads > 0);
    cJSON_Delete(doc);
    da_rootfs_set_trace(NULL, NULL);
    state_dir = NULL;
}

static const char *verdict(const struct da_policy_result *r, const char *id)
{
    for (size_t i = 0; i < r->n_checks; i++)
        if (strcmp(r->checks[i].id, id) == 0)
            return da_verdict_name(r->checks[i].verdict);
    fail_msg("no check %s", id);
    return NULL;
}

/* The server's /attestation facts for a document, every pending upgrade
 * first seen age_s ago. */
static cJSON *attestation(const cJSON *doc, double age_s)
{
    cJSON *a = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    const cJSON *it;

    cJSON_AddStringToObject(a, "trust", "tpm");
    cJSON_AddBoolToObject(a, "quote_verified", 1);
    cJSON_AddItemToObject(a, "pending", arr);
    cJSON_ArrayForEach(it, get(get(doc, "patches"), "pending"))
    {
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "name", get(it, "name")->valuestring);
        cJSON_AddStringToObject(o, "arch", get(it, "arch")->valuestring);
        cJSON_AddStringToObject(o, "candidate", get(it, "candidate")->valuestring);
        cJSON_AddBoolToObject(o, "security", cJSON_IsTrue(get(it, "security")));
        cJSON_AddNumberToObject(o, "age_s", age_s);
        cJSON_AddItemToArray(arr, o);
    }
    return a;
}

static void test_shipped_policy(void **state)
{
    static const char *const names[] = {"gcc", "make"};
    struct col_config cfg = *col_default_config();
    struct da_policy *p = NULL;
    struct da_policy_error err;
    struct da_policy_result *r = NULL;
    struct da_buf b;
    cJSON *doc, *att;
    char path[2000];

    (void)state;
    cfg.toolchain = names;
    cfg.n_toolchain = 2;
    cfg.path_env = "/usr/bin";
    /* running the older of the two installed kernels */
    snprintf(path, sizeof(path), "mkdir -p '%s/proc/sys/kernel'", root);
    assert_int_equal(system(path), 0);
    write_file("/proc/sys/kernel/osrelease", "1.0-1.noarch\n");
    assert_int_equal(da_file_read(SHIPPED, DA_MAX_POLICY, &b), 0);
    assert_int_equal(da_policy_load(da_buf_str(&b), da_buf_len(&b), "shipped", &p, &err), 0);
    doc = collect(root, "patches,toolchain", &cfg);
    /* fresh: security updates pending for a day pass, 30 days fail */
    att = attestation(doc, 86400);
    assert_int_equal(da_policy_eval(p, doc, att, &r), 0);
    assert_string_equal(verdict(r, "patches.security-updates"), "pass");
    assert_string_equal(verdict(r, "patches.lists-fresh"), "pass");
    assert_string_equal(verdict(r, "patches.kernel-reboot"), "fail");
    /* make was replaced by the toolchain test */
    assert_string_equal(verdict(r, "toolchain.package-verified"), "fail");
    da_policy_result_free(r);
    cJSON_Delete(att);
    att = attestation(doc, 30 * 86400.0);
    assert_int_equal(da_policy_eval(p, doc, att, &r), 0);
    assert_string_equal(verdict(r, "patches.security-updates"), "fail");
    da_policy_result_free(r);
    cJSON_Delete(att);
    cJSON_Delete(doc);
    /* the newest kernel running, make restored from its package */
    write_file("/proc/sys/kernel/osrelease", "3.0-1.noarch\n");
    snprintf(path, sizeof(path),
             "%s rpm --root='%s' --dbpath=/var/lib/rpm --restore make >/dev/null 2>&1; "
             "printf '#!/bin/sh\\necho make 4.3-1\\n' >'%s/usr/bin/make'",
             dnf_env(), root, root);
    assert_int_equal(system(path), 0);
    doc = collect(root, "patches,toolchain", &cfg);
    att = attestation(doc, 86400);
    assert_int_equal(da_policy_eval(p, doc, att, &r), 0);
    assert_string_equal(verdict(r, "patches.kernel-reboot"), "pass");
    assert_string_equal(verdict(r, "toolchain.package-verified"), "pass");
    da_policy_result_free(r);
    cJSON_Delete(att);
    cJSON_Delete(doc);
    da_policy_free(p);
    da_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pending_matches_dnf),
        cmocka_unit_test(test_root_unchanged),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_toolchain_rpm_verify),
        cmocka_unit_test(test_shipped_policy),
        cmocka_unit_test(test_missing_metadata),
        cmocka_unit_test(test_corrupt_database),
        cmocka_unit_test(test_pending_after_config_change),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

/* Parsers and comparisons under the patches, disk and toolchain collectors. */
#include "da_test.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lz4frame.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "collector.h"
#include "deb.h"
#include "err.h"
#include "mountinfo.h"
#include "toolcache.h"
#include "tmp_tree.h"

/* The running machine's "/" through the file layer (paths below are
 * absolute temporary files). */
static struct da_rootfs *host_fs(void)
{
    static struct da_rootfs *fs;

    if (fs == NULL)
        assert_int_equal(da_rootfs_open("/", 0, &fs), 0);
    return fs;
}

static int sign(int v)
{
    return v < 0 ? -1 : v > 0 ? 1 : 0;
}

static void test_version_compare(void **state)
{
    static const struct {
        const char *a, *b;
        int want;
    } cases[] = {
        {"1.0", "1.0", 0},
        {"1.0", "1.1", -1},
        {"1.0~rc1", "1.0", -1},
        {"1.0~~", "1.0~", -1},
        {"1.0~", "1.0", -1},
        {"1.0", "1.0+b1", -1},
        {"1:0.1", "2.0", 1},
        {"0:1.0", "1.0", 0},
        {"1.0-1", "1.0-1.1", -1},
        {"1.0-10", "1.0-9", 1},
        {"1.0", "1.0-0", 0},
        {"2.0a", "2.0", 1},
        {"2.0a", "2.0+", -1},
        {"1.2.10", "1.2.9", 1},
        {"1.002", "1.2", 0},
        {"20250419~deb12u2", "20230311+deb12u1", 1},
        {"3.0.11-1~deb12u2", "3.0.11-1", -1},
        {"1.0-1~bpo12+1", "1.0-1", -1},
        {"10:1", "9:99", 1},
        {"5.2.15-2+b13", "5.2.15-2+b8", 1},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(col_debver_check(cases[i].a, strlen(cases[i].a)), 0);
        assert_int_equal(col_debver_check(cases[i].b, strlen(cases[i].b)), 0);
        if (sign(col_debver_cmp(cases[i].a, cases[i].b)) != cases[i].want)
            fail_msg("%s vs %s: want %d", cases[i].a, cases[i].b, cases[i].want);
        if (sign(col_debver_cmp(cases[i].b, cases[i].a)) != -cases[i].want)
            fail_msg("%s vs %s (swapped)", cases[i].b, cases[i].a);
    }
}

/* dpkg's own parser is the oracle: `dpkg --compare-versions V eq V` prints
 * "error" for a version it refuses, "warning" for one it accepts with a
 * warning, and nothing for a valid one. */
static int dpkg_verdict(const char *v)
{
    char cmd[600], line[512];
    int verdict = 0;
    FILE *f;

    snprintf(cmd, sizeof(cmd), "dpkg --compare-versions '%s' eq '%s' 2>&1", v, v);
    f = popen(cmd, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strstr(line, "error") != NULL)
            verdict = DA_ERR_VERSION_SYNTAX;
        else if (strstr(line, "warning") != NULL && verdict == 0)
            verdict = COL_DEBVER_WARN;
    }
    pclose(f);
    return verdict;
}

static void test_version_syntax(void **state)
{
    static const char *const cases[] = {
        "1.0",
        "1:2.0-1-2",
        "a1.0",
        ":1.0",
        "1:",
        "x:1.0",
        "1.0-",
        "1.0 1",
        "1.0-a_b",
        "1:2:3",
        "1.0/2",
        "0:1",
        "-1",
        "1.0-1-",
        "1.0_1",
        "~1",
        "1.0-~1",
        "9999999999:1",
        "2147483647:1",
        "1:a",
        "1.0-a/b",
        "1-2:3",
        "1a+b~c.d-e+f.g~h",
    };
    size_t i;

    (void)state;
    if (system("command -v dpkg >/dev/null 2>&1") != 0)
        skip();
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int want = dpkg_verdict(cases[i]);
        int got = col_debver_check(cases[i], strlen(cases[i]));

        if (got != want)
            fail_msg("'%s': dpkg says %d, we say %d", cases[i], want, got);
    }
}

/* Versions dpkg accepts with a warning compare as dpkg compares them. */
static void test_version_odd_order(void **state)
{
    static const char *const pairs[][2] = {
        {"a1.0", "b1.0"},     {"a1.0", "1.0"}, {"1.0/2", "1.0.2"}, {"abc", "abc~"},
        {"1.0-a_b", "1.0-a"}, {"1:a", "1:1"},  {"x", "X"},
    };
    char cmd[300];
    size_t i;

    (void)state;
    if (system("command -v dpkg >/dev/null 2>&1") != 0)
        skip();
    for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        int ours = sign(col_debver_cmp(pairs[i][0], pairs[i][1]));

        snprintf(cmd, sizeof(cmd), "dpkg --compare-versions '%s' %s '%s' 2>/dev/null", pairs[i][0],
                 ours < 0   ? "lt"
                 : ours > 0 ? "gt"
                            : "eq",
                 pairs[i][1]);
        if (system(cmd) != 0)
            fail_msg("%s vs %s: dpkg disagrees with %d", pairs[i][0], pairs[i][1], ours);
    }
}

static void test_deb822_strict(void **state)
{
    static const char *const names[] = {"Package", "Version"};
    struct col_span v[2];
    const char ok[] = "Package: foo\nDescription: x\n more\n .\nVersion: 1.0 \n";

    (void)state;
    assert_int_equal(col_deb822_get(ok, strlen(ok), names, 2, v), 0);
    assert_int_equal(v[0].n, 3);
    assert_memory_equal(v[0].p, "foo", 3);
    assert_int_equal(v[1].n, 3);
    assert_int_equal(col_deb822_get("Package: a\nPackage: b\n", 22, names, 2, v),
                     DA_ERR_COLLECT_PARSE);
    assert_int_equal(col_deb822_get(" cont\nPackage: a\n", 17, names, 2, v), DA_ERR_COLLECT_PARSE);
    assert_int_equal(col_deb822_get("no colon here\n", 14, names, 2, v), DA_ERR_COLLECT_PARSE);
}

static void test_release(void **state)
{
    const char signed_rel[] = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n"
                              "Origin: Debian\nLabel: Debian-Security\nSuite: oldstable-security\n"
                              "Codename: bookworm-security\nSHA256:\n abc 1 x\n"
                              "-----BEGIN PGP SIGNATURE-----\n\nxx\n-----END PGP SIGNATURE-----\n";
    const char bpo[] = "Suite: stable-backports\nNotAutomatic: yes\nButAutomaticUpgrades: yes\n";
    struct col_release rel;

    (void)state;
    assert_int_equal(col_release_parse(signed_rel, strlen(signed_rel), &rel), 0);
    assert_string_equal(rel.suite, "oldstable-security");
    assert_true(col_release_is_security(&rel));
    assert_int_equal(col_release_priority(&rel), 500);
    assert_int_equal(col_release_parse(bpo, strlen(bpo), &rel), 0);
    assert_false(col_release_is_security(&rel));
    assert_int_equal(col_release_priority(&rel), 100);
    assert_int_equal(col_release_parse("NotAutomatic: yes\n", 18, &rel), 0);
    assert_int_equal(col_release_priority(&rel), 1);
    assert_int_not_equal(
        col_release_parse("-----BEGIN PGP SIGNED MESSAGE-----\n\nSuite: x\n", 45, &rel), 0);
}

/* The same Packages text in every compression apt may keep. */
static const char packages_text[] = "Package: a\nVersion: 1.0\nArchitecture: amd64\n\n"
                                    "Package: b\nVersion: 2.0\nArchitecture: all\n\n"
                                    "Package: c\nVersion: 3.0\nArchitecture: amd64\n";

static int count_stanza(const char *p, size_t n, void *arg)
{
    (void)p;
    (void)n;
    (*(int *)arg)++;
    return 0;
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void test_compressed_lists(void **state)
{
    char dir[200], path[256];
    size_t n = strlen(packages_text), cap = 4096, out_n;
    unsigned char *buf = malloc(cap);
    int count;
    gzFile gz;

    (void)state;
    assert_non_null(buf);
    assert_int_equal(da_test_tmpdir("da-lists", dir, sizeof(dir)), 0);

    snprintf(path, sizeof(path), "%s/x_Packages", dir);
    write_file(path, packages_text, n);
    count = 0;
    assert_int_equal(col_deb_list_read(host_fs(), path, count_stanza, &count), 0);
    assert_int_equal(count, 3);

    snprintf(path, sizeof(path), "%s/x_Packages.lz4", dir);
    out_n = LZ4F_compressFrame(buf, cap, packages_text, n, NULL);
    assert_false(LZ4F_isError(out_n));
    write_file(path, buf, out_n);
    count = 0;
    assert_int_equal(col_deb_list_read(host_fs(), path, count_stanza, &count), 0);
    assert_int_equal(count, 3);
    write_file(path, buf, out_n - 5); /* truncated frame */
    count = 0;
    assert_int_not_equal(col_deb_list_read(host_fs(), path, count_stanza, &count), 0);

    snprintf(path, sizeof(path), "%s/x_Packages.gz", dir);
    gz = gzopen(path, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, packages_text, (unsigned)n), (int)n);
    gzclose(gz);
    count = 0;
    assert_int_equal(col_deb_list_read(host_fs(), path, count_stanza, &count), 0);
    assert_int_equal(count, 3);

    snprintf(path, sizeof(path), "%s/x_Packages.xz", dir);
    out_n = 0;
    assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL,
                                             (const uint8_t *)packages_text, n, buf, &out_n, cap),
                     LZMA_OK);
    write_file(path, buf, out_n);
    count = 0;
    assert_int_equal(col_deb_list_read(host_fs(), path, count_stanza, &count), 0);
    assert_int_equal(count, 3);

    snprintf(path, sizeof(path), "%s/x_Packages.zst", dir);
    out_n = ZSTD_compress(buf, cap, packages_text, n, 3);
    assert_false(ZSTD_isError(out_n));
    write_file(path, buf, out_n);
    count = 0;
    assert_int_equal(col_deb_list_read(host_fs(), path, count_stanza, &count), 0);
    assert_int_equal(count, 3);

    snprintf(path, sizeof(path), "%s/x_Packages.gz", dir);
    write_file(path, "not gzip", 8);
    assert_int_equal(col_deb_list_read(host_fs(), path, count_stanza, &count), DA_ERR_DECOMPRESS);

    assert_int_equal(da_test_rmtree(dir), 0);
    free(buf);
}

/* Candidates with default priorities: security wins when newest, the
 * installed version stays when only a NotAutomatic release is newer. */
static void test_candidates(void **state)
{
    const char status[] = "Package: p\nStatus: install ok installed\nArchitecture: amd64\n"
                          "Version: 1.0-1\n\n"
                          "Package: q\nStatus: install ok installed\nArchitecture: all\n"
                          "Version: 2.0\n\n"
                          "Package: dpkg\nStatus: install ok installed\nArchitecture: amd64\n"
                          "Version: 1.21\n";
    const char p_new[] = "Package: p\nVersion: 1.0-2\nArchitecture: amd64\n";
    const char q_exp[] = "Package: q\nVersion: 3.0\nArchitecture: all\n";
    struct col_pkgdb *db = NULL;
    struct col_patch_facts f, g;
    char *text = NULL;
    size_t len;

    (void)state;
    assert_int_equal(col_pkgdb_from_status(status, strlen(status), &db), 0);
    assert_int_equal(col_pkgdb_count(db), 3);
    assert_int_equal(col_pkgdb_add_list_stanza(db, p_new, strlen(p_new), 500, 0, NULL), 0);
    assert_int_equal(col_pkgdb_add_list_stanza(db, p_new, strlen(p_new), 500, 1, NULL), 0);
    assert_int_equal(col_pkgdb_add_list_stanza(db, q_exp, strlen(q_exp), 1, 0, NULL), 0);
    assert_int_equal(col_pkgdb_facts(db, &f), 0);
    assert_int_equal(f.n_pending, 1);
    assert_string_equal(f.pending[0].name, "p");
    assert_string_equal(f.pending[0].candidate, "1.0-2");
    assert_true(f.pending[0].security);
    assert_int_equal(f.installed_count, 3);

    /* the cache text round-trips exactly; any stray byte is rejected */
    assert_int_equal(col_patch_cache_format(&f, &text, &len), 0);
    assert_int_equal(col_patch_cache_parse(text, len, &g), 0);
    assert_int_equal(g.n_pending, 1);
    assert_string_equal(g.inventory_sha256, f.inventory_sha256);
    col_patch_facts_free(&g);
    assert_int_not_equal(col_patch_cache_parse(text, len - 1, &g), 0);
    text[len - 2] = 'x';
    assert_int_not_equal(col_patch_cache_parse(text, len, &g), 0);
    free(text);
    col_patch_facts_free(&f);
    col_pkgdb_free(db);

    {
        static const char twice[] = "Package: x\nStatus: install ok installed\n"
                                    "Architecture: amd64\nVersion: 1\n\n"
                                    "Package: x\nStatus: install ok installed\n"
                                    "Architecture: amd64\nVersion: 2\n";

        assert_int_equal(col_pkgdb_from_status(twice, strlen(twice), &db), DA_ERR_COLLECT_PARSE);
    }
    assert_null(db);
}

/* One odd stanza never loses the installed set. dpkg-query on a fixture
 * admin directory is the oracle: it lists a package whose version does not
 * start with a digit (with a warning), and refuses a file with a version it
 * cannot parse; we keep the rest of that file, which is what dpkg-query
 * lists for the file without the refused stanza. */
static const char odd_ok[] = "Package: a\nStatus: install ok installed\nArchitecture: amd64\n"
                             "Version: 1.0\n\n"
                             "Package: b\nStatus: install ok installed\nArchitecture: amd64\n"
                             "Version: abc-1\n\n"
                             "Package: c\nStatus: install ok installed\nArchitecture: all\n"
                             "Version: 2:3.0+x_y\n";
static const char odd_bad[] = "\nPackage: d\nStatus: install ok installed\nArchitecture: amd64\n"
                              "Version: 1.0-\n";

static int line_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted lines of text joined again, for comparing two listings. */
static char *sorted_lines(const char *text)
{
    char *copy = strdup(text), *lines[64], *save = NULL, *l, *out;
    size_t n = 0, i, len = strlen(text) + 2;

    assert_non_null(copy);
    for (l = strtok_r(copy, "\n", &save); l != NULL && n < 64; l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    qsort(lines, n, sizeof(lines[0]), line_cmp);
    out = calloc(1, len);
    assert_non_null(out);
    for (i = 0; i < n; i++)
        snprintf(out + strlen(out), len - strlen(out), "%s\n", lines[i]);
    free(copy);
    return out;
}

static char *dpkg_query_list(const char *status, int *rc)
{
    char dir[200], path[300], cmd[600];
    char buf[4096] = "";
    size_t got;
    FILE *f;

    assert_int_equal(da_test_tmpdir("da-admin", dir, sizeof(dir)), 0);
    snprintf(path, sizeof(path), "%s/status", dir);
    write_file(path, status, strlen(status));
    snprintf(path, sizeof(path), "%s/info", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/updates", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(cmd, sizeof(cmd),
             "dpkg-query --admindir='%s' -W -f '${Package}:${Architecture}=${Version}\\n' "
             "2>/dev/null",
             dir);
    f = popen(cmd, "r");
    assert_non_null(f);
    got = fread(buf, 1, sizeof(buf) - 1, f);
    buf[got] = '\0';
    *rc = pclose(f);
    assert_int_equal(da_test_rmtree(dir), 0);
    return sorted_lines(buf);
}

static char *our_list(const char *status, struct col_patch_facts *f)
{
    struct col_pkgdb *db = NULL;
    struct da_buf inv;
    char *s;

    assert_int_equal(col_pkgdb_from_status(status, strlen(status), &db), 0);
    da_buf_init(&inv, 1 << 20);
    assert_int_equal(col_pkgdb_inventory(db, &inv), 0);
    assert_int_equal(col_pkgdb_facts(db, f), 0);
    s = sorted_lines(da_buf_str(&inv));
    da_buf_free(&inv);
    col_pkgdb_free(db);
    return s;
}

static void test_status_odd_versions(void **state)
{
    char both[1024], *want, *got;
    struct col_patch_facts f;
    int rc;

    (void)state;
    if (system("command -v dpkg-query >/dev/null 2>&1") != 0)
        skip();
    want = dpkg_query_list(odd_ok, &rc);
    assert_int_equal(rc, 0);
    got = our_list(odd_ok, &f);
    assert_string_equal(got, want);
    assert_int_equal(f.installed_count, 3);
    assert_int_equal(f.status_warnings, 2); /* b's upstream, c's "_" */
    assert_int_equal(f.status_skipped, 0);
    assert_int_equal(f.n_status_notes, 2);
    assert_non_null(strstr(f.status_notes[0], "does not start with digit"));
    col_patch_facts_free(&f);
    free(got);

    snprintf(both, sizeof(both), "%s%s", odd_ok, odd_bad);
    free(dpkg_query_list(both, &rc));
    assert_int_not_equal(rc, 0); /* dpkg refuses the file */
    got = our_list(both, &f);
    assert_string_equal(got, want); /* we keep all the rest */
    assert_int_equal(f.status_skipped, 1);
    assert_non_null(strstr(f.status_notes[2], "package 'd'"));
    assert_non_null(strstr(f.status_notes[2], "revision number is empty"));
    col_patch_facts_free(&f);
    free(got);
    free(want);
}

/* Pins: specific pins by version, release and origin; generic pins on
 * lists; priorities >= 1000 hold back or downgrade, negative ones forbid. */
static void test_pins(void **state)
{
    const char status[] = "Package: a\nStatus: install ok installed\nArchitecture: amd64\n"
                          "Version: 1.0\n\n"
                          "Package: b\nStatus: install ok installed\nArchitecture: amd64\n"
                          "Version: 1.0\n\n"
                          "Package: c\nStatus: install ok installed\nArchitecture: amd64\n"
                          "Version: 2.0\n\n"
                          "Package: d\nStatus: install ok installed\nArchitecture: amd64\n"
                          "Version: 1.0\n";
    const char prefs[] = "# comment\n"
                         "Package: a\nPin: version 1.0\nPin-Priority: 1001\n\n"
                         "Package: /^b$/\nPin: release n=exp\nPin-Priority: 600\n\n"
                         "Package: c*\nPin: origin old.example.org\nPin-Priority: 1001\n\n"
                         "Package: *\nPin: release l=Blocked\nPin-Priority: -1\n";
    struct col_release main_rel, exp_rel, blocked_rel;
    struct col_list_match m_main = {"deb.example.org", &main_rel, "main", "amd64"};
    struct col_list_match m_exp = {"deb.example.org", &exp_rel, "main", "amd64"};
    struct col_list_match m_old = {"old.example.org", &main_rel, "main", "amd64"};
    struct col_list_match m_blk = {"x.example.org", &blocked_rel, "main", "amd64"};
    struct col_pins *pins = col_pins_new();
    struct col_pkgdb *db = NULL;
    struct col_patch_facts f;
    int pmain, pexp, pblk;

    (void)state;
    memset(&main_rel, 0, sizeof(main_rel));
    memset(&exp_rel, 0, sizeof(exp_rel));
    memset(&blocked_rel, 0, sizeof(blocked_rel));
    snprintf(exp_rel.codename, sizeof(exp_rel.codename), "exp");
    exp_rel.not_automatic = 1;
    snprintf(blocked_rel.label, sizeof(blocked_rel.label), "Blocked");
    assert_non_null(pins);
    assert_int_equal(col_pins_parse(pins, prefs, strlen(prefs)), 0);
    assert_int_equal(col_pins_count(pins), 4);
    pmain = col_pins_list_priority(pins, &m_main, 500);
    pexp = col_pins_list_priority(pins, &m_exp, col_release_priority(&exp_rel));
    pblk = col_pins_list_priority(pins, &m_blk, 500);
    assert_int_equal(pmain, 500);
    assert_int_equal(pexp, 1);
    assert_int_equal(pblk, -1);
    assert_int_equal(col_pkgdb_from_status(status, strlen(status), &db), 0);
    col_pkgdb_set_pins(db, pins);
#define OFFER(text, prio, m)                                                                       \
    assert_int_equal(col_pkgdb_add_list_stanza(db, text, strlen(text), prio, 0, m), 0)
    OFFER("Package: a\nVersion: 2.0\nArchitecture: amd64\n", pmain, &m_main); /* held */
    OFFER("Package: b\nVersion: 3.0\nArchitecture: amd64\n", pexp, &m_exp);   /* pinned up */
    OFFER("Package: b\nVersion: 2.0\nArchitecture: amd64\n", pmain, &m_main);
    OFFER("Package: c\nVersion: 1.5\nArchitecture: amd64\n", pmain, &m_old); /* downgrade */
    OFFER("Package: c\nVersion: 2.5\nArchitecture: amd64\n", pmain, &m_main);
    OFFER("Package: d\nVersion: 9.0\nArchitecture: amd64\n", pblk, &m_blk); /* forbidden */
#undef OFFER
    assert_int_equal(col_pkgdb_facts(db, &f), 0);
    /* only b is pending, to the experimental 3.0 its pin prefers */
    assert_int_equal(f.n_pending, 1);
    assert_string_equal(f.pending[0].name, "b");
    assert_string_equal(f.pending[0].candidate, "3.0");
    col_patch_facts_free(&f);
    col_pkgdb_free(db);

    assert_int_equal(col_pins_parse(pins, "Package: x\nPin: release a=y\n", 30),
                     DA_ERR_COLLECT_PARSE); /* no priority */
    assert_int_equal(col_pins_parse(pins, "Package: *\nPin: version 1*\nPin-Priority: 5\n", 43),
                     DA_ERR_COLLECT_PARSE); /* generic version pin */
    assert_int_equal(col_pins_parse(pins, "Package: x\nPin: flavour y\nPin-Priority: 5\n", 42),
                     DA_ERR_COLLECT_PARSE);
    col_pins_free(pins);
}

static void test_aptconf(void **state)
{
    const char conf[] = "// c\nAPT::Periodic::Unattended-Upgrade \"1\";\n"
                        "APT { Periodic { Unattended-Upgrade \"0\"; List { \"a\"; \"b\"; }; }; };\n"
                        "/* block */ # hash\n";
    char v[16];

    (void)state;
    assert_int_equal(
        col_aptconf_value(conf, strlen(conf), "APT::Periodic::Unattended-Upgrade", v, sizeof(v)),
        1);
    assert_string_equal(v, "0");
    assert_int_equal(col_aptconf_value(conf, strlen(conf), "APT::Other", v, sizeof(v)), 0);
    assert_int_equal(col_aptconf_value("APT { X \"1\";", 12, "APT::X", v, sizeof(v)),
                     DA_ERR_COLLECT_PARSE);
}

static void test_mountinfo(void **state)
{
    const char mi[] = "21 1 253:1 / / rw - ext4 /dev/mapper/vg-root rw\n"
                      "22 21 0:40 / /mnt/with\\040space rw shared:2 master:1 - tmpfs tmpfs rw\n"
                      "23 21 8:1 / /mnt rw - vfat /dev/sda1 rw\n";
    struct col_mounts m;

    (void)state;
    assert_int_equal(col_mountinfo_parse(mi, strlen(mi), &m), 0);
    assert_int_equal(m.n, 3);
    assert_string_equal(m.v[1].mountpoint, "/mnt/with space");
    assert_int_equal(m.v[0].major, 253);
    assert_string_equal(col_mounts_find(&m, "/mnt/x")->mountpoint, "/mnt");
    assert_string_equal(col_mounts_find(&m, "/mntx")->mountpoint, "/");
    col_mounts_free(&m);
    assert_int_not_equal(col_mountinfo_parse("21 1 253:1 / / rw ext4\n", 23, &m), 0);
    assert_int_not_equal(col_mountinfo_parse(mi, strlen(mi) - 1, &m), 0); /* no final newline */
}

static void test_toolcache(void **state)
{
    struct col_toolcache c, d;
    struct col_toolcache_entry e;
    struct col_toolcache_owner o;
    char *text = NULL;
    size_t len;

    (void)state;
    memset(&c, 0, sizeof(c));
    memset(&e, 0, sizeof(e));
    e.dev = 1;
    e.ino = 2;
    e.size = 3;
    e.mtime_ns = 999999999;
    memset(e.sha256, 'a', 64);
    memset(e.md5, 'b', 32);
    assert_int_equal(col_toolcache_put(&c, &e), 0);
    snprintf(c.dpkg_key, sizeof(c.dpkg_key), "k1");
    memset(&o, 0, sizeof(o));
    snprintf(o.package, sizeof(o.package), "gcc-12");
    snprintf(o.version, sizeof(o.version), "12.2.0-14");
    snprintf(o.path, sizeof(o.path), "/usr/bin/gcc-12");
    snprintf(o.dpkg_path, sizeof(o.dpkg_path), "/usr/bin/gcc-12");
    assert_int_equal(col_toolcache_put_owner(&c, &o), 0);
    assert_int_equal(col_toolcache_format(&c, &text, &len), 0);
    assert_int_equal(col_toolcache_parse(text, len, &d), 0);
    assert_non_null(col_toolcache_find(&d, &e));
    assert_string_equal(col_toolcache_find_owner(&d, "/usr/bin/gcc-12")->package, "gcc-12");
    col_toolcache_free(&d);
    text[len - 1] = ' ';
    assert_int_not_equal(col_toolcache_parse(text, len, &d), 0);
    free(text);
    col_toolcache_free(&c);
}

static void test_ssh_keys(void **state)
{
    (void)state;
    assert_int_equal(col_ssh_key_unencrypted("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n"), 1);
    assert_int_equal(col_ssh_key_unencrypted("-----BEGIN RSA PRIVATE KEY-----\n"
                                             "Proc-Type: 4,ENCRYPTED\n"),
                     0);
    assert_int_equal(col_ssh_key_unencrypted("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"), 0);
    assert_int_equal(col_ssh_key_unencrypted("ssh-ed25519 AAAA"), -1);
}

static void test_config(void **state)
{
    static const char *const bad[] = {
        "{\"bogus\": 1}",
        "{\"role\": 1}",
        "{\"role\": \"\"}",
        "{\"production_cidrs\": [\"10.0.0.0/33\"]}",
        "{\"production_cidrs\": [\"prod\"]}",
        "{\"source_dirs\": [\"relative\"]}",
        "{\"toolchain\": [\"/usr/bin/gcc\"]}",
        "{\"toolchain\": \"gcc\"}",
        "{\"role\": \"a\", \"role\": \"b\"}",
        "[]",
        "{} x",
    };
    const char good[] = "{\"role\": \"development\", \"toolchain\": [\"gcc\", \"make\"], "
                        "\"production_cidrs\": [\"10.0.0.0/8\", \"2001:db8::/32\"], "
                        "\"production_patterns\": [\"*prod*\"], \"source_dirs\": [\"/src\"]}";
    struct col_config_file *f = NULL;
    const struct col_config *c;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (col_config_parse(bad[i], strlen(bad[i]), &f) != DA_ERR_CONFIG)
            fail_msg("accepted: %s", bad[i]);
        assert_null(f);
    }
    assert_int_equal(col_config_parse(good, strlen(good), &f), 0);
    c = col_config_get(f);
    assert_string_equal(c->role, "development");
    assert_int_equal(c->n_toolchain, 2);
    assert_string_equal(c->toolchain[1], "make");
    assert_int_equal(c->n_production_cidrs, 2);
    assert_string_equal(c->source_dirs[0], "/src");
    assert_string_equal(c->path_env, col_default_config()->path_env); /* default kept */
    col_config_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_compare),
        cmocka_unit_test(test_version_syntax),
        cmocka_unit_test(test_version_odd_order),
        cmocka_unit_test(test_status_odd_versions),
        cmocka_unit_test(test_deb822_strict),
        cmocka_unit_test(test_release),
        cmocka_unit_test(test_compressed_lists),
        cmocka_unit_test(test_candidates),
        cmocka_unit_test(test_aptconf),
        cmocka_unit_test(test_mountinfo),
        cmocka_unit_test(test_toolcache),
        cmocka_unit_test(test_ssh_keys),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_pins),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

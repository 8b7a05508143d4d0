/* Parsers and comparisons under the patches, disk and toolchain collectors. */
#include "da_test.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int col_ssh_key_unencrypted(const char *text);

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

static void test_version_syntax(void **state)
{
    static const char *const bad[] = {"",     "a1.0",  ":1.0",    "1:",    "x:1.0",
                                      "1.0-", "1.0 1", "1.0-a_b", "1:2:3", "1.0/2"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (col_debver_check(bad[i], strlen(bad[i])) == 0)
            fail_msg("'%s' accepted", bad[i]);
    assert_int_equal(col_debver_check("1:2.0-1-2", 9), 0);
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
    assert_int_equal(col_deb_list_read(path, count_stanza, &count), 0);
    assert_int_equal(count, 3);

    snprintf(path, sizeof(path), "%s/x_Packages.lz4", dir);
    out_n = LZ4F_compressFrame(buf, cap, packages_text, n, NULL);
    assert_false(LZ4F_isError(out_n));
    write_file(path, buf, out_n);
    count = 0;
    assert_int_equal(col_deb_list_read(path, count_stanza, &count), 0);
    assert_int_equal(count, 3);
    write_file(path, buf, out_n - 5); /* truncated frame */
    count = 0;
    assert_int_not_equal(col_deb_list_read(path, count_stanza, &count), 0);

    snprintf(path, sizeof(path), "%s/x_Packages.gz", dir);
    gz = gzopen(path, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, packages_text, (unsigned)n), (int)n);
    gzclose(gz);
    count = 0;
    assert_int_equal(col_deb_list_read(path, count_stanza, &count), 0);
    assert_int_equal(count, 3);

    snprintf(path, sizeof(path), "%s/x_Packages.xz", dir);
    out_n = 0;
    assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL,
                                             (const uint8_t *)packages_text, n, buf, &out_n, cap),
                     LZMA_OK);
    write_file(path, buf, out_n);
    count = 0;
    assert_int_equal(col_deb_list_read(path, count_stanza, &count), 0);
    assert_int_equal(count, 3);

    snprintf(path, sizeof(path), "%s/x_Packages.zst", dir);
    out_n = ZSTD_compress(buf, cap, packages_text, n, 3);
    assert_false(ZSTD_isError(out_n));
    write_file(path, buf, out_n);
    count = 0;
    assert_int_equal(col_deb_list_read(path, count_stanza, &count), 0);
    assert_int_equal(count, 3);

    snprintf(path, sizeof(path), "%s/x_Packages.gz", dir);
    write_file(path, "not gzip", 8);
    assert_int_equal(col_deb_list_read(path, count_stanza, &count), DA_ERR_DECOMPRESS);

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

    assert_int_equal(col_pkgdb_from_status("Package: x\nStatus: install ok installed\n"
                                           "Architecture: amd64\nVersion: 1\n\n"
                                           "Package: x\nStatus: install ok installed\n"
                                           "Architecture: amd64\nVersion: 2\n",
                                           130, &db),
                     DA_ERR_COLLECT_PARSE);
    assert_null(db);
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
        cmocka_unit_test(test_version_compare),  cmocka_unit_test(test_version_syntax),
        cmocka_unit_test(test_deb822_strict),    cmocka_unit_test(test_release),
        cmocka_unit_test(test_compressed_lists), cmocka_unit_test(test_candidates),
        cmocka_unit_test(test_aptconf),          cmocka_unit_test(test_mountinfo),
        cmocka_unit_test(test_toolcache),        cmocka_unit_test(test_ssh_keys),
        cmocka_unit_test(test_config),           cmocka_unit_test(test_pins),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

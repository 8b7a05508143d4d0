/* Security updates masked by newer non-security updates.
 *
 * Ground truth is apt itself, run on fixture roots built here: `apt-get -s
 * upgrade -o Dir=ROOT` with every source enabled gives the pending upgrades,
 * and the same command with only the -security sources enabled gives the
 * packages apt would upgrade from security suites alone. A pending upgrade
 * must be `security: true` exactly when apt upgrades (or keeps back) the
 * package in the second run: a fix in -security stays a security update
 * when a newer version from -updates or a point release is the candidate,
 * as Ubuntu's apt-check counts it. Skipped, with the reason, without apt-get. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector.h"
#include "tmptree.h"

#define MAX_NAMES 64

struct names {
    char v[MAX_NAMES][128];
    char cand[MAX_NAMES][128];
    size_t n;
};

/* A package of the fixture: installed version, then one stanza per suite
 * holding it (NULL when absent). */
struct pkg {
    const char *name, *arch, *installed, *main, *updates, *security;
    const char *why;
};

static const struct pkg pkgs[] = {
    {"dpkg", "amd64", "1.21.22", "1.21.22", NULL, NULL, "native architecture"},
    {"masked-by-updates", "amd64", "1.0-1", "1.0-1", "1.0-1+deb12u2", "1.0-1+deb12u1",
     "candidate from -updates, an older fix in -security"},
    {"masked-by-point-release", "amd64", "2.0-1", "2.0-3", NULL, "2.0-2",
     "candidate from the point release, an older fix in -security"},
    {"candidate-is-security", "amd64", "3.0-1", "3.0-1", NULL, "3.0-2", "candidate from -security"},
    {"security-not-newer", "amd64", "4.0-2", "4.0-1", "4.0-3", "4.0-2",
     "the -security version is the installed one"},
    {"security-older", "amd64", "5.0-3", "5.0-4", NULL, "5.0-2",
     "the -security version is older than the installed one"},
    {"security-pinned-out", "amd64", "6.0-1", "6.0-1", "6.0-3", "6.0-2",
     "the -security version has a negative pin"},
    {"plain-update", "amd64", "7.0-1", "7.0-2", NULL, NULL, "no -security version"},
    {"security-above-pinned-candidate", "amd64", "8.0-1", "8.0-1", "8.0-1+u1", "8.0-2",
     "candidate pinned below a newer -security version"},
    {"epoch-security", "amd64", "1:1.0-1", "1.5-1", NULL, "1:1.0-1+deb12u1",
     "epoch: the -security version wins over a higher upstream without epoch"},
    {"arch-all-masked", "all", "1.0", "1.0", "1.2", "1.1", "architecture all, masked by -updates"},
    {"not-installed", NULL, NULL, "1.0", NULL, "1.1", "not installed: never pending"},
};

#define N_PKGS (sizeof(pkgs) / sizeof(pkgs[0]))

/* A distribution's naming of its archive and security suites. */
struct distro {
    const char *name;
    const char *archive_uri, *archive_list;   /* the list file prefix apt derives from the URI */
    const char *security_uri, *security_list; /* likewise for the security archive */
    const char *suite[3];                     /* release, updates, security */
    const char *release[3];                   /* Release file fields of each suite */
    const char *security_pin;                 /* a release pin matching the security suite */
};

static const struct distro debian = {
    "Debian",
    "http://deb.example.org/debian",
    "deb.example.org_debian",
    "http://security.example.org/debian-security",
    "security.example.org_debian-security",
    {"bookworm", "bookworm-updates", "bookworm-security"},
    {"Origin: Debian\nLabel: Debian\nSuite: stable\nVersion: 12.9\nCodename: bookworm\n",
     "Origin: Debian\nLabel: Debian\nSuite: stable-updates\nCodename: bookworm-updates\n",
     "Origin: Debian\nLabel: Debian-Security\nSuite: stable-security\n"
     "Codename: bookworm-security\n"},
    "l=Debian-Security, a=stable-security",
};

static const struct distro ubuntu = {
    "Ubuntu",
    "http://archive.example.org/ubuntu",
    "archive.example.org_ubuntu",
    "http://security.example.org/ubuntu",
    "security.example.org_ubuntu",
    {"jammy", "jammy-updates", "jammy-security"},
    {"Origin: Ubuntu\nLabel: Ubuntu\nSuite: jammy\nVersion: 22.04\nCodename: jammy\n",
     "Origin: Ubuntu\nLabel: Ubuntu\nSuite: jammy-updates\nVersion: 22.04\nCodename: jammy\n",
     "Origin: Ubuntu\nLabel: Ubuntu\nSuite: jammy-security\nVersion: 22.04\nCodename: jammy\n"},
    "o=Ubuntu, a=jammy-security",
};

static void write_status(const char *root)
{
    char text[8192];
    size_t off = 0, i;

    for (i = 0; i < N_PKGS; i++) {
        if (pkgs[i].installed == NULL)
            continue;
        off += (size_t)snprintf(text + off, sizeof(text) - off,
                                "Package: %s\nStatus: install ok installed\nArchitecture: %s\n"
                                "Version: %s\nMaintainer: t <t@example.org>\nDescription: t\n\n",
                                pkgs[i].name, pkgs[i].arch, pkgs[i].installed);
        assert_true(off < sizeof(text));
    }
    da_tmptree_write(root, "/var/lib/dpkg/status", text);
    da_tmptree_write(root, "/var/lib/dpkg/available", "");
    da_tmptree_mkdir(root, "/var/lib/dpkg/updates");
    da_tmptree_mkdir(root, "/var/lib/dpkg/info");
}

/* suite: 0 main, 1 updates, 2 security */
static void write_list(const char *root, const char *rel, int suite)
{
    char text[8192];
    size_t off = 0, i;

    for (i = 0; i < N_PKGS; i++) {
        const char *v = suite == 0 ? pkgs[i].main : suite == 1 ? pkgs[i].updates : pkgs[i].security;

        if (v == NULL)
            continue;
        off += (size_t)snprintf(text + off, sizeof(text) - off,
                                "Package: %s\nVersion: %s\nArchitecture: %s\n"
                                "Filename: pool/%s_%zu_%d.deb\nSize: 1000\n\n",
                                pkgs[i].name, v, pkgs[i].arch != NULL ? pkgs[i].arch : "amd64",
                                pkgs[i].name, i, suite);
        assert_true(off < sizeof(text));
    }
    da_tmptree_write(root, rel, text);
}

#define LISTS "/var/lib/apt/lists/"

static void build_root(const char *root, const struct distro *d)
{
    char text[2048], rel[512];
    int i;

    write_status(root);
    da_tmptree_mkdir(root, "/var/lib/apt/lists/partial");
    da_tmptree_mkdir(root, "/var/cache/apt/archives/partial");
    da_tmptree_mkdir(root, "/etc/apt/apt.conf.d");
    da_tmptree_mkdir(root, "/etc/apt/sources.list.d");
    snprintf(text, sizeof(text),
             "Package: security-pinned-out\nPin: release %s\nPin-Priority: -1\n\n"
             "Package: security-above-pinned-candidate\nPin: version 8.0-1+u1\n"
             "Pin-Priority: 990\n",
             d->security_pin);
    da_tmptree_write(root, "/etc/apt/preferences.d/pins", text);
    snprintf(text, sizeof(text),
             "deb [trusted=yes] %s %s main\ndeb [trusted=yes] %s %s main\n"
             "deb [trusted=yes] %s %s main\n",
             d->archive_uri, d->suite[0], d->archive_uri, d->suite[1], d->security_uri,
             d->suite[2]);
    da_tmptree_write(root, "/etc/apt/sources.list", text);
    snprintf(text, sizeof(text), "deb [trusted=yes] %s %s main\n", d->security_uri, d->suite[2]);
    da_tmptree_write(root, "/etc/apt/security-only.list", text);
    for (i = 0; i < 3; i++) {
        const char *list = i == 2 ? d->security_list : d->archive_list;

        snprintf(rel, sizeof(rel), LISTS "%s_dists_%s_Release", list, d->suite[i]);
        snprintf(text, sizeof(text), "%sArchitectures: amd64 all\nComponents: main\n",
                 d->release[i]);
        da_tmptree_write(root, rel, text);
        snprintf(rel, sizeof(rel), LISTS "%s_dists_%s_main_binary-amd64_Packages", list,
                 d->suite[i]);
        write_list(root, rel, i);
    }
}

static void names_add(struct names *n, const char *name, const char *cand)
{
    size_t i;

    for (i = 0; i < n->n; i++)
        if (strcmp(n->v[i], name) == 0)
            return;
    assert_true(n->n < MAX_NAMES);
    snprintf(n->v[n->n], sizeof(n->v[0]), "%s", name);
    snprintf(n->cand[n->n], sizeof(n->cand[0]), "%s", cand != NULL ? cand : "");
    n->n++;
}

static const char *names_find(const struct names *n, const char *name)
{
    size_t i;

    for (i = 0; i < n->n; i++)
        if (strcmp(n->v[i], name) == 0)
            return n->cand[i];
    return NULL;
}

/* apt-get -s upgrade on root: "Inst NAME [OLD] (NEW ...)" lines, plus the
 * packages it keeps back (upgradable, but not installable by `upgrade`). */
static void apt_upgrade(const char *root, const char *source_list, struct names *out)
{
    char cmd[2048], line[4096];
    int kept = 0;
    FILE *p;

    memset(out, 0, sizeof(*out));
    snprintf(cmd, sizeof(cmd),
             "LC_ALL=C apt-get -s upgrade -o Dir='%s' -o Dir::Etc::SourceList='%s%s' "
             "-o Dir::Etc::SourceParts='%s/etc/apt/sources.list.d' "
             "-o Dir::State::status='%s/var/lib/dpkg/status' -o APT::Architecture=amd64 "
             "-o APT::Architectures::=amd64 -o Debug::NoLocking=1 2>&1",
             root, root, source_list, root, root);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p) != NULL) {
        char name[128], old[128], cand[128];

        if (strncmp(line, "E: ", 3) == 0)
            fail_msg("apt-get: %s", line);
        if (sscanf(line, "Inst %127s [%127[^]]] (%127s", name, old, cand) == 3) {
            names_add(out, name, cand);
            continue;
        }
        if (strncmp(line, "The following packages have been kept back:", 43) == 0) {
            kept = 1;
            continue;
        }
        if (kept && line[0] == ' ') {
            char *save = NULL, *t;

            for (t = strtok_r(line, " \n", &save); t != NULL; t = strtok_r(NULL, " \n", &save))
                names_add(out, t, NULL);
            continue;
        }
        kept = 0;
    }
    assert_int_equal(pclose(p), 0);
}

static cJSON *collect_root(const char *root)
{
    struct col_ctx ctx;
    cJSON *doc = NULL;

    memset(&ctx, 0, sizeof(ctx));
    ctx.root = root;
    ctx.now = time(NULL);
    ctx.cfg = col_default_config();
    ctx.ops = &col_root_ops;
    assert_int_equal(col_collect_evidence(&ctx, "patches", &doc), 0);
    return doc;
}

static void security_equals_apt_security_only(const struct distro *d)
{
    struct names all, sec;
    char root[512];
    cJSON *doc, *patches, *pending, *it;
    size_t n = 0, n_sec = 0, masked = 0, i;

    if (system("command -v apt-get >/dev/null 2>&1") != 0) {
        print_message("SKIP: apt-get is not installed\n");
        skip();
    }
    da_tmptree_make("da-patches-sec", root, sizeof(root));
    build_root(root, d);
    apt_upgrade(root, "/etc/apt/sources.list", &all);
    apt_upgrade(root, "/etc/apt/security-only.list", &sec);
    /* the fixture must exercise the classes at all: masked fixes, and a
     * security version a pin forbids */
    assert_true(all.n >= 6);
    assert_true(sec.n >= 4);
    assert_non_null(names_find(&sec, "masked-by-updates"));
    assert_non_null(names_find(&all, "security-pinned-out"));
    assert_null(names_find(&sec, "security-pinned-out"));

    doc = collect_root(root);
    patches = cJSON_GetObjectItem(doc, "patches");
    pending = cJSON_GetObjectItem(patches, "pending");
    assert_true(cJSON_IsArray(pending));
    cJSON_ArrayForEach(it, pending)
    {
        const char *name = cJSON_GetObjectItem(it, "name")->valuestring;
        const char *cand = cJSON_GetObjectItem(it, "candidate")->valuestring;
        const char *want = names_find(&all, name);
        int is_sec = cJSON_IsTrue(cJSON_GetObjectItem(it, "security"));
        const char *sec_cand = names_find(&sec, name);

        if (want == NULL)
            fail_msg("%s is pending for us, not for apt-get -s upgrade", name);
        if (want[0] != '\0' && strcmp(want, cand) != 0)
            fail_msg("%s: candidate %s, apt %s", name, cand, want);
        if (is_sec != (sec_cand != NULL))
            fail_msg("%s: security %d, apt with only -security sources upgrades it: %d", name,
                     is_sec, sec_cand != NULL);
        if (is_sec && sec_cand[0] != '\0' && strcmp(sec_cand, cand) != 0)
            masked++;
        if (is_sec)
            n_sec++;
        n++;
    }
    if (n != all.n)
        fail_msg("apt upgrades %zu packages, we list %zu pending", all.n, n);
    for (i = 0; i < sec.n; i++)
        if (names_find(&all, sec.v[i]) == NULL)
            fail_msg("%s: a security upgrade apt sees that is not pending", sec.v[i]);
    assert_int_equal((int)cJSON_GetObjectItem(patches, "security_pending_count")->valuedouble,
                     (int)n_sec);
    assert_true(masked >= 3);
    print_message("%s: pending %zu, security %zu (of which masked by a newer candidate %zu): "
                  "identical to apt-get -s upgrade with all / only -security sources\n",
                  d->name, n, n_sec, masked);
    cJSON_Delete(doc);
    da_tmptree_remove(root);
}

static void test_debian(void **state)
{
    (void)state;
    security_equals_apt_security_only(&debian);
}

static void test_ubuntu(void **state)
{
    (void)state;
    security_equals_apt_security_only(&ubuntu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debian),
        cmocka_unit_test(test_ubuntu),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

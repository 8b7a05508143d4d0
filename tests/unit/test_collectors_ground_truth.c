/* Ground truth on this machine: the pending upgrades computed offline equal
 * what `apt list --upgradable` reports from the same lists (names, candidate
 * and installed versions); the security flag equals what `apt-get -s
 * upgrade` upgrades when it sees only the lists of -security suites (so a
 * security fix masked by a newer candidate from -updates or a point release
 * counts); toolchain verification agrees with `dpkg --verify` for the owning
 * packages. Skipped, with the reason, when the machine has no apt lists or
 * no dpkg. */
#include "da_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"
#include "err.h"
#include "tmptree.h"

struct upgrade {
    char name[256], candidate[256], installed[256];
    int security;
};

static int has_lists(void)
{
    DIR *d = opendir("/var/lib/apt/lists");
    struct dirent *e;
    int found = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, "_Packages") != NULL)
            found = 1;
    closedir(d);
    return found;
}

/* Names apt-get -s upgrade upgrades (or keeps back) when the lists directory
 * holds only the lists of -security suites of this machine. */
static size_t apt_security_only(char (*out)[256], size_t max)
{
    char dir[512], from[1024], to[1024], cmd[1024], line[4096];
    struct dirent *e;
    size_t n = 0, links = 0;
    int kept = 0;
    DIR *d;
    FILE *p;

    da_tmptree_make("da-seclists", dir, sizeof(dir));
    da_tmptree_mkdir(dir, "/partial");
    d = opendir("/var/lib/apt/lists");
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strstr(e->d_name, "-security_") == NULL)
            continue;
        snprintf(from, sizeof(from), "/var/lib/apt/lists/%s", e->d_name);
        snprintf(to, sizeof(to), "%s/%s", dir, e->d_name);
        assert_int_equal(symlink(from, to), 0);
        links++;
    }
    closedir(d);
    snprintf(cmd, sizeof(cmd),
             "LC_ALL=C apt-get -s upgrade -o Dir::State::Lists='%s' -o Dir::Cache::pkgcache= "
             "-o Dir::Cache::srcpkgcache= -o Debug::NoLocking=1 2>/dev/null",
             dir);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (links > 0 && fgets(line, sizeof(line), p) != NULL) {
        char name[256], *save = NULL, *t;

        if (sscanf(line, "Inst %255s", name) == 1) {
            assert_true(n < max);
            snprintf(out[n++], 256, "%s", name);
            continue;
        }
        if (strncmp(line, "The following packages have been kept back:", 43) == 0) {
            kept = 1;
            continue;
        }
        if (!kept || line[0] != ' ') {
            kept = 0;
            continue;
        }
        for (t = strtok_r(line, " \n", &save); t != NULL; t = strtok_r(NULL, " \n", &save)) {
            assert_true(n < max);
            snprintf(out[n++], 256, "%s", t);
        }
    }
    assert_int_equal(pclose(p), 0);
    da_tmptree_remove(dir);
    return n;
}

static int name_in(char (*v)[256], size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(v[i], name) == 0)
            return 1;
    return 0;
}

static cJSON *collect_live(const char *only)
{
    struct col_ctx ctx;
    cJSON *doc = NULL;

    memset(&ctx, 0, sizeof(ctx));
    ctx.root = "";
    ctx.live = 1;
    ctx.now = time(NULL);
    ctx.cfg = col_default_config();
    ctx.ops = &col_live_ops;
    assert_int_equal(col_collect_evidence(&ctx, only, &doc), 0);
    return doc;
}

/* "name/suite1,suite2 version arch [upgradable from: old]" */
static size_t apt_upgradable(struct upgrade *out, size_t max)
{
    FILE *p = popen("LANG=C apt list --upgradable 2>/dev/null", "r");
    char line[2048];
    size_t n = 0;

    assert_non_null(p);
    while (fgets(line, sizeof(line), p) != NULL) {
        char name[256], suites[512], ver[256], arch[64], from[256];
        char *s, *save = NULL;

        if (sscanf(line, "%255[^/]/%511s %255s %63s [upgradable from: %255[^]]", name, suites, ver,
                   arch, from) != 5)
            continue;
        assert_true(n < max);
        snprintf(out[n].name, sizeof(out[n].name), "%s", name);
        snprintf(out[n].candidate, sizeof(out[n].candidate), "%s", ver);
        snprintf(out[n].installed, sizeof(out[n].installed), "%s", from);
        out[n].security = 0;
        for (s = strtok_r(suites, ",", &save); s != NULL; s = strtok_r(NULL, ",", &save)) {
            size_t l = strlen(s);

            if (l > 9 && strcmp(s + l - 9, "-security") == 0)
                out[n].security = 1;
        }
        n++;
    }
    assert_int_equal(pclose(p), 0);
    return n;
}

static void test_pending_equals_apt(void **state)
{
    static struct upgrade want[8192];
    static char sec_names[8192][256];
    cJSON *doc, *pending, *it;
    size_t n, n_sec, i, matched = 0, masked = 0;

    (void)state;
    if (!has_lists() || system("command -v apt >/dev/null 2>&1") != 0) {
        print_message("SKIP: no apt lists in /var/lib/apt/lists (run apt-get update) or no apt\n");
        skip();
    }
    n = apt_upgradable(want, sizeof(want) / sizeof(want[0]));
    n_sec = apt_security_only(sec_names, sizeof(sec_names) / sizeof(sec_names[0]));
    doc = collect_live("patches");
    pending = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "patches"), "pending");
    assert_true(cJSON_IsArray(pending));
    cJSON_ArrayForEach(it, pending)
    {
        const char *name = cJSON_GetObjectItem(it, "name")->valuestring;
        const char *cand = cJSON_GetObjectItem(it, "candidate")->valuestring;
        const char *inst = cJSON_GetObjectItem(it, "installed")->valuestring;
        int sec = cJSON_IsTrue(cJSON_GetObjectItem(it, "security"));
        int found = 0;

        for (i = 0; i < n && !found; i++) {
            if (strcmp(want[i].name, name) != 0 || strcmp(want[i].candidate, cand) != 0)
                continue;
            found = 1;
            if (strcmp(want[i].installed, inst) != 0)
                fail_msg("%s %s: installed %s/%s (ours/apt)", name, cand, inst, want[i].installed);
            /* a candidate from a security suite is a security update, and so
             * is any package apt upgrades from the security suites alone */
            if (sec != name_in(sec_names, n_sec, name) || (want[i].security && !sec))
                fail_msg("%s %s: security %d; apt list: candidate from -security %d; apt-get "
                         "-s upgrade with only -security lists upgrades it: %d",
                         name, cand, sec, want[i].security, name_in(sec_names, n_sec, name));
            masked += sec && !want[i].security;
        }
        if (!found)
            fail_msg("%s %s is pending for us but not for apt", name, cand);
        matched++;
    }
    if (matched != n)
        fail_msg("apt lists %zu upgradable packages, we found %zu", n, matched);
    print_message("pending upgrades: %zu, identical to apt list --upgradable; security %zu "
                  "(%zu masked by a newer candidate), identical to apt-get -s upgrade with only "
                  "the -security lists\n",
                  n, n_sec, masked);
    cJSON_Delete(doc);
}

/* Does dpkg --verify report a checksum mismatch for path in pkg? */
static int dpkg_mismatch(const char *pkg, const char *real)
{
    char cmd[512], line[2048];
    FILE *p;
    int bad = 0;

    snprintf(cmd, sizeof(cmd), "dpkg --verify '%s' 2>/dev/null", pkg);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p) != NULL) {
        char *path = strchr(line, '/');

        if (path == NULL || strlen(line) < 3)
            continue;
        path[strcspn(path, "\n")] = '\0';
        if (line[2] == '5' && (strcmp(path, real) == 0 ||
                               (strncmp(real, "/usr/", 5) == 0 && strcmp(path, real + 4) == 0)))
            bad = 1;
    }
    pclose(p);
    return bad;
}

static void test_toolchain_equals_dpkg_verify(void **state)
{
    cJSON *doc, *tools, *it;
    int checked = 0;

    (void)state;
    if (system("command -v dpkg >/dev/null 2>&1") != 0) {
        print_message("SKIP: no dpkg on this machine\n");
        skip();
    }
    doc = collect_live("toolchain");
    tools = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "toolchain"), "tools");
    cJSON_ArrayForEach(it, tools)
    {
        cJSON *pkg = cJSON_GetObjectItem(it, "package");
        cJSON *ver = cJSON_GetObjectItem(it, "package_verified");
        const char *real;

        if (!cJSON_IsString(pkg) || !cJSON_IsBool(ver))
            continue;
        real = cJSON_GetObjectItem(it, "realpath")->valuestring;
        if (cJSON_IsTrue(ver) == dpkg_mismatch(pkg->valuestring, real))
            fail_msg("%s (%s): package_verified %d disagrees with dpkg --verify", real,
                     pkg->valuestring, cJSON_IsTrue(ver));
        checked++;
    }
    if (checked == 0) {
        print_message("SKIP: no configured tool is owned by a dpkg package here\n");
        cJSON_Delete(doc);
        skip();
    }
    print_message("toolchain: %d packaged tools agree with dpkg --verify\n", checked);
    cJSON_Delete(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pending_equals_apt),
        cmocka_unit_test(test_toolchain_equals_dpkg_verify),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

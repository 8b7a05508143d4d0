/* Ground truth on this machine: the pending upgrades computed offline equal
 * what `apt list --upgradable` reports from the same lists (names, candidate
 * and installed versions, security flag), and toolchain verification agrees
 * with `dpkg --verify` for the owning packages. Skipped, with the reason,
 * when the machine has no apt lists or no dpkg. */
#include "da_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "err.h"

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
    cJSON *doc, *pending, *it;
    size_t n, i, matched = 0;

    (void)state;
    if (!has_lists() || system("command -v apt >/dev/null 2>&1") != 0) {
        print_message("SKIP: no apt lists in /var/lib/apt/lists (run apt-get update) or no apt\n");
        skip();
    }
    n = apt_upgradable(want, sizeof(want) / sizeof(want[0]));
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
            if (strcmp(want[i].installed, inst) != 0 || want[i].security != sec)
                fail_msg("%s %s: installed %s/%s security %d/%d (ours/apt)", name, cand, inst,
                         want[i].installed, sec, want[i].security);
        }
        if (!found)
            fail_msg("%s %s is pending for us but not for apt", name, cand);
        matched++;
    }
    if (matched != n)
        fail_msg("apt lists %zu upgradable packages, we found %zu", n, matched);
    print_message("pending upgrades: %zu, identical to apt list --upgradable\n", n);
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

/* The evidence's privacy table (common/privacy.c) against the real agent:
 *
 * - pseudonyms are HMAC-SHA-256 as OpenSSL's HMAC() computes it;
 * - every field the agent's `collect` prints, on every fixture root (with
 *   names planted by tests/fixtures/plant-personal.sh) and on this machine,
 *   is in the table, and every row of the table is in docs/privacy.md;
 * - in minimal mode no planted name, no value of a personal field and no
 *   unknown's detail is left in the document, while the shipped policy
 *   gives every check the same verdict as in standard mode. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "buf.h"
#include "err.h"
#include "jcs.h"
#include "policy.h"
#include "privacy.h"
#include "tmp_tree.h"

#define AGENT   DA_BINARY_ROOT "/agent/devattest-agent"
#define SHIPPED DA_SOURCE_ROOT "/common/policies/iso27001-2022-devenv.json"
#define DOCS    DA_SOURCE_ROOT "/docs/privacy.md"

static const char *const roots[] = {
    "lvm_luks2",      "plain_dmcrypt", "opal_luks2", "fscrypt_home",
    "none_container", "planted",       "rpm",        NULL /* this machine */};
#define NROOTS (sizeof(roots) / sizeof(roots[0]))

/* What plant-personal.sh writes, and names the fixtures hold already. */
static const char *const planted[] = {"ines-marquardt", "ines-laptop", "alice", "build-01"};

static char dir[256];
static const unsigned char key[DA_PRIVACY_KEY_LEN] = {
    0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
    0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f};

static char *read_all(FILE *f, size_t cap)
{
    char *s = malloc(cap + 1);
    size_t n = 0, r;

    assert_non_null(s);
    while (n < cap && (r = fread(s + n, 1, cap - n, f)) > 0)
        n += r;
    s[n] = '\0';
    return s;
}

/* The agent's standard-mode document of a root (NULL: this machine). */
static cJSON *collect(const char *root)
{
    char cmd[2000], rootarg[1000] = "";
    FILE *p;
    char *out;
    cJSON *doc;

    if (root != NULL)
        snprintf(rootarg, sizeof(rootarg), "--root '%s/%s' --config '%s/collector.json'", dir, root,
                 dir);
    snprintf(cmd, sizeof(cmd),
             "'%s' collect --no-cache --agent-config '%s/agent.conf' --privacy standard %s", AGENT,
             dir, rootarg);
    p = popen(cmd, "r");
    assert_non_null(p);
    out = read_all(p, 64u << 20);
    assert_int_equal(pclose(p), 0);
    doc = cJSON_Parse(out);
    if (doc == NULL)
        fail_msg("collect %s: not JSON", root != NULL ? root : "/");
    free(out);
    return doc;
}

static char *serialize(const cJSON *doc)
{
    struct da_buf b;
    char *s;

    da_buf_init(&b, 64u << 20);
    assert_int_equal(da_jcs_serialize(doc, &b), 0);
    s = (char *)da_buf_take(&b, NULL);
    da_buf_free(&b);
    assert_non_null(s);
    return s;
}

static void test_pseudonym_is_hmac_sha256(void **state)
{
    static const char *const values[] = {"alice", "", "/home/ines-marquardt/src", "ünïcode"};
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    char p[DA_PRIVACY_PSEUDONYM_SIZE], want[DA_PRIVACY_PSEUDONYM_SIZE];
    size_t i, j;

    (void)state;
    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        assert_non_null(HMAC(EVP_sha256(), key, sizeof(key), (const unsigned char *)values[i],
                             strlen(values[i]), mac, &len));
        assert_int_equal(len, 32);
        want[0] = 'p';
        want[1] = ':';
        for (j = 0; j < 12; j++)
            snprintf(want + 2 + 2 * j, 3, "%02x", mac[j]);
        assert_int_equal(da_privacy_pseudonym(key, values[i], p), 0);
        assert_string_equal(p, want);
    }
}

static void test_key_parse(void **state)
{
    unsigned char k[DA_PRIVACY_KEY_LEN];
    char hex[80];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(key); i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    assert_int_equal(da_privacy_key_parse(hex, strlen(hex), k), 0);
    assert_memory_equal(k, key, sizeof(key));
    hex[64] = '\n';
    assert_int_equal(da_privacy_key_parse(hex, 65, k), 0);
    assert_int_equal(da_privacy_key_parse(hex, 63, k), DA_ERR_INVALID_ARG);
    hex[10] = 'g';
    assert_int_equal(da_privacy_key_parse(hex, 64, k), DA_ERR_INVALID_ARG);
    assert_int_equal(da_privacy_key_parse("", 0, k), DA_ERR_INVALID_ARG);
}

static void test_mode_names(void **state)
{
    enum da_privacy_mode m;
    cJSON *null = cJSON_CreateNull();

    (void)state;
    assert_int_equal(da_privacy_mode_parse("minimal", &m), 0);
    assert_int_equal(m, DA_PRIVACY_MINIMAL);
    assert_int_equal(da_privacy_mode_parse("standard", &m), 0);
    assert_int_equal(m, DA_PRIVACY_STANDARD);
    assert_int_equal(da_privacy_mode_parse("Minimal", &m), DA_ERR_INVALID_ARG);
    assert_int_equal(da_privacy_apply(null, DA_PRIVACY_STANDARD, NULL), DA_ERR_INVALID_ARG);
    cJSON_Delete(null);
}

/* Every leaf of node (an unknown object counts as one) is in the table. */
static size_t check_covered(const cJSON *node, char *ptr, size_t len, const char *root)
{
    const cJSON *c;
    unsigned idx = 0;
    size_t n = 0;

    if ((cJSON_IsObject(node) &&
         !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(node, "unknown"))) ||
        cJSON_IsArray(node)) {
        for (c = node->child; c != NULL; c = c->next, idx++) {
            int w = cJSON_IsArray(node) ? snprintf(ptr + len, 1024 - len, "/%u", idx)
                                        : snprintf(ptr + len, 1024 - len, "/%s", c->string);

            assert_true(w > 0 && (size_t)w < 1024 - len);
            n += check_covered(c, ptr, len + (size_t)w, root);
            ptr[len] = '\0';
        }
        return n;
    }
    if (da_privacy_lookup(ptr) == NULL && !(cJSON_IsObject(node) && da_privacy_covers_below(ptr)))
        fail_msg("%s: field %s is not in the privacy inventory (common/privacy.c, "
                 "docs/privacy.md)",
                 root, ptr);
    return 1;
}

static void test_inventory_covers_collect_output(void **state)
{
    char ptr[1024];
    size_t i, fields = 0, nfields;
    const struct da_privacy_field *f = da_privacy_fields(&nfields);
    FILE *docs;
    char *text;

    (void)state;
    for (i = 0; i < NROOTS; i++) {
        cJSON *doc = collect(roots[i]);

        ptr[0] = '\0';
        fields += check_covered(doc, ptr, 0, roots[i] != NULL ? roots[i] : "/");
        cJSON_Delete(doc);
    }
    print_message("%zu fields of %zu documents, %zu rows\n", fields, NROOTS, nfields);
    assert_true(fields > 500);
    /* Each row of the table is a row of docs/privacy.md. */
    docs = fopen(DOCS, "r");
    assert_non_null(docs);
    text = read_all(docs, 1u << 20);
    fclose(docs);
    for (i = 0; i < nfields; i++) {
        char cell[300];

        snprintf(cell, sizeof(cell), "| `%s` |", f[i].pattern);
        if (strstr(text, cell) == NULL)
            fail_msg("docs/privacy.md has no row %s", cell);
    }
    free(text);
}

/* Strings of pseudonymized fields and details in the standard document. */
static void personal_values(const cJSON *node, char *ptr, size_t len, cJSON *out)
{
    const cJSON *c;
    unsigned idx = 0;

    if (cJSON_IsObject(node) || cJSON_IsArray(node)) {
        for (c = node->child; c != NULL; c = c->next, idx++) {
            int w = cJSON_IsArray(node) ? snprintf(ptr + len, 1024 - len, "/%u", idx)
                                        : snprintf(ptr + len, 1024 - len, "/%s", c->string);

            personal_values(c, ptr, len + (size_t)w, out);
            ptr[len] = '\0';
        }
        return;
    }
    if (cJSON_IsString(node)) {
        const struct da_privacy_field *f = da_privacy_lookup(ptr);
        const char *v = node->valuestring;
        /* details that name a path */
        int detail = len >= 7 && strcmp(ptr + len - 7, "/detail") == 0 && strchr(v, '/') != NULL;

        /* what minimal mode keeps of a personal field is a system path */
        if ((detail || (f != NULL && f->minimal == DA_PRIVACY_PSEUDONYMIZE)) && strlen(v) > 1 &&
            strncmp(v, "/usr/", 5) != 0 && strncmp(v, "/bin/", 5) != 0 &&
            strncmp(v, "/sbin/", 6) != 0 && strncmp(v, "/lib", 4) != 0 && strcmp(v, "/home") != 0 &&
            strcmp(v, "/var") != 0 && strcmp(v, "/tmp") != 0 && strcmp(v, "/boot") != 0 &&
            strcmp(v, "/root") != 0 && strcmp(v, "/srv") != 0 && strcmp(v, "/opt") != 0 &&
            strcmp(v, "/usr") != 0)
            cJSON_AddItemToArray(out, cJSON_CreateString(v));
    }
}

/* No field of the minimal document is one that minimal mode leaves out. */
static void no_dropped_fields(const cJSON *node, char *ptr, size_t len, const char *root)
{
    const struct da_privacy_field *f = da_privacy_lookup(ptr);
    const cJSON *c;
    unsigned idx = 0;

    if (len > 0 && (f != NULL ? f->minimal == DA_PRIVACY_DROP : !da_privacy_covers_below(ptr)))
        fail_msg("%s: %s is in the minimal document", root, ptr);
    if ((!cJSON_IsObject(node) && !cJSON_IsArray(node)) ||
        cJSON_IsString(cJSON_GetObjectItemCaseSensitive(node, "unknown")))
        return;
    for (c = node->child; c != NULL; c = c->next, idx++) {
        int w = cJSON_IsArray(node) ? snprintf(ptr + len, 1024 - len, "/%u", idx)
                                    : snprintf(ptr + len, 1024 - len, "/%s", c->string);

        no_dropped_fields(c, ptr, len + (size_t)w, root);
        ptr[len] = '\0';
    }
}

/* The verdicts of the shipped policy, and of it with an allowlist naming
 * the first tool's digest, on doc: "check=verdict;..." */
static char *verdicts(const struct da_policy *pol, cJSON *doc)
{
    cJSON *att = cJSON_CreateObject(), *pending = cJSON_AddArrayToObject(att, "pending");
    const cJSON *ev = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "patches"), "pending"), *it;
    struct da_policy_result *res = NULL;
    struct da_buf b;
    char *s;
    size_t i;

    /* the server's /attestation/pending comes from the document's list */
    cJSON_AddStringToObject(att, "trust", "tpm");
    cJSON_ArrayForEach(it, ev)
    {
        cJSON *e = cJSON_CreateObject();

        cJSON_AddItemToObject(e, "security",
                              cJSON_Duplicate(cJSON_GetObjectItem(it, "security"), 1));
        cJSON_AddNumberToObject(e, "age_s", 30 * 86400);
        cJSON_AddItemToArray(pending, e);
    }
    assert_int_equal(da_policy_eval(pol, doc, att, &res), 0);
    da_buf_init(&b, 1u << 20);
    for (i = 0; i < res->n_checks; i++) {
        assert_int_equal(da_buf_append_str(&b, res->checks[i].id), 0);
        assert_int_equal(da_buf_append_str(&b, "="), 0);
        assert_int_equal(da_buf_append_str(&b, da_verdict_name(res->checks[i].verdict)), 0);
        assert_int_equal(da_buf_append_str(&b, ";"), 0);
    }
    s = (char *)da_buf_take(&b, NULL);
    da_buf_free(&b);
    da_policy_result_free(res);
    cJSON_Delete(att);
    return s;
}

/* A customer that accepts the machine's NOPASSWD principals lists each by
 * name and by pseudonym (what minimal mode sends), so the check passes in
 * both modes. */
static char *allow_sudo(char *text, const cJSON *doc)
{
    static const char param[] = "\"sudo_nopasswd_allowed\": []";
    const cJSON *list = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "auth"), "sudo"), *it;
    char *at = strstr(text, param), pseudo[DA_PRIVACY_PSEUDONYM_SIZE];
    struct da_buf b;
    int first = 1;

    list = cJSON_GetObjectItem(list, "nopasswd");
    if (at == NULL || cJSON_GetArraySize(list) == 0)
        return text;
    da_buf_init(&b, 1u << 20);
    assert_int_equal(da_buf_append(&b, text, (size_t)(at - text)), 0);
    assert_int_equal(da_buf_append_str(&b, "\"sudo_nopasswd_allowed\": ["), 0);
    cJSON_ArrayForEach(it, list)
    {
        assert_int_equal(da_privacy_pseudonym(key, it->valuestring, pseudo), 0);
        assert_int_equal(da_buf_append_str(&b, first ? "\"" : ", \""), 0);
        assert_int_equal(da_buf_append_str(&b, it->valuestring), 0);
        assert_int_equal(da_buf_append_str(&b, "\", \""), 0);
        assert_int_equal(da_buf_append_str(&b, pseudo), 0);
        assert_int_equal(da_buf_append_str(&b, "\""), 0);
        first = 0;
    }
    assert_int_equal(da_buf_append_str(&b, "]"), 0);
    assert_int_equal(da_buf_append_str(&b, at + strlen(param)), 0);
    free(text);
    text = (char *)da_buf_take(&b, NULL);
    da_buf_free(&b);
    return text;
}

static struct da_policy *load_policy(const cJSON *doc)
{
    const cJSON *tools = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "toolchain"), "tools");
    const cJSON *it, *sha = NULL;
    struct da_policy *p = NULL;
    struct da_policy_error err;
    char repl[200], *text, *at;
    FILE *f = fopen(SHIPPED, "r");
    struct da_buf b;

    assert_non_null(f);
    text = read_all(f, 1u << 20);
    fclose(f);
    cJSON_ArrayForEach(it, tools)
    {
        if (sha == NULL && cJSON_IsString(cJSON_GetObjectItem(it, "sha256")))
            sha = cJSON_GetObjectItem(it, "sha256");
    }
    at = strstr(text, "\"toolchain_allowlist\": null");
    assert_non_null(at);
    if (sha != NULL) {
        /* the allowlist check applies too: one tool on it, the others not */
        snprintf(repl, sizeof(repl), "\"toolchain_allowlist\": [\"%s\"]", sha->valuestring);
        da_buf_init(&b, 1u << 20);
        assert_int_equal(da_buf_append(&b, text, (size_t)(at - text)), 0);
        assert_int_equal(da_buf_append_str(&b, repl), 0);
        assert_int_equal(da_buf_append_str(&b, at + strlen("\"toolchain_allowlist\": null")), 0);
        free(text);
        text = (char *)da_buf_take(&b, NULL);
        da_buf_free(&b);
    }
    text = allow_sudo(text, doc);
    assert_int_equal(da_policy_load(text, strlen(text), SHIPPED, &p, &err), 0);
    free(text);
    return p;
}

static void test_minimal_same_verdicts_no_names(void **state)
{
    size_t i, j, passes = 0, fails = 0;

    (void)state;
    for (i = 0; i < NROOTS; i++) {
        const char *name = roots[i] != NULL ? roots[i] : "/";
        cJSON *std = collect(roots[i]), *min = cJSON_Duplicate(std, 1), *values;
        struct da_policy *pol = load_policy(std);
        char ptr[1024] = "", *vs, *vm, *text, *at;
        const cJSON *v;

        assert_int_equal(da_privacy_apply(min, DA_PRIVACY_MINIMAL, key), 0);
        assert_string_equal(
            cJSON_GetObjectItem(cJSON_GetObjectItem(min, "agent"), "privacy")->valuestring,
            "minimal");
        vs = verdicts(pol, std);
        vm = verdicts(pol, min);
        if (strcmp(vs, vm) != 0)
            fail_msg("%s: standard %s\nminimal %s", name, vs, vm);
        for (at = vs; (at = strstr(at, "=pass;")) != NULL; at++)
            passes++;
        for (at = vs; (at = strstr(at, "=fail;")) != NULL; at++)
            fails++;
        /* no personal value and no detail survives */
        text = serialize(min);
        values = cJSON_CreateArray();
        personal_values(std, ptr, 0, values);
        cJSON_ArrayForEach(v, values)
        {
            /* as a whole value (planted names are also looked for inside) */
            char quoted[1200];

            snprintf(quoted, sizeof(quoted), "\"%s\"", v->valuestring);
            if (strstr(text, quoted) != NULL)
                fail_msg("%s: %s is in the minimal document", name, quoted);
        }
        if (roots[i] != NULL) {
            for (j = 0; j < sizeof(planted) / sizeof(planted[0]); j++) {
                if (strstr(text, planted[j]) != NULL)
                    fail_msg("%s: planted \"%s\" is in the minimal document", name, planted[j]);
            }
        }
        assert_null(strstr(text, "\"detail\""));
        ptr[0] = '\0';
        no_dropped_fields(min, ptr, 0, name);
        if (roots[i] != NULL && strcmp(roots[i], "planted") == 0) {
            /* the planted names were there to be removed */
            char *st = serialize(std);

            for (j = 0; j < 2; j++)
                assert_non_null(strstr(st, planted[j]));
            /* a list of names compared with pseudonyms the customer listed */
            assert_non_null(strstr(vm, "auth.sudo-nopasswd=pass;"));
            assert_non_null(strstr(vm, "separation.no-production-credentials=fail;"));
            assert_true(cJSON_GetArraySize(values) >= 10);
            free(st);
        }
        cJSON_Delete(values);
        free(text);
        free(vs);
        free(vm);
        da_policy_free(pol);
        cJSON_Delete(std);
        cJSON_Delete(min);
    }
    print_message("%zu passing and %zu failing checks compared\n", passes, fails);
    assert_true(passes > 20 && fails > 10);
}

/* collect --explain names every field with its purpose and checks. */
static void test_explain(void **state)
{
    char cmd[2000];
    FILE *p;
    char *out;

    (void)state;
    snprintf(cmd, sizeof(cmd),
             "'%s' collect --no-cache --agent-config '%s/agent.conf' --explain --root "
             "'%s/planted' --config '%s/collector.json'",
             AGENT, dir, dir, dir);
    p = popen(cmd, "r");
    assert_non_null(p);
    out = read_all(p, 16u << 20);
    assert_int_equal(pclose(p), 0);
    assert_non_null(strstr(out, "\n/host/hostname\n  names the machine in listings; host names "
                                "often carry a person's name; personal; in minimal mode "
                                "pseudonymized\n  checks: none\n"));
    assert_non_null(strstr(out, "\n/separation/findings/0/production\n"));
    assert_non_null(strstr(out, "checks: separation.no-production-credentials\n"));
    assert_null(strstr(out, "not in the inventory"));
    /* the names themselves are not printed, only where they are */
    assert_null(strstr(out, "ines-laptop"));
    free(out);
}

/* Pseudonyms are stable under one key and differ under another. */
static void test_pseudonyms_correlate(void **state)
{
    cJSON *a = collect("planted"), *b = cJSON_Duplicate(a, 1), *c = cJSON_Duplicate(a, 1);
    unsigned char other[DA_PRIVACY_KEY_LEN];
    const char *ha, *hb, *hc;

    (void)state;
    memcpy(other, key, sizeof(other));
    other[0] ^= 1;
    assert_int_equal(da_privacy_apply(a, DA_PRIVACY_MINIMAL, key), 0);
    assert_int_equal(da_privacy_apply(b, DA_PRIVACY_MINIMAL, key), 0);
    assert_int_equal(da_privacy_apply(c, DA_PRIVACY_MINIMAL, other), 0);
    ha = cJSON_GetObjectItem(cJSON_GetObjectItem(a, "host"), "hostname")->valuestring;
    hb = cJSON_GetObjectItem(cJSON_GetObjectItem(b, "host"), "hostname")->valuestring;
    hc = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "host"), "hostname")->valuestring;
    assert_string_equal(ha, hb);
    assert_string_not_equal(ha, hc);
    assert_int_equal(strncmp(ha, "p:", 2), 0);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
}

static int setup(void **state)
{
    char cmd[8192];
    FILE *f;

    (void)state;
    if (da_test_tmpdir("da-privacy", dir, sizeof(dir)) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd),
             "bash '%s/tests/fixtures/build-roots.sh' '%s' >/dev/null && "
             "cp -a '%s/lvm_luks2' '%s/planted' && "
             "bash '%s/tests/fixtures/plant-personal.sh' '%s/planted' && "
             "cp -a '%s/lvm_luks2' '%s/rpm' && rm -rf '%s/rpm/var/lib/dpkg' && "
             "bash '%s/tests/fixtures/build-rpm-root.sh' '%s/rpm' '%s/rpm-repos'",
             DA_SOURCE_ROOT, dir, dir, dir, DA_SOURCE_ROOT, dir, dir, dir, dir, DA_SOURCE_ROOT, dir,
             dir);
    if (system(cmd) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "%s/agent.conf", dir);
    f = fopen(cmd, "w");
    if (f == NULL || fputs("privacy = standard\n", f) < 0 || fclose(f) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "%s/collector.json", dir);
    f = fopen(cmd, "w");
    if (f == NULL)
        return -1;
    fputs("{\"production_patterns\": [\"prod-*\", \"*.prod.example.com\"],"
          " \"source_dirs\": [\"/home/ines-marquardt/src/customer-app\"], \"role\": \"build\"}\n",
          f);
    return fclose(f) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return da_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pseudonym_is_hmac_sha256),
        cmocka_unit_test(test_key_parse),
        cmocka_unit_test(test_mode_names),
        cmocka_unit_test(test_inventory_covers_collect_output),
        cmocka_unit_test(test_minimal_same_verdicts_no_names),
        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_pseudonyms_correlate),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

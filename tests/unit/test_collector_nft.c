/* The nftables ruleset read over NETLINK_NETFILTER, against real rulesets
 * loaded with nft(8) into a private network namespace (unshare -n), so the
 * machine's own firewall is never touched. Skipped, with the reason, when
 * nft or unshare is missing or namespaces are not permitted. */
#include "da_test.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"
#include "tmp_tree.h"

static char dir[200];

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *s = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (s = calloc(1, (size_t)n + 1)) != NULL && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    return s;
}

/* Load rules in a fresh network namespace and collect isolation there. */
static cJSON *firewall_with(const char *rules)
{
    char path[256], out[256], cmd[1024];
    cJSON *doc, *fw;
    char *text;
    FILE *f;

    snprintf(path, sizeof(path), "%s/rules.nft", dir);
    snprintf(out, sizeof(out), "%s/out.json", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(rules, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd),
             "unshare -n sh -c \"nft -f '%s' && '%s/agent/devattest-agent' collect "
             "--only isolation --no-cache\" >'%s'",
             path, DA_BINARY_ROOT, out);
    assert_int_equal(system(cmd), 0);
    text = read_all(out);
    assert_non_null(text);
    doc = cJSON_Parse(text);
    free(text);
    assert_non_null(doc);
    fw = cJSON_DetachItemFromObject(cJSON_GetObjectItem(doc, "isolation"), "firewall");
    cJSON_Delete(doc);
    assert_non_null(fw);
    return fw;
}

static int num(const cJSON *fw, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(fw, key);

    assert_true(cJSON_IsNumber(v));
    return v->valueint;
}

static const char *family_default(const cJSON *fw, const char *family)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(fw, family), "inbound_default");

    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static void test_policy_drop(void **state)
{
    const cJSON *open;
    cJSON *fw;

    (void)state;
    fw = firewall_with("table inet filter {\n"
                       "  chain input { type filter hook input priority 0; policy drop;\n"
                       "    ct state established,related accept\n"
                       "    tcp dport 22 accept\n  }\n"
                       "  chain forwarding { type filter hook forward priority 0; policy drop; }\n"
                       "}\n");
    assert_string_equal(cJSON_GetObjectItem(fw, "source")->valuestring, "nftables");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(fw, "active")));
    assert_string_equal(cJSON_GetObjectItem(fw, "default_input_policy")->valuestring, "drop");
    assert_string_equal(family_default(fw, "ipv4"), "drop");
    assert_string_equal(family_default(fw, "ipv6"), "drop");
    open = cJSON_GetObjectItem(cJSON_GetObjectItem(fw, "ipv4"), "open_tcp");
    assert_int_equal(cJSON_GetArraySize(open), 1);
    assert_int_equal(cJSON_GetArrayItem(open, 0)->valueint, 22);
    assert_int_equal(num(fw, "base_chains"), 2); /* the forward chain is on no inbound path */
    assert_int_equal(num(fw, "rules"), 2);
    cJSON_Delete(fw);
}

/* Drops for some ports in a policy-accept chain leave the rest open; an
 * ip table says nothing about IPv6. */
static void test_drop_rules(void **state)
{
    cJSON *fw;

    (void)state;
    fw = firewall_with("table ip extra {\n"
                       "  chain in2 { type filter hook input priority 10; policy accept;\n"
                       "    tcp dport 23 drop\n    udp dport 69 reject\n    tcp dport 80 accept\n"
                       "  }\n}\n"
                       "table ip6 six {\n"
                       "  chain in6 { type filter hook input priority 0; policy drop; }\n}\n");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(fw, "active")));
    assert_string_equal(cJSON_GetObjectItem(fw, "default_input_policy")->valuestring, "accept");
    assert_string_equal(family_default(fw, "ipv4"), "accept");
    assert_string_equal(family_default(fw, "ipv6"), "drop");
    assert_int_equal(num(fw, "base_chains"), 2);
    assert_int_equal(num(fw, "rules"), 3);
    cJSON_Delete(fw);
}

static void test_empty_ruleset(void **state)
{
    cJSON *fw;

    (void)state;
    fw = firewall_with("table inet t {\n  chain c {\n  }\n}\n"); /* no base chain */
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(fw, "active")));
    assert_string_equal(cJSON_GetObjectItem(fw, "default_input_policy")->valuestring, "accept");
    assert_string_equal(family_default(fw, "ipv4"), "accept");
    assert_int_equal(num(fw, "base_chains"), 0);
    cJSON_Delete(fw);
}

static int setup(void **state)
{
    (void)state;
    if (system("command -v nft >/dev/null 2>&1 && command -v unshare >/dev/null 2>&1") != 0) {
        print_message("SKIP: nft(8) or unshare(1) is not installed\n");
        return 1;
    }
    if (system("unshare -n nft list ruleset >/dev/null 2>&1") != 0) {
        print_message("SKIP: cannot create a network namespace with nftables here\n");
        return 1;
    }
    return da_test_tmpdir("da-nft", dir, sizeof(dir)) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return da_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_drop),
        cmocka_unit_test(test_drop_rules),
        cmocka_unit_test(test_empty_ruleset),
    };

    if (setup(NULL) == 1)
        return 0; /* skipped, reason printed */
    return cmocka_run_group_tests(tests, NULL, teardown);
}

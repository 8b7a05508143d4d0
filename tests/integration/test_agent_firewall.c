/* The firewall facts through the sandbox. In a network namespace of its
 * own, the test loads a ruleset with nft (a drop policy on input and one
 * drop rule), then collects the isolation area twice: unsandboxed, as root
 * with every capability (what `devattest-agent collect` does), and through
 * the agent's processes - the collector as uid 65534 with only
 * CAP_DAC_READ_SEARCH, asking the firewall reader, which alone keeps
 * CAP_NET_ADMIN. The two firewall objects must be equal, and must say what
 * nft itself lists (policy drop). Needs root, nft and network namespaces;
 * skipped otherwise. */
#include "da_test.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent_config.h"
#include "collector.h"
#include "err.h"
#include "privdrop.h"
#include "privsep.h"

#define NFT "/usr/sbin/nft"

static const char ruleset[] = "table inet da_fw_test {\n"
                              "  chain input {\n"
                              "    type filter hook input priority 0; policy drop;\n"
                              "    ct state established,related accept\n"
                              "    iifname \"lo\" accept\n"
                              "    tcp dport 23 drop\n"
                              "  }\n"
                              "}\n";

enum { PASS = 0, FAIL = 1, SKIP = 77 };

static int run_nft(const char *file, const char *out_file)
{
    int status;
    pid_t pid = fork();

    if (pid == 0) {
        if (out_file != NULL && freopen(out_file, "w", stdout) == NULL)
            _exit(126);
        if (file != NULL)
            execl(NFT, NFT, "-f", file, (char *)NULL);
        else
            execl(NFT, NFT, "list", "ruleset", (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static cJSON *firewall_of(cJSON *doc)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "isolation"), "firewall");
}

/* Unsandboxed: the collectors in this (root) process. */
static cJSON *collect_direct(void)
{
    struct col_ctx ctx;
    cJSON *doc = NULL;

    memset(&ctx, 0, sizeof(ctx));
    ctx.root = "";
    ctx.live = 1;
    ctx.now = time(NULL);
    ctx.cfg = col_default_config();
    ctx.ops = &col_live_ops;
    if (col_collect_evidence(&ctx, "isolation", &doc) != 0)
        return NULL;
    return doc;
}

/* Through the collector and the firewall reader, both as uid 65534. */
static cJSON *collect_sandboxed(void)
{
    struct agent_config cfg;
    struct agent_user user;
    struct agent_spawn_opts o;
    struct agent_child fw, col;
    struct da_buf ev;
    char why[256];
    cJSON *doc = NULL;
    int sv[2];

    if (agent_config_defaults(&cfg) != 0 ||
        agent_user_resolve("nobody", &user, why, sizeof(why)) != 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return NULL;
    cfg.state_dir[0] = '\0';
    memset(&o, 0, sizeof(o));
    o.user = &user;
    o.evidence_fd = -1;
    o.firewall_fd = sv[0];
    if (agent_firewall_spawn(&cfg, &o, &fw) != 0)
        return NULL;
    o.firewall_fd = sv[1];
    if (agent_collector_spawn_opts(&cfg, "", &o, &col) != 0)
        return NULL;
    close(sv[0]);
    close(sv[1]);
    da_buf_init(&ev, 0);
    if (agent_collector_collect(&col, "isolation", &ev) == 0)
        doc = cJSON_ParseWithLength(da_buf_str(&ev), da_buf_len(&ev));
    da_buf_free(&ev);
    agent_child_stop(&col, 10000, NULL);
    agent_child_stop(&fw, 10000, NULL);
    agent_config_free(&cfg);
    return doc;
}

/* Runs in a child in its own network namespace. */
static int in_namespace(const char *dir)
{
    char rules[300], listing[300], line[512];
    cJSON *direct, *boxed, *a, *b;
    int policy_drop = 0, r = FAIL;
    FILE *f;

    if (unshare(CLONE_NEWNET) != 0)
        return SKIP;
    snprintf(rules, sizeof(rules), "%s/rules.nft", dir);
    snprintf(listing, sizeof(listing), "%s/listing", dir);
    f = fopen(rules, "w");
    if (f == NULL || fputs(ruleset, f) < 0 || fclose(f) != 0)
        return FAIL;
    if (run_nft(rules, NULL) != 0)
        return SKIP; /* no nf_tables in this kernel */
    /* The oracle: nft's own listing has the drop policy. */
    if (run_nft(NULL, listing) != 0 || (f = fopen(listing, "r")) == NULL)
        return FAIL;
    while (fgets(line, sizeof(line), f) != NULL)
        policy_drop |= strstr(line, "hook input") != NULL && strstr(line, "policy drop") != NULL;
    fclose(f);
    direct = collect_direct();
    boxed = collect_sandboxed();
    a = firewall_of(direct);
    b = firewall_of(boxed);
    if (a == NULL || b == NULL) {
        fprintf(stderr, "no firewall object (direct %p, sandboxed %p)\n", (void *)a, (void *)b);
    } else {
        char *ta = cJSON_PrintUnformatted(a), *tb = cJSON_PrintUnformatted(b);

        fprintf(stderr, "unsandboxed: %s\nsandboxed:   %s\n", ta, tb);
        if (cJSON_Compare(a, b, 1) && policy_drop &&
            strcmp(cJSON_GetObjectItem(b, "source")->valuestring, "nftables") == 0 &&
            strcmp(cJSON_GetObjectItem(b, "default_input_policy")->valuestring, "drop") == 0 &&
            strcmp(
                cJSON_GetObjectItem(cJSON_GetObjectItem(b, "ipv4"), "inbound_default")->valuestring,
                "drop") == 0)
            r = PASS;
        free(ta);
        free(tb);
    }
    cJSON_Delete(direct);
    cJSON_Delete(boxed);
    return r;
}

static void test_same_firewall_facts(void **state)
{
    char dir[] = "/tmp/da-fw-XXXXXX", cmd[64];
    int status;
    pid_t pid;

    (void)state;
    if (geteuid() != 0 || access(NFT, X_OK) != 0)
        skip();
    assert_non_null(mkdtemp(dir));
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(in_namespace(dir));
    assert_int_equal(waitpid(pid, &status, 0), pid);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    (void)!system(cmd);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == SKIP)
        skip();
    assert_int_equal(WEXITSTATUS(status), PASS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_firewall_facts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

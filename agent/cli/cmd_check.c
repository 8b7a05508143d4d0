/* devattest-agent check: evaluate the server's policy on this machine's
 * evidence, locally, so that the vendor sees what is expected before the
 * customer sees a failure. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "caps.h"
#include "commands.h"
#include "err.h"
#include "json.h"
#include "policy.h"
#include "privsep.h"
#include "runtime.h"

static const char check_usage[] =
    "usage: devattest-agent check [--config FILE] [--json]\n"
    "Fetch the policy from the server, collect this machine's evidence and\n"
    "evaluate the policy locally: every failing check is listed with its\n"
    "remediation. Nothing is sent to the server.\n"
    "  --config FILE  agent configuration (default " AGENT_CONFIG_DEFAULT_PATH ")\n"
    "  --json         print the result as JSON (docs/policy.md, \"Result\")\n"
    "exit codes: 0 compliant, 4 not compliant, 1 the check could not run,\n"
    "            2 usage error, 3 unusable configuration\n";

static int fetch_policy(struct agent_runtime *rt, struct da_policy **out)
{
    struct da_policy_error err;
    struct da_buf body;
    long status;
    int r;

    da_buf_init(&body, 0);
    r = agent_transport_request(rt->transport, "GET", "/v1/policy", NULL, NULL, 0, &status, &body);
    if (r != 0) {
        fprintf(stderr, "devattest-agent: the policy cannot be fetched: %s\n",
                agent_transport_error(rt->transport));
    } else {
        r = da_policy_load(da_buf_str(&body), da_buf_len(&body), "server policy", out, &err);
        if (r != 0)
            fprintf(stderr, "devattest-agent: the server's policy does not load: %s\n", err.reason);
    }
    da_buf_free(&body);
    return r;
}

/* /attestation/pending from the evidence's own pending list. */
static int add_pending_hint(cJSON *att, const cJSON *ev)
{
    const cJSON *p = cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "patches"), "pending");

    if (p == NULL)
        return 0;
    return cJSON_AddItemToObject(att, "pending", cJSON_Duplicate(p, 1)) ? 0 : DA_ERR_NOMEM;
}

static int evaluate(struct agent_runtime *rt, const struct da_policy *p, int json)
{
    struct da_policy_result *res = NULL;
    struct da_buf text, out;
    cJSON *ev = NULL, *att = cJSON_CreateObject(), *j = NULL;
    int r;

    da_buf_init(&text, 0);
    r = agent_collector_collect(&rt->collector, NULL, &text);
    if (r == 0)
        r = da_json_parse(da_buf_str(&text), da_buf_len(&text), DA_MAX_EVIDENCE, &ev);
    /* What the server would establish: the key mode, a quote that verifies
     * (the server checks that for real), no firmware event log (the server
     * replays the one the report carries), and the ages of pending upgrades,
     * here from this machine's own first-seen record (the server uses its
     * history of verified reports instead). */
    if (r == 0 &&
        (att == NULL ||
         cJSON_AddStringToObject(att, "trust", agent_tpm_mode_name(rt->cfg.tpm_mode)) == NULL ||
         cJSON_AddBoolToObject(att, "quote_verified", 1) == NULL ||
         cJSON_AddStringToObject(cJSON_AddObjectToObject(att, "boot"), "log", "absent") == NULL))
        r = DA_ERR_NOMEM;
    if (r == 0)
        r = add_pending_hint(att, ev);
    if (r == 0)
        r = da_policy_eval(p, ev, att, &res);
    da_buf_init(&out, DA_MAX_POLICY * 4);
    if (r == 0 && json) {
        r = da_policy_result_to_json(res, &j);
        if (r == 0) {
            char *s = cJSON_PrintUnformatted(j);

            r = s == NULL ? DA_ERR_NOMEM : da_buf_append_str(&out, s);
            cJSON_free(s);
        }
    } else if (r == 0) {
        r = da_policy_result_render_text(res, &out);
    }
    if (r == 0)
        printf("%s%s", da_buf_str(&out),
               da_buf_len(&out) > 0 && da_buf_str(&out)[da_buf_len(&out) - 1] == '\n' ? "" : "\n");
    else
        fprintf(stderr, "devattest-agent: the check could not run: %s\n", da_strerror(r));
    if (r == 0)
        r = res->verdict <= DA_VERDICT_PASS ? 0 : 1;
    else
        r = -1;
    cJSON_Delete(j);
    cJSON_Delete(ev);
    cJSON_Delete(att);
    da_policy_result_free(res);
    da_buf_free(&text);
    da_buf_free(&out);
    return r;
}

static int check_run(int argc, char **argv)
{
    const char *config = NULL;
    struct agent_runtime rt;
    struct da_policy *p = NULL;
    int json = 0, r;

    r = agent_parse_config_opts(argc, argv, check_usage, &config, &json);
    if (r >= 0)
        return r;
    r = agent_runtime_config(&rt, config, 0);
    if (r != AGENT_EXIT_OK)
        return r;
    r = agent_runtime_start(&rt, AGENT_RT_COLLECTOR | AGENT_RT_TRANSPORT | AGENT_RT_CONFINE);
    if (r == 0)
        r = fetch_policy(&rt, &p);
    if (r != 0) {
        agent_runtime_stop(&rt);
        return r == DA_ERR_CONFIG ? AGENT_EXIT_CONFIG : AGENT_EXIT_FAILURE;
    }
    r = evaluate(&rt, p, json);
    da_policy_free(p);
    agent_runtime_stop(&rt);
    return r == 0 ? AGENT_EXIT_OK : (r > 0 ? AGENT_EXIT_NONCOMPLIANT : AGENT_EXIT_FAILURE);
}

const struct agent_command agent_cmd_check = {
    .name = "check",
    .summary = "evaluate the server's policy on this machine, locally",
    .usage = check_usage,
    .run = check_run,
};

/* devattest-agent report: one cycle - collect, nonce, quote, spool, deliver. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "commands.h"
#include "err.h"
#include "report.h"
#include "runtime.h"

static const char report_usage[] =
    "usage: devattest-agent report [--config FILE] [--json]\n"
    "Collect this machine's evidence, quote it with the TPM over a fresh server\n"
    "nonce, write it to the spool and deliver the spool to the server.\n"
    "  --config FILE  agent configuration (default " AGENT_CONFIG_DEFAULT_PATH ")\n"
    "  --json         print the outcome as a JSON object\n"
    "exit codes: 0 delivered and compliant, 4 delivered and not compliant,\n"
    "            1 not delivered (kept in the spool, or refused: see the message),\n"
    "            2 usage error, 3 unusable configuration\n";

static int agent_print_outcome(const struct agent_report_outcome *o, int json)
{
    if (json) {
        cJSON *j = cJSON_CreateObject();
        char *text;

        if (j == NULL)
            return -1;
        cJSON_AddNumberToObject(j, "delivered", o->delivered);
        cJSON_AddBoolToObject(j, "pending", o->pending);
        if (o->compliant < 0)
            cJSON_AddNullToObject(j, "compliant");
        else
            cJSON_AddBoolToObject(j, "compliant", o->compliant);
        cJSON_AddStringToObject(j, "report_id", o->report_id);
        {
            cJSON *ctl = cJSON_AddObjectToObject(j, "controls");
            size_t i;

            for (i = 0; ctl != NULL && i < o->n_controls; i++)
                cJSON_AddStringToObject(ctl, o->controls[i].id, o->controls[i].verdict);
        }
        cJSON_AddStringToObject(j, "error", o->error != 0 ? da_err_code(o->error) : "");
        cJSON_AddStringToObject(j, "message", o->message);
        text = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        if (text == NULL)
            return -1;
        puts(text);
        cJSON_free(text);
        return 0;
    }
    printf("%s\n", o->message);
    if (o->n_controls > 0) {
        size_t i;

        printf("\n  %-12s %s\n", "control", "verdict (server)");
        for (i = 0; i < o->n_controls; i++)
            printf("  %-12s %s\n", o->controls[i].id, o->controls[i].verdict);
        printf("\n'devattest-agent check' lists what fails and how to fix it.\n");
    }
    if (o->pending)
        printf("reports wait in the spool and are sent when the server answers\n");
    return 0;
}

static int agent_outcome_exit(const struct agent_report_outcome *o)
{
    if (o->error != 0 || o->delivered == 0 || o->pending)
        return AGENT_EXIT_FAILURE;
    return o->compliant == 1 ? AGENT_EXIT_OK : AGENT_EXIT_NONCOMPLIANT;
}

static int report_run(int argc, char **argv)
{
    const char *config = NULL;
    struct agent_runtime rt;
    struct agent_report_outcome out;
    int json = 0, r;

    r = agent_parse_config_opts(argc, argv, report_usage, &config, &json);
    if (r >= 0)
        return r;
    r = agent_runtime_config(&rt, config, 0);
    if (r != AGENT_EXIT_OK)
        return r;
    r = agent_runtime_start(&rt, AGENT_RT_ENROLLED | AGENT_RT_SIGNER | AGENT_RT_COLLECTOR |
                                     AGENT_RT_SPOOL | AGENT_RT_TRANSPORT | AGENT_RT_CONFINE);
    if (r != 0) {
        agent_runtime_stop(&rt);
        return r == DA_ERR_CONFIG ? AGENT_EXIT_CONFIG : AGENT_EXIT_FAILURE;
    }
    (void)agent_report_cycle(&rt, &out);
    agent_print_outcome(&out, json);
    agent_runtime_stop(&rt);
    return agent_outcome_exit(&out);
}

const struct agent_command agent_cmd_report = {
    .name = "report",
    .summary = "collect, quote and deliver one report (spooled when the server is away)",
    .usage = report_usage,
    .run = report_run,
};

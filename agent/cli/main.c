/* devattest-agent: a small dispatcher over the static table of commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "json.h"
#include "log.h"
#include "sandbox.h"

extern const struct agent_command agent_cmd_check;
extern const struct agent_command agent_cmd_collect;
extern const struct agent_command agent_cmd_enroll;
extern const struct agent_command agent_cmd_report;
extern const struct agent_command agent_cmd_run;
extern const struct agent_command agent_cmd_status;
extern const struct agent_command agent_cmd_tpm_info;
extern const struct agent_command agent_cmd_privacy;
extern const struct agent_command agent_cmd_attest;

static const struct agent_command *const agent_commands[] = {
    &agent_cmd_enroll,   &agent_cmd_report,  &agent_cmd_run,
    &agent_cmd_check,    &agent_cmd_status,  &agent_cmd_collect,
    &agent_cmd_tpm_info, &agent_cmd_privacy, &agent_cmd_attest,
};

#define AGENT_NCOMMANDS (sizeof(agent_commands) / sizeof(agent_commands[0]))

static void agent_usage(FILE *f)
{
    size_t i;

    fprintf(f, "usage: devattest-agent COMMAND [OPTIONS]\n"
               "       devattest-agent --help | --version\n\ncommands:\n");
    for (i = 0; i < AGENT_NCOMMANDS; i++)
        fprintf(f, "  %-12s %s\n", agent_commands[i]->name, agent_commands[i]->summary);
    fprintf(f, "\nexit codes: 0 success, 1 failure, 2 usage error, 3 unusable configuration,\n"
               "            4 not compliant\n"
               "Run 'devattest-agent COMMAND --help' for the options of a command.\n");
}

int main(int argc, char **argv)
{
    size_t i;

    /* Nothing inherited beyond stdin, stdout and stderr reaches any of the
     * agent's processes. */
    (void)agent_sandbox_close_fds(NULL, 0);
    da_log_init("devattest-agent", DA_LOG_WARN, DA_LOG_STDERR);
    /* Before any JSON tree exists: the signer and the uploader bound the
     * memory their trees may hold (AGENT_JSON_MEMORY). */
    da_json_memory_hooks();
    /* The TSS logs through its own channel; the agent reports TSS failures
     * itself (decoded), so keep the TSS quiet unless asked for. */
    (void)setenv("TSS2_LOG", "all+NONE", 0);
    if (argc < 2) {
        agent_usage(stderr);
        return AGENT_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        agent_usage(stdout);
        return AGENT_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("devattest-agent %s\n", DA_VERSION);
        return AGENT_EXIT_OK;
    }
    for (i = 0; i < AGENT_NCOMMANDS; i++) {
        if (strcmp(argv[1], agent_commands[i]->name) == 0)
            return agent_commands[i]->run(argc - 1, argv + 1);
    }
    fprintf(stderr, "devattest-agent: unknown command '%s'\n", argv[1]);
    agent_usage(stderr);
    return AGENT_EXIT_USAGE;
}

/* The agent's subcommands. Each lives in its own file agent/cmd_<name>.c and
 * exports one const struct agent_command; main.c lists them in one static
 * array. */
#ifndef AGENT_COMMANDS_H
#define AGENT_COMMANDS_H

/* Exit codes shared by every command (documented in --help and docs/). */
enum agent_exit {
    AGENT_EXIT_OK = 0,
    AGENT_EXIT_FAILURE = 1, /* the command ran and failed */
    AGENT_EXIT_USAGE = 2,   /* bad command line */
    AGENT_EXIT_CONFIG = 3,  /* configuration unusable */
    AGENT_EXIT_NONCOMPLIANT = 4,
    AGENT_EXIT_PENDING = 5, /* enroll: the server waits for an administrator's approval */
};

struct agent_command {
    const char *name;
    const char *summary;
    const char *usage;
    /* argv[0] is the command name. Returns an enum agent_exit value. */
    int (*run)(int argc, char **argv);
};

#endif

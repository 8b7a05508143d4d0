/* Running the devattest-agent binary from integration tests. */
#ifndef DA_TEST_AGENT_RUN_H
#define DA_TEST_AGENT_RUN_H

#include <stddef.h>

/* Run DA_BINARY_ROOT/agent/devattest-agent with the arguments (NULL-
 * terminated); its whole stdout into out (NUL-terminated, cut at size).
 * Returns the exit status, or -1 when it did not exit normally. */
int da_test_agent(char *out, size_t size, ...) __attribute__((sentinel));

/* The same, with input written to the agent's standard input. */
int da_test_agent_input(const char *input, char *out, size_t size, ...) __attribute__((sentinel));

#endif

/* Where agent tests keep the agent's files, and the user it runs as.
 *
 * The agent refuses a state or spool directory below one that group or
 * others may write (such as /tmp), so the tests make theirs below the
 * build tree (owned by whoever builds, mode 0755). Run as root, the agent
 * switches to DA_TEST_AGENT_USER (uid 65534 on Debian), as it would to
 * its packaged user. */
#ifndef DA_TEST_AGENT_TEST_DIR_H
#define DA_TEST_AGENT_TEST_DIR_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define DA_TEST_AGENT_USER "nobody"

/* A fresh directory DA_BINARY_ROOT/test-agent/XXXXXX, mode 0755. */
static inline int da_test_agent_dir(char *out, size_t size)
{
    char top[512];

    snprintf(top, sizeof(top), "%s/test-agent", DA_BINARY_ROOT);
    if (mkdir(top, 0755) != 0 && errno != EEXIST)
        return -1;
    if (chmod(top, 0755) != 0)
        return -1;
    if ((size_t)snprintf(out, size, "%s/XXXXXX", top) >= size || mkdtemp(out) == NULL)
        return -1;
    return chmod(out, 0755);
}

#endif

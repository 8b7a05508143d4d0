#include "agent_run.h"
#include "picky.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define AGENT_BIN DA_BINARY_ROOT "/agent/devattest-agent"
#define MAX_ARGS  24

static int agent_v(const char *input, char *out, size_t size, va_list ap)
{
    const char *argv[MAX_ARGS];
    int p[2], in[2] = {-1, -1}, status, n = 0;
    size_t got = 0;
    pid_t pid;

    argv[n++] = AGENT_BIN;
    while (n < MAX_ARGS - 1 && (argv[n] = va_arg(ap, const char *)) != NULL)
        n++;
    argv[n] = NULL;
    if (size == 0 || pipe(p) != 0)
        return -1;
    if (input != NULL && pipe(in) != 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (in[0] >= 0) {
            dup2(in[0], 0);
            close(in[0]);
            close(in[1]);
        }
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execv(AGENT_BIN, (char *const *)DA_UNCONST(argv));
        _exit(127);
    }
    close(p[1]);
    if (in[0] >= 0) {
        close(in[0]);
        (void)!write(in[1], input, strlen(input));
        close(in[1]);
    }
    for (;;) {
        char sink[512];
        ssize_t r =
            got + 1 < size ? read(p[0], out + got, size - got - 1) : read(p[0], sink, sizeof(sink));

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (got + 1 < size)
            got += (size_t)r;
    }
    out[got] = '\0';
    close(p[0]);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

int da_test_agent(char *out, size_t size, ...)
{
    va_list ap;
    int rc;

    va_start(ap, size);
    rc = agent_v(NULL, out, size, ap);
    va_end(ap);
    return rc;
}

int da_test_agent_input(const char *input, char *out, size_t size, ...)
{
    va_list ap;
    int rc;

    va_start(ap, size);
    rc = agent_v(input, out, size, ap);
    va_end(ap);
    return rc;
}

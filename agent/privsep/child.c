#include "child.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "sandbox.h"

static void child_run(int fd, pid_t parent, agent_child_main_fn fn, void *ctx, const int *keep,
                      size_t nkeep)
{
    int keep_all[34];
    size_t i, n = 0;

    /* Die with the parent; if it is already gone, do not start. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != parent)
        _exit(1);
    keep_all[n++] = fd;
    for (i = 0; i < nkeep && n < sizeof(keep_all) / sizeof(keep_all[0]); i++)
        keep_all[n++] = keep[i];
    agent_sandbox_close_fds(keep_all, n);
    exit(fn(fd, ctx));
}

int agent_child_spawn(const char *name, agent_child_main_fn fn, void *ctx, const int *keep,
                      size_t nkeep, struct agent_child *out)
{
    pid_t parent = getpid();
    int sv[2];

    out->name = name;
    out->pid = -1;
    out->fd = -1;
    out->state_dir = NULL;
    out->state_refused = 0;
    if (nkeep > 32)
        return DA_ERR_INVALID_ARG;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        da_error_f("socketpair for the %s: %s", name, strerror(errno));
        return DA_ERR_IO;
    }
    out->pid = fork();
    if (out->pid < 0) {
        da_error_f("fork of the %s: %s", name, strerror(errno));
        close(sv[0]);
        close(sv[1]);
        return DA_ERR_IO;
    }
    if (out->pid == 0) {
        close(sv[0]);
        child_run(sv[1], parent, fn, ctx, keep, nkeep);
    }
    close(sv[1]);
    out->fd = sv[0];
    return 0;
}

static int reap(struct agent_child *c, int timeout_ms, int *status)
{
    struct timespec pause = {0, 5 * 1000 * 1000};
    int waited = 0;

    for (;;) {
        pid_t r = waitpid(c->pid, status, WNOHANG);

        if (r == c->pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return DA_ERR_IO;
        if (waited >= timeout_ms)
            return DA_ERR_TIMEOUT;
        nanosleep(&pause, NULL);
        waited += 5;
    }
}

int agent_child_stop(struct agent_child *c, int timeout_ms, int *status)
{
    int st = 0, r;

    if (status != NULL)
        *status = 0;
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    if (c->pid <= 0)
        return 0;
    r = reap(c, timeout_ms, &st);
    if (r == DA_ERR_TIMEOUT) {
        da_warn_f("the %s did not finish in %d ms; killing it", c->name, timeout_ms);
        kill(c->pid, SIGKILL);
        r = reap(c, 5000, &st);
        if (r == 0)
            r = DA_ERR_TIMEOUT;
    }
    c->pid = -1;
    if (status != NULL)
        *status = st;
    if (r != 0)
        return r;
    if (WIFSIGNALED(st)) {
        da_error_f("the %s was killed by signal %d%s", c->name, WTERMSIG(st),
                   WTERMSIG(st) == SIGSYS ? " (a system call outside its sandbox)" : "");
        return DA_ERR_IPC;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
        da_error_f("the %s exited with status %d", c->name, WEXITSTATUS(st));
        return DA_ERR_IPC;
    }
    return 0;
}

void agent_child_kill(struct agent_child *c)
{
    int st;

    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    if (c->pid > 0) {
        kill(c->pid, SIGKILL);
        while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
            ;
        c->pid = -1;
    }
}

/* The agent's child processes (collector, signer): fork with a socketpair,
 * keep only the descriptors the child needs, make the child die with its
 * parent, and stop or kill it cleanly. The parent talks to the child with
 * agent/privsep/ipc.h over child->fd. */
#ifndef AGENT_CHILD_H
#define AGENT_CHILD_H

#include <stddef.h>
#include <sys/types.h>

struct agent_child {
    const char *name; /* "collector", "signer": for messages */
    pid_t pid;        /* -1 when not running */
    int fd;           /* the parent's end of the socketpair; -1 when closed */
    /* The collector only: the directory its STATE_PUT files go to (NULL
     * refuses them) and how many it sent that were refused. */
    const char *state_dir;
    unsigned long state_refused;
};

/* The child's main: runs with its end of the socketpair and returns the
 * process exit status (0 on a clean end). */
typedef int (*agent_child_main_fn)(int fd, void *ctx);

/* Fork a child that keeps stdin/stdout/stderr, its socket end and the
 * descriptors in keep[0..nkeep), closes everything else, gets SIGKILL when
 * the parent dies, and runs fn(fd, ctx). DA_ERR_IO when fork fails. */
int agent_child_spawn(const char *name, agent_child_main_fn fn, void *ctx, const int *keep,
                      size_t nkeep, struct agent_child *out);

/* Close the channel (the child sees the end of its input and finishes), wait
 * up to timeout_ms, then kill. *status (may be NULL) receives the wait
 * status. 0 when the child exited with 0 by itself. */
int agent_child_stop(struct agent_child *c, int timeout_ms, int *status);

/* Kill and reap at once (after an IPC error: the child is not trusted to
 * finish). Safe on a child that is already gone. */
void agent_child_kill(struct agent_child *c);

#endif

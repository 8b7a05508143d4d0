/* The agent's user: who its processes run as once they are set up.
 *
 * Started as root (by hand, or by a unit without User=), every process
 * switches to the configured user (agent.conf `user`, default "devattest")
 * after it has opened what it needs: agent_user_switch() sets the group
 * list to the user's primary group, then the real, effective and saved
 * gid and uid, and checks that uid 0 cannot be regained. Started as that
 * user already (the shipped systemd unit: User=devattest with ambient
 * capabilities), there is nothing to switch; each process then keeps only
 * the capabilities of its profile (agent/privsep/sandbox.h).
 *
 * The directories the agent writes (state, spool) must be owned by that
 * user with no access for group or others, and every directory above them
 * owned by root (or the user) and not writable by group or others:
 * agent_dir_check() refuses anything else, so a planted file in a directory
 * others can write never reaches the agent. */
#ifndef AGENT_PRIVDROP_H
#define AGENT_PRIVDROP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct agent_user {
    int switch_ids; /* started as root: switch to uid/gid */
    uid_t uid;
    gid_t gid;
    char name[64];
};

/* Started as root: look the user up (it must exist and not be uid 0).
 * Otherwise: the running uid and gid, nothing to switch. DA_ERR_CONFIG with
 * the reason in why. */
int agent_user_resolve(const char *name, struct agent_user *out, char *why, size_t why_size);

/* Become the user, keeping the capabilities in keep (bit n = capability n)
 * in the permitted set across the switch; agent_sandbox_drop_caps then
 * reduces the sets. The parent-death signal (agent/privsep/child.h), which the
 * kernel clears on the switch, is set again. No-op when !u->switch_ids.
 * DA_ERR_PRIVDROP (logged). */
int agent_user_switch(const struct agent_user *u, uint64_t keep);

/* path must be a directory owned by u with mode 0700 or stricter, and each
 * directory above it owned by root or u and not group- or world-writable.
 * create: a missing directory is made (0700) and, when started as root,
 * given to u. DA_ERR_UNSAFE_PATH (or DA_ERR_NOT_FOUND, DA_ERR_IO) with the
 * reason in why. */
int agent_dir_check(const char *path, const struct agent_user *u, int create, char *why,
                    size_t why_size);

/* A file the agent reads as configuration: owned by root or u, not
 * writable by group or others. DA_ERR_UNSAFE_PATH with the reason. */
int agent_file_check(const char *path, const struct agent_user *u, char *why, size_t why_size);

#endif

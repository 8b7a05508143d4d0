/* The policy the server measures against, swapped atomically on rotation.
 *
 * Readers take a reference under the context's read lock; rotation
 * validates the new document first, stores it (audited) and then swaps. */
#ifndef SRV_POLICY_STATE_H
#define SRV_POLICY_STATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "policy.h"
#include "server.h"

struct srv_policy {
    atomic_int refs;
    char *json; /* the document as stored */
    size_t json_len;
    char sha256[65];
    struct da_policy *compiled; /* the policy engine's form */
    /* The PCR selection nonces ask for while this policy is current, set
     * when it is swapped in (srv_selection_for_policy), and the one of the
     * policy before it: a nonce issued just before a rotation still
     * verifies with the selection it was issued for. */
    struct srv_selection sel;
    struct srv_selection prev;
    bool has_prev;
};

/* Load text as a policy; on success *out holds one reference. On failure
 * msg (when not NULL) says where and why. */
int srv_policy_new(const char *text, size_t len, struct srv_policy **out, char *msg,
                   size_t msgsize);
/* The current policy with a reference taken, or NULL when none is set. */
struct srv_policy *srv_policy_get(struct srv_ctx *ctx);
void srv_policy_put(struct srv_policy *p);
/* The selection of p, or the configured one when p is NULL. */
const struct srv_selection *srv_policy_selection(const struct srv_ctx *ctx,
                                                 const struct srv_policy *p);
/* Store text as the new current policy (audited as actor) and swap it in;
 * from then on nonces ask for the PCRs it needs. */
int srv_policy_rotate(struct srv_ctx *ctx, const char *text, size_t len, const char *actor,
                      char *msg, size_t msgsize);
/* At start: the newest stored policy, else the configured file (stored). */
int srv_policy_load_initial(struct srv_ctx *ctx);
/* Swap in the newest stored policy when it is not the current one: another
 * server instance on the same database rotated it. *changed says whether
 * it did. */
int srv_policy_refresh(struct srv_ctx *ctx, bool *changed);

#endif

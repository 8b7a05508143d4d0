#include "policy_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "caps.h"
#include "digest.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "pki.h"
#include "policy.h"

static void policy_free(struct srv_policy *p)
{
    da_policy_free(p->compiled);
    free(p->json);
    free(p);
}

int srv_policy_new(const char *text, size_t len, struct srv_policy **out, char *msg, size_t msgsize)
{
    struct da_policy_error err;
    struct da_policy *compiled = NULL;
    struct srv_policy *p;
    int rc;

    *out = NULL;
    memset(&err, 0, sizeof(err));
    rc = da_policy_load(text, len, "policy", &compiled, &err);
    if (rc != 0) {
        if (msg != NULL)
            snprintf(msg, msgsize, "policy %d:%d %s: %s", err.line, err.column, err.pointer,
                     err.reason);
        return rc;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL || (p->json = malloc(len + 1)) == NULL) {
        free(p);
        da_policy_free(compiled);
        return DA_ERR_NOMEM;
    }
    p->compiled = compiled;
    memcpy(p->json, text, len);
    p->json[len] = '\0';
    p->json_len = len;
    rc = da_sha256_hex(text, len, p->sha256);
    if (rc != 0) {
        policy_free(p);
        return rc;
    }
    atomic_init(&p->refs, 1);
    *out = p;
    return 0;
}

struct srv_policy *srv_policy_get(struct srv_ctx *ctx)
{
    struct srv_policy *p;

    pthread_rwlock_rdlock(&ctx->policy_lock);
    p = ctx->policy;
    if (p != NULL)
        atomic_fetch_add(&p->refs, 1);
    pthread_rwlock_unlock(&ctx->policy_lock);
    return p;
}

void srv_policy_put(struct srv_policy *p)
{
    if (p != NULL && atomic_fetch_sub(&p->refs, 1) == 1)
        policy_free(p);
}

const struct srv_selection *srv_policy_selection(const struct srv_ctx *ctx,
                                                 const struct srv_policy *p)
{
    return p != NULL ? &p->sel : &ctx->configured;
}

static void swap_in(struct srv_ctx *ctx, struct srv_policy *p)
{
    struct srv_policy *old;

    pthread_rwlock_wrlock(&ctx->policy_lock);
    old = ctx->policy;
    p->prev = old != NULL ? old->sel : ctx->configured;
    p->has_prev = strcmp(p->prev.text, p->sel.text) != 0;
    ctx->policy = p;
    pthread_rwlock_unlock(&ctx->policy_lock);
    if (p->has_prev)
        da_info_f("PCR selection for the new policy: %s (was %s)", p->sel.text, p->prev.text);
    srv_policy_put(old);
}

/* The PCRs this policy needs, before it is stored: a selection that cannot
 * be written refuses the policy. */
static int policy_selection(const struct srv_ctx *ctx, struct srv_policy *p)
{
    return srv_selection_for_policy(ctx->cfg.pcr_selection, p->json, &p->sel);
}

int srv_policy_rotate(struct srv_ctx *ctx, const char *text, size_t len, const char *actor,
                      char *msg, size_t msgsize)
{
    struct srv_policy *p = NULL;
    int rc = srv_policy_new(text, len, &p, msg, msgsize);

    if (rc == 0)
        rc = policy_selection(ctx, p);
    if (rc == 0)
        rc = srv_store_policy_put(ctx->store, p->json, p->sha256, actor);
    if (rc != 0) {
        srv_policy_put(p);
        return rc;
    }
    srv_audit(ctx, actor, "policy_rotated", p->sha256, 0, "");
    swap_in(ctx, p);
    return 0;
}

int srv_policy_refresh(struct srv_ctx *ctx, bool *changed)
{
    struct srv_policy *cur = srv_policy_get(ctx), *p = NULL;
    char *json = NULL, sha[65];
    int rc;

    *changed = false;
    rc = srv_store_policy_current(ctx->store, &json, sha);
    if (rc == 0 && (cur == NULL || strcmp(cur->sha256, sha) != 0)) {
        rc = srv_policy_new(json, strlen(json), &p, NULL, 0);
        if (rc == 0)
            rc = policy_selection(ctx, p);
        if (rc == 0) {
            swap_in(ctx, p);
            *changed = true;
            da_info_f("policy %s, rotated by another instance, is now current", sha);
        } else {
            srv_policy_put(p);
        }
    }
    free(json);
    srv_policy_put(cur);
    return rc == DA_ERR_NOT_FOUND ? 0 : rc;
}

int srv_policy_load_initial(struct srv_ctx *ctx)
{
    struct srv_policy *p = NULL;
    char *json = NULL, sha[65];
    size_t len = 0;
    int rc;

    rc = srv_store_policy_current(ctx->store, &json, sha);
    if (rc == 0) {
        rc = srv_policy_new(json, strlen(json), &p, NULL, 0);
        free(json);
        if (rc == 0)
            rc = policy_selection(ctx, p);
        if (rc == 0)
            swap_in(ctx, p);
        else
            srv_policy_put(p);
        return rc;
    }
    if (rc != DA_ERR_NOT_FOUND)
        return rc;
    rc = srv_read_file(ctx->cfg.policy_file, DA_MAX_POLICY, &json, &len);
    if (rc == DA_ERR_NOT_FOUND) {
        da_warn_f("no policy stored and %s is absent: reports are refused until an admin "
                  "sets one",
                  ctx->cfg.policy_file);
        return 0;
    }
    if (rc == 0)
        rc = srv_policy_rotate(ctx, json, len, "server", NULL, 0);
    free(json);
    return rc;
}

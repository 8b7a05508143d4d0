/* Admin endpoints: revoke and re-admit agents, rotate the policy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "err.h"
#include "json.h"
#include "policy_state.h"
#include "render.h"

static void actor_of(const struct srv_request *req, char *out, size_t size)
{
    snprintf(out, size, "%s:%s", req->who.role == SRV_ROLE_ADMIN ? "admin" : "?", req->who.label);
}

/* Optional body {"reason": "..."}; an empty body is accepted. */
static int read_reason(struct srv_request *req, struct srv_response *resp, char *out, size_t size)
{
    static const char *const allowed[] = {"reason", NULL};
    const char *reason = NULL;
    cJSON *root = NULL;
    int rc;

    out[0] = '\0';
    if (req->body_len == 0)
        return 0;
    rc = srv_parse_body(req, resp, &root);
    if (rc == 0)
        rc = srv_json_only_keys(root, allowed, resp);
    if (rc == 0 && cJSON_GetObjectItemCaseSensitive(root, "reason") != NULL)
        rc = da_json_get_string(root, "reason", &reason);
    /* Free text kept verbatim in the audit log: too long is refused, never cut
     * (a cut could split a UTF-8 sequence). */
    if (rc == 0 && reason != NULL && strlen(reason) >= size) {
        snprintf(resp->message, sizeof(resp->message), "reason: at most %zu bytes", size - 1);
        rc = DA_ERR_INVALID_ARG;
    }
    if (rc == 0 && reason != NULL)
        snprintf(out, size, "%s", reason);
    cJSON_Delete(root);
    return rc;
}

static int respond_agent(struct srv_request *req, struct srv_response *resp)
{
    struct srv_agent *a = NULL;
    cJSON *o = NULL;
    int rc = srv_store_agent_get(req->srv->store, req->param[0], srv_now(), &a);

    if (rc == 0)
        rc = srv_render_agent(a, &o);
    srv_agent_free(a);
    return rc != 0 ? rc : srv_respond_json(resp, 200, o);
}

int srv_api_agent_revoke(struct srv_request *req, struct srv_response *resp)
{
    char actor[SRV_MAX_NAME + 8], reason[256];
    int rc = read_reason(req, resp, reason, sizeof(reason));

    if (rc == 0)
        rc = srv_store_agent_set_revoked(req->srv->store, req->param[0], true);
    if (rc != 0)
        return rc;
    actor_of(req, actor, sizeof(actor));
    srv_audit(req->srv, actor, "agent_revoked", req->param[0], 0, reason);
    {
        cJSON *d = cJSON_CreateObject();

        if (d != NULL)
            cJSON_AddStringToObject(d, "reason", reason);
        srv_webhook_emit(req->srv, NULL, SRV_EVENT_REVOKED, req->param[0], d);
    }
    return respond_agent(req, resp);
}

/* Re-admitting clears a revocation; when the machine came back with a new
 * AK (an identity event), that AK becomes the agent's AK. */
int srv_api_agent_readmit(struct srv_request *req, struct srv_response *resp)
{
    char actor[SRV_MAX_NAME + 8], reason[256], ak_name[2 * 34 + 1], detail[400];
    unsigned char *ak = NULL;
    size_t ak_len = 0;
    struct srv_agent *a = NULL;
    int rc = read_reason(req, resp, reason, sizeof(reason));

    if (rc == 0)
        rc = srv_store_agent_get(req->srv->store, req->param[0], srv_now(), &a);
    if (rc != 0)
        return rc;
    srv_agent_free(a);
    rc = srv_store_identity_event_latest(req->srv->store, req->param[0], &ak, &ak_len, ak_name);
    if (rc == 0) {
        rc = srv_store_agent_replace_ak(req->srv->store, req->param[0], ak, ak_len, ak_name);
        snprintf(detail, sizeof(detail), "new AK %s accepted; %s", ak_name, reason);
    } else if (rc == DA_ERR_NOT_FOUND) {
        rc = 0;
        snprintf(detail, sizeof(detail), "%s", reason);
    }
    free(ak);
    if (rc == 0)
        rc = srv_store_agent_set_revoked(req->srv->store, req->param[0], false);
    if (rc != 0)
        return rc;
    actor_of(req, actor, sizeof(actor));
    srv_audit(req->srv, actor, "agent_readmitted", req->param[0], 0, detail);
    return respond_agent(req, resp);
}

int srv_api_policy_put(struct srv_request *req, struct srv_response *resp)
{
    char actor[SRV_MAX_NAME + 8];
    struct srv_policy *p;
    cJSON *o = NULL;
    int rc;

    actor_of(req, actor, sizeof(actor));
    /* JSON errors keep their own codes; the policy loader judges the rest. */
    rc = srv_parse_body(req, resp, &o);
    cJSON_Delete(o);
    o = NULL;
    if (rc == 0)
        rc = srv_policy_rotate(req->srv, req->body, req->body_len, actor, resp->message,
                               sizeof(resp->message));
    if (rc != 0) {
        srv_audit(req->srv, actor, "policy_rejected", "", rc, resp->message);
        return rc;
    }
    p = srv_policy_get(req->srv);
    o = cJSON_CreateObject();
    if (p == NULL || cJSON_AddStringToObject(o, "sha256", p->sha256) == NULL) {
        srv_policy_put(p);
        cJSON_Delete(o);
        return DA_ERR_NOMEM;
    }
    srv_policy_put(p);
    return srv_respond_json(resp, 200, o);
}

/* ---- enrollments held for approval (docs/enrollment.md) ---- */

static bool enrollment_state_valid(const char *s)
{
    return strcmp(s, "pending") == 0 || strcmp(s, "approved") == 0 || strcmp(s, "rejected") == 0;
}

static int add_enrollment(const struct srv_enrollment *e, void *arr)
{
    cJSON *o = NULL;
    int rc = srv_render_enrollment(e, &o);

    if (rc == 0 && !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        rc = DA_ERR_NOMEM;
    }
    return rc;
}

int srv_api_enrollments(struct srv_request *req, struct srv_response *resp)
{
    const char *state = srv_request_query(req, "state");
    cJSON *doc, *arr;
    int rc;

    if (state != NULL && !enrollment_state_valid(state)) {
        snprintf(resp->message, sizeof(resp->message), "state: pending, approved or rejected");
        return DA_ERR_INVALID_ARG;
    }
    doc = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(doc, "enrollments");
    if (arr == NULL) {
        cJSON_Delete(doc);
        return DA_ERR_NOMEM;
    }
    rc = srv_store_enrollments_list(req->srv->store, state, add_enrollment, arr);
    if (rc != 0) {
        cJSON_Delete(doc);
        return rc;
    }
    return srv_respond_json(resp, 200, doc);
}

static int respond_enrollment(struct srv_request *req, struct srv_response *resp)
{
    struct srv_enrollment *e = NULL;
    cJSON *o = NULL;
    int rc = srv_store_enrollment_get(req->srv->store, req->param[0], &e);

    if (rc == 0)
        rc = srv_render_enrollment(e, &o);
    srv_enrollment_free(e);
    return rc != 0 ? rc : srv_respond_json(resp, 200, o);
}

int srv_api_enrollment(struct srv_request *req, struct srv_response *resp)
{
    return respond_enrollment(req, resp);
}

static int decide(struct srv_request *req, struct srv_response *resp, const char *state)
{
    char actor[SRV_MAX_NAME + 8], reason[256];
    int rc = read_reason(req, resp, reason, sizeof(reason));

    actor_of(req, actor, sizeof(actor));
    if (rc == 0)
        rc = srv_store_enrollment_decide(req->srv->store, req->param[0], state, actor, srv_now());
    if (rc != 0)
        return rc;
    srv_audit(req->srv, actor,
              strcmp(state, "approved") == 0 ? "enrollment_approved" : "enrollment_rejected",
              req->param[0], 0, reason);
    return respond_enrollment(req, resp);
}

int srv_api_enrollment_approve(struct srv_request *req, struct srv_response *resp)
{
    return decide(req, resp, "approved");
}

int srv_api_enrollment_reject(struct srv_request *req, struct srv_response *resp)
{
    return decide(req, resp, "rejected");
}

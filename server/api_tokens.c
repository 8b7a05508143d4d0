/* Admin endpoints for API tokens: list, revoke, set an expiry. Tokens are
 * named by their public id (hex of the first 8 bytes of the token's
 * SHA-256); the token text is never stored, shown or logged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "err.h"
#include "json.h"
#include "listing.h"
#include "render.h"
#include "token.h"

static int add_time(cJSON *o, const char *name, int64_t t)
{
    char ts[32];

    if (t == 0)
        return cJSON_AddNullToObject(o, name) != NULL ? 0 : DA_ERR_NOMEM;
    srv_time_rfc3339(t, ts);
    return cJSON_AddStringToObject(o, name, ts) != NULL ? 0 : DA_ERR_NOMEM;
}

int srv_api_token_render(const struct srv_api_token *t, int64_t now, cJSON **out)
{
    cJSON *o = cJSON_CreateObject();
    const char *state = t->revoked_at != 0                           ? "revoked"
                        : t->expires_at != 0 && t->expires_at <= now ? "expired"
                                                                     : "active";
    int rc = o != NULL ? 0 : DA_ERR_NOMEM;

    *out = NULL;
    if (rc == 0 && (cJSON_AddStringToObject(o, "id", t->id) == NULL ||
                    cJSON_AddStringToObject(o, "role", srv_role_name(t->role)) == NULL ||
                    cJSON_AddStringToObject(o, "label", t->label) == NULL ||
                    cJSON_AddStringToObject(o, "state", state) == NULL))
        rc = DA_ERR_NOMEM;
    if (rc == 0 && t->role == SRV_ROLE_VENDOR &&
        cJSON_AddStringToObject(o, "vendor", t->vendor) == NULL)
        rc = DA_ERR_NOMEM;
    if (rc == 0)
        rc = add_time(o, "created_at", t->created_at);
    if (rc == 0)
        rc = add_time(o, "expires_at", t->expires_at);
    if (rc == 0)
        rc = add_time(o, "last_used_at", t->last_used_at);
    if (rc == 0)
        rc = add_time(o, "revoked_at", t->revoked_at);
    if (rc != 0) {
        cJSON_Delete(o);
        return rc;
    }
    *out = o;
    return 0;
}

struct token_list {
    cJSON *arr;
    int64_t now;
};

static int add_token(const struct srv_api_token *t, void *arg)
{
    struct token_list *l = arg;
    cJSON *o = NULL;
    int rc = srv_api_token_render(t, l->now, &o);

    if (rc == 0 && !cJSON_AddItemToArray(l->arr, o)) {
        cJSON_Delete(o);
        rc = DA_ERR_NOMEM;
    }
    return rc;
}

int srv_api_tokens(struct srv_request *req, struct srv_response *resp)
{
    cJSON *doc = cJSON_CreateObject();
    struct token_list l = {cJSON_AddArrayToObject(doc, "tokens"), srv_now()};
    int rc = l.arr != NULL ? 0 : DA_ERR_NOMEM;

    if (rc == 0)
        rc = srv_store_api_tokens_list(req->srv->store, add_token, &l);
    if (rc != 0) {
        cJSON_Delete(doc);
        return rc;
    }
    return srv_respond_json(resp, 200, doc);
}

/* Optional body {"at": "RFC 3339"}; without it, now. */
static int read_at(struct srv_request *req, struct srv_response *resp, int64_t *at)
{
    static const char *const allowed[] = {"at", NULL};
    const char *text = NULL;
    cJSON *root = NULL;
    int rc;

    *at = srv_now();
    if (req->body_len == 0)
        return 0;
    rc = srv_parse_body(req, resp, &root);
    if (rc == 0)
        rc = srv_json_only_keys(root, allowed, resp);
    if (rc == 0 && cJSON_GetObjectItemCaseSensitive(root, "at") != NULL)
        rc = da_json_get_string(root, "at", &text);
    if (rc == 0 && text != NULL) {
        rc = srv_time_parse_rfc3339(text, at);
        if (rc == 0 && *at <= 0)
            rc = DA_ERR_TIME_FORMAT;
        if (rc != 0)
            snprintf(resp->message, sizeof(resp->message), "at: %s", da_strerror(rc));
    }
    cJSON_Delete(root);
    return rc;
}

static int respond_token(struct srv_request *req, struct srv_response *resp, const char *action,
                         const struct srv_api_token *t)
{
    char actor[SRV_MAX_NAME + 8], detail[64];
    cJSON *o = NULL;
    int rc;

    snprintf(actor, sizeof(actor), "admin:%s", req->who.label);
    snprintf(detail, sizeof(detail), "role %s", srv_role_name(t->role));
    srv_audit(req->srv, actor, action, t->id, 0, detail);
    rc = srv_api_token_render(t, srv_now(), &o);
    return rc != 0 ? rc : srv_respond_json(resp, 200, o);
}

int srv_api_token_revoke(struct srv_request *req, struct srv_response *resp)
{
    struct srv_api_token t;
    int rc;

    if (req->body_len > 0) {
        cJSON *root = NULL;
        static const char *const none[] = {NULL};

        rc = srv_parse_body(req, resp, &root);
        if (rc == 0)
            rc = srv_json_only_keys(root, none, resp);
        cJSON_Delete(root);
        if (rc != 0)
            return rc;
    }
    rc = srv_store_api_token_revoke(req->srv->store, req->param[0], srv_now(), &t);
    return rc != 0 ? rc : respond_token(req, resp, "api_token_revoked", &t);
}

int srv_api_token_expire(struct srv_request *req, struct srv_response *resp)
{
    struct srv_api_token t;
    int64_t at = 0;
    int rc = read_at(req, resp, &at);

    if (rc == 0)
        rc = srv_store_api_token_expire(req->srv->store, req->param[0], at, &t);
    return rc != 0 ? rc : respond_token(req, resp, "api_token_expiry_set", &t);
}

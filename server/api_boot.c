/* Boot reference state, boot changes and boot pins in the API
 * (docs/api/openapi.yaml; docs/evidence.md, "Reference boot state"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "boot_pins.h"
#include "err.h"
#include "json.h"
#include "render.h"

#define BOOT_CHANGES_IN_VIEW 10
#define BOOT_CHANGES_DEFAULT 100
#define BOOT_CHANGES_MAX     1000
#define BOOT_JSON_MAX        (1024u * 1024)

/* A JSON text the server stored itself, as a value. */
static cJSON *stored_json(const char *text)
{
    cJSON *v = NULL;

    return da_json_parse(text, strlen(text), BOOT_JSON_MAX, &v) == 0 ? v : NULL;
}

static int add_change(const struct srv_boot_change *c, void *arg)
{
    cJSON *arr = arg, *o = cJSON_CreateObject();
    char ts[32];

    srv_time_rfc3339(c->at, ts);
    if (o == NULL || !cJSON_AddItemToArray(arr, o) ||
        cJSON_AddStringToObject(o, "report_id", c->report_id) == NULL ||
        cJSON_AddStringToObject(o, "at", ts) == NULL ||
        cJSON_AddStringToObject(o, "what", c->what) == NULL ||
        !cJSON_AddItemToObject(o, "old", stored_json(c->reference_json)) ||
        !cJSON_AddItemToObject(o, "new", stored_json(c->now_json)))
        return DA_ERR_NOMEM;
    return 0;
}

/* {"report_id", "recorded_at", "state"}; nothing when none yet. */
static int add_reference(struct srv_store *store, const char *agent_id, cJSON *o)
{
    char report_id[SRV_ID_HEX], ts[32];
    int64_t at = 0;
    char *text = NULL;
    cJSON *ref;
    int rc = srv_store_boot_reference(store, agent_id, &text, report_id, &at);

    if (rc == DA_ERR_NOT_FOUND)
        return 0;
    if (rc != 0)
        return rc;
    srv_time_rfc3339(at, ts);
    ref = cJSON_AddObjectToObject(o, "boot_reference");
    if (ref == NULL || cJSON_AddStringToObject(ref, "report_id", report_id) == NULL ||
        cJSON_AddStringToObject(ref, "recorded_at", ts) == NULL ||
        !cJSON_AddItemToObject(ref, "state", stored_json(text)))
        rc = DA_ERR_NOMEM;
    free(text);
    return rc;
}

int srv_api_boot_view(struct srv_request *req, const char *agent_id, cJSON *o)
{
    cJSON *arr;
    int rc = add_reference(req->srv->store, agent_id, o);

    if (rc != 0)
        return rc;
    arr = cJSON_AddArrayToObject(o, "boot_changes");
    if (arr == NULL)
        return DA_ERR_NOMEM;
    return srv_store_boot_changes_list(req->srv->store, agent_id, BOOT_CHANGES_IN_VIEW, add_change,
                                       arr);
}

int srv_api_agent_boot_changes(struct srv_request *req, struct srv_response *resp)
{
    const char *s = srv_request_query(req, "limit");
    struct srv_agent *a = NULL;
    unsigned long limit = BOOT_CHANGES_DEFAULT;
    cJSON *doc = NULL, *arr;
    char *end = NULL;
    int rc;

    if (s != NULL) {
        limit = strtoul(s, &end, 10);
        if (s[0] < '0' || s[0] > '9' || *end != '\0' || limit == 0 || limit > BOOT_CHANGES_MAX) {
            snprintf(resp->message, sizeof(resp->message), "limit must be 1..%d", BOOT_CHANGES_MAX);
            return DA_ERR_INVALID_ARG;
        }
    }
    rc = srv_store_agent_get(req->srv->store, req->param[0], srv_now(), &a);
    if (rc == 0 && req->who.role == SRV_ROLE_VENDOR && a->vendor_id != req->who.vendor_id)
        rc = DA_ERR_AGENT_UNKNOWN;
    if (rc == 0) {
        doc = cJSON_CreateObject();
        rc = doc != NULL && cJSON_AddStringToObject(doc, "agent_id", a->id) != NULL
                 ? add_reference(req->srv->store, a->id, doc)
                 : DA_ERR_NOMEM;
    }
    if (rc == 0) {
        arr = cJSON_AddArrayToObject(doc, "changes");
        rc = arr != NULL ? srv_store_boot_changes_list(req->srv->store, a->id, (unsigned)limit,
                                                       add_change, arr)
                         : DA_ERR_NOMEM;
    }
    srv_agent_free(a);
    if (rc != 0) {
        cJSON_Delete(doc);
        return rc;
    }
    return srv_respond_json(resp, 200, doc);
}

/* ---- boot pins (admin) ---- */

static int add_pin(const struct srv_boot_pin *p, void *arg)
{
    cJSON *o = NULL;
    int rc = srv_boot_pin_render(p, &o);

    if (rc == 0 && !cJSON_AddItemToArray(arg, o)) {
        cJSON_Delete(o);
        rc = DA_ERR_NOMEM;
    }
    return rc;
}

static int respond_pins(struct srv_request *req, struct srv_response *resp, int status)
{
    struct srv_vendor v;
    cJSON *doc, *arr;
    int rc = srv_store_vendor_find(req->srv->store, req->param[0], &v);

    if (rc == DA_ERR_NOT_FOUND)
        return DA_ERR_VENDOR_UNKNOWN;
    if (rc != 0)
        return rc;
    doc = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(doc, "pins");
    rc = doc != NULL && arr != NULL && cJSON_AddStringToObject(doc, "vendor", v.name) != NULL
             ? srv_store_boot_pins_list(req->srv->store, v.id, add_pin, arr)
             : DA_ERR_NOMEM;
    if (rc != 0) {
        cJSON_Delete(doc);
        return rc;
    }
    return srv_respond_json(resp, status, doc);
}

int srv_api_boot_pins_get(struct srv_request *req, struct srv_response *resp)
{
    return respond_pins(req, resp, 200);
}

static void pin_actor(const struct srv_request *req, char *out, size_t size)
{
    snprintf(out, size, "admin:%s", req->who.label);
}

/* Body {"digest": "sha256:HEX", "what": COMPONENT}. */
int srv_api_boot_pin_add(struct srv_request *req, struct srv_response *resp)
{
    static const char *const allowed[] = {"digest", "what", NULL};
    const char *digest = NULL, *what = NULL;
    char norm[7 + 64 + 1], actor[SRV_MAX_NAME + 8];
    cJSON *root = NULL;
    int rc = srv_parse_body(req, resp, &root);

    pin_actor(req, actor, sizeof(actor));
    if (rc == 0)
        rc = srv_json_only_keys(root, allowed, resp);
    if (rc == 0 && (da_json_get_string(root, "digest", &digest) != 0 ||
                    da_json_get_string(root, "what", &what) != 0))
        rc = DA_ERR_BOOT_PIN_INVALID;
    if (rc == 0)
        rc = srv_boot_pin_parse(digest, what, norm);
    if (rc == 0)
        rc = srv_store_boot_pin_add(req->srv->store, req->param[0], norm, what, actor);
    cJSON_Delete(root);
    srv_audit(req->srv, actor, rc == 0 ? "boot_pin_added" : "boot_pin_rejected", req->param[0], rc,
              rc == 0 ? norm : da_strerror(rc));
    return rc != 0 ? rc : respond_pins(req, resp, 201);
}

/* DELETE /v1/vendors/{vendor}/boot-pins/{hex}: the digest's hex digits. */
int srv_api_boot_pin_remove(struct srv_request *req, struct srv_response *resp)
{
    char digest[7 + SRV_MAX_PARAM], norm[7 + 64 + 1], actor[SRV_MAX_NAME + 8];
    int rc;

    pin_actor(req, actor, sizeof(actor));
    snprintf(digest, sizeof(digest), "sha256:%s", req->param[1]);
    rc = srv_boot_pin_parse(digest, "other", norm);
    if (rc == 0)
        rc = srv_store_boot_pin_remove(req->srv->store, req->param[0], norm);
    srv_audit(req->srv, actor, rc == 0 ? "boot_pin_removed" : "boot_pin_rejected", req->param[0],
              rc, rc == 0 ? norm : da_strerror(rc));
    return rc != 0 ? rc : respond_pins(req, resp, 200);
}

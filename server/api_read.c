/* Read endpoints: vendors, agents, reports, policy, audit log.
 * A vendor token sees only its own vendor; anything else is "not found". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "err.h"
#include "json.h"
#include "listing.h"
#include "policy_state.h"
#include "render.h"

#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX     1000

static int parse_page(struct srv_request *req, struct srv_response *resp, bool with_id,
                      bool with_window, struct srv_page *pg);

static int add_vendor(const struct srv_vendor *v, void *arg)
{
    cJSON *arr = arg, *o = cJSON_CreateObject();
    char ts[32];

    srv_time_rfc3339(v->created_at, ts);
    if (o == NULL || !cJSON_AddItemToArray(arr, o))
        return DA_ERR_NOMEM;
    if (cJSON_AddStringToObject(o, "name", v->name) == NULL ||
        cJSON_AddStringToObject(o, "created_at", ts) == NULL)
        return DA_ERR_NOMEM;
    return 0;
}

struct vendor_filter {
    cJSON *arr;
    int64_t only;
};

static int add_vendor_filtered(const struct srv_vendor *v, void *arg)
{
    struct vendor_filter *f = arg;

    return f->only == 0 || f->only == v->id ? add_vendor(v, f->arr) : 0;
}

int srv_api_vendors(struct srv_request *req, struct srv_response *resp)
{
    cJSON *doc = cJSON_CreateObject();
    struct vendor_filter f = {cJSON_AddArrayToObject(doc, "vendors"), 0};
    int rc;

    if (f.arr == NULL) {
        cJSON_Delete(doc);
        return DA_ERR_NOMEM;
    }
    if (req->who.role == SRV_ROLE_VENDOR)
        f.only = req->who.vendor_id;
    rc = srv_store_vendors_list(req->srv->store, add_vendor_filtered, &f);
    if (rc != 0) {
        cJSON_Delete(doc);
        return rc;
    }
    return srv_respond_json(resp, 200, doc);
}

/* A page being filled: rows up to limit go into arr; one more row means
 * there is a next page, whose cursor is the key of the last row kept. */
struct page_fill {
    cJSON *arr;
    unsigned limit, n;
    bool more;
    char next[SRV_CURSOR_SIZE];
};

static bool page_full(struct page_fill *f)
{
    if (f->n < f->limit)
        return false;
    f->more = true;
    return true;
}

static int page_finish(cJSON *doc, const struct page_fill *f)
{
    if (f->more && cJSON_AddStringToObject(doc, "next_cursor", f->next) == NULL)
        return DA_ERR_NOMEM;
    return 0;
}

static int add_agent(const struct srv_agent *a, void *arg)
{
    struct page_fill *f = arg;
    cJSON *o = NULL;
    int rc;

    if (page_full(f))
        return 0;
    rc = srv_render_agent(a, &o);
    if (rc == 0 && !cJSON_AddItemToArray(f->arr, o)) {
        cJSON_Delete(o);
        rc = DA_ERR_NOMEM;
    }
    f->n++;
    srv_cursor_format(a->created_at, a->id, f->next);
    return rc;
}

static bool status_valid(const char *s)
{
    static const char *const names[] = {"pending", "compliant", "non_compliant", "stale",
                                        "revoked"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(s, names[i]) == 0)
            return true;
    }
    return false;
}

int srv_api_agents_filter(struct srv_request *req, struct srv_response *resp, int64_t *vendor_id,
                          const char **status)
{
    const char *vendor = srv_request_query(req, "vendor");
    struct srv_vendor v;
    int rc;

    *vendor_id = 0;
    *status = srv_request_query(req, "status");
    if (*status != NULL && !status_valid(*status)) {
        snprintf(resp->message, sizeof(resp->message), "unknown status filter");
        return DA_ERR_INVALID_ARG;
    }
    if (vendor != NULL) {
        rc = srv_store_vendor_find(req->srv->store, vendor, &v);
        if (rc == DA_ERR_NOT_FOUND)
            v.id = -1; /* an unknown vendor has no agents */
        else if (rc != 0)
            return rc;
        *vendor_id = v.id;
    }
    if (req->who.role == SRV_ROLE_VENDOR) {
        if (*vendor_id != 0 && *vendor_id != req->who.vendor_id)
            *vendor_id = -1;
        else
            *vendor_id = req->who.vendor_id;
    }
    return 0;
}

int srv_api_agents(struct srv_request *req, struct srv_response *resp)
{
    const char *status = NULL;
    struct srv_page pg;
    struct page_fill f;
    int64_t vendor_id = 0;
    cJSON *doc;
    int rc = parse_page(req, resp, true, false, &pg);

    if (rc == 0)
        rc = srv_api_agents_filter(req, resp, &vendor_id, &status);
    if (rc != 0)
        return rc;
    doc = cJSON_CreateObject();
    memset(&f, 0, sizeof(f));
    f.arr = cJSON_AddArrayToObject(doc, "agents");
    f.limit = pg.limit - 1;
    if (f.arr == NULL) {
        cJSON_Delete(doc);
        return DA_ERR_NOMEM;
    }
    rc = srv_store_agents_page(req->srv->store, vendor_id, status, srv_now(), &pg, add_agent, &f);
    if (rc == 0)
        rc = page_finish(doc, &f);
    if (rc != 0) {
        cJSON_Delete(doc);
        return rc;
    }
    return srv_respond_json(resp, 200, doc);
}

/* The agent named by param[0], if the caller may see it. */
static int visible_agent(struct srv_request *req, const char *id, struct srv_agent **out)
{
    int rc = srv_store_agent_get(req->srv->store, id, srv_now(), out);

    if (rc == 0 && req->who.role == SRV_ROLE_VENDOR && (*out)->vendor_id != req->who.vendor_id) {
        srv_agent_free(*out);
        *out = NULL;
        rc = DA_ERR_AGENT_UNKNOWN;
    }
    return rc;
}

int srv_api_agent(struct srv_request *req, struct srv_response *resp)
{
    struct srv_agent *a = NULL;
    cJSON *o = NULL;
    int rc = visible_agent(req, req->param[0], &a);

    if (rc == 0)
        rc = srv_render_agent(a, &o);
    if (rc == 0)
        rc = srv_api_boot_view(req, a->id, o);
    srv_agent_free(a);
    if (rc != 0) {
        cJSON_Delete(o);
        return rc;
    }
    return srv_respond_json(resp, 200, o);
}

static int add_report(const struct srv_report *r, void *arg)
{
    struct page_fill *f = arg;
    cJSON *o = NULL;
    int rc;

    if (page_full(f))
        return 0;
    rc = srv_render_report(r, false, &o);
    if (rc == 0 && !cJSON_AddItemToArray(f->arr, o)) {
        cJSON_Delete(o);
        rc = DA_ERR_NOMEM;
    }
    f->n++;
    srv_cursor_format(r->received_at, r->id, f->next);
    return rc;
}

static int parse_limit(struct srv_request *req, struct srv_response *resp, unsigned *limit)
{
    const char *s = srv_request_query(req, "limit");
    char *end = NULL;
    unsigned long n;

    *limit = LIST_LIMIT_DEFAULT;
    if (s == NULL)
        return 0;
    n = strtoul(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || n == 0 || n > LIST_LIMIT_MAX) {
        snprintf(resp->message, sizeof(resp->message), "limit must be 1..%d", LIST_LIMIT_MAX);
        return DA_ERR_INVALID_ARG;
    }
    *limit = (unsigned)n;
    return 0;
}

static int parse_time(struct srv_request *req, struct srv_response *resp, const char *name,
                      int64_t *out)
{
    const char *s = srv_request_query(req, name);
    int rc;

    *out = 0;
    if (s == NULL)
        return 0;
    rc = srv_time_parse_rfc3339(s, out);
    if (rc != 0)
        snprintf(resp->message, sizeof(resp->message), "%s: %s", name, da_strerror(rc));
    return rc;
}

/* limit (one more row is read to know whether a next page exists), cursor,
 * and the window [from, to) where the list has one. */
static int parse_page(struct srv_request *req, struct srv_response *resp, bool with_id,
                      bool with_window, struct srv_page *pg)
{
    const char *cursor = srv_request_query(req, "cursor");
    unsigned limit;
    int rc = parse_limit(req, resp, &limit);

    memset(pg, 0, sizeof(*pg));
    pg->limit = limit + 1;
    if (rc == 0 && cursor != NULL) {
        rc = srv_cursor_parse(cursor, with_id, &pg->after_n, pg->after_id, SRV_MAX_PARAM);
        pg->has_after = rc == 0;
    }
    if (rc == 0 && with_window)
        rc = parse_time(req, resp, "from", &pg->from);
    if (rc == 0 && with_window)
        rc = parse_time(req, resp, "to", &pg->to);
    if (rc == 0 && srv_request_query(req, "to") != NULL && pg->to <= 0)
        pg->to = -1; /* at or before the epoch: nothing is older */
    if (rc == 0 && srv_request_query(req, "from") != NULL && srv_request_query(req, "to") != NULL &&
        pg->from >= pg->to) {
        snprintf(resp->message, sizeof(resp->message), "from must be before to");
        rc = DA_ERR_INVALID_ARG;
    }
    return rc;
}

int srv_api_agent_reports(struct srv_request *req, struct srv_response *resp)
{
    struct srv_agent *a = NULL;
    struct srv_page pg;
    struct page_fill f;
    cJSON *doc = NULL;
    int rc = parse_page(req, resp, true, true, &pg);

    if (rc == 0)
        rc = visible_agent(req, req->param[0], &a);
    if (rc != 0)
        return rc;
    doc = cJSON_CreateObject();
    memset(&f, 0, sizeof(f));
    f.arr = cJSON_AddArrayToObject(doc, "reports");
    f.limit = pg.limit - 1;
    rc = f.arr != NULL ? 0 : DA_ERR_NOMEM;
    if (rc == 0)
        rc = srv_store_reports_page(req->srv->store, a->id, &pg, add_report, &f);
    if (rc == 0)
        rc = page_finish(doc, &f);
    srv_agent_free(a);
    if (rc != 0) {
        cJSON_Delete(doc);
        return rc;
    }
    return srv_respond_json(resp, 200, doc);
}

int srv_api_report_get(struct srv_request *req, struct srv_response *resp)
{
    struct srv_report *r = NULL;
    struct srv_agent *a = NULL;
    cJSON *o = NULL;
    int rc = srv_store_report_get(req->srv->store, req->param[0], &r);

    if (rc == 0) {
        rc = visible_agent(req, r->agent_id, &a);
        if (rc == DA_ERR_AGENT_UNKNOWN)
            rc = DA_ERR_NOT_FOUND;
    }
    if (rc == 0)
        rc = srv_render_report(r, true, &o);
    srv_report_free(r);
    srv_agent_free(a);
    return rc != 0 ? rc : srv_respond_json(resp, 200, o);
}

int srv_api_policy_get(struct srv_request *req, struct srv_response *resp)
{
    struct srv_policy *p = srv_policy_get(req->srv);

    if (p == NULL) {
        snprintf(resp->message, sizeof(resp->message), "no policy has been set");
        return DA_ERR_NOT_FOUND;
    }
    resp->body = strdup(p->json);
    resp->body_len = p->json_len;
    srv_policy_put(p);
    if (resp->body == NULL)
        return DA_ERR_NOMEM;
    resp->status = 200;
    resp->content_type = "application/json";
    return 0;
}

static int add_audit(const struct srv_audit_entry *e, void *arg)
{
    struct page_fill *f = arg;
    cJSON *arr = f->arr, *o;
    char ts[32];

    if (page_full(f))
        return 0;
    f->n++;
    srv_cursor_format(e->id, NULL, f->next);
    o = cJSON_CreateObject();
    srv_time_rfc3339(e->at, ts);
    if (o == NULL || !cJSON_AddItemToArray(arr, o))
        return DA_ERR_NOMEM;
    if (cJSON_AddNumberToObject(o, "id", (double)e->id) == NULL ||
        cJSON_AddStringToObject(o, "at", ts) == NULL ||
        cJSON_AddStringToObject(o, "actor", e->actor) == NULL ||
        cJSON_AddStringToObject(o, "action", e->action) == NULL ||
        cJSON_AddStringToObject(o, "subject", e->subject) == NULL ||
        cJSON_AddStringToObject(o, "code", e->code) == NULL ||
        cJSON_AddStringToObject(o, "detail", e->detail) == NULL)
        return DA_ERR_NOMEM;
    return 0;
}

int srv_api_audit(struct srv_request *req, struct srv_response *resp)
{
    const char *action = srv_request_query(req, "action");
    struct srv_page pg;
    struct page_fill f;
    cJSON *doc;
    int rc = parse_page(req, resp, false, true, &pg);

    if (rc != 0)
        return rc;
    doc = cJSON_CreateObject();
    memset(&f, 0, sizeof(f));
    f.arr = cJSON_AddArrayToObject(doc, "events");
    f.limit = pg.limit - 1;
    rc = f.arr != NULL ? 0 : DA_ERR_NOMEM;
    if (rc == 0)
        rc = srv_store_audit_page(req->srv->store, action, &pg, add_audit, &f);
    if (rc == 0)
        rc = page_finish(doc, &f);
    if (rc != 0) {
        cJSON_Delete(doc);
        return rc;
    }
    return srv_respond_json(resp, 200, doc);
}

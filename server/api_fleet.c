/* Views for the dashboard, computed from the store like every other read:
 * the fleet summary (machines per vendor and status, per-control and
 * per-check results of each machine's newest report, what changed in the
 * last 24 hours, from the tables the store keeps on write) and the difference between two reports,
 * field by field. A vendor token sees only its own vendor's machines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "caps.h"
#include "err.h"
#include "json.h"
#include "policy_state.h"
#include "render.h"
#include "verdict.h"

#define FLEET_WINDOW_S    SRV_FLEET_WINDOW_S
#define FLEET_CHANGES_MAX 500    /* newest changes kept in the answer */
#define DIFF_CHANGES_MAX  1000   /* field changes kept in a diff answer */
#define DIFF_LEAVES_MAX   200000 /* scalars per evidence document */
#define DIFF_POINTER_MAX  4096

static const char *const verdict_names[] = {"pass", "fail", "unknown", "not_applicable"};
#define N_VERDICTS 4

/* ---- fleet ---- */

/* The summary is a few reads of the tables the store keeps on write
 * (store.h, "fleet summary"): machines per vendor and status, the groups of
 * machines whose newest reports have the same controls and checks, and the
 * changes of the window. Its cost does not grow with the reports stored,
 * and only with the number of distinct result shapes and vendors. */

static int verdict_index(const char *v)
{
    for (int i = 0; i < N_VERDICTS; i++) {
        if (strcmp(v, verdict_names[i]) == 0)
            return i;
    }
    return -1;
}

/* counts[name] = {"pass": n, ...}, created on first use; adds weight. */
static int count_verdict(cJSON *counts, const char *name, const char *verdict, int64_t weight)
{
    cJSON *o = cJSON_GetObjectItemCaseSensitive(counts, name), *n;
    int i = verdict_index(verdict);

    if (i < 0)
        return 0;
    if (o == NULL) {
        o = cJSON_AddObjectToObject(counts, name);
        for (int k = 0; o != NULL && k < N_VERDICTS; k++) {
            if (cJSON_AddNumberToObject(o, verdict_names[k], 0) == NULL)
                return DA_ERR_NOMEM;
        }
        if (o == NULL)
            return DA_ERR_NOMEM;
    }
    n = cJSON_GetObjectItemCaseSensitive(o, verdict_names[i]);
    cJSON_SetNumberValue(n, n->valuedouble + (double)weight);
    return 0;
}

static int add_change(cJSON *changes, const struct srv_fleet_change *c)
{
    cJSON *o = cJSON_CreateObject(), *host = cJSON_Parse(c->host_json);
    const cJSON *hn = cJSON_GetObjectItemCaseSensitive(host, "hostname");
    char ts[32];
    int rc = 0;

    srv_time_rfc3339(c->at, ts);
    if (o == NULL || !cJSON_AddItemToArray(changes, o))
        rc = DA_ERR_NOMEM;
    else if (cJSON_AddStringToObject(o, "at", ts) == NULL ||
             cJSON_AddStringToObject(o, "agent_id", c->agent_id) == NULL ||
             cJSON_AddStringToObject(o, "vendor", c->vendor) == NULL ||
             cJSON_AddStringToObject(o, "hostname", cJSON_IsString(hn) ? hn->valuestring : "") ==
                 NULL ||
             cJSON_AddStringToObject(o, "report_id", c->report_id) == NULL ||
             cJSON_AddStringToObject(o, "kind", c->kind) == NULL ||
             cJSON_AddStringToObject(o, "subject", c->subject) == NULL ||
             (c->from != NULL ? cJSON_AddStringToObject(o, "from", c->from)
                              : cJSON_AddNullToObject(o, "from")) == NULL ||
             cJSON_AddStringToObject(o, "to", c->to) == NULL)
        rc = DA_ERR_NOMEM;
    cJSON_Delete(host);
    return rc;
}

static int collect_change(const struct srv_fleet_change *c, void *arg)
{
    return add_change(arg, c);
}

static int newest_first(const void *x, const void *y)
{
    const cJSON *a = *(const cJSON *const *)x, *b = *(const cJSON *const *)y;
    const char *ta = cJSON_GetObjectItemCaseSensitive(a, "at")->valuestring;
    const char *tb = cJSON_GetObjectItemCaseSensitive(b, "at")->valuestring;

    return strcmp(tb, ta); /* RFC 3339 UTC of one width sorts as text */
}

/* Newest first, at most FLEET_CHANGES_MAX; sets "changes_truncated". */
static int sort_changes(cJSON *doc, cJSON *changes)
{
    int n = cJSON_GetArraySize(changes), i, keep;
    cJSON **v, *sorted;

    if (n == 0)
        return cJSON_AddFalseToObject(doc, "changes_truncated") != NULL ? 0 : DA_ERR_NOMEM;
    v = calloc((size_t)n, sizeof(*v));
    if (v == NULL)
        return DA_ERR_NOMEM;
    for (i = n - 1; i >= 0; i--)
        v[i] = cJSON_DetachItemFromArray(changes, i);
    qsort(v, (size_t)n, sizeof(*v), newest_first);
    sorted = changes;
    keep = n < FLEET_CHANGES_MAX ? n : FLEET_CHANGES_MAX;
    for (i = 0; i < n; i++) {
        if (i < keep)
            cJSON_AddItemToArray(sorted, v[i]);
        else
            cJSON_Delete(v[i]);
    }
    free(v);
    return cJSON_AddBoolToObject(doc, "changes_truncated", n > keep) != NULL ? 0 : DA_ERR_NOMEM;
}

/* {"8.30": "title", ...} of the current policy's controls, or NULL. */
static cJSON *policy_titles(struct srv_ctx *ctx, const char *what)
{
    struct srv_policy *p = ctx != NULL ? srv_policy_get(ctx) : NULL;
    cJSON *doc, *out = NULL, *item;

    if (p == NULL)
        return NULL;
    doc = cJSON_ParseWithLength(p->json, p->json_len);
    srv_policy_put(p);
    item = cJSON_GetObjectItemCaseSensitive(doc, what);
    if (item != NULL)
        out = cJSON_DetachItemViaPointer(doc, item);
    cJSON_Delete(doc);
    return out;
}

/* [{"id", "title", "pass", "fail", "unknown", "not_applicable"}] from
 * counts, in the order of the counts object. */
static int counts_to_list(cJSON *doc, const char *key, cJSON *counts, struct srv_ctx *ctx)
{
    cJSON *arr = cJSON_AddArrayToObject(doc, key), *c, *defs = policy_titles(ctx, key);
    int rc = arr != NULL ? 0 : DA_ERR_NOMEM;

    cJSON_ArrayForEach(c, counts)
    {
        cJSON *o = cJSON_Duplicate(c, 1), *def = NULL, *title, *ctl;

        if (rc != 0 || o == NULL || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            rc = DA_ERR_NOMEM;
            break;
        }
        if (cJSON_IsObject(defs))
            def = cJSON_GetObjectItemCaseSensitive(defs, c->string);
        else if (cJSON_IsArray(defs)) {
            cJSON *d;
            cJSON_ArrayForEach(d, defs)
            {
                cJSON *id = cJSON_GetObjectItemCaseSensitive(d, "id");
                if (cJSON_IsString(id) && strcmp(id->valuestring, c->string) == 0)
                    def = d;
            }
        }
        title = cJSON_GetObjectItemCaseSensitive(def, "title");
        ctl = cJSON_GetObjectItemCaseSensitive(def, "controls");
        if (cJSON_AddStringToObject(o, "id", c->string) == NULL ||
            cJSON_AddStringToObject(o, "title", cJSON_IsString(title) ? title->valuestring : "") ==
                NULL)
            rc = DA_ERR_NOMEM;
        if (rc == 0 && cJSON_IsArray(ctl) &&
            !cJSON_AddItemToObject(o, "controls", cJSON_Duplicate(ctl, 1)))
            rc = DA_ERR_NOMEM;
    }
    cJSON_Delete(defs);
    return rc;
}

/* vendors[name] gets n machines of status (NULL: only the row). */
static int vendor_counts(cJSON *vendors, const char *vendor, const char *status, int64_t n)
{
    static const char *const statuses[] = {"compliant", "non_compliant", "stale", "revoked",
                                           "pending"};
    cJSON *o = NULL, *v, *c;

    cJSON_ArrayForEach(v, vendors)
    {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(v, "name")->valuestring, vendor) == 0)
            o = v;
    }
    if (o == NULL) {
        o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddItemToArray(vendors, o) ||
            cJSON_AddStringToObject(o, "name", vendor) == NULL ||
            cJSON_AddNumberToObject(o, "machines", 0) == NULL)
            return DA_ERR_NOMEM;
        for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
            if (cJSON_AddNumberToObject(o, statuses[i], 0) == NULL)
                return DA_ERR_NOMEM;
        }
    }
    if (status == NULL)
        return 0;
    c = cJSON_GetObjectItemCaseSensitive(o, "machines");
    cJSON_SetNumberValue(c, c->valuedouble + (double)n);
    c = cJSON_GetObjectItemCaseSensitive(o, status);
    if (c != NULL)
        cJSON_SetNumberValue(c, c->valuedouble + (double)n);
    return 0;
}

struct vendor_names {
    cJSON *vendors;
    int64_t only;
};

static int add_vendor_row(const struct srv_vendor *v, void *arg)
{
    struct vendor_names *vn = arg;

    return vn->only == 0 || vn->only == v->id ? vendor_counts(vn->vendors, v->name, NULL, 0) : 0;
}

static int add_status(const char *vendor, const char *status, int64_t n, void *arg)
{
    return vendor_counts(arg, vendor, status, n);
}

struct shape_counts {
    cJSON *controls, *checks;
};

/* n machines whose newest report has these controls and checks */
static int add_shape(const char *shape_json, int64_t n, void *arg)
{
    struct shape_counts *sc = arg;
    cJSON *shape = cJSON_Parse(shape_json);
    const cJSON *cv, *c;
    int rc = shape != NULL ? 0 : DA_ERR_STORE;

    cJSON_ArrayForEach(cv, cJSON_GetObjectItemCaseSensitive(shape, "controls"))
    {
        if (rc == 0 && cJSON_IsString(cv))
            rc = count_verdict(sc->controls, cv->string, cv->valuestring, n);
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(shape, "checks"))
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "verdict");

        if (rc == 0 && cJSON_IsString(id) && cJSON_IsString(v))
            rc = count_verdict(sc->checks, id->valuestring, v->valuestring, n);
    }
    cJSON_Delete(shape);
    return rc;
}

int srv_fleet_doc(struct srv_store *store, struct srv_ctx *ctx, int64_t vendor_id, int64_t now,
                  cJSON *doc)
{
    struct vendor_names vn = {NULL, vendor_id};
    struct shape_counts sc = {cJSON_CreateObject(), cJSON_CreateObject()};
    cJSON *changes = NULL;
    char ts[32];
    int rc = sc.controls != NULL && sc.checks != NULL ? 0 : DA_ERR_NOMEM;

    srv_time_rfc3339(now, ts);
    if (rc == 0 && (cJSON_AddStringToObject(doc, "generated_at", ts) == NULL ||
                    cJSON_AddNumberToObject(doc, "window_s", FLEET_WINDOW_S) == NULL ||
                    (vn.vendors = cJSON_AddArrayToObject(doc, "vendors")) == NULL ||
                    (changes = cJSON_AddArrayToObject(doc, "changes")) == NULL))
        rc = DA_ERR_NOMEM;
    if (rc == 0)
        rc = srv_store_vendors_list(store, add_vendor_row, &vn);
    if (rc == 0)
        rc = srv_store_fleet_status(store, vendor_id, now, add_status, vn.vendors);
    if (rc == 0)
        rc = srv_store_fleet_shapes(store, vendor_id, add_shape, &sc);
    /* one more than is kept of each kind: more than that in all is a
     * truncated list */
    if (rc == 0)
        rc = srv_store_fleet_changes(store, vendor_id, now - FLEET_WINDOW_S, FLEET_CHANGES_MAX + 1,
                                     collect_change, changes);
    if (rc == 0)
        rc = counts_to_list(doc, "controls", sc.controls, ctx);
    if (rc == 0)
        rc = counts_to_list(doc, "checks", sc.checks, ctx);
    if (rc == 0)
        rc = sort_changes(doc, changes);
    cJSON_Delete(sc.controls);
    cJSON_Delete(sc.checks);
    return rc;
}

int srv_api_fleet(struct srv_request *req, struct srv_response *resp)
{
    const char *vendor = srv_request_query(req, "vendor");
    int64_t vendor_id = 0;
    cJSON *doc = cJSON_CreateObject();
    struct srv_vendor v;
    int rc = doc != NULL ? 0 : DA_ERR_NOMEM;

    if (rc == 0 && vendor != NULL) {
        rc = srv_store_vendor_find(req->srv->store, vendor, &v);
        if (rc == DA_ERR_NOT_FOUND) {
            snprintf(resp->message, sizeof(resp->message), "no such vendor");
            rc = DA_ERR_VENDOR_UNKNOWN;
        }
        vendor_id = rc == 0 ? v.id : 0;
    }
    if (rc == 0 && req->who.role == SRV_ROLE_VENDOR) {
        if (vendor_id != 0 && vendor_id != req->who.vendor_id) {
            snprintf(resp->message, sizeof(resp->message), "no such vendor");
            rc = DA_ERR_VENDOR_UNKNOWN;
        }
        vendor_id = req->who.vendor_id;
    }
    if (rc == 0)
        rc = srv_fleet_doc(req->srv->store, req->srv, vendor_id, srv_now(), doc);
    if (rc != 0) {
        cJSON_Delete(doc);
        return rc;
    }
    return srv_respond_json(resp, 200, doc);
}

/* ---- diff ---- */

static const char *check_verdict(const cJSON *verdict, const char *id)
{
    const cJSON *c, *checks = cJSON_GetObjectItemCaseSensitive(verdict, "checks");

    cJSON_ArrayForEach(c, checks)
    {
        const cJSON *cid = cJSON_GetObjectItemCaseSensitive(c, "id");

        if (cJSON_IsString(cid) && strcmp(cid->valuestring, id) == 0) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "verdict");
            return cJSON_IsString(v) ? v->valuestring : NULL;
        }
    }
    return NULL;
}

struct leaf {
    char *pointer;
    const cJSON *value;
};

struct leaves {
    struct leaf *v;
    size_t n, cap;
};

static int leaf_add(struct leaves *l, const char *pointer, const cJSON *value)
{
    if (l->n >= DIFF_LEAVES_MAX)
        return DA_ERR_DIFF_TOO_LARGE;
    if (l->n == l->cap) {
        size_t cap = l->cap != 0 ? l->cap * 2 : 256;
        struct leaf *nv = realloc(l->v, cap * sizeof(*nv));

        if (nv == NULL)
            return DA_ERR_NOMEM;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n].pointer = strdup(pointer);
    if (l->v[l->n].pointer == NULL)
        return DA_ERR_NOMEM;
    l->v[l->n].value = value;
    l->n++;
    return 0;
}

static void leaves_free(struct leaves *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].pointer);
    free(l->v);
}

/* Every scalar (and empty container) of node under its JSON pointer
 * (RFC 6901: '~' as "~0", '/' as "~1"). */
static int flatten(const cJSON *node, char *ptr, size_t len, size_t cap, struct leaves *out,
                   int depth)
{
    const cJSON *c;
    size_t i = 0;
    int rc = 0;

    if (depth > DA_MAX_JSON_DEPTH)
        return DA_ERR_DIFF_TOO_LARGE;
    if ((!cJSON_IsObject(node) && !cJSON_IsArray(node)) || node->child == NULL)
        return leaf_add(out, len == 0 ? "" : ptr, node);
    cJSON_ArrayForEach(c, node)
    {
        size_t n = len;
        char idx[24];
        const char *key = idx;

        if (cJSON_IsArray(node))
            snprintf(idx, sizeof(idx), "%zu", i);
        else
            key = c->string != NULL ? c->string : "";
        i++;
        if (n + 1 >= cap)
            return DA_ERR_DIFF_TOO_LARGE;
        ptr[n++] = '/';
        for (; *key != '\0'; key++) {
            if (n + 2 >= cap)
                return DA_ERR_DIFF_TOO_LARGE;
            if (*key == '~' || *key == '/') {
                ptr[n++] = '~';
                ptr[n++] = *key == '~' ? '0' : '1';
            } else {
                ptr[n++] = *key;
            }
        }
        ptr[n] = '\0';
        rc = flatten(c, ptr, n, cap, out, depth + 1);
        ptr[len] = '\0';
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int by_pointer(const void *x, const void *y)
{
    return strcmp(((const struct leaf *)x)->pointer, ((const struct leaf *)y)->pointer);
}

static int add_field_change(cJSON *arr, const char *pointer, const cJSON *from, const cJSON *to)
{
    cJSON *o = cJSON_CreateObject();
    const char *kind = from == NULL ? "added" : to == NULL ? "removed" : "changed";

    if (o == NULL || !cJSON_AddItemToArray(arr, o))
        return DA_ERR_NOMEM;
    if (cJSON_AddStringToObject(o, "pointer", pointer) == NULL ||
        cJSON_AddStringToObject(o, "change", kind) == NULL ||
        cJSON_AddStringToObject(o, "provenance", srv_provenance(pointer)) == NULL)
        return DA_ERR_NOMEM;
    if (!cJSON_AddItemToObject(o, "from",
                               from != NULL ? cJSON_Duplicate(from, 1) : cJSON_CreateNull()) ||
        !cJSON_AddItemToObject(o, "to", to != NULL ? cJSON_Duplicate(to, 1) : cJSON_CreateNull()))
        return DA_ERR_NOMEM;
    return 0;
}

/* Field changes from evidence a to evidence b, in pointer order. */
static int diff_fields(const cJSON *a, const cJSON *b, cJSON *doc)
{
    struct leaves la = {NULL, 0, 0}, lb = {NULL, 0, 0};
    char *ptr = malloc(DIFF_POINTER_MAX);
    cJSON *arr = cJSON_AddArrayToObject(doc, "fields");
    size_t i = 0, j = 0, total = 0;
    int rc = ptr != NULL && arr != NULL ? 0 : DA_ERR_NOMEM;

    if (rc == 0) {
        ptr[0] = '\0';
        rc = flatten(a, ptr, 0, DIFF_POINTER_MAX, &la, 0);
    }
    if (rc == 0) {
        ptr[0] = '\0';
        rc = flatten(b, ptr, 0, DIFF_POINTER_MAX, &lb, 0);
    }
    free(ptr);
    if (rc == 0) {
        qsort(la.v, la.n, sizeof(*la.v), by_pointer);
        qsort(lb.v, lb.n, sizeof(*lb.v), by_pointer);
    }
    while (rc == 0 && (i < la.n || j < lb.n)) {
        int cmp = i >= la.n ? 1 : j >= lb.n ? -1 : strcmp(la.v[i].pointer, lb.v[j].pointer);
        const struct leaf *from = cmp <= 0 ? &la.v[i] : NULL, *to = cmp >= 0 ? &lb.v[j] : NULL;

        if (cmp < 0)
            i++;
        else if (cmp > 0)
            j++;
        else {
            i++;
            j++;
            if (cJSON_Compare(from->value, to->value, 1))
                continue;
        }
        if (total++ < DIFF_CHANGES_MAX)
            rc = add_field_change(arr, from != NULL ? from->pointer : to->pointer,
                                  from != NULL ? from->value : NULL, to != NULL ? to->value : NULL);
    }
    leaves_free(&la);
    leaves_free(&lb);
    if (rc == 0 &&
        (cJSON_AddNumberToObject(doc, "fields_changed", (double)total) == NULL ||
         cJSON_AddBoolToObject(doc, "fields_truncated", total > DIFF_CHANGES_MAX) == NULL))
        rc = DA_ERR_NOMEM;
    return rc;
}

/* Check verdicts that differ between the two reports. */
static int diff_checks(const cJSON *va, const cJSON *vb, cJSON *doc)
{
    cJSON *arr = cJSON_AddArrayToObject(doc, "checks");
    const cJSON *c;

    if (arr == NULL)
        return DA_ERR_NOMEM;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(vb, "checks"))
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "verdict");
        const char *before;
        cJSON *o;

        if (!cJSON_IsString(id) || !cJSON_IsString(v))
            continue;
        before = check_verdict(va, id->valuestring);
        if (before != NULL && strcmp(before, v->valuestring) == 0)
            continue;
        o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddItemToArray(arr, o) ||
            cJSON_AddStringToObject(o, "id", id->valuestring) == NULL ||
            (before != NULL ? cJSON_AddStringToObject(o, "from", before)
                            : cJSON_AddNullToObject(o, "from")) == NULL ||
            cJSON_AddStringToObject(o, "to", v->valuestring) == NULL)
            return DA_ERR_NOMEM;
    }
    return 0;
}

int srv_report_diff_docs(const cJSON *evidence_a, const cJSON *evidence_b, const cJSON *verdict_a,
                         const cJSON *verdict_b, cJSON *doc)
{
    int rc = diff_checks(verdict_a, verdict_b, doc);

    return rc != 0 ? rc : diff_fields(evidence_a, evidence_b, doc);
}

static int visible_report(struct srv_request *req, const char *id, struct srv_report **out)
{
    struct srv_agent *a = NULL;
    int rc = srv_store_report_get(req->srv->store, id, out);

    if (rc == 0) {
        rc = srv_store_agent_get(req->srv->store, (*out)->agent_id, srv_now(), &a);
        if (rc == 0 && req->who.role == SRV_ROLE_VENDOR && a->vendor_id != req->who.vendor_id)
            rc = DA_ERR_NOT_FOUND;
        if (rc == DA_ERR_AGENT_UNKNOWN)
            rc = DA_ERR_NOT_FOUND;
        srv_agent_free(a);
    }
    if (rc != 0) {
        srv_report_free(*out);
        *out = NULL;
    }
    return rc;
}

static int add_side(cJSON *doc, const char *key, const struct srv_report *r)
{
    cJSON *o = cJSON_AddObjectToObject(doc, key);
    char ts[32];

    srv_time_rfc3339(r->received_at, ts);
    if (o == NULL || cJSON_AddStringToObject(o, "id", r->id) == NULL ||
        cJSON_AddStringToObject(o, "agent_id", r->agent_id) == NULL ||
        cJSON_AddStringToObject(o, "received_at", ts) == NULL ||
        cJSON_AddBoolToObject(o, "compliant", r->compliant) == NULL)
        return DA_ERR_NOMEM;
    return 0;
}

int srv_api_report_diff(struct srv_request *req, struct srv_response *resp)
{
    struct srv_report *ra = NULL, *rb = NULL;
    cJSON *doc = NULL, *ea = NULL, *eb = NULL, *va = NULL, *vb = NULL;
    int rc = visible_report(req, req->param[0], &ra);

    if (rc == 0)
        rc = visible_report(req, req->param[1], &rb);
    if (rc == 0 && (ra->pruned_at != 0 || rb->pruned_at != 0)) {
        snprintf(resp->message, sizeof(resp->message),
                 "the evidence of report %s was removed by the retention setting",
                 ra->pruned_at != 0 ? ra->id : rb->id);
        rc = DA_ERR_EVIDENCE_PRUNED;
    }
    if (rc == 0) {
        ea = cJSON_Parse(ra->evidence_json);
        eb = cJSON_Parse(rb->evidence_json);
        va = cJSON_Parse(ra->verdict_json);
        vb = cJSON_Parse(rb->verdict_json);
        doc = cJSON_CreateObject();
        if (ea == NULL || eb == NULL || va == NULL || vb == NULL)
            rc = DA_ERR_STORE;
        else if (doc == NULL)
            rc = DA_ERR_NOMEM;
    }
    if (rc == 0)
        rc = add_side(doc, "from", ra);
    if (rc == 0)
        rc = add_side(doc, "to", rb);
    if (rc == 0)
        rc = srv_report_diff_docs(ea, eb, va, vb, doc);
    cJSON_Delete(ea);
    cJSON_Delete(eb);
    cJSON_Delete(va);
    cJSON_Delete(vb);
    srv_report_free(ra);
    srv_report_free(rb);
    if (rc != 0) {
        cJSON_Delete(doc);
        return rc;
    }
    return srv_respond_json(resp, 200, doc);
}

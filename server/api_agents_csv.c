/* The machine list with its verdicts as CSV, for spreadsheets: one row per
 * agent the filters of GET /v1/agents select (vendor, status; a vendor
 * token sees its own machines only), with the results of its newest
 * report. Quoting and the formula defence are csv.h's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "caps.h"
#include "csv.h"
#include "err.h"
#include "json.h"
#include "policy_state.h"
#include "render.h"

#define CSV_FAILING_MAX 4096 /* bytes of one row's failing-checks field */

struct csv_agent {
    char id[SRV_ID_HEX];
    char vendor[SRV_MAX_NAME];
    char status[SRV_STATUS_SIZE];
    char *hostname;
    char *ek_issuer;
    bool software; /* a software identity: no TPM, no EK */
    int64_t last_verified_at;
};

struct csv_agents {
    struct csv_agent *v;
    size_t n, cap;
};

static void csv_agents_free(struct csv_agents *av)
{
    for (size_t i = 0; i < av->n; i++) {
        free(av->v[i].hostname);
        free(av->v[i].ek_issuer);
    }
    free(av->v);
}

static char *host_name(const char *host_json)
{
    cJSON *host = cJSON_Parse(host_json);
    const cJSON *hn = cJSON_GetObjectItemCaseSensitive(host, "hostname");
    char *out = strdup(cJSON_IsString(hn) ? hn->valuestring : "");

    cJSON_Delete(host);
    return out;
}

static int collect_agent(const struct srv_agent *a, void *arg)
{
    struct csv_agents *av = arg;
    struct csv_agent *c;

    if (av->n == av->cap) {
        size_t cap = av->cap != 0 ? av->cap * 2 : 64;
        struct csv_agent *nv = realloc(av->v, cap * sizeof(*nv));

        if (nv == NULL)
            return DA_ERR_NOMEM;
        av->v = nv;
        av->cap = cap;
    }
    c = &av->v[av->n];
    memset(c, 0, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "%s", a->id);
    snprintf(c->vendor, sizeof(c->vendor), "%s", a->vendor);
    snprintf(c->status, sizeof(c->status), "%s", a->status);
    c->software = strcmp(a->ek_trust, SRV_EK_TRUST_SOFTWARE) == 0 || a->ek_name[0] == '\0';
    c->last_verified_at = a->last_verified_at;
    c->hostname = host_name(a->host_json);
    c->ek_issuer = strdup(a->ek_cert.issuer);
    av->n++;
    if (c->hostname == NULL || c->ek_issuer == NULL)
        return DA_ERR_NOMEM;
    return 0;
}

/* The current policy's control ids, in its order (an empty array when no
 * policy is set). */
static cJSON *policy_control_ids(struct srv_ctx *ctx)
{
    struct srv_policy *p = srv_policy_get(ctx);
    cJSON *ids = cJSON_CreateArray(), *doc, *c;

    if (p == NULL || ids == NULL) {
        srv_policy_put(p);
        return ids;
    }
    doc = cJSON_ParseWithLength(p->json, p->json_len);
    srv_policy_put(p);
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "controls"))
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
        const char *name = c->string != NULL    ? c->string
                           : cJSON_IsString(id) ? id->valuestring
                                                : NULL;

        if (name != NULL && !cJSON_AddItemToArray(ids, cJSON_CreateString(name))) {
            cJSON_Delete(ids);
            ids = NULL;
            break;
        }
    }
    cJSON_Delete(doc);
    return ids;
}

static int newest_verdict(const struct srv_report *r, void *arg)
{
    cJSON **verdict = arg;

    if (*verdict != NULL)
        return 0;
    *verdict = cJSON_Parse(r->verdict_json);
    return *verdict != NULL ? 0 : DA_ERR_STORE;
}

/* "id (verdict)" of every check neither passing nor not applicable,
 * separated by "; ", in the verdict's order. */
static int failing_checks(const cJSON *verdict, struct da_buf *out)
{
    const cJSON *c;
    int rc = 0;

    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(verdict, "checks"))
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "verdict");

        if (!cJSON_IsString(id) || !cJSON_IsString(v) || strcmp(v->valuestring, "pass") == 0 ||
            strcmp(v->valuestring, "not_applicable") == 0)
            continue;
        rc = da_buf_printf(out, "%s%s (%s)", da_buf_len(out) != 0 ? "; " : "", id->valuestring,
                           v->valuestring);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int write_header(struct da_buf *b, const cJSON *controls)
{
    static const char *const head[] = {"agent_id", "vendor",         "hostname",       "trust",
                                       "status",   "last_report_at", "failing_checks", NULL};
    const cJSON *c;
    int rc = 0;

    for (size_t i = 0; rc == 0 && head[i] != NULL; i++)
        rc = srv_csv_field(b, head[i], i == 0);
    cJSON_ArrayForEach(c, controls)
    {
        char name[SRV_MAX_NAME];

        snprintf(name, sizeof(name), "control_%s", c->valuestring);
        if (rc == 0)
            rc = srv_csv_field(b, name, false);
    }
    if (rc == 0)
        rc = srv_csv_field(b, "ek_issuer", false);
    return rc == 0 ? srv_csv_end_row(b) : rc;
}

static int write_row(struct srv_request *req, struct da_buf *b, const struct csv_agent *a,
                     const cJSON *controls)
{
    cJSON *verdict = NULL;
    const cJSON *c, *verdicts;
    struct da_buf failing;
    char ts[32];
    int rc = srv_store_reports_list(req->srv->store, a->id, 1, newest_verdict, &verdict);

    da_buf_init(&failing, CSV_FAILING_MAX);
    srv_time_rfc3339(a->last_verified_at, ts);
    if (rc == 0)
        rc = failing_checks(verdict, &failing);
    if (rc == DA_ERR_TOO_LARGE)
        rc = 0; /* a very long list is cut at the cap */
    if (rc == 0)
        rc = srv_csv_field(b, a->id, true);
    if (rc == 0)
        rc = srv_csv_field(b, a->vendor, false);
    if (rc == 0)
        rc = srv_csv_field(b, a->hostname, false);
    if (rc == 0)
        rc = srv_csv_field(b, a->software ? "software" : "tpm", false);
    if (rc == 0)
        rc = srv_csv_field(b, a->status, false);
    if (rc == 0)
        rc = srv_csv_field(b, ts, false);
    if (rc == 0)
        rc = srv_csv_field(b, da_buf_str(&failing), false);
    verdicts = cJSON_GetObjectItemCaseSensitive(verdict, "controls");
    cJSON_ArrayForEach(c, controls)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(verdicts, c->valuestring);

        if (rc == 0)
            rc = srv_csv_field(b, cJSON_IsString(v) ? v->valuestring : "", false);
    }
    if (rc == 0)
        rc = srv_csv_field(b, a->ek_issuer, false);
    if (rc == 0)
        rc = srv_csv_end_row(b);
    da_buf_free(&failing);
    cJSON_Delete(verdict);
    return rc;
}

int srv_api_agents_csv(struct srv_request *req, struct srv_response *resp)
{
    struct csv_agents av = {NULL, 0, 0};
    const char *status = NULL;
    int64_t vendor_id = 0;
    cJSON *controls = NULL;
    struct da_buf b;
    int rc = srv_api_agents_filter(req, resp, &vendor_id, &status);

    da_buf_init(&b, DA_MAX_CSV_EXPORT);
    if (rc == 0 && vendor_id >= 0)
        rc = srv_store_agents_list(req->srv->store, vendor_id, status, srv_now(), collect_agent,
                                   &av);
    if (rc == 0 && (controls = policy_control_ids(req->srv)) == NULL)
        rc = DA_ERR_NOMEM;
    if (rc == 0)
        rc = write_header(&b, controls);
    for (size_t i = 0; rc == 0 && i < av.n; i++)
        rc = write_row(req, &b, &av.v[i], controls);
    if (rc == DA_ERR_TOO_LARGE) {
        snprintf(resp->message, sizeof(resp->message),
                 "the export passes %u bytes; filter by vendor or status",
                 (unsigned)DA_MAX_CSV_EXPORT);
        rc = DA_ERR_EXPORT_TOO_LARGE;
    }
    if (rc == 0) {
        resp->body = (char *)da_buf_take(&b, &resp->body_len);
        rc = resp->body != NULL ? 0 : DA_ERR_NOMEM;
    }
    if (rc == 0) {
        resp->status = 200;
        resp->content_type = "text/csv; charset=utf-8";
        resp->disposition = "attachment; filename=\"devattest-machines.csv\"";
    }
    cJSON_Delete(controls);
    csv_agents_free(&av);
    da_buf_free(&b);
    return rc;
}

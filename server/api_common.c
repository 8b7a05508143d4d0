/* Helpers shared by the API handlers and the plain endpoints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "buf.h"
#include "caps.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "policy_state.h"

extern const unsigned char srv_openapi_yaml[];
extern const size_t srv_openapi_yaml_len;

int srv_parse_body(const struct srv_request *req, struct srv_response *resp, cJSON **out)
{
    struct da_json_error je = {0, 0, NULL};
    int rc;

    *out = NULL;
    rc = da_json_parse_ex(req->body, req->body_len, DA_MAX_REPORT, out, &je);
    if (rc != 0) {
        snprintf(resp->message, sizeof(resp->message), "request body %d:%d: %s", je.line, je.col,
                 je.reason != NULL ? je.reason : da_strerror(rc));
        return rc;
    }
    if (!cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        snprintf(resp->message, sizeof(resp->message), "request body must be a JSON object");
        return DA_ERR_JSON_TYPE;
    }
    return 0;
}

int srv_json_only_keys(const cJSON *obj, const char *const *allowed, struct srv_response *resp)
{
    const cJSON *m;

    cJSON_ArrayForEach(m, obj)
    {
        const char *const *a;

        for (a = allowed; *a != NULL; a++) {
            if (strcmp(*a, m->string) == 0)
                break;
        }
        if (*a == NULL) {
            snprintf(resp->message, sizeof(resp->message), "unknown field '%.64s'", m->string);
            return DA_ERR_INVALID_ARG;
        }
    }
    return 0;
}

int srv_api_healthz(struct srv_request *req, struct srv_response *resp)
{
    cJSON *doc = cJSON_CreateObject();
    int version = 0;

    if (srv_store_schema_version(req->srv->store, &version) != 0) {
        cJSON_Delete(doc);
        return DA_ERR_UNAVAILABLE;
    }
    if (cJSON_AddStringToObject(doc, "status", "ok") == NULL ||
        cJSON_AddNumberToObject(doc, "schema_version", version) == NULL ||
        cJSON_AddStringToObject(doc, "version", DA_VERSION) == NULL) {
        cJSON_Delete(doc);
        return DA_ERR_NOMEM;
    }
    return srv_respond_json(resp, 200, doc);
}

int srv_api_openapi(struct srv_request *req, struct srv_response *resp)
{
    resp->body = malloc(srv_openapi_yaml_len + 1);
    if (resp->body == NULL)
        return DA_ERR_NOMEM;
    memcpy(resp->body, srv_openapi_yaml, srv_openapi_yaml_len);
    resp->body[srv_openapi_yaml_len] = '\0';
    resp->body_len = srv_openapi_yaml_len;
    resp->status = 200;
    resp->content_type = "application/yaml";
    return 0;
}

int srv_api_metrics(struct srv_request *req, struct srv_response *resp)
{
    const struct srv_metrics *m = &req->srv->metrics;
    struct da_buf b;
    int rc;

    da_buf_init(&b, 16384);
    rc = da_buf_printf(
        &b,
        "# TYPE devattest_http_requests_total counter\n"
        "devattest_http_requests_total %llu\n"
        "devattest_http_responses_total{class=\"4xx\"} %llu\n"
        "devattest_http_responses_total{class=\"5xx\"} %llu\n"
        "# TYPE devattest_reports_total counter\n"
        "devattest_reports_total{result=\"accepted\"} %llu\n"
        "devattest_reports_total{result=\"rejected\"} %llu\n"
        "# TYPE devattest_enrollments_total counter\n"
        "devattest_enrollments_total{result=\"accepted\"} %llu\n"
        "devattest_enrollments_total{result=\"rejected\"} %llu\n"
        "# TYPE devattest_rate_limited_total counter\n"
        "devattest_rate_limited_total %llu\n",
        (unsigned long long)m->requests, (unsigned long long)m->responses_4xx,
        (unsigned long long)m->responses_5xx, (unsigned long long)m->reports_accepted,
        (unsigned long long)m->reports_rejected, (unsigned long long)m->enrollments,
        (unsigned long long)m->enrollments_rejected, (unsigned long long)m->rate_limited);
    if (rc == 0)
        rc = da_buf_printf(&b,
                           "# TYPE devattest_http_deadline_closed_total counter\n"
                           "devattest_http_deadline_closed_total %llu\n",
                           (unsigned long long)srv_http_deadline_closed(req->srv));
    if (rc == 0) {
        resp->body = (char *)da_buf_take(&b, &resp->body_len);
        rc = resp->body != NULL ? 0 : DA_ERR_NOMEM;
    }
    da_buf_free(&b);
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4";
    return rc;
}

/* Helpers shared by the API handlers and the plain endpoints. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "api.h"
#include "buf.h"
#include "caps.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "policy_state.h"
#include "receipt_keys.h"

/* /metrics: the agents family has a line per vendor and status. */
#define METRICS_MAX (4u * 1024 * 1024)

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

/* Free space on the file system holding the database, against the floor. */
static const char *ready_disk(const struct srv_ctx *ctx)
{
    char dir[PATH_MAX];
    struct statvfs fs;
    unsigned long long free_mb;

    snprintf(dir, sizeof(dir), "%s", ctx->cfg.database);
    if (statvfs(dirname(dir), &fs) != 0)
        return "cannot read the free space of the database's file system";
    free_mb = (unsigned long long)fs.f_bavail * fs.f_frsize / (1024 * 1024);
    return free_mb >= ctx->cfg.ready_min_free_mb ? NULL : "free space below ready_min_free_mb";
}

#define READY_PROBE_REUSE_MS 1000

/* One durable write through the store's writer, at most once a second. */
static int ready_store(struct srv_ctx *ctx)
{
    uint64_t now = srv_mono_ms(), last = atomic_load(&ctx->ready_probe_ms);
    int rc;

    if (last != 0 && now - last < READY_PROBE_REUSE_MS)
        return atomic_load(&ctx->ready_probe_rc);
    rc = srv_store_probe_write(ctx->store, srv_now());
    atomic_store(&ctx->ready_probe_rc, rc);
    atomic_store(&ctx->ready_probe_ms, now != 0 ? now : 1);
    return rc;
}

/* Readiness: everything a report needs to be verified and kept. Each check
 * is "ok" or says what is missing; any failure answers 503 not_ready. */
int srv_api_readyz(struct srv_request *req, struct srv_response *resp)
{
    struct srv_ctx *ctx = req->srv;
    struct srv_policy *policy = srv_policy_get(ctx);
    const char *why[4];
    static const char *const names[4] = {"store", "policy", "ek_roots", "disk"};
    cJSON *doc = cJSON_CreateObject(), *checks, *err;
    size_t i, msg = 0;
    bool ready = true;

    why[0] = ready_store(ctx) == 0 ? NULL : "store does not take writes";
    why[1] = policy != NULL ? NULL : "no policy loaded";
    why[2] = ctx->ek_trust != NULL ? NULL : "no EK roots loaded (ek_roots)";
    why[3] = ready_disk(ctx);
    srv_policy_put(policy);
    checks = cJSON_AddObjectToObject(doc, "checks");
    for (i = 0; checks != NULL && i < 4; i++) {
        if (cJSON_AddStringToObject(checks, names[i], why[i] != NULL ? why[i] : "ok") == NULL)
            checks = NULL;
        if (why[i] == NULL)
            continue;
        if (msg < sizeof(resp->message))
            msg += (size_t)snprintf(resp->message + msg, sizeof(resp->message) - msg, "%s%s: %s",
                                    ready ? "" : "; ", names[i], why[i]);
        ready = false;
    }
    if (checks == NULL ||
        cJSON_AddStringToObject(doc, "status", ready ? "ready" : "not_ready") == NULL) {
        cJSON_Delete(doc);
        return DA_ERR_NOMEM;
    }
    if (!ready) {
        err = cJSON_AddObjectToObject(doc, "error");
        if (err == NULL ||
            cJSON_AddStringToObject(err, "code", da_err_code(DA_ERR_NOT_READY)) == NULL ||
            cJSON_AddStringToObject(err, "message", resp->message) == NULL) {
            cJSON_Delete(doc);
            return DA_ERR_NOMEM;
        }
    }
    return srv_respond_json(resp, ready ? 200 : da_err_http_status(DA_ERR_NOT_READY), doc);
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

/* The receipt keys and the CA certificate (receipt_keys.h): public, so a
 * verifier needs nothing copied from the server's disk. */
int srv_api_keys(struct srv_request *req, struct srv_response *resp)
{
    cJSON *answer = NULL;
    int rc = srv_keys_answer(req->srv->keys, &answer);

    return rc != 0 ? rc : srv_respond_json(resp, 200, answer);
}

static int put_agent_count(const char *vendor, const char *status, int64_t n, void *arg)
{
    struct da_buf *b = arg;
    int rc = da_buf_append_str(b, "devattest_agents{vendor=\"");

    if (rc == 0)
        rc = srv_metrics_put_label_value(b, vendor);
    if (rc == 0)
        rc = da_buf_printf(b, "\",status=\"%s\"} %lld\n", status, (long long)n);
    return rc;
}

static int put_store_bytes(struct srv_ctx *ctx, struct da_buf *b)
{
    int64_t bytes = 0;
    int rc = srv_store_bytes(ctx->store, &bytes);

    if (rc == 0)
        rc = da_buf_printf(b,
                           "# HELP devattest_store_bytes Bytes the stored data occupies (SQLite: "
                           "pages in use times the page size).\n"
                           "# TYPE devattest_store_bytes gauge\n"
                           "devattest_store_bytes %lld\n",
                           (long long)bytes);
    return rc;
}

#define COUNTER(b, name, help, v)                                                                  \
    da_buf_printf(b, "# HELP " name " " help "\n# TYPE " name " counter\n" name " %llu\n",         \
                  (unsigned long long)(v))

/* Every family has HELP and TYPE; counters that have not moved yet are
 * exported as 0 so that dashboards and alerts see them from the start. */
static int render_metrics(struct srv_ctx *ctx, struct da_buf *b)
{
    const struct srv_metrics *m = &ctx->metrics;
    uint64_t delivered = 0, failed = 0;
    int rc;

    rc = da_buf_printf(b,
                       "# HELP devattest_build_info Version of the running server.\n"
                       "# TYPE devattest_build_info gauge\n"
                       "devattest_build_info{version=\"%s\"} 1\n",
                       DA_VERSION);
    if (rc == 0)
        rc = COUNTER(b, "devattest_http_requests_total", "HTTP requests received.", m->requests);
    if (rc == 0)
        rc = da_buf_printf(b,
                           "# HELP devattest_http_responses_total HTTP answers by status class.\n"
                           "# TYPE devattest_http_responses_total counter\n"
                           "devattest_http_responses_total{class=\"2xx\"} %llu\n"
                           "devattest_http_responses_total{class=\"4xx\"} %llu\n"
                           "devattest_http_responses_total{class=\"5xx\"} %llu\n",
                           (unsigned long long)m->responses_2xx,
                           (unsigned long long)m->responses_4xx,
                           (unsigned long long)m->responses_5xx);
    if (rc == 0)
        rc = da_buf_printf(b,
                           "# HELP devattest_auth_failures_total Requests refused by "
                           "authentication (missing, unknown, revoked or expired token) or "
                           "authorization (forbidden).\n"
                           "# TYPE devattest_auth_failures_total counter\n"
                           "devattest_auth_failures_total{reason=\"missing\"} %llu\n"
                           "devattest_auth_failures_total{reason=\"denied\"} %llu\n"
                           "devattest_auth_failures_total{reason=\"forbidden\"} %llu\n",
                           (unsigned long long)m->auth_missing, (unsigned long long)m->auth_denied,
                           (unsigned long long)m->auth_forbidden);
    if (rc == 0)
        rc = COUNTER(b, "devattest_reports_accepted_total", "Reports verified and stored.",
                     m->reports_accepted);
    if (rc == 0)
        rc = srv_metrics_put_codes(b, "devattest_reports_refused_total",
                                   "Reports refused, by API error code (the inventory round trip "
                                   "is not a refusal).",
                                   &m->reports_refused);
    if (rc == 0)
        rc = COUNTER(b, "devattest_reports_inventory_requested_total",
                     "Reports answered inventory_needed: the agent sends the full inventory.",
                     m->inventory_requested);
    if (rc == 0)
        rc = srv_metrics_put_histogram(
            b, "devattest_report_verification_seconds",
            "Time from a received report body to its answer (quote, counters, policy, store).", "",
            &m->verify_latency, true);
    if (rc == 0)
        rc = da_buf_printf(b, "# HELP devattest_store_operation_seconds Store latency: writes "
                              "from queueing to durable commit, reads while a reader is held.\n"
                              "# TYPE devattest_store_operation_seconds histogram\n");
    if (rc == 0)
        rc = srv_metrics_put_histogram(b, "devattest_store_operation_seconds", "",
                                       "operation=\"write\"", &m->store_write_latency, false);
    if (rc == 0)
        rc = srv_metrics_put_histogram(b, "devattest_store_operation_seconds", "",
                                       "operation=\"read\"", &m->store_read_latency, false);
    if (rc == 0)
        rc = da_buf_printf(b, "# HELP devattest_agents Enrolled agents by vendor and status.\n"
                              "# TYPE devattest_agents gauge\n");
    if (rc == 0)
        rc = srv_store_agent_counts(ctx->store, srv_now(), put_agent_count, b);
    if (rc == 0)
        rc = put_store_bytes(ctx, b);
    if (rc == 0)
        rc = da_buf_printf(b,
                           "# HELP devattest_enrollments_total Enrollments by result.\n"
                           "# TYPE devattest_enrollments_total counter\n"
                           "devattest_enrollments_total{result=\"accepted\"} %llu\n"
                           "devattest_enrollments_total{result=\"rejected\"} %llu\n",
                           (unsigned long long)m->enrollments,
                           (unsigned long long)m->enrollments_rejected);
    if (rc == 0)
        rc = COUNTER(b, "devattest_rate_limited_total", "Requests refused by a rate limit.",
                     m->rate_limited);
    if (rc == 0)
        rc = COUNTER(b, "devattest_http_deadline_closed_total",
                     "Connections closed because a request head or body missed its deadline.",
                     srv_http_deadline_closed(ctx));
    if (rc == 0)
        rc = COUNTER(b, "devattest_access_log_failures_total",
                     "Access log lines that could not be written.",
                     srv_access_log_failures(ctx->access_log));
    srv_webhook_counts(ctx->webhooks, &delivered, &failed);
    if (rc == 0)
        rc = COUNTER(b, "devattest_webhook_deliveries_total", "Webhook deliveries that succeeded.",
                     delivered);
    if (rc == 0)
        rc = COUNTER(b, "devattest_webhook_failures_total",
                     "Webhook delivery attempts that failed, and events that could not be queued.",
                     failed);
    return rc;
}

int srv_api_metrics(struct srv_request *req, struct srv_response *resp)
{
    struct da_buf b;
    int rc;

    da_buf_init(&b, METRICS_MAX);
    rc = render_metrics(req->srv, &b);
    if (rc == 0) {
        resp->body = (char *)da_buf_take(&b, &resp->body_len);
        rc = resp->body != NULL ? 0 : DA_ERR_NOMEM;
    }
    da_buf_free(&b);
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4";
    return rc;
}

#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "api.h"
#include "buf.h"
#include "caps.h"
#include "digest.h"
#include "err.h"
#include "http_guard.h"
#include "log.h"
#include "picky.h"
#include "token.h"

#define ROLES_READ  (SRV_ROLE_ADMIN | SRV_ROLE_AUDITOR | SRV_ROLE_VENDOR)
#define ROLES_STAFF (SRV_ROLE_ADMIN | SRV_ROLE_AUDITOR)
#define PUBLIC      SRV_ROLE_NONE

#define SMALL_BODY   (64u * 1024)
#define NO_BODY      0u
#define MAX_AUTH_HDR 512

#define UI_CSP                                                                                     \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "                    \
    "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
#define DATA_CSP "default-src 'none'; frame-ancestors 'none'; sandbox"
/* A body over its cap is read and dropped up to this much more, so that a
 * client which does not wait for 100-continue still gets a clean 413; past
 * it the connection is closed. */
#define DISCARD_SLACK (1024u * 1024)

struct route {
    const char *method;
    const char *pattern;
    unsigned roles;
    size_t body_cap;
    unsigned flags;
    srv_handler_fn fn;
};

/* The API. Order matters only for readability: patterns do not overlap. */
static const struct route routes[] = {
    {"GET", "/", PUBLIC, NO_BODY, 0, srv_api_ui_index},
    {"GET", "/ui/{f}", PUBLIC, NO_BODY, 0, srv_api_ui_file},
    {"GET", "/healthz", PUBLIC, NO_BODY, 0, srv_api_healthz},
    {"GET", "/readyz", PUBLIC, NO_BODY, 0, srv_api_readyz},
    {"GET", "/metrics", ROLES_STAFF, NO_BODY, 0, srv_api_metrics},
    {"GET", "/v1/openapi.yaml", PUBLIC, NO_BODY, 0, srv_api_openapi},
    {"GET", "/v1/keys", PUBLIC, NO_BODY, 0, srv_api_keys},
    {"POST", "/v1/enroll", PUBLIC, SMALL_BODY, 0, srv_api_enroll},
    {"POST", "/v1/enroll/{}/activate", PUBLIC, SMALL_BODY, 0, srv_api_enroll_activate},
    {"POST", "/v1/enroll/software", SRV_ROLE_ADMIN, SMALL_BODY, 0, srv_api_enroll_software},
    {"POST", "/v1/enrollments/{}/challenge", PUBLIC, SMALL_BODY, 0, srv_api_enrollment_challenge},
    {"GET", "/v1/enrollments", ROLES_STAFF, NO_BODY, 0, srv_api_enrollments},
    {"GET", "/v1/enrollments/{}", ROLES_STAFF, NO_BODY, 0, srv_api_enrollment},
    {"POST", "/v1/enrollments/{}/approve", SRV_ROLE_ADMIN, SMALL_BODY, 0,
     srv_api_enrollment_approve},
    {"POST", "/v1/enrollments/{}/reject", SRV_ROLE_ADMIN, SMALL_BODY, 0, srv_api_enrollment_reject},
    {"POST", "/v1/agents/{}/nonce", PUBLIC, SMALL_BODY, 0, srv_api_nonce},
    {"POST", "/v1/agents/{}/reports", PUBLIC, DA_MAX_REPORT, 0, srv_api_report_post},
    {"GET", "/v1/vendors", ROLES_READ, NO_BODY, 0, srv_api_vendors},
    {"GET", "/v1/agents", ROLES_READ, NO_BODY, 0, srv_api_agents},
    {"GET", "/v1/agents.csv", ROLES_READ, NO_BODY, 0, srv_api_agents_csv},
    {"GET", "/v1/agents/{}", ROLES_READ, NO_BODY, 0, srv_api_agent},
    {"GET", "/v1/agents/{}/reports", ROLES_READ, NO_BODY, 0, srv_api_agent_reports},
    {"GET", "/v1/reports/{}", ROLES_READ, NO_BODY, 0, srv_api_report_get},
    {"GET", "/v1/reports/{}/diff/{}", ROLES_READ, NO_BODY, 0, srv_api_report_diff},
    {"GET", "/v1/fleet", ROLES_READ, NO_BODY, 0, srv_api_fleet},
    {"GET", "/v1/policy", PUBLIC, NO_BODY, 0, srv_api_policy_get},
    {"PUT", "/v1/policy", SRV_ROLE_ADMIN, DA_MAX_POLICY, 0, srv_api_policy_put},
    {"GET", "/v1/audit", ROLES_STAFF, NO_BODY, 0, srv_api_audit},
    {"POST", "/v1/agents/{}/revoke", SRV_ROLE_ADMIN, SMALL_BODY, 0, srv_api_agent_revoke},
    {"POST", "/v1/agents/{}/readmit", SRV_ROLE_ADMIN, SMALL_BODY, 0, srv_api_agent_readmit},
    {"GET", "/v1/tokens", SRV_ROLE_ADMIN, NO_BODY, 0, srv_api_tokens},
    {"POST", "/v1/tokens/{}/revoke", SRV_ROLE_ADMIN, SMALL_BODY, 0, srv_api_token_revoke},
    {"POST", "/v1/tokens/{}/expire", SRV_ROLE_ADMIN, SMALL_BODY, 0, srv_api_token_expire},
    {"GET", "/v1/agents/{}/boot-changes", ROLES_READ, NO_BODY, 0, srv_api_agent_boot_changes},
    {"GET", "/v1/vendors/{}/boot-pins", ROLES_STAFF, NO_BODY, 0, srv_api_boot_pins_get},
    {"POST", "/v1/vendors/{}/boot-pins", SRV_ROLE_ADMIN, SMALL_BODY, 0, srv_api_boot_pin_add},
    {"DELETE", "/v1/vendors/{}/boot-pins/{}", SRV_ROLE_ADMIN, NO_BODY, 0, srv_api_boot_pin_remove},
    {"GET", "/v1/vendors/{}/oscal", ROLES_STAFF, NO_BODY, 0, srv_api_oscal},
    {"GET", "/v1/vendors/{}/evidence-pack", ROLES_STAFF, NO_BODY, 0, srv_api_evidence_pack},
    {"GET", "/v1/webhooks", SRV_ROLE_ADMIN, NO_BODY, 0, srv_api_webhooks},
    {"POST", "/v1/webhooks", SRV_ROLE_ADMIN, SMALL_BODY, 0, srv_api_webhook_add},
    {"DELETE", "/v1/webhooks/{}", SRV_ROLE_ADMIN, NO_BODY, 0, srv_api_webhook_remove},
    {"POST", "/v1/webhooks/{}/test", SRV_ROLE_ADMIN, SMALL_BODY, 0, srv_api_webhook_test},
    {"GET", "/v1/webhooks/{}/deliveries", SRV_ROLE_ADMIN, NO_BODY, 0, srv_api_webhook_deliveries},
};

/* Query parameters a route accepts; any other, or one given twice, is
 * refused with 400 bad_query_parameter. Routes not listed take none. */
#define ROUTE_QUERY_MAX 6

struct route_query {
    srv_handler_fn fn;
    const char *names[ROUTE_QUERY_MAX];
};

static const struct route_query route_queries[] = {
    {srv_api_agents, {"vendor", "status", "limit", "cursor", NULL, NULL}},
    {srv_api_agents_csv, {"vendor", "status", NULL, NULL, NULL, NULL}},
    {srv_api_fleet, {"vendor", NULL, NULL, NULL, NULL, NULL}},
    {srv_api_agent_reports, {"limit", "cursor", "from", "to", NULL, NULL}},
    {srv_api_agent_boot_changes, {"limit", NULL, NULL, NULL, NULL, NULL}},
    {srv_api_audit, {"action", "limit", "cursor", "from", "to", NULL}},
    {srv_api_oscal, {"from", "to", NULL, NULL, NULL, NULL}},
    {srv_api_enrollments, {"state", NULL, NULL, NULL, NULL, NULL}},
    {srv_api_webhook_deliveries, {"limit", NULL, NULL, NULL, NULL, NULL}},
    {srv_api_evidence_pack, {"from", "to", NULL, NULL, NULL, NULL}},
};

struct srv_http {
    struct MHD_Daemon *mhd;
    struct srv_guard *guard;
};

static struct srv_guard *guard_of(struct srv_ctx *ctx)
{
    struct srv_http *h = ctx->http;

    return h != NULL ? h->guard : NULL;
}

/* Per-request state kept by MHD between calls of the access handler. */
struct req_state {
    const struct route *route;
    struct srv_request req;
    struct da_buf body;
    int early_err; /* decided before the body was read */
    int body_err;  /* DA_ERR_TOO_LARGE while receiving */
    size_t received;
    bool chunked; /* Transfer-Encoding: chunked, no Content-Length */
    /* for the access log */
    int64_t start_ms;  /* wall clock */
    uint64_t start_us; /* monotonic */
    int status;
    uint64_t bytes;
    const char *code;        /* API code of a refusal */
    const char *disposition; /* Content-Disposition of the answer, or NULL */
    char method[16];         /* a copy: the log line is written after the answer */
};

static uint64_t clock_us(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool param_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n >= SRV_MAX_PARAM)
        return false;
    for (i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* A dashboard file name: lower-case letters, digits, '-', '.', not
 * starting with '.' (so never "." or ".."), no '/'. */
static bool file_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n >= SRV_MAX_PARAM || s[0] == '.')
        return false;
    for (i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* Match url against pattern, capturing {} segments (and {f}, a file
 * name) into params. */
static bool match(const char *pattern, const char *url, char params[2][SRV_MAX_PARAM])
{
    int np = 0;

    while (*pattern != '\0' && *url != '\0') {
        if (strncmp(pattern, "{f}", 3) == 0) {
            size_t n = strcspn(url, "/");

            if (np >= 2 || !file_ok(url, n))
                return false;
            memcpy(params[np], url, n);
            params[np][n] = '\0';
            np++;
            url += n;
            pattern += 3;
            continue;
        }
        if (pattern[0] == '{' && pattern[1] == '}') {
            size_t n = strcspn(url, "/");

            if (np >= 2 || !param_ok(url, n))
                return false;
            memcpy(params[np], url, n);
            params[np][n] = '\0';
            np++;
            url += n;
            pattern += 2;
            continue;
        }
        if (*pattern != *url)
            return false;
        pattern++;
        url++;
    }
    return *pattern == '\0' && *url == '\0';
}

/* The route for method and url; *err is DA_ERR_ROUTE or DA_ERR_METHOD. */
static const struct route *find_route(const char *method, const char *url,
                                      char params[2][SRV_MAX_PARAM], int *err)
{
    size_t i;

    *err = DA_ERR_ROUTE;
    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!match(routes[i].pattern, url, params))
            continue;
        if (strcmp(routes[i].method, method) == 0)
            return &routes[i];
        *err = DA_ERR_METHOD;
    }
    return NULL;
}

uint64_t srv_http_deadline_closed(struct srv_ctx *ctx)
{
    struct srv_guard *g = guard_of(ctx);

    return g != NULL ? srv_guard_cut_count(g) : 0;
}

const char *srv_request_query(const struct srv_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

int srv_respond_json(struct srv_response *resp, int status, cJSON *doc)
{
    char *text = doc != NULL ? cJSON_PrintUnformatted(doc) : NULL;

    cJSON_Delete(doc);
    if (text == NULL)
        return DA_ERR_NOMEM;
    free(resp->body);
    resp->body = text;
    resp->body_len = strlen(text);
    resp->status = status;
    resp->content_type = "application/json";
    return 0;
}

char *srv_error_body(int err, const char *message, size_t *len)
{
    cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
    char *text = NULL;

    if (e != NULL && cJSON_AddStringToObject(e, "code", da_err_code(err)) != NULL &&
        cJSON_AddStringToObject(e, "message",
                                message != NULL && message[0] != '\0' ? message
                                                                      : da_strerror(err)) != NULL)
        text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    *len = text != NULL ? strlen(text) : 0;
    return text;
}

/* close: the request was refused before its body was read, or its body
 * was dropped; the connection ends after the answer (RFC 9112 9.6). */
static enum MHD_Result send_body(struct MHD_Connection *conn, struct srv_ctx *ctx,
                                 struct req_state *rs, int status, char *body, size_t len,
                                 const char *ctype, bool close)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (body == NULL) {
        r = MHD_create_response_from_buffer(0, DA_UNCONST(""), MHD_RESPMEM_PERSISTENT);
        status = 500;
    } else {
        r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    }
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (rs->disposition != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION, rs->disposition);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    /* the dashboard page loads its own script and style and calls the API
     * of its own origin, nothing else; every other answer is inert */
    MHD_add_response_header(r, "Content-Security-Policy",
                            strncmp(ctype, "text/html", 9) == 0 ? UI_CSP : DATA_CSP);
    if (status == 401)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (close)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    if (status >= 500)
        atomic_fetch_add(&ctx->metrics.responses_5xx, 1);
    else if (status >= 400)
        atomic_fetch_add(&ctx->metrics.responses_4xx, 1);
    else
        atomic_fetch_add(&ctx->metrics.responses_2xx, 1);
    rs->status = status;
    rs->bytes = body != NULL ? len : 0;
    ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, struct srv_ctx *ctx,
                                  struct req_state *rs, int err, const char *message, bool close)
{
    size_t len = 0;
    char *body = srv_error_body(err, message, &len);

    rs->code = da_err_code(err);
    return send_body(conn, ctx, rs, da_err_http_status(err), body, len, "application/json", close);
}

static void client_address(struct MHD_Connection *conn, char *out, size_t size)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

    snprintf(out, size, "%s", "unknown");
    if (sa == NULL)
        return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)size);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)size);
}

/* The last-used time of a token is kept to the minute: at most one write
 * per token and minute, after an answer that succeeded (a refused request
 * changes nothing in the store); a failure to record it refuses nothing. */
#define TOKEN_TOUCH_S 60

static void note_token_use(struct srv_ctx *ctx, const struct srv_principal *who)
{
    int64_t now = srv_now();
    int rc;

    if (who->token_id[0] == '\0' || now - who->last_used_at < TOKEN_TOUCH_S)
        return;
    rc = srv_store_api_token_touch(ctx->store, who->token_id, now);
    if (rc != 0)
        da_warn_f("token %s: last use not recorded: %s", who->token_id, da_strerror(rc));
}

/* Bearer token -> principal, checked against the route's roles. */
static int authenticate(struct srv_ctx *ctx, struct MHD_Connection *conn, unsigned roles,
                        struct srv_principal *who)
{
    const char *h =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    unsigned char hash[DA_SHA256_LEN];
    size_t n;
    int rc;

    memset(who, 0, sizeof(*who));
    if (roles == PUBLIC)
        return 0;
    if (h == NULL)
        return DA_ERR_AUTH_MISSING;
    if (strncmp(h, "Bearer ", 7) != 0)
        return DA_ERR_AUTH_DENIED;
    h += 7;
    n = strlen(h);
    if (n == 0 || n > MAX_AUTH_HDR)
        return DA_ERR_AUTH_DENIED;
    rc = da_sha256(h, n, hash);
    if (rc == 0)
        rc = srv_store_api_token_find(ctx->store, hash, who);
    OPENSSL_cleanse(hash, sizeof(hash));
    if (rc == DA_ERR_NOT_FOUND)
        rc = DA_ERR_AUTH_DENIED;
    if (rc != 0)
        return rc;
    if ((who->role & roles) == 0)
        return DA_ERR_FORBIDDEN;
    return 0;
}

/* Failed authentications are counted and logged with the address (never
 * with the token; a known token is named by its public id). */
static void note_auth_failure(struct srv_ctx *ctx, const struct req_state *rs, int err)
{
    if (err == DA_ERR_AUTH_MISSING)
        atomic_fetch_add(&ctx->metrics.auth_missing, 1);
    else if (err == DA_ERR_FORBIDDEN)
        atomic_fetch_add(&ctx->metrics.auth_forbidden, 1);
    else if (err == DA_ERR_AUTH_DENIED || err == DA_ERR_API_TOKEN_REVOKED ||
             err == DA_ERR_API_TOKEN_EXPIRED)
        atomic_fetch_add(&ctx->metrics.auth_denied, 1);
    else
        return;
    da_warn_f("access refused from %s: %s %s: %s%s%s", rs->req.address, rs->req.method,
              rs->route->pattern, da_err_code(err),
              rs->req.who.token_id[0] != '\0' ? " token " : "", rs->req.who.token_id);
}

static bool is_json_type(const char *ct)
{
    size_t n = strlen("application/json");

    if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
        return false;
    ct += n;
    while (*ct == ' ')
        ct++;
    return *ct == '\0' || *ct == ';';
}

struct query_check {
    const char *const *names;
    unsigned seen; /* bit per name */
    int err;
};

static enum MHD_Result check_one_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    struct query_check *q = cls;
    unsigned i;

    (void)kind;
    (void)value;
    for (i = 0; q->names != NULL && i < ROUTE_QUERY_MAX && q->names[i] != NULL; i++) {
        if (strcmp(q->names[i], key) != 0)
            continue;
        if (q->seen & (1u << i))
            break; /* repeated: which one would count is a guess */
        q->seen |= 1u << i;
        return MHD_YES;
    }
    q->err = DA_ERR_HTTP_QUERY;
    return MHD_NO;
}

static int check_query(struct MHD_Connection *conn, const struct route *route)
{
    struct query_check q = {NULL, 0, 0};
    size_t i;

    for (i = 0; i < sizeof(route_queries) / sizeof(route_queries[0]); i++) {
        if (route_queries[i].fn == route->fn)
            q.names = route_queries[i].names;
    }
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, check_one_query, &q);
    return q.err;
}

/* Decide everything that can be decided from the headers alone. */
static int admit(struct srv_ctx *ctx, struct MHD_Connection *conn, struct req_state *rs,
                 const char *method)
{
    const char *cl, *ct;
    int rc;

    if (atomic_load(&ctx->stopping))
        return DA_ERR_UNAVAILABLE;
    if (!srv_ratelimit_take(ctx->rl_address, rs->req.address, srv_mono_ms())) {
        atomic_fetch_add(&ctx->metrics.rate_limited, 1);
        return DA_ERR_RATE_LIMITED;
    }
    if (rs->route == NULL)
        return DA_ERR_ROUTE;
    /* Per-agent budgets are spent in the handlers, once a request proved
     * which agent it comes from (api_report.c). */
    rc = authenticate(ctx, conn, rs->route->roles, &rs->req.who);
    if (rc != 0) {
        note_auth_failure(ctx, rs, rc);
        return rc;
    }
    cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl != NULL) {
        char *end = NULL;
        unsigned long long n;

        errno = 0;
        n = strtoull(cl, &end, 10);
        if (errno != 0 || end == cl || *end != '\0')
            return DA_ERR_INVALID_ARG;
        if (n > rs->route->body_cap + (size_t)DISCARD_SLACK)
            return DA_ERR_TOO_LARGE;
        if (n > rs->route->body_cap)
            rs->body_err = DA_ERR_TOO_LARGE; /* answered once the body is drained */
    }
    if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!is_json_type(ct))
            return DA_ERR_CONTENT_TYPE;
    }
    return 0;
}

static enum MHD_Result run_handler(struct srv_ctx *ctx, struct MHD_Connection *conn,
                                   struct req_state *rs)
{
    struct srv_response resp;
    int rc;

    memset(&resp, 0, sizeof(resp));
    rs->req.body = da_buf_str(&rs->body);
    rs->req.body_len = da_buf_len(&rs->body);
    rc = rs->route->fn(&rs->req, &resp);
    if (rc != 0) {
        free(resp.body);
        if (da_err_http_status(rc) >= 500)
            da_error_f("%s %s: %s", rs->req.method, rs->req.url, da_strerror(rc));
        return send_error(conn, ctx, rs, rc, resp.message, false);
    }
    if (resp.status < 400)
        note_token_use(ctx, &rs->req.who);
    rs->disposition = resp.disposition;
    return send_body(conn, ctx, rs, resp.status, resp.body, resp.body_len,
                     resp.content_type != NULL ? resp.content_type : "application/json", false);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct srv_ctx *ctx = cls;
    struct req_state *rs = *con_cls;
    int err;

    if (rs == NULL) {
        rs = calloc(1, sizeof(*rs));
        if (rs == NULL)
            return MHD_NO;
        *con_cls = rs;
        rs->start_us = clock_us(CLOCK_MONOTONIC);
        rs->start_ms = (int64_t)(clock_us(CLOCK_REALTIME) / 1000u);
        atomic_fetch_add(&ctx->inflight, 1);
        atomic_fetch_add(&ctx->metrics.requests, 1);
        rs->req.srv = ctx;
        rs->req.method = method;
        snprintf(rs->method, sizeof(rs->method), "%s", method);
        rs->req.url = url;
        rs->req.conn = conn;
        client_address(conn, rs->req.address, sizeof(rs->req.address));
        rs->route = find_route(method, url, rs->req.param, &err);
        /* framing first: nothing else may be read from an ambiguous request */
        rs->early_err = srv_guard_request_head(
            guard_of(ctx), conn, version,
            rs->route != NULL ? rs->route->body_cap + (size_t)DISCARD_SLACK : 0, &rs->chunked);
        if (rs->early_err == 0) {
            rs->early_err = admit(ctx, conn, rs, method);
            if (rs->early_err == DA_ERR_ROUTE)
                rs->early_err = err;
        }
        if (rs->early_err == 0)
            rs->early_err = check_query(conn, rs->route);
        da_buf_init(&rs->body, rs->route != NULL ? rs->route->body_cap : 0);
        if (rs->early_err != 0) {
            srv_guard_request_received(guard_of(ctx), conn);
            return send_error(conn, ctx, rs, rs->early_err, NULL, true);
        }
        return MHD_YES;
    }
    if (rs->early_err != 0) {
        *upload_data_size = 0; /* answered already; the rest is discarded */
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        rs->received += *upload_data_size;
        if (rs->body_err == 0)
            rs->body_err = da_buf_append(&rs->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        /* a chunked body is dropped to its end (the body deadline bounds
         * it) so that it gets its 413; a declared length was checked */
        if (rs->body_err != 0 && !rs->chunked &&
            rs->received > rs->route->body_cap + (size_t)DISCARD_SLACK)
            return MHD_NO;
        return MHD_YES;
    }
    srv_guard_request_received(guard_of(ctx), conn);
    if (rs->body_err != 0)
        return send_error(conn, ctx, rs, rs->body_err, NULL, true);
    return run_handler(ctx, conn, rs);
}

/* One access log line per request, answered or not (status 0: the
 * connection ended before an answer was queued). */
static void log_access(struct srv_ctx *ctx, const struct req_state *rs)
{
    struct srv_access_entry e;
    char principal[SRV_MAX_NAME + 16] = "";

    if (ctx->access_log == NULL)
        return;
    if (rs->req.who.role != SRV_ROLE_NONE)
        snprintf(principal, sizeof(principal), "%s:%s", srv_role_name(rs->req.who.role),
                 rs->req.who.label);
    e.time_ms = rs->start_ms;
    e.address = rs->req.address;
    e.method = rs->method;
    e.route = rs->route != NULL ? rs->route->pattern : "-";
    e.status = rs->status;
    e.bytes = rs->bytes;
    e.duration_us = clock_us(CLOCK_MONOTONIC) - rs->start_us;
    e.principal = principal;
    e.code = rs->code != NULL ? rs->code : "";
    srv_access_log_write(ctx->access_log, &e);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct srv_ctx *ctx = cls;
    struct req_state *rs = *con_cls;

    if (ctx->http != NULL && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        srv_guard_request_done(guard_of(ctx), conn);
    if (rs == NULL)
        return;
    log_access(ctx, rs);
    da_buf_free(&rs->body);
    free(rs);
    *con_cls = NULL;
    atomic_fetch_sub(&ctx->inflight, 1);
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[DA_MAX_LOG_LINE];
    size_t n;

    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n > 0 && line[n - 1] == '\n')
        line[--n] = '\0';
    da_log_msg(DA_LOG_DEBUG, "libmicrohttpd", "%s", line);
}

static int make_sockaddr(const char *addr, unsigned port, struct sockaddr_storage *ss)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        return AF_INET;
    }
    if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        return AF_INET6;
    }
    return -1;
}

#define OPT(o, v, p) ((struct MHD_OptionItem){(o), (intptr_t)(v), (p)})

int srv_http_start(struct srv_ctx *ctx, unsigned *port)
{
    struct srv_http *h;
    struct sockaddr_storage ss;
    struct srv_guard_limits lim;
    struct MHD_OptionItem opts[16];
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG, n = 0;
    const union MHD_DaemonInfo *info;
    int family, rc;

    *port = 0;
    family = make_sockaddr(ctx->cfg.listen_address, ctx->cfg.port, &ss);
    if (family < 0)
        return DA_ERR_CONFIG;
    if (family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* poll/epoll, never select: descriptors above FD_SETSIZE stay usable */
    if (ctx->cfg.http_threads == 0)
        flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
    else
        flags |= MHD_USE_EPOLL;
    if (!ctx->cfg.plain_http) {
        if (ctx->keys->tls_cert_pem == NULL || ctx->keys->tls_key_pem == NULL)
            return DA_ERR_CONFIG;
        flags |= MHD_USE_TLS;
    }
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        return DA_ERR_NOMEM;
    lim.head_ms = ctx->cfg.request_head_timeout_s * 1000u;
    lim.body_base_ms = ctx->cfg.request_body_timeout_s * 1000u;
    lim.body_min_rate = ctx->cfg.request_body_min_rate;
    rc = srv_guard_new(&lim, &h->guard);
    if (rc != 0) {
        free(h);
        return rc;
    }
    opts[n++] = OPT(MHD_OPTION_EXTERNAL_LOGGER, mhd_log, ctx); /* first: it logs the others */
    opts[n++] = OPT(MHD_OPTION_SOCK_ADDR, 0, &ss);
    opts[n++] = OPT(MHD_OPTION_CONNECTION_LIMIT, ctx->cfg.max_connections, NULL);
    opts[n++] = OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, ctx->cfg.max_connections_per_address, NULL);
    opts[n++] = OPT(MHD_OPTION_CONNECTION_TIMEOUT, ctx->cfg.connection_timeout_s, NULL);
    opts[n++] = OPT(MHD_OPTION_NOTIFY_COMPLETED, on_completed, ctx);
    opts[n++] = OPT(MHD_OPTION_NOTIFY_CONNECTION, srv_guard_notify, h->guard);
    opts[n++] = OPT(MHD_OPTION_UNESCAPE_CALLBACK, srv_guard_unescape, h->guard);
    if (ctx->cfg.http_threads > 1)
        opts[n++] = OPT(MHD_OPTION_THREAD_POOL_SIZE, ctx->cfg.http_threads, NULL);
    if (!ctx->cfg.plain_http) {
        /* libmicrohttpd takes these as void * and only reads them */
        opts[n++] = OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, DA_UNCONST(ctx->keys->tls_cert_pem));
        opts[n++] = OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, DA_UNCONST(ctx->keys->tls_key_pem));
        opts[n++] = OPT(MHD_OPTION_HTTPS_PRIORITIES, 0,
                        DA_UNCONST("NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"));
    }
    opts[n++] = OPT(MHD_OPTION_END, 0, NULL);
    ctx->http = h; /* requests may arrive before MHD_start_daemon returns */
    h->mhd = MHD_start_daemon(flags, (uint16_t)ctx->cfg.port, NULL, NULL, on_request, ctx,
                              MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (h->mhd == NULL) {
        da_error_f("cannot listen on %s port %u", ctx->cfg.listen_address, ctx->cfg.port);
        ctx->http = NULL;
        srv_guard_free(h->guard);
        free(h);
        return DA_ERR_IO;
    }
    info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
    *port = info != NULL ? info->port : ctx->cfg.port;
    da_info_f("listening on %s port %u (%s)", ctx->cfg.listen_address, *port,
              ctx->cfg.plain_http ? "plain HTTP, loopback only" : "TLS");
    return 0;
}

void srv_http_stop(struct srv_ctx *ctx, unsigned grace_ms)
{
    struct srv_http *h = ctx->http;
    struct timespec ts = {0, 10 * 1000 * 1000};
    unsigned waited = 0;
    MHD_socket fd;

    if (h == NULL)
        return;
    atomic_store(&ctx->stopping, true);
    fd = MHD_quiesce_daemon(h->mhd);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    while (atomic_load(&ctx->inflight) > 0 && waited < grace_ms) {
        nanosleep(&ts, NULL);
        waited += 10;
    }
    MHD_stop_daemon(h->mhd);
    srv_guard_free(h->guard);
    free(h);
    ctx->http = NULL;
}

#include "transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "caps.h"
#include "curl_dl.h"
#include "err.h"
#include "file.h"
#include "json.h"
#include "log.h"
#include "picky.h"

struct agent_transport {
    CURL *h;
    char *base;
    size_t max_answer;
    struct da_buf *sink;
    int over_cap;
    char curl_err[CURL_ERROR_SIZE];
    char err[768];
    char server_code[64];
    long last_status;
    struct da_buf ca_pem; /* the pinned CA, read at start */
};

static int global_init(void)
{
    const struct agent_curl *c;

    return agent_curl_load(&c);
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct agent_transport *t = ud;
    size_t n = size * nmemb;

    if (da_buf_append(t->sink, p, n) != 0) {
        t->over_cap = 1;
        return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
    }
    return n;
}

#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (agent_curl()->easy_setopt(t->h, opt, val) != CURLE_OK) {                               \
            da_error_f("curl option %s could not be set", #opt);                                   \
            r = DA_ERR_INTERNAL;                                                                   \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

static int set_fixed_options(struct agent_transport *t, const struct agent_transport_opts *o)
{
    long connect_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 10000;
    long total_ms = o->total_timeout_ms > 0 ? o->total_timeout_ms : 60000;
    long slow_bytes = o->low_speed_bytes > 0 ? o->low_speed_bytes : 64;
    long slow_s = o->low_speed_time_s > 0 ? o->low_speed_time_s : 15;
    int r = 0;

    SET(CURLOPT_ERRORBUFFER, t->curl_err);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, o->allow_http ? "http,https" : "https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (o->ca_file != NULL && strcmp(o->ca_file, "system") != 0) {
        struct curl_blob blob;

        /* Only the pinned CA: no directory of system certificates. It is
         * read now, while the file is reachable: curl would read it at
         * each connection, after the uploader has lost access to it. */
        r = da_file_read(o->ca_file, DA_MAX_EK_CERT_FILE, &t->ca_pem);
        if (r != 0) {
            snprintf(t->err, sizeof(t->err), "server_ca %s cannot be read: %s", o->ca_file,
                     da_strerror(r));
            da_error_f("%s", t->err);
            goto out;
        }
        blob.data = DA_UNCONST(da_buf_data(&t->ca_pem)); /* NOCOPY: curl only reads */
        blob.len = da_buf_len(&t->ca_pem);
        blob.flags = CURL_BLOB_NOCOPY;
        SET(CURLOPT_CAINFO_BLOB, &blob);
        SET(CURLOPT_CAINFO, (char *)NULL);
        SET(CURLOPT_CAPATH, (char *)NULL);
    }
    SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    SET(CURLOPT_TIMEOUT_MS, total_ms);
    SET(CURLOPT_LOW_SPEED_LIMIT, slow_bytes);
    SET(CURLOPT_LOW_SPEED_TIME, slow_s);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_USERAGENT, "devattest-agent/" DA_VERSION);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, t);
out:
    return r;
}

int agent_transport_new(const struct agent_transport_opts *opts, struct agent_transport **out)
{
    struct agent_transport *t;
    size_t blen;
    int r;

    *out = NULL;
    if (opts == NULL || opts->base_url == NULL)
        return DA_ERR_INVALID_ARG;
    if (opts->ca_file == NULL) {
        da_error_f("no CA file: the server's CA must be pinned (or \"system\" configured)");
        return DA_ERR_CONFIG;
    }
    r = global_init();
    if (r != 0)
        return r;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return DA_ERR_NOMEM;
    blen = strlen(opts->base_url);
    while (blen > 0 && opts->base_url[blen - 1] == '/')
        blen--;
    t->base = strndup(opts->base_url, blen);
    t->max_answer = opts->max_answer != 0 ? opts->max_answer : AGENT_TRANSPORT_MAX_ANSWER;
    t->h = agent_curl()->easy_init();
    if (t->base == NULL || t->h == NULL) {
        agent_transport_free(t);
        return DA_ERR_NOMEM;
    }
    r = set_fixed_options(t, opts);
    if (r != 0) {
        agent_transport_free(t);
        return r;
    }
    *out = t;
    return 0;
}

void agent_transport_free(struct agent_transport *t)
{
    if (t == NULL)
        return;
    if (t->h != NULL)
        agent_curl()->easy_cleanup(t->h);
    da_buf_free(&t->ca_pem);
    free(t->base);
    free(t);
}

const char *agent_transport_error(const struct agent_transport *t)
{
    return t->err;
}

const char *agent_transport_server_code(const struct agent_transport *t)
{
    return t->server_code;
}

bool agent_transport_retryable(const struct agent_transport *t, int err)
{
    switch (err) {
    case DA_ERR_TRANSPORT:
    case DA_ERR_TIMEOUT:
    case DA_ERR_TLS:
    case DA_ERR_SERVER_RESPONSE:
        return true;
    case DA_ERR_SERVER_REJECTED:
        return t->last_status >= 500 || t->last_status == 429 || t->last_status == 408;
    default:
        return false;
    }
}

/* Server-controlled text, made safe to print: printable ASCII, bounded. */
static void copy_printable(char *dst, size_t size, const char *src)
{
    size_t i = 0;

    for (; src != NULL && *src != '\0' && i + 1 < size; src++)
        dst[i++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
    dst[i] = '\0';
}

static int map_curl_error(struct agent_transport *t, CURLcode rc)
{
    const char *detail = t->curl_err[0] != '\0' ? t->curl_err : agent_curl()->easy_strerror(rc);
    char d[CURL_ERROR_SIZE];

    copy_printable(d, sizeof(d), detail);
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(t->err, sizeof(t->err), "no complete answer from %s in time: %s", t->base, d);
        return DA_ERR_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED:
        snprintf(t->err, sizeof(t->err),
                 "TLS with %s failed: %s (is server_ca the CA that issued the server's "
                 "certificate?)",
                 t->base, d);
        return DA_ERR_TLS;
    case CURLE_WRITE_ERROR:
        if (t->over_cap) {
            snprintf(t->err, sizeof(t->err), "answer from %s is larger than %zu bytes", t->base,
                     t->max_answer);
            return DA_ERR_SERVER_RESPONSE;
        }
        break;
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        snprintf(t->err, sizeof(t->err),
                 "connection to %s closed before the answer was complete: %s", t->base, d);
        return DA_ERR_TRANSPORT;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        snprintf(t->err, sizeof(t->err), "server URL %s cannot be used: %s", t->base, d);
        return DA_ERR_CONFIG;
    default:
        break;
    }
    snprintf(t->err, sizeof(t->err), "cannot reach %s: %s", t->base, d);
    return DA_ERR_TRANSPORT;
}

/* {"error":{"code":"...","message":"..."}} from a rejection, if present. */
static void describe_rejection(struct agent_transport *t, const struct da_buf *body)
{
    cJSON *tree = NULL;
    const cJSON *e = NULL;
    const char *code = NULL, *msg = NULL;
    char c[64] = "", m[256] = "";

    if (da_json_parse(da_buf_str(body), da_buf_len(body), t->max_answer, &tree) == 0 &&
        da_json_get_object(tree, "error", &e) == 0) {
        (void)da_json_get_string(e, "code", &code);
        (void)da_json_get_string(e, "message", &msg);
    }
    copy_printable(c, sizeof(c), code);
    copy_printable(m, sizeof(m), msg);
    snprintf(t->server_code, sizeof(t->server_code), "%s", c);
    if (c[0] != '\0')
        snprintf(t->err, sizeof(t->err), "server rejected the request: HTTP %ld %s%s%s",
                 t->last_status, c, m[0] != '\0' ? ": " : "", m);
    else
        snprintf(t->err, sizeof(t->err),
                 "server rejected the request: HTTP %ld (the answer carries no error details)",
                 t->last_status);
    cJSON_Delete(tree);
}

static int build_headers(const char *const *extra, int has_body, struct curl_slist **out)
{
    struct curl_slist *l = NULL, *n;
    const char *fixed[] = {"Accept: application/json", has_body ? "Expect:" : NULL};
    size_t i;

    *out = NULL;
    for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        if (fixed[i] == NULL)
            continue;
        n = agent_curl()->slist_append(l, fixed[i]);
        if (n == NULL)
            goto fail;
        l = n;
    }
    for (; extra != NULL && *extra != NULL; extra++) {
        if (strpbrk(*extra, "\r\n") != NULL)
            goto fail;
        n = agent_curl()->slist_append(l, *extra);
        if (n == NULL)
            goto fail;
        l = n;
    }
    *out = l;
    return 0;
fail:
    agent_curl()->slist_free_all(l);
    return DA_ERR_INVALID_ARG;
}

static int set_request(struct agent_transport *t, const char *method, const char *url,
                       struct curl_slist *hdrs, const void *body, size_t len)
{
    int r = 0;

    SET(CURLOPT_URL, url);
    SET(CURLOPT_HTTPHEADER, hdrs);
    SET(CURLOPT_CUSTOMREQUEST, (char *)NULL);
    SET(CURLOPT_HTTPGET, 1L);
    if (strcmp(method, "GET") != 0) {
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDS, body != NULL ? body : "");
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        if (strcmp(method, "POST") != 0)
            SET(CURLOPT_CUSTOMREQUEST, method);
    }
out:
    return r;
}

int agent_transport_request(struct agent_transport *t, const char *method, const char *path,
                            const char *const *headers, const void *body, size_t len, long *status,
                            struct da_buf *answer)
{
    struct curl_slist *hdrs = NULL;
    struct da_buf url;
    CURLcode rc;
    int r;

    *status = 0;
    t->err[0] = '\0';
    t->server_code[0] = '\0';
    t->curl_err[0] = '\0';
    t->last_status = 0;
    t->over_cap = 0;
    da_buf_free(answer);
    da_buf_init(answer, t->max_answer);
    if (path == NULL || path[0] != '/' || method == NULL)
        return DA_ERR_INVALID_ARG;
    da_buf_init(&url, 8192);
    r = da_buf_printf(&url, "%s%s", t->base, path);
    if (r == 0)
        r = build_headers(headers, body != NULL, &hdrs);
    if (r == 0)
        r = set_request(t, method, da_buf_str(&url), hdrs, body, len);
    if (r != 0)
        goto out;
    t->sink = answer;
    rc = agent_curl()->easy_perform(t->h);
    t->sink = NULL;
    (void)agent_curl()->easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &t->last_status);
    *status = t->last_status;
    if (rc != CURLE_OK) {
        r = map_curl_error(t, rc);
    } else if (t->last_status >= 400) {
        describe_rejection(t, answer);
        r = DA_ERR_SERVER_REJECTED;
    } else if (t->last_status < 200 || t->last_status >= 300) {
        snprintf(t->err, sizeof(t->err), "unexpected HTTP status %ld from %s", t->last_status,
                 t->base);
        r = DA_ERR_SERVER_RESPONSE;
    }
    if (r != 0)
        da_debug_f("%s %s: %s", method, path, t->err);
out:
    agent_curl()->easy_setopt(t->h, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    agent_curl()->slist_free_all(hdrs);
    da_buf_free(&url);
    return r;
}

int agent_transport_json(struct agent_transport *t, const char *method, const char *path,
                         const char *const *headers, const char *json_body, long *status,
                         cJSON **answer)
{
    const char *all[18];
    struct da_json_error je;
    struct da_buf body;
    size_t n = 0;
    int r;

    *answer = NULL;
    if (json_body != NULL)
        all[n++] = "Content-Type: application/json";
    for (; headers != NULL && *headers != NULL; headers++) {
        if (n + 1 >= sizeof(all) / sizeof(all[0]))
            return DA_ERR_INVALID_ARG;
        all[n++] = *headers;
    }
    all[n] = NULL;
    da_buf_init(&body, 0);
    r = agent_transport_request(t, method, path, all, json_body,
                                json_body != NULL ? strlen(json_body) : 0, status, &body);
    if (r == 0) {
        r = da_json_parse_ex(da_buf_str(&body), da_buf_len(&body), t->max_answer, answer, &je);
        if (r == 0 && !cJSON_IsObject(*answer)) {
            cJSON_Delete(*answer);
            *answer = NULL;
            snprintf(t->err, sizeof(t->err), "answer from %s is JSON but not an object", t->base);
            r = DA_ERR_SERVER_RESPONSE;
        } else if (r != 0) {
            snprintf(t->err, sizeof(t->err), "answer from %s is not valid JSON (%d:%d: %s)",
                     t->base, je.line, je.col, je.reason != NULL ? je.reason : "?");
            r = DA_ERR_SERVER_RESPONSE;
        }
    }
    da_buf_free(&body);
    return r;
}

/* Webhook endpoints in the API: add, list, remove, test, delivery log
 * (admin only; docs/internals/webhooks.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "api.h"
#include "encoding.h"
#include "err.h"
#include "json.h"
#include "render.h"
#include "token.h"
#include "webhook.h"

#define DELIVERIES_DEFAULT 100
#define DELIVERIES_MAX     1000
#define WEBHOOK_SECRET_MIN 16 /* characters of a caller's own secret */

static int render_webhook(const struct srv_webhook *w, bool with_secret, cJSON **out)
{
    cJSON *o = cJSON_CreateObject(), *ev = NULL;
    char ts[32], events[sizeof(w->events)], *save = NULL, *k;

    *out = NULL;
    srv_time_rfc3339(w->created_at, ts);
    snprintf(events, sizeof(events), "%s", w->events);
    if (o == NULL || cJSON_AddStringToObject(o, "id", w->id) == NULL ||
        cJSON_AddStringToObject(o, "url", w->url) == NULL ||
        (ev = cJSON_AddArrayToObject(o, "events")) == NULL ||
        cJSON_AddStringToObject(o, "created_at", ts) == NULL ||
        (with_secret && cJSON_AddStringToObject(o, "secret", w->secret) == NULL)) {
        cJSON_Delete(o);
        return DA_ERR_NOMEM;
    }
    for (k = strtok_r(events, ",", &save); k != NULL; k = strtok_r(NULL, ",", &save)) {
        if (!cJSON_AddItemToArray(ev, cJSON_CreateString(k))) {
            cJSON_Delete(o);
            return DA_ERR_NOMEM;
        }
    }
    *out = o;
    return 0;
}

/* events: a non-empty array of known, distinct kinds -> "a,b,c". */
static int parse_events(const cJSON *arr, char *out, size_t size, struct srv_response *resp)
{
    const cJSON *e;
    size_t o = 0;

    out[0] = '\0';
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
        goto bad;
    cJSON_ArrayForEach(e, arr)
    {
        const cJSON *p;
        int n;

        if (!cJSON_IsString(e) || !srv_webhook_kind_known(e->valuestring))
            goto bad;
        for (p = arr->child; p != e; p = p->next) {
            if (strcmp(p->valuestring, e->valuestring) == 0)
                goto bad;
        }
        n = snprintf(out + o, size - o, "%s%s", o > 0 ? "," : "", e->valuestring);
        if (n < 0 || (size_t)n >= size - o)
            goto bad;
        o += (size_t)n;
    }
    return 0;
bad:
    snprintf(resp->message, sizeof(resp->message),
             "events must be a non-empty list of distinct known event kinds");
    return DA_ERR_WEBHOOK_INVALID;
}

static int new_secret(char out[65])
{
    unsigned char raw[32];
    int rc = RAND_bytes(raw, sizeof(raw)) == 1 ? 0 : DA_ERR_CRYPTO;

    if (rc == 0)
        rc = da_hex_encode_to(raw, sizeof(raw), out, 65);
    OPENSSL_cleanse(raw, sizeof(raw));
    return rc;
}

/* Body {"url", "events": [...], "secret"?}; answers the endpoint with its
 * secret, the only time the secret is shown. */
int srv_api_webhook_add(struct srv_request *req, struct srv_response *resp)
{
    static const char *const allowed[] = {"url", "events", "secret", NULL};
    struct srv_webhook w;
    const char *url = NULL, *secret = NULL;
    cJSON *root = NULL, *o = NULL;
    int rc = srv_parse_body(req, resp, &root);

    memset(&w, 0, sizeof(w));
    if (rc == 0)
        rc = srv_json_only_keys(root, allowed, resp);
    if (rc == 0 && da_json_get_string(root, "url", &url) != 0) {
        snprintf(resp->message, sizeof(resp->message), "url is required");
        rc = DA_ERR_WEBHOOK_INVALID;
    }
    if (rc == 0 && (rc = srv_webhook_url_check(url)) != 0)
        snprintf(resp->message, sizeof(resp->message),
                 "url must be https://, or http:// to a loopback address");
    if (rc == 0)
        rc = parse_events(cJSON_GetObjectItemCaseSensitive(root, "events"), w.events,
                          sizeof(w.events), resp);
    if (rc == 0 && cJSON_GetObjectItemCaseSensitive(root, "secret") != NULL &&
        (da_json_get_string(root, "secret", &secret) != 0 || strlen(secret) < WEBHOOK_SECRET_MIN ||
         strlen(secret) >= sizeof(w.secret))) {
        snprintf(resp->message, sizeof(resp->message), "secret must be %d to %zu characters",
                 WEBHOOK_SECRET_MIN, sizeof(w.secret) - 1);
        rc = DA_ERR_WEBHOOK_INVALID;
    }
    if (rc == 0) {
        snprintf(w.url, sizeof(w.url), "%s", url);
        if (secret != NULL)
            snprintf(w.secret, sizeof(w.secret), "%s", secret);
        else
            rc = new_secret(w.secret);
    }
    if (rc == 0)
        rc = srv_random_id(w.id);
    w.created_at = srv_now();
    if (rc == 0)
        rc = srv_store_webhook_add(req->srv->store, &w);
    if (rc == 0)
        rc = render_webhook(&w, true, &o);
    cJSON_Delete(root);
    if (rc == 0)
        srv_audit(req->srv, req->who.label, "webhook_added", w.id, 0, w.url);
    OPENSSL_cleanse(w.secret, sizeof(w.secret));
    return rc != 0 ? rc : srv_respond_json(resp, 201, o);
}

static int add_webhook(const struct srv_webhook *w, void *arg)
{
    cJSON *o = NULL;
    int rc = render_webhook(w, false, &o);

    return rc != 0 ? rc : cJSON_AddItemToArray(arg, o) ? 0 : DA_ERR_NOMEM;
}

int srv_api_webhooks(struct srv_request *req, struct srv_response *resp)
{
    cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "webhooks");
    int rc =
        arr != NULL ? srv_store_webhooks_list(req->srv->store, add_webhook, arr) : DA_ERR_NOMEM;

    if (rc != 0) {
        cJSON_Delete(doc);
        return rc;
    }
    return srv_respond_json(resp, 200, doc);
}

int srv_api_webhook_remove(struct srv_request *req, struct srv_response *resp)
{
    int rc = srv_store_webhook_remove(req->srv->store, req->param[0]);
    cJSON *o;

    if (rc != 0)
        return rc;
    srv_audit(req->srv, req->who.label, "webhook_removed", req->param[0], 0, "");
    o = cJSON_CreateObject();
    if (o == NULL || cJSON_AddStringToObject(o, "removed", req->param[0]) == NULL) {
        cJSON_Delete(o);
        return DA_ERR_NOMEM;
    }
    return srv_respond_json(resp, 200, o);
}

/* Queue a webhook.test event to this endpoint only. */
int srv_api_webhook_test(struct srv_request *req, struct srv_response *resp)
{
    struct srv_webhook w;
    cJSON *d, *o;
    int rc = srv_store_webhook_get(req->srv->store, req->param[0], &w);

    OPENSSL_cleanse(w.secret, sizeof(w.secret));
    if (rc != 0)
        return rc;
    d = cJSON_CreateObject();
    if (d == NULL || cJSON_AddStringToObject(d, "message", "test event") == NULL) {
        cJSON_Delete(d);
        return DA_ERR_NOMEM;
    }
    rc = srv_webhook_emit(req->srv, w.id, SRV_EVENT_TEST, NULL, d);
    if (rc != 0)
        return rc;
    o = cJSON_CreateObject();
    if (o == NULL || cJSON_AddStringToObject(o, "webhook_id", w.id) == NULL ||
        cJSON_AddStringToObject(o, "event", SRV_EVENT_TEST) == NULL) {
        cJSON_Delete(o);
        return DA_ERR_NOMEM;
    }
    return srv_respond_json(resp, 202, o);
}

static int add_delivery(const struct srv_webhook_delivery *d, void *arg)
{
    cJSON *o = cJSON_CreateObject(), *attempts = NULL, *a;
    char ts[32], next[32];

    srv_time_rfc3339(d->created_at, ts);
    srv_time_rfc3339(d->next_at, next);
    if (d->attempts_json != NULL)
        da_json_parse(d->attempts_json, strlen(d->attempts_json), 1024 * 1024, &attempts);
    if (attempts == NULL)
        attempts = cJSON_CreateArray();
    /* attempt times as RFC 3339 like every other time in the API */
    cJSON_ArrayForEach(a, attempts)
    {
        cJSON *at = cJSON_GetObjectItemCaseSensitive(a, "at");
        char t[32];

        if (cJSON_IsNumber(at)) {
            srv_time_rfc3339((int64_t)at->valuedouble, t);
            cJSON_ReplaceItemInObjectCaseSensitive(a, "at", cJSON_CreateString(t));
        }
    }
    if (o == NULL || !cJSON_AddItemToArray(arg, o) ||
        cJSON_AddNumberToObject(o, "id", (double)d->id) == NULL ||
        cJSON_AddStringToObject(o, "event", d->event) == NULL ||
        cJSON_AddStringToObject(o, "state", d->state) == NULL ||
        cJSON_AddStringToObject(o, "created_at", ts) == NULL ||
        (strcmp(d->state, "pending") == 0 && cJSON_AddStringToObject(o, "next_at", next) == NULL) ||
        cJSON_AddNumberToObject(o, "attempt_count", d->attempts) == NULL ||
        !cJSON_AddItemToObject(o, "attempts", attempts)) {
        return DA_ERR_NOMEM;
    }
    return 0;
}

int srv_api_webhook_deliveries(struct srv_request *req, struct srv_response *resp)
{
    const char *s = srv_request_query(req, "limit");
    struct srv_webhook w;
    cJSON *doc, *arr;
    long limit = DELIVERIES_DEFAULT;
    char *end = NULL;
    int rc;

    if (s != NULL) {
        limit = strtol(s, &end, 10);
        if (end == s || *end != '\0' || limit < 1 || limit > DELIVERIES_MAX) {
            snprintf(resp->message, sizeof(resp->message), "limit must be 1..%d", DELIVERIES_MAX);
            return DA_ERR_INVALID_ARG;
        }
    }
    rc = srv_store_webhook_get(req->srv->store, req->param[0], &w);
    OPENSSL_cleanse(w.secret, sizeof(w.secret));
    if (rc != 0)
        return rc;
    doc = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(doc, "deliveries");
    rc = arr != NULL && cJSON_AddStringToObject(doc, "webhook_id", w.id) != NULL
             ? srv_store_webhook_deliveries(req->srv->store, w.id, (unsigned)limit, add_delivery,
                                            arr)
             : DA_ERR_NOMEM;
    if (rc != 0) {
        cJSON_Delete(doc);
        return rc;
    }
    return srv_respond_json(resp, 200, doc);
}

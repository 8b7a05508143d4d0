/* Webhook events and their delivery worker (webhook.h). */
#include "webhook.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "encoding.h"
#include "err.h"
#include "log.h"
#include "server.h"
#include "store.h"
#include "token.h"
#include "picky.h"

#define WEBHOOK_BATCH      16   /* deliveries taken per pass */
#define WEBHOOK_POLL_MS    1000 /* the queue is looked at this often when idle */
#define WEBHOOK_ANSWER_MAX 4096 /* bytes of an answer kept for the log */
#define FAILURE_SLOTS      256  /* agents whose refusals are counted at once */

struct failure_slot {
    char agent_id[SRV_ID_HEX];
    int64_t window_start;
    unsigned count;
};

struct srv_webhooks {
    struct srv_ctx *ctx;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    bool kicked;
    struct failure_slot failures[FAILURE_SLOTS];
    atomic_uint_fast64_t delivered;
    atomic_uint_fast64_t failed;
};

/* A due delivery copied out of the store's callback. */
struct due {
    int64_t id;
    char url[512];
    char secret[65];
    char event[48];
    int64_t created_at;
    int attempts;
    char *body;
};

struct due_list {
    struct due d[WEBHOOK_BATCH];
    size_t n;
};

static const char *const kinds[] = {SRV_EVENT_COMPLIANCE, SRV_EVENT_STALE,   SRV_EVENT_IDENTITY,
                                    SRV_EVENT_BOOT,       SRV_EVENT_REVOKED, SRV_EVENT_FAILURES,
                                    SRV_EVENT_TEST};

bool srv_webhook_kind_known(const char *kind)
{
    size_t i;

    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(kinds[i], kind) == 0)
            return true;
    }
    return false;
}

static bool host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (host[0] == '[') {
        char inner[64];
        size_t n = strlen(host);

        if (n < 3 || n - 2 >= sizeof(inner) || host[n - 1] != ']')
            return false;
        memcpy(inner, host + 1, n - 2);
        inner[n - 2] = '\0';
        return inet_pton(AF_INET6, inner, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    return false;
}

int srv_webhook_url_check(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *user = NULL, *frag = NULL;
    int rc = DA_ERR_WEBHOOK_INVALID;

    if (u == NULL)
        return DA_ERR_NOMEM;
    if (strlen(url) >= sizeof(((struct srv_webhook *)0)->url) ||
        curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK)
        goto out;
    if (strcmp(scheme, "https") == 0 || (strcmp(scheme, "http") == 0 && host_is_loopback(host)))
        rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(frag);
    curl_url_cleanup(u);
    return rc;
}

int srv_webhook_sign(const char *secret, int64_t t, const char *body, size_t body_len, char *out,
                     size_t size)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    char ts[24], hex[2 * EVP_MAX_MD_SIZE + 1];
    unsigned char *msg;
    int n = snprintf(ts, sizeof(ts), "%lld.", (long long)t);

    /* the signed text: decimal seconds, ".", the body as sent */
    msg = malloc((size_t)n + body_len + 1);
    if (msg == NULL)
        return DA_ERR_NOMEM;
    memcpy(msg, ts, (size_t)n);
    memcpy(msg + n, body, body_len);
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, (size_t)n + body_len, mac, &mac_len) ==
        NULL) {
        free(msg);
        return DA_ERR_CRYPTO;
    }
    free(msg);
    if (da_hex_encode_to(mac, mac_len, hex, sizeof(hex)) != 0)
        return DA_ERR_INTERNAL;
    ts[n - 1] = '\0';
    n = snprintf(out, size, "t=%s,v1=%s", ts, hex);
    return n > 0 && (size_t)n < size ? 0 : DA_ERR_TOO_LARGE;
}

static void kick(struct srv_webhooks *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->kicked = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int srv_webhook_emit(struct srv_ctx *ctx, const char *webhook_id, const char *kind,
                     const char *agent_id, cJSON *data)
{
    char id[SRV_ID_HEX], *body = NULL;
    int64_t now = srv_now();
    cJSON *o = cJSON_CreateObject();
    int rc, queued = 0;

    rc = srv_random_id(id);
    if (data == NULL)
        data = cJSON_CreateObject();
    if (rc == 0 && (o == NULL || data == NULL || cJSON_AddStringToObject(o, "id", id) == NULL ||
                    cJSON_AddStringToObject(o, "type", kind) == NULL ||
                    cJSON_AddNumberToObject(o, "created_at", (double)now) == NULL ||
                    (agent_id != NULL && cJSON_AddStringToObject(o, "agent_id", agent_id) == NULL)))
        rc = DA_ERR_NOMEM;
    if (rc == 0) {
        cJSON_AddItemToObject(o, "data", data);
        data = NULL; /* transferred */
        body = cJSON_PrintUnformatted(o);
        rc = body != NULL ? 0 : DA_ERR_NOMEM;
    }
    if (rc == 0)
        rc = srv_store_webhook_enqueue(ctx->store, webhook_id, kind, body, now,
                                       ctx->cfg.webhook_queue_max, &queued);
    if (rc != 0) {
        da_error_f("webhook event %s for %s not queued: %s", kind, agent_id ? agent_id : "-",
                   da_strerror(rc));
        if (ctx->webhooks != NULL)
            atomic_fetch_add(&ctx->webhooks->failed, 1);
    } else if (queued > 0) {
        kick(ctx->webhooks);
    }
    cJSON_Delete(data);
    cJSON_Delete(o);
    free(body);
    return rc;
}

void srv_webhook_note_failure(struct srv_ctx *ctx, const char *agent_id, int code)
{
    struct srv_webhooks *w = ctx->webhooks;
    struct failure_slot *slot = NULL, *oldest = NULL;
    int64_t now = srv_now();
    unsigned count = 0;
    size_t i;

    if (w == NULL || agent_id == NULL || strlen(agent_id) != SRV_ID_HEX - 1)
        return;
    pthread_mutex_lock(&w->mu);
    for (i = 0; i < FAILURE_SLOTS && slot == NULL; i++) {
        if (strcmp(w->failures[i].agent_id, agent_id) == 0)
            slot = &w->failures[i];
        else if (oldest == NULL || w->failures[i].window_start < oldest->window_start)
            oldest = &w->failures[i];
    }
    if (slot == NULL) {
        slot = oldest;
        snprintf(slot->agent_id, sizeof(slot->agent_id), "%s", agent_id);
        slot->count = 0;
        slot->window_start = now;
    }
    if (now - slot->window_start >= (int64_t)ctx->cfg.webhook_failure_window_s) {
        slot->window_start = now;
        slot->count = 0;
    }
    count = ++slot->count;
    pthread_mutex_unlock(&w->mu);
    /* once per window: at the threshold, not at every refusal past it */
    if (count == ctx->cfg.webhook_failure_threshold) {
        cJSON *d = cJSON_CreateObject();

        if (d != NULL) {
            cJSON_AddNumberToObject(d, "failures", count);
            cJSON_AddNumberToObject(d, "window_s", ctx->cfg.webhook_failure_window_s);
            cJSON_AddStringToObject(d, "last_error", da_err_code(code));
        }
        srv_webhook_emit(ctx, NULL, SRV_EVENT_FAILURES, agent_id, d);
    }
}

static int collect_due(const struct srv_webhook_delivery *d, void *arg)
{
    struct due_list *l = arg;
    struct due *x;

    if (l->n >= WEBHOOK_BATCH)
        return 0;
    x = &l->d[l->n];
    memset(x, 0, sizeof(*x));
    x->id = d->id;
    snprintf(x->url, sizeof(x->url), "%s", d->url);
    snprintf(x->secret, sizeof(x->secret), "%s", d->secret);
    snprintf(x->event, sizeof(x->event), "%s", d->event);
    x->created_at = d->created_at;
    x->attempts = d->attempts;
    x->body = strdup(d->body);
    if (x->body == NULL)
        return DA_ERR_NOMEM;
    l->n++;
    return 0;
}

static size_t discard_answer(char *p, size_t size, size_t n, void *arg)
{
    size_t *kept = arg;

    (void)p;
    *kept += size * n;
    return *kept > WEBHOOK_ANSWER_MAX ? 0 : size * n;
}

/* One POST; *status gets the HTTP status (0: none), error what went wrong. */
static void post_one(const struct srv_ctx *ctx, const struct due *d, long *status, char *error,
                     size_t error_size)
{
    char sig[160], hdr_sig[200], hdr_event[96], hdr_id[64], errbuf[CURL_ERROR_SIZE];
    struct curl_slist *h = NULL;
    size_t kept = 0;
    CURL *c = curl_easy_init();
    CURLcode cc;

    *status = 0;
    error[0] = '\0';
    errbuf[0] = '\0';
    if (c == NULL ||
        srv_webhook_sign(d->secret, srv_now(), d->body, strlen(d->body), sig, sizeof(sig)) != 0) {
        snprintf(error, error_size, "cannot prepare the request");
        curl_easy_cleanup(c);
        return;
    }
    snprintf(hdr_sig, sizeof(hdr_sig), "Devattest-Signature: %s", sig);
    snprintf(hdr_event, sizeof(hdr_event), "Devattest-Event: %s", d->event);
    snprintf(hdr_id, sizeof(hdr_id), "Devattest-Delivery: %lld", (long long)d->id);
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, hdr_sig);
    h = curl_slist_append(h, hdr_event);
    h = curl_slist_append(h, hdr_id);
    curl_easy_setopt(c, CURLOPT_URL, d->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)ctx->cfg.webhook_timeout_s);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(d->body));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_answer);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &kept);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "devattest-server/" DA_VERSION);
    cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    if (cc != CURLE_OK && cc != CURLE_WRITE_ERROR)
        snprintf(error, error_size, "%s", errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc));
    else if (*status < 200 || *status > 299)
        snprintf(error, error_size, "answered HTTP %ld", *status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static void deliver(struct srv_webhooks *w, const struct due *d)
{
    const struct srv_config *cfg = &w->ctx->cfg;
    char error[256];
    long status = 0;
    int64_t now, next;
    unsigned n = (unsigned)d->attempts + 1, shift;
    const char *state = "pending";

    post_one(w->ctx, d, &status, error, sizeof(error));
    now = srv_now();
    shift = n - 1 < 20 ? n - 1 : 20;
    next = now + ((int64_t)cfg->webhook_retry_base_s << shift);
    if (error[0] == '\0') {
        state = "delivered";
        atomic_fetch_add(&w->delivered, 1);
    } else {
        atomic_fetch_add(&w->failed, 1);
    }
    if (error[0] != '\0' && (n >= cfg->webhook_max_attempts ||
                             next > d->created_at + (int64_t)cfg->webhook_max_age_s)) {
        state = "failed";
        da_warn_f("webhook delivery %lld to %s failed for good: %s", (long long)d->id, d->url,
                  error);
    }
    if (srv_store_webhook_attempt(w->ctx->store, d->id, now, (int)status, error, state,
                                  strcmp(state, "pending") == 0 ? next : now) != 0)
        da_error_f("webhook delivery %lld: attempt not recorded", (long long)d->id);
}

static void *worker_main(void *arg)
{
    struct srv_webhooks *w = arg;

    for (;;) {
        struct due_list l;
        struct timespec until;
        size_t i;
        bool stop;

        pthread_mutex_lock(&w->mu);
        stop = w->stop;
        w->kicked = false;
        pthread_mutex_unlock(&w->mu);
        if (stop)
            break;
        l.n = 0;
        if (srv_store_webhook_due(w->ctx->store, srv_now(), WEBHOOK_BATCH, collect_due, &l) != 0)
            da_error_f("webhook queue not readable");
        for (i = 0; i < l.n; i++) {
            pthread_mutex_lock(&w->mu);
            stop = w->stop;
            pthread_mutex_unlock(&w->mu);
            if (!stop)
                deliver(w, &l.d[i]);
            free(l.d[i].body);
        }
        if (l.n == WEBHOOK_BATCH)
            continue;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += WEBHOOK_POLL_MS / 1000;
        pthread_mutex_lock(&w->mu);
        while (!w->stop && !w->kicked) {
            if (pthread_cond_timedwait(&w->cv, &w->mu, &until) != 0)
                break;
        }
        pthread_mutex_unlock(&w->mu);
    }
    return NULL;
}

int srv_webhooks_start(struct srv_ctx *ctx, struct srv_webhooks **out)
{
    struct srv_webhooks *w = calloc(1, sizeof(*w));

    *out = NULL;
    if (w == NULL)
        return DA_ERR_NOMEM;
    w->ctx = ctx;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w);
        return DA_ERR_INTERNAL;
    }
    w->started = true;
    *out = w;
    return 0;
}

void srv_webhooks_stop(struct srv_webhooks *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->started)
        pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

void srv_webhook_counts(const struct srv_webhooks *w, uint64_t *delivered, uint64_t *failed)
{
    *delivered = w != NULL ? atomic_load(&w->delivered) : 0;
    *failed = w != NULL ? atomic_load(&w->failed) : 0;
}

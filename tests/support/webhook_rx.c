/* Webhook receiver for tests (webhook_rx.h). */
#include "da_test.h"

#include "webhook_rx.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "server_harness.h"

#define REPLAY_WINDOW 300 /* seconds a receiver accepts, as docs/internals/webhooks.md says */

/* Verify "t=T,v1=HEX" against HMAC-SHA256(secret, "T." body). */
static int signature_valid(const char *secret, const char *header, const char *body, size_t len,
                           long long *t)
{
    unsigned char mac[32];
    unsigned int mac_len = 0;
    char hex[65], *msg;
    const char *v1 = strstr(header, ",v1=");
    int n;

    if (strncmp(header, "t=", 2) != 0 || v1 == NULL)
        return 0;
    *t = strtoll(header + 2, NULL, 10);
    msg = malloc(32 + len);
    if (msg == NULL)
        return 0;
    n = snprintf(msg, 32, "%lld.", *t);
    memcpy(msg + n, body, len);
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)msg, (size_t)n + len, mac,
         &mac_len);
    free(msg);
    for (n = 0; n < 32; n++)
        snprintf(hex + 2 * n, 3, "%02x", mac[n]);
    return strlen(v1 + 4) == 64 && CRYPTO_memcmp(hex, v1 + 4, 64) == 0;
}

static const char *header_value(const char *head, const char *name, char *out, size_t size)
{
    const char *p = head;
    size_t nl = strlen(name);

    out[0] = '\0';
    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1, *e = strstr(v, "\r\n");

            while (*v == ' ')
                v++;
            snprintf(out, size, "%.*s", e != NULL ? (int)(e - v) : (int)strlen(v), v);
            return out;
        }
    }
    return NULL;
}

static void serve_one(struct da_webhook_rx *r, int c)
{
    char buf[65536], val[256], path[64] = "";
    size_t got = 0, clen;
    char *end = NULL;
    struct da_rx_seen s;
    cJSON *doc;
    int status = 200;
    ssize_t n;

    memset(&s, 0, sizeof(s));
    while (got < sizeof(buf) - 1 &&
           (end == NULL || got < (size_t)(end - buf) + 4 + strtoul(val, NULL, 10))) {
        n = recv(c, buf + got, sizeof(buf) - 1 - got, 0);
        if (n <= 0)
            return;
        got += (size_t)n;
        buf[got] = '\0';
        if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            *end = '\0';
            if (header_value(buf, "Content-Length", val, sizeof(val)) == NULL)
                return;
            *end = '\r';
        }
    }
    if (end == NULL)
        return;
    *end = '\0';
    clen = strtoul(header_value(buf, "Content-Length", val, sizeof(val)), NULL, 10);
    sscanf(buf, "POST %63s ", path);
    snprintf(s.path, sizeof(s.path), "%s", path);
    header_value(buf, "Devattest-Event", s.event, sizeof(s.event));
    pthread_mutex_lock(&r->mu);
    if (header_value(buf, "Devattest-Signature", val, sizeof(val)) != NULL)
        s.signature_ok = signature_valid(r->secret, val, end + 4, clen, &s.t);
    if (r->refuse_all)
        status = 503;
    else if (strcmp(s.event, "webhook.test") == 0 && r->test_failures_left > 0) {
        r->test_failures_left--;
        status = 500;
    }
    pthread_mutex_unlock(&r->mu);
    end[4 + clen] = '\0';
    doc = cJSON_Parse(end + 4);
    if (cJSON_IsString(cJSON_GetObjectItem(doc, "agent_id")))
        snprintf(s.agent_id, sizeof(s.agent_id), "%s",
                 cJSON_GetObjectItem(doc, "agent_id")->valuestring);
    /* the body's type names the same event as the header */
    if (!cJSON_IsString(cJSON_GetObjectItem(doc, "type")) ||
        strcmp(cJSON_GetObjectItem(doc, "type")->valuestring, s.event) != 0)
        s.signature_ok = 0;
    cJSON_Delete(doc);
    pthread_mutex_lock(&r->mu);
    if (r->hold) {
        r->holding++;
        pthread_cond_broadcast(&r->cv);
        while (r->hold && !r->stop)
            pthread_cond_wait(&r->cv, &r->mu);
        r->holding--;
    }
    pthread_mutex_unlock(&r->mu);
    s.answered = status;
    n = snprintf(buf, sizeof(buf),
                 "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);
    if (send(c, buf, (size_t)n, MSG_NOSIGNAL) < 0)
        return;
    pthread_mutex_lock(&r->mu);
    if (r->nseen < DA_RX_MAX_SEEN)
        r->seen[r->nseen++] = s;
    pthread_mutex_unlock(&r->mu);
}

static void *receiver_main(void *arg)
{
    struct da_webhook_rx *r = arg;

    for (;;) {
        struct pollfd p = {r->fd, POLLIN, 0};
        int stop, c;

        pthread_mutex_lock(&r->mu);
        stop = r->stop;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            break;
        if (poll(&p, 1, 100) <= 0)
            continue;
        c = accept(r->fd, NULL, NULL);
        if (c < 0)
            continue;
        serve_one(r, c);
        close(c);
    }
    return NULL;
}

void da_webhook_rx_start(struct da_webhook_rx *r)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);

    memset(r, 0, sizeof(*r));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(r->fd >= 0);
    assert_int_equal(bind(r->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(r->fd, 16), 0);
    assert_int_equal(getsockname(r->fd, (struct sockaddr *)&a, &alen), 0);
    r->port = ntohs(a.sin_port);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    assert_int_equal(pthread_create(&r->thread, NULL, receiver_main, r), 0);
}

void da_webhook_rx_hold(struct da_webhook_rx *r)
{
    pthread_mutex_lock(&r->mu);
    r->hold = 1;
    pthread_mutex_unlock(&r->mu);
}

int da_webhook_rx_hold_one(struct da_webhook_rx *r)
{
    struct timespec until;
    int rc = 0;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&r->mu);
    while (r->hold && r->holding == 0 && rc == 0)
        rc = pthread_cond_timedwait(&r->cv, &r->mu, &until);
    rc = r->holding > 0;
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int da_webhook_rx_holding(struct da_webhook_rx *r)
{
    int n;

    pthread_mutex_lock(&r->mu);
    n = r->holding;
    pthread_mutex_unlock(&r->mu);
    return n;
}

void da_webhook_rx_release(struct da_webhook_rx *r)
{
    pthread_mutex_lock(&r->mu);
    r->hold = 0;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void da_webhook_rx_stop(struct da_webhook_rx *r)
{
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    close(r->fd);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
}

/* How many deliveries of event (about agent_id unless NULL) were answered
 * with status (0: any). Every one seen must have carried a valid signature. */
int da_webhook_rx_count(struct da_webhook_rx *r, const char *event, const char *agent_id,
                        int status)
{
    int i, n = 0;

    pthread_mutex_lock(&r->mu);
    for (i = 0; i < r->nseen; i++) {
        const struct da_rx_seen *s = &r->seen[i];

        if (!s->signature_ok)
            fail_msg("delivery %d (%s, path %s, answered %d) without a valid signature", i,
                     s->event, s->path, s->answered);
        if (llabs(s->t - (long long)time(NULL)) > REPLAY_WINDOW)
            fail_msg("delivery %d signed outside the replay window", i);
        if (strcmp(s->event, event) == 0 &&
            (agent_id == NULL || strcmp(s->agent_id, agent_id) == 0) &&
            (status == 0 || s->answered == status))
            n++;
    }
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* Wait (bounded) until count_seen reaches want. */
int da_webhook_rx_wait(struct da_webhook_rx *r, const char *event, const char *agent_id, int status,
                       int want)
{
    int i, n = 0;

    for (i = 0; i < 300; i++) {
        n = da_webhook_rx_count(r, event, agent_id, status);
        if (n >= want)
            return n;
        usleep(100 * 1000);
    }
    return n;
}

void da_webhook_rx_register(struct da_webhook_rx *r, const struct da_test_server *s,
                            const char *admin, char id[SRV_ID_HEX])
{
    char body[512];
    struct da_test_http h;
    cJSON *doc;

    snprintf(body, sizeof(body),
             "{\"url\":\"http://127.0.0.1:%d/hook\",\"events\":[\"agent.compliance_changed\","
             "\"agent.stale\",\"agent.identity_changed\",\"agent.boot_changed\","
             "\"agent.revoked\",\"agent.verification_failures\",\"webhook.test\"]}",
             r->port);
    assert_int_equal(
        da_test_http(s, "POST", "/v1/webhooks", admin, "application/json", body, strlen(body), &h),
        0);
    assert_int_equal(h.status, 201);
    doc = cJSON_Parse(h.body);
    da_test_http_clear(&h);
    assert_non_null(doc);
    snprintf(id, SRV_ID_HEX, "%s", cJSON_GetObjectItem(doc, "id")->valuestring);
    pthread_mutex_lock(&r->mu);
    snprintf(r->secret, sizeof(r->secret), "%s", cJSON_GetObjectItem(doc, "secret")->valuestring);
    pthread_mutex_unlock(&r->mu);
    assert_int_equal(strlen(r->secret), 64);
    cJSON_Delete(doc);
}

#include "http_guard.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "err.h"
#include "log.h"

#define WATCH_PERIOD_MS 100u
#define MAX_CODINGS     8

/* One accepted connection. fd and the list links are written under the
 * guard's mutex; deadline_ms too (the watchdog reads it). bad_target is
 * written and read only by the thread that serves the connection. */
struct guard_slot {
    struct guard_slot *prev, *next;
    int fd;
    uint64_t deadline_ms; /* 0: none */
    bool bad_target;
};

struct srv_guard {
    struct srv_guard_limits lim;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_t thread;
    bool stop;
    struct guard_slot *head;
    uint64_t cut;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct guard_slot *slot_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci != NULL ? ci->socket_context : NULL;
}

static void set_deadline(struct srv_guard *g, struct guard_slot *s, uint64_t deadline_ms)
{
    if (g == NULL || s == NULL)
        return;
    pthread_mutex_lock(&g->mu);
    s->deadline_ms = deadline_ms;
    pthread_mutex_unlock(&g->mu);
}

/* Shut down, never close: libmicrohttpd owns the descriptor and closes it
 * after it has told us (srv_guard_notify, CLOSED) under the same mutex, so
 * a descriptor number is never shut down after it was reused. */
static void *watchdog(void *arg)
{
    struct srv_guard *g = arg;
    struct timespec ts;

    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        uint64_t now = mono_ms();
        struct guard_slot *s;

        for (s = g->head; s != NULL; s = s->next) {
            if (s->deadline_ms == 0 || now < s->deadline_ms)
                continue;
            shutdown(s->fd, SHUT_RDWR);
            s->deadline_ms = 0;
            g->cut++;
        }
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += (long)WATCH_PERIOD_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->wake, &g->mu, &ts);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

int srv_guard_new(const struct srv_guard_limits *lim, struct srv_guard **out)
{
    struct srv_guard *g;
    pthread_condattr_t ca;

    *out = NULL;
    g = calloc(1, sizeof(*g));
    if (g == NULL)
        return DA_ERR_NOMEM;
    g->lim = *lim;
    if (g->lim.body_min_rate == 0)
        g->lim.body_min_rate = 1;
    pthread_mutex_init(&g->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&g->thread, NULL, watchdog, g) != 0) {
        pthread_cond_destroy(&g->wake);
        pthread_mutex_destroy(&g->mu);
        free(g);
        return DA_ERR_INTERNAL;
    }
    *out = g;
    return 0;
}

void srv_guard_free(struct srv_guard *g)
{
    struct guard_slot *s, *next;

    if (g == NULL)
        return;
    pthread_mutex_lock(&g->mu);
    g->stop = true;
    pthread_cond_signal(&g->wake);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    for (s = g->head; s != NULL; s = next) {
        next = s->next;
        free(s);
    }
    pthread_cond_destroy(&g->wake);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

void srv_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                      enum MHD_ConnectionNotificationCode code)
{
    struct srv_guard *g = cls;
    struct guard_slot *s = *socket_context;
    const union MHD_ConnectionInfo *ci;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        s = calloc(1, sizeof(*s));
        if (s == NULL || ci == NULL) {
            free(s); /* unguarded; the idle timeout still applies */
            return;
        }
        s->fd = ci->connect_fd;
        pthread_mutex_lock(&g->mu);
        s->deadline_ms = mono_ms() + g->lim.head_ms;
        s->next = g->head;
        if (g->head != NULL)
            g->head->prev = s;
        g->head = s;
        pthread_mutex_unlock(&g->mu);
        *socket_context = s;
        return;
    }
    if (s == NULL)
        return;
    pthread_mutex_lock(&g->mu);
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        g->head = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    pthread_mutex_unlock(&g->mu);
    free(s);
    *socket_context = NULL;
}

size_t srv_guard_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    size_t n = MHD_http_unescape(s), i;
    struct guard_slot *slot;

    (void)cls;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch < 0x20 || ch == 0x7f)
            break;
    }
    if (i < n) {
        slot = slot_of(c);
        if (slot == NULL) {
            /* No record to mark (its allocation failed): route an empty
             * target, which matches no route, rather than the cut one. */
            s[0] = '\0';
            return 0;
        }
        slot->bad_target = true;
        s[i] = '\0'; /* nothing past it is routed; the request is refused */
        return i;
    }
    return n;
}

struct framing {
    unsigned te_lines, cl_lines;
    const char *te;
    bool bad_name;
};

/* A field name is a token (RFC 9110 5.1). libmicrohttpd keeps whitespace
 * before the colon in the name and joins a folded line onto it, so such
 * names show up here; RFC 9112 5.1 and 5.2 want them refused. */
static bool is_token(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("!#$%&'*+-.^_`|~", c) != NULL))
            return false;
    }
    return true;
}

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct framing *f = cls;

    (void)kind;
    if (!is_token(key))
        f->bad_name = true;
    if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->te_lines++;
        f->te = value;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        f->cl_lines++;
    }
    return MHD_YES;
}

/* A list that does not end in chunked leaves the body length unknown
 * (400); a final chunked after other codings is 501. */
int srv_guard_codings_check(const char *v)
{
    unsigned n = 0, chunked = 0;
    bool last_chunked = false;

    for (;;) {
        size_t len;

        while (*v == ' ' || *v == '\t')
            v++;
        len = strcspn(v, ",");
        while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
            len--;
        if (len == 0 || ++n > MAX_CODINGS)
            return DA_ERR_HTTP_FRAMING;
        last_chunked = len == 7 && strncasecmp(v, "chunked", 7) == 0;
        if (last_chunked)
            chunked++;
        v += strcspn(v, ",");
        if (*v == '\0')
            break;
        v++;
    }
    if (!last_chunked || chunked > 1)
        return DA_ERR_HTTP_FRAMING;
    return n == 1 ? 0 : DA_ERR_HTTP_CODING;
}

int srv_guard_request_head(struct srv_guard *g, struct MHD_Connection *c, const char *version,
                           size_t body_cap, bool *chunked)
{
    struct guard_slot *s = slot_of(c);
    struct framing f = {0, 0, NULL, false};
    const char *cl;
    uint64_t budget = 0;
    int rc;

    *chunked = false;
    if (s != NULL && s->bad_target) {
        s->bad_target = false;
        return DA_ERR_HTTP_TARGET;
    }
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_framing, &f);
    if (f.bad_name || f.cl_lines > 1 || f.te_lines > 1 || (f.te_lines > 0 && f.cl_lines > 0))
        return DA_ERR_HTTP_FRAMING;
    if (f.te_lines == 1) {
        if (version == NULL || strcmp(version, MHD_HTTP_VERSION_1_1) != 0)
            return DA_ERR_HTTP_FRAMING;
        rc = srv_guard_codings_check(f.te);
        if (rc != 0)
            return rc;
        *chunked = true;
        budget = body_cap;
    } else {
        cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL)
            budget = strtoull(cl, NULL, 10); /* digits only: MHD refused anything else */
        if (budget > body_cap)
            budget = body_cap;
    }
    if (g != NULL)
        set_deadline(g, s, mono_ms() + g->lim.body_base_ms + budget * 1000u / g->lim.body_min_rate);
    return 0;
}

void srv_guard_request_received(struct srv_guard *g, struct MHD_Connection *c)
{
    set_deadline(g, slot_of(c), 0);
}

void srv_guard_request_done(struct srv_guard *g, struct MHD_Connection *c)
{
    if (g != NULL)
        set_deadline(g, slot_of(c), mono_ms() + g->lim.head_ms);
}

uint64_t srv_guard_cut_count(struct srv_guard *g)
{
    uint64_t n;

    pthread_mutex_lock(&g->mu);
    n = g->cut;
    pthread_mutex_unlock(&g->mu);
    return n;
}

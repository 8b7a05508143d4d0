/* The HTTPS driver: libcurl multi with one easy handle per connection, all
 * kept alive. A connection runs one agent's cycle at a time, as the agent
 * does: POST /v1/agents/{id}/nonce, then the report over that nonce (again
 * with the inventory when the server answers inventory_needed). In open
 * loop (rate > 0) cycle i is due at i / rate seconds and its latency is
 * counted from then, so a slow server cannot hide its queue. */
#include <math.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "caps.h"
#include "encoding.h"
#include "err.h"
#include "loadgen.h"
#include "log.h"

enum slot_state { SLOT_IDLE, SLOT_NONCE, SLOT_REPORT };

struct slot {
    CURL *h;
    enum slot_state state;
    struct lg_agent *agent;
    double due; /* when the cycle was due (open loop) or started */
    bool inventory_sent;
    unsigned char nonce[DA_NONCE_LEN];
    struct da_buf body;
    struct da_buf answer;
};

struct run {
    const struct lg_run_in *in;
    struct lg_run_out *out;
    CURLM *multi;
    struct curl_slist *headers;
    struct slot *slots;
    unsigned next_agent;
    uint64_t rng;
    double t0;
    unsigned long cap_latency;
    unsigned long transport_logged;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t next_random(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t on_answer(char *p, size_t size, size_t n, void *arg)
{
    struct slot *s = arg;

    return da_buf_append(&s->answer, p, size * n) == 0 ? size * n : 0;
}

/* Counted by code; past LG_MAX_CODES - 1 distinct codes the rest go to
 * "other", which keeps the last slot. */
void lg_count_code(struct lg_run_out *out, const char *code)
{
    size_t i;

    for (i = 0; i < out->n_codes; i++) {
        if (strcmp(out->codes[i].code, code) == 0) {
            out->codes[i].n++;
            return;
        }
    }
    if (out->n_codes >= LG_MAX_CODES - 1 && strcmp(code, "other") != 0) {
        lg_count_code(out, "other");
        return;
    }
    snprintf(out->codes[out->n_codes].code, LG_CODE_LEN, "%s", code);
    out->codes[out->n_codes++].n = 1;
}

static void send_request(struct run *r, struct slot *s, const char *url, const void *body,
                         size_t len)
{
    da_buf_reset(&s->answer);
    curl_easy_setopt(s->h, CURLOPT_URL, url);
    curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, body);
    curl_multi_add_handle(r->multi, s->h);
}

/* An idle agent, round robin: with at least as many agents as connections
 * one is always free. */
static struct lg_agent *pick_agent(struct run *r)
{
    unsigned i;

    for (i = 0; i < r->in->n_agents; i++) {
        struct lg_agent *a = &r->in->agents[(r->next_agent + i) % r->in->n_agents];
        if (!a->busy) {
            r->next_agent = (r->next_agent + i + 1) % r->in->n_agents;
            return a;
        }
    }
    return NULL;
}

static void start_cycle(struct run *r, struct slot *s, double due)
{
    s->agent = pick_agent(r);
    if (s->agent == NULL)
        return;
    s->agent->busy = true;
    s->state = SLOT_NONCE;
    s->due = due;
    s->inventory_sent = false;
    r->out->started++;
    send_request(r, s, s->agent->url_nonce, "", 0);
}

static void end_cycle(struct run *r, struct slot *s, const char *code)
{
    if (code == NULL) {
        r->out->accepted++;
        if (r->out->accepted <= r->cap_latency)
            r->out->latency_s[r->out->accepted - 1] = now_s() - r->t0 - s->due;
    } else {
        r->out->failed++;
        lg_count_code(r->out, code);
    }
    s->agent->busy = false;
    s->agent = NULL;
    s->state = SLOT_IDLE;
}

/* {"nonce":…,"evidence":…,"quote":{…}[,"inventory":…]} */
static int build_report(struct run *r, struct slot *s)
{
    const char *text = NULL;
    unsigned char digest[32], qd[DA_QUOTE_QD_LEN];
    size_t len = 0;
    int rc = 0;

    if (r->in->change_rate > 0 &&
        (double)(next_random(&r->rng) >> 11) / 9007199254740992.0 < r->in->change_rate) {
        rc = lg_agent_doc_change(s->agent->doc, next_random(&r->rng));
        r->out->changes++;
    }
    if (rc == 0)
        rc = lg_agent_doc_stamp(s->agent->doc, (int64_t)time(NULL), &text, &len, digest);
    if (rc == 0)
        rc = da_quote_qualifying_data(s->nonce, sizeof(s->nonce), digest, qd);
    da_buf_reset(&s->body);
    if (rc == 0)
        rc = da_buf_append_str(&s->body, "{\"nonce\":\"");
    if (rc == 0)
        rc = da_base64_encode(s->nonce, sizeof(s->nonce), DA_BASE64_STD, &s->body);
    if (rc == 0)
        rc = da_buf_append_str(&s->body, "\",\"evidence\":");
    if (rc == 0)
        rc = da_buf_append(&s->body, text, len);
    if (rc == 0)
        rc = da_buf_append_str(&s->body, ",\"quote\":{");
    if (rc == 0)
        rc = lg_identity_quote(&s->agent->ident, &r->in->sel, qd, &s->body);
    if (rc == 0)
        rc = da_buf_append_str(&s->body, "}}");
    return rc;
}

/* The same report again, with the inventory the server asked for. */
static int add_inventory(struct slot *s, const char *inventory_json)
{
    size_t len = da_buf_len(&s->body);
    int rc = len >= 2 ? 0 : DA_ERR_INTERNAL;
    char *copy = NULL;

    if (rc == 0 && (copy = malloc(len - 1)) == NULL)
        rc = DA_ERR_NOMEM;
    if (rc == 0) {
        memcpy(copy, da_buf_data(&s->body), len - 1); /* without the closing brace */
        da_buf_reset(&s->body);
        rc = da_buf_append(&s->body, copy, len - 1);
    }
    if (rc == 0)
        rc = da_buf_append_str(&s->body, ",\"inventory\":");
    if (rc == 0)
        rc = da_buf_append_str(&s->body, inventory_json);
    if (rc == 0)
        rc = da_buf_append_byte(&s->body, '}');
    free(copy);
    return rc;
}

static const char *answer_code(struct slot *s, long status, char code[LG_CODE_LEN])
{
    if (lg_answer_error_code(da_buf_str(&s->answer), da_buf_len(&s->answer), code) == 0)
        return code;
    snprintf(code, LG_CODE_LEN, "http_%ld", status);
    return code;
}

static void on_nonce(struct run *r, struct slot *s, long status)
{
    char code[LG_CODE_LEN];

    if (status != 200) {
        end_cycle(r, s, answer_code(s, status, code));
        return;
    }
    if (lg_answer_nonce(da_buf_str(&s->answer), da_buf_len(&s->answer), s->nonce) != 0) {
        end_cycle(r, s, "loadgen_answer");
        return;
    }
    if (build_report(r, s) != 0) {
        end_cycle(r, s, "loadgen_document");
        return;
    }
    s->state = SLOT_REPORT;
    send_request(r, s, s->agent->url_report, da_buf_data(&s->body), da_buf_len(&s->body));
}

static void on_report(struct run *r, struct slot *s, long status)
{
    char code[LG_CODE_LEN];
    const char *c;

    if (status == 201) {
        end_cycle(r, s, NULL);
        return;
    }
    c = answer_code(s, status, code);
    if (strcmp(c, "inventory_needed") == 0 && !s->inventory_sent && r->in->inventory_json != NULL) {
        s->inventory_sent = true;
        r->out->inventory_sent++;
        if (add_inventory(s, r->in->inventory_json) == 0) {
            send_request(r, s, s->agent->url_report, da_buf_data(&s->body), da_buf_len(&s->body));
            return;
        }
        c = "loadgen_document";
    }
    end_cycle(r, s, c);
}

static void on_done(struct run *r, CURLMsg *msg)
{
    struct slot *s = NULL;
    long status = 0;

    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
    curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(r->multi, s->h);
    if (msg->data.result != CURLE_OK) {
        if (r->transport_logged++ == 0)
            da_warn_f("%s: %s (further transport errors are only counted)",
                      s->state == SLOT_NONCE ? s->agent->url_nonce : s->agent->url_report,
                      curl_easy_strerror(msg->data.result));
        end_cycle(r, s, "transport");
    } else if (s->state == SLOT_NONCE)
        on_nonce(r, s, status);
    else
        on_report(r, s, status);
}

static int slots_open(struct run *r)
{
    unsigned i;

    r->headers = curl_slist_append(NULL, "Content-Type: application/json");
    r->headers = curl_slist_append(r->headers, "Expect:");
    r->slots = calloc(r->in->concurrency, sizeof(*r->slots));
    r->multi = curl_multi_init();
    if (r->headers == NULL || r->slots == NULL || r->multi == NULL)
        return DA_ERR_NOMEM;
    for (i = 0; i < r->in->concurrency; i++) {
        struct slot *s = &r->slots[i];
        da_buf_init(&s->body, DA_MAX_REPORT);
        da_buf_init(&s->answer, LG_MAX_ANSWER);
        s->h = curl_easy_init();
        if (s->h == NULL)
            return DA_ERR_NOMEM;
        curl_easy_setopt(s->h, CURLOPT_CAINFO, r->in->ca);
        curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, r->headers);
        curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, on_answer);
        curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
        curl_easy_setopt(s->h, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(s->h, CURLOPT_TIMEOUT, 30L);
        curl_easy_setopt(s->h, CURLOPT_PRIVATE, s);
    }
    return 0;
}

static void slots_close(struct run *r)
{
    unsigned i;

    for (i = 0; r->slots != NULL && i < r->in->concurrency; i++) {
        if (r->slots[i].h != NULL && r->slots[i].state != SLOT_IDLE)
            curl_multi_remove_handle(r->multi, r->slots[i].h);
        curl_easy_cleanup(r->slots[i].h);
        da_buf_free(&r->slots[i].body);
        da_buf_free(&r->slots[i].answer);
    }
    free(r->slots);
    curl_multi_cleanup(r->multi);
    curl_slist_free_all(r->headers);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Hand due cycles to idle connections; false once no more will start. */
static bool schedule(struct run *r, double t)
{
    const struct lg_run_in *in = r->in;
    unsigned i;

    if (t >= in->duration_s || r->out->started >= in->count)
        return false;
    for (i = 0; i < in->concurrency && r->out->started < in->count; i++) {
        double due = in->rate > 0 ? (double)r->out->started / in->rate : t;
        if (r->slots[i].state != SLOT_IDLE)
            continue;
        if (due > t)
            break;
        start_cycle(r, &r->slots[i], due);
    }
    return true;
}

static bool any_busy(const struct run *r)
{
    unsigned i;

    for (i = 0; i < r->in->concurrency; i++) {
        if (r->slots[i].state != SLOT_IDLE)
            return true;
    }
    return false;
}

/* The load generator's own CPU time, user and system. */
static double cpu_s(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int lg_run(const struct lg_run_in *in, struct lg_run_out *out)
{
    double cpu0;
    struct run r;
    int rc, running = 0;
    bool more = true;

    memset(out, 0, sizeof(*out));
    memset(&r, 0, sizeof(r));
    if (in->concurrency == 0 || in->concurrency > in->n_agents)
        return DA_ERR_INVALID_ARG;
    r.in = in;
    r.out = out;
    r.rng = in->seed ^ 0x5eedu;
    r.cap_latency = in->count;
    out->latency_s = calloc(in->count, sizeof(*out->latency_s));
    rc = out->latency_s != NULL ? slots_open(&r) : DA_ERR_NOMEM;
    r.t0 = now_s();
    cpu0 = cpu_s();
    /* bounded: no cycle starts after duration_s, and every request has a
     * 30 s timeout, so the loop ends */
    while (rc == 0 && (more || any_busy(&r))) {
        CURLMsg *msg;
        int left;

        more = more && schedule(&r, now_s() - r.t0);
        curl_multi_perform(r.multi, &running);
        while ((msg = curl_multi_info_read(r.multi, &left)) != NULL) {
            if (msg->msg == CURLMSG_DONE)
                on_done(&r, msg);
        }
        more = more && schedule(&r, now_s() - r.t0);
        if (more || any_busy(&r))
            curl_multi_poll(r.multi, NULL, 0, 1, NULL);
    }
    out->elapsed_s = now_s() - r.t0;
    out->cpu_s = cpu_s() - cpu0;
    slots_close(&r);
    if (out->latency_s != NULL)
        qsort(out->latency_s, out->accepted, sizeof(*out->latency_s), cmp_double);
    return rc;
}

void lg_run_out_free(struct lg_run_out *out)
{
    free(out->latency_s);
    out->latency_s = NULL;
}

/* Load generator for devattest-server: verified report ingestion over
 * HTTPS keep-alive (libcurl multi), bounded in count and time, loopback.
 *
 *   da_server_load --url https://127.0.0.1:PORT --ca CA.pem --state DIR
 *                  --db FILE [--agents N] [--count M] [--concurrency C]
 *                  [--rate R] [--max-seconds S]
 *
 * It enrolls N machines with software AKs directly in the store, mints M
 * nonces with the server's nonce key (the server would hand out the same),
 * builds every report body before the clock starts, then posts them over C
 * keep-alive connections: as fast as answers come (closed loop), or at R
 * per second (open loop; latency is measured from the scheduled send time,
 * so a stalled server cannot hide its queue). Prints one line of figures. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "err.h"
#include "log.h"
#include "nonce.h"
#include "pki.h"
#include "quote.h"
#include "soft_ak.h"
#include "store.h"
#include "picky.h"

struct job {
    char *body;
    char url[160];
    double scheduled; /* seconds from start; 0 in closed loop */
};

struct slot {
    CURL *h;
    struct curl_slist *hdr;
    struct job *job;
    double started;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int seed_agents(const char *db, struct da_soft_ak *aks, unsigned n, char (*ids)[40])
{
    struct srv_store *st = NULL;
    struct srv_agent a;
    unsigned i;
    int rc = srv_store_open(db, 256, 86400, &st);

    for (i = 0; rc == 0 && i < n; i++) {
        if (da_soft_ak_new(&aks[i]) != 0)
            rc = -1;
        /* the process id too: two loads may seed one database together */
        snprintf(ids[i], 40, "%08x%08x%08x%08x", 0xbe0c4u, i, (unsigned)time(NULL),
                 (unsigned)getpid());
        memset(&a, 0, sizeof(a));
        snprintf(a.id, sizeof(a.id), "%s", ids[i]);
        if (rc == 0)
            rc = srv_store_vendor_ensure(st, "bench", &a.vendor_id);
        snprintf(a.ek_name, sizeof(a.ek_name), "000b%s", ids[i]);
        snprintf(a.ak_name, sizeof(a.ak_name), "000c%s", ids[i]);
        a.ak_public = aks[i].pub;
        a.ak_public_len = aks[i].pub_len;
        a.host_json = (char *)DA_UNCONST("{}");
        a.created_at = (int64_t)time(NULL);
        if (rc == 0)
            rc = srv_store_agent_create(st, &a);
    }
    srv_store_close(st);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},         {"ca", required_argument, NULL, 'c'},
        {"state", required_argument, NULL, 's'},       {"db", required_argument, NULL, 'd'},
        {"agents", required_argument, NULL, 'a'},      {"count", required_argument, NULL, 'n'},
        {"concurrency", required_argument, NULL, 'C'}, {"rate", required_argument, NULL, 'r'},
        {"max-seconds", required_argument, NULL, 'm'}, {NULL, 0, NULL, 0}};
    const char *url = NULL, *ca = NULL, *state = NULL, *db = NULL;
    unsigned agents = 64, count = 10000, conc = 32, rate = 0, max_s = 60, i, next = 0, done = 0;
    unsigned ok = 0, bad = 0, transport = 0;
    char(*ids)[40], path[4096], *key = NULL;
    struct da_soft_ak *aks;
    struct da_pcr_selection sel;
    struct job *jobs;
    struct slot *slots;
    double *lat, t0, t_end, build_s;
    size_t keylen = 0;
    CURLM *m;
    int c, running;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'u':
            url = optarg;
            break;
        case 'c':
            ca = optarg;
            break;
        case 's':
            state = optarg;
            break;
        case 'd':
            db = optarg;
            break;
        case 'a':
            agents = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'n':
            count = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'C':
            conc = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'r':
            rate = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'm':
            max_s = (unsigned)strtoul(optarg, NULL, 10);
            break;
        default:
            return 2;
        }
    }
    if (url == NULL || ca == NULL || state == NULL || db == NULL || agents == 0 || count == 0 ||
        conc == 0 || count > 1000000 || conc > 512 || max_s == 0 || max_s > 600) {
        fprintf(stderr, "usage: see the comment at the top of server_load.c\n");
        return 2;
    }
    da_log_set_level(DA_LOG_WARN);
    snprintf(path, sizeof(path), "%s/nonce.key", state);
    if (srv_read_file(path, 64, &key, &keylen) != 0 || keylen != 32) {
        fprintf(stderr, "cannot read %s\n", path);
        return 1;
    }
    /* nonces are bound to the agent and the server's PCR selection (default) */
    if (da_pcr_selection_parse("sha256:0-7", &sel) != 0)
        return 1;
    aks = calloc(agents, sizeof(*aks));
    ids = calloc(agents, sizeof(*ids));
    jobs = calloc(count, sizeof(*jobs));
    slots = calloc(conc, sizeof(*slots));
    lat = calloc(count, sizeof(*lat));
    if (aks == NULL || ids == NULL || jobs == NULL || slots == NULL || lat == NULL ||
        seed_agents(db, aks, agents, ids) != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    build_s = now_s();
    for (i = 0; i < count; i++) {
        unsigned char nonce[DA_NONCE_LEN];
        unsigned a = i % agents;
        cJSON *ev = da_soft_ak_evidence(i, (i % 10) != 0);

        /* a constant TPM clock per machine: concurrent reports of one
         * machine may commit in any order without looking like a rollback */
        aks[a].clock = 1000000;
        if (da_report_nonce_make((const uint8_t *)key, keylen, ids[a], &sel, (uint64_t)time(NULL),
                                 3600, nonce) != 0 ||
            da_soft_ak_report(&aks[a], nonce, sizeof(nonce), ev, &jobs[i].body) != 0) {
            fprintf(stderr, "building report %u failed\n", i);
            return 1;
        }
        snprintf(jobs[i].url, sizeof(jobs[i].url), "%s/v1/agents/%s/reports", url, ids[a]);
        jobs[i].scheduled = rate > 0 ? (double)i / rate : 0;
        cJSON_Delete(ev);
    }
    build_s = now_s() - build_s;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    m = curl_multi_init();
    for (i = 0; i < conc; i++) {
        slots[i].h = curl_easy_init();
        slots[i].hdr = curl_slist_append(NULL, "Content-Type: application/json");
        slots[i].hdr = curl_slist_append(slots[i].hdr, "Expect:");
        curl_easy_setopt(slots[i].h, CURLOPT_CAINFO, ca);
        curl_easy_setopt(slots[i].h, CURLOPT_HTTPHEADER, slots[i].hdr);
        curl_easy_setopt(slots[i].h, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(slots[i].h, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(slots[i].h, CURLOPT_TIMEOUT, 30L);
        curl_easy_setopt(slots[i].h, CURLOPT_PRIVATE, &slots[i]);
    }
    t0 = now_s();
    t_end = t0 + max_s;
    for (;;) {
        double t = now_s() - t0;
        CURLMsg *msg;
        int left;

        /* hand jobs to idle connections whose time has come */
        for (i = 0; i < conc && next < count; i++) {
            if (slots[i].job != NULL || jobs[next].scheduled > t)
                continue;
            slots[i].job = &jobs[next++];
            slots[i].started = rate > 0 ? slots[i].job->scheduled : t;
            curl_easy_setopt(slots[i].h, CURLOPT_URL, slots[i].job->url);
            curl_easy_setopt(slots[i].h, CURLOPT_POSTFIELDS, slots[i].job->body);
            curl_multi_add_handle(m, slots[i].h);
        }
        curl_multi_perform(m, &running);
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            struct slot *s = NULL;
            long status = 0;

            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            if (msg->data.result != CURLE_OK)
                transport++;
            else if (status == 201)
                ok++;
            else
                bad++;
            lat[done++] = now_s() - t0 - s->started;
            curl_multi_remove_handle(m, s->h);
            s->job = NULL;
        }
        if (done == count || now_s() > t_end)
            break;
        curl_multi_poll(m, NULL, 0, 1, NULL);
    }
    {
        double elapsed = now_s() - t0;

        qsort(lat, done, sizeof(*lat), cmp_double);
        printf("reports=%u ok=%u rejected=%u transport_errors=%u elapsed_s=%.2f rate_per_s=%.0f "
               "p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f concurrency=%u target_rate=%u "
               "agents=%u build_s=%.2f\n",
               done, ok, bad, transport, elapsed, ok / elapsed, done ? 1000 * lat[done / 2] : 0,
               done ? 1000 * lat[done * 9 / 10] : 0, done ? 1000 * lat[done * 99 / 100] : 0,
               done ? 1000 * lat[done - 1] : 0, conc, rate, agents, build_s);
    }
    for (i = 0; i < conc; i++) {
        curl_easy_cleanup(slots[i].h);
        curl_slist_free_all(slots[i].hdr);
    }
    curl_multi_cleanup(m);
    curl_global_cleanup();
    for (i = 0; i < count; i++)
        free(jobs[i].body);
    for (i = 0; i < agents; i++)
        da_soft_ak_free(&aks[i]);
    free(aks);
    free(ids);
    free(jobs);
    free(slots);
    free(lat);
    free(key);
    return ok == count ? 0 : 1;
}

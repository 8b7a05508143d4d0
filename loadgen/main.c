/* devattest-loadgen: enroll N software agents with a devattest-server that
 * allows them (test_software_agents = yes), run their report cycles with
 * realistic evidence, and print what the run measured next to what the
 * server counted (docs/loadgen.md, devattest-loadgen(1)). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "encoding.h"
#include "err.h"
#include "file.h"
#include "json.h"
#include "loadgen.h"
#include "log.h"

#define EXIT_FAILED 1 /* the run could not be made, or a report failed */
#define EXIT_USAGE  2

struct options {
    const char *url, *ca, *token_file, *vendor, *evidence, *inventory;
    unsigned agents, concurrency, rate, duration_s, count;
    double change_rate;
    uint64_t seed;
    bool json;
};

static const char usage_text[] =
    "usage: devattest-loadgen --url URL --ca FILE --token-file FILE --vendor NAME\n"
    "                         --evidence FILE [--inventory FILE] [--agents N]\n"
    "                         [--concurrency C] [--rate R] [--duration SECONDS]\n"
    "                         [--count M] [--change-rate F] [--seed S] [--json]\n"
    "Simulate N agents reporting to a devattest-server over HTTPS keep-alive.\n"
    "The server must run with test_software_agents = yes (load tests only).\n"
    "  --url URL           the server, https://HOST:PORT\n"
    "  --ca FILE           CA certificate that signed the server's TLS certificate\n"
    "  --token-file FILE   file holding an admin API token (enrollment, /metrics)\n"
    "  --vendor NAME       existing vendor to enroll the agents under\n"
    "  --evidence FILE     captured evidence document (tests/data/loadgen/)\n"
    "  --inventory FILE    package inventory sent when the server asks for it\n"
    "  --agents N          simulated agents (default 100, at most 100000)\n"
    "  --concurrency C     keep-alive connections (default 32, at most --agents)\n"
    "  --rate R            report cycles started per second (default 0: as fast\n"
    "                      as answers come)\n"
    "  --duration SECONDS  start no cycle after this (default 10, at most 3600)\n"
    "  --count M           cycles at most (default 10000)\n"
    "  --change-rate F     share of reports whose posture changed since the\n"
    "                      agent's last one (default 0.01)\n"
    "  --seed S            seed of the variation between agents (default 1)\n"
    "  --json              print the figures as one JSON object\n"
    "  --version           print the version and exit\n"
    "exit: 0 every report accepted, 1 a report failed or the run could not be\n"
    "made, 2 usage error\n";

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end = NULL;
    unsigned long v;

    if (s[0] < '0' || s[0] > '9')
        return DA_ERR_USAGE;
    v = strtoul(s, &end, 10);
    if (*end != '\0' || v < lo || v > hi)
        return DA_ERR_USAGE;
    *out = (unsigned)v;
    return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option opts[] = {{"url", required_argument, NULL, 'u'},
                                         {"ca", required_argument, NULL, 'c'},
                                         {"token-file", required_argument, NULL, 't'},
                                         {"vendor", required_argument, NULL, 'v'},
                                         {"evidence", required_argument, NULL, 'e'},
                                         {"inventory", required_argument, NULL, 'i'},
                                         {"agents", required_argument, NULL, 'a'},
                                         {"concurrency", required_argument, NULL, 'C'},
                                         {"rate", required_argument, NULL, 'r'},
                                         {"duration", required_argument, NULL, 'd'},
                                         {"count", required_argument, NULL, 'n'},
                                         {"change-rate", required_argument, NULL, 'x'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};
    unsigned seed = 1;
    char *end = NULL;
    int c, rc = 0;

    memset(o, 0, sizeof(*o));
    o->agents = 100;
    o->concurrency = 32;
    o->duration_s = 10;
    o->count = 10000;
    o->change_rate = 0.01;
    while (rc == 0 && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'u':
            o->url = optarg;
            break;
        case 'c':
            o->ca = optarg;
            break;
        case 't':
            o->token_file = optarg;
            break;
        case 'v':
            o->vendor = optarg;
            break;
        case 'e':
            o->evidence = optarg;
            break;
        case 'i':
            o->inventory = optarg;
            break;
        case 'a':
            rc = parse_uint(optarg, 1, LG_MAX_AGENTS, &o->agents);
            break;
        case 'C':
            rc = parse_uint(optarg, 1, LG_MAX_CONCURRENCY, &o->concurrency);
            break;
        case 'r':
            rc = parse_uint(optarg, 0, 1000000, &o->rate);
            break;
        case 'd':
            rc = parse_uint(optarg, 1, LG_MAX_DURATION_S, &o->duration_s);
            break;
        case 'n':
            rc = parse_uint(optarg, 1, LG_MAX_COUNT, &o->count);
            break;
        case 's':
            rc = parse_uint(optarg, 0, 4294967295u, &seed);
            break;
        case 'j':
            o->json = true;
            break;
        case 'x':
            o->change_rate = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(o->change_rate >= 0 && o->change_rate <= 1))
                rc = DA_ERR_USAGE;
            break;
        case 'h':
            fputs(usage_text, stdout);
            exit(0);
        case 'V':
            printf("devattest-loadgen %s\n", DA_VERSION);
            exit(0);
        default:
            rc = DA_ERR_USAGE;
        }
    }
    o->seed = seed;
    if (rc == 0 && (optind != argc || o->url == NULL || o->ca == NULL || o->token_file == NULL ||
                    o->vendor == NULL || o->evidence == NULL || o->concurrency > o->agents))
        rc = DA_ERR_USAGE;
    return rc;
}

/* One request on the control connection: enrollment, /metrics. */
struct control {
    CURL *h;
    struct curl_slist *headers;
    struct da_buf answer;
    const char *url;
};

static size_t control_write(char *p, size_t size, size_t n, void *arg)
{
    return da_buf_append(arg, p, size * n) == 0 ? size * n : 0;
}

static int control_open(struct control *c, const struct options *o, struct da_buf *token)
{
    struct da_buf auth;
    size_t len = da_buf_len(token);
    int rc;

    while (len > 0 && (da_buf_str(token)[len - 1] == '\n' || da_buf_str(token)[len - 1] == '\r'))
        len--;
    da_buf_init(&auth, 1024);
    da_buf_init(&c->answer, LG_MAX_METRICS);
    c->url = o->url;
    rc = len > 0 ? da_buf_append_str(&auth, "Authorization: Bearer ") : DA_ERR_CONFIG;
    if (rc == 0)
        rc = da_buf_append(&auth, da_buf_data(token), len);
    if (rc == 0) {
        c->headers = curl_slist_append(NULL, da_buf_str(&auth));
        c->headers = curl_slist_append(c->headers, "Content-Type: application/json");
        c->headers = curl_slist_append(c->headers, "Expect:");
        c->h = curl_easy_init();
        rc = c->headers != NULL && c->h != NULL ? 0 : DA_ERR_NOMEM;
    }
    da_buf_free(&auth);
    if (rc != 0)
        return rc;
    curl_easy_setopt(c->h, CURLOPT_CAINFO, o->ca);
    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, control_write);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, &c->answer);
    curl_easy_setopt(c->h, CURLOPT_TIMEOUT, 30L);
    return 0;
}

static void control_close(struct control *c)
{
    curl_easy_cleanup(c->h);
    curl_slist_free_all(c->headers);
    da_buf_free(&c->answer);
    c->h = NULL;
    c->headers = NULL;
}

static int control_call(struct control *c, const char *path, const char *body, long want)
{
    char url[1024];
    long status = 0;
    CURLcode cc;

    snprintf(url, sizeof(url), "%s%s", c->url, path);
    da_buf_reset(&c->answer);
    curl_easy_setopt(c->h, CURLOPT_URL, url);
    if (body != NULL) {
        curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
    } else {
        curl_easy_setopt(c->h, CURLOPT_HTTPGET, 1L);
    }
    cc = curl_easy_perform(c->h);
    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK) {
        da_error_f("%s: %s", url, curl_easy_strerror(cc));
        return DA_ERR_IO;
    }
    if (status != want) {
        da_error_f("%s: HTTP %ld: %.300s", url, status,
                   da_buf_str(&c->answer) != NULL ? da_buf_str(&c->answer) : "");
        return DA_ERR_LOADGEN_ANSWER;
    }
    return 0;
}

struct server_counts {
    double accepted, store_bytes;
};

static int read_counts(struct control *c, struct server_counts *out)
{
    int rc = control_call(c, "/metrics", NULL, 200);

    if (rc == 0)
        rc = lg_metrics_value(da_buf_str(&c->answer), da_buf_len(&c->answer),
                              "devattest_reports_accepted_total", &out->accepted);
    if (rc == 0)
        rc = lg_metrics_value(da_buf_str(&c->answer), da_buf_len(&c->answer),
                              "devattest_store_bytes", &out->store_bytes);
    if (rc != 0)
        da_error_f("%s/metrics: no devattest_reports_accepted_total or devattest_store_bytes",
                   c->url);
    return rc;
}

/* POST /v1/enroll/software for one agent; its id and the PCR selection. */
static int enroll_one(struct control *c, const struct options *o, struct lg_agent *a,
                      struct da_pcr_selection *sel)
{
    struct da_buf pub;
    cJSON *req = cJSON_CreateObject(), *ans = NULL;
    const char *id = NULL, *pcrs = NULL;
    char *body = NULL;
    int rc;

    da_buf_init(&pub, 1024);
    rc = lg_identity_new(&a->ident);
    if (rc == 0)
        rc = da_base64_encode(a->ident.pub, a->ident.pub_len, DA_BASE64_STD, &pub);
    if (rc == 0 && (req == NULL || cJSON_AddStringToObject(req, "vendor", o->vendor) == NULL ||
                    cJSON_AddStringToObject(req, "ak_public", da_buf_str(&pub)) == NULL ||
                    (body = cJSON_PrintUnformatted(req)) == NULL))
        rc = DA_ERR_NOMEM;
    if (rc == 0)
        rc = control_call(c, "/v1/enroll/software", body, 201);
    if (rc == 0 &&
        (da_json_parse(da_buf_str(&c->answer), da_buf_len(&c->answer), LG_MAX_ANSWER, &ans) != 0 ||
         da_json_get_string(ans, "agent_id", &id) != 0 ||
         da_json_get_string(ans, "pcr_selection", &pcrs) != 0 || strlen(id) >= sizeof(a->id) ||
         da_pcr_selection_parse(pcrs, sel) != 0))
        rc = DA_ERR_LOADGEN_ANSWER;
    if (rc == 0) {
        snprintf(a->id, sizeof(a->id), "%s", id);
        snprintf(a->url_nonce, sizeof(a->url_nonce), "%s/v1/agents/%s/nonce", o->url, id);
        snprintf(a->url_report, sizeof(a->url_report), "%s/v1/agents/%s/reports", o->url, id);
    }
    cJSON_Delete(req);
    cJSON_Delete(ans);
    free(body);
    da_buf_free(&pub);
    return rc;
}

/* The inventory file as one JSON string, ready to splice into a body. */
static int load_inventory(const char *path, char **out)
{
    struct da_buf text;
    cJSON *s = NULL;
    int rc;

    *out = NULL;
    if (path == NULL)
        return 0;
    rc = da_file_read(path, LG_MAX_INVENTORY, &text);
    if (rc == 0 && (s = cJSON_CreateString(da_buf_str(&text))) == NULL)
        rc = DA_ERR_NOMEM;
    if (rc == 0 && (*out = cJSON_PrintUnformatted(s)) == NULL)
        rc = DA_ERR_NOMEM;
    cJSON_Delete(s);
    da_buf_free(&text);
    return rc;
}

static double percentile(const struct lg_run_out *r, double q)
{
    double rank = ceil(q * (double)r->accepted);
    size_t i;

    if (r->accepted == 0)
        return 0;
    i = (size_t)rank;
    return 1000 * r->latency_s[(i > 0 ? i : 1) - 1];
}

static cJSON *figures(const struct options *o, const struct lg_template *t,
                      const struct lg_run_out *r, const struct server_counts *before,
                      const struct server_counts *after)
{
    cJSON *j = cJSON_CreateObject(), *lat, *err, *srv;
    double accepted = after->accepted - before->accepted;
    size_t i;

    cJSON_AddNumberToObject(j, "agents", o->agents);
    cJSON_AddNumberToObject(j, "concurrency", o->concurrency);
    cJSON_AddNumberToObject(j, "target_rate", o->rate);
    cJSON_AddNumberToObject(j, "change_rate", o->change_rate);
    size_t doc_bytes = lg_template_size(t);

    cJSON_AddNumberToObject(j, "document_bytes", (double)doc_bytes);
    cJSON_AddNumberToObject(j, "cycles", (double)r->started);
    cJSON_AddNumberToObject(j, "accepted", (double)r->accepted);
    cJSON_AddNumberToObject(j, "failed", (double)r->failed);
    cJSON_AddNumberToObject(j, "inventory_sent", (double)r->inventory_sent);
    cJSON_AddNumberToObject(j, "document_changes", (double)r->changes);
    cJSON_AddNumberToObject(j, "elapsed_s", round(r->elapsed_s * 1000) / 1000);
    cJSON_AddNumberToObject(j, "reports_per_s",
                            round(r->elapsed_s > 0 ? (double)r->accepted / r->elapsed_s : 0));
    cJSON_AddNumberToObject(j, "loadgen_cpu_ms_per_report",
                            r->accepted > 0 ? round(1e6 * r->cpu_s / (double)r->accepted) / 1000
                                            : 0);
    lat = cJSON_AddObjectToObject(j, "latency_ms");
    cJSON_AddNumberToObject(lat, "p50", round(percentile(r, 0.50) * 10) / 10);
    cJSON_AddNumberToObject(lat, "p90", round(percentile(r, 0.90) * 10) / 10);
    cJSON_AddNumberToObject(lat, "p99", round(percentile(r, 0.99) * 10) / 10);
    cJSON_AddNumberToObject(lat, "max", round(percentile(r, 1.0) * 10) / 10);
    err = cJSON_AddObjectToObject(j, "errors");
    for (i = 0; i < r->n_codes; i++)
        cJSON_AddNumberToObject(err, r->codes[i].code, (double)r->codes[i].n);
    srv = cJSON_AddObjectToObject(j, "server");
    cJSON_AddNumberToObject(srv, "reports_accepted", accepted);
    cJSON_AddNumberToObject(srv, "store_bytes_added", after->store_bytes - before->store_bytes);
    cJSON_AddNumberToObject(
        srv, "bytes_per_report",
        accepted > 0 ? round((after->store_bytes - before->store_bytes) / accepted) : 0);
    return j;
}

/* "key value" lines, nested keys joined with dots. */
static void print_flat(const cJSON *j, const char *prefix)
{
    const cJSON *it;
    char key[256];

    cJSON_ArrayForEach(it, j)
    {
        snprintf(key, sizeof(key), "%s%s%s", prefix, prefix[0] != '\0' ? "." : "", it->string);
        if (cJSON_IsObject(it))
            print_flat(it, key);
        else
            printf("%s %.15g\n", key, it->valuedouble);
    }
}

static int setup_agents(const struct options *o, struct control *c, const struct lg_template *t,
                        struct lg_agent *agents, struct da_pcr_selection *sel)
{
    unsigned i;
    int rc = 0;

    for (i = 0; rc == 0 && i < o->agents; i++) {
        rc = enroll_one(c, o, &agents[i], sel);
        if (rc == 0)
            rc = lg_agent_doc_new(t, i, o->seed, &agents[i].doc);
    }
    return rc;
}

static int run(const struct options *o)
{
    struct lg_template *t = NULL;
    struct lg_agent *agents = NULL;
    struct server_counts before, after;
    struct lg_run_out out;
    struct lg_run_in in;
    struct control c;
    struct da_buf token;
    char *inventory = NULL;
    const char *why = NULL;
    unsigned i;
    int rc;

    memset(&c, 0, sizeof(c));
    memset(&token, 0, sizeof(token));
    memset(&in, 0, sizeof(in));
    memset(&out, 0, sizeof(out));
    rc = lg_template_load(o->evidence, &t, &why);
    if (rc != 0)
        da_error_f("%s: %s", o->evidence, why != NULL ? why : da_strerror(rc));
    if (rc == 0 && (rc = load_inventory(o->inventory, &inventory)) != 0)
        da_error_f("%s: %s", o->inventory, da_strerror(rc));
    if (rc == 0 && (rc = da_file_read(o->token_file, 4096, &token)) != 0)
        da_error_f("%s: %s", o->token_file, da_strerror(rc));
    if (rc == 0)
        rc = control_open(&c, o, &token);
    if (rc == 0 && (agents = calloc(o->agents, sizeof(*agents))) == NULL)
        rc = DA_ERR_NOMEM;
    if (rc == 0)
        rc = read_counts(&c, &before);
    if (rc == 0)
        rc = setup_agents(o, &c, t, agents, &in.sel);
    if (rc == 0) {
        in.ca = o->ca;
        in.agents = agents;
        in.n_agents = o->agents;
        in.concurrency = o->concurrency;
        in.rate = o->rate;
        in.duration_s = o->duration_s;
        in.count = o->count;
        in.change_rate = o->change_rate;
        in.seed = o->seed;
        in.inventory_json = inventory;
        /* the control connection is not held open during the run: it
         * would count against the server's connections per address */
        control_close(&c);
        rc = lg_run(&in, &out);
        if (rc == 0)
            rc = control_open(&c, o, &token);
    }
    da_buf_free(&token);
    if (rc == 0)
        rc = read_counts(&c, &after);
    if (rc == 0) {
        cJSON *j = figures(o, t, &out, &before, &after);
        char *text = o->json ? cJSON_PrintUnformatted(j) : NULL;
        if (o->json && text != NULL)
            printf("%s\n", text);
        else if (!o->json)
            print_flat(j, "");
        free(text);
        cJSON_Delete(j);
        if (out.failed > 0 || out.accepted == 0)
            rc = DA_ERR_LOADGEN_ANSWER;
    }
    for (i = 0; agents != NULL && i < o->agents; i++) {
        lg_identity_free(&agents[i].ident);
        lg_agent_doc_free(agents[i].doc);
    }
    free(agents);
    lg_run_out_free(&out);
    control_close(&c);
    lg_template_free(t);
    free(inventory);
    return rc;
}

int main(int argc, char **argv)
{
    struct options o;
    int rc;

    if (parse_options(argc, argv, &o) != 0) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    da_log_set_level(DA_LOG_WARN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return EXIT_FAILED;
    rc = run(&o);
    curl_global_cleanup();
    return rc == 0 ? 0 : EXIT_FAILED;
}

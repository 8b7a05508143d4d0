#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "caps.h"
#include "err.h"
#include "kvconf.h"

/* The numeric keys: name in the file, field of struct srv_config (an
 * unsigned), kvconf type, range. Durations and sizes are written as in
 * agent.conf (15m, 1h, 30s; 64K, 8M); docs/configuration.md. */
#define SRV_NUMERIC_KEYS(X)                                                                        \
    X("port", port, DA_KV_U64, 0, 65535)                                                           \
    X("max_connections", max_connections, DA_KV_U64, 1, 65536)                                     \
    X("connection_timeout", connection_timeout_s, DA_KV_DURATION, 1, 3600)                         \
    X("max_connections_per_address", max_connections_per_address, DA_KV_U64, 1, 65536)             \
    X("request_head_timeout", request_head_timeout_s, DA_KV_DURATION, 1, 3600)                     \
    X("request_body_timeout", request_body_timeout_s, DA_KV_DURATION, 1, 3600)                     \
    X("request_body_min_rate", request_body_min_rate, DA_KV_SIZE, 1, 1u << 30)                     \
    X("http_threads", http_threads, DA_KV_U64, 0, 1024)                                            \
    X("stale_after", stale_after_s, DA_KV_DURATION, 60, 31u * 86400)                               \
    X("sweep_interval", sweep_interval_s, DA_KV_DURATION, 1, 86400)                                \
    X("evidence_retention", evidence_retention_s, DA_KV_DURATION, 0, 3660u * 86400)                \
    X("retention_interval", retention_interval_s, DA_KV_DURATION, 1, 86400)                        \
    X("retention_batch", retention_batch, DA_KV_U64, 1, 100000)                                    \
    X("webhook_retry_base", webhook_retry_base_s, DA_KV_DURATION, 1, 3600)                         \
    X("webhook_max_attempts", webhook_max_attempts, DA_KV_U64, 1, 20)                              \
    X("webhook_max_age", webhook_max_age_s, DA_KV_DURATION, 10, 7u * 86400)                        \
    X("webhook_timeout", webhook_timeout_s, DA_KV_DURATION, 1, 120)                                \
    X("webhook_queue_max", webhook_queue_max, DA_KV_U64, 1, 1000000)                               \
    X("webhook_failure_threshold", webhook_failure_threshold, DA_KV_U64, 1, 100000)                \
    X("webhook_failure_window", webhook_failure_window_s, DA_KV_DURATION, 10, 86400)               \
    X("nonce_ttl", nonce_ttl_s, DA_KV_DURATION, 5, 3600)                                           \
    X("challenge_ttl", challenge_ttl_s, DA_KV_DURATION, 5, 3600)                                   \
    X("receipt_ttl", receipt_ttl_s, DA_KV_DURATION, 60, 366u * 86400)                              \
    X("rate_per_address", rate_per_address, DA_KV_U64, 1, 1000000)                                 \
    X("burst_per_address", burst_per_address, DA_KV_U64, 1, 1000000)                               \
    X("rate_per_agent", rate_per_agent, DA_KV_U64, 1, 1000000)                                     \
    X("burst_per_agent", burst_per_agent, DA_KV_U64, 1, 1000000)                                   \
    X("nonce_rate_per_address", nonce_rate_per_address, DA_KV_U64, 1, 1000000)                     \
    X("nonce_burst_per_address", nonce_burst_per_address, DA_KV_U64, 1, 1000000)                   \
    X("ready_min_free", ready_min_free_mb, DA_KV_SIZE, 0, (uint64_t)1000000000 << 20)              \
    X("commit_batch_max", commit_batch_max, DA_KV_U64, 1, 4096)

/* What the file sets, in kvconf's types: the configuration itself for
 * strings, paths and booleans, and a uint64_t per numeric key. */
struct cfg_file {
    struct srv_config c;
#define X(name, field, type, lo, hi) uint64_t field;
    SRV_NUMERIC_KEYS(X)
#undef X
};

static int check_address(void *field, const char *v, char *reason, size_t rs)
{
    unsigned char addr[16];

    if ((inet_pton(AF_INET, v, addr) != 1 && inet_pton(AF_INET6, v, addr) != 1) ||
        strlen(v) >= sizeof(((struct srv_config *)0)->listen_address)) {
        snprintf(reason, rs, "'%s' is not a numeric IPv4 or IPv6 address", v);
        return DA_ERR_CONFIG;
    }
    memcpy(field, v, strlen(v) + 1);
    return 0;
}

static int check_pcrs(void *field, const char *v, char *reason, size_t rs)
{
    uint32_t mask = 0;

    if (srv_pcr_selection_parse(v, &mask) != 0 || mask == 0 ||
        strlen(v) >= sizeof(((struct srv_config *)0)->pcr_selection)) {
        snprintf(reason, rs, "'%s' is not a PCR selection (sha256:0-7, sha256:0,2,4-7)", v);
        return DA_ERR_CONFIG;
    }
    memcpy(field, v, strlen(v) + 1);
    return 0;
}

/* access_log: "stderr" or an absolute path (an empty value is refused as
 * in any key; leave the key out to have no access log). */
static int check_access_log(void *field, const char *v, char *reason, size_t rs)
{
    char path[PATH_MAX];

    if (strcmp(v, "stderr") != 0 && da_kv_parse_abs_path(v, path, sizeof(path), reason, rs) != 0) {
        snprintf(reason, rs, "'%s' is neither stderr nor an absolute path", v);
        return DA_ERR_CONFIG;
    }
    memcpy(field, v, strlen(v) + 1);
    return 0;
}

/* In the order of enum da_log_level, as agent.conf spells them. */
static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
_Static_assert(DA_LOG_ERROR == 0 && DA_LOG_WARN == 1 && DA_LOG_INFO == 2 && DA_LOG_DEBUG == 3 &&
                   sizeof(enum da_log_level) == sizeof(int),
               "log_levels follows enum da_log_level");

#define CFG_OFF(f)  offsetof(struct cfg_file, c.f)
#define CFG_SIZE(f) sizeof(((struct srv_config *)0)->f)
#define PATH_KEY(n)                                                                                \
    {                                                                                              \
#n, DA_KV_PATH, CFG_OFF(n), CFG_SIZE(n), 0, 0, NULL, NULL                                  \
    }
#define CUSTOM_KEY(n, fn)                                                                          \
    {                                                                                              \
#n, DA_KV_CUSTOM, CFG_OFF(n), CFG_SIZE(n), 0, 0, NULL, fn                                  \
    }

/* The one list of keys; docs/configuration.md documents each of them. */
static const struct da_kvconf_key cfg_keys[] = {
    CUSTOM_KEY(listen_address, check_address),
    PATH_KEY(state_dir),
    PATH_KEY(database),
    PATH_KEY(tls_cert),
    PATH_KEY(tls_key),
    {"plain_http", DA_KV_BOOL, CFG_OFF(plain_http), 0, 0, 0, NULL, NULL},
    {"test_software_agents", DA_KV_BOOL, CFG_OFF(test_software_agents), 0, 0, 0, NULL, NULL},
    CUSTOM_KEY(pcr_selection, check_pcrs),
    PATH_KEY(policy_file),
    PATH_KEY(dbx_reference),
    PATH_KEY(ima_agent_allowlist),
    PATH_KEY(ek_roots),
    PATH_KEY(ek_roots_local),
    {"log_level", DA_KV_ENUM, CFG_OFF(log_level), 0, 0, 0, log_levels, NULL},
    CUSTOM_KEY(access_log, check_access_log),
#define X(name, field, type, lo, hi)                                                               \
    {name, type, offsetof(struct cfg_file, field), 0, lo, hi, NULL, NULL},
    SRV_NUMERIC_KEYS(X)
#undef X
};

#define CFG_NKEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

void srv_config_defaults(struct srv_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->listen_address, sizeof(cfg->listen_address), "%s", "0.0.0.0");
    cfg->port = 8443;
    snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", "/var/lib/devattest-server");
    cfg->max_connections = 512;
    cfg->connection_timeout_s = 15;
    cfg->max_connections_per_address = 64;
    cfg->request_head_timeout_s = 10;
    cfg->request_body_timeout_s = 10;
    cfg->request_body_min_rate = 16384;
    cfg->http_threads = 0;
    cfg->stale_after_s = 86400;
    cfg->sweep_interval_s = 300;
    cfg->evidence_retention_s = 0;
    cfg->retention_interval_s = 3600;
    cfg->retention_batch = 1000;
    cfg->webhook_retry_base_s = 30;
    cfg->webhook_max_attempts = 8;
    cfg->webhook_max_age_s = 86400;
    cfg->webhook_timeout_s = 10;
    cfg->webhook_queue_max = 10000;
    cfg->webhook_failure_threshold = 5;
    cfg->webhook_failure_window_s = 3600;
    cfg->nonce_ttl_s = 120;
    cfg->challenge_ttl_s = 300;
    cfg->receipt_ttl_s = 86400;
    snprintf(cfg->pcr_selection, sizeof(cfg->pcr_selection), "%s", "sha256:0-7");
    cfg->rate_per_address = 5000;
    cfg->burst_per_address = 10000;
    cfg->rate_per_agent = 5;
    cfg->burst_per_agent = 20;
    cfg->nonce_rate_per_address = 100;
    cfg->nonce_burst_per_address = 500;
    cfg->ready_min_free_mb = 64;
    cfg->commit_batch_max = 256;
    cfg->log_level = DA_LOG_INFO;
}

int srv_pcr_selection_parse(const char *text, uint32_t *mask)
{
    const char *p;
    uint32_t m = 0;

    *mask = 0;
    if (strncmp(text, "sha256:", 7) != 0)
        return DA_ERR_CONFIG;
    p = text + 7;
    for (;;) {
        char *end = NULL;
        unsigned long a, b;

        if (*p < '0' || *p > '9')
            return DA_ERR_CONFIG;
        a = strtoul(p, &end, 10);
        b = a;
        p = end;
        if (*p == '-') {
            p++;
            if (*p < '0' || *p > '9')
                return DA_ERR_CONFIG;
            b = strtoul(p, &end, 10);
            p = end;
        }
        if (a > 23 || b > 23 || a > b)
            return DA_ERR_CONFIG;
        for (; a <= b; a++)
            m |= 1u << a;
        if (*p == '\0')
            break;
        if (*p != ',')
            return DA_ERR_CONFIG;
        p++;
    }
    *mask = m;
    return 0;
}

static void file_from_config(struct cfg_file *f, const struct srv_config *cfg)
{
    memset(f, 0, sizeof(*f));
    f->c = *cfg;
#define X(name, field, type, lo, hi) f->field = cfg->field;
    SRV_NUMERIC_KEYS(X)
#undef X
    f->ready_min_free_mb = (uint64_t)cfg->ready_min_free_mb << 20;
}

static void config_from_file(struct srv_config *cfg, const struct cfg_file *f)
{
    *cfg = f->c;
#define X(name, field, type, lo, hi) cfg->field = (unsigned)f->field;
    SRV_NUMERIC_KEYS(X)
#undef X
    /* Kept in MiB, rounded up: any non-zero floor stays non-zero. */
    cfg->ready_min_free_mb = (unsigned)((f->ready_min_free_mb + (1u << 20) - 1) >> 20);
}

int srv_config_parse_named(struct srv_config *cfg, const char *text, size_t len, const char *file,
                           struct da_kvconf_error *err)
{
    struct cfg_file f;
    int rc;

    file_from_config(&f, cfg);
    rc = da_kvconf_apply(cfg_keys, CFG_NKEYS, &f, text, len, file, NULL, err);
    if (rc == 0)
        config_from_file(cfg, &f);
    return rc;
}

int srv_config_parse(struct srv_config *cfg, const char *text, size_t len)
{
    struct da_kvconf_error err;
    char msg[DA_KVCONF_MAX_REASON + 300];
    int rc = srv_config_parse_named(cfg, text, len, "server.conf", &err);

    if (rc != 0) {
        da_kvconf_error_format(&err, msg, sizeof(msg));
        da_error_f("%s", msg);
    }
    return rc;
}

int srv_config_load(struct srv_config *cfg, const char *path, struct da_kvconf_error *err)
{
    struct cfg_file f;
    int rc;

    file_from_config(&f, cfg);
    rc = da_kvconf_apply_file(cfg_keys, CFG_NKEYS, &f, path, NULL, err);
    if (rc == 0)
        config_from_file(cfg, &f);
    return rc;
}

static int default_path(char *field, size_t size, const char *dir, const char *name)
{
    int n;

    if (field[0] != '\0')
        return 0;
    n = snprintf(field, size, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= size ? DA_ERR_CONFIG : 0;
}

static bool is_loopback(const char *addr)
{
    struct in_addr a4;

    if (strcmp(addr, "::1") == 0)
        return true;
    if (inet_pton(AF_INET, addr, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return false;
}

int srv_config_finish(struct srv_config *cfg)
{
    int rc = 0;

    rc |= default_path(cfg->database, sizeof(cfg->database), cfg->state_dir, "devattest.db");
    rc |= default_path(cfg->tls_cert, sizeof(cfg->tls_cert), cfg->state_dir, "server.pem");
    rc |= default_path(cfg->tls_key, sizeof(cfg->tls_key), cfg->state_dir, "server.key");
    rc |= default_path(cfg->policy_file, sizeof(cfg->policy_file), cfg->state_dir, "policy.json");
    if (cfg->ek_roots[0] == '\0')
        snprintf(cfg->ek_roots, sizeof(cfg->ek_roots), "%s", SRV_EK_ROOTS_DEFAULT);
    if (cfg->ek_roots_local[0] == '\0')
        snprintf(cfg->ek_roots_local, sizeof(cfg->ek_roots_local), "%s",
                 SRV_EK_ROOTS_LOCAL_DEFAULT);
    if (rc != 0)
        return DA_ERR_CONFIG;
    if (cfg->plain_http && !is_loopback(cfg->listen_address)) {
        da_error_f("plain_http is allowed only on a loopback listen_address");
        return DA_ERR_CONFIG;
    }
    return 0;
}

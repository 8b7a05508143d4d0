#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "caps.h"
#include "err.h"

enum cfg_type {
    CFG_STRING,
    CFG_PATH,
    CFG_UINT,
    CFG_BOOL,
    CFG_LOGLEVEL,
    CFG_PCRS,
    CFG_ADDRESS,
    CFG_LOGTARGET
};

struct cfg_key {
    const char *name;
    enum cfg_type type;
    size_t offset;
    size_t size; /* strings: buffer size */
    unsigned long min, max;
};

#define STR_KEY(n, t)                                                                              \
    {                                                                                              \
#n, t, offsetof(struct srv_config, n), sizeof(((struct srv_config *)0)->n), 0, 0           \
    }
#define UINT_KEY(n, lo, hi)                                                                        \
    {                                                                                              \
#n, CFG_UINT, offsetof(struct srv_config, n), 0, lo, hi                                    \
    }

/* The one list of keys; docs/configuration.md documents each of them. */
static const struct cfg_key cfg_keys[] = {
    STR_KEY(listen_address, CFG_ADDRESS),
    UINT_KEY(port, 0, 65535),
    STR_KEY(state_dir, CFG_PATH),
    STR_KEY(database, CFG_PATH),
    STR_KEY(tls_cert, CFG_PATH),
    STR_KEY(tls_key, CFG_PATH),
    {"plain_http", CFG_BOOL, offsetof(struct srv_config, plain_http), 0, 0, 0},
    UINT_KEY(max_connections, 1, 65536),
    UINT_KEY(connection_timeout_s, 1, 3600),
    UINT_KEY(max_connections_per_address, 1, 65536),
    UINT_KEY(request_head_timeout_s, 1, 3600),
    UINT_KEY(request_body_timeout_s, 1, 3600),
    UINT_KEY(request_body_min_rate, 1, 1u << 30),
    UINT_KEY(http_threads, 0, 1024),
    UINT_KEY(stale_after_s, 60, 31u * 86400),
    UINT_KEY(sweep_interval_s, 1, 86400),
    UINT_KEY(webhook_retry_base_s, 1, 3600),
    UINT_KEY(webhook_max_attempts, 1, 20),
    UINT_KEY(webhook_max_age_s, 10, 7u * 86400),
    UINT_KEY(webhook_timeout_s, 1, 120),
    UINT_KEY(webhook_queue_max, 1, 1000000),
    UINT_KEY(webhook_failure_threshold, 1, 100000),
    UINT_KEY(webhook_failure_window_s, 10, 86400),
    UINT_KEY(nonce_ttl_s, 5, 3600),
    UINT_KEY(challenge_ttl_s, 5, 3600),
    UINT_KEY(receipt_ttl_s, 60, 366u * 86400),
    STR_KEY(pcr_selection, CFG_PCRS),
    STR_KEY(policy_file, CFG_PATH),
    STR_KEY(dbx_reference, CFG_PATH),
    STR_KEY(ima_agent_allowlist, CFG_PATH),
    STR_KEY(ek_roots, CFG_PATH),
    UINT_KEY(rate_per_address, 1, 1000000),
    UINT_KEY(burst_per_address, 1, 1000000),
    UINT_KEY(rate_per_agent, 1, 1000000),
    UINT_KEY(burst_per_agent, 1, 1000000),
    UINT_KEY(nonce_rate_per_address, 1, 1000000),
    UINT_KEY(nonce_burst_per_address, 1, 1000000),
    UINT_KEY(ready_min_free_mb, 0, 1000000000),
    UINT_KEY(commit_batch_max, 1, 4096),
    {"log_level", CFG_LOGLEVEL, offsetof(struct srv_config, log_level), 0, 0, 0},
    STR_KEY(access_log, CFG_LOGTARGET),
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

static int parse_uint(const char *v, unsigned long lo, unsigned long hi, unsigned *out)
{
    char *end = NULL;
    unsigned long n;

    if (*v < '0' || *v > '9')
        return DA_ERR_CONFIG;
    errno = 0;
    n = strtoul(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < lo || n > hi)
        return DA_ERR_CONFIG;
    *out = (unsigned)n;
    return 0;
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

static int set_value(struct srv_config *cfg, const struct cfg_key *k, const char *v)
{
    char *field = (char *)cfg + k->offset;
    unsigned char addr[16];
    uint32_t mask;

    switch (k->type) {
    case CFG_UINT:
        return parse_uint(v, k->min, k->max, (unsigned *)(void *)field);
    case CFG_BOOL:
        if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0)
            *(bool *)field = true;
        else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0)
            *(bool *)field = false;
        else
            return DA_ERR_CONFIG;
        return 0;
    case CFG_LOGLEVEL:
        return da_log_parse_level(v, (enum da_log_level *)(void *)field) == 0 ? 0 : DA_ERR_CONFIG;
    case CFG_ADDRESS:
        if (inet_pton(AF_INET, v, addr) != 1 && inet_pton(AF_INET6, v, addr) != 1)
            return DA_ERR_CONFIG;
        break;
    case CFG_PCRS:
        if (srv_pcr_selection_parse(v, &mask) != 0 || mask == 0)
            return DA_ERR_CONFIG;
        break;
    case CFG_PATH:
        if (v[0] != '/')
            return DA_ERR_CONFIG;
        break;
    case CFG_LOGTARGET:
        if (v[0] != '/' && strcmp(v, "stderr") != 0)
            return DA_ERR_CONFIG;
        break;
    case CFG_STRING:
        break;
    }
    if (strlen(v) >= k->size)
        return DA_ERR_CONFIG;
    memcpy(field, v, strlen(v) + 1);
    return 0;
}

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* One line, already NUL-terminated; seen[] records keys set by this text. */
static int parse_line(struct srv_config *cfg, char *line, unsigned lineno, bool *seen)
{
    char *eq, *key, *val;
    size_t i;

    line = trim(line);
    if (*line == '\0' || *line == '#')
        return 0;
    eq = strchr(line, '=');
    if (eq == NULL) {
        da_error_f("config line %u: expected key = value", lineno);
        return DA_ERR_CONFIG;
    }
    *eq = '\0';
    key = trim(line);
    val = trim(eq + 1);
    for (i = 0; i < CFG_NKEYS; i++) {
        if (strcmp(cfg_keys[i].name, key) != 0)
            continue;
        if (seen[i]) {
            da_error_f("config line %u: %s is set twice", lineno, key);
            return DA_ERR_CONFIG;
        }
        seen[i] = true;
        if (set_value(cfg, &cfg_keys[i], val) != 0) {
            da_error_f("config line %u: invalid value for %s", lineno, key);
            return DA_ERR_CONFIG;
        }
        return 0;
    }
    da_error_f("config line %u: unknown key '%.64s'", lineno, key);
    return DA_ERR_CONFIG;
}

int srv_config_parse(struct srv_config *cfg, const char *text, size_t len)
{
    bool seen[CFG_NKEYS] = {false};
    char line[1024];
    size_t pos = 0;
    unsigned lineno = 0;
    int rc;

    if (len > DA_MAX_CONFIG)
        return DA_ERR_TOO_LARGE;
    while (pos < len) {
        size_t n = 0;

        lineno++;
        while (pos < len && text[pos] != '\n') {
            if (text[pos] == '\0' || n + 1 >= sizeof(line)) {
                da_error_f("config line %u: NUL byte or line too long", lineno);
                return DA_ERR_CONFIG;
            }
            line[n++] = text[pos++];
        }
        line[n] = '\0';
        pos++; /* the newline */
        rc = parse_line(cfg, line, lineno, seen);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int srv_config_load(struct srv_config *cfg, const char *path)
{
    struct da_buf b;
    char chunk[4096];
    FILE *f;
    size_t n;
    int rc = 0;

    da_buf_init(&b, DA_MAX_CONFIG);
    f = fopen(path, "r");
    if (f == NULL) {
        da_error_f("%s: %s", path, strerror(errno));
        return DA_ERR_IO;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        rc = da_buf_append(&b, chunk, n);
        if (rc != 0)
            goto out;
    }
    if (ferror(f)) {
        rc = DA_ERR_IO;
        goto out;
    }
    rc = srv_config_parse(cfg, da_buf_str(&b), da_buf_len(&b));
out:
    fclose(f);
    da_buf_free(&b);
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
    rc |= default_path(cfg->ek_roots, sizeof(cfg->ek_roots), cfg->state_dir, "ek-roots.pem");
    if (rc != 0)
        return DA_ERR_CONFIG;
    if (cfg->plain_http && !is_loopback(cfg->listen_address)) {
        da_error_f("plain_http is allowed only on a loopback listen_address");
        return DA_ERR_CONFIG;
    }
    return 0;
}

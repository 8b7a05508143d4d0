#include "agent_config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* Indexed by enum agent_tpm_mode (tpm.h). */
static const char *const tpm_mode_names[] = {"tpm", "software", NULL};
static const char *const role_names[] = {"development", "test", "build", "production", NULL};
static const char *const log_level_names[] = {"error", "warn", "info", "debug", NULL};
static const char *const log_target_names[] = {"stderr", "syslog", NULL};
static const char *const sandbox_names[] = {"enforce", "log", NULL};
static const char *const privacy_names[] = {"standard", "minimal", NULL}; /* da_privacy_mode */

/* Programs whose identity the toolchain collector reports by default. */
#define DEFAULT_TOOLCHAIN "cc, gcc, g++, clang, ld, as, ar, make, cmake, ninja, git"

const char *agent_env_role_name(int role)
{
    return role >= 0 && role <= AGENT_ROLE_PRODUCTION ? role_names[role] : "unknown";
}

const char *agent_tpm_mode_name(int mode)
{
    return mode >= 0 && mode <= 1 ? tpm_mode_names[mode] : "unknown";
}

static int check_url(void *field, const char *v, char *reason, size_t rs)
{
    struct da_kv_url u;

    (void)field;
    /* http:// is accepted here only for loopback hosts; whether it is allowed
     * at all depends on allow_http_loopback, checked once all keys are read. */
    if (da_kv_parse_url(v, &u, reason, rs) != 0)
        return DA_ERR_CONFIG;
    if (!u.https && !u.loopback) {
        snprintf(reason, rs, "plain http is allowed only to a loopback address; use https://");
        return DA_ERR_CONFIG;
    }
    return 0;
}

/* A time-stamp token is checked on its own (its signature, the imprint of
 * our signature), so plain http is fine here, as most TSAs serve it. */
static int check_tsa_url(void *field, const char *v, char *reason, size_t rs)
{
    struct da_kv_url u;

    (void)field;
    return v[0] == '\0' ? 0 : (da_kv_parse_url(v, &u, reason, rs) != 0 ? DA_ERR_CONFIG : 0);
}

static int check_ca(void *field, const char *v, char *reason, size_t rs)
{
    char tmp[PATH_MAX];

    if (strcmp(v, "system") == 0)
        return 0;
    (void)field;
    return da_kv_parse_abs_path(v, tmp, sizeof(tmp), reason, rs);
}

static int check_tcti(void *field, const char *v, char *reason, size_t rs)
{
    static const char *const prefixes[] = {"device:", "swtpm:", "mssim:", "tabrmd:", NULL};
    size_t i;

    (void)field;
    for (i = 0; prefixes[i] != NULL; i++) {
        if (strncmp(v, prefixes[i], strlen(prefixes[i])) == 0)
            return 0;
    }
    snprintf(reason, rs, "'%s' does not start with device:, swtpm:, mssim: or tabrmd:", v);
    return DA_ERR_CONFIG;
}

static int is_tool_name(const char *s)
{
    for (; *s != '\0'; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '+' || *s == '-'))
            return 0;
    }
    return 1;
}

static int check_toolchain(void *field, const char *v, char *reason, size_t rs)
{
    const struct da_kv_list *l = field;
    char tmp[PATH_MAX];
    size_t i;

    (void)v;
    for (i = 0; i < l->n; i++) {
        if (l->items[i][0] == '/') {
            if (da_kv_parse_abs_path(l->items[i], tmp, sizeof(tmp), reason, rs) != 0)
                return DA_ERR_CONFIG;
        } else if (!is_tool_name(l->items[i]) || l->items[i][0] == '.') {
            snprintf(reason, rs, "'%s' is neither a program name nor an absolute path",
                     l->items[i]);
            return DA_ERR_CONFIG;
        }
    }
    return 0;
}

/* Production patterns are shell globs, matched case-insensitively with
 * fnmatch by the separation collector; any text is a valid glob, so only the
 * list rules (non-empty elements, caps) apply. */

static int check_networks(void *field, const char *v, char *reason, size_t rs)
{
    const struct da_kv_list *l = field;
    struct da_kv_cidr c;
    size_t i;

    (void)v;
    for (i = 0; i < l->n; i++) {
        if (da_kv_parse_cidr(l->items[i], &c, reason, rs) != 0)
            return DA_ERR_CONFIG;
    }
    return 0;
}

static int check_dirs(void *field, const char *v, char *reason, size_t rs)
{
    const struct da_kv_list *l = field;
    char tmp[PATH_MAX];
    size_t i;

    (void)v;
    for (i = 0; i < l->n; i++) {
        if (da_kv_parse_abs_path(l->items[i], tmp, sizeof(tmp), reason, rs) != 0)
            return DA_ERR_CONFIG;
    }
    return 0;
}

static int check_account(const char *what, const char *v, char *reason, size_t rs)
{
    const char *p = v;

    if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
        goto bad;
    for (p++; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            goto bad;
    }
    return 0;
bad:
    snprintf(reason, rs, "'%s' is not a %s name ([a-z_][a-z0-9_-]*)", v, what);
    return DA_ERR_CONFIG;
}

static int check_group(void *field, const char *v, char *reason, size_t rs)
{
    (void)field;
    return check_account("group", v, reason, rs);
}

static int check_user(void *field, const char *v, char *reason, size_t rs)
{
    (void)field;
    return check_account("user", v, reason, rs);
}

#define FIELD(n) offsetof(struct agent_config, n)
#define SIZE(n)  sizeof(((struct agent_config *)0)->n)

/* The one list of agent.conf keys; docs/configuration.md documents each. */
static const struct da_kvconf_key agent_keys[] = {
    {"server_url", DA_KV_STRING, FIELD(server_url), SIZE(server_url), 0, 0, NULL, check_url},
    {"allow_http_loopback", DA_KV_BOOL, FIELD(allow_http_loopback), 0, 0, 0, NULL, NULL},
    {"server_ca", DA_KV_STRING, FIELD(server_ca), SIZE(server_ca), 0, 0, NULL, check_ca},
    {"tcti", DA_KV_STRING, FIELD(tcti), SIZE(tcti), 0, 0, NULL, check_tcti},
    {"tpm_mode", DA_KV_ENUM, FIELD(tpm_mode), 0, 0, 0, tpm_mode_names, NULL},
    {"state_dir", DA_KV_PATH, FIELD(state_dir), SIZE(state_dir), 0, 0, NULL, NULL},
    {"spool_dir", DA_KV_PATH, FIELD(spool_dir), SIZE(spool_dir), 0, 0, NULL, NULL},
    {"test_only_event_log_file", DA_KV_PATH, FIELD(test_only_event_log_file),
     SIZE(test_only_event_log_file), 0, 0, NULL, NULL},
    {"test_only_ima_file", DA_KV_PATH, FIELD(test_only_ima_file), SIZE(test_only_ima_file), 0, 0,
     NULL, NULL},
    {"interval", DA_KV_DURATION, FIELD(interval_s), 0, 30, 7 * 86400, NULL, NULL},
    {"jitter", DA_KV_DURATION, FIELD(jitter_s), 0, 0, 86400, NULL, NULL},
    {"spool_max_reports", DA_KV_U64, FIELD(spool_max_reports), 0, 1, 100000, NULL, NULL},
    {"spool_max_bytes", DA_KV_SIZE, FIELD(spool_max_bytes), 0, 1024 * 1024,
     16ull * 1024 * 1024 * 1024, NULL, NULL},
    {"toolchain", DA_KV_LIST, FIELD(toolchain), 0, 0, 0, NULL, check_toolchain},
    {"production_patterns", DA_KV_LIST, FIELD(production_patterns), 0, 0, 0, NULL, NULL},
    {"production_networks", DA_KV_LIST, FIELD(production_networks), 0, 0, 0, NULL, check_networks},
    {"environment_role", DA_KV_ENUM, FIELD(environment_role), 0, 0, 0, role_names, NULL},
    {"source_dirs", DA_KV_LIST, FIELD(source_dirs), 0, 0, 0, NULL, check_dirs},
    {"log_level", DA_KV_ENUM, FIELD(log_level), 0, 0, 0, log_level_names, NULL},
    {"log_target", DA_KV_ENUM, FIELD(log_target), 0, 0, 0, log_target_names, NULL},
    {"attest_socket", DA_KV_PATH, FIELD(attest_socket), SIZE(attest_socket), 0, 0, NULL, NULL},
    {"attest_group", DA_KV_STRING, FIELD(attest_group), SIZE(attest_group), 0, 0, NULL,
     check_group},
    {"attest_max_receipt_age", DA_KV_DURATION, FIELD(attest_max_receipt_age_s), 0, 60, 31 * 86400,
     NULL, NULL},
    {"attest_allow_noncompliant", DA_KV_BOOL, FIELD(attest_allow_noncompliant), 0, 0, 0, NULL,
     NULL},
    {"tsa_url", DA_KV_STRING, FIELD(tsa_url), SIZE(tsa_url), 0, 0, NULL, check_tsa_url},
    {"sandbox", DA_KV_ENUM, FIELD(sandbox), 0, 0, 0, sandbox_names, NULL},
    {"privacy", DA_KV_ENUM, FIELD(privacy), 0, 0, 0, privacy_names, NULL},
    {"collect_root", DA_KV_PATH, FIELD(collect_root), SIZE(collect_root), 0, 0, NULL, NULL},
    {"user", DA_KV_STRING, FIELD(user), SIZE(user), 0, 0, NULL, check_user},
};

#define AGENT_NKEYS (sizeof(agent_keys) / sizeof(agent_keys[0]))

static int key_index(const char *name)
{
    size_t i;

    for (i = 0; i < AGENT_NKEYS; i++) {
        if (strcmp(agent_keys[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

int agent_config_defaults(struct agent_config *cfg)
{
    char reason[DA_KVCONF_MAX_REASON];

    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->server_ca, sizeof(cfg->server_ca), "%s", "/etc/devattest/server-ca.pem");
    snprintf(cfg->tcti, sizeof(cfg->tcti), "%s", "device:/dev/tpmrm0");
    cfg->tpm_mode = 0; /* tpm; software only when configured */
    snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", "/var/lib/devattest");
    cfg->interval_s = 15 * 60;
    cfg->jitter_s = 60;
    cfg->spool_max_reports = 1000;
    cfg->spool_max_bytes = 256ull * 1024 * 1024;
    cfg->environment_role = AGENT_ROLE_DEVELOPMENT;
    cfg->log_level = DA_LOG_INFO;
    cfg->log_target = DA_LOG_STDERR;
    snprintf(cfg->attest_socket, sizeof(cfg->attest_socket), "%s", "/run/devattest/agent.sock");
    snprintf(cfg->attest_group, sizeof(cfg->attest_group), "%s", "devattest");
    cfg->attest_max_receipt_age_s = 3600;
    cfg->sandbox = AGENT_SANDBOX_ENFORCE;
    snprintf(cfg->user, sizeof(cfg->user), "%s", "devattest");
    return da_kv_parse_list(DEFAULT_TOOLCHAIN, &cfg->toolchain, reason, sizeof(reason));
}

/* Rules that involve more than one key, and derived values. */
static int config_finish(struct agent_config *cfg, const unsigned *seen,
                         struct da_kvconf_error *err)
{
    char reason[DA_KVCONF_MAX_REASON];
    int url = key_index("server_url");

    if (cfg->server_url[0] != '\0') {
        if (da_kv_parse_url(cfg->server_url, &cfg->server, reason, sizeof(reason)) != 0) {
            da_kvconf_error_set(err, seen[url], "server_url: %s", reason);
            return DA_ERR_CONFIG;
        }
        if (!cfg->server.https && !cfg->allow_http_loopback) {
            da_kvconf_error_set(err, seen[url],
                                "server_url: plain http needs allow_http_loopback = yes "
                                "(and a loopback host)");
            return DA_ERR_CONFIG;
        }
    }
    {
        /* "/" reads the running machine: the collectors' empty root */
        size_t n = strlen(cfg->collect_root);

        while (n > 0 && cfg->collect_root[n - 1] == '/')
            cfg->collect_root[--n] = '\0';
    }
    if (cfg->jitter_s > cfg->interval_s) {
        da_kvconf_error_set(err, seen[key_index("jitter")],
                            "jitter: %llus is longer than interval (%llus)",
                            (unsigned long long)cfg->jitter_s, (unsigned long long)cfg->interval_s);
        return DA_ERR_CONFIG;
    }
    if (cfg->spool_dir[0] == '\0') {
        int w = snprintf(cfg->spool_dir, sizeof(cfg->spool_dir), "%s/spool",
                         strcmp(cfg->state_dir, "/") == 0 ? "" : cfg->state_dir);

        if (w < 0 || (size_t)w >= sizeof(cfg->spool_dir)) {
            da_kvconf_error_set(err, seen[key_index("state_dir")], "state_dir: path too long");
            return DA_ERR_CONFIG;
        }
    }
    return 0;
}

int agent_config_parse(struct agent_config *cfg, const char *text, size_t len, const char *file,
                       struct da_kvconf_error *err)
{
    unsigned seen[AGENT_NKEYS];
    int r;

    r = da_kvconf_apply(agent_keys, AGENT_NKEYS, cfg, text, len, file, seen, err);
    if (r != 0)
        return r;
    return config_finish(cfg, seen, err);
}

int agent_config_load(struct agent_config *cfg, const char *path, struct da_kvconf_error *err)
{
    unsigned seen[AGENT_NKEYS];
    int r;

    r = agent_config_defaults(cfg);
    if (r != 0)
        return r;
    r = da_kvconf_apply_file(agent_keys, AGENT_NKEYS, cfg, path, seen, err);
    if (r != 0)
        return r;
    return config_finish(cfg, seen, err);
}

void agent_config_free(struct agent_config *cfg)
{
    if (cfg == NULL)
        return;
    da_kv_list_free(&cfg->toolchain);
    da_kv_list_free(&cfg->production_patterns);
    da_kv_list_free(&cfg->production_networks);
    da_kv_list_free(&cfg->source_dirs);
}

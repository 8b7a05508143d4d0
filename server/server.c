#include "server.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include <openssl/x509.h>

#include "digest.h"
#include "err.h"
#include "ek_roots.h"
#include "eventlog_facts.h"
#include "log.h"
#include "policy_state.h"
#include "receipt_keys.h"

int64_t srv_now(void)
{
    return (int64_t)time(NULL);
}

uint64_t srv_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t srv_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void srv_audit(struct srv_ctx *ctx, const char *actor, const char *action, const char *subject,
               int code, const char *detail)
{
    const char *c = code != 0 ? da_err_code(code) : "ok";
    int rc;

    da_info_f("audit: actor=%s action=%s subject=%s code=%s %s", actor, action,
              subject != NULL ? subject : "", c, detail != NULL ? detail : "");
    rc = srv_store_audit(ctx->store, actor, action, subject, c, detail);
    if (rc != 0)
        da_error_f("audit record not stored: %s", da_strerror(rc));
}

/* Trusted EK CAs: the makers' shipped set and the operator's additions;
 * none means enrollment with a certificate is refused. */
static int load_ek_trust(const struct srv_config *cfg, struct da_ek_trust **out)
{
    const char *paths[2] = {cfg->ek_roots, cfg->ek_roots_local};
    struct srv_ek_roots r;
    int rc = srv_ek_roots_load(paths, 2, time(NULL), &r);

    *out = NULL;
    if (rc != 0)
        return rc;
    if (r.trust == NULL)
        da_warn_f("%s, %s: no trusted EK roots; enrollment with an EK certificate will be refused",
                  cfg->ek_roots, cfg->ek_roots_local);
    srv_ek_roots_log(&r);
    *out = r.trust;
    srv_ek_roots_clear(&r, 0);
    return 0;
}

/* A policy that reads measured boot facts needs the PCRs the boot loader
 * and shim extend as well: 8 and 9 (GRUB, kernel command line and files),
 * 12 (systemd's UKI loader: command line, initrd) and 14 (shim's MOK lists) join every quoted bank;
 * one that reads IMA facts needs PCR 10. The selection as configured is kept otherwise. */
int srv_selection_for_policy(const char *configured, const char *policy_json,
                             struct srv_selection *out)
{
    const uint32_t boot = (1u << 8) | (1u << 9) | (1u << 12) | (1u << 14);
    struct da_pcr_selection base;
    char text[sizeof(out->text)];
    uint32_t add = 0;
    size_t o = 0;
    int w;

    memset(out, 0, sizeof(*out));
    if (strlen(configured) >= sizeof(text) || da_pcr_selection_parse(configured, &base) != 0)
        return DA_ERR_CONFIG;
    snprintf(text, sizeof(text), "%s", configured);
    if (policy_json != NULL && strstr(policy_json, "\"/attestation/boot/") != NULL)
        add |= boot;
    if (policy_json != NULL && strstr(policy_json, "\"/attestation/ima/") != NULL)
        add |= 1u << DA_IMA_PCR;
    if (add != 0) {
        for (size_t b = 0; b < base.count; b++) {
            const char *name = da_eventlog_alg_name(base.banks[b].hash);
            uint32_t pcrs = base.banks[b].pcrs | add;
            const char *sep = "";
            if (name == NULL)
                return DA_ERR_CONFIG;
            w = snprintf(text + o, sizeof(text) - o, "%s%s:", b > 0 ? "+" : "", name);
            if (w < 0 || (size_t)w >= sizeof(text) - o)
                return DA_ERR_CONFIG;
            o += (size_t)w;
            /* runs of three or more as ranges, to stay within the text */
            for (int i = 0; i < DA_PCR_MAX; i++) {
                int k = i;
                if ((pcrs & (1u << i)) == 0)
                    continue;
                while (k + 1 < DA_PCR_MAX && (pcrs & (1u << (k + 1))) != 0)
                    k++;
                if (k - i >= 2)
                    w = snprintf(text + o, sizeof(text) - o, "%s%d-%d", sep, i, k);
                else
                    w = snprintf(text + o, sizeof(text) - o, "%s%d", sep, i);
                if (w < 0 || (size_t)w >= sizeof(text) - o)
                    return DA_ERR_CONFIG;
                o += (size_t)w;
                sep = ",";
                if (k - i >= 2)
                    i = k;
            }
        }
    }
    if (srv_pcr_selection_parse(text, &out->mask) != 0 ||
        da_pcr_selection_parse(text, &out->sel) != 0)
        return DA_ERR_CONFIG;
    memcpy(out->text, text, sizeof(text));
    return 0;
}

extern const unsigned char srv_dbx_reference_builtin[];
extern const size_t srv_dbx_reference_builtin_len;

/* The dated dbx reference (docs/evidence.md): the configured file, else
 * the one shipped with the server (server/data/dbx). */
static int load_dbx_reference(struct srv_ctx *ctx)
{
    const char *from = ctx->cfg.dbx_reference;
    char *text = NULL;
    size_t len = 0;
    int rc;

    if (from[0] == '\0') {
        from = "(built in)";
        rc = da_dbx_reference_parse((const char *)srv_dbx_reference_builtin,
                                    srv_dbx_reference_builtin_len, &ctx->dbx_ref);
    } else {
        rc = srv_read_file(from, (size_t)DA_DBX_REF_MAX * 80 + 4096, &text, &len);
        if (rc == 0)
            rc = da_dbx_reference_parse(text, len, &ctx->dbx_ref);
        free(text);
    }
    if (rc != 0)
        da_error_f("dbx_reference %s cannot be used: %s", from, da_strerror(rc));
    else
        da_info_f("dbx reference %s of %s: %zu revocations", from, ctx->dbx_ref.date,
                  ctx->dbx_ref.n);
    return rc;
}

/* The allowlist of released agent builds, when configured. */
static int load_ima_allowlist(struct srv_ctx *ctx)
{
    char *text = NULL;
    size_t len = 0;
    int rc;

    if (ctx->cfg.ima_agent_allowlist[0] == '\0')
        return 0;
    rc = srv_read_file(ctx->cfg.ima_agent_allowlist, 4096u * 80, &text, &len);
    if (rc == 0)
        rc = srv_ima_allowlist_parse(text, len, &ctx->ima_allow);
    free(text);
    if (rc != 0)
        da_error_f("ima_agent_allowlist %s cannot be used: %s", ctx->cfg.ima_agent_allowlist,
                   da_strerror(rc));
    return rc;
}

int srv_ctx_open(const struct srv_config *cfg, struct srv_ctx **out)
{
    struct srv_ctx *ctx;
    int rc;

    *out = NULL;
    ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return DA_ERR_NOMEM;
    ctx->cfg = *cfg;
    pthread_rwlock_init(&ctx->policy_lock, NULL);
    if (cfg->test_software_agents)
        da_warn_f("test_software_agents = yes: agents without a TPM can be enrolled by an "
                  "admin (POST /v1/enroll/software); every report of one says trust software");
    rc = srv_selection_for_policy(cfg->pcr_selection, NULL, &ctx->configured);
    if (rc == 0)
        rc = srv_keys_load(cfg->state_dir, cfg->plain_http ? NULL : cfg->tls_cert,
                           cfg->plain_http ? NULL : cfg->tls_key, &ctx->keys);
    if (rc == 0)
        rc = srv_key_id(ctx->keys->receipt_key, ctx->receipt_keyid);
    if (rc == 0)
        rc = srv_store_open_pool(srv_config_store(cfg), cfg->commit_batch_max,
                                 cfg->store_connections, cfg->stale_after_s, &ctx->store);
    if (rc == 0)
        srv_store_set_latency(ctx->store, &ctx->metrics.store_write_latency,
                              &ctx->metrics.store_read_latency);
    if (rc == 0)
        rc = srv_access_log_open(cfg->access_log, &ctx->access_log);
    if (rc == 0)
        rc = srv_ratelimit_new(cfg->rate_per_address, cfg->burst_per_address, &ctx->rl_address);
    if (rc == 0)
        rc = srv_ratelimit_new(cfg->rate_per_agent, cfg->burst_per_agent, &ctx->rl_agent);
    if (rc == 0)
        rc = srv_ratelimit_new(cfg->nonce_rate_per_address, cfg->nonce_burst_per_address,
                               &ctx->rl_nonce);
    if (rc == 0)
        rc = srv_ak_cache_new(&ctx->ak_cache);
    if (rc == 0)
        rc = load_ek_trust(cfg, &ctx->ek_trust);
    if (rc == 0)
        rc = srv_policy_load_initial(ctx);
    if (rc == 0)
        rc = load_dbx_reference(ctx);
    if (rc == 0)
        rc = load_ima_allowlist(ctx);
    if (rc == 0)
        rc = srv_webhooks_start(ctx, &ctx->webhooks);
    if (rc != 0) {
        srv_ctx_close(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}

void srv_ctx_close(struct srv_ctx *ctx)
{
    if (ctx == NULL)
        return;
    srv_webhooks_stop(ctx->webhooks); /* before the store it reads */
    srv_store_close(ctx->store);
    srv_access_log_close(ctx->access_log);
    srv_keys_free(ctx->keys);
    srv_ratelimit_free(ctx->rl_address);
    srv_ratelimit_free(ctx->rl_agent);
    srv_ratelimit_free(ctx->rl_nonce);
    srv_ak_cache_free(ctx->ak_cache);
    da_ek_trust_free(ctx->ek_trust);
    srv_policy_put(ctx->policy);
    da_dbx_reference_free(&ctx->dbx_ref);
    srv_ima_allowlist_free(&ctx->ima_allow);
    pthread_rwlock_destroy(&ctx->policy_lock);
    free(ctx);
}

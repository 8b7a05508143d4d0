/* Agent endpoints of the report cycle: nonce, then report.
 *
 * A report is checked strictly and in a fixed order (docs/ARCHITECTURE.md):
 * body, agent, nonce + quote (verification core), TPM counters, inventory,
 * policy; then evidence, verdict, transcript and receipt are stored with the
 * nonce's single use in one transaction. Every rejection is audited with
 * its code and changes nothing else. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "caps.h"
#include "digest.h"
#include "encoding.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "ima.h"
#include "measured.h"
#include "nonce.h"
#include "pending_age.h"
#include "policy_state.h"
#include "quote.h"
#include "receipt.h"
#include "render.h"
#include "report_parse.h"
#include "token.h"
#include "picky.h"
#include "verdict.h"

/* The usable agent named in the path: known and not revoked; with its IMA
 * state, read in the same statement (*have_ima: one is stored). */
static int agent_for_request(struct srv_request *req, struct srv_agent **out,
                             struct srv_ima_state *ima, int *have_ima)
{
    bool have = false;
    int rc = srv_store_agent_get_ima(req->srv->store, req->param[0], srv_now(), out, ima, &have);

    *have_ima = have;

    if (rc == 0 && (*out)->revoked) {
        srv_agent_free(*out);
        *out = NULL;
        rc = DA_ERR_AGENT_REVOKED;
    }
    return rc;
}

static int add_selection(cJSON *o, const struct srv_selection *sel)
{
    cJSON *arr;
    unsigned i;

    if (cJSON_AddStringToObject(o, "pcr_selection", sel->text) == NULL)
        return DA_ERR_NOMEM;
    arr = cJSON_AddArrayToObject(o, "pcrs");
    for (i = 0; arr != NULL && i < 24; i++) {
        if ((sel->mask & (1u << i)) != 0 && !cJSON_AddItemToArray(arr, cJSON_CreateNumber(i)))
            return DA_ERR_NOMEM;
    }
    return arr != NULL ? 0 : DA_ERR_NOMEM;
}

/* What the server holds of the agent's IMA list, so that it sends only the
 * entries after it: {"boot": the quote's resetCount, "entries": N}. Left
 * out when nothing is held, or the state's banks are not the quoted ones:
 * the agent then sends its whole list. */
static int add_ima_count(cJSON *o, const struct da_pcr_selection *sel,
                         const struct srv_ima_state *st, int have)
{
    unsigned banks = srv_ima_banks(sel);
    cJSON *ima;

    if (banks == 0 || !have || st->agg.banks != banks)
        return 0;
    ima = cJSON_AddObjectToObject(o, "ima");
    if (ima == NULL || cJSON_AddNumberToObject(ima, "boot", st->reset_count) == NULL ||
        cJSON_AddNumberToObject(ima, "entries", (double)st->agg.entries) == NULL)
        return DA_ERR_NOMEM;
    return 0;
}

/* The nonce request carries nothing: its body is empty or {}. */
static int check_nonce_body(struct srv_request *req, struct srv_response *resp)
{
    static const char *const none[] = {NULL};
    cJSON *root = NULL;
    int rc;

    if (req->body_len == 0)
        return 0;
    rc = srv_parse_body(req, resp, &root);
    if (rc == 0)
        rc = srv_json_only_keys(root, none, resp);
    cJSON_Delete(root);
    return rc;
}

/* Anyone may ask for a nonce (the agent proves itself only with the quote),
 * so nonce requests are limited per client address, never per agent. */
static int nonce_rate_limit(struct srv_request *req)
{
    if (srv_ratelimit_take(req->srv->rl_nonce, req->address, srv_mono_ms()))
        return 0;
    atomic_fetch_add(&req->srv->metrics.rate_limited, 1);
    return DA_ERR_RATE_LIMITED;
}

int srv_api_nonce(struct srv_request *req, struct srv_response *resp)
{
    uint8_t nonce[DA_NONCE_LEN];
    struct srv_agent *a = NULL;
    struct srv_ima_state ima;
    int have_ima = 0;
    struct srv_policy *p = srv_policy_get(req->srv);
    const struct srv_selection *sel = srv_policy_selection(req->srv, p);
    struct da_buf b64;
    char expires[32];
    int64_t now = srv_now();
    cJSON *o = NULL;
    int rc;

    memset(&ima, 0, sizeof(ima));
    da_buf_init(&b64, 2 * DA_NONCE_LEN);
    rc = nonce_rate_limit(req);
    if (rc == 0)
        rc = check_nonce_body(req, resp);
    if (rc == 0)
        rc = agent_for_request(req, &a, &ima, &have_ima);
    if (rc == 0)
        rc =
            da_report_nonce_make(req->srv->keys->nonce_key, sizeof(req->srv->keys->nonce_key),
                                 a->id, &sel->sel, (uint64_t)now, req->srv->cfg.nonce_ttl_s, nonce);
    if (rc == 0)
        rc = da_base64_encode(nonce, sizeof(nonce), DA_BASE64_STD, &b64);
    if (rc == 0) {
        srv_time_rfc3339(now + req->srv->cfg.nonce_ttl_s, expires);
        o = cJSON_CreateObject();
        if (cJSON_AddStringToObject(o, "nonce", da_buf_str(&b64)) == NULL ||
            cJSON_AddStringToObject(o, "expires_at", expires) == NULL)
            rc = DA_ERR_NOMEM;
    }
    if (rc == 0)
        rc = add_selection(o, sel);
    if (rc == 0)
        rc = add_ima_count(o, &sel->sel, &ima, have_ima);
    srv_ima_state_clear(&ima);
    srv_policy_put(p);
    srv_agent_free(a);
    da_buf_free(&b64);
    if (rc != 0) {
        cJSON_Delete(o);
        return rc;
    }
    return srv_respond_json(resp, 200, o);
}

/* Everything one report check needs and produces. */
struct ingest {
    struct srv_request *req;
    struct srv_response *resp;
    struct srv_report_in *in;
    struct srv_agent *agent;
    struct srv_ak_ref *ak;
    struct srv_policy *policy;
    const struct srv_selection *sel; /* the one the quote verified with */
    struct da_tpm_clock clock;
    int firmware_changed;
    cJSON *verdict;
    const cJSON *controls;
    bool compliant;
    struct srv_report rec;
    char *inventory_copy;
    struct srv_pending_set pending;  /* the server's first-seen times */
    cJSON *boot;                     /* /attestation/boot (measured.h) */
    cJSON *boot_state;               /* this report's boot state, when the log replays */
    cJSON *boot_changed;             /* changes from the agent's reference state */
    char boot_reference[SRV_ID_HEX]; /* the report that holds the reference */
    char *boot_state_json;           /* boot_state when it becomes the reference */
    struct srv_boot_change *changes; /* boot_changed as stored */
    char **change_texts;             /* their JSON texts, two per change */
    size_t n_changes;
    cJSON *ima;                    /* /attestation/ima (ima.h) */
    struct srv_ima_state ima_prev; /* the stored state the increment extends */
    int have_ima_prev;
    struct srv_ima_state *ima_next; /* to store with the report */
};

static void ingest_free(struct ingest *g)
{
    srv_report_in_free(g->in);
    srv_agent_free(g->agent);
    srv_ak_cache_put(g->req->srv->ak_cache, g->ak);
    srv_policy_put(g->policy);
    cJSON_Delete(g->verdict);
    free(g->rec.verdict_json);
    free(g->rec.transcript_json);
    free(g->rec.receipt_json);
    srv_pending_set_free(&g->pending);
    cJSON_Delete(g->boot);
    cJSON_Delete(g->boot_state);
    cJSON_Delete(g->boot_changed);
    cJSON_Delete(g->ima);
    srv_ima_state_clear(&g->ima_prev);
    srv_ima_state_clear(g->ima_next);
    free(g->ima_next);
    free(g->boot_state_json);
    for (size_t i = 0; i < 2 * g->n_changes; i++)
        free(g->change_texts[i]);
    free(g->change_texts);
    free(g->changes);
}

static int verify_quote(struct ingest *g)
{
    const struct srv_ctx *ctx = g->req->srv;
    struct da_report_quote q;
    int rc;

    rc = srv_ak_cache_get(ctx->ak_cache, g->agent->id, g->agent->ak_name, g->agent->ak_public,
                          g->agent->ak_public_len, &g->ak);
    if (rc != 0)
        return DA_ERR_INTERNAL; /* the enrolled AK was checked at enrollment */
    memset(&q, 0, sizeof(q));
    q.agent_id = g->agent->id;
    q.nonce = da_buf_data(&g->in->nonce);
    q.nonce_len = da_buf_len(&g->in->nonce);
    q.evidence_digest = g->in->evidence_digest;
    q.attest = da_buf_data(&g->in->attest);
    q.attest_len = da_buf_len(&g->in->attest);
    q.sig = da_buf_data(&g->in->signature);
    q.sig_len = da_buf_len(&g->in->signature);
    q.pcr_values = da_buf_data(&g->in->pcr_values);
    q.pcr_values_len = da_buf_len(&g->in->pcr_values);
    /* The nonce's single use is recorded with the report, in one transaction.
     * A nonce issued before the policy last changed the selection was made
     * for the previous one. */
    g->sel = srv_policy_selection(ctx, g->policy);
    rc = da_report_quote_verify(ctx->keys->nonce_key, sizeof(ctx->keys->nonce_key),
                                (uint64_t)srv_now(), srv_ak_ref_key(g->ak), &g->sel->sel, &q, NULL,
                                NULL, &g->clock);
    if (rc == DA_ERR_VERIFY_NONCE && g->policy != NULL && g->policy->has_prev) {
        g->sel = &g->policy->prev;
        rc = da_report_quote_verify(ctx->keys->nonce_key, sizeof(ctx->keys->nonce_key),
                                    (uint64_t)srv_now(), srv_ak_ref_key(g->ak), &g->sel->sel, &q,
                                    NULL, NULL, &g->clock);
    }
    return rc;
}

static int check_counters(struct ingest *g)
{
    struct da_tpm_clock prev;

    g->firmware_changed = 0;
    if (g->agent->last_verified_at == 0)
        return 0;
    prev.clock = g->agent->clock;
    prev.reset_count = g->agent->reset_count;
    prev.restart_count = g->agent->restart_count;
    prev.firmware_version = g->agent->firmware_version;
    prev.unsafe = false;
    /* An early answer from the row read at request start; the store checks
     * again against the row as it is when the report is written. */
    return da_tpm_clock_check(&prev, &g->clock, &g->firmware_changed);
}

/* The agent's budget is spent only by reports whose quote verified: the
 * agent id in the path alone proves nothing, so nobody else can use it up. */
static int agent_rate_limit(struct ingest *g)
{
    struct srv_ctx *ctx = g->req->srv;

    if (srv_ratelimit_take(ctx->rl_agent, g->agent->id, srv_mono_ms()))
        return 0;
    atomic_fetch_add(&ctx->metrics.rate_limited, 1);
    return DA_ERR_RATE_LIMITED;
}

/* A digest the server has not seen needs the full list, hashed to match. */
static int check_inventory(struct ingest *g)
{
    unsigned char d[DA_SHA256_LEN];
    char hex[DA_SHA256_HEX_SIZE];
    bool known = false;
    int rc;

    if (g->in->inventory_sha256[0] == '\0')
        return 0;
    rc = srv_store_inventory_known(g->req->srv->store, g->in->inventory_sha256, &known);
    if (rc != 0 || known)
        return rc;
    if (g->in->inventory == NULL) {
        snprintf(g->resp->message, sizeof(g->resp->message),
                 "send the package inventory with digest %s", g->in->inventory_sha256);
        return DA_ERR_INVENTORY_NEEDED;
    }
    rc = da_sha256(g->in->inventory, g->in->inventory_len, d);
    if (rc == 0)
        rc = da_hex_encode_to(d, sizeof(d), hex, sizeof(hex));
    if (rc == 0 && strcmp(hex, g->in->inventory_sha256) != 0) {
        snprintf(g->resp->message, sizeof(g->resp->message),
                 "inventory does not hash to evidence.patches.inventory_sha256");
        return DA_ERR_INVALID_ARG;
    }
    return rc;
}

/* The event log's fate; a log that does not replay is kept whole (base64)
 * for the auditor, a log that replays by its digest. */
static int transcript_boot(struct ingest *g, cJSON *t)
{
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(g->boot, "log");
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(g->boot, "detail");
    struct da_buf b64;
    unsigned char d[DA_SHA256_LEN];
    char hex[DA_SHA256_HEX_SIZE];
    cJSON *o;
    int rc;

    if (!cJSON_IsString(state))
        return 0;
    if (!g->in->has_event_log) {
        /* none sent: recorded only when the quote shows one exists */
        if (strcmp(state->valuestring, "withheld") != 0)
            return 0;
        o = cJSON_AddObjectToObject(t, "event_log");
        return o != NULL && cJSON_AddStringToObject(o, "state", state->valuestring) != NULL &&
                       (!cJSON_IsString(detail) ||
                        cJSON_AddStringToObject(o, "detail", detail->valuestring) != NULL)
                   ? 0
                   : DA_ERR_NOMEM;
    }
    o = cJSON_AddObjectToObject(t, "event_log");
    if (o == NULL || cJSON_AddStringToObject(o, "state", state->valuestring) == NULL ||
        (cJSON_IsString(detail) &&
         cJSON_AddStringToObject(o, "detail", detail->valuestring) == NULL))
        return DA_ERR_NOMEM;
    rc = da_sha256(da_buf_data(&g->in->event_log), da_buf_len(&g->in->event_log), d);
    if (rc == 0)
        rc = da_hex_encode_to(d, sizeof(d), hex, sizeof(hex));
    if (rc == 0 && cJSON_AddStringToObject(o, "sha256", hex) == NULL)
        rc = DA_ERR_NOMEM;
    if (rc == 0 && g->boot_state != NULL &&
        !cJSON_AddItemToObject(o, "boot_state", cJSON_Duplicate(g->boot_state, 1)))
        rc = DA_ERR_NOMEM;
    if (rc == 0 && g->boot_changed != NULL) {
        cJSON *c = cJSON_AddObjectToObject(o, "boot_changed");
        if (c == NULL ||
            cJSON_AddStringToObject(c, "reference_report", g->boot_reference) == NULL ||
            !cJSON_AddItemToObject(c, "changes", cJSON_Duplicate(g->boot_changed, 1)))
            rc = DA_ERR_NOMEM;
    }
    if (rc != 0 || strcmp(state->valuestring, "replays") == 0)
        return rc;
    da_buf_init(&b64, 2 * DA_MAX_EVENT_LOG);
    rc = da_base64_encode(da_buf_data(&g->in->event_log), da_buf_len(&g->in->event_log),
                          DA_BASE64_STD, &b64);
    if (rc == 0 && (da_buf_str(&b64) == NULL ||
                    cJSON_AddStringToObject(o, "base64", da_buf_str(&b64)) == NULL))
        rc = DA_ERR_NOMEM;
    da_buf_free(&b64);
    return rc;
}

/* The IMA increment's fate; one that does not replay is kept (base64). */
static int transcript_ima(struct ingest *g, cJSON *t)
{
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(g->ima, "log");
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(g->ima, "detail");
    const cJSON *entries = cJSON_GetObjectItemCaseSensitive(g->ima, "entries");
    struct da_buf b64;
    cJSON *o;
    int rc = 0;

    if (!cJSON_IsString(state))
        return 0;
    o = cJSON_AddObjectToObject(t, "ima");
    if (o == NULL || cJSON_AddStringToObject(o, "state", state->valuestring) == NULL ||
        (cJSON_IsString(detail) &&
         cJSON_AddStringToObject(o, "detail", detail->valuestring) == NULL) ||
        cJSON_AddNumberToObject(o, "from", g->in->has_ima ? (double)g->in->ima_from : -1) == NULL ||
        cJSON_AddNumberToObject(o, "entries", cJSON_IsNumber(entries) ? entries->valuedouble : 0) ==
            NULL)
        return DA_ERR_NOMEM;
    /* the facts the verdict read, for the auditor */
    if (!cJSON_AddItemToObject(o, "facts", cJSON_Duplicate(g->ima, 1)))
        return DA_ERR_NOMEM;
    if (!g->in->has_ima || strcmp(state->valuestring, "replays") == 0 ||
        strcmp(state->valuestring, "inactive") == 0)
        return 0;
    da_buf_init(&b64, 2 * DA_MAX_IMA_INCREMENT);
    rc = da_base64_encode(da_buf_data(&g->in->ima_log), da_buf_len(&g->in->ima_log), DA_BASE64_STD,
                          &b64);
    if (rc == 0 && (da_buf_str(&b64) == NULL ||
                    cJSON_AddStringToObject(o, "base64", da_buf_str(&b64)) == NULL))
        rc = DA_ERR_NOMEM;
    da_buf_free(&b64);
    return rc;
}

static int make_transcript(struct ingest *g)
{
    cJSON *t = cJSON_CreateObject(), *tpm, *steps;
    static const char *const done[] = {
        "body",          "agent",      "nonce",    "quote_signature", "qualifying_data",
        "pcr_selection", "pcr_digest", "counters", "inventory",       "policy"};
    char clock[24], firmware[24];
    size_t i;
    int rc = DA_ERR_NOMEM;

    if (t == NULL)
        return rc;
    /* 64-bit TPM values travel as decimal strings: a JSON number is a double. */
    snprintf(clock, sizeof(clock), "%" PRIu64, g->clock.clock);
    snprintf(firmware, sizeof(firmware), "%" PRIu64, g->clock.firmware_version);
    steps = cJSON_AddArrayToObject(t, "checks");
    for (i = 0; steps != NULL && i < sizeof(done) / sizeof(done[0]); i++) {
        if (!cJSON_AddItemToArray(steps, cJSON_CreateString(done[i])))
            goto out;
    }
    tpm = cJSON_AddObjectToObject(t, "tpm");
    if (steps == NULL || tpm == NULL ||
        cJSON_AddStringToObject(t, "ak_name", g->agent->ak_name) == NULL ||
        cJSON_AddStringToObject(t, "ek_trust", g->agent->ek_trust) == NULL ||
        cJSON_AddStringToObject(t, "pcr_selection", g->sel->text) == NULL ||
        cJSON_AddStringToObject(tpm, "clock", clock) == NULL ||
        cJSON_AddBoolToObject(tpm, "clock_safe", !g->clock.unsafe) == NULL ||
        cJSON_AddNumberToObject(tpm, "reset_count", g->clock.reset_count) == NULL ||
        cJSON_AddNumberToObject(tpm, "restart_count", g->clock.restart_count) == NULL ||
        cJSON_AddStringToObject(tpm, "firmware_version", firmware) == NULL ||
        cJSON_AddBoolToObject(tpm, "firmware_changed", g->firmware_changed != 0) == NULL ||
        transcript_boot(g, t) != 0 || transcript_ima(g, t) != 0)
        goto out;
    g->rec.transcript_json = cJSON_PrintUnformatted(t);
    rc = g->rec.transcript_json != NULL ? 0 : DA_ERR_NOMEM;
out:
    cJSON_Delete(t);
    return rc;
}

static int make_record(struct ingest *g)
{
    const struct srv_ctx *ctx = g->req->srv;
    struct srv_report *r = &g->rec;
    struct srv_receipt_in ri;
    int rc;

    rc = srv_time_ordered_id(r->id);
    if (rc != 0)
        return rc;
    snprintf(r->agent_id, sizeof(r->agent_id), "%s", g->agent->id);
    rc = da_sha256(da_buf_data(&g->in->nonce), da_buf_len(&g->in->nonce), r->nonce_hash);
    if (rc != 0)
        return rc;
    r->received_at = srv_now();
    r->nonce_expires_at = r->received_at + ctx->cfg.nonce_ttl_s;
    memcpy(r->evidence_sha256, g->in->evidence_sha256, sizeof(r->evidence_sha256));
    r->evidence_json = DA_UNCONST(da_buf_str(&g->in->evidence_canonical)); /* lent, read only */
    r->evidence_digest = g->in->evidence_digest; /* its SHA-256, taken by the parser */
    r->body_json = g->req->body;                 /* kept as it arrived, for evidence packs */
    r->compliant = g->compliant;
    r->reset_count = g->clock.reset_count;
    r->restart_count = g->clock.restart_count;
    r->clock = g->clock.clock;
    r->firmware_version = g->clock.firmware_version;
    r->clock_unsafe = g->clock.unsafe;
    memcpy(r->inventory_sha256, g->in->inventory_sha256, sizeof(r->inventory_sha256));
    r->verdict_json = cJSON_PrintUnformatted(g->verdict);
    if (r->verdict_json == NULL)
        return DA_ERR_NOMEM;
    r->verdict_tree = g->verdict; /* lent: the fleet shape reads it, not the text */
    rc = make_transcript(g);
    if (rc != 0)
        return rc;
    memset(&ri, 0, sizeof(ri));
    ri.agent_id = r->agent_id;
    ri.report_id = r->id;
    ri.evidence_sha256 = r->evidence_sha256;
    ri.policy_sha256 = g->policy->sha256;
    ri.compliant = g->compliant;
    ri.controls = g->controls;
    ri.vendor = g->agent->vendor;
    ri.boot = g->boot;
    ri.ima = g->ima;
    ri.issued_at = r->received_at;
    ri.valid_until = r->received_at + ctx->cfg.receipt_ttl_s;
    if (strcmp(g->agent->ek_trust, SRV_EK_TRUST_SOFTWARE) == 0)
        ri.trust = SRV_EK_TRUST_SOFTWARE;
    return srv_receipt_make(ctx, &ri, &r->receipt_json);
}

/* {"report_id", "evidence_sha256", "compliant", "verdict", "receipt"}: one
 * text written once. The id and the digest are hex the server made; the
 * verdict and the receipt are JSON texts it printed itself, embedded as they
 * are rather than parsed and printed again. */
static int respond_report(struct srv_response *resp, int status, const struct srv_report *r)
{
    static const char fmt[] = "{\"report_id\":\"%s\",\"evidence_sha256\":\"%s\",\"compliant\":%s,"
                              "\"verdict\":%s,\"receipt\":%s}";
    size_t size;
    char *text;
    int n;

    if (r->verdict_json == NULL || r->receipt_json == NULL)
        return DA_ERR_INTERNAL;
    size = sizeof(fmt) + strlen(r->id) + strlen(r->evidence_sha256) + strlen("false") +
           strlen(r->verdict_json) + strlen(r->receipt_json);
    text = malloc(size);
    if (text == NULL)
        return DA_ERR_NOMEM;
    n = snprintf(text, size, fmt, r->id, r->evidence_sha256, r->compliant ? "true" : "false",
                 r->verdict_json, r->receipt_json);
    if (n < 0 || (size_t)n >= size) {
        free(text);
        return DA_ERR_INTERNAL;
    }
    free(resp->body);
    resp->body = text;
    resp->body_len = (size_t)n;
    resp->status = status;
    resp->content_type = "application/json";
    return 0;
}

/* A retried POST of a report that was stored (its 201 was lost): the same
 * agent, nonce and evidence get the stored answer; anything else is a replay. */
static int answer_replay(struct ingest *g)
{
    struct srv_report *prev = NULL;
    int rc = srv_store_report_find_by_nonce(g->req->srv->store, g->rec.agent_id, g->rec.nonce_hash,
                                            &prev);

    if (rc == 0 && strcmp(prev->agent_id, g->rec.agent_id) == 0 &&
        strcmp(prev->evidence_sha256, g->rec.evidence_sha256) == 0)
        rc = respond_report(g->resp, 200, prev);
    else
        rc = DA_ERR_VERIFY_NONCE_REPLAY;
    srv_report_free(prev);
    return rc;
}

/* boot_changed as the store keeps it: one row per change, both values as
 * JSON texts. */
static int boot_changes_rows(struct ingest *g)
{
    size_t n = (size_t)cJSON_GetArraySize(g->boot_changed), i = 0;
    const cJSON *c;

    g->changes = calloc(n, sizeof(*g->changes));
    g->change_texts = calloc(2 * n, sizeof(*g->change_texts));
    if (g->changes == NULL || g->change_texts == NULL)
        return DA_ERR_NOMEM;
    cJSON_ArrayForEach(c, g->boot_changed)
    {
        const cJSON *what = cJSON_GetObjectItemCaseSensitive(c, "what");
        g->change_texts[2 * i] = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "reference"));
        g->change_texts[2 * i + 1] = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "now"));
        g->n_changes = ++i;
        if (!cJSON_IsString(what) || g->change_texts[2 * i - 2] == NULL ||
            g->change_texts[2 * i - 1] == NULL)
            return DA_ERR_NOMEM;
        g->changes[i - 1].what = what->valuestring;
        g->changes[i - 1].reference_json = g->change_texts[2 * i - 2];
        g->changes[i - 1].now_json = g->change_texts[2 * i - 1];
    }
    g->rec.boot_changes = g->changes;
    g->rec.n_boot_changes = g->n_changes;
    return 0;
}

/* The agent's reference boot state is the one of its first report whose log
 * replayed (kept by the store); a later state that differs is a boot change,
 * stored with the report and shown in the API even when the policy allows
 * it. */
static int boot_reference(struct ingest *g)
{
    char *text = NULL;
    int64_t recorded_at = 0;
    cJSON *ref = NULL;
    int rc = srv_boot_state(g->boot, &g->boot_state);

    if (rc != 0 || g->boot_state == NULL)
        return rc;
    rc = srv_store_boot_reference(g->req->srv->store, g->agent->id, &text, g->boot_reference,
                                  &recorded_at);
    if (rc == DA_ERR_NOT_FOUND) {
        /* this report's state becomes the reference */
        g->boot_state_json = cJSON_PrintUnformatted(g->boot_state);
        g->rec.boot_state_json = g->boot_state_json;
        return g->boot_state_json != NULL ? 0 : DA_ERR_NOMEM;
    }
    if (rc != 0)
        return rc;
    rc = da_json_parse(text, strlen(text), DA_MAX_REPORT, &ref);
    free(text);
    if (rc != 0)
        return DA_ERR_INTERNAL;
    rc = srv_boot_changes(ref, g->boot_state, &g->boot_changed);
    cJSON_Delete(ref);
    if (rc == 0 && cJSON_GetArraySize(g->boot_changed) == 0) {
        cJSON_Delete(g->boot_changed);
        g->boot_changed = NULL;
    }
    return rc == 0 && g->boot_changed != NULL ? boot_changes_rows(g) : rc;
}

struct pin_list {
    char (*digest)[sizeof(((struct srv_boot_pin *)0)->digest)];
    const char **ptr;
    size_t n, cap;
};

static int collect_pin(const struct srv_boot_pin *p, void *arg)
{
    struct pin_list *l = arg;

    if (l->n == l->cap) {
        size_t cap = l->cap != 0 ? 2 * l->cap : 16;
        void *d = realloc(l->digest, cap * sizeof(*l->digest));
        if (d == NULL)
            return DA_ERR_NOMEM;
        l->digest = d;
        l->cap = cap;
    }
    snprintf(l->digest[l->n++], sizeof(*l->digest), "%s", p->digest);
    return 0;
}

/* The vendor's boot pins, checked against the measured boot applications. */
static int boot_pins(struct ingest *g)
{
    struct pin_list l;
    int rc;

    memset(&l, 0, sizeof(l));
    if (cJSON_GetObjectItemCaseSensitive(g->boot, "measured") == NULL)
        return 0;
    rc = srv_store_boot_pins_list(g->req->srv->store, g->agent->vendor_id, collect_pin, &l);
    if (rc == 0 && l.n > 0) {
        l.ptr = calloc(l.n, sizeof(*l.ptr));
        rc = l.ptr != NULL ? 0 : DA_ERR_NOMEM;
        for (size_t i = 0; rc == 0 && i < l.n; i++)
            l.ptr[i] = l.digest[i];
    }
    if (rc == 0)
        rc = srv_boot_pins_check(g->boot, l.ptr, l.n);
    free(l.ptr);
    free(l.digest);
    return rc;
}

/* The IMA increment replayed from the state stored for this agent. */
static int measured_ima(struct ingest *g)
{
    struct srv_ima_in in;
    int rc;

    /* the stored state was read with the agent (agent_for_request); the
     * report's transaction compares and sets it, so a report stored in
     * between is a conflict, never a lost update */
    if (srv_ima_banks(&g->sel->sel) == 0)
        return 0;
    memset(&in, 0, sizeof(in));
    in.sel = &g->sel->sel;
    in.pcr_values = da_buf_data(&g->in->pcr_values);
    in.pcr_values_len = da_buf_len(&g->in->pcr_values);
    in.reset_count = g->clock.reset_count;
    in.prev = g->have_ima_prev ? &g->ima_prev : NULL;
    in.has_increment = g->in->has_ima;
    {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(g->in->evidence, "agent"), "privacy");
        in.minimal = cJSON_IsString(p) && strcmp(p->valuestring, "minimal") == 0;
    }
    in.from = g->in->ima_from;
    in.log = da_buf_data(&g->in->ima_log);
    in.log_len = da_buf_len(&g->in->ima_log);
    in.evidence = g->in->evidence;
    in.allowlist = &g->req->srv->ima_allow;
    rc = srv_ima_evaluate(&in, &g->ima, &g->ima_next);
    g->rec.ima = g->ima_next;
    g->rec.ima_prev = in.prev;
    return rc;
}

/* The policy, with the server's own ages of pending upgrades; the new
 * first-seen times are stored with the report. */
static int evaluate(struct ingest *g)
{
    int64_t now = srv_now();
    cJSON *pending = NULL;
    int rc;

    rc = srv_measured_boot(&g->sel->sel, da_buf_data(&g->in->pcr_values),
                           da_buf_len(&g->in->pcr_values), da_buf_data(&g->in->event_log),
                           da_buf_len(&g->in->event_log), g->in->evidence, &g->req->srv->dbx_ref,
                           &g->boot);
    if (rc == 0)
        rc = boot_reference(g);
    if (rc == 0)
        rc = boot_pins(g);
    if (rc == 0)
        rc = measured_ima(g);
    if (rc == 0)
        rc = srv_pending_load(g->req->srv->store, g->agent->id, g->in->evidence, now, &g->pending);
    if (rc == 0)
        rc = srv_pending_facts(&g->pending, now, &pending);
    if (rc == 0)
        rc = srv_verdict_evaluate_agent(g->policy, g->in->evidence, pending, g->boot, g->ima,
                                        g->agent->ek_trust[0] != '\0' ? g->agent->ek_trust
                                                                      : SRV_EK_TRUST_CHAIN,
                                        &g->verdict, &g->controls, &g->compliant);
    g->rec.pending = g->pending.fresh;
    g->rec.n_pending = g->pending.n_fresh;
    g->rec.pending_gone = g->pending.gone;
    g->rec.n_pending_gone = g->pending.n_gone;
    g->rec.pending_back = g->pending.back;
    g->rec.n_pending_back = g->pending.n_back;
    cJSON_Delete(pending);
    return rc;
}

static int ingest_run(struct ingest *g)
{
    const char *msg = NULL;
    int rc;

    rc = srv_report_parse(g->req->body, g->req->body_len, &g->in, &msg);
    if (rc != 0) {
        if (msg != NULL)
            snprintf(g->resp->message, sizeof(g->resp->message), "%s", msg);
        return rc;
    }
    g->policy = srv_policy_get(g->req->srv);
    rc = agent_for_request(g->req, &g->agent, &g->ima_prev, &g->have_ima_prev);
    if (rc == 0)
        rc = verify_quote(g);
    if (rc == 0)
        rc = check_counters(g);
    if (rc == 0)
        rc = agent_rate_limit(g);
    if (rc == 0)
        rc = check_inventory(g);
    if (rc != 0)
        return rc;
    if (g->policy == NULL) {
        snprintf(g->resp->message, sizeof(g->resp->message), "no policy is configured");
        return DA_ERR_UNAVAILABLE;
    }
    rc = evaluate(g);
    if (rc == 0)
        rc = make_record(g);
    if (rc == 0)
        rc = srv_store_report_put(g->req->srv->store, &g->rec);
    if (rc == DA_ERR_VERIFY_NONCE_REPLAY)
        return answer_replay(g);
    if (rc == 0)
        rc = respond_report(g->resp, 201, &g->rec);
    return rc;
}

/* Webhook events of a stored report: a changed verdict, changed boot. */
static void report_events(const struct ingest *g)
{
    struct srv_ctx *ctx = g->req->srv;
    cJSON *d;

    if (g->agent->last_verified_at != 0 && g->agent->last_compliant != g->compliant &&
        (d = cJSON_CreateObject()) != NULL) {
        cJSON_AddStringToObject(d, "vendor", g->agent->vendor);
        cJSON_AddStringToObject(d, "report_id", g->rec.id);
        cJSON_AddBoolToObject(d, "compliant", g->compliant);
        cJSON_AddBoolToObject(d, "was_compliant", g->agent->last_compliant);
        srv_webhook_emit(ctx, NULL, SRV_EVENT_COMPLIANCE, g->agent->id, d);
    }
    if (g->boot_changed != NULL && (d = cJSON_CreateObject()) != NULL) {
        cJSON_AddStringToObject(d, "vendor", g->agent->vendor);
        cJSON_AddStringToObject(d, "report_id", g->rec.id);
        cJSON_AddItemToObject(d, "changes", cJSON_Duplicate(g->boot_changed, 1));
        srv_webhook_emit(ctx, NULL, SRV_EVENT_BOOT, g->agent->id, d);
    }
}

int srv_api_report_post(struct srv_request *req, struct srv_response *resp)
{
    struct ingest g;
    int rc;

    uint64_t t0 = srv_mono_us();

    memset(&g, 0, sizeof(g));
    g.req = req;
    g.resp = resp;
    rc = ingest_run(&g);
    srv_histogram_observe_us(&req->srv->metrics.verify_latency, srv_mono_us() - t0);
    if (rc == 0 && resp->status == 201) {
        atomic_fetch_add(&req->srv->metrics.reports_accepted, 1);
        if (g.firmware_changed)
            srv_audit(req->srv, req->param[0], "firmware_changed", req->param[0], 0, "");
        if (g.boot_changed != NULL) {
            const cJSON *c;
            char detail[256];
            size_t o = (size_t)snprintf(detail, sizeof(detail), "report %s changed:", g.rec.id);
            cJSON_ArrayForEach(c, g.boot_changed)
            {
                const cJSON *w = cJSON_GetObjectItemCaseSensitive(c, "what");
                if (cJSON_IsString(w) && o < sizeof(detail))
                    o += (size_t)snprintf(detail + o, sizeof(detail) - o, " %s", w->valuestring);
            }
            srv_audit(req->srv, "server", "boot_changed", req->param[0], 0, detail);
        }
        report_events(&g);
    } else if (rc == DA_ERR_INVENTORY_NEEDED) {
        atomic_fetch_add(&req->srv->metrics.inventory_requested, 1);
    } else if (rc != 0) {
        atomic_fetch_add(&req->srv->metrics.reports_rejected, 1);
        srv_code_counters_add(&req->srv->metrics.reports_refused, rc);
        srv_audit(req->srv, req->address, "report_rejected", req->param[0], rc, resp->message);
        if (g.agent != NULL && rc != DA_ERR_INVENTORY_NEEDED && rc != DA_ERR_RATE_LIMITED)
            srv_webhook_note_failure(req->srv, g.agent->id, rc);
    }
    ingest_free(&g);
    return rc;
}

#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "caps.h"
#include "deliver.h"
#include "encoding.h"
#include "err.h"
#include "fields.h"
#include "eventlog.h"
#include "ima_increment.h"
#include "ima_log.h"
#include "jcs.h"
#include "json.h"
#include "log.h"
#include "privsep.h"
#include "quote.h"
#include "tpm_attest.h"
#include "signer_attest.h"

struct cycle {
    struct agent_runtime *rt;
    struct agent_report_outcome *out;
    struct agent_status st;
    int refused; /* a report was refused in this cycle */
    /* what the server holds of this machine's IMA list (nonce answer) */
    int ima_known;
    uint32_t ima_boot;
    uint64_t ima_entries;
};

/* ---- JSON helpers ---- */

static int add_b64(cJSON *o, const char *key, const void *p, size_t n)
{
    struct da_buf b;
    int r;

    da_buf_init(&b, DA_MAX_REPORT);
    r = da_base64_encode(p, n, DA_BASE64_STD, &b);
    if (r == 0 && cJSON_AddStringToObject(o, key, da_buf_str(&b)) == NULL)
        r = DA_ERR_NOMEM;
    da_buf_free(&b);
    return r;
}

static int get_b64(const cJSON *o, const char *key, struct da_buf *out, size_t cap)
{
    const char *s = NULL;
    int r = da_json_get_string(o, key, &s);

    da_buf_free(out);
    da_buf_init(out, cap);
    if (r == 0)
        r = da_base64_decode(s, strlen(s), DA_BASE64_STD, out);
    return r;
}

static void copy_str(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src != NULL ? src : "");
}

/* ---- the pieces of a report ---- */

static int server_error(const struct agent_transport *t)
{
    const char *code = agent_transport_server_code(t);

    if (strcmp(code, "agent_revoked") == 0)
        return DA_ERR_AGENT_REVOKED;
    if (strcmp(code, "agent_unknown") == 0)
        return DA_ERR_AGENT_UNKNOWN;
    return DA_ERR_SERVER_REJECTED;
}

/* The nonce answer's "ima": {"boot", "entries"}, when the server holds part
 * of this machine's IMA list; anything else means it holds none. */
static void ima_held(struct cycle *c, const cJSON *answer)
{
    const cJSON *ima = cJSON_GetObjectItemCaseSensitive(answer, "ima");
    int64_t boot = -1, entries = -1;

    c->ima_known = 0;
    if (!cJSON_IsObject(ima) || da_json_get_int64(ima, "boot", &boot) != 0 ||
        da_json_get_int64(ima, "entries", &entries) != 0 || boot < 0 || boot > UINT32_MAX ||
        entries < 0)
        return;
    c->ima_known = 1;
    c->ima_boot = (uint32_t)boot;
    c->ima_entries = (uint64_t)entries;
}

/* A nonce from the server, or - when it cannot be reached - a local one
 * that the server will refuse later (the report is then re-quoted). */
static int get_nonce(struct cycle *c, struct da_buf *nonce, char *pcrs, size_t pcrs_size,
                     int *offline)
{
    struct agent_runtime *rt = c->rt;
    const char *sel = NULL;
    char path[160];
    cJSON *a = NULL;
    long status;
    int r;

    *offline = 0;
    snprintf(path, sizeof(path), "/v1/agents/%s/nonce", rt->enr.agent_id);
    r = agent_transport_json(rt->transport, "POST", path, NULL, "{}", &status, &a);
    if (r == 0) {
        r = get_b64(a, "nonce", nonce, AGENT_MAX_NONCE);
        if (r == 0)
            r = da_json_get_string(a, "pcr_selection", &sel);
        if (r == 0)
            copy_str(pcrs, pcrs_size, sel);
        if (r == 0)
            ima_held(c, a);
        cJSON_Delete(a);
        if (r != 0)
            r = DA_ERR_SERVER_RESPONSE;
        if (r == 0)
            return 0;
    }
    copy_str(c->st.error, sizeof(c->st.error), agent_transport_error(rt->transport));
    copy_str(c->st.error_code, sizeof(c->st.error_code),
             agent_transport_server_code(rt->transport));
    if (!agent_transport_retryable(rt->transport, r))
        return r == DA_ERR_SERVER_REJECTED ? server_error(rt->transport) : r;
    {
        unsigned char rnd[32];

        da_buf_free(nonce);
        da_buf_init(nonce, sizeof(rnd));
        if (RAND_bytes(rnd, sizeof(rnd)) != 1 || da_buf_append(nonce, rnd, sizeof(rnd)) != 0)
            return DA_ERR_CRYPTO;
    }
    copy_str(pcrs, pcrs_size, rt->enr.pcr_selection);
    *offline = 1;
    return 0;
}

/* The firmware event log goes with every quote that covers one of the PCRs
 * it extends (0-9, 12, 14): the server replays it against the quoted values.
 * No log on this machine, or one that cannot be read, is no error: the
 * server then has no measured boot facts. */
static int add_event_log(struct cycle *c, const char *pcrs, cJSON *body)
{
    const struct agent_config *cfg = &c->rt->cfg;
    struct da_pcr_selection sel;
    uint32_t any = 0;
    int r;

    if (cfg->tpm_mode != 0 || da_pcr_selection_parse(pcrs, &sel) != 0)
        return 0;
    for (size_t i = 0; i < sel.count; i++)
        any |= sel.banks[i].pcrs;
    if ((any & 0x53ffu) == 0)
        return 0;
    /* Read at start, before the uploader became the agent's user: the
     * kernel's copy is readable by root only, and it does not change until
     * the next boot. */
    r = c->rt->event_log_error;
    if (r != 0) {
        if (r != DA_ERR_NOT_FOUND)
            da_warn_f("the firmware event log is not sent: %s", da_strerror(r));
        return 0;
    }
    return c->rt->event_log.data != NULL
               ? add_b64(body, "event_log", c->rt->event_log.data, c->rt->event_log.len)
               : 0;
}

/* The IMA entries the server has not replayed go with every quote that
 * covers PCR 10: read after the quote, so the server finds the quoted value
 * within them. The server's count counts only for the boot it names (the
 * quote's resetCount); otherwise, or when the list is shorter, the whole
 * list goes. Not in minimal privacy mode: the entries name every file
 * measured, and a pseudonym would break the replay. */
static int add_ima(struct cycle *c, const char *pcrs, const struct agent_quote_result *q,
                   cJSON *body)
{
    struct agent_runtime *rt = c->rt;
    struct da_pcr_selection sel;
    struct da_buf inc;
    TPMS_ATTEST att;
    uint64_t from = 0;
    uint32_t any = 0;
    cJSON *o;
    int r;

    if (!rt->have_ima_fd || rt->cfg.tpm_mode != 0 || rt->cfg.privacy != 0 ||
        da_pcr_selection_parse(pcrs, &sel) != 0)
        return 0;
    for (size_t i = 0; i < sel.count; i++)
        any |= sel.banks[i].pcrs;
    if ((any & (1u << DA_IMA_PCR)) == 0)
        return 0;
    if (c->ima_known &&
        da_tpm_attest_parse(da_buf_data(&q->attest), da_buf_len(&q->attest), TPM2_ST_ATTEST_QUOTE,
                            &att) == 0 &&
        att.clockInfo.resetCount == c->ima_boot)
        from = c->ima_entries;
    r = agent_ima_increment(rt->ima_fd, from, &inc);
    if (r == DA_ERR_NOT_FOUND && from > 0) {
        from = 0;
        r = agent_ima_increment(rt->ima_fd, 0, &inc);
    }
    if (r != 0) {
        da_warn_f("the IMA measurements are not sent: %s", da_strerror(r));
        return 0;
    }
    o = cJSON_AddObjectToObject(body, "ima");
    if (o == NULL || cJSON_AddNumberToObject(o, "from", (double)from) == NULL)
        r = DA_ERR_NOMEM;
    if (r == 0)
        r = add_b64(o, "entries", da_buf_data(&inc), da_buf_len(&inc));
    da_buf_free(&inc);
    return r;
}

/* A spool entry's payload: the signer's MAC over the evidence, then the
 * report body. */
static int spool_wrap(const unsigned char mac[AGENT_SPOOL_MAC_LEN], const char *body,
                      struct da_buf *out)
{
    int r;

    r = agent_fields_put(out, mac, AGENT_SPOOL_MAC_LEN);
    if (r == 0)
        r = agent_fields_put_str(out, body);
    return r;
}

static int spool_unwrap(const unsigned char *p, size_t n, const unsigned char **mac,
                        const char **body, size_t *body_len)
{
    static const size_t caps[2] = {AGENT_SPOOL_MAC_LEN, DA_MAX_REPORT};
    struct agent_field f[2];

    if (agent_fields_split(p, n, 2, caps, f) != 0 || f[0].len != AGENT_SPOOL_MAC_LEN)
        return DA_ERR_SPOOL_CORRUPT;
    *mac = f[0].data;
    *body = (const char *)f[1].data;
    *body_len = f[1].len;
    return 0;
}

/* The body of POST /v1/agents/{id}/reports and the spool payload that
 * carries it. Without evidence the signer collects a new document itself;
 * with one (a spooled report) it quotes it again if mac is its own. */
static int build_report(struct cycle *c, const struct da_buf *evidence, const unsigned char *mac,
                        struct da_buf *payload)
{
    struct agent_quote_result q;
    struct da_buf nonce;
    char pcrs[128], *text = NULL;
    cJSON *body = NULL, *quote, *ev = NULL;
    int offline, r;

    memset(&q, 0, sizeof(q));
    da_buf_free(payload);
    da_buf_init(payload, DA_MAX_REPORT + AGENT_SPOOL_MAC_LEN + 8);
    da_buf_init(&nonce, AGENT_MAX_NONCE);
    r = get_nonce(c, &nonce, pcrs, sizeof(pcrs), &offline);
    if (r == 0 && evidence != NULL && offline)
        r = DA_ERR_TRANSPORT; /* a re-quote needs the server's nonce */
    if (r == 0 && evidence == NULL)
        r = agent_signer_quote(&c->rt->signer, &c->rt->collector, da_buf_data(&nonce),
                               da_buf_len(&nonce), pcrs, agent_spool_dropped(c->rt->spool), &q);
    else if (r == 0)
        r = agent_signer_requote(&c->rt->signer, da_buf_data(&nonce), da_buf_len(&nonce), pcrs,
                                 da_buf_str(evidence), da_buf_len(evidence), mac, &q);
    if (r != 0 && evidence == NULL && c->out->message[0] == '\0')
        snprintf(c->out->message, sizeof(c->out->message), "report not made: %s",
                 agent_privsep_last_error()[0] != '\0' ? agent_privsep_last_error()
                                                       : da_strerror(r));
    if (r == 0)
        r = da_json_parse(da_buf_str(&q.evidence), da_buf_len(&q.evidence), DA_MAX_EVIDENCE, &ev);
    if (r == 0) {
        body = cJSON_CreateObject();
        quote = body != NULL ? cJSON_AddObjectToObject(body, "quote") : NULL;
        if (quote == NULL)
            r = DA_ERR_NOMEM;
    }
    if (r == 0)
        r = add_b64(body, "nonce", da_buf_data(&nonce), da_buf_len(&nonce));
    if (r == 0) {
        if (cJSON_AddItemToObject(body, "evidence", ev))
            ev = NULL; /* transferred */
        else
            r = DA_ERR_NOMEM;
    }
    if (r == 0)
        r = add_b64(quote, "attest", da_buf_data(&q.attest), da_buf_len(&q.attest));
    if (r == 0)
        r = add_b64(quote, "signature", da_buf_data(&q.signature), da_buf_len(&q.signature));
    if (r == 0)
        r = add_b64(quote, "pcr_values", da_buf_data(&q.pcr_values), da_buf_len(&q.pcr_values));
    if (r == 0)
        r = add_event_log(c, pcrs, body);
    if (r == 0)
        r = add_ima(c, pcrs, &q, body);
    if (r == 0) {
        text = cJSON_PrintUnformatted(body);
        if (text == NULL)
            r = DA_ERR_NOMEM;
    }
    if (r == 0)
        r = spool_wrap(q.mac, text, payload);
    if (r == 0 && offline)
        da_info_f("server unreachable: report quoted over a local nonce and spooled");
    cJSON_free(text);
    cJSON_Delete(ev);
    cJSON_Delete(body);
    agent_quote_result_free(&q);
    da_buf_free(&nonce);
    return r;
}

/* ---- delivery ---- */

static void record_controls(struct agent_report_outcome *out, const cJSON *answer)
{
    const cJSON *verdict = NULL, *controls = NULL, *ctl;

    out->n_controls = 0;
    if (da_json_get_object(answer, "verdict", &verdict) != 0 ||
        da_json_get_object(verdict, "controls", &controls) != 0)
        return;
    cJSON_ArrayForEach(ctl, controls)
    {
        if (out->n_controls == AGENT_REPORT_MAX_CONTROLS || !cJSON_IsString(ctl) ||
            ctl->string == NULL)
            continue;
        copy_str(out->controls[out->n_controls].id, sizeof(out->controls[0].id), ctl->string);
        copy_str(out->controls[out->n_controls].verdict, sizeof(out->controls[0].verdict),
                 ctl->valuestring);
        out->n_controls++;
    }
}

/* The receipt of an accepted report, for attest (signer_attest.h): the
 * signer checks it names evidence it quoted itself. */
static void keep_receipt(struct cycle *c, const cJSON *answer)
{
    const cJSON *receipt = NULL;
    struct da_buf b;

    if (da_json_get_object(answer, "receipt", &receipt) != 0)
        return;
    da_buf_init(&b, DA_MAX_RECEIPT);
    if (da_jcs_serialize(receipt, &b) != 0 ||
        agent_state_replace(c->rt->cfg.state_dir, AGENT_RECEIPT_FILE, da_buf_data(&b),
                            da_buf_len(&b)) != 0)
        da_warn_f("the server's receipt could not be kept: attest refuses until the next report");
    da_buf_free(&b);
}

static void record_accepted(struct cycle *c, const cJSON *answer)
{
    const char *id = NULL;
    bool compliant = false;

    record_controls(c->out, answer);
    keep_receipt(c, answer);
    (void)da_json_get_string(answer, "report_id", &id);
    c->out->compliant = da_json_get_bool(answer, "compliant", &compliant) == 0 ? compliant : -1;
    copy_str(c->out->report_id, sizeof(c->out->report_id), id);
    c->out->delivered++;
    copy_str(c->st.last_report_id, sizeof(c->st.last_report_id), id);
    agent_time_rfc3339(time(NULL), c->st.last_accepted_at);
    c->st.compliant = c->out->compliant;
}

/* The drop count a report carried (evidence.agent.spool_dropped). */
static uint64_t carried_drops(const cJSON *body)
{
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(body, "evidence");
    const cJSON *agent = cJSON_GetObjectItemCaseSensitive(ev, "agent");
    int64_t n = 0;

    return da_json_get_int64(agent, "spool_dropped", &n) == 0 && n > 0 ? (uint64_t)n : 0;
}

static int post_report(struct cycle *c, cJSON *body, cJSON **answer)
{
    struct agent_runtime *rt = c->rt;
    char path[160], *text = cJSON_PrintUnformatted(body);
    long status;
    int r;

    if (text == NULL)
        return DA_ERR_NOMEM;
    snprintf(path, sizeof(path), "/v1/agents/%s/reports", rt->enr.agent_id);
    r = agent_transport_json(rt->transport, "POST", path, NULL, text, &status, answer);
    cJSON_free(text);
    return r;
}

/* The server has not seen this package inventory: send it along. */
static int add_inventory(struct cycle *c, cJSON *body)
{
    struct da_buf inv;
    int r;

    da_buf_init(&inv, 0);
    r = agent_collector_inventory(&c->rt->collector, &inv);
    if (r == 0 && cJSON_AddStringToObject(body, "inventory", da_buf_str(&inv)) == NULL)
        r = DA_ERR_NOMEM;
    da_buf_free(&inv);
    return r;
}

static int classify_rejection(struct cycle *c, int r)
{
    struct agent_transport *t = c->rt->transport;
    const char *code = agent_transport_server_code(t);

    copy_str(c->st.error, sizeof(c->st.error), agent_transport_error(t));
    copy_str(c->st.error_code, sizeof(c->st.error_code), code);
    if (r == DA_ERR_SERVER_REJECTED &&
        (strcmp(code, "nonce_expired") == 0 || strcmp(code, "bad_nonce") == 0))
        return AGENT_SEND_STALE;
    if (r == DA_ERR_SERVER_REJECTED && server_error(t) != DA_ERR_SERVER_REJECTED)
        return server_error(t);
    if (agent_transport_retryable(t, r))
        return AGENT_SEND_RETRY;
    if (r == DA_ERR_SERVER_REJECTED) {
        da_warn_f("%s", agent_transport_error(t));
        c->refused = 1;
        return AGENT_SEND_REFUSED;
    }
    return r;
}

static int send_report(void *ctx, uint64_t seq, const unsigned char *report, size_t len,
                       uint64_t created, uint64_t *acked)
{
    struct cycle *c = ctx;
    cJSON *body = NULL, *answer = NULL;
    int r;

    const unsigned char *mac;
    const char *text;
    size_t text_len;

    (void)seq;
    (void)created;
    r = spool_unwrap(report, len, &mac, &text, &text_len);
    if (r == 0)
        r = da_json_parse(text, text_len, DA_MAX_REPORT, &body);
    if (r != 0)
        return AGENT_SEND_REFUSED; /* not a report: it can never be sent */
    r = post_report(c, body, &answer);
    if (r == DA_ERR_SERVER_REJECTED &&
        strcmp(agent_transport_server_code(c->rt->transport), "inventory_needed") == 0) {
        r = add_inventory(c, body);
        if (r == 0)
            r = post_report(c, body, &answer);
    }
    if (r == 0) {
        record_accepted(c, answer);
        *acked = carried_drops(body);
    }
    cJSON_Delete(answer);
    cJSON_Delete(body);
    return r == 0 ? AGENT_SEND_ACCEPTED : classify_rejection(c, r);
}

static int requote_report(void *ctx, const unsigned char *report, size_t len, uint64_t created,
                          struct da_buf *out)
{
    struct cycle *c = ctx;
    const unsigned char *mac;
    const char *text;
    size_t text_len;
    struct da_buf canon;
    cJSON *body = NULL;
    const cJSON *ev;
    int r;

    (void)created; /* the evidence keeps its collected_at */
    da_buf_init(&canon, DA_MAX_EVIDENCE);
    r = spool_unwrap(report, len, &mac, &text, &text_len);
    if (r == 0)
        r = da_json_parse(text, text_len, DA_MAX_REPORT, &body);
    ev = r == 0 ? cJSON_GetObjectItemCaseSensitive(body, "evidence") : NULL;
    if (r == 0 && !cJSON_IsObject(ev))
        r = DA_ERR_JSON_TYPE;
    if (r == 0)
        r = da_jcs_serialize(ev, &canon);
    cJSON_Delete(body);
    if (r == 0)
        r = build_report(c, &canon, mac, out);
    da_buf_free(&canon);
    return r;
}

static void finish_status(struct cycle *c, const struct agent_deliver_result *res, int r)
{
    struct agent_runtime *rt = c->rt;

    agent_time_rfc3339(time(NULL), c->st.last_attempt);
    c->out->pending = res->pending;
    if (r != 0) {
        copy_str(c->st.result, sizeof(c->st.result),
                 r == DA_ERR_AGENT_REVOKED || r == DA_ERR_AGENT_UNKNOWN ? "refused" : "error");
        if (c->st.error[0] == '\0')
            copy_str(c->st.error, sizeof(c->st.error), da_strerror(r));
        if (c->st.error_code[0] == '\0')
            copy_str(c->st.error_code, sizeof(c->st.error_code), da_err_code(r));
    } else if (res->pending) {
        copy_str(c->st.result, sizeof(c->st.result), "spooled");
    } else if (c->refused) {
        copy_str(c->st.result, sizeof(c->st.result), "refused");
    } else {
        copy_str(c->st.result, sizeof(c->st.result), "accepted");
        c->st.error[0] = c->st.error_code[0] = '\0';
    }
    if (c->out->message[0] == '\0') {
        if (strcmp(c->st.result, "accepted") == 0)
            snprintf(c->out->message, sizeof(c->out->message), "report %s accepted: %s",
                     c->out->report_id,
                     c->out->compliant == 1 ? "compliant"
                                            : (c->out->compliant == 0 ? "not compliant" : "?"));
        else
            snprintf(c->out->message, sizeof(c->out->message), "report %s: %s", c->st.result,
                     c->st.error);
    }
    if (agent_status_save(rt->cfg.state_dir, &c->st) != 0)
        da_warn_f("status.json could not be written");
}

static int deliver(struct cycle *c)
{
    struct agent_deliver_ops ops = {send_report, requote_report, c};
    struct agent_deliver_result res;
    int r;

    r = agent_deliver_spool(c->rt->spool, &ops, &res);
    c->out->error = r;
    finish_status(c, &res, r);
    return r;
}

static void cycle_init(struct cycle *c, struct agent_runtime *rt, struct agent_report_outcome *out)
{
    memset(c, 0, sizeof(*c));
    memset(out, 0, sizeof(*out));
    out->compliant = -1;
    c->rt = rt;
    c->out = out;
    (void)agent_status_load(rt->cfg.state_dir, &c->st);
    c->st.error[0] = c->st.error_code[0] = '\0';
}

int agent_report_deliver(struct agent_runtime *rt, struct agent_report_outcome *out)
{
    struct cycle c;

    cycle_init(&c, rt, out);
    return deliver(&c);
}

int agent_report_cycle(struct agent_runtime *rt, struct agent_report_outcome *out)
{
    struct cycle c;
    struct da_buf payload;
    time_t now = time(NULL);
    int r;

    cycle_init(&c, rt, out);
    /* Spooled reports first: the server wants the TPM's clock and counters
     * in each agent's reports never to go back, so reports are quoted in the
     * order they are delivered (a spooled report is re-quoted just before
     * it is sent, the new one after them). */
    {
        struct agent_deliver_ops ops = {send_report, requote_report, &c};
        struct agent_deliver_result res;
        uint64_t count, bytes;

        agent_spool_usage(rt->spool, &count, &bytes);
        r = count > 0 ? agent_deliver_spool(rt->spool, &ops, &res) : 0;
        if (r != 0) {
            out->error = r;
            finish_status(&c, &res, r);
            return r;
        }
    }
    da_buf_init(&payload, 0);
    r = build_report(&c, NULL, NULL, &payload);
    if (r == 0)
        r = agent_spool_put(rt->spool, da_buf_data(&payload), da_buf_len(&payload), (uint64_t)now,
                            NULL);
    da_buf_free(&payload);
    if (r != 0) {
        struct agent_deliver_result none;

        memset(&none, 0, sizeof(none));
        out->error = r;
        if (out->message[0] == '\0')
            snprintf(out->message, sizeof(out->message), "report not made: %s",
                     c.st.error[0] != '\0' ? c.st.error : da_strerror(r));
        finish_status(&c, &none, r);
        return r;
    }
    return deliver(&c);
}

/* Evidence pack builder (evidence_pack.h). */
#include "evidence_pack.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <getopt.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/pem.h>

#include "config.h"
#include "digest.h"
#include "file.h"
#include "dsse.h"
#include "encoding.h"
#include "err.h"
#include "json.h"
#include "oscal.h"
#include "receipt_keys.h"
#include "render.h"
#include "tar.h"

#define PACK_JSON_MAX  (8u * 1024 * 1024)
#define PACK_HTML_MAX  (64u * 1024 * 1024)
#define CHART_DAYS_MAX 366

/* What the builder gathers while it walks the reports. */
struct pack {
    struct srv_store *store;
    struct da_buf *tar;
    cJSON *files;    /* name -> sha256 */
    cJSON *reports;  /* manifest entries */
    cJSON *agents;   /* agent id -> {...} (also written to agents/) */
    cJSON *policies; /* sha256 -> parsed policy */
    cJSON *verdicts; /* report id -> parsed verdict, for the HTML */
    int64_t now;
    int rc;
};

static int add_file(struct pack *p, const char *name, const void *data, size_t len)
{
    char hex[DA_SHA256_HEX_SIZE];
    int rc = da_sha256_hex(data, len, hex);

    if (rc == 0)
        rc = da_tar_add(p->tar, name, data, len, p->now);
    if (rc == 0 && p->files != NULL && cJSON_AddStringToObject(p->files, name, hex) == NULL)
        rc = DA_ERR_NOMEM;
    return rc;
}

static int add_json(struct pack *p, const char *name, const cJSON *v)
{
    char *text = cJSON_Print(v);
    int rc = text != NULL ? add_file(p, name, text, strlen(text)) : DA_ERR_NOMEM;

    free(text);
    return rc;
}

static cJSON *parse_stored(const char *text)
{
    cJSON *v = NULL;

    return text != NULL && da_json_parse(text, strlen(text), PACK_JSON_MAX, &v) == 0 ? v : NULL;
}

static int agent_entry(struct pack *p, const char *agent_id)
{
    struct srv_agent *a = NULL;
    struct da_buf b64;
    cJSON *o;
    char name[80];
    int rc;

    if (cJSON_GetObjectItemCaseSensitive(p->agents, agent_id) != NULL)
        return 0;
    rc = srv_store_agent_get(p->store, agent_id, p->now, &a);
    if (rc != 0)
        return rc;
    da_buf_init(&b64, 4 * a->ak_public_len + 16);
    o = cJSON_CreateObject();
    rc = da_base64_encode(a->ak_public, a->ak_public_len, DA_BASE64_STD, &b64);
    if (rc == 0 && (o == NULL || cJSON_AddStringToObject(o, "id", a->id) == NULL ||
                    cJSON_AddStringToObject(o, "vendor", a->vendor) == NULL ||
                    cJSON_AddStringToObject(o, "ek_name", a->ek_name) == NULL ||
                    cJSON_AddStringToObject(o, "ak_name", a->ak_name) == NULL ||
                    cJSON_AddStringToObject(o, "ak_public", da_buf_str(&b64)) == NULL ||
                    cJSON_AddStringToObject(o, "status", a->status) == NULL))
        rc = DA_ERR_NOMEM;
    snprintf(name, sizeof(name), "agents/%s.json", a->id);
    if (rc == 0)
        rc = add_json(p, name, o);
    if (rc == 0 && cJSON_AddItemToObject(p->agents, agent_id, o))
        o = NULL; /* transferred */
    cJSON_Delete(o);
    da_buf_free(&b64);
    srv_agent_free(a);
    return rc;
}

static int policy_entry(struct pack *p, const char *sha256)
{
    char *json = NULL, name[96];
    int64_t created_at = 0;
    cJSON *v;
    int rc;

    if (cJSON_GetObjectItemCaseSensitive(p->policies, sha256) != NULL)
        return 0;
    rc = srv_store_policy_by_sha256(p->store, sha256, &json, &created_at);
    if (rc == DA_ERR_NOT_FOUND)
        return 0; /* the manifest says so: no policies/ member */
    if (rc != 0)
        return rc;
    snprintf(name, sizeof(name), "policies/%.64s.json", sha256);
    rc = add_file(p, name, json, strlen(json));
    v = parse_stored(json);
    free(json);
    if (rc == 0 && (v == NULL || !cJSON_AddItemToObject(p->policies, sha256, v)))
        rc = DA_ERR_NOMEM;
    return rc;
}

static int report_files(struct pack *p, const struct srv_pack_report *r)
{
    static const char *const names[] = {"report.json", "verdict.json", "transcript.json",
                                        "receipt.json"};
    const char *texts[] = {r->body_json, r->verdict_json, r->transcript_json, r->receipt_json};
    char name[96];
    size_t i;
    int rc = 0;

    for (i = 0; rc == 0 && i < 4; i++) {
        if (texts[i] == NULL)
            continue;
        snprintf(name, sizeof(name), "reports/%s/%s", r->id, names[i]);
        rc = add_file(p, name, texts[i], strlen(texts[i]));
    }
    return rc;
}

static int on_report(const struct srv_pack_report *r, void *arg)
{
    struct pack *p = arg;
    cJSON *e = cJSON_CreateObject(), *verdict = parse_stored(r->verdict_json);
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(verdict, "policy_sha256");
    char ts[32];
    int rc = 0;

    srv_time_rfc3339(r->received_at, ts);
    if (e == NULL || !cJSON_AddItemToArray(p->reports, e)) {
        cJSON_Delete(e);
        cJSON_Delete(verdict);
        return DA_ERR_NOMEM;
    }
    if (verdict == NULL || !cJSON_IsString(ps))
        rc = DA_ERR_STORE;
    if (rc == 0 && (cJSON_AddStringToObject(e, "id", r->id) == NULL ||
                    cJSON_AddStringToObject(e, "agent_id", r->agent_id) == NULL ||
                    cJSON_AddStringToObject(e, "received_at", ts) == NULL ||
                    cJSON_AddBoolToObject(e, "compliant", r->compliant) == NULL ||
                    cJSON_AddStringToObject(e, "evidence_sha256", r->evidence_sha256) == NULL ||
                    cJSON_AddStringToObject(e, "policy_sha256", ps->valuestring) == NULL ||
                    cJSON_AddBoolToObject(e, "signed_report", r->body_json != NULL) == NULL))
        rc = DA_ERR_NOMEM;
    if (rc == 0)
        rc = agent_entry(p, r->agent_id);
    if (rc == 0)
        rc = policy_entry(p, ps->valuestring);
    if (rc == 0)
        rc = report_files(p, r);
    if (rc == 0 && cJSON_AddItemToObject(p->verdicts, r->id, verdict))
        verdict = NULL; /* transferred */
    cJSON_Delete(verdict);
    return rc;
}

/* keys/keys.json: every receipt key with its CA certificate (the GET
 * /v1/keys answer), so receipts from before a rotation verify too. */
static int add_keys(struct pack *p, const struct srv_keys *keys)
{
    cJSON *answer = NULL;
    int rc = srv_keys_answer(keys, &answer);

    if (rc == 0)
        rc = add_json(p, "keys/keys.json", answer);
    cJSON_Delete(answer);
    return rc;
}

/* ---- the HTML report ---- */

static int html_text(struct da_buf *b, const char *s)
{
    int rc = 0;

    for (; rc == 0 && s != NULL && *s != '\0'; s++) {
        switch (*s) {
        case '<':
            rc = da_buf_append_str(b, "&lt;");
            break;
        case '>':
            rc = da_buf_append_str(b, "&gt;");
            break;
        case '&':
            rc = da_buf_append_str(b, "&amp;");
            break;
        case '"':
            rc = da_buf_append_str(b, "&quot;");
            break;
        case '\'':
            rc = da_buf_append_str(b, "&#39;");
            break;
        default:
            rc = da_buf_append_byte(b, (unsigned char)*s);
        }
    }
    return rc;
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : "";
}

/* The newest report of each agent in the period (the manifest is oldest
 * first, so the last one seen wins). */
static cJSON *latest_by_agent(const struct pack *p)
{
    cJSON *m = cJSON_CreateObject(), *e;

    cJSON_ArrayForEach(e, p->reports)
    {
        const char *a = str_of(e, "agent_id");

        cJSON_DeleteItemFromObjectCaseSensitive(m, a);
        cJSON_AddItemReferenceToObject(m, a, e);
    }
    return m;
}

/* Stacked bars: compliant and non-compliant reports per UTC day. */
static int html_chart(struct da_buf *b, const struct pack *p, int64_t from, int64_t to)
{
    int64_t days = (to - from + 86399) / 86400, d;
    unsigned ok[CHART_DAYS_MAX] = {0}, bad[CHART_DAYS_MAX] = {0}, max = 1;
    const cJSON *e;
    int rc, w = 640, h = 160;

    if (days > CHART_DAYS_MAX)
        days = CHART_DAYS_MAX;
    if (days < 1)
        days = 1;
    cJSON_ArrayForEach(e, p->reports)
    {
        int64_t t;

        if (srv_pack_time_parse(str_of(e, "received_at"), &t) != 0)
            continue;
        d = (t - from) / 86400;
        if (d < 0 || d >= days)
            continue;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "compliant")))
            ok[d]++;
        else
            bad[d]++;
        if (ok[d] + bad[d] > max)
            max = ok[d] + bad[d];
    }
    rc = da_buf_printf(b,
                       "<svg role=\"img\" aria-label=\"Reports per day\" width=\"%d\" "
                       "height=\"%d\" viewBox=\"0 0 %d %d\" xmlns=\"http://www.w3.org/2000/svg\">"
                       "<title>Reports per day: compliant (green) and non-compliant (red); "
                       "highest day %u</title>",
                       w, h + 20, w, h + 20, max);
    for (d = 0; rc == 0 && d < days; d++) {
        double bw = (double)w / (double)days, x = bw * (double)d;
        double ho = (double)h * ok[d] / max, hb = (double)h * bad[d] / max;

        rc = da_buf_printf(b,
                           "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                           "fill=\"#2e7d32\"/><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                           "height=\"%.1f\" fill=\"#c62828\"/>",
                           x, (double)h - ho, bw * 0.8, ho, x, (double)h - ho - hb, bw * 0.8, hb);
    }
    if (rc == 0) {
        char first[32], last[32];

        srv_time_rfc3339(from, first);
        srv_time_rfc3339(from + (days - 1) * 86400, last);
        rc = da_buf_printf(b,
                           "<line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>"
                           "<text x=\"0\" y=\"%d\" font-size=\"11\">%.10s</text>"
                           "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%.10s"
                           "</text></svg>",
                           h, w, h, h + 15, first, w, h + 15, last);
    }
    return rc;
}

/* Per control: pass when the newest report of every machine passes it. */
static int html_controls(struct da_buf *b, const struct pack *p, const cJSON *latest)
{
    cJSON *controls = cJSON_CreateObject(), *c;
    const cJSON *e, *pol;
    int rc = 0;

    if (controls == NULL)
        return DA_ERR_NOMEM;
    /* every control named by a policy in force, with its title */
    cJSON_ArrayForEach(pol, p->policies)
    {
        const cJSON *ctl;

        cJSON_ArrayForEach(ctl, cJSON_GetObjectItemCaseSensitive(pol, "controls"))
        {
            if (cJSON_GetObjectItemCaseSensitive(controls, ctl->string) == NULL) {
                cJSON *o = cJSON_AddObjectToObject(controls, ctl->string);

                cJSON_AddStringToObject(o, "title", str_of(ctl, "title"));
                cJSON_AddArrayToObject(o, "pass");
                cJSON_AddArrayToObject(o, "fail");
                cJSON_AddArrayToObject(o, "other");
            }
        }
    }
    cJSON_ArrayForEach(e, latest)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(p->verdicts, str_of(e, "id")), *ctl;

        cJSON_ArrayForEach(ctl, cJSON_GetObjectItemCaseSensitive(v, "controls"))
        {
            cJSON *o = cJSON_GetObjectItemCaseSensitive(controls, ctl->string);
            const char *k;

            if (o == NULL || !cJSON_IsString(ctl))
                continue;
            k = strcmp(ctl->valuestring, "pass") == 0   ? "pass"
                : strcmp(ctl->valuestring, "fail") == 0 ? "fail"
                                                        : "other";
            cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(o, k),
                                 cJSON_CreateString(str_of(e, "id")));
        }
    }
    rc = da_buf_append_str(b, "<h2>Controls</h2><table><thead><tr><th scope=\"col\">Control</th>"
                              "<th scope=\"col\">Conclusion</th><th scope=\"col\">Machines "
                              "passing / failing / other</th><th scope=\"col\">Supporting "
                              "reports (newest per machine)</th></tr></thead><tbody>");
    cJSON_ArrayForEach(c, controls)
    {
        int np = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "pass"));
        int nf = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "fail"));
        int no = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "other"));
        const char *concl = nf > 0 ? "not met" : np > 0 && no == 0 ? "met" : "not determined";
        const cJSON *id;

        if (rc == 0)
            rc = da_buf_append_str(b, "<tr><td>");
        if (rc == 0)
            rc = html_text(b, c->string);
        if (rc == 0)
            rc = da_buf_append_str(b, " ");
        if (rc == 0)
            rc = html_text(b, str_of(c, "title"));
        if (rc == 0)
            rc = da_buf_printf(b, "</td><td class=\"%s\">%s</td><td>%d / %d / %d</td><td>",
                               nf > 0              ? "fail"
                               : np > 0 && no == 0 ? "pass"
                                                   : "other",
                               concl, np, nf, no);
        cJSON_ArrayForEach(id, cJSON_GetObjectItemCaseSensitive(c, nf > 0 ? "fail" : "pass"))
        {
            if (rc == 0)
                rc = da_buf_printf(b, "<a href=\"reports/%s/report.json\">%s</a><br>",
                                   id->valuestring, id->valuestring);
        }
        if (rc == 0)
            rc = da_buf_append_str(b, "</td></tr>");
    }
    if (rc == 0)
        rc = da_buf_append_str(b, "</tbody></table>");
    cJSON_Delete(controls);
    return rc;
}

static int html_machines(struct da_buf *b, const struct pack *p, const cJSON *latest)
{
    const cJSON *e;
    int rc = da_buf_append_str(
        b, "<h2>Machines</h2><table><thead><tr><th scope=\"col\">Agent</th><th scope=\"col\">"
           "AK name</th><th scope=\"col\">Newest report</th><th scope=\"col\">Verdict</th>"
           "<th scope=\"col\">Failing checks (observed value)</th></tr></thead><tbody>");

    cJSON_ArrayForEach(e, latest)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(p->verdicts, str_of(e, "id")), *ch;
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(p->agents, str_of(e, "agent_id"));

        if (rc == 0)
            rc = da_buf_printf(
                b,
                "<tr><td>%s</td><td>%.20s&hellip;</td><td>%s</td><td class=\"%s\">"
                "%s</td><td>",
                str_of(e, "agent_id"), str_of(a, "ak_name"), str_of(e, "received_at"),
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "compliant")) ? "pass" : "fail",
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "compliant")) ? "compliant"
                                                                               : "non-compliant");
        cJSON_ArrayForEach(ch, cJSON_GetObjectItemCaseSensitive(v, "checks"))
        {
            if (strcmp(str_of(ch, "verdict"), "pass") == 0 ||
                strcmp(str_of(ch, "verdict"), "not_applicable") == 0)
                continue;
            if (rc == 0)
                rc = html_text(b, str_of(ch, "id"));
            if (rc == 0)
                rc = da_buf_append_str(b, " (");
            if (rc == 0)
                rc = html_text(b, str_of(ch, "observed"));
            if (rc == 0)
                rc = da_buf_append_str(b, ")<br>");
        }
        if (rc == 0)
            rc = da_buf_append_str(b, "</td></tr>");
    }
    return rc != 0 ? rc : da_buf_append_str(b, "</tbody></table>");
}

static int html_report(struct pack *p, const char *vendor, int64_t from, int64_t to)
{
    struct da_buf b;
    char f[32], t[32], now[32];
    cJSON *latest = latest_by_agent(p);
    int rc;

    srv_time_rfc3339(from, f);
    srv_time_rfc3339(to, t);
    srv_time_rfc3339(p->now, now);
    da_buf_init(&b, PACK_HTML_MAX);
    rc = latest != NULL ? 0 : DA_ERR_NOMEM;
    if (rc == 0)
        rc = da_buf_append_str(
            &b, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                "style-src 'unsafe-inline'; img-src 'self'\">"
                "<title>Evidence pack</title><style>body{font-family:sans-serif;margin:2em;"
                "color:#111}table{border-collapse:collapse;width:100%;margin:1em 0}"
                "th,td{border:1px solid #999;padding:4px 6px;text-align:left;vertical-align:top;"
                "font-size:13px}.pass{color:#1b5e20;font-weight:bold}.fail{color:#b71c1c;"
                "font-weight:bold}.other{color:#555}@media print{body{margin:0}a{color:inherit;"
                "text-decoration:none}tr{page-break-inside:avoid}}</style></head><body><h1>"
                "Evidence pack: ");
    if (rc == 0)
        rc = html_text(&b, vendor);
    if (rc == 0)
        rc = da_buf_printf(
            &b,
            "</h1><p>Reports received from %s to %s (UTC), generated %s: %d reports from %d "
            "machines. Each conclusion rests on the newest verified report of each machine in "
            "the period; every report's quote, qualifying data and receipt can be checked again "
            "offline with <code>devattest-verify pack</code>.</p><h2>Reports per day</h2>",
            f, t, now, cJSON_GetArraySize(p->reports), cJSON_GetArraySize(latest));
    if (rc == 0)
        rc = html_chart(&b, p, from, to);
    if (rc == 0)
        rc = html_controls(&b, p, latest);
    if (rc == 0)
        rc = html_machines(&b, p, latest);
    if (rc == 0)
        rc = da_buf_append_str(&b, "</body></html>\n");
    if (rc == 0)
        rc = add_file(p, "report.html", da_buf_data(&b), da_buf_len(&b));
    da_buf_free(&b);
    cJSON_Delete(latest);
    return rc;
}

/* ---- the manifest ---- */

static int manifest(struct pack *p, const struct srv_keys *keys, const char *vendor, int64_t from,
                    int64_t to)
{
    cJSON *m = cJSON_CreateObject(), *agents = cJSON_CreateArray(), *a;
    struct da_dsse_envelope *env = NULL;
    struct da_buf enc;
    char f[32], t[32], now[32], *text = NULL;
    int rc = 0;

    srv_time_rfc3339(from, f);
    srv_time_rfc3339(to, t);
    srv_time_rfc3339(p->now, now);
    cJSON_ArrayForEach(a, p->agents)
    {
        cJSON_AddItemToArray(agents, cJSON_CreateString(a->string));
    }
    if (m == NULL || agents == NULL ||
        cJSON_AddStringToObject(m, "format", SRV_PACK_FORMAT) == NULL ||
        cJSON_AddStringToObject(m, "vendor", vendor) == NULL ||
        cJSON_AddStringToObject(m, "from", f) == NULL ||
        cJSON_AddStringToObject(m, "to", t) == NULL ||
        cJSON_AddStringToObject(m, "created_at", now) == NULL ||
        !cJSON_AddItemToObject(m, "agents", agents) ||
        !cJSON_AddItemReferenceToObject(m, "reports", p->reports) ||
        !cJSON_AddItemReferenceToObject(m, "files", p->files))
        rc = DA_ERR_NOMEM;
    else
        agents = NULL; /* transferred */
    if (rc == 0 && (text = cJSON_Print(m)) == NULL)
        rc = DA_ERR_NOMEM;
    if (rc == 0) {
        cJSON *keep = p->files;

        p->files = NULL; /* the manifest does not list itself */
        rc = add_file(p, "pack.json", text, strlen(text));
        p->files = keep;
    }
    if (rc == 0)
        rc = da_dsse_envelope_new(SRV_PACK_PAYLOAD_TYPE, text, strlen(text), &env);
    if (rc == 0)
        rc = da_dsse_sign_ecdsa_p256(keys->ca_key, "ca", env);
    da_buf_init(&enc, DA_MAX_DSSE_ENVELOPE);
    if (rc == 0)
        rc = da_dsse_envelope_encode(env, &enc);
    if (rc == 0)
        rc = da_tar_add(p->tar, "pack.dsse.json", da_buf_data(&enc), da_buf_len(&enc), p->now);
    da_buf_free(&enc);
    da_dsse_envelope_free(env);
    free(text);
    cJSON_Delete(agents);
    cJSON_Delete(m);
    return rc;
}

/* The same conclusions as report.html, as OSCAL assessment results. */
static int oscal_member(struct pack *p, const char *vendor, int64_t from, int64_t to)
{
    char *text = NULL;
    size_t len = 0;
    int rc = srv_oscal_export(p->store, vendor, from, to, &text, &len);

    if (rc == 0)
        rc = add_file(p, "oscal.json", text, len);
    free(text);
    return rc;
}

int srv_evidence_pack(struct srv_store *store, const struct srv_keys *keys, const char *vendor,
                      int64_t from, int64_t to, int64_t now, struct da_buf *out)
{
    struct srv_vendor v;
    struct pack p;
    int rc;

    if (to <= from)
        return DA_ERR_PACK_RANGE;
    rc = srv_store_vendor_find(store, vendor, &v);
    if (rc == DA_ERR_NOT_FOUND)
        return DA_ERR_VENDOR_UNKNOWN;
    if (rc != 0)
        return rc;
    memset(&p, 0, sizeof(p));
    p.store = store;
    p.tar = out;
    p.now = now;
    p.files = cJSON_CreateObject();
    p.reports = cJSON_CreateArray();
    p.agents = cJSON_CreateObject();
    p.policies = cJSON_CreateObject();
    p.verdicts = cJSON_CreateObject();
    if (p.files == NULL || p.reports == NULL || p.agents == NULL || p.policies == NULL ||
        p.verdicts == NULL)
        rc = DA_ERR_NOMEM;
    if (rc == 0)
        rc = add_file(&p, "keys/ca.pem", keys->ca_pem, strlen(keys->ca_pem));
    if (rc == 0)
        rc = add_keys(&p, keys);
    if (rc == 0)
        rc = srv_store_pack_reports(store, v.id, from, to, on_report, &p);
    if (rc == 0)
        rc = html_report(&p, v.name, from, to);
    if (rc == 0)
        rc = oscal_member(&p, v.name, from, to);
    if (rc == 0)
        rc = manifest(&p, keys, v.name, from, to);
    if (rc == 0)
        rc = da_tar_finish(out);
    cJSON_Delete(p.files);
    cJSON_Delete(p.reports);
    cJSON_Delete(p.agents);
    cJSON_Delete(p.policies);
    cJSON_Delete(p.verdicts);
    return rc;
}

int srv_pack_time_parse(const char *s, int64_t *out)
{
    int y, mo, d, h = 0, mi = 0, se = 0, n = 0;
    struct tm tm, back;
    time_t t;

    if (s == NULL)
        return DA_ERR_PACK_RANGE;
    if (strlen(s) == 10) {
        if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
            return DA_ERR_PACK_RANGE;
    } else if (strlen(s) == 20) {
        if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n != 20)
            return DA_ERR_PACK_RANGE;
    } else {
        return DA_ERR_PACK_RANGE;
    }
    /* digits exactly where the shape has them (sscanf alone takes "-0") */
    for (size_t i = 0; s[i] != '\0'; i++) {
        const char want = "dddd-dd-ddTdd:dd:ddZ"[i];

        if (want == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != want)
            return DA_ERR_PACK_RANGE;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    t = timegm(&tm);
    /* a date that does not exist (02-30, 25:00) comes back different */
    /* (timegm normalises tm itself: compare with what was written) */
    if (t == (time_t)-1 || gmtime_r(&t, &back) == NULL || back.tm_year != y - 1900 ||
        back.tm_mon != mo - 1 || back.tm_mday != d || back.tm_hour != h || back.tm_min != mi ||
        back.tm_sec != se || y < 1970)
        return DA_ERR_PACK_RANGE;
    *out = (int64_t)t;
    return 0;
}

static int write_pack(const char *path, const struct da_buf *b)
{
    char tmp[PATH_MAX];
    int fd, rc, n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);

    if (n < 0 || (size_t)n >= sizeof(tmp))
        return DA_ERR_INVALID_ARG;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return DA_ERR_IO;
    rc = da_write_all(fd, da_buf_data(b), da_buf_len(b));
    if (rc == 0 && fsync(fd) != 0)
        rc = DA_ERR_IO;
    if (close(fd) != 0 && rc == 0)
        rc = DA_ERR_IO;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = DA_ERR_IO;
    if (rc != 0)
        unlink(tmp);
    return rc;
}

static int export_oscal(struct srv_store *store, const char *vendor, int64_t from, int64_t to,
                        struct da_buf *b)
{
    char *text = NULL;
    size_t len = 0;
    int rc = srv_oscal_export(store, vendor, from, to, &text, &len);

    if (rc == 0)
        rc = da_buf_append(b, text, len);
    free(text);
    return rc;
}

int srv_cli_export(const struct srv_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"vendor", required_argument, NULL, 'v'}, {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},     {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'F'}, {NULL, 0, NULL, 0}};
    const char *vendor = NULL, *f = NULL, *t = NULL, *output = NULL, *format = "pack";
    struct srv_store *store = NULL;
    struct srv_keys *keys = NULL;
    int64_t from = 0, to = 0, now = (int64_t)time(NULL);
    struct da_buf b;
    int c, rc = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        if (c == 'v')
            vendor = optarg;
        else if (c == 'f')
            f = optarg;
        else if (c == 't')
            t = optarg;
        else if (c == 'o')
            output = optarg;
        else if (c == 'F')
            format = optarg;
        else
            return 2;
    }
    if (optind != argc || vendor == NULL || output == NULL ||
        (strcmp(format, "pack") != 0 && strcmp(format, "oscal") != 0))
        return 2;
    if (t != NULL)
        rc = srv_pack_time_parse(t, &to);
    else
        to = now + 1;
    if (rc == 0 && f != NULL)
        rc = srv_pack_time_parse(f, &from);
    else if (rc == 0)
        from = to - 30 * 86400;
    da_buf_init(&b, SRV_MAX_PACK);
    if (rc == 0)
        rc = srv_keys_load(cfg->state_dir, NULL, NULL, &keys);
    if (rc == 0)
        rc = srv_store_open(cfg->database, 1, cfg->stale_after_s, &store);
    if (rc == 0 && strcmp(format, "oscal") == 0)
        rc = export_oscal(store, vendor, from, to, &b);
    else if (rc == 0)
        rc = srv_evidence_pack(store, keys, vendor, from, to, now, &b);
    if (rc == 0)
        rc = write_pack(output, &b);
    srv_store_close(store);
    srv_keys_free(keys);
    if (rc != 0)
        fprintf(stderr, "devattest-server: export: %s: %s\n", da_err_code(rc), da_strerror(rc));
    else
        printf("%s: %zu bytes\n", output, da_buf_len(&b));
    da_buf_free(&b);
    return rc == 0 ? 0 : 1;
}

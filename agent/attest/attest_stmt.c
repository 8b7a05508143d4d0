#include "attest_stmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "attest_input.h"
#include "caps.h"
#include "dsse.h"
#include "encoding.h"
#include "err.h"
#include "intoto.h"
#include "jcs.h"
#include "json.h"
#include "picky.h"
#include "privsep_proto.h"

#define RECEIPT_TYPE      "application/vnd.devattest.receipt+json"
#define RECEIPT_STATEMENT "https://devattest.dev/receipt/v1"
#define BUILDER_PREFIX    "https://devattest.dev/agent/"

/* ---- time ---- */

static bool digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    size_t i;

    for (i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int agent_rfc3339_parse(const char *s, time_t *out)
{
    struct tm tm;
    time_t t;

    if (strlen(s) != 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
        !digits(s + 8, 2) || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' ||
        !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2) || s[19] != 'Z')
        return DA_ERR_INVALID_ARG;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = num(s, 4) - 1900;
    tm.tm_mon = num(s + 5, 2) - 1;
    tm.tm_mday = num(s + 8, 2);
    tm.tm_hour = num(s + 11, 2);
    tm.tm_min = num(s + 14, 2);
    tm.tm_sec = num(s + 17, 2);
    if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60)
        return DA_ERR_INVALID_ARG;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return DA_ERR_INVALID_ARG;
    *out = t;
    return 0;
}

static void rfc3339(time_t t, char out[32])
{
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "1970-01-01T00:00:00Z");
}

/* ---- the receipt ---- */

static bool hex64(const char *s)
{
    return s != NULL && strlen(s) == 64 && da_hex_is_lower(s, 64);
}

static int receipt_payload_check(struct agent_receipt *r)
{
    const char *type = NULL, *issued = NULL, *until = NULL, *policy = NULL;
    const cJSON *controls = NULL;
    bool compliant = false;
    time_t t;

    if (da_json_get_string(r->payload, "_type", &type) != 0 ||
        strcmp(type, RECEIPT_STATEMENT) != 0 ||
        da_json_get_string(r->payload, "agent_id", &r->agent_id) != 0 ||
        da_json_get_string(r->payload, "report_id", &r->report_id) != 0 ||
        da_json_get_string(r->payload, "evidence_sha256", &r->evidence_sha256) != 0 ||
        !hex64(r->evidence_sha256) ||
        da_json_get_string(r->payload, "policy_sha256", &policy) != 0 || !hex64(policy) ||
        da_json_get_bool(r->payload, "compliant", &compliant) != 0 ||
        da_json_get_object(r->payload, "controls", &controls) != 0 ||
        da_json_get_string(r->payload, "issued_at", &issued) != 0 ||
        agent_rfc3339_parse(issued, &r->issued_at) != 0 ||
        da_json_get_string(r->payload, "valid_until", &until) != 0 ||
        agent_rfc3339_parse(until, &t) != 0)
        return DA_ERR_ATTEST_NO_RECEIPT;
    r->compliant = compliant;
    return 0;
}

int agent_receipt_parse(const char *text, size_t len, struct agent_receipt *out)
{
    struct da_dsse_envelope *env = NULL;
    int r;

    memset(out, 0, sizeof(*out));
    r = da_json_parse(text, len, DA_MAX_RECEIPT, &out->envelope);
    if (r == 0)
        r = da_dsse_envelope_from_json(out->envelope, &env);
    if (r == 0 && strcmp(env->payload_type, RECEIPT_TYPE) != 0)
        r = DA_ERR_ATTEST_NO_RECEIPT;
    if (r == 0)
        r = da_json_parse((const char *)env->payload, env->payload_len, DA_MAX_RECEIPT,
                          &out->payload);
    if (r == 0)
        r = receipt_payload_check(out);
    da_dsse_envelope_free(env);
    if (r != 0) {
        agent_receipt_free(out);
        return DA_ERR_ATTEST_NO_RECEIPT;
    }
    return 0;
}

void agent_receipt_free(struct agent_receipt *r)
{
    if (r == NULL)
        return;
    cJSON_Delete(r->envelope);
    cJSON_Delete(r->payload);
    memset(r, 0, sizeof(*r));
}

/* ---- pieces ---- */

int agent_attest_caller_check(const cJSON *c)
{
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(c, "cmdline");
    const cJSON *cut = cJSON_GetObjectItemCaseSensitive(c, "cmdline_truncated"), *a;
    size_t total = 0;

    if (!cJSON_IsObject(c) || !cJSON_IsArray(args) ||
        cJSON_GetArraySize(args) > DA_MAX_CMDLINE_ARGS ||
        cJSON_GetArraySize(c) != (cut != NULL ? 2 : 1) || (cut != NULL && !cJSON_IsTrue(cut)))
        return DA_ERR_ATTEST_REQUEST;
    cJSON_ArrayForEach(a, args)
    {
        if (!cJSON_IsString(a))
            return DA_ERR_ATTEST_REQUEST;
        total += strlen(a->valuestring) + 1;
    }
    /* U+FFFD takes three bytes where the invalid byte took one. */
    return total <= 3 * DA_MAX_CMDLINE ? 0 : DA_ERR_ATTEST_REQUEST;
}

static int jcs_sha256_hex(const cJSON *v, char hex[DA_SHA256_HEX_SIZE])
{
    unsigned char d[DA_SHA256_LEN];
    int r = da_jcs_digest_sha256(v, d);

    return r == 0 ? da_hex_encode_to(d, sizeof(d), hex, DA_SHA256_HEX_SIZE) : r;
}

int agent_attest_qualifying_data(const cJSON *subject, const cJSON *statements,
                                 const char *evidence_hex, unsigned char qd[DA_SHA256_LEN])
{
    cJSON *o = cJSON_CreateObject();
    int r = DA_ERR_NOMEM;

    if (o != NULL && cJSON_AddStringToObject(o, "evidence_digest", evidence_hex) != NULL &&
        cJSON_AddItemReferenceToObject(o, "statements", DA_UNCONST(statements)) &&
        cJSON_AddItemReferenceToObject(o, "subject", DA_UNCONST(subject)))
        r = da_jcs_digest_sha256(o, qd);
    cJSON_Delete(o);
    return r;
}

/* Add a copy of v under key; false when out of memory. */
static bool add_copy(cJSON *o, const char *key, const cJSON *v)
{
    cJSON *c = cJSON_Duplicate(v, 1);

    if (c != NULL && cJSON_AddItemToObject(o, key, c))
        return true;
    cJSON_Delete(c);
    return false;
}

static cJSON *invocation(const struct agent_attest_in *in)
{
    cJSON *o = cJSON_CreateObject();
    const cJSON *cut = cJSON_GetObjectItemCaseSensitive(in->caller, "cmdline_truncated");

    if (o == NULL || cJSON_AddNumberToObject(o, "uid", (double)in->uid) == NULL ||
        !add_copy(o, "cmdline", cJSON_GetObjectItemCaseSensitive(in->caller, "cmdline")) ||
        (cut != NULL && cJSON_AddTrueToObject(o, "cmdline_truncated") == NULL)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *provenance(const struct agent_attest_in *in, const char *created)
{
    cJSON *p = cJSON_CreateObject(), *bd, *ext, *intl, *deps, *dep, *dd, *run, *b, *meta, *inv;
    const cJSON *remote = cJSON_GetObjectItemCaseSensitive(in->req->git, "remote");
    char builder[sizeof(BUILDER_PREFIX) + 128];

    if (p == NULL)
        return NULL;
    snprintf(builder, sizeof(builder), "%s%s", BUILDER_PREFIX, in->agent_id);
    bd = cJSON_AddObjectToObject(p, "buildDefinition");
    if (bd == NULL || cJSON_AddStringToObject(bd, "buildType", AGENT_PT_BUILD_MACHINE) == NULL ||
        (ext = cJSON_AddObjectToObject(bd, "externalParameters")) == NULL ||
        (inv = invocation(in)) == NULL)
        goto fail;
    if (!cJSON_AddItemToObject(ext, "invocation", inv)) {
        cJSON_Delete(inv);
        goto fail;
    }
    if (in->req->git != NULL && !add_copy(ext, "git", in->req->git))
        goto fail;
    intl = cJSON_AddObjectToObject(bd, "internalParameters");
    if (intl == NULL || cJSON_AddStringToObject(intl, "agent_id", in->agent_id) == NULL ||
        cJSON_AddStringToObject(intl, "evidence_digest", in->evidence_hex) == NULL ||
        cJSON_AddStringToObject(intl, "report_id", in->receipt->report_id) == NULL)
        goto fail;
    if (cJSON_IsString(remote)) {
        char uri[AGENT_MAX_URL + 8];

        snprintf(uri, sizeof(uri), "git+%s", remote->valuestring);
        if ((deps = cJSON_AddArrayToObject(bd, "resolvedDependencies")) == NULL ||
            (dep = cJSON_CreateObject()) == NULL)
            goto fail;
        if (!cJSON_AddItemToArray(deps, dep)) {
            cJSON_Delete(dep);
            goto fail;
        }
        if (cJSON_AddStringToObject(dep, "uri", uri) == NULL ||
            (dd = cJSON_AddObjectToObject(dep, "digest")) == NULL ||
            !add_copy(dd, "gitCommit", cJSON_GetObjectItemCaseSensitive(in->req->git, "commit")))
            goto fail;
    }
    run = cJSON_AddObjectToObject(p, "runDetails");
    if (run == NULL || (b = cJSON_AddObjectToObject(run, "builder")) == NULL ||
        cJSON_AddStringToObject(b, "id", builder) == NULL ||
        (meta = cJSON_AddObjectToObject(run, "metadata")) == NULL ||
        cJSON_AddStringToObject(meta, "finishedOn", created) == NULL)
        goto fail;
    return p;
fail:
    cJSON_Delete(p);
    return NULL;
}

/* The receipt's verdict as the predicate's "measured". */
static cJSON *measured(const struct agent_receipt *rc)
{
    static const char *const keys[] = {"report_id",     "compliant", "controls",
                                       "policy_sha256", "issued_at", "valid_until"};
    cJSON *o = cJSON_CreateObject();
    size_t i;

    for (i = 0; o != NULL && i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (!add_copy(o, keys[i], cJSON_GetObjectItemCaseSensitive(rc->payload, keys[i]))) {
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

static int add_b64(cJSON *o, const char *key, const unsigned char *p, size_t n)
{
    struct da_buf b;
    int r;

    da_buf_init(&b, da_base64_encoded_len(n, DA_BASE64_STD) + 1);
    r = da_base64_encode(p, n, DA_BASE64_STD, &b);
    if (r == 0 && cJSON_AddStringToObject(o, key, da_buf_str(&b)) == NULL)
        r = DA_ERR_NOMEM;
    da_buf_free(&b);
    return r;
}

static cJSON *main_predicate(const struct agent_attest_in *in, const cJSON *statements,
                             cJSON *quote, const char *created)
{
    cJSON *p = cJSON_CreateObject(), *m, *inv;

    if (p == NULL)
        goto fail;
    if (!cJSON_AddItemToObject(p, "quote", quote))
        goto fail;
    quote = NULL; /* transferred */
    if (cJSON_AddStringToObject(p, "agent_id", in->agent_id) == NULL ||
        cJSON_AddNullToObject(p, "vendor") == NULL ||
        cJSON_AddStringToObject(p, "trust", in->trust) == NULL ||
        cJSON_AddStringToObject(p, "evidence_digest", in->evidence_hex) == NULL ||
        /* a reference: the evidence may be large, and outlives p */
        !cJSON_AddItemReferenceToObject(p, "evidence", DA_UNCONST(in->evidence)) ||
        !add_copy(p, "receipt", in->receipt->envelope) ||
        add_b64(p, "ak_public", in->ak_public, in->ak_public_len) != 0 ||
        !add_copy(p, "statements", statements) ||
        cJSON_AddStringToObject(p, "created", created) == NULL)
        goto fail;
    if (in->req->git != NULL && !add_copy(p, "git", in->req->git))
        goto fail;
    m = measured(in->receipt);
    if (m == NULL || !cJSON_AddItemToObject(p, "measured", m)) {
        cJSON_Delete(m);
        goto fail;
    }
    inv = invocation(in);
    if (inv == NULL || !cJSON_AddItemToObject(p, "invocation", inv)) {
        cJSON_Delete(inv);
        goto fail;
    }
    return p;
fail:
    cJSON_Delete(quote);
    cJSON_Delete(p);
    return NULL;
}

/* ---- statements and envelopes ---- */

/* One bundle line: the statement (subject, type, predicate) signed. The
 * statement refers to the subject and predicate trees (no copies: an SBOM
 * may be large), which outlive it. */
static int envelope_line(const struct agent_attest_in *in, const char *type, const cJSON *pred,
                         struct da_buf *lines)
{
    unsigned char d[DA_SHA256_LEN];
    struct da_buf payload, der;
    cJSON *st = cJSON_CreateObject(), *env = cJSON_CreateObject(), *sigs, *sig, *chain;
    int r = DA_ERR_NOMEM;

    da_buf_init(&payload, DA_MAX_DSSE_PAYLOAD);
    da_buf_init(&der, DA_MAX_DSSE_SIG_LEN);
    if (st == NULL || env == NULL ||
        cJSON_AddStringToObject(st, "_type", "https://in-toto.io/Statement/v1") == NULL ||
        !cJSON_AddItemReferenceToObject(st, "subject", DA_UNCONST(in->req->subject)) ||
        cJSON_AddStringToObject(st, "predicateType", type) == NULL ||
        !cJSON_AddItemReferenceToObject(st, "predicate", DA_UNCONST(pred)))
        goto out;
    r = da_jcs_serialize(st, &payload);
    if (r == 0)
        r = da_dsse_pae_sha256(DA_INTOTO_PAYLOAD_TYPE, da_buf_data(&payload), da_buf_len(&payload),
                               d);
    if (r == 0)
        r = in->sign(in->cb, d, &der);
    if (r != 0)
        goto out;
    r = DA_ERR_NOMEM;
    if (add_b64(env, "payload", da_buf_data(&payload), da_buf_len(&payload)) != 0 ||
        cJSON_AddStringToObject(env, "payloadType", DA_INTOTO_PAYLOAD_TYPE) == NULL ||
        (sigs = cJSON_AddArrayToObject(env, "signatures")) == NULL ||
        (sig = cJSON_CreateObject()) == NULL)
        goto out;
    if (!cJSON_AddItemToArray(sigs, sig)) {
        cJSON_Delete(sig);
        goto out;
    }
    if (cJSON_AddStringToObject(sig, "keyid", in->keyid_hex) == NULL ||
        add_b64(sig, "sig", da_buf_data(&der), da_buf_len(&der)) != 0 ||
        cJSON_AddStringToObject(sig, "certificate", in->cert_pem) == NULL ||
        (chain = cJSON_AddArrayToObject(sig, "chain")) == NULL ||
        !cJSON_AddItemToArray(chain, cJSON_CreateString(in->ca_pem)))
        goto out;
    r = da_jcs_serialize(env, lines);
    if (r == 0)
        r = da_buf_append_byte(lines, '\n');
out:
    cJSON_Delete(st);
    cJSON_Delete(env);
    da_buf_free(&payload);
    da_buf_free(&der);
    return r;
}

/* {"predicateType": T, "digest": {"sha256": hex of SHA-256(JCS(pred))}} */
static int list_entry(cJSON *list, const char *type, const cJSON *pred)
{
    char hex[DA_SHA256_HEX_SIZE];
    cJSON *e, *d;
    int r = jcs_sha256_hex(pred, hex);

    if (r != 0)
        return r;
    e = cJSON_CreateObject();
    if (e == NULL || !cJSON_AddItemToArray(list, e)) {
        cJSON_Delete(e);
        return DA_ERR_NOMEM;
    }
    if (cJSON_AddStringToObject(e, "predicateType", type) == NULL ||
        (d = cJSON_AddObjectToObject(e, "digest")) == NULL ||
        cJSON_AddStringToObject(d, "sha256", hex) == NULL)
        return DA_ERR_NOMEM;
    return 0;
}

int agent_attest_build(const struct agent_attest_in *in, struct da_buf *lines)
{
    unsigned char qd[DA_SHA256_LEN];
    char created[32];
    cJSON *list = cJSON_CreateArray(), *prov = NULL, *quote = NULL, *pred = NULL;
    const cJSON *st;
    struct da_buf rest;
    int r;

    da_buf_init(&rest, da_buf_cap(lines));
    rfc3339(in->created, created);
    r = list == NULL ? DA_ERR_NOMEM : agent_attest_caller_check(in->caller);
    if (r == 0) {
        prov = provenance(in, created);
        if (prov == NULL)
            r = DA_ERR_NOMEM;
    }
    cJSON_ArrayForEach(st, in->req->statements)
    {
        const char *t = cJSON_GetObjectItemCaseSensitive(st, "predicateType")->valuestring;
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(st, "predicate");

        if (r == 0)
            r = agent_attest_predicate_check(t, p);
        if (r == 0)
            r = list_entry(list, t, p);
        if (r == 0)
            r = envelope_line(in, t, p, &rest);
    }
    if (r == 0)
        r = list_entry(list, AGENT_PT_PROVENANCE, prov);
    if (r == 0)
        r = envelope_line(in, AGENT_PT_PROVENANCE, prov, &rest);
    if (r == 0)
        r = agent_attest_qualifying_data(in->req->subject, list, in->evidence_hex, qd);
    if (r == 0)
        r = in->quote(in->cb, qd, &quote);
    if (r == 0) {
        pred = main_predicate(in, list, quote, created);
        quote = NULL; /* transferred (freed on failure) */
        if (pred == NULL)
            r = DA_ERR_NOMEM;
    }
    if (r == 0)
        r = envelope_line(in, AGENT_PT_BUILD_MACHINE, pred, lines);
    if (r == 0)
        r = da_buf_append(lines, da_buf_data(&rest), da_buf_len(&rest));
    cJSON_Delete(list);
    cJSON_Delete(prov);
    cJSON_Delete(quote);
    cJSON_Delete(pred);
    da_buf_free(&rest);
    return r;
}

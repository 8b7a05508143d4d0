/* The checks of da_bundle_verify (bundle.h): per envelope, then over the
 * whole bundle. Each failure has its own code (err.h, -340..-359). */
#include "bundle.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include "caps.h"
#include "encoding.h"
#include "err.h"
#include "jcs.h"
#include "json.h"
#include "quote.h"
#include "receipt_trust.h"
#include "tpm_public.h"

/* Receipts may be issued this long after the statement's own clock says it
 * was made (the two clocks are different machines'). */
#define RECEIPT_CLOCK_SKEW_S 300

/* What one envelope's checks found, for the checks over the bundle. */
struct ev {
    cJSON *checks;
    bool ok;        /* every check so far held */
    bool signed_ok; /* certificate, chain, timestamp and signature held */
    bool main_ok;   /* a main statement whose quote and receipt held */
    bool is_main;
    char keyid[65];
    char *subjects; /* canonical JSON of the subject array */
    char predicate_sha256[65];
    X509 *cert;
    int first_rc;
};

struct run {
    const struct da_bundle *b;
    const struct da_bundle_options *o;
    struct ev *ev;
    int first_rc;
};

static int add_check(struct ev *v, cJSON *arr, int *first, const char *name, int rc,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Record one check's outcome; detail may be NULL. */
static int add_check(struct ev *v, cJSON *arr, int *first, const char *name, int rc,
                     const char *fmt, ...)
{
    cJSON *c = cJSON_CreateObject();
    char detail[512] = "";
    va_list ap;

    if (fmt != NULL) {
        va_start(ap, fmt);
        vsnprintf(detail, sizeof(detail), fmt, ap);
        va_end(ap);
    }
    if (c == NULL || !cJSON_AddItemToArray(arr, c)) {
        cJSON_Delete(c);
        return DA_ERR_NOMEM;
    }
    if (cJSON_AddStringToObject(c, "check", name) == NULL ||
        cJSON_AddBoolToObject(c, "ok", rc == 0) == NULL ||
        (rc != 0 && (cJSON_AddStringToObject(c, "code", da_err_code(rc)) == NULL ||
                     cJSON_AddStringToObject(c, "message", da_strerror(rc)) == NULL)) ||
        (detail[0] != '\0' && cJSON_AddStringToObject(c, "detail", detail) == NULL))
        return DA_ERR_NOMEM;
    if (rc != 0) {
        if (v != NULL) {
            v->ok = false;
            if (v->first_rc == 0)
                v->first_rc = rc;
        }
        if (*first == 0)
            *first = rc;
    }
    return 0;
}

#define CHECK(r, v, name, rc, ...)                                                                 \
    add_check((v), (v)->checks, &(r)->first_rc, name, rc, __VA_ARGS__)

static const char *str_member(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int b64_member(const cJSON *o, const char *key, size_t cap, struct da_buf *out)
{
    const char *s = str_member(o, key);

    da_buf_init(out, cap);
    if (s == NULL)
        return DA_ERR_ATTEST_PREDICATE;
    return da_base64_decode(s, strlen(s), DA_BASE64_STD, out);
}

static X509 *pem_cert(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

    BIO_free(bio);
    return x;
}

static int canonical_text(const cJSON *v, char **out)
{
    struct da_buf b;
    int rc;

    *out = NULL;
    da_buf_init(&b, DA_MAX_CANONICAL_JSON);
    rc = da_jcs_serialize(v, &b);
    if (rc == 0 && da_buf_append(&b, "", 1) == 0)
        *out = (char *)da_buf_take(&b, NULL);
    else if (rc == 0)
        rc = DA_ERR_NOMEM;
    da_buf_free(&b);
    return rc;
}

/* --- signature entry --------------------------------------------------- */

static int check_certificate(struct run *r, const struct da_bundle_entry *e, struct ev *v)
{
    const char *keyid = e->env->sigs[0].keyid;

    v->cert = pem_cert(e->certificate);
    if (v->cert == NULL)
        return CHECK(r, v, "certificate", DA_ERR_BUNDLE_SK_CERT, "the certificate is not PEM");
    if (da_key_id(X509_get0_pubkey(v->cert), v->keyid) != 0)
        return CHECK(r, v, "certificate", DA_ERR_BUNDLE_SK_CERT, "unusable public key");
    if (keyid == NULL || strcmp(keyid, v->keyid) != 0)
        return CHECK(r, v, "certificate", DA_ERR_BUNDLE_SK_CERT,
                     "keyid %.80s is not the certificate's key %s", keyid ? keyid : "(none)",
                     v->keyid);
    return CHECK(r, v, "certificate", 0, "keyid %s", v->keyid);
}

static int asn1_time_unix(const ASN1_TIME *a, int64_t *out)
{
    struct tm tm;

    if (a == NULL || ASN1_TIME_to_tm(a, &tm) != 1)
        return DA_ERR_BUNDLE_TIMESTAMP;
    *out = (int64_t)timegm(&tm);
    return 0;
}

/* An RFC 3161 TimeStampToken over the signature bytes, signed by a TSA
 * that chains to the --tsa-ca roots. *when gets its genTime. */
static int timestamp_verify(const struct da_bundle_entry *e, X509_STORE *roots, int64_t *when,
                            const char **why)
{
    struct da_buf der;
    const unsigned char *p;
    PKCS7 *token = NULL;
    TS_TST_INFO *info = NULL;
    TS_VERIFY_CTX *ctx = NULL;
    BIO *data = NULL;
    int rc;

    *why = "";
    da_buf_init(&der, 64 * 1024);
    rc = da_base64_decode(e->timestamp, strlen(e->timestamp), DA_BASE64_STD, &der);
    if (rc != 0) {
        *why = "not base64";
        rc = DA_ERR_TIMESTAMP_FORMAT;
        goto out;
    }
    p = da_buf_data(&der);
    token = d2i_PKCS7(NULL, &p, (long)da_buf_len(&der));
    if (token == NULL || p != da_buf_data(&der) + da_buf_len(&der) ||
        (info = PKCS7_to_TS_TST_INFO(token)) == NULL) {
        *why = "not a TimeStampToken";
        rc = DA_ERR_TIMESTAMP_FORMAT;
        goto out;
    }
    if (roots == NULL) {
        *why = "no TSA roots given (--tsa-ca)";
        rc = DA_ERR_BUNDLE_TIMESTAMP;
        goto out;
    }
    ctx = TS_VERIFY_CTX_new();
    data = BIO_new_mem_buf(e->env->sigs[0].sig, (int)e->env->sigs[0].sig_len);
    if (ctx == NULL || data == NULL || X509_STORE_up_ref(roots) != 1) {
        rc = DA_ERR_NOMEM;
        goto out;
    }
    TS_VERIFY_CTX_set_flags(ctx, TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_DATA);
    TS_VERIFY_CTX_set_data(ctx, data);
    data = NULL; /* transferred */
    TS_VERIFY_CTX_set_store(ctx, roots);
    if (TS_RESP_verify_token(ctx, token) != 1) {
        *why = "the token does not verify over the signature with the TSA roots";
        rc = DA_ERR_BUNDLE_TIMESTAMP;
        goto out;
    }
    rc = asn1_time_unix(TS_TST_INFO_get_time(info), when);
out:
    BIO_free(data);
    TS_VERIFY_CTX_free(ctx);
    TS_TST_INFO_free(info);
    PKCS7_free(token);
    da_buf_free(&der);
    return rc;
}

static int check_chain(struct run *r, const struct da_bundle_entry *e, struct ev *v, int64_t t)
{
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    const cJSON *c;
    const char *why;
    int rc = untrusted != NULL ? 0 : DA_ERR_NOMEM;

    cJSON_ArrayForEach(c, e->chain)
    {
        X509 *x = pem_cert(c->valuestring);
        if (rc == 0 && (x == NULL || sk_X509_push(untrusted, x) <= 0)) {
            X509_free(x);
            rc = DA_ERR_BUNDLE_CHAIN;
        }
    }
    if (rc == 0)
        rc = da_cert_verify_at(r->o->ca, v->cert, untrusted, t, &why);
    else
        why = "a chain certificate is not PEM";
    sk_X509_pop_free(untrusted, X509_free);
    {
        char when[32] = "";
        time_t tt = (time_t)t;
        struct tm tm;
        if (gmtime_r(&tt, &tm) != NULL)
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        return CHECK(r, v, "chain", rc, "%s, at %s", rc != 0 ? why : "to the CA", when);
    }
}

static int check_signed(struct run *r, const struct da_bundle_entry *e, struct ev *v)
{
    int64_t t = r->o->now;
    const char *why;
    int rc;

    if ((rc = check_certificate(r, e, v)) != 0 || !v->ok)
        return rc;
    if (e->timestamp != NULL) {
        int trc = timestamp_verify(e, r->o->tsa_roots, &t, &why);
        if ((rc = CHECK(r, v, "timestamp", trc, "%s", trc != 0 ? why : "over the signature")) != 0)
            return rc;
        if (trc != 0)
            t = r->o->now;
    }
    if ((rc = check_chain(r, e, v, t)) != 0)
        return rc;
    rc = da_dsse_verify(e->env, X509_get0_pubkey(v->cert), NULL);
    if ((rc = CHECK(r, v, "signature", rc,
                    rc != 0 ? "over the DSSE PAE with the certificate's key" : NULL)) != 0)
        return rc;
    v->signed_ok = v->ok;
    return 0;
}

/* --- main statement ------------------------------------------------------ */

/* The AK name the SK certificate carries. */
static int cert_ak_name(X509 *cert, unsigned char *name, size_t *len)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(DA_OID_AK_NAME, 1);
    int i = oid != NULL ? X509_get_ext_by_OBJ(cert, oid, -1) : -1;
    ASN1_OCTET_STRING *data, *inner = NULL;
    const unsigned char *p;
    int rc = DA_ERR_BUNDLE_AK_BINDING;

    ASN1_OBJECT_free(oid);
    if (i < 0 ||
        X509_get_ext_by_OBJ(cert, X509_EXTENSION_get_object(X509_get_ext(cert, i)), i) >= 0)
        return rc;
    data = X509_EXTENSION_get_data(X509_get_ext(cert, i));
    p = ASN1_STRING_get0_data(data);
    inner = d2i_ASN1_OCTET_STRING(NULL, &p, ASN1_STRING_length(data));
    if (inner != NULL && p == ASN1_STRING_get0_data(data) + ASN1_STRING_length(data) &&
        ASN1_STRING_length(inner) > 0 && ASN1_STRING_length(inner) <= DA_MAX_TPM_NAME) {
        *len = (size_t)ASN1_STRING_length(inner);
        memcpy(name, ASN1_STRING_get0_data(inner), *len);
        rc = 0;
    }
    ASN1_OCTET_STRING_free(inner);
    return rc;
}

static int check_ak(struct run *r, struct ev *v, const cJSON *pred, struct da_tpm_public **ak)
{
    unsigned char want[DA_MAX_TPM_NAME];
    const uint8_t *name;
    size_t want_len = 0, len = 0;
    struct da_buf pub;
    int rc = b64_member(pred, "ak_public", DA_MAX_TPM_STRUCT, &pub);

    *ak = NULL;
    if (rc == 0)
        rc = da_tpm_public_parse(da_buf_data(&pub), da_buf_len(&pub), ak);
    if (rc == 0)
        rc = da_tpm_public_check_ak(*ak);
    da_buf_free(&pub);
    if (rc != 0)
        return CHECK(r, v, "ak_binding", rc, "ak_public is not an acceptable AK");
    if (cert_ak_name(v->cert, want, &want_len) != 0)
        return CHECK(r, v, "ak_binding", DA_ERR_BUNDLE_AK_BINDING,
                     "the certificate has no single AK name extension %s", DA_OID_AK_NAME);
    name = da_tpm_public_name(*ak, &len);
    if (len != want_len || memcmp(name, want, len) != 0)
        return CHECK(r, v, "ak_binding", DA_ERR_BUNDLE_AK_BINDING,
                     "the AK's name is not the one the certificate names");
    return CHECK(r, v, "ak_binding", 0, NULL);
}

/* SHA-256 of the canonical {"evidence_digest", "statements", "subject"}. */
static int quote_qd(const struct da_bundle_entry *e, const cJSON *pred, unsigned char qd[32])
{
    cJSON *o = cJSON_CreateObject();
    const cJSON *ed = cJSON_GetObjectItemCaseSensitive(pred, "evidence_digest");
    const cJSON *sts = cJSON_GetObjectItemCaseSensitive(pred, "statements");
    int rc = DA_ERR_NOMEM;

    if (ed == NULL || !cJSON_IsArray(sts)) {
        cJSON_Delete(o);
        return DA_ERR_ATTEST_PREDICATE;
    }
    if (o != NULL && cJSON_AddItemToObject(o, "evidence_digest", cJSON_Duplicate(ed, 1)) &&
        cJSON_AddItemToObject(o, "statements", cJSON_Duplicate(sts, 1)) &&
        cJSON_AddItemToObject(o, "subject",
                              cJSON_Duplicate(da_intoto_statement_subject_json(e->st), 1)))
        rc = da_jcs_digest_sha256(o, qd);
    cJSON_Delete(o);
    return rc;
}

static int check_quote(struct run *r, const struct da_bundle_entry *e, struct ev *v,
                       const cJSON *pred, const struct da_tpm_public *ak)
{
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(pred, "quote");
    struct da_buf attest, sig, pcrs;
    struct da_pcr_selection sel;
    struct da_quote_expect x;
    unsigned char qd[32];
    const char *seltext = str_member(q, "pcr_selection");
    int rc;

    if (!cJSON_IsObject(q) || str_member(q, "attest") == NULL || str_member(q, "signature") == NULL)
        return CHECK(r, v, "quote", DA_ERR_BUNDLE_QUOTE_MISSING, NULL);
    rc = b64_member(q, "attest", DA_MAX_TPM_STRUCT, &attest);
    if (rc == 0)
        rc = b64_member(q, "signature", DA_MAX_TPM_STRUCT, &sig);
    else
        da_buf_init(&sig, 1);
    if (rc == 0)
        rc = b64_member(q, "pcr_values", DA_MAX_TPM_STRUCT, &pcrs);
    else
        da_buf_init(&pcrs, 1);
    if (rc == 0 && (seltext == NULL || da_pcr_selection_parse(seltext, &sel) != 0))
        rc = DA_ERR_ATTEST_PREDICATE;
    if (rc == 0)
        rc = quote_qd(e, pred, qd);
    if (rc == 0) {
        memset(&x, 0, sizeof(x));
        x.ak = ak;
        x.qualifying_data = qd;
        x.qualifying_data_len = sizeof(qd);
        x.selection = &sel;
        x.pcr_values = da_buf_data(&pcrs);
        x.pcr_values_len = da_buf_len(&pcrs);
        /* Freshness comes from the receipt and the signing time, not from
         * ordering TPM counters. */
        x.accept_unsafe_clock = true;
        rc = da_quote_verify(da_buf_data(&attest), da_buf_len(&attest), da_buf_data(&sig),
                             da_buf_len(&sig), &x, NULL);
        if (rc == DA_ERR_VERIFY_EXTRA_DATA)
            rc = DA_ERR_BUNDLE_QUOTE_SUBJECTS;
    }
    da_buf_free(&attest);
    da_buf_free(&sig);
    da_buf_free(&pcrs);
    return CHECK(r, v, "quote", rc, rc == 0 ? "by the AK over %s" : "%s",
                 seltext != NULL ? seltext : "");
}

struct receipt {
    cJSON *payload;
    const char *agent_id, *evidence;
    int64_t issued, until;
    bool compliant;
};

static int receipt_parse(const cJSON *pred, struct da_dsse_envelope **env, struct receipt *rc_out)
{
    const cJSON *renv = cJSON_GetObjectItemCaseSensitive(pred, "receipt");
    const cJSON *c;
    int rc;

    memset(rc_out, 0, sizeof(*rc_out));
    *env = NULL;
    if (!cJSON_IsObject(renv))
        return DA_ERR_ATTEST_PREDICATE;
    rc = da_dsse_envelope_from_json(renv, env);
    if (rc == 0 && strcmp((*env)->payload_type, DA_RECEIPT_PAYLOAD_TYPE) != 0)
        rc = DA_ERR_ATTEST_PREDICATE;
    if (rc == 0)
        rc = da_json_parse((const char *)(*env)->payload, (*env)->payload_len, DA_MAX_DSSE_PAYLOAD,
                           &rc_out->payload);
    if (rc != 0)
        return rc;
    c = cJSON_GetObjectItemCaseSensitive(rc_out->payload, "compliant");
    rc_out->agent_id = str_member(rc_out->payload, "agent_id");
    rc_out->evidence = str_member(rc_out->payload, "evidence_sha256");
    rc_out->compliant = cJSON_IsTrue(c);
    if (rc_out->agent_id == NULL || rc_out->evidence == NULL || !cJSON_IsBool(c) ||
        strcmp(str_member(rc_out->payload, "_type") ? str_member(rc_out->payload, "_type") : "",
               DA_RECEIPT_TYPE) != 0 ||
        da_time_rfc3339_parse(str_member(rc_out->payload, "issued_at"), &rc_out->issued) != 0 ||
        da_time_rfc3339_parse(str_member(rc_out->payload, "valid_until"), &rc_out->until) != 0)
        return DA_ERR_ATTEST_PREDICATE;
    return 0;
}

static int cert_cn(X509 *x, char *out, size_t size)
{
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)size);

    return n > 0 && (size_t)n < size ? 0 : DA_ERR_BUNDLE_SK_CERT;
}

static int check_receipt(struct run *r, struct ev *v, const cJSON *pred, int64_t created)
{
    struct da_dsse_envelope *env = NULL;
    struct receipt rec;
    const char *agent = str_member(pred, "agent_id"), *ed = str_member(pred, "evidence_digest");
    const char *why;
    char cn[128];
    X509 *key = NULL;
    int sig_rc, rc = receipt_parse(pred, &env, &rec);

    if (rc != 0) {
        rc = CHECK(r, v, "receipt_signature", DA_ERR_ATTEST_PREDICATE, "no well-formed receipt");
        goto out;
    }
    sig_rc = da_receipt_key_find(r->o->keys, r->o->ca, env->sigs[0].keyid, rec.issued, &key, &why);
    if (sig_rc != 0 && r->o->keys == NULL)
        why = "no receipt keys given (--keys)";
    if (sig_rc == 0 && da_dsse_verify(env, X509_get0_pubkey(key), NULL) != 0) {
        sig_rc = DA_ERR_BUNDLE_RECEIPT_KEY;
        why = "the signature does not verify with the receipt key";
    }
    rc = CHECK(r, v, "receipt_signature", sig_rc, "%s", sig_rc != 0 ? why : "by a receipt key");
    if (rc != 0 || sig_rc != 0)
        goto out;
    if (agent == NULL || ed == NULL || cert_cn(v->cert, cn, sizeof(cn)) != 0 ||
        strcmp(agent, rec.agent_id) != 0 || strcmp(cn, agent) != 0 || strcmp(ed, rec.evidence) != 0)
        rc = CHECK(r, v, "receipt_subject", DA_ERR_BUNDLE_RECEIPT_MISMATCH,
                   "receipt agent %.64s evidence %.64s", rec.agent_id, rec.evidence);
    else
        rc = CHECK(r, v, "receipt_subject", 0, "agent %.64s", agent);
    if (rc == 0)
        rc = CHECK(r, v, "receipt_verdict", rec.compliant ? 0 : DA_ERR_BUNDLE_NONCOMPLIANT,
                   rec.compliant ? "compliant" : "non-compliant");
    if (rc != 0)
        goto out;
    if (created > rec.until)
        rc = CHECK(r, v, "receipt_age", DA_ERR_BUNDLE_RECEIPT_EXPIRED,
                   "valid until %s, statement made %lld s later",
                   str_member(rec.payload, "valid_until"), (long long)(created - rec.until));
    else if (rec.issued > created + RECEIPT_CLOCK_SKEW_S)
        rc = CHECK(r, v, "receipt_age", DA_ERR_BUNDLE_RECEIPT_AGE,
                   "the receipt was issued after the statement was made");
    else if (r->o->max_age_s > 0 && created - rec.issued > r->o->max_age_s)
        rc = CHECK(r, v, "receipt_age", DA_ERR_BUNDLE_RECEIPT_AGE,
                   "%lld s old at the statement's time, more than %lld s",
                   (long long)(created - rec.issued), (long long)r->o->max_age_s);
    else
        rc = CHECK(r, v, "receipt_age", 0, "%lld s old at the statement's time",
                   (long long)(created - rec.issued));
out:
    X509_free(key);
    cJSON_Delete(rec.payload);
    da_dsse_envelope_free(env);
    return rc;
}

static int check_policy(struct run *r, struct ev *v, const cJSON *pred)
{
    const cJSON *evidence = cJSON_GetObjectItemCaseSensitive(pred, "evidence");
    const char *ed = str_member(pred, "evidence_digest");
    struct da_policy_result *res = NULL;
    unsigned char d[32];
    char hex[65];
    cJSON *facts;
    int rc;

    if (!cJSON_IsObject(evidence))
        return CHECK(r, v, "policy", DA_ERR_BUNDLE_POLICY, "no embedded evidence to evaluate");
    if (da_jcs_digest_sha256(evidence, d) != 0 || da_hex_encode_to(d, 32, hex, sizeof(hex)) != 0 ||
        ed == NULL || strcmp(hex, ed) != 0)
        return CHECK(r, v, "policy", DA_ERR_BUNDLE_EVIDENCE, "SHA-256 %s", hex);
    facts = cJSON_CreateObject();
    if (facts == NULL || cJSON_AddStringToObject(facts, "trust", "tpm") == NULL ||
        cJSON_AddBoolToObject(facts, "quote_verified", v->ok) == NULL) {
        cJSON_Delete(facts);
        return DA_ERR_NOMEM;
    }
    rc = da_policy_eval(r->o->policy, evidence, facts, &res);
    cJSON_Delete(facts);
    if (rc != 0)
        return rc;
    rc = CHECK(r, v, "policy", res->verdict == DA_VERDICT_PASS ? 0 : DA_ERR_BUNDLE_POLICY,
               "%s %s: %s", res->policy_id, res->policy_version, da_verdict_name(res->verdict));
    da_policy_result_free(res);
    return rc;
}

static int check_main(struct run *r, const struct da_bundle_entry *e, struct ev *v)
{
    const cJSON *pred = e->st->predicate;
    struct da_tpm_public *ak = NULL;
    const char *trust;
    int64_t created = 0;
    int rc;

    v->is_main = true;
    if (da_time_rfc3339_parse(str_member(pred, "created"), &created) != 0 ||
        str_member(pred, "agent_id") == NULL || str_member(pred, "evidence_digest") == NULL ||
        !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(pred, "statements")))
        return CHECK(r, v, "predicate", DA_ERR_ATTEST_PREDICATE,
                     "created, agent_id, evidence_digest and statements are required");
    trust = str_member(pred, "trust");
    if (trust == NULL || strcmp(trust, "tpm") != 0)
        return CHECK(r, v, "trust",
                     trust != NULL && strcmp(trust, "software") == 0 ? DA_ERR_BUNDLE_SOFTWARE_KEYS
                                                                     : DA_ERR_ATTEST_PREDICATE,
                     "trust %.32s", trust != NULL ? trust : "(missing)");
    if ((rc = check_ak(r, v, pred, &ak)) != 0)
        return rc;
    if (v->ok && (rc = check_quote(r, e, v, pred, ak)) != 0)
        goto out;
    if ((rc = check_receipt(r, v, pred, created)) != 0)
        goto out;
    if (r->o->policy != NULL && (rc = check_policy(r, v, pred)) != 0)
        goto out;
    v->main_ok = v->ok;
out:
    da_tpm_public_free(ak);
    return rc;
}

/* --- over the bundle ----------------------------------------------------- */

static bool listed_in(const cJSON *statements, const char *type, const char *sha256)
{
    const cJSON *s;

    cJSON_ArrayForEach(s, statements)
    {
        const char *t = str_member(s, "predicateType");
        const char *d = str_member(cJSON_GetObjectItemCaseSensitive(s, "digest"), "sha256");
        if (t != NULL && d != NULL && strcmp(t, type) == 0 && strcmp(d, sha256) == 0)
            return true;
    }
    return false;
}

static bool same_signer_subjects(const struct ev *a, const struct ev *b)
{
    return strcmp(a->keyid, b->keyid) == 0 && a->subjects != NULL && b->subjects != NULL &&
           strcmp(a->subjects, b->subjects) == 0;
}

static const cJSON *statements_of(const struct da_bundle_entry *e)
{
    return cJSON_GetObjectItemCaseSensitive(e->st->predicate, "statements");
}

/* A main statement: every statement it lists is present and signed. */
static int check_listed(struct run *r, size_t i)
{
    const struct da_bundle *b = r->b;
    struct ev *v = &r->ev[i];
    const cJSON *s;
    size_t n = 0;

    cJSON_ArrayForEach(s, statements_of(&b->e[i]))
    {
        const char *t = str_member(s, "predicateType");
        const char *d = str_member(cJSON_GetObjectItemCaseSensitive(s, "digest"), "sha256");
        bool found = false;
        for (size_t j = 0; j < b->n && !found && t != NULL && d != NULL; j++) {
            found = j != i && r->ev[j].signed_ok && !r->ev[j].is_main &&
                    strcmp(b->e[j].st->predicate_type, t) == 0 &&
                    strcmp(r->ev[j].predicate_sha256, d) == 0 && same_signer_subjects(v, &r->ev[j]);
        }
        if (!found)
            return CHECK(r, v, "statements", DA_ERR_BUNDLE_STATEMENT_MISSING, "%.200s %.64s",
                         t ? t : "(no predicateType)", d ? d : "(no digest)");
        n++;
    }
    return CHECK(r, v, "statements", 0, "%zu listed, all present", n);
}

/* An accompanying statement: listed by a verified main statement. */
static int check_bound(struct run *r, size_t i)
{
    const struct da_bundle *b = r->b;
    struct ev *v = &r->ev[i];

    for (size_t j = 0; j < b->n; j++) {
        if (j != i && r->ev[j].main_ok && same_signer_subjects(v, &r->ev[j]) &&
            listed_in(statements_of(&b->e[j]), b->e[i].st->predicate_type, v->predicate_sha256))
            return CHECK(r, v, "binding", 0, "listed by line %zu", b->e[j].line);
    }
    return CHECK(r, v, "binding", DA_ERR_BUNDLE_UNBOUND, "predicate SHA-256 %s",
                 v->predicate_sha256);
}

static unsigned kind_of(const char *type)
{
    if (strncmp(type, "https://spdx.dev/Document", 25) == 0 ||
        strncmp(type, "https://cyclonedx.org/bom", 25) == 0)
        return DA_BUNDLE_SBOM;
    if (strcmp(type, "https://in-toto.io/attestation/test-result/v0.1") == 0)
        return DA_BUNDLE_TESTS;
    if (strcmp(type, DA_SCAN_PREDICATE_TYPE) == 0)
        return DA_BUNDLE_SCAN;
    if (strcmp(type, "https://slsa.dev/provenance/v1") == 0)
        return DA_BUNDLE_PROVENANCE;
    return 0;
}

static int check_bundle(struct run *r, cJSON *arr)
{
    static const char *const names[] = {"sbom", "tests", "scan", "provenance"};
    const struct da_bundle *b = r->b;
    unsigned bound = 0;
    int rc = 0;

    for (size_t i = 0; i < b->n; i++) {
        if (r->ev[i].ok && !r->ev[i].is_main && b->e[i].st != NULL)
            bound |= kind_of(b->e[i].st->predicate_type);
    }
    for (size_t k = 0; k < 4 && rc == 0; k++) {
        if ((r->o->require & (1u << k)) != 0)
            rc = add_check(NULL, arr, &r->first_rc, "require",
                           (bound & (1u << k)) ? 0 : DA_ERR_BUNDLE_REQUIRED, "%s", names[k]);
    }
    for (size_t a = 0; a < r->o->nartifacts && rc == 0; a++) {
        const struct da_bundle_artifact *art = &r->o->artifacts[a];
        bool found = false;
        for (size_t i = 0; i < b->n && !found; i++) {
            if (!r->ev[i].main_ok)
                continue;
            for (size_t s = 0; s < b->e[i].st->nsubjects && !found; s++) {
                const char *d256 = da_intoto_subject_digest(&b->e[i].st->subjects[s], "sha256");
                const char *d512 = da_intoto_subject_digest(&b->e[i].st->subjects[s], "sha512");
                found = d256 != NULL && d512 != NULL && strcmp(d256, art->sha256) == 0 &&
                        strcmp(d512, art->sha512) == 0;
            }
        }
        rc = add_check(NULL, arr, &r->first_rc, "artifact", found ? 0 : DA_ERR_BUNDLE_ARTIFACT,
                       "%s sha256:%s", art->name, art->sha256);
    }
    if (rc == 0 && b->n == 0)
        rc = add_check(NULL, arr, &r->first_rc, "envelopes", DA_ERR_BUNDLE_FORMAT,
                       "the bundle holds no envelope");
    return rc;
}

/* Parse outcome, duplicates, signature entry and the statement's own
 * checks; the statement's place in the bundle comes later. */
static int check_entry(struct run *r, size_t i)
{
    const struct da_bundle_entry *e = &r->b->e[i];
    struct ev *v = &r->ev[i];
    unsigned char d[32];
    int rc;

    if (e->parse_rc != 0)
        return CHECK(r, v, "envelope", e->parse_rc == DA_ERR_NOMEM ? DA_ERR_NOMEM : e->parse_rc,
                     "line %zu", e->line);
    if ((rc = CHECK(r, v, "envelope", 0, NULL)) != 0)
        return rc;
    /* The same statement with the same signature bytes: a copied line. (ECDSA
     * signatures are randomised, so attesting the same thing again gives
     * another signature and is not a duplicate.) */
    for (size_t j = 0; j < i; j++) {
        const struct da_bundle_entry *o = &r->b->e[j];
        if (o->parse_rc == 0 && memcmp(o->payload_sha256, e->payload_sha256, sizeof(d)) == 0 &&
            o->env->sigs[0].sig_len == e->env->sigs[0].sig_len &&
            memcmp(o->env->sigs[0].sig, e->env->sigs[0].sig, e->env->sigs[0].sig_len) == 0)
            return CHECK(r, v, "duplicate", DA_ERR_BUNDLE_DUPLICATE,
                         "the same statement as line %zu", r->b->e[j].line);
    }
    if ((rc = canonical_text(da_intoto_statement_subject_json(e->st), &v->subjects)) != 0 ||
        (rc = da_jcs_digest_sha256(e->st->predicate, d)) != 0 ||
        (rc = da_hex_encode_to(d, sizeof(d), v->predicate_sha256, sizeof(v->predicate_sha256))) !=
            0)
        return rc;
    if ((rc = check_signed(r, e, v)) != 0 || !v->signed_ok)
        return rc;
    if (strcmp(e->st->predicate_type, DA_BUILD_PREDICATE_TYPE) == 0)
        return check_main(r, e, v);
    return 0;
}

static int report_entries(struct run *r, cJSON *arr)
{
    for (size_t i = 0; i < r->b->n; i++) {
        const struct da_bundle_entry *e = &r->b->e[i];
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddItemToArray(arr, o))
            return DA_ERR_NOMEM;
        if (cJSON_AddNumberToObject(o, "line", (double)e->line) == NULL ||
            cJSON_AddStringToObject(o, "predicateType",
                                    e->st != NULL ? e->st->predicate_type : "") == NULL ||
            cJSON_AddBoolToObject(o, "verified", r->ev[i].ok) == NULL ||
            !cJSON_AddItemToObject(o, "checks", r->ev[i].checks))
            return DA_ERR_NOMEM;
        r->ev[i].checks = NULL; /* transferred */
    }
    return 0;
}

int da_bundle_verify(const struct da_bundle *b, const struct da_bundle_options *o, cJSON **report)
{
    struct run r = {b, o, NULL, 0};
    cJSON *rep = cJSON_CreateObject(), *envs, *whole;
    int rc = 0;

    *report = NULL;
    if (o->ca == NULL) {
        cJSON_Delete(rep);
        return DA_ERR_INVALID_ARG;
    }
    r.ev = calloc(b->n + 1, sizeof(*r.ev));
    if (rep == NULL || r.ev == NULL || (envs = cJSON_AddArrayToObject(rep, "envelopes")) == NULL ||
        (whole = cJSON_AddArrayToObject(rep, "bundle")) == NULL)
        rc = DA_ERR_NOMEM;
    for (size_t i = 0; i < b->n && rc == 0; i++) {
        r.ev[i].ok = true;
        if ((r.ev[i].checks = cJSON_CreateArray()) == NULL)
            rc = DA_ERR_NOMEM;
    }
    for (size_t i = 0; i < b->n && rc == 0; i++)
        rc = check_entry(&r, i);
    for (size_t i = 0; i < b->n && rc == 0; i++) {
        if (r.ev[i].is_main && r.ev[i].main_ok)
            rc = check_listed(&r, i);
        else if (r.ev[i].signed_ok && !r.ev[i].is_main)
            rc = check_bound(&r, i);
    }
    if (rc == 0)
        rc = check_bundle(&r, whole);
    if (rc == 0)
        rc = report_entries(&r, envs);
    if (rc == 0 && cJSON_AddBoolToObject(rep, "verified", r.first_rc == 0) == NULL)
        rc = DA_ERR_NOMEM;
    for (size_t i = 0; r.ev != NULL && i < b->n; i++) {
        cJSON_Delete(r.ev[i].checks);
        free(r.ev[i].subjects);
        X509_free(r.ev[i].cert);
    }
    free(r.ev);
    if (rc != 0) {
        cJSON_Delete(rep);
        return rc;
    }
    *report = rep;
    return r.first_rc;
}

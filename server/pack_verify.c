/* devattest-verify pack: offline re-verification of an evidence pack
 * (server/evidence_pack.h; docs/evidence.md, "Evidence packs").
 *
 * Trust comes from the CA certificate the auditor holds (--ca): the pack's
 * manifest must be signed by that CA's key, the pack's keys/ca.pem must be
 * that certificate, and the manifest names the SHA-256 of every other
 * member. Then each report is verified again from its own bytes: the
 * canonical evidence digest, the qualifying data over the issued nonce and
 * that digest, the quote's signature by the enrolled AK, the PCR selection
 * and digest, and the server's receipt over the same report, agent and
 * evidence, signed by the receipt key its signature names. Receipt keys
 * rotate, so the pack carries the whole key list (keys/keys.json, the
 * GET /v1/keys answer); a key from it counts only when its certificate
 * chains to the given CA, carries the receipt key usage and was valid at the
 * receipt's issued_at (common/receipt_trust.h, as for delivery bundles).
 * A report that carries a firmware event log has it replayed against the
 * quoted PCR values (common/tcg_eventlog.h) and compared with what the
 * server's transcript recorded of it: its SHA-256 and whether it replayed. */
#include "pack_verify.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"
#include "bundle.h"
#include "caps.h"
#include "digest.h"
#include "dsse.h"
#include "encoding.h"
#include "err.h"
#include "eventlog_facts.h"
#include "jcs.h"
#include "json.h"
#include "quote.h"
#include "receipt_trust.h"
#include "tar.h"
#include "tcg_eventlog.h"
#include "tpm_public.h"

#define PACK_PAYLOAD_TYPE "application/vnd.devattest.evidence-pack+json"
#define PACK_FORMAT       "devattest.evidence-pack/v1"
#define PACK_JSON_MAX     (64u * 1024 * 1024)
#define PACK_KEYS         "keys/keys.json"

struct members {
    size_t n, cap;
    struct da_tar_member *all;
};

static int collect(const struct da_tar_member *m, void *arg)
{
    struct members *l = arg;

    if (l->n == l->cap) {
        size_t ncap = l->cap == 0 ? 64 : l->cap * 2;
        struct da_tar_member *p = realloc(l->all, ncap * sizeof(*p));

        if (p == NULL)
            return DA_ERR_NOMEM;
        l->all = p;
        l->cap = ncap;
    }
    l->all[l->n++] = *m;
    return 0;
}

static const struct da_tar_member *member(const struct members *l, const char *name)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        if (strcmp(l->all[i].name, name) == 0)
            return &l->all[i];
    }
    return NULL;
}

static cJSON *member_json(const struct members *l, const char *name)
{
    const struct da_tar_member *m = member(l, name);
    cJSON *v = NULL;

    if (m == NULL || da_json_parse((const char *)m->data, m->len, PACK_JSON_MAX, &v) != 0)
        return NULL;
    return v;
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static X509 *pem_cert(const void *p, size_t n)
{
    BIO *bio = BIO_new_mem_buf(p, (int)n);
    X509 *x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

    BIO_free(bio);
    return x;
}

/* The manifest: signed by the CA the auditor trusts, naming every member. */
static int check_manifest(const struct members *l, X509 *ca, cJSON **manifest, const char **why)
{
    const struct da_tar_member *pj = member(l, "pack.json"), *env_m = member(l, "pack.dsse.json");
    const struct da_tar_member *cam = member(l, "keys/ca.pem");
    struct da_dsse_envelope *env = NULL;
    X509 *packed = NULL;
    int rc;

    *manifest = NULL;
    if (pj == NULL || env_m == NULL || cam == NULL) {
        *why = "pack.json, pack.dsse.json or keys/ca.pem missing";
        return DA_ERR_PACK_INVALID;
    }
    rc = da_dsse_envelope_decode((const char *)env_m->data, env_m->len, &env);
    if (rc == 0 && (strcmp(env->payload_type, PACK_PAYLOAD_TYPE) != 0 ||
                    env->payload_len != pj->len || memcmp(env->payload, pj->data, pj->len) != 0)) {
        *why = "pack.dsse.json does not sign pack.json";
        rc = DA_ERR_PACK_INVALID;
    }
    if (rc == 0 && (rc = da_dsse_verify(env, X509_get0_pubkey(ca), NULL)) != 0)
        *why = "the manifest is not signed by the given CA";
    da_dsse_envelope_free(env);
    if (rc == 0 &&
        ((packed = pem_cert(cam->data, cam->len)) == NULL || X509_cmp(packed, ca) != 0)) {
        *why = "keys/ca.pem is not the given CA";
        rc = DA_ERR_PACK_INVALID;
    }
    X509_free(packed);
    if (rc != 0)
        return rc;
    *manifest = member_json(l, "pack.json");
    if (*manifest == NULL ||
        strcmp(str_of(*manifest, "format") ? str_of(*manifest, "format") : "", PACK_FORMAT) != 0) {
        *why = "pack.json is not an evidence pack manifest";
        return DA_ERR_PACK_INVALID;
    }
    /* every member but the manifest and its signature is listed */
    for (size_t i = 0; i < l->n; i++) {
        const char *n = l->all[i].name;

        if (strcmp(n, "pack.json") != 0 && strcmp(n, "pack.dsse.json") != 0 &&
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(*manifest, "files"),
                                             n) == NULL) {
            *why = "a member the manifest does not list";
            return DA_ERR_PACK_INVALID;
        }
    }
    return 0;
}

/* The member's SHA-256 is the one the signed manifest states. */
static bool digest_ok(const struct members *l, const cJSON *manifest, const char *name)
{
    const struct da_tar_member *m = member(l, name);
    const char *want = str_of(cJSON_GetObjectItemCaseSensitive(manifest, "files"), name);
    char hex[DA_SHA256_HEX_SIZE];

    return m != NULL && want != NULL && da_sha256_hex(m->data, m->len, hex) == 0 &&
           strcmp(hex, want) == 0;
}

static int b64(const cJSON *o, const char *key, struct da_buf *out)
{
    const char *s = str_of(o, key);

    if (s == NULL)
        return DA_ERR_JSON_MISSING;
    return da_base64_decode(s, strlen(s), DA_BASE64_STD, out);
}

/* The firmware event log of report.json (when it carries one): replayed
 * offline against the PCR values the quote signed, the outcome and the
 * log's SHA-256 as the transcript recorded them. */
static int check_event_log(const cJSON *body, const cJSON *transcript,
                           const struct da_pcr_selection *sel, const struct da_buf *pcrs,
                           const char **why)
{
    static char detail[256];
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(transcript, "event_log");
    const char *recorded = str_of(t, "state"), *sha = str_of(t, "sha256"), *state = NULL;
    enum da_eventlog_outcome outcome = DA_EVENTLOG_MALFORMED;
    struct da_eventlog_mismatch m;
    struct da_buf log;
    char hex[DA_SHA256_HEX_SIZE];
    int rc;

    if (cJSON_GetObjectItemCaseSensitive(body, "event_log") == NULL) {
        if (sha == NULL)
            return 0;
        *why = "the transcript names an event log the report does not carry";
        return DA_ERR_PACK_EVENT_LOG_DIFFERS;
    }
    da_buf_init(&log, DA_MAX_EVENT_LOG);
    rc = b64(body, "event_log", &log);
    if (rc != 0)
        *why = "the report's event_log is not base64";
    if (rc == 0 &&
        (rc = da_eventlog_outcome(da_buf_data(&log), da_buf_len(&log), sel, da_buf_data(pcrs),
                                  da_buf_len(pcrs), &m, &outcome, NULL)) != 0)
        *why = "the event log cannot be replayed";
    if (rc == 0)
        state = da_eventlog_outcome_name(outcome);
    if (rc == 0 && strcmp(state, "does_not_replay") == 0 &&
        (recorded == NULL || strcmp(recorded, state) != 0)) {
        char a[2 * DA_EVENTLOG_MAX_DIGEST + 1] = "", q[2 * DA_EVENTLOG_MAX_DIGEST + 1] = "";

        (void)da_hex_encode_to(m.replayed, m.size, a, sizeof(a));
        (void)da_hex_encode_to(m.quoted, m.size, q, sizeof(q));
        snprintf(detail, sizeof(detail),
                 "the event log does not replay to the quoted PCRs: %s PCR %u replays to %.16s..., "
                 "the quote has %.16s...",
                 da_eventlog_alg_name(m.alg) != NULL ? da_eventlog_alg_name(m.alg) : "no bank",
                 m.pcr, a, q);
        *why = detail;
        rc = DA_ERR_PACK_EVENT_LOG_REPLAY;
    } else if (rc == 0 && (recorded == NULL || strcmp(recorded, state) != 0)) {
        snprintf(detail, sizeof(detail), "the event log %s offline, the transcript records %s",
                 strcmp(state, "replays") == 0 ? "replays" : "is malformed",
                 recorded != NULL ? recorded : "no event log");
        *why = detail;
        rc = strcmp(state, "malformed") == 0 ? DA_ERR_PACK_EVENT_LOG_REPLAY
                                             : DA_ERR_PACK_EVENT_LOG_DIFFERS;
    }
    if (rc == 0 && (da_sha256_hex(da_buf_data(&log), da_buf_len(&log), hex) != 0 || sha == NULL ||
                    strcmp(hex, sha) != 0)) {
        *why = "the event log's SHA-256 differs from the one the server recorded";
        rc = DA_ERR_PACK_EVENT_LOG_DIFFERS;
    }
    da_buf_free(&log);
    return rc;
}

/* The quote of report.json, verified with the agent's AK. */
static int check_quote(const cJSON *body, const cJSON *agent, const cJSON *transcript,
                       const char *evidence_sha256, const char **why)
{
    struct da_buf nonce, attest, sig, pcrs, ak;
    struct da_tpm_public *akp = NULL;
    struct da_pcr_selection sel;
    struct da_quote_expect ex;
    unsigned char digest[DA_SHA256_LEN], qd[DA_QUOTE_QD_LEN];
    char hex[DA_SHA256_HEX_SIZE];
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(body, "quote");
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(body, "evidence");
    const char *seltext = str_of(transcript, "pcr_selection");
    int rc;

    da_buf_init(&nonce, 1024);
    da_buf_init(&attest, DA_MAX_TPM_STRUCT);
    da_buf_init(&sig, DA_MAX_TPM_STRUCT);
    da_buf_init(&pcrs, DA_MAX_TPM_STRUCT);
    da_buf_init(&ak, DA_MAX_TPM_STRUCT);
    rc = ev != NULL && q != NULL && seltext != NULL ? 0 : DA_ERR_JSON_MISSING;
    *why = "report.json or transcript.json incomplete";
    if (rc == 0 && (rc = da_jcs_digest_sha256(ev, digest)) == 0 &&
        (rc = da_hex_encode_to(digest, sizeof(digest), hex, sizeof(hex))) == 0 &&
        strcmp(hex, evidence_sha256) != 0) {
        *why = "the evidence digest differs from the one the server recorded";
        rc = DA_ERR_VERIFY_EXTRA_DATA;
    }
    if (rc == 0)
        rc = b64(body, "nonce", &nonce);
    if (rc == 0)
        rc = b64(q, "attest", &attest);
    if (rc == 0)
        rc = b64(q, "signature", &sig);
    if (rc == 0)
        rc = b64(q, "pcr_values", &pcrs);
    if (rc == 0)
        rc = b64(agent, "ak_public", &ak);
    if (rc == 0 && (rc = da_tpm_public_parse(da_buf_data(&ak), da_buf_len(&ak), &akp)) != 0)
        *why = "the agent's AK does not parse";
    if (rc == 0)
        rc = da_pcr_selection_parse(seltext, &sel);
    if (rc == 0)
        rc = da_quote_qualifying_data(da_buf_data(&nonce), da_buf_len(&nonce), digest, qd);
    if (rc == 0) {
        memset(&ex, 0, sizeof(ex));
        ex.ak = akp;
        ex.qualifying_data = qd;
        ex.qualifying_data_len = sizeof(qd);
        ex.selection = &sel;
        ex.pcr_values = da_buf_data(&pcrs);
        ex.pcr_values_len = da_buf_len(&pcrs);
        ex.accept_unsafe_clock = true; /* the server ordered the counters */
        rc = da_quote_verify(da_buf_data(&attest), da_buf_len(&attest), da_buf_data(&sig),
                             da_buf_len(&sig), &ex, NULL);
        if (rc != 0)
            *why = "the quote does not verify";
    }
    if (rc == 0)
        rc = check_event_log(body, transcript, &sel, &pcrs, why);
    da_tpm_public_free(akp);
    da_buf_free(&nonce);
    da_buf_free(&attest);
    da_buf_free(&sig);
    da_buf_free(&pcrs);
    da_buf_free(&ak);
    return rc;
}

/* The receipt: signed by the receipt key its signature names, trusted
 * through that key's certificate in keys/keys.json (issued by the CA, with
 * the receipt key usage, valid when the receipt was issued), and about this
 * report. */
static int check_receipt(const struct da_tar_member *m, const cJSON *keys, X509 *ca,
                         const cJSON *entry, const char **why)
{
    struct da_dsse_envelope *env = NULL;
    X509 *cert = NULL;
    cJSON *p = NULL;
    int64_t issued = 0;
    int rc = da_dsse_envelope_decode((const char *)m->data, m->len, &env);

    *why = "the receipt is not a DSSE envelope with a well-formed payload";
    if (rc == 0 && env->nsigs == 0)
        rc = DA_ERR_VERIFY_SIGNATURE;
    if (rc == 0)
        rc = da_json_parse((const char *)env->payload, env->payload_len, PACK_JSON_MAX, &p);
    if (rc == 0 && da_time_rfc3339_parse(str_of(p, "issued_at"), &issued) != 0)
        rc = DA_ERR_VERIFY_SIGNATURE;
    if (rc == 0)
        rc = da_receipt_key_find(keys, ca, env->sigs[0].keyid, issued, &cert, why);
    if (rc == 0 && (rc = da_dsse_verify(env, X509_get0_pubkey(cert), NULL)) != 0)
        *why = "the receipt does not verify with its receipt key";
    if (rc == 0) {
        const char *fields[] = {"report_id", "agent_id", "evidence_sha256"};
        const char *want[] = {str_of(entry, "id"), str_of(entry, "agent_id"),
                              str_of(entry, "evidence_sha256")};

        for (size_t i = 0; rc == 0 && i < 3; i++) {
            if (str_of(p, fields[i]) == NULL || want[i] == NULL ||
                strcmp(str_of(p, fields[i]), want[i]) != 0) {
                *why = "the receipt is about another report";
                rc = DA_ERR_VERIFY_SIGNATURE;
            }
        }
    }
    X509_free(cert);
    cJSON_Delete(p);
    da_dsse_envelope_free(env);
    return rc;
}

static int check_report(const struct members *l, const cJSON *manifest, const cJSON *entry,
                        const cJSON *keys, X509 *ca, const char **why)
{
    static const char *const files[] = {"report.json", "verdict.json", "transcript.json",
                                        "receipt.json"};
    const char *id = str_of(entry, "id"), *agent_id = str_of(entry, "agent_id");
    const char *ev = str_of(entry, "evidence_sha256");
    char name[128];
    cJSON *body = NULL, *agent = NULL, *transcript = NULL;
    int rc = 0;

    if (id == NULL || agent_id == NULL || ev == NULL) {
        *why = "manifest entry incomplete";
        return DA_ERR_PACK_INVALID;
    }
    for (size_t i = 0; rc == 0 && i < 4; i++) {
        snprintf(name, sizeof(name), "reports/%.40s/%s", id, files[i]);
        if (!digest_ok(l, manifest, name)) {
            *why = i == 0 ? "report.json missing or altered" : "a report member missing or altered";
            rc = DA_ERR_PACK_INVALID;
        }
    }
    snprintf(name, sizeof(name), "agents/%.40s.json", agent_id);
    if (rc == 0 && !digest_ok(l, manifest, name)) {
        *why = "the agent's identity missing or altered";
        rc = DA_ERR_PACK_INVALID;
    }
    /* independently of the digests: the signatures over the bytes */
    snprintf(name, sizeof(name), "reports/%.40s/report.json", id);
    body = member_json(l, name);
    snprintf(name, sizeof(name), "reports/%.40s/transcript.json", id);
    transcript = member_json(l, name);
    snprintf(name, sizeof(name), "agents/%.40s.json", agent_id);
    agent = member_json(l, name);
    if (body == NULL || transcript == NULL || agent == NULL) {
        if (rc == 0)
            *why = "report.json, transcript.json or the agent does not parse";
        rc = DA_ERR_PACK_INVALID;
    } else {
        const char *w = NULL;
        int qrc = check_quote(body, agent, transcript, ev, &w);

        /* a member the signed manifest does not vouch for is named first */
        if (qrc != 0 && rc == 0) {
            *why = w;
            rc = qrc;
        }
    }
    snprintf(name, sizeof(name), "reports/%.40s/receipt.json", id);
    if (rc == 0 && member(l, name) != NULL)
        rc = check_receipt(member(l, name), keys, ca, entry, why);
    cJSON_Delete(body);
    cJSON_Delete(transcript);
    cJSON_Delete(agent);
    return rc;
}

int da_pack_verify(const unsigned char *tar, size_t len, X509 *ca, FILE *out, unsigned *n_ok,
                   unsigned *n_bad)
{
    struct members l;
    cJSON *manifest = NULL;
    const cJSON *e;
    const struct da_tar_member *km = NULL;
    cJSON *keys = NULL;
    const char *why = "";
    int rc;

    memset(&l, 0, sizeof(l));
    *n_ok = *n_bad = 0;
    rc = da_tar_read(tar, len, collect, &l);
    if (rc != 0)
        why = "not a well-formed ustar archive";
    if (rc == 0)
        rc = check_manifest(&l, ca, &manifest, &why);
    if (rc == 0 && (!digest_ok(&l, manifest, PACK_KEYS) || (km = member(&l, PACK_KEYS)) == NULL)) {
        why = PACK_KEYS " missing or altered";
        rc = DA_ERR_PACK_INVALID;
    }
    if (rc == 0 && da_receipt_keys_parse((const char *)km->data, km->len, &keys) != 0) {
        why = PACK_KEYS " is not a receipt key list";
        rc = DA_ERR_PACK_INVALID;
    }
    if (rc != 0) {
        fprintf(out, "pack: FAIL %s: %s\n", da_err_code(rc), why);
        cJSON_Delete(manifest);
        free(l.all);
        return rc;
    }
    fprintf(out, "pack: ok vendor %s, %s to %s, manifest signed by the CA\n",
            str_of(manifest, "vendor") ? str_of(manifest, "vendor") : "?",
            str_of(manifest, "from") ? str_of(manifest, "from") : "?",
            str_of(manifest, "to") ? str_of(manifest, "to") : "?");
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(manifest, "reports"))
    {
        int r = check_report(&l, manifest, e, keys, ca, &why);
        const char *id = str_of(e, "id");

        if (r == 0) {
            (*n_ok)++;
            fprintf(out, "report %s: ok\n", id != NULL ? id : "?");
        } else {
            (*n_bad)++;
            fprintf(out, "report %s: FAIL %s: %s\n", id != NULL ? id : "?", da_err_code(r), why);
        }
    }
    fprintf(out, "%u report(s) verified, %u failed\n", *n_ok, *n_bad);
    cJSON_Delete(keys);
    cJSON_Delete(manifest);
    free(l.all);
    return *n_bad == 0 ? 0 : DA_ERR_VERIFY_SIGNATURE;
}

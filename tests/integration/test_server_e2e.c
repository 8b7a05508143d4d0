/* End to end: a swtpm-backed agent identity (agent/keys/tpm.h over ESYS) enrolls
 * with a real devattest-server over TLS, obtains nonces, posts quoted
 * reports and reads verdicts and receipts; every refusal of the
 * verification core comes back with its code and changes nothing but the
 * counters and the audit log. */
#include "da_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sqlite3.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "caps.h"
#include "digest.h"
#include "encoding.h"
#include "err.h"
#include "jcs.h"
#include "quote.h"
#include "store.h"
#include "tpm_attest.h"
#include "server_harness.h"
#include "webhook_rx.h"
#include "swtpm_harness.h"
#include "tpm.h"
#include "picky.h"

struct world {
    struct da_test_swtpm tpm;
    struct da_test_server srv;
    struct agent_tpm *agent;
    struct agent_tpm_identity *id;
    char agent_dir[128];
    char agent_id[64];
    unsigned char *issuer_der;
    size_t issuer_der_len;
};

static char *b64(const void *p, size_t n)
{
    struct da_buf b;
    char *s;

    da_buf_init(&b, 4 * n + 16);
    assert_int_equal(da_base64_encode(p, n, DA_BASE64_STD, &b), 0);
    s = (char *)da_buf_take(&b, NULL);
    da_buf_free(&b);
    return s;
}

static void add_b64(cJSON *o, const char *key, const void *p, size_t n)
{
    char *s = b64(p, n);

    assert_non_null(cJSON_AddStringToObject(o, key, s));
    free(s);
}

static size_t unb64(const char *s, unsigned char *out, size_t size)
{
    size_t n = 0;

    assert_int_equal(da_base64_decode_to(s, strlen(s), DA_BASE64_STD, out, size, &n), 0);
    return n;
}

static int read_der_of_pem(const char *path, unsigned char **der, size_t *len)
{
    FILE *f = fopen(path, "r");
    X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    int n;

    if (f != NULL)
        fclose(f);
    if (x == NULL)
        return -1;
    *der = NULL;
    n = i2d_X509(x, der);
    X509_free(x);
    if (n <= 0)
        return -1;
    *len = (size_t)n;
    return 0;
}

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    struct agent_tpm_settings st;
    char extra[PATH_MAX + 128];

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (w == NULL || da_test_swtpm_start(&w->tpm) != 0)
        return -1;
    snprintf(extra, sizeof(extra), "ek_roots = %s\nrate_per_agent = 1000\nburst_per_agent = 1000\n",
             w->tpm.ca_root);
    if (da_test_server_setup(&w->srv, extra) != 0 || da_test_server_start(&w->srv) != 0)
        return -1;
    if (read_der_of_pem(w->tpm.ca_issuer, &w->issuer_der, &w->issuer_der_len) != 0)
        return -1;
    snprintf(w->agent_dir, sizeof(w->agent_dir), "%s/agent", w->srv.dir);
    memset(&st, 0, sizeof(st));
    st.mode = AGENT_TPM_MODE_TPM;
    st.tcti = w->tpm.tcti;
    st.state_dir = w->agent_dir;
    if (agent_tpm_open(&st, &w->agent) != 0 ||
        agent_tpm_identity(w->agent, AGENT_IDENTITY_CREATE, &w->id) != 0)
        return -1;
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;

    if (w == NULL)
        return 0;
    agent_tpm_identity_free(w->id);
    agent_tpm_close(w->agent);
    da_test_server_cleanup(&w->srv);
    da_test_swtpm_stop(&w->tpm);
    OPENSSL_free(w->issuer_der);
    free(w);
    curl_global_cleanup();
    return 0;
}

static void post_json(struct world *w, const char *path, cJSON *doc, struct da_test_http *r)
{
    char *text = cJSON_PrintUnformatted(doc);

    assert_non_null(text);
    assert_int_equal(
        da_test_http(&w->srv, "POST", path, NULL, "application/json", text, strlen(text), r), 0);
    free(text);
}

static void new_enroll_token(struct world *w, const char *vendor, char *out, size_t size)
{
    assert_int_equal(da_test_server_cli(&w->srv, out, size, "token", "create", "--vendor", vendor,
                                        "--ttl", "1h", NULL),
                     0);
    assert_true(strncmp(out, "det_", 4) == 0);
}

static cJSON *enroll_body(struct world *w, const char *token, const struct da_buf *ak)
{
    cJSON *o = cJSON_CreateObject(), *chain = cJSON_AddArrayToObject(o, "ek_chain");
    char *issuer = b64(w->issuer_der, w->issuer_der_len);

    assert_non_null(cJSON_AddStringToObject(o, "token", token));
    add_b64(o, "ek_public", da_buf_data(&w->id->ek_public), da_buf_len(&w->id->ek_public));
    add_b64(o, "ek_certificate", da_buf_data(&w->id->ek_cert), da_buf_len(&w->id->ek_cert));
    add_b64(o, "ak_public", da_buf_data(ak), da_buf_len(ak));
    assert_true(cJSON_AddItemToArray(chain, cJSON_CreateString(issuer)));
    assert_non_null(cJSON_AddObjectToObject(o, "host"));
    free(issuer);
    return o;
}

/* Answer a challenge with the TPM: activate, prove, certify the SK. */
static cJSON *activate_body(struct world *w, const cJSON *challenge, bool corrupt_proof)
{
    const char *cid = cJSON_GetObjectItem(challenge, "challenge_id")->valuestring;
    unsigned char blob[1024], enc[1024], mac[32], qd[32];
    size_t blob_len =
        unb64(cJSON_GetObjectItem(challenge, "credential_blob")->valuestring, blob, sizeof(blob));
    size_t enc_len =
        unb64(cJSON_GetObjectItem(challenge, "encrypted_secret")->valuestring, enc, sizeof(enc));
    struct da_buf secret = {0}, attest = {0}, sig = {0};
    unsigned int mac_len = 0;
    cJSON *o = cJSON_CreateObject(), *cert;

    assert_int_equal(agent_tpm_activate_credential(w->agent, blob, blob_len, enc, enc_len, &secret),
                     0);
    assert_non_null(HMAC(EVP_sha256(), da_buf_data(&secret), (int)da_buf_len(&secret),
                         (const unsigned char *)cid, strlen(cid), mac, &mac_len));
    if (corrupt_proof)
        mac[0] ^= 1;
    assert_int_equal(da_sha256(cid, strlen(cid), qd), 0);
    assert_int_equal(agent_tpm_certify_sk(w->agent, qd, sizeof(qd), &attest, &sig), 0);
    add_b64(o, "proof", mac, mac_len);
    add_b64(o, "sk_public", da_buf_data(&w->id->sk_public), da_buf_len(&w->id->sk_public));
    cert = cJSON_AddObjectToObject(o, "sk_certify");
    add_b64(cert, "attest", da_buf_data(&attest), da_buf_len(&attest));
    add_b64(cert, "signature", da_buf_data(&sig), da_buf_len(&sig));
    da_buf_free(&secret);
    da_buf_free(&attest);
    da_buf_free(&sig);
    return o;
}

static void expect_code(const struct da_test_http *r, long status, const char *code)
{
    if (r->status != status || strcmp(da_test_error_code(r), code) != 0)
        fail_msg("got %ld %s, want %ld %s", r->status, r->body, status, code);
}

/* Enroll with a fresh token; returns the challenge answer's HTTP result. */
static void enroll(struct world *w, const struct da_buf *ak, bool corrupt, struct da_test_http *out)
{
    char token[80], path[128];
    struct da_test_http r;
    cJSON *body, *challenge;

    new_enroll_token(w, "acme", token, sizeof(token));
    body = enroll_body(w, token, ak);
    post_json(w, "/v1/enroll", body, &r);
    cJSON_Delete(body);
    if (r.status != 201)
        fail_msg("enroll: %ld %s", r.status, r.body);
    challenge = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    body = activate_body(w, challenge, corrupt);
    snprintf(path, sizeof(path), "/v1/enroll/%s/activate",
             cJSON_GetObjectItem(challenge, "challenge_id")->valuestring);
    post_json(w, path, body, out);
    /* a challenge answers once: the same answer again is refused */
    if (out->status == 201) {
        struct da_test_http again;

        post_json(w, path, body, &again);
        expect_code(&again, 400, "challenge_invalid");
        da_test_http_clear(&again);
    }
    cJSON_Delete(body);
    cJSON_Delete(challenge);
}

/* One line of `openssl x509 ... -nameopt RFC2253` for a certificate file,
 * without the "issuer=" (or other) label and the newline: the oracle for
 * what the server kept of the EK certificate. */
static void openssl_field(const char *args, const char *label, char *out, size_t size)
{
    char cmd[PATH_MAX * 2];
    size_t n = strlen(label);
    FILE *p;

    snprintf(cmd, sizeof(cmd), "openssl x509 -noout -nameopt RFC2253 %s", args);
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(out, (int)size, p));
    assert_int_equal(pclose(p), 0);
    out[strcspn(out, "\n")] = '\0';
    assert_true(strncmp(out, label, n) == 0);
    memmove(out, out + n, strlen(out + n) + 1);
}

/* The EK certificate's issuer, serial and root as the agent document
 * shows them equal what openssl reads from the swtpm's EK certificate and
 * the configured root. */
static void check_ek_cert_kept(struct world *w)
{
    char path[PATH_MAX], args[PATH_MAX + 64], want[2048];
    struct da_test_http r;
    cJSON *doc;
    FILE *f;

    snprintf(path, sizeof(path), "%s/ek.der", w->srv.dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(da_buf_data(&w->id->ek_cert), 1, da_buf_len(&w->id->ek_cert), f),
                     da_buf_len(&w->id->ek_cert));
    assert_int_equal(fclose(f), 0);
    snprintf(path, sizeof(path), "/v1/agents/%s", w->agent_id);
    assert_int_equal(da_test_http(&w->srv, "GET", path, w->srv.auditor, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    assert_non_null(doc);
    snprintf(args, sizeof(args), "-inform DER -in %s/ek.der -issuer", w->srv.dir);
    openssl_field(args, "issuer=", want, sizeof(want));
    assert_true(strlen(want) > 3);
    assert_string_equal(cJSON_GetObjectItem(doc, "ek_issuer")->valuestring, want);
    snprintf(args, sizeof(args), "-inform DER -in %s/ek.der -serial", w->srv.dir);
    openssl_field(args, "serial=", want, sizeof(want));
    assert_string_equal(cJSON_GetObjectItem(doc, "ek_serial")->valuestring, want);
    snprintf(args, sizeof(args), "-in %s -subject", w->tpm.ca_root);
    openssl_field(args, "subject=", want, sizeof(want));
    assert_string_equal(cJSON_GetObjectItem(doc, "ek_root")->valuestring, want);
    assert_string_equal(cJSON_GetObjectItem(doc, "ek_trust")->valuestring, "manufacturer_chain");
    cJSON_Delete(doc);
}

static void test_enrollment(void **state)
{
    struct world *w = *state;
    struct da_test_http r;
    char path[PATH_MAX], cmd[PATH_MAX * 2];
    cJSON *doc;
    FILE *f;

    /* a wrong proof deletes the challenge and reveals nothing */
    enroll(w, &w->id->ak_public, true, &r);
    expect_code(&r, 400, "challenge_mismatch");
    assert_null(strstr(r.body, "secret"));
    da_test_http_clear(&r);

    enroll(w, &w->id->ak_public, false, &r);
    assert_int_equal(r.status, 201);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    snprintf(w->agent_id, sizeof(w->agent_id), "%s",
             cJSON_GetObjectItem(doc, "agent_id")->valuestring);
    assert_int_equal(strlen(w->agent_id), 32);
    /* the SK certificate chains to the CA the server printed at init */
    snprintf(path, sizeof(path), "%s/sk.pem", w->srv.dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(cJSON_GetObjectItem(doc, "sk_certificate")->valuestring, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "openssl verify -CAfile %s %s >/dev/null", w->srv.ca, path);
    assert_int_equal(system(cmd), 0);
    cJSON_Delete(doc);

    /* the same machine again (same EK and AK): the same agent */
    enroll(w, &w->id->ak_public, false, &r);
    assert_int_equal(r.status, 201);
    assert_non_null(strstr(r.body, w->agent_id));
    da_test_http_clear(&r);

    snprintf(path, sizeof(path), "/v1/agents/%s", w->agent_id);
    assert_int_equal(da_test_http(&w->srv, "GET", path, w->srv.auditor, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"status\":\"pending\""));
    assert_non_null(strstr(r.body, "\"vendor\":\"acme\""));
    da_test_http_clear(&r);
    check_ek_cert_kept(w);
}

static void test_enrollment_refusals(void **state)
{
    struct world *w = *state;
    char token[80];
    struct da_test_http r;
    cJSON *body;

    /* unknown token */
    body = enroll_body(w, "det_00", &w->id->ak_public);
    post_json(w, "/v1/enroll", body, &r);
    expect_code(&r, 401, "token_invalid");
    da_test_http_clear(&r);
    cJSON_Delete(body);
    /* a token is used once */
    new_enroll_token(w, "acme", token, sizeof(token));
    body = enroll_body(w, token, &w->id->ak_public);
    post_json(w, "/v1/enroll", body, &r);
    assert_int_equal(r.status, 201);
    da_test_http_clear(&r);
    post_json(w, "/v1/enroll", body, &r);
    expect_code(&r, 401, "token_used");
    da_test_http_clear(&r);
    cJSON_Delete(body);
    /* the SK offered as AK: not a restricted key */
    new_enroll_token(w, "acme", token, sizeof(token));
    body = enroll_body(w, token, &w->id->sk_public);
    post_json(w, "/v1/enroll", body, &r);
    expect_code(&r, 400, "ak_attributes");
    da_test_http_clear(&r);
    cJSON_Delete(body);
    /* without the intermediate the EK certificate does not chain */
    new_enroll_token(w, "acme", token, sizeof(token));
    body = enroll_body(w, token, &w->id->ak_public);
    cJSON_DeleteItemFromObject(body, "ek_chain");
    post_json(w, "/v1/enroll", body, &r);
    expect_code(&r, 400, "ek_untrusted");
    da_test_http_clear(&r);
    /* an unknown member */
    cJSON_AddStringToObject(body, "extra", "x");
    post_json(w, "/v1/enroll", body, &r);
    expect_code(&r, 400, "invalid_argument");
    da_test_http_clear(&r);
    cJSON_Delete(body);
}

/* ---- reports ---- */

struct report_opts {
    const char *path_agent;  /* post under this agent id (default: ours) */
    const char *nonce_agent; /* ask the nonce for this id (default: ours) */
    bool flip_nonce;         /* alter the nonce after quoting */
    bool flip_signature;     /* alter the signature */
    bool flip_pcr;           /* alter a PCR value */
    bool trailing_attest;    /* append a byte to TPMS_ATTEST */
    bool alter_evidence;     /* change the evidence after quoting */
    const char *quote_pcrs;  /* quote another selection than asked */
    const char *inventory;   /* send this inventory text */
    const char *reuse_nonce; /* use this nonce (base64) instead of a fresh one */
};

static cJSON *evidence_doc(bool encrypted, const char *inventory_sha256)
{
    cJSON *e = cJSON_CreateObject(), *disk, *vols, *v, *host;

    cJSON_AddStringToObject(e, "schema", "devattest.evidence/v1");
    cJSON_AddStringToObject(e, "collected_at", "2026-11-28T12:00:00Z");
    host = cJSON_AddObjectToObject(e, "host");
    cJSON_AddStringToObject(host, "hostname", "builder-1");
    cJSON_AddNumberToObject(host, "uptime_s", 3600);
    disk = cJSON_AddObjectToObject(e, "disk");
    vols = cJSON_AddArrayToObject(disk, "volumes");
    v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "mountpoint", "/");
    cJSON_AddBoolToObject(v, "encrypted", encrypted);
    cJSON_AddItemToArray(vols, v);
    if (inventory_sha256 != NULL) {
        cJSON *p = cJSON_AddObjectToObject(e, "patches");

        cJSON_AddStringToObject(p, "inventory_sha256", inventory_sha256);
    }
    return e;
}

static void get_nonce(struct world *w, const char *agent, char *nonce, size_t size, char *pcrs,
                      size_t pcrs_size)
{
    struct da_test_http r;
    char path[128];
    cJSON *doc;

    snprintf(path, sizeof(path), "/v1/agents/%s/nonce", agent);
    assert_int_equal(da_test_http(&w->srv, "POST", path, NULL, "application/json", "{}", 2, &r), 0);
    if (r.status != 200)
        fail_msg("nonce: %ld %s", r.status, r.body);
    doc = cJSON_Parse(r.body);
    snprintf(nonce, size, "%s", cJSON_GetObjectItem(doc, "nonce")->valuestring);
    snprintf(pcrs, pcrs_size, "%s", cJSON_GetObjectItem(doc, "pcr_selection")->valuestring);
    cJSON_Delete(doc);
    da_test_http_clear(&r);
}

/* The agent's report cycle up to the body, with optional tampering: a
 * nonce, a quote by the swtpm, the JSON text (free()). */
static char *report_text(struct world *w, cJSON *evidence, const struct report_opts *o)
{
    char nonce_b64[160], pcrs[64], *text;
    unsigned char nonce[128], d[32], qd[32];
    size_t nonce_len;
    TPML_PCR_SELECTION sel;
    struct agent_tpm_quote *q = NULL;
    cJSON *body = cJSON_CreateObject(), *quote;

    get_nonce(w, o->nonce_agent != NULL ? o->nonce_agent : w->agent_id, nonce_b64,
              sizeof(nonce_b64), pcrs, sizeof(pcrs));
    if (o->reuse_nonce != NULL)
        snprintf(nonce_b64, sizeof(nonce_b64), "%s", o->reuse_nonce);
    nonce_len = unb64(nonce_b64, nonce, sizeof(nonce));
    assert_int_equal(da_jcs_digest_sha256(evidence, d), 0);
    assert_int_equal(da_quote_qualifying_data(nonce, nonce_len, d, qd), 0);
    assert_int_equal(agent_pcr_selection_parse(o->quote_pcrs != NULL ? o->quote_pcrs : pcrs, &sel),
                     0);
    assert_int_equal(agent_tpm_quote(w->agent, &sel, qd, sizeof(qd), &q), 0);
    if (o->flip_nonce)
        nonce[0] ^= 1;
    if (o->flip_signature)
        q->signature.data[da_buf_len(&q->signature) - 1] ^= 1;
    if (o->flip_pcr)
        q->pcr_values.data[0] ^= 1;
    add_b64(body, "nonce", nonce, nonce_len);
    if (o->alter_evidence)
        cJSON_AddStringToObject(cJSON_GetObjectItem(evidence, "host"), "extra", "edited");
    cJSON_AddItemReferenceToObject(body, "evidence", evidence);
    quote = cJSON_AddObjectToObject(body, "quote");
    if (o->trailing_attest) {
        unsigned char buf[2048];

        memcpy(buf, da_buf_data(&q->attest), da_buf_len(&q->attest));
        buf[da_buf_len(&q->attest)] = 0;
        add_b64(quote, "attest", buf, da_buf_len(&q->attest) + 1);
    } else {
        add_b64(quote, "attest", da_buf_data(&q->attest), da_buf_len(&q->attest));
    }
    add_b64(quote, "signature", da_buf_data(&q->signature), da_buf_len(&q->signature));
    add_b64(quote, "pcr_values", da_buf_data(&q->pcr_values), da_buf_len(&q->pcr_values));
    if (o->inventory != NULL)
        cJSON_AddStringToObject(body, "inventory", o->inventory);
    text = cJSON_PrintUnformatted(body);
    assert_non_null(text);
    agent_tpm_quote_free(q);
    cJSON_Delete(body);
    return text;
}

/* The whole cycle: returns the body sent (free()) so that a test can send
 * it again. */
static char *post_report(struct world *w, cJSON *evidence, const struct report_opts *o,
                         struct da_test_http *out)
{
    char path[160], *text = report_text(w, evidence, o);

    snprintf(path, sizeof(path), "/v1/agents/%s/reports",
             o->path_agent != NULL ? o->path_agent : w->agent_id);
    assert_int_equal(
        da_test_http(&w->srv, "POST", path, NULL, "application/json", text, strlen(text), out), 0);
    return text;
}

static void put_policy(struct world *w)
{
    char path[PATH_MAX];
    unsigned char buf[8192];
    struct da_test_http r;
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "%s/tests/fixtures/server/policy-test.json", DA_SOURCE_ROOT);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_int_equal(da_test_http(&w->srv, "PUT", "/v1/policy", w->srv.admin, "application/json",
                                  (const char *)buf, n, &r),
                     0);
    if (r.status != 200)
        fail_msg("policy: %ld %s", r.status, r.body);
    da_test_http_clear(&r);
}

static int count_reports(struct world *w)
{
    struct da_test_http r;
    char path[160];
    cJSON *doc;
    int n;

    snprintf(path, sizeof(path), "/v1/agents/%s/reports?limit=1000", w->agent_id);
    assert_int_equal(da_test_http(&w->srv, "GET", path, w->srv.auditor, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    doc = cJSON_Parse(r.body);
    n = cJSON_GetArraySize(cJSON_GetObjectItem(doc, "reports"));
    cJSON_Delete(doc);
    da_test_http_clear(&r);
    return n;
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* The receipt checked with the OpenSSL command line alone: PAE bytes, the
 * DER signature and the receipt public key from the state directory. */
static void verify_receipt_with_openssl(struct world *w, const cJSON *receipt,
                                        const char *report_id)
{
    const char *payload_b64 = cJSON_GetObjectItem(receipt, "payload")->valuestring;
    const char *type = cJSON_GetObjectItem(receipt, "payloadType")->valuestring;
    const cJSON *sig0 = cJSON_GetArrayItem(cJSON_GetObjectItem(receipt, "signatures"), 0);
    unsigned char payload[8192], sig[256];
    size_t plen = unb64(payload_b64, payload, sizeof(payload));
    size_t slen = unb64(cJSON_GetObjectItem(sig0, "sig")->valuestring, sig, sizeof(sig));
    char pae[9000], path_pae[160], path_sig[160], cmd[800];
    int n;
    cJSON *stmt;

    assert_string_equal(type, "application/vnd.devattest.receipt+json");
    n = snprintf(pae, sizeof(pae), "DSSEv1 %zu %s %zu ", strlen(type), type, plen);
    memcpy(pae + n, payload, plen);
    snprintf(path_pae, sizeof(path_pae), "%s/pae.bin", w->srv.dir);
    snprintf(path_sig, sizeof(path_sig), "%s/sig.der", w->srv.dir);
    write_file(path_pae, pae, (size_t)n + plen);
    write_file(path_sig, sig, slen);
    snprintf(cmd, sizeof(cmd),
             "openssl dgst -sha256 -verify %s/receipt.pub -signature %s %s >/dev/null",
             w->srv.state, path_sig, path_pae);
    assert_int_equal(system(cmd), 0);
    /* a flipped payload byte does not verify */
    pae[n + 10] ^= 1;
    write_file(path_pae, pae, (size_t)n + plen);
    assert_int_not_equal(system(cmd), 0);
    payload[plen] = '\0';
    stmt = cJSON_Parse((const char *)payload);
    assert_string_equal(cJSON_GetObjectItem(stmt, "agent_id")->valuestring, w->agent_id);
    assert_string_equal(cJSON_GetObjectItem(stmt, "report_id")->valuestring, report_id);
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(stmt, "controls"), "8.31"));
    cJSON_Delete(stmt);
}

static void test_reports(void **state)
{
    struct world *w = *state;
    struct report_opts o;
    struct da_test_http r, again;
    char path[160], report_id[64], *body;
    cJSON *ev, *doc;

    put_policy(w);
    /* compliant */
    memset(&o, 0, sizeof(o));
    ev = evidence_doc(true, NULL);
    body = post_report(w, ev, &o, &r);
    if (r.status != 201)
        fail_msg("report: %ld %s", r.status, r.body);
    doc = cJSON_Parse(r.body);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(doc, "compliant")));
    snprintf(report_id, sizeof(report_id), "%s",
             cJSON_GetObjectItem(doc, "report_id")->valuestring);
    verify_receipt_with_openssl(w, cJSON_GetObjectItem(doc, "receipt"), report_id);
    cJSON_Delete(doc);
    da_test_http_clear(&r);
    /* the same body again (a lost answer): the stored answer, nothing new */
    snprintf(path, sizeof(path), "/v1/agents/%s/reports", w->agent_id);
    assert_int_equal(
        da_test_http(&w->srv, "POST", path, NULL, "application/json", body, strlen(body), &again),
        0);
    assert_int_equal(again.status, 200);
    assert_non_null(strstr(again.body, report_id));
    da_test_http_clear(&again);
    free(body);
    cJSON_Delete(ev);
    assert_int_equal(count_reports(w), 1);

    /* stored with evidence, verdict and transcript */
    snprintf(path, sizeof(path), "/v1/reports/%s", report_id);
    assert_int_equal(da_test_http(&w->srv, "GET", path, w->srv.auditor, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"hostname\":\"builder-1\""));
    assert_non_null(strstr(r.body, "\"transcript\""));
    assert_non_null(strstr(r.body, "\"disk.encrypted\""));
    da_test_http_clear(&r);
    snprintf(path, sizeof(path), "/v1/agents/%s", w->agent_id);
    assert_int_equal(da_test_http(&w->srv, "GET", path, w->srv.auditor, NULL, NULL, 0, &r), 0);
    assert_non_null(strstr(r.body, "\"status\":\"compliant\""));
    da_test_http_clear(&r);

    /* non-compliant evidence is stored with its verdict */
    ev = evidence_doc(false, NULL);
    free(post_report(w, ev, &o, &r));
    assert_int_equal(r.status, 201);
    assert_non_null(strstr(r.body, "\"compliant\":false"));
    da_test_http_clear(&r);
    cJSON_Delete(ev);
    assert_int_equal(da_test_http(&w->srv, "GET", path, w->srv.auditor, NULL, NULL, 0, &r), 0);
    assert_non_null(strstr(r.body, "\"status\":\"non_compliant\""));
    da_test_http_clear(&r);
    assert_int_equal(count_reports(w), 2);
}

/* Every refusal of the verification core through the API: its code, no
 * report stored, an audit event with that code. */
static void test_report_rejections(void **state)
{
    static const struct {
        struct report_opts o;
        long status;
        const char *code;
    } cases[] = {
        {{.flip_nonce = true}, 400, "bad_nonce"},
        {{.flip_signature = true}, 400, "bad_signature"},
        {{.flip_pcr = true}, 400, "pcr_digest"},
        {{.trailing_attest = true}, 400, "trailing_data"},
        {{.alter_evidence = true}, 400, "qualifying_data"},
        {{.quote_pcrs = "sha256:0-3"}, 400, "pcr_selection"},
        {{.path_agent = "ffffffffffffffffffffffffffffffff"}, 404, "agent_unknown"},
    };
    struct world *w = *state;
    struct da_test_http r;
    char audit[64];
    size_t i;
    int before = count_reports(w);

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *ev = evidence_doc(true, NULL);

        free(post_report(w, ev, &cases[i].o, &r));
        if (r.status != cases[i].status || strcmp(da_test_error_code(&r), cases[i].code) != 0)
            fail_msg("case %zu: got %ld %s, want %s", i, r.status, r.body, cases[i].code);
        da_test_http_clear(&r);
        cJSON_Delete(ev);
        assert_int_equal(count_reports(w), before);
        snprintf(audit, sizeof(audit), "\"code\":\"%s\"", cases[i].code);
        assert_int_equal(da_test_http(&w->srv, "GET", "/v1/audit?action=report_rejected&limit=1",
                                      w->srv.auditor, NULL, NULL, 0, &r),
                         0);
        assert_non_null(strstr(r.body, audit));
        da_test_http_clear(&r);
    }
}

static void put_policy_file(struct world *w, const char *path)
{
    static char buf[DA_MAX_POLICY];
    struct da_test_http r;
    size_t n;
    FILE *f = fopen(path, "r");

    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_int_equal(
        da_test_http(&w->srv, "PUT", "/v1/policy", w->srv.admin, "application/json", buf, n, &r),
        0);
    if (r.status != 200)
        fail_msg("policy %s: %ld %s", path, r.status, r.body);
    da_test_http_clear(&r);
}

static void expect_transcript_selection(struct world *w, struct da_test_http *r, const char *want)
{
    char path[160], needle[160];
    cJSON *doc = cJSON_Parse(r->body);
    struct da_test_http g;

    if (r->status != 201)
        fail_msg("report: %ld %s", r->status, r->body);
    snprintf(path, sizeof(path), "/v1/reports/%s",
             cJSON_GetObjectItem(doc, "report_id")->valuestring);
    cJSON_Delete(doc);
    da_test_http_clear(r);
    assert_int_equal(da_test_http(&w->srv, "GET", path, w->srv.auditor, NULL, NULL, 0, &g), 0);
    snprintf(needle, sizeof(needle), "\"pcr_selection\":\"%s\"", want);
    if (strstr(g.body, needle) == NULL)
        fail_msg("transcript without %s: %s", needle, g.body);
    da_test_http_clear(&g);
}

/* A policy set at run time that reads measured boot and IMA facts widens the PCR
 * selection of the next nonces at once (8-10, 12, 14); a nonce issued just
 * before still verifies with the selection it was issued for; a quote over
 * the old selection with a new nonce is refused. Setting the first policy
 * back narrows it again. */
static void test_policy_changes_selection(void **state)
{
    struct world *w = *state;
    struct report_opts o;
    struct da_test_http r;
    char old_nonce[160], old_pcrs[64], new_nonce[160], new_pcrs[64], path[PATH_MAX];
    cJSON *ev = evidence_doc(true, NULL);

    get_nonce(w, w->agent_id, old_nonce, sizeof(old_nonce), old_pcrs, sizeof(old_pcrs));
    assert_string_equal(old_pcrs, "sha256:0-7");
    snprintf(path, sizeof(path), "%s/common/policies/iso27001-2022-devenv.json", DA_SOURCE_ROOT);
    put_policy_file(w, path);
    get_nonce(w, w->agent_id, new_nonce, sizeof(new_nonce), new_pcrs, sizeof(new_pcrs));
    assert_string_equal(new_pcrs, "sha256:0-10,12,14");
    /* the nonce of before the change, quoted over its own selection */
    memset(&o, 0, sizeof(o));
    o.reuse_nonce = old_nonce;
    o.quote_pcrs = old_pcrs;
    free(post_report(w, ev, &o, &r));
    expect_transcript_selection(w, &r, "sha256:0-7");
    /* a new nonce asks for the wider selection */
    memset(&o, 0, sizeof(o));
    free(post_report(w, ev, &o, &r));
    expect_transcript_selection(w, &r, "sha256:0-10,12,14");
    o.quote_pcrs = "sha256:0-7";
    free(post_report(w, ev, &o, &r));
    if (r.status != 400 || strcmp(da_test_error_code(&r), "pcr_selection") != 0)
        fail_msg("quote of the old selection with a new nonce: %ld %s", r.status, r.body);
    da_test_http_clear(&r);
    /* back to the first policy: the selection as configured */
    put_policy(w);
    get_nonce(w, w->agent_id, new_nonce, sizeof(new_nonce), new_pcrs, sizeof(new_pcrs));
    assert_string_equal(new_pcrs, "sha256:0-7");
    cJSON_Delete(ev);
}

static void test_report_replay_and_revocation(void **state)
{
    struct world *w = *state;
    struct report_opts o;
    struct da_test_http r;
    char nonce[160], pcrs[64], path[160];
    cJSON *ev = evidence_doc(true, NULL), *ev2 = evidence_doc(false, NULL);
    int before;

    /* a used nonce with other evidence is a replay */
    get_nonce(w, w->agent_id, nonce, sizeof(nonce), pcrs, sizeof(pcrs));
    memset(&o, 0, sizeof(o));
    o.reuse_nonce = nonce;
    free(post_report(w, ev, &o, &r));
    assert_int_equal(r.status, 201);
    da_test_http_clear(&r);
    before = count_reports(w);
    free(post_report(w, ev2, &o, &r));
    expect_code(&r, 409, "nonce_replayed");
    da_test_http_clear(&r);
    assert_int_equal(count_reports(w), before);

    /* a revoked agent gets no nonce and posts no report */
    snprintf(path, sizeof(path), "/v1/agents/%s/revoke", w->agent_id);
    assert_int_equal(
        da_test_http(&w->srv, "POST", path, w->srv.admin, "application/json", "{}", 2, &r), 0);
    assert_int_equal(r.status, 200);
    da_test_http_clear(&r);
    snprintf(path, sizeof(path), "/v1/agents/%s/nonce", w->agent_id);
    assert_int_equal(da_test_http(&w->srv, "POST", path, NULL, "application/json", "{}", 2, &r), 0);
    expect_code(&r, 403, "agent_revoked");
    da_test_http_clear(&r);
    snprintf(path, sizeof(path), "/v1/agents/%s/readmit", w->agent_id);
    assert_int_equal(
        da_test_http(&w->srv, "POST", path, w->srv.admin, "application/json", "{}", 2, &r), 0);
    assert_int_equal(r.status, 200);
    da_test_http_clear(&r);
    cJSON_Delete(ev);
    cJSON_Delete(ev2);
}

static void test_report_inventory(void **state)
{
    struct world *w = *state;
    const char *inv = "bash:amd64=5.2.15-2+b2\nopenssl:amd64=3.0.11-1\n";
    unsigned char d[32];
    char hex[65], *body, path[160];
    struct report_opts o;
    struct da_test_http r, again;
    cJSON *ev;

    assert_int_equal(da_sha256(inv, strlen(inv), d), 0);
    assert_int_equal(da_hex_encode_to(d, sizeof(d), hex, sizeof(hex)), 0);
    ev = evidence_doc(true, hex);
    memset(&o, 0, sizeof(o));
    body = post_report(w, ev, &o, &r);
    expect_code(&r, 409, "inventory_needed");
    da_test_http_clear(&r);
    free(body);
    /* a list that does not hash to the digest is refused */
    o.inventory = "bash:amd64=1\n";
    free(post_report(w, ev, &o, &r));
    expect_code(&r, 400, "invalid_argument");
    da_test_http_clear(&r);
    o.inventory = inv;
    body = post_report(w, ev, &o, &r);
    assert_int_equal(r.status, 201);
    da_test_http_clear(&r);
    free(body);
    /* known from now on: no list needed */
    o.inventory = NULL;
    free(post_report(w, ev, &o, &again));
    assert_int_equal(again.status, 201);
    da_test_http_clear(&again);
    cJSON_Delete(ev);
    (void)path;
}

/* A second machine written to the live database through the store. */
static void seed_agent(struct world *w, const char *id, const struct da_buf *ak)
{
    struct srv_store *st = NULL;
    struct srv_agent a;

    assert_int_equal(srv_store_open(w->srv.db, 1, 86400, &st), 0);
    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", id);
    assert_int_equal(srv_store_vendor_ensure(st, "globex", &a.vendor_id), 0);
    snprintf(a.ek_name, sizeof(a.ek_name), "000bffff");
    snprintf(a.ak_name, sizeof(a.ak_name), "000beeee");
    a.ak_public = (unsigned char *)DA_UNCONST(da_buf_data(ak));
    a.ak_public_len = da_buf_len(ak);
    a.host_json = (char *)DA_UNCONST("{}");
    a.created_at = (int64_t)time(NULL);
    assert_int_equal(srv_store_agent_create(st, &a), 0);
    srv_store_close(st);
}

/* The same EK with another AK (a second key set on the same TPM): recorded
 * as an identity event and refused until an admin re-admits the machine. */
static void test_identity_conflict(void **state)
{
    struct world *w = *state;
    struct agent_tpm_settings st;
    struct agent_tpm *first = w->agent, *second = NULL;
    struct agent_tpm_identity *first_id = w->id, *second_id = NULL;
    char dir[160], path[160], hook[SRV_ID_HEX];
    struct da_test_http r;
    struct da_webhook_rx rx;

    snprintf(dir, sizeof(dir), "%s/agent2", w->srv.dir);
    memset(&st, 0, sizeof(st));
    st.mode = AGENT_TPM_MODE_TPM;
    st.tcti = w->tpm.tcti;
    st.state_dir = dir;
    /* the first handle lets go of the TPM's object slots */
    agent_tpm_close(first);
    w->agent = NULL;
    assert_int_equal(agent_tpm_open(&st, &second), 0);
    assert_int_equal(agent_tpm_identity(second, AGENT_IDENTITY_CREATE, &second_id), 0);
    assert_int_equal(da_buf_len(&second_id->ak_name), da_buf_len(&first_id->ak_name));
    assert_memory_not_equal(da_buf_data(&second_id->ak_name), da_buf_data(&first_id->ak_name),
                            da_buf_len(&first_id->ak_name));
    w->agent = second;
    w->id = second_id;

    da_webhook_rx_start(&rx);
    da_webhook_rx_register(&rx, &w->srv, w->srv.admin, hook);
    enroll(w, &second_id->ak_public, false, &r);
    expect_code(&r, 409, "identity_conflict");
    da_test_http_clear(&r);
    /* the identity event reaches a webhook receiver, signed */
    assert_int_equal(da_webhook_rx_wait(&rx, "agent.identity_changed", w->agent_id, 200, 1), 1);
    snprintf(path, sizeof(path), "/v1/webhooks/%s", hook);
    assert_int_equal(da_test_http(&w->srv, "DELETE", path, w->srv.admin, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    da_test_http_clear(&r);
    da_webhook_rx_stop(&rx);
    assert_int_equal(da_test_http(&w->srv, "GET", "/v1/audit?action=identity_event", w->srv.auditor,
                                  NULL, NULL, 0, &r),
                     0);
    assert_non_null(strstr(r.body, w->agent_id));
    da_test_http_clear(&r);

    snprintf(path, sizeof(path), "/v1/agents/%s/readmit", w->agent_id);
    assert_int_equal(da_test_http(&w->srv, "POST", path, w->srv.admin, "application/json",
                                  "{\"reason\":\"board replaced\"}", 27, &r),
                     0);
    assert_int_equal(r.status, 200);
    da_test_http_clear(&r);
    enroll(w, &second_id->ak_public, false, &r);
    assert_int_equal(r.status, 201);
    assert_non_null(strstr(r.body, w->agent_id));
    da_test_http_clear(&r);

    /* reports now verify under the new AK */
    {
        struct report_opts o;
        cJSON *ev = evidence_doc(true, NULL);
        const char *other = "0123456789abcdef0123456789abcdef";

        memset(&o, 0, sizeof(o));
        free(post_report(w, ev, &o, &r));
        assert_int_equal(r.status, 201);
        da_test_http_clear(&r);
        /* posting under another machine's id, over a nonce issued to it:
         * its AK did not sign this */
        seed_agent(w, other, &first_id->ak_public);
        o.path_agent = other;
        o.nonce_agent = other;
        free(post_report(w, ev, &o, &r));
        expect_code(&r, 400, "bad_signature");
        da_test_http_clear(&r);
        /* a nonce issued to this machine, in a report posted as the other
         * machine: the nonce is not the other machine's */
        o.nonce_agent = NULL;
        free(post_report(w, ev, &o, &r));
        expect_code(&r, 400, "bad_nonce");
        da_test_http_clear(&r);
        cJSON_Delete(ev);
    }
    agent_tpm_identity_free(first_id);
}

/* The TPM counters of the quote in a report body. */
static void body_counters(const char *body, struct da_tpm_clock *c)
{
    cJSON *doc = cJSON_Parse(body);
    const char *a = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "quote"), "attest")->valuestring;
    unsigned char attest[2048];
    size_t n = unb64(a, attest, sizeof(attest));
    TPMS_ATTEST t;

    assert_int_equal(da_tpm_attest_parse(attest, n, TPM2_ST_ATTEST_QUOTE, &t), 0);
    memset(c, 0, sizeof(*c));
    c->clock = t.clockInfo.clock;
    c->reset_count = t.clockInfo.resetCount;
    c->restart_count = t.clockInfo.restartCount;
    cJSON_Delete(doc);
}

/* The agent's counters as the API shows them, and its last report. */
static void stored_counters(struct world *w, struct da_tpm_clock *c, char *last, size_t size)
{
    struct da_test_http r;
    char path[160];
    cJSON *doc, *tpm;

    snprintf(path, sizeof(path), "/v1/agents/%s", w->agent_id);
    assert_int_equal(da_test_http(&w->srv, "GET", path, w->srv.auditor, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    doc = cJSON_Parse(r.body);
    tpm = cJSON_GetObjectItem(doc, "tpm");
    memset(c, 0, sizeof(*c));
    c->clock = strtoull(cJSON_GetObjectItem(tpm, "clock")->valuestring, NULL, 10);
    c->reset_count = (uint32_t)cJSON_GetObjectItem(tpm, "reset_count")->valuedouble;
    c->restart_count = (uint32_t)cJSON_GetObjectItem(tpm, "restart_count")->valuedouble;
    snprintf(last, size, "%s", cJSON_GetObjectItem(doc, "last_report_id")->valuestring);
    cJSON_Delete(doc);
    da_test_http_clear(&r);
}

struct post_job {
    struct world *w;
    const char *body;
    struct da_test_http r;
    int rc;
};

static void *post_thread(void *arg)
{
    struct post_job *j = arg;
    char path[160];

    snprintf(path, sizeof(path), "/v1/agents/%s/reports", j->w->agent_id);
    j->rc = da_test_http(&j->w->srv, "POST", path, NULL, "application/json", j->body,
                         strlen(j->body), &j->r);
    return NULL;
}

static const char *answer_report_id(const struct da_test_http *r, char *out, size_t size)
{
    cJSON *doc = cJSON_Parse(r->body);

    snprintf(out, size, "%s", cJSON_GetObjectItem(doc, "report_id")->valuestring);
    cJSON_Delete(doc);
    return out;
}

/* Rows of the agent in the server's SQLite file: reports and used nonces. */
static void stored_rows(struct world *w, long *reports, long *nonces)
{
    static const char *const sql[2] = {"SELECT count(*) FROM reports WHERE agent_id = ?1",
                                       "SELECT count(*) FROM nonces_used WHERE agent_id = ?1"};
    long *out[2] = {reports, nonces};
    sqlite3 *db = NULL;
    int i;

    assert_int_equal(sqlite3_open_v2(w->srv.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    for (i = 0; i < 2; i++) {
        sqlite3_stmt *st = NULL;

        assert_int_equal(sqlite3_prepare_v2(db, sql[i], -1, &st, NULL), SQLITE_OK);
        sqlite3_bind_text(st, 1, w->agent_id, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        *out[i] = (long)sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
}

#define RACE_ROUNDS 100
#define RACE_MAX_S  300

/* An older and a newer quote of one machine (both from the swtpm, the
 * older quoted first) posted at the same time, RACE_ROUNDS times: the newer
 * is always accepted; the older only when it was stored first; the agent's
 * stored counters are the newer's after every round and never go back. */
static void test_concurrent_older_and_newer(void **state)
{
    struct world *w = *state;
    struct da_tpm_clock prev, got, c_old, c_new;
    struct report_opts o;
    char last[64], id_old[64], id_new[64];
    int round, both = 0, only_newer = 0;
    time_t t0 = time(NULL);
    cJSON *ev = evidence_doc(true, NULL);

    memset(&o, 0, sizeof(o));
    stored_counters(w, &prev, last, sizeof(last));
    for (round = 0; round < RACE_ROUNDS; round++) {
        struct post_job older = {w, NULL, {0}, -1}, newer = {w, NULL, {0}, -1};
        long reports0, nonces0, reports1, nonces1;
        pthread_t t1, t2;

        stored_rows(w, &reports0, &nonces0);

        older.body = report_text(w, ev, &o);
        newer.body = report_text(w, ev, &o);
        body_counters(older.body, &c_old);
        body_counters(newer.body, &c_new);
        /* the swtpm's Clock moved between the two quotes */
        assert_true(c_new.clock > c_old.clock);
        assert_int_equal(da_tpm_clock_check(&c_old, &c_new, NULL), 0);
        assert_int_equal(pthread_create(&t1, NULL, post_thread, &older), 0);
        assert_int_equal(pthread_create(&t2, NULL, post_thread, &newer), 0);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        assert_int_equal(older.rc, 0);
        assert_int_equal(newer.rc, 0);
        if (newer.r.status != 201)
            fail_msg("round %d newer: %ld %s", round, newer.r.status, newer.r.body);
        answer_report_id(&newer.r, id_new, sizeof(id_new));
        if (older.r.status == 201) {
            both++;
        } else {
            expect_code(&older.r, 400, "counter_rollback");
            only_newer++;
        }
        stored_counters(w, &got, last, sizeof(last));
        /* the newer's counters are stored, and its report is the last one */
        assert_true(got.clock == c_new.clock);
        assert_int_equal(got.reset_count, c_new.reset_count);
        assert_int_equal(got.restart_count, c_new.restart_count);
        assert_string_equal(last, id_new);
        if (older.r.status == 201)
            assert_string_not_equal(answer_report_id(&older.r, id_old, sizeof(id_old)), last);
        /* a refused older quote left no report and did not spend its nonce */
        stored_rows(w, &reports1, &nonces1);
        assert_int_equal(reports1 - reports0, older.r.status == 201 ? 2 : 1);
        assert_int_equal(nonces1 - nonces0, older.r.status == 201 ? 2 : 1);
        /* never back */
        assert_int_equal(da_tpm_clock_check(&prev, &got, NULL), 0);
        assert_true(got.clock > prev.clock);
        prev = got;
        da_test_http_clear(&older.r);
        da_test_http_clear(&newer.r);
        free((char *)DA_UNCONST(older.body));
        free((char *)DA_UNCONST(newer.body));
        if (time(NULL) - t0 > RACE_MAX_S)
            fail_msg("round %d after %d s", round, RACE_MAX_S);
    }
    cJSON_Delete(ev);
    print_message("%d rounds in %lld s: both stored %d, older refused %d\n", RACE_ROUNDS,
                  (long long)(time(NULL) - t0), both, only_newer);
    assert_int_equal(both + only_newer, RACE_ROUNDS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enrollment),
        cmocka_unit_test(test_enrollment_refusals),
        cmocka_unit_test(test_reports),
        cmocka_unit_test(test_concurrent_older_and_newer),
        cmocka_unit_test(test_report_rejections),
        cmocka_unit_test(test_policy_changes_selection),
        cmocka_unit_test(test_report_replay_and_revocation),
        cmocka_unit_test(test_report_inventory),
        cmocka_unit_test(test_identity_conflict),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* End to end: a swtpm-backed agent identity (agent/tpm.h over ESYS) enrolls
 * with a real devattest-server over TLS, obtains nonces, posts quoted
 * reports and reads verdicts and receipts; every refusal of the
 * verification core comes back with its code and changes nothing but the
 * counters and the audit log. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "digest.h"
#include "encoding.h"
#include "err.h"
#include "jcs.h"
#include "quote.h"
#include "server_harness.h"
#include "swtpm_harness.h"
#include "tpm.h"

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

static cJSON *enroll_body(struct world *w, const char *token, const struct agent_bytes *ak)
{
    cJSON *o = cJSON_CreateObject(), *chain = cJSON_AddArrayToObject(o, "ek_chain");
    char *issuer = b64(w->issuer_der, w->issuer_der_len);

    assert_non_null(cJSON_AddStringToObject(o, "token", token));
    add_b64(o, "ek_public", w->id->ek_public.data, w->id->ek_public.len);
    add_b64(o, "ek_certificate", w->id->ek_cert.data, w->id->ek_cert.len);
    add_b64(o, "ak_public", ak->data, ak->len);
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
    struct agent_bytes secret = {NULL, 0}, attest = {NULL, 0}, sig = {NULL, 0};
    unsigned int mac_len = 0;
    cJSON *o = cJSON_CreateObject(), *cert;

    assert_int_equal(agent_tpm_activate_credential(w->agent, blob, blob_len, enc, enc_len, &secret),
                     0);
    assert_non_null(HMAC(EVP_sha256(), secret.data, (int)secret.len, (const unsigned char *)cid,
                         strlen(cid), mac, &mac_len));
    if (corrupt_proof)
        mac[0] ^= 1;
    assert_int_equal(da_sha256(cid, strlen(cid), qd), 0);
    assert_int_equal(agent_tpm_certify_sk(w->agent, qd, sizeof(qd), &attest, &sig), 0);
    add_b64(o, "proof", mac, mac_len);
    add_b64(o, "sk_public", w->id->sk_public.data, w->id->sk_public.len);
    cert = cJSON_AddObjectToObject(o, "sk_certify");
    add_b64(cert, "attest", attest.data, attest.len);
    add_b64(cert, "signature", sig.data, sig.len);
    agent_bytes_free(&secret);
    agent_bytes_free(&attest);
    agent_bytes_free(&sig);
    return o;
}

static void expect_code(const struct da_test_http *r, long status, const char *code)
{
    if (r->status != status || strcmp(da_test_error_code(r), code) != 0)
        fail_msg("got %ld %s, want %ld %s", r->status, r->body, status, code);
}

/* Enroll with a fresh token; returns the challenge answer's HTTP result. */
static void enroll(struct world *w, const struct agent_bytes *ak, bool corrupt,
                   struct da_test_http *out)
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

/* The same EK with another AK (a second key set on the same TPM): recorded
 * as an identity event and refused until an admin re-admits the machine. */
static void test_identity_conflict(void **state)
{
    struct world *w = *state;
    struct agent_tpm_settings st;
    struct agent_tpm *first = w->agent, *second = NULL;
    struct agent_tpm_identity *first_id = w->id, *second_id = NULL;
    char dir[160], path[160];
    struct da_test_http r;

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
    assert_int_equal(second_id->ak_name.len, first_id->ak_name.len);
    assert_memory_not_equal(second_id->ak_name.data, first_id->ak_name.data, first_id->ak_name.len);
    w->agent = second;
    w->id = second_id;

    enroll(w, &second_id->ak_public, false, &r);
    expect_code(&r, 409, "identity_conflict");
    da_test_http_clear(&r);
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
    agent_tpm_identity_free(first_id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enrollment),
        cmocka_unit_test(test_enrollment_refusals),
        cmocka_unit_test(test_identity_conflict),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* Enrollment (docs/ARCHITECTURE.md): POST /v1/enroll makes a credential
 * challenge for the AK under the EK; POST /v1/enroll/{id}/activate checks
 * the answer and the SK certify, records the agent and issues the SK
 * certificate. Every refusal is audited and changes nothing else, except
 * that a challenge is gone after its first answer, right or wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "api.h"
#include "caps.h"
#include "credential.h"
#include "digest.h"
#include "ek.h"
#include "encoding.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "policy_state.h"
#include "quote.h"
#include "render.h"
#include "token.h"
#include "picky.h"

#define MAX_HOST_JSON (16u * 1024)
#define SK_CERT_DAYS  825

static int b64_field(const cJSON *obj, const char *key, size_t cap, struct da_buf *out)
{
    const char *s = NULL;
    int rc = da_json_get_string(obj, key, &s);

    da_buf_init(out, cap);
    if (rc == 0)
        rc = da_base64_decode(s, strlen(s), DA_BASE64_STD, out);
    return rc;
}

static int name_hex(const struct da_tpm_public *pub, char *out, size_t size)
{
    size_t n = 0;
    const uint8_t *name = da_tpm_public_name(pub, &n);

    return da_hex_encode_to(name, n, out, size);
}

struct enroll_req {
    struct da_buf ek_pub, ek_cert, ak_pub;
    struct da_buf chain[DA_MAX_EK_CHAIN];
    size_t nchain;
    char *host_json;
    const char *token;
    struct da_tpm_public *ek, *ak;
    struct da_ek_cert_info ek_info; /* of the certificate, once it verified */
};

static void enroll_req_free(struct enroll_req *e)
{
    size_t i;

    da_buf_free(&e->ek_pub);
    da_buf_free(&e->ek_cert);
    da_buf_free(&e->ak_pub);
    for (i = 0; i < e->nchain; i++)
        da_buf_free(&e->chain[i]);
    free(e->host_json);
    da_tpm_public_free(e->ek);
    da_tpm_public_free(e->ak);
}

static int parse_chain(const cJSON *root, struct enroll_req *e, struct srv_response *resp)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "ek_chain"), *it;

    if (arr == NULL)
        return 0;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > DA_MAX_EK_CHAIN) {
        snprintf(resp->message, sizeof(resp->message), "ek_chain: at most %d base64 certificates",
                 DA_MAX_EK_CHAIN);
        return DA_ERR_JSON_TYPE;
    }
    cJSON_ArrayForEach(it, arr)
    {
        struct da_buf *b = &e->chain[e->nchain];
        int rc;

        da_buf_init(b, DA_MAX_TPM_STRUCT);
        e->nchain++;
        if (!cJSON_IsString(it))
            return DA_ERR_JSON_TYPE;
        rc = da_base64_decode(it->valuestring, strlen(it->valuestring), DA_BASE64_STD, b);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int parse_enroll(const cJSON *root, struct enroll_req *e, struct srv_response *resp)
{
    static const char *const allowed[] = {
        "token", "ek_public", "ek_certificate", "ek_chain", "ak_public", "host", NULL};
    const cJSON *host;
    int rc = srv_json_only_keys(root, allowed, resp);

    if (rc == 0)
        rc = da_json_get_string(root, "token", &e->token);
    if (rc == 0)
        rc = b64_field(root, "ek_public", DA_MAX_TPM_STRUCT, &e->ek_pub);
    /* Absent or empty: the TPM has no EK certificate; the enrollment then
     * waits for an administrator (docs/enrollment.md). */
    if (rc == 0 && cJSON_GetObjectItemCaseSensitive(root, "ek_certificate") != NULL)
        rc = b64_field(root, "ek_certificate", DA_MAX_TPM_STRUCT, &e->ek_cert);
    else
        da_buf_init(&e->ek_cert, DA_MAX_TPM_STRUCT);
    if (rc == 0)
        rc = b64_field(root, "ak_public", DA_MAX_TPM_STRUCT, &e->ak_pub);
    if (rc == 0)
        rc = parse_chain(root, e, resp);
    if (rc != 0) {
        if (resp->message[0] == '\0')
            snprintf(resp->message, sizeof(resp->message),
                     "token, ek_public and ak_public are required, ek_certificate is "
                     "optional; binary values are canonical base64");
        return rc;
    }
    host = cJSON_GetObjectItemCaseSensitive(root, "host");
    if (host != NULL && !cJSON_IsObject(host)) {
        snprintf(resp->message, sizeof(resp->message), "host must be an object");
        return DA_ERR_JSON_TYPE;
    }
    e->host_json = host != NULL ? cJSON_PrintUnformatted(host) : strdup("{}");
    if (e->host_json == NULL)
        return DA_ERR_NOMEM;
    if (strlen(e->host_json) > MAX_HOST_JSON)
        return DA_ERR_TOO_LARGE;
    return 0;
}

/* EK template and AK attributes. */
static int check_keys(struct enroll_req *e)
{
    int rc = da_tpm_public_parse(da_buf_data(&e->ek_pub), da_buf_len(&e->ek_pub), &e->ek);

    if (rc == 0)
        rc = da_tpm_public_check_ek(e->ek);
    if (rc == 0)
        rc = da_tpm_public_parse(da_buf_data(&e->ak_pub), da_buf_len(&e->ak_pub), &e->ak);
    if (rc == 0)
        rc = da_tpm_public_check_ak(e->ak);
    return rc;
}

/* The TPM side of the request: the keys, and the EK certificate chain and
 * key when there is a certificate. No state is touched before this holds. */
static int check_identity(struct srv_ctx *ctx, struct enroll_req *e, struct srv_response *resp)
{
    const uint8_t *chain[DA_MAX_EK_CHAIN];
    size_t lens[DA_MAX_EK_CHAIN], i;
    const char *reason = NULL;
    int rc = check_keys(e);

    if (rc != 0 || da_buf_len(&e->ek_cert) == 0)
        return rc;
    if (ctx->ek_trust == NULL) {
        snprintf(resp->message, sizeof(resp->message), "no EK roots are configured");
        return DA_ERR_VERIFY_EK_CHAIN;
    }
    for (i = 0; i < e->nchain; i++) {
        chain[i] = da_buf_data(&e->chain[i]);
        lens[i] = da_buf_len(&e->chain[i]);
    }
    rc = da_ek_cert_verify_info(ctx->ek_trust, da_buf_data(&e->ek_cert), da_buf_len(&e->ek_cert),
                                chain, lens, e->nchain, e->ek, 0, &reason, &e->ek_info);
    if (rc == DA_ERR_VERIFY_EK_CHAIN && reason != NULL)
        snprintf(resp->message, sizeof(resp->message), "EK certificate: %s", reason);
    return rc;
}

static int make_challenge(struct srv_ctx *ctx, struct enroll_req *e, int64_t vendor_id,
                          const char *ek_trust, struct srv_challenge *c, uint8_t **blob,
                          size_t *blob_len, uint8_t **enc, size_t *enc_len)
{
    size_t name_len = 0;
    const uint8_t *name = da_tpm_public_name(e->ak, &name_len);
    int rc;

    memset(c, 0, sizeof(*c));
    rc = srv_random_id(c->id);
    if (rc == 0 && RAND_priv_bytes(c->secret, sizeof(c->secret)) != 1)
        rc = DA_ERR_CRYPTO;
    if (rc == 0)
        rc = da_credential_make(e->ek, name, name_len, c->secret, sizeof(c->secret), blob, blob_len,
                                enc, enc_len);
    if (rc == 0)
        rc = name_hex(e->ek, c->ek_name, sizeof(c->ek_name));
    if (rc == 0)
        rc = name_hex(e->ak, c->ak_name, sizeof(c->ak_name));
    c->vendor_id = vendor_id;
    /* lent to the challenge, which the store only reads */
    c->ek_public = DA_UNCONST(da_buf_data(&e->ek_pub));
    c->ek_public_len = da_buf_len(&e->ek_pub);
    c->ak_public = DA_UNCONST(da_buf_data(&e->ak_pub));
    c->ak_public_len = da_buf_len(&e->ak_pub);
    c->host_json = e->host_json;
    c->expires_at = srv_now() + ctx->cfg.challenge_ttl_s;
    snprintf(c->ek_trust, sizeof(c->ek_trust), "%s", ek_trust);
    snprintf(c->ek_cert.issuer, sizeof(c->ek_cert.issuer), "%s", e->ek_info.issuer);
    snprintf(c->ek_cert.serial, sizeof(c->ek_cert.serial), "%s", e->ek_info.serial);
    snprintf(c->ek_cert.root, sizeof(c->ek_cert.root), "%s", e->ek_info.root);
    return rc;
}

static int add_b64(cJSON *o, const char *key, const void *p, size_t n)
{
    struct da_buf b;
    int rc;

    da_buf_init(&b, 2 * DA_MAX_TPM_STRUCT);
    rc = da_base64_encode(p, n, DA_BASE64_STD, &b);
    if (rc == 0 && cJSON_AddStringToObject(o, key, da_buf_str(&b)) == NULL)
        rc = DA_ERR_NOMEM;
    da_buf_free(&b);
    return rc;
}

/* The credential challenge for an identity whose EK is trusted (by its
 * certificate chain, or by an administrator's approval). */
static int issue_challenge(struct srv_ctx *ctx, struct enroll_req *e, int64_t vendor_id,
                           const char *ek_trust, cJSON **answer)
{
    struct srv_challenge c;
    uint8_t *blob = NULL, *enc = NULL;
    size_t blob_len = 0, enc_len = 0;
    char expires[32];
    cJSON *o = NULL;
    int rc = make_challenge(ctx, e, vendor_id, ek_trust, &c, &blob, &blob_len, &enc, &enc_len);

    if (rc == 0)
        rc = srv_store_challenge_put(ctx->store, &c);
    if (rc == 0) {
        srv_time_rfc3339(c.expires_at, expires);
        o = cJSON_CreateObject();
        if (cJSON_AddStringToObject(o, "challenge_id", c.id) == NULL ||
            cJSON_AddStringToObject(o, "expires_at", expires) == NULL)
            rc = DA_ERR_NOMEM;
    }
    if (rc == 0)
        rc = add_b64(o, "credential_blob", blob, blob_len);
    if (rc == 0)
        rc = add_b64(o, "encrypted_secret", enc, enc_len);
    if (rc == 0) {
        *answer = o;
        o = NULL; /* transferred */
    }
    OPENSSL_cleanse(c.secret, sizeof(c.secret));
    cJSON_Delete(o);
    free(blob);
    free(enc);
    return rc;
}

int srv_ek_public_sha256(const struct da_tpm_public *ek, char out[65])
{
    unsigned char *der = NULL, md[DA_SHA256_LEN];
    EVP_PKEY *key = da_tpm_public_pkey(ek);
    int len = key != NULL ? i2d_PUBKEY(key, &der) : -1;
    int rc = len > 0 ? da_sha256(der, (size_t)len, md) : DA_ERR_CRYPTO;

    if (rc == 0)
        rc = da_hex_encode_to(md, sizeof(md), out, 65);
    OPENSSL_free(der);
    return rc;
}

/* No EK certificate: keep the identity for an administrator and answer
 * 202 with what the administrator compares (docs/enrollment.md). */
static int hold_for_approval(struct srv_ctx *ctx, struct enroll_req *e,
                             const unsigned char token_hash[SRV_HASH_LEN], cJSON **answer)
{
    struct srv_enrollment h;
    cJSON *o = NULL;
    int rc;

    memset(&h, 0, sizeof(h));
    rc = srv_random_id(h.id);
    if (rc == 0)
        rc = srv_ek_public_sha256(e->ek, h.ek_sha256);
    if (rc == 0)
        rc = name_hex(e->ek, h.ek_name, sizeof(h.ek_name));
    if (rc == 0)
        rc = name_hex(e->ak, h.ak_name, sizeof(h.ak_name));
    h.ek_public = DA_UNCONST(da_buf_data(&e->ek_pub));
    h.ek_public_len = da_buf_len(&e->ek_pub);
    h.ak_public = DA_UNCONST(da_buf_data(&e->ak_pub));
    h.ak_public_len = da_buf_len(&e->ak_pub);
    h.host_json = e->host_json;
    h.created_at = srv_now();
    if (rc == 0)
        rc = srv_store_enrollment_hold(ctx->store, token_hash, &h);
    if (rc == 0) {
        o = cJSON_CreateObject();
        if (cJSON_AddStringToObject(o, "status", "pending") == NULL ||
            cJSON_AddStringToObject(o, "enrollment_id", h.id) == NULL ||
            cJSON_AddStringToObject(o, "ek_public_sha256", h.ek_sha256) == NULL)
            rc = DA_ERR_NOMEM;
    }
    if (rc == 0) {
        *answer = o;
        o = NULL; /* transferred */
    }
    cJSON_Delete(o);
    return rc;
}

static int enroll_run(struct srv_request *req, struct srv_response *resp, struct enroll_req *e,
                      cJSON **answer, bool *pending)
{
    struct srv_ctx *ctx = req->srv;
    unsigned char hash[SRV_HASH_LEN];
    int64_t vendor_id = 0;
    cJSON *root = NULL;
    int rc;

    rc = srv_parse_body(req, resp, &root);
    if (rc == 0)
        rc = parse_enroll(root, e, resp);
    if (rc == 0)
        rc = check_identity(ctx, e, resp);
    if (rc == 0)
        rc = da_sha256(e->token, strlen(e->token), hash);
    *pending = da_buf_len(&e->ek_cert) == 0;
    if (rc == 0 && *pending) {
        rc = hold_for_approval(ctx, e, hash, answer);
    } else if (rc == 0) {
        rc = srv_store_enroll_token_consume(ctx->store, hash, srv_now(), &vendor_id);
        if (rc == 0)
            rc = issue_challenge(ctx, e, vendor_id, SRV_EK_TRUST_CHAIN, answer);
    }
    cJSON_Delete(root);
    return rc;
}

int srv_api_enroll(struct srv_request *req, struct srv_response *resp)
{
    struct enroll_req e;
    cJSON *answer = NULL;
    bool pending = false;
    char detail[128];
    int rc;

    memset(&e, 0, sizeof(e));
    rc = enroll_run(req, resp, &e, &answer, &pending);
    if (rc != 0) {
        atomic_fetch_add(&req->srv->metrics.enrollments_rejected, 1);
        srv_audit(req->srv, req->address, "enroll_rejected", "", rc, resp->message);
    } else if (pending) {
        snprintf(detail, sizeof(detail), "no EK certificate; EK public key SHA-256 %s",
                 cJSON_GetObjectItemCaseSensitive(answer, "ek_public_sha256")->valuestring);
        srv_audit(req->srv, req->address, "enroll_pending",
                  cJSON_GetObjectItemCaseSensitive(answer, "enrollment_id")->valuestring, 0,
                  detail);
    } else {
        srv_audit(req->srv, req->address, "enroll_challenged",
                  cJSON_GetObjectItemCaseSensitive(answer, "challenge_id")->valuestring, 0, "");
    }
    enroll_req_free(&e);
    return rc != 0 ? rc : srv_respond_json(resp, pending ? 202 : 201, answer);
}

/* POST /v1/enrollments/{id}/challenge: the agent of a held enrollment asks
 * again. Pending and rejected enrollments answer with their error codes; an
 * approved one gets the credential challenge, which only the TPM holding
 * that EK can answer, so the id alone gains nothing. */
static int resume_run(struct srv_request *req, struct srv_response *resp, struct enroll_req *e,
                      cJSON **answer)
{
    struct srv_enrollment *h = NULL;
    int rc = req->body_len == 0 || (req->body_len == 2 && memcmp(req->body, "{}", 2) == 0)
                 ? 0
                 : DA_ERR_JSON_PARSE;

    if (rc != 0)
        snprintf(resp->message, sizeof(resp->message), "the body must be empty or {}");
    if (rc == 0)
        rc = srv_store_enrollment_get(req->srv->store, req->param[0], &h);
    if (rc == 0 && strcmp(h->state, "pending") == 0)
        rc = DA_ERR_ENROLL_PENDING;
    else if (rc == 0 && strcmp(h->state, "approved") != 0)
        rc = DA_ERR_ENROLL_REJECTED;
    if (rc == 0) {
        da_buf_init(&e->ek_pub, DA_MAX_TPM_STRUCT);
        da_buf_init(&e->ak_pub, DA_MAX_TPM_STRUCT);
        da_buf_init(&e->ek_cert, DA_MAX_TPM_STRUCT);
        rc = da_buf_append(&e->ek_pub, h->ek_public, h->ek_public_len);
        if (rc == 0)
            rc = da_buf_append(&e->ak_pub, h->ak_public, h->ak_public_len);
        e->host_json = h->host_json;
        h->host_json = NULL; /* transferred */
    }
    if (rc == 0)
        rc = check_keys(e);
    if (rc == 0)
        rc = issue_challenge(req->srv, e, h->vendor_id, SRV_EK_TRUST_APPROVAL, answer);
    srv_enrollment_free(h);
    return rc;
}

int srv_api_enrollment_challenge(struct srv_request *req, struct srv_response *resp)
{
    struct enroll_req e;
    cJSON *answer = NULL;
    int rc;

    memset(&e, 0, sizeof(e));
    rc = resume_run(req, resp, &e, &answer);
    if (rc != 0 && rc != DA_ERR_ENROLL_PENDING)
        srv_audit(req->srv, req->address, "enroll_rejected", req->param[0], rc, resp->message);
    else if (rc == 0)
        srv_audit(req->srv, req->address, "enroll_challenged",
                  cJSON_GetObjectItemCaseSensitive(answer, "challenge_id")->valuestring, 0,
                  req->param[0]);
    enroll_req_free(&e);
    return rc != 0 ? rc : srv_respond_json(resp, 201, answer);
}

/* ---- activation ---- */

struct activate_req {
    struct srv_challenge *c;
    struct da_buf proof, sk_pub, attest, sig;
    struct da_tpm_public *ak, *sk;
    struct srv_agent *existing;
    char agent_id[SRV_ID_HEX];
    char *sk_cert_pem;
};

static void activate_req_free(struct activate_req *a)
{
    srv_challenge_free(a->c);
    da_buf_free(&a->proof);
    da_buf_free(&a->sk_pub);
    da_buf_free(&a->attest);
    da_buf_free(&a->sig);
    da_tpm_public_free(a->ak);
    da_tpm_public_free(a->sk);
    srv_agent_free(a->existing);
    free(a->sk_cert_pem);
}

static int parse_activate(const cJSON *root, struct activate_req *a, struct srv_response *resp)
{
    static const char *const allowed[] = {"proof", "sk_public", "sk_certify", NULL};
    static const char *const certify_keys[] = {"attest", "signature", NULL};
    const cJSON *certify = NULL;
    int rc = srv_json_only_keys(root, allowed, resp);

    if (rc == 0)
        rc = da_json_get_object(root, "sk_certify", &certify);
    if (rc == 0)
        rc = srv_json_only_keys(certify, certify_keys, resp);
    if (rc == 0)
        rc = b64_field(root, "proof", 64, &a->proof);
    if (rc == 0)
        rc = b64_field(root, "sk_public", DA_MAX_TPM_STRUCT, &a->sk_pub);
    if (rc == 0)
        rc = b64_field(certify, "attest", DA_MAX_TPM_STRUCT, &a->attest);
    if (rc == 0)
        rc = b64_field(certify, "signature", DA_MAX_TPM_STRUCT, &a->sig);
    if (rc != 0 && resp->message[0] == '\0')
        snprintf(resp->message, sizeof(resp->message),
                 "proof, sk_public and sk_certify {attest, signature} are required (base64)");
    return rc;
}

/* proof = HMAC-SHA256(key = credential secret, message = challenge id). */
static int check_proof(const struct activate_req *a)
{
    unsigned char mac[DA_SHA256_LEN];
    unsigned int n = 0;
    bool ok;

    if (HMAC(EVP_sha256(), a->c->secret, sizeof(a->c->secret), (const unsigned char *)a->c->id,
             strlen(a->c->id), mac, &n) == NULL ||
        n != sizeof(mac))
        return DA_ERR_CRYPTO;
    ok = da_buf_len(&a->proof) == sizeof(mac) && da_ct_equal(mac, da_buf_data(&a->proof), n);
    OPENSSL_cleanse(mac, sizeof(mac));
    return ok ? 0 : DA_ERR_CHALLENGE_MISMATCH;
}

/* The SK certify's qualifying data: SHA-256 of the challenge id text. */
static int check_sk(struct activate_req *a)
{
    unsigned char qd[DA_SHA256_LEN];
    int rc = da_sha256(a->c->id, strlen(a->c->id), qd);

    if (rc == 0)
        rc = da_tpm_public_parse(a->c->ak_public, a->c->ak_public_len, &a->ak);
    if (rc == 0)
        rc = da_tpm_public_parse(da_buf_data(&a->sk_pub), da_buf_len(&a->sk_pub), &a->sk);
    if (rc == 0)
        rc = da_tpm_public_check_sk(a->sk);
    if (rc == 0)
        rc =
            da_certify_verify(da_buf_data(&a->attest), da_buf_len(&a->attest), da_buf_data(&a->sig),
                              da_buf_len(&a->sig), a->ak, a->sk, qd, sizeof(qd), NULL);
    return rc;
}

/* New machine, the same machine again, or the same EK with another AK. */
static int record_agent(struct srv_ctx *ctx, struct activate_req *a)
{
    struct srv_agent rec;
    char detail[256];
    int rc = srv_store_agent_find_by_ek(ctx->store, a->c->ek_name, srv_now(), &a->existing);

    if (rc == DA_ERR_NOT_FOUND) {
        memset(&rec, 0, sizeof(rec));
        rc = srv_random_id(rec.id);
        rec.vendor_id = a->c->vendor_id;
        memcpy(rec.ek_name, a->c->ek_name, sizeof(rec.ek_name));
        memcpy(rec.ak_name, a->c->ak_name, sizeof(rec.ak_name));
        rec.ak_public = a->c->ak_public;
        rec.ak_public_len = a->c->ak_public_len;
        rec.sk_public = DA_UNCONST(da_buf_data(&a->sk_pub)); /* lent: the store only reads */
        rec.sk_public_len = da_buf_len(&a->sk_pub);
        rec.host_json = a->c->host_json;
        rec.created_at = srv_now();
        memcpy(rec.ek_trust, a->c->ek_trust, sizeof(rec.ek_trust));
        rec.ek_cert = a->c->ek_cert;
        if (rc == 0)
            rc = srv_store_agent_create(ctx->store, &rec);
        memcpy(a->agent_id, rec.id, sizeof(a->agent_id));
        return rc;
    }
    if (rc != 0)
        return rc;
    memcpy(a->agent_id, a->existing->id, sizeof(a->agent_id));
    if (strcmp(a->existing->ak_name, a->c->ak_name) != 0) {
        snprintf(detail, sizeof(detail), "EK %.80s came with AK %.80s instead of %.80s",
                 a->c->ek_name, a->c->ak_name, a->existing->ak_name);
        rc = srv_store_identity_event_put(ctx->store, a->existing->id, a->c->ak_public,
                                          a->c->ak_public_len, a->c->ak_name, detail);
        if (rc == 0)
            srv_audit(ctx, "server", "identity_event", a->existing->id, DA_ERR_IDENTITY_CONFLICT,
                      detail);
        if (rc == 0) {
            cJSON *d = cJSON_CreateObject();

            if (d != NULL) {
                cJSON_AddStringToObject(d, "vendor", a->existing->vendor);
                cJSON_AddStringToObject(d, "ek_name", a->c->ek_name);
                cJSON_AddStringToObject(d, "ak_name", a->c->ak_name);
                cJSON_AddStringToObject(d, "previous_ak_name", a->existing->ak_name);
            }
            srv_webhook_emit(ctx, NULL, SRV_EVENT_IDENTITY, a->existing->id, d);
        }
        return rc != 0 ? rc : DA_ERR_IDENTITY_CONFLICT;
    }
    if (a->existing->revoked)
        return DA_ERR_AGENT_REVOKED;
    return srv_store_agent_reenroll(ctx->store, a->existing->id, da_buf_data(&a->sk_pub),
                                    da_buf_len(&a->sk_pub), a->c->host_json, a->c->ek_trust,
                                    &a->c->ek_cert);
}

/* The deployment's pseudonym key for the agent's minimal privacy mode
 * (docs/privacy.md): the same for every agent, so pseudonyms correlate. */
/* The PCR selection the current policy asks for. */
static int add_pcr_selection(struct srv_ctx *ctx, cJSON *o)
{
    struct srv_policy *p = srv_policy_get(ctx);
    int rc = cJSON_AddStringToObject(o, "pcr_selection", srv_policy_selection(ctx, p)->text) != NULL
                 ? 0
                 : DA_ERR_NOMEM;

    srv_policy_put(p);
    return rc;
}

static int add_privacy_key(cJSON *o, const struct srv_keys *keys)
{
    char hex[2 * SRV_PRIVACY_KEY_LEN + 1];
    size_t i;
    int rc = 0;

    for (i = 0; i < SRV_PRIVACY_KEY_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", keys->privacy_key[i]);
    if (cJSON_AddStringToObject(o, "privacy_key", hex) == NULL)
        rc = DA_ERR_NOMEM;
    OPENSSL_cleanse(hex, sizeof(hex));
    return rc;
}

static int activate_run(struct srv_request *req, struct srv_response *resp, struct activate_req *a,
                        cJSON **answer)
{
    struct srv_ctx *ctx = req->srv;
    cJSON *root = NULL, *o = NULL;
    EVP_PKEY *skey;
    int rc;

    rc = srv_parse_body(req, resp, &root);
    if (rc == 0)
        rc = parse_activate(root, a, resp);
    /* From here on the challenge is consumed, whatever the outcome. */
    if (rc == 0)
        rc = srv_store_challenge_take(ctx->store, req->param[0], srv_now(), &a->c);
    if (rc == 0)
        rc = check_proof(a);
    if (rc == 0)
        rc = check_sk(a);
    if (rc == 0)
        rc = record_agent(ctx, a);
    if (rc == 0) {
        size_t ak_name_len = 0;
        const uint8_t *ak_name = da_tpm_public_name(a->ak, &ak_name_len);
        skey = da_tpm_public_pkey(a->sk);
        rc = skey != NULL ? srv_pki_issue_sk_cert(ctx->keys, skey, a->agent_id, ak_name,
                                                  ak_name_len, SK_CERT_DAYS, &a->sk_cert_pem)
                          : DA_ERR_VERIFY_KEY_TYPE;
    }
    if (rc == 0) {
        o = cJSON_CreateObject();
        if (cJSON_AddStringToObject(o, "agent_id", a->agent_id) == NULL ||
            cJSON_AddStringToObject(o, "sk_certificate", a->sk_cert_pem) == NULL ||
            cJSON_AddStringToObject(o, "ca_certificate", ctx->keys->ca_pem) == NULL ||
            add_pcr_selection(ctx, o) != 0 || add_privacy_key(o, ctx->keys) != 0)
            rc = DA_ERR_NOMEM;
    }
    if (rc == 0) {
        *answer = o;
        o = NULL; /* transferred */
    }
    cJSON_Delete(o);
    cJSON_Delete(root);
    return rc;
}

int srv_api_enroll_activate(struct srv_request *req, struct srv_response *resp)
{
    struct activate_req a;
    cJSON *answer = NULL;
    int rc;

    memset(&a, 0, sizeof(a));
    rc = activate_run(req, resp, &a, &answer);
    if (rc != 0) {
        atomic_fetch_add(&req->srv->metrics.enrollments_rejected, 1);
        srv_audit(req->srv, req->address, "enroll_rejected", req->param[0], rc, resp->message);
    } else {
        atomic_fetch_add(&req->srv->metrics.enrollments, 1);
        srv_audit(req->srv, req->address, "agent_enrolled", a.agent_id, 0, a.c->ek_name);
    }
    activate_req_free(&a);
    return rc != 0 ? rc : srv_respond_json(resp, 201, answer);
}

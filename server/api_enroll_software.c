/* POST /v1/enroll/software: an administrator enrolls an agent that has no
 * TPM, for load and integration tests (docs/enrollment.md, "Software
 * agents"). Refused unless the server runs with test_software_agents = yes.
 * The agent is recorded with ek_trust "software"; its reports then carry
 * that in the transcript, the policy's facts and the receipt, so nothing it
 * sends can pass for TPM evidence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "caps.h"
#include "encoding.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "policy_state.h"
#include "quote.h"
#include "token.h"
#include "picky.h"

#define SOFTWARE_HOST_MAX (16u * 1024)

/* What a software key is honest about: a restricted P-256 signer like a
 * TPM AK, but claiming neither fixedTPM nor fixedParent. */
static int check_software_ak(const struct da_tpm_public *ak)
{
    const TPMT_PUBLIC *a = da_tpm_public_area(ak);
    const TPMA_OBJECT need = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
    const TPMA_OBJECT refuse = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_DECRYPT;

    if ((a->objectAttributes & need) != need || (a->objectAttributes & refuse) != 0 ||
        a->type != TPM2_ALG_ECC || a->nameAlg != TPM2_ALG_SHA256 ||
        a->parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 ||
        a->parameters.eccDetail.symmetric.algorithm != TPM2_ALG_NULL ||
        a->parameters.eccDetail.kdf.scheme != TPM2_ALG_NULL ||
        a->parameters.eccDetail.scheme.scheme != TPM2_ALG_ECDSA ||
        a->parameters.eccDetail.scheme.details.ecdsa.hashAlg != TPM2_ALG_SHA256)
        return DA_ERR_SOFTWARE_AK;
    return 0;
}

struct software_req {
    const char *vendor;
    struct da_buf ak_pub;
    struct da_tpm_public *ak;
    char *host_json;
};

static int parse_software(const cJSON *root, struct software_req *e, struct srv_response *resp)
{
    static const char *const allowed[] = {"vendor", "ak_public", "host", NULL};
    const cJSON *host;
    const char *b64 = NULL;
    int rc = srv_json_only_keys(root, allowed, resp);

    da_buf_init(&e->ak_pub, DA_MAX_TPM_STRUCT);
    if (rc == 0)
        rc = da_json_get_string(root, "vendor", &e->vendor);
    if (rc == 0)
        rc = da_json_get_string(root, "ak_public", &b64);
    if (rc == 0)
        rc = da_base64_decode(b64, strlen(b64), DA_BASE64_STD, &e->ak_pub);
    if (rc != 0) {
        if (resp->message[0] == '\0')
            snprintf(resp->message, sizeof(resp->message),
                     "vendor and ak_public (base64 TPM2B_PUBLIC) are required");
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
    if (strlen(e->host_json) > SOFTWARE_HOST_MAX)
        return DA_ERR_TOO_LARGE;
    rc = da_tpm_public_parse(da_buf_data(&e->ak_pub), da_buf_len(&e->ak_pub), &e->ak);
    return rc == 0 ? check_software_ak(e->ak) : rc;
}

/* The agent record: its EK name is the AK's name (there is no EK), which
 * keeps it unique, and enrolling the same key twice is a conflict. */
static int record_software_agent(struct srv_ctx *ctx, struct software_req *e, char id[SRV_ID_HEX])
{
    struct srv_vendor v;
    struct srv_agent rec, *existing = NULL;
    size_t name_len = 0;
    const uint8_t *name = da_tpm_public_name(e->ak, &name_len);
    int rc;

    memset(&rec, 0, sizeof(rec));
    rc = srv_store_vendor_find(ctx->store, e->vendor, &v);
    if (rc == DA_ERR_NOT_FOUND)
        rc = DA_ERR_VENDOR_UNKNOWN;
    if (rc == 0)
        rc = da_hex_encode_to(name, name_len, rec.ak_name, sizeof(rec.ak_name));
    if (rc == 0) {
        memcpy(rec.ek_name, rec.ak_name, sizeof(rec.ek_name));
        rc = srv_store_agent_find_by_ek(ctx->store, rec.ek_name, srv_now(), &existing);
        srv_agent_free(existing);
        rc = rc == 0 ? DA_ERR_IDENTITY_CONFLICT : rc == DA_ERR_NOT_FOUND ? 0 : rc;
    }
    if (rc == 0)
        rc = srv_random_id(rec.id);
    if (rc != 0)
        return rc;
    rec.vendor_id = v.id;
    rec.ak_public = DA_UNCONST(da_buf_data(&e->ak_pub)); /* lent: the store only reads */
    rec.ak_public_len = da_buf_len(&e->ak_pub);
    rec.host_json = e->host_json;
    rec.created_at = srv_now();
    snprintf(rec.ek_trust, sizeof(rec.ek_trust), "%s", SRV_EK_TRUST_SOFTWARE);
    rc = srv_store_agent_create(ctx->store, &rec);
    if (rc == 0)
        memcpy(id, rec.id, SRV_ID_HEX);
    return rc;
}

static int software_run(struct srv_request *req, struct srv_response *resp, struct software_req *e,
                        char id[SRV_ID_HEX], cJSON **answer)
{
    struct srv_ctx *ctx = req->srv;
    struct srv_policy *p;
    cJSON *root = NULL, *o = NULL;
    int rc = ctx->cfg.test_software_agents ? 0 : DA_ERR_SOFTWARE_AGENTS_OFF;

    if (rc == 0)
        rc = srv_parse_body(req, resp, &root);
    if (rc == 0)
        rc = parse_software(root, e, resp);
    if (rc == 0)
        rc = record_software_agent(ctx, e, id);
    if (rc == 0) {
        p = srv_policy_get(ctx);
        o = cJSON_CreateObject();
        if (cJSON_AddStringToObject(o, "agent_id", id) == NULL ||
            cJSON_AddStringToObject(o, "trust", SRV_EK_TRUST_SOFTWARE) == NULL ||
            cJSON_AddStringToObject(o, "pcr_selection", srv_policy_selection(ctx, p)->text) == NULL)
            rc = DA_ERR_NOMEM;
        srv_policy_put(p);
    }
    if (rc == 0) {
        *answer = o;
        o = NULL; /* transferred */
    }
    cJSON_Delete(o);
    cJSON_Delete(root);
    return rc;
}

int srv_api_enroll_software(struct srv_request *req, struct srv_response *resp)
{
    struct software_req e;
    char id[SRV_ID_HEX] = "", actor[SRV_MAX_NAME + 8];
    cJSON *answer = NULL;
    int rc;

    memset(&e, 0, sizeof(e));
    rc = software_run(req, resp, &e, id, &answer);
    snprintf(actor, sizeof(actor), "admin:%s", req->who.label);
    if (rc != 0) {
        atomic_fetch_add(&req->srv->metrics.enrollments_rejected, 1);
        srv_audit(req->srv, actor, "enroll_rejected", "", rc, resp->message);
    } else {
        atomic_fetch_add(&req->srv->metrics.enrollments, 1);
        srv_audit(req->srv, actor, "agent_enrolled", id, 0, "software identity (test)");
    }
    da_buf_free(&e.ak_pub);
    da_tpm_public_free(e.ak);
    free(e.host_json);
    return rc != 0 ? rc : srv_respond_json(resp, 201, answer);
}

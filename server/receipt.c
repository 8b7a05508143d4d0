#include "receipt.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "caps.h"
#include "dsse.h"
#include "err.h"
#include "jcs.h"
#include "render.h"

/* A member of src copied into dst under the same name; absent stays absent. */
static int copy_member(cJSON *dst, const cJSON *src, const char *name)
{
    const cJSON *v = src != NULL ? cJSON_GetObjectItemCaseSensitive(src, name) : NULL;
    cJSON *c;

    if (v == NULL)
        return 0;
    c = cJSON_Duplicate(v, 1);
    if (c == NULL || !cJSON_AddItemToObject(dst, name, c)) {
        cJSON_Delete(c);
        return DA_ERR_NOMEM;
    }
    return 0;
}

/* "measured": what the measurements of this report established, small
 * enough to travel in every receipt and in delivery attestations: the boot
 * log's state and the measured Secure Boot variables, IMA's state and
 * whether it is active. A report without measurements gives
 * {"boot": {"log": "absent"}, "ima": {"log": "absent"}}. */
static cJSON *measured_summary(const struct srv_receipt_in *in)
{
    cJSON *m = cJSON_CreateObject(), *boot, *ima;
    const cJSON *facts =
        in->boot != NULL ? cJSON_GetObjectItemCaseSensitive(in->boot, "measured") : NULL;
    int rc = 0;

    boot = m != NULL ? cJSON_AddObjectToObject(m, "boot") : NULL;
    ima = m != NULL ? cJSON_AddObjectToObject(m, "ima") : NULL;
    if (boot == NULL || ima == NULL) {
        cJSON_Delete(m);
        return NULL;
    }
    if (in->boot != NULL)
        rc = copy_member(boot, in->boot, "log");
    else if (cJSON_AddStringToObject(boot, "log", "absent") == NULL)
        rc = DA_ERR_NOMEM;
    if (rc == 0)
        rc = copy_member(boot, facts, "secure_boot");
    if (rc == 0 && in->ima != NULL) {
        rc = copy_member(ima, in->ima, "log");
        if (rc == 0)
            rc = copy_member(ima, in->ima, "active");
    } else if (rc == 0 && cJSON_AddStringToObject(ima, "log", "absent") == NULL) {
        rc = DA_ERR_NOMEM;
    }
    if (rc != 0) {
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

static int receipt_payload(const struct srv_receipt_in *in, struct da_buf *out)
{
    cJSON *p = cJSON_CreateObject(), *controls, *measured;
    char issued[32], until[32];
    int rc = DA_ERR_NOMEM;

    srv_time_rfc3339(in->issued_at, issued);
    srv_time_rfc3339(in->valid_until, until);
    controls = in->controls != NULL ? cJSON_Duplicate(in->controls, 1) : cJSON_CreateObject();
    if (p == NULL || controls == NULL)
        goto out;
    if (!cJSON_AddItemToObject(p, "controls", controls)) {
        cJSON_Delete(controls);
        goto out;
    }
    measured = measured_summary(in);
    if (measured == NULL || !cJSON_AddItemToObject(p, "measured", measured)) {
        cJSON_Delete(measured);
        goto out;
    }
    if ((in->vendor != NULL ? cJSON_AddStringToObject(p, "vendor", in->vendor)
                            : cJSON_AddNullToObject(p, "vendor")) == NULL)
        goto out;
    if (cJSON_AddStringToObject(p, "_type", "https://devattest.dev/receipt/v1") == NULL ||
        cJSON_AddStringToObject(p, "agent_id", in->agent_id) == NULL ||
        cJSON_AddStringToObject(p, "report_id", in->report_id) == NULL ||
        cJSON_AddStringToObject(p, "evidence_sha256", in->evidence_sha256) == NULL ||
        cJSON_AddStringToObject(p, "policy_sha256", in->policy_sha256) == NULL ||
        cJSON_AddBoolToObject(p, "compliant", in->compliant) == NULL ||
        cJSON_AddStringToObject(p, "issued_at", issued) == NULL ||
        cJSON_AddStringToObject(p, "valid_until", until) == NULL)
        goto out;
    if (in->trust != NULL && cJSON_AddStringToObject(p, "trust", in->trust) == NULL)
        goto out;
    rc = da_jcs_serialize(p, out);
out:
    cJSON_Delete(p);
    return rc;
}

int srv_receipt_make(const struct srv_ctx *ctx, const struct srv_receipt_in *in, char **out)
{
    struct da_dsse_envelope *env = NULL;
    struct da_buf payload, text;
    int rc;

    *out = NULL;
    da_buf_init(&payload, DA_MAX_DSSE_PAYLOAD);
    da_buf_init(&text, DA_MAX_DSSE_ENVELOPE);
    rc = receipt_payload(in, &payload);
    if (rc == 0)
        rc = da_dsse_envelope_new(SRV_RECEIPT_TYPE, da_buf_data(&payload), da_buf_len(&payload),
                                  &env);
    if (rc == 0)
        rc = da_dsse_sign_ecdsa_p256(ctx->keys->receipt_key, ctx->receipt_keyid, env);
    if (rc == 0)
        rc = da_dsse_envelope_encode(env, &text);
    if (rc == 0) {
        *out = (char *)da_buf_take(&text, NULL);
        if (*out == NULL)
            rc = DA_ERR_NOMEM;
    }
    da_dsse_envelope_free(env);
    da_buf_free(&payload);
    da_buf_free(&text);
    return rc;
}

#include "render.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "json.h"

void srv_time_rfc3339(int64_t t, char out[32])
{
    struct tm tm;
    time_t tt = (time_t)t;

    out[0] = '\0';
    if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
        return;
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Stored JSON was validated when it was written; parse it back as a tree. */
static int add_stored_json(cJSON *o, const char *key, const char *text)
{
    cJSON *v = cJSON_Parse(text);

    if (v == NULL)
        return DA_ERR_STORE;
    if (!cJSON_AddItemToObject(o, key, v)) {
        cJSON_Delete(v);
        return DA_ERR_NOMEM;
    }
    return 0;
}

static int add_time(cJSON *o, const char *key, int64_t t)
{
    char ts[32];

    srv_time_rfc3339(t, ts);
    if (t <= 0)
        return cJSON_AddNullToObject(o, key) != NULL ? 0 : DA_ERR_NOMEM;
    return cJSON_AddStringToObject(o, key, ts) != NULL ? 0 : DA_ERR_NOMEM;
}

/* A 64-bit value as a decimal string: a JSON number is a double, exact
 * only up to 2^53. */
static cJSON *add_u64(cJSON *o, const char *key, uint64_t v)
{
    char text[24];

    snprintf(text, sizeof(text), "%" PRIu64, v);
    return cJSON_AddStringToObject(o, key, text);
}

/* "" (nothing recorded) as null */
static cJSON *add_text_or_null(cJSON *o, const char *key, const char *text)
{
    return text[0] != '\0' ? cJSON_AddStringToObject(o, key, text) : cJSON_AddNullToObject(o, key);
}

int srv_render_agent(const struct srv_agent *a, cJSON **out)
{
    cJSON *o = cJSON_CreateObject(), *tpm;
    int rc = DA_ERR_NOMEM;

    *out = NULL;
    if (o == NULL)
        return DA_ERR_NOMEM;
    if (cJSON_AddStringToObject(o, "id", a->id) == NULL ||
        cJSON_AddStringToObject(o, "vendor", a->vendor) == NULL ||
        cJSON_AddStringToObject(o, "status", a->status) == NULL ||
        cJSON_AddBoolToObject(o, "revoked", a->revoked) == NULL ||
        cJSON_AddStringToObject(o, "ek_name", a->ek_name) == NULL ||
        cJSON_AddStringToObject(o, "ak_name", a->ak_name) == NULL ||
        cJSON_AddStringToObject(o, "ek_trust",
                                a->ek_trust[0] != '\0' ? a->ek_trust : SRV_EK_TRUST_CHAIN) == NULL)
        goto out;
    if (add_text_or_null(o, "ek_issuer", a->ek_cert.issuer) == NULL ||
        add_text_or_null(o, "ek_serial", a->ek_cert.serial) == NULL ||
        add_text_or_null(o, "ek_root", a->ek_cert.root) == NULL)
        goto out;
    if ((rc = add_time(o, "enrolled_at", a->created_at)) != 0 ||
        (rc = add_time(o, "last_verified_at", a->last_verified_at)) != 0)
        goto out;
    rc = DA_ERR_NOMEM;
    if ((a->last_report_id[0] != '\0'
             ? cJSON_AddStringToObject(o, "last_report_id", a->last_report_id)
             : cJSON_AddNullToObject(o, "last_report_id")) == NULL)
        goto out;
    tpm = cJSON_AddObjectToObject(o, "tpm");
    if (tpm == NULL || cJSON_AddNumberToObject(tpm, "reset_count", a->reset_count) == NULL ||
        cJSON_AddNumberToObject(tpm, "restart_count", a->restart_count) == NULL ||
        add_u64(tpm, "clock", a->clock) == NULL ||
        add_u64(tpm, "firmware_version", a->firmware_version) == NULL)
        goto out;
    rc = add_stored_json(o, "host", a->host_json);
    if (rc == 0) {
        *out = o;
        o = NULL; /* transferred */
    }
out:
    cJSON_Delete(o);
    return rc;
}

int srv_render_report(const struct srv_report *r, bool full, cJSON **out)
{
    cJSON *o = cJSON_CreateObject();
    int rc = DA_ERR_NOMEM;

    *out = NULL;
    if (o == NULL)
        return DA_ERR_NOMEM;
    if (cJSON_AddStringToObject(o, "id", r->id) == NULL ||
        cJSON_AddStringToObject(o, "agent_id", r->agent_id) == NULL ||
        cJSON_AddStringToObject(o, "evidence_sha256", r->evidence_sha256) == NULL ||
        cJSON_AddBoolToObject(o, "compliant", r->compliant) == NULL)
        goto out;
    if ((rc = add_time(o, "received_at", r->received_at)) != 0)
        goto out;
    rc = add_stored_json(o, "verdict", r->verdict_json);
    /* after the retention setting removed them: when, instead of them */
    if (rc == 0 && full && r->pruned_at != 0)
        rc = add_time(o, "evidence_pruned_at", r->pruned_at);
    if (rc == 0 && full && r->pruned_at == 0)
        rc = add_stored_json(o, "evidence", r->evidence_json);
    if (rc == 0 && full && r->pruned_at == 0)
        rc = add_stored_json(o, "transcript", r->transcript_json);
    if (rc == 0 && full)
        rc = add_stored_json(o, "receipt", r->receipt_json);
    if (rc == 0) {
        *out = o;
        o = NULL; /* transferred */
    }
out:
    cJSON_Delete(o);
    return rc;
}

int srv_render_enrollment(const struct srv_enrollment *e, cJSON **out)
{
    cJSON *o = cJSON_CreateObject();
    int rc = DA_ERR_NOMEM;

    *out = NULL;
    if (o == NULL)
        return rc;
    if (cJSON_AddStringToObject(o, "id", e->id) == NULL ||
        cJSON_AddStringToObject(o, "vendor", e->vendor) == NULL ||
        cJSON_AddStringToObject(o, "state", e->state) == NULL ||
        cJSON_AddStringToObject(o, "ek_public_sha256", e->ek_sha256) == NULL ||
        cJSON_AddStringToObject(o, "ek_name", e->ek_name) == NULL ||
        cJSON_AddStringToObject(o, "ak_name", e->ak_name) == NULL)
        goto out;
    if ((rc = add_time(o, "created_at", e->created_at)) != 0 ||
        (rc = add_time(o, "decided_at", e->decided_at)) != 0)
        goto out;
    rc = DA_ERR_NOMEM;
    if ((e->decided_by[0] != '\0' ? cJSON_AddStringToObject(o, "decided_by", e->decided_by)
                                  : cJSON_AddNullToObject(o, "decided_by")) == NULL)
        goto out;
    rc = add_stored_json(o, "host", e->host_json);
    if (rc != 0)
        goto out;
    *out = o;
    o = NULL; /* transferred */
out:
    cJSON_Delete(o);
    return rc;
}

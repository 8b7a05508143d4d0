#include "report_parse.h"

#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "encoding.h"
#include "err.h"
#include "jcs.h"
#include "json.h"

#define MAX_NONCE_B64  256
#define MAX_INVENTORY  (4u * 1024 * 1024)
#define MAX_PCR_VALUES (24u * 64u)

static bool only_keys(const cJSON *obj, const char *const *allowed)
{
    const cJSON *m;

    cJSON_ArrayForEach(m, obj)
    {
        const char *const *a;

        for (a = allowed; *a != NULL && strcmp(*a, m->string) != 0; a++)
            ;
        if (*a == NULL)
            return false;
    }
    return true;
}

static int b64_member(const cJSON *obj, const char *key, struct da_buf *out)
{
    const char *s = NULL;
    int rc = da_json_get_string(obj, key, &s);

    if (rc != 0)
        return rc;
    return da_base64_decode(s, strlen(s), DA_BASE64_STD, out);
}

/* evidence.patches.inventory_sha256, when present, must be 64 lower hex. */
static int inventory_digest(const cJSON *evidence, char out[DA_SHA256_HEX_SIZE])
{
    const cJSON *patches = cJSON_GetObjectItemCaseSensitive(evidence, "patches");
    const cJSON *d;

    out[0] = '\0';
    if (!cJSON_IsObject(patches))
        return 0;
    d = cJSON_GetObjectItemCaseSensitive(patches, "inventory_sha256");
    if (d == NULL || cJSON_IsNull(d))
        return 0;
    if (!cJSON_IsString(d) || !da_hex_is_lower(d->valuestring, strlen(d->valuestring)) ||
        strlen(d->valuestring) != 2 * DA_SHA256_LEN)
        return DA_ERR_JSON_TYPE;
    memcpy(out, d->valuestring, DA_SHA256_HEX_SIZE);
    return 0;
}

/* "ima": {"from": entries the increment skips, "entries": base64}. */
static int ima_member(struct srv_report_in *r, const char **message)
{
    static const char *const keys[] = {"from", "entries", NULL};
    const cJSON *ima = cJSON_GetObjectItemCaseSensitive(r->root, "ima");
    int64_t from = -1;

    if (ima == NULL)
        return 0;
    *message = "ima must be {\"from\": entries skipped, \"entries\": canonical base64}";
    if (!cJSON_IsObject(ima) || !only_keys(ima, keys) ||
        da_json_get_int64(ima, "from", &from) != 0 || from < 0 ||
        (uint64_t)from > SRV_IMA_MAX_FROM || b64_member(ima, "entries", &r->ima_log) != 0)
        return DA_ERR_INVALID_ARG;
    r->ima_from = (uint64_t)from;
    r->has_ima = 1;
    return 0;
}

/* The evidence's RFC 8785 text. An agent sends it canonical already, so
 * the bytes as they arrived are checked to be exactly what the writer would
 * make of the tree (da_jcs_is_canonical) and taken as they are; anything
 * else is canonicalized from the tree. Both give the same bytes. */
static int evidence_canonical(struct srv_report_in *r, const char *body, size_t len)
{
    size_t off = 0, n = 0;

    /* the span is the member's whole value: a JSON value ends by itself */
    if (da_json_member_start(body, len, "evidence", &off) == 0)
        n = da_jcs_canonical_span(body + off, len - off);
    if (n != 0 && n <= da_buf_cap(&r->evidence_canonical))
        return da_buf_append(&r->evidence_canonical, body + off, n);
    return da_jcs_serialize(r->evidence, &r->evidence_canonical);
}

static int parse_tree(struct srv_report_in *r, const char *body, size_t len, const char **message)
{
    static const char *const top[] = {"nonce",     "evidence", "quote", "inventory",
                                      "event_log", "ima",      NULL};
    static const char *const quote_keys[] = {"attest", "signature", "pcr_values", NULL};
    const cJSON *quote = NULL, *inv, *schema;
    int rc;

    if (!cJSON_IsObject(r->root) || !only_keys(r->root, top)) {
        *message = "report must be an object with nonce, evidence, quote";
        return DA_ERR_INVALID_ARG;
    }
    rc = da_json_get_object(r->root, "evidence", &r->evidence);
    if (rc == 0)
        rc = da_json_get_object(r->root, "quote", &quote);
    if (rc != 0) {
        *message = "evidence and quote must be objects";
        return rc;
    }
    if (!only_keys(quote, quote_keys)) {
        *message = "quote has an unknown member";
        return DA_ERR_INVALID_ARG;
    }
    schema = cJSON_GetObjectItemCaseSensitive(r->evidence, "schema");
    if (!cJSON_IsString(schema) || strcmp(schema->valuestring, SRV_EVIDENCE_SCHEMA) != 0) {
        *message = "evidence.schema must be " SRV_EVIDENCE_SCHEMA;
        return DA_ERR_INVALID_ARG;
    }
    *message = "nonce and quote members must be canonical base64";
    if ((rc = b64_member(r->root, "nonce", &r->nonce)) != 0 ||
        (rc = b64_member(quote, "attest", &r->attest)) != 0 ||
        (rc = b64_member(quote, "signature", &r->signature)) != 0 ||
        (rc = b64_member(quote, "pcr_values", &r->pcr_values)) != 0)
        return rc;
    inv = cJSON_GetObjectItemCaseSensitive(r->root, "inventory");
    if (inv != NULL) {
        if (!cJSON_IsString(inv) || strlen(inv->valuestring) > MAX_INVENTORY) {
            *message = "inventory must be a string";
            return DA_ERR_JSON_TYPE;
        }
        r->inventory = inv->valuestring;
        r->inventory_len = strlen(inv->valuestring);
    }
    if (cJSON_GetObjectItemCaseSensitive(r->root, "event_log") != NULL) {
        *message = "event_log must be canonical base64";
        if ((rc = b64_member(r->root, "event_log", &r->event_log)) != 0)
            return rc;
        r->has_event_log = da_buf_len(&r->event_log) > 0;
    }
    if ((rc = ima_member(r, message)) != 0)
        return rc;
    *message = "evidence.patches.inventory_sha256 must be 64 lower-case hex digits";
    rc = inventory_digest(r->evidence, r->inventory_sha256);
    if (rc != 0)
        return rc;
    *message = "evidence has no canonical form within its cap";
    rc = evidence_canonical(r, body, len);
    if (rc == 0)
        rc = da_sha256(da_buf_data(&r->evidence_canonical), da_buf_len(&r->evidence_canonical),
                       r->evidence_digest);
    if (rc == 0)
        rc = da_hex_encode_to(r->evidence_digest, DA_SHA256_LEN, r->evidence_sha256,
                              sizeof(r->evidence_sha256));
    if (rc == 0)
        *message = NULL;
    return rc;
}

int srv_report_parse(const char *body, size_t len, struct srv_report_in **out, const char **message)
{
    struct srv_report_in *r;
    const char *msg = NULL;
    int rc;

    *out = NULL;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return DA_ERR_NOMEM;
    da_buf_init(&r->nonce, MAX_NONCE_B64);
    da_buf_init(&r->attest, DA_MAX_TPM_STRUCT);
    da_buf_init(&r->signature, DA_MAX_TPM_STRUCT);
    da_buf_init(&r->pcr_values, MAX_PCR_VALUES);
    da_buf_init(&r->evidence_canonical, DA_MAX_EVIDENCE);
    da_buf_init(&r->event_log, DA_MAX_EVENT_LOG);
    da_buf_init(&r->ima_log, DA_MAX_IMA_INCREMENT);
    /* a read-only tree in one block: one allocation, one free */
    rc = da_json_parse_opts(body, len, DA_MAX_REPORT, DA_JSON_COMPACT, &r->root, NULL);
    if (rc != 0)
        msg = "body is not acceptable JSON";
    else
        rc = parse_tree(r, body, len, &msg);
    if (message != NULL)
        *message = msg;
    if (rc != 0) {
        srv_report_in_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void srv_report_in_free(struct srv_report_in *r)
{
    if (r == NULL)
        return;
    cJSON_Delete(r->root);
    da_buf_free(&r->nonce);
    da_buf_free(&r->attest);
    da_buf_free(&r->signature);
    da_buf_free(&r->pcr_values);
    da_buf_free(&r->evidence_canonical);
    da_buf_free(&r->event_log);
    da_buf_free(&r->ima_log);
    free(r);
}

/* Realistic evidence for simulated agents: a document captured from the
 * collectors on a real machine (tests/data/loadgen/README.md), varied per
 * agent (host names and ids, which upgrades are still pending) and over
 * time (upgrades installed or appearing, automatic updates switched off or
 * on). Each agent keeps its canonical text (RFC 8785); a report only
 * stamps collected_at into it, so a report costs one SHA-256 of the text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caps.h"
#include "digest.h"
#include "err.h"
#include "file.h"
#include "jcs.h"
#include "json.h"
#include "loadgen.h"

#define STAMP_KEY "\"collected_at\":\""
#define STAMP_LEN 20 /* 2026-12-06T08:00:00Z */

struct lg_template {
    cJSON *root;
    size_t canonical_len;
    size_t pending;
};

struct lg_agent_doc {
    const struct lg_template *t;
    unsigned n;
    char hostname[32];
    char machine_id[33];
    char boot_id[37];
    unsigned char *pending; /* per template entry: 1 while still pending */
    bool updates_flipped;
    unsigned changes;
    char *text; /* canonical, NUL-terminated */
    size_t len;
    size_t stamp_at;
};

/* splitmix64: a small deterministic generator for the variation. */
static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Exactly one top-level collected_at: the text's only occurrence. */
static int find_stamp(const char *s, size_t *at)
{
    const char *p = s != NULL ? strstr(s, STAMP_KEY) : NULL;

    if (p == NULL || strstr(p + 1, STAMP_KEY) != NULL ||
        strlen(p + strlen(STAMP_KEY)) < STAMP_LEN + 1 || p[strlen(STAMP_KEY) + STAMP_LEN] != '"')
        return DA_ERR_LOADGEN_DOCUMENT;
    *at = (size_t)(p - s) + strlen(STAMP_KEY);
    return 0;
}

static int check_template(const cJSON *root, const char **why)
{
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(root, "schema");
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(root, "collected_at");
    const cJSON *patches = cJSON_GetObjectItemCaseSensitive(root, "patches");
    const cJSON *pending = cJSON_GetObjectItemCaseSensitive(patches, "pending");

    if (!cJSON_IsString(schema) || strcmp(schema->valuestring, "devattest.evidence/v1") != 0)
        *why = "schema is not devattest.evidence/v1";
    else if (!cJSON_IsString(at) || strlen(at->valuestring) != STAMP_LEN)
        *why = "collected_at is not an RFC 3339 UTC time with seconds";
    else if (!cJSON_IsArray(pending))
        *why = "patches.pending is not an array";
    else
        return 0;
    return DA_ERR_LOADGEN_DOCUMENT;
}

int lg_template_load(const char *path, struct lg_template **out, const char **why)
{
    struct lg_template *t = NULL;
    struct da_buf text, canon;
    size_t at = 0;
    int rc;

    *out = NULL;
    *why = NULL;
    da_buf_init(&canon, DA_MAX_EVIDENCE);
    rc = da_file_read(path, DA_MAX_EVIDENCE, &text);
    if (rc == 0 && (t = calloc(1, sizeof(*t))) == NULL)
        rc = DA_ERR_NOMEM;
    if (rc == 0)
        rc = da_json_parse(da_buf_str(&text), da_buf_len(&text), DA_MAX_EVIDENCE, &t->root);
    if (rc == 0)
        rc = check_template(t->root, why);
    if (rc == 0)
        rc = da_jcs_serialize(t->root, &canon);
    if (rc == 0 && find_stamp(da_buf_str(&canon), &at) != 0) {
        *why = "collected_at must occur once in the document";
        rc = DA_ERR_LOADGEN_DOCUMENT;
    }
    if (rc == 0) {
        t->canonical_len = da_buf_len(&canon);
        t->pending = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(t->root, "patches"), "pending"));
        *out = t;
        t = NULL; /* transferred */
    }
    lg_template_free(t);
    da_buf_free(&text);
    da_buf_free(&canon);
    return rc;
}

void lg_template_free(struct lg_template *t)
{
    if (t == NULL)
        return;
    cJSON_Delete(t->root);
    free(t);
}

size_t lg_template_size(const struct lg_template *t)
{
    return t->canonical_len;
}

size_t lg_template_pending(const struct lg_template *t)
{
    return t->pending;
}

static int set_string(cJSON *obj, const char *key, const char *value)
{
    if (cJSON_GetObjectItemCaseSensitive(obj, key) == NULL)
        return 0; /* the captured document has no such field: nothing to vary */
    return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, cJSON_CreateString(value))
               ? 0
               : DA_ERR_NOMEM;
}

static int set_number(cJSON *obj, const char *key, double value)
{
    if (cJSON_GetObjectItemCaseSensitive(obj, key) == NULL)
        return 0;
    return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, cJSON_CreateNumber(value))
               ? 0
               : DA_ERR_NOMEM;
}

/* The pending list as this agent has it, and the counts that go with it. */
static int apply_pending(const struct lg_agent_doc *d, cJSON *patches)
{
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(patches, "pending");
    size_t i = d->t->pending, left = 0, security = 0;
    const cJSON *e;

    while (i-- > 0) {
        if (!d->pending[i])
            cJSON_DeleteItemFromArray(arr, (int)i);
    }
    cJSON_ArrayForEach(e, arr)
    {
        left++;
        security += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "security")) ? 1 : 0;
    }
    if (set_number(patches, "pending_count", (double)left) != 0)
        return DA_ERR_NOMEM;
    return set_number(patches, "security_pending_count", (double)security);
}

static int apply_updates(const struct lg_agent_doc *d, cJSON *patches)
{
    cJSON *au = cJSON_GetObjectItemCaseSensitive(patches, "auto_updates");
    cJSON *en = cJSON_GetObjectItemCaseSensitive(au, "enabled");

    if (!d->updates_flipped || !cJSON_IsBool(en))
        return 0;
    return cJSON_ReplaceItemInObjectCaseSensitive(au, "enabled",
                                                  cJSON_CreateBool(!cJSON_IsTrue(en)))
               ? 0
               : DA_ERR_NOMEM;
}

static int doc_build(struct lg_agent_doc *d)
{
    cJSON *root = cJSON_Duplicate(d->t->root, 1), *host, *patches;
    struct da_buf canon;
    int rc = root != NULL ? 0 : DA_ERR_NOMEM;

    host = cJSON_GetObjectItemCaseSensitive(root, "host");
    patches = cJSON_GetObjectItemCaseSensitive(root, "patches");
    if (rc == 0)
        rc = set_string(host, "hostname", d->hostname);
    if (rc == 0)
        rc = set_string(host, "machine_id", d->machine_id);
    if (rc == 0)
        rc = set_string(host, "boot_id", d->boot_id);
    if (rc == 0)
        rc = apply_pending(d, patches);
    if (rc == 0)
        rc = apply_updates(d, patches);
    da_buf_init(&canon, DA_MAX_EVIDENCE);
    if (rc == 0)
        rc = da_jcs_serialize(root, &canon);
    if (rc == 0)
        rc = find_stamp(da_buf_str(&canon), &d->stamp_at);
    if (rc == 0) {
        free(d->text);
        d->text = (char *)da_buf_take(&canon, &d->len);
        rc = d->text != NULL ? 0 : DA_ERR_NOMEM;
    }
    da_buf_free(&canon);
    cJSON_Delete(root);
    return rc;
}

int lg_agent_doc_new(const struct lg_template *t, unsigned n, uint64_t seed,
                     struct lg_agent_doc **out)
{
    struct lg_agent_doc *d = calloc(1, sizeof(*d));
    uint64_t s = seed ^ ((uint64_t)n * 0x100000001b3ull), a, b;
    size_t i;
    int rc;

    *out = NULL;
    if (d == NULL || (d->pending = malloc(t->pending + 1)) == NULL) {
        free(d);
        return DA_ERR_NOMEM;
    }
    d->t = t;
    d->n = n;
    a = mix(&s);
    b = mix(&s);
    snprintf(d->hostname, sizeof(d->hostname), "builder-%05u", n);
    snprintf(d->machine_id, sizeof(d->machine_id), "%016llx%016llx", (unsigned long long)a,
             (unsigned long long)b);
    snprintf(d->boot_id, sizeof(d->boot_id), "%08llx-%04llx-4%03llx-8%03llx-%012llx",
             (unsigned long long)(a >> 32), (unsigned long long)(a >> 16) & 0xffff,
             (unsigned long long)a & 0xfff, (unsigned long long)(b >> 52),
             (unsigned long long)b & 0xffffffffffffull);
    /* machines of one fleet differ a little: each has installed about one
     * in ten of the upgrades the captured machine has pending */
    for (i = 0; i < t->pending; i++)
        d->pending[i] = (mix(&s) % 10) != 0;
    rc = doc_build(d);
    if (rc != 0) {
        lg_agent_doc_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

void lg_agent_doc_free(struct lg_agent_doc *d)
{
    if (d == NULL)
        return;
    free(d->text);
    free(d->pending);
    free(d);
}

int lg_agent_doc_change(struct lg_agent_doc *d, uint64_t r)
{
    if ((r & 1) == 0 && d->t->pending > 0) {
        size_t i = (size_t)((r >> 1) % d->t->pending);
        d->pending[i] = !d->pending[i];
    } else {
        d->updates_flipped = !d->updates_flipped;
    }
    d->changes++;
    return doc_build(d);
}

int lg_agent_doc_stamp(struct lg_agent_doc *d, int64_t now, const char **text, size_t *len,
                       unsigned char digest[32])
{
    char stamp[STAMP_LEN + 1];
    time_t tt = (time_t)now;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL ||
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm) != STAMP_LEN)
        return DA_ERR_INTERNAL;
    memcpy(d->text + d->stamp_at, stamp, STAMP_LEN);
    *text = d->text;
    *len = d->len;
    return da_sha256(*text, *len, digest);
}

unsigned lg_agent_doc_changes(const struct lg_agent_doc *d)
{
    return d->changes;
}

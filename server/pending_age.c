/* The server's age of pending upgrades (see pending_age.h). */
#include "pending_age.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "err.h"
#include "render.h"
#include "picky.h"

#define SRV_PENDING_MAX       65536 /* entries of one report's pending list */
#define SRV_PENDING_FIELD_MAX 1024  /* name, arch or version */

static void gone_free(struct srv_pending_set *set)
{
    for (size_t i = 0; i < set->n_gone; i++) {
        free(DA_UNCONST(set->gone[i].name));
        free(DA_UNCONST(set->gone[i].arch));
        free(DA_UNCONST(set->gone[i].candidate));
    }
    free(set->gone);
    set->gone = NULL;
    set->n_gone = set->gone_cap = 0;
}

static void set_unknown(struct srv_pending_set *set, const char *reason, const char *detail)
{
    free(set->v);
    free(set->security);
    free(set->fresh);
    free(set->back);
    gone_free(set);
    set->v = NULL;
    set->security = NULL;
    set->fresh = NULL;
    set->back = NULL;
    set->n = set->n_fresh = set->n_back = 0;
    snprintf(set->unknown, sizeof(set->unknown), "%s", reason);
    snprintf(set->detail, sizeof(set->detail), "%s", detail);
}

static const char *field(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));

    return s != NULL && s[0] != '\0' && strlen(s) < SRV_PENDING_FIELD_MAX ? s : NULL;
}

/* A recorded upgrade the report's list leaves out: copied, to be marked. */
static int left_out(const struct srv_pending_seen *row, void *ctx)
{
    struct srv_pending_set *set = ctx;
    struct srv_pending_seen *e;

    if (set->n_gone == set->gone_cap) {
        size_t cap = set->gone_cap != 0 ? 2 * set->gone_cap : 16;
        struct srv_pending_seen *v = realloc(set->gone, cap * sizeof(*v));

        if (v == NULL)
            return DA_ERR_NOMEM;
        set->gone = v;
        set->gone_cap = cap;
    }
    e = &set->gone[set->n_gone];
    memset(e, 0, sizeof(*e));
    e->name = strdup(row->name);
    e->arch = strdup(row->arch);
    e->candidate = strdup(row->candidate);
    e->first_seen = row->first_seen;
    set->n_gone++;
    return e->name != NULL && e->arch != NULL && e->candidate != NULL ? 0 : DA_ERR_NOMEM;
}

int srv_pending_load(struct srv_store *s, const char *agent_id, const cJSON *evidence, int64_t now,
                     struct srv_pending_set *set)
{
    const cJSON *patches = cJSON_GetObjectItemCaseSensitive(evidence, "patches");
    const cJSON *pending = cJSON_GetObjectItemCaseSensitive(patches, "pending"), *it;
    size_t n, i = 0;
    int rc;

    memset(set, 0, sizeof(*set));
    if (!cJSON_IsArray(pending)) {
        const char *why =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pending, "unknown"));
        const char *detail =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pending, "detail"));

        set_unknown(set, why != NULL ? why : "not_present",
                    why != NULL ? (detail != NULL ? detail : "")
                                : "the evidence has no patches.pending list");
        return 0;
    }
    n = (size_t)cJSON_GetArraySize(pending);
    if (n > SRV_PENDING_MAX) {
        set_unknown(set, "limit", "patches.pending has more entries than the server keeps");
        return 0;
    }
    set->v = calloc(n != 0 ? n : 1, sizeof(*set->v));
    set->fresh = calloc(n != 0 ? n : 1, sizeof(*set->fresh));
    set->back = calloc(n != 0 ? n : 1, sizeof(*set->back));
    set->security = calloc(n != 0 ? n : 1, 1);
    if (set->v == NULL || set->fresh == NULL || set->back == NULL || set->security == NULL)
        return DA_ERR_NOMEM;
    cJSON_ArrayForEach(it, pending)
    {
        const cJSON *sec = cJSON_GetObjectItemCaseSensitive(it, "security");
        struct srv_pending_seen *p = &set->v[i];

        p->name = field(it, "name");
        p->arch = field(it, "arch");
        p->candidate = field(it, "candidate");
        if (p->name == NULL || p->arch == NULL || p->candidate == NULL || !cJSON_IsBool(sec)) {
            set_unknown(set, "parse_error",
                        "a patches.pending entry lacks name, arch, candidate or security");
            return 0;
        }
        set->security[i++] = cJSON_IsTrue(sec) ? 1 : 0;
    }
    set->n = i;
    rc = srv_store_pending_seen_read(s, agent_id, set->v, set->n, left_out, set);
    for (i = 0; rc == 0 && i < set->n; i++) {
        if (set->v[i].gone_at != 0)
            set->back[set->n_back++] = set->v[i];
        if (set->v[i].first_seen == 0) {
            set->v[i].first_seen = now;
            set->fresh[set->n_fresh++] = set->v[i];
        } else if (set->v[i].first_seen > now) {
            set->v[i].first_seen = now; /* recorded by a clock now behind */
        }
    }
    return rc;
}

static int add_entry(cJSON *arr, const struct srv_pending_seen *p, int security, int64_t now)
{
    cJSON *o = cJSON_CreateObject();
    char when[32];

    if (o == NULL || !cJSON_AddItemToArray(arr, o))
        return DA_ERR_NOMEM;
    srv_time_rfc3339(p->first_seen, when);
    if (cJSON_AddStringToObject(o, "name", p->name) == NULL ||
        cJSON_AddStringToObject(o, "arch", p->arch) == NULL ||
        cJSON_AddStringToObject(o, "candidate", p->candidate) == NULL ||
        cJSON_AddBoolToObject(o, "security", security) == NULL ||
        cJSON_AddStringToObject(o, "first_seen", when) == NULL ||
        cJSON_AddNumberToObject(o, "age_s", (double)(now - p->first_seen)) == NULL)
        return DA_ERR_NOMEM;
    return 0;
}

int srv_pending_facts(const struct srv_pending_set *set, int64_t now, cJSON **out)
{
    cJSON *f;
    size_t i;
    int rc = 0;

    *out = NULL;
    if (set->unknown[0] != '\0') {
        f = cJSON_CreateObject();
        if (f == NULL || cJSON_AddStringToObject(f, "unknown", set->unknown) == NULL ||
            cJSON_AddStringToObject(f, "detail", set->detail) == NULL) {
            cJSON_Delete(f);
            return DA_ERR_NOMEM;
        }
        *out = f;
        return 0;
    }
    f = cJSON_CreateArray();
    if (f == NULL)
        return DA_ERR_NOMEM;
    for (i = 0; rc == 0 && i < set->n; i++)
        rc = add_entry(f, &set->v[i], set->security[i], now);
    if (rc != 0) {
        cJSON_Delete(f);
        return rc;
    }
    *out = f;
    return 0;
}

void srv_pending_set_free(struct srv_pending_set *set)
{
    if (set == NULL)
        return;
    free(set->v);
    free(set->security);
    free(set->fresh);
    free(set->back);
    gone_free(set);
    memset(set, 0, sizeof(*set));
}

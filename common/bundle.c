#include "bundle.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caps.h"
#include "err.h"
#include "json.h"

static void entry_clear(struct da_bundle_entry *e)
{
    da_dsse_envelope_free(e->env);
    da_intoto_statement_free(e->st);
    cJSON_Delete(e->root);
}

void da_bundle_free(struct da_bundle *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++)
        entry_clear(&b->e[i]);
    free(b->e);
    free(b);
}

/* The signature entry's certificate, chain and timestamp. */
static int entry_signer(struct da_bundle_entry *e)
{
    const cJSON *sigs = cJSON_GetObjectItemCaseSensitive(e->root, "signatures");
    const cJSON *s0 = cJSON_GetArrayItem(sigs, 0), *v, *c;

    v = cJSON_GetObjectItemCaseSensitive(s0, "certificate");
    if (!cJSON_IsString(v))
        return DA_ERR_BUNDLE_FORMAT;
    e->certificate = v->valuestring;
    v = cJSON_GetObjectItemCaseSensitive(s0, "chain");
    if (v != NULL) {
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > 8)
            return DA_ERR_BUNDLE_FORMAT;
        cJSON_ArrayForEach(c, v)
        {
            if (!cJSON_IsString(c))
                return DA_ERR_BUNDLE_FORMAT;
        }
        e->chain = v;
    }
    v = cJSON_GetObjectItemCaseSensitive(s0, "timestamp");
    if (v != NULL) {
        if (!cJSON_IsString(v))
            return DA_ERR_BUNDLE_FORMAT;
        e->timestamp = v->valuestring;
    }
    return 0;
}

static int entry_parse(struct da_bundle_entry *e, const char *text, size_t len)
{
    int rc = da_json_parse(text, len, DA_MAX_DSSE_ENVELOPE, &e->root);

    if (rc == 0 && !cJSON_IsObject(e->root))
        rc = DA_ERR_BUNDLE_FORMAT;
    if (rc == 0)
        rc = da_dsse_envelope_from_json(e->root, &e->env);
    if (rc == 0 && strcmp(e->env->payload_type, DA_INTOTO_PAYLOAD_TYPE) != 0)
        rc = DA_ERR_BUNDLE_FORMAT;
    if (rc == 0)
        rc = da_sha256(e->env->payload, e->env->payload_len, e->payload_sha256);
    if (rc == 0)
        rc = da_intoto_statement_parse(e->env->payload, e->env->payload_len, &e->st);
    if (rc == 0)
        rc = entry_signer(e);
    return rc;
}

int da_bundle_parse(const char *text, size_t len, struct da_bundle **out)
{
    struct da_bundle *b;
    size_t start = 0, lines = 0;

    *out = NULL;
    if (len > DA_MAX_BUNDLE)
        return DA_ERR_TOO_LARGE;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    if (len > 0 && text[len - 1] != '\n')
        lines++;
    if (lines > DA_MAX_BUNDLE_LINES)
        return DA_ERR_TOO_LARGE;
    b = calloc(1, sizeof(*b));
    if (b == NULL || (lines > 0 && (b->e = calloc(lines, sizeof(*b->e))) == NULL)) {
        free(b);
        return DA_ERR_NOMEM;
    }
    while (start < len) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        struct da_bundle_entry *e = &b->e[b->n];

        e->line = b->n + 1;
        e->parse_rc = end - start > DA_MAX_DSSE_ENVELOPE
                          ? DA_ERR_TOO_LARGE
                          : entry_parse(e, text + start, end - start);
        b->n++;
        start = end + 1;
    }
    *out = b;
    return 0;
}

int da_bundle_kinds_parse(const char *text, unsigned *out)
{
    static const struct {
        const char *name;
        unsigned bit;
    } kinds[] = {{"sbom", DA_BUNDLE_SBOM},
                 {"tests", DA_BUNDLE_TESTS},
                 {"scan", DA_BUNDLE_SCAN},
                 {"provenance", DA_BUNDLE_PROVENANCE}};
    const char *p = text;
    unsigned bits = 0;

    while (*p != '\0') {
        size_t n = strcspn(p, ","), k;
        for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
            if (strlen(kinds[k].name) == n && strncmp(p, kinds[k].name, n) == 0)
                break;
        }
        if (k == sizeof(kinds) / sizeof(kinds[0]) || (bits & kinds[k].bit) != 0)
            return DA_ERR_INVALID_ARG;
        bits |= kinds[k].bit;
        p += n;
        if (*p == ',' && *++p == '\0')
            return DA_ERR_INVALID_ARG;
    }
    if (bits == 0)
        return DA_ERR_INVALID_ARG;
    *out = bits;
    return 0;
}

int da_time_rfc3339_parse(const char *text, int64_t *out)
{
    struct tm tm;
    const char *end;
    time_t t;

    memset(&tm, 0, sizeof(tm));
    if (text == NULL || strlen(text) < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T')
        return DA_ERR_INVALID_ARG;
    end = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL)
        return DA_ERR_INVALID_ARG;
    if (*end == '.') {
        end++;
        if (*end < '0' || *end > '9')
            return DA_ERR_INVALID_ARG;
        while (*end >= '0' && *end <= '9')
            end++;
    }
    if (strcmp(end, "Z") != 0)
        return DA_ERR_INVALID_ARG;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return DA_ERR_INVALID_ARG;
    *out = (int64_t)t;
    return 0;
}

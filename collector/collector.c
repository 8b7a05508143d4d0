/* The static list of collectors and the evidence document they fill. */
#include "collector.h"

#include <stdio.h>
#include <string.h>

#include "err.h"

extern const struct da_collector col_host, col_patches, col_disk, col_isolation, col_toolchain,
    col_separation, col_antimalware, col_access, col_time, col_runtime, col_logging, col_hardening,
    col_auth, col_media;

const struct da_collector *const col_collectors[] = {
    &col_host,       &col_patches,     &col_disk,   &col_isolation, &col_toolchain,
    &col_separation, &col_antimalware, &col_access, &col_time,      &col_runtime,
    &col_logging,    &col_hardening,   &col_auth,   &col_media,
};
const size_t col_collector_count = sizeof(col_collectors) / sizeof(col_collectors[0]);

/* Is name listed in the comma-separated only list? */
static int col_area_selected(const char *only, const char *name)
{
    size_t n = strlen(name);
    const char *p = only;

    if (only == NULL)
        return 1;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");

        if (len == n && memcmp(p, name, n) == 0)
            return 1;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* Every name in only must be an area. */
static int col_check_only(const char *only)
{
    const char *p = only;
    size_t i;

    if (only == NULL)
        return 0;
    if (*p == '\0')
        return DA_ERR_COLLECT_UNKNOWN_AREA;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        int found = 0;

        for (i = 0; i < col_collector_count; i++) {
            if (strlen(col_collectors[i]->name) == len &&
                memcmp(col_collectors[i]->name, p, len) == 0)
                found = 1;
        }
        if (!found)
            return DA_ERR_COLLECT_UNKNOWN_AREA;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int col_add_collected_at(const struct col_ctx *ctx, cJSON *doc)
{
    struct tm tm;
    char when[32];

    if (gmtime_r(&ctx->now, &tm) == NULL)
        return DA_ERR_INTERNAL;
    if (strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return DA_ERR_INTERNAL;
    return col_add_str(doc, "collected_at", when);
}

int col_collect_evidence(const struct col_ctx *base, const char *only, cJSON **out)
{
    struct col_ctx run = *base, *ctx = &run;
    struct da_rootfs *own = NULL;
    cJSON *doc = NULL, *area;
    size_t i;
    int r;

    *out = NULL;
    COL_TRY(col_check_only(only));
    if (run.fs == NULL) {
        COL_TRY(da_rootfs_open(run.root, 0, &own));
        run.fs = own;
    }
    doc = cJSON_CreateObject();
    if (doc == NULL) {
        r = DA_ERR_NOMEM;
        goto out;
    }
    COL_TRY(col_add_str(doc, "schema", "devattest.evidence/v1"));
    COL_TRY(col_add_collected_at(ctx, doc));
    for (i = 0; i < col_collector_count; i++) {
        if (!col_area_selected(only, col_collectors[i]->name))
            continue;
        area = cJSON_CreateObject();
        COL_TRY(col_add_item(doc, col_collectors[i]->name, area));
        COL_TRY(col_collectors[i]->collect(ctx, area));
    }
    *out = doc;
    doc = NULL; /* transferred */
    r = 0;
out:
    da_rootfs_free(own);
    cJSON_Delete(doc);
    return r;
}

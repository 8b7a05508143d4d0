/* dnf's configuration: dnf.conf and .repo files (INI, lists, booleans,
 * variables), the cache directory name, exclude patterns and rpm version
 * comparison on what the files hold; with bit 2 of the first byte, the
 * body of the rpm pending cache (parsed, written back, parsed again to the
 * same bytes). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "caps.h"
#include "rpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct col_rpm_conf c;
    struct col_rpm_vars vars;
    char name[256];

    if (size == 0)
        return 0;
    if (data[0] & 4) {
        struct col_patch_facts f;
        struct da_buf a, b;
        int64_t old = 0, old2 = 0;

        if (col_rpm_cache_parse((const char *)data + 1, size - 1, &f, &old) != 0)
            return 0;
        da_buf_init(&a, DA_MAX_COL_CACHE);
        da_buf_init(&b, DA_MAX_COL_CACHE);
        if (col_rpm_cache_format(&f, old, &a) == 0) {
            struct col_patch_facts g;

            if (col_rpm_cache_parse(da_buf_str(&a), da_buf_len(&a), &g, &old2) != 0 ||
                old2 != old || col_rpm_cache_format(&g, old2, &b) != 0 ||
                da_buf_len(&a) != da_buf_len(&b) ||
                memcmp(da_buf_data(&a), da_buf_data(&b), da_buf_len(&a)) != 0)
                abort();
            col_patch_facts_free(&g);
        }
        da_buf_free(&a);
        da_buf_free(&b);
        col_patch_facts_free(&f);
        return 0;
    }
    memset(&c, 0, sizeof(c));
    memset(&vars, 0, sizeof(vars));
    if (col_rpm_vars_set(&vars, "basearch", "x86_64") != 0 ||
        col_rpm_vars_set(&vars, "releasever", (data[0] & 1) ? "9" : NULL) != 0)
        goto out;
    /* the first byte: parsed as dnf.conf or as a .repo file */
    if (col_rpm_conf_parse(&c, &vars, (const char *)data + 1, size - 1, (data[0] & 2) != 0) != 0)
        goto out;
    for (size_t i = 0; i < c.n_repos; i++) {
        const struct col_rpm_repo *r = &c.repos[i];

        (void)col_rpm_cache_name(r, name, sizeof(name));
        (void)col_rpm_pattern_match(&r->exclude, r->id, "1:2.0-1", "noarch");
        (void)col_rpm_pattern_match(&c.exclude, r->id, r->baseurl != NULL ? r->baseurl : "1.0",
                                    "x86_64");
        if (r->baseurl != NULL)
            (void)col_rpm_evrcmp(r->baseurl, r->id);
        for (size_t k = 0; k < r->include.n; k++)
            (void)col_rpm_evrcmp(r->include.v[k], k + 1 < r->include.n ? r->include.v[k + 1] : "");
    }
out:
    col_rpm_conf_free(&c);
    col_rpm_vars_free(&vars);
    return 0;
}

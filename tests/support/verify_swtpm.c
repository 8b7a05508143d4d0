#include "verify_swtpm.h"

#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>

#include "verify_support.h"

int vs_swtpm_with_keys(struct da_test_swtpm *tpm, char *out, size_t out_size)
{
    if (da_test_swtpm_start(tpm) != 0)
        return -1;
    if (snprintf(out, out_size, "%s/fx", tpm->dir) >= (int)out_size)
        return -1;
    if (vs_fixture("keys", tpm->dir, out, NULL) != 0)
        return -1;
    return 0;
}

struct da_tpm_public *vs_load_public(const char *dir, const char *name)
{
    struct da_tpm_public *p = NULL;
    uint8_t *b;
    size_t n;

    assert_int_equal(vs_read_file(vs_path(dir, name), &b, &n), 0);
    assert_int_equal(da_tpm_public_parse(b, n, &p), 0);
    free(b);
    return p;
}

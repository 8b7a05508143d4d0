/* The IMA list parser (common/ima_log.c) on lists built by the test:
 * decoded fields of ima-ng, ima-sig and the legacy template, and every
 * malformed form refused with DA_ERR_TPM_IMA_LOG. The replay's values are
 * checked against a TPM in test_ima_replay_swtpm. */
#include "da_test.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "ima_build.h"
#include "ima_log.h"

struct seen {
    size_t n;
    struct da_ima_entry e[8];
};

static int collect(const struct da_ima_entry *e, void *ctx)
{
    struct seen *s = ctx;

    if (s->n < 8)
        s->e[s->n++] = *e;
    return 0;
}

static struct da_test_ima *three_entries(void)
{
    struct da_test_ima *l = calloc(1, sizeof(*l));
    unsigned char d256[32], d1[20], sig[5] = {3, 2, 1, 0, 9};

    assert_non_null(l);
    memset(d256, 0xab, sizeof(d256));
    memset(d1, 0x11, sizeof(d1));
    assert_int_equal(da_test_ima_add(l, 10, "sha256", d256, 32, "boot_aggregate", NULL, 0, 0), 0);
    assert_int_equal(da_test_ima_add(l, 10, "sha256", d256, 32, "/usr/bin/gcc", sig, 5, 0), 0);
    assert_int_equal(da_test_ima_add_legacy(l, d1, "/usr/lib/libc.so.6"), 0);
    return l;
}

static void test_decoded_fields(void **state)
{
    struct da_test_ima *l = three_entries();
    struct seen s;
    size_t count = 0, used = 0;

    (void)state;
    memset(&s, 0, sizeof(s));
    assert_int_equal(da_ima_walk(l->data, l->len, 7, SIZE_MAX, collect, &s, &count, &used), 0);
    assert_int_equal(count, 3);
    assert_int_equal(used, l->len);
    assert_int_equal(s.e[0].index, 7);
    assert_true(s.e[0].decoded);
    assert_string_equal(s.e[0].digest_alg, "sha256");
    assert_int_equal(s.e[0].digest_len, 32);
    assert_int_equal(s.e[0].path_len, strlen("boot_aggregate"));
    assert_memory_equal(s.e[0].path, "boot_aggregate", s.e[0].path_len);
    assert_null(s.e[0].sig);
    assert_int_equal(s.e[1].sig_len, 5);
    assert_memory_equal(s.e[1].template_name, "ima-sig", 7);
    assert_int_equal(s.e[2].pcr, 10);
    assert_true(s.e[2].legacy);
    assert_int_equal(s.e[2].digest_len, 20);
    assert_memory_equal(s.e[2].path, "/usr/lib/libc.so.6", s.e[2].path_len);
    free(l);
}

static void test_skip_and_limit(void **state)
{
    struct da_test_ima *l = three_entries();
    size_t off = 0, count = 0, used = 0;

    (void)state;
    assert_int_equal(da_ima_skip(l->data, l->len, 2, &off), 0);
    assert_int_equal(off, l->last_offset);
    assert_int_equal(da_ima_skip(l->data, l->len, 3, &off), 0);
    assert_int_equal(off, l->len);
    assert_int_equal(da_ima_skip(l->data, l->len, 4, &off), DA_ERR_NOT_FOUND);
    assert_int_equal(da_ima_walk(l->data, l->len, 0, 1, NULL, NULL, &count, &used), 0);
    assert_int_equal(count, 1);
    free(l);
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void refused(const unsigned char *p, size_t n)
{
    struct da_ima_aggregate a, out;
    unsigned char q[32] = {0};
    size_t used = 0;

    assert_int_equal(da_ima_walk(p, n, 0, SIZE_MAX, NULL, NULL, NULL, NULL), DA_ERR_TPM_IMA_LOG);
    da_ima_aggregate_init(&a, DA_IMA_BANK_SHA256);
    assert_int_equal(da_ima_replay(p, n, &a, NULL, q, NULL, NULL, &out, &used), DA_ERR_TPM_IMA_LOG);
    assert_int_equal(out.entries, 0);
}

/* One ima-ng entry: pcr 0, hash 4, name len 24, name 28, data len 34,
 * d-ng len 38, "sha256:\0" 42, digest 50, n-ng len 82, path 86. */
static void test_malformed(void **state)
{
    struct da_test_ima *l = calloc(1, sizeof(*l));
    unsigned char d[32] = {1}, b[512];
    size_t n;

    (void)state;
    assert_non_null(l);
    assert_int_equal(da_test_ima_add(l, 10, "sha256", d, 32, "/x", NULL, 0, 0), 0);
    n = l->len;
    assert_int_equal(n, 86 + 3);
    /* every truncation */
    for (size_t cut = 1; cut < n; cut++)
        refused(l->data, cut);
    /* trailing bytes */
    memcpy(b, l->data, n);
    b[n] = 0;
    refused(b, n + 1);
    /* PCR 24 */
    memcpy(b, l->data, n);
    put32(b, 24);
    refused(b, n);
    /* template name empty, too long, not printable */
    memcpy(b, l->data, n);
    put32(b + 24, 0);
    refused(b, n);
    memcpy(b, l->data, n);
    put32(b + 24, DA_IMA_MAX_TEMPLATE_NAME + 1);
    refused(b, n);
    memcpy(b, l->data, n);
    b[30] = '\n';
    refused(b, n);
    /* template data longer than the entry, and over the cap */
    memcpy(b, l->data, n);
    put32(b + 34, 52);
    refused(b, n);
    memcpy(b, l->data, n);
    put32(b + 34, DA_IMA_MAX_TEMPLATE_DATA + 1);
    refused(b, n);
    /* a field running past the template data */
    memcpy(b, l->data, n);
    put32(b + 82, 4);
    refused(b, n);
    /* digest length that does not fit sha256 */
    memcpy(b, l->data, n);
    memcpy(b + 42, "sha384", 6);
    refused(b, n);
    /* no ':' NUL after the algorithm */
    memcpy(b, l->data, n);
    b[49] = 'x';
    refused(b, n);
    /* path without its NUL, and with a NUL inside */
    memcpy(b, l->data, n);
    b[88] = 'y';
    refused(b, n);
    memcpy(b, l->data, n);
    b[86] = '\0';
    refused(b, n);
    free(l);
}

/* ima-ng with three fields and ima-sig with two are refused; an unknown
 * template is walked field by field, not decoded. */
static void test_field_counts(void **state)
{
    struct da_test_ima *l = calloc(1, sizeof(*l));
    unsigned char d[32] = {2}, b[512];
    struct seen s;
    size_t n;

    (void)state;
    assert_non_null(l);
    assert_int_equal(da_test_ima_add(l, 10, "sha256", d, 32, "/x", d, 1, 0), 0);
    n = l->len;
    memcpy(b, l->data, n);
    memcpy(b + 28, "ima-ng", 6);
    memmove(b + 34, b + 35, n - 35);
    put32(b + 24, 6);
    refused(b, n - 1);
    memcpy(b, l->data, n);
    memcpy(b + 28, "ima-buf", 7);
    memset(&s, 0, sizeof(s));
    assert_int_equal(da_ima_walk(b, n, 0, SIZE_MAX, collect, &s, NULL, NULL), 0);
    assert_int_equal(s.n, 1);
    assert_false(s.e[0].decoded);
    free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decoded_fields),
        cmocka_unit_test(test_skip_and_limit),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_field_counts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

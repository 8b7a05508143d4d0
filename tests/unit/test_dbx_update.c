/* The shipped dbx reference (server/data/dbx) and the conversion of UEFI
 * dbx update files (da_dbx_update_sha256, devattest-verify dbx-update).
 *
 * Oracles: Microsoft's own listing of the revocations the update carries
 * (dbx_info_msft_latest.json, images.x64, vendored beside the update), and
 * Debian's tpm2_eventlog for the dbx a real firmware event log measured. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "eventlog_facts.h"

#define DBX_DIR     DA_SOURCE_ROOT "/server/data/dbx"
#define UPDATE_FILE DBX_DIR "/DBXUpdate-amd64.bin"
#define LISTING     DBX_DIR "/dbx_info_msft_latest.json"
#define SHIPPED     DBX_DIR "/dbx-reference.json"
#define ARCH_LOG    DA_SOURCE_ROOT "/tests/data/eventlogs/event-arch-linux.bin"
#define VERIFY_BIN  DA_BINARY_ROOT "/server/devattest-verify"

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int cmp64(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The x64 SHA-256 revocations Microsoft lists for the update, lower case,
 * sorted, each once; *n their number. */
static char **listing_x64(size_t *n)
{
    size_t len, k = 0;
    char *text = (char *)slurp(LISTING, &len);
    cJSON *root = cJSON_Parse(text);
    const cJSON *x64, *e;
    char **out;

    assert_non_null(root);
    x64 = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "images"), "x64");
    assert_true(cJSON_IsArray(x64));
    out = calloc((size_t)cJSON_GetArraySize(x64), sizeof(*out));
    assert_non_null(out);
    cJSON_ArrayForEach(e, x64)
    {
        const cJSON *h = cJSON_GetObjectItem(e, "authenticodeHash");
        const cJSON *t = cJSON_GetObjectItem(e, "hashType");
        assert_true(cJSON_IsString(h) && cJSON_IsString(t));
        assert_string_equal(t->valuestring, "SHA256");
        assert_int_equal(strlen(h->valuestring), 64);
        out[k] = strdup(h->valuestring);
        for (char *p = out[k]; *p != '\0'; p++)
            *p = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
        k++;
    }
    qsort(out, k, sizeof(*out), cmp64);
    for (size_t i = 1; i < k; i++)
        assert_string_not_equal(out[i], out[i - 1]);
    cJSON_Delete(root);
    free(text);
    *n = k;
    return out;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* The shipped reference holds exactly the revocations Microsoft lists. */
static void test_shipped_reference_is_the_listing(void **state)
{
    struct da_dbx_reference ref;
    size_t len, n;
    char *text = (char *)slurp(SHIPPED, &len);
    char **want = listing_x64(&n);
    char hex[65];

    (void)state;
    assert_int_equal(n, 443);
    assert_int_equal(da_dbx_reference_parse(text, len, &ref), 0);
    assert_string_equal(ref.date, "2026-06-10");
    assert_int_equal(ref.n, n);
    for (size_t i = 0; i < n; i++) {
        for (int b = 0; b < 32; b++)
            snprintf(hex + 2 * b, 3, "%02x", ref.sha256[i][b]);
        assert_string_equal(hex, want[i]); /* both sorted */
    }
    da_dbx_reference_free(&ref);
    free_list(want, n);
    free(text);
}

/* The update file converts to the same entries, and the tool reproduces
 * the shipped file byte for byte from it. */
static void test_update_converts(void **state)
{
    unsigned char(*h)[32] = NULL, *data;
    size_t len, n = 0, want_n, shipped_len, got = 0;
    char **want = listing_x64(&want_n), hex[65], cmd[1024], *shipped, *out;
    cJSON *doc;
    const cJSON *src;
    FILE *p;

    (void)state;
    data = slurp(UPDATE_FILE, &len);
    assert_int_equal(da_dbx_update_sha256(data, len, &h, &n), 0);
    assert_int_equal(n, want_n);
    for (size_t i = 0; i < n; i++) {
        for (int b = 0; b < 32; b++)
            snprintf(hex + 2 * b, 3, "%02x", h[i][b]);
        assert_string_equal(hex, want[i]);
    }
    free(h);
    free(data);
    free_list(want, want_n);

    shipped = (char *)slurp(SHIPPED, &shipped_len);
    doc = cJSON_Parse(shipped);
    src = cJSON_GetObjectItem(doc, "source");
    assert_true(cJSON_IsString(src));
    snprintf(cmd, sizeof(cmd), "'%s' dbx-update '%s' --date 2026-06-10 --source '%s'", VERIFY_BIN,
             UPDATE_FILE, src->valuestring);
    cJSON_Delete(doc);
    out = malloc(shipped_len + 2);
    assert_non_null(out);
    p = popen(cmd, "r");
    assert_non_null(p);
    got = fread(out, 1, shipped_len + 1, p);
    assert_int_equal(pclose(p), 0);
    assert_int_equal(got, shipped_len);
    assert_memory_equal(out, shipped, shipped_len);
    free(out);
    free(shipped);
}

static void expect_refused(const unsigned char *data, size_t len)
{
    unsigned char(*h)[32] = (void *)1;
    size_t n = 7;

    assert_int_equal(da_dbx_update_sha256(data, len, &h, &n), DA_ERR_DBX_UPDATE);
    assert_null(h);
    assert_int_equal(n, 0);
}

/* Every size is checked: a truncated, padded or mislabelled file is
 * refused with the one code. */
static void test_update_refused(void **state)
{
    size_t len;
    unsigned char *data = slurp(UPDATE_FILE, &len), *copy = malloc(len + 1);
    /* the authentication header: 16 bytes of time, then dwLength */
    size_t esl = 16 + (size_t)(data[16] | data[17] << 8 | data[18] << 16 | data[19] << 24);

    (void)state;
    assert_non_null(copy);
    assert_true(esl < len);
    expect_refused(data, 0);
    expect_refused(data, 39);
    expect_refused(data, esl);      /* no signature list */
    expect_refused(data, len - 1);  /* the last entry cut */
    expect_refused(data, esl + 27); /* a list header cut */
    memcpy(copy, data, len);
    copy[len] = 0;
    expect_refused(copy, len + 1); /* a byte after the lists */
    copy[20] = 0x01;               /* wRevision 0x0201 */
    expect_refused(copy, len);
    memcpy(copy, data, len);
    copy[22] = 0x02; /* wCertificateType 0x0EF2 */
    expect_refused(copy, len);
    memcpy(copy, data, len);
    copy[24] ^= 0x01; /* CertType not PKCS#7 */
    expect_refused(copy, len);
    memcpy(copy, data, len);
    copy[19] = 0x7f; /* dwLength past the end */
    expect_refused(copy, len);
    memcpy(copy, data, len);
    copy[esl + 16] ^= 0x10; /* SignatureListSize no longer tiles */
    expect_refused(copy, len);
    free(copy);
    free(data);
}

/* A real log's dbx against the shipped reference: the count of reference
 * revocations it lacks equals what tpm2_eventlog's dbx VariableData shows. */
static void test_real_log_against_shipped(void **state)
{
    struct da_dbx_reference ref;
    size_t len, log_len, present = 0;
    char *text = (char *)slurp(SHIPPED, &len), *var = NULL, line[16384], hex[65];
    unsigned char *log = slurp(ARCH_LOG, &log_len);
    cJSON *o = NULL;
    FILE *p;
    int dbx = 0;

    (void)state;
    assert_int_equal(da_dbx_reference_parse(text, len, &ref), 0);
    p = popen("tpm2_eventlog '" ARCH_LOG "' 2>/dev/null", "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p) != NULL) {
        char *v;
        if (strstr(line, "UnicodeName: dbx") != NULL)
            dbx = 1;
        else if (dbx && (v = strstr(line, "VariableData: \"")) != NULL) {
            free(var);
            var = strdup(v + 15);
            dbx = 0;
        }
    }
    pclose(p);
    assert_non_null(var);
    assert_true(strlen(var) > 1000);
    for (size_t i = 0; i < ref.n; i++) {
        char *at;
        for (int b = 0; b < 32; b++)
            snprintf(hex + 2 * b, 3, "%02x", ref.sha256[i][b]);
        at = strstr(var, hex);
        if (at != NULL && (at - var) % 2 == 0)
            present++;
    }
    assert_int_equal(da_dbx_check(&ref, log, log_len, &o), 0);
    assert_int_equal((size_t)cJSON_GetObjectItem(o, "missing")->valuedouble, ref.n - present);
    assert_true(ref.n - present > 0);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "current")));
    assert_string_equal(cJSON_GetObjectItem(o, "reference_date")->valuestring, "2026-06-10");
    cJSON_Delete(o);
    da_dbx_reference_free(&ref);
    free(var);
    free(log);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_reference_is_the_listing),
        cmocka_unit_test(test_update_converts),
        cmocka_unit_test(test_update_refused),
        cmocka_unit_test(test_real_log_against_shipped),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

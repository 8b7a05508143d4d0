/* The bound on the memory of JSON trees (da_json_memory_cap): the figure a
 * document of DA_MAX_EVIDENCE made of the smallest values needs without
 * it, the refusal with it, and a typical evidence document that still
 * parses under the agent's bound. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "caps.h"
#include "err.h"
#include "file.h"
#include "json.h"

#define AGENT_JSON_MEMORY (64u * 1024 * 1024) /* as agent/privsep/privsep.h */
#define EVIDENCE          DA_SOURCE_ROOT "/tests/unit/data/evidence-typical.json"

/* {"schema":"devattest.evidence/v1","x":[0,0,0,...]} just under the cap. */
static char *worst_case(size_t *len)
{
    const char *head = "{\"schema\":\"devattest.evidence/v1\",\"x\":[0";
    size_t n = strlen(head), i;
    char *t = malloc(DA_MAX_EVIDENCE);

    assert_non_null(t);
    memcpy(t, head, n);
    for (i = n; i + 4 < DA_MAX_EVIDENCE; i += 2)
        memcpy(t + i, ",0", 2);
    memcpy(t + i, "]}", 2);
    *len = i + 2;
    return t;
}

static void test_worst_case_document(void **state)
{
    size_t len, peak;
    char *text = worst_case(&len);
    cJSON *doc = NULL;

    (void)state;
    da_json_memory_cap(0);
    (void)da_json_memory_peak(1);
    assert_int_equal(da_json_parse(text, len, DA_MAX_EVIDENCE, &doc), 0);
    peak = da_json_memory_peak(0);
    cJSON_Delete(doc);
    (void)da_json_memory_peak(1);
    print_message("  %zu-byte document: %zu MiB of JSON tree without a bound\n", len, peak >> 20);
    assert_true(peak > AGENT_JSON_MEMORY);

    da_json_memory_cap(AGENT_JSON_MEMORY);
    doc = NULL;
    assert_int_equal(da_json_parse(text, len, DA_MAX_EVIDENCE, &doc), DA_ERR_TOO_LARGE);
    assert_null(doc);
    peak = da_json_memory_peak(1);
    print_message("  with the agent's bound: refused at %zu MiB\n", peak >> 20);
    assert_true(peak <= AGENT_JSON_MEMORY);
    da_json_memory_cap(0);
    free(text);
}

static void test_typical_document_fits(void **state)
{
    struct da_buf b;
    cJSON *doc = NULL;

    (void)state;
    assert_int_equal(da_file_read(EVIDENCE, DA_MAX_EVIDENCE, &b), 0);
    da_json_memory_cap(AGENT_JSON_MEMORY);
    (void)da_json_memory_peak(1);
    assert_int_equal(da_json_parse(da_buf_str(&b), da_buf_len(&b), DA_MAX_EVIDENCE, &doc), 0);
    print_message("  typical evidence (%zu bytes): %zu KiB of JSON tree\n", da_buf_len(&b),
                  da_json_memory_peak(1) >> 10);
    cJSON_Delete(doc);
    da_json_memory_cap(0);
    da_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worst_case_document),
        cmocka_unit_test(test_typical_document_fits),
    };

    da_json_memory_hooks();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* devattest-loadgen's parts without a server: the documents varied per
 * agent and over time stay canonical and self-consistent, collected_at is
 * stamped as GNU date prints the time, failures are counted by code with a
 * bounded table, and /metrics samples are read strictly. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/sha.h>

#include "buf.h"
#include "err.h"
#include "jcs.h"
#include "loadgen.h"

#define DOC DA_SOURCE_ROOT "/tests/data/loadgen/evidence-debian12.json"

static cJSON *parse(const char *text)
{
    cJSON *j = cJSON_Parse(text);

    assert_non_null(j);
    return j;
}

static const cJSON *at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

    return b != NULL ? cJSON_GetObjectItemCaseSensitive(v, b) : v;
}

/* The text is RFC 8785 of itself, and the pending counts match the list. */
static void expect_consistent(const char *text)
{
    cJSON *j = parse(text), *e;
    const cJSON *pending = at(j, "patches", "pending");
    struct da_buf canon;
    int n = 0, security = 0;

    da_buf_init(&canon, 1u << 22);
    assert_int_equal(da_jcs_serialize(j, &canon), 0);
    assert_string_equal(da_buf_str(&canon), text);
    da_buf_free(&canon);
    cJSON_ArrayForEach(e, pending)
    {
        n++;
        security += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "security")) ? 1 : 0;
    }
    assert_int_equal(n, at(j, "patches", "pending_count")->valueint);
    assert_int_equal(security, at(j, "patches", "security_pending_count")->valueint);
    cJSON_Delete(j);
}

static void test_agents_differ_and_stay_consistent(void **state)
{
    struct lg_template *t = NULL;
    struct lg_agent_doc *d[8];
    char ids[8][40];
    const char *why = NULL, *text;
    unsigned char digest[32], want[32];
    size_t len, i, j;

    (void)state;
    assert_int_equal(lg_template_load(DOC, &t, &why), 0);
    assert_true(lg_template_pending(t) > 0);
    for (i = 0; i < 8; i++) {
        cJSON *doc;
        char host[32];

        assert_int_equal(lg_agent_doc_new(t, (unsigned)i, 42, &d[i]), 0);
        assert_int_equal(lg_agent_doc_stamp(d[i], 1765008000, &text, &len, digest), 0);
        assert_int_equal(len, strlen(text));
        SHA256((const unsigned char *)text, len, want);
        assert_memory_equal(digest, want, 32);
        expect_consistent(text);
        doc = parse(text);
        snprintf(host, sizeof(host), "builder-%05zu", i);
        assert_string_equal(at(doc, "host", "hostname")->valuestring, host);
        snprintf(ids[i], sizeof(ids[i]), "%s", at(doc, "host", "machine_id")->valuestring);
        cJSON_Delete(doc);
        for (j = 0; j < i; j++)
            assert_string_not_equal(ids[i], ids[j]);
    }
    for (i = 0; i < 8; i++)
        lg_agent_doc_free(d[i]);
    lg_template_free(t);
}

/* collected_at as `date -u -d @T +%Y-%m-%dT%H:%M:%SZ` prints it. */
static void test_stamp_matches_gnu_date(void **state)
{
    struct lg_template *t = NULL;
    struct lg_agent_doc *d = NULL;
    const char *why = NULL, *text;
    unsigned char digest[32];
    char want[64] = "";
    size_t len;
    FILE *p;
    cJSON *doc;

    (void)state;
    p = popen("date -u -d @1767225599 +%Y-%m-%dT%H:%M:%SZ", "r");
    assert_non_null(p);
    assert_non_null(fgets(want, sizeof(want), p));
    pclose(p);
    want[strcspn(want, "\n")] = '\0';
    assert_int_equal(lg_template_load(DOC, &t, &why), 0);
    assert_int_equal(lg_agent_doc_new(t, 3, 1, &d), 0);
    assert_int_equal(lg_agent_doc_stamp(d, 1767225599, &text, &len, digest), 0);
    doc = parse(text);
    assert_string_equal(at(doc, "collected_at", NULL)->valuestring, want);
    cJSON_Delete(doc);
    lg_agent_doc_free(d);
    lg_template_free(t);
}

/* Even r: one pending upgrade more or less; odd r: automatic updates flip. */
static void test_changes_over_time(void **state)
{
    struct lg_template *t = NULL;
    struct lg_agent_doc *d = NULL;
    const char *why = NULL, *text;
    unsigned char digest[32];
    int before, after;
    bool en0, en1;
    size_t len;
    cJSON *doc;

    (void)state;
    assert_int_equal(lg_template_load(DOC, &t, &why), 0);
    assert_int_equal(lg_agent_doc_new(t, 0, 9, &d), 0);
    assert_int_equal(lg_agent_doc_stamp(d, 1765008000, &text, &len, digest), 0);
    doc = parse(text);
    before = at(doc, "patches", "pending_count")->valueint;
    en0 = cJSON_IsTrue(at(at(doc, "patches", "auto_updates"), "enabled", NULL));
    cJSON_Delete(doc);
    assert_int_equal(lg_agent_doc_change(d, 2 * 5), 0);
    assert_int_equal(lg_agent_doc_stamp(d, 1765008000, &text, &len, digest), 0);
    expect_consistent(text);
    doc = parse(text);
    after = at(doc, "patches", "pending_count")->valueint;
    assert_int_equal(abs(after - before), 1);
    cJSON_Delete(doc);
    assert_int_equal(lg_agent_doc_change(d, 7), 0);
    assert_int_equal(lg_agent_doc_stamp(d, 1765008000, &text, &len, digest), 0);
    expect_consistent(text);
    doc = parse(text);
    en1 = cJSON_IsTrue(at(at(doc, "patches", "auto_updates"), "enabled", NULL));
    assert_true(en0 != en1);
    assert_int_equal(at(doc, "patches", "pending_count")->valueint, after);
    cJSON_Delete(doc);
    assert_int_equal(lg_agent_doc_changes(d), 2);
    lg_agent_doc_free(d);
    lg_template_free(t);
}

static void test_codes_bounded(void **state)
{
    struct lg_run_out out;
    unsigned long total = 0;
    char code[32];
    size_t i;

    (void)state;
    memset(&out, 0, sizeof(out));
    for (i = 0; i < 40; i++) {
        snprintf(code, sizeof(code), "code_%zu", i);
        lg_count_code(&out, code);
        lg_count_code(&out, code);
    }
    assert_int_equal(out.n_codes, LG_MAX_CODES);
    assert_string_equal(out.codes[LG_MAX_CODES - 1].code, "other");
    assert_int_equal(out.codes[LG_MAX_CODES - 1].n, 2 * (40 - (LG_MAX_CODES - 1)));
    for (i = 0; i < out.n_codes; i++)
        total += out.codes[i].n;
    assert_int_equal(total, 80);
}

static void test_metrics_samples(void **state)
{
    static const char text[] =
        "# HELP devattest_store_bytes Bytes.\n# TYPE devattest_store_bytes gauge\n"
        "devattest_store_bytes_other 5\ndevattest_store_bytes 71159808\n"
        "devattest_reports_refused_total{code=\"rate_limited\"} 3\n"
        "devattest_reports_accepted_total -1\n";
    double v = 0;

    (void)state;
    assert_int_equal(lg_metrics_value(text, strlen(text), "devattest_store_bytes", &v), 0);
    assert_true(v > 71159807.5 && v < 71159808.5);
    assert_int_equal(lg_metrics_value(text, strlen(text), "devattest_reports_refused_total", &v),
                     DA_ERR_NOT_FOUND);
    assert_int_equal(lg_metrics_value(text, strlen(text), "devattest_reports_accepted_total", &v),
                     DA_ERR_LOADGEN_ANSWER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agents_differ_and_stay_consistent),
        cmocka_unit_test(test_stamp_matches_gnu_date),
        cmocka_unit_test(test_changes_over_time),
        cmocka_unit_test(test_codes_bounded),
        cmocka_unit_test(test_metrics_samples),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

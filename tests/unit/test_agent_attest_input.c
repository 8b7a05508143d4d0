/* attest's parsers and checks: SBOM, JUnit XML, scanner output, the
 * request, the receipt, times, remote URLs and the quote's qualifying data
 * (against a digest of canonical JSON written out by hand from RFC 8785). */
#include "da_test.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "attest_input.h"
#include "attest_req.h"
#include "attest_stmt.h"
#include "digest.h"
#include "encoding.h"
#include "err.h"
#include "gitinfo.h"
#include "json.h"

#define H64 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define Z64 "0000000000000000000000000000000000000000000000000000000000000000"

static int sbom(const char *text, const char **type)
{
    cJSON *p = NULL;
    int r = agent_sbom_predicate(text, strlen(text), type, &p);

    if (r == 0)
        assert_int_equal(agent_attest_predicate_check(*type, p), 0);
    cJSON_Delete(p);
    return r;
}

static void test_sbom(void **state)
{
    const char *t = NULL;

    (void)state;
    assert_int_equal(sbom("{\"spdxVersion\":\"SPDX-2.3\",\"SPDXID\":\"SPDXRef-DOCUMENT\"}", &t), 0);
    assert_string_equal(t, AGENT_PT_SPDX);
    assert_int_equal(sbom("{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\"}", &t), 0);
    assert_string_equal(t, AGENT_PT_CYCLONEDX);
    assert_int_equal(sbom("{\"spdxVersion\":\"SPDX-2.2\",\"SPDXID\":\"SPDXRef-DOCUMENT\"}", &t),
                     DA_ERR_SBOM_FORMAT);
    assert_int_equal(sbom("{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.4\"}", &t),
                     DA_ERR_SBOM_FORMAT);
    assert_int_equal(sbom("{\"spdxVersion\":\"SPDX-2.3\"}", &t), DA_ERR_SBOM_FORMAT);
    assert_int_equal(sbom("[]", &t), DA_ERR_SBOM_FORMAT);
    assert_int_equal(sbom("{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\"} x", &t),
                     DA_ERR_SBOM_FORMAT);
    assert_int_equal(sbom("<bom/>", &t), DA_ERR_SBOM_FORMAT);
}

static int junit(const char *xml, cJSON **p)
{
    int r = agent_junit_predicate(xml, strlen(xml), "junit.xml", H64, p);

    if (r == 0)
        assert_int_equal(agent_attest_predicate_check(AGENT_PT_TEST_RESULT, *p), 0);
    return r;
}

static const char *item(const cJSON *p, const char *list, int i)
{
    return cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(p, list), i));
}

static void test_junit(void **state)
{
    cJSON *p = NULL;

    (void)state;
    assert_int_equal(junit("<testsuites><testsuite><testcase classname=\"a\" name=\"one\"/>"
                           "<testcase name=\"two\"><error/></testcase>"
                           "<testcase classname=\"c\" name=\"three\"><skipped/></testcase>"
                           "<testcase classname=\"d\" name=\"four\"><system-out>x</system-out>"
                           "</testcase></testsuite></testsuites>",
                           &p),
                     0);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(p, "result")), "FAILED");
    assert_string_equal(item(p, "passedTests", 0), "a.one");
    assert_string_equal(item(p, "passedTests", 1), "d.four");
    assert_string_equal(item(p, "failedTests", 0), "two");
    assert_string_equal(item(p, "warnedTests", 0), "c.three");
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItem(
            cJSON_GetArrayItem(cJSON_GetObjectItem(p, "configuration"), 0), "name")),
        "junit.xml");
    cJSON_Delete(p);
    assert_int_equal(junit("<testsuite><testcase name=\"a\"><skipped/></testcase></testsuite>", &p),
                     0);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(p, "result")), "WARNED");
    cJSON_Delete(p);
    assert_int_equal(junit("<testsuite/>", &p), 0);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(p, "result")), "PASSED");
    cJSON_Delete(p);
    /* Refused: no DTD (entities), another root, nesting, no name, bad XML. */
    assert_int_equal(junit("<!DOCTYPE t [<!ENTITY a \"b\">]><testsuite>&a;</testsuite>", &p),
                     DA_ERR_JUNIT_FORMAT);
    assert_int_equal(junit("<html/>", &p), DA_ERR_JUNIT_FORMAT);
    assert_int_equal(junit("<testsuite><testcase name=\"a\"><testcase name=\"b\"/></testcase>"
                           "</testsuite>",
                           &p),
                     DA_ERR_JUNIT_FORMAT);
    assert_int_equal(junit("<testsuite><testcase classname=\"a\"/></testsuite>", &p),
                     DA_ERR_JUNIT_FORMAT);
    assert_int_equal(junit("<testsuite><testcase name=\"a\"></testsuite>", &p),
                     DA_ERR_JUNIT_FORMAT);
    assert_int_equal(junit("", &p), DA_ERR_JUNIT_FORMAT);
    assert_null(p);
}

static int scan(const char *text, cJSON **p)
{
    int r = agent_scan_predicate(text, strlen(text), "scan.out", H64, p);

    if (r == 0)
        assert_int_equal(agent_attest_predicate_check(AGENT_PT_SCAN, *p), 0);
    return r;
}

static const char *sget(const cJSON *p, const char *a, const char *b)
{
    const cJSON *o = cJSON_GetObjectItem(p, a);

    return cJSON_GetStringValue(b != NULL ? cJSON_GetObjectItem(o, b) : o);
}

static void test_scan(void **state)
{
    cJSON *p = NULL;

    (void)state;
    assert_int_equal(scan("{\"matches\":[{},{}],\"descriptor\":{\"name\":\"grype\",\"version\":"
                          "\"0.80.0\",\"db\":{\"status\":{\"built\":\"2026-12-01T00:00:00Z\"}}}}",
                          &p),
                     0);
    assert_string_equal(sget(p, "kind", NULL), "vulnerability");
    assert_string_equal(sget(p, "scanner", "name"), "grype");
    assert_string_equal(sget(p, "scanner", "version"), "0.80.0");
    assert_string_equal(sget(p, "scanner", "db_date"), "2026-12-01T00:00:00Z");
    assert_int_equal((int)cJSON_GetObjectItem(p, "findings")->valuedouble, 2);
    cJSON_Delete(p);
    assert_int_equal(scan("{\"SchemaVersion\":2,\"Results\":[{\"Vulnerabilities\":[{},{},{}]},"
                          "{\"Target\":\"x\"}],\"Trivy\":{\"Version\":\"0.57.1\"}}",
                          &p),
                     0);
    assert_string_equal(sget(p, "scanner", "name"), "trivy");
    assert_int_equal((int)cJSON_GetObjectItem(p, "findings")->valuedouble, 3);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "scanner"), "db_date")));
    cJSON_Delete(p);
    assert_int_equal(scan("/src/a: OK\n/src/b: Eicar-Signature FOUND\n\n"
                          "----------- SCAN SUMMARY -----------\nKnown viruses: 8708484\n"
                          "Engine version: 1.0.7\nScanned files: 2\nInfected files: 1\n",
                          &p),
                     0);
    assert_string_equal(sget(p, "kind", NULL), "malware");
    assert_string_equal(sget(p, "scanner", "version"), "1.0.7");
    assert_int_equal((int)cJSON_GetObjectItem(p, "findings")->valuedouble, 1);
    cJSON_Delete(p);
    assert_int_equal(scan("----------- SCAN SUMMARY -----------\nScanned files: 2\n", &p),
                     DA_ERR_SCAN_FORMAT);
    assert_int_equal(scan("----------- SCAN SUMMARY -----------\nInfected files: x1\n", &p),
                     DA_ERR_SCAN_FORMAT);
    assert_int_equal(scan("{\"SchemaVersion\":1,\"Results\":[]}", &p), DA_ERR_SCAN_FORMAT);
    assert_int_equal(scan("{\"descriptor\":{\"name\":\"grype\"}}", &p), DA_ERR_SCAN_FORMAT);
    assert_int_equal(scan("{\"anything\":1}", &p), DA_ERR_SCAN_FORMAT);
    assert_null(p);
}

static int check(const char *type, const char *json)
{
    cJSON *p = cJSON_Parse(json);
    int r = agent_attest_predicate_check(type, p);

    cJSON_Delete(p);
    return r;
}

#define CONF  "\"configuration\":[{\"name\":\"j\",\"digest\":{\"sha256\":\"" H64 "\"}}]"
#define INPUT "\"input\":{\"name\":\"s\",\"digest\":{\"sha256\":\"" H64 "\"}}"

/* The signer's checks refuse what the parsers would never make. */
static void test_predicate_checks(void **state)
{
    (void)state;
    assert_int_equal(check(AGENT_PT_TEST_RESULT, "{\"result\":\"PASSED\"," CONF ",\"passedTests\":"
                                                 "[\"a\"],\"warnedTests\":[],\"failedTests\":[]}"),
                     0);
    assert_int_equal(check(AGENT_PT_TEST_RESULT, "{\"result\":\"PASSED\"," CONF ",\"passedTests\":"
                                                 "[],\"warnedTests\":[],\"failedTests\":[\"b\"]}"),
                     DA_ERR_JUNIT_FORMAT);
    assert_int_equal(check(AGENT_PT_TEST_RESULT,
                           "{\"result\":\"PASSED\"," CONF ",\"passedTests\":[],\"warnedTests\":[],"
                           "\"failedTests\":[],\"extra\":1}"),
                     DA_ERR_JUNIT_FORMAT);
    assert_int_equal(check(AGENT_PT_SCAN,
                           "{\"kind\":\"malware\",\"scanner\":{\"name\":\"clamscan\","
                           "\"version\":null,\"db_date\":null},\"findings\":0," INPUT "}"),
                     0);
    assert_int_equal(check(AGENT_PT_SCAN, "{\"kind\":\"vulnerability\",\"scanner\":{\"name\":"
                                          "\"clamscan\",\"version\":null,\"db_date\":null},"
                                          "\"findings\":0," INPUT "}"),
                     DA_ERR_SCAN_FORMAT);
    assert_int_equal(check(AGENT_PT_SCAN,
                           "{\"kind\":\"malware\",\"scanner\":{\"name\":\"clamscan\","
                           "\"version\":null,\"db_date\":null},\"findings\":1.5," INPUT "}"),
                     DA_ERR_SCAN_FORMAT);
    assert_int_equal(check(AGENT_PT_BUILD_MACHINE, "{}"), DA_ERR_ATTEST_REQUEST);
    assert_int_equal(check(AGENT_PT_PROVENANCE, "{}"), DA_ERR_ATTEST_REQUEST);
}

#define SUBJ(name)                                                                                 \
    "{\"name\":\"" name "\",\"digest\":{\"sha256\":\"" H64 "\",\"sha512\":\"" H64 H64 "\"}}"

static int req(const char *json)
{
    struct agent_attest_req r;
    int rc = agent_attest_req_parse(json, strlen(json), &r);

    agent_attest_req_free(&r);
    return rc;
}

static void test_request(void **state)
{
    (void)state;
    assert_int_equal(req("{\"subject\":[" SUBJ("a") "," SUBJ("b") "],\"statements\":[]}"), 0);
    assert_int_equal(req("{\"subject\":[" SUBJ(
                         "a") "],\"statements\":[],\"git\":{\"commit\":"
                              "\"0123456789abcdef0123456789abcdef01234567\",\"remote\":null,"
                              "\"clean\":false}}"),
                     0);
    assert_int_equal(req("{\"subject\":[" SUBJ("a") "," SUBJ("a") "],\"statements\":[]}"),
                     DA_ERR_ATTEST_REQUEST);
    assert_int_equal(req("{\"subject\":[" SUBJ("a/b") "],\"statements\":[]}"),
                     DA_ERR_ATTEST_REQUEST);
    assert_int_equal(req("{\"subject\":[" SUBJ("..") "],\"statements\":[]}"),
                     DA_ERR_ATTEST_REQUEST);
    assert_int_equal(req("{\"subject\":[],\"statements\":[]}"), DA_ERR_ATTEST_REQUEST);
    assert_int_equal(req("{\"subject\":[{\"name\":\"a\",\"digest\":{\"sha256\":\"" Z64
                         "\"}}],\"statements\":[]}"),
                     DA_ERR_ATTEST_REQUEST);
    assert_int_equal(req("{\"subject\":[{\"name\":\"a\",\"digest\":{\"sha256\":\"E3B0" Z64
                         "\",\"sha512\":\"" H64 H64 "\"}}],\"statements\":[]}"),
                     DA_ERR_ATTEST_REQUEST);
    assert_int_equal(req("{\"subject\":[" SUBJ("a") "],\"statements\":[],\"sig\":\"x\"}"),
                     DA_ERR_ATTEST_REQUEST);
    assert_int_equal(req("{\"subject\":[" SUBJ("a") "],\"statements\":[],\"git\":{\"commit\":"
                                                    "\"HEAD\",\"remote\":null,\"clean\":true}}"),
                     DA_ERR_ATTEST_REQUEST);
    /* The scan before the SBOM: out of order. */
    assert_int_equal(
        req("{\"subject\":[" SUBJ(
            "a") "],\"statements\":[{\"predicateType\":\"" AGENT_PT_SCAN
                 "\",\"predicate\":{\"kind\":\"malware\",\"scanner\":{\"name\":\"clamscan\","
                 "\"version\":"
                 "null,\"db_date\":null},\"findings\":0," INPUT
                 "}},{\"predicateType\":\"" AGENT_PT_SPDX
                 "\",\"predicate\":{\"spdxVersion\":\"SPDX-2.3\",\"SPDXID\":\"x\"}}]}"),
        DA_ERR_ATTEST_REQUEST);
    assert_int_equal(
        req("{\"subject\":[" SUBJ(
            "a") "],\"statements\":[{\"predicateType\":\"" AGENT_PT_SPDX
                 "\",\"predicate\":{\"spdxVersion\":\"SPDX-2.3\",\"SPDXID\":\"x\"}},"
                 "{\"predicateType\":\"" AGENT_PT_CYCLONEDX
                 "\",\"predicate\":{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\"}}]}"),
        DA_ERR_ATTEST_REQUEST);
}

static const char *receipt_with(const char *type, const char *issued, char *out, size_t size)
{
    char payload[1024];
    struct da_buf b;

    snprintf(payload, sizeof(payload),
             "{\"_type\":\"https://devattest.dev/receipt/v1\",\"agent_id\":\"ag\",\"report_id\":"
             "\"r\",\"evidence_sha256\":\"" H64 "\",\"policy_sha256\":\"" H64
             "\",\"compliant\":true,\"controls\":{},\"issued_at\":\"%s\",\"valid_until\":"
             "\"2026-12-07T00:00:00Z\"}",
             issued);
    da_buf_init(&b, 4096);
    assert_int_equal(da_base64_encode(payload, strlen(payload), DA_BASE64_STD, &b), 0);
    snprintf(out, size,
             "{\"payload\":\"%s\",\"payloadType\":\"%s\",\"signatures\":[{\"keyid\":\"k\","
             "\"sig\":\"MEUCIQ==\"}]}",
             da_buf_str(&b), type);
    da_buf_free(&b);
    return out;
}

static void test_receipt_and_time(void **state)
{
    char text[4096];
    struct agent_receipt rc;
    time_t t = 0;

    (void)state;
    receipt_with("application/vnd.devattest.receipt+json", "2026-12-06T05:00:00Z", text,
                 sizeof(text));
    assert_int_equal(agent_receipt_parse(text, strlen(text), &rc), 0);
    assert_string_equal(rc.agent_id, "ag");
    assert_int_equal(rc.compliant, 1);
    assert_int_equal((long long)rc.issued_at, 1796533200LL); /* date -d ... +%s */
    agent_receipt_free(&rc);
    receipt_with("application/json", "2026-12-06T05:00:00Z", text, sizeof(text));
    assert_int_equal(agent_receipt_parse(text, strlen(text), &rc), DA_ERR_ATTEST_NO_RECEIPT);
    receipt_with("application/vnd.devattest.receipt+json", "2026-12-06 05:00:00", text,
                 sizeof(text));
    assert_int_equal(agent_receipt_parse(text, strlen(text), &rc), DA_ERR_ATTEST_NO_RECEIPT);
    assert_int_equal(agent_rfc3339_parse("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal((long long)t, 0);
    assert_int_equal(agent_rfc3339_parse("2026-13-01T00:00:00Z", &t), DA_ERR_INVALID_ARG);
    assert_int_equal(agent_rfc3339_parse("2026-12-01T00:00:00+01:00", &t), DA_ERR_INVALID_ARG);
}

static void test_git_url(void **state)
{
    char out[256];

    (void)state;
    agent_git_url_strip("https://u:tok@example.com/a.git", out, sizeof(out));
    assert_string_equal(out, "https://example.com/a.git");
    agent_git_url_strip("ssh://git@example.com/a.git", out, sizeof(out));
    assert_string_equal(out, "ssh://example.com/a.git");
    agent_git_url_strip("git@example.com:a.git", out, sizeof(out));
    assert_string_equal(out, "git@example.com:a.git");
    agent_git_url_strip("https://example.com/a@b", out, sizeof(out));
    assert_string_equal(out, "https://example.com/a@b");
}

/* Q over the canonical JSON written out here by hand (keys sorted, no
 * blanks), digested with OpenSSL through da_sha256. */
static void test_qualifying_data(void **state)
{
    static const char canon[] =
        "{\"evidence_digest\":\"" H64 "\",\"statements\":[{\"digest\":{\"sha256\":\"" Z64
        "\"},\"predicateType\":\"https://slsa.dev/provenance/v1\"}],\"subject\":[{\"digest\":{"
        "\"sha256\":\"" H64 "\",\"sha512\":\"" H64 H64 "\"},\"name\":\"a\"}]}";
    cJSON *subj = cJSON_Parse("[" SUBJ("a") "]");
    cJSON *sts = cJSON_Parse("[{\"predicateType\":\"https://slsa.dev/provenance/v1\",\"digest\":"
                             "{\"sha256\":\"" Z64 "\"}}]");
    unsigned char got[32], want[32];

    (void)state;
    assert_int_equal(agent_attest_qualifying_data(subj, sts, H64, got), 0);
    assert_int_equal(da_sha256(canon, strlen(canon), want), 0);
    assert_memory_equal(got, want, 32);
    cJSON_Delete(subj);
    cJSON_Delete(sts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sbom),    cmocka_unit_test(test_junit),
        cmocka_unit_test(test_scan),    cmocka_unit_test(test_predicate_checks),
        cmocka_unit_test(test_request), cmocka_unit_test(test_receipt_and_time),
        cmocka_unit_test(test_git_url), cmocka_unit_test(test_qualifying_data),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

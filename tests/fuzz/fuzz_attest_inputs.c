/* The files attest turns into predicates: the first byte chooses the
 * parser (SBOM, JUnit XML, scanner output), the rest is the file. Every
 * predicate a parser makes must pass the signer's check of its type. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_target.h"
#include "attest_input.h"

#define HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data + 1, *type = NULL;
    cJSON *pred = NULL;
    int r;

    if (size == 0)
        return 0;
    switch (data[0] % 3) {
    case 0:
        r = agent_sbom_predicate(text, size - 1, &type, &pred);
        break;
    case 1:
        type = AGENT_PT_TEST_RESULT;
        r = agent_junit_predicate(text, size - 1, "junit.xml", HEX, &pred);
        break;
    default:
        type = AGENT_PT_SCAN;
        r = agent_scan_predicate(text, size - 1, "scan.json", HEX, &pred);
        break;
    }
    if (r == 0 && agent_attest_predicate_check(type, pred) != 0)
        __builtin_trap();
    cJSON_Delete(pred);
    return 0;
}

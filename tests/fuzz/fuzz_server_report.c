/* HTTP body -> report: the parsing every POST /v1/agents/{id}/reports body
 * goes through before any verification. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_target.h"
#include "report_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct srv_report_in *r = NULL;
    const char *msg = NULL;

    if (srv_report_parse((const char *)data, size, &r, &msg) == 0)
        srv_report_in_free(r);
    return 0;
}

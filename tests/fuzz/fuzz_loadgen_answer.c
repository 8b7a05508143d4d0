/* What devattest-loadgen reads from a server (loadgen/lg_answer.c): samples
 * of the /metrics text, the nonce answer and error answers. The first byte
 * picks the reader; the rest is the server's answer. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "loadgen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"devattest_reports_accepted_total", "devattest_store_bytes",
                                        "a"};
    unsigned char nonce[DA_NONCE_LEN];
    char code[LG_CODE_LEN];
    const char *text;
    double v = -1;

    if (size < 1)
        return 0;
    text = (const char *)data + 1;
    size--;
    switch (data[0] % 3) {
    case 0:
        if (lg_metrics_value(text, size, names[(data[0] / 3) % 3], &v) == 0 &&
            (!isfinite(v) || v < 0))
            abort();
        break;
    case 1:
        (void)lg_answer_nonce(text, size, nonce);
        break;
    default:
        if (lg_answer_error_code(text, size, code) == 0 &&
            (code[0] == '\0' || strlen(code) >= LG_CODE_LEN))
            abort();
        break;
    }
    return 0;
}

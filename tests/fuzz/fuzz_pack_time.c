/* The period of an export as an auditor gives it (srv_pack_time_parse,
 * server/evidence_pack.c: the evidence pack and `export --format oscal`):
 * "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ". What parses must be that same
 * instant written back. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz_target.h"
#include "evidence_pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[64], back[64];
    int64_t t = -1;
    time_t tt;
    struct tm tm;

    if (size >= sizeof(text))
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size = strlen(text); /* what the parser sees */
    if (srv_pack_time_parse(text, &t) != 0)
        return 0;
    tt = (time_t)t;
    if (t < 0 || gmtime_r(&tt, &tm) == NULL ||
        strftime(back, sizeof(back), size == 10 ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        abort();
    if (strcmp(back, text) != 0 || (size == 10 && t % 86400 != 0))
        abort();
    return 0;
}

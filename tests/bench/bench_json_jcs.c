/* Throughput of the JSON input path and the canonical writer on an
 * evidence-sized document: prints one line per stage for docs/benchmarks.md.
 *   bench_json_jcs [ITERATIONS]
 * Times are process CPU time, so other load on the machine does not skew them. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "buf.h"
#include "caps.h"
#include "digest.h"
#include "jcs.h"
#include "json.h"

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A document shaped like evidence: a long package list and tool list with
 * strings, integers, fractions and booleans, a little under 4 MiB. */
static int make_document(struct da_buf *b)
{
    int r =
        da_buf_append_str(b, "{\"schema\":\"devattest.evidence/v1\",\"patches\":{\"pending\":[");
    int i;

    for (i = 0; r == 0 && i < 12000; i++)
        r = da_buf_printf(b,
                          "%s{\"name\":\"libexample-%d\",\"installed\":\"1.%d.%d-1\","
                          "\"candidate\":\"1.%d.%d-2+deb12u1\",\"security\":%s,\"age_s\":%d.%03d}",
                          i ? "," : "", i, i % 97, i % 13, i % 97, i % 13, i % 3 ? "false" : "true",
                          i * 37, i % 1000);
    if (r == 0)
        r = da_buf_append_str(b, "]},\"toolchain\":{\"tools\":[");
    for (i = 0; r == 0 && i < 8000; i++)
        r = da_buf_printf(b,
                          "%s{\"path\":\"/usr/bin/tool-\\u00e9-%d\",\"size\":%d,\"sha256\":"
                          "\"%064d\",\"package_verified\":true}",
                          i ? "," : "", i, i * 4099, i);
    return r == 0 ? da_buf_append_str(b, "]}}") : r;
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 20, i;
    unsigned char digest[DA_SHA256_LEN];
    double t0, t_parse = 0, t_jcs = 0, t_digest = 0, mb;
    struct da_buf doc, out;
    size_t size;
    cJSON *v = NULL;

    da_buf_init(&doc, DA_MAX_EVIDENCE);
    if (make_document(&doc) != 0)
        return 1;
    size = da_buf_len(&doc);
    mb = (double)size / (1024.0 * 1024.0);
    for (i = 0; i < iters; i++) {
        t0 = now();
        if (da_json_parse(da_buf_str(&doc), da_buf_len(&doc), DA_MAX_EVIDENCE, &v) != 0)
            return 1;
        t_parse += now() - t0;
        da_buf_init(&out, DA_MAX_CANONICAL_JSON);
        t0 = now();
        if (da_jcs_serialize(v, &out) != 0)
            return 1;
        t_jcs += now() - t0;
        t0 = now();
        if (da_jcs_digest_sha256(v, digest) != 0)
            return 1;
        t_digest += now() - t0;
        da_buf_free(&out);
        cJSON_Delete(v);
    }
    printf("document: %.2f MiB, %d iterations\n", mb, iters);
    printf("da_json_parse (validate + cJSON): %.1f ms/doc, %.1f MiB/s\n", 1e3 * t_parse / iters,
           mb * iters / t_parse);
    printf("da_jcs_serialize: %.1f ms/doc, %.1f MiB/s\n", 1e3 * t_jcs / iters, mb * iters / t_jcs);
    printf("da_jcs_digest_sha256: %.1f ms/doc\n", 1e3 * t_digest / iters);
    da_buf_free(&doc);
    return 0;
}

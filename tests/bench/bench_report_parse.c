/* CPU and allocations of the server's report parse (srv_report_parse and
 * freeing its result) on a realistic body: the evidence document given
 * (canonicalized, as agents send it), a nonce and a quote of real sizes.
 *   bench_report_parse EVIDENCE.json [ITERATIONS]
 * Prints the body size, the CPU time per parse (process CPU time) and the
 * allocations per parse. Under `valgrind --tool=callgrind` the
 * instructions per parse are the total divided by ITERATIONS (the set-up
 * is a small part: one parse and one canonicalization). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "caps.h"
#include "encoding.h"
#include "file.h"
#include "jcs.h"
#include "json.h"
#include "report_parse.h"

static size_t allocations;

static void *counting_malloc(size_t n)
{
    allocations++;
    return malloc(n);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* base64 of n bytes of filler, as a JSON string member value */
static int b64_member(struct da_buf *b, const char *key, size_t n)
{
    unsigned char *raw = calloc(1, n);
    int rc = raw != NULL ? 0 : -1;

    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            raw[i] = (unsigned char)(i * 37 + 11);
        rc = da_buf_printf(b, "\"%s\":\"", key);
    }
    if (rc == 0)
        rc = da_base64_encode(raw, n, DA_BASE64_STD, b);
    if (rc == 0)
        rc = da_buf_append_str(b, "\"");
    free(raw);
    return rc;
}

static int make_body(const char *path, struct da_buf *body)
{
    struct da_buf text, canon;
    cJSON *ev = NULL;
    int rc = da_file_read(path, DA_MAX_EVIDENCE, &text);

    da_buf_init(&canon, DA_MAX_EVIDENCE);
    if (rc == 0)
        rc = da_json_parse(da_buf_str(&text), da_buf_len(&text), DA_MAX_EVIDENCE, &ev);
    if (rc == 0)
        rc = da_jcs_serialize(ev, &canon);
    if (rc == 0)
        rc = da_buf_append_str(body, "{");
    if (rc == 0)
        rc = b64_member(body, "nonce", 32);
    if (rc == 0)
        rc = da_buf_append_str(body, ",\"evidence\":");
    if (rc == 0)
        rc = da_buf_append(body, da_buf_data(&canon), da_buf_len(&canon));
    if (rc == 0)
        rc = da_buf_append_str(body, ",\"quote\":{");
    if (rc == 0)
        rc = b64_member(body, "attest", 145);
    if (rc == 0)
        rc = da_buf_append_str(body, ",");
    if (rc == 0)
        rc = b64_member(body, "signature", 262);
    if (rc == 0)
        rc = da_buf_append_str(body, ",");
    if (rc == 0)
        rc = b64_member(body, "pcr_values", 24 * 32);
    if (rc == 0)
        rc = da_buf_append_str(body, "}}");
    cJSON_Delete(ev);
    da_buf_free(&text);
    da_buf_free(&canon);
    return rc;
}

int main(int argc, char **argv)
{
    cJSON_Hooks hooks = {counting_malloc, free};
    struct da_buf body;
    long iterations = argc > 2 ? atol(argv[2]) : 2000, i;
    size_t allocs;
    double t0, t1;

    if (argc < 2 || iterations <= 0) {
        fprintf(stderr, "usage: %s EVIDENCE.json [ITERATIONS]\n", argv[0]);
        return 2;
    }
    da_buf_init(&body, DA_MAX_REPORT);
    if (make_body(argv[1], &body) != 0) {
        fprintf(stderr, "cannot make a report body from %s\n", argv[1]);
        return 1;
    }
    cJSON_InitHooks(&hooks);
    allocations = 0;
    t0 = now();
    for (i = 0; i < iterations; i++) {
        struct srv_report_in *in = NULL;

        if (srv_report_parse(da_buf_str(&body), da_buf_len(&body), &in, NULL) != 0) {
            fprintf(stderr, "the body was refused\n");
            return 1;
        }
        srv_report_in_free(in);
    }
    t1 = now();
    allocs = allocations;
    printf("body_bytes %zu\n", da_buf_len(&body));
    printf("parse_us %.1f\n", (t1 - t0) * 1e6 / (double)iterations);
    printf("tree_allocations %.0f\n", (double)allocs / (double)iterations);
    da_buf_free(&body);
    return 0;
}

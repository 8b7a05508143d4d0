/* In-process timings of the collectors (no process start-up, no dynamic
 * linking): median of N runs of col_collect_evidence for the given areas.
 *   bench_collect STATE_DIR AREAS|all [RUNS]
 * STATE_DIR "-" runs without caches. Prints "median_ms min_ms". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    double t[1000];
    struct col_ctx ctx;
    int runs, i;

    if (argc < 3)
        return 2;
    runs = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 50;
    if (runs < 1 || runs > 1000)
        return 2;
    memset(&ctx, 0, sizeof(ctx));
    ctx.root = "";
    ctx.live = 1;
    ctx.state_dir = strcmp(argv[1], "-") == 0 ? NULL : argv[1];
    ctx.cfg = col_default_config();
    ctx.ops = &col_live_ops;
    for (i = 0; i < runs; i++) {
        struct timespec a, b;
        cJSON *doc = NULL;

        ctx.now = time(NULL);
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (col_collect_evidence(&ctx, strcmp(argv[2], "all") == 0 ? NULL : argv[2], &doc) != 0)
            return 1;
        clock_gettime(CLOCK_MONOTONIC, &b);
        cJSON_Delete(doc);
        t[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    }
    qsort(t, (size_t)runs, sizeof(t[0]), cmp_double);
    printf("%.3f %.3f\n", t[runs / 2], t[0]);
    return 0;
}

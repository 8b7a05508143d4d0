/* time: whether the kernel clock is synchronized and its maximum error,
 * as adjtimex reports them for the running machine. */
#include "collector.h"

#include "err.h"

static int col_time_collect(const struct col_ctx *ctx, cJSON *area)
{
    static const char why[] = "the kernel clock belongs to the running machine, not --root";
    long max_error = 0;
    int sync = 0, r, e;

    if (ctx->ops->clock == NULL) {
        COL_TRY(col_add_unknown(area, "synchronized", COL_R_NOT_LIVE, why));
        COL_TRY(col_add_unknown(area, "max_error_us", COL_R_NOT_LIVE, why));
        goto out;
    }
    e = ctx->ops->clock(&sync, &max_error);
    if (e < 0) {
        COL_TRY(col_add_unknown_sys(area, "synchronized", e, "adjtimex"));
        COL_TRY(col_add_unknown_sys(area, "max_error_us", e, "adjtimex"));
        goto out;
    }
    COL_TRY(col_add_bool(area, "synchronized", sync));
    COL_TRY(col_add_num(area, "max_error_us", (double)max_error));
out:
    return r;
}

const struct da_collector col_time = {"time", col_time_collect};

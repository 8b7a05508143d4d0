/* The IMA runtime measurement list (common/ima_log.c): the walk, the skip
 * the agent uses, and the replay the server runs, on any bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_target.h"
#include "ima_log.h"
#include "log.h"

static void quiet(enum da_log_level level, const char *line, void *ctx)
{
    (void)level;
    (void)line;
    (void)ctx;
}

static int touch(const struct da_ima_entry *e, void *ctx)
{
    size_t *sum = ctx;

    /* read every byte the entry points at */
    for (size_t i = 0; i < e->path_len; i++)
        *sum += (unsigned char)e->path[i];
    for (size_t i = 0; i < e->digest_len; i++)
        *sum += e->digest[i];
    for (size_t i = 0; i < e->sig_len; i++)
        *sum += e->sig[i];
    for (size_t i = 0; i < e->template_data_len; i++)
        *sum += e->template_data[i];
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char q1[20], q256[32];
    struct da_ima_aggregate a, out;
    size_t sum = 0, used = 0, off = 0;

    da_log_set_sink(quiet, NULL);
    (void)da_ima_walk(data, size, 0, SIZE_MAX, touch, &sum, NULL, NULL);
    (void)da_ima_skip(data, size, size > 0 ? data[0] % 8 : 0, &off);
    da_ima_aggregate_init(&a, DA_IMA_BANK_SHA1 | DA_IMA_BANK_SHA256);
    (void)da_ima_replay(data, size, &a, q1, q256, NULL, NULL, &out, &used);
    return sum == 1 ? 1 : 0;
}

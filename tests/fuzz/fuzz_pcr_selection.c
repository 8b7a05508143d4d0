/* PCR selection text from configuration (agent/keys/pcrsel.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "log.h"
#include "tpm.h"

static void quiet(enum da_log_level level, const char *line, void *ctx)
{
    (void)level;
    (void)line;
    (void)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    TPML_PCR_SELECTION sel, again;
    char *text = malloc(size + 1), out[512];

    if (text == NULL)
        return 0;
    da_log_set_sink(quiet, NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    if (agent_pcr_selection_parse(text, &sel) == 0 &&
        agent_pcr_selection_format(&sel, out, sizeof(out)) == 0) {
        /* What is printed parses back to the same selection. */
        if (agent_pcr_selection_parse(out, &again) != 0 || memcmp(&sel, &again, sizeof(sel)) != 0)
            abort();
    }
    free(text);
    return 0;
}

/* PCR selections as text ("sha256:0,1,2+sha1:0-7"): the parser is the one
 * of common/quote.c, the result a TPML_PCR_SELECTION for ESYS. */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "quote.h"
#include "tpm.h"

#define AGENT_PCR_TEXT 256 /* longest selection text accepted */

int agent_pcr_selection_parse(const char *text, TPML_PCR_SELECTION *out)
{
    struct da_pcr_selection sel;
    size_t i;

    memset(out, 0, sizeof(*out));
    if (text == NULL || strnlen(text, AGENT_PCR_TEXT + 1) > AGENT_PCR_TEXT ||
        da_pcr_selection_parse(text, &sel) != 0 || sel.count > AGENT_TPM_MAX_BANKS)
        goto bad;
    for (i = 0; i < sel.count; i++) {
        TPMS_PCR_SELECTION *bank = &out->pcrSelections[i];

        bank->hash = sel.banks[i].hash;
        bank->sizeofSelect = 3;
        bank->pcrSelect[0] = (BYTE)(sel.banks[i].pcrs & 0xff);
        bank->pcrSelect[1] = (BYTE)((sel.banks[i].pcrs >> 8) & 0xff);
        bank->pcrSelect[2] = (BYTE)((sel.banks[i].pcrs >> 16) & 0xff);
    }
    out->count = (uint32_t)sel.count;
    return 0;
bad:
    da_error_f("invalid PCR selection '%.*s' (expected e.g. %s)", AGENT_PCR_TEXT,
               text != NULL ? text : "", AGENT_TPM_DEFAULT_PCRS);
    memset(out, 0, sizeof(*out));
    return DA_ERR_INVALID_ARG;
}

int agent_pcr_selection_format(const TPML_PCR_SELECTION *sel, char *text, size_t size)
{
    size_t off = 0;
    uint32_t i;
    unsigned pcr;
    int n;

    if (size == 0 || sel->count > TPM2_NUM_PCR_BANKS)
        return DA_ERR_INVALID_ARG;
    text[0] = '\0';
    for (i = 0; i < sel->count; i++) {
        const TPMS_PCR_SELECTION *b = &sel->pcrSelections[i];
        const char *name = da_tpm_hash_name(b->hash);
        int first = 1;

        if (name == NULL || b->sizeofSelect > sizeof(b->pcrSelect))
            return DA_ERR_INVALID_ARG;
        n = snprintf(text + off, size - off, "%s%s:", i > 0 ? "+" : "", name);
        if (n < 0 || (size_t)n >= size - off)
            return DA_ERR_TOO_LARGE;
        off += (size_t)n;
        for (pcr = 0; pcr < 8u * b->sizeofSelect; pcr++) {
            if ((b->pcrSelect[pcr / 8] & (1u << (pcr % 8))) == 0)
                continue;
            n = snprintf(text + off, size - off, "%s%u", first ? "" : ",", pcr);
            if (n < 0 || (size_t)n >= size - off)
                return DA_ERR_TOO_LARGE;
            off += (size_t)n;
            first = 0;
        }
    }
    return 0;
}

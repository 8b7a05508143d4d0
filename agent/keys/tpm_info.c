/* What the ESYS backend tells about the TPM (agent_tpm_info). */
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_esys.h>

#include "caps.h"
#include "err.h"
#include "log.h"
#include "tpm_esys.h"

/* --- information ---------------------------------------------------------- */

static int tpm_get_cap(struct tpm_esys *e, TPM2_CAP cap, uint32_t prop, uint32_t count,
                       TPMI_YES_NO *more, TPMS_CAPABILITY_DATA **data)
{
    TSS2_RC rc = Esys_GetCapability(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, cap, prop,
                                    count, more, data);

    if (rc != TSS2_RC_SUCCESS)
        return TPM_FAIL("Esys_GetCapability", rc, DA_ERR_TPM);
    return 0;
}

static void tpm_info_chars(char *dst, uint32_t v)
{
    int i;

    for (i = 0; i < 4; i++) {
        char c = (char)((v >> (24 - 8 * i)) & 0xff);
        dst[i] = (c >= 0x20 && c < 0x7f) ? c : (c == 0 ? '\0' : '?');
    }
}

static void tpm_info_property(struct agent_tpm_info *info, const TPMS_TAGGED_PROPERTY *p)
{
    if (p->property == TPM2_PT_MANUFACTURER)
        tpm_info_chars(info->manufacturer, p->value);
    else if (p->property >= TPM2_PT_VENDOR_STRING_1 && p->property <= TPM2_PT_VENDOR_STRING_4)
        tpm_info_chars(info->vendor + 4 * (p->property - TPM2_PT_VENDOR_STRING_1), p->value);
    else if (p->property == TPM2_PT_FIRMWARE_VERSION_1)
        info->firmware_version_1 = p->value;
    else if (p->property == TPM2_PT_FIRMWARE_VERSION_2)
        info->firmware_version_2 = p->value;
    else if (p->property == TPM2_PT_LEVEL)
        info->spec_level = p->value;
    else if (p->property == TPM2_PT_REVISION)
        info->spec_revision = p->value;
}

static int tpm_info_properties(struct tpm_esys *e, struct agent_tpm_info *info)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_YES;
    uint32_t next = TPM2_PT_FIXED, i;
    int rc = 0;

    while (rc == 0 && more == TPM2_YES && next < TPM2_PT_FIXED + 0x100) {
        rc = tpm_get_cap(e, TPM2_CAP_TPM_PROPERTIES, next, TPM2_MAX_TPM_PROPERTIES, &more, &cap);
        if (rc != 0)
            break;
        if (cap->data.tpmProperties.count == 0)
            more = TPM2_NO;
        for (i = 0; i < cap->data.tpmProperties.count; i++) {
            tpm_info_property(info, &cap->data.tpmProperties.tpmProperty[i]);
            next = cap->data.tpmProperties.tpmProperty[i].property + 1;
        }
        Esys_Free(cap);
        cap = NULL;
    }
    return rc;
}

static int tpm_info_banks(struct tpm_esys *e, struct agent_tpm_info *info)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more;
    uint32_t i, mask;
    int rc = tpm_get_cap(e, TPM2_CAP_PCRS, 0, 1, &more, &cap);

    if (rc != 0)
        return rc;
    for (i = 0; i < cap->data.assignedPCR.count && info->bank_count < AGENT_TPM_MAX_BANKS; i++) {
        const TPMS_PCR_SELECTION *s = &cap->data.assignedPCR.pcrSelections[i];
        mask = (uint32_t)s->pcrSelect[0] | (uint32_t)s->pcrSelect[1] << 8 |
               (uint32_t)s->pcrSelect[2] << 16;
        if (mask == 0)
            continue;
        info->banks[info->bank_count] = s->hash;
        info->bank_pcrs[info->bank_count++] = mask;
    }
    Esys_Free(cap);
    return 0;
}

static int tpm_info_transient(struct tpm_esys *e, struct agent_tpm_info *info)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_YES;
    /* TPM2_TRANSIENT_FIRST, spelled out: the TSS macro shifts a signed int. */
    TPM2_HANDLE next = 0x80000000u;
    int rc = 0;

    info->transient_objects = 0;
    while (rc == 0 && more == TPM2_YES) {
        rc = tpm_get_cap(e, TPM2_CAP_HANDLES, next, TPM2_MAX_CAP_HANDLES, &more, &cap);
        if (rc != 0)
            break;
        info->transient_objects += cap->data.handles.count;
        if (cap->data.handles.count == 0)
            more = TPM2_NO;
        else
            next = cap->data.handles.handle[cap->data.handles.count - 1] + 1;
        Esys_Free(cap);
        cap = NULL;
    }
    return rc;
}

int agent_esys_info(void *impl, struct agent_tpm_info *info)
{
    struct tpm_esys *e = impl;
    int rc = tpm_info_properties(e, info);

    if (rc == 0)
        rc = tpm_info_banks(e, info);
    if (rc == 0)
        rc = tpm_info_transient(e, info);
    return rc;
}

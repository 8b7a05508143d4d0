/* PCR selections as text ("sha256:0,1,2+sha1:0-7") and hash names. */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "tpm.h"

#define AGENT_PCR_COUNT 24
#define AGENT_PCR_TEXT  256 /* longest selection text accepted */

static const struct {
    const char *name;
    uint16_t alg;
    size_t size;
} agent_hashes[] = {
    {"sha1", TPM2_ALG_SHA1, 20},
    {"sha256", TPM2_ALG_SHA256, 32},
    {"sha384", TPM2_ALG_SHA384, 48},
    {"sha512", TPM2_ALG_SHA512, 64},
};

#define AGENT_NHASHES (sizeof(agent_hashes) / sizeof(agent_hashes[0]))

const char *agent_tpm_hash_name(uint16_t alg)
{
    size_t i;

    for (i = 0; i < AGENT_NHASHES; i++) {
        if (agent_hashes[i].alg == alg)
            return agent_hashes[i].name;
    }
    return NULL;
}

size_t agent_tpm_hash_size(uint16_t alg)
{
    size_t i;

    for (i = 0; i < AGENT_NHASHES; i++) {
        if (agent_hashes[i].alg == alg)
            return agent_hashes[i].size;
    }
    return 0;
}

static int agent_hash_from_name(const char *s, size_t n, uint16_t *alg)
{
    size_t i;

    for (i = 0; i < AGENT_NHASHES; i++) {
        if (strlen(agent_hashes[i].name) == n && memcmp(agent_hashes[i].name, s, n) == 0) {
            *alg = agent_hashes[i].alg;
            return 0;
        }
    }
    return DA_ERR_INVALID_ARG;
}

/* A decimal PCR number 0..23 without sign or leading zeros. */
static int agent_pcr_number(const char **p, unsigned *out)
{
    const char *s = *p;
    unsigned v = 0;

    if (*s < '0' || *s > '9')
        return DA_ERR_INVALID_ARG;
    if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
        return DA_ERR_INVALID_ARG;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (unsigned)(*s - '0');
        if (v >= AGENT_PCR_COUNT)
            return DA_ERR_INVALID_ARG;
        s++;
    }
    *p = s;
    *out = v;
    return 0;
}

/* "0,1,4-7" up to the end of the bank ('+' or NUL). */
static int agent_pcr_list(const char **p, uint32_t *mask)
{
    const char *s = *p;
    unsigned a, b;

    *mask = 0;
    for (;;) {
        if (agent_pcr_number(&s, &a) != 0)
            return DA_ERR_INVALID_ARG;
        b = a;
        if (*s == '-') {
            s++;
            if (agent_pcr_number(&s, &b) != 0 || b < a)
                return DA_ERR_INVALID_ARG;
        }
        for (; a <= b; a++)
            *mask |= 1u << a;
        if (*s != ',')
            break;
        s++;
    }
    *p = s;
    return 0;
}

static int agent_pcr_bank(const char **p, TPMS_PCR_SELECTION *bank)
{
    const char *s = *p, *colon = strchr(s, ':');
    uint32_t mask;

    memset(bank, 0, sizeof(*bank));
    if (colon == NULL || agent_hash_from_name(s, (size_t)(colon - s), &bank->hash) != 0)
        return DA_ERR_INVALID_ARG;
    s = colon + 1;
    if (agent_pcr_list(&s, &mask) != 0)
        return DA_ERR_INVALID_ARG;
    bank->sizeofSelect = 3;
    bank->pcrSelect[0] = (BYTE)(mask & 0xff);
    bank->pcrSelect[1] = (BYTE)((mask >> 8) & 0xff);
    bank->pcrSelect[2] = (BYTE)((mask >> 16) & 0xff);
    *p = s;
    return 0;
}

int agent_pcr_selection_parse(const char *text, TPML_PCR_SELECTION *out)
{
    const char *s = text;
    uint32_t i;

    memset(out, 0, sizeof(*out));
    if (text == NULL || strnlen(text, AGENT_PCR_TEXT + 1) > AGENT_PCR_TEXT)
        goto bad;
    for (;;) {
        if (out->count >= AGENT_TPM_MAX_BANKS ||
            agent_pcr_bank(&s, &out->pcrSelections[out->count]))
            goto bad;
        for (i = 0; i < out->count; i++) {
            if (out->pcrSelections[i].hash == out->pcrSelections[out->count].hash)
                goto bad;
        }
        out->count++;
        if (*s == '\0')
            return 0;
        if (*s != '+')
            goto bad;
        s++;
    }
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
        const char *name = agent_tpm_hash_name(b->hash);
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

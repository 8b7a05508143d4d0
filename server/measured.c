/* Measured boot facts of one report (measured.h). */
#include "measured.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "encoding.h"
#include "err.h"
#include "eventlog_facts.h"
#include "tcg_eventlog.h"
#include "tpm_public.h"

/* Pointer lookup for plain object paths ("/a/b/c"); no escapes needed. */
static const cJSON *at(const cJSON *root, const char *path)
{
    char key[64];
    const char *p = path;

    while (root != NULL && *p == '/') {
        const char *end = strchr(p + 1, '/');
        size_t n = end != NULL ? (size_t)(end - p - 1) : strlen(p + 1);
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, p + 1, n);
        key[n] = '\0';
        root = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, key) : NULL;
        p += n + 1;
    }
    return root;
}

static int contradiction(cJSON *arr, const char *rptr, const cJSON *reported, const char *mptr,
                         const cJSON *measured)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL || !cJSON_AddItemToArray(arr, o))
        return DA_ERR_NOMEM;
    if (cJSON_AddStringToObject(o, "verdict", "claim_contradicts_measurement") == NULL ||
        cJSON_AddStringToObject(o, "reported_pointer", rptr) == NULL ||
        !cJSON_AddItemToObject(o, "reported", cJSON_Duplicate(reported, 1)) ||
        cJSON_AddStringToObject(o, "measured_pointer", mptr) == NULL ||
        !cJSON_AddItemToObject(o, "measured", cJSON_Duplicate(measured, 1)))
        return DA_ERR_NOMEM;
    return 0;
}

/* A reported boolean or string (not an unknown object) that differs. */
static int compare(cJSON *arr, const cJSON *evidence, const char *rptr, const cJSON *facts,
                   const char *mptr)
{
    const cJSON *r = at(evidence, rptr), *m = at(facts, mptr);
    char full[128];

    if (r == NULL || m == NULL || cJSON_IsObject(r) || cJSON_Compare(r, m, 1))
        return 0;
    if ((cJSON_IsBool(r) && cJSON_IsBool(m)) || (cJSON_IsString(r) && cJSON_IsString(m))) {
        snprintf(full, sizeof(full), "/attestation/boot/measured%s", mptr);
        return contradiction(arr, rptr, r, full, m);
    }
    return 0;
}

static int contradictions(const cJSON *evidence, const cJSON *facts, cJSON *boot)
{
    cJSON *arr = cJSON_AddArrayToObject(boot, "contradictions");
    int rc;

    if (arr == NULL)
        return DA_ERR_NOMEM;
    if ((rc = compare(arr, evidence, "/isolation/secure_boot/firmware_enabled", facts,
                      "/secure_boot/SecureBoot")) != 0 ||
        (rc = compare(arr, evidence, "/isolation/secure_boot/setup_mode", facts,
                      "/secure_boot/SetupMode")) != 0 ||
        (rc = compare(arr, evidence, "/host/kernel/release", facts, "/kernel_release")) != 0)
        return rc;
    /* A machine that says it booted without UEFI (so without Secure Boot)
     * while its TPM measured the UEFI SecureBoot variable, or that says
     * Secure Boot is enforced while its TPM measured SecureBoot off
     * (enforcement needs SecureBoot 1, whatever firmware_enabled says). */
    if ((cJSON_IsFalse(at(evidence, "/isolation/secure_boot/uefi")) &&
         at(facts, "/secure_boot/SecureBoot") != NULL) ||
        (cJSON_IsTrue(at(evidence, "/isolation/secure_boot/enabled")) &&
         cJSON_IsFalse(at(facts, "/secure_boot/SecureBoot"))))
        return compare(arr, evidence, "/isolation/secure_boot/enabled", facts,
                       "/secure_boot/SecureBoot");
    return 0;
}

static int dbx_freshness(const struct da_dbx_reference *dbx, const unsigned char *log, size_t len,
                         cJSON *boot)
{
    cJSON *o = NULL;
    int rc = da_dbx_check(dbx, log, len, &o);

    if (rc == DA_ERR_NOT_FOUND) {
        o = cJSON_CreateObject();
        if (o == NULL || cJSON_AddStringToObject(o, "unknown", "not_present") == NULL ||
            cJSON_AddStringToObject(o, "detail", "the event log measured no dbx") == NULL) {
            cJSON_Delete(o);
            return DA_ERR_NOMEM;
        }
        rc = 0;
    }
    if (rc != 0)
        return rc;
    if (!cJSON_AddItemToObject(boot, "dbx", o)) {
        cJSON_Delete(o);
        return DA_ERR_NOMEM;
    }
    return 0;
}

static int mismatch_detail(const struct da_eventlog_mismatch *m, char *out, size_t size)
{
    char a[2 * DA_EVENTLOG_MAX_DIGEST + 1], b[2 * DA_EVENTLOG_MAX_DIGEST + 1];
    const char *bank = da_eventlog_alg_name(m->alg);

    if (m->alg == 0 || bank == NULL) {
        snprintf(out, size, "the log carries none of the quoted PCR banks");
        return 0;
    }
    if (da_hex_encode_to(m->replayed, m->size, a, sizeof(a)) != 0 ||
        da_hex_encode_to(m->quoted, m->size, b, sizeof(b)) != 0)
        return DA_ERR_INTERNAL;
    snprintf(out, size, "%s PCR %u: the log replays to %s, the quote has %s", bank, m->pcr, a, b);
    return 0;
}

/* The lowest firmware PCR (0-7) of the quote that is not in its reset state
 * (all zeros), or -1 when all are: firmware that measured the boot leaves
 * PCR 0 and the others extended, so their values show that an event log
 * exists even when the agent sent none. */
static int firmware_pcr_extended(const struct da_pcr_selection *sel, const unsigned char *values,
                                 size_t values_len, const char **bank)
{
    static const unsigned char zero[DA_EVENTLOG_MAX_DIGEST];
    size_t off = 0, b;

    if (values_len != da_pcr_selection_values_len(sel))
        return -1;
    for (b = 0; b < sel->count; b++) {
        size_t size = da_tpm_hash_size(sel->banks[b].hash);

        for (unsigned i = 0; i < 24; i++) {
            if ((sel->banks[b].pcrs & (1u << i)) == 0)
                continue;
            if (i < 8 && size <= sizeof(zero) && memcmp(values + off, zero, size) != 0) {
                *bank = da_eventlog_alg_name(sel->banks[b].hash);
                return (int)i;
            }
            off += size;
        }
    }
    return -1;
}

int srv_measured_boot(const struct da_pcr_selection *sel, const unsigned char *pcr_values,
                      size_t pcr_values_len, const unsigned char *log, size_t log_len,
                      const cJSON *evidence, const struct da_dbx_reference *dbx, cJSON **boot)
{
    struct da_eventlog_mismatch m;
    cJSON *b = cJSON_CreateObject(), *facts = NULL;
    char detail[320];
    const char *state;
    int rc;

    *boot = NULL;
    if (b == NULL)
        return DA_ERR_NOMEM;
    if (log == NULL || log_len == 0) {
        const char *bank = NULL;
        int pcr = firmware_pcr_extended(sel, pcr_values, pcr_values_len, &bank);

        state = "absent";
        rc = 0;
        if (pcr >= 0) {
            /* the firmware measured the boot: a log exists and was withheld */
            state = "withheld";
            snprintf(detail, sizeof(detail),
                     "no event log was sent, but the quoted %s PCR %d is extended: the firmware "
                     "measured the boot",
                     bank != NULL ? bank : "", pcr);
            if (cJSON_AddStringToObject(b, "detail", detail) == NULL)
                rc = DA_ERR_NOMEM;
        }
    } else {
        enum da_eventlog_outcome o = DA_EVENTLOG_MALFORMED;

        rc = da_eventlog_outcome(log, log_len, sel, pcr_values, pcr_values_len, &m, &o, &facts);
        state = da_eventlog_outcome_name(o);
        if (rc == 0 && o == DA_EVENTLOG_DOES_NOT_REPLAY) {
            rc = mismatch_detail(&m, detail, sizeof(detail));
            if (rc == 0 && cJSON_AddStringToObject(b, "detail", detail) == NULL)
                rc = DA_ERR_NOMEM;
        } else if (rc == 0 && o == DA_EVENTLOG_MALFORMED) {
            rc = cJSON_AddStringToObject(b, "detail", da_strerror(DA_ERR_TPM_EVENTLOG)) != NULL
                     ? 0
                     : DA_ERR_NOMEM;
        } else if (rc == 0 && o == DA_EVENTLOG_DATA_MALFORMED) {
            /* the extends replay but an event's data is malformed */
            rc = cJSON_AddStringToObject(b, "detail", "an event's data is malformed") != NULL
                     ? 0
                     : DA_ERR_NOMEM;
        } else if (rc == 0) {
            if (!cJSON_AddItemToObject(b, "measured", facts)) {
                cJSON_Delete(facts);
                rc = DA_ERR_NOMEM;
            } else {
                rc = contradictions(evidence, facts, b);
                if (rc == 0 && dbx != NULL && dbx->n > 0)
                    rc = dbx_freshness(dbx, log, log_len, b);
            }
        }
    }
    if (rc == 0 && cJSON_AddStringToObject(b, "log", state) == NULL)
        rc = DA_ERR_NOMEM;
    if (rc != 0) {
        cJSON_Delete(b);
        return rc;
    }
    *boot = b;
    return 0;
}

/* A list of the named member of each element ("digest", "sha256"). */
static cJSON *pluck(const cJSON *arr, const char *member)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *e;

    cJSON_ArrayForEach(e, arr)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, member);
        if (out == NULL ||
            (cJSON_IsString(v) && !cJSON_AddItemToArray(out, cJSON_CreateString(v->valuestring)))) {
            cJSON_Delete(out);
            return NULL;
        }
    }
    return out;
}

int srv_boot_state(const cJSON *boot, cJSON **state)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(boot, "measured"), *k;
    cJSON *st, *keys;

    *state = NULL;
    if (!cJSON_IsObject(m))
        return 0;
    st = cJSON_CreateObject();
    if (st == NULL ||
        !cJSON_AddItemToObject(st, "secure_boot",
                               cJSON_Duplicate(cJSON_GetObjectItem(m, "secure_boot"), 1)) ||
        (keys = cJSON_AddObjectToObject(st, "keys")) == NULL ||
        !cJSON_AddItemToObject(st, "authorities",
                               pluck(cJSON_GetObjectItem(m, "authorities"), "sha256")) ||
        !cJSON_AddItemToObject(st, "boot_applications",
                               pluck(cJSON_GetObjectItem(m, "boot_applications"), "digest"))) {
        cJSON_Delete(st);
        return DA_ERR_NOMEM;
    }
    cJSON_ArrayForEach(k, cJSON_GetObjectItem(m, "keys"))
    {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(k, "sha256");
        if (cJSON_IsString(d) && cJSON_AddStringToObject(keys, k->string, d->valuestring) == NULL) {
            cJSON_Delete(st);
            return DA_ERR_NOMEM;
        }
    }
    *state = st;
    return 0;
}

int srv_boot_changes(const cJSON *reference, const cJSON *now, cJSON **changes)
{
    static const char *const members[] = {"secure_boot", "keys", "authorities",
                                          "boot_applications"};
    cJSON *arr = cJSON_CreateArray();

    *changes = NULL;
    if (arr == NULL)
        return DA_ERR_NOMEM;
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(reference, members[i]);
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(now, members[i]);
        cJSON *c;
        if (r != NULL && n != NULL && cJSON_Compare(r, n, 1))
            continue;
        c = cJSON_CreateObject();
        if (c == NULL || !cJSON_AddItemToArray(arr, c) ||
            cJSON_AddStringToObject(c, "what", members[i]) == NULL ||
            !cJSON_AddItemToObject(c, "reference",
                                   r != NULL ? cJSON_Duplicate(r, 1) : cJSON_CreateNull()) ||
            !cJSON_AddItemToObject(c, "now",
                                   n != NULL ? cJSON_Duplicate(n, 1) : cJSON_CreateNull())) {
            cJSON_Delete(arr);
            return DA_ERR_NOMEM;
        }
    }
    *changes = arr;
    return 0;
}

int srv_boot_pins_check(cJSON *boot, const char *const *pins, size_t n_pins)
{
    const cJSON *apps = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(boot, "measured"), "boot_applications");
    const cJSON *a;
    cJSON *o, *unpinned;

    if (n_pins == 0 || !cJSON_IsArray(apps))
        return 0;
    o = cJSON_CreateObject();
    if (o == NULL || !cJSON_AddItemToObject(boot, "pins", o)) {
        cJSON_Delete(o);
        return DA_ERR_NOMEM;
    }
    if (cJSON_AddNumberToObject(o, "vendor_pins", (double)n_pins) == NULL ||
        (unpinned = cJSON_AddArrayToObject(o, "unpinned")) == NULL)
        return DA_ERR_NOMEM;
    cJSON_ArrayForEach(a, apps)
    {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(a, "digest");
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(a, "path");
        char digest[sizeof("sha256:") + 2 * DA_EVENTLOG_MAX_DIGEST];
        bool pinned = false;
        cJSON *u;

        if (!cJSON_IsString(d))
            continue;
        snprintf(digest, sizeof(digest), "sha256:%s", d->valuestring);
        for (size_t i = 0; i < n_pins && !pinned; i++)
            pinned = strcmp(pins[i], digest) == 0;
        if (pinned)
            continue;
        u = cJSON_CreateObject();
        if (u == NULL || !cJSON_AddItemToArray(unpinned, u) ||
            cJSON_AddStringToObject(u, "digest", digest) == NULL ||
            (cJSON_IsString(path) && cJSON_AddStringToObject(u, "path", path->valuestring) == NULL))
            return DA_ERR_NOMEM;
    }
    return 0;
}

/* The firmware TPM event log: a strict walk over its events and replay. */
#include "tcg_eventlog.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "caps.h"
#include "err.h"
#include "log.h"
#include "quote.h"
#include "tpm_public.h"

#define EL_SHA1_SIZE    20
#define EL_SPEC_ID_SIG  "Spec ID Event03" /* 16 bytes with its NUL */
#define EL_LOCALITY_SIG "StartupLocality" /* 16 bytes with its NUL */
#define EL_SIG_SIZE     16

/* --- the walk ----------------------------------------------------------- */

struct el_reader {
    const unsigned char *p;
    size_t left;
};

static int el_u32(struct el_reader *r, uint32_t *v)
{
    if (r->left < 4)
        return DA_ERR_TPM_EVENTLOG;
    *v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
         (uint32_t)r->p[3] << 24;
    r->p += 4;
    r->left -= 4;
    return 0;
}

static int el_u16(struct el_reader *r, uint16_t *v)
{
    if (r->left < 2)
        return DA_ERR_TPM_EVENTLOG;
    *v = (uint16_t)(r->p[0] | r->p[1] << 8);
    r->p += 2;
    r->left -= 2;
    return 0;
}

static int el_bytes(struct el_reader *r, size_t n, const unsigned char **out)
{
    if (r->left < n)
        return DA_ERR_TPM_EVENTLOG;
    *out = r->p;
    r->p += n;
    r->left -= n;
    return 0;
}

/* The Spec ID Event03 structure in the header event's data. */
static int el_spec_id(const unsigned char *data, uint32_t size, struct da_eventlog_summary *s)
{
    struct el_reader r = {data, size};
    const unsigned char *sig, *skip;
    uint32_t count, i;
    uint8_t vendor;

    if (el_bytes(&r, EL_SIG_SIZE, &sig) != 0 || memcmp(sig, EL_SPEC_ID_SIG, EL_SIG_SIZE) != 0)
        return DA_ERR_NOT_FOUND;
    /* platformClass, version minor/major, errata, uintnSize */
    if (el_bytes(&r, 8, &skip) != 0 || el_u32(&r, &count) != 0 || count == 0 ||
        count > DA_EVENTLOG_MAX_ALGS)
        return DA_ERR_TPM_EVENTLOG;
    for (i = 0; i < count; i++) {
        if (el_u16(&r, &s->algs[i]) != 0 || el_u16(&r, &s->alg_sizes[i]) != 0 ||
            s->alg_sizes[i] == 0 || s->alg_sizes[i] > DA_EVENTLOG_MAX_DIGEST)
            return DA_ERR_TPM_EVENTLOG;
        if (da_tpm_hash_size(s->algs[i]) != 0 && da_tpm_hash_size(s->algs[i]) != s->alg_sizes[i])
            return DA_ERR_TPM_EVENTLOG;
    }
    s->alg_count = count;
    if (r.left < 1)
        return DA_ERR_TPM_EVENTLOG;
    vendor = r.p[0];
    r.p++;
    r.left--;
    if (el_bytes(&r, vendor, &skip) != 0 || r.left != 0)
        return DA_ERR_TPM_EVENTLOG;
    s->crypto_agile = 1;
    return 0;
}

/* TCG_PCR_EVENT: the SHA-1 format of the header event and of old logs. */
static int el_event1(struct el_reader *r, struct da_eventlog_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    if (el_u32(r, &ev->pcr) != 0 || el_u32(r, &ev->type) != 0)
        return DA_ERR_TPM_EVENTLOG;
    ev->digest_count = 1;
    ev->digests[0].alg = TPM2_ALG_SHA1;
    ev->digests[0].size = EL_SHA1_SIZE;
    if (el_bytes(r, EL_SHA1_SIZE, &ev->digests[0].value) != 0 || el_u32(r, &ev->data_size) != 0 ||
        el_bytes(r, ev->data_size, &ev->data) != 0)
        return DA_ERR_TPM_EVENTLOG;
    return ev->pcr < DA_EVENTLOG_PCRS ? 0 : DA_ERR_TPM_EVENTLOG;
}

/* TCG_PCR_EVENT2, digests sized by the Spec ID event. */
static int el_event2(struct el_reader *r, const struct da_eventlog_summary *s,
                     struct da_eventlog_event *ev)
{
    uint32_t count, i;
    size_t k;

    memset(ev, 0, sizeof(*ev));
    if (el_u32(r, &ev->pcr) != 0 || el_u32(r, &ev->type) != 0 || el_u32(r, &count) != 0 ||
        ev->pcr >= DA_EVENTLOG_PCRS || count > s->alg_count)
        return DA_ERR_TPM_EVENTLOG;
    for (i = 0; i < count; i++) {
        struct da_eventlog_digest *d = &ev->digests[i];
        if (el_u16(r, &d->alg) != 0)
            return DA_ERR_TPM_EVENTLOG;
        for (k = 0; k < s->alg_count && s->algs[k] != d->alg; k++)
            ;
        for (size_t j = 0; j < i; j++) {
            if (ev->digests[j].alg == d->alg)
                return DA_ERR_TPM_EVENTLOG;
        }
        if (k == s->alg_count)
            return DA_ERR_TPM_EVENTLOG;
        d->size = s->alg_sizes[k];
        if (el_bytes(r, d->size, &d->value) != 0)
            return DA_ERR_TPM_EVENTLOG;
    }
    ev->digest_count = count;
    if (el_u32(r, &ev->data_size) != 0 || el_bytes(r, ev->data_size, &ev->data) != 0)
        return DA_ERR_TPM_EVENTLOG;
    return 0;
}

int da_eventlog_walk(const unsigned char *data, size_t len, struct da_eventlog_summary *s,
                     da_eventlog_visit_fn visit, void *ctx)
{
    struct el_reader r = {data, len};
    struct da_eventlog_event ev;
    int rc;

    memset(s, 0, sizeof(*s));
    if (data == NULL || len == 0 || len > DA_MAX_EVENT_LOG)
        return DA_ERR_TPM_EVENTLOG;
    rc = el_event1(&r, &ev);
    if (rc != 0)
        return rc;
    if (ev.type == DA_EV_NO_ACTION && ev.pcr == 0) {
        rc = el_spec_id(ev.data, ev.data_size, s);
        if (rc != 0 && rc != DA_ERR_NOT_FOUND)
            return rc;
    }
    if (!s->crypto_agile) {
        s->alg_count = 1;
        s->algs[0] = TPM2_ALG_SHA1;
        s->alg_sizes[0] = EL_SHA1_SIZE;
    }
    s->events = 1;
    ev.index = 0;
    if (!s->crypto_agile && visit != NULL && (rc = visit(&ev, ctx)) != 0)
        return rc;
    if (!s->crypto_agile && ev.type != DA_EV_NO_ACTION)
        s->extended_pcrs |= 1u << ev.pcr;
    while (r.left > 0) {
        rc = s->crypto_agile ? el_event2(&r, s, &ev) : el_event1(&r, &ev);
        if (rc != 0)
            return rc;
        ev.index = s->events++;
        if (ev.type != DA_EV_NO_ACTION)
            s->extended_pcrs |= 1u << ev.pcr;
        if (visit != NULL && (rc = visit(&ev, ctx)) != 0)
            return rc;
    }
    return 0;
}

int da_eventlog_parse(const unsigned char *data, size_t len, struct da_eventlog_summary *out)
{
    int rc = da_eventlog_walk(data, len, out, NULL, NULL);

    if (rc != 0) {
        memset(out, 0, sizeof(*out));
        da_error_f("the firmware event log is malformed");
    }
    return rc;
}

/* --- digests ------------------------------------------------------------ */

/* Fetched once: OpenSSL 3 looks an implicitly named digest up (under a
 * lock) on every use, which costs more than hashing an event. */
static EVP_MD *el_mds[4];
static pthread_once_t el_mds_once = PTHREAD_ONCE_INIT;

static void el_mds_fetch(void)
{
    el_mds[0] = EVP_MD_fetch(NULL, "SHA1", NULL);
    el_mds[1] = EVP_MD_fetch(NULL, "SHA256", NULL);
    el_mds[2] = EVP_MD_fetch(NULL, "SHA384", NULL);
    el_mds[3] = EVP_MD_fetch(NULL, "SHA512", NULL);
}

const EVP_MD *da_eventlog_md(uint16_t alg)
{
    pthread_once(&el_mds_once, el_mds_fetch);
    switch (alg) {
    case TPM2_ALG_SHA1:
        return el_mds[0];
    case TPM2_ALG_SHA256:
        return el_mds[1];
    case TPM2_ALG_SHA384:
        return el_mds[2];
    case TPM2_ALG_SHA512:
        return el_mds[3];
    default:
        return NULL;
    }
}

/* --- replay ------------------------------------------------------------- */

struct el_replay {
    uint16_t alg;
    size_t size;
    const EVP_MD *md;
    EVP_MD_CTX *mctx;
    unsigned char (*pcrs)[DA_EVENTLOG_MAX_DIGEST];
    uint32_t extended;
};

static int el_replay_event(const struct da_eventlog_event *ev, void *ctx)
{
    struct el_replay *rp = ctx;
    unsigned char buf[2 * DA_EVENTLOG_MAX_DIGEST];
    unsigned int n = 0;
    size_t i;

    if (ev->type == DA_EV_NO_ACTION) {
        if (ev->pcr == 0 && ev->data_size == EL_SIG_SIZE + 1 &&
            memcmp(ev->data, EL_LOCALITY_SIG, EL_SIG_SIZE) == 0 && (rp->extended & 1u) == 0)
            rp->pcrs[0][rp->size - 1] = ev->data[EL_SIG_SIZE];
        return 0;
    }
    for (i = 0; i < ev->digest_count; i++) {
        if (ev->digests[i].alg != rp->alg)
            continue;
        memcpy(buf, rp->pcrs[ev->pcr], rp->size);
        memcpy(buf + rp->size, ev->digests[i].value, rp->size);
        if (EVP_DigestInit_ex2(rp->mctx, rp->md, NULL) != 1 ||
            EVP_DigestUpdate(rp->mctx, buf, 2 * rp->size) != 1 ||
            EVP_DigestFinal_ex(rp->mctx, rp->pcrs[ev->pcr], &n) != 1)
            return DA_ERR_CRYPTO;
        rp->extended |= 1u << ev->pcr;
    }
    return 0;
}

int da_eventlog_replay(const unsigned char *data, size_t len, uint16_t alg,
                       unsigned char pcrs[DA_EVENTLOG_PCRS][DA_EVENTLOG_MAX_DIGEST],
                       uint32_t *extended)
{
    struct da_eventlog_summary s;
    struct el_replay rp;
    size_t i;
    int rc;

    *extended = 0;
    memset(pcrs, 0, DA_EVENTLOG_PCRS * DA_EVENTLOG_MAX_DIGEST);
    memset(&rp, 0, sizeof(rp));
    rp.alg = alg;
    rp.size = da_tpm_hash_size(alg);
    rp.md = da_eventlog_md(alg);
    rp.pcrs = pcrs;
    if (rp.size == 0 || rp.md == NULL)
        return DA_ERR_UNSUPPORTED;
    rc = da_eventlog_walk(data, len, &s, NULL, NULL);
    if (rc != 0) {
        da_error_f("the firmware event log is malformed");
        return rc;
    }
    for (i = 0; i < s.alg_count && s.algs[i] != alg; i++)
        ;
    if (i == s.alg_count)
        return DA_ERR_NOT_FOUND;
    rp.mctx = EVP_MD_CTX_new();
    if (rp.mctx == NULL)
        return DA_ERR_NOMEM;
    rc = da_eventlog_walk(data, len, &s, el_replay_event, &rp);
    EVP_MD_CTX_free(rp.mctx);
    if (rc != 0)
        return rc;
    *extended = rp.extended;
    return 0;
}

/* --- comparison with a quote --------------------------------------------- */

#define EL_BOOT_PCRS 0x7bffu /* 0-9 and 11-14 */

int da_eventlog_match(const unsigned char *data, size_t len, const struct da_pcr_selection *sel,
                      const unsigned char *values, size_t values_len,
                      struct da_eventlog_mismatch *m)
{
    unsigned char pcrs[DA_EVENTLOG_PCRS][DA_EVENTLOG_MAX_DIGEST];
    size_t off = 0, b, compared = 0;
    uint32_t extended;
    int rc;

    memset(m, 0, sizeof(*m));
    if (values_len != da_pcr_selection_values_len(sel))
        return DA_ERR_INVALID_ARG;
    for (b = 0; b < sel->count; b++) {
        uint16_t alg = sel->banks[b].hash;
        size_t size = da_tpm_hash_size(alg);
        uint32_t want;

        rc = da_eventlog_replay(data, len, alg, pcrs, &extended);
        if (rc == DA_ERR_NOT_FOUND || rc == DA_ERR_UNSUPPORTED) {
            off += size * (size_t)__builtin_popcount(sel->banks[b].pcrs);
            continue;
        }
        if (rc != 0)
            return rc;
        compared++;
        want = sel->banks[b].pcrs & (EL_BOOT_PCRS | extended);
        for (uint32_t i = 0; i < DA_EVENTLOG_PCRS; i++) {
            if ((sel->banks[b].pcrs & (1u << i)) == 0)
                continue;
            if ((want & (1u << i)) != 0 && memcmp(pcrs[i], values + off, size) != 0) {
                m->alg = alg;
                m->pcr = i;
                m->size = size;
                memcpy(m->replayed, pcrs[i], size);
                memcpy(m->quoted, values + off, size);
                return DA_ERR_VERIFY_EVENTLOG_REPLAY;
            }
            off += size;
        }
    }
    return compared > 0 ? 0 : DA_ERR_VERIFY_EVENTLOG_REPLAY;
}

/* The IMA runtime measurement list: a strict walk and the replay of PCR 10
 * (ima_log.h). */
#include "ima_log.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "err.h"
#include "tcg_eventlog.h"
#include "tpm_public.h"

#define IMA_LEGACY_TEMPLATE "ima"
#define IMA_LEGACY_PADDED   (DA_IMA_LEGACY_NAME_MAX + 1)

struct ima_reader {
    const unsigned char *p;
    size_t left;
};

static int rd_u32(struct ima_reader *r, uint32_t *v)
{
    if (r->left < 4)
        return DA_ERR_TPM_IMA_LOG;
    *v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
         (uint32_t)r->p[3] << 24;
    r->p += 4;
    r->left -= 4;
    return 0;
}

static int rd_bytes(struct ima_reader *r, size_t n, const unsigned char **out)
{
    if (r->left < n)
        return DA_ERR_TPM_IMA_LOG;
    *out = r->p;
    r->p += n;
    r->left -= n;
    return 0;
}

/* A length-prefixed field of template data. */
static int rd_field(struct ima_reader *r, const unsigned char **data, size_t *len)
{
    uint32_t n;
    int rc = rd_u32(r, &n);

    if (rc == 0)
        rc = rd_bytes(r, n, data);
    if (rc == 0)
        *len = n;
    return rc;
}

static size_t alg_digest_size(const char *alg)
{
    static const struct {
        const char *name;
        size_t size;
    } algs[] = {{"md5", 16},    {"sha1", 20},        {"sha224", 28},     {"sha256", 32},
                {"sha384", 48}, {"sha512", 64},      {"sm3", 32},        {"sm3-256", 32},
                {"rmd160", 20}, {"streebog256", 32}, {"streebog512", 64}};

    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (strcmp(alg, algs[i].name) == 0)
            return algs[i].size;
    }
    return 0;
}

/* d-ng: "ALGO:" NUL DIGEST. */
static int decode_dng(const unsigned char *d, size_t n, struct da_ima_entry *e)
{
    const unsigned char *colon = memchr(d, ':', n);
    size_t alg_len;

    if (colon == NULL)
        return DA_ERR_TPM_IMA_LOG;
    alg_len = (size_t)(colon - d);
    if (alg_len == 0 || alg_len >= sizeof(e->digest_alg) || alg_len + 2 > n || colon[1] != '\0' ||
        memchr(d, '\0', alg_len) != NULL)
        return DA_ERR_TPM_IMA_LOG;
    memcpy(e->digest_alg, d, alg_len);
    e->digest_alg[alg_len] = '\0';
    e->digest = colon + 2;
    e->digest_len = n - alg_len - 2;
    if (e->digest_len > DA_IMA_MAX_DIGEST)
        return DA_ERR_TPM_IMA_LOG;
    /* a known algorithm must have its size; an unknown one any size */
    if (alg_digest_size(e->digest_alg) != 0 && alg_digest_size(e->digest_alg) != e->digest_len)
        return DA_ERR_TPM_IMA_LOG;
    return 0;
}

/* n-ng: the path and its NUL, no NUL inside. */
static int decode_nng(const unsigned char *d, size_t n, struct da_ima_entry *e)
{
    if (n == 0 || d[n - 1] != '\0' || memchr(d, '\0', n - 1) != NULL)
        return DA_ERR_TPM_IMA_LOG;
    e->path = (const char *)d;
    e->path_len = n - 1;
    return 0;
}

/* The fields of a non-legacy template; ima-ng and ima-sig are decoded. */
static int parse_fields(struct da_ima_entry *e)
{
    struct ima_reader r = {e->template_data, e->template_data_len};
    const unsigned char *f[3];
    size_t flen[3], n = 0;
    int ng = e->template_name_len == 6 && memcmp(e->template_name, "ima-ng", 6) == 0;
    int sig = e->template_name_len == 7 && memcmp(e->template_name, "ima-sig", 7) == 0;
    int rc = 0;

    while (rc == 0 && r.left > 0) {
        const unsigned char *d;
        size_t dl;
        rc = rd_field(&r, &d, &dl);
        if (rc == 0 && n < 3) {
            f[n] = d;
            flen[n] = dl;
        }
        n++;
    }
    if (rc != 0 || (!ng && !sig))
        return rc;
    if (n != (ng ? 2u : 3u))
        return DA_ERR_TPM_IMA_LOG;
    rc = decode_dng(f[0], flen[0], e);
    if (rc == 0)
        rc = decode_nng(f[1], flen[1], e);
    if (rc == 0 && sig) {
        e->sig = f[2];
        e->sig_len = flen[2];
    }
    e->decoded = rc == 0;
    return rc;
}

/* The legacy template: 20-byte digest, u32 length, path without NUL. The
 * file digest is read as SHA-1, the template's default (an MD5 list does not parse). */
static int parse_legacy(struct ima_reader *r, struct da_ima_entry *e)
{
    const unsigned char *start = r->p, *digest, *name;
    uint32_t n;
    int rc = rd_bytes(r, DA_IMA_SHA1_LEN, &digest);

    if (rc == 0)
        rc = rd_u32(r, &n);
    if (rc == 0 && n > DA_IMA_LEGACY_NAME_MAX)
        rc = DA_ERR_TPM_IMA_LOG;
    if (rc == 0)
        rc = rd_bytes(r, n, &name);
    if (rc == 0 && memchr(name, '\0', n) != NULL)
        rc = DA_ERR_TPM_IMA_LOG;
    if (rc != 0)
        return rc;
    e->legacy = 1;
    e->template_data = start;
    e->template_data_len = (size_t)(r->p - start);
    snprintf(e->digest_alg, sizeof(e->digest_alg), "sha1");
    e->digest = digest;
    e->digest_len = DA_IMA_SHA1_LEN;
    e->path = (const char *)name;
    e->path_len = n;
    e->decoded = 1;
    return 0;
}

static int parse_entry(struct ima_reader *r, struct da_ima_entry *e)
{
    const unsigned char *name, *data;
    uint32_t name_len, data_len;
    static const unsigned char zero[DA_IMA_SHA1_LEN];
    int rc;

    memset(e, 0, sizeof(*e));
    rc = rd_u32(r, &e->pcr);
    if (rc == 0 && e->pcr >= DA_EVENTLOG_PCRS)
        rc = DA_ERR_TPM_IMA_LOG;
    if (rc == 0)
        rc = rd_bytes(r, DA_IMA_SHA1_LEN, &e->template_hash);
    if (rc == 0)
        rc = rd_u32(r, &name_len);
    if (rc == 0 && (name_len == 0 || name_len > DA_IMA_MAX_TEMPLATE_NAME))
        rc = DA_ERR_TPM_IMA_LOG;
    if (rc == 0)
        rc = rd_bytes(r, name_len, &name);
    for (uint32_t i = 0; rc == 0 && i < name_len; i++) {
        if (name[i] <= 0x20 || name[i] >= 0x7f)
            rc = DA_ERR_TPM_IMA_LOG;
    }
    if (rc != 0)
        return rc;
    e->template_name = (const char *)name;
    e->template_name_len = name_len;
    e->violation = memcmp(e->template_hash, zero, DA_IMA_SHA1_LEN) == 0;
    if (name_len == 3 && memcmp(name, IMA_LEGACY_TEMPLATE, 3) == 0)
        return parse_legacy(r, e);
    rc = rd_u32(r, &data_len);
    if (rc == 0 && data_len > DA_IMA_MAX_TEMPLATE_DATA)
        rc = DA_ERR_TPM_IMA_LOG;
    if (rc == 0)
        rc = rd_bytes(r, data_len, &data);
    if (rc != 0)
        return rc;
    e->template_data = data;
    e->template_data_len = data_len;
    return parse_fields(e);
}

int da_ima_walk(const unsigned char *data, size_t len, uint64_t first_index, size_t max,
                da_ima_visit_fn visit, void *ctx, size_t *count, size_t *used)
{
    struct ima_reader r = {data, len};
    struct da_ima_entry e;
    size_t n = 0;
    int rc = 0;

    if (count != NULL)
        *count = 0;
    if (used != NULL)
        *used = 0;
    if (data == NULL && len != 0)
        return DA_ERR_INVALID_ARG;
    while (rc == 0 && r.left > 0 && n < max) {
        rc = parse_entry(&r, &e);
        if (rc != 0)
            break;
        e.index = first_index + n;
        n++;
        if (visit != NULL)
            rc = visit(&e, ctx);
        if (count != NULL)
            *count = n;
        if (used != NULL)
            *used = (size_t)(r.p - data);
    }
    return rc;
}

int da_ima_skip(const unsigned char *data, size_t len, uint64_t skip, size_t *offset)
{
    size_t n = 0, used = 0;
    int rc;

    *offset = 0;
    if (skip > SIZE_MAX)
        return DA_ERR_NOT_FOUND;
    rc = da_ima_walk(data, len, 0, (size_t)skip, NULL, NULL, &n, &used);
    if (rc != 0)
        return rc;
    if (n < skip)
        return DA_ERR_NOT_FOUND;
    *offset = used;
    return 0;
}

/* --- replay ------------------------------------------------------------- */

struct ima_bank {
    unsigned bit;
    uint16_t alg;
    size_t size;
    const EVP_MD *md;
    unsigned char *pcr;
    const unsigned char *quoted;
};

struct ima_replay {
    struct ima_bank bank[DA_IMA_BANKS];
    size_t nbanks;
    EVP_MD_CTX *mctx;
    struct da_ima_aggregate *agg;
    size_t walked; /* entries of the increment replayed */
    size_t matched_at;
    int matched;
    da_ima_visit_fn visit; /* the caller's, for each entry replayed */
    void *visit_ctx;
};

/* The template hash in one bank's algorithm, as ima_calc_field_array_hash
 * computes it. */
static int template_hash(struct ima_replay *rp, const struct ima_bank *b,
                         const struct da_ima_entry *e, unsigned char *out)
{
    unsigned int n = 0;

    if (EVP_DigestInit_ex2(rp->mctx, b->md, NULL) != 1)
        return DA_ERR_CRYPTO;
    if (e->legacy) {
        unsigned char name[IMA_LEGACY_PADDED];
        memset(name, 0, sizeof(name));
        memcpy(name, e->path, e->path_len);
        if (EVP_DigestUpdate(rp->mctx, e->digest, DA_IMA_SHA1_LEN) != 1 ||
            EVP_DigestUpdate(rp->mctx, name, sizeof(name)) != 1)
            return DA_ERR_CRYPTO;
    } else if (EVP_DigestUpdate(rp->mctx, e->template_data, e->template_data_len) != 1) {
        return DA_ERR_CRYPTO;
    }
    return EVP_DigestFinal_ex(rp->mctx, out, &n) == 1 && n == b->size ? 0 : DA_ERR_CRYPTO;
}

static int all_match(const struct ima_replay *rp)
{
    for (size_t i = 0; i < rp->nbanks; i++) {
        if (memcmp(rp->bank[i].pcr, rp->bank[i].quoted, rp->bank[i].size) != 0)
            return 0;
    }
    return 1;
}

static int replay_entry(const struct da_ima_entry *e, void *ctx)
{
    struct ima_replay *rp = ctx;
    unsigned char h[DA_IMA_MAX_DIGEST];
    unsigned int n = 0;
    int rc;

    rp->walked++;
    rp->agg->entries++;
    if (rp->visit != NULL && (rc = rp->visit(e, rp->visit_ctx)) != 0)
        return rc < 0 ? rc : DA_ERR_INVALID_ARG;
    if (e->pcr != DA_IMA_PCR)
        return 0;
    for (size_t i = 0; i < rp->nbanks; i++) {
        struct ima_bank *b = &rp->bank[i];
        if (e->violation) {
            memset(h, 0xff, b->size);
        } else if ((rc = template_hash(rp, b, e, h)) != 0) {
            return rc;
        }
        if (EVP_DigestInit_ex2(rp->mctx, b->md, NULL) != 1 ||
            EVP_DigestUpdate(rp->mctx, b->pcr, b->size) != 1 ||
            EVP_DigestUpdate(rp->mctx, h, b->size) != 1 ||
            EVP_DigestFinal_ex(rp->mctx, b->pcr, &n) != 1 || n != b->size)
            return DA_ERR_CRYPTO;
    }
    if (all_match(rp)) {
        rp->matched = 1;
        rp->matched_at = rp->walked;
        return 1; /* stop: the quote covers the entries up to here */
    }
    return 0;
}

void da_ima_aggregate_init(struct da_ima_aggregate *a, unsigned banks)
{
    memset(a, 0, sizeof(*a));
    a->banks = banks & (DA_IMA_BANK_SHA1 | DA_IMA_BANK_SHA256);
}

static int replay_setup(struct ima_replay *rp, struct da_ima_aggregate *agg,
                        const unsigned char *quoted_sha1, const unsigned char *quoted_sha256)
{
    memset(rp, 0, sizeof(*rp));
    rp->agg = agg;
    if ((agg->banks & DA_IMA_BANK_SHA1) != 0) {
        if (quoted_sha1 == NULL)
            return DA_ERR_INVALID_ARG;
        rp->bank[rp->nbanks++] =
            (struct ima_bank){DA_IMA_BANK_SHA1, TPM2_ALG_SHA1, 20, da_eventlog_md(TPM2_ALG_SHA1),
                              agg->sha1,        quoted_sha1};
    }
    if ((agg->banks & DA_IMA_BANK_SHA256) != 0) {
        if (quoted_sha256 == NULL)
            return DA_ERR_INVALID_ARG;
        rp->bank[rp->nbanks++] = (struct ima_bank){
            DA_IMA_BANK_SHA256, TPM2_ALG_SHA256, 32, da_eventlog_md(TPM2_ALG_SHA256),
            agg->sha256,        quoted_sha256};
    }
    if (rp->nbanks == 0)
        return DA_ERR_INVALID_ARG;
    for (size_t i = 0; i < rp->nbanks; i++) {
        if (rp->bank[i].md == NULL)
            return DA_ERR_UNSUPPORTED;
    }
    rp->mctx = EVP_MD_CTX_new();
    return rp->mctx != NULL ? 0 : DA_ERR_NOMEM;
}

int da_ima_replay(const unsigned char *data, size_t len, const struct da_ima_aggregate *agg,
                  const unsigned char *quoted_sha1, const unsigned char *quoted_sha256,
                  da_ima_visit_fn visit, void *ctx, struct da_ima_aggregate *out, size_t *used)
{
    struct ima_replay rp;
    struct da_ima_aggregate run = *agg;
    size_t bytes = 0;
    int rc;

    *out = *agg;
    *used = 0;
    if (data == NULL && len != 0)
        return DA_ERR_INVALID_ARG;
    rc = replay_setup(&rp, &run, quoted_sha1, quoted_sha256);
    rp.visit = visit;
    rp.visit_ctx = ctx;
    if (rc == 0 && all_match(&rp)) {
        rp.matched = 1;
    } else if (rc == 0) {
        rc = da_ima_walk(data, len, agg->entries, SIZE_MAX, replay_entry, &rp, NULL, &bytes);
        if (rc == 1)
            rc = 0;
    }
    EVP_MD_CTX_free(rp.mctx);
    /* the rest of the increment (entries the quote does not cover) must
     * parse as well before anything counts */
    if (rc == 0 && rp.matched && bytes < len)
        rc = da_ima_walk(data + bytes, len - bytes, 0, SIZE_MAX, NULL, NULL, NULL, NULL);
    if (rc != 0)
        return rc;
    *out = run;
    *used = rp.matched_at;
    return rp.matched ? 0 : DA_ERR_VERIFY_IMA_REPLAY;
}

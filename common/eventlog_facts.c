/* Measured facts from the firmware event log (eventlog_facts.h). */
#include "eventlog_facts.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "encoding.h"
#include "err.h"
#include "json.h"
#include "tcg_eventlog.h"
#include "tpm_public.h"

#define EF_TEXT_MAX 4096 /* longest text fact kept (command line, version) */
#define EF_LIST_MAX 256  /* most list entries kept per fact */

static const unsigned char EF_CERT_X509[16] = {0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a,
                                               0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72};
static const unsigned char EF_CERT_SHA256[16] = {0x26, 0x16, 0xc4, 0xc1, 0x4c, 0x50, 0x92, 0x40,
                                                 0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28};

const char *da_eventlog_alg_name(uint16_t alg)
{
    switch (alg) {
    case TPM2_ALG_SHA1:
        return "sha1";
    case TPM2_ALG_SHA256:
        return "sha256";
    case TPM2_ALG_SHA384:
        return "sha384";
    case TPM2_ALG_SHA512:
        return "sha512";
    default:
        return NULL;
    }
}

static uint32_t ef_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t ef_le64(const unsigned char *p)
{
    return (uint64_t)ef_le32(p) | (uint64_t)ef_le32(p + 4) << 32;
}

/* UTF-16LE (up to a NUL) to UTF-8; unpaired surrogates and control
 * characters become U+FFFD so the result is always valid JSON text. */
static void ef_utf16(const unsigned char *p, size_t units, char *out, size_t outsize)
{
    size_t o = 0, i;

    for (i = 0; i < units && o + 5 < outsize; i++) {
        uint32_t c = (uint32_t)(p[2 * i] | p[2 * i + 1] << 8);
        if (c == 0)
            break;
        if (c >= 0xd800 && c < 0xdc00 && i + 1 < units) {
            uint32_t d = (uint32_t)(p[2 * i + 2] | p[2 * i + 3] << 8);
            if (d >= 0xdc00 && d < 0xe000) {
                c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
                i++;
            }
        }
        if ((c >= 0xd800 && c < 0xe000) || c < 0x20 || c == 0x7f)
            c = 0xfffd;
        if (c < 0x80) {
            out[o++] = (char)c;
        } else if (c < 0x800) {
            out[o++] = (char)(0xc0 | c >> 6);
            out[o++] = (char)(0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
            out[o++] = (char)(0xe0 | c >> 12);
            out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
            out[o++] = (char)(0x80 | (c & 0x3f));
        } else {
            out[o++] = (char)(0xf0 | c >> 18);
            out[o++] = (char)(0x80 | ((c >> 12) & 0x3f));
            out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
            out[o++] = (char)(0x80 | (c & 0x3f));
        }
    }
    out[o] = '\0';
}

/* Printable ASCII up to a NUL; anything else makes it not text (-1). */
static int ef_ascii(const unsigned char *p, size_t n, char *out, size_t outsize)
{
    size_t i;

    for (i = 0; i < n && p[i] != 0; i++) {
        if (p[i] < 0x20 || p[i] > 0x7e)
            return -1;
        if (i + 1 < outsize)
            out[i] = (char)p[i];
    }
    for (size_t j = i; j < n; j++) {
        if (p[j] != 0)
            return -1;
    }
    out[i < outsize ? i : outsize - 1] = '\0';
    return i == 0 ? -1 : 0;
}

/* UTF-16 text: even size (or one trailing NUL byte more), every high byte
 * zero for ASCII-range text, a terminating NUL unit or none. */
static int ef_is_utf16(const unsigned char *p, size_t n)
{
    size_t i;

    /* systemd-boot's PCR 8 load options end with one stray NUL byte */
    if (n % 2 != 0 && n > 2 && p[n - 1] == 0)
        n--;
    if (n < 2 || n % 2 != 0)
        return 0;
    for (i = 0; i + 1 < n; i += 2) {
        if (p[i] == 0 && p[i + 1] == 0)
            return i + 2 == n;
        if (p[i + 1] != 0 || p[i] < 0x20 || p[i] > 0x7e)
            return 0;
    }
    return 1;
}

static int ef_add_hex(cJSON *o, const char *name, const unsigned char *p, size_t n)
{
    char hex[2 * DA_EVENTLOG_MAX_DIGEST + 1];

    if (n > DA_EVENTLOG_MAX_DIGEST || da_hex_encode_to(p, n, hex, sizeof(hex)) != 0)
        return DA_ERR_INTERNAL;
    return cJSON_AddStringToObject(o, name, hex) != NULL ? 0 : DA_ERR_NOMEM;
}

static int ef_add_sha256(cJSON *o, const char *name, const unsigned char *p, size_t n)
{
    unsigned char md[32];
    unsigned int mdlen = 0;

    if (EVP_Digest(p, n, md, &mdlen, da_eventlog_md(TPM2_ALG_SHA256), NULL) != 1)
        return DA_ERR_CRYPTO;
    return ef_add_hex(o, name, md, mdlen);
}

/* One DER header within [*p, end): *p moves past it, *len is the content
 * length. Indefinite lengths and overruns are refused. */
static int ef_der(const unsigned char **p, const unsigned char *end, long *len, int *tag, int *cls)
{
    int r;

    if (*p >= end)
        return -1;
    r = ASN1_get_object(p, len, tag, cls, end - *p);
    if ((r & 0x80) != 0 || (r & 0x21) == 0x21 || *len > end - *p)
        return -1;
    return 0;
}

/* The subject of a DER certificate, read from its TBSCertificate without
 * decoding (and caching the extensions of) the whole certificate: a log
 * carries a dozen certificates and the server reads them for every
 * report. */
static int ef_add_subject(cJSON *o, const unsigned char *der, size_t n)
{
    const unsigned char *p = der, *end = der + n, *tbs_end, *subj;
    X509_NAME *name;
    char buf[512];
    long len;
    int tag, cls, i, rc = 0;

    if (n > 65536 || ef_der(&p, end, &len, &tag, &cls) != 0 || tag != V_ASN1_SEQUENCE ||
        ef_der(&p, end, &len, &tag, &cls) != 0 || tag != V_ASN1_SEQUENCE)
        return DA_ERR_NOT_FOUND;
    tbs_end = p + len;
    /* [0] version (optional), serialNumber, signature, issuer, validity */
    for (i = 0; i < 5; i++) {
        const unsigned char *q = p;
        if (ef_der(&q, tbs_end, &len, &tag, &cls) != 0)
            return DA_ERR_NOT_FOUND;
        if (i == 0 && !(cls == V_ASN1_CONTEXT_SPECIFIC && tag == 0))
            i++; /* no version: this is the serial number */
        p = q + len;
    }
    subj = p;
    if (ef_der(&p, tbs_end, &len, &tag, &cls) != 0 || tag != V_ASN1_SEQUENCE)
        return DA_ERR_NOT_FOUND;
    p = subj;
    name = d2i_X509_NAME(NULL, &p, (long)(tbs_end - subj));
    if (name == NULL)
        return DA_ERR_NOT_FOUND;
    if (X509_NAME_oneline(name, buf, sizeof(buf)) == NULL)
        rc = DA_ERR_NOMEM;
    else if (cJSON_AddStringToObject(o, "subject", buf) == NULL)
        rc = DA_ERR_NOMEM;
    X509_NAME_free(name);
    return rc;
}

/* UEFI_VARIABLE_DATA: GUID, UINT64 name length (characters), UINT64 data
 * length, CHAR16 name[], data[]. The sizes must add up exactly. */
struct ef_var {
    char name[64];
    const unsigned char *data;
    size_t size;
};

static int ef_variable(const struct da_eventlog_event *ev, struct ef_var *v)
{
    uint64_t nlen, dlen;

    if (ev->data_size < 32)
        return DA_ERR_TPM_EVENTLOG;
    nlen = ef_le64(ev->data + 16);
    dlen = ef_le64(ev->data + 24);
    if (nlen > 1024 || dlen > ev->data_size || 32 + 2 * nlen + dlen != ev->data_size)
        return DA_ERR_TPM_EVENTLOG;
    ef_utf16(ev->data + 32, (size_t)nlen, v->name, sizeof(v->name));
    v->data = ev->data + 32 + 2 * nlen;
    v->size = (size_t)dlen;
    return 0;
}

/* EFI_SIGNATURE_LIST entries of PK/KEK/db/dbx. */
static int ef_signature_lists(cJSON *o, const unsigned char *p, size_t n)
{
    cJSON *subjects = cJSON_AddArrayToObject(o, "x509_subjects");
    size_t entries = 0, sha256 = 0, x509 = 0;

    if (subjects == NULL)
        return DA_ERR_NOMEM;
    while (n > 0) {
        uint32_t lsize, hsize, ssize;
        const unsigned char *e;
        size_t count, i;

        if (n < 28)
            return DA_ERR_TPM_EVENTLOG;
        lsize = ef_le32(p + 16);
        hsize = ef_le32(p + 20);
        ssize = ef_le32(p + 24);
        if (lsize > n || lsize < 28 || hsize > lsize - 28 || ssize < 16 ||
            (lsize - 28 - hsize) % ssize != 0)
            return DA_ERR_TPM_EVENTLOG;
        count = (lsize - 28 - hsize) / ssize;
        e = p + 28 + hsize;
        for (i = 0; i < count; i++, e += ssize) {
            entries++;
            if (memcmp(p, EF_CERT_SHA256, 16) == 0) {
                sha256++;
            } else if (memcmp(p, EF_CERT_X509, 16) == 0) {
                cJSON *tmp = cJSON_CreateObject();
                cJSON *s;
                x509++;
                if (tmp == NULL)
                    return DA_ERR_NOMEM;
                if (ef_add_subject(tmp, e + 16, ssize - 16) == 0 &&
                    (s = cJSON_GetObjectItemCaseSensitive(tmp, "subject")) != NULL &&
                    cJSON_GetArraySize(subjects) < EF_LIST_MAX)
                    cJSON_AddItemToArray(subjects, cJSON_CreateString(s->valuestring));
                cJSON_Delete(tmp);
            }
        }
        p += lsize;
        n -= lsize;
    }
    if (cJSON_AddNumberToObject(o, "entries", (double)entries) == NULL ||
        cJSON_AddNumberToObject(o, "sha256_entries", (double)sha256) == NULL ||
        cJSON_AddNumberToObject(o, "x509_entries", (double)x509) == NULL)
        return DA_ERR_NOMEM;
    return 0;
}

struct ef_ctx {
    uint16_t alg;
    cJSON *root, *secure_boot, *keys, *authorities, *shim, *apps;
    int have_cmdline, have_version;
};

static int ef_driver_config(struct ef_ctx *c, const struct da_eventlog_event *ev)
{
    static const char *const modes[] = {"SecureBoot", "SetupMode", "AuditMode", "DeployedMode"};
    static const char *const keys[] = {"PK", "KEK", "db", "dbx"};
    struct ef_var v;
    size_t i;
    int rc = ef_variable(ev, &v);

    if (rc != 0)
        return rc;
    for (i = 0; i < 4; i++) {
        if (strcmp(v.name, modes[i]) != 0)
            continue;
        cJSON_DeleteItemFromObjectCaseSensitive(c->secure_boot, modes[i]);
        /* An absent (empty) variable reads as off. */
        if (cJSON_AddBoolToObject(c->secure_boot, modes[i], v.size >= 1 && v.data[0] == 1) == NULL)
            return DA_ERR_NOMEM;
        return 0;
    }
    for (i = 0; i < 4; i++) {
        cJSON *k;
        if (strcmp(v.name, keys[i]) != 0)
            continue;
        cJSON_DeleteItemFromObjectCaseSensitive(c->keys, keys[i]);
        k = cJSON_AddObjectToObject(c->keys, keys[i]);
        if (k == NULL)
            return DA_ERR_NOMEM;
        if ((rc = ef_add_sha256(k, "sha256", v.data, v.size)) != 0)
            return rc;
        return ef_signature_lists(k, v.data, v.size);
    }
    return 0;
}

static int ef_authority(struct ef_ctx *c, const struct da_eventlog_event *ev)
{
    struct ef_var v;
    cJSON *a;
    char text[128];
    int rc = ef_variable(ev, &v);

    if (rc != 0)
        return rc;
    if (strcmp(v.name, "SbatLevel") == 0 && ef_ascii(v.data, v.size, text, sizeof(text)) == 0 &&
        cJSON_GetObjectItemCaseSensitive(c->shim, "SbatLevel") == NULL) {
        /* one line per component; keep it as measured, newline trimmed */
        size_t l = strlen(text);
        while (l > 0 && (text[l - 1] == '\n' || text[l - 1] == '\r'))
            text[--l] = '\0';
        if (cJSON_AddStringToObject(c->shim, "SbatLevel", text) == NULL)
            return DA_ERR_NOMEM;
    }
    if (cJSON_GetArraySize(c->authorities) >= EF_LIST_MAX)
        return 0;
    a = cJSON_CreateObject();
    if (a == NULL || !cJSON_AddItemToArray(c->authorities, a))
        return DA_ERR_NOMEM;
    if (cJSON_AddStringToObject(a, "variable", v.name) == NULL)
        return DA_ERR_NOMEM;
    if ((rc = ef_add_sha256(a, "sha256", v.data, v.size)) != 0)
        return rc;
    /* db/MokList entries are EFI_SIGNATURE_DATA (owner GUID, then the
     * certificate); shim's own vendor certificate is measured bare. */
    if (v.size > 16 && ef_add_subject(a, v.data + 16, v.size - 16) == DA_ERR_NOT_FOUND)
        (void)ef_add_subject(a, v.data, v.size);
    return 0;
}

static const struct da_eventlog_digest *ef_digest(const struct da_eventlog_event *ev, uint16_t alg)
{
    for (size_t i = 0; i < ev->digest_count; i++) {
        if (ev->digests[i].alg == alg)
            return &ev->digests[i];
    }
    return NULL;
}

/* The file path nodes (type 4, subtype 4) of an EFI device path. */
static void ef_device_path(const unsigned char *p, size_t n, char *out, size_t outsize)
{
    size_t o = 0;

    out[0] = '\0';
    while (n >= 4) {
        size_t len = (size_t)(p[2] | p[3] << 8);
        if (len < 4 || len > n || p[0] == 0x7f)
            break;
        if (p[0] == 4 && p[1] == 4 && len > 4 && o + 1 < outsize) {
            ef_utf16(p + 4, (len - 4) / 2, out + o, outsize - o);
            o += strlen(out + o);
        }
        p += len;
        n -= len;
    }
}

static int ef_boot_app(struct ef_ctx *c, const struct da_eventlog_event *ev)
{
    const struct da_eventlog_digest *d = ef_digest(ev, c->alg);
    cJSON *a;
    char path[512];
    int rc;

    if (d == NULL || cJSON_GetArraySize(c->apps) >= EF_LIST_MAX)
        return 0;
    a = cJSON_CreateObject();
    if (a == NULL || !cJSON_AddItemToArray(c->apps, a))
        return DA_ERR_NOMEM;
    if ((rc = ef_add_hex(a, "digest", d->value, d->size)) != 0)
        return rc;
    /* EFI_IMAGE_LOAD_EVENT: three UINT64 and the device path length. */
    if (ev->data_size >= 32) {
        uint64_t dpl = ef_le64(ev->data + 24);
        if (dpl <= ev->data_size - 32) {
            ef_device_path(ev->data + 32, (size_t)dpl, path, sizeof(path));
            if (path[0] != '\0' && cJSON_AddStringToObject(a, "path", path) == NULL)
                return DA_ERR_NOMEM;
        }
    }
    return 0;
}

static int ef_text_fact(struct ef_ctx *c, const char *name, const struct da_eventlog_event *ev,
                        size_t skip)
{
    static char text[EF_TEXT_MAX];
    const unsigned char *p = ev->data + skip;
    size_t n = ev->data_size - skip;

    if (ef_is_utf16(p, n))
        ef_utf16(p, n / 2, text, sizeof(text));
    else if (ef_ascii(p, n, text, sizeof(text)) != 0)
        return ef_add_hex(c->root, name, p,
                          n > DA_EVENTLOG_MAX_DIGEST ? DA_EVENTLOG_MAX_DIGEST : n);
    if (text[0] == '\0')
        return 0;
    cJSON_DeleteItemFromObjectCaseSensitive(c->root, name);
    return cJSON_AddStringToObject(c->root, name, text) != NULL ? 0 : DA_ERR_NOMEM;
}

static int ef_visit(const struct da_eventlog_event *ev, void *ctx)
{
    static const char grub_prefix[] = "kernel_cmdline: ";
    struct ef_ctx *c = ctx;
    char name[32];

    if (ev->pcr == 7 && ev->type == DA_EV_EFI_VARIABLE_DRIVER_CONFIG)
        return ef_driver_config(c, ev);
    if (ev->pcr == 7 && ev->type == DA_EV_EFI_VARIABLE_AUTHORITY)
        return ef_authority(c, ev);
    if (ev->pcr == 4 && ev->type == DA_EV_EFI_BOOT_SERVICES_APPLICATION)
        return ef_boot_app(c, ev);
    if (ev->pcr == 0 && ev->type == DA_EV_S_CRTM_VERSION && !c->have_version) {
        c->have_version = 1;
        return ev->data_size > 0 ? ef_text_fact(c, "firmware_version", ev, 0) : 0;
    }
    if (ev->pcr == 14 && ev->type == DA_EV_IPL &&
        ef_ascii(ev->data, ev->data_size, name, sizeof(name)) == 0 &&
        (strcmp(name, "MokList") == 0 || strcmp(name, "MokListX") == 0 ||
         strcmp(name, "MokListTrusted") == 0)) {
        const struct da_eventlog_digest *d = ef_digest(ev, c->alg);
        cJSON *m;
        cJSON_DeleteItemFromObjectCaseSensitive(c->shim, name);
        m = cJSON_AddObjectToObject(c->shim, name);
        if (m == NULL)
            return DA_ERR_NOMEM;
        return d != NULL ? ef_add_hex(m, "digest", d->value, d->size) : 0;
    }
    if ((ev->pcr == 8 || ev->pcr == 12) && ev->type == DA_EV_IPL && !c->have_cmdline) {
        size_t gl = sizeof(grub_prefix) - 1;
        if (ev->pcr == 8 && ev->data_size > gl && memcmp(ev->data, grub_prefix, gl) == 0) {
            c->have_cmdline = 1;
            return ef_text_fact(c, "kernel_cmdline", ev, gl);
        }
        if (ef_is_utf16(ev->data, ev->data_size)) {
            c->have_cmdline = 1;
            return ef_text_fact(c, "kernel_cmdline", ev, 0);
        }
    }
    return 0;
}

/* The kernel release from the first word of a GRUB command line
 * ("(hd0,gpt2)/vmlinuz-6.1.0-13-amd64 root=..."): what follows "vmlinuz-". */
static int ef_kernel_release(cJSON *root)
{
    const cJSON *cl = cJSON_GetObjectItemCaseSensitive(root, "kernel_cmdline");
    char rel[128];
    const char *p, *end;
    size_t n;

    if (!cJSON_IsString(cl))
        return 0;
    end = strchr(cl->valuestring, ' ');
    if (end == NULL)
        end = cl->valuestring + strlen(cl->valuestring);
    for (p = cl->valuestring; p < end; p++) {
        if (strncmp(p, "vmlinuz-", 8) == 0)
            break;
    }
    if (p >= end)
        return 0;
    p += 8;
    n = (size_t)(end - p);
    if (n == 0 || n >= sizeof(rel))
        return 0;
    memcpy(rel, p, n);
    rel[n] = '\0';
    return cJSON_AddStringToObject(root, "kernel_release", rel) != NULL ? 0 : DA_ERR_NOMEM;
}

int da_eventlog_facts(const unsigned char *data, size_t len, uint16_t alg, cJSON **out)
{
    struct da_eventlog_summary s;
    struct ef_ctx c;
    cJSON *banks;
    size_t i;
    int rc;

    *out = NULL;
    memset(&c, 0, sizeof(c));
    rc = da_eventlog_walk(data, len, &s, NULL, NULL);
    if (rc != 0)
        return rc;
    for (i = 0; i < s.alg_count && s.algs[i] != alg; i++)
        ;
    c.alg = i < s.alg_count ? alg : s.algs[0];
    c.root = cJSON_CreateObject();
    if (c.root == NULL)
        return DA_ERR_NOMEM;
    rc = DA_ERR_NOMEM;
    if (cJSON_AddStringToObject(c.root, "format", s.crypto_agile ? "crypto-agile" : "sha1") ==
            NULL ||
        cJSON_AddNumberToObject(c.root, "events", (double)s.events) == NULL ||
        (banks = cJSON_AddArrayToObject(c.root, "banks")) == NULL)
        goto fail;
    for (i = 0; i < s.alg_count; i++) {
        const char *n = da_eventlog_alg_name(s.algs[i]);
        if (n != NULL && !cJSON_AddItemToArray(banks, cJSON_CreateString(n)))
            goto fail;
    }
    if (cJSON_AddStringToObject(c.root, "digest_bank",
                                da_eventlog_alg_name(c.alg) != NULL ? da_eventlog_alg_name(c.alg)
                                                                    : "unknown") == NULL ||
        (c.secure_boot = cJSON_AddObjectToObject(c.root, "secure_boot")) == NULL ||
        (c.keys = cJSON_AddObjectToObject(c.root, "keys")) == NULL ||
        (c.authorities = cJSON_AddArrayToObject(c.root, "authorities")) == NULL ||
        (c.shim = cJSON_AddObjectToObject(c.root, "shim")) == NULL ||
        (c.apps = cJSON_AddArrayToObject(c.root, "boot_applications")) == NULL)
        goto fail;
    rc = da_eventlog_walk(data, len, &s, ef_visit, &c);
    if (rc != 0)
        goto fail;
    rc = ef_kernel_release(c.root);
    if (rc != 0)
        goto fail;
    *out = c.root;
    return 0;
fail:
    cJSON_Delete(c.root);
    return rc;
}

/* --- dbx freshness ------------------------------------------------------- */

struct ef_dbx {
    const unsigned char *data; /* the last measured dbx variable's data */
    size_t size;
    int seen;
};

static int ef_dbx_visit(const struct da_eventlog_event *ev, void *ctx)
{
    struct ef_dbx *d = ctx;
    struct ef_var v;

    if (ev->pcr != 7 || ev->type != DA_EV_EFI_VARIABLE_DRIVER_CONFIG)
        return 0;
    if (ef_variable(ev, &v) != 0)
        return DA_ERR_TPM_EVENTLOG;
    if (strcmp(v.name, "dbx") == 0) {
        d->data = v.data;
        d->size = v.size;
        d->seen = 1;
    }
    return 0;
}

static int ef_cmp32(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

/* The SHA-256 entries of EFI_SIGNATURE_LISTs that tile data exactly
 * (*out malloc'ed, sorted); -1 when the lists do not tile it. */
static int ef_esl_sha256(const unsigned char *data, size_t size, unsigned char (**out)[32],
                         size_t *n)
{
    const unsigned char *p;
    size_t left, k = 0;

    /* at most one entry per 48 bytes (owner GUID + hash) */
    *out = calloc(size / 48 + 1, 32);
    if (*out == NULL)
        return DA_ERR_NOMEM;
    for (p = data, left = size; left > 0;) {
        uint32_t lsize, hsize, ssize;
        if (left < 28)
            goto bad;
        lsize = ef_le32(p + 16);
        hsize = ef_le32(p + 20);
        ssize = ef_le32(p + 24);
        if (lsize > left || lsize < 28 || hsize > lsize - 28 || ssize < 16 ||
            (lsize - 28 - hsize) % ssize != 0)
            goto bad;
        if (memcmp(p, EF_CERT_SHA256, 16) == 0 && ssize == 48) {
            for (const unsigned char *e = p + 28 + hsize; e < p + lsize; e += ssize)
                memcpy((*out)[k++], e + 16, 32);
        }
        p += lsize;
        left -= lsize;
    }
    qsort(*out, k, 32, ef_cmp32);
    *n = k;
    return 0;
bad:
    free(*out);
    *out = NULL;
    return -1;
}

int da_eventlog_dbx_sha256(const unsigned char *log, size_t len, unsigned char (**out)[32],
                           size_t *n)
{
    struct da_eventlog_summary s;
    struct ef_dbx d = {NULL, 0, 0};
    int rc;

    *out = NULL;
    *n = 0;
    rc = da_eventlog_walk(log, len, &s, ef_dbx_visit, &d);
    if (rc != 0)
        return rc;
    if (!d.seen)
        return DA_ERR_NOT_FOUND;
    rc = ef_esl_sha256(d.data, d.size, out, n);
    return rc == -1 ? DA_ERR_TPM_EVENTLOG : rc;
}

/* EFI_CERT_TYPE_PKCS7_GUID 4aafd29d-68df-49ee-8aa9-347d375665a7 */
static const unsigned char EF_CERT_TYPE_PKCS7[16] = {
    0x9d, 0xd2, 0xaf, 0x4a, 0xdf, 0x68, 0xee, 0x49, 0x8a, 0xa9, 0x34, 0x7d, 0x37, 0x56, 0x65, 0xa7};

int da_dbx_update_sha256(const unsigned char *data, size_t len, unsigned char (**out)[32],
                         size_t *n)
{
    uint32_t cert_len;
    int rc;

    *out = NULL;
    *n = 0;
    /* EFI_TIME (16 bytes), then WIN_CERTIFICATE_UEFI_GUID: dwLength,
     * wRevision 0x0200, wCertificateType WIN_CERT_TYPE_EFI_GUID (0x0EF1),
     * CertType EFI_CERT_TYPE_PKCS7_GUID and the signature; dwLength counts
     * the header (24 bytes) and the signature. */
    if (len < 16 + 24)
        return DA_ERR_DBX_UPDATE;
    cert_len = ef_le32(data + 16);
    if (cert_len < 24 || cert_len > len - 16 || data[20] != 0x00 || data[21] != 0x02 ||
        data[22] != 0xf1 || data[23] != 0x0e || memcmp(data + 24, EF_CERT_TYPE_PKCS7, 16) != 0)
        return DA_ERR_DBX_UPDATE;
    if (len - 16 - cert_len == 0)
        return DA_ERR_DBX_UPDATE; /* no signature list after the signature */
    rc = ef_esl_sha256(data + 16 + cert_len, len - 16 - cert_len, out, n);
    return rc == -1 ? DA_ERR_DBX_UPDATE : rc;
}

int da_dbx_reference_parse(const char *text, size_t len, struct da_dbx_reference *out)
{
    const cJSON *schema, *date, *list, *e;
    cJSON *root = NULL;
    size_t i = 0, n;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = da_json_parse(text, len, (size_t)DA_DBX_REF_MAX * 80 + 4096, &root);
    if (rc != 0)
        return DA_ERR_CONFIG;
    schema = cJSON_GetObjectItemCaseSensitive(root, "schema");
    date = cJSON_GetObjectItemCaseSensitive(root, "date");
    list = cJSON_GetObjectItemCaseSensitive(root, "sha256");
    rc = DA_ERR_CONFIG;
    if (!cJSON_IsString(schema) || strcmp(schema->valuestring, "devattest.dbx-reference/v1") != 0 ||
        !cJSON_IsString(date) || strlen(date->valuestring) != 10 || !cJSON_IsArray(list))
        goto out;
    for (i = 0; i < 10; i++) {
        char c = date->valuestring[i];
        if ((i == 4 || i == 7) ? c != '-' : (c < '0' || c > '9'))
            goto out;
    }
    n = (size_t)cJSON_GetArraySize(list);
    if (n == 0 || n > DA_DBX_REF_MAX)
        goto out;
    out->sha256 = calloc(n, 32);
    if (out->sha256 == NULL) {
        rc = DA_ERR_NOMEM;
        goto out;
    }
    i = 0;
    cJSON_ArrayForEach(e, list)
    {
        size_t got = 0;
        if (!cJSON_IsString(e) || strlen(e->valuestring) != 64 ||
            da_hex_decode_to(e->valuestring, 64, out->sha256[i], 32, &got) != 0 || got != 32)
            goto out;
        for (size_t j = 0; j < 64; j++) {
            if (e->valuestring[j] >= 'A' && e->valuestring[j] <= 'F')
                goto out;
        }
        i++;
    }
    qsort(out->sha256, n, 32, ef_cmp32);
    out->n = n;
    memcpy(out->date, date->valuestring, 10);
    out->date[10] = '\0';
    rc = 0;
out:
    cJSON_Delete(root);
    if (rc != 0)
        da_dbx_reference_free(out);
    return rc;
}

void da_dbx_reference_free(struct da_dbx_reference *r)
{
    free(r->sha256);
    memset(r, 0, sizeof(*r));
}

int da_dbx_check(const struct da_dbx_reference *ref, const unsigned char *log, size_t len,
                 cJSON **out)
{
    unsigned char(*have)[32] = NULL;
    size_t n = 0, missing = 0;
    cJSON *o;
    int rc;

    *out = NULL;
    rc = da_eventlog_dbx_sha256(log, len, &have, &n);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < ref->n; i++) {
        if (n == 0 || bsearch(ref->sha256[i], have, n, 32, ef_cmp32) == NULL)
            missing++;
    }
    free(have);
    o = cJSON_CreateObject();
    if (o == NULL || cJSON_AddStringToObject(o, "reference_date", ref->date) == NULL ||
        cJSON_AddNumberToObject(o, "reference_entries", (double)ref->n) == NULL ||
        cJSON_AddNumberToObject(o, "measured_entries", (double)n) == NULL ||
        cJSON_AddNumberToObject(o, "missing", (double)missing) == NULL ||
        cJSON_AddBoolToObject(o, "current", missing == 0) == NULL) {
        cJSON_Delete(o);
        return DA_ERR_NOMEM;
    }
    *out = o;
    return 0;
}

int da_eventlog_outcome(const unsigned char *log, size_t log_len,
                        const struct da_pcr_selection *sel, const unsigned char *values,
                        size_t values_len, struct da_eventlog_mismatch *m,
                        enum da_eventlog_outcome *outcome, cJSON **facts)
{
    cJSON *f = NULL;
    int rc = da_eventlog_match(log, log_len, sel, values, values_len, m);

    if (facts != NULL)
        *facts = NULL;
    if (rc == DA_ERR_VERIFY_EVENTLOG_REPLAY) {
        *outcome = DA_EVENTLOG_DOES_NOT_REPLAY;
        return 0;
    }
    if (rc == DA_ERR_TPM_EVENTLOG) {
        *outcome = DA_EVENTLOG_MALFORMED;
        return 0;
    }
    if (rc != 0)
        return rc;
    rc = da_eventlog_facts(log, log_len, TPM2_ALG_SHA256, &f);
    if (rc == DA_ERR_TPM_EVENTLOG) {
        *outcome = DA_EVENTLOG_DATA_MALFORMED;
        return 0;
    }
    if (rc != 0)
        return rc;
    *outcome = DA_EVENTLOG_REPLAYS;
    if (facts != NULL)
        *facts = f;
    else
        cJSON_Delete(f);
    return 0;
}

const char *da_eventlog_outcome_name(enum da_eventlog_outcome o)
{
    switch (o) {
    case DA_EVENTLOG_REPLAYS:
        return "replays";
    case DA_EVENTLOG_DOES_NOT_REPLAY:
        return "does_not_replay";
    case DA_EVENTLOG_MALFORMED:
    case DA_EVENTLOG_DATA_MALFORMED:
        break;
    }
    return "malformed";
}

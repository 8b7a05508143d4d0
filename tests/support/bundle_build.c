#include "bundle_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bundle.h"
#include "digest.h"
#include "dsse.h"
#include "encoding.h"
#include "intoto.h"
#include "jcs.h"
#include "tpm.h"

#define BB_PCRS "sha256:0,1,2,3,4,5,6,7"

static int open_tpm(const struct bb_signer *s, struct agent_tpm **t)
{
    struct agent_tpm_settings set;

    memset(&set, 0, sizeof(set));
    set.mode = AGENT_TPM_MODE_TPM;
    set.tcti = s->tcti;
    set.state_dir = s->state_dir;
    return agent_tpm_open(&set, t) == 0 ? 0 : -1;
}

static char *b64(const void *p, size_t n)
{
    struct da_buf b;
    char *out = NULL;

    da_buf_init(&b, 16u * 1024 * 1024);
    if (da_base64_encode(p, n, DA_BASE64_STD, &b) == 0 && da_buf_append(&b, "", 1) == 0)
        out = (char *)da_buf_take(&b, NULL);
    da_buf_free(&b);
    return out;
}

static int add_b64(cJSON *o, const char *key, const void *p, size_t n)
{
    char *s = b64(p, n);
    int rc = s != NULL && cJSON_AddStringToObject(o, key, s) != NULL ? 0 : -1;

    free(s);
    return rc;
}

static char *read_text(const char *dir, const char *name)
{
    char path[512], *text = NULL;
    long n;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (text = calloc(1, (size_t)n + 1)) != NULL && fread(text, 1, (size_t)n, f) != (size_t)n) {
        free(text);
        text = NULL;
    }
    fclose(f);
    return text;
}

int bb_sign_pae(const struct bb_signer *s, const char *type, const void *payload, size_t len,
                unsigned char **der, size_t *der_len)
{
    unsigned char digest[DA_SHA256_LEN];
    struct agent_tpm *t = NULL;
    struct da_buf sig;
    int rc = -1;

    *der = NULL;
    da_buf_init(&sig, 1024);
    if (da_dsse_pae_sha256(type, payload, len, digest) == 0 && open_tpm(s, &t) == 0 &&
        agent_tpm_sign_digest(t, digest, sizeof(digest), &sig) == 0) {
        *der = da_buf_take(&sig, der_len);
        rc = *der != NULL ? 0 : -1;
    }
    agent_tpm_close(t);
    da_buf_free(&sig);
    return rc;
}

/* The statement as a signed envelope line. */
static int envelope_line(const struct bb_signer *s, const cJSON *statement, char **line)
{
    struct da_dsse_envelope *env = NULL;
    unsigned char *der = NULL;
    size_t der_len = 0;
    struct da_buf payload;
    char keyid[65], *cert = NULL;
    cJSON *root = NULL, *sig0;
    int rc = -1;

    *line = NULL;
    da_buf_init(&payload, DA_MAX_DSSE_PAYLOAD);
    cert = s->certificate != NULL ? strdup(s->certificate) : read_text(s->state_dir, "sk-cert.pem");
    if (cert == NULL || da_jcs_serialize(statement, &payload) != 0)
        goto out;
    {
        BIO *bio = BIO_new_mem_buf(cert, -1);
        X509 *x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        unsigned char *spki = NULL;
        int n = x != NULL ? i2d_PUBKEY(X509_get0_pubkey(x), &spki) : -1;
        int ok = n > 0 && da_sha256_hex(spki, (size_t)n, keyid) == 0;
        OPENSSL_free(spki);
        X509_free(x);
        BIO_free(bio);
        if (!ok)
            goto out;
    }
    if (bb_sign_pae(s, DA_INTOTO_PAYLOAD_TYPE, da_buf_data(&payload), da_buf_len(&payload), &der,
                    &der_len) != 0 ||
        da_dsse_envelope_new(DA_INTOTO_PAYLOAD_TYPE, da_buf_data(&payload), da_buf_len(&payload),
                             &env) != 0 ||
        da_dsse_add_signature(env, keyid, der, der_len) != 0 ||
        da_dsse_envelope_to_json(env, &root) != 0)
        goto out;
    sig0 = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "signatures"), 0);
    if (cJSON_AddStringToObject(sig0, "certificate", cert) == NULL ||
        cJSON_AddArrayToObject(sig0, "chain") == NULL)
        goto out;
    *line = cJSON_PrintUnformatted(root);
    rc = *line != NULL ? 0 : -1;
out:
    cJSON_Delete(root);
    da_dsse_envelope_free(env);
    free(der);
    free(cert);
    da_buf_free(&payload);
    return rc;
}

static cJSON *statement_new(const cJSON *subjects, const char *type, cJSON *predicate)
{
    cJSON *st = cJSON_CreateObject();

    if (st == NULL || cJSON_AddStringToObject(st, "_type", DA_INTOTO_STATEMENT_TYPE) == NULL ||
        !cJSON_AddItemToObject(st, "subject", cJSON_Duplicate(subjects, 1)) ||
        cJSON_AddStringToObject(st, "predicateType", type) == NULL ||
        !cJSON_AddItemToObject(st, "predicate", predicate)) {
        cJSON_Delete(st);
        return NULL;
    }
    return st;
}

int bb_statement_line(const struct bb_signer *s, const cJSON *subjects, const char *type,
                      const cJSON *predicate, char **line)
{
    cJSON *st = statement_new(subjects, type, cJSON_Duplicate(predicate, 1));
    int rc = st != NULL ? envelope_line(s, st, line) : -1;

    cJSON_Delete(st);
    return rc;
}

cJSON *bb_statement_ref(const char *type, const cJSON *predicate)
{
    unsigned char d[DA_SHA256_LEN];
    char hex[65];
    cJSON *o = cJSON_CreateObject(), *dig;

    if (o == NULL || da_jcs_digest_sha256(predicate, d) != 0 ||
        da_hex_encode_to(d, sizeof(d), hex, sizeof(hex)) != 0 ||
        cJSON_AddStringToObject(o, "predicateType", type) == NULL ||
        (dig = cJSON_AddObjectToObject(o, "digest")) == NULL ||
        cJSON_AddStringToObject(dig, "sha256", hex) == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* The quote over the documented qualifying data, as the predicate's
 * "quote" member, and the AK public. */
static int add_quote(const struct bb_signer *s, const struct bb_main *m, cJSON *pred,
                     const cJSON *statements)
{
    TPML_PCR_SELECTION sel;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct agent_tpm_quote *q = NULL;
    unsigned char qd[DA_SHA256_LEN];
    cJSON *in = cJSON_CreateObject(), *quote;
    int rc = -1;

    if (in == NULL || cJSON_AddStringToObject(in, "evidence_digest", m->evidence_sha256) == NULL ||
        !cJSON_AddItemToObject(in, "statements", cJSON_Duplicate(statements, 1)) ||
        !cJSON_AddItemToObject(
            in, "subject",
            cJSON_Duplicate(m->quote_subjects != NULL ? m->quote_subjects : m->subjects, 1)) ||
        da_jcs_digest_sha256(in, qd) != 0 || agent_pcr_selection_parse(BB_PCRS, &sel) != 0 ||
        open_tpm(m->quoter != NULL ? m->quoter : s, &t) != 0 ||
        agent_tpm_identity(t, AGENT_IDENTITY_LOAD, &id) != 0 ||
        add_b64(pred, "ak_public", da_buf_data(&id->ak_public), da_buf_len(&id->ak_public)) != 0)
        goto out;
    if (m->no_quote) {
        rc = 0;
        goto out;
    }
    if (agent_tpm_quote(t, &sel, qd, sizeof(qd), &q) != 0 ||
        (quote = cJSON_AddObjectToObject(pred, "quote")) == NULL ||
        add_b64(quote, "attest", da_buf_data(&q->attest), da_buf_len(&q->attest)) != 0 ||
        add_b64(quote, "signature", da_buf_data(&q->signature), da_buf_len(&q->signature)) != 0 ||
        cJSON_AddStringToObject(quote, "pcr_selection", BB_PCRS) == NULL ||
        add_b64(quote, "pcr_values", da_buf_data(&q->pcr_values), da_buf_len(&q->pcr_values)) != 0)
        goto out;
    rc = 0;
out:
    agent_tpm_quote_free(q);
    agent_tpm_identity_free(id);
    agent_tpm_close(t);
    cJSON_Delete(in);
    return rc;
}

int bb_main_line(const struct bb_signer *s, const struct bb_main *m, char **line)
{
    cJSON *pred = cJSON_CreateObject(), *st = NULL, *statements, *inv;
    char created[32];
    time_t c = (time_t)m->created;
    struct tm tm;
    int rc = -1;

    *line = NULL;
    gmtime_r(&c, &tm);
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
    statements = m->statements != NULL ? cJSON_Duplicate(m->statements, 1) : cJSON_CreateArray();
    if (pred == NULL || statements == NULL ||
        cJSON_AddStringToObject(pred, "agent_id", s->agent_id) == NULL ||
        cJSON_AddStringToObject(pred, "vendor", "acme") == NULL ||
        cJSON_AddStringToObject(pred, "trust", "tpm") == NULL ||
        cJSON_AddStringToObject(pred, "evidence_digest", m->evidence_sha256) == NULL ||
        !cJSON_AddItemToObject(pred, "receipt", cJSON_Duplicate(m->receipt, 1)) ||
        cJSON_AddStringToObject(pred, "created", created) == NULL ||
        (inv = cJSON_AddObjectToObject(pred, "invocation")) == NULL ||
        cJSON_AddNumberToObject(inv, "uid", 1000) == NULL ||
        cJSON_AddStringToObject(inv, "cmdline", "devattest-agent attest app.tar") == NULL ||
        (m->evidence != NULL &&
         !cJSON_AddItemToObject(pred, "evidence", cJSON_Duplicate(m->evidence, 1))) ||
        !cJSON_AddItemToObject(pred, "statements", statements)) {
        if (cJSON_GetObjectItem(pred, "statements") != statements)
            cJSON_Delete(statements);
        cJSON_Delete(pred);
        return -1;
    }
    if (add_quote(s, m, pred, statements) != 0) {
        cJSON_Delete(pred);
        return -1;
    }
    st = statement_new(m->subjects, DA_BUILD_PREDICATE_TYPE, pred);
    if (st != NULL)
        rc = envelope_line(s, st, line);
    else
        cJSON_Delete(pred);
    cJSON_Delete(st);
    return rc;
}

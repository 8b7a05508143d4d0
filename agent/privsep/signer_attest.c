/* The signer's side of attest (docs/evidence.md, "Delivery attestations"):
 * the evidence it quoted is recorded where only it can write (signer/ in
 * the state directory), and an ATTEST_SIGN from the listener is answered
 * with statements it assembles itself from the checked request, that
 * evidence, the server's receipt and a fresh quote. Nothing the listener
 * sends is signed as it came. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "agent_state.h"
#include "attest_req.h"
#include "attest_stmt.h"
#include "caps.h"
#include "digest.h"
#include "encoding.h"
#include "err.h"
#include "file.h"
#include "json.h"
#include "log.h"
#include "privsep.h"
#include "privsep_internal.h"
#include "signer_attest.h"
#include "tpm_public.h"

#define QUOTED_LAST  "quoted-1.json"
#define QUOTED_PREV  "quoted-2.json"
#define RECEIPT_FILE AGENT_RECEIPT_FILE
#define MAX_PEM      (64u * 1024)

void agent_signer_record_quoted(const char *state_dir, const struct da_buf *canon)
{
    char dir[PATH_MAX];
    int fd, r;

    if (snprintf(dir, sizeof(dir), "%s/" AGENT_SIGNER_DIR, state_dir) >= (int)sizeof(dir))
        return;
    fd = da_file_dir_fd(dir);
    if (fd < 0)
        return;
    if (renameat(fd, QUOTED_LAST, fd, QUOTED_PREV) != 0 && errno != ENOENT)
        da_warn_f("signer: %s/%s: %s", dir, QUOTED_LAST, strerror(errno));
    r = da_file_write_at(fd, QUOTED_LAST, da_buf_data(canon), da_buf_len(canon), DA_WRITE_REPLACE);
    if (r != 0)
        da_warn_f("signer: the quoted evidence cannot be recorded (%s): attest will refuse "
                  "until the next report",
                  da_strerror(r));
}

/* The evidence document this signer quoted whose digest is hex. */
static int quoted_find(const char *state_dir, const char *hex, cJSON **doc)
{
    static const char *const names[] = {QUOTED_LAST, QUOTED_PREV};
    char dir[PATH_MAX], path[PATH_MAX + 32], got[DA_SHA256_HEX_SIZE];
    struct da_buf b;
    size_t i;
    int r = DA_ERR_ATTEST_EVIDENCE;

    *doc = NULL;
    if (snprintf(dir, sizeof(dir), "%s/" AGENT_SIGNER_DIR, state_dir) >= (int)sizeof(dir))
        return DA_ERR_INVALID_ARG;
    for (i = 0; i < 2 && *doc == NULL; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (da_file_read(path, DA_MAX_EVIDENCE, &b) == 0 &&
            da_sha256_hex(da_buf_data(&b), da_buf_len(&b), got) == 0 && strcmp(got, hex) == 0)
            r = da_json_parse(da_buf_str(&b), da_buf_len(&b), DA_MAX_EVIDENCE, doc);
        da_buf_free(&b);
    }
    return r;
}

struct attest_job {
    struct agent_tpm *tpm;
    const char *pcr_selection;
};

static int b64_member(cJSON *o, const char *key, const struct da_buf *v)
{
    struct da_buf b;
    int r;

    da_buf_init(&b, da_base64_encoded_len(da_buf_len(v), DA_BASE64_STD) + 1);
    r = da_base64_encode(da_buf_data(v), da_buf_len(v), DA_BASE64_STD, &b);
    if (r == 0 && cJSON_AddStringToObject(o, key, da_buf_str(&b)) == NULL)
        r = DA_ERR_NOMEM;
    da_buf_free(&b);
    return r;
}

static int job_quote(void *ctx, const unsigned char qd[DA_SHA256_LEN], cJSON **out)
{
    struct attest_job *j = ctx;
    struct agent_tpm_quote *q = NULL;
    TPML_PCR_SELECTION sel;
    cJSON *o;
    int r;

    *out = NULL;
    if (agent_pcr_selection_parse(j->pcr_selection, &sel) != 0)
        return DA_ERR_INVALID_ARG;
    r = agent_tpm_quote(j->tpm, &sel, qd, DA_SHA256_LEN, &q);
    if (r != 0)
        return r;
    o = cJSON_CreateObject();
    r = o != NULL ? 0 : DA_ERR_NOMEM;
    if (r == 0)
        r = b64_member(o, "attest", &q->attest);
    if (r == 0)
        r = b64_member(o, "signature", &q->signature);
    if (r == 0)
        r = b64_member(o, "pcr_values", &q->pcr_values);
    if (r == 0 && cJSON_AddStringToObject(o, "pcr_selection", j->pcr_selection) == NULL)
        r = DA_ERR_NOMEM;
    agent_tpm_quote_free(q);
    if (r != 0) {
        cJSON_Delete(o);
        return r;
    }
    *out = o;
    return 0;
}

static int job_sign(void *ctx, const unsigned char d[DA_SHA256_LEN], struct da_buf *der)
{
    struct attest_job *j = ctx;

    da_buf_free(der);
    return agent_tpm_sign_digest(j->tpm, d, DA_SHA256_LEN, der);
}

/* The SK certificate's key id, after checking that the certificate holds
 * this signer's SK. */
static int cert_keyid(const char *pem, const struct agent_tpm_identity *id,
                      char keyid[DA_SHA256_HEX_SIZE])
{
    struct da_tpm_public *sk = NULL;
    unsigned char *a = NULL, *b = NULL;
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    int na = -1, nb = -1, r = DA_ERR_ATTEST_PREDICATE;

    if (x != NULL &&
        da_tpm_public_parse(da_buf_data(&id->sk_public), da_buf_len(&id->sk_public), &sk) == 0) {
        na = i2d_PUBKEY(X509_get0_pubkey(x), &a);
        nb = i2d_PUBKEY(da_tpm_public_pkey(sk), &b);
    }
    if (na > 0 && na == nb && memcmp(a, b, (size_t)na) == 0)
        r = da_sha256_hex(a, (size_t)na, keyid);
    OPENSSL_free(a);
    OPENSSL_free(b);
    da_tpm_public_free(sk);
    X509_free(x);
    BIO_free(bio);
    return r;
}

/* The receipt of the last verified report, fresh and compliant enough. */
static int receipt_load(const struct agent_config *cfg, const char *agent_id,
                        struct agent_receipt *rc, char *why, size_t ws)
{
    char path[PATH_MAX + 32], when[32];
    struct da_buf b;
    time_t now = time(NULL);
    int r;

    snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, RECEIPT_FILE);
    r = da_file_read(path, DA_MAX_RECEIPT, &b);
    if (r == 0)
        r = agent_receipt_parse(da_buf_str(&b), da_buf_len(&b), rc);
    da_buf_free(&b);
    if (r == 0 && strcmp(rc->agent_id, agent_id) != 0)
        r = DA_ERR_ATTEST_NO_RECEIPT;
    if (r != 0) {
        snprintf(why, ws, "no verified report of this agent: run 'devattest-agent report'");
        return DA_ERR_ATTEST_NO_RECEIPT;
    }
    agent_time_rfc3339(rc->issued_at, when);
    if (now > rc->issued_at && (uint64_t)(now - rc->issued_at) > cfg->attest_max_receipt_age_s) {
        snprintf(why, ws,
                 "the last verified report (receipt of %s) is older than "
                 "attest_max_receipt_age (%llus): run 'devattest-agent report'",
                 when, (unsigned long long)cfg->attest_max_receipt_age_s);
        return DA_ERR_ATTEST_RECEIPT_OLD;
    }
    if (!rc->compliant && !cfg->attest_allow_noncompliant) {
        snprintf(why, ws,
                 "the machine's last verdict (report %s of %s) is not compliant; fix it and "
                 "run 'devattest-agent report'",
                 rc->report_id, when);
        return DA_ERR_ATTEST_NOT_COMPLIANT;
    }
    return 0;
}

struct attest_files {
    struct agent_attest_req req;
    struct agent_receipt rc;
    struct agent_enrollment enr;
    cJSON *caller, *evidence;
    struct da_buf cert, ca;
    char keyid[DA_SHA256_HEX_SIZE];
};

static int attest_gather(const struct agent_config *cfg, const struct agent_tpm_identity *id,
                         const struct agent_field *f, struct attest_files *a, char *why, size_t ws)
{
    char path[PATH_MAX + 32];
    int r;

    r = agent_attest_req_parse((const char *)f[0].data, f[0].len, &a->req);
    if (r == 0)
        r = da_json_parse((const char *)f[2].data, f[2].len, AGENT_MAX_CMDLINE_JSON, &a->caller);
    if (r == 0)
        r = agent_attest_caller_check(a->caller);
    if (r != 0) {
        snprintf(why, ws, "the request is refused: %s", da_strerror(r));
        return r;
    }
    r = agent_enrollment_load(cfg->state_dir, &a->enr);
    if (r != 0) {
        snprintf(why, ws, "this machine is not enrolled");
        return r;
    }
    r = receipt_load(cfg, a->enr.agent_id, &a->rc, why, ws);
    if (r != 0)
        return r;
    r = quoted_find(cfg->state_dir, a->rc.evidence_sha256, &a->evidence);
    if (r != 0) {
        snprintf(why, ws,
                 "the receipt names evidence this signer did not record quoting: run "
                 "'devattest-agent report'");
        return r;
    }
    snprintf(path, sizeof(path), "%s/sk-cert.pem", cfg->state_dir);
    r = da_file_read(path, MAX_PEM, &a->cert);
    snprintf(path, sizeof(path), "%s/server-ca.pem", cfg->state_dir);
    if (r == 0)
        r = da_file_read(path, MAX_PEM, &a->ca);
    if (r == 0)
        r = cert_keyid(da_buf_str(&a->cert), id, a->keyid);
    if (r != 0)
        snprintf(why, ws,
                 "the SK certificate (sk-cert.pem in the state directory) does not "
                 "hold this agent's SK");
    return r;
}

static int send_lines(int fd, const struct da_buf *lines)
{
    struct da_buf b;
    int r;

    da_buf_init(&b, AGENT_MSG_LEN(ATTEST_SIGNED));
    r = agent_fields_put(&b, da_buf_data(lines), da_buf_len(lines));
    if (r == 0)
        r = agent_ipc_send(fd, AGENT_MSG_ATTEST_SIGNED, da_buf_data(&b), da_buf_len(&b));
    da_buf_free(&b);
    return r;
}

int agent_signer_attest(const struct agent_config *cfg, struct agent_tpm *tpm,
                        const struct agent_tpm_identity *id, int fd, const unsigned char *p,
                        size_t n)
{
    static const size_t caps[] = AGENT_MSG_CAPS(ATTEST_SIGN);
    struct agent_field f[AGENT_MSG_N(ATTEST_SIGN)];
    struct attest_files a;
    struct agent_attest_in in;
    struct attest_job job;
    struct da_buf lines;
    char why[400];
    uint64_t uid;
    int r;

    if (agent_fields_split(p, n, AGENT_MSG_N(ATTEST_SIGN), caps, f) != 0 ||
        agent_field_u64(&f[1], &uid) != 0)
        return DA_ERR_IPC;
    memset(&a, 0, sizeof(a));
    why[0] = '\0';
    r = attest_gather(cfg, id, f, &a, why, sizeof(why));
    da_buf_init(&lines, AGENT_MAX_ATTEST_LINES);
    if (r == 0) {
        memset(&in, 0, sizeof(in));
        job.tpm = tpm;
        job.pcr_selection = a.enr.pcr_selection;
        in.req = &a.req;
        in.uid = uid;
        in.caller = a.caller;
        in.evidence = a.evidence;
        in.evidence_hex = a.rc.evidence_sha256;
        in.receipt = &a.rc;
        in.agent_id = a.enr.agent_id;
        in.trust = id->trust;
        in.ak_public = da_buf_data(&id->ak_public);
        in.ak_public_len = da_buf_len(&id->ak_public);
        in.pcr_selection = a.enr.pcr_selection;
        in.created = time(NULL);
        in.keyid_hex = a.keyid;
        in.cert_pem = da_buf_str(&a.cert);
        in.ca_pem = da_buf_str(&a.ca);
        in.quote = job_quote;
        in.sign = job_sign;
        in.cb = &job;
        r = agent_attest_build(&in, &lines);
        if (r != 0)
            snprintf(why, sizeof(why), "the statements cannot be made: %s", da_strerror(r));
    }
    if (r == 0) {
        da_info_f("signer: attest for uid %llu: %zu bytes of statements", (unsigned long long)uid,
                  da_buf_len(&lines));
        r = send_lines(fd, &lines);
    } else {
        da_warn_f("signer: attest for uid %llu refused: %s", (unsigned long long)uid, why);
        r = agent_privsep_send_error(fd, r, "%s", why);
    }
    da_buf_free(&lines);
    agent_attest_req_free(&a.req);
    agent_receipt_free(&a.rc);
    cJSON_Delete(a.caller);
    cJSON_Delete(a.evidence);
    da_buf_free(&a.cert);
    da_buf_free(&a.ca);
    return r;
}

#include "tsa.h"

#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include "curl_dl.h"
#include "digest.h"
#include "err.h"

int agent_tsa_request(const unsigned char *data, size_t len, struct da_buf *der,
                      unsigned char nonce[8])
{
    unsigned char d[DA_SHA256_LEN], *p = NULL;
    TS_REQ *req = TS_REQ_new();
    TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
    X509_ALGOR *alg = X509_ALGOR_new();
    ASN1_INTEGER *n = NULL;
    BIGNUM *bn = NULL;
    int k, r = DA_ERR_CRYPTO;

    if (req == NULL || mi == NULL || alg == NULL || da_sha256(data, len, d) != 0 ||
        RAND_bytes(nonce, 8) != 1)
        goto out;
    nonce[0] &= 0x7f; /* a positive INTEGER of 8 bytes at most */
    bn = BN_bin2bn(nonce, 8, NULL);
    n = bn != NULL ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    if (n == NULL || X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL) != 1 ||
        TS_MSG_IMPRINT_set_algo(mi, alg) != 1 || TS_MSG_IMPRINT_set_msg(mi, d, sizeof(d)) != 1 ||
        TS_REQ_set_version(req, 1) != 1 || TS_REQ_set_msg_imprint(req, mi) != 1 ||
        TS_REQ_set_nonce(req, n) != 1 || TS_REQ_set_cert_req(req, 1) != 1)
        goto out;
    k = i2d_TS_REQ(req, &p);
    if (k > 0)
        r = da_buf_append(der, p, (size_t)k);
out:
    OPENSSL_free(p);
    ASN1_INTEGER_free(n);
    BN_free(bn);
    X509_ALGOR_free(alg);
    TS_MSG_IMPRINT_free(mi);
    TS_REQ_free(req);
    return r;
}

int agent_tsa_response_check(const unsigned char *req_der, size_t req_len,
                             const unsigned char *resp_der, size_t resp_len, struct da_buf *token)
{
    const unsigned char *p = req_der, *q = resp_der;
    TS_REQ *req = d2i_TS_REQ(NULL, &p, (long)req_len);
    TS_RESP *resp = d2i_TS_RESP(NULL, &q, (long)resp_len);
    TS_VERIFY_CTX *ctx = NULL;
    unsigned char *t = NULL;
    int k, r = DA_ERR_TIMESTAMP_FORMAT;

    if (req == NULL || resp == NULL || p != req_der + req_len || q != resp_der + resp_len)
        goto out;
    ctx = TS_REQ_to_TS_VERIFY_CTX(req, NULL);
    if (ctx == NULL)
        goto out;
    /* Status, version, imprint and nonce; the token's signature and its
     * TSA certificate are checked by the verifier against the TSA roots it
     * trusts. */
    TS_VERIFY_CTX_set_flags(ctx, TS_VFY_VERSION | TS_VFY_IMPRINT | TS_VFY_NONCE);
    if (TS_RESP_verify_response(ctx, resp) != 1 || TS_RESP_get_token(resp) == NULL)
        goto out;
    k = i2d_PKCS7(TS_RESP_get_token(resp), &t);
    if (k > 0)
        r = da_buf_append(token, t, (size_t)k);
out:
    OPENSSL_free(t);
    TS_VERIFY_CTX_free(ctx);
    TS_RESP_free(resp);
    TS_REQ_free(req);
    return r;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    return da_buf_append(ud, p, size * n) == 0 ? size * n : 0;
}

static int post(const char *url, const struct da_buf *req, struct da_buf *resp, char *why,
                size_t ws)
{
    const struct agent_curl *c = NULL;
    struct curl_slist *h = NULL;
    char err[CURL_ERROR_SIZE] = "";
    long status = 0;
    CURL *e;
    CURLcode rc = CURLE_FAILED_INIT;

    if (agent_curl_load(&c) != 0) {
        snprintf(why, ws, "libcurl cannot be loaded");
        return DA_ERR_TSA;
    }
    e = c->easy_init();
    h = c->slist_append(NULL, "Content-Type: application/timestamp-query");
    if (e != NULL && h != NULL && c->easy_setopt(e, CURLOPT_URL, url) == CURLE_OK &&
        c->easy_setopt(e, CURLOPT_ERRORBUFFER, err) == CURLE_OK &&
        c->easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
        c->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
        c->easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)AGENT_TSA_TIMEOUT_MS) == CURLE_OK &&
        c->easy_setopt(e, CURLOPT_HTTPHEADER, h) == CURLE_OK &&
        c->easy_setopt(e, CURLOPT_POSTFIELDS, da_buf_data(req)) == CURLE_OK &&
        c->easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)da_buf_len(req)) == CURLE_OK &&
        c->easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
        c->easy_setopt(e, CURLOPT_WRITEDATA, resp) == CURLE_OK)
        rc = c->easy_perform(e);
    if (rc == CURLE_OK)
        c->easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    if (e != NULL)
        c->easy_cleanup(e);
    c->slist_free_all(h);
    if (rc != CURLE_OK) {
        snprintf(why, ws, "%s: %s", url, err[0] != '\0' ? err : c->easy_strerror(rc));
        return DA_ERR_TSA;
    }
    if (status != 200) {
        snprintf(why, ws, "%s answered HTTP %ld", url, status);
        return DA_ERR_TSA;
    }
    return 0;
}

int agent_tsa_timestamp(const char *url, const unsigned char *data, size_t len,
                        struct da_buf *token, char *why, size_t ws)
{
    unsigned char nonce[8];
    struct da_buf req, resp;
    int r;

    da_buf_init(&req, AGENT_TSA_MAX_RESPONSE);
    da_buf_init(&resp, AGENT_TSA_MAX_RESPONSE);
    r = agent_tsa_request(data, len, &req, nonce);
    if (r == 0)
        r = post(url, &req, &resp, why, ws);
    if (r == 0) {
        r = agent_tsa_response_check(da_buf_data(&req), da_buf_len(&req), da_buf_data(&resp),
                                     da_buf_len(&resp), token);
        if (r != 0)
            snprintf(why, ws, "%s: the response does not answer the request (%s)", url,
                     da_strerror(r));
    }
    da_buf_free(&req);
    da_buf_free(&resp);
    return r;
}

/* Evidence pack round trip: real reports (quotes of a software AK,
 * tests/support/soft_ak.h, verified by the real server) before and after a
 * receipt key rotation (and a server restart), exported through the API and
 * through `devattest-server export`; GNU tar lists the archive (an
 * independent reader); `devattest-verify pack` verifies every report, then
 * flags exactly the report one byte of which was changed, and refuses the
 * whole pack against another CA (made with the openssl command).
 *
 * Then packs whose keys/keys.json the CA signed but which list a bad
 * certificate for one receipt key: made here with OpenSSL (certificate,
 * SHA-256, DSSE PAE signature) and GNU tar, not with the code under test.
 * Exactly the reports whose receipts that key signed must fail. */
#include "da_test.h"
#include "test_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "bundle.h"
#include "encoding.h"
#include "server_harness.h"
#include "soft_ak.h"
#include "store.h"
#include "picky.h"

#define AGENTS  3 /* two of vendor acme, one of vendor other */
#define REPORTS 3 /* per agent, before the receipt key rotation */
#define AFTER   2 /* per agent, after it */

struct world {
    struct da_test_server srv;
    struct da_soft_ak ak[AGENTS];
    char agent[AGENTS][SRV_ID_HEX];
    char report[AGENTS * (REPORTS + AFTER)][SRV_ID_HEX];
    int nreport, nbefore; /* reports of acme; of them, before the rotation */
    unsigned seq;
    char pack[256], cli_pack[256];
};

static void seed_agents(struct world *w)
{
    struct srv_store *st = NULL;
    struct srv_agent a;
    int i;

    assert_int_equal(srv_store_open(w->srv.db, 1, 86400, &st), 0);
    for (i = 0; i < AGENTS; i++) {
        assert_int_equal(da_soft_ak_new(&w->ak[i]), 0);
        snprintf(w->agent[i], sizeof(w->agent[i]), "beef00%026d", i);
        memset(&a, 0, sizeof(a));
        snprintf(a.id, sizeof(a.id), "%s", w->agent[i]);
        assert_int_equal(srv_store_vendor_ensure(st, i < 2 ? "acme" : "other", &a.vendor_id), 0);
        snprintf(a.ek_name, sizeof(a.ek_name), "000b20%02d", i);
        snprintf(a.ak_name, sizeof(a.ak_name), "000b21%02d", i);
        a.ak_public = w->ak[i].pub;
        a.ak_public_len = w->ak[i].pub_len;
        a.host_json = (char *)DA_UNCONST("{}");
        a.created_at = (int64_t)time(NULL);
        assert_int_equal(srv_store_agent_create(st, &a), 0);
    }
    srv_store_close(st);
}

static void post_report(struct world *w, int i, int encrypted)
{
    char path[128], *body = NULL;
    unsigned char nonce[128];
    size_t nlen = 0;
    struct da_test_http r;
    cJSON *doc, *ev;

    snprintf(path, sizeof(path), "/v1/agents/%s/nonce", w->agent[i]);
    assert_int_equal(da_test_http(&w->srv, "POST", path, NULL, "application/json", "{}", 2, &r), 0);
    assert_int_equal(r.status, 200);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    assert_int_equal(da_base64_decode_to(cJSON_GetObjectItem(doc, "nonce")->valuestring,
                                         strlen(cJSON_GetObjectItem(doc, "nonce")->valuestring),
                                         DA_BASE64_STD, nonce, sizeof(nonce), &nlen),
                     0);
    cJSON_Delete(doc);
    ev = da_soft_ak_evidence(w->seq++, encrypted);
    assert_int_equal(da_soft_ak_report(&w->ak[i], nonce, nlen, ev, &body), 0);
    cJSON_Delete(ev);
    snprintf(path, sizeof(path), "/v1/agents/%s/reports", w->agent[i]);
    assert_int_equal(
        da_test_http(&w->srv, "POST", path, NULL, "application/json", body, strlen(body), &r), 0);
    assert_int_equal(r.status, 201);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    if (i < 2)
        snprintf(w->report[w->nreport++], SRV_ID_HEX, "%s",
                 cJSON_GetObjectItem(doc, "report_id")->valuestring);
    cJSON_Delete(doc);
    free(body);
}

static void get_pack(struct world *w, const char *query, long want, const char *code)
{
    char path[256];
    struct da_test_http r;

    snprintf(path, sizeof(path), "/v1/vendors/%s/evidence-pack%s", want == 404 ? "nobody" : "acme",
             query);
    assert_int_equal(da_test_http(&w->srv, "GET", path, w->srv.auditor, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, want);
    if (code != NULL) {
        assert_string_equal(da_test_error_code(&r), code);
    } else {
        FILE *f = fopen(w->pack, "wb");

        assert_string_equal(r.content_type, "application/x-tar");
        assert_non_null(f);
        assert_int_equal(fwrite(r.body, 1, r.len, f), r.len);
        assert_int_equal(fclose(f), 0);
        print_message("evidence pack of %d reports: %zu bytes\n", w->nreport, r.len);
    }
    da_test_http_clear(&r);
}

/* Change one letter of the evidence inside reports/ID/report.json, walking
 * the ustar headers here rather than with the code under test. */
static void tamper(const char *src, const char *dst, const char *report_id)
{
    FILE *f = fopen(src, "rb");
    unsigned char *b;
    long len;
    size_t off = 0;
    char want[128];
    int done = 0;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)len);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    snprintf(want, sizeof(want), "reports/%s/report.json", report_id);
    while (off + 512 <= (size_t)len && b[off] != 0) {
        size_t size = strtoul((const char *)b + off + 124, NULL, 8);

        if (strcmp((const char *)b + off, want) == 0) {
            unsigned char *data = b + off + 512;
            unsigned char *hit = memmem(data, size, "luks2", 5);

            if (hit == NULL)
                hit = memmem(data, size, "none", 4);
            assert_non_null(hit);
            *hit = (unsigned char)(*hit ^ 0x20); /* one letter's case: one byte */
            done = 1;
        }
        off += 512 + (size + 511) / 512 * 512;
    }
    assert_true(done);
    f = fopen(dst, "wb");
    assert_int_equal(fwrite(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    free(b);
}

static char *b64(const unsigned char *data, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);

    assert_non_null(out);
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

/* A PEM certificate for key issued by issuer: the receipt key usage or
 * serverAuth, valid from now+nb to now+na seconds. */
static char *forge_cert(EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, int receipt_eku, long nb,
                        long na)
{
    static long serial = 1000;
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509_EXTENSION *ext;
    X509V3_CTX ctx;
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL, *pem;
    long len;

    assert_non_null(x);
    assert_non_null(n);
    assert_int_equal(X509_set_version(x, 2), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++), 1);
    assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                                (const unsigned char *)"forged receipt key", -1, -1,
                                                0),
                     1);
    assert_int_equal(X509_set_subject_name(x, n), 1);
    assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(issuer)), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), nb));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), na));
    assert_int_equal(X509_set_pubkey(x, key), 1);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_ext_key_usage,
                              receipt_eku ? DA_OID_RECEIPT_KEY_EKU : "serverAuth");
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(x, ext, -1), 1);
    X509_EXTENSION_free(ext);
    assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
    assert_int_equal(PEM_write_bio_X509(bio, x), 1);
    len = BIO_get_mem_data(bio, &data);
    /* not NUL-terminated: copied by length (strndup may read past it) */
    pem = malloc((size_t)len + 1);
    assert_non_null(pem);
    memcpy(pem, data, (size_t)len);
    pem[len] = '\0';
    BIO_free(bio);
    X509_NAME_free(n);
    X509_free(x);
    return pem;
}

/* The unpacked pack in dir (members in the order the file names lists)
 * written again as dst with keys (may be NULL:
 * as unpacked) as keys/keys.json; with sign, the manifest names its new
 * SHA-256 and is signed again by ca_key (DSSE PAE, ECDSA P-256, DER). */
static void repack(const char *dir, const char *names, const char *dst, const cJSON *keys,
                   EVP_PKEY *ca_key, int sign)
{
    char path[PATH_MAX], hex[2 * EVP_MAX_MD_SIZE + 1], *text, *manifest, *pae, *sig64, *body64;
    unsigned char md[EVP_MAX_MD_SIZE], sig[256];
    unsigned mdlen = 0;
    size_t siglen = sizeof(sig), plen;
    EVP_MD_CTX *mctx;
    cJSON *m, *env, *sigs, *one;
    const char *type = "application/vnd.devattest.evidence-pack+json";

    snprintf(path, sizeof(path), "%s/keys/keys.json", dir);
    if (keys != NULL) {
        text = cJSON_Print(keys);
        da_test_spill(path, text, strlen(text));
        free(text);
    }
    if (sign) {
        text = da_test_slurp(path, &plen);
        assert_int_equal(EVP_Digest(text, plen, md, &mdlen, EVP_sha256(), NULL), 1);
        free(text);
        for (unsigned i = 0; i < mdlen; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        snprintf(path, sizeof(path), "%s/pack.json", dir);
        text = da_test_slurp(path, NULL);
        m = cJSON_Parse(text);
        free(text);
        assert_non_null(m);
        cJSON_ReplaceItemInObject(cJSON_GetObjectItem(m, "files"), "keys/keys.json",
                                  cJSON_CreateString(hex));
        manifest = cJSON_Print(m);
        cJSON_Delete(m);
        da_test_spill(path, manifest, strlen(manifest));
        plen = (size_t)asprintf(&pae, "DSSEv1 %zu %s %zu %s", strlen(type), type, strlen(manifest),
                                manifest);
        mctx = EVP_MD_CTX_new();
        assert_int_equal(EVP_DigestSignInit(mctx, NULL, EVP_sha256(), NULL, ca_key), 1);
        assert_int_equal(EVP_DigestSign(mctx, sig, &siglen, (unsigned char *)pae, plen), 1);
        EVP_MD_CTX_free(mctx);
        sig64 = b64(sig, siglen);
        body64 = b64((unsigned char *)manifest, strlen(manifest));
        env = cJSON_CreateObject();
        cJSON_AddStringToObject(env, "payload", body64);
        cJSON_AddStringToObject(env, "payloadType", type);
        sigs = cJSON_AddArrayToObject(env, "signatures");
        one = cJSON_CreateObject();
        cJSON_AddStringToObject(one, "keyid", "ca");
        cJSON_AddStringToObject(one, "sig", sig64);
        cJSON_AddItemToArray(sigs, one);
        text = cJSON_PrintUnformatted(env);
        snprintf(path, sizeof(path), "%s/pack.dsse.json", dir);
        da_test_spill(path, text, strlen(text));
        free(text);
        cJSON_Delete(env);
        free(sig64);
        free(body64);
        free(pae);
        free(manifest);
    }
    assert_int_equal(da_test_sh(NULL, 0, "tar --format=ustar -cf %s -C %s -T %s", dst, dir, names),
                     0);
}

/* Verify pack; every report of w before the rotation (before != 0) or after
 * it (before == 0) fails with receipt_key and why, every other one is ok. */
static void expect_flagged(struct world *w, const char *pack, int before, const char *why)
{
    char out[65536], line[512];
    int rc = da_test_sh(out, sizeof(out), "%s/server/devattest-verify pack %s --ca %s",
                        DA_BINARY_ROOT, pack, w->srv.ca);

    print_message("%s", out);
    assert_int_equal(rc, 1);
    for (int i = 0; i < w->nreport; i++) {
        if ((i < w->nbefore) == (before != 0))
            snprintf(line, sizeof(line), "report %s: FAIL receipt_key: %s\n", w->report[i], why);
        else
            snprintf(line, sizeof(line), "report %s: ok\n", w->report[i]);
        if (strstr(out, line) == NULL)
            fail_msg("expected \"%s\" in:\n%s", line, out);
    }
    assert_int_equal(da_test_count(out, "FAIL"), before ? w->nbefore : w->nreport - w->nbefore);
    assert_int_equal(da_test_count(out, ": ok\n"), before ? w->nreport - w->nbefore : w->nbefore);
}

static X509 *pem_x509(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

    BIO_free(bio);
    assert_non_null(x);
    return x;
}

static EVP_PKEY *key_file(const char *path)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *k;

    assert_non_null(f);
    k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k);
    return k;
}

/* keys.json of the unpacked pack with the certificate of receipt key idx
 * replaced by cert (NULL: the key left out). */
static cJSON *keys_with(const cJSON *keys, int idx, const char *cert)
{
    cJSON *k = cJSON_Duplicate(keys, 1), *list = cJSON_GetObjectItem(k, "receipt_keys");

    if (cert == NULL)
        cJSON_DeleteItemFromArray(list, idx);
    else
        cJSON_ReplaceItemInObject(cJSON_GetArrayItem(list, idx), "certificate",
                                  cJSON_CreateString(cert));
    return k;
}

/* Packs signed by the CA whose key list holds one bad certificate. */
static void forged_keys(struct world *w, const char *otherca)
{
    char dir[300], names[300], out[65536], path[PATH_MAX], pack[300], *text;
    char otherkey[300];
    EVP_PKEY *ca_key, *other_key;
    X509 *ca, *other, *oldc, *newc;
    cJSON *keys, *list, *k;

    snprintf(dir, sizeof(dir), "%s/unpacked", w->srv.dir);
    snprintf(pack, sizeof(pack), "%s/forged.tar", w->srv.dir);
    assert_int_equal(da_test_sh(NULL, 0, "mkdir -p %s && tar -xf %s -C %s", dir, w->pack, dir), 0);
    snprintf(names, sizeof(names), "%s/members.txt", w->srv.dir);
    assert_int_equal(da_test_sh(NULL, 0, "tar -tf %s > %s", w->pack, names), 0);
    snprintf(path, sizeof(path), "%s/keys/keys.json", dir);
    text = da_test_slurp(path, NULL);
    keys = cJSON_Parse(text);
    free(text);
    list = cJSON_GetObjectItem(keys, "receipt_keys");
    assert_int_equal(cJSON_GetArraySize(list), 2);
    oldc = pem_x509(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "certificate")->valuestring);
    newc = pem_x509(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 1), "certificate")->valuestring);
    text = da_test_slurp(w->srv.ca, NULL);
    ca = pem_x509(text);
    free(text);
    snprintf(path, sizeof(path), "%s/ca.key", w->srv.state);
    ca_key = key_file(path);
    text = da_test_slurp(otherca, NULL);
    other = pem_x509(text);
    free(text);
    snprintf(otherkey, sizeof(otherkey), "%s/other-ca.key", w->srv.dir);
    other_key = key_file(otherkey);

    /* the same archive, manifest signed again: every report still verifies
     * (so the failures below come from the certificates alone) */
    repack(dir, names, pack, keys, ca_key, 1);
    assert_int_equal(da_test_sh(out, sizeof(out), "%s/server/devattest-verify pack %s --ca %s",
                                DA_BINARY_ROOT, pack, w->srv.ca),
                     0);
    assert_int_equal(da_test_count(out, ": ok\n"), w->nreport);

    /* the retired key's certificate from another CA */
    text = forge_cert(X509_get0_pubkey(oldc), other, other_key, 1, -86400, 86400);
    k = keys_with(keys, 0, text);
    repack(dir, names, pack, k, ca_key, 1);
    expect_flagged(w, pack, 1, "unable to get local issuer certificate");
    cJSON_Delete(k);
    free(text);

    /* the current key's certificate from the CA, without the receipt key usage */
    text = forge_cert(X509_get0_pubkey(newc), ca, ca_key, 0, -86400, 86400);
    k = keys_with(keys, 1, text);
    repack(dir, names, pack, k, ca_key, 1);
    expect_flagged(w, pack, 0, "the key's certificate is not a receipt key certificate");
    cJSON_Delete(k);
    free(text);

    /* the retired key's certificate from the CA, valid from two seconds
     * after every receipt was issued: valid now (after the wait), not when
     * the receipts were issued */
    text = forge_cert(X509_get0_pubkey(oldc), ca, ca_key, 1, 2, 86400);
    k = keys_with(keys, 0, text);
    repack(dir, names, pack, k, ca_key, 1);
    sleep(3);
    expect_flagged(w, pack, 1, "certificate is not yet valid");
    cJSON_Delete(k);
    free(text);

    /* the retired key's entry with the current key's (genuine) certificate */
    text = strdup(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 1), "certificate")->valuestring);
    k = keys_with(keys, 0, text);
    repack(dir, names, pack, k, ca_key, 1);
    expect_flagged(w, pack, 1, "the listed certificate is not for that key id");
    cJSON_Delete(k);
    free(text);

    /* the retired key left out */
    k = keys_with(keys, 0, NULL);
    repack(dir, names, pack, k, ca_key, 1);
    expect_flagged(w, pack, 1, "the key id is not among the receipt keys");

    cJSON_Delete(k);

    /* the full list back, the manifest not signed again (it names the
     * digest of the shorter list): the whole pack is refused */
    repack(dir, names, pack, keys, ca_key, 0);
    assert_int_equal(da_test_sh(out, sizeof(out), "%s/server/devattest-verify pack %s --ca %s",
                                DA_BINARY_ROOT, pack, w->srv.ca),
                     1);
    assert_non_null(strstr(out, "pack: FAIL pack_invalid: keys/keys.json missing or altered"));
    assert_int_equal(da_test_count(out, ": ok\n"), 0);

    X509_free(oldc);
    X509_free(newc);
    X509_free(ca);
    X509_free(other);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_key);
    cJSON_Delete(keys);
}

static void test_pack_round_trip(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    char policy[PATH_MAX], cmd[PATH_MAX * 2 + 32], out[65536], day[16], next[16], q[96];
    char tampered[300], otherca[300];
    time_t now = time(NULL), tom = now + 86400;
    struct tm tm;
    int i, j;

    (void)state;
    assert_non_null(w);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    assert_int_equal(da_test_server_setup(&w->srv, NULL), 0);
    snprintf(policy, sizeof(policy), "%s/tests/fixtures/server/policy-test.json", DA_SOURCE_ROOT);
    snprintf(cmd, sizeof(cmd), "cp %s %s/policy.json", policy, w->srv.state);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(da_test_server_start(&w->srv), 0);
    seed_agents(w);
    for (j = 0; j < REPORTS; j++) {
        for (i = 0; i < AGENTS; i++)
            post_report(w, i, (i + j) % 2 == 0);
    }
    /* a new receipt key, used by the server after a restart */
    w->nbefore = w->nreport;
    assert_int_equal(da_test_server_stop(&w->srv), 0);
    assert_int_equal(da_test_server_cli(&w->srv, out, sizeof(out), "receipt-key", "rotate", NULL),
                     0);
    assert_int_equal(da_test_server_start(&w->srv), 0);
    for (j = 0; j < AFTER; j++) {
        for (i = 0; i < AGENTS; i++)
            post_report(w, i, (i + j) % 2 == 1);
    }
    snprintf(w->pack, sizeof(w->pack), "%s/api.tar", w->srv.dir);
    snprintf(w->cli_pack, sizeof(w->cli_pack), "%s/cli.tar", w->srv.dir);
    gmtime_r(&now, &tm);
    strftime(day, sizeof(day), "%Y-%m-%d", &tm);
    gmtime_r(&tom, &tm);
    strftime(next, sizeof(next), "%Y-%m-%d", &tm);

    /* refusals: nothing exported */
    snprintf(q, sizeof(q), "?from=%s&to=%s", next, day);
    get_pack(w, q, 400, "pack_range");
    get_pack(w, "?from=2026-02-30", 400, "pack_range");
    get_pack(w, "?since=2026-01-01", 400, "bad_query_parameter");
    get_pack(w, "", 404, "vendor_unknown");

    snprintf(q, sizeof(q), "?from=%s&to=%s", day, next);
    get_pack(w, q, 200, NULL);
    assert_int_equal(da_test_server_cli(&w->srv, out, sizeof(out), "export", "--vendor", "acme",
                                        "--from", day, "--to", next, "-o", w->cli_pack, NULL),
                     0);

    /* GNU tar reads both archives and finds every report's members */
    for (int k = 0; k < 2; k++) {
        const char *f = k == 0 ? w->pack : w->cli_pack;

        assert_int_equal(da_test_sh(out, sizeof(out), "tar -tf %s", f), 0);
        assert_int_equal(da_test_count(out, "/report.json\n"), w->nreport);
        assert_int_equal(da_test_count(out, "/receipt.json\n"), w->nreport);
        assert_int_equal(da_test_count(out, "agents/"), 2);
        assert_int_equal(da_test_count(out, "policies/"), 1);
        assert_non_null(strstr(out, "keys/ca.pem\n"));
        assert_non_null(strstr(out, "keys/keys.json\n"));
        assert_null(strstr(out, "keys/receipt.pub")); /* a bare key is no evidence */
        assert_non_null(strstr(out, "pack.dsse.json\n"));
        assert_null(strstr(out, w->agent[2])); /* vendor other is not in acme's pack */
    }
    /* both receipt keys listed; receipts before and after the rotation
     * name different keys */
    assert_int_equal(da_test_sh(out, sizeof(out), "tar -xOf %s keys/keys.json", w->pack), 0);
    {
        cJSON *k = cJSON_Parse(out);
        char keyid[2][128];

        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(k, "receipt_keys")), 2);
        cJSON_Delete(k);
        for (int e = 0; e < 2; e++) {
            assert_int_equal(da_test_sh(out, sizeof(out), "tar -xOf %s reports/%s/receipt.json",
                                        w->pack, w->report[e == 0 ? 0 : w->nreport - 1]),
                             0);
            k = cJSON_Parse(out);
            snprintf(keyid[e], sizeof(keyid[e]), "%s",
                     cJSON_GetStringValue(cJSON_GetObjectItem(
                         cJSON_GetArrayItem(cJSON_GetObjectItem(k, "signatures"), 0), "keyid")));
            cJSON_Delete(k);
            assert_int_equal(strlen(keyid[e]), 64);
        }
        assert_string_not_equal(keyid[0], keyid[1]);
    }
    /* the HTML report: self-contained, charts as SVG, no script */
    assert_int_equal(da_test_sh(out, sizeof(out), "tar -xOf %s report.html", w->pack), 0);
    assert_non_null(strstr(out, "<svg"));
    assert_null(strstr(out, "<script"));
    assert_null(strstr(out, "src=\"http")); /* nothing loaded from elsewhere */
    assert_non_null(strstr(out, "8.31"));
    assert_non_null(strstr(out, "disk.encrypted"));

    /* every report verifies offline, from both archives */
    for (int k = 0; k < 2; k++) {
        if (da_test_sh(out, sizeof(out), "%s/server/devattest-verify pack %s --ca %s",
                       DA_BINARY_ROOT, k == 0 ? w->pack : w->cli_pack, w->srv.ca) != 0)
            fail_msg("%s", out);
        assert_int_equal(da_test_count(out, ": ok\n"), w->nreport);
        assert_int_equal(da_test_count(out, "FAIL"), 0);
    }

    /* one byte of one report changed: that report, and only it, fails */
    snprintf(tampered, sizeof(tampered), "%s/tampered.tar", w->srv.dir);
    tamper(w->pack, tampered, w->report[2]);
    assert_int_equal(da_test_sh(out, sizeof(out), "%s/server/devattest-verify pack %s --ca %s",
                                DA_BINARY_ROOT, tampered, w->srv.ca),
                     1);
    print_message("%s", out);
    assert_int_equal(da_test_count(out, "FAIL"), 1);
    assert_int_equal(da_test_count(out, ": ok\n"), w->nreport - 1);
    snprintf(q, sizeof(q), "report %s: FAIL", w->report[2]);
    assert_non_null(strstr(out, q));

    /* another CA: the manifest is not trusted and nothing is called ok */
    snprintf(otherca, sizeof(otherca), "%s/other-ca.pem", w->srv.dir);
    assert_int_equal(
        da_test_sh(NULL, 0,
                   "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                   "-keyout %s/other-ca.key -out %s -subj /CN=other -days 1 2>/dev/null",
                   w->srv.dir, otherca),
        0);
    assert_int_equal(da_test_sh(out, sizeof(out), "%s/server/devattest-verify pack %s --ca %s",
                                DA_BINARY_ROOT, w->pack, otherca),
                     1);
    assert_non_null(strstr(out, "pack: FAIL"));
    assert_int_equal(da_test_count(out, ": ok\n"), 0);

    forged_keys(w, otherca);

    assert_int_equal(da_test_server_stop(&w->srv), 0);
    da_test_server_cleanup(&w->srv);
    for (i = 0; i < AGENTS; i++)
        da_soft_ak_free(&w->ak[i]);
    free(w);
    curl_global_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_pack_round_trip)};

    return cmocka_run_group_tests(tests, NULL, NULL);
}

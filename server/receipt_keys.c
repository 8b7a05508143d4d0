#include "receipt_keys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"
#include "digest.h"
#include "err.h"
#include "file.h"
#include "json.h"
#include "log.h"
#include "render.h"

#define KEYS_FILE_CAP (SRV_RECEIPT_KEYS_MAX * 4096u)
#define NEXT_KEY_FILE "receipt-next.key"

int srv_key_id(EVP_PKEY *key, char out[65])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(key, &der), rc;

    if (n <= 0)
        return DA_ERR_CRYPTO;
    rc = da_sha256_hex(der, (size_t)n, out);
    OPENSSL_free(der);
    return rc;
}

static int path_of(char *buf, size_t size, const char *dir, const char *name)
{
    int n = snprintf(buf, size, "%s/%s", dir, name);

    return n < 0 || (size_t)n >= size ? DA_ERR_INVALID_ARG : 0;
}

static int write_private(const char *dir, const char *name, EVP_PKEY *key, enum da_write_mode mode)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n;
    int rc = DA_ERR_CRYPTO;

    if (bio == NULL)
        return DA_ERR_NOMEM;
    if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1 &&
        (n = BIO_get_mem_data(bio, &data)) > 0) {
        rc = da_file_write(dir, name, data, (size_t)n, mode);
        OPENSSL_cleanse(data, (size_t)n);
    }
    BIO_free(bio);
    return rc;
}

static int write_public(const char *dir, EVP_PKEY *key)
{
    char *pem = NULL;
    int rc = srv_pki_public_pem(key, &pem);

    if (rc == 0)
        rc = da_file_write(dir, "receipt.pub", pem, strlen(pem), DA_WRITE_REPLACE);
    free(pem);
    return rc;
}

static int load_key_file(const char *dir, const char *name, EVP_PKEY **out)
{
    char path[4096], *pem = NULL;
    size_t len = 0;
    BIO *bio;
    int rc = path_of(path, sizeof(path), dir, name);

    *out = NULL;
    if (rc == 0)
        rc = srv_read_file(path, 64 * 1024, &pem, &len);
    if (rc != 0)
        return rc;
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio != NULL)
        *out = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    OPENSSL_cleanse(pem, len);
    free(pem);
    return *out != NULL ? 0 : DA_ERR_CRYPTO;
}

/* One entry of the list: {keyid, certificate, valid_from[, valid_until]}. */
static int entry_new(EVP_PKEY *ca_key, X509 *ca, EVP_PKEY *key, int64_t from, int64_t until,
                     cJSON **out)
{
    char id[65], t[32], *pem = NULL;
    cJSON *e = cJSON_CreateObject();
    int rc = srv_key_id(key, id);

    *out = NULL;
    if (rc == 0)
        rc = srv_pki_issue_receipt_cert(ca_key, ca, key, from, until, &pem);
    if (rc == 0 && e == NULL)
        rc = DA_ERR_NOMEM;
    srv_time_rfc3339(from, t);
    if (rc == 0 && (cJSON_AddStringToObject(e, "keyid", id) == NULL ||
                    cJSON_AddStringToObject(e, "certificate", pem) == NULL ||
                    cJSON_AddStringToObject(e, "valid_from", t) == NULL))
        rc = DA_ERR_NOMEM;
    srv_time_rfc3339(until, t);
    if (rc == 0 && until != 0 && cJSON_AddStringToObject(e, "valid_until", t) == NULL)
        rc = DA_ERR_NOMEM;
    free(pem);
    if (rc == 0) {
        *out = e;
        e = NULL; /* transferred */
    }
    cJSON_Delete(e);
    return rc;
}

static int write_list(const char *dir, const cJSON *list)
{
    char *text = cJSON_Print(list);
    int rc;

    if (text == NULL)
        return DA_ERR_NOMEM;
    rc = da_file_write(dir, SRV_RECEIPT_KEYS_FILE, text, strlen(text), DA_WRITE_REPLACE);
    free(text);
    return rc;
}

/* A list for a state directory made before receipt keys had one. */
static int list_create(const char *dir, struct srv_keys *k)
{
    char path[4096];
    struct stat st;
    cJSON *list = cJSON_CreateObject(), *keys, *e = NULL;
    int rc = path_of(path, sizeof(path), dir, "receipt.key");

    if (list == NULL || (keys = cJSON_AddArrayToObject(list, "keys")) == NULL)
        rc = DA_ERR_NOMEM;
    if (rc == 0 && stat(path, &st) != 0)
        rc = DA_ERR_IO;
    if (rc == 0)
        rc = entry_new(k->ca_key, k->ca_cert, k->receipt_key, (int64_t)st.st_mtime, 0, &e);
    if (rc == 0) {
        cJSON_AddItemToArray(keys, e);
        rc = write_list(dir, list);
    }
    if (rc == 0) {
        k->receipt_keys = list;
        list = NULL; /* transferred */
    }
    cJSON_Delete(list);
    return rc;
}

/* The list's keys array when every entry has a keyid and a certificate. */
static const cJSON *list_keys(const cJSON *list)
{
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(list, "keys"), *e;
    int n = cJSON_GetArraySize(keys);

    if (!cJSON_IsArray(keys) || n < 1 || n > SRV_RECEIPT_KEYS_MAX)
        return NULL;
    cJSON_ArrayForEach(e, keys)
    {
        if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "keyid")) ||
            !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "certificate")) ||
            !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "valid_from")))
            return NULL;
    }
    return keys;
}

static const char *last_keyid(const cJSON *list)
{
    const cJSON *keys = list_keys(list);

    return keys == NULL ? NULL
                        : cJSON_GetObjectItemCaseSensitive(
                              cJSON_GetArrayItem(keys, cJSON_GetArraySize(keys) - 1), "keyid")
                              ->valuestring;
}

/* A rotation stopped after the list was written: put its key in place. */
static int finish_rotation(const char *dir, struct srv_keys *k, const char *want)
{
    EVP_PKEY *next = NULL;
    char id[65];
    int rc = load_key_file(dir, NEXT_KEY_FILE, &next);

    if (rc == 0)
        rc = srv_key_id(next, id);
    if (rc == 0 && strcmp(id, want) != 0)
        rc = DA_ERR_CONFIG;
    if (rc == 0)
        rc = write_private(dir, "receipt.key", next, DA_WRITE_REPLACE);
    if (rc == 0)
        rc = write_public(dir, next);
    if (rc == 0) {
        char path[4096];
        if (path_of(path, sizeof(path), dir, NEXT_KEY_FILE) == 0)
            (void)unlink(path);
        EVP_PKEY_free(k->receipt_key);
        k->receipt_key = next;
        next = NULL; /* transferred */
        da_info_f("finished the receipt key rotation to %s", want);
    }
    EVP_PKEY_free(next);
    return rc;
}

int srv_receipt_keys_load(const char *dir, struct srv_keys *k)
{
    char path[4096], *text = NULL, id[65];
    const char *want;
    size_t len = 0;
    cJSON *list = NULL;
    int rc = path_of(path, sizeof(path), dir, SRV_RECEIPT_KEYS_FILE);

    if (rc == 0)
        rc = srv_read_file(path, KEYS_FILE_CAP, &text, &len);
    if (rc == DA_ERR_NOT_FOUND)
        return list_create(dir, k);
    if (rc == 0)
        rc = da_json_parse(text, len, KEYS_FILE_CAP, &list);
    free(text);
    if (rc == 0 && (want = last_keyid(list)) == NULL)
        rc = DA_ERR_CONFIG;
    if (rc == 0)
        rc = srv_key_id(k->receipt_key, id);
    if (rc == 0 && strcmp(id, want) != 0)
        rc = finish_rotation(dir, k, want);
    if (rc != 0) {
        da_error_f("%s: not a receipt key list whose last key is receipt.key (%s)", path,
                   da_strerror(rc));
        cJSON_Delete(list);
        return DA_ERR_CONFIG;
    }
    k->receipt_keys = list;
    return 0;
}

int srv_receipt_key_rotate(const char *dir, int64_t now, FILE *out)
{
    struct srv_keys *k = NULL;
    EVP_PKEY *next = NULL, *old_pub = NULL;
    cJSON *keys, *last, *retired = NULL, *added = NULL;
    const char *from;
    char id[65], path[4096];
    int rc = srv_keys_load(dir, NULL, NULL, &k);

    if (rc == 0 && cJSON_GetArraySize(list_keys(k->receipt_keys)) >= SRV_RECEIPT_KEYS_MAX)
        rc = DA_ERR_TOO_LARGE;
    if (rc != 0)
        goto out;
    keys = cJSON_GetObjectItemCaseSensitive(k->receipt_keys, "keys");
    last = cJSON_GetArrayItem(keys, cJSON_GetArraySize(keys) - 1);
    from = cJSON_GetObjectItemCaseSensitive(last, "valid_from")->valuestring;
    old_pub = k->receipt_key;
    next = EVP_EC_gen("P-256");
    if (next == NULL) {
        rc = DA_ERR_CRYPTO;
        goto out;
    }
    /* The retired key's certificate ends at the rotation; its start stays.
     * X509_verify_cert counts a certificate as expired in its notAfter
     * second, and receipts carry whole seconds: the certificate ends one
     * second later so a receipt issued earlier in the rotation's second
     * still verifies. */
    {
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        if (strptime(from, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL) {
            rc = DA_ERR_CONFIG;
            goto out;
        }
        rc = entry_new(k->ca_key, k->ca_cert, old_pub, (int64_t)timegm(&tm), now + 1, &retired);
    }
    if (rc == 0)
        rc = entry_new(k->ca_key, k->ca_cert, next, now, 0, &added);
    if (rc == 0)
        rc = write_private(dir, NEXT_KEY_FILE, next, DA_WRITE_REPLACE);
    if (rc != 0)
        goto out;
    cJSON_ReplaceItemViaPointer(keys, last, retired);
    retired = NULL; /* transferred */
    cJSON_AddItemToArray(keys, added);
    added = NULL; /* transferred */
    rc = write_list(dir, k->receipt_keys);
    if (rc == 0)
        rc = write_private(dir, "receipt.key", next, DA_WRITE_REPLACE);
    if (rc == 0)
        rc = write_public(dir, next);
    if (rc == 0 && path_of(path, sizeof(path), dir, NEXT_KEY_FILE) == 0)
        (void)unlink(path);
    if (rc == 0)
        rc = srv_key_id(next, id);
    if (rc == 0)
        fprintf(out, "%s\n", id);
out:
    cJSON_Delete(retired);
    cJSON_Delete(added);
    EVP_PKEY_free(next);
    srv_keys_free(k);
    return rc;
}

static int answer_entry(const cJSON *e, bool current, cJSON **out)
{
    const char *pem = cJSON_GetObjectItemCaseSensitive(e, "certificate")->valuestring;
    const cJSON *until = cJSON_GetObjectItemCaseSensitive(e, "valid_until");
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    char *pub = NULL;
    cJSON *o = cJSON_CreateObject();
    int rc = x != NULL ? srv_pki_public_pem(X509_get0_pubkey(x), &pub) : DA_ERR_CONFIG;

    *out = NULL;
    if (rc == 0 &&
        (o == NULL ||
         cJSON_AddStringToObject(
             o, "keyid", cJSON_GetObjectItemCaseSensitive(e, "keyid")->valuestring) == NULL ||
         cJSON_AddStringToObject(o, "algorithm", "ecdsa-p256-sha256") == NULL ||
         cJSON_AddStringToObject(o, "public_key", pub) == NULL ||
         cJSON_AddStringToObject(o, "certificate", pem) == NULL ||
         cJSON_AddStringToObject(o, "valid_from",
                                 cJSON_GetObjectItemCaseSensitive(e, "valid_from")->valuestring) ==
             NULL ||
         (cJSON_IsString(until) &&
          cJSON_AddStringToObject(o, "valid_until", until->valuestring) == NULL) ||
         cJSON_AddBoolToObject(o, "current", current) == NULL))
        rc = DA_ERR_NOMEM;
    if (rc == 0) {
        *out = o;
        o = NULL; /* transferred */
    }
    cJSON_Delete(o);
    free(pub);
    X509_free(x);
    BIO_free(bio);
    return rc;
}

int srv_keys_answer(const struct srv_keys *k, cJSON **out)
{
    const cJSON *keys = list_keys(k->receipt_keys), *e;
    cJSON *o = cJSON_CreateObject(), *arr, *item;
    int n = 0, count = cJSON_GetArraySize(keys), rc = 0;

    *out = NULL;
    if (o == NULL || cJSON_AddStringToObject(o, "ca_certificate", k->ca_pem) == NULL ||
        (arr = cJSON_AddArrayToObject(o, "receipt_keys")) == NULL)
        rc = DA_ERR_NOMEM;
    cJSON_ArrayForEach(e, keys)
    {
        if (rc == 0)
            rc = answer_entry(e, ++n == count, &item);
        if (rc == 0)
            cJSON_AddItemToArray(arr, item);
    }
    if (rc == 0) {
        *out = o;
        o = NULL; /* transferred */
    }
    cJSON_Delete(o);
    return rc;
}

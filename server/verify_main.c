/* devattest-verify: offline verification without a server.
 *
 *   devattest-verify eventlog LOG [--json]
 *     parse a firmware event log (binary_bios_measurements), print the PCR
 *     values it replays to in every bank it carries and the facts it
 *     measures (Secure Boot variables, keys, boot applications, kernel
 *     command line, firmware version).
 *
 *   devattest-verify dbx-reference LOG --date YYYY-MM-DD [--source TEXT]
 *     print a dbx reference (docs/evidence.md, dbx freshness) holding the
 *     SHA-256 revocations of the dbx measured in LOG, the event log of a
 *     machine whose dbx is known to be up to date.
 *
 *   devattest-verify dbx-update FILE --date YYYY-MM-DD [--source TEXT]
 *     the same from a published UEFI dbx update (DBXUpdate.bin, the UEFI
 *     revocation list file): its SHA-256 revocations, each once.
 *
 *   devattest-verify pack FILE --ca CA.pem
 *     verify an evidence pack offline (server/pack_verify.h): the manifest
 *     signed by that CA, then every report's quote, qualifying data and
 *     receipt; one line per report.
 *
 * Exit codes: 0 success, 1 the input is refused (with its error code), 2
 * usage error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "buf.h"
#include "caps.h"
#include "encoding.h"
#include "err.h"
#include "eventlog_facts.h"
#include "file.h"
#include "log.h"
#include "pack_verify.h"
#include "tcg_eventlog.h"
#include "tpm_public.h"

static void usage(FILE *f)
{
    fputs("usage: devattest-verify eventlog LOG [--json]\n"
          "       devattest-verify dbx-reference LOG --date YYYY-MM-DD [--source TEXT]\n"
          "       devattest-verify dbx-update FILE --date YYYY-MM-DD [--source TEXT]\n"
          "       devattest-verify pack FILE --ca CA.pem\n",
          f);
}

/* {"sha256": {"0": "hex", ...}, ...}: the PCRs the log extends, per bank. */
static int replay_all(const unsigned char *log, size_t len, cJSON **out)
{
    struct da_eventlog_summary s;
    unsigned char pcrs[DA_EVENTLOG_PCRS][DA_EVENTLOG_MAX_DIGEST];
    char hex[2 * DA_EVENTLOG_MAX_DIGEST + 1], idx[4];
    cJSON *root;
    int rc = da_eventlog_parse(log, len, &s);

    if (rc != 0)
        return rc;
    root = cJSON_CreateObject();
    if (root == NULL)
        return DA_ERR_NOMEM;
    for (size_t b = 0; b < s.alg_count; b++) {
        const char *name = da_eventlog_alg_name(s.algs[b]);
        uint32_t extended;
        cJSON *bank;
        if (name == NULL || da_eventlog_replay(log, len, s.algs[b], pcrs, &extended) != 0)
            continue;
        bank = cJSON_AddObjectToObject(root, name);
        if (bank == NULL)
            goto nomem;
        for (int i = 0; i < DA_EVENTLOG_PCRS; i++) {
            if ((extended & (1u << i)) == 0)
                continue;
            snprintf(idx, sizeof(idx), "%d", i);
            if (da_hex_encode_to(pcrs[i], s.alg_sizes[b], hex, sizeof(hex)) != 0 ||
                cJSON_AddStringToObject(bank, idx, hex) == NULL)
                goto nomem;
        }
    }
    *out = root;
    return 0;
nomem:
    cJSON_Delete(root);
    return DA_ERR_NOMEM;
}

static void print_text(const cJSON *pcrs, const cJSON *facts)
{
    const cJSON *bank, *v;
    char *text;

    printf("pcrs:\n");
    cJSON_ArrayForEach(bank, pcrs)
    {
        printf("  %s:\n", bank->string);
        cJSON_ArrayForEach(v, bank)
        {
            printf("    %-2s : 0x%s\n", v->string, v->valuestring);
        }
    }
    text = cJSON_Print(facts);
    if (text != NULL)
        printf("measured:\n%s\n", text);
    free(text);
}

static int cmd_eventlog(const char *path, int json)
{
    struct da_buf log;
    cJSON *pcrs = NULL, *facts = NULL, *root;
    int rc;

    da_buf_init(&log, DA_MAX_EVENT_LOG);
    rc = da_file_read(path, DA_MAX_EVENT_LOG, &log);
    if (rc == 0)
        rc = replay_all(da_buf_data(&log), da_buf_len(&log), &pcrs);
    if (rc == 0)
        rc = da_eventlog_facts(da_buf_data(&log), da_buf_len(&log), TPM2_ALG_SHA256, &facts);
    da_buf_free(&log);
    if (rc != 0) {
        fprintf(stderr, "devattest-verify: %s: %s (%s)\n", path, da_strerror(rc), da_err_code(rc));
        cJSON_Delete(pcrs);
        return 1;
    }
    if (json) {
        char *text;
        root = cJSON_CreateObject();
        if (root == NULL || !cJSON_AddItemToObject(root, "pcrs", pcrs)) {
            cJSON_Delete(root);
            cJSON_Delete(pcrs);
            cJSON_Delete(facts);
            return 1;
        }
        if (!cJSON_AddItemToObject(root, "measured", facts))
            cJSON_Delete(facts);
        text = cJSON_PrintUnformatted(root);
        if (text != NULL)
            printf("%s\n", text);
        free(text);
        cJSON_Delete(root);
        return text != NULL ? 0 : 1;
    }
    print_text(pcrs, facts);
    cJSON_Delete(pcrs);
    cJSON_Delete(facts);
    return 0;
}

/* path is an event log (from_update 0) or a dbx update file. */
static int cmd_dbx_reference(const char *path, const char *date, const char *source,
                             int from_update)
{
    struct da_dbx_reference check;
    unsigned char(*h)[32] = NULL;
    struct da_buf log;
    cJSON *root = NULL, *arr;
    char hex[65], *text = NULL;
    size_t n = 0;
    int rc;

    da_buf_init(&log, DA_MAX_EVENT_LOG);
    rc = da_file_read(path, DA_MAX_EVENT_LOG, &log);
    if (rc == 0 && from_update)
        rc = da_dbx_update_sha256(da_buf_data(&log), da_buf_len(&log), &h, &n);
    else if (rc == 0)
        rc = da_eventlog_dbx_sha256(da_buf_data(&log), da_buf_len(&log), &h, &n);
    da_buf_free(&log);
    if (rc == 0 && n == 0)
        rc = DA_ERR_NOT_FOUND;
    if (rc == 0) {
        root = cJSON_CreateObject();
        if (root == NULL ||
            cJSON_AddStringToObject(root, "schema", "devattest.dbx-reference/v1") == NULL ||
            cJSON_AddStringToObject(root, "date", date) == NULL ||
            cJSON_AddStringToObject(root, "source", source) == NULL ||
            (arr = cJSON_AddArrayToObject(root, "sha256")) == NULL)
            rc = DA_ERR_NOMEM;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            if (i > 0 && memcmp(h[i], h[i - 1], 32) == 0)
                continue; /* sorted: a repeated revocation is listed once */
            if (da_hex_encode_to(h[i], 32, hex, sizeof(hex)) != 0 ||
                !cJSON_AddItemToArray(arr, cJSON_CreateString(hex)))
                rc = DA_ERR_NOMEM;
        }
    }
    if (rc == 0 && (text = cJSON_Print(root)) == NULL)
        rc = DA_ERR_NOMEM;
    /* what the server will load must parse: the date in particular */
    if (rc == 0 && (rc = da_dbx_reference_parse(text, strlen(text), &check)) == 0)
        da_dbx_reference_free(&check);
    if (rc == 0)
        printf("%s\n", text);
    else
        fprintf(stderr, "devattest-verify: %s: %s (%s)\n", path, da_strerror(rc), da_err_code(rc));
    free(text);
    free(h);
    cJSON_Delete(root);
    return rc == 0 ? 0 : 1;
}

static int cmd_pack(const char *path, const char *ca_path)
{
    struct da_buf tar, ca_pem;
    unsigned ok = 0, bad = 0;
    X509 *ca = NULL;
    int rc;

    da_buf_init(&tar, 1024u * 1024 * 1024);
    da_buf_init(&ca_pem, DA_MAX_KEY_FILE);
    rc = da_file_read(ca_path, DA_MAX_KEY_FILE, &ca_pem);
    if (rc == 0) {
        BIO *bio = BIO_new_mem_buf(da_buf_data(&ca_pem), (int)da_buf_len(&ca_pem));

        ca = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        rc = ca != NULL ? 0 : DA_ERR_CRYPTO;
    }
    if (rc != 0)
        fprintf(stderr, "devattest-verify: %s: %s\n", ca_path, da_strerror(rc));
    if (rc == 0 && (rc = da_file_read(path, 1024u * 1024 * 1024, &tar)) != 0)
        fprintf(stderr, "devattest-verify: %s: %s\n", path, da_strerror(rc));
    if (rc == 0)
        rc = da_pack_verify(da_buf_data(&tar), da_buf_len(&tar), ca, stdout, &ok, &bad);
    X509_free(ca);
    da_buf_free(&tar);
    da_buf_free(&ca_pem);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "pack") == 0 && strcmp(argv[3], "--ca") == 0)
        return cmd_pack(argv[2], argv[4]);
    if ((argc == 5 || argc == 7) &&
        (strcmp(argv[1], "dbx-reference") == 0 || strcmp(argv[1], "dbx-update") == 0) &&
        strcmp(argv[3], "--date") == 0 && (argc == 5 || strcmp(argv[5], "--source") == 0))
        return cmd_dbx_reference(argv[2], argv[4], argc == 7 ? argv[6] : argv[2],
                                 strcmp(argv[1], "dbx-update") == 0);
    if (argc >= 3 && strcmp(argv[1], "eventlog") == 0) {
        if (argc == 3)
            return cmd_eventlog(argv[2], 0);
        if (argc == 4 && strcmp(argv[3], "--json") == 0)
            return cmd_eventlog(argv[2], 1);
    }
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}

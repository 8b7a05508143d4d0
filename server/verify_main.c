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
 *   devattest-verify bundle BUNDLE --ca CA.pem [--keys KEYS.json]
 *       [--artifact FILE]... [--policy POLICY.json] [--max-age DURATION]
 *       [--require sbom,tests,scan,provenance] [--tsa-ca TSA.pem] [--json]
 *     verify a delivery bundle offline (common/bundle.h, docs/delivery.md):
 *     every check of every envelope is printed with its outcome.
 *   devattest-verify pack FILE --ca CA.pem
 *     verify an evidence pack offline (server/pack_verify.h): the manifest
 *     signed by that CA, then every report's quote, qualifying data and
 *     receipt; one line per report.
 *
 * Exit codes: 0 success, 1 the input is refused (with its error code), 2
 * usage error. */
#include <getopt.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "buf.h"
#include "bundle.h"
#include "caps.h"
#include "encoding.h"
#include "err.h"
#include "eventlog_facts.h"
#include "file.h"
#include "json.h"
#include "log.h"
#include "policy.h"
#include "pack_verify.h"
#include "receipt_trust.h"
#include "tcg_eventlog.h"
#include "tpm_public.h"

static const char eventlog_usage[] =
    "usage: devattest-verify eventlog LOG [--json]\n"
    "Parse a firmware event log (binary_bios_measurements) and print the PCR\n"
    "values it replays to in every bank it carries and the facts it measures.\n";
static const char dbx_reference_usage[] =
    "usage: devattest-verify dbx-reference LOG --date YYYY-MM-DD [--source TEXT]\n"
    "Print a dbx reference holding the SHA-256 revocations of the dbx measured\n"
    "in LOG, the event log of a machine whose dbx is known to be up to date.\n";
static const char dbx_update_usage[] =
    "usage: devattest-verify dbx-update FILE --date YYYY-MM-DD [--source TEXT]\n"
    "Print a dbx reference holding the SHA-256 revocations of a published UEFI\n"
    "dbx update (DBXUpdate.bin), each once.\n";

static const char bundle_usage[] =
    "usage: devattest-verify bundle BUNDLE --ca CA.pem [--keys KEYS.json] [--artifact FILE]...\n"
    "                        [--policy POLICY.json] [--max-age DURATION]\n"
    "                        [--require sbom,tests,scan,provenance] [--tsa-ca TSA.pem] [--json]\n"
    "Verify a delivery bundle offline: every envelope's signature, SK chain,\n"
    "quote, receipt and bound statements (docs/delivery.md).\n";
static const char pack_usage[] =
    "usage: devattest-verify pack FILE --ca CA.pem\n"
    "Re-verify every report in an evidence pack offline: the manifest's\n"
    "signature by the CA, each file's digest, each report's quote and receipt.\n";

static void usage(FILE *f);

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

#define MAX_ARTIFACTS 64

struct bundle_args {
    const char *bundle, *ca, *keys, *policy, *tsa_ca;
    const char *artifacts[MAX_ARTIFACTS];
    size_t nartifacts;
    int64_t max_age_s;
    unsigned require;
    int json;
};

/* "90s", "15m", "24h", "7d": seconds. */
static int duration_parse(const char *text, int64_t *out)
{
    char *end = NULL;
    long long n;
    int64_t unit;

    errno = 0;
    n = strtoll(text, &end, 10);
    if (errno != 0 || end == text || n <= 0 || end[0] == '\0' || end[1] != '\0')
        return DA_ERR_INVALID_ARG;
    unit = end[0] == 's'   ? 1
           : end[0] == 'm' ? 60
           : end[0] == 'h' ? 3600
           : end[0] == 'd' ? 86400
                           : 0;
    if (unit == 0 || n > INT64_MAX / unit / 2)
        return DA_ERR_INVALID_ARG;
    *out = (int64_t)n * unit;
    return 0;
}

static int artifact_digests(const char *path, struct da_bundle_artifact *a)
{
    EVP_MD_CTX *c256 = EVP_MD_CTX_new(), *c512 = EVP_MD_CTX_new();
    unsigned char buf[65536], d[64];
    unsigned n = 0;
    size_t got;
    FILE *f = fopen(path, "rb");
    int rc = DA_ERR_IO;

    a->name = path;
    if (f == NULL || c256 == NULL || c512 == NULL ||
        EVP_DigestInit_ex(c256, EVP_sha256(), NULL) != 1 ||
        EVP_DigestInit_ex(c512, EVP_sha512(), NULL) != 1)
        goto out;
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (EVP_DigestUpdate(c256, buf, got) != 1 || EVP_DigestUpdate(c512, buf, got) != 1)
            goto out;
    }
    if (ferror(f) || EVP_DigestFinal_ex(c256, d, &n) != 1 ||
        da_hex_encode_to(d, n, a->sha256, sizeof(a->sha256)) != 0 ||
        EVP_DigestFinal_ex(c512, d, &n) != 1 ||
        da_hex_encode_to(d, n, a->sha512, sizeof(a->sha512)) != 0)
        goto out;
    rc = 0;
out:
    if (f != NULL)
        fclose(f);
    EVP_MD_CTX_free(c256);
    EVP_MD_CTX_free(c512);
    return rc;
}

static X509 *load_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

    if (f != NULL)
        fclose(f);
    return x;
}

/* A GET /v1/keys answer: {"receipt_keys": [{"keyid", "certificate"}...]}. */
static int load_keys(const char *path, cJSON **out)
{
    struct da_buf text;
    int rc;

    *out = NULL;
    da_buf_init(&text, DA_MAX_KEYS_FILE);
    rc = da_file_read(path, DA_MAX_KEYS_FILE, &text);
    if (rc == 0)
        rc = da_receipt_keys_parse((const char *)da_buf_data(&text), da_buf_len(&text), out);
    da_buf_free(&text);
    return rc != 0 ? DA_ERR_BUNDLE_KEYS : 0;
}

static void print_checks(const cJSON *checks, const char *indent)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, checks)
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "check"));
        const char *detail = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "detail"));
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "ok")))
            printf("%s%-18s ok", indent, name);
        else
            printf("%s%-18s FAIL %s: %s", indent, name,
                   cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "code")),
                   cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "message")));
        printf("%s%s\n", detail != NULL ? " -- " : "", detail != NULL ? detail : "");
    }
}

static void print_report(const cJSON *rep)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rep, "envelopes"))
    {
        double line = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(e, "line"));

        printf("line %.0f %s\n", line,
               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "predicateType")));
        print_checks(cJSON_GetObjectItemCaseSensitive(e, "checks"), "  ");
    }
    printf("bundle\n");
    print_checks(cJSON_GetObjectItemCaseSensitive(rep, "bundle"), "  ");
    printf("%s\n", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rep, "verified"))
                       ? "verified"
                       : "NOT verified");
}

static int bundle_run(const struct bundle_args *a)
{
    struct da_bundle_artifact arts[MAX_ARTIFACTS];
    struct da_bundle_options o;
    struct da_policy_error perr;
    struct da_policy *policy = NULL;
    struct da_bundle *b = NULL;
    struct da_buf text;
    cJSON *keys = NULL, *rep = NULL;
    const char *what = a->bundle;
    int rc;

    memset(&o, 0, sizeof(o));
    da_buf_init(&text, DA_MAX_BUNDLE);
    o.now = (int64_t)time(NULL);
    o.max_age_s = a->max_age_s;
    o.require = a->require;
    o.artifacts = arts;
    o.nartifacts = a->nartifacts;
    rc = (o.ca = load_cert(a->ca)) != NULL ? 0 : DA_ERR_CRYPTO;
    if (rc != 0)
        what = a->ca;
    if (rc == 0 && a->keys != NULL && (rc = load_keys(a->keys, &keys)) != 0)
        what = a->keys;
    o.keys = keys;
    if (rc == 0 && a->tsa_ca != NULL) {
        o.tsa_roots = X509_STORE_new();
        if (o.tsa_roots == NULL || X509_STORE_load_file(o.tsa_roots, a->tsa_ca) != 1) {
            rc = DA_ERR_CRYPTO;
            what = a->tsa_ca;
        }
    }
    if (rc == 0 && a->policy != NULL && (rc = da_policy_load_file(a->policy, &policy, &perr)) != 0)
        what = a->policy;
    o.policy = policy;
    for (size_t i = 0; rc == 0 && i < a->nartifacts; i++) {
        if ((rc = artifact_digests(a->artifacts[i], &arts[i])) != 0)
            what = a->artifacts[i];
    }
    if (rc == 0)
        rc = da_file_read(a->bundle, DA_MAX_BUNDLE, &text);
    if (rc == 0)
        rc = da_bundle_parse((const char *)da_buf_data(&text), da_buf_len(&text), &b);
    if (rc == 0) {
        rc = da_bundle_verify(b, &o, &rep);
        if (rep == NULL)
            fprintf(stderr, "devattest-verify: %s: %s (%s)\n", a->bundle, da_strerror(rc),
                    da_err_code(rc));
        else if (a->json) {
            char *out = cJSON_PrintUnformatted(rep);
            if (out != NULL)
                printf("%s\n", out);
            free(out);
        } else {
            print_report(rep);
        }
    } else {
        fprintf(stderr, "devattest-verify: %s: %s (%s)\n", what, da_strerror(rc), da_err_code(rc));
    }
    cJSON_Delete(rep);
    da_bundle_free(b);
    da_buf_free(&text);
    da_policy_free(policy);
    cJSON_Delete(keys);
    X509_STORE_free(o.tsa_roots);
    X509_free(o.ca);
    return rc == 0 ? 0 : 1;
}

static int cmd_bundle(int argc, char **argv)
{
    static const struct option opts[] = {{"ca", required_argument, NULL, 'c'},
                                         {"keys", required_argument, NULL, 'k'},
                                         {"artifact", required_argument, NULL, 'a'},
                                         {"policy", required_argument, NULL, 'p'},
                                         {"max-age", required_argument, NULL, 'm'},
                                         {"require", required_argument, NULL, 'r'},
                                         {"tsa-ca", required_argument, NULL, 't'},
                                         {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    struct bundle_args a;
    int c;

    memset(&a, 0, sizeof(a));
    optind = 1; /* argv[0] is the command name */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'c')
            a.ca = optarg;
        else if (c == 'k')
            a.keys = optarg;
        else if (c == 'a' && a.nartifacts < MAX_ARTIFACTS)
            a.artifacts[a.nartifacts++] = optarg;
        else if (c == 'p')
            a.policy = optarg;
        else if (c == 'm' && duration_parse(optarg, &a.max_age_s) == 0)
            continue;
        else if (c == 'r' && da_bundle_kinds_parse(optarg, &a.require) == 0)
            continue;
        else if (c == 't')
            a.tsa_ca = optarg;
        else if (c == 'j')
            a.json = 1;
        else
            goto usage;
    }
    if (optind + 1 != argc || a.ca == NULL)
        goto usage;
    a.bundle = argv[optind];
    return bundle_run(&a);
usage:
    fputs(bundle_usage, stderr);
    return 2;
}

static int run_eventlog(int argc, char **argv)
{
    if (argc == 2)
        return cmd_eventlog(argv[1], 0);
    if (argc == 3 && strcmp(argv[2], "--json") == 0)
        return cmd_eventlog(argv[1], 1);
    fputs(eventlog_usage, stderr);
    return 2;
}

/* dbx-reference LOG / dbx-update FILE, then --date DATE [--source TEXT]. */
static int run_dbx(int argc, char **argv, int from_update, const char *usage_text)
{
    if ((argc == 4 || argc == 6) && strcmp(argv[2], "--date") == 0 &&
        (argc == 4 || strcmp(argv[4], "--source") == 0))
        return cmd_dbx_reference(argv[1], argv[3], argc == 6 ? argv[5] : argv[1], from_update);
    fputs(usage_text, stderr);
    return 2;
}

static int run_dbx_reference(int argc, char **argv)
{
    return run_dbx(argc, argv, 0, dbx_reference_usage);
}

static int run_dbx_update(int argc, char **argv)
{
    return run_dbx(argc, argv, 1, dbx_update_usage);
}

static int run_pack(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[2], "--ca") == 0)
        return cmd_pack(argv[1], argv[3]);
    fputs(pack_usage, stderr);
    return 2;
}

struct verify_command {
    const char *name;
    const char *summary;
    const char *usage;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

static const struct verify_command verify_commands[] = {
    {"eventlog", "replay a firmware event log and print its measured facts", eventlog_usage,
     run_eventlog},
    {"dbx-reference", "make a dbx reference from an up-to-date machine's event log",
     dbx_reference_usage, run_dbx_reference},
    {"dbx-update", "make a dbx reference from a published UEFI dbx update", dbx_update_usage,
     run_dbx_update},
    {"bundle", "verify a delivery bundle offline", bundle_usage, cmd_bundle},
    {"pack", "re-verify every report in an evidence pack offline", pack_usage, run_pack},
};

#define VERIFY_NCOMMANDS (sizeof(verify_commands) / sizeof(verify_commands[0]))

static void usage(FILE *f)
{
    size_t i;

    fprintf(f, "usage: devattest-verify COMMAND [ARGUMENTS]\n"
               "       devattest-verify --help | --version\n\ncommands:\n");
    for (i = 0; i < VERIFY_NCOMMANDS; i++)
        fprintf(f, "  %-14s %s\n", verify_commands[i].name, verify_commands[i].summary);
    fprintf(f, "\nexit codes: 0 success, 1 the input is refused, 2 usage error\n"
               "Run 'devattest-verify COMMAND --help' for the arguments of a command.\n");
}

int main(int argc, char **argv)
{
    size_t i;
    int j;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("devattest-verify %s\n", DA_VERSION);
        return 0;
    }
    for (i = 0; i < VERIFY_NCOMMANDS; i++) {
        if (strcmp(argv[1], verify_commands[i].name) != 0)
            continue;
        for (j = 2; j < argc; j++) {
            if (strcmp(argv[j], "--help") == 0 || strcmp(argv[j], "-h") == 0) {
                fputs(verify_commands[i].usage, stdout);
                return 0;
            }
        }
        return verify_commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "devattest-verify: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}

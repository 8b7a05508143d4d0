/* devattest-agent tpm-info: what the agent sees of its TPM and keys. Read
 * only: it never creates keys. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <openssl/bio.h>
#include <openssl/x509.h>

#include "commands.h"
#include "err.h"
#include "eventlog.h"
#include "log.h"
#include "tpm.h"
#include "tpm_public.h"

#define TPM_INFO_NAME_MAX 512

struct tpm_info_opts {
    struct agent_tpm_settings settings;
    const char *event_log;
    int json;
};

/* An X.509 name in RFC 2253 form. */
static void tpm_info_x509_name(const X509_NAME *name, char *out, size_t size)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *p = NULL;
    long n;

    out[0] = '\0';
    if (bio == NULL)
        return;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
        n = BIO_get_mem_data(bio, &p);
        if (n > 0)
            snprintf(out, size, "%.*s", (int)n, p);
    }
    BIO_free(bio);
}

static void tpm_info_cert_names(const struct da_buf *der, char *subject, char *issuer)
{
    const unsigned char *p = da_buf_data(der);
    X509 *cert = da_buf_len(der) > 0 ? d2i_X509(NULL, &p, (long)da_buf_len(der)) : NULL;

    subject[0] = issuer[0] = '\0';
    if (cert == NULL)
        return;
    tpm_info_x509_name(X509_get_subject_name(cert), subject, TPM_INFO_NAME_MAX);
    tpm_info_x509_name(X509_get_issuer_name(cert), issuer, TPM_INFO_NAME_MAX);
    X509_free(cert);
}

static char *tpm_info_hex(const struct da_buf *b)
{
    static const char digits[] = "0123456789abcdef";
    char *s = malloc(2 * da_buf_len(b) + 1);
    size_t i;

    if (s == NULL)
        return NULL;
    for (i = 0; i < da_buf_len(b); i++) {
        s[2 * i] = digits[da_buf_data(b)[i] >> 4];
        s[2 * i + 1] = digits[da_buf_data(b)[i] & 0xf];
    }
    s[2 * da_buf_len(b)] = '\0';
    return s;
}

static unsigned tpm_info_popcount(uint32_t v)
{
    unsigned n = 0;

    for (; v != 0; v &= v - 1)
        n++;
    return n;
}

/* Everything tpm-info shows, gathered before printing. */
struct tpm_info_view {
    struct agent_tpm_info info;
    struct agent_tpm_identity *id; /* NULL when even the EK could not be read */
    int have_keys;
    char ek_subject[TPM_INFO_NAME_MAX], ek_issuer[TPM_INFO_NAME_MAX];
    int log_rc;
    struct da_eventlog_summary log;
};

static int tpm_info_gather(struct agent_tpm *t, const char *event_log, struct tpm_info_view *v)
{
    struct da_buf log = {0};
    int rc = agent_tpm_info(t, &v->info);

    if (rc != 0)
        return rc;
    rc = agent_tpm_identity(t, AGENT_IDENTITY_LOAD, &v->id);
    v->have_keys = rc == 0;
    if (rc == DA_ERR_NOT_FOUND)
        rc = agent_tpm_identity(t, AGENT_IDENTITY_EK_ONLY, &v->id);
    if (rc != 0)
        return rc;
    tpm_info_cert_names(&v->id->ek_cert, v->ek_subject, v->ek_issuer);
    v->log_rc = agent_eventlog_read(event_log, &log);
    if (v->log_rc == 0)
        v->log_rc = da_eventlog_parse(da_buf_data(&log), da_buf_len(&log), &v->log);
    da_buf_free(&log);
    return 0;
}

static const char *tpm_info_log_state(int rc)
{
    switch (rc) {
    case 0:
        return "present";
    case DA_ERR_NOT_FOUND:
        return "absent";
    case DA_ERR_PERMISSION:
        return "unreadable (permission)";
    default:
        return "malformed or unreadable";
    }
}

static void tpm_info_print_text(const struct tpm_info_opts *o, const struct tpm_info_view *v)
{
    const struct agent_tpm_info *i = &v->info;
    const struct agent_tpm_identity *id = v->id;
    char *ak = v->have_keys ? tpm_info_hex(&id->ak_name) : NULL;
    char *sk = v->have_keys ? tpm_info_hex(&id->sk_name) : NULL;
    size_t b;

    printf("trust:             %s\n", i->trust);
    if (strcmp(i->trust, AGENT_TRUST_TPM) == 0) {
        printf("tcti:              %s\n",
               o->settings.tcti != NULL ? o->settings.tcti : AGENT_TPM_DEFAULT_TCTI);
        printf("manufacturer:      %s\n", i->manufacturer);
        printf("vendor:            %s\n", i->vendor);
        printf("firmware version:  %08x.%08x\n", i->firmware_version_1, i->firmware_version_2);
        printf("specification:     level %u, revision %u.%02u\n", i->spec_level,
               i->spec_revision / 100, i->spec_revision % 100);
        printf("pcr banks:        ");
        for (b = 0; b < i->bank_count; b++)
            printf(" %s (%u PCRs)",
                   da_tpm_hash_name(i->banks[b]) ? da_tpm_hash_name(i->banks[b]) : "?",
                   tpm_info_popcount(i->bank_pcrs[b]));
        printf("\ntransient objects: %u\n", i->transient_objects);
        printf("ek template:       %s\n", id->ek_template);
        if (da_buf_len(&id->ek_cert) > 0) {
            printf("ek certificate:    NV 0x%08x\n", id->ek_cert_index);
            printf("  subject:         %s\n", v->ek_subject);
            printf("  issuer:          %s\n", v->ek_issuer);
        } else {
            printf("ek certificate:    none (the EK public key is used)\n");
        }
    } else {
        printf("keys:              %s (no TPM; not bound to hardware)\n", i->vendor);
    }
    printf("ak name:           %s\n", ak != NULL ? ak : "none (created at enrollment)");
    printf("sk name:           %s\n", sk != NULL ? sk : "none (created at enrollment)");
    printf("event log:         %s", tpm_info_log_state(v->log_rc));
    if (v->log_rc == 0) {
        printf(", %zu events, %s, digests", v->log.events,
               v->log.crypto_agile ? "crypto-agile" : "SHA-1 format");
        for (b = 0; b < v->log.alg_count; b++) {
            const char *n = da_tpm_hash_name(v->log.algs[b]);
            printf(" %s", n != NULL ? n : "other");
        }
    }
    printf("\n");
    free(ak);
    free(sk);
}

static void tpm_info_json_hex(cJSON *o, const char *key, const struct da_buf *b, int have)
{
    char *h = have ? tpm_info_hex(b) : NULL;

    if (h != NULL)
        cJSON_AddStringToObject(o, key, h);
    else
        cJSON_AddNullToObject(o, key);
    free(h);
}

static void tpm_info_json_tpm(cJSON *root, const struct tpm_info_opts *o,
                              const struct tpm_info_view *v)
{
    const struct agent_tpm_info *i = &v->info;
    cJSON *banks = cJSON_AddArrayToObject(root, "pcr_banks"), *ek;
    char fw[64], idx[16];
    size_t b;

    cJSON_AddStringToObject(root, "tcti",
                            o->settings.tcti != NULL ? o->settings.tcti : AGENT_TPM_DEFAULT_TCTI);
    cJSON_AddStringToObject(root, "manufacturer", i->manufacturer);
    cJSON_AddStringToObject(root, "vendor", i->vendor);
    snprintf(fw, sizeof(fw), "%08x.%08x", i->firmware_version_1, i->firmware_version_2);
    cJSON_AddStringToObject(root, "firmware_version", fw);
    cJSON_AddNumberToObject(root, "spec_revision", i->spec_revision);
    for (b = 0; b < i->bank_count; b++) {
        cJSON *bank = cJSON_CreateObject();
        const char *name = da_tpm_hash_name(i->banks[b]);
        cJSON_AddStringToObject(bank, "bank", name != NULL ? name : "other");
        cJSON_AddNumberToObject(bank, "pcrs", tpm_info_popcount(i->bank_pcrs[b]));
        cJSON_AddItemToArray(banks, bank);
    }
    cJSON_AddNumberToObject(root, "transient_objects", i->transient_objects);
    ek = cJSON_AddObjectToObject(root, "ek");
    cJSON_AddStringToObject(ek, "template", v->id->ek_template);
    if (da_buf_len(&v->id->ek_cert) > 0) {
        snprintf(idx, sizeof(idx), "0x%08x", v->id->ek_cert_index);
        cJSON_AddStringToObject(ek, "certificate_index", idx);
        cJSON_AddStringToObject(ek, "subject", v->ek_subject);
        cJSON_AddStringToObject(ek, "issuer", v->ek_issuer);
    } else {
        cJSON_AddNullToObject(ek, "certificate_index");
    }
}

static int tpm_info_print_json(const struct tpm_info_opts *o, const struct tpm_info_view *v)
{
    cJSON *root = cJSON_CreateObject(), *log;
    char *text;
    size_t b;

    if (root == NULL)
        return DA_ERR_NOMEM;
    cJSON_AddStringToObject(root, "trust", v->info.trust);
    if (strcmp(v->info.trust, AGENT_TRUST_TPM) == 0)
        tpm_info_json_tpm(root, o, v);
    tpm_info_json_hex(root, "ak_name", &v->id->ak_name, v->have_keys);
    tpm_info_json_hex(root, "sk_name", &v->id->sk_name, v->have_keys);
    log = cJSON_AddObjectToObject(root, "event_log");
    cJSON_AddStringToObject(log, "state", tpm_info_log_state(v->log_rc));
    if (v->log_rc == 0) {
        cJSON *algs = cJSON_AddArrayToObject(log, "digests");
        cJSON_AddNumberToObject(log, "events", (double)v->log.events);
        for (b = 0; b < v->log.alg_count; b++) {
            const char *n = da_tpm_hash_name(v->log.algs[b]);
            cJSON_AddItemToArray(algs, cJSON_CreateString(n != NULL ? n : "other"));
        }
    }
    text = cJSON_Print(root);
    cJSON_Delete(root);
    if (text == NULL)
        return DA_ERR_NOMEM;
    printf("%s\n", text);
    cJSON_free(text);
    return 0;
}

static const char tpm_info_usage[] =
    "usage: devattest-agent tpm-info [--tcti TCTI] [--state-dir DIR]\n"
    "                                [--key-mode tpm|software] [--event-log FILE] [--json]\n"
    "  --tcti TCTI        TPM transport (default $DA_TCTI, else " AGENT_TPM_DEFAULT_TCTI ")\n"
    "  --state-dir DIR    agent state directory (default $DA_STATE_DIR, "
    "else " AGENT_TPM_DEFAULT_STATE_DIR ")\n"
    "  --key-mode MODE    tpm (default) or software; software keys are never chosen\n"
    "                     unless named here or in $DA_KEY_MODE\n"
    "  --event-log FILE   firmware event log (default " AGENT_EVENTLOG_DEFAULT_PATH ")\n"
    "  --json             print JSON\n"
    "The endorsement hierarchy password, if any, is read from $DA_ENDORSEMENT_AUTH.\n"
    "Exit codes: 0 shown, 1 the TPM or keys could not be read, 2 usage, 3 configuration.\n";

static int tpm_info_mode(const char *s, enum agent_tpm_mode *mode)
{
    if (strcmp(s, "tpm") == 0)
        *mode = AGENT_TPM_MODE_TPM;
    else if (strcmp(s, "software") == 0)
        *mode = AGENT_TPM_MODE_SOFTWARE;
    else
        return DA_ERR_CONFIG;
    return 0;
}

/* Options override the environment, which overrides the defaults. */
static int tpm_info_options(int argc, char **argv, struct tpm_info_opts *o)
{
    static const struct option longopts[] = {
        {"tcti", required_argument, NULL, 't'},
        {"state-dir", required_argument, NULL, 's'},
        {"key-mode", required_argument, NULL, 'm'},
        {"event-log", required_argument, NULL, 'e'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *mode = getenv("DA_KEY_MODE");
    int c;

    memset(o, 0, sizeof(*o));
    o->settings.tcti = getenv("DA_TCTI");
    o->settings.state_dir = getenv("DA_STATE_DIR");
    o->settings.endorsement_auth = getenv("DA_ENDORSEMENT_AUTH");
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            o->settings.tcti = optarg;
            break;
        case 's':
            o->settings.state_dir = optarg;
            break;
        case 'm':
            mode = optarg;
            break;
        case 'e':
            o->event_log = optarg;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'h':
            fputs(tpm_info_usage, stdout);
            return 1;
        default:
            fputs(tpm_info_usage, stderr);
            return AGENT_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "tpm-info: unexpected argument '%s'\n%s", argv[optind], tpm_info_usage);
        return AGENT_EXIT_USAGE;
    }
    if (o->settings.state_dir == NULL || o->settings.state_dir[0] == '\0')
        o->settings.state_dir = AGENT_TPM_DEFAULT_STATE_DIR;
    if (mode != NULL && tpm_info_mode(mode, &o->settings.mode) != 0) {
        fprintf(stderr, "tpm-info: key mode '%s' is neither 'tpm' nor 'software'\n", mode);
        return AGENT_EXIT_CONFIG;
    }
    return 0;
}

static int tpm_info_run(int argc, char **argv)
{
    struct tpm_info_opts o;
    struct tpm_info_view v;
    struct agent_tpm *t = NULL;
    int rc = tpm_info_options(argc, argv, &o), exit_code = AGENT_EXIT_FAILURE;

    if (rc == 1)
        return AGENT_EXIT_OK;
    if (rc != 0)
        return rc;
    memset(&v, 0, sizeof(v));
    rc = agent_tpm_open(&o.settings, &t);
    if (rc == 0)
        rc = tpm_info_gather(t, o.event_log, &v);
    if (rc == 0)
        rc = o.json ? tpm_info_print_json(&o, &v) : (tpm_info_print_text(&o, &v), 0);
    if (rc == 0)
        exit_code = AGENT_EXIT_OK;
    else if (rc == DA_ERR_CONFIG)
        exit_code = AGENT_EXIT_CONFIG;
    if (rc != 0)
        fprintf(stderr, "tpm-info: %s (%s)\n", da_strerror(rc), da_err_code(rc));
    agent_tpm_identity_free(v.id);
    agent_tpm_close(t);
    return exit_code;
}

const struct agent_command agent_cmd_tpm_info = {
    .name = "tpm-info",
    .summary = "show the TPM, the EK certificate, the AK/SK and the event log",
    .usage = tpm_info_usage,
    .run = tpm_info_run,
};

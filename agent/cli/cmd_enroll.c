/* devattest-agent enroll: prove to the server that this agent's attestation
 * key lives in this machine's TPM (docs/ARCHITECTURE.md, enrollment). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "agent_state.h"
#include "caps.h"
#include "commands.h"
#include "ek.h"
#include "encoding.h"
#include "err.h"
#include "privacy_key.h"
#include "json.h"
#include "log.h"
#include "privsep.h"
#include "runtime.h"
#include "tpm_public.h"

static const char enroll_usage[] =
    "usage: devattest-agent enroll [--token-file FILE] [--server URL] [--ca FILE]\n"
    "                              [--ek-cert FILE] [--ek-chain FILE] [--config FILE]\n"
    "                              [--json]\n"
    "Enroll this machine with the server: send the EK certificate and the\n"
    "attestation key, answer the server's credential challenge with the TPM,\n"
    "and record the agent id in the state directory.\n"
    "Without an EK certificate (in the TPM's NV or by --ek-cert) the server\n"
    "holds the enrollment until an administrator approves it: the command\n"
    "prints the EK public key SHA-256 to give the administrator and exits 5;\n"
    "run it again (no token needed) to finish once approved.\n"
    "  --token-file FILE  file holding the one-time enrollment token\n"
    "                  (devattest-server token create); \"-\" or no option: read\n"
    "                  it from standard input\n"
    "  --token TOKEN   the token on the command line (visible to every user of\n"
    "                  the machine: a warning is printed)\n"
    "  --server URL    server URL (default: server_url of the configuration)\n"
    "  --ca FILE       the server's CA certificate to pin (default: server_ca)\n"
    "  --ek-cert FILE  the EK certificate (PEM or DER), for a TPM that does not\n"
    "                  hold it in NV; it must hold this TPM's EK\n"
    "  --ek-chain FILE PEM intermediates between the EK certificate and the\n"
    "                  manufacturer root the server trusts\n"
    "  --config FILE   agent configuration (default " AGENT_CONFIG_DEFAULT_PATH ";\n"
    "                  may be missing when --server is given)\n"
    "  --json          print the result as a JSON object\n"
    "exit codes: 0 enrolled, 1 enrollment failed or rejected, 2 usage error,\n"
    "            3 unusable configuration, 5 waiting for an administrator\n";

#define AGENT_MAX_TOKEN 256 /* an enrollment token */

struct enroll_args {
    const char *token, *token_file, *server, *ca, *ek_chain, *ek_cert, *config;
    int json;
    char token_buf[AGENT_MAX_TOKEN + 2];
    cJSON *ek_chain_json;         /* read before the uploader confines itself */
    struct da_buf ek_cert_der;    /* --ek-cert, likewise */
    struct agent_pending pending; /* an enrollment the server holds, if any */
    int resume;
};

static int add_b64(cJSON *o, const char *key, const void *p, size_t n)
{
    struct da_buf b;
    int r;

    da_buf_init(&b, 64 * 1024);
    r = da_base64_encode(p, n, DA_BASE64_STD, &b);
    if (r == 0 && cJSON_AddStringToObject(o, key, da_buf_str(&b)) == NULL)
        r = DA_ERR_NOMEM;
    da_buf_free(&b);
    return r;
}

static int get_b64(const cJSON *o, const char *key, struct da_buf *out)
{
    const char *s = NULL;
    int r = da_json_get_string(o, key, &s);

    da_buf_init(out, DA_MAX_TPM_STRUCT);
    return r != 0 ? r : da_base64_decode(s, strlen(s), DA_BASE64_STD, out);
}

/* Command-line overrides go through the same checks as the file. */
static int apply_overrides(struct agent_runtime *rt, const struct enroll_args *a)
{
    struct da_kvconf_error err;
    struct da_buf text;
    char msg[640];
    int r = 0;

    da_buf_init(&text, 8192);
    if (a->server != NULL)
        r = strpbrk(a->server, "\"\\\n") != NULL
                ? DA_ERR_CONFIG
                : da_buf_printf(&text, "server_url = \"%s\"\n", a->server);
    if (r == 0 && a->ca != NULL)
        r = strpbrk(a->ca, "\"\\\n") != NULL ? DA_ERR_CONFIG
                                             : da_buf_printf(&text, "server_ca = \"%s\"\n", a->ca);
    if (r == 0)
        r = agent_config_parse(&rt->cfg, da_buf_str(&text), da_buf_len(&text), "command line",
                               &err);
    if (r != 0) {
        da_kvconf_error_format(&err, msg, sizeof(msg));
        fprintf(stderr, "devattest-agent: %s\n",
                r == DA_ERR_CONFIG && err.reason[0] != '\0' ? msg : "unusable --server or --ca");
    }
    da_buf_free(&text);
    return r;
}

/* The intermediates of --ek-chain as a JSON array of base64 DER, read
 * while the file is still reachable. */
static int read_ek_chain(const char *path, cJSON **out)
{
    cJSON *arr;
    FILE *f;
    X509 *x;
    int r = 0, n = 0;

    *out = NULL;
    if (path == NULL)
        return 0;
    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "devattest-agent: --ek-chain %s cannot be read\n", path);
        return DA_ERR_IO;
    }
    arr = cJSON_CreateArray();
    while (r == 0 && arr != NULL && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        unsigned char *der = NULL;
        int len = i2d_X509(x, &der);
        cJSON *item = cJSON_CreateString("");

        if (len <= 0 || item == NULL || !cJSON_AddItemToArray(arr, item) || ++n > 8) {
            r = len <= 0 ? DA_ERR_CRYPTO : DA_ERR_TOO_LARGE;
        } else {
            struct da_buf b;

            da_buf_init(&b, 64 * 1024);
            r = da_base64_encode(der, (size_t)len, DA_BASE64_STD, &b);
            if (r == 0 && !cJSON_SetValuestring(item, da_buf_str(&b)))
                r = DA_ERR_NOMEM;
            da_buf_free(&b);
        }
        OPENSSL_free(der);
        X509_free(x);
    }
    fclose(f);
    if (r == 0 && (arr == NULL || n == 0)) {
        fprintf(stderr, "devattest-agent: --ek-chain %s holds no certificate\n", path);
        r = DA_ERR_CONFIG;
    }
    if (r == 0)
        *out = arr;
    else
        cJSON_Delete(arr);
    return r;
}

/* The certificate of --ek-cert as DER (the file may hold PEM or DER). */
static int read_ek_cert(const char *path, struct da_buf *out)
{
    unsigned char *der = NULL;
    X509 *x = NULL;
    FILE *f;
    int len = -1, r;

    da_buf_init(out, DA_MAX_EK_CERT);
    if (path == NULL)
        return 0;
    f = fopen(path, "r");
    if (f != NULL) {
        x = PEM_read_X509(f, NULL, NULL, NULL);
        if (x == NULL) {
            rewind(f);
            x = d2i_X509_fp(f, NULL);
        }
        fclose(f);
    }
    if (x != NULL)
        len = i2d_X509(x, &der);
    r = len > 0 ? da_buf_append(out, der, (size_t)len) : DA_ERR_CONFIG;
    if (r != 0)
        fprintf(stderr, "devattest-agent: --ek-cert %s: %s\n", path,
                f == NULL ? "cannot be read" : "holds no certificate (PEM or DER)");
    OPENSSL_free(der);
    X509_free(x);
    return r;
}

/* The --ek-cert certificate replaces what NV held, but only when it
 * certifies this TPM's EK: a wrong file is refused here, not by the server. */
static int use_ek_cert_file(const struct enroll_args *a, struct agent_identity_info *id)
{
    const unsigned char *p = da_buf_data(&a->ek_cert_der);
    struct da_tpm_public *ek = NULL;
    EVP_PKEY *key = NULL;
    X509 *x;
    int r;

    if (da_buf_len(&a->ek_cert_der) == 0)
        return 0;
    x = d2i_X509(NULL, &p, (long)da_buf_len(&a->ek_cert_der));
    r = x != NULL
            ? da_tpm_public_parse(da_buf_data(&id->ek_public), da_buf_len(&id->ek_public), &ek)
            : DA_ERR_CONFIG;
    if (r == 0) {
        key = da_ek_cert_public_key(x);
        r = key != NULL && EVP_PKEY_eq(key, da_tpm_public_pkey(ek)) == 1 ? 0
                                                                         : DA_ERR_TPM_EK_CERT_FILE;
    }
    if (r == 0) {
        da_buf_free(&id->ek_cert);
        da_buf_init(&id->ek_cert, DA_MAX_EK_CERT);
        r = da_buf_append(&id->ek_cert, da_buf_data(&a->ek_cert_der), da_buf_len(&a->ek_cert_der));
    }
    if (r != 0)
        fprintf(stderr, "devattest-agent: --ek-cert %s: %s\n", a->ek_cert, da_strerror(r));
    EVP_PKEY_free(key);
    X509_free(x);
    da_tpm_public_free(ek);
    return r;
}

/* The token from --token-file (a path, or "-" for standard input): its
 * first line. */
static int read_token(struct enroll_args *a)
{
    FILE *f;
    size_t n;
    int stdin_file = strcmp(a->token_file, "-") == 0;

    f = stdin_file ? stdin : fopen(a->token_file, "r");
    if (f == NULL || fgets(a->token_buf, sizeof(a->token_buf), f) == NULL) {
        fprintf(stderr, "devattest-agent: no token could be read from %s\n",
                stdin_file ? "standard input" : a->token_file);
        if (f != NULL && !stdin_file)
            fclose(f);
        return DA_ERR_IO;
    }
    if (!stdin_file)
        fclose(f);
    n = strcspn(a->token_buf, "\r\n");
    if (n > AGENT_MAX_TOKEN || n == 0) {
        fprintf(stderr, "devattest-agent: the token in %s is %s\n",
                stdin_file ? "standard input" : a->token_file, n == 0 ? "empty" : "too long");
        return DA_ERR_CONFIG;
    }
    a->token_buf[n] = '\0';
    a->token = a->token_buf;
    return 0;
}

static int enroll_request(struct agent_runtime *rt, const struct enroll_args *a,
                          const struct agent_identity_info *id, long *status, cJSON **challenge)
{
    struct da_buf ev;
    cJSON *body = cJSON_CreateObject(), *doc = NULL, *host;
    int r;

    da_buf_init(&ev, 0);
    r = body == NULL ? DA_ERR_NOMEM : 0;
    if (r == 0 && cJSON_AddStringToObject(body, "token", a->token) == NULL)
        r = DA_ERR_NOMEM;
    if (r == 0)
        r = add_b64(body, "ek_public", da_buf_data(&id->ek_public), da_buf_len(&id->ek_public));
    if (r == 0 && da_buf_len(&id->ek_cert) > 0)
        r = add_b64(body, "ek_certificate", da_buf_data(&id->ek_cert), da_buf_len(&id->ek_cert));
    if (r == 0)
        r = add_b64(body, "ak_public", da_buf_data(&id->ak_public), da_buf_len(&id->ak_public));
    if (r == 0)
        r = a->ek_chain_json == NULL ||
                    cJSON_AddItemToObject(body, "ek_chain", cJSON_Duplicate(a->ek_chain_json, 1))
                ? 0
                : DA_ERR_NOMEM;
    /* Host facts, from the collector. */
    if (r == 0)
        r = agent_collector_collect(&rt->collector, "host", &ev);
    if (r == 0)
        r = da_json_parse(da_buf_str(&ev), da_buf_len(&ev), DA_MAX_EVIDENCE, &doc);
    if (r == 0) {
        host = cJSON_DetachItemFromObjectCaseSensitive(doc, "host");
        if (host == NULL || !cJSON_AddItemToObject(body, "host", host)) {
            cJSON_Delete(host);
            r = DA_ERR_COLLECT;
        }
    }
    if (r == 0) {
        char *text = cJSON_PrintUnformatted(body);

        r = text == NULL ? DA_ERR_NOMEM
                         : agent_transport_json(rt->transport, "POST", "/v1/enroll", NULL, text,
                                                status, challenge);
        if (r != 0 && text != NULL)
            fprintf(stderr, "devattest-agent: enrollment refused: %s\n",
                    agent_transport_error(rt->transport));
        cJSON_free(text);
    }
    cJSON_Delete(doc);
    cJSON_Delete(body);
    da_buf_free(&ev);
    return r;
}

static int activate(struct agent_runtime *rt, const cJSON *challenge, cJSON **result)
{
    struct agent_enroll_answer ans;
    struct da_buf blob, secret;
    const char *cid = NULL;
    cJSON *body = cJSON_CreateObject(), *cert;
    char path[256];
    long status;
    int r;

    memset(&ans, 0, sizeof(ans));
    da_buf_init(&blob, 0);
    da_buf_init(&secret, 0);
    r = da_json_get_string(challenge, "challenge_id", &cid);
    if (r == 0 && (strlen(cid) > 64 || strspn(cid, "0123456789abcdef") != strlen(cid)))
        r = DA_ERR_SERVER_RESPONSE;
    if (r == 0)
        r = get_b64(challenge, "credential_blob", &blob);
    if (r == 0)
        r = get_b64(challenge, "encrypted_secret", &secret);
    if (r != 0) {
        fprintf(stderr, "devattest-agent: the server's challenge is malformed\n");
        goto out;
    }
    r = agent_signer_enroll(&rt->signer, cid, da_buf_data(&blob), da_buf_len(&blob),
                            da_buf_data(&secret), da_buf_len(&secret), &ans);
    if (r != 0) {
        fprintf(stderr, "devattest-agent: the TPM cannot answer the challenge: %s\n",
                agent_privsep_last_error());
        goto out;
    }
    cert = body != NULL ? cJSON_AddObjectToObject(body, "sk_certify") : NULL;
    r = cert == NULL ? DA_ERR_NOMEM : 0;
    if (r == 0)
        r = add_b64(body, "proof", da_buf_data(&ans.proof), da_buf_len(&ans.proof));
    if (r == 0)
        r = add_b64(body, "sk_public", da_buf_data(&ans.sk_public), da_buf_len(&ans.sk_public));
    if (r == 0)
        r = add_b64(cert, "attest", da_buf_data(&ans.certify_attest),
                    da_buf_len(&ans.certify_attest));
    if (r == 0)
        r = add_b64(cert, "signature", da_buf_data(&ans.certify_signature),
                    da_buf_len(&ans.certify_signature));
    if (r == 0) {
        char *text = cJSON_PrintUnformatted(body);

        snprintf(path, sizeof(path), "/v1/enroll/%s/activate", cid);
        r = text == NULL
                ? DA_ERR_NOMEM
                : agent_transport_json(rt->transport, "POST", path, NULL, text, &status, result);
        if (r != 0 && text != NULL)
            fprintf(stderr, "devattest-agent: enrollment refused: %s\n",
                    agent_transport_error(rt->transport));
        cJSON_free(text);
    }
out:
    agent_enroll_answer_free(&ans);
    da_buf_free(&blob);
    da_buf_free(&secret);
    cJSON_Delete(body);
    return r;
}

/* The server holds the enrollment (202): remember it and say what the
 * administrator must compare. */
static int hold_pending(struct agent_runtime *rt, struct enroll_args *a, const cJSON *answer)
{
    const char *id = NULL, *hash = NULL;
    struct agent_pending *p = &a->pending;
    int r = da_json_get_string(answer, "enrollment_id", &id);

    if (r == 0)
        r = da_json_get_string(answer, "ek_public_sha256", &hash);
    if (r != 0 || strlen(id) >= sizeof(p->enrollment_id) || strlen(hash) != 64 ||
        strspn(id, "0123456789abcdef") != strlen(id) || strspn(hash, "0123456789abcdef") != 64) {
        fprintf(stderr, "devattest-agent: the server's enrollment answer is malformed\n");
        return DA_ERR_SERVER_RESPONSE;
    }
    memset(p, 0, sizeof(*p));
    snprintf(p->enrollment_id, sizeof(p->enrollment_id), "%s", id);
    snprintf(p->server_url, sizeof(p->server_url), "%s", agent_runtime_server(rt));
    snprintf(p->ek_sha256, sizeof(p->ek_sha256), "%s", hash);
    agent_time_rfc3339(time(NULL), p->since);
    return agent_pending_save(rt->cfg.state_dir, p);
}

static void print_pending(const struct enroll_args *a)
{
    if (a->json)
        printf("{\"status\":\"pending\",\"enrollment_id\":\"%s\",\"server\":\"%s\","
               "\"ek_public_sha256\":\"%s\"}\n",
               a->pending.enrollment_id, a->pending.server_url, a->pending.ek_sha256);
    else
        printf("pending: this TPM has no EK certificate; the server holds enrollment %s\n"
               "until an administrator approves it. EK public key SHA-256:\n  %s\n"
               "Give this value to the administrator (devattest-server enrollment list),\n"
               "then run 'devattest-agent enroll' again.\n",
               a->pending.enrollment_id, a->pending.ek_sha256);
}

/* Ask again for a held enrollment: the challenge once approved. */
static int resume_request(struct agent_runtime *rt, struct enroll_args *a, cJSON **challenge)
{
    char path[160];
    const char *code;
    long status = 0;
    int r;

    snprintf(path, sizeof(path), "/v1/enrollments/%s/challenge", a->pending.enrollment_id);
    r = agent_transport_json(rt->transport, "POST", path, NULL, "{}", &status, challenge);
    if (r == 0)
        return 0;
    code = agent_transport_server_code(rt->transport);
    if (strcmp(code, "enrollment_pending") == 0)
        return DA_ERR_ENROLL_PENDING;
    fprintf(stderr, "devattest-agent: enrollment refused: %s\n",
            agent_transport_error(rt->transport));
    if (strcmp(code, "enrollment_rejected") == 0 || strcmp(code, "enrollment_unknown") == 0) {
        /* Decided for good: the next enroll starts afresh with a new token. */
        (void)agent_pending_clear(rt->cfg.state_dir);
        return strcmp(code, "enrollment_rejected") == 0 ? DA_ERR_ENROLL_REJECTED
                                                        : DA_ERR_ENROLL_UNKNOWN;
    }
    return r;
}

static int save_enrollment(struct agent_runtime *rt, const struct agent_identity_info *id,
                           const cJSON *result, struct agent_enrollment *e)
{
    const char *agent_id = NULL, *pcrs = NULL, *sk = NULL, *ca = NULL;
    const cJSON *pkey = cJSON_GetObjectItemCaseSensitive(result, "privacy_key");
    int r;

    memset(e, 0, sizeof(*e));
    r = da_json_get_string(result, "agent_id", &agent_id);
    if (r == 0)
        r = da_json_get_string(result, "pcr_selection", &pcrs);
    if (r == 0)
        r = da_json_get_string(result, "sk_certificate", &sk);
    if (r == 0)
        r = da_json_get_string(result, "ca_certificate", &ca);
    if (r != 0 || strlen(agent_id) >= sizeof(e->agent_id) ||
        strspn(agent_id, "0123456789abcdef") != strlen(agent_id) ||
        strlen(pcrs) >= sizeof(e->pcr_selection)) {
        fprintf(stderr, "devattest-agent: the server's enrollment answer is malformed\n");
        return DA_ERR_SERVER_RESPONSE;
    }
    snprintf(e->agent_id, sizeof(e->agent_id), "%s", agent_id);
    snprintf(e->server_url, sizeof(e->server_url), "%s", agent_runtime_server(rt));
    snprintf(e->pcr_selection, sizeof(e->pcr_selection), "%s", pcrs);
    snprintf(e->trust, sizeof(e->trust), "%s", id->trust);
    agent_time_rfc3339(time(NULL), e->enrolled_at);
    r = agent_state_replace(rt->cfg.state_dir, "sk-cert.pem", sk, strlen(sk));
    if (r == 0)
        r = agent_state_replace(rt->cfg.state_dir, "server-ca.pem", ca, strlen(ca));
    if (r == 0 && cJSON_IsString(pkey)) /* servers before the privacy mode send none */
        r = agent_privacy_key_save(rt->cfg.state_dir, pkey->valuestring);
    if (r == 0)
        r = agent_enrollment_save(rt->cfg.state_dir, e);
    return r;
}

static int parse_args(int argc, char **argv, struct enroll_args *a)
{
    static const struct option opts[] = {
        {"token", required_argument, NULL, 't'},    {"token-file", required_argument, NULL, 'T'},
        {"server", required_argument, NULL, 's'},   {"ca", required_argument, NULL, 'a'},
        {"ek-chain", required_argument, NULL, 'e'}, {"ek-cert", required_argument, NULL, 'E'},
        {"config", required_argument, NULL, 'c'},   {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    int c;

    memset(a, 0, sizeof(*a));
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            a->token = optarg;
            break;
        case 'T':
            a->token_file = optarg;
            break;
        case 's':
            a->server = optarg;
            break;
        case 'a':
            a->ca = optarg;
            break;
        case 'e':
            a->ek_chain = optarg;
            break;
        case 'E':
            a->ek_cert = optarg;
            break;
        case 'c':
            a->config = optarg;
            break;
        case 'j':
            a->json = 1;
            break;
        case 'h':
            fputs(enroll_usage, stdout);
            return 1;
        default:
            fputs(enroll_usage, stderr);
            return -1;
        }
    }
    if (optind != argc || (a->token != NULL && a->token_file != NULL) ||
        (a->token != NULL && a->token[0] == '\0')) {
        fputs(enroll_usage, stderr);
        return -1;
    }
    if (a->token != NULL)
        fprintf(stderr, "devattest-agent: warning: --token shows the token to every user of this "
                        "machine (/proc/PID/cmdline); use --token-file FILE or standard input\n");
    return 0;
}

/* A held enrollment for this server, when no new token was given. */
static void find_pending(struct agent_runtime *rt, struct enroll_args *a)
{
    if (a->token != NULL || a->token_file != NULL ||
        agent_pending_load(rt->cfg.state_dir, &a->pending) != 0 ||
        strcmp(a->pending.server_url, agent_runtime_server(rt)) != 0)
        return;
    a->resume = 1;
}

static int enroll_exchange(struct agent_runtime *rt, struct enroll_args *a,
                           struct agent_identity_info *id, cJSON **result)
{
    cJSON *challenge = NULL;
    long status = 0;
    int r = use_ek_cert_file(a, id);

    if (r == 0 && a->resume)
        r = resume_request(rt, a, &challenge);
    else if (r == 0)
        r = enroll_request(rt, a, id, &status, &challenge);
    if (r == 0 && !a->resume && status == 202) {
        r = hold_pending(rt, a, challenge);
        if (r == 0)
            r = DA_ERR_ENROLL_PENDING;
    }
    if (r == 0)
        r = activate(rt, challenge, result);
    if (r == 0 && a->resume)
        r = agent_pending_clear(rt->cfg.state_dir);
    cJSON_Delete(challenge);
    return r;
}

static int enroll_run(int argc, char **argv)
{
    struct enroll_args a;
    struct agent_runtime rt;
    struct agent_identity_info id;
    struct agent_enrollment e;
    cJSON *result = NULL;
    int r = parse_args(argc, argv, &a);

    if (r != 0)
        return r > 0 ? AGENT_EXIT_OK : AGENT_EXIT_USAGE;
    r = agent_runtime_config(&rt, a.config, a.server != NULL);
    if (r != AGENT_EXIT_OK)
        return r;
    if (apply_overrides(&rt, &a) != 0) {
        agent_runtime_stop(&rt);
        return AGENT_EXIT_CONFIG;
    }
    find_pending(&rt, &a);
    if (!a.resume && a.token == NULL && a.token_file == NULL)
        a.token_file = "-"; /* standard input */
    /* Files named on the command line are read before anything drops. */
    if ((!a.resume && a.token_file != NULL && read_token(&a) != 0) ||
        read_ek_chain(a.ek_chain, &a.ek_chain_json) != 0 ||
        read_ek_cert(a.ek_cert, &a.ek_cert_der) != 0) {
        da_buf_free(&a.ek_cert_der);
        cJSON_Delete(a.ek_chain_json);
        agent_runtime_stop(&rt);
        return AGENT_EXIT_USAGE;
    }
    memset(&id, 0, sizeof(id));
    r = agent_runtime_start(&rt, AGENT_RT_SIGNER | AGENT_RT_SIGNER_CREATE | AGENT_RT_COLLECTOR |
                                     AGENT_RT_TRANSPORT | AGENT_RT_CONFINE);
    if (r == DA_ERR_CONFIG) {
        agent_runtime_stop(&rt);
        return AGENT_EXIT_CONFIG;
    }
    if (r == 0)
        r = agent_signer_identity(&rt.signer, &id);
    if (r == 0)
        r = enroll_exchange(&rt, &a, &id, &result);
    if (r == 0)
        r = save_enrollment(&rt, &id, result, &e);
    if (r == DA_ERR_ENROLL_PENDING)
        print_pending(&a);
    else if (r == 0 && a.json)
        printf("{\"agent_id\":\"%s\",\"server\":\"%s\",\"pcr_selection\":\"%s\","
               "\"trust\":\"%s\"}\n",
               e.agent_id, e.server_url, e.pcr_selection, e.trust);
    else if (r == 0)
        printf("enrolled: agent %s with %s (keys: %s, PCRs %s)\n", e.agent_id, e.server_url,
               e.trust, e.pcr_selection);
    cJSON_Delete(result);
    cJSON_Delete(a.ek_chain_json);
    da_buf_free(&a.ek_cert_der);
    OPENSSL_cleanse(a.token_buf, sizeof(a.token_buf));
    agent_identity_info_free(&id);
    agent_runtime_stop(&rt);
    if (r == DA_ERR_ENROLL_PENDING)
        return AGENT_EXIT_PENDING;
    return r == 0 ? AGENT_EXIT_OK : AGENT_EXIT_FAILURE;
}

const struct agent_command agent_cmd_enroll = {
    .name = "enroll",
    .summary = "enroll this machine's TPM keys with the server",
    .usage = enroll_usage,
    .run = enroll_run,
};

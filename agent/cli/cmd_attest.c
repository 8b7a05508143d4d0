/* devattest-agent attest: delivery evidence for artifacts built on this
 * machine (docs/agent.md, "attest"; docs/evidence.md, "Delivery
 * attestations"). Runs as the build user: it reads the artifacts and the
 * files given with --sbom, --test-results and --scan itself, asks the
 * running agent over attest_socket for the signed statements, adds RFC 3161
 * time stamps when the agent names a TSA, and appends the lines to the
 * bundle. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "agent_config.h"
#include "attest_input.h"
#include "attest_req.h"
#include "caps.h"
#include "commands.h"
#include "digest.h"
#include "dsse.h"
#include "encoding.h"
#include "err.h"
#include "fields.h"
#include "file.h"
#include "gitinfo.h"
#include "ipc.h"
#include "jcs.h"
#include "json.h"
#include "privsep.h"
#include "privsep_proto.h"
#include "tsa.h"

#define ANSWER_TIMEOUT_MS (AGENT_CHILD_TIMEOUT + 30000)

static const char attest_usage[] =
    "usage: devattest-agent attest ARTIFACT... [-o FILE.intoto.jsonl] [--name NAME]\n"
    "                              [--git DIR] [--sbom FILE] [--test-results FILE]\n"
    "                              [--scan FILE] [--config FILE]\n"
    "Append in-toto attestations of the artifacts to a bundle: the running agent\n"
    "quotes and signs them with this machine's TPM keys and its last verified\n"
    "report. Run by a member of attest_group; the artifacts and the files below\n"
    "are read by this command, never by the agent.\n"
    "  -o FILE            bundle to append to (default: FIRST-ARTIFACT.intoto.jsonl)\n"
    "  --name NAME        subject name of a single artifact (default: its file name)\n"
    "  --git DIR          record the repository's HEAD commit, remote and cleanliness\n"
    "  --sbom FILE        SPDX 2.3 or CycloneDX 1.5 JSON SBOM of the artifacts\n"
    "  --test-results FILE  JUnit XML test report\n"
    "  --scan FILE        grype or trivy JSON report, or a clamscan log\n"
    "  --config FILE      agent configuration, for attest_socket "
    "(default " AGENT_CONFIG_DEFAULT_PATH ")\n"
    "exit codes: 0 appended, 1 refused or failed (the message says why),\n"
    "            2 usage error, 3 unusable configuration\n";

struct attest_opts {
    const char *out, *name, *git, *sbom, *tests, *scan, *config;
    char out_default[4096];
};

static int fail(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(int r, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "devattest-agent attest: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (r != 0)
        fprintf(stderr, " (%s: %s)", da_err_code(r), da_strerror(r));
    fputc('\n', stderr);
    return AGENT_EXIT_FAILURE;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');

    return s != NULL ? s + 1 : path;
}

/* SHA-256 and SHA-512 of a regular file, read in pieces. */
static int file_digests(const char *path, char h256[DA_SHA256_HEX_SIZE], char h512[129])
{
    unsigned char chunk[65536], d256[32], d512[64];
    EVP_MD_CTX *a = EVP_MD_CTX_new(), *b = EVP_MD_CTX_new();
    struct stat st;
    ssize_t n;
    int fd, r = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        r = fd < 0 && errno == ENOENT ? DA_ERR_NOT_FOUND : DA_ERR_INVALID_ARG;
    if (r == 0 && (a == NULL || b == NULL || EVP_DigestInit_ex(a, EVP_sha256(), NULL) != 1 ||
                   EVP_DigestInit_ex(b, EVP_sha512(), NULL) != 1))
        r = DA_ERR_CRYPTO;
    while (r == 0 && (n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            r = DA_ERR_IO;
        else if (EVP_DigestUpdate(a, chunk, (size_t)n) != 1 ||
                 EVP_DigestUpdate(b, chunk, (size_t)n) != 1)
            r = DA_ERR_CRYPTO;
    }
    if (fd >= 0)
        close(fd);
    if (r == 0 &&
        (EVP_DigestFinal_ex(a, d256, NULL) != 1 || EVP_DigestFinal_ex(b, d512, NULL) != 1))
        r = DA_ERR_CRYPTO;
    if (r == 0)
        r = da_hex_encode_to(d256, sizeof(d256), h256, DA_SHA256_HEX_SIZE);
    if (r == 0)
        r = da_hex_encode_to(d512, sizeof(d512), h512, 129);
    EVP_MD_CTX_free(a);
    EVP_MD_CTX_free(b);
    return r;
}

static int add_subject(cJSON *subjects, const char *path, const char *name)
{
    char h256[DA_SHA256_HEX_SIZE], h512[129];
    cJSON *s, *d;
    int r = file_digests(path, h256, h512);

    if (r != 0)
        return fail(r, "%s cannot be read as a regular file", path);
    s = cJSON_CreateObject();
    if (s == NULL || !cJSON_AddItemToArray(subjects, s) ||
        cJSON_AddStringToObject(s, "name", name) == NULL ||
        (d = cJSON_AddObjectToObject(s, "digest")) == NULL ||
        cJSON_AddStringToObject(d, "sha256", h256) == NULL ||
        cJSON_AddStringToObject(d, "sha512", h512) == NULL)
        return fail(DA_ERR_NOMEM, "%s", "out of memory");
    return 0;
}

/* One --sbom/--test-results/--scan file as a statement of the request. */
static int add_input(cJSON *list, const char *path, int kind)
{
    static const size_t caps[] = {DA_MAX_SBOM, DA_MAX_JUNIT, DA_MAX_SCAN};
    char hex[DA_SHA256_HEX_SIZE];
    const char *type = NULL;
    struct da_buf b;
    cJSON *pred = NULL, *st;
    int r;

    r = da_file_read(path, caps[kind], &b);
    if (r == 0)
        r = da_sha256_hex(da_buf_data(&b), da_buf_len(&b), hex);
    if (r == 0 && kind == AGENT_ATTEST_SBOM)
        r = agent_sbom_predicate(da_buf_str(&b), da_buf_len(&b), &type, &pred);
    else if (r == 0 && kind == AGENT_ATTEST_TESTS) {
        type = AGENT_PT_TEST_RESULT;
        r = agent_junit_predicate(da_buf_str(&b), da_buf_len(&b), base_name(path), hex, &pred);
    } else if (r == 0) {
        type = AGENT_PT_SCAN;
        r = agent_scan_predicate(da_buf_str(&b), da_buf_len(&b), base_name(path), hex, &pred);
    }
    da_buf_free(&b);
    if (r != 0)
        return fail(r, "%s cannot be used", path);
    st = cJSON_CreateObject();
    if (st == NULL || !cJSON_AddItemToArray(list, st) ||
        cJSON_AddStringToObject(st, "predicateType", type) == NULL ||
        !cJSON_AddItemToObject(st, "predicate", pred)) {
        cJSON_Delete(pred);
        return fail(DA_ERR_NOMEM, "%s", "out of memory");
    }
    return 0;
}

static int build_request(const struct attest_opts *o, char **artifacts, int n, struct da_buf *out)
{
    cJSON *root = cJSON_CreateObject(), *subjects, *list, *git = NULL;
    struct agent_attest_req req;
    char why[512];
    int i, r;

    if (root == NULL || (subjects = cJSON_AddArrayToObject(root, "subject")) == NULL ||
        (list = cJSON_AddArrayToObject(root, "statements")) == NULL) {
        cJSON_Delete(root);
        return fail(DA_ERR_NOMEM, "%s", "out of memory");
    }
    for (i = 0, r = 0; r == 0 && i < n; i++)
        r = add_subject(subjects, artifacts[i],
                        o->name != NULL ? o->name : base_name(artifacts[i]));
    if (r == 0 && o->sbom != NULL)
        r = add_input(list, o->sbom, AGENT_ATTEST_SBOM);
    if (r == 0 && o->tests != NULL)
        r = add_input(list, o->tests, AGENT_ATTEST_TESTS);
    if (r == 0 && o->scan != NULL)
        r = add_input(list, o->scan, AGENT_ATTEST_SCAN);
    if (r == 0 && o->git != NULL) {
        r = agent_git_facts(o->git, &git, why, sizeof(why));
        if (r != 0)
            r = fail(r, "--git: %s", why);
        else if (!cJSON_AddItemToObject(root, "git", git)) {
            cJSON_Delete(git);
            r = fail(DA_ERR_NOMEM, "%s", "out of memory");
        }
    }
    if (r != 0) {
        cJSON_Delete(root);
        return r;
    }
    r = agent_attest_req_adopt(root, &req);
    if (r != 0) {
        cJSON_Delete(root);
        return fail(r, "%s", "the request is not valid (artifact names must be unique file names)");
    }
    r = da_jcs_serialize(req.root, out);
    agent_attest_req_free(&req);
    return r == 0 ? 0 : fail(r, "%s", "the request cannot be encoded");
}

static int connect_agent(const char *path, int *fd)
{
    struct sockaddr_un a;

    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(a.sun_path))
        return DA_ERR_INVALID_ARG;
    memcpy(a.sun_path, path, strlen(path));
    *fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*fd < 0)
        return DA_ERR_IO;
    if (connect(*fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int e = errno;

        close(*fd);
        *fd = -1;
        return e == EACCES || e == EPERM ? DA_ERR_ATTEST_DENIED : DA_ERR_ATTEST_UNAVAILABLE;
    }
    return 0;
}

/* Send the request; *lines and *tsa get the answer, or the agent's refusal
 * is printed. */
static int ask_agent(const char *sock, const struct da_buf *req, struct da_buf *lines, char *tsa,
                     size_t tsa_size)
{
    static const struct agent_ipc_handler answers[] = {
        AGENT_MSG_ROW(ATTEST_OK, NULL),
        AGENT_MSG_ROW(ERROR, NULL),
    };
    static const size_t ok_caps[] = AGENT_MSG_CAPS(ATTEST_OK), err_caps[] = AGENT_MSG_CAPS(ERROR);
    struct agent_field f[2];
    struct da_buf frame, ans;
    char text[AGENT_MAX_ERROR_TEXT + 1];
    uint32_t got = 0;
    uint64_t code = 0;
    int fd = -1, r;

    r = connect_agent(sock, &fd);
    if (r != 0)
        return fail(r, "the agent does not answer on %s; is devattest-agent run active?", sock);
    da_buf_init(&frame, AGENT_MSG_LEN(ATTEST));
    da_buf_init(&ans, 0);
    r = agent_fields_put(&frame, da_buf_data(req), da_buf_len(req));
    if (r == 0)
        r = agent_ipc_call(fd, AGENT_MSG_ATTEST, da_buf_data(&frame), da_buf_len(&frame), answers,
                           2, ANSWER_TIMEOUT_MS, &got, &ans);
    close(fd);
    da_buf_free(&frame);
    if (r != 0) {
        da_buf_free(&ans);
        return fail(r, "no answer from the agent on %s", sock);
    }
    if (got == AGENT_MSG_ERROR) {
        r = agent_fields_split(da_buf_data(&ans), da_buf_len(&ans), AGENT_MSG_N(ERROR), err_caps,
                               f) == 0 &&
                    agent_field_u64(&f[0], &code) == 0 &&
                    agent_field_str(&f[1], text, sizeof(text)) == 0
                ? -(int)code
                : DA_ERR_IPC;
        da_buf_free(&ans);
        return fail(r, "refused by the agent: %s", r == DA_ERR_IPC ? "malformed answer" : text);
    }
    r = agent_fields_split(da_buf_data(&ans), da_buf_len(&ans), AGENT_MSG_N(ATTEST_OK), ok_caps, f);
    if (r == 0)
        r = da_buf_append(lines, f[0].data, f[0].len);
    if (r == 0)
        r = agent_field_str(&f[1], tsa, tsa_size);
    da_buf_free(&ans);
    return r == 0 ? 0 : fail(r, "%s", "malformed answer from the agent");
}

/* The line with an RFC 3161 time stamp of its signature bytes added. */
static int timestamp_line(const char *tsa, const char *line, size_t len, struct da_buf *out)
{
    const cJSON *sigs = NULL;
    cJSON *env = NULL, *s0;
    struct da_buf sig, token, b64;
    char why[512] = "";
    const char *sig_b64 = NULL;
    int r;

    da_buf_init(&sig, DA_MAX_DSSE_SIG_LEN);
    da_buf_init(&token, AGENT_TSA_MAX_RESPONSE);
    da_buf_init(&b64, 2 * AGENT_TSA_MAX_RESPONSE);
    r = da_json_parse(line, len, DA_MAX_DSSE_ENVELOPE, &env);
    if (r == 0)
        r = da_json_get_array(env, "signatures", &sigs);
    /* The envelope is ours to change: take the entry from the tree itself. */
    s0 = sigs != NULL ? cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(env, "signatures"), 0)
                      : NULL;
    if (r == 0)
        r = da_json_get_string(s0, "sig", &sig_b64);
    if (r == 0)
        r = da_base64_decode(sig_b64, strlen(sig_b64), DA_BASE64_STD, &sig);
    if (r == 0) {
        r = agent_tsa_timestamp(tsa, da_buf_data(&sig), da_buf_len(&sig), &token, why, sizeof(why));
        if (r != 0)
            fail(r, "time stamp: %s", why);
    }
    if (r == 0)
        r = da_base64_encode(da_buf_data(&token), da_buf_len(&token), DA_BASE64_STD, &b64);
    if (r == 0 && cJSON_AddStringToObject(s0, "timestamp", da_buf_str(&b64)) == NULL)
        r = DA_ERR_NOMEM;
    if (r == 0)
        r = da_jcs_serialize(env, out);
    if (r == 0)
        r = da_buf_append_byte(out, '\n');
    cJSON_Delete(env);
    da_buf_free(&sig);
    da_buf_free(&token);
    da_buf_free(&b64);
    return r;
}

/* Check every line is one DSSE envelope, time-stamp it when asked, and
 * append each with one write. */
static int append_lines(const char *path, const struct da_buf *lines, const char *tsa,
                        size_t *count)
{
    const char *p = da_buf_str(lines), *end = p + da_buf_len(lines), *nl;
    struct da_buf all;
    struct da_dsse_envelope *env = NULL;
    int fd, r = 0;

    *count = 0;
    da_buf_init(&all, AGENT_MAX_ATTEST_LINES + 64u * 1024);
    while (r == 0 && p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            return fail(DA_ERR_BUNDLE_FORMAT, "%s", "the agent's answer is not JSON Lines");
        r = da_dsse_envelope_decode(p, (size_t)(nl - p), &env);
        da_dsse_envelope_free(env);
        env = NULL;
        if (r == 0 && tsa[0] != '\0')
            r = timestamp_line(tsa, p, (size_t)(nl - p), &all);
        else if (r == 0)
            r = da_buf_append(&all, p, (size_t)(nl - p + 1));
        p = nl + 1;
        (*count)++;
    }
    if (r != 0) {
        da_buf_free(&all);
        return fail(r < 0 ? r : 0, "%s", "no line was appended");
    }
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        da_buf_free(&all);
        return fail(DA_ERR_IO, "%s cannot be opened for appending", path);
    }
    p = da_buf_str(&all);
    end = p + da_buf_len(&all);
    while (r == 0 && p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        r = da_write_all(fd, p, (size_t)(nl - p + 1));
        p = nl + 1;
    }
    if (close(fd) != 0 && r == 0)
        r = DA_ERR_IO;
    da_buf_free(&all);
    return r == 0 ? 0 : fail(r, "writing %s failed", path);
}

static int parse_args(int argc, char **argv, struct attest_opts *o)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"git", required_argument, NULL, 'g'},
                                         {"sbom", required_argument, NULL, 's'},
                                         {"test-results", required_argument, NULL, 't'},
                                         {"scan", required_argument, NULL, 'v'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;

    memset(o, 0, sizeof(*o));
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o->out = optarg;
            break;
        case 'n':
            o->name = optarg;
            break;
        case 'g':
            o->git = optarg;
            break;
        case 's':
            o->sbom = optarg;
            break;
        case 't':
            o->tests = optarg;
            break;
        case 'v':
            o->scan = optarg;
            break;
        case 'c':
            o->config = optarg;
            break;
        case 'h':
            fputs(attest_usage, stdout);
            return AGENT_EXIT_OK;
        default:
            fputs(attest_usage, stderr);
            return AGENT_EXIT_USAGE;
        }
    }
    if (optind >= argc || (o->name != NULL && argc - optind != 1) ||
        argc - optind > DA_MAX_ATTEST_SUBJECTS) {
        fputs(attest_usage, stderr);
        return AGENT_EXIT_USAGE;
    }
    if (o->out == NULL) {
        snprintf(o->out_default, sizeof(o->out_default), "%s.intoto.jsonl", argv[optind]);
        o->out = o->out_default;
    }
    return -1;
}

static int run_attest(int argc, char **argv)
{
    struct attest_opts o;
    struct agent_config cfg;
    struct da_kvconf_error err;
    struct da_buf req, lines;
    char tsa[AGENT_MAX_URL + 1], msg[640];
    size_t count = 0;
    int r;

    r = parse_args(argc, argv, &o);
    if (r >= 0)
        return r;
    /* A build user may not be able to read the configuration: only the
     * socket's path is needed, and the default serves then. */
    r = agent_config_load(&cfg, o.config != NULL ? o.config : AGENT_CONFIG_DEFAULT_PATH, &err);
    if (r != 0 && o.config != NULL) {
        da_kvconf_error_format(&err, msg, sizeof(msg));
        fprintf(stderr, "devattest-agent attest: %s\n", msg);
        agent_config_free(&cfg);
        return AGENT_EXIT_CONFIG;
    }
    if (r != 0) {
        agent_config_free(&cfg);
        if (agent_config_defaults(&cfg) != 0)
            return AGENT_EXIT_CONFIG;
    }
    da_buf_init(&req, AGENT_MAX_ATTEST_REQUEST);
    da_buf_init(&lines, AGENT_MAX_ATTEST_LINES);
    r = build_request(&o, argv + optind, argc - optind, &req);
    if (r == 0)
        r = ask_agent(cfg.attest_socket, &req, &lines, tsa, sizeof(tsa));
    if (r == 0)
        r = append_lines(o.out, &lines, tsa, &count);
    if (r == 0)
        printf("%zu statements appended to %s%s\n", count, o.out,
               tsa[0] != '\0' ? " (time-stamped)" : "");
    da_buf_free(&req);
    da_buf_free(&lines);
    agent_config_free(&cfg);
    return r == 0 ? AGENT_EXIT_OK : AGENT_EXIT_FAILURE;
}

const struct agent_command agent_cmd_attest = {
    .name = "attest",
    .summary = "append in-toto attestations of build artifacts to a bundle",
    .usage = attest_usage,
    .run = run_attest,
};

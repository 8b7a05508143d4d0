/* devattest-agent collect: print the evidence document. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "agent_config.h"
#include "collector.h"
#include "commands.h"
#include "caps.h"
#include "err.h"
#include "jcs.h"
#include "log.h"
#include "privacy.h"
#include "privacy_key.h"

#define AGENT_DEFAULT_STATE_DIR "/var/lib/devattest"

static const char agent_collect_usage[] =
    "usage: devattest-agent collect [--root DIR] [--only AREA,...] [--pretty]\n"
    "                               [--state-dir DIR | --no-cache] [--config FILE]\n"
    "                               [--agent-config FILE] [--privacy MODE] [--explain]\n"
    "Print the evidence document (devattest.evidence/v1) to stdout, exactly as\n"
    "it would be uploaded: the privacy mode of agent.conf is applied.\n"
    "  --root DIR       read the system below DIR instead of /\n"
    "  --only AREAS     comma-separated areas: host, patches, disk, isolation,\n"
    "                   toolchain, separation, antimalware, access, time,\n"
    "                   runtime, logging, hardening, auth, media\n"
    "  --pretty         indent the JSON (default: canonical RFC 8785, one line)\n"
    "  --state-dir DIR  directory for the collectors' caches\n"
    "                   (default " AGENT_DEFAULT_STATE_DIR " when it is usable)\n"
    "  --no-cache       use no state directory at all: no caches, and no\n"
    "                   first-seen times, so pending updates have unknown ages\n"
    "  --config FILE    collector configuration (JSON: toolchain, path,\n"
    "                   production_patterns, production_cidrs, role, source_dirs)\n"
    "  --agent-config FILE  agent.conf whose privacy mode and state directory\n"
    "                   apply (default " AGENT_CONFIG_DEFAULT_PATH " when it exists)\n"
    "  --privacy MODE   standard or minimal, instead of agent.conf's (minimal:\n"
    "                   names and paths that can point to a person become\n"
    "                   pseudonyms, facts no check uses are left out)\n"
    "  --explain        list each field of the document with its purpose, the\n"
    "                   checks that read it and what minimal mode does with it\n"
    "exit codes: 0 document printed, 1 collection failed, 2 usage error,\n"
    "            3 configuration unusable\n";

/* The default state directory, or NULL when it cannot be used. */
static const char *agent_collect_default_state(void)
{
    if (mkdir(AGENT_DEFAULT_STATE_DIR, 0700) != 0 && errno != EEXIST)
        return NULL;
    if (access(AGENT_DEFAULT_STATE_DIR, W_OK | X_OK) != 0)
        return NULL;
    return AGENT_DEFAULT_STATE_DIR;
}

/* Strip trailing slashes; "/" becomes "". */
static int agent_collect_root(const char *arg, char *out, size_t n)
{
    size_t len = strlen(arg);

    while (len > 0 && arg[len - 1] == '/')
        len--;
    if (len >= n)
        return -1;
    memcpy(out, arg, len);
    out[len] = '\0';
    return 0;
}

/* The agent's own identity: version and the SHA-256 of its binary (cached
 * in the state directory like the toolchain's hashes). */
static int agent_collect_identity(cJSON *doc, const char *state_dir)
{
    cJSON *agent = cJSON_CreateObject();
    char hex[65];
    int r;

    if (agent == NULL || !cJSON_AddItemToObject(doc, "agent", agent)) {
        cJSON_Delete(agent);
        return DA_ERR_NOMEM;
    }
    if (cJSON_AddStringToObject(agent, "version", DA_VERSION) == NULL)
        return DA_ERR_NOMEM;
    r = col_binary_sha256(state_dir, "/proc/self/exe", hex);
    if (r == 0)
        return col_add_str(agent, "binary_sha256", hex);
    return col_add_unknown_err(agent, "binary_sha256", r, "/proc/self/exe");
}

/* Read and parse the collector configuration; prints why it is unusable. */
static int agent_collect_config(const char *path, struct col_config_file **out)
{
    struct da_buf b;
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n;
    int r = 0;

    *out = NULL;
    if (f == NULL) {
        fprintf(stderr, "collect: %s: %s\n", path, strerror(errno));
        return DA_ERR_CONFIG;
    }
    da_buf_init(&b, DA_MAX_CONFIG);
    while (r == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        r = da_buf_append(&b, chunk, n);
    if (r == 0 && ferror(f))
        r = DA_ERR_IO;
    fclose(f);
    if (r == 0)
        r = col_config_parse(da_buf_str(&b), da_buf_len(&b), out);
    if (r < 0)
        fprintf(stderr, "collect: %s: %s\n", path, da_strerror(r));
    da_buf_free(&b);
    return r;
}

struct collect_privacy {
    const char *agent_config; /* NULL: the default file when it exists */
    const char *mode;         /* NULL: agent.conf's */
    enum da_privacy_mode m;
    char state_dir[4096]; /* agent.conf's state directory */
};

/* The privacy mode and the state directory of agent.conf. */
static int agent_collect_privacy_config(struct collect_privacy *p)
{
    const char *path = p->agent_config != NULL ? p->agent_config : AGENT_CONFIG_DEFAULT_PATH;
    struct agent_config cfg;
    struct da_kvconf_error err;
    char msg[640];
    int r;

    p->m = DA_PRIVACY_STANDARD;
    if (p->agent_config != NULL || access(path, F_OK) == 0) {
        r = agent_config_load(&cfg, path, &err);
        if (r != 0) {
            da_kvconf_error_format(&err, msg, sizeof(msg));
            fprintf(stderr, "collect: %s\n", msg);
            agent_config_free(&cfg);
            return DA_ERR_CONFIG;
        }
        p->m = (enum da_privacy_mode)cfg.privacy;
        snprintf(p->state_dir, sizeof(p->state_dir), "%s", cfg.state_dir);
        agent_config_free(&cfg);
    }
    if (p->mode != NULL && da_privacy_mode_parse(p->mode, &p->m) != 0) {
        fprintf(stderr, "collect: --privacy must be standard or minimal\n");
        return DA_ERR_CONFIG;
    }
    return 0;
}

/* Apply the mode with the deployment key, or before enrollment with a key
 * of this run alone. */
static int agent_collect_apply_privacy(const struct collect_privacy *p, const char *state_dir,
                                       cJSON *doc)
{
    unsigned char key[DA_PRIVACY_KEY_LEN];
    int r = 0;

    if (p->m == DA_PRIVACY_MINIMAL) {
        r = agent_privacy_key_load(p->state_dir[0] != '\0' ? p->state_dir : state_dir, key);
        if (r == DA_ERR_NOT_ENROLLED) {
            fprintf(stderr, "collect: no privacy key (not enrolled): pseudonyms of this run "
                            "use a one-time key\n");
            r = RAND_bytes(key, sizeof(key)) == 1 ? 0 : DA_ERR_CRYPTO;
        }
    }
    if (r == 0)
        r = da_privacy_apply(doc, p->m, key);
    OPENSSL_cleanse(key, sizeof(key));
    return r;
}

/* One line per field: where it is, what it is for, which checks read it. */
static int agent_collect_explain_node(const cJSON *node, char *ptr, size_t size, size_t len)
{
    const struct da_privacy_field *f;
    const cJSON *c;
    unsigned idx = 0;

    if ((cJSON_IsObject(node) &&
         !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(node, "unknown"))) ||
        cJSON_IsArray(node)) {
        for (c = node->child; c != NULL; c = c->next, idx++) {
            int w = cJSON_IsArray(node) ? snprintf(ptr + len, size - len, "/%u", idx)
                                        : snprintf(ptr + len, size - len, "/%s", c->string);

            if (w < 0 || (size_t)w >= size - len)
                return DA_ERR_TOO_LARGE;
            if (agent_collect_explain_node(c, ptr, size, len + (size_t)w) != 0)
                return DA_ERR_IO;
            ptr[len] = '\0';
        }
        return 0;
    }
    f = da_privacy_lookup(ptr);
    if (f == NULL && cJSON_IsObject(node) && da_privacy_covers_below(ptr))
        return printf("%s\n  unknown (%s): its fields are in the inventory; in minimal mode "
                      "the reason is kept, the detail left out\n",
                      ptr, cJSON_GetObjectItemCaseSensitive(node, "unknown")->valuestring) < 0
                   ? DA_ERR_IO
                   : 0;
    if (f == NULL)
        return printf("%s\n  not in the inventory: left out in minimal mode\n", ptr) < 0 ? DA_ERR_IO
                                                                                         : 0;
    return printf("%s\n  %s; %s; in minimal mode %s\n  checks: %s\n", ptr, f->purpose,
                  da_privacy_class_name(f->cls), da_privacy_action_name(f->minimal),
                  f->checks[0] != '\0' ? f->checks : "none") < 0
               ? DA_ERR_IO
               : 0;
}

static int agent_collect_explain(const cJSON *doc, enum da_privacy_mode m)
{
    char ptr[1024] = "";

    if (printf("privacy mode: %s (fields as collected; classes: technical, machine, "
               "personal)\n",
               da_privacy_mode_name(m)) < 0)
        return DA_ERR_IO;
    return agent_collect_explain_node(doc, ptr, sizeof(ptr), 0);
}

static int agent_collect_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"root", required_argument, NULL, 'r'},
        {"only", required_argument, NULL, 'o'},
        {"pretty", no_argument, NULL, 'p'},
        {"state-dir", required_argument, NULL, 's'},
        {"no-cache", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {"config", required_argument, NULL, 'c'},
        {"agent-config", required_argument, NULL, 'a'},
        {"privacy", required_argument, NULL, 'm'},
        {"explain", no_argument, NULL, 'e'},
        {NULL, 0, NULL, 0},
    };
    char root[4096] = "";
    const char *only = NULL, *state = NULL, *config = NULL;
    struct col_config_file *cfg = NULL;
    struct collect_privacy priv;
    int pretty = 0, no_cache = 0, explain = 0, c, r;
    struct col_ctx ctx;
    cJSON *doc = NULL;
    char *text = NULL;

    memset(&priv, 0, sizeof(priv));
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (agent_collect_root(optarg, root, sizeof(root)) != 0) {
                fprintf(stderr, "collect: --root is too long\n");
                return AGENT_EXIT_USAGE;
            }
            break;
        case 'o':
            only = optarg;
            break;
        case 'p':
            pretty = 1;
            break;
        case 's':
            state = optarg;
            break;
        case 'n':
            no_cache = 1;
            break;
        case 'c':
            config = optarg;
            break;
        case 'a':
            priv.agent_config = optarg;
            break;
        case 'm':
            priv.mode = optarg;
            break;
        case 'e':
            explain = 1;
            break;
        case 'h':
            fputs(agent_collect_usage, stdout);
            return AGENT_EXIT_OK;
        default:
            fputs(agent_collect_usage, stderr);
            return AGENT_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fputs(agent_collect_usage, stderr);
        return AGENT_EXIT_USAGE;
    }
    if (agent_collect_privacy_config(&priv) != 0)
        return AGENT_EXIT_CONFIG;
    if (config != NULL && agent_collect_config(config, &cfg) != 0)
        return AGENT_EXIT_CONFIG;
    memset(&ctx, 0, sizeof(ctx));
    ctx.root = root;
    ctx.live = root[0] == '\0';
    ctx.now = time(NULL);
    ctx.cfg = cfg != NULL ? col_config_get(cfg) : col_default_config();
    ctx.ops = ctx.live ? &col_live_ops : &col_root_ops;
    ctx.state_dir = no_cache ? NULL : (state != NULL ? state : agent_collect_default_state());
    r = col_collect_evidence(&ctx, only, &doc);
    col_config_free(cfg);
    if (r == 0)
        r = agent_collect_identity(doc, ctx.state_dir);
    if (r == DA_ERR_COLLECT_UNKNOWN_AREA) {
        fprintf(stderr, "collect: unknown area in --only '%s'\n", only);
        return AGENT_EXIT_USAGE;
    }
    if (r == 0 && explain) {
        r = agent_collect_explain(doc, priv.m);
        cJSON_Delete(doc);
        return r == 0 && fflush(stdout) == 0 ? AGENT_EXIT_OK : AGENT_EXIT_FAILURE;
    }
    if (r == 0)
        r = agent_collect_apply_privacy(&priv, ctx.state_dir, doc);
    if (r < 0) {
        cJSON_Delete(doc);
        da_error_f("collection failed: %s", da_strerror(r));
        return AGENT_EXIT_FAILURE;
    }
    if (pretty) {
        text = cJSON_Print(doc);
        r = text == NULL ? DA_ERR_NOMEM : 0;
    } else {
        struct da_buf canon;

        /* the canonical form (RFC 8785) is the one that gets hashed */
        da_buf_init(&canon, DA_MAX_EVIDENCE);
        r = da_jcs_serialize(doc, &canon);
        text = r == 0 ? (char *)da_buf_take(&canon, NULL) : NULL;
        if (r == 0 && text == NULL)
            r = DA_ERR_NOMEM;
        da_buf_free(&canon);
    }
    cJSON_Delete(doc);
    if (r < 0) {
        da_error_f("evidence cannot be serialized: %s", da_strerror(r));
        return AGENT_EXIT_FAILURE;
    }
    r = fputs(text, stdout) < 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0;
    free(text); /* cJSON_Print or da_buf_take: both malloc */
    return r ? AGENT_EXIT_FAILURE : AGENT_EXIT_OK;
}

const struct agent_command agent_cmd_collect = {
    .name = "collect",
    .summary = "print this machine's evidence document (posture facts)",
    .usage = agent_collect_usage,
    .run = agent_collect_run,
};

/* devattest-agent collect: print the evidence document. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "commands.h"
#include "caps.h"
#include "err.h"
#include "jcs.h"
#include "log.h"

#define AGENT_DEFAULT_STATE_DIR "/var/lib/devattest"

static const char agent_collect_usage[] =
    "usage: devattest-agent collect [--root DIR] [--only AREA,...] [--pretty]\n"
    "                               [--state-dir DIR | --no-cache] [--config FILE]\n"
    "Print the evidence document (devattest.evidence/v1) to stdout.\n"
    "  --root DIR       read the system below DIR instead of /\n"
    "  --only AREAS     comma-separated areas: host, patches, disk, isolation,\n"
    "                   toolchain, separation, antimalware, access, time\n"
    "  --pretty         indent the JSON (default: canonical RFC 8785, one line)\n"
    "  --state-dir DIR  directory for the collectors' caches\n"
    "                   (default " AGENT_DEFAULT_STATE_DIR " when it is usable)\n"
    "  --no-cache       use no state directory at all: no caches, and no\n"
    "                   first-seen times, so pending updates have unknown ages\n"
    "  --config FILE    collector configuration (JSON: toolchain, path,\n"
    "                   production_patterns, production_cidrs, role, source_dirs)\n"
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

static int agent_collect_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"root", required_argument, NULL, 'r'},   {"only", required_argument, NULL, 'o'},
        {"pretty", no_argument, NULL, 'p'},       {"state-dir", required_argument, NULL, 's'},
        {"no-cache", no_argument, NULL, 'n'},     {"help", no_argument, NULL, 'h'},
        {"config", required_argument, NULL, 'c'}, {NULL, 0, NULL, 0},
    };
    char root[4096] = "";
    const char *only = NULL, *state = NULL, *config = NULL;
    struct col_config_file *cfg = NULL;
    int pretty = 0, no_cache = 0, c, r;
    struct col_ctx ctx;
    cJSON *doc = NULL;
    char *text = NULL;

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
    if (r < 0) {
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

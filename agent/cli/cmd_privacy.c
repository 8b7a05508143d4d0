/* devattest-agent privacy reveal: map pseudonyms of the minimal privacy
 * mode back to names, on the machine, by recomputing them over the names it
 * shows. Nothing is sent anywhere. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "agent_config.h"
#include "buf.h"
#include "caps.h"
#include "collector.h"
#include "commands.h"
#include "err.h"
#include "privacy.h"
#include "privacy_key.h"
#include "privsep.h"
#include "rootfs.h"

static const char privacy_usage[] =
    "usage: devattest-agent privacy reveal [--config FILE] [PSEUDONYM...]\n"
    "Print PSEUDONYM<TAB>NAME for pseudonyms of the minimal privacy mode (all\n"
    "of this machine's without arguments). The names are those the machine\n"
    "shows now: every value minimal mode pseudonymizes in this machine's\n"
    "evidence, the accounts and home directories of /etc/passwd and the host\n"
    "name. Needs the privacy key in the state directory (run as the agent's\n"
    "user or root); nothing leaves the machine.\n"
    "  --config FILE  agent configuration (default " AGENT_CONFIG_DEFAULT_PATH ")\n"
    "exit codes: 0 every pseudonym asked for was found, 1 some was not or the\n"
    "            key is missing, 2 usage error, 3 configuration unusable\n";

struct reveal {
    const unsigned char *key;
    cJSON *map; /* pseudonym -> name */
};

static int reveal_add(struct reveal *rv, const char *name)
{
    char p[DA_PRIVACY_PSEUDONYM_SIZE];
    int r;

    if (name[0] == '\0')
        return 0;
    r = da_privacy_pseudonym(rv->key, name, p);
    if (r != 0)
        return r;
    if (cJSON_GetObjectItemCaseSensitive(rv->map, p) != NULL)
        return 0;
    return cJSON_AddStringToObject(rv->map, p, name) == NULL ? DA_ERR_NOMEM : 0;
}

/* Every string that minimal mode would pseudonymize in doc. */
static int reveal_walk(struct reveal *rv, const cJSON *n, char *ptr, size_t len)
{
    const struct da_privacy_field *f;
    const cJSON *c;
    unsigned idx = 0;
    int r = 0;

    if (cJSON_IsString(n)) {
        f = da_privacy_lookup(ptr);
        return f != NULL && f->minimal == DA_PRIVACY_PSEUDONYMIZE ? reveal_add(rv, n->valuestring)
                                                                  : 0;
    }
    for (c = n->child; r == 0 && c != NULL; c = c->next, idx++) {
        int w = cJSON_IsArray(n) ? snprintf(ptr + len, 1024 - len, "/%u", idx)
                                 : snprintf(ptr + len, 1024 - len, "/%s", c->string);

        if (w < 0 || (size_t)w >= 1024 - len)
            continue;
        r = reveal_walk(rv, c, ptr, len + (size_t)w);
        ptr[len] = '\0';
    }
    return r;
}

/* Account names and home directories of /etc/passwd below the root. */
static int reveal_passwd(struct reveal *rv, const struct col_ctx *ctx)
{
    struct da_buf b;
    char *text, *line, *save = NULL;
    size_t len = 0;
    int r;

    da_buf_init(&b, DA_MAX_SYSFILE);
    r = col_read_file(ctx, "/etc/passwd", &b);
    text = r == 0 ? (char *)da_buf_take(&b, &len) : NULL; /* split in place: ours to change */
    da_buf_free(&b);
    if (r != 0)
        return 0; /* no accounts to try */
    if (text == NULL)
        return DA_ERR_NOMEM;
    for (line = strtok_r(text, "\n", &save); r == 0 && line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[7], *s = line;
        int i;

        for (i = 0; i < 7; i++) {
            f[i] = s;
            s = s != NULL ? strchr(s, ':') : NULL;
            if (s != NULL)
                *s++ = '\0';
        }
        if (f[0] != NULL)
            r = reveal_add(rv, f[0]);
        if (r == 0 && f[5] != NULL)
            r = reveal_add(rv, f[5]);
    }
    OPENSSL_cleanse(text, len);
    free(text);
    return r;
}

static int reveal_collect(struct reveal *rv, const struct agent_config *cfg)
{
    struct col_config colcfg;
    struct col_ctx ctx;
    cJSON *doc = NULL;
    char ptr[1024] = "";
    int r;

    agent_collector_config(cfg, getenv("PATH"), &colcfg);
    memset(&ctx, 0, sizeof(ctx));
    ctx.root = cfg->collect_root;
    ctx.live = cfg->collect_root[0] == '\0';
    ctx.now = time(NULL);
    ctx.cfg = &colcfg;
    ctx.ops = ctx.live ? &col_live_ops : &col_root_ops;
    ctx.state_dir = NULL; /* no caches: this must not write anything */
    r = da_rootfs_open(ctx.root, 0, &ctx.fs);
    if (r == 0)
        r = col_collect_evidence(&ctx, NULL, &doc);
    if (r == 0)
        r = reveal_walk(rv, doc, ptr, 0);
    if (r == 0)
        r = reveal_passwd(rv, &ctx);
    cJSON_Delete(doc);
    da_rootfs_free(ctx.fs);
    return r;
}

static int privacy_reveal(const struct agent_config *cfg, int n, char **asked)
{
    unsigned char key[DA_PRIVACY_KEY_LEN];
    struct reveal rv = {key, cJSON_CreateObject()};
    const cJSON *it;
    int r, i, missing = 0;

    r = agent_privacy_key_load(cfg->state_dir, key);
    if (r != 0) {
        fprintf(stderr, "privacy: no usable privacy key in %s: %s\n", cfg->state_dir,
                da_strerror(r));
        cJSON_Delete(rv.map);
        return AGENT_EXIT_FAILURE;
    }
    r = rv.map != NULL ? reveal_collect(&rv, cfg) : DA_ERR_NOMEM;
    OPENSSL_cleanse(key, sizeof(key));
    if (r != 0) {
        fprintf(stderr, "privacy: %s\n", da_strerror(r));
        cJSON_Delete(rv.map);
        return AGENT_EXIT_FAILURE;
    }
    if (n == 0) {
        cJSON_ArrayForEach(it, rv.map) printf("%s\t%s\n", it->string, it->valuestring);
    }
    for (i = 0; i < n; i++) {
        it = cJSON_GetObjectItemCaseSensitive(rv.map, asked[i]);
        if (it != NULL) {
            printf("%s\t%s\n", asked[i], it->valuestring);
        } else {
            printf("%s\t(not found on this machine)\n", asked[i]);
            missing = 1;
        }
    }
    cJSON_Delete(rv.map);
    return fflush(stdout) == 0 && !missing ? AGENT_EXIT_OK : AGENT_EXIT_FAILURE;
}

static int privacy_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = AGENT_CONFIG_DEFAULT_PATH;
    struct agent_config cfg;
    struct da_kvconf_error err;
    char msg[640];
    int c, r;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'h':
            fputs(privacy_usage, stdout);
            return AGENT_EXIT_OK;
        default:
            fputs(privacy_usage, stderr);
            return AGENT_EXIT_USAGE;
        }
    }
    if (optind >= argc || strcmp(argv[optind], "reveal") != 0) {
        fputs(privacy_usage, stderr);
        return AGENT_EXIT_USAGE;
    }
    r = agent_config_load(&cfg, config, &err);
    if (r != 0) {
        da_kvconf_error_format(&err, msg, sizeof(msg));
        fprintf(stderr, "privacy: %s\n", msg);
        agent_config_free(&cfg);
        return AGENT_EXIT_CONFIG;
    }
    r = privacy_reveal(&cfg, argc - optind - 1, argv + optind + 1);
    agent_config_free(&cfg);
    return r;
}

const struct agent_command agent_cmd_privacy = {
    .name = "privacy",
    .summary = "map privacy pseudonyms back to this machine's names (privacy reveal)",
    .usage = privacy_usage,
    .run = privacy_run,
};

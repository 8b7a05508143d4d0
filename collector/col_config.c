/* The collectors' configuration: defaults, and the strict JSON form
 *   {"toolchain": [NAME...], "path": "DIR:DIR", "production_patterns": [GLOB...],
 *    "production_cidrs": [CIDR...], "role": "ROLE", "source_dirs": [DIR...]}
 * where every member is optional and no other member is accepted. */
#include "collector.h"

#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "caps.h"
#include "err.h"
#include "json.h"

#define COL_CONFIG_MAX_LIST 256
#define COL_CONFIG_MAX_STR  1024

static const char *const col_default_tools[] = {
    "cc",  "gcc", "clang", "ld",    "as",    "make", "cmake",   "ninja",
    "git", "go",  "rustc", "cargo", "javac", "node", "python3",
};

static const struct col_config col_defaults = {
    .toolchain = col_default_tools,
    .n_toolchain = sizeof(col_default_tools) / sizeof(col_default_tools[0]),
    .path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
};

const struct col_config *col_default_config(void)
{
    return &col_defaults;
}

struct col_config_file {
    struct col_config cfg;
    cJSON *tree;
    const char **lists[4];
};

int col_cidr_check(const char *s)
{
    unsigned char addr[16];
    char host[64];
    const char *slash = strchr(s, '/');
    uint64_t bits;
    int v6;

    if (slash == NULL || (size_t)(slash - s) >= sizeof(host) ||
        col_parse_u64(slash + 1, &bits) != 0)
        return DA_ERR_CONFIG;
    memcpy(host, s, (size_t)(slash - s));
    host[slash - s] = '\0';
    v6 = strchr(host, ':') != NULL;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, host, addr) != 1 || bits > (v6 ? 128u : 32u))
        return DA_ERR_CONFIG;
    return 0;
}

static int col_config_string(const cJSON *s)
{
    size_t n;

    if (!cJSON_IsString(s) || s->valuestring == NULL)
        return DA_ERR_CONFIG;
    n = strlen(s->valuestring);
    return n > 0 && n < COL_CONFIG_MAX_STR ? 0 : DA_ERR_CONFIG;
}

/* A list of non-empty strings into a new array of pointers into the tree. */
static int col_config_list(const cJSON *arr, size_t max, int (*check)(const char *),
                           const char ***out, size_t *n)
{
    const cJSON *it;
    size_t count = 0;

    *out = NULL;
    *n = 0;
    if (!cJSON_IsArray(arr) || (size_t)cJSON_GetArraySize(arr) > max)
        return DA_ERR_CONFIG;
    *out = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(**out));
    if (*out == NULL)
        return DA_ERR_NOMEM;
    cJSON_ArrayForEach(it, arr)
    {
        if (col_config_string(it) != 0 || (check != NULL && check(it->valuestring) != 0))
            return DA_ERR_CONFIG;
        (*out)[count++] = it->valuestring;
    }
    *n = count;
    return 0;
}

static int col_config_tool_name(const char *s)
{
    return strchr(s, '/') == NULL && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 ? 0
                                                                                 : DA_ERR_CONFIG;
}

static int col_config_abs_dir(const char *s)
{
    return s[0] == '/' ? 0 : DA_ERR_CONFIG;
}

void col_config_free(struct col_config_file *f)
{
    size_t i;

    if (f == NULL)
        return;
    for (i = 0; i < 4; i++)
        free(f->lists[i]);
    cJSON_Delete(f->tree);
    free(f);
}

const struct col_config *col_config_get(const struct col_config_file *f)
{
    return &f->cfg;
}

static int col_config_member(struct col_config_file *f, const cJSON *m)
{
    const char *k = m->string;

    if (strcmp(k, "toolchain") == 0) {
        int r = col_config_list(m, DA_MAX_TOOLS, col_config_tool_name, &f->lists[0],
                                &f->cfg.n_toolchain);

        f->cfg.toolchain = f->lists[0];
        return r;
    }
    if (strcmp(k, "production_patterns") == 0) {
        int r = col_config_list(m, COL_CONFIG_MAX_LIST, NULL, &f->lists[1],
                                &f->cfg.n_production_patterns);

        f->cfg.production_patterns = f->lists[1];
        return r;
    }
    if (strcmp(k, "production_cidrs") == 0) {
        int r = col_config_list(m, COL_CONFIG_MAX_LIST, col_cidr_check, &f->lists[2],
                                &f->cfg.n_production_cidrs);

        f->cfg.production_cidrs = f->lists[2];
        return r;
    }
    if (strcmp(k, "source_dirs") == 0) {
        int r = col_config_list(m, COL_CONFIG_MAX_LIST, col_config_abs_dir, &f->lists[3],
                                &f->cfg.n_source_dirs);

        f->cfg.source_dirs = f->lists[3];
        return r;
    }
    if (strcmp(k, "path") == 0 && col_config_string(m) == 0) {
        f->cfg.path_env = m->valuestring;
        return 0;
    }
    if (strcmp(k, "role") == 0 && col_config_string(m) == 0) {
        f->cfg.role = m->valuestring;
        return 0;
    }
    return DA_ERR_CONFIG; /* unknown member or wrong type */
}

int col_config_parse(const char *text, size_t len, struct col_config_file **out)
{
    struct col_config_file *f;
    const cJSON *m;
    int r;

    *out = NULL;
    f = calloc(1, sizeof(*f));
    if (f == NULL)
        return DA_ERR_NOMEM;
    f->cfg = col_defaults;
    r = da_json_parse(text, len, DA_MAX_CONFIG, &f->tree);
    if (r == 0 && !cJSON_IsObject(f->tree))
        r = DA_ERR_CONFIG;
    for (m = r == 0 ? f->tree->child : NULL; r == 0 && m != NULL; m = m->next)
        r = col_config_member(f, m);
    if (r < 0) {
        col_config_free(f);
        return r == DA_ERR_NOMEM ? r : DA_ERR_CONFIG;
    }
    *out = f;
    return 0;
}

#include "gitinfo.h"

#include <stdio.h>
#include <string.h>

#include <git2.h>

#include "err.h"
#include "privsep_proto.h"

void agent_git_url_strip(const char *url, char *out, size_t size)
{
    const char *scheme = strstr(url, "://"), *host, *at, *slash;

    if (scheme == NULL) {
        snprintf(out, size, "%s", url);
        return;
    }
    host = scheme + 3;
    slash = strchr(host, '/');
    at = memchr(host, '@', slash != NULL ? (size_t)(slash - host) : strlen(host));
    if (at == NULL)
        snprintf(out, size, "%s", url);
    else
        snprintf(out, size, "%.*s%s", (int)(host - url), url, at + 1);
}

static void why_git(char *why, size_t ws, const char *what)
{
    const git_error *e = git_error_last();

    snprintf(why, ws, "%s: %s", what, e != NULL && e->message != NULL ? e->message : "failed");
}

/* The remote's URL from the configuration, read without libgit2's remote
 * API (whose regular-expression lookups leak in the libgit2 of Debian 12):
 * remote.origin.url, else the first remote.NAME.url in configuration order. */
static int remote_url(git_repository *repo, char *url, size_t size)
{
    git_config *cfg = NULL;
    git_config_iterator *it = NULL;
    git_config_entry *e = NULL;
    git_buf b = GIT_BUF_INIT;
    size_t n;

    url[0] = '\0';
    if (git_repository_config_snapshot(&cfg, repo) != 0)
        return -1;
    if (git_config_get_string_buf(&b, cfg, "remote.origin.url") == 0) {
        agent_git_url_strip(b.ptr, url, size);
    } else if (git_config_iterator_new(&it, cfg) == 0) {
        while (git_config_next(&e, it) == 0) {
            n = strlen(e->name);
            if (strncmp(e->name, "remote.", 7) == 0 && n > 11 &&
                strcmp(e->name + n - 4, ".url") == 0) {
                agent_git_url_strip(e->value, url, size);
                break;
            }
        }
        git_config_iterator_free(it);
    }
    git_buf_dispose(&b);
    git_config_free(cfg);
    return 0;
}

static int tree_clean(git_repository *repo, int *clean)
{
    git_status_options o;
    git_status_list *st = NULL;

    if (git_status_options_init(&o, GIT_STATUS_OPTIONS_VERSION) != 0)
        return -1;
    o.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
    o.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
    if (git_status_list_new(&st, repo, &o) != 0)
        return -1;
    *clean = git_status_list_entrycount(st) == 0;
    git_status_list_free(st);
    return 0;
}

int agent_git_facts(const char *dir, cJSON **out, char *why, size_t ws)
{
    git_repository *repo = NULL;
    git_oid head;
    char hex[GIT_OID_HEXSZ + 1], url[AGENT_MAX_URL + 1];
    cJSON *o = NULL;
    int clean = 0, r = DA_ERR_GIT;

    *out = NULL;
    git_libgit2_init();
    if (git_repository_open_ext(&repo, dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) != 0) {
        why_git(why, ws, dir);
        goto out;
    }
    if (git_reference_name_to_id(&head, repo, "HEAD") != 0) {
        why_git(why, ws, "HEAD");
        goto out;
    }
    git_oid_tostr(hex, sizeof(hex), &head);
    if (remote_url(repo, url, sizeof(url)) != 0 || tree_clean(repo, &clean) != 0) {
        why_git(why, ws, "status");
        goto out;
    }
    o = cJSON_CreateObject();
    if (o == NULL || cJSON_AddStringToObject(o, "commit", hex) == NULL ||
        (url[0] != '\0' ? cJSON_AddStringToObject(o, "remote", url)
                        : cJSON_AddNullToObject(o, "remote")) == NULL ||
        cJSON_AddBoolToObject(o, "clean", clean) == NULL) {
        r = DA_ERR_NOMEM;
        goto out;
    }
    *out = o;
    o = NULL; /* transferred */
    r = 0;
out:
    cJSON_Delete(o);
    git_repository_free(repo);
    git_libgit2_shutdown();
    return r;
}

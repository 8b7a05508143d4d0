#include "curl_dl.h"

#include <dlfcn.h>
#include <stddef.h>

#include "err.h"
#include "log.h"

/* The soname of the libcurl ABI this agent is built against (libcurl4). */
#define AGENT_CURL_SONAME "libcurl.so.4"

static struct agent_curl curl_fns;
static int curl_state; /* 0 not tried, 1 loaded, negative: the failure */

static int load_sym(void *lib, const char *name, void **slot)
{
    *slot = dlsym(lib, name);
    if (*slot == NULL) {
        da_error_f("%s has no %s", AGENT_CURL_SONAME, name);
        return DA_ERR_UNSUPPORTED;
    }
    return 0;
}

int agent_curl_load(const struct agent_curl **out)
{
    struct {
        const char *name;
        void **slot;
    } syms[] = {
        {"curl_global_init", (void **)&curl_fns.global_init},
        {"curl_easy_init", (void **)&curl_fns.easy_init},
        {"curl_easy_setopt", (void **)&curl_fns.easy_setopt},
        {"curl_easy_perform", (void **)&curl_fns.easy_perform},
        {"curl_easy_getinfo", (void **)&curl_fns.easy_getinfo},
        {"curl_easy_cleanup", (void **)&curl_fns.easy_cleanup},
        {"curl_easy_strerror", (void **)&curl_fns.easy_strerror},
        {"curl_slist_append", (void **)&curl_fns.slist_append},
        {"curl_slist_free_all", (void **)&curl_fns.slist_free_all},
    };
    void *lib;
    size_t i;
    int r = 0;

    *out = NULL;
    if (curl_state == 0) {
        /* The library stays loaded for the life of the process. */
        lib = dlopen(AGENT_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (lib == NULL) {
            const char *why = dlerror();

            da_error_f("cannot load %s: %s", AGENT_CURL_SONAME, why != NULL ? why : "unknown");
            r = DA_ERR_UNSUPPORTED;
        }
        for (i = 0; r == 0 && i < sizeof(syms) / sizeof(syms[0]); i++)
            r = load_sym(lib, syms[i].name, syms[i].slot);
        if (r == 0 && curl_fns.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            da_error_f("curl_global_init failed");
            r = DA_ERR_INTERNAL;
        }
        curl_state = r == 0 ? 1 : r;
    }
    if (curl_state < 0)
        return curl_state;
    *out = &curl_fns;
    return 0;
}

const struct agent_curl *agent_curl(void)
{
    return curl_state == 1 ? &curl_fns : NULL;
}

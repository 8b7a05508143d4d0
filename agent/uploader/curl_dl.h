/* libcurl, loaded when the first transport is made.
 *
 * Only the uploader talks HTTP. Linking libcurl into devattest-agent maps it
 * and its dependency tree (TLS stacks, Kerberos, LDAP, ...) into every
 * process at start and runs their constructors: about 6.5 MiB of resident
 * memory in `collect`, the collector and the signer, which never use it. The
 * transport therefore opens libcurl with dlopen, before the uploader enters
 * its sandbox, and calls it through this table. */
#ifndef AGENT_CURL_DL_H
#define AGENT_CURL_DL_H

#include <curl/curl.h>

struct agent_curl {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
    CURLcode (*easy_perform)(CURL *h);
    CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *h);
    const char *(*easy_strerror)(CURLcode rc);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
};

/* Load libcurl (once per process) and run curl_global_init. Returns 0 and
 * sets *out, or DA_ERR_UNSUPPORTED when the library or one of its functions
 * is missing (the reason is logged). Not thread-safe: call it from the
 * thread that makes transports. */
int agent_curl_load(const struct agent_curl **out);

/* The loaded table; only valid after agent_curl_load returned 0. */
const struct agent_curl *agent_curl(void);

#endif

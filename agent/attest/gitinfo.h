/* The git facts of attest --git DIR, read with libgit2 (git itself is never
 * run): HEAD's commit, the origin remote's URL (else the first remote's;
 * user information in it is left out) and whether the work tree and index
 * match HEAD (untracked files that are not ignored count as changes). */
#ifndef AGENT_GITINFO_H
#define AGENT_GITINFO_H

#include <cjson/cJSON.h>

/* {"commit": HEX, "remote": URL|null, "clean": BOOL} into *out. DA_ERR_GIT
 * (why says what failed) when DIR is no repository or HEAD is unborn. */
int agent_git_facts(const char *dir, cJSON **out, char *why, size_t why_size);

/* url without "user[:password]@" after its scheme, into out. */
void agent_git_url_strip(const char *url, char *out, size_t size);

#endif

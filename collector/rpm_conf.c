/* dnf's configuration: dnf.conf and the .repo files, read the way dnf's
 * INI parser reads them, strictly. Outside input: fuzzed by
 * fuzz_rpm_conf. */
#include "rpm.h"

#include <cjson/cJSON.h>

#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/sha.h>
#include <rpm/rpmver.h>

#include "caps.h"
#include "err.h"
#include "jcs.h"
#include "json.h"

#define COL_INI_NAME 256

static int col_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Trim blanks (and a trailing CR) of [s, s + n) in place: the new span. */
static void col_trim(const char **s, size_t *n)
{
    while (*n > 0 && (col_blank((*s)[0])))
        (*s)++, (*n)--;
    while (*n > 0 && (col_blank((*s)[*n - 1]) || (*s)[*n - 1] == '\r'))
        (*n)--;
}

static int col_ini_flush(col_ini_fn fn, void *arg, const char *section, const char *key,
                         const char *val, int have)
{
    return have ? fn(arg, section, key, val) : 0;
}

int col_rpm_ini_parse(const char *p, size_t n, col_ini_fn fn, void *arg)
{
    char section[COL_INI_NAME] = "", key[COL_INI_NAME] = "";
    char *val = NULL;
    size_t vlen = 0, off = 0;
    int have = 0, r = 0, in_section = 0;

    val = malloc(COL_RPM_MAX_VALUE + 1);
    if (val == NULL)
        return DA_ERR_NOMEM;
    val[0] = '\0';
    while (r == 0 && off < n) {
        const char *line = p + off, *nl = memchr(line, '\n', n - off);
        size_t len = nl != NULL ? (size_t)(nl - line) : n - off;
        const char *s = line;
        size_t sn = len;

        off += len + (nl != NULL ? 1 : 0);
        if (memchr(line, '\0', len) != NULL) {
            r = DA_ERR_COLLECT_PARSE;
            break;
        }
        if (have && len > 0 && col_blank(line[0])) {
            col_trim(&s, &sn);
            if (sn == 0)
                continue;
            /* a continuation line adds to the value */
            if (vlen + 1 + sn > COL_RPM_MAX_VALUE) {
                r = DA_ERR_COLLECT_PARSE;
                break;
            }
            if (vlen > 0)
                val[vlen++] = '\n';
            memcpy(val + vlen, s, sn);
            vlen += sn;
            val[vlen] = '\0';
            continue;
        }
        col_trim(&s, &sn);
        if (sn == 0 || s[0] == '#' || s[0] == ';')
            continue;
        r = col_ini_flush(fn, arg, section, key, val, have);
        have = 0;
        if (r < 0)
            break;
        if (s[0] == '[') {
            const char *name = s + 1;
            size_t nn;

            if (s[sn - 1] != ']' || sn < 3) {
                r = DA_ERR_COLLECT_PARSE;
                break;
            }
            nn = sn - 2;
            col_trim(&name, &nn);
            if (nn == 0 || nn >= sizeof(section) || memchr(name, '[', nn) ||
                memchr(name, ']', nn)) {
                r = DA_ERR_COLLECT_PARSE;
                break;
            }
            memcpy(section, name, nn);
            section[nn] = '\0';
            in_section = 1;
            continue;
        }
        {
            const char *eq = memchr(s, '=', sn), *k = s, *v;
            size_t kn, vn;

            if (eq == NULL || !in_section) {
                r = DA_ERR_COLLECT_PARSE;
                break;
            }
            kn = (size_t)(eq - s);
            col_trim(&k, &kn);
            v = eq + 1;
            vn = sn - (size_t)(eq + 1 - s);
            col_trim(&v, &vn);
            if (kn == 0 || kn >= sizeof(key) || vn > COL_RPM_MAX_VALUE) {
                r = DA_ERR_COLLECT_PARSE;
                break;
            }
            for (size_t i = 0; i < kn; i++)
                if (!isalnum((unsigned char)k[i]) && k[i] != '_' && k[i] != '-' && k[i] != '.') {
                    r = DA_ERR_COLLECT_PARSE;
                    break;
                }
            if (r < 0)
                break;
            memcpy(key, k, kn);
            key[kn] = '\0';
            memcpy(val, v, vn);
            val[vn] = '\0';
            vlen = vn;
            have = 1;
        }
    }
    if (r == 0)
        r = col_ini_flush(fn, arg, section, key, val, have);
    free(val);
    return r;
}

int col_rpm_bool(const char *v)
{
    static const char *const yes[] = {"1", "yes", "true", "on"}, *const no[] = {"0", "no", "false",
                                                                                "off"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return 1;
        if (strcasecmp(v, no[i]) == 0)
            return 0;
    }
    return DA_ERR_COLLECT_PARSE;
}

void col_rpm_list_free(struct col_rpm_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int col_rpm_list_add(struct col_rpm_list *l, const char *value)
{
    const char *s = value;

    while (*s != '\0') {
        size_t len;
        char **nv;

        s += strspn(s, " \t\r\n,");
        len = strcspn(s, " \t\r\n,");
        if (len == 0)
            break;
        if (l->n >= COL_RPM_MAX_PATTERNS)
            return DA_ERR_COLLECT_PARSE;
        nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
        if (nv == NULL)
            return DA_ERR_NOMEM;
        l->v = nv;
        l->v[l->n] = strndup(s, len);
        if (l->v[l->n] == NULL)
            return DA_ERR_NOMEM;
        l->n++;
        s += len;
    }
    return 0;
}

int col_rpm_vars_set(struct col_rpm_vars *v, const char *name, const char *value)
{
    size_t i;

    for (i = 0; i < v->n; i++)
        if (strcmp(v->names[i], name) == 0)
            break;
    if (i == v->n) {
        if (v->n >= sizeof(v->names) / sizeof(v->names[0]))
            return DA_ERR_TOO_LARGE;
        v->names[i] = strdup(name);
        v->values[i] = NULL;
        if (v->names[i] == NULL)
            return DA_ERR_NOMEM;
        v->n++;
    }
    free(v->values[i]);
    v->values[i] = value != NULL ? strdup(value) : NULL;
    return value != NULL && v->values[i] == NULL ? DA_ERR_NOMEM : 0;
}

void col_rpm_vars_free(struct col_rpm_vars *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->names[i]);
        free(v->values[i]);
    }
    v->n = 0;
}

int col_rpm_subst(const struct col_rpm_vars *v, const char *in, char **out, int *unresolved)
{
    struct da_buf b;
    const char *s = in;
    int r = 0;

    *out = NULL;
    da_buf_init(&b, COL_RPM_MAX_VALUE * 4);
    while (r == 0 && *s != '\0') {
        const char *d = strchr(s, '$');
        size_t nl;
        int brace;

        if (d == NULL) {
            r = da_buf_append(&b, s, strlen(s));
            break;
        }
        r = da_buf_append(&b, s, (size_t)(d - s));
        brace = d[1] == '{';
        nl = strspn(d + 1 + brace,
                    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
        if (r < 0)
            break;
        if (nl == 0 || (brace && d[2 + nl] != '}')) {
            r = da_buf_append(&b, "$", 1);
            s = d + 1;
            continue;
        }
        {
            char name[128];
            const char *val = NULL;
            int found = 0;

            snprintf(name, sizeof(name), "%.*s", (int)nl, d + 1 + brace);
            for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->names[i], name) == 0) {
                    found = 1;
                    val = v->values[i];
                }
            if (val != NULL)
                r = da_buf_append(&b, val, strlen(val));
            else {
                /* dnf leaves an unknown variable as written */
                if (!found || val == NULL)
                    *unresolved = 1;
                r = da_buf_append(&b, d, 1 + 2 * (size_t)brace + nl);
            }
            s = d + 1 + 2 * (size_t)brace + nl;
        }
    }
    if (r == 0) {
        *out = strndup(da_buf_len(&b) > 0 ? da_buf_str(&b) : "", da_buf_len(&b));
        if (*out == NULL)
            r = DA_ERR_NOMEM;
    }
    da_buf_free(&b);
    return r;
}

void col_rpm_conf_free(struct col_rpm_conf *c)
{
    for (size_t i = 0; i < c->n_repos; i++) {
        free(c->repos[i].baseurl);
        free(c->repos[i].metalink);
        free(c->repos[i].mirrorlist);
        col_rpm_list_free(&c->repos[i].exclude);
        col_rpm_list_free(&c->repos[i].include);
    }
    free(c->repos);
    col_rpm_list_free(&c->exclude);
    col_rpm_list_free(&c->include);
    col_rpm_list_free(&c->installonly);
    col_rpm_list_free(&c->reposdir);
    memset(c, 0, sizeof(*c));
}

struct col_conf_feed {
    struct col_rpm_conf *c;
    const struct col_rpm_vars *vars;
    int main;
    size_t first_repo; /* repositories of this file start here */
};

static int col_repo_id_ok(const char *id)
{
    return id[0] != '\0' && strlen(id) < sizeof(((struct col_rpm_repo *)0)->id) &&
           strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") ==
               strlen(id);
}

static struct col_rpm_repo *col_repo_get(struct col_conf_feed *f, const char *id, int *r)
{
    struct col_rpm_conf *c = f->c;
    struct col_rpm_repo *nv;
    size_t i;

    *r = 0;
    for (i = f->first_repo; i < c->n_repos; i++)
        if (strcmp(c->repos[i].id, id) == 0)
            return &c->repos[i];
    for (i = 0; i < f->first_repo; i++)
        if (strcmp(c->repos[i].id, id) == 0) {
            *r = DA_ERR_COLLECT_PARSE; /* defined in another file */
            return NULL;
        }
    if (!col_repo_id_ok(id) || c->n_repos >= COL_RPM_MAX_REPOS) {
        *r = DA_ERR_COLLECT_PARSE;
        return NULL;
    }
    nv = realloc(c->repos, (c->n_repos + 1) * sizeof(*nv));
    if (nv == NULL) {
        *r = DA_ERR_NOMEM;
        return NULL;
    }
    c->repos = nv;
    memset(&nv[c->n_repos], 0, sizeof(nv[0]));
    snprintf(nv[c->n_repos].id, sizeof(nv[0].id), "%s", id);
    nv[c->n_repos].enabled = 1;
    nv[c->n_repos].priority = 99;
    return &nv[c->n_repos++];
}

static int col_set_str(struct col_conf_feed *f, struct col_rpm_repo *repo, char **dst,
                       const char *value)
{
    struct col_rpm_list l = {NULL, 0};
    int r, unres = 0;

    free(*dst);
    *dst = NULL;
    r = col_rpm_list_add(&l, value);
    if (r == 0 && l.n > 0)
        r = col_rpm_subst(f->vars, l.v[0], dst, &unres);
    if (unres)
        repo->unresolved_vars = 1;
    col_rpm_list_free(&l);
    return r;
}

static int col_conf_kv(void *arg, const char *section, const char *key, const char *value)
{
    struct col_conf_feed *f = arg;
    struct col_rpm_conf *c = f->c;
    struct col_rpm_repo *repo;
    int r;

    if (f->main && strcmp(section, "main") == 0) {
        if (strcmp(key, "exclude") == 0 || strcmp(key, "excludepkgs") == 0) {
            col_rpm_list_free(&c->exclude);
            return col_rpm_list_add(&c->exclude, value);
        }
        if (strcmp(key, "includepkgs") == 0) {
            col_rpm_list_free(&c->include);
            return col_rpm_list_add(&c->include, value);
        }
        if (strcmp(key, "installonlypkgs") == 0) {
            col_rpm_list_free(&c->installonly);
            return col_rpm_list_add(&c->installonly, value);
        }
        if (strcmp(key, "reposdir") == 0) {
            col_rpm_list_free(&c->reposdir);
            c->reposdir_set = 1;
            return col_rpm_list_add(&c->reposdir, value);
        }
        if (strcmp(key, "cachedir") == 0) {
            if (value[0] != '/' || strlen(value) >= sizeof(c->cachedir) || strstr(value, ".."))
                return DA_ERR_COLLECT_PARSE;
            snprintf(c->cachedir, sizeof(c->cachedir), "%s", value);
            return 0;
        }
        return 0; /* other options do not change what is pending */
    }
    if (strcmp(section, "main") == 0)
        return DA_ERR_COLLECT_PARSE; /* dnf reads [main] only from dnf.conf */
    repo = col_repo_get(f, section, &r);
    if (repo == NULL)
        return r;
    if (strcmp(key, "enabled") == 0) {
        r = col_rpm_bool(value);
        if (r >= 0)
            repo->enabled = r;
        return r < 0 ? r : 0;
    }
    if (strcmp(key, "priority") == 0) {
        char *end = NULL;
        long v = strtol(value, &end, 10);

        if (value[0] == '\0' || *end != '\0' || v < 1 || v > 1000000)
            return DA_ERR_COLLECT_PARSE;
        repo->priority = (int)v;
        return 0;
    }
    if (strcmp(key, "baseurl") == 0)
        return col_set_str(f, repo, &repo->baseurl, value);
    if (strcmp(key, "metalink") == 0)
        return col_set_str(f, repo, &repo->metalink, value);
    if (strcmp(key, "mirrorlist") == 0)
        return col_set_str(f, repo, &repo->mirrorlist, value);
    if (strcmp(key, "exclude") == 0 || strcmp(key, "excludepkgs") == 0) {
        col_rpm_list_free(&repo->exclude);
        return col_rpm_list_add(&repo->exclude, value);
    }
    if (strcmp(key, "includepkgs") == 0) {
        col_rpm_list_free(&repo->include);
        return col_rpm_list_add(&repo->include, value);
    }
    return 0;
}

int col_rpm_conf_parse(struct col_rpm_conf *c, const struct col_rpm_vars *vars, const char *p,
                       size_t n, int main)
{
    struct col_conf_feed f = {c, vars, main, c->n_repos};

    return col_rpm_ini_parse(p, n, col_conf_kv, &f);
}

int col_rpm_cache_name(const struct col_rpm_repo *r, char *out, size_t n)
{
    const char *src = r->id;
    unsigned char md[SHA256_DIGEST_LENGTH];
    char hex[2 * SHA256_DIGEST_LENGTH + 1];

    if (r->metalink != NULL && r->metalink[0] != '\0')
        src = r->metalink;
    else if (r->mirrorlist != NULL && r->mirrorlist[0] != '\0')
        src = r->mirrorlist;
    else if (r->baseurl != NULL && r->baseurl[0] != '\0')
        src = r->baseurl;
    SHA256((const unsigned char *)src, strlen(src), md);
    col_hex(md, sizeof(md), hex);
    if ((size_t)snprintf(out, n, "%s-%.16s", r->id, hex) >= n)
        return DA_ERR_TOO_LARGE;
    return 0;
}

int col_rpm_pattern_match(const struct col_rpm_list *pats, const char *name, const char *evr,
                          const char *arch)
{
    char forms[6][700];
    const char *colon = strchr(evr, ':'), *ve = colon != NULL ? colon + 1 : evr;
    const char *dash = strrchr(ve, '-');
    int vn = dash != NULL ? (int)(dash - ve) : (int)strlen(ve);

    snprintf(forms[0], sizeof(forms[0]), "%s", name);
    snprintf(forms[1], sizeof(forms[1]), "%s.%s", name, arch);
    snprintf(forms[2], sizeof(forms[2]), "%s-%.*s", name, vn, ve);
    snprintf(forms[3], sizeof(forms[3]), "%s-%s", name, ve);
    snprintf(forms[4], sizeof(forms[4]), "%s-%s.%s", name, ve, arch);
    snprintf(forms[5], sizeof(forms[5]), "%s-%s%s.%s", name, colon != NULL ? "" : "0:", evr, arch);
    for (size_t i = 0; i < pats->n; i++)
        for (size_t k = 0; k < 6; k++)
            if (fnmatch(pats->v[i], forms[k], 0) == 0)
                return 1;
    return 0;
}

/* Split "[E:]V[-R]". */
static void col_evr_split(const char *s, unsigned long long *e, char *v, size_t vn, char *r,
                          size_t rn)
{
    const char *colon = strchr(s, ':'), *ve = s, *dash;

    *e = 0;
    if (colon != NULL && colon > s && strspn(s, "0123456789") == (size_t)(colon - s)) {
        *e = strtoull(s, NULL, 10);
        ve = colon + 1;
    }
    dash = strrchr(ve, '-');
    if (dash != NULL) {
        snprintf(v, vn, "%.*s", (int)(dash - ve), ve);
        snprintf(r, rn, "%s", dash + 1);
    } else {
        snprintf(v, vn, "%s", ve);
        r[0] = '\0';
    }
}

int col_rpm_evrcmp(const char *a, const char *b)
{
    char va[512], ra[512], vb[512], rb[512];
    unsigned long long ea, eb;
    int c;

    col_evr_split(a, &ea, va, sizeof(va), ra, sizeof(ra));
    col_evr_split(b, &eb, vb, sizeof(vb), rb, sizeof(rb));
    if (ea != eb)
        return ea < eb ? -1 : 1;
    c = rpmvercmp(va, vb);
    if (c == 0 && ra[0] != '\0' && rb[0] != '\0')
        c = rpmvercmp(ra, rb);
    return c;
}

/* ---- the pending cache ---- */

static const char *col_cache_str(const cJSON *o, const char *key, int nullable, int *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (nullable && cJSON_IsNull(v))
        return NULL;
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0' ||
        strlen(v->valuestring) >= COL_DEB_MAX_FIELD)
        *bad = 1;
    return *bad ? NULL : v->valuestring;
}

static int col_cache_members(const cJSON *o, const char *const *names, size_t n)
{
    const cJSON *c;
    size_t count = 0;

    if (!cJSON_IsObject(o))
        return 0;
    cJSON_ArrayForEach(c, o)
    {
        size_t i;

        for (i = 0; i < n && strcmp(c->string, names[i]) != 0; i++)
            ;
        if (i == n)
            return 0;
        count++;
    }
    return count == n;
}

static int col_cache_entry(const cJSON *e, struct col_pending *p)
{
    static const char *const keys[] = {"name", "arch", "installed", "candidate", "advisories"};
    static const char *const akeys[] = {"id", "severity"};
    const cJSON *advs, *a;
    int bad = 0;

    if (!col_cache_members(e, keys, 5))
        return DA_ERR_COLLECT_PARSE;
    {
        const char *name = col_cache_str(e, "name", 0, &bad);
        const char *arch = col_cache_str(e, "arch", 0, &bad);
        const char *inst = col_cache_str(e, "installed", 0, &bad);
        const char *cand = col_cache_str(e, "candidate", 0, &bad);

        advs = cJSON_GetObjectItemCaseSensitive(e, "advisories");
        if (bad || !cJSON_IsArray(advs) || cJSON_GetArraySize(advs) > 256)
            return DA_ERR_COLLECT_PARSE;
        p->name = strdup(name);
        p->arch = strdup(arch);
        p->installed = strdup(inst);
        p->candidate = strdup(cand);
    }
    p->adv = calloc((size_t)cJSON_GetArraySize(advs) + 1, sizeof(*p->adv));
    if (p->name == NULL || p->arch == NULL || p->installed == NULL || p->candidate == NULL ||
        p->adv == NULL)
        return DA_ERR_NOMEM;
    cJSON_ArrayForEach(a, advs)
    {
        const char *id, *sev;

        if (!col_cache_members(a, akeys, 2))
            return DA_ERR_COLLECT_PARSE;
        id = col_cache_str(a, "id", 0, &bad);
        sev = col_cache_str(a, "severity", 1, &bad);
        if (bad)
            return DA_ERR_COLLECT_PARSE;
        p->adv[p->n_adv].id = strdup(id);
        p->adv[p->n_adv].severity = sev != NULL ? strdup(sev) : NULL;
        p->n_adv++;
        if (p->adv[p->n_adv - 1].id == NULL ||
            (sev != NULL && p->adv[p->n_adv - 1].severity == NULL))
            return DA_ERR_NOMEM;
    }
    p->security = p->n_adv > 0;
    return 0;
}

int col_rpm_cache_parse(const char *p, size_t n, struct col_patch_facts *f, int64_t *oldest)
{
    static const char *const keys[] = {"oldest_repomd", "pending"};
    const cJSON *pend, *e, *old;
    cJSON *doc = NULL;
    int r;

    memset(f, 0, sizeof(*f));
    *oldest = 0;
    r = da_json_parse(p, n, DA_MAX_COL_CACHE, &doc);
    if (r == DA_ERR_NOMEM)
        return r;
    if (r < 0 || !col_cache_members(doc, keys, 2)) {
        cJSON_Delete(doc);
        return DA_ERR_COLLECT_PARSE;
    }
    old = cJSON_GetObjectItemCaseSensitive(doc, "oldest_repomd");
    pend = cJSON_GetObjectItemCaseSensitive(doc, "pending");
    if (!cJSON_IsNumber(old) || old->valuedouble < 1 || old->valuedouble > 253402300799.0 ||
        old->valuedouble - (double)(int64_t)old->valuedouble > 0 || !cJSON_IsArray(pend) ||
        cJSON_GetArraySize(pend) > (int)COL_DEB_MAX_PENDING) {
        cJSON_Delete(doc);
        return DA_ERR_COLLECT_PARSE;
    }
    *oldest = (int64_t)old->valuedouble;
    f->pending = calloc((size_t)cJSON_GetArraySize(pend) + 1, sizeof(*f->pending));
    if (f->pending == NULL) {
        cJSON_Delete(doc);
        return DA_ERR_NOMEM;
    }
    cJSON_ArrayForEach(e, pend)
    {
        r = col_cache_entry(e, &f->pending[f->n_pending]);
        f->n_pending++;
        if (r < 0)
            break;
    }
    cJSON_Delete(doc);
    if (r < 0) {
        col_patch_facts_free(f);
        *oldest = 0;
    }
    return r;
}

int col_rpm_cache_format(const struct col_patch_facts *f, int64_t oldest, struct da_buf *out)
{
    cJSON *doc = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    int r = 0;

    if (doc == NULL || arr == NULL || !cJSON_AddItemToObject(doc, "pending", arr)) {
        cJSON_Delete(doc);
        cJSON_Delete(arr);
        return DA_ERR_NOMEM;
    }
    if (cJSON_AddNumberToObject(doc, "oldest_repomd", (double)oldest) == NULL)
        r = DA_ERR_NOMEM;
    for (size_t i = 0; r == 0 && i < f->n_pending; i++) {
        const struct col_pending *p = &f->pending[i];
        cJSON *o = cJSON_CreateObject(), *advs = cJSON_CreateArray();

        if (o == NULL || advs == NULL || !cJSON_AddItemToArray(arr, o) ||
            !cJSON_AddItemToObject(o, "advisories", advs) ||
            cJSON_AddStringToObject(o, "name", p->name) == NULL ||
            cJSON_AddStringToObject(o, "arch", p->arch) == NULL ||
            cJSON_AddStringToObject(o, "installed", p->installed) == NULL ||
            cJSON_AddStringToObject(o, "candidate", p->candidate) == NULL) {
            r = DA_ERR_NOMEM;
            break;
        }
        for (size_t k = 0; r == 0 && k < p->n_adv; k++) {
            cJSON *a = cJSON_CreateObject();

            if (a == NULL || !cJSON_AddItemToArray(advs, a) ||
                cJSON_AddStringToObject(a, "id", p->adv[k].id) == NULL ||
                (p->adv[k].severity != NULL
                     ? cJSON_AddStringToObject(a, "severity", p->adv[k].severity) == NULL
                     : cJSON_AddNullToObject(a, "severity") == NULL))
                r = DA_ERR_NOMEM;
        }
    }
    if (r == 0)
        r = da_jcs_serialize(doc, out);
    cJSON_Delete(doc);
    return r;
}

/* separation: the declared environment role; production access held on
 * this machine (names and identifiers only, never a secret value); routes
 * to and connections with the configured production networks. */
#include "collector.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>

#include "err.h"
#include "json.h"
#include "caps.h"

struct col_sep {
    const struct col_ctx *ctx;
    cJSON *findings;
    int err;             /* first file or directory that could not be read */
    char err_path[1500]; /* (a missing one is no error) */
};

/* Remember a read that failed for another reason than absence: the search
 * is then incomplete, and findings becomes unknown rather than short. */
static void col_sep_note(struct col_sep *s, int e, const char *rel)
{
    if (e < 0 && e != DA_ERR_NOT_FOUND && s->err == 0) {
        s->err = e;
        snprintf(s->err_path, sizeof(s->err_path), "%s", rel);
    }
}

static int col_is_production(const struct col_ctx *ctx, const char *s)
{
    size_t i;

    for (i = 0; i < ctx->cfg->n_production_patterns; i++)
        if (fnmatch(ctx->cfg->production_patterns[i], s, FNM_CASEFOLD) == 0)
            return 1;
    return 0;
}

static int col_finding(struct col_sep *s, const char *kind, const char *path, const char *id)
{
    cJSON *o = cJSON_CreateObject();
    int r;

    COL_TRY(col_push(s->findings, o));
    COL_TRY(col_add_str(o, "kind", kind));
    COL_TRY(col_add_str(o, "path", path));
    COL_TRY(col_add_str(o, "identifier", id));
    COL_TRY(col_add_bool(o, "production",
                         col_is_production(s->ctx, id) || col_is_production(s->ctx, path)));
out:
    return r;
}

/* Read a small file; NULL-terminated text in b. 0 or a DA_ERR_* (noted). */
static int col_sep_read(struct col_sep *s, const char *rel, struct da_buf *b)
{
    int e;

    da_buf_init(b, DA_MAX_CONFIG * 16);
    e = col_read_file(s->ctx, rel, b);
    col_sep_note(s, e, rel);
    return e;
}

/* Open a directory of the search; 0 with *d NULL when it is absent. */
static int col_sep_opendir(struct col_sep *s, const char *rel, struct da_rootfs_dir **d)
{
    int e = col_opendir(s->ctx, rel, d);

    col_sep_note(s, e, rel);
    return e == DA_ERR_NOMEM ? e : 0;
}

static void col_trim(char *v)
{
    size_t n = strlen(v);
    char *p = v;

    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
        v[--n] = '\0';
    while (*p == ' ' || *p == '\t')
        p++;
    memmove(v, p, strlen(p) + 1);
}

/* Each line of a buffer, trimmed, into line (truncated at n - 1). */
#define COL_EACH_LINE(text, line, n)                                                               \
    for (const char *lp_ = (text), *le_; *lp_ != '\0' && (le_ = lp_ + strcspn(lp_, "\n"), 1);      \
         lp_ = *le_ != '\0' ? le_ + 1 : le_)                                                       \
        if (snprintf((line), (n), "%.*s", (int)(le_ - lp_), lp_) >= 0 && (col_trim(line), 1))

/* ~/.aws/config and credentials: profile names and account ids. */
static int col_aws(struct col_sep *s, const char *home)
{
    static const char *const files[] = {".aws/config", ".aws/credentials"};
    char rel[1024], line[512], id[512];
    struct da_buf b;
    size_t i;
    int r = 0;

    for (i = 0; r == 0 && i < 2; i++) {
        snprintf(rel, sizeof(rel), "%s/%s", home, files[i]);
        if (col_sep_read(s, rel, &b) != 0) {
            da_buf_free(&b);
            continue;
        }
        COL_EACH_LINE(da_buf_str(&b), line, sizeof(line))
        {
            char *eq, *arn;

            if (r != 0)
                break;
            if (line[0] == '[' && line[strlen(line) - 1] == ']') {
                line[strlen(line) - 1] = '\0';
                snprintf(id, sizeof(id), "%s", line + 1);
                col_trim(id);
                if (strncmp(id, "profile ", 8) == 0)
                    memmove(id, id + 8, strlen(id + 8) + 1);
                col_trim(id);
                r = col_finding(s, "aws_profile", rel, id);
                continue;
            }
            eq = strchr(line, '=');
            if (eq == NULL)
                continue;
            *eq = '\0';
            col_trim(line);
            if (strcmp(line, "sso_account_id") == 0 || strcmp(line, "aws_account_id") == 0) {
                snprintf(id, sizeof(id), "%s", eq + 1);
                col_trim(id);
                r = col_finding(s, "aws_account", rel, id);
            } else if (strcmp(line, "role_arn") == 0 && (arn = strstr(eq + 1, ":iam::")) != NULL) {
                snprintf(id, sizeof(id), "%.12s", arn + 6);
                r = col_finding(s, "aws_account", rel, id);
            }
        }
        da_buf_free(&b);
    }
    return r;
}

/* ~/.kube/config: cluster and context names (a YAML subset: the
 * "name:" keys of items under the top-level clusters: and contexts:). */
static int col_kube(struct col_sep *s, const char *home)
{
    char rel[1024], line[512], raw[512];
    const char *kind = NULL;
    struct da_buf b;
    int r = 0;

    snprintf(rel, sizeof(rel), "%s/.kube/config", home);
    if (col_sep_read(s, rel, &b) != 0)
        goto out;
    COL_EACH_LINE(da_buf_str(&b), line, sizeof(line))
    {
        const char *v;

        if (r != 0)
            break;
        (void)raw;
        if (strcmp(line, "clusters:") == 0)
            kind = "kube_cluster";
        else if (strcmp(line, "contexts:") == 0)
            kind = "kube_context";
        else if (strcmp(line, "users:") == 0 || strncmp(line, "current-context:", 16) == 0 ||
                 strncmp(line, "kind:", 5) == 0 || strncmp(line, "apiVersion:", 11) == 0 ||
                 strncmp(line, "preferences:", 12) == 0)
            kind = NULL;
        if (kind == NULL)
            continue;
        v = line;
        if (strncmp(v, "- ", 2) == 0)
            v += 2;
        if (strncmp(v, "name:", 5) != 0)
            continue;
        snprintf(raw, sizeof(raw), "%s", v + 5);
        col_trim(raw);
        col_unquote(raw);
        r = col_finding(s, kind, rel, raw);
    }
out:
    da_buf_free(&b);
    return r;
}

/* gcloud configurations: project and account. */
static int col_gcloud(struct col_sep *s, const char *home)
{
    char dir[1024], rel[1400], line[512], id[512];
    struct da_rootfs_dir *d = NULL;
    struct da_rootfs_dirent e;
    int r, more = 0;

    snprintf(dir, sizeof(dir), "%s/.config/gcloud/configurations", home);
    r = col_sep_opendir(s, dir, &d);
    if (d == NULL)
        return r;
    while (r == 0 && (more = da_rootfs_readdir(d, &e)) == 1) {
        struct da_buf b;

        if (strncmp(e.name, "config_", 7) != 0)
            continue;
        snprintf(rel, sizeof(rel), "%s/%s", dir, e.name);
        if (col_sep_read(s, rel, &b) == 0) {
            COL_EACH_LINE(da_buf_str(&b), line, sizeof(line))
            {
                char *eq = strchr(line, '=');

                if (r != 0 || eq == NULL)
                    continue;
                *eq = '\0';
                col_trim(line);
                snprintf(id, sizeof(id), "%s", eq + 1);
                col_trim(id);
                if (strcmp(line, "project") == 0)
                    r = col_finding(s, "gcloud_project", rel, id);
                else if (strcmp(line, "account") == 0)
                    r = col_finding(s, "gcloud_account", rel, id);
            }
        }
        da_buf_free(&b);
    }
    da_rootfs_closedir(d);
    col_sep_note(s, more < 0 ? more : 0, dir);
    return r;
}

static cJSON *col_json_file(struct col_sep *s, const char *rel)
{
    struct da_buf b;
    const char *p;
    cJSON *j = NULL;

    if (col_sep_read(s, rel, &b) == 0) {
        p = da_buf_str(&b);
        if ((unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb &&
            (unsigned char)p[2] == 0xbf)
            p += 3; /* byte order mark */
        if (da_json_parse(p, da_buf_len(&b) - (size_t)(p - da_buf_str(&b)), DA_MAX_CONFIG * 16,
                          &j) != 0)
            j = NULL; /* not JSON: nothing to report from it */
    }
    da_buf_free(&b);
    return j;
}

/* Azure subscriptions and docker registry auths (JSON files). */
static int col_json_configs(struct col_sep *s, const char *home)
{
    char rel[1024], id[512];
    cJSON *j, *it, *sub;
    int r = 0;

    snprintf(rel, sizeof(rel), "%s/.azure/azureProfile.json", home);
    j = col_json_file(s, rel);
    sub = cJSON_GetObjectItemCaseSensitive(j, "subscriptions");
    cJSON_ArrayForEach(it, sub)
    {
        cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
        cJSON *sid = cJSON_GetObjectItemCaseSensitive(it, "id");

        if (r == 0 && cJSON_IsString(sid)) {
            snprintf(id, sizeof(id), "%s (%s)", cJSON_IsString(name) ? name->valuestring : "",
                     sid->valuestring);
            r = col_finding(s, "azure_subscription", rel, id);
        }
    }
    cJSON_Delete(j);
    snprintf(rel, sizeof(rel), "%s/.docker/config.json", home);
    j = col_json_file(s, rel);
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "auths"))
    {
        if (r == 0 && it->string != NULL)
            r = col_finding(s, "docker_registry_auth", rel, it->string);
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "credHelpers"))
    {
        if (r == 0 && it->string != NULL)
            r = col_finding(s, "docker_registry_auth", rel, it->string);
    }
    cJSON_Delete(j);
    return r;
}

/* ~/.netrc: "machine HOST" tokens. */
static int col_netrc(struct col_sep *s, const char *home)
{
    char rel[1024], tok[512];
    struct da_buf b;
    const char *p;
    int r = 0, want = 0;

    snprintf(rel, sizeof(rel), "%s/.netrc", home);
    if (col_sep_read(s, rel, &b) != 0)
        goto out;
    for (p = da_buf_str(&b); r == 0 && *p != '\0';) {
        size_t len;

        p += strspn(p, " \t\r\n");
        len = strcspn(p, " \t\r\n");
        if (len == 0)
            break;
        snprintf(tok, sizeof(tok), "%.*s", (int)len, p);
        p += len;
        if (want)
            r = col_finding(s, "netrc_host", rel, tok);
        want = strcmp(tok, "machine") == 0;
    }
out:
    da_buf_free(&b);
    return r;
}

/* 1 when a PEM private key has no passphrase, 0 when it has one, -1 when
 * the file is not a private key. */
int col_ssh_key_unencrypted(const char *text)
{
    static const char openssh[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
    unsigned char raw[96];
    char b64[89];
    const char *p;
    size_t n = 0;

    if (strncmp(text, openssh, sizeof(openssh) - 1) == 0) {
        /* "openssh-key-v1\0", then the cipher name as a length-prefixed string */
        for (p = text + sizeof(openssh) - 1; *p != '\0' && n < 88; p++)
            if (*p != '\n' && *p != '\r')
                b64[n++] = *p;
        b64[n] = '\0';
        if (n < 88 || EVP_DecodeBlock(raw, (const unsigned char *)b64, 88) != 66)
            return -1;
        if (memcmp(raw, "openssh-key-v1", 15) != 0)
            return -1;
        return raw[15] == 0 && raw[16] == 0 && raw[17] == 0 && raw[18] == 4 &&
               memcmp(raw + 19, "none", 4) == 0;
    }
    if (strncmp(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----", 37) == 0)
        return 0;
    if (strncmp(text, "-----BEGIN ", 11) == 0 && (p = strstr(text, " PRIVATE KEY-----")) != NULL &&
        p - text < 40)
        return strstr(text, "Proc-Type: 4,ENCRYPTED") == NULL;
    return -1;
}

static int col_ssh_keys(struct col_sep *s, const char *home)
{
    char dir[1024], rel[1400];
    struct da_rootfs_dir *d = NULL;
    struct da_rootfs_dirent e;
    int r, more = 0;

    snprintf(dir, sizeof(dir), "%s/.ssh", home);
    r = col_sep_opendir(s, dir, &d);
    if (d == NULL)
        return r;
    while (r == 0 && (more = da_rootfs_readdir(d, &e)) == 1) {
        struct da_buf b;
        struct stat st;
        int se;

        if (e.name[0] == '.' || strstr(e.name, ".pub") != NULL)
            continue;
        snprintf(rel, sizeof(rel), "%s/%s", dir, e.name);
        /* sockets (ssh's ControlPath, agents), directories and files over
         * 64 KiB (known_hosts) are no keys; a FIFO or device is not known */
        se = col_stat(s->ctx, rel, &st);
        if (se == 0 && !S_ISREG(st.st_mode) && !S_ISSOCK(st.st_mode) && !S_ISDIR(st.st_mode))
            se = DA_ERR_NOT_REGULAR;
        col_sep_note(s, se, rel);
        if (se != 0 || !S_ISREG(st.st_mode) || st.st_size > 65536)
            continue;
        if (col_sep_read(s, rel, &b) == 0 && col_ssh_key_unencrypted(da_buf_str(&b)) == 1)
            r = col_finding(s, "ssh_key_unencrypted", rel, e.name);
        da_buf_free(&b);
    }
    da_rootfs_closedir(d);
    col_sep_note(s, more < 0 ? more : 0, dir);
    return r;
}

static int col_home(struct col_sep *s, const char *home)
{
    int r;

    COL_TRY(col_aws(s, home));
    COL_TRY(col_kube(s, home));
    COL_TRY(col_gcloud(s, home));
    COL_TRY(col_json_configs(s, home));
    COL_TRY(col_netrc(s, home));
    COL_TRY(col_ssh_keys(s, home));
out:
    return r;
}

static int col_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int col_findings(const struct col_ctx *ctx, cJSON *area)
{
    struct col_sep s;
    char rel[600], *names[512];
    struct da_rootfs_dir *d = NULL;
    struct da_rootfs_dirent e;
    size_t n = 0, i;
    int r, more = 0;

    memset(&s, 0, sizeof(s));
    s.ctx = ctx;
    s.findings = cJSON_CreateArray();
    if (s.findings == NULL)
        return DA_ERR_NOMEM;
    COL_TRY(col_home(&s, "/root"));
    COL_TRY(col_sep_opendir(&s, "/home", &d));
    if (d != NULL) {
        while (n < sizeof(names) / sizeof(names[0]) && (more = da_rootfs_readdir(d, &e)) == 1)
            if (e.name[0] != '.' && strlen(e.name) < 256 && (names[n] = strdup(e.name)) != NULL)
                n++;
        da_rootfs_closedir(d);
        col_sep_note(&s, more < 0 ? more : 0, "/home");
    }
    qsort(names, n, sizeof(names[0]), col_name_cmp);
    for (i = 0, r = 0; i < n; i++) {
        snprintf(rel, sizeof(rel), "/home/%s", names[i]);
        if (r == 0)
            r = col_home(&s, rel);
        free(names[i]);
    }
    if (r == 0 && s.err != 0) {
        /* a part of the search could not be read: the list would be short */
        cJSON_Delete(s.findings);
        s.findings = NULL;
        return col_add_unknown_err(area, "findings", s.err, s.err_path);
    }
    if (r == 0) {
        r = col_add_item(area, "findings", s.findings);
        s.findings = NULL; /* transferred */
    }
out:
    cJSON_Delete(s.findings);
    return r;
}

/* ---- production networks ---- */

struct col_cidr {
    int v6;
    unsigned char addr[16];
    unsigned bits;
};

static int col_cidr_parse(const char *s, struct col_cidr *c)
{
    char host[64];
    const char *slash = strchr(s, '/');
    uint64_t bits;

    memset(c, 0, sizeof(*c));
    if (slash == NULL || (size_t)(slash - s) >= sizeof(host) ||
        col_parse_u64(slash + 1, &bits) != 0)
        return -1;
    memcpy(host, s, (size_t)(slash - s));
    host[slash - s] = '\0';
    c->v6 = strchr(host, ':') != NULL;
    if (inet_pton(c->v6 ? AF_INET6 : AF_INET, host, c->addr) != 1 || bits > (c->v6 ? 128u : 32u))
        return -1;
    c->bits = (unsigned)bits;
    return 0;
}

/* Do the first bits of a and b agree? */
static int col_prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;

    if (memcmp(a, b, full) != 0)
        return 0;
    return rest == 0 || ((a[full] ^ b[full]) & (0xff << (8 - rest))) == 0;
}

static int col_routes(const struct col_ctx *ctx, const struct col_cidr *c, cJSON *routes)
{
    struct da_buf b;
    const char *p;
    char line[512], text[64];
    int r = 0, e;

    da_buf_init(&b, DA_MAX_SYSFILE);
    e = col_read_file(ctx, c->v6 ? "/proc/net/ipv6_route" : "/proc/net/route", &b);
    if (e < 0) {
        da_buf_free(&b);
        return e == DA_ERR_NOT_FOUND ? 0 : e;
    }
    for (p = da_buf_str(&b); r == 0 && *p != '\0';) {
        size_t len = strcspn(p, "\n");
        unsigned char dst[16] = {0};
        unsigned plen = 0, i;
        char iface[32], d[40];

        snprintf(line, sizeof(line), "%.*s", (int)len, p);
        p += len + (p[len] == '\n');
        if (!c->v6) {
            unsigned long dest, mask;

            if (sscanf(line, "%31s %lx %*x %*x %*d %*d %*d %lx", iface, &dest, &mask) != 3)
                continue; /* the header line */
            memcpy(dst, &(uint32_t){(uint32_t)dest}, 4);
            for (i = 0; i < 32; i++)
                plen += (unsigned)((mask >> i) & 1);
        } else {
            if (sscanf(line, "%32s %x %*s %*s %*s %*s %*s %*s %*s %31s", d, &plen, iface) != 3 ||
                strlen(d) != 32)
                continue;
            for (i = 0; i < 16; i++) {
                unsigned v;

                if (sscanf(d + 2 * i, "%2x", &v) != 1)
                    break;
                dst[i] = (unsigned char)v;
            }
        }
        /* a route covering part of the network; the default route is not one */
        if (plen == 0 || !col_prefix_eq(dst, c->addr, plen < c->bits ? plen : c->bits))
            continue;
        if (inet_ntop(c->v6 ? AF_INET6 : AF_INET, dst, text, sizeof(text)) == NULL)
            continue;
        snprintf(line, sizeof(line), "%s/%u dev %s", text, plen, iface);
        r = col_push_str(routes, line);
    }
    da_buf_free(&b);
    return r;
}

static int col_connections_proc(const struct col_ctx *ctx, const struct col_cidr *c, cJSON *conns);

struct col_conn_acc {
    const struct col_cidr *c;
    cJSON *conns;
};

static int col_conn_sock(const struct col_sock *so, void *arg)
{
    struct col_conn_acc *a = arg;
    char text[64], out[96];

    if (!col_prefix_eq(so->remote, a->c->addr, a->c->bits) ||
        inet_ntop(so->v6 ? AF_INET6 : AF_INET, so->remote, text, sizeof(text)) == NULL)
        return 0;
    snprintf(out, sizeof(out), so->v6 ? "[%s]:%u" : "%s:%u", text, so->rport);
    return col_push_str(a->conns, out);
}

static int col_connections(const struct col_ctx *ctx, const struct col_cidr *c, cJSON *conns)
{
    if (ctx->ops->sockets != NULL) {
        struct col_conn_acc a = {c, conns};
        /* TCP_ESTABLISHED is 1 */
        int e =
            ctx->ops->sockets(c->v6 ? AF_INET6 : AF_INET, IPPROTO_TCP, 1u << 1, col_conn_sock, &a);

        if (e == 0 || e == DA_ERR_NOMEM)
            return e;
        while (cJSON_GetArraySize(conns) > 0)
            cJSON_DeleteItemFromArray(conns, 0);
    }
    return col_connections_proc(ctx, c, conns);
}

static int col_connections_proc(const struct col_ctx *ctx, const struct col_cidr *c, cJSON *conns)
{
    struct da_buf b;
    const char *p;
    int r = 0, e;

    da_buf_init(&b, DA_MAX_SYSFILE);
    e = col_read_file(ctx, c->v6 ? "/proc/net/tcp6" : "/proc/net/tcp", &b);
    if (e < 0) {
        da_buf_free(&b);
        return e == DA_ERR_NOT_FOUND ? 0 : e;
    }
    p = da_buf_str(&b);
    p += strcspn(p, "\n");
    while (r == 0 && *p == '\n') {
        char local[64], remote[64], st[8], text[64], out[96];
        unsigned char la[16], ra[16];
        unsigned lp, rp;

        p++;
        if (*p == '\0' || sscanf(p, "%*s %63s %63s %7s", local, remote, st) != 3)
            break;
        p += strcspn(p, "\n");
        if (strcmp(st, "01") != 0 || col_proc_addr(local, c->v6, la, &lp) != 0 ||
            col_proc_addr(remote, c->v6, ra, &rp) != 0 || !col_prefix_eq(ra, c->addr, c->bits))
            continue;
        if (inet_ntop(c->v6 ? AF_INET6 : AF_INET, ra, text, sizeof(text)) == NULL)
            continue;
        snprintf(out, sizeof(out), c->v6 ? "[%s]:%u" : "%s:%u", text, rp);
        r = col_push_str(conns, out);
    }
    da_buf_free(&b);
    return r;
}

static int col_networks(const struct col_ctx *ctx, cJSON *area)
{
    cJSON *arr = cJSON_CreateArray();
    size_t i;
    int r;

    COL_TRY(col_add_item(area, "networks", arr));
    for (i = 0; i < ctx->cfg->n_production_cidrs; i++) {
        struct col_cidr c;
        cJSON *o = cJSON_CreateObject(), *routes, *conns;
        int e;

        COL_TRY(col_push(arr, o));
        COL_TRY(col_add_str(o, "cidr", ctx->cfg->production_cidrs[i]));
        if (col_cidr_parse(ctx->cfg->production_cidrs[i], &c) != 0) {
            COL_TRY(col_add_unknown(o, "route", COL_R_PARSE, "not a CIDR"));
            continue;
        }
        routes = cJSON_CreateArray();
        COL_TRY(col_add_item(o, "routes", routes));
        e = col_routes(ctx, &c, routes);
        if (e == DA_ERR_NOMEM)
            COL_TRY(e);
        if (e < 0) {
            cJSON_DeleteItemFromObject(o, "routes");
            COL_TRY(col_add_unknown_err(o, "routes", e, "routing table"));
        }
        conns = cJSON_CreateArray();
        COL_TRY(col_add_item(o, "connections", conns));
        e = col_connections(ctx, &c, conns);
        if (e == DA_ERR_NOMEM)
            COL_TRY(e);
        if (e < 0) {
            cJSON_DeleteItemFromObject(o, "connections");
            COL_TRY(col_add_unknown_err(o, "connections", e, "TCP table"));
        }
    }
out:
    return r;
}

static int col_separation_collect(const struct col_ctx *ctx, cJSON *area)
{
    int r;

    if (ctx->cfg->role != NULL)
        COL_TRY(col_add_str(area, "environment_role", ctx->cfg->role));
    else
        COL_TRY(col_add_unknown(area, "environment_role", COL_R_NOT_PRESENT,
                                "no role declared in the configuration"));
    COL_TRY(col_findings(ctx, area));
    COL_TRY(col_networks(ctx, area));
out:
    return r;
}

const struct da_collector col_separation = {"separation", col_separation_collect};

#include "kvconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "caps.h"
#include "err.h"

static void reason_set(char *reason, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reason_set(char *reason, size_t size, const char *fmt, ...)
{
    va_list ap;

    if (reason == NULL || size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(reason, size, fmt, ap);
    va_end(ap);
}

void da_kvconf_error_set(struct da_kvconf_error *err, unsigned line, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    err->line = line;
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
    va_end(ap);
}

void da_kvconf_error_format(const struct da_kvconf_error *err, char *out, size_t size)
{
    const char *file = err->file[0] != '\0' ? err->file : "<config>";

    if (err->line != 0)
        snprintf(out, size, "%s:%u: %s", file, err->line, err->reason);
    else
        snprintf(out, size, "%s: %s", file, err->reason);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int is_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* One line without its newline, NUL-terminated, at most DA_KVCONF_MAX_LINE. */
static int parse_line(char *line, unsigned lineno, da_kvconf_entry_fn fn, void *ctx,
                      struct da_kvconf_error *err)
{
    char *p = line, *key, *val, *end;
    size_t klen;
    int r;

    for (end = line; *end != '\0'; end++) {
        if ((unsigned char)*end < 0x20 && *end != '\t') {
            da_kvconf_error_set(err, lineno, "control character 0x%02x in line",
                                (unsigned)(unsigned char)*end);
            return DA_ERR_CONFIG;
        }
        if (*end == 0x7f) {
            da_kvconf_error_set(err, lineno, "control character 0x7f in line");
            return DA_ERR_CONFIG;
        }
    }
    while (is_blank(*p))
        p++;
    if (*p == '\0' || *p == '#')
        return 0;
    key = p;
    while (is_key_char(*p))
        p++;
    klen = (size_t)(p - key);
    if (klen == 0 && *p == '=') {
        da_kvconf_error_set(err, lineno, "expected a key ([a-z0-9_]) before '='");
        return DA_ERR_CONFIG;
    }
    if (klen > DA_KVCONF_MAX_KEY) {
        da_kvconf_error_set(err, lineno, "key longer than %d characters", DA_KVCONF_MAX_KEY);
        return DA_ERR_CONFIG;
    }
    while (is_blank(*p))
        p++;
    if (*p != '=') {
        if (*p == '\0')
            da_kvconf_error_set(err, lineno, "expected 'key = value'");
        else
            da_kvconf_error_set(err, lineno, "invalid character '%c' in key (keys are [a-z0-9_])",
                                *p);
        return DA_ERR_CONFIG;
    }
    key[klen] = '\0';
    p++;
    while (is_blank(*p))
        p++;
    val = p;
    end = val + strlen(val);
    while (end > val && is_blank(end[-1]))
        *--end = '\0';
    err->reason[0] = '\0';
    r = fn(ctx, key, val, lineno, err->reason, sizeof(err->reason));
    if (r != 0) {
        err->line = lineno;
        if (err->reason[0] == '\0')
            snprintf(err->reason, sizeof(err->reason), "%.64s: %s", key, da_strerror(r));
    }
    return r;
}

int da_kvconf_parse(const char *text, size_t len, const char *file, da_kvconf_entry_fn fn,
                    void *ctx, struct da_kvconf_error *err)
{
    char line[DA_KVCONF_MAX_LINE + 1];
    size_t pos = 0;
    unsigned lineno = 0;
    int r;

    snprintf(err->file, sizeof(err->file), "%s", file != NULL ? file : "<config>");
    err->line = 0;
    err->reason[0] = '\0';
    if (len > DA_MAX_CONFIG) {
        da_kvconf_error_set(err, 0, "file is larger than %u bytes", DA_MAX_CONFIG);
        return DA_ERR_TOO_LARGE;
    }
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;

        lineno++;
        if (memchr(text + pos, '\0', n) != NULL) {
            da_kvconf_error_set(err, lineno, "NUL byte in line");
            return DA_ERR_CONFIG;
        }
        if (n > 0 && text[pos + n - 1] == '\r')
            n--; /* tolerate CRLF line ends */
        if (n > DA_KVCONF_MAX_LINE) {
            da_kvconf_error_set(err, lineno, "line longer than %d bytes", DA_KVCONF_MAX_LINE);
            return DA_ERR_CONFIG;
        }
        memcpy(line, text + pos, n);
        line[n] = '\0';
        r = parse_line(line, lineno, fn, ctx, err);
        if (r != 0)
            return r;
        pos += (nl != NULL ? (size_t)(nl - (text + pos)) + 1 : len - pos);
    }
    return 0;
}

static int read_config_file(const char *path, struct da_buf *b, struct da_kvconf_error *err)
{
    struct stat st;
    char chunk[4096];
    int fd, r = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        da_kvconf_error_set(err, 0, "cannot open: %s", strerror(errno));
        return errno == ENOENT ? DA_ERR_NOT_FOUND
                               : (errno == EACCES ? DA_ERR_PERMISSION : DA_ERR_IO);
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        da_kvconf_error_set(err, 0, "not a regular file");
        r = DA_ERR_CONFIG;
        goto out;
    }
    if ((st.st_mode & S_IWOTH) != 0) {
        da_kvconf_error_set(err, 0, "file is writable by any user (mode %04o); refusing it",
                            (unsigned)(st.st_mode & 07777));
        r = DA_ERR_PERMISSION;
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            da_kvconf_error_set(err, 0, "read failed: %s", strerror(errno));
            r = DA_ERR_IO;
            goto out;
        }
        if (n == 0)
            break;
        if (da_buf_append(b, chunk, (size_t)n) != 0) {
            da_kvconf_error_set(err, 0, "file is larger than %u bytes", DA_MAX_CONFIG);
            r = DA_ERR_TOO_LARGE;
            goto out;
        }
    }
out:
    close(fd);
    return r;
}

int da_kvconf_load(const char *path, da_kvconf_entry_fn fn, void *ctx, struct da_kvconf_error *err)
{
    struct da_buf b;
    int r;

    da_buf_init(&b, DA_MAX_CONFIG);
    snprintf(err->file, sizeof(err->file), "%s", path);
    err->line = 0;
    err->reason[0] = '\0';
    r = read_config_file(path, &b, err);
    if (r == 0)
        r = da_kvconf_parse(da_buf_str(&b), da_buf_len(&b), path, fn, ctx, err);
    da_buf_free(&b);
    return r;
}

/* ---- typed value parsers ---- */

/* Parse a quoted string starting at *pp (which points at '"'); on success *pp
 * points after the closing quote. */
static int parse_quoted(const char **pp, char *out, size_t out_size, char *reason,
                        size_t reason_size)
{
    const char *p = *pp + 1;
    size_t n = 0;

    for (;;) {
        char c = *p;

        if (c == '\0') {
            reason_set(reason, reason_size, "unterminated quoted string");
            return DA_ERR_CONFIG;
        }
        if (c == '"')
            break;
        /* \" and \\ are the escapes; any other backslash is kept, so that
         * regular expressions need no doubling. */
        if (c == '\\' && (p[1] == '"' || p[1] == '\\'))
            c = *++p;
        if (n + 1 >= out_size) {
            reason_set(reason, reason_size, "value longer than %zu bytes", out_size - 1);
            return DA_ERR_CONFIG;
        }
        out[n++] = c;
        p++;
    }
    out[n] = '\0';
    *pp = p + 1;
    return 0;
}

int da_kv_unquote(const char *raw, char *out, size_t out_size, char *reason, size_t reason_size)
{
    const char *p = raw;
    size_t n;
    int r;

    if (out_size == 0)
        return DA_ERR_INVALID_ARG;
    out[0] = '\0';
    if (*p != '"') {
        n = strlen(raw);
        if (n >= out_size) {
            reason_set(reason, reason_size, "value longer than %zu bytes", out_size - 1);
            return DA_ERR_CONFIG;
        }
        memcpy(out, raw, n + 1);
        return 0;
    }
    r = parse_quoted(&p, out, out_size, reason, reason_size);
    if (r != 0)
        return r;
    if (*p != '\0') {
        out[0] = '\0';
        reason_set(reason, reason_size, "text after the closing quote");
        return DA_ERR_CONFIG;
    }
    return 0;
}

/* Digits only; *end is set after the last digit. */
static int parse_digits(const char *v, uint64_t *out, const char **end)
{
    uint64_t n = 0;
    const char *p = v;

    if (*p < '0' || *p > '9')
        return DA_ERR_CONFIG;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');

        if (n > (UINT64_MAX - d) / 10)
            return DA_ERR_OVERFLOW;
        n = n * 10 + d;
    }
    *out = n;
    *end = p;
    return 0;
}

int da_kv_parse_u64(const char *v, uint64_t min, uint64_t max, uint64_t *out, char *reason,
                    size_t reason_size)
{
    const char *end = NULL;
    uint64_t n;

    if (parse_digits(v, &n, &end) != 0 || *end != '\0') {
        reason_set(reason, reason_size, "'%s' is not a non-negative decimal number", v);
        return DA_ERR_CONFIG;
    }
    if (n < min || n > max) {
        reason_set(reason, reason_size, "%llu is outside %llu..%llu", (unsigned long long)n,
                   (unsigned long long)min, (unsigned long long)max);
        return DA_ERR_CONFIG;
    }
    *out = n;
    return 0;
}

int da_kv_parse_bool(const char *v, bool *out, char *reason, size_t reason_size)
{
    if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0) {
        *out = false;
        return 0;
    }
    reason_set(reason, reason_size, "'%s' is not yes/no/true/false", v);
    return DA_ERR_CONFIG;
}

/* n followed by one unit from units[] with the matching multipliers. */
static int parse_scaled(const char *v, const char *units, const uint64_t *mult, bool unit_required,
                        uint64_t *out)
{
    const char *end = NULL, *u;
    uint64_t n, m = 1;

    if (parse_digits(v, &n, &end) != 0)
        return DA_ERR_CONFIG;
    if (*end == '\0') {
        if (unit_required)
            return DA_ERR_CONFIG;
    } else {
        u = strchr(units, *end);
        if (u == NULL || end[1] != '\0')
            return DA_ERR_CONFIG;
        m = mult[u - units];
    }
    if (n != 0 && m > UINT64_MAX / n)
        return DA_ERR_OVERFLOW;
    *out = n * m;
    return 0;
}

int da_kv_parse_duration(const char *v, uint64_t min_s, uint64_t max_s, uint64_t *out_s,
                         char *reason, size_t reason_size)
{
    static const uint64_t mult[] = {1, 60, 3600, 86400};
    uint64_t n;

    if (parse_scaled(v, "smhd", mult, true, &n) != 0) {
        reason_set(reason, reason_size,
                   "'%s' is not a duration (a number followed by s, m, h or d, e.g. 15m)", v);
        return DA_ERR_CONFIG;
    }
    if (n < min_s || n > max_s) {
        reason_set(reason, reason_size, "%s is outside %llus..%llus", v, (unsigned long long)min_s,
                   (unsigned long long)max_s);
        return DA_ERR_CONFIG;
    }
    *out_s = n;
    return 0;
}

int da_kv_parse_size(const char *v, uint64_t min, uint64_t max, uint64_t *out, char *reason,
                     size_t reason_size)
{
    static const uint64_t mult[] = {1024, 1024 * 1024, 1024 * 1024 * 1024};
    uint64_t n;

    if (parse_scaled(v, "KMG", mult, false, &n) != 0) {
        reason_set(reason, reason_size, "'%s' is not a size (bytes, or a number with K, M or G)",
                   v);
        return DA_ERR_CONFIG;
    }
    if (n < min || n > max) {
        reason_set(reason, reason_size, "%s is outside %llu..%llu bytes", v,
                   (unsigned long long)min, (unsigned long long)max);
        return DA_ERR_CONFIG;
    }
    *out = n;
    return 0;
}

int da_kv_parse_abs_path(const char *v, char *out, size_t out_size, char *reason,
                         size_t reason_size)
{
    const char *p = v;
    size_t n = strlen(v);

    if (v[0] != '/') {
        reason_set(reason, reason_size, "'%s' is not an absolute path", v);
        return DA_ERR_CONFIG;
    }
    if (n >= out_size) {
        reason_set(reason, reason_size, "path longer than %zu bytes", out_size - 1);
        return DA_ERR_CONFIG;
    }
    if (n > 1 && v[n - 1] == '/') {
        reason_set(reason, reason_size, "path '%s' ends with '/'", v);
        return DA_ERR_CONFIG;
    }
    while (*p == '/' && p[1] != '\0') {
        const char *c = p + 1, *e = strchr(c, '/');
        size_t clen = e != NULL ? (size_t)(e - c) : strlen(c);

        if (clen == 0 || (clen == 1 && c[0] == '.') || (clen == 2 && c[0] == '.' && c[1] == '.')) {
            reason_set(reason, reason_size, "path '%s' is not normalized (//, . or ..)", v);
            return DA_ERR_CONFIG;
        }
        p = c + clen;
    }
    memcpy(out, v, n + 1);
    return 0;
}

int da_kv_parse_enum(const char *v, const char *const *names, int *out, char *reason,
                     size_t reason_size)
{
    char allowed[DA_KVCONF_MAX_REASON / 2];
    size_t used = 0;
    int i;

    for (i = 0; names[i] != NULL; i++) {
        if (strcmp(v, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    allowed[0] = '\0';
    for (i = 0; names[i] != NULL && used < sizeof(allowed); i++) {
        int w =
            snprintf(allowed + used, sizeof(allowed) - used, "%s%s", i != 0 ? "|" : "", names[i]);

        if (w < 0)
            break;
        used += (size_t)w;
    }
    reason_set(reason, reason_size, "'%s' is not one of %s", v, allowed);
    return DA_ERR_CONFIG;
}

void da_kv_list_free(struct da_kv_list *l)
{
    size_t i;

    if (l == NULL)
        return;
    for (i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static int list_push(struct da_kv_list *l, const char *s, char *reason, size_t reason_size)
{
    char **items;
    char *copy;

    if (l->n >= DA_KVCONF_MAX_LIST) {
        reason_set(reason, reason_size, "more than %d list elements", DA_KVCONF_MAX_LIST);
        return DA_ERR_CONFIG;
    }
    copy = strdup(s);
    if (copy == NULL)
        return DA_ERR_NOMEM;
    items = malloc((l->n + 1) * sizeof(*items));
    if (items == NULL) {
        free(copy);
        return DA_ERR_NOMEM;
    }
    if (l->n != 0)
        memcpy(items, l->items, l->n * sizeof(*items));
    free(l->items);
    items[l->n++] = copy;
    l->items = items;
    return 0;
}

/* One element at *pp into elem; *pp ends at ',' or the end. */
static int list_element(const char **pp, char *elem, size_t size, char *reason, size_t reason_size)
{
    const char *p = *pp, *start, *end;
    size_t n;
    int r;

    if (*p == '"') {
        r = parse_quoted(&p, elem, size, reason, reason_size);
        if (r != 0)
            return r;
        while (is_blank(*p))
            p++;
        if (*p != ',' && *p != '\0') {
            reason_set(reason, reason_size, "text after a quoted list element");
            return DA_ERR_CONFIG;
        }
        *pp = p;
        return 0;
    }
    start = p;
    while (*p != ',' && *p != '\0')
        p++;
    end = p;
    while (end > start && is_blank(end[-1]))
        end--;
    n = (size_t)(end - start);
    if (n == 0) {
        reason_set(reason, reason_size, "empty list element");
        return DA_ERR_CONFIG;
    }
    if (n >= size) {
        reason_set(reason, reason_size, "list element longer than %zu bytes", size - 1);
        return DA_ERR_CONFIG;
    }
    if (memchr(start, '"', n) != NULL) {
        reason_set(reason, reason_size, "quote inside an unquoted list element");
        return DA_ERR_CONFIG;
    }
    memcpy(elem, start, n);
    elem[n] = '\0';
    *pp = p;
    return 0;
}

int da_kv_parse_list(const char *raw, struct da_kv_list *out, char *reason, size_t reason_size)
{
    struct da_kv_list l = {0, NULL};
    char elem[DA_KVCONF_MAX_ELEMENT + 1];
    const char *p = raw;
    int r = 0;

    out->n = 0;
    out->items = NULL;
    while (is_blank(*p))
        p++;
    if (*p == '\0')
        return 0;
    for (;;) {
        while (is_blank(*p))
            p++;
        r = list_element(&p, elem, sizeof(elem), reason, reason_size);
        if (r != 0)
            goto out;
        r = list_push(&l, elem, reason, reason_size);
        if (r != 0)
            goto out;
        if (*p == '\0')
            break;
        p++; /* the ',' */
        while (is_blank(*p))
            p++;
        if (*p == '\0') {
            reason_set(reason, reason_size, "list ends with ','");
            r = DA_ERR_CONFIG;
            goto out;
        }
    }
    *out = l;
    l.items = NULL;
    l.n = 0;
out:
    da_kv_list_free(&l);
    return r;
}

static int host_is_loopback(const char *host, bool bracketed)
{
    unsigned char a[16];

    if (bracketed)
        return inet_pton(AF_INET6, host, a) == 1 && memcmp(a, &in6addr_loopback, 16) == 0;
    if (strcasecmp(host, "localhost") == 0)
        return 1;
    return inet_pton(AF_INET, host, a) == 1 && a[0] == 127;
}

static int url_host_port(const char *auth, size_t alen, struct da_kv_url *u, char *reason,
                         size_t reason_size)
{
    const char *hend, *port = NULL;
    bool bracketed = false;
    size_t hlen, i;
    unsigned char a[16];
    uint64_t pn;
    char pbuf[8];

    if (memchr(auth, '@', alen) != NULL) {
        reason_set(reason, reason_size, "user information in the URL is not allowed");
        return DA_ERR_CONFIG;
    }
    if (alen > 0 && auth[0] == '[') {
        hend = memchr(auth, ']', alen);
        if (hend == NULL) {
            reason_set(reason, reason_size, "unterminated '[' in URL host");
            return DA_ERR_CONFIG;
        }
        bracketed = true;
        hlen = (size_t)(hend - auth - 1);
        if (hlen >= sizeof(u->host)) {
            reason_set(reason, reason_size, "URL host too long");
            return DA_ERR_CONFIG;
        }
        memcpy(u->host, auth + 1, hlen);
        u->host[hlen] = '\0';
        if (inet_pton(AF_INET6, u->host, a) != 1) {
            reason_set(reason, reason_size, "'%s' is not an IPv6 address", u->host);
            return DA_ERR_CONFIG;
        }
        hend++;
        if (hend < auth + alen && *hend != ':') {
            reason_set(reason, reason_size, "text after ']' in URL host");
            return DA_ERR_CONFIG;
        }
    } else {
        hend = memchr(auth, ':', alen);
        if (hend == NULL)
            hend = auth + alen;
        hlen = (size_t)(hend - auth);
        if (hlen == 0 || hlen >= sizeof(u->host)) {
            reason_set(reason, reason_size, "URL host is empty or too long");
            return DA_ERR_CONFIG;
        }
        for (i = 0; i < hlen; i++) {
            char c = auth[i];

            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-')) {
                reason_set(reason, reason_size, "invalid character '%c' in URL host", c);
                return DA_ERR_CONFIG;
            }
        }
        memcpy(u->host, auth, hlen);
        u->host[hlen] = '\0';
    }
    if (hend < auth + alen && *hend == ':')
        port = hend + 1;
    if (port != NULL) {
        size_t plen = (size_t)(auth + alen - port);

        if (plen == 0 || plen >= sizeof(pbuf)) {
            reason_set(reason, reason_size, "invalid URL port");
            return DA_ERR_CONFIG;
        }
        memcpy(pbuf, port, plen);
        pbuf[plen] = '\0';
        if (da_kv_parse_u64(pbuf, 1, 65535, &pn, NULL, 0) != 0) {
            reason_set(reason, reason_size, "URL port '%s' is not in 1..65535", pbuf);
            return DA_ERR_CONFIG;
        }
        u->port = (unsigned)pn;
    }
    u->loopback = host_is_loopback(u->host, bracketed) != 0;
    return 0;
}

int da_kv_parse_url(const char *v, struct da_kv_url *out, char *reason, size_t reason_size)
{
    struct da_kv_url u;
    const char *auth, *path;
    size_t alen;
    int r;

    memset(&u, 0, sizeof(u));
    if (strncmp(v, "https://", 8) == 0) {
        u.https = true;
        u.port = 443;
        auth = v + 8;
    } else if (strncmp(v, "http://", 7) == 0) {
        u.port = 80;
        auth = v + 7;
    } else {
        reason_set(reason, reason_size, "'%s' is not an https:// URL", v);
        return DA_ERR_CONFIG;
    }
    path = strchr(auth, '/');
    alen = path != NULL ? (size_t)(path - auth) : strlen(auth);
    r = url_host_port(auth, alen, &u, reason, reason_size);
    if (r != 0)
        return r;
    for (; path != NULL && *path != '\0'; path++) {
        unsigned char c = (unsigned char)*path;

        if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#' || c == '"' || c == '\\') {
            reason_set(reason, reason_size, "URL path holds '%c' (no query, fragment or spaces)",
                       c > 0x20 && c < 0x7f ? (char)c : '?');
            return DA_ERR_CONFIG;
        }
    }
    *out = u;
    return 0;
}

int da_kv_parse_cidr(const char *v, struct da_kv_cidr *out, char *reason, size_t reason_size)
{
    char addr[64];
    const char *slash = strchr(v, '/');
    const char *end = NULL;
    struct da_kv_cidr c;
    uint64_t prefix;
    unsigned bits, i;

    memset(&c, 0, sizeof(c));
    if (slash == NULL || (size_t)(slash - v) >= sizeof(addr)) {
        reason_set(reason, reason_size, "'%s' is not a network in CIDR notation (a.b.c.d/n)", v);
        return DA_ERR_CONFIG;
    }
    memcpy(addr, v, (size_t)(slash - v));
    addr[slash - v] = '\0';
    if (inet_pton(AF_INET, addr, c.addr) == 1) {
        c.family = AF_INET;
        bits = 32;
    } else if (inet_pton(AF_INET6, addr, c.addr) == 1) {
        c.family = AF_INET6;
        bits = 128;
    } else {
        reason_set(reason, reason_size, "'%s' is not an IPv4 or IPv6 address", addr);
        return DA_ERR_CONFIG;
    }
    if (parse_digits(slash + 1, &prefix, &end) != 0 || *end != '\0' || prefix > bits ||
        (slash[1] == '0' && slash[2] != '\0')) {
        reason_set(reason, reason_size, "invalid prefix length in '%s'", v);
        return DA_ERR_CONFIG;
    }
    for (i = (unsigned)prefix; i < bits; i++) {
        if (c.addr[i / 8] & (0x80u >> (i % 8))) {
            reason_set(reason, reason_size, "'%s' has host bits set", v);
            return DA_ERR_CONFIG;
        }
    }
    c.prefix = (unsigned)prefix;
    *out = c;
    return 0;
}

/* ---- schema layer ---- */

struct apply_ctx {
    const struct da_kvconf_key *keys;
    size_t nkeys;
    void *obj;
    unsigned *seen;
};

static int apply_scalar(const struct da_kvconf_key *k, void *field, const char *v, char *reason,
                        size_t rs)
{
    uint64_t u;
    int idx, r;

    switch (k->type) {
    case DA_KV_STRING:
        if (v[0] == '\0') {
            reason_set(reason, rs, "empty value");
            return DA_ERR_CONFIG;
        }
        if (strlen(v) >= k->size) {
            reason_set(reason, rs, "value longer than %zu bytes", k->size - 1);
            return DA_ERR_CONFIG;
        }
        memcpy(field, v, strlen(v) + 1);
        return 0;
    case DA_KV_PATH:
        return da_kv_parse_abs_path(v, field, k->size, reason, rs);
    case DA_KV_U64:
        r = da_kv_parse_u64(v, k->min, k->max, &u, reason, rs);
        break;
    case DA_KV_DURATION:
        r = da_kv_parse_duration(v, k->min, k->max, &u, reason, rs);
        break;
    case DA_KV_SIZE:
        r = da_kv_parse_size(v, k->min, k->max, &u, reason, rs);
        break;
    case DA_KV_BOOL:
        return da_kv_parse_bool(v, field, reason, rs);
    case DA_KV_ENUM:
        r = da_kv_parse_enum(v, k->names, &idx, reason, rs);
        if (r == 0)
            *(int *)field = idx;
        return r;
    default:
        return DA_ERR_INTERNAL;
    }
    if (r == 0)
        *(uint64_t *)field = u;
    return r;
}

static int apply_entry(void *vctx, const char *key, const char *raw, unsigned line, char *reason,
                       size_t rs)
{
    struct apply_ctx *c = vctx;
    const struct da_kvconf_key *k = NULL;
    char value[DA_KVCONF_MAX_LINE + 1];
    char why[DA_KVCONF_MAX_REASON];
    void *field;
    size_t i;
    int r;

    for (i = 0; i < c->nkeys; i++) {
        if (strcmp(c->keys[i].name, key) == 0) {
            k = &c->keys[i];
            break;
        }
    }
    if (k == NULL) {
        reason_set(reason, rs, "unknown key '%s'", key);
        return DA_ERR_CONFIG;
    }
    if (c->seen[i] != 0) {
        reason_set(reason, rs, "duplicate key '%s' (first set on line %u)", key, c->seen[i]);
        return DA_ERR_CONFIG;
    }
    c->seen[i] = line;
    field = (char *)c->obj + k->offset;
    why[0] = '\0';
    if (k->type == DA_KV_LIST) {
        struct da_kv_list l;

        r = da_kv_parse_list(raw, &l, why, sizeof(why));
        if (r == 0) {
            da_kv_list_free(field);
            *(struct da_kv_list *)field = l;
        }
        snprintf(value, sizeof(value), "%s", raw);
    } else {
        r = da_kv_unquote(raw, value, sizeof(value), why, sizeof(why));
        if (r == 0 && k->type == DA_KV_CUSTOM)
            r = k->check != NULL ? k->check(field, value, why, sizeof(why)) : DA_ERR_INTERNAL;
        else if (r == 0)
            r = apply_scalar(k, field, value, why, sizeof(why));
    }
    if (r == 0 && k->check != NULL && k->type != DA_KV_CUSTOM)
        r = k->check(field, value, why, sizeof(why));
    if (r != 0)
        reason_set(reason, rs, "%s: %s", key, why[0] != '\0' ? why : da_strerror(r));
    return r;
}

int da_kvconf_apply(const struct da_kvconf_key *keys, size_t nkeys, void *obj, const char *text,
                    size_t len, const char *file, unsigned *seen, struct da_kvconf_error *err)
{
    struct apply_ctx c = {keys, nkeys, obj, seen};
    unsigned *own = NULL;
    int r;

    if (seen == NULL) {
        own = calloc(nkeys != 0 ? nkeys : 1, sizeof(*own));
        if (own == NULL)
            return DA_ERR_NOMEM;
        c.seen = own;
    } else {
        memset(seen, 0, nkeys * sizeof(*seen));
    }
    r = da_kvconf_parse(text, len, file, apply_entry, &c, err);
    free(own);
    return r;
}

int da_kvconf_apply_file(const struct da_kvconf_key *keys, size_t nkeys, void *obj,
                         const char *path, unsigned *seen, struct da_kvconf_error *err)
{
    struct apply_ctx c = {keys, nkeys, obj, seen};
    unsigned *own = NULL;
    int r;

    if (seen == NULL) {
        own = calloc(nkeys != 0 ? nkeys : 1, sizeof(*own));
        if (own == NULL)
            return DA_ERR_NOMEM;
        c.seen = own;
    } else {
        memset(seen, 0, nkeys * sizeof(*seen));
    }
    r = da_kvconf_load(path, apply_entry, &c, err);
    free(own);
    return r;
}

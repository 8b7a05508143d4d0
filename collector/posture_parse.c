/* Parsers for the runtime, logging, hardening, auth and media areas (see
 * posture.h). They read text only; the collectors choose the files. */
#include "posture.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "err.h"

int col_lines_next(struct col_lines *it, char *out)
{
    size_t o = 0;

    if (it->p >= it->end)
        return 0;
    for (;;) {
        const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
        const char *stop = nl != NULL ? nl : it->end;
        size_t len = (size_t)(stop - it->p);
        int more;

        if (len > 0 && it->p[len - 1] == '\r')
            len--;
        more = it->join && len > 0 && it->p[len - 1] == '\\' && nl != NULL;
        if (more)
            len--;
        if (o + len >= COL_CONF_LINE_MAX)
            return DA_ERR_COLLECT_PARSE;
        memcpy(out + o, it->p, len);
        o += len;
        it->p = nl != NULL ? nl + 1 : it->end;
        if (!more)
            break;
    }
    out[o] = '\0';
    /* NUL bytes inside a line end it, as a C reader of the file would */
    return 1;
}

/* Next whitespace-separated word of *s into w (cut at n-1 bytes). */
static int col_word(const char **s, char *w, size_t n)
{
    const char *p = *s + strspn(*s, " \t");
    size_t len = strcspn(p, " \t");

    if (len == 0) {
        *s = p;
        return 0;
    }
    if (len >= n)
        len = n - 1;
    memcpy(w, p, len);
    w[len] = '\0';
    p += strcspn(p, " \t");
    *s = p;
    return 1;
}

static const char *col_basename(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash != NULL ? slash + 1 : path;
}

/* ---- PAM ---- */

int col_pam_parse(const char *text, size_t len, const char *type, col_pam_fn fn, void *arg)
{
    struct col_lines it = {text, text + len, 1};
    char line[COL_CONF_LINE_MAX], w[256], module[1024];
    int r;

    while ((r = col_lines_next(&it, line)) == 1) {
        const char *s = line, *t;

        line[strcspn(line, "#")] = '\0';
        if (!col_word(&s, w, sizeof(w)))
            continue;
        if (strcmp(w, "@include") == 0) {
            if (col_word(&s, module, sizeof(module)) && (r = fn(arg, COL_PAM_INCLUDE, module)) < 0)
                return r;
            continue;
        }
        t = w[0] == '-' ? w + 1 : w;
        if (strcasecmp(t, type) != 0)
            continue;
        s += strspn(s, " \t");
        if (*s == '[') { /* [value=action ...] may hold blanks */
            const char *close = strchr(s, ']');

            if (close == NULL)
                continue; /* PAM rejects the line */
            snprintf(w, sizeof(w), "[");
            s = close + 1;
        } else if (!col_word(&s, w, sizeof(w))) {
            continue;
        }
        if (!col_word(&s, module, sizeof(module)))
            continue;
        if (strcmp(w, "include") == 0 || strcmp(w, "substack") == 0)
            r = fn(arg, COL_PAM_INCLUDE, module);
        else
            r = fn(arg, COL_PAM_MODULE, col_basename(module));
        if (r < 0)
            return r;
    }
    return r;
}

/* ---- sudoers ---- */

/* "#" starts a comment unless it introduces a uid ("#1000") or an include
 * directive, which the caller has already taken. */
static void col_sudo_strip_comment(char *line)
{
    char *p;

    for (p = line; (p = strchr(p, '#')) != NULL; p++) {
        if (!isdigit((unsigned char)p[1])) {
            *p = '\0';
            return;
        }
    }
}

static int col_sudo_directive(const char *line, col_sudo_fn fn, void *arg, int *taken)
{
    const char *s = line + strspn(line, " \t");
    char w[32], target[4096];

    *taken = 0;
    if (s[0] != '#' && s[0] != '@')
        return 0;
    if (!col_word(&s, w, sizeof(w)))
        return 0;
    if (strcmp(w + 1, "include") != 0 && strcmp(w + 1, "includedir") != 0)
        return 0;
    *taken = 1;
    s += strspn(s, " \t");
    snprintf(target, sizeof(target), "%s", s);
    for (size_t n = strlen(target); n > 0 && (target[n - 1] == ' ' || target[n - 1] == '\t'); n--)
        target[n - 1] = '\0';
    if (target[0] == '"' && strlen(target) >= 2 && target[strlen(target) - 1] == '"') {
        memmove(target, target + 1, strlen(target) - 2);
        target[strlen(target) - 2] = '\0';
    }
    if (target[0] == '\0')
        return 0;
    return fn(arg, strcmp(w + 1, "include") == 0 ? COL_SUDO_INCLUDE : COL_SUDO_INCLUDEDIR, target);
}

/* Does the text after the host list's "=" carry the NOPASSWD tag? */
static int col_sudo_has_tag(const char *s, const char *tag)
{
    size_t n = strlen(tag);

    for (const char *p = s; (p = strstr(p, tag)) != NULL; p += n) {
        const char *q = p + n;

        if (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
            continue;
        q += strspn(q, " \t");
        if (*q == ':')
            return 1;
    }
    return 0;
}

/* The user list: entries separated by commas (blanks allowed around them),
 * ending at the first blank that is not next to a comma. */
static int col_sudo_users(const char *s, col_sudo_fn fn, void *arg, enum col_sudo_kind kind)
{
    char name[256];
    size_t o = 0;
    int r;

    s += strspn(s, " \t");
    for (;; s++) {
        if (*s == ',' || *s == ' ' || *s == '\t' || *s == '\0') {
            const char *next = s + strspn(s, " \t");

            name[o] = '\0';
            if (o > 0 && (r = fn(arg, kind, name)) < 0)
                return r;
            o = 0;
            if (*next == ',') {
                s = next;
                s += strspn(s + 1, " \t");
                continue;
            }
            return 0;
        }
        if (*s == '\\' && s[1] != '\0')
            s++;
        if (o + 1 < sizeof(name))
            name[o++] = *s;
    }
}

int col_sudoers_parse(const char *text, size_t len, col_sudo_fn fn, void *arg)
{
    struct col_lines it = {text, text + len, 1};
    char line[COL_CONF_LINE_MAX], w[64];
    int r, taken;

    while ((r = col_lines_next(&it, line)) == 1) {
        const char *s = line, *eq;

        if ((r = col_sudo_directive(line, fn, arg, &taken)) < 0)
            return r;
        if (taken)
            continue;
        col_sudo_strip_comment(line);
        if (!col_word(&s, w, sizeof(w)))
            continue;
        if (strncmp(w, "Defaults", 8) == 0) {
            if (strstr(line, "!authenticate") != NULL && (r = fn(arg, COL_SUDO_NOAUTH, w)) < 0)
                return r;
            continue;
        }
        if (strcmp(w, "User_Alias") == 0 || strcmp(w, "Runas_Alias") == 0 ||
            strcmp(w, "Host_Alias") == 0 || strcmp(w, "Cmnd_Alias") == 0 ||
            strcmp(w, "Cmd_Alias") == 0)
            continue;
        eq = strchr(line, '=');
        if (eq == NULL || !col_sudo_has_tag(eq, "NOPASSWD"))
            continue;
        if ((r = col_sudo_users(line, fn, arg, COL_SUDO_NOPASSWD)) < 0)
            return r;
    }
    return r;
}

/* ---- modprobe.d ---- */

static int col_modname_eq(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        char x = *a == '-' ? '_' : *a, y = *b == '-' ? '_' : *b;

        if (x != y)
            return 0;
    }
    return *a == *b;
}

int col_modprobe_parse(const char *text, size_t len, const char *module, struct col_modprobe *m)
{
    struct col_lines it = {text, text + len, 1};
    char line[COL_CONF_LINE_MAX], cmd[32], name[256], prog[1024];
    int r;

    while ((r = col_lines_next(&it, line)) == 1) {
        const char *s = line;

        s += strspn(s, " \t");
        if (*s == '#')
            continue;
        if (!col_word(&s, cmd, sizeof(cmd)) || !col_word(&s, name, sizeof(name)) ||
            !col_modname_eq(name, module))
            continue;
        if (strcmp(cmd, "blacklist") == 0) {
            m->blacklisted = 1;
        } else if (strcmp(cmd, "install") == 0 && !m->install_seen) {
            m->install_seen = 1;
            if (col_word(&s, prog, sizeof(prog))) {
                const char *b = col_basename(prog);

                m->install_disabled = strcmp(b, "false") == 0 || strcmp(b, "true") == 0;
            }
        }
    }
    return r;
}

int col_cmdline_blacklists(const char *cmdline, const char *module)
{
    static const char key[] = "modprobe.blacklist=";
    const char *s = cmdline;
    char w[1024];

    while (col_word(&s, w, sizeof(w))) {
        char *list;

        w[strcspn(w, "\n")] = '\0';
        if (strncmp(w, key, sizeof(key) - 1) != 0)
            continue;
        list = w + sizeof(key) - 1;
        for (char *p = list; *p != '\0';) {
            size_t n = strcspn(p, ",");
            char c = p[n];

            p[n] = '\0';
            if (col_modname_eq(p, module))
                return 1;
            p += n + (c != '\0');
        }
    }
    return 0;
}

/* ---- systemd unit-style files ---- */

static void col_trim(char *s)
{
    size_t n = strlen(s), lead = strspn(s, " \t");

    while (n > lead && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    memmove(s, s + lead, n - lead);
    s[n - lead] = '\0';
}

int col_ini_value(const char *text, size_t len, const char *section, const char *key, char *out,
                  size_t n)
{
    struct col_lines it = {text, text + len, 1};
    char line[COL_CONF_LINE_MAX];
    int in = section == NULL, found = 0, r;

    while ((r = col_lines_next(&it, line)) == 1) {
        char *eq;

        col_trim(line);
        if (line[0] == '#' || line[0] == ';' || line[0] == '\0')
            continue;
        if (line[0] == '[') {
            size_t l = strlen(line);

            in = section != NULL && l >= 2 && line[l - 1] == ']' && strlen(section) == l - 2 &&
                 memcmp(line + 1, section, l - 2) == 0;
            continue;
        }
        eq = strchr(line, '=');
        if (!in || eq == NULL)
            continue;
        *eq = '\0';
        col_trim(line);
        if (strcmp(line, key) != 0)
            continue;
        col_trim(eq + 1);
        snprintf(out, n, "%s", eq + 1);
        found = 1;
    }
    return r < 0 ? r : found;
}

/* ---- syslog daemons ---- */

/* The value of name="..." (or name='...') inside s, into out. */
static int col_param_value(const char *s, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);

    for (const char *p = s; (p = strstr(p, name)) != NULL; p += nl) {
        const char *q = p + nl;
        size_t len;
        char quote;

        if (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '.'))
            continue;
        q += strspn(q, " \t");
        if (*q != '=')
            continue;
        q++;
        q += strspn(q, " \t");
        if (*q != '"' && *q != '\'')
            continue;
        quote = *q++;
        len = strcspn(q, quote == '"' ? "\"" : "'");
        if (len >= n)
            len = n - 1;
        memcpy(out, q, len);
        out[len] = '\0';
        return 1;
    }
    return 0;
}

/* The text after "action(" in s (blanks allowed before the parenthesis),
 * or NULL. */
static const char *col_action_open(const char *s)
{
    for (const char *p = s; (p = strstr(p, "action")) != NULL; p += 6) {
        const char *q = p + 6;

        if (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '$'))
            continue;
        q += strspn(q, " \t");
        if (*q == '(')
            return q + 1;
    }
    return NULL;
}

static int col_forward_type(const char *s, char *v, size_t n)
{
    return col_param_value(s, "type", v, n) &&
           (strcmp(v, "omfwd") == 0 || strcmp(v, "omrelp") == 0);
}

int col_rsyslog_parse(const char *text, size_t len, col_syslog_fn fn, void *arg)
{
    struct col_lines it = {text, text + len, 1};
    char line[COL_CONF_LINE_MAX], v[1024];
    int r, in_action = 0;

    while ((r = col_lines_next(&it, line)) == 1) {
        const char *s = line, *act;

        line[strcspn(line, "#")] = '\0';
        s += strspn(s, " \t");
        if (*s == '\0')
            continue;
        if (in_action) { /* the parameters of an action( spread over lines */
            if (col_forward_type(s, v, sizeof(v)) && (r = fn(arg, COL_SYSLOG_FORWARD, v)) < 0)
                return r;
            in_action = strchr(s, ')') == NULL;
            continue;
        }
        if (strncasecmp(s, "$IncludeConfig", 14) == 0) {
            s += 14;
            if (col_word(&s, v, sizeof(v)) && (r = fn(arg, COL_SYSLOG_INCLUDE, v)) < 0)
                return r;
            continue;
        }
        if (strncmp(s, "include", 7) == 0 && col_param_value(s, "file", v, sizeof(v))) {
            if ((r = fn(arg, COL_SYSLOG_INCLUDE, v)) < 0)
                return r;
            continue;
        }
        if ((act = col_action_open(s)) != NULL) {
            if (col_forward_type(act, v, sizeof(v)) && (r = fn(arg, COL_SYSLOG_FORWARD, v)) < 0)
                return r;
            in_action = strchr(act, ')') == NULL;
            continue;
        }
        if (*s == '$' || *s == '&' || *s == ':' || *s == '@')
            continue; /* directives, property filters' continuations */
        /* legacy rule: SELECTOR<blanks>ACTION, ACTION "@host" (UDP) or "@@host" (TCP) */
        act = s + strcspn(s, " \t");
        act += strspn(act, " \t");
        if (act[0] == '@') {
            if ((r = fn(arg, COL_SYSLOG_FORWARD, act[1] == '@' ? "@@" : "@")) < 0)
                return r;
        }
    }
    return r;
}

int col_syslogng_parse(const char *text, size_t len, col_syslog_fn fn, void *arg)
{
    static const char *const drivers[] = {"network", "tcp", "udp", "tcp6", "udp6", "syslog"};
    struct col_lines it = {text, text + len, 0};
    char line[COL_CONF_LINE_MAX], v[1024];
    int r, in_dest = 0, depth = 0;

    while ((r = col_lines_next(&it, line)) == 1) {
        const char *s = line;

        line[strcspn(line, "#")] = '\0';
        s += strspn(s, " \t");
        if (strncmp(s, "@include", 8) == 0) {
            const char *q = strchr(s, '"');
            size_t l;

            if (q == NULL)
                continue;
            l = strcspn(q + 1, "\"");
            snprintf(v, sizeof(v), "%.*s", (int)l, q + 1);
            if ((r = fn(arg, COL_SYSLOG_INCLUDE, v)) < 0)
                return r;
            continue;
        }
        for (const char *p = s; *p != '\0'; p++) {
            if (depth == 0 && strncmp(p, "destination", 11) == 0 &&
                (p == s || !isalnum((unsigned char)p[-1])) && !isalnum((unsigned char)p[11]))
                in_dest = 1;
            if (*p == '{')
                depth++;
            if (*p == '}' && depth > 0 && --depth == 0)
                in_dest = 0;
            if (!in_dest || depth == 0 || !isalpha((unsigned char)*p) ||
                (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '-')))
                continue;
            for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++) {
                size_t dl = strlen(drivers[i]);
                const char *q = p + dl;

                if (strncmp(p, drivers[i], dl) != 0 || isalnum((unsigned char)*q) || *q == '_' ||
                    *q == '-')
                    continue;
                q += strspn(q, " \t");
                if (*q == '(' && (r = fn(arg, COL_SYSLOG_FORWARD, drivers[i])) < 0)
                    return r;
            }
        }
    }
    return r;
}

/* ---- audit.rules ---- */

int col_audit_rules_parse(const char *text, size_t len, struct col_audit_rules *out)
{
    struct col_lines it = {text, text + len, 0};
    char line[COL_CONF_LINE_MAX], w[64];
    int r;

    out->rules = 0;
    out->enabled = -1;
    while ((r = col_lines_next(&it, line)) == 1) {
        const char *s = line;

        if (!col_word(&s, w, sizeof(w)) || w[0] == '#')
            continue;
        if (strcmp(w, "-a") == 0 || strcmp(w, "-A") == 0 || strcmp(w, "-w") == 0 ||
            strncmp(w, "--append", 8) == 0 || strncmp(w, "--prepend", 9) == 0)
            out->rules++;
        else if (strcmp(w, "-e") == 0 && col_word(&s, w, sizeof(w)) && w[1] == '\0' &&
                 w[0] >= '0' && w[0] <= '2')
            out->enabled = w[0] - '0';
    }
    return r;
}

/* ---- passwd / shadow ---- */

int col_pw_parse(const char *text, size_t len, col_pw_fn fn, void *arg)
{
    struct col_lines it = {text, text + len, 0};
    char line[COL_CONF_LINE_MAX];
    int r;

    while ((r = col_lines_next(&it, line)) == 1) {
        char *pw = strchr(line, ':'), *end;
        enum col_pw_state st;

        if (pw == NULL || pw == line || line[0] == '+' || line[0] == '-' || line[0] == '#')
            continue; /* NIS compat entries and comments name no local account */
        *pw++ = '\0';
        end = strchr(pw, ':');
        if (end == NULL)
            continue;
        if (end == pw)
            st = COL_PW_EMPTY;
        else if (pw[0] == '!' || pw[0] == '*')
            st = COL_PW_LOCKED;
        else if (end - pw == 1 && pw[0] == 'x')
            st = COL_PW_SHADOWED;
        else
            st = COL_PW_HASH;
        if ((r = fn(arg, line, st)) < 0)
            return r;
    }
    return r;
}

/* ---- /proc/PID/maps ---- */

int col_maps_parse(const char *text, size_t len, col_maps_fn fn, void *arg)
{
    static const char deleted[] = " (deleted)";
    struct col_lines it = {text, text + len, 0};
    char line[COL_CONF_LINE_MAX], perms[16], skip[64];
    int r;

    while ((r = col_lines_next(&it, line)) == 1) {
        const char *s = line;
        char *path;
        size_t n;
        int i, del;

        /* address perms offset dev inode path */
        if (!col_word(&s, skip, sizeof(skip)) || !col_word(&s, perms, sizeof(perms)) ||
            strlen(perms) < 3 || perms[2] != 'x')
            continue;
        for (i = 0; i < 3; i++) {
            if (!col_word(&s, skip, sizeof(skip)))
                break;
        }
        if (i < 3 || strcmp(skip, "0") == 0)
            continue;
        s += strspn(s, " \t");
        if (*s != '/')
            continue;
        path = line + (s - line); /* s points into line, our own copy */
        n = strlen(path);
        del = n > sizeof(deleted) - 1 && strcmp(path + n - (sizeof(deleted) - 1), deleted) == 0;
        if (del)
            path[n - (sizeof(deleted) - 1)] = '\0';
        if ((r = fn(arg, path, del)) < 0)
            return r;
    }
    return r;
}

/* ---- reboot-required.pkgs ---- */

int col_pkgs_parse(const char *text, size_t len, col_name_fn fn, void *arg)
{
    struct col_lines it = {text, text + len, 0};
    char line[COL_CONF_LINE_MAX];
    int r;

    while ((r = col_lines_next(&it, line)) == 1) {
        col_trim(line);
        if (line[0] != '\0' && (r = fn(arg, line)) < 0)
            return r;
    }
    return r;
}

/* apt preferences (pins): the files of /etc/apt/preferences.d, then /etc/apt/preferences.
 *
 * A stanza is Package, Pin and Pin-Priority (Explanation and # comments are
 * ignored). "Package: *" with a release or origin pin is a generic pin: it
 * sets the priority of every list it matches (the first matching generic pin
 * wins). Any other Package (names, globs, /regex/) makes a specific pin for
 * the packages it names: a version's priority is that of the first specific
 * pin matching it (by version, or by a list holding the version), otherwise
 * the highest priority of its lists. Release pins compare a= (suite), n=
 * (codename), v= (version), o= (origin), l= (label), c= (component) and b=
 * (architecture); a bare value is v=. Values are globs or /regexes/. */
#include "deb.h"

#include <fnmatch.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "err.h"

#define COL_PIN_MAX       4096
#define COL_PIN_MAX_PKGS  64
#define COL_PIN_MAX_CONDS 8

enum col_pin_type { COL_PIN_RELEASE, COL_PIN_ORIGIN, COL_PIN_VERSION };

struct col_pin {
    char *pkgs[COL_PIN_MAX_PKGS];
    size_t n_pkgs;
    int generic;
    enum col_pin_type type;
    char keys[COL_PIN_MAX_CONDS]; /* release: a n v o l c b */
    char *vals[COL_PIN_MAX_CONDS];
    size_t n_conds;
    char *value; /* origin host or version glob */
    int priority;
};

struct col_pins {
    struct col_pin *v;
    size_t n;
};

struct col_pins *col_pins_new(void)
{
    return calloc(1, sizeof(struct col_pins));
}

size_t col_pins_count(const struct col_pins *p)
{
    return p != NULL ? p->n : 0;
}

static void col_pin_clear(struct col_pin *pin)
{
    size_t i;

    for (i = 0; i < pin->n_pkgs; i++)
        free(pin->pkgs[i]);
    for (i = 0; i < pin->n_conds; i++)
        free(pin->vals[i]);
    free(pin->value);
    memset(pin, 0, sizeof(*pin));
}

void col_pins_free(struct col_pins *p)
{
    size_t i;

    if (p == NULL)
        return;
    for (i = 0; i < p->n; i++)
        col_pin_clear(&p->v[i]);
    free(p->v);
    free(p);
}

/* A glob, or a /regex/ (POSIX extended), against s. */
static int col_expr_match(const char *expr, const char *s)
{
    size_t n = strlen(expr);

    if (n >= 2 && expr[0] == '/' && expr[n - 1] == '/') {
        char re_text[COL_DEB_MAX_FIELD];
        regex_t re;
        int m;

        if (n - 2 >= sizeof(re_text))
            return 0;
        memcpy(re_text, expr + 1, n - 2);
        re_text[n - 2] = '\0';
        if (regcomp(&re, re_text, REG_EXTENDED | REG_NOSUB) != 0)
            return 0;
        m = regexec(&re, s, 0, NULL, 0) == 0;
        regfree(&re);
        return m;
    }
    return fnmatch(expr, s, 0) == 0;
}

static char *col_dup_span(const char *p, size_t n)
{
    char *s;

    if (n == 0 || n >= COL_DEB_MAX_FIELD || memchr(p, '\0', n) != NULL)
        return NULL;
    s = malloc(n + 1);
    if (s != NULL) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

static int col_pin_packages(struct col_pin *pin, const struct col_span *v)
{
    const char *p = v->p, *end = v->p + v->n;

    while (p < end) {
        const char *w;

        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        w = p;
        while (p < end && *p != ' ' && *p != '\t')
            p++;
        if (p == w)
            break;
        if (pin->n_pkgs == COL_PIN_MAX_PKGS)
            return DA_ERR_COLLECT_PARSE;
        pin->pkgs[pin->n_pkgs] = col_dup_span(w, (size_t)(p - w));
        if (pin->pkgs[pin->n_pkgs] == NULL)
            return DA_ERR_COLLECT_PARSE;
        pin->n_pkgs++;
    }
    if (pin->n_pkgs == 0)
        return DA_ERR_COLLECT_PARSE;
    pin->generic = pin->n_pkgs == 1 && strcmp(pin->pkgs[0], "*") == 0;
    return 0;
}

/* "release a=x, n=y" conditions; a bare value is v=. */
static int col_pin_release(struct col_pin *pin, const char *p, const char *end)
{
    while (p < end) {
        const char *c = memchr(p, ',', (size_t)(end - p)), *ce = c != NULL ? c : end, *eq;
        const char *k, *vs, *ve;

        while (p < ce && *p == ' ')
            p++;
        if (p == ce)
            return DA_ERR_COLLECT_PARSE;
        eq = memchr(p, '=', (size_t)(ce - p));
        if (eq != NULL && (eq - p != 1 || strchr("anvolcb", *p) == NULL))
            return DA_ERR_COLLECT_PARSE;
        k = eq != NULL ? p : "v";
        vs = eq != NULL ? eq + 1 : p;
        ve = ce;
        while (ve > vs && ve[-1] == ' ')
            ve--;
        if (ve > vs + 1 && *vs == '"' && ve[-1] == '"') {
            vs++;
            ve--;
        }
        if (pin->n_conds == COL_PIN_MAX_CONDS)
            return DA_ERR_COLLECT_PARSE;
        pin->keys[pin->n_conds] = *k;
        pin->vals[pin->n_conds] = col_dup_span(vs, (size_t)(ve - vs));
        if (pin->vals[pin->n_conds] == NULL)
            return DA_ERR_COLLECT_PARSE;
        pin->n_conds++;
        p = c != NULL ? c + 1 : end;
    }
    return pin->n_conds > 0 ? 0 : DA_ERR_COLLECT_PARSE;
}

static int col_pin_spec(struct col_pin *pin, const struct col_span *v)
{
    const char *p = v->p, *end = v->p + v->n, *sp = memchr(p, ' ', v->n);
    size_t kl = sp != NULL ? (size_t)(sp - p) : v->n;
    const char *arg = sp != NULL ? sp + 1 : end;

    while (arg < end && *arg == ' ')
        arg++;
    if (kl == 7 && memcmp(p, "release", 7) == 0) {
        pin->type = COL_PIN_RELEASE;
        return col_pin_release(pin, arg, end);
    }
    if (kl == 6 && memcmp(p, "origin", 6) == 0) {
        pin->type = COL_PIN_ORIGIN;
        if (end - arg == 2 && arg[0] == '"' && arg[1] == '"')
            pin->value = strdup(""); /* local repositories */
        else
            pin->value = col_dup_span(arg, (size_t)(end - arg));
        return pin->value != NULL ? 0 : DA_ERR_COLLECT_PARSE;
    }
    if (kl == 7 && memcmp(p, "version", 7) == 0) {
        pin->type = COL_PIN_VERSION;
        pin->value = col_dup_span(arg, (size_t)(end - arg));
        return pin->value != NULL && !pin->generic ? 0 : DA_ERR_COLLECT_PARSE;
    }
    return DA_ERR_COLLECT_PARSE;
}

static int col_pin_priority(const struct col_span *v, int *out)
{
    long x = 0;
    size_t i = 0;
    int neg = 0;

    if (v->p == NULL || v->n == 0 || v->n > 7)
        return DA_ERR_COLLECT_PARSE;
    if (v->p[0] == '-' || v->p[0] == '+') {
        neg = v->p[0] == '-';
        i = 1;
    }
    if (i == v->n)
        return DA_ERR_COLLECT_PARSE;
    for (; i < v->n; i++) {
        if (v->p[i] < '0' || v->p[i] > '9')
            return DA_ERR_COLLECT_PARSE;
        x = x * 10 + (v->p[i] - '0');
    }
    *out = (int)(neg ? -x : x);
    return *out != 0 ? 0 : DA_ERR_COLLECT_PARSE; /* apt refuses priority 0 */
}

static int col_pins_stanza(const char *p, size_t n, void *arg)
{
    static const char *const names[] = {"Package", "Pin", "Pin-Priority"};
    struct col_pins *pins = arg;
    struct col_span v[3];
    struct col_pin pin, *nv;
    int r;

    memset(&pin, 0, sizeof(pin));
    r = col_deb822_get(p, n, names, 3, v);
    if (r < 0)
        return r;
    if (v[0].p == NULL && v[1].p == NULL && v[2].p == NULL)
        return 0; /* only an Explanation */
    if (v[0].p == NULL || v[1].p == NULL || pins->n >= COL_PIN_MAX)
        return DA_ERR_COLLECT_PARSE;
    r = col_pin_packages(&pin, &v[0]);
    if (r == 0)
        r = col_pin_spec(&pin, &v[1]);
    if (r == 0)
        r = col_pin_priority(&v[2], &pin.priority);
    if (r == 0 && (nv = realloc(pins->v, (pins->n + 1) * sizeof(*nv))) == NULL)
        r = DA_ERR_NOMEM;
    if (r < 0) {
        col_pin_clear(&pin);
        return r;
    }
    pins->v = nv;
    pins->v[pins->n++] = pin;
    return 0;
}

int col_pins_parse(struct col_pins *pins, const char *text, size_t n)
{
    char *clean;
    size_t o = 0;
    const char *p = text, *end = text + n;
    int r;

    if (n > DA_MAX_CONFIG * 16 || memchr(text, '\0', n) != NULL)
        return DA_ERR_COLLECT_PARSE;
    clean = malloc(n + 1);
    if (clean == NULL)
        return DA_ERR_NOMEM;
    while (p < end) { /* drop comment lines */
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl != NULL ? nl + 1 : end) - p);

        if (*p != '#') {
            memcpy(clean + o, p, len);
            o += len;
        }
        p += len;
    }
    clean[o] = '\0';
    r = col_deb822_each(clean, o, col_pins_stanza, pins);
    free(clean);
    return r;
}

static int col_pin_names(const struct col_pin *pin, const char *pkg)
{
    size_t i;

    for (i = 0; i < pin->n_pkgs; i++)
        if (col_expr_match(pin->pkgs[i], pkg))
            return 1;
    return 0;
}

/* Does a release/origin pin match the list m? */
static int col_pin_matches_list(const struct col_pin *pin, const struct col_list_match *m)
{
    size_t i;

    if (m == NULL)
        return 0;
    if (pin->type == COL_PIN_ORIGIN)
        return col_expr_match(pin->value, m->host != NULL ? m->host : "");
    if (pin->type != COL_PIN_RELEASE)
        return 0;
    for (i = 0; i < pin->n_conds; i++) {
        const char *have = "";

        switch (pin->keys[i]) {
        case 'a':
            have = m->rel != NULL ? m->rel->suite : "";
            break;
        case 'n':
            have = m->rel != NULL ? m->rel->codename : "";
            break;
        case 'v':
            have = m->rel != NULL ? m->rel->version : "";
            break;
        case 'o':
            have = m->rel != NULL ? m->rel->origin : "";
            break;
        case 'l':
            have = m->rel != NULL ? m->rel->label : "";
            break;
        case 'c':
            have = m->component != NULL ? m->component : "";
            break;
        case 'b':
            have = m->arch != NULL ? m->arch : "";
            break;
        default:
            return 0;
        }
        if (!col_expr_match(pin->vals[i], have))
            return 0;
    }
    return 1;
}

int col_pins_list_priority(const struct col_pins *pins, const struct col_list_match *m,
                           int default_priority)
{
    size_t i;

    for (i = 0; pins != NULL && i < pins->n; i++)
        if (pins->v[i].generic && col_pin_matches_list(&pins->v[i], m))
            return pins->v[i].priority;
    return default_priority;
}

int col_pins_version_pin(const struct col_pins *pins, const char *pkg, const char *version,
                         const struct col_list_match *m, int *priority)
{
    size_t i;

    for (i = 0; pins != NULL && i < pins->n; i++) {
        const struct col_pin *pin = &pins->v[i];
        int hit;

        if (pin->generic || !col_pin_names(pin, pkg))
            continue;
        hit = pin->type == COL_PIN_VERSION ? col_expr_match(pin->value, version)
                                           : col_pin_matches_list(pin, m);
        if (hit) {
            *priority = pin->priority;
            return (int)i;
        }
    }
    return -1;
}

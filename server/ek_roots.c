#include "ek_roots.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"
#include "caps.h"
#include "err.h"
#include "file.h"
#include "log.h"

static int ca_add(struct srv_ek_roots *r, const char *file, X509 *x, time_t now)
{
    struct srv_ek_ca *c, *grown;
    struct tm tm;
    BIO *b;
    long n;
    char *text = NULL;

    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
        return DA_ERR_EK_ROOTS;
    grown = realloc(r->cas, (r->n + 1) * sizeof(*r->cas));
    if (grown == NULL)
        return DA_ERR_NOMEM;
    r->cas = grown;
    c = &r->cas[r->n++];
    memset(c, 0, sizeof(*c));
    snprintf(c->file, sizeof(c->file), "%s", file);
    c->not_after = timegm(&tm);
    c->expired = c->not_after < now;
    c->expiring = !c->expired && c->not_after < now + (time_t)SRV_EK_ROOTS_WARN_DAYS * 86400;
    b = BIO_new(BIO_s_mem());
    if (b == NULL || X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
                                        XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
        BIO_free(b);
        return DA_ERR_NOMEM;
    }
    n = BIO_get_mem_data(b, &text);
    snprintf(c->subject, sizeof(c->subject), "%.*s", (int)(n > 0 ? n : 0), text);
    BIO_free(b);
    return 0;
}

/* One PEM file: every certificate becomes an anchor and is listed. */
static int load_file(struct srv_ek_roots *r, const char *path, const char *name, time_t now)
{
    struct da_buf text;
    BIO *bio = NULL;
    X509 *x;
    int rc, count = 0;

    rc = da_file_read(path, DA_MAX_EK_CERT_FILE, &text);
    if (rc == 0 && r->trust == NULL)
        rc = da_ek_trust_new(&r->trust);
    if (rc == 0)
        rc = da_ek_trust_add_root(r->trust, da_buf_data(&text), da_buf_len(&text));
    if (rc == 0) {
        bio = BIO_new_mem_buf(da_buf_data(&text), (int)da_buf_len(&text));
        rc = bio != NULL ? 0 : DA_ERR_NOMEM;
    }
    while (rc == 0 && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        rc = ca_add(r, name, x, now);
        X509_free(x);
        count++;
    }
    ERR_clear_error();
    BIO_free(bio);
    da_buf_free(&text);
    if (rc == 0 && count == 0)
        rc = DA_ERR_CONFIG;
    if (rc != 0)
        da_error_f("EK roots: %s: %s", path, da_strerror(rc));
    return rc == DA_ERR_NOMEM ? rc : rc != 0 ? DA_ERR_EK_ROOTS : 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool pem_name(const char *n)
{
    size_t len = strlen(n);

    return n[0] != '.' && len > 4 && strcmp(n + len - 4, ".pem") == 0;
}

static int load_dir(struct srv_ek_roots *r, const char *dir, time_t now)
{
    char *names[SRV_EK_ROOTS_MAX_FILES], path[4096];
    struct dirent *de;
    size_t n = 0, i;
    DIR *d = opendir(dir);
    int rc = 0;

    if (d == NULL)
        return DA_ERR_EK_ROOTS;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (!pem_name(de->d_name))
            continue;
        if (n == SRV_EK_ROOTS_MAX_FILES)
            rc = DA_ERR_TOO_LARGE;
        else if ((names[n] = strdup(de->d_name)) == NULL)
            rc = DA_ERR_NOMEM;
        else
            n++;
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), name_cmp);
    for (i = 0; i < n; i++) {
        if (rc == 0 && (size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= sizeof(path))
            rc = DA_ERR_EK_ROOTS;
        if (rc == 0)
            rc = load_file(r, path, names[i], now);
        free(names[i]);
    }
    return rc;
}

int srv_ek_roots_load(const char *const *paths, size_t npaths, time_t now, struct srv_ek_roots *out)
{
    struct stat st;
    size_t i;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    for (i = 0; i < npaths && rc == 0; i++) {
        const char *p = paths[i], *slash;

        if (p == NULL || p[0] == '\0')
            continue;
        if (stat(p, &st) != 0) {
            da_info_f("EK roots: %s: not present, skipped", p);
            continue;
        }
        slash = strrchr(p, '/');
        rc = S_ISDIR(st.st_mode) ? load_dir(out, p, now)
                                 : load_file(out, p, slash != NULL ? slash + 1 : p, now);
    }
    if (rc != 0)
        srv_ek_roots_clear(out, 1);
    return rc;
}

void srv_ek_roots_log(const struct srv_ek_roots *r)
{
    size_t i, expired = 0;
    char when[32];

    for (i = 0; i < r->n; i++) {
        const struct srv_ek_ca *c = &r->cas[i];
        struct tm tm;

        if (!c->expired && !c->expiring)
            continue;
        expired += c->expired != 0;
        if (gmtime_r(&c->not_after, &tm) == NULL)
            continue;
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        da_warn_f("EK CA certificate %s: subject \"%s\", notAfter %s (%s)",
                  c->expired ? "expired" : "expires soon", c->subject, when, c->file);
    }
    da_info_f("EK roots: %zu certificate(s) trusted, %zu expired", r->n, expired);
}

void srv_ek_roots_clear(struct srv_ek_roots *r, int free_trust)
{
    if (free_trust)
        da_ek_trust_free(r->trust);
    r->trust = NULL;
    free(r->cas);
    r->cas = NULL;
    r->n = 0;
}

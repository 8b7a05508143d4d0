#include "admin_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "listing.h"
#include "render.h"
#include "server.h"
#include "store.h"
#include "token.h"

static int fail(const char *what, int rc)
{
    fprintf(stderr, "devattest-server: %s: %s: %s\n", what, da_err_code(rc), da_strerror(rc));
    return 1;
}

static void put_time(FILE *f, int64_t t)
{
    char ts[32];

    if (t == 0) {
        fputs("\t-", f);
        return;
    }
    srv_time_rfc3339(t, ts);
    fprintf(f, "\t%s", ts);
}

static int print_token(const struct srv_api_token *t, void *arg)
{
    int64_t now = *(const int64_t *)arg;
    const char *state = t->revoked_at != 0                           ? "revoked"
                        : t->expires_at != 0 && t->expires_at <= now ? "expired"
                                                                     : "active";

    printf("%s\t%s\t%s\t%s\t%s", t->id, srv_role_name(t->role), t->vendor[0] ? t->vendor : "-",
           state, t->label[0] ? t->label : "-");
    put_time(stdout, t->created_at);
    put_time(stdout, t->expires_at);
    put_time(stdout, t->last_used_at);
    put_time(stdout, t->revoked_at);
    putchar('\n');
    return 0;
}

/* --at RFC3339 or --in DURATION; neither: now. */
static int expiry_of(const char *at, const char *in, int64_t *out)
{
    long secs = 0;
    int rc;

    *out = srv_now();
    if (at != NULL && in != NULL)
        return DA_ERR_INVALID_ARG;
    if (at != NULL) {
        rc = srv_time_parse_rfc3339(at, out);
        return rc == 0 && *out <= 0 ? DA_ERR_TIME_FORMAT : rc;
    }
    if (in != NULL) {
        rc = srv_duration_parse(in, &secs);
        if (rc != 0)
            return rc;
        *out += secs;
    }
    return 0;
}

int srv_cli_token_admin(const struct srv_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {{"at", required_argument, NULL, 'a'},
                                         {"in", required_argument, NULL, 'i'},
                                         {NULL, 0, NULL, 0}};
    const char *cmd = argv[0], *at = NULL, *in = NULL, *id = NULL;
    struct srv_store *store = NULL;
    struct srv_api_token t;
    int64_t now = srv_now(), when = 0;
    int c, rc;

    optind = 0; /* a full restart: options may follow the id */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'a' && strcmp(cmd, "expire") == 0)
            at = optarg;
        else if (c == 'i' && strcmp(cmd, "expire") == 0)
            in = optarg;
        else
            return 2;
    }
    if (strcmp(cmd, "list") == 0) {
        if (optind != argc)
            return 2;
    } else if (optind + 1 != argc) {
        return 2;
    } else {
        id = argv[optind];
    }
    if (strcmp(cmd, "expire") == 0) {
        rc = expiry_of(at, in, &when);
        if (rc != 0)
            return fail("token expire", rc);
    }
    rc = srv_store_open(srv_config_store(cfg), 1, cfg->stale_after_s, &store);
    if (rc != 0)
        return fail("token", rc);
    if (strcmp(cmd, "list") == 0) {
        printf("id\trole\tvendor\tstate\tlabel\tcreated\texpires\tlast_used\trevoked\n");
        rc = srv_store_api_tokens_list(store, print_token, &now);
    } else if (strcmp(cmd, "revoke") == 0) {
        rc = srv_store_api_token_revoke(store, id, now, &t);
        if (rc == 0)
            rc =
                srv_store_audit(store, "cli", "api_token_revoked", id, "ok", srv_role_name(t.role));
    } else if (strcmp(cmd, "expire") == 0) {
        rc = srv_store_api_token_expire(store, id, when, &t);
        if (rc == 0)
            rc = srv_store_audit(store, "cli", "api_token_expiry_set", id, "ok",
                                 srv_role_name(t.role));
    } else {
        rc = 2;
    }
    srv_store_close(store);
    if (rc == 2)
        return 2;
    if (rc != 0)
        return fail(cmd, rc);
    if (id != NULL)
        print_token(&t, &now);
    return 0;
}

static int print_vendor(const struct srv_vendor *v, void *arg)
{
    char ts[32];

    (void)arg;
    srv_time_rfc3339(v->created_at, ts);
    printf("%s\t%s\n", v->name, ts);
    return 0;
}

int srv_cli_vendor(const struct srv_config *cfg, int argc, char **argv)
{
    struct srv_store *store = NULL;
    const char *cmd = argc > 1 ? argv[1] : "";
    int64_t id = 0;
    int rc;

    if (!((strcmp(cmd, "create") == 0 && argc == 3) || (strcmp(cmd, "list") == 0 && argc == 2) ||
          (strcmp(cmd, "rename") == 0 && argc == 4)))
        return 2;
    /* checked before the database is opened: a bad name changes nothing */
    if (strcmp(cmd, "create") == 0 && !srv_vendor_name_valid(argv[2]))
        return fail("vendor create", DA_ERR_VENDOR_NAME);
    if (strcmp(cmd, "rename") == 0 && !srv_vendor_name_valid(argv[3]))
        return fail("vendor rename", DA_ERR_VENDOR_NAME);
    rc = srv_store_open(srv_config_store(cfg), 1, cfg->stale_after_s, &store);
    if (rc != 0)
        return fail("vendor", rc);
    if (strcmp(cmd, "list") == 0) {
        rc = srv_store_vendors_list(store, print_vendor, NULL);
    } else if (strcmp(cmd, "create") == 0) {
        rc = srv_store_vendor_create(store, argv[2], &id);
        if (rc == 0)
            rc = srv_store_audit(store, "cli", "vendor_created", argv[2], "ok", "");
    } else {
        rc = srv_store_vendor_rename(store, argv[2], argv[3]);
        if (rc == 0)
            rc = srv_store_audit(store, "cli", "vendor_renamed", argv[3], "ok", argv[2]);
    }
    srv_store_close(store);
    if (rc != 0) {
        char what[32];

        snprintf(what, sizeof(what), "vendor %s", cmd);
        return fail(what, rc);
    }
    if (strcmp(cmd, "create") == 0)
        printf("%s\n", argv[2]);
    return 0;
}

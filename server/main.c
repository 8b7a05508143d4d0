/* devattest-server: a dispatcher over one table of commands (init, token,
 * vendor, enrollment, cert, receipt-key, boot-pin, serve).
 *
 * Exit codes: 0 success, 1 failure (logged), 2 usage error. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "access_log.h"
#include "admin_cli.h"
#include "boot_pins.h"
#include "config.h"
#include "err.h"
#include "evidence_pack.h"
#include "http.h"
#include "log.h"
#include "pki.h"
#include "policy_state.h"
#include "receipt_keys.h"
#include "render.h"
#include "server.h"
#include "store.h"
#include "token.h"

#define DEFAULT_CONFIG    "/etc/devattest/server.conf"
#define MAX_NAMES         16
#define SHUTDOWN_GRACE_MS 30000

struct srv_command {
    const char *name;
    const char *summary;
    const char *usage;
    int (*run)(const struct srv_config *cfg, int argc, char **argv);
};

static const char init_usage[] =
    "usage: devattest-server [-c CONFIG] [--state-dir DIR] init --name NAME [--name NAME]...\n"
    "Create the private CA, the server's TLS certificate (its subjectAltName\n"
    "lists every --name: DNS names or IP addresses), the receipt key and the\n"
    "nonce secret in the state directory; print the CA certificate.\n";
static const char token_usage[] =
    "usage: devattest-server [-c CONFIG] token create --role admin|auditor [--label TEXT]\n"
    "                        [--expires-in DURATION]\n"
    "       devattest-server [-c CONFIG] token create --role vendor --vendor NAME [--label TEXT]\n"
    "                        [--expires-in DURATION]\n"
    "       devattest-server [-c CONFIG] token create --vendor NAME --ttl 24h\n"
    "       devattest-server [-c CONFIG] token list | revoke ID | expire ID [--at RFC3339 |\n"
    "                        --in DURATION]\n"
    "Create, list, revoke or expire API bearer tokens; with --ttl, print a\n"
    "one-time enrollment token (the vendor must exist).\n";
static const char vendor_usage[] =
    "usage: devattest-server [-c CONFIG] vendor create NAME | list | rename NAME NEW-NAME\n"
    "Create, list or rename vendors.\n";
static const char enrollment_usage[] =
    "usage: devattest-server [-c CONFIG] enrollment list [--state pending|approved|rejected]\n"
    "       devattest-server [-c CONFIG] enrollment approve|reject ID [--reason TEXT]\n"
    "List enrollments of TPMs without an EK certificate, or approve or reject\n"
    "one. Compare the EK public key SHA-256 with the one the agent printed\n"
    "before approving. Exit codes: 0 done, 1 failed, 2 usage error.\n";
static const char cert_usage[] =
    "usage: devattest-server [-c CONFIG] cert renew [--name NAME]... [--days N]\n"
    "Replace the server's TLS key and certificate (tls_key, tls_cert) with a\n"
    "new key and a certificate from the server's CA, valid N days (default\n"
    "825, at most 825), for the --name values or, without any, the names of\n"
    "the certificate in place. Agents keep working: they pin the CA. The\n"
    "running server serves the new certificate after its next restart.\n";
static const char boot_pin_usage[] =
    "usage: devattest-server [-c CONFIG] boot-pin add --vendor NAME --digest sha256:HEX\n"
    "                        --what shim|bootloader|kernel|uki|driver|other\n"
    "       devattest-server [-c CONFIG] boot-pin list [--vendor NAME]\n"
    "       devattest-server [-c CONFIG] boot-pin remove --vendor NAME --digest sha256:HEX\n"
    "Pin, list or remove a vendor's boot components (docs/evidence.md).\n";
static const char receipt_key_usage[] =
    "usage: devattest-server [-c CONFIG] [--state-dir DIR] receipt-key rotate\n"
    "Retire the receipt key (it stays listed by GET /v1/keys with the period\n"
    "it signed) and make a new one; print its id. A running server signs with\n"
    "the new key after its next restart.\n";
static const char export_usage[] =
    "usage: devattest-server [-c CONFIG] export --vendor NAME [--from T] [--to T]\n"
    "       [--format pack|oscal] -o FILE\n"
    "Write the vendor's evidence pack (reports received from --from up to, not\n"
    "including, --to; T is YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ; by default the\n"
    "last 30 days) to FILE; check it with devattest-verify pack. With --format\n"
    "oscal, write the same conclusions as OSCAL 1.1 assessment results (JSON).\n";
static const char serve_usage[] =
    "usage: devattest-server [-c CONFIG] [--state-dir DIR] serve [--port-file FILE]\n"
    "Run the HTTPS API until SIGTERM or SIGINT. --port-file receives the\n"
    "bound port once the server listens. SIGHUP reopens the access log.\n";

static const struct srv_command *command_find(const char *name);
static void usage(FILE *f);

/* Wrong arguments for a command: its usage, exit code 2. */
static int command_usage_error(const char *name)
{
    const struct srv_command *c = command_find(name);

    if (c != NULL)
        fputs(c->usage, stderr);
    else
        usage(stderr);
    return 2;
}

static int load_config(const char *path, bool explicit_path, const char *state_dir,
                       struct srv_config *cfg)
{
    int rc;

    srv_config_defaults(cfg);
    if (explicit_path || access(path, F_OK) == 0) {
        struct da_kvconf_error err;
        char msg[DA_KVCONF_MAX_REASON + 300];

        memset(&err, 0, sizeof(err));
        rc = srv_config_load(cfg, path, &err);
        if (rc != 0) {
            da_kvconf_error_format(&err, msg, sizeof(msg));
            fprintf(stderr, "devattest-server: %s\n",
                    err.reason[0] != '\0' ? msg : da_strerror(rc));
            return rc;
        }
    }
    if (state_dir != NULL) {
        if (strlen(state_dir) >= sizeof(cfg->state_dir))
            return DA_ERR_CONFIG;
        memcpy(cfg->state_dir, state_dir, strlen(state_dir) + 1);
    }
    da_log_set_level(cfg->log_level);
    return srv_config_finish(cfg);
}

static int cmd_init(const struct srv_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    const char *names[MAX_NAMES];
    size_t n = 0;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 'n' || n == MAX_NAMES)
            return command_usage_error("init");
        names[n++] = optarg;
    }
    if (n == 0 || optind != argc)
        return command_usage_error("init");
    rc = srv_pki_init(cfg->state_dir, names, n, stdout);
    if (rc != 0) {
        fprintf(stderr, "devattest-server: init %s: %s\n", cfg->state_dir, da_strerror(rc));
        return 1;
    }
    return 0;
}

static int cmd_token(const struct srv_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"role", required_argument, NULL, 'r'},       {"vendor", required_argument, NULL, 'v'},
        {"ttl", required_argument, NULL, 't'},        {"label", required_argument, NULL, 'l'},
        {"expires-in", required_argument, NULL, 'e'}, {NULL, 0, NULL, 0}};
    const char *role_s = NULL, *vendor = NULL, *ttl_s = NULL, *label = "", *exp_s = NULL;
    unsigned char hash[SRV_HASH_LEN];
    char token[SRV_TOKEN_SIZE];
    struct srv_store *store = NULL;
    enum srv_role role = SRV_ROLE_NONE;
    long ttl = 0, exp = 0;
    int c, rc;

    optind = 1;
    if (argc >= 2 && strcmp(argv[1], "create") != 0) {
        rc = srv_cli_token_admin(cfg, argc - 1, argv + 1);
        return rc == 2 ? command_usage_error("token") : rc;
    }
    if (argc < 2)
        return command_usage_error("token");
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'r')
            role_s = optarg;
        else if (c == 'v')
            vendor = optarg;
        else if (c == 't')
            ttl_s = optarg;
        else if (c == 'l')
            label = optarg;
        else if (c == 'e')
            exp_s = optarg;
        else
            return command_usage_error("token");
    }
    if (optind != argc || (role_s == NULL) == (ttl_s == NULL) ||
        (role_s != NULL && srv_role_parse(role_s, &role) != 0) ||
        (ttl_s != NULL && (vendor == NULL || srv_duration_parse(ttl_s, &ttl) != 0)) ||
        (role_s != NULL && (role == SRV_ROLE_VENDOR) != (vendor != NULL)) ||
        (exp_s != NULL && (role_s == NULL || srv_duration_parse(exp_s, &exp) != 0)))
        return command_usage_error("token");
    rc = srv_token_new(role_s != NULL ? "dat_" : "det_", token, hash);
    if (rc == 0)
        rc = srv_store_open(srv_config_store(cfg), 1, cfg->stale_after_s, &store);
    if (rc == 0 && role_s != NULL)
        rc = srv_store_api_token_add(store, hash, role, vendor, label,
                                     exp != 0 ? srv_now() + exp : 0);
    if (rc == 0 && ttl_s != NULL)
        rc = srv_store_enroll_token_put(store, hash, vendor, srv_now() + ttl);
    if (rc == 0)
        rc = srv_store_audit(store, "cli",
                             role_s != NULL ? "api_token_created" : "enroll_token_created",
                             vendor != NULL ? vendor : srv_role_name(role), "ok", label);
    srv_store_close(store);
    if (rc == 0)
        printf("%s\n", token);
    else
        fprintf(stderr, "devattest-server: token create: %s: %s\n", da_err_code(rc),
                da_strerror(rc));
    OPENSSL_cleanse(token, sizeof(token));
    return rc == 0 ? 0 : 1;
}

static int cmd_receipt_key(const struct srv_config *cfg, int argc, char **argv)
{
    int rc;

    if (argc != 2 || strcmp(argv[1], "rotate") != 0)
        return command_usage_error("receipt-key");
    rc = srv_receipt_key_rotate(cfg->state_dir, srv_now(), stdout);
    if (rc != 0)
        fprintf(stderr, "devattest-server: receipt-key rotate %s: %s\n", cfg->state_dir,
                da_strerror(rc));
    return rc == 0 ? 0 : 1;
}

static int write_port_file(const char *path, unsigned port)
{
    char tmp[4096];
    FILE *f;
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);

    if (n < 0 || (size_t)n >= sizeof(tmp) || (f = fopen(tmp, "w")) == NULL)
        return DA_ERR_IO;
    fprintf(f, "%u\n", port);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return DA_ERR_IO;
    return 0;
}

static int stale_event(const char *agent_id, void *arg)
{
    srv_webhook_emit(arg, NULL, SRV_EVENT_STALE, agent_id, NULL);
    return 0;
}

#define RECLAIM_PAGES     2048 /* pages per step: 8 MiB of 4 KiB pages, one short write */
#define RECLAIM_MAX_STEPS 256  /* per pass (2 GiB); the rest at the next */

/* Free pages that deletions left in the database file go back to the file
 * system in bounded steps, each its own write, so reports keep flowing
 * between them. */
static void reclaim(struct srv_ctx *ctx)
{
    int64_t left = 1;
    int i;

    for (i = 0; left > 0 && i < RECLAIM_MAX_STEPS; i++) {
        if (srv_store_reclaim(ctx->store, RECLAIM_PAGES, &left) != 0) {
            da_error_f("store: free space not reclaimed");
            return;
        }
    }
    if (i > 1)
        da_info_f("store: free space reclaimed in %d step(s), %lld free page(s) left", i,
                  (long long)left);
}

/* Agents about to be marked stale get their event, then the mark. */
static void sweep(struct srv_ctx *ctx)
{
    int64_t now = srv_now();
    int changed = 0;
    bool held = false;

    /* with several instances on one database, one of them sweeps */
    if (srv_store_lease(ctx->store, SRV_LEASE_SWEEP, &held) != 0 || !held)
        return;
    if (srv_store_sweep_stale_ids(ctx->store, now, stale_event, ctx) != 0)
        da_error_f("staleness sweep: agents not listed");
    if (srv_store_sweep_stale(ctx->store, now, &changed) == 0 && changed > 0)
        da_info_f("staleness sweep: %d agent(s) became stale", changed);
    reclaim(ctx);
}

#define RETENTION_MAX_BATCHES 100 /* per run; the rest waits for the next */

/* Old evidence out, in bounded batches (each its own transaction, so
 * reports keep flowing between them). */
static void retention_sweep(struct srv_ctx *ctx)
{
    int64_t now = srv_now(), cutoff = now - (int64_t)ctx->cfg.evidence_retention_s;
    int total = 0, pruned = 0, i;
    bool more = true, held = false;

    /* with several instances on one database, one of them prunes */
    if (srv_store_lease(ctx->store, SRV_LEASE_RETENTION, &held) != 0 || !held)
        return;
    for (i = 0; more && i < RETENTION_MAX_BATCHES; i++) {
        if (srv_store_retention_sweep(ctx->store, cutoff, now, ctx->cfg.retention_batch, &pruned,
                                      &more) != 0) {
            da_error_f("retention sweep: batch failed");
            return;
        }
        total += pruned;
    }
    if (total > 0)
        da_info_f("retention sweep: evidence of %d report(s) removed", total);
    reclaim(ctx);
}

#define POLICY_REFRESH_S 5 /* several instances: a rotation reaches the others within this */

static bool ts_reached(const struct timespec *now, const struct timespec *t)
{
    return now->tv_sec > t->tv_sec || (now->tv_sec == t->tv_sec && now->tv_nsec >= t->tv_nsec);
}

/* Signals are taken synchronously: SIGTERM/SIGINT end the loop, SIGHUP
 * reopens the access log (after logrotate moved it), the staleness sweep
 * runs every sweep_interval and, with evidence_retention set, the retention
 * sweep every retention_interval, each on its own monotonic clock, however
 * many signals arrive in between. On a PostgreSQL store, which other
 * instances may share, the current policy is also looked up every
 * POLICY_REFRESH_S. */
static int serve_loop(struct srv_ctx *ctx, const sigset_t *set)
{
    bool retention = ctx->cfg.evidence_retention_s > 0, shared = ctx->cfg.store[0] != '\0';
    struct timespec now, next, next_ret, next_policy;

    clock_gettime(CLOCK_MONOTONIC, &next);
    next_ret = next_policy = next;
    next.tv_sec += (time_t)ctx->cfg.sweep_interval_s;
    next_ret.tv_sec += (time_t)ctx->cfg.retention_interval_s;
    next_policy.tv_sec += POLICY_REFRESH_S;
    for (;;) {
        struct timespec wait = {0, 0};
        const struct timespec *first;
        bool changed = false;
        int sig;

        clock_gettime(CLOCK_MONOTONIC, &now);
        if (ts_reached(&now, &next)) {
            sweep(ctx);
            next = now;
            next.tv_sec += (time_t)ctx->cfg.sweep_interval_s;
            continue;
        }
        if (retention && ts_reached(&now, &next_ret)) {
            retention_sweep(ctx);
            clock_gettime(CLOCK_MONOTONIC, &next_ret);
            next_ret.tv_sec += (time_t)ctx->cfg.retention_interval_s;
            continue;
        }
        if (shared && ts_reached(&now, &next_policy)) {
            if (srv_policy_refresh(ctx, &changed) != 0)
                da_error_f("policy of the database not readable");
            next_policy = now;
            next_policy.tv_sec += POLICY_REFRESH_S;
            continue;
        }
        first = &next;
        if (retention && !ts_reached(&next_ret, first))
            first = &next_ret;
        if (shared && !ts_reached(&next_policy, first))
            first = &next_policy;
        wait.tv_sec = first->tv_sec - now.tv_sec;
        wait.tv_nsec = first->tv_nsec - now.tv_nsec;
        if (wait.tv_nsec < 0) {
            wait.tv_sec--;
            wait.tv_nsec += 1000000000L;
        }
        sig = sigtimedwait(set, NULL, &wait);
        if (sig == SIGTERM || sig == SIGINT) {
            da_info_f("signal %d: shutting down", sig);
            return 0;
        }
        if (sig == SIGHUP && srv_access_log_reopen(ctx->access_log) == 0)
            da_info_f("SIGHUP: access log reopened");
    }
}

static int cmd_serve(const struct srv_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {{"port-file", required_argument, NULL, 'p'},
                                         {NULL, 0, NULL, 0}};
    const char *port_file = NULL;
    struct srv_ctx *ctx = NULL;
    unsigned port = 0;
    sigset_t set;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 'p')
            return command_usage_error("serve");
        port_file = optarg;
    }
    if (optind != argc)
        return command_usage_error("serve");
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    /* Blocked before any thread starts, so every thread inherits the mask. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    rc = srv_ctx_open(cfg, &ctx);
    if (rc == 0)
        rc = srv_http_start(ctx, &port);
    if (rc == 0 && port_file != NULL)
        rc = write_port_file(port_file, port);
    if (rc == 0)
        rc = serve_loop(ctx, &set);
    if (ctx != NULL)
        srv_http_stop(ctx, SHUTDOWN_GRACE_MS);
    srv_ctx_close(ctx);
    if (rc != 0) {
        fprintf(stderr, "devattest-server: serve: %s\n", da_strerror(rc));
        return 1;
    }
    da_info_f("stopped");
    return 0;
}

/* enrollment list [--state S] | approve ID | reject ID [--reason TEXT] */
static int print_enrollment(const struct srv_enrollment *e, void *ctx)
{
    char created[32];

    (void)ctx;
    srv_time_rfc3339(e->created_at, created);
    printf("%s  %-8s  %-20s  %s  ek-sha256 %s\n", e->id, e->state, e->vendor, created,
           e->ek_sha256);
    return 0;
}

static int cmd_enrollment(const struct srv_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {{"state", required_argument, NULL, 's'},
                                         {"reason", required_argument, NULL, 'r'},
                                         {NULL, 0, NULL, 0}};
    const char *state = NULL, *reason = "", *verb = argc >= 2 ? argv[1] : "";
    bool list = strcmp(verb, "list") == 0;
    bool decide = strcmp(verb, "approve") == 0 || strcmp(verb, "reject") == 0;
    struct srv_store *store = NULL;
    struct srv_enrollment *e = NULL;
    int c, rc;

    if (!list && !decide)
        return command_usage_error("enrollment");
    argc--;
    argv++;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 's' && list)
            state = optarg;
        else if (c == 'r' && decide && strlen(optarg) < 256)
            reason = optarg;
        else
            return command_usage_error("enrollment");
    }
    if ((list && optind != argc) || (decide && optind + 1 != argc) ||
        (state != NULL && strcmp(state, "pending") != 0 && strcmp(state, "approved") != 0 &&
         strcmp(state, "rejected") != 0))
        return command_usage_error("enrollment");
    rc = srv_store_open(srv_config_store(cfg), 1, cfg->stale_after_s, &store);
    if (rc == 0 && list)
        rc = srv_store_enrollments_list(store, state, print_enrollment, NULL);
    if (rc == 0 && decide)
        rc = srv_store_enrollment_decide(
            store, argv[optind], verb[0] == 'a' ? "approved" : "rejected", "cli", srv_now());
    if (rc == 0 && decide)
        rc = srv_store_audit(store, "cli",
                             verb[0] == 'a' ? "enrollment_approved" : "enrollment_rejected",
                             argv[optind], "ok", reason);
    if (rc == 0 && decide)
        rc = srv_store_enrollment_get(store, argv[optind], &e);
    if (rc == 0 && decide)
        printf("%s %s (EK public key SHA-256 %s, vendor %s)\n", e->id, e->state, e->ek_sha256,
               e->vendor);
    srv_enrollment_free(e);
    srv_store_close(store);
    if (rc != 0)
        fprintf(stderr, "devattest-server: enrollment %s: %s (%s)\n", verb, da_strerror(rc),
                da_err_code(rc));
    return rc == 0 ? 0 : 1;
}

/* cert renew [--name NAME]... [--days N] */
static int cmd_cert(const struct srv_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
                                         {"days", required_argument, NULL, 'd'},
                                         {NULL, 0, NULL, 0}};
    const char *names[MAX_NAMES];
    unsigned long days = 825;
    size_t n = 0;
    char *end = NULL;
    int c, rc;

    if (argc < 2 || strcmp(argv[1], "renew") != 0)
        return command_usage_error("cert");
    argc--;
    argv++;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'n' && n < MAX_NAMES) {
            names[n++] = optarg;
        } else if (c == 'd') {
            errno = 0;
            days = strtoul(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || days == 0 || days > 825)
                return command_usage_error("cert");
        } else {
            return command_usage_error("cert");
        }
    }
    if (optind != argc)
        return command_usage_error("cert");
    rc = srv_pki_renew_tls(cfg->state_dir, cfg->tls_cert, cfg->tls_key, names, n, (unsigned)days,
                           stdout);
    if (rc != 0) {
        fprintf(stderr, "devattest-server: cert renew: %s (%s)\n", da_strerror(rc),
                da_err_code(rc));
        return 1;
    }
    fprintf(stderr, "devattest-server: %s renewed; restart the server to serve it\n",
            cfg->tls_cert);
    return 0;
}

static int cmd_vendor(const struct srv_config *cfg, int argc, char **argv)
{
    int rc = srv_cli_vendor(cfg, argc, argv);

    return rc == 2 ? command_usage_error("vendor") : rc;
}

static int cmd_export(const struct srv_config *cfg, int argc, char **argv)
{
    int rc = srv_cli_export(cfg, argc, argv);

    return rc == 2 ? command_usage_error("export") : rc;
}

static const struct srv_command srv_commands[] = {
    {"init", "create the CA, TLS certificate, receipt key and nonce secret", init_usage, cmd_init},
    {"token", "create, list, revoke or expire API tokens; enrollment tokens", token_usage,
     cmd_token},
    {"vendor", "create, list or rename vendors", vendor_usage, cmd_vendor},
    {"enrollment", "list, approve or reject enrollments without an EK certificate",
     enrollment_usage, cmd_enrollment},
    {"cert", "renew the server's TLS certificate", cert_usage, cmd_cert},
    {"boot-pin", "add, list or remove a vendor's pinned boot components", boot_pin_usage,
     srv_cli_boot_pin},
    {"receipt-key", "rotate the receipt signing key", receipt_key_usage, cmd_receipt_key},
    {"export", "write a vendor's evidence pack for auditors", export_usage, cmd_export},
    {"serve", "run the HTTPS API", serve_usage, cmd_serve},
};

#define SRV_NCOMMANDS (sizeof(srv_commands) / sizeof(srv_commands[0]))

static const struct srv_command *command_find(const char *name)
{
    size_t i;

    for (i = 0; i < SRV_NCOMMANDS; i++) {
        if (strcmp(name, srv_commands[i].name) == 0)
            return &srv_commands[i];
    }
    return NULL;
}

static void usage(FILE *f)
{
    size_t i;

    fprintf(f, "usage: devattest-server [-c CONFIG] [--state-dir DIR] COMMAND [OPTIONS]\n"
               "       devattest-server --help | --version\n\ncommands:\n");
    for (i = 0; i < SRV_NCOMMANDS; i++)
        fprintf(f, "  %-12s %s\n", srv_commands[i].name, srv_commands[i].summary);
    fprintf(f, "\nexit codes: 0 success, 1 failure (logged), 2 usage error\n"
               "Run 'devattest-server COMMAND --help' for the options of a command.\n");
}

/* COMMAND --help (or -h) anywhere among the command's arguments. */
static bool wants_help(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    }
    return false;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"state-dir", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};
    const char *config = DEFAULT_CONFIG, *state_dir = NULL;
    const struct srv_command *cmd;
    bool explicit_config = false;
    struct srv_config cfg;
    int c;

    da_log_init("devattest-server", DA_LOG_INFO, DA_LOG_STDERR);
    while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
        if (c == 'c') {
            config = optarg;
            explicit_config = true;
        } else if (c == 's') {
            state_dir = optarg;
        } else if (c == 'V') {
            printf("devattest-server %s\n", DA_VERSION);
            return 0;
        } else {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    argc -= optind;
    argv += optind;
    cmd = command_find(argv[0]);
    if (cmd == NULL) {
        fprintf(stderr, "devattest-server: unknown command '%s'\n", argv[0]);
        usage(stderr);
        return 2;
    }
    if (wants_help(argc, argv)) {
        fputs(cmd->usage, stdout);
        return 0;
    }
    if (load_config(config, explicit_config, state_dir, &cfg) != 0)
        return 1;
    return cmd->run(&cfg, argc, argv);
}

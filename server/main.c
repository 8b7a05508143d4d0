/* devattest-server: init, token create, serve, receipt-key rotate.
 *
 * Exit codes: 0 success, 1 failure (logged), 2 usage error. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "admin_cli.h"
#include "boot_pins.h"
#include "config.h"
#include "err.h"
#include "evidence_pack.h"
#include "http.h"
#include "log.h"
#include "pki.h"
#include "receipt_keys.h"
#include "server.h"
#include "store.h"
#include "token.h"

#define DEFAULT_CONFIG    "/etc/devattest/server.conf"
#define MAX_NAMES         16
#define SHUTDOWN_GRACE_MS 30000

static void usage(FILE *f)
{
    fputs("usage: devattest-server [-c CONFIG] [--state-dir DIR] COMMAND\n"
          "  init --name NAME [--name NAME]...   create CA, server certificate, receipt key,\n"
          "                                      nonce secret; print the CA certificate\n"
          "  token create --role admin|auditor [--label TEXT]\n"
          "  token create --role vendor --vendor NAME [--label TEXT]\n"
          "  token create --vendor NAME --ttl 24h  one-time enrollment token\n"
          "       (API tokens take --expires-in DURATION; a vendor must exist)\n"
          "  token list | revoke ID | expire ID [--at RFC3339 | --in DURATION]\n"
          "  vendor create NAME | list | rename NAME NEW-NAME\n"
          "  serve [--port-file FILE]            run the HTTPS API until SIGTERM\n"
          "  receipt-key rotate                  retire the receipt key, make a new one\n"
          "                                      (restart serve to use it); print its id\n"
          "  boot-pin add --vendor NAME --digest sha256:HEX --what COMPONENT\n"
          "  boot-pin list [--vendor NAME]\n"
          "  boot-pin remove --vendor NAME --digest sha256:HEX\n"
          "  export --vendor NAME [--from T] [--to T] -o FILE  evidence pack (T: YYYY-MM-DD\n"
          "                                      or YYYY-MM-DDTHH:MM:SSZ; default last 30 days)\n",
          f);
}

static int load_config(const char *path, bool explicit_path, const char *state_dir,
                       struct srv_config *cfg)
{
    int rc;

    srv_config_defaults(cfg);
    if (explicit_path || access(path, F_OK) == 0) {
        rc = srv_config_load(cfg, path);
        if (rc != 0) {
            fprintf(stderr, "devattest-server: %s: %s\n", path, da_strerror(rc));
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
        if (c != 'n' || n == MAX_NAMES) {
            usage(stderr);
            return 2;
        }
        names[n++] = optarg;
    }
    if (n == 0 || optind != argc) {
        usage(stderr);
        return 2;
    }
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
        if (rc == 2)
            usage(stderr);
        return rc;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
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
        else {
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || (role_s == NULL) == (ttl_s == NULL) ||
        (role_s != NULL && srv_role_parse(role_s, &role) != 0) ||
        (ttl_s != NULL && (vendor == NULL || srv_duration_parse(ttl_s, &ttl) != 0)) ||
        (role_s != NULL && (role == SRV_ROLE_VENDOR) != (vendor != NULL)) ||
        (exp_s != NULL && (role_s == NULL || srv_duration_parse(exp_s, &exp) != 0))) {
        usage(stderr);
        return 2;
    }
    rc = srv_token_new(role_s != NULL ? "dat_" : "det_", token, hash);
    if (rc == 0)
        rc = srv_store_open(cfg->database, 1, cfg->stale_after_s, &store);
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

    if (argc != 2 || strcmp(argv[1], "rotate") != 0) {
        usage(stderr);
        return 2;
    }
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

/* Agents about to be marked stale get their event, then the mark. */
static void sweep(struct srv_ctx *ctx)
{
    int64_t now = srv_now();
    int changed = 0;

    if (srv_store_sweep_stale_ids(ctx->store, now, stale_event, ctx) != 0)
        da_error_f("staleness sweep: agents not listed");
    if (srv_store_sweep_stale(ctx->store, now, &changed) == 0 && changed > 0)
        da_info_f("staleness sweep: %d agent(s) became stale", changed);
}

/* Signals are taken synchronously: SIGTERM/SIGINT end the loop, the
 * timeout runs the staleness sweep. */
static int serve_loop(struct srv_ctx *ctx, const sigset_t *set)
{
    struct timespec ts = {(time_t)ctx->cfg.sweep_interval_s, 0};

    for (;;) {
        int sig = sigtimedwait(set, NULL, &ts);

        if (sig == SIGTERM || sig == SIGINT) {
            da_info_f("signal %d: shutting down", sig);
            return 0;
        }
        if (sig < 0)
            sweep(ctx);
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
        if (c != 'p') {
            usage(stderr);
            return 2;
        }
        port_file = optarg;
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
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

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"state-dir", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config = DEFAULT_CONFIG, *state_dir = NULL;
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
        } else {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    if (load_config(config, explicit_config, state_dir, &cfg) != 0)
        return 1;
    argc -= optind;
    argv += optind;
    if (strcmp(argv[0], "init") == 0)
        return cmd_init(&cfg, argc, argv);
    if (strcmp(argv[0], "token") == 0)
        return cmd_token(&cfg, argc, argv);
    if (strcmp(argv[0], "vendor") == 0) {
        int rc = srv_cli_vendor(&cfg, argc, argv);

        if (rc == 2)
            usage(stderr);
        return rc;
    }
    if (strcmp(argv[0], "serve") == 0)
        return cmd_serve(&cfg, argc, argv);
    if (strcmp(argv[0], "receipt-key") == 0)
        return cmd_receipt_key(&cfg, argc, argv);
    if (strcmp(argv[0], "boot-pin") == 0)
        return srv_cli_boot_pin(&cfg, argc, argv);
    if (strcmp(argv[0], "export") == 0) {
        int rc = srv_cli_export(&cfg, argc, argv);

        if (rc == 2)
            usage(stderr);
        return rc;
    }
    usage(stderr);
    return 2;
}

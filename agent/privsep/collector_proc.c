/* The collector process: reads the machine (files, procfs, sysfs, netlink)
 * inside its sandbox and answers COLLECT and INVENTORY. It has no network,
 * cannot execute anything and cannot open a file for writing: it reads its
 * caches from the state directory itself, and every write of one goes to
 * the parent as AGENT_MSG_STATE_PUT, which writes it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "caps.h"
#include "collector.h"
#include "err.h"
#include "jcs.h"
#include "log.h"
#include "memtrim.h"
#include "privsep.h"
#include "privacy.h"
#include "privacy_key.h"
#include "privsep_internal.h"
#include "sandbox.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct collector {
    const struct agent_config *cfg;
    const char *root;
    struct col_config colcfg;
    struct agent_spawn_opts opts;
    int fd; /* the channel to the parent */
    /* minimal privacy mode before enrollment: a key of this process alone */
    unsigned char one_time_key[DA_PRIVACY_KEY_LEN];
};

/* The firewall reader's channel (-1: none) and the live operations with
 * the nftables read sent to it: the collector itself lacks CAP_NET_ADMIN. */
static int col_firewall_fd = -1;
static struct col_sys_ops collector_live_ops;

static int nft_via_reader(struct da_buf *out)
{
    const struct agent_ipc_handler answers[] = {AGENT_MSG_ROW(FIREWALL_OK, NULL)};
    static const size_t caps[] = AGENT_MSG_CAPS(FIREWALL_OK);
    struct agent_field f[AGENT_MSG_N(FIREWALL_OK)];
    uint64_t err = 0;
    struct da_buf ans;
    uint32_t got;
    int r;

    if (col_firewall_fd < 0)
        return -EPERM;
    da_buf_init(&ans, 0);
    r = agent_ipc_call(col_firewall_fd, AGENT_MSG_FIREWALL, NULL, 0, answers, 1,
                       AGENT_FIREWALL_TIMEOUT, &got, &ans);
    if (r == 0)
        r = agent_fields_split(da_buf_data(&ans), da_buf_len(&ans), AGENT_MSG_N(FIREWALL_OK), caps,
                               f);
    if (r == 0)
        r = agent_field_u64(&f[0], &err);
    if (r == 0 && err == 0)
        r = da_buf_append(out, f[1].data, f[1].len);
    da_buf_free(&ans);
    if (r != 0) {
        da_warn_f("collector: the firewall reader failed: %s", da_strerror(r));
        close(col_firewall_fd);
        col_firewall_fd = -1;
        return -EIO;
    }
    if (err != 0)
        return err < 4096 ? -(int)err : -EIO;
    return 0;
}

/* The collectors' write hook: the file goes to the parent, which writes it. */
static int collector_state_put(const void *arg, const char *name, const void *data, size_t len)
{
    const struct collector *c = arg;
    struct da_buf b;
    int r;

    if (strlen(name) > AGENT_MAX_STATE_NAME || len > AGENT_MAX_STATE_FILE)
        return DA_ERR_TOO_LARGE;
    da_buf_init(&b, AGENT_MSG_LEN(STATE_PUT));
    r = agent_fields_put_str(&b, name);
    if (r == 0)
        r = agent_fields_put(&b, data, len);
    if (r == 0)
        r = agent_ipc_send(c->fd, AGENT_MSG_STATE_PUT, da_buf_data(&b), da_buf_len(&b));
    da_buf_free(&b);
    return r;
}

static void collector_ctx(const struct collector *c, struct col_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->root = c->root;
    ctx->live = c->root[0] == '\0';
    ctx->now = time(NULL);
    ctx->cfg = &c->colcfg;
    ctx->ops = ctx->live ? &collector_live_ops : &col_root_ops;
    ctx->state_dir = c->cfg->state_dir[0] != '\0' ? c->cfg->state_dir : NULL; /* reads */
    if (ctx->state_dir != NULL) {
        ctx->state_put = collector_state_put; /* writes: through the parent */
        ctx->state_put_arg = c;
    }
}

/* The agent's own area: version, the digest of the running binary and the
 * sandbox mode (a policy fails "log": the filters then only log). */
static int add_agent_area(const struct collector *c, const struct col_ctx *ctx, cJSON *doc)
{
    cJSON *agent = cJSON_CreateObject();
    char hex[65];
    int r;

    if (agent == NULL || !cJSON_AddItemToObject(doc, "agent", agent)) {
        cJSON_Delete(agent);
        return DA_ERR_NOMEM;
    }
    if (cJSON_AddStringToObject(agent, "version", DA_VERSION) == NULL ||
        cJSON_AddStringToObject(agent, "sandbox",
                                c->cfg->sandbox == AGENT_SANDBOX_LOG ? "log" : "enforce") == NULL)
        return DA_ERR_NOMEM;
    r = col_binary_sha256_ctx(ctx, "/proc/self/exe", hex);
    if (r == 0)
        return col_add_str(agent, "binary_sha256", hex);
    return col_add_unknown_err(agent, "binary_sha256", r, "/proc/self/exe");
}

/* The privacy mode, applied where the document is finished: what leaves
 * this process is what the signer quotes and the server receives. */
static int apply_privacy(const struct collector *c, cJSON *doc)
{
    unsigned char key[DA_PRIVACY_KEY_LEN];
    int r = 0;

    if (c->cfg->privacy == DA_PRIVACY_MINIMAL) {
        r = agent_privacy_key_load(c->cfg->state_dir, key);
        if (r == DA_ERR_NOT_ENROLLED) {
            memcpy(key, c->one_time_key, sizeof(key));
            r = 0;
        }
    }
    if (r == 0)
        r = da_privacy_apply(doc, (enum da_privacy_mode)c->cfg->privacy, key);
    OPENSSL_cleanse(key, sizeof(key));
    return r;
}

static int on_collect(void *vctx, int fd, const unsigned char *p, size_t n)
{
    static const size_t caps[] = AGENT_MSG_CAPS(COLLECT);
    const struct collector *c = vctx;
    struct agent_field f[AGENT_MSG_N(COLLECT)];
    char areas[AGENT_MAX_AREAS + 1];
    struct col_ctx ctx;
    struct da_buf b;
    cJSON *doc = NULL;
    int r;

    if (agent_fields_split(p, n, AGENT_MSG_N(COLLECT), caps, f) != 0 ||
        agent_field_str(&f[0], areas, sizeof(areas)) != 0)
        return DA_ERR_IPC;
    collector_ctx(c, &ctx);
    r = col_collect_evidence(&ctx, areas[0] != '\0' ? areas : NULL, &doc);
    if (r == 0)
        r = add_agent_area(c, &ctx, doc);
    if (r == 0)
        r = apply_privacy(c, doc);
    da_buf_init(&b, AGENT_MSG_LEN(COLLECT_OK));
    if (r == 0) {
        struct da_buf canon;

        da_buf_init(&canon, DA_MAX_EVIDENCE);
        r = da_jcs_serialize(doc, &canon);
        if (r == 0)
            r = agent_fields_put(&b, da_buf_data(&canon), da_buf_len(&canon));
        da_buf_free(&canon);
    }
    cJSON_Delete(doc);
    if (r != 0) {
        da_buf_free(&b);
        return agent_privsep_send_error(fd, r, "collection failed: %s", da_strerror(r));
    }
    r = agent_ipc_send(fd, AGENT_MSG_COLLECT_OK, da_buf_data(&b), da_buf_len(&b));
    da_buf_free(&b);
    agent_memory_trim(); /* idle until the next request */
    return r;
}

static int on_inventory(void *vctx, int fd, const unsigned char *p, size_t n)
{
    const struct collector *c = vctx;
    struct col_ctx ctx;
    struct da_buf inv, b;
    int r;

    (void)p;
    if (n != 0)
        return DA_ERR_IPC;
    collector_ctx(c, &ctx);
    da_buf_init(&inv, AGENT_MAX_INVENTORY);
    da_buf_init(&b, AGENT_MSG_LEN(INVENTORY_OK));
    r = col_patches_inventory(&ctx, &inv);
    if (r == 0)
        r = agent_fields_put(&b, da_buf_data(&inv), da_buf_len(&inv));
    da_buf_free(&inv);
    if (r != 0) {
        da_buf_free(&b);
        return agent_privsep_send_error(fd, r, "package inventory: %s", da_strerror(r));
    }
    r = agent_ipc_send(fd, AGENT_MSG_INVENTORY_OK, da_buf_data(&b), da_buf_len(&b));
    da_buf_free(&b);
    return r;
}

static const struct agent_ipc_handler collector_table[] = {
    AGENT_MSG_ROW(COLLECT, on_collect),
    AGENT_MSG_ROW(INVENTORY, on_inventory),
};
/* The signer asks for evidence only. */
static const struct agent_ipc_handler signer_channel_table[] = {
    AGENT_MSG_ROW(COLLECT, on_collect),
};

static int collector_main(int fd, void *vctx)
{
    struct collector *c = vctx;
    struct agent_ipc_channel ch[2] = {
        {fd, collector_table, sizeof(collector_table) / sizeof(collector_table[0])},
        {c->opts.evidence_fd, signer_channel_table, 1},
    };
    int r;

    c->fd = fd;
    col_firewall_fd = c->opts.firewall_fd;
    collector_live_ops = col_live_ops;
    if (col_firewall_fd >= 0)
        collector_live_ops.nft_dump = nft_via_reader;
    if (RAND_bytes(c->one_time_key, sizeof(c->one_time_key)) != 1) {
        agent_privsep_send_error(fd, DA_ERR_CRYPTO, "no random bytes for the privacy key");
        return 1;
    }
    if (agent_sandbox_enter_as(AGENT_SANDBOX_COLLECTOR, agent_sandbox_mode_of(c->cfg->sandbox),
                               c->opts.user) != 0) {
        agent_privsep_send_error(fd, DA_ERR_SANDBOX, "the collector's sandbox failed");
        return 1;
    }
    r = agent_ipc_send(fd, AGENT_MSG_READY, NULL, 0);
    if (r == 0)
        r = agent_ipc_serve_channels(ch, c->opts.evidence_fd >= 0 ? 2 : 1, c);
    if (r != 0)
        da_error_f("collector: %s", da_strerror(r));
    return r == 0 ? 0 : 1;
}

void agent_collector_config(const struct agent_config *cfg, const char *path,
                            struct col_config *out)
{
    memset(out, 0, sizeof(*out));
    out->toolchain = (const char *const *)cfg->toolchain.items;
    out->n_toolchain = cfg->toolchain.n;
    out->path_env = path != NULL && path[0] != '\0' ? path : DEFAULT_PATH;
    out->production_patterns = (const char *const *)cfg->production_patterns.items;
    out->n_production_patterns = cfg->production_patterns.n;
    out->production_cidrs = (const char *const *)cfg->production_networks.items;
    out->n_production_cidrs = cfg->production_networks.n;
    out->role = agent_env_role_name(cfg->environment_role);
    out->source_dirs = (const char *const *)cfg->source_dirs.items;
    out->n_source_dirs = cfg->source_dirs.n;
}

int agent_collector_spawn_opts(const struct agent_config *cfg, const char *root,
                               const struct agent_spawn_opts *o, struct agent_child *out)
{
    struct collector c;
    const char *path = getenv("PATH");
    int keep[2], nkeep = 0, r;

    memset(&c, 0, sizeof(c));
    c.opts.evidence_fd = c.opts.firewall_fd = -1;
    if (o != NULL)
        c.opts = *o;
    if (c.opts.evidence_fd >= 0)
        keep[nkeep++] = c.opts.evidence_fd;
    if (c.opts.firewall_fd >= 0)
        keep[nkeep++] = c.opts.firewall_fd;
    c.cfg = cfg;
    c.root = root != NULL ? root : "";
    agent_collector_config(cfg, path, &c.colcfg);
    if (c.opts.pid1_environ != NULL) {
        c.colcfg.pid1_environ = da_buf_data(c.opts.pid1_environ);
        c.colcfg.pid1_environ_len = da_buf_len(c.opts.pid1_environ);
    }
    /* c (and cfg, which it points into) are copied into the child by fork. */
    c.fd = -1;
    r = agent_child_spawn("collector", collector_main, &c, keep, (size_t)nkeep, out);
    if (r != 0)
        return r;
    out->state_dir = cfg->state_dir[0] != '\0' ? cfg->state_dir : NULL;
    return agent_privsep_wait_ready(out);
}

int agent_collector_spawn(const struct agent_config *cfg, const char *root, struct agent_child *out)
{
    return agent_collector_spawn_opts(cfg, root, NULL, out);
}

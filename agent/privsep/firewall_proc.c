/* The firewall reader: the one process that keeps CAP_NET_ADMIN, which the
 * kernel requires for reading the nftables ruleset. It takes no parameters:
 * a FIREWALL request from the collector (their own channel; the uploader
 * keeps no end of it) makes it send the fixed dump requests (tables, chains,
 * sets, set elements, rules) over NETLINK_NETFILTER and answer with the
 * kernel's messages as they came: it parses nothing, the collector's
 * evaluator does (collector/nft_eval.c). Its filter allows netlink sockets
 * of the netfilter protocol and nothing that writes. */
#include <errno.h>
#include <string.h>

#include "collector.h"
#include "err.h"
#include "log.h"
#include "privsep.h"
#include "privsep_internal.h"
#include "sandbox.h"

struct firewall {
    const struct agent_config *cfg;
    struct agent_spawn_opts opts;
};

static int on_firewall(void *ctx, int fd, const unsigned char *p, size_t n)
{
    struct da_buf dump, b;
    int e, r;

    (void)ctx;
    (void)p;
    if (n != 0)
        return DA_ERR_IPC;
    da_buf_init(&dump, DA_MAX_NFT_DUMP);
    e = col_live_ops.nft_dump(&dump);
    if (e != 0)
        da_buf_reset(&dump);
    da_buf_init(&b, AGENT_MSG_LEN(FIREWALL_OK));
    r = agent_fields_put_u64(&b, (uint64_t)(e < 0 ? -e : 0));
    if (r == 0)
        r = agent_fields_put(&b, da_buf_data(&dump), da_buf_len(&dump));
    if (r == 0)
        r = agent_ipc_send(fd, AGENT_MSG_FIREWALL_OK, da_buf_data(&b), da_buf_len(&b));
    da_buf_free(&b);
    da_buf_free(&dump);
    return r;
}

static const struct agent_ipc_handler collector_channel_table[] = {
    AGENT_MSG_ROW(FIREWALL, on_firewall),
};

static int firewall_main(int fd, void *vctx)
{
    struct firewall *f = vctx;
    /* The parent sends nothing: its channel only tells the reader when to
     * end (closed) and carries READY. */
    struct agent_ipc_channel ch[2] = {
        {fd, collector_channel_table, 0},
        {f->opts.firewall_fd, collector_channel_table, 1},
    };
    int r;

    if (agent_sandbox_enter_as(AGENT_SANDBOX_FIREWALL, agent_sandbox_mode_of(f->cfg->sandbox),
                               f->opts.user) != 0) {
        agent_privsep_send_error(fd, DA_ERR_SANDBOX, "the firewall reader's sandbox failed");
        return 1;
    }
    r = agent_ipc_send(fd, AGENT_MSG_READY, NULL, 0);
    if (r == 0)
        r = agent_ipc_serve_channels(ch, 2, f);
    if (r != 0)
        da_error_f("firewall reader: %s", da_strerror(r));
    return r == 0 ? 0 : 1;
}

int agent_firewall_spawn(const struct agent_config *cfg, const struct agent_spawn_opts *o,
                         struct agent_child *out)
{
    struct firewall f;
    int r;

    memset(&f, 0, sizeof(f));
    f.cfg = cfg;
    f.opts = *o;
    if (f.opts.firewall_fd < 0)
        return DA_ERR_INVALID_ARG;
    r = agent_child_spawn("firewall reader", firewall_main, &f, &f.opts.firewall_fd, 1, out);
    return r == 0 ? agent_privsep_wait_ready(out) : r;
}

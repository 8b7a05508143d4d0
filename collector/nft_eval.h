/* The nftables ruleset evaluator: raw netlink dump bytes in, per-family
 * inbound facts out.
 *
 * The privileged side only sends the fixed dump requests and hands over the
 * kernel's answers as they came (col_sys_ops.nft_dump); everything that
 * reads those bytes is here, in the unprivileged collector, and is pure: no
 * system call, no global state.
 *
 * The dump is a sequence of netlink messages of the nftables subsystem
 * (NEWTABLE, NEWCHAIN, NEWRULE, NEWSET, NEWSETELEM) in the order the
 * kernel sent them. The evaluator walks every base chain that a new
 * inbound TCP SYN or UDP datagram meets (ingress, prerouting, input), in
 * priority order, rule by rule, the way netfilter would, for IPv4 and IPv6,
 * on each given non-loopback interface: for a destination port that no
 * rule names and for each port that a rule compares with. A match it cannot
 * evaluate makes the answer unknown with a reason; it never guesses.
 */
#ifndef COL_NFT_EVAL_H
#define COL_NFT_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

/* Netlink attribute alignment and type mask with unsigned types (the
 * kernel's NLA_ALIGN and NLA_TYPE_MASK are int expressions with negative
 * masks); shared by the probe and the evaluator. */
#define COL_NLA_ALIGN(n)  (((size_t)(n) + NLA_ALIGNTO - 1u) & ~((size_t)NLA_ALIGNTO - 1u))
#define COL_NLA_HDRLEN    COL_NLA_ALIGN(sizeof(struct nlattr))
#define COL_NLA_TYPE_MASK ((uint16_t)(~(unsigned)(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffffu))

enum col_fw_verdict {
    COL_FW_UNKNOWN = 0,
    COL_FW_DROP,   /* dropped or rejected */
    COL_FW_ACCEPT, /* accepted by every base chain on its path */
};

/* An interface the packets arrive on (as /sys/class/net tells). */
struct col_fw_iface {
    char name[16];    /* IFNAMSIZ, NUL-padded */
    uint32_t ifindex; /* 0: unknown */
    uint16_t type;    /* ARPHRD_*; 0: unknown */
};

#define COL_FW_MAX_OPEN 64 /* open ports listed per protocol and family */

struct col_fw_family {
    enum col_fw_verdict inbound;  /* unlisted port: TCP and UDP together */
    enum col_fw_verdict tcp, udp; /* unlisted port, per protocol */
    uint16_t open_tcp[COL_FW_MAX_OPEN], open_udp[COL_FW_MAX_OPEN];
    size_t n_open_tcp, n_open_udp;
    int open_truncated;
    char reason[520]; /* what decided, or why it is unknown */
};

struct col_fw_result {
    struct col_fw_family ipv4, ipv6;
    size_t tables, dormant_tables, base_chains, rules, sets;
};

/* Evaluate a dump. ifs: the machine's non-loopback interfaces (none: an
 * interface match is unknown). 0, DA_ERR_COLLECT_PARSE for bytes that are
 * not a well-formed dump, DA_ERR_TOO_LARGE past the caps of caps.h,
 * DA_ERR_NOMEM. */
int col_nft_evaluate(const unsigned char *dump, size_t len, const struct col_fw_iface *ifs,
                     size_t n_ifs, struct col_fw_result *out);

/* "drop", "accept" or "unknown". */
const char *col_fw_verdict_name(enum col_fw_verdict v);

#endif

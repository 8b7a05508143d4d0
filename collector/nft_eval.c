/* The nftables ruleset evaluator (nft_eval.h). Three steps: decode the dump
 * into tables, chains, rules (with their expressions decoded) and sets;
 * gather the ports rules compare a destination port with; then run the
 * packets through the base chains of their path. */
#include "nft_eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "caps.h"
#include "err.h"

/* ---- bounded netlink attribute reading (no alignment assumed) ---- */

struct nfe_attr {
    const unsigned char *p;
    uint32_t len;
    int present;
};

#define NFE_ATTRS 24 /* more than any NFTA_*_MAX used here */

static uint16_t nfe_u16h(const unsigned char *p)
{
    uint16_t v;

    memcpy(&v, p, 2);
    return v;
}

static uint32_t nfe_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Index the attributes of [p, p+len) by type; DA_ERR_COLLECT_PARSE when an
 * attribute does not fit. */
static int nfe_parse(const unsigned char *p, size_t len, struct nfe_attr *tb, int max)
{
    memset(tb, 0, (size_t)(max + 1) * sizeof(*tb));
    while (len > 0) {
        uint16_t alen, type;
        size_t step;

        if (len < COL_NLA_HDRLEN)
            return DA_ERR_COLLECT_PARSE;
        alen = nfe_u16h(p);
        type = nfe_u16h(p + 2) & COL_NLA_TYPE_MASK;
        if (alen < COL_NLA_HDRLEN || alen > len)
            return DA_ERR_COLLECT_PARSE;
        if (type <= max) {
            tb[type].p = p + COL_NLA_HDRLEN;
            tb[type].len = (uint32_t)(alen - COL_NLA_HDRLEN); /* alen >= header: checked */
            tb[type].present = 1;
        }
        step = COL_NLA_ALIGN(alen);
        if (step >= len)
            break;
        p += step;
        len -= step;
    }
    return 0;
}

static int nfe_u32(const struct nfe_attr *a, uint32_t *v)
{
    if (!a->present || a->len != 4)
        return DA_ERR_COLLECT_PARSE;
    *v = nfe_be32(a->p);
    return 0;
}

/* An optional u32: def when absent. */
static int nfe_u32_or(const struct nfe_attr *a, uint32_t def, uint32_t *v)
{
    if (!a->present) {
        *v = def;
        return 0;
    }
    return nfe_u32(a, v);
}

/* A NUL-terminated name of at most NFT_NAME_MAXLEN. */
static int nfe_name(const struct nfe_attr *a, const char **s)
{
    if (!a->present || a->len == 0 || a->len > NFT_NAME_MAXLEN || a->p[a->len - 1] != '\0' ||
        strlen((const char *)a->p) + 1 != a->len)
        return DA_ERR_COLLECT_PARSE;
    *s = (const char *)a->p;
    return 0;
}

/* Walk the NFTA_LIST_ELEM members of a nested list. */
struct nfe_iter {
    const unsigned char *p;
    size_t left;
};

static int nfe_next(struct nfe_iter *it, struct nfe_attr *elem)
{
    uint16_t alen;
    size_t step;

    if (it->left == 0)
        return 0;
    if (it->left < COL_NLA_HDRLEN)
        return DA_ERR_COLLECT_PARSE;
    alen = nfe_u16h(it->p);
    if (alen < COL_NLA_HDRLEN || alen > it->left)
        return DA_ERR_COLLECT_PARSE;
    elem->p = it->p + COL_NLA_HDRLEN;
    elem->len = (uint32_t)(alen - COL_NLA_HDRLEN); /* alen >= header: checked */
    elem->present = (nfe_u16h(it->p + 2) & COL_NLA_TYPE_MASK) == NFTA_LIST_ELEM;
    step = COL_NLA_ALIGN(alen);
    if (step >= it->left) {
        it->left = 0;
    } else {
        it->p += step;
        it->left -= step;
    }
    return 1;
}

/* ---- the decoded ruleset ---- */

#define NFE_REGS          80   /* bytes of registers: the verdict, then 4 x 16 */
#define NFE_JUMP_STACK    16   /* the kernel's jump stack depth */
#define NFE_PRI_CONNTRACK -200 /* where conntrack runs in prerouting */

enum nfe_kind {
    K_NOP = 1, /* counter, log, ... */
    K_IMM,
    K_META,
    K_META_SET,
    K_CMP,
    K_PAYLOAD,
    K_BITWISE,
    K_LOOKUP,
    K_CT,
    K_RANGE,
    K_FIB,
    K_XT_MATCH,
    K_XT_TARGET,
    K_REJECT,
    K_LIMIT,
    K_NOTRACK,
    K_NAT,
    K_EXTHDR,
    K_UNSUPPORTED,
};

struct nfe_data {
    const unsigned char *p;
    uint32_t len;
    int verdict;       /* for verdict data */
    const char *chain; /* jump/goto target */
    int is_verdict;
};

struct nfe_expr {
    enum nfe_kind kind;
    const char *name; /* expression or xt name */
    uint32_t dreg, sreg, key, op, base, off, len, flags, result, rev;
    int has_dreg;
    struct nfe_data d1, d2;
    const unsigned char *info; /* xt info */
    uint32_t info_len;
    const char *set; /* lookup */
    int set_idx;
    int chain_idx; /* immediate jump/goto */
};

struct nfe_table {
    uint8_t family;
    const char *name;
    uint32_t flags;
};

struct nfe_chain {
    int table;
    const char *name;
    int base;
    uint32_t hook;
    int32_t prio;
    uint32_t policy;
    const unsigned char *devs; /* NFTA_HOOK_DEV or NFTA_HOOK_DEVS */
    uint32_t devs_len;
    int devs_list;
    int first_rule, last_rule;
};

struct nfe_rule {
    int chain;
    uint64_t handle;
    size_t first_expr, n_expr;
    int next;
};

struct nfe_elem {
    struct nfe_data key, key_end, data;
    uint32_t flags;
};

struct nfe_set {
    int table;
    const char *name;
    uint32_t flags, key_len, data_type;
    int concat;
    size_t *elems;
    size_t n_elems, cap_elems;
};

struct nfe_rs {
    struct nfe_table *tables;
    struct nfe_chain *chains;
    struct nfe_rule *rules;
    struct nfe_expr *exprs;
    struct nfe_set *sets;
    struct nfe_elem *elems;
    size_t n_tables, n_chains, n_rules, n_exprs, n_sets, n_elems;
    size_t a_tables, a_chains, a_rules, a_exprs, a_sets, a_elems;
    int last_chain;
};

/* Grow an array by one element, within a cap. */
static int nfe_grow(void **arr, size_t *n, size_t *alloc, size_t size, size_t cap)
{
    void *p;
    size_t na;

    if (*n >= cap)
        return DA_ERR_TOO_LARGE;
    if (*n < *alloc)
        return 0;
    na = *alloc == 0 ? 16 : *alloc * 2;
    if (na > cap)
        na = cap;
    p = realloc(*arr, na * size);
    if (p == NULL)
        return DA_ERR_NOMEM;
    *arr = p;
    *alloc = na;
    return 0;
}

#define NFE_GROW(rs, what, cap)                                                                    \
    nfe_grow((void **)&(rs)->what, &(rs)->n_##what, &(rs)->a_##what, sizeof(*(rs)->what), cap)

static void nfe_rs_free(struct nfe_rs *rs)
{
    size_t i;

    for (i = 0; i < rs->n_sets; i++)
        free(rs->sets[i].elems);
    free(rs->tables);
    free(rs->chains);
    free(rs->rules);
    free(rs->exprs);
    free(rs->sets);
    free(rs->elems);
}

static int nfe_find_table(const struct nfe_rs *rs, uint8_t family, const char *name)
{
    size_t i;

    for (i = rs->n_tables; i-- > 0;)
        if (rs->tables[i].family == family && strcmp(rs->tables[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int nfe_find_chain(struct nfe_rs *rs, int table, const char *name)
{
    size_t i;

    if (rs->last_chain >= 0 && rs->chains[rs->last_chain].table == table &&
        strcmp(rs->chains[rs->last_chain].name, name) == 0)
        return rs->last_chain;
    for (i = 0; i < rs->n_chains; i++)
        if (rs->chains[i].table == table && strcmp(rs->chains[i].name, name) == 0) {
            rs->last_chain = (int)i;
            return (int)i;
        }
    return -1;
}

static int nfe_find_set(const struct nfe_rs *rs, int table, const char *name)
{
    size_t i;

    for (i = 0; i < rs->n_sets; i++)
        if (rs->sets[i].table == table && strcmp(rs->sets[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* nft_data: a value or a verdict. */
static int nfe_data(const struct nfe_attr *a, struct nfe_data *d)
{
    struct nfe_attr tb[NFTA_DATA_MAX + 1], vd[NFTA_VERDICT_MAX + 1];
    uint32_t code;
    int r;

    memset(d, 0, sizeof(*d));
    if (!a->present)
        return DA_ERR_COLLECT_PARSE;
    if ((r = nfe_parse(a->p, a->len, tb, NFTA_DATA_MAX)) != 0)
        return r;
    if (tb[NFTA_DATA_VALUE].present) {
        if (tb[NFTA_DATA_VALUE].len == 0 || tb[NFTA_DATA_VALUE].len > NFE_REGS - 16)
            return DA_ERR_COLLECT_PARSE;
        d->p = tb[NFTA_DATA_VALUE].p;
        d->len = tb[NFTA_DATA_VALUE].len;
        return 0;
    }
    if (!tb[NFTA_DATA_VERDICT].present)
        return DA_ERR_COLLECT_PARSE;
    if ((r = nfe_parse(tb[NFTA_DATA_VERDICT].p, tb[NFTA_DATA_VERDICT].len, vd, NFTA_VERDICT_MAX)) !=
            0 ||
        (r = nfe_u32(&vd[NFTA_VERDICT_CODE], &code)) != 0)
        return r;
    d->is_verdict = 1;
    d->verdict = (int32_t)code;
    if (d->verdict == NFT_JUMP || d->verdict == NFT_GOTO)
        return nfe_name(&vd[NFTA_VERDICT_CHAIN], &d->chain);
    return 0;
}

/* Register number to byte offset, as the kernel maps them. */
static int nfe_reg(const struct nfe_attr *a, uint32_t len, uint32_t *off)
{
    uint32_t reg;
    int r = nfe_u32(a, &reg);

    if (r != 0)
        return r;
    if (reg <= NFT_REG_4)
        *off = reg * NFT_REG_SIZE;
    else if (reg >= NFT_REG32_00 && reg <= NFT_REG32_15)
        *off = 16 + (reg - NFT_REG32_00) * NFT_REG32_SIZE;
    else
        return DA_ERR_COLLECT_PARSE;
    if (len == 0 || len > NFE_REGS || *off + len > NFE_REGS || (*off < 16 && reg != 0))
        return DA_ERR_COLLECT_PARSE;
    return 0;
}

static int nfe_is(const char *name, const char *what)
{
    return strcmp(name, what) == 0;
}

static int nfe_decode_meta(struct nfe_expr *e, struct nfe_attr *tb)
{
    int r;

    if ((r = nfe_u32(&tb[NFTA_META_KEY], &e->key)) != 0)
        return r;
    if (tb[NFTA_META_DREG].present) {
        e->kind = K_META;
        e->has_dreg = 1;
        return nfe_reg(&tb[NFTA_META_DREG], 4, &e->dreg);
    }
    e->kind = K_META_SET;
    return nfe_reg(&tb[NFTA_META_SREG], 4, &e->sreg);
}

static int nfe_decode_cmp(struct nfe_expr *e, struct nfe_attr *tb)
{
    int r;

    e->kind = K_CMP;
    if ((r = nfe_u32(&tb[NFTA_CMP_OP], &e->op)) != 0 ||
        (r = nfe_data(&tb[NFTA_CMP_DATA], &e->d1)) != 0)
        return r;
    if (e->d1.is_verdict || e->op > NFT_CMP_GTE)
        return DA_ERR_COLLECT_PARSE;
    return nfe_reg(&tb[NFTA_CMP_SREG], e->d1.len, &e->sreg);
}

static int nfe_decode_payload(struct nfe_expr *e, struct nfe_attr *tb)
{
    int r;

    if ((r = nfe_u32(&tb[NFTA_PAYLOAD_BASE], &e->base)) != 0 ||
        (r = nfe_u32(&tb[NFTA_PAYLOAD_OFFSET], &e->off)) != 0 ||
        (r = nfe_u32(&tb[NFTA_PAYLOAD_LEN], &e->len)) != 0)
        return r;
    if (!tb[NFTA_PAYLOAD_DREG].present) {
        e->kind = K_UNSUPPORTED; /* a payload write: the packet is changed */
        return 0;
    }
    e->kind = K_PAYLOAD;
    return nfe_reg(&tb[NFTA_PAYLOAD_DREG], e->len, &e->dreg);
}

static int nfe_decode_bitwise(struct nfe_expr *e, struct nfe_attr *tb)
{
    uint32_t op;
    int r;

    if ((r = nfe_u32(&tb[NFTA_BITWISE_LEN], &e->len)) != 0 ||
        (r = nfe_u32_or(&tb[NFTA_BITWISE_OP], NFT_BITWISE_BOOL, &op)) != 0)
        return r;
    if (op != NFT_BITWISE_BOOL) {
        e->kind = K_UNSUPPORTED;
        return 0;
    }
    e->kind = K_BITWISE;
    if ((r = nfe_reg(&tb[NFTA_BITWISE_SREG], e->len, &e->sreg)) != 0 ||
        (r = nfe_reg(&tb[NFTA_BITWISE_DREG], e->len, &e->dreg)) != 0 ||
        (r = nfe_data(&tb[NFTA_BITWISE_MASK], &e->d1)) != 0 ||
        (r = nfe_data(&tb[NFTA_BITWISE_XOR], &e->d2)) != 0)
        return r;
    if (e->d1.len != e->len || e->d2.len != e->len)
        return DA_ERR_COLLECT_PARSE;
    return 0;
}

static int nfe_decode_lookup(struct nfe_rs *rs, int table, struct nfe_expr *e, struct nfe_attr *tb)
{
    int r;

    e->kind = K_LOOKUP;
    if ((r = nfe_name(&tb[NFTA_LOOKUP_SET], &e->set)) != 0 ||
        (r = nfe_u32_or(&tb[NFTA_LOOKUP_FLAGS], 0, &e->flags)) != 0)
        return r;
    e->set_idx = nfe_find_set(rs, table, e->set);
    if (e->set_idx < 0)
        return DA_ERR_COLLECT_PARSE; /* sets come before rules in the dump */
    if ((r = nfe_reg(&tb[NFTA_LOOKUP_SREG], rs->sets[e->set_idx].key_len, &e->sreg)) != 0)
        return r;
    if (tb[NFTA_LOOKUP_DREG].present) {
        e->has_dreg = 1;
        if ((r = nfe_u32(&tb[NFTA_LOOKUP_DREG], &e->dreg)) != 0)
            return r;
        if (e->dreg != NFT_REG_VERDICT)
            e->kind = K_UNSUPPORTED; /* a data map */
    }
    return 0;
}

static int nfe_decode_ct(struct nfe_expr *e, struct nfe_attr *tb)
{
    int r;

    if ((r = nfe_u32(&tb[NFTA_CT_KEY], &e->key)) != 0)
        return r;
    if (!tb[NFTA_CT_DREG].present) {
        e->kind = K_NOP; /* ct mark/zone/... set: no verdict */
        return 0;
    }
    e->kind = K_CT;
    if (tb[NFTA_CT_DIRECTION].present)
        e->kind = K_UNSUPPORTED;
    return nfe_reg(&tb[NFTA_CT_DREG], 4, &e->dreg);
}

static int nfe_decode_range(struct nfe_expr *e, struct nfe_attr *tb)
{
    int r;

    e->kind = K_RANGE;
    if ((r = nfe_u32(&tb[NFTA_RANGE_OP], &e->op)) != 0 ||
        (r = nfe_data(&tb[NFTA_RANGE_FROM_DATA], &e->d1)) != 0 ||
        (r = nfe_data(&tb[NFTA_RANGE_TO_DATA], &e->d2)) != 0)
        return r;
    if (e->d1.is_verdict || e->d2.is_verdict || e->d1.len != e->d2.len || e->op > NFT_RANGE_NEQ)
        return DA_ERR_COLLECT_PARSE;
    return nfe_reg(&tb[NFTA_RANGE_SREG], e->d1.len, &e->sreg);
}

static int nfe_decode_fib(struct nfe_expr *e, struct nfe_attr *tb)
{
    int r;

    e->kind = K_FIB;
    if ((r = nfe_u32(&tb[NFTA_FIB_RESULT], &e->result)) != 0 ||
        (r = nfe_u32(&tb[NFTA_FIB_FLAGS], &e->flags)) != 0)
        return r;
    return nfe_reg(&tb[NFTA_FIB_DREG], 4, &e->dreg);
}

static int nfe_decode_xt(struct nfe_expr *e, struct nfe_attr *tb, int target)
{
    /* NFTA_MATCH_* and NFTA_TARGET_* have the same numbers */
    int r;

    e->kind = target ? K_XT_TARGET : K_XT_MATCH;
    if ((r = nfe_name(&tb[NFTA_MATCH_NAME], &e->name)) != 0 ||
        (r = nfe_u32(&tb[NFTA_MATCH_REV], &e->rev)) != 0)
        return r;
    if (!tb[NFTA_MATCH_INFO].present)
        return DA_ERR_COLLECT_PARSE;
    e->info = tb[NFTA_MATCH_INFO].p;
    e->info_len = tb[NFTA_MATCH_INFO].len;
    return 0;
}

static int nfe_decode_imm(struct nfe_rs *rs, int table, struct nfe_expr *e, struct nfe_attr *tb)
{
    int r;

    e->kind = K_IMM;
    if ((r = nfe_data(&tb[NFTA_IMMEDIATE_DATA], &e->d1)) != 0)
        return r;
    e->chain_idx = -1;
    if (e->d1.is_verdict) {
        if ((r = nfe_u32(&tb[NFTA_IMMEDIATE_DREG], &e->dreg)) != 0)
            return r;
        if (e->dreg != NFT_REG_VERDICT)
            return DA_ERR_COLLECT_PARSE;
        if (e->d1.chain != NULL) {
            e->chain_idx = nfe_find_chain(rs, table, e->d1.chain);
            if (e->chain_idx < 0)
                return DA_ERR_COLLECT_PARSE;
        }
        return 0;
    }
    e->has_dreg = 1;
    return nfe_reg(&tb[NFTA_IMMEDIATE_DREG], e->d1.len, &e->dreg);
}

/* Expressions without a verdict or a register the evaluation reads. */
static const char *const nfe_nops[] = {"counter", "log", "quota", "last", "flow_offload", "objref"};
/* Expressions that change where the packet goes. */
static const char *const nfe_nats[] = {"nat", "masq", "redir", "tproxy", "queue", "dup", "fwd"};

static int nfe_decode_expr(struct nfe_rs *rs, int table, const struct nfe_attr *ea,
                           struct nfe_expr *e)
{
    struct nfe_attr top[NFTA_EXPR_MAX + 1], tb[NFE_ATTRS + 1];
    const char *name;
    size_t i;
    int r;

    memset(e, 0, sizeof(*e));
    e->set_idx = e->chain_idx = -1;
    if ((r = nfe_parse(ea->p, ea->len, top, NFTA_EXPR_MAX)) != 0 ||
        (r = nfe_name(&top[NFTA_EXPR_NAME], &name)) != 0)
        return r;
    e->name = name;
    if (top[NFTA_EXPR_DATA].present)
        r = nfe_parse(top[NFTA_EXPR_DATA].p, top[NFTA_EXPR_DATA].len, tb, NFE_ATTRS);
    else
        memset(tb, 0, sizeof(tb));
    if (r != 0)
        return r;
    for (i = 0; i < sizeof(nfe_nops) / sizeof(nfe_nops[0]); i++)
        if (nfe_is(name, nfe_nops[i])) {
            e->kind = K_NOP;
            if (nfe_is(name, "quota") || nfe_is(name, "objref"))
                e->kind = K_UNSUPPORTED; /* an exhausted quota or a limit object */
            return 0;
        }
    for (i = 0; i < sizeof(nfe_nats) / sizeof(nfe_nats[0]); i++)
        if (nfe_is(name, nfe_nats[i])) {
            e->kind = K_NAT;
            return 0;
        }
    if (nfe_is(name, "immediate"))
        return nfe_decode_imm(rs, table, e, tb);
    if (nfe_is(name, "meta"))
        return nfe_decode_meta(e, tb);
    if (nfe_is(name, "cmp"))
        return nfe_decode_cmp(e, tb);
    if (nfe_is(name, "payload"))
        return nfe_decode_payload(e, tb);
    if (nfe_is(name, "bitwise"))
        return nfe_decode_bitwise(e, tb);
    if (nfe_is(name, "lookup"))
        return nfe_decode_lookup(rs, table, e, tb);
    if (nfe_is(name, "ct"))
        return nfe_decode_ct(e, tb);
    if (nfe_is(name, "range"))
        return nfe_decode_range(e, tb);
    if (nfe_is(name, "fib"))
        return nfe_decode_fib(e, tb);
    if (nfe_is(name, "match"))
        return nfe_decode_xt(e, tb, 0);
    if (nfe_is(name, "target"))
        return nfe_decode_xt(e, tb, 1);
    if (nfe_is(name, "reject")) {
        e->kind = K_REJECT;
        return 0;
    }
    if (nfe_is(name, "exthdr")) {
        uint32_t op;

        if ((r = nfe_u32_or(&tb[NFTA_EXTHDR_OP], NFT_EXTHDR_OP_IPV6, &op)) != 0 ||
            (r = nfe_u32_or(&tb[NFTA_EXTHDR_FLAGS], 0, &e->flags)) != 0)
            return r;
        /* IPv6 extension headers, read (not written): the modelled packets
         * carry none */
        if (op != NFT_EXTHDR_OP_IPV6 || !tb[NFTA_EXTHDR_DREG].present) {
            e->kind = K_UNSUPPORTED;
            return 0;
        }
        e->kind = K_EXTHDR;
        return nfe_reg(&tb[NFTA_EXTHDR_DREG], 4, &e->dreg);
    }
    if (nfe_is(name, "notrack")) {
        e->kind = K_NOTRACK;
        return 0;
    }
    if (nfe_is(name, "limit")) {
        e->kind = K_LIMIT;
        return nfe_u32_or(&tb[NFTA_LIMIT_FLAGS], 0, &e->flags);
    }
    if (nfe_is(name, "dynset")) {
        /* adding the packet to a set changes nothing for it; an embedded
         * expression (a per-source limit) is not evaluated */
        e->kind = tb[NFTA_DYNSET_EXPR].present || tb[NFTA_DYNSET_EXPRESSIONS].present
                      ? K_UNSUPPORTED
                      : K_NOP;
        return 0;
    }
    e->kind = K_UNSUPPORTED;
    return 0;
}

/* ---- decoding the messages ---- */

static int nfe_msg_table(struct nfe_rs *rs, uint8_t family, const unsigned char *p, size_t len)
{
    struct nfe_attr tb[NFTA_TABLE_MAX + 1];
    struct nfe_table *t;
    int r;

    if ((r = nfe_parse(p, len, tb, NFTA_TABLE_MAX)) != 0 ||
        (r = NFE_GROW(rs, tables, DA_MAX_NFT_TABLES)) != 0)
        return r;
    t = &rs->tables[rs->n_tables];
    memset(t, 0, sizeof(*t));
    t->family = family;
    if ((r = nfe_name(&tb[NFTA_TABLE_NAME], &t->name)) != 0 ||
        (r = nfe_u32_or(&tb[NFTA_TABLE_FLAGS], 0, &t->flags)) != 0)
        return r;
    if (nfe_find_table(rs, family, t->name) >= 0)
        return DA_ERR_COLLECT_PARSE;
    rs->n_tables++;
    return 0;
}

static int nfe_msg_chain(struct nfe_rs *rs, uint8_t family, const unsigned char *p, size_t len)
{
    struct nfe_attr tb[NFTA_CHAIN_MAX + 1], hk[NFTA_HOOK_MAX + 1];
    struct nfe_chain *c;
    const char *tname;
    uint32_t prio;
    int r;

    if ((r = nfe_parse(p, len, tb, NFTA_CHAIN_MAX)) != 0 ||
        (r = nfe_name(&tb[NFTA_CHAIN_TABLE], &tname)) != 0 ||
        (r = NFE_GROW(rs, chains, DA_MAX_NFT_CHAINS)) != 0)
        return r;
    c = &rs->chains[rs->n_chains];
    memset(c, 0, sizeof(*c));
    c->first_rule = c->last_rule = -1;
    c->table = nfe_find_table(rs, family, tname);
    if (c->table < 0 || (r = nfe_name(&tb[NFTA_CHAIN_NAME], &c->name)) != 0)
        return c->table < 0 ? DA_ERR_COLLECT_PARSE : r;
    if (nfe_find_chain(rs, c->table, c->name) >= 0)
        return DA_ERR_COLLECT_PARSE;
    if (tb[NFTA_CHAIN_HOOK].present) {
        c->base = 1;
        if ((r = nfe_parse(tb[NFTA_CHAIN_HOOK].p, tb[NFTA_CHAIN_HOOK].len, hk, NFTA_HOOK_MAX)) !=
                0 ||
            (r = nfe_u32(&hk[NFTA_HOOK_HOOKNUM], &c->hook)) != 0 ||
            (r = nfe_u32(&hk[NFTA_HOOK_PRIORITY], &prio)) != 0 ||
            (r = nfe_u32_or(&tb[NFTA_CHAIN_POLICY], NF_ACCEPT, &c->policy)) != 0)
            return r;
        c->prio = (int32_t)prio;
        if (hk[NFTA_HOOK_DEVS].present) {
            c->devs = hk[NFTA_HOOK_DEVS].p;
            c->devs_len = hk[NFTA_HOOK_DEVS].len;
            c->devs_list = 1;
        } else if (hk[NFTA_HOOK_DEV].present) {
            c->devs = hk[NFTA_HOOK_DEV].p;
            c->devs_len = hk[NFTA_HOOK_DEV].len;
        }
    }
    rs->n_chains++;
    return 0;
}

static int nfe_msg_set(struct nfe_rs *rs, uint8_t family, const unsigned char *p, size_t len)
{
    struct nfe_attr tb[NFTA_SET_MAX + 1], desc[NFTA_SET_DESC_MAX + 1];
    struct nfe_set *s;
    const char *tname;
    int r;

    if ((r = nfe_parse(p, len, tb, NFTA_SET_MAX)) != 0 ||
        (r = nfe_name(&tb[NFTA_SET_TABLE], &tname)) != 0 ||
        (r = NFE_GROW(rs, sets, DA_MAX_NFT_SETS)) != 0)
        return r;
    s = &rs->sets[rs->n_sets];
    memset(s, 0, sizeof(*s));
    s->table = nfe_find_table(rs, family, tname);
    if (s->table < 0)
        return DA_ERR_COLLECT_PARSE;
    if ((r = nfe_name(&tb[NFTA_SET_NAME], &s->name)) != 0 ||
        (r = nfe_u32_or(&tb[NFTA_SET_FLAGS], 0, &s->flags)) != 0 ||
        (r = nfe_u32(&tb[NFTA_SET_KEY_LEN], &s->key_len)) != 0 ||
        (r = nfe_u32_or(&tb[NFTA_SET_DATA_TYPE], 0, &s->data_type)) != 0)
        return r;
    if (s->key_len == 0 || s->key_len > NFE_REGS - 16 || nfe_find_set(rs, s->table, s->name) >= 0)
        return DA_ERR_COLLECT_PARSE;
    if (tb[NFTA_SET_DESC].present) {
        if ((r = nfe_parse(tb[NFTA_SET_DESC].p, tb[NFTA_SET_DESC].len, desc, NFTA_SET_DESC_MAX)) !=
            0)
            return r;
        s->concat = desc[NFTA_SET_DESC_CONCAT].present;
    }
    rs->n_sets++;
    return 0;
}

static int nfe_set_add(struct nfe_rs *rs, struct nfe_set *s, const struct nfe_attr *ea)
{
    struct nfe_attr tb[NFTA_SET_ELEM_MAX + 1];
    struct nfe_elem *el;
    int r;

    if ((r = nfe_parse(ea->p, ea->len, tb, NFTA_SET_ELEM_MAX)) != 0 ||
        (r = NFE_GROW(rs, elems, DA_MAX_NFT_ELEMS)) != 0)
        return r;
    el = &rs->elems[rs->n_elems];
    memset(el, 0, sizeof(*el));
    if ((r = nfe_u32_or(&tb[NFTA_SET_ELEM_FLAGS], 0, &el->flags)) != 0)
        return r;
    if (tb[NFTA_SET_ELEM_KEY].present) {
        if ((r = nfe_data(&tb[NFTA_SET_ELEM_KEY], &el->key)) != 0)
            return r;
        if (el->key.is_verdict || el->key.len != s->key_len)
            return DA_ERR_COLLECT_PARSE;
    } else if ((el->flags & NFT_SET_ELEM_CATCHALL) == 0) {
        return DA_ERR_COLLECT_PARSE;
    }
    if (tb[NFTA_SET_ELEM_KEY_END].present) {
        if ((r = nfe_data(&tb[NFTA_SET_ELEM_KEY_END], &el->key_end)) != 0)
            return r;
        if (el->key_end.is_verdict || el->key_end.len != s->key_len)
            return DA_ERR_COLLECT_PARSE;
    }
    if (tb[NFTA_SET_ELEM_DATA].present && (r = nfe_data(&tb[NFTA_SET_ELEM_DATA], &el->data)) != 0)
        return r;
    if (s->n_elems == s->cap_elems) {
        size_t na = s->cap_elems == 0 ? 16 : s->cap_elems * 2;
        size_t *ne = realloc(s->elems, na * sizeof(*ne));

        if (ne == NULL)
            return DA_ERR_NOMEM;
        s->elems = ne;
        s->cap_elems = na;
    }
    s->elems[s->n_elems++] = rs->n_elems++;
    return 0;
}

static int nfe_msg_setelem(struct nfe_rs *rs, uint8_t family, const unsigned char *p, size_t len)
{
    struct nfe_attr tb[NFTA_SET_ELEM_LIST_MAX + 1], el;
    struct nfe_iter it;
    const char *tname, *sname;
    int r, table, set;

    if ((r = nfe_parse(p, len, tb, NFTA_SET_ELEM_LIST_MAX)) != 0 ||
        (r = nfe_name(&tb[NFTA_SET_ELEM_LIST_TABLE], &tname)) != 0 ||
        (r = nfe_name(&tb[NFTA_SET_ELEM_LIST_SET], &sname)) != 0)
        return r;
    table = nfe_find_table(rs, family, tname);
    set = table < 0 ? -1 : nfe_find_set(rs, table, sname);
    if (set < 0)
        return DA_ERR_COLLECT_PARSE;
    if (!tb[NFTA_SET_ELEM_LIST_ELEMENTS].present)
        return 0;
    it.p = tb[NFTA_SET_ELEM_LIST_ELEMENTS].p;
    it.left = tb[NFTA_SET_ELEM_LIST_ELEMENTS].len;
    while ((r = nfe_next(&it, &el)) == 1) {
        if (!el.present)
            return DA_ERR_COLLECT_PARSE;
        if ((r = nfe_set_add(rs, &rs->sets[set], &el)) != 0)
            return r;
    }
    return r;
}

/* nft writes "dport 5000-5010" as ">= 5000" then "<= 5010" on the same
 * register: one range, so that a port no rule names is outside it. */
static void nfe_fold_ranges(struct nfe_expr *e, size_t n)
{
    size_t i;

    for (i = 0; i + 1 < n; i++) {
        if (e[i].kind != K_CMP || e[i].op != NFT_CMP_GTE || e[i + 1].kind != K_CMP ||
            e[i + 1].op != NFT_CMP_LTE || e[i].sreg != e[i + 1].sreg ||
            e[i].d1.len != e[i + 1].d1.len)
            continue;
        e[i].kind = K_RANGE;
        e[i].op = NFT_RANGE_EQ;
        e[i].d2 = e[i + 1].d1;
        e[i + 1].kind = K_NOP;
    }
}

static int nfe_msg_rule(struct nfe_rs *rs, uint8_t family, const unsigned char *p, size_t len)
{
    struct nfe_attr tb[NFTA_RULE_MAX + 1], ea;
    struct nfe_iter it;
    struct nfe_rule *ru;
    const char *tname, *cname;
    int r, table, chain;

    if ((r = nfe_parse(p, len, tb, NFTA_RULE_MAX)) != 0 ||
        (r = nfe_name(&tb[NFTA_RULE_TABLE], &tname)) != 0 ||
        (r = nfe_name(&tb[NFTA_RULE_CHAIN], &cname)) != 0 ||
        (r = NFE_GROW(rs, rules, DA_MAX_NFT_RULES)) != 0)
        return r;
    table = nfe_find_table(rs, family, tname);
    chain = table < 0 ? -1 : nfe_find_chain(rs, table, cname);
    if (chain < 0)
        return DA_ERR_COLLECT_PARSE;
    ru = &rs->rules[rs->n_rules];
    memset(ru, 0, sizeof(*ru));
    ru->chain = chain;
    ru->next = -1;
    if (tb[NFTA_RULE_HANDLE].present && tb[NFTA_RULE_HANDLE].len == 8)
        ru->handle =
            (uint64_t)nfe_be32(tb[NFTA_RULE_HANDLE].p) << 32 | nfe_be32(tb[NFTA_RULE_HANDLE].p + 4);
    ru->first_expr = rs->n_exprs;
    if (tb[NFTA_RULE_EXPRESSIONS].present) {
        it.p = tb[NFTA_RULE_EXPRESSIONS].p;
        it.left = tb[NFTA_RULE_EXPRESSIONS].len;
        while ((r = nfe_next(&it, &ea)) == 1) {
            if (!ea.present)
                return DA_ERR_COLLECT_PARSE;
            if (rs->n_exprs - ru->first_expr >= DA_MAX_NFT_RULE_EXPRS)
                return DA_ERR_TOO_LARGE;
            if ((r = NFE_GROW(rs, exprs, DA_MAX_NFT_EXPRS)) != 0 ||
                (r = nfe_decode_expr(rs, table, &ea, &rs->exprs[rs->n_exprs])) != 0)
                return r;
            rs->n_exprs++;
        }
        if (r != 0)
            return r;
    }
    ru->n_expr = rs->n_exprs - ru->first_expr;
    if (ru->n_expr > 0) /* a rule without expressions: no table yet */
        nfe_fold_ranges(&rs->exprs[ru->first_expr], ru->n_expr);
    if (rs->chains[chain].last_rule >= 0)
        rs->rules[rs->chains[chain].last_rule].next = (int)rs->n_rules;
    else
        rs->chains[chain].first_rule = (int)rs->n_rules;
    rs->chains[chain].last_rule = (int)rs->n_rules;
    rs->n_rules++;
    return 0;
}

static int nfe_decode(const unsigned char *p, size_t len, struct nfe_rs *rs)
{
    int r = 0;

    rs->last_chain = -1;
    if (len > DA_MAX_NFT_DUMP)
        return DA_ERR_TOO_LARGE;
    while (len > 0 && r == 0) {
        struct nlmsghdr nh;
        const unsigned char *pl;
        size_t plen, step;
        uint8_t family;

        if (len < NLMSG_HDRLEN)
            return DA_ERR_COLLECT_PARSE;
        memcpy(&nh, p, sizeof(nh));
        if (nh.nlmsg_len < NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)) ||
            nh.nlmsg_len > len || (nh.nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES)
            return DA_ERR_COLLECT_PARSE;
        family = p[NLMSG_HDRLEN];
        pl = p + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
        plen = nh.nlmsg_len - NLMSG_HDRLEN - NLMSG_ALIGN(sizeof(struct nfgenmsg));
        switch (nh.nlmsg_type & 0xff) {
        case NFT_MSG_NEWTABLE:
            r = nfe_msg_table(rs, family, pl, plen);
            break;
        case NFT_MSG_NEWCHAIN:
            r = nfe_msg_chain(rs, family, pl, plen);
            break;
        case NFT_MSG_NEWSET:
            r = nfe_msg_set(rs, family, pl, plen);
            break;
        case NFT_MSG_NEWSETELEM:
            r = nfe_msg_setelem(rs, family, pl, plen);
            break;
        case NFT_MSG_NEWRULE:
            r = nfe_msg_rule(rs, family, pl, plen);
            break;
        default:
            return DA_ERR_COLLECT_PARSE;
        }
        step = NLMSG_ALIGN(nh.nlmsg_len);
        if (step >= len)
            break;
        p += step;
        len -= step;
    }
    return r;
}

/* ---- the packets ---- */

/* What a register byte holds: a known value, part of an address or port no
 * rule names, the input interface when it is not known but is not the
 * loopback, or something not known. */
enum { NFE_CONCRETE = 0, NFE_SYM = 1, NFE_NOTLO = 2, NFE_UNKNOWN = 3 };

struct nfe_pkt {
    int v6;
    uint8_t l4;                     /* IPPROTO_TCP / IPPROTO_UDP */
    int port;                       /* -1: a port no rule names */
    const struct col_fw_iface *ifc; /* NULL: unknown interface */
    size_t *budget;                 /* expressions left for the whole evaluation */
};

/* One evaluation path. */
struct nfe_state {
    uint8_t val[NFE_REGS], kind[NFE_REGS];
    struct {
        int chain, rule;
    } stack[NFE_JUMP_STACK];
    int depth, chain, rule;
    size_t expr; /* next expression of rule */
    int untracked, before_ct;
    const char *unk; /* why the last unknown register bytes are unknown */
};

struct nfe_run {
    const struct nfe_rs *rs;
    const struct nfe_pkt *pkt;
    size_t steps, forks;
    char why[256];  /* the first reason for unknown */
    char what[192]; /* what decided a definite verdict */
};

static void nfe_why(struct nfe_run *run, const struct nfe_state *st, const char *a, const char *b,
                    const char *z)
{
    const struct nfe_chain *c;
    const struct nfe_table *t;

    if (run->why[0] != '\0')
        return;
    c = &run->rs->chains[st->chain];
    t = &run->rs->tables[c->table];
    snprintf(run->why, sizeof(run->why), "%.40s%.60s%.40s (table %.32s, chain %.32s, rule %llu)", a,
             b, z, t->name, c->name,
             st->rule >= 0 ? (unsigned long long)run->rs->rules[st->rule].handle : 0ull);
}

/* Fill a register range with bytes of the given kind. */
static void nfe_store(struct nfe_state *st, uint32_t off, const void *v, uint32_t len, int kind)
{
    uint32_t padded = (len + 3) & ~3u;

    if (padded > NFE_REGS - off)
        padded = NFE_REGS - off;
    memset(st->val + off, 0, padded);
    memset(st->kind + off, NFE_CONCRETE, padded);
    if (v != NULL)
        memcpy(st->val + off, v, len);
    memset(st->kind + off, kind, len);
}

enum nfe_step { S_NEXT, S_BREAK, S_UNKNOWN, S_VERDICT };

struct nfe_verdict {
    int code;
    int chain;
};

static enum nfe_step nfe_meta(struct nfe_run *run, struct nfe_state *st, const struct nfe_expr *e)
{
    const struct nfe_pkt *pk = run->pkt;
    uint8_t b[16];
    uint32_t u;
    uint16_t h;

    memset(b, 0, sizeof(b));
    switch (e->key) {
    case NFT_META_NFPROTO:
        b[0] = pk->v6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
        nfe_store(st, e->dreg, b, 1, NFE_CONCRETE);
        return S_NEXT;
    case NFT_META_L4PROTO:
        b[0] = pk->l4;
        nfe_store(st, e->dreg, b, 1, NFE_CONCRETE);
        return S_NEXT;
    case NFT_META_PROTOCOL:
        b[0] = pk->v6 ? 0x86 : 0x08;
        b[1] = pk->v6 ? 0xdd : 0x00;
        nfe_store(st, e->dreg, b, 2, NFE_CONCRETE);
        return S_NEXT;
    case NFT_META_PKTTYPE:
        b[0] = 0; /* PACKET_HOST */
        nfe_store(st, e->dreg, b, 1, NFE_CONCRETE);
        return S_NEXT;
    case NFT_META_IIF:
        if (pk->ifc == NULL || pk->ifc->ifindex == 0)
            break;
        u = pk->ifc->ifindex;
        nfe_store(st, e->dreg, &u, 4, NFE_CONCRETE);
        return S_NEXT;
    case NFT_META_IIFNAME:
        if (pk->ifc == NULL || e->dreg + 16 > NFE_REGS)
            break;
        nfe_store(st, e->dreg, pk->ifc->name, 16, NFE_CONCRETE);
        return S_NEXT;
    case NFT_META_IIFTYPE:
        if (pk->ifc == NULL || pk->ifc->type == 0)
            break;
        h = pk->ifc->type;
        nfe_store(st, e->dreg, &h, 2, NFE_CONCRETE);
        return S_NEXT;
    default:
        break;
    }
    st->unk = e->key == NFT_META_IIF || e->key == NFT_META_IIFNAME || e->key == NFT_META_IIFTYPE
                  ? "the input interface is not known"
                  : "a meta key other than nfproto, l4proto, protocol, pkttype or the input "
                    "interface";
    nfe_store(st, e->dreg, NULL, e->dreg + 16 <= NFE_REGS ? 16 : 4,
              e->key == NFT_META_IIF || e->key == NFT_META_IIFNAME ? NFE_NOTLO : NFE_UNKNOWN);
    return S_NEXT;
}

/* Bytes of a header as the modelled packet has them. */
static int nfe_header(const struct nfe_pkt *pk, uint32_t base, uint32_t off, uint32_t len,
                      uint8_t *val, uint8_t *kind)
{
    uint32_t i;

    for (i = 0; i < len; i++) {
        uint32_t o = off + i;

        val[i] = 0;
        kind[i] = NFE_UNKNOWN;
        if (base == NFT_PAYLOAD_NETWORK_HEADER && !pk->v6) {
            if (o == 0) {
                val[i] = 0x45, kind[i] = NFE_CONCRETE;
            } else if (o == 9) {
                val[i] = pk->l4, kind[i] = NFE_CONCRETE;
            } else if (o >= 12 && o < 20) {
                kind[i] = NFE_SYM; /* saddr, daddr: addresses no rule names */
            }
        } else if (base == NFT_PAYLOAD_NETWORK_HEADER) {
            if (o == 6) {
                val[i] = pk->l4, kind[i] = NFE_CONCRETE;
            } else if (o >= 8 && o < 40) {
                kind[i] = NFE_SYM;
            }
        } else if (base == NFT_PAYLOAD_TRANSPORT_HEADER) {
            if (o < 2) {
                kind[i] = NFE_SYM; /* source port */
            } else if (o < 4) {
                if (pk->port < 0) {
                    kind[i] = NFE_SYM;
                } else {
                    val[i] = (uint8_t)(o == 2 ? pk->port >> 8 : pk->port & 0xff);
                    kind[i] = NFE_CONCRETE;
                }
            } else if (o == 13 && pk->l4 == 6) {
                val[i] = 0x02, kind[i] = NFE_CONCRETE; /* SYN */
            }
        }
    }
    return 0;
}

static enum nfe_step nfe_payload(struct nfe_run *run, struct nfe_state *st,
                                 const struct nfe_expr *e)
{
    uint8_t val[NFE_REGS], kind[NFE_REGS];

    nfe_header(run->pkt, e->base, e->off, e->len, val, kind);
    nfe_store(st, e->dreg, NULL, 0, NFE_CONCRETE);
    nfe_store(st, e->dreg, NULL, e->len, NFE_CONCRETE);
    memcpy(st->val + e->dreg, val, e->len);
    memcpy(st->kind + e->dreg, kind, e->len);
    if (memchr(kind, NFE_UNKNOWN, e->len) != NULL)
        st->unk = e->base == NFT_PAYLOAD_LL_HEADER ? "a link layer header field"
                                                   : "a header field other than protocol, "
                                                     "addresses, ports and TCP flags";
    return S_NEXT;
}

/* NFE_CONCRETE, NFE_SYM (an unlisted address or port) or NFE_UNKNOWN. */
static int nfe_kind(struct nfe_run *run, struct nfe_state *st, uint32_t off, uint32_t len)
{
    uint32_t i;
    int k = NFE_CONCRETE;

    for (i = 0; i < len; i++)
        if (st->kind[off + i] > k)
            k = st->kind[off + i];
    if (k >= NFE_NOTLO)
        nfe_why(run, st, "", st->unk != NULL ? st->unk : "an unknown value", "");
    return k;
}

static enum nfe_step nfe_cmp(struct nfe_run *run, struct nfe_state *st, const struct nfe_expr *e)
{
    static const uint8_t lo_name[4] = {'l', 'o', 0, 0};
    static const uint32_t lo_index = 1;
    int d, m;
    int k = nfe_kind(run, st, e->sreg, e->d1.len);

    if (k == NFE_NOTLO && (e->op == NFT_CMP_EQ || e->op == NFT_CMP_NEQ) &&
        ((e->d1.len >= 3 && memcmp(e->d1.p, lo_name, 3) == 0 &&
          (e->d1.len == 3 || e->d1.p[3] == 0)) ||
         (e->d1.len == 4 && memcmp(e->d1.p, &lo_index, 4) == 0)))
        return e->op == NFT_CMP_EQ ? S_BREAK : S_NEXT; /* not the loopback */
    if (k >= NFE_NOTLO)
        return S_UNKNOWN;
    if (k == NFE_SYM) {
        /* an address or port no rule names: unequal to every constant */
        if (e->op == NFT_CMP_EQ)
            return S_BREAK;
        if (e->op == NFT_CMP_NEQ)
            return S_NEXT;
        nfe_why(run, st, "", "an ordered comparison of an address or port cannot be evaluated", "");
        return S_UNKNOWN;
    }
    d = memcmp(st->val + e->sreg, e->d1.p, e->d1.len);
    switch (e->op) {
    case NFT_CMP_EQ:
        m = d == 0;
        break;
    case NFT_CMP_NEQ:
        m = d != 0;
        break;
    case NFT_CMP_LT:
        m = d < 0;
        break;
    case NFT_CMP_LTE:
        m = d <= 0;
        break;
    case NFT_CMP_GT:
        m = d > 0;
        break;
    default:
        m = d >= 0;
        break;
    }
    return m ? S_NEXT : S_BREAK;
}

static enum nfe_step nfe_range(struct nfe_run *run, struct nfe_state *st, const struct nfe_expr *e)
{
    int in, k = nfe_kind(run, st, e->sreg, e->d1.len);

    if (k >= NFE_NOTLO)
        return S_UNKNOWN;
    if (k == NFE_SYM)
        return e->op == NFT_RANGE_EQ ? S_BREAK : S_NEXT;
    in = memcmp(st->val + e->sreg, e->d1.p, e->d1.len) >= 0 &&
         memcmp(st->val + e->sreg, e->d2.p, e->d2.len) <= 0;
    return (e->op == NFT_RANGE_EQ) == in ? S_NEXT : S_BREAK;
}

static enum nfe_step nfe_bitwise(struct nfe_run *run, struct nfe_state *st,
                                 const struct nfe_expr *e)
{
    uint8_t v[NFE_REGS], k[NFE_REGS];
    uint32_t i;

    (void)run;
    for (i = 0; i < e->len; i++) {
        k[i] = st->kind[e->sreg + i];
        v[i] = (uint8_t)((st->val[e->sreg + i] & e->d1.p[i]) ^ e->d2.p[i]);
        if (e->d1.p[i] == 0)
            k[i] = NFE_CONCRETE; /* masked away: whatever it was */
    }
    memcpy(st->val + e->dreg, v, e->len);
    memcpy(st->kind + e->dreg, k, e->len);
    return S_NEXT;
}

/* Is the key in the set? -1 when that cannot be told. */
static int nfe_set_has(const struct nfe_rs *rs, const struct nfe_set *s, const uint8_t *key,
                       const struct nfe_elem **hit)
{
    const struct nfe_elem *best = NULL, *catchall = NULL;
    size_t i;

    *hit = NULL;
    for (i = 0; i < s->n_elems; i++) {
        const struct nfe_elem *el = &rs->elems[s->elems[i]];

        if (el->flags & NFT_SET_ELEM_CATCHALL) {
            catchall = el;
            continue;
        }
        if (el->key_end.p != NULL) {
            if (s->concat && memcmp(el->key.p, el->key_end.p, s->key_len) != 0)
                return -1; /* ranges per field of a concatenation */
            if (memcmp(key, el->key.p, s->key_len) >= 0 &&
                memcmp(key, el->key_end.p, s->key_len) <= 0) {
                *hit = el;
                return 1;
            }
            continue;
        }
        if (s->flags & NFT_SET_INTERVAL) {
            /* interval sets list starts and (exclusive) ends */
            if (memcmp(el->key.p, key, s->key_len) <= 0 &&
                (best == NULL || memcmp(el->key.p, best->key.p, s->key_len) > 0 ||
                 (memcmp(el->key.p, best->key.p, s->key_len) == 0 &&
                  (el->flags & NFT_SET_ELEM_INTERVAL_END))))
                best = el;
            continue;
        }
        if (memcmp(el->key.p, key, s->key_len) == 0) {
            *hit = el;
            return 1;
        }
    }
    if (best != NULL && (best->flags & NFT_SET_ELEM_INTERVAL_END) == 0) {
        *hit = best;
        return 1;
    }
    if (catchall != NULL) {
        *hit = catchall;
        return 1;
    }
    return 0;
}

static enum nfe_step nfe_lookup(struct nfe_run *run, struct nfe_state *st, const struct nfe_expr *e,
                                struct nfe_verdict *v)
{
    const struct nfe_set *s = &run->rs->sets[e->set_idx];
    const struct nfe_elem *el = NULL;
    int found, k = nfe_kind(run, st, e->sreg, s->key_len);

    if (k >= NFE_NOTLO)
        return S_UNKNOWN;
    if (k == NFE_SYM) {
        found = 0; /* an address or port no rule names is in no set */
        for (size_t i = 0; i < s->n_elems; i++)
            if (run->rs->elems[s->elems[i]].flags & NFT_SET_ELEM_CATCHALL)
                found = -1;
        if (found < 0) {
            nfe_why(run, st, "the catch-all element of set ", s->name, " cannot be evaluated");
            return S_UNKNOWN;
        }
    } else {
        found = nfe_set_has(run->rs, s, st->val + e->sreg, &el);
        if (found < 0) {
            nfe_why(run, st, "ranges in the concatenated set ", s->name, " cannot be evaluated");
            return S_UNKNOWN;
        }
    }
    if (!e->has_dreg)
        return (found != 0) != ((e->flags & NFT_LOOKUP_F_INV) != 0) ? S_NEXT : S_BREAK;
    if (!found)
        return S_BREAK;
    if (el == NULL || !el->data.is_verdict) {
        nfe_why(run, st, "the verdict map ", s->name, " has an element without a verdict");
        return S_UNKNOWN;
    }
    v->code = el->data.verdict;
    v->chain = -1;
    if (el->data.chain != NULL) {
        v->chain = -2; /* resolved by the caller */
        for (size_t i = 0; i < run->rs->n_chains; i++)
            if (run->rs->chains[i].table == s->table &&
                strcmp(run->rs->chains[i].name, el->data.chain) == 0)
                v->chain = (int)i;
        if (v->chain < 0) {
            nfe_why(run, st, "the verdict map ", s->name, " names a missing chain");
            return S_UNKNOWN;
        }
    }
    return S_VERDICT;
}

static enum nfe_step nfe_ct(struct nfe_run *run, struct nfe_state *st, const struct nfe_expr *e)
{
    uint32_t u;

    (void)run;
    switch (e->key) {
    case NFT_CT_STATE:
        /* a new connection; before conntrack (or with notrack) none */
        u = st->untracked ? 64 : st->before_ct ? 1 : 8;
        nfe_store(st, e->dreg, &u, 4, NFE_CONCRETE);
        return S_NEXT;
    case NFT_CT_STATUS:
    case NFT_CT_MARK:
        if (st->untracked || st->before_ct)
            return S_BREAK; /* no conntrack entry */
        u = 0;              /* new, not NATed, unmarked */
        nfe_store(st, e->dreg, &u, 4, NFE_CONCRETE);
        return S_NEXT;
    case NFT_CT_DIRECTION:
        if (st->untracked || st->before_ct)
            return S_BREAK;
        u = 0; /* original */
        nfe_store(st, e->dreg, &u, 1, NFE_CONCRETE);
        return S_NEXT;
    default:
        st->unk = "a ct key other than state, status, mark or direction";
        nfe_store(st, e->dreg, NULL, 4, NFE_UNKNOWN);
        return S_NEXT;
    }
}

static enum nfe_step nfe_fib(struct nfe_run *run, struct nfe_state *st, const struct nfe_expr *e)
{
    const struct nfe_pkt *pk = run->pkt;
    uint32_t u;
    uint8_t name[16];

    /* The modelled packet is unicast to a local address, from a source
     * routed back through the interface it came in on. */
    if (e->flags & NFTA_FIB_F_PRESENT) {
        u = 1;
        nfe_store(st, e->dreg, &u, 1, NFE_CONCRETE);
        return S_NEXT;
    }
    switch (e->result) {
    case NFT_FIB_RESULT_ADDRTYPE:
        u = (e->flags & NFTA_FIB_F_DADDR) ? 2 /* RTN_LOCAL */ : 1 /* RTN_UNICAST */;
        nfe_store(st, e->dreg, &u, 4, NFE_CONCRETE);
        return S_NEXT;
    case NFT_FIB_RESULT_OIF:
        if ((e->flags & NFTA_FIB_F_SADDR) && pk->ifc != NULL && pk->ifc->ifindex != 0) {
            u = pk->ifc->ifindex;
            nfe_store(st, e->dreg, &u, 4, NFE_CONCRETE);
            return S_NEXT;
        }
        break;
    case NFT_FIB_RESULT_OIFNAME:
        if ((e->flags & NFTA_FIB_F_SADDR) && pk->ifc != NULL && e->dreg + 16 <= NFE_REGS) {
            memcpy(name, pk->ifc->name, 16);
            nfe_store(st, e->dreg, name, 16, NFE_CONCRETE);
            return S_NEXT;
        }
        break;
    default:
        break;
    }
    st->unk = "a fib lookup of this kind";
    nfe_store(st, e->dreg, NULL, e->dreg + 16 <= NFE_REGS ? 16 : 4, NFE_UNKNOWN);
    return S_NEXT;
}

/* ---- iptables-nft's xtables matches and targets ---- */

static uint16_t nfe_h16(const unsigned char *p)
{
    uint16_t v;

    memcpy(&v, p, 2);
    return v;
}

static int nfe_port_in(int port, uint16_t lo, uint16_t hi)
{
    if (port < 0)
        return lo == 0 && hi == 0xffff; /* a port no rule names */
    return port >= lo && port <= hi;
}

/* 1 match, 0 no match, -1 cannot tell. */
static int nfe_xt_match(const struct nfe_run *run, const struct nfe_state *st,
                        const struct nfe_expr *e)
{
    const struct nfe_pkt *pk = run->pkt;
    const unsigned char *in = e->info;
    uint32_t n = e->info_len;
    /* NEW is bit 3 and INVALID bit 0 in both matches; UNTRACKED differs */
    uint32_t ct_new = st->before_ct ? 1u : 1u << 3;

    if (nfe_is(e->name, "comment") || nfe_is(e->name, "limit"))
        return 1;
    /* IPv6 extension headers (none in the modelled packets) and ICMP types
     * (the packets are TCP or UDP) */
    if (nfe_is(e->name, "rt") || nfe_is(e->name, "frag") || nfe_is(e->name, "hbh") ||
        nfe_is(e->name, "dst") || nfe_is(e->name, "icmp") || nfe_is(e->name, "icmp6"))
        return 0;
    if ((nfe_is(e->name, "tcp") && n >= 12) || (nfe_is(e->name, "udp") && n >= 10)) {
        int tcp = nfe_is(e->name, "tcp"), m;
        uint8_t inv = in[tcp ? 11 : 8];

        if (pk->l4 != (tcp ? 6 : 17))
            return 0;
        if (tcp && in[8] != 0)
            return -1; /* TCP options */
        m = nfe_port_in(-1, nfe_h16(in), nfe_h16(in + 2)) != ((inv & 1) != 0);
        m = m && nfe_port_in(pk->port, nfe_h16(in + 4), nfe_h16(in + 6)) != ((inv & 2) != 0);
        if (tcp)
            m = m && (((0x02 & in[9]) == in[10]) != ((inv & 4) != 0));
        return m;
    }
    if (nfe_is(e->name, "multiport") && e->rev == 1 && n >= 2 + 30 + 15 + 1) {
        uint8_t flags = in[0], count = in[1];
        int hit = 0;

        if (count > 15)
            return -1;
        for (unsigned i = 0; i < count; i++) {
            uint16_t lo = nfe_h16(in + 2 + 2 * i), hi = lo;

            if (in[32 + i] && i + 1 < count) {
                hi = nfe_h16(in + 2 + 2 * (i + 1));
                i++;
            }
            if (flags != 0 /* source only */ && nfe_port_in(pk->port, lo, hi))
                hit = 1;
            if (flags != 1 && nfe_port_in(-1, lo, hi))
                hit = 1;
        }
        return hit != (in[47] != 0);
    }
    if (nfe_is(e->name, "state") && n >= 4) {
        uint32_t mask;

        memcpy(&mask, in, 4);
        return (mask & (st->untracked ? 1u << 4 : ct_new)) != 0;
    }
    if (nfe_is(e->name, "conntrack") && e->rev >= 1 && e->rev <= 3 && n >= 152) {
        uint16_t mflags = nfe_h16(in + 146), iflags = nfe_h16(in + 148);
        uint16_t smask = e->rev == 1 ? in[150] : nfe_h16(in + 150);

        uint32_t state = st->untracked ? 1u << 8 : ct_new;

        if (mflags & ~(1u | 1u << 13))
            return -1; /* only --ctstate (or -m state written as conntrack) */
        if (mflags & 1)
            return ((smask & state) != 0) != ((iflags & 1) != 0);
        return 1;
    }
    if (nfe_is(e->name, "addrtype") && e->rev == 1 && n >= 8) {
        uint16_t src = nfe_h16(in), dst = nfe_h16(in + 2);
        uint32_t fl;
        int m = 1;

        memcpy(&fl, in + 4, 4);
        if (fl & 0xc)
            return -1; /* --limit-iface-in/out */
        if (src)
            m = m && (((src & (1u << 1)) != 0) != ((fl & 1) != 0));
        if (dst)
            m = m && (((dst & (1u << 2)) != 0) != ((fl & 2) != 0));
        return m;
    }
    if (nfe_is(e->name, "pkttype") && n >= 8) {
        int32_t type, inv;

        memcpy(&type, in, 4);
        memcpy(&inv, in + 4, 4);
        return (type == 0) != (inv != 0);
    }
    return -1;
}

static enum nfe_step nfe_xt_target(struct nfe_run *run, struct nfe_state *st,
                                   const struct nfe_expr *e, struct nfe_verdict *v)
{
    static const char *const passive[] = {"LOG",    "NFLOG",    "MARK",  "CONNMARK", "CT",
                                          "TCPMSS", "CLASSIFY", "AUDIT", "TRACE"};
    size_t i;

    if (nfe_is(e->name, "REJECT")) {
        v->code = NF_DROP;
        v->chain = -1;
        return S_VERDICT;
    }
    for (i = 0; i < sizeof(passive) / sizeof(passive[0]); i++)
        if (nfe_is(e->name, passive[i]))
            return S_NEXT;
    nfe_why(run, st, "xt target ", e->name, " cannot be evaluated");
    return S_UNKNOWN;
}

/* ---- running a chain ---- */

enum nfe_out { O_DROP = 1, O_ACCEPT = 2, O_UNKNOWN = 4 };

static int nfe_run_state(struct nfe_run *run, struct nfe_state st);

/* Fork at an unknown match: both outcomes, combined. */
static int nfe_fork(struct nfe_run *run, const struct nfe_state *st)
{
    struct nfe_state yes = *st, no = *st;
    int a, b;

    if (++run->forks > DA_MAX_NFT_FORKS)
        return O_UNKNOWN;
    yes.expr++;
    no.rule = run->rs->rules[st->rule].next;
    no.expr = 0;
    a = nfe_run_state(run, yes);
    if (a == O_UNKNOWN)
        return a;
    b = nfe_run_state(run, no);
    return a | b;
}

/* Apply a verdict; returns 0 to go on with st, or an outcome. */
static int nfe_verdict(struct nfe_run *run, struct nfe_state *st, const struct nfe_verdict *v)
{
    const struct nfe_chain *c = &run->rs->chains[st->chain];

    switch (v->code) {
    case NF_ACCEPT:
    case NF_DROP:
        snprintf(run->what, sizeof(run->what), "%s by table %s chain %s rule %llu",
                 v->code == NF_ACCEPT ? "accepted" : "dropped", run->rs->tables[c->table].name,
                 c->name, (unsigned long long)run->rs->rules[st->rule].handle);
        return v->code == NF_ACCEPT ? O_ACCEPT : O_DROP;
    case NFT_CONTINUE:
        st->expr++;
        return 0;
    case NFT_BREAK:
        st->rule = run->rs->rules[st->rule].next, st->expr = 0;
        return 0;
    case NFT_JUMP:
        if (st->depth >= NFE_JUMP_STACK) {
            nfe_why(run, st, "", "jumps nest too deep", "");
            return O_UNKNOWN;
        }
        st->stack[st->depth].chain = st->chain;
        st->stack[st->depth].rule = run->rs->rules[st->rule].next;
        st->depth++;
        /* fall through */
    case NFT_GOTO:
        st->chain = v->chain;
        st->rule = run->rs->chains[v->chain].first_rule;
        st->expr = 0;
        return 0;
    case NFT_RETURN:
        st->rule = -1; /* the end of this chain */
        return 0;
    default:
        nfe_why(run, st, "", "a verdict other than accept, drop, jump, goto, return", "");
        return O_UNKNOWN;
    }
}

/* The end of a chain: back to the caller, or the base chain's policy. */
static int nfe_chain_end(struct nfe_run *run, struct nfe_state *st)
{
    const struct nfe_chain *c;

    if (st->depth > 0) {
        st->depth--;
        st->chain = st->stack[st->depth].chain;
        st->rule = st->stack[st->depth].rule;
        st->expr = 0;
        return 0;
    }
    c = &run->rs->chains[st->chain];
    snprintf(run->what, sizeof(run->what), "%s by the policy of table %s chain %s",
             c->policy == NF_DROP ? "dropped" : "accepted", run->rs->tables[c->table].name,
             c->name);
    return c->policy == NF_DROP ? O_DROP : O_ACCEPT;
}

static enum nfe_step nfe_expr_step(struct nfe_run *run, struct nfe_state *st,
                                   const struct nfe_expr *e, struct nfe_verdict *v)
{
    int m;

    switch (e->kind) {
    case K_NOP:
    case K_META_SET:
        return S_NEXT;
    case K_NOTRACK:
        st->untracked = 1;
        return S_NEXT;
    case K_EXTHDR:
        if ((e->flags & NFT_EXTHDR_F_PRESENT) == 0)
            return S_BREAK; /* no such header: the rule does not match */
        nfe_store(st, e->dreg, NULL, 1, NFE_CONCRETE);
        return S_NEXT;
    case K_IMM:
        if (e->has_dreg) {
            nfe_store(st, e->dreg, e->d1.p, e->d1.len, NFE_CONCRETE);
            return S_NEXT;
        }
        v->code = e->d1.verdict;
        v->chain = e->chain_idx;
        return S_VERDICT;
    case K_META:
        return nfe_meta(run, st, e);
    case K_CMP:
        return nfe_cmp(run, st, e);
    case K_PAYLOAD:
        return nfe_payload(run, st, e);
    case K_BITWISE:
        return nfe_bitwise(run, st, e);
    case K_LOOKUP:
        return nfe_lookup(run, st, e, v);
    case K_CT:
        return nfe_ct(run, st, e);
    case K_RANGE:
        return nfe_range(run, st, e);
    case K_FIB:
        return nfe_fib(run, st, e);
    case K_XT_MATCH:
        m = nfe_xt_match(run, st, e);
        if (m < 0) {
            nfe_why(run, st, "xt match ", e->name, " cannot be evaluated");
            return S_UNKNOWN;
        }
        return m ? S_NEXT : S_BREAK;
    case K_XT_TARGET:
        return nfe_xt_target(run, st, e, v);
    case K_REJECT:
        v->code = NF_DROP;
        v->chain = -1;
        return S_VERDICT;
    case K_LIMIT:
        /* the first packet is within any rate; "limit rate over" does not match it */
        return (e->flags & NFT_LIMIT_F_INV) ? S_BREAK : S_NEXT;
    case K_NAT:
        nfe_why(run, st, "", e->name, " changes where the packet goes");
        return S_UNKNOWN;
    default:
        nfe_why(run, st, "expression ", e->name, " cannot be evaluated");
        return S_UNKNOWN;
    }
}

static int nfe_run_state(struct nfe_run *run, struct nfe_state st)
{
    const struct nfe_rs *rs = run->rs;

    for (;;) {
        const struct nfe_rule *ru;
        struct nfe_verdict v;
        enum nfe_step s;
        int out;

        if (++run->steps > DA_MAX_NFT_STEPS || *run->pkt->budget == 0) {
            nfe_why(run, &st, "", "the evaluation took too many steps", "");
            return O_UNKNOWN;
        }
        --*run->pkt->budget;
        if (st.rule < 0) {
            if ((out = nfe_chain_end(run, &st)) != 0)
                return out;
            continue;
        }
        ru = &rs->rules[st.rule];
        if (st.expr >= ru->n_expr) {
            st.rule = ru->next, st.expr = 0;
            continue;
        }
        s = nfe_expr_step(run, &st, &rs->exprs[ru->first_expr + st.expr], &v);
        switch (s) {
        case S_NEXT:
            st.expr++;
            break;
        case S_BREAK:
            st.rule = ru->next, st.expr = 0;
            break;
        case S_UNKNOWN: {
            const struct nfe_expr *e = &rs->exprs[ru->first_expr + st.expr];

            /* a match that cannot be told: both ways; anything else that
             * may decide the packet's fate: unknown */
            if (e->kind == K_CMP || e->kind == K_RANGE || e->kind == K_XT_MATCH ||
                (e->kind == K_LOOKUP && !e->has_dreg))
                return nfe_fork(run, &st);
            return O_UNKNOWN;
        }
        case S_VERDICT:
            if ((v.code == NFT_JUMP || v.code == NFT_GOTO) && v.chain < 0) {
                nfe_why(run, &st, "", "a jump to a missing chain", "");
                return O_UNKNOWN;
            }
            if ((out = nfe_verdict(run, &st, &v)) != 0)
                return out;
            break;
        }
    }
}

/* ---- the path of a packet ---- */

static int nfe_dev_matches(const struct nfe_chain *c, const struct col_fw_iface *ifc)
{
    struct nfe_iter it;
    struct nfe_attr a;

    if (ifc == NULL)
        return -1;
    if (!c->devs_list)
        return c->devs_len > 0 && strncmp((const char *)c->devs, ifc->name, c->devs_len) == 0;
    it.p = c->devs;
    it.left = c->devs_len;
    while (nfe_next(&it, &a) == 1)
        if (a.len > 0 && strncmp((const char *)a.p, ifc->name, a.len) == 0)
            return 1;
    return 0;
}

/* Does the packet meet this base chain, and at which step (0 ingress,
 * 1 prerouting, 2 input)? -1: no, -2: cannot tell. */
static int nfe_on_path(const struct nfe_rs *rs, const struct nfe_chain *c, const struct nfe_pkt *pk)
{
    const struct nfe_table *t = &rs->tables[c->table];
    int d;

    if (!c->base || (t->flags & NFT_TABLE_F_DORMANT))
        return -1;
    switch (t->family) {
    case NFPROTO_NETDEV:
        if (c->hook != NF_NETDEV_INGRESS)
            return -1;
        d = nfe_dev_matches(c, pk->ifc);
        return d < 0 ? -2 : d ? 0 : -1;
    case NFPROTO_INET:
        break;
    case NFPROTO_IPV4:
        if (pk->v6)
            return -1;
        break;
    case NFPROTO_IPV6:
        if (!pk->v6)
            return -1;
        break;
    default:
        return -1;
    }
    if (c->hook == NF_INET_PRE_ROUTING)
        return 1;
    if (c->hook == NF_INET_LOCAL_IN)
        return 2;
    if (c->hook == NF_INET_INGRESS) {
        d = nfe_dev_matches(c, pk->ifc);
        return d < 0 ? -2 : d ? 0 : -1;
    }
    return -1;
}

static int nfe_chain_order(const struct nfe_rs *rs, const struct nfe_pkt *pk, int a, int b)
{
    int sa = nfe_on_path(rs, &rs->chains[a], pk), sb = nfe_on_path(rs, &rs->chains[b], pk);

    if (sa != sb)
        return sa < sb ? -1 : 1;
    if (rs->chains[a].prio != rs->chains[b].prio)
        return rs->chains[a].prio < rs->chains[b].prio ? -1 : 1;
    return a < b ? -1 : a > b;
}

struct nfe_answer {
    enum col_fw_verdict v;
    char text[256];
};

/* One packet through every base chain of its path. */
static void nfe_packet(const struct nfe_rs *rs, const struct nfe_pkt *pk, struct nfe_answer *ans)
{
    struct nfe_run run;
    int *path = NULL, unknown = 0, any = 0;
    size_t i, j, n = 0;
    char first_unknown[256] = "", last_accept[192] = "";

    ans->v = COL_FW_UNKNOWN;
    path = rs->n_chains > 0 ? malloc(rs->n_chains * sizeof(*path)) : NULL;
    if (rs->n_chains > 0 && path == NULL) {
        snprintf(ans->text, sizeof(ans->text), "out of memory");
        return;
    }
    for (i = 0; i < rs->n_chains; i++) {
        int on = nfe_on_path(rs, &rs->chains[i], pk);

        if (on == -2 && !unknown) {
            unknown = 1;
            snprintf(first_unknown, sizeof(first_unknown),
                     "an ingress chain on a named device (table %s, chain %s), interface unknown",
                     rs->tables[rs->chains[i].table].name, rs->chains[i].name);
        }
        if (on >= 0)
            path[n++] = (int)i;
    }
    for (i = 1; i < n; i++) /* insertion sort: hook, then priority */
        for (j = i; j > 0 && nfe_chain_order(rs, pk, path[j - 1], path[j]) > 0; j--) {
            int t = path[j];

            path[j] = path[j - 1];
            path[j - 1] = t;
        }
    for (i = 0; i < n; i++) {
        const struct nfe_chain *c = &rs->chains[path[i]];
        struct nfe_state st;
        int out;

        memset(&run, 0, sizeof(run));
        run.rs = rs;
        run.pkt = pk;
        memset(&st, 0, sizeof(st));
        st.chain = path[i];
        st.rule = c->first_rule;
        /* conntrack runs at priority -200 of prerouting */
        st.before_ct = nfe_on_path(rs, c, pk) == 0 ||
                       (c->hook == NF_INET_PRE_ROUTING && c->prio < NFE_PRI_CONNTRACK);
        out = nfe_run_state(&run, st);
        any = 1;
        if (out == O_DROP) {
            ans->v = COL_FW_DROP;
            snprintf(ans->text, sizeof(ans->text), "%s", run.what);
            free(path);
            return;
        }
        if (out == O_ACCEPT) {
            snprintf(last_accept, sizeof(last_accept), "%s", run.what);
            continue;
        }
        if (!unknown) {
            unknown = 1;
            snprintf(first_unknown, sizeof(first_unknown), "%s",
                     run.why[0] != '\0' ? run.why : "dropped on some paths, accepted on others");
            if (run.why[0] != '\0' && (out & O_UNKNOWN) == 0)
                snprintf(first_unknown, sizeof(first_unknown),
                         "dropped or accepted depending on: %.200s", run.why);
        }
    }
    free(path);
    if (unknown) {
        snprintf(ans->text, sizeof(ans->text), "%s", first_unknown);
        return;
    }
    ans->v = COL_FW_ACCEPT;
    snprintf(ans->text, sizeof(ans->text), "%s",
             any ? last_accept : "no base chain on the ingress, prerouting or input hooks");
}

/* ---- ports the rules name ---- */

struct nfe_ports {
    uint16_t p[DA_MAX_NFT_PORTS];
    size_t n;
};

static void nfe_port_add(struct nfe_ports *ps, uint16_t port)
{
    size_t i;

    for (i = 0; i < ps->n; i++)
        if (ps->p[i] == port)
            return;
    if (ps->n < DA_MAX_NFT_PORTS)
        ps->p[ps->n++] = port;
}

/* Ports compared with a destination port: constants after a load of the
 * transport header's bytes 2..3, set elements looked up with it, and the
 * ports of xt tcp/udp/multiport matches. */
static void nfe_gather_ports(const struct nfe_rs *rs, struct nfe_ports *ps)
{
    size_t r, i, k;

    for (r = 0; r < rs->n_rules; r++) {
        const struct nfe_rule *ru = &rs->rules[r];
        int port_reg = -1;

        for (i = 0; i < ru->n_expr; i++) {
            const struct nfe_expr *e = &rs->exprs[ru->first_expr + i];

            if (e->kind == K_PAYLOAD) {
                port_reg = e->base == NFT_PAYLOAD_TRANSPORT_HEADER && e->off == 2 && e->len == 2
                               ? (int)e->dreg
                               : -1;
            } else if (e->kind == K_CMP && (int)e->sreg == port_reg && e->d1.len == 2) {
                nfe_port_add(ps, (uint16_t)(e->d1.p[0] << 8 | e->d1.p[1]));
            } else if (e->kind == K_RANGE && (int)e->sreg == port_reg && e->d1.len == 2) {
                nfe_port_add(ps, (uint16_t)(e->d1.p[0] << 8 | e->d1.p[1]));
            } else if (e->kind == K_LOOKUP && (int)e->sreg == port_reg) {
                const struct nfe_set *s = &rs->sets[e->set_idx];

                for (k = 0; k < s->n_elems; k++) {
                    const struct nfe_elem *el = &rs->elems[s->elems[k]];

                    if (el->key.p != NULL && el->key.len >= 2 &&
                        (el->flags & NFT_SET_ELEM_INTERVAL_END) == 0)
                        nfe_port_add(ps, (uint16_t)(el->key.p[0] << 8 | el->key.p[1]));
                }
            } else if (e->kind == K_XT_MATCH &&
                       (nfe_is(e->name, "tcp") || nfe_is(e->name, "udp")) && e->info_len >= 8) {
                nfe_port_add(ps, nfe_h16(e->info + 4));
            } else if (e->kind == K_XT_MATCH && nfe_is(e->name, "multiport") && e->info_len >= 32) {
                for (k = 0; k < e->info[1] && k < 15; k++)
                    nfe_port_add(ps, nfe_h16(e->info + 2 + 2 * k));
            }
        }
    }
}

/* ---- the answer per family ---- */

const char *col_fw_verdict_name(enum col_fw_verdict v)
{
    return v == COL_FW_DROP ? "drop" : v == COL_FW_ACCEPT ? "accept" : "unknown";
}

/* A packet on every interface: dropped only when dropped on each. The
 * text is that of the first accept, else of the first unknown. */
static void nfe_all_ifaces(const struct nfe_rs *rs, struct nfe_pkt *pk,
                           const struct col_fw_iface *ifs, size_t n_ifs, struct nfe_answer *ans)
{
    struct nfe_answer a;
    size_t i;

    pk->ifc = NULL;
    if (n_ifs == 0) {
        nfe_packet(rs, pk, ans);
        return;
    }
    ans->v = COL_FW_DROP;
    for (i = 0; i < n_ifs && ans->v != COL_FW_ACCEPT; i++) {
        pk->ifc = &ifs[i];
        nfe_packet(rs, pk, &a);
        if (i == 0 || a.v == COL_FW_ACCEPT || (a.v == COL_FW_UNKNOWN && ans->v == COL_FW_DROP)) {
            ans->v = a.v;
            snprintf(ans->text, sizeof(ans->text), "%.230s (on %.16s)", a.text, ifs[i].name);
        }
    }
}

static void nfe_family(const struct nfe_rs *rs, int v6, const struct nfe_ports *ps,
                       const struct col_fw_iface *ifs, size_t n_ifs, size_t *budget,
                       struct col_fw_family *f)
{
    struct nfe_answer tcp, udp, a;
    struct nfe_pkt pk;
    size_t i;

    memset(f, 0, sizeof(*f));
    memset(&pk, 0, sizeof(pk));
    pk.budget = budget;
    pk.v6 = v6;
    pk.port = -1;
    pk.l4 = 6;
    nfe_all_ifaces(rs, &pk, ifs, n_ifs, &tcp);
    pk.l4 = 17;
    nfe_all_ifaces(rs, &pk, ifs, n_ifs, &udp);
    f->tcp = tcp.v;
    f->udp = udp.v;
    if (tcp.v == COL_FW_ACCEPT || udp.v == COL_FW_ACCEPT)
        f->inbound = COL_FW_ACCEPT;
    else if (tcp.v == COL_FW_DROP && udp.v == COL_FW_DROP)
        f->inbound = COL_FW_DROP;
    else
        f->inbound = COL_FW_UNKNOWN;
    snprintf(f->reason, sizeof(f->reason), "tcp: %.250s; udp: %.250s", tcp.text, udp.text);
    for (i = 0; i < ps->n; i++) {
        pk.port = ps->p[i];
        pk.l4 = 6;
        nfe_all_ifaces(rs, &pk, ifs, n_ifs, &a);
        if (a.v == COL_FW_ACCEPT) {
            if (f->n_open_tcp < COL_FW_MAX_OPEN)
                f->open_tcp[f->n_open_tcp++] = ps->p[i];
            else
                f->open_truncated = 1;
        }
        pk.l4 = 17;
        nfe_all_ifaces(rs, &pk, ifs, n_ifs, &a);
        if (a.v == COL_FW_ACCEPT) {
            if (f->n_open_udp < COL_FW_MAX_OPEN)
                f->open_udp[f->n_open_udp++] = ps->p[i];
            else
                f->open_truncated = 1;
        }
    }
}

static int nfe_port_cmp(const void *a, const void *b)
{
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

int col_nft_evaluate(const unsigned char *dump, size_t len, const struct col_fw_iface *ifs,
                     size_t n_ifs, struct col_fw_result *out)
{
    struct nfe_rs rs;
    struct nfe_ports *ps = NULL;
    size_t i, budget;
    int r;

    memset(out, 0, sizeof(*out));
    memset(&rs, 0, sizeof(rs));
    r = nfe_decode(dump, len, &rs);
    if (r != 0)
        goto out;
    ps = calloc(1, sizeof(*ps));
    if (ps == NULL) {
        r = DA_ERR_NOMEM;
        goto out;
    }
    nfe_gather_ports(&rs, ps);
    qsort(ps->p, ps->n, sizeof(ps->p[0]), nfe_port_cmp);
    budget = DA_MAX_NFT_TOTAL_STEPS;
    nfe_family(&rs, 0, ps, ifs, n_ifs, &budget, &out->ipv4);
    nfe_family(&rs, 1, ps, ifs, n_ifs, &budget, &out->ipv6);
    out->tables = rs.n_tables;
    for (i = 0; i < rs.n_tables; i++)
        if (rs.tables[i].flags & NFT_TABLE_F_DORMANT)
            out->dormant_tables++;
    for (i = 0; i < rs.n_chains; i++)
        if (rs.chains[i].base)
            out->base_chains++;
    out->rules = rs.n_rules;
    out->sets = rs.n_sets;
out:
    free(ps);
    nfe_rs_free(&rs);
    return r;
}

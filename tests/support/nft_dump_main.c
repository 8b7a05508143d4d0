/* da-nft-dump: write the running network namespace's nftables ruleset, as
 * the collector's live probe reads it (raw netlink messages), to a file.
 * With --eval IFACE..., print the evaluator's answer instead. Used by the
 * firewall tests and to make the evaluator's fuzz corpus. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "caps.h"
#include "collector.h"
#include "nft_eval.h"

static void print_family(const char *name, const struct col_fw_family *f)
{
    size_t i;

    printf("%s %s tcp=%s udp=%s open_tcp=", name, col_fw_verdict_name(f->inbound),
           col_fw_verdict_name(f->tcp), col_fw_verdict_name(f->udp));
    for (i = 0; i < f->n_open_tcp; i++)
        printf("%s%u", i ? "," : "", f->open_tcp[i]);
    printf(" open_udp=");
    for (i = 0; i < f->n_open_udp; i++)
        printf("%s%u", i ? "," : "", f->open_udp[i]);
    printf(" reason=%s\n", f->reason);
}

int main(int argc, char **argv)
{
    struct da_buf b;
    FILE *f;
    int r;

    if (argc < 2) {
        fprintf(stderr, "usage: da-nft-dump FILE | --eval\n");
        return 2;
    }
    da_buf_init(&b, DA_MAX_NFT_DUMP);
    r = col_live_ops.nft_dump(&b);
    if (r != 0) {
        fprintf(stderr, "da-nft-dump: %s\n", strerror(-r));
        da_buf_free(&b);
        return 1;
    }
    if (strcmp(argv[1], "--eval") == 0) {
        struct col_fw_result res;
        struct col_fw_iface ifs[8];
        int i, n = 0;

        memset(ifs, 0, sizeof(ifs));
        for (i = 2; i < argc && n < 8; i++, n++)
            snprintf(ifs[n].name, sizeof(ifs[n].name), "%s", argv[i]);
        r = col_nft_evaluate(da_buf_data(&b), da_buf_len(&b), ifs, (size_t)n, &res);
        if (r == 0) {
            print_family("ipv4", &res.ipv4);
            print_family("ipv6", &res.ipv6);
        } else {
            fprintf(stderr, "da-nft-dump: evaluation failed (%d)\n", r);
        }
        da_buf_free(&b);
        return r == 0 ? 0 : 1;
    }
    f = fopen(argv[1], "wb");
    if (f == NULL || fwrite(da_buf_data(&b), 1, da_buf_len(&b), f) != da_buf_len(&b)) {
        fprintf(stderr, "da-nft-dump: cannot write %s\n", argv[1]);
        r = 1;
    }
    if (f != NULL && fclose(f) != 0)
        r = 1;
    da_buf_free(&b);
    return r == 0 ? 0 : 1;
}

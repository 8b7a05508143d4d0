/* The nftables ruleset evaluator: raw netlink dump bytes in, verdicts out.
 * Seeds are dumps the kernel gave for the rulesets of the firewall tests. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_target.h"
#include "nft_eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct col_fw_iface ifs[2];
    struct col_fw_result res;

    memset(ifs, 0, sizeof(ifs));
    memcpy(ifs[0].name, "veth0", 5);
    ifs[0].ifindex = 2;
    ifs[0].type = 1;
    memcpy(ifs[1].name, "eth1", 4);
    (void)col_nft_evaluate(data, size, ifs, 2, &res);
    (void)col_nft_evaluate(data, size, NULL, 0, &res);
    return 0;
}

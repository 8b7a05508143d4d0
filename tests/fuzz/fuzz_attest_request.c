/* What arrives on attest_socket and what the signer reads for attest:
 * the listener's frame check and field split, the request parser (an
 * accepted request re-encodes canonically and parses again to the same
 * tree), the caller description and the kept receipt. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "attest_req.h"
#include "attest_stmt.h"
#include "buf.h"
#include "fields.h"
#include "ipc.h"
#include "jcs.h"
#include "json.h"
#include "privsep.h"
#include "privsep_proto.h"

static void request(const uint8_t *data, size_t size)
{
    struct agent_attest_req req, again;
    struct da_buf canon;

    if (agent_attest_req_parse((const char *)data, size, &req) != 0)
        return;
    da_buf_init(&canon, AGENT_MAX_ATTEST_REQUEST);
    if (da_jcs_serialize(req.root, &canon) != 0 ||
        agent_attest_req_parse(da_buf_str(&canon), da_buf_len(&canon), &again) != 0 ||
        !cJSON_Compare(req.root, again.root, 1))
        __builtin_trap();
    agent_attest_req_free(&again);
    agent_attest_req_free(&req);
    da_buf_free(&canon);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct agent_ipc_handler table[] = {AGENT_MSG_ROW(ATTEST, NULL)};
    static const size_t caps[] = AGENT_MSG_CAPS(ATTEST);
    struct agent_field f[AGENT_MSG_N(ATTEST)];
    const unsigned char *payload = NULL;
    struct agent_receipt rc;
    size_t plen = 0;
    uint32_t type = 0;
    cJSON *caller = NULL;

    request(data, size);
    if (agent_ipc_frame_decode(data, size, table, 1, &type, &payload, &plen) == 0 &&
        agent_fields_split(payload, plen, AGENT_MSG_N(ATTEST), caps, f) == 0)
        request(f[0].data, f[0].len);
    if (da_json_parse((const char *)data, size, AGENT_MAX_CMDLINE_JSON, &caller) == 0)
        (void)agent_attest_caller_check(caller);
    cJSON_Delete(caller);
    if (agent_receipt_parse((const char *)data, size, &rc) == 0) {
        if (rc.agent_id == NULL || rc.evidence_sha256 == NULL || strlen(rc.evidence_sha256) != 64)
            __builtin_trap();
        agent_receipt_free(&rc);
    }
    return 0;
}

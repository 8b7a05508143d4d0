/* The table of every privilege-separation message (privsep_proto.h). */
#include "privsep_proto.h"

#include "privsep.h"

#define SPEC(NAME, dir)                                                                            \
    {                                                                                              \
        AGENT_MSG_##NAME, "AGENT_MSG_" #NAME, dir, AGENT_##NAME##_ALLOWED, AGENT_MSG_LEN(NAME),    \
            AGENT_MSG_N(NAME), AGENT_MSG_CAPS(NAME)                                                \
    }

const struct agent_msg_spec agent_msg_specs[] = {
    SPEC(IDENTITY, AGENT_DIR_UPLOADER_TO_SIGNER),
    SPEC(QUOTE, AGENT_DIR_UPLOADER_TO_SIGNER),
    SPEC(ENROLL, AGENT_DIR_UPLOADER_TO_SIGNER),
    SPEC(REQUOTE, AGENT_DIR_UPLOADER_TO_SIGNER),
    SPEC(IDENTITY_OK, AGENT_DIR_SIGNER_TO_UPLOADER),
    SPEC(QUOTE_OK, AGENT_DIR_SIGNER_TO_UPLOADER),
    SPEC(ENROLL_OK, AGENT_DIR_SIGNER_TO_UPLOADER),
    SPEC(COLLECT, AGENT_DIR_TO_COLLECTOR),
    SPEC(INVENTORY, AGENT_DIR_TO_COLLECTOR),
    SPEC(COLLECT_OK, AGENT_DIR_FROM_COLLECTOR),
    SPEC(INVENTORY_OK, AGENT_DIR_FROM_COLLECTOR),
    SPEC(STATE_PUT, AGENT_DIR_COLLECTOR_TO_UPLOADER),
    SPEC(FIREWALL, AGENT_DIR_COLLECTOR_TO_FIREWALL),
    SPEC(FIREWALL_OK, AGENT_DIR_FIREWALL_TO_COLLECTOR),
    SPEC(ATTEST, AGENT_DIR_CALLER_TO_LISTENER),
    SPEC(ATTEST_SIGN, AGENT_DIR_LISTENER_TO_SIGNER),
    SPEC(ATTEST_SIGNED, AGENT_DIR_SIGNER_TO_LISTENER),
    SPEC(ATTEST_OK, AGENT_DIR_LISTENER_TO_CALLER),
    SPEC(READY, AGENT_DIR_CHILD_TO_PARENT),
    SPEC(ERROR, AGENT_DIR_CHILD_TO_PARENT),
};

const size_t agent_n_msg_specs = sizeof(agent_msg_specs) / sizeof(agent_msg_specs[0]);

const struct agent_msg_spec *agent_msg_spec(uint32_t type)
{
    size_t i;

    for (i = 0; i < agent_n_msg_specs; i++) {
        if (agent_msg_specs[i].type == type)
            return &agent_msg_specs[i];
    }
    return NULL;
}

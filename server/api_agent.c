#include "api.h"
#include "err.h"
int srv_api_nonce(struct srv_request *req, struct srv_response *resp)
{
    return DA_ERR_UNSUPPORTED;
}
int srv_api_report_post(struct srv_request *req, struct srv_response *resp)
{
    return DA_ERR_UNSUPPORTED;
}

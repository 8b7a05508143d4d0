/* GET /v1/vendors/{vendor}/evidence-pack?from=&to= (admin, auditor):
 * the vendor's evidence pack as a tar archive (evidence_pack.h). */
#include <stdio.h>
#include <stdlib.h>

#include "api.h"
#include "err.h"
#include "evidence_pack.h"

int srv_api_evidence_pack(struct srv_request *req, struct srv_response *resp)
{
    const char *f = srv_request_query(req, "from"), *t = srv_request_query(req, "to");
    int64_t from = 0, to = 0, now = srv_now();
    struct da_buf b;
    int rc = 0;

    /* from defaults to 30 days before to, to to now */
    if (t != NULL)
        rc = srv_pack_time_parse(t, &to);
    else
        to = now + 1;
    if (rc == 0 && f != NULL)
        rc = srv_pack_time_parse(f, &from);
    else if (rc == 0)
        from = to - 30 * 86400;
    if (rc == 0 && to <= from)
        rc = DA_ERR_PACK_RANGE;
    if (rc != 0) {
        snprintf(resp->message, sizeof(resp->message),
                 "from and to are YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, from before to");
        return rc;
    }
    da_buf_init(&b, SRV_MAX_PACK);
    rc = srv_evidence_pack(req->srv->store, req->srv->keys, req->param[0], from, to, now, &b);
    if (rc != 0) {
        da_buf_free(&b);
        return rc;
    }
    resp->status = 200;
    resp->body = (char *)da_buf_take(&b, &resp->body_len);
    resp->content_type = "application/x-tar";
    da_buf_free(&b);
    srv_audit(req->srv, req->who.label, "evidence_pack_exported", req->param[0], 0, "");
    return resp->body != NULL ? 0 : DA_ERR_NOMEM;
}

/* GET /v1/vendors/{vendor}/oscal?from=&to= (admin, auditor): the vendor's
 * conclusions over the period as an OSCAL assessment-results document
 * (oscal.h). from and to are RFC 3339 times (listing.h); without them the
 * period is the 30 days up to now, like the evidence pack's. */
#include <stdio.h>
#include <stdlib.h>

#include "api.h"
#include "err.h"
#include "listing.h"
#include "oscal.h"

#define OSCAL_DEFAULT_PERIOD (30 * 86400)

static int window_bound(struct srv_request *req, struct srv_response *resp, const char *name,
                        int64_t *out)
{
    const char *s = srv_request_query(req, name);
    int rc;

    if (s == NULL)
        return 0;
    rc = srv_time_parse_rfc3339(s, out);
    if (rc != 0)
        snprintf(resp->message, sizeof(resp->message), "%s: %s", name, da_strerror(rc));
    return rc;
}

int srv_api_oscal(struct srv_request *req, struct srv_response *resp)
{
    int64_t now = srv_now(), to = now + 1, from;
    char *text = NULL;
    size_t len = 0;
    int rc = window_bound(req, resp, "to", &to);

    from = to - OSCAL_DEFAULT_PERIOD;
    if (rc == 0)
        rc = window_bound(req, resp, "from", &from);
    if (rc == 0)
        rc = srv_oscal_export(req->srv->store, req->param[0], from, to, &text, &len);
    if (rc != 0)
        return rc;
    free(resp->body);
    resp->body = text;
    resp->body_len = len;
    resp->status = 200;
    resp->content_type = "application/json";
    srv_audit(req->srv, req->who.label, "oscal_exported", req->param[0], 0, "");
    return 0;
}

/* JSON forms of stored records, as the API returns them. */
#ifndef SRV_RENDER_H
#define SRV_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "store.h"

/* RFC 3339 UTC ("2026-01-02T03:04:05Z"); "" for 0. */
void srv_time_rfc3339(int64_t t, char out[32]);
int srv_render_agent(const struct srv_agent *a, cJSON **out);
/* full adds evidence, transcript and receipt. */
int srv_render_report(const struct srv_report *r, bool full, cJSON **out);

/* An enrollment held for approval (store.h), as the API shows it. */
int srv_render_enrollment(const struct srv_enrollment *e, cJSON **out);

#endif

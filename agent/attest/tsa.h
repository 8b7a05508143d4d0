/* RFC 3161 time stamps of a DSSE signature (docs/evidence.md, "Delivery
 * attestations"): the request is built and the response checked with
 * OpenSSL's TS API, and sent with libcurl (agent/uploader/curl_dl.h). */
#ifndef AGENT_TSA_H
#define AGENT_TSA_H

#include <stddef.h>

#include "buf.h"

#define AGENT_TSA_MAX_RESPONSE (64u * 1024)
#define AGENT_TSA_TIMEOUT_MS   30000

/* A TimeStampReq over SHA-256(data) with a random nonce and certReq. */
int agent_tsa_request(const unsigned char *data, size_t len, struct da_buf *der,
                      unsigned char nonce[8]);

/* Check a TimeStampResp against the request (status granted, version,
 * message imprint, nonce) and put its TimeStampToken (DER ContentInfo) in
 * token. DA_ERR_TIMESTAMP_FORMAT. */
int agent_tsa_response_check(const unsigned char *req, size_t req_len, const unsigned char *resp,
                             size_t resp_len, struct da_buf *token);

/* Both, over HTTP(S) POST to url. DA_ERR_TSA when the TSA cannot be reached
 * or answers other than 200 (why says what happened). */
int agent_tsa_timestamp(const char *url, const unsigned char *data, size_t len,
                        struct da_buf *token, char *why, size_t why_size);

#endif

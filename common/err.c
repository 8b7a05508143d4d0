#include "err.h"

#include <stddef.h>

struct da_err_entry {
    int code;
    const char *api_code;
    int http_status;
    const char *message;
};

/* The one table of errors: message, stable API code, HTTP status. */
static const struct da_err_entry da_err_table[] = {
    {DA_OK, "ok", 200, "success"},

    {DA_ERR_NOMEM, "internal", 500, "out of memory"},
    {DA_ERR_INVALID_ARG, "invalid_argument", 400, "invalid argument"},
    {DA_ERR_TOO_LARGE, "too_large", 413, "input exceeds its size limit"},
    {DA_ERR_IO, "io", 500, "input/output error"},
    {DA_ERR_NOT_FOUND, "not_found", 404, "not found"},
    {DA_ERR_PERMISSION, "permission", 500, "permission denied"},
    {DA_ERR_INTERNAL, "internal", 500, "internal error"},
    {DA_ERR_CRYPTO, "crypto", 500, "cryptographic operation failed"},
    {DA_ERR_UNSUPPORTED, "unsupported", 400, "unsupported"},
    {DA_ERR_CONFIG, "config", 500, "invalid configuration"},
    {DA_ERR_TRUNCATED, "truncated", 400, "input is truncated"},
    {DA_ERR_TRAILING_DATA, "trailing_data", 400, "unexpected trailing data"},
    {DA_ERR_OVERFLOW, "overflow", 400, "numeric overflow"},
    {DA_ERR_TIMEOUT, "timeout", 504, "timed out"},
    {DA_ERR_EXISTS, "exists", 409, "already exists"},
    {DA_ERR_SYSTEM, "system", 500, "system call failed"},
    {DA_ERR_NOT_REGULAR, "not_regular", 500, "not a regular file"},
    {DA_ERR_USAGE, "usage", 400, "unknown command or option"},

    {DA_ERR_BASE64, "bad_base64", 400, "invalid base64"},
    {DA_ERR_HEX, "bad_hex", 400, "invalid hexadecimal"},
    {DA_ERR_JSON_PARSE, "bad_json", 400, "malformed JSON"},
    {DA_ERR_JSON_DEPTH, "json_too_deep", 400, "JSON nesting too deep"},
    {DA_ERR_JSON_DUP_KEY, "json_duplicate_key", 400, "duplicate key in JSON object"},
    {DA_ERR_JSON_UTF8, "json_invalid_utf8", 400, "invalid UTF-8 in JSON string"},
    {DA_ERR_JSON_NUMBER, "json_bad_number", 400, "number not representable (NaN, Infinity)"},
    {DA_ERR_JSON_TYPE, "json_wrong_type", 400, "JSON value has the wrong type"},
    {DA_ERR_JSON_MISSING, "json_missing_field", 400, "required JSON field is missing"},
    {DA_ERR_DSSE_FORMAT, "dsse_format", 400, "malformed DSSE envelope"},
    {DA_ERR_DSSE_NO_SIGNATURE, "dsse_no_signature", 400, "DSSE envelope has no signature"},
    {DA_ERR_INTOTO_FORMAT, "intoto_format", 400, "malformed in-toto statement"},
    {DA_ERR_INTOTO_SUBJECT, "intoto_subject", 400, "in-toto subject without a digest"},
    {DA_ERR_BUNDLE_FORMAT, "bundle_format", 400, "malformed attestation bundle line"},
    {DA_ERR_ATTEST_PREDICATE, "attest_predicate", 400, "malformed build-machine predicate"},
    {DA_ERR_SBOM_FORMAT, "sbom_format", 400, "not an SPDX 2.3 or CycloneDX 1.5 JSON document"},
    {DA_ERR_JUNIT_FORMAT, "junit_format", 400, "not a JUnit XML report"},
    {DA_ERR_SCAN_FORMAT, "scan_format", 400, "not a grype or trivy JSON report or a clamscan log"},
    {DA_ERR_TIMESTAMP_FORMAT, "timestamp_format", 400, "malformed or mismatched time-stamp token"},

    {DA_ERR_TPM, "tpm", 500, "TPM command failed"},
    {DA_ERR_TPM_ABSENT, "tpm_absent", 500, "no TPM reachable"},
    {DA_ERR_TPM_NV_READ, "tpm_nv_read", 500, "TPM NV index could not be read"},
    {DA_ERR_TPM_AUTH, "tpm_auth", 500, "TPM authorization failed"},
    {DA_ERR_TPM_OBJECT_MEMORY, "tpm_object_memory", 500, "TPM out of object memory"},
    {DA_ERR_TPM_NO_EK_CERT, "tpm_no_ek_cert", 500, "TPM holds no EK certificate"},
    {DA_ERR_TPM_EK_MISMATCH, "tpm_ek_mismatch", 500, "EK does not match its certificate"},
    {DA_ERR_TPM_PCR_CHANGED, "tpm_pcr_changed", 500, "PCRs kept changing during quote"},
    {DA_ERR_TPM_KEY_BLOB, "tpm_key_blob", 500, "stored TPM key blob is unusable"},
    {DA_ERR_TPM_ACTIVATE, "tpm_activate", 500, "credential activation failed"},
    {DA_ERR_TPM_EK_CERT_FILE, "ek_cert_file", 400,
     "the EK certificate file does not hold this TPM's EK"},
    {DA_ERR_TPM_TCTI, "tpm_tcti", 500, "TPM transport (TCTI) could not be set up"},
    {DA_ERR_TPM_EVENTLOG, "tpm_eventlog", 400, "firmware event log is malformed"},
    {DA_ERR_TPM_RESPONSE_AUTH, "tpm_response_auth", 500,
     "a TPM response failed its session HMAC check (altered on the way from the TPM)"},
    {DA_ERR_TPM_EK_TEMPLATE, "tpm_ek_template", 500,
     "the EK template or nonce provisioned in NV cannot be used"},
    {DA_ERR_TPM_IMA_LOG, "tpm_ima_log", 400, "IMA runtime measurement list is malformed"},

    {DA_ERR_VERIFY_TPM_PUBLIC, "bad_tpm_public", 400, "malformed TPM2B_PUBLIC"},
    {DA_ERR_VERIFY_AK_ATTRIBUTES, "ak_attributes", 400, "AK attributes are not acceptable"},
    {DA_ERR_VERIFY_KEY_TYPE, "key_type", 400, "key type, size or curve not acceptable"},
    {DA_ERR_VERIFY_ATTEST_MAGIC, "attest_magic", 400, "TPMS_ATTEST magic is wrong"},
    {DA_ERR_VERIFY_ATTEST_TYPE, "attest_type", 400, "TPMS_ATTEST has the wrong type"},
    {DA_ERR_VERIFY_ATTEST_FORMAT, "attest_format", 400, "malformed TPMS_ATTEST"},
    {DA_ERR_VERIFY_SIGNATURE, "bad_signature", 400, "signature does not verify"},
    {DA_ERR_VERIFY_SIG_SCHEME, "signature_scheme", 400, "unexpected signature scheme"},
    {DA_ERR_VERIFY_EXTRA_DATA, "qualifying_data", 400, "quote qualifying data does not match"},
    {DA_ERR_VERIFY_PCR_SELECTION, "pcr_selection", 400, "PCR selection differs from request"},
    {DA_ERR_VERIFY_PCR_DIGEST, "pcr_digest", 400, "PCR values do not match the quote"},
    {DA_ERR_VERIFY_CLOCK_UNSAFE, "clock_unsafe", 400, "TPM clock is not marked safe"},
    {DA_ERR_VERIFY_EK_CHAIN, "ek_untrusted", 400,
     "EK certificate does not chain to a trusted root"},
    {DA_ERR_VERIFY_EK_KEY_MISMATCH, "ek_key_mismatch", 400,
     "EK certificate key differs from EK public"},
    {DA_ERR_VERIFY_CERTIFY_NAME, "certify_name", 400, "certified object name does not match"},
    {DA_ERR_VERIFY_CREDENTIAL, "credential", 400, "credential could not be made"},
    {DA_ERR_VERIFY_NONCE, "bad_nonce", 400, "nonce is not valid"},
    {DA_ERR_VERIFY_NONCE_EXPIRED, "nonce_expired", 400, "nonce has expired"},
    {DA_ERR_VERIFY_NONCE_REPLAY, "nonce_replayed", 409, "nonce was already used"},
    {DA_ERR_VERIFY_COUNTER_ROLLBACK, "counter_rollback", 400,
     "TPM reset/restart counter went back"},
    {DA_ERR_VERIFY_HASH_ALG, "hash_algorithm", 400, "hash algorithm not acceptable"},
    {DA_ERR_VERIFY_SIGNER_UNRESTRICTED, "signer_unrestricted", 400,
     "attestation signed by a key that is not a restricted signing key"},
    {DA_ERR_VERIFY_EK_ATTRIBUTES, "ek_attributes", 400,
     "EK is not a restricted decryption key of an EK template"},
    {DA_ERR_VERIFY_EVENTLOG_REPLAY, "eventlog_replay", 400,
     "the firmware event log does not replay to the quoted PCR values"},
    {DA_ERR_VERIFY_IMA_REPLAY, "ima_replay", 400,
     "the IMA runtime measurements do not extend to the quoted PCR 10"},
    {DA_ERR_VERIFY_IMA_START, "ima_increment_start", 400,
     "the IMA increment does not start where the server's replay of this boot ends"},

    {DA_ERR_BUNDLE_SOFTWARE_KEYS, "software_keys", 400,
     "the statement was made with software keys, not a TPM"},
    {DA_ERR_BUNDLE_SK_CERT, "sk_certificate", 400,
     "the signing key certificate is unusable or does not match the key id"},
    {DA_ERR_BUNDLE_CHAIN, "sk_chain", 400,
     "the signing key certificate does not chain to the given CA"},
    {DA_ERR_BUNDLE_AK_BINDING, "ak_binding", 400,
     "the quoting AK is not the one named in the signing key certificate"},
    {DA_ERR_BUNDLE_QUOTE_MISSING, "quote_missing", 400, "the statement carries no TPM quote"},
    {DA_ERR_BUNDLE_QUOTE_SUBJECTS, "quote_subjects", 400,
     "the quote does not cover this statement's subjects, statements and evidence digest"},
    {DA_ERR_BUNDLE_RECEIPT_KEY, "receipt_key", 400,
     "the receipt is not signed by a server receipt key valid at its issue time"},
    {DA_ERR_BUNDLE_RECEIPT_EXPIRED, "receipt_expired", 400,
     "the receipt had expired when the statement was made"},
    {DA_ERR_BUNDLE_NONCOMPLIANT, "receipt_noncompliant", 400,
     "the receipt's verdict is not compliant"},
    {DA_ERR_BUNDLE_RECEIPT_MISMATCH, "receipt_mismatch", 400,
     "the receipt is for another agent or another evidence digest"},
    {DA_ERR_BUNDLE_ARTIFACT, "artifact_not_subject", 400,
     "the artifact's SHA-256 and SHA-512 are not among the attested subjects"},
    {DA_ERR_BUNDLE_UNBOUND, "statement_unbound", 400,
     "the statement is not listed by a verified main statement with the same subjects"},
    {DA_ERR_BUNDLE_STATEMENT_MISSING, "statement_missing", 400,
     "a statement listed by a main statement is not in the bundle"},
    {DA_ERR_BUNDLE_DUPLICATE, "bundle_duplicate", 400, "the bundle holds the same line twice"},
    {DA_ERR_BUNDLE_REQUIRED, "required_missing", 400,
     "a required kind of statement is missing or not bound"},
    {DA_ERR_BUNDLE_TIMESTAMP, "timestamp", 400,
     "the RFC 3161 timestamp does not verify over the signature"},
    {DA_ERR_BUNDLE_POLICY, "policy_noncompliant", 400,
     "the embedded evidence is missing or not compliant with the given policy"},
    {DA_ERR_BUNDLE_KEYS, "receipt_keys", 400,
     "the receipt keys file is unusable (not /v1/keys output, or a key not from the CA)"},
    {DA_ERR_BUNDLE_RECEIPT_AGE, "receipt_too_old", 400,
     "the receipt is older than the allowed age at the statement's time"},
    {DA_ERR_BUNDLE_EVIDENCE, "evidence_mismatch", 400,
     "the embedded evidence does not hash to the attested evidence digest"},

    {DA_ERR_POLICY_PARSE, "policy_parse", 400, "policy does not parse"},
    {DA_ERR_POLICY_OPERATOR, "policy_operator", 400, "policy uses an unknown operator"},
    {DA_ERR_POLICY_POINTER, "policy_pointer", 400, "invalid JSON Pointer in policy"},
    {DA_ERR_POLICY_REGEX, "policy_regex", 400, "invalid regular expression in policy"},
    {DA_ERR_POLICY_FIELD, "policy_field", 400, "policy field missing or of the wrong type"},

    {DA_ERR_COLLECT, "collect", 500, "posture collection failed"},
    {DA_ERR_COLLECT_PARSE, "collect_parse", 500, "system file does not parse"},
    {DA_ERR_COLLECT_UNKNOWN_AREA, "unknown_area", 400, "unknown evidence area"},
    {DA_ERR_COLLECT_NOT_LIVE, "collect_not_live", 500, "no running system below the root"},
    {DA_ERR_RPMDB, "rpmdb", 500, "the rpm database cannot be read"},
    {DA_ERR_RPMDB_WOULD_WRITE, "rpmdb_would_write", 500,
     "reading the rpm database would create or change files"},
    {DA_ERR_RPM_METADATA, "rpm_metadata", 500, "repository metadata cannot be read"},
    {DA_ERR_VERSION_SYNTAX, "version_syntax", 400, "invalid package version"},
    {DA_ERR_DECOMPRESS, "decompress", 500, "decompression failed"},
    {DA_ERR_PRIVACY_KEY, "privacy_key", 500,
     "privacy key unusable (not 64 hex digits, or readable by others)"},

    {DA_ERR_STORE, "store", 500, "storage error"},
    {DA_ERR_STORE_CONFLICT, "conflict", 409, "conflicting record"},
    {DA_ERR_AUTH_MISSING, "unauthenticated", 401, "authentication required"},
    {DA_ERR_AUTH_DENIED, "bad_credentials", 401, "credentials not accepted"},
    {DA_ERR_FORBIDDEN, "forbidden", 403, "not allowed for this role"},
    {DA_ERR_RATE_LIMITED, "rate_limited", 429, "too many requests"},
    {DA_ERR_TOKEN_INVALID, "token_invalid", 401, "token is not valid"},
    {DA_ERR_TOKEN_EXPIRED, "token_expired", 401, "token has expired"},
    {DA_ERR_TOKEN_USED, "token_used", 401, "token was already used"},
    {DA_ERR_CHALLENGE_INVALID, "challenge_invalid", 400, "enrollment challenge unknown or expired"},
    {DA_ERR_CHALLENGE_MISMATCH, "challenge_mismatch", 400, "enrollment challenge answer is wrong"},
    {DA_ERR_AGENT_REVOKED, "agent_revoked", 403, "agent has been revoked"},
    {DA_ERR_AGENT_UNKNOWN, "agent_unknown", 404, "agent is not enrolled"},
    {DA_ERR_IDENTITY_CONFLICT, "identity_conflict", 409, "EK already enrolled with another AK"},
    {DA_ERR_CONTENT_TYPE, "content_type", 415, "unsupported content type"},
    {DA_ERR_METHOD, "method_not_allowed", 405, "method not allowed"},
    {DA_ERR_ROUTE, "not_found", 404, "no such route"},
    {DA_ERR_INVENTORY_NEEDED, "inventory_needed", 409, "server needs the full package inventory"},
    {DA_ERR_UNAVAILABLE, "unavailable", 503, "service unavailable"},
    {DA_ERR_NOT_READY, "not_ready", 503, "server is not ready to verify reports"},
    {DA_ERR_HTTP_FRAMING, "bad_framing", 400, "request framing is ambiguous or invalid"},
    {DA_ERR_HTTP_CODING, "unsupported_transfer_coding", 501,
     "only the chunked transfer coding is accepted"},
    {DA_ERR_HTTP_TARGET, "bad_request_target", 400, "control character in the request target"},
    {DA_ERR_HTTP_QUERY, "bad_query_parameter", 400, "unknown or repeated query parameter"},
    {DA_ERR_VENDOR_EXISTS, "vendor_exists", 409, "a vendor of that name exists"},
    {DA_ERR_VENDOR_NAME, "vendor_name", 400,
     "vendor names are 1..63 of A-Z a-z 0-9 . _ - starting with a letter or digit"},
    {DA_ERR_API_TOKEN_UNKNOWN, "api_token_unknown", 404, "no API token with that id"},
    {DA_ERR_API_TOKEN_REVOKED, "api_token_revoked", 401, "the API token has been revoked"},
    {DA_ERR_API_TOKEN_EXPIRED, "api_token_expired", 401, "the API token has expired"},
    {DA_ERR_HTTP_CURSOR, "bad_cursor", 400, "the cursor is not one this list handed out"},
    {DA_ERR_TIME_FORMAT, "bad_time", 400, "a time must be RFC 3339, e.g. 2026-12-06T05:00:00Z"},
    {DA_ERR_BOOT_PIN_INVALID, "boot_pin_invalid", 400,
     "a boot pin needs a component (shim, bootloader, kernel, uki, driver, other) and a "
     "sha256:HEX digest"},
    {DA_ERR_BOOT_PIN_EXISTS, "boot_pin_exists", 409,
     "this digest is already pinned for the vendor"},
    {DA_ERR_BOOT_PIN_UNKNOWN, "boot_pin_unknown", 404, "no such boot pin for the vendor"},
    {DA_ERR_VENDOR_UNKNOWN, "vendor_unknown", 404, "no such vendor"},
    {DA_ERR_DBX_UPDATE, "dbx_update", 400, "the UEFI dbx update file is malformed"},
    {DA_ERR_ENROLL_PENDING, "enrollment_pending", 409,
     "enrollment waits for an administrator's approval"},
    {DA_ERR_ENROLL_REJECTED, "enrollment_rejected", 403, "enrollment was rejected"},
    {DA_ERR_ENROLL_UNKNOWN, "enrollment_unknown", 404, "no such enrollment"},
    {DA_ERR_ENROLL_STATE, "enrollment_not_pending", 409, "enrollment is no longer pending"},
    {DA_ERR_EK_ROOTS, "ek_roots", 500, "EK root certificates unusable"},
    {DA_ERR_CERT_RENEW, "cert_renew", 500, "TLS certificate cannot be renewed"},
    {DA_ERR_WEBHOOK_INVALID, "webhook_invalid", 400,
     "webhook endpoint refused: URL must be https (http only to a loopback address), events known"},
    {DA_ERR_WEBHOOK_UNKNOWN, "webhook_unknown", 404, "no such webhook endpoint"},
    {DA_ERR_WEBHOOK_QUEUE_FULL, "webhook_queue_full", 503, "the webhook delivery queue is full"},
    {DA_ERR_PACK_INVALID, "pack_invalid", 400, "the evidence pack is malformed"},
    {DA_ERR_PACK_RANGE, "pack_range", 400, "the evidence pack's time range is invalid"},

    {DA_ERR_DIFF_TOO_LARGE, "report_diff_too_large", 422,
     "the reports have too many fields to compare"},
    {DA_ERR_EXPORT_TOO_LARGE, "export_too_large", 422, "the export is too large; narrow it"},

    {DA_ERR_TRANSPORT, "transport", 502, "server could not be reached"},
    {DA_ERR_TLS, "tls", 502, "TLS handshake or server certificate failed"},
    {DA_ERR_SERVER_REJECTED, "server_rejected", 502, "server rejected the request"},
    {DA_ERR_SERVER_RESPONSE, "server_response", 502, "server answer is malformed"},
    {DA_ERR_SPOOL, "spool", 500, "spool error"},
    {DA_ERR_SANDBOX, "sandbox", 500, "sandbox setup failed"},
    {DA_ERR_IPC, "ipc", 500, "privilege-separation message error"},
    {DA_ERR_NOT_ENROLLED, "not_enrolled", 500, "this machine has not been enrolled yet"},
    {DA_ERR_IPC_CLOSED, "ipc_closed", 500, "the other process closed the channel (it exited)"},
    {DA_ERR_SPOOL_CORRUPT, "spool_corrupt", 500, "spool entry is torn or corrupt"},
    {DA_ERR_UNSAFE_PATH, "unsafe_path", 500, "a file or directory has an unsafe owner or mode"},
    {DA_ERR_PRIVDROP, "privdrop", 500, "the switch to the agent's user failed"},
    {DA_ERR_SPOOL_MAC, "spool_mac", 500, "a spooled report's MAC does not verify"},
    {DA_ERR_ATTEST_DENIED, "attest_denied", 403, "the caller is not in the attest group"},
    {DA_ERR_ATTEST_NO_RECEIPT, "attest_no_receipt", 409,
     "no verified report yet: run devattest-agent report"},
    {DA_ERR_ATTEST_RECEIPT_OLD, "attest_receipt_old", 409,
     "the last verified report is too old: run devattest-agent report"},
    {DA_ERR_ATTEST_NOT_COMPLIANT, "attest_not_compliant", 409,
     "the machine's last verdict is not compliant"},
    {DA_ERR_ATTEST_REQUEST, "attest_request", 400, "malformed attest request"},
    {DA_ERR_ATTEST_UNAVAILABLE, "attest_unavailable", 503,
     "the agent's attest socket is not there"},
    {DA_ERR_ATTEST_EVIDENCE, "attest_evidence", 409,
     "the receipt names evidence this agent did not quote"},
    {DA_ERR_GIT, "git", 400, "the git repository cannot be read"},
    {DA_ERR_TSA, "tsa", 502, "the time-stamp authority failed"},
};

static const struct da_err_entry *da_err_lookup(int err)
{
    size_t i;

    for (i = 0; i < sizeof(da_err_table) / sizeof(da_err_table[0]); i++) {
        if (da_err_table[i].code == err)
            return &da_err_table[i];
    }
    return NULL;
}

const char *da_strerror(int err)
{
    const struct da_err_entry *e = da_err_lookup(err);

    return e != NULL ? e->message : "unknown error";
}

const char *da_err_code(int err)
{
    const struct da_err_entry *e = da_err_lookup(err);

    return e != NULL ? e->api_code : "internal";
}

int da_err_http_status(int err)
{
    const struct da_err_entry *e = da_err_lookup(err);

    return e != NULL ? e->http_status : 500;
}

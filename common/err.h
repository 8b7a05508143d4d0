/* Error codes of devattest.
 *
 * Every function that can fail returns 0 or a negative DA_ERR_* value. The
 * numbers are stable: they appear in logs, in the API and in exit paths, so
 * a code is never renumbered or reused. Each area owns a range; new codes
 * are added at the end of their area's block in err.c and here.
 *
 *   1..99     general            100..199  encodings, JSON, DSSE
 *   200..299  agent TPM          300..399  verification core
 *   400..499  policy             500..599  collectors
 *   600..699  server and store   700..799  agent transport, spool, sandbox
 */
#ifndef DA_ERR_H
#define DA_ERR_H

enum da_err {
    DA_OK = 0,

    /* general */
    DA_ERR_NOMEM = -1,
    DA_ERR_INVALID_ARG = -2,
    DA_ERR_TOO_LARGE = -3,
    DA_ERR_IO = -4,
    DA_ERR_NOT_FOUND = -5,
    DA_ERR_PERMISSION = -6,
    DA_ERR_INTERNAL = -7,
    DA_ERR_CRYPTO = -8,
    DA_ERR_UNSUPPORTED = -9,
    DA_ERR_CONFIG = -10,
    DA_ERR_TRUNCATED = -11,
    DA_ERR_TRAILING_DATA = -12,
    DA_ERR_OVERFLOW = -13,
    DA_ERR_TIMEOUT = -14,
    DA_ERR_EXISTS = -15,
    DA_ERR_SYSTEM = -16,      /* a system call failed; the errno is kept beside (rootfs.h) */
    DA_ERR_NOT_REGULAR = -17, /* a FIFO, socket, device or directory where a file was expected */
    DA_ERR_USAGE = -20,       /* an unknown command or option on the command line */

    /* encodings, JSON, DSSE */
    DA_ERR_BASE64 = -100,
    DA_ERR_HEX = -101,
    DA_ERR_JSON_PARSE = -102,
    DA_ERR_JSON_DEPTH = -103,
    DA_ERR_JSON_DUP_KEY = -104,
    DA_ERR_JSON_UTF8 = -105,
    DA_ERR_JSON_NUMBER = -106,
    DA_ERR_JSON_TYPE = -107,
    DA_ERR_JSON_MISSING = -108,
    DA_ERR_DSSE_FORMAT = -109,
    DA_ERR_DSSE_NO_SIGNATURE = -110,
    DA_ERR_INTOTO_FORMAT = -111,
    DA_ERR_INTOTO_SUBJECT = -112,
    DA_ERR_BUNDLE_FORMAT = -113,
    DA_ERR_ATTEST_PREDICATE = -114,
    DA_ERR_SBOM_FORMAT = -115,
    DA_ERR_JUNIT_FORMAT = -116,
    DA_ERR_SCAN_FORMAT = -117,
    DA_ERR_TIMESTAMP_FORMAT = -118,

    /* agent TPM */
    DA_ERR_TPM = -200,
    DA_ERR_TPM_ABSENT = -201,
    DA_ERR_TPM_NV_READ = -202,
    DA_ERR_TPM_AUTH = -203,
    DA_ERR_TPM_OBJECT_MEMORY = -204,
    DA_ERR_TPM_NO_EK_CERT = -205,
    DA_ERR_TPM_EK_MISMATCH = -206,
    DA_ERR_TPM_PCR_CHANGED = -207,
    DA_ERR_TPM_KEY_BLOB = -208,
    DA_ERR_TPM_ACTIVATE = -209,
    DA_ERR_TPM_EK_CERT_FILE = -225, /* the EK certificate given by file holds another key */
    DA_ERR_TPM_TCTI = -210,
    DA_ERR_TPM_EVENTLOG = -211,
    DA_ERR_TPM_RESPONSE_AUTH = -217,
    DA_ERR_TPM_EK_TEMPLATE = -218,
    DA_ERR_TPM_IMA_LOG = -219,

    /* verification core */
    DA_ERR_VERIFY_TPM_PUBLIC = -300,
    DA_ERR_VERIFY_AK_ATTRIBUTES = -301,
    DA_ERR_VERIFY_KEY_TYPE = -302,
    DA_ERR_VERIFY_ATTEST_MAGIC = -303,
    DA_ERR_VERIFY_ATTEST_TYPE = -304,
    DA_ERR_VERIFY_ATTEST_FORMAT = -305,
    DA_ERR_VERIFY_SIGNATURE = -306,
    DA_ERR_VERIFY_SIG_SCHEME = -307,
    DA_ERR_VERIFY_EXTRA_DATA = -308,
    DA_ERR_VERIFY_PCR_SELECTION = -309,
    DA_ERR_VERIFY_PCR_DIGEST = -310,
    DA_ERR_VERIFY_CLOCK_UNSAFE = -311,
    DA_ERR_VERIFY_EK_CHAIN = -312,
    DA_ERR_VERIFY_EK_KEY_MISMATCH = -313,
    DA_ERR_VERIFY_CERTIFY_NAME = -314,
    DA_ERR_VERIFY_CREDENTIAL = -315,
    DA_ERR_VERIFY_NONCE = -316,
    DA_ERR_VERIFY_NONCE_EXPIRED = -317,
    DA_ERR_VERIFY_NONCE_REPLAY = -318,
    DA_ERR_VERIFY_COUNTER_ROLLBACK = -319,
    DA_ERR_VERIFY_HASH_ALG = -320,
    DA_ERR_VERIFY_SIGNER_UNRESTRICTED = -321,
    DA_ERR_VERIFY_EK_ATTRIBUTES = -322,
    DA_ERR_VERIFY_EVENTLOG_REPLAY = -323,
    DA_ERR_VERIFY_IMA_REPLAY = -324,
    DA_ERR_VERIFY_IMA_START = -325,

    /* delivery bundles (devattest-verify bundle) */
    DA_ERR_BUNDLE_SOFTWARE_KEYS = -340,
    DA_ERR_BUNDLE_SK_CERT = -341,
    DA_ERR_BUNDLE_CHAIN = -342,
    DA_ERR_BUNDLE_AK_BINDING = -343,
    DA_ERR_BUNDLE_QUOTE_MISSING = -344,
    DA_ERR_BUNDLE_QUOTE_SUBJECTS = -345,
    DA_ERR_BUNDLE_RECEIPT_KEY = -346,
    DA_ERR_BUNDLE_RECEIPT_EXPIRED = -347,
    DA_ERR_BUNDLE_NONCOMPLIANT = -348,
    DA_ERR_BUNDLE_RECEIPT_MISMATCH = -349,
    DA_ERR_BUNDLE_ARTIFACT = -350,
    DA_ERR_BUNDLE_UNBOUND = -351,
    DA_ERR_BUNDLE_STATEMENT_MISSING = -352,
    DA_ERR_BUNDLE_DUPLICATE = -353,
    DA_ERR_BUNDLE_REQUIRED = -354,
    DA_ERR_BUNDLE_TIMESTAMP = -355,
    DA_ERR_BUNDLE_POLICY = -356,
    DA_ERR_BUNDLE_KEYS = -357,
    DA_ERR_BUNDLE_RECEIPT_AGE = -358,
    DA_ERR_BUNDLE_EVIDENCE = -359,

    /* policy */
    DA_ERR_POLICY_PARSE = -400,
    DA_ERR_POLICY_OPERATOR = -401,
    DA_ERR_POLICY_POINTER = -402,
    DA_ERR_POLICY_REGEX = -403,
    DA_ERR_POLICY_FIELD = -404,

    /* collectors */
    DA_ERR_COLLECT = -500,
    DA_ERR_COLLECT_PARSE = -501,
    DA_ERR_COLLECT_UNKNOWN_AREA = -502,
    DA_ERR_VERSION_SYNTAX = -503,
    DA_ERR_DECOMPRESS = -504,
    DA_ERR_COLLECT_NOT_LIVE = -535,
    DA_ERR_RPMDB = -540,
    DA_ERR_RPMDB_WOULD_WRITE = -541,
    DA_ERR_RPM_METADATA = -542,

    /* privacy mode */
    DA_ERR_PRIVACY_KEY = -560,

    /* server and store */
    DA_ERR_STORE = -600,
    DA_ERR_STORE_CONFLICT = -601,
    DA_ERR_AUTH_MISSING = -602,
    DA_ERR_AUTH_DENIED = -603,
    DA_ERR_FORBIDDEN = -604,
    DA_ERR_RATE_LIMITED = -605,
    DA_ERR_TOKEN_INVALID = -606,
    DA_ERR_TOKEN_EXPIRED = -607,
    DA_ERR_TOKEN_USED = -608,
    DA_ERR_CHALLENGE_INVALID = -609,
    DA_ERR_CHALLENGE_MISMATCH = -610,
    DA_ERR_AGENT_REVOKED = -611,
    DA_ERR_AGENT_UNKNOWN = -612,
    DA_ERR_IDENTITY_CONFLICT = -613,
    DA_ERR_CONTENT_TYPE = -614,
    DA_ERR_METHOD = -615,
    DA_ERR_ROUTE = -616,
    DA_ERR_INVENTORY_NEEDED = -617,
    DA_ERR_UNAVAILABLE = -618,
    DA_ERR_NOT_READY = -619,
    DA_ERR_HTTP_FRAMING = -635,
    DA_ERR_HTTP_CODING = -636,
    DA_ERR_HTTP_TARGET = -637,
    DA_ERR_HTTP_QUERY = -638,
    DA_ERR_VENDOR_EXISTS = -661,
    DA_ERR_VENDOR_NAME = -662,
    DA_ERR_API_TOKEN_UNKNOWN = -663,
    DA_ERR_API_TOKEN_REVOKED = -664,
    DA_ERR_API_TOKEN_EXPIRED = -665,
    DA_ERR_HTTP_CURSOR = -666,
    DA_ERR_TIME_FORMAT = -667,
    DA_ERR_BOOT_PIN_INVALID = -640,
    DA_ERR_BOOT_PIN_EXISTS = -641,
    DA_ERR_BOOT_PIN_UNKNOWN = -642,
    DA_ERR_VENDOR_UNKNOWN = -643,
    DA_ERR_DBX_UPDATE = -644,
    DA_ERR_ENROLL_PENDING = -650,  /* waits for an administrator's approval */
    DA_ERR_ENROLL_REJECTED = -651, /* an administrator rejected it */
    DA_ERR_ENROLL_UNKNOWN = -652,
    DA_ERR_ENROLL_STATE = -653, /* approve or reject of one no longer pending */
    DA_ERR_EK_ROOTS = -654,     /* an EK root file or directory is unusable */
    DA_ERR_CERT_RENEW = -655,   /* the TLS certificate cannot be renewed */
    DA_ERR_WEBHOOK_INVALID = -675,
    DA_ERR_WEBHOOK_UNKNOWN = -676,
    DA_ERR_WEBHOOK_QUEUE_FULL = -677,
    DA_ERR_PACK_INVALID = -678,
    DA_ERR_PACK_RANGE = -679,
    /* a pack's event log does not replay to its report's quoted PCRs */
    DA_ERR_PACK_EVENT_LOG_REPLAY = -870,
    /* a pack's event log is not the one the server verified */
    DA_ERR_PACK_EVENT_LOG_DIFFERS = -871,

    /* dashboard views */
    DA_ERR_DIFF_TOO_LARGE = -670,
    DA_ERR_EXPORT_TOO_LARGE = -671, /* a CSV export past its cap */

    /* OSCAL export */
    DA_ERR_OSCAL_WINDOW = -690,    /* the period is empty or outside 1970..2999 */
    DA_ERR_OSCAL_TOO_LARGE = -691, /* the export would pass its size cap */

    /* agent transport, spool, sandbox */
    DA_ERR_TRANSPORT = -700,
    DA_ERR_TLS = -701,
    DA_ERR_SERVER_REJECTED = -702,
    DA_ERR_SERVER_RESPONSE = -703,
    DA_ERR_SPOOL = -704,
    DA_ERR_SANDBOX = -705,
    DA_ERR_IPC = -706,
    DA_ERR_NOT_ENROLLED = -707,
    DA_ERR_IPC_CLOSED = -708,
    DA_ERR_SPOOL_CORRUPT = -709,
    DA_ERR_UNSAFE_PATH = -710,
    DA_ERR_PRIVDROP = -711,
    DA_ERR_SPOOL_MAC = -712,

    /* agent attest */
    DA_ERR_ATTEST_DENIED = -720,
    DA_ERR_ATTEST_NO_RECEIPT = -721,
    DA_ERR_ATTEST_RECEIPT_OLD = -722,
    DA_ERR_ATTEST_NOT_COMPLIANT = -723,
    DA_ERR_ATTEST_REQUEST = -724,
    DA_ERR_ATTEST_UNAVAILABLE = -725,
    DA_ERR_ATTEST_EVIDENCE = -726,
    DA_ERR_GIT = -727,
    DA_ERR_TSA = -728,

    /* software agents and the load generator */
    DA_ERR_SOFTWARE_AGENTS_OFF = -800,
    DA_ERR_SOFTWARE_AK = -801,
    DA_ERR_LOADGEN_DOCUMENT = -802,
    DA_ERR_LOADGEN_ANSWER = -803,

    /* compact report storage */
    DA_ERR_EVIDENCE_PRUNED = -830,
    DA_ERR_STORE_CORRUPT = -831,

    /* PostgreSQL store */
    DA_ERR_STORE_RETRY = -890,
};

/* Short human message for an error code; never NULL. */
const char *da_strerror(int err);
/* Stable machine-readable name, e.g. "verify_signature"; never NULL. */
const char *da_err_code(int err);
/* HTTP status the server answers with for this error. */
int da_err_http_status(int err);

#endif

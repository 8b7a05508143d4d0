/* Delivery bundle lines for tests, made with a real enrolled agent's keys:
 * the quote by its AK and the DSSE signature by its SK come from the TPM
 * (swtpm) through the agent's own TPM layer, the SK certificate is the one
 * the server issued at enrollment. Each knob makes one kind of defect, so
 * that a test can show the verifier's answer to it. */
#ifndef DA_TEST_BUNDLE_BUILD_H
#define DA_TEST_BUNDLE_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* An enrolled agent: its state directory and TPM. */
struct bb_signer {
    const char *state_dir; /* holds the AK/SK blobs and sk-cert.pem */
    const char *tcti;
    const char *agent_id;
    const char *certificate; /* PEM; NULL: state_dir/sk-cert.pem */
};

struct bb_main {
    const cJSON *subjects;       /* the statement's subject array */
    const cJSON *quote_subjects; /* what the quote covers; NULL: subjects */
    const cJSON *receipt;        /* the receipt envelope */
    const char *evidence_sha256;
    const cJSON *evidence;   /* embedded for --policy; NULL: none */
    int64_t created;         /* Unix seconds */
    const cJSON *statements; /* array of bb_statement_ref results; NULL: [] */
    bool no_quote;
    const struct bb_signer *quoter; /* whose AK quotes (ak_public); NULL: the signer */
};

/* One line (no newline, free()) holding the main statement. 0 or -1. */
int bb_main_line(const struct bb_signer *s, const struct bb_main *m, char **line);
/* One line holding an accompanying statement. 0 or -1. */
int bb_statement_line(const struct bb_signer *s, const cJSON *subjects, const char *type,
                      const cJSON *predicate, char **line);
/* {"predicateType": type, "digest": {"sha256": SHA-256 of JCS(predicate)}}. */
cJSON *bb_statement_ref(const char *type, const cJSON *predicate);
/* The SK signature of PAE(type, payload) as DER (free()). 0 or -1. */
int bb_sign_pae(const struct bb_signer *s, const char *type, const void *payload, size_t len,
                unsigned char **der, size_t *der_len);

#endif

/* The firmware's TPM event log (TCG PC Client Platform Firmware Profile):
 * one strict parser shared by the agent (tpm-info), the server (replay
 * against the quote, measured facts) and devattest-verify.
 *
 * Both formats are read: the crypto-agile log (a TCG_PCR_EVENT header whose
 * data is a "Spec ID Event03" structure naming the digest algorithms and
 * their sizes, then TCG_PCR_EVENT2 events with a digest list each) and the
 * legacy log of SHA-1 TCG_PCR_EVENT events only. Every size is checked
 * against what is left: truncated events, trailing bytes, digest algorithms
 * the header did not announce, a digest algorithm twice in one event and PCR
 * indices above 23 are refused with DA_ERR_TPM_EVENTLOG. */
#ifndef DA_EVENTLOG_H
#define DA_EVENTLOG_H

#include <stddef.h>
#include <stdint.h>

#define DA_EVENTLOG_MAX_ALGS   8
#define DA_EVENTLOG_PCRS       24
#define DA_EVENTLOG_MAX_DIGEST 64

/* Event types used by the fact extraction (PC Client PFP, section 10.4.1). */
#define DA_EV_POST_CODE                     0x00000001u
#define DA_EV_NO_ACTION                     0x00000003u
#define DA_EV_SEPARATOR                     0x00000004u
#define DA_EV_ACTION                        0x00000005u
#define DA_EV_S_CRTM_VERSION                0x00000008u
#define DA_EV_IPL                           0x0000000du
#define DA_EV_EFI_VARIABLE_DRIVER_CONFIG    0x80000001u
#define DA_EV_EFI_VARIABLE_BOOT             0x80000002u
#define DA_EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003u
#define DA_EV_EFI_ACTION                    0x80000007u
#define DA_EV_EFI_VARIABLE_AUTHORITY        0x800000e0u

struct da_eventlog_summary {
    int crypto_agile;                         /* 1: TCG_PCR_EVENT2 events after a Spec ID Event03 */
    size_t events;                            /* all events, the header event included */
    size_t alg_count;                         /* digest algorithms the log carries */
    uint16_t algs[DA_EVENTLOG_MAX_ALGS];      /* TPM2_ALG_* */
    uint16_t alg_sizes[DA_EVENTLOG_MAX_ALGS]; /* their digest sizes */
    uint32_t extended_pcrs;                   /* bitmask of PCRs the log extends */
};

struct da_eventlog_digest {
    uint16_t alg;
    uint16_t size;
    const unsigned char *value; /* points into the log */
};

/* One event as the walk hands it out; pointers reach into the log bytes. */
struct da_eventlog_event {
    size_t index; /* 0 = the header event */
    uint32_t pcr;
    uint32_t type;
    size_t digest_count;
    struct da_eventlog_digest digests[DA_EVENTLOG_MAX_ALGS];
    const unsigned char *data;
    uint32_t data_size;
};

/* Called for every event in log order, the header event of a crypto-agile
 * log excepted. A nonzero return stops the walk and is returned. */
typedef int (*da_eventlog_visit_fn)(const struct da_eventlog_event *ev, void *ctx);

/* Walk the whole log; visit may be NULL. The summary is filled even when a
 * visitor stops the walk. */
int da_eventlog_walk(const unsigned char *data, size_t len, struct da_eventlog_summary *out,
                     da_eventlog_visit_fn visit, void *ctx);

/* Walk the log and summarize it (logs an error when it is malformed). */
int da_eventlog_parse(const unsigned char *data, size_t len, struct da_eventlog_summary *out);

/* Replay the extends of one bank: pcrs[i] receives PCR i as the log says it
 * should be (all PCRs start at zero; a StartupLocality EV_NO_ACTION event
 * before the first extend of PCR 0 sets PCR 0's last byte to the locality).
 * *extended gets the bitmask of PCRs the log extends in that bank.
 * DA_ERR_NOT_FOUND when the log has no digests of that algorithm,
 * DA_ERR_UNSUPPORTED for a hash this build cannot compute. */
int da_eventlog_replay(const unsigned char *data, size_t len, uint16_t alg,
                       unsigned char pcrs[DA_EVENTLOG_PCRS][DA_EVENTLOG_MAX_DIGEST],
                       uint32_t *extended);

/* The digest of a TPM2_ALG_* hash, fetched once for the process; NULL for
 * one this build cannot compute. */
typedef struct evp_md_st EVP_MD;
const EVP_MD *da_eventlog_md(uint16_t alg);

/* Which PCR did not replay (da_eventlog_match). */
struct da_eventlog_mismatch {
    uint16_t alg; /* bank; 0 when the log has none of the quoted banks */
    uint32_t pcr;
    unsigned char replayed[DA_EVENTLOG_MAX_DIGEST];
    unsigned char quoted[DA_EVENTLOG_MAX_DIGEST];
    size_t size;
};

/* Compare the log with quoted PCR values (values: bank by bank, ascending
 * PCR, as in the quote). Compared: every quoted bank the log carries, and in
 * it every quoted PCR of the firmware and boot loader range (0-9, 11-14)
 * plus any other quoted PCR the log extends; PCR 10 (IMA) and the others
 * are the business of their own logs. A log that carries none of the quoted
 * banks does not match. 0 on a match; DA_ERR_VERIFY_EVENTLOG_REPLAY with *m
 * filled on a mismatch; DA_ERR_TPM_EVENTLOG for a malformed log;
 * DA_ERR_INVALID_ARG when values_len does not fit the selection. */
struct da_pcr_selection;
int da_eventlog_match(const unsigned char *data, size_t len, const struct da_pcr_selection *sel,
                      const unsigned char *values, size_t values_len,
                      struct da_eventlog_mismatch *m);

#endif

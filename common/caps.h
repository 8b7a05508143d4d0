/* Named caps for every buffer that holds outside input. */
#ifndef DA_CAPS_H
#define DA_CAPS_H

#define DA_MAX_JSON_DEPTH      32
#define DA_MAX_EVIDENCE        (4u * 1024 * 1024)  /* one canonical evidence document */
#define DA_MAX_REPORT          (6u * 1024 * 1024)  /* a report POST body */
#define DA_MAX_POLICY          (1u * 1024 * 1024)  /* a policy file */
#define DA_MAX_CONFIG          (64u * 1024)        /* a configuration file */
#define DA_MAX_DSSE_ENVELOPE   (8u * 1024 * 1024)  /* one DSSE envelope */
#define DA_MAX_DSSE_PAYLOAD    (6u * 1024 * 1024)  /* a DSSE payload */
#define DA_MAX_DSSE_SIGS       16                  /* signatures in one envelope */
#define DA_MAX_INTOTO_SUBJECTS 4096                /* subjects in one statement */
#define DA_MAX_TPM_STRUCT      4096                /* one marshalled TPM structure */
#define DA_MAX_SYSFILE         (64u * 1024 * 1024) /* one system file read by a collector */
#define DA_MAX_LOG_LINE        2048
#define DA_MAX_SMALL_SYSFILE   (64u * 1024)          /* one procfs/sysfs/etc file read whole */
#define DA_MAX_APT_LIST        (512u * 1024 * 1024)  /* one decompressed apt Packages list */
#define DA_MAX_DPKG_STATUS     (256u * 1024 * 1024)  /* /var/lib/dpkg/status */
#define DA_MAX_COL_CACHE       (16u * 1024 * 1024)   /* one collector cache file in the state dir */
#define DA_MAX_PACKAGES        (1u << 20)            /* installed packages / list stanzas kept */
#define DA_MAX_BLOCK_DEPTH     16                    /* block device stack depth */
#define DA_MAX_TOOLS           64                    /* toolchain entries */
#define DA_MAX_TOOL_SIZE       (2048u * 1024 * 1024) /* one toolchain binary hashed */
#define DA_MAX_SSHD_INCLUDE    16                    /* sshd_config Include nesting */
#define DA_MAX_EK_CERT         8192                  /* an EK certificate read from TPM NV */
#define DA_MAX_KEY_FILE        (16u * 1024)          /* a key blob or key file in the state dir */
#define DA_MAX_EVENT_LOG       (8u * 1024 * 1024)    /* the firmware TPM event log */
#define DA_MAX_IMA_LIST        (64u * 1024 * 1024)   /* the IMA list the agent reads */
#define DA_MAX_IMA_INCREMENT   (3u * 1024 * 1024)    /* the IMA entries one report carries */
#define DA_MAX_CANONICAL_JSON  (8u * 1024 * 1024)    /* canonical JSON built for a digest */
#define DA_MAX_DSSE_SIG_LEN    1024                  /* one decoded DSSE signature */
#define DA_MAX_DSSE_KEYID      256                   /* one DSSE key id */
#define DA_MAX_DSSE_TYPE       256                   /* a DSSE payloadType */
#define DA_MAX_INTOTO_DIGESTS  16                    /* digests of one in-toto subject */
#define DA_MAX_EK_CERT_FILE    (4u * 1024 * 1024)    /* a PEM file of EK roots or intermediates */
#define DA_MAX_EK_CHAIN        8                     /* intermediates an agent may send */
#define DA_MAX_DPKG_DIVERSIONS (4u * 1024 * 1024)    /* /var/lib/dpkg/diversions */
#define DA_MAX_DIVERSIONS      65536                 /* diversions kept */
#define DA_MAX_GLOB_MATCHES    4096                  /* paths one glob under a root may match */
#define DA_MAX_PENDING_SEEN    (8u * 1024 * 1024)    /* first-seen record of pending upgrades */
#define DA_MAX_RPM_METADATA    (256u * 1024 * 1024)  /* one compressed dnf metadata file */
/* The nftables ruleset: the netlink dump the firewall reader hands over,
 * and what the evaluator keeps of it. */
#define DA_MAX_NFT_DUMP        (16u * 1024 * 1024) /* raw dump messages */
#define DA_MAX_NFT_TABLES      1024
#define DA_MAX_NFT_CHAINS      16384
#define DA_MAX_NFT_RULES       262144
#define DA_MAX_NFT_EXPRS       (1u << 20) /* expressions of all rules */
#define DA_MAX_NFT_RULE_EXPRS  128        /* expressions of one rule */
#define DA_MAX_NFT_SETS        16384
#define DA_MAX_NFT_ELEMS       (1u << 20) /* set elements of all sets */
#define DA_MAX_NFT_STEPS       (1u << 20) /* expressions run for one packet */
#define DA_MAX_NFT_TOTAL_STEPS (1u << 25) /* expressions run for all packets */
#define DA_MAX_NFT_FORKS       256        /* matches that cannot be told, per packet */
#define DA_MAX_NFT_PORTS       256        /* destination ports named by rules, evaluated */
#define DA_MAX_NFT_SET_DUMPS   4096       /* sets whose elements are dumped */

/* Delivery attestations (docs/evidence.md, "Delivery attestations"). */
#define DA_MAX_SBOM            (4u * 1024 * 1024)  /* an SPDX or CycloneDX JSON document */
#define DA_MAX_JUNIT           (32u * 1024 * 1024) /* a JUnit XML file */
#define DA_MAX_JUNIT_CASES     100000              /* test cases summarised */
#define DA_MAX_JUNIT_NAME      1024                /* one test's CLASS.NAME */
#define DA_MAX_JUNIT_DEPTH     64                  /* element nesting */
#define DA_MAX_SCAN            (64u * 1024 * 1024) /* a grype/trivy JSON report or clamscan log */
#define DA_MAX_RECEIPT         (64u * 1024)        /* one server receipt envelope */
#define DA_MAX_SUBJECT_NAME    255                 /* one artifact's subject name */
#define DA_MAX_ATTEST_SUBJECTS 256                 /* artifacts of one attest invocation */
#define DA_MAX_CMDLINE         4096                /* bytes of the caller's command line kept */
#define DA_MAX_CMDLINE_ARGS    64                  /* its arguments kept */

#define DA_MAX_RUNTIME_NAMES 256                 /* names listed per runtime fact */
#define DA_MAX_PROC_MAPS     (16u * 1024 * 1024) /* one /proc/PID/maps */
#define DA_MAX_PROCESSES     ((1u << 22) + 1024) /* entries of /proc (pid_max + files) */
#define DA_MAX_CONF_DIR      4096                /* files in one *.d configuration directory */
#define DA_MAX_CONF_INCLUDE  8                   /* PAM/sudoers/syslog include nesting */
#define DA_MAX_SECURITY_CONF (4u * 1024 * 1024)  /* one sudoers, audit.rules or syslog file */

/* What the server keeps of an EK certificate, and its CSV export. */
#define DA_MAX_EK_DN      1024                /* an issuer or root name (RFC 4514 text) */
#define DA_MAX_EK_SERIAL  96                  /* a serial number (hex) */
#define DA_MAX_CSV_EXPORT (64u * 1024 * 1024) /* one CSV export of the machine list */

#endif

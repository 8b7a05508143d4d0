/* A fresh swtpm per test, provisioned with EK certificates from a CA made for
 * that test alone (tests/support/swtpm-harness does the work). */
#ifndef DA_SWTPM_HARNESS_H
#define DA_SWTPM_HARNESS_H

#include <limits.h>
#include <sys/types.h>

struct da_test_swtpm {
    char dir[PATH_MAX];       /* temporary directory, removed by stop */
    char tcti[128];           /* "swtpm:host=127.0.0.1,port=N" */
    char ca_root[PATH_MAX];   /* root certificate of the test-local CA */
    char ca_issuer[PATH_MAX]; /* intermediate that signed the EK certificates */
    int port;
    pid_t pid;
};

/* Make a temporary directory, provision and start swtpm. 0 or -1. */
int da_test_swtpm_start(struct da_test_swtpm *t);
/* The same, provisioned without any EK certificate in NV (swtpm_setup
 * without --create-ek-cert), as many firmware TPMs come; ca_root and
 * ca_issuer name files that do not exist. */
int da_test_swtpm_start_no_ek_cert(struct da_test_swtpm *t);
/* Stop and start again on the same state (a TPM reset / reboot). 0 or -1. */
int da_test_swtpm_restart(struct da_test_swtpm *t);
/* Stop swtpm and remove the directory. Safe to call twice. */
void da_test_swtpm_stop(struct da_test_swtpm *t);

#endif

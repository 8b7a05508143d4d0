# Unit tests of the agent's key module: pure data (selections, blobs, key and
# signature forms, the event log) and, with -Wl,--wrap doubles, error paths.
da_unit_test(NAME test_tpm_struct SOURCES ${DA_TEST_SRC}/unit/test_tpm_struct.c LIBS da_agent)
da_unit_test(NAME test_eventlog
             SOURCES ${DA_TEST_SRC}/unit/test_eventlog.c ${DA_TEST_SRC}/support/eventlog_build.c
             LIBS da_agent)
set(DA_TPM_WRAPS Esys_NV_Read Esys_Load Esys_CreatePrimary Esys_PolicySecret
    Esys_ActivateCredential Esys_GetCapability Esys_Initialize Esys_Startup Esys_Quote
    Esys_PCR_Read Esys_StartAuthSession)
list(TRANSFORM DA_TPM_WRAPS PREPEND "-Wl,--wrap=")
da_unit_test(NAME test_tpm_errors SOURCES ${DA_TEST_SRC}/unit/test_tpm_errors.c
             LIBS da_test_tpm LINK_OPTIONS ${DA_TPM_WRAPS} LABELS swtpm)
# The event log parser on real logs against tpm2_eventlog (common/).
da_unit_test(NAME test_eventlog_real SOURCES ${DA_TEST_SRC}/unit/test_eventlog_real.c)
add_test(NAME devattest_verify_eventlog
         COMMAND devattest-verify eventlog ${DA_SOURCE_ROOT}/tests/data/eventlogs/event-arch-linux.bin --json)
set_tests_properties(devattest_verify_eventlog PROPERTIES LABELS "unit"
                     PASS_REGULAR_EXPRESSION "\"kernel_cmdline\":\"initrd=")
# Its printed PCRs per bank, on every real log, against tpm2_eventlog.
add_test(NAME devattest_verify_eventlog_oracle
         COMMAND sh ${DA_SOURCE_ROOT}/tests/unit/verify_eventlog_oracle.sh
                 $<TARGET_FILE:devattest-verify> ${DA_SOURCE_ROOT}/tests/data/eventlogs)
set_tests_properties(devattest_verify_eventlog_oracle PROPERTIES LABELS "unit")
add_test(NAME devattest_verify_eventlog_refused
         COMMAND devattest-verify eventlog ${DA_SOURCE_ROOT}/tests/data/eventlogs/README.md)
set_tests_properties(devattest_verify_eventlog_refused PROPERTIES LABELS "unit" WILL_FAIL TRUE)

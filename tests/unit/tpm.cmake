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

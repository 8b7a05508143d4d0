# Verification core against a real swtpm driven by tpm2-tools.
da_unit_test(NAME test_quote_swtpm SOURCES ${DA_TEST_SRC}/integration/test_quote_swtpm.c
                     ${DA_TEST_SRC}/support/verify_swtpm.c
             LIBS da_test_swtpm da_test_verify LABELS integration swtpm)
da_unit_test(NAME test_credential_swtpm SOURCES ${DA_TEST_SRC}/integration/test_credential_swtpm.c
                     ${DA_TEST_SRC}/support/verify_swtpm.c
             LIBS da_test_swtpm da_test_verify LABELS integration swtpm)
da_unit_test(NAME test_ek_swtpm SOURCES ${DA_TEST_SRC}/integration/test_ek_swtpm.c
                     ${DA_TEST_SRC}/support/verify_swtpm.c ${DA_TEST_SRC}/support/oaep_cert.c
             LIBS da_test_swtpm da_test_verify LABELS integration swtpm)
# The IMA replay of PCR 10 against swtpm's own extends (the TPM is the oracle).
da_unit_test(NAME test_ima_replay_swtpm SOURCES ${DA_TEST_SRC}/integration/test_ima_replay_swtpm.c
                     ${DA_TEST_SRC}/support/ima_build.c
             LIBS da_test_swtpm LABELS integration swtpm)

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

# devattest-verify bundle against bundles made with two enrolled swtpm
# machines and a real server; the tamper matrix, receipt key rotation and
# an independent verifier (tests/integration/bundle-oracle).
if(TARGET da_agent)
  da_unit_test(NAME test_bundle_verify SOURCES ${DA_TEST_SRC}/integration/test_bundle_verify.c
                       ${DA_TEST_SRC}/support/bundle_build.c ${DA_TEST_SRC}/support/agent_run.c
               LIBS da_agent da_test_server da_test_swtpm LABELS integration swtpm server)
  add_dependencies(test_bundle_verify devattest-agent devattest-server devattest-verify)
endif()
if(TEST test_bundle_verify)
  set_property(TEST test_bundle_verify APPEND PROPERTY ENVIRONMENT
               DA_TEST_API_CAPTURE=${DA_API_ANSWERS}/test_bundle_verify.jsonl)
  set_property(TEST test_bundle_verify APPEND PROPERTY FIXTURES_SETUP api_answers)
endif()

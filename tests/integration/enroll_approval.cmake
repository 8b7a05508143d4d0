# Enrollment by administrator approval end to end: swtpm without any EK
# certificate, the agent and server binaries, the shipped EK CAs and policy.
da_unit_test(NAME test_enroll_approval SOURCES ${DA_TEST_SRC}/integration/test_enroll_approval.c
             ${DA_TEST_SRC}/support/agent_run.c ${DA_TEST_SRC}/support/oaep_cert.c
             LIBS da_agent da_test_server da_test_swtpm LABELS integration swtpm server)
add_dependencies(test_enroll_approval devattest-agent devattest-server)
# Its API answers are checked against docs/api/openapi.yaml (api_contract).
set_property(TEST test_enroll_approval APPEND PROPERTY ENVIRONMENT
             DA_TEST_API_CAPTURE=${PROJECT_BINARY_DIR}/api-answers/test_enroll_approval.jsonl)
set_property(TEST test_enroll_approval APPEND PROPERTY FIXTURES_SETUP api_answers)

# Tests of the agent's keys (agent/keys/tpm*.c, agent/keys/softkey.c) against a real
# swtpm per test, checked with independent tools (tpm2-tools, openssl).
add_library(da_test_tpm STATIC ${DA_TEST_SRC}/support/tpm_test_util.c)
target_include_directories(da_test_tpm PUBLIC ${DA_TEST_SRC}/support)
target_link_libraries(da_test_tpm PUBLIC da_test_swtpm da_agent)

da_unit_test(NAME test_tpm_identity SOURCES ${DA_TEST_SRC}/integration/test_tpm_identity.c
             LIBS da_test_tpm LABELS integration swtpm)
# The quote loop makes 1,000 quotes (DA_TPM_QUOTE_LOOP overrides the count).
da_unit_test(NAME test_tpm_quote SOURCES ${DA_TEST_SRC}/integration/test_tpm_quote.c
             LIBS da_test_tpm LABELS integration swtpm)
da_unit_test(NAME test_tpm_credential SOURCES ${DA_TEST_SRC}/integration/test_tpm_credential.c
             LIBS da_test_tpm LABELS integration swtpm)
# What crosses the TPM bus, captured by a proxy between the TCTI and swtpm.
find_package(Threads REQUIRED)
da_unit_test(NAME test_tpm_sessions
             SOURCES ${DA_TEST_SRC}/integration/test_tpm_sessions.c
                     ${DA_TEST_SRC}/support/tcti_capture.c
             LIBS da_test_tpm Threads::Threads LABELS integration swtpm)
da_unit_test(NAME test_tpm_ek_kinds SOURCES ${DA_TEST_SRC}/integration/test_tpm_ek_kinds.c
                     ${DA_TEST_SRC}/support/oaep_cert.c
             LIBS da_test_tpm LABELS integration swtpm)
da_unit_test(NAME test_tpm_ek_template SOURCES ${DA_TEST_SRC}/integration/test_tpm_ek_template.c
             LIBS da_test_tpm LABELS integration swtpm)
da_unit_test(NAME test_tpm_open SOURCES ${DA_TEST_SRC}/integration/test_tpm_open.c
             LIBS da_test_tpm LABELS integration swtpm)
da_unit_test(NAME test_softkey SOURCES ${DA_TEST_SRC}/integration/test_softkey.c
             LIBS da_test_tpm LABELS integration)
da_unit_test(NAME test_cmd_tpm_info
             SOURCES ${DA_TEST_SRC}/integration/test_cmd_tpm_info.c
                     ${DA_TEST_SRC}/support/eventlog_build.c
             LIBS da_test_tpm PkgConfig::CJSON LABELS integration swtpm)
add_dependencies(test_cmd_tpm_info devattest-agent)

# Benchmark driver for scripts/bench.d/tpm.sh (not a test).
add_executable(bench_tpm ${DA_TEST_SRC}/bench/bench_tpm.c)
target_link_libraries(bench_tpm PRIVATE da_test_swtpm da_agent)

# The ESYS backend (agent/keys/tpm.c, tpm_ek.c, tpm_keys.c, tpm_quote.c, tpm_info.c)
# holds every Esys_* call of the project (docs/ARCHITECTURE.md).
add_test(NAME style_esys_only_in_tpm_c
  COMMAND sh -c "! grep -rnE 'Esys_[A-Za-z_]+[[:space:]]*\\(' agent collector server common 2>/dev/null | grep -vE '^agent/keys/tpm(_ek|_keys|_quote|_info)?\\.c:'"
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(style_esys_only_in_tpm_c PROPERTIES LABELS "style")

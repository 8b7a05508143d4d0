# Verification core (common/): TPM structures, quotes, EK chains, credentials,
# nonces, the policy engine. Helpers shared with tests/integration/verify.cmake.
add_library(da_test_verify STATIC ${DA_TEST_SRC}/support/verify_support.c
            ${DA_TEST_SRC}/support/tpm_soft.c)
target_include_directories(da_test_verify PUBLIC ${DA_TEST_SRC}/support)
target_link_libraries(da_test_verify PUBLIC devattest)
target_compile_definitions(da_test_verify PRIVATE DA_SOURCE_ROOT="${DA_SOURCE_ROOT}")
da_unit_test(NAME test_policy SOURCES ${DA_TEST_SRC}/unit/test_policy.c)
# Benchmark program of scripts/bench.d/verify.sh (not a test).
add_executable(bench_verify ${DA_TEST_SRC}/bench/bench_verify.c ${DA_TEST_SRC}/support/ima_build.c)
target_link_libraries(bench_verify PRIVATE da_test_verify devattest)
if(TARGET da_server)
  target_link_libraries(bench_verify PRIVATE da_server)
endif()
target_compile_definitions(bench_verify PRIVATE DA_SOURCE_ROOT="${DA_SOURCE_ROOT}")
add_test(NAME policy_schema COMMAND ${DA_TEST_SRC}/unit/check-policy-schema
         ${DA_SOURCE_ROOT}/docs/policy.schema.json
         ${DA_SOURCE_ROOT}/common/policies/iso27001-2022-devenv.json)
set_tests_properties(policy_schema PROPERTIES LABELS "unit")
da_unit_test(NAME test_quote SOURCES ${DA_TEST_SRC}/unit/test_quote.c LIBS da_test_verify)
da_unit_test(NAME test_nonce SOURCES ${DA_TEST_SRC}/unit/test_nonce.c)
# EK chains made with openssl in the test (tests/unit/ek-ca-certs).
da_unit_test(NAME test_ek SOURCES ${DA_TEST_SRC}/unit/test_ek.c LIBS da_test_verify)
da_unit_test(NAME test_credential SOURCES ${DA_TEST_SRC}/unit/test_credential.c LIBS da_test_verify)

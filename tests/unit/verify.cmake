# Verification core (common/): TPM structures, quotes, EK chains, credentials,
# nonces, the policy engine. Helpers shared with tests/integration/verify.cmake.
add_library(da_test_verify STATIC ${DA_TEST_SRC}/support/verify_support.c
            ${DA_TEST_SRC}/support/tpm_soft.c)
target_include_directories(da_test_verify PUBLIC ${DA_TEST_SRC}/support)
target_link_libraries(da_test_verify PUBLIC devattest)
target_compile_definitions(da_test_verify PRIVATE DA_SOURCE_ROOT="${DA_SOURCE_ROOT}")
da_unit_test(NAME test_policy SOURCES ${DA_TEST_SRC}/unit/test_policy.c)

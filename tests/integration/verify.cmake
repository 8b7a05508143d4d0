# Verification core against a real swtpm driven by tpm2-tools.
add_library(da_test_verify STATIC ${DA_TEST_SRC}/support/verify_support.c)
target_include_directories(da_test_verify PUBLIC ${DA_TEST_SRC}/support)
target_compile_definitions(da_test_verify PRIVATE DA_SOURCE_ROOT="${DA_SOURCE_ROOT}")
da_unit_test(NAME test_quote_swtpm SOURCES ${DA_TEST_SRC}/integration/test_quote_swtpm.c
             LIBS da_test_swtpm da_test_verify LABELS integration swtpm)

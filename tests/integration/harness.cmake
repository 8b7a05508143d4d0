# The swtpm harness itself: a test that relies on it must be able to trust it.
da_unit_test(NAME test_swtpm_harness SOURCES ${DA_TEST_SRC}/integration/test_swtpm_harness.c
             LIBS da_test_swtpm LABELS integration swtpm)

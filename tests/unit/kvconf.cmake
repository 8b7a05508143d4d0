# The generic key = value configuration parser (common/kvconf).
da_unit_test(NAME test_kvconf SOURCES ${DA_TEST_SRC}/unit/test_kvconf.c)

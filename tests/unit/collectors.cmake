# Tests of the posture collectors (collector/).
da_unit_test(NAME test_collector_fixtures
  SOURCES ${DA_TEST_SRC}/unit/test_collector_fixtures.c LIBS da_collectors LABELS collectors)
da_unit_test(NAME test_deb SOURCES ${DA_TEST_SRC}/unit/test_deb.c LIBS da_collectors
  LABELS collectors)
da_unit_test(NAME test_collectors_ground_truth
  SOURCES ${DA_TEST_SRC}/unit/test_collectors_ground_truth.c LIBS da_collectors
  LABELS collectors)

# First-seen times of pending upgrades (collector/deb_seen.c, col_patches.c)
# and the shipped policy's grace-period check on them.
da_unit_test(NAME test_pending_age SOURCES ${DA_TEST_SRC}/unit/test_pending_age.c
  LIBS da_collectors LABELS collectors)

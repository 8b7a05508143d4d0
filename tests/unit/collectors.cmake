# Tests of the posture collectors (collector/).
da_unit_test(NAME test_collector_fixtures
  SOURCES ${DA_TEST_SRC}/unit/test_collector_fixtures.c LIBS da_collectors LABELS collectors)
da_unit_test(NAME test_deb SOURCES ${DA_TEST_SRC}/unit/test_deb.c LIBS da_collectors
  LABELS collectors)
da_unit_test(NAME test_collectors_ground_truth
  SOURCES ${DA_TEST_SRC}/unit/test_collectors_ground_truth.c ${DA_TEST_SRC}/support/tmptree.c
  LIBS da_collectors
  LABELS collectors)
da_unit_test(NAME test_collector_diversions
  SOURCES ${DA_TEST_SRC}/unit/test_collector_diversions.c LIBS da_collectors LABELS collectors)
da_unit_test(NAME test_collector_hostile
  SOURCES ${DA_TEST_SRC}/unit/test_collector_hostile.c LIBS da_collectors LABELS collectors)
# The same suite on the other fixture roots (lvm_luks2 above is the default).
foreach(hostile_root plain_dmcrypt opal_luks2 fscrypt_home none_container rpm)
  add_test(NAME test_collector_hostile_${hostile_root} COMMAND test_collector_hostile)
  set_tests_properties(test_collector_hostile_${hostile_root} PROPERTIES
    LABELS "unit;collectors" TIMEOUT 600 ENVIRONMENT "DA_HOSTILE_ROOT=${hostile_root}")
endforeach()
da_unit_test(NAME test_collector_blockdev
  SOURCES ${DA_TEST_SRC}/unit/test_collector_blockdev.c LIBS da_collectors LABELS collectors)
# In-process timings used by scripts/bench.d/collect.sh (not a test).
add_executable(bench_collect ${DA_TEST_SRC}/bench/bench_collect.c)
target_link_libraries(bench_collect PRIVATE da_collectors)
if(TARGET devattest-agent)
  add_dependencies(test_collector_fixtures devattest-agent)
endif()
da_unit_test(NAME test_collector_nft SOURCES ${DA_TEST_SRC}/unit/test_collector_nft.c
  LIBS da_collectors LABELS collectors)
if(TARGET devattest-agent)
  add_dependencies(test_collector_nft devattest-agent)
endif()
# da-nft-dump: the live nftables probe to a file, or the evaluator's answer
add_executable(da-nft-dump ${DA_TEST_SRC}/support/nft_dump_main.c)
target_link_libraries(da-nft-dump PRIVATE da_collectors)
# The device-mapper table of the disk collector, one small sysfs tree per stack.
da_unit_test(NAME test_collector_disk SOURCES ${DA_TEST_SRC}/unit/test_collector_disk.c
  LIBS da_collectors LABELS collectors)
# Security updates masked by newer candidates, against apt-get -s upgrade.
da_unit_test(NAME test_patches_security
  SOURCES ${DA_TEST_SRC}/unit/test_patches_security.c ${DA_TEST_SRC}/support/tmptree.c
  LIBS da_collectors LABELS collectors)
# Virtualization (systemd-detect-virt's rules) and Secure Boot (kernel, mokutil).
da_unit_test(NAME test_isolation_rules
  SOURCES ${DA_TEST_SRC}/unit/test_isolation_rules.c ${DA_TEST_SRC}/support/tmptree.c
  LIBS da_collectors LABELS collectors)
# Malware protection: collector fixtures and the shipped policy's checks.
da_unit_test(NAME test_antimalware
  SOURCES ${DA_TEST_SRC}/unit/test_antimalware.c ${DA_TEST_SRC}/support/tmptree.c
  LIBS da_collectors LABELS collectors)
da_unit_test(NAME test_collector_posture SOURCES ${DA_TEST_SRC}/unit/test_collector_posture.c
  LIBS da_collectors LABELS collectors)
# RPM roots built with rpmbuild/createrepo_c/dnf; dnf and rpm -V are the oracles.
da_unit_test(NAME test_rpm
  SOURCES ${DA_TEST_SRC}/unit/test_rpm.c ${DA_TEST_SRC}/support/tmptree.c
  LIBS da_collectors LABELS collectors)

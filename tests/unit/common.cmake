# Unit tests of libdevattest (common/).
da_unit_test(NAME test_buf SOURCES ${DA_TEST_SRC}/unit/test_buf.c)
da_unit_test(NAME test_err SOURCES ${DA_TEST_SRC}/unit/test_err.c)
da_unit_test(NAME test_log SOURCES ${DA_TEST_SRC}/unit/test_log.c)
da_unit_test(NAME test_rootfs SOURCES ${DA_TEST_SRC}/unit/test_rootfs.c)
da_unit_test(NAME test_file SOURCES ${DA_TEST_SRC}/unit/test_file.c)
# The ustar writer and reader of evidence packs, against GNU tar.
da_unit_test(NAME test_tar SOURCES ${DA_TEST_SRC}/unit/test_tar.c)
# The evidence's privacy inventory and minimal mode, on the agent's real output.
da_unit_test(NAME test_privacy SOURCES ${DA_TEST_SRC}/unit/test_privacy.c LABELS privacy)
if(TARGET devattest-agent)
  add_dependencies(test_privacy devattest-agent)
endif()
da_unit_test(NAME test_bundle SOURCES ${DA_TEST_SRC}/unit/test_bundle.c)
# Receipt key lookup and trust, with certificates made by OpenSSL.
da_unit_test(NAME test_receipt_trust SOURCES ${DA_TEST_SRC}/unit/test_receipt_trust.c)

# The IMA runtime measurement list parser on lists built here.
da_unit_test(NAME test_ima_log SOURCES ${DA_TEST_SRC}/unit/test_ima_log.c
             ${DA_TEST_SRC}/support/ima_build.c)

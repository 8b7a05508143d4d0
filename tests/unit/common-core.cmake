# Unit tests of libdevattest's encodings, digests, JSON, JCS, DSSE and in-toto.
da_unit_test(NAME test_encoding SOURCES ${DA_TEST_SRC}/unit/test_encoding.c)
da_unit_test(NAME test_digest SOURCES ${DA_TEST_SRC}/unit/test_digest.c
  LINK_OPTIONS -Wl,--wrap=EVP_DigestInit_ex -Wl,--wrap=EVP_Digest)
da_unit_test(NAME test_json SOURCES ${DA_TEST_SRC}/unit/test_json.c)
da_unit_test(NAME test_jcs SOURCES ${DA_TEST_SRC}/unit/test_jcs.c)
da_unit_test(NAME test_dsse SOURCES ${DA_TEST_SRC}/unit/test_dsse.c
  LINK_OPTIONS -Wl,--wrap=EVP_DigestSignInit)
da_unit_test(NAME test_intoto SOURCES ${DA_TEST_SRC}/unit/test_intoto.c)

# Benchmark driver for scripts/bench.d/common-core.sh (not a test).
add_executable(bench_json_jcs ${DA_TEST_SRC}/bench/bench_json_jcs.c)
target_link_libraries(bench_json_jcs PRIVATE devattest)

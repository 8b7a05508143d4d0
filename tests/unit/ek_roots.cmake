# The shipped EK CA certificates (packaging/ek-roots), openssl as the oracle.
da_unit_test(NAME test_ek_roots SOURCES ${DA_TEST_SRC}/unit/test_ek_roots.c LIBS da_server
             LABELS server)

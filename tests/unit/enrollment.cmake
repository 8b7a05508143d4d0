# The shipped EK CA certificates (packaging/ek-roots), openssl as the oracle.
da_unit_test(NAME test_ek_roots SOURCES ${DA_TEST_SRC}/unit/test_ek_roots.c LIBS da_server
             LABELS server)

# Enrollments held for approval in the store: atomic with the token, decided once.
da_unit_test(NAME test_server_enrollments SOURCES ${DA_TEST_SRC}/unit/test_server_enrollments.c
             LIBS da_server da_test_pg LABELS server)
add_test(NAME test_server_enrollments_pg COMMAND test_server_enrollments)
set_tests_properties(test_server_enrollments_pg PROPERTIES LABELS "unit;server;postgresql"
                     TIMEOUT 600 ENVIRONMENT DA_TEST_STORE=postgresql FIXTURES_REQUIRED da_pg)

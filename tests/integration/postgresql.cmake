# Two server instances on one PostgreSQL database (a database of the da_pg
# cluster, tests/support/pg-cluster): enrollment, nonces, challenges and
# counters across instances, and SIGKILL of one under load.
da_unit_test(NAME test_server_multi SOURCES ${DA_TEST_SRC}/integration/test_server_multi.c
                                            ${DA_TEST_SRC}/support/agent_run.c
             LIBS da_server da_test_server da_test_softak da_test_swtpm da_test_pg
                  da_test_webhook_rx
             LABELS integration server swtpm postgresql)
add_dependencies(test_server_multi devattest-server devattest-agent)
set_tests_properties(test_server_multi PROPERTIES FIXTURES_REQUIRED da_pg)

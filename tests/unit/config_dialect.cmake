# agent.conf and server.conf: one dialect, the same errors for the same input.
da_unit_test(NAME test_config_dialect SOURCES ${DA_TEST_SRC}/unit/test_config_dialect.c
             LIBS da_agent da_server)

# Unit tests of the agent's own modules (agent/).
da_unit_test(NAME test_agent_config SOURCES ${DA_TEST_SRC}/unit/test_agent_config.c LIBS da_agent)
da_unit_test(NAME test_agent_ipc SOURCES ${DA_TEST_SRC}/unit/test_agent_ipc.c LIBS da_agent)

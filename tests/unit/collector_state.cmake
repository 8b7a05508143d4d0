# The collector process's state files written through the parent.
da_unit_test(NAME test_agent_collector_state
             SOURCES ${DA_TEST_SRC}/unit/test_agent_collector_state.c LIBS da_agent
             LABELS sandbox collectors)
if(DA_SANITIZE OR DA_FUZZ)
  target_compile_definitions(test_agent_collector_state PRIVATE DA_SANITIZE=1)
endif()

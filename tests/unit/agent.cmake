# Unit tests of the agent's own modules (agent/).
da_unit_test(NAME test_agent_config SOURCES ${DA_TEST_SRC}/unit/test_agent_config.c LIBS da_agent)
da_unit_test(NAME test_agent_ipc SOURCES ${DA_TEST_SRC}/unit/test_agent_ipc.c LIBS da_agent)
# The sandbox tests fork children that enter each profile and make the
# forbidden calls; they need root for the fake device node (skipped otherwise).
da_unit_test(NAME test_agent_sandbox SOURCES ${DA_TEST_SRC}/unit/test_agent_sandbox.c LIBS da_agent
             LABELS sandbox)
if(DA_SANITIZE OR DA_FUZZ)
  target_compile_definitions(test_agent_sandbox PRIVATE DA_SANITIZE=1)
endif()
da_unit_test(NAME test_agent_spool SOURCES ${DA_TEST_SRC}/unit/test_agent_spool.c LIBS da_agent)
da_unit_test(NAME test_agent_daemon_parts SOURCES ${DA_TEST_SRC}/unit/test_agent_daemon_parts.c LIBS da_agent)
da_unit_test(NAME test_agent_loop SOURCES ${DA_TEST_SRC}/unit/test_agent_loop.c LIBS da_agent)
da_unit_test(NAME test_agent_deliver SOURCES ${DA_TEST_SRC}/unit/test_agent_deliver.c LIBS da_agent)
da_unit_test(NAME test_agent_fields SOURCES ${DA_TEST_SRC}/unit/test_agent_fields.c LIBS da_agent)
# Each profile as the agent's user: the forbidden actions from inside, and
# the ownership rules of the agent's directories (root for the first part).
da_unit_test(NAME test_agent_privdrop SOURCES ${DA_TEST_SRC}/unit/test_agent_privdrop.c
             LIBS da_agent LABELS sandbox)
target_compile_definitions(test_agent_privdrop PRIVATE DA_BINARY_ROOT="${PROJECT_BINARY_DIR}")
if(DA_SANITIZE OR DA_FUZZ)
  target_compile_definitions(test_agent_privdrop PRIVATE DA_SANITIZE=1)
endif()
# The bound on the memory of the signer's and the uploader's JSON trees.
da_unit_test(NAME test_json_memcap SOURCES ${DA_TEST_SRC}/unit/test_json_memcap.c LIBS devattest)
target_compile_definitions(test_json_memcap PRIVATE DA_SOURCE_ROOT="${DA_SOURCE_ROOT}")
# The signer's refusal of anything but an evidence document, over its channel.
da_unit_test(NAME test_agent_signer SOURCES ${DA_TEST_SRC}/unit/test_agent_signer.c LIBS da_agent)
da_unit_test(NAME test_agent_ima SOURCES ${DA_TEST_SRC}/unit/test_agent_ima.c
             ${DA_TEST_SRC}/support/ima_build.c LIBS da_agent)
# attest's parsers of outside files, the socket request, the receipt and the
# quote's qualifying data.
da_unit_test(NAME test_agent_attest_input SOURCES ${DA_TEST_SRC}/unit/test_agent_attest_input.c
             LIBS da_agent)

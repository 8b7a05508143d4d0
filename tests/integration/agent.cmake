# Agent integration tests: real processes and servers on loopback.
add_library(da_test_tls STATIC ${DA_TEST_SRC}/support/tls_server.c)
target_include_directories(da_test_tls PUBLIC ${DA_TEST_SRC}/support)
target_link_libraries(da_test_tls PUBLIC OpenSSL::SSL OpenSSL::Crypto da_test_tmp)

da_unit_test(NAME test_agent_transport SOURCES ${DA_TEST_SRC}/integration/test_agent_transport.c
             LIBS da_agent da_test_tls LABELS integration tls)
# The signer's sandbox around real TPM work on swtpm (needs da_test_tpm from tpm.cmake).
da_unit_test(NAME test_agent_signer_sandbox
             SOURCES ${DA_TEST_SRC}/integration/test_agent_signer_sandbox.c
             LIBS da_test_tpm LABELS integration swtpm sandbox)
if(DA_SANITIZE OR DA_FUZZ)
  target_compile_definitions(test_agent_signer_sandbox PRIVATE DA_SANITIZE=1)
endif()

# Benchmark driver for scripts/bench.d/agent.sh (not a test).
add_executable(bench_agent ${DA_TEST_SRC}/bench/bench_agent.c)
target_link_libraries(bench_agent PRIVATE da_agent)

# The agent binary end to end: swtpm, a real server over TLS, the shipped policy.
# (da_test_server comes from server.cmake, included after this file.)
da_unit_test(NAME test_agent_e2e SOURCES ${DA_TEST_SRC}/integration/test_agent_e2e.c
                                        ${DA_TEST_SRC}/support/agent_run.c
             LIBS da_agent da_test_server da_test_swtpm LABELS integration swtpm server)
add_dependencies(test_agent_e2e devattest-agent devattest-server)

# Benchmark of report cycles and the idle daemon (scripts/bench.d/agent.sh).
add_executable(bench_agent_cycle ${DA_TEST_SRC}/bench/bench_agent_cycle.c)
target_link_libraries(bench_agent_cycle PRIVATE da_test_server da_test_swtpm devattest)
target_compile_definitions(bench_agent_cycle PRIVATE DA_SOURCE_ROOT="${DA_SOURCE_ROOT}"
                           DA_BINARY_ROOT="${PROJECT_BINARY_DIR}")
add_dependencies(bench_agent_cycle devattest-agent devattest-server)

# A compromised uploader against the signer: forged evidence, planted spool
# entries (swtpm; the collector reads this machine).
da_unit_test(NAME test_agent_evidence_path
             SOURCES ${DA_TEST_SRC}/integration/test_agent_evidence_path.c
             LIBS da_agent da_test_swtpm LABELS integration swtpm)
target_compile_definitions(test_agent_evidence_path PRIVATE DA_BINARY_ROOT="${PROJECT_BINARY_DIR}")

# The firewall facts through the firewall reader equal the unsandboxed ones
# (a drop-policy nftables ruleset in a network namespace; root and nft).
da_unit_test(NAME test_agent_firewall SOURCES ${DA_TEST_SRC}/integration/test_agent_firewall.c
             LIBS da_agent LABELS integration sandbox)

# Measured boot end to end: swtpm extended with a real event log's events,
# the agent sends the log, the server replays it (tpm2-tools as the oracle).
da_unit_test(NAME test_mboot_e2e SOURCES ${DA_TEST_SRC}/integration/test_mboot_e2e.c
                                        ${DA_TEST_SRC}/support/agent_run.c
             LIBS da_agent da_test_server da_test_swtpm da_test_webhook_rx
             LABELS integration swtpm server)
add_dependencies(test_mboot_e2e devattest-agent devattest-server)

# Minimal privacy mode end to end: planted names never reach the server.
da_unit_test(NAME test_agent_privacy SOURCES ${DA_TEST_SRC}/integration/test_agent_privacy.c
             ${DA_TEST_SRC}/support/agent_run.c
             LIBS da_agent da_server da_test_server da_test_swtpm
             LABELS integration swtpm server privacy)
add_dependencies(test_agent_privacy devattest-agent devattest-server)

# IMA end to end: a synthetic list with swtpm's PCR 10 extended to match.
da_unit_test(NAME test_ima_e2e SOURCES ${DA_TEST_SRC}/integration/test_ima_e2e.c
             ${DA_TEST_SRC}/support/agent_run.c ${DA_TEST_SRC}/support/ima_build.c
             LIBS da_agent da_test_server da_test_swtpm LABELS integration swtpm server)
add_dependencies(test_ima_e2e devattest-agent devattest-server)
# attest end to end: the daemon serves attest_socket to a build user (root
# needed for the users); the bundle checked with openssl, git, sha*sum and a
# Python checker of the JSON Schema; a local TSA made with openssl ts.
da_unit_test(NAME test_agent_attest SOURCES ${DA_TEST_SRC}/integration/test_agent_attest.c
             LIBS da_agent da_test_server da_test_swtpm LABELS integration swtpm server attest)
add_dependencies(test_agent_attest devattest-agent devattest-server devattest-verify)

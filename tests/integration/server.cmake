# devattest-server end to end: the real binary over TLS on loopback.
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
add_library(da_test_server STATIC ${DA_TEST_SRC}/support/server_harness.c)
target_include_directories(da_test_server PUBLIC ${DA_TEST_SRC}/support)
target_compile_definitions(da_test_server PRIVATE DA_BINARY_ROOT="${PROJECT_BINARY_DIR}")
target_link_libraries(da_test_server PUBLIC PkgConfig::CURL PkgConfig::CJSON da_test_tmp)


da_unit_test(NAME test_server_http SOURCES ${DA_TEST_SRC}/integration/test_server_http.c
             LIBS da_server da_test_server da_test_rawtls LABELS integration server)
add_dependencies(test_server_http devattest-server)

if(TARGET da_agent)
  da_unit_test(NAME test_server_e2e SOURCES ${DA_TEST_SRC}/integration/test_server_e2e.c
               LIBS da_server da_agent da_test_server da_test_swtpm da_test_rawtls da_test_webhook_rx
               LABELS integration server swtpm)
  add_dependencies(test_server_e2e devattest-server)
endif()

pkg_check_modules(TSS2_MU_T REQUIRED IMPORTED_TARGET tss2-mu)
add_library(da_test_softak STATIC ${DA_TEST_SRC}/support/soft_ak.c)
target_include_directories(da_test_softak PUBLIC ${DA_TEST_SRC}/support)
target_link_libraries(da_test_softak PUBLIC devattest PkgConfig::TSS2_MU_T OpenSSL::Crypto)

da_unit_test(NAME test_server_crash SOURCES ${DA_TEST_SRC}/integration/test_server_crash.c
             LIBS da_server da_test_server da_test_softak LABELS integration server)
add_dependencies(test_server_crash devattest-server)

# Webhooks: a receiver in the test checks signatures, retries, the delivery log.
add_library(da_test_webhook_rx STATIC ${DA_TEST_SRC}/support/webhook_rx.c)
target_include_directories(da_test_webhook_rx PUBLIC ${DA_TEST_SRC}/support)
target_link_libraries(da_test_webhook_rx PUBLIC da_test_server da_server OpenSSL::Crypto
                      PkgConfig::CMOCKA)
da_unit_test(NAME test_server_webhooks SOURCES ${DA_TEST_SRC}/integration/test_server_webhooks.c
             LIBS da_server da_test_server da_test_softak da_test_webhook_rx
             LABELS integration server)
add_dependencies(test_server_webhooks devattest-server)

# Evidence packs: export (API and CLI), GNU tar, offline verification, tampering.
da_unit_test(NAME test_evidence_pack SOURCES ${DA_TEST_SRC}/integration/test_evidence_pack.c
             LIBS da_server da_test_server da_test_softak LABELS integration server)
add_dependencies(test_evidence_pack devattest-server devattest-verify)
# Retention through the server: its own sweep clock, 410 evidence_pruned.
da_unit_test(NAME test_server_retention SOURCES ${DA_TEST_SRC}/integration/test_server_retention.c
             LIBS da_server da_test_server da_test_softak LABELS integration server)
add_dependencies(test_server_retention devattest-server)

# Store write path and bytes per report (scripts/bench.d/store.sh); not a test.
add_executable(bench_store ${DA_TEST_SRC}/bench/bench_store.c)
target_link_libraries(bench_store PRIVATE da_server)

# Refusals through the API with quotes of chosen defects (tests/support/tpm_soft.c).
da_unit_test(NAME test_server_refusals
             SOURCES ${DA_TEST_SRC}/integration/test_server_refusals.c ${DA_TEST_SRC}/support/tpm_soft.c
             LIBS da_server da_test_server OpenSSL::SSL LABELS integration server)
add_dependencies(test_server_refusals devattest-server)

# /healthz and /readyz: liveness against readiness (store, policy, EK roots, disk).
da_unit_test(NAME test_server_ready SOURCES ${DA_TEST_SRC}/integration/test_server_ready.c
             LIBS da_server da_test_server LABELS integration server)
add_dependencies(test_server_ready devattest-server)

# Raw TLS client and database digest for tests that send exact bytes.
pkg_check_modules(SQLITE3_T REQUIRED IMPORTED_TARGET sqlite3)
add_library(da_test_rawtls STATIC ${DA_TEST_SRC}/support/raw_tls.c ${DA_TEST_SRC}/support/db_digest.c)
target_include_directories(da_test_rawtls PUBLIC ${DA_TEST_SRC}/support)
target_link_libraries(da_test_rawtls PUBLIC OpenSSL::SSL OpenSSL::Crypto PkgConfig::SQLITE3_T)

# Request framing, request target and query parameters over raw TLS.
da_unit_test(NAME test_server_framing SOURCES ${DA_TEST_SRC}/integration/test_server_framing.c
             LIBS da_server da_test_server da_test_rawtls LABELS integration server)
add_dependencies(test_server_framing devattest-server)

# 600 slow connections from one address while the real agent (swtpm) reports.
if(TARGET da_agent)
  da_unit_test(NAME test_server_slow_clients
               SOURCES ${DA_TEST_SRC}/integration/test_server_slow_clients.c
                       ${DA_TEST_SRC}/support/agent_run.c
               LIBS da_server da_test_server da_test_swtpm da_test_rawtls
               LABELS integration server swtpm)
  add_dependencies(test_server_slow_clients devattest-server devattest-agent)
endif()

# /metrics after real traffic (promtool), the access log, token and vendor
# administration, paged lists.
da_unit_test(NAME test_server_ops SOURCES ${DA_TEST_SRC}/integration/test_server_ops.c
             LIBS da_server da_test_server da_test_softak da_test_rawtls LABELS integration server)
add_dependencies(test_server_ops devattest-server)

# The API document: valid OpenAPI (a validator from npm, see tests/api), and
# every answer of the server integration tests below checked against it.
add_executable(print_error_codes ${DA_TEST_SRC}/api/print_error_codes.c)
target_link_libraries(print_error_codes PRIVATE devattest)
add_test(NAME api_document_valid COMMAND ${DA_TEST_SRC}/api/check-api-contract ${PROJECT_SOURCE_DIR})
set(DA_API_ANSWERS ${PROJECT_BINARY_DIR}/api-answers)
file(MAKE_DIRECTORY ${DA_API_ANSWERS})
foreach(t test_server_http test_server_framing test_server_e2e test_server_refusals test_server_ready
          test_server_ops test_mboot_e2e test_ima_e2e test_server_webhooks
          test_evidence_pack
          test_server_retention)
  if(TEST ${t})
    set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT DA_TEST_API_CAPTURE=${DA_API_ANSWERS}/${t}.jsonl)
    set_property(TEST ${t} APPEND PROPERTY FIXTURES_SETUP api_answers)
  endif()
endforeach()
add_test(NAME api_contract
         COMMAND ${DA_TEST_SRC}/api/check-api-contract ${PROJECT_SOURCE_DIR} ${DA_API_ANSWERS}
                 $<TARGET_FILE:print_error_codes>)
set_tests_properties(api_contract PROPERTIES FIXTURES_REQUIRED api_answers)
set_tests_properties(api_document_valid api_contract PROPERTIES LABELS "server;api")

# The dashboard: static files, path handling, the fleet and diff views.
add_library(da_test_fleet STATIC ${DA_TEST_SRC}/support/fleet_seed.c)
target_include_directories(da_test_fleet PUBLIC ${DA_TEST_SRC}/support)
target_link_libraries(da_test_fleet PUBLIC da_server da_test_server da_test_softak)
da_unit_test(NAME test_dashboard_api SOURCES ${DA_TEST_SRC}/integration/test_dashboard_api.c
             LIBS da_server da_test_fleet da_test_rawtls LABELS integration server)
add_dependencies(test_dashboard_api devattest-server)
set_property(TEST test_dashboard_api APPEND PROPERTY ENVIRONMENT
             DA_TEST_API_CAPTURE=${DA_API_ANSWERS}/test_dashboard_api.jsonl)
set_property(TEST test_dashboard_api APPEND PROPERTY FIXTURES_SETUP api_answers)

# Evidence packs of reports with real firmware event logs, replayed offline.
da_unit_test(NAME test_evidence_pack_eventlog
             SOURCES ${DA_TEST_SRC}/integration/test_evidence_pack_eventlog.c
             LIBS da_server da_test_fleet LABELS integration server)
add_dependencies(test_evidence_pack_eventlog devattest-server devattest-verify)
set_property(TEST test_evidence_pack_eventlog APPEND PROPERTY ENVIRONMENT
             DA_TEST_API_CAPTURE=${DA_API_ANSWERS}/test_evidence_pack_eventlog.jsonl)
set_property(TEST test_evidence_pack_eventlog APPEND PROPERTY FIXTURES_SETUP api_answers)

# The OSCAL export against NIST's published schema (ajv from tests/api).
da_unit_test(NAME test_oscal_export SOURCES ${DA_TEST_SRC}/integration/test_oscal_export.c
             LIBS da_server da_test_fleet LABELS integration server)
add_dependencies(test_oscal_export devattest-server)
set_property(TEST test_oscal_export APPEND PROPERTY ENVIRONMENT
             DA_TEST_API_CAPTURE=${DA_API_ANSWERS}/test_oscal_export.jsonl)
set_property(TEST test_oscal_export APPEND PROPERTY FIXTURES_SETUP api_answers)

# The dashboard in headless Chromium (tests/browser). It spends a minute
# waiting for a machine to go stale and starts a browser, so it runs in the
# release build only: scripts/test runs it once, not again under ASan.
if(NOT DA_SANITIZE)
  da_unit_test(NAME test_dashboard_browser
               SOURCES ${DA_TEST_SRC}/integration/test_dashboard_browser.c
               LIBS da_server da_test_fleet LABELS integration server browser)
  add_dependencies(test_dashboard_browser devattest-server)
endif()

# devattest-loadgen against the real server: its figures against the
# server's own counts (/metrics, the database, the API).
if(TARGET devattest-loadgen)
  da_unit_test(NAME test_loadgen SOURCES ${DA_TEST_SRC}/integration/test_loadgen.c
               LIBS da_loadgen da_test_server da_test_softak OpenSSL::Crypto PkgConfig::SQLITE3_T
               LABELS integration server)
  add_dependencies(test_loadgen devattest-server devattest-loadgen)
  set_property(TEST test_loadgen APPEND PROPERTY ENVIRONMENT
               DA_TEST_API_CAPTURE=${DA_API_ANSWERS}/test_loadgen.jsonl)
  set_property(TEST test_loadgen APPEND PROPERTY FIXTURES_SETUP api_answers)
endif()

# Unit tests of the server's modules (real SQLite files in temp directories).
da_unit_test(NAME test_server_config SOURCES ${DA_TEST_SRC}/unit/test_server_config.c
             LIBS da_server LABELS server)
da_unit_test(NAME test_server_store SOURCES ${DA_TEST_SRC}/unit/test_server_store.c
             LIBS da_server da_test_pg LABELS server)
# The same store tests on PostgreSQL (a database of the da_pg cluster).
add_test(NAME test_server_store_pg COMMAND test_server_store)
set_tests_properties(test_server_store_pg PROPERTIES LABELS "unit;server;postgresql" TIMEOUT 600
                     ENVIRONMENT DA_TEST_STORE=postgresql FIXTURES_REQUIRED da_pg)
# Statements sent without waiting (srv_exec_later), on both engines.
da_unit_test(NAME test_server_store_runner SOURCES ${DA_TEST_SRC}/unit/test_server_store_runner.c
             LIBS da_server da_test_pg LABELS server)
add_test(NAME test_server_store_runner_pg COMMAND test_server_store_runner)
set_tests_properties(test_server_store_runner_pg PROPERTIES LABELS "unit;server;postgresql"
                     TIMEOUT 600 ENVIRONMENT DA_TEST_STORE=postgresql FIXTURES_REQUIRED da_pg)
# The fleet summary kept on write against the per-machine computation.
da_unit_test(NAME test_server_fleet SOURCES ${DA_TEST_SRC}/unit/test_server_fleet.c
             LIBS da_server da_test_pg LABELS server)
add_test(NAME test_server_fleet_pg COMMAND test_server_fleet)
set_tests_properties(test_server_fleet_pg PROPERTIES LABELS "unit;server;postgresql" TIMEOUT 600
                     ENVIRONMENT DA_TEST_STORE=postgresql FIXTURES_REQUIRED da_pg)
# Compact report storage: real documents, retention, damaged blobs.
da_unit_test(NAME test_server_store_pack SOURCES ${DA_TEST_SRC}/unit/test_server_store_pack.c
             LIBS da_server da_test_pg LABELS server)
add_test(NAME test_server_store_pack_pg COMMAND test_server_store_pack)
set_tests_properties(test_server_store_pack_pg PROPERTIES LABELS "unit;server;postgresql"
                     TIMEOUT 600 ENVIRONMENT DA_TEST_STORE=postgresql FIXTURES_REQUIRED da_pg)
target_compile_definitions(test_server_store_pack PRIVATE DA_SOURCE_ROOT="${DA_SOURCE_ROOT}")
# List query values: RFC 3339 times (GNU date as the oracle) and cursors.
da_unit_test(NAME test_server_listing SOURCES ${DA_TEST_SRC}/unit/test_server_listing.c
             LIBS da_server LABELS server)
# CSV fields: RFC 4180 quoting and the formula defence.
da_unit_test(NAME test_server_csv SOURCES ${DA_TEST_SRC}/unit/test_server_csv.c
             LIBS da_server LABELS server)
da_unit_test(NAME test_server_ratelimit SOURCES ${DA_TEST_SRC}/unit/test_server_ratelimit.c
             LIBS da_server LABELS server)
da_unit_test(NAME test_server_report_parse SOURCES ${DA_TEST_SRC}/unit/test_server_report_parse.c
             LIBS da_server LABELS server)
da_unit_test(NAME test_server_pending_age
             SOURCES ${DA_TEST_SRC}/unit/test_server_pending_age.c ${DA_TEST_SRC}/support/tmptree.c
             LIBS da_server da_test_pg LABELS server)
add_test(NAME test_server_pending_age_pg COMMAND test_server_pending_age)
set_tests_properties(test_server_pending_age_pg PROPERTIES LABELS "unit;server;postgresql"
                     TIMEOUT 600 ENVIRONMENT DA_TEST_STORE=postgresql FIXTURES_REQUIRED da_pg)
# /attestation/boot from a real event log (tpm2_eventlog as the oracle).
da_unit_test(NAME test_server_measured SOURCES ${DA_TEST_SRC}/unit/test_server_measured.c
             LIBS da_server LABELS server)
da_unit_test(NAME test_server_ima SOURCES ${DA_TEST_SRC}/unit/test_server_ima.c
             ${DA_TEST_SRC}/support/ima_build.c LIBS da_server LABELS server)
# The shipped dbx reference and dbx update files (Microsoft's listing and
# tpm2_eventlog as the oracles).
da_unit_test(NAME test_dbx_update SOURCES ${DA_TEST_SRC}/unit/test_dbx_update.c
             LIBS da_server LABELS server)
add_dependencies(test_dbx_update devattest-verify)
# devattest-loadgen's documents, error counts and /metrics reading.
if(TARGET da_loadgen)
  da_unit_test(NAME test_loadgen_docs SOURCES ${DA_TEST_SRC}/unit/test_loadgen_docs.c
               LIBS da_loadgen OpenSSL::Crypto LABELS loadgen)
endif()
# Benchmark program: the report parse on a realistic body (not a test).
add_executable(bench_report_parse ${DA_TEST_SRC}/bench/bench_report_parse.c)
target_link_libraries(bench_report_parse PRIVATE da_server devattest)

# The three binaries' command lines: COMMAND --help for every command of
# each command table, --version, and an unknown command named in the error.
add_test(NAME cli_commands COMMAND ${DA_TEST_SRC}/integration/check-cli-commands
         ${PROJECT_BINARY_DIR})
set_tests_properties(cli_commands PROPERTIES LABELS "integration;cli")

# devattest-server cert renew, with openssl as the oracle.
add_test(NAME server_cert_renew COMMAND ${DA_TEST_SRC}/integration/check-cert-renew
         ${PROJECT_BINARY_DIR})
set_tests_properties(server_cert_renew PROPERTIES LABELS "integration;server;cli")

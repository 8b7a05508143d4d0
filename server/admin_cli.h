/* devattest-server's administration commands on the database:
 * `token list|revoke|expire` and `vendor create|list|rename`.
 *
 * argv[0] is the subcommand. Exit codes as main.c's: 0 success, 1 failure
 * (the stable error code and message on standard error, nothing changed),
 * 2 usage error. */
#ifndef SRV_ADMIN_CLI_H
#define SRV_ADMIN_CLI_H

#include "config.h"

int srv_cli_token_admin(const struct srv_config *cfg, int argc, char **argv);
int srv_cli_vendor(const struct srv_config *cfg, int argc, char **argv);

#endif

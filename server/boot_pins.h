/* Boot pins: the boot component digests an admin allows for a vendor's
 * machines (docs/evidence.md, "Boot pins"). Shared by the admin API and
 * the `devattest-server boot-pin` command. */
#ifndef SRV_BOOT_PINS_H
#define SRV_BOOT_PINS_H

#include <cjson/cJSON.h>

#include "config.h"
#include "store.h"

/* A pin's digest ("sha256:" and 64 hex digits, either case) and component
 * name (shim, bootloader, kernel, uki, driver, other); the digest is
 * written to out in lower case. DA_ERR_BOOT_PIN_INVALID otherwise. */
int srv_boot_pin_parse(const char *digest, const char *what, char out[7 + 64 + 1]);

/* {"vendor", "digest", "what", "actor", "created_at"} */
int srv_boot_pin_render(const struct srv_boot_pin *p, cJSON **out);

/* devattest-server boot-pin add|list|remove ...; argv[0] is "boot-pin".
 * Exit status: 0, 1 (failure, with the error code on stderr), 2 (usage). */
int srv_cli_boot_pin(const struct srv_config *cfg, int argc, char **argv);

#endif

/* Virtualization detection for the isolation area, following the rules of
 * systemd-detect-virt (systemd's src/basic/virt.c): container checks first,
 * then the virtual machine checks in systemd's order. */
#ifndef COL_VIRT_H
#define COL_VIRT_H

#include <cjson/cJSON.h>

#include "collector.h"

/* Add area.virtualization: {kind: vm|container|none, name: the
 * systemd-detect-virt identifier, source: what decided}, or an unknown
 * object when a file that decides could not be read. 0 or DA_ERR_NOMEM. */
int col_virtualization(const struct col_ctx *ctx, cJSON *area);

#endif

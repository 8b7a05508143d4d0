/* The deployment's privacy key in the agent's state directory.
 *
 * The server hands the key out at enrollment; the agent keeps it as 64 hex
 * digits in <state_dir>/privacy.key, mode 0600, readable by the agent's own
 * user only. Minimal privacy mode pseudonymizes with it (common/privacy.h);
 * `devattest-agent privacy reveal` recomputes pseudonyms with it.
 */
#ifndef AGENT_PRIVACY_KEY_H
#define AGENT_PRIVACY_KEY_H

#include "privacy.h"

#define AGENT_PRIVACY_KEY_FILE "privacy.key"

/* Read the key. DA_ERR_NOT_ENROLLED when there is none (no state directory
 * or no file), DA_ERR_PRIVACY_KEY when group or others may read it or it is
 * not 64 hex digits. */
int agent_privacy_key_load(const char *state_dir, unsigned char key[DA_PRIVACY_KEY_LEN]);

/* Store the key from the server's enrollment answer (64 hex digits). */
int agent_privacy_key_save(const char *state_dir, const char *hex);

#endif

/*
 * startup.h - one clear line for each way vaultsrv cannot start on broken
 * state: the store (missing, damaged, another schema, unreachable) and the
 * token (pin file, module, token directory, PIN, vault keys). Used after
 * store_open(), hsm_open() or hsm_load_keys() failed; docs/vaultsrv.md,
 * "Startup errors", lists the lines.
 */
#ifndef VAULTSRV_STARTUP_H
#define VAULTSRV_STARTUP_H

#include <stddef.h>

#include "vs_config.h"

/*
 * Writes into buf (len bytes, NUL-terminated, truncated if need be) why
 * store_open(cfg->store) failed with r (< 0). No trailing newline.
 */
void startup_store_why(const struct vs_config *cfg, int r, char *buf,
		       size_t len);

/*
 * Writes into buf why the token could not be used: keys == 0 after
 * hsm_open() failed with r, keys == 1 after hsm_load_keys() failed with r.
 * It looks at the pin file and the module again (never reading the PIN
 * itself into the message) to name the first thing that is wrong.
 */
void startup_hsm_why(const struct vs_config *cfg, int keys, int r, char *buf,
		     size_t len);

#endif

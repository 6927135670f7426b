/*
 * fuzz_vfs_vaultconf.c - libFuzzer harness: vaultfs's per-store file of
 * trusted vault URLs, STATE_DIR/vaults/<store id>.conf (fs/cli.h:
 * cli_vault_conf_load, cli_vault_trusted). An accepted file must give
 * NUL-terminated fields that save and load back the same.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "fuzz.h"

static const uint8_t id[16] = {1, 2, 3, 4, 5, 6, 7, 8,
			       9, 10, 11, 12, 13, 14, 15, 16};
static char state[4096], path[8192];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(state, sizeof(state), "%s/state", fuzz_tmpdir());
	snprintf(path, sizeof(path), "%s/vaults", state);
	if (mkdir(state, 0700) < 0 || mkdir(path, 0700) < 0)
		abort();
	snprintf(path, sizeof(path),
		 "%s/vaults/0102030405060708090a0b0c0d0e0f10.conf", state);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cli_vault_conf c, c2;
	char tok[4096];

	fuzz_write(path, data, size);
	if (cli_vault_conf_load(state, id, &c) == 0) {
		if (!memchr(c.url, 0, sizeof(c.url)) ||
		    !memchr(c.account, 0, sizeof(c.account)) ||
		    !memchr(c.token_file, 0, sizeof(c.token_file)))
			abort();
		if (cli_vault_trusted(state, c.url,
				      c.account[0] ? c.account : NULL, tok,
				      sizeof(tok)) != 1)
			abort();
		if (cli_vault_conf_save(state, id, &c) != 0 ||
		    cli_vault_conf_load(state, id, &c2) != 0 ||
		    strcmp(c.url, c2.url) || strcmp(c.account, c2.account) ||
		    strcmp(c.token_file, c2.token_file))
			abort();
	} else {
		(void)cli_vault_trusted(state, "https://vault.example", "a",
					tok, sizeof(tok));
	}
	return 0;
}

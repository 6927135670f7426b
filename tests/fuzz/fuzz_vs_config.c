/*
 * fuzz_vs_config.c - libFuzzer harness: the configuration parser. An
 * accepted file must satisfy the whole-file rules.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vaultsrv/vs_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vs_config c;
	char why[256];

	config_defaults(&c);
	if (config_parse(&c, (const char *)data, size, why, sizeof(why)) == 0) {
		if (!c.listen_loopback && !c.tls_cert[0])
			abort();
		if (c.max_attempts < 1 || c.max_attempts > 1000 ||
		    !c.pin_file[0])
			abort();
		/* a store: the SQLite file, or an etcd spec (checked in
		 * full when the store opens: store_etcd.c) */
		if (!c.db[0] && strncmp(c.store, "etcd:", 5) != 0)
			abort();
	}
	return 0;
}

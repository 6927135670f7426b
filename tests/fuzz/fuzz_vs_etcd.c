/*
 * fuzz_vs_etcd.c - libFuzzer harness: the parser of etcd's /v3/kv/txn
 * answers (vaultsrv/etcd_parse.c). An accepted answer must stay within
 * the bounds the store relies on.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vaultsrv/etcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct etcd_txn_result t;

	memset(&t, 0, sizeof(t));
	if (etcd_parse_txn((const char *)data, size, &t) != 0)
		return 0;
	if (t.revision <= 0 || t.nranges > ETCD_OPS_MAX ||
	    (t.succeeded != 0 && t.succeeded != 1))
		abort();
	for (size_t i = 0; i < t.nranges; i++) {
		if (t.range[i].n > ETCD_KVS_MAX)
			abort();
		for (size_t k = 0; k < t.range[i].n; k++) {
			const struct etcd_kv *kv = &t.range[i].kv[k];

			if (!kv->key || !*kv->key ||
			    strlen(kv->key) > ETCD_KEY_MAX ||
			    kv->value_len > ETCD_VALUE_MAX ||
			    kv->mod_revision <= 0 || kv->create_revision <= 0)
				abort();
		}
	}
	etcd_txn_result_release(&t);
	return 0;
}

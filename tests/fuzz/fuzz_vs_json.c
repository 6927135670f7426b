/*
 * fuzz_vs_json.c - libFuzzer harness: vaultsrv's JSON request parser and
 * every getter on it, as the handlers use them.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "vaultsrv/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[] = { "account", "blinded", "store_id", "sig",
				       "chal_id", "argon", "stores", "ops" };
	struct json_obj *o;
	const struct json_obj *sub;
	const char *s;
	uint8_t buf[128];
	uint64_t u;
	size_t n;

	if (json_parse((const char *)data, size, &o) < 0)
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		(void)!json_get_str(o, names[i], 128, &s);
		(void)!json_get_b64(o, names[i], buf, 1, sizeof(buf), &n);
		(void)!json_get_hex16(o, names[i], buf);
		(void)!json_get_u64(o, names[i], &u);
		if (json_get_obj(o, names[i], &sub) == 0)
			(void)!json_get_u64(sub, "ops", &u);
		if (json_get_array_len(o, names[i], 16, &n) == 0)
			for (size_t k = 0; k < n; k++)
				if (json_get_array_obj(o, names[i], k, &sub) == 0)
					(void)!json_get_b64(sub, "enc_k", buf,
							    72, 72, &n);
	}
	json_obj_free(o);
	return 0;
}

/*
 * fuzz_vc_json.c - libFuzzer harness: the vault client's JSON reply parser
 * and every getter on it (vaultclient/json.h), with the keys and bounds
 * the protocol code uses. A string that is accepted must be printable
 * ASCII within its bound; decoded sizes must stay within theirs.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "vaultclient/json.h"

static const char *const names[] = {
	"reg_id", "evaluated", "chal_id", "challenge", "argon", "ops",
	"mem", "attempts_left", "enc_k", "k_pub", "stores", "store_id",
	"generation", "sig", "events", "time", "action", "outcome",
	"source", "error", "message", "status", "ok",
};

static void getters(const struct json *o, int depth)
{
	uint8_t buf[256];
	const struct json *sub, *arr;
	const char *s;
	uint64_t u;
	size_t n;
	int b;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (json_get_str(o, names[i], 128, &s) == 0) {
			size_t len = strlen(s);

			if (len > 128)
				abort();
			for (size_t k = 0; k < len; k++)
				if (s[k] < 0x20 || s[k] > 0x7e)
					abort();
		}
		if (json_get_b64(o, names[i], buf, 0, 72, &n) == 0 && n > 72)
			abort();
		(void)!json_get_b64(o, names[i], buf, 32, 32, &n);
		(void)!json_get_hex(o, names[i], buf, 16);
		if (json_get_u64(o, names[i], JSON_INT_MAX, &u) == 0 &&
		    u > JSON_INT_MAX)
			abort();
		(void)!json_get_u64(o, names[i], 1000, &u);
		(void)!json_get_bool(o, names[i], &b);
		if (depth < 3 && json_get_obj(o, names[i], &sub) == 0)
			getters(sub, depth + 1);
		if (depth < 3 &&
		    json_get_arr(o, names[i], 1000, &arr, &n) == 0) {
			if (n > 1000)
				abort();
			for (size_t k = 0; k < n; k++)
				if (json_arr_obj(arr, k, &sub) == 0)
					getters(sub, depth + 1);
			(void)!json_arr_obj(arr, n, &sub);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json *j;
	char *text;
	size_t len;

	if (json_parse((const char *)data, size, &j) < 0)
		return 0;
	getters(j, 0);
	/* what was accepted prints and parses again */
	if (json_print(j, &text, &len) == 0) {
		struct json *j2;

		if (json_parse(text, len, &j2) == 0)
			json_free(j2);
		json_text_free(text);
	}
	json_free(j);
	return 0;
}

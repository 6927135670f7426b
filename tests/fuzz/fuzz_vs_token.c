/*
 * fuzz_vs_token.c - libFuzzer harness: account token verification. A
 * token that verifies must carry a valid account.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "vaultsrv/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t key[32];

static int mac(void *ctx, const void *msg, size_t len, uint8_t out[32])
{
	crypto_auth_hmacsha256(out, msg, len, key);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct token_mac m = { mac, NULL };
	char acc[TOKEN_ACCOUNT_MAX + 1];

	if (sodium_init() < 0)
		abort();
	if (token_verify(&m, "0123456789abcdef0123456789abcdef",
			 (const char *)data, size, 0, acc) == 0 &&
	    !token_account_valid(acc, strlen(acc)))
		abort();
	return 0;
}

/*
 * fuzz_vs_ceremony.c - libFuzzer harness: the key ceremony's request and
 * bundle files (vaultsrv/ceremony.c). What parses must hold together: a
 * request's fingerprint is its key's and the key is RSA-3072/65537; a
 * bundle has one MAC key, a master key, distinct valid labels, and
 * formats back to text that parses to the same bundle.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "vaultsrv/ceremony.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_bundle(const struct ceremony_bundle *b)
{
	struct ceremony_bundle *again;
	size_t nmac = 0, nmaster = 0;
	char *text = NULL, why[160];

	if (b->nkeys == 0 || b->nkeys > HSM_CKEYS_MAX)
		abort();
	for (size_t i = 0; i < b->nkeys; i++) {
		enum hsm_key_kind k;

		if (!hsm_vault_key_label(b->keys[i].label, &k) ||
		    k != b->keys[i].kind ||
		    b->keys[i].wrapped_len != HSM_RSA_MOD_LEN)
			abort();
		if (k == HSM_KEY_MAC)
			nmac++;
		else
			nmaster++;
		for (size_t j = 0; j < i; j++)
			if (strcmp(b->keys[i].label, b->keys[j].label) == 0)
				abort();
	}
	if (nmac != 1 || nmaster == 0)
		abort();
	again = calloc(1, sizeof(*again));
	if (!again || ceremony_bundle_format(b, &text) < 0 ||
	    ceremony_bundle_parse(text, strlen(text), again, why,
				  sizeof(why)) < 0 ||
	    again->nkeys != b->nkeys ||
	    memcmp(again->keys[0].wrapped, b->keys[0].wrapped,
		   HSM_RSA_MOD_LEN) != 0)
		abort();
	free(text);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ceremony_request q;
	struct ceremony_bundle *b;
	uint8_t f[CEREMONY_FPR_LEN];
	char why[160];

	if (sodium_init() < 0)
		abort();
	if (ceremony_request_parse((const char *)data, size, &q, why,
				   sizeof(why)) == 0) {
		ceremony_fingerprint(q.id, q.mod, q.exp, q.exp_len, f);
		if (memcmp(f, q.fpr, sizeof(f)) != 0 ||
		    ceremony_rsa_check(q.mod, q.exp, q.exp_len) < 0)
			abort();
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		abort();
	if (ceremony_bundle_parse((const char *)data, size, b, why,
				  sizeof(why)) == 0)
		check_bundle(b);
	free(b);
	return 0;
}

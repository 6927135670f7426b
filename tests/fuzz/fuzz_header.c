/*
 * fuzz_header.c - libFuzzer harness: the store header "vaultfs.hdr"
 * (fs/header.h), read before the key is known.
 *
 * Input: one mode byte, then the header. The header carries an unkeyed
 * checksum and a keyed check, which mutations almost never get right, so
 * mode bit 0 makes the harness recompute the checksum and bit 1 the keyed
 * check (with fuzz_key's header subkey) before parsing: the body parser
 * behind them is reached. An accepted header must encode back to one that
 * parses to the same fields.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chunk.h"
#include "fuzz.h"
#include "header.h"
#include "vfs_error.h"

#define HASH_BYTES 32 /* header.c */

static struct keys *keys;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0 || keys_new(fuzz_key, &keys) < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_info info, again;
	struct bufw w;
	uint8_t *p;
	size_t n;
	uint32_t blen;
	int r;

	if (size < 1)
		return 0;
	n = size - 1;
	p = malloc(n ? n : 1);
	if (!p)
		abort();
	memcpy(p, data + 1, n);
	if (n >= 16 + 2 * HASH_BYTES) {
		blen = get_le32(p + 12);
		if (blen == n - 16 - 2 * HASH_BYTES) {
			if (data[0] & 1)
				crypto_generichash(p + 16 + blen, HASH_BYTES,
						   p, 16 + blen, NULL, 0);
			if (data[0] & 2)
				crypto_generichash(p + 16 + blen + HASH_BYTES,
						   HASH_BYTES, p,
						   16 + blen + HASH_BYTES,
						   keys->hdr, 32);
		}
	}
	r = header_parse(p, n, &info);
	if (r == 0) {
		if (info.format_version < 1 ||
		    info.format_version > HEADER_FORMAT_MAX ||
		    strcmp(info.aead, HEADER_AEAD_NAME) != 0 ||
		    !memchr(info.vault_url, 0, sizeof(info.vault_url)) ||
		    !memchr(info.account, 0, sizeof(info.account)))
			abort();
		/* parses without the key also check the framing the keyed
		 * check relies on */
		r = header_check_key(p, n, keys->hdr);
		if (r != 0 && r != -VFS_E_WRONGKEY)
			abort();
		bufw_init(&w, HEADER_MAX, 0);
		if (header_encode(&info, keys->hdr, &w) != 0 ||
		    header_parse(w.data, w.len, &again) != 0 ||
		    header_check_key(w.data, w.len, keys->hdr) != 0 ||
		    memcmp(&info, &again, sizeof(info)) != 0)
			abort();
		bufw_release(&w);
	} else {
		(void)!header_check_key(p, n, keys->hdr);
	}
	free(p);
	return 0;
}

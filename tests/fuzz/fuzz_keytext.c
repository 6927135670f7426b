/*
 * fuzz_keytext.c - libFuzzer harness: the 64-digit recovery key text
 * (common/keytext.h). An accepted text must format back to a canonical
 * text that parses to the same key; a refused one must come with a reason.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "keytext.h"
#include "vfs_error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[KEYTEXT_KEY_BYTES], again[KEYTEXT_KEY_BYTES];
	char text[KEYTEXT_FORMAT_LEN], why[256];
	int r;

	why[0] = '\0';
	r = keytext_parse((const char *)data, size, key, why, sizeof(why));
	if (r < 0) {
		if (r != -VFS_E_KEYTEXT || !why[0] ||
		    !memchr(why, '\0', sizeof(why)))
			abort();
		return 0;
	}
	if (r != 0)
		abort();
	keytext_format(key, text);
	if (strlen(text) != KEYTEXT_FORMAT_LEN - 1 ||
	    keytext_parse(text, strlen(text), again, NULL, 0) != 0 ||
	    memcmp(key, again, sizeof(key)) != 0)
		abort();
	return 0;
}

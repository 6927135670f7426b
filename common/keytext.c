/*
 * keytext.c - format and parse the 64-digit key.
 *
 * The parser never echoes the text it was given (it is a secret); it says
 * how many digits it found and which kind of character was wrong.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "keytext.h"
#include "vfs_error.h"

void keytext_format(const uint8_t key[KEYTEXT_KEY_BYTES],
		    char out[KEYTEXT_FORMAT_LEN])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < KEYTEXT_KEY_BYTES; i++) {
		if (i > 0 && i % 2 == 0)
			out[o++] = ' ';
		out[o++] = hex[key[i] >> 4];
		out[o++] = hex[key[i] & 0xf];
	}
	out[o] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int keytext_parse(const char *text, size_t len,
		  uint8_t ret_key[KEYTEXT_KEY_BYTES], char *why, size_t whylen)
{
	uint8_t key[KEYTEXT_KEY_BYTES];
	size_t ndigits = 0, nbad = 0, pos_bad = 0;
	int r = -VFS_E_KEYTEXT;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		int v = hexval(c);

		if (v >= 0) {
			if (ndigits < 2 * KEYTEXT_KEY_BYTES) {
				if (ndigits % 2 == 0)
					key[ndigits / 2] = (uint8_t)(v << 4);
				else
					key[ndigits / 2] |= (uint8_t)v;
			}
			ndigits++;
		} else if (c == ' ' || c == '\t' || c == '-' || c == '\n' ||
			   c == '\r') {
			continue;
		} else {
			if (nbad == 0)
				pos_bad = i + 1;
			nbad++;
		}
	}

	if (nbad > 0) {
		if (why)
			snprintf(why, whylen,
				 "%zu character%s %s not a hex digit, space "
				 "or dash (first at position %zu)",
				 nbad, nbad == 1 ? "" : "s",
				 nbad == 1 ? "is" : "are", pos_bad);
		goto out;
	}
	if (ndigits != 2 * KEYTEXT_KEY_BYTES) {
		if (why)
			snprintf(why, whylen,
				 "found %zu hex digits, the key has 64",
				 ndigits);
		goto out;
	}
	memcpy(ret_key, key, sizeof(key));
	r = 0;
out:
	sodium_memzero(key, sizeof(key));
	return r;
}

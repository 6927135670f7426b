/*
 * keytext.h - the 64-digit key: a 256-bit key written as 64 hex digits.
 *
 * Canonical form: 16 groups of 4 lower-case hex digits separated by single
 * spaces. Parsing accepts any case, spaces, tabs, dashes and a trailing
 * newline between digits, and nothing else.
 */
#ifndef VFS_KEYTEXT_H
#define VFS_KEYTEXT_H

#include <stddef.h>
#include <stdint.h>

#define KEYTEXT_KEY_BYTES 32
/* 64 digits + 15 separators + NUL */
#define KEYTEXT_FORMAT_LEN 80

/*
 * Writes the canonical text of key into out (KEYTEXT_FORMAT_LEN bytes,
 * NUL-terminated). The caller wipes out when done.
 */
void keytext_format(const uint8_t key[KEYTEXT_KEY_BYTES],
		    char out[KEYTEXT_FORMAT_LEN]);

/*
 * Parses len bytes of text into ret_key. On failure returns -VFS_E_KEYTEXT
 * and, if why/whylen are given, writes a sentence saying what is wrong
 * (never quoting the text itself). ret_key is written only on success.
 */
int keytext_parse(const char *text, size_t len,
		  uint8_t ret_key[KEYTEXT_KEY_BYTES], char *why, size_t whylen)
	__attribute__((warn_unused_result));

#endif

/*
 * test_keytext.c - the 64-digit key: format, parse, every malformed form.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "keytext.h"
#include "vfs_error.h"

static const uint8_t key[32] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
	0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
	0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
};

static const char canon[] = "0011 2233 4455 6677 8899 aabb ccdd eeff "
			    "0123 4567 89ab cdef fedc ba98 7654 3210";

static void test_format(void **state)
{
	char out[KEYTEXT_FORMAT_LEN];

	keytext_format(key, out);
	assert_string_equal(out, canon);
	assert_int_equal(strlen(out), 79);
}

static void parse_ok(const char *text)
{
	uint8_t k[32];

	memset(k, 0x5a, sizeof(k));
	assert_int_equal(keytext_parse(text, strlen(text), k, NULL, 0), 0);
	assert_memory_equal(k, key, 32);
}

static void test_parse_forms(void **state)
{
	parse_ok(canon);
	parse_ok("00112233445566778899AABBCCDDEEFF0123456789ABCDEFFEDCBA9876543210");
	parse_ok("0011-2233-4455-6677-8899-aabb-ccdd-eeff-"
		 "0123-4567-89ab-cdef-fedc-ba98-7654-3210\n");
	parse_ok("  0011 2233\t4455 6677 8899 AaBb ccdd eeff\r\n"
		 "0123 4567 89ab cdef fedc ba98 7654 3210  ");
}

static void parse_bad(const char *text, const char *why_part)
{
	uint8_t k[32];
	char why[160] = "";

	memset(k, 0x5a, sizeof(k));
	assert_int_equal(keytext_parse(text, strlen(text), k, why, sizeof(why)),
			 -VFS_E_KEYTEXT);
	/* ret_key untouched on failure */
	for (int i = 0; i < 32; i++)
		assert_int_equal(k[i], 0x5a);
	assert_non_null(strstr(why, why_part));
}

static void test_parse_malformed(void **state)
{
	parse_bad("", "found 0 hex digits");
	parse_bad("0011 2233", "found 8 hex digits");
	/* 63 digits */
	parse_bad("0011 2233 4455 6677 8899 aabb ccdd eeff "
		  "0123 4567 89ab cdef fedc ba98 7654 321", "found 63 hex");
	/* 65 digits */
	parse_bad("0011 2233 4455 6677 8899 aabb ccdd eeff "
		  "0123 4567 89ab cdef fedc ba98 7654 32100", "found 65 hex");
	/* a letter that is not hex: 'g' at position 1 */
	parse_bad("g011 2233 4455 6677 8899 aabb ccdd eeff "
		  "0123 4567 89ab cdef fedc ba98 7654 3210",
		  "1 character is not a hex digit");
	parse_bad("0011 2233 4455 6677 8899 aabb ccdd eeff "
		  "0123 4567 89ab cdef fedc ba98 7654 321O",
		  "first at position 79");
	parse_bad("0011_2233,4455 6677 8899 aabb ccdd eeff "
		  "0123 4567 89ab cdef fedc ba98 7654 3210",
		  "2 characters are not");
	/* non-ASCII (UTF-8 'é') */
	parse_bad("0011 2233 4455 6677 8899 aabb ccdd eeff "
		  "0123 4567 89ab cdef fedc ba98 7654 3210\xc3\xa9",
		  "2 characters");
}

static void test_parse_embedded_nul(void **state)
{
	uint8_t k[32];
	char text[80];

	memcpy(text, canon, sizeof(canon));
	text[10] = '\0';
	assert_int_equal(keytext_parse(text, strlen(canon), k, NULL, 0),
			 -VFS_E_KEYTEXT);
}

static void test_why_never_echoes_digits(void **state)
{
	uint8_t k[32];
	char why[160];

	assert_int_equal(keytext_parse("dead beef", 9, k, why, sizeof(why)),
			 -VFS_E_KEYTEXT);
	assert_null(strstr(why, "dead"));
	assert_null(strstr(why, "beef"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_embedded_nul),
		cmocka_unit_test(test_why_never_echoes_digits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

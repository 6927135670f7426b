/*
 * test_vs_token.c - account tokens: round trip, expiry, forgery (every
 * single-character change), another vault, malformed text, and a MAC-valid
 * token whose account breaks the character rules.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "vaultsrv/token.h"

static uint8_t key[32];
static const char *vid = "0123456789abcdef0123456789abcdef";
static const char *vid2 = "fedcba9876543210fedcba9876543210";

static int mac(void *ctx, const void *msg, size_t len, uint8_t out[32])
{
	crypto_auth_hmacsha256(out, msg, len, ctx);
	return 0;
}

static const struct token_mac M = {mac, key};

static void test_roundtrip(void **state)
{
	char tok[TOKEN_MAX + 1], acc[TOKEN_ACCOUNT_MAX + 1];

	assert_int_equal(token_mint(&M, vid, "alice", 2000, tok, sizeof(tok)),
			 0);
	assert_int_equal(strncmp(tok, "v1.YWxpY2U.2000.", 16), 0);
	assert_int_equal(token_verify(&M, vid, tok, strlen(tok), 1999, acc), 0);
	assert_string_equal(acc, "alice");
	assert_int_equal(token_verify(&M, vid, tok, strlen(tok), 2000, acc), 0);
	assert_int_equal(token_verify(&M, vid, tok, strlen(tok), 2001, acc),
			 -ETIMEDOUT);
	assert_int_equal(token_verify(&M, vid2, tok, strlen(tok), 1000, acc),
			 -EXDEV);
	assert_int_equal(token_mint(&M, vid, "alice", 2000, tok, 20), -E2BIG);
}

static void test_every_change_is_refused(void **state)
{
	static const char alphabet[] = "aZ9-_.x";
	char tok[TOKEN_MAX + 1], t2[TOKEN_MAX + 1];
	char acc[TOKEN_ACCOUNT_MAX + 1];
	size_t n;

	assert_int_equal(
	    token_mint(&M, vid, "bob.smith-1", 5000, tok, sizeof(tok)), 0);
	n = strlen(tok);
	for (size_t i = 0; i < n; i++) {
		for (const char *a = alphabet; *a; a++) {
			if (tok[i] == *a)
				continue;
			memcpy(t2, tok, n + 1);
			t2[i] = *a;
			if (token_verify(&M, vid, t2, n, 1000, acc) == 0)
				fail_msg("changed char %zu to '%c' verified", i,
					 *a);
		}
	}
	/* Truncated and extended. */
	for (size_t i = 0; i < n; i++)
		assert_true(token_verify(&M, vid, tok, i, 1000, acc) < 0);
	memcpy(t2, tok, n);
	t2[n] = 'A';
	assert_true(token_verify(&M, vid, t2, n + 1, 1000, acc) < 0);
	/* A different key. */
	key[0] ^= 1;
	assert_int_equal(token_verify(&M, vid, tok, n, 1000, acc), -EBADMSG);
	key[0] ^= 1;
}

/* Builds a token with a valid MAC over arbitrary text. */
static void sign_text(const char *body, char *out, size_t cap)
{
	uint8_t m[32];
	char m64[64];

	crypto_auth_hmacsha256(m, (const uint8_t *)body, strlen(body), key);
	sodium_bin2base64(m64, sizeof(m64), m, 32,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(out, cap, "%s.%s", body, m64);
}

static void test_malformed(void **state)
{
	static const char *bad[] = {
	    "",
	    "v1",
	    "v1....",
	    "v2.YWxpY2U.2000.%s",
	    "v1.YWxpY2U.2000.%s.extra",
	    "v1..2000.%s",			  /* empty account */
	    "v1.YWxpY2U=.2000.%s",		  /* padding */
	    "v1.YWxp+2U.2000.%s",		  /* not url-safe */
	    "v1.YWJj.2000.%s",			  /* "abc": fine, see below */
	    "v1.YSBi.2000.%s",			  /* "a b": bad character */
	    "v1.YWxpY2U.-5.%s",			  /* sign */
	    "v1.YWxpY2U.12345678901234567890.%s", /* too long */
	    "v1.YWxpY2U..%s",			  /* empty expiry */
	    "v1.YWxpY2U.2000.0123456789ABCDEF0123456789abcdef",
	    "v1.YWxpY2U.2000.0123",
	};
	char body[512], tok[600], acc[TOKEN_ACCOUNT_MAX + 1];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *pct = strstr(bad[i], "%s");

		/* Substitute the vault id for a literal "%s". */
		if (pct)
			snprintf(body, sizeof(body), "%.*s%s%s",
				 (int)(pct - bad[i]), bad[i], vid, pct + 2);
		else
			snprintf(body, sizeof(body), "%s", bad[i]);
		sign_text(body, tok, sizeof(tok));
		if (i == 8) {
			assert_int_equal(
			    token_verify(&M, vid, tok, strlen(tok), 1000, acc),
			    0);
			assert_string_equal(acc, "abc");
			continue;
		}
		if (token_verify(&M, vid, tok, strlen(tok), 1000, acc) == 0)
			fail_msg("malformed token %zu verified: %s", i, tok);
	}
	/* A NUL inside. */
	assert_int_equal(token_mint(&M, vid, "alice", 2000, tok, sizeof(tok)),
			 0);
	tok[5] = '\0';
	assert_int_equal(
	    token_verify(&M, vid, tok, strlen(tok + 6) + 6, 1000, acc),
	    -EBADMSG);
}

static void test_account_rules(void **state)
{
	char tok[TOKEN_MAX + 1], acc[TOKEN_ACCOUNT_MAX + 1], big[200];

	assert_true(token_account_valid("A-z_0.9", 7));
	assert_false(token_account_valid("", 0));
	assert_false(token_account_valid("a b", 3));
	assert_false(token_account_valid("a/b", 3));
	assert_false(token_account_valid("é", strlen("é")));
	memset(big, 'a', sizeof(big));
	assert_true(token_account_valid(big, 128));
	assert_false(token_account_valid(big, 129));
	big[128] = '\0';
	assert_int_equal(token_mint(&M, vid, big, 2000, tok, sizeof(tok)), 0);
	assert_int_equal(token_verify(&M, vid, tok, strlen(tok), 1000, acc), 0);
	assert_string_equal(acc, big);
	assert_int_equal(token_mint(&M, vid, "a b", 2000, tok, sizeof(tok)),
			 -EINVAL);
	assert_int_equal(token_mint(&M, "XYZ", "ab", 2000, tok, sizeof(tok)),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_every_change_is_refused),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_account_rules),
	};

	if (sodium_init() < 0)
		return 1;
	randombytes_buf(key, sizeof(key));
	return cmocka_run_group_tests(tests, NULL, NULL);
}

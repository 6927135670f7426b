/*
 * test_vs_ceremony.c - the key ceremony's files (vaultsrv/ceremony.c):
 * fingerprints as operators type them, request and bundle round trips,
 * and hostile input: every truncation, every single-byte change of a
 * request (must fail or parse to a request whose fingerprint matches its
 * key), wrong formats, sizes, labels, repeated or missing keys.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "vaultsrv/ceremony.h"

static void make_request(struct ceremony_request *q)
{
	memset(q, 0, sizeof(*q));
	randombytes_buf(q->id, sizeof(q->id));
	randombytes_buf(q->vault_id, sizeof(q->vault_id));
	snprintf(q->token_label, sizeof(q->token_label), "replica-2");
	randombytes_buf(q->mod, sizeof(q->mod));
	q->mod[0] |= 0x80;
	q->mod[HSM_RSA_MOD_LEN - 1] |= 1;
	q->exp[0] = 1;
	q->exp[1] = 0;
	q->exp[2] = 1;
	q->exp_len = 3;
	ceremony_fingerprint(q->id, q->mod, q->exp, q->exp_len, q->fpr);
	q->created = 1795000000;
}

static void make_bundle(struct ceremony_bundle *b, size_t nmaster)
{
	memset(b, 0, sizeof(*b));
	randombytes_buf(b->id, sizeof(b->id));
	randombytes_buf(b->fpr, sizeof(b->fpr));
	randombytes_buf(b->vault_id, sizeof(b->vault_id));
	b->oaep = HSM_OAEP_SHA1;
	b->created = 1795000001;
	for (size_t i = 0; i <= nmaster; i++) {
		struct hsm_vault_key *k = &b->keys[i];

		if (i == nmaster) {
			snprintf(k->label, sizeof(k->label),
				 "vaultsrv-token-mac");
			k->kind = HSM_KEY_MAC;
		} else {
			snprintf(k->label, sizeof(k->label),
				 "vaultsrv-master-%zu", i + 1);
			k->kind = HSM_KEY_MASTER;
		}
		k->len = 32;
		randombytes_buf(k->kcv, sizeof(k->kcv));
		randombytes_buf(k->wrapped, HSM_RSA_MOD_LEN);
		k->wrapped_len = HSM_RSA_MOD_LEN;
	}
	b->nkeys = nmaster + 1;
}

static int parse_req(const char *text, struct ceremony_request *q)
{
	char why[160] = "";

	return ceremony_request_parse(text, strlen(text), q, why, sizeof(why));
}

static int parse_bundle(const char *text, struct ceremony_bundle *b)
{
	char why[160] = "";
	int r = ceremony_bundle_parse(text, strlen(text), b, why, sizeof(why));

	if (r < 0)
		assert_true(why[0] != '\0'); /* always says why */
	return r;
}

/* Replaces the first occurrence of from by to in text (malloc'd). */
static char *subst(const char *text, const char *from, const char *to)
{
	const char *p = strstr(text, from);
	size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
	char *out;

	assert_non_null(p);
	out = malloc(n);
	assert_non_null(out);
	snprintf(out, n, "%.*s%s%s", (int)(p - text), text, to,
		 p + strlen(from));
	return out;
}

static void test_fingerprint_text(void **state)
{
	uint8_t fpr[CEREMONY_FPR_LEN], back[CEREMONY_FPR_LEN];
	char text[CEREMONY_FPR_TEXT], colons[200];
	size_t o = 0;

	(void)state;
	randombytes_buf(fpr, sizeof(fpr));
	ceremony_fingerprint_text(fpr, text);
	assert_int_equal(strlen(text), CEREMONY_FPR_TEXT - 1);
	assert_int_equal(text[4], ' ');
	assert_int_equal(ceremony_fingerprint_parse(text, back), 0);
	assert_memory_equal(fpr, back, sizeof(fpr));
	/* upper case with colons, as some operators write it */
	for (size_t i = 0; i < sizeof(fpr); i++)
		o += (size_t)snprintf(colons + o, sizeof(colons) - o, "%s%02X",
				      i ? ":" : "", fpr[i]);
	memset(back, 0, sizeof(back));
	assert_int_equal(ceremony_fingerprint_parse(colons, back), 0);
	assert_memory_equal(fpr, back, sizeof(fpr));
	/* one digit short, one too many, a non-hex digit, empty */
	text[strlen(text) - 1] = '\0';
	assert_int_equal(ceremony_fingerprint_parse(text, back), -EINVAL);
	ceremony_fingerprint_text(fpr, text);
	snprintf(colons, sizeof(colons), "%s0", text);
	assert_int_equal(ceremony_fingerprint_parse(colons, back), -EINVAL);
	text[7] = 'g';
	assert_int_equal(ceremony_fingerprint_parse(text, back), -EINVAL);
	assert_int_equal(ceremony_fingerprint_parse("", back), -EINVAL);
	memset(colons, ' ', sizeof(colons) - 1);
	colons[sizeof(colons) - 1] = '\0';
	assert_int_equal(ceremony_fingerprint_parse(colons, back), -EINVAL);
}

static void test_fingerprint_binds(void **state)
{
	struct ceremony_request q;
	uint8_t f[CEREMONY_FPR_LEN];

	(void)state;
	make_request(&q);
	q.id[0] ^= 1; /* the request id is part of it */
	ceremony_fingerprint(q.id, q.mod, q.exp, q.exp_len, f);
	assert_memory_not_equal(f, q.fpr, sizeof(f));
	q.id[0] ^= 1;
	q.mod[100] ^= 0x10;
	ceremony_fingerprint(q.id, q.mod, q.exp, q.exp_len, f);
	assert_memory_not_equal(f, q.fpr, sizeof(f));
}

static void test_request_roundtrip(void **state)
{
	struct ceremony_request q, back;
	char *text = NULL;

	(void)state;
	make_request(&q);
	assert_int_equal(ceremony_request_format(&q, &text), 0);
	memset(&back, 0xaa, sizeof(back));
	assert_int_equal(parse_req(text, &back), 0);
	assert_memory_equal(back.id, q.id, sizeof(q.id));
	assert_memory_equal(back.vault_id, q.vault_id, sizeof(q.vault_id));
	assert_string_equal(back.token_label, q.token_label);
	assert_memory_equal(back.mod, q.mod, sizeof(q.mod));
	assert_int_equal(back.exp_len, 3);
	assert_memory_equal(back.exp, q.exp, 3);
	assert_memory_equal(back.fpr, q.fpr, sizeof(q.fpr));
	assert_int_equal(back.created, q.created);
	free(text);
}

/* Every prefix fails; every single-byte change fails or still yields a
 * request whose fingerprint is its key's (the parser checks it). */
static void test_request_mutations(void **state)
{
	struct ceremony_request q, back;
	char *text = NULL, *m;
	size_t len;
	int ok = 0;

	(void)state;
	make_request(&q);
	assert_int_equal(ceremony_request_format(&q, &text), 0);
	len = strlen(text);
	m = malloc(len + 1);
	assert_non_null(m);
	for (size_t i = 0; i < len; i++) {
		char why[160];

		memcpy(m, text, i);
		assert_int_equal(ceremony_request_parse(m, i, &back, why,
							sizeof(why)),
				 -EINVAL);
	}
	for (size_t i = 0; i < len; i++) {
		static const char subs[] = {'0', 'f', 'A', '"', '}', '\\', ' '};

		for (size_t j = 0; j < sizeof(subs); j++) {
			uint8_t f[CEREMONY_FPR_LEN];

			memcpy(m, text, len + 1);
			if (m[i] == subs[j])
				continue;
			m[i] = subs[j];
			if (parse_req(m, &back) < 0)
				continue;
			ok++;
			ceremony_fingerprint(back.id, back.mod, back.exp,
					     back.exp_len, f);
			assert_memory_equal(f, back.fpr, sizeof(f));
			/* only the label or the time may change freely */
			assert_memory_equal(back.mod, q.mod, sizeof(q.mod));
		}
	}
	/* whitespace and label/created changes parse; nothing else */
	assert_true(ok < 200);
	free(m);
	free(text);
}

static void test_request_hostile(void **state)
{
	struct ceremony_request q, back;
	char *text = NULL, *m, hex[65], b64[600];
	char why[160];

	(void)state;
	make_request(&q);
	assert_int_equal(ceremony_request_format(&q, &text), 0);

	/* wrong format string, a bundle given as a request */
	m = subst(text, CEREMONY_REQUEST_FORMAT, CEREMONY_BUNDLE_FORMAT);
	assert_int_equal(parse_req(m, &back), -EINVAL);
	free(m);
	/* fields missing */
	m = subst(text, "\"request_id\"", "\"request_iD\"");
	assert_int_equal(parse_req(m, &back), -EINVAL);
	free(m);
	m = subst(text, "\"fingerprint\"", "\"fingerprinT\"");
	assert_int_equal(parse_req(m, &back), -EINVAL);
	free(m);
	/* exponent 3 (with a fingerprint made for it) */
	{
		struct ceremony_request e = q;
		char *t2 = NULL;

		e.exp[0] = 3;
		e.exp_len = 1;
		ceremony_fingerprint(e.id, e.mod, e.exp, e.exp_len, e.fpr);
		assert_int_equal(ceremony_request_format(&e, &t2), 0);
		assert_int_equal(parse_req(t2, &back), -EINVAL);
		free(t2);
		/* an even modulus, a 3071-bit modulus */
		e = q;
		e.mod[HSM_RSA_MOD_LEN - 1] &= 0xfe;
		ceremony_fingerprint(e.id, e.mod, e.exp, e.exp_len, e.fpr);
		assert_int_equal(ceremony_request_format(&e, &t2), 0);
		assert_int_equal(parse_req(t2, &back), -EINVAL);
		free(t2);
		e = q;
		e.mod[0] &= 0x7f;
		ceremony_fingerprint(e.id, e.mod, e.exp, e.exp_len, e.fpr);
		assert_int_equal(ceremony_request_format(&e, &t2), 0);
		assert_int_equal(parse_req(t2, &back), -EINVAL);
		free(t2);
		/* a control character in the label */
		e = q;
		snprintf(e.token_label, sizeof(e.token_label), "a\tb");
		assert_int_equal(ceremony_request_format(&e, &t2), 0);
		assert_int_equal(parse_req(t2, &back), -EINVAL);
		free(t2);
	}
	/* a modulus one byte short */
	sodium_bin2base64(b64, sizeof(b64), q.mod, sizeof(q.mod),
			  sodium_base64_VARIANT_ORIGINAL);
	{
		char short64[600];

		sodium_bin2base64(short64, sizeof(short64), q.mod,
				  sizeof(q.mod) - 1,
				  sodium_base64_VARIANT_ORIGINAL);
		m = subst(text, b64, short64);
		assert_int_equal(parse_req(m, &back), -EINVAL);
		free(m);
	}
	/* another key's fingerprint */
	sodium_bin2hex(hex, sizeof(hex), q.fpr, sizeof(q.fpr));
	m = subst(text, hex,
		  "0000000000000000000000000000000000000000000000000000000000"
		  "000000");
	assert_int_equal(parse_req(m, &back), -EINVAL);
	free(m);
	/* upper-case hex is not what we write: refused */
	{
		char up[65];

		for (size_t i = 0; i < 64; i++)
			up[i] = (char)(hex[i] >= 'a' ? hex[i] - 32 : hex[i]);
		up[64] = '\0';
		m = subst(text, hex, up);
		if (strcmp(up, hex) != 0)
			assert_int_equal(parse_req(m, &back), -EINVAL);
		free(m);
	}
	/* not JSON, an array, NUL inside, too large */
	assert_int_equal(parse_req("not json", &back), -EINVAL);
	assert_int_equal(parse_req("[]", &back), -EINVAL);
	assert_int_equal(ceremony_request_parse("{\"a\":1}\0x", 9, &back, why,
						sizeof(why)),
			 -EINVAL);
	assert_int_equal(ceremony_request_parse(text, CEREMONY_FILE_MAX + 1,
						&back, why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(ceremony_request_parse(text, 0, &back, why,
						sizeof(why)),
			 -EINVAL);
	/* deep nesting */
	{
		char deep[4096];
		size_t o = 0;

		o += (size_t)snprintf(deep, sizeof(deep), "{\"format\":");
		for (int i = 0; i < 1000; i++)
			deep[o++] = '[';
		deep[o] = '\0';
		assert_int_equal(parse_req(deep, &back), -EINVAL);
	}
	free(text);
}

static void test_bundle_roundtrip(void **state)
{
	struct ceremony_bundle b, back;
	char *text = NULL;

	(void)state;
	make_bundle(&b, 3);
	assert_int_equal(ceremony_bundle_format(&b, &text), 0);
	memset(&back, 0, sizeof(back));
	assert_int_equal(parse_bundle(text, &back), 0);
	assert_int_equal(back.nkeys, 4);
	assert_int_equal(back.oaep, HSM_OAEP_SHA1);
	assert_memory_equal(back.id, b.id, sizeof(b.id));
	assert_memory_equal(back.fpr, b.fpr, sizeof(b.fpr));
	assert_memory_equal(back.vault_id, b.vault_id, sizeof(b.vault_id));
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(back.keys[i].label, b.keys[i].label);
		assert_int_equal(back.keys[i].kind, b.keys[i].kind);
		assert_int_equal(back.keys[i].len, 32);
		assert_memory_equal(back.keys[i].kcv, b.keys[i].kcv,
				    HSM_KCV_LEN);
		assert_int_equal(back.keys[i].wrapped_len, HSM_RSA_MOD_LEN);
		assert_memory_equal(back.keys[i].wrapped, b.keys[i].wrapped,
				    HSM_RSA_MOD_LEN);
	}
	free(text);
	b.oaep = HSM_OAEP_SHA256;
	assert_int_equal(ceremony_bundle_format(&b, &text), 0);
	assert_int_equal(parse_bundle(text, &back), 0);
	assert_int_equal(back.oaep, HSM_OAEP_SHA256);
	free(text);
}

static void expect_bad_bundle(const struct ceremony_bundle *b)
{
	struct ceremony_bundle back;
	char *text = NULL;

	assert_int_equal(ceremony_bundle_format(b, &text), 0);
	assert_int_equal(parse_bundle(text, &back), -EINVAL);
	free(text);
}

static void test_bundle_keys(void **state)
{
	struct ceremony_bundle b;
	static const char *bad_labels[] = {
	    "vaultsrv-master-01", "vaultsrv-master-", "vaultsrv-master-x",
	    "vaultsrv-master-1234567890", "vaultsrv-transport-00",
	    "vaultsrv-token-mac2", "VAULTSRV-MASTER-1", "",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad_labels) / sizeof(bad_labels[0]);
	     i++) {
		make_bundle(&b, 1);
		snprintf(b.keys[0].label, sizeof(b.keys[0].label), "%s",
			 bad_labels[i]);
		expect_bad_bundle(&b);
	}
	/* a repeated label, no MAC key, no master key, two MAC keys */
	make_bundle(&b, 2);
	snprintf(b.keys[1].label, sizeof(b.keys[1].label), "%s",
		 b.keys[0].label);
	expect_bad_bundle(&b);
	make_bundle(&b, 2);
	b.nkeys = 2; /* drops the MAC key */
	expect_bad_bundle(&b);
	make_bundle(&b, 0);
	b.keys[1] = b.keys[0];
	snprintf(b.keys[0].label, sizeof(b.keys[0].label), "vaultsrv-token-mac");
	snprintf(b.keys[1].label, sizeof(b.keys[1].label), "vaultsrv-token-mac");
	expect_bad_bundle(&b);
	/* wrapped keys of the wrong size */
	make_bundle(&b, 1);
	b.keys[0].wrapped_len = HSM_RSA_MOD_LEN - 1;
	expect_bad_bundle(&b);
	/* sixteen keys are fine */
	{
		struct ceremony_bundle back;
		char *text = NULL;

		make_bundle(&b, HSM_CKEYS_MAX - 1);
		assert_int_equal(ceremony_bundle_format(&b, &text), 0);
		assert_int_equal(parse_bundle(text, &back), 0);
		assert_int_equal(back.nkeys, HSM_CKEYS_MAX);
		free(text);
	}
}

static void test_bundle_hostile(void **state)
{
	struct ceremony_bundle b, back;
	char *text = NULL, *m, *big;
	size_t len, o;

	(void)state;
	make_bundle(&b, 1);
	assert_int_equal(ceremony_bundle_format(&b, &text), 0);
	m = subst(text, "\"sha1\"", "\"md5\"");
	assert_int_equal(parse_bundle(m, &back), -EINVAL);
	free(m);
	m = subst(text, CEREMONY_BUNDLE_FORMAT, CEREMONY_REQUEST_FORMAT);
	assert_int_equal(parse_bundle(m, &back), -EINVAL);
	free(m);
	m = subst(text, "\"keys\":[", "\"keys\":[1,");
	assert_int_equal(parse_bundle(m, &back), -EINVAL);
	free(m);
	m = subst(text, "\"created\":", "\"created\":-");
	assert_int_equal(parse_bundle(m, &back), -EINVAL);
	free(m);
	m = subst(text, "\"keys\":[", "\"keys\":{\"x\":[");
	assert_int_equal(parse_bundle(m, &back), -EINVAL);
	free(m);
	/* every prefix */
	len = strlen(text);
	for (size_t i = 0; i < len; i++) {
		char why[160];

		assert_int_equal(ceremony_bundle_parse(text, i, &back, why,
						       sizeof(why)),
				 -EINVAL);
	}
	/* seventeen keys: refused before they are decoded */
	big = malloc(CEREMONY_FILE_MAX);
	assert_non_null(big);
	o = (size_t)snprintf(big, CEREMONY_FILE_MAX, "%.*s", (int)(strstr(text,
	    "\"keys\":[") - text + 8), text);
	for (int i = 0; i < HSM_CKEYS_MAX + 1; i++)
		o += (size_t)snprintf(big + o, CEREMONY_FILE_MAX - o,
				      "%s{\"label\":\"vaultsrv-master-%d\"}",
				      i ? "," : "", i + 1);
	snprintf(big + o, CEREMONY_FILE_MAX - o, "]}");
	assert_int_equal(parse_bundle(big, &back), -EINVAL);
	free(big);
	free(text);
	/* format refuses what it could not parse back */
	make_bundle(&b, 1);
	b.oaep = (enum hsm_oaep)7;
	assert_int_equal(ceremony_bundle_format(&b, &text), -EINVAL);
	make_bundle(&b, 1);
	b.nkeys = 0;
	assert_int_equal(ceremony_bundle_format(&b, &text), -EINVAL);
}

static void test_labels(void **state)
{
	enum hsm_key_kind k;

	(void)state;
	assert_int_equal(hsm_vault_key_label("vaultsrv-master-1", &k), 1);
	assert_int_equal(k, HSM_KEY_MASTER);
	assert_int_equal(hsm_vault_key_label("vaultsrv-master-123456789", &k),
			 1);
	assert_int_equal(hsm_vault_key_label("vaultsrv-token-mac", &k), 1);
	assert_int_equal(k, HSM_KEY_MAC);
	assert_int_equal(hsm_vault_key_label("vaultsrv-master-0", &k), 0);
	assert_int_equal(hsm_vault_key_label("vaultsrv-master-1 ", &k), 0);
	assert_int_equal(hsm_vault_key_label("xvaultsrv-master-1", &k), 0);
	assert_int_equal(
	    hsm_vault_key_label("vaultsrv-transport-00112233445566778899", &k),
	    0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fingerprint_text),
	    cmocka_unit_test(test_fingerprint_binds),
	    cmocka_unit_test(test_request_roundtrip),
	    cmocka_unit_test(test_request_mutations),
	    cmocka_unit_test(test_request_hostile),
	    cmocka_unit_test(test_bundle_roundtrip),
	    cmocka_unit_test(test_bundle_keys),
	    cmocka_unit_test(test_bundle_hostile),
	    cmocka_unit_test(test_labels),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_oprf.c - RFC 9380 known answers (parsed from tests/vectors/rfc9380
 * at test time) and the OPRF client against a "server" played here with
 * OpenSSL and a known key k.
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
#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <sodium.h>

#include "vaultclient/oprf.h"

static char *slurp(const char *rel)
{
	const char *top = getenv("top_srcdir");
	char path[4096];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", top ? top : ".", rel);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (is top_srcdir set?)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0 && n < (1 << 20));
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static size_t unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n;

	if (s[0] == '0' && s[1] == 'x')
		s += 2;
	n = strlen(s);
	assert_int_equal(n % 2, 0);
	assert_true(n / 2 <= max);
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n / 2;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static void test_xmd_vectors(void **state)
{
	char *text = slurp("tests/vectors/rfc9380/expand_message_xmd_SHA256_38.json");
	cJSON *root = cJSON_Parse(text);
	const cJSON *tests, *t;
	const char *dst;
	size_t passed = 0, total = 0;

	assert_non_null(root);
	dst = jstr(root, "DST");
	tests = cJSON_GetObjectItemCaseSensitive(root, "tests");
	assert_true(cJSON_IsArray(tests));
	cJSON_ArrayForEach(t, tests)
	{
		uint8_t want[512], got[512], lb[4];
		const char *msg = jstr(t, "msg");
		size_t n = unhex(jstr(t, "uniform_bytes"), want, sizeof(want));
		size_t ln = unhex(jstr(t, "len_in_bytes"), lb, sizeof(lb));
		size_t len = 0;

		for (size_t i = 0; i < ln; i++)
			len = (len << 8) | lb[i];
		assert_int_equal(len, n);
		total++;
		assert_int_equal(oprf_expand_message_xmd(
					 (const uint8_t *)msg, strlen(msg),
					 (const uint8_t *)dst, strlen(dst),
					 got, n),
				 0);
		if (memcmp(got, want, n) == 0)
			passed++;
		else
			print_error("xmd mismatch: msg '%s' len %zu\n", msg, n);
	}
	print_message("expand_message_xmd: %zu/%zu vectors passed\n", passed,
		      total);
	assert_true(total >= 10);
	assert_int_equal(passed, total);
	cJSON_Delete(root);
	free(text);
}

static void test_h2c_vectors(void **state)
{
	char *text = slurp("tests/vectors/rfc9380/P256_XMD_SHA-256_SSWU_RO_.json");
	cJSON *root = cJSON_Parse(text);
	const cJSON *vecs, *v;
	const char *dst;
	size_t passed = 0, total = 0;

	assert_non_null(root);
	assert_string_equal(jstr(root, "ciphersuite"),
			    "P256_XMD:SHA-256_SSWU_RO_");
	dst = jstr(root, "dst");
	vecs = cJSON_GetObjectItemCaseSensitive(root, "vectors");
	assert_true(cJSON_IsArray(vecs));
	cJSON_ArrayForEach(v, vecs)
	{
		const char *msg = jstr(v, "msg");
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(v, "u");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(v, "P");
		uint8_t wu0[32], wu1[32], u0[32], u1[32];
		uint8_t wp[65], pt[65];
		int ok;

		assert_true(cJSON_IsArray(u));
		assert_int_equal(cJSON_GetArraySize(u), 2);
		assert_int_equal(unhex(cJSON_GetArrayItem(u, 0)->valuestring,
				       wu0, 32), 32);
		assert_int_equal(unhex(cJSON_GetArrayItem(u, 1)->valuestring,
				       wu1, 32), 32);
		wp[0] = 0x04;
		assert_int_equal(unhex(jstr(p, "x"), wp + 1, 32), 32);
		assert_int_equal(unhex(jstr(p, "y"), wp + 33, 32), 32);
		total++;

		assert_int_equal(oprf_hash_to_field((const uint8_t *)msg,
						    strlen(msg),
						    (const uint8_t *)dst,
						    strlen(dst), u0, u1),
				 0);
		assert_int_equal(oprf_hash_to_curve((const uint8_t *)msg,
						    strlen(msg),
						    (const uint8_t *)dst,
						    strlen(dst), pt),
				 0);
		ok = memcmp(u0, wu0, 32) == 0 && memcmp(u1, wu1, 32) == 0 &&
		     memcmp(pt, wp, 65) == 0;
		if (ok)
			passed++;
		else
			print_error("hash_to_curve mismatch: msg '%.20s'\n",
				    msg);
	}
	print_message("P256_XMD:SHA-256_SSWU_RO_: %zu/%zu vectors passed "
		      "(u0, u1, P.x, P.y)\n",
		      passed, total);
	assert_int_equal(total, 5);
	assert_int_equal(passed, total);
	cJSON_Delete(root);
	free(text);
}

static void test_xmd_bounds(void **state)
{
	uint8_t out[OPRF_XMD_MAX_OUT + 1], dst[256];

	memset(dst, 'D', sizeof(dst));
	assert_int_equal(oprf_expand_message_xmd((const uint8_t *)"a", 1, dst,
						 1, out, 0),
			 -EINVAL);
	assert_int_equal(oprf_expand_message_xmd((const uint8_t *)"a", 1, dst,
						 1, out, sizeof(out)),
			 -EINVAL);
	assert_int_equal(oprf_expand_message_xmd((const uint8_t *)"a", 1, dst,
						 0, out, 32),
			 -EINVAL);
	assert_int_equal(oprf_expand_message_xmd((const uint8_t *)"a", 1, dst,
						 256, out, 32),
			 -EINVAL);
	assert_int_equal(oprf_expand_message_xmd((const uint8_t *)"a", 1, dst,
						 255, out, OPRF_XMD_MAX_OUT),
			 0);
}

/* The server: x(k * blinded), with OpenSSL directly. */
static void server_eval(const BIGNUM *k, const uint8_t blinded[65],
			uint8_t ret_x[32])
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	EC_POINT *m = EC_POINT_new(g), *z = EC_POINT_new(g);
	BIGNUM *x = BN_new();

	assert_true(EC_POINT_oct2point(g, m, blinded, 65, NULL));
	assert_true(EC_POINT_mul(g, z, NULL, m, k, NULL));
	assert_true(EC_POINT_get_affine_coordinates(g, z, x, NULL, NULL));
	assert_int_equal(BN_bn2binpad(x, ret_x, 32), 32);
	BN_free(x);
	EC_POINT_free(m);
	EC_POINT_free(z);
	EC_GROUP_free(g);
}

static BIGNUM *random_key(void)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	BIGNUM *k = BN_new();

	do {
		assert_true(BN_rand_range(k, EC_GROUP_get0_order(g)));
	} while (BN_is_zero(k));
	EC_GROUP_free(g);
	return k;
}

static void run_oprf(const BIGNUM *k, const char *pw, uint8_t out[32],
		     uint8_t blinded[65])
{
	struct oprf_blind *b = NULL;
	uint8_t ev[32];

	assert_int_equal(oprf_blind_new((const uint8_t *)pw, strlen(pw), &b,
					blinded),
			 0);
	assert_int_equal(oprf_point_check(blinded), 0);
	server_eval(k, blinded, ev);
	assert_int_equal(oprf_finalize(b, (const uint8_t *)pw, strlen(pw), ev,
				       out),
			 0);
	oprf_blind_free(b);
}

static void test_oprf_deterministic(void **state)
{
	BIGNUM *k = random_key(), *k2 = random_key();
	uint8_t o1[32], o2[32], o3[32], o4[32], b1[65], b2[65], b3[65];

	run_oprf(k, "correct horse", o1, b1);
	run_oprf(k, "correct horse", o2, b2);
	/* different blinds, same output */
	assert_memory_not_equal(b1, b2, 65);
	assert_memory_equal(o1, o2, 32);
	/* different password, different output */
	run_oprf(k, "correct horsf", o3, b3);
	assert_memory_not_equal(o1, o3, 32);
	/* different server key, different output */
	run_oprf(k2, "correct horse", o4, b3);
	assert_memory_not_equal(o1, o4, 32);
	BN_free(k);
	BN_free(k2);
}

static void test_oprf_unblind_known_key(void **state)
{
	static const char pw[] = "hunter2";
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	EC_POINT *h = EC_POINT_new(g), *kh = EC_POINT_new(g);
	BIGNUM *k = random_key(), *x = BN_new();
	struct oprf_blind *b = NULL;
	uint8_t hp[65], bl[65], ev[32], want[32], got[32], out[32];
	crypto_hash_sha256_state st;
	uint8_t le[4] = { sizeof(pw) - 1, 0, 0, 0 }, hout[32];

	/* H1(pw) with the protocol's DST, then x(k * H1(pw)) */
	assert_int_equal(oprf_hash_to_curve((const uint8_t *)pw,
					    sizeof(pw) - 1,
					    (const uint8_t *)OPRF_DST,
					    strlen(OPRF_DST), hp),
			 0);
	assert_true(EC_POINT_oct2point(g, h, hp, 65, NULL));
	assert_true(EC_POINT_mul(g, kh, NULL, h, k, NULL));
	assert_true(EC_POINT_get_affine_coordinates(g, kh, x, NULL, NULL));
	assert_int_equal(BN_bn2binpad(x, want, 32), 32);

	assert_int_equal(oprf_blind_new((const uint8_t *)pw, sizeof(pw) - 1,
					&b, bl),
			 0);
	assert_memory_not_equal(bl, hp, 65);
	server_eval(k, bl, ev);
	assert_int_equal(oprf_unblind(b, ev, got), 0);
	assert_memory_equal(got, want, 32);

	/* the output hash is exactly the documented one */
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)"vaultfs-v1-oprf-out",
				  19);
	crypto_hash_sha256_update(&st, le, 4);
	crypto_hash_sha256_update(&st, (const uint8_t *)pw, sizeof(pw) - 1);
	crypto_hash_sha256_update(&st, want, 32);
	crypto_hash_sha256_final(&st, hout);
	assert_int_equal(oprf_finalize(b, (const uint8_t *)pw, sizeof(pw) - 1,
				       ev, out),
			 0);
	assert_memory_equal(out, hout, 32);

	oprf_blind_free(b);
	BN_free(k);
	BN_free(x);
	EC_POINT_free(h);
	EC_POINT_free(kh);
	EC_GROUP_free(g);
}

static void test_oprf_malformed(void **state)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	BIGNUM *p = BN_new(), *a = BN_new(), *bb = BN_new();
	BIGNUM *x = BN_new(), *rhs = BN_new(), *t = BN_new();
	BN_CTX *ctx = BN_CTX_new();
	struct oprf_blind *b = NULL;
	uint8_t bl[65], ev[32], out[32], pt[65];
	int on = 0, off = 0;

	assert_true(EC_GROUP_get_curve(g, p, a, bb, ctx));
	assert_int_equal(oprf_blind_new((const uint8_t *)"pw", 2, &b, bl), 0);

	/* x >= p */
	memset(ev, 0xff, sizeof(ev));
	assert_int_equal(oprf_finalize(b, (const uint8_t *)"pw", 2, ev, out),
			 -EBADMSG);
	assert_int_equal(BN_bn2binpad(p, ev, 32), 32);
	assert_int_equal(oprf_finalize(b, (const uint8_t *)"pw", 2, ev, out),
			 -EBADMSG);

	/* small x: off-curve exactly when x^3 + ax + b is not a square */
	for (unsigned i = 1; i <= 24; i++) {
		int want_ok;

		assert_true(BN_set_word(x, i));
		assert_true(BN_mod_sqr(rhs, x, p, ctx));
		assert_true(BN_mod_add(rhs, rhs, a, p, ctx));
		assert_true(BN_mod_mul(rhs, rhs, x, p, ctx));
		assert_true(BN_mod_add(rhs, rhs, bb, p, ctx));
		want_ok = BN_mod_sqrt(t, rhs, p, ctx) != NULL;
		assert_int_equal(BN_bn2binpad(x, ev, 32), 32);
		if (want_ok) {
			assert_int_equal(oprf_finalize(b, (const uint8_t *)"pw",
						       2, ev, out),
					 0);
			on++;
		} else {
			assert_int_equal(oprf_finalize(b, (const uint8_t *)"pw",
						       2, ev, out),
					 -EBADMSG);
			off++;
		}
	}
	assert_true(on > 0 && off > 0);

	/* point encodings */
	assert_int_equal(oprf_point_check(bl), 0);
	memcpy(pt, bl, 65);
	pt[64] ^= 1;
	assert_int_equal(oprf_point_check(pt), -EBADMSG);
	memcpy(pt, bl, 65);
	pt[0] = 0x06; /* hybrid */
	assert_int_equal(oprf_point_check(pt), -EBADMSG);
	memset(pt, 0, sizeof(pt));
	assert_int_equal(oprf_point_check(pt), -EBADMSG);
	pt[0] = 0x04;
	assert_int_equal(oprf_point_check(pt), -EBADMSG);

	oprf_blind_free(b);
	BN_free(p);
	BN_free(a);
	BN_free(bb);
	BN_free(x);
	BN_free(rhs);
	BN_free(t);
	BN_CTX_free(ctx);
	EC_GROUP_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xmd_vectors),
		cmocka_unit_test(test_h2c_vectors),
		cmocka_unit_test(test_xmd_bounds),
		cmocka_unit_test(test_oprf_deterministic),
		cmocka_unit_test(test_oprf_unblind_known_key),
		cmocka_unit_test(test_oprf_malformed),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

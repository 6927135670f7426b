/*
 * test_vc_crypto.c - enc_k, key derivations, transcripts (golden bytes
 * written out by hand from docs/protocol.md), strict JSON.
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

#include "buf.h"
#include "vaultclient/json.h"
#include "vaultclient/protocol.h"
#include "vaultclient/vcrypto.h"
#include "vfs_error.h"

static const uint8_t sid[16] = { 0, 1, 2, 3, 4, 5, 6, 7,
				 8, 9, 10, 11, 12, 13, 14, 15 };

static void test_enck(void **state)
{
	uint8_t wrap[32], k[32], k2[32], e[VCRYPTO_ENCK_LEN], t[VCRYPTO_ENCK_LEN];
	uint8_t sid2[16];

	randombytes_buf(wrap, sizeof(wrap));
	randombytes_buf(k, sizeof(k));
	assert_int_equal(VCRYPTO_ENCK_LEN, 72);
	assert_int_equal(vcrypto_enck_seal(wrap, "alice", sid, k, e), 0);
	assert_int_equal(vcrypto_enck_open(wrap, "alice", sid, e, k2), 0);
	assert_memory_equal(k, k2, 32);
	/* K does not appear in clear */
	assert_null(memmem(e, sizeof(e), k, 8));
	/* two seals differ (random nonce) */
	assert_int_equal(vcrypto_enck_seal(wrap, "alice", sid, k, t), 0);
	assert_memory_not_equal(e, t, sizeof(e));

	/* every byte matters: nonce, ciphertext, tag */
	for (size_t i = 0; i < sizeof(e); i++) {
		memcpy(t, e, sizeof(e));
		t[i] ^= 0x01;
		memset(k2, 0xee, sizeof(k2));
		assert_int_equal(vcrypto_enck_open(wrap, "alice", sid, t, k2),
				 -EBADMSG);
	}
	/* bound to account, store and wrap key */
	assert_int_equal(vcrypto_enck_open(wrap, "alicf", sid, e, k2),
			 -EBADMSG);
	memcpy(sid2, sid, 16);
	sid2[15] ^= 0x80;
	assert_int_equal(vcrypto_enck_open(wrap, "alice", sid2, e, k2),
			 -EBADMSG);
	wrap[0] ^= 1;
	assert_int_equal(vcrypto_enck_open(wrap, "alice", sid, e, k2),
			 -EBADMSG);
	assert_int_equal(vcrypto_enck_seal(wrap, "", sid, k, t), -EINVAL);
}

static void test_enck_ad_layout(void **state)
{
	/* open an enc_k made with libsodium directly and the documented AD */
	static const char ad[] = "vaultfs-v1-enck"
				 "\x05\x00\x00\x00"
				 "alice";
	uint8_t full[sizeof(ad) - 1 + 16], wrap[32], k[32], k2[32];
	uint8_t e[VCRYPTO_ENCK_LEN];
	unsigned long long cl;

	memcpy(full, ad, sizeof(ad) - 1);
	memcpy(full + sizeof(ad) - 1, sid, 16);
	randombytes_buf(wrap, 32);
	randombytes_buf(k, 32);
	randombytes_buf(e, 24);
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_encrypt(
				 e + 24, &cl, k, 32, full, sizeof(full), NULL,
				 e, wrap),
			 0);
	assert_int_equal(cl, 48);
	assert_int_equal(vcrypto_enck_open(wrap, "alice", sid, e, k2), 0);
	assert_memory_equal(k, k2, 32);
}

static void test_transcript_golden(void **state)
{
	uint8_t chal[16], bl[65], ev[32], pub[32];
	struct bufw w;
	size_t o = 0;
	uint8_t want[512];

#define LE(n) (uint8_t)(n), 0, 0, 0
#define PUT(p, n) (memcpy(want + o, (p), (n)), o += (n))
	memset(chal, 0xaa, sizeof(chal));
	memset(bl, 0x04, sizeof(bl));
	memset(ev, 0x55, sizeof(ev));
	memset(pub, 0x77, sizeof(pub));

	/* password proof */
	{
		const uint8_t l16[] = { LE(16) }, l7[] = { LE(7) },
			      l5[] = { LE(5) }, l65[] = { LE(65) },
			      l32[] = { LE(32) };
		PUT(l16, 4);
		PUT("vaultfs-v1-proof", 16);
		PUT(l7, 4);
		PUT("recover", 7);
		PUT(l5, 4);
		PUT("alice", 5);
		PUT(l16, 4);
		PUT(sid, 16);
		PUT(l16, 4);
		PUT(chal, 16);
		PUT(l65, 4);
		PUT(bl, 65);
		PUT(l32, 4);
		PUT(ev, 32);
	}
	bufw_init(&w, VCRYPTO_TRANSCRIPT_MAX, 0);
	assert_int_equal(vcrypto_t_proof(&w, "recover", "alice", sid, chal, 16,
					 bl, ev),
			 0);
	assert_int_equal(w.len, o);
	assert_memory_equal(w.data, want, o);
	bufw_release(&w);

	/* no store: an empty field, not a missing one */
	{
		static const uint8_t g[] = {
			17, 0, 0, 0, 'v', 'a', 'u', 'l', 't', 'f', 's', '-',
			'v', '1', '-', 'k', 'p', 'r', 'o', 'o', 'f',
			6, 0, 0, 0, 'd', 'e', 'l', 'e', 't', 'e',
			1, 0, 0, 0, 'b',
			0, 0, 0, 0,
			2, 0, 0, 0, 0xaa, 0xaa,
		};
		bufw_init(&w, VCRYPTO_TRANSCRIPT_MAX, 0);
		assert_int_equal(vcrypto_t_kproof(&w, "delete", "b", NULL,
						  chal, 2),
				 0);
		assert_int_equal(w.len, sizeof(g));
		assert_memory_equal(w.data, g, sizeof(g));
		bufw_release(&w);
	}

	/* registration binding: ops as le32, mem as le64 (64 MiB), then
	 * the envelope tag */
	{
		static const uint8_t tail[] = {
			4, 0, 0, 0, 3, 0, 0, 0,
			8, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0,
			32, 0, 0, 0,
		};
		static const uint8_t head[] = {
			19, 0, 0, 0, 'v', 'a', 'u', 'l', 't', 'f', 's', '-',
			'v', '1', '-', 'r', 'e', 'g', 'i', 's', 't', 'e', 'r',
			1, 0, 0, 0, 'a',
			3, 0, 0, 0, 'r', '-', '1',
			32, 0, 0, 0,
		};
		bufw_init(&w, VCRYPTO_TRANSCRIPT_MAX, 0);
		assert_int_equal(vcrypto_t_register(&w, "a",
						    (const uint8_t *)"r-1", 3,
						    pub, 3, 64ULL << 20, ev),
				 0);
		assert_int_equal(w.len, sizeof(head) + 32 + sizeof(tail) + 32);
		assert_memory_equal(w.data, head, sizeof(head));
		assert_memory_equal(w.data + sizeof(head), pub, 32);
		assert_memory_equal(w.data + sizeof(head) + 32, tail,
				    sizeof(tail));
		assert_memory_equal(w.data + sizeof(head) + 32 + sizeof(tail),
				    ev, 32);
		bufw_release(&w);
	}

	/* generation: le64 */
	{
		static const uint8_t tail[] = {
			8, 0, 0, 0, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
		};
		bufw_init(&w, VCRYPTO_TRANSCRIPT_MAX, 0);
		assert_int_equal(vcrypto_t_gen(&w, "a", sid,
					       0x0102030405060708ULL),
				 0);
		assert_int_equal(w.len, 4 + 14 + 4 + 1 + 4 + 16 + 12);
		assert_memory_equal(w.data + 4, "vaultfs-v1-gen", 14);
		assert_memory_equal(w.data + w.len - 12, tail, 12);
		bufw_release(&w);
	}
	/* kreg */
	bufw_init(&w, VCRYPTO_TRANSCRIPT_MAX, 0);
	assert_int_equal(vcrypto_t_kreg(&w, "a", sid, pub, ev), 0);
	assert_int_equal(w.len, 4 + 15 + 4 + 1 + 4 + 16 + 4 + 32 + 4 + 32);
	assert_memory_equal(w.data + 4, "vaultfs-v1-kreg", 15);
	bufw_release(&w);
#undef PUT
#undef LE
}

static void test_pwkeys(void **state)
{
	static const uint8_t pw[] = "tr0ub4dor";
	const uint64_t ops = 2, mem = 32ULL << 20;
	struct vcrypto_pwkeys *a = sodium_malloc(sizeof(*a));
	struct vcrypto_pwkeys *b = sodium_malloc(sizeof(*b));
	struct vcrypto_kkeys kk;
	uint8_t out[32], rwd[64], rk[32], seed[32], wrap[32], env[32];
	uint8_t pk[32], sk[64], tag[32], tag2[32];
	uint8_t t[4 + 19 + 4 + 5 + 4 + 32];
	size_t o = 0;

	assert_non_null(a);
	assert_non_null(b);
	randombytes_buf(out, sizeof(out));
	assert_int_equal(vcrypto_pwkeys(out, pw, sizeof(pw) - 1, ops, mem, a),
			 0);
	/* recomputed here step by step from docs/protocol.md */
	assert_int_equal(crypto_pwhash(rwd, 64, (const char *)pw,
				       sizeof(pw) - 1, out, ops, mem,
				       crypto_pwhash_ALG_ARGON2ID13),
			 0);
	assert_int_equal(crypto_generichash(rk, 32, rwd, 64, out, 32), 0);
	assert_int_equal(crypto_kdf_derive_from_key(seed, 32, 1, "vfspwd01",
						    rk),
			 0);
	assert_int_equal(crypto_kdf_derive_from_key(wrap, 32, 2, "vfspwd01",
						    rk),
			 0);
	assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
	assert_memory_equal(a->auth_pub, pk, 32);
	assert_memory_equal(a->auth_sk, sk, 64);
	assert_memory_equal(a->wrap, wrap, 32);
	assert_memory_not_equal(a->wrap, seed, 32);
	/* envelope key: kdf(3, "vfspwd01"); tag = HMAC-SHA-256(env key,
	 * T("vaultfs-v1-envelope", account, auth_pub)) */
	assert_int_equal(crypto_kdf_derive_from_key(env, 32, 3, "vfspwd01",
						    rk),
			 0);
	assert_memory_equal(a->env, env, 32);
	assert_memory_not_equal(a->env, wrap, 32);
	t[o++] = 19, t[o++] = 0, t[o++] = 0, t[o++] = 0;
	memcpy(t + o, "vaultfs-v1-envelope", 19), o += 19;
	t[o++] = 5, t[o++] = 0, t[o++] = 0, t[o++] = 0;
	memcpy(t + o, "alice", 5), o += 5;
	t[o++] = 32, t[o++] = 0, t[o++] = 0, t[o++] = 0;
	memcpy(t + o, pk, 32), o += 32;
	assert_int_equal(o, sizeof(t));
	crypto_auth_hmacsha256(tag, t, o, env);
	assert_int_equal(vcrypto_env_tag(a->env, "alice", a->auth_pub, tag2),
			 0);
	assert_memory_equal(tag, tag2, 32);
	assert_int_equal(vcrypto_env_tag(a->env, "alicf", a->auth_pub, tag2),
			 0);
	assert_memory_not_equal(tag, tag2, 32);

	/* another OPRF output, other keys */
	out[31] ^= 1;
	assert_int_equal(vcrypto_pwkeys(out, pw, sizeof(pw) - 1, ops, mem, b),
			 0);
	assert_memory_not_equal(a->auth_pub, b->auth_pub, 32);
	assert_memory_not_equal(a->wrap, b->wrap, 32);
	assert_memory_not_equal(a->env, b->env, 32);

	/* bounds, checked before any work */
	assert_int_equal(vcrypto_pwkeys(out, pw, 9, 1, mem, b), -ERANGE);
	assert_int_equal(vcrypto_pwkeys(out, pw, 9, 11, mem, b), -ERANGE);
	assert_int_equal(vcrypto_pwkeys(out, pw, 9, 2, mem - 1, b), -ERANGE);
	assert_int_equal(vcrypto_pwkeys(out, pw, 9, 2, (1ULL << 30) + 1, b),
			 -ERANGE);
	assert_int_equal(vcrypto_pwkeys(out, pw, 0, 2, mem, b), -EINVAL);
	assert_int_equal(vcrypto_argon_check(2, 32ULL << 20), 0);
	assert_int_equal(vcrypto_argon_check(10, 1ULL << 30), 0);

	/* K key: kdf(1, "vfsvault", K), different from the password key */
	vcrypto_kkeys(rk, &kk);
	assert_int_equal(crypto_kdf_derive_from_key(seed, 32, 1, "vfsvault",
						    rk),
			 0);
	assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
	assert_memory_equal(kk.pub, pk, 32);
	sodium_free(a);
	sodium_free(b);
}

static void test_json_strict(void **state)
{
	struct json *j = NULL, *o, *arr, *el;
	const struct json *g;
	const char *s;
	uint8_t buf[64];
	uint64_t u;
	size_t n;
	char *text;

	/* building: exact integers, base64, hex */
	assert_int_equal(json_obj_new(&j), 0);
	assert_int_equal(json_add_u64(j, "big", JSON_INT_MAX), 0);
	assert_int_equal(json_add_u64(j, "mem", 1ULL << 30), 0);
	assert_int_equal(json_add_u64(j, "x", JSON_INT_MAX + 1), -ERANGE);
	assert_int_equal(json_add_b64(j, "b", "\xff\xfe", 2), 0);
	assert_int_equal(json_add_hex(j, "h", "\xab\x01", 2), 0);
	assert_int_equal(json_add_obj(j, "o", &o), 0);
	assert_int_equal(json_add_arr(o, "a", &arr), 0);
	assert_int_equal(json_arr_add_obj(arr, &el), 0);
	assert_int_equal(json_add_str(el, "s", "v"), 0);
	assert_int_equal(json_print(j, &text, &n), 0);
	assert_string_equal(text, "{\"big\":9007199254740991,\"mem\":"
				  "1073741824,\"b\":\"//4=\",\"h\":\"ab01\","
				  "\"o\":{\"a\":[{\"s\":\"v\"}]}}");
	json_free(j);
	j = NULL;
	/* and reading it back */
	assert_int_equal(json_parse(text, n, &j), 0);
	json_text_free(text);
	assert_int_equal(json_get_u64(j, "big", JSON_INT_MAX, &u), 0);
	assert_true(u == JSON_INT_MAX);
	assert_int_equal(json_get_u64(j, "mem", 1000, &u), -VFS_E_PROTOCOL);
	assert_int_equal(json_get_b64(j, "b", buf, 2, 2, &n), 0);
	assert_int_equal(json_get_b64(j, "b", buf, 3, 8, &n), -VFS_E_PROTOCOL);
	assert_int_equal(json_get_b64(j, "b", buf, 0, 1, &n), -VFS_E_PROTOCOL);
	assert_int_equal(json_get_hex(j, "h", buf, 2), 0);
	assert_int_equal(json_get_hex(j, "h", buf, 3), -VFS_E_PROTOCOL);
	assert_int_equal(json_get_str(j, "nope", 10, &s), -ENOENT);
	assert_int_equal(json_get_str(j, "big", 10, &s), -VFS_E_PROTOCOL);
	assert_int_equal(json_get_obj(j, "o", &g), 0);
	assert_int_equal(json_get_arr(g, "a", 0, &g, &n), -VFS_E_PROTOCOL);
	json_free(j);

	{
		static const char *bad[] = {
			"{\"h\":\"AB01\"}",	  /* upper-case hex */
			"{\"h\":\"ab0\"}",	  /* odd */
			"{\"h\":\"ab 1\"}",
			"{\"b\":\"//4\"}",	  /* no padding */
			"{\"b\":\"__4=\"}",	  /* url alphabet */
			"{\"b\":\"//4=\\n\"}",
			"{\"n\":1.5}", "{\"n\":-1}", "{\"n\":\"1\"}",
			"{\"n\":9007199254740992}",
			"{\"s\":\"a\\u0001b\"}", /* control character */
			"{\"s\":\"\\u00e9\"}",	  /* not ASCII */
		};
		static const char *keys[] = { "h", "h", "h", "b", "b", "b",
					      "n", "n", "n", "n", "s", "s" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			int r;

			assert_int_equal(json_parse(bad[i], strlen(bad[i]), &j),
					 0);
			if (keys[i][0] == 'h')
				r = json_get_hex(j, "h", buf, 2);
			else if (keys[i][0] == 'b')
				r = json_get_b64(j, "b", buf, 2, 2, &n);
			else if (keys[i][0] == 'n')
				r = json_get_u64(j, "n", JSON_INT_MAX, &u);
			else
				r = json_get_str(j, "s", 10, &s);
			if (r != -VFS_E_PROTOCOL)
				fail_msg("'%s' accepted", bad[i]);
			json_free(j);
		}
	}
	{
		static const char *bad[] = { "", "{", "[1]", "1", "{} {}",
					     "{}x", "{\"a\":}", "nul" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			j = NULL;
			if (json_parse(bad[i], strlen(bad[i]), &j) !=
			    -VFS_E_PROTOCOL)
				fail_msg("'%s' parsed", bad[i]);
		}
		assert_int_equal(json_parse("{} \r\n\t", 6, &j), 0);
		json_free(j);
		assert_int_equal(json_parse("{}\0", 3, &j), -VFS_E_PROTOCOL);
	}
	{
		/* deep nesting fails cleanly */
		size_t depth = 5000;
		char *deep = malloc(2 * depth + 8);

		assert_non_null(deep);
		n = 0;
		deep[n++] = '{';
		deep[n++] = '"';
		deep[n++] = 'a';
		deep[n++] = '"';
		deep[n++] = ':';
		for (size_t i = 0; i < depth; i++)
			deep[n++] = '[';
		for (size_t i = 0; i < depth; i++)
			deep[n++] = ']';
		deep[n++] = '}';
		assert_int_equal(json_parse(deep, n, &j), -VFS_E_PROTOCOL);
		free(deep);
	}
}

static void test_account_check(void **state)
{
	char long_acct[130];

	assert_int_equal(proto_account_check("alice_01.x-y"), 0);
	assert_int_equal(proto_account_check("a b"), -EINVAL);
	assert_int_equal(proto_account_check("a/b"), -EINVAL);
	assert_int_equal(proto_account_check(""), -EINVAL);
	assert_int_equal(proto_account_check(NULL), -EINVAL);
	memset(long_acct, 'a', sizeof(long_acct));
	long_acct[128] = '\0';
	assert_int_equal(proto_account_check(long_acct), 0);
	long_acct[128] = 'a';
	long_acct[129] = '\0';
	assert_int_equal(proto_account_check(long_acct), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enck),
		cmocka_unit_test(test_enck_ad_layout),
		cmocka_unit_test(test_transcript_golden),
		cmocka_unit_test(test_pwkeys),
		cmocka_unit_test(test_json_strict),
		cmocka_unit_test(test_account_check),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_chunk.c - keys from K and sealed chunks: every tampering is
 * refused, never decrypted into other bytes.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "chunk.h"

static const uint8_t SID[STORE_ID_BYTES] = "0123456789abcdef";
static const uint8_t SID2[STORE_ID_BYTES] = "0123456789abcdeF";
static const uint8_t RID[CHUNK_RID_BYTES] = "segment-rid-0001";
static const uint8_t RID2[CHUNK_RID_BYTES] = "segment-rid-0002";

static struct keys *mkkeys(uint8_t seed)
{
	uint8_t k[STORE_KEY_BYTES];
	struct keys *keys = NULL;

	memset(k, seed, sizeof(k));
	assert_int_equal(keys_new(k, &keys), 0);
	return keys;
}

static struct chunk_pos pos_at(uint64_t off)
{
	struct chunk_pos p = {
		.store_id = SID,
		.segno = 7,
		.seg_rid = RID,
		.offset = off,
		.kind = CHUNK_DATA,
		.last = 0,
	};

	return p;
}

static void test_keys(void **state)
{
	struct keys *a = mkkeys(1), *b = mkkeys(1), *c = mkkeys(2);
	uint8_t zero[32] = {0};

	(void)state;
	assert_memory_equal(a->data, b->data, 32);
	assert_memory_equal(a->meta, b->meta, 32);
	assert_memory_equal(a->hdr, b->hdr, 32);
	assert_memory_not_equal(a->data, a->meta, 32);
	assert_memory_not_equal(a->data, a->hdr, 32);
	assert_memory_not_equal(a->meta, a->hdr, 32);
	assert_memory_not_equal(a->data, c->data, 32);
	assert_memory_not_equal(a->data, zero, 32);
	keys_free(a);
	keys_free(b);
	keys_free(c);
	keys_free(NULL);
}

/* Known answer: the subkeys are libsodium's crypto_kdf (BLAKE2b) with
 * context "vaultfs1" and ids 1, 2, 3 (docs/format.md). */
static void test_keys_kat(void **state)
{
	uint8_t k[32], want[32];
	struct keys *keys = NULL;

	(void)state;
	for (int i = 0; i < 32; i++)
		k[i] = (uint8_t)i;
	assert_int_equal(keys_new(k, &keys), 0);
	/* crypto_kdf_derive_from_key = BLAKE2b-256(key=K, salt=id as LE64
	 * || 0, personal=context || 0) over the empty message. */
	{
		uint8_t salt[16] = {1}, pers[16] = "vaultfs1";

		crypto_generichash_blake2b_salt_personal(want, 32, NULL, 0, k,
							 32, salt, pers);
		assert_memory_equal(keys->data, want, 32);
		salt[0] = 3;
		crypto_generichash_blake2b_salt_personal(want, 32, NULL, 0, k,
							 32, salt, pers);
		assert_memory_equal(keys->hdr, want, 32);
	}
	keys_free(keys);
}

static void test_roundtrip(void **state)
{
	struct keys *k = mkkeys(1);
	struct chunk_pos p = pos_at(40);
	uint8_t plain[1000], sealed[1000 + CHUNK_OVERHEAD], out[1000];
	uint8_t sealed2[1000 + CHUNK_OVERHEAD];
	int n;

	(void)state;
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)i;
	n = chunk_seal(k->data, &p, plain, sizeof(plain), sealed);
	assert_int_equal(n, (int)sizeof(sealed));
	assert_int_equal(chunk_open(k->data, &p, sealed, (size_t)n, out), 1000);
	assert_memory_equal(out, plain, sizeof(plain));
	/* the ciphertext does not contain the plaintext, nonces differ */
	assert_memory_not_equal(sealed + CHUNK_NONCE_BYTES, plain, 64);
	n = chunk_seal(k->data, &p, plain, sizeof(plain), sealed2);
	assert_memory_not_equal(sealed, sealed2, CHUNK_NONCE_BYTES);
	/* empty chunk */
	n = chunk_seal(k->data, &p, NULL, 0, sealed);
	assert_int_equal(n, CHUNK_OVERHEAD);
	assert_int_equal(chunk_open(k->data, &p, sealed, (size_t)n, out), 0);
	/* too big */
	assert_int_equal(chunk_seal(k->data, &p, plain, CHUNK_PLAIN_MAX + 1,
				    sealed), -EINVAL);
	keys_free(k);
}

static void test_tamper(void **state)
{
	struct keys *k = mkkeys(1), *other = mkkeys(9);
	struct chunk_pos p = pos_at(40), q;
	uint8_t plain[300], sealed[300 + CHUNK_OVERHEAD], t[sizeof(sealed)];
	uint8_t out[300];
	size_t n = sizeof(sealed);

	(void)state;
	memset(plain, 'p', sizeof(plain));
	assert_int_equal(chunk_seal(k->data, &p, plain, sizeof(plain), sealed),
			 (int)n);
	/* every single flipped bit anywhere */
	for (size_t i = 0; i < n; i++) {
		for (int b = 0; b < 8; b += 3) {
			memcpy(t, sealed, n);
			t[i] ^= (uint8_t)(1 << b);
			memset(out, 0x55, sizeof(out));
			assert_int_equal(chunk_open(k->data, &p, t, n, out),
					 -EBADMSG);
			/* nothing of the plaintext leaks out */
			for (size_t j = 0; j < sizeof(out); j++)
				assert_int_equal(out[j], 0);
		}
	}
	/* truncated, extended, too short */
	assert_int_equal(chunk_open(k->data, &p, sealed, n - 1, out), -EBADMSG);
	assert_int_equal(chunk_open(k->data, &p, sealed, CHUNK_OVERHEAD - 1,
				    out), -EBADMSG);
	/* wrong position, segment, random id, store, kind, last mark, key */
	q = p;
	q.offset = 41;
	assert_int_equal(chunk_open(k->data, &q, sealed, n, out), -EBADMSG);
	q = p;
	q.segno = 8;
	assert_int_equal(chunk_open(k->data, &q, sealed, n, out), -EBADMSG);
	q = p;
	q.seg_rid = RID2;
	assert_int_equal(chunk_open(k->data, &q, sealed, n, out), -EBADMSG);
	q = p;
	q.store_id = SID2;
	assert_int_equal(chunk_open(k->data, &q, sealed, n, out), -EBADMSG);
	q = p;
	q.kind = CHUNK_META;
	assert_int_equal(chunk_open(k->data, &q, sealed, n, out), -EBADMSG);
	q = p;
	q.last = 1;
	assert_int_equal(chunk_open(k->data, &q, sealed, n, out), -EBADMSG);
	assert_int_equal(chunk_open(k->meta, &p, sealed, n, out), -EBADMSG);
	assert_int_equal(chunk_open(other->data, &p, sealed, n, out), -EBADMSG);
	keys_free(k);
	keys_free(other);
}

/* Two chunks of one segment swapped: each fails at the other's place. */
static void test_swap(void **state)
{
	struct keys *k = mkkeys(1);
	struct chunk_pos p1 = pos_at(40), p2;
	uint8_t a[100], b[100], sa[100 + CHUNK_OVERHEAD];
	uint8_t sb[100 + CHUNK_OVERHEAD], out[100];

	(void)state;
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	p2 = pos_at(40 + sizeof(sa));
	assert_true(chunk_seal(k->data, &p1, a, sizeof(a), sa) > 0);
	assert_true(chunk_seal(k->data, &p2, b, sizeof(b), sb) > 0);
	assert_int_equal(chunk_open(k->data, &p1, sb, sizeof(sb), out),
			 -EBADMSG);
	assert_int_equal(chunk_open(k->data, &p2, sa, sizeof(sa), out),
			 -EBADMSG);
	assert_int_equal(chunk_open(k->data, &p2, sb, sizeof(sb), out), 100);
	assert_memory_equal(out, b, 100);
	keys_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_keys_kat),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_swap),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

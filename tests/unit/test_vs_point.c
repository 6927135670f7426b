/*
 * test_vs_point.c - client points: valid multiples of the generator pass;
 * off-curve, compressed, infinity, out-of-range and short encodings fail.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "vaultsrv/point.h"

static const uint8_t G[65] = {
    0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc,
    0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d,
    0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96,
    0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb,
    0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31,
    0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5,
};

static void test_valid(void **state)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	EC_POINT *p = EC_POINT_new(g);
	BIGNUM *k = BN_new();
	uint8_t enc[65];

	assert_int_equal(point_validate(G, 65), 0);
	for (int i = 0; i < 32; i++) {
		BN_rand_range(k, EC_GROUP_get0_order(g));
		if (BN_is_zero(k))
			continue;
		EC_POINT_mul(g, p, k, NULL, NULL, NULL);
		assert_int_equal(
		    EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, enc,
				       65, NULL),
		    65);
		assert_int_equal(point_validate(enc, 65), 0);
	}
	BN_free(k);
	EC_POINT_free(p);
	EC_GROUP_free(g);
}

static void test_invalid(void **state)
{
	uint8_t p[65];

	memcpy(p, G, 65);
	p[64] ^= 1; /* y + 1: off the curve */
	assert_int_equal(point_validate(p, 65), -EINVAL);
	memcpy(p, G, 65);
	p[0] = 0x02; /* compressed tag on 65 bytes */
	assert_int_equal(point_validate(p, 65), -EINVAL);
	p[0] = 0x06; /* hybrid */
	assert_int_equal(point_validate(p, 65), -EINVAL);
	assert_int_equal(point_validate(G, 33), -EINVAL);
	assert_int_equal(point_validate(G, 64), -EINVAL);
	memset(p, 0, sizeof(p));
	assert_int_equal(point_validate(p, 1), -EINVAL); /* infinity */
	assert_int_equal(point_validate(p, 65), -EINVAL);
	p[0] = 0x04;
	assert_int_equal(point_validate(p, 65), -EINVAL); /* (0,0) */
	memset(p + 1, 0xff, 64);			  /* x, y >= p */
	assert_int_equal(point_validate(p, 65), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

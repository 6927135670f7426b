/*
 * point.c - P-256 point checks with OpenSSL's libcrypto.
 */
#include "config.h"

#include <errno.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "point.h"

int point_validate(const uint8_t *p, size_t len)
{
	EC_GROUP *g = NULL;
	EC_POINT *pt = NULL;
	BN_CTX *ctx = NULL;
	int r;

	if (len != POINT_LEN || p[0] != 0x04)
		return -EINVAL;
	g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	pt = g ? EC_POINT_new(g) : NULL;
	ctx = BN_CTX_new();
	if (!g || !pt || !ctx) {
		r = -ENOMEM;
		goto out;
	}
	/* oct2point refuses coordinates >= p and points off the curve. */
	if (EC_POINT_oct2point(g, pt, p, len, ctx) != 1 ||
	    EC_POINT_is_at_infinity(g, pt) ||
	    EC_POINT_is_on_curve(g, pt, ctx) != 1) {
		r = -EINVAL;
		goto out;
	}
	r = 0;
out:
	BN_CTX_free(ctx);
	EC_POINT_free(pt);
	EC_GROUP_free(g);
	return r;
}

/*
 * oprf.c - RFC 9380 hash-to-curve for P-256 and the client side of the
 * 2HashDH OPRF (blind, unblind, output hash).
 *
 * What is and is not constant time (the password is the secret here, and
 * the blinding scalar r):
 *  - expand_message_xmd is SHA-256 over the password: constant time.
 *  - The reduction of the 48-byte hash_to_field strings mod p (BN_nnmod)
 *    and the field multiplications/additions (BN_mod_mul, BN_mod_add) are
 *    NOT guaranteed constant time by OpenSSL; their timing depends weakly
 *    on the values' top words. Exponentiations (the square root, the
 *    inversion by Fermat, r^-1 mod n) use BN_mod_exp_mont_consttime with
 *    BN_FLG_CONSTTIME, and every password-dependent choice in the SSWU map
 *    (is_square, sgn0, tv2 == 0) is a branch-free byte-wise select, so the
 *    map runs the same instruction sequence for every input.
 *  - The point addition Q0 + Q1 (EC_POINT_add) is not constant time.
 *  - Scalar multiplication by the secret r (and r^-1) goes through
 *    EC_POINT_mul, which in OpenSSL 3 uses the constant-time ladder or the
 *    nistz256 code for P-256.
 * The residual leak is timing of arithmetic on H1(pw) observable by a
 * local attacker on the client machine, who could as well read the
 * password from the keyboard; the vault never sees H1(pw) unblinded.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <sodium.h>

#include "buf.h"
#include "oprf.h"

#define XMD_B 32  /* SHA-256 output */
#define XMD_S 64  /* SHA-256 block */
#define H2F_L 48  /* ceil((256 + 128) / 8) */

struct p256 {
	EC_GROUP *group;
	BN_CTX *ctx;
	BIGNUM *p, *a, *b, *n, *z;
	BIGNUM *c1;  /* (p - 3) / 4 */
	BIGNUM *c2;  /* sqrt(-Z) */
	BIGNUM *pm2; /* p - 2 */
	BIGNUM *nm2; /* n - 2 */
};

struct oprf_blind {
	struct p256 *g;
	BIGNUM *r;
};

static void p256_free(struct p256 *g)
{
	if (!g)
		return;
	BN_free(g->p);
	BN_free(g->a);
	BN_free(g->b);
	BN_free(g->n);
	BN_free(g->z);
	BN_free(g->c1);
	BN_free(g->c2);
	BN_free(g->pm2);
	BN_free(g->nm2);
	BN_CTX_free(g->ctx);
	EC_GROUP_free(g->group);
	free(g);
}

static int p256_new(struct p256 **ret)
{
	struct p256 *g;
	BIGNUM *t = NULL;
	int r = -ENOMEM;

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	g->ctx = BN_CTX_secure_new();
	g->p = BN_new();
	g->a = BN_new();
	g->b = BN_new();
	g->n = BN_new();
	g->z = BN_new();
	g->c1 = BN_new();
	g->c2 = BN_new();
	g->pm2 = BN_new();
	g->nm2 = BN_new();
	t = BN_new();
	if (!g->group || !g->ctx || !g->p || !g->a || !g->b || !g->n ||
	    !g->z || !g->c1 || !g->c2 || !g->pm2 || !g->nm2 || !t)
		goto out;
	r = -EIO;
	if (!EC_GROUP_get_curve(g->group, g->p, g->a, g->b, g->ctx))
		goto out;
	if (!BN_copy(g->n, EC_GROUP_get0_order(g->group)))
		goto out;
	/* Z = -10 */
	if (!BN_set_word(t, 10) || !BN_mod_sub(g->z, g->p, t, g->p, g->ctx))
		goto out;
	/* c1 = (p - 3) / 4 */
	if (!BN_sub(g->c1, g->p, BN_value_one()) ||
	    !BN_sub_word(g->c1, 2) || !BN_rshift(g->c1, g->c1, 2))
		goto out;
	/* c2 = sqrt(-Z) = 10^((p + 1) / 4) */
	if (!BN_copy(g->c2, g->p) || !BN_add_word(g->c2, 1) ||
	    !BN_rshift(g->c2, g->c2, 2) ||
	    !BN_mod_exp(g->c2, t, g->c2, g->p, g->ctx))
		goto out;
	if (!BN_copy(g->pm2, g->p) || !BN_sub_word(g->pm2, 2))
		goto out;
	if (!BN_copy(g->nm2, g->n) || !BN_sub_word(g->nm2, 2))
		goto out;
	*ret = g;
	g = NULL; /* transferred */
	r = 0;
out:
	BN_free(t);
	p256_free(g);
	if (r < 0)
		ERR_clear_error();
	return r;
}

int oprf_expand_message_xmd(const uint8_t *msg, size_t msglen,
			    const uint8_t *dst, size_t dstlen, uint8_t *out,
			    size_t outlen)
{
	static const uint8_t zpad[XMD_S];
	crypto_hash_sha256_state st;
	uint8_t b0[XMD_B], bi[XMD_B], tmp[XMD_B];
	uint8_t lib[2], dlen, idx, zero = 0;
	size_t ell, off;

	if (outlen == 0 || outlen > OPRF_XMD_MAX_OUT || dstlen == 0 ||
	    dstlen > OPRF_XMD_MAX_DST || (!msg && msglen) || !dst || !out)
		return -EINVAL;
	ell = (outlen + XMD_B - 1) / XMD_B;
	lib[0] = (uint8_t)(outlen >> 8);
	lib[1] = (uint8_t)outlen;
	dlen = (uint8_t)dstlen;

	/* b_0 = H(Z_pad || msg || l_i_b_str || 0 || DST_prime) */
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, zpad, sizeof(zpad));
	if (msglen)
		crypto_hash_sha256_update(&st, msg, msglen);
	crypto_hash_sha256_update(&st, lib, 2);
	crypto_hash_sha256_update(&st, &zero, 1);
	crypto_hash_sha256_update(&st, dst, dstlen);
	crypto_hash_sha256_update(&st, &dlen, 1);
	crypto_hash_sha256_final(&st, b0);

	memset(bi, 0, sizeof(bi));
	off = 0;
	for (size_t i = 1; i <= ell; i++) {
		/* b_i = H(strxor(b_0, b_(i-1)) || i || DST_prime), b_0 ^ 0
		 * for i = 1 */
		for (size_t j = 0; j < XMD_B; j++)
			tmp[j] = b0[j] ^ bi[j];
		idx = (uint8_t)i;
		crypto_hash_sha256_init(&st);
		crypto_hash_sha256_update(&st, tmp, XMD_B);
		crypto_hash_sha256_update(&st, &idx, 1);
		crypto_hash_sha256_update(&st, dst, dstlen);
		crypto_hash_sha256_update(&st, &dlen, 1);
		crypto_hash_sha256_final(&st, bi);
		memcpy(out + off, bi, outlen - off < XMD_B ? outlen - off : XMD_B);
		off += XMD_B;
	}
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(b0, sizeof(b0));
	sodium_memzero(bi, sizeof(bi));
	sodium_memzero(tmp, sizeof(tmp));
	return 0;
}

/* The two field elements u0, u1 of hash_to_field into BIGNUMs. */
static int h2f(struct p256 *g, const uint8_t *msg, size_t msglen,
	       const uint8_t *dst, size_t dstlen, BIGNUM *u0, BIGNUM *u1)
{
	uint8_t ub[2 * H2F_L];
	int r;

	r = oprf_expand_message_xmd(msg, msglen, dst, dstlen, ub, sizeof(ub));
	if (r < 0)
		return r;
	r = -EIO;
	if (!BN_bin2bn(ub, H2F_L, u0) || !BN_nnmod(u0, u0, g->p, g->ctx))
		goto out;
	if (!BN_bin2bn(ub + H2F_L, H2F_L, u1) ||
	    !BN_nnmod(u1, u1, g->p, g->ctx))
		goto out;
	r = 0;
out:
	sodium_memzero(ub, sizeof(ub));
	return r;
}

/* r = c ? b : a, without a branch on c (values in [0, p)). */
static int cmov(BIGNUM *r, const BIGNUM *a, const BIGNUM *b, unsigned c)
{
	uint8_t ba[OPRF_ELEM_LEN], bb[OPRF_ELEM_LEN];
	uint8_t mask = (uint8_t)(0u - (c & 1u));
	int ok;

	ok = BN_bn2binpad(a, ba, sizeof(ba)) == (int)sizeof(ba) &&
	     BN_bn2binpad(b, bb, sizeof(bb)) == (int)sizeof(bb);
	if (ok) {
		for (size_t i = 0; i < sizeof(ba); i++)
			ba[i] = (uint8_t)(ba[i] ^ (mask & (ba[i] ^ bb[i])));
		ok = BN_bin2bn(ba, sizeof(ba), r) != NULL;
	}
	sodium_memzero(ba, sizeof(ba));
	sodium_memzero(bb, sizeof(bb));
	return ok ? 0 : -EIO;
}

/* 1 if a == b, else 0, comparing fixed-width encodings. */
static int bn_eq(const BIGNUM *a, const BIGNUM *b, unsigned *ret)
{
	uint8_t ba[OPRF_ELEM_LEN], bb[OPRF_ELEM_LEN];
	int ok;

	ok = BN_bn2binpad(a, ba, sizeof(ba)) == (int)sizeof(ba) &&
	     BN_bn2binpad(b, bb, sizeof(bb)) == (int)sizeof(bb);
	if (ok)
		*ret = (unsigned)(sodium_memcmp(ba, bb, sizeof(ba)) == 0);
	sodium_memzero(ba, sizeof(ba));
	sodium_memzero(bb, sizeof(bb));
	return ok ? 0 : -EIO;
}

/* sgn0 for m = 1: the parity of the canonical value. */
static unsigned sgn0(const BIGNUM *x)
{
	return (unsigned)BN_is_bit_set(x, 0);
}

static int exp_ct(struct p256 *g, BIGNUM *r, const BIGNUM *a,
		  const BIGNUM *e, const BIGNUM *m)
{
	/* constant time whatever the flags of a */
	return BN_mod_exp_mont_consttime(r, a, e, m, g->ctx, NULL) ? 0 : -EIO;
}

/*
 * RFC 9380 appendix F.2: simplified SWU, straight-line, with sqrt_ratio
 * for q = 3 mod 4 (F.2.1.2). Writes the affine point to (x, y).
 */
static int map_sswu(struct p256 *g, const BIGNUM *u, BIGNUM *x, BIGNUM *y)
{
	BN_CTX *c = g->ctx;
	BIGNUM *tv1, *tv2, *tv3, *tv4, *tv5, *tv6, *y1, *y2, *t;
	unsigned nz, isqr, e1;
	int r = -EIO;

	BN_CTX_start(c);
	tv1 = BN_CTX_get(c);
	tv2 = BN_CTX_get(c);
	tv3 = BN_CTX_get(c);
	tv4 = BN_CTX_get(c);
	tv5 = BN_CTX_get(c);
	tv6 = BN_CTX_get(c);
	y1 = BN_CTX_get(c);
	y2 = BN_CTX_get(c);
	t = BN_CTX_get(c);
	if (!t)
		goto out;

	if (!BN_mod_sqr(tv1, u, g->p, c) ||		/* 1 */
	    !BN_mod_mul(tv1, g->z, tv1, g->p, c) ||	/* 2 */
	    !BN_mod_sqr(tv2, tv1, g->p, c) ||		/* 3 */
	    !BN_mod_add(tv2, tv2, tv1, g->p, c) ||	/* 4 */
	    !BN_mod_add(tv3, tv2, BN_value_one(), g->p, c) || /* 5 */
	    !BN_mod_mul(tv3, g->b, tv3, g->p, c))	/* 6 */
		goto out;
	/* 7: tv4 = CMOV(Z, -tv2, tv2 != 0) */
	BN_zero(t);
	if (bn_eq(tv2, t, &nz) < 0)
		goto out;
	nz ^= 1;
	if (!BN_mod_sub(t, g->p, tv2, g->p, c))
		goto out;
	if (cmov(tv4, g->z, t, nz) < 0)
		goto out;
	if (!BN_mod_mul(tv4, g->a, tv4, g->p, c) ||	/* 8 */
	    !BN_mod_sqr(tv2, tv3, g->p, c) ||		/* 9 */
	    !BN_mod_sqr(tv6, tv4, g->p, c) ||		/* 10 */
	    !BN_mod_mul(tv5, g->a, tv6, g->p, c) ||	/* 11 */
	    !BN_mod_add(tv2, tv2, tv5, g->p, c) ||	/* 12 */
	    !BN_mod_mul(tv2, tv2, tv3, g->p, c) ||	/* 13 */
	    !BN_mod_mul(tv6, tv6, tv4, g->p, c) ||	/* 14 */
	    !BN_mod_mul(tv5, g->b, tv6, g->p, c) ||	/* 15 */
	    !BN_mod_add(tv2, tv2, tv5, g->p, c) ||	/* 16 */
	    !BN_mod_mul(x, tv1, tv3, g->p, c))		/* 17 */
		goto out;

	/* 18: (isqr, y1) = sqrt_ratio(u' = tv2, v = tv6) */
	if (!BN_mod_sqr(t, tv6, g->p, c) ||		/* s1: t = v^2 */
	    !BN_mod_mul(tv5, tv2, tv6, g->p, c) ||	/* s2: tv5 = u v */
	    !BN_mod_mul(t, t, tv5, g->p, c))		/* s3 */
		goto out;
	if (exp_ct(g, y1, t, g->c1, g->p) < 0)		/* s4 */
		goto out;
	if (!BN_mod_mul(y1, y1, tv5, g->p, c) ||	/* s5 */
	    !BN_mod_mul(y2, y1, g->c2, g->p, c) ||	/* s6 */
	    !BN_mod_sqr(t, y1, g->p, c) ||		/* s7 */
	    !BN_mod_mul(t, t, tv6, g->p, c))		/* s8 */
		goto out;
	if (bn_eq(t, tv2, &isqr) < 0)			/* s9 */
		goto out;
	if (cmov(y1, y2, y1, isqr) < 0)			/* s10 */
		goto out;

	if (!BN_mod_mul(y, tv1, u, g->p, c) ||		/* 19 */
	    !BN_mod_mul(y, y, y1, g->p, c))		/* 20 */
		goto out;
	if (cmov(x, x, tv3, isqr) < 0 ||		/* 21 */
	    cmov(y, y, y1, isqr) < 0)			/* 22 */
		goto out;
	e1 = (unsigned)(sgn0(u) == sgn0(y));		/* 23 */
	if (!BN_mod_sub(t, g->p, y, g->p, c))
		goto out;
	if (cmov(y, t, y, e1) < 0)			/* 24 */
		goto out;
	/* 25: x = x / tv4, inverse by Fermat (tv4 != 0 by step 7) */
	if (exp_ct(g, t, tv4, g->pm2, g->p) < 0)
		goto out;
	if (!BN_mod_mul(x, x, t, g->p, c))
		goto out;
	r = 0;
out:
	BN_CTX_end(c);
	return r;
}

/* hash_to_curve into an EC_POINT. */
static int h2c(struct p256 *g, const uint8_t *msg, size_t msglen,
	       const uint8_t *dst, size_t dstlen, EC_POINT *ret)
{
	BN_CTX *c = g->ctx;
	BIGNUM *u0, *u1, *x, *y;
	EC_POINT *q1 = NULL;
	int r = -ENOMEM;

	BN_CTX_start(c);
	u0 = BN_CTX_get(c);
	u1 = BN_CTX_get(c);
	x = BN_CTX_get(c);
	y = BN_CTX_get(c);
	q1 = EC_POINT_new(g->group);
	if (!y || !q1)
		goto out;
	r = h2f(g, msg, msglen, dst, dstlen, u0, u1);
	if (r < 0)
		goto out;
	r = map_sswu(g, u0, x, y);
	if (r < 0)
		goto out;
	r = -EIO;
	if (!EC_POINT_set_affine_coordinates(g->group, ret, x, y, c))
		goto out;
	r = map_sswu(g, u1, x, y);
	if (r < 0)
		goto out;
	r = -EIO;
	if (!EC_POINT_set_affine_coordinates(g->group, q1, x, y, c))
		goto out;
	/* clear_cofactor is the identity for P-256 (h = 1) */
	if (!EC_POINT_add(g->group, ret, ret, q1, c))
		goto out;
	r = 0;
out:
	EC_POINT_clear_free(q1);
	BN_CTX_end(c);
	return r;
}

static int point_encode(struct p256 *g, const EC_POINT *pt,
			uint8_t out[OPRF_POINT_LEN])
{
	if (EC_POINT_is_at_infinity(g->group, pt))
		return -EBADMSG;
	if (EC_POINT_point2oct(g->group, pt, POINT_CONVERSION_UNCOMPRESSED,
			       out, OPRF_POINT_LEN,
			       g->ctx) != OPRF_POINT_LEN)
		return -EIO;
	return 0;
}

int oprf_hash_to_field(const uint8_t *msg, size_t msglen, const uint8_t *dst,
		       size_t dstlen, uint8_t ret_u0[OPRF_ELEM_LEN],
		       uint8_t ret_u1[OPRF_ELEM_LEN])
{
	struct p256 *g = NULL;
	BIGNUM *u0 = BN_new(), *u1 = BN_new();
	int r;

	r = -ENOMEM;
	if (!u0 || !u1)
		goto out;
	r = p256_new(&g);
	if (r < 0)
		goto out;
	r = h2f(g, msg, msglen, dst, dstlen, u0, u1);
	if (r < 0)
		goto out;
	r = -EIO;
	if (BN_bn2binpad(u0, ret_u0, OPRF_ELEM_LEN) != OPRF_ELEM_LEN ||
	    BN_bn2binpad(u1, ret_u1, OPRF_ELEM_LEN) != OPRF_ELEM_LEN)
		goto out;
	r = 0;
out:
	BN_clear_free(u0);
	BN_clear_free(u1);
	p256_free(g);
	ERR_clear_error();
	return r;
}

int oprf_hash_to_curve(const uint8_t *msg, size_t msglen, const uint8_t *dst,
		       size_t dstlen, uint8_t ret_point[OPRF_POINT_LEN])
{
	struct p256 *g = NULL;
	EC_POINT *pt = NULL;
	int r;

	r = p256_new(&g);
	if (r < 0)
		goto out;
	r = -ENOMEM;
	pt = EC_POINT_new(g->group);
	if (!pt)
		goto out;
	r = h2c(g, msg, msglen, dst, dstlen, pt);
	if (r < 0)
		goto out;
	r = point_encode(g, pt, ret_point);
out:
	EC_POINT_clear_free(pt);
	p256_free(g);
	ERR_clear_error();
	return r;
}

int oprf_point_check(const uint8_t p[OPRF_POINT_LEN])
{
	struct p256 *g = NULL;
	EC_POINT *pt = NULL;
	int r;

	r = p256_new(&g);
	if (r < 0)
		goto out;
	r = -ENOMEM;
	pt = EC_POINT_new(g->group);
	if (!pt)
		goto out;
	r = -EBADMSG;
	/* oct2point checks the curve equation; insist on the uncompressed
	 * form so a compressed or hybrid encoding is refused too */
	if (p[0] != 0x04 ||
	    !EC_POINT_oct2point(g->group, pt, p, OPRF_POINT_LEN, g->ctx) ||
	    EC_POINT_is_at_infinity(g->group, pt) ||
	    EC_POINT_is_on_curve(g->group, pt, g->ctx) != 1)
		goto out;
	r = 0;
out:
	EC_POINT_free(pt);
	p256_free(g);
	ERR_clear_error();
	return r;
}

void oprf_blind_free(struct oprf_blind *b)
{
	if (!b)
		return;
	BN_clear_free(b->r);
	p256_free(b->g);
	free(b);
}

int oprf_blind_new(const uint8_t *pw, size_t pwlen, struct oprf_blind **ret,
		   uint8_t ret_blinded[OPRF_POINT_LEN])
{
	static const uint8_t dst[] = OPRF_DST;
	struct oprf_blind *b;
	EC_POINT *h = NULL, *m = NULL;
	uint8_t out[OPRF_POINT_LEN];
	int r = -ENOMEM;

	if (!pw && pwlen)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	r = p256_new(&b->g);
	if (r < 0)
		goto out;
	r = -ENOMEM;
	b->r = BN_secure_new();
	h = EC_POINT_new(b->g->group);
	m = EC_POINT_new(b->g->group);
	if (!b->r || !h || !m)
		goto out;
	BN_set_flags(b->r, BN_FLG_CONSTTIME);
	r = -EIO;
	do {
		if (!BN_priv_rand_range(b->r, b->g->n))
			goto out;
	} while (BN_is_zero(b->r));
	r = h2c(b->g, pw, pwlen, dst, sizeof(dst) - 1, h);
	if (r < 0)
		goto out;
	r = -EIO;
	if (!EC_POINT_mul(b->g->group, m, NULL, h, b->r, b->g->ctx))
		goto out;
	r = point_encode(b->g, m, out);
	if (r < 0)
		goto out;
	memcpy(ret_blinded, out, sizeof(out));
	*ret = b;
	b = NULL; /* transferred */
	r = 0;
out:
	EC_POINT_clear_free(h);
	EC_POINT_clear_free(m);
	oprf_blind_free(b);
	ERR_clear_error();
	return r;
}

int oprf_unblind(const struct oprf_blind *b,
		 const uint8_t evaluated[OPRF_ELEM_LEN],
		 uint8_t ret_x[OPRF_ELEM_LEN])
{
	struct p256 *g = b->g;
	BN_CTX *c = g->ctx;
	BIGNUM *ex, *rinv, *nx;
	EC_POINT *z = NULL, *n = NULL;
	uint8_t x[OPRF_ELEM_LEN];
	int r = -ENOMEM;

	BN_CTX_start(c);
	ex = BN_CTX_get(c);
	rinv = BN_CTX_get(c);
	nx = BN_CTX_get(c);
	z = EC_POINT_new(g->group);
	n = EC_POINT_new(g->group);
	if (!nx || !z || !n)
		goto out;
	r = -EIO;
	if (!BN_bin2bn(evaluated, OPRF_ELEM_LEN, ex))
		goto out;
	/* set_compressed_coordinates would silently reduce x mod p */
	r = -EBADMSG;
	if (BN_cmp(ex, g->p) >= 0)
		goto out;
	/* lift x to a point (either y); fails when x^3 - 3x + b is not a
	 * square, i.e. no point of the curve has this x */
	if (!EC_POINT_set_compressed_coordinates(g->group, z, ex, 0, c) ||
	    EC_POINT_is_on_curve(g->group, z, c) != 1 ||
	    EC_POINT_is_at_infinity(g->group, z))
		goto out;
	r = -EIO;
	BN_set_flags(rinv, BN_FLG_CONSTTIME);
	if (exp_ct(g, rinv, b->r, g->nm2, g->n) < 0)
		goto out;
	if (!EC_POINT_mul(g->group, n, NULL, z, rinv, c))
		goto out;
	r = -EBADMSG;
	if (EC_POINT_is_at_infinity(g->group, n))
		goto out;
	r = -EIO;
	if (!EC_POINT_get_affine_coordinates(g->group, n, nx, NULL, c) ||
	    BN_bn2binpad(nx, x, sizeof(x)) != (int)sizeof(x))
		goto out;
	memcpy(ret_x, x, sizeof(x));
	r = 0;
out:
	if (rinv)
		BN_clear(rinv);
	EC_POINT_clear_free(z);
	EC_POINT_clear_free(n);
	BN_CTX_end(c);
	sodium_memzero(x, sizeof(x));
	ERR_clear_error();
	return r;
}

int oprf_finalize(const struct oprf_blind *b, const uint8_t *pw, size_t pwlen,
		  const uint8_t evaluated[OPRF_ELEM_LEN],
		  uint8_t ret_out[OPRF_OUT_LEN])
{
	static const char label[] = "vaultfs-v1-oprf-out";
	crypto_hash_sha256_state st;
	uint8_t x[OPRF_ELEM_LEN], le[4];
	int r;

	if ((!pw && pwlen) || pwlen > UINT32_MAX)
		return -EINVAL;
	r = oprf_unblind(b, evaluated, x);
	if (r < 0)
		return r;
	put_le32(le, (uint32_t)pwlen);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)label,
				  sizeof(label) - 1);
	crypto_hash_sha256_update(&st, le, sizeof(le));
	if (pwlen)
		crypto_hash_sha256_update(&st, pw, pwlen);
	crypto_hash_sha256_update(&st, x, sizeof(x));
	crypto_hash_sha256_final(&st, ret_out);
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(x, sizeof(x));
	return 0;
}

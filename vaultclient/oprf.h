/*
 * oprf.h - client half of the 2HashDH OPRF over NIST P-256 (docs/protocol.md).
 *
 * Hash-to-curve is RFC 9380 exactly (suite P256_XMD:SHA-256_SSWU_RO_), built
 * on OpenSSL libcrypto's BIGNUM/EC_POINT because libsodium has no P-256.
 * Points on the wire are SEC1 uncompressed (65 bytes); the server's answer
 * is the 32-byte big-endian x coordinate of k*blinded.
 *
 * Errors: -EINVAL for bad arguments, -EBADMSG for a malformed peer value
 * (not a point of the curve, infinity, x >= p), -ENOMEM, -EIO for an
 * unexpected libcrypto failure.
 */
#ifndef VC_OPRF_H
#define VC_OPRF_H

#include <stddef.h>
#include <stdint.h>

#define OPRF_POINT_LEN 65 /* SEC1 uncompressed */
#define OPRF_ELEM_LEN 32  /* field element / x coordinate, big-endian */
#define OPRF_OUT_LEN 32
/* RFC 9380 limits of expand_message_xmd with SHA-256 */
#define OPRF_XMD_MAX_OUT (255 * 32)
#define OPRF_XMD_MAX_DST 255

#define OPRF_DST "vaultfs-v1-OPRF-P256_XMD:SHA-256_SSWU_RO_"

struct oprf_blind;

/*
 * RFC 9380 section 5.3.1 expand_message_xmd with SHA-256: writes outlen
 * uniform bytes of (msg, dst) to out. -EINVAL if outlen is 0 or above
 * OPRF_XMD_MAX_OUT or dstlen is 0 or above OPRF_XMD_MAX_DST.
 * Intermediate values are wiped (msg may be a password).
 */
int oprf_expand_message_xmd(const uint8_t *msg, size_t msglen,
			    const uint8_t *dst, size_t dstlen, uint8_t *out,
			    size_t outlen) __attribute__((warn_unused_result));

/*
 * RFC 9380 hash_to_field for P-256 (count 2, L 48): the two field elements
 * u0, u1 as 32 big-endian bytes each. Exposed for the known-answer tests.
 */
int oprf_hash_to_field(const uint8_t *msg, size_t msglen, const uint8_t *dst,
		       size_t dstlen, uint8_t ret_u0[OPRF_ELEM_LEN],
		       uint8_t ret_u1[OPRF_ELEM_LEN])
	__attribute__((warn_unused_result));

/*
 * RFC 9380 hash_to_curve, suite P256_XMD:SHA-256_SSWU_RO_, with the given
 * DST: writes the point as SEC1 uncompressed bytes.
 */
int oprf_hash_to_curve(const uint8_t *msg, size_t msglen, const uint8_t *dst,
		       size_t dstlen, uint8_t ret_point[OPRF_POINT_LEN])
	__attribute__((warn_unused_result));

/*
 * Checks that p is the SEC1 uncompressed encoding of a point of P-256
 * other than infinity. 0 or -EBADMSG.
 */
int oprf_point_check(const uint8_t p[OPRF_POINT_LEN])
	__attribute__((warn_unused_result));

/*
 * Blinds password pw: draws r in [1, n-1], writes r*H1(pw) (DST OPRF_DST)
 * to ret_blinded and returns the state holding r (a secret, wiped by
 * oprf_blind_free) in *ret.
 */
int oprf_blind_new(const uint8_t *pw, size_t pwlen, struct oprf_blind **ret,
		   uint8_t ret_blinded[OPRF_POINT_LEN])
	__attribute__((warn_unused_result));

/* Wipes and frees the blinding state; NULL does nothing. */
void oprf_blind_free(struct oprf_blind *b);

/*
 * Unblinds the server's answer: lifts evaluated (x coordinate) to a point
 * Z (-EBADMSG if none exists), N = r^-1 * Z, and writes the OPRF output
 * SHA-256("vaultfs-v1-oprf-out" || le32(pwlen) || pw || x(N)) to ret_out
 * (a secret; the caller wipes it). pw must be the password given to
 * oprf_blind_new.
 */
int oprf_finalize(const struct oprf_blind *b, const uint8_t *pw, size_t pwlen,
		  const uint8_t evaluated[OPRF_ELEM_LEN],
		  uint8_t ret_out[OPRF_OUT_LEN])
	__attribute__((warn_unused_result));

/*
 * The unblinded x(N) alone (before the output hash); for tests that play
 * the server with a known key.
 */
int oprf_unblind(const struct oprf_blind *b,
		 const uint8_t evaluated[OPRF_ELEM_LEN],
		 uint8_t ret_x[OPRF_ELEM_LEN]) __attribute__((warn_unused_result));

#endif

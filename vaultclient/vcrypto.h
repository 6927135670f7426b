/*
 * vcrypto.h - libsodium side of the vault protocol (docs/protocol.md):
 * rwd = Argon2id over the OPRF output, the password-derived auth key and
 * wrap key, enc_k, the per-store K key, and the signed transcripts.
 *
 * Every struct holding keys here is meant to live in sodium_malloc memory
 * owned by the caller; these functions never allocate secrets themselves
 * except inside libsodium's own Argon2 (which wipes its memory).
 */
#ifndef VC_VCRYPTO_H
#define VC_VCRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "buf.h"

#define VCRYPTO_ARGON_OPS_MIN 2
#define VCRYPTO_ARGON_OPS_MAX 10
#define VCRYPTO_ARGON_MEM_MIN (32ULL << 20)
#define VCRYPTO_ARGON_MEM_MAX (1ULL << 30)
#define VCRYPTO_ARGON_OPS_DEFAULT 3
#define VCRYPTO_ARGON_MEM_DEFAULT (64ULL << 20)

#define VCRYPTO_KEY_LEN 32		   /* K, wrap key */
#define VCRYPTO_STORE_ID_LEN 16
#define VCRYPTO_PUB_LEN crypto_sign_PUBLICKEYBYTES /* 32 */
#define VCRYPTO_SIG_LEN crypto_sign_BYTES	   /* 64 */
#define VCRYPTO_TAG_LEN crypto_auth_hmacsha256_BYTES /* 32, env_tag */
#define VCRYPTO_ENCK_LEN                                                   \
	(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + VCRYPTO_KEY_LEN +  \
	 crypto_aead_xchacha20poly1305_ietf_ABYTES) /* 72 */
/* Passwords longer than this are refused (-EINVAL) */
#define VCRYPTO_PW_MAX 4096
/* Largest transcript any action produces (fields are all bounded) */
#define VCRYPTO_TRANSCRIPT_MAX 2048

/* Keys derived from the password (through the OPRF). Secret. */
struct vcrypto_pwkeys {
	uint8_t auth_sk[crypto_sign_SECRETKEYBYTES];
	uint8_t auth_pub[VCRYPTO_PUB_LEN];
	uint8_t wrap[VCRYPTO_KEY_LEN];
	uint8_t env[VCRYPTO_KEY_LEN]; /* key of the envelope tag */
};

/* Keys derived from one store's K. Secret. */
struct vcrypto_kkeys {
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	uint8_t pub[VCRYPTO_PUB_LEN];
};

/* 0 if 2 <= ops <= 10 and 32 MiB <= mem <= 1 GiB, else -ERANGE. */
int vcrypto_argon_check(uint64_t ops, uint64_t mem)
	__attribute__((warn_unused_result));

/*
 * rwd = Argon2id(pw, salt = out[0..16), ops, mem); rwd_key =
 * BLAKE2b-256(key = out, rwd); auth key = Ed25519 seed kdf(1, "vfspwd01"),
 * wrap key = kdf(2, "vfspwd01"), envelope key = kdf(3, "vfspwd01"). Writes *ret (caller's secure memory).
 * -ERANGE if the parameters are out of bounds (checked before any work),
 * -EINVAL for an empty or too long password, -ENOMEM if Argon2 could not
 * get its memory.
 */
int vcrypto_pwkeys(const uint8_t out[32], const uint8_t *pw, size_t pwlen,
		   uint64_t ops, uint64_t mem, struct vcrypto_pwkeys *ret)
	__attribute__((warn_unused_result));

/* The K key of a store: Ed25519 seed = kdf(1, "vfsvault", K). */
void vcrypto_kkeys(const uint8_t k[VCRYPTO_KEY_LEN], struct vcrypto_kkeys *ret);

/*
 * enc_k = nonce(24) || XChaCha20-Poly1305(wrap, K, AD = "vaultfs-v1-enck"
 * || le32(len account) || account || store_id). Account is 1..128 bytes.
 */
int vcrypto_enck_seal(const uint8_t wrap[VCRYPTO_KEY_LEN], const char *account,
		      const uint8_t store_id[VCRYPTO_STORE_ID_LEN],
		      const uint8_t k[VCRYPTO_KEY_LEN],
		      uint8_t ret_enck[VCRYPTO_ENCK_LEN])
	__attribute__((warn_unused_result));

/* Opens enc_k into ret_k (caller's secure memory); -EBADMSG if it does not
 * authenticate under this wrap key, account and store. */
int vcrypto_enck_open(const uint8_t wrap[VCRYPTO_KEY_LEN], const char *account,
		      const uint8_t store_id[VCRYPTO_STORE_ID_LEN],
		      const uint8_t enck[VCRYPTO_ENCK_LEN],
		      uint8_t ret_k[VCRYPTO_KEY_LEN])
	__attribute__((warn_unused_result));

/* One field of a transcript T(...). */
struct vcrypto_field {
	const void *p;
	size_t len;
};

/*
 * T(f1, ..., fn) = le32(len f1) || f1 || ... into w (initialised by the
 * caller). Returns bufw_error(w).
 */
int vcrypto_transcript(struct bufw *w, const struct vcrypto_field *f, size_t n)
	__attribute__((warn_unused_result));

/*
 * Password proof transcript: T("vaultfs-v1-proof", action, account,
 * store_id (16 bytes, or empty when NULL), challenge, blinded, evaluated).
 */
int vcrypto_t_proof(struct bufw *w, const char *action, const char *account,
		    const uint8_t *store_id, const uint8_t *chal, size_t chal_len,
		    const uint8_t blinded[65], const uint8_t evaluated[32])
	__attribute__((warn_unused_result));

/* K proof: T("vaultfs-v1-kproof", action, account, store_id, challenge). */
int vcrypto_t_kproof(struct bufw *w, const char *action, const char *account,
		     const uint8_t *store_id, const uint8_t *chal,
		     size_t chal_len) __attribute__((warn_unused_result));

/* T("vaultfs-v1-register", account, reg_id, auth_pub, le32(ops),
 * le64(mem), env_tag); reg_id is the binary value (base64-decoded from
 * the wire). */
int vcrypto_t_register(struct bufw *w, const char *account,
		       const uint8_t *reg_id, size_t reg_len,
		       const uint8_t auth_pub[32], uint32_t ops, uint64_t mem,
		       const uint8_t env_tag[VCRYPTO_TAG_LEN])
	__attribute__((warn_unused_result));

/*
 * The envelope tag: HMAC-SHA-256(env key, T("vaultfs-v1-envelope",
 * account, auth_pub)). Only the holder of the password AND the vault's
 * OPRF key can compute it; the client checks the vault's copy before it
 * sends anything derived from the password (a substituted evaluation
 * fails here, offline guessing needs the HSM).
 */
int vcrypto_env_tag(const uint8_t env[VCRYPTO_KEY_LEN], const char *account,
		    const uint8_t auth_pub[VCRYPTO_PUB_LEN],
		    uint8_t ret_tag[VCRYPTO_TAG_LEN])
	__attribute__((warn_unused_result));

/* T("vaultfs-v1-kreg", account, store_id, k_pub, auth_pub). */
int vcrypto_t_kreg(struct bufw *w, const char *account,
		   const uint8_t store_id[16], const uint8_t k_pub[32],
		   const uint8_t auth_pub[32]) __attribute__((warn_unused_result));

/* T("vaultfs-v1-gen", account, store_id, le64(generation)). */
int vcrypto_t_gen(struct bufw *w, const char *account,
		  const uint8_t store_id[16], uint64_t generation)
	__attribute__((warn_unused_result));

#endif

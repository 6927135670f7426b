/*
 * vcrypto.c - libsodium side of the vault protocol: Argon2id rwd, key
 * derivations, enc_k, transcripts. Parameters and labels are exactly those
 * of docs/protocol.md; changing any of them changes the wire protocol.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "vcrypto.h"

#define ACCOUNT_MAX 128
static const char enck_label[] = "vaultfs-v1-enck";

int vcrypto_argon_check(uint64_t ops, uint64_t mem)
{
	if (ops < VCRYPTO_ARGON_OPS_MIN || ops > VCRYPTO_ARGON_OPS_MAX)
		return -ERANGE;
	if (mem < VCRYPTO_ARGON_MEM_MIN || mem > VCRYPTO_ARGON_MEM_MAX)
		return -ERANGE;
	return 0;
}

int vcrypto_pwkeys(const uint8_t out[32], const uint8_t *pw, size_t pwlen,
		   uint64_t ops, uint64_t mem, struct vcrypto_pwkeys *ret)
{
	uint8_t *rwd = NULL;
	uint8_t *seed;
	int r;

	r = vcrypto_argon_check(ops, mem);
	if (r < 0)
		return r;
	if (!pw || pwlen == 0 || pwlen > VCRYPTO_PW_MAX)
		return -EINVAL;
	/* rwd (64) || rwd_key (32) || seed (32) */
	rwd = sodium_malloc(64 + 32 + 32);
	if (!rwd)
		return -ENOMEM;
	seed = rwd + 96;
	r = -ENOMEM;
	if (crypto_pwhash(rwd, 64, (const char *)pw, pwlen, out,
			  (unsigned long long)ops, (size_t)mem,
			  crypto_pwhash_ALG_ARGON2ID13) != 0)
		goto out;
	r = -EIO;
	if (crypto_generichash(rwd + 64, 32, rwd, 64, out, 32) != 0)
		goto out;
	if (crypto_kdf_derive_from_key(seed, crypto_sign_SEEDBYTES, 1,
				       "vfspwd01", rwd + 64) != 0 ||
	    crypto_kdf_derive_from_key(ret->wrap, VCRYPTO_KEY_LEN, 2,
				       "vfspwd01", rwd + 64) != 0 ||
	    crypto_kdf_derive_from_key(ret->env, VCRYPTO_KEY_LEN, 3,
				       "vfspwd01", rwd + 64) != 0)
		goto out;
	if (crypto_sign_seed_keypair(ret->auth_pub, ret->auth_sk, seed) != 0)
		goto out;
	r = 0;
out:
	sodium_free(rwd);
	return r;
}

void vcrypto_kkeys(const uint8_t k[VCRYPTO_KEY_LEN], struct vcrypto_kkeys *ret)
{
	uint8_t seed[crypto_sign_SEEDBYTES];

	/* cannot fail with these constant lengths */
	(void)crypto_kdf_derive_from_key(seed, sizeof(seed), 1, "vfsvault", k);
	(void)crypto_sign_seed_keypair(ret->pub, ret->sk, seed);
	sodium_memzero(seed, sizeof(seed));
}

/* AD = "vaultfs-v1-enck" || le32(len account) || account || store_id */
static int enck_ad(const char *account, const uint8_t *store_id,
		   uint8_t *ad, size_t *ret_len)
{
	size_t alen = account ? strlen(account) : 0;
	size_t o = 0;

	if (alen == 0 || alen > ACCOUNT_MAX)
		return -EINVAL;
	memcpy(ad, enck_label, sizeof(enck_label) - 1);
	o += sizeof(enck_label) - 1;
	put_le32(ad + o, (uint32_t)alen);
	o += 4;
	memcpy(ad + o, account, alen);
	o += alen;
	memcpy(ad + o, store_id, VCRYPTO_STORE_ID_LEN);
	o += VCRYPTO_STORE_ID_LEN;
	*ret_len = o;
	return 0;
}

#define AD_MAX (sizeof(enck_label) + 4 + ACCOUNT_MAX + VCRYPTO_STORE_ID_LEN)

int vcrypto_enck_seal(const uint8_t wrap[VCRYPTO_KEY_LEN], const char *account,
		      const uint8_t store_id[VCRYPTO_STORE_ID_LEN],
		      const uint8_t k[VCRYPTO_KEY_LEN],
		      uint8_t ret_enck[VCRYPTO_ENCK_LEN])
{
	const size_t nl = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
	uint8_t ad[AD_MAX];
	unsigned long long clen;
	size_t adlen;
	int r;

	r = enck_ad(account, store_id, ad, &adlen);
	if (r < 0)
		return r;
	randombytes_buf(ret_enck, nl);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(
		    ret_enck + nl, &clen, k, VCRYPTO_KEY_LEN, ad, adlen, NULL,
		    ret_enck, wrap) != 0 ||
	    clen != VCRYPTO_ENCK_LEN - nl)
		return -EIO;
	return 0;
}

int vcrypto_enck_open(const uint8_t wrap[VCRYPTO_KEY_LEN], const char *account,
		      const uint8_t store_id[VCRYPTO_STORE_ID_LEN],
		      const uint8_t enck[VCRYPTO_ENCK_LEN],
		      uint8_t ret_k[VCRYPTO_KEY_LEN])
{
	const size_t nl = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
	uint8_t ad[AD_MAX];
	unsigned long long mlen;
	size_t adlen;
	int r;

	r = enck_ad(account, store_id, ad, &adlen);
	if (r < 0)
		return r;
	/* decrypts in place into ret_k only if the tag verifies */
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    ret_k, &mlen, NULL, enck + nl, VCRYPTO_ENCK_LEN - nl, ad,
		    adlen, enck, wrap) != 0 ||
	    mlen != VCRYPTO_KEY_LEN)
		return -EBADMSG;
	return 0;
}

int vcrypto_transcript(struct bufw *w, const struct vcrypto_field *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		bufw_str(w, f[i].p, f[i].len);
	return bufw_error(w);
}

#define F(ptr, n)                                                          \
	{                                                                  \
		.p = (ptr), .len = (n)                                     \
	}
#define FS(s) F((s), strlen(s))

int vcrypto_t_proof(struct bufw *w, const char *action, const char *account,
		    const uint8_t *store_id, const uint8_t *chal, size_t chal_len,
		    const uint8_t blinded[65], const uint8_t evaluated[32])
{
	const struct vcrypto_field f[] = {
		FS("vaultfs-v1-proof"),
		FS(action),
		FS(account),
		F(store_id, store_id ? VCRYPTO_STORE_ID_LEN : 0),
		F(chal, chal_len),
		F(blinded, 65),
		F(evaluated, 32),
	};

	return vcrypto_transcript(w, f, sizeof(f) / sizeof(f[0]));
}

int vcrypto_t_kproof(struct bufw *w, const char *action, const char *account,
		     const uint8_t *store_id, const uint8_t *chal,
		     size_t chal_len)
{
	const struct vcrypto_field f[] = {
		FS("vaultfs-v1-kproof"),
		FS(action),
		FS(account),
		F(store_id, store_id ? VCRYPTO_STORE_ID_LEN : 0),
		F(chal, chal_len),
	};

	return vcrypto_transcript(w, f, sizeof(f) / sizeof(f[0]));
}

int vcrypto_t_register(struct bufw *w, const char *account,
		       const uint8_t *reg_id, size_t reg_len,
		       const uint8_t auth_pub[32], uint32_t ops, uint64_t mem,
		       const uint8_t env_tag[VCRYPTO_TAG_LEN])
{
	uint8_t lops[4], lmem[8];
	const struct vcrypto_field f[] = {
		FS("vaultfs-v1-register"),
		FS(account),
		F(reg_id, reg_len),
		F(auth_pub, 32),
		F(lops, 4),
		F(lmem, 8),
		F(env_tag, VCRYPTO_TAG_LEN),
	};

	put_le32(lops, ops);
	put_le64(lmem, mem);
	return vcrypto_transcript(w, f, sizeof(f) / sizeof(f[0]));
}

int vcrypto_t_kreg(struct bufw *w, const char *account,
		   const uint8_t store_id[16], const uint8_t k_pub[32],
		   const uint8_t auth_pub[32])
{
	const struct vcrypto_field f[] = {
		FS("vaultfs-v1-kreg"),
		FS(account),
		F(store_id, 16),
		F(k_pub, 32),
		F(auth_pub, 32),
	};

	return vcrypto_transcript(w, f, sizeof(f) / sizeof(f[0]));
}

int vcrypto_t_gen(struct bufw *w, const char *account,
		  const uint8_t store_id[16], uint64_t generation)
{
	uint8_t lg[8];
	const struct vcrypto_field f[] = {
		FS("vaultfs-v1-gen"),
		FS(account),
		F(store_id, 16),
		F(lg, 8),
	};

	put_le64(lg, generation);
	return vcrypto_transcript(w, f, sizeof(f) / sizeof(f[0]));
}

int vcrypto_env_tag(const uint8_t env[VCRYPTO_KEY_LEN], const char *account,
		    const uint8_t auth_pub[VCRYPTO_PUB_LEN],
		    uint8_t ret_tag[VCRYPTO_TAG_LEN])
{
	const struct vcrypto_field f[] = {
		FS("vaultfs-v1-envelope"),
		FS(account),
		F(auth_pub, VCRYPTO_PUB_LEN),
	};
	struct bufw w;
	int r;

	bufw_init(&w, VCRYPTO_TRANSCRIPT_MAX, 0);
	r = vcrypto_transcript(&w, f, sizeof(f) / sizeof(f[0]));
	if (r == 0 && crypto_auth_hmacsha256(ret_tag, w.data, w.len, env) != 0)
		r = -EIO;
	bufw_release(&w);
	return r;
}

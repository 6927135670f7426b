/*
 * proto.c - transcript encoding and Ed25519 verification (libsodium).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "proto.h"

#define PROTO_T_MAX 1024

static int proto_verify(struct bufw *w, const uint8_t pub[32],
			const uint8_t sig[64])
{
	int r = bufw_error(w);

	if (r == 0 &&
	    crypto_sign_verify_detached(sig, w->data, w->len, pub) != 0)
		r = -EBADMSG;
	else if (r < 0)
		r = -EBADMSG;
	bufw_release(w);
	return r;
}

static void proto_str(struct bufw *w, const char *s)
{
	bufw_str(w, s, strlen(s));
}

int proto_check_proof(const uint8_t auth_pub[32], const uint8_t sig[64],
		      const char *action, const char *account,
		      const uint8_t *store_id, const uint8_t challenge[32],
		      const uint8_t blinded[65], const uint8_t evaluated[32])
{
	struct bufw w;

	bufw_init(&w, PROTO_T_MAX, 0);
	proto_str(&w, "vaultfs-v1-proof");
	proto_str(&w, action);
	proto_str(&w, account);
	bufw_str(&w, store_id, store_id ? 16 : 0);
	bufw_str(&w, challenge, 32);
	bufw_str(&w, blinded, 65);
	bufw_str(&w, evaluated, 32);
	return proto_verify(&w, auth_pub, sig);
}

int proto_check_kproof(const uint8_t k_pub[32], const uint8_t sig[64],
		       const char *action, const char *account,
		       const uint8_t *store_id, const uint8_t challenge[32])
{
	struct bufw w;

	bufw_init(&w, PROTO_T_MAX, 0);
	proto_str(&w, "vaultfs-v1-kproof");
	proto_str(&w, action);
	proto_str(&w, account);
	bufw_str(&w, store_id, store_id ? 16 : 0);
	bufw_str(&w, challenge, 32);
	return proto_verify(&w, k_pub, sig);
}

int proto_check_register(const uint8_t auth_pub[32], const uint8_t sig[64],
			 const char *account, const uint8_t reg_id[16],
			 uint32_t ops, uint64_t mem, const uint8_t env_tag[32])
{
	struct bufw w;
	uint8_t o[4], m[8];

	put_le32(o, ops);
	put_le64(m, mem);
	bufw_init(&w, PROTO_T_MAX, 0);
	proto_str(&w, "vaultfs-v1-register");
	proto_str(&w, account);
	bufw_str(&w, reg_id, 16);
	bufw_str(&w, auth_pub, 32);
	bufw_str(&w, o, sizeof(o));
	bufw_str(&w, m, sizeof(m));
	bufw_str(&w, env_tag, 32);
	return proto_verify(&w, auth_pub, sig);
}

int proto_check_kreg(const uint8_t k_pub[32], const uint8_t sig[64],
		     const char *account, const uint8_t store_id[16],
		     const uint8_t auth_pub[32])
{
	struct bufw w;

	bufw_init(&w, PROTO_T_MAX, 0);
	proto_str(&w, "vaultfs-v1-kreg");
	proto_str(&w, account);
	bufw_str(&w, store_id, 16);
	bufw_str(&w, k_pub, 32);
	bufw_str(&w, auth_pub, 32);
	return proto_verify(&w, k_pub, sig);
}

int proto_check_gen(const uint8_t k_pub[32], const uint8_t sig[64],
		    const char *account, const uint8_t store_id[16],
		    uint64_t generation)
{
	struct bufw w;
	uint8_t g[8];

	put_le64(g, generation);
	bufw_init(&w, PROTO_T_MAX, 0);
	proto_str(&w, "vaultfs-v1-gen");
	proto_str(&w, account);
	bufw_str(&w, store_id, 16);
	bufw_str(&w, g, sizeof(g));
	return proto_verify(&w, k_pub, sig);
}

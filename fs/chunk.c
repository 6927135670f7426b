/*
 * chunk.c - per-purpose keys from K and the sealing of single chunks.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "chunk.h"

/* crypto_kdf context (8 bytes) and subkey ids; see docs/format.md. */
static const char KDF_CTX[crypto_kdf_CONTEXTBYTES] = {'v', 'a', 'u', 'l',
						      't', 'f', 's', '1'};
enum { KDF_ID_DATA = 1, KDF_ID_META = 2, KDF_ID_HDR = 3 };

int keys_new(const uint8_t key[STORE_KEY_BYTES], struct keys **ret)
{
	struct keys *k;

	k = sodium_malloc(sizeof(*k));
	if (!k)
		return -ENOMEM;
	if (crypto_kdf_derive_from_key(k->data, sizeof(k->data), KDF_ID_DATA,
				       KDF_CTX, key) != 0 ||
	    crypto_kdf_derive_from_key(k->meta, sizeof(k->meta), KDF_ID_META,
				       KDF_CTX, key) != 0 ||
	    crypto_kdf_derive_from_key(k->hdr, sizeof(k->hdr), KDF_ID_HDR,
				       KDF_CTX, key) != 0) {
		sodium_free(k);
		return -EINVAL;
	}
	*ret = k;
	return 0;
}

void keys_free(struct keys *k)
{
	if (k)
		sodium_free(k); /* wipes */
}

static void make_ad(const struct chunk_pos *pos, uint8_t ad[CHUNK_AD_BYTES])
{
	uint8_t *p = ad;

	memcpy(p, pos->store_id, STORE_ID_BYTES);
	p += STORE_ID_BYTES;
	put_le64(p, pos->segno);
	p += 8;
	memcpy(p, pos->seg_rid, CHUNK_RID_BYTES);
	p += CHUNK_RID_BYTES;
	put_le64(p, pos->offset);
	p += 8;
	*p++ = pos->kind;
	*p = pos->last ? 1 : 0;
}

int chunk_seal(const uint8_t key[32], const struct chunk_pos *pos,
	       const void *plain, size_t len, uint8_t *out)
{
	uint8_t ad[CHUNK_AD_BYTES];
	unsigned long long clen;

	if (len > CHUNK_PLAIN_MAX)
		return -EINVAL;
	make_ad(pos, ad);
	randombytes_buf(out, CHUNK_NONCE_BYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
		out + CHUNK_NONCE_BYTES, &clen, plain, len, ad, sizeof(ad),
		NULL, out, key);
	return (int)(clen + CHUNK_NONCE_BYTES);
}

int chunk_open(const uint8_t key[32], const struct chunk_pos *pos,
	       const uint8_t *sealed, size_t sealed_len, uint8_t *out)
{
	uint8_t ad[CHUNK_AD_BYTES];
	unsigned long long mlen;

	if (sealed_len < CHUNK_OVERHEAD || sealed_len > CHUNK_SEALED_MAX)
		return -EBADMSG;
	make_ad(pos, ad);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    out, &mlen, NULL, sealed + CHUNK_NONCE_BYTES,
		    sealed_len - CHUNK_NONCE_BYTES, ad, sizeof(ad), sealed,
		    key) != 0) {
		sodium_memzero(out, sealed_len - CHUNK_OVERHEAD);
		return -EBADMSG;
	}
	return (int)mlen;
}

/*
 * header.c - encode and check the store header.
 *
 * Layout: "VAULTFS\0" | u32 version | u32 body length | body |
 * BLAKE2b-256(all before) | BLAKE2b-256 keyed with the header subkey
 * (all before, checksum included).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "header.h"

static const uint8_t HDR_MAGIC[8] = {'V', 'A', 'U', 'L', 'T', 'F', 'S', 0};
#define HASH_BYTES 32

static int is_printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

int header_encode(const struct store_info *info, const uint8_t hdr_key[32],
		  struct bufw *w)
{
	size_t ulen = strnlen(info->vault_url, sizeof(info->vault_url));
	size_t alen = strnlen(info->account, sizeof(info->account));
	size_t start = w->len, body_at;
	uint32_t version = info->format_version;
	uint8_t *h;

	if (version == 0)
		version = HEADER_FORMAT_VERSION;
	if (info->key_epoch && version < HEADER_FORMAT_EPOCH)
		version = HEADER_FORMAT_EPOCH;
	if (version > HEADER_FORMAT_MAX)
		return -EINVAL;
	if (version >= HEADER_FORMAT_EPOCH &&
	    (info->key_epoch == 0 || info->epoch_seg == 0))
		return -EINVAL;
	if (ulen >= sizeof(info->vault_url) || alen >= sizeof(info->account))
		return -EINVAL;
	if (!is_printable(info->vault_url, ulen) ||
	    !is_printable(info->account, alen))
		return -EINVAL;
	bufw_put(w, HDR_MAGIC, sizeof(HDR_MAGIC));
	bufw_u32(w, version);
	bufw_u32(w, 0); /* body length, patched below */
	body_at = w->len;
	bufw_put(w, info->store_id, STORE_ID_BYTES);
	bufw_str(w, HEADER_AEAD_NAME, strlen(HEADER_AEAD_NAME));
	bufw_str(w, info->vault_url, ulen);
	bufw_str(w, info->account, alen);
	if (version >= HEADER_FORMAT_EPOCH) {
		bufw_u32(w, info->key_epoch);
		bufw_u64(w, info->epoch_seg);
	}
	if (bufw_error(w))
		return bufw_error(w);
	put_le32(w->data + body_at - 4, (uint32_t)(w->len - body_at));
	h = bufw_reserve(w, HASH_BYTES);
	if (!h)
		return bufw_error(w);
	crypto_generichash(h, HASH_BYTES, w->data + start,
			   (size_t)(h - w->data) - start, NULL, 0);
	h = bufw_reserve(w, HASH_BYTES);
	if (!h)
		return bufw_error(w);
	crypto_generichash(h, HASH_BYTES, w->data + start,
			   (size_t)(h - w->data) - start, hdr_key, 32);
	if (w->len - start > HEADER_MAX)
		return -EINVAL;
	return 0;
}

static int get_cstr(struct bufr *r, char *out, size_t outsz)
{
	const uint8_t *p;
	size_t n;

	if (bufr_str(r, &p, &n, outsz - 1) < 0)
		return -EBADMSG;
	/* Printable ASCII only: the names end up on terminals and in logs
	 * and this part of the header is not authenticated. */
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return -EBADMSG;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* Returns the length covered by the checksum, or a negative error. */
static int parse_frame(const uint8_t *p, size_t n, uint32_t *ret_version,
		       size_t *ret_body_len)
{
	uint32_t version, blen;

	if (n < sizeof(HDR_MAGIC) + 8 ||
	    memcmp(p, HDR_MAGIC, sizeof(HDR_MAGIC)) != 0)
		return -VFS_E_NOTSTORE;
	version = get_le32(p + 8);
	if (version < 1 || version > HEADER_FORMAT_MAX)
		return -VFS_E_VERSION;
	blen = get_le32(p + 12);
	if (n > HEADER_MAX || blen > n || n - blen != 16 + 2 * HASH_BYTES)
		return -VFS_E_DAMAGED;
	*ret_version = version;
	*ret_body_len = blen;
	return 0;
}

int header_parse(const uint8_t *p, size_t n, struct store_info *ret)
{
	uint8_t h[HASH_BYTES];
	struct store_info info;
	struct bufr r;
	uint32_t version;
	size_t blen;
	int e;

	e = parse_frame(p, n, &version, &blen);
	if (e < 0)
		return e;
	crypto_generichash(h, sizeof(h), p, 16 + blen, NULL, 0);
	if (sodium_memcmp(h, p + 16 + blen, HASH_BYTES) != 0)
		return -VFS_E_DAMAGED;
	memset(&info, 0, sizeof(info));
	info.format_version = version;
	bufr_init(&r, p + 16, blen);
	if (bufr_get(&r, info.store_id, STORE_ID_BYTES) < 0 ||
	    get_cstr(&r, info.aead, sizeof(info.aead)) < 0 ||
	    get_cstr(&r, info.vault_url, sizeof(info.vault_url)) < 0 ||
	    get_cstr(&r, info.account, sizeof(info.account)) < 0)
		return -VFS_E_DAMAGED;
	if (version >= HEADER_FORMAT_EPOCH &&
	    (bufr_u32(&r, &info.key_epoch) < 0 ||
	     bufr_u64(&r, &info.epoch_seg) < 0 || info.key_epoch == 0 ||
	     info.epoch_seg == 0))
		return -VFS_E_DAMAGED;
	if (bufr_left(&r) != 0)
		return -VFS_E_DAMAGED;
	if (strcmp(info.aead, HEADER_AEAD_NAME) != 0)
		return -VFS_E_VERSION;
	*ret = info;
	return 0;
}

int header_check_key(const uint8_t *p, size_t n, const uint8_t hdr_key[32])
{
	uint8_t h[HASH_BYTES];
	uint32_t version;
	size_t blen;
	int e;

	e = parse_frame(p, n, &version, &blen);
	if (e < 0)
		return e;
	crypto_generichash(h, sizeof(h), p, 16 + blen + HASH_BYTES, hdr_key,
			   32);
	if (sodium_memcmp(h, p + 16 + blen + HASH_BYTES, HASH_BYTES) != 0)
		return -VFS_E_WRONGKEY;
	return 0;
}

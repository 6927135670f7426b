/*
 * segment.c - build segments in memory, read their pieces back.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "segment.h"

static const uint8_t SEG_MAGIC[8] = {'V', 'F', 'S', 'S', 'E', 'G', 0, 0};
static const uint8_t END_MAGIC[3] = {'V', 'E', 'N'};

void segw_init(struct segw *sw, const uint8_t *store_id, uint64_t segno)
{
	memset(sw, 0, sizeof(*sw));
	bufw_init(&sw->w, SEG_MAX_BYTES, 0);
	sw->store_id = store_id;
	sw->segno = segno;
	randombytes_buf(sw->rid, sizeof(sw->rid));
	bufw_put(&sw->w, SEG_MAGIC, sizeof(SEG_MAGIC));
	bufw_u32(&sw->w, SEG_VERSION);
	bufw_u32(&sw->w, 0);
	bufw_u64(&sw->w, segno);
	bufw_put(&sw->w, sw->rid, sizeof(sw->rid));
}

int segw_expect(struct segw *sw, size_t bytes)
{
	return bufw_prealloc(&sw->w, bytes);
}

void segw_release(struct segw *sw)
{
	bufw_release(&sw->w);
}

size_t segw_size(const struct segw *sw)
{
	return sw->w.len;
}

static int add(struct segw *sw, const uint8_t key[32], uint8_t kind, int last,
	       const void *plain, size_t len, uint32_t *ret_off,
	       uint32_t *ret_sealed)
{
	struct chunk_pos pos = {
	    .store_id = sw->store_id,
	    .segno = sw->segno,
	    .seg_rid = sw->rid,
	    .offset = sw->w.len,
	    .kind = kind,
	    .last = (uint8_t)last,
	};
	uint8_t *out;
	int n;

	if (sw->finished || len > CHUNK_PLAIN_MAX)
		return -EINVAL;
	/* Not zeroed first: chunk_seal writes all len + CHUNK_OVERHEAD
	 * bytes (nonce, ciphertext, tag). */
	out = bufw_reserve_raw(&sw->w, len + CHUNK_OVERHEAD);
	if (!out)
		return bufw_error(&sw->w) ? bufw_error(&sw->w) : -ENOMEM;
	n = chunk_seal(key, &pos, plain, len, out);
	if (n != (int)(len + CHUNK_OVERHEAD)) {
		memset(out, 0, len + CHUNK_OVERHEAD);
		return n < 0 ? n : -EIO;
	}
	*ret_off = (uint32_t)pos.offset;
	*ret_sealed = (uint32_t)n;
	return 0;
}

int segw_add(struct segw *sw, const uint8_t key[32], uint8_t kind,
	     const void *plain, size_t len, uint32_t *ret_off,
	     uint32_t *ret_sealed)
{
	return add(sw, key, kind, 0, plain, len, ret_off, ret_sealed);
}

int segw_finish(struct segw *sw, const uint8_t key[32], uint8_t kind,
		const void *plain, size_t len, const uint8_t **ret_sealed,
		uint32_t *ret_sealed_len)
{
	uint32_t off = 0, sealed = 0;
	int r;

	r = add(sw, key, kind, 1, plain, len, &off, &sealed);
	if (r < 0)
		return r;
	bufw_u32(&sw->w, sealed);
	bufw_put(&sw->w, END_MAGIC, sizeof(END_MAGIC));
	bufw_u8(&sw->w, kind);
	r = bufw_error(&sw->w);
	if (r < 0)
		return r;
	sw->finished = 1;
	*ret_sealed = sw->w.data + off;
	*ret_sealed_len = sealed;
	return 0;
}

int seg_read_header(struct objstore *os, uint64_t segno,
		    uint8_t ret_rid[CHUNK_RID_BYTES], uint64_t *ret_size)
{
	char name[OBJSTORE_NAME_MAX];
	uint8_t h[SEG_HDR_BYTES];
	uint64_t size;
	int r;

	objstore_seg_name(segno, name);
	r = objstore_size(os, name, &size);
	if (r < 0)
		return r;
	if (size < SEG_HDR_BYTES + SEG_TRAILER_BYTES || size > SEG_MAX_BYTES)
		return -EBADMSG;
	r = objstore_read(os, name, 0, h, sizeof(h));
	if (r < 0)
		return r;
	if (memcmp(h, SEG_MAGIC, sizeof(SEG_MAGIC)) != 0 ||
	    get_le32(h + 8) != SEG_VERSION || get_le32(h + 12) != 0 ||
	    get_le64(h + 16) != segno)
		return -EBADMSG;
	memcpy(ret_rid, h + 24, CHUNK_RID_BYTES);
	*ret_size = size;
	return 0;
}

int seg_read_chunk(struct objstore *os, const uint8_t key[32],
		   const uint8_t *store_id, uint64_t segno,
		   const uint8_t rid[CHUNK_RID_BYTES], uint64_t off,
		   uint32_t sealed_len, uint8_t kind, int last, uint8_t *out)
{
	struct chunk_pos pos = {
	    .store_id = store_id,
	    .segno = segno,
	    .seg_rid = rid,
	    .offset = off,
	    .kind = kind,
	    .last = (uint8_t)last,
	};
	char name[OBJSTORE_NAME_MAX];
	uint8_t *sealed;
	int r;

	if (sealed_len < CHUNK_OVERHEAD || sealed_len > CHUNK_SEALED_MAX ||
	    off < SEG_HDR_BYTES)
		return -EBADMSG;
	sealed = malloc(sealed_len);
	if (!sealed)
		return -ENOMEM;
	objstore_seg_name(segno, name);
	r = objstore_read(os, name, off, sealed, sealed_len);
	if (r == 0)
		r = chunk_open(key, &pos, sealed, sealed_len, out);
	free(sealed);
	return r;
}

int seg_read_last(struct objstore *os, uint64_t segno,
		  uint8_t ret_rid[CHUNK_RID_BYTES], uint8_t *ret_kind,
		  uint8_t **ret_sealed, uint32_t *ret_sealed_len,
		  uint64_t *ret_off)
{
	char name[OBJSTORE_NAME_MAX];
	uint8_t rid[CHUNK_RID_BYTES], t[SEG_TRAILER_BYTES];
	uint8_t *sealed = NULL;
	uint64_t size, off;
	uint32_t len;
	int r;

	r = seg_read_header(os, segno, rid, &size);
	if (r < 0)
		return r;
	objstore_seg_name(segno, name);
	r = objstore_read(os, name, size - SEG_TRAILER_BYTES, t, sizeof(t));
	if (r < 0)
		return r;
	len = get_le32(t);
	if (memcmp(t + 4, END_MAGIC, sizeof(END_MAGIC)) != 0 ||
	    len < CHUNK_OVERHEAD || len > CHUNK_SEALED_MAX ||
	    len > size - SEG_HDR_BYTES - SEG_TRAILER_BYTES)
		return -EBADMSG;
	off = size - SEG_TRAILER_BYTES - len;
	sealed = malloc(len);
	if (!sealed)
		return -ENOMEM;
	r = objstore_read(os, name, off, sealed, len);
	if (r < 0) {
		free(sealed);
		return r;
	}
	memcpy(ret_rid, rid, CHUNK_RID_BYTES);
	*ret_kind = t[7];
	*ret_sealed = sealed;
	*ret_sealed_len = len;
	*ret_off = off;
	return 0;
}

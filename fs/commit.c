/*
 * commit.c - commit chunks (encode, decode, read) and the high-water mark.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "commit.h"
#include "segment.h"
#include "store.h"

void commit_release(struct commit *c)
{
	free(c->meta);
	c->meta = NULL;
	c->nmeta = 0;
}

int commit_encode(const struct commit *c, struct bufw *w)
{
	bufw_u32(w, COMMIT_VERSION);
	bufw_u64(w, c->gen);
	bufw_u64(w, c->parent_seg);
	bufw_put(w, c->parent_hash, COMMIT_HASH_BYTES);
	bufw_u64(w, c->ckpt_seg);
	bufw_u8(w, c->is_ckpt);
	bufw_u64(w, c->next_ino);
	bufw_u64(w, c->time_sec);
	bufw_u32(w, c->time_nsec);
	bufw_u32(w, c->nmeta);
	for (uint32_t i = 0; i < c->nmeta; i++) {
		bufw_u32(w, c->meta[i].off);
		bufw_u32(w, c->meta[i].sealed);
	}
	return bufw_error(w);
}

int commit_decode(const uint8_t *p, size_t n, uint64_t segno,
		  uint64_t chunk_off, struct commit *ret)
{
	struct commit c;
	struct bufr r;
	uint32_t version;
	uint64_t prev_end = SEG_HDR_BYTES;

	memset(&c, 0, sizeof(c));
	bufr_init(&r, p, n);
	if (bufr_u32(&r, &version) < 0 || version != COMMIT_VERSION ||
	    bufr_u64(&r, &c.gen) < 0 || bufr_u64(&r, &c.parent_seg) < 0 ||
	    bufr_get(&r, c.parent_hash, COMMIT_HASH_BYTES) < 0 ||
	    bufr_u64(&r, &c.ckpt_seg) < 0 || bufr_u8(&r, &c.is_ckpt) < 0 ||
	    bufr_u64(&r, &c.next_ino) < 0 || bufr_u64(&r, &c.time_sec) < 0 ||
	    bufr_u32(&r, &c.time_nsec) < 0 || bufr_u32(&r, &c.nmeta) < 0)
		return -EBADMSG;
	if (c.gen == 0 || c.gen == UINT64_MAX || c.parent_seg >= segno ||
	    (c.gen == 1) != (c.parent_seg == 0) || c.ckpt_seg == 0 ||
	    c.ckpt_seg > segno || c.is_ckpt > 1 ||
	    (c.is_ckpt && c.ckpt_seg != segno) || c.next_ino < 2 ||
	    c.nmeta > COMMIT_META_MAX || c.nmeta * 8ul != bufr_left(&r))
		return -EBADMSG;
	if (c.nmeta) {
		c.meta = calloc(c.nmeta, sizeof(*c.meta));
		if (!c.meta)
			return -ENOMEM;
	}
	for (uint32_t i = 0; i < c.nmeta; i++) {
		struct commit_meta *cm = &c.meta[i];

		if (bufr_u32(&r, &cm->off) < 0 ||
		    bufr_u32(&r, &cm->sealed) < 0 || cm->off < prev_end ||
		    cm->sealed < CHUNK_OVERHEAD ||
		    cm->sealed > CHUNK_SEALED_MAX ||
		    (uint64_t)cm->off + cm->sealed > chunk_off) {
			free(c.meta);
			return -EBADMSG;
		}
		prev_end = (uint64_t)cm->off + cm->sealed;
	}
	c.segno = segno;
	*ret = c;
	return 0;
}

int commit_read(struct objstore *os, const struct keys *k,
		const uint8_t *store_id, uint64_t segno, struct commit *ret)
{
	struct chunk_pos pos;
	struct commit c;
	uint8_t rid[CHUNK_RID_BYTES], kind;
	uint8_t *sealed = NULL, *plain = NULL;
	uint32_t slen;
	uint64_t off;
	int r, n;

	r = seg_read_last(os, segno, rid, &kind, &sealed, &slen, &off);
	if (r < 0)
		return r;
	if (kind != CHUNK_COMMIT) {
		r = kind == CHUNK_META ? -ENODATA : -EBADMSG;
		goto out;
	}
	plain = malloc(slen);
	if (!plain) {
		r = -ENOMEM;
		goto out;
	}
	pos.store_id = store_id;
	pos.segno = segno;
	pos.seg_rid = rid;
	pos.offset = off;
	pos.kind = CHUNK_COMMIT;
	pos.last = 1;
	n = chunk_open(k->meta, &pos, sealed, slen, plain);
	if (n < 0) {
		r = n;
		goto out;
	}
	r = commit_decode(plain, (size_t)n, segno, off, &c);
	if (r < 0)
		goto out;
	memcpy(c.rid, rid, sizeof(rid));
	crypto_generichash(c.hash, sizeof(c.hash), sealed, slen, NULL, 0);
	*ret = c;
	r = 0;
out:
	free(sealed);
	free(plain);
	return r;
}

int commit_load_meta(struct objstore *os, const struct keys *k,
		     const uint8_t *store_id, const struct commit *c,
		     struct bufw *out)
{
	uint8_t *plain;
	int r = 0;

	plain = malloc(CHUNK_PLAIN_MAX);
	if (!plain)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->nmeta; i++) {
		int n = seg_read_chunk(os, k->meta, store_id, c->segno, c->rid,
				       c->meta[i].off, c->meta[i].sealed,
				       CHUNK_META, 0, plain);
		if (n < 0) {
			r = n;
			break;
		}
		bufw_put(out, plain, (size_t)n);
		r = bufw_error(out);
		if (r < 0)
			break;
	}
	sodium_memzero(plain, CHUNK_PLAIN_MAX);
	free(plain);
	return r;
}

/* ---- high-water mark ---- */

static const uint8_t HWM_MAGIC[8] = {'V', 'F', 'S', 'H', 'W', 'M', '0', '1'};
#define HWM_BYTES (8 + 8 + 8 + COMMIT_HASH_BYTES)

static int hwm_path(const char *state_dir, const uint8_t *store_id,
		    const char *suffix, char *buf, size_t size)
{
	char hex[STORE_ID_BYTES * 2 + 1];
	int n;

	sodium_bin2hex(hex, sizeof(hex), store_id, STORE_ID_BYTES);
	n = snprintf(buf, size, "%s/%s%s", state_dir, hex, suffix);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int hwm_read(const char *state_dir, const uint8_t *store_id, struct hwm *ret)
{
	char path[PATH_MAX];
	uint8_t b[HWM_BYTES + 1];
	ssize_t n;
	int fd, r;

	r = hwm_path(state_dir, store_id, "", path, sizeof(path));
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = read(fd, b, sizeof(b));
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return r;
	if (n != HWM_BYTES || memcmp(b, HWM_MAGIC, sizeof(HWM_MAGIC)))
		return -EBADMSG;
	ret->gen = get_le64(b + 8);
	ret->segno = get_le64(b + 16);
	memcpy(ret->hash, b + 24, COMMIT_HASH_BYTES);
	return 0;
}

int hwm_write(const char *state_dir, const uint8_t *store_id,
	      const struct hwm *h)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	uint8_t b[HWM_BYTES];
	ssize_t n;
	int fd, r = 0;

	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	r = hwm_path(state_dir, store_id, "", path, sizeof(path));
	if (r == 0)
		r = hwm_path(state_dir, store_id, ".tmp", tmp, sizeof(tmp));
	if (r < 0)
		return r;
	memcpy(b, HWM_MAGIC, sizeof(HWM_MAGIC));
	put_le64(b + 8, h->gen);
	put_le64(b + 16, h->segno);
	memcpy(b + 24, h->hash, COMMIT_HASH_BYTES);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0)
		return -errno;
	n = write(fd, b, sizeof(b));
	if (n != (ssize_t)sizeof(b))
		r = n < 0 ? -errno : -EIO;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

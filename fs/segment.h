/*
 * segment.h - segments: one immutable object holding a stream of chunks.
 *
 * Layout: plaintext header (magic, version, segment number, random
 * segment id) | sealed chunks | trailer (length and kind of the last
 * chunk). The last chunk is the commit chunk of a commit segment, or an
 * empty end chunk of a data-only segment; it is the only one sealed with
 * the last-chunk mark. See docs/format.md.
 */
#ifndef VFS_SEGMENT_H
#define VFS_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "chunk.h"
#include "objstore.h"

#define SEG_WUR __attribute__((warn_unused_result))
#define SEG_HDR_BYTES 40
#define SEG_TRAILER_BYTES 8
#define SEG_VERSION 1
/* Chunk offsets are u32 in records; segments stay below this. */
#define SEG_MAX_BYTES (1u << 31)

struct segw {
	struct bufw w;
	const uint8_t *store_id;
	uint64_t segno;
	uint8_t rid[CHUNK_RID_BYTES];
	int finished;
};

/* Starts segment segno with a fresh random id; store_id must outlive sw. */
void segw_init(struct segw *sw, const uint8_t *store_id, uint64_t segno);
/* Sizes the segment's buffer for about bytes in all, so that filling it
 * does not move it (a hint: it still grows past that). 0 or -ENOMEM. */
int segw_expect(struct segw *sw, size_t bytes) SEG_WUR;

void segw_release(struct segw *sw);

/*
 * Seals len bytes as the next chunk of kind (never last). Returns 0 and
 * the chunk's offset and sealed length.
 */
int segw_add(struct segw *sw, const uint8_t key[32], uint8_t kind,
	     const void *plain, size_t len, uint32_t *ret_off,
	     uint32_t *ret_sealed) SEG_WUR;

/*
 * Seals the last chunk (kind CHUNK_COMMIT, or CHUNK_META with len 0 for a
 * data-only segment) and the trailer. *ret_sealed_at points at the sealed
 * last chunk inside sw->w (valid until the writer changes), for hashing.
 */
int segw_finish(struct segw *sw, const uint8_t key[32], uint8_t kind,
		const void *plain, size_t len, const uint8_t **ret_sealed,
		uint32_t *ret_sealed_len) SEG_WUR;

/* Current size (where the next chunk goes). */
size_t segw_size(const struct segw *sw);

/*
 * Reads and checks segment segno's plaintext header: -ENOENT if there is
 * no such object, -EBADMSG if the header is not one of ours for segno.
 * Returns the random id and the object size.
 */
int seg_read_header(struct objstore *os, uint64_t segno,
		    uint8_t ret_rid[CHUNK_RID_BYTES],
		    uint64_t *ret_size) SEG_WUR;

/*
 * Reads and opens the chunk at off/sealed_len of segment segno whose id is
 * rid into out (CHUNK_PLAIN_MAX bytes). Returns the plaintext length;
 * -EBADMSG if it does not authenticate, -ENOENT if the object is missing.
 */
int seg_read_chunk(struct objstore *os, const uint8_t key[32],
		   const uint8_t *store_id, uint64_t segno,
		   const uint8_t rid[CHUNK_RID_BYTES], uint64_t off,
		   uint32_t sealed_len, uint8_t kind, int last,
		   uint8_t *out) SEG_WUR;

/*
 * Reads the last chunk of segment segno (header, trailer, chunk) without
 * opening it: *ret_kind is the kind the trailer claims, *ret_sealed a new
 * malloc-ed copy. -ENOENT, -EBADMSG (malformed).
 */
int seg_read_last(struct objstore *os, uint64_t segno,
		  uint8_t ret_rid[CHUNK_RID_BYTES], uint8_t *ret_kind,
		  uint8_t **ret_sealed, uint32_t *ret_sealed_len,
		  uint64_t *ret_off) SEG_WUR;

#endif

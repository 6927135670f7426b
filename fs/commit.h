/*
 * commit.h - commit records and the generation high-water mark.
 *
 * A commit chunk is the last chunk of a commit segment. It names its
 * generation, its parent commit (segment number and hash), the segment
 * holding the checkpoint its state is built on, and the metadata chunks of
 * its own segment (deltas, or a checkpoint). The hash of a commit is
 * BLAKE2b-256 of its sealed chunk, so a child names its parent's exact
 * bytes. See docs/format.md.
 */
#ifndef VFS_COMMIT_H
#define VFS_COMMIT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "chunk.h"
#include "objstore.h"

#define COMMIT_WUR __attribute__((warn_unused_result))
#define COMMIT_HASH_BYTES 32
#define COMMIT_VERSION 1
/* Metadata chunks one commit may name (bounded by the chunk size). */
#define COMMIT_META_MAX 8000

struct commit_meta {
	uint32_t off;
	uint32_t sealed;
};

struct commit {
	uint64_t gen;
	uint64_t parent_seg;	/* 0 for the first commit */
	uint8_t parent_hash[COMMIT_HASH_BYTES];
	uint64_t ckpt_seg;	/* segment holding the base checkpoint */
	uint8_t is_ckpt;	/* this segment's records are a checkpoint */
	uint64_t next_ino;	/* next inode number to hand out */
	uint64_t time_sec;
	uint32_t time_nsec;
	uint32_t nmeta;
	struct commit_meta *meta;	/* malloc-ed, nmeta entries */
	/* not encoded: filled by commit_read */
	uint64_t segno;
	uint8_t rid[CHUNK_RID_BYTES];
	uint8_t hash[COMMIT_HASH_BYTES];
};

/* Frees c->meta; c itself is the caller's. */
void commit_release(struct commit *c);

/* Encodes c's persistent fields. */
int commit_encode(const struct commit *c, struct bufw *w) COMMIT_WUR;

/* Decodes and checks plaintext of a commit chunk found in segment segno
 * at offset chunk_off (-EBADMSG). */
int commit_decode(const uint8_t *p, size_t n, uint64_t segno,
		  uint64_t chunk_off, struct commit *ret) COMMIT_WUR;

/*
 * Reads the commit of segment segno: -ENOENT (no object), -ENODATA (a
 * data-only segment), -EBADMSG (malformed or does not authenticate).
 */
int commit_read(struct objstore *os, const struct keys *k,
		const uint8_t *store_id, uint64_t segno,
		struct commit *ret) COMMIT_WUR;

/* Appends the plaintext of c's metadata chunks to out. */
int commit_load_meta(struct objstore *os, const struct keys *k,
		     const uint8_t *store_id, const struct commit *c,
		     struct bufw *out) COMMIT_WUR;

/* The high-water mark kept per store on this machine. */
struct hwm {
	uint64_t gen;
	uint64_t segno;
	uint8_t hash[COMMIT_HASH_BYTES];
};

/* Reads <state_dir>/<store id hex>: -ENOENT if none, -EBADMSG. */
int hwm_read(const char *state_dir, const uint8_t *store_id,
	     struct hwm *ret) COMMIT_WUR;
/* Writes it durably (temp, fsync, rename, fsync dir); creates state_dir
 * (0700) if needed. */
int hwm_write(const char *state_dir, const uint8_t *store_id,
	      const struct hwm *h) COMMIT_WUR;

#endif

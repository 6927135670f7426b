/*
 * chunk.h - per-purpose keys and sealed chunks.
 *
 * Every piece of a segment after its plaintext header is a chunk:
 * nonce (24 random bytes) || XChaCha20-Poly1305-IETF ciphertext || tag.
 * The associated data binds the chunk to the store, the segment (number
 * and random id), its offset inside the segment, its kind and whether it
 * is the segment's last chunk (docs/format.md).
 */
#ifndef VFS_CHUNK_H
#define VFS_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define CHUNK_WUR __attribute__((warn_unused_result))
#define CHUNK_NONCE_BYTES 24
#define CHUNK_TAG_BYTES 16
#define CHUNK_OVERHEAD (CHUNK_NONCE_BYTES + CHUNK_TAG_BYTES)
/* Largest plaintext of any chunk. */
#define CHUNK_PLAIN_MAX 65536
#define CHUNK_SEALED_MAX (CHUNK_PLAIN_MAX + CHUNK_OVERHEAD)
#define CHUNK_RID_BYTES 16
#define CHUNK_AD_BYTES (STORE_ID_BYTES + 8 + CHUNK_RID_BYTES + 8 + 1 + 1)

enum chunk_kind {
	CHUNK_DATA = 1,		/* file contents */
	CHUNK_META = 2,		/* metadata records (deltas or checkpoint) */
	CHUNK_COMMIT = 3,	/* the commit record, last in its segment */
};

/* Where a chunk belongs; all of it goes into the associated data. */
struct chunk_pos {
	const uint8_t *store_id;	/* STORE_ID_BYTES */
	uint64_t segno;
	const uint8_t *seg_rid;		/* CHUNK_RID_BYTES */
	uint64_t offset;		/* of the chunk inside the segment */
	uint8_t kind;			/* enum chunk_kind */
	uint8_t last;			/* 1 if the segment's last chunk */
};

/* Subkeys derived from the backup key K, in sodium_malloc memory. */
struct keys {
	uint8_t data[32];	/* data chunks */
	uint8_t meta[32];	/* metadata and commit chunks */
	uint8_t hdr[32];	/* header key check (keyed BLAKE2b) */
};

/* Derives the subkeys from K into new locked memory (-ENOMEM). */
int keys_new(const uint8_t key[STORE_KEY_BYTES], struct keys **ret) CHUNK_WUR;
/* Wipes and frees; NULL does nothing. */
void keys_free(struct keys *k);

/*
 * Seals len (<= CHUNK_PLAIN_MAX) bytes of plain into out, which must have
 * room for len + CHUNK_OVERHEAD bytes. Returns the sealed length.
 */
int chunk_seal(const uint8_t key[32], const struct chunk_pos *pos,
	       const void *plain, size_t len, uint8_t *out) CHUNK_WUR;

/*
 * Opens sealed_len bytes into out (room for sealed_len - CHUNK_OVERHEAD).
 * Returns the plaintext length, -EBADMSG if the chunk does not
 * authenticate at pos under key (out is then wiped).
 */
int chunk_open(const uint8_t key[32], const struct chunk_pos *pos,
	       const uint8_t *sealed, size_t sealed_len,
	       uint8_t *out) CHUNK_WUR;

#endif

/*
 * store_priv.h - store internals for tests and tools (not for fsops).
 *
 * Lets a test run the store over an objstore it controls (fault hooks,
 * counters) and read the numbers behind the sync-friendliness targets.
 */
#ifndef VFS_STORE_PRIV_H
#define VFS_STORE_PRIV_H

#include "chunk.h"
#include "commit.h"
#include "meta.h"
#include "objstore.h"
#include "store.h"

/* Data block size of the dirty buffer and the largest data chunk. */
#define STORE_BLOCK_SIZE 65536
/* Target size of a segment; dirty data above it is spilled. */
#define STORE_SEG_TARGET (8u << 20)
/* A checkpoint at least every this many commits. */
#define STORE_CKPT_MAX_COMMITS 256
/* Deltas never force a checkpoint below this many bytes. */
#define STORE_CKPT_MIN_BYTES (64u << 10)
/* Cleaner: segments smaller than this are merged; compaction runs when
 * at least STORE_CLEAN_MIN_SEGS are small or sparse (< 50 % live), or dead
 * bytes exceed STORE_CLEAN_DEAD_PCT % of live ones (and at least
 * STORE_CLEAN_DEAD_MIN), and moves about STORE_CLEAN_STEP bytes per
 * pass (copied without the store's lock) out of segments less than
 * STORE_CLEAN_FULL_PCT % live (emptiest first); while it makes progress
 * the next pass follows STORE_CLEAN_AGAIN_MS later. Dead segments are
 * removed (at most STORE_CLEAN_REMOVE_MAX per pass) once the checkpoint
 * that made them unneeded is STORE_CLEAN_GRACE_SEC old. */
#define STORE_CLEAN_SMALL (1u << 20)
#define STORE_CLEAN_MIN_SEGS 16
#define STORE_CLEAN_DEAD_PCT 15
#define STORE_CLEAN_DEAD_MIN (1u << 20)
#define STORE_CLEAN_FULL_PCT 90
#define STORE_CLEAN_STEP (4u << 20)
#define STORE_CLEAN_AGAIN_MS 1000
#define STORE_CLEAN_REMOVE_MAX 256
#define STORE_CLEAN_GRACE_SEC STORE_CLEAN_GRACE_DEFAULT
#define STORE_CLEAN_INTERVAL_MS STORE_CLEAN_INTERVAL_DEFAULT_MS

/* As store_create / store_open, over os (which stays the caller's and
 * must outlive the store). */
int store_create_os(struct objstore *os, const uint8_t key[STORE_KEY_BYTES],
		    const struct store_create_opts *opts) STORE_WUR;
int store_open_os(struct objstore *os, const uint8_t key[STORE_KEY_BYTES],
		  const char *state_dir, unsigned flags,
		  struct store **ret) STORE_WUR;

struct store_stats {
	uint64_t generation;
	uint64_t head_seg;
	uint64_t ckpt_seg;
	uint64_t commits_since_ckpt;
	uint64_t inodes;
	uint64_t segments;    /* in the segment table (hold data) */
	uint64_t spills;      /* data-only segments written */
	uint64_t checkpoints; /* checkpoints written */
	size_t foreign;	      /* foreign names seen at open */
	uint64_t compactions; /* cleaner rewrites */
	uint64_t removed;     /* segments the cleaner removed */
};

void store_get_stats(struct store *s, struct store_stats *ret);

/*
 * One cleaner pass now (store_tick runs one every interval_ms): compacts
 * small or sparse segments (a commit with a checkpoint) and removes dead
 * segments older than the checkpoint once it is grace_sec old. Returns 1
 * if it committed, 0, or -errno; -EROFS on a read-only store.
 */
int store_clean(struct store *s) STORE_WUR;

/*
 * For the key change (rekey.c) only. store_rekey_parts lends the open
 * store's pieces: they stay the store's, valid until the next call into
 * it; the caller changes only extents and the segment table of m (to the
 * new key's copies) before store_rekey_commit. dirty: anything not yet
 * committed (rekey needs a store with none).
 */
struct store_rekey_parts {
	struct objstore *os;
	struct meta *m;
	const struct keys *keys;
	const uint8_t *store_id;
	uint64_t gen;
	uint64_t head_seg;
	uint8_t head_hash[COMMIT_HASH_BYTES];
	uint64_t next_seg;
	int dirty;
};
void store_rekey_parts(struct store *s, struct store_rekey_parts *ret);

/*
 * Makes k2 the store's keys (taken in every case) and commits the
 * whole state as a checkpoint sealed under k2, in a segment numbered at
 * least min_seg, as the child of the current head, WITHOUT raising the
 * high-water mark (the header still names the old key). -EBUSY when
 * something is uncommitted, -EROFS read-only. On any failure the store is
 * unusable (memory holds the new key's state): free it.
 */
int store_rekey_commit(struct store *s, struct keys *k2,
		       uint64_t min_seg) STORE_WUR;

#endif

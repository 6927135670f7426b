/*
 * store_priv.h - store internals for tests and tools (not for fsops).
 *
 * Lets a test run the store over an objstore it controls (fault hooks,
 * counters) and read the numbers behind the sync-friendliness targets.
 */
#ifndef VFS_STORE_PRIV_H
#define VFS_STORE_PRIV_H

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
	uint64_t segments;	/* in the segment table (hold data) */
	uint64_t spills;	/* data-only segments written */
	uint64_t checkpoints;	/* checkpoints written */
	size_t foreign;		/* foreign names seen at open */
};

void store_get_stats(struct store *s, struct store_stats *ret);

#endif

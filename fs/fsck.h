/*
 * fsck.h - verification (and careful repair) of a store in a cloud folder.
 *
 * fsck_run reads the store the way store_open would, but read-only, without
 * taking the lease and without raising this machine's high-water mark, and
 * checks everything it can reach: the header and the key, every segment
 * name in log/ (framing, the last chunk), the commit chain of the newest
 * complete commit, the metadata replay, the tree's invariants, and every
 * data chunk the tree refers to. Each finding is handed to a callback as
 * one sentence naming the object, and for data damage the files (paths)
 * and byte ranges it affects. What the store ignores and never needs
 * (garbage segments, crash leftovers, foreign names such as sync-client
 * conflict copies) is reported as a note, never as damage.
 *
 * With FSCK_F_REPAIR it takes the lease and does only what needs no guessing
 * (docs/cli.md "vaultfs fsck"): it removes temporaries left by a crash and
 * garbage segments the cleaner would remove, and only when the rest of the
 * store is sound. Foreign names are never touched. Damage is never
 * "repaired" silently: it is listed, and nothing is changed.
 */
#ifndef VFS_FSCK_H
#define VFS_FSCK_H

#include <stddef.h>
#include <stdint.h>

#include "meta.h"
#include "objstore.h"
#include "progress.h"
#include "store.h"

#define FSCK_WUR __attribute__((warn_unused_result))

enum fsck_level {
	FSCK_INFO = 0,	   /* what was found (lease, generation) */
	FSCK_NOTE = 1,	   /* debris: normal, harmless, left alone */
	FSCK_DAMAGE = 2,   /* objects missing, failing or inconsistent */
	FSCK_ROLLBACK = 3, /* older than, or forked from, what was seen */
	FSCK_REPAIRED = 4, /* a repair action taken */
};

/* Reports one finding: level, the object it is about (an object name
 * relative to the cloud folder such as "log/00/0000000000000002.seg",
 * "inode N", or the paths of a file in the store, each quoted:
 * "'/a/b', '/c'"), and a sentence. Both live for the call only. */
typedef void (*fsck_report_fn)(void *ctx, enum fsck_level level,
			       const char *object, const char *text);

enum fsck_flags {
	FSCK_F_REPAIR = 1 << 0, /* take the lease, remove safe debris */
};

struct fsck_opts {
	unsigned flags;
	/* This machine's state folder (high-water mark); NULL: not checked. */
	const char *state_dir;
	/* Garbage younger than this is left (readers may still use it);
	 * 0 means STORE_CLEAN_GRACE_SEC. */
	unsigned grace_sec;
	/* Wall clock in seconds; 0 means time(NULL). */
	uint64_t now;
	/* Counts the bytes of objects read; may be NULL. */
	struct progress *progress;
	fsck_report_fn report; /* may be NULL */
	void *ctx;
};

struct fsck_result {
	uint64_t objects;  /* segment objects looked at */
	uint64_t bytes;	   /* bytes of objects read and checked */
	uint64_t generation, head_seg; /* the newest complete commit */
	uint64_t files, dirs, others;  /* in its tree */
	uint64_t file_bytes;	       /* file bytes stored (extents) */
	unsigned notes, damage, rollback;
	unsigned repaired;	 /* objects removed by the repair */
	int writer;		 /* a writer seems to hold the lease */
	int header_ok;		 /* the header parsed and the key fits */
};

/*
 * Checks the store in os with the backup key (STORE_KEY_BYTES; NULL: the
 * header only). Findings go to o->report. Returns 0 when the check ran
 * (the verdict is in *ret: damage, rollback), or: -VFS_E_NOTSTORE (no
 * header and no segments), -VFS_E_VERSION, -VFS_E_WRONGKEY (the key fits
 * neither the header nor any commit), -VFS_E_LEASE (repair while another
 * writer holds the store), -ENOMEM and other -errno for failures of this
 * machine (the cloud folder cannot be listed).
 */
int fsck_run(struct objstore *os, const uint8_t *key,
	     const struct fsck_opts *o, struct fsck_result *ret) FSCK_WUR;

/*
 * The tree checks alone, on a loaded state (for tests and for fsck_run):
 * the root, names naming live inodes, nlink against names, one parent per
 * directory and every inode reachable from the root, extents sorted,
 * inside the file and inside a chunk of a segment in the table, stored
 * and live byte counts. Reports each violation as FSCK_DAMAGE and returns
 * how many were found (or -ENOMEM). Counts files/dirs/others into *ret
 * when ret is not NULL.
 */
int fsck_check_tree(struct meta *m, fsck_report_fn report, void *ctx,
		    struct fsck_result *ret) FSCK_WUR;

#endif

/*
 * objstore.h - the only code that touches the cloud folder.
 *
 * Objects are immutable files below the cloud folder: the header
 * "vaultfs.hdr" and the segments "log/<xx>/<16 hex digits>.seg". An object
 * is written under a temporary name in its final folder (".tmp-*", a name
 * the store ignores), fsync-ed, renamed into place without replacing
 * anything, and the folder is fsync-ed.
 *
 * Tests inject faults through objstore_set_fault(): the hook is called
 * before every step that changes or reads the folder and may fail it (or
 * make a write short), so a test can fail a write or an fsync, or "crash"
 * by failing every step from some point on.
 */
#ifndef VFS_OBJSTORE_H
#define VFS_OBJSTORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/statvfs.h>

#define OBJSTORE_WUR __attribute__((warn_unused_result))
#define OBJSTORE_HEADER_NAME "vaultfs.hdr"
#define OBJSTORE_LEASE_NAME "vaultfs.lease"
/* The rekey journal: exists only while a key change runs (rekey.h). */
#define OBJSTORE_REKEY_NAME "vaultfs.rekey"
/* "log/xx/" + 16 hex + ".seg" + NUL */
#define OBJSTORE_NAME_MAX 32
/* Segments per subfolder of log/ before the next subfolder is used. */
#define OBJSTORE_SEGS_PER_DIR 1024

enum objstore_step {
	OBJSTORE_STEP_MKDIR = 1, /* create a subfolder (+ fsync parent) */
	OBJSTORE_STEP_CREATE,	 /* create the temporary file */
	OBJSTORE_STEP_WRITE,	 /* write its bytes */
	OBJSTORE_STEP_FSYNC,	 /* fsync it */
	OBJSTORE_STEP_RENAME,	 /* rename it into place */
	OBJSTORE_STEP_FSYNC_DIR, /* fsync the folder */
	OBJSTORE_STEP_READ,	 /* read an object */
	OBJSTORE_STEP_LIST,	 /* list objects */
	OBJSTORE_STEP_REMOVE,	 /* remove an object */
};

/*
 * Fault hook: returns 0 to let the step run, a negative errno to fail it
 * without running it, or OBJSTORE_FAULT_SHORT (WRITE only) to write half
 * of the bytes and then fail with -EIO.
 */
#define OBJSTORE_FAULT_SHORT 1
typedef int (*objstore_fault_fn)(void *ctx, enum objstore_step step,
				 const char *name);

struct objstore_stats {
	uint64_t puts;	    /* objects written (renamed into place) */
	uint64_t put_bytes; /* their bytes */
	uint64_t reads;
	uint64_t read_bytes;
};

struct objstore;

/* Opens the cloud folder dir (must exist and be a directory: -ENOTDIR,
 * -ENOENT). */
int objstore_new(const char *dir, struct objstore **ret) OBJSTORE_WUR;
void objstore_free(struct objstore *os);
void objstore_set_fault(struct objstore *os, objstore_fault_fn fn, void *ctx);
void objstore_get_stats(const struct objstore *os, struct objstore_stats *ret);

/* Writes "log/<xx>/<segno as 16 hex>.seg" into buf (OBJSTORE_NAME_MAX). */
void objstore_seg_name(uint64_t segno, char buf[OBJSTORE_NAME_MAX]);

/* Returns 1 if the folder holds no entries at all (hidden ones count),
 * 0 if it does. */
int objstore_is_empty(struct objstore *os) OBJSTORE_WUR;

/*
 * Creates object name (relative, e.g. from objstore_seg_name) holding
 * len bytes, atomically and durably. -EEXIST if it exists already.
 */
int objstore_put(struct objstore *os, const char *name, const void *data,
		 size_t len) OBJSTORE_WUR;

/*
 * As objstore_put, and sets *placed to 1 once the object has its final
 * name (else 0), so a caller can tell a failure before the rename (no
 * object) from one after it (only the folder's fsync failed: the object
 * exists and may or may not survive a crash; see objstore_sync_dir).
 */
int objstore_put_placed(struct objstore *os, const char *name,
			const void *data, size_t len,
			int *placed) OBJSTORE_WUR;

/* Deferred puts pending at most; one more settles them first. */
#define OBJSTORE_DEFER_MAX 32

/*
 * As objstore_put, for an object no commit names yet (a spilled data-only
 * segment): only written under a temporary name in its folder, with its
 * writeback started (sync_file_range), and returns. The next
 * objstore_settle fsyncs it, renames it into place and fsyncs its folder;
 * until then reads, sizes and removal of name find the temporary file. A
 * crash before that leaves only a temporary file, which the next
 * read-write open removes (objstore_list_segments). Thread-safe against
 * the other calls.
 */
int objstore_put_deferred(struct objstore *os, const char *name,
			  const void *data, size_t len) OBJSTORE_WUR;

/*
 * Makes every deferred put durable and named: fsync of each, then the
 * renames, then one fsync per folder, in that order, so a named object is
 * always complete. 0 when none is pending. On failure the ones not done
 * stay pending and the next call retries them.
 */
int objstore_settle(struct objstore *os) OBJSTORE_WUR;

/* Fsyncs the folder holding object name: retries the last step of a put
 * that placed the object. */
int objstore_sync_dir(struct objstore *os, const char *name) OBJSTORE_WUR;

/* As objstore_put, but atomically replaces an existing object (only for
 * the lease, the one object that changes). */
int objstore_replace(struct objstore *os, const char *name, const void *data,
		     size_t len) OBJSTORE_WUR;

/* Size of object name: -ENOENT if missing. */
int objstore_size(struct objstore *os, const char *name,
		  uint64_t *ret) OBJSTORE_WUR;

/* Reads exactly len bytes at off; -ENOENT if missing, -EBADMSG if the
 * object is shorter. */
int objstore_read(struct objstore *os, const char *name, uint64_t off,
		  void *buf, size_t len) OBJSTORE_WUR;

/* Reads a whole object of at most max bytes (-EFBIG above) into a new
 * malloc-ed buffer. */
int objstore_get(struct objstore *os, const char *name, size_t max,
		 uint8_t **ret, size_t *ret_len) OBJSTORE_WUR;

/* Removes object name (missing is not an error). */
int objstore_remove(struct objstore *os, const char *name) OBJSTORE_WUR;

/*
 * Lists the segment numbers present, ascending, in a new malloc-ed array.
 * Names that are not ours (sync-client conflict copies such as
 * "0000000000000001 (1).seg", stray files) are counted in *ret_foreign
 * (may be NULL); temporary ".tmp-*" files are ignored (and, when
 * remove_tmp, removed).
 */
int objstore_list_segments(struct objstore *os, int remove_tmp, uint64_t **ret,
			   size_t *ret_n, size_t *ret_foreign) OBJSTORE_WUR;

/*
 * Calls fn(ctx, name, is_tmp) for every entry of the cloud folder that is
 * not a store object, with its relative name ("log/00/x (1).seg"): at the
 * top anything but the header, the lease and log/; in log/ and its
 * subfolders what objstore_list_segments counts as foreign (folders are
 * named, not entered). is_tmp is 1 for temporaries (".tmp-*": objects
 * being written, or left by a crash). Changes nothing. Stops at and
 * returns fn's first non-zero result; 0 or -errno.
 */
int objstore_list_foreign(struct objstore *os,
			  int (*fn)(void *ctx, const char *name, int is_tmp),
			  void *ctx) OBJSTORE_WUR;

/* statvfs of the folder underneath. */
int objstore_statvfs(struct objstore *os, struct statvfs *ret) OBJSTORE_WUR;

#endif

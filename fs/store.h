/*
 * store.h - the encrypted store as a filesystem of inodes.
 *
 * This is the only interface the FUSE layer (fsops.c) and the CLI use. Below
 * it: cache -> meta/segment -> commit -> objstore (see docs/format.md). The
 * store keeps all metadata in memory, buffers written data, and turns it into
 * sealed, immutable objects in the cloud folder at each commit.
 *
 * Threading: every function may be called from any thread; the store
 * serialises them internally. Errors: 0 or a count on success, -errno or
 * -VFS_E_* (vfs_error.h) on failure. -EBADMSG from a read means an object
 * failed authentication (the FUSE layer answers EIO and logs it).
 * Inode numbers are the store's own and stable across mounts; the root
 * directory is STORE_ROOT_INO.
 */
#ifndef VFS_STORE_H
#define VFS_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/statvfs.h>
#include <time.h>

#include "vfs_error.h"

#define STORE_WUR __attribute__((warn_unused_result))
#define STORE_KEY_BYTES 32
#define STORE_ID_BYTES 16
#define STORE_ROOT_INO 1
#define STORE_NAME_MAX 255
#define STORE_SYMLINK_MAX 4095

struct store;

struct store_attr {
	uint64_t ino;
	uint32_t mode;		/* type and permission bits, as st_mode */
	uint32_t nlink;
	uint32_t uid;
	uint32_t gid;
	uint64_t rdev;
	uint64_t size;
	uint64_t blocks;	/* 512-byte units actually stored */
	struct timespec atime, mtime, ctime;
};

/* What store_setattr should change (bit set). */
enum store_set {
	STORE_SET_MODE = 1 << 0,
	STORE_SET_UID = 1 << 1,
	STORE_SET_GID = 1 << 2,
	STORE_SET_SIZE = 1 << 3,
	STORE_SET_ATIME = 1 << 4,
	STORE_SET_MTIME = 1 << 5,
	STORE_SET_ATIME_NOW = 1 << 6,
	STORE_SET_MTIME_NOW = 1 << 7,
	STORE_SET_CTIME = 1 << 8,
};

enum store_open_flags {
	STORE_READ_ONLY = 1 << 0,
	/* Take the writer's lease even if another machine holds it, once
	 * it has expired (the user says that machine is gone). */
	STORE_BREAK_LEASE = 1 << 1,
	/* Read-write: raise the high-water mark from a writer thread after
	 * each commit instead of inside it (two fsync calls per commit
	 * instead of four; the mark may lag the durable head by a few ms
	 * after a machine crash). store_close waits for it. The mount sets
	 * it; see fs/hwm_async.h. */
	STORE_ASYNC_HWM = 1 << 2,
};

/* Options for store_create; every field may be zero/NULL. */
struct store_create_opts {
	const char *vault_url;	/* hint written to the header */
	const char *account;	/* opaque account handle, hint */
};

/* What can be read from a store header without the key. Strings are
 * NUL-terminated; empty when absent. */
struct store_info {
	uint32_t format_version;
	uint8_t store_id[STORE_ID_BYTES];
	char aead[32];		/* e.g. "xchacha20poly1305" */
	char vault_url[512];
	char account[256];
	/* Key epoch: 0 for a store whose key was never changed; each
	 * completed `vaultfs rekey` adds one. Segments numbered below
	 * epoch_seg were sealed under an earlier key (format version 2). */
	uint32_t key_epoch;
	uint64_t epoch_seg;
};

/*
 * Creates an empty store (header and a first commit holding an empty root
 * directory owned by the caller) in cloud_dir, which must exist and be
 * empty. key is the 256-bit backup key K. Returns -EEXIST if cloud_dir is
 * not empty, -ENOTDIR/-ENOENT if it is not a directory.
 */
int store_create(const char *cloud_dir, const uint8_t key[STORE_KEY_BYTES],
		 const struct store_create_opts *opts) STORE_WUR;

/*
 * Reads the header of the store in cloud_dir without the key.
 * -VFS_E_NOTSTORE if there is none, -VFS_E_VERSION, -VFS_E_DAMAGED.
 */
int store_read_info(const char *cloud_dir, struct store_info *ret) STORE_WUR;

/*
 * Checks key against the header of the store in cloud_dir only (no
 * lease, no state): 0, -VFS_E_WRONGKEY, or as store_read_info. A key of
 * an unfinished key change (docs/format.md, rekey journal) is not
 * followed here: this answers "is this THE key of the store".
 */
int store_check_key(const char *cloud_dir,
		    const uint8_t key[STORE_KEY_BYTES]) STORE_WUR;

/*
 * Opens the store: checks the key against the header (-VFS_E_WRONGKEY),
 * unless read-only takes the single-writer lease (-VFS_E_LEASE when a live
 * process or another machine holds it; see STORE_BREAK_LEASE),
 * finds the newest complete commit, checks it against the generation
 * high-water mark kept in state_dir (-VFS_E_ROLLBACK, -VFS_E_FORK), loads
 * the metadata (-VFS_E_DAMAGED when objects fail authentication or are
 * missing). state_dir is created if needed (0700). On success *ret is the
 * open store; the key is copied into locked memory.
 */
int store_open(const char *cloud_dir, const uint8_t key[STORE_KEY_BYTES],
	       const char *state_dir, unsigned flags,
	       struct store **ret) STORE_WUR;

/*
 * Commits anything dirty (unless read-only) and frees the store. Returns
 * the commit's result; the store is freed in every case. NULL does nothing.
 */
int store_close(struct store *s);

/*
 * Makes everything written so far durable as one atomic commit. Returns 0
 * (also when nothing was dirty). On failure the dirty data is kept and a
 * later commit retries; when only the folder's fsync failed the commit is
 * in place and the retry just syncs the folder. -VFS_E_LEASE for good once
 * store_tick found the lease taken by another writer; -EOVERFLOW when the
 * segment numbers are exhausted (never wraps).
 */
int store_commit(struct store *s) STORE_WUR;

/*
 * Commits if dirty data is older than max_age_ms (or memory is tight).
 * Called about once a second by the daemon. About once a minute it also
 * runs the cleaner (compaction and removal of dead segments, which may
 * commit). Returns 1 if it committed. On a read-only store it follows the
 * writer instead: when newer commits appeared it switches to the newest
 * (inodes the kernel holds stay valid; removed ones read as unlinked) and
 * returns 1; -VFS_E_ROLLBACK/-VFS_E_FORK keep the current state.
 */
int store_tick(struct store *s, unsigned max_age_ms) STORE_WUR;

/*
 * Cleaner settings of a read-write store: dead segments are removed
 * grace_sec after the checkpoint that made them unneeded (readers still
 * on older commits, such as another device whose sync client lags, keep
 * working that long); a cleaner pass runs every interval_ms, and sooner
 * while the last pass made progress. Defaults 3600 s and 60000 ms.
 */
void store_set_clean(struct store *s, unsigned grace_sec, unsigned interval_ms);
#define STORE_CLEAN_GRACE_DEFAULT 3600
#define STORE_CLEAN_INTERVAL_DEFAULT_MS 60000

/* Who holds a store's single-writer lease (store_lease_info). */
struct store_lease {
	int this_machine; /* a process of this machine holds it */
	int alive;	  /* that process runs (always 1 for another machine) */
	int expired;	  /* its expiry has passed */
	uint32_t pid;	  /* the holder's process id */
	uint64_t since;	  /* unix seconds it was taken; 0 when not recorded */
	uint64_t expires; /* unix seconds */
	char host[65];	  /* host name, printable ASCII; "" when not recorded */
};

/*
 * Reads who holds the writer's lease of the store in cloud_dir (the key
 * checks the header and opens the lease's encrypted host name). Returns 1
 * with *ret filled, 0 when there is no valid lease, -VFS_E_NOTSTORE,
 * -VFS_E_WRONGKEY, -VFS_E_DAMAGED, -errno.
 */
int store_lease_info(const char *cloud_dir, const uint8_t key[STORE_KEY_BYTES],
		     struct store_lease *ret) STORE_WUR;

/* Generation of the last commit, and bytes written but not yet committed. */
uint64_t store_generation(struct store *s);
uint64_t store_dirty_bytes(struct store *s);

/*
 * Name operations. Every call that returns an attr for an entry (lookup,
 * mknod, mkdir, symlink, link) counts one kernel lookup on that inode;
 * store_forget gives them back. An inode whose last name is removed stays
 * readable and writable until its lookups are forgotten and it is no longer
 * open, but is never committed again.
 */
int store_lookup(struct store *s, uint64_t parent, const char *name,
		 struct store_attr *ret) STORE_WUR;
void store_forget(struct store *s, uint64_t ino, uint64_t nlookup);
int store_getattr(struct store *s, uint64_t ino,
		  struct store_attr *ret) STORE_WUR;
int store_setattr(struct store *s, uint64_t ino, const struct store_attr *attr,
		  unsigned to_set, struct store_attr *ret) STORE_WUR;
/* Regular files, FIFOs, sockets, device nodes (mode carries the type). */
int store_mknod(struct store *s, uint64_t parent, const char *name,
		uint32_t mode, uint64_t rdev, uint32_t uid, uint32_t gid,
		struct store_attr *ret) STORE_WUR;
int store_mkdir(struct store *s, uint64_t parent, const char *name,
		uint32_t mode, uint32_t uid, uint32_t gid,
		struct store_attr *ret) STORE_WUR;
int store_symlink(struct store *s, uint64_t parent, const char *name,
		  const char *target, uint32_t uid, uint32_t gid,
		  struct store_attr *ret) STORE_WUR;
/* Copies the target (not NUL-terminated) and returns its length, or
 * -ENAMETOOLONG if it does not fit in size. */
int store_readlink(struct store *s, uint64_t ino, char *buf,
		   size_t size) STORE_WUR;
int store_link(struct store *s, uint64_t ino, uint64_t newparent,
	       const char *newname, struct store_attr *ret) STORE_WUR;
int store_unlink(struct store *s, uint64_t parent, const char *name) STORE_WUR;
int store_rmdir(struct store *s, uint64_t parent, const char *name) STORE_WUR;
/* flags: 0, RENAME_NOREPLACE or RENAME_EXCHANGE (linux/fs.h values). */
int store_rename(struct store *s, uint64_t parent, const char *name,
		 uint64_t newparent, const char *newname,
		 unsigned flags) STORE_WUR;

/* Open-file accounting for inodes that lose their last name while open. */
int store_open_inode(struct store *s, uint64_t ino) STORE_WUR;
void store_release_inode(struct store *s, uint64_t ino);

/* Returns bytes read (short only at end of file); holes read as zeros. */
int store_read(struct store *s, uint64_t ino, void *buf, size_t size,
	       uint64_t off) STORE_WUR;
/* Returns bytes written (all of size on success). */
int store_write(struct store *s, uint64_t ino, const void *buf, size_t size,
		uint64_t off) STORE_WUR;

/*
 * Extended attributes (docs/format.md): names in the user., trusted. and
 * security. namespaces; system.* (POSIX ACLs) and unknown namespaces are
 * -EOPNOTSUPP. Names are 1..STORE_XATTR_NAME_MAX bytes (else -ERANGE),
 * values at most STORE_XATTR_SIZE_MAX (else -E2BIG); per inode the names
 * fit one STORE_XATTR_LIST_MAX listing and names plus values stay within
 * STORE_XATTR_TOTAL_MAX (else -ENOSPC). user.* only on regular files and
 * directories (-EPERM to set, -ENODATA to read elsewhere). A change bumps
 * ctime and is persisted at the next commit.
 *
 * setxattr: flags 0, STORE_XATTR_CREATE (-EEXIST if present) or
 * STORE_XATTR_REPLACE (-ENODATA if absent). -EROFS on a read-only store.
 * getxattr: copies the value into buf and returns its length; size 0
 * returns the length only; -ERANGE if it does not fit; -ENODATA if absent.
 * listxattr: the names, each NUL-terminated, in creation order; size 0
 * returns the length only; -ERANGE if they do not fit.
 * removexattr: -ENODATA if absent.
 */
#define STORE_XATTR_CREATE 1  /* = XATTR_CREATE */
#define STORE_XATTR_REPLACE 2 /* = XATTR_REPLACE */
#define STORE_XATTR_NAME_MAX 255
#define STORE_XATTR_SIZE_MAX 65536
#define STORE_XATTR_LIST_MAX 65536
#define STORE_XATTR_TOTAL_MAX (256u << 10)
int store_setxattr(struct store *s, uint64_t ino, const char *name,
		   const void *value, size_t size, int flags) STORE_WUR;
int store_getxattr(struct store *s, uint64_t ino, const char *name, void *buf,
		   size_t size) STORE_WUR;
int store_listxattr(struct store *s, uint64_t ino, char *buf,
		    size_t size) STORE_WUR;
int store_removexattr(struct store *s, uint64_t ino,
		      const char *name) STORE_WUR;

/*
 * fallocate on a regular file. mode 0: the size grows to off + len if
 * that is beyond it (the new range reads as zeros); FALLOC_FL_KEEP_SIZE:
 * the size stays; FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE: the range
 * (within the size) reads as zeros from now on and its stored data is
 * dropped. Nothing is reserved: the cloud folder cannot promise space, so
 * a later write may still fail with ENOSPC. Other modes -EOPNOTSUPP; len
 * 0 -EINVAL; beyond the largest size -EFBIG; directories -EISDIR, other
 * non-regular files -ENODEV; -EROFS on a read-only store.
 */
int store_fallocate(struct store *s, uint64_t ino, int mode, uint64_t off,
		    uint64_t len) STORE_WUR;

/*
 * Lists directory ino from position cookie (0 = start; "." and ".." are
 * included first). fill is called per entry with the cookie of the next
 * entry; when fill returns non-zero, listing stops and store_readdir
 * returns 0. Entries' attrs are not counted as lookups. fill runs with the
 * store locked: it must not call back into the store.
 */
typedef int (*store_fill_fn)(void *ctx, const char *name,
			     const struct store_attr *attr,
			     uint64_t next_cookie);
int store_readdir(struct store *s, uint64_t ino, uint64_t cookie,
		  store_fill_fn fill, void *ctx) STORE_WUR;

/* Sizes as statfs would give them for the mount (block size, free space of
 * the folder underneath, file counts). */
int store_statfs(struct store *s, struct statvfs *ret) STORE_WUR;

/*
 * What a running store can tell about itself (vaultfs status). Plain
 * numbers, no secrets. segments/segment_bytes: the segment objects the
 * state refers to and their sizes; live_bytes: the stored bytes in them
 * still referenced. foreign: names in log/ that are not ours, counted at
 * open.
 */
struct store_status {
	uint64_t generation;
	int64_t commit_time; /* wall clock (seconds) of the head commit */
	uint64_t dirty_bytes;
	uint64_t inodes;
	uint64_t segments;
	uint64_t segment_bytes;
	uint64_t live_bytes;
	uint64_t foreign;
	int read_only;
	int lease_lost; /* another writer took the lease: no more commits */
};

/* Fills *ret. Never fails. */
void store_get_status(struct store *s, struct store_status *ret);

/*
 * What lies in a cloud folder, read without the key (vaultfs status, and
 * the daemon's periodic look for sync debris). Nothing is opened, changed
 * or removed: only listed and stat-ed.
 */
enum store_debris_kind {
	/* A sync client's copy of one of our objects: "x (1)", "x
	 * (conflicted copy ...)", "x.conflict", "x.sync-conflict-...",
	 * a case variant... For a segment it may hold another writer's
	 * commit under the same number (a forked history). */
	STORE_DEBRIS_CONFLICT = 1,
	/* Anything else that is not ours (stray files, misplaced or
	 * malformed object names, symlinks, folders). */
	STORE_DEBRIS_UNKNOWN = 2,
};

struct store_debris {
	const char *name;  /* relative to the cloud folder, e.g. "log/00/x" */
	const char *of;	   /* CONFLICT: the object it copies; else "" */
	enum store_debris_kind kind;
	int is_dir;
	uint64_t size;	   /* bytes (0 for folders) */
	struct timespec mtime;
};

/* Called per debris entry; a non-zero return stops the scan (returned). */
typedef int (*store_debris_fn)(void *ctx, const struct store_debris *d);

struct store_folder {
	int has_header;
	int has_lease;
	struct timespec lease_mtime;
	uint64_t segments;	/* well-named segment objects */
	uint64_t segment_bytes; /* their sizes (unless STORE_SCAN_NO_SIZES) */
	uint64_t highest_seg;
	struct timespec newest_seg_mtime;
	uint64_t temporaries;	/* ".tmp-*": objects being written */
	uint64_t debris;
	uint64_t debris_bytes;
	uint64_t total_bytes;	/* everything listed */
};

/* Skip stat of well-named segments (sizes and times stay 0): the cheap
 * periodic scan of a mount. */
#define STORE_SCAN_NO_SIZES 1u

/*
 * Lists cloud_dir, its log/ folder and log's subfolders; fills *ret and
 * calls fn (may be NULL) for each debris entry (a debris folder is
 * reported, not entered). -ENOENT/-ENOTDIR when cloud_dir is not a
 * folder, -errno on listing errors, or fn's non-zero return.
 */
int store_scan_folder(const char *cloud_dir, unsigned flags,
		      struct store_folder *ret, store_debris_fn fn,
		      void *ctx) STORE_WUR;

/* The highest generation of store_id this machine has seen (its
 * high-water mark in state_dir): -ENOENT when none is recorded. */
int store_seen_generation(const char *state_dir,
			  const uint8_t store_id[STORE_ID_BYTES],
			  uint64_t *ret) STORE_WUR;

/* The kind of a name found in a folder of the store: 0 if ours (or a
 * temporary), else a STORE_DEBRIS_* with the object it copies in of
 * (of_len bytes). where: "" (the top), "log", or "log/xx". Exposed for
 * the unit test. */
int store_debris_classify(const char *where, const char *name, int is_dir,
			  char *of, size_t of_len);

#endif

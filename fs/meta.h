/*
 * meta.h - the store's metadata in memory, and its records.
 *
 * All metadata lives in memory: inodes (hash table), directory entries
 * (hash table by parent and name, plus a per-directory array in cookie
 * order for readdir), per-file extent maps (sorted arrays) and the segment
 * table. Changes are persisted as records (docs/format.md): a commit
 * carries the records of what changed (deltas); a checkpoint is the whole
 * state as records. meta_apply() replays records strictly: a record that
 * does not fit the state is -EBADMSG.
 */
#ifndef VFS_META_H
#define VFS_META_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "chunk.h"

#define META_WUR __attribute__((warn_unused_result))

enum meta_rec_type {
	META_REC_INODE = 1,	/* create or replace an inode's attributes */
	META_REC_INODE_DEL = 2, /* remove an inode (no names left) */
	META_REC_DIRENT_ADD = 3,
	META_REC_DIRENT_DEL = 4,
	META_REC_EXTENT = 5,   /* map a file range to a chunk */
	META_REC_TRUNCATE = 6, /* drop extents at and beyond a size */
	META_REC_SEG = 7,      /* a segment holding data chunks */
	/* Format 2 (header version 2) only: an older vaultfs refuses the
	 * store at its header instead of meeting these. */
	META_REC_XATTR_SET = 8, /* create or replace an extended attribute */
	META_REC_XATTR_DEL = 9, /* remove one (it must exist) */
	META_REC_PUNCH = 10,	/* drop extents inside a range (a hole) */
};

/*
 * Extended attribute limits (docs/format.md, docs/decisions.md). A name is
 * the full name with its namespace ("user.", "trusted.", "security.");
 * per inode the names (with a NUL each) fit in one listxattr buffer of the
 * kernel's maximum, and names plus values stay within META_XATTR_TOTAL_MAX.
 */
#define META_XATTR_NAME_MAX 255
#define META_XATTR_VALUE_MAX 65536
#define META_XATTR_LIST_MAX 65536
#define META_XATTR_TOTAL_MAX (256u << 10)
/* setxattr flags (the values of XATTR_CREATE and XATTR_REPLACE) */
#define META_XATTR_CREATE 1
#define META_XATTR_REPLACE 2

struct mxattr {
	char *name;	/* NUL-terminated */
	uint8_t *value; /* vlen bytes; NULL when vlen is 0 */
	uint32_t namelen, vlen;
};

/* A file range [off, off+len) stored in a data chunk, starting skip bytes
 * into the chunk's plaintext. */
struct extent {
	uint64_t off;
	uint64_t seg;
	uint32_t len;
	uint32_t skip;
	uint32_t coff;	 /* chunk offset inside the segment */
	uint32_t sealed; /* sealed chunk length */
};

struct mdirent {
	struct mdirent *hnext;
	uint64_t parent;
	uint64_t ino;
	uint64_t cookie;
	uint64_t hash;
	uint32_t namelen;
	char name[]; /* NUL-terminated */
};

struct dslot {
	uint64_t cookie;
	struct mdirent *d; /* NULL once removed */
};

struct dblock;

struct minode {
	struct minode *hnext;
	uint64_t ino;
	uint32_t mode, nlink, uid, gid;
	uint64_t rdev, size;
	struct timespec atime, mtime, ctime;
	char *target;	 /* symlinks */
	uint32_t nrefs;	 /* directory entries naming it */
	uint64_t parent; /* directories: the one that names it */
	/* directories */
	struct dslot *slots;
	size_t nslots, slotcap, nentries;
	uint64_t next_cookie;
	/* regular files */
	struct extent *ext;
	size_t next, extcap;
	uint64_t stored; /* bytes covered by extents */
	/* extended attributes, in the order they were created */
	struct mxattr *xa;
	uint32_t nxa, xacap;
	uint32_t xa_list;  /* sum of namelen + 1 */
	uint32_t xa_total; /* sum of namelen + 1 + vlen */
	/* runtime state of the store, never persisted */
	uint64_t nlookup;
	uint32_t nopen;
	int attr_dirty;
	int listed;	      /* on the store's list of changed inodes */
	int deleted;	      /* no names left: never committed again */
	struct dblock *dirty; /* sorted by block index */
	size_t ndirty, dirtycap;
};

struct segent {
	uint64_t segno;
	uint8_t rid[CHUNK_RID_BYTES];
	uint64_t size;
	uint64_t live; /* bytes still referenced by extents */
};

struct meta {
	struct minode **itab;
	size_t ibuckets, ninodes;
	struct mdirent **dtab;
	size_t dbuckets, ndirents;
	struct segent *segs; /* sorted by segno */
	size_t nsegs, segcap;
	uint64_t max_ino; /* highest inode number seen */
	int format2;	  /* a format-2 record was applied */
	uint8_t hkey[16]; /* SipHash key for the name table */
};

/* First dirent cookie: 0 and 1 are "." and ".." in readdir. */
#define META_FIRST_COOKIE 2

int meta_new(struct meta **ret) META_WUR;
/* Frees everything, dirty blocks excluded (the store frees those first). */
void meta_free(struct meta *m);

struct minode *meta_inode(struct meta *m, uint64_t ino);
/* Creates inode ino (must not exist) with mode; other fields zero. */
int meta_inode_new(struct meta *m, uint64_t ino, uint32_t mode,
		   struct minode **ret) META_WUR;
/* Moves ip from one table to another (ino must be free there), without
 * its directory entries. */
void meta_inode_move(struct meta *from, struct meta *to, struct minode *ip);
/* Removes and frees ino (dirty blocks must be gone). */
void meta_inode_remove(struct meta *m, struct minode *ip);

/* Checks a name: 1..255 bytes, no '/', no NUL, not "." or "..". */
int meta_name_check(const char *name, size_t len) META_WUR;
struct mdirent *meta_dirent_find(struct meta *m, uint64_t parent,
				 const char *name, size_t len);
int meta_dirent_add(struct meta *m, struct minode *dir, const char *name,
		    size_t len, struct minode *child) META_WUR;
void meta_dirent_remove(struct meta *m, struct minode *dir, struct mdirent *d);
/* First entry of dir with cookie >= cookie, or NULL. */
struct mdirent *meta_dir_next(struct minode *dir, uint64_t cookie);

/* Maps [e->off, e->off+e->len) to e, replacing what was there. */
int meta_extent_set(struct meta *m, struct minode *ip,
		    const struct extent *e) META_WUR;
/* Drops the extents (and parts) at and beyond size. */
int meta_truncate(struct meta *m, struct minode *ip, uint64_t size) META_WUR;
/* Index of the first extent ending after off (ip->next if none). */
size_t meta_extent_find(const struct minode *ip, uint64_t off);
/* Drops every extent of ip (before removing it). */
void meta_extents_clear(struct meta *m, struct minode *ip);

/* Drops the extents (and parts) inside [off, end): they read as zeros. */
int meta_punch(struct meta *m, struct minode *ip, uint64_t off,
	       uint64_t end) META_WUR;

/*
 * Checks an extended attribute name: -ERANGE when empty or longer than
 * META_XATTR_NAME_MAX, -EOPNOTSUPP outside the user., trusted. and
 * security. namespaces (system.* included: no POSIX ACLs), -EINVAL for a
 * bare namespace prefix ("user.") or a NUL byte.
 */
int meta_xattr_name_check(const char *name, size_t len) META_WUR;
/* The attribute called name of ip, or NULL. */
const struct mxattr *meta_xattr_find(const struct minode *ip, const char *name,
				     size_t len);
/*
 * Creates or replaces an attribute (the value is copied). flags:
 * META_XATTR_CREATE (-EEXIST if it exists), META_XATTR_REPLACE (-ENODATA
 * if not). Errors as meta_xattr_name_check, -E2BIG for a value over
 * META_XATTR_VALUE_MAX, -EPERM for user.* on anything but regular files
 * and directories, -ENOSPC beyond the per-inode limits, -ENOMEM. On
 * failure ip is unchanged.
 */
int meta_xattr_set(struct minode *ip, const char *name, size_t len,
		   const void *value, size_t vlen, int flags) META_WUR;
/* Removes an attribute: -ENODATA if there is none of that name. */
int meta_xattr_remove(struct minode *ip, const char *name, size_t len) META_WUR;
/* Drops (and wipes) every attribute of ip. */
void meta_xattr_clear(struct minode *ip);

struct segent *meta_seg(struct meta *m, uint64_t segno);
int meta_seg_add(struct meta *m, uint64_t segno,
		 const uint8_t rid[CHUNK_RID_BYTES], uint64_t size) META_WUR;
/* Forgets segment segno (no extent may refer to it). */
void meta_seg_remove(struct meta *m, uint64_t segno);

/* Record writers (errors stick in w). */
void meta_rec_inode(struct bufw *w, const struct minode *ip);
void meta_rec_inode_del(struct bufw *w, uint64_t ino);
void meta_rec_dirent_add(struct bufw *w, uint64_t parent, const char *name,
			 size_t len, uint64_t ino);
void meta_rec_dirent_del(struct bufw *w, uint64_t parent, const char *name,
			 size_t len);
void meta_rec_extent(struct bufw *w, uint64_t ino, const struct extent *e);
void meta_rec_truncate(struct bufw *w, uint64_t ino, uint64_t size);
void meta_rec_seg(struct bufw *w, const struct segent *se);
void meta_rec_xattr_set(struct bufw *w, uint64_t ino, const struct mxattr *x);
void meta_rec_xattr_del(struct bufw *w, uint64_t ino, const char *name,
			size_t len);
void meta_rec_punch(struct bufw *w, uint64_t ino, uint64_t off, uint64_t len);

/*
 * Applies a stream of records. -EBADMSG for malformed records or ones
 * that contradict the state (the state is then partly changed: callers
 * discard it), -ENOMEM.
 */
int meta_apply(struct meta *m, const uint8_t *p, size_t n) META_WUR;

/* Writes the whole state (live inodes only) as records into w. */
int meta_checkpoint(struct meta *m, struct bufw *w) META_WUR;

/* Calls fn for every inode (also deleted ones still in memory); stops
 * at and returns the first non-zero result. */
int meta_foreach(struct meta *m, int (*fn)(void *ctx, struct minode *ip),
		 void *ctx);

#endif

/*
 * fsops.c - the FUSE low-level operations table of vaultfs.
 *
 * Inode-based like libfuse's example/passthrough_ll.c, but every operation
 * goes to the store (store.h): FUSE inode numbers are the store's inode
 * numbers and lookup counts are kept by the store. This is the only file
 * that includes fuse_lowlevel.h; it translates store errors into the errno
 * a kernel file system would give (-EBADMSG and the VFS_E_* codes become
 * EIO, logged) and libfuse's log lines into log.h.
 *
 * Requests are served by one thread (the store serialises everything
 * anyway). Permission checks are the kernel's (default_permissions).
 * Locks (fcntl, flock) are not implemented here, so the kernel keeps them
 * locally, which is right for a single-machine mount. Extended attributes
 * and fallocate (no reservation: the cloud folder cannot promise space)
 * are the store's; system.* (POSIX ACLs) answers EOPNOTSUPP.
 */
#define FUSE_USE_VERSION 35
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <fuse_lowlevel.h>

#include "fsops.h"
#include "log.h"
#include "vfs_error.h"

#define FSOPS_TIMEOUT 1.0
#define FSOPS_BLKSIZE 4096
/* Largest read we serve in one request (the kernel asks max 1 MiB). */
#define FSOPS_READ_MAX (4u << 20)

#if STORE_ROOT_INO != FUSE_ROOT_ID
#error "the store's root inode must be FUSE's"
#endif

struct fsops {
	struct store *s;
	struct fuse_session *se;
	int read_only;
	int mounted;
	int signals;
	int destroyed;
	int commit_result;
};

static struct fsops *fsops_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/*
 * The one place store errors become errnos for the kernel. Authentication
 * failures and store conditions are logged: the application only sees EIO.
 */
static int fsops_errno(const char *op, uint64_t ino, int r)
{
	if (r >= 0)
		return 0;
	if (r == -EBADMSG || r == -VFS_E_DAMAGED) {
		log_error("%s: inode %" PRIu64 ": store data failed "
			  "authentication or is missing; answering EIO",
			  op, ino);
		return EIO;
	}
	if (-r >= VFS_E_BASE) {
		log_error("%s: inode %" PRIu64 ": %s; answering EIO", op, ino,
			  vfs_strerror(r));
		return EIO;
	}
	if (r == -EIO)
		log_error("%s: inode %" PRIu64 ": I/O error", op, ino);
	else
		log_debug("%s: inode %" PRIu64 ": %s", op, ino, strerror(-r));
	return -r;
}

static void fsops_stat(const struct store_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blocks = (blkcnt_t)a->blocks;
	st->st_blksize = FSOPS_BLKSIZE;
	st->st_atim = a->atime;
	st->st_mtim = a->mtime;
	st->st_ctim = a->ctime;
}

static void fsops_reply_entry(fuse_req_t req, const struct store_attr *a)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.ino = a->ino;
	e.generation = 0;
	e.attr_timeout = FSOPS_TIMEOUT;
	e.entry_timeout = FSOPS_TIMEOUT;
	fsops_stat(a, &e.attr);
	if (fuse_reply_entry(req, &e) != 0) {
		/* The kernel did not take the lookup (the request was
		 * interrupted): give it back. */
		store_forget(fsops_of(req)->s, a->ino, 1);
	}
}

static int fsops_name_ok(const char *name)
{
	size_t n = strnlen(name, STORE_NAME_MAX + 1);

	if (n == 0)
		return -ENOENT;
	if (n > STORE_NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* ---- session lifecycle ---- */

static void fsops_init(void *userdata, struct fuse_conn_info *conn)
{
	/* The kernel clears setuid/setgid bits on write/truncate/chown
	 * itself and sends us the mode change. */
	conn->want &= ~(unsigned)FUSE_CAP_HANDLE_KILLPRIV;
	/* No writeback cache: each write reaches the store in order. */
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	/* libfuse turns this on by default: the kernel would then pass
	 * O_TRUNC to open and leave the truncation to us. Without it the
	 * kernel truncates with a setattr, which the store handles. */
	conn->want &= ~(unsigned)FUSE_CAP_ATOMIC_O_TRUNC;
	log_info("FUSE session started (protocol %u.%u)", conn->proto_major,
		 conn->proto_minor);
}

static void fsops_destroy(void *userdata)
{
	struct fsops *f = userdata;
	int r;

	f->destroyed = 1;
	if (f->read_only) {
		f->commit_result = 0;
		return;
	}
	r = store_commit(f->s);
	f->commit_result = r;
	if (r < 0)
		log_error("final commit failed: %s", vfs_strerror(r));
	else
		log_info("final commit done, generation %" PRIu64,
			 store_generation(f->s));
}

/* ---- names ---- */

static void fsops_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct store_attr a;
	int r;

	r = fsops_name_ok(name);
	if (r == 0)
		r = store_lookup(fsops_of(req)->s, parent, name, &a);
	if (r < 0) {
		fuse_reply_err(req, fsops_errno("lookup", parent, r));
		return;
	}
	fsops_reply_entry(req, &a);
}

static void fsops_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	store_forget(fsops_of(req)->s, ino, nlookup);
	fuse_reply_none(req);
}

static void fsops_forget_multi(fuse_req_t req, size_t count,
			       struct fuse_forget_data *forgets)
{
	struct store *s = fsops_of(req)->s;

	for (size_t i = 0; i < count; i++)
		store_forget(s, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void fsops_getattr(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct store_attr a;
	struct stat st;
	int r;

	r = store_getattr(fsops_of(req)->s, ino, &a);
	if (r < 0) {
		fuse_reply_err(req, fsops_errno("getattr", ino, r));
		return;
	}
	fsops_stat(&a, &st);
	fuse_reply_attr(req, &st, FSOPS_TIMEOUT);
}

static void fsops_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *st,
			  int to_set, struct fuse_file_info *fi)
{
	struct fsops *f = fsops_of(req);
	struct store_attr a, out;
	struct stat rst;
	unsigned set = 0;
	int r;

	if (f->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	memset(&a, 0, sizeof(a));
	a.ino = ino;
	if (to_set & FUSE_SET_ATTR_MODE) {
		set |= STORE_SET_MODE;
		a.mode = st->st_mode;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		set |= STORE_SET_UID;
		a.uid = st->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		set |= STORE_SET_GID;
		a.gid = st->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (st->st_size < 0) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		set |= STORE_SET_SIZE;
		a.size = (uint64_t)st->st_size;
	}
	if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
		set |= STORE_SET_ATIME_NOW;
	} else if (to_set & FUSE_SET_ATTR_ATIME) {
		set |= STORE_SET_ATIME;
		a.atime = st->st_atim;
	}
	if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
		set |= STORE_SET_MTIME_NOW;
	} else if (to_set & FUSE_SET_ATTR_MTIME) {
		set |= STORE_SET_MTIME;
		a.mtime = st->st_mtim;
	}
	if (to_set & FUSE_SET_ATTR_CTIME) {
		set |= STORE_SET_CTIME;
		a.ctime = st->st_ctim;
	}
	r = store_setattr(f->s, ino, &a, set, &out);
	if (r < 0) {
		fuse_reply_err(req, fsops_errno("setattr", ino, r));
		return;
	}
	fsops_stat(&out, &rst);
	fuse_reply_attr(req, &rst, FSOPS_TIMEOUT);
}

/* New entries get the caller's uid, and the gid of a setgid parent. */
static int fsops_owner(fuse_req_t req, fuse_ino_t parent, uint32_t *mode,
		       uint32_t *uid, uint32_t *gid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct store_attr pa;
	int r;

	*uid = ctx->uid;
	*gid = ctx->gid;
	r = store_getattr(fsops_of(req)->s, parent, &pa);
	if (r < 0)
		return r;
	if (pa.mode & S_ISGID) {
		*gid = pa.gid;
		if (mode && S_ISDIR(*mode))
			*mode |= S_ISGID;
	}
	return 0;
}

static void fsops_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode, dev_t rdev)
{
	struct fsops *f = fsops_of(req);
	struct store_attr a;
	uint32_t m = mode, uid, gid;
	int r;

	if (f->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	r = fsops_name_ok(name);
	if (r == 0)
		r = fsops_owner(req, parent, &m, &uid, &gid);
	if (r == 0)
		r = store_mknod(f->s, parent, name, m, rdev, uid, gid, &a);
	if (r < 0) {
		fuse_reply_err(req, fsops_errno("mknod", parent, r));
		return;
	}
	fsops_reply_entry(req, &a);
}

static void fsops_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode)
{
	struct fsops *f = fsops_of(req);
	struct store_attr a;
	uint32_t m = (mode & 07777) | S_IFDIR, uid, gid;
	int r;

	if (f->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	r = fsops_name_ok(name);
	if (r == 0)
		r = fsops_owner(req, parent, &m, &uid, &gid);
	if (r == 0)
		r = store_mkdir(f->s, parent, name, m, uid, gid, &a);
	if (r < 0) {
		fuse_reply_err(req, fsops_errno("mkdir", parent, r));
		return;
	}
	fsops_reply_entry(req, &a);
}

static void fsops_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			  const char *name)
{
	struct fsops *f = fsops_of(req);
	struct store_attr a;
	uint32_t uid, gid;
	int r;

	if (f->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	r = fsops_name_ok(name);
	if (r == 0 && strnlen(link, STORE_SYMLINK_MAX + 1) > STORE_SYMLINK_MAX)
		r = -ENAMETOOLONG;
	if (r == 0)
		r = fsops_owner(req, parent, NULL, &uid, &gid);
	if (r == 0)
		r = store_symlink(f->s, parent, name, link, uid, gid, &a);
	if (r < 0) {
		fuse_reply_err(req, fsops_errno("symlink", parent, r));
		return;
	}
	fsops_reply_entry(req, &a);
}

static void fsops_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[STORE_SYMLINK_MAX + 1];
	int r;

	r = store_readlink(fsops_of(req)->s, ino, buf, STORE_SYMLINK_MAX);
	if (r < 0) {
		fuse_reply_err(req, fsops_errno("readlink", ino, r));
		return;
	}
	buf[r] = '\0';
	fuse_reply_readlink(req, buf);
}

static void fsops_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		       const char *newname)
{
	struct fsops *f = fsops_of(req);
	struct store_attr a;
	int r;

	if (f->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	r = fsops_name_ok(newname);
	if (r == 0)
		r = store_link(f->s, ino, newparent, newname, &a);
	if (r < 0) {
		fuse_reply_err(req, fsops_errno("link", ino, r));
		return;
	}
	fsops_reply_entry(req, &a);
}

static void fsops_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fsops *f = fsops_of(req);
	int r;

	if (f->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	r = fsops_name_ok(name);
	if (r == 0)
		r = store_unlink(f->s, parent, name);
	fuse_reply_err(req, fsops_errno("unlink", parent, r));
}

static void fsops_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fsops *f = fsops_of(req);
	int r;

	if (f->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	r = fsops_name_ok(name);
	if (r == 0)
		r = store_rmdir(f->s, parent, name);
	fuse_reply_err(req, fsops_errno("rmdir", parent, r));
}

static void fsops_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			 fuse_ino_t newparent, const char *newname,
			 unsigned int flags)
{
	struct fsops *f = fsops_of(req);
	int r;

	if (f->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	/* RENAME_WHITEOUT is for overlay file systems only. */
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE) ||
	    flags == (RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	r = fsops_name_ok(name);
	if (r == 0)
		r = fsops_name_ok(newname);
	if (r == 0)
		r = store_rename(f->s, parent, name, newparent, newname, flags);
	fuse_reply_err(req, fsops_errno("rename", parent, r));
}

/* ---- files ---- */

static void fsops_open(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fsops *f = fsops_of(req);
	int r;

	if (f->read_only && (fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		return;
	}
	r = store_open_inode(f->s, ino);
	if (r < 0) {
		fuse_reply_err(req, fsops_errno("open", ino, r));
		return;
	}
	fi->fh = ino;
	/* Only this mount writes the store; a read-only mount follows
	 * other writers' commits, so it must not keep stale pages. */
	fi->keep_cache = !f->read_only;
	if (fuse_reply_open(req, fi) != 0)
		store_release_inode(f->s, ino);
}

static void fsops_create(fuse_req_t req, fuse_ino_t parent, const char *name,
			 mode_t mode, struct fuse_file_info *fi)
{
	struct fsops *f = fsops_of(req);
	struct fuse_entry_param e;
	struct store_attr a;
	uint32_t m = (mode & 07777) | S_IFREG, uid, gid;
	int r;

	if (f->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	r = fsops_name_ok(name);
	if (r == 0)
		r = fsops_owner(req, parent, &m, &uid, &gid);
	if (r == 0)
		r = store_mknod(f->s, parent, name, m, 0, uid, gid, &a);
	if (r < 0) {
		fuse_reply_err(req, fsops_errno("create", parent, r));
		return;
	}
	r = store_open_inode(f->s, a.ino);
	if (r < 0) {
		store_forget(f->s, a.ino, 1);
		fuse_reply_err(req, fsops_errno("create", a.ino, r));
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = a.ino;
	e.attr_timeout = FSOPS_TIMEOUT;
	e.entry_timeout = FSOPS_TIMEOUT;
	fsops_stat(&a, &e.attr);
	fi->fh = a.ino;
	fi->keep_cache = 1;
	if (fuse_reply_create(req, &e, fi) != 0) {
		store_release_inode(f->s, a.ino);
		store_forget(f->s, a.ino, 1);
	}
}

static void fsops_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	char *buf;
	int r;

	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (size > FSOPS_READ_MAX)
		size = FSOPS_READ_MAX;
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	r = store_read(fsops_of(req)->s, ino, buf, size, (uint64_t)off);
	if (r < 0)
		fuse_reply_err(req, fsops_errno("read", ino, r));
	else
		fuse_reply_buf(req, buf, (size_t)r);
	free(buf);
}

static void fsops_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fsops *f = fsops_of(req);
	int r;

	if (f->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (off < 0 || size > INT32_MAX) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	r = store_write(f->s, ino, buf, size, (uint64_t)off);
	if (r < 0) {
		fuse_reply_err(req, fsops_errno("write", ino, r));
		return;
	}
	fuse_reply_write(req, (size_t)r);
}

static void fsops_flush(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	/* close() is not a commit; the daemon commits within seconds and
	 * fsync commits at once. */
	fuse_reply_err(req, 0);
}

static void fsops_release(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	store_release_inode(fsops_of(req)->s, ino);
	fuse_reply_err(req, 0);
}

static void fsops_commit(fuse_req_t req, fuse_ino_t ino, const char *op)
{
	struct fsops *f = fsops_of(req);
	int r = 0;

	if (!f->read_only)
		r = store_commit(f->s);
	if (r < 0)
		log_error("%s: commit failed: %s", op, vfs_strerror(r));
	fuse_reply_err(req, r < 0 ? fsops_errno(op, ino, r) : 0);
}

static void fsops_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	fsops_commit(req, ino, "fsync");
}

/* ---- directories ---- */

static void fsops_opendir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct fsops *f = fsops_of(req);
	struct store_attr a;
	int r;

	r = store_getattr(f->s, ino, &a);
	if (r == 0 && !S_ISDIR(a.mode))
		r = -ENOTDIR;
	if (r == 0)
		r = store_open_inode(f->s, ino);
	if (r < 0) {
		fuse_reply_err(req, fsops_errno("opendir", ino, r));
		return;
	}
	fi->fh = ino;
	if (fuse_reply_open(req, fi) != 0)
		store_release_inode(f->s, ino);
}

struct fsops_dirbuf {
	fuse_req_t req;
	char *buf;
	size_t size;
	size_t used;
};

static int fsops_fill(void *ctx, const char *name,
		      const struct store_attr *attr, uint64_t next_cookie)
{
	struct fsops_dirbuf *d = ctx;
	struct stat st;
	size_t n;

	memset(&st, 0, sizeof(st));
	st.st_ino = attr->ino;
	st.st_mode = attr->mode;
	n = fuse_add_direntry(d->req, d->buf + d->used, d->size - d->used, name,
			      &st, (off_t)next_cookie);
	if (n > d->size - d->used)
		return 1; /* full: this entry goes into the next request */
	d->used += n;
	return 0;
}

static void fsops_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	struct fsops_dirbuf d;
	int r;

	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (size > FSOPS_READ_MAX)
		size = FSOPS_READ_MAX;
	memset(&d, 0, sizeof(d));
	d.req = req;
	d.size = size;
	d.buf = malloc(size ? size : 1);
	if (!d.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	r = store_readdir(fsops_of(req)->s, ino, (uint64_t)off, fsops_fill, &d);
	if (r < 0)
		fuse_reply_err(req, fsops_errno("readdir", ino, r));
	else
		fuse_reply_buf(req, d.buf, d.used);
	free(d.buf);
}

static void fsops_releasedir(fuse_req_t req, fuse_ino_t ino,
			     struct fuse_file_info *fi)
{
	store_release_inode(fsops_of(req)->s, ino);
	fuse_reply_err(req, 0);
}

static void fsops_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			   struct fuse_file_info *fi)
{
	fsops_commit(req, ino, "fsyncdir");
}

static void fsops_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;
	int r;

	r = store_statfs(fsops_of(req)->s, &sv);
	if (r < 0) {
		fuse_reply_err(req, fsops_errno("statfs", ino, r));
		return;
	}
	if (sv.f_namemax == 0 || sv.f_namemax > STORE_NAME_MAX)
		sv.f_namemax = STORE_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

/* ---- extended attributes, fallocate ---- */

static void fsops_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			   const char *value, size_t size, int flags)
{
	struct fsops *f = fsops_of(req);
	int r;

	if (f->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	r = store_setxattr(f->s, ino, name, value, size, flags);
	fuse_reply_err(req, fsops_errno("setxattr", ino, r));
}

static void fsops_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			   size_t size)
{
	struct store *s = fsops_of(req)->s;
	char *buf = NULL;
	int r;

	if (size == 0) {
		r = store_getxattr(s, ino, name, NULL, 0);
		if (r < 0)
			fuse_reply_err(req, fsops_errno("getxattr", ino, r));
		else
			fuse_reply_xattr(req, (size_t)r);
		return;
	}
	if (size > STORE_XATTR_SIZE_MAX)
		size = STORE_XATTR_SIZE_MAX;
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	r = store_getxattr(s, ino, name, buf, size);
	if (r < 0)
		fuse_reply_err(req, fsops_errno("getxattr", ino, r));
	else
		fuse_reply_buf(req, buf, (size_t)r);
	free(buf);
}

/*
 * Names of ino the caller may see: trusted.* only for root (a local file
 * system lists them only to CAP_SYS_ADMIN; the kernel filters reads of
 * them itself, but not the list a FUSE file system returns).
 */
static int fsops_xattr_names(fuse_req_t req, fuse_ino_t ino, char **ret,
			     size_t *ret_len)
{
	struct store *s = fsops_of(req)->s;
	int privileged = fuse_req_ctx(req)->uid == 0;
	char *all = NULL;
	size_t at = 0;
	int r, tries = 0;

	do {
		free(all);
		all = NULL;
		r = store_listxattr(s, ino, NULL, 0);
		if (r < 0)
			return r;
		all = malloc((size_t)r + 1);
		if (!all)
			return -ENOMEM;
		r = store_listxattr(s, ino, all, (size_t)r + 1);
	} while (r == -ERANGE && ++tries < 3);
	if (r < 0) {
		free(all);
		return r;
	}
	for (size_t i = 0; i < (size_t)r;) {
		size_t n = strnlen(all + i, (size_t)r - i) + 1;

		if (privileged || strncmp(all + i, "trusted.", 8) != 0) {
			memmove(all + at, all + i, n);
			at += n;
		}
		i += n;
	}
	*ret = all;
	*ret_len = at;
	return 0;
}

static void fsops_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char *names = NULL;
	size_t len;
	int r;

	r = fsops_xattr_names(req, ino, &names, &len);
	if (r < 0)
		fuse_reply_err(req, fsops_errno("listxattr", ino, r));
	else if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, names, len);
	free(names);
}

static void fsops_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct fsops *f = fsops_of(req);
	int r;

	if (f->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	r = store_removexattr(f->s, ino, name);
	fuse_reply_err(req, fsops_errno("removexattr", ino, r));
}

static void fsops_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			    off_t offset, off_t length,
			    struct fuse_file_info *fi)
{
	struct fsops *f = fsops_of(req);
	int r;

	if (f->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (offset < 0 || length <= 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	r = store_fallocate(f->s, ino, mode, (uint64_t)offset,
			    (uint64_t)length);
	fuse_reply_err(req, fsops_errno("fallocate", ino, r));
}

static const struct fuse_lowlevel_ops fsops_ops = {
    .init = fsops_init,
    .destroy = fsops_destroy,
    .lookup = fsops_lookup,
    .forget = fsops_forget,
    .forget_multi = fsops_forget_multi,
    .getattr = fsops_getattr,
    .setattr = fsops_setattr,
    .readlink = fsops_readlink,
    .mknod = fsops_mknod,
    .mkdir = fsops_mkdir,
    .unlink = fsops_unlink,
    .rmdir = fsops_rmdir,
    .symlink = fsops_symlink,
    .rename = fsops_rename,
    .link = fsops_link,
    .open = fsops_open,
    .read = fsops_read,
    .write = fsops_write,
    .flush = fsops_flush,
    .release = fsops_release,
    .fsync = fsops_fsync,
    .opendir = fsops_opendir,
    .readdir = fsops_readdir,
    .releasedir = fsops_releasedir,
    .fsyncdir = fsops_fsyncdir,
    .statfs = fsops_statfs,
    .setxattr = fsops_setxattr,
    .getxattr = fsops_getxattr,
    .listxattr = fsops_listxattr,
    .removexattr = fsops_removexattr,
    .create = fsops_create,
    .fallocate = fsops_fallocate,
};

/* ---- session ---- */

static void fsops_log(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char line[512];
	enum log_level l;
	size_t n;

	if (level <= FUSE_LOG_ERR)
		l = LOG_LVL_ERROR;
	else if (level <= FUSE_LOG_WARNING)
		l = LOG_LVL_WARN;
	else if (level <= FUSE_LOG_INFO)
		l = LOG_LVL_INFO;
	else
		l = LOG_LVL_DEBUG;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_msg(l, "libfuse", "%s", line);
}

int fsops_new(struct store *s, const struct fsops_opts *o, struct fsops **ret)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fsops *f;
	int r;

	fuse_set_log_func(fsops_log);
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->s = s;
	f->read_only = o->read_only;

	if (fuse_opt_add_arg(&args, "vaultfs") < 0 ||
	    fuse_opt_add_arg(&args, "-o") < 0 ||
	    fuse_opt_add_arg(&args, o->read_only
					? "default_permissions,fsname=vaultfs,"
					  "subtype=vaultfs,ro"
					: "default_permissions,fsname=vaultfs,"
					  "subtype=vaultfs") < 0 ||
	    (o->fuse_opts && (fuse_opt_add_arg(&args, "-o") < 0 ||
			      fuse_opt_add_arg(&args, o->fuse_opts) < 0)) ||
	    (o->debug && fuse_opt_add_arg(&args, "-d") < 0)) {
		r = -ENOMEM;
		goto out;
	}
	f->se = fuse_session_new(&args, &fsops_ops, sizeof(fsops_ops), f);
	if (!f->se) {
		r = -EINVAL;
		goto out;
	}
	if (fuse_set_signal_handlers(f->se) != 0) {
		r = -EIO;
		goto out;
	}
	f->signals = 1;
	if (fuse_session_mount(f->se, o->mountpoint) != 0) {
		r = -VFS_E_MOUNTPOINT;
		goto out;
	}
	f->mounted = 1;
	*ret = f;
	f = NULL; /* transferred */
	r = 0;
out:
	fuse_opt_free_args(&args);
	if (f) {
		if (f->signals)
			fuse_remove_signal_handlers(f->se);
		if (f->se)
			fuse_session_destroy(f->se);
		free(f);
	}
	return r;
}

int fsops_run(struct fsops *f)
{
	int r = fuse_session_loop(f->se);

	return r > 0 ? -EIO : r;
}

int fsops_free(struct fsops *f)
{
	int r;

	if (!f)
		return 0;
	if (f->signals)
		fuse_remove_signal_handlers(f->se);
	if (f->mounted)
		fuse_session_unmount(f->se);
	/* Calls fsops_destroy (the final commit) if the kernel did not. */
	fuse_session_destroy(f->se);
	r = f->commit_result;
	free(f);
	return r;
}

/*
 * cmd_restore.c - 'vaultfs restore CLOUD_DIR DEST' (cmd_restore.h).
 *
 * Opens the store read-only (no lease: the store may be mounted elsewhere),
 * walks the tree through store.h and writes it below DEST with openat() and
 * friends relative to directory fds (no path length limit, no symlink in
 * DEST is ever followed):
 *
 *   regular files  written as DEST/dir/<temporary name>, zero blocks left
 *                  as holes, owner (root only), mode and times set, fsync-ed,
 *                  then renamed to their name: a file under its own name is
 *                  complete;
 *   hard links     linked to the first name restored (store inode numbers);
 *   symlinks       as symlinks (target verbatim, never followed);
 *   FIFOs, sockets, device nodes (root only) with mknodat;
 *   directories    made 0700, filled, then given their owner, mode and
 *                  times (after their contents, which change the mtime).
 *
 * Extended attributes of regular files and directories are copied after
 * the owner and mode (chown clears security.capability): user.* always;
 * trusted.* and security.* only when the destination accepts them (as
 * root; an LSM may refuse security.*). One that cannot be set is counted
 * and reported, never fatal: the data is restored all the same. Symlinks
 * and special files carry no user.* attributes in the store (Linux has
 * none there); their trusted.* and security.* attributes are not copied
 * (reported). A resumed run also removes user.* and trusted.* attributes
 * the store no longer has; security.* on the destination is left alone
 * (it may be the destination's own label).
 *
 * Resuming: before writing into DEST, a journal naming DEST, the store and
 * its generation is written to STATE_DIR/restore/<hash of DEST>.journal.
 * A DEST that is not empty is accepted only with such a journal (refused
 * otherwise). A rerun walks the tree again: a regular file that already has
 * its size and mtime is done (a file only gets its name once complete);
 * everything else is cheap and redone; names in DEST that the store does not
 * have (temporaries, entries deleted in the store since) are removed. At
 * the end the file system is synced (syncfs) and the journal removed.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "cmd_restore.h"
#include "cmdutil.h"
#include "progress.h"
#include "store.h"
#include "vaultclient/vaultclient.h"
#include "vfs_error.h"

/* Read this much plaintext per store_read; zero runs of RS_HOLE bytes at
 * RS_HOLE-aligned offsets become holes. */
#define RS_BUF (1u << 20)
#define RS_HOLE 65536u
/* Directory depth we follow (one fd per level stays open). */
#define RS_MAX_DEPTH 400
#define RS_TMP ".vaultfs-restore.tmp"
#define RS_JOURNAL_MAX 8192

struct rs_ent {
	char *name;
	struct store_attr a;
};

struct rs_list {
	struct rs_ent *v;
	size_t n, cap;
	int err;
};

/* Hard links: store inode -> path (relative to DEST) of the first name. */
struct rs_link {
	uint64_t ino;
	char *path;
};

struct rs {
	struct store *s;
	int rootfd;
	int resuming;
	int is_root;
	struct progress *pg;
	uint8_t *buf;
	char *xnames;	/* STORE_XATTR_LIST_MAX: names of the store inode */
	char *xhave;	/* STORE_XATTR_LIST_MAX: names on the destination */
	uint8_t *xval;	/* STORE_XATTR_SIZE_MAX */
	struct rs_link *links;
	size_t nlinks, linkcap; /* open addressing, linkcap a power of 2 */
	char rel[PATH_MAX];	/* current path relative to DEST, for messages */
	size_t rel_len;
	int rel_long;
	uint64_t total;
	/* counts */
	uint64_t files, dirs, symlinks, hardlinks, nodes, bytes;
	uint64_t already, removed, failed, skipped;
	uint64_t xattrs, xattrs_lost; /* copied; not copied (reported) */
	int xattr_unsupported;	      /* the destination has no user.* */
};

/* ---- entry lists ---- */

static int rs_fill(void *ctx, const char *name, const struct store_attr *attr,
		   uint64_t next_cookie)
{
	struct rs_list *l = ctx;

	(void)next_cookie;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 32;
		struct rs_ent *nv = realloc(l->v, ncap * sizeof(*nv));

		if (!nv) {
			l->err = -ENOMEM;
			return 1;
		}
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n].name = strdup(name);
	if (!l->v[l->n].name) {
		l->err = -ENOMEM;
		return 1;
	}
	l->v[l->n].a = *attr;
	l->n++;
	return 0;
}

static void rs_list_release(struct rs_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int rs_cmp_ent(const void *x, const void *y)
{
	return strcmp(((const struct rs_ent *)x)->name,
		      ((const struct rs_ent *)y)->name);
}

/* The entries of store directory ino, sorted by name. */
static int rs_list_dir(struct store *s, uint64_t ino, struct rs_list *ret)
{
	struct rs_list l;
	int r;

	memset(&l, 0, sizeof(l));
	r = store_readdir(s, ino, 0, rs_fill, &l);
	if (r == 0)
		r = l.err;
	if (r < 0) {
		rs_list_release(&l);
		return r;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), rs_cmp_ent);
	*ret = l;
	return 0;
}

static int rs_list_has(const struct rs_list *l, const char *name)
{
	struct rs_ent key;

	key.name = (char *)name;
	return l->n && bsearch(&key, l->v, l->n, sizeof(*l->v), rs_cmp_ent);
}

/* ---- paths for messages and hard links ---- */

static size_t rs_push(struct rs *rs, const char *name)
{
	size_t old = rs->rel_len, nl = strlen(name);

	if (rs->rel_long || old + 1 + nl + 1 > sizeof(rs->rel)) {
		rs->rel_long++;
		return old;
	}
	if (old)
		rs->rel[rs->rel_len++] = '/';
	memcpy(rs->rel + rs->rel_len, name, nl + 1);
	rs->rel_len += nl;
	return old;
}

static void rs_pop(struct rs *rs, size_t old)
{
	if (rs->rel_long) {
		rs->rel_long--;
		return;
	}
	rs->rel_len = old;
	rs->rel[old] = '\0';
}

/* The current path for a message ("." for DEST itself). */
static const char *rs_where(const struct rs *rs)
{
	return rs->rel_len ? rs->rel : ".";
}

/* ---- hard link map ---- */

static struct rs_link *rs_link_find(struct rs *rs, uint64_t ino)
{
	size_t i;

	if (!rs->linkcap)
		return NULL;
	for (i = (size_t)(ino * 0x9e3779b97f4a7c15ull) & (rs->linkcap - 1);
	     rs->links[i].path; i = (i + 1) & (rs->linkcap - 1))
		if (rs->links[i].ino == ino)
			return &rs->links[i];
	return NULL;
}

static int rs_link_add(struct rs *rs, uint64_t ino, const char *path)
{
	size_t i;

	if ((rs->nlinks + 1) * 2 > rs->linkcap) {
		size_t ncap = rs->linkcap ? rs->linkcap * 2 : 64;
		struct rs_link *old = rs->links;
		size_t oldcap = rs->linkcap;

		rs->links = calloc(ncap, sizeof(*rs->links));
		if (!rs->links) {
			rs->links = old;
			return -ENOMEM;
		}
		rs->linkcap = ncap;
		for (size_t k = 0; k < oldcap; k++) {
			if (!old[k].path)
				continue;
			for (i = (size_t)(old[k].ino * 0x9e3779b97f4a7c15ull) &
				 (ncap - 1);
			     rs->links[i].path; i = (i + 1) & (ncap - 1))
				;
			rs->links[i] = old[k];
		}
		free(old);
	}
	for (i = (size_t)(ino * 0x9e3779b97f4a7c15ull) & (rs->linkcap - 1);
	     rs->links[i].path; i = (i + 1) & (rs->linkcap - 1))
		;
	rs->links[i].path = strdup(path);
	if (!rs->links[i].path)
		return -ENOMEM;
	rs->links[i].ino = ino;
	rs->nlinks++;
	return 0;
}

/* ---- removing what does not belong ---- */

static int rs_rmtree_at(int dfd, const char *name, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	if (depth > RS_MAX_DEPTH)
		return -ELOOP;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		r = rs_rmtree_at(dirfd(d), de->d_name, depth + 1);
		if (r < 0)
			break;
	}
	closedir(d);
	if (r == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0)
		r = -errno;
	return r;
}

/* Removes names in DEST folder dfd that the store folder does not have:
 * temporaries of an interrupted run, entries deleted in the store since. */
static int rs_prune(struct rs *rs, int dfd, const struct rs_list *l)
{
	struct dirent *de;
	DIR *d;
	int fd, tmp, r = 0;

	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (rs_list_has(l, de->d_name))
			continue;
		tmp = strncmp(de->d_name, RS_TMP, strlen(RS_TMP)) == 0;
		if (!tmp)
			fprintf(stderr,
				"vaultfs: removing '%s%s%s' from the "
				"destination: not in the backup (any more)\n",
				rs->rel_len ? rs->rel : "",
				rs->rel_len ? "/" : "", de->d_name);
		r = rs_rmtree_at(dfd, de->d_name, 0);
		if (r < 0)
			break;
		if (!tmp)
			rs->removed++;
	}
	closedir(d);
	return r;
}

/* ---- extended attributes ---- */

/* Length of the name at list[i] in a listing of len bytes (bounded:
 * the last name may lack its NUL). */
static int rs_xname_len(const char *list, int len, int i)
{
	return (int)strnlen(list + i, (size_t)(len - i));
}

static int rs_xattr_in_list(const char *list, int len, const char *name)
{
	for (int i = 0; i < len; i += rs_xname_len(list, len, i) + 1)
		if (strncmp(list + i, name, (size_t)(len - i)) == 0 &&
		    rs_xname_len(list, len, i) == (int)strlen(name))
			return 1;
	return 0;
}

/* One attribute the destination would not take: told (user.* on a
 * destination without support: once), counted, never fatal. */
static void rs_xattr_lost(struct rs *rs, const char *name, int err)
{
	rs->xattrs_lost++;
	if (err == ENOTSUP && strncmp(name, "user.", 5) == 0) {
		if (!rs->xattr_unsupported)
			fprintf(stderr,
				"vaultfs: warning: the destination does not "
				"support extended attributes: user.* "
				"attributes are not restored\n");
		rs->xattr_unsupported = 1;
		return;
	}
	fprintf(stderr,
		"vaultfs: warning: cannot set the extended attribute '%s' of "
		"'%s' in the destination: %s%s\n",
		name, rs_where(rs), strerror(err),
		err == EPERM && strncmp(name, "user.", 5) != 0
		    ? " (trusted.* and security.* need root)"
		    : "");
}

/* Attributes that cannot be read from the store: told, counted as
 * damage (exit code), the entry itself is kept. */
static int rs_xattr_damaged(struct rs *rs, int r)
{
	fprintf(stderr,
		"vaultfs: cannot read the extended attributes of '%s' from the "
		"backup: %s; the rest goes on\n",
		rs_where(rs), vfs_strerror(r));
	rs->failed++;
	return 0;
}

/*
 * Gives fd (the restored copy of store inode ino) the extended attributes
 * of ino. What the store cannot give and what the destination refuses is
 * reported and counted; -errno for other errors on the destination.
 */
static int rs_xattrs_fd(struct rs *rs, uint64_t ino, int fd)
{
	int n, len;

	len = store_listxattr(rs->s, ino, rs->xnames, STORE_XATTR_LIST_MAX);
	if (len < 0)
		return rs_xattr_damaged(rs, len);
	if (len > 0 && rs->xnames[len - 1] != '\0')
		return rs_xattr_damaged(rs, -EBADMSG);
	for (int i = 0; i < len; i += (int)strlen(rs->xnames + i) + 1) {
		const char *name = rs->xnames + i;

		n = store_getxattr(rs->s, ino, name, rs->xval,
				   STORE_XATTR_SIZE_MAX);
		if (n == -ENODATA)
			continue;
		if (n < 0)
			return rs_xattr_damaged(rs, n);
		if (fsetxattr(fd, name, rs->xval, (size_t)n, 0) == 0) {
			rs->xattrs++;
			continue;
		}
		if (errno == ENOTSUP || errno == EPERM || errno == EACCES ||
		    errno == EINVAL || errno == ENOSPC || errno == E2BIG ||
		    errno == ERANGE)
			rs_xattr_lost(rs, name, errno);
		else
			return -errno;
	}
	if (!rs->resuming)
		return 0;
	/* What an earlier run set from an older generation. */
	n = (int)flistxattr(fd, rs->xhave, STORE_XATTR_LIST_MAX - 1);
	if (n < 0)
		return errno == ENOTSUP || errno == ERANGE ? 0 : -errno;
	rs->xhave[n] = '\0';
	for (int i = 0; i < n; i += rs_xname_len(rs->xhave, n, i) + 1) {
		const char *name = rs->xhave + i;

		if ((strncmp(name, "user.", 5) != 0 &&
		     strncmp(name, "trusted.", 8) != 0) ||
		    rs_xattr_in_list(rs->xnames, len, name))
			continue;
		if (fremovexattr(fd, name) < 0 && errno != ENODATA &&
		    errno != EPERM)
			return -errno;
	}
	return 0;
}

/* Symlinks and special files: tells and counts what is not copied. */
static void rs_xattrs_other(struct rs *rs, uint64_t ino)
{
	int len;

	len = store_listxattr(rs->s, ino, rs->xnames, STORE_XATTR_LIST_MAX);
	if (len > 0 && rs->xnames[len - 1] != '\0')
		len = -EBADMSG;
	if (len < 0) {
		rs_xattr_damaged(rs, len);
		return;
	}
	for (int i = 0; i < len; i += (int)strlen(rs->xnames + i) + 1) {
		rs->xattrs_lost++;
		fprintf(stderr,
			"vaultfs: warning: the extended attribute '%s' of "
			"'%s' (a symlink or special file) is not restored\n",
			rs->xnames + i, rs_where(rs));
	}
}

/* ---- attributes ---- */

static void rs_times(const struct store_attr *a, struct timespec ts[2])
{
	ts[0] = a->atime;
	ts[1] = a->mtime;
}

/* Owner (root only), mode, times of a non-directory name in dfd. */
static int rs_set_attrs_at(struct rs *rs, int dfd, const char *name,
			   const struct store_attr *a)
{
	struct timespec ts[2];

	if (rs->is_root &&
	    fchownat(dfd, name, a->uid, a->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISLNK(a->mode) && fchmodat(dfd, name, a->mode & 07777, 0) < 0)
		return -errno;
	rs_times(a, ts);
	if (utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/* Owner (root only), extended attributes, mode and times of fd, the copy
 * of a regular file or directory. */
static int rs_set_attrs_fd(struct rs *rs, int fd, const struct store_attr *a)
{
	struct timespec ts[2];
	int r;

	if (rs->is_root && fchown(fd, a->uid, a->gid) < 0)
		return -errno;
	/* After chown, which clears security.capability; before the mode,
	 * which may deny us writing them. */
	r = rs_xattrs_fd(rs, a->ino, fd);
	if (r < 0)
		return r;
	/* After chown, which clears set-id bits. */
	if (fchmod(fd, a->mode & 07777) < 0)
		return -errno;
	rs_times(a, ts);
	if (futimens(fd, ts) < 0)
		return -errno;
	return 0;
}

static int rs_fail_dest(struct rs *rs, int r, const char *what)
{
	return main_fail(r, "cannot %s '%s' in the destination", what,
			 rs_where(rs));
}

/* ---- entries ---- */

static int rs_is_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/*
 * Copies the data of store inode ino into fd: zero blocks at block
 * offsets are skipped (holes), the size set with ftruncate. A store
 * error is returned as is (the caller tells damage from I/O).
 */
static int rs_copy(struct rs *rs, uint64_t ino, uint64_t size, int fd,
		   int *ret_store_err)
{
	uint64_t off = 0;

	*ret_store_err = 0;
	while (off < size) {
		size_t want = size - off < RS_BUF ? (size_t)(size - off) : RS_BUF;
		size_t done = 0;
		int n;

		n = store_read(rs->s, ino, rs->buf, want, off);
		if (n < 0 || (size_t)n != want) {
			*ret_store_err = 1;
			return n < 0 ? n : -EIO; /* shorter than its size */
		}
		while (done < want) {
			size_t piece = want - done < RS_HOLE ? want - done
							     : RS_HOLE;
			const uint8_t *p = rs->buf + done;

			if (!rs_is_zero(p, piece)) {
				size_t w = 0;

				while (w < piece) {
					ssize_t k = pwrite(fd, p + w, piece - w,
							   (off_t)(off + done +
								   w));

					if (k < 0 && errno == EINTR)
						continue;
					if (k < 0)
						return -errno;
					w += (size_t)k;
				}
			}
			done += piece;
		}
		off += want;
		progress_add(rs->pg, want);
	}
	if (ftruncate(fd, (off_t)size) < 0)
		return -errno;
	return 0;
}

/* A name for the temporary file that no entry of this folder has. */
static void rs_tmp_name(const struct rs_list *l, char *buf, size_t len)
{
	snprintf(buf, len, "%s", RS_TMP);
	for (unsigned i = 1; rs_list_has(l, buf); i++)
		snprintf(buf, len, "%s%u", RS_TMP, i);
}

static int rs_file(struct rs *rs, int dfd, const struct rs_list *l,
		   const struct rs_ent *e, const struct stat *st, int exists)
{
	char tmp[64];
	int fd, r, serr;

	if (exists && S_ISREG(st->st_mode) &&
	    (uint64_t)st->st_size == e->a.size &&
	    st->st_mtim.tv_sec == e->a.mtime.tv_sec &&
	    st->st_mtim.tv_nsec == e->a.mtime.tv_nsec) {
		/* Complete: it only got this name once it was. */
		rs->already++;
		rs->files++;
		rs->bytes += e->a.size;
		progress_add(rs->pg, e->a.size);
		return 0;
	}
	rs_tmp_name(l, tmp, sizeof(tmp));
	if (unlinkat(dfd, tmp, 0) < 0 && errno != ENOENT)
		return rs_fail_dest(rs, -errno, "remove a temporary file next to");
	fd = openat(dfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return rs_fail_dest(rs, -errno, "create a file for");
	r = rs_copy(rs, e->a.ino, e->a.size, fd, &serr);
	if (r < 0 && serr) {
		close(fd);
		unlinkat(dfd, tmp, 0);
		fprintf(stderr,
			"vaultfs: cannot read '%s' from the backup: %s; "
			"skipped, the rest goes on\n",
			rs_where(rs), vfs_strerror(r));
		rs->failed++;
		return 0;
	}
	if (r == 0)
		r = rs_set_attrs_fd(rs, fd, &e->a);
	/* Complete and durable before it gets its name: a resumed run
	 * trusts a file under its name. */
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && exists && S_ISDIR(st->st_mode))
		r = rs_rmtree_at(dfd, e->name, 0);
	if (r == 0 && renameat(dfd, tmp, dfd, e->name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dfd, tmp, 0);
		return rs_fail_dest(rs, r, "write");
	}
	rs->files++;
	rs->bytes += e->a.size;
	return 0;
}

static int rs_symlink(struct rs *rs, int dfd, const struct rs_ent *e,
		      const struct stat *st, int exists)
{
	char target[STORE_SYMLINK_MAX + 1], have[STORE_SYMLINK_MAX + 1];
	ssize_t hn;
	int n, r;

	n = store_readlink(rs->s, e->a.ino, target, sizeof(target) - 1);
	if (n < 0) {
		fprintf(stderr,
			"vaultfs: cannot read the symlink '%s' from the "
			"backup: %s; skipped\n",
			rs_where(rs), vfs_strerror(n));
		rs->failed++;
		return 0;
	}
	target[n] = '\0';
	if (exists && S_ISLNK(st->st_mode)) {
		hn = readlinkat(dfd, e->name, have, sizeof(have) - 1);
		if (hn == n && memcmp(have, target, (size_t)n) == 0)
			goto attrs; /* already right */
	}
	if (exists) {
		r = rs_rmtree_at(dfd, e->name, 0);
		if (r < 0)
			return rs_fail_dest(rs, r, "replace");
	}
	if (symlinkat(target, dfd, e->name) < 0)
		return rs_fail_dest(rs, -errno, "create the symlink");
attrs:
	r = rs_set_attrs_at(rs, dfd, e->name, &e->a);
	if (r < 0)
		return rs_fail_dest(rs, r, "set the attributes of");
	rs_xattrs_other(rs, e->a.ino);
	rs->symlinks++;
	return 0;
}

static int rs_node(struct rs *rs, int dfd, const struct rs_ent *e,
		   const struct stat *st, int exists)
{
	mode_t type = e->a.mode & S_IFMT;
	int r;

	if (exists && (st->st_mode & S_IFMT) == type &&
	    ((type != S_IFCHR && type != S_IFBLK) ||
	     st->st_rdev == (dev_t)e->a.rdev))
		goto attrs; /* already right */
	if (exists) {
		r = rs_rmtree_at(dfd, e->name, 0);
		if (r < 0)
			return rs_fail_dest(rs, r, "replace");
	}
	if (mknodat(dfd, e->name, type | 0600, (dev_t)e->a.rdev) < 0) {
		if (errno == EPERM && (type == S_IFCHR || type == S_IFBLK)) {
			fprintf(stderr,
				"vaultfs: cannot create the device node "
				"'%s': only root can; skipped\n",
				rs_where(rs));
			rs->skipped++;
			return 0;
		}
		return rs_fail_dest(rs, -errno, "create");
	}
attrs:
	r = rs_set_attrs_at(rs, dfd, e->name, &e->a);
	if (r < 0)
		return rs_fail_dest(rs, r, "set the attributes of");
	rs_xattrs_other(rs, e->a.ino);
	rs->nodes++;
	return 0;
}

/*
 * A further name of an inode restored before: a hard link to it.
 * *ret_linked is 1 when linked (or already linked), 0 when the caller
 * should restore it as a separate copy (no hard links possible there).
 * Returns an exit code.
 */
static int rs_hardlink(struct rs *rs, int dfd, const struct rs_ent *e,
		       const struct stat *st, int exists, const char *first,
		       int *ret_linked)
{
	struct stat fst;
	int r;

	*ret_linked = 0;
	if (fstatat(rs->rootfd, first, &fst, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (exists && st->st_ino == fst.st_ino && st->st_dev == fst.st_dev) {
		rs->hardlinks++;
		if (S_ISREG(e->a.mode))
			progress_add(rs->pg, e->a.size);
		*ret_linked = 1;
		return 0;
	}
	if (exists) {
		r = rs_rmtree_at(dfd, e->name, 0);
		if (r < 0)
			return rs_fail_dest(rs, r, "replace");
	}
	if (linkat(rs->rootfd, first, dfd, e->name, 0) < 0) {
		if (errno == EMLINK || errno == EXDEV || errno == EPERM ||
		    errno == ENAMETOOLONG)
			return 0;
		return rs_fail_dest(rs, -errno, "create the hard link");
	}
	rs->hardlinks++;
	if (S_ISREG(e->a.mode))
		progress_add(rs->pg, e->a.size);
	*ret_linked = 1;
	return 0;
}

static int rs_dir(struct rs *rs, int dfd, uint64_t ino,
		  const struct store_attr *a, int depth);

static int rs_entry(struct rs *rs, int dfd, const struct rs_list *l,
		    const struct rs_ent *e, int depth)
{
	struct rs_link *lk = NULL;
	struct stat st;
	int exists, r;

	exists = fstatat(dfd, e->name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (!exists && errno != ENOENT)
		return rs_fail_dest(rs, -errno, "look at");

	if (S_ISDIR(e->a.mode)) {
		int fd;

		if (exists && !S_ISDIR(st.st_mode)) {
			if (unlinkat(dfd, e->name, 0) < 0)
				return rs_fail_dest(rs, -errno, "replace");
			exists = 0;
		}
		if (!exists && mkdirat(dfd, e->name, 0700) < 0)
			return rs_fail_dest(rs, -errno, "create the folder");
		fd = openat(dfd, e->name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return rs_fail_dest(rs, -errno, "open the folder");
		r = rs_dir(rs, fd, e->a.ino, &e->a, depth + 1);
		close(fd);
		return r;
	}

	if (e->a.nlink > 1) {
		lk = rs_link_find(rs, e->a.ino);
		if (lk) {
			int linked;

			r = rs_hardlink(rs, dfd, e, &st, exists, lk->path,
					&linked);
			if (r != 0 || linked)
				return r;
			/* A copy instead: the name may be in the way. */
			exists = fstatat(dfd, e->name, &st,
					 AT_SYMLINK_NOFOLLOW) == 0;
		}
	}
	if (S_ISREG(e->a.mode))
		r = rs_file(rs, dfd, l, e, &st, exists);
	else if (S_ISLNK(e->a.mode))
		r = rs_symlink(rs, dfd, e, &st, exists);
	else
		r = rs_node(rs, dfd, e, &st, exists);
	if (r == 0 && e->a.nlink > 1 && !lk && !rs->rel_long) {
		r = rs_link_add(rs, e->a.ino, rs->rel);
		if (r < 0)
			return main_fail(r, "out of memory");
	}
	return r;
}

/* Restores store directory ino into DEST folder fd (which is ours). */
static int rs_dir(struct rs *rs, int fd, uint64_t ino,
		  const struct store_attr *a, int depth)
{
	struct rs_list l;
	int r;

	if (depth > RS_MAX_DEPTH) {
		fprintf(stderr,
			"vaultfs: '%s' is nested more than %d folders deep: "
			"not restored\n",
			rs_where(rs), RS_MAX_DEPTH);
		return CLI_EXIT_FAILURE;
	}
	r = rs_list_dir(rs->s, ino, &l);
	if (r < 0)
		return main_fail(r, "cannot list '%s' in the backup",
				 rs_where(rs));
	/* Writable for us while we fill it (a resumed run may find the
	 * final mode, e.g. 0555, already set). */
	if (fchmod(fd, 0700) < 0) {
		r = rs_fail_dest(rs, -errno, "change the mode of");
		goto out;
	}
	if (rs->resuming) {
		r = rs_prune(rs, fd, &l);
		if (r < 0) {
			r = rs_fail_dest(rs, r, "clean up");
			goto out;
		}
	}
	for (size_t i = 0; i < l.n; i++) {
		size_t old = rs_push(rs, l.v[i].name);

		r = rs_entry(rs, fd, &l, &l.v[i], depth);
		rs_pop(rs, old);
		if (r != 0)
			goto out;
	}
	/* After the contents, which changed its mtime. */
	r = rs_set_attrs_fd(rs, fd, a);
	if (r < 0) {
		r = rs_fail_dest(rs, r, "set the attributes of");
		goto out;
	}
	rs->dirs++;
	r = 0;
out:
	rs_list_release(&l);
	return r;
}

/* Sum of regular file sizes below ino (for the progress line). */
static int rs_count(struct store *s, uint64_t ino, int depth, uint64_t *total)
{
	struct rs_list l;
	int r;

	if (depth > RS_MAX_DEPTH)
		return 0;
	r = rs_list_dir(s, ino, &l);
	if (r < 0)
		return r;
	for (size_t i = 0; i < l.n && r == 0; i++) {
		if (S_ISREG(l.v[i].a.mode))
			*total += l.v[i].a.size;
		else if (S_ISDIR(l.v[i].a.mode))
			r = rs_count(s, l.v[i].a.ino, depth + 1, total);
	}
	rs_list_release(&l);
	return r;
}

/* ---- the journal ---- */

static int rs_journal_path(const char *state, const char *dest, char **ret)
{
	uint8_t h[16];
	char hex[33], *dir = NULL;
	int r;

	crypto_generichash(h, sizeof(h), (const uint8_t *)dest, strlen(dest),
			   NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	if (asprintf(&dir, "%s/restore", state) < 0)
		return -ENOMEM;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		free(dir);
		return r;
	}
	r = asprintf(ret, "%s/%s.journal", dir, hex) < 0 ? -ENOMEM : 0;
	free(dir);
	return r;
}

struct rs_journal {
	char dest[PATH_MAX];
	char store[2 * STORE_ID_BYTES + 1];
	uint64_t generation;
};

/* -ENOENT when there is none, -EBADMSG when it is malformed. */
static int rs_journal_load(const char *path, struct rs_journal *ret)
{
	char buf[RS_JOURNAL_MAX + 1], *line, *save = NULL;
	struct rs_journal j;
	ssize_t n;
	int fd, magic = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return -EIO;
	if (n > RS_JOURNAL_MAX || memchr(buf, '\0', (size_t)n))
		return -EBADMSG;
	buf[n] = '\0';
	memset(&j, 0, sizeof(j));
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strcmp(line, "vaultfs-restore 1") == 0)
			magic = 1;
		else if (strncmp(line, "dest ", 5) == 0 &&
			 strlen(line + 5) < sizeof(j.dest))
			strcpy(j.dest, line + 5);
		else if (strncmp(line, "store ", 6) == 0 &&
			 strlen(line + 6) == 2 * STORE_ID_BYTES)
			strcpy(j.store, line + 6);
		else if (strncmp(line, "generation ", 11) == 0)
			j.generation = strtoull(line + 11, NULL, 10);
		else
			return -EBADMSG;
	}
	if (!magic || !j.dest[0] || !j.store[0])
		return -EBADMSG;
	*ret = j;
	return 0;
}

static int rs_journal_save(const char *path, const struct rs_journal *j)
{
	char *tmp = NULL, text[RS_JOURNAL_MAX];
	int fd, n, r;

	n = snprintf(text, sizeof(text),
		     "vaultfs-restore 1\ndest %s\nstore %s\ngeneration %" PRIu64
		     "\n",
		     j->dest, j->store, j->generation);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -ENAMETOOLONG;
	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = main_write_all(fd, text, (size_t)n);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	else
		main_fsync_parent(path);
out:
	free(tmp);
	return r;
}

/* *ret: 1 if the folder fd holds no entries, else 0. */
static int rs_dir_empty(int fd, int *ret)
{
	struct dirent *de;
	DIR *d;
	int dup_fd, empty = 1;

	dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dup_fd < 0)
		return -errno;
	d = fdopendir(dup_fd);
	if (!d) {
		close(dup_fd);
		return -errno;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = 0;
			break;
		}
	closedir(d);
	*ret = empty;
	return 0;
}

/* ---- the vault's view of the generation ---- */

/*
 * When a vault is known for the store (the password was used, or one is
 * remembered or given), asks it for the highest generation it holds and
 * refuses a folder that is older: on a new machine this is the only
 * guard against a rolled-back cloud folder. A vault that cannot be asked
 * only warns. Returns an exit code.
 */
static int rs_vault_check(const struct cli_args *a,
			  const struct store_info *info, const char *state,
			  const uint8_t *key, struct store *s,
			  struct vault_ctx *v)
{
	struct cli_vault_conf rc;
	struct vc_store_key sk;
	uint64_t vgen = 0, head = store_generation(s);
	int code, r;

	if (!v->url[0]) {
		if (!a->vault_url &&
		    cli_vault_conf_load(state, info->store_id, &rc) != 0)
			return 0; /* no vault known: this machine's record */
		code = vault_resolve(a, info, state, 0, v);
		if (code || !v->url[0])
			goto warn;
	}
	code = vault_connect(v, MAIN_VAULT_CONNECT_MS, MAIN_VAULT_TOTAL_MS);
	if (code)
		goto warn;
	memcpy(sk.store_id, info->store_id, sizeof(sk.store_id));
	sk.key = key;
	r = vc_get_generation(v->c, v->account, &sk, &vgen);
	if (r < 0) {
		fprintf(stderr,
			"vaultfs: warning: cannot get the latest generation "
			"from the vault '%s': %s\n",
			v->url, vfs_strerror(r));
		goto warn;
	}
	if (vgen > head) {
		fprintf(stderr,
			"vaultfs: the vault '%s' has seen generation %" PRIu64
			" of this store, but '%s' holds generation %" PRIu64
			"\n",
			v->url, vgen, a->cloud_dir, head);
		return main_fail(-VFS_E_ROLLBACK,
				 "refusing to restore from '%s'",
				 a->cloud_dir);
	}
	return 0;
warn:
	fprintf(stderr, "vaultfs: warning: the vault was not asked for the "
			"latest generation: only this machine's record guards "
			"against an old copy of the folder\n");
	return 0;
}

/* ---- the command ---- */

int cmd_restore(const struct cli_args *a)
{
	struct store_info info;
	struct store_attr root;
	struct vault_ctx v;
	struct rs_journal j, old;
	struct rs rs;
	struct stat st;
	char *cloud = NULL, *dest = NULL, *state = NULL, *jpath = NULL;
	uint8_t *key = NULL;
	size_t cl;
	int made_dest = 0, empty = 1, code, r;

	memset(&v, 0, sizeof(v));
	memset(&rs, 0, sizeof(rs));
	rs.rootfd = -1;

	cloud = realpath(a->cloud_dir, NULL);
	if (!cloud) {
		code = main_fail(-errno, "cloud folder '%s'", a->cloud_dir);
		goto out;
	}
	r = cli_mount_abspath(a->dest, &dest);
	if (r < 0) {
		code = main_fail(r, "destination '%s'", a->dest);
		goto out;
	}
	/* Plaintext must never land in the sync folder. */
	cl = strlen(cloud);
	if (strcmp(dest, cloud) == 0 ||
	    (strncmp(dest, cloud, cl) == 0 && dest[cl] == '/')) {
		fprintf(stderr,
			"vaultfs: refusing to restore into '%s', inside the "
			"cloud folder '%s': the plaintext would be uploaded\n",
			dest, cloud);
		code = CLI_EXIT_USAGE;
		goto out;
	}
	r = store_read_info(cloud, &info);
	if (r < 0) {
		code = main_fail(r, "'%s'", cloud);
		goto out;
	}
	r = cli_state_dir(&state);
	if (r < 0) {
		code = main_fail(r, "cannot create the state folder");
		goto out;
	}
	r = rs_journal_path(state, dest, &jpath);
	if (r < 0) {
		code = main_fail(r, "cannot create '%s/restore'", state);
		goto out;
	}

	/* DEST: new, empty, or an interrupted restore of this store. */
	memset(&old, 0, sizeof(old));
	if (lstat(dest, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			fprintf(stderr,
				"vaultfs: '%s' exists and is not a folder\n",
				dest);
			code = CLI_EXIT_USAGE;
			goto out;
		}
	} else if (errno != ENOENT) {
		code = main_fail(-errno, "destination '%s'", dest);
		goto out;
	}
	rs.rootfd = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rs.rootfd >= 0) {
		r = rs_dir_empty(rs.rootfd, &empty);
		if (r < 0) {
			code = main_fail(r, "cannot list '%s'", dest);
			goto out;
		}
	}
	r = rs_journal_load(jpath, &old);
	if (r == 0 && strcmp(old.dest, dest) == 0) {
		char idhex[2 * STORE_ID_BYTES + 1];

		sodium_bin2hex(idhex, sizeof(idhex), info.store_id,
			       sizeof(info.store_id));
		if (strcmp(old.store, idhex) != 0 && !empty) {
			fprintf(stderr,
				"vaultfs: '%s' holds an interrupted restore of "
				"another store (id %s): finish it with that "
				"store, or restore into another folder\n",
				dest, old.store);
			code = CLI_EXIT_USAGE;
			goto out;
		}
		rs.resuming = !empty;
	} else if (r != 0 && r != -ENOENT && r != -EBADMSG) {
		code = main_fail(r, "cannot read '%s'", jpath);
		goto out;
	}
	if (!empty && !rs.resuming) {
		fprintf(stderr,
			"vaultfs: '%s' exists and is not empty, and no "
			"interrupted restore into it is recorded on this "
			"machine: restore into a new or empty folder\n",
			dest);
		code = CLI_EXIT_USAGE;
		goto out;
	}

	/* The key, the store (read-only: no lease, a writer may be busy
	 * elsewhere), and the vault's generation. */
	key = sodium_malloc(STORE_KEY_BYTES);
	if (!key) {
		code = main_fail(-ENOMEM, "cannot allocate secure memory");
		goto out;
	}
	code = cmd_get_key(a, &info, state, key, &v, NULL);
	if (code)
		goto out;
	r = store_open(cloud, key, state, STORE_READ_ONLY, &rs.s);
	if (r < 0) {
		code = main_fail(r, "cannot open the store in '%s'", cloud);
		goto out;
	}
	code = rs_vault_check(a, &info, state, key, rs.s, &v);
	if (code)
		goto out;
	sodium_free(key);
	key = NULL;

	r = store_getattr(rs.s, STORE_ROOT_INO, &root);
	if (r == 0)
		r = rs_count(rs.s, STORE_ROOT_INO, 0, &rs.total);
	if (r < 0) {
		code = main_fail(r, "cannot read the tree of '%s'", cloud);
		goto out;
	}

	if (rs.rootfd < 0) {
		if (mkdir(dest, 0700) < 0) {
			code = main_fail(-errno, "cannot create '%s'", dest);
			goto out;
		}
		made_dest = 1;
		rs.rootfd = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					   O_CLOEXEC);
		if (rs.rootfd < 0) {
			code = main_fail(-errno, "cannot open '%s'", dest);
			goto out;
		}
	}
	memset(&j, 0, sizeof(j));
	snprintf(j.dest, sizeof(j.dest), "%s", dest);
	sodium_bin2hex(j.store, sizeof(j.store), info.store_id,
		       sizeof(info.store_id));
	j.generation = store_generation(rs.s);
	if (rs.resuming) {
		fprintf(stderr,
			"vaultfs: resuming the interrupted restore into "
			"'%s'\n",
			dest);
		if (old.generation != j.generation)
			fprintf(stderr,
				"vaultfs: the backup changed since (generation "
				"%" PRIu64 ", now %" PRIu64 "): restoring "
				"generation %" PRIu64 "\n",
				old.generation, j.generation, j.generation);
	}
	/* Durable before anything is written into DEST. */
	r = rs_journal_save(jpath, &j);
	if (r < 0) {
		code = main_fail(r, "cannot write '%s'", jpath);
		goto out;
	}
	made_dest = 0; /* the journal covers it now */

	rs.buf = malloc(RS_BUF);
	rs.xnames = malloc(STORE_XATTR_LIST_MAX);
	rs.xhave = malloc(STORE_XATTR_LIST_MAX);
	rs.xval = malloc(STORE_XATTR_SIZE_MAX);
	if (!rs.buf || !rs.xnames || !rs.xhave || !rs.xval) {
		code = main_fail(-ENOMEM, "out of memory");
		goto out;
	}
	rs.is_root = geteuid() == 0;
	rs.pg = progress_new(stderr, "restore", rs.total, 0);
	code = rs_dir(&rs, rs.rootfd, STORE_ROOT_INO, &root, 0);
	progress_done(rs.pg);
	rs.pg = NULL;
	if (code)
		goto out;
	if (syncfs(rs.rootfd) < 0) {
		code = main_fail(-errno, "cannot sync '%s'", dest);
		goto out;
	}

	printf("Restored generation %" PRIu64 " of '%s' into '%s':\n"
	       "  %" PRIu64 " files (%" PRIu64 " bytes), %" PRIu64
	       " folders, %" PRIu64 " symlinks, %" PRIu64 " hard links, %" PRIu64
	       " other\n",
	       j.generation, cloud, dest, rs.files, rs.bytes, rs.dirs,
	       rs.symlinks, rs.hardlinks, rs.nodes);
	if (rs.xattrs || rs.xattrs_lost)
		printf("  %" PRIu64 " extended attributes%s\n", rs.xattrs,
		       rs.xattrs_lost ? "" : " (all)");
	if (rs.xattrs_lost)
		fprintf(stderr,
			"vaultfs: warning: %" PRIu64 " extended attributes "
			"were not restored (see above)\n",
			rs.xattrs_lost);
	if (rs.resuming)
		printf("  resumed: %" PRIu64 " files were already complete, "
		       "%" PRIu64 " stale entries removed\n",
		       rs.already, rs.removed);
	if (fflush(stdout) != 0) {
		code = main_fail(-EIO, "cannot write to standard output");
		goto out;
	}
	if (rs.failed || rs.skipped) {
		if (rs.failed)
			fprintf(stderr,
				"vaultfs: %" PRIu64 " entries could not be "
				"read from the backup (damaged objects, see "
				"above); everything else is restored\n",
				rs.failed);
		if (rs.skipped)
			fprintf(stderr,
				"vaultfs: %" PRIu64 " device nodes were "
				"skipped; run the same command as root to "
				"complete the restore\n",
				rs.skipped);
		code = rs.failed ? CLI_EXIT_DAMAGED : CLI_EXIT_FAILURE;
		goto out; /* the journal stays: a rerun completes it */
	}
	if (unlink(jpath) < 0 && errno != ENOENT)
		fprintf(stderr, "vaultfs: warning: cannot remove '%s': %s\n",
			jpath, strerror(errno));
	code = CLI_EXIT_OK;
out:
	progress_done(rs.pg);
	if (made_dest) {
		close(rs.rootfd);
		rs.rootfd = -1;
		rmdir(dest);
	}
	if (rs.rootfd >= 0)
		close(rs.rootfd);
	for (size_t i = 0; i < rs.linkcap; i++)
		free(rs.links[i].path);
	free(rs.links);
	free(rs.buf);
	free(rs.xnames);
	free(rs.xhave);
	if (rs.xval)
		sodium_memzero(rs.xval, STORE_XATTR_SIZE_MAX);
	free(rs.xval);
	if (rs.s) {
		r = store_close(rs.s);
		if (r < 0 && code == CLI_EXIT_OK)
			code = main_fail(r, "closing the store");
	}
	sodium_free(key);
	vault_ctx_release(&v);
	free(cloud);
	free(dest);
	free(state);
	free(jpath);
	return code;
}

/*
 * memstore.c - TEST DOUBLE: an in-memory, unencrypted implementation of
 * fs/store.h, linked only into tests/integration/vaultfs-memstore.
 *
 * It lets the FUSE layer (fsops.c) and the CLI (main.c, cli.c) be tested
 * with real kernel mounts independently of the real store: POSIX semantics
 * of each operation inside one mount, the daemon's ready pipe, exit codes.
 * Nothing survives an unmount. The cloud folder only gets a marker file
 * holding a hash of the key, so that "not a store" and "wrong key" can be
 * tested. Never installed, never used by the real vaultfs.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <sodium.h>

#include "fs/store.h"

#define MEM_MARKER "memstore-test-double"

struct mem_dirent {
	char *name;
	uint64_t ino;
	uint64_t seq;
	struct mem_dirent *next;
};

struct mem_xattr {
	char *name;
	uint8_t *value;
	size_t vlen;
	struct mem_xattr *next;
};

struct mem_inode {
	struct store_attr a;
	struct mem_xattr *xattrs; /* in creation order */
	uint64_t nlookup;
	uint64_t nopen;
	uint8_t *data; /* file data or symlink target */
	size_t cap;
	uint64_t parent; /* directories */
	struct mem_dirent *ents;
	uint64_t next_seq;
};

struct store {
	pthread_mutex_t lock;
	struct mem_inode **ino;
	size_t nino;
	char *cloud;
	int read_only;
	uint64_t gen;
	int dirty;
};

static void mem_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

static int mem_marker_path(const char *cloud, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/%s", cloud, MEM_MARKER) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static void mem_keyhash(const uint8_t *key, char hex[65])
{
	uint8_t h[32];

	crypto_generichash(h, sizeof(h), key, STORE_KEY_BYTES, NULL, 0);
	sodium_bin2hex(hex, 65, h, sizeof(h));
}

int store_create(const char *cloud_dir, const uint8_t key[STORE_KEY_BYTES],
		 const struct store_create_opts *opts)
{
	char path[4096], hex[65];
	struct dirent *de;
	DIR *d;
	FILE *f;

	d = opendir(cloud_dir);
	if (!d)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			closedir(d);
			return -EEXIST;
		}
	}
	closedir(d);
	if (mem_marker_path(cloud_dir, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	mem_keyhash(key, hex);
	f = fopen(path, "wx");
	if (!f)
		return -errno;
	fprintf(f, "%s\n", hex);
	if (fclose(f) != 0)
		return -EIO;
	return 0;
}

int store_read_info(const char *cloud_dir, struct store_info *ret)
{
	char path[4096];
	struct stat st;

	if (mem_marker_path(cloud_dir, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	if (stat(path, &st) < 0)
		return -VFS_E_NOTSTORE;
	memset(ret, 0, sizeof(*ret));
	ret->format_version = 0;
	crypto_generichash(ret->store_id, sizeof(ret->store_id),
			   (const uint8_t *)cloud_dir, strlen(cloud_dir), NULL,
			   0);
	snprintf(ret->aead, sizeof(ret->aead), "none (test double)");
	return 0;
}

static struct mem_inode *mem_get(struct store *s, uint64_t ino)
{
	if (ino == 0 || ino >= s->nino)
		return NULL;
	return s->ino[ino];
}

static struct mem_inode *mem_new_inode(struct store *s, uint32_t mode,
				       uint32_t uid, uint32_t gid)
{
	struct mem_inode *n, **grown;
	size_t i;

	for (i = 1; i < s->nino; i++)
		if (!s->ino[i])
			break;
	if (i == s->nino) {
		grown = realloc(s->ino, (s->nino * 2 + 2) * sizeof(*grown));
		if (!grown)
			return NULL;
		memset(grown + s->nino, 0, (s->nino + 2) * sizeof(*grown));
		s->ino = grown;
		s->nino = s->nino * 2 + 2;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->a.ino = i;
	n->a.mode = mode;
	n->a.nlink = S_ISDIR(mode) ? 2 : 1;
	n->a.uid = uid;
	n->a.gid = gid;
	mem_now(&n->a.atime);
	n->a.mtime = n->a.ctime = n->a.atime;
	n->next_seq = 2;
	s->ino[i] = n;
	return n;
}

static void mem_free_inode(struct store *s, struct mem_inode *n)
{
	struct mem_dirent *e, *next;

	for (e = n->ents; e; e = next) {
		next = e->next;
		free(e->name);
		free(e);
	}
	while (n->xattrs) {
		struct mem_xattr *x = n->xattrs;

		n->xattrs = x->next;
		free(x->name);
		free(x->value);
		free(x);
	}
	s->ino[n->a.ino] = NULL;
	free(n->data);
	free(n);
}

static void mem_maybe_free(struct store *s, struct mem_inode *n)
{
	if (n->a.nlink == 0 && n->nlookup == 0 && n->nopen == 0 &&
	    n->a.ino != STORE_ROOT_INO)
		mem_free_inode(s, n);
}

int store_check_key(const char *cloud_dir, const uint8_t key[STORE_KEY_BYTES])
{
	char path[4096], hex[65], want[80] = "";
	FILE *f;

	if (mem_marker_path(cloud_dir, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	f = fopen(path, "r");
	if (!f)
		return -VFS_E_NOTSTORE;
	if (!fgets(want, sizeof(want), f))
		want[0] = '\0';
	fclose(f);
	want[strcspn(want, "\n")] = '\0';
	mem_keyhash(key, hex);
	return strcmp(hex, want) == 0 ? 0 : -VFS_E_WRONGKEY;
}

/* `vaultfs rekey` re-encrypts the objects of the real store (fs/rekey.c);
 * this double has none. The command exists so the CLI links the same. */
struct cli_args;
int cmd_rekey(const struct cli_args *a);
int cmd_rekey(const struct cli_args *a)
{
	(void)a;
	fprintf(stderr, "vaultfs: rekey is not available in the in-memory "
			"test double\n");
	return 1;
}

int store_open(const char *cloud_dir, const uint8_t key[STORE_KEY_BYTES],
	       const char *state_dir, unsigned flags, struct store **ret)
{
	char path[4096], hex[65], want[80] = "";
	struct store *s;
	struct mem_inode *root;
	FILE *f;

	if (mem_marker_path(cloud_dir, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	f = fopen(path, "r");
	if (!f)
		return -VFS_E_NOTSTORE;
	if (!fgets(want, sizeof(want), f))
		want[0] = '\0';
	fclose(f);
	want[strcspn(want, "\n")] = '\0';
	mem_keyhash(key, hex);
	if (strcmp(hex, want) != 0)
		return -VFS_E_WRONGKEY;
	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->cloud = strdup(cloud_dir);
	s->read_only = !!(flags & STORE_READ_ONLY);
	s->nino = 1;
	s->ino = calloc(1, sizeof(*s->ino));
	root = s->cloud && s->ino
		   ? mem_new_inode(s, S_IFDIR | 0755, getuid(), getgid())
		   : NULL;
	if (!root || root->a.ino != STORE_ROOT_INO) {
		store_close(s);
		return -ENOMEM;
	}
	root->parent = STORE_ROOT_INO;
	*ret = s;
	return 0;
}

int store_close(struct store *s)
{
	if (!s)
		return 0;
	for (size_t i = 0; i < s->nino; i++)
		if (s->ino[i])
			mem_free_inode(s, s->ino[i]);
	free(s->ino);
	free(s->cloud);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return 0;
}

int store_commit(struct store *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->dirty)
		s->gen++;
	s->dirty = 0;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int store_tick(struct store *s, unsigned max_age_ms)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = s->dirty;
	if (r)
		s->gen++;
	s->dirty = 0;
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* No cleaner and no lease in the double. */
void store_set_clean(struct store *s, unsigned grace_sec, unsigned interval_ms)
{
	(void)s;
	(void)grace_sec;
	(void)interval_ms;
}

int store_lease_info(const char *cloud_dir, const uint8_t key[STORE_KEY_BYTES],
		     struct store_lease *ret)
{
	(void)cloud_dir;
	(void)key;
	(void)ret;
	return 0;
}

uint64_t store_generation(struct store *s)
{
	return s->gen;
}

uint64_t store_dirty_bytes(struct store *s)
{
	return 0;
}

static struct mem_dirent *mem_find(struct mem_inode *dir, const char *name)
{
	for (struct mem_dirent *e = dir->ents; e; e = e->next)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static int mem_dir(struct store *s, uint64_t ino, struct mem_inode **ret)
{
	struct mem_inode *d = mem_get(s, ino);

	if (!d)
		return -ENOENT;
	if (!S_ISDIR(d->a.mode))
		return -ENOTDIR;
	*ret = d;
	return 0;
}

static int mem_add(struct mem_inode *dir, const char *name, uint64_t ino)
{
	struct mem_dirent *e = calloc(1, sizeof(*e)), **pp;

	if (!e || !(e->name = strdup(name))) {
		free(e);
		return -ENOMEM;
	}
	e->ino = ino;
	e->seq = dir->next_seq++;
	for (pp = &dir->ents; *pp; pp = &(*pp)->next)
		;
	*pp = e;
	mem_now(&dir->a.mtime);
	dir->a.ctime = dir->a.mtime;
	return 0;
}

static void mem_del(struct mem_inode *dir, struct mem_dirent *victim)
{
	for (struct mem_dirent **pp = &dir->ents; *pp; pp = &(*pp)->next) {
		if (*pp == victim) {
			*pp = victim->next;
			free(victim->name);
			free(victim);
			break;
		}
	}
	mem_now(&dir->a.mtime);
	dir->a.ctime = dir->a.mtime;
}

int store_lookup(struct store *s, uint64_t parent, const char *name,
		 struct store_attr *ret)
{
	struct mem_inode *d, *n;
	struct mem_dirent *e;
	int r;

	pthread_mutex_lock(&s->lock);
	r = mem_dir(s, parent, &d);
	if (r == 0) {
		e = mem_find(d, name);
		if (!e) {
			r = -ENOENT;
		} else {
			n = mem_get(s, e->ino);
			n->nlookup++;
			*ret = n->a;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

void store_forget(struct store *s, uint64_t ino, uint64_t nlookup)
{
	struct mem_inode *n;

	pthread_mutex_lock(&s->lock);
	n = mem_get(s, ino);
	if (n) {
		n->nlookup = nlookup > n->nlookup ? 0 : n->nlookup - nlookup;
		mem_maybe_free(s, n);
	}
	pthread_mutex_unlock(&s->lock);
}

int store_getattr(struct store *s, uint64_t ino, struct store_attr *ret)
{
	struct mem_inode *n;
	int r = -ENOENT;

	pthread_mutex_lock(&s->lock);
	n = mem_get(s, ino);
	if (n) {
		*ret = n->a;
		r = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int mem_resize(struct mem_inode *n, uint64_t size)
{
	if (size > (1ull << 31))
		return -EFBIG;
	if (size > n->cap) {
		size_t cap = n->cap ? n->cap : 4096;
		uint8_t *p;

		while (cap < size)
			cap *= 2;
		p = realloc(n->data, cap);
		if (!p)
			return -ENOMEM;
		memset(p + n->cap, 0, cap - n->cap);
		n->data = p;
		n->cap = cap;
	}
	if (size < n->a.size)
		memset(n->data + size, 0, n->a.size - size);
	n->a.size = size;
	n->a.blocks = (size + 511) / 512;
	return 0;
}

int store_setattr(struct store *s, uint64_t ino, const struct store_attr *attr,
		  unsigned to_set, struct store_attr *ret)
{
	struct mem_inode *n;
	int r = 0;

	if (s->read_only)
		return -EROFS;
	pthread_mutex_lock(&s->lock);
	n = mem_get(s, ino);
	if (!n) {
		r = -ENOENT;
		goto out;
	}
	if (to_set & STORE_SET_SIZE) {
		if (S_ISDIR(n->a.mode)) {
			r = -EISDIR;
			goto out;
		}
		r = mem_resize(n, attr->size);
		if (r < 0)
			goto out;
		mem_now(&n->a.mtime);
	}
	if (to_set & STORE_SET_MODE)
		n->a.mode = (n->a.mode & S_IFMT) | (attr->mode & 07777);
	if (to_set & STORE_SET_UID)
		n->a.uid = attr->uid;
	if (to_set & STORE_SET_GID)
		n->a.gid = attr->gid;
	if (to_set & STORE_SET_ATIME)
		n->a.atime = attr->atime;
	if (to_set & STORE_SET_ATIME_NOW)
		mem_now(&n->a.atime);
	if (to_set & STORE_SET_MTIME)
		n->a.mtime = attr->mtime;
	if (to_set & STORE_SET_MTIME_NOW)
		mem_now(&n->a.mtime);
	if (to_set & STORE_SET_CTIME)
		n->a.ctime = attr->ctime;
	else
		mem_now(&n->a.ctime);
	s->dirty = 1;
	*ret = n->a;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int mem_create(struct store *s, uint64_t parent, const char *name,
		      uint32_t mode, uint64_t rdev, uint32_t uid, uint32_t gid,
		      const char *target, struct store_attr *ret)
{
	struct mem_inode *d, *n;
	int r;

	if (s->read_only)
		return -EROFS;
	pthread_mutex_lock(&s->lock);
	r = mem_dir(s, parent, &d);
	if (r < 0)
		goto out;
	if (mem_find(d, name)) {
		r = -EEXIST;
		goto out;
	}
	n = mem_new_inode(s, mode, uid, gid);
	if (!n) {
		r = -ENOMEM;
		goto out;
	}
	n->a.rdev = rdev;
	if (target) {
		n->data = (uint8_t *)strdup(target);
		n->a.size = strlen(target);
	}
	if (S_ISDIR(mode)) {
		n->parent = parent;
		d->a.nlink++;
	}
	r = mem_add(d, name, n->a.ino);
	if (r < 0) {
		mem_free_inode(s, n);
		goto out;
	}
	n->nlookup = 1;
	s->dirty = 1;
	*ret = n->a;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_mknod(struct store *s, uint64_t parent, const char *name,
		uint32_t mode, uint64_t rdev, uint32_t uid, uint32_t gid,
		struct store_attr *ret)
{
	if (S_ISDIR(mode) || S_ISLNK(mode))
		return -EINVAL;
	return mem_create(s, parent, name, mode, rdev, uid, gid, NULL, ret);
}

int store_mkdir(struct store *s, uint64_t parent, const char *name,
		uint32_t mode, uint32_t uid, uint32_t gid,
		struct store_attr *ret)
{
	return mem_create(s, parent, name, S_IFDIR | (mode & 07777), 0, uid,
			  gid, NULL, ret);
}

int store_symlink(struct store *s, uint64_t parent, const char *name,
		  const char *target, uint32_t uid, uint32_t gid,
		  struct store_attr *ret)
{
	return mem_create(s, parent, name, S_IFLNK | 0777, 0, uid, gid, target,
			  ret);
}

int store_readlink(struct store *s, uint64_t ino, char *buf, size_t size)
{
	struct mem_inode *n;
	int r;

	pthread_mutex_lock(&s->lock);
	n = mem_get(s, ino);
	if (!n)
		r = -ENOENT;
	else if (!S_ISLNK(n->a.mode))
		r = -EINVAL;
	else if (n->a.size > size)
		r = -ENAMETOOLONG;
	else {
		memcpy(buf, n->data, n->a.size);
		r = (int)n->a.size;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_link(struct store *s, uint64_t ino, uint64_t newparent,
	       const char *newname, struct store_attr *ret)
{
	struct mem_inode *d, *n;
	int r;

	if (s->read_only)
		return -EROFS;
	pthread_mutex_lock(&s->lock);
	r = mem_dir(s, newparent, &d);
	if (r < 0)
		goto out;
	n = mem_get(s, ino);
	if (!n) {
		r = -ENOENT;
		goto out;
	}
	if (S_ISDIR(n->a.mode)) {
		r = -EPERM;
		goto out;
	}
	if (mem_find(d, newname)) {
		r = -EEXIST;
		goto out;
	}
	r = mem_add(d, newname, ino);
	if (r < 0)
		goto out;
	n->a.nlink++;
	n->nlookup++;
	mem_now(&n->a.ctime);
	s->dirty = 1;
	*ret = n->a;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int mem_remove(struct store *s, uint64_t parent, const char *name,
		      int dir)
{
	struct mem_inode *d, *n;
	struct mem_dirent *e;
	int r;

	if (s->read_only)
		return -EROFS;
	pthread_mutex_lock(&s->lock);
	r = mem_dir(s, parent, &d);
	if (r < 0)
		goto out;
	e = mem_find(d, name);
	if (!e) {
		r = -ENOENT;
		goto out;
	}
	n = mem_get(s, e->ino);
	if (dir && !S_ISDIR(n->a.mode)) {
		r = -ENOTDIR;
		goto out;
	}
	if (!dir && S_ISDIR(n->a.mode)) {
		r = -EISDIR;
		goto out;
	}
	if (dir && n->ents) {
		r = -ENOTEMPTY;
		goto out;
	}
	mem_del(d, e);
	if (dir) {
		d->a.nlink--;
		n->a.nlink = 0;
	} else {
		n->a.nlink--;
	}
	mem_now(&n->a.ctime);
	mem_maybe_free(s, n);
	s->dirty = 1;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_unlink(struct store *s, uint64_t parent, const char *name)
{
	return mem_remove(s, parent, name, 0);
}

int store_rmdir(struct store *s, uint64_t parent, const char *name)
{
	return mem_remove(s, parent, name, 1);
}

/* Is a an ancestor of (or equal to) b? */
static int mem_ancestor(struct store *s, uint64_t a, uint64_t b)
{
	for (int depth = 0; depth < 4096; depth++) {
		struct mem_inode *n = mem_get(s, b);

		if (b == a)
			return 1;
		if (!n || b == STORE_ROOT_INO)
			return 0;
		b = n->parent;
	}
	return 1;
}

int store_rename(struct store *s, uint64_t parent, const char *name,
		 uint64_t newparent, const char *newname, unsigned flags)
{
	struct mem_inode *od, *nd, *src, *dst = NULL;
	struct mem_dirent *se, *de;
	int r;

	if (s->read_only)
		return -EROFS;
	pthread_mutex_lock(&s->lock);
	r = mem_dir(s, parent, &od);
	if (r == 0)
		r = mem_dir(s, newparent, &nd);
	if (r < 0)
		goto out;
	se = mem_find(od, name);
	if (!se) {
		r = -ENOENT;
		goto out;
	}
	src = mem_get(s, se->ino);
	de = mem_find(nd, newname);
	if (de)
		dst = mem_get(s, de->ino);
	if ((flags & RENAME_NOREPLACE) && de) {
		r = -EEXIST;
		goto out;
	}
	if ((flags & RENAME_EXCHANGE) && !de) {
		r = -ENOENT;
		goto out;
	}
	if (dst == src)
		goto out;
	if (S_ISDIR(src->a.mode) && mem_ancestor(s, src->a.ino, newparent)) {
		r = -EINVAL;
		goto out;
	}
	if (flags & RENAME_EXCHANGE) {
		if (S_ISDIR(dst->a.mode) &&
		    mem_ancestor(s, dst->a.ino, parent)) {
			r = -EINVAL;
			goto out;
		}
		se->ino = dst->a.ino;
		de->ino = src->a.ino;
		if (S_ISDIR(src->a.mode) != S_ISDIR(dst->a.mode) && od != nd) {
			if (S_ISDIR(src->a.mode)) {
				od->a.nlink--;
				nd->a.nlink++;
			} else {
				nd->a.nlink--;
				od->a.nlink++;
			}
		}
		if (S_ISDIR(src->a.mode))
			src->parent = newparent;
		if (S_ISDIR(dst->a.mode))
			dst->parent = parent;
		mem_now(&od->a.mtime);
		nd->a.mtime = od->a.mtime;
		s->dirty = 1;
		goto out;
	}
	if (dst) {
		if (S_ISDIR(dst->a.mode) && !S_ISDIR(src->a.mode)) {
			r = -EISDIR;
			goto out;
		}
		if (!S_ISDIR(dst->a.mode) && S_ISDIR(src->a.mode)) {
			r = -ENOTDIR;
			goto out;
		}
		if (S_ISDIR(dst->a.mode) && dst->ents) {
			r = -ENOTEMPTY;
			goto out;
		}
		mem_del(nd, de);
		if (S_ISDIR(dst->a.mode)) {
			nd->a.nlink--;
			dst->a.nlink = 0;
		} else {
			dst->a.nlink--;
		}
		mem_maybe_free(s, dst);
	}
	r = mem_add(nd, newname, src->a.ino);
	if (r < 0)
		goto out;
	/* (od, name) != (nd, newname) here: dst == src returned above. */
	mem_del(od, mem_find(od, name));
	if (S_ISDIR(src->a.mode) && od != nd) {
		od->a.nlink--;
		nd->a.nlink++;
		src->parent = newparent;
	}
	mem_now(&src->a.ctime);
	s->dirty = 1;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_open_inode(struct store *s, uint64_t ino)
{
	struct mem_inode *n;
	int r = -ENOENT;

	pthread_mutex_lock(&s->lock);
	n = mem_get(s, ino);
	if (n) {
		n->nopen++;
		r = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

void store_release_inode(struct store *s, uint64_t ino)
{
	struct mem_inode *n;

	pthread_mutex_lock(&s->lock);
	n = mem_get(s, ino);
	if (n && n->nopen > 0) {
		n->nopen--;
		mem_maybe_free(s, n);
	}
	pthread_mutex_unlock(&s->lock);
}

int store_read(struct store *s, uint64_t ino, void *buf, size_t size,
	       uint64_t off)
{
	struct mem_inode *n;
	int r;

	pthread_mutex_lock(&s->lock);
	n = mem_get(s, ino);
	if (!n) {
		r = -ENOENT;
	} else if (S_ISDIR(n->a.mode)) {
		r = -EISDIR;
	} else if (off >= n->a.size) {
		r = 0;
	} else {
		size_t k = n->a.size - off < size ? n->a.size - off : size;

		memcpy(buf, n->data + off, k);
		r = (int)k;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_write(struct store *s, uint64_t ino, const void *buf, size_t size,
		uint64_t off)
{
	struct mem_inode *n;
	int r = 0;

	if (s->read_only)
		return -EROFS;
	pthread_mutex_lock(&s->lock);
	n = mem_get(s, ino);
	if (!n) {
		r = -ENOENT;
		goto out;
	}
	if (off + size > n->a.size)
		r = mem_resize(n, off + size);
	if (r < 0)
		goto out;
	memcpy(n->data + off, buf, size);
	mem_now(&n->a.mtime);
	n->a.ctime = n->a.mtime;
	s->dirty = 1;
	r = (int)size;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_readdir(struct store *s, uint64_t ino, uint64_t cookie,
		  store_fill_fn fill, void *ctx)
{
	struct mem_inode *d, *p;
	int r;

	pthread_mutex_lock(&s->lock);
	r = mem_dir(s, ino, &d);
	if (r < 0)
		goto out;
	if (cookie == 0 && fill(ctx, ".", &d->a, 1))
		goto out;
	if (cookie <= 1) {
		p = mem_get(s, d->parent);
		if (fill(ctx, "..", p ? &p->a : &d->a, 2))
			goto out;
	}
	for (struct mem_dirent *e = d->ents; e; e = e->next) {
		if (e->seq < cookie)
			continue;
		if (fill(ctx, e->name, &mem_get(s, e->ino)->a, e->seq + 1))
			break;
	}
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_statfs(struct store *s, struct statvfs *ret)
{
	if (statvfs(s->cloud, ret) < 0)
		return -errno;
	ret->f_namemax = STORE_NAME_MAX;
	return 0;
}

/* ---- extended attributes and fallocate, as the real store answers ---- */

static int mem_xattr_name(const char *name)
{
	static const char *const ns[] = {"user.", "trusted.", "security."};
	size_t len = strlen(name);

	if (len == 0 || len > STORE_XATTR_NAME_MAX)
		return -ERANGE;
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		if (strncmp(name, ns[i], strlen(ns[i])) == 0)
			return len == strlen(ns[i]) ? -EINVAL : 0;
	return -EOPNOTSUPP;
}

static struct mem_xattr **mem_xattr_find(struct mem_inode *n, const char *name)
{
	struct mem_xattr **pp;

	for (pp = &n->xattrs; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->name, name) == 0)
			break;
	return pp;
}

static void mem_xattr_sizes(struct mem_inode *n, size_t *list, size_t *total)
{
	*list = *total = 0;
	for (struct mem_xattr *x = n->xattrs; x; x = x->next) {
		*list += strlen(x->name) + 1;
		*total += strlen(x->name) + 1 + x->vlen;
	}
}

int store_setxattr(struct store *s, uint64_t ino, const char *name,
		   const void *value, size_t size, int flags)
{
	struct mem_xattr **pp, *x;
	struct mem_inode *n;
	size_t list, total;
	uint8_t *v = NULL;
	int r;

	if (s->read_only)
		return -EROFS;
	pthread_mutex_lock(&s->lock);
	n = mem_get(s, ino);
	r = n ? mem_xattr_name(name) : -ENOENT;
	if (r < 0)
		goto out;
	r = -E2BIG;
	if (size > STORE_XATTR_SIZE_MAX)
		goto out;
	r = -EPERM;
	if (strncmp(name, "user.", 5) == 0 && !S_ISREG(n->a.mode) &&
	    !S_ISDIR(n->a.mode))
		goto out;
	pp = mem_xattr_find(n, name);
	r = -EEXIST;
	if (*pp && (flags & STORE_XATTR_CREATE))
		goto out;
	r = -ENODATA;
	if (!*pp && (flags & STORE_XATTR_REPLACE))
		goto out;
	mem_xattr_sizes(n, &list, &total);
	if (*pp) {
		total -= (*pp)->vlen;
	} else {
		list += strlen(name) + 1;
		total += strlen(name) + 1;
	}
	r = -ENOSPC;
	if (list > STORE_XATTR_LIST_MAX || total + size > STORE_XATTR_TOTAL_MAX)
		goto out;
	r = -ENOMEM;
	v = malloc(size ? size : 1);
	if (!v)
		goto out;
	memcpy(v, value, size);
	if (!*pp) {
		x = calloc(1, sizeof(*x));
		if (!x || !(x->name = strdup(name))) {
			free(x);
			free(v);
			goto out;
		}
		*pp = x;
	}
	free((*pp)->value);
	(*pp)->value = v;
	(*pp)->vlen = size;
	mem_now(&n->a.ctime);
	s->dirty = 1;
	r = 0;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_getxattr(struct store *s, uint64_t ino, const char *name, void *buf,
		   size_t size)
{
	struct mem_xattr **pp;
	struct mem_inode *n;
	int r;

	pthread_mutex_lock(&s->lock);
	n = mem_get(s, ino);
	r = n ? mem_xattr_name(name) : -ENOENT;
	if (r < 0)
		goto out;
	pp = mem_xattr_find(n, name);
	if (!*pp)
		r = -ENODATA;
	else if (size && size < (*pp)->vlen)
		r = -ERANGE;
	else
		r = (int)(*pp)->vlen;
	if (r > 0 && size)
		memcpy(buf, (*pp)->value, (*pp)->vlen);
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_listxattr(struct store *s, uint64_t ino, char *buf, size_t size)
{
	struct mem_inode *n;
	size_t list, total, at = 0;
	int r = -ENOENT;

	pthread_mutex_lock(&s->lock);
	n = mem_get(s, ino);
	if (!n)
		goto out;
	mem_xattr_sizes(n, &list, &total);
	r = (int)list;
	if (size == 0)
		goto out;
	if (size < list) {
		r = -ERANGE;
		goto out;
	}
	for (struct mem_xattr *x = n->xattrs; x; x = x->next) {
		memcpy(buf + at, x->name, strlen(x->name) + 1);
		at += strlen(x->name) + 1;
	}
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_removexattr(struct store *s, uint64_t ino, const char *name)
{
	struct mem_xattr **pp, *x;
	struct mem_inode *n;
	int r;

	if (s->read_only)
		return -EROFS;
	pthread_mutex_lock(&s->lock);
	n = mem_get(s, ino);
	r = n ? mem_xattr_name(name) : -ENOENT;
	if (r < 0)
		goto out;
	pp = mem_xattr_find(n, name);
	r = -ENODATA;
	if (!*pp)
		goto out;
	x = *pp;
	*pp = x->next;
	free(x->name);
	free(x->value);
	free(x);
	mem_now(&n->a.ctime);
	s->dirty = 1;
	r = 0;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_fallocate(struct store *s, uint64_t ino, int mode, uint64_t off,
		    uint64_t len)
{
	struct mem_inode *n;
	int r = 0;

	if (s->read_only)
		return -EROFS;
	pthread_mutex_lock(&s->lock);
	n = mem_get(s, ino);
	if (!n)
		r = -ENOENT;
	else if (S_ISDIR(n->a.mode))
		r = -EISDIR;
	else if (!S_ISREG(n->a.mode))
		r = -ENODEV;
	else if (mode != 0 && mode != FALLOC_FL_KEEP_SIZE &&
		 mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
		r = -EOPNOTSUPP;
	else if (len == 0)
		r = -EINVAL;
	else if (off > INT64_MAX || len > INT64_MAX - off)
		r = -EFBIG;
	if (r < 0)
		goto out;
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		uint64_t end = off + len < n->a.size ? off + len : n->a.size;

		if (off < end)
			memset(n->data + off, 0, end - off);
		mem_now(&n->a.mtime);
	} else if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > n->a.size) {
		r = mem_resize(n, off + len);
		if (r < 0)
			goto out;
		mem_now(&n->a.mtime);
	}
	mem_now(&n->a.ctime);
	s->dirty = 1;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

void store_get_status(struct store *s, struct store_status *ret)
{
	pthread_mutex_lock(&s->lock);
	memset(ret, 0, sizeof(*ret));
	ret->generation = s->gen;
	ret->inodes = s->nino;
	ret->read_only = s->read_only;
	pthread_mutex_unlock(&s->lock);
}

int store_debris_classify(const char *where, const char *name, int is_dir,
			  char *of, size_t of_len)
{
	if (of && of_len)
		of[0] = '\0';
	if (where[0] == '\0' && !is_dir && strcmp(name, MEM_MARKER) == 0)
		return 0;
	return STORE_DEBRIS_UNKNOWN;
}

/* The double's folder holds only its marker: everything else is debris. */
int store_scan_folder(const char *cloud_dir, unsigned flags,
		      struct store_folder *ret, store_debris_fn fn, void *ctx)
{
	struct store_folder f;
	struct dirent *de;
	DIR *d;
	int r = 0;

	(void)flags;
	memset(&f, 0, sizeof(f));
	d = opendir(cloud_dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct store_debris db;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		f.total_bytes += (uint64_t)st.st_size;
		if (store_debris_classify("", de->d_name, S_ISDIR(st.st_mode),
					  NULL, 0) == 0) {
			f.has_header = 1;
			continue;
		}
		memset(&db, 0, sizeof(db));
		db.name = de->d_name;
		db.of = "";
		db.kind = STORE_DEBRIS_UNKNOWN;
		db.is_dir = S_ISDIR(st.st_mode);
		db.size = (uint64_t)st.st_size;
		db.mtime = st.st_mtim;
		f.debris++;
		f.debris_bytes += db.size;
		if (fn && (r = fn(ctx, &db)) != 0)
			break;
	}
	closedir(d);
	if (r == 0)
		*ret = f;
	return r;
}

int store_seen_generation(const char *state_dir,
			  const uint8_t store_id[STORE_ID_BYTES], uint64_t *ret)
{
	(void)state_dir;
	(void)store_id;
	(void)ret;
	return -ENOENT;
}

/*
 * vfs-model.c - randomized model-based test of a vaultfs mount.
 *
 * Applies random operations (writes at random offsets, truncate, rename
 * with and without RENAME_NOREPLACE / RENAME_EXCHANGE, link, unlink,
 * mkdir, rmdir, symlink, chmod, xattrs, fsync, descriptors kept open
 * across unlink and rename) both to the mount and to an in-memory model of
 * the tree, and compares each call's result (return value or errno, data
 * read) with what the model predicts, following the Linux VFS's rules for
 * which error wins. Calls that must fail are generated on purpose
 * (ENOENT, EEXIST, ENOTEMPTY, EISDIR, ENOTDIR, ELOOP, EPERM, EINVAL for a
 * directory moved into itself, ENAMETOOLONG, ENODATA, ERANGE).
 *
 * At random points it unmounts and mounts again (`vaultfs umount` /
 * `vaultfs mount`) and compares the whole tree (names, types, modes, link
 * counts, hard-link groups, sizes, content hashes, symlink targets,
 * xattrs), before the unmount and after the mount. At others it checks
 * durability: an fsync, a few more operations, `kill -9` of the daemon,
 * mount again: the tree must be exactly one of the states the model went
 * through since the fsync (every state between two calls that changed
 * something); the model then continues from that state.
 *
 * The seed is printed first; the same seed replays the same operations
 * (exactly up to the first kill -9, whose outcome depends on timing).
 * On failure: the operation number, the operation, what differs, and the
 * last operations before it. Exit 0 = pass, 1 = mismatch, 2 = usage,
 * 99 = could not run (mount failed...).
 *
 *   vfs-model [OPTIONS] MOUNTPOINT     (see usage())
 *
 * The symlinks it makes always dangle (their targets start with '~',
 * which no name in the tree does), so a path through one fails with
 * ENOENT (ENAMETOOLONG if the target's first name is longer than
 * NAME_MAX) and the model never has to resolve symlinks.
 */
#define _GNU_SOURCE
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#include <sodium.h>

#define M_NAME_MAX 255
#define M_MAX_FDS 4
#define M_MAX_ENTRIES 160
#define M_MAX_DEPTH 8
#define M_HASH 16
#define M_RING 24
#define M_DESC 512
#define M_MAX_SNAPS 256
#define M_XATTR_NAMES 6
#define M_MAX_ARGS 32

enum { T_FREE, T_REG, T_DIR, T_LNK };

struct xattr {
	char *name;
	uint8_t *val;
	size_t len;
};

struct dent {
	char *name;
	int node;
};

struct node {
	int type;
	uint32_t mode; /* permission bits */
	int names;     /* directory entries naming it (not for dirs) */
	int opens;     /* descriptors of ours open on it */
	/* T_REG */
	uint8_t *data;
	size_t size, cap;
	int hashed;
	uint8_t hash[M_HASH];
	/* T_LNK */
	char *target;
	/* T_DIR */
	struct dent *ents;
	size_t nents, capents;
	int parent;
	/* all */
	struct xattr *xa;
	size_t nxa;
	/* trees read from a mount: what lstat said; -1 in the model */
	long long st_nlink;
	long long st_size;
	struct timespec st_mtim, st_ctim;
	int read_err; /* errno reading the content or target, 0 */
};

struct model {
	struct node *n;
	size_t nn;
	size_t bytes; /* sum of the sizes of all regular files */
	int scanned;  /* read from a mount: print lstat's numbers */
	int times;    /* scanned: print mtime and ctime too */
};

/* The model's view of a path: the result of walking it. */
struct res {
	int err;	  /* -errno of the walk to the parent, else 0 */
	int lerr;	  /* -errno of looking up the last name, else 0 */
	int dir;	  /* parent directory (-1 for the root itself) */
	const char *name; /* last component (NULL for the root) */
	int node;	  /* what the last component names, or -1 */
};

/* An entry of the tree, for picking paths. */
struct ent {
	char *path; /* relative to the mount, "" = the root */
	int node;
	int depth;
};

struct mfd {
	int fd;
	int node;
	char *path; /* the path it was opened by, for messages */
};

struct ctx {
	/* options */
	const char *mnt;
	const char *vaultfs, *cloud, *key;
	const char *margs[M_MAX_ARGS];
	int nmargs;
	uint64_t seed;
	long nops;
	long remount_every, kill_every, clean_every;
	unsigned clean_wait_ms;
	int xattr; /* 0 off, 1 on, 2 auto */
	int plain;
	int verbose;
	size_t max_bytes;
	int root;
	/* state */
	uint64_t rs; /* PRNG state */
	struct model m;
	long opno;
	struct mfd fds[M_MAX_FDS];
	int nfds;
	struct ent *ents;
	size_t nents;
	char ring[M_RING][M_DESC];
	long ring_no[M_RING];
	char cur[M_DESC];
	/* durability window after an fsync */
	int track;
	uint8_t snaps[M_MAX_SNAPS][32];
	int nsnaps;
	char **snap0; /* manifest at the fsync, for the diff */
	size_t nsnap0;
	/* counts */
	long n_ok, n_err, n_remount, n_kill, n_clean, n_mismatch_nlink;
	long cnt_ok[32], cnt_err[32];
	long cnt_errno[32][160];
	double t_start, t_remount, t_kill;
	long n_ro;
	unsigned kill_sleep_ms;
	uint8_t *buf; /* scratch for data */
	size_t bufsz;
};

/* ---- small helpers ---- */

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "vfs-model: out of memory\n");
		exit(99);
	}
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "vfs-model: out of memory\n");
		exit(99);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

static char *xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		fprintf(stderr, "vfs-model: out of memory\n");
		exit(99);
	}
	return s;
}

static const char *ename(int e)
{
	const char *n;

	if (e == 0)
		return "0";
	n = strerrorname_np(e < 0 ? -e : e);
	return n ? n : "E?";
}

/* splitmix64: small, fast, good enough to pick operations. */
static uint64_t rnd64(struct ctx *c)
{
	uint64_t z = (c->rs += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); 0 if n is 0. */
static uint64_t rnd(struct ctx *c, uint64_t n)
{
	if (n == 0)
		return 0;
	return (uint64_t)(((unsigned __int128)rnd64(c) * n) >> 64);
}

/* True with probability 1/n. */
static int one_in(struct ctx *c, uint64_t n)
{
	return n > 0 && rnd(c, n) == 0;
}

static void rnd_fill(struct ctx *c, uint8_t *p, size_t n)
{
	/* Mostly random bytes, sometimes runs of one byte (or zeros, which
	 * look like holes). */
	if (one_in(c, 5)) {
		memset(p, one_in(c, 2) ? 0 : (int)rnd(c, 256), n);
		return;
	}
	while (n >= 8) {
		uint64_t v = rnd64(c);

		memcpy(p, &v, 8);
		p += 8;
		n -= 8;
	}
	if (n) {
		uint64_t v = rnd64(c);

		memcpy(p, &v, n);
	}
}

/* Paths in messages: long runs of one character shortened ("L*255"). */
static void shorten(const char *s, char *out, size_t outsz)
{
	size_t o = 0;

	while (*s && o + 16 < outsz) {
		size_t run = 1;

		while (s[run] == s[0])
			run++;
		if (run > 8) {
			o += (size_t)snprintf(out + o, outsz - o, "%c*%zu",
					      s[0], run);
			s += run;
		} else {
			out[o++] = *s++;
		}
	}
	out[o] = '\0';
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- failure reporting ---- */

static void record(struct ctx *c)
{
	int i = (int)(c->opno % M_RING);

	memcpy(c->ring[i], c->cur, M_DESC);
	c->ring_no[i] = c->opno;
	if (c->verbose)
		printf("#%ld %s\n", c->opno, c->cur);
}

static void desc(struct ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void desc(struct ctx *c, const char *fmt, ...)
{
	char raw[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	shorten(raw, c->cur, M_DESC);
}

static void history(struct ctx *c)
{
	fprintf(stderr, "last operations:\n");
	for (long n = c->opno - M_RING + 1; n <= c->opno; n++) {
		int i;

		if (n < 1)
			continue;
		i = (int)(n % M_RING);
		if (c->ring_no[i] == n)
			fprintf(stderr, "  #%ld %s\n", n, c->ring[i]);
	}
}

static void fail(struct ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
static void fail(struct ctx *c, const char *fmt, ...)
{
	char raw[8192], msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	shorten(raw, msg, sizeof(msg));
	fflush(stdout);
	fprintf(stderr, "FAIL at op #%ld: %s\n  op: %s\n", c->opno, msg,
		c->cur);
	history(c);
	fprintf(stderr,
		"seed %" PRIu64 " (replay: VFS_MODEL_SEED=%" PRIu64
		", same VFS_MODEL_OPS)\n",
		c->seed, c->seed);
	exit(1);
}

static void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static void fatal(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "vfs-model: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(99);
}

/* ---- the model ---- */

static int node_new(struct model *m, int type, uint32_t mode)
{
	size_t i;
	struct node *n;

	for (i = 0; i < m->nn; i++)
		if (m->n[i].type == T_FREE)
			break;
	if (i == m->nn) {
		m->n = xrealloc(m->n, (m->nn + 1) * sizeof(*m->n));
		m->nn++;
	}
	n = &m->n[i];
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->mode = mode;
	n->parent = -1;
	n->st_nlink = -1;
	n->st_size = -1;
	return (int)i;
}

static void node_free(struct model *m, int i)
{
	struct node *n = &m->n[i];

	if (n->type == T_REG)
		m->bytes -= n->size;
	free(n->data);
	free(n->target);
	for (size_t k = 0; k < n->nents; k++)
		free(n->ents[k].name);
	free(n->ents);
	for (size_t k = 0; k < n->nxa; k++) {
		free(n->xa[k].name);
		free(n->xa[k].val);
	}
	free(n->xa);
	memset(n, 0, sizeof(*n));
	n->type = T_FREE;
}

static void model_free(struct model *m)
{
	for (size_t i = 0; i < m->nn; i++)
		if (m->n[i].type != T_FREE)
			node_free(m, (int)i);
	free(m->n);
	memset(m, 0, sizeof(*m));
}

static void model_init(struct model *m, uint32_t root_mode)
{
	int r;

	memset(m, 0, sizeof(*m));
	r = node_new(m, T_DIR, root_mode);
	m->n[r].parent = r;
}

static int lookup(const struct model *m, int dir, const char *name)
{
	const struct node *d = &m->n[dir];

	for (size_t i = 0; i < d->nents; i++)
		if (strcmp(d->ents[i].name, name) == 0)
			return d->ents[i].node;
	return -1;
}

static void dent_add(struct model *m, int dir, const char *name, int node)
{
	struct node *d = &m->n[dir];

	if (d->nents == d->capents) {
		d->capents = d->capents ? 2 * d->capents : 8;
		d->ents = xrealloc(d->ents, d->capents * sizeof(*d->ents));
	}
	d->ents[d->nents].name = xstrdup(name);
	d->ents[d->nents].node = node;
	d->nents++;
	if (m->n[node].type == T_DIR)
		m->n[node].parent = dir;
	else
		m->n[node].names++;
}

/* Frees the node once nothing names or holds it. */
static void node_maybe_free(struct model *m, int node)
{
	struct node *n = &m->n[node];

	if (n->type != T_DIR && n->names == 0 && n->opens == 0)
		node_free(m, node);
}

/* Removes the entry; keep = do not free the node (it is being moved). */
static void dent_del(struct model *m, int dir, const char *name, int keep)
{
	struct node *d = &m->n[dir];
	int node = -1;

	for (size_t i = 0; i < d->nents; i++) {
		if (strcmp(d->ents[i].name, name) == 0) {
			node = d->ents[i].node;
			free(d->ents[i].name);
			d->ents[i] = d->ents[--d->nents];
			break;
		}
	}
	if (node < 0 || keep)
		return;
	if (m->n[node].type == T_DIR) {
		node_free(m, node);
	} else {
		m->n[node].names--;
		node_maybe_free(m, node);
	}
}

static uint32_t node_nlink(const struct model *m, int i)
{
	const struct node *n = &m->n[i];
	uint32_t k = 2;

	if (n->type != T_DIR)
		return (uint32_t)n->names;
	for (size_t e = 0; e < n->nents; e++)
		if (m->n[n->ents[e].node].type == T_DIR)
			k++;
	return k;
}

static int subtree_depth(const struct model *m, int node)
{
	const struct node *n = &m->n[node];
	int best = 0;

	if (n->type != T_DIR)
		return 0;
	for (size_t e = 0; e < n->nents; e++) {
		int k = subtree_depth(m, n->ents[e].node);

		if (k > best)
			best = k;
	}
	return best + 1;
}

static int node_depth(const struct model *m, int node)
{
	int k = 0;

	while (node != 0) {
		node = m->n[node].parent;
		k++;
	}
	return k;
}

static void file_resize(struct model *m, int node, size_t size)
{
	struct node *n = &m->n[node];

	if (size > n->cap) {
		size_t cap = n->cap ? n->cap : 4096;

		while (cap < size)
			cap *= 2;
		n->data = xrealloc(n->data, cap);
		n->cap = cap;
	}
	if (size > n->size)
		memset(n->data + n->size, 0, size - n->size);
	m->bytes = m->bytes - n->size + size;
	n->size = size;
	n->hashed = 0;
}

static void file_write(struct model *m, int node, const uint8_t *p, size_t len,
		       size_t off)
{
	struct node *n = &m->n[node];

	if (len == 0)
		return;
	if (off + len > n->size)
		file_resize(m, node, off + len);
	memcpy(n->data + off, p, len);
	n->hashed = 0;
}

static struct xattr *xattr_find(struct node *n, const char *name)
{
	for (size_t i = 0; i < n->nxa; i++)
		if (strcmp(n->xa[i].name, name) == 0)
			return &n->xa[i];
	return NULL;
}

static void xattr_set(struct node *n, const char *name, const uint8_t *v,
		      size_t len)
{
	struct xattr *x = xattr_find(n, name);

	if (!x) {
		n->xa = xrealloc(n->xa, (n->nxa + 1) * sizeof(*n->xa));
		x = &n->xa[n->nxa++];
		x->name = xstrdup(name);
		x->val = NULL;
	}
	free(x->val);
	x->val = xmalloc(len);
	memcpy(x->val, v, len);
	x->len = len;
}

static void xattr_del(struct node *n, const char *name)
{
	struct xattr *x = xattr_find(n, name);

	if (!x)
		return;
	free(x->name);
	free(x->val);
	*x = n->xa[--n->nxa];
}

/*
 * What following symlink node ni fails with: its target's first name
 * (from '~', which no name in the tree has) is looked up in the link's
 * directory and is not there, ENOENT - unless that name is longer than
 * NAME_MAX (a long random target without a '/' early on), which the
 * file system refuses with ENAMETOOLONG before it looks.
 */
static int dangle_err(const struct model *m, int ni)
{
	const char *t = m->n[ni].target;

	return strcspn(t, "/") > M_NAME_MAX ? -ENAMETOOLONG : -ENOENT;
}

/*
 * Walks rel ("" = the root, else names separated by '/') as the kernel
 * would: a missing directory on the way is ENOENT, a file ENOTDIR, a
 * symlink ENOENT (ours always dangle; but see dangle_err()); a name longer
 * than NAME_MAX is ENAMETOOLONG where the file system looks it up.
 */
static void resolve(const struct model *m, const char *rel, struct res *r,
		    char *namebuf)
{
	int cur = 0;
	const char *p = rel;

	memset(r, 0, sizeof(*r));
	r->node = -1;
	if (rel[0] == '\0') {
		r->dir = -1;
		r->node = 0;
		return;
	}
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		int next;

		if (len > M_NAME_MAX) {
			if (slash)
				r->err = -ENAMETOOLONG;
			else
				r->lerr = -ENAMETOOLONG;
			r->dir = cur;
			memcpy(namebuf, p, 1);
			namebuf[1] = '\0';
			r->name = namebuf;
			return;
		}
		memcpy(namebuf, p, len);
		namebuf[len] = '\0';
		if (!slash) {
			r->dir = cur;
			r->name = namebuf;
			r->node = lookup(m, cur, namebuf);
			return;
		}
		next = lookup(m, cur, namebuf);
		if (next < 0) {
			r->err = -ENOENT;
			return;
		}
		if (m->n[next].type == T_LNK) {
			r->err = dangle_err(m, next);
			return;
		}
		if (m->n[next].type != T_DIR) {
			r->err = -ENOTDIR;
			return;
		}
		cur = next;
		p = slash + 1;
	}
}

/* ---- the tree as text: what is compared ---- */

struct lines {
	char **v;
	size_t n, cap;
};

static void lines_add(struct lines *l, char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = s;
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_dent(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->name,
		      ((const struct dent *)b)->name);
}

static int cmp_xattr(const void *a, const void *b)
{
	return strcmp(((const struct xattr *)a)->name,
		      ((const struct xattr *)b)->name);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static const uint8_t *node_hash(struct node *n)
{
	if (!n->hashed) {
		crypto_generichash(n->hash, M_HASH, n->data, n->size, NULL, 0);
		n->hashed = 1;
	}
	return n->hash;
}

static char *xattr_text(struct node *n)
{
	char *s = xstrdup(""), *t;

	if (n->nxa == 0)
		return s;
	qsort(n->xa, n->nxa, sizeof(*n->xa), cmp_xattr);
	for (size_t i = 0; i < n->nxa; i++) {
		uint8_t h[8];
		char hx[17];

		crypto_generichash(h, sizeof(h), n->xa[i].val, n->xa[i].len,
				   NULL, 0);
		hex(h, sizeof(h), hx);
		t = xasprintf("%s%s%s=%zu:%s", s, i ? "," : " x[",
			      n->xa[i].name, n->xa[i].len, hx);
		free(s);
		s = t;
	}
	t = xasprintf("%s]", s);
	free(s);
	return t;
}

/* first[node] = the first path naming it in a sorted walk (hard links) */
static void manifest_walk(struct model *m, int dir, const char *path,
			  char **first, struct lines *out)
{
	struct node *d = &m->n[dir];

	if (d->nents > 1)
		qsort(d->ents, d->nents, sizeof(*d->ents), cmp_dent);
	for (size_t i = 0; i < d->nents; i++) {
		int ni = d->ents[i].node;
		struct node *n = &m->n[ni];
		char *p = path[0] ? xasprintf("%s/%s", path, d->ents[i].name)
				  : xstrdup(d->ents[i].name);
		char *xa = xattr_text(n), *grp = xstrdup(""), *line;
		long long nl =
		    m->scanned ? n->st_nlink : (long long)node_nlink(m, ni);

		if (n->type != T_DIR && n->names > 1) {
			free(grp);
			if (!first[ni]) {
				first[ni] = xstrdup(p);
				grp = xstrdup(" =first");
			} else {
				grp = xasprintf(" =%s", first[ni]);
			}
		}
		if (n->type == T_DIR) {
			line =
			    xasprintf("%s d %04o n%lld%s", p, n->mode, nl, xa);
		} else if (n->type == T_REG) {
			char hx[2 * M_HASH + 1];
			long long sz =
			    m->scanned ? n->st_size : (long long)n->size;

			if (n->read_err)
				snprintf(hx, sizeof(hx), "<%s>",
					 ename(n->read_err));
			else
				hex(node_hash(n), M_HASH, hx);
			line = xasprintf("%s f %04o n%lld s%lld h%s%s%s", p,
					 n->mode, nl, sz, hx, grp, xa);
		} else {
			long long sz = m->scanned
					   ? n->st_size
					   : (long long)strlen(n->target);

			line = xasprintf("%s l n%lld s%lld t'%s'%s%s%s", p, nl,
					 sz, n->target,
					 n->read_err ? " <readlink error>" : "",
					 grp, xa);
		}
		if (m->scanned && m->times) {
			char *t = xasprintf(
			    "%s m%lld.%09ld c%lld.%09ld", line,
			    (long long)n->st_mtim.tv_sec, n->st_mtim.tv_nsec,
			    (long long)n->st_ctim.tv_sec, n->st_ctim.tv_nsec);

			free(line);
			line = t;
		}
		lines_add(out, line);
		free(xa);
		free(grp);
		if (n->type == T_DIR)
			manifest_walk(m, ni, p, first, out);
		free(p);
	}
}

static void manifest(struct model *m, struct lines *out)
{
	char **first = xmalloc(m->nn * sizeof(*first));
	struct node *root = &m->n[0];
	char *xa = xattr_text(root);
	long long nl =
	    m->scanned ? root->st_nlink : (long long)node_nlink(m, 0);

	memset(first, 0, m->nn * sizeof(*first));
	lines_add(out, xasprintf(". d %04o n%lld%s", root->mode, nl, xa));
	free(xa);
	manifest_walk(m, 0, "", first, out);
	for (size_t i = 0; i < m->nn; i++)
		free(first[i]);
	free(first);
	qsort(out->v, out->n, sizeof(*out->v), cmp_str);
}

static void lines_digest(const struct lines *l, uint8_t out[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	for (size_t i = 0; i < l->n; i++)
		crypto_generichash_update(&st, (const uint8_t *)l->v[i],
					  strlen(l->v[i]) + 1);
	crypto_generichash_final(&st, out, 32);
}

/* Prints the differing lines of two sorted manifests; returns how many. */
static size_t lines_diff(const struct lines *want, const struct lines *got,
			 const char *wname, const char *gname)
{
	size_t i = 0, j = 0, n = 0;

	while (i < want->n || j < got->n) {
		int c;

		if (i == want->n)
			c = 1;
		else if (j == got->n)
			c = -1;
		else
			c = strcmp(want->v[i], got->v[j]);
		if (c == 0) {
			i++;
			j++;
			continue;
		}
		if (n++ < 40) {
			char s[4096];

			shorten(c < 0 ? want->v[i] : got->v[j], s, sizeof(s));
			fprintf(stderr, "  %s %s\n", c < 0 ? wname : gname, s);
		}
		if (c < 0)
			i++;
		else
			j++;
	}
	if (n > 40)
		fprintf(stderr, "  ... %zu differing lines in all\n", n);
	return n;
}

/* ---- reading the tree from the mount ---- */

struct inomap {
	ino_t *ino;
	int *node;
	size_t n;
};

static int inomap_find(const struct inomap *im, ino_t ino)
{
	for (size_t i = 0; i < im->n; i++)
		if (im->ino[i] == ino)
			return im->node[i];
	return -1;
}

static void inomap_add(struct inomap *im, ino_t ino, int node)
{
	im->ino = xrealloc(im->ino, (im->n + 1) * sizeof(*im->ino));
	im->node = xrealloc(im->node, (im->n + 1) * sizeof(*im->node));
	im->ino[im->n] = ino;
	im->node[im->n] = node;
	im->n++;
}

static void scan_xattrs(struct ctx *c, const char *path, struct node *n)
{
	char list[65536];
	ssize_t len;

	if (!c->xattr)
		return;
	len = llistxattr(path, list, sizeof(list));
	if (len < 0) {
		if (errno == ENOTSUP)
			return;
		fatal("listxattr '%s': %s", path, strerror(errno));
	}
	for (ssize_t o = 0; o < len; o += (ssize_t)strlen(list + o) + 1) {
		uint8_t v[65536];
		ssize_t vl;

		if (c->plain && strncmp(list + o, "user.", 5) != 0)
			continue;
		vl = lgetxattr(path, list + o, v, sizeof(v));
		if (vl < 0) {
			/* in the listing but not readable: show it */
			char bad[64];

			snprintf(bad, sizeof(bad), "<%s>", ename(errno));
			xattr_set(n, list + o, (const uint8_t *)bad,
				  strlen(bad));
			continue;
		}
		xattr_set(n, list + o, v, (size_t)vl);
	}
}

/* lstat, but asking the file system, not the kernel's attribute cache */
static int xstat(const char *path, struct stat *st)
{
	struct statx x;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_STATX_FORCE_SYNC,
		  STATX_BASIC_STATS, &x) < 0)
		return -1;
	memset(st, 0, sizeof(*st));
	st->st_mode = x.stx_mode;
	st->st_ino = (ino_t)x.stx_ino;
	st->st_nlink = x.stx_nlink;
	st->st_size = (off_t)x.stx_size;
	st->st_mtim.tv_sec = x.stx_mtime.tv_sec;
	st->st_mtim.tv_nsec = x.stx_mtime.tv_nsec;
	st->st_ctim.tv_sec = x.stx_ctime.tv_sec;
	st->st_ctim.tv_nsec = x.stx_ctime.tv_nsec;
	return 0;
}

static void scan_file(struct ctx *c, struct model *m, int ni, const char *path,
		      const struct stat *st)
{
	struct node *n = &m->n[ni];
	size_t want = (size_t)st->st_size, got = 0;
	int fd;

	/* A size the model can never have is shown, not read. */
	if (st->st_size < 0 ||
	    (size_t)st->st_size > 4 * c->max_bytes + (1u << 20)) {
		n->read_err = EFBIG;
		return;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		n->read_err = errno;
		return;
	}
	file_resize(m, ni, want);
	n = &m->n[ni];
	for (;;) {
		ssize_t k;

		if (got == n->size)
			file_resize(m, ni, n->size + 65536);
		n = &m->n[ni];
		k = read(fd, n->data + got, n->size - got);
		if (k < 0) {
			n->read_err = errno;
			break;
		}
		if (k == 0)
			break;
		got += (size_t)k;
		if (got > 4 * c->max_bytes + (1u << 20)) {
			n->read_err = EFBIG; /* more than lstat said */
			break;
		}
	}
	close(fd);
	file_resize(m, ni, got);
}

static void scan_dir(struct ctx *c, struct model *m, int dir, const char *path,
		     struct inomap *im)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (!d)
		fatal("opendir '%s': %s", path, strerror(errno));
	while ((e = readdir(d))) {
		struct stat st;
		char *p;
		int ni;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", path, e->d_name);
		if (xstat(p, &st) < 0)
			fatal("statx '%s': %s", p, strerror(errno));
		ni = S_ISDIR(st.st_mode) ? -1 : inomap_find(im, st.st_ino);
		if (ni >= 0) {
			dent_add(m, dir, e->d_name, ni);
			free(p);
			continue;
		}
		if (S_ISREG(st.st_mode)) {
			ni = node_new(m, T_REG, st.st_mode & 07777);
			scan_file(c, m, ni, p, &st);
		} else if (S_ISDIR(st.st_mode)) {
			ni = node_new(m, T_DIR, st.st_mode & 07777);
		} else if (S_ISLNK(st.st_mode)) {
			char t[8192];
			ssize_t k;

			ni = node_new(m, T_LNK, 0777);
			k = readlink(p, t, sizeof(t) - 1);
			if (k < 0) {
				m->n[ni].read_err = errno;
				k = 0;
			}
			t[k] = '\0';
			m->n[ni].target = xstrdup(t);
		} else {
			fatal("'%s': unexpected file type 0%o", p,
			      (unsigned)(st.st_mode & S_IFMT));
		}
		m->n[ni].st_nlink = (long long)st.st_nlink;
		m->n[ni].st_size = (long long)st.st_size;
		m->n[ni].st_mtim = st.st_mtim;
		m->n[ni].st_ctim = st.st_ctim;
		inomap_add(im, st.st_ino, ni);
		scan_xattrs(c, p, &m->n[ni]);
		dent_add(m, dir, e->d_name, ni);
		if (S_ISDIR(st.st_mode))
			scan_dir(c, m, ni, p, im);
		free(p);
	}
	closedir(d);
}

static void scan(struct ctx *c, struct model *m)
{
	struct inomap im = {0};
	struct stat st;

	if (xstat(c->mnt, &st) < 0)
		fatal("statx '%s': %s", c->mnt, strerror(errno));
	model_init(m, st.st_mode & 07777);
	m->scanned = 1;
	m->n[0].st_nlink = (long long)st.st_nlink;
	m->n[0].st_mtim = st.st_mtim;
	m->n[0].st_ctim = st.st_ctim;
	scan_xattrs(c, c->mnt, &m->n[0]);
	scan_dir(c, m, 0, c->mnt, &im);
	free(im.ino);
	free(im.node);
}

/*
 * Compares the whole tree on the mount with the model; on a difference
 * prints it and fails, naming when (what). If ret_times, also returns the
 * mount's manifest with modification and change times.
 */
static void compare_tree(struct ctx *c, const char *what,
			 struct lines *ret_times)
{
	struct model got;
	struct lines lw = {0}, lg = {0};

	scan(c, &got);
	manifest(&c->m, &lw);
	manifest(&got, &lg);
	if (lines_diff(&lw, &lg, "want", "got ") > 0)
		fail(c,
		     "the tree differs from the model %s (want = model, "
		     "got = mount; lines above)",
		     what);
	if (ret_times) {
		got.times = 1;
		manifest(&got, ret_times);
	}
	lines_free(&lw);
	lines_free(&lg);
	model_free(&got);
}

/* The times the mount showed before must be the times it shows now. */
static void compare_times(struct ctx *c, const struct lines *before,
			  const struct lines *now, const char *what)
{
	if (lines_diff(before, now, "before", "now   ") > 0)
		fail(c, "mtime/ctime changed %s (lines above)", what);
}

/* ---- picking paths ---- */

/* clang-format off */
static const char *const pool[] = {
	"a", "b", "c", "d", "e", "f", "g", "A", "file.txt", "Name with space",
	"\xc3\xbc-utf8", "x.y.z",
};
/* clang-format on */
static char long_name[M_NAME_MAX + 1];	   /* 255 x 'L': valid */
static char too_long_name[M_NAME_MAX + 2]; /* 256 x 'M': ENAMETOOLONG */

static void ents_free(struct ctx *c)
{
	for (size_t i = 0; i < c->nents; i++)
		free(c->ents[i].path);
	free(c->ents);
	c->ents = NULL;
	c->nents = 0;
}

static void ents_walk(struct ctx *c, int dir, const char *path, int depth)
{
	struct node *d = &c->m.n[dir];

	for (size_t i = 0; i < d->nents; i++) {
		int ni = d->ents[i].node;
		char *p = path[0] ? xasprintf("%s/%s", path, d->ents[i].name)
				  : xstrdup(d->ents[i].name);

		c->ents = xrealloc(c->ents, (c->nents + 1) * sizeof(*c->ents));
		c->ents[c->nents].path = p;
		c->ents[c->nents].node = ni;
		c->ents[c->nents].depth = depth + 1;
		c->nents++;
		if (c->m.n[ni].type == T_DIR)
			ents_walk(c, ni, p, depth + 1);
	}
}

static void ents_build(struct ctx *c)
{
	ents_free(c);
	c->ents = xmalloc(sizeof(*c->ents));
	c->ents[0].path = xstrdup("");
	c->ents[0].node = 0;
	c->ents[0].depth = 0;
	c->nents = 1;
	/* sorted walk: the same tree gives the same picks */
	for (size_t i = 0; i < c->m.nn; i++)
		if (c->m.n[i].type == T_DIR && c->m.n[i].nents > 1)
			qsort(c->m.n[i].ents, c->m.n[i].nents,
			      sizeof(struct dent), cmp_dent);
	ents_walk(c, 0, "", 0);
}

/* A random entry of type t (0 = any), never the root unless root_ok;
 * NULL if there is none. */
static const struct ent *pick_ent(struct ctx *c, int t, int root_ok)
{
	size_t cand = 0, k;

	for (size_t i = root_ok ? 0 : 1; i < c->nents; i++)
		if (!t || c->m.n[c->ents[i].node].type == t)
			cand++;
	if (cand == 0)
		return NULL;
	k = rnd(c, cand);
	for (size_t i = root_ok ? 0 : 1; i < c->nents; i++)
		if (!t || c->m.n[c->ents[i].node].type == t)
			if (k-- == 0)
				return &c->ents[i];
	return NULL;
}

/* A random entry whose node passes want(), or NULL. */
static const struct ent *pick_ent_if(struct ctx *c,
				     int (*want)(const struct node *))
{
	size_t cand = 0, k;

	for (size_t i = 0; i < c->nents; i++)
		if (want(&c->m.n[c->ents[i].node]))
			cand++;
	if (cand == 0)
		return NULL;
	k = rnd(c, cand);
	for (size_t i = 0; i < c->nents; i++)
		if (want(&c->m.n[c->ents[i].node]) && k-- == 0)
			return &c->ents[i];
	return NULL;
}

static int has_xattrs(const struct node *n)
{
	return n->nxa > 0;
}

static int is_empty_dir(const struct node *n)
{
	return n->type == T_DIR && n->nents == 0;
}

static const char *pick_name(struct ctx *c)
{
	if (one_in(c, 40))
		return long_name;
	return pool[rnd(c, sizeof(pool) / sizeof(pool[0]))];
}

static char *join(const char *dir, const char *name)
{
	return dir[0] ? xasprintf("%s/%s", dir, name) : xstrdup(name);
}

/*
 * A path for an operation: mostly an existing entry (of type prefer, if
 * any, half of the time) or a pool name in an existing directory; now
 * and then one that cannot work (through a file, a symlink, a missing
 * directory, a name too long). Never the root.
 */
static char *pick_path(struct ctx *c, int prefer)
{
	const struct ent *e;
	uint64_t r = rnd(c, 100);

	if (r < 60) {
		e = pick_ent(c, prefer && !one_in(c, 4) ? prefer : 0, 0);
		if (e)
			return xstrdup(e->path);
	}
	if (r < 90) {
		e = pick_ent(c, T_DIR, 1);
		if (e->depth >= M_MAX_DEPTH)
			e = &c->ents[0];
		return join(e->path, pick_name(c));
	}
	if (r < 96) {
		/* through something that is not a directory */
		e = pick_ent(c, one_in(c, 2) ? T_REG : T_LNK, 0);
		if (e) {
			char *a = join(e->path, pick_name(c));

			return a;
		}
	}
	if (r < 98) {
		char *a, *b;

		e = pick_ent(c, T_DIR, 1);
		a = join(e->path, "missing-dir");
		b = join(a, pick_name(c));
		free(a);
		return b;
	}
	e = pick_ent(c, T_DIR, 1);
	return join(e->path, one_in(c, 2) ? too_long_name : long_name);
}

static char *abspath(struct ctx *c, const char *rel)
{
	return rel[0] ? xasprintf("%s/%s", c->mnt, rel) : xstrdup(c->mnt);
}

/* ---- durability window ---- */

/* Called after every call that changed the tree while tracking. */
static void snap(struct ctx *c)
{
	struct lines l = {0};

	if (!c->track)
		return;
	if (c->nsnaps == M_MAX_SNAPS)
		fatal("too many states in one durability window");
	manifest(&c->m, &l);
	lines_digest(&l, c->snaps[c->nsnaps++]);
	lines_free(&l);
}

/* The fsync made the current state durable: start the window anew. */
static void snap_reset(struct ctx *c)
{
	struct lines l = {0};

	if (!c->track)
		return;
	for (size_t i = 0; i < c->nsnap0; i++)
		free(c->snap0[i]);
	free(c->snap0);
	manifest(&c->m, &l);
	lines_digest(&l, c->snaps[0]);
	c->nsnaps = 1;
	c->snap0 = l.v;
	c->nsnap0 = l.n;
}

/* ---- checking results ---- */

enum op_kind {
	K_WRITE,
	K_READ,
	K_TRUNC,
	K_MKDIR,
	K_RMDIR,
	K_UNLINK,
	K_RENAME,
	K_LINK,
	K_SYMLINK,
	K_READLINK,
	K_CHMOD,
	K_STAT,
	K_READDIR,
	K_FSYNC,
	K_FDOPEN,
	K_FDWRITE,
	K_FDREAD,
	K_FDTRUNC,
	K_FDCLOSE,
	K_SETX,
	K_GETX,
	K_REMOVEX,
	K_LISTX,
	K_RENAME_NOREPLACE,
	K_RENAME_EXCHANGE,
	K_FDFSYNC,
	K_NKINDS
};

static const char *const kind_name[K_NKINDS] = {
    "write",	       "read",	      "truncate",  "mkdir",
    "rmdir",	       "unlink",      "rename",	   "link",
    "symlink",	       "readlink",    "chmod",	   "stat",
    "readdir",	       "fsync",	      "fd-open",   "fd-write",
    "fd-read",	       "fd-truncate", "fd-close",  "setxattr",
    "getxattr",	       "removexattr", "listxattr", "rename-noreplace",
    "rename-exchange", "fd-fsync",
};

/* r: the call's return (-1 with errno, or a value); want: 0 or -errno
 * expected. Fails on a difference; returns 1 if the call succeeded. */
static int check(struct ctx *c, int kind, long r, int err, int want)
{
	int got = r < 0 ? -err : 0;

	if (got != want)
		fail(c, "%s returned %s, the model expects %s", kind_name[kind],
		     ename(got), ename(want));
	if (want == 0) {
		c->cnt_ok[kind]++;
	} else {
		c->cnt_err[kind]++;
		if (-want < 160)
			c->cnt_errno[kind][-want]++;
	}
	return want == 0;
}

/* ---- operations ---- */

static size_t pick_len(struct ctx *c, size_t cap)
{
	uint64_t r = rnd(c, 100);
	size_t n;

	if (r < 30)
		n = 1 + rnd(c, 16);
	else if (r < 60)
		n = 1 + rnd(c, 4096);
	else if (r < 85)
		n = 1 + rnd(c, 65536);
	else
		n = 1 + rnd(c, 262144);
	return n > cap ? cap : n;
}

static size_t pick_off(struct ctx *c, size_t size)
{
	uint64_t r = rnd(c, 100);

	if (r < 35)
		return rnd(c, size + 1);
	if (r < 55)
		return size;
	if (r < 75)
		return size + rnd(c, 262144);
	if (r < 90) {
		/* at or near a 64 KiB block boundary */
		size_t b = rnd(c, 5) * 65536;

		return one_in(c, 2) || b == 0 ? b : b + rnd(c, 33) - 16;
	}
	return rnd(c, c->max_bytes / 2);
}

/* Largest write len at off that keeps the model within its bounds. */
static size_t fit(struct ctx *c, int node, size_t off, size_t len)
{
	size_t size = node >= 0 ? c->m.n[node].size : 0;
	size_t grow;

	if (off + len <= size)
		return len;
	grow = off + len - size;
	if (c->m.bytes + grow <= c->max_bytes)
		return len;
	return 0;
}

static void op_write(struct ctx *c)
{
	char nb[M_NAME_MAX + 2];
	char *rel = pick_path(c, T_REG), *p = abspath(c, rel);
	static const uint32_t modes[] = {0644, 0600, 0755, 0640, 0444, 0666};
	uint32_t mode = modes[rnd(c, 6)];
	/* now and then O_TRUNC or O_APPEND (then at the end) */
	uint64_t v = rnd(c, 8);
	int oflags = v == 0 ? O_TRUNC : v == 1 ? O_APPEND : 0;
	struct res rs;
	int want, fd, node, reg;
	size_t off, len;
	ssize_t k;

	resolve(&c->m, rel, &rs, nb);
	node = rs.node;
	reg = node >= 0 && c->m.n[node].type == T_REG;
	off = oflags == O_APPEND  ? (reg ? c->m.n[node].size : 0)
	      : oflags == O_TRUNC ? pick_off(c, 0)
				  : pick_off(c, reg ? c->m.n[node].size : 0);
	len = pick_len(c, c->track ? 65536 : 262144);
	if (!fit(c, node >= 0 && c->m.n[node].type == T_REG ? node : -1, off,
		 len)) {
		/* over the byte budget: write inside the file instead */
		off = node >= 0 && c->m.n[node].type == T_REG
			  ? rnd(c, c->m.n[node].size + 1)
			  : 0;
		len = node >= 0 && c->m.n[node].type == T_REG
			  ? c->m.n[node].size - off
			  : 0;
		if (len > 4096)
			len = 4096;
		if (oflags == O_TRUNC)
			oflags = 0;
		if (oflags == O_APPEND)
			len = 0;
	}
	desc(c, "write('%s', off %zu, len %zu, create mode %04o%s)", rel, off,
	     len, mode,
	     oflags == O_TRUNC	  ? ", O_TRUNC"
	     : oflags == O_APPEND ? ", O_APPEND"
				  : "");
	record(c);
	want = rs.err			    ? rs.err
	       : rs.lerr		    ? rs.lerr
	       : node < 0		    ? 0
	       : c->m.n[node].type == T_DIR ? -EISDIR
	       : c->m.n[node].type == T_LNK ? -ELOOP
					    : 0;
	fd =
	    open(p, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | oflags, mode);
	if (!check(c, K_WRITE, fd, errno, want))
		goto out;
	if (node < 0) {
		node = node_new(&c->m, T_REG, mode);
		dent_add(&c->m, rs.dir, rs.name, node);
		snap(c);
	} else if (oflags == O_TRUNC) {
		file_resize(&c->m, node, 0);
		snap(c);
	}
	rnd_fill(c, c->buf, len);
	if (oflags == O_APPEND)
		k = write(fd, c->buf, len);
	else
		k = pwrite(fd, c->buf, len, (off_t)off);
	if (k != (ssize_t)len)
		fail(c, "pwrite returned %zd (%s), want %zu", k,
		     ename(k < 0 ? errno : 0), len);
	file_write(&c->m, node, c->buf, len, off);
	if (len > 0)
		snap(c);
	if (close(fd) < 0)
		fail(c, "close: %s", ename(errno));
out:
	free(rel);
	free(p);
}

static void cmp_data(struct ctx *c, int node, const uint8_t *got, ssize_t k,
		     size_t off, size_t len)
{
	struct node *n = &c->m.n[node];
	size_t want = off >= n->size ? 0 : n->size - off;

	if (want > len)
		want = len;
	if (k < 0)
		fail(c, "read returned %s", ename(errno));
	if ((size_t)k != want)
		fail(c, "read returned %zd bytes, the model has %zu (size %zu)",
		     k, want, n->size);
	for (size_t i = 0; i < want; i++)
		if (got[i] != n->data[off + i])
			fail(c,
			     "read data differs at file offset %zu: got "
			     "0x%02x, want 0x%02x",
			     off + i, got[i], n->data[off + i]);
}

static void op_read(struct ctx *c)
{
	char nb[M_NAME_MAX + 2];
	char *rel = pick_path(c, T_REG), *p = abspath(c, rel);
	struct res rs;
	int want, fd;
	size_t off, len;
	ssize_t k;

	resolve(&c->m, rel, &rs, nb);
	off = pick_off(c, rs.node >= 0 && c->m.n[rs.node].type == T_REG
			      ? c->m.n[rs.node].size
			      : 0);
	len = pick_len(c, c->bufsz);
	desc(c, "read('%s', off %zu, len %zu)", rel, off, len);
	record(c);
	want = rs.err			       ? rs.err
	       : rs.lerr		       ? rs.lerr
	       : rs.node < 0		       ? -ENOENT
	       : c->m.n[rs.node].type == T_LNK ? -ELOOP
					       : 0;
	fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (!check(c, K_READ, fd, errno, want))
		goto out;
	k = pread(fd, c->buf, len, (off_t)off);
	if (c->m.n[rs.node].type == T_DIR) {
		if (k >= 0 || errno != EISDIR)
			fail(c,
			     "read of a directory returned %zd (%s), want "
			     "EISDIR",
			     k, ename(k < 0 ? errno : 0));
	} else {
		cmp_data(c, rs.node, c->buf, k, off, len);
	}
	close(fd);
out:
	free(rel);
	free(p);
}

static void op_truncate(struct ctx *c)
{
	char nb[M_NAME_MAX + 2];
	char *rel = pick_path(c, T_REG), *p = abspath(c, rel);
	struct res rs;
	int want, r;
	size_t size = 0, len;

	resolve(&c->m, rel, &rs, nb);
	if (rs.node >= 0 && c->m.n[rs.node].type == T_REG)
		size = c->m.n[rs.node].size;
	switch (rnd(c, 6)) {
	case 0:
		len = 0;
		break;
	case 1:
		len = size + 1 + rnd(c, 300000);
		break;
	case 2:
		len = rnd(c, 4) * 65536;
		break;
	default:
		len = rnd(c, size + 1);
		break;
	}
	if (len > size && c->m.bytes + (len - size) > c->max_bytes)
		len = rnd(c, size + 1);
	desc(c, "truncate('%s', %zu)", rel, len);
	record(c);
	want = rs.err			       ? rs.err
	       : rs.lerr		       ? rs.lerr
	       : rs.node < 0		       ? -ENOENT
	       : c->m.n[rs.node].type == T_LNK ? dangle_err(&c->m, rs.node)
	       : c->m.n[rs.node].type == T_DIR ? -EISDIR
					       : 0;
	r = truncate(p, (off_t)len);
	if (check(c, K_TRUNC, r, errno, want)) {
		file_resize(&c->m, rs.node, len);
		snap(c);
	}
	free(rel);
	free(p);
}

static void op_mkdir(struct ctx *c)
{
	char nb[M_NAME_MAX + 2];
	char *rel = pick_path(c, T_DIR), *p = abspath(c, rel);
	static const uint32_t modes[] = {0755, 0700, 0777, 0750, 01777, 0711};
	uint32_t mode = modes[rnd(c, 6)];
	struct res rs;
	int want, r;

	resolve(&c->m, rel, &rs, nb);
	desc(c, "mkdir('%s', %04o)", rel, mode);
	record(c);
	want = rs.err ? rs.err : rs.lerr ? rs.lerr : rs.node >= 0 ? -EEXIST : 0;
	/* keep the tree small: creating is refused by the model, not made */
	if (want == 0 && c->nents > M_MAX_ENTRIES)
		goto out;
	r = mkdir(p, mode);
	if (check(c, K_MKDIR, r, errno, want)) {
		dent_add(&c->m, rs.dir, rs.name, node_new(&c->m, T_DIR, mode));
		snap(c);
	}
out:
	free(rel);
	free(p);
}

static void op_rmdir(struct ctx *c)
{
	char nb[M_NAME_MAX + 2];
	const struct ent *e =
	    one_in(c, 3) ? pick_ent_if(c, is_empty_dir) : NULL;
	char *rel = e && e->path[0] ? xstrdup(e->path) : pick_path(c, T_DIR),
	     *p = abspath(c, rel);
	struct res rs;
	int want, r;

	resolve(&c->m, rel, &rs, nb);
	desc(c, "rmdir('%s')", rel);
	record(c);
	want = rs.err			       ? rs.err
	       : rs.lerr		       ? rs.lerr
	       : rs.node < 0		       ? -ENOENT
	       : c->m.n[rs.node].type != T_DIR ? -ENOTDIR
	       : c->m.n[rs.node].nents	       ? -ENOTEMPTY
					       : 0;
	r = rmdir(p);
	if (check(c, K_RMDIR, r, errno, want)) {
		dent_del(&c->m, rs.dir, rs.name, 0);
		snap(c);
	}
	free(rel);
	free(p);
}

static void op_unlink(struct ctx *c)
{
	char nb[M_NAME_MAX + 2];
	char *rel = pick_path(c, one_in(c, 3) ? T_LNK : T_REG),
	     *p = abspath(c, rel);
	struct res rs;
	int want, r;

	resolve(&c->m, rel, &rs, nb);
	desc(c, "unlink('%s')", rel);
	record(c);
	want = rs.err			       ? rs.err
	       : rs.lerr		       ? rs.lerr
	       : rs.node < 0		       ? -ENOENT
	       : c->m.n[rs.node].type == T_DIR ? -EISDIR
					       : 0;
	r = unlink(p);
	if (check(c, K_UNLINK, r, errno, want)) {
		dent_del(&c->m, rs.dir, rs.name, 0);
		snap(c);
	}
	free(rel);
	free(p);
}

/* lock_rename()'s trap: the child of one parent that is an ancestor of
 * the other parent, or -1. */
static int rename_trap(const struct model *m, int p1, int p2)
{
	int x;

	if (p1 == p2)
		return -1;
	for (x = p2; x != 0; x = m->n[x].parent)
		if (m->n[x].parent == p1)
			return x;
	for (x = p1; x != 0; x = m->n[x].parent)
		if (m->n[x].parent == p2)
			return x;
	return -1;
}

static int rename_want(const struct model *m, const struct res *o,
		       const struct res *n, unsigned flags)
{
	int trap, odir, ndir;

	if (o->err)
		return o->err;
	if (n->err)
		return n->err;
	if (o->lerr)
		return o->lerr;
	if (o->node < 0)
		return -ENOENT;
	if (n->lerr)
		return n->lerr;
	if ((flags & RENAME_NOREPLACE) && n->node >= 0)
		return -EEXIST;
	if ((flags & RENAME_EXCHANGE) && n->node < 0)
		return -ENOENT;
	trap = rename_trap(m, o->dir, n->dir);
	if (trap >= 0 && o->node == trap)
		return -EINVAL;
	if (trap >= 0 && n->node == trap)
		return flags & RENAME_EXCHANGE ? -EINVAL : -ENOTEMPTY;
	if (o->node == n->node)
		return 0;
	if (n->node < 0 || (flags & RENAME_EXCHANGE))
		return 0;
	odir = m->n[o->node].type == T_DIR;
	ndir = m->n[n->node].type == T_DIR;
	if (odir && !ndir)
		return -ENOTDIR;
	if (!odir && ndir)
		return -EISDIR;
	if (ndir && m->n[n->node].nents)
		return -ENOTEMPTY;
	return 0;
}

static void rename_apply(struct model *m, const struct res *o,
			 const struct res *n, unsigned flags)
{
	int on = o->node, nn = n->node;

	if (on == nn)
		return;
	if (flags & RENAME_EXCHANGE) {
		struct node *od = &m->n[o->dir], *nd = &m->n[n->dir];

		for (size_t i = 0; i < od->nents; i++)
			if (strcmp(od->ents[i].name, o->name) == 0)
				od->ents[i].node = nn;
		for (size_t i = 0; i < nd->nents; i++)
			if (strcmp(nd->ents[i].name, n->name) == 0)
				nd->ents[i].node = on;
		if (m->n[on].type == T_DIR)
			m->n[on].parent = n->dir;
		if (m->n[nn].type == T_DIR)
			m->n[nn].parent = o->dir;
		return;
	}
	if (nn >= 0)
		dent_del(m, n->dir, n->name, 0);
	dent_add(m, n->dir, n->name, on);
	if (m->n[on].type != T_DIR)
		m->n[on].names--; /* dent_add counted the new name */
	dent_del(m, o->dir, o->name, 1);
}

static void op_rename(struct ctx *c)
{
	char nb1[M_NAME_MAX + 2], nb2[M_NAME_MAX + 2];
	char *r1 = pick_path(c, 0), *r2, *p1, *p2;
	struct res o, n;
	unsigned flags = 0;
	uint64_t f = rnd(c, 10);
	int want, r;

	/* the target: often in the same directory or an existing name */
	if (one_in(c, 4)) {
		const struct ent *e = pick_ent(c, T_DIR, 1);

		/* sometimes into the source's own subtree */
		if (one_in(c, 3)) {
			const struct ent *s = pick_ent(c, T_DIR, 0);

			if (s && strlen(s->path) < 1000) {
				free(r1);
				r1 = xstrdup(s->path);
			}
		}
		r2 = join(e->path, pick_name(c));
	} else {
		r2 = pick_path(c, 0);
	}
	if (f == 0)
		flags = RENAME_NOREPLACE;
	else if (f == 1)
		flags = RENAME_EXCHANGE;
	else if (f == 2 && one_in(c, 4))
		flags = RENAME_NOREPLACE | RENAME_EXCHANGE;
	p1 = abspath(c, r1);
	p2 = abspath(c, r2);
	resolve(&c->m, r1, &o, nb1);
	resolve(&c->m, r2, &n, nb2);
	desc(c, "rename('%s', '%s'%s)", r1, r2,
	     flags == RENAME_NOREPLACE	? ", NOREPLACE"
	     : flags == RENAME_EXCHANGE ? ", EXCHANGE"
	     : flags			? ", NOREPLACE|EXCHANGE"
					: "");
	record(c);
	if (flags == (RENAME_NOREPLACE | RENAME_EXCHANGE))
		want = -EINVAL;
	else
		want = rename_want(&c->m, &o, &n, flags);
	/* keep the tree within M_MAX_DEPTH levels */
	if (want == 0 && o.node != n.node) {
		int d1 =
		    node_depth(&c->m, n.dir) + 1 + subtree_depth(&c->m, o.node);
		int d2 = flags & RENAME_EXCHANGE
			     ? node_depth(&c->m, o.dir) + 1 +
				   subtree_depth(&c->m, n.node)
			     : 0;

		if (d1 > M_MAX_DEPTH + 1 || d2 > M_MAX_DEPTH + 1)
			goto out;
	}
	r = (int)renameat2(AT_FDCWD, p1, AT_FDCWD, p2, flags);
	if (check(c,
		  flags == RENAME_NOREPLACE  ? K_RENAME_NOREPLACE
		  : flags == RENAME_EXCHANGE ? K_RENAME_EXCHANGE
					     : K_RENAME,
		  r, errno, want)) {
		rename_apply(&c->m, &o, &n, flags);
		snap(c);
	}
out:
	free(r1);
	free(r2);
	free(p1);
	free(p2);
}

static void op_link(struct ctx *c)
{
	char nb1[M_NAME_MAX + 2], nb2[M_NAME_MAX + 2];
	char *r1 = pick_path(c, one_in(c, 4) ? T_LNK : T_REG),
	     *r2 = one_in(c, 3)
		       ? pick_path(c, 0)
		       : join(pick_ent(c, T_DIR, 1)->path, pick_name(c)),
	     *p1 = abspath(c, r1), *p2 = abspath(c, r2);
	struct res o, n;
	int want, r;

	resolve(&c->m, r1, &o, nb1);
	resolve(&c->m, r2, &n, nb2);
	desc(c, "link('%s', '%s')", r1, r2);
	record(c);
	want = o.err			      ? o.err
	       : o.lerr			      ? o.lerr
	       : o.node < 0		      ? -ENOENT
	       : n.err			      ? n.err
	       : n.lerr			      ? n.lerr
	       : n.node >= 0		      ? -EEXIST
	       : c->m.n[o.node].type == T_DIR ? -EPERM
					      : 0;
	r = link(p1, p2);
	if (check(c, K_LINK, r, errno, want)) {
		dent_add(&c->m, n.dir, n.name, o.node);
		snap(c);
	}
	free(r1);
	free(r2);
	free(p1);
	free(p2);
}

static void op_symlink(struct ctx *c)
{
	char nb[M_NAME_MAX + 2];
	char *rel = pick_path(c, T_LNK), *p = abspath(c, rel);
	static const char tch[] = "abcdefghijklmnopqrstuvwxyz0123456789._-/";
	char target[4096];
	size_t tl = one_in(c, 20) ? 1 + rnd(c, 4094) : 1 + rnd(c, 60);
	struct res rs;
	int want, r;

	target[0] = '~';
	for (size_t i = 1; i < tl; i++)
		target[i] = tch[rnd(c, sizeof(tch) - 1)];
	target[tl] = '\0';
	resolve(&c->m, rel, &rs, nb);
	desc(c, "symlink('%.40s'%s (%zu bytes), '%s')", target,
	     tl > 40 ? "..." : "", tl, rel);
	record(c);
	want = rs.err ? rs.err : rs.lerr ? rs.lerr : rs.node >= 0 ? -EEXIST : 0;
	if (want == 0 && c->nents > M_MAX_ENTRIES)
		goto out;
	r = symlink(target, p);
	if (check(c, K_SYMLINK, r, errno, want)) {
		int ni = node_new(&c->m, T_LNK, 0777);

		c->m.n[ni].target = xstrdup(target);
		dent_add(&c->m, rs.dir, rs.name, ni);
		snap(c);
	}
out:
	free(rel);
	free(p);
}

static void op_readlink(struct ctx *c)
{
	char nb[M_NAME_MAX + 2], t[8192];
	char *rel = pick_path(c, T_LNK), *p = abspath(c, rel);
	struct res rs;
	int want;
	ssize_t k;

	resolve(&c->m, rel, &rs, nb);
	desc(c, "readlink('%s')", rel);
	record(c);
	want = rs.err			       ? rs.err
	       : rs.lerr		       ? rs.lerr
	       : rs.node < 0		       ? -ENOENT
	       : c->m.n[rs.node].type != T_LNK ? -EINVAL
					       : 0;
	k = readlink(p, t, sizeof(t));
	if (check(c, K_READLINK, k, errno, want)) {
		const char *mt = c->m.n[rs.node].target;

		if ((size_t)k != strlen(mt) || memcmp(t, mt, (size_t)k) != 0)
			fail(c, "readlink gave %zd bytes '%.*s', want '%s'", k,
			     (int)(k > 80 ? 80 : k), t, mt);
	}
	free(rel);
	free(p);
}

static void op_chmod(struct ctx *c)
{
	char nb[M_NAME_MAX + 2];
	char *rel = pick_path(c, 0), *p = abspath(c, rel);
	uint32_t mode = (uint32_t)rnd(c, 01000) | (one_in(c, 8) ? 01000 : 0);
	struct res rs;
	int want, r;

	resolve(&c->m, rel, &rs, nb);
	/* as a user, keep what the test needs to go on */
	if (!c->root)
		mode |=
		    rs.node >= 0 && c->m.n[rs.node].type == T_DIR ? 0700 : 0600;
	desc(c, "chmod('%s', %04o)", rel, mode);
	record(c);
	want = rs.err			       ? rs.err
	       : rs.lerr		       ? rs.lerr
	       : rs.node < 0		       ? -ENOENT
	       : c->m.n[rs.node].type == T_LNK ? dangle_err(&c->m, rs.node)
					       : 0;
	r = chmod(p, mode);
	if (check(c, K_CHMOD, r, errno, want)) {
		c->m.n[rs.node].mode = mode;
		snap(c);
	}
	free(rel);
	free(p);
}

static void op_stat(struct ctx *c)
{
	char nb[M_NAME_MAX + 2];
	char *rel = one_in(c, 10) ? xstrdup("") : pick_path(c, 0),
	     *p = abspath(c, rel);
	struct res rs;
	struct stat st;
	int want, r;

	resolve(&c->m, rel, &rs, nb);
	desc(c, "lstat('%s')", rel);
	record(c);
	want = rs.err ? rs.err : rs.lerr ? rs.lerr : rs.node < 0 ? -ENOENT : 0;
	r = lstat(p, &st);
	if (check(c, K_STAT, r, errno, want)) {
		struct node *n = &c->m.n[rs.node];
		int type = S_ISREG(st.st_mode)	 ? T_REG
			   : S_ISDIR(st.st_mode) ? T_DIR
			   : S_ISLNK(st.st_mode) ? T_LNK
						 : -1;
		unsigned long long size = n->type == T_REG ? n->size
					  : n->type == T_LNK
					      ? strlen(n->target)
					      : (unsigned long long)st.st_size;

		if (type != n->type)
			fail(c, "lstat: type 0%o, the model has %d",
			     (unsigned)(st.st_mode & S_IFMT), n->type);
		if (n->type != T_LNK && (st.st_mode & 07777) != n->mode)
			fail(c, "lstat: mode %04o, the model has %04o",
			     (unsigned)(st.st_mode & 07777), n->mode);
		if ((unsigned long long)st.st_size != size)
			fail(c, "lstat: size %lld, the model has %llu",
			     (long long)st.st_size, size);
		if (st.st_nlink != node_nlink(&c->m, rs.node))
			fail(c, "lstat: nlink %lu, the model has %u",
			     (unsigned long)st.st_nlink,
			     node_nlink(&c->m, rs.node));
	}
	free(rel);
	free(p);
}

static void op_readdir(struct ctx *c)
{
	char nb[M_NAME_MAX + 2];
	char *rel = one_in(c, 5) ? xstrdup("") : pick_path(c, T_DIR),
	     *p = abspath(c, rel);
	struct res rs;
	int want, fd;
	DIR *d;
	struct dirent *e;
	size_t seen = 0;

	resolve(&c->m, rel, &rs, nb);
	desc(c, "readdir('%s')", rel);
	record(c);
	want = rs.err			       ? rs.err
	       : rs.lerr		       ? rs.lerr
	       : rs.node < 0		       ? -ENOENT
	       : c->m.n[rs.node].type != T_DIR ? -ENOTDIR
					       : 0;
	fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (!check(c, K_READDIR, fd, errno, want))
		goto out;
	d = fdopendir(fd);
	if (!d)
		fatal("fdopendir: %s", strerror(errno));
	errno = 0;
	while ((e = readdir(d))) {
		int ni;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		ni = lookup(&c->m, rs.node, e->d_name);
		if (ni < 0)
			fail(c, "readdir lists '%s', not in the model",
			     e->d_name);
		if (e->d_type != DT_UNKNOWN &&
		    e->d_type != (c->m.n[ni].type == T_DIR   ? DT_DIR
				  : c->m.n[ni].type == T_REG ? DT_REG
							     : DT_LNK))
			fail(c, "readdir: '%s' has d_type %d", e->d_name,
			     e->d_type);
		seen++;
	}
	if (errno)
		fail(c, "readdir: %s", ename(errno));
	if (seen != c->m.n[rs.node].nents)
		fail(c, "readdir listed %zu entries, the model has %zu", seen,
		     c->m.n[rs.node].nents);
	closedir(d);
out:
	free(rel);
	free(p);
}

static void op_fsync(struct ctx *c)
{
	char nb[M_NAME_MAX + 2];
	char *rel = one_in(c, 4) ? xstrdup("") : pick_path(c, 0),
	     *p = abspath(c, rel);
	struct res rs;
	int want, fd;

	resolve(&c->m, rel, &rs, nb);
	desc(c, "fsync('%s')", rel);
	record(c);
	want = rs.err			       ? rs.err
	       : rs.lerr		       ? rs.lerr
	       : rs.node < 0		       ? -ENOENT
	       : c->m.n[rs.node].type == T_LNK ? -ELOOP
					       : 0;
	fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (check(c, K_FSYNC, fd, errno, want)) {
		if (fsync(fd) < 0)
			fail(c, "fsync: %s", ename(errno));
		close(fd);
		snap_reset(c);
	}
	free(rel);
	free(p);
}

/* ---- descriptors kept open ---- */

static void op_fdopen(struct ctx *c)
{
	const struct ent *e = pick_ent(c, T_REG, 0);
	char *p;
	int fd;

	if (!e || c->nfds == M_MAX_FDS)
		return;
	p = abspath(c, e->path);
	desc(c, "open('%s', O_RDWR) -> fd slot %d", e->path, c->nfds);
	record(c);
	fd = open(p, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	check(c, K_FDOPEN, fd, errno, 0);
	c->fds[c->nfds].fd = fd;
	c->fds[c->nfds].node = e->node;
	c->fds[c->nfds].path = xstrdup(e->path);
	c->m.n[e->node].opens++;
	c->nfds++;
	free(p);
}

static void fd_close(struct ctx *c, int i)
{
	struct mfd *f = &c->fds[i];

	if (close(f->fd) < 0)
		fail(c, "close of fd slot %d: %s", i, ename(errno));
	c->m.n[f->node].opens--;
	node_maybe_free(&c->m, f->node);
	free(f->path);
	c->fds[i] = c->fds[--c->nfds];
}

static void fds_close_all(struct ctx *c)
{
	while (c->nfds)
		fd_close(c, c->nfds - 1);
}

static void op_fd(struct ctx *c, int kind)
{
	int i = (int)rnd(c, (uint64_t)c->nfds);
	struct mfd *f = &c->fds[i];
	struct node *n;
	size_t off, len;
	ssize_t k;
	int r;

	if (c->nfds == 0)
		return;
	n = &c->m.n[f->node];
	switch (kind) {
	case K_FDWRITE:
		off = pick_off(c, n->size);
		len = pick_len(c, 65536);
		if (!fit(c, f->node, off, len)) {
			off = rnd(c, n->size + 1);
			len = n->size - off > 4096 ? 4096 : n->size - off;
		}
		desc(c, "pwrite(fd slot %d = '%s'%s, off %zu, len %zu)", i,
		     f->path, n->names ? "" : " (unlinked)", off, len);
		record(c);
		rnd_fill(c, c->buf, len);
		k = pwrite(f->fd, c->buf, len, (off_t)off);
		if (k != (ssize_t)len)
			fail(c, "pwrite returned %zd (%s), want %zu", k,
			     ename(k < 0 ? errno : 0), len);
		file_write(&c->m, f->node, c->buf, len, off);
		c->cnt_ok[kind]++;
		break;
	case K_FDREAD:
		off = pick_off(c, n->size);
		len = pick_len(c, c->bufsz);
		desc(c, "pread(fd slot %d = '%s'%s, off %zu, len %zu)", i,
		     f->path, n->names ? "" : " (unlinked)", off, len);
		record(c);
		k = pread(f->fd, c->buf, len, (off_t)off);
		cmp_data(c, f->node, c->buf, k, off, len);
		c->cnt_ok[kind]++;
		break;
	case K_FDTRUNC:
		len = one_in(c, 3) ? 0 : rnd(c, n->size + 70000);
		if (len > n->size &&
		    c->m.bytes + (len - n->size) > c->max_bytes)
			len = rnd(c, n->size + 1);
		desc(c, "ftruncate(fd slot %d = '%s'%s, %zu)", i, f->path,
		     n->names ? "" : " (unlinked)", len);
		record(c);
		r = ftruncate(f->fd, (off_t)len);
		check(c, K_FDTRUNC, r, errno, 0);
		file_resize(&c->m, f->node, len);
		break;
	case K_FDFSYNC:
		/* a commit, also when the file has no name any more */
		desc(c, "fsync(fd slot %d = '%s'%s)", i, f->path,
		     n->names ? "" : " (unlinked)");
		record(c);
		r = one_in(c, 2) ? fsync(f->fd) : fdatasync(f->fd);
		check(c, K_FDFSYNC, r, errno, 0);
		break;
	default:
		desc(c, "close(fd slot %d = '%s'%s)", i, f->path,
		     n->names ? "" : " (unlinked)");
		record(c);
		fd_close(c, i);
		c->cnt_ok[K_FDCLOSE]++;
		break;
	}
}

/* ---- xattrs ---- */

static const char *const xnames[M_XATTR_NAMES] = {
    "user.a",	    "user.b",
    "user.comment", "user.x.y",
    "user.empty",   "user.a-much-longer-attribute-name-for-the-test-of-names"};

static void op_xattr(struct ctx *c, int kind)
{
	char nb[M_NAME_MAX + 2];
	const struct ent *e =
	    kind != K_SETX && one_in(c, 2) ? pick_ent_if(c, has_xattrs) : NULL;
	char *rel = e		   ? xstrdup(e->path)
		    : one_in(c, 8) ? xstrdup("")
				   : pick_path(c, 0),
	     *p = abspath(c, rel);
	const char *name = xnames[rnd(c, M_XATTR_NAMES)];
	struct res rs;
	struct node *n = NULL;
	struct xattr *x = NULL;
	int want, flags = 0;
	size_t len = 0;
	ssize_t k;

	resolve(&c->m, rel, &rs, nb);
	want = rs.err ? rs.err : rs.lerr ? rs.lerr : rs.node < 0 ? -ENOENT : 0;
	if (want == 0) {
		n = &c->m.n[rs.node];
		/* often a name the entry has */
		for (size_t i = 0; i < n->nxa && kind != K_SETX; i++)
			if (one_in(c, 2))
				name = n->xa[i].name;
		x = xattr_find(n, name);
	}
	switch (kind) {
	case K_SETX:
		if (strcmp(name, "user.empty") != 0)
			len = one_in(c, 10) ? rnd(c, 4000) : rnd(c, 200);
		flags = one_in(c, 3)   ? XATTR_CREATE
			: one_in(c, 2) ? XATTR_REPLACE
				       : 0;
		desc(c, "lsetxattr('%s', '%s', %zu bytes%s)", rel, name, len,
		     flags == XATTR_CREATE    ? ", CREATE"
		     : flags == XATTR_REPLACE ? ", REPLACE"
					      : "");
		record(c);
		if (want == 0 && n->type == T_LNK)
			want = -EPERM;
		else if (want == 0 && x && flags == XATTR_CREATE)
			want = -EEXIST;
		else if (want == 0 && !x && flags == XATTR_REPLACE)
			want = -ENODATA;
		rnd_fill(c, c->buf, len);
		k = lsetxattr(p, name, c->buf, len, flags);
		if (check(c, kind, k, errno, want)) {
			xattr_set(n, name, c->buf, len);
			snap(c);
		}
		break;
	case K_GETX: {
		size_t sz = x && x->len && one_in(c, 6) ? x->len - 1
			    : one_in(c, 6)		? 0
							: 65536;

		desc(c, "lgetxattr('%s', '%s', buffer %zu)", rel, name, sz);
		record(c);
		if (want == 0 && (n->type == T_LNK || !x))
			want = -ENODATA;
		else if (want == 0 && sz && sz < x->len)
			want = -ERANGE;
		k = lgetxattr(p, name, c->buf, sz);
		if (check(c, kind, k, errno, want)) {
			if ((size_t)k != x->len)
				fail(c, "getxattr: %zd bytes, want %zu", k,
				     x->len);
			if (sz && memcmp(c->buf, x->val, x->len) != 0)
				fail(c, "getxattr: the value differs");
		}
		break;
	}
	case K_REMOVEX:
		desc(c, "lremovexattr('%s', '%s')", rel, name);
		record(c);
		if (want == 0 && n->type == T_LNK)
			want = -EPERM;
		else if (want == 0 && !x)
			want = -ENODATA;
		k = lremovexattr(p, name);
		if (check(c, kind, k, errno, want)) {
			xattr_del(n, name);
			snap(c);
		}
		break;
	default: {
		char list[65536];
		size_t cnt = 0, mine = 0;

		desc(c, "llistxattr('%s')", rel);
		record(c);
		k = llistxattr(p, list, sizeof(list));
		if (!check(c, kind, k, errno, want))
			break;
		for (ssize_t o = 0; o < k; o += (ssize_t)strlen(list + o) + 1) {
			if (c->plain && strncmp(list + o, "user.", 5) != 0)
				continue;
			if (!xattr_find(n, list + o))
				fail(c,
				     "listxattr names '%s', not in the "
				     "model",
				     list + o);
			cnt++;
		}
		mine = n->nxa;
		if (cnt != mine)
			fail(c, "listxattr: %zu names, the model has %zu", cnt,
			     mine);
		break;
	}
	}
	free(rel);
	free(p);
}

/* ---- mounting, unmounting, killing ---- */

static int run(char *const argv[])
{
	pid_t pid;
	int st;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		fatal("fork: %s", strerror(errno));
	if (pid == 0) {
		execv(argv[0], argv);
		fprintf(stderr, "vfs-model: exec '%s': %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			fatal("waitpid: %s", strerror(errno));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ro: a --read-only mount, without the --mount-arg options */
static void do_mount(struct ctx *c, int ro)
{
	const char *argv[M_MAX_ARGS + 8];
	int n = 0, code;

	argv[n++] = c->vaultfs;
	argv[n++] = "mount";
	argv[n++] = "--recovery-key-file";
	argv[n++] = c->key;
	if (ro)
		argv[n++] = "--read-only";
	for (int i = 0; i < c->nmargs && !ro; i++)
		argv[n++] = c->margs[i];
	argv[n++] = c->cloud;
	argv[n++] = c->mnt;
	argv[n] = NULL;
	code = run((char *const *)argv);
	if (code != 0)
		fail(c, "vaultfs mount exited %d", code);
}

static void do_umount(struct ctx *c, int want)
{
	const char *argv[] = {c->vaultfs, "umount", c->mnt, NULL};
	int code = run((char *const *)argv);

	if (code != want)
		fail(c, "vaultfs umount exited %d, want %d", code, want);
}

/* The daemon: the pid in the lock file that is still locked. */
static pid_t daemon_pid(struct ctx *c)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	char *dir;
	DIR *d;
	struct dirent *e;
	pid_t found = -1;

	if (!xdg || xdg[0] != '/')
		fatal("XDG_STATE_HOME must be set (absolute) for kill tests");
	dir = xasprintf("%s/vaultfs/mounts", xdg);
	d = opendir(dir);
	if (!d)
		fatal("opendir '%s': %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		char *p, buf[64];
		int fd;
		ssize_t k;
		long pid;

		if (!strstr(e->d_name, ".pid"))
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		free(p);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
			close(fd); /* nobody holds it */
			continue;
		}
		k = pread(fd, buf, sizeof(buf) - 1, 0);
		close(fd);
		if (k <= 0)
			continue;
		buf[k] = '\0';
		if (sscanf(buf, "pid %ld", &pid) == 1)
			found = (pid_t)pid;
	}
	closedir(d);
	free(dir);
	(void)c;
	return found;
}

static int pid_gone(pid_t pid)
{
	char path[64], line[256];
	FILE *f;
	int gone = 1;

	if (kill(pid, 0) < 0)
		return 1;
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "re");
	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "State:", 6) == 0)
			gone = strchr(line, 'Z') != NULL;
	fclose(f);
	return gone;
}

/*
 * Unmounts and mounts again: the tree must be the model's before and
 * after, and every mtime and ctime the same after as before.
 */
static void do_remount(struct ctx *c)
{
	double t0 = now_s();
	struct lines before = {0}, now = {0};

	fds_close_all(c);
	desc(c, "remount");
	record(c);
	compare_tree(c, "before unmounting", &before);
	if (c->plain) {
		lines_free(&before);
		c->n_remount++;
		return;
	}
	do_umount(c, 0);
	if (one_in(c, 4)) {
		/* now and then a read-only mount in between */
		char *p = abspath(c, "ro-probe");

		do_mount(c, 1);
		compare_tree(c, "on a read-only mount", &now);
		compare_times(c, &before, &now, "on a read-only mount");
		lines_free(&now);
		if (mkdir(p, 0755) == 0 || errno != EROFS)
			fail(c, "mkdir on a read-only mount: %s, want EROFS",
			     ename(errno));
		free(p);
		do_umount(c, 0);
		c->n_ro++;
	}
	do_mount(c, 0);
	compare_tree(c, "after unmounting and mounting again", &now);
	compare_times(c, &before, &now, "across the remount");
	lines_free(&before);
	lines_free(&now);
	c->n_remount++;
	c->t_remount += now_s() - t0;
}

static void op_random(struct ctx *c, int mutating_only);

/*
 * fsync, some more operations, kill -9, mount: the tree must be one of
 * the states since the fsync. The model then goes on from that state.
 */
static void do_kill(struct ctx *c)
{
	struct model got;
	struct lines lg = {0}, lw = {0};
	uint8_t d[32];
	int extra = (int)rnd(c, 12), match = -1, fd, slept = -1;
	double t0 = now_s();
	pid_t pid;

	if (c->kill_sleep_ms && extra < 2)
		extra = 2 + (int)rnd(c, 10);
	fds_close_all(c);
	c->track = 1;
	desc(c, "kill window: fsync('') then %d operations, kill -9", extra);
	record(c);
	fd = open(c->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		fail(c, "fsync of the root: %s", ename(errno));
	close(fd);
	snap_reset(c);
	for (int i = 0; i < extra; i++) {
		c->opno++;
		op_random(c, 1);
		if (i == extra / 2 && c->kill_sleep_ms) {
			/* long enough for an automatic commit to land in
			 * the window (once per run: it costs time) */
			struct timespec ts = {c->kill_sleep_ms / 1000,
					      (long)(c->kill_sleep_ms % 1000) *
						  1000000};

			nanosleep(&ts, NULL);
			c->kill_sleep_ms = 0;
			slept = c->nsnaps - 1;
		}
	}
	c->opno++;
	pid = daemon_pid(c);
	desc(c, "kill -9 of the daemon (pid %ld), %d states since the fsync",
	     (long)pid, c->nsnaps);
	record(c);
	if (pid <= 0)
		fatal("no daemon found for '%s'", c->mnt);
	if (kill(pid, SIGKILL) < 0)
		fatal("kill %ld: %s", (long)pid, strerror(errno));
	for (int i = 0; !pid_gone(pid); i++) {
		struct timespec ts = {0, 20 * 1000 * 1000};

		if (i == 500)
			fatal("daemon %ld does not die", (long)pid);
		nanosleep(&ts, NULL);
	}
	c->track = 0;
	do_umount(c, 1); /* "died without a final commit" */
	do_mount(c, 0);
	scan(c, &got);
	manifest(&got, &lg);
	lines_digest(&lg, d);
	for (int i = c->nsnaps - 1; i >= 0; i--)
		if (memcmp(d, c->snaps[i], 32) == 0)
			match = i;
	if (match < 0) {
		lw.v = c->snap0;
		lw.n = c->nsnap0;
		fprintf(stderr,
			"the tree after kill -9 is none of the %d "
			"states since the fsync; against the fsync-ed "
			"state:\n",
			c->nsnaps);
		lines_diff(&lw, &lg, "fsynced", "got    ");
		lines_free(&lw);
		lw.v = NULL;
		manifest(&c->m, &lw);
		fprintf(stderr, "against the last state:\n");
		lines_diff(&lw, &lg, "last   ", "got    ");
		fail(c, "kill -9 lost or invented changes (see above)");
	}
	printf("vfs-model: op %ld: kill -9 %d operations after an fsync: the "
	       "mount has state %d of %d since the fsync%s\n",
	       c->opno, extra, match, c->nsnaps - 1,
	       slept > 0 && match >= slept
		   ? " (an automatic commit landed in the window)"
		   : "");
	/* go on from what the mount has (it is one of the model's states) */
	model_free(&c->m);
	c->m = got;
	c->m.scanned = 0;
	c->m.bytes = 0;
	for (size_t i = 0; i < c->m.nn; i++) {
		struct node *n = &c->m.n[i];

		n->st_nlink = -1;
		n->st_size = -1;
		if (n->type == T_REG)
			c->m.bytes += n->size;
	}
	lines_free(&lg);
	for (size_t i = 0; i < c->nsnap0; i++)
		free(c->snap0[i]);
	free(c->snap0);
	c->snap0 = NULL;
	c->nsnap0 = 0;
	c->n_kill++;
	c->t_kill += now_s() - t0;
}

static void do_clean(struct ctx *c)
{
	struct timespec ts;

	desc(c, "wait %u ms for the cleaner", c->clean_wait_ms);
	record(c);
	ts.tv_sec = c->clean_wait_ms / 1000;
	ts.tv_nsec = (long)(c->clean_wait_ms % 1000) * 1000000;
	nanosleep(&ts, NULL);
	c->n_clean++;
}

/* ---- the main loop ---- */

static void op_random(struct ctx *c, int mutating_only)
{
	/* weights; when the model is near its byte budget, remove more */
	int full = c->m.bytes > c->max_bytes * 3 / 4;
	int big = c->nents > M_MAX_ENTRIES * 3 / 4;
	struct {
		int kind, w;
	} tab[] = {
	    {K_WRITE, full ? 6 : 22},
	    {K_TRUNC, full ? 14 : 6},
	    {K_MKDIR, big ? 2 : 7},
	    {K_RMDIR, big ? 8 : 4},
	    {K_UNLINK, big || full ? 14 : 6},
	    {K_RENAME, 12},
	    {K_LINK, 5},
	    {K_SYMLINK, big ? 1 : 4},
	    {K_CHMOD, 3},
	    {K_SETX, c->xattr ? 4 : 0},
	    {K_REMOVEX, c->xattr ? 2 : 0},
	    /* below: change nothing (or only through descriptors) */
	    {K_READ, mutating_only ? 0 : 8},
	    {K_READLINK, mutating_only ? 0 : 2},
	    {K_STAT, mutating_only ? 0 : 6},
	    {K_READDIR, mutating_only ? 0 : 3},
	    {K_FSYNC, 3},
	    {K_GETX, c->xattr && !mutating_only ? 3 : 0},
	    {K_LISTX, c->xattr && !mutating_only ? 1 : 0},
	    {K_FDOPEN, mutating_only ? 0 : 3},
	    {K_FDWRITE, mutating_only ? 0 : 4},
	    {K_FDREAD, mutating_only ? 0 : 3},
	    {K_FDTRUNC, mutating_only ? 0 : 1},
	    {K_FDCLOSE, mutating_only ? 0 : 2},
	    {K_FDFSYNC, mutating_only ? 0 : 1},
	};
	int total = 0, k = 0, kind = K_STAT;

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		total += tab[i].w;
	k = (int)rnd(c, (uint64_t)total);
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (k < tab[i].w) {
			kind = tab[i].kind;
			break;
		}
		k -= tab[i].w;
	}
	ents_build(c);
	c->cur[0] = '\0';
	switch (kind) {
	case K_WRITE:
		op_write(c);
		break;
	case K_READ:
		op_read(c);
		break;
	case K_TRUNC:
		op_truncate(c);
		break;
	case K_MKDIR:
		op_mkdir(c);
		break;
	case K_RMDIR:
		op_rmdir(c);
		break;
	case K_UNLINK:
		op_unlink(c);
		break;
	case K_RENAME:
		op_rename(c);
		break;
	case K_LINK:
		op_link(c);
		break;
	case K_SYMLINK:
		op_symlink(c);
		break;
	case K_READLINK:
		op_readlink(c);
		break;
	case K_CHMOD:
		op_chmod(c);
		break;
	case K_STAT:
		op_stat(c);
		break;
	case K_READDIR:
		op_readdir(c);
		break;
	case K_FSYNC:
		op_fsync(c);
		break;
	case K_FDOPEN:
		op_fdopen(c);
		break;
	case K_FDWRITE:
	case K_FDREAD:
	case K_FDTRUNC:
	case K_FDCLOSE:
	case K_FDFSYNC:
		op_fd(c, kind);
		break;
	default:
		op_xattr(c, kind);
		break;
	}
}

static void xattr_probe(struct ctx *c)
{
	int r;

	if (c->xattr != 2)
		return;
	r = lsetxattr(c->mnt, "user.vfs-model-probe", "x", 1, 0);
	if (r < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP)) {
		printf("vfs-model: setxattr answers %s here: xattr operations "
		       "off (--xattr on makes that a failure)\n",
		       ename(errno));
		c->xattr = 0;
		return;
	}
	if (r < 0)
		fatal("setxattr probe on '%s': %s", c->mnt, strerror(errno));
	if (lremovexattr(c->mnt, "user.vfs-model-probe") < 0)
		fatal("removexattr probe on '%s': %s", c->mnt, strerror(errno));
	c->xattr = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vfs-model [OPTIONS] MOUNTPOINT\n"
		"  --seed N            PRNG seed (default: random; printed)\n"
		"  --ops N             operations (default 2000)\n"
		"  --vaultfs BIN --cloud DIR --key FILE\n"
		"                      how to unmount and mount MOUNTPOINT\n"
		"  --mount-arg ARG     extra argument for 'vaultfs mount' "
		"(repeatable)\n"
		"  --remount-every N   about every N ops a remount "
		"(default 400, 0 = never)\n"
		"  --kill-every N      about every N ops a kill -9 check "
		"(default 1000, 0 = never)\n"
		"  --kill-sleep MS     in the first kill window, wait MS "
		"between operations\n"
		"                      (lets an automatic commit land in it)\n"
		"  --clean-every N     about every N ops wait for the "
		"cleaner (default 0)\n"
		"  --clean-wait MS     how long (default 1500)\n"
		"  --xattr on|off|auto xattr operations (default auto: on "
		"unless ENOTSUP)\n"
		"  --max-bytes N       bound of all file data (default 6 "
		"MiB)\n"
		"  --plain             MOUNTPOINT is any directory (checks "
		"the model against\n"
		"                      the kernel's file system; no remounts)\n"
		"  --verbose           print every operation\n");
}

static long num(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return -1;
	return (long)v;
}

static int parse(struct ctx *c, int argc, char **argv)
{
	const char *seed = getenv("VFS_MODEL_SEED");

	c->nops = 2000;
	c->remount_every = 400;
	c->kill_every = 1000;
	c->clean_every = 0;
	c->clean_wait_ms = 1500;
	c->xattr = 2;
	c->max_bytes = 6u << 20;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int takes = 1;

		if (strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "--plain") == 0) {
			c->plain = 1;
			takes = 0;
		} else if (strcmp(a, "--verbose") == 0) {
			c->verbose = 1;
			takes = 0;
		} else if (a[0] != '-') {
			if (c->mnt)
				return -1;
			c->mnt = a;
			continue;
		}
		if (!takes)
			continue;
		if (!v)
			return -1;
		i++;
		if (strcmp(a, "--seed") == 0)
			seed = v;
		else if (strcmp(a, "--ops") == 0)
			c->nops = num(v);
		else if (strcmp(a, "--vaultfs") == 0)
			c->vaultfs = v;
		else if (strcmp(a, "--cloud") == 0)
			c->cloud = v;
		else if (strcmp(a, "--key") == 0)
			c->key = v;
		else if (strcmp(a, "--mount-arg") == 0 &&
			 c->nmargs < M_MAX_ARGS)
			c->margs[c->nmargs++] = v;
		else if (strcmp(a, "--remount-every") == 0)
			c->remount_every = num(v);
		else if (strcmp(a, "--kill-every") == 0)
			c->kill_every = num(v);
		else if (strcmp(a, "--clean-every") == 0)
			c->clean_every = num(v);
		else if (strcmp(a, "--kill-sleep") == 0)
			c->kill_sleep_ms = (unsigned)num(v);
		else if (strcmp(a, "--clean-wait") == 0)
			c->clean_wait_ms = (unsigned)num(v);
		else if (strcmp(a, "--max-bytes") == 0)
			c->max_bytes = (size_t)num(v);
		else if (strcmp(a, "--xattr") == 0)
			c->xattr = strcmp(v, "on") == 0	    ? 1
				   : strcmp(v, "off") == 0  ? 0
				   : strcmp(v, "auto") == 0 ? 2
							    : -1;
		else
			return -1;
	}
	if (!c->mnt || c->nops < 0 || c->remount_every < 0 ||
	    c->kill_every < 0 || c->clean_every < 0 || c->xattr < 0 ||
	    c->max_bytes < 65536 || c->max_bytes > (1u << 30))
		return -1;
	if (!c->plain && (!c->vaultfs || !c->cloud || !c->key))
		return -1;
	if (seed && seed[0]) {
		char *end;

		errno = 0;
		c->seed = strtoull(seed, &end, 10);
		if (errno || *end)
			return -1;
	} else {
		randombytes_buf(&c->seed, sizeof(c->seed));
		c->seed %= 10000000000000ull;
	}
	return 0;
}

static void summary(struct ctx *c)
{
	printf("vfs-model: %ld operations, %ld remounts (%ld with a read-only "
	       "mount between), %ld kill -9, %ld cleaner waits; final tree %zu "
	       "entries, %zu bytes; %.1f s (remounts %.1f s, kill windows "
	       "%.1f s)\n",
	       c->opno, c->n_remount, c->n_ro, c->n_kill, c->n_clean,
	       c->nents - 1, c->m.bytes, now_s() - c->t_start, c->t_remount,
	       c->t_kill);
	for (int k = 0; k < K_NKINDS; k++) {
		if (!c->cnt_ok[k] && !c->cnt_err[k])
			continue;
		printf("  %-12s %5ld ok", kind_name[k], c->cnt_ok[k]);
		for (int e = 1; e < 160; e++)
			if (c->cnt_errno[k][e])
				printf(", %ld %s", c->cnt_errno[k][e],
				       ename(e));
		printf("\n");
	}
}

/* A run long enough to mean something must have done the main things,
 * and must have seen them fail as well as succeed. */
static void sanity(struct ctx *c)
{
	static const int need_ok[] = {K_WRITE,	K_RENAME, K_LINK, K_MKDIR,
				      K_UNLINK, K_TRUNC,  K_RMDIR};
	static const int need_err[] = {K_RENAME, K_MKDIR, K_UNLINK, K_RMDIR,
				       K_LINK};

	if (c->nops < 1000)
		return;
	for (size_t i = 0; i < sizeof(need_ok) / sizeof(need_ok[0]); i++)
		if (!c->cnt_ok[need_ok[i]])
			fail(c, "no %s ever succeeded: the generator is broken",
			     kind_name[need_ok[i]]);
	for (size_t i = 0; i < sizeof(need_err) / sizeof(need_err[0]); i++)
		if (!c->cnt_err[need_err[i]])
			fail(c, "no %s ever failed: the generator is broken",
			     kind_name[need_err[i]]);
}

/* The op number of the next event that comes about every `every` ops
 * (never when every is 0): between every/2 and 3*every/2 from now. */
static long next_at(struct ctx *c, long now, long every)
{
	if (every == 0)
		return LONG_MAX;
	return now + every / 2 + 1 + (long)rnd(c, (uint64_t)every);
}

int main(int argc, char **argv)
{
	struct ctx c;
	struct stat st;
	long next_remount, next_kill, next_clean;

	memset(&c, 0, sizeof(c));
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sodium_init() < 0)
		fatal("libsodium failed to initialise");
	if (parse(&c, argc, argv) < 0) {
		usage(stderr);
		return 2;
	}
	/* first, so that any failure can be replayed */
	printf("vfs-model: seed %" PRIu64 " ops %ld%s (replay: "
	       "VFS_MODEL_SEED=%" PRIu64 ")\n",
	       c.seed, c.nops, c.plain ? " plain" : "", c.seed);
	c.rs = c.seed;
	c.t_start = now_s();
	c.root = geteuid() == 0;
	memset(long_name, 'L', M_NAME_MAX);
	memset(too_long_name, 'M', M_NAME_MAX + 1);
	umask(0);
	c.bufsz = 1u << 20;
	c.buf = xmalloc(c.bufsz);

	if (lstat(c.mnt, &st) < 0 || !S_ISDIR(st.st_mode))
		fatal("'%s' is not a directory", c.mnt);
	/* the test starts from an empty tree */
	{
		DIR *d = opendir(c.mnt);
		struct dirent *e;

		if (!d)
			fatal("opendir '%s': %s", c.mnt, strerror(errno));
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				fatal("'%s' is not empty", c.mnt);
		closedir(d);
	}
	xattr_probe(&c);
	model_init(&c.m, st.st_mode & 07777);
	if (c.plain)
		c.kill_every = 0;

	/* remounts, kills and waits at random points, but spread evenly
	 * enough that a run's length is predictable */
	next_remount = next_at(&c, 0, c.remount_every);
	next_kill = next_at(&c, 0, c.kill_every);
	next_clean = next_at(&c, 0, c.clean_every);
	for (c.opno = 1; c.opno <= c.nops; c.opno++) {
		if (c.opno >= next_remount) {
			do_remount(&c);
			next_remount = next_at(&c, c.opno, c.remount_every);
			continue;
		}
		if (c.opno >= next_kill) {
			do_kill(&c);
			next_kill = next_at(&c, c.opno, c.kill_every);
			continue;
		}
		if (c.opno >= next_clean) {
			do_clean(&c);
			next_clean = next_at(&c, c.opno, c.clean_every);
			continue;
		}
		op_random(&c, 0);
	}
	c.opno = c.nops;
	/* the end: at least one kill if asked for, always a remount */
	if (c.kill_every && c.n_kill == 0) {
		ents_build(&c);
		do_kill(&c);
	}
	do_remount(&c);
	ents_build(&c);
	sanity(&c);
	summary(&c);
	printf("vfs-model: PASS (seed %" PRIu64 ")\n", c.seed);
	ents_free(&c);
	model_free(&c.m);
	free(c.buf);
	return 0;
}

/*
 * test_store_posix.c - extended attributes, fallocate and big sparse files
 * through store.h: semantics (errnos, flags, size queries, ctime), and
 * persistence across commits, remounts, checkpoints, cleaning, renames and
 * links; the header raised to format 2 before the first commit that needs
 * it, also when a crash interrupts that commit at any step.
 */
#include "config.h"

#include <errno.h>
#include <linux/falloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>

#include "fsutil.h"
#include "objstore.h"
#include "store.h"
#include "store_priv.h"

struct env {
	char *top, *cloud, *state;
	uint8_t key[32];
};

static struct env *env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->top = tu_mkdtemp();
	e->cloud = tu_join(e->top, "cloud");
	e->state = tu_join(e->top, "state");
	assert_int_equal(mkdir(e->cloud, 0700), 0);
	tu_key(e->key, 3);
	assert_int_equal(store_create(e->cloud, e->key, NULL), 0);
	return e;
}

static void env_free(struct env *e)
{
	tu_rmrf(e->top);
	free(e->top);
	free(e->cloud);
	free(e->state);
	free(e);
}

static struct store *xopen(struct env *e, unsigned flags)
{
	struct store *s = NULL;

	assert_int_equal(store_open(e->cloud, e->key, e->state, flags, &s), 0);
	return s;
}

static uint32_t format_of(struct env *e)
{
	struct store_info info;

	assert_int_equal(store_read_info(e->cloud, &info), 0);
	return info.format_version;
}

static int ts_after(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

static void get_is(struct store *s, uint64_t ino, const char *name,
		   const char *want)
{
	char buf[256];
	int n = store_getxattr(s, ino, name, buf, sizeof(buf));

	assert_int_equal(n, (int)strlen(want));
	assert_memory_equal(buf, want, (size_t)n);
}

static void list_is(struct store *s, uint64_t ino, const char *want,
		    size_t wlen)
{
	char buf[512];

	assert_int_equal(store_listxattr(s, ino, NULL, 0), (int)wlen);
	assert_int_equal(store_listxattr(s, ino, buf, sizeof(buf)), (int)wlen);
	assert_memory_equal(buf, want, wlen);
}

/* ---- extended attributes ---- */

static void test_xattr_semantics(void **state)
{
	struct env *e = env_new();
	struct store *s = xopen(e, 0);
	struct store_attr f, d, l, p, a;
	struct timespec before;
	char small[2];

	(void)state;
	assert_int_equal(store_mknod(s, 1, "f", S_IFREG | 0600, 0, 0, 0, &f),
			 0);
	assert_int_equal(store_mkdir(s, 1, "d", 0700, 0, 0, &d), 0);
	assert_int_equal(store_symlink(s, 1, "l", "f", 0, 0, &l), 0);
	assert_int_equal(store_mknod(s, 1, "p", S_IFIFO | 0600, 0, 0, 0, &p),
			 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(format_of(e), 1);

	/* empty */
	assert_int_equal(store_getxattr(s, f.ino, "user.a", NULL, 0), -ENODATA);
	assert_int_equal(store_listxattr(s, f.ino, NULL, 0), 0);
	assert_int_equal(store_removexattr(s, f.ino, "user.a"), -ENODATA);

	/* set bumps ctime, not mtime */
	assert_int_equal(store_getattr(s, f.ino, &a), 0);
	before = a.ctime;
	nanosleep(&(struct timespec){0, 2000000}, NULL);
	assert_int_equal(store_setxattr(s, f.ino, "user.a", "alpha", 5, 0), 0);
	assert_int_equal(store_getattr(s, f.ino, &a), 0);
	assert_true(ts_after(&a.ctime, &before));
	assert_false(ts_after(&a.mtime, &before));
	assert_int_equal(store_setxattr(s, f.ino, "security.b", "", 0, 0), 0);
	assert_int_equal(store_setxattr(s, f.ino, "trusted.c", "\0\1", 2, 0),
			 0);
	get_is(s, f.ino, "user.a", "alpha");
	assert_int_equal(store_getxattr(s, f.ino, "security.b", NULL, 0), 0);
	assert_int_equal(store_getxattr(s, f.ino, "trusted.c", NULL, 0), 2);
	/* too small a buffer */
	assert_int_equal(store_getxattr(s, f.ino, "user.a", small, 2), -ERANGE);
	assert_int_equal(store_listxattr(s, f.ino, small, 2), -ERANGE);
	list_is(s, f.ino, "user.a\0security.b\0trusted.c", 28);
	/* flags */
	assert_int_equal(
	    store_setxattr(s, f.ino, "user.a", "x", 1, STORE_XATTR_CREATE),
	    -EEXIST);
	assert_int_equal(
	    store_setxattr(s, f.ino, "user.z", "x", 1, STORE_XATTR_REPLACE),
	    -ENODATA);
	assert_int_equal(
	    store_setxattr(s, f.ino, "user.a", "beta", 4, STORE_XATTR_REPLACE),
	    0);
	get_is(s, f.ino, "user.a", "beta");
	/* names */
	assert_int_equal(
	    store_setxattr(s, f.ino, "system.posix_acl_access", "x", 1, 0),
	    -EOPNOTSUPP);
	assert_int_equal(
	    store_getxattr(s, f.ino, "system.posix_acl_default", NULL, 0),
	    -EOPNOTSUPP);
	assert_int_equal(store_setxattr(s, f.ino, "os2.x", "x", 1, 0),
			 -EOPNOTSUPP);
	assert_int_equal(store_setxattr(s, f.ino, "user.", "x", 1, 0), -EINVAL);
	assert_int_equal(store_setxattr(s, f.ino, "", "x", 1, 0), -ERANGE);
	{
		char n[300];

		memset(n, 'n', sizeof(n));
		memcpy(n, "user.", 5);
		n[256] = '\0';
		assert_int_equal(store_setxattr(s, f.ino, n, "x", 1, 0),
				 -ERANGE);
		n[255] = '\0';
		assert_int_equal(store_setxattr(s, f.ino, n, "x", 1, 0), 0);
		assert_int_equal(store_removexattr(s, f.ino, n), 0);
	}
	/* values */
	{
		static char big[STORE_XATTR_SIZE_MAX + 1];

		assert_int_equal(
		    store_setxattr(s, f.ino, "user.big", big, sizeof(big), 0),
		    -E2BIG);
		assert_int_equal(store_setxattr(s, f.ino, "user.big", big,
						STORE_XATTR_SIZE_MAX, 0),
				 0);
		assert_int_equal(store_getxattr(s, f.ino, "user.big", NULL, 0),
				 STORE_XATTR_SIZE_MAX);
		assert_int_equal(store_removexattr(s, f.ino, "user.big"), 0);
	}
	/* user.* only on files and directories */
	assert_int_equal(store_setxattr(s, d.ino, "user.d", "dir", 3, 0), 0);
	assert_int_equal(store_setxattr(s, l.ino, "user.l", "x", 1, 0), -EPERM);
	assert_int_equal(store_setxattr(s, p.ino, "user.p", "x", 1, 0), -EPERM);
	assert_int_equal(store_setxattr(s, l.ino, "trusted.l", "lnk", 3, 0), 0);
	assert_int_equal(store_setxattr(s, p.ino, "security.p", "fifo", 4, 0),
			 0);
	assert_int_equal(store_setxattr(s, 12345, "user.x", "x", 1, 0),
			 -ENOENT);
	assert_int_equal(store_close(s), 0);
	/* the first commit with attributes raised the header */
	assert_int_equal(format_of(e), 2);

	s = xopen(e, STORE_READ_ONLY);
	get_is(s, f.ino, "user.a", "beta");
	get_is(s, d.ino, "user.d", "dir");
	get_is(s, l.ino, "trusted.l", "lnk");
	get_is(s, p.ino, "security.p", "fifo");
	list_is(s, f.ino, "user.a\0security.b\0trusted.c", 28);
	assert_int_equal(store_setxattr(s, f.ino, "user.q", "x", 1, 0), -EROFS);
	assert_int_equal(store_removexattr(s, f.ino, "user.a"), -EROFS);
	assert_int_equal(store_close(s), 0);
	env_free(e);
}

/* Attributes belong to the inode: both names of a hard link see them, a
 * rename keeps them, an unlinked open file keeps them until released. */
static void test_xattr_links(void **state)
{
	struct env *e = env_new();
	struct store *s = xopen(e, 0);
	struct store_attr f, d, a;

	(void)state;
	assert_int_equal(store_mkdir(s, 1, "d", 0700, 0, 0, &d), 0);
	assert_int_equal(store_mknod(s, 1, "f", S_IFREG | 0600, 0, 0, 0, &f),
			 0);
	assert_int_equal(store_setxattr(s, f.ino, "user.k", "v1", 2, 0), 0);
	assert_int_equal(store_link(s, f.ino, d.ino, "g", &a), 0);
	assert_int_equal(store_rename(s, 1, "f", d.ino, "f2", 0), 0);
	assert_int_equal(store_setxattr(s, d.ino, "user.dir", "yes", 3, 0), 0);
	assert_int_equal(store_rename(s, 1, "d", 1, "e", 0), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_close(s), 0);

	s = xopen(e, 0);
	assert_int_equal(store_lookup(s, 1, "e", &d), 0);
	get_is(s, d.ino, "user.dir", "yes");
	assert_int_equal(store_lookup(s, d.ino, "g", &a), 0);
	assert_int_equal(a.ino, f.ino);
	get_is(s, a.ino, "user.k", "v1");
	assert_int_equal(store_lookup(s, d.ino, "f2", &a), 0);
	assert_int_equal(a.nlink, 2);
	/* one name goes: the other keeps the attribute */
	assert_int_equal(store_unlink(s, d.ino, "f2"), 0);
	get_is(s, f.ino, "user.k", "v1");
	/* the last name goes while open: still usable, never logged */
	assert_int_equal(store_open_inode(s, f.ino), 0);
	assert_int_equal(store_unlink(s, d.ino, "g"), 0);
	assert_int_equal(store_setxattr(s, f.ino, "user.k", "v2", 2, 0), 0);
	get_is(s, f.ino, "user.k", "v2");
	assert_int_equal(store_removexattr(s, f.ino, "user.k"), 0);
	assert_int_equal(store_commit(s), 0);
	store_release_inode(s, f.ino);
	store_forget(s, f.ino, 3);
	assert_int_equal(store_close(s), 0);
	s = xopen(e, 0);
	assert_int_equal(store_lookup(s, 1, "e", &d), 0);
	assert_int_equal(store_lookup(s, d.ino, "g", &a), -ENOENT);
	assert_int_equal(store_getxattr(s, f.ino, "user.k", NULL, 0), -ENOENT);
	assert_int_equal(store_close(s), 0);
	env_free(e);
}

/* Through many commits, a checkpoint and a cleaner pass, and remounts. */
static void test_xattr_checkpoint_clean(void **state)
{
	struct env *e = env_new();
	struct store *s = xopen(e, 0);
	struct store_stats st0, st1;
	struct store_attr f, g;
	uint8_t data[4096];
	char name[32], val[32];

	(void)state;
	tu_fill(data, sizeof(data), 9);
	assert_int_equal(store_mknod(s, 1, "f", S_IFREG | 0600, 0, 0, 0, &f),
			 0);
	assert_int_equal(store_mknod(s, 1, "g", S_IFREG | 0600, 0, 0, 0, &g),
			 0);
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "user.n%d", i % 7);
		snprintf(val, sizeof(val), "value %d", i);
		assert_int_equal(
		    store_setxattr(s, f.ino, name, val, strlen(val), 0), 0);
		if (i % 5 == 4)
			assert_int_equal(store_removexattr(s, f.ino, name), 0);
		assert_int_equal(store_write(s, g.ino, data, sizeof(data),
					     (uint64_t)i * 4096),
				 (int)sizeof(data));
		assert_int_equal(store_commit(s), 0);
	}
	store_get_stats(s, &st0);
	store_set_clean(s, 0, 0);
	assert_true(store_clean(s) >= 0);
	store_get_stats(s, &st1);
	/* the cleaner moved the small segments and checkpointed */
	assert_true(st1.checkpoints > st0.checkpoints);
	assert_true(st1.compactions > st0.compactions);
	assert_true(store_clean(s) >= 0);
	assert_int_equal(store_close(s), 0);

	s = xopen(e, 0);
	store_get_stats(s, &st1);
	assert_int_equal(st1.commits_since_ckpt, 0); /* loaded from it */
	/* the model: n0..n6 set to the last value of each, minus removals */
	for (int k = 0; k < 7; k++) {
		int last = -1, removed = 0;

		for (int i = 0; i < 40; i++) {
			if (i % 7 != k)
				continue;
			last = i;
			removed = i % 5 == 4;
		}
		snprintf(name, sizeof(name), "user.n%d", k);
		if (removed) {
			assert_int_equal(
			    store_getxattr(s, f.ino, name, NULL, 0), -ENODATA);
		} else {
			snprintf(val, sizeof(val), "value %d", last);
			get_is(s, f.ino, name, val);
		}
	}
	{
		uint8_t back[4096];

		assert_int_equal(
		    store_read(s, g.ino, back, sizeof(back), 39 * 4096),
		    (int)sizeof(back));
		assert_memory_equal(back, data, sizeof(back));
	}
	assert_int_equal(store_close(s), 0);
	env_free(e);
}

/* ---- the header raised to format 2 ---- */

struct fault {
	int n;
	int crash_at;
	int crashed;
};

static int hook(void *ctx, enum objstore_step step, const char *name)
{
	struct fault *f = ctx;

	(void)step;
	(void)name;
	if (++f->n > f->crash_at) {
		f->crashed = 1;
		return -EIO;
	}
	return 0;
}

/*
 * Crash at every step of the first commit with an attribute: afterwards
 * the store opens, and whenever the attribute is there the header says
 * format 2 (a vaultfs that knows only format 1 refuses the store at the
 * header instead of skipping to an older commit). Data-only changes and
 * mode-0 fallocate never raise it.
 */
static void test_format_raise(void **state)
{
	int saw_old = 0, saw_new = 0;

	(void)state;
	for (int k = 0; k < 100; k++) {
		struct env *e = env_new();
		struct fault f = {.crash_at = k};
		struct objstore *os = NULL;
		struct store *s = NULL;
		struct store_attr a;
		char v[8];
		int r;

		assert_int_equal(objstore_new(e->cloud, &os), 0);
		assert_int_equal(store_open_os(os, e->key, e->state, 0, &s), 0);
		assert_int_equal(
		    store_mknod(s, 1, "f", S_IFREG | 0600, 0, 0, 0, &a), 0);
		assert_int_equal(store_write(s, a.ino, "data", 4, 0), 4);
		assert_int_equal(store_fallocate(s, a.ino, 0, 0, 100000), 0);
		assert_int_equal(store_commit(s), 0);
		assert_int_equal(format_of(e), 1);
		objstore_set_fault(os, hook, &f);
		assert_int_equal(store_setxattr(s, a.ino, "user.x", "1", 1, 0),
				 0);
		r = store_commit(s);
		(void)store_close(s);
		objstore_free(os);

		s = xopen(e, 0);
		assert_int_equal(store_lookup(s, 1, "f", &a), 0);
		assert_int_equal(a.size, 100000);
		if (store_getxattr(s, a.ino, "user.x", v, sizeof(v)) == 1) {
			assert_int_equal(format_of(e), 2);
			saw_new = 1;
		} else {
			assert_true(r != 0);
			saw_old = 1;
		}
		/* the store keeps working, and ends at format 2 */
		assert_int_equal(store_setxattr(s, a.ino, "user.y", "2", 1, 0),
				 0);
		assert_int_equal(store_close(s), 0);
		assert_int_equal(format_of(e), 2);
		s = xopen(e, STORE_READ_ONLY);
		assert_int_equal(store_getxattr(s, a.ino, "user.y", v, 8), 1);
		assert_int_equal(store_close(s), 0);
		env_free(e);
		if (!f.crashed) {
			assert_int_equal(r, 0);
			print_message("crash points tried: %d\n", k);
			break;
		}
	}
	assert_true(saw_old);
	assert_true(saw_new);
}

/* A format-2 header with a version this build does not know is refused
 * as "newer": what a format-1 vaultfs does with a format-2 store. */
static void test_format_unknown(void **state)
{
	struct env *e = env_new();
	struct store_info info;
	struct store *s = NULL;
	char *h = tu_join(e->cloud, OBJSTORE_HEADER_NAME);
	FILE *f;
	uint8_t buf[4096];
	size_t n;

	(void)state;
	f = fopen(h, "rb");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_true(n > 16);
	assert_int_equal(buf[8], 1);
	buf[8] = 4; /* a version after ours (3: key epoch, rekey) */
	f = fopen(h, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	fclose(f);
	assert_int_equal(store_read_info(e->cloud, &info), -VFS_E_VERSION);
	assert_int_equal(store_open(e->cloud, e->key, e->state, 0, &s),
			 -VFS_E_VERSION);
	free(h);
	env_free(e);
}

static void file_bytes(const char *path, uint8_t *buf, size_t *n, int put)
{
	FILE *f = fopen(path, put ? "wb" : "rb");

	assert_non_null(f);
	if (put)
		assert_int_equal(fwrite(buf, 1, *n, f), *n);
	else
		*n = fread(buf, 1, 4096, f);
	assert_int_equal(fclose(f), 0);
}

/* Someone puts the format-1 header back (it still checks with the key):
 * the store opens, and its next commit raises the header again, because
 * the loaded records need format 2. */
static void test_format_header_put_back(void **state)
{
	struct env *e = env_new();
	char *h = tu_join(e->cloud, OBJSTORE_HEADER_NAME);
	uint8_t v1[4096];
	size_t n;
	struct store *s;
	struct store_attr a;

	(void)state;
	file_bytes(h, v1, &n, 0);
	s = xopen(e, 0);
	assert_int_equal(store_mknod(s, 1, "f", S_IFREG | 0600, 0, 0, 0, &a),
			 0);
	assert_int_equal(store_setxattr(s, a.ino, "user.x", "1", 1, 0), 0);
	assert_int_equal(store_close(s), 0);
	assert_int_equal(format_of(e), 2);
	file_bytes(h, v1, &n, 1);
	assert_int_equal(format_of(e), 1);
	s = xopen(e, 0);
	get_is(s, a.ino, "user.x", "1");
	assert_int_equal(store_mknod(s, 1, "g", S_IFREG | 0600, 0, 0, 0, &a),
			 0);
	assert_int_equal(store_close(s), 0);
	assert_int_equal(format_of(e), 2);
	free(h);
	env_free(e);
}

/* A read-only store follows a writer's attribute changes. */
static void test_xattr_readonly_follows(void **state)
{
	struct env *e = env_new();
	struct store *w = xopen(e, 0), *r = xopen(e, STORE_READ_ONLY);
	struct store_attr a;

	(void)state;
	assert_int_equal(store_mknod(w, 1, "f", S_IFREG | 0600, 0, 0, 0, &a),
			 0);
	assert_int_equal(store_setxattr(w, a.ino, "user.x", "one", 3, 0), 0);
	assert_int_equal(store_commit(w), 0);
	assert_int_equal(store_tick(r, 0), 1);
	get_is(r, a.ino, "user.x", "one");
	assert_int_equal(store_setxattr(w, a.ino, "user.x", "two", 3, 0), 0);
	assert_int_equal(store_setxattr(w, a.ino, "user.y", "y", 1, 0), 0);
	assert_int_equal(store_removexattr(w, a.ino, "user.x"), 0);
	assert_int_equal(store_commit(w), 0);
	assert_int_equal(store_tick(r, 0), 1);
	assert_int_equal(store_getxattr(r, a.ino, "user.x", NULL, 0), -ENODATA);
	get_is(r, a.ino, "user.y", "y");
	assert_int_equal(store_close(r), 0);
	assert_int_equal(store_close(w), 0);
	env_free(e);
}

/* ---- fallocate ---- */

static void read_is(struct store *s, uint64_t ino, uint64_t off,
		    const uint8_t *want, size_t n)
{
	uint8_t *got = malloc(n + 1);

	assert_int_equal(store_read(s, ino, got, n, off), (int)n);
	assert_memory_equal(got, want, n);
	free(got);
}

static void test_fallocate(void **state)
{
	struct env *e = env_new();
	struct store *s = xopen(e, 0);
	struct store_attr f, d, p, a;
	static uint8_t data[300000], want[300000];
	struct timespec before;

	(void)state;
	tu_fill(data, sizeof(data), 5);
	assert_int_equal(store_mknod(s, 1, "f", S_IFREG | 0600, 0, 0, 0, &f),
			 0);
	assert_int_equal(store_mkdir(s, 1, "d", 0700, 0, 0, &d), 0);
	assert_int_equal(store_mknod(s, 1, "p", S_IFIFO | 0600, 0, 0, 0, &p),
			 0);
	assert_int_equal(store_write(s, f.ino, data, 200000, 0), 200000);
	assert_int_equal(store_commit(s), 0);

	/* errors */
	assert_int_equal(
	    store_fallocate(s, f.ino, FALLOC_FL_COLLAPSE_RANGE, 0, 4096),
	    -EOPNOTSUPP);
	assert_int_equal(
	    store_fallocate(s, f.ino, FALLOC_FL_ZERO_RANGE, 0, 4096),
	    -EOPNOTSUPP);
	assert_int_equal(
	    store_fallocate(s, f.ino, FALLOC_FL_PUNCH_HOLE, 0, 4096),
	    -EOPNOTSUPP); /* punching needs KEEP_SIZE */
	assert_int_equal(store_fallocate(s, f.ino, 0, 0, 0), -EINVAL);
	assert_int_equal(store_fallocate(s, f.ino, 0, INT64_MAX, 1), -EFBIG);
	assert_int_equal(store_fallocate(s, d.ino, 0, 0, 1), -EISDIR);
	assert_int_equal(store_fallocate(s, p.ino, 0, 0, 1), -ENODEV);

	/* inside the size: nothing visible but ctime */
	assert_int_equal(store_getattr(s, f.ino, &a), 0);
	before = a.mtime;
	nanosleep(&(struct timespec){0, 2000000}, NULL);
	assert_int_equal(store_fallocate(s, f.ino, 0, 0, 100), 0);
	assert_int_equal(store_getattr(s, f.ino, &a), 0);
	assert_int_equal(a.size, 200000);
	assert_false(ts_after(&a.mtime, &before));
	assert_true(ts_after(&a.ctime, &before));
	/* KEEP_SIZE beyond the end: the size stays */
	assert_int_equal(
	    store_fallocate(s, f.ino, FALLOC_FL_KEEP_SIZE, 150000, 100000), 0);
	assert_int_equal(store_getattr(s, f.ino, &a), 0);
	assert_int_equal(a.size, 200000);
	/* mode 0 beyond the end: grows, reads zeros, stores nothing */
	assert_int_equal(store_fallocate(s, f.ino, 0, 250000, 50000), 0);
	assert_int_equal(store_getattr(s, f.ino, &a), 0);
	assert_int_equal(a.size, 300000);
	assert_true(ts_after(&a.mtime, &before));
	assert_true(a.blocks * 512 < 200000 + 4096);
	memcpy(want, data, 200000);
	memset(want + 200000, 0, 100000);
	read_is(s, f.ino, 0, want, 300000);

	/* punch: committed data across extent ends, then dirty data */
	assert_int_equal(
	    store_fallocate(s, f.ino,
			    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1000,
			    70000),
	    0);
	memset(want + 1000, 0, 70000);
	assert_int_equal(store_write(s, f.ino, data + 100000, 50000, 100000),
			 50000);
	assert_int_equal(
	    store_fallocate(s, f.ino,
			    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 110000,
			    20000),
	    0);
	memset(want + 110000, 0, 20000);
	/* a whole dirty block inside the hole goes */
	assert_int_equal(store_write(s, f.ino, data, 65536, 131072), 65536);
	memcpy(want + 131072, data, 65536);
	assert_int_equal(
	    store_fallocate(s, f.ino,
			    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 131072,
			    65536),
	    0);
	memset(want + 131072, 0, 65536);
	/* beyond the end: nothing, the size stays */
	assert_int_equal(
	    store_fallocate(s, f.ino,
			    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 290000,
			    100000),
	    0);
	memset(want + 290000, 0, 10000);
	assert_int_equal(store_getattr(s, f.ino, &a), 0);
	assert_int_equal(a.size, 300000);
	read_is(s, f.ino, 0, want, 300000);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(format_of(e), 2);
	read_is(s, f.ino, 0, want, 300000);
	assert_int_equal(store_getattr(s, f.ino, &a), 0);
	/* the holes hold nothing */
	assert_true(a.blocks * 512 <= 300000 - 70000 - 20000 - 65536 + 4096);
	assert_int_equal(store_close(s), 0);

	s = xopen(e, STORE_READ_ONLY);
	read_is(s, f.ino, 0, want, 300000);
	assert_int_equal(store_fallocate(s, f.ino, 0, 0, 1), -EROFS);
	assert_int_equal(store_close(s), 0);
	env_free(e);
}

/* ---- files over 4 GiB ---- */

static void test_big_sparse(void **state)
{
	const uint64_t g4 = 4ull << 30, g5 = 5ull << 30;
	struct env *e = env_new();
	struct store *s = xopen(e, 0);
	struct store_attr f, a;
	uint8_t buf[16];

	(void)state;
	assert_int_equal(store_mknod(s, 1, "big", S_IFREG | 0600, 0, 0, 0, &f),
			 0);
	assert_int_equal(store_write(s, f.ino, "ABCDEF", 6, g4 - 3), 6);
	assert_int_equal(store_write(s, f.ino, "tail", 4, g5 + 7), 4);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_getattr(s, f.ino, &a), 0);
	assert_int_equal(a.size, g5 + 11);
	assert_true(a.blocks <= 16);
	assert_int_equal(store_read(s, f.ino, buf, 8, g4 - 4), 8);
	assert_memory_equal(buf, "\0ABCDEF\0", 8);
	/* across the 4 GiB boundary: keeps "ABC", drops the rest */
	assert_int_equal(store_setattr(s, f.ino,
				       &(struct store_attr){.size = g4 + 1},
				       STORE_SET_SIZE, &a),
			 0);
	assert_int_equal(store_read(s, f.ino, buf, 16, g4 - 3), 4);
	assert_memory_equal(buf, "ABCD", 4);
	assert_int_equal(store_setattr(s, f.ino,
				       &(struct store_attr){.size = g4 - 1},
				       STORE_SET_SIZE, &a),
			 0);
	assert_int_equal(store_setattr(s, f.ino,
				       &(struct store_attr){.size = g5},
				       STORE_SET_SIZE, &a),
			 0);
	assert_int_equal(store_close(s), 0);

	s = xopen(e, 0);
	assert_int_equal(store_getattr(s, f.ino, &a), 0);
	assert_int_equal(a.size, g5);
	assert_int_equal(store_read(s, f.ino, buf, 8, g4 - 4), 8);
	assert_memory_equal(buf, "\0AB\0\0\0\0\0", 8);
	assert_int_equal(store_read(s, f.ino, buf, 8, g5 - 4), 4);
	assert_memory_equal(buf, "\0\0\0\0", 4);
	assert_true(a.blocks <= 8);
	assert_int_equal(store_close(s), 0);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_xattr_semantics),
	    cmocka_unit_test(test_xattr_links),
	    cmocka_unit_test(test_xattr_checkpoint_clean),
	    cmocka_unit_test(test_format_raise),
	    cmocka_unit_test(test_format_unknown),
	    cmocka_unit_test(test_format_header_put_back),
	    cmocka_unit_test(test_xattr_readonly_follows),
	    cmocka_unit_test(test_fallocate),
	    cmocka_unit_test(test_big_sparse),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

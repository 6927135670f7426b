/*
 * test_store.c - the store through store.h: POSIX semantics, persistence
 * across close/reopen, orphans, read-only, errors, and a random
 * write/truncate workload checked against a model.
 */
#include "config.h"

#include <errno.h>
#include <linux/fs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sodium.h>

#include "fsutil.h"
#include "store.h"
#include "store_priv.h"

struct env {
	char *top, *cloud, *state;
	uint8_t key[32];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	e->top = tu_mkdtemp();
	e->cloud = tu_join(e->top, "cloud");
	e->state = tu_join(e->top, "state");
	mkdir(e->cloud, 0700);
	tu_key(e->key, 1);
	assert_int_equal(store_create(e->cloud, e->key, NULL), 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	tu_rmrf(e->top);
	free(e->top);
	free(e->cloud);
	free(e->state);
	free(e);
	return 0;
}

static struct store *xopen(struct env *e, unsigned flags)
{
	struct store *s = NULL;

	assert_int_equal(store_open(e->cloud, e->key, e->state, flags, &s), 0);
	return s;
}

struct ent {
	char name[256];
	uint64_t ino;
};

struct entlist {
	struct ent v[512];
	int n;
};

static int collect(void *ctx, const char *name, const struct store_attr *a,
		   uint64_t next)
{
	struct entlist *l = ctx;

	(void)next;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	assert_true(l->n < 512);
	snprintf(l->v[l->n].name, sizeof(l->v[l->n].name), "%s", name);
	l->v[l->n].ino = a->ino;
	l->n++;
	return 0;
}

static char *dump(struct store *s)
{
	return tu_dump(s, 1);
}

/* ---- tests ---- */

static void test_basic_persist(void **state)
{
	struct env *e = *state;
	struct store *s = xopen(e, 0);
	struct store_attr a, d1, f1, f2;
	uint8_t data[200000], back[200000];
	char *before, *after;

	assert_int_equal(store_getattr(s, STORE_ROOT_INO, &a), 0);
	assert_true(S_ISDIR(a.mode));
	assert_int_equal(a.nlink, 2);

	assert_int_equal(store_mkdir(s, 1, "dir", 0750, 10, 20, &d1), 0);
	assert_int_equal(store_getattr(s, STORE_ROOT_INO, &a), 0);
	assert_int_equal(a.nlink, 3);
	assert_int_equal(store_mknod(s, d1.ino, "file", S_IFREG | 0640, 0, 10,
				     20, &f1), 0);
	tu_fill(data, sizeof(data), 7);
	assert_int_equal(store_write(s, f1.ino, data, sizeof(data), 0),
			 (int)sizeof(data));
	assert_int_equal(store_read(s, f1.ino, back, sizeof(back), 0),
			 (int)sizeof(back));
	assert_memory_equal(data, back, sizeof(data));
	assert_int_equal(store_symlink(s, 1, "link", "dir/file", 0, 0, &a), 0);
	assert_int_equal(store_link(s, f1.ino, 1, "hard", &a), 0);
	assert_int_equal(a.nlink, 2);
	assert_int_equal(store_mknod(s, 1, "fifo", S_IFIFO | 0600, 0, 0, 0, &a),
			 0);
	assert_int_equal(store_mknod(s, 1, "gone", S_IFREG | 0600, 0, 0, 0, &f2),
			 0);
	assert_int_equal(store_write(s, f2.ino, "x", 1, 0), 1);
	assert_int_equal(store_unlink(s, 1, "gone"), 0);
	assert_int_equal(store_rename(s, 1, "fifo", d1.ino, "fifo2", 0), 0);

	before = dump(s);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_generation(s), 2);
	/* more changes after the commit, made durable by close */
	assert_int_equal(store_write(s, f1.ino, "HELLO", 5, 1000), 5);
	{
		struct store_attr set = {.size = 150000};

		assert_int_equal(store_setattr(s, f1.ino, &set, STORE_SET_SIZE,
					       &a), 0);
		assert_int_equal(a.size, 150000);
	}
	free(before);
	before = dump(s);
	assert_int_equal(store_close(s), 0);

	s = xopen(e, 0);
	after = dump(s);
	assert_string_equal(before, after);
	assert_non_null(strstr(after, "/dir/fifo2"));
	assert_null(strstr(after, "/gone"));
	assert_int_equal(store_read(s, f1.ino, back, 10, 998), 10);
	assert_memory_equal(back + 2, "HELLO", 5);
	assert_memory_equal(back, data + 998, 2);
	free(before);
	free(after);
	assert_int_equal(store_close(s), 0);
}

static void test_errors(void **state)
{
	struct env *e = *state;
	struct store *s = xopen(e, 0);
	struct store_attr a, d1, d2, f1;
	char longname[300];
	char buf[16];

	memset(longname, 'a', 256);
	longname[256] = '\0';
	assert_int_equal(store_mknod(s, 1, longname, S_IFREG | 0600, 0, 0, 0,
				     &a), -ENAMETOOLONG);
	longname[255] = '\0';
	assert_int_equal(store_mknod(s, 1, longname, S_IFREG | 0600, 0, 0, 0,
				     &a), 0);
	assert_int_equal(store_lookup(s, 1, "nope", &a), -ENOENT);
	assert_int_equal(store_mkdir(s, 1, "d1", 0700, 0, 0, &d1), 0);
	assert_int_equal(store_mkdir(s, 1, "d1", 0700, 0, 0, &a), -EEXIST);
	assert_int_equal(store_mkdir(s, d1.ino, "d2", 0700, 0, 0, &d2), 0);
	assert_int_equal(store_mknod(s, 1, "f", S_IFREG | 0600, 0, 0, 0, &f1),
			 0);
	assert_int_equal(store_rmdir(s, 1, "d1"), -ENOTEMPTY);
	assert_int_equal(store_rmdir(s, 1, "f"), -ENOTDIR);
	assert_int_equal(store_unlink(s, 1, "d1"), -EISDIR);
	assert_int_equal(store_rename(s, 1, "d1", d2.ino, "x", 0), -EINVAL);
	assert_int_equal(store_rename(s, 1, "f", 1, "d1", 0), -EISDIR);
	assert_int_equal(store_rename(s, 1, "d1", 1, "f", 0), -ENOTDIR);
	assert_int_equal(store_mkdir(s, 1, "e", 0700, 0, 0, &a), 0);
	assert_int_equal(store_rename(s, 1, "e", 1, "d1", 0), -ENOTEMPTY);
	assert_int_equal(store_rename(s, 1, "f", 1, "e", RENAME_NOREPLACE),
			 -EEXIST);
	assert_int_equal(store_rename(s, 1, "f", 1, "zz", RENAME_EXCHANGE),
			 -ENOENT);
	assert_int_equal(store_link(s, d1.ino, 1, "dl", &a), -EPERM);
	assert_int_equal(store_readlink(s, f1.ino, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(store_read(s, d1.ino, buf, 1, 0), -EISDIR);
	assert_int_equal(store_symlink(s, 1, "sl", "0123456789abcdefXYZ", 0, 0,
				       &a), 0);
	assert_int_equal(store_readlink(s, a.ino, buf, sizeof(buf)),
			 -ENAMETOOLONG);
	/* empty dir over empty dir is fine; nlink of root follows */
	assert_int_equal(store_getattr(s, 1, &a), 0);
	assert_int_equal(a.nlink, 4); /* ., d1, e */
	assert_int_equal(store_rmdir(s, d1.ino, "d2"), 0);
	assert_int_equal(store_rename(s, 1, "e", 1, "d1", 0), 0);
	assert_int_equal(store_getattr(s, 1, &a), 0);
	assert_int_equal(a.nlink, 3);
	assert_int_equal(store_lookup(s, 1, "e", &a), -ENOENT);
	assert_int_equal(store_close(s), 0);
	s = xopen(e, 0);
	assert_int_equal(store_getattr(s, 1, &a), 0);
	assert_int_equal(a.nlink, 3);
	assert_int_equal(store_lookup(s, 1, longname, &a), 0);
	assert_int_equal(store_close(s), 0);
}

static void test_exchange(void **state)
{
	struct env *e = *state;
	struct store *s = xopen(e, 0);
	struct store_attr a, d1, f1, x;

	assert_int_equal(store_mkdir(s, 1, "d", 0700, 0, 0, &d1), 0);
	assert_int_equal(store_mknod(s, d1.ino, "f", S_IFREG | 0600, 0, 0, 0,
				     &f1), 0);
	assert_int_equal(store_mknod(s, 1, "g", S_IFREG | 0600, 0, 0, 0, &a), 0);
	assert_int_equal(store_rename(s, 1, "g", d1.ino, "f", RENAME_EXCHANGE),
			 0);
	assert_int_equal(store_lookup(s, 1, "g", &x), 0);
	assert_int_equal(x.ino, f1.ino);
	assert_int_equal(store_lookup(s, d1.ino, "f", &x), 0);
	assert_int_equal(x.ino, a.ino);
	/* a directory and a file across folders: link counts move */
	assert_int_equal(store_mkdir(s, d1.ino, "sub", 0700, 0, 0, &x), 0);
	assert_int_equal(store_rename(s, 1, "g", d1.ino, "sub", RENAME_EXCHANGE),
			 0);
	assert_int_equal(store_getattr(s, 1, &x), 0);
	assert_int_equal(x.nlink, 4);
	assert_int_equal(store_getattr(s, d1.ino, &x), 0);
	assert_int_equal(x.nlink, 2);
	assert_int_equal(store_close(s), 0);
	s = xopen(e, 0);
	assert_int_equal(store_lookup(s, 1, "g", &x), 0);
	assert_true(S_ISDIR(x.mode));
	assert_int_equal(store_lookup(s, d1.ino, "sub", &x), 0);
	assert_int_equal(x.ino, f1.ino);
	assert_int_equal(store_close(s), 0);
}

static void test_orphan(void **state)
{
	struct env *e = *state;
	struct store *s = xopen(e, 0);
	struct store_attr f, a;
	uint8_t buf[5];
	uint64_t ino;

	assert_int_equal(store_mknod(s, 1, "o", S_IFREG | 0600, 0, 0, 0, &f), 0);
	assert_int_equal(store_write(s, f.ino, "abcde", 5, 0), 5);
	assert_int_equal(store_commit(s), 0);
	ino = f.ino;
	assert_int_equal(store_open_inode(s, ino), 0);
	assert_int_equal(store_unlink(s, 1, "o"), 0);
	assert_int_equal(store_getattr(s, ino, &a), 0);
	assert_int_equal(a.nlink, 0);
	assert_int_equal(store_write(s, ino, "XY", 2, 1), 2);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_read(s, ino, buf, 5, 0), 5);
	assert_memory_equal(buf, "aXYde", 5);
	assert_int_equal(store_dirty_bytes(s), 0); /* orphans don't count */
	assert_int_equal(store_link(s, ino, 1, "back", &a), -ENOENT);
	store_forget(s, ino, 1);
	assert_int_equal(store_getattr(s, ino, &a), 0);
	store_release_inode(s, ino);
	assert_int_equal(store_getattr(s, ino, &a), -ENOENT);
	assert_int_equal(store_close(s), 0);
	s = xopen(e, 0);
	assert_int_equal(store_lookup(s, 1, "o", &a), -ENOENT);
	assert_int_equal(store_getattr(s, ino, &a), -ENOENT);
	/* inode numbers are not reused */
	assert_int_equal(store_mknod(s, 1, "n", S_IFREG | 0600, 0, 0, 0, &a), 0);
	assert_true(a.ino > ino);
	assert_int_equal(store_close(s), 0);
}

static void test_open_errors(void **state)
{
	struct env *e = *state;
	struct store *s = NULL;
	struct store_info info;
	uint8_t bad[32];
	char *empty = tu_join(e->top, "empty");

	memcpy(bad, e->key, 32);
	bad[0] ^= 1;
	assert_int_equal(store_open(e->cloud, bad, e->state, 0, &s),
			 -VFS_E_WRONGKEY);
	mkdir(empty, 0700);
	assert_int_equal(store_open(empty, e->key, e->state, 0, &s),
			 -VFS_E_NOTSTORE);
	assert_int_equal(store_create(e->cloud, e->key, NULL), -EEXIST);
	assert_int_equal(store_read_info(e->cloud, &info), 0);
	assert_int_equal(info.format_version, 1);
	assert_string_equal(info.aead, "xchacha20poly1305");
	free(empty);
}

static void test_info_hints(void **state)
{
	struct env *e = *state;
	struct store_create_opts o = {.vault_url = "https://vault.example:8443",
				      .account = "acct-42"};
	struct store_info info;
	char *c2 = tu_join(e->top, "c2");

	mkdir(c2, 0700);
	assert_int_equal(store_create(c2, e->key, &o), 0);
	assert_int_equal(store_read_info(c2, &info), 0);
	assert_string_equal(info.vault_url, "https://vault.example:8443");
	assert_string_equal(info.account, "acct-42");
	free(c2);
}

static void test_readonly(void **state)
{
	struct env *e = *state;
	struct store *s = xopen(e, 0);
	struct store_attr a;

	assert_int_equal(store_mknod(s, 1, "f", S_IFREG | 0600, 0, 0, 0, &a), 0);
	assert_int_equal(store_close(s), 0);
	s = xopen(e, STORE_READ_ONLY);
	assert_int_equal(store_lookup(s, 1, "f", &a), 0);
	assert_int_equal(store_write(s, a.ino, "x", 1, 0), -EROFS);
	assert_int_equal(store_mkdir(s, 1, "d", 0700, 0, 0, &a), -EROFS);
	assert_int_equal(store_unlink(s, 1, "f"), -EROFS);
	assert_int_equal(store_close(s), 0);
}

static void test_sparse_truncate(void **state)
{
	struct env *e = *state;
	struct store *s = xopen(e, 0);
	struct store_attr f, a, set;
	uint8_t buf[8192], zero[8192] = {0};

	assert_int_equal(store_mknod(s, 1, "sp", S_IFREG | 0600, 0, 0, 0, &f), 0);
	assert_int_equal(store_write(s, f.ino, "tail", 4, 1 << 30), 4);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_getattr(s, f.ino, &a), 0);
	assert_true(a.size == (1u << 30) + 4);
	assert_true(a.blocks <= 8);
	assert_int_equal(store_read(s, f.ino, buf, sizeof(buf), 12345), 8192);
	assert_memory_equal(buf, zero, sizeof(buf));
	/* write, truncate into it, extend: the cut part reads as zeros */
	assert_int_equal(store_write(s, f.ino, "abcdefgh", 8, 100), 8);
	assert_int_equal(store_commit(s), 0);
	set.size = 104;
	assert_int_equal(store_setattr(s, f.ino, &set, STORE_SET_SIZE, &a), 0);
	assert_int_equal(store_write(s, f.ino, "Z", 1, 110), 1);
	assert_int_equal(store_read(s, f.ino, buf, 20, 100), 11);
	assert_memory_equal(buf, "abcd\0\0\0\0\0\0Z", 11);
	assert_int_equal(store_close(s), 0);
	s = xopen(e, 0);
	assert_int_equal(store_read(s, f.ino, buf, 20, 100), 11);
	assert_memory_equal(buf, "abcd\0\0\0\0\0\0Z", 11);
	assert_int_equal(store_close(s), 0);
}

/* Random writes and truncates against a plain buffer, with commits,
 * reopenings and a spill-sized write in between. */
static void test_random_model(void **state)
{
	struct env *e = *state;
	enum { MAX = 3 << 20 };
	uint8_t *model = calloc(1, MAX), *buf = malloc(MAX), *src = malloc(MAX);
	struct store *s = xopen(e, 0);
	struct store_attr f, set, a;
	uint64_t size = 0, x = 12345;

	assert_int_equal(store_mknod(s, 1, "m", S_IFREG | 0600, 0, 0, 0, &f), 0);
	for (int step = 0; step < 600; step++) {
		uint64_t off, len;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		switch (x % 10) {
		case 0:
			set.size = (x >> 8) % MAX;
			assert_int_equal(store_setattr(s, f.ino, &set,
						       STORE_SET_SIZE, &a), 0);
			if (set.size < size)
				memset(model + set.size, 0, size - set.size);
			size = set.size;
			break;
		case 1:
			assert_int_equal(store_commit(s), 0);
			break;
		case 2:
			if (step % 7 == 0) {
				assert_int_equal(store_close(s), 0);
				s = xopen(e, 0);
			}
			break;
		default:
			off = (x >> 8) % MAX;
			len = 1 + (x >> 32) % (x % 3 ? 9000 : 300000);
			if (off + len > MAX)
				len = MAX - off;
			tu_fill(src, len, x);
			assert_int_equal(store_write(s, f.ino, src, len, off),
					 (int)len);
			memcpy(model + off, src, len);
			if (off + len > size)
				size = off + len;
			break;
		}
		if (step % 50 == 0) {
			assert_int_equal(store_read(s, f.ino, buf, MAX, 0),
					 (int)size);
			assert_memory_equal(buf, model, size);
		}
	}
	assert_int_equal(store_close(s), 0);
	s = xopen(e, 0);
	assert_int_equal(store_read(s, f.ino, buf, MAX, 0), (int)size);
	assert_memory_equal(buf, model, size);
	assert_int_equal(store_close(s), 0);
	free(model);
	free(buf);
	free(src);
}

/* A write bigger than a segment spills into data-only segments. */
static void test_spill(void **state)
{
	struct env *e = *state;
	size_t n = 20u << 20;
	uint8_t *data = malloc(n), *back = malloc(n);
	struct store *s = xopen(e, 0);
	struct store_stats st;
	struct store_attr f;

	tu_fill(data, n, 99);
	assert_int_equal(store_mknod(s, 1, "big", S_IFREG | 0600, 0, 0, 0, &f),
			 0);
	for (size_t off = 0; off < n; off += 131072)
		assert_int_equal(store_write(s, f.ino, data + off, 131072, off),
				 131072);
	assert_true(store_dirty_bytes(s) <= STORE_SEG_TARGET);
	store_get_stats(s, &st);
	assert_true(st.spills >= 2);
	assert_int_equal(store_read(s, f.ino, back, n, 0), (int)n);
	assert_memory_equal(data, back, n);
	assert_int_equal(store_close(s), 0);
	s = xopen(e, 0);
	memset(back, 0, n);
	assert_int_equal(store_read(s, f.ino, back, n, 0), (int)n);
	assert_memory_equal(data, back, n);
	assert_int_equal(store_close(s), 0);
	free(data);
	free(back);
}

/* Many commits: checkpoints are written and the store still opens. */
static void test_checkpoints(void **state)
{
	struct env *e = *state;
	struct store *s = xopen(e, 0);
	struct store_stats st;
	struct store_attr f;
	char name[32];
	char *before, *after;

	for (int i = 0; i < STORE_CKPT_MAX_COMMITS + 20; i++) {
		snprintf(name, sizeof(name), "f%03d", i);
		assert_int_equal(store_mknod(s, 1, name, S_IFREG | 0600, 0, 0,
					     0, &f), 0);
		assert_int_equal(store_write(s, f.ino, name, strlen(name), 0),
				 (int)strlen(name));
		if (i % 3 == 0)
			assert_int_equal(store_unlink(s, 1, name), 0);
		assert_int_equal(store_commit(s), 0);
	}
	store_get_stats(s, &st);
	assert_true(st.checkpoints >= 1);
	assert_true(st.commits_since_ckpt < STORE_CKPT_MAX_COMMITS);
	before = dump(s);
	assert_int_equal(store_close(s), 0);
	s = xopen(e, 0);
	store_get_stats(s, &st);
	assert_true(st.ckpt_seg > 1);
	after = dump(s);
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_int_equal(store_close(s), 0);
}

static void test_tick(void **state)
{
	struct env *e = *state;
	struct store *s = xopen(e, 0);
	struct store_attr f;
	uint64_t g = store_generation(s);

	assert_int_equal(store_tick(s, 0), 0); /* clean */
	assert_int_equal(store_mknod(s, 1, "t", S_IFREG | 0600, 0, 0, 0, &f), 0);
	assert_int_equal(store_tick(s, 60000), 0); /* too young */
	assert_int_equal(store_generation(s), g);
	assert_int_equal(store_tick(s, 0), 1);
	assert_int_equal(store_generation(s), g + 1);
	assert_int_equal(store_close(s), 0);
}

static int count_fill(void *ctx, const char *name, const struct store_attr *a,
		      uint64_t next)
{
	int *n = ctx;

	(void)name;
	(void)a;
	(void)next;
	return ++(*n) >= 3; /* stop after three */
}

static void test_readdir_cookies(void **state)
{
	struct env *e = *state;
	struct store *s = xopen(e, 0);
	struct store_attr a;
	struct entlist *l = calloc(1, sizeof(*l));
	int n = 0;

	for (int i = 0; i < 10; i++) {
		char name[8];

		snprintf(name, sizeof(name), "e%d", i);
		assert_int_equal(store_mknod(s, 1, name, S_IFREG | 0600, 0, 0,
					     0, &a), 0);
	}
	assert_int_equal(store_unlink(s, 1, "e3"), 0);
	assert_int_equal(store_readdir(s, 1, 0, count_fill, &n), 0);
	assert_int_equal(n, 3);
	/* resume from cookie 5: entries from e3's successor on */
	assert_int_equal(store_readdir(s, 1, 5, collect, l), 0);
	assert_int_equal(l->n, 6);
	assert_string_equal(l->v[0].name, "e4");
	free(l);
	assert_int_equal(store_close(s), 0);
}

static uint64_t objects(struct env *e, uint64_t *ret_bytes)
{
	uint64_t f, b;

	tu_count(e->cloud, &f, &b);
	if (ret_bytes)
		*ret_bytes = b;
	return f;
}

/* Many small commits: the cleaner merges their data, checkpoints, and
 * removes the old segments; contents stay; open files keep their data. */
static void test_clean_small_commits(void **state)
{
	struct env *e = *state;
	struct store *s = xopen(e, 0);
	struct store_attr f, o;
	struct store_stats st;
	uint8_t *data = malloc(1 << 20), buf[4096];
	uint64_t before, after, x = 9;
	char *d1, *d2;
	int r;

	tu_fill(data, 1 << 20, 3);
	assert_int_equal(store_mknod(s, 1, "f", S_IFREG | 0600, 0, 0, 0, &f), 0);
	assert_int_equal(store_write(s, f.ino, data, 1 << 20, 0), 1 << 20);
	/* an open, unlinked file whose data lives in a small segment */
	assert_int_equal(store_mknod(s, 1, "o", S_IFREG | 0600, 0, 0, 0, &o), 0);
	assert_int_equal(store_write(s, o.ino, "orphan", 6, 0), 6);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_open_inode(s, o.ino), 0);
	assert_int_equal(store_unlink(s, 1, "o"), 0);
	for (int i = 0; i < 60; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		tu_fill(buf, sizeof(buf), x);
		assert_int_equal(store_write(s, f.ino, buf, sizeof(buf),
					     (x % 256) * 4096), 4096);
		assert_int_equal(store_commit(s), 0);
	}
	before = objects(e, NULL);
	d1 = tu_dump(s, 1);
	/* within the grace period nothing is removed */
	r = store_clean(s);
	assert_true(r >= 0);
	store_get_stats(s, &st);
	assert_int_equal(st.compactions, 1);
	assert_int_equal(st.removed, 0);
	assert_true(objects(e, NULL) >= before);
	store_set_clean(s, 0, 0);
	assert_true(store_clean(s) >= 0);
	store_get_stats(s, &st);
	after = objects(e, NULL);
	print_message("clean: %llu objects -> %llu (removed %llu)\n",
		      (unsigned long long)before, (unsigned long long)after,
		      (unsigned long long)st.removed);
	assert_true(st.removed > 50);
	assert_true(after <= 8);
	d2 = tu_dump(s, 1);
	assert_string_equal(d1, d2);
	free(d2);
	assert_int_equal(store_read(s, o.ino, buf, 6, 0), 6);
	assert_memory_equal(buf, "orphan", 6);
	store_release_inode(s, o.ino);
	store_forget(s, o.ino, 1);
	assert_int_equal(store_close(s), 0);
	s = xopen(e, 0);
	d2 = tu_dump(s, 1);
	assert_string_equal(d1, d2);
	assert_int_equal(store_close(s), 0);
	free(d1);
	free(d2);
	free(data);
}

/* Overwriting everything repeatedly: the cleaner brings the cloud bytes
 * back to about the live bytes. */
static void test_clean_overwrite(void **state)
{
	struct env *e = *state;
	struct store *s = xopen(e, 0);
	size_t n = 4u << 20;
	uint8_t *data = malloc(n), *back = malloc(n);
	struct store_attr f;
	uint64_t bytes;

	assert_int_equal(store_mknod(s, 1, "f", S_IFREG | 0600, 0, 0, 0, &f), 0);
	for (int round = 0; round < 4; round++) {
		tu_fill(data, n, (uint64_t)round);
		assert_int_equal(store_write(s, f.ino, data, n, 0), (int)n);
		assert_int_equal(store_commit(s), 0);
	}
	objects(e, &bytes);
	assert_true(bytes > 3 * n);
	store_set_clean(s, 0, 0);
	assert_true(store_clean(s) >= 0);
	assert_true(store_clean(s) >= 0);
	objects(e, &bytes);
	print_message("clean: %.2f MiB in the cloud for 4 MiB live\n",
		      (double)bytes / 1048576);
	assert_true(bytes <= n * 13 / 10);
	assert_int_equal(store_close(s), 0);
	s = xopen(e, 0);
	assert_int_equal(store_read(s, f.ino, back, n, 0), (int)n);
	assert_memory_equal(back, data, n);
	assert_int_equal(store_close(s), 0);
	free(data);
	free(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basic_persist, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exchange, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orphan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_info_hints, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sparse_truncate, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_random_model, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_spill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoints, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readdir_cookies, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_clean_small_commits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_clean_overwrite, setup,
						teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

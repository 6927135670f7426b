/*
 * test_fsck.c - fs/fsck.c: a clean store is clean (also after the cleaner
 * and in every crash state of a commit), and each kind of damage the
 * tamper tests make is found and named: flipped bits in data, metadata
 * and commit chunks, truncated, deleted, swapped and replayed segments,
 * header damage, a wrong key, rollback and fork against the high-water
 * mark, foreign names. The repair removes only what is safe, and fsck
 * never writes the high-water mark or the lease.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "fsck.h"
#include "fsutil.h"
#include "meta.h"
#include "objstore.h"
#include "segment.h"
#include "store.h"
#include "store_priv.h"

struct env {
	char *top, *cloud, *state;
	uint8_t key[32];
};

/* Everything reported, one "level|object|text" line per finding. */
struct rep {
	char *text;
	size_t len;
	unsigned n[5];
};

static void rep_fn(void *ctx, enum fsck_level level, const char *object,
		   const char *text)
{
	struct rep *r = ctx;
	size_t add = strlen(object) + strlen(text) + 16;

	r->text = realloc(r->text, r->len + add + 1);
	assert_non_null(r->text);
	r->len += (size_t)snprintf(r->text + r->len, add + 1, "%d|%s|%s\n",
				   (int)level, object, text);
	r->n[level]++;
}

static void rep_reset(struct rep *r)
{
	free(r->text);
	memset(r, 0, sizeof(*r));
}

/* 1 if some finding of level mentions both a and b (b may be NULL). */
static int rep_has(const struct rep *r, enum fsck_level level, const char *a,
		   const char *b)
{
	char pre[8];
	const char *p = r->text;

	if (!p)
		return 0;
	snprintf(pre, sizeof(pre), "%d|", (int)level);
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char line[2048];

		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		if (!strncmp(line, pre, strlen(pre)) && strstr(line, a) &&
		    (!b || strstr(line, b)))
			return 1;
		p += n + (e ? 1 : 0);
	}
	return 0;
}

static struct env *env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));

	e->top = tu_mkdtemp();
	e->cloud = tu_join(e->top, "cloud");
	e->state = tu_join(e->top, "state");
	assert_int_equal(mkdir(e->cloud, 0700), 0);
	tu_key(e->key, 5);
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

static struct store *xopen(struct env *e)
{
	struct store *s = NULL;

	assert_int_equal(store_open(e->cloud, e->key, e->state, 0, &s), 0);
	return s;
}

static char *seg_path(struct env *e, uint64_t segno)
{
	char name[OBJSTORE_NAME_MAX];

	objstore_seg_name(segno, name);
	return tu_join(e->cloud, name);
}

/*
 * Runs fsck over e's cloud folder. with_state: check against e's
 * high-water mark. Returns fsck_run's result; findings in *rep.
 */
static int run(struct env *e, const uint8_t *key, int with_state,
	       unsigned flags, uint64_t now, struct rep *rep,
	       struct fsck_result *res)
{
	struct objstore *os;
	struct fsck_opts o;
	int r;

	rep_reset(rep);
	memset(&o, 0, sizeof(o));
	o.flags = flags;
	o.state_dir = with_state ? e->state : NULL;
	o.now = now;
	o.report = rep_fn;
	o.ctx = rep;
	assert_int_equal(objstore_new(e->cloud, &os), 0);
	r = fsck_run(os, key, &o, res);
	objstore_free(os);
	return r;
}

/*
 * A store with some history: d/f (100000 bytes over two chunks), a hard
 * link d/f2, a symlink, an empty dir, file g written in a later commit,
 * a big file spilled over a data-only segment. Segments 1 (create), 2,
 * 3, then 4 (spill) and 5.
 */
static void populate(struct env *e, int big)
{
	struct store *s = xopen(e);
	struct store_attr d, f, a;
	static uint8_t buf[(8u << 20) + 200000];

	tu_fill(buf, sizeof(buf), 9);
	assert_int_equal(store_mkdir(s, 1, "d", 0700, 0, 0, &d), 0);
	assert_int_equal(
	    store_mknod(s, d.ino, "f", S_IFREG | 0600, 0, 0, 0, &f), 0);
	assert_int_equal(store_write(s, f.ino, buf, 100000, 0), 100000);
	assert_int_equal(store_link(s, f.ino, 1, "f2", &a), 0);
	assert_int_equal(store_symlink(s, d.ino, "l", "f", 0, 0, &a), 0);
	assert_int_equal(store_mkdir(s, d.ino, "empty", 0700, 0, 0, &a), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_mknod(s, 1, "g", S_IFREG | 0600, 0, 0, 0, &f),
			 0);
	assert_int_equal(store_write(s, f.ino, buf + 7, 3000, 10), 3000);
	assert_int_equal(store_commit(s), 0);
	if (big) {
		assert_int_equal(
		    store_mknod(s, 1, "big", S_IFREG | 0600, 0, 0, 0, &f), 0);
		assert_int_equal(store_write(s, f.ino, buf, sizeof(buf), 0),
				 (int)sizeof(buf));
		assert_int_equal(store_commit(s), 0);
	}
	assert_int_equal(store_close(s), 0);
}

static void expect_clean(struct env *e, int with_state, struct rep *rep,
			 struct fsck_result *res)
{
	assert_int_equal(run(e, e->key, with_state, 0, 0, rep, res), 0);
	if (res->damage || res->rollback)
		print_message("%s", rep->text ? rep->text : "");
	assert_int_equal(res->damage, 0);
	assert_int_equal(res->rollback, 0);
	assert_int_equal(rep->n[FSCK_DAMAGE], 0);
}

/* ---- clean ---- */

static void test_clean(void **state)
{
	struct env *e = env_new();
	struct fsck_result res;
	struct rep rep = {0};
	struct stat st;
	char *hwm;

	(void)state;
	populate(e, 1);
	expect_clean(e, 1, &rep, &res);
	assert_int_equal(res.files, 3); /* f (2 names), g, big */
	assert_int_equal(res.dirs, 3);	/* root, d, d/empty */
	assert_int_equal(res.others, 1); /* the symlink */
	assert_int_equal(res.generation, 4);
	assert_int_equal(res.head_seg, 5);
	assert_int_equal(res.file_bytes, 100000 + 3000 + (8u << 20) + 200000);
	assert_true(res.bytes >= res.file_bytes);
	assert_int_equal(res.objects, 6); /* header + 5 segments */
	assert_int_equal(res.notes, 0);
	assert_int_equal(res.writer, 0);
	/* with a store open for writing, the lease says so */
	{
		struct store *s = xopen(e);

		expect_clean(e, 1, &rep, &res);
		assert_int_equal(res.writer, 1);
		assert_true(rep_has(&rep, FSCK_INFO, "vaultfs.lease",
				    "running"));
		assert_int_equal(store_close(s), 0);
	}
	/* a machine with no record: fine, and nothing is written there */
	tu_rmrf(e->state);
	expect_clean(e, 1, &rep, &res);
	assert_true(rep_has(&rep, FSCK_INFO, "no record", NULL));
	hwm = e->state;
	assert_int_equal(stat(hwm, &st), -1);
	/* no key: the header only */
	assert_int_equal(run(e, NULL, 0, 0, 0, &rep, &res), 0);
	assert_int_equal(res.damage, 0);
	assert_int_equal(res.objects, 1);
	rep_reset(&rep);
	env_free(e);
}

/* After the cleaner compacted and removed segments, still clean. */
static void test_clean_after_cleaner(void **state)
{
	struct env *e = env_new();
	struct fsck_result res;
	struct rep rep = {0};
	struct store_attr a;
	struct store_stats st;
	struct store *s;
	uint8_t buf[4096];

	(void)state;
	s = xopen(e);
	assert_int_equal(store_mknod(s, 1, "f", S_IFREG | 0600, 0, 0, 0, &a),
			 0);
	for (int i = 0; i < 20; i++) {
		tu_fill(buf, sizeof(buf), (uint64_t)i);
		assert_int_equal(store_write(s, a.ino, buf, sizeof(buf),
					     (uint64_t)(i % 7) * 4096),
				 4096);
		assert_int_equal(store_commit(s), 0);
	}
	/* garbage before the cleaner: old commits */
	expect_clean(e, 1, &rep, &res);
	store_set_clean(s, 0, 0);
	assert_true(store_clean(s) >= 0);
	store_get_stats(s, &st);
	assert_true(st.removed > 10);
	assert_int_equal(store_close(s), 0);
	expect_clean(e, 1, &rep, &res);
	assert_int_equal(res.files, 1);
	rep_reset(&rep);
	env_free(e);
}

/* ---- crash states: every one of them is clean ---- */

struct fault {
	int crash_at, n, crashed;
};

static int hook(void *ctx, enum objstore_step step, const char *name)
{
	struct fault *f = ctx;

	(void)step;
	(void)name;
	f->n++;
	if (f->crash_at >= 0 && f->n > f->crash_at) {
		f->crashed = 1;
		return -EIO;
	}
	return 0;
}

static void test_crash_states_clean(void **state)
{
	static uint8_t buf[(8u << 20) + 100000];
	int k;

	(void)state;
	tu_fill(buf, sizeof(buf), 4);
	for (k = 0; k < 200; k++) {
		struct env *e = env_new();
		struct fault f = {.crash_at = k};
		struct objstore *os = NULL;
		struct store *s = NULL;
		struct store_attr a;
		struct fsck_result res;
		struct rep rep = {0};

		populate(e, 0);
		assert_int_equal(objstore_new(e->cloud, &os), 0);
		assert_int_equal(store_open_os(os, e->key, e->state, 0, &s), 0);
		objstore_set_fault(os, hook, &f);
		/* a commit with a spill: data-only segment, then commit */
		if (store_mknod(s, 1, "h", S_IFREG | 0600, 0, 0, 0, &a) == 0 &&
		    store_write(s, a.ino, buf, sizeof(buf), 0) ==
			(int)sizeof(buf) &&
		    store_commit(s) < 0)
			print_message("commit failed at crash point %d\n", k);
		(void)store_close(s);
		objstore_free(os);
		expect_clean(e, 1, &rep, &res);
		rep_reset(&rep);
		env_free(e);
		if (!f.crashed)
			break;
	}
	print_message("crash points checked: %d\n", k);
	assert_true(k > 5);
}

/* ---- damage ---- */

static void test_flip_data(void **state)
{
	struct env *e = env_new();
	struct fsck_result res;
	struct rep rep = {0};
	char *p;

	(void)state;
	populate(e, 0);
	/* segment 2: data chunks of d/f right after the header */
	p = seg_path(e, 2);
	assert_int_equal(tu_flip(p, SEG_HDR_BYTES + 100), 0);
	assert_int_equal(run(e, e->key, 1, 0, 0, &rep, &res), 0);
	assert_int_equal(res.rollback, 0);
	assert_int_equal(res.damage, 2); /* the chunk, and the file */
	assert_true(rep_has(&rep, FSCK_DAMAGE, "0000000000000002.seg",
			    "fails authentication"));
	/* both names of the file, and the first chunk's bytes */
	assert_true(rep_has(&rep, FSCK_DAMAGE, "'/d/f'", "bytes 0-65535"));
	assert_true(rep_has(&rep, FSCK_DAMAGE, "'/f2'", "bytes 0-65535"));
	assert_false(rep_has(&rep, FSCK_DAMAGE, "'/g'", NULL));
	/* --repair changes nothing then */
	assert_int_equal(run(e, e->key, 1, FSCK_F_REPAIR, 0, &rep, &res), 0);
	assert_int_equal(res.repaired, 0);
	assert_true(rep_has(&rep, FSCK_INFO, "repair", "nothing changed"));
	free(p);
	rep_reset(&rep);
	env_free(e);
}

/* The head's metadata chunk or commit chunk: the store opens the commit
 * before; fsck names the damaged one; the high-water mark says rollback. */
static void test_flip_head(void **state)
{
	static const int where[] = {0, 1}; /* metadata chunk, commit chunk */

	(void)state;
	for (size_t w = 0; w < sizeof(where) / sizeof(where[0]); w++) {
		struct env *e = env_new();
		struct fsck_result res;
		struct rep rep = {0};
		struct stat st;
		char *p;

		populate(e, 0);
		p = seg_path(e, 3);
		assert_int_equal(stat(p, &st), 0);
		if (where[w] == 0) /* after g's 3000-byte data chunk */
			assert_int_equal(
			    tu_flip(p, SEG_HDR_BYTES + 3040 + 30), 0);
		else
			assert_int_equal(
			    tu_flip(p, st.st_size - SEG_TRAILER_BYTES - 5), 0);
		assert_int_equal(run(e, e->key, 0, 0, 0, &rep, &res), 0);
		assert_int_equal(res.generation, 2);
		assert_int_equal(res.rollback, 0);
		assert_int_equal(res.damage, 1);
		assert_true(rep_has(&rep, FSCK_DAMAGE, "0000000000000003.seg",
				    where[w] == 0 ? "metadata chunk 1"
						  : "fails authentication"));
		assert_int_equal(run(e, e->key, 1, 0, 0, &rep, &res), 0);
		assert_int_equal(res.rollback, 1);
		assert_true(rep_has(&rep, FSCK_ROLLBACK, "generation 3",
				    "rolled back"));
		free(p);
		rep_reset(&rep);
		env_free(e);
	}
}

/* A torn newest segment is a crash leftover, not damage; only this
 * machine's record can tell it was a commit it saw. */
static void test_torn_head(void **state)
{
	struct env *e = env_new();
	struct fsck_result res;
	struct rep rep = {0};
	struct stat st;
	char *p;

	(void)state;
	populate(e, 0);
	p = seg_path(e, 3);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(truncate(p, st.st_size / 2), 0);
	assert_int_equal(run(e, e->key, 0, 0, 0, &rep, &res), 0);
	assert_int_equal(res.damage, 0);
	assert_int_equal(res.rollback, 0);
	assert_true(rep_has(&rep, FSCK_NOTE, "0000000000000003.seg",
			    "crash leftover"));
	assert_int_equal(run(e, e->key, 1, 0, 0, &rep, &res), 0);
	assert_int_equal(res.rollback, 1);
	/* zeros (data that never reached the disk) are torn too */
	assert_int_equal(truncate(p, 0), 0);
	assert_int_equal(truncate(p, st.st_size), 0);
	assert_int_equal(run(e, e->key, 0, 0, 0, &rep, &res), 0);
	assert_int_equal(res.damage, 0);
	free(p);
	rep_reset(&rep);
	env_free(e);
}

static void test_deleted(void **state)
{
	struct env *e = env_new();
	struct fsck_result res;
	struct rep rep = {0};
	char *p;

	(void)state;
	populate(e, 1); /* 4 is the spill of "big", 5 its commit */
	/* the spilled data segment: big's first 8 MiB */
	p = seg_path(e, 4);
	assert_int_equal(unlink(p), 0);
	free(p);
	assert_int_equal(run(e, e->key, 1, 0, 0, &rep, &res), 0);
	assert_int_equal(res.generation, 4);
	assert_true(rep_has(&rep, FSCK_DAMAGE, "0000000000000004.seg",
			    "is missing; it holds file data"));
	assert_true(rep_has(&rep, FSCK_DAMAGE, "'/big'", "bytes 0-"));
	assert_false(rep_has(&rep, FSCK_DAMAGE, "'/d/f'", NULL));
	/* a commit in the middle of the chain: the newer ones cannot load */
	p = seg_path(e, 3);
	assert_int_equal(unlink(p), 0);
	free(p);
	assert_int_equal(run(e, e->key, 1, 0, 0, &rep, &res), 0);
	assert_int_equal(res.generation, 2);
	assert_true(rep_has(&rep, FSCK_DAMAGE, "0000000000000005.seg",
			    "0000000000000003.seg (parent of generation 4) "
			    "is missing"));
	assert_int_equal(res.rollback, 1);
	rep_reset(&rep);
	env_free(e);
}

static int swap_files(const char *a, const char *b, const char *tmp)
{
	if (rename(a, tmp) || rename(b, a) || rename(tmp, b))
		return -1;
	return 0;
}

static void test_swapped_replayed(void **state)
{
	struct env *e = env_new();
	struct fsck_result res;
	struct rep rep = {0};
	char *p2, *p3, *tmp;

	(void)state;
	populate(e, 0);
	p2 = seg_path(e, 2);
	p3 = seg_path(e, 3);
	tmp = tu_join(e->top, "swap");
	assert_int_equal(swap_files(p2, p3, tmp), 0);
	assert_int_equal(run(e, e->key, 0, 0, 0, &rep, &res), 0);
	assert_true(res.damage >= 1);
	assert_true(rep_has(&rep, FSCK_DAMAGE, "0000000000000003.seg",
			    "holds segment 2"));
	assert_int_equal(swap_files(p2, p3, tmp), 0);
	expect_clean(e, 1, &rep, &res);
	/* an old segment replayed under a newer number */
	{
		char *p4 = seg_path(e, 4);
		FILE *in = fopen(p2, "rb"), *out = fopen(p4, "wb");
		char b[4096];
		size_t n;

		assert_non_null(in);
		assert_non_null(out);
		while ((n = fread(b, 1, sizeof(b), in)) > 0)
			assert_int_equal(fwrite(b, 1, n, out), n);
		fclose(in);
		fclose(out);
		assert_int_equal(run(e, e->key, 1, 0, 0, &rep, &res), 0);
		assert_int_equal(res.damage, 1);
		assert_true(rep_has(&rep, FSCK_DAMAGE, "0000000000000004.seg",
				    "holds segment 2"));
		free(p4);
	}
	free(p2);
	free(p3);
	free(tmp);
	rep_reset(&rep);
	env_free(e);
}

/* A data segment replaced by another object with the right number (a
 * segment of the same number from another history). */
static void test_replaced_rid(void **state)
{
	struct env *e = env_new();
	struct fsck_result res;
	struct rep rep = {0};
	char *p;

	(void)state;
	populate(e, 0);
	p = seg_path(e, 2);
	/* the random id in the segment header */
	assert_int_equal(tu_flip(p, 24), 0);
	assert_int_equal(run(e, e->key, 0, 0, 0, &rep, &res), 0);
	assert_true(res.damage >= 1);
	/* the chain breaks (the commit in 2 no longer opens) */
	assert_true(rep_has(&rep, FSCK_DAMAGE, "0000000000000003.seg",
			    "parent of generation 3"));
	free(p);
	rep_reset(&rep);
	env_free(e);
}

static void test_header(void **state)
{
	struct env *e = env_new();
	struct fsck_result res;
	struct rep rep = {0};
	char *h = tu_join(e->cloud, OBJSTORE_HEADER_NAME);
	struct stat st;
	uint8_t wrong[32];

	(void)state;
	populate(e, 0);
	/* wrong key */
	tu_key(wrong, 99);
	assert_int_equal(run(e, wrong, 1, 0, 0, &rep, &res),
			 -VFS_E_WRONGKEY);
	/* body byte: checksum */
	assert_int_equal(tu_flip(h, 20), 0);
	assert_int_equal(run(e, e->key, 1, 0, 0, &rep, &res), 0);
	assert_int_equal(res.damage, 1);
	assert_true(rep_has(&rep, FSCK_DAMAGE, "vaultfs.hdr", "checksum"));
	assert_int_equal(run(e, NULL, 1, 0, 0, &rep, &res), 0);
	assert_int_equal(res.damage, 1);
	assert_int_equal(tu_flip(h, 20), 0);
	/* the key check bytes alone: commits still authenticate */
	assert_int_equal(stat(h, &st), 0);
	assert_int_equal(tu_flip(h, st.st_size - 3), 0);
	assert_int_equal(run(e, e->key, 1, 0, 0, &rep, &res), 0);
	assert_true(rep_has(&rep, FSCK_DAMAGE, "vaultfs.hdr",
			    "key check fails"));
	assert_int_equal(res.generation, 3);
	assert_int_equal(tu_flip(h, st.st_size - 3), 0);
	/* replaced by something else; then gone */
	{
		FILE *fp = fopen(h, "w");

		assert_non_null(fp);
		fputs("hello", fp);
		fclose(fp);
	}
	assert_int_equal(run(e, e->key, 1, 0, 0, &rep, &res), 0);
	assert_true(rep_has(&rep, FSCK_DAMAGE, "vaultfs.hdr",
			    "not a vaultfs header"));
	assert_int_equal(unlink(h), 0);
	assert_int_equal(run(e, e->key, 1, 0, 0, &rep, &res), 0);
	assert_true(rep_has(&rep, FSCK_DAMAGE, "vaultfs.hdr", "missing"));
	/* no header and no segments: not a store */
	tu_rmrf(e->cloud);
	assert_int_equal(mkdir(e->cloud, 0700), 0);
	assert_int_equal(run(e, e->key, 1, 0, 0, &rep, &res),
			 -VFS_E_NOTSTORE);
	free(h);
	rep_reset(&rep);
	env_free(e);
}

static void test_fork(void **state)
{
	struct env *e = env_new();
	struct fsck_result res;
	struct rep rep = {0};
	struct store *s = NULL;
	struct store_attr a;
	char *cloud2, *state2;

	(void)state;
	populate(e, 0);
	cloud2 = tu_join(e->top, "cloud2");
	state2 = tu_join(e->top, "state2");
	assert_int_equal(tu_copytree(e->cloud, cloud2), 0);
	assert_int_equal(tu_copytree(e->state, state2), 0);
	s = xopen(e);
	assert_int_equal(store_mkdir(s, 1, "one", 0700, 0, 0, &a), 0);
	assert_int_equal(store_close(s), 0);
	assert_int_equal(store_open(cloud2, e->key, state2, 0, &s), 0);
	assert_int_equal(store_mkdir(s, 1, "other", 0700, 0, 0, &a), 0);
	assert_int_equal(store_close(s), 0);
	/* e's machine looks at cloud2: same generation, other commit */
	tu_rmrf(e->cloud);
	assert_int_equal(tu_copytree(cloud2, e->cloud), 0);
	assert_int_equal(run(e, e->key, 1, 0, 0, &rep, &res), 0);
	assert_int_equal(res.rollback, 1);
	assert_int_equal(res.damage, 0);
	assert_true(rep_has(&rep, FSCK_ROLLBACK, "0000000000000004.seg",
			    "fork"));
	/* cloud2's own machine sees no problem */
	free(e->state);
	e->state = state2;
	expect_clean(e, 1, &rep, &res);
	free(cloud2);
	rep_reset(&rep);
	env_free(e);
}

static void plant(struct env *e, const char *name)
{
	char *p = tu_join(e->cloud, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "junk", 4), 4);
	close(fd);
	free(p);
}

static void test_foreign_and_repair(void **state)
{
	struct env *e = env_new();
	struct fsck_result res;
	struct rep rep = {0};
	struct stat st;
	struct store_attr a;
	struct store *s;
	uint8_t buf[4096];
	char *p;

	(void)state;
	populate(e, 0);
	plant(e, "log/00/0000000000000002 (1).seg");
	plant(e, "vaultfs (conflicted copy).hdr");
	plant(e, "notes.txt");
	plant(e, "log/00/.tmp-0011223344556677");
	expect_clean(e, 1, &rep, &res);
	assert_true(rep_has(&rep, FSCK_NOTE, "0000000000000002 (1).seg",
			    "conflict copy"));
	assert_true(rep_has(&rep, FSCK_NOTE, "(conflicted copy).hdr",
			    "conflict copy"));
	assert_true(rep_has(&rep, FSCK_NOTE, "notes.txt", "not a vaultfs"));
	assert_true(rep_has(&rep, FSCK_NOTE, ".tmp-", "temporary"));
	/* garbage: overwrites, then the cleaner's checkpoint; the old
	 * segments wait for the grace period */
	s = xopen(e);
	assert_int_equal(store_lookup(s, 1, "g", &a), 0);
	for (int i = 0; i < 20; i++) {
		tu_fill(buf, sizeof(buf), (uint64_t)i);
		assert_int_equal(store_write(s, a.ino, buf, sizeof(buf), 0),
				 (int)sizeof(buf));
		assert_int_equal(store_commit(s), 0);
	}
	store_set_clean(s, 3600, 60000);
	assert_true(store_clean(s) > 0);
	assert_int_equal(store_close(s), 0);
	/* (a read-write open removes temporaries itself) */
	plant(e, "log/00/.tmp-0011223344556677");
	expect_clean(e, 1, &rep, &res);
	assert_true(rep_has(&rep, FSCK_NOTE, "log", "garbage"));
	/* within the grace period: only the temporary goes */
	assert_int_equal(run(e, e->key, 1, FSCK_F_REPAIR, 0, &rep, &res), 0);
	assert_int_equal(res.repaired, 1);
	assert_true(rep_has(&rep, FSCK_REPAIRED, ".tmp-", "removed"));
	assert_true(rep_has(&rep, FSCK_INFO, "0000000000000001.seg",
			    "grace period"));
	/* two hours later: the garbage goes too; foreign names stay */
	assert_int_equal(
	    run(e, e->key, 1, FSCK_F_REPAIR, (uint64_t)time(NULL) + 7200, &rep,
		&res),
	    0);
	assert_true(res.repaired >= 1);
	p = seg_path(e, 1);
	assert_int_equal(stat(p, &st), -1);
	free(p);
	p = tu_join(e->cloud, "log/00/0000000000000002 (1).seg");
	assert_int_equal(stat(p, &st), 0);
	free(p);
	p = tu_join(e->cloud, "notes.txt");
	assert_int_equal(stat(p, &st), 0);
	free(p);
	p = tu_join(e->cloud, OBJSTORE_LEASE_NAME);
	assert_int_equal(stat(p, &st), -1); /* released */
	free(p);
	expect_clean(e, 1, &rep, &res);
	s = xopen(e); /* and the store still opens, same state */
	assert_int_equal(store_close(s), 0);
	/* a writer holds the lease: repair refuses, plain fsck works */
	s = xopen(e);
	assert_int_equal(run(e, e->key, 1, FSCK_F_REPAIR, 0, &rep, &res),
			 -VFS_E_LEASE);
	expect_clean(e, 1, &rep, &res);
	assert_int_equal(store_close(s), 0);
	rep_reset(&rep);
	env_free(e);
}

/*
 * Random single-bit damage anywhere in any object: fsck picks the same
 * newest commit as store_open on a machine with no record, says damage
 * when the store refuses to open (telling a damaged key check from a
 * wrong key), and when it finds no damage every file of that state reads
 * back completely.
 */
static void test_random_damage_agrees(void **state)
{
	struct env *e = env_new();
	char *files[8], *pristine, *fresh;
	int nfiles = 0, agreed = 0, clean = 0;
	uint64_t x = 12345;

	(void)state;
	populate(e, 0);
	pristine = tu_join(e->top, "pristine");
	fresh = tu_join(e->top, "fresh");
	assert_int_equal(tu_copytree(e->cloud, pristine), 0);
	files[nfiles++] = tu_join(e->cloud, OBJSTORE_HEADER_NAME);
	for (uint64_t n = 1; n <= 3; n++)
		files[nfiles++] = seg_path(e, n);
	for (int it = 0; it < 80; it++) {
		struct fsck_result res;
		struct rep rep = {0};
		struct store *s = NULL;
		struct stat sb;
		char *dump = NULL;
		const char *path;
		long off;
		int r, fr;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		path = files[x % (uint64_t)nfiles];
		assert_int_equal(stat(path, &sb), 0);
		off = (long)((x >> 8) % (uint64_t)sb.st_size);
		assert_int_equal(tu_flip(path, off), 0);

		fr = run(e, e->key, 0, 0, 0, &rep, &res);
		tu_rmrf(fresh);
		r = store_open(e->cloud, e->key, fresh, STORE_READ_ONLY, &s);
		if (r == 0) {
			assert_int_equal(fr, 0);
			assert_int_equal(res.generation, store_generation(s));
			if (res.damage == 0) {
				assert_int_equal(tu_dump_try(s, 0, &dump), 0);
				clean++;
			} else if (tu_dump_try(s, 0, &dump) < 0) {
				agreed++;
			}
			free(dump);
			assert_int_equal(store_close(s), 0);
		} else if (r == -VFS_E_WRONGKEY) {
			/* the right key: fsck sees that commits open, so
			 * the header's key check is what is damaged */
			assert_int_equal(fr, 0);
			assert_true(rep_has(&rep, FSCK_DAMAGE, "vaultfs.hdr",
					    "key check fails"));
			agreed++;
		} else if (r == -VFS_E_VERSION) {
			/* a flipped version: a newer format, for both */
			assert_int_equal(fr, r);
			agreed++;
		} else {
			/* refused: damaged header or no loadable commit */
			assert_int_equal(fr, 0);
			assert_true(res.damage > 0);
			agreed++;
		}
		rep_reset(&rep);
		/* undo */
		assert_int_equal(tu_flip(path, off), 0);
	}
	print_message("random damage: %d refused or unreadable, %d clean\n",
		      agreed, clean);
	for (int i = 0; i < nfiles; i++)
		free(files[i]);
	free(pristine);
	free(fresh);
	env_free(e);
}

/* ---- the tree checks on hand-made states ---- */

static void add_inode(struct meta *m, uint64_t ino, uint32_t mode,
		      uint32_t nlink)
{
	struct minode *ip;

	assert_int_equal(meta_inode_new(m, ino, mode, &ip), 0);
	ip->nlink = nlink;
}

static void add_name(struct meta *m, uint64_t dir, const char *name,
		     uint64_t ino)
{
	assert_int_equal(meta_dirent_add(m, meta_inode(m, dir), name,
					 strlen(name), meta_inode(m, ino)),
			 0);
}

static void test_tree(void **state)
{
	struct meta *m;
	struct rep rep = {0};
	struct fsck_result res;
	struct minode *ip;
	struct extent ext = {.off = 0, .seg = 7, .len = 100, .skip = 0,
			     .coff = SEG_HDR_BYTES, .sealed = 140};
	uint8_t rid[CHUNK_RID_BYTES] = {0};

	(void)state;
	assert_int_equal(meta_new(&m), 0);
	add_inode(m, 1, S_IFDIR | 0755, 3);
	add_inode(m, 2, S_IFDIR | 0755, 2);
	add_inode(m, 3, S_IFREG | 0644, 2);
	add_name(m, 1, "d", 2);
	add_name(m, 2, "a", 3);
	add_name(m, 1, "b", 3);
	assert_int_equal(meta_seg_add(m, 7, rid, 1000), 0);
	ip = meta_inode(m, 3);
	ip->size = 100;
	assert_int_equal(meta_extent_set(m, ip, &ext), 0);
	memset(&res, 0, sizeof(res));
	assert_int_equal(fsck_check_tree(m, rep_fn, &rep, &res), 0);
	assert_int_equal(res.files, 1);
	assert_int_equal(res.dirs, 2);

	/* nlink wrong; an extent beyond the size; an orphan */
	ip->nlink = 1;
	ip->size = 50;
	add_inode(m, 4, S_IFREG | 0644, 1);
	assert_int_equal(fsck_check_tree(m, rep_fn, &rep, NULL), 3);
	assert_true(rep_has(&rep, FSCK_DAMAGE, "inode 3", "link count is 1"));
	assert_true(rep_has(&rep, FSCK_DAMAGE, "inode 3", "beyond the file"));
	assert_true(rep_has(&rep, FSCK_DAMAGE, "inode 4", "orphan"));
	ip->nlink = 2;
	ip->size = 100;
	meta_inode_remove(m, meta_inode(m, 4));

	/* a directory cycle detached from the root: 5 -> 6 -> 5 */
	rep_reset(&rep);
	add_inode(m, 5, S_IFDIR | 0755, 3);
	add_inode(m, 6, S_IFDIR | 0755, 3);
	add_name(m, 5, "x", 6);
	add_name(m, 6, "y", 5);
	assert_true(fsck_check_tree(m, rep_fn, &rep, NULL) >= 2);
	assert_true(rep_has(&rep, FSCK_DAMAGE, "inode 5", "not reachable"));
	assert_true(rep_has(&rep, FSCK_DAMAGE, "inode 6", "not reachable"));
	assert_false(rep_has(&rep, FSCK_DAMAGE, "inode 3", NULL));
	rep_reset(&rep);
	meta_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clean),
	    cmocka_unit_test(test_clean_after_cleaner),
	    cmocka_unit_test(test_crash_states_clean),
	    cmocka_unit_test(test_flip_data),
	    cmocka_unit_test(test_flip_head),
	    cmocka_unit_test(test_torn_head),
	    cmocka_unit_test(test_deleted),
	    cmocka_unit_test(test_swapped_replayed),
	    cmocka_unit_test(test_replaced_rid),
	    cmocka_unit_test(test_header),
	    cmocka_unit_test(test_fork),
	    cmocka_unit_test(test_foreign_and_repair),
	    cmocka_unit_test(test_random_damage_agrees),
	    cmocka_unit_test(test_tree),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_commit.c - commits and recovery: the commit record codec, the
 * objstore's names, and the store under a fault-injecting objstore
 * (failed writes and fsyncs, a crash between any two steps), rollback,
 * fork and damage detection.
 */
#include "config.h"

#include <errno.h>
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

#include "commit.h"
#include "fsutil.h"
#include "objstore.h"
#include "segment.h"
#include "store.h"
#include "store_priv.h"

struct env {
	char *top, *cloud, *state;
	uint8_t key[32];
};

static struct env *env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));

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

/* ---- commit codec ---- */

static void test_codec(void **state)
{
	struct commit_meta cm[2] = {{40, 100}, {140, 60}};
	struct commit c = {.gen = 5,
			   .parent_seg = 4,
			   .ckpt_seg = 2,
			   .next_ino = 77,
			   .time_sec = 1700000000,
			   .time_nsec = 5,
			   .nmeta = 2,
			   .meta = cm};
	struct commit d;
	struct bufw w;

	(void)state;
	memset(c.parent_hash, 0xab, sizeof(c.parent_hash));
	bufw_init(&w, 4096, 0);
	assert_int_equal(commit_encode(&c, &w), 0);
	assert_int_equal(commit_decode(w.data, w.len, 9, 300, &d), 0);
	assert_int_equal(d.gen, 5);
	assert_int_equal(d.parent_seg, 4);
	assert_int_equal(d.ckpt_seg, 2);
	assert_int_equal(d.next_ino, 77);
	assert_int_equal(d.nmeta, 2);
	assert_int_equal(d.meta[1].off, 140);
	assert_memory_equal(d.parent_hash, c.parent_hash, 32);
	commit_release(&d);
	/* metadata chunks must lie before the commit chunk */
	assert_int_equal(commit_decode(w.data, w.len, 9, 199, &d), -EBADMSG);
	/* the parent must be older than the segment */
	assert_int_equal(commit_decode(w.data, w.len, 4, 300, &d), -EBADMSG);
	/* trailing and missing bytes */
	bufw_u8(&w, 0);
	assert_int_equal(commit_decode(w.data, w.len, 9, 300, &d), -EBADMSG);
	for (size_t n = 0; n + 1 < w.len; n++)
		assert_int_equal(commit_decode(w.data, n, 9, 300, &d),
				 -EBADMSG);
	bufw_release(&w);
	/* overlapping metadata chunks, a checkpoint elsewhere, gen 0 */
	cm[1].off = 120;
	bufw_init(&w, 4096, 0);
	assert_int_equal(commit_encode(&c, &w), 0);
	assert_int_equal(commit_decode(w.data, w.len, 9, 300, &d), -EBADMSG);
	bufw_release(&w);
	cm[1].off = 140;
	c.is_ckpt = 1;
	bufw_init(&w, 4096, 0);
	assert_int_equal(commit_encode(&c, &w), 0);
	assert_int_equal(commit_decode(w.data, w.len, 9, 300, &d), -EBADMSG);
	bufw_release(&w);
	c.is_ckpt = 0;
	c.gen = 0;
	bufw_init(&w, 4096, 0);
	assert_int_equal(commit_encode(&c, &w), 0);
	assert_int_equal(commit_decode(w.data, w.len, 9, 300, &d), -EBADMSG);
	bufw_release(&w);
}

/* ---- objstore ---- */

static void test_objstore(void **state)
{
	struct env *e = env_new();
	struct objstore *os = NULL;
	char name[OBJSTORE_NAME_MAX], *p;
	uint64_t *segs = NULL;
	size_t n, foreign;
	FILE *f;

	(void)state;
	objstore_seg_name(1, name);
	assert_string_equal(name, "log/00/0000000000000001.seg");
	objstore_seg_name(1024 + 0xab, name);
	assert_string_equal(name, "log/01/00000000000004ab.seg");
	objstore_seg_name(256 * 1024, name);
	assert_string_equal(name, "log/00/0000000000040000.seg");
	assert_int_equal(objstore_new(e->cloud, &os), 0);
	/* never replaces */
	assert_int_equal(
	    objstore_put(os, "log/00/0000000000000001.seg", "x", 1), -EEXIST);
	assert_int_equal(objstore_put(os, ".hidden", "x", 1), -EINVAL);
	/* conflict copies and strays are counted, never used */
	p = tu_join(e->cloud, "log/00/0000000000000001 (1).seg");
	f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
	free(p);
	p = tu_join(e->cloud, "log/00/0000000000000002.SEG");
	f = fopen(p, "w");
	fclose(f);
	free(p);
	p = tu_join(e->cloud, "log/00/.tmp-deadbeef");
	f = fopen(p, "w");
	fclose(f);
	assert_int_equal(objstore_list_segments(os, 0, &segs, &n, &foreign), 0);
	assert_int_equal(n, 1);
	assert_int_equal(segs[0], 1);
	assert_int_equal(foreign, 2);
	free(segs);
	assert_int_equal(access(p, F_OK), 0);
	assert_int_equal(objstore_list_segments(os, 1, &segs, &n, &foreign), 0);
	assert_int_equal(access(p, F_OK), -1); /* temporary file removed */
	free(segs);
	free(p);
	objstore_free(os);
	/* the store opens and reports the foreign names */
	{
		struct store *s = xopen(e);
		struct store_stats st;

		store_get_stats(s, &st);
		assert_int_equal(st.foreign, 2);
		assert_int_equal(store_close(s), 0);
	}
	env_free(e);
}

/* ---- faults ---- */

struct fault {
	int n;
	int crash_at; /* fail every step after this many; -1 never */
	int crashed;
	enum objstore_step fail_step; /* fail the first such step once */
	int fail_short;
	int failed;
};

static int hook(void *ctx, enum objstore_step step, const char *name)
{
	struct fault *f = ctx;

	(void)name;
	f->n++;
	if (f->crash_at >= 0 && f->n > f->crash_at) {
		f->crashed = 1;
		return -EIO;
	}
	if (f->fail_step == step && !f->failed) {
		f->failed = 1;
		return f->fail_short ? OBJSTORE_FAULT_SHORT : -EIO;
	}
	return 0;
}

/* State A: committed. */
static void phase_a(struct store *s)
{
	struct store_attr d, f;
	uint8_t buf[100000];

	tu_fill(buf, sizeof(buf), 1);
	assert_int_equal(store_mkdir(s, 1, "d", 0700, 0, 0, &d), 0);
	assert_int_equal(
	    store_mknod(s, d.ino, "f", S_IFREG | 0600, 0, 0, 0, &f), 0);
	assert_int_equal(store_write(s, f.ino, buf, sizeof(buf), 0),
			 (int)sizeof(buf));
	assert_int_equal(
	    store_mknod(s, 1, "victim", S_IFREG | 0600, 0, 0, 0, &f), 0);
	assert_int_equal(store_commit(s), 0);
}

/* State B on top: errors are tolerated (a crash may be under way). */
static void phase_b(struct store *s, int big)
{
	struct store_attr d, f;
	static uint8_t buf[(8u << 20) + 300000];
	int r;

	tu_fill(buf, sizeof(buf), 2);
	r = store_lookup(s, 1, "d", &d);
	assert_int_equal(r, 0);
	r = store_lookup(s, d.ino, "f", &f);
	assert_int_equal(r, 0);
	r = store_write(s, f.ino, buf, 70000, 50000);
	r = store_mknod(s, 1, "g", S_IFREG | 0600, 0, 0, 0, &f);
	if (r == 0)
		r = store_write(s, f.ino, buf, big ? sizeof(buf) : 5000, 0);
	r = store_rename(s, 1, "d", 1, "d2", 0);
	r = store_unlink(s, 1, "victim");
	(void)r;
}

static char *state_a, *state_b, *state_b_big;

static char *expected(int upto_b, int big)
{
	struct env *e = env_new();
	struct store *s = xopen(e);
	char *d;

	phase_a(s);
	if (upto_b)
		phase_b(s, big);
	assert_int_equal(store_commit(s), 0);
	d = tu_dump(s, 0);
	assert_int_equal(store_close(s), 0);
	env_free(e);
	return d;
}

static int setup_states(void **state)
{
	(void)state;
	state_a = expected(0, 0);
	state_b = expected(1, 0);
	state_b_big = expected(1, 1);
	return 0;
}

static int teardown_states(void **state)
{
	(void)state;
	free(state_a);
	free(state_b);
	free(state_b_big);
	return 0;
}

static char *reopen_dump(struct env *e)
{
	struct store *s = xopen(e);
	char *d = tu_dump(s, 0);

	assert_int_equal(store_close(s), 0);
	return d;
}

/*
 * Crash after every possible number of steps of phase B + commit (a big
 * variant spills a data-only segment first). The reopened store shows A or
 * B, B whenever the commit returned success, and stays writable.
 */
static void crash_loop(int big)
{
	int saw_a = 0, saw_b = 0;
	const char *want_b = big ? state_b_big : state_b;

	for (int k = 0; k < 200; k++) {
		struct env *e = env_new();
		struct fault f = {.crash_at = k};
		struct objstore *os = NULL;
		struct store *s = NULL;
		struct store_attr a;
		char *d;
		int r;

		assert_int_equal(objstore_new(e->cloud, &os), 0);
		assert_int_equal(store_open_os(os, e->key, e->state, 0, &s), 0);
		phase_a(s);
		objstore_set_fault(os, hook, &f);
		phase_b(s, big);
		r = store_commit(s);
		(void)store_close(s); /* the "dead" process writes nothing */
		objstore_free(os);

		d = reopen_dump(e);
		if (strcmp(d, state_a) == 0) {
			saw_a = 1;
			assert_true(r != 0);
		} else {
			assert_string_equal(d, want_b);
			saw_b = 1;
		}
		free(d);
		/* still a working store after the crash */
		s = xopen(e);
		assert_int_equal(
		    store_mknod(s, 1, "after", S_IFREG | 0600, 0, 0, 0, &a), 0);
		assert_int_equal(store_close(s), 0);
		s = xopen(e);
		assert_int_equal(store_lookup(s, 1, "after", &a), 0);
		assert_int_equal(store_close(s), 0);
		env_free(e);
		if (!f.crashed) {
			assert_int_equal(r, 0);
			print_message("crash points tried: %d\n", k);
			break;
		}
	}
	assert_true(saw_a);
	assert_true(saw_b);
}

static void test_crash_small(void **state)
{
	(void)state;
	crash_loop(0);
}

static void test_crash_spill(void **state)
{
	(void)state;
	crash_loop(1);
}

/* A step fails once: the commit reports it, keeps the dirty state and
 * the next commit succeeds with everything. */
static void fail_once(enum objstore_step step, int short_write)
{
	struct env *e = env_new();
	struct fault f = {
	    .crash_at = -1, .fail_step = step, .fail_short = short_write};
	struct objstore *os = NULL;
	struct store *s = NULL;
	uint64_t gen;
	char *d;

	assert_int_equal(objstore_new(e->cloud, &os), 0);
	assert_int_equal(store_open_os(os, e->key, e->state, 0, &s), 0);
	phase_a(s);
	gen = store_generation(s);
	phase_b(s, 0);
	objstore_set_fault(os, hook, &f);
	assert_int_equal(store_commit(s), -EIO);
	assert_true(f.failed);
	assert_int_equal(store_generation(s), gen);
	assert_true(store_dirty_bytes(s) > 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_generation(s), gen + 1);
	assert_int_equal(store_dirty_bytes(s), 0);
	assert_int_equal(store_close(s), 0);
	objstore_free(os);
	d = reopen_dump(e);
	assert_string_equal(d, state_b);
	free(d);
	env_free(e);
}

static void test_fail_write(void **state)
{
	(void)state;
	fail_once(OBJSTORE_STEP_WRITE, 0);
	fail_once(OBJSTORE_STEP_WRITE, 1);
}

static void test_fail_fsync(void **state)
{
	(void)state;
	fail_once(OBJSTORE_STEP_FSYNC, 0);
}

static void test_fail_rename(void **state)
{
	(void)state;
	fail_once(OBJSTORE_STEP_RENAME, 0);
}

static void test_fail_fsync_dir(void **state)
{
	struct env *e = env_new();
	struct fault f = {.crash_at = -1, .fail_step = OBJSTORE_STEP_FSYNC_DIR};
	struct objstore *os = NULL;
	struct store *s = NULL;
	uint64_t gen;
	char *d;

	(void)state;
	/* the commit is in place but not known durable: the caller sees the
	 * error, yet it is the head (a second commit with the same
	 * generation and parent would fork the history); the retry only
	 * syncs the folder */
	assert_int_equal(objstore_new(e->cloud, &os), 0);
	assert_int_equal(store_open_os(os, e->key, e->state, 0, &s), 0);
	phase_a(s);
	gen = store_generation(s);
	phase_b(s, 0);
	objstore_set_fault(os, hook, &f);
	assert_int_equal(store_commit(s), -EIO);
	assert_true(f.failed);
	assert_int_equal(store_generation(s), gen + 1);
	assert_int_equal(store_dirty_bytes(s), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_generation(s), gen + 1);
	assert_int_equal(store_close(s), 0);
	objstore_free(os);
	d = reopen_dump(e);
	assert_string_equal(d, state_b);
	free(d);
	env_free(e);
}

/* ---- freshness ---- */

static void commit_some(struct env *e, int n)
{
	struct store *s = xopen(e);
	static int seq;
	struct store_attr a;
	char name[16];

	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "c%d", seq++);
		assert_int_equal(
		    store_mknod(s, 1, name, S_IFREG | 0600, 0, 0, 0, &a), 0);
		assert_int_equal(store_commit(s), 0);
	}
	assert_int_equal(store_close(s), 0);
}

static void test_rollback(void **state)
{
	struct env *e = env_new();
	struct store *s = NULL;
	char *p, *fresh;

	(void)state;
	commit_some(e, 3); /* segments 1..4, generation 4 */
	p = seg_path(e, 4);
	assert_int_equal(unlink(p), 0);
	free(p);
	assert_int_equal(store_open(e->cloud, e->key, e->state, 0, &s),
			 -VFS_E_ROLLBACK);
	/* a machine that never saw generation 4 opens generation 3 */
	fresh = tu_join(e->top, "fresh");
	assert_int_equal(store_open(e->cloud, e->key, fresh, 0, &s), 0);
	assert_int_equal(store_generation(s), 3);
	assert_int_equal(store_close(s), 0);
	free(fresh);
	env_free(e);
}

static void test_corrupt_head_is_rollback(void **state)
{
	struct env *e = env_new();
	struct store *s = NULL;
	char *p;
	struct stat st;

	(void)state;
	commit_some(e, 2);
	p = seg_path(e, 3);
	assert_int_equal(stat(p, &st), 0);
	/* a byte inside the commit chunk (just before the trailer) */
	assert_int_equal(tu_flip(p, st.st_size - SEG_TRAILER_BYTES - 5), 0);
	free(p);
	assert_int_equal(store_open(e->cloud, e->key, e->state, 0, &s),
			 -VFS_E_ROLLBACK);
	env_free(e);
}

static void test_fork(void **state)
{
	struct env *e = env_new();
	struct store *s = NULL;
	char *cloud2, *state2;

	(void)state;
	commit_some(e, 1);
	cloud2 = tu_join(e->top, "cloud2");
	state2 = tu_join(e->top, "state2");
	assert_int_equal(tu_copytree(e->cloud, cloud2), 0);
	assert_int_equal(tu_copytree(e->state, state2), 0);
	/* both copies move to the same generation, differently */
	commit_some(e, 1);
	assert_int_equal(store_open(cloud2, e->key, state2, 0, &s), 0);
	{
		struct store_attr a;

		assert_int_equal(store_mkdir(s, 1, "other", 0700, 0, 0, &a), 0);
	}
	assert_int_equal(store_close(s), 0);
	/* this machine saw e's generation 3; cloud2's generation 3 differs */
	assert_int_equal(store_open(cloud2, e->key, e->state, 0, &s),
			 -VFS_E_FORK);
	/* cloud2 moves on: e's generation 3 is not its ancestor */
	assert_int_equal(store_open(cloud2, e->key, state2, 0, &s), 0);
	{
		struct store_attr a;

		assert_int_equal(store_mkdir(s, 1, "more", 0700, 0, 0, &a), 0);
	}
	assert_int_equal(store_close(s), 0);
	assert_int_equal(store_open(cloud2, e->key, e->state, 0, &s),
			 -VFS_E_FORK);
	/* and the original still opens where it was */
	s = xopen(e);
	assert_int_equal(store_generation(s), 3);
	assert_int_equal(store_close(s), 0);
	free(cloud2);
	free(state2);
	env_free(e);
}

/* ---- damage ---- */

static void test_damaged_data(void **state)
{
	struct env *e = env_new();
	struct store *s = xopen(e);
	struct store_attr f;
	uint8_t buf[1000];
	char *p;

	(void)state;
	memset(buf, 'q', sizeof(buf));
	assert_int_equal(store_mknod(s, 1, "f", S_IFREG | 0600, 0, 0, 0, &f),
			 0);
	assert_int_equal(store_write(s, f.ino, buf, sizeof(buf), 0), 1000);
	assert_int_equal(store_close(s), 0);
	/* segment 2 holds the data chunk right after its header */
	p = seg_path(e, 2);
	assert_int_equal(tu_flip(p, SEG_HDR_BYTES + 100), 0);
	s = xopen(e);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(store_read(s, f.ino, buf, sizeof(buf), 0), -EBADMSG);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_not_equal(buf[i], 'q');
	assert_int_equal(store_close(s), 0);
	/* repaired, it reads again */
	assert_int_equal(tu_flip(p, SEG_HDR_BYTES + 100), 0);
	s = xopen(e);
	assert_int_equal(store_read(s, f.ino, buf, sizeof(buf), 0), 1000);
	assert_int_equal(buf[999], 'q');
	assert_int_equal(store_close(s), 0);
	free(p);
	env_free(e);
}

static void test_damaged_header(void **state)
{
	struct env *e = env_new();
	struct store_info info;
	struct store *s = NULL;
	char *h = tu_join(e->cloud, OBJSTORE_HEADER_NAME);
	FILE *f;

	(void)state;
	/* body byte: checksum fails */
	assert_int_equal(tu_flip(h, 20), 0);
	assert_int_equal(store_read_info(e->cloud, &info), -VFS_E_DAMAGED);
	assert_int_equal(store_open(e->cloud, e->key, e->state, 0, &s),
			 -VFS_E_DAMAGED);
	assert_int_equal(tu_flip(h, 20), 0);
	/* version */
	assert_int_equal(tu_flip(h, 9), 0);
	assert_int_equal(store_read_info(e->cloud, &info), -VFS_E_VERSION);
	assert_int_equal(store_open(e->cloud, e->key, e->state, 0, &s),
			 -VFS_E_VERSION);
	assert_int_equal(tu_flip(h, 9), 0);
	assert_int_equal(store_read_info(e->cloud, &info), 0);
	/* not ours at all */
	f = fopen(h, "w");
	fputs("hello", f);
	fclose(f);
	assert_int_equal(store_read_info(e->cloud, &info), -VFS_E_NOTSTORE);
	unlink(h);
	assert_int_equal(store_open(e->cloud, e->key, e->state, 0, &s),
			 -VFS_E_NOTSTORE);
	free(h);
	env_free(e);
}

static void test_damaged_log(void **state)
{
	struct env *e = env_new();
	struct store *s = NULL;
	char *p = seg_path(e, 1);

	(void)state;
	/* the only commit's metadata chunk */
	assert_int_equal(tu_flip(p, SEG_HDR_BYTES + 30), 0);
	assert_int_equal(store_open(e->cloud, e->key, e->state, 0, &s),
			 -VFS_E_DAMAGED);
	assert_int_equal(tu_flip(p, SEG_HDR_BYTES + 30), 0);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(store_open(e->cloud, e->key, e->state, 0, &s),
			 -VFS_E_DAMAGED);
	free(p);
	env_free(e);
}

/* A checkpointed chain whose middle delta segment is gone: the newest
 * complete chain is an older one, which the high-water mark refuses. */
static void test_missing_parent(void **state)
{
	struct env *e = env_new();
	struct store *s = NULL;
	char *p;

	(void)state;
	commit_some(e, 3); /* 2, 3, 4 are deltas on checkpoint 1 */
	p = seg_path(e, 3);
	assert_int_equal(unlink(p), 0);
	free(p);
	assert_int_equal(store_open(e->cloud, e->key, e->state, 0, &s),
			 -VFS_E_ROLLBACK);
	env_free(e);
}

/* A crash at any step of a cleaner pass leaves the contents unchanged. */
static void test_crash_clean(void **state)
{
	int k;

	(void)state;
	for (k = 0; k < 400; k++) {
		struct env *e = env_new();
		struct fault f = {.crash_at = k};
		struct objstore *os = NULL;
		struct store *s = NULL;
		struct store_attr a;
		struct store_stats st;
		uint8_t buf[4096];
		char *want, *got;
		int r;

		assert_int_equal(objstore_new(e->cloud, &os), 0);
		assert_int_equal(store_open_os(os, e->key, e->state, 0, &s), 0);
		assert_int_equal(
		    store_mknod(s, 1, "f", S_IFREG | 0600, 0, 0, 0, &a), 0);
		for (int i = 0; i < 20; i++) {
			tu_fill(buf, sizeof(buf), (uint64_t)i);
			assert_int_equal(store_write(s, a.ino, buf, sizeof(buf),
						     (uint64_t)(i % 7) * 4096),
					 4096);
			assert_int_equal(store_commit(s), 0);
		}
		want = tu_dump(s, 0);
		store_set_clean(s, 0, 0);
		objstore_set_fault(os, hook, &f);
		r = store_clean(s);
		store_get_stats(s, &st);
		(void)store_close(s);
		objstore_free(os);
		got = reopen_dump(e);
		assert_string_equal(got, want);
		free(want);
		free(got);
		env_free(e);
		if (!f.crashed) {
			assert_true(r >= 0);
			assert_true(st.removed > 10);
			break;
		}
	}
	print_message("cleaner crash points tried: %d\n", k);
}

/*
 * Random single-bit damage anywhere in any object of a store with several
 * commits: opening gives a clean error or a state that existed (the dump of
 * that generation) — never different contents, never a crash.
 */
static void test_random_damage(void **state)
{
	struct env *e = env_new();
	struct store *s = xopen(e);
	char *dumps[8] = {0}, *files[16];
	struct store_attr d, f;
	uint8_t buf[150000];
	uint64_t x = 777, gen;
	int nfiles = 0, opened = 0, refused = 0;

	(void)state;
	dumps[1] = tu_dump(s, 1);
	assert_int_equal(store_mkdir(s, 1, "d", 0700, 0, 0, &d), 0);
	assert_int_equal(
	    store_mknod(s, d.ino, "f", S_IFREG | 0600, 0, 0, 0, &f), 0);
	tu_fill(buf, sizeof(buf), 1);
	assert_int_equal(store_write(s, f.ino, buf, sizeof(buf), 0),
			 (int)sizeof(buf));
	assert_int_equal(store_commit(s), 0);
	dumps[2] = tu_dump(s, 1);
	assert_int_equal(store_write(s, f.ino, "patch", 5, 70000), 5);
	assert_int_equal(store_symlink(s, d.ino, "l", "f", 0, 0, &f), 0);
	assert_int_equal(store_commit(s), 0);
	dumps[3] = tu_dump(s, 1);
	assert_int_equal(store_rename(s, 1, "d", 1, "e", 0), 0);
	assert_int_equal(store_mknod(s, 1, "g", S_IFREG | 0600, 0, 0, 0, &f),
			 0);
	assert_int_equal(store_write(s, f.ino, buf, 3000, 10), 3000);
	assert_int_equal(store_commit(s), 0);
	dumps[4] = tu_dump(s, 1);
	assert_int_equal(store_close(s), 0);

	files[nfiles++] = tu_join(e->cloud, OBJSTORE_HEADER_NAME);
	for (uint64_t n = 1; n <= 4; n++)
		files[nfiles++] = seg_path(e, n);
	for (int it = 0; it < 150; it++) {
		char *st, *dump = NULL, name[32];
		struct stat sb;
		const char *path;
		long off;
		int r;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		path = files[x % (uint64_t)nfiles];
		assert_int_equal(stat(path, &sb), 0);
		off = (long)((x >> 16) % (uint64_t)sb.st_size);
		assert_int_equal(tu_flip(path, off), 0);
		snprintf(name, sizeof(name), "st%d", it);
		st = tu_join(e->top, name);
		r = store_open(e->cloud, e->key, st, STORE_READ_ONLY, &s);
		if (r == 0) {
			opened++;
			gen = store_generation(s);
			assert_true(gen >= 1 && gen <= 4);
			r = tu_dump_try(s, 1, &dump);
			if (r == 0)
				assert_string_equal(dump, dumps[gen]);
			else
				assert_true(r == -EBADMSG || r == -EIO);
			free(dump);
			assert_int_equal(store_close(s), 0);
		} else {
			refused++;
			assert_true(
			    r == -VFS_E_DAMAGED || r == -VFS_E_WRONGKEY ||
			    r == -VFS_E_NOTSTORE || r == -VFS_E_VERSION);
		}
		assert_int_equal(tu_flip(path, off), 0);
		tu_rmrf(st);
		free(st);
	}
	print_message("random damage: %d opened (older or same state), %d "
		      "refused\n",
		      opened, refused);
	assert_true(opened > 0 && refused > 0);
	for (int i = 0; i < nfiles; i++)
		free(files[i]);
	for (int i = 0; i < 8; i++)
		free(dumps[i]);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_codec),
	    cmocka_unit_test(test_objstore),
	    cmocka_unit_test(test_crash_small),
	    cmocka_unit_test(test_crash_spill),
	    cmocka_unit_test(test_fail_write),
	    cmocka_unit_test(test_fail_fsync),
	    cmocka_unit_test(test_fail_rename),
	    cmocka_unit_test(test_fail_fsync_dir),
	    cmocka_unit_test(test_rollback),
	    cmocka_unit_test(test_corrupt_head_is_rollback),
	    cmocka_unit_test(test_fork),
	    cmocka_unit_test(test_damaged_data),
	    cmocka_unit_test(test_damaged_header),
	    cmocka_unit_test(test_damaged_log),
	    cmocka_unit_test(test_missing_parent),
	    cmocka_unit_test(test_random_damage),
	    cmocka_unit_test(test_crash_clean),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup_states, teardown_states);
}

/*
 * test_store_review.c - regressions for the findings of the security
 * review of the store: the cleaner removing segments the last durable
 * commit needs, planted segment names wrapping the segment numbers, a
 * commit retried after its folder fsync failed forking the history, a
 * writer that lost its lease still committing, and control bytes in the
 * unauthenticated header hints.
 *
 * time() is wrapped (-Wl,--wrap=time) so a test can move the clock of the
 * lease code forward.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "buf.h"
#include "chunk.h"
#include "fsutil.h"
#include "lease.h"
#include "objstore.h"
#include "store.h"
#include "store_priv.h"
#include "vfs_error.h"

time_t __real_time(time_t *t);
time_t __wrap_time(time_t *t);

static time_t time_offset;

time_t __wrap_time(time_t *t)
{
	time_t now = __real_time(NULL) + time_offset;

	if (t)
		*t = now;
	return now;
}

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
	tu_key(e->key, 7);
	assert_int_equal(store_create(e->cloud, e->key, NULL), 0);
	time_offset = 0;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	time_offset = 0;
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

/* ---- 1: the cleaner and uncommitted changes ---- */

#define BIG (2u << 20)

/*
 * In a child (the crash is its _exit): f gets BIG bytes and a commit, 20
 * small commits and a checkpointing clean follow; then f is truncated
 * (unlink: unlinked) without a commit and the cleaner runs with no grace
 * period. Exit status 0 when every step went as expected.
 */
static void clean_then_crash(struct env *e, uint8_t *data, int unlink)
{
	struct store_attr f, g, a;
	struct store *s = NULL;

	if (store_open(e->cloud, e->key, e->state, 0, &s))
		_exit(2);
	if (store_mknod(s, 1, "f", S_IFREG | 0600, 0, 0, 0, &f) ||
	    store_mknod(s, 1, "g", S_IFREG | 0600, 0, 0, 0, &g))
		_exit(3);
	if (store_write(s, f.ino, data, BIG, 0) != (int)BIG ||
	    store_commit(s))
		_exit(4);
	for (int i = 0; i < 20; i++) {
		memset(&a, 0, sizeof(a));
		a.mode = 0600 | (i & 1 ? 0 : 040);
		if (store_setattr(s, g.ino, &a, STORE_SET_MODE, &a) ||
		    store_commit(s))
			_exit(5);
	}
	store_set_clean(s, 0, 0);
	if (store_clean(s) != 1) /* the checkpoint */
		_exit(6);
	if (unlink) {
		/* the kernel forgets it too: its data is dead in memory */
		if (store_unlink(s, 1, "f"))
			_exit(7);
		store_forget(s, f.ino, 1);
	} else {
		memset(&a, 0, sizeof(a));
		if (store_setattr(s, f.ino, &a, STORE_SET_SIZE, &a))
			_exit(7);
	}
	if (store_clean(s) < 0)
		_exit(8);
	free(data); /* for valgrind's leak check at _exit */
	_exit(0); /* crash: the truncate or unlink is never committed */
}

static void clean_crash(struct env *e, int unlink)
{
	uint8_t *data = malloc(BIG), *back;
	struct store_attr f;
	struct store *s;
	pid_t pid;
	int st;

	assert_non_null(data);
	tu_fill(data, BIG, 42);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		clean_then_crash(e, data, unlink);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	back = malloc(BIG);
	assert_non_null(back);

	/* After the crash the store is its last commit: f whole. */
	s = xopen(e, 0);
	assert_int_equal(store_lookup(s, 1, "f", &f), 0);
	assert_int_equal(f.size, BIG);
	assert_int_equal(store_read(s, f.ino, back, BIG, 0), (int)BIG);
	assert_memory_equal(back, data, BIG);
	assert_int_equal(store_close(s), 0);
	free(data);
	free(back);
}

static void test_clean_keeps_committed_truncate(void **state)
{
	clean_crash(*state, 0);
}

static void test_clean_keeps_committed_unlink(void **state)
{
	clean_crash(*state, 1);
}

/* Once the change is committed the cleaner does remove the segment
 * (the fix must not stop cleaning altogether). */
static void test_clean_after_commit_removes(void **state)
{
	struct env *e = *state;
	uint8_t *data = malloc(BIG);
	struct store_attr f, a;
	struct store_stats st;
	struct store *s = xopen(e, 0);

	assert_non_null(data);
	tu_fill(data, BIG, 5);
	assert_int_equal(store_mknod(s, 1, "f", S_IFREG | 0600, 0, 0, 0, &f),
			 0);
	assert_int_equal(store_write(s, f.ino, data, BIG, 0), (int)BIG);
	assert_int_equal(store_commit(s), 0);
	store_set_clean(s, 0, 0);
	memset(&a, 0, sizeof(a));
	assert_int_equal(store_setattr(s, f.ino, &a, STORE_SET_SIZE, &a), 0);
	assert_int_equal(store_commit(s), 0);
	assert_true(store_clean(s) >= 0);
	assert_true(store_clean(s) >= 0);
	store_get_stats(s, &st);
	assert_true(st.removed > 0);
	assert_int_equal(store_close(s), 0);
	s = xopen(e, 0);
	assert_int_equal(store_lookup(s, 1, "f", &f), 0);
	assert_int_equal(f.size, 0);
	assert_int_equal(store_close(s), 0);
	free(data);
}

/* ---- 2: planted segment names ---- */

static void plant(struct env *e, const char *sub, const char *file)
{
	char *d = tu_join(e->cloud, sub), *p = tu_join(d, file);
	int fd;

	mkdir(d, 0700);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	free(p);
	free(d);
}

static void test_planted_huge_segno(void **state)
{
	struct env *e = *state;
	struct store_attr f;
	struct store_stats st;
	struct store *s;
	char buf[16];

	/* no key needed: empty files with huge numbers, one beyond 2^48
	 * and one below it but far beyond anything written */
	plant(e, "log/ff", "fffffffffffffffe.seg");
	plant(e, "log/ff", "00007ffffffffc00.seg");
	s = xopen(e, 0);
	assert_int_equal(store_mknod(s, 1, "f", S_IFREG | 0600, 0, 0, 0, &f),
			 0);
	assert_int_equal(store_write(s, f.ino, "hello", 5, 0), 5);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_write(s, f.ino, "world", 5, 0), 5);
	assert_int_equal(store_commit(s), 0);
	store_get_stats(s, &st);
	assert_true(st.head_seg < 1000);
	assert_int_equal(store_close(s), 0);

	s = xopen(e, 0);
	assert_int_equal(store_lookup(s, 1, "f", &f), 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(store_read(s, f.ino, buf, 5, 0), 5);
	assert_string_equal(buf, "world");
	assert_int_equal(store_write(s, f.ino, "again", 5, 0), 5);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_close(s), 0);
	s = xopen(e, 0);
	assert_int_equal(store_lookup(s, 1, "f", &f), 0);
	assert_int_equal(store_read(s, f.ino, buf, 5, 0), 5);
	assert_string_equal(buf, "again");
	store_get_stats(s, &st);
	assert_true(st.foreign >= 2); /* reported as debris */
	assert_int_equal(store_close(s), 0);
}

/* Uncommitted segments just above the head (a crashed writer's spill)
 * still move the next number: no name is used twice. */
static void test_debris_above_head(void **state)
{
	struct env *e = *state;
	struct store_stats st;
	struct store_attr f;
	struct store *s = xopen(e, 0);
	uint64_t head;
	char name[OBJSTORE_NAME_MAX];

	store_get_stats(s, &st);
	head = st.head_seg;
	assert_int_equal(store_close(s), 0);
	objstore_seg_name(head + 5, name);
	plant(e, "log/00", strrchr(name, '/') + 1);
	s = xopen(e, 0);
	assert_int_equal(store_mknod(s, 1, "f", S_IFREG | 0600, 0, 0, 0, &f),
			 0);
	assert_int_equal(store_commit(s), 0);
	store_get_stats(s, &st);
	assert_int_equal(st.head_seg, head + 6);
	assert_int_equal(store_close(s), 0);
}

/* ---- 3: a commit whose folder fsync failed ---- */

struct fault {
	int fail_dir_fsync; /* fail the next FSYNC_DIR steps */
};

static int hook(void *ctx, enum objstore_step step, const char *name)
{
	struct fault *f = ctx;

	(void)name;
	if (step == OBJSTORE_STEP_FSYNC_DIR && f->fail_dir_fsync > 0) {
		f->fail_dir_fsync--;
		return -EIO;
	}
	return 0;
}

static void test_dir_fsync_failure_no_fork(void **state)
{
	struct env *e = *state;
	struct fault flt = {0};
	struct objstore *os = NULL;
	struct store_stats st;
	struct store_attr f;
	struct store *s = NULL, *r = NULL;
	char *rstate = tu_join(e->top, "reader");
	uint64_t gen, head;
	char buf[8];

	assert_int_equal(objstore_new(e->cloud, &os), 0);
	objstore_set_fault(os, hook, &flt);
	assert_int_equal(store_open_os(os, e->key, e->state, 0, &s), 0);
	assert_int_equal(store_mknod(s, 1, "f", S_IFREG | 0600, 0, 0, 0, &f),
			 0);
	assert_int_equal(store_write(s, f.ino, "one", 3, 0), 3);
	assert_int_equal(store_commit(s), 0);
	store_get_stats(s, &st);
	gen = st.generation;

	/* renamed into place, folder fsync fails: the caller sees it */
	assert_int_equal(store_write(s, f.ino, "two", 3, 0), 3);
	flt.fail_dir_fsync = 1;
	assert_int_equal(store_commit(s), -EIO);
	store_get_stats(s, &st);
	assert_int_equal(st.generation, gen + 1);
	head = st.head_seg;

	/* a reader on another machine sees that commit */
	assert_int_equal(
	    store_open(e->cloud, e->key, rstate, STORE_READ_ONLY, &r), 0);
	store_get_stats(r, &st);
	assert_int_equal(st.generation, gen + 1);
	assert_int_equal(store_close(r), 0);

	/* the retry only syncs the folder: no second commit */
	assert_int_equal(store_commit(s), 0);
	store_get_stats(s, &st);
	assert_int_equal(st.generation, gen + 1);
	assert_int_equal(st.head_seg, head);

	assert_int_equal(store_write(s, f.ino, "six", 3, 0), 3);
	assert_int_equal(store_commit(s), 0);
	store_get_stats(s, &st);
	assert_int_equal(st.generation, gen + 2);
	assert_int_equal(store_close(s), 0);
	objstore_free(os);

	/* the reader finds a descendant, not a fork */
	assert_int_equal(
	    store_open(e->cloud, e->key, rstate, STORE_READ_ONLY, &r), 0);
	assert_int_equal(store_close(r), 0);
	s = xopen(e, 0);
	assert_int_equal(store_lookup(s, 1, "f", &f), 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(store_read(s, f.ino, buf, 3, 0), 3);
	assert_string_equal(buf, "six");
	assert_int_equal(store_close(s), 0);
	free(rstate);
}

/* Failing again on the retry keeps the error and still forks nothing. */
static void test_dir_fsync_failure_twice(void **state)
{
	struct env *e = *state;
	struct fault flt = {0};
	struct objstore *os = NULL;
	struct store_stats st;
	struct store_attr f;
	struct store *s = NULL;
	uint64_t gen, head;

	assert_int_equal(objstore_new(e->cloud, &os), 0);
	objstore_set_fault(os, hook, &flt);
	assert_int_equal(store_open_os(os, e->key, e->state, 0, &s), 0);
	store_get_stats(s, &st);
	gen = st.generation;
	assert_int_equal(store_mknod(s, 1, "f", S_IFREG | 0600, 0, 0, 0, &f),
			 0);
	flt.fail_dir_fsync = 2;
	assert_int_equal(store_commit(s), -EIO);
	store_get_stats(s, &st);
	assert_int_equal(st.generation, gen + 1); /* it is the head */
	head = st.head_seg;
	assert_int_equal(store_commit(s), -EIO);
	assert_int_equal(store_commit(s), 0);
	store_get_stats(s, &st);
	assert_int_equal(st.generation, gen + 1);
	assert_int_equal(st.head_seg, head);
	assert_int_equal(store_close(s), 0);
	objstore_free(os);
	s = xopen(e, 0);
	assert_int_equal(store_lookup(s, 1, "f", &f), 0);
	assert_int_equal(store_close(s), 0);
}

/* ---- 4: a writer that lost its lease ---- */

/* Writes a lease of "another machine" (layout of docs/format.md, as in
 * test_lease.c) over the current one. */
static void steal_lease(struct env *e)
{
	struct keys *k = NULL;
	uint8_t b[8 + 4 + 16 + 16 + 4 + 8 + 8 + 8 + 32];
	char *path = tu_join(e->cloud, OBJSTORE_LEASE_NAME);
	FILE *f;

	assert_int_equal(keys_new(e->key, &k), 0);
	memcpy(b, "VFSLEASE", 8);
	put_le32(b + 8, 1);
	memset(b + 12, 0xa1, 16); /* holder: not this machine */
	memset(b + 28, 0xb2, 16); /* boot */
	put_le32(b + 44, 1);	  /* pid */
	put_le64(b + 48, 1);	  /* process start time */
	put_le64(b + 56, (uint64_t)time(NULL) + LEASE_SECONDS);
	put_le64(b + 64, 987654321);
	crypto_generichash(b + 72, 32, b, 72, k->lease, 32);
	keys_free(k);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, sizeof(b), f), sizeof(b));
	fclose(f);
	free(path);
}

static void test_lease_lost_no_commit(void **state)
{
	struct env *e = *state;
	struct store_stats st;
	struct store_attr f;
	struct store *s = xopen(e, 0);
	uint64_t files0, files1, bytes;
	char *log = tu_join(e->cloud, "log");

	assert_int_equal(store_mknod(s, 1, "f", S_IFREG | 0600, 0, 0, 0, &f),
			 0);
	assert_int_equal(store_commit(s), 0);
	steal_lease(e);
	time_offset = LEASE_SECONDS / 3 + 1; /* renewal due */
	assert_int_equal(store_tick(s, 1000000), -VFS_E_LEASE);
	tu_count(log, &files0, &bytes);
	store_get_stats(s, &st);

	/* fsync and unmount after that must not write */
	assert_int_equal(store_write(s, f.ino, "late", 4, 0), 4);
	assert_int_equal(store_commit(s), -VFS_E_LEASE);
	assert_int_equal(store_clean(s), -VFS_E_LEASE);
	assert_int_equal(store_close(s), -VFS_E_LEASE);
	tu_count(log, &files1, &bytes);
	assert_int_equal(files1, files0);
	free(log);
}

/* ---- 5: control bytes in the header hints ---- */

static void test_header_hint_control_bytes(void **state)
{
	struct env *e = *state;
	struct store_create_opts o = {0};
	struct store_info info;
	char *c2 = tu_join(e->top, "c2");
	char *hp = tu_join(e->cloud, OBJSTORE_HEADER_NAME);
	uint8_t h[4096], *at;
	uint32_t blen;
	size_t n;
	FILE *fp;
	static const uint8_t bad[] = {0x1b, 0x07, 0x7f, 0x80, 0xff, '\n'};

	/* refused at creation, leaving the folder empty */
	mkdir(c2, 0700);
	o.vault_url = "https://vault.example/\x1b]0;owned\x07";
	assert_int_equal(store_create(c2, e->key, &o), -EINVAL);
	o.vault_url = NULL;
	o.account = "acct\r\n";
	assert_int_equal(store_create(c2, e->key, &o), -EINVAL);
	assert_int_equal(store_read_info(c2, &info), -VFS_E_NOTSTORE);
	o.account = "acct-1";
	o.vault_url = "https://vault.example/AAAA";
	assert_int_equal(store_create(c2, e->key, &o), 0);
	assert_int_equal(store_read_info(c2, &info), 0);
	assert_string_equal(info.vault_url, "https://vault.example/AAAA");
	free(hp);
	hp = tu_join(c2, OBJSTORE_HEADER_NAME);

	/* planted: the unkeyed checksum is anyone's to recompute */
	fp = fopen(hp, "rb");
	assert_non_null(fp);
	n = fread(h, 1, sizeof(h), fp);
	fclose(fp);
	assert_true(n > 16);
	blen = get_le32(h + 12);
	at = memmem(h, n, "AAAA", 4);
	assert_non_null(at);
	for (size_t i = 0; i < sizeof(bad); i++) {
		at[0] = bad[i];
		crypto_generichash(h + 16 + blen, 32, h, 16 + blen, NULL, 0);
		fp = fopen(hp, "wb");
		assert_non_null(fp);
		assert_int_equal(fwrite(h, 1, n, fp), n);
		fclose(fp);
		assert_int_equal(store_read_info(c2, &info), -VFS_E_DAMAGED);
	}
	/* the same edit with a printable byte parses (the test edits what
	 * it thinks it edits) */
	at[0] = 'B';
	crypto_generichash(h + 16 + blen, 32, h, 16 + blen, NULL, 0);
	fp = fopen(hp, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(h, 1, n, fp), n);
	fclose(fp);
	assert_int_equal(store_read_info(c2, &info), 0);
	assert_string_equal(info.vault_url, "https://vault.example/BAAA");
	free(hp);
	free(c2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_clean_keeps_committed_truncate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clean_keeps_committed_unlink,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clean_after_commit_removes,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_planted_huge_segno, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_debris_above_head, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_dir_fsync_failure_no_fork,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dir_fsync_failure_twice,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lease_lost_no_commit, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_header_hint_control_bytes,
					    setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

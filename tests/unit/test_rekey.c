/*
 * test_rekey.c - the key change (fs/rekey.c, header v2).
 *
 * Checks: the header's key epoch round trip and old headers; a full key
 * change keeps every byte and leaves only the new key; the old key opens
 * a switched but unfinished change through the journal; a resume with
 * the new key alone; a write with the old key between a crash and the
 * rerun; and a crash at EVERY step a key change makes on the cloud
 * folder (the objstore fault hook fails every step from step N on, the
 * process state is dropped, then the folder is checked and the change
 * rerun): at every point exactly one of the two keys is the store's,
 * the old one still opens it until the end, nothing is lost.
 */
#include "config.h"


#include <errno.h>
#include <limits.h>
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

#include "buf.h"
#include "fsutil.h"
#include "header.h"
#include "objstore.h"
#include "rekey.h"
#include "store.h"
#include "store_priv.h"

struct env {
	char *top, *cloud, *state;
	uint8_t key[32];
	char *before; /* dump of the populated store */
	uint64_t gen;
};

static void put_file(struct store *s, uint64_t dir, const char *name,
		     size_t size, uint64_t seed)
{
	struct store_attr a;
	uint8_t *p = malloc(size ? size : 1);

	assert_non_null(p);
	tu_fill(p, size, seed);
	assert_int_equal(
	    store_mknod(s, dir, name, S_IFREG | 0644, 0, 0, 0, &a), 0);
	assert_int_equal(store_write(s, a.ino, p, size, 0), (int)size);
	free(p);
}

/* A store with several commits, a file spread over many segments with
 * partial overwrites (extents with skip), a hole, a symlink, a dir. */
static void populate(struct env *e)
{
	struct store *s = NULL;
	struct store_attr d, a;
	uint8_t buf[5000];

	assert_int_equal(store_open(e->cloud, e->key, e->state, 0, &s), 0);
	assert_int_equal(store_mkdir(s, 1, "chats", 0700, 0, 0, &d), 0);
	put_file(s, d.ino, "big", 300000, 1);
	assert_int_equal(store_commit(s), 0);
	put_file(s, d.ino, "small", 10, 2);
	assert_int_equal(store_lookup(s, d.ino, "big", &a), 0);
	tu_fill(buf, sizeof(buf), 3);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(
		    store_write(s, a.ino, buf, sizeof(buf), 70000 * i + 100),
		    (int)sizeof(buf));
		assert_int_equal(store_commit(s), 0);
	}
	assert_int_equal(store_write(s, a.ino, buf, 10, 1000000), 10);
	assert_int_equal(store_symlink(s, 1, "ln", "chats/small", 0, 0, &a),
			 0);
	/* An extended attribute: format-2 records (header raised to 2). */
	assert_int_equal(store_setxattr(s, d.ino, "user.k", "v1", 2, 0), 0);
	put_file(s, 1, "empty", 0, 4);
	assert_int_equal(store_close(s), 0);
	assert_int_equal(store_open(e->cloud, e->key, e->state, 0, &s), 0);
	e->before = tu_dump(s, 1);
	e->gen = store_generation(s);
	assert_int_equal(store_close(s), 0);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	e->top = tu_mkdtemp();
	e->cloud = tu_join(e->top, "cloud");
	e->state = tu_join(e->top, "state");
	mkdir(e->cloud, 0700);
	tu_key(e->key, 1);
	assert_int_equal(store_create(e->cloud, e->key, NULL), 0);
	populate(e);
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
	free(e->before);
	free(e);
	return 0;
}

static int exists(const char *dir, const char *name)
{
	char *p = tu_join(dir, name);
	int r = access(p, F_OK) == 0;

	free(p);
	return r;
}

/* Opens with key and compares the tree with the dump from before. */
static int opens_same(struct env *e, const uint8_t *key, const char *cloud,
		      const char *stated)
{
	struct store *s = NULL;
	char *now;
	int r;

	r = store_open(cloud, key, stated, STORE_READ_ONLY, &s);
	if (r < 0)
		return r;
	now = tu_dump(s, 1);
	assert_string_equal(now, e->before);
	free(now);
	assert_int_equal(store_close(s), 0);
	return 0;
}

/* ---- header ---- */

static void test_header_epoch(void **state)
{
	struct store_info in, out;
	uint8_t hk[32];
	struct bufw w;

	(void)state;
	memset(&in, 0, sizeof(in));
	randombytes_buf(in.store_id, sizeof(in.store_id));
	strcpy(in.vault_url, "https://vault.example");
	randombytes_buf(hk, sizeof(hk));

	bufw_init(&w, HEADER_MAX, 0);
	assert_int_equal(header_encode(&in, hk, &w), 0);
	assert_int_equal(get_le32(w.data + 8), 1); /* epoch 0: version 1 */
	assert_int_equal(header_parse(w.data, w.len, &out), 0);
	assert_int_equal(out.key_epoch, 0);
	assert_int_equal(out.epoch_seg, 0);
	bufw_release(&w);

	in.key_epoch = 3;
	in.epoch_seg = 77;
	bufw_init(&w, HEADER_MAX, 0);
	assert_int_equal(header_encode(&in, hk, &w), 0);
	assert_int_equal(get_le32(w.data + 8), 3);
	assert_int_equal(header_parse(w.data, w.len, &out), 0);
	assert_int_equal(out.format_version, 3);
	assert_int_equal(out.key_epoch, 3);
	assert_int_equal(out.epoch_seg, 77);
	assert_string_equal(out.vault_url, "https://vault.example");
	assert_int_equal(header_check_key(w.data, w.len, hk), 0);
	hk[0] ^= 1;
	assert_int_equal(header_check_key(w.data, w.len, hk),
			 -VFS_E_WRONGKEY);
	/* Version 4 is not ours. */
	put_le32(w.data + 8, 4);
	assert_int_equal(header_parse(w.data, w.len, &out), -VFS_E_VERSION);
	bufw_release(&w);
}

/* ---- whole changes ---- */

static void test_rekey_full(void **state)
{
	struct env *e = *state;
	struct store_info info;
	struct rekey *rk = NULL;
	uint8_t k2[32];
	uint64_t files0, files1, bytes;

	assert_int_equal(rekey_begin(e->cloud, e->key, e->state, 0, &rk), 0);
	assert_true(rekey_fresh(rk));
	assert_false(rekey_switched(rk));
	assert_true(exists(e->cloud, REKEY_JOURNAL_NAME));
	memcpy(k2, rekey_new_key(rk), 32);
	assert_memory_not_equal(k2, e->key, 32);
	/* Held for writing: a mount cannot take it meanwhile. */
	{
		struct store *s = NULL;

		assert_int_equal(store_open(e->cloud, e->key, e->state, 0, &s),
				 -VFS_E_LEASE);
	}
	assert_int_equal(rekey_switch(rk, NULL, NULL), 0);
	assert_true(rekey_switched(rk));
	assert_int_equal(rekey_generation(rk), e->gen + 1);
	/* Switched, not finished: both keys open; only K2 is the key. */
	assert_int_equal(store_check_key(e->cloud, k2), 0);
	assert_int_equal(store_check_key(e->cloud, e->key), -VFS_E_WRONGKEY);
	tu_count(e->cloud, &files0, &bytes);
	assert_int_equal(rekey_finish(rk), 0);
	assert_int_equal(rekey_free(rk), 0);
	assert_false(exists(e->cloud, REKEY_JOURNAL_NAME));
	tu_count(e->cloud, &files1, &bytes);
	assert_true(files1 < files0); /* the old objects are gone */

	assert_int_equal(store_read_info(e->cloud, &info), 0);
	assert_int_equal(info.format_version, 3);
	assert_int_equal(info.key_epoch, 1);
	assert_true(info.epoch_seg > 1);
	assert_int_equal(opens_same(e, e->key, e->cloud, e->state),
			 -VFS_E_WRONGKEY);
	assert_int_equal(opens_same(e, k2, e->cloud, e->state), 0);
	/* A new machine (no high-water mark) opens it too. */
	{
		char *st2 = tu_join(e->top, "state2");

		assert_int_equal(opens_same(e, k2, e->cloud, st2), 0);
		free(st2);
	}
	/* The extended attribute came along (format-2 records under a
	 * version 3 header). */
	{
		struct store *s = NULL;
		struct store_attr d;
		char v[8];

		assert_int_equal(store_open(e->cloud, k2, e->state,
					    STORE_READ_ONLY, &s),
				 0);
		assert_int_equal(store_lookup(s, 1, "chats", &d), 0);
		assert_int_equal(
		    store_getxattr(s, d.ino, "user.k", v, sizeof(v)), 2);
		assert_memory_equal(v, "v1", 2);
		assert_int_equal(store_close(s), 0);
	}
	/* Read-write: commits go on under K2 and survive a reopen. */
	{
		struct store *s = NULL;
		char *d;

		assert_int_equal(store_open(e->cloud, k2, e->state, 0, &s), 0);
		put_file(s, 1, "after", 70000, 9);
		assert_int_equal(store_close(s), 0);
		assert_int_equal(store_open(e->cloud, k2, e->state, 0, &s), 0);
		d = tu_dump(s, 0);
		assert_non_null(strstr(d, "after"));
		free(d);
		assert_int_equal(store_close(s), 0);
	}

	/* And a second change on top: epoch 2. */
	assert_int_equal(rekey_begin(e->cloud, k2, e->state, 0, &rk), 0);
	assert_int_equal(rekey_switch(rk, NULL, NULL), 0);
	assert_int_equal(rekey_finish(rk), 0);
	assert_int_equal(store_read_info(e->cloud, &info), 0);
	assert_int_equal(info.key_epoch, 2);
	assert_int_equal(store_check_key(e->cloud, rekey_new_key(rk)), 0);
	assert_int_equal(store_check_key(e->cloud, k2), -VFS_E_WRONGKEY);
	assert_int_equal(rekey_free(rk), 0);
}

static void test_rekey_wrong_key(void **state)
{
	struct env *e = *state;
	struct rekey *rk = NULL;
	uint8_t bad[32];

	tu_key(bad, 99);
	assert_int_equal(rekey_begin(e->cloud, bad, e->state, 0, &rk),
			 -VFS_E_WRONGKEY);
	assert_false(exists(e->cloud, REKEY_JOURNAL_NAME));
}

/* After the switch: the old key follows the journal, and a rerun with
 * the new key alone (the vault already gives K2) finishes. */
static void test_rekey_follow_and_resume_k2(void **state)
{
	struct env *e = *state;
	struct rekey *rk = NULL;
	uint8_t k2[32];

	assert_int_equal(rekey_begin(e->cloud, e->key, e->state, 0, &rk), 0);
	memcpy(k2, rekey_new_key(rk), 32);
	assert_int_equal(rekey_switch(rk, NULL, NULL), 0);
	assert_int_equal(rekey_free(rk), 0); /* "crash" before finishing */

	assert_int_equal(opens_same(e, e->key, e->cloud, e->state), 0);
	assert_int_equal(opens_same(e, k2, e->cloud, e->state), 0);

	assert_int_equal(rekey_begin(e->cloud, k2, e->state, 0, &rk), 0);
	assert_false(rekey_fresh(rk));
	assert_true(rekey_switched(rk));
	assert_null(rekey_old_key(rk));
	assert_memory_equal(rekey_new_key(rk), k2, 32);
	assert_int_equal(rekey_finish(rk), 0);
	assert_int_equal(rekey_free(rk), 0);
	assert_int_equal(opens_same(e, e->key, e->cloud, e->state),
			 -VFS_E_WRONGKEY);
	assert_int_equal(opens_same(e, k2, e->cloud, e->state), 0);
}

/* A mount with the old key writes between a crash and the rerun: the
 * rerun copies again above it, and the write is kept. */
static void test_rekey_old_key_write_between(void **state)
{
	struct env *e = *state;
	struct rekey *rk = NULL;
	struct store *s = NULL;
	struct store_attr a;
	uint8_t k2[32], got[7];

	assert_int_equal(rekey_begin(e->cloud, e->key, e->state, 0, &rk), 0);
	memcpy(k2, rekey_new_key(rk), 32);
	assert_int_equal(rekey_free(rk), 0); /* crash before the copy */

	assert_int_equal(store_open(e->cloud, e->key, e->state, 0, &s), 0);
	put_file(s, 1, "between", 7, 5);
	assert_int_equal(store_close(s), 0);

	assert_int_equal(rekey_begin(e->cloud, e->key, e->state, 0, &rk), 0);
	assert_false(rekey_fresh(rk));
	assert_memory_equal(rekey_new_key(rk), k2, 32); /* the same K2 */
	assert_int_equal(rekey_switch(rk, NULL, NULL), 0);
	assert_int_equal(rekey_finish(rk), 0);
	assert_int_equal(rekey_free(rk), 0);

	assert_int_equal(store_open(e->cloud, k2, e->state, STORE_READ_ONLY,
				    &s),
			 0);
	assert_int_equal(store_lookup(s, 1, "between", &a), 0);
	assert_int_equal(store_read(s, a.ino, got, sizeof(got), 0), 7);
	{
		uint8_t want[7];

		tu_fill(want, sizeof(want), 5);
		assert_memory_equal(got, want, 7);
	}
	assert_int_equal(store_close(s), 0);
}

/* ---- a crash at every step ---- */

struct crash {
	long step, fail_from;
};

static int crash_fault(void *ctx, enum objstore_step step, const char *name)
{
	struct crash *c = ctx;

	(void)step;
	(void)name;
	return ++c->step >= c->fail_from ? -EIO : 0;
}

/* One run of the whole change over a fresh objstore that "crashes" at
 * step fail_from (0: never). Returns 1 if the run completed. K2 is
 * copied out once known. */
static int run_rekey(const char *cloud, const char *stated,
		     const uint8_t *key, long fail_from, uint8_t *k2,
		     int *k2_known, long *ret_steps)
{
	struct crash c = {0, fail_from ? fail_from : LONG_MAX};
	struct objstore *os = NULL;
	struct rekey *rk = NULL;
	int r;

	assert_int_equal(objstore_new(cloud, &os), 0);
	objstore_set_fault(os, crash_fault, &c);
	r = rekey_begin_os(os, key, stated, 0, &rk);
	if (r == 0) {
		memcpy(k2, rekey_new_key(rk), 32);
		*k2_known = 1;
		r = rekey_switch(rk, NULL, NULL);
	}
	if (r == 0)
		r = rekey_finish(rk);
	if (rk)
		(void)rekey_free(rk);
	objstore_free(os);
	*ret_steps = c.step;
	return r == 0;
}

/* The crash points are made by the fault hook, not by the disk, so the
 * copies may live in memory (tmpfs: fsync costs nothing there). */
static char *scratch_dir(struct env *e)
{
	char *p;

	if (access("/dev/shm", W_OK) == 0 &&
	    asprintf(&p, "/dev/shm/vfs-rekey-XXXXXX") >= 0) {
		if (mkdtemp(p))
			return p;
		free(p);
	}
	return tu_join(e->top, "scratch");
}

static void test_rekey_crash_every_step(void **state)
{
	struct env *e = *state;
	char *top = scratch_dir(e);
	char *tmpl = tu_join(top, "tmpl"), *tstate = tu_join(top, "ts");
	long total = 0, n;
	int states = 0;
	uint8_t k2[32];
	int known = 0;

	/* The template: the populated store and its state folder. */
	assert_int_equal(tu_copytree(e->cloud, tmpl), 0);
	assert_int_equal(tu_copytree(e->state, tstate), 0);
	/* How many steps a full run takes. */
	{
		char *c = tu_join(top, "c0"), *s = tu_join(top, "s0");

		assert_int_equal(tu_copytree(tmpl, c), 0);
		assert_int_equal(tu_copytree(tstate, s), 0);
		assert_true(run_rekey(c, s, e->key, 0, k2, &known, &total));
		tu_rmrf(c);
		tu_rmrf(s);
		free(c);
		free(s);
	}
	assert_true(total > 20);

	for (n = 1; n <= total; n++) {
		char *c = tu_join(top, "c"), *s = tu_join(top, "s");
		long steps;
		int k_ok, k2_ok, done;

		known = 0;
		assert_int_equal(tu_copytree(tmpl, c), 0);
		assert_int_equal(tu_copytree(tstate, s), 0);
		/* done: only the lease's release at the very end failed */
		done = run_rekey(c, s, e->key, n, k2, &known, &steps);
		assert_true(!done || n >= total - 2);

		/* Exactly one key is the store's; the old one opens it
		 * (directly or through the journal) until the journal is
		 * gone, and then K2 must be known and open it. */
		k_ok = store_check_key(c, e->key) == 0;
		k2_ok = known && store_check_key(c, k2) == 0;
		assert_true(k_ok != k2_ok || (!known && k_ok));
		if (exists(c, REKEY_JOURNAL_NAME) || k_ok)
			assert_int_equal(opens_same(e, e->key, c, s), 0);
		else
			assert_int_equal(opens_same(e, k2, c, s), 0);
		if (k2_ok)
			assert_int_equal(opens_same(e, k2, c, s), 0);

		/* The rerun (with the old key, or with K2 once the old one
		 * is no longer accepted) finishes with one key. */
		{
			uint8_t k2b[32];
			int kb = 0;
			const uint8_t *use = e->key;

			if (!exists(c, REKEY_JOURNAL_NAME) && !k_ok)
				use = k2;
			if (use == k2 && k2_ok) {
				/* Finished except nothing: a fresh change
				 * would start; the crash was after the end. */
				assert_int_equal(opens_same(e, k2, c, s), 0);
			} else {
				assert_true(run_rekey(c, s, use, 0, k2b, &kb,
						      &steps));
				if (known)
					assert_memory_equal(k2b, k2, 32);
				assert_false(exists(c, REKEY_JOURNAL_NAME));
				assert_int_equal(store_check_key(c, k2b), 0);
				assert_int_equal(store_check_key(c, e->key),
						 -VFS_E_WRONGKEY);
				assert_int_equal(opens_same(e, k2b, c, s), 0);
			}
		}
		states++;
		tu_rmrf(c);
		tu_rmrf(s);
		free(c);
		free(s);
	}
	print_message("# %d crash points of %ld steps checked\n", states,
		      total);
	tu_rmrf(top);
	free(top);
	free(tmpl);
	free(tstate);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_epoch),
	    cmocka_unit_test_setup_teardown(test_rekey_full, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_wrong_key, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_follow_and_resume_k2,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_old_key_write_between,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_crash_every_step, setup,
					    teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_cleaner.c - the cleaner (fs/store.c): the space bound after a
 * rewrite-heavy workload, and foreground writes that land while a pass
 * copies without the store's lock (the copy of an extent changed
 * meanwhile must not replace the new data).
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

#include <cmocka.h>
#include <sodium.h>

#include "fsutil.h"
#include "objstore.h"
#include "store.h"
#include "store_priv.h"

#define MIB (1u << 20)

struct env {
	char *top, *cloud, *state;
	uint8_t key[32];
	struct objstore *os;
	struct store *s;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	e->top = tu_mkdtemp();
	e->cloud = tu_join(e->top, "cloud");
	e->state = tu_join(e->top, "state");
	mkdir(e->cloud, 0700);
	tu_key(e->key, 9);
	assert_int_equal(store_create(e->cloud, e->key, NULL), 0);
	assert_int_equal(objstore_new(e->cloud, &e->os), 0);
	assert_int_equal(store_open_os(e->os, e->key, e->state, 0, &e->s), 0);
	store_set_clean(e->s, 0, 3600 * 1000);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	if (e->s)
		assert_int_equal(store_close(e->s), 0);
	objstore_free(e->os);
	tu_rmrf(e->top);
	free(e->top);
	free(e->cloud);
	free(e->state);
	free(e);
	return 0;
}

static uint64_t mkfile(struct store *s, const char *name)
{
	struct store_attr a;

	assert_int_equal(store_mknod(s, STORE_ROOT_INO, name, 0100644, 0, 0, 0,
				     &a),
			 0);
	store_forget(s, a.ino, 1);
	return a.ino;
}

static void put(struct store *s, uint64_t ino, const uint8_t *p, size_t n,
		uint64_t off)
{
	assert_int_equal(store_write(s, ino, p, n, off), (int)n);
}

static void same(struct store *s, uint64_t ino, const uint8_t *want,
		 size_t n)
{
	uint8_t *got = malloc(n + 1);

	assert_int_equal(store_read(s, ino, got, n + 1, 0), (int)n);
	assert_memory_equal(got, want, n);
	free(got);
}

/* Runs passes until one neither commits nor removes; returns the count. */
static int clean_all(struct store *s)
{
	struct store_stats a, b;
	int n = 0, r;

	do {
		store_get_stats(s, &a);
		r = store_clean(s);
		assert_true(r >= 0);
		store_get_stats(s, &b);
		n++;
	} while ((r > 0 || b.removed != a.removed) && n < 200);
	assert_true(n < 200);
	return n;
}

/* 8 MiB rewritten 5 times in random 256 KiB pieces, half of 8 files
 * deleted: within 1.3x after cleaning with grace 0. */
static void test_space_bound(void **state)
{
	struct env *e = *state;
	const size_t big = 8 * MIB, piece = 256 << 10, small = MIB / 2;
	uint8_t *ref = malloc(big), *p = malloc(small);
	uint64_t ino, sm[8], files, bytes, live;
	int passes;

	tu_fill(ref, big, 1);
	ino = mkfile(e->s, "big");
	put(e->s, ino, ref, big, 0);
	for (int i = 0; i < 8; i++) {
		char name[8];

		snprintf(name, sizeof(name), "s%d", i);
		sm[i] = mkfile(e->s, name);
		tu_fill(p, small, 100 + (uint64_t)i);
		put(e->s, sm[i], p, small, 0);
	}
	assert_int_equal(store_commit(e->s), 0);
	for (int k = 0; k < 5 * (int)(big / piece); k++) {
		uint64_t off = randombytes_uniform(big / piece) * piece;

		tu_fill(ref + off, piece, 1000 + (uint64_t)k);
		put(e->s, ino, ref + off, piece, off);
		if (k % 4 == 3)
			assert_int_equal(store_commit(e->s), 0);
	}
	for (int i = 0; i < 8; i += 2) {
		char name[8];

		snprintf(name, sizeof(name), "s%d", i);
		assert_int_equal(store_unlink(e->s, STORE_ROOT_INO, name), 0);
	}
	assert_int_equal(store_commit(e->s), 0);
	live = big + 4 * small;
	tu_count(e->cloud, &files, &bytes);
	print_message("before cleaning: %.2fx of live data, %llu objects\n",
		      (double)bytes / (double)live,
		      (unsigned long long)files);
	assert_true(bytes > 2 * live);
	passes = clean_all(e->s);
	tu_count(e->cloud, &files, &bytes);
	print_message("after %d passes: %.3fx, %llu objects\n", passes,
		      (double)bytes / (double)live,
		      (unsigned long long)files);
	assert_true(bytes * 10 <= live * 13);
	same(e->s, ino, ref, big);

	/* and it stays put: no pass commits again */
	{
		struct store_stats a, b;

		store_get_stats(e->s, &a);
		for (int i = 0; i < 5; i++)
			assert_int_equal(store_clean(e->s), 0);
		store_get_stats(e->s, &b);
		assert_int_equal(a.generation, b.generation);
	}
	assert_int_equal(store_close(e->s), 0);
	assert_int_equal(store_open_os(e->os, e->key, e->state, 0, &e->s), 0);
	same(e->s, ino, ref, big);
	free(ref);
	free(p);
}

/* A tiny store is never rewritten over and over (segment and chunk
 * overheads are not garbage). */
static void test_tiny_store_quiet(void **state)
{
	struct env *e = *state;
	struct store_stats a, b;
	uint64_t ino = mkfile(e->s, "note");

	for (int i = 0; i < 5; i++) {
		put(e->s, ino, (const uint8_t *)"a short note\n", 13, 0);
		assert_int_equal(store_commit(e->s), 0);
	}
	clean_all(e->s);
	store_get_stats(e->s, &a);
	for (int i = 0; i < 5; i++)
		assert_int_equal(store_clean(e->s), 0);
	store_get_stats(e->s, &b);
	assert_int_equal(a.generation, b.generation);
	assert_int_equal(a.compactions, b.compactions);
}

/* Writes into f while the pass copies f's extents (from the object
 * store's hook, which runs without the store's lock during the copy). */
struct racer {
	struct env *e;
	uint64_t ino;
	uint8_t *ref;
	int fired, busy;
};

static int race_hook(void *ctx, enum objstore_step step, const char *name)
{
	struct racer *rc = ctx;
	uint8_t buf[8192];

	(void)name;
	if (step != OBJSTORE_STEP_READ || rc->fired || rc->busy)
		return 0;
	rc->busy = 1;
	rc->fired = 1;
	/* a whole extent, and a piece inside another one */
	tu_fill(buf, sizeof(buf), 77);
	memcpy(rc->ref, buf, sizeof(buf));
	put(rc->e->s, rc->ino, buf, sizeof(buf), 0);
	memcpy(rc->ref + MIB + 100, buf, 4096);
	put(rc->e->s, rc->ino, buf, 4096, MIB + 100);
	/* committed, so the extent map itself changes under the pass */
	assert_int_equal(store_commit(rc->e->s), 0);
	rc->busy = 0;
	return 0;
}

static void test_write_during_copy(void **state)
{
	struct env *e = *state;
	const size_t n = 4 * MIB, blk = 64 << 10;
	uint8_t *fref = malloc(n), *g = malloc(n);
	struct racer rc = {0};
	struct store_stats st;
	uint64_t f, gi;

	tu_fill(fref, n, 5);
	tu_fill(g, n, 6);
	f = mkfile(e->s, "f");
	gi = mkfile(e->s, "g");
	/* f and g share their segments, then g is replaced: half dead */
	for (size_t off = 0; off < n; off += blk) {
		put(e->s, f, fref + off, blk, off);
		put(e->s, gi, g + off, blk, off);
	}
	assert_int_equal(store_commit(e->s), 0);
	tu_fill(g, n, 7);
	put(e->s, gi, g, n, 0);
	assert_int_equal(store_commit(e->s), 0);

	rc.e = e;
	rc.ino = f;
	rc.ref = fref;
	objstore_set_fault(e->os, race_hook, &rc);
	assert_true(store_clean(e->s) >= 0);
	objstore_set_fault(e->os, NULL, NULL);
	assert_true(rc.fired);
	store_get_stats(e->s, &st);
	assert_true(st.compactions >= 1);
	same(e->s, f, fref, n);
	same(e->s, gi, g, n);
	clean_all(e->s);
	same(e->s, f, fref, n);
	assert_int_equal(store_close(e->s), 0);
	assert_int_equal(store_open_os(e->os, e->key, e->state, 0, &e->s), 0);
	same(e->s, f, fref, n);
	same(e->s, gi, g, n);
	free(fref);
	free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_space_bound, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tiny_store_quiet, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_write_during_copy, setup,
					    teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

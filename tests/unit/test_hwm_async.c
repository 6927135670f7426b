/*
 * test_hwm_async.c - the high-water mark writer thread (fs/hwm_async.c).
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

#include "hwm_async.h"
#include "store.h"

static char tmpl[] = "/tmp/test_hwm_async.XXXXXX";

static void mk(struct hwm *h, uint64_t gen)
{
	memset(h, 0, sizeof(*h));
	h->gen = gen;
	h->segno = gen + 100;
	memset(h->hash, (int)gen, sizeof(h->hash));
}

/* Many posts, one flush: the file holds the newest; an older post after
 * it never lowers the mark. */
static void test_newest_wins(void **state)
{
	uint8_t id[STORE_ID_BYTES];
	char dir[sizeof(tmpl) + 8];
	struct hwm_async *a;
	struct hwm h, got;

	(void)state;
	randombytes_buf(id, sizeof(id));
	snprintf(dir, sizeof(dir), "%s/st", tmpl);
	assert_int_equal(hwma_new(dir, id, &a), 0);
	for (uint64_t g = 1; g <= 50; g++) {
		mk(&h, g);
		assert_int_equal(hwma_post(a, &h), 0);
	}
	assert_int_equal(hwma_flush(a), 0);
	assert_int_equal(hwm_read(dir, id, &got), 0);
	assert_int_equal(got.gen, 50);
	assert_int_equal(got.segno, 150);
	assert_memory_equal(got.hash, h.hash, sizeof(h.hash));
	mk(&h, 7);
	assert_int_equal(hwma_post(a, &h), 0);
	mk(&h, 51);
	assert_int_equal(hwma_post(a, &h), 0);
	/* free flushes */
	assert_int_equal(hwma_free(a), 0);
	assert_int_equal(hwm_read(dir, id, &got), 0);
	assert_int_equal(got.gen, 51);
}

/* A state folder that cannot be written: the error reaches flush, the
 * next post and free; nothing hangs. */
static void test_error(void **state)
{
	uint8_t id[STORE_ID_BYTES];
	char dir[sizeof(tmpl) + 16];
	struct hwm_async *a;
	struct hwm h;
	FILE *f;

	(void)state;
	randombytes_buf(id, sizeof(id));
	snprintf(dir, sizeof(dir), "%s/notdir", tmpl);
	f = fopen(dir, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(hwma_new(dir, id, &a), 0);
	mk(&h, 3);
	assert_int_equal(hwma_post(a, &h), 0);
	assert_true(hwma_flush(a) < 0);
	mk(&h, 4);
	assert_true(hwma_post(a, &h) < 0);
	assert_true(hwma_free(a) < 0);
	assert_int_equal(unlink(dir), 0);
}

static void rm_tree(void)
{
	char cmd[sizeof(tmpl) + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_newest_wins),
	    cmocka_unit_test(test_error),
	};
	int r;

	if (sodium_init() < 0 || !mkdtemp(tmpl))
		return 99;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	rm_tree();
	return r;
}

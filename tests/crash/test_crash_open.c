/*
 * test_crash_open.c - regression test for what the crash-state
 * enumeration found (docs/testing.md, "Crash-state enumeration").
 *
 * A writer killed between a segment's rename and its folder's fsync
 * leaves a head that the next open can see although a power cut may still
 * take it away. The open must make that head durable before it raises the
 * high-water mark to it; otherwise the older commit that survives the
 * power cut is refused as a rollback.
 */
#include "config.h"

#include <dirent.h>
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

#include "objstore.h"
#include "store.h"
#include "store_priv.h"
#include "tests/unit/fsutil.h"

struct watch {
	const char *hwm_dir; /* the state folder: hwm files appear here */
	int fail_dir_sync;   /* fail every folder fsync (the "kill") */
	int synced_head_dir; /* log/00 fsynced while no mark existed */
	int synced_log;
	int synced_top;
};

/* Number of entries in the state folder (the mark is its only file). */
static int hwm_count(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int hook(void *ctx, enum objstore_step step, const char *name)
{
	struct watch *w = ctx;

	if (step != OBJSTORE_STEP_FSYNC_DIR)
		return 0;
	if (w->fail_dir_sync)
		return -EIO;
	if (!strcmp(name, "log/00") && hwm_count(w->hwm_dir) <= 0)
		w->synced_head_dir = 1;
	if (!strcmp(name, "log"))
		w->synced_log = 1;
	if (!strcmp(name, "."))
		w->synced_top = 1;
	return 0;
}

static void test_open_syncs_head_before_mark(void **state)
{
	char *dir = tu_mkdtemp(), *cloud = tu_join(dir, "cloud");
	char *st1 = tu_join(dir, "st1"), *st2 = tu_join(dir, "st2");
	struct watch w = {0};
	struct objstore *os = NULL;
	struct store *s = NULL;
	struct store_attr a;
	uint8_t key[STORE_KEY_BYTES];
	int r;

	(void)state;
	tu_key(key, 7);
	assert_int_equal(mkdir(cloud, 0700), 0);
	assert_int_equal(objstore_new(cloud, &os), 0);
	assert_int_equal(store_create_os(os, key, NULL), 0);
	assert_int_equal(store_open_os(os, key, st1, 0, &s), 0);
	assert_int_equal(store_mknod(s, STORE_ROOT_INO, "f", S_IFREG | 0600,
				     0, 0, 0, &a),
			 0);
	assert_int_equal(store_write(s, a.ino, "hello", 5, 0), 5);
	/* the commit's rename happens, its folder's fsync does not: the
	 * writer "dies" there */
	w.hwm_dir = st2;
	w.fail_dir_sync = 1;
	objstore_set_fault(os, hook, &w);
	r = store_commit(s);
	assert_true(r < 0);
	r = store_close(s);
	(void)r;
	s = NULL;
	/* a new process (a fresh state folder: no mark yet) opens it */
	w.fail_dir_sync = 0;
	assert_int_equal(store_open_os(os, key, st2, 0, &s), 0);
	assert_int_equal(hwm_count(st2), 1);
	assert_true(w.synced_head_dir);
	assert_true(w.synced_log);
	assert_true(w.synced_top);
	assert_int_equal(store_lookup(s, STORE_ROOT_INO, "f", &a), 0);
	assert_int_equal(store_close(s), 0);
	objstore_free(os);
	tu_rmrf(dir);
	free(dir);
	free(cloud);
	free(st1);
	free(st2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_syncs_head_before_mark),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_takeover.c - a writer that was frozen (SIGSTOP, a suspended
 * laptop) past its lease's renewal time must not commit before it has
 * checked that the lease is still its own (docs/format.md, lease).
 *
 * time() is wrapped (-Wl,--wrap=time) so the test moves the writer's
 * clock; another machine's take-over is written with lease_write_as, as
 * tests/integration/vfs-lease does. Regression for the commit path, which
 * relied on the ticker's renewal: an fsync handled before the ticker ran
 * after the thaw wrote a commit on top of the new writer's history.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>

#include "chunk.h"
#include "fsutil.h"
#include "header.h"
#include "lease.h"
#include "objstore.h"
#include "store.h"
#include "vfs_error.h"

static long time_offset;

time_t __real_time(time_t *t);
time_t __wrap_time(time_t *t);

time_t __wrap_time(time_t *t)
{
	time_t now = __real_time(NULL) + time_offset;

	if (t)
		*t = now;
	return now;
}

/* Another machine takes the lease over (as a --take-over after expiry). */
static void take_over(const char *cloud, const uint8_t key[32])
{
	struct lease_ident id = {.machine_id = "another machine",
				 .boot_id = "another boot",
				 .host = "phone",
				 .pid = 4242,
				 .start = 1};
	struct store_info info;
	struct objstore *os;
	struct keys *k;
	uint8_t *hdr;
	size_t n;
	uint64_t now = (uint64_t)time(NULL);

	assert_int_equal(objstore_new(cloud, &os), 0);
	assert_int_equal(
	    objstore_get(os, OBJSTORE_HEADER_NAME, HEADER_MAX, &hdr, &n), 0);
	assert_int_equal(header_parse(hdr, n, &info), 0);
	assert_int_equal(keys_new(key, &k), 0);
	assert_int_equal(lease_write_as(os, k->lease, info.store_id, &id, now,
					now + 900),
			 0);
	keys_free(k);
	free(hdr);
	objstore_free(os);
}

static void test_thawed_writer_does_not_commit(void **state)
{
	char *dir = tu_mkdtemp();
	char *cloud = tu_join(dir, "cloud"), *sd = tu_join(dir, "state");
	struct store_attr a;
	struct store *s;
	uint8_t key[32], buf[1000];
	uint64_t files0, files1, bytes;
	int r;

	(void)state;
	tu_key(key, 7);
	assert_int_equal(mkdir(cloud, 0700), 0);
	assert_int_equal(store_create(cloud, key, NULL), 0);
	assert_int_equal(store_open(cloud, key, sd, 0, &s), 0);
	assert_int_equal(store_mknod(s, STORE_ROOT_INO, "f", S_IFREG | 0600,
				     0, 0, 0, &a),
			 0);
	tu_fill(buf, sizeof(buf), 1);
	assert_int_equal(store_write(s, a.ino, buf, sizeof(buf), 0),
			 (int)sizeof(buf));
	assert_int_equal(store_commit(s), 0);

	/* frozen for 20 minutes; meanwhile another machine took over */
	time_offset = 20 * 60;
	take_over(cloud, key);
	tu_count(cloud, &files0, &bytes);

	/* thawed: a write and an fsync before any tick */
	assert_int_equal(store_write(s, a.ino, buf, 10, 0), 10);
	r = store_commit(s);
	assert_int_equal(r, -VFS_E_LEASE);
	tu_count(cloud, &files1, &bytes);
	assert_int_equal(files1, files0); /* no segment written */
	/* and for good */
	assert_int_equal(store_commit(s), -VFS_E_LEASE);
	(void)store_close(s);
	time_offset = 0;
	tu_rmrf(dir);
	free(cloud);
	free(sd);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_thawed_writer_does_not_commit),
	};

	if (sodium_init() < 0)
		return 99;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

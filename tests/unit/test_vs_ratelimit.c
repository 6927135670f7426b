/*
 * test_vs_ratelimit.c - token buckets: burst, refill, independent keys,
 * off switch, bounded table.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "vaultsrv/ratelimit.h"

static void test_bucket(void **state)
{
	struct ratelimit *rl;

	assert_int_equal(ratelimit_new(3, 64, &rl), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ratelimit_take(rl, "a:1.2.3.4", 100.0), 0);
	assert_int_equal(ratelimit_take(rl, "a:1.2.3.4", 100.0), -EAGAIN);
	assert_int_equal(ratelimit_take(rl, "a:1.2.3.4", 110.0), -EAGAIN);
	/* 3 per minute: one token every 20 s. */
	assert_int_equal(ratelimit_take(rl, "a:1.2.3.4", 121.0), 0);
	assert_int_equal(ratelimit_take(rl, "a:1.2.3.4", 121.0), -EAGAIN);
	/* Another key has its own bucket. */
	assert_int_equal(ratelimit_take(rl, "a:5.6.7.8", 121.0), 0);
	/* Idle for long: back to the burst, not beyond. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(ratelimit_take(rl, "a:1.2.3.4", 10000.0), 0);
	assert_int_equal(ratelimit_take(rl, "a:1.2.3.4", 10000.0), -EAGAIN);
	ratelimit_free(rl);
}

static void test_off_and_bounds(void **state)
{
	struct ratelimit *rl;
	char key[32];

	assert_int_equal(ratelimit_new(0, 64, &rl), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(ratelimit_take(rl, "x", 1.0), 0);
	ratelimit_free(rl);
	assert_int_equal(ratelimit_new(1, 4, &rl), -EINVAL);
	/* Many keys in a small table: no crash, still limiting. */
	assert_int_equal(ratelimit_new(1, 16, &rl), 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(ratelimit_take(rl, key, 1.0), 0);
	}
	assert_int_equal(ratelimit_take(rl, "k999", 1.0), -EAGAIN);
	ratelimit_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bucket),
	    cmocka_unit_test(test_off_and_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

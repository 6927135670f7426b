/*
 * test_progress.c - common/progress.c: the line's content (bytes, total,
 * percentage, rate, time left), drawing only on a terminal (or when
 * forced), NULL safety.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "progress.h"

/* Everything written to f so far. */
static char *slurp(FILE *f)
{
	long n;
	char *s;

	fflush(f);
	n = ftell(f);
	assert_true(n >= 0);
	s = calloc(1, (size_t)n + 1);
	assert_non_null(s);
	rewind(f);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	return s;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void test_format(void **state)
{
	struct progress *p;
	char buf[160];

	(void)state;
	p = progress_new(NULL, "fsck", 1024u * 1024u * 1024u, 0);
	assert_non_null(p);
	sleep_ms(20);
	progress_add(p, 12u * 1024u * 1024u + 1024u * 100u);
	progress_format(p, buf, sizeof(buf));
	/* "fsck  12.1 MiB / 1.0 GiB    1%  X MiB/s  ETA ..." */
	assert_non_null(strstr(buf, "fsck  12.1 MiB / 1.0 GiB"));
	assert_non_null(strstr(buf, "  1%"));
	assert_non_null(strstr(buf, "/s  ETA "));
	assert_null(strstr(buf, "ETA ?"));
	/* all done: 100 %, nothing left */
	progress_add(p, 1024u * 1024u * 1024u);
	progress_format(p, buf, sizeof(buf));
	assert_non_null(strstr(buf, "100%"));
	assert_non_null(strstr(buf, "ETA 0s"));
	progress_done(p);

	/* unknown total: bytes and rate only */
	p = progress_new(NULL, "restore", 0, 0);
	progress_add(p, 500);
	progress_format(p, buf, sizeof(buf));
	assert_true(strncmp(buf, "restore  500 B  ", 16) == 0);
	assert_null(strstr(buf, "%"));
	assert_null(strstr(buf, "ETA"));
	/* a total set later */
	progress_set_total(p, 1000);
	progress_format(p, buf, sizeof(buf));
	assert_non_null(strstr(buf, "500 B / 1000 B   50%"));
	progress_done(p);

	/* tiny buffers are cut, not overrun; size 0 writes nothing */
	p = progress_new(NULL, "x", 10, 0);
	memset(buf, 'Z', sizeof(buf));
	progress_format(p, buf, 5);
	assert_int_equal(strlen(buf), 4);
	assert_int_equal(buf[5], 'Z');
	buf[0] = 'Q';
	progress_format(p, buf, 0);
	assert_int_equal(buf[0], 'Q');
	progress_done(p);
}

static void test_eta(void **state)
{
	struct progress *p;
	char buf[160];

	(void)state;
	/* no rate yet: time left unknown */
	p = progress_new(NULL, "t", 100, 0);
	progress_format(p, buf, sizeof(buf));
	assert_non_null(strstr(buf, "ETA ?"));
	/* a tenth done in >= 50 ms: the rest takes seconds, not hours */
	sleep_ms(50);
	progress_add(p, 10);
	progress_format(p, buf, sizeof(buf));
	assert_null(strstr(buf, "ETA ?"));
	assert_null(strstr(buf, "h"));
	progress_done(p);
}

static void test_not_a_terminal(void **state)
{
	FILE *f = tmpfile();
	struct progress *p;
	char *s;

	(void)state;
	assert_non_null(f);
	p = progress_new(f, "fsck", 100, 0);
	assert_non_null(p);
	progress_add(p, 50);
	sleep_ms(250);
	progress_add(p, 50);
	progress_done(p);
	s = slurp(f);
	assert_string_equal(s, ""); /* quiet: a file is not a terminal */
	free(s);
	fclose(f);
}

static void test_forced(void **state)
{
	FILE *f = tmpfile();
	struct progress *p;
	char *s;

	(void)state;
	assert_non_null(f);
	p = progress_new(f, "fsck", 4096, 1);
	progress_add(p, 1024); /* first add draws (never drawn before) */
	progress_add(p, 1024); /* too soon: no redraw */
	sleep_ms(250);
	progress_add(p, 1024); /* redraws */
	progress_done(p);      /* final line, then newline */
	s = slurp(f);
	/* redrawn in place with \r, ends with the final state */
	assert_int_equal(s[0], '\r');
	assert_non_null(strstr(s, "fsck  1.0 KiB / 4.0 KiB   25%"));
	assert_null(strstr(s, "2.0 KiB / 4.0 KiB"));
	assert_non_null(strstr(s, "3.0 KiB / 4.0 KiB   75%"));
	assert_non_null(strstr(s, "\rfsck  3.0 KiB / 4.0 KiB   75%"));
	assert_int_equal(s[strlen(s) - 1], '\n');
	free(s);
	fclose(f);
}

static void test_null(void **state)
{
	char buf[8] = "abc";

	(void)state;
	progress_add(NULL, 10);
	progress_set_total(NULL, 10);
	progress_done(NULL);
	assert_string_equal(progress_format(NULL, buf, sizeof(buf)), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_eta),
	    cmocka_unit_test(test_not_a_terminal),
	    cmocka_unit_test(test_forced),
	    cmocka_unit_test(test_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

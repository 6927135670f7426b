/*
 * test_buf.c - bounded writer and reader.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void test_roundtrip(void **state)
{
	struct bufw w;
	struct bufr r;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	const uint8_t *p;
	size_t n;

	bufw_init(&w, 1024, 1);
	bufw_u8(&w, 0xab);
	bufw_u16(&w, 0x1234);
	bufw_u32(&w, 0xdeadbeef);
	bufw_u64(&w, 0x0102030405060708ULL);
	bufw_str(&w, "hello", 5);
	assert_int_equal(bufw_error(&w), 0);
	assert_int_equal(w.len, 1 + 2 + 4 + 8 + 4 + 5);
	assert_int_equal(w.data[3], 0xef); /* little-endian */

	bufr_init(&r, w.data, w.len);
	assert_int_equal(bufr_u8(&r, &u8), 0);
	assert_int_equal(bufr_u16(&r, &u16), 0);
	assert_int_equal(bufr_u32(&r, &u32), 0);
	assert_int_equal(bufr_u64(&r, &u64), 0);
	assert_int_equal(bufr_str(&r, &p, &n, 16), 0);
	assert_int_equal(u8, 0xab);
	assert_int_equal(u16, 0x1234);
	assert_int_equal(u32, 0xdeadbeef);
	assert_true(u64 == 0x0102030405060708ULL);
	assert_int_equal(n, 5);
	assert_memory_equal(p, "hello", 5);
	assert_int_equal(bufr_left(&r), 0);
	assert_int_equal(bufr_u8(&r, &u8), -EBADMSG);
	/* sticky */
	assert_int_equal(bufr_skip(&r, 0), -EBADMSG);
	bufw_release(&w);
}

static void test_caps(void **state)
{
	struct bufw w;
	struct bufr r;
	uint8_t buf[8] = { 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4 };
	const uint8_t *p;
	size_t n;

	bufw_init(&w, 10, 0);
	bufw_u64(&w, 1);
	bufw_u32(&w, 2); /* 12 > 10 */
	assert_int_equal(bufw_error(&w), -E2BIG);
	bufw_u8(&w, 1);
	assert_int_equal(w.len, 8);
	bufw_release(&w);

	/* a length prefix larger than the data, and than the cap */
	bufr_init(&r, buf, sizeof(buf));
	assert_int_equal(bufr_str(&r, &p, &n, SIZE_MAX), -EBADMSG);
	buf[0] = 4;
	buf[1] = buf[2] = buf[3] = 0;
	bufr_init(&r, buf, sizeof(buf));
	assert_int_equal(bufr_str(&r, &p, &n, 3), -EBADMSG);
	bufr_init(&r, buf, sizeof(buf));
	assert_int_equal(bufr_str(&r, &p, &n, 4), 0);
	assert_int_equal(n, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_vs_json.c - request parsing with malformed input and the response
 * builder.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vaultsrv/json.h"

static struct json_obj *parse_ok(const char *s)
{
	struct json_obj *o = NULL;

	assert_int_equal(json_parse(s, strlen(s), &o), 0);
	assert_non_null(o);
	return o;
}

static void test_not_an_object(void **state)
{
	static const char *bad[] = {
	    "",
	    " ",
	    "{",
	    "}",
	    "[]",
	    "[{}]",
	    "\"x\"",
	    "1",
	    "null",
	    "true",
	    "{} {}",
	    "{}x",
	    "{\"a\":}",
	    "{\"a\" 1}",
	    "{'a':1}",
	    "{\"a\":1,}",
	    "{\"a\":\"\\u0000\"}",
	    "{\"a\":\"\\U0000\"}",
	    "{\"a\":tru}",
	    "{\"a\":\"unterminated}",
	};
	struct json_obj *o;
	char deep[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = NULL;
		if (json_parse(bad[i], strlen(bad[i]), &o) != -EINVAL)
			fail_msg("accepted: '%s'", bad[i]);
		assert_null(o);
	}
	assert_int_equal(json_parse("{\"a\":1}\0", 8, &o), -EINVAL);
	/* Nesting deeper than 8 is refused. */
	memset(deep, 0, sizeof(deep));
	strcpy(deep, "{\"a\":");
	for (int i = 0; i < 10; i++)
		strcat(deep, "[");
	for (int i = 0; i < 10; i++)
		strcat(deep, "]");
	strcat(deep, "}");
	assert_int_equal(json_parse(deep, strlen(deep), &o), -EINVAL);
	/* An escaped backslash before u0000 is just text. */
	o = parse_ok("{\"a\":\"\\\\u0000\"} \n");
	json_obj_free(o);
}

static void test_fields(void **state)
{
	struct json_obj *o = parse_ok(
	    "{\"s\":\"hello\",\"n\":42,\"neg\":-1,\"frac\":1.5,"
	    "\"big\":9007199254740992,\"max\":9007199254740991,"
	    "\"b\":\"AAEC\",\"nopad\":\"AAE\",\"url\":\"-_-_\","
	    "\"h\":\"00112233445566778899aabbccddeeff\","
	    "\"H\":\"00112233445566778899AABBCCDDEEFF\",\"short\":\"0011\","
	    "\"o\":{\"x\":1},\"arr\":[{\"k\":1},2],\"nul\":null}");
	const char *s;
	uint64_t u;
	uint8_t buf[16];
	size_t n;
	const struct json_obj *sub;

	assert_int_equal(json_get_str(o, "s", 64, &s), 0);
	assert_string_equal(s, "hello");
	assert_int_equal(json_get_str(o, "s", 4, &s), -EINVAL);
	assert_int_equal(json_get_str(o, "n", 64, &s), -EINVAL);
	assert_int_equal(json_get_str(o, "missing", 64, &s), -ENOENT);
	assert_int_equal(json_get_str(o, "nul", 64, &s), -ENOENT);
	assert_int_equal(json_get_str(o, "S", 64, &s), -ENOENT);

	assert_int_equal(json_get_u64(o, "n", &u), 0);
	assert_int_equal(u, 42);
	assert_int_equal(json_get_u64(o, "max", &u), 0);
	assert_int_equal(u, 9007199254740991ull);
	assert_int_equal(json_get_u64(o, "neg", &u), -EINVAL);
	assert_int_equal(json_get_u64(o, "frac", &u), -EINVAL);
	assert_int_equal(json_get_u64(o, "big", &u), -EINVAL);
	assert_int_equal(json_get_u64(o, "s", &u), -EINVAL);

	assert_int_equal(json_get_b64(o, "b", buf, 1, 16, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(buf[2], 2);
	assert_int_equal(json_get_b64n(o, "b", buf, 3), 0);
	assert_int_equal(json_get_b64n(o, "b", buf, 4), -EINVAL);
	assert_int_equal(json_get_b64n(o, "b", buf, 2), -EINVAL);
	assert_int_equal(json_get_b64(o, "nopad", buf, 1, 16, &n), -EINVAL);
	assert_int_equal(json_get_b64(o, "url", buf, 1, 16, &n), -EINVAL);
	assert_int_equal(json_get_b64(o, "n", buf, 1, 16, &n), -EINVAL);

	assert_int_equal(json_get_hex16(o, "h", buf), 0);
	assert_int_equal(buf[15], 0xff);
	assert_int_equal(json_get_hex16(o, "H", buf), -EINVAL);
	assert_int_equal(json_get_hex16(o, "short", buf), -EINVAL);

	assert_int_equal(json_get_obj(o, "o", &sub), 0);
	assert_int_equal(json_get_u64(sub, "x", &u), 0);
	assert_int_equal(json_get_obj(o, "s", &sub), -EINVAL);

	assert_int_equal(json_get_array_len(o, "arr", 16, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(json_get_array_len(o, "arr", 1, &n), -E2BIG);
	assert_int_equal(json_get_array_len(o, "o", 16, &n), -EINVAL);
	assert_int_equal(json_get_array_obj(o, "arr", 0, &sub), 0);
	assert_int_equal(json_get_array_obj(o, "arr", 1, &sub), -EINVAL);
	assert_int_equal(json_get_array_obj(o, "arr", 2, &sub), -ENOENT);
	json_obj_free(o);
	json_obj_free(NULL);
}

static void test_builder(void **state)
{
	struct json_out *w = json_out_new();
	uint8_t b[3] = {0, 1, 2};
	char *s;

	assert_non_null(w);
	json_out_str(w, "error", "x\"y");
	json_out_b64(w, "b", b, 3);
	json_out_hex(w, "h", b, 3);
	json_out_u64(w, "n", 9007199254740991ull);
	json_out_obj_begin(w, "o");
	json_out_bool(w, "ok", 1);
	json_out_end(w);
	json_out_arr_begin(w, "a");
	json_out_obj_begin(w, NULL);
	json_out_u64(w, "t", 1);
	json_out_end(w);
	json_out_end(w);
	s = json_out_finish(w);
	assert_non_null(s);
	assert_string_equal(s, "{\"error\":\"x\\\"y\",\"b\":\"AAEC\","
			       "\"h\":\"000102\",\"n\":9007199254740991,"
			       "\"o\":{\"ok\":true},\"a\":[{\"t\":1}]}");
	free(s);
	json_out_free(w);

	/* Unbalanced: no text. */
	w = json_out_new();
	json_out_obj_begin(w, "o");
	assert_null(json_out_finish(w));
	json_out_end(w);
	json_out_end(w);
	assert_null(json_out_finish(w));
	json_out_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_not_an_object),
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_builder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

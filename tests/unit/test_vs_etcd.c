/*
 * test_vs_etcd.c - the etcd v3 gateway client's parser of /v3/kv/txn
 * answers (vaultsrv/etcd.c), which reads untrusted-ish bytes: the shapes
 * etcd 3.4 really sends (int64 as strings, default fields left out, a
 * failed txn without "succeeded"), and every way an answer can be wrong.
 * Also the endpoint rules of etcd_new().
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

#include <cmocka.h>

#include "vaultsrv/etcd.h"

#define HDR "\"header\":{\"cluster_id\":\"1\",\"revision\":\"42\"}"

static int parse(const char *s, struct etcd_txn_result *t)
{
	memset(t, 0, sizeof(*t));
	return etcd_parse_txn(s, strlen(s), t);
}

static void test_real_answers(void **state)
{
	struct etcd_txn_result t;
	/* as etcd 3.4.23 answered (tests/unit: captured by hand) */
	const char *ok =
	    "{\"header\":{\"cluster_id\":\"15118495548433857066\","
	    "\"member_id\":\"13668033151171901709\",\"revision\":\"2\","
	    "\"raft_term\":\"2\"},\"succeeded\":true,\"responses\":[{"
	    "\"response_put\":{\"header\":{\"revision\":\"2\"}}}]}";
	const char *failed =
	    "{\"header\":{\"cluster_id\":\"15118495548433857066\","
	    "\"member_id\":\"13668033151171901709\",\"revision\":\"2\","
	    "\"raft_term\":\"2\"},\"responses\":[{\"response_range\":{"
	    "\"header\":{\"revision\":\"2\"},\"kvs\":[{\"key\":\"Zm9v\","
	    "\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":"
	    "\"1\",\"value\":\"YmFy\"}],\"count\":\"1\"}}]}";
	const char *empty = "{" HDR ",\"succeeded\":true,\"responses\":[{"
			    "\"response_range\":{\"header\":{}}}]}";

	(void)state;
	assert_int_equal(parse(ok, &t), 0);
	assert_int_equal(t.succeeded, 1);
	assert_int_equal(t.revision, 2);
	assert_int_equal(t.nranges, 0);
	etcd_txn_result_release(&t);

	assert_int_equal(parse(failed, &t), 0);
	assert_int_equal(t.succeeded, 0); /* no "succeeded" field */
	assert_int_equal(t.nranges, 1);
	assert_int_equal(t.range[0].n, 1);
	assert_string_equal(t.range[0].kv[0].key, "foo");
	assert_int_equal(t.range[0].kv[0].value_len, 3);
	assert_memory_equal(t.range[0].kv[0].value, "bar", 3);
	assert_int_equal(t.range[0].kv[0].mod_revision, 2);
	assert_int_equal(t.range[0].more, 0);
	etcd_txn_result_release(&t);

	/* a range that found nothing has no "kvs" */
	assert_int_equal(parse(empty, &t), 0);
	assert_int_equal(t.nranges, 1);
	assert_int_equal(t.range[0].n, 0);
	etcd_txn_result_release(&t);
}

static void test_values_and_more(void **state)
{
	struct etcd_txn_result t;
	/* empty value: the field is left out; "more" set */
	const char *s =
	    "{" HDR ",\"succeeded\":true,\"responses\":[{\"response_range\":"
	    "{\"kvs\":[{\"key\":\"YQ==\",\"create_revision\":\"5\","
	    "\"mod_revision\":\"9\"},{\"key\":\"Yg==\",\"create_revision\":"
	    "\"6\",\"mod_revision\":\"6\",\"value\":\"AAEC\"}],\"more\":true}},"
	    "{\"response_delete_range\":{\"deleted\":\"1\"}},"
	    "{\"response_range\":{}}]}";

	(void)state;
	assert_int_equal(parse(s, &t), 0);
	assert_int_equal(t.nranges, 2);
	assert_int_equal(t.range[0].n, 2);
	assert_int_equal(t.range[0].more, 1);
	assert_int_equal(t.range[0].kv[0].value_len, 0);
	assert_int_equal(t.range[0].kv[0].create_revision, 5);
	assert_int_equal(t.range[0].kv[0].mod_revision, 9);
	assert_int_equal(t.range[0].kv[1].value_len, 3);
	assert_int_equal(t.range[0].kv[1].value[2], 2);
	assert_int_equal(t.range[1].n, 0);
	etcd_txn_result_release(&t);
}

static void test_hostile(void **state)
{
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{}",			      /* no header */
	    "{\"header\":{}}",		      /* no revision */
	    "{\"header\":{\"revision\":42}}", /* number */
	    "{\"header\":{\"revision\":\"-1\"}}",
	    "{\"header\":{\"revision\":\"0x10\"}}",
	    "{\"header\":{\"revision\":\"99999999999999999999\"}}",
	    "{\"header\":{\"revision\":\"\"}}",
	    "{" HDR ",\"succeeded\":\"true\"}",
	    "{" HDR ",\"responses\":{}}",
	    "{" HDR ",\"responses\":[1]}",
	    "{" HDR ",\"responses\":[{}]}",
	    "{" HDR ",\"responses\":[{\"response_txn\":{}}]}",
	    "{" HDR ",\"responses\":[{\"response_range\":[]}]}",
	    "{" HDR ",\"responses\":[{\"response_range\":{\"kvs\":{}}}]}",
	    "{" HDR ",\"responses\":[{\"response_range\":{\"more\":1}}]}",
	    /* key missing, empty, with a NUL, not base64 */
	    "{" HDR ",\"responses\":[{\"response_range\":{\"kvs\":[{"
	    "\"mod_revision\":\"1\",\"create_revision\":\"1\"}]}}]}",
	    "{" HDR ",\"responses\":[{\"response_range\":{\"kvs\":[{"
	    "\"key\":\"\",\"mod_revision\":\"1\",\"create_revision\":\"1\"}]"
	    "}}]}",
	    "{" HDR ",\"responses\":[{\"response_range\":{\"kvs\":[{"
	    "\"key\":\"YQBi\",\"mod_revision\":\"1\",\"create_revision\":"
	    "\"1\"}]}}]}",
	    "{" HDR ",\"responses\":[{\"response_range\":{\"kvs\":[{"
	    "\"key\":\"!!!!\",\"mod_revision\":\"1\",\"create_revision\":"
	    "\"1\"}]}}]}",
	    /* revisions missing (0) */
	    "{" HDR ",\"responses\":[{\"response_range\":{\"kvs\":[{"
	    "\"key\":\"YQ==\"}]}}]}",
	    "{" HDR ",\"responses\":[{\"response_range\":{\"kvs\":[{"
	    "\"key\":\"YQ==\",\"mod_revision\":\"1\",\"create_revision\":"
	    "\"1\",\"value\":7}]}}]}",
	    /* trailing garbage, NUL escape */
	    "{" HDR "} x",
	    "{" HDR ",\"x\":\"\\u0000\"}",
	};
	struct etcd_txn_result t;
	char *big;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i], &t);

		if (r != -EIO)
			fail_msg("accepted (%d): %s", r, bad[i]);
	}
	/* more responses than operations a txn may have */
	big = malloc(64 * 1024);
	assert_non_null(big);
	n = (size_t)sprintf(big, "{" HDR ",\"responses\":[");
	for (int i = 0; i <= ETCD_OPS_MAX; i++)
		n += (size_t)sprintf(big + n, "%s{\"response_put\":{}}",
				     i ? "," : "");
	sprintf(big + n, "]}");
	assert_int_equal(parse(big, &t), -EIO);
	/* a value over ETCD_VALUE_MAX */
	n = (size_t)sprintf(big,
			    "{" HDR ",\"responses\":[{\"response_range\":"
			    "{\"kvs\":[{\"key\":\"YQ==\",\"mod_revision\":"
			    "\"1\",\"create_revision\":\"1\",\"value\":\"");
	for (size_t i = 0; i < (ETCD_VALUE_MAX + 3) / 3 * 4 + 4; i++)
		big[n++] = 'A';
	sprintf(big + n, "\"}]}}]}");
	assert_int_equal(parse(big, &t), -EIO);
	free(big);
}

static void test_endpoints(void **state)
{
	static const char *const good[] = {
	    "http://127.0.0.1:2379",
	    "http://localhost:1,http://[::1]:2,https://etcd.example.net:2379",
	    "https://[2001:db8::1]:2379",
	};
	static const char *const bad[] = {
	    "",
	    "127.0.0.1:2379",
	    "http://127.0.0.1",
	    "http://127.0.0.1:",
	    "http://127.0.0.1:0",
	    "http://127.0.0.1:65536",
	    "http://127.0.0.1:2379/",
	    "http://127.0.0.1:2379/v3",
	    "http://10.0.0.1:2379",
	    "http://etcd.example.net:2379",
	    "https://a b:1",
	    "https://[zz::1]:1",
	    "ftp://127.0.0.1:1",
	    "http://127.0.0.1:1,",
	    ",http://127.0.0.1:1",
	};
	struct etcd_conf c = {.timeout_ms = 1000};
	struct etcd *e;
	char why[128];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		c.endpoints = good[i];
		assert_int_equal(etcd_new(&c, &e, why, sizeof(why)), 0);
		etcd_free(e);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c.endpoints = bad[i];
		if (etcd_new(&c, &e, why, sizeof(why)) != -EINVAL)
			fail_msg("accepted endpoint '%s'", bad[i]);
	}
	c.endpoints = "http://127.0.0.1:1";
	c.cert = "/c.pem";
	assert_int_equal(etcd_new(&c, &e, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "together"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_real_answers),
	    cmocka_unit_test(test_values_and_more),
	    cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_endpoints),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

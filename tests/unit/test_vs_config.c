/*
 * test_vs_config.c - the strict configuration parser: every malformed
 * line is an error naming its line; loopback and TLS rules.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vaultsrv/vs_config.h"

#define REQ                                                                    \
	"listen = 127.0.0.1:8443\ntoken_label = vault\n"                       \
	"pin_file = /etc/vaultsrv/pin\ndb = /var/lib/vaultsrv/vault.db\n"

static int parse(const char *text, struct vs_config *c, char *why, size_t n)
{
	config_defaults(c);
	why[0] = '\0';
	return config_parse(c, text, strlen(text), why, n);
}

static void test_minimal_and_defaults(void **state)
{
	struct vs_config c;
	char why[256];

	assert_int_equal(parse(REQ, &c, why, sizeof(why)), 0);
	assert_string_equal(c.listen_host, "127.0.0.1");
	assert_int_equal(c.listen_port, 8443);
	assert_true(c.listen_loopback);
	assert_string_equal(c.token_label, "vault");
	assert_int_equal(c.max_attempts, 10);
	assert_int_equal(c.rate_limit_per_minute, 0);
	assert_string_equal(c.pkcs11_module, DEFAULT_PKCS11_MODULE);
	assert_string_equal(c.tls_cert, "");
	assert_int_equal(c.log_level, LOG_LVL_INFO);
}

static void test_all_keys(void **state)
{
	struct vs_config c;
	char why[256];
	const char *t = "# full\r\n"
			"  listen   =   [::1]:9000  \n"
			"\n"
			"pkcs11_module = /usr/lib/x/libhsm.so\n"
			"token_label = a label with spaces\n"
			"pin_file = /p\n"
			"db = /d\n"
			"max_attempts = 3\n"
			"tls_cert = /c.pem\n"
			"tls_key = /k.pem\n"
			"rate_limit_per_minute = 60\n"
			"log_level = debug\n"
			"threads = 2\n"
			"connection_limit = 10\n"
			"connection_timeout = 5\n"
			"evaluation_log = /e.log\n";

	assert_int_equal(parse(t, &c, why, sizeof(why)), 0);
	assert_string_equal(c.listen_host, "::1");
	assert_int_equal(c.listen_port, 9000);
	assert_true(c.listen_loopback);
	assert_string_equal(c.token_label, "a label with spaces");
	assert_int_equal(c.max_attempts, 3);
	assert_string_equal(c.tls_key, "/k.pem");
	assert_int_equal(c.rate_limit_per_minute, 60);
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_int_equal(c.threads, 2);
	assert_int_equal(c.connection_timeout, 5);
	assert_string_equal(c.evaluation_log, "/e.log");
}

static void test_malformed_lines(void **state)
{
	static const struct {
		const char *text;
		const char *why;
	} bad[] = {
	    {REQ "bogus = 1\n", "line 5: unknown key 'bogus'"},
	    {REQ "max_attempts\n", "line 5: expected 'key = value'"},
	    {REQ "max_attempts =\n", "line 5: 'max_attempts' has no value"},
	    {REQ "max_attempts = 0\n", "line 5: bad value for 'max_attempts'"},
	    {REQ "max_attempts = 1001\n", "line 5: bad value"},
	    {REQ "max_attempts = 10x\n", "line 5: bad value"},
	    {REQ "max_attempts = -1\n", "line 5: bad value"},
	    {REQ "max_attempts = 99999999999\n", "line 5: bad value"},
	    {REQ "log_level = loud\n", "line 5: bad value for 'log_level'"},
	    {REQ "db = relative.db\n", "line 5: 'db' given twice"},
	    {"listen = 127.0.0.1:0\n", "line 1: bad value for 'listen'"},
	    {"listen = 127.0.0.1:65536\n", "line 1: bad value"},
	    {"listen = 127.0.0.1\n", "line 1: bad value"},
	    {"listen = ::1:80\n", "line 1: bad value"},
	    {"listen = [::1]80\n", "line 1: bad value"},
	    {"listen = example.com:80\n", "line 1: bad value"},
	    {"pin_file = pin\n", "line 1: bad value for 'pin_file'"},
	    {"token_label = 0123456789012345678901234567890123\n",
	     "line 1: bad value for 'token_label'"},
	    {"# c\n\nthreads = 0\n", "line 3: bad value for 'threads'"},
	    {"=5\n", "line 1: unknown key ''"},
	};
	struct vs_config c;
	char why[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i].text, &c, why, sizeof(why)),
				 -EINVAL);
		if (strncmp(why, bad[i].why, strlen(bad[i].why)) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, why,
				 bad[i].why);
	}
}

static void test_nul_and_long_lines(void **state)
{
	struct vs_config c;
	char why[256];
	char text[8192];

	config_defaults(&c);
	assert_int_equal(config_parse(&c, "db = /a\0b\n", 10, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "line 1: NUL byte");
	memset(text, 'a', sizeof(text));
	memcpy(text, "db = /", 6);
	config_defaults(&c);
	assert_int_equal(config_parse(&c, text, sizeof(text), why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "line 1: line too long");
}

static void test_whole_file_rules(void **state)
{
	struct vs_config c;
	char why[256];

	assert_int_equal(parse("token_label = v\npin_file = /p\ndb = /d\n", &c,
			       why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "'listen' is required");
	assert_int_equal(parse(REQ "tls_cert = /c\n", &c, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "'tls_cert' and 'tls_key' go together");
	/* Plain HTTP only on loopback; with TLS anywhere. */
	assert_int_equal(parse("listen = 0.0.0.0:443\ntoken_label = v\n"
			       "pin_file = /p\ndb = /d\n",
			       &c, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "refusing plain HTTP"));
	assert_int_equal(parse("listen = [::]:443\ntoken_label = v\n"
			       "pin_file = /p\ndb = /d\n",
			       &c, why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(parse("listen = 0.0.0.0:443\ntoken_label = v\n"
			       "pin_file = /p\ndb = /d\ntls_cert = /c\n"
			       "tls_key = /k\n",
			       &c, why, sizeof(why)),
			 0);
	assert_false(c.listen_loopback);
	assert_int_equal(parse("listen = 127.8.9.10:80\ntoken_label = v\n"
			       "pin_file = /p\ndb = /d\n",
			       &c, why, sizeof(why)),
			 0);
	assert_int_equal(parse("listen = localhost:80\ntoken_label = v\n"
			       "pin_file = /p\ndb = /d\n",
			       &c, why, sizeof(why)),
			 0);
	assert_string_equal(c.listen_host, "127.0.0.1");
}

/* store = sqlite:PATH | etcd:...; db is its shorthand; one of them. */
static void test_store(void **state)
{
	struct vs_config c;
	char why[256];
#define BASE "listen = 127.0.0.1:8443\ntoken_label = v\npin_file = /p\n"

	assert_int_equal(parse(REQ, &c, why, sizeof(why)), 0);
	assert_string_equal(c.store, "sqlite:/var/lib/vaultsrv/vault.db");
	assert_int_equal(parse(BASE "store = sqlite:/v.db\n", &c, why,
			       sizeof(why)),
			 0);
	assert_string_equal(c.store, "sqlite:/v.db");
	assert_string_equal(c.db, "/v.db");
	assert_int_equal(
	    parse(BASE "store = etcd:http://127.0.0.1:2379,http://[::1]:2379"
		       "?prefix=v1&timeout_ms=500\n",
		  &c, why, sizeof(why)),
	    0);
	assert_string_equal(c.store, "etcd:http://127.0.0.1:2379,"
				     "http://[::1]:2379?prefix=v1&timeout_ms=500");
	assert_string_equal(c.db, "");
	assert_int_equal(parse(BASE "db = /d\nstore = sqlite:/d\n", &c, why,
			       sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "exclude each other"));
	assert_int_equal(parse(BASE, &c, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "'store' (or 'db') is required");
	assert_int_equal(parse(BASE "store = sqlite:rel.db\n", &c, why,
			       sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "line 4: bad value for 'store'");
	assert_int_equal(parse(BASE "store = redis:x\n", &c, why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(parse(BASE "store = etcd:127.0.0.1:2379\n", &c, why,
			       sizeof(why)),
			 -EINVAL);
#undef BASE
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_minimal_and_defaults),
	    cmocka_unit_test(test_all_keys),
	    cmocka_unit_test(test_malformed_lines),
	    cmocka_unit_test(test_nul_and_long_lines),
	    cmocka_unit_test(test_whole_file_rules),
	    cmocka_unit_test(test_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

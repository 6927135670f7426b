/*
 * test_vc_http.c - transport policy and hostile vault replies, against
 * the in-test responder (no real vault): every malformed reply must give
 * -VFS_E_PROTOCOL without a crash, and each hostile reply differs from a
 * control reply (which the client accepts) in one place only.
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
#include <time.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <sodium.h>

#include "vaultclient/http.h"
#include "vaultclient/protocol.h"
#include "vaultclient/vaultclient.h"
#include "vc_responder.h"
#include "vfs_error.h"

/* x of the P-256 generator: a valid evaluated value */
#define EV_OK "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY="
/* x = 1: x^3 - 3x + b is not a square mod p, no such point */
#define EV_OFFCURVE "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE="
#define CHAL "qqqqqqqqqqqqqqqqqqqqqg=="
/* some envelope tag (32 bytes): never the client's own */
#define TAG "u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7s="

static const uint8_t sid[16] = { 1, 2, 3, 4, 5, 6, 7, 8,
				 9, 10, 11, 12, 13, 14, 15, 16 };

struct route {
	const char *path;
	int status;
	const char *body;
	size_t len;
};

/* Answers from a table of routes; 404 for anything else. */
static void routed(struct responder *s, const char *path, const char *body,
		   size_t len, int *status, char **ret_body, size_t *ret_len)
{
	const struct route *r = s->arg;
	const char *b = "{\"error\":\"not_found\"}";
	size_t n;

	*status = 404;
	for (; r && r->path; r++) {
		if (strcmp(r->path, path) == 0) {
			*status = r->status;
			b = r->body;
			break;
		}
	}
	n = (r && r->path && r->len) ? r->len : strlen(b);
	*ret_body = malloc(n);
	if (!*ret_body)
		return;
	memcpy(*ret_body, b, n);
	*ret_len = n;
}

static struct vc_client *client_for(const char *url)
{
	struct vc_client *c = NULL;
	const char *urls[] = { url };

	assert_int_equal(vc_client_new(urls, 1, NULL, &c), 0);
	assert_int_equal(vc_set_token(c, "v1.YWxpY2U.99.00.mac"), 0);
	vc_set_timeouts(c, 2000, 10000);
	return c;
}

static void test_url_policy(void **state)
{
	static const struct {
		const char *url;
		int want;
	} cases[] = {
		{ "https://vault.example.com", 0 },
		{ "https://vault.example.com:8443/base/", 0 },
		{ "http://127.0.0.1:8080", 0 },
		{ "http://127.9.8.7", 0 },
		{ "http://localhost:1", 0 },
		{ "http://LOCALHOST", 0 },
		{ "http://[::1]:8080", 0 },
		{ "http://vault.example.com", -EPERM },
		{ "http://10.0.0.1", -EPERM },
		{ "http://128.0.0.1", -EPERM },
		{ "http://127.0.0.1.evil.example", -EPERM },
		{ "http://localhost.evil.example", -EPERM },
		{ "http://[::2]", -EPERM },
		{ "http://[::ffff:127.0.0.1]", -EPERM },
		{ "ftp://127.0.0.1", -EINVAL },
		{ "file:///etc/passwd", -EINVAL },
		{ "127.0.0.1:80", -EINVAL },
		{ "https://user:pw@vault.example.com", -EINVAL },
		{ "https://vault.example.com/?q=1", -EINVAL },
		{ "https://vault.example.com/#f", -EINVAL },
		{ "https://vault.example.com/a b", -EINVAL },
		{ "", -EINVAL },
	};
	struct vc_client *c = NULL;
	const char *two[] = { "https://ok.example", "http://evil.example" };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = http_url_check(cases[i].url);

		if (r != cases[i].want)
			fail_msg("url '%s': %d, want %d", cases[i].url, r,
				 cases[i].want);
	}
	/* one bad URL in the list refuses the client */
	assert_int_equal(vc_client_new(two, 2, NULL, &c), -EPERM);
	assert_null(c);
	assert_int_equal(vc_client_new(two, 0, NULL, &c), -EINVAL);
}

static void test_token_and_health(void **state)
{
	struct canned ok = { 200, "{\"status\":\"ok\"}", 0 };
	struct responder *s = responder_start(responder_canned, &ok);
	struct vc_client *c;

	assert_non_null(s);
	c = client_for(s->url);
	assert_int_equal(vc_health(c), 0);
	assert_string_equal(s->path, "/healthz");
	assert_string_equal(s->auth, "Bearer v1.YWxpY2U.99.00.mac");
	/* tokens with spaces or line breaks cannot inject headers */
	assert_int_equal(vc_set_token(c, "a b"), -EINVAL);
	assert_int_equal(vc_set_token(c, "a\r\nX-Evil: 1"), -EINVAL);
	assert_int_equal(vc_set_token(c, ""), -EINVAL);
	ok.body = "{\"status\":\"sick\"}";
	assert_int_equal(vc_health(c), -VFS_E_PROTOCOL);
	vc_client_free(c);
	responder_stop(s);
}

static void test_retry_next_url(void **state)
{
	struct canned ok = { 200, "{\"status\":\"ok\"}", 0 };
	struct responder *s = responder_start(responder_canned, &ok);
	char dead[64], dead2[64], tls[64];
	const char *urls[3];
	struct vc_client *c = NULL;

	assert_non_null(s);
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d",
		 responder_dead_port());
	snprintf(dead2, sizeof(dead2), "http://127.0.0.1:%d",
		 responder_dead_port());
	/* https to a plain-HTTP server: the TLS handshake fails */
	snprintf(tls, sizeof(tls), "https://127.0.0.1:%d", s->port);

	urls[0] = dead;
	urls[1] = tls;
	urls[2] = s->url;
	assert_int_equal(vc_client_new(urls, 3, NULL, &c), 0);
	vc_set_timeouts(c, 2000, 10000);
	assert_int_equal(vc_health(c), 0);
	assert_int_equal(s->nreq, 1);
	vc_client_free(c);

	/* nobody answers */
	urls[0] = dead;
	urls[1] = dead2;
	assert_int_equal(vc_client_new(urls, 2, NULL, &c), 0);
	assert_int_equal(vc_health(c), -VFS_E_VAULT);
	vc_client_free(c);
	responder_stop(s);
}

static void test_no_retry_on_4xx(void **state)
{
	struct canned unk = { 404, "{\"error\":\"unknown\"}", 0 };
	struct canned ok = { 200, "{\"status\":\"ok\"}", 0 };
	struct responder *a = responder_start(responder_canned, &unk);
	struct responder *b = responder_start(responder_canned, &ok);
	const char *urls[2];
	struct vc_client *c = NULL;
	uint8_t k[32];
	int left = 5;

	assert_non_null(a);
	assert_non_null(b);
	urls[0] = a->url;
	urls[1] = b->url;
	assert_int_equal(vc_client_new(urls, 2, NULL, &c), 0);
	assert_int_equal(vc_recover(c, "alice", sid, (const uint8_t *)"pw", 2,
				    k, &left),
			 -ENOENT);
	assert_int_equal(left, -1);
	assert_int_equal(a->nreq, 1);
	assert_int_equal(b->nreq, 0);
	assert_string_equal(a->path, "/v1/recover/start");
	vc_client_free(c);
	responder_stop(a);
	responder_stop(b);
}

/* A replica whose store is unavailable answers 503: the next URL is
 * asked; with no next one the 503 is the answer. */
static void test_retry_on_503(void **state)
{
	struct canned down = { 503, "{\"error\":\"unavailable\"}", 0 };
	struct canned ok = { 200, "{\"status\":\"ok\"}", 0 };
	struct responder *a = responder_start(responder_canned, &down);
	struct responder *b = responder_start(responder_canned, &ok);
	const char *urls[2];
	struct vc_client *c = NULL;

	assert_non_null(a);
	assert_non_null(b);
	urls[0] = a->url;
	urls[1] = b->url;
	assert_int_equal(vc_client_new(urls, 2, NULL, &c), 0);
	assert_int_equal(vc_health(c), 0);
	assert_int_equal(a->nreq, 1);
	assert_int_equal(b->nreq, 1);
	/* the one that answered is asked first next time */
	assert_int_equal(vc_health(c), 0);
	assert_int_equal(a->nreq, 1);
	assert_int_equal(b->nreq, 2);
	vc_client_free(c);

	urls[0] = a->url;
	assert_int_equal(vc_client_new(urls, 1, NULL, &c), 0);
	assert_int_equal(vc_health(c), -VFS_E_VAULT);
	assert_int_equal(a->nreq, 2);
	vc_client_free(c);
	responder_stop(a);
	responder_stop(b);
}

static int recover_with(const char *start_body, size_t start_len,
			int start_status, int *left)
{
	struct route routes[] = {
		{ "/v1/recover/start", start_status, start_body, start_len },
		{ "/v1/recover/finish", 401,
		  "{\"error\":\"wrong_password\",\"attempts_left\":7}", 0 },
		{ NULL, 0, NULL, 0 },
	};
	struct responder *s = responder_start(routed, routes);
	struct vc_client *c;
	uint8_t k[32];
	int r;

	assert_non_null(s);
	c = client_for(s->url);
	memset(k, 0x5a, sizeof(k));
	r = vc_recover(c, "alice", sid, (const uint8_t *)"secret", 6, k, left);
	/* the key is written only on success */
	for (size_t i = 0; i < sizeof(k); i++)
		assert_int_equal(k[i], 0x5a);
	vc_client_free(c);
	responder_stop(s);
	return r;
}

#define STARTT(ev, chal, ops, mem, left, tag)                              \
	"{\"chal_id\":\"c1\",\"challenge\":\"" chal "\",\"evaluated\":\"" ev \
	"\",\"env_tag\":\"" tag "\",\"argon\":{\"ops\":" ops             \
	",\"mem\":" mem "},\"attempts_left\":" left "}"
#define START(ev, chal, ops, mem, left) STARTT(ev, chal, ops, mem, left, TAG)
#define MEM32 "33554432"

static void test_control_reply(void **state)
{
	int left = -2;

	/* well formed, but the envelope tag is not the one this password
	 * and this evaluation give: wrong password, and no proof is sent
	 * (recover_with's finish route would answer attempts_left 7) */
	assert_int_equal(recover_with(START(EV_OK, CHAL, "2", MEM32, "9"), 0,
				      200, &left),
			 -VFS_E_PASSWORD);
	assert_int_equal(left, 9);
	/* the last attempt: locked */
	assert_int_equal(recover_with(START(EV_OK, CHAL, "2", MEM32, "0"), 0,
				      200, &left),
			 -VFS_E_LOCKED);
	assert_int_equal(left, 0);
}

static void test_hostile_start(void **state)
{
	static const char *bad[] = {
		/* malformed JSON */
		"{",
		"",
		"{\"chal_id\":\"c1\",}",
		"[]",
		"\"str\"",
		START(EV_OK, CHAL, "2", MEM32, "9") "x",
		START(EV_OK, CHAL, "2", MEM32, "9") "{}",
		/* wrong types */
		START(EV_OK, CHAL, "\"2\"", MEM32, "9"),
		START(EV_OK, CHAL, "2", "33554432.5", "9"),
		START(EV_OK, CHAL, "2", MEM32, "-1"),
		START(EV_OK, CHAL, "2", MEM32, "true"),
		START(EV_OK, CHAL, "2", MEM32, "1e300"),
		"{\"chal_id\":5,\"challenge\":\"" CHAL "\",\"evaluated\":\"" EV_OK
		"\",\"argon\":{\"ops\":2,\"mem\":" MEM32 "},\"attempts_left\":9}",
		"{\"chal_id\":\"c1\",\"challenge\":\"" CHAL "\",\"evaluated\":\"" EV_OK
		"\",\"argon\":[2," MEM32 "],\"attempts_left\":9}",
		"{\"chal_id\":\"\",\"challenge\":\"" CHAL "\",\"evaluated\":\"" EV_OK
		"\",\"argon\":{\"ops\":2,\"mem\":" MEM32 "},\"attempts_left\":9}",
		/* missing field */
		"{\"chal_id\":\"c1\",\"challenge\":\"" CHAL
		"\",\"argon\":{\"ops\":2,\"mem\":" MEM32 "},\"attempts_left\":9}",
		/* duplicate key */
		"{\"chal_id\":\"c1\",\"chal_id\":\"c2\",\"challenge\":\"" CHAL
		"\",\"evaluated\":\"" EV_OK "\",\"argon\":{\"ops\":2,\"mem\":" MEM32
		"},\"attempts_left\":9}",
		/* bad base64: no padding, bad char, url alphabet, 31 bytes */
		START("axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY", CHAL, "2",
		      MEM32, "9"),
		START("axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwp!=", CHAL, "2",
		      MEM32, "9"),
		START("axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY=", "qqqqqqqq_qqqqqqqqqqqqg==",
		      "2", MEM32, "9"),
		START("qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqg==", CHAL, "2",
		      MEM32, "9"),
		/* env_tag missing, short, long, not a string */
		"{\"chal_id\":\"c1\",\"challenge\":\"" CHAL "\",\"evaluated\":\"" EV_OK
		"\",\"argon\":{\"ops\":2,\"mem\":" MEM32 "},\"attempts_left\":9}",
		STARTT(EV_OK, CHAL, "2", MEM32, "9",
		       "u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7s"),
		STARTT(EV_OK, CHAL, "2", MEM32, "9",
		       "u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7uw=="),
		STARTT(EV_OK, CHAL, "2", MEM32, "9",
		       "u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7"),
		STARTT(EV_OK, CHAL, "2", MEM32, "9", "") ,
		/* challenge too short (8 bytes) */
		START(EV_OK, "qqqqqqqqqqo=", "2", MEM32, "9"),
		/* off-curve evaluated, and x >= p */
		START(EV_OFFCURVE, CHAL, "2", MEM32, "9"),
		START("//////////////////////////////////////////8=", CHAL, "2",
		      MEM32, "9"),
		/* Argon2 parameters out of bounds */
		START(EV_OK, CHAL, "1", MEM32, "9"),
		START(EV_OK, CHAL, "11", MEM32, "9"),
		START(EV_OK, CHAL, "2", "33554431", "9"),
		START(EV_OK, CHAL, "2", "1073741825", "9"),
		START(EV_OK, CHAL, "2", "9007199254740991", "9"),
		START(EV_OK, CHAL, "4294967298", MEM32, "9"),
	};
	size_t passed = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int left = -2;
		int r = recover_with(bad[i], 0, 200, &left);

		if (r != -VFS_E_PROTOCOL)
			fail_msg("hostile reply %zu gave %d: %s", i, r, bad[i]);
		passed++;
	}
	print_message("%zu hostile recover/start replies refused\n", passed);
}

static void test_oversized_and_nul(void **state)
{
	size_t n = 70 * 1024;
	char *big = malloc(n);
	int left;
	static const char nul[] = "{\"chal_id\":\"c\0\"}";

	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	assert_int_equal(recover_with(big, n, 200, &left), -VFS_E_PROTOCOL);
	/* also as an error body */
	assert_int_equal(recover_with(big, n, 401, &left), -VFS_E_PROTOCOL);
	free(big);
	assert_int_equal(recover_with(nul, sizeof(nul) - 1, 200, &left),
			 -VFS_E_PROTOCOL);
}

static void test_error_mapping(void **state)
{
	static const struct {
		int status;
		const char *body;
		int want;
		int left;
	} cases[] = {
		{ 401, "{\"error\":\"wrong_password\",\"attempts_left\":3}",
		  -VFS_E_PASSWORD, 3 },
		{ 423, "{\"error\":\"locked\",\"attempts_left\":0}",
		  -VFS_E_LOCKED, 0 },
		{ 401, "{\"error\":\"bad_token\",\"message\":\"expired\"}",
		  -VFS_E_TOKEN, -1 },
		{ 403, "{\"error\":\"token_mismatch\"}", -VFS_E_TOKEN, -1 },
		{ 404, "{\"error\":\"unknown\"}", -ENOENT, -1 },
		{ 410, "{\"error\":\"stale_challenge\"}", -ESTALE, -1 },
		{ 429, "{\"error\":\"rate_limited\"}", -EAGAIN, -1 },
		{ 400, "{\"error\":\"bad_point\"}", -VFS_E_PROTOCOL, -1 },
		{ 404, "{\"error\":\"no_such_endpoint\"}", -VFS_E_PROTOCOL, -1 },
		{ 404, "<html>not found</html>", -VFS_E_PROTOCOL, -1 },
		{ 401, "{\"error\":\"wrong_password\",\"attempts_left\":-1}",
		  -VFS_E_PROTOCOL, -1 },
		{ 401, "{\"error\":7}", -VFS_E_PROTOCOL, -1 },
		{ 302, "{}", -VFS_E_PROTOCOL, -1 },
		{ 201, "{}", -VFS_E_PROTOCOL, -1 },
		{ 500, "<html>oops</html>", -VFS_E_VAULT, -1 },
		{ 503, "", -VFS_E_VAULT, -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int left = -2;
		int r = recover_with(cases[i].body, 0, cases[i].status, &left);

		if (r != cases[i].want || left != cases[i].left)
			fail_msg("case %zu (%d %s): %d left %d", i,
				 cases[i].status, cases[i].body, r, left);
	}
}

/*
 * A fake vault: one account, an OPRF key k (a P-256 scalar, as the HSM's),
 * the record a registration leaves (auth_pub, env_tag, one store). With
 * mitm set, recover/start is answered by a "front end" that evaluates
 * under its own key instead (it forwards the real env_tag).
 */
struct fake {
	BIGNUM *k, *mitm;
	char env_tag[64], auth_pub[64], enc_k[128], k_pub[64];
	int left;	    /* attempts_left in recover/start */
	int nfinish;	    /* requests after recover/start */
	int fin_status;	    /* 0: answer enc_k and k_pub */
	const char *fin_body;
	char last_sig[128]; /* sig of the last recover/finish */
};

/* x(k·blinded) for the base64 point in req's "blinded", as base64. */
static void fake_eval(const BIGNUM *k, const cJSON *req, char out[64])
{
	const cJSON *b = cJSON_GetObjectItem(req, "blinded");
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	EC_POINT *m = EC_POINT_new(g), *z = EC_POINT_new(g);
	BIGNUM *x = BN_new();
	uint8_t pt[65], xb[32];
	size_t n = 0;

	assert_true(cJSON_IsString(b));
	assert_int_equal(sodium_base642bin(pt, sizeof(pt), b->valuestring,
					   strlen(b->valuestring), NULL, &n,
					   NULL,
					   sodium_base64_VARIANT_ORIGINAL),
			 0);
	assert_int_equal(n, 65);
	assert_true(EC_POINT_oct2point(g, m, pt, 65, NULL));
	assert_true(EC_POINT_mul(g, z, NULL, m, k, NULL));
	assert_true(EC_POINT_get_affine_coordinates(g, z, x, NULL, NULL));
	assert_int_equal(BN_bn2binpad(x, xb, 32), 32);
	sodium_bin2base64(out, 64, xb, 32, sodium_base64_VARIANT_ORIGINAL);
	BN_free(x);
	EC_POINT_free(m);
	EC_POINT_free(z);
	EC_GROUP_free(g);
}

static void copy_str(const cJSON *o, const char *key, char *out, size_t cap)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);

	assert_true(cJSON_IsString(v));
	assert_true(strlen(v->valuestring) < cap);
	strcpy(out, v->valuestring);
}

static void fake_vault(struct responder *s, const char *path,
		       const char *body, size_t len, int *status,
		       char **ret_body, size_t *ret_len)
{
	struct fake *f = s->arg;
	cJSON *req = cJSON_ParseWithLength(body, len);
	char ev[64], *out;

	assert_non_null(req);
	*status = 200;
	out = malloc(1024);
	assert_non_null(out);
	if (strcmp(path, "/v1/register/start") == 0) {
		fake_eval(f->k, req, ev);
		snprintf(out, 1024,
			 "{\"reg_id\":\"AAECAwQFBgcICQoLDA0ODw==\","
			 "\"evaluated\":\"%s\"}",
			 ev);
	} else if (strcmp(path, "/v1/register/finish") == 0) {
		const cJSON *st = cJSON_GetArrayItem(
		    cJSON_GetObjectItem(req, "stores"), 0);

		copy_str(req, "env_tag", f->env_tag, sizeof(f->env_tag));
		copy_str(req, "auth_pub", f->auth_pub, sizeof(f->auth_pub));
		copy_str(st, "enc_k", f->enc_k, sizeof(f->enc_k));
		copy_str(st, "k_pub", f->k_pub, sizeof(f->k_pub));
		*status = 201;
		snprintf(out, 1024, "{\"ok\":true}");
	} else if (strcmp(path, "/v1/recover/start") == 0) {
		fake_eval(f->mitm ? f->mitm : f->k, req, ev);
		snprintf(out, 1024,
			 "{\"chal_id\":\"c1\",\"challenge\":\"" CHAL "\","
			 "\"evaluated\":\"%s\",\"env_tag\":\"%s\","
			 "\"argon\":{\"ops\":2,\"mem\":" MEM32 "},"
			 "\"attempts_left\":%d}",
			 ev, f->env_tag, f->left);
	} else {
		/* anything that follows a recover/start carries the proof */
		f->nfinish++;
		if (cJSON_IsString(cJSON_GetObjectItem(req, "sig")))
			copy_str(req, "sig", f->last_sig, sizeof(f->last_sig));
		if (f->fin_status) {
			*status = f->fin_status;
			snprintf(out, 1024, "%s", f->fin_body);
		} else {
			snprintf(out, 1024,
				 "{\"enc_k\":\"%s\",\"k_pub\":\"%s\"}",
				 f->enc_k, f->k_pub);
		}
	}
	cJSON_Delete(req);
	*ret_body = out;
	*ret_len = strlen(out);
}

static BIGNUM *fake_key(void)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	BIGNUM *k = BN_new();

	do {
		assert_true(BN_rand_range(k, EC_GROUP_get0_order(g)));
	} while (BN_is_zero(k));
	EC_GROUP_free(g);
	return k;
}

static const uint8_t the_k[32] = { 0x4b, 0x4b, 0x4b, 1, 2, 3 };

/* Registers "alice" with password "right" at a fresh fake vault. */
static struct responder *fake_registered(struct fake *f, struct vc_client **c)
{
	struct vc_store_key st = { { 0 }, the_k };
	struct responder *s;

	memset(f, 0, sizeof(*f));
	f->k = fake_key();
	f->left = 9;
	s = responder_start(fake_vault, f);
	assert_non_null(s);
	*c = client_for(s->url);
	assert_int_equal(vc_set_argon(*c, 2, 32ULL << 20), 0);
	memcpy(st.store_id, sid, sizeof(sid));
	assert_int_equal(vc_register(*c, "alice", (const uint8_t *)"right", 5,
				     &st, 1),
			 0);
	return s;
}

static void fake_done(struct fake *f, struct responder *s, struct vc_client *c)
{
	vc_client_free(c);
	responder_stop(s);
	BN_free(f->k);
	BN_free(f->mitm);
}

/*
 * The envelope check: a front end between the client and the vault (TLS
 * terminated in front of the HSM) that evaluates under a key of its own
 * must get no signature (it could test password guesses against one
 * offline); nor does a wrong password send one.
 */
static void test_envelope(void **state)
{
	struct vc_client *c;
	struct fake f;
	struct responder *s = fake_registered(&f, &c);
	uint8_t k[32];
	int left = -2;

	/* control: the real vault and the right password open K */
	assert_int_equal(vc_recover(c, "alice", sid, (const uint8_t *)"right",
				    5, k, &left),
			 0);
	assert_memory_equal(k, the_k, 32);
	assert_int_equal(f.nfinish, 1);
	assert_int_equal(left, 9);

	/* a wrong password: refused before any proof */
	assert_int_equal(vc_recover(c, "alice", sid, (const uint8_t *)"wrong",
				    5, k, &left),
			 -VFS_E_PASSWORD);
	assert_int_equal(left, 9);
	assert_int_equal(f.nfinish, 1);
	assert_string_equal(s->path, "/v1/recover/start");

	/* the right password through a substituting front end: the same
	 * outcome, and nothing derived from the password leaves */
	f.mitm = fake_key();
	assert_int_equal(vc_recover(c, "alice", sid, (const uint8_t *)"right",
				    5, k, &left),
			 -VFS_E_PASSWORD);
	assert_int_equal(vc_delete(c, "alice", (const uint8_t *)"right", 5,
				   &left),
			 -VFS_E_PASSWORD);
	assert_int_equal(vc_passwd(c, "alice", (const uint8_t *)"right", 5,
				   (const uint8_t *)"new", 3, &left),
			 -VFS_E_PASSWORD);
	assert_int_equal(f.nfinish, 1);
	assert_string_equal(s->path, "/v1/recover/start");

	/* the last attempt: locked, still nothing sent */
	f.left = 0;
	assert_int_equal(vc_recover(c, "alice", sid, (const uint8_t *)"right",
				    5, k, &left),
			 -VFS_E_LOCKED);
	assert_int_equal(left, 0);
	assert_int_equal(f.nfinish, 1);

	/* the real vault again: the proof is sent */
	BN_free(f.mitm);
	f.mitm = NULL;
	f.left = 8;
	assert_int_equal(vc_recover(c, "alice", sid, (const uint8_t *)"right",
				    5, k, &left),
			 0);
	assert_int_equal(f.nfinish, 2);
	fake_done(&f, s, c);
}

static void test_finish_hostile(void **state)
{
	/* recover/finish answers 200 with something unusable */
	static const char *fin[] = {
		"{\"enc_k\":\"AAAA\",\"k_pub\":\"AAAA\"}",
		"{\"enc_k\":5}",
		"{}",
	};
	struct vc_client *c;
	struct fake f;
	struct responder *s = fake_registered(&f, &c);

	for (size_t i = 0; i < sizeof(fin) / sizeof(fin[0]); i++) {
		uint8_t k[32];
		int left;

		f.fin_status = 200;
		f.fin_body = fin[i];
		assert_int_equal(vc_recover(c, "alice", sid,
					    (const uint8_t *)"right", 5, k,
					    &left),
				 -VFS_E_PROTOCOL);
		assert_int_equal(left, 9);
		/* the proof was sent: the hostile part is the finish */
		assert_int_equal(f.nfinish, (int)i + 1);
	}
	fake_done(&f, s, c);
}

static void test_bad_arguments(void **state)
{
	struct vc_client *c = client_for("http://127.0.0.1:1");
	uint8_t k[32] = { 0 };
	struct vc_store_key st[2] = { { { 0 }, k }, { { 0 }, k } };

	assert_int_equal(vc_recover(c, "bad account", sid,
				    (const uint8_t *)"pw", 2, k, NULL),
			 -EINVAL);
	assert_int_equal(vc_recover(c, "", sid, (const uint8_t *)"pw", 2, k,
				    NULL),
			 -EINVAL);
	assert_int_equal(vc_recover(c, "alice", sid, (const uint8_t *)"pw", 0,
				    k, NULL),
			 -EINVAL);
	/* duplicate store ids */
	assert_int_equal(vc_register(c, "alice", (const uint8_t *)"pw", 2, st,
				     2),
			 -EINVAL);
	assert_int_equal(vc_register(c, "alice", (const uint8_t *)"pw", 2, st,
				     0),
			 -EINVAL);
	assert_int_equal(vc_set_argon(c, 1, 64 << 20), -EINVAL);
	assert_int_equal(vc_set_argon(c, 3, 1ULL << 31), -EINVAL);
	assert_int_equal(vc_set_argon(c, 2, 32 << 20), 0);
	vc_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_policy),
		cmocka_unit_test(test_token_and_health),
		cmocka_unit_test(test_retry_next_url),
		cmocka_unit_test(test_no_retry_on_4xx),
		cmocka_unit_test(test_retry_on_503),
		cmocka_unit_test(test_control_reply),
		cmocka_unit_test(test_hostile_start),
		cmocka_unit_test(test_oversized_and_nul),
		cmocka_unit_test(test_error_mapping),
		cmocka_unit_test(test_finish_hostile),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_bad_arguments),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

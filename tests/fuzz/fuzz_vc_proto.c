/*
 * fuzz_vc_proto.c - libFuzzer harness: every vault reply as the client
 * protocol code (vaultclient/protocol.c) reads it, through the real vc_*
 * calls, with the HTTP transport replaced by the fuzzer.
 *
 * This file defines the whole of vaultclient/http.h, so the linker takes
 * these instead of http.c (no network), and crypto_pwhash, so that a
 * reply that gets as far as Argon2id costs a hash instead of 32 MiB and
 * ~100 ms (the parameters are still checked by vcrypto_argon_check first).
 *
 * Input: one byte choosing the call (health, register, recover, passwd,
 * add_store, delete, rearm, report_generation, get_generation, audit),
 * then the replies: each is one byte choosing the HTTP status, then the
 * body up to the next NUL byte (JSON bodies never hold one) or the end.
 * Once the replies run out, the vault is unreachable.
 *
 * Checked: a recovered key is the store's key (the client checks it
 * against the K-derived public key, which a vault cannot forge); audit
 * events are bounded printable strings; every error is a negative code.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fuzz.h"
#include "vaultclient/http.h"
#include "vaultclient/vaultclient.h"
#include "vfs_error.h"

struct http_client {
	int unused;
};

static const uint8_t *in;
static size_t in_left;

int http_url_check(const char *url)
{
	return url && *url ? 0 : -EINVAL;
}

int http_client_new(const char *const *urls, size_t n, const char *ca_file,
		    struct http_client **ret)
{
	(void)urls;
	(void)ca_file;
	if (n < 1 || n > HTTP_MAX_URLS)
		return -EINVAL;
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

void http_client_free(struct http_client *h)
{
	free(h);
}

int http_set_token(struct http_client *h, const char *token)
{
	(void)h;
	(void)token;
	return 0;
}

void http_set_timeouts(struct http_client *h, long connect_ms, long total_ms)
{
	(void)h;
	(void)connect_ms;
	(void)total_ms;
}

int http_request(struct http_client *h, const char *path, const char *body,
		 size_t len, struct http_reply *ret)
{
	static const long status[] = {200, 201, 200, 400, 401, 403, 404,
				      409, 410, 423, 429, 500, 503, 302};
	const uint8_t *end;
	size_t n;

	(void)h;
	(void)path;
	(void)body;
	(void)len;
	if (in_left == 0)
		return -VFS_E_VAULT;
	ret->status = status[in[0] % (sizeof(status) / sizeof(status[0]))];
	in++;
	in_left--;
	end = memchr(in, 0, in_left);
	n = end ? (size_t)(end - in) : in_left;
	ret->len = n;
	if (ret->len > HTTP_MAX_BODY)
		return -VFS_E_PROTOCOL;
	ret->body = malloc(ret->len + 1);
	if (!ret->body)
		return -ENOMEM;
	memcpy(ret->body, in, ret->len);
	ret->body[ret->len] = '\0';
	in += n + (end ? 1 : 0);
	in_left -= n + (end ? 1 : 0);
	return 0;
}

void http_reply_release(struct http_reply *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

size_t http_last_url(const struct http_client *h)
{
	(void)h;
	return 0;
}

/* Argon2id stand-in (see above): a keyed hash of password and salt. */
int crypto_pwhash(unsigned char *const out, unsigned long long outlen,
		  const char *const passwd, unsigned long long passwdlen,
		  const unsigned char *const salt, unsigned long long opslimit,
		  size_t memlimit, int alg)
{
	(void)opslimit;
	(void)memlimit;
	(void)alg;
	return crypto_generichash(out, (size_t)outlen,
				  (const unsigned char *)passwd,
				  (unsigned long long)passwdlen, salt,
				  crypto_pwhash_SALTBYTES);
}

static const uint8_t key_k[32] = {
	0x4b, 0x4b, 0x4b, 0x4b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
};
static const uint8_t key_k2[32] = {
	0x4c, 0x4c, 0x4c, 0x4c, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const urls[] = {"http://127.0.0.1:1"};
	static const uint8_t pw[] = "correct horse", pw2[] = "battery staple";
	struct vc_store_key st[2];
	struct vc_client *c;
	struct vc_audit_event *ev;
	uint8_t k[32];
	uint64_t u;
	size_t n;
	int r, left = -2;

	if (size < 1 || sodium_init() < 0)
		return 0;
	in = data + 1;
	in_left = size - 1;
	memset(st, 0, sizeof(st));
	memset(st[0].store_id, 0x11, sizeof(st[0].store_id));
	st[0].key = key_k;
	memset(st[1].store_id, 0x22, sizeof(st[1].store_id));
	st[1].key = key_k2;
	if (vc_client_new(urls, 1, NULL, &c) != 0 ||
	    vc_set_token(c, "token") != 0 ||
	    vc_set_argon(c, 2, 32ULL << 20) != 0)
		abort();
	switch (data[0] % 10) {
	case 0:
		r = vc_health(c);
		break;
	case 1:
		r = vc_register(c, "alice", pw, sizeof(pw) - 1, st, 2);
		break;
	case 2:
		r = vc_recover(c, "alice", st[0].store_id, pw, sizeof(pw) - 1,
			       k, &left);
		if (r == 0 && memcmp(k, key_k, sizeof(k)) != 0)
			abort(); /* a vault made us accept a wrong key */
		if (left < -1)
			abort();
		break;
	case 3:
		r = vc_passwd(c, "alice", pw, sizeof(pw) - 1, pw2,
			      sizeof(pw2) - 1, &left);
		break;
	case 4:
		r = vc_add_store(c, "alice", pw, sizeof(pw) - 1, &st[1], &left);
		break;
	case 5:
		r = vc_delete(c, "alice", pw, sizeof(pw) - 1, &left);
		break;
	case 6:
		r = vc_rearm(c, "alice", st, 2, pw2, sizeof(pw2) - 1);
		break;
	case 7:
		r = vc_report_generation(c, "alice", &st[0], 42, &u);
		break;
	case 8:
		r = vc_get_generation(c, "alice", &st[0], &u);
		break;
	default:
		r = vc_audit(c, "alice", &ev, &n);
		if (r == 0) {
			if (n > 1000 || (n && !ev))
				abort();
			for (size_t i = 0; i < n; i++)
				if (!memchr(ev[i].action, 0,
					    sizeof(ev[i].action)) ||
				    !memchr(ev[i].outcome, 0,
					    sizeof(ev[i].outcome)) ||
				    !memchr(ev[i].source, 0,
					    sizeof(ev[i].source)))
					abort();
			vc_audit_free(ev);
		}
		break;
	}
	if (r > 0)
		abort();
	vc_client_free(c);
	return 0;
}

/*
 * vs_probe.c - test helper: the client half of the vault protocol
 * (docs/protocol.md), written independently of the server's code, to
 * drive vaultsrv from the integration tests before libvaultclient exists.
 *
 * TEST ONLY: H1 is a simple try-and-increment hash to P-256, not RFC 9380
 * (the server never sees the password, so it cannot tell the difference).
 *
 *   vs_probe --url URL --token TOKEN [--cacert PEM] COMMAND [options]
 *
 * Unlike libvaultclient, it still sends a proof whose envelope tag did
 * not match (a wrong password), so that the tests can drive the server's
 * lockout state machine; it reports the mismatch on stderr.
 *
 * Exit: 0 ok, 2 wrong_password, 3 locked, 4 other HTTP error, 1 local
 * failure. Error lines on stdout: "status=N error=CODE [attempts_left=N]".
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <time.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <sodium.h>

#define OPS 2
#define MEM (32ull << 20)

static const char *cacert;
/* bench: --url may list several (comma-separated): clients take turns */
static const char *url_arg;
static __thread const char *url;
/* Per thread, for the bench command. */
static __thread const char *token;
static __thread EC_GROUP *grp;
static __thread BN_CTX *bnctx;

static void die(const char *what)
{
	fprintf(stderr, "vs_probe: %s\n", what);
	exit(1);
}

/* ---- transport ---- */

struct resp {
	long status;
	char body[65536];
	size_t len;
};

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t k = sz * n;

	if (r->len + k >= sizeof(r->body))
		return 0;
	memcpy(r->body + r->len, p, k);
	r->len += k;
	r->body[r->len] = '\0';
	return k;
}

static cJSON *post(const char *path, cJSON *body, long *status)
{
	static __thread struct resp r;
	struct curl_slist *h = NULL;
	char full[1024], auth[1024];
	char *text = cJSON_PrintUnformatted(body);
	CURL *c = curl_easy_init();
	cJSON *j;

	if (!c || !text)
		die("out of memory");
	memset(&r, 0, sizeof(r));
	snprintf(full, sizeof(full), "%s%s", url, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if (cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, cacert);
	if (curl_easy_perform(c) != CURLE_OK)
		die("HTTP request failed");
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(text);
	cJSON_Delete(body);
	*status = r.status;
	j = cJSON_Parse(r.body);
	if (!j)
		die("response is not JSON");
	return j;
}

/* Prints an error answer and exits with the matching code. */
static void http_fail(long status, cJSON *j)
{
	cJSON *e = cJSON_GetObjectItem(j, "error");
	cJSON *a = cJSON_GetObjectItem(j, "attempts_left");
	const char *code = cJSON_IsString(e) ? e->valuestring : "?";

	printf("status=%ld error=%s", status, code);
	if (cJSON_IsNumber(a))
		printf(" attempts_left=%d", a->valueint);
	printf("\n");
	fflush(stdout);
	if (strcmp(code, "wrong_password") == 0)
		exit(2);
	if (strcmp(code, "locked") == 0)
		exit(3);
	exit(4);
}

static cJSON *post_ok(const char *path, cJSON *body, long want)
{
	long st;
	cJSON *j = post(path, body, &st);

	if (st != want)
		http_fail(st, j);
	return j;
}

/* ---- encodings ---- */

static void b64_add(cJSON *o, const char *name, const uint8_t *p, size_t n)
{
	char s[1024];

	sodium_bin2base64(s, sizeof(s), p, n, sodium_base64_VARIANT_ORIGINAL);
	cJSON_AddStringToObject(o, name, s);
}

static void hex_add(cJSON *o, const char *name, const uint8_t *p, size_t n)
{
	char s[256];

	sodium_bin2hex(s, sizeof(s), p, n);
	cJSON_AddStringToObject(o, name, s);
}

static void b64_get(cJSON *o, const char *name, uint8_t *out, size_t n)
{
	cJSON *f = cJSON_GetObjectItem(o, name);
	size_t got = 0;

	if (!cJSON_IsString(f) ||
	    sodium_base642bin(out, n, f->valuestring, strlen(f->valuestring),
			      NULL, &got, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got != n)
		die("bad base64 field in response");
}

static void hex_parse(const char *s, uint8_t *out, size_t n)
{
	size_t got = 0;

	if (sodium_hex2bin(out, n, s, strlen(s), NULL, &got, NULL) != 0 ||
	    got != n)
		die("bad hex argument");
}

/* Transcript: le32(len) || bytes, appended. */
struct tr {
	uint8_t b[2048];
	size_t n;
};

static void tr_add(struct tr *t, const void *p, size_t n)
{
	if (t->n + 4 + n > sizeof(t->b))
		die("transcript too long");
	t->b[t->n++] = (uint8_t)n;
	t->b[t->n++] = (uint8_t)(n >> 8);
	t->b[t->n++] = (uint8_t)(n >> 16);
	t->b[t->n++] = (uint8_t)(n >> 24);
	if (n)
		memcpy(t->b + t->n, p, n);
	t->n += n;
}

static void tr_str(struct tr *t, const char *s)
{
	tr_add(t, s, strlen(s));
}

static void le64(uint8_t o[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		o[i] = (uint8_t)(v >> (8 * i));
}

/* ---- OPRF client ---- */

static EC_POINT *h1(const char *pw)
{
	EC_POINT *p = EC_POINT_new(grp);
	BIGNUM *x = BN_new();

	for (unsigned ctr = 0; ctr < 256; ctr++) {
		uint8_t h[32];
		crypto_hash_sha256_state st;
		uint8_t c = (uint8_t)ctr;

		crypto_hash_sha256_init(&st);
		crypto_hash_sha256_update(&st, (const uint8_t *)"vs_probe-h2c",
					  12);
		crypto_hash_sha256_update(&st, &c, 1);
		crypto_hash_sha256_update(&st, (const uint8_t *)pw, strlen(pw));
		crypto_hash_sha256_final(&st, h);
		BN_bin2bn(h, 32, x);
		ERR_set_mark();
		if (EC_POINT_set_compressed_coordinates(grp, p, x, 0, bnctx) ==
		    1) {
			ERR_pop_to_mark();
			BN_free(x);
			return p;
		}
		ERR_pop_to_mark();
	}
	die("hash to curve failed");
	return NULL;
}

struct blind {
	BIGNUM *r;
	uint8_t blinded[65];
};

static void blind(const char *pw, struct blind *b)
{
	EC_POINT *p = h1(pw), *m = EC_POINT_new(grp);
	const BIGNUM *n = EC_GROUP_get0_order(grp);

	b->r = BN_new();
	do {
		BN_rand_range(b->r, n);
	} while (BN_is_zero(b->r));
	EC_POINT_mul(grp, m, NULL, p, b->r, bnctx);
	if (EC_POINT_point2oct(grp, m, POINT_CONVERSION_UNCOMPRESSED,
			       b->blinded, 65, bnctx) != 65)
		die("point encoding");
	EC_POINT_free(p);
	EC_POINT_free(m);
}

/* Unblinds evaluated and derives the OPRF output. */
static void unblind(const char *pw, struct blind *b, const uint8_t ev[32],
		    uint8_t out[32])
{
	EC_POINT *z = EC_POINT_new(grp), *nn = EC_POINT_new(grp);
	BIGNUM *x = BN_bin2bn(ev, 32, NULL), *ri = BN_new(), *nx = BN_new();
	uint8_t xn[32], l[4];
	crypto_hash_sha256_state st;
	uint32_t plen = (uint32_t)strlen(pw);

	if (EC_POINT_set_compressed_coordinates(grp, z, x, 0, bnctx) != 1)
		die("evaluated is not an x coordinate");
	BN_mod_inverse(ri, b->r, EC_GROUP_get0_order(grp), bnctx);
	EC_POINT_mul(grp, nn, NULL, z, ri, bnctx);
	EC_POINT_get_affine_coordinates(grp, nn, nx, NULL, bnctx);
	BN_bn2binpad(nx, xn, 32);
	l[0] = (uint8_t)plen;
	l[1] = (uint8_t)(plen >> 8);
	l[2] = (uint8_t)(plen >> 16);
	l[3] = (uint8_t)(plen >> 24);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)"vaultfs-v1-oprf-out",
				  19);
	crypto_hash_sha256_update(&st, l, 4);
	crypto_hash_sha256_update(&st, (const uint8_t *)pw, plen);
	crypto_hash_sha256_update(&st, xn, 32);
	crypto_hash_sha256_final(&st, out);
	EC_POINT_free(z);
	EC_POINT_free(nn);
	BN_free(x);
	BN_free(ri);
	BN_free(nx);
}

struct pwkeys {
	uint8_t auth_pk[32], auth_sk[64], wrap[32], env[32];
};

static void pw_keys(const char *pw, const uint8_t out[32], uint64_t ops,
		    uint64_t mem, struct pwkeys *k)
{
	uint8_t rwd[64], rwd_key[32], seed[32];

	if (ops < 2 || ops > 10 || mem < (32ull << 20) || mem > (1ull << 30))
		die("server sent argon parameters out of bounds");
	if (crypto_pwhash(rwd, sizeof(rwd), pw, strlen(pw), out, ops,
			  (size_t)mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
		die("argon2id failed");
	crypto_generichash(rwd_key, 32, rwd, 64, out, 32);
	crypto_kdf_derive_from_key(seed, 32, 1, "vfspwd01", rwd_key);
	crypto_sign_seed_keypair(k->auth_pk, k->auth_sk, seed);
	crypto_kdf_derive_from_key(k->wrap, 32, 2, "vfspwd01", rwd_key);
	crypto_kdf_derive_from_key(k->env, 32, 3, "vfspwd01", rwd_key);
}

/* HMAC-SHA-256(env key, T("vaultfs-v1-envelope", account, auth_pub)). */
static void env_tag(const struct pwkeys *k, const char *account,
		    uint8_t tag[32])
{
	struct tr t = {.n = 0};

	tr_str(&t, "vaultfs-v1-envelope");
	tr_str(&t, account);
	tr_add(&t, k->auth_pk, 32);
	crypto_auth_hmacsha256(tag, t.b, t.n, k->env);
}

struct kkeys {
	uint8_t pk[32], sk[64];
};

static void k_keys(const uint8_t K[32], struct kkeys *k)
{
	uint8_t seed[32];

	crypto_kdf_derive_from_key(seed, 32, 1, "vfsvault", K);
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
}

static void enck_ad(const char *account, const uint8_t sid[16], uint8_t *ad,
		    size_t *adlen)
{
	uint32_t n = (uint32_t)strlen(account);

	memcpy(ad, "vaultfs-v1-enck", 15);
	ad[15] = (uint8_t)n;
	ad[16] = (uint8_t)(n >> 8);
	ad[17] = (uint8_t)(n >> 16);
	ad[18] = (uint8_t)(n >> 24);
	memcpy(ad + 19, account, n);
	memcpy(ad + 19 + n, sid, 16);
	*adlen = 19 + n + 16;
}

static void enc_k(const uint8_t wrap[32], const char *account,
		  const uint8_t sid[16], const uint8_t K[32], uint8_t out[72])
{
	uint8_t ad[256];
	size_t adlen;
	unsigned long long clen;

	enck_ad(account, sid, ad, &adlen);
	randombytes_buf(out, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + 24, &clen, K, 32, ad,
						   adlen, NULL, out, wrap);
}

static int dec_k(const uint8_t wrap[32], const char *account,
		 const uint8_t sid[16], const uint8_t in[72], uint8_t K[32])
{
	uint8_t ad[256];
	size_t adlen;
	unsigned long long mlen;

	enck_ad(account, sid, ad, &adlen);
	return crypto_aead_xchacha20poly1305_ietf_decrypt(
	    K, &mlen, NULL, in + 24, 72 - 24, ad, adlen, in, wrap);
}

static void sign(const uint8_t sk[64], const struct tr *t, uint8_t sig[64])
{
	crypto_sign_detached(sig, NULL, t->b, t->n, sk);
}

/* ---- protocol steps ---- */

struct store_arg {
	uint8_t sid[16];
	uint8_t K[32];
};

static int o_swap_tag;

/* Completes a registration (any kind) with new password pw. */
static void reg_finish(const char *account, const char *pw, struct blind *b,
		       cJSON *startresp, struct store_arg *st, size_t nst)
{
	uint8_t reg_id[16], ev[32], out[32], sig[64], ops4[4], mem8[8];
	uint8_t tag[32];
	struct pwkeys pk;
	struct tr t = {.n = 0};
	cJSON *req = cJSON_CreateObject(), *arr, *argon;

	b64_get(startresp, "reg_id", reg_id, 16);
	b64_get(startresp, "evaluated", ev, 32);
	unblind(pw, b, ev, out);
	pw_keys(pw, out, OPS, MEM, &pk);
	ops4[0] = OPS;
	ops4[1] = ops4[2] = ops4[3] = 0;
	le64(mem8, MEM);
	env_tag(&pk, account, tag);
	tr_str(&t, "vaultfs-v1-register");
	tr_str(&t, account);
	tr_add(&t, reg_id, 16);
	tr_add(&t, pk.auth_pk, 32);
	tr_add(&t, ops4, 4);
	tr_add(&t, mem8, 8);
	tr_add(&t, tag, 32);
	sign(pk.auth_sk, &t, sig);
	cJSON_AddStringToObject(req, "account", account);
	b64_add(req, "reg_id", reg_id, 16);
	b64_add(req, "auth_pub", pk.auth_pk, 32);
	argon = cJSON_AddObjectToObject(req, "argon");
	cJSON_AddNumberToObject(argon, "ops", OPS);
	cJSON_AddNumberToObject(argon, "mem", (double)MEM);
	b64_add(req, "auth_sig", sig, 64);
	/* --swap-tag: another env_tag than the one auth_sig covers */
	if (o_swap_tag)
		tag[0] ^= 1;
	b64_add(req, "env_tag", tag, 32);
	arr = cJSON_AddArrayToObject(req, "stores");
	for (size_t i = 0; i < nst; i++) {
		cJSON *e = cJSON_CreateObject();
		struct kkeys kk;
		uint8_t ek[72], ksig[64];
		struct tr kt = {.n = 0};

		k_keys(st[i].K, &kk);
		enc_k(pk.wrap, account, st[i].sid, st[i].K, ek);
		tr_str(&kt, "vaultfs-v1-kreg");
		tr_str(&kt, account);
		tr_add(&kt, st[i].sid, 16);
		tr_add(&kt, kk.pk, 32);
		tr_add(&kt, pk.auth_pk, 32);
		sign(kk.sk, &kt, ksig);
		hex_add(e, "store_id", st[i].sid, 16);
		b64_add(e, "enc_k", ek, 72);
		b64_add(e, "k_pub", kk.pk, 32);
		b64_add(e, "k_sig", ksig, 64);
		cJSON_AddItemToArray(arr, e);
	}
	cJSON_Delete(post_ok("/v1/register/finish", req, 201));
}

/* A password-proven challenge: start + proof. */
struct proven {
	uint8_t chal_id[16];
	uint8_t sig[64];
	struct pwkeys pk;
	int attempts_left;
	int env_ok;
};

static void prove(const char *account, const char *pw, const char *action,
		  const uint8_t *sid, int wrong_sig, struct proven *p)
{
	struct blind b;
	uint8_t ch[32], ev[32], out[32], tag[32], mytag[32];
	struct tr t = {.n = 0};
	cJSON *req = cJSON_CreateObject(), *resp, *argon;

	blind(pw, &b);
	cJSON_AddStringToObject(req, "account", account);
	if (sid)
		hex_add(req, "store_id", sid, 16);
	cJSON_AddStringToObject(req, "action", action);
	b64_add(req, "blinded", b.blinded, 65);
	resp = post_ok("/v1/recover/start", req, 200);
	b64_get(resp, "chal_id", p->chal_id, 16);
	b64_get(resp, "challenge", ch, 32);
	b64_get(resp, "evaluated", ev, 32);
	b64_get(resp, "env_tag", tag, 32);
	argon = cJSON_GetObjectItem(resp, "argon");
	p->attempts_left = cJSON_GetObjectItem(resp, "attempts_left")->valueint;
	if (wrong_sig) {
		/* A guess that skips Argon2: as wrong as a wrong password. */
		randombytes_buf(p->sig, 64);
	} else {
		unblind(pw, &b, ev, out);
		pw_keys(
		    pw, out,
		    (uint64_t)cJSON_GetObjectItem(argon, "ops")->valuedouble,
		    (uint64_t)cJSON_GetObjectItem(argon, "mem")->valuedouble,
		    &p->pk);
		env_tag(&p->pk, account, mytag);
		p->env_ok = sodium_memcmp(tag, mytag, 32) == 0;
		if (!p->env_ok)
			fprintf(stderr, "vs_probe: env_tag mismatch (wrong "
					"password); sending the proof anyway\n");
		tr_str(&t, "vaultfs-v1-proof");
		tr_str(&t, action);
		tr_str(&t, account);
		tr_add(&t, sid, sid ? 16 : 0);
		tr_add(&t, ch, 32);
		tr_add(&t, b.blinded, 65);
		tr_add(&t, ev, 32);
		sign(p->pk.auth_sk, &t, p->sig);
	}
	BN_clear_free(b.r);
	cJSON_Delete(resp);
}

static cJSON *proof_req(const struct proven *p)
{
	cJSON *req = cJSON_CreateObject();

	b64_add(req, "chal_id", p->chal_id, 16);
	b64_add(req, "sig", p->sig, 64);
	return req;
}

/* ---- commands ---- */

static const char *o_account, *o_password, *o_newpw, *o_key, *o_store,
    *o_action = "recover";
static int o_replay, o_fast, o_tamper;
static uint64_t o_gen;

static void need(const char *v, const char *name)
{
	if (!v) {
		fprintf(stderr, "vs_probe: --%s is required\n", name);
		exit(1);
	}
}

static void cmd_register(void)
{
	struct store_arg st;
	struct blind b;
	cJSON *req = cJSON_CreateObject(), *resp;

	need(o_account, "account");
	need(o_password, "password");
	need(o_key, "key");
	need(o_store, "store");
	hex_parse(o_key, st.K, 32);
	hex_parse(o_store, st.sid, 16);
	blind(o_password, &b);
	cJSON_AddStringToObject(req, "account", o_account);
	b64_add(req, "blinded", b.blinded, 65);
	resp = post_ok("/v1/register/start", req, 200);
	reg_finish(o_account, o_password, &b, resp, &st, 1);
	cJSON_Delete(resp);
	BN_clear_free(b.r);
	printf("registered\n");
}

static void cmd_recover(void)
{
	struct proven p;
	struct kkeys kk;
	uint8_t sid[16], ek[72], kpub[32], K[32];
	char hex[65];
	cJSON *resp;
	long st;

	need(o_account, "account");
	need(o_password, "password");
	need(o_store, "store");
	hex_parse(o_store, sid, 16);
	prove(o_account, o_password, "recover", sid, o_fast, &p);
	resp = post("/v1/recover/finish", proof_req(&p), &st);
	if (st != 200)
		http_fail(st, resp);
	b64_get(resp, "enc_k", ek, 72);
	b64_get(resp, "k_pub", kpub, 32);
	cJSON_Delete(resp);
	if (dec_k(p.pk.wrap, o_account, sid, ek, K) != 0)
		die("enc_k does not open with the wrap key");
	/* The vault must hand back the tag stored at registration. */
	if (!p.env_ok)
		die("the right password, but env_tag does not match");
	k_keys(K, &kk);
	if (sodium_memcmp(kk.pk, kpub, 32) != 0)
		die("k_pub does not match K");
	sodium_bin2hex(hex, sizeof(hex), K, 32);
	printf("K=%s attempts_left_at_start=%d\n", hex, p.attempts_left);
	if (o_replay) {
		resp = post("/v1/recover/finish", proof_req(&p), &st);
		printf("replay status=%ld error=%s\n", st,
		       cJSON_GetObjectItem(resp, "error")
			   ? cJSON_GetObjectItem(resp, "error")->valuestring
			   : "none");
		cJSON_Delete(resp);
	}
}

/* Leaves an attempt open (abandoned): prints the chal_id. */
static void cmd_start(void)
{
	struct blind b;
	uint8_t sid[16];
	cJSON *req = cJSON_CreateObject(), *resp;
	long st;

	need(o_account, "account");
	need(o_password, "password");
	blind(o_password, &b);
	cJSON_AddStringToObject(req, "account", o_account);
	if (o_store) {
		hex_parse(o_store, sid, 16);
		hex_add(req, "store_id", sid, 16);
	}
	cJSON_AddStringToObject(req, "action", o_action);
	b64_add(req, "blinded", b.blinded, 65);
	resp = post("/v1/recover/start", req, &st);
	if (st != 200)
		http_fail(st, resp);
	printf("chal_id=%s attempts_left=%d\n",
	       cJSON_GetObjectItem(resp, "chal_id")->valuestring,
	       cJSON_GetObjectItem(resp, "attempts_left")->valueint);
	cJSON_Delete(resp);
	BN_free(b.r);
}

static void cmd_passwd(void)
{
	struct proven p;
	struct blind b;
	struct store_arg st[16];
	cJSON *req, *resp, *arr;
	size_t n = 0;

	need(o_account, "account");
	need(o_password, "password");
	need(o_newpw, "new-password");
	prove(o_account, o_password, "passwd", NULL, o_fast, &p);
	blind(o_newpw, &b);
	req = proof_req(&p);
	b64_add(req, "blinded", b.blinded, 65);
	resp = post_ok("/v1/passwd", req, 200);
	arr = cJSON_GetObjectItem(resp, "stores");
	for (cJSON *e = arr ? arr->child : NULL; e && n < 16; e = e->next) {
		uint8_t ek[72];

		hex_parse(cJSON_GetObjectItem(e, "store_id")->valuestring,
			  st[n].sid, 16);
		b64_get(e, "enc_k", ek, 72);
		if (dec_k(p.pk.wrap, o_account, st[n].sid, ek, st[n].K) != 0)
			die("enc_k does not open");
		/* --tamper: register another K (and so another k_pub). */
		if (o_tamper)
			randombytes_buf(st[n].K, 32);
		n++;
	}
	reg_finish(o_account, o_newpw, &b, resp, st, n);
	cJSON_Delete(resp);
	BN_clear_free(b.r);
	printf("password changed\n");
}

static void cmd_add_store(void)
{
	struct proven p;
	struct kkeys kk;
	struct tr t = {.n = 0};
	uint8_t sid[16], K[32], ek[72], ksig[64];
	cJSON *req;

	need(o_account, "account");
	need(o_password, "password");
	need(o_key, "key");
	need(o_store, "store");
	hex_parse(o_store, sid, 16);
	hex_parse(o_key, K, 32);
	prove(o_account, o_password, "add_store", sid, o_fast, &p);
	k_keys(K, &kk);
	enc_k(p.pk.wrap, o_account, sid, K, ek);
	tr_str(&t, "vaultfs-v1-kreg");
	tr_str(&t, o_account);
	tr_add(&t, sid, 16);
	tr_add(&t, kk.pk, 32);
	tr_add(&t, p.pk.auth_pk, 32);
	sign(kk.sk, &t, ksig);
	req = proof_req(&p);
	hex_add(req, "store_id", sid, 16);
	b64_add(req, "enc_k", ek, 72);
	b64_add(req, "k_pub", kk.pk, 32);
	b64_add(req, "k_sig", ksig, 64);
	cJSON_Delete(post_ok("/v1/store/add", req, 200));
	printf("store added\n");
}

static void cmd_delete(void)
{
	struct proven p;

	need(o_account, "account");
	need(o_password, "password");
	prove(o_account, o_password, "delete", NULL, o_fast, &p);
	cJSON_Delete(post_ok("/v1/delete", proof_req(&p), 200));
	printf("deleted\n");
}

static void cmd_rearm(void)
{
	struct store_arg st;
	struct kkeys kk;
	struct blind b;
	struct tr t = {.n = 0};
	uint8_t chal_id[16], ch[32], sig[64];
	cJSON *req = cJSON_CreateObject(), *resp;

	need(o_account, "account");
	need(o_key, "key");
	need(o_store, "store");
	need(o_newpw, "new-password");
	hex_parse(o_key, st.K, 32);
	hex_parse(o_store, st.sid, 16);
	k_keys(st.K, &kk);
	cJSON_AddStringToObject(req, "account", o_account);
	hex_add(req, "store_id", st.sid, 16);
	cJSON_AddStringToObject(req, "action", "rearm");
	resp = post_ok("/v1/kchallenge", req, 200);
	b64_get(resp, "chal_id", chal_id, 16);
	b64_get(resp, "challenge", ch, 32);
	cJSON_Delete(resp);
	tr_str(&t, "vaultfs-v1-kproof");
	tr_str(&t, "rearm");
	tr_str(&t, o_account);
	tr_add(&t, st.sid, 16);
	tr_add(&t, ch, 32);
	sign(kk.sk, &t, sig);
	if (o_fast)
		sig[0] ^= 1;
	blind(o_newpw, &b);
	req = cJSON_CreateObject();
	b64_add(req, "chal_id", chal_id, 16);
	b64_add(req, "sig", sig, 64);
	b64_add(req, "blinded", b.blinded, 65);
	resp = post_ok("/v1/rearm", req, 200);
	reg_finish(o_account, o_newpw, &b, resp, &st, 1);
	cJSON_Delete(resp);
	BN_clear_free(b.r);
	printf("rearmed\n");
}

static void cmd_generation(void)
{
	struct kkeys kk;
	struct tr t = {.n = 0};
	uint8_t sid[16], K[32], sig[64], g[8];
	cJSON *req = cJSON_CreateObject(), *resp;

	need(o_account, "account");
	need(o_key, "key");
	need(o_store, "store");
	hex_parse(o_store, sid, 16);
	hex_parse(o_key, K, 32);
	k_keys(K, &kk);
	le64(g, o_gen);
	tr_str(&t, "vaultfs-v1-gen");
	tr_str(&t, o_account);
	tr_add(&t, sid, 16);
	tr_add(&t, g, 8);
	sign(kk.sk, &t, sig);
	cJSON_AddStringToObject(req, "account", o_account);
	hex_add(req, "store_id", sid, 16);
	cJSON_AddNumberToObject(req, "generation", (double)o_gen);
	b64_add(req, "sig", sig, 64);
	resp = post_ok("/v1/generation", req, 200);
	printf("generation=%.0f\n",
	       cJSON_GetObjectItem(resp, "generation")->valuedouble);
	cJSON_Delete(resp);
	/* Read it back and check the signature with our own K key. */
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "account", o_account);
	hex_add(req, "store_id", sid, 16);
	resp = post_ok("/v1/generation/get", req, 200);
	{
		uint64_t kept =
		    (uint64_t)cJSON_GetObjectItem(resp, "generation")
			->valuedouble;
		struct tr t2 = {.n = 0};

		b64_get(resp, "sig", sig, 64);
		le64(g, kept);
		tr_str(&t2, "vaultfs-v1-gen");
		tr_str(&t2, o_account);
		tr_add(&t2, sid, 16);
		tr_add(&t2, g, 8);
		if (crypto_sign_verify_detached(sig, t2.b, t2.n, kk.pk) != 0)
			die("kept generation report does not verify");
		printf("kept=%llu verified\n", (unsigned long long)kept);
	}
	cJSON_Delete(resp);
}

static void cmd_audit(void)
{
	cJSON *req = cJSON_CreateObject(), *resp, *ev;

	need(o_account, "account");
	cJSON_AddStringToObject(req, "account", o_account);
	resp = post_ok("/v1/audit", req, 200);
	ev = cJSON_GetObjectItem(resp, "events");
	for (cJSON *e = ev ? ev->child : NULL; e; e = e->next)
		printf("%s %s %s\n",
		       cJSON_GetObjectItem(e, "action")->valuestring,
		       cJSON_GetObjectItem(e, "outcome")->valuestring,
		       cJSON_GetObjectItem(e, "source")->valuestring);
	cJSON_Delete(resp);
}

/* ---- bench: recoveries/s and latency with N concurrent clients ---- */

struct bench_worker {
	pthread_t th;
	int idx;
	char tok[600];
	char account[32];
	char url[256];
	double seconds;
	double *lat;
	size_t nlat, cap;
	int failed;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One recovery with a known auth key: the server's full work (count,
 * unwrap + derive, challenge, verify, reset) and the client's EC work;
 * Argon2 is left out, it is the client's cost and the same every time. */
static int bench_round(const char *account, const uint8_t sid[16],
		       const char *pw, const struct pwkeys *pk)
{
	struct blind b;
	struct proven p;
	uint8_t ch[32], ev[32], out[32];
	struct tr t = {.n = 0};
	cJSON *req = cJSON_CreateObject(), *resp;
	long st;

	blind(pw, &b);
	cJSON_AddStringToObject(req, "account", account);
	hex_add(req, "store_id", sid, 16);
	cJSON_AddStringToObject(req, "action", "recover");
	b64_add(req, "blinded", b.blinded, 65);
	resp = post("/v1/recover/start", req, &st);
	if (st != 200) {
		cJSON_Delete(resp);
		BN_clear_free(b.r);
		return -1;
	}
	b64_get(resp, "chal_id", p.chal_id, 16);
	b64_get(resp, "challenge", ch, 32);
	b64_get(resp, "evaluated", ev, 32);
	cJSON_Delete(resp);
	unblind(pw, &b, ev, out);
	BN_clear_free(b.r);
	tr_str(&t, "vaultfs-v1-proof");
	tr_str(&t, "recover");
	tr_str(&t, account);
	tr_add(&t, sid, 16);
	tr_add(&t, ch, 32);
	tr_add(&t, b.blinded, 65);
	tr_add(&t, ev, 32);
	sign(pk->auth_sk, &t, p.sig);
	resp = post("/v1/recover/finish", proof_req(&p), &st);
	cJSON_Delete(resp);
	return st == 200 ? 0 : -1;
}

static void *bench_thread(void *arg)
{
	struct bench_worker *w = arg;
	struct store_arg sa;
	struct proven p;
	struct blind b;
	char pw[64];
	double t0, end;
	cJSON *req, *resp;
	long st;

	token = w->tok;
	url = w->url;
	grp = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	bnctx = BN_CTX_new();
	snprintf(pw, sizeof(pw), "bench password %d", w->idx);
	memset(sa.sid, 0xbe, 16);
	randombytes_buf(sa.K, 32);
	/* Register (once per run: the accounts are fresh). */
	blind(pw, &b);
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "account", w->account);
	b64_add(req, "blinded", b.blinded, 65);
	resp = post_ok("/v1/register/start", req, 200);
	reg_finish(w->account, pw, &b, resp, &sa, 1);
	cJSON_Delete(resp);
	BN_clear_free(b.r);
	/* One full recovery to learn the auth key (with Argon2). */
	prove(w->account, pw, "recover", sa.sid, 0, &p);
	resp = post("/v1/recover/finish", proof_req(&p), &st);
	cJSON_Delete(resp);
	if (st != 200)
		die("bench: first recovery failed");
	end = now_s() + w->seconds;
	while ((t0 = now_s()) < end) {
		if (bench_round(w->account, sa.sid, pw, &p.pk) < 0) {
			w->failed++;
			continue;
		}
		if (w->nlat == w->cap) {
			w->cap = w->cap ? 2 * w->cap : 1024;
			w->lat = realloc(w->lat, w->cap * sizeof(*w->lat));
			if (!w->lat)
				die("out of memory");
		}
		w->lat[w->nlat++] = now_s() - t0;
	}
	BN_CTX_free(bnctx);
	EC_GROUP_free(grp);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static const char *o_tokens;
static int o_clients = 16;
static double o_seconds = 10;

static void cmd_bench(void)
{
	struct bench_worker *w = calloc((size_t)o_clients, sizeof(*w));
	FILE *f = fopen(o_tokens ? o_tokens : "", "r");
	double *all, t0, el;
	size_t n = 0, k = 0;
	int failed = 0;

	if (!w || !f)
		die("bench: --tokens FILE (one token per line: bench0, bench1, "
		    "...)");
	for (int i = 0; i < o_clients; i++) {
		if (!fgets(w[i].tok, sizeof(w[i].tok), f))
			die("bench: not enough tokens");
		w[i].tok[strcspn(w[i].tok, "\n")] = '\0';
		snprintf(w[i].account, sizeof(w[i].account), "bench%d", i);
		{
			/* the (i mod n)-th URL of the list */
			const char *u = url_arg;
			int nu = 1, skip;

			for (const char *q = url_arg; *q; q++)
				nu += *q == ',';
			for (skip = i % nu; skip > 0; skip--)
				u = strchr(u, ',') + 1;
			snprintf(w[i].url, sizeof(w[i].url), "%.*s",
				 (int)strcspn(u, ","), u);
		}
		w[i].idx = i;
		w[i].seconds = o_seconds;
	}
	fclose(f);
	t0 = now_s();
	for (int i = 0; i < o_clients; i++)
		if (pthread_create(&w[i].th, NULL, bench_thread, &w[i]) != 0)
			die("pthread_create");
	for (int i = 0; i < o_clients; i++) {
		pthread_join(w[i].th, NULL);
		n += w[i].nlat;
		failed += w[i].failed;
	}
	el = now_s() - t0;
	all = malloc((n ? n : 1) * sizeof(*all));
	for (int i = 0; i < o_clients; i++) {
		memcpy(all + k, w[i].lat, w[i].nlat * sizeof(*all));
		k += w[i].nlat;
		free(w[i].lat);
	}
	qsort(all, n, sizeof(*all), cmp_double);
	printf("clients=%d seconds=%.1f recoveries=%zu failed=%d "
	       "recoveries_per_s=%.1f p50_ms=%.2f p99_ms=%.2f\n",
	       o_clients, o_seconds, n, failed,
	       n / (el > o_seconds ? o_seconds : el),
	       n ? 1e3 * all[n / 2] : 0.0,
	       n ? 1e3 * all[(size_t)(0.99 * (double)(n - 1))] : 0.0);
	free(all);
	free(w);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"token", required_argument, NULL, 't'},
	    {"cacert", required_argument, NULL, 'C'},
	    {"account", required_argument, NULL, 'a'},
	    {"password", required_argument, NULL, 'p'},
	    {"new-password", required_argument, NULL, 'n'},
	    {"key", required_argument, NULL, 'k'},
	    {"store", required_argument, NULL, 's'},
	    {"action", required_argument, NULL, 'A'},
	    {"gen", required_argument, NULL, 'g'},
	    {"replay", no_argument, NULL, 'r'},
	    {"fast-wrong", no_argument, NULL, 'f'},
	    {"tamper", no_argument, NULL, 'T'},
	    {"swap-tag", no_argument, NULL, 'W'},
	    {"tokens", required_argument, NULL, 'F'},
	    {"clients", required_argument, NULL, 'c'},
	    {"seconds", required_argument, NULL, 'S'},
	    {NULL, 0, NULL, 0},
	};
	const char *cmd;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			url = url_arg = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case 'C':
			cacert = optarg;
			break;
		case 'a':
			o_account = optarg;
			break;
		case 'p':
			o_password = optarg;
			break;
		case 'n':
			o_newpw = optarg;
			break;
		case 'k':
			o_key = optarg;
			break;
		case 's':
			o_store = optarg;
			break;
		case 'A':
			o_action = optarg;
			break;
		case 'g':
			o_gen = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			o_replay = 1;
			break;
		case 'f':
			o_fast = 1;
			break;
		case 'T':
			o_tamper = 1;
			break;
		case 'W':
			o_swap_tag = 1;
			break;
		case 'F':
			o_tokens = optarg;
			break;
		case 'c':
			o_clients = atoi(optarg);
			break;
		case 'S':
			o_seconds = atof(optarg);
			break;
		default:
			return 1;
		}
	}
	if (o_clients < 1 || o_clients > 256 || o_seconds <= 0)
		die("bad --clients or --seconds");
	if (optind != argc - 1 || !url || (!token && !o_tokens)) {
		fprintf(stderr, "usage: vs_probe --url URL --token T [options] "
				"register|recover|start|passwd|add-store|"
				"delete|rearm|generation|audit\n");
		return 1;
	}
	cmd = argv[optind];
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		die("library init");
	grp = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	bnctx = BN_CTX_new();
	if (strcmp(cmd, "register") == 0)
		cmd_register();
	else if (strcmp(cmd, "recover") == 0)
		cmd_recover();
	else if (strcmp(cmd, "start") == 0)
		cmd_start();
	else if (strcmp(cmd, "passwd") == 0)
		cmd_passwd();
	else if (strcmp(cmd, "add-store") == 0)
		cmd_add_store();
	else if (strcmp(cmd, "delete") == 0)
		cmd_delete();
	else if (strcmp(cmd, "rearm") == 0)
		cmd_rearm();
	else if (strcmp(cmd, "generation") == 0)
		cmd_generation();
	else if (strcmp(cmd, "audit") == 0)
		cmd_audit();
	else if (strcmp(cmd, "bench") == 0)
		cmd_bench();
	else
		die("unknown command");
	BN_CTX_free(bnctx);
	EC_GROUP_free(grp);
	curl_global_cleanup();
	return 0;
}

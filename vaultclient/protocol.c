/*
 * protocol.c - the vault protocol, client side: the vc_* calls of
 * vaultclient.h as sequences of requests (docs/protocol.md), with every
 * reply checked before anything is derived from it.
 *
 * Secrets of one call (OPRF outputs, password-derived keys, K key, K's
 * opened during a password change) live in one sodium_malloc block that
 * is freed (and so wiped) on every path out.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "http.h"
#include "json.h"
#include "oprf.h"
#include "protocol.h"
#include "vaultclient.h"
#include "vcrypto.h"
#include "vfs_error.h"

struct vc_client {
	struct http_client *http;
	uint32_t ops;
	uint64_t mem;
};

struct secrets {
	uint8_t out[OPRF_OUT_LEN];	/* OPRF output, proven password */
	struct vcrypto_pwkeys pw;	/* its keys */
	uint8_t nout[OPRF_OUT_LEN];	/* OPRF output, new password */
	struct vcrypto_pwkeys npw;	/* its keys */
	struct vcrypto_kkeys kk;	/* K key of one store */
	uint8_t k[VC_MAX_STORES][VC_KEY_LEN]; /* K's opened by vc_passwd */
};

/* A password-proven challenge in progress. */
struct session {
	struct oprf_blind *blind;
	uint8_t blinded[OPRF_POINT_LEN];
	uint8_t evaluated[OPRF_ELEM_LEN];
	uint8_t chal[PROTO_CHAL_MAX];
	size_t chal_len;
	char chal_id[PROTO_ID_MAX + 1];
	uint8_t sig[VCRYPTO_SIG_LEN];
};

static const long ok200[] = { 200 };
static const long ok20x[] = { 200, 201 };

static void set_attempts(int *ret, int v)
{
	if (ret)
		*ret = v;
}

static int secrets_new(struct secrets **ret)
{
	struct secrets *s = sodium_malloc(sizeof(*s));

	if (!s)
		return -ENOMEM;
	sodium_memzero(s, sizeof(*s));
	*ret = s;
	return 0;
}

static void session_release(struct session *s)
{
	oprf_blind_free(s->blind);
	s->blind = NULL;
}

int proto_account_check(const char *account)
{
	size_t n;

	if (!account)
		return -EINVAL;
	n = strnlen(account, VC_ACCOUNT_MAX + 1);
	if (n == 0 || n > VC_ACCOUNT_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char ch = account[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		      ch == '-'))
			return -EINVAL;
	}
	return 0;
}

static int pw_check(const uint8_t *pw, size_t pwlen)
{
	if (!pw || pwlen == 0 || pwlen > VC_PASSWORD_MAX)
		return -EINVAL;
	return 0;
}

static int stores_check(const struct vc_store_key *stores, size_t n)
{
	if (!stores || n == 0 || n > VC_MAX_STORES)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!stores[i].key)
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (memcmp(stores[i].store_id, stores[j].store_id,
				   VC_STORE_ID_LEN) == 0)
				return -EINVAL;
	}
	return 0;
}

/* Peer values that fail our checks are the vault's fault. */
static int peer_err(int r)
{
	return r == -EBADMSG ? -VFS_E_PROTOCOL : r;
}

int proto_reply_error(long status, const char *body, size_t len,
		      int *ret_attempts_left)
{
	static const struct {
		const char *code;
		int err;
	} codes[] = {
		{ "wrong_password", -VFS_E_PASSWORD },
		{ "locked", -VFS_E_LOCKED },
		{ "bad_token", -VFS_E_TOKEN },
		{ "token_mismatch", -VFS_E_TOKEN },
		{ "unknown", -ENOENT },
		{ "unknown_store", -ENOENT },
		{ "exists", -EEXIST },
		{ "stale_challenge", -ESTALE },
		{ "stale_registration", -ESTALE },
		/* a K proof (rearm, generation, k_sig) did not verify */
		{ "bad_proof", -VFS_E_WRONGKEY },
		{ "too_many_stores", -ENOSPC },
	};
	struct json *j = NULL;
	const char *code;
	uint64_t a;
	int r;

	/* a failing vault (or the proxy in front of it) may say anything */
	if (status >= 500)
		return -VFS_E_VAULT;
	r = json_parse(body, len, &j);
	if (r < 0)
		return -VFS_E_PROTOCOL;
	r = json_get_str(j, "error", 64, &code);
	if (r < 0) {
		r = -VFS_E_PROTOCOL;
		goto out;
	}
	r = json_get_u64(j, "attempts_left", PROTO_ATTEMPTS_MAX, &a);
	if (r == 0)
		set_attempts(ret_attempts_left, (int)a);
	else if (r != -ENOENT) {
		r = -VFS_E_PROTOCOL;
		goto out;
	}
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		if (strcmp(code, codes[i].code) == 0) {
			r = codes[i].err;
			goto out;
		}
	}
	switch (status) {
	case 401:
	case 403:
		r = -VFS_E_TOKEN;
		break;
	case 413:
		r = -E2BIG;
		break;
	case 429:
		r = -EAGAIN;
		break;
	default:
		/* 400 bad_point etc.: the two sides disagree on the protocol */
		r = -VFS_E_PROTOCOL;
		break;
	}
out:
	json_free(j);
	return r;
}

/*
 * POSTs req (GET if NULL) to path; a reply with one of the statuses in ok
 * is parsed into *ret, any other is turned into an error.
 */
static int call(struct vc_client *c, const char *path, const struct json *req,
		const long *ok, size_t nok, struct json **ret, int *attempts)
{
	struct http_reply rep = { 0 };
	char *text = NULL;
	size_t tlen = 0;
	int r;

	if (req) {
		r = json_print(req, &text, &tlen);
		if (r < 0)
			goto out;
	}
	r = http_request(c->http, path, text, tlen, &rep);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < nok; i++) {
		if (rep.status == ok[i]) {
			r = json_parse(rep.body, rep.len, ret);
			goto out;
		}
	}
	if (rep.status >= 200 && rep.status < 300)
		r = -VFS_E_PROTOCOL;
	else
		r = proto_reply_error(rep.status, rep.body, rep.len, attempts);
out:
	http_reply_release(&rep);
	json_text_free(text);
	return r;
}

static int sign(struct bufw *w, const uint8_t *sk, uint8_t sig[VCRYPTO_SIG_LEN])
{
	int r = bufw_error(w);

	if (r < 0)
		return r;
	if (crypto_sign_detached(sig, NULL, w->data, w->len, sk) != 0)
		return -EIO;
	return 0;
}

static int copy_id(const struct json *j, const char *key, char *out)
{
	const char *s;
	int r;

	r = json_get_str(j, key, PROTO_ID_MAX, &s);
	if (r < 0 || s[0] == '\0')
		return -VFS_E_PROTOCOL;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

/*
 * The first half of every password-proven action: OPRF round through
 * /v1/recover/start, Argon2id with the record's (bounded) parameters, and
 * the signed proof in s->sig. sec->pw holds the keys afterwards.
 */
static int pw_prove(struct vc_client *c, const char *account,
		    const uint8_t *store_id, const char *action,
		    const uint8_t *pw, size_t pwlen, struct secrets *sec,
		    struct session *s, int *attempts)
{
	struct json *req = NULL, *rep = NULL;
	const struct json *argon;
	uint8_t tag[VCRYPTO_TAG_LEN], mytag[VCRYPTO_TAG_LEN];
	uint64_t ops, mem, left;
	size_t n;
	struct bufw w;
	int r;

	bufw_init(&w, VCRYPTO_TRANSCRIPT_MAX, 0);
	r = oprf_blind_new(pw, pwlen, &s->blind, s->blinded);
	if (r < 0)
		goto out;
	r = json_obj_new(&req);
	if (r < 0)
		goto out;
	/* an action that names no store (passwd, delete) sends no store_id
	 * and signs an empty field in its place */
	if ((r = json_add_str(req, "account", account)) < 0 ||
	    (store_id && (r = json_add_hex(req, "store_id", store_id,
					   VC_STORE_ID_LEN)) < 0) ||
	    (r = json_add_str(req, "action", action)) < 0 ||
	    (r = json_add_b64(req, "blinded", s->blinded,
			      sizeof(s->blinded))) < 0)
		goto out;
	r = call(c, PROTO_PATH_REC_START, req, ok200, 1, &rep, attempts);
	if (r < 0)
		goto out;

	r = -VFS_E_PROTOCOL;
	if (json_get_u64(rep, "attempts_left", PROTO_ATTEMPTS_MAX, &left) < 0)
		goto out;
	set_attempts(attempts, (int)left);
	if (copy_id(rep, "chal_id", s->chal_id) < 0 ||
	    json_get_b64(rep, "challenge", s->chal, PROTO_CHAL_MIN,
			 PROTO_CHAL_MAX, &s->chal_len) < 0 ||
	    json_get_b64(rep, "evaluated", s->evaluated, OPRF_ELEM_LEN,
			 OPRF_ELEM_LEN, &n) < 0 ||
	    json_get_b64(rep, "env_tag", tag, sizeof(tag), sizeof(tag),
			 &n) < 0 ||
	    json_get_obj(rep, "argon", &argon) < 0 ||
	    json_get_u64(argon, "ops", JSON_INT_MAX, &ops) < 0 ||
	    json_get_u64(argon, "mem", JSON_INT_MAX, &mem) < 0)
		goto out;
	/* a vault must not make us spend unbounded time or memory, nor
	 * weaken the hardening below the floor */
	if (vcrypto_argon_check(ops, mem) < 0)
		goto out;
	r = oprf_finalize(s->blind, pw, pwlen, s->evaluated, sec->out);
	if (r < 0) {
		r = peer_err(r);
		goto out;
	}
	r = vcrypto_pwkeys(sec->out, pw, pwlen, ops, mem, &sec->pw);
	if (r < 0)
		goto out;
	/*
	 * Before anything derived from rwd leaves: only the real vault (its
	 * OPRF key) and the right password give the tag stored at
	 * registration. A wrong password and an evaluation substituted by
	 * whatever sits between us and the HSM (a TLS-terminating front end)
	 * look the same here; either way no signature is sent, so a front
	 * end has nothing to test password guesses against. The vault
	 * counted this attempt at recover/start; the challenge is abandoned
	 * (it stays spent).
	 */
	r = vcrypto_env_tag(sec->pw.env, account, sec->pw.auth_pub, mytag);
	if (r < 0)
		goto out;
	if (sodium_memcmp(mytag, tag, sizeof(tag)) != 0) {
		r = left == 0 ? -VFS_E_LOCKED : -VFS_E_PASSWORD;
		goto out;
	}
	r = vcrypto_t_proof(&w, action, account, store_id, s->chal,
			    s->chal_len, s->blinded, s->evaluated);
	if (r < 0)
		goto out;
	r = sign(&w, sec->pw.auth_sk, s->sig);
out:
	sodium_memzero(mytag, sizeof(mytag));
	bufw_release(&w);
	json_free(req);
	json_free(rep);
	return r;
}

/* A request carrying a challenge answer: {"chal_id", "sig"}. */
static int proof_req(const char *chal_id, const uint8_t sig[VCRYPTO_SIG_LEN],
		     struct json **ret)
{
	struct json *req = NULL;
	int r;

	r = json_obj_new(&req);
	if (r < 0)
		return r;
	if ((r = json_add_str(req, "chal_id", chal_id)) < 0 ||
	    (r = json_add_b64(req, "sig", sig, VCRYPTO_SIG_LEN)) < 0) {
		json_free(req);
		return r;
	}
	*ret = req;
	return 0;
}

/* {"store_id", "enc_k", "k_pub", "k_sig"} for one store under the keys
 * in pk; uses sec->kk. */
static int add_store_fields(struct json *o, const char *account,
			    const struct vc_store_key *st,
			    const struct vcrypto_pwkeys *pk,
			    struct secrets *sec)
{
	uint8_t enck[VCRYPTO_ENCK_LEN], ksig[VCRYPTO_SIG_LEN];
	struct bufw w;
	int r;

	bufw_init(&w, VCRYPTO_TRANSCRIPT_MAX, 0);
	r = vcrypto_enck_seal(pk->wrap, account, st->store_id, st->key, enck);
	if (r < 0)
		goto out;
	vcrypto_kkeys(st->key, &sec->kk);
	r = vcrypto_t_kreg(&w, account, st->store_id, sec->kk.pub,
			   pk->auth_pub);
	if (r < 0)
		goto out;
	r = sign(&w, sec->kk.sk, ksig);
	if (r < 0)
		goto out;
	if ((r = json_add_hex(o, "store_id", st->store_id,
			      VC_STORE_ID_LEN)) < 0 ||
	    (r = json_add_b64(o, "enc_k", enck, sizeof(enck))) < 0 ||
	    (r = json_add_b64(o, "k_pub", sec->kk.pub, VCRYPTO_PUB_LEN)) < 0 ||
	    (r = json_add_b64(o, "k_sig", ksig, sizeof(ksig))) < 0)
		goto out;
out:
	sodium_memzero(&sec->kk, sizeof(sec->kk));
	bufw_release(&w);
	return r;
}

/*
 * Completes a registration (new account, password change, rearm): the
 * vault evaluated the new password's blinded point under a pending key
 * reg_id; derive the new keys and send /v1/register/finish.
 */
static int register_finish(struct vc_client *c, const char *account,
			   const struct json *rep,
			   const struct oprf_blind *blind, const uint8_t *pw,
			   size_t pwlen, const struct vc_store_key *stores,
			   size_t n, struct secrets *sec)
{
	struct json *req = NULL, *fin = NULL, *argon, *arr, *o;
	char reg_id[PROTO_ID_MAX + 1];
	uint8_t reg_bin[PROTO_REG_ID_MAX];
	uint8_t ev[OPRF_ELEM_LEN], asig[VCRYPTO_SIG_LEN];
	uint8_t tag[VCRYPTO_TAG_LEN];
	struct bufw w;
	size_t len, reg_len;
	int r, ok;

	bufw_init(&w, VCRYPTO_TRANSCRIPT_MAX, 0);
	r = -VFS_E_PROTOCOL;
	/* reg_id is binary (base64 on the wire), signed as its bytes and
	 * echoed back as the exact string we got */
	if (copy_id(rep, "reg_id", reg_id) < 0 ||
	    json_get_b64(rep, "reg_id", reg_bin, 1, sizeof(reg_bin),
			 &reg_len) < 0 ||
	    json_get_b64(rep, "evaluated", ev, OPRF_ELEM_LEN, OPRF_ELEM_LEN,
			 &len) < 0)
		goto out;
	r = oprf_finalize(blind, pw, pwlen, ev, sec->nout);
	if (r < 0) {
		r = peer_err(r);
		goto out;
	}
	r = vcrypto_pwkeys(sec->nout, pw, pwlen, c->ops, c->mem, &sec->npw);
	if (r < 0)
		goto out;
	/* the envelope tag every later recover/start hands back; the vault
	 * keeps it under auth_sig */
	r = vcrypto_env_tag(sec->npw.env, account, sec->npw.auth_pub, tag);
	if (r < 0)
		goto out;
	r = vcrypto_t_register(&w, account, reg_bin, reg_len,
			       sec->npw.auth_pub, c->ops, c->mem, tag);
	if (r < 0)
		goto out;
	r = sign(&w, sec->npw.auth_sk, asig);
	if (r < 0)
		goto out;

	r = json_obj_new(&req);
	if (r < 0)
		goto out;
	if ((r = json_add_str(req, "account", account)) < 0 ||
	    (r = json_add_str(req, "reg_id", reg_id)) < 0 ||
	    (r = json_add_b64(req, "auth_pub", sec->npw.auth_pub,
			      VCRYPTO_PUB_LEN)) < 0 ||
	    (r = json_add_obj(req, "argon", &argon)) < 0 ||
	    (r = json_add_u64(argon, "ops", c->ops)) < 0 ||
	    (r = json_add_u64(argon, "mem", c->mem)) < 0 ||
	    (r = json_add_b64(req, "auth_sig", asig, sizeof(asig))) < 0 ||
	    (r = json_add_b64(req, "env_tag", tag, sizeof(tag))) < 0 ||
	    (r = json_add_arr(req, "stores", &arr)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		r = json_arr_add_obj(arr, &o);
		if (r < 0)
			goto out;
		r = add_store_fields(o, account, &stores[i], &sec->npw, sec);
		if (r < 0)
			goto out;
	}
	r = call(c, PROTO_PATH_REG_FINISH, req, ok20x, 2, &fin, NULL);
	if (r < 0)
		goto out;
	if (json_get_bool(fin, "ok", &ok) < 0 || !ok) {
		r = -VFS_E_PROTOCOL;
		goto out;
	}
	r = 0;
out:
	bufw_release(&w);
	json_free(req);
	json_free(fin);
	return r;
}

int vc_client_new(const char *const *urls, size_t n, const char *ca_file,
		  struct vc_client **ret)
{
	struct vc_client *c;
	int r;

	if (sodium_init() < 0)
		return -EIO;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	r = http_client_new(urls, n, ca_file, &c->http);
	if (r < 0) {
		free(c);
		return r;
	}
	c->ops = VCRYPTO_ARGON_OPS_DEFAULT;
	c->mem = VCRYPTO_ARGON_MEM_DEFAULT;
	*ret = c;
	return 0;
}

void vc_client_free(struct vc_client *c)
{
	if (!c)
		return;
	http_client_free(c->http);
	free(c);
}

int vc_set_token(struct vc_client *c, const char *token)
{
	return http_set_token(c->http, token);
}

int vc_set_argon(struct vc_client *c, uint32_t ops, uint64_t mem)
{
	if (vcrypto_argon_check(ops, mem) < 0)
		return -EINVAL;
	c->ops = ops;
	c->mem = mem;
	return 0;
}

void vc_set_timeouts(struct vc_client *c, long connect_ms, long total_ms)
{
	http_set_timeouts(c->http, connect_ms, total_ms);
}

int vc_health(struct vc_client *c)
{
	struct json *rep = NULL;
	const char *st;
	int r;

	r = call(c, PROTO_PATH_HEALTH, NULL, ok200, 1, &rep, NULL);
	if (r < 0)
		return r;
	r = -VFS_E_PROTOCOL;
	if (json_get_str(rep, "status", 16, &st) == 0 && strcmp(st, "ok") == 0)
		r = 0;
	json_free(rep);
	return r;
}

int vc_register(struct vc_client *c, const char *account, const uint8_t *pw,
		size_t pwlen, const struct vc_store_key *stores, size_t n)
{
	struct secrets *sec = NULL;
	struct oprf_blind *blind = NULL;
	struct json *req = NULL, *rep = NULL;
	uint8_t blinded[OPRF_POINT_LEN];
	int r;

	if ((r = proto_account_check(account)) < 0 ||
	    (r = pw_check(pw, pwlen)) < 0 || (r = stores_check(stores, n)) < 0)
		return r;
	r = secrets_new(&sec);
	if (r < 0)
		goto out;
	r = oprf_blind_new(pw, pwlen, &blind, blinded);
	if (r < 0)
		goto out;
	r = json_obj_new(&req);
	if (r < 0)
		goto out;
	if ((r = json_add_str(req, "account", account)) < 0 ||
	    (r = json_add_b64(req, "blinded", blinded, sizeof(blinded))) < 0)
		goto out;
	r = call(c, PROTO_PATH_REG_START, req, ok200, 1, &rep, NULL);
	if (r < 0)
		goto out;
	r = register_finish(c, account, rep, blind, pw, pwlen, stores, n, sec);
out:
	json_free(req);
	json_free(rep);
	oprf_blind_free(blind);
	sodium_free(sec);
	return r;
}

int vc_recover(struct vc_client *c, const char *account,
	       const uint8_t store_id[VC_STORE_ID_LEN], const uint8_t *pw,
	       size_t pwlen, uint8_t ret_key[VC_KEY_LEN],
	       int *ret_attempts_left)
{
	struct secrets *sec = NULL;
	struct session s = { 0 };
	struct json *req = NULL, *rep = NULL;
	uint8_t enck[VCRYPTO_ENCK_LEN], kpub[VCRYPTO_PUB_LEN];
	size_t n;
	int r;

	set_attempts(ret_attempts_left, -1);
	if ((r = proto_account_check(account)) < 0 ||
	    (r = pw_check(pw, pwlen)) < 0)
		return r;
	if (!store_id || !ret_key)
		return -EINVAL;
	r = secrets_new(&sec);
	if (r < 0)
		goto out;
	r = pw_prove(c, account, store_id, "recover", pw, pwlen, sec, &s,
		     ret_attempts_left);
	if (r < 0)
		goto out;
	r = proof_req(s.chal_id, s.sig, &req);
	if (r < 0)
		goto out;
	r = call(c, PROTO_PATH_REC_FINISH, req, ok200, 1, &rep,
		 ret_attempts_left);
	if (r < 0)
		goto out;
	r = -VFS_E_PROTOCOL;
	if (json_get_b64(rep, "enc_k", enck, sizeof(enck), sizeof(enck), &n) <
		    0 ||
	    json_get_b64(rep, "k_pub", kpub, sizeof(kpub), sizeof(kpub), &n) < 0)
		goto out;
	/* the vault accepted our proof, so it holds our record: an enc_k
	 * that does not open, or a K that does not match the K key it
	 * holds, is the vault's doing */
	if (vcrypto_enck_open(sec->pw.wrap, account, store_id, enck,
			      sec->k[0]) < 0)
		goto out;
	vcrypto_kkeys(sec->k[0], &sec->kk);
	if (sodium_memcmp(sec->kk.pub, kpub, sizeof(kpub)) != 0)
		goto out;
	memcpy(ret_key, sec->k[0], VC_KEY_LEN);
	r = 0;
out:
	session_release(&s);
	json_free(req);
	json_free(rep);
	sodium_free(sec);
	return r;
}

int vc_passwd(struct vc_client *c, const char *account, const uint8_t *old_pw,
	      size_t oldlen, const uint8_t *new_pw, size_t newlen,
	      int *ret_attempts_left)
{
	struct secrets *sec = NULL;
	struct session s = { 0 };
	struct oprf_blind *nb = NULL;
	struct json *req = NULL, *rep = NULL;
	const struct json *arr, *o;
	struct vc_store_key stores[VC_MAX_STORES];
	uint8_t blinded[OPRF_POINT_LEN], enck[VCRYPTO_ENCK_LEN];
	size_t n, len;
	int r;

	set_attempts(ret_attempts_left, -1);
	if ((r = proto_account_check(account)) < 0 ||
	    (r = pw_check(old_pw, oldlen)) < 0 ||
	    (r = pw_check(new_pw, newlen)) < 0)
		return r;
	r = secrets_new(&sec);
	if (r < 0)
		goto out;
	r = pw_prove(c, account, NULL, "passwd", old_pw, oldlen, sec, &s,
		     ret_attempts_left);
	if (r < 0)
		goto out;
	r = oprf_blind_new(new_pw, newlen, &nb, blinded);
	if (r < 0)
		goto out;
	r = proof_req(s.chal_id, s.sig, &req);
	if (r < 0)
		goto out;
	r = json_add_b64(req, "blinded", blinded, sizeof(blinded));
	if (r < 0)
		goto out;
	r = call(c, PROTO_PATH_PASSWD, req, ok200, 1, &rep, ret_attempts_left);
	if (r < 0)
		goto out;
	r = -VFS_E_PROTOCOL;
	if (json_get_arr(rep, "stores", VC_MAX_STORES, &arr, &n) < 0 || n == 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (json_arr_obj(arr, i, &o) < 0 ||
		    json_get_hex(o, "store_id", stores[i].store_id,
				 VC_STORE_ID_LEN) < 0 ||
		    json_get_b64(o, "enc_k", enck, sizeof(enck), sizeof(enck),
				 &len) < 0)
			goto out;
		/* each K is opened with the old wrap key and re-wrapped */
		if (vcrypto_enck_open(sec->pw.wrap, account,
				      stores[i].store_id, enck, sec->k[i]) < 0)
			goto out;
		stores[i].key = sec->k[i];
	}
	if (stores_check(stores, n) < 0)
		goto out;
	r = register_finish(c, account, rep, nb, new_pw, newlen, stores, n,
			    sec);
out:
	session_release(&s);
	oprf_blind_free(nb);
	json_free(req);
	json_free(rep);
	sodium_free(sec);
	return r;
}

int vc_add_store(struct vc_client *c, const char *account, const uint8_t *pw,
		 size_t pwlen, const struct vc_store_key *store,
		 int *ret_attempts_left)
{
	struct secrets *sec = NULL;
	struct session s = { 0 };
	struct json *req = NULL, *rep = NULL;
	int r;

	set_attempts(ret_attempts_left, -1);
	if ((r = proto_account_check(account)) < 0 ||
	    (r = pw_check(pw, pwlen)) < 0 || (r = stores_check(store, 1)) < 0)
		return r;
	r = secrets_new(&sec);
	if (r < 0)
		goto out;
	r = pw_prove(c, account, store->store_id, "add_store", pw, pwlen, sec,
		     &s, ret_attempts_left);
	if (r < 0)
		goto out;
	r = proof_req(s.chal_id, s.sig, &req);
	if (r < 0)
		goto out;
	r = add_store_fields(req, account, store, &sec->pw, sec);
	if (r < 0)
		goto out;
	r = call(c, PROTO_PATH_STORE_ADD, req, ok20x, 2, &rep,
		 ret_attempts_left);
out:
	session_release(&s);
	json_free(req);
	json_free(rep);
	sodium_free(sec);
	return r;
}

int vc_delete(struct vc_client *c, const char *account, const uint8_t *pw,
	      size_t pwlen, int *ret_attempts_left)
{
	struct secrets *sec = NULL;
	struct session s = { 0 };
	struct json *req = NULL, *rep = NULL;
	int r;

	set_attempts(ret_attempts_left, -1);
	if ((r = proto_account_check(account)) < 0 ||
	    (r = pw_check(pw, pwlen)) < 0)
		return r;
	r = secrets_new(&sec);
	if (r < 0)
		goto out;
	r = pw_prove(c, account, NULL, "delete", pw, pwlen, sec, &s,
		     ret_attempts_left);
	if (r < 0)
		goto out;
	r = proof_req(s.chal_id, s.sig, &req);
	if (r < 0)
		goto out;
	r = call(c, PROTO_PATH_DELETE, req, ok20x, 2, &rep, ret_attempts_left);
out:
	session_release(&s);
	json_free(req);
	json_free(rep);
	sodium_free(sec);
	return r;
}

int vc_rearm(struct vc_client *c, const char *account,
	     const struct vc_store_key *stores, size_t n, const uint8_t *new_pw,
	     size_t newlen)
{
	if (!stores || n == 0)
		return -EINVAL;
	return vc_rearm_rekey(c, account, &stores[0], stores, n, new_pw,
			      newlen);
}

int vc_rearm_rekey(struct vc_client *c, const char *account,
		   const struct vc_store_key *prove,
		   const struct vc_store_key *stores, size_t n,
		   const uint8_t *new_pw, size_t newlen)
{
	struct secrets *sec = NULL;
	struct oprf_blind *nb = NULL;
	struct json *req = NULL, *rep = NULL;
	uint8_t chal[PROTO_CHAL_MAX], sig[VCRYPTO_SIG_LEN];
	uint8_t blinded[OPRF_POINT_LEN];
	char chal_id[PROTO_ID_MAX + 1];
	struct bufw w;
	size_t chal_len;
	int r;

	bufw_init(&w, VCRYPTO_TRANSCRIPT_MAX, 0);
	if (!prove || !prove->key)
		return -EINVAL;
	if ((r = proto_account_check(account)) < 0 ||
	    (r = pw_check(new_pw, newlen)) < 0 ||
	    (r = stores_check(stores, n)) < 0)
		return r;
	r = secrets_new(&sec);
	if (r < 0)
		goto out;
	r = json_obj_new(&req);
	if (r < 0)
		goto out;
	if ((r = json_add_str(req, "account", account)) < 0 ||
	    (r = json_add_hex(req, "store_id", prove->store_id,
			      VC_STORE_ID_LEN)) < 0 ||
	    (r = json_add_str(req, "action", "rearm")) < 0)
		goto out;
	r = call(c, PROTO_PATH_KCHAL, req, ok200, 1, &rep, NULL);
	if (r < 0)
		goto out;
	r = -VFS_E_PROTOCOL;
	if (copy_id(rep, "chal_id", chal_id) < 0 ||
	    json_get_b64(rep, "challenge", chal, PROTO_CHAL_MIN,
			 PROTO_CHAL_MAX, &chal_len) < 0)
		goto out;
	json_free(req);
	json_free(rep);
	req = rep = NULL;

	vcrypto_kkeys(prove->key, &sec->kk);
	r = vcrypto_t_kproof(&w, "rearm", account, prove->store_id, chal,
			     chal_len);
	if (r < 0)
		goto out;
	r = sign(&w, sec->kk.sk, sig);
	if (r < 0)
		goto out;
	r = oprf_blind_new(new_pw, newlen, &nb, blinded);
	if (r < 0)
		goto out;
	r = proof_req(chal_id, sig, &req);
	if (r < 0)
		goto out;
	r = json_add_b64(req, "blinded", blinded, sizeof(blinded));
	if (r < 0)
		goto out;
	r = call(c, PROTO_PATH_REARM, req, ok200, 1, &rep, NULL);
	if (r < 0)
		goto out;
	r = register_finish(c, account, rep, nb, new_pw, newlen, stores, n,
			    sec);
out:
	bufw_release(&w);
	oprf_blind_free(nb);
	json_free(req);
	json_free(rep);
	sodium_free(sec);
	return r;
}

int vc_report_generation(struct vc_client *c, const char *account,
			 const struct vc_store_key *store, uint64_t gen,
			 uint64_t *ret_max)
{
	struct secrets *sec = NULL;
	struct json *req = NULL, *rep = NULL;
	uint8_t sig[VCRYPTO_SIG_LEN];
	uint64_t max;
	struct bufw w;
	int r;

	bufw_init(&w, VCRYPTO_TRANSCRIPT_MAX, 0);
	if ((r = proto_account_check(account)) < 0 ||
	    (r = stores_check(store, 1)) < 0)
		return r;
	if (gen > JSON_INT_MAX)
		return -ERANGE;
	r = secrets_new(&sec);
	if (r < 0)
		goto out;
	vcrypto_kkeys(store->key, &sec->kk);
	r = vcrypto_t_gen(&w, account, store->store_id, gen);
	if (r < 0)
		goto out;
	r = sign(&w, sec->kk.sk, sig);
	if (r < 0)
		goto out;
	r = json_obj_new(&req);
	if (r < 0)
		goto out;
	if ((r = json_add_str(req, "account", account)) < 0 ||
	    (r = json_add_hex(req, "store_id", store->store_id,
			      VC_STORE_ID_LEN)) < 0 ||
	    (r = json_add_u64(req, "generation", gen)) < 0 ||
	    (r = json_add_b64(req, "sig", sig, sizeof(sig))) < 0)
		goto out;
	r = call(c, PROTO_PATH_GEN, req, ok200, 1, &rep, NULL);
	if (r < 0)
		goto out;
	/* the vault keeps the highest signed report: never below ours */
	r = -VFS_E_PROTOCOL;
	if (json_get_u64(rep, "generation", JSON_INT_MAX, &max) < 0 ||
	    max < gen)
		goto out;
	if (ret_max)
		*ret_max = max;
	r = 0;
out:
	bufw_release(&w);
	json_free(req);
	json_free(rep);
	sodium_free(sec);
	return r;
}

int vc_get_generation(struct vc_client *c, const char *account,
		      const struct vc_store_key *store, uint64_t *ret)
{
	struct secrets *sec = NULL;
	struct json *req = NULL, *rep = NULL;
	uint8_t sig[VCRYPTO_SIG_LEN];
	uint64_t gen;
	struct bufw w;
	size_t n;
	int r;

	bufw_init(&w, VCRYPTO_TRANSCRIPT_MAX, 0);
	if ((r = proto_account_check(account)) < 0 ||
	    (r = stores_check(store, 1)) < 0)
		return r;
	r = secrets_new(&sec);
	if (r < 0)
		goto out;
	r = json_obj_new(&req);
	if (r < 0)
		goto out;
	if ((r = json_add_str(req, "account", account)) < 0 ||
	    (r = json_add_hex(req, "store_id", store->store_id,
			      VC_STORE_ID_LEN)) < 0)
		goto out;
	r = call(c, PROTO_PATH_GEN_GET, req, ok200, 1, &rep, NULL);
	if (r < 0)
		goto out;
	r = -VFS_E_PROTOCOL;
	if (json_get_u64(rep, "generation", JSON_INT_MAX, &gen) < 0 ||
	    json_get_b64(rep, "sig", sig, 0, sizeof(sig), &n) < 0)
		goto out;
	if (gen == 0 && n == 0) {
		*ret = 0;
		r = 0;
		goto out;
	}
	if (n != sizeof(sig))
		goto out;
	vcrypto_kkeys(store->key, &sec->kk);
	if (vcrypto_t_gen(&w, account, store->store_id, gen) < 0)
		goto out;
	if (crypto_sign_verify_detached(sig, w.data, w.len, sec->kk.pub) != 0)
		goto out;
	*ret = gen;
	r = 0;
out:
	bufw_release(&w);
	json_free(req);
	json_free(rep);
	sodium_free(sec);
	return r;
}

void vc_audit_free(struct vc_audit_event *events)
{
	free(events);
}

static int copy_field(const struct json *o, const char *key, char *out,
		      size_t size)
{
	const char *s;

	if (json_get_str(o, key, size - 1, &s) < 0)
		return -VFS_E_PROTOCOL;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

int vc_audit(struct vc_client *c, const char *account,
	     struct vc_audit_event **ret, size_t *ret_n)
{
	struct json *req = NULL, *rep = NULL;
	const struct json *arr, *o;
	struct vc_audit_event *ev = NULL;
	size_t n;
	int r;

	r = proto_account_check(account);
	if (r < 0)
		return r;
	r = json_obj_new(&req);
	if (r < 0)
		goto out;
	r = json_add_str(req, "account", account);
	if (r < 0)
		goto out;
	r = call(c, PROTO_PATH_AUDIT, req, ok200, 1, &rep, NULL);
	if (r < 0)
		goto out;
	r = -VFS_E_PROTOCOL;
	if (json_get_arr(rep, "events", 1000, &arr, &n) < 0)
		goto out;
	r = -ENOMEM;
	ev = calloc(n ? n : 1, sizeof(*ev));
	if (!ev)
		goto out;
	r = -VFS_E_PROTOCOL;
	for (size_t i = 0; i < n; i++) {
		if (json_arr_obj(arr, i, &o) < 0 ||
		    json_get_u64(o, "time", JSON_INT_MAX, &ev[i].time) < 0 ||
		    copy_field(o, "action", ev[i].action,
			       sizeof(ev[i].action)) < 0 ||
		    copy_field(o, "outcome", ev[i].outcome,
			       sizeof(ev[i].outcome)) < 0 ||
		    copy_field(o, "source", ev[i].source,
			       sizeof(ev[i].source)) < 0)
			goto out;
	}
	*ret = ev;
	*ret_n = n;
	ev = NULL; /* transferred */
	r = 0;
out:
	free(ev);
	json_free(req);
	json_free(rep);
	return r;
}

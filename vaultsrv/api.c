/*
 * api.c - request handlers of the vault: account tokens, the OPRF round,
 * password and K proofs, the lockout state machine (store.h), audit.
 *
 * Order in every /v1/ handler: address limit, token, account limit, body
 * parse and field checks (points validated), and only then anything that
 * counts an attempt or touches the HSM.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "api.h"
#include "epoch.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "point.h"
#include "proto.h"
#include "ratelimit.h"
#include "token.h"
#include "vfs_error.h"

#define API_CHALLENGE_TTL 120
#define API_PENDING_TTL 300
#define API_ARGON_OPS_MIN 2
#define API_ARGON_OPS_MAX 10
#define API_ARGON_MEM_MIN (32ull << 20)
#define API_ARGON_MEM_MAX (1ull << 30)
#define API_ENCK_LEN (24 + 32 + 16)

struct api {
	const struct vs_config *cfg;
	struct hsm *hsm;
	struct store *store;
	char vault_id[33];
	struct ratelimit *rl_addr;
	struct ratelimit *rl_account;
};

/* One request in flight. */
struct actx {
	struct api *a;
	const struct api_request *rq;
	struct api_response *resp;
	struct json_obj *body;
	char account[TOKEN_ACCOUNT_MAX + 1];
	int64_t now;
};

static int api_mac(void *ctx, const void *msg, size_t len, uint8_t out[32])
{
	return hsm_mac(ctx, msg, len, out);
}

int api_new(const struct vs_config *cfg, struct hsm *h, struct store *s,
	    struct api **ret)
{
	struct api *a;
	uint8_t vid[16];
	size_t vlen = 0;
	int r;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->cfg = cfg;
	a->hsm = h;
	a->store = s;
	r = store_meta_get(s, "vault_id", vid, sizeof(vid), &vlen);
	if (r < 0)
		goto out;
	if (vlen != sizeof(vid)) {
		r = -EINVAL;
		goto out;
	}
	sodium_bin2hex(a->vault_id, sizeof(a->vault_id), vid, sizeof(vid));
	r = ratelimit_new(cfg->rate_limit_per_minute, 1 << 16, &a->rl_addr);
	if (r < 0)
		goto out;
	r = ratelimit_new(cfg->rate_limit_per_minute, 1 << 16, &a->rl_account);
	if (r < 0)
		goto out;
	*ret = a;
	a = NULL; /* transferred */
	r = 0;
out:
	api_free(a);
	return r;
}

void api_free(struct api *a)
{
	if (!a)
		return;
	ratelimit_free(a->rl_addr);
	ratelimit_free(a->rl_account);
	free(a);
}

char *api_error_body(const char *code, const char *message)
{
	struct json_out *w = json_out_new();
	char *s;

	if (!w)
		return NULL;
	json_out_str(w, "error", code);
	json_out_str(w, "message", message);
	s = json_out_finish(w);
	json_out_free(w);
	return s;
}

/* Error answer; attempts_left < 0 leaves the field out. */
static void api_fail(struct actx *x, int status, const char *code,
		     const char *message, long attempts_left)
{
	struct json_out *w = json_out_new();

	x->resp->status = status;
	free(x->resp->body);
	x->resp->body = NULL;
	if (!w)
		return;
	json_out_str(w, "error", code);
	json_out_str(w, "message", message);
	if (attempts_left >= 0)
		json_out_u64(w, "attempts_left", (uint64_t)attempts_left);
	x->resp->body = json_out_finish(w);
	json_out_free(w);
}

/* Success answer from a finished builder (takes w). */
static void api_ok(struct actx *x, int status, struct json_out *w)
{
	char *s = w ? json_out_finish(w) : NULL;

	json_out_free(w);
	if (!s) {
		api_fail(x, 500, "internal", "out of memory", -1);
		return;
	}
	free(x->resp->body);
	x->resp->status = status;
	x->resp->body = s;
}

static void api_internal(struct actx *x, const char *what, int r)
{
	/* Damage met by this request (docs/vaultsrv.md, "Startup errors"):
	 * a corrupted store, or a stored key the token refuses. */
	if (r == -EUCLEAN || r == -EBADMSG) {
		log_error("%s: %s", what,
			  r == -EUCLEAN ? "the store is damaged"
					: "the token refuses a stored key "
					  "(a damaged record or another token)");
		api_fail(x, 503, "unavailable",
			 "the vault's state is damaged; try another vault", -1);
		return;
	}
	/* The store is unreachable or lost its quorum (store.h): nothing
	 * was evaluated; the client may try again, here or elsewhere. */
	if (r == -EKEYREVOKED || r == -ENOKEY) {
		/* a blob under a destroyed master key: nothing evaluated */
		log_error("%s: the record's master key epoch is %s", what,
			  r == -EKEYREVOKED
			      ? "retired (a store restored from before a "
				"key rotation?)"
			      : "not in this HSM (destroyed by a rotation, "
				"or not given to this replica yet)");
		api_fail(x, 503, "key_unavailable",
			 "the vault cannot use this record's key; try "
			 "another replica or register again",
			 -1);
		return;
	}
	if (r == -EAGAIN) {
		log_warn("%s: store unavailable", what);
		api_fail(x, 503, "unavailable",
			 "the vault's store is unavailable; try again", -1);
		return;
	}
	log_error("%s failed: %s", what, vfs_strerror(r));
	api_fail(x, 500, "internal", "internal error; see the server log", -1);
}

/* 400 for a missing or malformed field; returns r for chaining. */
static int api_field(struct actx *x, int r, const char *name)
{
	char msg[96];

	if (r >= 0)
		return r;
	snprintf(msg, sizeof(msg), "%s field '%s'",
		 r == -ENOENT ? "missing" : "malformed", name);
	api_fail(x, 400, "bad_request", msg, -1);
	return r;
}

static void api_audit(struct actx *x, const char *action, const char *outcome)
{
	int r = store_audit_add(x->a->store, x->account, x->now, action,
				outcome, x->rq->source);

	if (r < 0)
		log_error("audit write failed: %s", vfs_strerror(r));
}

static long api_left(const struct api *a, uint32_t attempts)
{
	return attempts >= a->cfg->max_attempts
		   ? 0
		   : (long)(a->cfg->max_attempts - attempts);
}

/* The body's "account" must be present and equal the token's. */
static int api_account(struct actx *x)
{
	const char *acc;
	int r;

	r = api_field(x,
		      json_get_str(x->body, "account", TOKEN_ACCOUNT_MAX, &acc),
		      "account");
	if (r < 0)
		return r;
	if (strcmp(acc, x->account) != 0) {
		api_fail(x, 403, "token_mismatch",
			 "the account differs from the token's account", -1);
		return -EPERM;
	}
	return 0;
}

static int api_point(struct actx *x, const char *name, uint8_t p[65])
{
	int r;

	r = api_field(x, json_get_b64n(x->body, name, p, 65), name);
	if (r < 0)
		return r;
	r = point_validate(p, 65);
	if (r < 0) {
		api_fail(x, 400, "bad_point",
			 "not a P-256 point (SEC1 uncompressed, on the curve)",
			 -1);
		return r;
	}
	return 0;
}

/* Reads the record; answers 404/423 itself when allow_locked is 0. */
static int api_record(struct actx *x, struct store_record *rec,
		      int allow_locked)
{
	int r = store_record_get(x->a->store, x->account, rec);

	if (r == -ENOENT) {
		api_fail(x, 404, "unknown", "no record for this account", -1);
		return r;
	}
	if (r < 0) {
		api_internal(x, "record read", r);
		return r;
	}
	if (rec->state != STORE_LIVE && !allow_locked) {
		api_fail(x, 423, "locked",
			 "too many wrong passwords; the account is locked and "
			 "only the 64-digit key can re-arm it",
			 0);
		return -VFS_E_LOCKED;
	}
	return 0;
}

static const struct store_entry *api_entry(const struct store_record *rec,
					   const uint8_t id[16])
{
	for (unsigned i = 0; i < rec->nstores; i++)
		if (memcmp(rec->stores[i].store_id, id, 16) == 0)
			return &rec->stores[i];
	return NULL;
}

/* Makes a fresh OPRF key, evaluates it on blinded and keeps it pending. */
static int api_new_key(struct actx *x, int kind, const uint8_t blinded[65],
		       uint8_t ret_id[16], uint8_t ret_ev[32])
{
	struct store_pending p;
	int r;

	memset(&p, 0, sizeof(p));
	/* the epoch of new keys as the store has it now (epoch.h) */
	r = epoch_refresh(x->a->hsm, x->a->store);
	if (r == 0)
		r = hsm_oprf_keygen(x->a->hsm, p.blob, &p.blob_len);
	if (r < 0) {
		api_internal(x, "OPRF key generation", r);
		goto out;
	}
	r = hsm_oprf_evaluate_as(x->a->hsm, "new_key", x->account, p.blob,
				 p.blob_len, blinded, ret_ev);
	if (r < 0) {
		api_internal(x, "OPRF evaluation", r);
		goto out;
	}
	randombytes_buf(p.id, sizeof(p.id));
	memcpy(p.account, x->account, strlen(x->account) + 1);
	p.kind = kind;
	p.expires = x->now + API_PENDING_TTL;
	r = store_pending_put(x->a->store, &p);
	if (r < 0) {
		api_internal(x, "pending key write", r);
		goto out;
	}
	memcpy(ret_id, p.id, 16);
out:
	sodium_memzero(&p, sizeof(p));
	return r;
}

static void api_register_start(struct actx *x)
{
	struct store_record rec;
	uint8_t blinded[65], id[16], ev[32];
	struct json_out *w;
	int r;

	if (api_account(x) < 0 || api_point(x, "blinded", blinded) < 0)
		return;
	r = store_record_get(x->a->store, x->account, &rec);
	if (r == 0) {
		if (rec.state == STORE_LIVE)
			api_fail(x, 409, "exists",
				 "the account has a record; use passwd or "
				 "rearm",
				 -1);
		else
			api_fail(x, 423, "locked",
				 "the account is locked; re-arm it with the "
				 "64-digit key",
				 0);
		return;
	}
	if (r != -ENOENT) {
		api_internal(x, "record read", r);
		return;
	}
	if (api_new_key(x, STORE_PENDING_REGISTER, blinded, id, ev) < 0)
		return;
	api_audit(x, "register", "started");
	w = json_out_new();
	if (w) {
		json_out_b64(w, "reg_id", id, sizeof(id));
		json_out_b64(w, "evaluated", ev, sizeof(ev));
	}
	api_ok(x, 200, w);
}

static void api_register_finish(struct actx *x)
{
	struct store_record *rec = NULL;
	struct store_pending p;
	const struct json_obj *argon, *st;
	uint8_t reg_id[16], auth_sig[64], k_sig[64];
	uint64_t ops = 0, mem = 0;
	size_t n = 0;
	int r;

	memset(&p, 0, sizeof(p));
	rec = calloc(1, sizeof(*rec));
	if (!rec) {
		api_internal(x, "allocation", -ENOMEM);
		return;
	}
	if (api_account(x) < 0)
		goto out;
	memcpy(rec->account, x->account, strlen(x->account) + 1);
	if (api_field(x, json_get_b64n(x->body, "reg_id", reg_id, 16),
		      "reg_id") < 0 ||
	    api_field(x, json_get_b64n(x->body, "auth_pub", rec->auth_pub, 32),
		      "auth_pub") < 0 ||
	    api_field(x, json_get_b64n(x->body, "auth_sig", auth_sig, 64),
		      "auth_sig") < 0 ||
	    api_field(x,
		      json_get_b64n(x->body, "env_tag", rec->env_tag,
				    STORE_TAG_LEN),
		      "env_tag") < 0 ||
	    api_field(x, json_get_obj(x->body, "argon", &argon), "argon") < 0 ||
	    api_field(x, json_get_u64(argon, "ops", &ops), "argon.ops") < 0 ||
	    api_field(x, json_get_u64(argon, "mem", &mem), "argon.mem") < 0)
		goto out;
	if (ops < API_ARGON_OPS_MIN || ops > API_ARGON_OPS_MAX ||
	    mem < API_ARGON_MEM_MIN || mem > API_ARGON_MEM_MAX) {
		api_fail(x, 400, "bad_request",
			 "argon parameters out of bounds (2..10 ops, "
			 "32 MiB..1 GiB)",
			 -1);
		goto out;
	}
	rec->argon_ops = (uint32_t)ops;
	rec->argon_mem = mem;
	r = json_get_array_len(x->body, "stores", STORE_STORES_MAX, &n);
	if (r == -E2BIG || (r == 0 && n == 0)) {
		api_fail(x, 400, "bad_request", "1 to 16 stores", -1);
		goto out;
	}
	if (api_field(x, r, "stores") < 0)
		goto out;
	if (proto_check_register(rec->auth_pub, auth_sig, x->account, reg_id,
				 rec->argon_ops, rec->argon_mem,
				 rec->env_tag) < 0) {
		api_fail(x, 401, "bad_proof", "auth_sig does not verify", -1);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct store_entry *e = &rec->stores[i];

		if (api_field(x, json_get_array_obj(x->body, "stores", i, &st),
			      "stores") < 0 ||
		    api_field(x, json_get_hex16(st, "store_id", e->store_id),
			      "store_id") < 0 ||
		    api_field(x,
			      json_get_b64(st, "enc_k", e->enc_k, API_ENCK_LEN,
					   API_ENCK_LEN, &e->enc_k_len),
			      "enc_k") < 0 ||
		    api_field(x, json_get_b64n(st, "k_pub", e->k_pub, 32),
			      "k_pub") < 0 ||
		    api_field(x, json_get_b64n(st, "k_sig", k_sig, 64),
			      "k_sig") < 0)
			goto out;
		for (size_t j = 0; j < i; j++) {
			if (memcmp(rec->stores[j].store_id, e->store_id, 16) ==
			    0) {
				api_fail(x, 400, "bad_request",
					 "a store_id appears twice", -1);
				goto out;
			}
		}
		if (proto_check_kreg(e->k_pub, k_sig, x->account, e->store_id,
				     rec->auth_pub) < 0) {
			api_fail(x, 401, "bad_proof", "k_sig does not verify",
				 -1);
			goto out;
		}
		rec->nstores++;
	}
	r = store_pending_take(x->a->store, reg_id, x->account, x->now, &p);
	if (r == -ENOENT || r == -ETIMEDOUT) {
		api_fail(x, 410, "stale_registration",
			 "unknown or expired reg_id; start again", -1);
		goto out;
	}
	if (r == -EPERM) {
		api_fail(x, 403, "token_mismatch",
			 "the registration belongs to another account", -1);
		goto out;
	}
	if (r < 0) {
		api_internal(x, "pending key read", r);
		goto out;
	}
	memcpy(rec->blob, p.blob, p.blob_len);
	rec->blob_len = p.blob_len;
	/* a rotation may have begun since /start: never write a key under
	 * an epoch on its way out (epoch.c) */
	r = epoch_fresh_blob(x->a->hsm, x->a->store, rec->blob,
			     &rec->blob_len);
	if (r < 0) {
		api_internal(x, "key rewrap", r);
		goto out;
	}
	/*
	 * passwd needs a live record and keeps every k_pub (whoever swaps
	 * the new password in, a man in the middle of /v1/passwd, cannot
	 * also take away the 64-digit key's way back); rearm takes any
	 * record. The store checks this in the transaction of the write.
	 */
	r = store_record_put(x->a->store, rec,
			     p.kind == STORE_PENDING_REGISTER ? STORE_PUT_NEW
			     : p.kind == STORE_PENDING_PASSWD ? STORE_PUT_PASSWD
							      : STORE_PUT_ANY);
	if (r == -EEXIST) {
		api_fail(x, 409, "exists", "the account has a record", -1);
		goto out;
	}
	if (r == -ENOENT) {
		api_fail(x, 404, "unknown", "the record is gone", -1);
		goto out;
	}
	if (r == -VFS_E_LOCKED) {
		api_fail(x, 423, "locked", "the account is locked", 0);
		goto out;
	}
	if (r == -EPERM) {
		api_fail(x, 400, "bad_request",
			 "a password change must keep every store's k_pub",
			 -1);
		goto out;
	}
	if (r < 0) {
		api_internal(x, "record write", r);
		goto out;
	}
	api_audit(x,
		  p.kind == STORE_PENDING_REGISTER ? "register"
		  : p.kind == STORE_PENDING_PASSWD ? "passwd"
						   : "rearm",
		  "ok");
	{
		struct json_out *w = json_out_new();

		if (w)
			json_out_bool(w, "ok", 1);
		api_ok(x, 201, w);
	}
out:
	sodium_memzero(&p, sizeof(p));
	sodium_memzero(rec, sizeof(*rec));
	free(rec);
}

static int api_action_known(const char *a)
{
	return strcmp(a, "recover") == 0 || strcmp(a, "passwd") == 0 ||
	       strcmp(a, "add_store") == 0 || strcmp(a, "delete") == 0;
}

static void api_recover_start(struct actx *x)
{
	struct store_record rec;
	struct store_challenge c;
	struct store_attempt at = {0};
	const char *action;
	uint8_t ev[32];
	struct json_out *w;
	int r;

	memset(&c, 0, sizeof(c));
	if (api_account(x) < 0)
		return;
	if (api_field(
		x, json_get_str(x->body, "action", STORE_ACTION_MAX, &action),
		"action") < 0)
		return;
	if (!api_action_known(action)) {
		api_fail(x, 400, "bad_request",
			 "action must be recover, passwd, add_store or delete",
			 -1);
		return;
	}
	r = json_get_hex16(x->body, "store_id", c.store_id);
	if (r == -EINVAL ||
	    (r == -ENOENT && (strcmp(action, "recover") == 0 ||
			      strcmp(action, "add_store") == 0))) {
		api_field(x, r, "store_id");
		return;
	}
	c.has_store = r == 0;
	if (api_point(x, "blinded", c.blinded) < 0)
		return;
	if (api_record(x, &rec, 0) < 0)
		return;
	if (strcmp(action, "recover") == 0 && !api_entry(&rec, c.store_id)) {
		api_fail(x, 404, "unknown_store",
			 "this account does not protect that store", -1);
		return;
	}
	if (strcmp(action, "add_store") == 0 && api_entry(&rec, c.store_id)) {
		api_fail(x, 409, "exists", "the store is already protected",
			 -1);
		return;
	}
	randombytes_buf(c.id, sizeof(c.id));
	randombytes_buf(c.challenge, sizeof(c.challenge));
	memcpy(c.account, x->account, strlen(x->account) + 1);
	memcpy(c.action, action, strlen(action) + 1);
	c.kind = STORE_CHAL_PASSWORD;
	c.expires = x->now + API_CHALLENGE_TTL;

	/* Durable before the HSM sees anything. */
	r = store_attempt_begin(x->a->store, &c, x->a->cfg->max_attempts,
				x->now, x->rq->source, &at);
	if (r == -VFS_E_LOCKED) {
		if (at.locked_now) {
			metrics_lockout();
			log_info("account '%s' locked (abandoned last attempt)",
				 x->account);
		}
		api_fail(x, 423, "locked",
			 "no attempts left; the account is locked", 0);
		return;
	}
	if (r == -ENOENT) {
		api_fail(x, 404, "unknown", "no record for this account", -1);
		return;
	}
	if (r < 0) {
		api_internal(x, "attempt count", r);
		return;
	}
	metrics_guess();
	/* Exactly the key whose counter was just spent (not rec's: the
	 * record may have been replaced since it was read). */
	r = hsm_oprf_evaluate_as(x->a->hsm, "attempt", x->account, at.blob,
				 at.blob_len, c.blinded, ev);
	sodium_memzero(at.blob, sizeof(at.blob));
	if (r < 0) {
		api_internal(x, "OPRF evaluation", r);
		return;
	}
	r = store_challenge_set_evaluated(x->a->store, c.id, ev);
	if (r < 0) {
		api_internal(x, "challenge write", r);
		return;
	}
	w = json_out_new();
	if (w) {
		json_out_b64(w, "chal_id", c.id, sizeof(c.id));
		json_out_b64(w, "challenge", c.challenge, sizeof(c.challenge));
		json_out_b64(w, "evaluated", ev, sizeof(ev));
		json_out_b64(w, "env_tag", at.env_tag, sizeof(at.env_tag));
		json_out_obj_begin(w, "argon");
		json_out_u64(w, "ops", at.argon_ops);
		json_out_u64(w, "mem", at.argon_mem);
		json_out_end(w);
		json_out_u64(w, "attempts_left",
			     (uint64_t)api_left(x->a, at.attempts));
	}
	api_ok(x, 200, w);
}

/* Takes the challenge named in the body; answers errors itself. */
static int api_take_challenge(struct actx *x, int kind, const char *action,
			      struct store_challenge *c)
{
	uint8_t id[16];
	int r;

	r = api_field(x, json_get_b64n(x->body, "chal_id", id, 16), "chal_id");
	if (r < 0)
		return r;
	r = store_challenge_take(x->a->store, id, x->account, x->now, c);
	if (r == -ENOENT || r == -ETIMEDOUT) {
		api_fail(x, 410, "stale_challenge",
			 "unknown, used or expired challenge; start again", -1);
		return r;
	}
	if (r == -EPERM) {
		api_fail(x, 403, "token_mismatch",
			 "the challenge belongs to another account", -1);
		return r;
	}
	if (r < 0) {
		api_internal(x, "challenge read", r);
		return r;
	}
	if (c->kind != kind || strcmp(c->action, action) != 0) {
		api_fail(x, 400, "wrong_action",
			 "the challenge was made for another action", -1);
		return -EINVAL;
	}
	return 0;
}

/*
 * The password proof of a challenge for action: on success the counter is
 * reset and rec/c are filled; otherwise the answer is written (401 with
 * attempts left, or 423 when this failure spent the budget).
 */
static int api_password_proof(struct actx *x, const char *action,
			      struct store_record *rec,
			      struct store_challenge *c)
{
	struct store_attempt at = {0};
	uint8_t sig[64];
	int r;

	r = api_field(x, json_get_b64n(x->body, "sig", sig, 64), "sig");
	if (r < 0)
		return r;
	r = api_take_challenge(x, STORE_CHAL_PASSWORD, action, c);
	if (r < 0) {
		if (r == -ETIMEDOUT)
			api_audit(x, action, "stale_challenge");
		return r;
	}
	r = api_record(x, rec, 0);
	if (r < 0)
		return r;
	r = proto_check_proof(rec->auth_pub, sig, action, x->account,
			      c->has_store ? c->store_id : NULL, c->challenge,
			      c->blinded, c->evaluated);
	if (r == 0) {
		r = store_attempt_succeed(x->a->store, x->account);
		if (r == -VFS_E_LOCKED) {
			api_fail(x, 423, "locked", "the account is locked", 0);
			return r;
		}
		if (r < 0) {
			api_internal(x, "counter reset", r);
			return r;
		}
		api_audit(x, action, "ok");
		return 0;
	}
	r = store_attempt_fail(x->a->store, x->account, x->a->cfg->max_attempts,
			       x->now, &at);
	if (r == -VFS_E_LOCKED) {
		if (at.locked_now) {
			metrics_lockout();
			log_info("account '%s' locked after %u attempts",
				 x->account, at.attempts);
			api_audit(x, action, "locked");
		}
		api_fail(x, 423, "locked",
			 "wrong password and no attempts left; the account is "
			 "locked",
			 0);
		return r;
	}
	if (r < 0) {
		api_internal(x, "counter check", r);
		return r;
	}
	api_audit(x, action, "wrong_password");
	api_fail(x, 401, "wrong_password", "wrong password",
		 api_left(x->a, at.attempts));
	return -EBADMSG;
}

static void api_recover_finish(struct actx *x)
{
	struct store_record rec;
	struct store_challenge c;
	const struct store_entry *e;
	struct json_out *w;

	if (api_password_proof(x, "recover", &rec, &c) < 0)
		return;
	e = c.has_store ? api_entry(&rec, c.store_id) : NULL;
	if (!e || e->enc_k_len == 0) {
		api_fail(x, 404, "unknown_store",
			 "this account does not protect that store", -1);
		return;
	}
	w = json_out_new();
	if (w) {
		json_out_b64(w, "enc_k", e->enc_k, e->enc_k_len);
		json_out_b64(w, "k_pub", e->k_pub, sizeof(e->k_pub));
	}
	api_ok(x, 200, w);
}

static void api_passwd(struct actx *x)
{
	struct store_record rec;
	struct store_challenge c;
	uint8_t blinded[65], id[16], ev[32];
	struct json_out *w;

	/* A bad point must not consume the challenge. */
	if (api_point(x, "blinded", blinded) < 0)
		return;
	if (api_password_proof(x, "passwd", &rec, &c) < 0)
		return;
	if (api_new_key(x, STORE_PENDING_PASSWD, blinded, id, ev) < 0)
		return;
	w = json_out_new();
	if (w) {
		json_out_b64(w, "reg_id", id, sizeof(id));
		json_out_b64(w, "evaluated", ev, sizeof(ev));
		json_out_arr_begin(w, "stores");
		for (unsigned i = 0; i < rec.nstores; i++) {
			json_out_obj_begin(w, NULL);
			json_out_hex(w, "store_id", rec.stores[i].store_id, 16);
			json_out_b64(w, "enc_k", rec.stores[i].enc_k,
				     rec.stores[i].enc_k_len);
			json_out_end(w);
		}
		json_out_end(w);
	}
	api_ok(x, 200, w);
}

static void api_store_add(struct actx *x)
{
	struct store_record rec;
	struct store_challenge c;
	struct store_entry e;
	uint8_t k_sig[64];
	struct json_out *w;
	int r;

	memset(&e, 0, sizeof(e));
	if (api_field(x, json_get_hex16(x->body, "store_id", e.store_id),
		      "store_id") < 0 ||
	    api_field(x,
		      json_get_b64(x->body, "enc_k", e.enc_k, API_ENCK_LEN,
				   API_ENCK_LEN, &e.enc_k_len),
		      "enc_k") < 0 ||
	    api_field(x, json_get_b64n(x->body, "k_pub", e.k_pub, 32),
		      "k_pub") < 0 ||
	    api_field(x, json_get_b64n(x->body, "k_sig", k_sig, 64), "k_sig") <
		0)
		return;
	if (api_password_proof(x, "add_store", &rec, &c) < 0)
		return;
	if (!c.has_store || memcmp(c.store_id, e.store_id, 16) != 0) {
		api_fail(x, 400, "bad_request",
			 "store_id differs from the challenge's", -1);
		return;
	}
	if (proto_check_kreg(e.k_pub, k_sig, x->account, e.store_id,
			     rec.auth_pub) < 0) {
		api_fail(x, 401, "bad_proof", "k_sig does not verify", -1);
		return;
	}
	r = store_entry_add(x->a->store, x->account, &e);
	if (r == -EEXIST) {
		api_fail(x, 409, "exists", "the store is already protected",
			 -1);
		return;
	}
	if (r == -ENOSPC) {
		api_fail(x, 409, "too_many_stores",
			 "an account protects at most 16 stores", -1);
		return;
	}
	if (r == -VFS_E_LOCKED) {
		api_fail(x, 423, "locked", "the account is locked", 0);
		return;
	}
	if (r < 0) {
		api_internal(x, "store add", r);
		return;
	}
	w = json_out_new();
	if (w)
		json_out_bool(w, "ok", 1);
	api_ok(x, 200, w);
}

static void api_delete(struct actx *x)
{
	struct store_record rec;
	struct store_challenge c;
	struct json_out *w;
	int r;

	if (api_password_proof(x, "delete", &rec, &c) < 0)
		return;
	r = store_record_delete(x->a->store, x->account);
	if (r < 0 && r != -ENOENT) {
		api_internal(x, "record delete", r);
		return;
	}
	w = json_out_new();
	if (w)
		json_out_bool(w, "ok", 1);
	api_ok(x, 200, w);
}

static void api_kchallenge(struct actx *x)
{
	struct store_record rec;
	struct store_challenge c;
	const char *action;
	struct json_out *w;
	int r;

	memset(&c, 0, sizeof(c));
	if (api_account(x) < 0 ||
	    api_field(x, json_get_hex16(x->body, "store_id", c.store_id),
		      "store_id") < 0 ||
	    api_field(
		x, json_get_str(x->body, "action", STORE_ACTION_MAX, &action),
		"action") < 0)
		return;
	if (strcmp(action, "rearm") != 0) {
		api_fail(x, 400, "bad_request", "action must be rearm", -1);
		return;
	}
	if (api_record(x, &rec, 1) < 0)
		return;
	if (!api_entry(&rec, c.store_id)) {
		api_fail(x, 404, "unknown_store",
			 "this account does not protect that store", -1);
		return;
	}
	randombytes_buf(c.id, sizeof(c.id));
	randombytes_buf(c.challenge, sizeof(c.challenge));
	memcpy(c.account, x->account, strlen(x->account) + 1);
	memcpy(c.action, action, strlen(action) + 1);
	c.kind = STORE_CHAL_KEY;
	c.has_store = 1;
	c.expires = x->now + API_CHALLENGE_TTL;
	r = store_challenge_put(x->a->store, &c);
	if (r < 0) {
		api_internal(x, "challenge write", r);
		return;
	}
	w = json_out_new();
	if (w) {
		json_out_b64(w, "chal_id", c.id, sizeof(c.id));
		json_out_b64(w, "challenge", c.challenge, sizeof(c.challenge));
	}
	api_ok(x, 200, w);
}

static void api_rearm(struct actx *x)
{
	struct store_record rec;
	struct store_challenge c;
	const struct store_entry *e;
	uint8_t blinded[65], sig[64], id[16], ev[32];
	struct json_out *w;

	if (api_field(x, json_get_b64n(x->body, "sig", sig, 64), "sig") < 0 ||
	    api_point(x, "blinded", blinded) < 0)
		return;
	if (api_take_challenge(x, STORE_CHAL_KEY, "rearm", &c) < 0)
		return;
	if (api_record(x, &rec, 1) < 0)
		return;
	e = api_entry(&rec, c.store_id);
	if (!e) {
		api_fail(x, 404, "unknown_store",
			 "this account does not protect that store", -1);
		return;
	}
	if (proto_check_kproof(e->k_pub, sig, "rearm", x->account, c.store_id,
			       c.challenge) < 0) {
		api_audit(x, "rearm", "bad_proof");
		api_fail(x, 401, "bad_proof",
			 "the K proof does not verify for this store", -1);
		return;
	}
	if (api_new_key(x, STORE_PENDING_REARM, blinded, id, ev) < 0)
		return;
	api_audit(x, "rearm", "started");
	w = json_out_new();
	if (w) {
		json_out_b64(w, "reg_id", id, sizeof(id));
		json_out_b64(w, "evaluated", ev, sizeof(ev));
	}
	api_ok(x, 200, w);
}

static void api_generation(struct actx *x)
{
	struct store_record rec;
	const struct store_entry *e;
	uint8_t store_id[16], sig[64];
	uint64_t gen = 0, max = 0;
	struct json_out *w;
	int r;

	if (api_account(x) < 0 ||
	    api_field(x, json_get_hex16(x->body, "store_id", store_id),
		      "store_id") < 0 ||
	    api_field(x, json_get_u64(x->body, "generation", &gen),
		      "generation") < 0 ||
	    api_field(x, json_get_b64n(x->body, "sig", sig, 64), "sig") < 0)
		return;
	if (api_record(x, &rec, 1) < 0)
		return;
	e = api_entry(&rec, store_id);
	if (!e) {
		api_fail(x, 404, "unknown_store",
			 "this account does not protect that store", -1);
		return;
	}
	if (proto_check_gen(e->k_pub, sig, x->account, store_id, gen) < 0) {
		api_fail(x, 401, "bad_proof",
			 "the report's sig does not verify", -1);
		return;
	}
	r = store_generation_put(x->a->store, x->account, store_id, gen, sig,
				 &max);
	if (r < 0) {
		api_internal(x, "generation write", r);
		return;
	}
	w = json_out_new();
	if (w)
		json_out_u64(w, "generation", max);
	api_ok(x, 200, w);
}

static void api_generation_get(struct actx *x)
{
	uint8_t store_id[16], sig[64];
	uint64_t gen = 0;
	struct json_out *w;
	int r;

	if (api_account(x) < 0 ||
	    api_field(x, json_get_hex16(x->body, "store_id", store_id),
		      "store_id") < 0)
		return;
	r = store_generation_get(x->a->store, x->account, store_id, &gen, sig);
	if (r < 0 && r != -ENOENT) {
		api_internal(x, "generation read", r);
		return;
	}
	w = json_out_new();
	if (w) {
		json_out_u64(w, "generation", r == 0 ? gen : 0);
		if (r == 0)
			json_out_b64(w, "sig", sig, sizeof(sig));
		else
			json_out_str(w, "sig", "");
	}
	api_ok(x, 200, w);
}

static void api_audit_list(struct actx *x)
{
	struct store_event *ev;
	struct json_out *w;
	int n;

	if (api_account(x) < 0)
		return;
	ev = calloc(STORE_AUDIT_MAX, sizeof(*ev));
	if (!ev) {
		api_internal(x, "allocation", -ENOMEM);
		return;
	}
	n = store_audit_list(x->a->store, x->account, ev, STORE_AUDIT_MAX);
	if (n < 0) {
		api_internal(x, "audit read", n);
		free(ev);
		return;
	}
	w = json_out_new();
	if (w) {
		json_out_arr_begin(w, "events");
		for (int i = 0; i < n; i++) {
			json_out_obj_begin(w, NULL);
			json_out_u64(w, "time", (uint64_t)ev[i].time);
			json_out_str(w, "action", ev[i].action);
			json_out_str(w, "outcome", ev[i].outcome);
			json_out_str(w, "source", ev[i].source);
			json_out_end(w);
		}
		json_out_end(w);
	}
	free(ev);
	api_ok(x, 200, w);
}

struct api_route {
	const char *path;
	enum metrics_endpoint ep;
	void (*fn)(struct actx *x);
};

static const struct api_route api_routes[] = {
    {"/v1/register/start", EP_REGISTER_START, api_register_start},
    {"/v1/register/finish", EP_REGISTER_FINISH, api_register_finish},
    {"/v1/recover/start", EP_RECOVER_START, api_recover_start},
    {"/v1/recover/finish", EP_RECOVER_FINISH, api_recover_finish},
    {"/v1/passwd", EP_PASSWD, api_passwd},
    {"/v1/store/add", EP_STORE_ADD, api_store_add},
    {"/v1/delete", EP_DELETE, api_delete},
    {"/v1/kchallenge", EP_KCHALLENGE, api_kchallenge},
    {"/v1/rearm", EP_REARM, api_rearm},
    {"/v1/generation", EP_GENERATION, api_generation},
    {"/v1/generation/get", EP_GENERATION_GET, api_generation_get},
    {"/v1/audit", EP_AUDIT, api_audit_list},
};

static enum metrics_endpoint api_endpoint(const char *path)
{
	if (strcmp(path, "/healthz") == 0)
		return EP_HEALTHZ;
	if (strcmp(path, "/metrics") == 0)
		return EP_METRICS;
	for (size_t i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++)
		if (strcmp(path, api_routes[i].path) == 0)
			return api_routes[i].ep;
	return EP_OTHER;
}

void api_count(const char *path, int status)
{
	metrics_request(api_endpoint(path), status);
}

static double api_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void api_v1(struct actx *x, const struct api_route *rt)
{
	static const char bearer[] = "Bearer ";
	const char *auth = x->rq->authorization;
	struct token_mac m = {api_mac, x->a->hsm};
	char key[RATELIMIT_KEY_MAX + 1];
	int r;

	snprintf(key, sizeof(key), "a:%s", x->rq->source);
	if (ratelimit_take(x->a->rl_addr, key, api_mono()) < 0) {
		api_fail(x, 429, "rate_limited",
			 "too many requests from this address", -1);
		return;
	}
	if (!auth || strncmp(auth, bearer, sizeof(bearer) - 1) != 0) {
		api_fail(x, 401, "bad_token",
			 "missing 'Authorization: Bearer' account token", -1);
		return;
	}
	auth += sizeof(bearer) - 1;
	r = token_verify(&m, x->a->vault_id, auth, strlen(auth), x->now,
			 x->account);
	if (r < 0) {
		api_fail(x, 401, "bad_token",
			 r == -ETIMEDOUT ? "the account token has expired"
			 : r == -EXDEV
			     ? "the account token is for another vault"
			     : "the account token is not valid",
			 -1);
		return;
	}
	/* After the token: a stranger cannot spend an account's budget. */
	snprintf(key, sizeof(key), "u:%s", x->account);
	if (ratelimit_take(x->a->rl_account, key, api_mono()) < 0) {
		api_fail(x, 429, "rate_limited",
			 "too many requests for this account", -1);
		return;
	}
	if (json_parse(x->rq->body ? x->rq->body : "", x->rq->body_len,
		       &x->body) < 0) {
		api_fail(x, 400, "bad_request", "the body is not a JSON object",
			 -1);
		return;
	}
	rt->fn(x);
}

void api_handle(struct api *a, const struct api_request *rq,
		struct api_response *ret)
{
	struct actx x;
	enum metrics_endpoint ep;
	const struct api_route *rt = NULL;

	memset(&x, 0, sizeof(x));
	x.a = a;
	x.rq = rq;
	x.resp = ret;
	x.now = (int64_t)time(NULL);
	ret->status = 500;
	ret->body = NULL;
	ret->content_type = "application/json";

	ep = api_endpoint(rq->path);
	for (size_t i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++)
		if (strcmp(rq->path, api_routes[i].path) == 0)
			rt = &api_routes[i];
	if (ep == EP_HEALTHZ || ep == EP_METRICS) {
		if (strcmp(rq->method, "GET") != 0) {
			api_fail(&x, 405, "method_not_allowed", "use GET", -1);
		} else if (ep == EP_HEALTHZ) {
			struct json_out *w = json_out_new();

			if (w)
				json_out_str(w, "status", "ok");
			api_ok(&x, 200, w);
		} else {
			ret->body = metrics_render(hsm_evaluations(a->hsm));
			ret->status = ret->body ? 200 : 500;
			ret->content_type = "text/plain; version=0.0.4";
		}
	} else if (!rt) {
		api_fail(&x, 404, "not_found", "no such endpoint", -1);
	} else if (strcmp(rq->method, "POST") != 0) {
		api_fail(&x, 405, "method_not_allowed", "use POST", -1);
	} else {
		api_v1(&x, rt);
	}
	json_obj_free(x.body);
	sodium_memzero(x.account, sizeof(x.account));
	metrics_request(ep, ret->status);
	log_debug("%.16s '%.128s' -> %d", rq->method, rq->path, ret->status);
}

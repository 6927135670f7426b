/*
 * store_etcd.c - the store interface on an etcd v3 cluster, so that
 * several vaultsrv replicas share one truth and one guess budget.
 *
 * Spec: etcd:URL[,URL...][?prefix=NAME&cacert=PEM&cert=PEM&key=PEM
 * &timeout_ms=N]; keys live under "NAME/" (default "vaultsrv"):
 *
 *   m/KEY             meta value
 *   a/ACCOUNT         the record, attempt counter included (ek_rec_*)
 *   c/ACCOUNT/ID      a challenge;  ci/ID: its account and expiry
 *   v/ID              the HSM's evaluation for challenge ID
 *   p/ACCOUNT/ID      a pending key; pi/ID: its account and expiry
 *   g/ACCOUNT/STORE   the highest generation report
 *   e/ACCOUNT/RANDOM  an audit event (ordered by create revision)
 *
 * Every operation that the lockout depends on is a read of the keys it
 * looks at followed by one transaction that commits only if the record's
 * mod revision is still the one read (compare-and-swap); on a conflict
 * the failure branch returns the keys afresh and the decision is made
 * again. Reads are linearizable. So increments are linearizable across
 * replicas: N concurrent attempts on one account count exactly N, never
 * past max, and an attempt is committed before its evaluation.
 * Password challenges are only ever created by the transaction that
 * bumps the record, so "no open password challenge" is also guarded by
 * the record's revision.
 *
 * The ci/, pi/ indexes answer "whose is this id" (-EPERM) and let purge
 * find expired ids; when a record write drops every challenge of an
 * account by prefix they may dangle until purge removes them, which
 * changes no answer (the challenge itself is gone: -ENOENT).
 *
 * Erasure: etcd keeps old revisions until compacted; every commit that
 * destroys a secret (tombstone, replace, delete) is followed by a
 * compaction at its revision. etcd's raft log and free pages of its
 * database file still hold old values for a while: docs/operations.md.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "buf.h"
#include "etcd.h"
#include "store_backend.h"
#include "token.h"
#include "vfs_error.h"

#define EK_PREFIX_MAX 64
#define EK_KEY_MAX 400
#define EK_CAS_TRIES 200
#define EK_PURGE_PAGE 1000
#define EK_SCHEMA "1"
#define EK_REC_VERSION 1
#define EK_CHAL_VERSION 1
#define EK_PEND_VERSION 1

struct store_impl {
	struct etcd *e;
	char prefix[EK_PREFIX_MAX + 2]; /* "NAME/" */
};

typedef char ek_key[EK_KEY_MAX];

static int ek_fmt(const struct store_impl *s, char *out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* prefix + formatted rest; -EINVAL if it does not fit. */
static int ek_fmt(const struct store_impl *s, char *out, const char *fmt, ...)
{
	size_t pl = strlen(s->prefix);
	va_list ap;
	int n;

	memcpy(out, s->prefix, pl);
	va_start(ap, fmt);
	n = vsnprintf(out + pl, EK_KEY_MAX - pl, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= EK_KEY_MAX - pl ? -EINVAL : 0;
}

static void ek_hex(char out[33], const uint8_t id[16])
{
	sodium_bin2hex(out, 33, id, 16);
}

/* Accounts go into keys: the token's alphabet only (no '/'). */
static int ek_account_ok(const char *a)
{
	return a && token_account_valid(a, strnlen(a, STORE_ACCOUNT_MAX + 1));
}

/* Waits a random while, longer after each lost race. */
static void ek_backoff(int attempt)
{
	unsigned cap = 1u << (attempt < 5 ? attempt : 5); /* ms */
	struct timespec ts;
	uint32_t us = randombytes_uniform(cap * 1000);

	ts.tv_sec = 0;
	ts.tv_nsec = (long)us * 1000;
	nanosleep(&ts, NULL);
}

/* ---- values ---- */

static int ek_rec_encode(const struct store_record *r, struct bufw *w)
{
	bufw_init(w, ETCD_VALUE_MAX, 1);
	bufw_u8(w, EK_REC_VERSION);
	bufw_u8(w, (uint8_t)r->state);
	bufw_u32(w, r->attempts); /* at offset 2: docs/operations.md */
	bufw_str(w, r->blob, r->blob_len);
	bufw_put(w, r->auth_pub, STORE_PUB_LEN);
	bufw_put(w, r->env_tag, STORE_TAG_LEN);
	bufw_u32(w, r->argon_ops);
	bufw_u64(w, r->argon_mem);
	bufw_u8(w, (uint8_t)r->nstores);
	for (unsigned i = 0; i < r->nstores; i++) {
		bufw_put(w, r->stores[i].store_id, STORE_ID_LEN);
		bufw_str(w, r->stores[i].enc_k, r->stores[i].enc_k_len);
		bufw_put(w, r->stores[i].k_pub, STORE_PUB_LEN);
	}
	return bufw_error(w);
}

static int ek_rec_decode(const char *account, const struct etcd_kv *kv,
			 struct store_record *r)
{
	struct bufr b;
	const uint8_t *p;
	size_t n;
	uint8_t ver = 0, state = 0, ns = 0;

	memset(r, 0, sizeof(*r));
	bufr_init(&b, kv->value, kv->value_len);
	if (bufr_u8(&b, &ver) < 0 || ver != EK_REC_VERSION ||
	    bufr_u8(&b, &state) < 0 || state > STORE_LOCKED ||
	    bufr_u32(&b, &r->attempts) < 0 ||
	    bufr_str(&b, &p, &n, STORE_BLOB_MAX) < 0)
		return -EIO;
	memcpy(r->blob, p, n);
	r->blob_len = n;
	r->state = state;
	if (bufr_get(&b, r->auth_pub, STORE_PUB_LEN) < 0 ||
	    bufr_get(&b, r->env_tag, STORE_TAG_LEN) < 0 ||
	    bufr_u32(&b, &r->argon_ops) < 0 ||
	    bufr_u64(&b, &r->argon_mem) < 0 || bufr_u8(&b, &ns) < 0 ||
	    ns > STORE_STORES_MAX)
		return -EIO;
	for (unsigned i = 0; i < ns; i++) {
		struct store_entry *e = &r->stores[i];

		if (bufr_get(&b, e->store_id, STORE_ID_LEN) < 0 ||
		    bufr_str(&b, &p, &n, STORE_ENCK_MAX) < 0)
			return -EIO;
		memcpy(e->enc_k, p, n);
		e->enc_k_len = n;
		if (bufr_get(&b, e->k_pub, STORE_PUB_LEN) < 0)
			return -EIO;
	}
	r->nstores = ns;
	if (bufr_left(&b) != 0)
		return -EIO;
	memcpy(r->account, account, strlen(account) + 1);
	return 0;
}

static int ek_chal_encode(const struct store_challenge *c, struct bufw *w)
{
	size_t al = strnlen(c->action, sizeof(c->action));

	bufw_init(w, ETCD_VALUE_MAX, 0);
	bufw_u8(w, EK_CHAL_VERSION);
	bufw_u8(w, (uint8_t)c->kind);
	bufw_str(w, c->action, al);
	bufw_u8(w, c->has_store ? 1 : 0);
	bufw_put(w, c->store_id, STORE_ID_LEN);
	bufw_put(w, c->challenge, STORE_CHAL_LEN);
	bufw_put(w, c->blinded, STORE_POINT_LEN);
	bufw_u64(w, (uint64_t)c->expires);
	return bufw_error(w);
}

static int ek_chal_decode(const struct etcd_kv *kv, struct store_challenge *c)
{
	struct bufr b;
	const uint8_t *p;
	size_t n;
	uint8_t ver = 0, kind = 0, hs = 0;
	uint64_t exp = 0;

	bufr_init(&b, kv->value, kv->value_len);
	if (bufr_u8(&b, &ver) < 0 || ver != EK_CHAL_VERSION ||
	    bufr_u8(&b, &kind) < 0 ||
	    (kind != STORE_CHAL_PASSWORD && kind != STORE_CHAL_KEY) ||
	    bufr_str(&b, &p, &n, STORE_ACTION_MAX) < 0 || memchr(p, 0, n))
		return -EIO;
	memcpy(c->action, p, n);
	c->action[n] = '\0';
	c->kind = kind;
	if (bufr_u8(&b, &hs) < 0 || hs > 1 ||
	    bufr_get(&b, c->store_id, STORE_ID_LEN) < 0 ||
	    bufr_get(&b, c->challenge, STORE_CHAL_LEN) < 0 ||
	    bufr_get(&b, c->blinded, STORE_POINT_LEN) < 0 ||
	    bufr_u64(&b, &exp) < 0 || exp > INT64_MAX || bufr_left(&b) != 0)
		return -EIO;
	c->has_store = hs;
	c->expires = (int64_t)exp;
	return 0;
}

/* ci/ and pi/ values: whose id it is and until when. */
static int ek_index_encode(const char *account, int64_t expires, struct bufw *w)
{
	bufw_init(w, 512, 0);
	bufw_str(w, account, strlen(account));
	bufw_u64(w, (uint64_t)expires);
	return bufw_error(w);
}

static int ek_index_decode(const struct etcd_kv *kv,
			   char account[STORE_ACCOUNT_MAX + 1],
			   int64_t *ret_expires)
{
	struct bufr b;
	const uint8_t *p;
	size_t n;
	uint64_t exp = 0;

	bufr_init(&b, kv->value, kv->value_len);
	if (bufr_str(&b, &p, &n, STORE_ACCOUNT_MAX) < 0 ||
	    bufr_u64(&b, &exp) < 0 || bufr_left(&b) != 0 ||
	    !token_account_valid((const char *)p, n) || exp > INT64_MAX)
		return -EIO;
	memcpy(account, p, n);
	account[n] = '\0';
	*ret_expires = (int64_t)exp;
	return 0;
}

static int ek_pend_encode(const struct store_pending *p, struct bufw *w)
{
	bufw_init(w, ETCD_VALUE_MAX, 1);
	bufw_u8(w, EK_PEND_VERSION);
	bufw_u8(w, (uint8_t)p->kind);
	bufw_str(w, p->blob, p->blob_len);
	bufw_u64(w, (uint64_t)p->expires);
	return bufw_error(w);
}

static int ek_pend_decode(const struct etcd_kv *kv, struct store_pending *p)
{
	struct bufr b;
	const uint8_t *q;
	size_t n;
	uint8_t ver = 0, kind = 0;
	uint64_t exp = 0;

	bufr_init(&b, kv->value, kv->value_len);
	if (bufr_u8(&b, &ver) < 0 || ver != EK_PEND_VERSION ||
	    bufr_u8(&b, &kind) < 0 || kind < STORE_PENDING_REGISTER ||
	    kind > STORE_PENDING_REARM ||
	    bufr_str(&b, &q, &n, STORE_BLOB_MAX) < 0)
		return -EIO;
	memcpy(p->blob, q, n);
	p->blob_len = n;
	p->kind = kind;
	if (bufr_u64(&b, &exp) < 0 || exp > INT64_MAX || bufr_left(&b) != 0)
		return -EIO;
	p->expires = (int64_t)exp;
	return 0;
}

/* ---- transactions ---- */

/* A linearizable read of the ranges in ops, all at one revision. */
static int ek_read(struct store_impl *s, const struct etcd_op *ops, size_t n,
		   struct etcd_txn_result *ret)
{
	int r = etcd_txn(s->e, NULL, 0, ops, n, NULL, 0, ret);

	if (r == 0 && ret->nranges != n) {
		etcd_txn_result_release(ret);
		r = -EIO;
	}
	return r;
}

/* The single key of a range (NULL if absent); -EIO for more than one. */
static int ek_one(const struct etcd_txn_result *t, size_t i,
		  const struct etcd_kv **ret)
{
	if (i >= t->nranges || t->range[i].n > 1)
		return -EIO;
	*ret = t->range[i].n ? &t->range[i].kv[0] : NULL;
	return 0;
}

/*
 * Runs a compare-and-swap whose failure branch re-reads reads[]: on
 * success 1 (committed), 0 when the compares failed and *t now holds the
 * fresh ranges (the caller decides again), -errno else. *t is released
 * and replaced in every case but errors.
 */
static int ek_cas(struct store_impl *s, const struct etcd_cmp *cmp, size_t ncmp,
		  const struct etcd_op *then, size_t nthen,
		  const struct etcd_op *reads, size_t nreads,
		  struct etcd_txn_result *t)
{
	struct etcd_txn_result nt;
	int r;

	memset(&nt, 0, sizeof(nt));
	r = etcd_txn(s->e, cmp, ncmp, then, nthen, reads, nreads, &nt);
	if (r < 0)
		return r;
	if (!nt.succeeded && nt.nranges != nreads) {
		etcd_txn_result_release(&nt);
		return -EIO;
	}
	etcd_txn_result_release(t);
	*t = nt;
	return nt.succeeded ? 1 : 0;
}

/* After a commit that destroyed secrets: drop the history before it. */
static void ek_scrub(struct store_impl *s, int64_t revision)
{
	/* best effort: the next scrub compacts past this one anyway */
	(void)!etcd_compact(s->e, revision);
}

/* ---- open ---- */

static int ek_opt(const char *opt, size_t len, const char *name, char *out,
		  size_t cap)
{
	size_t nl = strlen(name);

	if (len <= nl || strncmp(opt, name, nl) != 0 || opt[nl] != '=')
		return 0;
	if (len - nl - 1 == 0 || len - nl - 1 >= cap)
		return -EINVAL;
	memcpy(out, opt + nl + 1, len - nl - 1);
	out[len - nl - 1] = '\0';
	return 1;
}

static int ek_open_spec(const char *arg, struct store_impl *s)
{
	char urls[STORE_SPEC_MAX], prefix[EK_PREFIX_MAX + 1] = "vaultsrv";
	char cacert[1024] = "", cert[1024] = "", key[1024] = "", tmo[16] = "";
	struct etcd_conf c;
	const char *q = strchr(arg, '?');
	size_t ul = q ? (size_t)(q - arg) : strlen(arg);
	long timeout = ETCD_TIMEOUT_MS_DEFAULT;

	if (ul >= sizeof(urls))
		return -EINVAL;
	memcpy(urls, arg, ul);
	urls[ul] = '\0';
	while (q && *q) {
		const char *o = q + 1;
		size_t len = strcspn(o, "&");
		int m = 0;

		m |= ek_opt(o, len, "prefix", prefix, sizeof(prefix));
		m |= ek_opt(o, len, "cacert", cacert, sizeof(cacert));
		m |= ek_opt(o, len, "cert", cert, sizeof(cert));
		m |= ek_opt(o, len, "key", key, sizeof(key));
		m |= ek_opt(o, len, "timeout_ms", tmo, sizeof(tmo));
		if (m != 1)
			return -EINVAL; /* unknown, repeated-bad or empty */
		q = o[len] ? o + len : NULL;
	}
	for (const char *p = prefix; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
			    *p))
			return -EINVAL;
	if (!*prefix)
		return -EINVAL;
	if ((*cacert && cacert[0] != '/') || (*cert && cert[0] != '/') ||
	    (*key && key[0] != '/'))
		return -EINVAL;
	if (*tmo) {
		char *end;

		timeout = strtol(tmo, &end, 10);
		if (*end || timeout < 100 || timeout > 600000)
			return -EINVAL;
	}
	snprintf(s->prefix, sizeof(s->prefix), "%s/", prefix);
	memset(&c, 0, sizeof(c));
	c.endpoints = urls;
	c.cacert = *cacert ? cacert : NULL;
	c.cert = *cert ? cert : NULL;
	c.key = *key ? key : NULL;
	c.timeout_ms = timeout;
	return etcd_new(&c, &s->e, NULL, 0);
}

static void ek_free(struct store_impl *s)
{
	if (!s)
		return;
	etcd_free(s->e);
	free(s);
}

static int ek_open(const char *arg, int create, struct store_impl **ret)
{
	struct store_impl *s;
	struct etcd_txn_result t = {0};
	const struct etcd_kv *kv;
	ek_key k;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = ek_open_spec(arg, s);
	if (r < 0)
		goto out;
	r = ek_fmt(s, k, "m/schema");
	if (r < 0)
		goto out;
	{
		struct etcd_op rd = {.type = ETCD_OP_RANGE, .key = k};

		r = ek_read(s, &rd, 1, &t);
		if (r < 0)
			goto out;
	}
	r = ek_one(&t, 0, &kv);
	if (r < 0)
		goto out;
	if (create) {
		struct etcd_cmp cmp = {.key = k, .result = ETCD_EQUAL};
		struct etcd_op put = {.type = ETCD_OP_PUT,
				      .key = k,
				      .value = (const uint8_t *)EK_SCHEMA,
				      .value_len = strlen(EK_SCHEMA)};

		if (kv) {
			r = -EEXIST;
			goto out;
		}
		r = ek_cas(s, &cmp, 1, &put, 1, NULL, 0, &t);
		if (r == 0)
			r = -EEXIST;
		if (r < 0)
			goto out;
	} else if (!kv) {
		r = -ENOENT;
		goto out;
	} else if (kv->value_len != strlen(EK_SCHEMA) ||
		   memcmp(kv->value, EK_SCHEMA, kv->value_len) != 0) {
		r = -EINVAL; /* another schema: refused, never half-used */
		goto out;
	}
	*ret = s;
	s = NULL; /* transferred */
	r = 0;
out:
	etcd_txn_result_release(&t);
	ek_free(s);
	return r;
}

/* ---- meta ---- */

static int ek_meta_key(struct store_impl *s, const char *key, char *k)
{
	size_t n = strnlen(key, 65);

	if (n == 0 || n > 64)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789_.-", key[i]))
			return -EINVAL;
	return ek_fmt(s, k, "m/%s", key);
}

static int ek_meta_put(struct store_impl *s, const char *key, const void *v,
		       size_t len)
{
	struct etcd_txn_result t = {0};
	ek_key k;
	int r;

	if (len > ETCD_VALUE_MAX)
		return -E2BIG;
	r = ek_meta_key(s, key, k);
	if (r < 0)
		return r;
	{
		struct etcd_cmp cmp = {.key = k, .result = ETCD_EQUAL};
		struct etcd_op put = {.type = ETCD_OP_PUT,
				      .key = k,
				      .value = v,
				      .value_len = len};

		r = ek_cas(s, &cmp, 1, &put, 1, NULL, 0, &t);
	}
	etcd_txn_result_release(&t);
	return r == 1 ? 0 : r == 0 ? -EEXIST : r;
}

static int ek_meta_get(struct store_impl *s, const char *key, void *v,
		       size_t cap, size_t *ret_len)
{
	struct etcd_txn_result t = {0};
	const struct etcd_kv *kv;
	ek_key k;
	int r;

	r = ek_meta_key(s, key, k);
	if (r < 0)
		return r;
	{
		struct etcd_op rd = {.type = ETCD_OP_RANGE, .key = k};

		r = ek_read(s, &rd, 1, &t);
	}
	if (r == 0)
		r = ek_one(&t, 0, &kv);
	if (r == 0 && !kv)
		r = -ENOENT;
	if (r == 0 && kv->value_len > cap)
		r = -E2BIG;
	if (r == 0) {
		memcpy(v, kv->value, kv->value_len);
		*ret_len = kv->value_len;
	}
	etcd_txn_result_release(&t);
	return r;
}

/* ---- records ---- */

/* Keys of one account. */
struct ek_acct {
	ek_key a, c, p, g;
};

static int ek_acct_keys(struct store_impl *s, const char *account,
			struct ek_acct *k)
{
	if (!ek_account_ok(account))
		return -EINVAL;
	if (ek_fmt(s, k->a, "a/%s", account) < 0 ||
	    ek_fmt(s, k->c, "c/%s/", account) < 0 ||
	    ek_fmt(s, k->p, "p/%s/", account) < 0 ||
	    ek_fmt(s, k->g, "g/%s/", account) < 0)
		return -EINVAL;
	return 0;
}

/* The record in range i of t: 0, -ENOENT, -EIO; *ret_mod its revision. */
static int ek_rec_at(const struct etcd_txn_result *t, size_t i,
		     const char *account, struct store_record *rec,
		     int64_t *ret_mod)
{
	const struct etcd_kv *kv;
	int r = ek_one(t, i, &kv);

	if (r < 0)
		return r;
	if (!kv)
		return -ENOENT;
	*ret_mod = kv->mod_revision;
	return ek_rec_decode(account, kv, rec);
}

static int ek_record_get(struct store_impl *s, const char *account,
			 struct store_record *ret)
{
	struct etcd_txn_result t = {0};
	struct store_record *rec;
	struct ek_acct k;
	int64_t mod;
	int r;

	r = ek_acct_keys(s, account, &k);
	if (r < 0)
		return r;
	rec = malloc(sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	{
		struct etcd_op rd = {.type = ETCD_OP_RANGE, .key = k.a};

		r = ek_read(s, &rd, 1, &t);
	}
	if (r == 0)
		r = ek_rec_at(&t, 0, account, rec, &mod);
	if (r == 0)
		memcpy(ret, rec, sizeof(*rec));
	etcd_txn_result_release(&t);
	sodium_memzero(rec, sizeof(*rec));
	free(rec);
	return r;
}

/* 1 if every store of rec is in old with the same k_pub. */
static int ek_same_kpubs(const struct store_record *old,
			 const struct store_record *rec)
{
	for (unsigned i = 0; i < rec->nstores; i++) {
		const struct store_entry *e = NULL;

		for (unsigned j = 0; j < old->nstores; j++)
			if (memcmp(old->stores[j].store_id,
				   rec->stores[i].store_id, STORE_ID_LEN) == 0)
				e = &old->stores[j];
		if (!e ||
		    memcmp(e->k_pub, rec->stores[i].k_pub, STORE_PUB_LEN) != 0)
			return 0;
	}
	return 1;
}

/*
 * Writes rec (counter and state as given) if the record's revision is
 * still mod, dropping every challenge and pending key of the account
 * when drop is set. Returns like ek_cas().
 */
static int ek_rec_cas(struct store_impl *s, const struct ek_acct *k,
		      const struct store_record *rec, int64_t mod, int drop,
		      const struct etcd_op *extra, size_t nextra,
		      const struct etcd_op *reads, size_t nreads,
		      struct etcd_txn_result *t)
{
	struct etcd_cmp cmp = {
	    .key = k->a, .result = ETCD_EQUAL, .mod_revision = mod};
	struct etcd_op ops[ETCD_OPS_MAX];
	struct bufw w;
	size_t n = 0;
	int r;

	if (nextra > ETCD_OPS_MAX - 3)
		return -EINVAL;
	r = ek_rec_encode(rec, &w);
	if (r < 0)
		goto out;
	ops[n++] = (struct etcd_op){.type = ETCD_OP_PUT,
				    .key = k->a,
				    .value = w.data,
				    .value_len = w.len};
	if (drop) {
		ops[n++] = (struct etcd_op){
		    .type = ETCD_OP_DELETE, .key = k->c, .prefix = 1};
		ops[n++] = (struct etcd_op){
		    .type = ETCD_OP_DELETE, .key = k->p, .prefix = 1};
	}
	for (size_t i = 0; i < nextra; i++)
		ops[n++] = extra[i];
	r = ek_cas(s, &cmp, 1, ops, n, reads, nreads, t);
out:
	bufw_release(&w);
	return r;
}

static int ek_record_put(struct store_impl *s, const struct store_record *rec,
			 int mode)
{
	struct etcd_txn_result t = {0};
	struct store_record *old = NULL, *nw = NULL;
	struct ek_acct k;
	struct etcd_op rd;
	int64_t mod = 0;
	int r, existed = 0;

	if (rec->nstores > STORE_STORES_MAX || rec->blob_len == 0 ||
	    rec->blob_len > STORE_BLOB_MAX ||
	    (mode != STORE_PUT_NEW && mode != STORE_PUT_ANY &&
	     mode != STORE_PUT_PASSWD))
		return -EINVAL;
	for (unsigned i = 0; i < rec->nstores; i++)
		if (rec->stores[i].enc_k_len > STORE_ENCK_MAX)
			return -EINVAL;
	r = ek_acct_keys(s, rec->account, &k);
	if (r < 0)
		return r;
	old = malloc(sizeof(*old));
	nw = malloc(sizeof(*nw));
	if (!old || !nw) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(nw, rec, sizeof(*nw));
	nw->state = STORE_LIVE;
	nw->attempts = 0;
	rd = (struct etcd_op){.type = ETCD_OP_RANGE, .key = k.a};
	r = ek_read(s, &rd, 1, &t);
	if (r < 0)
		goto out;
	for (int i = 0; i < EK_CAS_TRIES; i++) {
		r = ek_rec_at(&t, 0, rec->account, old, &mod);
		existed = r == 0;
		if (r == 0 && mode == STORE_PUT_NEW) {
			r = -EEXIST;
			goto out;
		}
		if (r == -ENOENT && mode != STORE_PUT_PASSWD) {
			mod = 0;
			r = 0;
		}
		if (r < 0)
			goto out;
		if (mode == STORE_PUT_PASSWD) {
			if (old->state != STORE_LIVE) {
				r = -VFS_E_LOCKED;
				goto out;
			}
			if (!ek_same_kpubs(old, rec)) {
				r = -EPERM;
				goto out;
			}
		}
		r = ek_rec_cas(s, &k, nw, mod, 1, NULL, 0, &rd, 1, &t);
		if (r != 0)
			break;
		ek_backoff(i);
	}
	if (r == 1) {
		if (existed)
			ek_scrub(s, t.revision);
		r = 0;
	} else if (r == 0) {
		r = -EAGAIN;
	}
out:
	etcd_txn_result_release(&t);
	if (old)
		sodium_memzero(old, sizeof(*old));
	if (nw)
		sodium_memzero(nw, sizeof(*nw));
	free(old);
	free(nw);
	return r;
}

static int ek_record_delete(struct store_impl *s, const char *account)
{
	struct etcd_txn_result t = {0};
	const struct etcd_kv *kv;
	struct ek_acct k;
	struct etcd_op rd;
	int r;

	r = ek_acct_keys(s, account, &k);
	if (r < 0)
		return r;
	rd = (struct etcd_op){.type = ETCD_OP_RANGE, .key = k.a};
	r = ek_read(s, &rd, 1, &t);
	for (int i = 0; r == 0 && i < EK_CAS_TRIES; i++) {
		struct etcd_cmp cmp = {.key = k.a, .result = ETCD_EQUAL};
		struct etcd_op ops[] = {
		    {.type = ETCD_OP_DELETE, .key = k.a},
		    {.type = ETCD_OP_DELETE, .key = k.c, .prefix = 1},
		    {.type = ETCD_OP_DELETE, .key = k.p, .prefix = 1},
		    {.type = ETCD_OP_DELETE, .key = k.g, .prefix = 1},
		};

		r = ek_one(&t, 0, &kv);
		if (r < 0)
			break;
		if (!kv) {
			r = -ENOENT;
			break;
		}
		cmp.mod_revision = kv->mod_revision;
		r = ek_cas(s, &cmp, 1, ops, 4, &rd, 1, &t);
		if (r == 1) {
			ek_scrub(s, t.revision);
			r = 0;
			goto out;
		}
		if (r == 0)
			ek_backoff(i);
	}
	if (r == 0)
		r = -EAGAIN;
out:
	etcd_txn_result_release(&t);
	return r;
}

static int ek_entry_add(struct store_impl *s, const char *account,
			const struct store_entry *e)
{
	struct etcd_txn_result t = {0};
	struct store_record *rec;
	struct ek_acct k;
	struct etcd_op rd;
	int64_t mod = 0;
	int r;

	if (e->enc_k_len > STORE_ENCK_MAX)
		return -EINVAL;
	r = ek_acct_keys(s, account, &k);
	if (r < 0)
		return r;
	rec = malloc(sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	rd = (struct etcd_op){.type = ETCD_OP_RANGE, .key = k.a};
	r = ek_read(s, &rd, 1, &t);
	for (int i = 0; r == 0 && i < EK_CAS_TRIES; i++) {
		r = ek_rec_at(&t, 0, account, rec, &mod);
		if (r < 0)
			break;
		if (rec->state != STORE_LIVE) {
			r = -VFS_E_LOCKED;
			break;
		}
		for (unsigned j = 0; j < rec->nstores; j++)
			if (memcmp(rec->stores[j].store_id, e->store_id,
				   STORE_ID_LEN) == 0)
				r = -EEXIST;
		if (r == 0 && rec->nstores >= STORE_STORES_MAX)
			r = -ENOSPC;
		if (r < 0)
			break;
		rec->stores[rec->nstores++] = *e;
		r = ek_rec_cas(s, &k, rec, mod, 0, NULL, 0, &rd, 1, &t);
		if (r == 1) {
			r = 0;
			goto out;
		}
		if (r == 0)
			ek_backoff(i);
	}
	if (r == 0)
		r = -EAGAIN;
out:
	etcd_txn_result_release(&t);
	sodium_memzero(rec, sizeof(*rec));
	free(rec);
	return r;
}

/* ---- attempts ---- */

/* Open (unexpired) password challenges in range i of t, or -EIO. */
static int ek_open_challenges(const struct etcd_txn_result *t, size_t i,
			      int64_t now)
{
	int open = 0;

	for (size_t j = 0; j < t->range[i].n; j++) {
		struct store_challenge c;

		memset(&c, 0, sizeof(c));
		if (ek_chal_decode(&t->range[i].kv[j], &c) < 0)
			return -EIO;
		if (c.kind == STORE_CHAL_PASSWORD && c.expires >= now)
			open++;
	}
	return open;
}

static void ek_tombstone(struct store_record *rec)
{
	rec->state = STORE_LOCKED;
	sodium_memzero(rec->blob, sizeof(rec->blob));
	rec->blob_len = 0;
	memset(rec->auth_pub, 0, sizeof(rec->auth_pub));
	memset(rec->env_tag, 0, sizeof(rec->env_tag));
	for (unsigned i = 0; i < rec->nstores; i++) {
		sodium_memzero(rec->stores[i].enc_k,
			       sizeof(rec->stores[i].enc_k));
		rec->stores[i].enc_k_len = 0;
	}
}

/* An audit event as a PUT op (w owns the value). */
static int ek_audit_op(struct store_impl *s, const char *account, int64_t now,
		       const char *action, const char *outcome,
		       const char *source, char *key, struct bufw *w,
		       struct etcd_op *ret)
{
	uint8_t rnd[16];
	char hex[33];

	bufw_init(w, 1024, 0);
	if (strlen(action) > STORE_ACTION_MAX || strlen(outcome) > 31 ||
	    strlen(source) > STORE_SOURCE_MAX)
		return -EINVAL;
	randombytes_buf(rnd, sizeof(rnd));
	ek_hex(hex, rnd);
	if (ek_fmt(s, key, "e/%s/%s", account, hex) < 0)
		return -EINVAL;
	bufw_u64(w, (uint64_t)now);
	bufw_str(w, action, strlen(action));
	bufw_str(w, outcome, strlen(outcome));
	bufw_str(w, source, strlen(source));
	*ret = (struct etcd_op){.type = ETCD_OP_PUT,
				.key = key,
				.value = w->data,
				.value_len = w->len};
	return bufw_error(w);
}

/*
 * The budget is spent and nothing is open: the tombstone, if the record
 * is still the one read. Returns like ek_cas().
 */
static int ek_lock(struct store_impl *s, const struct ek_acct *k,
		   struct store_record *rec, int64_t mod, const char *action,
		   int64_t now, const char *source, const struct etcd_op *reads,
		   size_t nreads, struct etcd_txn_result *t)
{
	struct etcd_op ev = {0};
	struct bufw w;
	ek_key key;
	int r = 0;

	ek_tombstone(rec);
	if (action)
		r = ek_audit_op(s, rec->account, now, action, "locked", source,
				key, &w, &ev);
	if (r == 0)
		r = ek_rec_cas(s, k, rec, mod, 1, &ev, action ? 1 : 0, reads,
			       nreads, t);
	if (action)
		bufw_release(&w);
	if (r == 1)
		ek_scrub(s, t->revision);
	return r;
}

static int ek_attempt_begin(struct store_impl *s,
			    const struct store_challenge *chal, uint32_t max,
			    int64_t now, const char *source,
			    struct store_attempt *ret)
{
	struct etcd_txn_result t = {0};
	struct store_record *rec;
	struct store_attempt a;
	struct ek_acct k;
	struct bufw cw, iw, aw;
	struct etcd_op reads[2], extra[3];
	char hex[33];
	ek_key kc, kci, ke;
	int64_t mod = 0;
	int r, open;

	if (chal->kind != STORE_CHAL_PASSWORD || max == 0)
		return -EINVAL;
	r = ek_acct_keys(s, chal->account, &k);
	if (r < 0)
		return r;
	ek_hex(hex, chal->id);
	if (ek_fmt(s, kc, "c/%s/%s", chal->account, hex) < 0 ||
	    ek_fmt(s, kci, "ci/%s", hex) < 0)
		return -EINVAL;
	rec = malloc(sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	memset(&a, 0, sizeof(a));
	/* the challenge, its index and the audit event go with the count */
	r = ek_chal_encode(chal, &cw);
	if (r == 0)
		r = ek_index_encode(chal->account, chal->expires, &iw);
	else
		bufw_init(&iw, 1, 0);
	if (r == 0)
		r = ek_audit_op(s, chal->account, now, chal->action, "attempt",
				source, ke, &aw, &extra[2]);
	else
		bufw_init(&aw, 1, 0);
	if (r < 0)
		goto out;
	extra[0] = (struct etcd_op){.type = ETCD_OP_PUT,
				    .key = kc,
				    .value = cw.data,
				    .value_len = cw.len};
	extra[1] = (struct etcd_op){.type = ETCD_OP_PUT,
				    .key = kci,
				    .value = iw.data,
				    .value_len = iw.len};
	reads[0] = (struct etcd_op){.type = ETCD_OP_RANGE, .key = k.a};
	reads[1] =
	    (struct etcd_op){.type = ETCD_OP_RANGE, .key = k.c, .prefix = 1};
	r = ek_read(s, reads, 2, &t);
	for (int i = 0; r == 0 && i < EK_CAS_TRIES; i++) {
		r = ek_rec_at(&t, 0, chal->account, rec, &mod);
		if (r < 0)
			break;
		if (rec->state != STORE_LIVE) {
			r = -VFS_E_LOCKED;
			break;
		}
		if (rec->attempts >= max) {
			open = ek_open_challenges(&t, 1, now);
			if (open < 0) {
				r = open;
				break;
			}
			a.attempts = rec->attempts;
			if (open > 0) {
				*ret = a;
				r = -VFS_E_LOCKED;
				break;
			}
			/* the last attempt was abandoned: spend it now */
			r = ek_lock(s, &k, rec, mod, chal->action, now, source,
				    reads, 2, &t);
			if (r == 1) {
				a.locked_now = 1;
				*ret = a;
				r = -VFS_E_LOCKED;
				break;
			}
		} else {
			rec->attempts++;
			/* ci/ID must be new: ids are never reused */
			{
				struct etcd_cmp cmp[2] = {
				    {.key = k.a,
				     .result = ETCD_EQUAL,
				     .mod_revision = mod},
				    {.key = kci, .result = ETCD_EQUAL},
				};
				struct etcd_op ops[4];
				struct bufw rw;

				r = ek_rec_encode(rec, &rw);
				if (r == 0) {
					ops[0] = (struct etcd_op){
					    .type = ETCD_OP_PUT,
					    .key = k.a,
					    .value = rw.data,
					    .value_len = rw.len};
					memcpy(&ops[1], extra, sizeof(extra));
					r = ek_cas(s, cmp, 2, ops, 4, reads, 2,
						   &t);
				}
				bufw_release(&rw);
			}
			if (r == 1) {
				a.attempts = rec->attempts;
				memcpy(a.blob, rec->blob, rec->blob_len);
				a.blob_len = rec->blob_len;
				memcpy(a.env_tag, rec->env_tag, STORE_TAG_LEN);
				a.argon_ops = rec->argon_ops;
				a.argon_mem = rec->argon_mem;
				*ret = a;
				r = 0;
				goto out;
			}
		}
		if (r == 0)
			ek_backoff(i);
	}
	if (r == 0)
		r = -EAGAIN;
out:
	etcd_txn_result_release(&t);
	bufw_release(&cw);
	bufw_release(&iw);
	bufw_release(&aw);
	sodium_memzero(&a, sizeof(a));
	sodium_memzero(rec, sizeof(*rec));
	free(rec);
	return r;
}

static int ek_attempt_fail(struct store_impl *s, const char *account,
			   uint32_t max, int64_t now, struct store_attempt *ret)
{
	struct etcd_txn_result t = {0};
	struct store_record *rec;
	struct store_attempt a;
	struct ek_acct k;
	struct etcd_op reads[2];
	int64_t mod = 0;
	int r, open;

	r = ek_acct_keys(s, account, &k);
	if (r < 0)
		return r;
	rec = malloc(sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	memset(&a, 0, sizeof(a));
	reads[0] = (struct etcd_op){.type = ETCD_OP_RANGE, .key = k.a};
	reads[1] =
	    (struct etcd_op){.type = ETCD_OP_RANGE, .key = k.c, .prefix = 1};
	r = ek_read(s, reads, 2, &t);
	for (int i = 0; r == 0 && i < EK_CAS_TRIES; i++) {
		r = ek_rec_at(&t, 0, account, rec, &mod);
		if (r < 0)
			break;
		if (rec->state != STORE_LIVE) {
			r = -VFS_E_LOCKED;
			break;
		}
		a.attempts = rec->attempts;
		if (rec->attempts < max) {
			*ret = a;
			break;
		}
		open = ek_open_challenges(&t, 1, now);
		if (open < 0) {
			r = open;
			break;
		}
		if (open > 0) {
			*ret = a;
			break;
		}
		r = ek_lock(s, &k, rec, mod, NULL, now, NULL, reads, 2, &t);
		if (r == 1) {
			a.locked_now = 1;
			*ret = a;
			r = -VFS_E_LOCKED;
			break;
		}
		if (r == 0) {
			ek_backoff(i);
			if (i == EK_CAS_TRIES - 1)
				r = -EAGAIN;
		}
	}
	etcd_txn_result_release(&t);
	sodium_memzero(rec, sizeof(*rec));
	free(rec);
	return r;
}

static int ek_attempt_succeed(struct store_impl *s, const char *account)
{
	struct etcd_txn_result t = {0};
	struct store_record *rec;
	struct ek_acct k;
	struct etcd_op rd;
	int64_t mod = 0;
	int r;

	r = ek_acct_keys(s, account, &k);
	if (r < 0)
		return r;
	rec = malloc(sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	rd = (struct etcd_op){.type = ETCD_OP_RANGE, .key = k.a};
	r = ek_read(s, &rd, 1, &t);
	for (int i = 0; r == 0 && i < EK_CAS_TRIES; i++) {
		r = ek_rec_at(&t, 0, account, rec, &mod);
		if (r == -ENOENT || (r == 0 && rec->state != STORE_LIVE)) {
			r = -VFS_E_LOCKED;
			break;
		}
		if (r < 0 || rec->attempts == 0)
			break;
		rec->attempts = 0;
		r = ek_rec_cas(s, &k, rec, mod, 0, NULL, 0, &rd, 1, &t);
		if (r == 1) {
			r = 0;
			break;
		}
		if (r == 0) {
			ek_backoff(i);
			if (i == EK_CAS_TRIES - 1)
				r = -EAGAIN;
		}
	}
	etcd_txn_result_release(&t);
	sodium_memzero(rec, sizeof(*rec));
	free(rec);
	return r;
}

/* ---- challenges and pending keys ---- */

static int ek_challenge_put(struct store_impl *s,
			    const struct store_challenge *chal)
{
	struct etcd_txn_result t = {0};
	struct bufw cw, iw;
	char hex[33];
	ek_key kc, kci;
	int r;

	if (!ek_account_ok(chal->account))
		return -EINVAL;
	ek_hex(hex, chal->id);
	if (ek_fmt(s, kc, "c/%s/%s", chal->account, hex) < 0 ||
	    ek_fmt(s, kci, "ci/%s", hex) < 0)
		return -EINVAL;
	r = ek_chal_encode(chal, &cw);
	if (r == 0)
		r = ek_index_encode(chal->account, chal->expires, &iw);
	else
		bufw_init(&iw, 1, 0);
	if (r == 0) {
		struct etcd_cmp cmp = {.key = kci, .result = ETCD_EQUAL};
		struct etcd_op ops[2] = {
		    {.type = ETCD_OP_PUT,
		     .key = kc,
		     .value = cw.data,
		     .value_len = cw.len},
		    {.type = ETCD_OP_PUT,
		     .key = kci,
		     .value = iw.data,
		     .value_len = iw.len},
		};

		r = ek_cas(s, &cmp, 1, ops, 2, NULL, 0, &t);
		r = r == 1 ? 0 : r == 0 ? -EEXIST : r;
	}
	etcd_txn_result_release(&t);
	bufw_release(&cw);
	bufw_release(&iw);
	return r;
}

static int ek_challenge_set_evaluated(struct store_impl *s,
				      const uint8_t id[16],
				      const uint8_t ev[STORE_EVAL_LEN])
{
	struct etcd_txn_result t = {0};
	char hex[33];
	ek_key kci, kv;
	int r;

	ek_hex(hex, id);
	if (ek_fmt(s, kci, "ci/%s", hex) < 0 || ek_fmt(s, kv, "v/%s", hex) < 0)
		return -EINVAL;
	{
		/* only for an open challenge: its index exists */
		struct etcd_cmp cmp = {.key = kci, .result = ETCD_GREATER};
		struct etcd_op put = {.type = ETCD_OP_PUT,
				      .key = kv,
				      .value = ev,
				      .value_len = STORE_EVAL_LEN};

		r = ek_cas(s, &cmp, 1, &put, 1, NULL, 0, &t);
	}
	etcd_txn_result_release(&t);
	return r == 1 ? 0 : r == 0 ? -ENOENT : r;
}

/*
 * Takes the item of kind 'c' (challenge) or 'p' (pending) with id: reads
 * it, its index and (challenges) its evaluation; deletes all three if it
 * is the account's. Results as store_challenge_take(); *t keeps the
 * ranges read (item, index, evaluation) for the caller to decode.
 */
static int ek_take(struct store_impl *s, char kind, const uint8_t id[16],
		   const char *account, struct etcd_txn_result *t,
		   const struct etcd_kv **ret_item)
{
	const struct etcd_kv *item = NULL, *idx = NULL;
	char hex[33], who[STORE_ACCOUNT_MAX + 1];
	ek_key ki, kx, kv;
	int64_t exp;
	int r;

	if (!ek_account_ok(account))
		return -EINVAL;
	ek_hex(hex, id);
	if (ek_fmt(s, ki, "%c/%s/%s", kind, account, hex) < 0 ||
	    ek_fmt(s, kx, "%ci/%s", kind, hex) < 0 ||
	    ek_fmt(s, kv, "v/%s", hex) < 0)
		return -EINVAL;
	{
		struct etcd_op rd[3] = {
		    {.type = ETCD_OP_RANGE, .key = ki},
		    {.type = ETCD_OP_RANGE, .key = kx},
		    {.type = ETCD_OP_RANGE, .key = kv},
		};

		r = ek_read(s, rd, kind == 'c' ? 3 : 2, t);
	}
	if (r == 0)
		r = ek_one(t, 0, &item);
	if (r == 0)
		r = ek_one(t, 1, &idx);
	if (r < 0)
		return r;
	if (!item) {
		if (idx && ek_index_decode(idx, who, &exp) == 0 &&
		    strcmp(who, account) != 0)
			return -EPERM; /* another account's: left alone */
		return -ENOENT;
	}
	{
		struct etcd_cmp cmp = {.key = ki,
				       .result = ETCD_EQUAL,
				       .mod_revision = item->mod_revision};
		struct etcd_op del[3] = {
		    {.type = ETCD_OP_DELETE, .key = ki},
		    {.type = ETCD_OP_DELETE, .key = kx},
		    {.type = ETCD_OP_DELETE, .key = kv},
		};
		struct etcd_txn_result d = {0};

		/* single use: of two concurrent takes one wins */
		r = etcd_txn(s->e, &cmp, 1, del, kind == 'c' ? 3 : 2, NULL, 0,
			     &d);
		if (r == 0 && !d.succeeded)
			r = -ENOENT;
		etcd_txn_result_release(&d);
		if (r < 0)
			return r;
	}
	*ret_item = item;
	return 0;
}

static int ek_challenge_take(struct store_impl *s, const uint8_t id[16],
			     const char *account, int64_t now,
			     struct store_challenge *ret)
{
	struct etcd_txn_result t = {0};
	const struct etcd_kv *item = NULL, *ev = NULL;
	struct store_challenge c;
	int r;

	memset(&c, 0, sizeof(c));
	r = ek_take(s, 'c', id, account, &t, &item);
	if (r < 0)
		goto out;
	r = ek_chal_decode(item, &c);
	if (r < 0)
		goto out;
	memcpy(c.id, id, 16);
	memcpy(c.account, account, strlen(account) + 1);
	if (c.kind == STORE_CHAL_PASSWORD) {
		r = ek_one(&t, 2, &ev);
		if (r < 0)
			goto out;
		/* no evaluation recorded: the HSM never answered */
		if (!ev) {
			r = -ENOENT;
			goto out;
		}
		if (ev->value_len != STORE_EVAL_LEN) {
			r = -EIO;
			goto out;
		}
		memcpy(c.evaluated, ev->value, STORE_EVAL_LEN);
	}
	if (c.expires < now) {
		r = -ETIMEDOUT;
		goto out;
	}
	*ret = c;
	r = 0;
out:
	etcd_txn_result_release(&t);
	return r;
}

static int ek_pending_put(struct store_impl *s, const struct store_pending *p)
{
	struct etcd_txn_result t = {0};
	struct bufw pw, iw;
	char hex[33];
	ek_key kp, kpi;
	int r;

	if (p->blob_len == 0 || p->blob_len > STORE_BLOB_MAX)
		return -EINVAL;
	if (!ek_account_ok(p->account))
		return -EINVAL;
	ek_hex(hex, p->id);
	if (ek_fmt(s, kp, "p/%s/%s", p->account, hex) < 0 ||
	    ek_fmt(s, kpi, "pi/%s", hex) < 0)
		return -EINVAL;
	r = ek_pend_encode(p, &pw);
	if (r == 0)
		r = ek_index_encode(p->account, p->expires, &iw);
	else
		bufw_init(&iw, 1, 0);
	if (r == 0) {
		struct etcd_cmp cmp = {.key = kpi, .result = ETCD_EQUAL};
		struct etcd_op ops[2] = {
		    {.type = ETCD_OP_PUT,
		     .key = kp,
		     .value = pw.data,
		     .value_len = pw.len},
		    {.type = ETCD_OP_PUT,
		     .key = kpi,
		     .value = iw.data,
		     .value_len = iw.len},
		};

		r = ek_cas(s, &cmp, 1, ops, 2, NULL, 0, &t);
		r = r == 1 ? 0 : r == 0 ? -EEXIST : r;
	}
	etcd_txn_result_release(&t);
	bufw_release(&pw);
	bufw_release(&iw);
	return r;
}

static int ek_pending_take(struct store_impl *s, const uint8_t id[16],
			   const char *account, int64_t now,
			   struct store_pending *ret)
{
	struct etcd_txn_result t = {0};
	const struct etcd_kv *item = NULL;
	struct store_pending p;
	int r;

	memset(&p, 0, sizeof(p));
	r = ek_take(s, 'p', id, account, &t, &item);
	if (r == 0)
		r = ek_pend_decode(item, &p);
	if (r == 0 && p.expires < now)
		r = -ETIMEDOUT;
	if (r == 0) {
		memcpy(p.id, id, 16);
		memcpy(p.account, account, strlen(account) + 1);
		*ret = p;
	}
	etcd_txn_result_release(&t);
	sodium_memzero(&p, sizeof(p));
	return r;
}

/* ---- generations, audit, purge ---- */

static int ek_gen_key(struct store_impl *s, const char *account,
		      const uint8_t store_id[STORE_ID_LEN], char *k)
{
	char hex[33];

	if (!ek_account_ok(account))
		return -EINVAL;
	ek_hex(hex, store_id);
	return ek_fmt(s, k, "g/%s/%s", account, hex);
}

static int ek_gen_decode(const struct etcd_kv *kv, uint64_t *gen,
			 uint8_t sig[STORE_SIG_LEN])
{
	if (kv->value_len != 8 + STORE_SIG_LEN)
		return -EIO;
	*gen = get_le64(kv->value);
	memcpy(sig, kv->value + 8, STORE_SIG_LEN);
	return 0;
}

static int ek_generation_put(struct store_impl *s, const char *account,
			     const uint8_t store_id[STORE_ID_LEN], uint64_t gen,
			     const uint8_t sig[STORE_SIG_LEN],
			     uint64_t *ret_max)
{
	struct etcd_txn_result t = {0};
	const struct etcd_kv *kv;
	uint8_t val[8 + STORE_SIG_LEN], osig[STORE_SIG_LEN];
	struct etcd_op rd;
	ek_key k;
	int r;

	if (gen > INT64_MAX)
		return -EINVAL;
	r = ek_gen_key(s, account, store_id, k);
	if (r < 0)
		return r;
	put_le64(val, gen);
	memcpy(val + 8, sig, STORE_SIG_LEN);
	rd = (struct etcd_op){.type = ETCD_OP_RANGE, .key = k};
	r = ek_read(s, &rd, 1, &t);
	for (int i = 0; r == 0 && i < EK_CAS_TRIES; i++) {
		struct etcd_cmp cmp = {.key = k, .result = ETCD_EQUAL};
		struct etcd_op put = {.type = ETCD_OP_PUT,
				      .key = k,
				      .value = val,
				      .value_len = sizeof(val)};
		uint64_t old = 0;

		r = ek_one(&t, 0, &kv);
		if (r < 0)
			break;
		if (kv) {
			r = ek_gen_decode(kv, &old, osig);
			if (r < 0)
				break;
			if (old > gen) {
				*ret_max = old;
				break;
			}
			cmp.mod_revision = kv->mod_revision;
		}
		r = ek_cas(s, &cmp, 1, &put, 1, &rd, 1, &t);
		if (r == 1) {
			*ret_max = gen;
			r = 0;
			break;
		}
		if (r == 0) {
			ek_backoff(i);
			if (i == EK_CAS_TRIES - 1)
				r = -EAGAIN;
		}
	}
	etcd_txn_result_release(&t);
	return r;
}

static int ek_generation_get(struct store_impl *s, const char *account,
			     const uint8_t store_id[STORE_ID_LEN],
			     uint64_t *ret_gen, uint8_t ret_sig[STORE_SIG_LEN])
{
	struct etcd_txn_result t = {0};
	const struct etcd_kv *kv;
	uint8_t sig[STORE_SIG_LEN];
	uint64_t gen = 0;
	ek_key k;
	int r;

	r = ek_gen_key(s, account, store_id, k);
	if (r < 0)
		return r;
	{
		struct etcd_op rd = {.type = ETCD_OP_RANGE, .key = k};

		r = ek_read(s, &rd, 1, &t);
	}
	if (r == 0)
		r = ek_one(&t, 0, &kv);
	if (r == 0 && !kv)
		r = -ENOENT;
	if (r == 0)
		r = ek_gen_decode(kv, &gen, sig);
	if (r == 0) {
		*ret_gen = gen;
		memcpy(ret_sig, sig, STORE_SIG_LEN);
	}
	etcd_txn_result_release(&t);
	return r;
}

static int ek_audit_add(struct store_impl *s, const char *account, int64_t now,
			const char *action, const char *outcome,
			const char *source)
{
	struct etcd_txn_result t = {0};
	struct etcd_op put;
	struct bufw w;
	ek_key k;
	int r;

	if (!ek_account_ok(account))
		return -EINVAL;
	r = ek_audit_op(s, account, now, action, outcome, source, k, &w, &put);
	if (r == 0)
		r = etcd_txn(s->e, NULL, 0, &put, 1, NULL, 0, &t);
	etcd_txn_result_release(&t);
	bufw_release(&w);
	return r;
}

static int ek_event_decode(const struct etcd_kv *kv, struct store_event *e)
{
	struct bufr b;
	const uint8_t *p;
	size_t n;
	uint64_t tm = 0;

	memset(e, 0, sizeof(*e));
	bufr_init(&b, kv->value, kv->value_len);
	if (bufr_u64(&b, &tm) < 0 || tm > INT64_MAX ||
	    bufr_str(&b, &p, &n, STORE_ACTION_MAX) < 0 || memchr(p, 0, n))
		return -EIO;
	memcpy(e->action, p, n);
	if (bufr_str(&b, &p, &n, sizeof(e->outcome) - 1) < 0 || memchr(p, 0, n))
		return -EIO;
	memcpy(e->outcome, p, n);
	if (bufr_str(&b, &p, &n, STORE_SOURCE_MAX) < 0 || memchr(p, 0, n) ||
	    bufr_left(&b) != 0)
		return -EIO;
	memcpy(e->source, p, n);
	e->time = (int64_t)tm;
	return 0;
}

static int ek_audit_list(struct store_impl *s, const char *account,
			 struct store_event *ev, unsigned max)
{
	struct etcd_txn_result t = {0};
	const struct etcd_range *g;
	ek_key k;
	int r;

	if (!ek_account_ok(account) || ek_fmt(s, k, "e/%s/", account) < 0)
		return -EINVAL;
	if (max == 0)
		return 0;
	{
		struct etcd_op rd = {.type = ETCD_OP_RANGE,
				     .key = k,
				     .prefix = 1,
				     .limit = max,
				     .newest_first = 1};

		r = ek_read(s, &rd, 1, &t);
	}
	if (r < 0)
		return r;
	g = &t.range[0];
	if (g->n > max) {
		r = -EIO;
		goto out;
	}
	/* newest first from etcd; oldest first to the caller */
	for (size_t i = 0; i < g->n; i++) {
		r = ek_event_decode(&g->kv[g->n - 1 - i], &ev[i]);
		if (r < 0)
			goto out;
	}
	r = (int)g->n;
out:
	etcd_txn_result_release(&t);
	return r;
}

/* Deletes the expired items of kind 'c' or 'p' (one page per call). */
static int ek_purge_kind(struct store_impl *s, char kind, int64_t now)
{
	struct etcd_txn_result t = {0};
	struct etcd_op del[ETCD_OPS_MAX];
	ek_key keys[ETCD_OPS_MAX], kx;
	size_t n = 0, per = kind == 'c' ? 3 : 2;
	int r;

	if (ek_fmt(s, kx, "%ci/", kind) < 0)
		return -EINVAL;
	{
		struct etcd_op rd = {.type = ETCD_OP_RANGE,
				     .key = kx,
				     .prefix = 1,
				     .limit = EK_PURGE_PAGE};

		r = ek_read(s, &rd, 1, &t);
	}
	for (size_t i = 0; r == 0 && i <= t.range[0].n; i++) {
		const struct etcd_kv *kv =
		    i < t.range[0].n ? &t.range[0].kv[i] : NULL;
		char who[STORE_ACCOUNT_MAX + 1];
		const char *hex;
		int64_t exp;

		if (kv) {
			hex = kv->key + strlen(kx);
			/* a malformed index entry is dropped as expired */
			if (ek_index_decode(kv, who, &exp) < 0)
				exp = INT64_MIN;
			if (exp >= now)
				continue;
			if (strlen(hex) != 32 ||
			    strspn(hex, "0123456789abcdef") != 32)
				hex = NULL;
			del[n] = (struct etcd_op){.type = ETCD_OP_DELETE,
						  .key = kv->key};
			n++;
			if (hex && exp != INT64_MIN) {
				if (ek_fmt(s, keys[n], "%c/%s/%s", kind, who,
					   hex) < 0)
					continue;
				del[n] = (struct etcd_op){
				    .type = ETCD_OP_DELETE, .key = keys[n]};
				n++;
			}
			if (hex && kind == 'c') {
				if (ek_fmt(s, keys[n], "v/%s", hex) < 0)
					continue;
				del[n] = (struct etcd_op){
				    .type = ETCD_OP_DELETE, .key = keys[n]};
				n++;
			}
		}
		if (n > 0 && (!kv || n + per > ETCD_OPS_MAX)) {
			struct etcd_txn_result d = {0};

			r = etcd_txn(s->e, NULL, 0, del, n, NULL, 0, &d);
			etcd_txn_result_release(&d);
			n = 0;
		}
	}
	etcd_txn_result_release(&t);
	return r;
}

static int ek_purge(struct store_impl *s, int64_t now)
{
	int r = ek_purge_kind(s, 'c', now);

	if (r == 0)
		r = ek_purge_kind(s, 'p', now);
	return r;
}

/* ---- master key epochs (epoch.c) ---- */

static int ek_meta_cas(struct store_impl *s, const char *key, const void *old,
		       size_t oldlen, const void *v, size_t len)
{
	struct etcd_txn_result t = {0};
	const struct etcd_kv *kv;
	struct etcd_op rd;
	ek_key k;
	int r;

	if (len > ETCD_VALUE_MAX)
		return -E2BIG;
	r = ek_meta_key(s, key, k);
	if (r < 0)
		return r;
	rd = (struct etcd_op){.type = ETCD_OP_RANGE, .key = k};
	r = ek_read(s, &rd, 1, &t);
	for (int i = 0; r == 0 && i < EK_CAS_TRIES; i++) {
		struct etcd_cmp cmp = {.key = k, .result = ETCD_EQUAL};
		struct etcd_op put = {.type = ETCD_OP_PUT,
				      .key = k,
				      .value = v,
				      .value_len = len};

		r = ek_one(&t, 0, &kv);
		if (r < 0)
			break;
		if (kv ? !old || kv->value_len != oldlen ||
			     memcmp(kv->value, old, oldlen) != 0
		       : old != NULL) {
			r = -ESTALE;
			break;
		}
		cmp.mod_revision = kv ? kv->mod_revision : 0;
		r = ek_cas(s, &cmp, 1, &put, 1, &rd, 1, &t);
		if (r == 1) {
			r = 0;
			goto out;
		}
		if (r == 0)
			ek_backoff(i);
	}
	if (r == 0)
		r = -EAGAIN;
out:
	etcd_txn_result_release(&t);
	return r;
}

static int ek_record_next(struct store_impl *s, const char *after,
			  char ret[STORE_ACCOUNT_MAX + 1])
{
	struct etcd_txn_result t = {0};
	ek_key from, pre;
	size_t plen;
	int r;

	if (after[0] && !ek_account_ok(after))
		return -EINVAL;
	if (ek_fmt(s, pre, "a/") < 0 || ek_fmt(s, from, "a/%s", after) < 0)
		return -EINVAL;
	plen = strlen(pre);
	{
		struct etcd_op rd = {.type = ETCD_OP_RANGE,
				     .key = from,
				     .end_prefix = pre,
				     .limit = 2};

		r = ek_read(s, &rd, 1, &t);
	}
	if (r < 0)
		return r;
	r = -ENOENT;
	for (size_t i = 0; i < t.range[0].n; i++) {
		const char *key = t.range[0].kv[i].key;

		if (strcmp(key, from) == 0)
			continue;
		if (strncmp(key, pre, plen) != 0 || !ek_account_ok(key + plen)) {
			r = -EIO;
			break;
		}
		memcpy(ret, key + plen, strlen(key + plen) + 1);
		r = 0;
		break;
	}
	etcd_txn_result_release(&t);
	return r;
}

static int ek_record_rewrap(struct store_impl *s, const char *account,
			    const uint8_t *old, size_t oldlen,
			    const uint8_t *blob, size_t len)
{
	struct etcd_txn_result t = {0};
	struct store_record *rec;
	struct ek_acct k;
	struct etcd_op rd;
	int64_t mod = 0;
	int r;

	r = ek_acct_keys(s, account, &k);
	if (r < 0)
		return r;
	rec = malloc(sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	rd = (struct etcd_op){.type = ETCD_OP_RANGE, .key = k.a};
	r = ek_read(s, &rd, 1, &t);
	for (int i = 0; r == 0 && i < EK_CAS_TRIES; i++) {
		r = ek_rec_at(&t, 0, account, rec, &mod);
		if (r < 0)
			break;
		if (rec->state != STORE_LIVE) {
			r = -VFS_E_LOCKED;
			break;
		}
		if (rec->blob_len != oldlen ||
		    sodium_memcmp(rec->blob, old, oldlen) != 0) {
			r = -ESTALE;
			break;
		}
		memcpy(rec->blob, blob, len);
		rec->blob_len = len;
		/* the counter as read: a guess in between fails the CAS */
		r = ek_rec_cas(s, &k, rec, mod, 0, NULL, 0, &rd, 1, &t);
		if (r == 1) {
			r = 0;
			goto out;
		}
		if (r == 0)
			ek_backoff(i);
	}
	if (r == 0)
		r = -EAGAIN;
out:
	etcd_txn_result_release(&t);
	sodium_memzero(rec, sizeof(*rec));
	free(rec);
	return r;
}

const struct store_ops store_etcd_ops = {
    .name = "etcd",
    .open = ek_open,
    .free = ek_free,
    .meta_put = ek_meta_put,
    .meta_get = ek_meta_get,
    .record_get = ek_record_get,
    .record_put = ek_record_put,
    .record_delete = ek_record_delete,
    .entry_add = ek_entry_add,
    .attempt_begin = ek_attempt_begin,
    .challenge_set_evaluated = ek_challenge_set_evaluated,
    .attempt_fail = ek_attempt_fail,
    .attempt_succeed = ek_attempt_succeed,
    .challenge_put = ek_challenge_put,
    .challenge_take = ek_challenge_take,
    .pending_put = ek_pending_put,
    .pending_take = ek_pending_take,
    .generation_put = ek_generation_put,
    .generation_get = ek_generation_get,
    .audit_add = ek_audit_add,
    .audit_list = ek_audit_list,
    .purge = ek_purge,
    .meta_cas = ek_meta_cas,
    .record_next = ek_record_next,
    .record_rewrap = ek_record_rewrap,
};

/*
 * test_vs_store.c - the store interface on SQLite, above all the lockout
 * state machine: spending the budget, reset on success, abandoned last
 * attempts, failures while others are in flight, and concurrency (threads
 * on one handle and on separate connections never count past max); a
 * record write drops every pending registration and checks the state in
 * its own transaction; secrets leave the files (WAL included).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "vaultsrv/store.h"
#include "vfs_error.h"

struct fx {
	char dir[64];
	char path[96];
	struct store *s;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/vs-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/vault.db", f->dir);
	assert_int_equal(store_open(f->path, 1, &f->s), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char p[128];

	store_free(f->s);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void make_record(struct store_record *r, const char *account,
			unsigned nstores)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->account, sizeof(r->account), "%s", account);
	r->blob_len = 80;
	memset(r->blob, 0xb1, r->blob_len);
	memset(r->auth_pub, 0xa1, sizeof(r->auth_pub));
	memset(r->env_tag, 0x7a, sizeof(r->env_tag));
	r->argon_ops = 3;
	r->argon_mem = 64 << 20;
	r->nstores = nstores;
	for (unsigned i = 0; i < nstores; i++) {
		memset(r->stores[i].store_id, (int)i + 1, 16);
		r->stores[i].enc_k_len = 72;
		memset(r->stores[i].enc_k, 0xe0 + (int)i, 72);
		memset(r->stores[i].k_pub, 0x70 + (int)i, 32);
	}
}

static void make_chal(struct store_challenge *c, const char *account,
		      int64_t expires)
{
	memset(c, 0, sizeof(*c));
	randombytes_buf(c->id, sizeof(c->id));
	snprintf(c->account, sizeof(c->account), "%s", account);
	snprintf(c->action, sizeof(c->action), "recover");
	c->kind = STORE_CHAL_PASSWORD;
	c->has_store = 1;
	memset(c->store_id, 1, 16);
	randombytes_buf(c->challenge, sizeof(c->challenge));
	memset(c->blinded, 4, sizeof(c->blinded));
	c->expires = expires;
}

/* begin + evaluated; returns begin's result. */
static int attempt(struct store *s, const char *account, uint32_t max,
		   int64_t now, struct store_challenge *c,
		   struct store_attempt *a)
{
	uint8_t ev[32];
	int r;

	make_chal(c, account, now + 120);
	r = store_attempt_begin(s, c, max, now, "127.0.0.1", a);
	if (r == 0) {
		memset(ev, 0xee, sizeof(ev));
		assert_int_equal(store_challenge_set_evaluated(s, c->id, ev),
				 0);
	}
	return r;
}

static void test_open_rules(void **state)
{
	struct fx *f = *state;
	struct store *s2;
	char p[128];

	assert_int_equal(store_open(f->path, 1, &s2), -EEXIST);
	snprintf(p, sizeof(p), "%s/missing.db", f->dir);
	assert_int_equal(store_open(p, 0, &s2), -ENOENT);
	assert_int_equal(store_open(f->path, 0, &s2), 0);
	store_free(s2);
}

static void test_record_roundtrip(void **state)
{
	struct fx *f = *state;
	struct store_record r, got;
	struct store_entry e;

	make_record(&r, "alice", 2);
	assert_int_equal(store_record_put(f->s, &r, 0), 0);
	assert_int_equal(store_record_put(f->s, &r, 0), -EEXIST);
	assert_int_equal(store_record_get(f->s, "alice", &got), 0);
	assert_int_equal(got.state, STORE_LIVE);
	assert_int_equal(got.attempts, 0);
	assert_int_equal(got.blob_len, 80);
	assert_memory_equal(got.blob, r.blob, 80);
	assert_int_equal(got.nstores, 2);
	assert_memory_equal(got.stores[1].enc_k, r.stores[1].enc_k, 72);
	assert_int_equal(got.argon_mem, 64 << 20);
	assert_int_equal(store_record_get(f->s, "bob", &got), -ENOENT);

	memset(&e, 0, sizeof(e));
	memset(e.store_id, 1, 16); /* exists */
	e.enc_k_len = 72;
	assert_int_equal(store_entry_add(f->s, "alice", &e), -EEXIST);
	for (int i = 2; i < STORE_STORES_MAX; i++) {
		memset(e.store_id, 0x40 + i, 16);
		assert_int_equal(store_entry_add(f->s, "alice", &e), 0);
	}
	memset(e.store_id, 0x3f, 16);
	assert_int_equal(store_entry_add(f->s, "alice", &e), -ENOSPC);
	assert_int_equal(store_entry_add(f->s, "bob", &e), -ENOENT);

	assert_int_equal(store_record_delete(f->s, "alice"), 0);
	assert_int_equal(store_record_get(f->s, "alice", &got), -ENOENT);
	assert_int_equal(store_record_delete(f->s, "alice"), -ENOENT);
}

static void test_budget_spent_by_failure(void **state)
{
	struct fx *f = *state;
	struct store_record r, got;
	struct store_challenge c, t;
	struct store_attempt a;

	make_record(&r, "alice", 1);
	assert_int_equal(store_record_put(f->s, &r, 0), 0);
	for (uint32_t n = 1; n <= 3; n++) {
		assert_int_equal(attempt(f->s, "alice", 3, 1000, &c, &a), 0);
		assert_int_equal(a.attempts, n);
		assert_int_equal(
		    store_challenge_take(f->s, c.id, "alice", 1000, &t), 0);
		memset(&a, 0, sizeof(a));
		if (n < 3) {
			assert_int_equal(
			    store_attempt_fail(f->s, "alice", 3, 1000, &a), 0);
			assert_int_equal(a.attempts, n);
			assert_int_equal(a.locked_now, 0);
		} else {
			assert_int_equal(
			    store_attempt_fail(f->s, "alice", 3, 1000, &a),
			    -VFS_E_LOCKED);
			assert_int_equal(a.locked_now, 1);
		}
	}
	/* The tombstone: nothing secret-bearing, k_pub kept. */
	assert_int_equal(store_record_get(f->s, "alice", &got), 0);
	assert_int_equal(got.state, STORE_LOCKED);
	assert_int_equal(got.blob_len, 0);
	assert_int_equal(got.nstores, 1);
	assert_int_equal(got.stores[0].enc_k_len, 0);
	assert_memory_equal(got.stores[0].k_pub, r.stores[0].k_pub, 32);
	/* Locked stays locked; success cannot reset it. */
	memset(&a, 0, sizeof(a));
	assert_int_equal(attempt(f->s, "alice", 3, 1001, &c, &a),
			 -VFS_E_LOCKED);
	assert_int_equal(a.locked_now, 0);
	assert_int_equal(store_attempt_succeed(f->s, "alice"), -VFS_E_LOCKED);
	/* Registration over it needs replace (rearm), which re-arms. */
	assert_int_equal(store_record_put(f->s, &r, 0), -EEXIST);
	assert_int_equal(store_record_put(f->s, &r, 1), 0);
	assert_int_equal(store_record_get(f->s, "alice", &got), 0);
	assert_int_equal(got.state, STORE_LIVE);
	assert_int_equal(got.attempts, 0);
}

static void test_success_resets(void **state)
{
	struct fx *f = *state;
	struct store_record r, got;
	struct store_challenge c;
	struct store_attempt a;

	make_record(&r, "alice", 1);
	assert_int_equal(store_record_put(f->s, &r, 0), 0);
	assert_int_equal(attempt(f->s, "alice", 10, 1000, &c, &a), 0);
	assert_int_equal(attempt(f->s, "alice", 10, 1000, &c, &a), 0);
	assert_int_equal(a.attempts, 2);
	assert_int_equal(store_attempt_succeed(f->s, "alice"), 0);
	assert_int_equal(store_record_get(f->s, "alice", &got), 0);
	assert_int_equal(got.attempts, 0);
	assert_int_equal(attempt(f->s, "alice", 10, 1000, &c, &a), 0);
	assert_int_equal(a.attempts, 1);
}

static void test_abandoned_last_attempt(void **state)
{
	struct fx *f = *state;
	struct store_record r, got;
	struct store_challenge c;
	struct store_attempt a;

	make_record(&r, "alice", 1);
	assert_int_equal(store_record_put(f->s, &r, 0), 0);
	assert_int_equal(attempt(f->s, "alice", 2, 1000, &c, &a), 0);
	assert_int_equal(attempt(f->s, "alice", 2, 1000, &c, &a), 0);
	assert_int_equal(a.attempts, 2);
	/* Budget spent, last attempts still open: locked, not destroyed. */
	memset(&a, 0, sizeof(a));
	assert_int_equal(attempt(f->s, "alice", 2, 1050, &c, &a),
			 -VFS_E_LOCKED);
	assert_int_equal(a.locked_now, 0);
	assert_int_equal(store_record_get(f->s, "alice", &got), 0);
	assert_int_equal(got.state, STORE_LIVE);
	assert_int_equal(got.attempts, 2);
	/* After they expire unanswered, the next request destroys. */
	assert_int_equal(attempt(f->s, "alice", 2, 1200, &c, &a),
			 -VFS_E_LOCKED);
	assert_int_equal(a.locked_now, 1);
	assert_int_equal(store_record_get(f->s, "alice", &got), 0);
	assert_int_equal(got.state, STORE_LOCKED);
	assert_int_equal(got.blob_len, 0);
	/* The audit trail has every attempt and the lock. */
	{
		struct store_event ev[8];
		int n = store_audit_list(f->s, "alice", ev, 8);

		assert_int_equal(n, 3);
		assert_string_equal(ev[0].outcome, "attempt");
		assert_string_equal(ev[1].outcome, "attempt");
		assert_string_equal(ev[2].outcome, "locked");
		assert_int_equal(ev[2].time, 1200);
		assert_string_equal(ev[2].source, "127.0.0.1");
	}
}

static void test_failure_with_others_in_flight(void **state)
{
	struct fx *f = *state;
	struct store_record r, got;
	struct store_challenge c1, c2, t;
	struct store_attempt a;

	make_record(&r, "alice", 1);
	assert_int_equal(store_record_put(f->s, &r, 0), 0);
	assert_int_equal(attempt(f->s, "alice", 2, 1000, &c1, &a), 0);
	assert_int_equal(attempt(f->s, "alice", 2, 1000, &c2, &a), 0);
	assert_int_equal(store_challenge_take(f->s, c1.id, "alice", 1000, &t),
			 0);
	/* The other attempt may still be the right password. */
	assert_int_equal(store_attempt_fail(f->s, "alice", 2, 1000, &a), 0);
	assert_int_equal(a.attempts, 2);
	assert_int_equal(store_record_get(f->s, "alice", &got), 0);
	assert_int_equal(got.state, STORE_LIVE);
	assert_int_equal(store_challenge_take(f->s, c2.id, "alice", 1000, &t),
			 0);
	assert_int_equal(store_attempt_fail(f->s, "alice", 2, 1000, &a),
			 -VFS_E_LOCKED);
	assert_int_equal(a.locked_now, 1);
}

static void test_challenge_single_use(void **state)
{
	struct fx *f = *state;
	struct store_record r;
	struct store_challenge c, t, k;
	struct store_attempt a;

	make_record(&r, "alice", 1);
	assert_int_equal(store_record_put(f->s, &r, 0), 0);
	/* No record, no attempt. */
	make_chal(&c, "nobody", 1120);
	assert_int_equal(store_attempt_begin(f->s, &c, 10, 1000, "x", &a),
			 -ENOENT);
	/* A challenge whose evaluation never landed is not usable. */
	make_chal(&c, "alice", 1120);
	assert_int_equal(store_attempt_begin(f->s, &c, 10, 1000, "x", &a), 0);
	assert_int_equal(store_challenge_take(f->s, c.id, "alice", 1000, &t),
			 -ENOENT);

	assert_int_equal(attempt(f->s, "alice", 10, 1000, &c, &a), 0);
	/* Another account cannot take it, and it stays. */
	assert_int_equal(store_challenge_take(f->s, c.id, "mallory", 1000, &t),
			 -EPERM);
	assert_int_equal(store_challenge_take(f->s, c.id, "alice", 1000, &t),
			 0);
	assert_memory_equal(t.challenge, c.challenge, 32);
	assert_memory_equal(t.blinded, c.blinded, 65);
	assert_int_equal(t.evaluated[0], 0xee);
	assert_string_equal(t.action, "recover");
	assert_int_equal(t.has_store, 1);
	assert_int_equal(store_challenge_take(f->s, c.id, "alice", 1000, &t),
			 -ENOENT);
	/* Expired: refused and gone. */
	assert_int_equal(attempt(f->s, "alice", 10, 1000, &c, &a), 0);
	assert_int_equal(store_challenge_take(f->s, c.id, "alice", 1121, &t),
			 -ETIMEDOUT);
	assert_int_equal(store_challenge_take(f->s, c.id, "alice", 1000, &t),
			 -ENOENT);
	/* K challenges count nothing. */
	make_chal(&k, "alice", 1120);
	k.kind = STORE_CHAL_KEY;
	snprintf(k.action, sizeof(k.action), "rearm");
	assert_int_equal(store_challenge_put(f->s, &k), 0);
	assert_int_equal(store_challenge_take(f->s, k.id, "alice", 1000, &t),
			 0);
	assert_int_equal(t.kind, STORE_CHAL_KEY);
	assert_int_equal(store_record_get(f->s, "alice", &r), 0);
	assert_int_equal(r.attempts, 3);
	/* Purge drops expired ones. */
	assert_int_equal(attempt(f->s, "alice", 10, 1000, &c, &a), 0);
	assert_int_equal(store_purge(f->s, 5000), 0);
	assert_int_equal(store_challenge_take(f->s, c.id, "alice", 1000, &t),
			 -ENOENT);
}

static void test_pending(void **state)
{
	struct fx *f = *state;
	struct store_pending p, got;

	memset(&p, 0, sizeof(p));
	randombytes_buf(p.id, 16);
	snprintf(p.account, sizeof(p.account), "alice");
	p.kind = STORE_PENDING_PASSWD;
	p.blob_len = 80;
	memset(p.blob, 0x55, 80);
	p.expires = 1300;
	assert_int_equal(store_pending_put(f->s, &p), 0);
	assert_int_equal(store_pending_take(f->s, p.id, "bob", 1000, &got),
			 -EPERM);
	assert_int_equal(store_pending_take(f->s, p.id, "alice", 1000, &got),
			 0);
	assert_int_equal(got.kind, STORE_PENDING_PASSWD);
	assert_int_equal(got.blob_len, 80);
	assert_memory_equal(got.blob, p.blob, 80);
	assert_int_equal(store_pending_take(f->s, p.id, "alice", 1000, &got),
			 -ENOENT);
	assert_int_equal(store_pending_put(f->s, &p), 0);
	assert_int_equal(store_pending_take(f->s, p.id, "alice", 1301, &got),
			 -ETIMEDOUT);
}

static void test_generation_and_audit(void **state)
{
	struct fx *f = *state;
	uint8_t sid[16], sig[64], got[64];
	uint64_t max = 0, g = 0;
	struct store_event *ev;

	memset(sid, 9, 16);
	assert_int_equal(store_generation_get(f->s, "alice", sid, &g, got),
			 -ENOENT);
	memset(sig, 1, 64);
	assert_int_equal(store_generation_put(f->s, "alice", sid, 7, sig, &max),
			 0);
	assert_int_equal(max, 7);
	memset(sig, 2, 64);
	assert_int_equal(store_generation_put(f->s, "alice", sid, 5, sig, &max),
			 0);
	assert_int_equal(max, 7);
	assert_int_equal(store_generation_get(f->s, "alice", sid, &g, got), 0);
	assert_int_equal(g, 7);
	assert_int_equal(got[0], 1); /* the signature of 7 is kept */

	for (int i = 0; i < 1005; i++)
		assert_int_equal(store_audit_add(f->s, "alice", i, "recover",
						 "ok", "10.0.0.1"),
				 0);
	assert_int_equal(store_audit_add(f->s, "bob", 1, "recover", "ok", ""),
			 0);
	ev = calloc(STORE_AUDIT_MAX, sizeof(*ev));
	assert_non_null(ev);
	assert_int_equal(store_audit_list(f->s, "alice", ev, STORE_AUDIT_MAX),
			 1000);
	assert_int_equal(ev[0].time, 5); /* newest 1000, oldest first */
	assert_int_equal(ev[999].time, 1004);
	free(ev);
}

struct storm {
	const char *path;
	struct store *shared;
	int counted;
};

static void *storm_thread(void *arg)
{
	struct storm *st = arg;
	struct store *s = st->shared;
	struct store_challenge c;
	struct store_attempt a;

	if (!s && store_open(st->path, 0, &s) != 0)
		return NULL;
	for (int i = 0; i < 5; i++) {
		make_chal(&c, "victim", 2000);
		if (store_attempt_begin(s, &c, 10, 1000, "t", &a) == 0)
			st->counted++;
	}
	if (!st->shared)
		store_free(s);
	return NULL;
}

static void run_storm(struct fx *f, int separate)
{
	enum { N = 16 };
	pthread_t th[N];
	struct storm st[N];
	struct store_record r;
	int total = 0;

	make_record(&r, "victim", 1);
	assert_int_equal(store_record_put(f->s, &r, 0), 0);
	for (int i = 0; i < N; i++) {
		st[i].path = f->path;
		st[i].shared = separate ? NULL : f->s;
		st[i].counted = 0;
		assert_int_equal(
		    pthread_create(&th[i], NULL, storm_thread, &st[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		total += st[i].counted;
	}
	assert_int_equal(total, 10);
	assert_int_equal(store_record_get(f->s, "victim", &r), 0);
	assert_int_equal(r.attempts, 10);
}

static void test_concurrent_one_handle(void **state)
{
	run_storm(*state, 0);
}

static void test_concurrent_connections(void **state)
{
	run_storm(*state, 1);
}

/* 1 if the file at path contains the bytes m. */
static int file_has(const char *path, const void *m, size_t n)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf;
	size_t len = 0, cap = 1 << 16;
	int found = 0;

	if (!fp)
		return 0; /* no WAL file: nothing in it */
	buf = malloc(cap);
	assert_non_null(buf);
	for (;;) {
		size_t k;

		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		k = fread(buf + len, 1, cap - len, fp);
		if (k == 0)
			break;
		len += k;
	}
	fclose(fp);
	for (size_t i = 0; !found && i + n <= len; i++)
		found = memcmp(buf + i, m, n) == 0;
	free(buf);
	return found;
}

static int store_files_have(const struct fx *f, const void *m, size_t n)
{
	char wal[128];

	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	return file_has(f->path, m, n) || file_has(wal, m, n);
}

static void marker_record(struct store_record *r, const char *account,
			  const char *mark)
{
	make_record(r, account, 1);
	for (size_t i = 0; i < 72; i++)
		r->stores[0].enc_k[i] = (uint8_t)mark[i % strlen(mark)];
	for (size_t i = 0; i < r->blob_len; i++)
		r->blob[i] = (uint8_t)mark[(i + 3) % strlen(mark)];
}

/* A tombstone, a replace and a delete leave no enc_k or wrapped key in
 * vault.db or vault.db-wal. */
static void test_secrets_leave_the_files(void **state)
{
	struct fx *f = *state;
	struct store_record r;
	struct store_challenge c;
	struct store_attempt a;
	static const char m1[] = "MARKERENCK-one-", m2[] = "MARKERENCK-two-",
			  m3[] = "MARKERENCK-three-";
	uint8_t probe[40];

	/* lockout by failures */
	marker_record(&r, "carol", m1);
	assert_int_equal(store_record_put(f->s, &r, STORE_PUT_NEW), 0);
	memcpy(probe, r.stores[0].enc_k, sizeof(probe));
	/* the probe is sound: the secret is on disk before */
	assert_true(store_files_have(f, probe, sizeof(probe)));
	assert_int_equal(attempt(f->s, "carol", 1, 1000, &c, &a), 0);
	assert_int_equal(store_challenge_take(f->s, c.id, "carol", 1000, &c),
			 0);
	assert_int_equal(store_attempt_fail(f->s, "carol", 1, 1000, &a),
			 -VFS_E_LOCKED);
	assert_int_equal(a.locked_now, 1);
	assert_false(store_files_have(f, probe, sizeof(probe)));
	memcpy(probe, r.blob, sizeof(probe));
	assert_false(store_files_have(f, probe, sizeof(probe)));

	/* a rearm's replace of a live record */
	marker_record(&r, "dave", m2);
	assert_int_equal(store_record_put(f->s, &r, STORE_PUT_NEW), 0);
	memcpy(probe, r.stores[0].enc_k, sizeof(probe));
	assert_true(store_files_have(f, probe, sizeof(probe)));
	make_record(&r, "dave", 1);
	assert_int_equal(store_record_put(f->s, &r, STORE_PUT_ANY), 0);
	assert_false(store_files_have(f, probe, sizeof(probe)));

	/* an abandoned last attempt, found by the next begin */
	marker_record(&r, "erin", m3);
	assert_int_equal(store_record_put(f->s, &r, STORE_PUT_NEW), 0);
	memcpy(probe, r.stores[0].enc_k, sizeof(probe));
	assert_int_equal(attempt(f->s, "erin", 1, 1000, &c, &a), 0);
	assert_int_equal(attempt(f->s, "erin", 1, 2000, &c, &a),
			 -VFS_E_LOCKED);
	assert_int_equal(a.locked_now, 1);
	assert_false(store_files_have(f, probe, sizeof(probe)));

	/* delete */
	marker_record(&r, "fred", m1);
	assert_int_equal(store_record_put(f->s, &r, STORE_PUT_NEW), 0);
	memcpy(probe, r.stores[0].enc_k, sizeof(probe));
	assert_true(store_files_have(f, probe, sizeof(probe)));
	assert_int_equal(store_record_delete(f->s, "fred"), 0);
	assert_false(store_files_have(f, probe, sizeof(probe)));
}

/* An unfinished passwd (or rearm) does not outlive a later record
 * write: every pending registration of the account is dropped. */
static void test_put_drops_pending(void **state)
{
	struct fx *f = *state;
	struct store_record r;
	struct store_pending p, q, got;

	make_record(&r, "alice", 1);
	assert_int_equal(store_record_put(f->s, &r, STORE_PUT_NEW), 0);
	memset(&p, 0, sizeof(p));
	randombytes_buf(p.id, 16);
	snprintf(p.account, sizeof(p.account), "alice");
	p.kind = STORE_PENDING_PASSWD;
	p.blob_len = 80;
	memset(p.blob, 0x55, 80);
	p.expires = 2000;
	assert_int_equal(store_pending_put(f->s, &p), 0);
	q = p;
	randombytes_buf(q.id, 16);
	snprintf(q.account, sizeof(q.account), "bob");
	assert_int_equal(store_pending_put(f->s, &q), 0);
	/* the owner re-arms (or changes the password) */
	make_record(&r, "alice", 1);
	r.blob[0] = 0x01;
	assert_int_equal(store_record_put(f->s, &r, STORE_PUT_ANY), 0);
	assert_int_equal(store_pending_take(f->s, p.id, "alice", 1000, &got),
			 -ENOENT);
	/* another account's pending key is not touched */
	assert_int_equal(store_pending_take(f->s, q.id, "bob", 1000, &got), 0);
}

/* passwd's checks are made in the write's transaction. */
static void test_put_passwd_rules(void **state)
{
	struct fx *f = *state;
	struct store_record r, got;
	struct store_challenge c;
	struct store_attempt a;

	make_record(&r, "alice", 2);
	assert_int_equal(store_record_put(f->s, &r, STORE_PUT_PASSWD), -ENOENT);
	assert_int_equal(store_record_put(f->s, &r, STORE_PUT_NEW), 0);
	/* dropping a store is fine, changing a k_pub or adding one is not */
	r.nstores = 1;
	assert_int_equal(store_record_put(f->s, &r, STORE_PUT_PASSWD), 0);
	r.stores[0].k_pub[0] ^= 1;
	assert_int_equal(store_record_put(f->s, &r, STORE_PUT_PASSWD), -EPERM);
	r.stores[0].k_pub[0] ^= 1;
	r.nstores = 2;
	assert_int_equal(store_record_put(f->s, &r, STORE_PUT_PASSWD), -EPERM);
	r.nstores = 1;
	/* locked meanwhile (between pending_take and the write): the
	 * tombstone stays, no live record with a fresh counter */
	assert_int_equal(attempt(f->s, "alice", 1, 1000, &c, &a), 0);
	assert_int_equal(store_challenge_take(f->s, c.id, "alice", 1000, &c),
			 0);
	assert_int_equal(store_attempt_fail(f->s, "alice", 1, 1000, &a),
			 -VFS_E_LOCKED);
	assert_int_equal(store_record_put(f->s, &r, STORE_PUT_PASSWD),
			 -VFS_E_LOCKED);
	assert_int_equal(store_record_get(f->s, "alice", &got), 0);
	assert_int_equal(got.state, STORE_LOCKED);
	assert_int_equal(got.blob_len, 0);
	/* a rearm may */
	assert_int_equal(store_record_put(f->s, &r, STORE_PUT_ANY), 0);
	assert_int_equal(store_record_get(f->s, "alice", &got), 0);
	assert_int_equal(got.state, STORE_LIVE);
	assert_memory_equal(got.env_tag, r.env_tag, 32);
}

/* attempt_begin hands out the key it counted against. */
static void test_begin_returns_counted_key(void **state)
{
	struct fx *f = *state;
	struct store_record r;
	struct store_challenge c;
	struct store_attempt a;

	make_record(&r, "alice", 1);
	assert_int_equal(store_record_put(f->s, &r, STORE_PUT_NEW), 0);
	assert_int_equal(attempt(f->s, "alice", 10, 1000, &c, &a), 0);
	assert_int_equal(a.blob_len, 80);
	assert_memory_equal(a.blob, r.blob, 80);
	assert_memory_equal(a.env_tag, r.env_tag, 32);
	assert_int_equal(a.argon_ops, 3);
	assert_int_equal(a.argon_mem, 64 << 20);
	/* replaced (a rearm): the next attempt counts and hands out the new
	 * key, never the one read before */
	r.blob_len = 96;
	memset(r.blob, 0xc2, 96);
	memset(r.env_tag, 0x11, 32);
	assert_int_equal(store_record_put(f->s, &r, STORE_PUT_ANY), 0);
	assert_int_equal(attempt(f->s, "alice", 10, 1000, &c, &a), 0);
	assert_int_equal(a.attempts, 1);
	assert_int_equal(a.blob_len, 96);
	assert_memory_equal(a.blob, r.blob, 96);
	assert_memory_equal(a.env_tag, r.env_tag, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_record_roundtrip, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_budget_spent_by_failure, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_success_resets, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_abandoned_last_attempt, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_failure_with_others_in_flight,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_challenge_single_use, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_pending, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_generation_and_audit, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_one_handle, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_connections, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_secrets_leave_the_files, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_put_drops_pending, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_put_passwd_rules, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_begin_returns_counted_key,
					    setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_vs_store.c - the store interface (store.h), run against every
 * backend with the same tests: SQLite always, etcd when an etcd binary is
 * installed (a one-member cluster started here on free loopback ports,
 * data in a temp dir; the etcd tests are skipped, with the reason,
 * otherwise). Above all the lockout state machine: spending the budget,
 * reset on success, abandoned last attempts, failures while others are in
 * flight, and concurrency (threads on one handle and on separate
 * connections never count past max); a record write drops every pending
 * registration and checks the state in its own transaction; secrets leave
 * the files (SQLite: WAL included) or the history (etcd: compacted).
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <sodium.h>

#include "vaultsrv/etcd.h"
#include "vaultsrv/store.h"
#include "vfs_error.h"

enum backend { B_SQLITE, B_ETCD };

/* The etcd member of this run (started by etcd_start()). */
static struct {
	pid_t pid;
	char dir[64];
	char url[64];
	char why[160]; /* why the etcd tests skip; "" when it runs */
} etcd = {.why = "not started"};

struct fx {
	enum backend b;
	char dir[64];
	char path[96];
	char spec[256];
	char prefix[40];
	struct store *s;
};

static int setup(void **state)
{
	enum backend b = *(const enum backend *)*state;
	struct fx *f = calloc(1, sizeof(*f));
	uint8_t rnd[8];

	assert_non_null(f);
	f->b = b;
	if (b == B_ETCD) {
		*state = f;
		if (etcd.why[0])
			return 0; /* the test skips */
		randombytes_buf(rnd, sizeof(rnd));
		memcpy(f->prefix, "t", 2);
		sodium_bin2hex(f->prefix + 1, sizeof(f->prefix) - 1, rnd,
			       sizeof(rnd));
		snprintf(f->spec, sizeof(f->spec), "etcd:%s?prefix=%s",
			 etcd.url, f->prefix);
	} else {
		snprintf(f->dir, sizeof(f->dir), "/tmp/vs-store-XXXXXX");
		assert_non_null(mkdtemp(f->dir));
		snprintf(f->path, sizeof(f->path), "%s/vault.db", f->dir);
		/* the SQLite tests use both spellings of the spec */
		snprintf(f->spec, sizeof(f->spec), "%s", f->path);
	}
	assert_int_equal(store_open(f->spec, 1, &f->s), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char p[128];

	store_free(f->s);
	if (f->b == B_SQLITE) {
		unlink(f->path);
		snprintf(p, sizeof(p), "%s-wal", f->path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", f->path);
		unlink(p);
		rmdir(f->dir);
	}
	free(f);
	return 0;
}

/* The fixture; skips the test when its backend is not there. */
static struct fx *fx(void **state)
{
	struct fx *f = *state;

	if (f->b == B_ETCD && etcd.why[0]) {
		print_message("etcd tests skipped: %s\n", etcd.why);
		skip();
	}
	return f;
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
	struct fx *f = fx(state);
	struct store *s2;
	char p[300];

	assert_int_equal(store_open(f->spec, 1, &s2), -EEXIST);
	if (f->b == B_SQLITE)
		snprintf(p, sizeof(p), "sqlite:%s/missing.db", f->dir);
	else
		snprintf(p, sizeof(p), "etcd:%s?prefix=%s-missing", etcd.url,
			 f->prefix);
	assert_int_equal(store_open(p, 0, &s2), -ENOENT);
	assert_int_equal(store_open(f->spec, 0, &s2), 0);
	assert_string_equal(store_backend(s2),
			    f->b == B_SQLITE ? "sqlite" : "etcd");
	store_free(s2);
	/* malformed specs */
	assert_int_equal(store_open("sqlite:relative.db", 0, &s2), -EINVAL);
	assert_int_equal(store_open("mysql:/x", 0, &s2), -EINVAL);
	assert_int_equal(store_open("etcd:", 0, &s2), -EINVAL);
	assert_int_equal(store_open("etcd:ftp://127.0.0.1:1", 0, &s2), -EINVAL);
	assert_int_equal(store_open("etcd:http://127.0.0.1:2379/v3", 0, &s2),
			 -EINVAL);
	/* plain http only to loopback */
	assert_int_equal(store_open("etcd:http://10.1.2.3:2379", 0, &s2),
			 -EINVAL);
	assert_int_equal(
	    store_open("etcd:http://127.0.0.1:1?prefix=a/b", 0, &s2), -EINVAL);
	assert_int_equal(
	    store_open("etcd:http://127.0.0.1:1?colour=blue", 0, &s2), -EINVAL);
	/* nobody listening: unavailable, not "missing" */
	assert_int_equal(
	    store_open("etcd:http://127.0.0.1:1,http://[::1]:1", 0, &s2),
	    -EAGAIN);
}

static void test_record_roundtrip(void **state)
{
	struct fx *f = fx(state);
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
	struct fx *f = fx(state);
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
	struct fx *f = fx(state);
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
	struct fx *f = fx(state);
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
	struct fx *f = fx(state);
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
	struct fx *f = fx(state);
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
	struct fx *f = fx(state);
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
	struct fx *f = fx(state);
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
	const char *spec;
	struct store *shared;
	int counted;
};

static void *storm_thread(void *arg)
{
	struct storm *st = arg;
	struct store *s = st->shared;
	struct store_challenge c;
	struct store_attempt a;

	if (!s && store_open(st->spec, 0, &s) != 0)
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
		st[i].spec = f->spec;
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
	run_storm(fx(state), 0);
}

static void test_concurrent_connections(void **state)
{
	run_storm(fx(state), 1);
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

/* ---- etcd: the values readable at a revision ---- */

struct sink {
	char *buf;
	size_t len;
};

static size_t sink_write(char *p, size_t size, size_t n, void *arg)
{
	struct sink *k = arg;
	char *nb = realloc(k->buf, k->len + size * n + 1);

	if (!nb)
		return 0;
	memcpy(nb + k->len, p, size * n);
	k->buf = nb;
	k->len += size * n;
	k->buf[k->len] = '\0';
	return size * n;
}

/*
 * Ranges every key of the fixture's prefix at revision rev (0: the
 * newest). Returns 1 if a value holds m, 0 if none does, -1 if that
 * revision is compacted (gone); *ret_rev: the store's revision.
 */
static int etcd_values_have(const struct fx *f, int64_t rev, const void *m,
			    size_t n, int64_t *ret_rev)
{
	char body[512], k64[128], e64[128], pre[64], url[128];
	struct sink k = {0};
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	cJSON *root, *kvs, *kv;
	int found = 0;

	assert_non_null(c);
	snprintf(pre, sizeof(pre), "%s/", f->prefix);
	sodium_bin2base64(k64, sizeof(k64), (const uint8_t *)pre, strlen(pre),
			  sodium_base64_VARIANT_ORIGINAL);
	pre[strlen(pre) - 1]++;
	sodium_bin2base64(e64, sizeof(e64), (const uint8_t *)pre, strlen(pre),
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(body, sizeof(body),
		 "{\"key\":\"%s\",\"range_end\":\"%s\",\"revision\":"
		 "\"%lld\"}",
		 k64, e64, (long long)rev);
	snprintf(url, sizeof(url), "%s/v3/kv/range", etcd.url);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	root = cJSON_Parse(k.buf);
	assert_non_null(root);
	if (cJSON_GetObjectItem(root, "error")) {
		/* "mvcc: required revision has been compacted" */
		assert_non_null(strstr(k.buf, "compacted"));
		cJSON_Delete(root);
		free(k.buf);
		return -1;
	}
	*ret_rev = strtoll(cJSON_GetObjectItem(
			       cJSON_GetObjectItem(root, "header"), "revision")
			       ->valuestring,
			   NULL, 10);
	kvs = cJSON_GetObjectItem(root, "kvs");
	cJSON_ArrayForEach(kv, kvs)
	{
		const cJSON *v = cJSON_GetObjectItem(kv, "value");
		uint8_t val[ETCD_VALUE_MAX];
		size_t vl = 0;

		if (!v)
			continue;
		assert_int_equal(sodium_base642bin(
				     val, sizeof(val), v->valuestring,
				     strlen(v->valuestring), NULL, &vl, NULL,
				     sodium_base64_VARIANT_ORIGINAL),
				 0);
		for (size_t i = 0; !found && i + n <= vl; i++)
			found = memcmp(val + i, m, n) == 0;
	}
	cJSON_Delete(root);
	free(k.buf);
	return found;
}

/* 1 if any revision etcd can still serve holds m. */
static int etcd_history_has(const struct fx *f, const void *m, size_t n)
{
	int64_t head = 0, ignored;

	if (etcd_values_have(f, 0, m, n, &head) == 1)
		return 1;
	for (int64_t rev = head - 1; rev > 0; rev--) {
		int r = etcd_values_have(f, rev, m, n, &ignored);

		if (r < 0)
			return 0; /* older ones are compacted too */
		if (r == 1)
			return 1;
	}
	return 0;
}

/* 1 if the store (files, or any revision of etcd) holds m. */
static int store_files_have(const struct fx *f, const void *m, size_t n)
{
	char wal[128];

	if (f->b == B_ETCD)
		return etcd_history_has(f, m, n);
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
	struct fx *f = fx(state);
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
	struct fx *f = fx(state);
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
	struct fx *f = fx(state);
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
	struct fx *f = fx(state);
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

/* ---- the etcd member ---- */

static int port_free(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ok;

	if (fd < 0)
		return 0;
	ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static void etcd_stop(void)
{
	char cmd[128];

	if (etcd.pid > 0) {
		kill(etcd.pid, SIGKILL);
		waitpid(etcd.pid, NULL, 0);
		etcd.pid = 0;
	}
	if (etcd.dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", etcd.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "# could not remove %s\n", etcd.dir);
		etcd.dir[0] = '\0';
	}
}

/* Finds etcd ($ETCD or in PATH) and starts one member; on failure
 * etcd.why says why the etcd tests skip. */
static void etcd_start(void)
{
	const char *bin = getenv("ETCD");
	char path[512], data[96], cu[64], pu[64], ic[96];
	const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	if (!bin || !*bin) {
		const char *p = getenv("PATH");

		bin = NULL;
		while (p && *p) {
			size_t n = strcspn(p, ":");

			snprintf(path, sizeof(path), "%.*s/etcd", (int)n, p);
			if (access(path, X_OK) == 0) {
				bin = path;
				break;
			}
			p += n + (p[n] == ':');
		}
	}
	if (!bin || access(bin, X_OK) != 0) {
		snprintf(etcd.why, sizeof(etcd.why),
			 "no etcd binary (apt-get install etcd-server, or "
			 "set ETCD)");
		return;
	}
	for (int tries = 0; tries < 3; tries++) {
		int cport, pport;

		do {
			cport = 20000 + (int)randombytes_uniform(40000);
			pport = 20000 + (int)randombytes_uniform(40000);
		} while (cport == pport || !port_free(cport) ||
			 !port_free(pport));
		snprintf(etcd.dir, sizeof(etcd.dir), "%s/vs-etcd-XXXXXX", tmp);
		if (!mkdtemp(etcd.dir)) {
			snprintf(etcd.why, sizeof(etcd.why), "mkdtemp failed");
			etcd.dir[0] = '\0';
			return;
		}
		snprintf(data, sizeof(data), "%s/data", etcd.dir);
		snprintf(etcd.url, sizeof(etcd.url), "http://127.0.0.1:%d",
			 cport);
		snprintf(cu, sizeof(cu), "http://127.0.0.1:%d", cport);
		snprintf(pu, sizeof(pu), "http://127.0.0.1:%d", pport);
		snprintf(ic, sizeof(ic), "u=%s", pu);
		etcd.pid = fork();
		if (etcd.pid == 0) {
			char log[128];
			FILE *fp;

			snprintf(log, sizeof(log), "%s/etcd.log", etcd.dir);
			fp = freopen(log, "w", stderr);
			(void)fp;
			execl(bin, "etcd", "--name", "u", "--data-dir", data,
			      "--listen-client-urls", cu,
			      "--advertise-client-urls", cu,
			      "--listen-peer-urls", pu,
			      "--initial-advertise-peer-urls", pu,
			      "--initial-cluster", ic, "--log-level", "error",
			      (char *)NULL);
			_exit(127);
		}
		/* ready when a store can be made and opened */
		for (int i = 0; i < 100 && etcd.pid > 0; i++) {
			char spec[128];
			struct store *s = NULL;
			int r;

			snprintf(spec, sizeof(spec), "etcd:%s?prefix=ready",
				 etcd.url);
			r = store_open(spec, 1, &s);
			if (r == 0 || r == -EEXIST) {
				store_free(s);
				etcd.why[0] = '\0';
				return;
			}
			if (waitpid(etcd.pid, NULL, WNOHANG) == etcd.pid)
				etcd.pid = 0;
			usleep(100 * 1000);
		}
		etcd_stop();
	}
	snprintf(etcd.why, sizeof(etcd.why), "etcd did not start");
}

static const enum backend b_sqlite = B_SQLITE, b_etcd = B_ETCD;

#define BOTH(fn)                                                           \
	{"sqlite/" #fn, fn, setup, teardown, (void *)&b_sqlite},           \
	{                                                                  \
		"etcd/" #fn, fn, setup, teardown, (void *)&b_etcd          \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    BOTH(test_open_rules),
	    BOTH(test_record_roundtrip),
	    BOTH(test_budget_spent_by_failure),
	    BOTH(test_success_resets),
	    BOTH(test_abandoned_last_attempt),
	    BOTH(test_failure_with_others_in_flight),
	    BOTH(test_challenge_single_use),
	    BOTH(test_pending),
	    BOTH(test_generation_and_audit),
	    BOTH(test_concurrent_one_handle),
	    BOTH(test_concurrent_connections),
	    BOTH(test_secrets_leave_the_files),
	    BOTH(test_put_drops_pending),
	    BOTH(test_put_passwd_rules),
	    BOTH(test_begin_returns_counted_key),
	};
	int r;

	if (sodium_init() < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	etcd_start();
	if (etcd.why[0])
		fprintf(stderr, "# etcd tests skip: %s\n", etcd.why);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	etcd_stop();
	return r;
}

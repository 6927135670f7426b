/*
 * epoch.c - master key epochs: rotation, resumption and the servers'
 * side of it (epoch.h; docs/decisions.md "Master key epochs").
 *
 * Why the grace period: a server decides the epoch of a blob it writes
 * (epoch_fresh_blob) from a state read just before its store write; a
 * write decided on "stable at C" can land after the rotator set
 * "rotating" and after its first pass went by. Passes therefore go on
 * until one that started at least grace_ms after step 2 finds nothing
 * under C: every write decided before step 2 has landed by then (a
 * store write that takes longer has failed: etcd and SQLite time out in
 * seconds), and every write decided after it is under N already.
 * Pending registrations (a wrapped key waiting for /finish) are not
 * rewrapped: epoch_fresh_blob moves them when they are used; one still
 * under C after C is destroyed fails and the client starts again.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "epoch.h"
#include "log.h"
#include "vfs_error.h"

#define EPOCH_PASSES_MAX 50
#define EPOCH_RECORD_TRIES 100
#define EPOCH_START_TRIES 10

int epoch_state_format(const struct epoch_state *st, char *out, size_t cap)
{
	int n;

	if (st->current < 1 || st->current > HSM_EPOCH_MAX ||
	    (st->next != 0 && st->next != st->current + 1) || st->since < 0)
		return -EINVAL;
	n = snprintf(out, cap, "v1 current=%" PRIu32 " next=%" PRIu32
			       " since=%" PRId64,
		     st->current, st->next, st->since);
	if (n < 0 || (size_t)n >= cap)
		return -E2BIG;
	return n;
}

/* Reads a decimal number of at most 19 digits, no sign, no leading 0. */
static int epoch_num(const char **p, const char *end, uint64_t max,
		     uint64_t *ret)
{
	const char *q = *p;
	uint64_t v = 0;

	if (q >= end || *q < '0' || *q > '9' || (*q == '0' && q + 1 < end &&
						 q[1] >= '0' && q[1] <= '9'))
		return -EINVAL;
	while (q < end && *q >= '0' && *q <= '9') {
		if (q - *p >= 19)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*q - '0');
		q++;
	}
	if (v > max)
		return -EINVAL;
	*p = q;
	*ret = v;
	return 0;
}

static int epoch_lit(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
		return -EINVAL;
	*p += n;
	return 0;
}

int epoch_state_parse(const char *text, size_t len, struct epoch_state *ret)
{
	const char *p = text, *end = text + len;
	uint64_t cur, next, since;
	struct epoch_state st;
	char canon[EPOCH_STATE_MAX];

	if (len >= EPOCH_STATE_MAX)
		return -EINVAL;
	if (epoch_lit(&p, end, "v1 current=") < 0 ||
	    epoch_num(&p, end, HSM_EPOCH_MAX, &cur) < 0 ||
	    epoch_lit(&p, end, " next=") < 0 ||
	    epoch_num(&p, end, HSM_EPOCH_MAX, &next) < 0 ||
	    epoch_lit(&p, end, " since=") < 0 ||
	    epoch_num(&p, end, INT64_MAX, &since) < 0 || p != end)
		return -EINVAL;
	st.current = (uint32_t)cur;
	st.next = (uint32_t)next;
	st.since = (int64_t)since;
	/* one spelling per state */
	if (epoch_state_format(&st, canon, sizeof(canon)) != (int)len ||
	    memcmp(canon, text, len) != 0)
		return -EINVAL;
	*ret = st;
	return 0;
}

int epoch_state_get(struct store *s, struct epoch_state *ret, char *raw,
		    size_t *ret_rawlen)
{
	char buf[EPOCH_STATE_MAX];
	size_t n = 0;
	int r;

	r = store_meta_get(s, EPOCH_META_KEY, buf, sizeof(buf), &n);
	if (r == -ENOENT) {
		*ret = (struct epoch_state){.current = 1, .next = 0, .since = 0};
		if (ret_rawlen)
			*ret_rawlen = 0;
		return 0;
	}
	if (r == -E2BIG)
		r = -EIO;
	if (r < 0)
		return r;
	if (epoch_state_parse(buf, n, ret) < 0) {
		log_error("store meta '%s' does not parse: refusing to guess "
			  "the master key epoch",
			  EPOCH_META_KEY);
		return -EIO;
	}
	if (raw)
		memcpy(raw, buf, n);
	if (ret_rawlen)
		*ret_rawlen = n;
	return 0;
}

int epoch_duration_parse(const char *text, int64_t *ret)
{
	static const struct {
		char unit;
		int64_t mult;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400},
		     {'w', 7 * 86400}};
	size_t len = strlen(text);
	const char *p = text, *end;
	int64_t mult = 1;
	uint64_t v;

	if (len == 0 || len > 24)
		return -EINVAL;
	end = text + len;
	if (end[-1] < '0' || end[-1] > '9') {
		mult = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (units[i].unit == end[-1])
				mult = units[i].mult;
		if (!mult)
			return -EINVAL;
		end--;
	}
	if (epoch_num(&p, end, (uint64_t)EPOCH_DURATION_MAX, &v) < 0 ||
	    p != end || (int64_t)v > EPOCH_DURATION_MAX / mult)
		return -EINVAL;
	*ret = (int64_t)v * mult;
	return 0;
}

/* CAS of the state from raw (rawlen bytes; 0: absent) to st. */
static int epoch_state_cas(struct store *s, const char *raw, size_t rawlen,
			   const struct epoch_state *st)
{
	char buf[EPOCH_STATE_MAX];
	int n = epoch_state_format(st, buf, sizeof(buf));

	if (n < 0)
		return n;
	return store_meta_cas(s, EPOCH_META_KEY, rawlen ? raw : NULL, rawlen,
			      buf, (size_t)n);
}

static int64_t epoch_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void epoch_sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int epoch_stopped(const struct epoch_ctx *c)
{
	return c->stop && atomic_load(c->stop);
}

static int epoch_sync_token(struct epoch_ctx *c)
{
	return c->sync_token ? c->sync_token(c->sync_arg) : 0;
}

/* Sets floor and write epoch from st. */
static int epoch_apply(struct hsm *h, const struct epoch_state *st)
{
	uint32_t write = st->current;

	uint32_t hi = 0;
	int p;

	if (st->next) {
		p = hsm_epoch_present(h, st->next);
		if (p < 0)
			return p;
		if (p)
			write = st->next;
	}
	p = hsm_epoch_present(h, write);
	if (p == 0) {
		/* A store older than the token (restored from before a
		 * rotation): new keys under the token's newest epoch, so
		 * that at least new registrations work. */
		p = hsm_epoch_highest(h, &hi);
		if (p == 0 && hi > write)
			write = hi;
	}
	if (p < 0)
		return p;
	hsm_epoch_set(h, st->current, write);
	return 0;
}

int epoch_refresh(struct hsm *h, struct store *s)
{
	struct epoch_state st;
	int r = epoch_state_get(s, &st, NULL, NULL);

	if (r < 0)
		return r;
	return epoch_apply(h, &st);
}

int epoch_fresh_blob(struct hsm *h, struct store *s, uint8_t *blob,
		     size_t *len)
{
	uint8_t *nb = NULL;
	size_t nlen = 0;
	uint32_t e;
	int r;

	r = epoch_refresh(h, s);
	if (r < 0)
		return r;
	r = hsm_blob_epoch(blob, *len, &e);
	if (r < 0)
		return r;
	if (e >= hsm_epoch_write(h))
		return 0;
	nb = sodium_malloc(HSM_BLOB_MAX);
	if (!nb)
		return -ENOMEM;
	r = hsm_oprf_rewrap(h, blob, *len, hsm_epoch_write(h), nb, &nlen);
	if (r == 0) {
		memcpy(blob, nb, nlen);
		*len = nlen;
	}
	sodium_memzero(nb, HSM_BLOB_MAX);
	sodium_free(nb);
	return r;
}

int epoch_sync(struct epoch_ctx *c, struct epoch_state *ret)
{
	struct epoch_state st;
	char raw[EPOCH_STATE_MAX];
	size_t rawlen = 0;
	unsigned destroyed = 0;
	uint32_t hi = 0;
	int r;

	r = epoch_state_get(c->store, &st, raw, &rawlen);
	if (r < 0)
		return r;
	if (rawlen == 0) {
		/* First start with epochs: record epoch 1 and its time. */
		st.since = (int64_t)time(NULL);
		r = epoch_state_cas(c->store, NULL, 0, &st);
		if (r == -ESTALE)
			r = epoch_state_get(c->store, &st, raw, &rawlen);
		if (r < 0)
			return r;
	}
	r = hsm_epoch_highest(c->hsm, &hi);
	if (r < 0)
		return r;
	if (hi > (st.next ? st.next : st.current))
		log_warn("this token holds master key epoch %" PRIu32
			 " but the store is at epoch %" PRIu32
			 ": either a rotation stopped before it started "
			 "(run vaultsrv rotate) or the store was restored "
			 "from a copy older than a rotation (its records "
			 "cannot be evaluated)",
			 hi, st.current);
	if (hi < st.current)
		log_error("this token holds no master key of epoch %" PRIu32
			  " (the store's current one): no record can be "
			  "evaluated here (a replica the key ceremony has "
			  "not reached?)",
			  st.current);
	r = hsm_epoch_destroy_below(c->hsm, st.current, &destroyed);
	if (r < 0)
		return r;
	if (destroyed) {
		log_info("destroyed %u retired master key(s) below epoch "
			 "%" PRIu32 " in the token",
			 destroyed, st.current);
		r = epoch_sync_token(c);
		if (r < 0)
			return r;
	}
	r = epoch_apply(c->hsm, &st);
	if (r == 0 && ret)
		*ret = st;
	return r;
}

int epoch_prepare(struct epoch_ctx *c, uint32_t epoch)
{
	int r = hsm_epoch_create(c->hsm, epoch);

	if (r == -EEXIST)
		r = 0;
	if (r == 0)
		r = epoch_sync_token(c);
	if (r == 0) {
		r = hsm_epoch_present(c->hsm, epoch);
		r = r == 1 ? 0 : r == 0 ? -ENOKEY : r;
	}
	return r;
}

/*
 * Moves one account's blob to epoch to. 1: rewrapped, 0: nothing to do,
 * -EKEYREVOKED/-ENOKEY: its key is gone, -errno.
 */
static int epoch_rewrap_one(struct epoch_ctx *c, const char *account,
			    uint32_t to, struct store_record *rec,
			    uint8_t *nb, struct epoch_report *rep)
{
	size_t nlen = 0;
	uint32_t e;
	int r;

	for (int i = 0; i < EPOCH_RECORD_TRIES; i++) {
		r = store_record_get(c->store, account, rec);
		if (r == -ENOENT)
			return 0; /* deleted meanwhile */
		if (r < 0)
			return r;
		if (rec->state != STORE_LIVE || rec->blob_len == 0)
			return 0;
		r = hsm_blob_epoch(rec->blob, rec->blob_len, &e);
		if (r < 0) {
			log_error("account '%s': its wrapped key is not a "
				  "blob of this vault",
				  account);
			return r;
		}
		if (e >= to)
			return 0;
		r = hsm_oprf_rewrap(c->hsm, rec->blob, rec->blob_len, to, nb,
				    &nlen);
		if (r < 0)
			return r;
		r = store_record_rewrap(c->store, account, rec->blob,
					rec->blob_len, nb, nlen);
		if (r == 0)
			return 1;
		if (r == -ENOENT || r == -VFS_E_LOCKED)
			return 0;
		if (r != -ESTALE)
			return r;
		/* a guess or a write came in between: read it again */
		rep->retries++;
	}
	return -EAGAIN;
}

/* One pass over every account; *ret_n: blobs rewrapped. */
static int epoch_pass(struct epoch_ctx *c, uint32_t to, uint64_t *ret_n,
		      uint64_t *ret_lost, struct epoch_report *rep)
{
	char after[STORE_ACCOUNT_MAX + 1] = "";
	char acct[STORE_ACCOUNT_MAX + 1];
	struct store_record *rec;
	uint8_t *nb;
	int r;

	*ret_n = 0;
	*ret_lost = 0;
	rec = sodium_malloc(sizeof(*rec));
	nb = sodium_malloc(HSM_BLOB_MAX);
	if (!rec || !nb) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		if (epoch_stopped(c)) {
			r = -ECANCELED;
			goto out;
		}
		r = store_record_next(c->store, after, acct);
		if (r == -ENOENT)
			break;
		if (r < 0)
			goto out;
		r = epoch_rewrap_one(c, acct, to, rec, nb, rep);
		if (r == -EKEYREVOKED || r == -ENOKEY) {
			log_error("account '%s': its wrapped key is under a "
				  "master key epoch this token no longer "
				  "holds; it cannot be rewrapped",
				  acct);
			(*ret_lost)++;
		} else if (r < 0) {
			goto out;
		} else if (r == 1) {
			(*ret_n)++;
			if (c->pace_ms)
				epoch_sleep_ms(c->pace_ms);
		}
		memcpy(after, acct, sizeof(after));
	}
	r = 0;
out:
	if (rec) {
		sodium_memzero(rec, sizeof(*rec));
		sodium_free(rec);
	}
	if (nb) {
		sodium_memzero(nb, HSM_BLOB_MAX);
		sodium_free(nb);
	}
	return r;
}

/* Refuses a store older than the token: its current key is gone and a
 * newer one is here. */
static int epoch_check_current(struct epoch_ctx *c,
			       const struct epoch_state *st)
{
	uint32_t hi = 0;
	int r = hsm_epoch_present(c->hsm, st->current);

	if (r != 0)
		return r < 0 ? r : 0;
	r = hsm_epoch_highest(c->hsm, &hi);
	if (r < 0)
		return r;
	if (hi > st->current) {
		log_error("the store is at epoch %" PRIu32 " but this token "
			  "holds only newer master keys (up to %" PRIu32 "): "
			  "the store was restored from a copy older than a "
			  "rotation; its records cannot be evaluated or "
			  "rewrapped",
			  st->current, hi);
		return -EKEYREVOKED;
	}
	log_error("this token does not hold the master key of the current "
		  "epoch %" PRIu32 " (a replica without the key ceremony?)",
		  st->current);
	return -ENOKEY;
}

/* Steps 1-2, or joins the rotation in progress: *ret_st its state. */
static int epoch_start(struct epoch_ctx *c, struct epoch_state *ret_st,
		       struct epoch_report *rep)
{
	struct epoch_state st, nst;
	char raw[EPOCH_STATE_MAX];
	size_t rawlen = 0;
	int r;

	for (int i = 0; i < EPOCH_START_TRIES; i++) {
		r = epoch_state_get(c->store, &st, raw, &rawlen);
		if (r < 0)
			return r;
		if (st.next) {
			/* Resume: never make a second, different key N. */
			r = hsm_epoch_present(c->hsm, st.next);
			if (r < 0)
				return r;
			if (r == 0) {
				log_error("a rotation to epoch %" PRIu32
					  " is in progress but this token "
					  "does not hold its master key: "
					  "resume it where it started",
					  st.next);
				return -ENOKEY;
			}
			rep->resumed = 1;
			*ret_st = st;
			return 0;
		}
		if (st.current >= HSM_EPOCH_MAX)
			return -EOVERFLOW;
		r = epoch_check_current(c, &st);
		if (r < 0)
			return r;
		/* Leftovers of an interrupted step 4. */
		r = hsm_epoch_destroy_below(c->hsm, st.current, NULL);
		if (r < 0)
			return r;
		r = epoch_prepare(c, st.current + 1);
		if (r < 0)
			return r;
		nst = (struct epoch_state){.current = st.current,
					   .next = st.current + 1,
					   .since = (int64_t)time(NULL)};
		r = epoch_state_cas(c->store, raw, rawlen, &nst);
		if (r == 0) {
			log_info("rotation of the master key: epoch %" PRIu32
				 " -> %" PRIu32 " started",
				 nst.current, nst.next);
			*ret_st = nst;
			return 0;
		}
		if (r != -ESTALE)
			return r;
	}
	return -EAGAIN;
}

int epoch_rotate(struct epoch_ctx *c, struct epoch_report *ret)
{
	struct epoch_report rep;
	struct epoch_state st, fin, now;
	char raw[EPOCH_STATE_MAX];
	size_t rawlen = 0;
	int64_t t0, start;
	uint64_t n = 0, lost = 0;
	int r;

	memset(&rep, 0, sizeof(rep));
	r = epoch_start(c, &st, &rep);
	if (r < 0)
		goto out;
	rep.from = st.current;
	rep.to = st.next;
	/* New blobs here go under N from now on. */
	hsm_epoch_set(c->hsm, st.current, st.next);
	t0 = epoch_now_ms();
	for (;;) {
		if (rep.passes >= EPOCH_PASSES_MAX) {
			r = -EAGAIN;
			goto out;
		}
		start = epoch_now_ms();
		r = epoch_pass(c, st.next, &n, &lost, &rep);
		if (r < 0)
			goto out;
		rep.passes++;
		rep.rewrapped += n;
		if (lost) {
			log_error("%" PRIu64 " live record(s) are wrapped "
				  "under a master key that is gone: the store "
				  "was restored from a copy older than a "
				  "rotation; the rotation stops here",
				  lost);
			r = -EKEYREVOKED;
			goto out;
		}
		if (n == 0 && start - t0 >= c->grace_ms)
			break;
		if (epoch_now_ms() - t0 < c->grace_ms) {
			int64_t left = c->grace_ms - (epoch_now_ms() - t0);

			/* sleep in slices so that a stop is seen */
			while (left > 0 && !epoch_stopped(c)) {
				epoch_sleep_ms(left > 200 ? 200 : left);
				left -= 200;
			}
		}
	}
	/* Step 4: N is current; then C goes. */
	r = epoch_state_get(c->store, &now, raw, &rawlen);
	if (r < 0)
		goto out;
	if (now.current >= st.next) {
		rep.joined = 1; /* another rotator finished it */
	} else {
		if (now.current != st.current || now.next != st.next) {
			r = -ESTALE;
			goto out;
		}
		fin = (struct epoch_state){.current = st.next,
					   .next = 0,
					   .since = (int64_t)time(NULL)};
		r = epoch_state_cas(c->store, raw, rawlen, &fin);
		if (r == -ESTALE) {
			r = epoch_state_get(c->store, &now, NULL, NULL);
			if (r == 0 && now.current < st.next)
				r = -ESTALE;
			rep.joined = r == 0;
		}
		if (r < 0)
			goto out;
	}
	r = hsm_epoch_destroy_below(c->hsm, st.next, &rep.destroyed);
	if (r == 0)
		r = epoch_sync_token(c);
	if (r < 0)
		goto out;
	hsm_epoch_set(c->hsm, st.next, st.next);
	log_info("rotation of the master key: epoch %" PRIu32 " -> %" PRIu32
		 " done (%" PRIu64 " rewrapped, %" PRIu64
		 " retried, %u pass(es)); master key %" PRIu32
		 " destroyed in this token",
		 rep.from, rep.to, rep.rewrapped, rep.retries, rep.passes,
		 rep.from);
	r = 0;
out:
	if (ret)
		*ret = rep;
	return r;
}

/* ---- the server's epoch thread ---- */

struct epoch_daemon {
	struct epoch_ctx c;
	atomic_int stop;
	int64_t every_s;
	unsigned tick_s;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

/* 1 when the schedule asks for a rotation now. */
static int epoch_due(const struct epoch_daemon *d, const struct epoch_state *st)
{
	int64_t now = (int64_t)time(NULL);
	int64_t stale = 10 * (d->c.grace_ms / 1000 + 1);

	if (d->every_s <= 0)
		return 0;
	if (st->next)
		return now - st->since >= stale;
	return now - st->since >= d->every_s;
}

static void *epoch_daemon_main(void *arg)
{
	struct epoch_daemon *d = arg;

	while (!atomic_load(&d->stop)) {
		struct epoch_state st;
		struct timespec until;
		int r;

		r = epoch_sync(&d->c, &st);
		if (r < 0) {
			log_warn("master key epoch check failed: %s",
				 vfs_strerror(r));
		} else if (epoch_due(d, &st)) {
			struct epoch_report rep;

			r = epoch_rotate(&d->c, &rep);
			if (r < 0 && r != -ECANCELED)
				log_error("scheduled master key rotation "
					  "failed: %s (retried at the next "
					  "check)",
					  vfs_strerror(r));
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += d->tick_s;
		pthread_mutex_lock(&d->lock);
		while (!atomic_load(&d->stop) &&
		       pthread_cond_timedwait(&d->cond, &d->lock, &until) == 0)
			;
		pthread_mutex_unlock(&d->lock);
	}
	return NULL;
}

int epoch_daemon_start(const struct epoch_ctx *c, int64_t every_s,
		       unsigned tick_s, struct epoch_daemon **ret)
{
	struct epoch_daemon *d;
	int r;

	if (tick_s == 0 || every_s < 0)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->c = *c;
	atomic_init(&d->stop, 0);
	d->c.stop = &d->stop;
	d->every_s = every_s;
	d->tick_s = tick_s;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	r = -pthread_create(&d->thread, NULL, epoch_daemon_main, d);
	if (r < 0) {
		pthread_mutex_destroy(&d->lock);
		pthread_cond_destroy(&d->cond);
		free(d);
		return r;
	}
	*ret = d;
	return 0;
}

void epoch_daemon_stop(struct epoch_daemon *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	atomic_store(&d->stop, 1);
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	free(d);
}

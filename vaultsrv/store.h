/*
 * store.h - the vault's durable state behind one small interface, so that
 * a replicated backend (etcd) can be added next to SQLite.
 *
 * Holds account records, attempt counters, challenges, pending
 * registrations, generation reports and the audit trail. Every operation
 * that the lockout policy depends on is one atomic step of the interface
 * (a transaction in SQLite), so concurrent requests, several connections
 * and crashes can never make the counter undercount or go down except by
 * a proven success.
 *
 * Lockout state machine (max = max_attempts):
 *   attempt_begin:  locked -> -VFS_E_LOCKED. attempts >= max and no open
 *                   password challenge (the last attempt was abandoned or
 *                   failed) -> tombstone, -VFS_E_LOCKED. attempts >= max
 *                   with an open challenge -> -VFS_E_LOCKED (not yet a
 *                   tombstone). Else attempts += 1 and the challenge is
 *                   stored, committed before the caller evaluates.
 *   attempt_fail:   attempts >= max and no other open password challenge
 *                   -> tombstone, -VFS_E_LOCKED. Else the attempts left.
 *   attempt_succeed: attempts = 0.
 * A tombstone keeps the account and each store's k_pub, and nothing else.
 *
 * Backends (store_backend.h): SQLite, the embedded default, and etcd, for
 * several vaultsrv replicas sharing one guess budget; both pass the same
 * test suite (tests/unit/test_vs_store.c).
 *
 * Durability: every call that adds an attempt, locks, or writes a record,
 * pending key, generation or meta value is on disk (fsync) when it
 * returns. Counter resets, evaluation notes, challenge takes and audit
 * outcomes are ordered before the next durable commit but may be lost in
 * a power failure; each such loss errs on the safe side (a counter not
 * reset, a challenge unusable or usable once more for the same proof).
 */
#ifndef VS_STORE_H
#define VS_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_WUR __attribute__((warn_unused_result))

#define STORE_ACCOUNT_MAX 128
#define STORE_ID_LEN 16
#define STORE_STORES_MAX 16
#define STORE_ENCK_MAX 128
#define STORE_BLOB_MAX 512
#define STORE_PUB_LEN 32
#define STORE_SIG_LEN 64
#define STORE_CHAL_LEN 32
#define STORE_POINT_LEN 65
#define STORE_EVAL_LEN 32
#define STORE_TAG_LEN 32
#define STORE_ACTION_MAX 16
#define STORE_SOURCE_MAX 64
#define STORE_AUDIT_MAX 1000

enum store_state { STORE_LIVE = 0, STORE_LOCKED = 1 };
enum store_chal_kind { STORE_CHAL_PASSWORD = 1, STORE_CHAL_KEY = 2 };
enum store_pending_kind {
	STORE_PENDING_REGISTER = 1,
	STORE_PENDING_PASSWD = 2,
	STORE_PENDING_REARM = 3,
};

struct store_entry {
	uint8_t store_id[STORE_ID_LEN];
	uint8_t enc_k[STORE_ENCK_MAX];
	size_t enc_k_len; /* 0 in a tombstone */
	uint8_t k_pub[STORE_PUB_LEN];
};

struct store_record {
	char account[STORE_ACCOUNT_MAX + 1];
	int state; /* enum store_state */
	uint32_t attempts;
	uint8_t blob[STORE_BLOB_MAX]; /* wrapped OPRF key; 0 in tombstone */
	size_t blob_len;
	uint8_t auth_pub[STORE_PUB_LEN];
	uint8_t env_tag[STORE_TAG_LEN]; /* client's envelope tag; 0 in tomb. */
	uint32_t argon_ops;
	uint64_t argon_mem;
	unsigned nstores;
	struct store_entry stores[STORE_STORES_MAX];
};

struct store_challenge {
	uint8_t id[16];
	char account[STORE_ACCOUNT_MAX + 1];
	int kind; /* enum store_chal_kind */
	char action[STORE_ACTION_MAX + 1];
	uint8_t store_id[STORE_ID_LEN];
	int has_store;
	uint8_t challenge[STORE_CHAL_LEN];
	uint8_t blinded[STORE_POINT_LEN]; /* password challenges */
	uint8_t evaluated[STORE_EVAL_LEN];
	int64_t expires;
};

struct store_pending {
	uint8_t id[16];
	char account[STORE_ACCOUNT_MAX + 1];
	int kind; /* enum store_pending_kind */
	uint8_t blob[STORE_BLOB_MAX];
	size_t blob_len;
	int64_t expires;
};

struct store_event {
	int64_t time;
	char action[STORE_ACTION_MAX + 1];
	char outcome[32];
	char source[STORE_SOURCE_MAX + 1];
};

struct store_attempt {
	uint32_t attempts; /* counted so far, this one included */
	int locked_now;	   /* this call made the tombstone */
	/* attempt_begin: the record as read in the counting transaction */
	uint8_t blob[STORE_BLOB_MAX]; /* the wrapped OPRF key to evaluate */
	size_t blob_len;
	uint8_t env_tag[STORE_TAG_LEN];
	uint32_t argon_ops;
	uint64_t argon_mem;
};

/* store_record_put() modes. */
enum store_put_mode {
	STORE_PUT_NEW = 0,    /* a new account: no record may exist */
	STORE_PUT_ANY = 1,    /* rearm: replaces a live record or tombstone */
	STORE_PUT_PASSWD = 2, /* password change: see store_record_put() */
};

struct store;

/* Longest store spec accepted. */
#define STORE_SPEC_MAX 8192

/*
 * Opens the store named by spec (store.c):
 *   sqlite:PATH or an absolute PATH   SQLite file (store_sqlite.c)
 *   etcd:URL[,URL...][?OPTIONS]        etcd v3 cluster (store_etcd.c)
 * create: make a new one and fail with -EEXIST if it exists (the file, or
 * a schema under the etcd prefix); else it must exist (-ENOENT). -EINVAL:
 * a malformed spec. -EAGAIN: the backend could not be reached. -EUCLEAN:
 * damaged (SQLite: empty, fails quick_check, no meta table); -EPROTO:
 * another schema version. Operations below fail with -EUCLEAN when they
 * meet damage (answered 503, like -EAGAIN).
 *
 * Every operation below may also fail with -EAGAIN when a replicated
 * backend is unavailable (no quorum, no member reachable, contention that
 * outlasted the retries) or the outcome of a commit is unknown. The caller
 * answers 503 and does nothing that the failed call would have allowed
 * (never an HSM evaluation after a failed attempt_begin); an uncertain
 * commit may still land, which errs on the safe side (an attempt counted
 * and never evaluated).
 */
int store_open(const char *spec, int create, struct store **ret) STORE_WUR;
void store_free(struct store *s);
/* The backend's name: "sqlite" or "etcd". */
const char *store_backend(const struct store *s);

/* Small named values (vault_id). get: -ENOENT if unset; -E2BIG if larger
 * than cap. */
int store_meta_put(struct store *s, const char *key, const void *v,
		   size_t len) STORE_WUR;
int store_meta_get(struct store *s, const char *key, void *v, size_t cap,
		   size_t *ret_len) STORE_WUR;

/* Reads a record (live or tombstone); -ENOENT if none. */
int store_record_get(struct store *s, const char *account,
		     struct store_record *ret) STORE_WUR;

/*
 * Writes rec as the account's record with a fresh counter, in one
 * transaction with its checks (enum store_put_mode): NEW: -EEXIST if any
 * record (live or tombstone) exists. ANY: replaces whatever is there.
 * PASSWD: the record must exist (-ENOENT) and be live (-VFS_E_LOCKED), and
 * every store of rec must be in it with the same k_pub (-EPERM).
 * Open challenges and ALL pending registrations of the account are
 * dropped, so an unfinished passwd/rearm cannot outlive this write. The
 * old secrets are scrubbed from the WAL (see store_sqlite.c).
 */
int store_record_put(struct store *s, const struct store_record *rec,
		     int mode) STORE_WUR;

/* Deletes the record, its challenges, pending keys and generations. */
int store_record_delete(struct store *s, const char *account) STORE_WUR;

/* Adds a store to a live record: -ENOENT, -VFS_E_LOCKED, -EEXIST,
 * -ENOSPC (STORE_STORES_MAX reached). */
int store_entry_add(struct store *s, const char *account,
		    const struct store_entry *e) STORE_WUR;

/*
 * One password attempt, as in the state machine above; on success chal
 * (kind PASSWORD, evaluated not yet set) is stored in the same commit and
 * an audit event (action, "attempt", source) written, and ret carries the
 * wrapped OPRF key, env_tag and argon parameters read in that same
 * transaction: the caller must evaluate exactly that key, so that every
 * evaluation of a key is counted against that key's own counter.
 * -ENOENT: no record.
 */
int store_attempt_begin(struct store *s, const struct store_challenge *chal,
			uint32_t max, int64_t now, const char *source,
			struct store_attempt *ret) STORE_WUR;
/* Records the HSM's answer in an open password challenge. */
int store_challenge_set_evaluated(struct store *s, const uint8_t id[16],
				  const uint8_t ev[STORE_EVAL_LEN]) STORE_WUR;
int store_attempt_fail(struct store *s, const char *account, uint32_t max,
		       int64_t now, struct store_attempt *ret) STORE_WUR;
int store_attempt_succeed(struct store *s, const char *account) STORE_WUR;

/* Stores a K challenge (nothing counted). */
int store_challenge_put(struct store *s,
			const struct store_challenge *chal) STORE_WUR;
/*
 * Takes (deletes) the challenge id, single use. -ENOENT: unknown (or used);
 * -EPERM: it belongs to another account (left in place); -ETIMEDOUT:
 * expired (deleted).
 */
int store_challenge_take(struct store *s, const uint8_t id[16],
			 const char *account, int64_t now,
			 struct store_challenge *ret) STORE_WUR;

int store_pending_put(struct store *s, const struct store_pending *p) STORE_WUR;
/* Same results as store_challenge_take(). */
int store_pending_take(struct store *s, const uint8_t id[16],
		       const char *account, int64_t now,
		       struct store_pending *ret) STORE_WUR;

/* Keeps the highest generation; *ret_max is the one kept. */
int store_generation_put(struct store *s, const char *account,
			 const uint8_t store_id[STORE_ID_LEN], uint64_t gen,
			 const uint8_t sig[STORE_SIG_LEN],
			 uint64_t *ret_max) STORE_WUR;
/* -ENOENT when no report was kept. */
int store_generation_get(struct store *s, const char *account,
			 const uint8_t store_id[STORE_ID_LEN],
			 uint64_t *ret_gen,
			 uint8_t ret_sig[STORE_SIG_LEN]) STORE_WUR;

int store_audit_add(struct store *s, const char *account, int64_t now,
		    const char *action, const char *outcome,
		    const char *source) STORE_WUR;
/* The newest (up to max) events of the account into ev, oldest first;
 * returns the count. */
int store_audit_list(struct store *s, const char *account,
		     struct store_event *ev, unsigned max) STORE_WUR;

/* Drops expired challenges and pending keys. */
int store_purge(struct store *s, int64_t now) STORE_WUR;

/* ---- for master key epochs (epoch.c) ---- */

/*
 * Replaces the meta value of key by v if it is still old (oldlen bytes;
 * old NULL: the key must not exist), durably, in one atomic step.
 * -ESTALE: the value is not old (nothing written).
 */
int store_meta_cas(struct store *s, const char *key, const void *old,
		   size_t oldlen, const void *v, size_t len) STORE_WUR;

/*
 * The first account (live or tombstone), in byte order, after the
 * account after ("" = the very first); -ENOENT past the last. A cursor
 * that stays valid while records come and go.
 */
int store_record_next(struct store *s, const char *after,
		      char ret[STORE_ACCOUNT_MAX + 1]) STORE_WUR;

/*
 * Replaces the wrapped OPRF key of a live record by blob if it is still
 * old, durably, changing nothing else (counter, challenges, pending keys
 * stay as they are). -ESTALE: the record's key is not old any more;
 * -ENOENT: no record; -VFS_E_LOCKED: a tombstone.
 */
int store_record_rewrap(struct store *s, const char *account,
			const uint8_t *old, size_t oldlen, const uint8_t *blob,
			size_t len) STORE_WUR;

#endif

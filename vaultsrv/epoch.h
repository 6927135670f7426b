/*
 * epoch.h - master key epochs: rotation of the vault's master wrapping
 * key, so that a restored old copy of the store (SQLite file, etcd
 * snapshot) holds only blobs whose key no HSM has any more: no guesses.
 *
 * State (store meta "epoch", text "v1 current=C next=N since=T"):
 *   next = 0        stable: every live blob is under epoch C
 *   next = C + 1    rotating: blobs move from C to N; both evaluate
 * absent = epoch 1 stable (vaults made before epochs).
 *
 * A rotation (epoch_rotate): (1) the new master key in the token
 * (epoch_prepare; with several HSMs, every replica must hold it before
 * step 2 - the key ceremony's job), (2) state C -> "rotating C to N" by
 * CAS, (3) every live record's blob rewrapped inside the HSM, with a CAS
 * on the blob (store_record_rewrap) so that concurrent guesses and writes
 * are never lost, in passes until one that starts a grace period after
 * step 2 finds nothing left under C, (4) state "N stable" by CAS, then
 * master key C destroyed in the token. Every step is idempotent: rerun
 * after a crash resumes. Servers (epoch_sync, at start and periodically)
 * raise their floor and destroy retired keys in their own HSM.
 */
#ifndef VS_EPOCH_H
#define VS_EPOCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "hsm.h"
#include "store.h"

#define EPOCH_WUR __attribute__((warn_unused_result))

#define EPOCH_META_KEY "epoch"
#define EPOCH_STATE_MAX 96
#define EPOCH_GRACE_DEFAULT_MS 10000
#define EPOCH_DURATION_MAX (10LL * 366 * 86400)

struct epoch_state {
	uint32_t current; /* >= 1 */
	uint32_t next;	  /* 0, or current + 1 while rotating */
	int64_t since;	  /* unix time of the last transition (0: never) */
};

/* Strict parser of the meta value (len bytes, no NUL needed): -EINVAL. */
int epoch_state_parse(const char *text, size_t len,
		      struct epoch_state *ret) EPOCH_WUR;

/* Canonical text of st into out (cap bytes, NUL-terminated); its length
 * or -EINVAL (an impossible state) / -E2BIG. */
int epoch_state_format(const struct epoch_state *st, char *out,
		       size_t cap) EPOCH_WUR;

/*
 * Reads the state; an absent key is {1, 0, 0} and *ret_rawlen 0.
 * raw (EPOCH_STATE_MAX bytes, may be NULL) receives the stored bytes, for
 * a later store_meta_cas(). -EIO: a value that does not parse.
 */
int epoch_state_get(struct store *s, struct epoch_state *ret, char *raw,
		    size_t *ret_rawlen) EPOCH_WUR;

/*
 * "N" seconds or N followed by s, m, h, d or w; 0 allowed; at most
 * EPOCH_DURATION_MAX. -EINVAL otherwise.
 */
int epoch_duration_parse(const char *text, int64_t *ret) EPOCH_WUR;

struct epoch_ctx {
	struct hsm *hsm;
	struct store *store;
	/* Makes token changes durable (SoftHSM does not fsync); may be
	 * NULL. */
	int (*sync_token)(void *arg);
	void *sync_arg;
	int64_t grace_ms; /* step 3's grace period; see epoch.c */
	unsigned pace_ms; /* pause after each rewrapped record (HSM load) */
	atomic_int *stop; /* set: give up between records (may be NULL) */
};

struct epoch_report {
	uint32_t from, to;  /* the rotation done (or resumed) */
	uint64_t rewrapped; /* blobs moved to the new epoch */
	uint64_t retries;   /* CAS conflicts with concurrent traffic */
	unsigned passes;
	unsigned destroyed; /* master keys destroyed in this token */
	int resumed;	    /* the rotation had been started before */
	int joined;	    /* another rotator finished it */
};

/*
 * Brings this process in line with the store: writes the initial state
 * if there is none, sets the HSM's floor (the current epoch) and write
 * epoch (the next one while rotating, if this token holds it), destroys
 * master keys below the current epoch in this token and warns when the
 * token holds an epoch beyond the store's (a store restored from before
 * a rotation, or a rotation interrupted before its step 2).
 * *ret (may be NULL) is the state read.
 */
int epoch_sync(struct epoch_ctx *c, struct epoch_state *ret) EPOCH_WUR;

/* Re-reads the state and sets floor and write epoch; destroys nothing.
 * Cheap enough for every key generation. */
int epoch_refresh(struct hsm *h, struct store *s) EPOCH_WUR;

/*
 * Before a wrapped key is written into a record: re-reads the state and,
 * if blob (*len bytes, HSM_BLOB_MAX capacity) is under an older epoch
 * than new blobs are, rewraps it in place. -EKEYREVOKED/-ENOKEY: its
 * key is gone (the caller fails the request; the client starts again).
 */
int epoch_fresh_blob(struct hsm *h, struct store *s, uint8_t *blob,
		     size_t *len) EPOCH_WUR;

/*
 * Step 1: makes epoch's master key in this token (if it is not there)
 * and makes it durable. The key ceremony hooks in here to hand it to
 * every replica's HSM before the rotation goes on.
 */
int epoch_prepare(struct epoch_ctx *c, uint32_t epoch) EPOCH_WUR;

/*
 * Runs a rotation to the next epoch, or resumes the one in progress, to
 * its end (the old master key destroyed in this token). -ENOKEY: this
 * token lacks the key of the rotation in progress (resume where it was
 * started, or give it the key). -EKEYREVOKED: some live records are
 * under an epoch whose key is gone (a restored store); nothing advanced
 * past step 2. -ECANCELED: *stop was set (resume later). -EAGAIN: the
 * store is unavailable or traffic kept conflicting.
 */
int epoch_rotate(struct epoch_ctx *c, struct epoch_report *ret) EPOCH_WUR;

/*
 * The server's epoch thread: epoch_sync() every tick_s seconds and, when
 * every_s > 0, a rotation once the current epoch is every_s old (or one
 * in progress that nobody moved for 10 grace periods: its rotator
 * died). c is used by the thread until epoch_daemon_stop(), which stops
 * it between records (the rotation resumes later) and frees it.
 */
struct epoch_daemon;

int epoch_daemon_start(const struct epoch_ctx *c, int64_t every_s,
		       unsigned tick_s, struct epoch_daemon **ret) EPOCH_WUR;
void epoch_daemon_stop(struct epoch_daemon *d);

#endif

/*
 * store_backend.h - what a backend of store.h provides: one table of
 * operations over its own state. store.c picks the backend from the
 * store spec and forwards every call of store.h to it.
 *
 * struct store_impl is completed by each backend in its own file only
 * (store_sqlite.c, store_etcd.c); everyone else sees it incomplete.
 * Each operation has exactly the contract of its store.h namesake.
 */
#ifndef VS_STORE_BACKEND_H
#define VS_STORE_BACKEND_H

#include "store.h"

struct store_impl;

struct store_ops {
	const char *name;
	/* arg: the spec after "NAME:" */
	int (*open)(const char *arg, int create, struct store_impl **ret);
	void (*free)(struct store_impl *s);
	int (*meta_put)(struct store_impl *s, const char *key, const void *v,
			size_t len);
	int (*meta_get)(struct store_impl *s, const char *key, void *v,
			size_t cap, size_t *ret_len);
	int (*record_get)(struct store_impl *s, const char *account,
			  struct store_record *ret);
	int (*record_put)(struct store_impl *s, const struct store_record *rec,
			  int mode);
	int (*record_delete)(struct store_impl *s, const char *account);
	int (*entry_add)(struct store_impl *s, const char *account,
			 const struct store_entry *e);
	int (*attempt_begin)(struct store_impl *s,
			     const struct store_challenge *chal, uint32_t max,
			     int64_t now, const char *source,
			     struct store_attempt *ret);
	int (*challenge_set_evaluated)(struct store_impl *s,
				       const uint8_t id[16],
				       const uint8_t ev[STORE_EVAL_LEN]);
	int (*attempt_fail)(struct store_impl *s, const char *account,
			    uint32_t max, int64_t now,
			    struct store_attempt *ret);
	int (*attempt_succeed)(struct store_impl *s, const char *account);
	int (*challenge_put)(struct store_impl *s,
			     const struct store_challenge *chal);
	int (*challenge_take)(struct store_impl *s, const uint8_t id[16],
			      const char *account, int64_t now,
			      struct store_challenge *ret);
	int (*pending_put)(struct store_impl *s, const struct store_pending *p);
	int (*pending_take)(struct store_impl *s, const uint8_t id[16],
			    const char *account, int64_t now,
			    struct store_pending *ret);
	int (*generation_put)(struct store_impl *s, const char *account,
			      const uint8_t store_id[STORE_ID_LEN],
			      uint64_t gen, const uint8_t sig[STORE_SIG_LEN],
			      uint64_t *ret_max);
	int (*generation_get)(struct store_impl *s, const char *account,
			      const uint8_t store_id[STORE_ID_LEN],
			      uint64_t *ret_gen,
			      uint8_t ret_sig[STORE_SIG_LEN]);
	int (*audit_add)(struct store_impl *s, const char *account, int64_t now,
			 const char *action, const char *outcome,
			 const char *source);
	int (*audit_list)(struct store_impl *s, const char *account,
			  struct store_event *ev, unsigned max);
	int (*purge)(struct store_impl *s, int64_t now);
	/* master key epochs (epoch.c) */
	int (*meta_cas)(struct store_impl *s, const char *key, const void *old,
			size_t oldlen, const void *v, size_t len);
	int (*record_next)(struct store_impl *s, const char *after,
			   char ret[STORE_ACCOUNT_MAX + 1]);
	int (*record_rewrap)(struct store_impl *s, const char *account,
			     const uint8_t *old, size_t oldlen,
			     const uint8_t *blob, size_t len);
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_etcd_ops;

#endif

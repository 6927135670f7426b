/*
 * store.c - picks the backend of store.h named by the store spec and
 * forwards every call to it (store_backend.h).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_backend.h"

struct store {
	const struct store_ops *ops;
	struct store_impl *impl;
};

int store_open(const char *spec, int create, struct store **ret)
{
	const struct store_ops *ops;
	const char *arg;
	struct store *s;
	int r;

	if (!spec || strnlen(spec, STORE_SPEC_MAX + 1) > STORE_SPEC_MAX)
		return -EINVAL;
	if (strncmp(spec, "sqlite:", 7) == 0) {
		ops = &store_sqlite_ops;
		arg = spec + 7;
	} else if (strncmp(spec, "etcd:", 5) == 0) {
		ops = &store_etcd_ops;
		arg = spec + 5;
	} else if (spec[0] == '/') {
		/* a bare absolute path: the SQLite shorthand ("db =") */
		ops = &store_sqlite_ops;
		arg = spec;
	} else {
		return -EINVAL;
	}
	if (ops == &store_sqlite_ops && arg[0] != '/')
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ops = ops;
	r = ops->open(arg, create, &s->impl);
	if (r < 0) {
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	s->ops->free(s->impl);
	free(s);
}

const char *store_backend(const struct store *s)
{
	return s->ops->name;
}

int store_meta_put(struct store *s, const char *key, const void *v, size_t len)
{
	return s->ops->meta_put(s->impl, key, v, len);
}

int store_meta_get(struct store *s, const char *key, void *v, size_t cap,
		   size_t *ret_len)
{
	return s->ops->meta_get(s->impl, key, v, cap, ret_len);
}

int store_record_get(struct store *s, const char *account,
		     struct store_record *ret)
{
	return s->ops->record_get(s->impl, account, ret);
}

int store_record_put(struct store *s, const struct store_record *rec, int mode)
{
	return s->ops->record_put(s->impl, rec, mode);
}

int store_record_delete(struct store *s, const char *account)
{
	return s->ops->record_delete(s->impl, account);
}

int store_entry_add(struct store *s, const char *account,
		    const struct store_entry *e)
{
	return s->ops->entry_add(s->impl, account, e);
}

int store_attempt_begin(struct store *s, const struct store_challenge *chal,
			uint32_t max, int64_t now, const char *source,
			struct store_attempt *ret)
{
	return s->ops->attempt_begin(s->impl, chal, max, now, source, ret);
}

int store_challenge_set_evaluated(struct store *s, const uint8_t id[16],
				  const uint8_t ev[STORE_EVAL_LEN])
{
	return s->ops->challenge_set_evaluated(s->impl, id, ev);
}

int store_attempt_fail(struct store *s, const char *account, uint32_t max,
		       int64_t now, struct store_attempt *ret)
{
	return s->ops->attempt_fail(s->impl, account, max, now, ret);
}

int store_attempt_succeed(struct store *s, const char *account)
{
	return s->ops->attempt_succeed(s->impl, account);
}

int store_challenge_put(struct store *s, const struct store_challenge *chal)
{
	return s->ops->challenge_put(s->impl, chal);
}

int store_challenge_take(struct store *s, const uint8_t id[16],
			 const char *account, int64_t now,
			 struct store_challenge *ret)
{
	return s->ops->challenge_take(s->impl, id, account, now, ret);
}

int store_pending_put(struct store *s, const struct store_pending *p)
{
	return s->ops->pending_put(s->impl, p);
}

int store_pending_take(struct store *s, const uint8_t id[16],
		       const char *account, int64_t now,
		       struct store_pending *ret)
{
	return s->ops->pending_take(s->impl, id, account, now, ret);
}

int store_generation_put(struct store *s, const char *account,
			 const uint8_t store_id[STORE_ID_LEN], uint64_t gen,
			 const uint8_t sig[STORE_SIG_LEN], uint64_t *ret_max)
{
	return s->ops->generation_put(s->impl, account, store_id, gen, sig,
				      ret_max);
}

int store_generation_get(struct store *s, const char *account,
			 const uint8_t store_id[STORE_ID_LEN],
			 uint64_t *ret_gen, uint8_t ret_sig[STORE_SIG_LEN])
{
	return s->ops->generation_get(s->impl, account, store_id, ret_gen,
				      ret_sig);
}

int store_audit_add(struct store *s, const char *account, int64_t now,
		    const char *action, const char *outcome, const char *source)
{
	return s->ops->audit_add(s->impl, account, now, action, outcome,
				 source);
}

int store_audit_list(struct store *s, const char *account,
		     struct store_event *ev, unsigned max)
{
	return s->ops->audit_list(s->impl, account, ev, max);
}

int store_purge(struct store *s, int64_t now)
{
	return s->ops->purge(s->impl, now);
}

int store_meta_cas(struct store *s, const char *key, const void *old,
		   size_t oldlen, const void *v, size_t len)
{
	return s->ops->meta_cas(s->impl, key, old, oldlen, v, len);
}

int store_record_next(struct store *s, const char *after,
		      char ret[STORE_ACCOUNT_MAX + 1])
{
	return s->ops->record_next(s->impl, after, ret);
}

int store_record_rewrap(struct store *s, const char *account,
			const uint8_t *old, size_t oldlen, const uint8_t *blob,
			size_t len)
{
	if (!old || !blob || oldlen == 0 || oldlen > STORE_BLOB_MAX ||
	    len == 0 || len > STORE_BLOB_MAX)
		return -EINVAL;
	return s->ops->record_rewrap(s->impl, account, old, oldlen, blob, len);
}

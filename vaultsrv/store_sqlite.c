/*
 * store_sqlite.c - the store interface on SQLite (WAL, synchronous=FULL).
 *
 * Every operation runs in one BEGIN IMMEDIATE transaction, so it is atomic
 * against other threads (one connection, serialised by a mutex) and other
 * connections or processes on the same file (SQLite's write lock).
 *
 * Erasure: secure_delete zeroes freed cells and pages of the database
 * file, but in WAL mode the pages as they were before a change stay in
 * vault.db-wal until a checkpoint overwrites the file. Every commit that
 * destroys a secret (tombstone, delete, record replace) is therefore
 * followed by PRAGMA wal_checkpoint(TRUNCATE), which copies the new pages
 * into the database and truncates the WAL to zero bytes (store_scrub()).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "store_backend.h"
#include "vfs_error.h"

/* 2: accounts.env_tag (the envelope tag of docs/protocol.md). */
#define STORE_SCHEMA "2"

struct store_impl {
	sqlite3 *db;
	pthread_mutex_t lock;
	int relaxed; /* synchronous=NORMAL in force */
};

static const char store_schema[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE accounts(account TEXT PRIMARY KEY,"
    " state INTEGER NOT NULL, attempts INTEGER NOT NULL, blob BLOB,"
    " auth_pub BLOB, env_tag BLOB, argon_ops INTEGER, argon_mem INTEGER);"
    "CREATE TABLE stores(account TEXT NOT NULL, store_id BLOB NOT NULL,"
    " enc_k BLOB, k_pub BLOB NOT NULL, PRIMARY KEY(account, store_id));"
    "CREATE TABLE challenges(id BLOB PRIMARY KEY, account TEXT NOT NULL,"
    " kind INTEGER NOT NULL, action TEXT NOT NULL, store_id BLOB,"
    " challenge BLOB NOT NULL, blinded BLOB, evaluated BLOB,"
    " expires INTEGER NOT NULL);"
    "CREATE INDEX challenges_account ON challenges(account, kind);"
    "CREATE TABLE pending(id BLOB PRIMARY KEY, account TEXT NOT NULL,"
    " kind INTEGER NOT NULL, blob BLOB NOT NULL, expires INTEGER NOT NULL);"
    "CREATE TABLE generations(account TEXT NOT NULL, store_id BLOB NOT NULL,"
    " generation INTEGER NOT NULL, sig BLOB NOT NULL,"
    " PRIMARY KEY(account, store_id));"
    "CREATE TABLE audit(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " account TEXT NOT NULL, time INTEGER NOT NULL, action TEXT NOT NULL,"
    " outcome TEXT NOT NULL, source TEXT NOT NULL);"
    "CREATE INDEX audit_account ON audit(account, id);"
    "INSERT INTO meta(key, value) VALUES('schema', '" STORE_SCHEMA "');";

static void sqlite_free(struct store_impl *s);

static int store_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_READONLY:
	case SQLITE_PERM:
		return -EACCES;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EUCLEAN;
	default:
		return -EIO;
	}
}

/* Prepares sql; binds are done by the caller. */
static int store_prep(struct store_impl *s, const char *sql, sqlite3_stmt **ret)
{
	return store_err(sqlite3_prepare_v2(s->db, sql, -1, ret, NULL));
}

static int store_exec(struct store_impl *s, const char *sql)
{
	return store_err(sqlite3_exec(s->db, sql, NULL, NULL, NULL));
}

/* Runs a prepared statement that returns no row; finalizes it. */
static int store_step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	int r = rc == SQLITE_DONE ? 0 : store_err(rc);

	if (rc == SQLITE_ROW)
		r = -EIO;
	sqlite3_finalize(st);
	return r;
}

/*
 * durable: the commit is on disk when store_end() returns (WAL fsync,
 * synchronous=FULL). Others (relaxed) are ordered in the WAL before every
 * later durable commit but may be lost in a power failure: used only
 * where a loss errs on the safe side (a counter reset, an evaluation
 * note, a used challenge, an audit outcome).
 */
static int store_begin_mode(struct store_impl *s, int durable)
{
	int r;

	pthread_mutex_lock(&s->lock);
	if (s->relaxed == durable) {
		r = store_exec(s, durable ? "PRAGMA synchronous=FULL"
					  : "PRAGMA synchronous=NORMAL");
		if (r < 0) {
			pthread_mutex_unlock(&s->lock);
			return r;
		}
		s->relaxed = !durable;
	}
	r = store_exec(s, "BEGIN IMMEDIATE");
	if (r < 0)
		pthread_mutex_unlock(&s->lock);
	return r;
}

static int store_begin(struct store_impl *s)
{
	return store_begin_mode(s, 1);
}

static int store_begin_relaxed(struct store_impl *s)
{
	return store_begin_mode(s, 0);
}

/* Commits if r >= 0, else rolls back; returns r or the commit's error. */
static int store_end(struct store_impl *s, int r)
{
	if (r >= 0) {
		int c = store_exec(s, "COMMIT");

		if (c < 0) {
			(void)store_exec(s, "ROLLBACK");
			r = c;
		}
	} else {
		(void)store_exec(s, "ROLLBACK");
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

/*
 * Commits like store_end(); after a successful commit of a transaction
 * that destroyed secrets, checkpoints the WAL into the database and
 * truncates it, so the old page images are gone from vault.db-wal. A
 * checkpoint that cannot complete (another connection reading) is retried
 * after the next scrubbing commit; the operation itself has succeeded.
 */
static int store_end_scrub(struct store_impl *s, int r)
{
	if (r >= 0) {
		int c = store_exec(s, "COMMIT");

		if (c < 0) {
			(void)store_exec(s, "ROLLBACK");
			r = c;
		} else {
			(void)store_exec(s, "PRAGMA wal_checkpoint(TRUNCATE)");
		}
	} else {
		(void)store_exec(s, "ROLLBACK");
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int sqlite_open(const char *path, int create, struct store_impl **ret)
{
	struct store_impl *s;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	struct stat sb;
	int r, fd;

	if (create) {
		/* O_EXCL: never clobber an existing database. */
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		close(fd);
	} else if (stat(path, &sb) < 0) {
		return -errno;
	} else if (sb.st_size == 0) {
		/* init always writes the schema: an empty file is damage,
		 * never a vault to fill anew. */
		return -EUCLEAN;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	r = store_err(sqlite3_open_v2(path, &s->db, flags, NULL));
	if (r < 0)
		goto out;
	sqlite3_busy_timeout(s->db, 10000);
	r = store_exec(s, "PRAGMA journal_mode=WAL");
	if (r < 0)
		goto out;
	r = store_exec(s, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
			  " PRAGMA secure_delete=ON");
	if (r < 0)
		goto out;
	if (create) {
		r = store_begin(s);
		if (r < 0)
			goto out;
		r = store_end(s, store_exec(s, store_schema));
		if (r < 0)
			goto out;
	} else {
		sqlite3_stmt *st;

		/* Damage is found here, at startup, not by some request. */
		r = store_prep(s, "PRAGMA quick_check", &st);
		if (r == 0) {
			const unsigned char *t = NULL;

			if (sqlite3_step(st) == SQLITE_ROW)
				t = sqlite3_column_text(st, 0);
			r = t && strcmp((const char *)t, "ok") == 0 ? 0
								    : -EUCLEAN;
			sqlite3_finalize(st);
		}
		if (r < 0)
			goto out;
		/* No meta table: not a vaultsrv database. */
		if (store_prep(s, "SELECT value FROM meta WHERE key='schema'",
			       &st) < 0) {
			r = -EUCLEAN;
			goto out;
		}
		/* An older schema is refused, never half-used. */
		r = sqlite3_step(st) == SQLITE_ROW &&
			    sqlite3_column_bytes(st, 0) ==
				(int)strlen(STORE_SCHEMA) &&
			    memcmp(sqlite3_column_blob(st, 0), STORE_SCHEMA,
				   strlen(STORE_SCHEMA)) == 0
			? 0
			: -EPROTO;
		sqlite3_finalize(st);
		if (r < 0)
			goto out;
	}
	*ret = s;
	s = NULL; /* transferred */
	r = 0;
out:
	if (s && create)
		unlink(path);
	sqlite_free(s);
	return r;
}

static void sqlite_free(struct store_impl *s)
{
	if (!s)
		return;
	sqlite3_close_v2(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int sqlite_meta_put(struct store_impl *s, const char *key, const void *v, size_t len)
{
	sqlite3_stmt *st;
	int r;

	r = store_begin(s);
	if (r < 0)
		return r;
	r = store_prep(s, "INSERT INTO meta(key, value) VALUES(?, ?)", &st);
	if (r == 0) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, v, (int)len, SQLITE_STATIC);
		r = store_step_done(st);
	}
	return store_end(s, r);
}

static int sqlite_meta_get(struct store_impl *s, const char *key, void *v, size_t cap,
		   size_t *ret_len)
{
	sqlite3_stmt *st;
	int r, n;

	pthread_mutex_lock(&s->lock);
	r = store_prep(s, "SELECT value FROM meta WHERE key=?", &st);
	if (r < 0)
		goto out;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		r = -ENOENT;
	} else {
		n = sqlite3_column_bytes(st, 0);
		if ((size_t)n > cap) {
			r = -E2BIG;
		} else {
			memcpy(v, sqlite3_column_blob(st, 0), (size_t)n);
			*ret_len = (size_t)n;
			r = 0;
		}
	}
	sqlite3_finalize(st);
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Copies a blob column of exactly len bytes (or up to cap with ret_len). */
static int store_col_blob(sqlite3_stmt *st, int col, void *out, size_t cap,
			  size_t *ret_len, int exact)
{
	int n = sqlite3_column_bytes(st, col);
	const void *p = sqlite3_column_blob(st, col);

	if (n < 0 || (size_t)n > cap || (exact && (size_t)n != cap))
		return -EIO;
	if (n > 0)
		memcpy(out, p, (size_t)n);
	if (ret_len)
		*ret_len = (size_t)n;
	return 0;
}

static int store_col_text(sqlite3_stmt *st, int col, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);

	if (!t || n < 0 || (size_t)n >= cap)
		return -EIO;
	memcpy(out, t, (size_t)n);
	out[n] = '\0';
	return 0;
}

/* Reads a record inside a held lock / transaction. */
static int store_record_read(struct store_impl *s, const char *account,
			     struct store_record *rec)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	memset(rec, 0, sizeof(*rec));
	r = store_prep(s,
		       "SELECT state, attempts, blob, auth_pub, argon_ops,"
		       " argon_mem, env_tag FROM accounts WHERE account=?",
		       &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? -ENOENT : store_err(rc);
		goto out;
	}
	if (strlen(account) > STORE_ACCOUNT_MAX) {
		r = -EINVAL;
		goto out;
	}
	strcpy(rec->account, account);
	rec->state = sqlite3_column_int(st, 0);
	rec->attempts = (uint32_t)sqlite3_column_int64(st, 1);
	r = store_col_blob(st, 2, rec->blob, sizeof(rec->blob), &rec->blob_len,
			   0);
	if (r < 0)
		goto out;
	if (sqlite3_column_type(st, 3) == SQLITE_BLOB) {
		r = store_col_blob(st, 3, rec->auth_pub, STORE_PUB_LEN, NULL,
				   1);
		if (r < 0)
			goto out;
	}
	rec->argon_ops = (uint32_t)sqlite3_column_int64(st, 4);
	rec->argon_mem = (uint64_t)sqlite3_column_int64(st, 5);
	if (sqlite3_column_type(st, 6) == SQLITE_BLOB) {
		r = store_col_blob(st, 6, rec->env_tag, STORE_TAG_LEN, NULL,
				   1);
		if (r < 0)
			goto out;
	}
	sqlite3_finalize(st);
	st = NULL;

	r = store_prep(s,
		       "SELECT store_id, enc_k, k_pub FROM stores"
		       " WHERE account=? ORDER BY rowid",
		       &st);
	if (r < 0)
		goto out;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_entry *e;

		if (rec->nstores >= STORE_STORES_MAX) {
			r = -EIO;
			goto out;
		}
		e = &rec->stores[rec->nstores++];
		r = store_col_blob(st, 0, e->store_id, STORE_ID_LEN, NULL, 1);
		if (r == 0)
			r = store_col_blob(st, 1, e->enc_k, sizeof(e->enc_k),
					   &e->enc_k_len, 0);
		if (r == 0)
			r = store_col_blob(st, 2, e->k_pub, STORE_PUB_LEN, NULL,
					   1);
		if (r < 0)
			goto out;
	}
	r = rc == SQLITE_DONE ? 0 : store_err(rc);
out:
	sqlite3_finalize(st);
	return r;
}

static int sqlite_record_get(struct store_impl *s, const char *account,
		     struct store_record *ret)
{
	int r;

	r = store_begin_relaxed(s);
	if (r < 0)
		return r;
	r = store_record_read(s, account, ret);
	return store_end(s, r);
}

static int store_run1(struct store_impl *s, const char *sql, const char *account)
{
	sqlite3_stmt *st;
	int r = store_prep(s, sql, &st);

	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	return store_step_done(st);
}

static int store_entry_insert(struct store_impl *s, const char *account,
			      const struct store_entry *e)
{
	sqlite3_stmt *st;
	int r;

	r = store_prep(s,
		       "INSERT INTO stores(account, store_id, enc_k, k_pub)"
		       " VALUES(?, ?, ?, ?)",
		       &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, e->store_id, STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, e->enc_k, (int)e->enc_k_len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, e->k_pub, STORE_PUB_LEN, SQLITE_STATIC);
	return store_step_done(st);
}

/* 1 if every store of rec is in old with the same k_pub. */
static int store_same_kpubs(const struct store_record *old,
			    const struct store_record *rec)
{
	for (unsigned i = 0; i < rec->nstores; i++) {
		const struct store_entry *e = NULL;

		for (unsigned j = 0; j < old->nstores; j++)
			if (memcmp(old->stores[j].store_id,
				   rec->stores[i].store_id, STORE_ID_LEN) == 0)
				e = &old->stores[j];
		if (!e || memcmp(e->k_pub, rec->stores[i].k_pub,
				 STORE_PUB_LEN) != 0)
			return 0;
	}
	return 1;
}

static int sqlite_record_put(struct store_impl *s, const struct store_record *rec,
		     int mode)
{
	struct store_record *old;
	sqlite3_stmt *st;
	int r;

	if (rec->nstores > STORE_STORES_MAX || rec->blob_len == 0 ||
	    rec->blob_len > STORE_BLOB_MAX ||
	    (mode != STORE_PUT_NEW && mode != STORE_PUT_ANY &&
	     mode != STORE_PUT_PASSWD))
		return -EINVAL;
	old = malloc(sizeof(*old));
	if (!old)
		return -ENOMEM;
	r = store_begin(s);
	if (r < 0) {
		free(old);
		return r;
	}
	/* The checks and the write in one transaction: a tombstone made
	 * since the caller's pending_take is never overwritten by a live
	 * record with a fresh counter. */
	r = store_record_read(s, rec->account, old);
	if (r == 0 && mode == STORE_PUT_NEW) {
		r = -EEXIST;
		goto out;
	}
	if (r == -ENOENT && mode != STORE_PUT_PASSWD)
		r = 0;
	if (r < 0)
		goto out;
	if (mode == STORE_PUT_PASSWD) {
		if (old->state != STORE_LIVE) {
			r = -VFS_E_LOCKED;
			goto out;
		}
		if (!store_same_kpubs(old, rec)) {
			r = -EPERM;
			goto out;
		}
	}
	r = store_run1(s, "DELETE FROM stores WHERE account=?", rec->account);
	if (r == 0)
		r = store_run1(s, "DELETE FROM challenges WHERE account=?",
			       rec->account);
	if (r == 0)
		r = store_run1(s, "DELETE FROM pending WHERE account=?",
			       rec->account);
	if (r == 0)
		r = store_run1(s, "DELETE FROM accounts WHERE account=?",
			       rec->account);
	if (r < 0)
		goto out;
	r = store_prep(s,
		       "INSERT INTO accounts(account, state, attempts, blob,"
		       " auth_pub, env_tag, argon_ops, argon_mem)"
		       " VALUES(?, 0, 0, ?, ?, ?, ?, ?)",
		       &st);
	if (r < 0)
		goto out;
	sqlite3_bind_text(st, 1, rec->account, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, rec->blob, (int)rec->blob_len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, rec->auth_pub, STORE_PUB_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, rec->env_tag, STORE_TAG_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, rec->argon_ops);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)rec->argon_mem);
	r = store_step_done(st);
	for (unsigned i = 0; r == 0 && i < rec->nstores; i++)
		r = store_entry_insert(s, rec->account, &rec->stores[i]);
out:
	sodium_memzero(old, sizeof(*old));
	free(old);
	return store_end_scrub(s, r);
}

static int sqlite_record_delete(struct store_impl *s, const char *account)
{
	static const char *const sql[] = {
	    "DELETE FROM stores WHERE account=?",
	    "DELETE FROM challenges WHERE account=?",
	    "DELETE FROM pending WHERE account=?",
	    "DELETE FROM generations WHERE account=?",
	    "DELETE FROM accounts WHERE account=?",
	};
	int r;

	r = store_begin(s);
	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < sizeof(sql) / sizeof(sql[0]); i++)
		r = store_run1(s, sql[i], account);
	if (r == 0 && sqlite3_changes(s->db) == 0)
		r = -ENOENT;
	return store_end_scrub(s, r);
}

static int sqlite_entry_add(struct store_impl *s, const char *account,
		    const struct store_entry *e)
{
	struct store_record rec;
	int r;

	r = store_begin(s);
	if (r < 0)
		return r;
	r = store_record_read(s, account, &rec);
	if (r < 0)
		goto out;
	if (rec.state != STORE_LIVE) {
		r = -VFS_E_LOCKED;
		goto out;
	}
	for (unsigned i = 0; i < rec.nstores; i++) {
		if (memcmp(rec.stores[i].store_id, e->store_id, STORE_ID_LEN) ==
		    0) {
			r = -EEXIST;
			goto out;
		}
	}
	if (rec.nstores >= STORE_STORES_MAX) {
		r = -ENOSPC;
		goto out;
	}
	r = store_entry_insert(s, account, e);
out:
	return store_end(s, r);
}

/* Counts open (unexpired) password challenges of the account. */
static int store_open_challenges(struct store_impl *s, const char *account,
				 int64_t now)
{
	sqlite3_stmt *st;
	int r;

	r = store_prep(s,
		       "SELECT count(*) FROM challenges WHERE account=?"
		       " AND kind=? AND expires>=?",
		       &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, STORE_CHAL_PASSWORD);
	sqlite3_bind_int64(st, 3, now);
	if (sqlite3_step(st) == SQLITE_ROW)
		r = sqlite3_column_int(st, 0);
	else
		r = -EIO;
	sqlite3_finalize(st);
	return r;
}

/* Destroys everything secret-bearing of the account: the tombstone. */
static int store_tombstone(struct store_impl *s, const char *account)
{
	static const char *const sql[] = {
	    "UPDATE accounts SET state=1, blob=NULL, auth_pub=NULL,"
	    " env_tag=NULL WHERE account=?",
	    "UPDATE stores SET enc_k=NULL WHERE account=?",
	    "DELETE FROM challenges WHERE account=?",
	    "DELETE FROM pending WHERE account=?",
	};
	int r = 0;

	for (size_t i = 0; r == 0 && i < sizeof(sql) / sizeof(sql[0]); i++)
		r = store_run1(s, sql[i], account);
	return r;
}

static int store_audit_insert(struct store_impl *s, const char *account, int64_t now,
			      const char *action, const char *outcome,
			      const char *source)
{
	sqlite3_stmt *st;
	int r;

	r = store_prep(s,
		       "INSERT INTO audit(account, time, action, outcome,"
		       " source) VALUES(?, ?, ?, ?, ?)",
		       &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, outcome, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, source, -1, SQLITE_STATIC);
	return store_step_done(st);
}

static int store_chal_insert(struct store_impl *s, const struct store_challenge *c)
{
	sqlite3_stmt *st;
	int r;

	r = store_prep(s,
		       "INSERT INTO challenges(id, account, kind, action,"
		       " store_id, challenge, blinded, evaluated, expires)"
		       " VALUES(?, ?, ?, ?, ?, ?, ?, NULL, ?)",
		       &st);
	if (r < 0)
		return r;
	sqlite3_bind_blob(st, 1, c->id, sizeof(c->id), SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->account, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, c->kind);
	sqlite3_bind_text(st, 4, c->action, -1, SQLITE_STATIC);
	if (c->has_store)
		sqlite3_bind_blob(st, 5, c->store_id, STORE_ID_LEN,
				  SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_blob(st, 6, c->challenge, STORE_CHAL_LEN, SQLITE_STATIC);
	if (c->kind == STORE_CHAL_PASSWORD)
		sqlite3_bind_blob(st, 7, c->blinded, STORE_POINT_LEN,
				  SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 7);
	sqlite3_bind_int64(st, 8, c->expires);
	return store_step_done(st);
}

static int sqlite_attempt_begin(struct store_impl *s, const struct store_challenge *chal,
			uint32_t max, int64_t now, const char *source,
			struct store_attempt *ret)
{
	struct store_record rec;
	struct store_attempt a = {0};
	int r, open;

	if (chal->kind != STORE_CHAL_PASSWORD || max == 0)
		return -EINVAL;
	r = store_begin(s);
	if (r < 0)
		return r;
	r = store_record_read(s, chal->account, &rec);
	if (r < 0)
		goto out;
	if (rec.state != STORE_LIVE) {
		r = -VFS_E_LOCKED;
		goto out;
	}
	if (rec.attempts >= max) {
		open = store_open_challenges(s, chal->account, now);
		if (open < 0) {
			r = open;
			goto out;
		}
		if (open == 0) {
			/* The last attempt was abandoned: spend it now. */
			r = store_tombstone(s, chal->account);
			if (r == 0)
				r = store_audit_insert(s, chal->account, now,
						       chal->action, "locked",
						       source);
			if (r < 0)
				goto out;
			a.locked_now = 1;
		}
		a.attempts = rec.attempts;
		*ret = a;
		/* Commit the tombstone, report locked. */
		r = a.locked_now ? store_end_scrub(s, 0) : store_end(s, 0);
		return r < 0 ? r : -VFS_E_LOCKED;
	}
	r = store_run1(s,
		       "UPDATE accounts SET attempts=attempts+1"
		       " WHERE account=?",
		       chal->account);
	if (r == 0)
		r = store_chal_insert(s, chal);
	if (r == 0)
		r = store_audit_insert(s, chal->account, now, chal->action,
				       "attempt", source);
	if (r < 0)
		goto out;
	a.attempts = rec.attempts + 1;
	memcpy(a.blob, rec.blob, rec.blob_len);
	a.blob_len = rec.blob_len;
	memcpy(a.env_tag, rec.env_tag, STORE_TAG_LEN);
	a.argon_ops = rec.argon_ops;
	a.argon_mem = rec.argon_mem;
	r = store_end(s, 0);
	if (r == 0)
		*ret = a;
	sodium_memzero(&a, sizeof(a));
	sodium_memzero(&rec, sizeof(rec));
	return r;
out:
	return store_end(s, r);
}

static int sqlite_challenge_set_evaluated(struct store_impl *s, const uint8_t id[16],
				  const uint8_t ev[STORE_EVAL_LEN])
{
	sqlite3_stmt *st;
	int r;

	r = store_begin_relaxed(s);
	if (r < 0)
		return r;
	r = store_prep(s, "UPDATE challenges SET evaluated=? WHERE id=?", &st);
	if (r == 0) {
		sqlite3_bind_blob(st, 1, ev, STORE_EVAL_LEN, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, id, 16, SQLITE_STATIC);
		r = store_step_done(st);
		if (r == 0 && sqlite3_changes(s->db) != 1)
			r = -ENOENT;
	}
	return store_end(s, r);
}

static int sqlite_attempt_fail(struct store_impl *s, const char *account, uint32_t max,
		       int64_t now, struct store_attempt *ret)
{
	struct store_record rec;
	struct store_attempt a = {0};
	int r, open;

	r = store_begin(s);
	if (r < 0)
		return r;
	r = store_record_read(s, account, &rec);
	if (r < 0)
		goto out;
	if (rec.state != STORE_LIVE) {
		r = -VFS_E_LOCKED;
		goto out;
	}
	a.attempts = rec.attempts;
	if (rec.attempts >= max) {
		open = store_open_challenges(s, account, now);
		if (open < 0) {
			r = open;
			goto out;
		}
		if (open == 0) {
			r = store_tombstone(s, account);
			if (r < 0)
				goto out;
			a.locked_now = 1;
			*ret = a;
			r = store_end_scrub(s, 0);
			return r < 0 ? r : -VFS_E_LOCKED;
		}
	}
	r = store_end(s, 0);
	if (r == 0)
		*ret = a;
	return r;
out:
	return store_end(s, r);
}

static int sqlite_attempt_succeed(struct store_impl *s, const char *account)
{
	int r;

	r = store_begin_relaxed(s);
	if (r < 0)
		return r;
	r = store_run1(s,
		       "UPDATE accounts SET attempts=0 WHERE account=?"
		       " AND state=0",
		       account);
	if (r == 0 && sqlite3_changes(s->db) != 1)
		r = -VFS_E_LOCKED;
	return store_end(s, r);
}

static int sqlite_challenge_put(struct store_impl *s, const struct store_challenge *chal)
{
	int r;

	r = store_begin(s);
	if (r < 0)
		return r;
	return store_end(s, store_chal_insert(s, chal));
}

/* Deletes the row with id from table (a constant). */
static int store_delete_id(struct store_impl *s, const char *sql,
			   const uint8_t id[16])
{
	sqlite3_stmt *st;
	int r = store_prep(s, sql, &st);

	if (r < 0)
		return r;
	sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
	return store_step_done(st);
}

static int sqlite_challenge_take(struct store_impl *s, const uint8_t id[16],
			 const char *account, int64_t now,
			 struct store_challenge *ret)
{
	struct store_challenge c;
	sqlite3_stmt *st = NULL;
	int r, rc;

	memset(&c, 0, sizeof(c));
	r = store_begin_relaxed(s);
	if (r < 0)
		return r;
	r = store_prep(s,
		       "SELECT account, kind, action, store_id, challenge,"
		       " blinded, evaluated, expires FROM challenges"
		       " WHERE id=?",
		       &st);
	if (r < 0)
		goto out;
	sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? -ENOENT : store_err(rc);
		goto out;
	}
	memcpy(c.id, id, 16);
	r = store_col_text(st, 0, c.account, sizeof(c.account));
	if (r < 0)
		goto out;
	if (strcmp(c.account, account) != 0) {
		r = -EPERM;
		goto out;
	}
	c.kind = sqlite3_column_int(st, 1);
	r = store_col_text(st, 2, c.action, sizeof(c.action));
	if (r < 0)
		goto out;
	if (sqlite3_column_type(st, 3) == SQLITE_BLOB) {
		r = store_col_blob(st, 3, c.store_id, STORE_ID_LEN, NULL, 1);
		c.has_store = 1;
	}
	if (r == 0)
		r = store_col_blob(st, 4, c.challenge, STORE_CHAL_LEN, NULL, 1);
	if (r == 0 && c.kind == STORE_CHAL_PASSWORD) {
		r = store_col_blob(st, 5, c.blinded, STORE_POINT_LEN, NULL, 1);
		/* No evaluation recorded: the HSM never answered. */
		if (r == 0 && sqlite3_column_type(st, 6) != SQLITE_BLOB)
			r = -ENOENT;
		if (r == 0)
			r = store_col_blob(st, 6, c.evaluated, STORE_EVAL_LEN,
					   NULL, 1);
	}
	c.expires = sqlite3_column_int64(st, 7);
	sqlite3_finalize(st);
	st = NULL;
	if (r < 0 && r != -ENOENT)
		goto out;
	{
		int d =
		    store_delete_id(s, "DELETE FROM challenges WHERE id=?", id);
		if (d < 0) {
			r = d;
			goto out;
		}
	}
	if (r == 0 && c.expires < now)
		r = -ETIMEDOUT;
	/* Commit the deletion whatever the verdict: single use. */
	{
		int e = store_end(s, 0);

		if (e < 0)
			return e;
	}
	if (r == 0)
		*ret = c;
	return r;
out:
	sqlite3_finalize(st);
	return store_end(s, r);
}

static int sqlite_pending_put(struct store_impl *s, const struct store_pending *p)
{
	sqlite3_stmt *st;
	int r;

	if (p->blob_len == 0 || p->blob_len > STORE_BLOB_MAX)
		return -EINVAL;
	r = store_begin(s);
	if (r < 0)
		return r;
	r = store_prep(s,
		       "INSERT INTO pending(id, account, kind, blob, expires)"
		       " VALUES(?, ?, ?, ?, ?)",
		       &st);
	if (r == 0) {
		sqlite3_bind_blob(st, 1, p->id, 16, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, p->account, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, p->kind);
		sqlite3_bind_blob(st, 4, p->blob, (int)p->blob_len,
				  SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, p->expires);
		r = store_step_done(st);
	}
	return store_end(s, r);
}

static int sqlite_pending_take(struct store_impl *s, const uint8_t id[16],
		       const char *account, int64_t now,
		       struct store_pending *ret)
{
	struct store_pending p;
	sqlite3_stmt *st = NULL;
	int r, rc;

	memset(&p, 0, sizeof(p));
	r = store_begin(s);
	if (r < 0)
		return r;
	r = store_prep(s,
		       "SELECT account, kind, blob, expires FROM pending"
		       " WHERE id=?",
		       &st);
	if (r < 0)
		goto out;
	sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? -ENOENT : store_err(rc);
		goto out;
	}
	memcpy(p.id, id, 16);
	r = store_col_text(st, 0, p.account, sizeof(p.account));
	if (r < 0)
		goto out;
	if (strcmp(p.account, account) != 0) {
		r = -EPERM;
		goto out;
	}
	p.kind = sqlite3_column_int(st, 1);
	r = store_col_blob(st, 2, p.blob, sizeof(p.blob), &p.blob_len, 0);
	if (r < 0)
		goto out;
	p.expires = sqlite3_column_int64(st, 3);
	sqlite3_finalize(st);
	st = NULL;
	r = store_delete_id(s, "DELETE FROM pending WHERE id=?", id);
	if (r < 0)
		goto out;
	r = store_end(s, 0);
	if (r < 0)
		return r;
	if (p.expires < now)
		return -ETIMEDOUT;
	*ret = p;
	return 0;
out:
	sqlite3_finalize(st);
	return store_end(s, r);
}

static int sqlite_generation_put(struct store_impl *s, const char *account,
			 const uint8_t store_id[STORE_ID_LEN], uint64_t gen,
			 const uint8_t sig[STORE_SIG_LEN], uint64_t *ret_max)
{
	sqlite3_stmt *st = NULL;
	uint64_t max = gen;
	int r, rc;

	if (gen > INT64_MAX)
		return -EINVAL;
	r = store_begin(s);
	if (r < 0)
		return r;
	r = store_prep(s,
		       "SELECT generation FROM generations WHERE account=?"
		       " AND store_id=?",
		       &st);
	if (r < 0)
		goto out;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, store_id, STORE_ID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		uint64_t old = (uint64_t)sqlite3_column_int64(st, 0);

		if (old >= gen)
			max = old;
	} else if (rc != SQLITE_DONE) {
		r = store_err(rc);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (max == gen) {
		r = store_prep(s,
			       "INSERT OR REPLACE INTO generations(account,"
			       " store_id, generation, sig)"
			       " VALUES(?, ?, ?, ?)",
			       &st);
		if (r < 0)
			goto out;
		sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, store_id, STORE_ID_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)gen);
		sqlite3_bind_blob(st, 4, sig, STORE_SIG_LEN, SQLITE_STATIC);
		r = store_step_done(st);
		st = NULL;
		if (r < 0)
			goto out;
	}
	r = store_end(s, 0);
	if (r == 0)
		*ret_max = max;
	return r;
out:
	sqlite3_finalize(st);
	return store_end(s, r);
}

static int sqlite_generation_get(struct store_impl *s, const char *account,
			 const uint8_t store_id[STORE_ID_LEN],
			 uint64_t *ret_gen, uint8_t ret_sig[STORE_SIG_LEN])
{
	sqlite3_stmt *st = NULL;
	uint8_t sig[STORE_SIG_LEN];
	int r, rc;

	r = store_begin_relaxed(s);
	if (r < 0)
		return r;
	r = store_prep(s,
		       "SELECT generation, sig FROM generations"
		       " WHERE account=? AND store_id=?",
		       &st);
	if (r < 0)
		goto out;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, store_id, STORE_ID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? -ENOENT : store_err(rc);
		goto out;
	}
	r = store_col_blob(st, 1, sig, STORE_SIG_LEN, NULL, 1);
	if (r < 0)
		goto out;
	*ret_gen = (uint64_t)sqlite3_column_int64(st, 0);
	memcpy(ret_sig, sig, STORE_SIG_LEN);
out:
	sqlite3_finalize(st);
	return store_end(s, r);
}

static int sqlite_audit_add(struct store_impl *s, const char *account, int64_t now,
		    const char *action, const char *outcome, const char *source)
{
	int r;

	r = store_begin_relaxed(s);
	if (r < 0)
		return r;
	return store_end(
	    s, store_audit_insert(s, account, now, action, outcome, source));
}

static int sqlite_audit_list(struct store_impl *s, const char *account,
		     struct store_event *ev, unsigned max)
{
	sqlite3_stmt *st = NULL;
	unsigned n = 0;
	int r, rc;

	r = store_begin_relaxed(s);
	if (r < 0)
		return r;
	r = store_prep(s,
		       "SELECT time, action, outcome, source FROM"
		       " (SELECT id, time, action, outcome, source FROM audit"
		       " WHERE account=? ORDER BY id DESC LIMIT ?)"
		       " ORDER BY id ASC",
		       &st);
	if (r < 0)
		goto out;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, max);
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_event *e = &ev[n];

		e->time = sqlite3_column_int64(st, 0);
		r = store_col_text(st, 1, e->action, sizeof(e->action));
		if (r == 0)
			r = store_col_text(st, 2, e->outcome,
					   sizeof(e->outcome));
		if (r == 0)
			r = store_col_text(st, 3, e->source, sizeof(e->source));
		if (r < 0)
			goto out;
		n++;
	}
	r = (int)n;
out:
	sqlite3_finalize(st);
	return store_end(s, r);
}

static int sqlite_purge(struct store_impl *s, int64_t now)
{
	sqlite3_stmt *st;
	int r;

	r = store_begin_relaxed(s);
	if (r < 0)
		return r;
	r = store_prep(s, "DELETE FROM challenges WHERE expires<?", &st);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, now);
		r = store_step_done(st);
	}
	if (r == 0)
		r = store_prep(s, "DELETE FROM pending WHERE expires<?", &st);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, now);
		r = store_step_done(st);
	}
	return store_end(s, r);
}

/* ---- master key epochs (epoch.c) ---- */

static int sqlite_meta_cas(struct store_impl *s, const char *key,
			   const void *old, size_t oldlen, const void *v,
			   size_t len)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_begin(s);
	if (r < 0)
		return r;
	r = store_prep(s, "SELECT value FROM meta WHERE key=?", &st);
	if (r < 0)
		goto out;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		r = old && (size_t)sqlite3_column_bytes(st, 0) == oldlen &&
			    (oldlen == 0 ||
			     memcmp(sqlite3_column_blob(st, 0), old, oldlen) ==
				 0)
			? 0
			: -ESTALE;
	} else {
		r = rc != SQLITE_DONE ? store_err(rc) : old ? -ESTALE : 0;
	}
	sqlite3_finalize(st);
	if (r < 0)
		goto out;
	r = store_prep(s, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)",
		       &st);
	if (r == 0) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, v, (int)len, SQLITE_STATIC);
		r = store_step_done(st);
	}
out:
	return store_end(s, r);
}

static int sqlite_record_next(struct store_impl *s, const char *after,
			      char ret[STORE_ACCOUNT_MAX + 1])
{
	sqlite3_stmt *st;
	int r, rc;

	pthread_mutex_lock(&s->lock);
	r = store_prep(s,
		       "SELECT account FROM accounts WHERE account>?"
		       " ORDER BY account LIMIT 1",
		       &st);
	if (r < 0)
		goto out;
	sqlite3_bind_text(st, 1, after, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = store_col_text(st, 0, ret, STORE_ACCOUNT_MAX + 1);
	else
		r = rc == SQLITE_DONE ? -ENOENT : store_err(rc);
	sqlite3_finalize(st);
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int sqlite_record_rewrap(struct store_impl *s, const char *account,
				const uint8_t *old, size_t oldlen,
				const uint8_t *blob, size_t len)
{
	struct store_record *rec;
	sqlite3_stmt *st;
	int r;

	rec = malloc(sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	r = store_begin(s);
	if (r < 0)
		goto out_free;
	r = store_record_read(s, account, rec);
	if (r < 0)
		goto out;
	if (rec->state != STORE_LIVE) {
		r = -VFS_E_LOCKED;
		goto out;
	}
	if (rec->blob_len != oldlen || sodium_memcmp(rec->blob, old, oldlen)) {
		r = -ESTALE;
		goto out;
	}
	r = store_prep(s, "UPDATE accounts SET blob=? WHERE account=?", &st);
	if (r == 0) {
		sqlite3_bind_blob(st, 1, blob, (int)len, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, account, -1, SQLITE_STATIC);
		r = store_step_done(st);
	}
out:
	r = store_end(s, r);
out_free:
	sodium_memzero(rec, sizeof(*rec));
	free(rec);
	return r;
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .open = sqlite_open,
    .free = sqlite_free,
    .meta_put = sqlite_meta_put,
    .meta_get = sqlite_meta_get,
    .record_get = sqlite_record_get,
    .record_put = sqlite_record_put,
    .record_delete = sqlite_record_delete,
    .entry_add = sqlite_entry_add,
    .attempt_begin = sqlite_attempt_begin,
    .challenge_set_evaluated = sqlite_challenge_set_evaluated,
    .attempt_fail = sqlite_attempt_fail,
    .attempt_succeed = sqlite_attempt_succeed,
    .challenge_put = sqlite_challenge_put,
    .challenge_take = sqlite_challenge_take,
    .pending_put = sqlite_pending_put,
    .pending_take = sqlite_pending_take,
    .generation_put = sqlite_generation_put,
    .generation_get = sqlite_generation_get,
    .audit_add = sqlite_audit_add,
    .audit_list = sqlite_audit_list,
    .purge = sqlite_purge,
    .meta_cas = sqlite_meta_cas,
    .record_next = sqlite_record_next,
    .record_rewrap = sqlite_record_rewrap,
};

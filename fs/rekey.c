/*
 * rekey.c - changing a store's backup key (rekey.h, docs/format.md "Key
 * change").
 *
 * Order of the steps, and what a crash after each leaves:
 *   1. journal "vaultfs.rekey" (K2 sealed under a subkey of the old K)
 *      is durable: nothing else changed; K still opens the store.
 *   2. copies of the live data under K2 (data-only segments numbered
 *      from the journal's first segment on, in a deterministic plan):
 *      invisible to K (they do not authenticate); a rerun reuses the
 *      complete ones.
 *   3. a checkpoint commit under K2, child of K's head: still invisible.
 *   4. the header names K2 (one atomic rename): the switch. K2 opens the
 *      store; K opens it only through the journal.
 *   5. the old key's segments are removed, then the journal: only K2.
 * A write through a mount with K between a crash and the rerun moves K's
 * head past the journal's first segment; the rerun then copies again
 * above it (before the switch nothing depends on the copies).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "buf.h"
#include "commit.h"
#include "header.h"
#include "meta.h"
#include "rekey.h"
#include "segment.h"
#include "store_priv.h"

static const uint8_t JOURNAL_MAGIC[8] = {'V', 'F', 'S', 'R',
					 'E', 'K', 'E', 'Y'};
#define JOURNAL_VERSION 1
#define JOURNAL_AD_BYTES 40
/* The journal key: crypto_kdf subkey 5 of the old K, context "vaultfs1"
 * (the table in docs/format.md; chunk.c derives 1-4). */
#define JOURNAL_KDF_ID 5
static const char JOURNAL_KDF_CTX[crypto_kdf_CONTEXTBYTES] = {
    'v', 'a', 'u', 'l', 't', 'f', 's', '1'};

struct journal {
	uint8_t store_id[STORE_ID_BYTES];
	uint32_t epoch;	    /* the new key's epoch */
	uint64_t epoch_seg; /* its first segment */
};

struct rekey {
	struct objstore *os;
	int own_os;
	char *state_dir;
	unsigned flags;
	struct store_info info; /* the header as read at begin */
	uint8_t *hdr;		/* its bytes (restored if a switch fails) */
	size_t hlen;
	uint8_t *old_key; /* sodium_malloc'd, NULL when unknown */
	uint8_t *new_key; /* sodium_malloc'd */
	struct journal j;
	int switched;
	int fresh;
	int copied; /* rekey_switch began writing */
	struct store *s; /* open with K before the switch, K2 after */
};

/* ---- the journal ---- */

static int journal_encode(const struct journal *j, const uint8_t *old_key,
			  const uint8_t *new_key,
			  uint8_t out[REKEY_JOURNAL_BYTES])
{
	uint8_t jk[32];
	uint8_t *p = out;

	memcpy(p, JOURNAL_MAGIC, sizeof(JOURNAL_MAGIC));
	put_le32(p + 8, JOURNAL_VERSION);
	memcpy(p + 12, j->store_id, STORE_ID_BYTES);
	put_le32(p + 28, j->epoch);
	put_le64(p + 32, j->epoch_seg);
	if (crypto_kdf_derive_from_key(jk, sizeof(jk), JOURNAL_KDF_ID,
				       JOURNAL_KDF_CTX, old_key) != 0)
		return -EINVAL;
	randombytes_buf(p + JOURNAL_AD_BYTES, CHUNK_NONCE_BYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    p + JOURNAL_AD_BYTES + CHUNK_NONCE_BYTES, NULL, new_key,
	    STORE_KEY_BYTES, p, JOURNAL_AD_BYTES, NULL, p + JOURNAL_AD_BYTES,
	    jk);
	sodium_memzero(jk, sizeof(jk));
	return 0;
}

/* Reads the journal's plain part: -ENOENT when there is none, -EBADMSG
 * when it is not one (or not of this store). *ret_raw: its bytes. */
static int journal_read(struct objstore *os, const uint8_t *store_id,
			struct journal *ret, uint8_t raw[REKEY_JOURNAL_BYTES])
{
	uint8_t *p = NULL;
	size_t n;
	int r;

	r = objstore_get(os, REKEY_JOURNAL_NAME, 4096, &p, &n);
	if (r == -EFBIG)
		return -EBADMSG;
	if (r < 0)
		return r;
	r = -EBADMSG;
	if (n != REKEY_JOURNAL_BYTES ||
	    memcmp(p, JOURNAL_MAGIC, sizeof(JOURNAL_MAGIC)) != 0 ||
	    get_le32(p + 8) != JOURNAL_VERSION ||
	    memcmp(p + 12, store_id, STORE_ID_BYTES) != 0)
		goto out;
	memcpy(ret->store_id, p + 12, STORE_ID_BYTES);
	ret->epoch = get_le32(p + 28);
	ret->epoch_seg = get_le64(p + 32);
	if (ret->epoch == 0 || ret->epoch_seg == 0)
		goto out;
	memcpy(raw, p, REKEY_JOURNAL_BYTES);
	r = 0;
out:
	free(p);
	return r;
}

/* Opens the sealed K2 of raw with old_key into new_key: -EBADMSG. */
static int journal_open(const uint8_t raw[REKEY_JOURNAL_BYTES],
			const uint8_t *old_key, uint8_t *new_key)
{
	uint8_t jk[32];
	int r = 0;

	if (crypto_kdf_derive_from_key(jk, sizeof(jk), JOURNAL_KDF_ID,
				       JOURNAL_KDF_CTX, old_key) != 0)
		return -EINVAL;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		new_key, NULL, NULL, raw + JOURNAL_AD_BYTES + CHUNK_NONCE_BYTES,
		STORE_KEY_BYTES + CHUNK_TAG_BYTES, raw, JOURNAL_AD_BYTES,
		raw + JOURNAL_AD_BYTES, jk) != 0) {
		sodium_memzero(new_key, STORE_KEY_BYTES);
		r = -EBADMSG;
	}
	sodium_memzero(jk, sizeof(jk));
	return r;
}

static int journal_write(struct rekey *rk, int replace)
{
	uint8_t raw[REKEY_JOURNAL_BYTES];
	int r;

	r = journal_encode(&rk->j, rk->old_key, rk->new_key, raw);
	if (r < 0)
		return r;
	return replace ? objstore_replace(rk->os, REKEY_JOURNAL_NAME, raw,
					  sizeof(raw))
		       : objstore_put(rk->os, REKEY_JOURNAL_NAME, raw,
				      sizeof(raw));
}

/* 0 if key passes the key check of the header bytes. */
static int key_checks(const uint8_t *hdr, size_t hlen, const uint8_t *key)
{
	struct keys *k;
	int r;

	r = keys_new(key, &k);
	if (r < 0)
		return r;
	r = header_check_key(hdr, hlen, k->hdr);
	keys_free(k);
	return r;
}

int rekey_follow(struct objstore *os, const uint8_t key[STORE_KEY_BYTES],
		 const struct store_info *info, const uint8_t *hdr,
		 size_t hlen, struct keys **ret)
{
	uint8_t raw[REKEY_JOURNAL_BYTES];
	uint8_t *k2;
	struct journal j;
	struct keys *k = NULL;
	int r;

	if (info->key_epoch == 0)
		return -VFS_E_WRONGKEY; /* never switched */
	r = journal_read(os, info->store_id, &j, raw);
	if (r < 0 || j.epoch != info->key_epoch)
		return -VFS_E_WRONGKEY;
	k2 = sodium_malloc(STORE_KEY_BYTES);
	if (!k2)
		return -ENOMEM;
	r = journal_open(raw, key, k2);
	if (r == 0)
		r = keys_new(k2, &k);
	if (r == 0)
		r = header_check_key(hdr, hlen, k->hdr);
	sodium_free(k2);
	if (r < 0) {
		keys_free(k);
		return r == -ENOMEM ? r : -VFS_E_WRONGKEY;
	}
	*ret = k;
	return 0;
}

/* ---- begin ---- */

const uint8_t *rekey_new_key(const struct rekey *rk)
{
	return rk->new_key;
}

const uint8_t *rekey_old_key(const struct rekey *rk)
{
	return rk->old_key;
}

int rekey_switched(const struct rekey *rk)
{
	return rk->switched;
}

int rekey_fresh(const struct rekey *rk)
{
	return rk->fresh;
}

const struct store_info *rekey_info(const struct rekey *rk)
{
	return &rk->info;
}

uint64_t rekey_generation(const struct rekey *rk)
{
	return rk->s ? store_generation(rk->s) : 0;
}

int rekey_free(struct rekey *rk)
{
	int r;

	if (!rk)
		return 0;
	r = store_close(rk->s);
	sodium_free(rk->old_key);
	sodium_free(rk->new_key);
	free(rk->hdr);
	free(rk->state_dir);
	if (rk->own_os)
		objstore_free(rk->os);
	free(rk);
	return r;
}

static int read_header(struct rekey *rk)
{
	int r;

	r = objstore_get(rk->os, OBJSTORE_HEADER_NAME, HEADER_MAX, &rk->hdr,
			 &rk->hlen);
	if (r == -ENOENT)
		return -VFS_E_NOTSTORE;
	if (r == -EFBIG || r == -EBADMSG)
		return -VFS_E_DAMAGED;
	if (r < 0)
		return r;
	return header_parse(rk->hdr, rk->hlen, &rk->info);
}

/*
 * Works out where a change stands from the header, the journal and key
 * (see rekey_begin), and fills old_key / new_key / j / switched.
 */
static int classify(struct rekey *rk, const uint8_t *key)
{
	uint8_t raw[REKEY_JOURNAL_BYTES];
	int check, r;

	check = key_checks(rk->hdr, rk->hlen, key);
	if (check < 0 && check != -VFS_E_WRONGKEY)
		return check;
	rk->new_key = sodium_malloc(STORE_KEY_BYTES);
	if (!rk->new_key)
		return -ENOMEM;
	r = journal_read(rk->os, rk->info.store_id, &rk->j, raw);
	if (r == -ENOENT) {
		if (check < 0)
			return check;
		/* A new change. */
		rk->fresh = 1;
		rk->old_key = sodium_malloc(STORE_KEY_BYTES);
		if (!rk->old_key)
			return -ENOMEM;
		memcpy(rk->old_key, key, STORE_KEY_BYTES);
		randombytes_buf(rk->new_key, STORE_KEY_BYTES);
		memcpy(rk->j.store_id, rk->info.store_id, STORE_ID_BYTES);
		if (rk->info.key_epoch == UINT32_MAX)
			return -EOVERFLOW;
		rk->j.epoch = rk->info.key_epoch + 1;
		rk->j.epoch_seg = 0; /* set once the store is open */
		return 0;
	}
	if (r == -EBADMSG)
		return -VFS_E_DAMAGED;
	if (r < 0)
		return r;
	if (journal_open(raw, key, rk->new_key) == 0) {
		rk->old_key = sodium_malloc(STORE_KEY_BYTES);
		if (!rk->old_key)
			return -ENOMEM;
		memcpy(rk->old_key, key, STORE_KEY_BYTES);
		if (check == 0 && rk->j.epoch == rk->info.key_epoch + 1)
			return 0; /* not switched yet */
		if (rk->j.epoch == rk->info.key_epoch &&
		    key_checks(rk->hdr, rk->hlen, rk->new_key) == 0) {
			rk->switched = 1;
			return 0;
		}
		return -VFS_E_DAMAGED;
	}
	/* key does not open the journal: the new key of a switched change
	 * (the vault already hands it out), or a wrong key. */
	if (check < 0)
		return check;
	if (rk->j.epoch != rk->info.key_epoch)
		return -VFS_E_DAMAGED; /* a journal made with another key */
	memcpy(rk->new_key, key, STORE_KEY_BYTES);
	rk->switched = 1;
	return 0;
}

int rekey_begin_os(struct objstore *os, const uint8_t key[STORE_KEY_BYTES],
		   const char *state_dir, unsigned flags, struct rekey **ret)
{
	struct store_rekey_parts p;
	struct rekey *rk;
	int r;

	if (sodium_init() < 0)
		return -EIO;
	if (flags & STORE_READ_ONLY)
		return -EINVAL;
	rk = calloc(1, sizeof(*rk));
	if (!rk)
		return -ENOMEM;
	rk->os = os;
	rk->flags = flags;
	rk->state_dir = strdup(state_dir);
	if (!rk->state_dir) {
		r = -ENOMEM;
		goto out;
	}
	r = read_header(rk);
	if (r < 0)
		goto out;
	r = classify(rk, key);
	if (r < 0)
		goto out;
	r = store_open_os(os, rk->switched ? rk->new_key : rk->old_key,
			  state_dir, flags, &rk->s);
	if (r < 0)
		goto out;
	if (rk->switched) {
		*ret = rk;
		return 0;
	}
	store_rekey_parts(rk->s, &p);
	if (rk->fresh) {
		rk->j.epoch_seg = p.next_seg;
		r = journal_write(rk, 0);
	} else if (p.head_seg >= rk->j.epoch_seg) {
		/* K's head moved past the copies (a mount with K after a
		 * crash): copy again above it, with the same K2. */
		rk->j.epoch_seg = p.next_seg;
		r = journal_write(rk, 1);
	}
	if (r < 0)
		goto out;
	*ret = rk;
	return 0;
out:
	rk->own_os = 0;
	rekey_free(rk);
	return r;
}

int rekey_begin(const char *cloud_dir, const uint8_t key[STORE_KEY_BYTES],
		const char *state_dir, unsigned flags, struct rekey **ret)
{
	struct objstore *os;
	struct rekey *rk;
	int r;

	r = objstore_new(cloud_dir, &os);
	if (r < 0)
		return r;
	r = rekey_begin_os(os, key, state_dir, flags, &rk);
	if (r < 0) {
		objstore_free(os);
		return r;
	}
	rk->own_os = 1;
	*ret = rk;
	return 0;
}

/* ---- copying ---- */

struct cext {
	struct minode *ip;
	struct extent old, new;
};

struct cplan {
	struct cext *v;
	size_t n, cap;
	uint64_t total;
};

struct cseg {
	size_t first, n; /* extents of the plan */
	uint64_t size;
};

static int collect(void *ctx, struct minode *ip)
{
	struct cplan *pl = ctx;

	if (ip->deleted || !S_ISREG(ip->mode))
		return 0;
	for (size_t i = 0; i < ip->next; i++) {
		if (pl->n == pl->cap) {
			size_t ncap = pl->cap ? pl->cap * 2 : 256;
			struct cext *nv = realloc(pl->v, ncap * sizeof(*nv));

			if (!nv)
				return -ENOMEM;
			pl->v = nv;
			pl->cap = ncap;
		}
		pl->v[pl->n].ip = ip;
		pl->v[pl->n].old = ip->ext[i];
		pl->total += ip->ext[i].len;
		pl->n++;
	}
	return 0;
}

/* Inode order, then file offset: the plan does not depend on the hash
 * table's layout. */
static int cmp_cext(const void *a, const void *b)
{
	const struct cext *x = a, *y = b;

	if (x->ip->ino != y->ip->ino)
		return x->ip->ino < y->ip->ino ? -1 : 1;
	return x->old.off < y->old.off ? -1 : x->old.off > y->old.off;
}

/*
 * Lays the extents out into data-only segments of at most
 * STORE_SEG_TARGET bytes, one chunk per extent (exactly its bytes), and
 * fills each extent's new chunk offset and length. Deterministic: a
 * rerun over the same state makes the same plan.
 */
static int plan_segments(struct cplan *pl, struct cseg **ret, size_t *ret_n)
{
	struct cseg *segs = NULL;
	size_t n = 0, cap = 0;
	uint64_t size = 0;

	for (size_t i = 0; i < pl->n; i++) {
		uint64_t sealed = pl->v[i].old.len + CHUNK_OVERHEAD;

		if (n == 0 || size + sealed + CHUNK_OVERHEAD +
				      SEG_TRAILER_BYTES >
				  STORE_SEG_TARGET) {
			if (n > 0)
				segs[n - 1].size =
				    size + CHUNK_OVERHEAD + SEG_TRAILER_BYTES;
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				struct cseg *ns =
				    realloc(segs, ncap * sizeof(*ns));

				if (!ns) {
					free(segs);
					return -ENOMEM;
				}
				segs = ns;
				cap = ncap;
			}
			segs[n].first = i;
			segs[n].n = 0;
			n++;
			size = SEG_HDR_BYTES;
		}
		pl->v[i].new.off = pl->v[i].old.off;
		pl->v[i].new.len = pl->v[i].old.len;
		pl->v[i].new.skip = 0;
		pl->v[i].new.coff = (uint32_t)size;
		pl->v[i].new.sealed = (uint32_t)sealed;
		size += sealed;
		segs[n - 1].n++;
	}
	if (n > 0)
		segs[n - 1].size = size + CHUNK_OVERHEAD + SEG_TRAILER_BYTES;
	*ret = segs;
	*ret_n = n;
	return 0;
}

/*
 * 1 if segment segno is a complete copy of plan segment cs sealed under
 * k2 (placed objects are complete: written, fsync-ed, then renamed), with
 * its random id in rid; 0 if it is missing or anything else.
 */
static int seg_done(struct objstore *os, const struct keys *k2,
		    const uint8_t *store_id, uint64_t segno,
		    const struct cseg *cs, uint8_t rid[CHUNK_RID_BYTES])
{
	struct chunk_pos pos;
	uint8_t *sealed = NULL, out[1];
	uint32_t slen;
	uint64_t off;
	uint8_t kind;
	int r;

	r = seg_read_last(os, segno, rid, &kind, &sealed, &slen, &off);
	if (r == -ENOENT || r == -EBADMSG)
		return 0;
	if (r < 0)
		return r;
	r = 0;
	if (kind != CHUNK_META || slen != CHUNK_OVERHEAD ||
	    off + CHUNK_OVERHEAD + SEG_TRAILER_BYTES != cs->size)
		goto out;
	pos.store_id = store_id;
	pos.segno = segno;
	pos.seg_rid = rid;
	pos.offset = off;
	pos.kind = CHUNK_META;
	pos.last = 1;
	r = chunk_open(k2->meta, &pos, sealed, slen, out) == 0 ? 1 : 0;
out:
	free(sealed);
	return r;
}

static int copy_segment(struct rekey *rk, const struct store_rekey_parts *p,
			const struct keys *k2, struct cplan *pl,
			const struct cseg *cs, uint64_t segno, uint8_t *buf,
			uint8_t rid[CHUNK_RID_BYTES])
{
	char name[OBJSTORE_NAME_MAX];
	const uint8_t *sealed;
	uint32_t slen;
	struct segw sw;
	int r;

	objstore_seg_name(segno, name);
	/* Whatever holds the name (a copy of another plan) goes first. */
	r = objstore_remove(rk->os, name);
	if (r < 0)
		return r;
	segw_init(&sw, p->store_id, segno);
	for (size_t i = cs->first; i < cs->first + cs->n; i++) {
		const struct extent *e = &pl->v[i].old;
		struct segent *se = meta_seg(p->m, e->seg);
		uint32_t coff, sl;
		int n;

		if (!se) {
			r = -EBADMSG;
			goto out;
		}
		n = seg_read_chunk(rk->os, p->keys->data, p->store_id, e->seg,
				   se->rid, e->coff, e->sealed, CHUNK_DATA, 0,
				   buf);
		if (n < 0) {
			r = n;
			goto out;
		}
		if ((uint64_t)e->skip + e->len > (uint64_t)n) {
			r = -EBADMSG;
			goto out;
		}
		r = segw_add(&sw, k2->data, CHUNK_DATA, buf + e->skip, e->len,
			     &coff, &sl);
		if (r < 0)
			goto out;
		if (coff != pl->v[i].new.coff || sl != pl->v[i].new.sealed) {
			r = -EIO; /* the plan and the writer disagree: a bug */
			goto out;
		}
	}
	r = segw_finish(&sw, k2->meta, CHUNK_META, NULL, 0, &sealed, &slen);
	if (r < 0)
		goto out;
	if (sw.w.len != cs->size) {
		r = -EIO;
		goto out;
	}
	r = objstore_put(rk->os, name, sw.w.data, sw.w.len);
	if (r == 0)
		memcpy(rid, sw.rid, CHUNK_RID_BYTES);
out:
	sodium_memzero(buf, CHUNK_PLAIN_MAX);
	segw_release(&sw);
	return r;
}

/*
 * Finds a checkpoint commit under k2 that is the child of K's head (a
 * crashed run got that far): 1, 0 if none.
 */
static int find_k2_commit(struct rekey *rk, const struct store_rekey_parts *p,
			  const struct keys *k2)
{
	uint64_t *segs = NULL;
	size_t n = 0;
	int r, found = 0;

	r = objstore_list_segments(rk->os, 0, &segs, &n, NULL);
	if (r < 0)
		return r;
	for (size_t i = n; i-- > 0 && segs[i] >= rk->j.epoch_seg;) {
		struct commit c;

		if (commit_read(rk->os, k2, p->store_id, segs[i], &c) < 0)
			continue;
		found = c.is_ckpt && c.parent_seg == p->head_seg &&
			c.gen == p->gen + 1 &&
			sodium_memcmp(c.parent_hash, p->head_hash,
				      COMMIT_HASH_BYTES) == 0;
		commit_release(&c);
		if (found)
			break;
	}
	free(segs);
	return found;
}

static int copy_all(struct rekey *rk, struct keys *k2,
		    rekey_progress_fn progress, void *ctx)
{
	struct store_rekey_parts p;
	struct cplan pl = {0};
	struct cseg *segs = NULL;
	uint8_t *buf = NULL;
	uint64_t done = 0;
	size_t nsegs = 0;
	int r;

	store_rekey_parts(rk->s, &p);
	if (p.dirty)
		return -EBUSY;
	r = meta_foreach(p.m, collect, &pl);
	if (r < 0)
		goto out;
	if (pl.n)
		qsort(pl.v, pl.n, sizeof(*pl.v), cmp_cext);
	r = plan_segments(&pl, &segs, &nsegs);
	if (r < 0)
		goto out;
	buf = malloc(CHUNK_PLAIN_MAX);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	if (progress)
		progress(ctx, 0, pl.total);
	for (size_t i = 0; i < nsegs; i++) {
		uint8_t rid[CHUNK_RID_BYTES];
		uint64_t segno = rk->j.epoch_seg + i, bytes = 0;

		r = seg_done(rk->os, k2, p.store_id, segno, &segs[i], rid);
		if (r == 0)
			r = copy_segment(rk, &p, k2, &pl, &segs[i], segno, buf,
					 rid);
		if (r < 0)
			goto out;
		r = meta_seg_add(p.m, segno, rid, segs[i].size);
		if (r < 0)
			goto out;
		for (size_t k = segs[i].first; k < segs[i].first + segs[i].n;
		     k++) {
			pl.v[k].new.seg = segno;
			bytes += pl.v[k].new.len;
		}
		done += bytes;
		if (progress)
			progress(ctx, done, pl.total);
	}
	/* Every copy is durable: now point the state at them. */
	for (size_t i = 0; i < pl.n; i++) {
		r = meta_extent_set(p.m, pl.v[i].ip, &pl.v[i].new);
		if (r < 0)
			goto out;
	}
	/* Nothing of the new state may stay in a segment of the old key
	 * (those are removed at the end). */
	for (size_t i = 0; i < p.m->nsegs; i++) {
		if (p.m->segs[i].live > 0 &&
		    p.m->segs[i].segno < rk->j.epoch_seg) {
			r = -EIO;
			goto out;
		}
	}
	r = store_rekey_commit(rk->s, k2, rk->j.epoch_seg + nsegs);
	k2 = NULL; /* transferred */
out:
	keys_free(k2);
	free(buf);
	free(segs);
	free(pl.v);
	return r;
}

int rekey_switch(struct rekey *rk, rekey_progress_fn progress, void *ctx)
{
	struct store_info ninfo;
	struct store_rekey_parts p;
	struct keys *k2 = NULL;
	struct bufw w;
	int r;

	if (rk->switched)
		return 0;
	rk->copied = 1;
	bufw_init(&w, HEADER_MAX, 0);
	r = keys_new(rk->new_key, &k2);
	if (r < 0)
		return r;
	store_rekey_parts(rk->s, &p);
	r = find_k2_commit(rk, &p, k2);
	if (r < 0)
		goto out;
	if (r == 0) {
		struct keys *kc = NULL;

		r = keys_new(rk->new_key, &kc);
		if (r == 0)
			r = copy_all(rk, kc, progress, ctx); /* takes kc */
		if (r < 0)
			goto out;
	}
	/* The switch: while this process still holds the lease under K. */
	ninfo = rk->info;
	ninfo.key_epoch = rk->j.epoch;
	ninfo.epoch_seg = rk->j.epoch_seg;
	r = header_encode(&ninfo, k2->hdr, &w);
	if (r < 0)
		goto out;
	r = objstore_replace(rk->os, OBJSTORE_HEADER_NAME, w.data, w.len);
	if (r < 0)
		goto out;
	r = store_close(rk->s);
	rk->s = NULL;
	if (r == 0)
		r = store_open_os(rk->os, rk->new_key, rk->state_dir,
				  rk->flags, &rk->s);
	if (r == -VFS_E_DAMAGED) {
		/* K2 does not load what was written (no high-water mark was
		 * raised then): put K's header back; K's objects are all
		 * still there. Other errors (I/O) leave the switch for a
		 * rerun to pick up. */
		int e = objstore_replace(rk->os, OBJSTORE_HEADER_NAME, rk->hdr,
					 rk->hlen);

		if (e < 0)
			r = e;
	}
	if (r < 0)
		goto out;
	rk->info = ninfo;
	rk->switched = 1;
	r = 0;
out:
	bufw_release(&w);
	keys_free(k2);
	return r;
}

int rekey_finish(struct rekey *rk)
{
	uint64_t *segs = NULL;
	size_t n = 0;
	int r;

	if (!rk->switched)
		return -EINVAL;
	r = objstore_list_segments(rk->os, 1, &segs, &n, NULL);
	if (r < 0)
		return r;
	/* The header's first segment of this epoch (authenticated by the
	 * key check), not the journal's plain copy. */
	for (size_t i = 0; i < n && segs[i] < rk->info.epoch_seg; i++) {
		char name[OBJSTORE_NAME_MAX];

		objstore_seg_name(segs[i], name);
		r = objstore_remove(rk->os, name);
		if (r < 0)
			goto out;
	}
	r = objstore_remove(rk->os, REKEY_JOURNAL_NAME);
out:
	free(segs);
	return r;
}

int rekey_abandon(struct rekey *rk)
{
	if (!rk->fresh || rk->switched || rk->copied)
		return -EINVAL;
	return objstore_remove(rk->os, REKEY_JOURNAL_NAME);
}

/*
 * store.c - the store as a filesystem of inodes (store.h).
 *
 * Glue between the metadata in memory (meta.c), the dirty data buffers
 * (here), segments and commits (segment.c, commit.c) and the cloud folder
 * (objstore.c). Every operation changes the metadata in memory at once and
 * appends its records to a pending log; written data waits in 64 KiB
 * blocks. A commit turns both into one new segment. See docs/format.md for
 * the bytes and docs/decisions.md for the why.
 */
#include "config.h"

#include <errno.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "chunk.h"
#include "commit.h"
#include "hwm_async.h"
#include "header.h"
#include "lease.h"
#include "meta.h"
#include "objstore.h"
#include "rekey.h"
#include "segment.h"
#include "store.h"
#include "store_priv.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

#define CACHE_SLOTS 16
/* Segment numbers stay below this (no wrap, ever). A listed name above it,
 * or more than STORE_SEG_WINDOW above the newest authenticated segment, is
 * debris (anyone who can write the folder can plant names) and does not
 * move the next number. */
#define STORE_SEG_LIMIT ((uint64_t)1 << 48)
#define STORE_SEG_WINDOW ((uint64_t)1 << 32)
/* Cap on the metadata records loaded at open (checkpoint + deltas). */
#define META_LOAD_MAX (1u << 30)

struct dblock {
	uint64_t idx;
	uint32_t lo, hi; /* valid bytes [lo, hi) of the block */
	uint32_t cap;	 /* allocated bytes */
	uint8_t *data;	 /* data[i] is byte lo + i of the block */
};

struct cslot {
	uint64_t seg;
	uint32_t coff;
	uint32_t len;
	uint64_t used;
	uint8_t *data;
};

struct store {
	pthread_mutex_t lock;
	struct objstore *os;
	int own_os;
	struct keys *keys;
	uint8_t store_id[STORE_ID_BYTES];
	char *state_dir;
	unsigned flags;
	struct meta *m;
	struct lease *lease; /* read-write stores */
	/* Header as opened; the next commit first raises it to need_format
	 * when its records need a newer format (an older vaultfs then
	 * refuses the store at the header instead of misreading it). */
	struct store_info info;
	uint32_t need_format;

	uint64_t gen;
	uint64_t head_time; /* wall clock seconds of the head commit */
	uint64_t head_seg;
	uint8_t head_hash[COMMIT_HASH_BYTES];
	uint64_t ckpt_seg;
	uint64_t commits_since_ckpt;
	uint64_t delta_bytes; /* records since the checkpoint */
	uint64_t ckpt_bytes;  /* size of the last checkpoint */
	uint64_t next_seg;
	uint64_t next_ino;
	unsigned follow_misses; /* read-only: ticks next_seg was absent */
	int force_ckpt;
	/* Segments below this were sealed under an earlier key (rekey). */
	uint64_t epoch_seg;

	struct bufw pend; /* pending records (names: secret) */
	int meta_dirty;	  /* pending records or attr changes */
	size_t nblocks;	  /* dirty blocks of live inodes */
	uint64_t dirty_bytes;
	uint64_t dirty_mem;	     /* bytes allocated for them */
	struct timespec dirty_since; /* CLOCK_MONOTONIC; 0 if clean */

	struct cslot cache[CACHE_SLOTS];
	uint64_t cache_clock;

	uint64_t spills, checkpoints;
	size_t foreign;
	int broken; /* memory no longer matches the log */
	/* The head commit was renamed into place but its folder's fsync
	 * failed: it is the head in memory, but not yet known durable (no
	 * high-water mark); the next commit retries the fsync first. */
	int head_unsynced;
	int lease_lost; /* lease_renew saw another writer: no more commits */
	struct hwm_async *hwma; /* STORE_ASYNC_HWM: the mark's writer */

	/* Inodes changed since the last commit (attributes or data), so a
	 * commit visits those only; when the list cannot grow, all. */
	uint64_t *changed;
	size_t nchanged, changedcap;
	int changed_all;

	/* cleaner */
	uint64_t ckpt_time; /* wall clock of the current checkpoint */
	unsigned clean_grace_sec;
	unsigned clean_interval_ms;
	struct timespec last_clean; /* CLOCK_MONOTONIC */
	int clean_more; /* the last pass made progress: next one soon */
	int cleaning;	/* a pass works without the lock right now */
	uint64_t compactions, removed;
};

/* ---- small helpers ---- */

static struct timespec now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts;
}

static void mark_dirty(struct store *s)
{
	if (s->dirty_since.tv_sec == 0 && s->dirty_since.tv_nsec == 0) {
		clock_gettime(CLOCK_MONOTONIC, &s->dirty_since);
		if (s->dirty_since.tv_sec == 0 && s->dirty_since.tv_nsec == 0)
			s->dirty_since.tv_nsec = 1;
	}
}

static void meta_changed(struct store *s)
{
	s->meta_dirty = 1;
	mark_dirty(s);
}

static void note_changed(struct store *s, struct minode *ip)
{
	if (ip->listed || s->changed_all)
		return;
	if (s->nchanged == s->changedcap) {
		size_t ncap = s->changedcap ? s->changedcap * 2 : 64;
		uint64_t *n = realloc(s->changed, ncap * sizeof(*n));

		if (!n) {
			s->changed_all = 1;
			return;
		}
		s->changed = n;
		s->changedcap = ncap;
	}
	s->changed[s->nchanged++] = ip->ino;
	ip->listed = 1;
}

static void touch(struct store *s, struct minode *ip, int mtime)
{
	struct timespec t = now_real();

	ip->ctime = t;
	if (mtime)
		ip->mtime = t;
	ip->attr_dirty = 1;
	note_changed(s, ip);
	meta_changed(s);
}

static int pend_error(struct store *s)
{
	return bufw_error(&s->pend);
}

static uint64_t dirty_valid(const struct minode *ip)
{
	uint64_t n = 0;

	for (size_t i = 0; i < ip->ndirty; i++)
		n += ip->dirty[i].hi - ip->dirty[i].lo;
	return n;
}

static void fill_attr(const struct minode *ip, struct store_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = ip->ino;
	a->mode = ip->mode;
	a->nlink = ip->nlink;
	a->uid = ip->uid;
	a->gid = ip->gid;
	a->rdev = ip->rdev;
	a->size = S_ISDIR(ip->mode) ? 4096 : ip->size;
	if (S_ISREG(ip->mode))
		a->blocks = (ip->stored + dirty_valid(ip) + 511) / 512;
	a->atime = ip->atime;
	a->mtime = ip->mtime;
	a->ctime = ip->ctime;
}

static void block_free(struct dblock *b)
{
	if (b->data) {
		sodium_memzero(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
}

static uint64_t dirty_alloc(const struct minode *ip)
{
	uint64_t n = 0;

	for (size_t i = 0; i < ip->ndirty; i++)
		n += ip->dirty[i].cap;
	return n;
}

/* Frees all of ip's dirty blocks, keeping the store's counters right. */
static void drop_dirty(struct store *s, struct minode *ip)
{
	if (!ip->deleted) {
		s->nblocks -= ip->ndirty;
		s->dirty_bytes -= dirty_valid(ip);
		s->dirty_mem -= dirty_alloc(ip);
	}
	for (size_t i = 0; i < ip->ndirty; i++)
		block_free(&ip->dirty[i]);
	free(ip->dirty);
	ip->dirty = NULL;
	ip->ndirty = ip->dirtycap = 0;
}

/* Frees an inode that has no names, no lookups and no opens left. */
static void maybe_reap(struct store *s, struct minode *ip)
{
	if (!ip->deleted || ip->nlookup || ip->nopen)
		return;
	drop_dirty(s, ip);
	meta_inode_remove(s->m, ip);
}

/* The inode lost its last name: drop it from what gets committed. */
static void mark_deleted(struct store *s, struct minode *ip)
{
	s->nblocks -= ip->ndirty;
	s->dirty_bytes -= dirty_valid(ip);
	s->dirty_mem -= dirty_alloc(ip);
	ip->deleted = 1;
	ip->attr_dirty = 0;
	meta_rec_inode_del(&s->pend, ip->ino);
	meta_changed(s);
	maybe_reap(s, ip);
}

static int get_inode(struct store *s, uint64_t ino, struct minode **ret)
{
	struct minode *ip = meta_inode(s->m, ino);

	if (!ip)
		return -ENOENT;
	*ret = ip;
	return 0;
}

static int get_dir(struct store *s, uint64_t ino, struct minode **ret)
{
	struct minode *ip = meta_inode(s->m, ino);

	if (!ip)
		return -ENOENT;
	if (!S_ISDIR(ip->mode))
		return -ENOTDIR;
	*ret = ip;
	return 0;
}

static int check_name(const char *name, size_t *ret_len)
{
	size_t len = strnlen(name, STORE_NAME_MAX + 1);
	int r;

	r = meta_name_check(name, len);
	if (r < 0)
		return r;
	*ret_len = len;
	return 0;
}

static int writable(struct store *s)
{
	if (s->broken)
		return -EIO;
	return (s->flags & STORE_READ_ONLY) ? -EROFS : 0;
}

/* ---- reading stored data ---- */

static int cache_get(struct store *s, const struct extent *e,
		     const uint8_t **ret)
{
	struct cslot *victim = &s->cache[0];
	struct segent *se;
	int n;

	for (int i = 0; i < CACHE_SLOTS; i++) {
		struct cslot *c = &s->cache[i];

		if (c->data && c->seg == e->seg && c->coff == e->coff) {
			c->used = ++s->cache_clock;
			*ret = c->data;
			return (int)c->len;
		}
		if (!c->data || c->used < victim->used)
			victim = c;
	}
	se = meta_seg(s->m, e->seg);
	if (!se)
		return -EIO;
	if (!victim->data) {
		victim->data = malloc(CHUNK_PLAIN_MAX);
		if (!victim->data)
			return -ENOMEM;
	}
	victim->seg = 0;
	n = seg_read_chunk(s->os, s->keys->data, s->store_id, e->seg, se->rid,
			   e->coff, e->sealed, CHUNK_DATA, 0, victim->data);
	/* A missing segment: damage, or (read-only) a commit older than the
	 * writer's cleaning grace period, until this store follows. */
	if (n == -ENOENT)
		return -VFS_E_DAMAGED;
	if (n < 0)
		return n == -EBADMSG ? n : -EIO;
	victim->seg = e->seg;
	victim->coff = e->coff;
	victim->len = (uint32_t)n;
	victim->used = ++s->cache_clock;
	*ret = victim->data;
	return n;
}

static void cache_clear(struct store *s)
{
	for (int i = 0; i < CACHE_SLOTS; i++) {
		if (s->cache[i].data) {
			sodium_memzero(s->cache[i].data, CHUNK_PLAIN_MAX);
			free(s->cache[i].data);
		}
		s->cache[i].data = NULL;
	}
}

/* Reads [off, off+len) as committed (extents and holes), no dirty data. */
static int read_stored(struct store *s, struct minode *ip, uint64_t off,
		       size_t len, uint8_t *buf)
{
	uint64_t end = off + len;

	memset(buf, 0, len);
	for (size_t i = meta_extent_find(ip, off);
	     i < ip->next && ip->ext[i].off < end; i++) {
		const struct extent *e = &ip->ext[i];
		uint64_t a = e->off > off ? e->off : off;
		uint64_t b = e->off + e->len < end ? e->off + e->len : end;
		const uint8_t *plain;
		int n;

		n = cache_get(s, e, &plain);
		if (n < 0)
			return n;
		if ((uint64_t)e->skip + e->len > (uint64_t)n)
			return -EBADMSG;
		memcpy(buf + (a - off), plain + e->skip + (a - e->off), b - a);
	}
	return 0;
}

/* ---- dirty blocks ---- */

static size_t dblock_find(const struct minode *ip, uint64_t idx)
{
	size_t lo = 0, hi = ip->ndirty;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ip->dirty[mid].idx < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void dblock_remove(struct store *s, struct minode *ip, size_t i)
{
	if (!ip->deleted) {
		s->nblocks--;
		s->dirty_bytes -= ip->dirty[i].hi - ip->dirty[i].lo;
		s->dirty_mem -= ip->dirty[i].cap;
	}
	block_free(&ip->dirty[i]);
	memmove(&ip->dirty[i], &ip->dirty[i + 1],
		(ip->ndirty - i - 1) * sizeof(*ip->dirty));
	ip->ndirty--;
}

/* Trims dirty data at and beyond size. */
static void dirty_truncate(struct store *s, struct minode *ip, uint64_t size)
{
	size_t i = ip->ndirty;

	while (i > 0) {
		struct dblock *b = &ip->dirty[i - 1];
		uint64_t start = b->idx * STORE_BLOCK_SIZE;

		if (start + b->hi <= size)
			break;
		if (start + b->lo >= size) {
			dblock_remove(s, ip, i - 1);
		} else {
			uint32_t nhi = (uint32_t)(size - start);

			if (!ip->deleted)
				s->dirty_bytes -= b->hi - nhi;
			b->hi = nhi;
		}
		i--;
	}
}

static int spill(struct store *s);

static uint32_t round_cap(uint32_t n)
{
	uint32_t c = 4096;

	while (c < n)
		c *= 2;
	return c < STORE_BLOCK_SIZE ? c : STORE_BLOCK_SIZE;
}

/*
 * Writes [a, b) of block idx from src. A block buffer holds only its
 * valid range (a small write costs a small buffer); it stays one range by
 * filling a gap from what is stored. On failure the block is unchanged.
 */
static int dirty_put(struct store *s, struct minode *ip, uint64_t idx,
		     uint32_t a, uint32_t b, const uint8_t *src)
{
	size_t i = dblock_find(ip, idx);
	uint64_t start = idx * STORE_BLOCK_SIZE;
	struct dblock *blk;
	uint32_t nlo, nhi, olo, ohi, ncap = 0;
	uint8_t *buf;
	int r, exists;

	exists = i < ip->ndirty && ip->dirty[i].idx == idx;
	if (exists) {
		blk = &ip->dirty[i];
		nlo = a < blk->lo ? a : blk->lo;
		nhi = b > blk->hi ? b : blk->hi;
		if (nhi - nlo > blk->cap || nlo < blk->lo)
			ncap =
			    round_cap(nhi - nlo > 2 * blk->cap ? nhi - nlo
							       : 2 * blk->cap);
	} else {
		nlo = a;
		nhi = b;
		ncap = round_cap(b - a);
	}
	if (ncap && !ip->deleted && s->dirty_mem + ncap > STORE_SEG_TARGET) {
		/* Bound the memory: everything dirty goes to a data-only
		 * segment, then this write starts a fresh block. */
		r = spill(s);
		if (r < 0)
			return r;
		if (exists)
			return dirty_put(s, ip, idx, a, b, src);
	}
	if (!exists) {
		struct dblock nb = {.idx = idx, .lo = a, .hi = b};

		if (ip->ndirty == ip->dirtycap) {
			size_t nc = ip->dirtycap ? ip->dirtycap * 2 : 4;
			struct dblock *nd =
			    realloc(ip->dirty, nc * sizeof(*nd));

			if (!nd)
				return -ENOMEM;
			ip->dirty = nd;
			ip->dirtycap = nc;
		}
		nb.data = malloc(ncap);
		if (!nb.data)
			return -ENOMEM;
		nb.cap = ncap;
		memcpy(nb.data, src, b - a);
		i = dblock_find(ip, idx);
		memmove(&ip->dirty[i + 1], &ip->dirty[i],
			(ip->ndirty - i) * sizeof(*ip->dirty));
		ip->dirty[i] = nb;
		ip->ndirty++;
		if (!ip->deleted) {
			s->nblocks++;
			s->dirty_bytes += b - a;
			s->dirty_mem += ncap;
		}
		note_changed(s, ip);
		mark_dirty(s);
		return 0;
	}
	blk = &ip->dirty[i];
	olo = blk->lo;
	ohi = blk->hi;
	buf = blk->data;
	if (ncap) {
		buf = malloc(ncap);
		if (!buf)
			return -ENOMEM;
		memcpy(buf + (olo - nlo), blk->data, ohi - olo);
	}
	/* buf[j] is byte nlo + j of the block from here on */
	r = 0;
	if (ohi < a)
		r = read_stored(s, ip, start + ohi, a - ohi, buf + (ohi - nlo));
	if (r == 0 && b < olo)
		r = read_stored(s, ip, start + b, olo - b, buf + (b - nlo));
	if (r < 0) {
		if (ncap) {
			sodium_memzero(buf, ncap);
			free(buf);
		}
		return r;
	}
	memcpy(buf + (a - nlo), src, b - a);
	if (ncap) {
		if (!ip->deleted)
			s->dirty_mem += ncap - blk->cap;
		block_free(blk);
		blk->data = buf;
		blk->cap = ncap;
	}
	blk->lo = nlo;
	blk->hi = nhi;
	if (!ip->deleted)
		s->dirty_bytes += (nhi - nlo) - (ohi - olo);
	mark_dirty(s);
	return 0;
}

/* ---- commits ---- */

struct newext {
	struct minode *ip;
	struct extent e;
	size_t blk; /* index into ip->dirty */
};

struct flushlist {
	struct newext *v;
	size_t n, cap;
};

static int flush_push(struct flushlist *fl, struct minode *ip,
		      const struct extent *e, size_t blk)
{
	if (fl->n == fl->cap) {
		size_t ncap = fl->cap ? fl->cap * 2 : 64;
		struct newext *nv = realloc(fl->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		fl->v = nv;
		fl->cap = ncap;
	}
	fl->v[fl->n].ip = ip;
	fl->v[fl->n].e = *e;
	fl->v[fl->n].blk = blk;
	fl->n++;
	return 0;
}

struct datactx {
	struct store *s;
	struct segw *sw;
	struct flushlist *fl;
	struct bufw *recs;
};

/* Seals every dirty block of a live inode into the segment. */
static int add_data(void *ctx, struct minode *ip)
{
	struct datactx *dc = ctx;

	if (ip->deleted)
		return 0;
	for (size_t i = 0; i < ip->ndirty; i++) {
		struct dblock *b = &ip->dirty[i];
		struct extent e;
		int r;

		if (b->hi <= b->lo)
			continue;
		r = segw_add(dc->sw, dc->s->keys->data, CHUNK_DATA, b->data,
			     b->hi - b->lo, &e.coff, &e.sealed);
		if (r < 0)
			return r;
		e.off = b->idx * STORE_BLOCK_SIZE + b->lo;
		e.seg = dc->sw->segno;
		e.len = b->hi - b->lo;
		e.skip = 0;
		r = flush_push(dc->fl, ip, &e, i);
		if (r < 0)
			return r;
		meta_rec_extent(dc->recs, ip->ino, &e);
		r = bufw_error(dc->recs);
		if (r < 0)
			return r;
	}
	return 0;
}

/* After the segment holding fl is durable: map the extents, free the
 * blocks. */
static int flush_apply(struct store *s, struct flushlist *fl)
{
	int r = 0;

	for (size_t i = 0; i < fl->n; i++) {
		int e = meta_extent_set(s->m, fl->v[i].ip, &fl->v[i].e);

		if (e < 0 && r == 0)
			r = e;
	}
	for (size_t i = 0; i < fl->n; i++)
		if (!fl->v[i].ip->deleted && fl->v[i].ip->dirty)
			drop_dirty(s, fl->v[i].ip);
	return r;
}

/* Calls fn for every inode changed since the last commit. */
static int foreach_changed(struct store *s,
			   int (*fn)(void *ctx, struct minode *ip), void *ctx)
{
	if (s->changed_all)
		return meta_foreach(s->m, fn, ctx);
	for (size_t i = 0; i < s->nchanged; i++) {
		struct minode *ip = meta_inode(s->m, s->changed[i]);
		int r;

		if (ip) {
			r = fn(ctx, ip);
			if (r)
				return r;
		}
	}
	return 0;
}

/* Takes the next segment number: always above the head, never wrapping
 * (-EOVERFLOW). */
static int new_segno(struct store *s, uint64_t *ret)
{
	if (s->next_seg <= s->head_seg || s->next_seg == 0 ||
	    s->next_seg >= STORE_SEG_LIMIT)
		return -EOVERFLOW;
	*ret = s->next_seg++;
	return 0;
}

/* About the size of the segment a spill (or, with commit, a commit) would
 * write now, so its buffer is allocated once instead of grown by
 * doubling (each step a copy and fresh pages; docs/benchmarks.md,
 * "Tuning, session 3"). */
static size_t seg_expect(const struct store *s, int commit)
{
	size_t n = SEG_HDR_BYTES + SEG_TRAILER_BYTES + CHUNK_OVERHEAD +
		   (size_t)s->dirty_bytes + s->nblocks * CHUNK_OVERHEAD;

	if (commit)
		n += s->pend.len + 4096;
	return n;
}

/* Remembers the head in the state folder (rollback and fork checks). */
static int write_hwm(struct store *s)
{
	struct hwm h;

	h.gen = s->gen;
	h.segno = s->head_seg;
	memcpy(h.hash, s->head_hash, COMMIT_HASH_BYTES);
	if (s->hwma)
		return hwma_post(s->hwma, &h);
	return hwm_write(s->state_dir, s->store_id, &h);
}

/*
 * Writes all dirty data of live inodes into one data-only segment, maps
 * it and logs its records; the next commit makes it reachable.
 */
static int spill(struct store *s)
{
	struct flushlist fl = {0};
	struct bufw recs;
	struct segw sw;
	struct segent se;
	struct datactx dc;
	const uint8_t *sealed;
	char name[OBJSTORE_NAME_MAX];
	uint32_t slen;
	uint64_t segno;
	int r;

	if (s->nblocks == 0)
		return 0;
	r = new_segno(s, &segno);
	if (r < 0)
		return r;
	segw_init(&sw, s->store_id, segno);
	bufw_init(&recs, SIZE_MAX, 1);
	r = segw_expect(&sw, seg_expect(s, 0));
	if (r < 0)
		goto out;
	dc.s = s;
	dc.sw = &sw;
	dc.fl = &fl;
	dc.recs = &recs;
	r = foreach_changed(s, add_data, &dc);
	if (r < 0)
		goto out;
	r = segw_finish(&sw, s->keys->meta, CHUNK_META, NULL, 0, &sealed,
			&slen);
	if (r < 0)
		goto out;
	/* Not durable yet: no commit names it before objstore_settle (in
	 * do_commit) made it durable and named. */
	if (s->lease_lost) {
		r = -VFS_E_LEASE;
		goto out;
	}
	objstore_seg_name(sw.segno, name);
	r = objstore_put_deferred(s->os, name, sw.w.data, sw.w.len);
	if (r < 0)
		goto out;
	se.segno = sw.segno;
	memcpy(se.rid, sw.rid, sizeof(se.rid));
	se.size = sw.w.len;
	r = meta_seg_add(s->m, se.segno, se.rid, se.size);
	if (r == 0) {
		meta_rec_seg(&s->pend, &se);
		bufw_put(&s->pend, recs.data, recs.len);
		r = pend_error(s);
	}
	if (r == 0)
		r = flush_apply(s, &fl);
	if (r < 0) {
		s->broken = 1;
		goto out;
	}
	s->spills++;
	meta_changed(s);
out:
	free(fl.v);
	bufw_release(&recs);
	segw_release(&sw);
	return r;
}

/*
 * Before a commit whose records need a newer format: replaces the header
 * with one naming that version (durably, before the segment exists), so
 * no vaultfs too old for the records ever reads them.
 */
static int raise_format(struct store *s)
{
	struct store_info info;
	struct bufw w;
	int r;

	if (s->need_format <= s->info.format_version)
		return 0;
	if (s->lease_lost)
		return -VFS_E_LEASE;
	info = s->info;
	info.format_version = s->need_format;
	bufw_init(&w, HEADER_MAX, 0);
	r = header_encode(&info, s->keys->hdr, &w);
	if (r == 0)
		r = objstore_replace(s->os, OBJSTORE_HEADER_NAME, w.data,
				     w.len);
	bufw_release(&w);
	if (r < 0)
		return r;
	s->info.format_version = s->need_format;
	return 0;
}

static int is_dirty(struct store *s)
{
	return s->meta_dirty || s->nblocks || s->force_ckpt;
}

static int final_inodes(void *ctx, struct minode *ip)
{
	struct bufw *w = ctx;

	if (ip->attr_dirty && !ip->deleted)
		meta_rec_inode(w, ip);
	return bufw_error(w);
}

static int clear_attr_dirty(void *ctx, struct minode *ip)
{
	ip->attr_dirty = 0;
	ip->listed = 0;
	return 0;
}

static int do_commit(struct store *s)
{
	struct flushlist fl = {0};
	struct bufw recs, ext;
	struct commit c;
	struct segw sw;
	struct segent se;
	struct datactx dc;
	const uint8_t *sealed;
	char name[OBJSTORE_NAME_MAX];
	uint32_t slen;
	uint64_t segno;
	size_t nmeta = 0, data_end;
	int r, ckpt = 0, placed, synced;

	if (s->flags & STORE_READ_ONLY)
		return 0;
	if (s->broken)
		return -EIO;
	if (s->lease_lost)
		return -VFS_E_LEASE;
	if (s->head_unsynced) {
		/* The head exists; only its folder's fsync is missing. */
		objstore_seg_name(s->head_seg, name);
		r = objstore_sync_dir(s->os, name);
		if (r < 0)
			return r;
		s->head_unsynced = 0;
		if (s->state_dir) {
			r = write_hwm(s);
			if (r < 0)
				return r;
		}
	}
	if (!is_dirty(s))
		return 0;
	if (s->lease) {
		/* Never commit on a lease past its renewal time without
		 * checking it is still ours: a writer frozen (SIGSTOP, a
		 * suspended laptop) may have been taken over meanwhile, and
		 * an fsync can come before the ticker's renewal. */
		r = lease_renew(s->lease);
		if (r == -VFS_E_LEASE)
			s->lease_lost = 1;
		if (r < 0)
			return r;
	}
	r = new_segno(s, &segno);
	if (r < 0)
		return r;
	memset(&c, 0, sizeof(c));
	segw_init(&sw, s->store_id, segno);
	bufw_init(&recs, META_LOAD_MAX, 1);
	bufw_init(&ext, META_LOAD_MAX, 1);
	r = segw_expect(&sw, seg_expect(s, 1));
	if (r < 0)
		goto out;

	/* Data first: its chunks sit right after the segment header. */
	dc.s = s;
	dc.sw = &sw;
	dc.fl = &fl;
	dc.recs = &ext;
	r = foreach_changed(s, add_data, &dc);
	if (r < 0)
		goto out;
	data_end = segw_size(&sw);

	/* Deltas, or the whole state when a checkpoint is due. */
	bufw_put(&recs, s->pend.data, s->pend.len);
	r = foreach_changed(s, final_inodes, &recs);
	if (r < 0)
		goto out;
	if (s->force_ckpt ||
	    s->commits_since_ckpt + 1 >= STORE_CKPT_MAX_COMMITS ||
	    s->delta_bytes + recs.len + ext.len >
		(s->ckpt_bytes > STORE_CKPT_MIN_BYTES ? s->ckpt_bytes
						      : STORE_CKPT_MIN_BYTES)) {
		ckpt = 1;
		bufw_release(&recs);
		bufw_init(&recs, META_LOAD_MAX, 1);
		r = meta_checkpoint(s->m, &recs);
		if (r < 0)
			goto out;
	}
	if (fl.n) {
		se.segno = sw.segno;
		memcpy(se.rid, sw.rid, sizeof(se.rid));
		se.size = data_end;
		meta_rec_seg(&recs, &se);
	}
	bufw_put(&recs, ext.data, ext.len);
	r = bufw_error(&recs);
	if (r < 0)
		goto out;

	nmeta = (recs.len + CHUNK_PLAIN_MAX - 1) / CHUNK_PLAIN_MAX;
	if (nmeta > COMMIT_META_MAX) {
		r = -EFBIG;
		goto out;
	}
	c.meta = calloc(nmeta ? nmeta : 1, sizeof(*c.meta));
	if (!c.meta) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nmeta; i++) {
		size_t off = i * CHUNK_PLAIN_MAX;
		size_t n = recs.len - off < CHUNK_PLAIN_MAX ? recs.len - off
							    : CHUNK_PLAIN_MAX;

		r = segw_add(&sw, s->keys->meta, CHUNK_META, recs.data + off, n,
			     &c.meta[i].off, &c.meta[i].sealed);
		if (r < 0)
			goto out;
	}
	c.nmeta = (uint32_t)nmeta;
	c.gen = s->gen + 1;
	c.parent_seg = s->head_seg;
	memcpy(c.parent_hash, s->head_hash, COMMIT_HASH_BYTES);
	c.ckpt_seg = ckpt ? sw.segno : s->ckpt_seg;
	c.is_ckpt = (uint8_t)ckpt;
	c.next_ino = s->next_ino;
	{
		struct timespec t = now_real();

		c.time_sec = (uint64_t)t.tv_sec;
		c.time_nsec = (uint32_t)t.tv_nsec;
	}
	{
		struct bufw cw;

		bufw_init(&cw, CHUNK_PLAIN_MAX, 0);
		r = commit_encode(&c, &cw);
		if (r == 0)
			r = segw_finish(&sw, s->keys->meta, CHUNK_COMMIT,
					cw.data, cw.len, &sealed, &slen);
		bufw_release(&cw);
		if (r < 0)
			goto out;
	}
	crypto_generichash(c.hash, sizeof(c.hash), sealed, slen, NULL, 0);

	/* Spilled segments this commit names: durable and in place
	 * first. */
	r = objstore_settle(s->os);
	if (r < 0)
		goto out;
	r = raise_format(s);
	if (r < 0)
		goto out;
	objstore_seg_name(sw.segno, name);
	r = objstore_put_placed(s->os, name, sw.w.data, sw.w.len, &placed);
	if (r < 0 && !placed)
		goto out;
	/* In place (durable unless only the folder's fsync failed): make
	 * memory match. A commit in place is the head even if not durable
	 * yet, so a retry neither writes a second commit with the same
	 * generation and parent (a fork of our own) nor loses it. */
	synced = r;
	if (fl.n) {
		r = meta_seg_add(s->m, se.segno, se.rid, se.size);
		if (r == 0)
			r = flush_apply(s, &fl);
		if (r < 0) {
			/* Only -ENOMEM gets here; the commit is durable but
			 * memory lags behind it: refuse further changes. */
			s->broken = 1;
			goto out;
		}
	}
	if (s->changed_all)
		meta_foreach(s->m, clear_attr_dirty, NULL);
	else
		foreach_changed(s, clear_attr_dirty, NULL);
	s->nchanged = 0;
	s->changed_all = 0;
	bufw_release(&s->pend);
	bufw_init(&s->pend, META_LOAD_MAX, 1);
	s->meta_dirty = 0;
	s->force_ckpt = 0;
	s->dirty_since.tv_sec = 0;
	s->dirty_since.tv_nsec = 0;
	s->gen = c.gen;
	s->head_time = c.time_sec;
	s->head_seg = sw.segno;
	memcpy(s->head_hash, c.hash, COMMIT_HASH_BYTES);
	if (ckpt) {
		s->ckpt_seg = sw.segno;
		s->ckpt_time = c.time_sec;
		s->commits_since_ckpt = 0;
		s->delta_bytes = 0;
		s->ckpt_bytes = recs.len;
		s->checkpoints++;
	} else {
		s->commits_since_ckpt++;
		s->delta_bytes += recs.len;
	}
	r = 0;
	if (synced < 0) {
		/* No high-water mark until it is known durable. */
		s->head_unsynced = 1;
		r = synced;
	} else if (s->state_dir) {
		r = write_hwm(s);
	}
out:
	commit_release(&c);
	free(fl.v);
	bufw_release(&recs);
	bufw_release(&ext);
	segw_release(&sw);
	return r;
}

/* ---- cleaner ---- */

/*
 * A pass works in three steps so that foreground work waits only for the
 * short ones: (1) under the lock, pick the segments and note the extents
 * to move; (2) without it, read those extents and write them into a new
 * data-only segment (the I/O and the fsync); (3) under the lock again,
 * map every extent that is still exactly as noted to its copy (others
 * were overwritten meanwhile and are simply dead in the copy), log it for
 * the next commit, commit with a checkpoint when worth it, and list the
 * dead segments; their objects are removed after the lock is dropped.
 */

struct move {
	uint64_t ino;
	uint8_t rid[CHUNK_RID_BYTES]; /* of old.seg */
	struct extent old;	      /* as picked */
	struct extent nw;	      /* its copy */
};

struct cplan {
	uint64_t *segs; /* candidates, sorted */
	size_t nsegs;
	struct move *v;
	size_t n, cap;
	uint64_t segno; /* of the copy; 0 when there is nothing to move */
};

static void cplan_release(struct cplan *p)
{
	free(p->segs);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

static int cand_has(const struct cplan *p, uint64_t segno)
{
	size_t lo = 0, hi = p->nsegs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->segs[mid] < segno)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->nsegs && p->segs[lo] == segno;
}

struct pickctx {
	struct store *s;
	struct cplan *p;
};

/* Notes ip's extents in candidate segments. */
static int pick_extents(void *ctx, struct minode *ip)
{
	struct pickctx *pc = ctx;
	struct cplan *p = pc->p;

	if (ip->deleted || !S_ISREG(ip->mode))
		return 0;
	for (size_t i = 0; i < ip->next; i++) {
		const struct extent *e = &ip->ext[i];
		struct segent *se;

		if (!cand_has(p, e->seg))
			continue;
		se = meta_seg(pc->s->m, e->seg);
		if (!se)
			return -EIO;
		if (p->n == p->cap) {
			size_t ncap = p->cap ? p->cap * 2 : 256;
			struct move *nv = realloc(p->v, ncap * sizeof(*nv));

			if (!nv)
				return -ENOMEM;
			p->v = nv;
			p->cap = ncap;
		}
		memset(&p->v[p->n], 0, sizeof(p->v[p->n]));
		p->v[p->n].ino = ip->ino;
		memcpy(p->v[p->n].rid, se->rid, CHUNK_RID_BYTES);
		p->v[p->n].old = *e;
		p->n++;
	}
	return 0;
}

/* Emptiest first: moving those frees the most per byte copied. */
static int cmp_live(const void *a, const void *b)
{
	const struct segent *x = *(const struct segent *const *)a;
	const struct segent *y = *(const struct segent *const *)b;
	double fx = (double)x->live / (double)(x->size ? x->size : 1);
	double fy = (double)y->live / (double)(y->size ? y->size : 1);

	return fx < fy ? -1 : fx > fy;
}

static int cmp_seg(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Step 1 (locked): decides whether compaction is worth it - many segments
 * small (< STORE_CLEAN_SMALL) or half empty, or dead bytes above
 * STORE_CLEAN_DEAD_PCT of the live ones and STORE_CLEAN_DEAD_MIN (the
 * space bound; below that, chunk and segment overheads alone would make
 * a tiny store rewrite its last segment forever) - and picks the
 * emptiest segments first (any small one or less than STORE_CLEAN_FULL_PCT
 * live) until STORE_CLEAN_STEP live bytes are reached. p->segno is 0 when there is
 * nothing to do.
 */
static int compact_plan(struct store *s, struct cplan *p)
{
	struct segent **pick = NULL;
	struct pickctx pc;
	uint64_t live = 0, dead = 0, moved = 0;
	size_t npick = 0, nsparse = 0;
	int r;

	memset(p, 0, sizeof(*p));
	pick = calloc(s->m->nsegs ? s->m->nsegs : 1, sizeof(*pick));
	p->segs = calloc(s->m->nsegs ? s->m->nsegs : 1, sizeof(*p->segs));
	if (!pick || !p->segs) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->m->nsegs; i++) {
		struct segent *e = &s->m->segs[i];

		if (e->live == 0)
			continue;
		live += e->live;
		dead += e->size > e->live + SEG_HDR_BYTES
			    ? e->size - e->live - SEG_HDR_BYTES
			    : 0;
		if (e->live * 2 < e->size || e->size < STORE_CLEAN_SMALL)
			nsparse++;
		if (e->size < STORE_CLEAN_SMALL ||
		    e->live * 100 < e->size * STORE_CLEAN_FULL_PCT)
			pick[npick++] = e;
	}
	r = 0;
	if (nsparse < STORE_CLEAN_MIN_SEGS &&
	    (dead * 100 <= live * STORE_CLEAN_DEAD_PCT ||
	     dead < STORE_CLEAN_DEAD_MIN))
		goto out;
	if (npick == 0)
		goto out;
	qsort(pick, npick, sizeof(*pick), cmp_live);
	/* up to one segment beyond the step: a tiny first pick must not
	 * keep the next one out, or the pass would move just that one */
	for (size_t i = 0; i < npick && moved < STORE_CLEAN_STEP; i++) {
		p->segs[p->nsegs++] = pick[i]->segno;
		moved += pick[i]->live;
	}
	qsort(p->segs, p->nsegs, sizeof(*p->segs), cmp_seg);
	pc.s = s;
	pc.p = p;
	r = meta_foreach(s->m, pick_extents, &pc);
	if (r == 0 && p->n > 0)
		r = new_segno(s, &p->segno);
out:
	free(pick);
	return r;
}

/* Step 2 (unlocked): copies the noted extents into segment p->segno, one
 * data chunk per extent, exactly its bytes, and writes it. Touches only
 * the plan, the keys and the object store. */
static int compact_copy(struct store *s, struct cplan *p, struct segw *sw)
{
	const uint8_t *sealed;
	uint8_t *buf;
	uint64_t bseg = 0;
	uint32_t bcoff = 0, slen;
	char name[OBJSTORE_NAME_MAX];
	int n = 0, r = 0;

	buf = malloc(CHUNK_PLAIN_MAX);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++) {
		struct move *mv = &p->v[i];

		/* neighbouring extents often share a chunk */
		if (i == 0 || mv->old.seg != bseg || mv->old.coff != bcoff) {
			n = seg_read_chunk(s->os, s->keys->data, s->store_id,
					   mv->old.seg, mv->rid, mv->old.coff,
					   mv->old.sealed, CHUNK_DATA, 0, buf);
			if (n < 0) {
				r = n == -EBADMSG ? n : -EIO;
				goto out;
			}
			bseg = mv->old.seg;
			bcoff = mv->old.coff;
		}
		if ((uint64_t)mv->old.skip + mv->old.len > (uint64_t)n) {
			r = -EBADMSG;
			goto out;
		}
		r = segw_add(sw, s->keys->data, CHUNK_DATA, buf + mv->old.skip,
			     mv->old.len, &mv->nw.coff, &mv->nw.sealed);
		if (r < 0)
			goto out;
		mv->nw.off = mv->old.off;
		mv->nw.len = mv->old.len;
		mv->nw.skip = 0;
		mv->nw.seg = sw->segno;
	}
	r = segw_finish(sw, s->keys->meta, CHUNK_META, NULL, 0, &sealed, &slen);
	if (r < 0)
		goto out;
	objstore_seg_name(sw->segno, name);
	r = objstore_put(s->os, name, sw->w.data, sw->w.len);
out:
	sodium_memzero(buf, CHUNK_PLAIN_MAX);
	free(buf);
	return r;
}

/* ip's extent at off, if it is still exactly e. */
static int extent_same(const struct minode *ip, const struct extent *e)
{
	for (size_t i = 0; i < ip->next; i++) {
		const struct extent *x = &ip->ext[i];

		if (x->off == e->off)
			return x->seg == e->seg && x->len == e->len &&
			       x->skip == e->skip && x->coff == e->coff &&
			       x->sealed == e->sealed;
		if (x->off > e->off)
			break;
	}
	return 0;
}

/*
 * Step 3 (locked): maps the extents that did not change meanwhile to
 * their copies and logs them for the next commit. A copy nothing refers
 * to stays an unreferenced object (removed as dead later). Returns the
 * bytes moved in *ret_moved.
 */
static int compact_apply(struct store *s, struct cplan *p, struct segw *sw,
			 uint64_t *ret_moved)
{
	struct segent se;
	uint64_t moved = 0;
	size_t nvalid = 0;
	int r;

	*ret_moved = 0;
	for (size_t i = 0; i < p->n; i++) {
		struct minode *ip = meta_inode(s->m, p->v[i].ino);

		if (ip && !ip->deleted && S_ISREG(ip->mode) &&
		    extent_same(ip, &p->v[i].old))
			nvalid++;
		else
			p->v[i].ino = 0; /* changed meanwhile */
	}
	if (nvalid == 0)
		return 0;
	se.segno = sw->segno;
	memcpy(se.rid, sw->rid, sizeof(se.rid));
	se.size = sw->w.len;
	r = meta_seg_add(s->m, se.segno, se.rid, se.size);
	if (r == 0) {
		meta_rec_seg(&s->pend, &se);
		for (size_t i = 0; i < p->n; i++)
			if (p->v[i].ino)
				meta_rec_extent(&s->pend, p->v[i].ino,
						&p->v[i].nw);
		r = pend_error(s);
	}
	for (size_t i = 0; r == 0 && i < p->n; i++) {
		struct minode *ip;

		if (!p->v[i].ino)
			continue;
		ip = meta_inode(s->m, p->v[i].ino);
		r = meta_extent_set(s->m, ip, &p->v[i].nw);
		moved += p->v[i].nw.len;
	}
	if (r < 0) {
		s->broken = 1;
		return r;
	}
	s->compactions++;
	meta_changed(s);
	*ret_moved = moved;
	return 0;
}

struct doomed {
	uint64_t *segs;
	size_t n;
};

/*
 * Segments nothing needs: older than the current checkpoint (so not on
 * the chain a mount reads), holding no live data, once the checkpoint is
 * older than the grace period. Forgets them in memory and lists them in
 * d for removal after the lock is dropped (if that fails, the next pass
 * finds them again: they are in no table).
 *
 * The live counts in memory include changes not yet committed (a
 * truncate, an unlink, a spill, a compaction whose commit failed), and a
 * crash falls back to the last durable commit, which may still need the
 * segments they emptied. So this runs only when memory is exactly that
 * commit: nothing dirty and the head durable.
 */
static int remove_dead_plan(struct store *s, struct doomed *d)
{
	struct timespec now = now_real();
	uint64_t *segs = NULL;
	size_t n = 0;
	int r;

	if (is_dirty(s) || s->head_unsynced)
		return 0;
	if ((uint64_t)now.tv_sec < s->ckpt_time + s->clean_grace_sec)
		return 0;
	r = objstore_list_segments(s->os, 1, &segs, &n, NULL);
	if (r < 0)
		return r;
	d->segs = segs;
	d->n = 0;
	for (size_t i = 0; i < n && segs[i] < s->ckpt_seg; i++) {
		struct segent *se = meta_seg(s->m, segs[i]);

		if (se && se->live > 0)
			continue;
		if (d->n == STORE_CLEAN_REMOVE_MAX) {
			s->clean_more = 1; /* the rest in the next pass */
			break;
		}
		if (se)
			meta_seg_remove(s->m, segs[i]);
		d->segs[d->n++] = segs[i];
	}
	return 0;
}

/* Removes the listed objects (unlocked); returns how many went. */
static int remove_doomed(struct store *s, struct doomed *d)
{
	char name[OBJSTORE_NAME_MAX];
	int r = 0, n = 0;

	for (size_t i = 0; i < d->n; i++) {
		objstore_seg_name(d->segs[i], name);
		r = objstore_remove(s->os, name);
		if (r < 0)
			break;
		n++;
	}
	free(d->segs);
	d->segs = NULL;
	d->n = 0;
	return r < 0 ? r : n;
}

/*
 * One pass (called without the lock): compact, then commit with a
 * checkpoint when what that frees (moved and dead data, commit segments
 * since the last checkpoint, each valued at 4 KiB) is worth at least a
 * quarter of the checkpoint's size, then remove what is dead. Returns 1
 * if it committed. Only one pass runs at a time (another returns 0).
 */
static int clean_pass(struct store *s)
{
	struct cplan p = {0};
	struct doomed d = {0};
	struct segw sw;
	uint64_t moved = 0, dead = 0, worth;
	int r, committed = 0, have_sw = 0;

	pthread_mutex_lock(&s->lock);
	if (s->cleaning) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &s->last_clean);
	s->clean_more = 0;
	if (s->flags & STORE_READ_ONLY)
		r = -EROFS;
	else if (s->broken)
		r = -EIO;
	else if (s->lease_lost)
		r = -VFS_E_LEASE;
	else
		r = compact_plan(s, &p);
	if (r < 0 || p.segno == 0) {
		if (r < 0)
			goto out;
		goto commit;
	}
	s->cleaning = 1;
	pthread_mutex_unlock(&s->lock);

	segw_init(&sw, s->store_id, p.segno);
	have_sw = 1;
	r = compact_copy(s, &p, &sw);

	pthread_mutex_lock(&s->lock);
	s->cleaning = 0;
	if (r == 0 && s->lease_lost)
		r = -VFS_E_LEASE;
	if (r == 0 && s->broken)
		r = -EIO;
	if (r == 0)
		r = compact_apply(s, &p, &sw, &moved);
	if (r < 0)
		goto out;
	s->clean_more = moved > 0;
commit:
	/* Dead segments a new checkpoint would let go (older ones only
	 * wait for the grace period). */
	for (size_t i = 0; i < s->m->nsegs; i++)
		if (s->m->segs[i].live == 0 &&
		    s->m->segs[i].segno >= s->ckpt_seg)
			dead += s->m->segs[i].size;
	worth = moved + dead + s->commits_since_ckpt * 4096;
	if ((moved + dead > 0 || s->commits_since_ckpt >= 16) &&
	    worth * 4 >= s->ckpt_bytes)
		s->force_ckpt = 1;
	if (moved > 0 || s->force_ckpt) {
		r = do_commit(s);
		if (r < 0)
			goto out;
		committed = 1;
	}
	r = remove_dead_plan(s, &d);
	if (r < 0)
		goto out;
	if (d.n > 0) {
		s->cleaning = 1;
		pthread_mutex_unlock(&s->lock);
		r = remove_doomed(s, &d);
		pthread_mutex_lock(&s->lock);
		s->cleaning = 0;
		if (r > 0)
			s->removed += (uint64_t)r;
		if (r < 0)
			goto out;
	}
	r = committed;
out:
	pthread_mutex_unlock(&s->lock);
	free(d.segs);
	if (have_sw)
		segw_release(&sw);
	cplan_release(&p);
	return r;
}

/* ---- create / open / close ---- */

static int store_alloc(struct objstore *os, const uint8_t key[STORE_KEY_BYTES],
		       struct store **ret)
{
	struct store *s;
	int r;

	if (sodium_init() < 0)
		return -EIO;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->os = os;
	s->clean_grace_sec = STORE_CLEAN_GRACE_SEC;
	s->clean_interval_ms = STORE_CLEAN_INTERVAL_MS;
	clock_gettime(CLOCK_MONOTONIC, &s->last_clean);
	bufw_init(&s->pend, META_LOAD_MAX, 1);
	r = keys_new(key, &s->keys);
	if (r == 0)
		r = meta_new(&s->m);
	if (r < 0) {
		keys_free(s->keys);
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

static void store_free(struct store *s)
{
	hwma_free(s->hwma);
	if (s->m) {
		for (size_t i = 0; i < s->m->ibuckets; i++)
			for (struct minode *ip = s->m->itab[i]; ip;
			     ip = ip->hnext)
				drop_dirty(s, ip);
	}
	meta_free(s->m);
	cache_clear(s);
	lease_release(s->lease);
	bufw_release(&s->pend);
	free(s->changed);
	keys_free(s->keys);
	if (s->own_os)
		objstore_free(s->os);
	free(s->state_dir);
	pthread_mutex_destroy(&s->lock);
	sodium_memzero(s, sizeof(*s));
	free(s);
}

int store_create_os(struct objstore *os, const uint8_t key[STORE_KEY_BYTES],
		    const struct store_create_opts *opts)
{
	struct store_info info;
	struct store *s = NULL;
	struct minode *root;
	struct bufw w;
	int r;

	r = objstore_is_empty(os);
	if (r < 0)
		return r;
	if (r == 0)
		return -EEXIST;
	r = store_alloc(os, key, &s);
	if (r < 0)
		return r;
	bufw_init(&w, HEADER_MAX, 0);
	memset(&info, 0, sizeof(info));
	randombytes_buf(info.store_id, sizeof(info.store_id));
	memcpy(s->store_id, info.store_id, STORE_ID_BYTES);
	if (opts && opts->vault_url) {
		if (strlen(opts->vault_url) >= sizeof(info.vault_url)) {
			r = -EINVAL;
			goto out;
		}
		strcpy(info.vault_url, opts->vault_url);
	}
	if (opts && opts->account) {
		if (strlen(opts->account) >= sizeof(info.account)) {
			r = -EINVAL;
			goto out;
		}
		strcpy(info.account, opts->account);
	}
	/* The first commit, then the header: a folder with a header always
	 * holds a complete store. The header is encoded first so a bad hint
	 * (-EINVAL) leaves the folder empty. */
	r = header_encode(&info, s->keys->hdr, &w);
	if (r < 0)
		goto out;
	r = meta_inode_new(s->m, STORE_ROOT_INO, S_IFDIR | 0755, &root);
	if (r < 0)
		goto out;
	root->nlink = 2;
	root->uid = (uint32_t)getuid();
	root->gid = (uint32_t)getgid();
	root->atime = root->mtime = root->ctime = now_real();
	s->next_ino = STORE_ROOT_INO + 1;
	s->next_seg = 1;
	s->force_ckpt = 1;
	r = do_commit(s);
	if (r < 0)
		goto out;
	r = objstore_put(os, OBJSTORE_HEADER_NAME, w.data, w.len);
out:
	bufw_release(&w);
	store_free(s);
	return r;
}

int store_create(const char *cloud_dir, const uint8_t key[STORE_KEY_BYTES],
		 const struct store_create_opts *opts)
{
	struct objstore *os;
	int r;

	r = objstore_new(cloud_dir, &os);
	if (r < 0)
		return r;
	r = store_create_os(os, key, opts);
	objstore_free(os);
	return r;
}

static int read_header(struct objstore *os, uint8_t **ret, size_t *ret_len)
{
	int r =
	    objstore_get(os, OBJSTORE_HEADER_NAME, HEADER_MAX, ret, ret_len);

	if (r == -ENOENT)
		return -VFS_E_NOTSTORE;
	if (r == -EFBIG || r == -EBADMSG)
		return -VFS_E_DAMAGED;
	return r;
}

int store_read_info(const char *cloud_dir, struct store_info *ret)
{
	struct objstore *os;
	uint8_t *h = NULL;
	size_t n;
	int r;

	r = objstore_new(cloud_dir, &os);
	if (r < 0)
		return r;
	r = read_header(os, &h, &n);
	if (r == 0)
		r = header_parse(h, n, ret);
	free(h);
	objstore_free(os);
	return r;
}

int store_lease_info(const char *cloud_dir, const uint8_t key[STORE_KEY_BYTES],
		     struct store_lease *ret)
{
	struct store_info info;
	struct lease_info li;
	struct objstore *os;
	struct keys *k = NULL;
	uint8_t *h = NULL;
	size_t n;
	int r;

	r = objstore_new(cloud_dir, &os);
	if (r < 0)
		return r;
	r = read_header(os, &h, &n);
	if (r == 0)
		r = header_parse(h, n, &info);
	if (r == 0)
		r = keys_new(key, &k);
	if (r == 0)
		r = header_check_key(h, n, k->hdr);
	if (r == 0)
		r = lease_peek(os, k->lease, info.store_id, &li);
	if (r == 1) {
		memset(ret, 0, sizeof(*ret));
		ret->this_machine = li.this_machine;
		ret->alive = li.alive;
		ret->expired = li.expires < (uint64_t)time(NULL);
		ret->pid = li.pid;
		ret->since = li.since;
		ret->expires = li.expires;
		memcpy(ret->host, li.host, sizeof(ret->host));
	}
	keys_free(k);
	free(h);
	objstore_free(os);
	return r;
}

struct chain {
	struct commit *v; /* v[0] is the checkpoint, v[n-1] the head */
	size_t n;
};

static void chain_release(struct chain *ch)
{
	for (size_t i = 0; i < ch->n; i++)
		commit_release(&ch->v[i]);
	free(ch->v);
	ch->v = NULL;
	ch->n = 0;
}

/* Follows head's parents back to its checkpoint; -EBADMSG if the chain
 * is not complete. Takes head. */
static int chain_load(struct store *s, struct commit *head, struct chain *ret)
{
	struct commit *v = NULL, cur = *head;
	size_t n = 0, cap = 0;
	int r;

	memset(head, 0, sizeof(*head));
	for (;;) {
		struct commit parent;

		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct commit *nv = realloc(v, ncap * sizeof(*nv));

			if (!nv) {
				commit_release(&cur);
				r = -ENOMEM;
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = cur;
		if (cur.is_ckpt)
			break;
		r = commit_read(s->os, s->keys, s->store_id, cur.parent_seg,
				&parent);
		if (r < 0) {
			r = (r == -ENOMEM || r == -EIO) ? r : -EBADMSG;
			goto out;
		}
		if (sodium_memcmp(parent.hash, cur.parent_hash,
				  COMMIT_HASH_BYTES) != 0 ||
		    parent.gen + 1 != cur.gen ||
		    parent.ckpt_seg != cur.ckpt_seg) {
			commit_release(&parent);
			r = -EBADMSG;
			goto out;
		}
		cur = parent;
	}
	/* reverse: checkpoint first */
	for (size_t i = 0; i < n / 2; i++) {
		struct commit t = v[i];

		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
	ret->v = v;
	ret->n = n;
	v = NULL;
	n = 0;
	r = 0;
out:
	for (size_t i = 0; i < n; i++)
		commit_release(&v[i]);
	free(v);
	return r;
}

/* Loads the state of chain into a fresh meta. */
static int chain_apply(struct store *s, const struct chain *ch,
		       struct meta **ret)
{
	struct meta *m = NULL;
	struct bufw w;
	struct minode *root;
	int r;

	r = meta_new(&m);
	if (r < 0)
		return r;
	s->delta_bytes = 0;
	for (size_t i = 0; i < ch->n; i++) {
		bufw_init(&w, META_LOAD_MAX, 1);
		r = commit_load_meta(s->os, s->keys, s->store_id, &ch->v[i],
				     &w);
		if (r == 0)
			r = meta_apply(m, w.data, w.len);
		if (i == 0)
			s->ckpt_bytes = w.len;
		else
			s->delta_bytes += w.len;
		bufw_release(&w);
		if (r < 0)
			goto out;
	}
	root = meta_inode(m, STORE_ROOT_INO);
	if (!root || !S_ISDIR(root->mode)) {
		r = -EBADMSG;
		goto out;
	}
	*ret = m;
	m = NULL;
	r = 0;
out:
	meta_free(m);
	return r;
}

/* Checks the newest commit against what this machine saw before. */
static int check_fresh(struct store *s, const struct chain *ch)
{
	const struct commit *head = &ch->v[ch->n - 1];
	struct commit cur, parent;
	struct hwm h;
	int r;

	r = hwm_read(s->state_dir, s->store_id, &h);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (head->gen < h.gen)
		return -VFS_E_ROLLBACK;
	if (head->gen == h.gen)
		return sodium_memcmp(head->hash, h.hash, COMMIT_HASH_BYTES)
			   ? -VFS_E_FORK
			   : 0;
	/* Newer: the remembered commit must be an ancestor. */
	for (size_t i = ch->n; i-- > 0;)
		if (ch->v[i].gen == h.gen)
			return sodium_memcmp(ch->v[i].hash, h.hash,
					     COMMIT_HASH_BYTES)
				   ? -VFS_E_FORK
				   : 0;
	memset(&cur, 0, sizeof(cur));
	cur.gen = ch->v[0].gen;
	cur.parent_seg = ch->v[0].parent_seg;
	memcpy(cur.parent_hash, ch->v[0].parent_hash, COMMIT_HASH_BYTES);
	while (cur.gen > h.gen + 0 && cur.parent_seg) {
		if (cur.parent_seg < s->epoch_seg) {
			/* The parent was sealed under an earlier key (a
			 * rekey): only the hash its child names can be
			 * compared; older history cannot be told. */
			if (cur.gen == h.gen + 1)
				return sodium_memcmp(cur.parent_hash, h.hash,
						     COMMIT_HASH_BYTES)
					   ? -VFS_E_FORK
					   : 0;
			return 0;
		}
		r = commit_read(s->os, s->keys, s->store_id, cur.parent_seg,
				&parent);
		if (r == -ENOENT)
			return 0; /* history cleaned away: cannot tell */
		if (r < 0)
			return r == -ENOMEM ? r : -VFS_E_DAMAGED;
		commit_release(&parent);
		if (sodium_memcmp(parent.hash, cur.parent_hash,
				  COMMIT_HASH_BYTES) ||
		    parent.gen + 1 != cur.gen)
			return -VFS_E_DAMAGED;
		if (parent.gen == h.gen)
			return sodium_memcmp(parent.hash, h.hash,
					     COMMIT_HASH_BYTES)
				   ? -VFS_E_FORK
				   : 0;
		cur = parent;
	}
	return -VFS_E_FORK;
}

/*
 * Sets s->next_seg above every segment the loaded state knows (the chain
 * and the segment table: authenticated) and above listed names not far
 * beyond those (uncommitted spills, failed commits), so no name is used
 * twice. A listed name is only a name: one at or above STORE_SEG_LIMIT or
 * more than STORE_SEG_WINDOW beyond the authenticated ones is debris,
 * counted as foreign, and would otherwise make the numbers wrap.
 */
static void set_next_seg(struct store *s, const struct chain *ch,
			 const struct meta *m, const uint64_t *segs,
			 size_t nsegs)
{
	uint64_t top = 0;

	for (size_t i = 0; i < ch->n; i++)
		if (ch->v[i].segno > top)
			top = ch->v[i].segno;
	for (size_t i = 0; i < m->nsegs; i++)
		if (m->segs[i].segno > top)
			top = m->segs[i].segno;
	for (size_t i = nsegs; i-- > 0;) {
		if (segs[i] <= top)
			break;
		if (segs[i] < STORE_SEG_LIMIT &&
		    segs[i] - top <= STORE_SEG_WINDOW) {
			top = segs[i];
			break;
		}
		s->foreign++;
	}
	if (top + 1 > s->next_seg)
		s->next_seg = top + 1;
}

/*
 * Lists the segments and loads the newest commit whose chain back to its
 * checkpoint is complete. Sets s->next_seg. -VFS_E_DAMAGED if none loads.
 */
static int load_newest(struct store *s, int remove_tmp, struct chain *ret_ch,
		       struct meta **ret_m)
{
	struct chain ch = {0};
	uint64_t *segs = NULL;
	size_t nsegs = 0;
	int r;

	r = objstore_list_segments(s->os, remove_tmp, &segs, &nsegs,
				   &s->foreign);
	if (r < 0)
		return r;
	r = -VFS_E_DAMAGED;
	for (size_t i = nsegs; i-- > 0;) {
		struct commit c;
		struct meta *m = NULL;
		int e;

		if (segs[i] < s->epoch_seg)
			break; /* older key: cannot authenticate */
		e = commit_read(s->os, s->keys, s->store_id, segs[i], &c);
		if (e == -ENODATA || e == -EBADMSG || e == -ENOENT)
			continue; /* data-only, damaged, or gone meanwhile */
		if (e < 0) {
			r = e;
			break;
		}
		e = chain_load(s, &c, &ch);
		if (e == 0)
			e = chain_apply(s, &ch, &m);
		if (e == -ENOMEM) {
			chain_release(&ch);
			r = e;
			break;
		}
		if (e < 0) {
			chain_release(&ch);
			continue;
		}
		set_next_seg(s, &ch, m, segs, nsegs);
		*ret_ch = ch;
		*ret_m = m;
		r = 0;
		break;
	}
	free(segs);
	return r;
}

/*
 * Fsyncs the folders holding segment segno, up to the cloud folder. A
 * writer killed between a rename and its folder's fsync leaves a head that
 * can be seen but may not survive a power cut (nor may a subfolder it had
 * just made); a high-water mark raised to such a head would then call the
 * older commit that survives a rollback. Found by the crash-state
 * enumeration (tests/crash/).
 */
static int sync_head(struct store *s, uint64_t segno)
{
	char name[OBJSTORE_NAME_MAX];
	int r;

	objstore_seg_name(segno, name);
	r = objstore_sync_dir(s->os, name); /* log/xx */
	if (r < 0)
		return r;
	name[6] = '\0';
	r = objstore_sync_dir(s->os, name); /* log */
	if (r < 0)
		return r;
	return objstore_sync_dir(s->os, "log"); /* the cloud folder */
}

/* Makes ch's head the store's head and remembers it in the state folder,
 * once it is durable. A read-only store that cannot make it durable (a
 * read-only folder) does not raise the mark. */
static int adopt_head(struct store *s, const struct chain *ch)
{
	const struct commit *head = &ch->v[ch->n - 1];
	struct hwm h;
	int r;

	s->gen = head->gen;
	s->head_time = head->time_sec;
	s->head_seg = head->segno;
	memcpy(s->head_hash, head->hash, COMMIT_HASH_BYTES);
	s->ckpt_seg = head->ckpt_seg;
	s->ckpt_time = ch->v[0].time_sec;
	s->commits_since_ckpt = ch->n - 1;
	s->next_ino = head->next_ino;
	if (s->m->max_ino >= s->next_ino)
		s->next_ino = s->m->max_ino + 1;
	r = sync_head(s, s->head_seg);
	if (r < 0)
		return (s->flags & STORE_READ_ONLY) ? 0 : r;
	h.gen = s->gen;
	h.segno = s->head_seg;
	memcpy(h.hash, s->head_hash, COMMIT_HASH_BYTES);
	return hwm_write(s->state_dir, s->store_id, &h);
}

int store_open_os(struct objstore *os, const uint8_t key[STORE_KEY_BYTES],
		  const char *state_dir, unsigned flags, struct store **ret)
{
	struct store_info info;
	struct store *s = NULL;
	struct chain ch = {0};
	struct meta *m = NULL;
	uint8_t *hdr = NULL;
	size_t hlen;
	int r;

	if (!state_dir)
		return -EINVAL;
	r = store_alloc(os, key, &s);
	if (r < 0)
		return r;
	s->flags = flags;
	s->state_dir = strdup(state_dir);
	if (!s->state_dir) {
		r = -ENOMEM;
		goto out;
	}
	r = read_header(os, &hdr, &hlen);
	if (r < 0)
		goto out;
	r = header_parse(hdr, hlen, &info);
	if (r < 0)
		goto out;
	r = header_check_key(hdr, hlen, s->keys->hdr);
	if (r == -VFS_E_WRONGKEY) {
		/* The old key of an unfinished rekey past its switch still
		 * opens the store through the rekey journal (rekey.h). */
		struct keys *k2 = NULL;

		if (rekey_follow(os, key, &info, hdr, hlen, &k2) == 0) {
			keys_free(s->keys);
			s->keys = k2;
			r = 0;
		}
	}
	if (r < 0)
		goto out;
	memcpy(s->store_id, info.store_id, STORE_ID_BYTES);
	s->epoch_seg = info.epoch_seg;
	s->info = info;
	if (!(flags & STORE_READ_ONLY)) {
		r = lease_acquire(os, s->keys->lease, s->store_id,
				  !!(flags & STORE_BREAK_LEASE), &s->lease);
		if (r < 0)
			goto out;
	}

	s->next_seg = 1;
	r = load_newest(s, !(flags & STORE_READ_ONLY), &ch, &m);
	if (r < 0)
		goto out;
	meta_free(s->m);
	s->m = m;
	if (s->m->format2)
		s->need_format = HEADER_FORMAT_XATTR;
	r = check_fresh(s, &ch);
	if (r == 0)
		r = adopt_head(s, &ch);
	if (r == 0 && (flags & STORE_ASYNC_HWM) &&
	    !(flags & STORE_READ_ONLY) && s->state_dir)
		r = hwma_new(s->state_dir, s->store_id, &s->hwma);
	if (r < 0)
		goto out;
	*ret = s;
	s = NULL;
out:
	chain_release(&ch);
	free(hdr);
	if (s)
		store_free(s);
	return r;
}

struct carry {
	struct meta *from, *to;
};

/* Keeps the kernel's references across a refresh: lookup and open counts
 * move to the new inode; an inode gone in the new state stays readable as
 * an orphan until forgotten. */
static int carry_inode(void *ctx, struct minode *ip)
{
	struct carry *c = ctx;
	struct minode *nip;

	if (!ip->nlookup && !ip->nopen)
		return 0;
	nip = meta_inode(c->to, ip->ino);
	if (nip && (nip->mode & S_IFMT) == (ip->mode & S_IFMT)) {
		nip->nlookup = ip->nlookup;
		nip->nopen = ip->nopen;
		return 0;
	}
	if (nip)
		return 0; /* numbers are never reused: cannot happen */
	meta_inode_move(c->from, c->to, ip);
	ip->deleted = 1;
	ip->nlink = 0;
	return 0;
}

/*
 * 1 if the folder lists a segment above the head. Not next_seg: that is
 * also above listed objects that did not load (a commit still being
 * delivered, truncated), which may become the next head.
 */
static int newer_listed(struct store *s)
{
	uint64_t *segs = NULL;
	size_t n = 0;
	int r;

	r = objstore_list_segments(s->os, 0, &segs, &n, NULL);
	if (r < 0)
		return r;
	r = n > 0 && segs[n - 1] > s->head_seg;
	free(segs);
	return r;
}

/*
 * Read-only stores follow the writer: when a segment above the ones seen
 * appears, load the newest complete commit, check it descends from ours,
 * and switch to it. Returns 1 if the state changed.
 */
static int refresh(struct store *s)
{
	char name[OBJSTORE_NAME_MAX];
	struct chain ch = {0};
	struct meta *m = NULL;
	struct carry c;
	uint64_t size;
	int r;

	objstore_seg_name(s->next_seg, name);
	r = objstore_size(s->os, name, &size);
	if (r == -ENOENT) {
		/* The writer may never fill next_seg (a failed write, or
		 * the cleaner removed an unreferenced segment before this
		 * device saw it), or next_seg may be past a commit that was
		 * still arriving when listed: now and then look for any
		 * segment above the head. */
		if (++s->follow_misses % 5)
			return 0;
		r = newer_listed(s);
		if (r <= 0)
			return r;
	} else if (r < 0)
		return r;
	s->follow_misses = 0;
	r = load_newest(s, 0, &ch, &m);
	if (r < 0)
		return r;
	if (ch.v[ch.n - 1].gen == s->gen &&
	    sodium_memcmp(ch.v[ch.n - 1].hash, s->head_hash,
			  COMMIT_HASH_BYTES) == 0) {
		r = 0;
		goto out;
	}
	r = check_fresh(s, &ch);
	if (r < 0)
		goto out;
	c.from = s->m;
	c.to = m;
	meta_foreach(s->m, carry_inode, &c);
	meta_free(s->m);
	s->m = m;
	m = NULL;
	r = adopt_head(s, &ch);
	if (r == 0)
		r = 1;
out:
	meta_free(m);
	chain_release(&ch);
	return r;
}

int store_check_key(const char *cloud_dir, const uint8_t key[STORE_KEY_BYTES])
{
	struct store_info info;
	struct objstore *os;
	struct keys *k = NULL;
	uint8_t *h = NULL;
	size_t n;
	int r;

	if (sodium_init() < 0)
		return -EIO;
	r = objstore_new(cloud_dir, &os);
	if (r < 0)
		return r;
	r = read_header(os, &h, &n);
	if (r == 0)
		r = header_parse(h, n, &info);
	if (r == 0)
		r = keys_new(key, &k);
	if (r == 0)
		r = header_check_key(h, n, k->hdr);
	keys_free(k);
	free(h);
	objstore_free(os);
	return r;
}

int store_open(const char *cloud_dir, const uint8_t key[STORE_KEY_BYTES],
	       const char *state_dir, unsigned flags, struct store **ret)
{
	struct objstore *os;
	struct store *s;
	int r;

	r = objstore_new(cloud_dir, &os);
	if (r < 0)
		return r;
	r = store_open_os(os, key, state_dir, flags, &s);
	if (r < 0) {
		objstore_free(os);
		return r;
	}
	s->own_os = 1;
	*ret = s;
	return 0;
}

int store_close(struct store *s)
{
	int r, r2;

	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	r = do_commit(s);
	pthread_mutex_unlock(&s->lock);
	/* The mark of the last commit is durable before close returns. */
	r2 = hwma_free(s->hwma);
	s->hwma = NULL;
	store_free(s);
	return r < 0 ? r : r2;
}

int store_commit(struct store *s)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = do_commit(s);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_tick(struct store *s, unsigned max_age_ms)
{
	struct timespec now;
	uint64_t age_ms;
	int r = 0, clean = 0;

	pthread_mutex_lock(&s->lock);
	if (s->flags & STORE_READ_ONLY) {
		r = refresh(s);
		goto out;
	}
	if (s->lease) {
		r = lease_renew(s->lease);
		if (r == -VFS_E_LEASE)
			s->lease_lost = 1; /* for good: see do_commit */
		if (r < 0)
			goto out;
		r = 0;
	}
	if (!is_dirty(s))
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &now);
	age_ms = (uint64_t)(now.tv_sec - s->dirty_since.tv_sec) * 1000 +
		 (uint64_t)((now.tv_nsec - s->dirty_since.tv_nsec) / 1000000);
	if (age_ms >= max_age_ms) {
		r = do_commit(s);
		if (r == 0)
			r = 1;
	}
out:
	if (r >= 0 && !(s->flags & STORE_READ_ONLY) && !s->broken) {
		struct timespec now2;
		uint64_t since;

		clock_gettime(CLOCK_MONOTONIC, &now2);
		since = (uint64_t)(now2.tv_sec - s->last_clean.tv_sec) * 1000 +
			(uint64_t)((now2.tv_nsec - s->last_clean.tv_nsec) /
				   1000000);
		clean = since >= s->clean_interval_ms ||
			(s->clean_more && since >= STORE_CLEAN_AGAIN_MS);
	}
	pthread_mutex_unlock(&s->lock);
	if (clean) {
		/* takes the lock itself, for the short steps only */
		int c = clean_pass(s);

		if (c < 0)
			r = c;
		else if (c > 0)
			r = 1;
	}
	return r;
}

int store_clean(struct store *s)
{
	return clean_pass(s);
}

void store_set_clean(struct store *s, unsigned grace_sec, unsigned interval_ms)
{
	pthread_mutex_lock(&s->lock);
	s->clean_grace_sec = grace_sec;
	s->clean_interval_ms = interval_ms;
	pthread_mutex_unlock(&s->lock);
}

uint64_t store_generation(struct store *s)
{
	uint64_t g;

	pthread_mutex_lock(&s->lock);
	g = s->gen;
	pthread_mutex_unlock(&s->lock);
	return g;
}

uint64_t store_dirty_bytes(struct store *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->dirty_bytes;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void store_get_stats(struct store *s, struct store_stats *ret)
{
	pthread_mutex_lock(&s->lock);
	memset(ret, 0, sizeof(*ret));
	ret->generation = s->gen;
	ret->head_seg = s->head_seg;
	ret->ckpt_seg = s->ckpt_seg;
	ret->commits_since_ckpt = s->commits_since_ckpt;
	ret->inodes = s->m->ninodes;
	ret->segments = s->m->nsegs;
	ret->spills = s->spills;
	ret->checkpoints = s->checkpoints;
	ret->foreign = s->foreign;
	ret->compactions = s->compactions;
	ret->removed = s->removed;
	pthread_mutex_unlock(&s->lock);
}

void store_get_status(struct store *s, struct store_status *ret)
{
	pthread_mutex_lock(&s->lock);
	memset(ret, 0, sizeof(*ret));
	ret->generation = s->gen;
	ret->commit_time = (int64_t)s->head_time;
	ret->dirty_bytes = s->dirty_bytes;
	ret->inodes = s->m->ninodes;
	ret->segments = s->m->nsegs;
	for (size_t i = 0; i < s->m->nsegs; i++) {
		ret->segment_bytes += s->m->segs[i].size;
		ret->live_bytes += s->m->segs[i].live;
	}
	ret->foreign = s->foreign;
	ret->read_only = !!(s->flags & STORE_READ_ONLY);
	ret->lease_lost = s->lease_lost;
	pthread_mutex_unlock(&s->lock);
}

/* ---- name operations ---- */

int store_lookup(struct store *s, uint64_t parent, const char *name,
		 struct store_attr *ret)
{
	struct minode *dir, *ip;
	struct mdirent *d;
	size_t len;
	int r;

	pthread_mutex_lock(&s->lock);
	r = get_dir(s, parent, &dir);
	if (r < 0)
		goto out;
	r = check_name(name, &len);
	if (r < 0)
		goto out;
	d = meta_dirent_find(s->m, parent, name, len);
	if (!d) {
		r = -ENOENT;
		goto out;
	}
	ip = meta_inode(s->m, d->ino);
	if (!ip) {
		r = -EIO;
		goto out;
	}
	ip->nlookup++;
	fill_attr(ip, ret);
	r = 0;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

void store_forget(struct store *s, uint64_t ino, uint64_t nlookup)
{
	struct minode *ip;

	pthread_mutex_lock(&s->lock);
	ip = meta_inode(s->m, ino);
	if (ip) {
		ip->nlookup -= nlookup < ip->nlookup ? nlookup : ip->nlookup;
		maybe_reap(s, ip);
	}
	pthread_mutex_unlock(&s->lock);
}

int store_getattr(struct store *s, uint64_t ino, struct store_attr *ret)
{
	struct minode *ip;
	int r;

	pthread_mutex_lock(&s->lock);
	r = get_inode(s, ino, &ip);
	if (r == 0)
		fill_attr(ip, ret);
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Sets the size of a regular file, dropping data beyond it. */
static int set_size(struct store *s, struct minode *ip, uint64_t size)
{
	if (size > INT64_MAX)
		return -EFBIG;
	if (size < ip->size) {
		int r;

		dirty_truncate(s, ip, size);
		r = meta_truncate(s->m, ip, size);
		if (r < 0)
			return r;
		if (!ip->deleted)
			meta_rec_truncate(&s->pend, ip->ino, size);
	}
	ip->size = size;
	return pend_error(s);
}

int store_setattr(struct store *s, uint64_t ino, const struct store_attr *attr,
		  unsigned to_set, struct store_attr *ret)
{
	struct timespec now = now_real();
	struct minode *ip;
	int r;

	pthread_mutex_lock(&s->lock);
	r = get_inode(s, ino, &ip);
	if (r < 0)
		goto out;
	r = writable(s);
	if (r < 0)
		goto out;
	if (to_set & STORE_SET_SIZE) {
		if (S_ISDIR(ip->mode)) {
			r = -EISDIR;
			goto out;
		}
		if (!S_ISREG(ip->mode)) {
			r = -EINVAL;
			goto out;
		}
		r = set_size(s, ip, attr->size);
		if (r < 0)
			goto out;
		ip->mtime = now;
	}
	if (to_set & STORE_SET_MODE)
		ip->mode = (ip->mode & S_IFMT) | (attr->mode & 07777);
	if (to_set & STORE_SET_UID)
		ip->uid = attr->uid;
	if (to_set & STORE_SET_GID)
		ip->gid = attr->gid;
	if (to_set & STORE_SET_ATIME_NOW)
		ip->atime = now;
	else if (to_set & STORE_SET_ATIME)
		ip->atime = attr->atime;
	if (to_set & STORE_SET_MTIME_NOW)
		ip->mtime = now;
	else if (to_set & STORE_SET_MTIME)
		ip->mtime = attr->mtime;
	if (ip->atime.tv_nsec < 0 || ip->atime.tv_nsec >= 1000000000)
		ip->atime.tv_nsec = 0;
	if (ip->mtime.tv_nsec < 0 || ip->mtime.tv_nsec >= 1000000000)
		ip->mtime.tv_nsec = 0;
	if (to_set & STORE_SET_CTIME && attr->ctime.tv_nsec >= 0 &&
	    attr->ctime.tv_nsec < 1000000000)
		ip->ctime = attr->ctime;
	else
		ip->ctime = now;
	if (!ip->deleted) {
		ip->attr_dirty = 1;
		note_changed(s, ip);
		meta_changed(s);
	}
	fill_attr(ip, ret);
	r = 0;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Common part of mknod, mkdir, symlink: a new inode named name in dir. */
static int make_node(struct store *s, uint64_t parent, const char *name,
		     uint32_t mode, uint64_t rdev, uint32_t uid, uint32_t gid,
		     const char *target, struct store_attr *ret)
{
	struct minode *dir, *ip;
	struct timespec now = now_real();
	size_t len, tlen = 0;
	int r;

	r = writable(s);
	if (r < 0)
		return r;
	r = get_dir(s, parent, &dir);
	if (r < 0)
		return r;
	if (dir->deleted)
		return -ENOENT;
	r = check_name(name, &len);
	if (r < 0)
		return r;
	if (meta_dirent_find(s->m, parent, name, len))
		return -EEXIST;
	if (target) {
		tlen = strnlen(target, STORE_SYMLINK_MAX + 1);
		if (tlen > STORE_SYMLINK_MAX)
			return -ENAMETOOLONG;
		if (tlen == 0)
			return -ENOENT;
	}
	if (S_ISDIR(mode) && dir->nlink == UINT32_MAX)
		return -EMLINK;
	r = meta_inode_new(s->m, s->next_ino, mode, &ip);
	if (r < 0)
		return r;
	s->next_ino++;
	ip->nlink = S_ISDIR(mode) ? 2 : 1;
	ip->uid = uid;
	ip->gid = gid;
	ip->rdev = (S_ISCHR(mode) || S_ISBLK(mode)) ? rdev : 0;
	ip->atime = ip->mtime = ip->ctime = now;
	if (target) {
		ip->target = malloc(tlen + 1);
		if (!ip->target) {
			meta_inode_remove(s->m, ip);
			return -ENOMEM;
		}
		memcpy(ip->target, target, tlen + 1);
		ip->size = tlen;
	}
	r = meta_dirent_add(s->m, dir, name, len, ip);
	if (r < 0) {
		meta_inode_remove(s->m, ip);
		return r;
	}
	if (S_ISDIR(mode))
		dir->nlink++;
	meta_rec_inode(&s->pend, ip);
	meta_rec_dirent_add(&s->pend, parent, name, len, ip->ino);
	touch(s, dir, 1);
	ip->nlookup++;
	fill_attr(ip, ret);
	return pend_error(s);
}

int store_mknod(struct store *s, uint64_t parent, const char *name,
		uint32_t mode, uint64_t rdev, uint32_t uid, uint32_t gid,
		struct store_attr *ret)
{
	int r;

	if ((mode & S_IFMT) == 0)
		mode |= S_IFREG;
	switch (mode & S_IFMT) {
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
	case S_IFCHR:
	case S_IFBLK:
		break;
	default:
		return -EINVAL;
	}
	mode &= S_IFMT | 07777;
	pthread_mutex_lock(&s->lock);
	r = make_node(s, parent, name, mode, rdev, uid, gid, NULL, ret);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_mkdir(struct store *s, uint64_t parent, const char *name,
		uint32_t mode, uint32_t uid, uint32_t gid,
		struct store_attr *ret)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = make_node(s, parent, name, S_IFDIR | (mode & 07777), 0, uid, gid,
		      NULL, ret);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_symlink(struct store *s, uint64_t parent, const char *name,
		  const char *target, uint32_t uid, uint32_t gid,
		  struct store_attr *ret)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = make_node(s, parent, name, S_IFLNK | 0777, 0, uid, gid, target,
		      ret);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_readlink(struct store *s, uint64_t ino, char *buf, size_t size)
{
	struct minode *ip;
	size_t len;
	int r;

	pthread_mutex_lock(&s->lock);
	r = get_inode(s, ino, &ip);
	if (r < 0)
		goto out;
	if (!S_ISLNK(ip->mode)) {
		r = -EINVAL;
		goto out;
	}
	len = strlen(ip->target);
	if (len > size) {
		r = -ENAMETOOLONG;
		goto out;
	}
	memcpy(buf, ip->target, len);
	r = (int)len;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_link(struct store *s, uint64_t ino, uint64_t newparent,
	       const char *newname, struct store_attr *ret)
{
	struct minode *ip, *dir;
	size_t len;
	int r;

	pthread_mutex_lock(&s->lock);
	r = writable(s);
	if (r < 0)
		goto out;
	r = get_inode(s, ino, &ip);
	if (r < 0)
		goto out;
	if (S_ISDIR(ip->mode)) {
		r = -EPERM;
		goto out;
	}
	if (ip->deleted) {
		r = -ENOENT;
		goto out;
	}
	r = get_dir(s, newparent, &dir);
	if (r < 0)
		goto out;
	if (dir->deleted) {
		r = -ENOENT;
		goto out;
	}
	r = check_name(newname, &len);
	if (r < 0)
		goto out;
	if (meta_dirent_find(s->m, newparent, newname, len)) {
		r = -EEXIST;
		goto out;
	}
	if (ip->nlink == UINT32_MAX) {
		r = -EMLINK;
		goto out;
	}
	r = meta_dirent_add(s->m, dir, newname, len, ip);
	if (r < 0)
		goto out;
	ip->nlink++;
	meta_rec_dirent_add(&s->pend, newparent, newname, len, ip->ino);
	touch(s, ip, 0);
	touch(s, dir, 1);
	ip->nlookup++;
	fill_attr(ip, ret);
	r = pend_error(s);
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Removes entry d of dir and logs it. */
static void del_entry(struct store *s, struct minode *dir, struct mdirent *d)
{
	meta_rec_dirent_del(&s->pend, dir->ino, d->name, d->namelen);
	meta_dirent_remove(s->m, dir, d);
	touch(s, dir, 1);
}

/* One name of ip is gone. */
static void drop_link(struct store *s, struct minode *ip)
{
	if (S_ISDIR(ip->mode))
		ip->nlink = 0;
	else if (ip->nlink > 0)
		ip->nlink--;
	touch(s, ip, 0);
	if (ip->nlink == 0)
		mark_deleted(s, ip);
}

static int remove_name(struct store *s, uint64_t parent, const char *name,
		       int want_dir)
{
	struct minode *dir, *ip;
	struct mdirent *d;
	size_t len;
	int r;

	r = writable(s);
	if (r < 0)
		return r;
	r = get_dir(s, parent, &dir);
	if (r < 0)
		return r;
	r = check_name(name, &len);
	if (r < 0)
		return r;
	d = meta_dirent_find(s->m, parent, name, len);
	if (!d)
		return -ENOENT;
	ip = meta_inode(s->m, d->ino);
	if (!ip)
		return -EIO;
	if (want_dir && !S_ISDIR(ip->mode))
		return -ENOTDIR;
	if (!want_dir && S_ISDIR(ip->mode))
		return -EISDIR;
	if (want_dir && ip->nentries)
		return -ENOTEMPTY;
	del_entry(s, dir, d);
	if (want_dir)
		dir->nlink--;
	drop_link(s, ip);
	return pend_error(s);
}

int store_unlink(struct store *s, uint64_t parent, const char *name)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = remove_name(s, parent, name, 0);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_rmdir(struct store *s, uint64_t parent, const char *name)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = remove_name(s, parent, name, 1);
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Is dir a (non-strict) descendant of anc? */
static int is_under(struct store *s, struct minode *dir, uint64_t anc)
{
	uint64_t ino = dir->ino;

	for (;;) {
		struct minode *ip;

		if (ino == anc)
			return 1;
		if (ino == STORE_ROOT_INO)
			return 0;
		ip = meta_inode(s->m, ino);
		if (!ip || ip->parent == ino)
			return 0;
		ino = ip->parent;
	}
}

static int do_rename(struct store *s, uint64_t parent, const char *name,
		     uint64_t newparent, const char *newname, unsigned flags)
{
	struct minode *pdir, *ndir, *sip, *dip = NULL;
	struct mdirent *d, *d2;
	size_t len, nlen;
	int r;

	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE) ||
	    (flags & RENAME_NOREPLACE && flags & RENAME_EXCHANGE))
		return -EINVAL;
	r = writable(s);
	if (r < 0)
		return r;
	r = get_dir(s, parent, &pdir);
	if (r == 0)
		r = get_dir(s, newparent, &ndir);
	if (r < 0)
		return r;
	r = check_name(name, &len);
	if (r == 0)
		r = check_name(newname, &nlen);
	if (r < 0)
		return r;
	d = meta_dirent_find(s->m, parent, name, len);
	if (!d)
		return -ENOENT;
	if (ndir->deleted)
		return -ENOENT;
	sip = meta_inode(s->m, d->ino);
	if (!sip)
		return -EIO;
	d2 = meta_dirent_find(s->m, newparent, newname, nlen);
	if (d2) {
		dip = meta_inode(s->m, d2->ino);
		if (!dip)
			return -EIO;
	}
	if (d == d2)
		return 0;
	if (flags & RENAME_EXCHANGE) {
		uint64_t a = sip->ino, b;

		if (!d2)
			return -ENOENT;
		b = dip->ino;
		if ((S_ISDIR(sip->mode) && is_under(s, ndir, a)) ||
		    (S_ISDIR(dip->mode) && is_under(s, pdir, b)))
			return -EINVAL;
		/* Names are copied before the entries go away. */
		{
			char n1[STORE_NAME_MAX + 1], n2[STORE_NAME_MAX + 1];

			memcpy(n1, name, len);
			memcpy(n2, newname, nlen);
			del_entry(s, pdir, d);
			del_entry(s, ndir, d2);
			r = meta_dirent_add(s->m, pdir, n1, len, dip);
			if (r == 0)
				r = meta_dirent_add(s->m, ndir, n2, nlen, sip);
			if (r < 0)
				return r;
			meta_rec_dirent_add(&s->pend, parent, n1, len, b);
			meta_rec_dirent_add(&s->pend, newparent, n2, nlen, a);
		}
		if (pdir != ndir && S_ISDIR(sip->mode) != S_ISDIR(dip->mode)) {
			if (S_ISDIR(sip->mode)) {
				pdir->nlink--;
				ndir->nlink++;
			} else {
				ndir->nlink--;
				pdir->nlink++;
			}
		}
		touch(s, sip, 0);
		touch(s, dip, 0);
		return pend_error(s);
	}
	if (d2 && (flags & RENAME_NOREPLACE))
		return -EEXIST;
	if (S_ISDIR(sip->mode) && is_under(s, ndir, sip->ino))
		return -EINVAL;
	if (d2) {
		if (dip == sip)
			return 0; /* two names of one inode: POSIX no-op */
		if (S_ISDIR(sip->mode) && !S_ISDIR(dip->mode))
			return -ENOTDIR;
		if (!S_ISDIR(sip->mode) && S_ISDIR(dip->mode))
			return -EISDIR;
		if (S_ISDIR(dip->mode) && dip->nentries)
			return -ENOTEMPTY;
		if (S_ISDIR(dip->mode) && is_under(s, pdir, dip->ino))
			return -ENOTEMPTY;
	}
	{
		char n1[STORE_NAME_MAX + 1];

		memcpy(n1, newname, nlen);
		if (d2) {
			del_entry(s, ndir, d2);
			if (S_ISDIR(dip->mode))
				ndir->nlink--;
			drop_link(s, dip);
		}
		del_entry(s, pdir, d);
		r = meta_dirent_add(s->m, ndir, n1, nlen, sip);
		if (r < 0)
			return r;
		meta_rec_dirent_add(&s->pend, newparent, n1, nlen, sip->ino);
		touch(s, ndir, 1);
	}
	if (S_ISDIR(sip->mode) && pdir != ndir) {
		pdir->nlink--;
		ndir->nlink++;
	}
	touch(s, sip, 0);
	return pend_error(s);
}

int store_rename(struct store *s, uint64_t parent, const char *name,
		 uint64_t newparent, const char *newname, unsigned flags)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = do_rename(s, parent, name, newparent, newname, flags);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_open_inode(struct store *s, uint64_t ino)
{
	struct minode *ip;
	int r;

	pthread_mutex_lock(&s->lock);
	r = get_inode(s, ino, &ip);
	if (r == 0)
		ip->nopen++;
	pthread_mutex_unlock(&s->lock);
	return r;
}

void store_release_inode(struct store *s, uint64_t ino)
{
	struct minode *ip;

	pthread_mutex_lock(&s->lock);
	ip = meta_inode(s->m, ino);
	if (ip && ip->nopen) {
		ip->nopen--;
		maybe_reap(s, ip);
	}
	pthread_mutex_unlock(&s->lock);
}

/* ---- data ---- */

static int file_inode(struct store *s, uint64_t ino, struct minode **ret)
{
	int r = get_inode(s, ino, ret);

	if (r < 0)
		return r;
	if (S_ISDIR((*ret)->mode))
		return -EISDIR;
	if (!S_ISREG((*ret)->mode))
		return -EINVAL;
	return 0;
}

int store_read(struct store *s, uint64_t ino, void *buf, size_t size,
	       uint64_t off)
{
	struct minode *ip;
	uint64_t end;
	size_t n;
	int r;

	if (size > INT32_MAX)
		size = INT32_MAX;
	pthread_mutex_lock(&s->lock);
	r = file_inode(s, ino, &ip);
	if (r < 0)
		goto out;
	if (off >= ip->size) {
		r = 0;
		goto out;
	}
	n = ip->size - off < size ? (size_t)(ip->size - off) : size;
	end = off + n;
	r = read_stored(s, ip, off, n, buf);
	if (r < 0)
		goto out;
	for (size_t i = dblock_find(ip, off / STORE_BLOCK_SIZE); i < ip->ndirty;
	     i++) {
		const struct dblock *b = &ip->dirty[i];
		uint64_t start = b->idx * STORE_BLOCK_SIZE;
		uint64_t a = start + b->lo, e = start + b->hi;

		if (start >= end)
			break;
		if (a < off)
			a = off;
		if (e > end)
			e = end;
		if (a < e)
			memcpy((uint8_t *)buf + (a - off),
			       b->data + (a - start - b->lo), e - a);
	}
	r = (int)n;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_write(struct store *s, uint64_t ino, const void *buf, size_t size,
		uint64_t off)
{
	const uint8_t *src = buf;
	struct minode *ip;
	size_t done = 0;
	int r;

	if (size > INT32_MAX)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	r = writable(s);
	if (r < 0)
		goto out;
	r = file_inode(s, ino, &ip);
	if (r < 0)
		goto out;
	if (off > INT64_MAX || size > INT64_MAX - off) {
		r = -EFBIG;
		goto out;
	}
	while (done < size) {
		uint64_t pos = off + done;
		uint64_t idx = pos / STORE_BLOCK_SIZE;
		uint32_t a = (uint32_t)(pos % STORE_BLOCK_SIZE);
		uint32_t b = STORE_BLOCK_SIZE;

		if (size - done < (size_t)(b - a))
			b = a + (uint32_t)(size - done);
		r = dirty_put(s, ip, idx, a, b, src + done);
		if (r < 0)
			break;
		done += b - a;
		if (pos + (b - a) > ip->size)
			ip->size = pos + (b - a);
	}
	if (done > 0) {
		struct timespec t = now_real();

		ip->mtime = ip->ctime = t;
		if (!ip->deleted) {
			ip->attr_dirty = 1;
			note_changed(s, ip);
			meta_changed(s);
		}
		r = (int)done;
	}
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* ---- extended attributes, fallocate (format 2) ---- */

_Static_assert(STORE_XATTR_CREATE == META_XATTR_CREATE &&
		   STORE_XATTR_REPLACE == META_XATTR_REPLACE &&
		   STORE_XATTR_NAME_MAX == META_XATTR_NAME_MAX &&
		   STORE_XATTR_SIZE_MAX == META_XATTR_VALUE_MAX &&
		   STORE_XATTR_LIST_MAX == META_XATTR_LIST_MAX &&
		   STORE_XATTR_TOTAL_MAX == META_XATTR_TOTAL_MAX,
	       "store.h and meta.h limits differ");

/* An attribute change of ip: ctime (and mtime) bumped, the inode logged
 * at the commit unless it lost its last name (then it is never committed
 * again). format2: the change logged a format-2 record. */
static void xchange(struct store *s, struct minode *ip, int mtime, int format2)
{
	struct timespec t = now_real();

	if (ip->deleted) {
		ip->ctime = t;
		if (mtime)
			ip->mtime = t;
		return;
	}
	if (format2)
		s->need_format = HEADER_FORMAT_XATTR;
	touch(s, ip, mtime);
}

static int xattr_name(const char *name, size_t *ret_len)
{
	size_t len = strnlen(name, STORE_XATTR_NAME_MAX + 1);
	int r = meta_xattr_name_check(name, len);

	if (r < 0)
		return r;
	*ret_len = len;
	return 0;
}

int store_setxattr(struct store *s, uint64_t ino, const char *name,
		   const void *value, size_t size, int flags)
{
	struct minode *ip;
	size_t len;
	int r;

	pthread_mutex_lock(&s->lock);
	r = get_inode(s, ino, &ip);
	if (r < 0)
		goto out;
	r = xattr_name(name, &len);
	if (r < 0)
		goto out;
	r = writable(s);
	if (r < 0)
		goto out;
	r = meta_xattr_set(ip, name, len, value, size, flags);
	if (r < 0)
		goto out;
	if (!ip->deleted)
		meta_rec_xattr_set(&s->pend, ip->ino,
				   meta_xattr_find(ip, name, len));
	xchange(s, ip, 0, 1);
	r = pend_error(s);
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_getxattr(struct store *s, uint64_t ino, const char *name, void *buf,
		   size_t size)
{
	const struct mxattr *x;
	struct minode *ip;
	size_t len;
	int r;

	pthread_mutex_lock(&s->lock);
	r = get_inode(s, ino, &ip);
	if (r < 0)
		goto out;
	r = xattr_name(name, &len);
	if (r < 0)
		goto out;
	x = meta_xattr_find(ip, name, len);
	if (!x) {
		r = -ENODATA;
		goto out;
	}
	r = (int)x->vlen;
	if (size == 0)
		goto out;
	if (size < x->vlen) {
		r = -ERANGE;
		goto out;
	}
	if (x->vlen)
		memcpy(buf, x->value, x->vlen);
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_listxattr(struct store *s, uint64_t ino, char *buf, size_t size)
{
	struct minode *ip;
	int r;

	pthread_mutex_lock(&s->lock);
	r = get_inode(s, ino, &ip);
	if (r < 0)
		goto out;
	r = (int)ip->xa_list;
	if (size == 0)
		goto out;
	if (size < ip->xa_list) {
		r = -ERANGE;
		goto out;
	}
	for (uint32_t i = 0, at = 0; i < ip->nxa; i++) {
		memcpy(buf + at, ip->xa[i].name, ip->xa[i].namelen + 1);
		at += ip->xa[i].namelen + 1;
	}
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_removexattr(struct store *s, uint64_t ino, const char *name)
{
	struct minode *ip;
	size_t len;
	int r;

	pthread_mutex_lock(&s->lock);
	r = get_inode(s, ino, &ip);
	if (r < 0)
		goto out;
	r = xattr_name(name, &len);
	if (r < 0)
		goto out;
	r = writable(s);
	if (r < 0)
		goto out;
	r = meta_xattr_remove(ip, name, len);
	if (r < 0)
		goto out;
	if (!ip->deleted)
		meta_rec_xattr_del(&s->pend, ip->ino, name, len);
	xchange(s, ip, 0, 1);
	r = pend_error(s);
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Dirty data inside [a, b) reads as zeros: blocks wholly inside go, the
 * rest is zeroed (it stays one valid range per block). */
static void dirty_punch(struct store *s, struct minode *ip, uint64_t a,
			uint64_t b)
{
	size_t i = dblock_find(ip, a / STORE_BLOCK_SIZE);

	while (i < ip->ndirty) {
		struct dblock *blk = &ip->dirty[i];
		uint64_t start = blk->idx * STORE_BLOCK_SIZE;
		uint64_t lo = start + blk->lo, hi = start + blk->hi;
		uint64_t x = lo > a ? lo : a, y = hi < b ? hi : b;

		if (start >= b)
			break;
		if (lo >= a && hi <= b) {
			dblock_remove(s, ip, i);
			continue;
		}
		if (x < y)
			memset(blk->data + (x - lo), 0, y - x);
		i++;
	}
}

int store_fallocate(struct store *s, uint64_t ino, int mode, uint64_t off,
		    uint64_t len)
{
	struct minode *ip;
	int r;

	pthread_mutex_lock(&s->lock);
	r = writable(s);
	if (r < 0)
		goto out;
	r = get_inode(s, ino, &ip);
	if (r < 0)
		goto out;
	if (S_ISDIR(ip->mode)) {
		r = -EISDIR;
		goto out;
	}
	if (!S_ISREG(ip->mode)) {
		r = -ENODEV;
		goto out;
	}
	if (mode != 0 && mode != FALLOC_FL_KEEP_SIZE &&
	    mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) {
		r = -EOPNOTSUPP;
		goto out;
	}
	if (len == 0) {
		r = -EINVAL;
		goto out;
	}
	if (off > INT64_MAX || len > INT64_MAX - off) {
		r = -EFBIG;
		goto out;
	}
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		uint64_t end = off + len < ip->size ? off + len : ip->size;

		r = 0;
		if (off >= end)
			goto out; /* nothing stored there */
		dirty_punch(s, ip, off, end);
		r = meta_punch(s->m, ip, off, end);
		if (r < 0)
			goto out;
		if (!ip->deleted)
			meta_rec_punch(&s->pend, ip->ino, off, end - off);
		xchange(s, ip, 1, 1);
		r = pend_error(s);
		goto out;
	}
	/* Nothing to reserve: the cloud folder cannot promise space. */
	if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > ip->size) {
		ip->size = off + len;
		xchange(s, ip, 1, 0);
	} else {
		xchange(s, ip, 0, 0);
	}
	r = 0;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* ---- directories, statfs ---- */

int store_readdir(struct store *s, uint64_t ino, uint64_t cookie,
		  store_fill_fn fill, void *ctx)
{
	struct store_attr a;
	struct minode *dir, *ip;
	struct mdirent *d;
	int r;

	pthread_mutex_lock(&s->lock);
	r = get_dir(s, ino, &dir);
	if (r < 0)
		goto out;
	r = 0;
	if (cookie == 0) {
		fill_attr(dir, &a);
		if (fill(ctx, ".", &a, 1))
			goto out;
		cookie = 1;
	}
	if (cookie == 1) {
		ip = meta_inode(s->m, dir->parent);
		fill_attr(ip ? ip : dir, &a);
		if (fill(ctx, "..", &a, META_FIRST_COOKIE))
			goto out;
		cookie = META_FIRST_COOKIE;
	}
	for (d = meta_dir_next(dir, cookie); d;
	     d = meta_dir_next(dir, d->cookie + 1)) {
		ip = meta_inode(s->m, d->ino);
		if (!ip) {
			r = -EIO;
			goto out;
		}
		fill_attr(ip, &a);
		if (fill(ctx, d->name, &a, d->cookie + 1))
			break;
	}
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_statfs(struct store *s, struct statvfs *ret)
{
	struct statvfs st;
	int r;

	pthread_mutex_lock(&s->lock);
	r = objstore_statvfs(s->os, &st);
	if (r == 0) {
		uint64_t fr = st.f_frsize ? st.f_frsize : st.f_bsize;
		uint64_t scale = fr / 4096 ? fr / 4096 : 1;

		memset(ret, 0, sizeof(*ret));
		ret->f_bsize = 4096;
		ret->f_frsize = 4096;
		if (fr >= 4096) {
			ret->f_blocks = st.f_blocks * scale;
			ret->f_bfree = st.f_bfree * scale;
			ret->f_bavail = st.f_bavail * scale;
		} else {
			ret->f_blocks = st.f_blocks / (4096 / fr);
			ret->f_bfree = st.f_bfree / (4096 / fr);
			ret->f_bavail = st.f_bavail / (4096 / fr);
		}
		ret->f_files =
		    s->m->ninodes + (st.f_ffree ? st.f_ffree : 1000000);
		ret->f_ffree = ret->f_files - s->m->ninodes;
		ret->f_favail = ret->f_ffree;
		ret->f_namemax = STORE_NAME_MAX;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* ---- for rekey.c (store_priv.h) ---- */

void store_rekey_parts(struct store *s, struct store_rekey_parts *ret)
{
	pthread_mutex_lock(&s->lock);
	ret->os = s->os;
	ret->m = s->m;
	ret->keys = s->keys;
	ret->store_id = s->store_id;
	ret->gen = s->gen;
	ret->head_seg = s->head_seg;
	memcpy(ret->head_hash, s->head_hash, COMMIT_HASH_BYTES);
	ret->next_seg = s->next_seg;
	ret->dirty = is_dirty(s) || s->head_unsynced || s->broken;
	pthread_mutex_unlock(&s->lock);
}

int store_rekey_commit(struct store *s, struct keys *k2, uint64_t min_seg)
{
	char *state_dir;
	int r;

	pthread_mutex_lock(&s->lock);
	if (s->flags & STORE_READ_ONLY) {
		keys_free(k2);
		r = -EROFS;
		goto out;
	}
	if (s->broken || is_dirty(s) || s->head_unsynced) {
		keys_free(k2);
		r = -EBUSY;
		goto out;
	}
	/* A header raise (format 2 records) is made under the old key now,
	 * not by the commit below under k2: the header names K until the
	 * switch. */
	r = raise_format(s);
	if (r < 0) {
		keys_free(k2);
		goto out;
	}
	keys_free(s->keys);
	s->keys = k2;
	cache_clear(s); /* plaintext read under the old key: drop it */
	if (s->next_seg < min_seg)
		s->next_seg = min_seg;
	s->force_ckpt = 1;
	/* No high-water mark: until the header names the new key, this
	 * machine must still open the old head without a rollback. */
	state_dir = s->state_dir;
	s->state_dir = NULL;
	r = do_commit(s);
	s->state_dir = state_dir;
	if (r < 0 || s->head_unsynced) {
		s->broken = 1; /* memory now holds the new key's state */
		if (r == 0)
			r = -EIO;
	}
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

/*
 * fsck.c - verify a store, and repair what needs no guessing (fsck.h).
 *
 * The order is the one store_open follows, so that fsck sees exactly the
 * state a mount would load: header and key; every listed segment probed
 * (plaintext header, trailer, last chunk opened); from the highest commit
 * down, the first whose chain back to its checkpoint is complete and whose
 * metadata replays; freshness against this machine's high-water mark. Then
 * what a mount only finds later, on reads: the tree's invariants and every
 * data chunk the tree refers to. Nothing is written unless FSCK_F_REPAIR.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "buf.h"
#include "chunk.h"
#include "commit.h"
#include "fsck.h"
#include "header.h"
#include "lease.h"
#include "meta.h"
#include "objstore.h"
#include "segment.h"
#include "store_priv.h"

/* As store.c: names at or above FSCK_SEG_LIMIT, or more than
 * FSCK_SEG_WINDOW above the authenticated segments, are planted debris
 * the store never reads. */
#define FSCK_SEG_LIMIT ((uint64_t)1 << 48)
#define FSCK_SEG_WINDOW ((uint64_t)1 << 32)
/* Cap on the metadata records loaded (as store.c). */
#define FSCK_META_MAX (1u << 30)
/* Findings of one kind listed one by one before a count is given. */
#define FSCK_LIST_MAX 50

enum probe_status {
	P_MISSING = 0, /* listed, gone when read */
	P_IOERR,       /* cannot be read (err) */
	P_TORN,	       /* incomplete: too short, or no valid trailer */
	P_NOTSEG,      /* not a segment of ours (magic, version) */
	P_MOVED,       /* a segment, but it names another number */
	P_BADLAST,     /* framing fine, last chunk fails authentication */
	P_DATA,	       /* data-only segment, end chunk authenticates */
	P_COMMIT,      /* commit chunk authenticates and decodes */
};

enum probe_role {
	R_NONE = 0,
	R_CHAIN, /* on the head's chain */
	R_TABLE, /* in the head's segment table (holds data) */
};

struct probe {
	uint64_t segno;
	uint64_t size;
	uint64_t inner; /* P_MOVED: the number it holds */
	uint64_t last_off; /* offset of the last chunk */
	uint8_t rid[CHUNK_RID_BYTES];
	int status;
	int err;
	int role;
	struct commit c; /* P_COMMIT */
	char why[200];	 /* P_COMMIT that did not load: why */
};

struct fsck {
	struct objstore *os;
	const struct fsck_opts *o;
	struct fsck_result *res;
	struct keys *keys;
	uint8_t store_id[STORE_ID_BYTES];
	uint64_t now;
	unsigned grace;

	struct probe *p; /* ascending segno */
	size_t np;
	size_t head;	 /* index into p of the head */
	struct meta *m;	 /* state of the head */
	uint64_t ckpt_seg;
	uint64_t ckpt_time;
	uint64_t auth_top; /* highest authenticated segment number */

	char **tmps; /* temporaries found (for the repair) */
	size_t ntmps;
};

/* ---- reporting ---- */

static void __attribute__((format(printf, 4, 5)))
say(struct fsck *f, enum fsck_level level, const char *object,
    const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	switch (level) {
	case FSCK_NOTE:
		f->res->notes++;
		break;
	case FSCK_DAMAGE:
		f->res->damage++;
		break;
	case FSCK_ROLLBACK:
		f->res->rollback++;
		break;
	default:
		break;
	}
	if (f->o->report)
		f->o->report(f->o->ctx, level, object, text);
}

static void count_read(struct fsck *f, uint64_t n)
{
	f->res->bytes += n;
	progress_add(f->o->progress, n);
}

static const char *seg_obj(uint64_t segno, char buf[OBJSTORE_NAME_MAX])
{
	objstore_seg_name(segno, buf);
	return buf;
}

static struct probe *probe_find(struct fsck *f, uint64_t segno)
{
	size_t lo = 0, hi = f->np;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->p[mid].segno < segno)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < f->np && f->p[lo].segno == segno ? &f->p[lo] : NULL;
}

/* What is wrong with a probed segment, in words (status != P_COMMIT). */
static const char *probe_text(const struct probe *p, char *buf, size_t size)
{
	switch (p->status) {
	case P_MISSING:
		return "is missing";
	case P_IOERR:
		snprintf(buf, size, "cannot be read (%s)", strerror(p->err));
		return buf;
	case P_TORN:
		return "is incomplete (cut short: no valid trailer)";
	case P_NOTSEG:
		return "is not a vaultfs segment (its header is wrong)";
	case P_MOVED:
		snprintf(buf, size,
			 "holds segment %" PRIu64
			 " under another number (renamed, swapped or "
			 "replayed)",
			 p->inner);
		return buf;
	case P_BADLAST:
		return "fails authentication (its last chunk does not open "
		       "with this key at this place: damaged, or not from "
		       "this store)";
	case P_DATA:
		return "is a data-only segment (no commit)";
	default:
		return "is a commit";
	}
}

/* ---- probing segments ---- */

static const uint8_t SEG_MAGIC[8] = {'V', 'F', 'S', 'S', 'E', 'G', 0, 0};

/* Reads the header, the trailer and the last chunk of p->segno. Fails
 * only for this machine's reasons (-ENOMEM). */
static int probe_one(struct fsck *f, struct probe *p)
{
	char name[OBJSTORE_NAME_MAX];
	uint8_t h[SEG_HDR_BYTES], rid[CHUNK_RID_BYTES], kind;
	uint8_t *sealed = NULL, *plain = NULL;
	struct chunk_pos pos;
	uint32_t slen;
	uint64_t off;
	int r, n;

	objstore_seg_name(p->segno, name);
	r = objstore_size(f->os, name, &p->size);
	if (r < 0)
		goto ioerr;
	if (p->size < SEG_HDR_BYTES) {
		p->status = P_TORN;
		return 0;
	}
	r = objstore_read(f->os, name, 0, h, sizeof(h));
	if (r < 0)
		goto ioerr;
	count_read(f, sizeof(h));
	if (sodium_is_zero(h, sizeof(h))) {
		/* a file whose data never reached the disk (a crash) */
		p->status = P_TORN;
		return 0;
	}
	if (memcmp(h, SEG_MAGIC, sizeof(SEG_MAGIC)) != 0 ||
	    get_le32(h + 8) != SEG_VERSION || get_le32(h + 12) != 0) {
		p->status = P_NOTSEG;
		return 0;
	}
	memcpy(p->rid, h + 24, CHUNK_RID_BYTES);
	if (get_le64(h + 16) != p->segno) {
		p->status = P_MOVED;
		p->inner = get_le64(h + 16);
		return 0;
	}
	if (p->size < SEG_HDR_BYTES + SEG_TRAILER_BYTES ||
	    p->size > SEG_MAX_BYTES) {
		p->status = P_TORN;
		return 0;
	}
	r = seg_read_last(f->os, p->segno, rid, &kind, &sealed, &slen, &off);
	if (r == -EBADMSG) {
		p->status = P_TORN;
		return 0;
	}
	if (r < 0)
		goto ioerr;
	count_read(f, SEG_TRAILER_BYTES + slen);
	p->last_off = off;
	plain = malloc(slen);
	if (!plain) {
		free(sealed);
		return -ENOMEM;
	}
	pos.store_id = f->store_id;
	pos.segno = p->segno;
	pos.seg_rid = rid;
	pos.offset = off;
	pos.kind = kind;
	pos.last = 1;
	p->status = P_BADLAST;
	if (kind == CHUNK_COMMIT) {
		n = chunk_open(f->keys->meta, &pos, sealed, slen, plain);
		if (n >= 0) {
			r = commit_decode(plain, (size_t)n, p->segno, off,
					  &p->c);
			if (r == -ENOMEM)
				goto out;
			if (r == 0) {
				memcpy(p->c.rid, rid, sizeof(rid));
				crypto_generichash(p->c.hash,
						   sizeof(p->c.hash), sealed,
						   slen, NULL, 0);
				p->status = P_COMMIT;
			}
		}
	} else if (kind == CHUNK_META) {
		n = chunk_open(f->keys->meta, &pos, sealed, slen, plain);
		if (n == 0)
			p->status = P_DATA;
	}
	r = 0;
out:
	free(sealed);
	if (plain) {
		sodium_memzero(plain, slen);
		free(plain);
	}
	return r;
ioerr:
	if (r == -ENOMEM)
		return r;
	p->status = r == -ENOENT ? P_MISSING : P_IOERR;
	p->err = -r;
	return 0;
}

static int list_and_probe(struct fsck *f)
{
	uint64_t *segs = NULL;
	size_t n = 0;
	int r;

	r = objstore_list_segments(f->os, 0, &segs, &n, NULL);
	if (r < 0)
		return r;
	f->p = calloc(n ? n : 1, sizeof(*f->p));
	if (!f->p) {
		free(segs);
		return -ENOMEM;
	}
	f->np = n;
	for (size_t i = 0; i < n; i++)
		f->p[i].segno = segs[i];
	free(segs);
	for (size_t i = 0; i < n; i++) {
		r = probe_one(f, &f->p[i]);
		if (r < 0)
			return r;
		f->res->objects++;
	}
	return 0;
}

/* ---- the newest complete commit ---- */

/* Opens every metadata chunk of c and appends the plaintext to w; says
 * which chunk failed in why. */
static int load_meta(struct fsck *f, const struct commit *c, struct bufw *w,
		     char *why, size_t whylen)
{
	char name[OBJSTORE_NAME_MAX];
	uint8_t *plain;
	int r = 0;

	plain = malloc(CHUNK_PLAIN_MAX);
	if (!plain)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->nmeta; i++) {
		int n = seg_read_chunk(f->os, f->keys->meta, f->store_id,
				       c->segno, c->rid, c->meta[i].off,
				       c->meta[i].sealed, CHUNK_META, 0, plain);

		if (n == -ENOMEM) {
			r = n;
			break;
		}
		if (n < 0) {
			snprintf(why, whylen,
				 "metadata chunk %u of %u (at offset %" PRIu32
				 ", %" PRIu32 " bytes) in %s %s",
				 i + 1, c->nmeta, c->meta[i].off,
				 c->meta[i].sealed, seg_obj(c->segno, name),
				 n == -EBADMSG ? "fails authentication"
					       : strerror(-n));
			r = -EBADMSG;
			break;
		}
		count_read(f, c->meta[i].sealed);
		bufw_put(w, plain, (size_t)n);
		r = bufw_error(w);
		if (r < 0)
			break;
	}
	sodium_memzero(plain, CHUNK_PLAIN_MAX);
	free(plain);
	return r;
}

/*
 * Tries the commit in p as the head: follows its parents to its
 * checkpoint, replays the metadata. 0 with *ret_m, -EBADMSG with
 * p->why filled, or -ENOMEM.
 */
static int try_head(struct fsck *f, struct probe *p, struct meta **ret_m)
{
	char name[OBJSTORE_NAME_MAX], tbuf[160];
	struct probe **chain = NULL;
	struct meta *m = NULL;
	struct minode *root;
	struct probe *cur = p;
	size_t n = 0, cap = 0;
	int r;

	for (;;) {
		struct probe *par;

		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct probe **nc = realloc(chain, ncap * sizeof(*nc));

			if (!nc) {
				r = -ENOMEM;
				goto out;
			}
			chain = nc;
			cap = ncap;
		}
		chain[n++] = cur;
		if (cur->c.is_ckpt)
			break;
		seg_obj(cur->c.parent_seg, name);
		par = probe_find(f, cur->c.parent_seg);
		r = -EBADMSG;
		if (!par) {
			snprintf(p->why, sizeof(p->why),
				 "%s (parent of generation %" PRIu64
				 ") is missing",
				 name, cur->c.gen);
			goto out;
		}
		if (par->status != P_COMMIT) {
			snprintf(p->why, sizeof(p->why), "%s (parent of "
				 "generation %" PRIu64 ") %s",
				 name, cur->c.gen,
				 probe_text(par, tbuf, sizeof(tbuf)));
			goto out;
		}
		if (sodium_memcmp(par->c.hash, cur->c.parent_hash,
				  COMMIT_HASH_BYTES) != 0 ||
		    par->c.gen + 1 != cur->c.gen ||
		    par->c.ckpt_seg != cur->c.ckpt_seg) {
			snprintf(p->why, sizeof(p->why),
				 "%s holds a commit (generation %" PRIu64
				 ") that is not the parent generation %" PRIu64
				 " names (replaced, replayed or from "
				 "another history)",
				 name, par->c.gen, cur->c.gen);
			goto out;
		}
		cur = par;
	}
	r = meta_new(&m);
	if (r < 0)
		goto out;
	for (size_t i = n; i-- > 0;) {
		struct bufw w;

		bufw_init(&w, FSCK_META_MAX, 1);
		r = load_meta(f, &chain[i]->c, &w, p->why, sizeof(p->why));
		if (r == 0) {
			r = meta_apply(m, w.data, w.len);
			if (r == -EBADMSG)
				snprintf(p->why, sizeof(p->why),
					 "the metadata records of %s "
					 "(generation %" PRIu64
					 ") authenticate but do not fit "
					 "the state they apply to",
					 seg_obj(chain[i]->segno, name),
					 chain[i]->c.gen);
		}
		bufw_release(&w);
		if (r < 0)
			goto out;
	}
	root = meta_inode(m, STORE_ROOT_INO);
	if (!root || !S_ISDIR(root->mode)) {
		snprintf(p->why, sizeof(p->why),
			 "the state of generation %" PRIu64
			 " has no root directory",
			 p->c.gen);
		r = -EBADMSG;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		chain[i]->role = R_CHAIN;
	f->ckpt_seg = chain[n - 1]->segno;
	f->ckpt_time = chain[n - 1]->c.time_sec;
	*ret_m = m;
	m = NULL;
	r = 0;
out:
	meta_free(m);
	free(chain);
	return r;
}

static int find_head(struct fsck *f)
{
	for (size_t i = f->np; i-- > 0;) {
		struct probe *p = &f->p[i];
		int r;

		if (p->status != P_COMMIT)
			continue;
		r = try_head(f, p, &f->m);
		if (r == -ENOMEM)
			return r;
		if (r == 0) {
			f->head = i;
			return 1;
		}
	}
	return 0;
}

/* ---- layout of the chain's segments ---- */

/* Data chunks, then metadata chunks back to back, then the commit chunk:
 * bytes nobody accounts for are not something vaultfs writes. */
static void check_layout(struct fsck *f, const struct probe *p)
{
	char name[OBJSTORE_NAME_MAX];
	const struct commit *c = &p->c;
	const struct segent *se = meta_seg(f->m, p->segno);
	uint64_t at = se ? se->size : SEG_HDR_BYTES;
	uint64_t commit_off = p->last_off;

	seg_obj(p->segno, name);
	for (uint32_t i = 0; i < c->nmeta; i++) {
		if (c->meta[i].off != at) {
			say(f, FSCK_DAMAGE, name,
			    "%" PRIu64 " bytes before metadata chunk %u are "
			    "not accounted for (vaultfs writes chunks back "
			    "to back)",
			    c->meta[i].off > at ? c->meta[i].off - at
						: at - c->meta[i].off,
			    i + 1);
			return;
		}
		at += c->meta[i].sealed;
	}
	if (at != commit_off)
		say(f, FSCK_DAMAGE, name,
		    "%" PRIu64 " bytes before the commit chunk are not "
		    "accounted for",
		    commit_off > at ? commit_off - at : at - commit_off);
}

/* ---- freshness ---- */

static void check_fresh(struct fsck *f)
{
	const struct probe *head = &f->p[f->head];
	const struct probe *cur = head;
	char name[OBJSTORE_NAME_MAX];
	struct hwm h;
	uint64_t size;
	int r;

	if (!f->o->state_dir)
		return;
	r = hwm_read(f->o->state_dir, f->store_id, &h);
	if (r == -ENOENT) {
		say(f, FSCK_INFO, "state",
		    "this machine has no record of this store yet: a "
		    "rollback cannot be told from here");
		return;
	}
	if (r < 0) {
		say(f, FSCK_NOTE, "state",
		    "this machine's record of the newest generation "
		    "cannot be read (%s)",
		    r == -EBADMSG ? "malformed" : strerror(-r));
		return;
	}
	seg_obj(h.segno, name);
	if (head->c.gen < h.gen && !probe_find(f, h.segno) &&
	    objstore_size(f->os, name, &size) == 0) {
		/* The segment this machine saw last was not there when the
		 * folder was listed and is there now: a writer on this
		 * machine committed while the check ran (a rollback removes
		 * or damages it; a segment present at the listing was
		 * probed above). */
		say(f, FSCK_INFO, name,
		    "generation %" PRIu64 " was committed while the check "
		    "ran (a writer is working on this store): this check "
		    "covers generation %" PRIu64 "; run it again for the "
		    "newer one",
		    h.gen, head->c.gen);
		return;
	}
	if (head->c.gen < h.gen) {
		say(f, FSCK_ROLLBACK, seg_obj(head->segno, name),
		    "this machine has seen generation %" PRIu64
		    " (segment %" PRIu64 "), but the newest complete commit "
		    "in the folder is generation %" PRIu64
		    ": the folder was rolled back, or newer segments are "
		    "missing or damaged (the store refuses to open here)",
		    h.gen, h.segno, head->c.gen);
		return;
	}
	while (cur->c.gen > h.gen && cur->c.parent_seg) {
		const struct probe *par = probe_find(f, cur->c.parent_seg);

		if (!par || par->status == P_MISSING) {
			say(f, FSCK_INFO, "state",
			    "generation %" PRIu64 ", which this machine saw "
			    "last, is older than the history kept in the "
			    "folder: its ancestry cannot be checked",
			    h.gen);
			return;
		}
		if (par->status != P_COMMIT ||
		    sodium_memcmp(par->c.hash, cur->c.parent_hash,
				  COMMIT_HASH_BYTES) != 0 ||
		    par->c.gen + 1 != cur->c.gen) {
			say(f, FSCK_DAMAGE, seg_obj(par->segno, name),
			    "the history between generation %" PRIu64
			    " (seen here last) and the newest is damaged "
			    "here: the store refuses to open on this machine",
			    h.gen);
			return;
		}
		cur = par;
	}
	if (cur->c.gen == h.gen &&
	    sodium_memcmp(cur->c.hash, h.hash, COMMIT_HASH_BYTES) == 0)
		return;
	say(f, FSCK_ROLLBACK, seg_obj(head->segno, name),
	    "generation %" PRIu64 " in the folder is not the one this "
	    "machine saw (segment %" PRIu64 "): two histories (a fork), "
	    "never merged",
	    h.gen, h.segno);
}

/* ---- the tree ---- */

struct treectx {
	struct meta *m;
	fsck_report_fn report;
	void *ctx;
	struct fsck_result *res;
	int found;
	uint64_t *names; /* names per inode, by index in inos */
	uint64_t *inos;	 /* sorted */
	uint8_t *seen;	 /* reachable from the root */
	uint64_t *subdirs;
	size_t n, i;
	uint64_t *live; /* recomputed live bytes per segment table entry */
};

static void __attribute__((format(printf, 3, 4)))
tree_bad(struct treectx *t, uint64_t ino, const char *fmt, ...)
{
	char obj[64], text[512];
	va_list ap;

	t->found++;
	if (t->found > FSCK_LIST_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(obj, sizeof(obj), "inode %" PRIu64, ino);
	if (t->report)
		t->report(t->ctx, FSCK_DAMAGE, obj, text);
}

static int collect_ino(void *ctx, struct minode *ip)
{
	struct treectx *t = ctx;

	t->inos[t->i++] = ip->ino;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static size_t ino_index(const struct treectx *t, uint64_t ino)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->inos[mid] < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n && t->inos[lo] == ino ? lo : SIZE_MAX;
}

/* Names per inode, subdirectories per directory, dangling names. */
static int count_names(void *ctx, struct minode *dir)
{
	struct treectx *t = ctx;

	if (!S_ISDIR(dir->mode))
		return 0;
	for (size_t i = 0; i < dir->nslots; i++) {
		const struct mdirent *d = dir->slots[i].d;
		struct minode *ip;
		size_t k;

		if (!d)
			continue;
		ip = meta_inode(t->m, d->ino);
		k = ino_index(t, d->ino);
		if (!ip || k == SIZE_MAX) {
			tree_bad(t, dir->ino,
				 "the name '%s' names inode %" PRIu64
				 ", which does not exist",
				 d->name, d->ino);
			continue;
		}
		t->names[k]++;
		if (S_ISDIR(ip->mode)) {
			t->subdirs[ino_index(t, dir->ino)]++;
			if (ip->parent != dir->ino)
				tree_bad(t, ip->ino,
					 "directory named '%s' in inode "
					 "%" PRIu64 " records inode %" PRIu64
					 " as its parent",
					 d->name, dir->ino, ip->parent);
		}
	}
	return 0;
}

/* Marks what is reachable from the root (iteratively: no recursion on
 * untrusted depth). */
static int mark_reachable(struct treectx *t)
{
	uint64_t *stack;
	size_t top = 0;

	stack = malloc((t->n ? t->n : 1) * sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	stack[top++] = STORE_ROOT_INO;
	t->seen[ino_index(t, STORE_ROOT_INO)] = 1;
	while (top > 0) {
		struct minode *dir = meta_inode(t->m, stack[--top]);

		if (!dir || !S_ISDIR(dir->mode))
			continue;
		for (size_t i = 0; i < dir->nslots; i++) {
			const struct mdirent *d = dir->slots[i].d;
			size_t k;

			if (!d)
				continue;
			k = ino_index(t, d->ino);
			if (k == SIZE_MAX || t->seen[k])
				continue;
			t->seen[k] = 1;
			/* each inode is pushed at most once */
			stack[top++] = d->ino;
		}
	}
	free(stack);
	return 0;
}

static void check_extents(struct treectx *t, struct minode *ip)
{
	uint64_t end = 0, stored = 0;

	for (size_t i = 0; i < ip->next; i++) {
		const struct extent *e = &ip->ext[i];
		struct segent *se = meta_seg(t->m, e->seg);

		if (e->len == 0 || e->off < end)
			tree_bad(t, ip->ino,
				 "extent %zu (file bytes %" PRIu64 "+%" PRIu32
				 ") overlaps the one before it",
				 i, e->off, e->len);
		end = e->off + e->len;
		stored += e->len;
		if (end > ip->size)
			tree_bad(t, ip->ino,
				 "extent %zu ends at byte %" PRIu64
				 ", beyond the file size %" PRIu64,
				 i, end, ip->size);
		if (!se) {
			tree_bad(t, ip->ino,
				 "extent %zu refers to segment %" PRIu64
				 ", which is not in the segment table",
				 i, e->seg);
			continue;
		}
		t->live[se - t->m->segs] += e->len;
		if (e->coff < SEG_HDR_BYTES ||
		    (uint64_t)e->coff + e->sealed > se->size)
			tree_bad(t, ip->ino,
				 "extent %zu points at a chunk (offset %" PRIu32
				 ", %" PRIu32 " bytes) outside the data of "
				 "segment %" PRIu64 " (%" PRIu64 " bytes)",
				 i, e->coff, e->sealed, e->seg, se->size);
		if ((uint64_t)e->skip + e->len > e->sealed - CHUNK_OVERHEAD)
			tree_bad(t, ip->ino,
				 "extent %zu reads past the end of its chunk",
				 i);
	}
	if (stored != ip->stored)
		tree_bad(t, ip->ino,
			 "stored bytes counted as %" PRIu64
			 ", the extents hold %" PRIu64,
			 ip->stored, stored);
}

static int check_inode(void *ctx, struct minode *ip)
{
	struct treectx *t = ctx;
	size_t k = ino_index(t, ip->ino);
	uint64_t names = t->names[k];

	if (S_ISDIR(ip->mode)) {
		if (t->res)
			t->res->dirs++;
		if (ip->ino == STORE_ROOT_INO) {
			if (names != 0)
				tree_bad(t, ip->ino,
					 "the root directory has %" PRIu64
					 " names; it must have none",
					 names);
		} else if (names != 1) {
			tree_bad(t, ip->ino,
				 "directory has %" PRIu64
				 " names; a directory has exactly one",
				 names);
		}
		if ((uint64_t)ip->nlink != 2 + t->subdirs[k])
			tree_bad(t, ip->ino,
				 "directory link count is %" PRIu32
				 ", but it has %" PRIu64 " subdirectories "
				 "(expected %" PRIu64 ")",
				 ip->nlink, t->subdirs[k], 2 + t->subdirs[k]);
	} else {
		if (S_ISREG(ip->mode))
			check_extents(t, ip);
		else if (ip->next)
			tree_bad(t, ip->ino,
				 "has data extents but is not a regular "
				 "file");
		if (S_ISREG(ip->mode)) {
			if (t->res) {
				t->res->files++;
				t->res->file_bytes += ip->stored;
			}
		} else if (t->res) {
			t->res->others++;
		}
		if (names == 0)
			tree_bad(t, ip->ino, "has no name (an orphan)");
		else if ((uint64_t)ip->nlink != names)
			tree_bad(t, ip->ino,
				 "link count is %" PRIu32 ", but %" PRIu64
				 " names refer to it",
				 ip->nlink, names);
		if (S_ISLNK(ip->mode) &&
		    (!ip->target || strlen(ip->target) != ip->size))
			tree_bad(t, ip->ino,
				 "symlink size does not match its target");
	}
	if (!t->seen[k] && !(names == 0 && !S_ISDIR(ip->mode)))
		tree_bad(t, ip->ino,
			 "is not reachable from the root directory (a "
			 "detached subtree or a cycle)");
	return 0;
}

int fsck_check_tree(struct meta *m, fsck_report_fn report, void *ctx,
		    struct fsck_result *ret)
{
	struct treectx t;
	struct minode *root;
	int r;

	memset(&t, 0, sizeof(t));
	t.m = m;
	t.report = report;
	t.ctx = ctx;
	t.res = ret;
	root = meta_inode(m, STORE_ROOT_INO);
	if (!root || !S_ISDIR(root->mode)) {
		tree_bad(&t, STORE_ROOT_INO, "there is no root directory");
		return t.found;
	}
	t.n = m->ninodes;
	t.inos = calloc(t.n ? t.n : 1, sizeof(*t.inos));
	t.names = calloc(t.n ? t.n : 1, sizeof(*t.names));
	t.subdirs = calloc(t.n ? t.n : 1, sizeof(*t.subdirs));
	t.seen = calloc(t.n ? t.n : 1, 1);
	t.live = calloc(m->nsegs ? m->nsegs : 1, sizeof(*t.live));
	if (!t.inos || !t.names || !t.subdirs || !t.seen || !t.live) {
		r = -ENOMEM;
		goto out;
	}
	meta_foreach(m, collect_ino, &t);
	t.n = t.i;
	qsort(t.inos, t.n, sizeof(*t.inos), cmp_u64);
	meta_foreach(m, count_names, &t);
	r = mark_reachable(&t);
	if (r < 0)
		goto out;
	meta_foreach(m, check_inode, &t);
	for (size_t i = 0; i < m->nsegs; i++) {
		if (t.live[i] != m->segs[i].live) {
			char obj[OBJSTORE_NAME_MAX];

			t.found++;
			if (report && t.found <= FSCK_LIST_MAX)
				report(ctx, FSCK_DAMAGE,
				       seg_obj(m->segs[i].segno, obj),
				       "the segment table counts live bytes "
				       "wrongly (metadata inconsistent)");
		}
	}
	if (t.found > FSCK_LIST_MAX && report) {
		char text[96];

		snprintf(text, sizeof(text),
			 "%d more inconsistencies in the tree not listed",
			 t.found - FSCK_LIST_MAX);
		report(ctx, FSCK_DAMAGE, "tree", text);
	}
	r = t.found;
out:
	free(t.inos);
	free(t.names);
	free(t.subdirs);
	free(t.seen);
	free(t.live);
	return r;
}

/* ---- paths, for telling which files data damage affects ---- */

/* The name of directory or file ino in dir (first match). */
static const struct mdirent *name_in(struct minode *dir, uint64_t ino)
{
	for (size_t i = 0; dir && i < dir->nslots; i++)
		if (dir->slots[i].d && dir->slots[i].d->ino == ino)
			return dir->slots[i].d;
	return NULL;
}

/* Puts "/" and len bytes of name in front of the path ending at buf +
 * *pos; 0, or -1 when it does not fit. */
static int prepend(char *buf, size_t *pos, const char *name, size_t len)
{
	if (len + 1 > *pos)
		return -1;
	*pos -= len;
	memcpy(buf + *pos, name, len);
	buf[--*pos] = '/';
	return 0;
}

/* Writes the path of directory ino into buf ("/" for the root; "?" parts
 * when the tree is inconsistent, "..." in front when it is too long). */
static void dir_path(struct meta *m, uint64_t ino, char *buf, size_t size)
{
	char tmp[2048];
	size_t pos = sizeof(tmp) - 1, depth = 0;

	tmp[pos] = '\0';
	while (ino != STORE_ROOT_INO) {
		struct minode *ip = meta_inode(m, ino);
		const struct mdirent *d;

		if (!ip || ip->parent == ino || depth++ > 4096) {
			if (prepend(tmp, &pos, "?", 1) < 0)
				prepend(tmp, &pos, "...", 3);
			break;
		}
		d = name_in(meta_inode(m, ip->parent), ino);
		if (prepend(tmp, &pos, d ? d->name : "?",
			    d ? d->namelen : 1) < 0) {
			prepend(tmp, &pos, "...", 3);
			break;
		}
		ino = ip->parent;
	}
	snprintf(buf, size, "%s", tmp[pos] ? tmp + pos : "/");
}

struct pathctx {
	uint64_t ino;
	char *out;
	size_t size, len;
	unsigned count;
	struct meta *m;
};

/* Appends "'/a/b'" for every name of pc->ino, comma-separated. */
static int add_paths(void *ctx, struct minode *dir)
{
	struct pathctx *pc = ctx;
	char dp[2048];

	if (!S_ISDIR(dir->mode))
		return 0;
	for (size_t i = 0; i < dir->nslots; i++) {
		const struct mdirent *d = dir->slots[i].d;
		int n;

		if (!d || d->ino != pc->ino)
			continue;
		dir_path(pc->m, dir->ino, dp, sizeof(dp));
		n = snprintf(pc->out + pc->len, pc->size - pc->len,
			     "%s'%s%s%s'", pc->count ? ", " : "", dp,
			     strcmp(dp, "/") ? "/" : "", d->name);
		if (n > 0 && (size_t)n < pc->size - pc->len)
			pc->len += (size_t)n;
		pc->count++;
	}
	return 0;
}

static void file_paths(struct meta *m, uint64_t ino, char *out, size_t size)
{
	struct pathctx pc = {.ino = ino, .out = out, .size = size, .m = m};

	out[0] = '\0';
	meta_foreach(m, add_paths, &pc);
	if (pc.count == 0)
		snprintf(out, size, "inode %" PRIu64 " (no name)", ino);
}

/* ---- data ---- */

struct dref {
	uint64_t seg;
	uint32_t coff, sealed;
	uint64_t ino, off;
	uint32_t len, skip;
	int bad; /* 0, or the errno-like reason */
};

struct refs {
	struct dref *v;
	size_t n, cap;
};

static int collect_refs(void *ctx, struct minode *ip)
{
	struct refs *rs = ctx;

	if (!S_ISREG(ip->mode))
		return 0;
	for (size_t i = 0; i < ip->next; i++) {
		const struct extent *e = &ip->ext[i];

		if (rs->n == rs->cap) {
			size_t ncap = rs->cap ? rs->cap * 2 : 256;
			struct dref *nv = realloc(rs->v, ncap * sizeof(*nv));

			if (!nv)
				return -ENOMEM;
			rs->v = nv;
			rs->cap = ncap;
		}
		rs->v[rs->n].seg = e->seg;
		rs->v[rs->n].coff = e->coff;
		rs->v[rs->n].sealed = e->sealed;
		rs->v[rs->n].ino = ip->ino;
		rs->v[rs->n].off = e->off;
		rs->v[rs->n].len = e->len;
		rs->v[rs->n].skip = e->skip;
		rs->v[rs->n].bad = 0;
		rs->n++;
	}
	return 0;
}

static int cmp_dref(const void *a, const void *b)
{
	const struct dref *x = a, *y = b;

	if (x->seg != y->seg)
		return x->seg < y->seg ? -1 : 1;
	if (x->coff != y->coff)
		return x->coff < y->coff ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

static int cmp_dref_file(const void *a, const void *b)
{
	const struct dref *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Reports the files and byte ranges of the bad references, merged. */
static void report_files(struct fsck *f, struct refs *rs)
{
	char paths[4096], obj[OBJSTORE_NAME_MAX];
	size_t listed = 0, files = 0;

	qsort(rs->v, rs->n, sizeof(*rs->v), cmp_dref_file);
	for (size_t i = 0; i < rs->n;) {
		uint64_t ino = rs->v[i].ino;
		char ranges[1024];
		size_t rl = 0, nranges = 0, j = i;
		int any = 0;

		ranges[0] = '\0';
		while (j < rs->n && rs->v[j].ino == ino) {
			uint64_t a, b;
			uint64_t seg = 0;

			if (!rs->v[j].bad) {
				j++;
				continue;
			}
			any = 1;
			a = rs->v[j].off;
			b = a + rs->v[j].len;
			seg = rs->v[j].seg;
			j++;
			while (j < rs->n && rs->v[j].ino == ino &&
			       rs->v[j].bad && rs->v[j].off == b) {
				b += rs->v[j].len;
				j++;
			}
			nranges++;
			if (nranges <= 8) {
				int n = snprintf(
				    ranges + rl, sizeof(ranges) - rl,
				    "%sbytes %" PRIu64 "-%" PRIu64 " (%s)",
				    rl ? ", " : "", a, b - 1,
				    seg_obj(seg, obj));

				if (n > 0 && (size_t)n < sizeof(ranges) - rl)
					rl += (size_t)n;
			}
		}
		if (any) {
			files++;
			if (++listed <= FSCK_LIST_MAX) {
				file_paths(f->m, ino, paths, sizeof(paths));
				if (nranges > 8)
					snprintf(ranges + rl,
						 sizeof(ranges) - rl,
						 " and %zu more ranges",
						 nranges - 8);
				say(f, FSCK_DAMAGE, paths,
				    "cannot be read: %s", ranges);
			} else {
				f->res->damage++;
			}
		}
		i = j;
	}
	if (listed > FSCK_LIST_MAX)
		say(f, FSCK_INFO, "files",
		    "%zu more damaged files not listed (%zu in all)",
		    listed - FSCK_LIST_MAX, files);
}

/* Why every chunk of segment seg fails before reading it, or NULL. */
static const char *seg_unusable(struct fsck *f, const struct segent *se,
				char *buf, size_t size)
{
	struct probe *p = probe_find(f, se->segno);

	if (!p)
		return "is missing";
	if (p->status == P_TORN && p->size < SEG_HDR_BYTES) {
		snprintf(buf, size, "is truncated to %" PRIu64 " bytes",
			 p->size);
		return buf;
	}
	if (p->status == P_MISSING || p->status == P_IOERR)
		return probe_text(p, buf, size);
	if (p->size < se->size) {
		snprintf(buf, size,
			 "is shorter (%" PRIu64 " bytes) than its data "
			 "(%" PRIu64 " bytes): truncated",
			 p->size, se->size);
		return buf;
	}
	return NULL;
}

/* A segment holding data whose plaintext header is not what the
 * metadata says: its chunks may still be the right ones (readers take the
 * id from the metadata), so they are checked one by one after this. */
static void seg_header_note(struct fsck *f, const struct segent *se)
{
	struct probe *p = probe_find(f, se->segno);
	char obj[OBJSTORE_NAME_MAX], tbuf[200];

	if (!p || p->role == R_CHAIN)
		return; /* the chain's segments authenticated already */
	seg_obj(se->segno, obj);
	if (p->status == P_NOTSEG || p->status == P_MOVED)
		say(f, FSCK_DAMAGE, obj, "%s; its data chunks are checked "
		    "one by one", probe_text(p, tbuf, sizeof(tbuf)));
	else if (p->size >= SEG_HDR_BYTES &&
		 sodium_memcmp(p->rid, se->rid, CHUNK_RID_BYTES) != 0)
		say(f, FSCK_DAMAGE, obj,
		    "its header does not carry the random id the metadata "
		    "names (damaged, or replaced by another object with the "
		    "same number); its data chunks are checked one by one");
	else if (p->status == P_BADLAST || p->status == P_TORN)
		say(f, FSCK_DAMAGE, obj, "%s; it holds file data",
		    probe_text(p, tbuf, sizeof(tbuf)));
}

static int check_data(struct fsck *f)
{
	struct refs rs = {0};
	char obj[OBJSTORE_NAME_MAX], tbuf[200];
	uint64_t total = 0;
	uint8_t *plain = NULL;
	size_t bad_chunks = 0, bad_refs = 0;
	int r;

	r = meta_foreach(f->m, collect_refs, &rs);
	if (r < 0)
		goto out;
	if (rs.n)
		qsort(rs.v, rs.n, sizeof(*rs.v), cmp_dref);
	for (size_t i = 0; i < rs.n; i++)
		if (i == 0 || rs.v[i].seg != rs.v[i - 1].seg ||
		    rs.v[i].coff != rs.v[i - 1].coff)
			total += rs.v[i].sealed;
	progress_set_total(f->o->progress, f->res->bytes + total);
	plain = malloc(CHUNK_PLAIN_MAX);
	if (!plain) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < rs.n;) {
		struct segent *se = meta_seg(f->m, rs.v[i].seg);
		uint64_t seg = rs.v[i].seg;
		const char *why;
		size_t j = i;

		if (!se) { /* fsck_check_tree said so */
			while (j < rs.n && rs.v[j].seg == seg) {
				rs.v[j++].bad = 1;
				bad_refs++;
			}
			i = j;
			continue;
		}
		why = seg_unusable(f, se, tbuf, sizeof(tbuf));
		if (!why)
			seg_header_note(f, se);
		if (why) {
			size_t nref = 0;

			while (j < rs.n && rs.v[j].seg == seg) {
				rs.v[j++].bad = 1;
				nref++;
			}
			bad_refs += nref;
			say(f, FSCK_DAMAGE, seg_obj(seg, obj),
			    "%s; it holds file data (%zu extents)", why, nref);
			i = j;
			continue;
		}
		/* one chunk at a time; every extent on it shares the verdict */
		while (i < rs.n && rs.v[i].seg == seg) {
			uint32_t coff = rs.v[i].coff, sealed = rs.v[i].sealed;
			int n, bad = 0;

			n = seg_read_chunk(f->os, f->keys->data, f->store_id,
					   seg, se->rid, coff, sealed,
					   CHUNK_DATA, 0, plain);
			if (n == -ENOMEM) {
				r = n;
				goto out;
			}
			count_read(f, sealed);
			if (n < 0) {
				bad = 1;
				bad_chunks++;
				if (bad_chunks <= FSCK_LIST_MAX)
					say(f, FSCK_DAMAGE, seg_obj(seg, obj),
					    "data chunk at offset %" PRIu32
					    " (%" PRIu32 " bytes) %s",
					    coff, sealed,
					    n == -EBADMSG
						? "fails authentication"
						: strerror(-n));
			}
			for (j = i; j < rs.n && rs.v[j].seg == seg &&
				    rs.v[j].coff == coff;
			     j++) {
				if (!bad && (uint64_t)rs.v[j].skip +
						    rs.v[j].len >
						(uint64_t)n)
					bad = 1;
				rs.v[j].bad = bad;
				bad_refs += (size_t)bad;
			}
			i = j;
		}
	}
	if (bad_chunks > FSCK_LIST_MAX)
		say(f, FSCK_INFO, "log",
		    "%zu more damaged data chunks not listed (%zu in all)",
		    bad_chunks - FSCK_LIST_MAX, bad_chunks);
	if (bad_refs)
		report_files(f, &rs);
	r = 0;
out:
	if (plain) {
		sodium_memzero(plain, CHUNK_PLAIN_MAX);
		free(plain);
	}
	free(rs.v);
	return r;
}

/* ---- segments nobody needs, and what is above the head ---- */

static void classify_segments(struct fsck *f)
{
	char name[OBJSTORE_NAME_MAX], tbuf[200];
	const struct probe *head = &f->p[f->head];
	size_t garbage = 0;

	for (size_t i = 0; i < f->m->nsegs; i++) {
		struct probe *p = probe_find(f, f->m->segs[i].segno);

		if (p && p->role == R_NONE)
			p->role = R_TABLE;
	}
	f->auth_top = head->segno;
	if (f->m->nsegs && f->m->segs[f->m->nsegs - 1].segno > f->auth_top)
		f->auth_top = f->m->segs[f->m->nsegs - 1].segno;

	for (size_t i = 0; i < f->np; i++) {
		struct probe *p = &f->p[i];

		seg_obj(p->segno, name);
		if (p->role != R_NONE)
			continue;
		if (p->segno < f->auth_top) {
			garbage++;
			continue;
		}
		if (p->segno >= FSCK_SEG_LIMIT ||
		    p->segno - f->auth_top > FSCK_SEG_WINDOW) {
			say(f, FSCK_NOTE, name,
			    "a name far beyond the store's segments (planted "
			    "or stray; the store never reads it); left "
			    "untouched");
			continue;
		}
		switch (p->status) {
		case P_TORN:
		case P_MISSING:
			say(f, FSCK_NOTE, name,
			    "newer than the newest commit and %s: a crash "
			    "leftover (or a sync still in progress); the "
			    "store skips it",
			    probe_text(p, tbuf, sizeof(tbuf)));
			break;
		case P_DATA:
			say(f, FSCK_NOTE, name,
			    "data written for a commit that never happened "
			    "(a crash leftover); the store skips it");
			break;
		case P_COMMIT:
			say(f, FSCK_DAMAGE, name,
			    "commit generation %" PRIu64
			    " is newer than the one the store opens "
			    "(generation %" PRIu64 "), but cannot be loaded: "
			    "%s",
			    p->c.gen, head->c.gen, p->why);
			break;
		default:
			say(f, FSCK_DAMAGE, name,
			    "newer than the newest complete commit and %s",
			    probe_text(p, tbuf, sizeof(tbuf)));
			break;
		}
	}
	if (garbage)
		say(f, FSCK_NOTE, "log",
		    "%zu segment%s older than the newest commit %s not "
		    "needed by it (garbage: commits replaced by the "
		    "checkpoint, or data no file refers to any more); the "
		    "cleaner removes %s after a grace period",
		    garbage, garbage == 1 ? "" : "s",
		    garbage == 1 ? "is" : "are",
		    garbage == 1 ? "it" : "them");
}

/* ---- foreign names, the lease ---- */

static int is_conflict_name(const char *n)
{
	const char *b = strrchr(n, '/');

	b = b ? b + 1 : n;
	if (strstr(b, "conflict") || strstr(b, "Conflict"))
		return 1;
	/* "name (1).seg", "name (2)" */
	for (const char *p = strstr(b, " ("); p; p = strstr(p + 2, " (")) {
		const char *q = p + 2;

		while (*q >= '0' && *q <= '9')
			q++;
		if (q > p + 2 && *q == ')')
			return 1;
	}
	return 0;
}

static int foreign_one(void *ctx, const char *name, int is_tmp)
{
	struct fsck *f = ctx;

	if (is_tmp) {
		char **n = realloc(f->tmps, (f->ntmps + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		f->tmps = n;
		f->tmps[f->ntmps] = strdup(name);
		if (!f->tmps[f->ntmps])
			return -ENOMEM;
		f->ntmps++;
		say(f, FSCK_NOTE, name,
		    "a temporary object (being written by a writer, or left "
		    "by a crash); the store ignores it");
		return 0;
	}
	if (is_conflict_name(name))
		say(f, FSCK_NOTE, name,
		    "looks like a sync client's conflict copy; the store "
		    "never reads, merges or deletes it: compare and remove "
		    "it by hand");
	else
		say(f, FSCK_NOTE, name,
		    "not a vaultfs object; ignored and left untouched");
	return 0;
}

static void check_lease(struct fsck *f)
{
	struct lease_info li;
	const char *who;
	uint64_t size;
	int r;

	r = objstore_size(f->os, OBJSTORE_LEASE_NAME, &size);
	if (r == -ENOENT)
		return;
	if (r == 0)
		r = lease_peek(f->os, f->keys->lease, f->store_id, &li);
	if (r < 0) {
		say(f, FSCK_NOTE, OBJSTORE_LEASE_NAME, "cannot be read (%s)",
		    strerror(-r));
		return;
	}
	if (r == 0) {
		say(f, FSCK_NOTE, OBJSTORE_LEASE_NAME,
		    "does not verify with this key (garbage, or planted); "
		    "the store treats it as absent");
		return;
	}
	who = li.host[0] ? li.host : "another machine";
	if (li.this_machine) {
		if (li.alive) {
			f->res->writer = 1;
			say(f, FSCK_INFO, OBJSTORE_LEASE_NAME,
			    "held by process %" PRIu32 " on this machine, "
			    "which is running: a writer is active, so this "
			    "check shows the last commit it wrote",
			    li.pid);
		} else {
			say(f, FSCK_INFO, OBJSTORE_LEASE_NAME,
			    "left by process %" PRIu32 " on this machine, "
			    "which is gone: the next mount takes it over",
			    li.pid);
		}
		return;
	}
	if (li.expires > f->now) {
		f->res->writer = 1;
		say(f, FSCK_INFO, OBJSTORE_LEASE_NAME,
		    "held by %s (process %" PRIu32 ") for %" PRIu64
		    " more seconds: a writer may be active there, so this "
		    "check shows the last commit synced here",
		    who, li.pid, li.expires - f->now);
	} else {
		say(f, FSCK_INFO, OBJSTORE_LEASE_NAME,
		    "held by %s (process %" PRIu32 "), expired %" PRIu64
		    " seconds ago: its writer is gone or cut off",
		    who, li.pid, f->now - li.expires);
	}
}

/* ---- repair ---- */

static void repair(struct fsck *f)
{
	char name[OBJSTORE_NAME_MAX];
	uint64_t ready = f->ckpt_time + f->grace;
	int r;

	if (f->res->damage || f->res->rollback) {
		say(f, FSCK_INFO, "repair",
		    "nothing changed: the store has damage (listed above), "
		    "and removing anything now could remove what is "
		    "needed to understand or recover it");
		return;
	}
	for (size_t i = 0; i < f->ntmps; i++) {
		r = objstore_remove(f->os, f->tmps[i]);
		if (r < 0) {
			say(f, FSCK_NOTE, f->tmps[i], "cannot remove: %s",
			    strerror(-r));
			continue;
		}
		f->res->repaired++;
		say(f, FSCK_REPAIRED, f->tmps[i], "removed (temporary)");
	}
	/* What the cleaner removes: below the checkpoint, no live data,
	 * once the checkpoint is older than the grace period. */
	for (size_t i = 0; i < f->np && f->p[i].segno < f->ckpt_seg; i++) {
		struct probe *p = &f->p[i];
		struct segent *se = meta_seg(f->m, p->segno);

		if (p->role == R_CHAIN || (se && se->live > 0))
			continue;
		seg_obj(p->segno, name);
		if (f->now < ready) {
			say(f, FSCK_INFO, name,
			    "garbage kept for %" PRIu64 " more seconds "
			    "(grace period: readers may still use it)",
			    ready - f->now);
			continue;
		}
		r = objstore_remove(f->os, name);
		if (r < 0) {
			say(f, FSCK_NOTE, name, "cannot remove: %s",
			    strerror(-r));
			continue;
		}
		f->res->repaired++;
		say(f, FSCK_REPAIRED, name, "removed (garbage)");
	}
}

/* ---- header ---- */

static int check_header(struct fsck *f, const uint8_t *key, int *ret_keyok)
{
	struct store_info info;
	uint8_t *h = NULL;
	size_t n = 0;
	int r;

	*ret_keyok = 0;
	r = objstore_get(f->os, OBJSTORE_HEADER_NAME, HEADER_MAX, &h, &n);
	if (r == -ENOENT) {
		uint64_t *segs = NULL;
		size_t nsegs = 0;

		r = objstore_list_segments(f->os, 0, &segs, &nsegs, NULL);
		free(segs);
		if (r < 0)
			return r;
		if (nsegs == 0)
			return -VFS_E_NOTSTORE;
		say(f, FSCK_DAMAGE, OBJSTORE_HEADER_NAME,
		    "is missing, but log/ holds %zu segments: without the "
		    "header (the store id) nothing can be checked; restore "
		    "vaultfs.hdr from a copy or the sync service's history",
		    nsegs);
		return 1;
	}
	if (r == -EFBIG) {
		say(f, FSCK_DAMAGE, OBJSTORE_HEADER_NAME,
		    "is larger than any vaultfs header: damaged or replaced");
		return 1;
	}
	if (r < 0) {
		say(f, FSCK_DAMAGE, OBJSTORE_HEADER_NAME, "cannot be read (%s)",
		    strerror(-r));
		return 1;
	}
	f->res->objects++;
	count_read(f, n);
	r = header_parse(h, n, &info);
	if (r == -VFS_E_NOTSTORE || r == -VFS_E_DAMAGED) {
		say(f, FSCK_DAMAGE, OBJSTORE_HEADER_NAME, "%s",
		    r == -VFS_E_NOTSTORE
			? "is not a vaultfs header (no magic): replaced or "
			  "overwritten"
			: "is damaged (its checksum does not match); the "
			  "store cannot be opened until it is restored");
		r = 1;
		goto out;
	}
	if (r < 0)
		goto out;
	memcpy(f->store_id, info.store_id, STORE_ID_BYTES);
	if (!key) {
		r = 0;
		goto out;
	}
	*ret_keyok = header_check_key(h, n, f->keys->hdr) == 0;
	r = 0;
out:
	free(h);
	return r;
}

/* ---- the whole check ---- */

int fsck_run(struct objstore *os, const uint8_t *key,
	     const struct fsck_opts *o, struct fsck_result *ret)
{
	struct fsck f;
	struct lease *lease = NULL;
	char name[OBJSTORE_NAME_MAX];
	int r, keyok = 0, found;

	memset(ret, 0, sizeof(*ret));
	memset(&f, 0, sizeof(f));
	f.os = os;
	f.o = o;
	f.res = ret;
	f.now = o->now ? o->now : (uint64_t)time(NULL);
	f.grace = o->grace_sec ? o->grace_sec : STORE_CLEAN_GRACE_SEC;
	if (key) {
		r = keys_new(key, &f.keys);
		if (r < 0)
			return r;
	}

	r = check_header(&f, key, &keyok);
	if (r != 0 || !key) {
		r = r > 0 ? 0 : r;
		goto out;
	}
	if (!keyok) {
		/* A wrong key, or damage to the key check alone: a commit
		 * that authenticates with this key tells the two apart. */
		r = list_and_probe(&f);
		if (r < 0)
			goto out;
		found = 0;
		for (size_t i = 0; i < f.np && !found; i++)
			found = f.p[i].status == P_COMMIT;
		if (!found) {
			r = -VFS_E_WRONGKEY;
			goto out;
		}
		say(&f, FSCK_DAMAGE, OBJSTORE_HEADER_NAME,
		    "its key check fails, but commits authenticate with this "
		    "key: the header is damaged (the store refuses to "
		    "open); restore vaultfs.hdr from a copy");
	}
	ret->header_ok = keyok;
	if (o->flags & FSCK_F_REPAIR) {
		r = lease_acquire(os, f.keys->lease, f.store_id, 0, &lease);
		if (r < 0)
			goto out;
	} else {
		check_lease(&f);
	}
	if (!f.p) {
		r = list_and_probe(&f);
		if (r < 0)
			goto out;
	}
	r = objstore_list_foreign(os, foreign_one, &f);
	if (r < 0)
		goto out;

	found = find_head(&f);
	if (found < 0) {
		r = found;
		goto out;
	}
	if (!found) {
		char tbuf[200];
		size_t listed = 0;

		say(&f, FSCK_DAMAGE, "log",
		    "no commit is complete (%zu segments): the store cannot "
		    "be opened",
		    f.np);
		for (size_t i = f.np; i-- > 0 && listed < FSCK_LIST_MAX;) {
			struct probe *p = &f.p[i];

			listed++;
			if (p->status == P_COMMIT)
				say(&f, FSCK_DAMAGE, seg_obj(p->segno, name),
				    "commit generation %" PRIu64
				    " cannot be loaded: %s",
				    p->c.gen, p->why);
			else
				say(&f, FSCK_DAMAGE, seg_obj(p->segno, name),
				    "%s", probe_text(p, tbuf, sizeof(tbuf)));
		}
		r = 0;
		goto out;
	}
	ret->generation = f.p[f.head].c.gen;
	ret->head_seg = f.p[f.head].segno;
	say(&f, FSCK_INFO, seg_obj(ret->head_seg, name),
	    "newest complete commit: generation %" PRIu64 " (%s)",
	    ret->generation,
	    f.p[f.head].c.is_ckpt ? "a checkpoint" : "deltas on a checkpoint");
	for (size_t i = 0; i < f.np; i++)
		if (f.p[i].role == R_CHAIN)
			check_layout(&f, &f.p[i]);
	check_fresh(&f);
	classify_segments(&f);
	r = fsck_check_tree(f.m, o->report, o->ctx, ret);
	if (r < 0)
		goto out;
	ret->damage += (unsigned)r;
	r = check_data(&f);
	if (r < 0)
		goto out;
	if (o->flags & FSCK_F_REPAIR)
		repair(&f);
	r = 0;
out:
	lease_release(lease);
	for (size_t i = 0; i < f.np; i++)
		commit_release(&f.p[i].c);
	free(f.p);
	for (size_t i = 0; i < f.ntmps; i++)
		free(f.tmps[i]);
	free(f.tmps);
	meta_free(f.m);
	keys_free(f.keys);
	return r;
}

/*
 * meta.c - in-memory metadata: inodes, names, extent maps, segment table,
 * and the records that persist them.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "meta.h"
#include "store.h"

/* The largest record: an INODE with a symlink target, or an XATTR_SET
 * with a full-size value. */
#define REC_MAX_BODY_INODE (16 + 4 + STORE_SYMLINK_MAX + 128)
#define REC_MAX_BODY_XATTR                                                     \
	(8 + 4 + META_XATTR_NAME_MAX + 4 + META_XATTR_VALUE_MAX)
#define REC_MAX_BODY                                                           \
	(REC_MAX_BODY_XATTR > REC_MAX_BODY_INODE ? REC_MAX_BODY_XATTR          \
						 : REC_MAX_BODY_INODE)

int meta_new(struct meta **ret)
{
	struct meta *m;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->ibuckets = 64;
	m->dbuckets = 64;
	m->itab = calloc(m->ibuckets, sizeof(*m->itab));
	m->dtab = calloc(m->dbuckets, sizeof(*m->dtab));
	if (!m->itab || !m->dtab) {
		free(m->itab);
		free(m->dtab);
		free(m);
		return -ENOMEM;
	}
	randombytes_buf(m->hkey, sizeof(m->hkey));
	*ret = m;
	return 0;
}

static void inode_free(struct minode *ip)
{
	if (ip->target)
		sodium_memzero(ip->target, strlen(ip->target));
	free(ip->target);
	meta_xattr_clear(ip);
	free(ip->slots);
	free(ip->ext);
	free(ip);
}

void meta_free(struct meta *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->dbuckets; i++) {
		struct mdirent *d = m->dtab[i], *n;

		for (; d; d = n) {
			n = d->hnext;
			sodium_memzero(d->name, d->namelen);
			free(d);
		}
	}
	for (size_t i = 0; i < m->ibuckets; i++) {
		struct minode *ip = m->itab[i], *n;

		for (; ip; ip = n) {
			n = ip->hnext;
			inode_free(ip);
		}
	}
	free(m->itab);
	free(m->dtab);
	free(m->segs);
	free(m);
}

/* ---- inodes ---- */

static size_t ino_bucket(uint64_t ino, size_t nb)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ULL) >> 32) & (nb - 1);
}

struct minode *meta_inode(struct meta *m, uint64_t ino)
{
	struct minode *ip = m->itab[ino_bucket(ino, m->ibuckets)];

	while (ip && ip->ino != ino)
		ip = ip->hnext;
	return ip;
}

static void itab_grow(struct meta *m)
{
	size_t nb = m->ibuckets * 2;
	struct minode **t = calloc(nb, sizeof(*t));

	if (!t)
		return; /* stays correct, only slower */
	for (size_t i = 0; i < m->ibuckets; i++) {
		struct minode *ip = m->itab[i], *n;

		for (; ip; ip = n) {
			size_t b = ino_bucket(ip->ino, nb);

			n = ip->hnext;
			ip->hnext = t[b];
			t[b] = ip;
		}
	}
	free(m->itab);
	m->itab = t;
	m->ibuckets = nb;
}

int meta_inode_new(struct meta *m, uint64_t ino, uint32_t mode,
		   struct minode **ret)
{
	struct minode *ip;
	size_t b;

	if (ino == 0 || meta_inode(m, ino))
		return -EEXIST;
	ip = calloc(1, sizeof(*ip));
	if (!ip)
		return -ENOMEM;
	ip->ino = ino;
	ip->mode = mode;
	ip->next_cookie = META_FIRST_COOKIE;
	ip->parent = ino; /* until a name is added */
	if (m->ninodes >= m->ibuckets)
		itab_grow(m);
	b = ino_bucket(ino, m->ibuckets);
	ip->hnext = m->itab[b];
	m->itab[b] = ip;
	m->ninodes++;
	if (ino > m->max_ino)
		m->max_ino = ino;
	*ret = ip;
	return 0;
}

void meta_inode_remove(struct meta *m, struct minode *ip)
{
	struct minode **pp = &m->itab[ino_bucket(ip->ino, m->ibuckets)];

	while (*pp && *pp != ip)
		pp = &(*pp)->hnext;
	if (!*pp)
		return;
	*pp = ip->hnext;
	m->ninodes--;
	meta_extents_clear(m, ip);
	inode_free(ip);
}

void meta_inode_move(struct meta *from, struct meta *to, struct minode *ip)
{
	struct minode **pp = &from->itab[ino_bucket(ip->ino, from->ibuckets)];
	size_t b;

	while (*pp && *pp != ip)
		pp = &(*pp)->hnext;
	if (!*pp || meta_inode(to, ip->ino))
		return;
	*pp = ip->hnext;
	from->ninodes--;
	/* its names belong to the old table */
	free(ip->slots);
	ip->slots = NULL;
	ip->nslots = ip->slotcap = ip->nentries = 0;
	ip->nrefs = 0;
	if (to->ninodes >= to->ibuckets)
		itab_grow(to);
	b = ino_bucket(ip->ino, to->ibuckets);
	ip->hnext = to->itab[b];
	to->itab[b] = ip;
	to->ninodes++;
}

int meta_foreach(struct meta *m, int (*fn)(void *ctx, struct minode *ip),
		 void *ctx)
{
	for (size_t i = 0; i < m->ibuckets; i++) {
		struct minode *ip = m->itab[i], *n;

		for (; ip; ip = n) {
			int r;

			n = ip->hnext; /* fn may remove ip */
			r = fn(ctx, ip);
			if (r)
				return r;
		}
	}
	return 0;
}

/* ---- directory entries ---- */

int meta_name_check(const char *name, size_t len)
{
	if (len == 0)
		return -EINVAL;
	if (len > STORE_NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(name, '/', len) || memchr(name, '\0', len))
		return -EINVAL;
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	return 0;
}

static uint64_t name_hash(const struct meta *m, uint64_t parent,
			  const char *name, size_t len)
{
	uint8_t buf[8 + STORE_NAME_MAX];
	uint8_t h[crypto_shorthash_BYTES];

	put_le64(buf, parent);
	memcpy(buf + 8, name, len);
	crypto_shorthash(h, buf, 8 + len, m->hkey);
	return get_le64(h);
}

struct mdirent *meta_dirent_find(struct meta *m, uint64_t parent,
				 const char *name, size_t len)
{
	uint64_t h;
	struct mdirent *d;

	if (len == 0 || len > STORE_NAME_MAX)
		return NULL;
	h = name_hash(m, parent, name, len);
	for (d = m->dtab[h & (m->dbuckets - 1)]; d; d = d->hnext)
		if (d->hash == h && d->parent == parent && d->namelen == len &&
		    memcmp(d->name, name, len) == 0)
			return d;
	return NULL;
}

static void dtab_grow(struct meta *m)
{
	size_t nb = m->dbuckets * 2;
	struct mdirent **t = calloc(nb, sizeof(*t));

	if (!t)
		return;
	for (size_t i = 0; i < m->dbuckets; i++) {
		struct mdirent *d = m->dtab[i], *n;

		for (; d; d = n) {
			n = d->hnext;
			d->hnext = t[d->hash & (nb - 1)];
			t[d->hash & (nb - 1)] = d;
		}
	}
	free(m->dtab);
	m->dtab = t;
	m->dbuckets = nb;
}

/* Drops removed slots once they are more than half of the array. */
static void slots_compact(struct minode *dir)
{
	size_t j = 0;

	if (dir->nslots < 64 || dir->nentries * 2 > dir->nslots)
		return;
	for (size_t i = 0; i < dir->nslots; i++)
		if (dir->slots[i].d)
			dir->slots[j++] = dir->slots[i];
	dir->nslots = j;
}

int meta_dirent_add(struct meta *m, struct minode *dir, const char *name,
		    size_t len, struct minode *child)
{
	struct mdirent *d;
	size_t b;

	if (meta_name_check(name, len) < 0)
		return -EINVAL;
	if (dir->nslots == dir->slotcap) {
		size_t ncap = dir->slotcap ? dir->slotcap * 2 : 8;
		struct dslot *ns = realloc(dir->slots, ncap * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		dir->slots = ns;
		dir->slotcap = ncap;
	}
	d = calloc(1, sizeof(*d) + len + 1);
	if (!d)
		return -ENOMEM;
	d->parent = dir->ino;
	d->ino = child->ino;
	d->namelen = (uint32_t)len;
	memcpy(d->name, name, len);
	d->hash = name_hash(m, dir->ino, name, len);
	d->cookie = dir->next_cookie++;
	if (m->ndirents >= m->dbuckets)
		dtab_grow(m);
	b = d->hash & (m->dbuckets - 1);
	d->hnext = m->dtab[b];
	m->dtab[b] = d;
	m->ndirents++;
	dir->slots[dir->nslots].cookie = d->cookie;
	dir->slots[dir->nslots].d = d;
	dir->nslots++;
	dir->nentries++;
	child->nrefs++;
	if (S_ISDIR(child->mode))
		child->parent = dir->ino;
	return 0;
}

static size_t slot_find(const struct minode *dir, uint64_t cookie)
{
	size_t lo = 0, hi = dir->nslots;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (dir->slots[mid].cookie < cookie)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void meta_dirent_remove(struct meta *m, struct minode *dir, struct mdirent *d)
{
	struct mdirent **pp = &m->dtab[d->hash & (m->dbuckets - 1)];
	struct minode *child;
	size_t i;

	while (*pp && *pp != d)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = d->hnext;
	m->ndirents--;
	i = slot_find(dir, d->cookie);
	if (i < dir->nslots && dir->slots[i].d == d) {
		dir->slots[i].d = NULL;
		dir->nentries--;
	}
	child = meta_inode(m, d->ino);
	if (child && child->nrefs)
		child->nrefs--;
	sodium_memzero(d->name, d->namelen);
	free(d);
	slots_compact(dir);
}

struct mdirent *meta_dir_next(struct minode *dir, uint64_t cookie)
{
	for (size_t i = slot_find(dir, cookie); i < dir->nslots; i++)
		if (dir->slots[i].d)
			return dir->slots[i].d;
	return NULL;
}

/* ---- segment table ---- */

static size_t seg_index(const struct meta *m, uint64_t segno)
{
	size_t lo = 0, hi = m->nsegs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->segs[mid].segno < segno)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct segent *meta_seg(struct meta *m, uint64_t segno)
{
	size_t i = seg_index(m, segno);

	if (i < m->nsegs && m->segs[i].segno == segno)
		return &m->segs[i];
	return NULL;
}

int meta_seg_add(struct meta *m, uint64_t segno,
		 const uint8_t rid[CHUNK_RID_BYTES], uint64_t size)
{
	size_t i;

	if (segno == 0)
		return -EINVAL;
	i = seg_index(m, segno);
	if (i < m->nsegs && m->segs[i].segno == segno)
		return sodium_memcmp(m->segs[i].rid, rid, CHUNK_RID_BYTES)
			   ? -EEXIST
			   : 0;
	if (m->nsegs == m->segcap) {
		size_t ncap = m->segcap ? m->segcap * 2 : 16;
		struct segent *ns = realloc(m->segs, ncap * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		m->segs = ns;
		m->segcap = ncap;
	}
	memmove(&m->segs[i + 1], &m->segs[i],
		(m->nsegs - i) * sizeof(*m->segs));
	m->segs[i].segno = segno;
	memcpy(m->segs[i].rid, rid, CHUNK_RID_BYTES);
	m->segs[i].size = size;
	m->segs[i].live = 0;
	m->nsegs++;
	return 0;
}

void meta_seg_remove(struct meta *m, uint64_t segno)
{
	size_t i = seg_index(m, segno);

	if (i < m->nsegs && m->segs[i].segno == segno) {
		memmove(&m->segs[i], &m->segs[i + 1],
			(m->nsegs - i - 1) * sizeof(*m->segs));
		m->nsegs--;
	}
}

static void seg_live(struct meta *m, uint64_t segno, int64_t delta)
{
	struct segent *se = meta_seg(m, segno);

	if (se)
		se->live = (uint64_t)((int64_t)se->live + delta);
}

/* ---- extents ---- */

size_t meta_extent_find(const struct minode *ip, uint64_t off)
{
	size_t lo = 0, hi = ip->next;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct extent *e = &ip->ext[mid];

		if (e->off + e->len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int ext_reserve(struct minode *ip, size_t extra)
{
	if (ip->next + extra > ip->extcap) {
		size_t ncap = ip->extcap ? ip->extcap * 2 : 4;
		struct extent *ne;

		while (ncap < ip->next + extra)
			ncap *= 2;
		ne = realloc(ip->ext, ncap * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		ip->ext = ne;
		ip->extcap = ncap;
	}
	return 0;
}

int meta_extent_set(struct meta *m, struct minode *ip, const struct extent *e)
{
	uint64_t end = e->off + e->len;
	struct extent repl[3];
	size_t i, j, n = 0;
	int r;

	if (e->len == 0)
		return 0;
	r = ext_reserve(ip, 3);
	if (r < 0)
		return r;
	i = meta_extent_find(ip, e->off);
	for (j = i; j < ip->next && ip->ext[j].off < end; j++) {
		const struct extent *x = &ip->ext[j];
		uint64_t xend = x->off + x->len;

		seg_live(m, x->seg, -(int64_t)x->len);
		ip->stored -= x->len;
		if (x->off < e->off) {
			repl[n] = *x;
			repl[n].len = (uint32_t)(e->off - x->off);
			seg_live(m, x->seg, repl[n].len);
			ip->stored += repl[n].len;
			n++;
		}
		if (xend > end) {
			struct extent t = *x;
			uint64_t cut = end - x->off;

			t.off = end;
			t.skip += (uint32_t)cut;
			t.len = (uint32_t)(xend - end);
			seg_live(m, x->seg, t.len);
			ip->stored += t.len;
			/* the right remnant goes after the new extent */
			repl[n + 1] = t;
			repl[n] = *e;
			n += 2;
			j++; /* x is replaced by its remnants */
			goto place;
		}
	}
	repl[n++] = *e;
place:
	seg_live(m, e->seg, e->len);
	ip->stored += e->len;
	memmove(&ip->ext[i + n], &ip->ext[j],
		(ip->next - j) * sizeof(*ip->ext));
	memcpy(&ip->ext[i], repl, n * sizeof(*repl));
	ip->next = ip->next - (j - i) + n;
	return 0;
}

int meta_truncate(struct meta *m, struct minode *ip, uint64_t size)
{
	size_t i = meta_extent_find(ip, size), j;

	if (i < ip->next && ip->ext[i].off < size) {
		struct extent *x = &ip->ext[i];
		uint32_t keep = (uint32_t)(size - x->off);

		seg_live(m, x->seg, -(int64_t)(x->len - keep));
		ip->stored -= x->len - keep;
		x->len = keep;
		i++;
	}
	for (j = i; j < ip->next; j++) {
		seg_live(m, ip->ext[j].seg, -(int64_t)ip->ext[j].len);
		ip->stored -= ip->ext[j].len;
	}
	ip->next = i;
	return 0;
}

void meta_extents_clear(struct meta *m, struct minode *ip)
{
	int r = meta_truncate(m, ip, 0);

	(void)r;
}

int meta_punch(struct meta *m, struct minode *ip, uint64_t off, uint64_t end)
{
	struct extent keep[2];
	size_t i, j, n = 0;
	int r;

	if (off >= end)
		return 0;
	/* one extent around the whole hole becomes two */
	r = ext_reserve(ip, 1);
	if (r < 0)
		return r;
	i = meta_extent_find(ip, off);
	for (j = i; j < ip->next && ip->ext[j].off < end; j++) {
		const struct extent *x = &ip->ext[j];
		uint64_t xend = x->off + x->len;

		seg_live(m, x->seg, -(int64_t)x->len);
		ip->stored -= x->len;
		if (x->off < off) {
			keep[n] = *x;
			keep[n].len = (uint32_t)(off - x->off);
			n++;
		}
		if (xend > end) {
			keep[n] = *x;
			keep[n].off = end;
			keep[n].skip += (uint32_t)(end - x->off);
			keep[n].len = (uint32_t)(xend - end);
			n++;
		}
	}
	for (size_t k = 0; k < n; k++) {
		seg_live(m, keep[k].seg, keep[k].len);
		ip->stored += keep[k].len;
	}
	memmove(&ip->ext[i + n], &ip->ext[j],
		(ip->next - j) * sizeof(*ip->ext));
	memcpy(&ip->ext[i], keep, n * sizeof(*keep));
	ip->next = ip->next - (j - i) + n;
	return 0;
}

/* ---- extended attributes ---- */

static const char *const XATTR_NS[] = {"user.", "trusted.", "security."};

int meta_xattr_name_check(const char *name, size_t len)
{
	if (len == 0 || len > META_XATTR_NAME_MAX)
		return -ERANGE;
	if (memchr(name, '\0', len))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(XATTR_NS) / sizeof(XATTR_NS[0]); i++) {
		size_t pl = strlen(XATTR_NS[i]);

		if (len >= pl && memcmp(name, XATTR_NS[i], pl) == 0)
			return len == pl ? -EINVAL : 0;
	}
	/* system.* (POSIX ACLs, which are not implemented) and unknown
	 * namespaces, as a local file system without them answers */
	return -EOPNOTSUPP;
}

static size_t xattr_index(const struct minode *ip, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < ip->nxa; i++)
		if (ip->xa[i].namelen == len &&
		    memcmp(ip->xa[i].name, name, len) == 0)
			break;
	return i;
}

const struct mxattr *meta_xattr_find(const struct minode *ip, const char *name,
				     size_t len)
{
	size_t i = xattr_index(ip, name, len);

	return i < ip->nxa ? &ip->xa[i] : NULL;
}

static void xattr_wipe(struct mxattr *x)
{
	sodium_memzero(x->name, x->namelen);
	free(x->name);
	if (x->value) {
		sodium_memzero(x->value, x->vlen);
		free(x->value);
	}
	x->name = NULL;
	x->value = NULL;
}

int meta_xattr_set(struct minode *ip, const char *name, size_t len,
		   const void *value, size_t vlen, int flags)
{
	struct mxattr *x = NULL;
	uint8_t *nv = NULL;
	uint64_t list, total;
	size_t i;
	int r;

	r = meta_xattr_name_check(name, len);
	if (r < 0)
		return r;
	if (flags & ~(META_XATTR_CREATE | META_XATTR_REPLACE))
		return -EINVAL;
	if (vlen > META_XATTR_VALUE_MAX)
		return -E2BIG;
	if (len > 5 && memcmp(name, "user.", 5) == 0 && !S_ISREG(ip->mode) &&
	    !S_ISDIR(ip->mode))
		return -EPERM;
	i = xattr_index(ip, name, len);
	if (i < ip->nxa && (flags & META_XATTR_CREATE))
		return -EEXIST;
	if (i == ip->nxa && (flags & META_XATTR_REPLACE))
		return -ENODATA;
	list = ip->xa_list;
	total = ip->xa_total;
	if (i < ip->nxa) {
		total -= ip->xa[i].vlen;
	} else {
		list += len + 1;
		total += len + 1;
	}
	total += vlen;
	if (list > META_XATTR_LIST_MAX || total > META_XATTR_TOTAL_MAX)
		return -ENOSPC;
	if (vlen) {
		nv = malloc(vlen);
		if (!nv)
			return -ENOMEM;
		memcpy(nv, value, vlen);
	}
	if (i == ip->nxa) {
		if (ip->nxa == ip->xacap) {
			uint32_t ncap = ip->xacap ? ip->xacap * 2 : 4;
			struct mxattr *n = realloc(ip->xa, ncap * sizeof(*n));

			if (!n) {
				free(nv);
				return -ENOMEM;
			}
			ip->xa = n;
			ip->xacap = ncap;
		}
		x = &ip->xa[i];
		x->name = malloc(len + 1);
		if (!x->name) {
			free(nv);
			return -ENOMEM;
		}
		memcpy(x->name, name, len);
		x->name[len] = '\0';
		x->namelen = (uint32_t)len;
		x->value = NULL;
		x->vlen = 0;
		ip->nxa++;
	} else {
		x = &ip->xa[i];
		if (x->value) {
			sodium_memzero(x->value, x->vlen);
			free(x->value);
		}
	}
	x->value = nv;
	x->vlen = (uint32_t)vlen;
	ip->xa_list = (uint32_t)list;
	ip->xa_total = (uint32_t)total;
	return 0;
}

int meta_xattr_remove(struct minode *ip, const char *name, size_t len)
{
	size_t i = xattr_index(ip, name, len);

	if (i == ip->nxa)
		return -ENODATA;
	ip->xa_list -= ip->xa[i].namelen + 1;
	ip->xa_total -= ip->xa[i].namelen + 1 + ip->xa[i].vlen;
	xattr_wipe(&ip->xa[i]);
	memmove(&ip->xa[i], &ip->xa[i + 1],
		(ip->nxa - i - 1) * sizeof(*ip->xa));
	ip->nxa--;
	return 0;
}

void meta_xattr_clear(struct minode *ip)
{
	for (uint32_t i = 0; i < ip->nxa; i++)
		xattr_wipe(&ip->xa[i]);
	free(ip->xa);
	ip->xa = NULL;
	ip->nxa = ip->xacap = 0;
	ip->xa_list = ip->xa_total = 0;
}

/* ---- records ---- */

static size_t rec_begin(struct bufw *w, uint8_t type)
{
	bufw_u8(w, type);
	bufw_u32(w, 0);
	return w->len;
}

static void rec_end(struct bufw *w, size_t at)
{
	if (!bufw_error(w))
		put_le32(w->data + at - 4, (uint32_t)(w->len - at));
}

static void put_ts(struct bufw *w, const struct timespec *ts)
{
	bufw_u64(w, (uint64_t)ts->tv_sec);
	bufw_u32(w, (uint32_t)ts->tv_nsec);
}

void meta_rec_inode(struct bufw *w, const struct minode *ip)
{
	size_t at = rec_begin(w, META_REC_INODE);
	size_t tlen = ip->target ? strlen(ip->target) : 0;

	bufw_u64(w, ip->ino);
	bufw_u32(w, ip->mode);
	bufw_u32(w, ip->nlink);
	bufw_u32(w, ip->uid);
	bufw_u32(w, ip->gid);
	bufw_u64(w, ip->rdev);
	bufw_u64(w, ip->size);
	put_ts(w, &ip->atime);
	put_ts(w, &ip->mtime);
	put_ts(w, &ip->ctime);
	bufw_str(w, ip->target ? ip->target : "", tlen);
	rec_end(w, at);
}

void meta_rec_inode_del(struct bufw *w, uint64_t ino)
{
	size_t at = rec_begin(w, META_REC_INODE_DEL);

	bufw_u64(w, ino);
	rec_end(w, at);
}

void meta_rec_dirent_add(struct bufw *w, uint64_t parent, const char *name,
			 size_t len, uint64_t ino)
{
	size_t at = rec_begin(w, META_REC_DIRENT_ADD);

	bufw_u64(w, parent);
	bufw_u64(w, ino);
	bufw_str(w, name, len);
	rec_end(w, at);
}

void meta_rec_dirent_del(struct bufw *w, uint64_t parent, const char *name,
			 size_t len)
{
	size_t at = rec_begin(w, META_REC_DIRENT_DEL);

	bufw_u64(w, parent);
	bufw_str(w, name, len);
	rec_end(w, at);
}

void meta_rec_extent(struct bufw *w, uint64_t ino, const struct extent *e)
{
	size_t at = rec_begin(w, META_REC_EXTENT);

	bufw_u64(w, ino);
	bufw_u64(w, e->off);
	bufw_u64(w, e->seg);
	bufw_u32(w, e->len);
	bufw_u32(w, e->skip);
	bufw_u32(w, e->coff);
	bufw_u32(w, e->sealed);
	rec_end(w, at);
}

void meta_rec_truncate(struct bufw *w, uint64_t ino, uint64_t size)
{
	size_t at = rec_begin(w, META_REC_TRUNCATE);

	bufw_u64(w, ino);
	bufw_u64(w, size);
	rec_end(w, at);
}

void meta_rec_seg(struct bufw *w, const struct segent *se)
{
	size_t at = rec_begin(w, META_REC_SEG);

	bufw_u64(w, se->segno);
	bufw_put(w, se->rid, CHUNK_RID_BYTES);
	bufw_u64(w, se->size);
	rec_end(w, at);
}

void meta_rec_xattr_set(struct bufw *w, uint64_t ino, const struct mxattr *x)
{
	size_t at = rec_begin(w, META_REC_XATTR_SET);

	bufw_u64(w, ino);
	bufw_str(w, x->name, x->namelen);
	bufw_str(w, x->value ? (const char *)x->value : "", x->vlen);
	rec_end(w, at);
}

void meta_rec_xattr_del(struct bufw *w, uint64_t ino, const char *name,
			size_t len)
{
	size_t at = rec_begin(w, META_REC_XATTR_DEL);

	bufw_u64(w, ino);
	bufw_str(w, name, len);
	rec_end(w, at);
}

void meta_rec_punch(struct bufw *w, uint64_t ino, uint64_t off, uint64_t len)
{
	size_t at = rec_begin(w, META_REC_PUNCH);

	bufw_u64(w, ino);
	bufw_u64(w, off);
	bufw_u64(w, len);
	rec_end(w, at);
}

static int get_ts(struct bufr *r, struct timespec *ts)
{
	uint64_t s;
	uint32_t ns;

	if (bufr_u64(r, &s) < 0 || bufr_u32(r, &ns) < 0)
		return -EBADMSG;
	if (ns >= 1000000000u || (int64_t)s < -((int64_t)1 << 62) ||
	    (int64_t)s > ((int64_t)1 << 62))
		return -EBADMSG;
	ts->tv_sec = (time_t)(int64_t)s;
	ts->tv_nsec = (long)ns;
	return 0;
}

static int mode_ok(uint32_t mode)
{
	if (mode & ~(uint32_t)(S_IFMT | 07777))
		return 0;
	switch (mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFLNK:
	case S_IFIFO:
	case S_IFSOCK:
	case S_IFCHR:
	case S_IFBLK:
		return 1;
	default:
		return 0;
	}
}

static int apply_inode(struct meta *m, struct bufr *r)
{
	struct minode tmp, *ip;
	const uint8_t *target;
	size_t tlen;
	int e;

	memset(&tmp, 0, sizeof(tmp));
	if (bufr_u64(r, &tmp.ino) < 0 || bufr_u32(r, &tmp.mode) < 0 ||
	    bufr_u32(r, &tmp.nlink) < 0 || bufr_u32(r, &tmp.uid) < 0 ||
	    bufr_u32(r, &tmp.gid) < 0 || bufr_u64(r, &tmp.rdev) < 0 ||
	    bufr_u64(r, &tmp.size) < 0 || get_ts(r, &tmp.atime) < 0 ||
	    get_ts(r, &tmp.mtime) < 0 || get_ts(r, &tmp.ctime) < 0 ||
	    bufr_str(r, &target, &tlen, STORE_SYMLINK_MAX) < 0)
		return -EBADMSG;
	if (tmp.ino == 0 || tmp.nlink == 0 || !mode_ok(tmp.mode) ||
	    tmp.size > INT64_MAX)
		return -EBADMSG;
	if (S_ISLNK(tmp.mode)) {
		if (tlen == 0 || memchr(target, 0, tlen) || tmp.size != tlen)
			return -EBADMSG;
	} else if (tlen != 0) {
		return -EBADMSG;
	}
	if (tmp.ino == STORE_ROOT_INO && !S_ISDIR(tmp.mode))
		return -EBADMSG;
	ip = meta_inode(m, tmp.ino);
	if (ip) {
		if ((ip->mode & S_IFMT) != (tmp.mode & S_IFMT))
			return -EBADMSG;
		if (S_ISLNK(tmp.mode) && (strlen(ip->target) != tlen ||
					  memcmp(ip->target, target, tlen)))
			return -EBADMSG;
	} else {
		e = meta_inode_new(m, tmp.ino, tmp.mode, &ip);
		if (e < 0)
			return e;
		if (S_ISLNK(tmp.mode)) {
			ip->target = malloc(tlen + 1);
			if (!ip->target)
				return -ENOMEM;
			memcpy(ip->target, target, tlen);
			ip->target[tlen] = '\0';
		}
	}
	ip->mode = tmp.mode;
	ip->nlink = tmp.nlink;
	ip->uid = tmp.uid;
	ip->gid = tmp.gid;
	ip->rdev = tmp.rdev;
	ip->size = tmp.size;
	ip->atime = tmp.atime;
	ip->mtime = tmp.mtime;
	ip->ctime = tmp.ctime;
	return 0;
}

static int apply_one(struct meta *m, uint8_t type, struct bufr *r)
{
	struct minode *ip, *dir;
	struct mdirent *d;
	const uint8_t *name;
	uint64_t ino, parent, size;
	size_t len;

	switch (type) {
	case META_REC_INODE:
		return apply_inode(m, r);
	case META_REC_INODE_DEL:
		if (bufr_u64(r, &ino) < 0)
			return -EBADMSG;
		ip = meta_inode(m, ino);
		if (!ip || ino == STORE_ROOT_INO || ip->nrefs ||
		    (S_ISDIR(ip->mode) && ip->nentries))
			return -EBADMSG;
		meta_inode_remove(m, ip);
		return 0;
	case META_REC_DIRENT_ADD:
		if (bufr_u64(r, &parent) < 0 || bufr_u64(r, &ino) < 0 ||
		    bufr_str(r, &name, &len, STORE_NAME_MAX) < 0)
			return -EBADMSG;
		dir = meta_inode(m, parent);
		ip = meta_inode(m, ino);
		if (!dir || !S_ISDIR(dir->mode) || !ip ||
		    ino == STORE_ROOT_INO ||
		    meta_name_check((const char *)name, len) < 0 ||
		    meta_dirent_find(m, parent, (const char *)name, len))
			return -EBADMSG;
		if (S_ISDIR(ip->mode) && ip->nrefs)
			return -EBADMSG; /* no hard links to directories */
		return meta_dirent_add(m, dir, (const char *)name, len, ip);
	case META_REC_DIRENT_DEL:
		if (bufr_u64(r, &parent) < 0 ||
		    bufr_str(r, &name, &len, STORE_NAME_MAX) < 0)
			return -EBADMSG;
		dir = meta_inode(m, parent);
		d = meta_dirent_find(m, parent, (const char *)name, len);
		if (!dir || !d)
			return -EBADMSG;
		meta_dirent_remove(m, dir, d);
		return 0;
	case META_REC_EXTENT: {
		struct extent e;

		if (bufr_u64(r, &ino) < 0 || bufr_u64(r, &e.off) < 0 ||
		    bufr_u64(r, &e.seg) < 0 || bufr_u32(r, &e.len) < 0 ||
		    bufr_u32(r, &e.skip) < 0 || bufr_u32(r, &e.coff) < 0 ||
		    bufr_u32(r, &e.sealed) < 0)
			return -EBADMSG;
		ip = meta_inode(m, ino);
		if (!ip || !S_ISREG(ip->mode) || e.len == 0 ||
		    e.off > (uint64_t)INT64_MAX - e.len ||
		    e.sealed < CHUNK_OVERHEAD || e.sealed > CHUNK_SEALED_MAX ||
		    (uint64_t)e.skip + e.len > e.sealed - CHUNK_OVERHEAD ||
		    !meta_seg(m, e.seg))
			return -EBADMSG;
		return meta_extent_set(m, ip, &e);
	}
	case META_REC_TRUNCATE:
		if (bufr_u64(r, &ino) < 0 || bufr_u64(r, &size) < 0)
			return -EBADMSG;
		ip = meta_inode(m, ino);
		if (!ip || !S_ISREG(ip->mode))
			return -EBADMSG;
		return meta_truncate(m, ip, size);
	case META_REC_SEG: {
		uint8_t rid[CHUNK_RID_BYTES];
		uint64_t segno;
		int e;

		if (bufr_u64(r, &segno) < 0 ||
		    bufr_get(r, rid, sizeof(rid)) < 0 ||
		    bufr_u64(r, &size) < 0 || segno == 0)
			return -EBADMSG;
		e = meta_seg_add(m, segno, rid, size);
		return e == -EEXIST ? -EBADMSG : e;
	}
	case META_REC_XATTR_SET: {
		const uint8_t *value;
		size_t vlen;

		if (bufr_u64(r, &ino) < 0 ||
		    bufr_str(r, &name, &len, META_XATTR_NAME_MAX) < 0 ||
		    bufr_str(r, &value, &vlen, META_XATTR_VALUE_MAX) < 0)
			return -EBADMSG;
		ip = meta_inode(m, ino);
		if (!ip)
			return -EBADMSG;
		m->format2 = 1;
		/* every refusal of the live call is a contradiction here */
		return meta_xattr_set(ip, (const char *)name, len, value, vlen,
				      0);
	}
	case META_REC_XATTR_DEL:
		if (bufr_u64(r, &ino) < 0 ||
		    bufr_str(r, &name, &len, META_XATTR_NAME_MAX) < 0)
			return -EBADMSG;
		ip = meta_inode(m, ino);
		if (!ip || meta_xattr_name_check((const char *)name, len) < 0)
			return -EBADMSG;
		m->format2 = 1;
		return meta_xattr_remove(ip, (const char *)name, len);
	case META_REC_PUNCH: {
		uint64_t off;

		if (bufr_u64(r, &ino) < 0 || bufr_u64(r, &off) < 0 ||
		    bufr_u64(r, &size) < 0)
			return -EBADMSG;
		ip = meta_inode(m, ino);
		if (!ip || !S_ISREG(ip->mode) || size == 0 ||
		    off > (uint64_t)INT64_MAX - size)
			return -EBADMSG;
		m->format2 = 1;
		return meta_punch(m, ip, off, off + size);
	}
	default:
		return -EBADMSG;
	}
}

int meta_apply(struct meta *m, const uint8_t *p, size_t n)
{
	struct bufr r;

	bufr_init(&r, p, n);
	while (bufr_left(&r) > 0) {
		const uint8_t *body;
		struct bufr br;
		uint8_t type;
		uint32_t len;
		int e;

		if (bufr_u8(&r, &type) < 0 || bufr_u32(&r, &len) < 0 ||
		    len > REC_MAX_BODY || bufr_ptr(&r, &body, len) < 0)
			return -EBADMSG;
		bufr_init(&br, body, len);
		e = apply_one(m, type, &br);
		if (e < 0)
			return e == -ENOMEM ? e : -EBADMSG;
		if (bufr_left(&br) != 0 || br.err)
			return -EBADMSG;
	}
	return 0;
}

static int ckpt_inode(void *ctx, struct minode *ip)
{
	struct bufw *w = ctx;

	if (!ip->deleted)
		meta_rec_inode(w, ip);
	return bufw_error(w);
}

static int ckpt_names_extents(void *ctx, struct minode *ip)
{
	struct bufw *w = ctx;

	if (ip->deleted)
		return 0;
	for (size_t i = 0; S_ISDIR(ip->mode) && i < ip->nslots; i++) {
		const struct mdirent *d = ip->slots[i].d;

		if (d)
			meta_rec_dirent_add(w, ip->ino, d->name, d->namelen,
					    d->ino);
	}
	for (size_t i = 0; S_ISREG(ip->mode) && i < ip->next; i++)
		meta_rec_extent(w, ip->ino, &ip->ext[i]);
	for (uint32_t i = 0; i < ip->nxa; i++)
		meta_rec_xattr_set(w, ip->ino, &ip->xa[i]);
	return bufw_error(w);
}

int meta_checkpoint(struct meta *m, struct bufw *w)
{
	int r;

	/* Segments no extent refers to any more are left out: the table
	 * forgets them, and the cleaner may delete them. */
	for (size_t i = 0; i < m->nsegs; i++)
		if (m->segs[i].live > 0)
			meta_rec_seg(w, &m->segs[i]);
	r = meta_foreach(m, ckpt_inode, w);
	if (r == 0)
		r = meta_foreach(m, ckpt_names_extents, w);
	return r ? r : bufw_error(w);
}

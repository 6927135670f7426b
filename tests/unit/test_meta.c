/*
 * test_meta.c - metadata in memory and its records: extent maps,
 * checkpoint round trips, malformed records refused without a crash.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sodium.h>

#include "meta.h"
#include "store.h"

static const uint8_t RID[CHUNK_RID_BYTES] = "segment-rid-0001";

static struct extent ext(uint64_t off, uint32_t len, uint64_t seg,
			 uint32_t coff)
{
	struct extent e = {.off = off,
			   .len = len,
			   .seg = seg,
			   .coff = coff,
			   .skip = 0,
			   .sealed = len + CHUNK_OVERHEAD};

	return e;
}

static void test_extents(void **state)
{
	struct meta *m = NULL;
	struct minode *ip;
	struct extent e;

	(void)state;
	assert_int_equal(meta_new(&m), 0);
	assert_int_equal(meta_seg_add(m, 1, RID, 100), 0);
	assert_int_equal(meta_seg_add(m, 2, RID, 100), 0);
	assert_int_equal(meta_inode_new(m, 5, S_IFREG | 0600, &ip), 0);
	e = ext(0, 65536, 1, 40);
	assert_int_equal(meta_extent_set(m, ip, &e), 0);
	e = ext(65536, 65536, 1, 70000);
	assert_int_equal(meta_extent_set(m, ip, &e), 0);
	assert_int_equal(ip->stored, 131072);
	assert_int_equal(meta_seg(m, 1)->live, 131072);
	/* a 4 KiB write in the middle of the first splits it in three */
	e = ext(8192, 4096, 2, 40);
	assert_int_equal(meta_extent_set(m, ip, &e), 0);
	assert_int_equal(ip->next, 4);
	assert_int_equal(ip->ext[0].off, 0);
	assert_int_equal(ip->ext[0].len, 8192);
	assert_int_equal(ip->ext[1].off, 8192);
	assert_int_equal(ip->ext[1].seg, 2);
	assert_int_equal(ip->ext[2].off, 12288);
	assert_int_equal(ip->ext[2].skip, 12288);
	assert_int_equal(ip->ext[2].len, 65536 - 12288);
	assert_int_equal(ip->stored, 131072);
	assert_int_equal(meta_seg(m, 1)->live, 131072 - 4096);
	assert_int_equal(meta_seg(m, 2)->live, 4096);
	/* one across the boundary of the two big ones */
	e = ext(60000, 10000, 2, 5000);
	assert_int_equal(meta_extent_set(m, ip, &e), 0);
	assert_int_equal(ip->next, 5);
	assert_int_equal(ip->ext[2].len, 60000 - 12288);
	assert_int_equal(ip->ext[4].off, 70000);
	assert_int_equal(ip->ext[4].skip, 70000 - 65536);
	assert_int_equal(meta_extent_find(ip, 69999), 3);
	assert_int_equal(meta_extent_find(ip, 70000), 4);
	/* one covering everything */
	e = ext(0, 65536 * 3, 2, 100000);
	e.sealed = 65536 + CHUNK_OVERHEAD; /* not checked here */
	assert_int_equal(meta_extent_set(m, ip, &e), 0);
	assert_int_equal(ip->next, 1);
	assert_int_equal(meta_seg(m, 1)->live, 0);
	/* truncate into it */
	assert_int_equal(meta_truncate(m, ip, 1000), 0);
	assert_int_equal(ip->next, 1);
	assert_int_equal(ip->ext[0].len, 1000);
	assert_int_equal(ip->stored, 1000);
	assert_int_equal(meta_truncate(m, ip, 0), 0);
	assert_int_equal(ip->next, 0);
	assert_int_equal(meta_seg(m, 2)->live, 0);
	meta_free(m);
}

static struct meta *sample(void)
{
	struct meta *m = NULL;
	struct minode *root, *d, *f, *l;
	struct extent e;

	assert_int_equal(meta_new(&m), 0);
	assert_int_equal(meta_seg_add(m, 3, RID, 4096), 0);
	assert_int_equal(meta_inode_new(m, 1, S_IFDIR | 0755, &root), 0);
	root->nlink = 3;
	assert_int_equal(meta_inode_new(m, 2, S_IFDIR | 0700, &d), 0);
	d->nlink = 2;
	d->mtime.tv_sec = 1700000000;
	d->mtime.tv_nsec = 123456789;
	assert_int_equal(meta_inode_new(m, 3, S_IFREG | 0644, &f), 0);
	f->nlink = 2;
	f->size = 70000;
	f->uid = 1000;
	assert_int_equal(meta_inode_new(m, 4, S_IFLNK | 0777, &l), 0);
	l->nlink = 1;
	l->target = strdup("../some/where");
	l->size = strlen(l->target);
	assert_int_equal(meta_dirent_add(m, root, "d", 1, d), 0);
	assert_int_equal(meta_dirent_add(m, d, "file", 4, f), 0);
	assert_int_equal(meta_dirent_add(m, root, "hard", 4, f), 0);
	assert_int_equal(meta_dirent_add(m, root, "link", 4, l), 0);
	e = ext(0, 65536, 3, 40);
	assert_int_equal(meta_extent_set(m, f, &e), 0);
	e = ext(65536, 4464, 3, 65616);
	assert_int_equal(meta_extent_set(m, f, &e), 0);
	assert_int_equal(meta_xattr_set(f, "user.a", 6, "1", 1, 0), 0);
	assert_int_equal(meta_xattr_set(f, "trusted.e", 9, NULL, 0, 0), 0);
	assert_int_equal(meta_xattr_set(l, "security.s", 10, "\0b", 2, 0), 0);
	return m;
}

static void check_sample(struct meta *m)
{
	struct minode *f, *d, *l;
	struct mdirent *de;

	assert_int_equal(m->ninodes, 4);
	assert_int_equal(m->nsegs, 1);
	de = meta_dirent_find(m, 1, "d", 1);
	assert_non_null(de);
	d = meta_inode(m, de->ino);
	assert_true(S_ISDIR(d->mode));
	assert_int_equal(d->mtime.tv_nsec, 123456789);
	assert_int_equal(d->parent, 1);
	de = meta_dirent_find(m, d->ino, "file", 4);
	assert_non_null(de);
	f = meta_inode(m, de->ino);
	assert_int_equal(f->nrefs, 2);
	assert_int_equal(f->size, 70000);
	assert_int_equal(f->uid, 1000);
	assert_int_equal(f->next, 2);
	assert_int_equal(f->ext[1].coff, 65616);
	assert_int_equal(f->stored, 70000);
	assert_int_equal(f->nxa, 2);
	assert_string_equal(f->xa[0].name, "user.a");
	assert_int_equal(f->xa[0].vlen, 1);
	assert_memory_equal(f->xa[0].value, "1", 1);
	assert_string_equal(f->xa[1].name, "trusted.e");
	assert_int_equal(f->xa[1].vlen, 0);
	assert_int_equal(f->xa_list, 7 + 10);
	assert_int_equal(f->xa_total, 7 + 10 + 1);
	assert_int_equal(d->nxa, 0);
	de = meta_dirent_find(m, 1, "link", 4);
	l = meta_inode(m, de->ino);
	assert_string_equal(l->target, "../some/where");
	assert_non_null(meta_xattr_find(l, "security.s", 10));
	assert_memory_equal(meta_xattr_find(l, "security.s", 10)->value, "\0b",
			    2);
	assert_null(meta_dirent_find(m, 1, "nope", 4));
}

static void ckpt(struct meta *m, struct bufw *w)
{
	bufw_init(w, 1 << 20, 1);
	assert_int_equal(meta_checkpoint(m, w), 0);
}

static void test_checkpoint_roundtrip(void **state)
{
	struct meta *m = sample(), *m2 = NULL, *m3 = NULL;
	struct bufw w, w2;

	(void)state;
	check_sample(m);
	ckpt(m, &w);
	assert_int_equal(meta_new(&m2), 0);
	assert_int_equal(meta_apply(m2, w.data, w.len), 0);
	check_sample(m2);
	assert_true(m2->format2); /* it holds extended attributes */
	ckpt(m2, &w2);
	assert_int_equal(w.len, w2.len);
	assert_int_equal(meta_new(&m3), 0);
	assert_int_equal(meta_apply(m3, w2.data, w2.len), 0);
	check_sample(m3);
	bufw_release(&w);
	bufw_release(&w2);
	meta_free(m);
	meta_free(m2);
	meta_free(m3);
}

/* Deltas on top of a checkpoint. */
static void test_deltas(void **state)
{
	struct meta *m = sample(), *m2 = NULL;
	struct bufw w, d;
	struct minode *ip;
	struct extent e = ext(100, 10, 3, 200000);

	(void)state;
	ckpt(m, &w);
	assert_int_equal(meta_new(&m2), 0);
	assert_int_equal(meta_apply(m2, w.data, w.len), 0);
	bufw_init(&d, 1 << 20, 1);
	meta_rec_dirent_del(&d, 1, "hard", 4);
	meta_rec_dirent_add(&d, 1, "renamed", 7, 3);
	meta_rec_truncate(&d, 3, 50);
	meta_rec_extent(&d, 3, &e);
	meta_rec_dirent_del(&d, 1, "link", 4);
	meta_rec_inode_del(&d, 4);
	assert_int_equal(bufw_error(&d), 0);
	assert_int_equal(meta_apply(m2, d.data, d.len), 0);
	assert_null(meta_dirent_find(m2, 1, "hard", 4));
	assert_non_null(meta_dirent_find(m2, 1, "renamed", 7));
	assert_null(meta_inode(m2, 4));
	ip = meta_inode(m2, 3);
	assert_int_equal(ip->next, 2);
	assert_int_equal(ip->ext[0].len, 50);
	assert_int_equal(ip->ext[1].off, 100);
	assert_int_equal(ip->ext[1].len, 10);
	/* replaying the same deltas again contradicts the state */
	assert_int_equal(meta_apply(m2, d.data, d.len), -EBADMSG);
	bufw_release(&w);
	bufw_release(&d);
	meta_free(m);
	meta_free(m2);
}

static int apply_fresh(const uint8_t *p, size_t n)
{
	struct meta *m = NULL;
	int r;

	assert_int_equal(meta_new(&m), 0);
	r = meta_apply(m, p, n);
	meta_free(m);
	return r;
}

/* Every truncation and many corruptions: 0 or -EBADMSG, never a crash. */
static void test_malformed_fuzz(void **state)
{
	struct meta *m = sample();
	struct bufw w;
	uint8_t *t;
	int full;

	(void)state;
	ckpt(m, &w);
	full = apply_fresh(w.data, w.len);
	assert_int_equal(full, 0);
	t = malloc(w.len);
	for (size_t n = 0; n < w.len; n++) {
		int r = apply_fresh(w.data, n);

		assert_true(r == 0 || r == -EBADMSG);
	}
	for (size_t i = 0; i < w.len; i++) {
		for (int b = 0; b < 8; b += 2) {
			int r;

			memcpy(t, w.data, w.len);
			t[i] ^= (uint8_t)(1 << b);
			r = apply_fresh(t, w.len);
			assert_true(r == 0 || r == -EBADMSG);
		}
	}
	free(t);
	bufw_release(&w);
	meta_free(m);
}

static void expect_bad(void (*build)(struct bufw *))
{
	struct meta *m = sample(), *m2 = NULL;
	struct bufw w, d;

	ckpt(m, &w);
	assert_int_equal(meta_new(&m2), 0);
	assert_int_equal(meta_apply(m2, w.data, w.len), 0);
	bufw_init(&d, 1 << 20, 0);
	build(&d);
	assert_int_equal(meta_apply(m2, d.data, d.len), -EBADMSG);
	bufw_release(&w);
	bufw_release(&d);
	meta_free(m);
	meta_free(m2);
}

static void bad_dirent_in_file(struct bufw *d)
{
	meta_rec_dirent_add(d, 3, "x", 1, 4);
}

static void bad_dup_name(struct bufw *d)
{
	meta_rec_dirent_add(d, 1, "d", 1, 4);
}

static void bad_slash(struct bufw *d)
{
	meta_rec_dirent_add(d, 1, "a/b", 3, 4);
}

static void bad_dotdot(struct bufw *d)
{
	meta_rec_dirent_add(d, 1, "..", 2, 4);
}

static void bad_del_named(struct bufw *d)
{
	meta_rec_inode_del(d, 3);
}

static void bad_del_root(struct bufw *d)
{
	meta_rec_inode_del(d, 1);
}

static void bad_extent_dir(struct bufw *d)
{
	struct extent e = ext(0, 10, 3, 40);

	meta_rec_extent(d, 2, &e);
}

static void bad_extent_skip(struct bufw *d)
{
	struct extent e = ext(0, 10, 3, 40);

	e.skip = 1;
	meta_rec_extent(d, 3, &e);
}

static void bad_extent_noseg(struct bufw *d)
{
	struct extent e = ext(0, 10, 99, 40);

	meta_rec_extent(d, 3, &e);
}

static void bad_seg_rid(struct bufw *d)
{
	struct segent se = {.segno = 3, .rid = "another-rid-0001"};

	meta_rec_seg(d, &se);
}

static void bad_type(struct bufw *d)
{
	bufw_u8(d, 99);
	bufw_u32(d, 0);
}

static void bad_hardlink_dir(struct bufw *d)
{
	meta_rec_dirent_add(d, 1, "d2", 2, 2);
}

static void bad_trailing(struct bufw *d)
{
	bufw_u8(d, META_REC_INODE_DEL);
	bufw_u32(d, 9);
	bufw_u64(d, 4);
	bufw_u8(d, 0);
}

static void bad_type_change(struct bufw *d)
{
	struct minode ip = {.ino = 3, .mode = S_IFDIR | 0700, .nlink = 1};

	meta_rec_inode(d, &ip);
}

static void bad_nlink0(struct bufw *d)
{
	struct minode ip = {.ino = 9, .mode = S_IFREG | 0700, .nlink = 0};

	meta_rec_inode(d, &ip);
}

static void test_malformed_semantics(void **state)
{
	(void)state;
	expect_bad(bad_dirent_in_file);
	expect_bad(bad_dup_name);
	expect_bad(bad_slash);
	expect_bad(bad_dotdot);
	expect_bad(bad_del_named);
	expect_bad(bad_del_root);
	expect_bad(bad_extent_dir);
	expect_bad(bad_extent_skip);
	expect_bad(bad_extent_noseg);
	expect_bad(bad_seg_rid);
	expect_bad(bad_type);
	expect_bad(bad_hardlink_dir);
	expect_bad(bad_trailing);
	expect_bad(bad_type_change);
	expect_bad(bad_nlink0);
}

/* ---- extended attributes and holes (format 2) ---- */

static void test_xattr_ops(void **state)
{
	struct meta *m = NULL;
	struct minode *f, *l, *fifo;
	char name[300], big[META_XATTR_VALUE_MAX + 1];

	(void)state;
	assert_int_equal(meta_new(&m), 0);
	assert_int_equal(meta_inode_new(m, 2, S_IFREG | 0600, &f), 0);
	assert_int_equal(meta_inode_new(m, 3, S_IFLNK | 0777, &l), 0);
	assert_int_equal(meta_inode_new(m, 4, S_IFIFO | 0600, &fifo), 0);
	/* names */
	assert_int_equal(meta_xattr_name_check("user.x", 6), 0);
	assert_int_equal(meta_xattr_name_check("trusted.x", 9), 0);
	assert_int_equal(meta_xattr_name_check("security.x", 10), 0);
	assert_int_equal(meta_xattr_name_check("", 0), -ERANGE);
	assert_int_equal(meta_xattr_name_check("user.", 5), -EINVAL);
	assert_int_equal(meta_xattr_name_check("user.a\0b", 8), -EINVAL);
	assert_int_equal(meta_xattr_name_check("system.posix_acl_access", 23),
			 -EOPNOTSUPP);
	assert_int_equal(meta_xattr_name_check("other.x", 7), -EOPNOTSUPP);
	assert_int_equal(meta_xattr_name_check("user", 4), -EOPNOTSUPP);
	memcpy(name, "user.", 5);
	memset(name + 5, 'n', sizeof(name) - 5);
	assert_int_equal(meta_xattr_name_check(name, 255), 0);
	assert_int_equal(meta_xattr_name_check(name, 256), -ERANGE);
	/* create, replace, flags */
	assert_int_equal(meta_xattr_set(f, "user.a", 6, "one", 3, 0), 0);
	assert_int_equal(
	    meta_xattr_set(f, "user.a", 6, "x", 1, META_XATTR_CREATE), -EEXIST);
	assert_int_equal(
	    meta_xattr_set(f, "user.b", 6, "x", 1, META_XATTR_REPLACE),
	    -ENODATA);
	assert_int_equal(
	    meta_xattr_set(f, "user.a", 6, "four", 4, META_XATTR_REPLACE), 0);
	assert_int_equal(meta_xattr_set(f, "user.a", 6, "x", 1, 4), -EINVAL);
	assert_int_equal(f->nxa, 1);
	assert_memory_equal(meta_xattr_find(f, "user.a", 6)->value, "four", 4);
	assert_int_equal(f->xa_total, 7 + 4);
	/* user.* only on regular files and directories; others anywhere */
	assert_int_equal(meta_xattr_set(l, "user.a", 6, "x", 1, 0), -EPERM);
	assert_int_equal(meta_xattr_set(fifo, "user.a", 6, "x", 1, 0), -EPERM);
	assert_int_equal(meta_xattr_set(l, "trusted.a", 9, "x", 1, 0), 0);
	/* value limits */
	memset(big, 'v', sizeof(big));
	assert_int_equal(meta_xattr_set(f, "user.big", 8, big, sizeof(big), 0),
			 -E2BIG);
	assert_int_equal(
	    meta_xattr_set(f, "user.big", 8, big, META_XATTR_VALUE_MAX, 0), 0);
	assert_int_equal(
	    meta_xattr_set(f, "user.big2", 9, big, META_XATTR_VALUE_MAX, 0), 0);
	assert_int_equal(
	    meta_xattr_set(f, "user.big3", 9, big, META_XATTR_VALUE_MAX, 0), 0);
	/* the fourth would pass the per-inode total */
	assert_int_equal(
	    meta_xattr_set(f, "user.big4", 9, big, META_XATTR_VALUE_MAX, 0),
	    -ENOSPC);
	assert_int_equal(f->nxa, 4);
	/* replacing with a smaller value always fits */
	assert_int_equal(meta_xattr_set(f, "user.big3", 9, "s", 1, 0), 0);
	assert_int_equal(meta_xattr_set(f, "user.big4", 9, big,
					META_XATTR_VALUE_MAX - 100, 0),
			 0);
	/* removal keeps the order of the others */
	assert_int_equal(meta_xattr_remove(f, "user.big", 8), 0);
	assert_int_equal(meta_xattr_remove(f, "user.big", 8), -ENODATA);
	assert_string_equal(f->xa[0].name, "user.a");
	assert_string_equal(f->xa[1].name, "user.big2");
	assert_string_equal(f->xa[3].name, "user.big4");
	assert_int_equal(f->xa_list, 7 + 10 + 10 + 10);
	/* the list of names is bounded too: 255-byte names, empty values */
	meta_xattr_clear(f);
	assert_int_equal(f->nxa, 0);
	assert_int_equal(f->xa_total, 0);
	for (int i = 0;; i++) {
		int r;

		char num[16];

		snprintf(num, sizeof(num), "%06d", i % 1000000);
		memcpy(name + 5, num, 6);
		r = meta_xattr_set(f, name, 255, NULL, 0, 0);
		if (r == -ENOSPC) {
			assert_int_equal(i, META_XATTR_LIST_MAX / 256);
			break;
		}
		assert_int_equal(r, 0);
	}
	assert_true(f->xa_list <= META_XATTR_LIST_MAX);
	meta_free(m);
}

static void test_punch(void **state)
{
	struct meta *m = NULL;
	struct minode *ip;
	struct extent e;

	(void)state;
	assert_int_equal(meta_new(&m), 0);
	assert_int_equal(meta_seg_add(m, 1, RID, 100), 0);
	assert_int_equal(meta_inode_new(m, 5, S_IFREG | 0600, &ip), 0);
	e = ext(0, 65536, 1, 40);
	assert_int_equal(meta_extent_set(m, ip, &e), 0);
	e = ext(65536, 65536, 1, 70000);
	assert_int_equal(meta_extent_set(m, ip, &e), 0);
	e = ext(200000, 1000, 1, 140000);
	assert_int_equal(meta_extent_set(m, ip, &e), 0);
	/* inside one extent: it splits around the hole */
	assert_int_equal(meta_punch(m, ip, 1000, 3000), 0);
	assert_int_equal(ip->next, 4);
	assert_int_equal(ip->ext[0].len, 1000);
	assert_int_equal(ip->ext[1].off, 3000);
	assert_int_equal(ip->ext[1].skip, 3000);
	assert_int_equal(ip->ext[1].len, 65536 - 3000);
	assert_int_equal(ip->stored, 131072 + 1000 - 2000);
	assert_int_equal(meta_seg(m, 1)->live, ip->stored);
	/* across extents, one removed wholly */
	assert_int_equal(meta_punch(m, ip, 60000, 200500), 0);
	assert_int_equal(ip->next, 3);
	assert_int_equal(ip->ext[1].off + ip->ext[1].len, 60000);
	assert_int_equal(ip->ext[2].off, 200500);
	assert_int_equal(ip->ext[2].skip, 500);
	assert_int_equal(ip->ext[2].len, 500);
	assert_int_equal(ip->stored, 1000 + (60000 - 3000) + 500);
	assert_int_equal(meta_seg(m, 1)->live, ip->stored);
	/* in a hole, or empty: nothing */
	assert_int_equal(meta_punch(m, ip, 100000, 150000), 0);
	assert_int_equal(meta_punch(m, ip, 5, 5), 0);
	assert_int_equal(ip->next, 3);
	/* everything */
	assert_int_equal(meta_punch(m, ip, 0, UINT64_MAX / 2), 0);
	assert_int_equal(ip->next, 0);
	assert_int_equal(ip->stored, 0);
	assert_int_equal(meta_seg(m, 1)->live, 0);
	meta_free(m);
}

/* Format-2 deltas apply on a checkpoint, strictly, and mark format2. */
static void test_format2_deltas(void **state)
{
	struct meta *m = sample(), *m2 = NULL;
	struct bufw w, d;
	struct minode *ip;
	char xn[] = "user.a", yn[] = "security.new";
	uint8_t xv[] = "two";
	struct mxattr x = {.name = xn, .namelen = 6, .value = xv, .vlen = 3};
	struct mxattr y = {.name = yn, .namelen = 12};

	(void)state;
	ckpt(m, &w);
	/* a checkpoint without attributes or holes is format 1 */
	meta_xattr_clear(meta_inode(m, 3));
	meta_xattr_clear(meta_inode(m, 4));
	bufw_release(&w);
	ckpt(m, &w);
	assert_int_equal(meta_new(&m2), 0);
	assert_int_equal(meta_apply(m2, w.data, w.len), 0);
	assert_false(m2->format2);
	bufw_init(&d, 1 << 20, 1);
	meta_rec_xattr_set(&d, 3, &x);
	meta_rec_xattr_set(&d, 2, &y);
	meta_rec_xattr_set(&d, 3, &y);
	meta_rec_xattr_del(&d, 3, "security.new", 12);
	meta_rec_punch(&d, 3, 100, 65536);
	assert_int_equal(bufw_error(&d), 0);
	assert_int_equal(meta_apply(m2, d.data, d.len), 0);
	assert_true(m2->format2);
	ip = meta_inode(m2, 3);
	assert_int_equal(ip->nxa, 1);
	assert_memory_equal(meta_xattr_find(ip, "user.a", 6)->value, "two", 3);
	assert_non_null(meta_xattr_find(meta_inode(m2, 2), "security.new", 12));
	assert_int_equal(ip->next, 2);
	assert_int_equal(ip->ext[0].len, 100);
	assert_int_equal(ip->ext[1].off, 65636);
	assert_int_equal(ip->stored, 70000 - 65536);
	/* a deletion applied twice no longer fits */
	bufw_release(&d);
	bufw_init(&d, 1 << 20, 1);
	meta_rec_xattr_del(&d, 2, "security.new", 12);
	assert_int_equal(meta_apply(m2, d.data, d.len), 0);
	assert_int_equal(meta_inode(m2, 2)->nxa, 0);
	assert_int_equal(meta_apply(m2, d.data, d.len), -EBADMSG);
	bufw_release(&w);
	bufw_release(&d);
	meta_free(m);
	meta_free(m2);
}

static void put_xattr_raw(struct bufw *d, uint64_t ino, const char *name,
			  size_t nlen, size_t vlen)
{
	bufw_u8(d, META_REC_XATTR_SET);
	bufw_u32(d, (uint32_t)(8 + 4 + nlen + 4 + vlen));
	bufw_u64(d, ino);
	bufw_str(d, name, nlen);
	bufw_u32(d, (uint32_t)vlen);
	for (size_t i = 0; i < vlen; i++)
		bufw_u8(d, 'v');
}

static void bad_xattr_noino(struct bufw *d)
{
	put_xattr_raw(d, 99, "user.a", 6, 1);
}

static void bad_xattr_system(struct bufw *d)
{
	put_xattr_raw(d, 3, "system.posix_acl_access", 23, 4);
}

static void bad_xattr_bare(struct bufw *d)
{
	put_xattr_raw(d, 3, "user.", 5, 1);
}

static void bad_xattr_nul(struct bufw *d)
{
	put_xattr_raw(d, 3, "user.a\0b", 8, 1);
}

static void bad_xattr_longname(struct bufw *d)
{
	char n[256];

	memcpy(n, "user.", 5);
	memset(n + 5, 'a', sizeof(n) - 5);
	put_xattr_raw(d, 3, n, sizeof(n), 1);
}

static void bad_xattr_bigvalue(struct bufw *d)
{
	put_xattr_raw(d, 3, "user.a", 6, META_XATTR_VALUE_MAX + 1);
}

static void bad_xattr_user_symlink(struct bufw *d)
{
	put_xattr_raw(d, 4, "user.a", 6, 1);
}

static void bad_xattr_total(struct bufw *d)
{
	put_xattr_raw(d, 3, "user.1", 6, META_XATTR_VALUE_MAX);
	put_xattr_raw(d, 3, "user.2", 6, META_XATTR_VALUE_MAX);
	put_xattr_raw(d, 3, "user.3", 6, META_XATTR_VALUE_MAX);
	put_xattr_raw(d, 3, "user.4", 6, META_XATTR_VALUE_MAX);
}

static void bad_xattr_del_missing(struct bufw *d)
{
	meta_rec_xattr_del(d, 3, "user.nope", 9);
}

static void bad_xattr_del_noino(struct bufw *d)
{
	meta_rec_xattr_del(d, 99, "user.a", 6);
}

static void bad_xattr_short(struct bufw *d)
{
	bufw_u8(d, META_REC_XATTR_SET);
	bufw_u32(d, 8 + 4 + 6 + 4);
	bufw_u64(d, 3);
	bufw_str(d, "user.a", 6);
	bufw_u32(d, 10); /* value runs past the record */
}

static void bad_punch_dir(struct bufw *d)
{
	meta_rec_punch(d, 2, 0, 10);
}

static void bad_punch_empty(struct bufw *d)
{
	meta_rec_punch(d, 3, 10, 0);
}

static void bad_punch_overflow(struct bufw *d)
{
	meta_rec_punch(d, 3, (uint64_t)INT64_MAX, 2);
}

static void bad_punch_noino(struct bufw *d)
{
	meta_rec_punch(d, 99, 0, 10);
}

static void test_format2_malformed(void **state)
{
	(void)state;
	expect_bad(bad_xattr_noino);
	expect_bad(bad_xattr_system);
	expect_bad(bad_xattr_bare);
	expect_bad(bad_xattr_nul);
	expect_bad(bad_xattr_longname);
	expect_bad(bad_xattr_bigvalue);
	expect_bad(bad_xattr_user_symlink);
	expect_bad(bad_xattr_total);
	expect_bad(bad_xattr_del_missing);
	expect_bad(bad_xattr_del_noino);
	expect_bad(bad_xattr_short);
	expect_bad(bad_punch_dir);
	expect_bad(bad_punch_empty);
	expect_bad(bad_punch_overflow);
	expect_bad(bad_punch_noino);
}

/* An inode deleted by the log takes its attributes along. */
static void test_xattr_inode_del(void **state)
{
	struct meta *m = sample(), *m2 = NULL;
	struct bufw w, d;

	(void)state;
	ckpt(m, &w);
	assert_int_equal(meta_new(&m2), 0);
	assert_int_equal(meta_apply(m2, w.data, w.len), 0);
	bufw_init(&d, 1 << 20, 1);
	meta_rec_dirent_del(&d, 1, "link", 4);
	meta_rec_inode_del(&d, 4);
	assert_int_equal(meta_apply(m2, d.data, d.len), 0);
	assert_null(meta_inode(m2, 4));
	bufw_release(&d);
	bufw_release(&w);
	/* the checkpoint afterwards holds no record for it */
	ckpt(m2, &w);
	meta_free(m);
	assert_int_equal(meta_new(&m), 0);
	assert_int_equal(meta_apply(m, w.data, w.len), 0);
	assert_null(meta_inode(m, 4));
	assert_int_equal(meta_inode(m, 3)->nxa, 2);
	bufw_release(&w);
	meta_free(m);
	meta_free(m2);
}

static void test_names(void **state)
{
	char n[300];

	(void)state;
	memset(n, 'x', sizeof(n));
	assert_int_equal(meta_name_check(n, 255), 0);
	assert_int_equal(meta_name_check(n, 256), -ENAMETOOLONG);
	assert_int_equal(meta_name_check("", 0), -EINVAL);
	assert_int_equal(meta_name_check(".", 1), -EINVAL);
	assert_int_equal(meta_name_check("..", 2), -EINVAL);
	assert_int_equal(meta_name_check("...", 3), 0);
	assert_int_equal(meta_name_check("a\0b", 3), -EINVAL);
}

/* Many entries: hash tables grow, readdir order stays insertion order
 * and survives removals. */
static void test_many_entries(void **state)
{
	struct meta *m = NULL;
	struct minode *root, *f;
	struct mdirent *d;
	char name[32];
	uint64_t c, prev = 0;
	int count = 0;

	(void)state;
	assert_int_equal(meta_new(&m), 0);
	assert_int_equal(meta_inode_new(m, 1, S_IFDIR | 0755, &root), 0);
	for (int i = 0; i < 5000; i++) {
		assert_int_equal(meta_inode_new(m, 10 + i, S_IFREG | 0600, &f),
				 0);
		snprintf(name, sizeof(name), "n%d", i);
		assert_int_equal(
		    meta_dirent_add(m, root, name, strlen(name), f), 0);
	}
	for (int i = 0; i < 5000; i += 2) {
		snprintf(name, sizeof(name), "n%d", i);
		d = meta_dirent_find(m, 1, name, strlen(name));
		assert_non_null(d);
		meta_dirent_remove(m, root, d);
	}
	assert_int_equal(root->nentries, 2500);
	for (c = 0, d = meta_dir_next(root, 0); d;
	     d = meta_dir_next(root, d->cookie + 1), count++) {
		assert_true(d->cookie > prev);
		prev = d->cookie;
		assert_int_equal(d->ino % 2, 1);
		c++;
	}
	assert_int_equal(count, 2500);
	meta_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_extents),
	    cmocka_unit_test(test_checkpoint_roundtrip),
	    cmocka_unit_test(test_deltas),
	    cmocka_unit_test(test_malformed_fuzz),
	    cmocka_unit_test(test_malformed_semantics),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_many_entries),
	    cmocka_unit_test(test_xattr_ops),
	    cmocka_unit_test(test_punch),
	    cmocka_unit_test(test_format2_deltas),
	    cmocka_unit_test(test_format2_malformed),
	    cmocka_unit_test(test_xattr_inode_del),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

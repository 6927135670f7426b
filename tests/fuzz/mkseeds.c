/*
 * mkseeds.c - writes the generated part of the fuzz seed corpora
 * (tests/fuzz/corpus/TARGET/gen-*): real objects of a small store made
 * with fuzz_key (header, segments, lease, commit and metadata records),
 * and synthetic records for fuzz_sealed. Run by make fuzz-seeds.
 *
 *   mkseeds CORPUSDIR
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "buf.h"
#include "chunk.h"
#include "commit.h"
#include "fuzz.h"
#include "header.h"
#include "meta.h"
#include "objstore.h"
#include "segment.h"
#include "store.h"
#include "store_priv.h"

static const char *corpus;

static void emit(const char *target, const char *name, const void *p,
		 size_t n)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", corpus, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		abort();
	snprintf(path, sizeof(path), "%s/%s/gen-%s", corpus, target, name);
	fuzz_write(path, p, n);
}

static void check(int r, const char *what)
{
	if (r < 0) {
		fprintf(stderr, "mkseeds: %s: %d\n", what, r);
		exit(1);
	}
}

/* A store with a few files, directories, a link and three commits. */
static void make_store(const char *dir, const char *state)
{
	struct store *s;
	struct store_attr a, d;
	static uint8_t buf[20000];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 31 + 7);
	check(store_create(dir, fuzz_key, NULL), "create");
	check(store_open(dir, fuzz_key, state, 0, &s), "open");
	check(store_mkdir(s, STORE_ROOT_INO, "chats", 0755, 1000, 1000, &d),
	      "mkdir");
	check(store_mknod(s, d.ino, "msgstore.db", 0100600, 0, 1000, 1000, &a),
	      "mknod");
	check(store_write(s, a.ino, buf, sizeof(buf), 0), "write");
	check(store_symlink(s, STORE_ROOT_INO, "latest", "chats/msgstore.db",
			    1000, 1000, &a),
	      "symlink");
	check(store_commit(s), "commit");
	check(store_mknod(s, STORE_ROOT_INO, "small", 0100644, 0, 0, 0, &a),
	      "mknod");
	check(store_write(s, a.ino, "hello\n", 6, 0), "write");
	check(store_write(s, a.ino, buf, 4096, 8192), "write");
	check(store_commit(s), "commit");
	check(store_rename(s, STORE_ROOT_INO, "small", d.ino, "note", 0),
	      "rename");
	check(store_unlink(s, STORE_ROOT_INO, "latest"), "unlink");
	check(store_commit(s), "commit");
	check(store_close(s), "close");
}

static void put_obj(struct bufw *w, uint8_t tag, const uint8_t *p, size_t n)
{
	bufw_u8(w, tag);
	bufw_u32(w, (uint32_t)n);
	bufw_put(w, p, n);
}

static void store_seeds(const char *dir, const char *state)
{
	struct objstore *os;
	struct keys *k;
	struct bufw img, all, one;
	uint8_t *p, *hdr = NULL, *lease = NULL;
	size_t n, hlen = 0, llen = 0;
	uint64_t *segs;
	size_t nsegs;
	char name[OBJSTORE_NAME_MAX], fname[64];
	struct store *s;
	struct store_info info;

	check(objstore_new(dir, &os), "objstore");
	check(keys_new(fuzz_key, &k), "keys");
	/* a read-write open leaves a lease to copy */
	check(store_open(dir, fuzz_key, state, 0, &s), "open");
	check(objstore_get(os, OBJSTORE_LEASE_NAME, 4096, &lease, &llen),
	      "lease");
	check(store_close(s), "close");
	check(objstore_get(os, OBJSTORE_HEADER_NAME, 4096, &hdr, &hlen),
	      "header");
	check(objstore_list_segments(os, 0, &segs, &nsegs, NULL), "list");
	check(header_parse(hdr, hlen, &info), "header");

	/* fuzz_header, fuzz_lease */
	bufw_init(&one, 1 << 20, 0);
	bufw_u8(&one, 3);
	bufw_put(&one, hdr, hlen);
	emit("fuzz_header", "header", one.data, one.len);
	one.len = 0;
	bufw_u8(&one, 1);
	bufw_put(&one, lease, llen);
	emit("fuzz_lease", "lease", one.data, one.len);
	one.data[0] = 3;
	emit("fuzz_lease", "lease-break", one.data, one.len);
	one.data[0] = 0;
	emit("fuzz_lease", "lease-as-is", one.data, one.len);

	/* fuzz_segment: the whole store, and the store up to each commit */
	bufw_init(&img, 1 << 24, 0);
	put_obj(&img, 0, hdr, hlen);
	bufw_init(&all, 1 << 24, 0);
	for (size_t i = 0; i < nsegs; i++) {
		struct commit c;
		uint8_t rid[CHUNK_RID_BYTES], kind, *sealed;
		uint32_t slen;
		uint64_t off;
		int r;

		objstore_seg_name(segs[i], name);
		check(objstore_get(os, name, 1 << 24, &p, &n), "segment");
		put_obj(&img, (uint8_t)segs[i], p, n);
		free(p);
		snprintf(fname, sizeof(fname), "store-upto-%02u",
			 (unsigned)segs[i]);
		emit("fuzz_segment", fname, img.data, img.len);

		/* fuzz_commit and fuzz_meta: the plaintexts */
		check(seg_read_last(os, segs[i], rid, &kind, &sealed, &slen,
				    &off),
		      "last chunk");
		free(sealed);
		r = commit_read(os, k, info.store_id, segs[i], &c);
		if (r == -ENODATA)
			continue;
		check(r, "commit");
		one.len = 0;
		bufw_u64(&one, segs[i]);
		bufw_u64(&one, off);
		check(commit_encode(&c, &one), "encode");
		snprintf(fname, sizeof(fname), "commit-%02u", (unsigned)segs[i]);
		emit("fuzz_commit", fname, one.data, one.len);
		if (c.is_ckpt)
			all.len = 0;
		check(commit_load_meta(os, k, info.store_id, &c, &all), "meta");
		snprintf(fname, sizeof(fname), "chain-upto-%02u",
			 (unsigned)segs[i]);
		emit("fuzz_meta", fname, all.data, all.len);
		commit_release(&c);
	}
	bufw_u8(&img, 255);
	bufw_u32(&img, (uint32_t)llen);
	bufw_put(&img, lease, llen);
	emit("fuzz_segment", "store-with-lease", img.data, img.len);
	bufw_release(&img);
	bufw_release(&all);
	bufw_release(&one);
	free(segs);
	free(hdr);
	free(lease);
	keys_free(k);
	objstore_free(os);
}

/* fuzz_sealed: a root, a file on the harness's data chunk, a link and a
 * directory, as a checkpoint; alone and with a commit naming it. */
static void sealed_seeds(void)
{
	struct meta *m;
	struct minode *root, *f, *l, *d;
	struct extent e = {.off = 0, .seg = 1, .len = 4096, .skip = 0,
			   .coff = 40, .sealed = 4096 + CHUNK_OVERHEAD};
	uint8_t rid[CHUNK_RID_BYTES];
	struct bufw w, out;
	struct commit c;
	struct commit_meta cm;

	memset(rid, 0x5a, sizeof(rid));
	check(meta_new(&m), "meta");
	check(meta_seg_add(m, 1, rid, 1 << 20), "seg");
	check(meta_inode_new(m, STORE_ROOT_INO, 040755, &root), "root");
	root->nlink = 3;
	check(meta_inode_new(m, 2, 0100644, &f), "file");
	f->nlink = 1;
	f->size = 6000; /* a hole after the extent */
	check(meta_extent_set(m, f, &e), "extent");
	check(meta_inode_new(m, 3, 0120777, &l), "link");
	l->nlink = 1;
	l->target = strdup("dir/../file");
	l->size = strlen(l->target);
	check(meta_inode_new(m, 4, 040700, &d), "dir");
	d->nlink = 2;
	check(meta_dirent_add(m, root, "file", 4, f), "dirent");
	check(meta_dirent_add(m, root, "link", 4, l), "dirent");
	check(meta_dirent_add(m, root, "dir", 3, d), "dirent");
	bufw_init(&w, 1 << 20, 0);
	check(meta_checkpoint(m, &w), "checkpoint");
	emit("fuzz_meta", "sealed-checkpoint", w.data, w.len);

	bufw_init(&out, 1 << 20, 0);
	bufw_u8(&out, 0);
	bufw_put(&out, w.data, w.len);
	emit("fuzz_sealed", "records", out.data, out.len);

	memset(&c, 0, sizeof(c));
	c.gen = 1;
	c.ckpt_seg = 1;
	c.is_ckpt = 1;
	c.next_ino = 5;
	c.time_sec = 1700000000;
	c.nmeta = 1;
	cm.off = 40 + 4096 + CHUNK_OVERHEAD;
	cm.sealed = (uint32_t)w.len + CHUNK_OVERHEAD;
	c.meta = &cm;
	out.len = 0;
	bufw_u8(&out, 1);
	bufw_u16(&out, 0);
	check(commit_encode(&c, &out), "encode");
	put_le16(out.data + 1, (uint16_t)(out.len - 3));
	bufw_put(&out, w.data, w.len);
	emit("fuzz_sealed", "commit-and-records", out.data, out.len);
	bufw_release(&out);
	bufw_release(&w);
	meta_free(m);
}

int main(int argc, char **argv)
{
	const char *t;
	char dir[4096], state[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds CORPUSDIR\n");
		return 2;
	}
	corpus = argv[1];
	if (sodium_init() < 0)
		return 1;
	t = fuzz_tmpdir();
	snprintf(dir, sizeof(dir), "%s/cloud", t);
	snprintf(state, sizeof(state), "%s/state", t);
	if (mkdir(dir, 0700) < 0)
		return 1;
	make_store(dir, state);
	store_seeds(dir, state);
	sealed_seeds();
	return 0;
}

/*
 * fuzz_store.c - helpers for the harnesses that open a whole store
 * (fuzz_segment, fuzz_sealed): a fixed header, and a walk over everything
 * an opened store shows, as a FUSE client would.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "chunk.h"
#include "fuzz.h"
#include "header.h"
#include "objstore.h"
#include "store.h"
#include "store_priv.h"

const uint8_t fuzz_store_id[16] = {
	0xf0, 0x0d, 0xf0, 0x0d, 0xf0, 0x0d, 0xf0, 0x0d,
	0x5e, 0xed, 0x5e, 0xed, 0x5e, 0xed, 0x5e, 0xed,
};

void fuzz_store_header(const char *dir)
{
	struct store_info info;
	struct keys *k;
	struct bufw w;
	char path[4096];

	memset(&info, 0, sizeof(info));
	memcpy(info.store_id, fuzz_store_id, sizeof(info.store_id));
	if (sodium_init() < 0 || keys_new(fuzz_key, &k) < 0)
		abort();
	bufw_init(&w, HEADER_MAX, 0);
	if (header_encode(&info, k->hdr, &w) != 0)
		abort();
	snprintf(path, sizeof(path), "%s/%s", dir, OBJSTORE_HEADER_NAME);
	fuzz_write(path, w.data, w.len);
	bufw_release(&w);
	keys_free(k);
}

struct walk {
	struct store *s;
	unsigned depth;
	unsigned budget; /* entries left to visit */
};

static int fill(void *ctx, const char *name, const struct store_attr *a,
		uint64_t next)
{
	struct walk *wk = ctx;

	(void)a;
	(void)next;
	if (!wk->budget)
		return 1;
	wk->budget--;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	if (strlen(name) > STORE_NAME_MAX)
		abort();
	return 0;
}

struct names {
	char (*v)[STORE_NAME_MAX + 1];
	size_t n, cap;
};

static int collect(void *ctx, const char *name, const struct store_attr *a,
		   uint64_t next)
{
	struct names *nm = ctx;

	(void)a;
	(void)next;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	if (nm->n == nm->cap) {
		size_t cap = nm->cap ? nm->cap * 2 : 16;
		void *v;

		if (cap > 4096)
			return 1;
		v = realloc(nm->v, cap * sizeof(*nm->v));
		if (!v)
			abort();
		nm->v = v;
		nm->cap = cap;
	}
	snprintf(nm->v[nm->n++], STORE_NAME_MAX + 1, "%s", name);
	return 0;
}

static void walk_ino(struct walk *wk, uint64_t ino)
{
	struct store_attr a;
	static uint8_t buf[1 << 17];
	char link[STORE_SYMLINK_MAX + 1];

	if (store_getattr(wk->s, ino, &a) != 0)
		return;
	if (S_ISDIR(a.mode)) {
		struct names nm = {0};

		if (wk->depth > 16)
			return;
		(void)!store_readdir(wk->s, ino, 0, fill, wk);
		(void)!store_readdir(wk->s, ino, 0, collect, &nm);
		for (size_t i = 0; i < nm.n && wk->budget; i++) {
			struct store_attr ca;

			if (store_lookup(wk->s, ino, nm.v[i], &ca) != 0)
				continue;
			wk->depth++;
			walk_ino(wk, ca.ino);
			wk->depth--;
			store_forget(wk->s, ca.ino, 1);
		}
		free(nm.v);
	} else if (S_ISREG(a.mode)) {
		uint64_t off = 0;

		/* the first and the last stretch, and a few in between */
		for (int i = 0; i < 4 && off < a.size; i++) {
			int n = store_read(wk->s, ino, buf, sizeof(buf), off);

			if (n < 0)
				break;
			if ((size_t)n > sizeof(buf))
				abort();
			off = off + (a.size - off) / 2 + 1;
		}
		if (a.size > sizeof(buf))
			(void)!store_read(wk->s, ino, buf, sizeof(buf),
					  a.size - sizeof(buf));
	} else if (S_ISLNK(a.mode)) {
		int n = store_readlink(wk->s, ino, link, sizeof(link));

		if (n > (int)sizeof(link))
			abort();
	}
}

int fuzz_store_open_walk(const char *dir, const char *state_dir)
{
	struct objstore *os;
	struct store *s;
	struct statvfs sv;
	struct walk wk;
	int r;

	fuzz_empty_dir(state_dir);
	if (objstore_new(dir, &os) != 0)
		abort();
	r = store_open_os(os, fuzz_key, state_dir, STORE_READ_ONLY, &s);
	if (r == 0) {
		wk.s = s;
		wk.depth = 0;
		wk.budget = 2000;
		walk_ino(&wk, STORE_ROOT_INO);
		(void)!store_statfs(s, &sv);
		(void)!store_tick(s, 0);
		if (store_close(s) != 0)
			abort(); /* read-only: nothing to commit */
	}
	objstore_free(os);
	return r;
}

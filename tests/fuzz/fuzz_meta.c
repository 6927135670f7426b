/*
 * fuzz_meta.c - libFuzzer harness: the metadata record parser and replay
 * (meta_apply, fs/meta.h): the plaintext of delta and checkpoint chunks.
 *
 * Input: a stream of records, replayed into an empty state. When it is
 * accepted, the state is walked, and a checkpoint of it must replay into
 * a fresh state that checkpoints to as many bytes (a checkpoint the store
 * writes must always load again).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "meta.h"

static int walk(void *ctx, struct minode *ip)
{
	size_t *n = ctx;

	if (S_ISDIR(ip->mode)) {
		uint64_t cookie = META_FIRST_COOKIE;
		struct mdirent *d;

		while ((d = meta_dir_next(ip, cookie))) {
			if (d->cookie < cookie || d->parent != ip->ino ||
			    d->namelen != strlen(d->name))
				abort();
			cookie = d->cookie + 1;
			(*n)++;
		}
	}
	if (S_ISREG(ip->mode) && ip->next) {
		if (meta_extent_find(ip, 0) > ip->next)
			abort();
		for (size_t i = 1; i < ip->next; i++)
			if (ip->ext[i].off < ip->ext[i - 1].off +
						 ip->ext[i - 1].len)
				abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct meta *m = NULL, *m2 = NULL;
	struct bufw w, w2;
	size_t n = 0;

	if (meta_new(&m) < 0)
		abort();
	if (meta_apply(m, data, size) != 0)
		goto out;
	if (meta_foreach(m, walk, &n) != 0)
		abort();
	bufw_init(&w, 1u << 26, 0);
	bufw_init(&w2, 1u << 26, 0);
	if (meta_checkpoint(m, &w) != 0)
		abort();
	if (meta_new(&m2) < 0)
		abort();
	if (meta_apply(m2, w.data, w.len) != 0)
		abort(); /* an unloadable checkpoint */
	if (meta_checkpoint(m2, &w2) != 0 || w2.len != w.len)
		abort();
	bufw_release(&w);
	bufw_release(&w2);
out:
	meta_free(m2);
	meta_free(m);
	return 0;
}

/*
 * fuzz_sealed.c - libFuzzer harness: the metadata and commit records
 * behind the AEAD, reached through the store's real open path.
 *
 * The harness seals what the fuzzer gives it with the right key
 * (fuzz_key) into segment 1 of a store with a valid header, so the
 * records authenticate and store_open_os() replays them; the opened store
 * is then walked (readdir, lookup, read, readlink) as a FUSE client would.
 *
 * Segment 1 always starts with one data chunk (FUZZ_DATA_LEN bytes of a
 * pattern, at offset 40, sealed length FUZZ_DATA_LEN + 40) that extent
 * records may point at; its random id is fixed (FUZZ_RID).
 *
 * Input: one mode byte, then
 *   mode bit 0 clear: metadata records; the harness writes a commit
 *     (generation 1, a checkpoint) naming them.
 *   mode bit 0 set: le16 n, n bytes of commit record used as they are,
 *     then the metadata records.
 * The records are sealed as metadata chunks of at most 64 KiB.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "chunk.h"
#include "commit.h"
#include "fuzz.h"
#include "objstore.h"
#include "segment.h"

#define FUZZ_DATA_LEN 4096
#define FUZZ_MAX_META 16

static char dir[4096], state[4096];
static struct keys *keys;
static uint8_t pattern[FUZZ_DATA_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = fuzz_tmpdir();
	char p[8192];

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/cloud", t);
	snprintf(state, sizeof(state), "%s/state", t);
	if (mkdir(dir, 0700) < 0 || mkdir(state, 0700) < 0)
		abort();
	snprintf(p, sizeof(p), "%s/log", dir);
	if (mkdir(p, 0700) < 0)
		abort();
	snprintf(p, sizeof(p), "%s/log/00", dir);
	if (mkdir(p, 0700) < 0)
		abort();
	fuzz_store_header(dir);
	if (keys_new(fuzz_key, &keys) < 0)
		abort();
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct commit_meta cm[FUZZ_MAX_META];
	struct segw sw;
	struct commit c;
	struct bufw cw;
	const uint8_t *commit_rec = NULL, *recs, *sealed;
	size_t clen = 0, rlen;
	uint32_t off, slen, nmeta = 0;
	char name[OBJSTORE_NAME_MAX], path[8192];

	if (size < 1)
		return 0;
	recs = data + 1;
	rlen = size - 1;
	if (data[0] & 1) {
		if (rlen < 2)
			return 0;
		clen = get_le16(recs);
		if (clen > rlen - 2)
			clen = rlen - 2;
		commit_rec = recs + 2;
		recs += 2 + clen;
		rlen -= 2 + clen;
	}
	if (rlen > (size_t)FUZZ_MAX_META * CHUNK_PLAIN_MAX)
		rlen = (size_t)FUZZ_MAX_META * CHUNK_PLAIN_MAX;

	segw_init(&sw, fuzz_store_id, 1);
	/* a fixed random id, as the seeds' records name it */
	memset(sw.rid, 0x5a, CHUNK_RID_BYTES);
	memcpy(sw.w.data + 24, sw.rid, CHUNK_RID_BYTES);
	if (segw_add(&sw, keys->data, CHUNK_DATA, pattern, sizeof(pattern),
		     &off, &slen) != 0)
		abort();
	while (rlen > 0) {
		size_t n = rlen > CHUNK_PLAIN_MAX ? CHUNK_PLAIN_MAX : rlen;

		if (segw_add(&sw, keys->meta, CHUNK_META, recs, n, &off,
			     &slen) != 0)
			abort();
		cm[nmeta].off = off;
		cm[nmeta].sealed = slen;
		nmeta++;
		recs += n;
		rlen -= n;
	}
	bufw_init(&cw, CHUNK_PLAIN_MAX, 0);
	if (!commit_rec) {
		memset(&c, 0, sizeof(c));
		c.gen = 1;
		c.ckpt_seg = 1;
		c.is_ckpt = 1;
		c.next_ino = 2;
		c.time_sec = 1700000000;
		c.nmeta = nmeta;
		c.meta = cm;
		if (commit_encode(&c, &cw) != 0)
			abort();
		commit_rec = cw.data;
		clen = cw.len;
	}
	if (segw_finish(&sw, keys->meta, CHUNK_COMMIT, commit_rec, clen,
			&sealed, &slen) != 0)
		abort();
	objstore_seg_name(1, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fuzz_write(path, sw.w.data, sw.w.len);
	bufw_release(&cw);
	segw_release(&sw);
	(void)fuzz_store_open_walk(dir, state);
	return 0;
}

/*
 * fuzz_commit.c - libFuzzer harness: the commit record parser
 * (commit_decode, fs/commit.h), i.e. the plaintext of a commit chunk.
 *
 * Input: le64 segment number, le64 offset of the commit chunk, then the
 * record. An accepted record must keep the invariants the store relies on
 * and encode back to the same bytes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "commit.h"
#include "fuzz.h"
#include "segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct commit c, c2;
	struct bufw w;
	uint64_t segno, off, prev;

	if (size < 16)
		return 0;
	segno = get_le64(data);
	off = get_le64(data + 8);
	if (commit_decode(data + 16, size - 16, segno, off, &c) != 0)
		return 0;
	if (c.gen == 0 || c.parent_seg >= segno || c.ckpt_seg == 0 ||
	    c.ckpt_seg > segno || c.nmeta > COMMIT_META_MAX ||
	    (c.nmeta && !c.meta) || c.segno != segno)
		abort();
	prev = SEG_HDR_BYTES;
	for (uint32_t i = 0; i < c.nmeta; i++) {
		if (c.meta[i].off < prev || c.meta[i].sealed < CHUNK_OVERHEAD ||
		    (uint64_t)c.meta[i].off + c.meta[i].sealed > off)
			abort();
		prev = (uint64_t)c.meta[i].off + c.meta[i].sealed;
	}
	bufw_init(&w, CHUNK_PLAIN_MAX, 0);
	if (commit_encode(&c, &w) != 0 || w.len != size - 16 ||
	    memcmp(w.data, data + 16, w.len) != 0)
		abort();
	if (commit_decode(w.data, w.len, segno, off, &c2) != 0 ||
	    c2.gen != c.gen || c2.nmeta != c.nmeta ||
	    (c.nmeta &&
	     memcmp(c.meta, c2.meta, c.nmeta * sizeof(*c.meta)) != 0))
		abort();
	commit_release(&c2);
	bufw_release(&w);
	commit_release(&c);
	return 0;
}

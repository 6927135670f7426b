/*
 * fuzz_segment.c - libFuzzer harness: a whole store folder as a new device
 * finds it, opened read-only with the right key (fuzz_key): the header,
 * segment headers and trailers, chunk framing, commit chains and, where
 * the chunks still authenticate, the metadata behind them.
 *
 * Input: up to 16 objects, each: u8 tag, le32 length, bytes. Tag 0 is
 * the header "vaultfs.hdr", tag 255 the lease, any other tag the segment
 * with that number. The seeds (mkseeds) are real stores made with
 * fuzz_key; most mutations break the AEAD, which is the point: framing
 * and refusal paths, and every combination of present, missing and
 * damaged segments.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "buf.h"
#include "fuzz.h"
#include "objstore.h"

static char dir[4096], state[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = fuzz_tmpdir();

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/cloud", t);
	snprintf(state, sizeof(state), "%s/state", t);
	if (mkdir(dir, 0700) < 0 || mkdir(state, 0700) < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bufr r;
	char name[OBJSTORE_NAME_MAX], path[8192];

	fuzz_empty_dir(dir);
	bufr_init(&r, data, size);
	for (int i = 0; i < 16 && bufr_left(&r) > 0; i++) {
		const uint8_t *p;
		uint8_t tag;
		uint32_t len;

		if (bufr_u8(&r, &tag) < 0 || bufr_u32(&r, &len) < 0)
			break;
		if (len > bufr_left(&r))
			len = (uint32_t)bufr_left(&r);
		if (bufr_ptr(&r, &p, len) < 0)
			abort();
		if (tag == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir,
				 OBJSTORE_HEADER_NAME);
		} else if (tag == 255) {
			snprintf(path, sizeof(path), "%s/%s", dir,
				 OBJSTORE_LEASE_NAME);
		} else {
			objstore_seg_name(tag, name);
			/* log/xx/ */
			snprintf(path, sizeof(path), "%s/log", dir);
			mkdir(path, 0700);
			snprintf(path, sizeof(path), "%s/%.6s", dir, name);
			mkdir(path, 0700);
			snprintf(path, sizeof(path), "%s/%s", dir, name);
		}
		fuzz_write(path, p, len);
	}
	(void)fuzz_store_open_walk(dir, state);
	return 0;
}

/*
 * vfs-lease.c - test helper: plays another machine's writer by writing the
 * store's lease object with the real encoder (fs/lease.c) under an
 * identity the test chooses, and prints who holds a lease.
 *
 *   vfs-lease write CLOUD KEYFILE MACHINE HOST PID SINCE EXPIRES
 *       writes a lease of machine MACHINE (stands for /etc/machine-id),
 *       host name HOST, process PID, taken at unix time SINCE, expiring at
 *       unix time EXPIRES ("+N"/"-N": N seconds from now).
 *   vfs-lease show CLOUD KEYFILE
 *       prints "host H pid P since S expires E this_machine T alive A",
 *       or "none".
 *
 * It needs the 64-digit key, like any writer: nothing here is a way around
 * the lease for someone without K.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "chunk.h"
#include "header.h"
#include "keytext.h"
#include "lease.h"
#include "objstore.h"
#include "store.h"

static int load_key(const char *path, uint8_t key[32])
{
	char text[1024];
	size_t n;
	FILE *f = fopen(path, "r");
	int r;

	if (!f)
		return -errno;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	r = keytext_parse(text, n, key, NULL, 0);
	sodium_memzero(text, sizeof(text));
	return r;
}

static int when(const char *s, uint64_t *ret)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || end == s)
		return -EINVAL;
	if (s[0] == '+' || s[0] == '-')
		v += (long long)time(NULL);
	if (v < 0)
		return -EINVAL;
	*ret = (uint64_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t key[32], *hdr = NULL;
	struct store_info info;
	struct objstore *os = NULL;
	struct keys *k = NULL;
	size_t n;
	int r;

	if (sodium_init() < 0)
		return 99;
	if (argc < 4 || (strcmp(argv[1], "write") == 0 && argc != 9) ||
	    (strcmp(argv[1], "show") == 0 && argc != 4)) {
		fprintf(stderr, "usage: vfs-lease write CLOUD KEYFILE MACHINE "
				"HOST PID SINCE EXPIRES\n"
				"       vfs-lease show CLOUD KEYFILE\n");
		return 2;
	}
	r = load_key(argv[3], key);
	if (r == 0)
		r = objstore_new(argv[2], &os);
	if (r == 0)
		r = objstore_get(os, OBJSTORE_HEADER_NAME, HEADER_MAX, &hdr, &n);
	if (r == 0)
		r = header_parse(hdr, n, &info);
	if (r == 0)
		r = keys_new(key, &k);
	if (r == 0)
		r = header_check_key(hdr, n, k->hdr);
	if (r < 0)
		goto out;
	if (strcmp(argv[1], "write") == 0) {
		struct lease_ident id = {0};
		uint64_t since, expires;

		id.machine_id = argv[4];
		id.boot_id = "vfs-lease boot";
		id.host = argv[5];
		id.pid = (uint32_t)strtoul(argv[6], NULL, 10);
		id.start = 1;
		r = when(argv[7], &since);
		if (r == 0)
			r = when(argv[8], &expires);
		if (r == 0)
			r = lease_write_as(os, k->lease, info.store_id, &id,
					   since, expires);
	} else {
		struct lease_info li;

		r = lease_peek(os, k->lease, info.store_id, &li);
		if (r == 0)
			printf("none\n");
		if (r == 1) {
			printf("host %s pid %" PRIu32 " since %" PRIu64
			       " expires %" PRIu64 " this_machine %d alive %d "
			       "version %" PRIu32 "\n",
			       li.host[0] ? li.host : "-", li.pid, li.since,
			       li.expires, li.this_machine, li.alive,
			       li.version);
			r = 0;
		}
	}
out:
	if (r < 0)
		fprintf(stderr, "vfs-lease: %s\n", vfs_strerror(r));
	sodium_memzero(key, sizeof(key));
	keys_free(k);
	free(hdr);
	objstore_free(os);
	return r < 0 ? 1 : 0;
}

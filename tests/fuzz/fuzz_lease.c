/*
 * fuzz_lease.c - libFuzzer harness: the single-writer lease object
 * "vaultfs.lease" (fs/lease.h) as another machine may have left it.
 *
 * Input: one mode byte, then the lease object. Mode bit 0: the harness
 * replaces the MAC (the last 32 bytes of a 104-byte version 1 or a
 * 200-byte version 2 lease) with the right one under fuzz_key's lease
 * subkey, so the fields behind it are reached (and the host name is
 * decrypted and cleaned for display: lease_peek);
 * bit 1: take an expired lease of another machine (STORE_BREAK_LEASE).
 * Whatever it held, a lease that was taken must renew and release.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "chunk.h"
#include "fuzz.h"
#include "lease.h"
#include "objstore.h"
#include "vfs_error.h"

#define LEASE_V1_BODY 72 /* lease.c: version 1 */
#define LEASE_BODY 168	 /* version 2 */
#define LEASE_MAC 32

static char dir[4096], path[8192];
static struct keys *keys;
static struct objstore *os;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/cloud", fuzz_tmpdir());
	snprintf(path, sizeof(path), "%s/%s", dir, OBJSTORE_LEASE_NAME);
	if (mkdir(dir, 0700) < 0 || sodium_init() < 0 ||
	    keys_new(fuzz_key, &keys) < 0 || objstore_new(dir, &os) < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p;
	size_t n;
	struct lease *l;
	int r;

	if (size < 1)
		return 0;
	n = size - 1;
	p = malloc(n ? n : 1);
	if (!p)
		abort();
	memcpy(p, data + 1, n);
	if ((data[0] & 1) && n == LEASE_V1_BODY + LEASE_MAC)
		crypto_generichash(p + LEASE_V1_BODY, LEASE_MAC, p,
				   LEASE_V1_BODY, keys->lease, 32);
	if ((data[0] & 1) && n == LEASE_BODY + LEASE_MAC)
		crypto_generichash(p + LEASE_BODY, LEASE_MAC, p, LEASE_BODY,
				   keys->lease, 32);
	fuzz_write(path, p, n);
	free(p);
	{
		struct lease_info li;

		r = lease_peek(os, keys->lease, fuzz_store_id, &li);
		if (r == 1 && strlen(li.host) > LEASE_HOST_MAX)
			abort();
		if (r != 0 && r != 1)
			abort();
	}
	r = lease_acquire(os, keys->lease, fuzz_store_id, data[0] & 2, &l);
	if (r == 0) {
		r = lease_renew(l);
		if (r != 0 && r != 1)
			abort(); /* nobody else wrote meanwhile */
		lease_release(l);
	} else if (r != -VFS_E_LEASE) {
		abort();
	}
	return 0;
}

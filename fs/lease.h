/*
 * lease.h - the single-writer lease object "vaultfs.lease".
 *
 * A read-write store holds a lease in the cloud folder: who holds it (a
 * hash of this machine's id and the store id), this boot, the process id,
 * and when it expires; MAC-ed with a K-derived key. A second writer is
 * refused (-VFS_E_LEASE) unless the lease is ours and stale (same machine
 * and boot, the process is gone; or a lease of this process whose store
 * was freed without releasing it), or it expired and the caller breaks it
 * explicitly. The holder renews it well before it expires. Through a sync
 * folder this is advisory: two machines starting at the same moment can
 * both win before their clients sync (docs/decisions.md).
 */
#ifndef VFS_LEASE_H
#define VFS_LEASE_H

#include <stdint.h>
#include <time.h>

#include "objstore.h"
#include "store.h"

#define LEASE_WUR __attribute__((warn_unused_result))
/* A lease lasts this long and is renewed after a third of it. */
#define LEASE_SECONDS (15 * 60)

struct lease;

/*
 * Takes the lease of store_id in os. break_expired: also take a lease of
 * another machine once it has expired. -VFS_E_LEASE when held elsewhere.
 * mac_key (32 bytes) is copied.
 */
int lease_acquire(struct objstore *os, const uint8_t mac_key[32],
		  const uint8_t store_id[STORE_ID_BYTES], int break_expired,
		  struct lease **ret) LEASE_WUR;

/* Renews the lease if a third of its time has passed. Returns 1 if it
 * wrote, 0, or -errno; -VFS_E_LEASE if someone else took it. */
int lease_renew(struct lease *l) LEASE_WUR;

/* Removes the lease object if it is still ours, and frees l. NULL does
 * nothing. */
void lease_release(struct lease *l);

/* What a lease object says, for reports (fsck). */
struct lease_info {
	int present;	  /* an object named vaultfs.lease exists */
	int valid;	  /* it verifies under the key */
	int this_machine; /* held by this machine */
	int this_boot;	  /* ... since its current boot */
	int alive;	  /* this machine and boot, and the process runs */
	uint32_t pid;
	uint64_t expires; /* unix seconds */
};

/*
 * Reads the lease of store_id in os without changing anything.
 * Returns 0 with *ret filled (present 0 when there is none), or -errno.
 */
int lease_inspect(struct objstore *os, const uint8_t mac_key[32],
		  const uint8_t store_id[STORE_ID_BYTES],
		  struct lease_info *ret) LEASE_WUR;

#endif

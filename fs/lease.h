/*
 * lease.h - the single-writer lease object "vaultfs.lease".
 *
 * A read-write store holds a lease in the cloud folder: who holds it (a
 * hash of this machine's id and the store id), this boot, the process id,
 * since when and until when, and the holder's host name encrypted under a
 * K-derived key (for the refusal message); MAC-ed with a K-derived key. A second writer is
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

/* Longest host name a lease carries (Linux's HOST_NAME_MAX). */
#define LEASE_HOST_MAX 64

struct lease;

/* Who holds a lease, as read from the object (lease_peek). */
struct lease_info {
	uint32_t version;	/* 1: no host name and no start time */
	int this_machine;	/* held by this machine (any process) */
	int alive;		/* another machine, or a live process here */
	uint32_t pid;		/* the holder's process id */
	uint64_t since;		/* unix seconds the holding began; 0 unknown */
	uint64_t expires;	/* unix seconds */
	char host[LEASE_HOST_MAX + 1]; /* printable ASCII; "" unknown */
};

/*
 * Who a lease names, for lease_write_as: machine_id and boot_id stand for
 * the contents of /etc/machine-id and the kernel's boot_id.
 */
struct lease_ident {
	const char *machine_id;
	const char *boot_id;
	const char *host;
	uint32_t pid;
	uint64_t start; /* the process's start time, /proc/PID/stat field 22 */
};

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

/*
 * Reads the lease of store_id in os without taking it: 1 and *ret when a
 * lease that verifies under mac_key is there, 0 when there is none (or it
 * does not verify), -errno.
 */
int lease_peek(struct objstore *os, const uint8_t mac_key[32],
	       const uint8_t store_id[STORE_ID_BYTES],
	       struct lease_info *ret) LEASE_WUR;

/*
 * Writes a lease held by id since `since` and expiring at `expires` over
 * whatever is there, without any check. For tests and tools that play
 * another holder (it takes the key, like any writer). -errno.
 */
int lease_write_as(struct objstore *os, const uint8_t mac_key[32],
		   const uint8_t store_id[STORE_ID_BYTES],
		   const struct lease_ident *id, uint64_t since,
		   uint64_t expires) LEASE_WUR;

#endif

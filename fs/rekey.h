/*
 * rekey.h - changing a store's backup key K (vaultfs rekey).
 *
 * A key change writes a copy of every live byte sealed under a new
 * random key K2, commits the whole state under K2 as the child of the
 * current head, then switches the header to K2 (the one atomic step),
 * and finally removes the objects of the old key. Before anything
 * depends on K2, K2 is kept in the rekey journal "vaultfs.rekey" in the
 * cloud folder, sealed under a subkey of the old K, so that a crash at
 * any point leaves exactly one key in charge and the old K (the 64-digit
 * key or the password the vault still holds) always finds K2 until the
 * change is finished. A rerun resumes. See docs/format.md ("Key change")
 * and docs/decisions.md.
 */
#ifndef VFS_REKEY_H
#define VFS_REKEY_H

#include <stddef.h>
#include <stdint.h>

#include "chunk.h"
#include "objstore.h"
#include "store.h"

#define REKEY_WUR __attribute__((warn_unused_result))
#define REKEY_JOURNAL_NAME OBJSTORE_REKEY_NAME
#define REKEY_JOURNAL_BYTES 112

struct rekey;

/* Called with the bytes copied so far and the total to copy. */
typedef void (*rekey_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/*
 * Starts or resumes a key change of the store in cloud_dir with key:
 * the store's current key K (a new change, or one not yet switched), K
 * while the journal of a switched change exists, or the new key K2 of a
 * switched change (after the vault was given K2). Opens the store
 * read-write (the lease: -VFS_E_LEASE while it is mounted read-write).
 * A new change makes K2 and writes the journal before returning.
 * -VFS_E_WRONGKEY when key is none of those, -VFS_E_DAMAGED when the
 * journal belongs to no key of this store, else as store_open. flags as
 * store_open (STORE_BREAK_LEASE).
 */
int rekey_begin(const char *cloud_dir, const uint8_t key[STORE_KEY_BYTES],
		const char *state_dir, unsigned flags,
		struct rekey **ret) REKEY_WUR;
/* As rekey_begin over os (the caller's; must outlive rk). */
int rekey_begin_os(struct objstore *os, const uint8_t key[STORE_KEY_BYTES],
		   const char *state_dir, unsigned flags,
		   struct rekey **ret) REKEY_WUR;

/* The new key K2 (STORE_KEY_BYTES, rk's locked memory). */
const uint8_t *rekey_new_key(const struct rekey *rk);
/* The old key K, or NULL when the change was resumed with K2. */
const uint8_t *rekey_old_key(const struct rekey *rk);
/* 1 once the header names K2 (after rekey_switch or on a resume). */
int rekey_switched(const struct rekey *rk);
/* 1 when rekey_begin started a new change (no journal existed). */
int rekey_fresh(const struct rekey *rk);
/* The store's header as read at begin (store id, hints, key epoch). */
const struct store_info *rekey_info(const struct rekey *rk);

/*
 * Copies every live byte under K2 (reusing copies a crashed run left),
 * commits the state under K2 and switches the header to K2. Nothing when
 * already switched. progress may be NULL. On return 0 the store is open
 * with K2 and this machine's high-water mark names the K2 head.
 */
int rekey_switch(struct rekey *rk, rekey_progress_fn progress,
		 void *ctx) REKEY_WUR;

/* Generation of the head (after the switch: the K2 checkpoint or later). */
uint64_t rekey_generation(const struct rekey *rk);

/*
 * After the switch: removes every segment of the old key (numbered below
 * the new epoch's first segment), then the journal. From then on only K2
 * opens the store. -EINVAL before the switch.
 */
int rekey_finish(struct rekey *rk) REKEY_WUR;

/*
 * Gives up a change rekey_begin has just started (rekey_fresh, nothing
 * copied yet): removes the journal, so K2 is forgotten. -EINVAL for any
 * other change (a resumed one may have copies or a user-saved K2).
 */
int rekey_abandon(struct rekey *rk) REKEY_WUR;

/* Closes the store, wipes the keys, frees. NULL does nothing. */
int rekey_free(struct rekey *rk);

/*
 * For store_open: when key fails the header's key check, a journal that
 * key opens and whose K2 passes it (a switched, unfinished change) gives
 * K2's subkeys in *ret. hdr/hlen: the header bytes, info: parsed.
 * -VFS_E_WRONGKEY otherwise.
 */
int rekey_follow(struct objstore *os, const uint8_t key[STORE_KEY_BYTES],
		 const struct store_info *info, const uint8_t *hdr,
		 size_t hlen, struct keys **ret) REKEY_WUR;

#endif

/*
 * hwm_async.h - raising the high-water mark off the commit path.
 *
 * A read-write mount (STORE_ASYNC_HWM) hands each durable head to a
 * writer thread instead of writing <state_dir>/<store id> inside the
 * commit: the commit then costs the two fsync calls of its segment (file,
 * folder) instead of four, and heads posted while a write runs are
 * coalesced into the next one. The mark is still only ever raised to a
 * head that is durable in the cloud folder (posted after the segment's
 * folder fsync), and always durably (hwm_write). What is given up: after
 * a machine crash, the mark may lag the durable head by the commits of
 * the last write's duration (a few ms); docs/decisions.md, "Tuning,
 * session 3".
 */
#ifndef VFS_HWM_ASYNC_H
#define VFS_HWM_ASYNC_H

#include <stdint.h>

#include "commit.h"

#define HWMA_WUR __attribute__((warn_unused_result))

struct hwm_async;

/*
 * Starts the writer for the mark of store_id in state_dir (copied).
 * Returns 0, -ENOMEM, or the error of pthread_create.
 */
int hwma_new(const char *state_dir, const uint8_t *store_id,
	     struct hwm_async **ret) HWMA_WUR;

/*
 * Hands the durable head h to the writer (a lower or equal generation
 * than one handed before is ignored) and returns at once: 0, or the error
 * of the last write if it failed (the writer retries about once a second;
 * the error is returned until a write succeeds).
 */
int hwma_post(struct hwm_async *a, const struct hwm *h) HWMA_WUR;

/*
 * Waits until everything posted is durable: 0, or the error of the last
 * attempt (after one retry).
 */
int hwma_flush(struct hwm_async *a) HWMA_WUR;

/* Flushes, stops the writer and frees a; returns hwma_flush's result.
 * NULL returns 0. */
int hwma_free(struct hwm_async *a);

#endif

/*
 * fsutil.h - helpers shared by the fs/ unit tests: temporary folders,
 * recursive removal, a fixed test key.
 */
#ifndef VFS_TEST_FSUTIL_H
#define VFS_TEST_FSUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Makes a fresh temporary folder; returns a malloc-ed path (aborts on
 * failure: a test helper). */
char *tu_mkdtemp(void);
/* Removes path and everything below it. */
void tu_rmrf(const char *path);
/* Joins a and b with '/', malloc-ed. */
char *tu_join(const char *a, const char *b);
/* Fills key with a deterministic pattern derived from seed. */
void tu_key(uint8_t key[32], uint8_t seed);
/* Counts regular files below path and sums their sizes. */
void tu_count(const char *path, uint64_t *ret_files, uint64_t *ret_bytes);
/* Deterministic pseudo-random bytes (xorshift) for content checks. */
void tu_fill(uint8_t *p, size_t n, uint64_t seed);

/* Copies the tree at from to to (which must not exist): regular files
 * and folders only. Returns 0 or -1. */
int tu_copytree(const char *from, const char *to);
/* Flips bit 0 of the byte at off in file path. Returns 0 or -1. */
int tu_flip(const char *path, long off);

struct store;
/*
 * A text dump of the whole tree of s (path, inode, mode, links, owner,
 * size, content hash or link target, and mtime when with_times), one line
 * per entry in readdir order. malloc-ed; aborts when the store fails.
 */
char *tu_dump(struct store *s, int with_times);
/* The same, returning the first error of the store instead of aborting. */
int tu_dump_try(struct store *s, int with_times, char **ret);

#endif

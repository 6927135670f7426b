/*
 * buf.h - bounded byte writer and reader (little-endian fixed-width ints).
 *
 * The reader is a cursor over untrusted bytes: every get checks the bytes
 * left and fails with -EBADMSG instead of reading past the end; once a get
 * has failed, the reader stays failed, so a parser may check once at the end.
 * The writer grows up to a cap set at init and fails with -E2BIG above it.
 */
#ifndef VFS_BUF_H
#define VFS_BUF_H

#include <stddef.h>
#include <stdint.h>

#define WUR __attribute__((warn_unused_result))

struct bufw {
	uint8_t *data;
	size_t len;
	size_t cap;	/* allocated */
	size_t max;	/* hard limit */
	int err;	/* first error, sticky */
	int secret;	/* wipe on grow and free */
};

struct bufr {
	const uint8_t *p;
	size_t left;
	int err;
};

/* Initialises an empty writer that may grow to max bytes. secret: the
 * contents are wiped when memory is released. */
void bufw_init(struct bufw *w, size_t max, int secret);
/* Frees the writer's memory (wiping it if secret). */
void bufw_release(struct bufw *w);
/* Appends; on failure the writer's err is set and later puts do nothing. */
void bufw_put(struct bufw *w, const void *p, size_t n);
void bufw_u8(struct bufw *w, uint8_t v);
void bufw_u16(struct bufw *w, uint16_t v);
void bufw_u32(struct bufw *w, uint32_t v);
void bufw_u64(struct bufw *w, uint64_t v);
/* u32 length then bytes. */
void bufw_str(struct bufw *w, const void *p, size_t n);
/* Reserves n zeroed bytes and returns a pointer to them (NULL on error). */
uint8_t *bufw_reserve(struct bufw *w, size_t n);
/* As bufw_reserve, but the n bytes are not zeroed: the caller must write
 * every one of them (no copy of old heap bytes may leave unwritten). */
uint8_t *bufw_reserve_raw(struct bufw *w, size_t n);
/* Makes room for cap bytes in all (at most the limit) in one allocation,
 * so writes up to that size neither move nor copy the buffer: 0 or the
 * error (then also kept as w's error). */
int bufw_prealloc(struct bufw *w, size_t cap);
/* Returns w->err (0 or negative errno). */
int bufw_error(const struct bufw *w) WUR;

void bufr_init(struct bufr *r, const void *p, size_t n);
int bufr_get(struct bufr *r, void *out, size_t n) WUR;
/* Points *ret at the next n bytes without copying. */
int bufr_ptr(struct bufr *r, const uint8_t **ret, size_t n) WUR;
int bufr_u8(struct bufr *r, uint8_t *ret) WUR;
int bufr_u16(struct bufr *r, uint16_t *ret) WUR;
int bufr_u32(struct bufr *r, uint32_t *ret) WUR;
int bufr_u64(struct bufr *r, uint64_t *ret) WUR;
/* u32 length (must be <= max) then bytes, returned by pointer. */
int bufr_str(struct bufr *r, const uint8_t **ret, size_t *ret_len,
	     size_t max) WUR;
int bufr_skip(struct bufr *r, size_t n) WUR;
size_t bufr_left(const struct bufr *r);

void put_le16(uint8_t *p, uint16_t v);
void put_le32(uint8_t *p, uint32_t v);
void put_le64(uint8_t *p, uint64_t v);
uint16_t get_le16(const uint8_t *p);
uint32_t get_le32(const uint8_t *p);
uint64_t get_le64(const uint8_t *p);

#endif

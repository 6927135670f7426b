/*
 * buf.c - bounded byte writer and reader.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"

void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

uint32_t get_le32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

void bufw_init(struct bufw *w, size_t max, int secret)
{
	memset(w, 0, sizeof(*w));
	w->max = max;
	w->secret = secret;
}

void bufw_release(struct bufw *w)
{
	if (w->data && w->secret)
		sodium_memzero(w->data, w->cap);
	free(w->data);
	w->data = NULL;
	w->len = w->cap = 0;
}

static int bufw_grow(struct bufw *w, size_t n)
{
	size_t need, ncap;
	uint8_t *nd;

	if (w->err)
		return w->err;
	if (n > w->max || w->len > w->max - n) {
		w->err = -E2BIG;
		return w->err;
	}
	need = w->len + n;
	if (need <= w->cap)
		return 0;
	ncap = w->cap ? w->cap : 256;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (ncap > w->max)
		ncap = w->max;
	nd = malloc(ncap);
	if (!nd) {
		w->err = -ENOMEM;
		return w->err;
	}
	if (w->data) {
		memcpy(nd, w->data, w->len);
		if (w->secret)
			sodium_memzero(w->data, w->cap);
		free(w->data);
	}
	w->data = nd;
	w->cap = ncap;
	return 0;
}

void bufw_put(struct bufw *w, const void *p, size_t n)
{
	if (bufw_grow(w, n) < 0)
		return;
	if (n)
		memcpy(w->data + w->len, p, n);
	w->len += n;
}

uint8_t *bufw_reserve(struct bufw *w, size_t n)
{
	uint8_t *p;

	if (bufw_grow(w, n) < 0)
		return NULL;
	p = w->data + w->len;
	memset(p, 0, n);
	w->len += n;
	return p;
}

uint8_t *bufw_reserve_raw(struct bufw *w, size_t n)
{
	uint8_t *p;

	if (bufw_grow(w, n) < 0)
		return NULL;
	p = w->data + w->len;
	w->len += n;
	return p;
}

int bufw_prealloc(struct bufw *w, size_t cap)
{
	uint8_t *nd;

	if (w->err)
		return w->err;
	if (cap > w->max)
		cap = w->max;
	if (cap <= w->cap)
		return 0;
	nd = malloc(cap);
	if (!nd) {
		w->err = -ENOMEM;
		return w->err;
	}
	if (w->data) {
		memcpy(nd, w->data, w->len);
		if (w->secret)
			sodium_memzero(w->data, w->cap);
		free(w->data);
	}
	w->data = nd;
	w->cap = cap;
	return 0;
}

void bufw_u8(struct bufw *w, uint8_t v)
{
	bufw_put(w, &v, 1);
}

void bufw_u16(struct bufw *w, uint16_t v)
{
	uint8_t b[2];

	put_le16(b, v);
	bufw_put(w, b, 2);
}

void bufw_u32(struct bufw *w, uint32_t v)
{
	uint8_t b[4];

	put_le32(b, v);
	bufw_put(w, b, 4);
}

void bufw_u64(struct bufw *w, uint64_t v)
{
	uint8_t b[8];

	put_le64(b, v);
	bufw_put(w, b, 8);
}

void bufw_str(struct bufw *w, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		if (!w->err)
			w->err = -E2BIG;
		return;
	}
	bufw_u32(w, (uint32_t)n);
	bufw_put(w, p, n);
}

int bufw_error(const struct bufw *w)
{
	return w->err;
}

void bufr_init(struct bufr *r, const void *p, size_t n)
{
	r->p = p;
	r->left = n;
	r->err = 0;
}

int bufr_ptr(struct bufr *r, const uint8_t **ret, size_t n)
{
	if (r->err)
		return r->err;
	if (n > r->left) {
		r->err = -EBADMSG;
		return r->err;
	}
	*ret = r->p;
	r->p += n;
	r->left -= n;
	return 0;
}

int bufr_get(struct bufr *r, void *out, size_t n)
{
	const uint8_t *p = NULL;
	int e = bufr_ptr(r, &p, n);

	if (e < 0)
		return e;
	if (n)
		memcpy(out, p, n);
	return 0;
}

int bufr_skip(struct bufr *r, size_t n)
{
	const uint8_t *p = NULL;

	return bufr_ptr(r, &p, n);
}

int bufr_u8(struct bufr *r, uint8_t *ret)
{
	return bufr_get(r, ret, 1);
}

int bufr_u16(struct bufr *r, uint16_t *ret)
{
	const uint8_t *p = NULL;
	int e = bufr_ptr(r, &p, 2);

	if (e < 0)
		return e;
	*ret = get_le16(p);
	return 0;
}

int bufr_u32(struct bufr *r, uint32_t *ret)
{
	const uint8_t *p = NULL;
	int e = bufr_ptr(r, &p, 4);

	if (e < 0)
		return e;
	*ret = get_le32(p);
	return 0;
}

int bufr_u64(struct bufr *r, uint64_t *ret)
{
	const uint8_t *p = NULL;
	int e = bufr_ptr(r, &p, 8);

	if (e < 0)
		return e;
	*ret = get_le64(p);
	return 0;
}

int bufr_str(struct bufr *r, const uint8_t **ret, size_t *ret_len, size_t max)
{
	uint32_t n;
	const uint8_t *p = NULL;
	int e;

	e = bufr_u32(r, &n);
	if (e < 0)
		return e;
	if (n > max) {
		r->err = -EBADMSG;
		return r->err;
	}
	e = bufr_ptr(r, &p, n);
	if (e < 0)
		return e;
	*ret = p;
	*ret_len = n;
	return 0;
}

size_t bufr_left(const struct bufr *r)
{
	return r->err ? 0 : r->left;
}

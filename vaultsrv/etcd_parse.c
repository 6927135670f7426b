/*
 * etcd_parse.c - the strict parser of etcd's /v3/kv/txn answers (see
 * etcd.h): every field checked for type and bounds, sizes capped before
 * anything is allocated, buffers that held values wiped on release.
 * Apart from etcd.c so that it builds (and fuzzes) without curl.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "etcd.h"
#include "json.h"

void etcd_txn_result_release(struct etcd_txn_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nranges; i++) {
		struct etcd_range *g = &r->range[i];

		for (size_t k = 0; k < g->n; k++) {
			free(g->kv[k].key);
			if (g->kv[k].value) {
				sodium_memzero(g->kv[k].value,
					       g->kv[k].value_len);
				free(g->kv[k].value);
			}
		}
		free(g->kv);
	}
	memset(r, 0, sizeof(*r));
}

/* An int64 field: decimal string, absent = 0 (the gateway omits zeros). */
static int etcd_get_i64(const struct json_obj *o, const char *name,
			int64_t *ret)
{
	const char *s;
	int64_t v = 0;
	int r;

	r = json_get_str(o, name, 19, &s);
	if (r == -ENOENT) {
		*ret = 0;
		return 0;
	}
	if (r < 0 || !*s)
		return -EIO;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EIO;
		if (v > (INT64_MAX - (*p - '0')) / 10)
			return -EIO;
		v = v * 10 + (*p - '0');
	}
	*ret = v;
	return 0;
}

/* Decodes a base64 field (absent = empty) into a fresh buffer of at most
 * max bytes, NUL-terminated. */
static int etcd_get_bytes(const struct json_obj *o, const char *name,
			  size_t max, uint8_t **ret, size_t *ret_len)
{
	const char *s;
	uint8_t *buf;
	size_t n = 0, cap;
	int r;

	r = json_get_str(o, name, 4 * ((max + 2) / 3), &s);
	if (r == -ENOENT) {
		s = "";
	} else if (r < 0) {
		return -EIO;
	}
	cap = strlen(s) / 4 * 3 + 1;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	if (*s) {
		r = json_get_b64(o, name, buf, 0, cap - 1 < max ? cap - 1 : max,
				 &n);
		if (r < 0) {
			sodium_memzero(buf, cap);
			free(buf);
			return -EIO;
		}
	}
	buf[n] = '\0';
	*ret = buf;
	*ret_len = n;
	return 0;
}

static int etcd_parse_range(const struct json_obj *o, struct etcd_range *g)
{
	const struct json_obj *kv;
	size_t n = 0;
	int r;

	r = json_get_array_len(o, "kvs", ETCD_KVS_MAX, &n);
	if (r == -ENOENT)
		n = 0;
	else if (r < 0)
		return -EIO;
	r = json_get_bool(o, "more", &g->more);
	if (r == -ENOENT)
		g->more = 0;
	else if (r < 0)
		return -EIO;
	if (n == 0)
		return 0;
	g->kv = calloc(n, sizeof(*g->kv));
	if (!g->kv)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct etcd_kv *k = &g->kv[i];
		size_t klen;

		if (json_get_array_obj(o, "kvs", i, &kv) < 0)
			return -EIO;
		g->n = i + 1; /* released by the caller from here on */
		r = etcd_get_bytes(kv, "key", ETCD_KEY_MAX, (uint8_t **)&k->key,
				   &klen);
		if (r < 0)
			return r;
		if (klen == 0 || strlen(k->key) != klen)
			return -EIO;
		r = etcd_get_bytes(kv, "value", ETCD_VALUE_MAX, &k->value,
				   &k->value_len);
		if (r < 0)
			return r;
		if (etcd_get_i64(kv, "create_revision", &k->create_revision) <
			0 ||
		    etcd_get_i64(kv, "mod_revision", &k->mod_revision) < 0 ||
		    k->mod_revision <= 0 || k->create_revision <= 0)
			return -EIO;
	}
	return 0;
}

int etcd_parse_txn(const char *body, size_t len, struct etcd_txn_result *ret)
{
	struct etcd_txn_result t;
	struct json_obj *root = NULL;
	const struct json_obj *hdr, *el, *rr;
	size_t n = 0;
	int r;

	memset(&t, 0, sizeof(t));
	if (len > ETCD_RESPONSE_MAX || json_parse(body, len, &root) < 0)
		return -EIO;
	r = -EIO;
	if (json_get_obj((const struct json_obj *)root, "header", &hdr) < 0 ||
	    etcd_get_i64(hdr, "revision", &t.revision) < 0 || t.revision <= 0)
		goto out;
	r = json_get_bool((const struct json_obj *)root, "succeeded",
			  &t.succeeded);
	if (r == -ENOENT) {
		t.succeeded = 0; /* a failed txn has no "succeeded" */
	} else if (r < 0) {
		r = -EIO;
		goto out;
	}
	r = json_get_array_len((const struct json_obj *)root, "responses",
			       ETCD_OPS_MAX, &n);
	if (r == -ENOENT)
		n = 0;
	else if (r < 0) {
		r = -EIO;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		r = -EIO;
		if (json_get_array_obj((const struct json_obj *)root,
				       "responses", i, &el) < 0)
			goto out;
		r = json_get_obj(el, "response_range", &rr);
		if (r == -ENOENT) {
			const struct json_obj *x;

			/* the other two kinds carry nothing we use */
			if (json_get_obj(el, "response_put", &x) < 0 &&
			    json_get_obj(el, "response_delete_range", &x) < 0) {
				r = -EIO;
				goto out;
			}
			continue;
		}
		if (r < 0) {
			r = -EIO;
			goto out;
		}
		r = etcd_parse_range(rr, &t.range[t.nranges++]);
		if (r < 0)
			goto out;
	}
	*ret = t;
	memset(&t, 0, sizeof(t)); /* transferred */
	r = 0;
out:
	etcd_txn_result_release(&t);
	json_obj_free(root);
	return r;
}

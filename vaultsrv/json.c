/*
 * json.c - strict, bounded access to JSON requests and building of JSON
 * responses with cJSON.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "json.h"

#define JSON_DEPTH_MAX 8

/* struct json_obj is never defined: it is a cJSON object in disguise. */
static const cJSON *J(const struct json_obj *o)
{
	return (const cJSON *)o;
}

static int json_depth_ok(const cJSON *j, int depth)
{
	if (depth > JSON_DEPTH_MAX)
		return 0;
	for (const cJSON *c = j->child; c; c = c->next)
		if (!json_depth_ok(c, depth + 1))
			return 0;
	return 1;
}

int json_parse(const char *body, size_t len, struct json_obj **ret)
{
	const char *end = NULL;
	cJSON *j;

	if (len == 0 || memchr(body, '\0', len))
		return -EINVAL;
	/* cJSON would cut strings at an escaped NUL; refuse it instead. */
	for (size_t i = 0; i + 6 <= len; i++) {
		if (body[i] == '\\' &&
		    (body[i + 1] == 'u' || body[i + 1] == 'U') &&
		    memcmp(body + i + 2, "0000", 4) == 0)
			return -EINVAL;
		if (body[i] == '\\')
			i++; /* skip the escaped char: "\\u0000" is fine */
	}
	j = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (!j)
		return -EINVAL;
	while (end && end < body + len &&
	       (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (!cJSON_IsObject(j) || end != body + len || !json_depth_ok(j, 0)) {
		cJSON_Delete(j);
		return -EINVAL;
	}
	*ret = (struct json_obj *)j;
	return 0;
}

void json_obj_free(struct json_obj *o)
{
	cJSON_Delete((cJSON *)o);
}

static const cJSON *json_field(const struct json_obj *o, const char *name)
{
	const cJSON *f;

	if (!o || !cJSON_IsObject(J(o)))
		return NULL;
	f = cJSON_GetObjectItemCaseSensitive(J(o), name);
	if (!f || cJSON_IsNull(f))
		return NULL;
	return f;
}

int json_get_str(const struct json_obj *o, const char *name, size_t max,
		 const char **ret)
{
	const cJSON *f = json_field(o, name);

	if (!f)
		return -ENOENT;
	if (!cJSON_IsString(f) || !f->valuestring ||
	    strlen(f->valuestring) > max)
		return -EINVAL;
	*ret = f->valuestring;
	return 0;
}

int json_get_b64(const struct json_obj *o, const char *name, uint8_t *out,
		 size_t min, size_t max, size_t *ret_len)
{
	const char *s, *end;
	size_t n = 0, slen;
	int r;

	r = json_get_str(o, name, 4 * ((max + 2) / 3), &s);
	if (r < 0)
		return r;
	slen = strlen(s);
	if (sodium_base642bin(out, max, s, slen, NULL, &n, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + slen || n < min || n > max)
		return -EINVAL;
	*ret_len = n;
	return 0;
}

int json_get_b64n(const struct json_obj *o, const char *name, uint8_t *out,
		  size_t n)
{
	size_t got;

	return json_get_b64(o, name, out, n, n, &got);
}

int json_get_hex16(const struct json_obj *o, const char *name, uint8_t out[16])
{
	const char *s;
	uint8_t tmp[16];
	int r;

	r = json_get_str(o, name, 32, &s);
	if (r < 0)
		return r;
	if (strlen(s) != 32)
		return -EINVAL;
	for (size_t i = 0; i < 32; i++) {
		char ch = s[i];
		int v;

		if (ch >= '0' && ch <= '9')
			v = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			v = ch - 'a' + 10;
		else
			return -EINVAL;
		if (i % 2 == 0)
			tmp[i / 2] = (uint8_t)(v << 4);
		else
			tmp[i / 2] |= (uint8_t)v;
	}
	memcpy(out, tmp, sizeof(tmp));
	return 0;
}

int json_get_u64(const struct json_obj *o, const char *name, uint64_t *ret)
{
	const cJSON *f = json_field(o, name);
	double d;

	if (!f)
		return -ENOENT;
	if (!cJSON_IsNumber(f))
		return -EINVAL;
	d = f->valuedouble;
	if (!isfinite(d) || d < 0 || d >= 9007199254740992.0 || floor(d) != d)
		return -EINVAL;
	*ret = (uint64_t)d;
	return 0;
}

int json_get_bool(const struct json_obj *o, const char *name, int *ret)
{
	const cJSON *f = json_field(o, name);

	if (!f)
		return -ENOENT;
	if (!cJSON_IsBool(f))
		return -EINVAL;
	*ret = cJSON_IsTrue(f) ? 1 : 0;
	return 0;
}

int json_get_obj(const struct json_obj *o, const char *name,
		 const struct json_obj **ret)
{
	const cJSON *f = json_field(o, name);

	if (!f)
		return -ENOENT;
	if (!cJSON_IsObject(f))
		return -EINVAL;
	*ret = (const struct json_obj *)f;
	return 0;
}

int json_get_array_len(const struct json_obj *o, const char *name, size_t max,
		       size_t *ret)
{
	const cJSON *f = json_field(o, name);
	int n;

	if (!f)
		return -ENOENT;
	if (!cJSON_IsArray(f))
		return -EINVAL;
	n = cJSON_GetArraySize(f);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n > max)
		return -E2BIG;
	*ret = (size_t)n;
	return 0;
}

int json_get_array_obj(const struct json_obj *o, const char *name, size_t i,
		       const struct json_obj **ret)
{
	const cJSON *f = json_field(o, name), *e;

	if (!f)
		return -ENOENT;
	if (!cJSON_IsArray(f) || i > 1000000)
		return -EINVAL;
	e = cJSON_GetArrayItem(f, (int)i);
	if (!e)
		return -ENOENT;
	if (!cJSON_IsObject(e))
		return -EINVAL;
	*ret = (const struct json_obj *)e;
	return 0;
}

struct json_out {
	cJSON *root;
	cJSON *stack[JSON_DEPTH_MAX];
	int depth;
	int err;
};

struct json_out *json_out_new(void)
{
	struct json_out *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->root = cJSON_CreateObject();
	if (!w->root) {
		free(w);
		return NULL;
	}
	w->stack[0] = w->root;
	return w;
}

void json_out_free(struct json_out *w)
{
	if (!w)
		return;
	cJSON_Delete(w->root);
	free(w);
}

/* Adds item to the current container (object: under name). */
static void json_out_add(struct json_out *w, const char *name, cJSON *item)
{
	cJSON *cur;

	if (!item) {
		w->err = 1;
		return;
	}
	cur = w->stack[w->depth];
	if (cJSON_IsArray(cur)) {
		if (!cJSON_AddItemToArray(cur, item))
			goto fail;
	} else {
		if (!name || !cJSON_AddItemToObject(cur, name, item))
			goto fail;
	}
	return;
fail:
	cJSON_Delete(item);
	w->err = 1;
}

void json_out_str(struct json_out *w, const char *name, const char *v)
{
	json_out_add(w, name, cJSON_CreateString(v));
}

void json_out_b64(struct json_out *w, const char *name, const uint8_t *v,
		  size_t n)
{
	size_t cap =
	    sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(cap);

	if (!s) {
		w->err = 1;
		return;
	}
	sodium_bin2base64(s, cap, v, n, sodium_base64_VARIANT_ORIGINAL);
	json_out_add(w, name, cJSON_CreateString(s));
	free(s);
}

void json_out_hex(struct json_out *w, const char *name, const uint8_t *v,
		  size_t n)
{
	char *s = malloc(2 * n + 1);

	if (!s) {
		w->err = 1;
		return;
	}
	sodium_bin2hex(s, 2 * n + 1, v, n);
	json_out_add(w, name, cJSON_CreateString(s));
	free(s);
}

void json_out_u64(struct json_out *w, const char *name, uint64_t v)
{
	char num[24];

	/* cJSON prints doubles with %1.15g: 2^53 - 1 would lose digits. */
	snprintf(num, sizeof(num), "%" PRIu64, v);
	json_out_add(w, name, cJSON_CreateRaw(num));
}

void json_out_bool(struct json_out *w, const char *name, int v)
{
	json_out_add(w, name, cJSON_CreateBool(v ? 1 : 0));
}

static void json_out_push(struct json_out *w, const char *name, cJSON *c)
{
	if (!c || w->depth + 1 >= JSON_DEPTH_MAX) {
		cJSON_Delete(c);
		w->err = 1;
		return;
	}
	json_out_add(w, name, c);
	if (w->err)
		return;
	w->stack[++w->depth] = c;
}

void json_out_obj_begin(struct json_out *w, const char *name)
{
	json_out_push(w, name, cJSON_CreateObject());
}

void json_out_arr_begin(struct json_out *w, const char *name)
{
	json_out_push(w, name, cJSON_CreateArray());
}

void json_out_end(struct json_out *w)
{
	if (w->depth == 0)
		w->err = 1;
	else
		w->depth--;
}

char *json_out_finish(struct json_out *w)
{
	if (w->err || w->depth != 0)
		return NULL;
	return cJSON_PrintUnformatted(w->root);
}

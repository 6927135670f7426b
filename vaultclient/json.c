/*
 * json.c - strict JSON for the vault protocol on top of cJSON.
 *
 * cJSON is a tolerant parser (it keeps duplicate keys, accepts any number
 * format, nests up to CJSON_NESTING_LIMIT); the checks that make it strict
 * for untrusted replies live here.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "json.h"
#include "vfs_error.h"

/* Nodes are cJSON items; struct json is never defined. */
static cJSON *C(const struct json *j)
{
	return (cJSON *)(uintptr_t)j;
}

static struct json *J(cJSON *c)
{
	return (struct json *)c;
}

int json_obj_new(struct json **ret)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return -ENOMEM;
	*ret = J(o);
	return 0;
}

void json_free(struct json *j)
{
	cJSON_Delete(C(j));
}

static int add(struct json *o, const char *key, cJSON *v)
{
	if (!v)
		return -ENOMEM;
	if (!cJSON_IsObject(C(o)) || !key) {
		cJSON_Delete(v);
		return -EINVAL;
	}
	if (!cJSON_AddItemToObject(C(o), key, v)) {
		cJSON_Delete(v);
		return -ENOMEM;
	}
	return 0;
}

int json_add_str(struct json *o, const char *key, const char *s)
{
	if (!s)
		return -EINVAL;
	return add(o, key, cJSON_CreateString(s));
}

int json_add_b64(struct json *o, const char *key, const void *p, size_t n)
{
	const int v = sodium_base64_VARIANT_ORIGINAL;
	size_t blen;
	char *b;
	int r;

	if (n > JSON_MAX_TEXT)
		return -E2BIG;
	blen = sodium_base64_ENCODED_LEN(n, v);
	b = malloc(blen);
	if (!b)
		return -ENOMEM;
	sodium_bin2base64(b, blen, p, n, v);
	r = json_add_str(o, key, b);
	free(b);
	return r;
}

int json_add_hex(struct json *o, const char *key, const void *p, size_t n)
{
	char *h;
	int r;

	if (n > JSON_MAX_TEXT)
		return -E2BIG;
	h = malloc(2 * n + 1);
	if (!h)
		return -ENOMEM;
	sodium_bin2hex(h, 2 * n + 1, p, n);
	r = json_add_str(o, key, h);
	free(h);
	return r;
}

int json_add_u64(struct json *o, const char *key, uint64_t v)
{
	char num[24];

	if (v > JSON_INT_MAX)
		return -ERANGE;
	/* raw text: cJSON would print through a double and "%d" */
	snprintf(num, sizeof(num), "%" PRIu64, v);
	return add(o, key, cJSON_CreateRaw(num));
}

int json_add_obj(struct json *o, const char *key, struct json **ret)
{
	cJSON *c = cJSON_CreateObject();
	int r = add(o, key, c);

	if (r == 0)
		*ret = J(c);
	return r;
}

int json_add_arr(struct json *o, const char *key, struct json **ret)
{
	cJSON *c = cJSON_CreateArray();
	int r = add(o, key, c);

	if (r == 0)
		*ret = J(c);
	return r;
}

int json_arr_add_obj(struct json *a, struct json **ret)
{
	cJSON *c;

	if (!cJSON_IsArray(C(a)))
		return -EINVAL;
	c = cJSON_CreateObject();
	if (!c)
		return -ENOMEM;
	if (!cJSON_AddItemToArray(C(a), c)) {
		cJSON_Delete(c);
		return -ENOMEM;
	}
	*ret = J(c);
	return 0;
}

int json_print(const struct json *j, char **ret, size_t *ret_len)
{
	char *t = cJSON_PrintUnformatted(C(j));

	if (!t)
		return -ENOMEM;
	*ret = t;
	*ret_len = strlen(t);
	return 0;
}

void json_text_free(char *text)
{
	if (text)
		cJSON_free(text);
}

int json_parse(const char *text, size_t len, struct json **ret)
{
	const char *end = NULL;
	cJSON *root;

	if (!text || len == 0 || len > JSON_MAX_TEXT)
		return -VFS_E_PROTOCOL;
	/* a NUL would end cJSON's view of a string early */
	if (memchr(text, '\0', len))
		return -VFS_E_PROTOCOL;
	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!root)
		return -VFS_E_PROTOCOL;
	for (; end && end < text + len; end++) {
		if (*end != ' ' && *end != '\t' && *end != '\r' &&
		    *end != '\n') {
			cJSON_Delete(root);
			return -VFS_E_PROTOCOL;
		}
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return -VFS_E_PROTOCOL;
	}
	*ret = J(root);
	return 0;
}

/* The member key of o, which must appear once; -ENOENT if absent. */
static int member(const struct json *o, const char *key, const cJSON **ret)
{
	const cJSON *it, *found = NULL;

	if (!cJSON_IsObject(C(o)))
		return -VFS_E_PROTOCOL;
	cJSON_ArrayForEach(it, C(o))
	{
		if (it->string && strcmp(it->string, key) == 0) {
			if (found)
				return -VFS_E_PROTOCOL;
			found = it;
		}
	}
	if (!found)
		return -ENOENT;
	*ret = found;
	return 0;
}

/* A string member of any bytes (length checked), not yet validated. */
static int raw_str(const struct json *o, const char *key, size_t maxlen,
		   const char **ret, size_t *ret_len)
{
	const cJSON *v;
	size_t n;
	int r;

	r = member(o, key, &v);
	if (r < 0)
		return r;
	if (!cJSON_IsString(v) || !v->valuestring)
		return -VFS_E_PROTOCOL;
	n = strnlen(v->valuestring, maxlen + 1);
	if (n > maxlen)
		return -VFS_E_PROTOCOL;
	*ret = v->valuestring;
	*ret_len = n;
	return 0;
}

int json_get_str(const struct json *o, const char *key, size_t maxlen,
		 const char **ret)
{
	const char *s;
	size_t n;
	int r;

	r = raw_str(o, key, maxlen, &s, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return -VFS_E_PROTOCOL;
	*ret = s;
	return 0;
}

int json_get_b64(const struct json *o, const char *key, uint8_t *out,
		 size_t min, size_t max, size_t *ret_len)
{
	const int var = sodium_base64_VARIANT_ORIGINAL;
	const char *s, *end = NULL;
	size_t n, blen = 0;
	int r;

	r = raw_str(o, key, sodium_base64_ENCODED_LEN(max, var), &s, &n);
	if (r < 0)
		return r;
	if (n == 0) {
		if (min > 0)
			return -VFS_E_PROTOCOL;
		*ret_len = 0;
		return 0;
	}
	if (sodium_base642bin(out, max, s, n, NULL, &blen, &end, var) != 0 ||
	    end != s + n || blen < min || blen > max)
		return -VFS_E_PROTOCOL;
	*ret_len = blen;
	return 0;
}

int json_get_hex(const struct json *o, const char *key, uint8_t *out, size_t n)
{
	const char *s, *end = NULL;
	size_t sl, blen = 0;
	int r;

	r = raw_str(o, key, 2 * n, &s, &sl);
	if (r < 0)
		return r;
	if (sl != 2 * n)
		return -VFS_E_PROTOCOL;
	for (size_t i = 0; i < sl; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return -VFS_E_PROTOCOL;
	if (sodium_hex2bin(out, n, s, sl, NULL, &blen, &end) != 0 ||
	    blen != n || end != s + sl)
		return -VFS_E_PROTOCOL;
	return 0;
}

int json_get_u64(const struct json *o, const char *key, uint64_t max,
		 uint64_t *ret)
{
	const cJSON *v;
	double d;
	uint64_t u;
	int r;

	r = member(o, key, &v);
	if (r < 0)
		return r;
	if (!cJSON_IsNumber(v))
		return -VFS_E_PROTOCOL;
	d = v->valuedouble;
	/* also refuses NaN: every comparison with it is false */
	if (!(d >= 0.0 && d <= (double)JSON_INT_MAX))
		return -VFS_E_PROTOCOL;
	u = (uint64_t)d;
	if ((double)u != d || u > max)
		return -VFS_E_PROTOCOL;
	*ret = u;
	return 0;
}

int json_get_bool(const struct json *o, const char *key, int *ret)
{
	const cJSON *v;
	int r;

	r = member(o, key, &v);
	if (r < 0)
		return r;
	if (!cJSON_IsBool(v))
		return -VFS_E_PROTOCOL;
	*ret = cJSON_IsTrue(v) ? 1 : 0;
	return 0;
}

int json_get_obj(const struct json *o, const char *key,
		 const struct json **ret)
{
	const cJSON *v;
	int r;

	r = member(o, key, &v);
	if (r < 0)
		return r;
	if (!cJSON_IsObject(v))
		return -VFS_E_PROTOCOL;
	*ret = J((cJSON *)(uintptr_t)v);
	return 0;
}

int json_get_arr(const struct json *o, const char *key, size_t max,
		 const struct json **ret, size_t *ret_n)
{
	const cJSON *v;
	int n, r;

	r = member(o, key, &v);
	if (r < 0)
		return r;
	if (!cJSON_IsArray(v))
		return -VFS_E_PROTOCOL;
	n = cJSON_GetArraySize(v);
	if (n < 0 || (size_t)n > max)
		return -VFS_E_PROTOCOL;
	*ret = J((cJSON *)(uintptr_t)v);
	*ret_n = (size_t)n;
	return 0;
}

int json_arr_obj(const struct json *a, size_t i, const struct json **ret)
{
	const cJSON *v;

	if (!cJSON_IsArray(C(a)) || i > INT32_MAX)
		return -VFS_E_PROTOCOL;
	v = cJSON_GetArrayItem(C(a), (int)i);
	if (!v || !cJSON_IsObject(v))
		return -VFS_E_PROTOCOL;
	*ret = J((cJSON *)(uintptr_t)v);
	return 0;
}

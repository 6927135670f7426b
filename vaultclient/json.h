/*
 * json.h - the vault's JSON bodies: building requests, parsing replies
 * strictly. The only module that includes cJSON.
 *
 * Replies are untrusted. json_parse takes at most JSON_MAX_TEXT bytes, no
 * NUL bytes, one value that must be an object, and nothing but whitespace
 * after it. Getters check the type, refuse a key that appears twice in the
 * object, cap every length, and decode base64 (RFC 4648 section 4, with
 * padding) and hex with exact size checks. Every malformed reply gives
 * -VFS_E_PROTOCOL; a missing key gives -ENOENT from the json_get_* calls
 * so that callers can treat optional fields.
 *
 * A struct json is a node; only the root returned by json_obj_new or
 * json_parse is freed (json_free), children are borrowed from it.
 */
#ifndef VC_JSON_H
#define VC_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_TEXT (64 * 1024)
/* Integers on the wire are below 2^53 (docs/protocol.md) */
#define JSON_INT_MAX ((1ULL << 53) - 1)

struct json;

/* A new empty object (the root of a request). */
int json_obj_new(struct json **ret) __attribute__((warn_unused_result));
/* Frees a root and all its children; NULL does nothing. */
void json_free(struct json *j);

/* Add members to object o (key is copied). -ENOMEM, -EINVAL. */
int json_add_str(struct json *o, const char *key, const char *s)
	__attribute__((warn_unused_result));
int json_add_b64(struct json *o, const char *key, const void *p, size_t n)
	__attribute__((warn_unused_result));
/* lower-case hex */
int json_add_hex(struct json *o, const char *key, const void *p, size_t n)
	__attribute__((warn_unused_result));
/* v must be <= JSON_INT_MAX; printed exactly as a decimal integer */
int json_add_u64(struct json *o, const char *key, uint64_t v)
	__attribute__((warn_unused_result));
/* A new child object or array of o, borrowed through *ret. */
int json_add_obj(struct json *o, const char *key, struct json **ret)
	__attribute__((warn_unused_result));
int json_add_arr(struct json *o, const char *key, struct json **ret)
	__attribute__((warn_unused_result));
/* Appends a new object to array a. */
int json_arr_add_obj(struct json *a, struct json **ret)
	__attribute__((warn_unused_result));

/* Compact text of j into *ret (free with json_text_free). */
int json_print(const struct json *j, char **ret, size_t *ret_len)
	__attribute__((warn_unused_result));
void json_text_free(char *text);

/* Parses a reply (see above). */
int json_parse(const char *text, size_t len, struct json **ret)
	__attribute__((warn_unused_result));

/* A string member of 0..maxlen printable ASCII characters (0x20..0x7e),
 * borrowed from o. */
int json_get_str(const struct json *o, const char *key, size_t maxlen,
		 const char **ret) __attribute__((warn_unused_result));
/* Base64 member decoded into out: between min and max bytes. An empty
 * string decodes to 0 bytes (allowed only when min is 0). */
int json_get_b64(const struct json *o, const char *key, uint8_t *out,
		 size_t min, size_t max, size_t *ret_len)
	__attribute__((warn_unused_result));
/* Exactly n bytes of lower-case hex. */
int json_get_hex(const struct json *o, const char *key, uint8_t *out,
		 size_t n) __attribute__((warn_unused_result));
/* Non-negative integer <= max (and <= JSON_INT_MAX). */
int json_get_u64(const struct json *o, const char *key, uint64_t max,
		 uint64_t *ret) __attribute__((warn_unused_result));
int json_get_bool(const struct json *o, const char *key, int *ret)
	__attribute__((warn_unused_result));
int json_get_obj(const struct json *o, const char *key,
		 const struct json **ret) __attribute__((warn_unused_result));
/* An array of at most max elements; *ret_n is its length. */
int json_get_arr(const struct json *o, const char *key, size_t max,
		 const struct json **ret, size_t *ret_n)
	__attribute__((warn_unused_result));
/* Element i of array a, which must be an object. */
int json_arr_obj(const struct json *a, size_t i, const struct json **ret)
	__attribute__((warn_unused_result));

#endif

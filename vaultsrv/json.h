/*
 * json.h - request parsing and response building; the only vaultsrv file
 * that includes cJSON.
 *
 * Getters return 0, -ENOENT when the field is missing (or null), -EINVAL
 * when it has the wrong type or format. Nothing returned points into
 * memory that outlives the parsed request.
 */
#ifndef VS_JSON_H
#define VS_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_WUR __attribute__((warn_unused_result))

/* A JSON object inside a parsed request (the root or a nested one). */
struct json_obj;

/*
 * Parses len bytes as one JSON object (trailing whitespace allowed).
 * -EINVAL for anything else: bad syntax, a non-object root, a NUL byte or
 * a \u0000 escape anywhere. Free with json_obj_free().
 */
int json_parse(const char *body, size_t len, struct json_obj **ret) JSON_WUR;
/* Frees a root returned by json_parse(); NULL is ignored. */
void json_obj_free(struct json_obj *o);

/* String field (NUL terminated, owned by o); max: longest accepted. */
int json_get_str(const struct json_obj *o, const char *name, size_t max,
		 const char **ret) JSON_WUR;
/* Standard base64 (with padding) decoding to min..max bytes. */
int json_get_b64(const struct json_obj *o, const char *name, uint8_t *out,
		 size_t min, size_t max, size_t *ret_len) JSON_WUR;
/* Exactly n bytes of base64. */
int json_get_b64n(const struct json_obj *o, const char *name, uint8_t *out,
		  size_t n) JSON_WUR;
/* 32 lower-case hex digits -> 16 bytes. */
int json_get_hex16(const struct json_obj *o, const char *name,
		   uint8_t out[16]) JSON_WUR;
/* Integral JSON number in [0, 2^53). */
int json_get_u64(const struct json_obj *o, const char *name,
		 uint64_t *ret) JSON_WUR;
/* Boolean field: *ret is 0 or 1. */
int json_get_bool(const struct json_obj *o, const char *name,
		  int *ret) JSON_WUR;
/* Nested object. */
int json_get_obj(const struct json_obj *o, const char *name,
		 const struct json_obj **ret) JSON_WUR;
/* Array of objects: its length (<= max, else -E2BIG). */
int json_get_array_len(const struct json_obj *o, const char *name, size_t max,
		       size_t *ret) JSON_WUR;
/* Element i of an array of objects (-EINVAL if not an object). */
int json_get_array_obj(const struct json_obj *o, const char *name, size_t i,
		       const struct json_obj **ret) JSON_WUR;

/* Response builder: an object with nested objects and arrays. */
struct json_out;

struct json_out *json_out_new(void);
void json_out_free(struct json_out *w);
void json_out_str(struct json_out *w, const char *name, const char *v);
void json_out_b64(struct json_out *w, const char *name, const uint8_t *v,
		  size_t n);
void json_out_hex(struct json_out *w, const char *name, const uint8_t *v,
		  size_t n);
void json_out_u64(struct json_out *w, const char *name, uint64_t v);
void json_out_bool(struct json_out *w, const char *name, int v);
/* Opens a nested object (name != NULL) or, inside an array, an element. */
void json_out_obj_begin(struct json_out *w, const char *name);
void json_out_arr_begin(struct json_out *w, const char *name);
void json_out_end(struct json_out *w);
/*
 * Returns the compact text (malloc'd, caller frees) or NULL if anything
 * failed on the way (memory, nesting).
 */
char *json_out_finish(struct json_out *w) JSON_WUR;

#endif

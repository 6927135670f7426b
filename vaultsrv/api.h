/*
 * api.h - the vault's endpoints (docs/protocol.md), independent of the
 * HTTP library: http.c hands in a complete request and sends the answer.
 */
#ifndef VS_API_H
#define VS_API_H

#include <stddef.h>
#include <stdint.h>

#include "hsm.h"
#include "store.h"
#include "vs_config.h"

#define API_BODY_MAX (16 * 1024)

struct api_request {
	const char *method;
	const char *path;
	const char *authorization; /* header value or NULL */
	const char *body;
	size_t body_len;
	const char *source; /* client address, for audit and limits */
};

struct api_response {
	int status;
	char *body; /* malloc'd; the caller frees */
	const char *content_type;
};

struct api;

/*
 * Makes the request handler over an open HSM (keys loaded) and store.
 * Borrows cfg, h and s, which must outlive it.
 */
int api_new(const struct vs_config *cfg, struct hsm *h, struct store *s,
	    struct api **ret) __attribute__((warn_unused_result));
void api_free(struct api *a);

/*
 * Answers one request. Always fills ret (status, body); on failure of
 * memory the body may be NULL with status 500.
 */
void api_handle(struct api *a, const struct api_request *rq,
		struct api_response *ret);

/* Writes a JSON error body for status/code (for the HTTP layer's own
 * errors such as 413). Returns malloc'd text or NULL. */
char *api_error_body(const char *code, const char *message);

/* Counts a request answered by the HTTP layer itself. */
void api_count(const char *path, int status);

#endif

/*
 * http.h - HTTP(S) transport to the vault. The only module that includes
 * curl.
 *
 * Policy: TLS peer and host verification always on (an optional CA file
 * replaces the system store); plain http:// only to a loopback host
 * (127.0.0.0/8, ::1, localhost); no redirects; only http and https;
 * connect and total timeouts; reply bodies capped at HTTP_MAX_BODY. The
 * account token goes in "Authorization: Bearer", only to the URLs given
 * here (the ones this machine was told to trust).
 *
 * Retries: the URLs are tried in turn, starting with the last one that
 * answered, but only while a request failed before any byte of it was
 * sent (resolve, connect, TLS handshake). A request that may have reached
 * a vault is never repeated elsewhere: it may have counted an attempt.
 */
#ifndef VC_HTTP_H
#define VC_HTTP_H

#include <stddef.h>

#define HTTP_MAX_BODY (64 * 1024)
#define HTTP_MAX_URLS 16
#define HTTP_MAX_URL_LEN 2048
#define HTTP_MAX_TOKEN 2048
#define HTTP_CONNECT_TIMEOUT_MS 5000L
#define HTTP_TOTAL_TIMEOUT_MS 30000L

struct http_client;

struct http_reply {
	long status;
	char *body; /* NUL-terminated, len bytes before the NUL */
	size_t len;
};

/*
 * Checks a vault base URL: https://host[:port][/path], or http:// with a
 * loopback host. No user info, query or fragment. 0, -EINVAL (malformed)
 * or -EPERM (plain http to a host that is not loopback).
 */
int http_url_check(const char *url) __attribute__((warn_unused_result));

/*
 * A client for 1..HTTP_MAX_URLS base URLs (each checked as above and
 * copied; a trailing '/' is dropped) and an optional CA file (NULL: the
 * system store).
 */
int http_client_new(const char *const *urls, size_t n, const char *ca_file,
		    struct http_client **ret) __attribute__((warn_unused_result));
/* Frees the client, wiping the token. NULL does nothing. */
void http_client_free(struct http_client *h);

/*
 * Sets the bearer token (copied into secure memory; NULL clears it).
 * -EINVAL if it is empty, longer than HTTP_MAX_TOKEN or has characters
 * outside 0x21..0x7e.
 */
int http_set_token(struct http_client *h, const char *token)
	__attribute__((warn_unused_result));

/* Timeouts in milliseconds (<= 0 keeps the default). */
void http_set_timeouts(struct http_client *h, long connect_ms, long total_ms);

/*
 * POSTs body (len bytes of JSON; NULL for a GET) to base URL + path.
 * On success (any HTTP status) fills *ret. -VFS_E_VAULT if no vault could
 * be reached or the transfer failed, -VFS_E_PROTOCOL if the reply body is
 * over HTTP_MAX_BODY, -ENOMEM.
 */
int http_request(struct http_client *h, const char *path, const char *body,
		 size_t len, struct http_reply *ret)
	__attribute__((warn_unused_result));
/* Frees the body of a reply. */
void http_reply_release(struct http_reply *r);

/* The index of the URL that answered last (for tests and messages). */
size_t http_last_url(const struct http_client *h);

#endif

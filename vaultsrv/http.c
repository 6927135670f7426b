/*
 * http.c - libmicrohttpd glue: collects a request body up to API_BODY_MAX
 * (libmicrohttpd 0.9.75 has no cap of its own), answers 413 above it,
 * then calls the API. Internal polling threads (a pool), so a slow client
 * holds only its connection, never a worker.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "http.h"
#include "log.h"

#define HTTP_REQUEST_DEADLINE 30 /* seconds for a whole request body */
#define HTTP_PEM_MAX (64 * 1024)
#define HTTP_PER_IP_LIMIT 64

struct http {
	struct MHD_Daemon *d;
	struct api *api;
	char *cert;
	char *key; /* sodium_malloc'd */
	size_t keycap;
};

struct http_conn {
	char *buf;
	size_t len;
	int too_big;
	time_t start;
};

static void http_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("libmicrohttpd: %s", msg);
}

static enum MHD_Result http_send(struct MHD_Connection *c, int status,
				 const char *ctype, char *body)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t n = body ? strlen(body) : 0;

	resp = MHD_create_response_from_buffer(n, body ? body : (char *)"",
					       body ? MHD_RESPMEM_MUST_FREE
						    : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result http_error(struct MHD_Connection *c, const char *url,
				  int status, const char *code,
				  const char *message)
{
	api_count(url, status);
	return http_send(c, status, "application/json",
			 api_error_body(code, message));
}

static void http_source(struct MHD_Connection *c, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	snprintf(out, cap, "unknown");
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr)
		return;
	sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
			  out, (socklen_t)cap);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)cap);
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *c,
				   const char *url, const char *method,
				   const char *version, const char *upload,
				   size_t *upload_size, void **con_cls)
{
	struct http *h = cls;
	struct http_conn *hc = *con_cls;
	struct api_request rq;
	struct api_response resp;
	char source[INET6_ADDRSTRLEN + 1];

	if (!hc) {
		const char *cl;

		hc = calloc(1, sizeof(*hc));
		if (!hc)
			return MHD_NO;
		hc->start = time(NULL);
		*con_cls = hc;
		cl = MHD_lookup_connection_value(
		    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl &&
		    (strlen(cl) > 9 || strtoul(cl, NULL, 10) > API_BODY_MAX))
			/* Refuse at once; the body is never read. */
			return http_error(c, url, 413, "too_large",
					  "request bodies are limited to "
					  "16 KiB");
		return MHD_YES;
	}
	if (*upload_size) {
		if (time(NULL) - hc->start > HTTP_REQUEST_DEADLINE)
			return MHD_NO; /* trickling body: drop it */
		if (!hc->too_big && hc->len + *upload_size > API_BODY_MAX) {
			hc->too_big = 1;
			free(hc->buf);
			hc->buf = NULL;
		}
		if (!hc->too_big) {
			if (!hc->buf) {
				hc->buf = malloc(API_BODY_MAX + 1);
				if (!hc->buf)
					return MHD_NO;
			}
			memcpy(hc->buf + hc->len, upload, *upload_size);
			hc->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (hc->too_big)
		return http_error(c, url, 413, "too_large",
				  "request bodies are limited to 16 KiB");
	http_source(c, source, sizeof(source));
	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.path = url;
	rq.authorization = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	rq.body = hc->buf;
	rq.body_len = hc->len;
	rq.source = source;
	api_handle(h->api, &rq, &resp);
	if (!resp.body)
		return http_send(c, 500, "application/json",
				 api_error_body("internal", "internal error"));
	return http_send(c, resp.status, resp.content_type, resp.body);
}

static void http_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			   enum MHD_RequestTerminationCode toe)
{
	struct http_conn *hc = *con_cls;

	if (!hc)
		return;
	if (hc->buf) {
		sodium_memzero(hc->buf, hc->len);
		free(hc->buf);
	}
	free(hc);
	*con_cls = NULL;
}

/* Reads a PEM file; secret: into sodium_malloc memory. */
static int http_read_pem(const char *path, int secret, char **ret,
			 size_t *ret_cap)
{
	char *buf;
	size_t len = 0, cap = HTTP_PEM_MAX + 1;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = secret ? sodium_malloc(cap) : malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (len < cap - 1) {
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : 0;
			if (r < 0)
				goto fail;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	fd = -1;
	if (len == 0 || len >= cap - 1) {
		r = -EINVAL;
		goto fail;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_cap = cap;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (secret) {
		sodium_memzero(buf, cap);
		sodium_free(buf);
	} else {
		free(buf);
	}
	return r;
}

int http_start(const struct vs_config *cfg, struct api *a, struct http **ret)
{
	struct sockaddr_storage ss;
	struct http *h;
	unsigned flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_POLL;
	size_t cap;
	int r;

	memset(&ss, 0, sizeof(ss));
	if (strchr(cfg->listen_host, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(cfg->listen_port);
		if (inet_pton(AF_INET6, cfg->listen_host, &s6->sin6_addr) != 1)
			return -EINVAL;
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(cfg->listen_port);
		if (inet_pton(AF_INET, cfg->listen_host, &s4->sin_addr) != 1)
			return -EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->api = a;
	if (cfg->tls_cert[0]) {
		r = http_read_pem(cfg->tls_cert, 0, &h->cert, &cap);
		if (r < 0)
			goto out;
		r = http_read_pem(cfg->tls_key, 1, &h->key, &h->keycap);
		if (r < 0)
			goto out;
		flags |= MHD_USE_TLS;
	}
	if (flags & MHD_USE_TLS)
		h->d = MHD_start_daemon(
		    flags, 0, NULL, NULL, http_access, h,
		    MHD_OPTION_EXTERNAL_LOGGER, http_log, h,
		    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
		    MHD_OPTION_CONNECTION_LIMIT,
		    (unsigned)cfg->connection_limit,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT, HTTP_PER_IP_LIMIT,
		    MHD_OPTION_CONNECTION_TIMEOUT,
		    (unsigned)cfg->connection_timeout,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
		    MHD_OPTION_NOTIFY_COMPLETED, http_completed, h,
		    MHD_OPTION_HTTPS_MEM_CERT, h->cert,
		    MHD_OPTION_HTTPS_MEM_KEY, h->key, MHD_OPTION_END);
	else
		h->d = MHD_start_daemon(
		    flags, 0, NULL, NULL, http_access, h,
		    MHD_OPTION_EXTERNAL_LOGGER, http_log, h,
		    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
		    MHD_OPTION_CONNECTION_LIMIT,
		    (unsigned)cfg->connection_limit,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT, HTTP_PER_IP_LIMIT,
		    MHD_OPTION_CONNECTION_TIMEOUT,
		    (unsigned)cfg->connection_timeout,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
		    MHD_OPTION_NOTIFY_COMPLETED, http_completed, h,
		    MHD_OPTION_END);
	if (!h->d) {
		r = -EADDRINUSE;
		goto out;
	}
	*ret = h;
	h = NULL; /* transferred */
	r = 0;
out:
	http_stop(h);
	return r;
}

void http_stop(struct http *h)
{
	if (!h)
		return;
	if (h->d)
		MHD_stop_daemon(h->d);
	free(h->cert);
	if (h->key) {
		sodium_memzero(h->key, h->keycap);
		sodium_free(h->key);
	}
	free(h);
}

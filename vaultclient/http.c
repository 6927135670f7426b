/*
 * http.c - libcurl transport to the vault (policy in http.h).
 *
 * The token is kept in sodium_malloc memory and handed to curl as a header
 * list node we own, so no copy of it is made by curl_slist_append; curl
 * still copies the header into its own request buffer, which it frees
 * without wiping: that copy is out of our hands.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <sodium.h>

#include "http.h"
#include "vfs_error.h"

struct http_client {
	char **urls;
	size_t n;
	size_t last;	/* index that answered last */
	char *ca_file;
	char *auth;	/* "Authorization: Bearer <token>", sodium_malloc */
	long connect_ms;
	long total_ms;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char buf[64];
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	/* curl gives IPv6 hosts in brackets */
	if (n >= 2 && n < sizeof(buf) + 2 && host[0] == '[' &&
	    host[n - 1] == ']') {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) == 1)
			return memcmp(&a6, &in6addr_loopback,
				      sizeof(a6)) == 0;
	}
	return 0;
}

int http_url_check(const char *url)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *part = NULL;
	int r = -EINVAL;

	if (!url || strlen(url) > HTTP_MAX_URL_LEN)
		return -EINVAL;
	for (const char *p = url; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return -EINVAL;
	u = curl_url();
	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	/* no credentials, query or fragment in a vault URL */
	if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK)
		goto out;
	if (strcasecmp(scheme, "https") == 0)
		r = 0;
	else if (strcasecmp(scheme, "http") == 0)
		r = host_is_loopback(host) ? 0 : -EPERM;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(part);
	curl_url_cleanup(u);
	return r;
}

void http_client_free(struct http_client *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		free(h->urls[i]);
	free(h->urls);
	free(h->ca_file);
	sodium_free(h->auth);
	free(h);
}

int http_client_new(const char *const *urls, size_t n, const char *ca_file,
		    struct http_client **ret)
{
	struct http_client *h;
	int r;

	if (!urls || n == 0 || n > HTTP_MAX_URLS)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		r = http_url_check(urls[i]);
		if (r < 0)
			return r;
	}
	pthread_once(&curl_once, curl_init);
	if (curl_init_result != CURLE_OK)
		return -EIO;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	r = -ENOMEM;
	h->urls = calloc(n, sizeof(*h->urls));
	if (!h->urls)
		goto out;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(urls[i]);

		h->urls[i] = strdup(urls[i]);
		if (!h->urls[i])
			goto out;
		h->n++;
		while (l > 0 && h->urls[i][l - 1] == '/')
			h->urls[i][--l] = '\0';
	}
	if (ca_file) {
		h->ca_file = strdup(ca_file);
		if (!h->ca_file)
			goto out;
	}
	h->connect_ms = HTTP_CONNECT_TIMEOUT_MS;
	h->total_ms = HTTP_TOTAL_TIMEOUT_MS;
	*ret = h;
	h = NULL; /* transferred */
	r = 0;
out:
	http_client_free(h);
	return r;
}

int http_set_token(struct http_client *h, const char *token)
{
	static const char pfx[] = "Authorization: Bearer ";
	size_t n;
	char *a;

	if (!token) {
		sodium_free(h->auth);
		h->auth = NULL;
		return 0;
	}
	n = strnlen(token, HTTP_MAX_TOKEN + 1);
	if (n == 0 || n > HTTP_MAX_TOKEN)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (token[i] < 0x21 || token[i] > 0x7e)
			return -EINVAL;
	a = sodium_malloc(sizeof(pfx) + n);
	if (!a)
		return -ENOMEM;
	memcpy(a, pfx, sizeof(pfx) - 1);
	memcpy(a + sizeof(pfx) - 1, token, n);
	a[sizeof(pfx) - 1 + n] = '\0';
	sodium_free(h->auth);
	h->auth = a;
	return 0;
}

void http_set_timeouts(struct http_client *h, long connect_ms, long total_ms)
{
	if (connect_ms > 0)
		h->connect_ms = connect_ms;
	if (total_ms > 0)
		h->total_ms = total_ms;
}

size_t http_last_url(const struct http_client *h)
{
	return h->last;
}

void http_reply_release(struct http_reply *r)
{
	if (!r)
		return;
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

struct sink {
	char *buf;
	size_t len;
	int too_big;
};

static size_t sink_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n;

	if (nmemb && size > SIZE_MAX / nmemb)
		return 0;
	n = size * nmemb;
	if (n > HTTP_MAX_BODY - s->len) {
		s->too_big = 1;
		return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return n;
}

#define SETOPT(e, o, v)                                                    \
	do {                                                               \
		if (curl_easy_setopt((e), (o), (v)) != CURLE_OK)           \
			goto out;                                          \
	} while (0)

/* One attempt against one URL. *ret_sent: whether any byte went out. */
static int try_one(struct http_client *h, const char *base, const char *path,
		   const char *body, size_t len, struct http_reply *ret,
		   int *ret_sent)
{
	struct curl_slist hct = { .data = (char *)"Content-Type: application/json" };
	struct curl_slist hacc = { .data = (char *)"Accept: application/json" };
	struct curl_slist hexp = { .data = (char *)"Expect:" };
	struct curl_slist hauth = { 0 };
	struct sink s = { 0 };
	CURL *e = NULL;
	CURLcode cr;
	char *url = NULL;
	size_t ul;
	long status = 0, reqsize = 0;
	int r = -ENOMEM;

	*ret_sent = 1;
	ul = strlen(base) + strlen(path) + 1;
	url = malloc(ul);
	s.buf = malloc(HTTP_MAX_BODY + 1);
	e = curl_easy_init();
	if (!url || !s.buf || !e)
		goto out;
	memcpy(url, base, strlen(base));
	memcpy(url + strlen(base), path, strlen(path) + 1);

	/* header list from nodes on our stack: no copies of the token */
	hct.next = &hacc;
	hacc.next = &hexp;
	if (h->auth) {
		hauth.data = h->auth;
		hexp.next = &hauth;
	}

	r = -EIO;
	SETOPT(e, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(e, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca_file)
		SETOPT(e, CURLOPT_CAINFO, h->ca_file);
	/* http:// is loopback only (checked): never through a proxy */
	if (strncasecmp(url, "http://", 7) == 0)
		SETOPT(e, CURLOPT_NOPROXY, "*");
	SETOPT(e, CURLOPT_NOSIGNAL, 1L);
	SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, h->connect_ms);
	SETOPT(e, CURLOPT_TIMEOUT_MS, h->total_ms);
	SETOPT(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTP_MAX_BODY);
	SETOPT(e, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	SETOPT(e, CURLOPT_HTTPHEADER, &hct);
	SETOPT(e, CURLOPT_WRITEFUNCTION, sink_write);
	SETOPT(e, CURLOPT_WRITEDATA, &s);
	if (body) {
		SETOPT(e, CURLOPT_POST, 1L);
		SETOPT(e, CURLOPT_POSTFIELDS, body);
		SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else {
		SETOPT(e, CURLOPT_HTTPGET, 1L);
	}

	cr = curl_easy_perform(e);
	if (curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &reqsize) != CURLE_OK)
		reqsize = 1;
	if (cr == CURLE_WRITE_ERROR && s.too_big) {
		r = -VFS_E_PROTOCOL;
		goto out;
	}
	if (cr == CURLE_FILESIZE_EXCEEDED) {
		r = -VFS_E_PROTOCOL;
		goto out;
	}
	if (cr != CURLE_OK) {
		*ret_sent = reqsize > 0;
		r = -VFS_E_VAULT;
		goto out;
	}
	if (curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
	    status < 100 || status > 599) {
		r = -VFS_E_PROTOCOL;
		goto out;
	}
	s.buf[s.len] = '\0';
	ret->status = status;
	ret->body = s.buf;
	ret->len = s.len;
	s.buf = NULL; /* transferred */
	r = 0;
out:
	if (e)
		curl_easy_cleanup(e);
	free(s.buf);
	free(url);
	return r;
}

int http_request(struct http_client *h, const char *path, const char *body,
		 size_t len, struct http_reply *ret)
{
	int r = -VFS_E_VAULT, sent;

	if (!path || path[0] != '/' || (body && len > HTTP_MAX_BODY))
		return -EINVAL;
	for (size_t i = 0; i < h->n; i++) {
		size_t idx = (h->last + i) % h->n;

		r = try_one(h, h->urls[idx], path, body, len, ret, &sent);
		if (r == 0 && ret->status == 503 && i + 1 < h->n) {
			/*
			 * That replica cannot reach the vault's store
			 * (docs/operations.md): it evaluated nothing, so
			 * another replica may answer. At worst an attempt
			 * whose commit was uncertain counts twice.
			 */
			http_reply_release(ret);
			r = -VFS_E_VAULT;
			continue;
		}
		if (r == 0) {
			h->last = idx;
			return 0;
		}
		if (r != -VFS_E_VAULT || sent)
			return r;
	}
	return r;
}

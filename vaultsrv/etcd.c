/*
 * etcd.c - client of etcd's v3 JSON gateway with libcurl (see etcd.h).
 *
 * Requests are built with json.h (base64 keys and values, int64 fields
 * as decimal strings, as the gateway wants them); answers are parsed
 * strictly: every field checked for type and bounds, sizes capped before
 * anything is allocated. Buffers that held values are wiped: values carry
 * wrapped OPRF keys and encrypted K.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <sodium.h>

#include "etcd.h"
#include "json.h"

#define ETCD_POOL_MAX 16

struct etcd {
	char *urls[ETCD_ENDPOINTS_MAX];
	size_t n;
	size_t preferred; /* under lock */
	pthread_mutex_t lock;
	CURL *pool[ETCD_POOL_MAX]; /* idle handles (keep connections) */
	size_t npool;
	char *cacert, *cert, *key;
	long timeout_ms;
};

static int etcd_why(char *why, size_t whylen, const char *msg, const char *arg)
{
	if (why && whylen)
		snprintf(why, whylen, "%s%s%.64s%s", msg, arg ? " '" : "",
			 arg ? arg : "", arg ? "'" : "");
	return -EINVAL;
}

static int etcd_host_loopback(const char *host)
{
	struct in_addr a4;

	if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
		return 1;
	return inet_pton(AF_INET, host, &a4) == 1 &&
	       (ntohl(a4.s_addr) >> 24) == 127;
}

/* http(s)://host:port, nothing after; http only to loopback. */
static int etcd_url_check(const char *u, size_t len, char *why, size_t whylen)
{
	char host[ETCD_URL_MAX];
	const char *h, *colon;
	size_t hl, plen;
	unsigned long port = 0;
	int tls;

	if (len >= ETCD_URL_MAX)
		return etcd_why(why, whylen, "endpoint too long", NULL);
	if (len > 8 && strncasecmp(u, "https://", 8) == 0) {
		tls = 1;
		h = u + 8;
	} else if (len > 7 && strncasecmp(u, "http://", 7) == 0) {
		tls = 0;
		h = u + 7;
	} else {
		return etcd_why(why, whylen,
				"endpoint must start with http:// or https://",
				NULL);
	}
	colon = NULL;
	for (const char *p = u + len; p > h; p--)
		if (p[-1] == ':') {
			colon = p - 1;
			break;
		}
	if (!colon || colon == h)
		return etcd_why(why, whylen, "endpoint needs host:port", NULL);
	hl = (size_t)(colon - h);
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (host[0] == '[') {
		if (hl < 3 || host[hl - 1] != ']')
			return etcd_why(why, whylen, "bad IPv6 host", NULL);
		for (size_t i = 1; i + 1 < hl; i++)
			if (!strchr("0123456789abcdefABCDEF:.", host[i]))
				return etcd_why(why, whylen, "bad IPv6 host",
						NULL);
	} else {
		for (size_t i = 0; i < hl; i++)
			if (!strchr("abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-",
				    host[i]))
				return etcd_why(why, whylen,
						"bad character in endpoint "
						"host",
						NULL);
	}
	plen = len - hl - (size_t)(h - u) - 1;
	if (plen == 0 || plen > 5)
		return etcd_why(why, whylen, "bad endpoint port", NULL);
	for (size_t i = 0; i < plen; i++) {
		char ch = colon[1 + i];

		if (ch < '0' || ch > '9')
			return etcd_why(why, whylen,
					"endpoint must be scheme://host:port "
					"without a path",
					NULL);
		port = port * 10 + (unsigned long)(ch - '0');
	}
	if (port == 0 || port > 65535)
		return etcd_why(why, whylen, "bad endpoint port", NULL);
	if (!tls && !etcd_host_loopback(host))
		return etcd_why(why, whylen,
				"plain http to etcd only on loopback; use "
				"https:// for",
				host);
	return 0;
}

int etcd_new(const struct etcd_conf *c, struct etcd **ret, char *why,
	     size_t whylen)
{
	struct etcd *e;
	const char *p;
	int r = -ENOMEM;

	if (!c->endpoints || !*c->endpoints)
		return etcd_why(why, whylen, "no etcd endpoint", NULL);
	if (c->timeout_ms < 100 || c->timeout_ms > 600000)
		return etcd_why(why, whylen, "timeout out of range", NULL);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	pthread_mutex_init(&e->lock, NULL);
	e->timeout_ms = c->timeout_ms;
	p = c->endpoints;
	for (;;) {
		size_t len = strcspn(p, ",");

		if (e->n == ETCD_ENDPOINTS_MAX) {
			r = etcd_why(why, whylen, "more than 16 endpoints",
				     NULL);
			goto out;
		}
		r = etcd_url_check(p, len, why, whylen);
		if (r < 0)
			goto out;
		e->urls[e->n] = strndup(p, len);
		if (!e->urls[e->n]) {
			r = -ENOMEM;
			goto out;
		}
		e->n++;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	r = -ENOMEM;
	if ((c->cacert && !(e->cacert = strdup(c->cacert))) ||
	    (c->cert && !(e->cert = strdup(c->cert))) ||
	    (c->key && !(e->key = strdup(c->key))))
		goto out;
	if (!e->cert != !e->key) {
		r = etcd_why(why, whylen, "cert and key go together", NULL);
		goto out;
	}
	*ret = e;
	e = NULL; /* transferred */
	r = 0;
out:
	etcd_free(e);
	return r;
}

void etcd_free(struct etcd *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->urls[i]);
	for (size_t i = 0; i < e->npool; i++)
		curl_easy_cleanup(e->pool[i]);
	free(e->cacert);
	free(e->cert);
	free(e->key);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

/* ---- requests ---- */

static void etcd_out_key(struct json_out *w, const char *name, const char *k)
{
	json_out_b64(w, name, (const uint8_t *)k, strlen(k));
}

/* range_end of a prefix: the prefix with its last byte incremented. */
static int etcd_out_prefix_end(struct json_out *w, const char *k)
{
	size_t n = strlen(k);
	uint8_t end[ETCD_KEY_MAX];

	if (n == 0 || n > sizeof(end) || (uint8_t)k[n - 1] == 0xff)
		return -EINVAL;
	memcpy(end, k, n);
	end[n - 1]++;
	json_out_b64(w, "range_end", end, n);
	return 0;
}

static int etcd_out_ops(struct json_out *w, const char *name,
			const struct etcd_op *ops, size_t n)
{
	int r = 0;

	json_out_arr_begin(w, name);
	for (size_t i = 0; r == 0 && i < n; i++) {
		const struct etcd_op *o = &ops[i];

		if (!o->key || strlen(o->key) > ETCD_KEY_MAX)
			return -EINVAL;
		json_out_obj_begin(w, NULL);
		switch (o->type) {
		case ETCD_OP_RANGE:
			json_out_obj_begin(w, "request_range");
			etcd_out_key(w, "key", o->key);
			if (o->prefix)
				r = etcd_out_prefix_end(w, o->key);
			else if (o->end_prefix)
				r = etcd_out_prefix_end(w, o->end_prefix);
			if (o->limit) {
				char v[16];

				snprintf(v, sizeof(v), "%" PRIu32, o->limit);
				json_out_str(w, "limit", v);
			}
			if (o->newest_first) {
				json_out_str(w, "sort_order", "DESCEND");
				json_out_str(w, "sort_target", "CREATE");
			}
			break;
		case ETCD_OP_PUT:
			if (o->value_len > ETCD_VALUE_MAX)
				return -EINVAL;
			json_out_obj_begin(w, "request_put");
			etcd_out_key(w, "key", o->key);
			json_out_b64(w, "value", o->value, o->value_len);
			break;
		case ETCD_OP_DELETE:
			json_out_obj_begin(w, "request_delete_range");
			etcd_out_key(w, "key", o->key);
			if (o->prefix)
				r = etcd_out_prefix_end(w, o->key);
			break;
		default:
			return -EINVAL;
		}
		json_out_end(w);
		json_out_end(w);
	}
	json_out_end(w);
	return r;
}

static char *etcd_txn_body(const struct etcd_cmp *cmp, size_t ncmp,
			   const struct etcd_op *then, size_t nthen,
			   const struct etcd_op *els, size_t nels)
{
	static const char *const res[] = {"EQUAL", "LESS", "GREATER"};
	struct json_out *w = json_out_new();
	char *s = NULL;
	int r = 0;

	if (!w)
		return NULL;
	if (ncmp) {
		json_out_arr_begin(w, "compare");
		for (size_t i = 0; r == 0 && i < ncmp; i++) {
			char v[24];

			if (!cmp[i].key || cmp[i].result < 0 ||
			    cmp[i].result > 2 || cmp[i].mod_revision < 0) {
				r = -EINVAL;
				break;
			}
			json_out_obj_begin(w, NULL);
			etcd_out_key(w, "key", cmp[i].key);
			if (cmp[i].prefix)
				r = etcd_out_prefix_end(w, cmp[i].key);
			json_out_str(w, "target", "MOD");
			json_out_str(w, "result", res[cmp[i].result]);
			snprintf(v, sizeof(v), "%" PRId64, cmp[i].mod_revision);
			json_out_str(w, "mod_revision", v);
			json_out_end(w);
		}
		json_out_end(w);
	}
	if (r == 0 && nthen)
		r = etcd_out_ops(w, "success", then, nthen);
	if (r == 0 && nels)
		r = etcd_out_ops(w, "failure", els, nels);
	if (r == 0)
		s = json_out_finish(w);
	json_out_free(w);
	return s;
}

/* ---- transport ---- */

struct etcd_sink {
	char *buf;
	size_t len, cap;
	int too_big;
};

static size_t etcd_sink_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct etcd_sink *s = arg;
	size_t n = size * nmemb;

	if (n > ETCD_RESPONSE_MAX - s->len) {
		s->too_big = 1;
		return 0;
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *nb;

		while (cap < s->len + n + 1)
			cap *= 2;
		nb = malloc(cap);
		if (!nb)
			return 0;
		if (s->buf) {
			memcpy(nb, s->buf, s->len);
			sodium_memzero(s->buf, s->cap);
			free(s->buf);
		}
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

static void etcd_sink_release(struct etcd_sink *s)
{
	if (s->buf) {
		sodium_memzero(s->buf, s->cap);
		free(s->buf);
	}
	memset(s, 0, sizeof(*s));
}

static CURL *etcd_handle_get(struct etcd *e)
{
	CURL *h = NULL;

	pthread_mutex_lock(&e->lock);
	if (e->npool)
		h = e->pool[--e->npool];
	pthread_mutex_unlock(&e->lock);
	return h ? h : curl_easy_init();
}

static void etcd_handle_put(struct etcd *e, CURL *h)
{
	pthread_mutex_lock(&e->lock);
	if (e->npool < ETCD_POOL_MAX) {
		e->pool[e->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&e->lock);
	if (h)
		curl_easy_cleanup(h);
}

#define ETCD_SETOPT(h, o, v)                                                   \
	do {                                                                   \
		if (curl_easy_setopt((h), (o), (v)) != CURLE_OK)               \
			goto out;                                              \
	} while (0)

enum etcd_outcome {
	ETCD_DONE = 0,	    /* an HTTP answer in s */
	ETCD_NOT_SENT = 1,  /* nothing went out: another member may do */
	ETCD_NO_ANSWER = 2, /* sent, no answer: outcome unknown */
};

/* One POST to one endpoint. Returns enum etcd_outcome or -errno. */
static int etcd_post(struct etcd *e, CURL *h, const char *base,
		     const char *path, const char *body, struct etcd_sink *s,
		     long *ret_status)
{
	struct curl_slist hct = {.data = (char *)"Content-Type: "
						 "application/json"};
	struct curl_slist hexp = {.data = (char *)"Expect:"};
	char url[ETCD_URL_MAX + 32];
	long reqsize = 0, status = 0;
	CURLcode cr;
	int r = -EIO;

	hct.next = &hexp;
	snprintf(url, sizeof(url), "%s%s", base, path);
	curl_easy_reset(h);
	ETCD_SETOPT(h, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	ETCD_SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	ETCD_SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
	ETCD_SETOPT(h, CURLOPT_NOPROXY, "*");
	ETCD_SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
	ETCD_SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (e->cacert)
		ETCD_SETOPT(h, CURLOPT_CAINFO, e->cacert);
	if (e->cert) {
		ETCD_SETOPT(h, CURLOPT_SSLCERT, e->cert);
		ETCD_SETOPT(h, CURLOPT_SSLKEY, e->key);
	}
	ETCD_SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	ETCD_SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS,
		    e->timeout_ms / 3 ? e->timeout_ms / 3 : 1L);
	ETCD_SETOPT(h, CURLOPT_TIMEOUT_MS, e->timeout_ms);
	ETCD_SETOPT(h, CURLOPT_HTTPHEADER, &hct);
	ETCD_SETOPT(h, CURLOPT_WRITEFUNCTION, etcd_sink_write);
	ETCD_SETOPT(h, CURLOPT_WRITEDATA, s);
	ETCD_SETOPT(h, CURLOPT_POST, 1L);
	ETCD_SETOPT(h, CURLOPT_POSTFIELDS, body);
	ETCD_SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));

	cr = curl_easy_perform(h);
	if (curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &reqsize) != CURLE_OK)
		reqsize = 1;
	if (cr != CURLE_OK) {
		if (s->too_big)
			r = -EIO;
		else
			r = reqsize > 0 ? ETCD_NO_ANSWER : ETCD_NOT_SENT;
		goto out;
	}
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		goto out;
	*ret_status = status;
	r = ETCD_DONE;
out:
	/* the handle must not keep pointers into this frame */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	return r;
}

/*
 * The gRPC status of an error answer: 3 (InvalidArgument) and 11
 * (OutOfRange) say the request itself is wrong; anything else (no
 * leader, timeout, leader changed...) is the cluster's state.
 */
static int etcd_error_code(const char *body, size_t len)
{
	struct json_obj *o = NULL;
	uint64_t code = 2;

	if (len && json_parse(body, len, &o) == 0) {
		if (json_get_u64(o, "code", &code) < 0)
			code = 2;
		json_obj_free(o);
	}
	return (int)(code > 16 ? 2 : code);
}

/* POSTs body to path, failing over; idempotent: also retried after a
 * send. On success s holds a 200 answer. */
static int etcd_call(struct etcd *e, const char *path, const char *body,
		     int idempotent, struct etcd_sink *s)
{
	CURL *h;
	size_t start;
	int r = -EAGAIN;

	h = etcd_handle_get(e);
	if (!h)
		return -ENOMEM;
	pthread_mutex_lock(&e->lock);
	start = e->preferred;
	pthread_mutex_unlock(&e->lock);
	for (size_t i = 0; i < e->n; i++) {
		size_t idx = (start + i) % e->n;
		long status = 0;
		int o;

		etcd_sink_release(s);
		o = etcd_post(e, h, e->urls[idx], path, body, s, &status);
		if (o < 0) {
			r = o;
			break;
		}
		if (o == ETCD_DONE && status == 200) {
			pthread_mutex_lock(&e->lock);
			e->preferred = idx;
			pthread_mutex_unlock(&e->lock);
			r = 0;
			break;
		}
		if (o == ETCD_DONE) {
			int code = etcd_error_code(s->buf, s->len);

			if (code == 3 || code == 11) {
				r = code == 3 ? -EINVAL : -ERANGE;
				break;
			}
		}
		/* this member failed us: start elsewhere next time */
		pthread_mutex_lock(&e->lock);
		if (e->preferred == idx)
			e->preferred = (idx + 1) % e->n;
		pthread_mutex_unlock(&e->lock);
		if (o != ETCD_NOT_SENT && !idempotent) {
			r = -EAGAIN; /* it may have committed */
			break;
		}
	}
	etcd_handle_put(e, h);
	if (r < 0)
		etcd_sink_release(s);
	return r;
}

static int etcd_read_only(const struct etcd_op *then, size_t nthen, size_t ncmp,
			  size_t nels)
{
	if (ncmp || nels)
		return 0;
	for (size_t i = 0; i < nthen; i++)
		if (then[i].type != ETCD_OP_RANGE)
			return 0;
	return 1;
}

int etcd_txn(struct etcd *e, const struct etcd_cmp *cmp, size_t ncmp,
	     const struct etcd_op *then, size_t nthen,
	     const struct etcd_op *els, size_t nels,
	     struct etcd_txn_result *ret)
{
	struct etcd_sink s = {0};
	char *body;
	size_t blen;
	int r;

	if (nthen > ETCD_OPS_MAX || nels > ETCD_OPS_MAX || ncmp > ETCD_OPS_MAX)
		return -EINVAL;
	body = etcd_txn_body(cmp, ncmp, then, nthen, els, nels);
	if (!body)
		return -EINVAL;
	blen = strlen(body);
	r = etcd_call(e, "/v3/kv/txn", body,
		      etcd_read_only(then, nthen, ncmp, nels), &s);
	sodium_memzero(body, blen);
	free(body);
	if (r == -ERANGE)
		r = -EINVAL;
	if (r == 0)
		r = etcd_parse_txn(s.buf, s.len, ret);
	etcd_sink_release(&s);
	return r;
}

int etcd_compact(struct etcd *e, int64_t revision)
{
	struct etcd_sink s = {0};
	char body[64];
	int r;

	if (revision <= 0)
		return -EINVAL;
	snprintf(body, sizeof(body), "{\"revision\":\"%" PRId64 "\"}",
		 revision);
	r = etcd_call(e, "/v3/kv/compaction", body, 1, &s);
	etcd_sink_release(&s);
	/* OutOfRange: already compacted there (another replica did) */
	return r == -ERANGE ? 0 : r;
}

/*
 * config.c - strict parser of the vaultsrv configuration file.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "epoch.h"
#include "vs_config.h"

void config_defaults(struct vs_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->pkcs11_module, sizeof(c->pkcs11_module), "%s",
		 DEFAULT_PKCS11_MODULE);
	c->max_attempts = 10;
	c->log_level = LOG_LVL_INFO;
	c->threads = 4;
	c->connection_limit = 256;
	c->connection_timeout = 10;
}

static int config_fail(char *why, size_t whylen, unsigned line, const char *fmt,
		       ...) __attribute__((format(printf, 4, 5)));

static int config_fail(char *why, size_t whylen, unsigned line, const char *fmt,
		       ...)
{
	va_list ap;
	int n = 0;

	if (why && whylen) {
		if (line)
			n = snprintf(why, whylen, "line %u: ", line);
		if (n < 0 || (size_t)n >= whylen)
			n = 0;
		va_start(ap, fmt);
		vsnprintf(why + n, whylen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int config_uint(const char *v, uint32_t lo, uint32_t hi, uint32_t *ret)
{
	unsigned long long x = 0;

	if (!*v || strlen(v) > 10)
		return -EINVAL;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		x = x * 10 + (unsigned)(*p - '0');
	}
	if (x < lo || x > hi)
		return -EINVAL;
	*ret = (uint32_t)x;
	return 0;
}

static int config_path(const char *v, char *out, size_t cap)
{
	size_t n = strlen(v);

	if (n == 0 || n >= cap || v[0] != '/')
		return -EINVAL;
	memcpy(out, v, n + 1);
	return 0;
}

/* host:port, [v6]:port; loopback is 127.0.0.0/8, ::1 or localhost. */
static int config_listen(struct vs_config *c, const char *v)
{
	char host[256];
	const char *colon, *h;
	size_t hl;
	uint32_t port;
	struct in_addr a4;
	struct in6_addr a6;

	if (v[0] == '[') {
		const char *end = strchr(v, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		h = v + 1;
		hl = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(v, ':');
		if (!colon)
			return -EINVAL;
		h = v;
		hl = (size_t)(colon - v);
	}
	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (config_uint(colon + 1, 1, 65535, &port) < 0)
		return -EINVAL;
	if (strcmp(host, "localhost") == 0) {
		snprintf(host, sizeof(host), "127.0.0.1");
		c->listen_loopback = 1;
	} else if (inet_pton(AF_INET, host, &a4) == 1) {
		c->listen_loopback = (ntohl(a4.s_addr) >> 24) == 127;
	} else if (v[0] == '[' && inet_pton(AF_INET6, host, &a6) == 1) {
		c->listen_loopback = IN6_IS_ADDR_LOOPBACK(&a6);
	} else {
		return -EINVAL;
	}
	memcpy(c->listen_host, host, strlen(host) + 1);
	c->listen_port = (uint16_t)port;
	return 0;
}

/*
 * store = sqlite:PATH | etcd:URL[,URL...][?OPTIONS]. The etcd spec is
 * checked in full when the store opens (store_etcd.c); here only its
 * form, so that a typo names its line.
 */
static int config_store(struct vs_config *c, const char *v)
{
	size_t n = strlen(v);

	if (n > CONFIG_STORE_MAX)
		return -EINVAL;
	if (strncmp(v, "sqlite:", 7) == 0) {
		if (config_path(v + 7, c->db, sizeof(c->db)) < 0)
			return -EINVAL;
	} else if (strncmp(v, "etcd:http://", 12) != 0 &&
		   strncmp(v, "etcd:https://", 13) != 0) {
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] <= ' ' || v[i] == 0x7f)
			return -EINVAL;
	memcpy(c->store, v, n + 1);
	return 0;
}

enum {
	K_LISTEN,
	K_MODULE,
	K_LABEL,
	K_PIN,
	K_DB,
	K_MAX,
	K_CERT,
	K_KEY,
	K_RATE,
	K_LOG,
	K_THREADS,
	K_CONNS,
	K_TIMEOUT,
	K_EVLOG,
	K_STORE,
	K_ROTATE,
	K_COUNT
};

static const char *const config_keys[K_COUNT] = {
    "listen",
    "pkcs11_module",
    "token_label",
    "pin_file",
    "db",
    "max_attempts",
    "tls_cert",
    "tls_key",
    "rate_limit_per_minute",
    "log_level",
    "threads",
    "connection_limit",
    "connection_timeout",
    "evaluation_log",
    "store",
    "rotate_every",
};

static int config_set(struct vs_config *c, int k, const char *v)
{
	switch (k) {
	case K_LISTEN:
		return config_listen(c, v);
	case K_MODULE:
		return config_path(v, c->pkcs11_module,
				   sizeof(c->pkcs11_module));
	case K_LABEL:
		if (!*v || strlen(v) > 32)
			return -EINVAL;
		memcpy(c->token_label, v, strlen(v) + 1);
		return 0;
	case K_PIN:
		return config_path(v, c->pin_file, sizeof(c->pin_file));
	case K_DB:
		return config_path(v, c->db, sizeof(c->db));
	case K_MAX:
		return config_uint(v, 1, 1000, &c->max_attempts);
	case K_CERT:
		return config_path(v, c->tls_cert, sizeof(c->tls_cert));
	case K_KEY:
		return config_path(v, c->tls_key, sizeof(c->tls_key));
	case K_RATE:
		return config_uint(v, 0, 1000000, &c->rate_limit_per_minute);
	case K_LOG:
		return log_level_parse(v, &c->log_level);
	case K_THREADS:
		return config_uint(v, 1, 64, &c->threads);
	case K_CONNS:
		return config_uint(v, 1, 100000, &c->connection_limit);
	case K_TIMEOUT:
		return config_uint(v, 1, 3600, &c->connection_timeout);
	case K_EVLOG:
		return config_path(v, c->evaluation_log,
				   sizeof(c->evaluation_log));
	case K_STORE:
		return config_store(c, v);
	case K_ROTATE:
		/* N[s|m|h|d|w]; 0 = off (docs/vaultsrv.conf.5) */
		return epoch_duration_parse(v, &c->rotate_every);
	}
	return -EINVAL;
}

static int config_is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

int config_parse(struct vs_config *c, const char *text, size_t len, char *why,
		 size_t whylen)
{
	char line[CONFIG_PATH_MAX + 64];
	int seen[K_COUNT] = {0};
	unsigned lineno = 0;
	size_t pos = 0;

	while (pos < len) {
		size_t end = pos, n;
		char *key, *val, *eq, *p;
		int k;

		while (end < len && text[end] != '\n')
			end++;
		n = end - pos;
		lineno++;
		if (n >= sizeof(line))
			return config_fail(why, whylen, lineno,
					   "line too long");
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos = end + 1;
		if (memchr(line, '\0', n))
			return config_fail(why, whylen, lineno, "NUL byte");
		if (n && line[n - 1] == '\r')
			line[--n] = '\0';
		key = line;
		while (config_is_space(*key))
			key++;
		if (*key == '\0' || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq)
			return config_fail(why, whylen, lineno,
					   "expected 'key = value'");
		val = eq + 1;
		p = eq;
		while (p > key && config_is_space(p[-1]))
			p--;
		*p = '\0';
		while (config_is_space(*val))
			val++;
		p = val + strlen(val);
		while (p > val && config_is_space(p[-1]))
			p--;
		*p = '\0';
		for (k = 0; k < K_COUNT; k++)
			if (strcmp(key, config_keys[k]) == 0)
				break;
		if (k == K_COUNT)
			return config_fail(why, whylen, lineno,
					   "unknown key '%.64s'", key);
		if (seen[k])
			return config_fail(why, whylen, lineno,
					   "'%s' given twice", config_keys[k]);
		seen[k] = 1;
		if (*val == '\0')
			return config_fail(why, whylen, lineno,
					   "'%s' has no value", config_keys[k]);
		if (config_set(c, k, val) < 0)
			return config_fail(why, whylen, lineno,
					   "bad value for '%s'",
					   config_keys[k]);
	}
	if (!seen[K_LISTEN])
		return config_fail(why, whylen, 0, "'listen' is required");
	if (!seen[K_LABEL])
		return config_fail(why, whylen, 0, "'token_label' is required");
	if (!seen[K_PIN])
		return config_fail(why, whylen, 0, "'pin_file' is required");
	if (seen[K_DB] && seen[K_STORE])
		return config_fail(why, whylen, 0,
				   "'db' and 'store' exclude each other "
				   "('db = PATH' is 'store = sqlite:PATH')");
	if (!seen[K_DB] && !seen[K_STORE])
		return config_fail(why, whylen, 0,
				   "'store' (or 'db') is required");
	if (seen[K_DB])
		snprintf(c->store, sizeof(c->store), "sqlite:%s", c->db);
	if (seen[K_CERT] != seen[K_KEY])
		return config_fail(why, whylen, 0,
				   "'tls_cert' and 'tls_key' go together");
	if (!seen[K_CERT] && !c->listen_loopback)
		return config_fail(why, whylen, 0,
				   "refusing plain HTTP on a non-loopback "
				   "address; set tls_cert and tls_key");
	return 0;
}

int config_load(struct vs_config *c, const char *path, char *why, size_t whylen)
{
	char *buf;
	size_t len = 0;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		config_fail(why, whylen, 0, "cannot open: %s", strerror(-r));
		return r;
	}
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_FILE_MAX)
			break;
	}
	close(fd);
	if (n < 0) {
		r = config_fail(why, whylen, 0, "read error");
		goto out;
	}
	if (len > CONFIG_FILE_MAX) {
		r = config_fail(why, whylen, 0, "file larger than %d bytes",
				CONFIG_FILE_MAX);
		goto out;
	}
	r = config_parse(c, buf, len, why, whylen);
out:
	free(buf);
	return r;
}

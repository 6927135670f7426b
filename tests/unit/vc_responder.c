/*
 * vc_responder.c - tiny HTTP responder for the vaultclient unit tests.
 * One connection at a time, Connection: close, Content-Length bodies.
 * A connection that starts with a TLS handshake byte is closed at once.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vc_responder.h"

static int listen_any(int *ret_port, int do_listen)
{
	struct sockaddr_in sa = { 0 };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0 ||
	    (do_listen && listen(fd, 16) < 0)) {
		close(fd);
		return -1;
	}
	*ret_port = ntohs(sa.sin_port);
	return fd;
}

int responder_dead_port(void)
{
	int port = 0, fd = listen_any(&port, 0);

	if (fd >= 0)
		close(fd); /* bound, never listened: refused from now on */
	return port;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void serve(struct responder *s, int c)
{
	size_t cap = RESP_MAX_BODY + 8192, len = 0, hlen, clen = 0;
	char *buf = malloc(cap + 1), *hend = NULL, *line, *body = NULL;
	char head[256], path[256] = "";
	int status = 500;
	size_t blen = 0;

	if (!buf)
		return;
	while (!hend) {
		ssize_t r = read(c, buf + len, cap - len);

		if (r <= 0)
			goto out;
		len += (size_t)r;
		buf[len] = '\0';
		if ((unsigned char)buf[0] == 0x16)
			goto out; /* TLS ClientHello: not us */
		hend = strstr(buf, "\r\n\r\n");
		if (!hend && len == cap)
			goto out;
	}
	hlen = (size_t)(hend - buf) + 4;
	sscanf(buf, "%*s %255s", path);
	pthread_mutex_lock(&s->lock);
	s->auth[0] = '\0';
	for (line = strstr(buf, "\r\n"); line && line < hend;
	     line = strstr(line + 2, "\r\n")) {
		if (strncasecmp(line + 2, "content-length:", 15) == 0)
			clen = strtoul(line + 17, NULL, 10);
		if (strncasecmp(line + 2, "authorization:", 14) == 0)
			sscanf(line + 16, " %1023[^\r]", s->auth);
	}
	pthread_mutex_unlock(&s->lock);
	if (clen > RESP_MAX_BODY)
		goto out;
	while (len < hlen + clen) {
		ssize_t r = read(c, buf + len, cap - len);

		if (r <= 0)
			goto out;
		len += (size_t)r;
	}
	buf[hlen + clen] = '\0';
	pthread_mutex_lock(&s->lock);
	s->nreq++;
	snprintf(s->path, sizeof(s->path), "%s", path);
	free(s->body);
	s->body = strndup(buf + hlen, clen);
	s->body_len = clen;
	pthread_mutex_unlock(&s->lock);

	s->fn(s, path, buf + hlen, clen, &status, &body, &blen);
	snprintf(head, sizeof(head),
		 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		 status, blen);
	write_all(c, head, strlen(head));
	if (body)
		write_all(c, body, blen);
out:
	free(body);
	free(buf);
}

static void *loop(void *arg)
{
	struct responder *s = arg;

	while (!s->stop) {
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		int c;

		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		serve(s, c);
		shutdown(c, SHUT_RDWR);
		close(c);
	}
	return NULL;
}

struct responder *responder_start(responder_fn fn, void *arg)
{
	struct responder *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->fn = fn;
	s->arg = arg;
	pthread_mutex_init(&s->lock, NULL);
	s->fd = listen_any(&s->port, 1);
	if (s->fd < 0) {
		free(s);
		return NULL;
	}
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
	if (pthread_create(&s->th, NULL, loop, s) != 0) {
		close(s->fd);
		free(s);
		return NULL;
	}
	return s;
}

void responder_stop(struct responder *s)
{
	if (!s)
		return;
	s->stop = 1;
	pthread_join(s->th, NULL);
	close(s->fd);
	pthread_mutex_destroy(&s->lock);
	free(s->body);
	free(s);
}

void responder_canned(struct responder *s, const char *path, const char *body,
		      size_t len, int *status, char **ret_body, size_t *ret_len)
{
	const struct canned *c = s->arg;
	size_t n = c->len ? c->len : strlen(c->body);

	*status = c->status;
	*ret_body = malloc(n + 1);
	if (!*ret_body)
		return;
	memcpy(*ret_body, c->body, n);
	*ret_len = n;
}

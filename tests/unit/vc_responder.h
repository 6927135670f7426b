/*
 * vc_responder.h - a tiny HTTP/1.1 responder on 127.0.0.1 for the
 * vaultclient tests: a thread that answers each request through a
 * handler (canned, hostile or a fake vault) and records what it got.
 */
#ifndef VC_RESPONDER_H
#define VC_RESPONDER_H

#include <pthread.h>
#include <stddef.h>

#define RESP_MAX_BODY (256 * 1024)

struct responder;

/* Handler: fills *status and *body (malloc'd, taken over; NULL = empty). */
typedef void (*responder_fn)(struct responder *s, const char *path,
			     const char *body, size_t len, int *status,
			     char **ret_body, size_t *ret_len);

struct responder {
	int fd;
	int port;
	pthread_t th;
	volatile int stop;
	pthread_mutex_t lock;
	responder_fn fn;
	void *arg;
	/* the last request */
	int nreq;
	char path[256];
	char auth[1024];
	char *body;
	size_t body_len;
	char url[64];
};

/* Starts a responder on a free port of 127.0.0.1 with handler fn. */
struct responder *responder_start(responder_fn fn, void *arg);
void responder_stop(struct responder *s);
/* A port on 127.0.0.1 where nothing listens (connection refused). */
int responder_dead_port(void);
/* A handler answering a fixed status and body for every request. */
struct canned {
	int status;
	const char *body;
	size_t len; /* 0: strlen(body) */
};
void responder_canned(struct responder *s, const char *path, const char *body,
		      size_t len, int *status, char **ret_body,
		      size_t *ret_len);

#endif

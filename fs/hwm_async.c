/*
 * hwm_async.c - the high-water mark writer thread (hwm_async.h).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hwm_async.h"
#include "store.h"

struct hwm_async {
	pthread_mutex_t lock;
	pthread_cond_t work; /* a post or stop, for the writer */
	pthread_cond_t done; /* an attempt ended, for flushers */
	pthread_t thread;
	char *state_dir;
	uint8_t store_id[STORE_ID_BYTES];
	struct hwm want;      /* newest posted */
	uint64_t written;     /* generation known durable */
	uint64_t attempts;    /* writes tried, for flushers */
	int err;	      /* result of the last attempt */
	int stop;
};

static void *hwma_main(void *p)
{
	struct hwm_async *a = p;
	struct timespec ts;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		struct hwm h;
		int r;

		while (!a->stop && a->want.gen <= a->written)
			pthread_cond_wait(&a->work, &a->lock);
		if (a->want.gen <= a->written)
			break; /* stopping, nothing left */
		h = a->want;
		pthread_mutex_unlock(&a->lock);
		r = hwm_write(a->state_dir, a->store_id, &h);
		pthread_mutex_lock(&a->lock);
		a->attempts++;
		a->err = r;
		if (r == 0 && h.gen > a->written)
			a->written = h.gen;
		pthread_cond_broadcast(&a->done);
		if (r < 0) {
			if (a->stop)
				break;
			/* Retry in about a second, not in a busy loop. */
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&a->work, &a->lock, &ts);
		}
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

int hwma_new(const char *state_dir, const uint8_t *store_id,
	     struct hwm_async **ret)
{
	struct hwm_async *a;
	pthread_condattr_t ca;
	sigset_t all, old;
	int r;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->state_dir = strdup(state_dir);
	if (!a->state_dir) {
		free(a);
		return -ENOMEM;
	}
	memcpy(a->store_id, store_id, STORE_ID_BYTES);
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->work, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&a->done, NULL);
	/* Signals stay with the threads that handle them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = -pthread_create(&a->thread, NULL, hwma_main, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		pthread_cond_destroy(&a->done);
		pthread_cond_destroy(&a->work);
		pthread_mutex_destroy(&a->lock);
		free(a->state_dir);
		free(a);
		return r;
	}
	*ret = a;
	return 0;
}

int hwma_post(struct hwm_async *a, const struct hwm *h)
{
	int r;

	pthread_mutex_lock(&a->lock);
	if (h->gen > a->want.gen) {
		a->want = *h;
		pthread_cond_signal(&a->work);
	}
	r = a->err;
	pthread_mutex_unlock(&a->lock);
	return r;
}

int hwma_flush(struct hwm_async *a)
{
	uint64_t first;
	int r;

	pthread_mutex_lock(&a->lock);
	first = a->attempts;
	/* Until what was posted is durable, or two attempts failed since
	 * the call (the one running may have started before the post). */
	while (a->want.gen > a->written && a->attempts < first + 2) {
		pthread_cond_signal(&a->work);
		pthread_cond_wait(&a->done, &a->lock);
	}
	r = a->want.gen > a->written ? (a->err < 0 ? a->err : -EIO) : 0;
	pthread_mutex_unlock(&a->lock);
	return r;
}

int hwma_free(struct hwm_async *a)
{
	int r;

	if (!a)
		return 0;
	r = hwma_flush(a);
	pthread_mutex_lock(&a->lock);
	a->stop = 1;
	/* Nothing more is written after a failed flush. */
	a->written = a->want.gen > a->written ? a->want.gen : a->written;
	pthread_cond_signal(&a->work);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	pthread_cond_destroy(&a->done);
	pthread_cond_destroy(&a->work);
	pthread_mutex_destroy(&a->lock);
	free(a->state_dir);
	free(a);
	return r;
}

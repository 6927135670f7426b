/*
 * ratelimit.c - bounded table of token buckets (open addressing, LRU
 * replacement within a probe window).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ratelimit.h"

#define RATELIMIT_PROBE 16

struct rl_bucket {
	char key[RATELIMIT_KEY_MAX + 1];
	double tokens;
	double last;
	int used;
};

struct ratelimit {
	uint32_t per_minute;
	unsigned nslots;
	struct rl_bucket *slots;
	uint8_t hashkey[crypto_shorthash_KEYBYTES];
	pthread_mutex_t lock;
};

int ratelimit_new(uint32_t per_minute, unsigned slots, struct ratelimit **ret)
{
	struct ratelimit *rl;

	if (slots < RATELIMIT_PROBE || slots > (1u << 24))
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return -ENOMEM;
	rl->slots = calloc(slots, sizeof(*rl->slots));
	if (!rl->slots) {
		free(rl);
		return -ENOMEM;
	}
	rl->per_minute = per_minute;
	rl->nslots = slots;
	/* A keyed hash: a client cannot aim its keys at one probe window. */
	randombytes_buf(rl->hashkey, sizeof(rl->hashkey));
	pthread_mutex_init(&rl->lock, NULL);
	*ret = rl;
	return 0;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl->slots);
	free(rl);
}

int ratelimit_take(struct ratelimit *rl, const char *key, double now)
{
	uint8_t h[crypto_shorthash_BYTES];
	struct rl_bucket *b = NULL, *victim = NULL;
	size_t klen = strlen(key);
	uint64_t idx;
	double rate;
	int r;

	if (rl->per_minute == 0)
		return 0;
	if (klen > RATELIMIT_KEY_MAX)
		klen = RATELIMIT_KEY_MAX;
	crypto_shorthash(h, (const uint8_t *)key, klen, rl->hashkey);
	memcpy(&idx, h, sizeof(idx));
	pthread_mutex_lock(&rl->lock);
	for (unsigned i = 0; i < RATELIMIT_PROBE; i++) {
		struct rl_bucket *s = &rl->slots[(idx + i) % rl->nslots];

		if (s->used && strncmp(s->key, key, klen) == 0 &&
		    s->key[klen] == '\0') {
			b = s;
			break;
		}
		if (!victim || !s->used ||
		    (victim->used && s->last < victim->last))
			if (!victim || victim->used)
				victim = s;
	}
	if (!b) {
		b = victim;
		memcpy(b->key, key, klen);
		b->key[klen] = '\0';
		b->used = 1;
		b->tokens = rl->per_minute;
		b->last = now;
	}
	rate = rl->per_minute / 60.0;
	if (now > b->last) {
		b->tokens += (now - b->last) * rate;
		if (b->tokens > rl->per_minute)
			b->tokens = rl->per_minute;
	}
	b->last = now;
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		r = 0;
	} else {
		r = -EAGAIN;
	}
	pthread_mutex_unlock(&rl->lock);
	return r;
}

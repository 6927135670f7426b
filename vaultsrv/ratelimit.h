/*
 * ratelimit.h - token buckets keyed by short strings (an account, an
 * address). Capacity and refill are per_minute: a burst of per_minute
 * requests, then per_minute / 60 per second. The table is bounded: when
 * full, the least recently used bucket is forgotten.
 */
#ifndef VS_RATELIMIT_H
#define VS_RATELIMIT_H

#include <stdint.h>

#define RATELIMIT_KEY_MAX 160

struct ratelimit;

/* per_minute 0 makes a limiter that allows everything. */
int ratelimit_new(uint32_t per_minute, unsigned slots, struct ratelimit **ret)
    __attribute__((warn_unused_result));
void ratelimit_free(struct ratelimit *rl);

/* Takes one token for key at time now (seconds, monotonic): 0, or
 * -EAGAIN when the bucket is empty. Thread-safe. */
int ratelimit_take(struct ratelimit *rl, const char *key, double now)
    __attribute__((warn_unused_result));

#endif

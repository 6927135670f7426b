/*
 * metrics.h - process-wide counters, rendered as Prometheus text for
 * GET /metrics. Lock-free (atomics); safe from any thread.
 */
#ifndef VS_METRICS_H
#define VS_METRICS_H

#include <stdint.h>

enum metrics_endpoint {
	EP_HEALTHZ,
	EP_METRICS,
	EP_REGISTER_START,
	EP_REGISTER_FINISH,
	EP_RECOVER_START,
	EP_RECOVER_FINISH,
	EP_PASSWD,
	EP_STORE_ADD,
	EP_DELETE,
	EP_KCHALLENGE,
	EP_REARM,
	EP_GENERATION,
	EP_GENERATION_GET,
	EP_AUDIT,
	EP_OTHER,
	EP_COUNT
};

/* Counts one answered request. */
void metrics_request(enum metrics_endpoint ep, int status);
/* Counts one password guess (a counted attempt). */
void metrics_guess(void);
/* Counts one account locked for good. */
void metrics_lockout(void);

/* Returns the exposition text (malloc'd) or NULL. */
char *metrics_render(uint64_t hsm_evaluations)
    __attribute__((warn_unused_result));

#endif

/*
 * metrics.c - request, guess, lockout counters in Prometheus text format.
 */
#include "config.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "metrics.h"

static const int metrics_codes[] = {200, 201, 400, 401, 403, 404, 405,
				    409, 410, 413, 423, 429, 500, 503};
#define NCODES (sizeof(metrics_codes) / sizeof(metrics_codes[0]))

static const char *const metrics_names[EP_COUNT] = {
    "healthz",	      "metrics",	"register_start", "register_finish",
    "recover_start",  "recover_finish", "passwd",	  "store_add",
    "delete",	      "kchallenge",	"rearm",	  "generation",
    "generation_get", "audit",		"other",
};

/* The last column counts codes missing from metrics_codes. */
static atomic_uint_fast64_t metrics_req[EP_COUNT][NCODES + 1];
static atomic_uint_fast64_t metrics_guesses;
static atomic_uint_fast64_t metrics_lockouts;

void metrics_request(enum metrics_endpoint ep, int status)
{
	size_t i;

	if ((unsigned)ep >= EP_COUNT)
		ep = EP_OTHER;
	for (i = 0; i < NCODES; i++)
		if (metrics_codes[i] == status)
			break;
	atomic_fetch_add(&metrics_req[ep][i], 1);
}

void metrics_guess(void)
{
	atomic_fetch_add(&metrics_guesses, 1);
}

void metrics_lockout(void)
{
	atomic_fetch_add(&metrics_lockouts, 1);
}

char *metrics_render(uint64_t hsm_evaluations)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "# HELP vaultsrv_requests_total HTTP requests answered.\n"
		   "# TYPE vaultsrv_requests_total counter\n");
	for (int ep = 0; ep < EP_COUNT; ep++) {
		for (size_t i = 0; i <= NCODES; i++) {
			uint64_t v = atomic_load(&metrics_req[ep][i]);

			if (!v)
				continue;
			if (i < NCODES)
				fprintf(
				    f,
				    "vaultsrv_requests_total{endpoint=\"%s\","
				    "code=\"%d\"} %" PRIu64 "\n",
				    metrics_names[ep], metrics_codes[i], v);
			else
				fprintf(
				    f,
				    "vaultsrv_requests_total{endpoint=\"%s\","
				    "code=\"other\"} %" PRIu64 "\n",
				    metrics_names[ep], v);
		}
	}
	fprintf(f,
		"# HELP vaultsrv_guesses_total Password attempts counted.\n"
		"# TYPE vaultsrv_guesses_total counter\n"
		"vaultsrv_guesses_total %" PRIu64 "\n"
		"# HELP vaultsrv_lockouts_total Accounts locked for good.\n"
		"# TYPE vaultsrv_lockouts_total counter\n"
		"vaultsrv_lockouts_total %" PRIu64 "\n"
		"# HELP vaultsrv_hsm_evaluations_total OPRF evaluations in "
		"the HSM.\n"
		"# TYPE vaultsrv_hsm_evaluations_total counter\n"
		"vaultsrv_hsm_evaluations_total %" PRIu64 "\n",
		(uint64_t)atomic_load(&metrics_guesses),
		(uint64_t)atomic_load(&metrics_lockouts), hsm_evaluations);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

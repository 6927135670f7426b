/*
 * hsm_bench.c - the bare HSM rate of an OPRF evaluation as vaultsrv does
 * it (unwrap the per-user key into a session object, ECDH derive, read,
 * destroy), with T threads for S seconds, through vaultsrv's own hsm.c.
 *
 *   hsm_bench MODULE TOKEN_LABEL PIN_FILE SECONDS THREADS
 *
 * The token must hold vault keys (vaultsrv init).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vaultsrv/hsm.h"

/* The P-256 generator: a valid point. */
static const uint8_t G[65] = {
    0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc,
    0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d,
    0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96,
    0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb,
    0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31,
    0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5,
};

static struct hsm *h;
static uint8_t blob[HSM_BLOB_MAX];
static size_t bloblen;
static double seconds;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
	unsigned long *count = arg;
	double end = now_s() + seconds;
	uint8_t x[HSM_SECRET_LEN];

	while (now_s() < end) {
		if (hsm_oprf_evaluate(h, blob, bloblen, G, x) < 0) {
			fprintf(stderr, "hsm_bench: evaluation failed\n");
			exit(1);
		}
		(*count)++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[64];
	unsigned long counts[64] = {0}, total = 0;
	int nth;

	if (argc != 6) {
		fprintf(stderr,
			"usage: hsm_bench MODULE LABEL PIN_FILE SECONDS "
			"THREADS\n");
		return 2;
	}
	seconds = atof(argv[4]);
	nth = atoi(argv[5]);
	if (seconds <= 0 || nth < 1 || nth > 64)
		return 2;
	if (hsm_open(argv[1], argv[2], argv[3], (unsigned)nth, &h) < 0 ||
	    hsm_load_keys(h) < 0 || hsm_oprf_keygen(h, blob, &bloblen) < 0) {
		fprintf(stderr, "hsm_bench: cannot use the token\n");
		return 1;
	}
	for (int i = 0; i < nth; i++)
		pthread_create(&th[i], NULL, run, &counts[i]);
	for (int i = 0; i < nth; i++) {
		pthread_join(th[i], NULL);
		total += counts[i];
	}
	printf("threads=%d unwrap+derive+destroy_per_s=%.0f\n", nth,
	       total / seconds);
	hsm_free(h);
	return 0;
}

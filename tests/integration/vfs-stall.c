/*
 * vfs-stall.c - test helper: how long foreground writes wait while the
 * daemon does other work (the cleaner). Writes 4 KiB with pwrite (no
 * fsync: each goes to the daemon and takes the store's lock) every 10 ms
 * until STOPFILE exists (at most 600 s), timing each, then prints
 *   stall: N writes, max X ms, p99 Y ms, median Z ms
 * Exit 1 if a write fails.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static char buf[4096];
	const size_t cap = 60000;
	double *v, start;
	size_t n = 0;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: vfs-stall FILE STOPFILE\n");
		return 2;
	}
	v = calloc(cap, sizeof(*v));
	fd = open(argv[1], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (!v || fd < 0) {
		fprintf(stderr, "vfs-stall: '%s': %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	start = now_ms();
	while (n < cap && access(argv[2], F_OK) != 0 &&
	       now_ms() - start < 600e3) {
		double t0 = now_ms();

		memset(buf, (int)(n & 0xff), sizeof(buf));
		if (pwrite(fd, buf, sizeof(buf),
			   (off_t)(n % 16) * (off_t)sizeof(buf)) !=
		    (ssize_t)sizeof(buf)) {
			fprintf(stderr, "vfs-stall: write: %s\n",
				strerror(errno));
			return 1;
		}
		v[n++] = now_ms() - t0;
		usleep(10000);
	}
	close(fd);
	if (n == 0) {
		printf("stall: 0 writes\n");
		return 0;
	}
	qsort(v, n, sizeof(*v), cmp);
	printf("stall: %zu writes, max %.1f ms, p99 %.1f ms, median %.1f ms\n",
	       n, v[n - 1], v[n * 99 / 100], v[n / 2]);
	free(v);
	return 0;
}

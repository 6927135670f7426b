/*
 * storefigures.c - the store's sync-friendliness figures, measured on the
 * cloud folder itself (files and bytes before and after), checked against
 * the targets in DESIGN.md. Output is TAP, one line per figure, so the
 * quick run sits in `make check`; `storefigures --full` runs the full-size
 * cases (a 512 MiB file really written) and takes a while.
 *
 *   - 100 x (4 KiB write at a random offset + commit) in a large sparse
 *     file, and in a really written one: <= 4 MiB new bytes, <= 200 objects
 *   - writing a large file: <= 600 objects for 512 MiB (scaled when quick)
 *   - after the cleaner: cloud bytes <= 1.3 x data, <= 1 object per MiB + 16
 *   - 5000 small files in 50 folders, a commit every 500: <= 200 objects
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "fsutil.h"
#include "store.h"
#include "store_priv.h"

static int ntest, nfail;

static void report(int ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void report(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", ok ? "ok" : "not ok", ++ntest);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		nfail++;
}

static void die(const char *what, int r)
{
	printf("Bail out! %s: %s\n", what, vfs_strerror(r));
	exit(99);
}

struct env {
	char *top, *cloud, *state;
	uint8_t key[32];
	struct store *s;
};

static void env_new(struct env *e)
{
	int r;

	e->top = tu_mkdtemp();
	e->cloud = tu_join(e->top, "cloud");
	e->state = tu_join(e->top, "state");
	mkdir(e->cloud, 0700);
	tu_key(e->key, 5);
	r = store_create(e->cloud, e->key, NULL);
	if (r < 0)
		die("create", r);
	r = store_open(e->cloud, e->key, e->state, 0, &e->s);
	if (r < 0)
		die("open", r);
}

static void env_free(struct env *e)
{
	int r = store_close(e->s);

	if (r < 0)
		die("close", r);
	tu_rmrf(e->top);
	free(e->top);
	free(e->cloud);
	free(e->state);
}

static double secs(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) +
	       (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

static uint64_t new_file(struct env *e, uint64_t dir, const char *name)
{
	struct store_attr a;
	int r = store_mknod(e->s, dir, name, S_IFREG | 0600, 0, 0, 0, &a);

	if (r < 0)
		die("mknod", r);
	return a.ino;
}

static void xwrite(struct env *e, uint64_t ino, const void *p, size_t n,
		   uint64_t off)
{
	int r = store_write(e->s, ino, p, n, off);

	if (r != (int)n)
		die("write", r < 0 ? r : -EIO);
}

static void xcommit(struct env *e)
{
	int r = store_commit(e->s);

	if (r < 0)
		die("commit", r);
}

/* Writes size bytes of pseudo-random data in 128 KiB writes. */
static void fill_file(struct env *e, uint64_t ino, uint64_t size)
{
	static uint8_t buf[131072];

	for (uint64_t off = 0; off < size; off += sizeof(buf)) {
		tu_fill(buf, sizeof(buf), off);
		xwrite(e, ino, buf, sizeof(buf), off);
	}
	xcommit(e);
}

static void random_4k(struct env *e, uint64_t ino, uint64_t size,
		      const char *what)
{
	uint64_t f0, b0, f1, b1, x = 42;
	uint8_t buf[4096];
	struct timespec t;

	tu_count(e->cloud, &f0, &b0);
	clock_gettime(CLOCK_MONOTONIC, &t);
	for (int i = 0; i < 100; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		tu_fill(buf, sizeof(buf), x);
		xwrite(e, ino, buf, sizeof(buf), (x % (size / 4096)) * 4096);
		xcommit(e);
	}
	tu_count(e->cloud, &f1, &b1);
	report(b1 - b0 <= (4u << 20) && f1 - f0 <= 200,
	       "100 x (4 KiB random write + commit) in %s: %llu new bytes "
	       "(%.1f KiB per commit), %llu new objects, %.2f s (targets: "
	       "<= 4 MiB, <= 200 objects)",
	       what, (unsigned long long)(b1 - b0),
	       (double)(b1 - b0) / 100 / 1024, (unsigned long long)(f1 - f0),
	       secs(&t));
}

static void case_sparse(void)
{
	struct env e;
	uint64_t ino;

	env_new(&e);
	ino = new_file(&e, 1, "sparse");
	xwrite(&e, ino, "end", 3, (512ull << 20) - 3);
	xcommit(&e);
	random_4k(&e, ino, 512ull << 20, "a sparse 512 MiB file");
	env_free(&e);
}

static void case_written(uint64_t mib)
{
	uint64_t f0, b0, f1, b1, limit;
	struct timespec t;
	struct env e;
	uint64_t ino;
	char what[64];

	env_new(&e);
	ino = new_file(&e, 1, "big");
	tu_count(e.cloud, &f0, &b0);
	clock_gettime(CLOCK_MONOTONIC, &t);
	fill_file(&e, ino, mib << 20);
	tu_count(e.cloud, &f1, &b1);
	/* ~1 object per MiB plus a small constant: 600 for 512 MiB */
	limit = mib * 600 / 512 + 8;
	report(f1 - f0 <= limit,
	       "writing a %llu MiB file: %llu objects, %.1f MiB in the cloud "
	       "folder (%.3fx), %.2f s (target: <= %llu objects)",
	       (unsigned long long)mib, (unsigned long long)(f1 - f0),
	       (double)(b1 - b0) / 1048576,
	       (double)(b1 - b0) / (double)(mib << 20), secs(&t),
	       (unsigned long long)limit);
	snprintf(what, sizeof(what), "a written %llu MiB file",
		 (unsigned long long)mib);
	random_4k(&e, ino, mib << 20, what);
	/* the cleaner, without its grace period */
	clock_gettime(CLOCK_MONOTONIC, &t);
	store_set_clean(e.s, 0, 0);
	for (int i = 0; i < 3; i++) {
		int r = store_clean(e.s);

		if (r < 0)
			die("clean", r);
	}
	tu_count(e.cloud, &f1, &b1);
	report(b1 <= (mib << 20) * 13 / 10 && f1 <= mib + 16,
	       "after cleaning: %llu objects, %.1f MiB for %llu MiB of data "
	       "(%.3fx), %.2f s (targets: <= 1.3x, <= 1 object per MiB + 16)",
	       (unsigned long long)f1, (double)b1 / 1048576,
	       (unsigned long long)mib, (double)b1 / (double)(mib << 20),
	       secs(&t));
	env_free(&e);
}

static void case_small_files(void)
{
	uint64_t f0, b0, f1, b1, dirs[50];
	struct timespec t;
	struct env e;
	uint8_t buf[2048];
	char name[32];

	env_new(&e);
	tu_count(e.cloud, &f0, &b0);
	clock_gettime(CLOCK_MONOTONIC, &t);
	for (int d = 0; d < 50; d++) {
		struct store_attr a;
		int r;

		snprintf(name, sizeof(name), "chat-%02d", d);
		r = store_mkdir(e.s, 1, name, 0700, 0, 0, &a);
		if (r < 0)
			die("mkdir", r);
		dirs[d] = a.ino;
	}
	for (int i = 0; i < 5000; i++) {
		uint64_t ino;
		size_t n = 200 + (size_t)(i * 37) % 1800;

		snprintf(name, sizeof(name), "msg-%05d.txt", i);
		ino = new_file(&e, dirs[i % 50], name);
		tu_fill(buf, n, (uint64_t)i);
		xwrite(&e, ino, buf, n, 0);
		if (i % 500 == 499)
			xcommit(&e);
	}
	tu_count(e.cloud, &f1, &b1);
	report(f1 - f0 <= 200,
	       "5000 small files in 50 folders, a commit every 500: %llu "
	       "objects, %.1f MiB, %.2f s (target: <= 200 objects)",
	       (unsigned long long)(f1 - f0), (double)(b1 - b0) / 1048576,
	       secs(&t));
	env_free(&e);
}

int main(int argc, char **argv)
{
	int full = argc > 1 && strcmp(argv[1], "--full") == 0;

	if (sodium_init() < 0)
		return 99;
	printf("1..5\n");
	case_sparse();
	case_written(full ? 512 : 32);
	case_small_files();
	return nfail ? 1 : 0;
}

/*
 * fsutil.c - helpers shared by the fs/ unit tests.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fsutil.h"
#include "store.h"

char *tu_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char *p;

	if (!base || !*base)
		base = "/tmp";
	if (asprintf(&p, "%s/vfs-test-XXXXXX", base) < 0)
		abort();
	if (!mkdtemp(p))
		abort();
	return p;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void tu_rmrf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_join(const char *a, const char *b)
{
	char *p;

	if (asprintf(&p, "%s/%s", a, b) < 0)
		abort();
	return p;
}

void tu_key(uint8_t key[32], uint8_t seed)
{
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(seed * 31 + i * 7 + 1);
}

static uint64_t cnt_files, cnt_bytes;

static int count_one(const char *path, const struct stat *st, int flag,
		     struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F && S_ISREG(st->st_mode)) {
		cnt_files++;
		cnt_bytes += (uint64_t)st->st_size;
	}
	return 0;
}

void tu_count(const char *path, uint64_t *ret_files, uint64_t *ret_bytes)
{
	cnt_files = cnt_bytes = 0;
	nftw(path, count_one, 16, FTW_PHYS);
	*ret_files = cnt_files;
	*ret_bytes = cnt_bytes;
}

void tu_fill(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

static const char *copy_from, *copy_to;
static int copy_err;

static int copy_one(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	char *dst;
	FILE *in, *out;
	char buf[65536];
	size_t n;

	(void)ftw;
	if (asprintf(&dst, "%s%s", copy_to, path + strlen(copy_from)) < 0)
		abort();
	if (flag == FTW_D) {
		if (mkdir(dst, st->st_mode & 07777) < 0)
			copy_err = -1;
	} else if (flag == FTW_F) {
		in = fopen(path, "rb");
		out = fopen(dst, "wb");
		if (!in || !out) {
			copy_err = -1;
		} else {
			while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
				if (fwrite(buf, 1, n, out) != n)
					copy_err = -1;
		}
		if (in)
			fclose(in);
		if (out)
			fclose(out);
	}
	free(dst);
	return 0;
}

int tu_copytree(const char *from, const char *to)
{
	copy_from = from;
	copy_to = to;
	copy_err = 0;
	if (nftw(from, copy_one, 16, FTW_PHYS) != 0)
		return -1;
	return copy_err;
}

int tu_flip(const char *path, long off)
{
	unsigned char c;
	int fd = open(path, O_RDWR);
	int r = -1;

	if (fd < 0)
		return -1;
	if (pread(fd, &c, 1, off) == 1) {
		c ^= 1;
		if (pwrite(fd, &c, 1, off) == 1)
			r = 0;
	}
	close(fd);
	return r;
}

struct dump {
	char *buf;
	size_t len, cap;
};

static void dputs(struct dump *d, const char *s)
{
	size_t n = strlen(s);

	if (d->len + n + 1 > d->cap) {
		d->cap = (d->len + n + 1) * 2;
		d->buf = realloc(d->buf, d->cap);
		if (!d->buf)
			abort();
	}
	memcpy(d->buf + d->len, s, n + 1);
	d->len += n;
}

struct ent {
	char name[256];
};

struct entlist {
	struct ent *v;
	size_t n, cap;
};

static int collect(void *ctx, const char *name, const struct store_attr *a,
		   uint64_t next)
{
	struct entlist *l = ctx;

	(void)a;
	(void)next;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			abort();
	}
	snprintf(l->v[l->n].name, sizeof(l->v[l->n].name), "%s", name);
	l->n++;
	return 0;
}

static int dump_dir(struct store *s, uint64_t ino, const char *path,
		    struct dump *d, int with_times)
{
	struct entlist l = {0};
	int r;

	r = store_readdir(s, ino, 0, collect, &l);
	for (size_t i = 0; r == 0 && i < l.n; i++) {
		struct store_attr a;
		char line[4096], sub[2048];

		r = store_lookup(s, ino, l.v[i].name, &a);
		if (r < 0)
			break;
		snprintf(sub, sizeof(sub), "%s/%s", path, l.v[i].name);
		snprintf(line, sizeof(line),
			 "%s ino=%llu mode=%o nlink=%u uid=%u size=%llu", sub,
			 (unsigned long long)a.ino, a.mode, a.nlink, a.uid,
			 (unsigned long long)a.size);
		dputs(d, line);
		if (with_times) {
			snprintf(line, sizeof(line), " mtime=%lld.%09ld",
				 (long long)a.mtime.tv_sec, a.mtime.tv_nsec);
			dputs(d, line);
		}
		if (S_ISREG(a.mode)) {
			uint8_t *buf = malloc(a.size + 1), h[16];
			char hex[33];

			if (!buf)
				abort();
			r = store_read(s, a.ino, buf, a.size + 1, 0);
			if (r >= 0 && r != (int)a.size)
				r = -EIO;
			if (r >= 0) {
				crypto_generichash(h, sizeof(h), buf, a.size,
						   NULL, 0);
				sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
				dputs(d, " data=");
				dputs(d, hex);
				r = 0;
			}
			free(buf);
		} else if (S_ISLNK(a.mode)) {
			char t[4097];
			int n = store_readlink(s, a.ino, t, sizeof(t) - 1);

			if (n <= 0) {
				r = n < 0 ? n : -EIO;
			} else {
				t[n] = '\0';
				dputs(d, " -> ");
				dputs(d, t);
			}
		}
		dputs(d, "\n");
		if (r == 0 && S_ISDIR(a.mode))
			r = dump_dir(s, a.ino, sub, d, with_times);
		store_forget(s, a.ino, 1);
	}
	free(l.v);
	return r;
}

int tu_dump_try(struct store *s, int with_times, char **ret)
{
	struct dump d = {0};
	int r;

	dputs(&d, "");
	r = dump_dir(s, STORE_ROOT_INO, "", &d, with_times);
	if (r < 0) {
		free(d.buf);
		return r;
	}
	*ret = d.buf;
	return 0;
}

char *tu_dump(struct store *s, int with_times)
{
	char *d = NULL;

	if (tu_dump_try(s, with_times, &d) < 0)
		abort();
	return d;
}

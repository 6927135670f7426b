/*
 * objstore.c - immutable objects in the cloud folder (see objstore.h).
 *
 * Every path is relative to a directory fd opened once, so the store never
 * follows a path outside the cloud folder. Names are built here only.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <sodium.h>

#include "objstore.h"

/* A deferred put: written under tmp, not yet fsynced or named. */
struct deferred {
	char name[OBJSTORE_NAME_MAX];
	char tmp[OBJSTORE_NAME_MAX * 2];
	char dir[OBJSTORE_NAME_MAX * 2];
	int fd;
	int synced;  /* fsync done */
	int renamed; /* in place under name */
};

struct objstore {
	int dfd;
	objstore_fault_fn fault;
	void *fault_ctx;
	struct objstore_stats stats;
	pthread_mutex_t dlock; /* the deferred puts */
	struct deferred dv[OBJSTORE_DEFER_MAX];
	size_t nd;
};

static int fault(struct objstore *os, enum objstore_step step, const char *name)
{
	if (!os->fault)
		return 0;
	return os->fault(os->fault_ctx, step, name);
}

int objstore_new(const char *dir, struct objstore **ret)
{
	struct objstore *os;
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	os = calloc(1, sizeof(*os));
	if (!os) {
		close(fd);
		return -ENOMEM;
	}
	os->dfd = fd;
	pthread_mutex_init(&os->dlock, NULL);
	*ret = os;
	return 0;
}

void objstore_free(struct objstore *os)
{
	if (!os)
		return;
	/* Unsettled temporary files stay, as after a crash; the next
	 * read-write open removes them. */
	for (size_t i = 0; i < os->nd; i++)
		close(os->dv[i].fd);
	pthread_mutex_destroy(&os->dlock);
	close(os->dfd);
	free(os);
}

void objstore_set_fault(struct objstore *os, objstore_fault_fn fn, void *ctx)
{
	os->fault = fn;
	os->fault_ctx = ctx;
}

void objstore_get_stats(const struct objstore *os, struct objstore_stats *ret)
{
	*ret = os->stats;
}

void objstore_seg_name(uint64_t segno, char buf[OBJSTORE_NAME_MAX])
{
	unsigned sub = (unsigned)((segno / OBJSTORE_SEGS_PER_DIR) & 0xff);

	snprintf(buf, OBJSTORE_NAME_MAX, "log/%02x/%016" PRIx64 ".seg", sub,
		 segno);
}

int objstore_is_empty(struct objstore *os)
{
	struct dirent *de;
	DIR *d;
	int fd, r = 1;

	fd = openat(os->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			r = 0;
			break;
		}
	}
	closedir(d);
	return r;
}

static int fsync_dirat(struct objstore *os, const char *dir)
{
	int fd, r = 0;

	r = fault(os, OBJSTORE_STEP_FSYNC_DIR, dir);
	if (r < 0)
		return r;
	fd = openat(os->dfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Creates every folder on the way to name's folder, fsyncing the parent
 * of each folder it creates. */
static int make_parents(struct objstore *os, const char *name)
{
	char path[OBJSTORE_NAME_MAX * 2];
	char *p;
	int r;

	if (strlen(name) >= sizeof(path))
		return -ENAMETOOLONG;
	strcpy(path, name);
	for (p = strchr(path, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdirat(os->dfd, path, 0700) == 0) {
			char *slash = strrchr(path, '/');

			r = fault(os, OBJSTORE_STEP_MKDIR, path);
			if (r < 0)
				return r;
			if (slash) {
				*slash = '\0';
				r = fsync_dirat(os, path);
				*slash = '/';
			} else {
				r = fsync_dirat(os, ".");
			}
			if (r < 0)
				return r;
		} else if (errno != EEXIST) {
			return -errno;
		}
		*p = '/';
	}
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int put(struct objstore *os, const char *name, const void *data,
	       size_t len, int replace, int *placed)
{
	char tmp[OBJSTORE_NAME_MAX * 2], dir[OBJSTORE_NAME_MAX * 2];
	uint8_t rnd[8];
	const char *slash;
	int fd = -1, r, f, have_tmp = 0;

	slash = strrchr(name, '/');
	if (strlen(name) >= OBJSTORE_NAME_MAX || name[0] == '.' ||
	    (slash && slash[1] == '.'))
		return -EINVAL;
	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - name), name);
	else
		strcpy(dir, ".");
	randombytes_buf(rnd, sizeof(rnd));
	snprintf(tmp, sizeof(tmp), "%s/.tmp-%02x%02x%02x%02x%02x%02x%02x%02x",
		 dir, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6],
		 rnd[7]);

	r = make_parents(os, name);
	if (r < 0)
		goto out;
	r = fault(os, OBJSTORE_STEP_CREATE, tmp);
	if (r < 0)
		goto out;
	fd =
	    openat(os->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	have_tmp = 1;
	f = fault(os, OBJSTORE_STEP_WRITE, tmp);
	if (f < 0) {
		r = f;
		goto out;
	}
	if (f == OBJSTORE_FAULT_SHORT) {
		r = write_all(fd, data, len / 2);
		if (r == 0)
			r = -EIO;
		goto out;
	}
	r = write_all(fd, data, len);
	if (r < 0)
		goto out;
	r = fault(os, OBJSTORE_STEP_FSYNC, tmp);
	if (r < 0)
		goto out;
	if (fsync(fd) < 0) {
		r = -errno;
		goto out;
	}
	r = fault(os, OBJSTORE_STEP_RENAME, name);
	if (r < 0)
		goto out;
	if (replace) {
		if (renameat(os->dfd, tmp, os->dfd, name) < 0) {
			r = -errno;
			goto out;
		}
	} else if (renameat2(os->dfd, tmp, os->dfd, name, RENAME_NOREPLACE) <
		   0) {
		r = -errno;
		if (r != -EINVAL)
			goto out;
		/* The folder's filesystem has no RENAME_NOREPLACE; a link
		 * refuses to replace as well. */
		if (linkat(os->dfd, tmp, os->dfd, name, 0) < 0) {
			r = -errno;
			goto out;
		}
		unlinkat(os->dfd, tmp, 0);
	}
	have_tmp = 0;
	*placed = 1;
	__atomic_fetch_add(&os->stats.puts, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&os->stats.put_bytes, len, __ATOMIC_RELAXED);
	r = fsync_dirat(os, dir);
out:
	if (fd >= 0)
		close(fd);
	/* Removing a failed temporary file is a step of its own, so a
	 * simulated crash leaves it behind as a real one would. */
	if (have_tmp && fault(os, OBJSTORE_STEP_REMOVE, tmp) == 0)
		unlinkat(os->dfd, tmp, 0);
	return r;
}

int objstore_put(struct objstore *os, const char *name, const void *data,
		 size_t len)
{
	int placed = 0;

	return put(os, name, data, len, 0, &placed);
}

int objstore_put_placed(struct objstore *os, const char *name,
			const void *data, size_t len, int *placed)
{
	*placed = 0;
	return put(os, name, data, len, 0, placed);
}

/* Under dlock. */
static int settle_locked(struct objstore *os)
{
	size_t i, j;
	int r;

	for (i = 0; i < os->nd; i++) {
		struct deferred *d = &os->dv[i];

		if (d->synced)
			continue;
		r = fault(os, OBJSTORE_STEP_FSYNC, d->tmp);
		if (r < 0)
			return r;
		if (fsync(d->fd) < 0)
			return -errno;
		d->synced = 1;
	}
	for (i = 0; i < os->nd; i++) {
		struct deferred *d = &os->dv[i];

		if (d->renamed)
			continue;
		r = fault(os, OBJSTORE_STEP_RENAME, d->name);
		if (r < 0)
			return r;
		if (renameat2(os->dfd, d->tmp, os->dfd, d->name,
			      RENAME_NOREPLACE) < 0) {
			if (errno != EINVAL)
				return -errno;
			if (linkat(os->dfd, d->tmp, os->dfd, d->name, 0) < 0)
				return -errno;
			unlinkat(os->dfd, d->tmp, 0);
		}
		d->renamed = 1;
	}
	for (i = 0; i < os->nd; i++) {
		/* once per folder */
		for (j = 0; j < i; j++)
			if (!strcmp(os->dv[j].dir, os->dv[i].dir))
				break;
		if (j < i)
			continue;
		r = fsync_dirat(os, os->dv[i].dir);
		if (r < 0)
			return r;
	}
	for (i = 0; i < os->nd; i++)
		close(os->dv[i].fd);
	os->nd = 0;
	return 0;
}

int objstore_settle(struct objstore *os)
{
	int r;

	pthread_mutex_lock(&os->dlock);
	r = os->nd ? settle_locked(os) : 0;
	pthread_mutex_unlock(&os->dlock);
	return r;
}

int objstore_put_deferred(struct objstore *os, const char *name,
			  const void *data, size_t len)
{
	char tmp[OBJSTORE_NAME_MAX * 2], dir[OBJSTORE_NAME_MAX * 2];
	struct deferred *d;
	const char *slash;
	uint8_t rnd[8];
	int fd = -1, r, f, have_tmp = 0;

	slash = strrchr(name, '/');
	if (strlen(name) >= OBJSTORE_NAME_MAX || name[0] == '.' ||
	    (slash && slash[1] == '.'))
		return -EINVAL;
	pthread_mutex_lock(&os->dlock);
	if (os->nd == OBJSTORE_DEFER_MAX) {
		r = settle_locked(os);
		if (r < 0)
			goto out;
	}
	d = &os->dv[os->nd];
	memset(d, 0, sizeof(*d));
	strcpy(d->name, name);
	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - name), name);
	else
		strcpy(dir, ".");
	randombytes_buf(rnd, sizeof(rnd));
	snprintf(tmp, sizeof(tmp), "%s/.tmp-%02x%02x%02x%02x%02x%02x%02x%02x",
		 dir, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6],
		 rnd[7]);
	memcpy(d->dir, dir, sizeof(d->dir));
	memcpy(d->tmp, tmp, sizeof(d->tmp));
	r = make_parents(os, name);
	if (r < 0)
		goto out;
	r = fault(os, OBJSTORE_STEP_CREATE, d->tmp);
	if (r < 0)
		goto out;
	fd = openat(os->dfd, d->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	have_tmp = 1;
	f = fault(os, OBJSTORE_STEP_WRITE, d->tmp);
	if (f < 0) {
		r = f;
		goto out;
	}
	if (f == OBJSTORE_FAULT_SHORT) {
		r = write_all(fd, data, len / 2);
		if (r == 0)
			r = -EIO;
		goto out;
	}
	r = write_all(fd, data, len);
	if (r < 0)
		goto out;
	/* Start the writeback now, so the fsync at settle finds little
	 * left to do; only a hint. */
	(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	d->fd = fd;
	fd = -1;
	have_tmp = 0;
	os->nd++;
	__atomic_fetch_add(&os->stats.puts, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&os->stats.put_bytes, len, __ATOMIC_RELAXED);
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (have_tmp && fault(os, OBJSTORE_STEP_REMOVE, os->dv[os->nd].tmp) == 0)
		unlinkat(os->dfd, os->dv[os->nd].tmp, 0);
	pthread_mutex_unlock(&os->dlock);
	return r;
}

int objstore_sync_dir(struct objstore *os, const char *name)
{
	char dir[OBJSTORE_NAME_MAX * 2];
	const char *slash = strrchr(name, '/');

	if (strlen(name) >= OBJSTORE_NAME_MAX)
		return -EINVAL;
	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - name), name);
	else
		strcpy(dir, ".");
	return fsync_dirat(os, dir);
}

int objstore_replace(struct objstore *os, const char *name, const void *data,
		     size_t len)
{
	int placed = 0;

	return put(os, name, data, len, 1, &placed);
}

/* The path under which object name can be read right now: its
 * temporary name while a deferred put of it is not renamed yet. */
static const char *resolve(struct objstore *os, const char *name,
			   char buf[OBJSTORE_NAME_MAX * 2])
{
	const char *p = name;

	pthread_mutex_lock(&os->dlock);
	for (size_t i = 0; i < os->nd; i++)
		if (!os->dv[i].renamed && !strcmp(os->dv[i].name, name)) {
			strcpy(buf, os->dv[i].tmp);
			p = buf;
			break;
		}
	pthread_mutex_unlock(&os->dlock);
	return p;
}

static int open_obj(struct objstore *os, const char *name)
{
	char tmp[OBJSTORE_NAME_MAX * 2];
	const char *path;
	int fd, r;

	r = fault(os, OBJSTORE_STEP_READ, name);
	if (r < 0)
		return r;
	path = resolve(os, name, tmp);
	fd = openat(os->dfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && path != name) /* renamed meanwhile */
		fd = openat(os->dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	return fd;
}

int objstore_size(struct objstore *os, const char *name, uint64_t *ret)
{
	struct stat st;
	int r;

	char tmp[OBJSTORE_NAME_MAX * 2];
	const char *path;

	r = fault(os, OBJSTORE_STEP_READ, name);
	if (r < 0)
		return r;
	path = resolve(os, name, tmp);
	if (fstatat(os->dfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
	    (errno != ENOENT || path == name ||
	     fstatat(os->dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADMSG;
	*ret = (uint64_t)st.st_size;
	return 0;
}

static int read_fd(int fd, uint64_t off, uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = pread(fd, buf, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EBADMSG;
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int objstore_read(struct objstore *os, const char *name, uint64_t off,
		  void *buf, size_t len)
{
	int fd, r;

	if (off > INT64_MAX || len > INT64_MAX - off)
		return -EINVAL;
	fd = open_obj(os, name);
	if (fd < 0)
		return fd;
	r = read_fd(fd, off, buf, len);
	close(fd);
	if (r == 0) {
		__atomic_fetch_add(&os->stats.reads, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&os->stats.read_bytes, len, __ATOMIC_RELAXED);
	}
	return r;
}

int objstore_get(struct objstore *os, const char *name, size_t max,
		 uint8_t **ret, size_t *ret_len)
{
	struct stat st;
	uint8_t *buf = NULL;
	int fd, r;

	fd = open_obj(os, name);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EBADMSG;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		r = -EFBIG;
		goto out;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	r = read_fd(fd, 0, buf, (size_t)st.st_size);
	if (r < 0)
		goto out;
	__atomic_fetch_add(&os->stats.reads, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&os->stats.read_bytes, (uint64_t)st.st_size, __ATOMIC_RELAXED);
	*ret = buf;
	*ret_len = (size_t)st.st_size;
	buf = NULL; /* transferred */
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

int objstore_remove(struct objstore *os, const char *name)
{
	int r;

	r = fault(os, OBJSTORE_STEP_REMOVE, name);
	if (r < 0)
		return r;
	pthread_mutex_lock(&os->dlock);
	for (size_t i = 0; i < os->nd; i++) {
		struct deferred *d = &os->dv[i];

		if (strcmp(d->name, name))
			continue;
		if (!d->renamed)
			unlinkat(os->dfd, d->tmp, 0);
		close(d->fd);
		memmove(d, d + 1, (os->nd - i - 1) * sizeof(*d));
		os->nd--;
		break;
	}
	pthread_mutex_unlock(&os->dlock);
	if (unlinkat(os->dfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int is_hex_lower(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static uint64_t parse_hex(const char *s, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = (v << 4) |
		    (uint64_t)(s[i] <= '9' ? s[i] - '0' : s[i] - 'a' + 10);
	return v;
}

struct u64vec {
	uint64_t *v;
	size_t n, cap;
};

static int u64vec_push(struct u64vec *a, uint64_t x)
{
	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 64;
		uint64_t *nv = realloc(a->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		a->v = nv;
		a->cap = ncap;
	}
	a->v[a->n++] = x;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int is_deferred_tmp(struct objstore *os, const char *path)
{
	int found = 0;

	pthread_mutex_lock(&os->dlock);
	for (size_t i = 0; i < os->nd && !found; i++)
		found = !os->dv[i].renamed && !strcmp(os->dv[i].tmp, path);
	pthread_mutex_unlock(&os->dlock);
	return found;
}

static int list_sub(struct objstore *os, const char *sub, unsigned subno,
		    int remove_tmp, struct u64vec *out, size_t *foreign)
{
	char path[OBJSTORE_NAME_MAX + 300];
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	fd = openat(os->dfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		size_t len = strlen(n);
		uint64_t segno;

		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		if (!strncmp(n, ".tmp-", 5)) {
			snprintf(path, sizeof(path), "%s/%s", sub, n);
			if (remove_tmp && !is_deferred_tmp(os, path))
				unlinkat(os->dfd, path, 0);
			continue;
		}
		if (len != 20 || strcmp(n + 16, ".seg") ||
		    !is_hex_lower(n, 16)) {
			(*foreign)++;
			continue;
		}
		segno = parse_hex(n, 16);
		if (segno == 0 ||
		    ((segno / OBJSTORE_SEGS_PER_DIR) & 0xff) != subno) {
			(*foreign)++;
			continue;
		}
		r = u64vec_push(out, segno);
		if (r < 0)
			break;
	}
	closedir(d);
	return r;
}

int objstore_list_segments(struct objstore *os, int remove_tmp, uint64_t **ret,
			   size_t *ret_n, size_t *ret_foreign)
{
	struct u64vec out = {0};
	struct dirent *de;
	size_t foreign = 0;
	DIR *d = NULL;
	int fd, r;

	r = fault(os, OBJSTORE_STEP_LIST, "log");
	if (r < 0)
		return r;
	fd = openat(os->dfd, "log", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			return -errno;
		goto done;
	}
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((de = readdir(d))) {
		char sub[OBJSTORE_NAME_MAX];
		const char *n = de->d_name;

		if (!strcmp(n, ".") || !strcmp(n, "..") ||
		    !strncmp(n, ".tmp-", 5))
			continue;
		if (strlen(n) != 2 || !is_hex_lower(n, 2)) {
			foreign++;
			continue;
		}
		snprintf(sub, sizeof(sub), "log/%s", n);
		r = list_sub(os, sub, (unsigned)parse_hex(n, 2), remove_tmp,
			     &out, &foreign);
		if (r == -ENOTDIR) {
			foreign++;
			continue;
		}
		if (r < 0)
			goto out;
	}
done:
	if (out.n)
		qsort(out.v, out.n, sizeof(*out.v), cmp_u64);
	*ret = out.v;
	*ret_n = out.n;
	if (ret_foreign)
		*ret_foreign = foreign;
	out.v = NULL; /* transferred */
	r = 0;
out:
	if (d)
		closedir(d);
	free(out.v);
	return r;
}

int objstore_statvfs(struct objstore *os, struct statvfs *ret)
{
	if (fstatvfs(os->dfd, ret) < 0)
		return -errno;
	return 0;
}

/* Is n (an entry of log/xx, subfolder number subno) a segment name? */
static int is_seg_name(const char *n, unsigned subno)
{
	uint64_t segno;

	if (strlen(n) != 20 || strcmp(n + 16, ".seg") || !is_hex_lower(n, 16))
		return 0;
	segno = parse_hex(n, 16);
	return segno != 0 &&
	       ((segno / OBJSTORE_SEGS_PER_DIR) & 0xff) == subno;
}

int objstore_list_foreign(struct objstore *os,
			  int (*fn)(void *ctx, const char *name, int is_tmp),
			  void *ctx)
{
	char path[OBJSTORE_NAME_MAX + 600];
	struct dirent *de, *se;
	DIR *top = NULL, *log = NULL, *sub;
	int fd, r;

	r = fault(os, OBJSTORE_STEP_LIST, ".");
	if (r < 0)
		return r;
	fd = openat(os->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	top = fdopendir(fd);
	if (!top) {
		r = -errno;
		close(fd);
		return r;
	}
	r = 0;
	while (r == 0 && (de = readdir(top))) {
		const char *n = de->d_name;

		if (!strcmp(n, ".") || !strcmp(n, "..") ||
		    !strcmp(n, OBJSTORE_HEADER_NAME) ||
		    !strcmp(n, OBJSTORE_LEASE_NAME) ||
		    !strcmp(n, OBJSTORE_REKEY_NAME) || !strcmp(n, "log"))
			continue;
		r = fn(ctx, n, !strncmp(n, ".tmp-", 5));
	}
	if (r)
		goto out;
	fd = openat(os->dfd, "log", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
		goto out;
	}
	log = fdopendir(fd);
	if (!log) {
		r = -errno;
		close(fd);
		goto out;
	}
	while (r == 0 && (de = readdir(log))) {
		const char *n = de->d_name;

		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		snprintf(path, sizeof(path), "log/%s", n);
		if (strlen(n) != 2 || !is_hex_lower(n, 2)) {
			r = fn(ctx, path, !strncmp(n, ".tmp-", 5));
			continue;
		}
		fd = openat(os->dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			if (errno != ENOTDIR) {
				r = -errno;
				break;
			}
			r = fn(ctx, path, 0);
			continue;
		}
		sub = fdopendir(fd);
		if (!sub) {
			r = -errno;
			close(fd);
			break;
		}
		while (r == 0 && (se = readdir(sub))) {
			const char *m = se->d_name;

			if (!strcmp(m, ".") || !strcmp(m, "..") ||
			    is_seg_name(m, (unsigned)parse_hex(n, 2)))
				continue;
			snprintf(path, sizeof(path), "log/%s/%s", n, m);
			r = fn(ctx, path, !strncmp(m, ".tmp-", 5));
		}
		closedir(sub);
	}
out:
	if (log)
		closedir(log);
	closedir(top);
	return r;
}

/*
 * crashrec.c - LD_PRELOAD shim that records the file-system operations a
 * process makes below some folders (test only, never installed).
 *
 * Environment:
 *   CRASHREC_LOG=FILE        the log (appended; created if missing)
 *   CRASHREC_ROOTS=D0:D1...  absolute folders to watch; a path below Di is
 *                            logged as "i/relative/path", Di itself as "i"
 *   CRASHREC_IGNORE=NAME     basename never logged (e.g. vaultfs.log)
 *   CRASHREC_KILL=C:SUB:N    after logging the N-th operation of kind C
 *                            whose record names SUB, the process
 *                            kills itself (SIGKILL): a deterministic
 *                            "kill -9 at this instant"
 *
 * The log is a sequence of records, each written with one write(2) to an
 * O_APPEND descriptor, so several processes and threads (and the test's
 * own marks, see crash-lib.sh) interleave whole records. A record is one text
 * line, followed for W records by exactly LEN bytes of data:
 *
 *   O PATH FLAGS      open/creat with O_CREAT or O_TRUNC succeeded
 *   W PATH OFF LEN    LEN bytes were written at OFF (data follows)
 *   T PATH LEN        ftruncate/truncate
 *   S PATH            fsync/fdatasync of a file or folder returned 0
 *   D PATH            mkdir
 *   R PATH PATH2      rename (RENAME_NOREPLACE or plain)
 *   L PATH PATH2      link
 *   U PATH            unlink
 *   X PATH            rmdir
 *   Y -               sync/syncfs
 *   M TEXT            a mark (written by the test, not by this shim)
 *
 * Every operation is logged after it succeeded. Descriptors are mapped to
 * paths through /proc/self/fd, so the path is the file's name at the time
 * of the call (a deleted file is not logged: it cannot survive a crash).
 * Paths are normalised lexically; roots must be given without symlinks.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_ROOTS 4

static struct {
	int init;
	int logfd;
	size_t nroots;
	char roots[MAX_ROOTS][PATH_MAX];
	size_t rootlen[MAX_ROOTS];
	char ignore[NAME_MAX + 1];
	char kill_kind;
	char kill_sub[PATH_MAX];
	long kill_n;
	long kill_seen;
} g = {.logfd = -1};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

#define REAL(name) real_##name
#define DECL_REAL(ret, name, ...)                                           \
	static ret (*real_##name)(__VA_ARGS__)
DECL_REAL(int, open, const char *, int, ...);
DECL_REAL(int, openat, int, const char *, int, ...);
DECL_REAL(ssize_t, write, int, const void *, size_t);
DECL_REAL(ssize_t, pwrite, int, const void *, size_t, off_t);
DECL_REAL(ssize_t, writev, int, const struct iovec *, int);
DECL_REAL(int, ftruncate, int, off_t);
DECL_REAL(int, truncate, const char *, off_t);
DECL_REAL(int, fsync, int);
DECL_REAL(int, fdatasync, int);
DECL_REAL(int, syncfs, int);
DECL_REAL(void, sync, void);
DECL_REAL(int, rename, const char *, const char *);
DECL_REAL(int, renameat, int, const char *, int, const char *);
DECL_REAL(int, renameat2, int, const char *, int, const char *, unsigned);
DECL_REAL(int, link, const char *, const char *);
DECL_REAL(int, linkat, int, const char *, int, const char *, int);
DECL_REAL(int, unlink, const char *);
DECL_REAL(int, unlinkat, int, const char *, int);
DECL_REAL(int, mkdir, const char *, mode_t);
DECL_REAL(int, mkdirat, int, const char *, mode_t);
DECL_REAL(int, rmdir, const char *);

#define LOAD(name) real_##name = dlsym(RTLD_NEXT, #name)

static void normalise(char *p);

static void load_real(void)
{
	LOAD(open);
	LOAD(openat);
	LOAD(write);
	LOAD(pwrite);
	LOAD(writev);
	LOAD(ftruncate);
	LOAD(truncate);
	LOAD(fsync);
	LOAD(fdatasync);
	LOAD(syncfs);
	LOAD(sync);
	LOAD(rename);
	LOAD(renameat);
	LOAD(renameat2);
	LOAD(link);
	LOAD(linkat);
	LOAD(unlink);
	LOAD(unlinkat);
	LOAD(mkdir);
	LOAD(mkdirat);
	LOAD(rmdir);
}

/* Called with g_lock held. */
static void init_locked(void)
{
	const char *log, *roots, *ign, *kill;
	int saved = errno;

	if (g.init)
		return;
	g.init = 1;
	load_real();
	log = getenv("CRASHREC_LOG");
	roots = getenv("CRASHREC_ROOTS");
	if (!log || !roots)
		goto out;
	while (*roots && g.nroots < MAX_ROOTS) {
		const char *c = strchr(roots, ':');
		size_t n = c ? (size_t)(c - roots) : strlen(roots);

		if (n > 0 && n < PATH_MAX) {
			memcpy(g.roots[g.nroots], roots, n);
			g.roots[g.nroots][n] = '\0';
			normalise(g.roots[g.nroots]);
			g.rootlen[g.nroots] = strlen(g.roots[g.nroots]);
			g.nroots++;
		}
		roots += n;
		if (*roots == ':')
			roots++;
	}
	ign = getenv("CRASHREC_IGNORE");
	if (ign)
		snprintf(g.ignore, sizeof(g.ignore), "%s", ign);
	kill = getenv("CRASHREC_KILL");
	if (kill && kill[0] && kill[1] == ':') {
		const char *c = strrchr(kill + 2, ':');

		if (c && (size_t)(c - kill - 2) < sizeof(g.kill_sub)) {
			g.kill_kind = kill[0];
			memcpy(g.kill_sub, kill + 2, (size_t)(c - kill - 2));
			g.kill_n = strtol(c + 1, NULL, 10);
		}
	}
	g.logfd = REAL(open)(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			     0600);
	if (g.logfd >= 0) {
		/* keep it away from the low numbers the program expects */
		int fd = fcntl(g.logfd, F_DUPFD_CLOEXEC, 900);

		if (fd >= 0) {
			close(g.logfd);
			g.logfd = fd;
		}
	}
out:
	errno = saved;
}

static void ensure_init(void)
{
	pthread_mutex_lock(&g_lock);
	init_locked();
	pthread_mutex_unlock(&g_lock);
}

/* Removes "." and empty components and folds ".."; p is absolute. */
static void normalise(char *p)
{
	char out[PATH_MAX];
	size_t o = 0;
	const char *s = p;

	while (*s) {
		const char *e;
		size_t n;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		e = strchr(s, '/');
		n = e ? (size_t)(e - s) : strlen(s);
		if (n == 1 && s[0] == '.') {
			/* skip */
		} else if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else if (o + 1 + n < sizeof(out)) {
			out[o++] = '/';
			memcpy(out + o, s, n);
			o += n;
		}
		s += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	memcpy(p, out, o + 1);
}

/* The absolute path of dirfd/name in buf; 0 or -1. */
static int abs_path(int dirfd, const char *name, char *buf, size_t size)
{
	char base[PATH_MAX], lnk[64];
	ssize_t n;

	if (name && name[0] == '/') {
		if (strlen(name) >= size)
			return -1;
		strcpy(buf, name);
		normalise(buf);
		return 0;
	}
	if (dirfd == AT_FDCWD) {
		if (!getcwd(base, sizeof(base)))
			return -1;
	} else {
		snprintf(lnk, sizeof(lnk), "/proc/self/fd/%d", dirfd);
		n = readlink(lnk, base, sizeof(base) - 1);
		if (n <= 0)
			return -1;
		base[n] = '\0';
		if (base[0] != '/')
			return -1; /* socket, pipe, anon inode */
	}
	if (snprintf(buf, size, "%s/%s", base, name ? name : "") >= (int)size)
		return -1;
	normalise(buf);
	return 0;
}

/* Maps an absolute path to "i/rel" in out; 0 if watched, -1 if not. */
static int watched(const char *abs, char *out, size_t size)
{
	const char *b;

	if (g.logfd < 0)
		return -1;
	if (strstr(abs, " (deleted)"))
		return -1;
	b = strrchr(abs, '/');
	if (g.ignore[0] && b && !strcmp(b + 1, g.ignore))
		return -1;
	for (size_t i = 0; i < g.nroots; i++) {
		size_t l = g.rootlen[i];

		if (strncmp(abs, g.roots[i], l))
			continue;
		if (abs[l] == '\0') {
			snprintf(out, size, "%zu", i);
			return 0;
		}
		if (abs[l] == '/') {
			snprintf(out, size, "%zu%s", i, abs + l);
			return 0;
		}
	}
	return -1;
}

static int watched_at(int dirfd, const char *name, char *out, size_t size)
{
	char abs[PATH_MAX];

	ensure_init();
	if (g.logfd < 0 || abs_path(dirfd, name, abs, sizeof(abs)) < 0)
		return -1;
	return watched(abs, out, size);
}

static int watched_fd(int fd, char *out, size_t size)
{
	return watched_at(fd, NULL, out, size);
}

/* Appends one record: the text line, then len bytes of data. */
static void emit(char kind, const char *p1, const char *rest, const void *data,
		 size_t len)
{
	char head[2 * PATH_MAX + 128];
	int hl, saved = errno;
	char *buf;

	hl = snprintf(head, sizeof(head), "%c %s %s\n", kind, p1, rest);
	if (hl < 0 || (size_t)hl >= sizeof(head))
		goto out;
	buf = malloc((size_t)hl + len);
	if (!buf) {
		/* a record lost would make every state built from the log
		 * wrong: better to stop the recording loudly */
		abort();
	}
	memcpy(buf, head, (size_t)hl);
	if (len)
		memcpy(buf + hl, data, len);
	pthread_mutex_lock(&g_lock);
	{
		size_t off = 0, tot = (size_t)hl + len;

		while (off < tot) {
			ssize_t n = REAL(write)(g.logfd, buf + off, tot - off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				abort();
			off += (size_t)n;
		}
	}
	if (g.kill_kind == kind &&
	    (strstr(p1, g.kill_sub) || strstr(rest, g.kill_sub)) &&
	    ++g.kill_seen == g.kill_n)
		raise(SIGKILL);
	pthread_mutex_unlock(&g_lock);
	free(buf);
out:
	errno = saved;
}

static void emit_open(int fd, int flags)
{
	char p[PATH_MAX + 8], rest[32];

	if (fd < 0 || !(flags & (O_CREAT | O_TRUNC)))
		return;
	if (watched_fd(fd, p, sizeof(p)) < 0)
		return;
	snprintf(rest, sizeof(rest), "%d", flags);
	emit('O', p, rest, NULL, 0);
}

static void emit_write(int fd, off_t off, const void *data, size_t len)
{
	char p[PATH_MAX + 8], rest[64];

	if (watched_fd(fd, p, sizeof(p)) < 0)
		return;
	snprintf(rest, sizeof(rest), "%lld %zu", (long long)off, len);
	emit('W', p, rest, data, len);
}

/* Offset a write(2) on fd is about to use; -1 if not a watched file. */
static off_t write_offset(int fd)
{
	char p[PATH_MAX + 8];
	struct stat st;
	int fl;

	if (watched_fd(fd, p, sizeof(p)) < 0)
		return -1;
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && (fl & O_APPEND)) {
		if (fstat(fd, &st) < 0)
			return -1;
		return st.st_size;
	}
	return lseek(fd, 0, SEEK_CUR);
}

static void emit_path(char kind, int dirfd, const char *name, const char *rest)
{
	char p[PATH_MAX + 8];

	if (watched_at(dirfd, name, p, sizeof(p)) < 0)
		return;
	emit(kind, p, rest, NULL, 0);
}

static void emit_two(char kind, int d1, const char *n1, int d2, const char *n2)
{
	char p1[PATH_MAX + 8], p2[PATH_MAX + 8];
	int w1, w2;

	w1 = watched_at(d1, n1, p1, sizeof(p1));
	w2 = watched_at(d2, n2, p2, sizeof(p2));
	if (w1 < 0 && w2 < 0)
		return;
	if (w1 < 0 || w2 < 0) {
		/* a move into or out of the watched folders: the model
		 * cannot follow it */
		fprintf(stderr, "crashrec: %c across the watched roots\n",
			kind);
		abort();
	}
	emit(kind, p1, p2, NULL, 0);
}

static mode_t va_mode(int flags, va_list ap)
{
	if (flags & (O_CREAT | O_TMPFILE))
		return (mode_t)va_arg(ap, int);
	return 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	int fd;

	ensure_init();
	va_start(ap, flags);
	mode = va_mode(flags, ap);
	va_end(ap);
	fd = REAL(open)(path, flags, mode);
	emit_open(fd, flags);
	return fd;
}

int open64(const char *path, int flags, ...)
	__attribute__((alias("open")));

int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
	return open(path, flags);
}

int __open64_2(const char *path, int flags) __attribute__((alias("__open_2")));

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	int fd;

	ensure_init();
	va_start(ap, flags);
	mode = va_mode(flags, ap);
	va_end(ap);
	fd = REAL(openat)(dirfd, path, flags, mode);
	emit_open(fd, flags);
	return fd;
}

int openat64(int dirfd, const char *path, int flags, ...)
	__attribute__((alias("openat")));

int __openat_2(int dirfd, const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags)
{
	return openat(dirfd, path, flags);
}

int __openat64_2(int dirfd, const char *path, int flags)
	__attribute__((alias("__openat_2")));

int creat(const char *path, mode_t mode)
{
	return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int creat64(const char *path, mode_t mode) __attribute__((alias("creat")));

ssize_t write(int fd, const void *buf, size_t len)
{
	off_t off;
	ssize_t n;

	ensure_init();
	off = write_offset(fd);
	n = REAL(write)(fd, buf, len);
	if (n > 0 && off >= 0)
		emit_write(fd, off, buf, (size_t)n);
	return n;
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t n;

	ensure_init();
	n = REAL(pwrite)(fd, buf, len, off);
	if (n > 0)
		emit_write(fd, off, buf, (size_t)n);
	return n;
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
	__attribute__((alias("pwrite")));

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	off_t off;
	ssize_t n;

	ensure_init();
	off = write_offset(fd);
	n = REAL(writev)(fd, iov, cnt);
	if (n > 0 && off >= 0) {
		size_t left = (size_t)n;

		for (int i = 0; i < cnt && left; i++) {
			size_t k = iov[i].iov_len < left ? iov[i].iov_len
							 : left;

			emit_write(fd, off, iov[i].iov_base, k);
			off += (off_t)k;
			left -= k;
		}
	}
	return n;
}

int ftruncate(int fd, off_t len)
{
	char rest[32];
	char p[PATH_MAX + 8];
	int r;

	ensure_init();
	r = REAL(ftruncate)(fd, len);
	if (r == 0 && watched_fd(fd, p, sizeof(p)) == 0) {
		snprintf(rest, sizeof(rest), "%lld", (long long)len);
		emit('T', p, rest, NULL, 0);
	}
	return r;
}

int ftruncate64(int fd, off_t len) __attribute__((alias("ftruncate")));

int truncate(const char *path, off_t len)
{
	char rest[32];
	int r;

	ensure_init();
	r = REAL(truncate)(path, len);
	if (r == 0) {
		snprintf(rest, sizeof(rest), "%lld", (long long)len);
		emit_path('T', AT_FDCWD, path, rest);
	}
	return r;
}

static int do_fsync(int fd, int (*fn)(int))
{
	char p[PATH_MAX + 8];
	int r;

	ensure_init();
	r = fn(fd);
	if (r == 0 && watched_fd(fd, p, sizeof(p)) == 0)
		emit('S', p, "-", NULL, 0);
	return r;
}

int fsync(int fd)
{
	ensure_init();
	return do_fsync(fd, REAL(fsync));
}

int fdatasync(int fd)
{
	ensure_init();
	return do_fsync(fd, REAL(fdatasync));
}

int syncfs(int fd)
{
	int r;

	ensure_init();
	r = REAL(syncfs)(fd);
	if (r == 0 && g.logfd >= 0)
		emit('Y', "-", "-", NULL, 0);
	return r;
}

void sync(void)
{
	ensure_init();
	REAL(sync)();
	if (g.logfd >= 0)
		emit('Y', "-", "-", NULL, 0);
}

int renameat2(int d1, const char *a, int d2, const char *b, unsigned flags)
{
	int r;

	ensure_init();
	if (flags & RENAME_EXCHANGE) {
		char p[PATH_MAX + 8];

		if (watched_at(d1, a, p, sizeof(p)) == 0) {
			fprintf(stderr, "crashrec: RENAME_EXCHANGE unmodelled\n");
			abort();
		}
	}
	r = REAL(renameat2)(d1, a, d2, b, flags);
	if (r == 0)
		emit_two('R', d1, a, d2, b);
	return r;
}

int renameat(int d1, const char *a, int d2, const char *b)
{
	int r;

	ensure_init();
	r = REAL(renameat)(d1, a, d2, b);
	if (r == 0)
		emit_two('R', d1, a, d2, b);
	return r;
}

int rename(const char *a, const char *b)
{
	int r;

	ensure_init();
	r = REAL(rename)(a, b);
	if (r == 0)
		emit_two('R', AT_FDCWD, a, AT_FDCWD, b);
	return r;
}

int linkat(int d1, const char *a, int d2, const char *b, int flags)
{
	int r;

	ensure_init();
	r = REAL(linkat)(d1, a, d2, b, flags);
	if (r == 0)
		emit_two('L', d1, a, d2, b);
	return r;
}

int link(const char *a, const char *b)
{
	int r;

	ensure_init();
	r = REAL(link)(a, b);
	if (r == 0)
		emit_two('L', AT_FDCWD, a, AT_FDCWD, b);
	return r;
}

int unlinkat(int dirfd, const char *path, int flags)
{
	char p[PATH_MAX + 8];
	int w, r;

	ensure_init();
	w = watched_at(dirfd, path, p, sizeof(p));
	r = REAL(unlinkat)(dirfd, path, flags);
	if (r == 0 && w == 0)
		emit((flags & AT_REMOVEDIR) ? 'X' : 'U', p, "-", NULL, 0);
	return r;
}

int unlink(const char *path)
{
	char p[PATH_MAX + 8];
	int w, r;

	ensure_init();
	w = watched_at(AT_FDCWD, path, p, sizeof(p));
	r = REAL(unlink)(path);
	if (r == 0 && w == 0)
		emit('U', p, "-", NULL, 0);
	return r;
}

int rmdir(const char *path)
{
	char p[PATH_MAX + 8];
	int w, r;

	ensure_init();
	w = watched_at(AT_FDCWD, path, p, sizeof(p));
	r = REAL(rmdir)(path);
	if (r == 0 && w == 0)
		emit('X', p, "-", NULL, 0);
	return r;
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
	int r;

	ensure_init();
	r = REAL(mkdirat)(dirfd, path, mode);
	if (r == 0)
		emit_path('D', dirfd, path, "-");
	return r;
}

int mkdir(const char *path, mode_t mode)
{
	int r;

	ensure_init();
	r = REAL(mkdir)(path, mode);
	if (r == 0)
		emit_path('D', AT_FDCWD, path, "-");
	return r;
}

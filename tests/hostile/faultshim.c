/*
 * faultshim.c - LD_PRELOAD shim that makes the cloud folder misbehave for
 * the process it is loaded into (test only, never installed).
 *
 * Environment:
 *   FAULTSHIM_ROOT=DIR   absolute cloud folder (no symlinks); only files
 *                        below it whose name ends in ".seg" (or the
 *                        writer's ".tmp-*" objects, for writes) are hit
 *   FAULTSHIM_CTL=FILE   control file, read at every call (so a test
 *                        switches faults on and off while the process
 *                        runs); blank-separated words:
 *                          read-eio      read/pread of segments: EIO
 *                          write-eio     write/pwrite of new objects: EIO
 *                          write-enospc  write/pwrite of new objects: ENOSPC
 *                          fsync-eio     fsync/fdatasync of new objects: EIO
 *                        missing or empty: no faults
 *   FAULTSHIM_LOG=FILE   one line per injected fault ("read-eio NAME")
 *   FAULTSHIM_TIME_FILE=FILE  a number of seconds, read at every call,
 *                        added to the wall clock (time, gettimeofday,
 *                        clock_gettime(CLOCK_REALTIME)): the passing of
 *                        time while the process was stopped, or a machine
 *                        whose clock is ahead (lease expiry)
 *   FAULTSHIM_MACHINE_ID=FILE, FAULTSHIM_BOOT_ID=FILE  opened instead of
 *                        /etc/machine-id and /proc/sys/kernel/random/
 *                        boot_id: the process plays another machine
 *   FAULTSHIM_HOSTNAME=NAME  what gethostname answers
 *   FAULTSHIM_EXIT_DELAY_MS=N  a process forked from the one the shim was
 *                        loaded into (the mount's daemon) sleeps N ms in
 *                        exit(): an exit as slow as under a leak checker
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

enum { F_READ = 1, F_WRITE_EIO = 2, F_WRITE_ENOSPC = 4, F_FSYNC = 8 };

static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static time_t (*real_time)(time_t *);
static int (*real_gettimeofday)(struct timeval *, void *);
static int (*real_clock_gettime)(clockid_t, struct timespec *);

#define RESOLVE(n)                                                         \
	do {                                                               \
		if (!real_##n)                                             \
			real_##n = dlsym(RTLD_NEXT, #n);                   \
	} while (0)

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);

static pid_t loaded_pid;

static __attribute__((constructor)) void shim_loaded(void)
{
	loaded_pid = getpid();
}

static __attribute__((destructor)) void shim_exit(void)
{
	const char *d = getenv("FAULTSHIM_EXIT_DELAY_MS");
	long ms = d ? strtol(d, NULL, 10) : 0;
	struct timespec ts;

	if (ms <= 0 || getpid() == loaded_pid)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static long time_offset(void)
{
	const char *f = getenv("FAULTSHIM_TIME_FILE");
	char buf[32];
	ssize_t n;
	int fd;

	RESOLVE(read);
	RESOLVE(open);
	if (!f)
		return 0;
	fd = real_open(f, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = real_read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/* The file to open instead of path, or path itself. */
static const char *redirect(const char *path)
{
	const char *r = NULL;

	if (!path)
		return path;
	if (!strcmp(path, "/etc/machine-id"))
		r = getenv("FAULTSHIM_MACHINE_ID");
	else if (!strcmp(path, "/proc/sys/kernel/random/boot_id"))
		r = getenv("FAULTSHIM_BOOT_ID");
	return r ? r : path;
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	RESOLVE(open);
	if (flags & (O_CREAT | __O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return real_open(redirect(path), flags, mode);
}

int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	RESOLVE(open);
	if (flags & (O_CREAT | __O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return real_open(redirect(path), flags, mode);
}

int openat(int dfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	RESOLVE(openat);
	if (flags & (O_CREAT | __O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return real_openat(dfd, redirect(path), flags, mode);
}

int gethostname(char *name, size_t len)
{
	const char *h = getenv("FAULTSHIM_HOSTNAME");
	static int (*real_gethostname)(char *, size_t);

	if (h) {
		if (strlen(h) + 1 > len) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(name, h, strlen(h) + 1);
		return 0;
	}
	RESOLVE(gethostname);
	return real_gethostname(name, len);
}

static unsigned faults(void)
{
	const char *ctl = getenv("FAULTSHIM_CTL");
	char buf[256];
	unsigned f = 0;
	ssize_t n;
	int fd;

	RESOLVE(read);
	if (!ctl)
		return 0;
	RESOLVE(open);
	fd = real_open(ctl, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = real_read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (strstr(buf, "read-eio"))
		f |= F_READ;
	if (strstr(buf, "write-eio"))
		f |= F_WRITE_EIO;
	if (strstr(buf, "write-enospc"))
		f |= F_WRITE_ENOSPC;
	if (strstr(buf, "fsync-eio"))
		f |= F_FSYNC;
	return f;
}

/*
 * Name of fd below the root if it is an object we hit: segments for
 * reads, segments and temporaries for writes. NULL otherwise.
 */
static const char *target(int fd, int for_write, char *path, size_t size)
{
	const char *root = getenv("FAULTSHIM_ROOT");
	char link[64];
	const char *base;
	size_t rl;
	ssize_t n;

	if (!root || fd < 0)
		return NULL;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, size - 1);
	if (n <= 0)
		return NULL;
	path[n] = '\0';
	rl = strlen(root);
	if (strncmp(path, root, rl) || path[rl] != '/')
		return NULL;
	base = strrchr(path, '/') + 1;
	n = (ssize_t)strlen(base);
	if (n > 4 && !strcmp(base + n - 4, ".seg"))
		return path + rl + 1;
	if (for_write && !strncmp(base, ".tmp-", 5))
		return path + rl + 1;
	return NULL;
}

static void note(const char *what, const char *name)
{
	const char *log = getenv("FAULTSHIM_LOG");
	char line[PATH_MAX + 64];
	int fd, n;

	RESOLVE(write);
	if (!log)
		return;
	RESOLVE(open);
	fd = real_open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%s %s\n", what, name);
	if (n > 0)
		(void)!real_write(fd, line, (size_t)n);
	close(fd);
}

/* -1 with errno set when the call must fail. */
static int inject(int fd, int kind)
{
	char path[PATH_MAX];
	const char *name;
	unsigned f;
	int saved = errno;

	f = faults();
	if (!f)
		goto pass;
	if (kind == F_READ && !(f & F_READ))
		goto pass;
	if (kind == F_WRITE_EIO && !(f & (F_WRITE_EIO | F_WRITE_ENOSPC)))
		goto pass;
	if (kind == F_FSYNC && !(f & F_FSYNC))
		goto pass;
	name = target(fd, kind != F_READ, path, sizeof(path));
	if (!name)
		goto pass;
	if (kind == F_READ) {
		note("read-eio", name);
		errno = EIO;
	} else if (kind == F_FSYNC) {
		note("fsync-eio", name);
		errno = EIO;
	} else if (f & F_WRITE_ENOSPC) {
		note("write-enospc", name);
		errno = ENOSPC;
	} else {
		note("write-eio", name);
		errno = EIO;
	}
	return -1;
pass:
	errno = saved;
	return 0;
}

ssize_t read(int fd, void *buf, size_t n)
{
	RESOLVE(read);
	if (inject(fd, F_READ) < 0)
		return -1;
	return real_read(fd, buf, n);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	RESOLVE(pread);
	if (inject(fd, F_READ) < 0)
		return -1;
	return real_pread(fd, buf, n, off);
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
	return pread(fd, buf, n, off);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	RESOLVE(write);
	if (inject(fd, F_WRITE_EIO) < 0)
		return -1;
	return real_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	RESOLVE(pwrite);
	if (inject(fd, F_WRITE_EIO) < 0)
		return -1;
	return real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	return pwrite(fd, buf, n, off);
}

int fsync(int fd)
{
	RESOLVE(fsync);
	if (inject(fd, F_FSYNC) < 0)
		return -1;
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	RESOLVE(fdatasync);
	if (inject(fd, F_FSYNC) < 0)
		return -1;
	return real_fdatasync(fd);
}

time_t time(time_t *t)
{
	time_t now;

	RESOLVE(time);
	now = real_time(NULL) + time_offset();
	if (t)
		*t = now;
	return now;
}

int gettimeofday(struct timeval *tv, void *tz)
{
	struct timeval *volatile p = tv; /* may be NULL in practice */
	int r;

	RESOLVE(gettimeofday);
	r = real_gettimeofday(tv, tz);
	if (r == 0 && p)
		tv->tv_sec += time_offset();
	return r;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	int r;

	RESOLVE(clock_gettime);
	r = real_clock_gettime(id, ts);
	if (r == 0 &&
	    (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		ts->tv_sec += time_offset();
	return r;
}

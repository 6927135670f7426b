/*
 * vfs-probe.c - system calls the shell cannot make, for integration tests.
 *
 *   vfs-probe rename2 noreplace|exchange OLD NEW
 *   vfs-probe getxattr|removexattr PATH NAME
 *   vfs-probe setxattr PATH NAME VALUE
 *   vfs-probe listxattr PATH
 *   vfs-probe fallocate PATH
 *   vfs-probe fsync|fdatasync PATH
 *   vfs-probe utimens PATH ATIME MTIME    (SEC.NSEC, "now" or "omit")
 *   vfs-probe unlinked PATH               (write, unlink, read back open)
 *
 * Prints "ok" (listxattr: the byte count) or the errno name (EEXIST...) and
 * exits 0; exits 2 on bad usage. Tests compare the printed word.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/fs.h>

static int result(int r)
{
	if (r < 0) {
		const char *n = strerrorname_np(errno);

		printf("%s\n", n ? n : "E?");
	} else {
		printf("ok\n");
	}
	return 0;
}

static int parse_time(const char *s, struct timespec *ts)
{
	char *end;

	if (strcmp(s, "now") == 0) {
		ts->tv_sec = 0;
		ts->tv_nsec = UTIME_NOW;
		return 0;
	}
	if (strcmp(s, "omit") == 0) {
		ts->tv_sec = 0;
		ts->tv_nsec = UTIME_OMIT;
		return 0;
	}
	ts->tv_sec = strtoll(s, &end, 10);
	ts->tv_nsec = 0;
	if (*end == '.')
		ts->tv_nsec = strtol(end + 1, &end, 10);
	return *end ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";
	int fd, r;

	if (strcmp(op, "rename2") == 0 && argc == 5) {
		unsigned flags = strcmp(argv[2], "exchange") == 0
				     ? RENAME_EXCHANGE
				     : RENAME_NOREPLACE;

		return result(
		    renameat2(AT_FDCWD, argv[3], AT_FDCWD, argv[4], flags));
	}
	if (strcmp(op, "getxattr") == 0 && argc == 4) {
		char v[256];

		return result((int)getxattr(argv[2], argv[3], v, sizeof(v)));
	}
	if (strcmp(op, "removexattr") == 0 && argc == 4)
		return result(removexattr(argv[2], argv[3]));
	if (strcmp(op, "setxattr") == 0 && argc == 5)
		return result(
		    setxattr(argv[2], argv[3], argv[4], strlen(argv[4]), 0));
	if (strcmp(op, "listxattr") == 0 && argc == 3) {
		char v[1024];
		ssize_t n = listxattr(argv[2], v, sizeof(v));

		if (n < 0)
			return result(-1);
		printf("%zd\n", n);
		return 0;
	}
	if (strcmp(op, "fallocate") == 0 && argc == 3) {
		fd = open(argv[2], O_RDWR);
		if (fd < 0)
			return result(-1);
		r = fallocate(fd, 0, 0, 4096);
		result(r);
		close(fd);
		return 0;
	}
	if ((strcmp(op, "fsync") == 0 || strcmp(op, "fdatasync") == 0) &&
	    argc == 3) {
		fd = open(argv[2], O_RDONLY);
		if (fd < 0)
			return result(-1);
		r = op[1] == 's' ? fsync(fd) : fdatasync(fd);
		result(r);
		close(fd);
		return 0;
	}
	if (strcmp(op, "utimens") == 0 && argc == 5) {
		struct timespec ts[2];

		if (parse_time(argv[3], &ts[0]) < 0 ||
		    parse_time(argv[4], &ts[1]) < 0)
			return 2;
		return result(
		    utimensat(AT_FDCWD, argv[2], ts, AT_SYMLINK_NOFOLLOW));
	}
	if (strcmp(op, "unlinked") == 0 && argc == 3) {
		char buf[16] = "";

		fd = open(argv[2], O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd < 0)
			return result(-1);
		if (write(fd, "still here", 10) != 10 || unlink(argv[2]) < 0 ||
		    access(argv[2], F_OK) == 0 ||
		    pwrite(fd, "STILL", 5, 0) != 5 ||
		    pread(fd, buf, 10, 0) != 10) {
			result(-1);
			close(fd);
			return 0;
		}
		printf("%s\n", buf);
		close(fd);
		return 0;
	}
	fprintf(stderr, "vfs-probe: bad usage (see the source)\n");
	return 2;
}
